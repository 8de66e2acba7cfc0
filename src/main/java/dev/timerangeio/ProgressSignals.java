package dev.timerangeio;

import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.Row;

/**
 * The chunk signals a read with a progress location sends to its write, as a {@link PCollection} of
 * {@link Row}s, for a read and a write that are not built in the same Java pipeline object: two
 * cross-language expansions (Beam YAML, Python), each in a pipeline of its own, can't find each
 * other through the pairing {@link TimeRangeIO.Write#withProgressLocation} uses. The graph carries
 * the pairing instead: the read's schema transform outputs {@link #signalsOf} as its {@code
 * progress} output, the user wires it into the write's {@code progress} input, and the write's
 * schema transform hands it to {@link #pairWrite} before applying the write.
 *
 * <p>A signal is one chunk the read has read, at the timestamp the read gave it; the conversions
 * are element-wise, so they keep timestamps, windows and the watermark the write's commit step
 * relies on. Each signal names its progress location; the write fails on a signal of another
 * location rather than commit it to its own. The path between the read's records and the write runs
 * through the SDK's own steps then, which the Java-side check of {@code CommitPaths} can't see: see
 * the README, "From Beam YAML and Python", for what may stand there.
 */
public final class ProgressSignals {
  private ProgressSignals() {}

  /** The schema of a signal row: the chunk's index, its range and the progress location. */
  public static final Schema SCHEMA =
      Schema.builder()
          .addInt32Field("chunk")
          .addInt64Field("from_micros")
          .addInt64Field("to_micros")
          .addStringField("progress_location")
          .build();

  /**
   * Takes the chunk signals of the read of {@code location} in {@code records}' pipeline, as rows;
   * from then on no write of that pipeline finds the read by its location, only through the rows,
   * which must reach the write as its signals ({@link #pairWrite}).
   */
  public static PCollection<Row> signalsOf(PCollection<?> records, String location) {
    PCollection<KV<Integer, TimeRange>> signals =
        ProgressLocations.takeRead(records.getPipeline(), location);
    return signals
        .apply("ProgressSignalsToRows", ParDo.of(new ToRow(location)))
        .setRowSchema(SCHEMA);
  }

  /**
   * Pairs the write with progress location {@code location} about to be applied to {@code records}
   * with the read whose signals are {@code signals} ({@link #signalsOf}, maybe built in another
   * expansion): then {@code TimeRangeIO.write().withProgressLocation(location)} applied to {@code
   * records} commits the chunks of those signals.
   */
  public static void pairWrite(PCollection<Row> signals, PCollection<?> records, String location) {
    if (!signals.hasSchema() || !signals.getSchema().equivalent(SCHEMA)) {
      throw new IllegalArgumentException(
          "progress_location("
              + location
              + "): the progress input must be the progress output of a TimeRangeIO read with"
              + " the same progress location (schema "
              + SCHEMA
              + "), got "
              + (signals.hasSchema() ? signals.getSchema() : "no schema"));
    }
    PCollection<KV<Integer, TimeRange>> chunks =
        signals
            .apply("ProgressSignalsFromRows", ParDo.of(new FromRow(location)))
            .setCoder(KvCoder.of(VarIntCoder.of(), TimeRangeCoder.of()));
    ProgressLocations.registerRead(records.getPipeline(), location, chunks, records);
  }

  private static final class ToRow extends DoFn<KV<Integer, TimeRange>, Row> {
    private final String location;

    ToRow(String location) {
      this.location = location;
    }

    @ProcessElement
    public void process(@Element KV<Integer, TimeRange> signal, OutputReceiver<Row> out) {
      out.output(
          Row.withSchema(SCHEMA)
              .addValues(
                  signal.getKey(),
                  signal.getValue().fromMicros(),
                  signal.getValue().toMicros(),
                  location)
              .build());
    }
  }

  private static final class FromRow extends DoFn<Row, KV<Integer, TimeRange>> {
    private final String location;
    private final String canonical;

    FromRow(String location) {
      this.location = location;
      this.canonical = ProgressLocations.canonical(location);
    }

    @ProcessElement
    public void process(@Element Row signal, OutputReceiver<KV<Integer, TimeRange>> out) {
      String from = signal.getString("progress_location");
      if (from == null || !ProgressLocations.canonical(from).equals(canonical)) {
        // Committing another read's chunks here would move this location past records never read.
        throw new IllegalStateException(
            "progress_location("
                + location
                + "): the write's progress input carries the chunks of the read of "
                + from
                + "; wire the progress output of the read with the same progress location");
      }
      out.output(
          KV.of(
              signal.getInt32("chunk"),
              TimeRange.of(signal.getInt64("from_micros"), signal.getInt64("to_micros"))));
    }
  }
}
