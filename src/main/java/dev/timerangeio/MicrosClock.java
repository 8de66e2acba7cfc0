package dev.timerangeio;

import java.io.Serializable;
import java.time.Instant;

/** The read's view of "now", in epoch microseconds; injectable so tests control time. Internal. */
interface MicrosClock extends Serializable {
  long nowMicros();

  /** The system clock (microsecond resolution where the platform offers it). */
  MicrosClock SYSTEM = new SystemClock();

  /** A named class rather than a lambda so it serializes the same everywhere. */
  final class SystemClock implements MicrosClock {
    private static final long serialVersionUID = 1L;

    @Override
    public long nowMicros() {
      Instant now = Instant.now();
      return now.getEpochSecond() * Times.MICROS_PER_SECOND + now.getNano() / 1_000;
    }

    private Object readResolve() {
      return SYSTEM;
    }

    @Override
    public String toString() {
      return "system clock";
    }
  }
}
