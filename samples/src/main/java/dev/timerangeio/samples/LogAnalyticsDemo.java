package dev.timerangeio.samples;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A demo of Entra ID's token endpoint and the Azure Monitor Log Analytics query API on 127.0.0.1,
 * over a table of sign-in events. Like the service: it evaluates the time filter the connector
 * appends to the KQL on its own data, answers {@code | take 0} and {@code | summarize min(…)},
 * cuts an answer over {@link #ROW_CAP} rows with the size-limit {@code PartialError}, answers 429
 * to one query in 11, and issues tokens that expire after 5 seconds (then 401).
 */
final class LogAnalyticsDemo implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LogAnalyticsDemo.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  static final String TENANT = "demo-tenant";
  static final String CLIENT = "demo-client";
  static final String SECRET = "demo-secret-value";
  static final String WORKSPACE = "00000000-0000-4000-8000-000000000001";
  static final int ROW_CAP = 1_500;
  private static final Pattern WHERE =
      Pattern.compile("\\n\\| where TimeGenerated >= datetime\\(([^)]+)\\) and TimeGenerated < datetime\\(([^)]+)\\)$");

  /** One sign-in event of the demo table. */
  static final class Event {
    final String eventId;
    final Instant time;
    final String user;
    final int resultType;
    final double durationMs;

    Event(String eventId, Instant time, String user, int resultType, double durationMs) {
      this.eventId = eventId;
      this.time = time;
      this.user = user;
      this.resultType = resultType;
      this.durationMs = durationMs;
    }
  }

  private final HttpServer server;
  private final ExecutorService executor = Executors.newFixedThreadPool(4);
  final List<Event> events = new ArrayList<>();
  final AtomicLong queries = new AtomicLong();
  final AtomicLong throttled = new AtomicLong();
  final AtomicLong cut = new AtomicLong();
  final AtomicLong tokens = new AtomicLong();
  final AtomicLong expired = new AtomicLong();
  private final Map<String, Long> issued = new ConcurrentHashMap<>(); // token -> issued at, ms

  private LogAnalyticsDemo(HttpServer server, Instant day, int count) {
    this.server = server;
    Random random = new Random(11);
    long dayMicros = 86_400_000_000L;
    for (int i = 0; i < count; i++) {
      long offset = (long) (random.nextDouble() * dayMicros);
      if (i % 4 == 0) {
        offset = 9 * 3_600_000_000L + offset % 3_600_000_000L; // a busy hour: its chunk is cut
      }
      Instant time = day.plusNanos(offset * 1_000);
      events.add(
          new Event(
              String.format("7f1c2e4a-0000-4000-8000-%012d", i),
              time,
              "user" + random.nextInt(50) + "@example.com",
              random.nextInt(5) == 0 ? 50126 : 0,
              Math.round(random.nextDouble() * 10_000) / 10.0));
    }
  }

  static LogAnalyticsDemo start(Instant day, int count) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    LogAnalyticsDemo demo = new LogAnalyticsDemo(server, day, count);
    server.createContext("/" + TENANT + "/oauth2/v2.0/token", demo::token);
    server.createContext("/v1/workspaces/" + WORKSPACE + "/query", demo::query);
    server.setExecutor(demo.executor);
    server.start();
    LOG.info("Demo Log Analytics workspace with {} events at {}", count, demo.url());
    return demo;
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  private void token(HttpExchange exchange) throws IOException {
    Map<String, String> form = new HashMap<>();
    for (String pair :
        new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8).split("&")) {
      String[] kv = pair.split("=", 2);
      form.put(kv[0], URLDecoder.decode(kv.length > 1 ? kv[1] : "", StandardCharsets.UTF_8));
    }
    if (!CLIENT.equals(form.get("client_id")) || !SECRET.equals(form.get("client_secret"))) {
      respond(exchange, 401, "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client secret provided.\"}");
      return;
    }
    String token = "demo-token-" + tokens.incrementAndGet();
    issued.put(token, System.currentTimeMillis());
    respond(exchange, 200, "{\"token_type\":\"Bearer\",\"expires_in\":5,\"access_token\":\"" + token + "\"}");
  }

  private void query(HttpExchange exchange) throws IOException {
    long n = queries.incrementAndGet();
    String auth = String.valueOf(exchange.getRequestHeaders().getFirst("Authorization"));
    Long token = issued.get(auth.startsWith("Bearer ") ? auth.substring(7) : "");
    if (token == null || System.currentTimeMillis() - token > 5_000) {
      expired.incrementAndGet();
      respond(exchange, 401, "{\"error\":{\"code\":\"InvalidAuthenticationToken\",\"message\":\"The access token has expired\"}}");
      return;
    }
    if (n % 11 == 0) {
      throttled.incrementAndGet();
      exchange.getResponseHeaders().set("Retry-After", "1");
      respond(exchange, 429, "{\"error\":{\"code\":\"TooManyRequests\",\"message\":\"slow down\"}}");
      return;
    }
    String kql = JSON.readTree(exchange.getRequestBody().readAllBytes()).get("query").asText();
    ObjectNode answer = JSON.createObjectNode();
    ObjectNode table = answer.putArray("tables").addObject().put("name", "PrimaryResult");
    ArrayNode columns = table.putArray("columns");
    ArrayNode rows = table.putArray("rows");
    if (kql.endsWith("\n| summarize min(TimeGenerated)")) {
      columns.addObject().put("name", "min_TimeGenerated").put("type", "datetime");
      rows.addArray().add(events.stream().map(e -> e.time).min(Instant::compareTo).get().toString());
      respond(exchange, 200, answer.toString());
      return;
    }
    String[][] names = {
      {"TimeGenerated", "datetime"}, {"EventId", "guid"}, {"UserPrincipalName", "string"},
      {"ResultType", "int"}, {"DurationMs", "real"}
    };
    for (String[] c : names) {
      columns.addObject().put("name", c[0]).put("type", c[1]);
    }
    if (kql.endsWith("\n| take 0")) {
      respond(exchange, 200, answer.toString());
      return;
    }
    Matcher where = WHERE.matcher(kql);
    if (!where.find()) {
      respond(exchange, 400, "{\"error\":{\"code\":\"BadArgumentError\",\"message\":\"the demo answers only time-filtered queries\"}}");
      return;
    }
    Instant from = Instant.parse(where.group(1));
    Instant to = Instant.parse(where.group(2));
    int count = 0;
    for (Event e : events) {
      if (!e.time.isBefore(from) && e.time.isBefore(to)) {
        if (++count > ROW_CAP) {
          cut.incrementAndGet();
          ObjectNode error = answer.putObject("error");
          error.put("code", "PartialError").put("message", "There were some errors when processing your query.");
          error.putArray("details").addObject()
              .put("code", "EngineError")
              .put("message", "Query result set has exceeded the internal record count limit")
              .putObject("innererror").put("code", "-2133196797").put("message", "E_QUERY_RESULT_SET_TOO_LARGE");
          break;
        }
        rows.addArray()
            .add(e.time.toString())
            .add(e.eventId)
            .add(e.user)
            .add(e.resultType)
            .add(e.durationMs);
      }
    }
    respond(exchange, 200, answer.toString());
  }

  private static void respond(HttpExchange exchange, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, bytes.length);
    exchange.getResponseBody().write(bytes);
    exchange.close();
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
