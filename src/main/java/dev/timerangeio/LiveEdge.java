package dev.timerangeio;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * Which chunks {@link ReadFn} hands out to {@link LiveEdgeReadFn} readers, and the parts it cuts
 * them into ({@code withLiveEdgeReaders}); internal.
 *
 * <p>A chunk is at the live edge when the read could not have claimed the next one with it: it ends
 * within one chunk, or one poll interval if that is longer, of the safe horizon. Chunks further
 * below the horizon are backlog, read by the restrictions the backlog is split into. Which chunks
 * count only decides who reads them, never what is read: every claimed chunk is read whole, by the
 * claiming call or by its parts' readers.
 */
final class LiveEdge implements Serializable {
  private static final long serialVersionUID = 1L;

  private final int readers;
  private final long granularityMicros;
  private final long edgeMicros;

  LiveEdge(int readers, long granularityMicros, long partitionMicros, long pollMicros) {
    this.readers = readers;
    this.granularityMicros = granularityMicros;
    this.edgeMicros = Math.max(partitionMicros, pollMicros);
  }

  static LiveEdge of(TimeRangeIO.Read<?> spec) {
    return new LiveEdge(
        spec.getLiveEdgeReaders(),
        spec.getQuery() == null ? 1 : Math.max(1, spec.getQuery().boundGranularityMicros()),
        Times.durationMicros(spec.getPartitionDuration()),
        Times.durationMicros(spec.getPollInterval()));
  }

  /**
   * Whether {@code chunk}, just claimed with the safe horizon at {@code horizon}, is handed out.
   */
  boolean handsOut(TimeRange chunk, long horizon) {
    return readers >= 2 && chunk.toMicros() > Times.saturatedSubtract(horizon, edgeMicros);
  }

  /**
   * {@code chunk} cut into at most {@code readers} adjacent parts of whole units of the source's
   * bound granularity (the last part takes any remainder): together they are the chunk, and no two
   * overlap.
   */
  List<TimeRange> parts(TimeRange chunk) {
    long from = chunk.fromMicros();
    long to = chunk.toMicros();
    long units = Math.max(1, (to - from) / granularityMicros);
    int count = (int) Math.min(readers, units);
    List<TimeRange> parts = new ArrayList<>(count);
    long partStart = from;
    for (int i = 1; i <= count; i++) {
      long partEnd = i == count ? to : from + units * i / count * granularityMicros;
      parts.add(TimeRange.of(partStart, partEnd));
      partStart = partEnd;
    }
    return parts;
  }
}
