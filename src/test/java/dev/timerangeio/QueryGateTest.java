package dev.timerangeio;

import static dev.timerangeio.PipelineSupport.counter;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
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

    PipelineResult result = p.run();
    result.waitUntilFinish();

    assertEquals(40L, counter(result, "chunksRead"));
    List<Long> starts = source.queryStartNanos();
    Collections.sort(starts);
    assertEquals(40, starts.size());
    // Starts are reserved 50 ms apart; a thread waking late can bunch two up by its lateness,
    // so: no one-second window holds more than 21 starts, and 40 starts span at least 1.9 s.
    for (int i = 0; i < starts.size(); i++) {
      int j = i;
      while (j < starts.size() && starts.get(j) - starts.get(i) < 1_000_000_000L) {
        j++;
      }
      assertThat("starts within 1 s of start " + i, 21, greaterThanOrEqualTo(j - i));
    }
    assertThat((starts.get(39) - starts.get(0)) / 1_000_000, greaterThanOrEqualTo(1_900L));
  }
}
