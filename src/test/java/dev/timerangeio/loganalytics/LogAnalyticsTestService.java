package dev.timerangeio.loganalytics;

import com.fasterxml.jackson.databind.JsonNode;
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
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Entra ID's token endpoint and the Log Analytics query API on 127.0.0.1, over a table of events
 * {@code TimeGenerated, Id, …}: it evaluates the time filter the connector appends on its own
 * data, answers {@code take 0} and {@code summarize min(…)}, cuts answers over a row cap with the
 * service's size-limit partial error, and makes each token expire after a number of queries (a
 * 401, as an expired token gets).
 */
public final class LogAnalyticsTestService implements AutoCloseable {
  public static final String TENANT = "tenant-1";
  public static final String CLIENT = "client-1";
  public static final String SECRET = "cl13nt-s3cr3t~value";
  public static final String WORKSPACE = "5f2c1a3e-0000-4000-8000-000000000001";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern WHERE =
      Pattern.compile(
          "\\n\\| where (\\w+) >= datetime\\(([^)]+)\\) and (\\w+) < datetime\\(([^)]+)\\)"
              + "(\\n\\| count)?$");
  private static final Pattern MIN = Pattern.compile("\\n\\| summarize min\\((\\w+)\\)$");

  private final HttpServer server;
  private final List<Instant> times;
  /** A token serves this many queries, then gets 401. */
  volatile int queriesPerToken = Integer.MAX_VALUE;
  /** More rows than this in one answer: a partial answer with the size-limit code. */
  volatile int rowCap = Integer.MAX_VALUE;
  /** If set, every 200 carries this error object (another partial error). */
  volatile String partialError = null;
  /** If set, every query is answered with this status and body. */
  volatile int forcedStatus = 0;

  volatile String forcedBody = "";
  final AtomicInteger tokensIssued = new AtomicInteger();
  final AtomicInteger queries = new AtomicInteger();
  final AtomicInteger expiredTokenAnswers = new AtomicInteger();
  final AtomicInteger sizeLimitAnswers = new AtomicInteger();
  final List<String> requestBodies = new CopyOnWriteArrayList<>();
  private final Map<String, AtomicInteger> tokenUses = new ConcurrentHashMap<>();

  public LogAnalyticsTestService(List<Instant> times) throws IOException {
    this.times = new ArrayList<>(times);
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setExecutor(Executors.newFixedThreadPool(4));
    server.createContext("/" + TENANT + "/oauth2/v2.0/token", this::token);
    server.createContext("/v1/workspaces/" + WORKSPACE + "/query", this::query);
    server.start();
  }

  public String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  LogAnalyticsQuery query(String kql) {
    return LogAnalyticsQuery.forWorkspace(WORKSPACE, kql)
        .withEndpoint(url())
        .withAuthorityHost(url())
        .withClientCredentials(TENANT, CLIENT, SECRET);
  }

  private void token(HttpExchange exchange) throws IOException {
    String form = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
    Map<String, String> fields = new ConcurrentHashMap<>();
    for (String pair : form.split("&")) {
      String[] kv = pair.split("=", 2);
      fields.put(kv[0], URLDecoder.decode(kv.length > 1 ? kv[1] : "", StandardCharsets.UTF_8));
    }
    if (!CLIENT.equals(fields.get("client_id")) || !SECRET.equals(fields.get("client_secret"))) {
      send(exchange, 401, "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client secret provided.\"}");
      return;
    }
    String token = "token-" + tokensIssued.incrementAndGet();
    tokenUses.put(token, new AtomicInteger());
    send(exchange, 200, "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"access_token\":\"" + token + "\"}");
  }

