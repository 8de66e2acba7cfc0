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
  // Parse errors quote no part of the body: it may echo a secret.
  private static final ObjectMapper JSON =
      com.fasterxml.jackson.databind.json.JsonMapper.builder()
          .disable(com.fasterxml.jackson.core.StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
          .build();
  /** Default {@link #withTimeout}: 30 seconds. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
  /** Default {@link #withMaxPagesPerQuery}: 10,000 pages. */
  public static final int DEFAULT_MAX_PAGES_PER_QUERY = 10_000;
  /** Default {@link #withMaxResponseBytes}: 32 MiB. */
  public static final long DEFAULT_MAX_RESPONSE_BYTES = 32L << 20;
  /** Same-host redirects followed for one request. */
  static final int MAX_REDIRECTS = 5;
  /** Headers the HTTP client sets itself. */
  private static final java.util.Set<String> RESTRICTED_HEADERS =
      java.util.Set.of("connection", "content-length", "expect", "host", "upgrade");

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
  private @Nullable String errorPointer;
  private TimeFormat timeFormat = TimeFormat.ISO_8601;
  private LinkedHashMap<String, String> headers = new LinkedHashMap<>();
  private LinkedHashMap<String, String> secretHeaders = new LinkedHashMap<>();
  private LinkedHashMap<String, String> secretQueryParameters = new LinkedHashMap<>();
  private Duration timeout = DEFAULT_TIMEOUT;
  private int maxPagesPerQuery = DEFAULT_MAX_PAGES_PER_QUERY;
  private long maxResponseBytes = DEFAULT_MAX_RESPONSE_BYTES;

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
    copy.errorPointer = errorPointer;
    copy.timeFormat = timeFormat;
    copy.headers = new LinkedHashMap<>(headers);
    copy.secretHeaders = new LinkedHashMap<>(secretHeaders);
    copy.secretQueryParameters = new LinkedHashMap<>(secretQueryParameters);
    copy.timeout = timeout;
    copy.maxPagesPerQuery = maxPagesPerQuery;
    copy.maxResponseBytes = maxResponseBytes;
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

  /**
   * Where an API reports an error inside a successful answer (Log Analytics' partial results:
   * {@code "error"} beside truncated rows): a page holding anything but null there fails the
   * query, quoting it, instead of passing on what may be part of the records. Default: none.
   */
  public HttpTimeRangeQuery<T> withErrorPointer(String pointer) {
    HttpTimeRangeQuery<T> copy = copy();
    copy.errorPointer = checkPointer("withErrorPointer", pointer);
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

  /**
   * A query parameter holding a secret (an API key), added to every request: never shown in
   * display data, logs or messages (they show {@code name=***}), and, like secret headers, sent
   * only to the URL template's scheme, host and port. Allowed: a plain parameter name.
   */
  public HttpTimeRangeQuery<T> withSecretQueryParameter(String name, String value) {
    checkArgument(
        name != null && name.matches("[A-Za-z0-9_.~-]+"),
        "withSecretQueryParameter: name must be a plain query parameter name, was %s",
        name);
    checkArgument(value != null, "withSecretQueryParameter(%s): value must not be null", name);
    HttpTimeRangeQuery<T> copy = copy();
    copy.secretQueryParameters.put(name, value);
    return copy;
  }

  /**
   * The most pages one query may follow; more fail the query (a next-page token or link that
   * never ends is a broken API, not data). A token or link that repeats an earlier one of the same
   * query fails it at once. Default {@value #DEFAULT_MAX_PAGES_PER_QUERY}; allowed: 1 or more.
   */
  public HttpTimeRangeQuery<T> withMaxPagesPerQuery(int maxPages) {
    checkArgument(maxPages >= 1, "withMaxPagesPerQuery: must be at least 1, was %s", maxPages);
    HttpTimeRangeQuery<T> copy = copy();
    copy.maxPagesPerQuery = maxPages;
    return copy;
  }

  /**
   * The largest response body read, in bytes; a larger one is dropped unread and the range is
   * treated as too large ({@link ResultTooLargeException}), so the read bisects it. Default
   * {@value #DEFAULT_MAX_RESPONSE_BYTES} (32 MiB); allowed: 1 or more.
   */
  public HttpTimeRangeQuery<T> withMaxResponseBytes(long maxBytes) {
    checkArgument(maxBytes >= 1, "withMaxResponseBytes: must be at least 1, was %s", maxBytes);
    HttpTimeRangeQuery<T> copy = copy();
    copy.maxResponseBytes = maxBytes;
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
    checkArgument(
        !RESTRICTED_HEADERS.contains(name.toLowerCase(java.util.Locale.ROOT)),
        "%s: \"%s\" is set by the HTTP client itself; allowed are other headers (not %s)",
        option,
        name,
        RESTRICTED_HEADERS);
    checkArgument(value != null, "%s(%s): value must not be null", option, name);
  }

  @Override
  public void open() {
    if (client == null) {
      // Redirects are followed here, not by the client, which would send every header to
      // whatever host a redirect names.
      client =
          HttpClient.newBuilder()
              .connectTimeout(timeout)
              .followRedirects(HttpClient.Redirect.NEVER)
              .build();
    }
  }

  @Override
  public void close() throws Exception {
    HttpClient closing = client;
    client = null;
    // HttpClient is AutoCloseable from JDK 21 on; before, dropping it frees it.
    if (closing instanceof AutoCloseable) {
      ((AutoCloseable) closing).close();
    }
  }

  @Override
  public List<T> query(TimeRange range) throws Exception {
    return query(range, Long.MAX_VALUE);
  }

  /** Stops following pages once {@code limit} rows are in: the read drops such an answer anyway. */
  @Override
  public List<T> query(TimeRange range, long limit) throws Exception {
    String from = format(range.fromMicros());
    String to = format(range.toMicros());
    try {
      return queryPages(range, from, to, limit);
    } catch (IllegalArgumentException e) {
      // java.net.URI and the JDK client quote a URL they refuse whole, secrets included, in
      // their message and cause: the message is scrubbed and the cause left out.
      throw new IOException(
          "HTTP " + method + " for " + range + ": " + scrub(String.valueOf(e.getMessage())));
    }
  }

  private List<T> queryPages(TimeRange range, String from, String to, long limit)
      throws Exception {
    open();
    URI uri = URI.create(fill(urlTemplate, urlEncode(from), urlEncode(to)));
    String body = bodyTemplate == null ? null : fill(bodyTemplate, from, to);
    QueryResult<T> records = new QueryResult<>();
    java.util.Set<String> pagesSeen = new java.util.HashSet<>();
    pagesSeen.add(uri.toString());
    for (int pages = 1; uri != null; pages++) {
      if (pages > maxPagesPerQuery) {
        throw new IOException(
            "HTTP " + method + " " + describe(uri) + ": the query for " + range
                + " has more than withMaxPagesPerQuery(" + maxPagesPerQuery + ") pages; raise it"
                + " if the API really pages that much, else its paging never ends");
      }
      QueryResult<T> pageRecords = new QueryResult<>();
      JsonNode page = fetch(uri, body, element -> mapInto(pageRecords, element));
      if (page == null) {
        return records;
      }
      if (errorPointer != null) {
        JsonNode error = page.at(errorPointer);
        if (!error.isMissingNode() && !error.isNull()) {
          throw new IOException(
              "HTTP " + method + " " + describe(uri) + ": the page reports an error at "
                  + errorPointer + ": " + excerpt(error.toString()));
        }
      }
      JsonNode array = page.at(recordsPointer);
      if (!array.isArray()) {
        throw new IOException(
            "HTTP " + method + " " + describe(uri) + ": no JSON array at records pointer \""
                + recordsPointer + "\" (found "
                + (array.isMissingNode() ? "nothing" : array.getNodeType())
                + "), so this is not a page of records: " + excerpt(page.toString()));
      }
      records.addAll(pageRecords);
      for (QueryResult.Unmappable row : pageRecords.unmappable()) {
        records.addUnmappable(row.row, row.error);
      }
      if (records.rows() >= limit) {
        return records;
      }
      URI next = nextPage(page, uri);
      if (next != null && !pagesSeen.add(next.toString())) {
        throw new IOException(
            "HTTP " + method + " " + describe(uri) + ": the next page ("
                + (nextLinkPointer != null ? "link at " + nextLinkPointer : "token at " + nextTokenPointer)
                + ") repeats an earlier page of this query, " + describe(next)
                + "; following it would never end");
      }
      uri = next;
    }
    return records;
  }

  private void mapInto(QueryResult<T> records, JsonNode element) {
    try {
      records.add(mapper.map(element));
    } catch (Exception e) {
      // The element goes to the read's bad-record handler, or fails the bundle without one.
      records.addUnmappable(element.toString(), e);
    }
  }

  private @Nullable URI nextPage(JsonNode page, URI current) throws IOException {
    if (nextLinkPointer != null) {
      String link = pointerText(page, nextLinkPointer, "next-page link");
      if (link == null) {
        return null;
      }
      URI next = current.resolve(link);
      if (!sameOrigin(next)) {
        throw new IOException(
            "HTTP " + method + " " + describe(current) + ": the next-page link at "
                + nextLinkPointer + " leads to " + next.getScheme() + "://" + next.getHost()
                + (next.getPort() < 0 ? "" : ":" + next.getPort())
                + ", not to the URL template's " + origin(templateUri())
                + "; secrets are sent only there, so it is not followed");
      }
      return next;
    }
    if (nextTokenPointer != null) {
      String token = pointerText(page, nextTokenPointer, "next-page token");
      if (token == null) {
        return null;
      }
      String base =
          current
              .toString()
              .replaceAll("([?&])" + java.util.regex.Pattern.quote(nextTokenParameter) + "=[^&]*&?", "$1");
      base = base.endsWith("?") || base.endsWith("&") ? base : base + (base.contains("?") ? "&" : "?");
      return URI.create(base + nextTokenParameter + "=" + urlEncode(token));
    }
    return null;
  }

  /**
   * The text at {@code pointer}: null when absent, null or empty (no more pages); a string or a
   * number as text; anything else is an error naming the pointer, never "no more pages".
   */
  private static @Nullable String pointerText(JsonNode page, String pointer, String what)
      throws IOException {
    JsonNode node = page.at(pointer);
    if (node.isMissingNode() || node.isNull()) {
      return null;
    }
    if (!node.isTextual() && !node.isNumber()) {
      throw new IOException(
          "the " + what + " at " + pointer + " is " + node.getNodeType()
              + "; expected a string, a number, null or nothing");
    }
    String text = node.asText();
    return text.isEmpty() ? null : text;
  }

  private URI templateUri() {
    return URI.create(fill(urlTemplate, "0", "0"));
  }

  private boolean sameOrigin(URI uri) {
    return origin(uri).equals(origin(templateUri()));
  }

  private static String origin(URI uri) {
    int port = uri.getPort();
    if (port < 0) {
      port = "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
    }
    return String.valueOf(uri.getScheme()).toLowerCase(java.util.Locale.ROOT) + "://"
        + String.valueOf(uri.getHost()).toLowerCase(java.util.Locale.ROOT) + ":" + port;
  }

  /** {@code uri} with the secret query parameters, replacing any the server echoed. */
  private URI withSecrets(URI uri) {
    if (secretQueryParameters.isEmpty()) {
      return uri;
    }
    String base = uri.toString();
    int fragment = base.indexOf('#');
    if (fragment >= 0) {
      base = base.substring(0, fragment); // never sent; the parameters must not land after it
    }
    for (String name : secretQueryParameters.keySet()) {
      base = base.replaceAll("([?&])" + java.util.regex.Pattern.quote(name) + "=[^&]*&?", "$1");
    }
    StringBuilder url = new StringBuilder(base);
    for (java.util.Map.Entry<String, String> p : secretQueryParameters.entrySet()) {
      char last = url.charAt(url.length() - 1);
      if (last != '?' && last != '&') {
        url.append(url.indexOf("?") >= 0 ? '&' : '?');
      }
      url.append(p.getKey()).append('=').append(urlEncode(p.getValue()));
    }
    return URI.create(url.toString());
  }

  /** The page, or null for 204 No Content. */
  private @Nullable JsonNode fetch(
      URI uri, @Nullable String body, java.util.function.Consumer<JsonNode> onRecord)
      throws Exception {
    String requestMethod = method;
    String requestBody = body;
    URI target = uri;
    for (int redirects = 0; ; redirects++) {
      HttpResponse<byte[]> response = send(target, requestMethod, requestBody);
      int status = response.statusCode();
      if (status == 301 || status == 302 || status == 303 || status == 307 || status == 308) {
        String location = response.headers().firstValue("Location").orElse(null);
        if (location == null || redirects >= MAX_REDIRECTS) {
          throw new IOException(
              "HTTP " + status + " from " + requestMethod + " " + describe(target) + ": "
                  + (location == null ? "a redirect without a Location" : "more than "
                      + MAX_REDIRECTS + " redirects"));
        }
        URI next = target.resolve(location);
        if (!sameOrigin(next)) {
          throw new IOException(
              "HTTP " + status + " from " + requestMethod + " " + describe(target)
                  + ": redirected to " + next.getScheme() + "://" + next.getHost()
                  + ", not the URL template's " + origin(templateUri())
                  + "; secrets are sent only there, so the redirect is not followed");
        }
        if (status == 303 || (status != 307 && status != 308 && !"GET".equals(requestMethod))) {
          requestMethod = "GET";
          requestBody = null;
        }
        target = next;
        continue;
      }
      return parse(target, requestMethod, response, onRecord);
    }
  }

  private HttpResponse<byte[]> send(URI uri, String requestMethod, @Nullable String body)
      throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(withSecrets(uri)).timeout(timeout);
    headers.forEach(request::header);
    secretHeaders.forEach(request::header);
    request.method(
        requestMethod,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    CompletableFuture<HttpResponse<byte[]>> call =
        client.sendAsync(request.build(), info -> new CappedBody(maxResponseBytes));
    try {
      // The client's own timeout ends at the headers; this one also bounds a dripping body.
      return call.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      call.cancel(true);
      throw new TransientSourceException(
          "HTTP " + requestMethod + " " + describe(uri) + ": no complete response within " + timeout,
          e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof CappedBody.TooLarge) {
        throw new ResultTooLargeException(
            "HTTP " + requestMethod + " " + describe(uri) + ": the response is larger than"
                + " withMaxResponseBytes(" + maxResponseBytes + ")");
      }
      if (cause instanceof javax.net.ssl.SSLException && !droppedConnection(cause)) {
        // A certificate or protocol mismatch does not pass on a retry.
        throw new IOException(
            "HTTP " + requestMethod + " " + describe(uri) + ": TLS failed: " + scrub(String.valueOf(cause.getMessage())),
            cause);
      }
      // Timeouts, refused and reset connections, bodies cut short: the next attempt may pass.
      throw new TransientSourceException(
          "HTTP " + requestMethod + " " + describe(uri) + " failed: " + scrub(String.valueOf(cause)), cause);
    }
  }

  /** The page, or null for 204 No Content. */
  /** A handshake the other side hung up on (a load balancer) may pass on a retry. */
  private static boolean droppedConnection(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof java.io.EOFException || t instanceof java.net.SocketException) {
        return true;
      }
    }
    return String.valueOf(error.getMessage()).contains("terminated the handshake");
  }

  private @Nullable JsonNode parse(
      URI uri,
      String requestMethod,
      HttpResponse<byte[]> response,
      java.util.function.Consumer<JsonNode> onRecord)
      throws Exception {
    int status = response.statusCode();
    String where = requestMethod + " " + describe(uri);
    if (status == 408 || status == 429 || (status >= 500 && status <= 504) || (status >= 520 && status <= 527)) {
      throw new TransientSourceException(
          "HTTP " + status + " from " + where + ": " + excerpt(response.body()),
          null,
          retryAfter(response));
    }
    if (status == 413) {
      throw new ResultTooLargeException("HTTP 413 from " + where + ": " + excerpt(response.body()));
    }
    if (status < 200 || status >= 300) {
      throw new IOException("HTTP " + status + " from " + where + ": " + excerpt(response.body()));
    }
    if (status == 204) {
      return null; // "No content": no records, no next page.
    }
    if (response.body().length == 0) {
      throw new IOException(
          "HTTP " + status + " from " + where + ": an empty body; expected JSON with the records"
              + " (answer 204 for a range without records)");
    }
    try {
      return readPage(response.body(), onRecord);
    } catch (IOException e) {
      if (!(e instanceof com.fasterxml.jackson.core.JsonProcessingException)) {
        throw new IOException("HTTP " + where + ": " + scrub(String.valueOf(e.getMessage())));
      }
      if (e instanceof com.fasterxml.jackson.core.io.JsonEOFException
          || String.valueOf(e.getMessage()).contains("end-of-input")) {
        // A body cut short by a dropped connection: the next attempt may pass.
        throw new TransientSourceException(
            "HTTP " + where + ": the response ends before its JSON does (cut short)", null);
      }
      // HTML (a login page), or any other body that is not JSON, won't become JSON on a retry.
      throw new IOException(
          "HTTP " + where + ": the response is not JSON: " + excerpt(response.body()));
    }
  }

  /**
   * The page as a tree, except the records array, whose elements are handed to {@code onRecord}
   * one at a time as they are parsed (the tree holds an empty array in its place): a page never
   * exists twice in memory, as bytes and as a tree of every record.
   */
  private JsonNode readPage(byte[] body, java.util.function.Consumer<JsonNode> onRecord)
      throws IOException {
    try (com.fasterxml.jackson.core.JsonParser parser = JSON.getFactory().createParser(body)) {
      if (parser.nextToken() == null) {
        throw new com.fasterxml.jackson.core.io.JsonEOFException(parser, null, "an empty body");
      }
      if (!streamsRecords()) {
        // A next-page pointer inside the records array needs the array in the tree.
        JsonNode page = JSON.readTree(parser);
        JsonNode records = page.at(recordsPointer);
        if (records.isArray()) {
          records.forEach(onRecord);
        }
        return page;
      }
      int[] arrays = new int[1];
      JsonNode page = readNode(parser, "", onRecord, arrays);
      if (parser.nextToken() != null) {
        throw new IOException("content after the JSON value");
      }
      return page;
    }
  }

  /** Whether the records array can be streamed: no next-page pointer lies inside it. */
  private boolean streamsRecords() {
    for (String pointer : new String[] {nextTokenPointer, nextLinkPointer, errorPointer}) {
      if (pointer != null && (recordsPointer.isEmpty() || pointer.startsWith(recordsPointer + "/"))) {
        return false;
      }
    }
    return true;
  }

  /**
   * The node at the parser, {@code at} its JSON pointer (escaped as RFC 6901 says, so it compares
   * with the configured one as text).
   */
  private JsonNode readNode(
      com.fasterxml.jackson.core.JsonParser parser,
      String at,
      java.util.function.Consumer<JsonNode> onRecord,
      int[] arrays)
      throws IOException {
    com.fasterxml.jackson.core.JsonToken token = parser.currentToken();
    if (token == com.fasterxml.jackson.core.JsonToken.START_ARRAY && at.equals(recordsPointer)) {
      if (++arrays[0] > 1) {
        // Duplicate member names: which array is the records is anyone's guess.
        throw new IOException("the records pointer " + recordsPointer + " matches two arrays");
      }
      while (parser.nextToken() != com.fasterxml.jackson.core.JsonToken.END_ARRAY) {
        if (parser.currentToken() == null) {
          throw new com.fasterxml.jackson.core.io.JsonEOFException(parser, null, "in the records");
        }
        onRecord.accept(JSON.readTree(parser));
      }
      return JSON.createArrayNode();
    }
    if (token == com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
      com.fasterxml.jackson.databind.node.ObjectNode object = JSON.createObjectNode();
      while (parser.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
        String name = parser.getCurrentName();
        parser.nextToken();
        object.set(
            name,
            readNode(parser, at + "/" + name.replace("~", "~0").replace("/", "~1"), onRecord, arrays));
      }
      if (parser.currentToken() == null) {
        throw new com.fasterxml.jackson.core.io.JsonEOFException(parser, null, "in an object");
      }
      return object;
    }
    if (token == com.fasterxml.jackson.core.JsonToken.START_ARRAY) {
      com.fasterxml.jackson.databind.node.ArrayNode array = JSON.createArrayNode();
      for (int i = 0; parser.nextToken() != com.fasterxml.jackson.core.JsonToken.END_ARRAY; i++) {
        if (parser.currentToken() == null) {
          throw new com.fasterxml.jackson.core.io.JsonEOFException(parser, null, "in an array");
        }
        array.add(readNode(parser, at + "/" + i, onRecord, arrays));
      }
      return array;
    }
    return JSON.readTree(parser);
  }

  /** A response body read whole up to a size; a larger one ends the call with {@link TooLarge}. */
  private static final class CappedBody implements HttpResponse.BodySubscriber<byte[]> {
    static final class TooLarge extends IOException {
      private static final long serialVersionUID = 1L;
    }

    private final long max;
    private final java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    private final CompletableFuture<byte[]> result = new CompletableFuture<>();
    private java.util.concurrent.Flow.@Nullable Subscription subscription;

    CappedBody(long max) {
      this.max = max;
    }

    @Override
    public java.util.concurrent.CompletionStage<byte[]> getBody() {
      return result;
    }

    @Override
    public void onSubscribe(java.util.concurrent.Flow.Subscription s) {
      subscription = s;
      s.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(List<java.nio.ByteBuffer> items) {
      for (java.nio.ByteBuffer item : items) {
        if (bytes.size() + (long) item.remaining() > max) {
          subscription.cancel();
          result.completeExceptionally(new TooLarge());
          return;
        }
        byte[] chunk = new byte[item.remaining()];
        item.get(chunk);
        bytes.write(chunk, 0, chunk.length);
      }
    }

    @Override
    public void onError(Throwable error) {
      result.completeExceptionally(error);
    }

    @Override
    public void onComplete() {
      result.complete(bytes.toByteArray());
    }
  }

  private static @Nullable Duration retryAfter(HttpResponse<?> response) {
    String value = response.headers().firstValue("Retry-After").orElse(null);
    if (value == null) {
      return null;
    }
    String v = value.trim();
    if (v.matches("[0-9]+")) {
      // Any number of seconds, however large: the read compares it with its retry budget.
      return v.length() > 15 ? Duration.ofSeconds(999_999_999_999_999L) : Duration.ofSeconds(Long.parseLong(v));
    }
    try {
      Instant at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
      Duration wait = Duration.between(Instant.now(), at);
      return wait.isNegative() ? Duration.ZERO : wait;
    } catch (DateTimeParseException notADate) {
      return null;
    }
  }

  /** {@code text} with every secret value (headers, tokens in them, query parameters) as ***. */
  private String scrub(String text) {
    String scrubbed = text;
    for (String secret : secrets()) {
      scrubbed = scrubbed.replace(secret, "***");
    }
    return scrubbed;
  }

  private List<String> secrets() {
    List<String> secrets = new java.util.ArrayList<>();
    for (String value : secretHeaders.values()) {
      secrets.add(value);
      // "Bearer abc…": the token alone may be echoed too; the scheme word is not a secret.
      String[] parts = value.trim().split("\\s+");
      if (parts.length > 1 && parts[parts.length - 1].length() >= 4) {
        secrets.add(parts[parts.length - 1]);
      }
    }
    secrets.addAll(secretQueryParameters.values());
    List<String> variants = new java.util.ArrayList<>();
    for (String secret : secrets) {
      variants.add(secret);
      String encoded = urlEncode(secret);
      variants.add(encoded);
      // %2f and %2F, and / left raw; JSON's optional \/ escape.
      variants.add(lowerPercentHex(encoded));
      variants.add(encoded.replace("%2F", "/"));
      variants.add(lowerPercentHex(encoded.replace("%2F", "/")));
      variants.add(secret.replace("/", "\\/"));
    }
    variants.removeIf(String::isEmpty);
    // Longest first, so a token inside a header value is not left half-replaced.
    variants.sort((a, b) -> b.length() - a.length());
    return variants;
  }

  private static String lowerPercentHex(String encoded) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("%[0-9A-F]{2}").matcher(encoded);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      m.appendReplacement(out, m.group().toLowerCase(java.util.Locale.ROOT));
    }
    return m.appendTail(out).toString();
  }

  /** A URL for messages: the secret query parameters' values never appear. */
  private String describe(URI uri) {
    return scrub(uri.toString());
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

  private String excerpt(byte[] body) {
    return excerpt(body == null ? "" : new String(body, StandardCharsets.UTF_8));
  }

  /** The start of a response body for a message, on one line, with every secret scrubbed. */
  private String excerpt(String body) {
    String oneLine = scrub(body == null ? "" : body).replaceAll("\\s+", " ").trim();
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
        + (secretQueryParameters.isEmpty()
            ? ""
            : ", secret query parameters " + secretQueryParameters.keySet())
        + "}";
  }
}
