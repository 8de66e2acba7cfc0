package dev.timerangeio.splunk;

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
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;

/**
 * Splunk's search export endpoint on 127.0.0.1 over a list of events (event time, index time in
 * whole seconds): it applies the form's time bounds with both ends inclusive (so the connector's
 * own half-open filter is what makes chunks exact), writes {@code _time} in the requested format
 * (microseconds) or Splunk's default (milliseconds), and streams line-delimited JSON with
 * keep-alive lines, a preview result and INFO messages first.
 */
final class SplunkTestService implements AutoCloseable {
  static final String TOKEN = "spl-t0ken/with+chars";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final DateTimeFormatter MICROS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSSxxx").withZone(ZoneOffset.ofHours(-5));

  private final HttpServer server;
  final List<Instant> times;
  final List<Long> indexTimes;
  final List<Map<String, String>> forms = new CopyOnWriteArrayList<>();
  final List<String> authorizations = new CopyOnWriteArrayList<>();
  /** An ERROR message to send in the middle of the stream, if set. */
  volatile String errorMessage = null;
  /** Leave out the last row's lastrow (a stream cut short). */
  volatile boolean cutShort = false;

  SplunkTestService(List<Instant> times, List<Long> indexTimes) throws IOException {
    this.times = new ArrayList<>(times);
    this.indexTimes = new ArrayList<>(indexTimes);
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.setExecutor(Executors.newFixedThreadPool(4));
    server.createContext("/services/search/v2/jobs/export", this::export);
    server.start();
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  SplunkSearchQuery query(String spl) {
    return SplunkSearchQuery.forSearch(url(), spl).withToken(TOKEN);
  }

  private void export(HttpExchange exchange) throws IOException {
    authorizations.add(exchange.getRequestHeaders().getFirst("Authorization"));
    Map<String, String> form = new HashMap<>();
    for (String pair :
        new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8).split("&")) {
      String[] kv = pair.split("=", 2);
      form.put(kv[0], URLDecoder.decode(kv.length > 1 ? kv[1] : "", StandardCharsets.UTF_8));
    }
    forms.add(form);
    if (!("Splunk " + TOKEN).equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
      byte[] body =
          "{\"messages\":[{\"type\":\"WARN\",\"text\":\"call not properly authenticated\"}]}"
              .getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(401, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
      return;
    }
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(200, 0);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write("\n\n".getBytes(StandardCharsets.UTF_8));
      out.write(
          "{\"messages\":[{\"type\":\"INFO\",\"text\":\"Your timerange was substituted\"}]}\n"
              .getBytes(StandardCharsets.UTF_8));
      List<Integer> matches = matches(form);
      if (form.get("search").contains("| stats min(")) {
        String field = form.get("search").contains("min(_indextime)") ? "_indextime" : "_time";
        BigDecimal min = null;
        for (int i : matches) {
          BigDecimal v =
              field.equals("_time")
                  ? new BigDecimal(times.get(i).getEpochSecond()).add(BigDecimal.valueOf(times.get(i).getNano(), 9))
                  : BigDecimal.valueOf(indexTimes.get(i));
          min = min == null || v.compareTo(min) < 0 ? v : min;
        }
        ObjectNode line = JSON.createObjectNode().put("preview", false).put("lastrow", true);
        line.putObject("result").put("earliest", min == null ? "" : min.toPlainString());
        out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        return;
      }
      if (!matches.isEmpty()) {
        // A preview of the first result: not a record.
        ObjectNode preview = JSON.createObjectNode().put("preview", true).put("offset", 0);
        result(preview.putObject("result"), matches.get(0), form);
        out.write((preview + "\n").getBytes(StandardCharsets.UTF_8));
      }
      for (int n = 0; n < matches.size(); n++) {
        if (errorMessage != null && n == matches.size() / 2) {
          out.write(
              ("{\"messages\":[{\"type\":\"ERROR\",\"text\":\"" + errorMessage + "\"}]}\n")
                  .getBytes(StandardCharsets.UTF_8));
        }
        ObjectNode line = JSON.createObjectNode().put("preview", false).put("offset", n);
        if (n == matches.size() - 1 && !cutShort) {
          line.put("lastrow", true);
        }
        result(line.putObject("result"), matches.get(n), form);
        out.write((line + "\n\n").getBytes(StandardCharsets.UTF_8));
      }
    }
  }

  /** Events within the form's bounds, both ends inclusive (the connector filters the ends). */
  private List<Integer> matches(Map<String, String> form) {
    List<Integer> out = new ArrayList<>();
    for (int i = 0; i < times.size(); i++) {
      if (form.containsKey("index_earliest")) {
        long s = indexTimes.get(i);
        if (s >= Long.parseLong(form.get("index_earliest")) && s <= Long.parseLong(form.get("index_latest"))) {
          out.add(i);
        }
      } else if (form.containsKey("earliest_time")) {
        BigDecimal t =
            new BigDecimal(times.get(i).getEpochSecond()).add(BigDecimal.valueOf(times.get(i).getNano(), 9));
        if (t.compareTo(new BigDecimal(form.get("earliest_time"))) >= 0
            && t.compareTo(new BigDecimal(form.get("latest_time"))) <= 0) {
          out.add(i);
        }
      } else {
        out.add(i);
      }
    }
    return out;
  }

  private void result(ObjectNode result, int i, Map<String, String> form) {
    Instant t = times.get(i);
    result.put(
        "_time",
        SplunkSearchQuery.TIME_FORMAT.equals(form.get("output_time_format"))
            ? MICROS.format(t)
            : DateTimeFormatter.ISO_OFFSET_DATE_TIME.format(t.atOffset(ZoneOffset.UTC)));
    result.put("_indextime", String.valueOf(indexTimes.get(i)));
    result.put("_cd", "115:" + i);
    result.put("_raw", "event " + i + " user=u" + (i % 4));
    result.put("host", "host-" + (i % 3));
    result.put("source", "/var/log/auth.log");
    result.put("sourcetype", "linux_secure");
    result.put("index", "security");
    result.put("user", "u" + (i % 4));
    result.putArray("tags").add("a").add("b" + i);
    result.put("id", String.valueOf(i));
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
