package dev.timerangeio;

import static org.junit.Assert.assertEquals;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.values.KV;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * The scenario of the late-data tests: 30 chunks of 100 ms, an ingestion lag of one chunk and
 * records whose ingestion delay has a long tail (up to 3 chunks, {@link LateSource#withTail}); a
 * test clock stepped a chunk at a time, each step waiting until the first read has queried every
 * chunk that became ready, so each chunk is first read exactly when its end is one lag old.
 */
final class LateData {
  /**
   * A chunk: 100 ms, so that the read's waits for the next chunk (the test clock's distance to it,
   * in real time) stay short.
   */
  static final long CHUNK = 100_000L;
  static final long T0 = 1_714_521_600_000_000L; // 2024-05-01T00:00:00Z
  static final long LAG = CHUNK;
  static final long END = T0 + 30 * CHUNK;
  /** Lag + lookback = 3 chunks: the longest delay. */
  static final Duration LOOKBACK = Duration.ofMillis(200);
  static final org.joda.time.Duration WAIT = org.joda.time.Duration.standardMinutes(2);

  private LateData() {}

  static LateSource source(TestClock clock, long seed) {
    return LateSource.withTail(clock, 2_000, T0, END, LAG, seed);
  }

  /** A clock before the first chunk is ready. */
  static TestClock clock() {
    return new TestClock(T0);
  }

  static TimeRangeIO.Read<KV<Long, Long>> read(LateSource source, TestClock clock) {
    return unboundedRead(source, clock).withEndTime(Times.toInstant(END));
  }

  /** The read without an end: it follows the clock. */
  static TimeRangeIO.Read<KV<Long, Long>> unboundedRead(LateSource source, TestClock clock) {
    return TimeRangeIO.<KV<Long, Long>>read()
        .withQuery(source)
        .withCoder(TestSource.CODER)
        .withStartTime(Times.toInstant(T0))
        .withPartitionDuration(Duration.ofMillis(100))
        .withIngestionLag(Duration.ofMillis(100))
        .withPollInterval(Duration.ofMillis(10))
        .withTimestampFn(TestSource::timeOf)
        .withClock(clock);
  }

  static TimeRangeIO.Write<KV<Long, Long>> write(TestSink<KV<Long, Long>> sink) {
    return TimeRangeIO.<KV<Long, Long>>write().to(sink).withKeyFn(KV::getValue);
  }

  /**
   * Steps the clock a chunk at a time up to {@code until}, waiting after each step until the
   * first read has queried every chunk that is ready (its end at least a lag old), so the first
   * read of each chunk sees what is visible exactly one lag after its end. Without a {@code
   * result} (a runner whose run() blocks, stepped from another thread) it polls until a deadline.
   */
  static void stepTo(
      @Nullable PipelineResult result, TestClock clock, LateSource source, long until) {
    for (long now = clock.nowMicros() + CHUNK; now <= until; now += CHUNK) {
      clock.set(now);
      long ready = Math.min(now - LAG, END);
      String what = "the first reads of the chunks up to " + Times.describe(ready);
      if (result != null) {
        PipelineSupport.awaitCondition(result, () -> firstReadsDone(source, ready), WAIT, what);
      } else {
        // From a thread of its own while the runner's run() blocks: a deadline, no result.
        long deadline = System.currentTimeMillis() + WAIT.getMillis();
        while (!firstReadsDone(source, ready)) {
          if (System.currentTimeMillis() > deadline) {
            throw new AssertionError("timed out after " + WAIT + " waiting for " + what);
          }
          java.util.concurrent.locks.LockSupport.parkNanos(20_000_000L);
        }
      }
    }
  }

  private static boolean firstReadsDone(LateSource source, long upTo) {
    for (long p = T0; p + CHUNK <= upTo; p += CHUNK) {
      if (source.queries(p) < 1) {
        return false;
      }
    }
    return true;
  }

  /** The records a first read at the lag misses: they became visible later. */
  static List<KV<Long, Long>> tail(LateSource source) {
    List<KV<Long, Long>> tail = new ArrayList<>(source.records());
    for (long p = T0; p < END; p += CHUNK) {
      tail.removeAll(source.visible(TimeRange.of(p, p + CHUNK), p + CHUNK + LAG));
    }
    return tail;
  }

  /** The chunk starts holding a record of the tail. */
  static List<Long> chunksWithTail(LateSource source) {
    List<Long> starts = new ArrayList<>();
    for (KV<Long, Long> r : tail(source)) {
      long start = T0 + (r.getKey() - T0) / CHUNK * CHUNK;
      if (!starts.contains(start)) {
        starts.add(start);
      }
    }
    starts.sort(null);
    return starts;
  }

  static Map<String, KV<Long, Long>> keyed(List<KV<Long, Long>> records) {
    Map<String, KV<Long, Long>> keyed = new HashMap<>();
    for (KV<Long, Long> r : records) {
      keyed.put(IdempotencyKeys.of(r.getValue()), r);
    }
    return keyed;
  }

  /** Each record once: the multiset of {@code emitted} equals the set {@code expected}. */
  static void assertEachOnce(List<KV<Long, Long>> expected, List<KV<Long, Long>> emitted) {
    Map<KV<Long, Long>, Integer> counts = new HashMap<>();
    for (KV<Long, Long> r : emitted) {
      counts.merge(r, 1, Integer::sum);
    }
    Map<KV<Long, Long>, Integer> once = new HashMap<>();
    for (KV<Long, Long> r : expected) {
      once.put(r, 1);
    }
    assertEquals("each record emitted once", once, counts);
  }
}
