package dev.timerangeio;

import java.time.Instant;
import java.time.temporal.ChronoUnit;

/** Epoch microseconds for tests outside the core package, through public API only. */
public final class Micros {
  private Micros() {}

  /** The epoch microseconds of {@code instant}, which must be a whole microsecond. */
  public static long of(Instant instant) {
    return TimeRange.of(instant, instant).fromMicros();
  }

  /** The instant of {@code micros} epoch microseconds. */
  public static Instant toInstant(long micros) {
    return Instant.EPOCH.plus(micros, ChronoUnit.MICROS);
  }
}
