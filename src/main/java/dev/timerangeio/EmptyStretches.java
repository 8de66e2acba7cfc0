package dev.timerangeio;

import java.util.OptionalLong;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.splittabledofn.RestrictionTracker;

/**
 * Skips runs of empty chunks for a {@link ReadFn} whose source can tell the time of its next
 * record ({@link TimeRangeQuery#supportsNextRecordTime}); internal.
 *
 * <p>After a chunk came back empty, the read asks once for the first record in {@code [p, h)},
 * where {@code p} is where the next chunk starts and {@code h} the end of the last whole chunk
 * below the safe horizon (or the restriction's end): only a range the read could query now, so
 * the lag rule is the one of every query. The chunks before the chunk holding that record (all
 * of them up to {@code h} when there is none) are empty: the read claims them one by one, without
 * a query, and signals them as one run. They are claimed with the tracker's ordinary claims, so
 * a split or a checkpoint that lands during the run is a split between two chunks like any other:
 * the claimed part is signalled and its watermark set, the rest is the residual's, which asks
 * again. One question then stands for a run of chunks, and a dense source is asked nothing extra:
 * only an empty chunk leads to a question.
 */
final class EmptyStretches {
  private final SourceCalls<?> source;
  private final ChunkGrid grid;
  private final Counter probes =
      Metrics.counter(TimeRangeIOMetrics.NAMESPACE, TimeRangeIOMetrics.NEXT_RECORD_PROBES);

  private EmptyStretches(SourceCalls<?> source, ChunkGrid grid) {
    this.source = source;
    this.grid = grid;
  }

  /** Skipping for {@code source}, or null when it can't tell the time of its next record. */
  static EmptyStretches of(SourceCalls<?> source, ChunkGrid grid) {
    return source.query().supportsNextRecordTime() ? new EmptyStretches(source, grid) : null;
  }

  /**
   * The end of the run of empty chunks starting at {@code position}: the start of the chunk that
   * holds the first record of {@code [position, limit)}, or {@code limit} when it holds none. At
   * most {@code position} (nothing to skip) when the next chunk holds a record, or when {@code
   * [position, limit)} is at most one chunk, which a query answers as cheaply. {@code limit} is
   * a chunk boundary or the restriction's end, at or below the safe horizon.
   */
  long emptyUntil(long position, long limit) throws Exception {
    if (limit <= grid.chunkEnd(position, limit)) {
      return position;
    }
    TimeRange ahead = TimeRange.of(position, limit);
    probes.inc();
    OptionalLong next =
        source.call(
            "the time of the next record in " + ahead,
            () -> source.query().nextRecordTime(ahead));
    if (next == null) {
      throw new IllegalStateException(
          source.query().getClass().getName()
              + ".nextRecordTime("
              + ahead
              + ") returned null; return OptionalLong.empty() for a range with no records");
    }
    if (next.isEmpty()) {
      return limit;
    }
    long first = next.getAsLong();
    if (first < position || first >= limit) {
      throw new IllegalStateException(
          source.query().getClass().getName()
              + ".nextRecordTime("
              + ahead
              + ") answered "
              + Times.describe(first)
              + ", outside the range it was asked about");
    }
    return Math.max(position, grid.floorBoundary(first));
  }

  /**
   * Claims the chunks of {@code [position, end)} one by one, {@code end} a chunk boundary or the
   * restriction's end; returns the end of the last chunk claimed, {@code end} unless a claim was
   * refused (a split or checkpoint took the rest).
   */
  long claim(RestrictionTracker<TimeRange, Long> tracker, long position, long end) {
    long claimed = position;
    while (claimed < end && tracker.tryClaim(claimed)) {
      claimed = grid.chunkEnd(claimed, end);
    }
    return claimed;
  }

  /** Chunks in {@code run}: those it starts, ends and crosses. */
  long chunks(TimeRange run) {
    return grid.chunkIndex(run.toMicros() - 1) - grid.chunkIndex(run.fromMicros()) + 1;
  }
}
