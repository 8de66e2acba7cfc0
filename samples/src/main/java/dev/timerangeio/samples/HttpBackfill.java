package dev.timerangeio.samples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.timerangeio.TimeRangeIO;
import dev.timerangeio.TimeRangeIOMetrics;
import dev.timerangeio.http.HttpTimeRangeQuery;
import dev.timerangeio.jdbc.JdbcIdempotentSink;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.RowCoder;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.schemas.logicaltypes.MicrosInstant;
import org.apache.beam.sdk.values.Row;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Backfills a week of events from an HTTP JSON API with {@code since}/{@code until} parameters
 * into an H2 table, exactly once. Without {@code --apiUrl} it starts a demo API on 127.0.0.1 that
 * pages its answers (500 events a page, a next-page token), answers 503 to one request in 25 and
 * 413 to a range of more than 2,000 events: the read retries the first and bisects the second.
 * A demo run starts from an empty {@code api_events} table, and the check at the end compares it
 * row by row with the API's events (stored for that in {@code demo_api_events}), so a rerun
 * checks what that run wrote, not what an earlier one left.
 *
 * <pre>
 * cd samples &amp;&amp; mvn -q compile exec:java -DmainClass=dev.timerangeio.samples.HttpBackfill
 * </pre>
 */
public final class HttpBackfill {
  private static final Logger LOG = LoggerFactory.getLogger(HttpBackfill.class);
  static final Instant WEEK = Instant.parse("2024-05-01T00:00:00Z");
  static final int EVENTS = 30_000;

  static final Schema SCHEMA =
      Schema.builder()
          .addInt64Field("id")
          .addLogicalTypeField("event_time", new MicrosInstant())
          .addStringField("message")
          .build();

  /** Options of the backfill; every Beam option works too. */
  public interface Options extends PipelineOptions {
    @Description(
        "The API's URL template with {from} and {to}; empty: start the demo API on 127.0.0.1")
    @Default.String("")
    String getApiUrl();

    void setApiUrl(String value);

    @Description("JDBC URL of the database the events are written to")
    @Default.String("jdbc:h2:./data/http-backfill")
    String getJdbcUrl();

    void setJdbcUrl(String value);
  }

  public static void main(String[] args) throws Exception {
    Options options = PipelineOptionsFactory.fromArgs(args).withValidation().as(Options.class);
    DemoApi demo = options.getApiUrl().isEmpty() ? DemoApi.start() : null;
    try {
      System.exit(backfill(options, demo) ? 0 : 1);
    } finally {
      if (demo != null) {
        demo.close();
      }
    }
  }

  /** The backfill from the API at {@code api} (a URL template), ready to run. */
  static Pipeline pipeline(Options options, String api) {
    Pipeline pipeline = Pipeline.create(options);
    pipeline
        .apply(
            "ReadApi",
            TimeRangeIO.<Row>read()
                .withQuery(
                    HttpTimeRangeQuery.get(api, HttpBackfill::toRow)
                        .withRecordsPointer("/data")
                        .withNextPageToken("/next_page_token", "page_token")
                        .withTimeout(Duration.ofSeconds(10)))
                .withCoder(RowCoder.of(SCHEMA))
                .withStartTime(WEEK)
                .withEndTime(WEEK.plus(Duration.ofDays(7)))
                .withPartitionDuration(Duration.ofHours(6))
                .withInitialBackoff(Duration.ofMillis(50))
                .withMaxQueriesPerSecond(200)
                // A progress line per worker every 2 s (the default is 30 s), so this short
                // backfill shows chunks done, rows per second and the time left as it runs.
                .withProgressLogInterval(Duration.ofSeconds(2))
                .withTimestampFn(row -> row.getLogicalTypeValue("event_time", Instant.class)))
        .apply(
            "WriteOnce",
            TimeRangeIO.<Row>write()
                .to(JdbcIdempotentSink.forRows(options.getJdbcUrl(), "api_events").withCreateTable(true))
                .withKeyFn(row -> row.getInt64("id")));
    return pipeline;
  }

  /**
   * The backfill for {@code args}, built but not run (for job specs); without {@code --apiUrl},
   * the demo API's URL on 127.0.0.1:8080 stands in.
   */
  public static Pipeline pipeline(String... args) {
    Options options = PipelineOptionsFactory.fromArgs(args).withValidation().as(Options.class);
    String api =
        options.getApiUrl().isEmpty()
            ? "http://127.0.0.1:8080/events?since={from}&until={to}"
            : options.getApiUrl();
    return pipeline(options, api);
  }

  private static boolean backfill(Options options, DemoApi demo) throws Exception {
    String api =
        demo != null ? demo.url() + "/events?since={from}&until={to}" : options.getApiUrl();
    if (demo != null) {
      demo.prepare(options.getJdbcUrl());
    }
    Pipeline pipeline = pipeline(options, api);
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    LOG.info(
        "Read {} events; {} retries, {} range bisections; {} acknowledged by the sink (it skips"
            + " keys it already holds)",
        PostgresCopy.counter(result, TimeRangeIOMetrics.ROWS_READ),
        PostgresCopy.counter(result, TimeRangeIOMetrics.SOURCE_RETRIES),
        PostgresCopy.counter(result, TimeRangeIOMetrics.RANGE_BISECTIONS),
        PostgresCopy.counter(result, TimeRangeIOMetrics.ROWS_WRITTEN));
    return demo == null || check(options.getJdbcUrl(), demo);
  }

  static Row toRow(JsonNode json) {
    return Row.withSchema(SCHEMA)
        .addValues(
            json.get("id").asLong(),
            Instant.parse(json.get("time").asText()),
            json.get("message").asText())
        .build();
  }

