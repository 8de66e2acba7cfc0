package dev.timerangeio;

import dev.timerangeio.BenchSupport.CountingSink;
import dev.timerangeio.BenchSupport.Runner;
import dev.timerangeio.BenchSupport.Side;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.io.GenerateSequence;
import org.apache.beam.sdk.transforms.Deduplicate;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptors;

/**
 * The deduplicating write: {@code rows} records of which {@code distinct} differ (each distinct
 * record repeated at a distance, as a re-read would), through {@code TimeRangeIO.write()} into a
 * sink that only counts, against {@code Deduplicate.values()} followed by the same sink in batches
 * of the write's default size. Both must deliver each distinct record once.
 */
final class BenchWrite {
  private final long rows;
  private final long distinct;

  BenchWrite(long rows, long distinct) {
    this.rows = rows;
    this.distinct = distinct;
  }

  /** A ~100-character record, the same for every copy of {@code i % distinct}. */
  private static PCollection<String> records(org.apache.beam.sdk.Pipeline p, long rows, long distinct) {
    return p.apply(GenerateSequence.from(0).to(rows))
        .apply(
            MapElements.into(TypeDescriptors.strings())
                .via(
                    i ->
                        "{\"id\":" + (i % distinct) + ",\"host\":\"web-" + (i % distinct % 17)
                            + ".example\",\"path\":\"/api/v1/orders/" + Long.toHexString(i % distinct * 0x9E3779B97F4A7C15L) + "\"}"));
  }

  List<String> compare(Runner runner, int rounds) throws Exception {
    long rows = this.rows;
    long distinct = this.distinct;
    Map<String, Side> sides = new LinkedHashMap<>();
    sides.put(
        "TimeRangeIO.write()",
        BenchSupport.pipeline(
            runner,
            (p, id) -> records(p, rows, distinct).apply(TimeRangeIO.<String>write().to(new CountingSink(id)))));
    sides.put(
        "Deduplicate.values() + same sink",
        BenchSupport.pipeline(
            runner,
            (p, id) ->
                records(p, rows, distinct)
                    .apply(Deduplicate.values())
                    .apply(ParDo.of(new BatchFn(new CountingSink(id))))));
    return BenchSupport.compare(
        "dedup write, " + rows + " in / " + distinct + " distinct, " + runner, rows, rounds, sides);
  }

  /** The peer's sink step: batches of the write's default size into the counting sink. */
  static final class BatchFn extends DoFn<String, Void> {
    private final CountingSink sink;
    private transient List<KV<String, String>> batch;

    BatchFn(CountingSink sink) {
      this.sink = sink;
    }

    @StartBundle
    public void start() {
      batch = new ArrayList<>();
    }

    @ProcessElement
    public void process(@Element String record) {
      batch.add(KV.of("", record));
      if (batch.size() >= TimeRangeIO.DEFAULT_BATCH_SIZE) {
        finish();
      }
    }

    @FinishBundle
    public void finish() {
      if (!batch.isEmpty()) {
        sink.write(batch);
        batch = new ArrayList<>();
      }
    }
  }
}
