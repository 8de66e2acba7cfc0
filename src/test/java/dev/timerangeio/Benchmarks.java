package dev.timerangeio;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.beam.sdk.io.range.OffsetRange;
import org.apache.beam.sdk.transforms.splittabledofn.OffsetRangeTracker;
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
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The project's benchmark, each figure beside its peer measured in the same run on the same data
 * (BENCHMARKS.md): JMH for the hot paths (idempotency keys, claiming chunks), then end to end on
 * the DirectRunner and embedded Flink ({@code [local]}, p=2): the bounded JDBC read ({@link
 * BenchRead}) and the deduplicating write ({@link BenchWrite}). Run with {@code mvn -Pbench
 * test-compile exec:exec}; settings as system properties (the {@code bench} profile of pom.xml
 * passes {@code -Dbench.*} on):
 *
 * <ul>
 *   <li>{@code bench.postgresql.url}: the PostgreSQL to seed and read; empty: embedded H2.
 *   <li>{@code bench.rows} (1,000,000), {@code bench.days} (30), {@code bench.chunks} (720): the
 *       read's table and ranges.
 *   <li>{@code bench.writeRows} (1,000,000; 800,000 of them distinct), {@code
 *       bench.directWriteRows} (10,000: the DirectRunner runs stateful steps one key at a time, and
 *       {@code Deduplicate} keys its state per record).
 *   <li>{@code bench.freshnessSeconds} (60; 0: none; PostgreSQL only), {@code bench.rate} (50 rows/s),
 *       {@code bench.lagMs} (2,000), {@code bench.pollMs} (500), {@code bench.chunkMs} (500),
 *       {@code bench.batchDelayMs} (250), {@code bench.plot} ({@code target/freshness.png}): the
 *       streaming freshness run ({@link BenchFreshness}).
 *   <li>{@code bench.keySlices} (40), {@code bench.keySliceMs} (100): keys by alternating slices
 *       ({@link BenchKeys}), before JMH.
 *   <li>{@code bench.only}: {@code read}, {@code write} or {@code all} (the default).
 *   <li>{@code bench.rounds} (3, after a discarded warm-up), {@code bench.runners} ({@code
 *       direct,flink}), {@code bench.jmh} ({@code full}, {@code quick} or {@code off}).
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class Benchmarks {
  static final Logger LOG = LoggerFactory.getLogger(Benchmarks.class);
  private static final int CHUNKS = 1_000;
  private static final ObjectMapper MAPPER = new ObjectMapper();
  /** A ~200-byte record (its canonical JSON is 209 bytes). */
  private static final Map<String, Object> RECORD = new HashMap<>();
  private static final byte[] RECORD_CANONICAL_JSON;

  static {
    RECORD.put("id", 123456789L);
    RECORD.put("time", "2024-05-01T00:00:00.123456Z");
    RECORD.put("host", "web-17.example");
    RECORD.put("status", 200);
    RECORD.put("latency", 0.0123);
    RECORD.put("path", "/api/v1/orders?since=2024-05-01");
    RECORD.put("agent", "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0");
    RECORD_CANONICAL_JSON = IdempotencyKeys.canonicalJson(RECORD).getBytes(StandardCharsets.UTF_8);
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

  /** Peer: claim 1,000 offsets with Beam's OffsetRangeTracker. */
  @Benchmark
  public long baselineOffsetTrackerClaims() {
    OffsetRangeTracker t = new OffsetRangeTracker(new OffsetRange(0, CHUNKS));
    long p = 0;
    while (t.tryClaim(p)) {
      p++;
    }
    return p;
  }

  /** The idempotency key of the record. */
  @Benchmark
  public String idempotencyKey() {
    return IdempotencyKeys.of(RECORD);
  }

  /** Peer: SHA-256 of Jackson's plain (not canonical) JSON of the same record. */
  @Benchmark
  public byte[] baselineJacksonSha256() throws Exception {
    return MessageDigest.getInstance("SHA-256").digest(MAPPER.writeValueAsBytes(RECORD));
  }

  /** The floor: SHA-256 of the canonical JSON's bytes, already made. */
  @Benchmark
  public byte[] baselineRawSha256() throws Exception {
    return MessageDigest.getInstance("SHA-256").digest(RECORD_CANONICAL_JSON);
  }

  public static void main(String[] args) throws Exception {
    List<String> lines = new ArrayList<>();
    int keySlices = Integer.getInteger("bench.keySlices", 40);
    if (keySlices > 0) {
      lines.addAll(BenchKeys.compare(RECORD, keySlices, Long.getLong("bench.keySliceMs", 100)));
    }
    String jmh = System.getProperty("bench.jmh", "full");
    if (!jmh.equals("off")) {
      lines.addAll(jmh(jmh.equals("quick")));
    }
    String url = System.getProperty("bench.postgresql.url", "");
    if (url.isEmpty()) {
      url = "jdbc:h2:mem:bench;DB_CLOSE_DELAY=-1";
    }
    long rows = Long.getLong("bench.rows", 1_000_000);
    int rounds = Integer.getInteger("bench.rounds", 3);
    BenchRead read =
        new BenchRead(url, rows, Integer.getInteger("bench.days", 30), Integer.getInteger("bench.chunks", 720));
    String only = System.getProperty("bench.only", "all");
    if (!only.equals("write") && !System.getProperty("bench.runners", "direct,flink").isBlank()) {
      read.seed();
    }
    for (String name : System.getProperty("bench.runners", "direct,flink").split(",")) {
      if (name.isBlank()) {
        continue;
      }
      BenchSupport.Runner runner = BenchSupport.Runner.valueOf(name.trim().toUpperCase(Locale.ROOT));
      if (!only.equals("write")) {
        lines.addAll(read.compare(runner, rounds));
      }
      if (only.equals("read")) {
        continue;
      }
      long writeRows =
          runner == BenchSupport.Runner.DIRECT
              ? Long.getLong("bench.directWriteRows", 10_000)
              : Long.getLong("bench.writeRows", 1_000_000);
      lines.addAll(new BenchWrite(writeRows, writeRows * 4 / 5).compare(runner, rounds));
    }
    int freshness = Integer.getInteger("bench.freshnessSeconds", 60);
    if (freshness > 0 && BenchRead.isPostgres(url) && only.equals("all")) {
      lines.addAll(
          new BenchFreshness(
                  url,
                  Duration.ofMillis(Long.getLong("bench.lagMs", 2_000)),
                  Duration.ofMillis(Long.getLong("bench.pollMs", 500)),
                  Duration.ofMillis(Long.getLong("bench.chunkMs", 500)),
                  Duration.ofMillis(Long.getLong("bench.batchDelayMs", 250)))
              .run(freshness, Integer.getInteger("bench.rate", 50), Path.of(System.getProperty("bench.plot", "target/freshness.png"))));
    }
    LOG.info("Results ({}):", url.replaceAll("password=[^&]*", "password=…"));
    for (String line : lines) {
      LOG.info(line);
    }
  }

  private static List<String> jmh(boolean quick) throws Exception {
    ChainedOptionsBuilder options = new OptionsBuilder().include(Benchmarks.class.getName() + ".");
    if (quick) {
      options =
          options
              .warmupIterations(1)
              .warmupTime(TimeValue.milliseconds(200))
              .measurementIterations(2)
              .measurementTime(TimeValue.milliseconds(200));
    }
    Collection<RunResult> results = new Runner(options.build()).run();
    Map<String, Double> score = new HashMap<>();
    for (RunResult r : results) {
      String name = r.getParams().getBenchmark();
      score.put(name.substring(name.lastIndexOf('.') + 1), r.getPrimaryResult().getScore());
    }
    List<String> lines = new ArrayList<>();
    lines.add(ratio("chunk tracker: 1,000 claims", score, "chunkTrackerClaims", "baselineOffsetTrackerClaims"));
    lines.add(ratio("key of a ~200-byte record vs Jackson + SHA-256", score, "idempotencyKey", "baselineJacksonSha256"));
    lines.add(ratio("key of a ~200-byte record vs raw SHA-256 of its bytes", score, "idempotencyKey", "baselineRawSha256"));
    return lines;
  }

  private static String ratio(String what, Map<String, Double> score, String ours, String peer) {
    return String.format(
        Locale.ROOT,
        "%s | %s %.1f ops/ms | %s %.1f ops/ms | ratio %.2fx",
        what, ours, score.get(ours), peer, score.get(peer), score.get(ours) / score.get(peer));
  }
}