  /** The table holds exactly the demo API's events, compared row by row. */
  static boolean check(String url, DemoApi demo) throws Exception {
    LOG.info(
        "The API answered {} requests ({} with 503, {} with 413)",
        demo.requests.get(),
        demo.unavailable.get(),
        demo.tooLarge.get());
    try (Connection c = DriverManager.getConnection(url)) {
      return RowComparison.sameRows(
          c,
          "api_events (what the backfill wrote)",
          "SELECT id, event_time, message FROM demo_api_events",
          "SELECT id, event_time, message FROM api_events");
    }
  }

  /** A small paged events API on 127.0.0.1 that sometimes fails, as real ones do. */
  static final class DemoApi implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int PAGE = 500;
    private static final int MAX_RANGE = 2_000;

    private final HttpServer server;
    private final java.util.concurrent.ExecutorService executor =
        java.util.concurrent.Executors.newFixedThreadPool(4);
    private final long[] times = new long[EVENTS]; // epoch µs, ascending; the id is the index
    final AtomicLong requests = new AtomicLong();
    final AtomicLong unavailable = new AtomicLong();
    final AtomicLong tooLarge = new AtomicLong();

    private DemoApi(HttpServer server) {
      this.server = server;
      long start = WEEK.getEpochSecond() * 1_000_000;
      long week = Duration.ofDays(7).toNanos() / 1_000;
      java.util.Random random = new java.util.Random(7);
      for (int i = 0; i < EVENTS; i++) {
        // Busier in the afternoons: several 6-hour ranges exceed MAX_RANGE and get split.
        long t = (long) (random.nextDouble() * week);
        times[i] = start + (random.nextInt(3) == 0 ? t - t % 86_400_000_000L + 54_000_000_000L : t);
      }
      java.util.Arrays.sort(times);
    }

    static DemoApi start() throws IOException {
      HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      DemoApi api = new DemoApi(server);
      server.createContext("/events", api::handle);
      server.setExecutor(api.executor);
      server.start();
      LOG.info("Demo API with {} events at {}", EVENTS, api.url());
      return api;
    }

    String url() {
      return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /**
     * Empties the backfill's target, so the check sees only what this run writes, and stores the
     * API's events in {@code demo_api_events} for the check to compare with.
     */
    void prepare(String url) throws Exception {
      try (Connection c = DriverManager.getConnection(url);
          Statement s = c.createStatement()) {
        s.execute("DROP TABLE IF EXISTS api_events");
        s.execute("DROP TABLE IF EXISTS demo_api_events");
        s.execute(
            "CREATE TABLE demo_api_events (id BIGINT PRIMARY KEY, event_time TIMESTAMP(6) NOT NULL,"
                + " message VARCHAR(100) NOT NULL)");
        c.setAutoCommit(false);
        try (PreparedStatement ps =
            c.prepareStatement("INSERT INTO demo_api_events VALUES (?, ?, ?)")) {
          for (int i = 0; i < EVENTS; i++) {
            ps.setLong(1, i);
            Instant time = Instant.EPOCH.plusNanos(times[i] * 1_000);
            ps.setObject(2, LocalDateTime.ofInstant(time, ZoneOffset.UTC));
            ps.setString(3, "event " + i);
            ps.addBatch();
          }
          ps.executeBatch();
        }
        c.commit();
      }
      LOG.info("Emptied api_events; the API's {} events are in demo_api_events", EVENTS);
    }

    private void handle(HttpExchange exchange) throws IOException {
      long n = requests.incrementAndGet();
      Map<String, String> query = new HashMap<>();
      for (String pair : exchange.getRequestURI().getRawQuery().split("&")) {
        String[] kv = pair.split("=", 2);
        query.put(kv[0], URLDecoder.decode(kv[1], StandardCharsets.UTF_8));
      }
      if (n % 25 == 0) {
        unavailable.incrementAndGet();
        respond(exchange, 503, "{\"error\": \"try again\"}");
        return;
      }
      int from = lowerBound(micros(query.get("since")));
      int to = lowerBound(micros(query.get("until")));
      if (to - from > MAX_RANGE) {
        tooLarge.incrementAndGet();
        respond(exchange, 413, "{\"error\": \"more than " + MAX_RANGE + " events\"}");
        return;
      }
      int first = from + Integer.parseInt(query.getOrDefault("page_token", "0"));
      int last = Math.min(to, first + PAGE);
      ObjectNode page = JSON.createObjectNode();
      ArrayNode data = page.putArray("data");
      for (int i = first; i < last; i++) {
        data.addObject()
            .put("id", i)
            .put("time", Instant.EPOCH.plusNanos(times[i] * 1_000).toString())
            .put("message", "event " + i);
      }
      if (last < to) {
        page.put("next_page_token", String.valueOf(last - from));
      }
      respond(exchange, 200, page.toString());
    }

    private static long micros(String iso) {
      Instant t = Instant.parse(iso);
      return t.getEpochSecond() * 1_000_000 + t.getNano() / 1_000;
    }

    private int lowerBound(long micros) {
      int i = java.util.Arrays.binarySearch(times, micros);
      if (i < 0) {
        return -i - 1;
      }
      while (i > 0 && times[i - 1] == micros) {
        i--;
      }
      return i;
    }

    private static void respond(HttpExchange exchange, int status, String body) throws IOException {
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "application/json");
      exchange.sendResponseHeaders(status, bytes.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    }

    @Override
    public void close() {
      server.stop(0);
      executor.shutdownNow();
    }
  }
}
