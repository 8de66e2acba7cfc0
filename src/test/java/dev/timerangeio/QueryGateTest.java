package dev.timerangeio;

import static dev.timerangeio.PipelineSupport.counter;
import static org.junit.Assert.assertEquals;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.values.KV;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The per-worker rate limit and concurrency cap of a read's queries. */
@RunWith(JUnit4.class)
public class QueryGateTest {
  private static final long MINUTE = 60_000_000L;
  private static final long T0 = 1_714_521_600_000_000L;

  @Rule public final transient TestPipeline p = TestPipeline.create();

  @Test
  public void atMostTheCapRunAtOnceAndTheCapIsReached() throws Exception {
    QueryGate gate = QueryGate.of(UUID.randomUUID().toString(), 0, 2);
    AtomicInteger inside = new AtomicInteger();
    AtomicInteger most = new AtomicInteger();
    // Two queries must be inside together to pass the barrier; a third would raise the maximum.
    CyclicBarrier pair = new CyclicBarrier(2);
    ExecutorService threads = Executors.newFixedThreadPool(8);
    List<Future<?>> done = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      done.add(
          threads.submit(
              () -> {
                gate.enter();
                try {
                  most.accumulateAndGet(inside.incrementAndGet(), Math::max);
                  pair.await(30, TimeUnit.SECONDS);
                  inside.decrementAndGet();
                } finally {
                  gate.exit();
                }
                return null;
              }));
    }
    for (Future<?> f : done) {
      f.get(60, TimeUnit.SECONDS);
    }
    threads.shutdown();
    assertEquals(2, most.get());
  }

  /**
   * A clock that stands still and a sleep that returns at once, recording how long it was asked
   * to wait: pacing is then checked exactly, whatever the machine's load.
   */
  static final class StillTiming implements QueryGate.Timing {
    static final long NOW = 1_000_000_000_000L;
    final List<Long> waits = Collections.synchronizedList(new ArrayList<>());

    @Override
    public long nanoTime() {
      return NOW;
    }

    @Override
    public void sleepNanos(long nanos) {
      waits.add(nanos);
    }

    List<Long> sortedWaitsMillis() {
      List<Long> millis = new ArrayList<>();
      synchronized (waits) {
        for (long w : waits) {
          millis.add(w / 1_000_000);
        }
      }
      Collections.sort(millis);
      return millis;
    }
  }

  /** 50, 100, ... ms: the waits of {@code n} queries at 20 per second, the first going at once. */
  private static List<Long> everyFiftyMillis(int n) {
    List<Long> expected = new ArrayList<>();
    for (int k = 1; k < n; k++) {
      expected.add(k * 50L);
    }
    return expected;
  }

  @Test
  public void queriesEnteringTogetherFromManyThreadsStartOneIntervalApart() throws Exception {
    StillTiming timing = new StillTiming();
    QueryGate gate = new QueryGate(20, 0, timing);
    ExecutorService threads = Executors.newFixedThreadPool(4);
    List<Future<?>> done = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      done.add(
          threads.submit(
              () -> {
                gate.enter();
                gate.exit();
                return null;
              }));
    }
    for (Future<?> f : done) {
      f.get(60, TimeUnit.SECONDS);
    }
    threads.shutdown();
    // All 40 arrive at the same instant: the first goes at once, each other one interval later.
    assertEquals(everyFiftyMillis(40), timing.sortedWaitsMillis());
  }

  @Test
  public void anIdleGateNeitherBurstsNorRemembersItsBacklog() throws Exception {
    AtomicLong now = new AtomicLong(StillTiming.NOW);
    List<Long> waits = new ArrayList<>();
    QueryGate gate =
        new QueryGate(
            20,
            0,
            new QueryGate.Timing() {
              @Override
              public long nanoTime() {
                return now.get();
              }

              @Override
              public void sleepNanos(long nanos) {
                waits.add(nanos / 1_000_000);
                now.addAndGet(nanos); // the sleeper wakes when it asked to
              }
            });
    for (int i = 0; i < 3; i++) {
      gate.enter();
      gate.exit();
    }
    // Each query waits one interval after the one before it (the sleeper woke when it asked).
    assertEquals(List.of(50L, 50L), waits);
    // Ten idle seconds: the next query goes at once, and the ones after it wait one interval
    // each: no burst of starts saved up during the pause.
    now.addAndGet(10_000_000_000L);
    waits.clear();
    for (int i = 0; i < 3; i++) {
      gate.enter();
      gate.exit();
    }
    assertEquals(List.of(50L, 50L), waits);
  }

  @Test
  public void queriesOfAReadStartAtMostAtTheRateAcrossItsThreads() {
    long[] times = new long[40];
    for (int i = 0; i < times.length; i++) {
      times[i] = T0 + i * MINUTE;
    }
    TestSource source = TestSource.of(times);
    p.apply(
        TimeRangeIO.<KV<Long, Long>>read()
            .withQuery(source)
            .withCoder(TestSource.CODER)
            .withStartTime(Times.toInstant(T0))
            .withEndTime(Times.toInstant(T0 + 40 * MINUTE))
            .withPartitionDuration(Duration.ofMinutes(1))
            .withIngestionLag(Duration.ZERO)
            .withMaxQueriesPerSecond(20));

    // The read's gate is created while the pipeline runs: give it a clock that stands still, so
    // every query's reserved start shows in the waits, exactly, whichever thread asked.
    StillTiming timing = new StillTiming();
    QueryGate.timingOfNewGates = timing;
    PipelineResult result;
    try {
      result = p.run();
      result.waitUntilFinish();
    } finally {
      QueryGate.timingOfNewGates = QueryGate.SYSTEM_TIMING;
    }

    assertEquals(40L, counter(result, "chunksRead"));
    assertEquals(40L, source.queries());
    // One gate for the whole read: 40 starts reserved 50 ms apart. A gate per thread or per
    // DoFn copy would reserve some starts twice; a query past the gate would reserve none.
    assertEquals(everyFiftyMillis(40), timing.sortedWaitsMillis());
  }
}