  private void query(HttpExchange exchange) throws IOException {
    queries.incrementAndGet();
    String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
    requestBodies.add(body);
    String auth = exchange.getRequestHeaders().getFirst("Authorization");
    String token = auth != null && auth.startsWith("Bearer ") ? auth.substring(7) : "";
    AtomicInteger uses = tokenUses.get(token);
    if (uses == null || uses.incrementAndGet() > queriesPerToken) {
      expiredTokenAnswers.incrementAndGet();
      send(exchange, 401, "{\"error\":{\"code\":\"AuthenticationFailed\",\"message\":\"token " + token + " expired\"}}");
      return;
    }
    if (forcedStatus != 0) {
      send(exchange, forcedStatus, forcedBody);
      return;
    }
    String kql = JSON.readTree(body).get("query").asText();
    ObjectNode answer = JSON.createObjectNode();
    ObjectNode table = answer.putArray("tables").addObject();
    table.put("name", "PrimaryResult");
    Matcher where = WHERE.matcher(kql);
    Matcher min = MIN.matcher(kql);
    if (min.find()) {
      table.putArray("columns").addObject().put("name", "min_" + min.group(1)).put("type", "datetime");
      ArrayNode row = table.putArray("rows").addArray();
      Instant oldest = times.stream().min(Instant::compareTo).orElse(null);
      if (oldest == null) {
        row.add("");
      } else {
        row.add(oldest.toString());
      }
      send(exchange, 200, answer.toString());
      return;
    }
    columns(table.putArray("columns"));
    ArrayNode rows = table.putArray("rows");
    if (kql.endsWith("\n| take 0")) {
      send(exchange, 200, answer.toString());
      return;
    }
    if (!where.find()) {
      send(exchange, 400, "{\"error\":{\"code\":\"BadArgumentError\",\"message\":\"no time filter in " + kql.replace("\"", "'").replace("\n", " ") + "\"}}");
      return;
    }
    Instant from = Instant.parse(where.group(2));
    Instant to = Instant.parse(where.group(4));
    if (where.group(5) != null) {
      // "| count": one column Count, the rows of the range.
      ObjectNode counted = JSON.createObjectNode();
      ObjectNode countTable = counted.putArray("tables").addObject();
      countTable.put("name", "PrimaryResult");
      countTable.putArray("columns").addObject().put("name", "Count").put("type", "long");
      countTable
          .putArray("rows")
          .addArray()
          .add(times.stream().filter(t -> !t.isBefore(from) && t.isBefore(to)).count());
      send(exchange, 200, counted.toString());
      return;
    }
    int n = 0;
    for (int i = 0; i < times.size(); i++) {
      Instant t = times.get(i);
      if (!t.isBefore(from) && t.isBefore(to)) {
        if (++n > rowCap) {
          sizeLimitAnswers.incrementAndGet();
          ObjectNode error = answer.putObject("error");
          error.put("code", "PartialError").put("message", "There were some errors when processing your query.");
          error.putArray("details").addObject().put("code", "EngineError").put("message", "Query result set has exceeded the internal limit")
              .putObject("innererror").put("code", "E_QUERY_RESULT_SET_TOO_LARGE").put("message", "too many rows");
          break;
        }
        row(rows.addArray(), i, t);
      }
    }
    if (partialError != null) {
      answer.set("error", JSON.readTree(partialError));
    }
    send(exchange, 200, answer.toString());
  }

  static void columns(ArrayNode columns) {
    String[][] all = {
      {"TimeGenerated", "datetime"}, {"Id", "long"}, {"Computer", "string"}, {"Level", "int"},
      {"Duration", "real"}, {"Ok", "bool"}, {"Cost", "decimal"}, {"CorrelationId", "guid"},
      {"Elapsed", "timespan"}, {"Props", "dynamic"}
    };
    for (String[] c : all) {
      columns.addObject().put("name", c[0]).put("type", c[1]);
    }
  }

  /** The row of event {@code i} at {@code t}, typed as the service sends it. */
  static void row(ArrayNode row, int i, Instant t) {
    row.add(t.toString());
    row.add(String.valueOf(i)); // long: the service may send it as a string
    row.add("host-" + (i % 3));
    row.add(i % 5);
    row.add(i * 0.5);
    row.add(i % 2 == 0);
    row.add("12." + (i % 100));
    row.add("00000000-0000-4000-8000-" + String.format("%012d", i));
    row.add("00:00:0" + (i % 10) + ".5");
    row.add("{\"n\":" + i + "}");
  }

  private static void send(HttpExchange exchange, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
    if (bytes.length > 0) {
      exchange.getResponseBody().write(bytes);
    }
    exchange.close();
  }

  static JsonNode json(String text) throws IOException {
    return JSON.readTree(text);
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
