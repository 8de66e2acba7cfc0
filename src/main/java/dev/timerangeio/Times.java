package dev.timerangeio;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;

/** Microsecond arithmetic and conversions shared by the read; internal. */
final class Times {
  static final long MICROS_PER_MILLI = 1_000L;
  static final long MICROS_PER_SECOND = 1_000_000L;

  private Times() {}

  /** Epoch microseconds of {@code instant}; sub-microsecond precision is rejected, naming {@code option}. */
  static long toMicros(String option, Instant instant) {
    if (instant.getNano() % 1_000 != 0) {
      throw new IllegalArgumentException(
          option
              + ": "
              + instant
              + " has sub-microsecond precision; TimeRangeIO works in microseconds, so give a"
              + " value truncated to them, e.g. instant.truncatedTo(ChronoUnit.MICROS)");
    }
    try {
      return Math.addExact(
          Math.multiplyExact(instant.getEpochSecond(), MICROS_PER_SECOND), instant.getNano() / 1_000);
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException(
          option + ": " + instant + " is outside the range of epoch microseconds held in a long",
          e);
    }
  }

  /** The instant {@code micros} after the epoch. */
  static Instant toInstant(long micros) {
    return Instant.ofEpochSecond(
        Math.floorDiv(micros, MICROS_PER_SECOND), Math.floorMod(micros, MICROS_PER_SECOND) * 1_000);
  }

  /** A readable form for messages and logs: ISO-8601, or "unbounded" for the open end. */
  static String describe(long micros) {
    return micros == Long.MAX_VALUE ? "unbounded" : toInstant(micros).toString();
  }

  /**
   * Beam's millisecond timestamp for {@code micros}, floored, and clamped to Beam's timestamp
   * range. Flooring keeps the watermark a lower bound: a record at {@code t} µs and a watermark at
   * {@code w <= t} µs map to {@code floor(w) <= floor(t)}.
   */
  static org.joda.time.Instant toBeamTimestamp(long micros) {
    long millis = Math.floorDiv(micros, MICROS_PER_MILLI);
    long min = BoundedWindow.TIMESTAMP_MIN_VALUE.getMillis();
    long max = BoundedWindow.TIMESTAMP_MAX_VALUE.getMillis();
    return new org.joda.time.Instant(Math.max(min, Math.min(max, millis)));
  }

  static long saturatedAdd(long a, long b) {
    long r = a + b;
    // Overflow iff both operands have the sign opposite to the result.
    if (((a ^ r) & (b ^ r)) < 0) {
      return a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
    }
    return r;
  }

  static long saturatedSubtract(long a, long b) {
    long r = a - b;
    if (((a ^ b) & (a ^ r)) < 0) {
      return a < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
    }
    return r;
  }

  /** Whole microseconds of a positive-or-zero {@code java.time.Duration}, saturating. */
  static long durationMicros(java.time.Duration d) {
    try {
      return Math.addExact(Math.multiplyExact(d.getSeconds(), MICROS_PER_SECOND), d.getNano() / 1_000);
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }

  /**
   * Parses an ISO-8601 date-time with an explicit offset or zone ({@code 2024-05-01T00:00:00Z},
   * {@code 2024-05-01T02:00:00+02:00}, {@code 2024-05-01T02:00:00+02:00[Europe/Paris]}),
   * fractional seconds up to the microsecond.
   */
  static long parseIsoMicros(String option, String value) {
    Instant instant;
    try {
      instant = ZonedDateTime.parse(value, DateTimeFormatter.ISO_ZONED_DATE_TIME).toInstant();
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException(
          option
              + ": can't parse \""
              + value
              + "\"; allowed are \"earliest\", \"latest\" or an ISO-8601 date-time with an"
              + " explicit zone or offset, e.g. \"2024-05-01T00:00:00Z\","
              + " \"2024-05-01T02:00:00.123456+02:00\" (a time without a zone is ambiguous and"
              + " rejected)",
          e);
    } catch (DateTimeException e) {
      throw new IllegalArgumentException(option + ": \"" + value + "\" is not a valid instant", e);
    }
    return toMicros(option + " \"" + value + "\"", instant);
  }
}
