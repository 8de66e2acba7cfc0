package dev.timerangeio.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.timerangeio.TimeRange;
import dev.timerangeio.http.HttpTimeRangeQuery.TimeFormat;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * How an {@link HttpTimeRangeQuery} writes a range's bounds and tells which records of the answer
 * belong to the range; internal.
 *
 * <p>A coarse format (whole seconds or milliseconds) can't write a bound such as a chunk starting
 * at "latest" or a bisection midpoint. The API is then asked for the smallest range the format can
 * write that covers the range ({@code [floor(from), ceil(to))}), and only the records whose time
 * lies in the range itself, at the microsecond, are kept: the records of the partial units at
 * either end belong to the neighbouring ranges, which read them. So every record is read once,
 * whatever the chunk and bisection bounds.
 */
final class TimeBounds {
  private static final DateTimeFormatter ISO_MICROS =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSSX").withZone(ZoneOffset.UTC);

  private final TimeFormat format;
  private final @Nullable String recordTimePointer;

  TimeBounds(TimeFormat format, @Nullable String recordTimePointer) {
    this.format = format;
    this.recordTimePointer = recordTimePointer;
  }

  /** Microseconds in one unit of the format. */
  static long unitMicros(TimeFormat format) {
    switch (format) {
      case EPOCH_SECONDS:
        return 1_000_000L;
      case EPOCH_MILLIS:
        return 1_000L;
      default:
        return 1L;
    }
  }

  /** The range the API is asked for: {@code range} widened to whole units of the format. */
  TimeRange asked(TimeRange range) {
    long unit = unitMicros(format);
    return TimeRange.of(
        Math.floorDiv(range.fromMicros(), unit) * unit,
        -Math.floorDiv(-range.toMicros(), unit) * unit);
  }

  /** {@code micros}, a bound of {@link #asked}, as the format writes it. */
  String format(long micros) {
    switch (format) {
      case EPOCH_MICROS:
        return Long.toString(micros);
      case EPOCH_MILLIS:
      case EPOCH_SECONDS:
        return Long.toString(micros / unitMicros(format));
      default:
        return ISO_MICROS.format(
            Instant.ofEpochSecond(
                Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1_000));
    }
  }

  /** Whether records are kept by their time (a record time pointer is set). */
  boolean filters() {
    return recordTimePointer != null;
  }

  /**
   * The time of a record, floored to the microsecond, from the record time pointer: an ISO-8601
   * string with an offset, or a number in the format's unit (seconds may carry a fraction).
   *
   * @throws IllegalArgumentException naming the pointer if it holds no such time
   */
  long recordTime(JsonNode record) {
    JsonNode time = record.at(recordTimePointer);
    if (time.isNumber()) {
      BigDecimal micros = time.decimalValue().multiply(BigDecimal.valueOf(unitMicros(format)));
      try {
        return micros.setScale(0, RoundingMode.FLOOR).longValueExact();
      } catch (ArithmeticException e) {
        throw new IllegalArgumentException(
            "the record time at " + recordTimePointer + ", " + time + ", is out of range", e);
      }
    }
    if (time.isTextual()) {
      try {
        Instant t = DateTimeFormatter.ISO_OFFSET_DATE_TIME.parse(time.asText(), Instant::from);
        return Math.addExact(
            Math.multiplyExact(t.getEpochSecond(), 1_000_000L), t.getNano() / 1_000);
      } catch (DateTimeParseException | ArithmeticException e) {
        throw new IllegalArgumentException(
            "the record time at "
                + recordTimePointer
                + ", "
                + time
                + ", is not an ISO-8601"
                + " instant with an offset (2024-05-01T00:00:00.5Z)",
            e);
      }
    }
    throw new IllegalArgumentException(
        "the record time at "
            + recordTimePointer
            + " is "
            + (time.isMissingNode() ? "missing" : time.getNodeType().toString())
            + "; expected an ISO-8601 string or a number of "
            + (format == TimeFormat.EPOCH_SECONDS
                ? "seconds"
                : format == TimeFormat.EPOCH_MILLIS ? "milliseconds" : "microseconds")
            + " since the epoch");
  }
}
