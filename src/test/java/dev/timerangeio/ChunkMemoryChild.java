package dev.timerangeio;

import dev.timerangeio.jdbc.JdbcTimeRangeQuery;
import java.time.Duration;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.transforms.DoFn.MultiOutputReceiver;
import org.apache.beam.sdk.transforms.DoFn.OutputReceiver;
import org.apache.beam.sdk.transforms.windowing.GlobalWindow;
import org.apache.beam.sdk.transforms.windowing.PaneInfo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.OutputBuilder;
import org.apache.beam.sdk.values.Row;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.WindowedValues;

/**
 * The JVM {@link ChunkMemoryIT} starts with a small heap: reads one chunk of a big table through
 * the read's DoFn and prints {@code rows=N checksum=C} of what it emitted, keeping nothing, so the
 * heap holds only what the read itself holds. Arguments: JDBC URL, table, chunk start and end
 * (ISO instants), and {@code paged} (a tie-breaker column) or {@code bisected} (none).
 */
public final class ChunkMemoryChild {
  private ChunkMemoryChild() {}

  /** The checksum of one record, the same on both sides of the test. */
  static long checksum(long id, String payload) {
    return id * 1_000_003L + payload.hashCode();
  }

  public static void main(String[] args) throws Exception {
    JdbcTimeRangeQuery<KV<Long, String>> query =
        JdbcTimeRangeQuery.forTable(
            args[0], args[1], "event_time", rs -> KV.of(rs.getLong("id"), rs.getString("payload")));
    if (args[4].equals("paged")) {
      query = query.withTieBreakerColumn("id");
    }
    TimeRange chunk =
        TimeRange.of(
            Times.toMicros("start", java.time.Instant.parse(args[2])),
            Times.toMicros("end", java.time.Instant.parse(args[3])));
    ReadFn<KV<Long, String>> fn =
        ReadFn.of(
            TimeRangeIO.<KV<Long, String>>read()
                .withQuery(query)
                .withCoder(KvCoder.of(VarLongCoder.of(), StringUtf8Coder.of()))
                .withPartitionDuration(Duration.ofDays(1))
                .withEndTime(java.time.Instant.parse(args[3])));
    long[] totals = new long[2];
    MultiOutputReceiver out =
        new MultiOutputReceiver() {
          @Override
          @SuppressWarnings("unchecked")
          public <X> OutputReceiver<X> get(TupleTag<X> tag) {
            return value ->
                WindowedValues.<X>builder()
                    .setValue(value)
                    .setWindow(GlobalWindow.INSTANCE)
                    .setPaneInfo(PaneInfo.NO_FIRING)
                    .setReceiver(
                        windowed -> {
                          KV<Long, String> record = (KV<Long, String>) windowed.getValue();
                          totals[0]++;
                          totals[1] += checksum(record.getKey(), record.getValue());
                        });
          }

          @Override
          public <X> OutputReceiver<Row> getRowReceiver(TupleTag<X> tag) {
            throw new UnsupportedOperationException();
          }
        };
    fn.setup();
    try {
      fn.process(fn.newTracker(chunk), fn.newWatermarkEstimator(fn.initialWatermark(chunk)), out);
    } finally {
      fn.teardown();
    }
    System.out.println("rows=" + totals[0] + " checksum=" + totals[1]);
  }
}
