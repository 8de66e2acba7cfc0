package dev.timerangeio;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.runners.flink.FlinkRunner;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.values.KV;

/**
 * What the end-to-end benchmarks share: the runners, a tally of what each side delivered (count
 * and an order-free checksum, so a run counts only when both sides delivered the same rows),
 * alternating timed runs with a discarded warm-up, medians and per-pair ratios.
 */
final class BenchSupport {
  private BenchSupport() {}

  /** The runner of a side: the DirectRunner, or embedded Flink ({@code [local]}, p=2, batch). */
  enum Runner {
    DIRECT,
    FLINK;

    PipelineOptions options() {
      if (this == DIRECT) {
        return PipelineOptionsFactory.create();
      }
      FlinkPipelineOptions options = PipelineOptionsFactory.as(FlinkPipelineOptions.class);
      options.setRunner(FlinkRunner.class);
      options.setFlinkMaster("[local]");
      options.setParallelism(2);
      return options;
    }
  }

  /** Count and checksum of the rows a run delivered, by run id; the runner shares this JVM. */
  static final class Tally {
    final AtomicLong count = new AtomicLong();
    final AtomicLong checksum = new AtomicLong();

    static Tally of(String id) {
      return TALLY.computeIfAbsent(id, k -> new Tally());
    }

    private static final Map<String, Tally> TALLY = new ConcurrentHashMap<>();

    void add(String row) {
      count.incrementAndGet();
      checksum.addAndGet(mix(row));
    }

    /** A 64-bit hash of the row, summed: equal multisets of rows give equal checksums. */
    static long mix(String row) {
      long h = 1125899906842597L;
      for (int i = 0; i < row.length(); i++) {
        h = 31 * h + row.charAt(i);
      }
      h ^= h >>> 33;
      h *= 0xff51afd7ed558ccdL;
      return h ^ (h >>> 33);
    }

    String describe() {
      return count.get() + " rows, checksum " + Long.toHexString(checksum.get());
    }
  }

  /** Counts strings into the tally of a run. */
  static final class CountFn extends DoFn<String, Void> {
    private final String id;

    CountFn(String id) {
      this.id = id;
    }

    @ProcessElement
    public void process(@Element String row) {
      Tally.of(id).add(row);
    }
  }

  /** A sink that only counts: what both writes deliver into. */
  static final class CountingSink implements IdempotentSink<String> {
    private final String id;

    CountingSink(String id) {
      this.id = id;
    }

    @Override
    public void write(List<KV<String, String>> keyedRecords) {
      Tally tally = Tally.of(id);
      for (KV<String, String> record : keyedRecords) {
        tally.add(record.getValue());
      }
    }
  }

  /** One side of a comparison: builds its pipeline (or runs a plain loop) for a run id. */
  interface Side {
    /** Runs once under {@code id} and returns the seconds it took. */
    double run(String id) throws Exception;
  }

  static Side pipeline(Runner runner, Consumer2<Pipeline, String> build) {
    return id -> {
      Pipeline p = Pipeline.create(runner.options());
      build.accept(p, id);
      long start = System.nanoTime();
      p.run().waitUntilFinish();
      return (System.nanoTime() - start) / 1e9;
    };
  }

  interface Consumer2<A, B> {
    void accept(A a, B b);
  }

  private static int runs = 0;

  /**
   * Runs the sides alternately ({@code rounds} + 1 times, the first a discarded warm-up; the order
   * reversed every other round so drift favours no side), checks every run delivered what the
   * first side did, and returns one line per peer: median seconds, rows/s, and the median of the
   * per-round ratios peer time / our time (above 1: ours is faster). The first side is ours.
   */
  static List<String> compare(String what, long rows, int rounds, Map<String, Side> sides)
      throws Exception {
    List<String> names = new ArrayList<>(sides.keySet());
    Map<String, double[]> times = new LinkedHashMap<>();
    for (String name : names) {
      times.put(name, new double[rounds]);
    }
    String expected = null;
    for (int round = 0; round <= rounds; round++) {
      List<String> order = new ArrayList<>(names);
      if (round % 2 == 1) {
        java.util.Collections.reverse(order);
      }
      for (String name : order) {
        String id = what + "/" + name + "/" + (runs++);
        double seconds = sides.get(name).run(id);
        String delivered = Tally.of(id).describe();
        if (expected == null) {
          expected = delivered;
        } else if (!expected.equals(delivered)) {
          throw new IllegalStateException(
              what + ": " + name + " delivered " + delivered + ", another side " + expected);
        }
        if (round > 0) {
          times.get(name)[round - 1] = seconds;
        }
        Benchmarks.LOG.info(String.format(Locale.ROOT, "%s %s round %d: %.2f s (%s)", what, name, round, seconds, delivered));
      }
    }
    List<String> lines = new ArrayList<>();
    double[] ours = times.get(names.get(0));
    lines.add(String.format(Locale.ROOT, "%s | %s | %s | %s", what, names.get(0), figure(ours, rows), expected));
    for (String peer : names.subList(1, names.size())) {
      double[] theirs = times.get(peer);
      double[] ratios = new double[rounds];
      for (int i = 0; i < rounds; i++) {
        ratios[i] = theirs[i] / ours[i];
      }
      lines.add(
          String.format(
              Locale.ROOT,
              "%s | %s | %s | ratio %.2fx (per round %s)",
              what, peer, figure(theirs, rows), median(ratios), format(ratios)));
    }
    return lines;
  }

  private static String figure(double[] seconds, long rows) {
    double m = median(seconds);
    return String.format(Locale.ROOT, "median %.2f s (%s), %.0f rows/s", m, format(seconds), rows / m);
  }

  private static String format(double[] values) {
    StringBuilder s = new StringBuilder();
    for (double v : values) {
      s.append(s.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.2f", v));
    }
    return s.toString();
  }

  static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }
}
