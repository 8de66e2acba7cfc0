package dev.timerangeio;

import static org.junit.Assert.fail;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.BooleanSupplier;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricQueryResults;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.apache.beam.sdk.transforms.DoFn;
import org.joda.time.Duration;

/** Helpers for whole-pipeline tests: data sets, an in-JVM output collector and waiting. */
public final class PipelineSupport {
  private PipelineSupport() {}

  private static final Map<String, Collection<Object>> COLLECTED = new ConcurrentHashMap<>();

  /**
   * Record times for {@code [from, to)} with {@code chunk}-µs chunks: {@code randomCount} random
   * times, plus the nasty ones — {@code from}, {@code to - 1}, chunk boundaries (up to 2,000 of
   * them) and the micro before each, and 1,000 records on one microsecond.
   */
  public static long[] nastyTimes(long from, long to, long chunk, int randomCount, long seed) {
    Random random = new Random(seed);
    List<Long> times = new ArrayList<>();
    times.add(from);
    times.add(to - 1);
    ChunkGrid grid = new ChunkGrid(chunk);
    long boundary = grid.ceilBoundary(from);
    for (int i = 0; i < 2_000 && boundary < to; i++, boundary += chunk) {
      times.add(boundary);
      if (boundary - 1 >= from) {
        times.add(boundary - 1);
      }
    }
    long crowded = from + (to - from) / 3;
    for (int i = 0; i < 1_000; i++) {
      times.add(crowded);
    }
    for (int i = 0; i < randomCount; i++) {
      times.add(from + (long) (random.nextDouble() * (to - from)));
    }
    return times.stream().mapToLong(Long::longValue).toArray();
  }

  /** A fresh, empty collection that {@link Collect} DoFns with the same id add to. */
  public static String newCollection() {
    String id = UUID.randomUUID().toString();
    COLLECTED.put(id, new ConcurrentLinkedQueue<>());
    return id;
  }

  @SuppressWarnings("unchecked")
  public static <T> List<T> collected(String id) {
    return new ArrayList<>((Collection<T>) (Collection<?>) COLLECTED.get(id));
  }

  /** Adds every element it sees to a static collection, for pipelines that never finish. */
  public static final class Collect<T> extends DoFn<T, Void> {
    private final String id;

    public Collect(String id) {
      this.id = id;
    }

    @ProcessElement
    public void process(@Element T element) {
      COLLECTED.get(id).add(element);
    }
  }

  /**
   * Waits, through {@code waitUntilFinish} with a short timeout, until {@code condition} holds;
   * fails if the pipeline ends first or {@code timeout} passes.
   */
  public static void awaitCondition(
      PipelineResult result, BooleanSupplier condition, Duration timeout, String what) {
    long deadline = System.currentTimeMillis() + timeout.getMillis();
    while (!condition.getAsBoolean()) {
      if (System.currentTimeMillis() > deadline) {
        fail("timed out after " + timeout + " waiting for " + what);
      }
      PipelineResult.State state = result.waitUntilFinish(Duration.millis(100));
      if (state != null && state.isTerminal() && !condition.getAsBoolean()) {
        fail("pipeline ended (" + state + ") before " + what);
      }
    }
  }

  /** The committed position at {@code location}, in microseconds; Long.MIN_VALUE before any. */
  public static long committedMicros(String location) {
    try {
      return ProgressStore.read(location).map(ProgressOffset::timestampMicros).orElse(Long.MIN_VALUE);
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The attempted value of the counter {@code name} in the TimeRangeIO namespace, summed. */
  /**
   * A counter's committed value, or its attempted value on a runner without committed metrics
   * (Flink). Committed, because the DirectRunner's attempted values can miss a bundle's update
   * (seen: rowsWritten 9 of 10 on MariaDB, with all 10 keys written and output); and read until it
   * has not changed for 300 ms (within 10 s), because it merges updates on an executor of its own.
   */
  public static long counter(PipelineResult result, String name) {
    long deadline = System.nanoTime() + 10_000_000_000L;
    long value = readCounter(result, name);
    long stableSince = System.nanoTime();
    while (System.nanoTime() - stableSince < 300_000_000L && System.nanoTime() < deadline) {
      java.util.concurrent.locks.LockSupport.parkNanos(20_000_000L);
      long again = readCounter(result, name);
      if (again != value) {
        value = again;
        stableSince = System.nanoTime();
      }
    }
    return value;
  }

  private static long readCounter(PipelineResult result, String name) {
    long sum = 0;
    for (MetricResult<Long> r : query(result, name).getCounters()) {
      Long value;
      try {
        value = r.getCommitted();
      } catch (UnsupportedOperationException e) {
        value = r.getAttempted();
      }
      sum += value;
    }
    return sum;
  }

  /** The TimeRangeIO metric {@code name} of a pipeline run. */
  public static MetricQueryResults query(PipelineResult result, String name) {
    return result
        .metrics()
        .queryMetrics(
            MetricsFilter.builder()
                .addNameFilter(MetricNameFilter.named(TimeRangeIOMetrics.NAMESPACE, name))
                .build());
  }


  /** Whether the read retries {@code error} (a transient source failure); for connector tests. */
  public static boolean isRetried(Exception error) {
    return SourceErrors.isTransient(error);
  }
}
