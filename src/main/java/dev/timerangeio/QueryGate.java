package dev.timerangeio;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Paces and caps the queries of one read across all its DoFn copies in a worker JVM; internal.
 *
 * <p>Runners deserialize a DoFn once per thread or bundle, so per-instance limits would multiply
 * with the parallelism. Gates live in a static registry keyed by an id drawn when the read is
 * applied: every copy of that read in the JVM shares one gate, while other reads have their
 * own.
 */
final class QueryGate {
  private static final Map<String, QueryGate> GATES = new ConcurrentHashMap<>();

  /** The gate's clock and its way of waiting; tests replace them to check pacing exactly. */
  interface Timing {
    long nanoTime();

    void sleepNanos(long nanos) throws InterruptedException;
  }

  /** {@link System#nanoTime()} and a real sleep. */
  static final Timing SYSTEM_TIMING =
      new Timing() {
        @Override
        public long nanoTime() {
          return System.nanoTime();
        }

        @Override
        public void sleepNanos(long nanos) throws InterruptedException {
          TimeUnit.NANOSECONDS.sleep(nanos);
        }
      };

  /** The timing of gates {@link #of} creates from now on; a test hook, always the system's. */
  static volatile Timing timingOfNewGates = SYSTEM_TIMING;

  private final long intervalNanos;
  private final Semaphore slots;
  private final Timing timing;
  private long nextStartNanos = Long.MIN_VALUE;

  /** A gate of its own (not registered), with the given timing; for tests. */
  QueryGate(double maxQueriesPerSecond, int maxConcurrentQueries, Timing timing) {
    this.timing = timing;
    this.intervalNanos =
        maxQueriesPerSecond <= 0 ? 0 : (long) Math.ceil(1_000_000_000d / maxQueriesPerSecond);
    this.slots =
        new Semaphore(maxConcurrentQueries <= 0 ? Integer.MAX_VALUE : maxConcurrentQueries, true);
  }

  /** The gate of the read {@code id} in this JVM. */
  static QueryGate of(String id, double maxQueriesPerSecond, int maxConcurrentQueries) {
    return GATES.computeIfAbsent(
        id, k -> new QueryGate(maxQueriesPerSecond, maxConcurrentQueries, timingOfNewGates));
  }

  /** Waits for a free slot and for this query's turn at the rate; {@link #exit()} afterwards. */
  void enter() throws InterruptedException {
    slots.acquire();
    try {
      long waitNanos = reserve();
      if (waitNanos > 0) {
        timing.sleepNanos(waitNanos);
      }
    } catch (InterruptedException e) {
      slots.release();
      throw e;
    }
  }

  void exit() {
    slots.release();
  }

  /** Reserves the next start time at the rate; returns how long to wait for it. */
  private synchronized long reserve() {
    long now = timing.nanoTime();
    long start = nextStartNanos == Long.MIN_VALUE ? now : Math.max(now, nextStartNanos);
    nextStartNanos = start + intervalNanos;
    return start - now;
  }
}
