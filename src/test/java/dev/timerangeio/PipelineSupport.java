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
final class PipelineSupport {
  private PipelineSupport() {}

  private static final Map<String, Collection<Object>> COLLECTED = new ConcurrentHashMap<>();

  /**
   * Record times for {@code [from, to)} with {@code chunk}-µs chunks: {@code randomCount} random
   * times, plus the nasty ones — {@code from}, {@code to - 1}, chunk boundaries (up to 2,000 of
   * them) and the micro before each, and 1,000 records on one microsecond.
   */
  static long[] nastyTimes(long from, long to, long chunk, int randomCount, long seed) {
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
  static String newCollection() {
    String id = UUID.randomUUID().toString();
    COLLECTED.put(id, new ConcurrentLinkedQueue<>());
    return id;
  }

  @SuppressWarnings("unchecked")
  static <T> List<T> collected(String id) {
    return new ArrayList<>((Collection<T>) (Collection<?>) COLLECTED.get(id));
  }

  /** Adds every element it sees to a static collection, for pipelines that never finish. */
  static final class Collect<T> extends DoFn<T, Void> {
    private final String id;

    Collect(String id) {
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
  static void awaitCondition(
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

  /** The attempted value of the counter {@code name} in the TimeRangeIO namespace, summed. */
  static long counter(PipelineResult result, String name) {
    long sum = 0;
    for (MetricResult<Long> r : query(result, name).getCounters()) {
      sum += r.getAttempted();
    }
    return sum;
  }

  /** The TimeRangeIO metric {@code name} of a pipeline run. */
  static MetricQueryResults query(PipelineResult result, String name) {
    return result
        .metrics()
        .queryMetrics(
            MetricsFilter.builder()
                .addNameFilter(MetricNameFilter.named(ReadFn.METRICS_NAMESPACE, name))
                .build());
  }

}
