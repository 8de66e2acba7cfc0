package dev.timerangeio;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What one worker JVM has read of one applied read, logged at most once per {@code
 * withProgressLogInterval}, so a person watching a long backfill sees how far it has come;
 * internal. Shared by every copy of the read's DoFn in the JVM (keyed like its {@link QueryGate}),
 * so the log is per worker, not per thread.
 *
 * <p>While there is a backlog: chunks read of the read's whole range when it is known up front,
 * else of the chunks this worker has in hand (read plus those ready in the restrictions it is
 * reading); rows per second since the last line; the time left at the average time per chunk so
 * far. A read that follows the clock logs how far its position trails the safe horizon instead.
 */
final class ProgressLog {
  private static final Logger LOG = LoggerFactory.getLogger(ProgressLog.class);
  private static final Map<String, ProgressLog> LOGS = new ConcurrentHashMap<>();

  private final long intervalMicros;
  private final long chunkMicros;
  /** The chunks of the read's whole range when known up front (start instant, end); else 0. */
  private final long rangeChunks;
  private final MicrosClock clock;
  /** Chunks left in each restriction being read here, by its tracker. */
  private final Map<Object, Long> left = new ConcurrentHashMap<>();

  /** When this worker started reading this read: the first call's start. */
  private final long startMicros;
  private long lastLogMicros;
  private long chunks;
  private long rows;
  private long rowsAtLastLog;

  private ProgressLog(long intervalMicros, long chunkMicros, long rangeChunks, MicrosClock clock) {
    this.intervalMicros = intervalMicros;
    this.chunkMicros = chunkMicros;
    this.rangeChunks = rangeChunks;
    this.clock = clock;
    this.startMicros = clock.nowMicros();
    this.lastLogMicros = startMicros;
  }

  /**
   * This JVM's log for the applied read {@code id}; null when the interval is zero (off). {@code
   * rangeChunks}: the chunks of the read's whole range, or 0 when it is not known up front.
   */
  static @Nullable ProgressLog of(
      String id, long intervalMicros, long chunkMicros, long rangeChunks, MicrosClock clock) {
    if (intervalMicros <= 0) {
      return null;
    }
    return LOGS.computeIfAbsent(
        id, k -> new ProgressLog(intervalMicros, chunkMicros, rangeChunks, clock));
  }

  /**
   * Counts a chunk of {@code chunkRows} rows read by the call holding {@code tracker}, whose
   * restriction goes on to {@code restrictionEnd} from {@code position}; logs if it is time.
   */
  synchronized void chunkRead(
      Object tracker, long chunkRows, long position, long restrictionEnd, long horizon) {
    long now = clock.nowMicros();
    chunks++;
    rows += chunkRows;
    // Ready now: up to the restriction's end (its last chunk may be short), or the whole chunks
    // below the safe horizon.
    long ready =
        restrictionEnd <= horizon
            ? ceilDiv(Math.max(0, restrictionEnd - position), chunkMicros)
            : Math.max(0, Math.floorDiv(horizon - position, chunkMicros));
    left.put(tracker, ready);
    if (now - lastLogMicros >= intervalMicros) {
      logBacklog(now);
    }
  }

  /**
   * The call holding {@code tracker} is caught up at {@code position}, the next chunk not ready
   * below {@code horizon}; logs the lag if it is time and nothing is left to read here.
   */
  synchronized void caughtUp(Object tracker, long position, long horizon) {
    left.remove(tracker);
    long now = clock.nowMicros();
    if (now - lastLogMicros < intervalMicros) {
      return;
    }
    if (totalLeft() > 0) {
      logBacklog(now);
      return;
    }
    lastLogMicros = now;
    LOG.info(
        "TimeRangeIO: following the clock: read up to {}, {} behind the safe horizon {}; {} chunks,"
            + " {} rows on this worker",
        Times.describe(position),
        describeMicros(Math.max(0, horizon - position)),
        Times.describe(horizon),
        chunks,
        rows);
  }

  /** The call holding {@code tracker} returned: its restriction is no longer read here. */
  synchronized void done(Object tracker) {
    left.remove(tracker);
  }

  /**
   * With the whole range known, the chunks of it this worker has not read: what is left if it
   * reads the rest alone (workers don't see each other's progress), so at most the time left.
   * Otherwise the chunks ready in the restrictions it is reading: a runner's queued restrictions
   * are not in hand and don't count.
   */
  private void logBacklog(long now) {
    long inHand = totalLeft();
    long total = rangeChunks > 0 ? Math.max(rangeChunks, chunks + inHand) : chunks + inHand;
    long remaining = total - chunks;
    long elapsed = now - startMicros;
    long sinceLast = now - lastLogMicros;
    double rowsPerSecond =
        sinceLast <= 0 ? 0 : (rows - rowsAtLastLog) * 1_000_000d / sinceLast;
    String eta =
        remaining == 0
            ? "none left"
            : "about "
                + describeMicros((long) ((double) elapsed / chunks * remaining))
                + (rangeChunks > 0 ? " left if it reads the rest alone" : " left");
    LOG.info(
        "TimeRangeIO: read {} of {} on this worker, {} rows ({} rows/s), {}",
        chunks,
        rangeChunks > 0 ? "the range's " + total + " chunks" : total + " chunks in hand",
        rows,
        String.format(java.util.Locale.ROOT, "%.1f", rowsPerSecond),
        eta);
    lastLogMicros = now;
    rowsAtLastLog = rows;
  }

  private long totalLeft() {
    long total = 0;
    for (long n : left.values()) {
      total += n;
    }
    return total;
  }

  private static long ceilDiv(long a, long b) {
    return -Math.floorDiv(-a, b);
  }

  /** {@code 1h2m3s}-style, to the second (under a second: {@code 0s}). */
  static String describeMicros(long micros) {
    return java.time.Duration.ofSeconds(micros / 1_000_000).toString().substring(2).toLowerCase(
        java.util.Locale.ROOT);
  }
}
