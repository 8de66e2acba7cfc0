package dev.timerangeio.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
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
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A real API on 127.0.0.1 that evaluates time ranges itself: {@code GET
 * /events?since=&until=[&page=]} answers the records {@code {"id", "time"}} whose time lies in
 * {@code [since, until)}, bounds given in whole units (epoch seconds or milliseconds: anything else
 * is a 400, as a real API refuses it) or, with a unit of 1 µs, as ISO-8601. Pages by token; 413 for
 * a range over a cap; each page can be made slow.
 */
final class RangeApi implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpServer server;
  private final java.util.concurrent.ScheduledExecutorService delayed =
      Executors.newSingleThreadScheduledExecutor();
  private final long[] times;
  private final long unitMicros;
  private final boolean timeAsNumber;
  private final int pageSize;
  private final int cap;
  volatile long pageDelayMillis;
  final AtomicLong requests = new AtomicLong();
  final AtomicLong tooLarge = new AtomicLong();
  final List<String> badRequests = new CopyOnWriteArrayList<>();

  /**
   * Records at {@code times} (epoch µs; the id is the index after sorting), bounds in {@code
   * unitMicros}, each record's time written as a number of units ({@code timeAsNumber}, with a
   * fraction) or as ISO-8601.
   */
  RangeApi(long[] times, long unitMicros, boolean timeAsNumber, int pageSize, int cap)
      throws IOException {
    this.times = times.clone();
    Arrays.sort(this.times);
    this.unitMicros = unitMicros;
    this.timeAsNumber = timeAsNumber;
    this.pageSize = pageSize;
    this.cap = cap;
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setExecutor(Executors.newFixedThreadPool(4));
    server.createContext("/events", this::events);
    server.start();
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/events?since={from}&until={to}";
  }

  long[] times() {
    return times.clone();
  }

  private void events(HttpExchange exchange) throws IOException {
    requests.incrementAndGet();
    Map<String, String> params = new HashMap<>();
    for (String pair : exchange.getRequestURI().getRawQuery().split("&")) {
      String[] kv = pair.split("=", 2);
      params.put(kv[0], URLDecoder.decode(kv[1], StandardCharsets.UTF_8));
    }
    Long from = bound(params.get("since"));
    Long to = bound(params.get("until"));
    if (from == null || to == null) {
      badRequests.add(exchange.getRequestURI().getRawQuery());
      respond(exchange, 400, "{\"error\":\"since and until must be whole units\"}");
      return;
    }
    int lo = lowerBound(from);
    int hi = lowerBound(to);
    if (hi - lo > cap) {
      tooLarge.incrementAndGet();
      respond(exchange, 413, "{\"error\":\"more than " + cap + " records\"}");
      return;
    }
    int offset = Integer.parseInt(params.getOrDefault("page", "0"));
    ObjectNode page = JSON.createObjectNode();
    ArrayNode data = page.putArray("data");
    for (int i = lo + offset; i < Math.min(hi, lo + offset + pageSize); i++) {
      ObjectNode record = data.addObject().put("id", i);
      if (timeAsNumber) {
        record.put("time", BigDecimal.valueOf(times[i]).divide(BigDecimal.valueOf(unitMicros)));
      } else {
        record.put("time", Instant.EPOCH.plusNanos(times[i] * 1_000).toString());
      }
    }
    if (lo + offset + pageSize < hi) {
      page.put("next", Integer.toString(offset + pageSize));
    }
    String body = page.toString();
    // A slow API: the answer leaves that much later, from another thread.
    delayed.schedule(
        () -> {
          try {
            respond(exchange, 200, body);
          } catch (IOException clientGone) {
            // The client gave up first.
          }
        },
        pageDelayMillis,
        java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  /** A bound in µs, or null when it is not what the API takes. */
  private Long bound(String value) {
    if (unitMicros == 1) {
      Instant t = Instant.parse(value);
      return t.getEpochSecond() * 1_000_000 + t.getNano() / 1_000;
    }
    return value.matches("-?[0-9]+") ? Long.parseLong(value) * unitMicros : null;
  }

  private int lowerBound(long key) {
    int lo = 0;
    int hi = times.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (times[mid] < key) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  private static void respond(HttpExchange exchange, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().add("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
    delayed.shutdownNow();
    ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
  }
}
