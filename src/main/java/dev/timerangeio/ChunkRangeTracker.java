package dev.timerangeio;

import static dev.timerangeio.Checks.checkArgument;

import java.util.function.LongSupplier;
import org.apache.beam.sdk.transforms.splittabledofn.RestrictionTracker;
import org.apache.beam.sdk.transforms.splittabledofn.SplitResult;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * A restriction tracker whose unit of work is a whole chunk of a {@link TimeRange}.
 *
 * <p>{@code tryClaim(p)} claims the chunk {@code [p, q)} where {@code q} is the next grid point
 * after {@code p} (or the range's end). Claims must be contiguous: the first claim is the range's
 * start and every later one is where the previous chunk ended, so the claimed chunks tile the
 * range with no gap. A split, including a checkpoint ({@code trySplit(0)}) right after a claim,
 * never cuts a claimed chunk: the residual starts exactly where the last claimed chunk ends, or on a
 * later grid point. Internal.
 */
final class ChunkRangeTracker extends RestrictionTracker<TimeRange, Long>
    implements RestrictionTracker.HasProgress {

  private TimeRange range;
  private final ChunkGrid grid;
  /** Estimated end of the work for a range with no end: the current safe horizon. */
  private final LongSupplier horizon;

  // Primitive fields and no varargs on the claim path: a claim allocates nothing.
  private boolean attempted;
  private long lastAttempted;
  /** Where the next claim must start: everything in {@code [from, position)} is claimed. */
  private long position;

  ChunkRangeTracker(TimeRange range, ChunkGrid grid, LongSupplier horizon) {
    this.range = range;
    this.grid = grid;
    this.horizon = horizon;
    this.position = range.fromMicros();
  }

  /** Where the next claim must start. */
  private long position() {
    return position;
  }

  @Override
  public boolean tryClaim(Long boxedStart) {
    long start = boxedStart;
    checkArgument(
        !attempted || start > lastAttempted,
        "Trying to claim chunk start %s while the last attempted was %s",
        start,
        lastAttempted);
    attempted = true;
    lastAttempted = start;
    if (start >= range.toMicros()) {
      return false;
    }
    if (start != position) {
      throw new IllegalArgumentException(
          String.format(
              "Chunks must be claimed in order without gaps: expected a claim at %s µs, got %s µs"
                  + " in %s",
              position, start, range));
    }
    position = grid.chunkEnd(start, range.toMicros());
    return true;
  }

  @Override
  public TimeRange currentRestriction() {
    return range;
  }

  @Override
  public @Nullable SplitResult<TimeRange> trySplit(double fractionOfRemainder) {
    checkArgument(
        fractionOfRemainder >= 0 && fractionOfRemainder <= 1,
        "fractionOfRemainder must be in [0, 1], was %s",
        fractionOfRemainder);
    long cur = position();
    if (cur >= range.toMicros()) {
      return null;
    }
    long split;
    if (fractionOfRemainder == 0) {
      split = cur;
    } else {
      long end = estimatedEnd(cur);
      if (end <= cur) {
        return null;
      }
      long target = cur + (long) Math.ceil((end - cur) * fractionOfRemainder);
      // Never inside the chunk being read: at least the next grid point after cur.
      split = grid.ceilBoundary(Math.max(target, Times.saturatedAdd(cur, 1)));
      // Past the horizon of an unbounded range there is no known work to hand over.
      if (split >= range.toMicros() || split > end) {
        return null;
      }
    }
    TimeRange primary = TimeRange.of(range.fromMicros(), split);
    TimeRange residual = TimeRange.of(split, range.toMicros());
    range = primary;
    return SplitResult.of(primary, residual);
  }

  private long estimatedEnd(long cur) {
    if (range.toMicros() != Long.MAX_VALUE) {
      return range.toMicros();
    }
    return Math.max(cur, horizon.getAsLong());
  }

  @Override
  public void checkDone() throws IllegalStateException {
    if (range.isEmpty() || position() >= range.toMicros()) {
      return;
    }
    throw new IllegalStateException(
        String.format(
            "Restriction %s is not done: everything before %s was claimed, the rest of the range"
                + " was neither claimed nor split off",
            range, Times.describe(position())));
  }

  @Override
  public IsBounded isBounded() {
    return range.toMicros() == Long.MAX_VALUE ? IsBounded.UNBOUNDED : IsBounded.BOUNDED;
  }

  @Override
  public Progress getProgress() {
    long cur = position();
    long end = estimatedEnd(cur);
    return Progress.from(
        (double) cur - (double) range.fromMicros(), Math.max(0d, (double) end - (double) cur));
  }

  @Override
  public String toString() {
    return "ChunkRangeTracker{" + range + ", " + grid + ", claimed up to "
        + Times.describe(position()) + "}";
  }
}
