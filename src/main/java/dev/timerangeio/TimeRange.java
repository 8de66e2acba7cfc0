package dev.timerangeio;

import static dev.timerangeio.Checks.checkArgument;

import java.io.Serializable;
import java.time.Instant;

/**
 * An immutable half-open range of time {@code [from, to)} in epoch <b>microseconds</b>.
 *
 * <p>A record whose time is {@code t} lies in the range when {@code from <= t < to}. Ranges that
 * share an end point do not overlap, so consecutive chunks {@code [a, b)}, {@code [b, c)} cover
 * {@code [a, c)} with neither a gap nor a duplicate: no ±1 µs adjustment is ever needed.
 *
 * <p>{@link Long#MAX_VALUE} as {@code toMicros} stands for "no end" (a range that follows the
 * clock forever).
 */
public final class TimeRange implements Serializable {
  private static final long serialVersionUID = 1L;

  private final long fromMicros;
  private final long toMicros;

  private TimeRange(long fromMicros, long toMicros) {
    checkArgument(
        toMicros >= fromMicros,
        "TimeRange end (%s µs, %s) must not be before its start (%s µs, %s)",
        toMicros,
        Times.describe(toMicros),
        fromMicros,
        Times.describe(fromMicros));
    this.fromMicros = fromMicros;
    this.toMicros = toMicros;
  }

  /** The range {@code [fromMicros, toMicros)}; {@code toMicros < fromMicros} is rejected. */
  public static TimeRange of(long fromMicros, long toMicros) {
    return new TimeRange(fromMicros, toMicros);
  }

  /**
   * The range {@code [from, to)}. Both instants must have at most microsecond precision (use
   * {@code instant.truncatedTo(ChronoUnit.MICROS)}); {@code to} before {@code from} is rejected.
   */
  public static TimeRange of(Instant from, Instant to) {
    checkArgument(from != null, "TimeRange.of: from must not be null");
    checkArgument(to != null, "TimeRange.of: to must not be null");
    return new TimeRange(Times.toMicros("TimeRange.of(from)", from), Times.toMicros("TimeRange.of(to)", to));
  }

  /** Inclusive start, epoch microseconds. */
  public long fromMicros() {
    return fromMicros;
  }

  /** Exclusive end, epoch microseconds ({@link Long#MAX_VALUE}: no end). */
  public long toMicros() {
    return toMicros;
  }

  /** Inclusive start as an {@link Instant}. */
  public Instant from() {
    return Times.toInstant(fromMicros);
  }

  /** Exclusive end as an {@link Instant}. */
  public Instant to() {
    return Times.toInstant(toMicros);
  }

  /** Whether {@code fromMicros <= micros < toMicros}. */
  public boolean contains(long micros) {
    return micros >= fromMicros && micros < toMicros;
  }

  /** {@code toMicros - fromMicros}, saturating at {@link Long#MAX_VALUE}. */
  public long durationMicros() {
    return Times.saturatedSubtract(toMicros, fromMicros);
  }

  /** Whether the range holds no microsecond at all. */
  public boolean isEmpty() {
    return fromMicros == toMicros;
  }

  @Override
  public boolean equals(Object o) {
    if (this == o) {
      return true;
    }
    if (!(o instanceof TimeRange)) {
      return false;
    }
    TimeRange that = (TimeRange) o;
    return fromMicros == that.fromMicros && toMicros == that.toMicros;
  }

  @Override
  public int hashCode() {
    return Long.hashCode(fromMicros) * 31 + Long.hashCode(toMicros);
  }

  @Override
  public String toString() {
    return "[" + Times.describe(fromMicros) + ", " + Times.describe(toMicros) + ")";
  }
}
