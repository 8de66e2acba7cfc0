package dev.timerangeio;

import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.TupleTag;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * What a DoFn needs to read chunks on one worker — the gated, retried source and the {@link
 * ChunkReader} with its dead-letter sink — opened on first use and closed at teardown; shared by
 * {@link ReadFn}, {@link LiveEdgeReadFn} and {@link RecheckFn}, so all read a chunk the same way. Internal; not
 * serializable: a DoFn holds it in a transient field.
 */
final class ChunkReading<T> implements AutoCloseable {
  private final TimeRangeIO.Read<T> spec;
  private final Coder<T> coder;
  private final QueryGate gate;
  private final Counter sourceRetries;
  private final TupleTag<T> recordsTag;
  private final TupleTag<KV<Integer, TimeRange>> progressTag;
  private final ByteRate byteRate;

  private @Nullable SourceCalls<T> source;
  private @Nullable ChunkReader<T> reader;

  ChunkReading(
      TimeRangeIO.Read<T> spec,
      Coder<T> coder,
      QueryGate gate,
      Counter sourceRetries,
      TupleTag<T> recordsTag,
      TupleTag<KV<Integer, TimeRange>> progressTag,
      ByteRate byteRate) {
    this.spec = spec;
    this.coder = coder;
    this.gate = gate;
    this.sourceRetries = sourceRetries;
    this.recordsTag = recordsTag;
    this.progressTag = progressTag;
    this.byteRate = byteRate;
  }

  /**
   * For a step beside the read that reads chunks of it ({@link LiveEdgeReadFn}, {@link
   * RecheckFn}): the read's per-worker gate, found by its id, and a byte rate of its own, since
   * nobody asks such a step for sizes.
   */
  static <T> ChunkReading<T> besideRead(
      TimeRangeIO.Read<T> spec,
      Coder<T> coder,
      String queryGateId,
      Counter sourceRetries,
      TupleTag<T> recordsTag,
      TupleTag<KV<Integer, TimeRange>> progressTag) {
    return new ChunkReading<>(
        spec,
        coder,
        QueryGate.of(queryGateId, spec.getMaxQueriesPerSecond(), spec.getMaxConcurrentQueries()),
        sourceRetries,
        recordsTag,
        progressTag,
        new ByteRate());
  }

  /** The source, opened on first use. */
  SourceCalls<T> source() throws Exception {
    if (source == null) {
      source = SourceCalls.open(spec, gate, sourceRetries);
    }
    return source;
  }

  /** The chunk reader (and the dead-letter sink, if configured), opened on first use. */
  ChunkReader<T> reader() throws Exception {
    if (reader == null) {
      reader =
          ChunkReader.open(spec, source(), coder, sourceRetries, recordsTag, progressTag, byteRate);
    }
    return reader;
  }

  @Override
  public void close() throws Exception {
    ChunkReader<T> closing = reader;
    reader = null;
    SourceCalls<T> open = source;
    source = null;
    ChunkReader.close(open, closing);
  }
}
