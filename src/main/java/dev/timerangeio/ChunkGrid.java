package dev.timerangeio;

import java.io.Serializable;

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

  @Override
  public String toString() {
    return durationMicros + " µs chunks";
  }
}
