package dev.timerangeio.samples;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A demo of Splunk's search export endpoint ({@code /services/search/v2/jobs/export}, {@code
 * output_mode=json}) on 127.0.0.1 over authentication events, each indexed 0 to 90 seconds after
 * it happened (whole seconds, as {@code _indextime} is). Like splunkd it streams one JSON object a
 * line with blank keep-alive lines, INFO messages and a {@code preview} result before the final
 * ones, honours the form's time bounds ({@code earliest_time}/{@code latest_time} or {@code
 * index_earliest}/{@code index_latest}, both ends inclusive here) and {@code output_time_format}
 * for microseconds, and answers 503 to one search in 13.
 */
final class SplunkDemo implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SplunkDemo.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  static final String TOKEN = "demo-splunk-token";
  private static final DateTimeFormatter MICROS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSSxxx").withZone(ZoneOffset.ofHours(2));

  /** One event of the demo index. */
  static final class Event {
    final int id;
    final Instant time;
    final long indexTime;
    final String user;
    final String action;

    Event(int id, Instant time, long indexTime, String user, String action) {
      this.id = id;
      this.time = time;
      this.indexTime = indexTime;
      this.user = user;
      this.action = action;
    }

    String raw() {
      return "event=" + id + " user=" + user + " action=" + action;
    }
  }

  private final HttpServer server;
  private final ExecutorService executor = Executors.newFixedThreadPool(4);
  final List<Event> events = new ArrayList<>();
  final AtomicLong searches = new AtomicLong();
  final AtomicLong unavailable = new AtomicLong();

  private SplunkDemo(HttpServer server, Instant start, int count) {
    this.server = server;
    Random random = new Random(13);
    for (int i = 0; i < count; i++) {
      Instant time = start.plusNanos((long) (random.nextDouble() * 3_600_000_000L) * 1_000);
      long indexTime = time.getEpochSecond() + 1 + random.nextInt(90);
      events.add(
          new Event(
              i, time, indexTime, "u" + random.nextInt(40), random.nextInt(7) == 0 ? "failure" : "success"));
    }
  }

  static SplunkDemo start(Instant start, int count) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    SplunkDemo demo = new SplunkDemo(server, start, count);
    server.createContext("/services/search/v2/jobs/export", demo::export);
    server.setExecutor(demo.executor);
    server.start();
    LOG.info("Demo Splunk with {} events at {}", count, demo.url());
    return demo;
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  private void export(HttpExchange exchange) throws IOException {
    long n = searches.incrementAndGet();
    Map<String, String> form = new HashMap<>();
    for (String pair :
        new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8).split("&")) {
      String[] kv = pair.split("=", 2);
      form.put(kv[0], URLDecoder.decode(kv.length > 1 ? kv[1] : "", StandardCharsets.UTF_8));
    }
    if (!("Splunk " + TOKEN).equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
      respond(exchange, 401, "{\"messages\":[{\"type\":\"WARN\",\"text\":\"call not properly authenticated\"}]}");
      return;
    }
    if (n % 13 == 0) {
      unavailable.incrementAndGet();
      respond(exchange, 503, "{\"messages\":[{\"type\":\"ERROR\",\"text\":\"search head busy\"}]}");
      return;
    }
    if (!form.getOrDefault("search", "").startsWith("search index=auth")) {
      respond(exchange, 400, "{\"messages\":[{\"type\":\"FATAL\",\"text\":\"the demo knows only index=auth\"}]}");
      return;
    }
    List<Event> matches = new ArrayList<>();
    for (Event e : events) {
      if (form.containsKey("index_earliest")
          ? e.indexTime >= Long.parseLong(form.get("index_earliest"))
              && e.indexTime <= Long.parseLong(form.get("index_latest"))
          : seconds(e.time).compareTo(new BigDecimal(form.get("earliest_time"))) >= 0
              && seconds(e.time).compareTo(new BigDecimal(form.get("latest_time"))) <= 0) {
        matches.add(e);
      }
    }
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(200, 0);
    try (OutputStream out = exchange.getResponseBody()) {
      write(out, "\n");
      write(out, "{\"messages\":[{\"type\":\"INFO\",\"text\":\"Search finalized.\"}]}\n");
      if (!matches.isEmpty()) {
        ObjectNode preview = JSON.createObjectNode().put("preview", true).put("offset", 0);
        result(preview.putObject("result"), matches.get(0), form);
        write(out, preview + "\n\n");
      }
      for (int i = 0; i < matches.size(); i++) {
        ObjectNode line = JSON.createObjectNode().put("preview", false).put("offset", i);
        if (i == matches.size() - 1) {
          line.put("lastrow", true);
        }
        result(line.putObject("result"), matches.get(i), form);
        write(out, line + "\n");
      }
    }
  }

  private static BigDecimal seconds(Instant t) {
    return BigDecimal.valueOf(t.getEpochSecond()).add(BigDecimal.valueOf(t.getNano(), 9));
  }

  private static void result(ObjectNode result, Event e, Map<String, String> form) {
    result.put(
        "_time",
        form.containsKey("output_time_format")
            ? MICROS.format(e.time)
            : DateTimeFormatter.ISO_OFFSET_DATE_TIME.format(e.time.atOffset(ZoneOffset.UTC)));
    result.put("_indextime", String.valueOf(e.indexTime));
    result.put("_cd", "7:" + e.id);
    result.put("_raw", e.raw());
    result.put("host", "idp-" + (e.id % 2));
    result.put("source", "/var/log/idp/auth.log");
    result.put("sourcetype", "idp:auth");
    result.put("index", "auth");
    result.put("user", e.user);
    result.put("action", e.action);
  }

  private static void write(OutputStream out, String text) throws IOException {
    out.write(text.getBytes(StandardCharsets.UTF_8));
  }

  private static void respond(HttpExchange exchange, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
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
