package dev.timerangeio;

import static org.apache.beam.vendor.guava.v32_1_2_jre.com.google.common.base.Preconditions.checkArgument;

import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.Serializable;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * A {@link TimeRangeQuery} over an HTTP JSON API that takes a time range: REST APIs with {@code
 * since}/{@code until}, log-analytics query APIs.
 *
 * <pre>{@code
 * HttpTimeRangeQuery<Event> api =
 *     HttpTimeRangeQuery.get("https://api.example.com/events?since={from}&until={to}", Event.class)
 *         .withRecordsPointer("/data")
 *         .withNextPageToken("/next_page_token", "page_token")
 *         .withSecretHeader("Authorization", "Bearer " + token);
 * HttpTimeRangeQuery<Row> logs =
 *     HttpTimeRangeQuery.post(
 *             "https://logs.example.com/v1/query",
 *             "{\"query\": \"Events\", \"timespan\": \"{from}/{to}\"}",
 *             json -> toRow(json))
 *         .withRecordsPointer("/tables/0/rows");
 * }</pre>
 *
 * <p>{@code {from}} and {@code {to}} in the URL and body are replaced by the range's bounds in
 * {@link #withTimeFormat the chosen format} (ISO-8601 at the microsecond by default; URL-encoded in
 * the URL). The API must treat them as a half-open range {@code [from, to)}. The JSON records sit
 * in an array at {@link #withRecordsPointer a JSON pointer}; pages follow a next-page token or
 * link until there is none.
 *
 * <p>Failures: 429, 500, 502, 503 and 504, timeouts, refused, reset or truncated responses are
 * {@link TransientSourceException}s, retried by the read (honouring {@code Retry-After}); 413 is a
 * {@link ResultTooLargeException}, so the read bisects the range; any other status fails the
 * bundle with the status and the start of the body. Secret headers never appear in display data,
 * logs or messages; keep secrets out of the URL.
 *
 * <p>A records-array element the mapper can't map (it throws) goes, as JSON text with the
 * exception, to the read's {@code withBadRecordErrorHandler}; without one the bundle fails with
 * the mapper's exception.
 *
 * <p>One JDK {@link HttpClient} per worker copy, created in {@link #open()}, reuses connections.
 *
 * @param <T> the record type
 */
public final class HttpTimeRangeQuery<T> implements TimeRangeQuery<T> {
  private static final long serialVersionUID = 1L;
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Default {@link #withTimeout}: 30 seconds. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

  /** Builds a record from one JSON element of the records array. */
  @FunctionalInterface
  public interface RecordMapper<T> extends Serializable {
    T map(JsonNode json) throws Exception;
  }

  /** How {@code {from}} and {@code {to}} are written. */
  public enum TimeFormat {
    /** {@code 2024-05-01T00:00:00.000001Z}: ISO-8601 UTC with six fraction digits. */
    ISO_8601,
    /** Microseconds since the epoch. */
    EPOCH_MICROS,
    /** Milliseconds since the epoch; bounds that are not whole milliseconds are rejected. */
    EPOCH_MILLIS,
    /** Seconds since the epoch; bounds that are not whole seconds are rejected. */
    EPOCH_SECONDS
  }

  private static final DateTimeFormatter ISO_MICROS =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSSX").withZone(java.time.ZoneOffset.UTC);

  private final String method;
  private final String urlTemplate;
  private final @Nullable String bodyTemplate;
  private final RecordMapper<T> mapper;
  // Set only on a fresh copy inside a withX method, so an instance never changes once returned.
  private String recordsPointer = "";
  private @Nullable String nextTokenPointer;
  private @Nullable String nextTokenParameter;
  private @Nullable String nextLinkPointer;
  private TimeFormat timeFormat = TimeFormat.ISO_8601;
  private LinkedHashMap<String, String> headers = new LinkedHashMap<>();
  private LinkedHashMap<String, String> secretHeaders = new LinkedHashMap<>();
  private Duration timeout = DEFAULT_TIMEOUT;

  private transient @Nullable HttpClient client;

  private HttpTimeRangeQuery(
      String method, String urlTemplate, @Nullable String bodyTemplate, RecordMapper<T> mapper) {
    this.method = method;
    this.urlTemplate = urlTemplate;
    this.bodyTemplate = bodyTemplate;
    this.mapper = mapper;
  }

  private HttpTimeRangeQuery<T> copy() {
    HttpTimeRangeQuery<T> copy = new HttpTimeRangeQuery<>(method, urlTemplate, bodyTemplate, mapper);
    copy.recordsPointer = recordsPointer;
    copy.nextTokenPointer = nextTokenPointer;
    copy.nextTokenParameter = nextTokenParameter;
    copy.nextLinkPointer = nextLinkPointer;
    copy.timeFormat = timeFormat;
    copy.headers = new LinkedHashMap<>(headers);
    copy.secretHeaders = new LinkedHashMap<>(secretHeaders);
    copy.timeout = timeout;
    return copy;
  }

  /** GET {@code urlTemplate}; each element of the records array bound to {@code type} by Jackson. */
  public static <T> HttpTimeRangeQuery<T> get(String urlTemplate, Class<T> type) {
    checkArgument(type != null, "get: type must not be null");
    return get(urlTemplate, json -> JSON.treeToValue(json, type));
  }

  /** GET {@code urlTemplate}; each element of the records array mapped by {@code mapper}. */
  public static <T> HttpTimeRangeQuery<T> get(String urlTemplate, RecordMapper<T> mapper) {
    checkTemplate(urlTemplate, null);
    checkArgument(mapper != null, "get: mapper must not be null");
    return new HttpTimeRangeQuery<>("GET", urlTemplate, null, mapper);
  }

  /**
   * POST {@code bodyTemplate} (JSON, with {@code {from}} and {@code {to}}) to {@code url}, as a
   * Log-Analytics-style query API takes it.
   */
  public static <T> HttpTimeRangeQuery<T> post(
      String url, String bodyTemplate, RecordMapper<T> mapper) {
    checkTemplate(url, bodyTemplate);
    checkArgument(mapper != null, "post: mapper must not be null");
    return new HttpTimeRangeQuery<>("POST", url, bodyTemplate, mapper)
        .withHeader("Content-Type", "application/json");
  }

  private static void checkTemplate(String url, @Nullable String body) {
    checkArgument(
        url != null && (url.startsWith("http://") || url.startsWith("https://")),
        "url must start with http:// or https://, was %s",
        url);
    String both = url + (body == null ? "" : body);
    checkArgument(
        both.contains("{from}") && both.contains("{to}"),
        "the URL%s must contain both {from} and {to}, was %s",
        body == null ? "" : " or body",
        body == null ? url : url + " with body " + body);
    try {
      URI.create(url.replace("{from}", "0").replace("{to}", "0"));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("url is not a valid URI: " + url, e);
    }
  }

  /** Where the records array is, as a JSON pointer ({@code /data/items}). Default: the root. */
  public HttpTimeRangeQuery<T> withRecordsPointer(String pointer) {
    HttpTimeRangeQuery<T> copy = copy();
    copy.recordsPointer = checkPointer("withRecordsPointer", pointer);
    return copy;
  }

  /**
   * Pages by token: the token is read at {@code tokenPointer} of each response and sent as the
   * query parameter {@code parameter} of the next request, until it is missing, null or empty.
   */
  public HttpTimeRangeQuery<T> withNextPageToken(String tokenPointer, String parameter) {
    checkArgument(
        parameter != null && parameter.matches("[A-Za-z0-9_.~-]+"),
        "withNextPageToken: parameter must be a plain query parameter name, was %s",
        parameter);
    HttpTimeRangeQuery<T> copy = copy();
    copy.nextTokenPointer = checkPointer("withNextPageToken", tokenPointer);
    copy.nextTokenParameter = parameter;
    return copy;
  }

  /** Pages by link: the next page's URL (absolute or relative) is at {@code pointer}. */
  public HttpTimeRangeQuery<T> withNextLinkPointer(String pointer) {
    HttpTimeRangeQuery<T> copy = copy();
    copy.nextLinkPointer = checkPointer("withNextLinkPointer", pointer);
    return copy;
  }

  /** How {@code {from}} and {@code {to}} are written. Default {@link TimeFormat#ISO_8601}. */
  public HttpTimeRangeQuery<T> withTimeFormat(TimeFormat format) {
    checkArgument(format != null, "withTimeFormat: format must not be null");
    HttpTimeRangeQuery<T> copy = copy();
    copy.timeFormat = format;
    return copy;
  }

  /** A request header, shown in display data and messages. */
  public HttpTimeRangeQuery<T> withHeader(String name, String value) {
    checkHeader("withHeader", name, value);
    HttpTimeRangeQuery<T> copy = copy();
    copy.headers.put(name, value);
    return copy;
  }

  /** A request header holding a secret (a token): never shown in display data, logs or messages. */
  public HttpTimeRangeQuery<T> withSecretHeader(String name, String value) {
    checkHeader("withSecretHeader", name, value);
    HttpTimeRangeQuery<T> copy = copy();
    copy.secretHeaders.put(name, value);
    return copy;
  }

  /** The longest one request may take, response body included. Default {@link #DEFAULT_TIMEOUT}; allowed: ≥ 1 ms. */
  public HttpTimeRangeQuery<T> withTimeout(Duration timeout) {
    checkArgument(
        timeout != null && timeout.toMillis() >= 1, "withTimeout: must be at least 1 ms, was %s", timeout);
    HttpTimeRangeQuery<T> copy = copy();
    copy.timeout = timeout;
    return copy;
  }

  private static String checkPointer(String option, String pointer) {
    try {
      JsonPointer.compile(pointer);
    } catch (IllegalArgumentException | NullPointerException e) {
      throw new IllegalArgumentException(
          option + ": \"" + pointer + "\" is not a JSON pointer (\"\" or \"/a/0/b\")", e);
    }
    return pointer;
  }

  private static void checkHeader(String option, String name, String value) {
    checkArgument(
        name != null && name.matches("[A-Za-z0-9!#$%&'*+.^_`|~-]+"),
        "%s: \"%s\" is not a valid header name",
        option,
        name);
    checkArgument(value != null, "%s(%s): value must not be null", option, name);
  }

  @Override
  public void open() {
    if (client == null) {
      client =
          HttpClient.newBuilder()
              .connectTimeout(timeout)
              .followRedirects(HttpClient.Redirect.NORMAL)
              .build();
    }
  }

  @Override
  public void close() {
    client = null;
  }

  @Override
  public List<T> query(TimeRange range) throws Exception {
    open();
    String from = format(range.fromMicros());
    String to = format(range.toMicros());
    URI uri = URI.create(fill(urlTemplate, urlEncode(from), urlEncode(to)));
    String body = bodyTemplate == null ? null : fill(bodyTemplate, from, to);
    QueryResult<T> records = new QueryResult<>();
    while (uri != null) {
      JsonNode page = fetch(uri, body);
      JsonNode array = page.at(recordsPointer);
      if (!array.isArray()) {
        throw new IOException(
            "HTTP "
                + method
                + " "
                + uri
                + ": no JSON array at records pointer \""
                + recordsPointer
                + "\" (found "
                + (array.isMissingNode() ? "nothing" : array.getNodeType())
                + ")");
      }
      for (JsonNode element : array) {
        try {
          records.add(mapper.map(element));
        } catch (Exception e) {
          // The element goes to the read's bad-record handler, or fails the bundle without one.
          records.addUnmappable(element.toString(), e);
        }
      }
      uri = nextPage(page, uri);
    }
    return records;
  }

  private @Nullable URI nextPage(JsonNode page, URI current) {
    if (nextLinkPointer != null) {
      JsonNode link = page.at(nextLinkPointer);
      return link.isTextual() && !link.asText().isEmpty() ? current.resolve(link.asText()) : null;
    }
    if (nextTokenPointer != null) {
      JsonNode token = page.at(nextTokenPointer);
      if (token.isMissingNode() || token.isNull() || token.asText().isEmpty()) {
        return null;
      }
      String base = current.toString().replaceAll("([?&])" + nextTokenParameter + "=[^&]*&?", "$1");
      base = base.endsWith("?") || base.endsWith("&") ? base : base + (base.contains("?") ? "&" : "?");
      return URI.create(base + nextTokenParameter + "=" + urlEncode(token.asText()));
    }
    return null;
  }

  private JsonNode fetch(URI uri, @Nullable String body) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(timeout);
    headers.forEach(request::header);
    secretHeaders.forEach(request::header);
    request.method(
        method,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    HttpResponse<String> response;
    CompletableFuture<HttpResponse<String>> call =
        client.sendAsync(request.build(), HttpResponse.BodyHandlers.ofString());
    try {
      // The client's own timeout ends at the headers; this one also bounds a dripping body.
      response = call.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      call.cancel(true);
      throw new TransientSourceException(
          "HTTP " + method + " " + uri + ": no complete response within " + timeout, e);
    } catch (ExecutionException e) {
      // Timeouts, refused and reset connections, bodies cut short: the next attempt may pass.
      throw new TransientSourceException(
          "HTTP " + method + " " + uri + " failed: " + e.getCause(), e.getCause());
    }
    int status = response.statusCode();
    if (status == 429 || status == 500 || status == 502 || status == 503 || status == 504) {
      throw new TransientSourceException(
          "HTTP " + status + " from " + method + " " + uri + ": " + excerpt(response.body()),
          null,
          retryAfter(response));
    }
    if (status == 413) {
      throw new ResultTooLargeException(
          "HTTP 413 from " + method + " " + uri + ": " + excerpt(response.body()));
    }
    if (status < 200 || status >= 300) {
      throw new IOException(
          "HTTP " + status + " from " + method + " " + uri + ": " + excerpt(response.body()));
    }
    try {
      return JSON.readTree(response.body());
    } catch (IOException e) {
      // A 200 with a body cut short by a dropped connection reads as broken JSON.
      throw new TransientSourceException(
          "HTTP " + method + " " + uri + ": the response is not valid JSON (" + e.getMessage()
              + "), e.g. cut short",
          e);
    }
  }

  private static @Nullable Duration retryAfter(HttpResponse<?> response) {
    String value = response.headers().firstValue("Retry-After").orElse(null);
    if (value == null) {
      return null;
    }
    try {
      return Duration.ofSeconds(Long.parseLong(value.trim()));
    } catch (NumberFormatException notSeconds) {
      try {
        Instant at = ZonedDateTime.parse(value.trim(), DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
        Duration wait = Duration.between(Instant.now(), at);
        return wait.isNegative() ? Duration.ZERO : wait;
      } catch (DateTimeParseException notADate) {
        return null;
      }
    }
  }

  private String format(long micros) {
    switch (timeFormat) {
      case EPOCH_MICROS:
        return Long.toString(micros);
      case EPOCH_MILLIS:
        checkArgument(
            micros % 1_000 == 0,
            "withTimeFormat(EPOCH_MILLIS): the bound %s is not a whole millisecond; use a"
                + " partition duration and start time in whole milliseconds",
            Times.describe(micros));
        return Long.toString(micros / 1_000);
      case EPOCH_SECONDS:
        checkArgument(
            micros % 1_000_000 == 0,
            "withTimeFormat(EPOCH_SECONDS): the bound %s is not a whole second; use a partition"
                + " duration and start time in whole seconds",
            Times.describe(micros));
        return Long.toString(micros / 1_000_000);
      default:
        return ISO_MICROS.format(Times.toInstant(micros));
    }
  }

  private static String fill(String template, String from, String to) {
    return template.replace("{from}", from).replace("{to}", to);
  }

  private static String urlEncode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  private static String excerpt(String body) {
    String oneLine = body == null ? "" : body.replaceAll("\\s+", " ").trim();
    return oneLine.length() <= 300 ? oneLine : oneLine.substring(0, 300) + "…";
  }

  @Override
  public String toString() {
    // Secret headers are named, never shown.
    return "HttpTimeRangeQuery{"
        + method
        + " "
        + urlTemplate
        + (bodyTemplate == null ? "" : " body " + bodyTemplate)
        + ", records at \""
        + recordsPointer
        + "\", "
        + timeFormat
        + ", headers "
        + headers
        + (secretHeaders.isEmpty() ? "" : ", secret headers " + secretHeaders.keySet())
        + "}";
  }
}
