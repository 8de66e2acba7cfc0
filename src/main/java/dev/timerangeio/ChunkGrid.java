package dev.timerangeio;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * The fixed-duration chunk boundaries of a read: every multiple of the partition duration since
 * the epoch. Chunk boundaries are absolute, so a chunk is the same chunk whichever restriction it
 * ends up in after splits, and a range that starts or ends between grid points just has a shorter
 * first or last chunk. Internal.
 */
final class ChunkGrid implements Serializable {
  private static final long serialVersionUID = 1L;

  private final long durationMicros;

  ChunkGrid(long durationMicros) {
    if (durationMicros <= 0) {
      throw new IllegalArgumentException("chunk duration must be positive, was " + durationMicros);
    }
    this.durationMicros = durationMicros;
  }

  long durationMicros() {
    return durationMicros;
  }

  /** The greatest grid point {@code <= micros}. */
  long floorBoundary(long micros) {
    return Times.saturatedSubtract(micros, Math.floorMod(micros, durationMicros));
  }

  /** The smallest grid point {@code >= micros}. */
  long ceilBoundary(long micros) {
    long floor = floorBoundary(micros);
    return floor == micros ? micros : Times.saturatedAdd(floor, durationMicros);
  }

  /** The end of the chunk starting at {@code start}: the next grid point, capped at {@code limit}. */
  long chunkEnd(long start, long limit) {
    return Math.min(limit, Times.saturatedAdd(floorBoundary(start), durationMicros));
  }

  /** Index of the chunk holding {@code micros}. */
  long chunkIndex(long micros) {
    return Math.floorDiv(micros, durationMicros);
  }

  /**
   * The initial split of {@code restriction}: its backlog (the whole chunks at or below {@code
   * horizon}) cut on chunk boundaries into at most {@code maxSplits} pieces of about the same
   * number of chunks, then the rest of the range as one more piece. No piece overlaps another and
   * together they are the restriction, so the split can't lose or repeat a chunk.
   */
  List<TimeRange> initialSplits(TimeRange restriction, long horizon, int maxSplits) {
    List<TimeRange> pieces = new ArrayList<>();
    long from = restriction.fromMicros();
    long to = restriction.toMicros();
    long backlogEnd = to <= horizon ? to : Math.max(from, floorBoundary(horizon));
    if (backlogEnd > from) {
      long firstIndex = chunkIndex(from);
      long chunks = chunkIndex(backlogEnd - 1) - firstIndex + 1;
      long parts = Math.min(chunks, maxSplits);
      long base = chunks / parts;
      long extra = chunks % parts;
      long pieceStart = from;
      for (long j = 1; j <= parts; j++) {
        // Chunks before the end of piece j: floor(j * chunks / parts), without overflow.
        long chunksBefore = j * base + (j * extra) / parts;
        long pieceEnd =
            j == parts ? backlogEnd : Math.max(from, (firstIndex + chunksBefore) * durationMicros);
        pieces.add(TimeRange.of(pieceStart, pieceEnd));
        pieceStart = pieceEnd;
      }
    }
    if (to > backlogEnd) {
      pieces.add(TimeRange.of(backlogEnd, to));
    }
    return pieces;
  }

  @Override
  public String toString() {
    return durationMicros + " µs chunks";
  }
}
