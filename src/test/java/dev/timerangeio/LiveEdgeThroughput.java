package dev.timerangeio;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.runners.flink.FlinkRunner;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Throughput of a streaming read at the live edge with 1, 2 and 4 workers on the embedded Flink
 * runner ({@code [local]}), with {@code withLiveEdgeReaders} equal to the number of workers (and 1
 * for one worker, today's default), against a busy remote-like source: {@code RATE} records a
 * second of real time, and an answer that takes 20 ms plus {@code ROW_MICROS} per record (a remote
 * API or database: the time goes into waiting, not into this machine's two cores). Each run follows
 * the real clock from "latest" for a warm-up, then counts the records delivered in a measured
 * window and reports records a second (100% of offered: it keeps up).
 *
 * <pre>mvn -q test-compile org.codehaus.mojo:exec-maven-plugin:3.5.0:exec -Dexec.executable=java \
 *   -Dexec.classpathScope=test \
 *   -Dexec.args="-Xmx1g -cp %classpath dev.timerangeio.LiveEdgeThroughput"</pre>
 *
 * Options (system properties): {@code rate} (records/s, default 20000; as {@code -Drate=...} before
 * {@code -cp} in {@code exec.args}), {@code rowMicros} (default 150), {@code warmupSeconds} (10),
 * {@code seconds} (30), {@code workers} (1,2,4).
 */
public final class LiveEdgeThroughput {
  private static final Logger LOG = LoggerFactory.getLogger(LiveEdgeThroughput.class);
  private static final Map<String, AtomicLong> DELIVERED = new ConcurrentHashMap<>();

  private LiveEdgeThroughput() {}

  /** Records at a steady rate of real time; an answer takes 20 ms + rowMicros per record. */
  static final class RemoteLikeQuery implements TimeRangeQuery<KV<Long, Long>> {
    private final long rate;
    private final long rowMicros;

    RemoteLikeQuery(long rate, long rowMicros) {
      this.rate = rate;
      this.rowMicros = rowMicros;
    }

    @Override
    public Iterable<KV<Long, Long>> query(TimeRange range) throws Exception {
      long period = Math.max(1, 1_000_000L / rate);
      long first = Math.floorDiv(range.fromMicros() + period - 1, period) * period;
      List<KV<Long, Long>> rows = new ArrayList<>();
      for (long t = first; t < range.toMicros(); t += period) {
        rows.add(KV.of(t, t / period));
      }
      long micros = 20_000 + rows.size() * rowMicros;
      Thread.sleep(micros / 1_000, (int) (micros % 1_000) * 1_000);
      return rows;
    }
  }

  /** Counts what arrives, per run. */
  static final class Count extends DoFn<KV<Long, Long>, Void> {
    private final String id;

    Count(String id) {
      this.id = id;
    }

    @ProcessElement
    public void process() {
      DELIVERED.get(id).incrementAndGet();
    }
  }

  public static void main(String[] args) throws Exception {
    long rate = Long.getLong("rate", 20_000);
    long rowMicros = Long.getLong("rowMicros", 150);
    long warmup = Long.getLong("warmupSeconds", 10);
    long seconds = Long.getLong("seconds", 30);
    String[] workers = System.getProperty("workers", "1,2,4").split(",");
    List<String> lines = new ArrayList<>();
    for (String w : workers) {
      int n = Integer.parseInt(w.trim());
      lines.add(run(n, rate, rowMicros, warmup, seconds));
    }
    LOG.info(
        "Live edge throughput, Flink [local], {} records/s offered, answers 20 ms + {} µs/record:",
        rate,
        rowMicros);
    for (String line : lines) {
      LOG.info(line);
    }
  }

  private static String run(int workers, long rate, long rowMicros, long warmup, long seconds)
      throws Exception {
    String id = java.util.UUID.randomUUID().toString();
    DELIVERED.put(id, new AtomicLong());
    FlinkPipelineOptions options = PipelineOptionsFactory.as(FlinkPipelineOptions.class);
    options.setRunner(FlinkRunner.class);
    options.setFlinkMaster("[local]");
    options.setParallelism(workers);
    options.setStreaming(true);
    options.setCheckpointingInterval(5_000L);
    options.setAttachedMode(false);
    Pipeline p = Pipeline.create(options);
    p.apply(
            TimeRangeIO.<KV<Long, Long>>read()
                .withQuery(new RemoteLikeQuery(rate, rowMicros))
                .withCoder(KvCoder.of(VarLongCoder.of(), VarLongCoder.of()))
                .withStartTime("latest")
                .withPartitionDuration(Duration.ofSeconds(1))
                .withIngestionLag(Duration.ofSeconds(1))
                .withPollInterval(Duration.ofMillis(100))
                .withLiveEdgeReaders(workers)
                .withTimestampFn(r -> java.time.Instant.EPOCH.plusNanos(r.getKey() * 1_000)))
        .apply(ParDo.of(new Count(id)));
    PipelineResult result = p.run();
    try {
      result.waitUntilFinish(org.joda.time.Duration.standardSeconds(warmup));
      long startNanos = System.nanoTime();
      long before = DELIVERED.get(id).get();
      result.waitUntilFinish(org.joda.time.Duration.standardSeconds(seconds));
      long delivered = DELIVERED.get(id).get() - before;
      double elapsed = (System.nanoTime() - startNanos) / 1e9;
      return String.format(
          "  %d worker(s), %d reader(s) per live-edge chunk: %,.0f records/s (%.0f%% of offered)",
          workers, workers, delivered / elapsed, 100.0 * delivered / elapsed / rate);
    } finally {
      result.cancel();
    }
  }
}
