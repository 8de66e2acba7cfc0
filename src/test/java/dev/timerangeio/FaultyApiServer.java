package dev.timerangeio;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
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
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A real HTTP server on 127.0.0.1 serving records {@code {"id", "time"}} by time range, with
 * injected faults: 503s, 429s with {@code Retry-After}, responses slower than the client's
 * timeout, bodies cut short, and 413 for ranges holding more than a cap. {@code GET
 * /events?since=&until=[&page_token=]} pages by token; {@code POST /query} takes {@code
 * {"timespan": "from/to"}} and pages by link.
 */
public final class FaultyApiServer implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpServer server;
  private final ScheduledExecutorService delayed = Executors.newSingleThreadScheduledExecutor();
  private final java.util.concurrent.ExecutorService handlers = Executors.newFixedThreadPool(4);
  private final long[] times;
  private final int pageSize;
  private final int cap;
  private final double[] faultRates; // 503, 429, slow, truncated
  private final long slowMillis;
  private final BoundedFaults decider;
  public final AtomicLong requests = new AtomicLong();
  final Map<String, AtomicLong> faults = new HashMap<>();
  public final List<String> authorizations = new CopyOnWriteArrayList<>();

  public FaultyApiServer(long[] times, int pageSize, int cap, double[] faultRates, long slowMillis)
      throws IOException {
    this.times = times.clone();
    Arrays.sort(this.times);
    this.pageSize = pageSize;
    this.cap = cap;
    this.faultRates = faultRates;
    this.slowMillis = slowMillis;
    // At most 3 faults in a row for one request: the read's retries always suffice.
    this.decider = new BoundedFaults(99, Arrays.stream(faultRates).sum(), 3);
    for (String f : new String[] {"503", "429", "slow", "truncated", "413"}) {
      faults.put(f, new AtomicLong());
    }
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setExecutor(handlers);
    server.createContext("/events", this::events);
    server.createContext("/query", this::query);
    server.createContext(
        "/missing",
        e -> {
          requests.incrementAndGet();
          respond(e, 404, "{\"error\":\"no such endpoint\"}");
        });
    server.start();
  }

  public String url(String path) {
    return "http://127.0.0.1:" + server.getAddress().getPort() + path;
  }

  public long faults(String kind) {
    return faults.get(kind).get();
  }

  private void events(HttpExchange exchange) throws IOException {
    Map<String, String> params = params(exchange.getRequestURI().getRawQuery());
    serve(exchange, params.get("since"), params.get("until"), params.get("page_token"), false);
  }

  private void query(HttpExchange exchange) throws IOException {
    JsonNode body = JSON.readTree(exchange.getRequestBody());
    String[] span = body.get("timespan").asText().split("/");
    Map<String, String> params = params(exchange.getRequestURI().getRawQuery());
    serve(exchange, span[0], span[1], params.get("offset"), true);
  }

  private void serve(HttpExchange exchange, String since, String until, String page, boolean links)
      throws IOException {
    requests.incrementAndGet();
    String auth = exchange.getRequestHeaders().getFirst("Authorization");
    if (auth != null) {
      authorizations.add(auth);
    }
    String call = since + "/" + until + "/" + page;
    // Which fault, if any: a function of the request and its streak, never of thread timing.
    double roll =
        decider.fails(call)
            ? new java.util.SplittableRandom(call.hashCode()).nextDouble()
                * Arrays.stream(faultRates).sum()
            : 1.0;
    if ((roll -= faultRates[0]) < 0) {
      faults.get("503").incrementAndGet();
      respond(exchange, 503, "{\"error\":\"overloaded\"}");
      return;
    }
    if ((roll -= faultRates[1]) < 0) {
      faults.get("429").incrementAndGet();
      exchange.getResponseHeaders().add("Retry-After", "1");
      respond(exchange, 429, "{\"error\":\"slow down\"}");
      return;
    }
    long from = Times.toMicros("since", Instant.parse(since));
    long to = Times.toMicros("until", Instant.parse(until));
    int lo = lowerBound(from);
    int hi = lowerBound(to);
    if (hi - lo > cap) {
      faults.get("413").incrementAndGet();
      respond(exchange, 413, "{\"error\":\"" + (hi - lo) + " rows, the limit is " + cap + "\"}");
      return;
    }
    int offset = page == null ? 0 : Integer.parseInt(page);
    ObjectNode response = JSON.createObjectNode();
    ArrayNode data = response.putArray("data");
    for (int i = lo + offset; i < Math.min(hi, lo + offset + pageSize); i++) {
      data.addObject().put("id", i).put("time", Times.toInstant(times[i]).toString());
    }
    if (lo + offset + pageSize < hi) {
      String next = Integer.toString(offset + pageSize);
      if (links) {
        response.put("next", "/query?offset=" + next);
      } else {
        response.put("next_page_token", next);
      }
    }
    String json = response.toString();
    if ((roll -= faultRates[2]) < 0) {
      faults.get("slow").incrementAndGet();
      delayed.schedule(() -> quietly(exchange, 200, json), slowMillis, TimeUnit.MILLISECONDS);
      return;
    }
    if ((roll -= faultRates[3]) < 0) {
      // The body ends halfway (a proxy cutting the stream): chunked, so the exchange still ends.
      faults.get("truncated").incrementAndGet();
      byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("Content-Type", "application/json");
      exchange.sendResponseHeaders(200, 0);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes, 0, bytes.length / 2);
      }
      return;
    }
    respond(exchange, 200, json);
  }

  private void quietly(HttpExchange exchange, int status, String body) {
    try {
      respond(exchange, status, body);
    } catch (IOException clientGaveUp) {
      // The client timed out first: the point of a slow response.
    }
  }

  private static void respond(HttpExchange exchange, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().add("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
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

  private static Map<String, String> params(String rawQuery) {
    Map<String, String> params = new HashMap<>();
    if (rawQuery != null) {
      for (String pair : rawQuery.split("&")) {
        int eq = pair.indexOf('=');
        if (eq > 0) {
          params.put(
              pair.substring(0, eq),
              URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
        }
      }
    }
    return params;
  }

  @Override
  public void close() {
    server.stop(0);
    delayed.shutdownNow();
    handlers.shutdownNow();
  }
}
