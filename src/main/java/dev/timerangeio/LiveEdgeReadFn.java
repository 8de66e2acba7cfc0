package dev.timerangeio;

import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.TupleTag;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Reads the parts of live-edge chunks that {@link ReadFn} hands out with {@code
 * withLiveEdgeReaders(n >= 2)}, on whichever worker the redistribute placed them; internal.
 *
 * <p>Each part is read whole by one call, exactly as {@link ReadFn} reads a claimed chunk (the same
 * {@link ChunkReader}: bisection, paging, record checks, dead letters, then the part's progress
 * signal). A part arrives as an element timestamped at its start minus the watermark delay, which
 * holds the watermark below every record it can emit until it has been read. If the bundle fails,
 * Beam discards its outputs and retries the element: a part is emitted exactly once per successful
 * read.
 */
final class LiveEdgeReadFn<T> extends DoFn<TimeRange, T> {
  private final TimeRangeIO.Read<T> spec;
  private final Coder<T> coder;
  private final String queryGateId;
  private final TupleTag<T> recordsTag;
  private final TupleTag<KV<Integer, TimeRange>> progressTag;

  private final Counter sourceRetries =
      Metrics.counter(TimeRangeIOMetrics.NAMESPACE, TimeRangeIOMetrics.SOURCE_RETRIES);
  private final Counter liveEdgeParts =
      Metrics.counter(TimeRangeIOMetrics.NAMESPACE, TimeRangeIOMetrics.LIVE_EDGE_PARTS);

  private transient @Nullable ChunkReading<T> reading;

  /** Reads for {@code fn}'s read, sharing its per-worker query gate and its output tags. */
  LiveEdgeReadFn(ReadFn<T> fn, TimeRangeIO.Read<T> spec, Coder<T> coder) {
    this.spec = spec;
    this.coder = coder;
    this.queryGateId = fn.queryGateId();
    this.recordsTag = fn.recordsTag;
    this.progressTag = fn.progressTag;
  }

  private ChunkReading<T> reading() {
    if (reading == null) {
      reading =
          ChunkReading.besideRead(
              spec, coder, queryGateId, sourceRetries, recordsTag, progressTag);
    }
    return reading;
  }

  @Setup
  public void setup() throws Exception {
    reading().reader();
  }

  @Teardown
  public void teardown() throws Exception {
    if (reading != null) {
      try {
        reading.close();
      } finally {
        reading = null;
      }
    }
  }

  @ProcessElement
  public void process(@Element TimeRange part, MultiOutputReceiver out) throws Exception {
    reading().reader().read(part, out);
    liveEdgeParts.inc();
  }
}
