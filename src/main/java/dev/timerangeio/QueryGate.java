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

  private final long intervalNanos;
  private final Semaphore slots;
  private long nextStartNanos = Long.MIN_VALUE;

  private QueryGate(double maxQueriesPerSecond, int maxConcurrentQueries) {
    this.intervalNanos =
        maxQueriesPerSecond <= 0 ? 0 : (long) Math.ceil(1_000_000_000d / maxQueriesPerSecond);
    this.slots =
        new Semaphore(maxConcurrentQueries <= 0 ? Integer.MAX_VALUE : maxConcurrentQueries, true);
  }

  /** The gate of the read {@code id} in this JVM. */
  static QueryGate of(String id, double maxQueriesPerSecond, int maxConcurrentQueries) {
    return GATES.computeIfAbsent(id, k -> new QueryGate(maxQueriesPerSecond, maxConcurrentQueries));
  }

  /** Waits for a free slot and for this query's turn at the rate; {@link #exit()} afterwards. */
  void enter() throws InterruptedException {
    slots.acquire();
    try {
      long waitNanos = reserve();
      if (waitNanos > 0) {
        TimeUnit.NANOSECONDS.sleep(waitNanos);
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
    long now = System.nanoTime();
    long start = nextStartNanos == Long.MIN_VALUE ? now : Math.max(now, nextStartNanos);
    nextStartNanos = start + intervalNanos;
    return start - now;
  }
}
