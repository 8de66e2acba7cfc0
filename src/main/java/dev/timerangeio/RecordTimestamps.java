package dev.timerangeio;

import java.io.Serializable;
import java.time.Instant;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * The event time of each record the read emits, from {@code withTimestampFn}, checked against
 * the range the record was returned for; internal.
 *
 * <p>A record's time must lie in the range that was queried (the sub-range after bisection, the
 * microsecond of a page), allowing the watermark delay before it: a source that answers its
 * range's end too would otherwise emit a record twice. (Within the watermark delay before the
 * range, an early event time can't be told from a record the source returned too early.)
 */
final class RecordTimestamps<T> implements Serializable {
  private static final long serialVersionUID = 1L;

  /** A record without a usable time, or outside the range it was returned for. */
  static final class BadRecordException extends IllegalStateException {
    private static final long serialVersionUID = 1L;
    final boolean outOfRange;

    BadRecordException(String message, boolean outOfRange, @Nullable Throwable cause) {
      super(message, cause);
      this.outOfRange = outOfRange;
    }
  }

  private final SerializableFunction<T, Instant> timestampFn;
  private final long watermarkDelayMicros;
  private final java.time.Duration watermarkDelay;

  /** Whether a record's time must lie in the range it was returned for. */
  private final boolean checkRange;

  RecordTimestamps(
      SerializableFunction<T, Instant> timestampFn,
      java.time.Duration watermarkDelay,
      boolean checkRange) {
    this.timestampFn = timestampFn;
    this.checkRange = checkRange;
    this.watermarkDelay = watermarkDelay;
    this.watermarkDelayMicros = Times.durationMicros(watermarkDelay);
  }

  /**
   * The time of {@code record}, returned for {@code queried}, a part of {@code chunk}: floored to
   * the microsecond, as a Beam timestamp (floored to the millisecond).
   *
   * @throws BadRecordException if the function fails or returns null, or the time lies outside
   *     {@code queried} (less the watermark delay)
   */
  org.joda.time.Instant of(T record, TimeRange queried, TimeRange chunk) {
    Instant time;
    long micros;
    try {
      time = timestampFn.apply(record);
      micros =
          time == null
              ? 0
              : Times.toMicros("withTimestampFn result", time.minusNanos(time.getNano() % 1_000));
    } catch (RuntimeException e) {
      throw new BadRecordException(
          "TimeRangeIO: withTimestampFn failed for a record of chunk " + chunk + ": " + e
              + " (record: " + abbreviate(record) + ")",
          false,
          e);
    }
    if (time == null) {
      throw new BadRecordException(
          "TimeRangeIO: withTimestampFn returned null for a record of chunk " + chunk
              + "; every record needs a time (record: " + abbreviate(record) + ")",
          false,
          null);
    }
    long lowest = Times.saturatedSubtract(queried.fromMicros(), watermarkDelayMicros);
    if (!checkRange && micros < lowest) {
      // Queried by another time (index time): no upper bound, but never behind the watermark, or
      // nothing downstream would hold the watermark for it (a commit could pass it).
      throw new BadRecordException(
          "TimeRangeIO: a record of "
              + queried
              + " (queried by the source's own time) is stamped "
              + time
              + ", earlier than the range's start minus the watermark delay of "
              + watermarkDelay
              + ": it would be behind the watermark. Raise withWatermarkDelay to the source's"
              + " largest indexing delay (record: "
              + abbreviate(record)
              + ")",
          true,
          null);
    }
    if (checkRange && (micros < lowest || micros >= queried.toMicros())) {
      throw new BadRecordException(
          "TimeRangeIO: the source returned a record whose time "
              + time
              + " lies outside the range it was asked for, "
              + queried
              + (queried.equals(chunk) ? "" : " (part of chunk " + chunk + ")")
              + (watermarkDelayMicros > 0
                  ? ", allowing the watermark delay of " + watermarkDelay
                  : "")
              + "; emitting it could duplicate or reorder records across ranges (record: "
              + abbreviate(record)
              + ")",
          true,
          null);
    }
    return Times.toBeamTimestamp(micros);
  }

  private static String abbreviate(Object record) {
    String s = String.valueOf(record);
    return s.length() <= 200 ? s : s.substring(0, 200) + "…";
  }
}
