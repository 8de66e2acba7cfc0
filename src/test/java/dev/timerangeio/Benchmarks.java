package dev.timerangeio;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.io.range.OffsetRange;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.Count;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.splittabledofn.OffsetRangeTracker;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The project's benchmarks, each against a baseline measured in the same run: JMH for the hot
 * paths (claiming chunks, computing idempotency keys) and an end-to-end DirectRunner pipeline.
 * Run with {@code mvn -Pbench test-compile exec:exec}; figures go into BENCHMARKS.md.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class Benchmarks {
  private static final Logger LOG = LoggerFactory.getLogger(Benchmarks.class);
  private static final int CHUNKS = 1_000;
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final Map<String, Object> RECORD = new HashMap<>();

  static {
    RECORD.put("id", 123456789L);
    RECORD.put("time", "2024-05-01T00:00:00.123456Z");
    RECORD.put("host", "web-17.example");
    RECORD.put("status", 200);
    RECORD.put("latency", 0.0123);
    RECORD.put("path", "/api/v1/orders?since=2024-05-01");
  }

  /** Claim 1,000 chunks with the chunk tracker. */
  @Benchmark
  public long chunkTrackerClaims() {
    ChunkRangeTracker t =
        new ChunkRangeTracker(TimeRange.of(0, CHUNKS * 10L), new ChunkGrid(10), () -> 0);
    long p = 0;
    while (t.tryClaim(p)) {
      p += 10;
    }
    return p;
  }

  /** Baseline: claim 1,000 offsets with Beam's OffsetRangeTracker. */
  @Benchmark
  public long baselineOffsetTrackerClaims() {
    OffsetRangeTracker t = new OffsetRangeTracker(new OffsetRange(0, CHUNKS));
    long p = 0;
    while (t.tryClaim(p)) {
      p++;
    }
    return p;
  }

  /** The idempotency key of a six-field record. */
  @Benchmark
  public String idempotencyKey() {
    return IdempotencyKeys.of(RECORD);
  }

  /** Baseline: SHA-256 of Jackson's plain (not canonical) JSON of the same record. */
  @Benchmark
  public byte[] baselineJacksonSha256() throws Exception {
    return MessageDigest.getInstance("SHA-256")
        .digest(MAPPER.writeValueAsString(RECORD).getBytes(StandardCharsets.UTF_8));
  }

  public static void main(String[] args) throws Exception {
    Collection<RunResult> results =
        new Runner(new OptionsBuilder().include(Benchmarks.class.getName()).build()).run();
    Map<String, Double> score = new HashMap<>();
    for (RunResult r : results) {
      String name = r.getParams().getBenchmark();
      score.put(name.substring(name.lastIndexOf('.') + 1), r.getPrimaryResult().getScore());
    }
    List<String> lines = new ArrayList<>();
    lines.add(
        ratio(
            "chunk tracker: 1,000 claims",
            score.get("chunkTrackerClaims"),
            score.get("baselineOffsetTrackerClaims"),
            "ops/ms"));
    lines.add(
        ratio(
            "idempotency key of a 6-field record",
            score.get("idempotencyKey"),
            score.get("baselineJacksonSha256"),
            "ops/ms"));
    lines.add(pipelineBenchmark());
    lines.add(writeBenchmark());
    for (String line : lines) {
      LOG.info(line);
    }
  }

  private static String ratio(String what, double ours, double baseline, String unit) {
    return String.format(
        Locale.ROOT,
        "%s: %.1f %s vs baseline %.1f %s = %.2fx",
        what, ours, unit, baseline, unit, ours / baseline);
  }

  /**
   * End to end on the DirectRunner: 200,000 records read with TimeRangeIO in 1-minute chunks vs
   * the same records from {@code Create.of}, each counted. Best of three runs each.
   */
  static String pipelineBenchmark() {
    long t0 = 1_714_521_600_000_000L;
    int n = 200_000;
    long[] times = new long[n];
    for (int i = 0; i < n; i++) {
      times[i] = t0 + i * 9_000L; // 30 minutes of data
    }
    TestSource source = TestSource.of(times);
    List<KV<Long, Long>> records = source.records();
    double ours = Double.MAX_VALUE;
    double baseline = Double.MAX_VALUE;
    for (int run = 0; run < 3; run++) {
      ours = Math.min(ours, timeSeconds(p -> p.apply(
          TimeRangeIO.<KV<Long, Long>>read()
              .withQuery(source)
              .withCoder(TestSource.CODER)
              .withStartTime(Times.toInstant(t0))
              .withEndTime(Times.toInstant(t0 + n * 9_000L))
              .withPartitionDuration(Duration.ofMinutes(1))
              .withIngestionLag(Duration.ZERO))));
      baseline = Math.min(baseline, timeSeconds(p -> p.apply(Create.of(records).withCoder(TestSource.CODER))));
    }
    return ratio(
        "DirectRunner pipeline, 200,000 records counted", n / ours, n / baseline, "rows/s");
  }

  /**
   * End to end on the DirectRunner: 20,000 keyed records written with {@code TimeRangeIO.write()}
   * (stateful dedup, batching) vs a plain DoFn writing the same keyed records in per-bundle
   * batches into the same in-memory sink: the price of the dedup step. Best of three runs each.
   */
  static String writeBenchmark() {
    int n = 20_000;
    List<KV<Long, Long>> records = new ArrayList<>();
    for (long i = 0; i < n; i++) {
      records.add(KV.of(i, i));
    }
    double ours = Double.MAX_VALUE;
    double baseline = Double.MAX_VALUE;
    for (int run = 0; run < 3; run++) {
      TestSink<KV<Long, Long>> sink = TestSink.create();
      ours = Math.min(ours, timeRun(p -> p.apply(Create.of(records).withCoder(TestSource.CODER))
          .apply(TimeRangeIO.<KV<Long, Long>>write().to(sink).withKeyFn(KV::getValue))));
      TestSink<KV<Long, Long>> plain = TestSink.create();
      baseline = Math.min(baseline, timeRun(p -> p.apply(Create.of(records).withCoder(TestSource.CODER))
          .apply(ParDo.of(new PlainWrite(plain)))));
      if (sink.stored().size() != n || plain.stored().size() != n) {
        throw new IllegalStateException("a write benchmark lost records");
      }
    }
    return ratio(
        "DirectRunner write, 20,000 records into an in-memory sink", n / ours, n / baseline, "rows/s");
  }

  /** The baseline write: keys and per-bundle batches, no dedup, no retries. */
  static final class PlainWrite extends DoFn<KV<Long, Long>, Void> {
    private final TestSink<KV<Long, Long>> sink;
    private transient List<KV<String, KV<Long, Long>>> batch;

    PlainWrite(TestSink<KV<Long, Long>> sink) {
      this.sink = sink;
    }

    @StartBundle
    public void start() {
      batch = new ArrayList<>();
    }

    @ProcessElement
    public void process(@Element KV<Long, Long> record) throws Exception {
      batch.add(KV.of(IdempotencyKeys.of(record.getValue()), record));
      if (batch.size() >= TimeRangeIO.DEFAULT_BATCH_SIZE) {
        flush();
      }
    }

    @FinishBundle
    public void finish() throws Exception {
      flush();
    }

    private void flush() throws Exception {
      if (!batch.isEmpty()) {
        sink.write(batch);
        batch = new ArrayList<>();
      }
    }
  }

  private static double timeRun(java.util.function.Consumer<Pipeline> build) {
    Pipeline p = Pipeline.create(PipelineOptionsFactory.create());
    build.accept(p);
    long start = System.nanoTime();
    p.run().waitUntilFinish();
    return (System.nanoTime() - start) / 1e9;
  }

  private static double timeSeconds(
      java.util.function.Function<Pipeline, PCollection<KV<Long, Long>>> read) {
    return timeRun(p -> read.apply(p).apply(Count.globally()));
  }
}
