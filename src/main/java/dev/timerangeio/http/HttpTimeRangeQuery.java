package dev.timerangeio.http;

import static dev.timerangeio.Checks.checkArgument;

import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.databind.JsonNode;
import com.google.auto.value.AutoValue;
import dev.timerangeio.LineageName;
import dev.timerangeio.ResultQuery;
import dev.timerangeio.ResultTooLargeException;
import dev.timerangeio.Secrets;
import dev.timerangeio.TimeRange;
import dev.timerangeio.TimeRangeQuery;
import dev.timerangeio.TransientSourceException;
import java.io.IOException;
import java.io.Serializable;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.transforms.display.HasDisplayData;
import org.apache.beam.sdk.util.Secret;
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
 * <p>Answers: 200 is a page of records, 204 a page without any. Failures: 202 (an asynchronous
 * API still working), 408, 429, 500, 502–504 and 520–527 (not 501, Not Implemented, which no
 * retry mends), timeouts, refused, reset or truncated
 * responses are {@link TransientSourceException}s, retried by the read (honouring {@code
 * Retry-After}); 413, a query reading more than {@link #withMaxBytesPerQuery} or paging longer
 * than {@link #withMaxQueryDuration} are a {@link ResultTooLargeException}, so the read bisects the
 * range; any other status (other 2xx included) fails the bundle with the status and the start of
 * the body, as does a page with content after its JSON value or a member the connector reads
 * given twice. Next-page links and redirects are resolved as RFC 3986 says. Secret headers never
 * appear in display data, logs or messages; keep secrets out of the URL.
 *
 * <p>A records-array element the mapper can't map (it throws) goes, as JSON text with the
 * exception, to the read's {@code withBadRecordErrorHandler}; without one the bundle fails with
 * the mapper's exception.
 *
 * <p>One JDK {@link HttpClient} per worker copy, created in {@link #open()}, reuses connections.
 *
 * @param <T> the record type
 */
@AutoValue
public abstract class HttpTimeRangeQuery<T> extends ResultQuery<T> implements HasDisplayData {
  private static final long serialVersionUID = 1L;
  /** Default {@link #withTimeout}: 30 seconds. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
  /** Default {@link #withMaxPagesPerQuery}: 10,000 pages. */
  public static final int DEFAULT_MAX_PAGES_PER_QUERY = 10_000;
  /** Default {@link #withMaxResponseBytes}: 32 MiB. */
  public static final long DEFAULT_MAX_RESPONSE_BYTES = 32L << 20;
  /** Default {@link #withMaxBytesPerQuery}: 128 MiB. */
  public static final long DEFAULT_MAX_BYTES_PER_QUERY = 128L << 20;
  /**
   * Default {@link #withMaxQueryDuration}: 5 minutes, half the read's default {@code
   * withMaxRetryDuration}.
   */
  public static final Duration DEFAULT_MAX_QUERY_DURATION = Duration.ofMinutes(5);
  /** Headers the HTTP client sets itself. */
  private static final java.util.Set<String> RESTRICTED_HEADERS =
      java.util.Set.of("connection", "content-length", "expect", "host", "upgrade");

  /** Builds a record from one JSON element of the records array. */
  @FunctionalInterface
  public interface RecordMapper<T> extends Serializable {
    T map(JsonNode json) throws Exception;
  }

  /**
   * How {@code {from}} and {@code {to}} are written. The coarse formats, {@link #EPOCH_MILLIS} and
   * {@link #EPOCH_SECONDS}, need each record's time: see {@link #withTimeFormat(TimeFormat,
   * String)}.
   */
  public enum TimeFormat {
    /** {@code 2024-05-01T00:00:00.000001Z}: ISO-8601 UTC with six fraction digits. */
    ISO_8601,
    /** Microseconds since the epoch. */
    EPOCH_MICROS,
    /** Milliseconds since the epoch; the range asked for is widened to whole milliseconds. */
    EPOCH_MILLIS,
    /** Seconds since the epoch; the range asked for is widened to whole seconds. */
    EPOCH_SECONDS
  }

  // One client per worker copy, kept across retries so its connections are reused.
  private transient @Nullable HttpClient client;
  private transient @Nullable HttpExchange exchange;
  private transient @Nullable HttpSecrets secrets;

  HttpTimeRangeQuery() {}

  abstract String method();

  abstract String urlTemplate();

  abstract @Nullable String bodyTemplate();

  abstract RecordMapper<T> mapper();

  abstract String recordsPointer();

  abstract @Nullable String nextTokenPointer();

  abstract @Nullable String nextTokenParameter();

  abstract @Nullable String nextLinkPointer();

  abstract @Nullable String errorPointer();

  abstract TimeFormat timeFormat();

  abstract @Nullable String recordTimePointer();

  abstract Map<String, String> headers();

  abstract Map<String, Secret> secretHeaders();

  abstract Map<String, Secret> secretQueryParameters();

  abstract @Nullable OAuth2ClientCredentials oauth2();

  abstract boolean jsonLines();

  abstract Duration timeout();

  abstract int maxPagesPerQuery();

  abstract long maxResponseBytes();

  abstract long maxBytesPerQuery();

  abstract Duration maxQueryDuration();

  abstract Builder<T> toBuilder();

  @AutoValue.Builder
  abstract static class Builder<T> {
    abstract Builder<T> setMethod(String method);

    abstract Builder<T> setUrlTemplate(String urlTemplate);

    abstract Builder<T> setBodyTemplate(@Nullable String bodyTemplate);

    abstract Builder<T> setMapper(RecordMapper<T> mapper);

    abstract Builder<T> setRecordsPointer(String pointer);

    abstract Builder<T> setNextTokenPointer(@Nullable String pointer);

    abstract Builder<T> setNextTokenParameter(@Nullable String parameter);

    abstract Builder<T> setNextLinkPointer(@Nullable String pointer);

    abstract Builder<T> setErrorPointer(@Nullable String pointer);

    abstract Builder<T> setTimeFormat(TimeFormat format);

    abstract Builder<T> setRecordTimePointer(@Nullable String pointer);

    abstract Builder<T> setHeaders(Map<String, String> headers);

    abstract Builder<T> setSecretHeaders(Map<String, Secret> headers);

    abstract Builder<T> setSecretQueryParameters(Map<String, Secret> parameters);

    abstract Builder<T> setOauth2(@Nullable OAuth2ClientCredentials oauth2);

    abstract Builder<T> setJsonLines(boolean jsonLines);

    abstract Builder<T> setTimeout(Duration timeout);

    abstract Builder<T> setMaxPagesPerQuery(int maxPages);

    abstract Builder<T> setMaxResponseBytes(long maxBytes);

    abstract Builder<T> setMaxBytesPerQuery(long maxBytes);

    abstract Builder<T> setMaxQueryDuration(Duration maxDuration);

    abstract HttpTimeRangeQuery<T> build();
  }

  private static <T> Builder<T> builder(
      String method, String urlTemplate, @Nullable String bodyTemplate, RecordMapper<T> mapper) {
    return new AutoValue_HttpTimeRangeQuery.Builder<T>()
        .setMethod(method)
        .setUrlTemplate(urlTemplate)
        .setBodyTemplate(bodyTemplate)
        .setMapper(mapper)
        .setRecordsPointer("")
        .setTimeFormat(TimeFormat.ISO_8601)
        .setHeaders(Map.of())
        .setSecretHeaders(Map.of())
        .setSecretQueryParameters(Map.of())
        .setJsonLines(false)
        .setTimeout(DEFAULT_TIMEOUT)
        .setMaxPagesPerQuery(DEFAULT_MAX_PAGES_PER_QUERY)
        .setMaxResponseBytes(DEFAULT_MAX_RESPONSE_BYTES)
        .setMaxBytesPerQuery(DEFAULT_MAX_BYTES_PER_QUERY)
        .setMaxQueryDuration(DEFAULT_MAX_QUERY_DURATION);
  }

  /** GET {@code urlTemplate}; each element of the records array bound to {@code type} by Jackson. */
  public static <T> HttpTimeRangeQuery<T> get(String urlTemplate, Class<T> type) {
    checkArgument(type != null, "get: type must not be null");
    return get(urlTemplate, json -> JsonPages.JSON.treeToValue(json, type));
  }

  /** GET {@code urlTemplate}; each element of the records array mapped by {@code mapper}. */
  public static <T> HttpTimeRangeQuery<T> get(String urlTemplate, RecordMapper<T> mapper) {
    checkTemplate(urlTemplate, null);
    checkArgument(mapper != null, "get: mapper must not be null");
    return HttpTimeRangeQuery.<T>builder("GET", urlTemplate, null, mapper).build();
  }

  /**
   * POST {@code bodyTemplate} (JSON, with {@code {from}} and {@code {to}}) to {@code url}, as a
   * Log-Analytics-style query API takes it.
   */
  public static <T> HttpTimeRangeQuery<T> post(
      String url, String bodyTemplate, RecordMapper<T> mapper) {
    checkTemplate(url, bodyTemplate);
    checkArgument(mapper != null, "post: mapper must not be null");
    return HttpTimeRangeQuery.<T>builder("POST", url, bodyTemplate, mapper)
        .build()
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
    return toBuilder().setRecordsPointer(checkPointer("withRecordsPointer", pointer)).build();
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
    return toBuilder()
        .setNextTokenPointer(checkPointer("withNextPageToken", tokenPointer))
        .setNextTokenParameter(parameter)
        .build();
  }

  /** Pages by link: the next page's URL (absolute or relative) is at {@code pointer}. */
  public HttpTimeRangeQuery<T> withNextLinkPointer(String pointer) {
    return toBuilder().setNextLinkPointer(checkPointer("withNextLinkPointer", pointer)).build();
  }

  /**
   * Where an API reports an error inside a successful answer (Log Analytics' partial results:
   * {@code "error"} beside truncated rows): a page holding anything but null there fails the
   * query, quoting it, instead of passing on what may be part of the records. Default: none.
   */
  public HttpTimeRangeQuery<T> withErrorPointer(String pointer) {
    return toBuilder().setErrorPointer(checkPointer("withErrorPointer", pointer)).build();
  }

  /**
   * How {@code {from}} and {@code {to}} are written. Default {@link TimeFormat#ISO_8601}. With a
   * coarse format ({@code EPOCH_MILLIS}, {@code EPOCH_SECONDS}) the read asks only for ranges on
   * whole units ({@link #boundGranularityMicros()}): its start is floored to a unit, chunks and
   * bisections fall on units, and a partition duration, start or end time off the grid is refused
   * when the read is applied; a unit holding more records than the API returns at once fails
   * loudly (it can't be split). To read any range at the microsecond instead, give each record's
   * time: {@link #withTimeFormat(TimeFormat, String)}.
   */
  public HttpTimeRangeQuery<T> withTimeFormat(TimeFormat format) {
    checkArgument(format != null, "withTimeFormat: format must not be null");
    return toBuilder().setTimeFormat(format).setRecordTimePointer(null).build();
  }

  /**
   * The unit of a coarse time format without a record time pointer (1,000 µs for {@code
   * EPOCH_MILLIS}, 1,000,000 for {@code EPOCH_SECONDS}): the read asks only for ranges on it.
   * Otherwise 1.
   */
  @Override
  public long boundGranularityMicros() {
    return recordTimePointer() == null ? TimeBounds.unitMicros(timeFormat()) : 1;
  }

  /**
   * How {@code {from}} and {@code {to}} are written, and where each record holds the time the API
   * compares with them. A range whose bounds the format can't write (a coarse format, any range
   * not on whole seconds or milliseconds) is asked for widened to whole units, {@code
   * [floor(from), ceil(to))}, and only the records whose time lies in the range itself, at the
   * microsecond, are kept: the neighbouring ranges read the rest. So a coarse format reads every
   * record once, whatever the chunk and bisection bounds (a crowded second is fetched whole for
   * each part of it the read asks for).
   *
   * <p>{@code recordTimePointer} is a JSON pointer into each element of the records array; the
   * time there is an ISO-8601 string with an offset ({@code "2024-05-01T00:00:00.123456Z"}) or a
   * number in the format's unit (seconds may carry a fraction: {@code 1714521600.123456}),
   * floored to the microsecond. An element whose time is missing or unreadable, or lies outside
   * the range asked for, goes to the read's bad-record handler (or fails the bundle without one),
   * like an element the mapper can't map. Any format is allowed; with {@code ISO_8601} and {@code
   * EPOCH_MICROS} nothing is widened and the time only checks the API's answer.
   */
  public HttpTimeRangeQuery<T> withTimeFormat(TimeFormat format, String recordTimePointer) {
    checkArgument(format != null, "withTimeFormat: format must not be null");
    return toBuilder()
        .setTimeFormat(format)
        .setRecordTimePointer(
            checkPointer("withTimeFormat(" + format + ", pointer)", recordTimePointer))
        .build();
  }

  /** A request header, shown in display data and messages. */
  public HttpTimeRangeQuery<T> withHeader(String name, String value) {
    checkHeader("withHeader", name, value);
    return toBuilder().setHeaders(put(headers(), name, value)).build();
  }

  /**
   * A request header holding a secret (a token): never shown in display data, logs or messages.
   * The value is serialized with the pipeline: prefer {@link #withSecretHeader(String, Secret)}.
   */
  public HttpTimeRangeQuery<T> withSecretHeader(String name, String value) {
    checkHeader("withSecretHeader", name, value);
    return withSecretHeader(name, Secrets.ofValue(value));
  }

  /**
   * A secret request header whose value is a Beam {@link Secret} ({@link Secrets#fromEnvironment},
   * {@link Secrets#fromFile}, …), resolved on the worker: only its reference is in the job graph.
   */
  public HttpTimeRangeQuery<T> withSecretHeader(String name, Secret value) {
    checkHeader("withSecretHeader", name, "reference");
    checkArgument(value != null, "withSecretHeader(%s): value must not be null", name);
    return toBuilder().setSecretHeaders(put(secretHeaders(), name, value)).build();
  }

  /**
   * OAuth2 client credentials (RFC 6749 §4.4): every request carries {@code Authorization: Bearer
   * <token>}, one token per worker from {@code tokenUrl}, refreshed before it expires and once on a
   * 401 (a second 401 fails as bad credentials); fetches counted in {@code tokenRefreshes}. The
   * secret is serialized with the pipeline: prefer the {@link Secret} overload.
   */
  public HttpTimeRangeQuery<T> withOAuth2ClientCredentials(
      String tokenUrl, String clientId, String clientSecret, String scope) {
    checkArgument(
        clientSecret != null && !clientSecret.isEmpty(),
        "withOAuth2ClientCredentials: clientSecret must be non-empty");
    return withOAuth2ClientCredentials(tokenUrl, clientId, Secrets.ofValue(clientSecret), scope);
  }

  /** As {@link #withOAuth2ClientCredentials(String, String, String, String)}, resolved on the worker. */
  public HttpTimeRangeQuery<T> withOAuth2ClientCredentials(
      String tokenUrl, String clientId, Secret clientSecret, String scope) {
    return toBuilder()
        .setOauth2(OAuth2ClientCredentials.of(tokenUrl, clientId, clientSecret, scope))
        .build();
  }

  /**
   * The answer is line-delimited JSON (NDJSON, JSON Lines): one record a line, blank lines
   * skipped; no page around them, so no records pointer and no paging. A line that is not one JSON
   * value fails the query.
   */
  public HttpTimeRangeQuery<T> withJsonLines() {
    checkArgument(
        nextTokenPointer() == null && nextLinkPointer() == null && recordsPointer().isEmpty(),
        "withJsonLines(): a line-delimited answer has no records pointer (%s) nor next page"
            + " (%s); drop them",
        recordsPointer(),
        nextTokenPointer() != null ? nextTokenPointer() : nextLinkPointer());
    return toBuilder().setJsonLines(true).build();
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
    return withSecretQueryParameter(name, Secrets.ofValue(value));
  }

  /** As {@link #withSecretQueryParameter(String, String)}, a Beam {@link Secret} resolved on the worker. */
  public HttpTimeRangeQuery<T> withSecretQueryParameter(String name, Secret value) {
    checkArgument(
        name != null && name.matches("[A-Za-z0-9_.~-]+"),
        "withSecretQueryParameter: name must be a plain query parameter name, was %s",
        name);
    checkArgument(value != null, "withSecretQueryParameter(%s): value must not be null", name);
    return toBuilder()
        .setSecretQueryParameters(put(secretQueryParameters(), name, value))
        .build();
  }

  /**
   * The most pages one query may follow; more fail the query (a next-page token or link that
   * never ends is a broken API, not data). A token or link that repeats an earlier one of the same
   * query fails it at once. Default {@value #DEFAULT_MAX_PAGES_PER_QUERY}; allowed: 1 or more.
   */
  public HttpTimeRangeQuery<T> withMaxPagesPerQuery(int maxPages) {
    checkArgument(maxPages >= 1, "withMaxPagesPerQuery: must be at least 1, was %s", maxPages);
    return toBuilder().setMaxPagesPerQuery(maxPages).build();
  }

  /**
   * The largest response body read, in bytes; a larger one is dropped unread and the range is
   * treated as too large ({@link ResultTooLargeException}), so the read bisects it. Default
   * {@value #DEFAULT_MAX_RESPONSE_BYTES} (32 MiB); allowed: 1 or more.
   */
  public HttpTimeRangeQuery<T> withMaxResponseBytes(long maxBytes) {
    checkArgument(maxBytes >= 1, "withMaxResponseBytes: must be at least 1, was %s", maxBytes);
    return toBuilder().setMaxResponseBytes(maxBytes).build();
  }

  /**
   * The most response bytes one query reads across all its pages, which bounds what it holds in
   * memory: past it the range is treated as too large ({@link ResultTooLargeException}), so the
   * read bisects it and reads the halves instead; nothing is cut short. Default {@value
   * #DEFAULT_MAX_BYTES_PER_QUERY} (128 MiB); allowed: 1 or more.
   */
  public HttpTimeRangeQuery<T> withMaxBytesPerQuery(long maxBytes) {
    checkArgument(maxBytes >= 1, "withMaxBytesPerQuery: must be at least 1, was %s", maxBytes);
    return toBuilder().setMaxBytesPerQuery(maxBytes).build();
  }

  /**
   * The longest one query may keep paging: a query with another page to fetch after this long
   * is treated as too large ({@link ResultTooLargeException}), so the read bisects its range and
   * reads the halves instead; nothing is cut short. A query so takes at most this plus one {@link
   * #withTimeout}; keep that within the read's {@code withMaxRetryDuration}. Default {@link
   * #DEFAULT_MAX_QUERY_DURATION} (5 minutes); allowed: at least 1 ms.
   */
  public HttpTimeRangeQuery<T> withMaxQueryDuration(Duration maxDuration) {
    checkArgument(
        maxDuration != null && maxDuration.toMillis() >= 1,
        "withMaxQueryDuration: must be at least 1 ms, was %s",
        maxDuration);
    return toBuilder().setMaxQueryDuration(maxDuration).build();
  }

  /** The longest one request may take, response body included. Default {@link #DEFAULT_TIMEOUT}; allowed: ≥ 1 ms. */
  public HttpTimeRangeQuery<T> withTimeout(Duration timeout) {
    checkArgument(
        timeout != null && timeout.toMillis() >= 1, "withTimeout: must be at least 1 ms, was %s", timeout);
    return toBuilder().setTimeout(timeout).build();
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

  /**
   * {@code map} with {@code name} set to {@code value}, in insertion order (a name set again keeps
   * its place); a new map, so the configuration stays immutable.
   */
  private static <V> Map<String, V> put(Map<String, V> map, String name, V value) {
    Map<String, V> copy = new LinkedHashMap<>(map);
    copy.put(name, value);
    return Collections.unmodifiableMap(copy);
  }

  /** The secrets, resolved here on the worker. */
  private HttpSecrets secrets() {
    if (secrets == null) {
      secrets = new HttpSecrets(resolve(secretHeaders()), resolve(secretQueryParameters()));
      if (oauth2() != null) {
        secrets.add(oauth2().resolveClientSecret());
      }
    }
    return secrets;
  }

  private static Map<String, String> resolve(Map<String, Secret> secrets) {
    Map<String, String> values = new LinkedHashMap<>();
    secrets.forEach((name, secret) -> values.put(name, Secrets.resolve(secret)));
    return values;
  }

  @Override
  public void open() {
    exchange();
  }

  private HttpExchange exchange() {
    if (exchange == null) {
      // Redirects are followed by HttpExchange, not by the client, which would send every
      // header to whatever host a redirect names.
      client =
          HttpClient.newBuilder()
              .connectTimeout(timeout())
              .followRedirects(HttpClient.Redirect.NEVER)
              .build();
      exchange =
          new HttpExchange(
              client,
              method(),
              timeout(),
              maxResponseBytes(),
              headers(),
              secrets(),
              URI.create(fill(urlTemplate(), "0", "0")),
              jsonLines()
                  ? new JsonPages(recordsPointer(), recordTimePointer()).lines()
                  : new JsonPages(
                      recordsPointer(),
                      recordTimePointer(),
                      nextTokenPointer(),
                      nextLinkPointer(),
                      errorPointer()),
              oauth2());
    }
    return exchange;
  }

  @Override
  public void close() throws Exception {
    HttpClient closing = client;
    client = null;
    exchange = null;
    // HttpClient is AutoCloseable from JDK 21 on; before, dropping it frees it.
    if (closing instanceof AutoCloseable) {
      ((AutoCloseable) closing).close();
    }
  }

  /**
   * The records of {@code range} and the elements the mapper failed on; stops following pages
   * once {@code limit} rows are in: the read drops such an answer anyway.
   */
  @Override
  public Result<T> queryResult(TimeRange range, long limit) throws Exception {
    TimeBounds bounds = new TimeBounds(timeFormat(), recordTimePointer());
    if (!bounds.filters() && !bounds.asked(range).equals(range)) {
      throw new IllegalArgumentException(
          "HTTP query with withTimeFormat("
              + timeFormat()
              + ") asked for "
              + range
              + ", whose bounds are not whole "
              + (timeFormat() == TimeFormat.EPOCH_SECONDS ? "seconds" : "milliseconds")
              + "; TimeRangeIO.read() asks only for ranges on the grid of"
              + " boundGranularityMicros(); a caller of its own must too, or give each record's"
              + " time with withTimeFormat(format, pointer)");
    }
    try {
      return new HttpPaging<>(this, exchange(), secrets(), bounds).query(range, limit);
    } catch (IllegalArgumentException e) {
      // java.net.URI and the JDK client quote a URL they refuse whole, secrets included, in
      // their message and cause: the message is scrubbed and the cause left out.
      throw new IOException(
          "HTTP " + method() + " for " + range + ": " + secrets().scrub(String.valueOf(e.getMessage())));
    }
  }

  static String fill(String template, String from, String to) {
    return template.replace("{from}", from).replace("{to}", to);
  }

  /** The URL template's scheme, host and path ({@link LineageName#ofUrl}); no query string. */
  @Override
  public @Nullable LineageName lineage() {
    return LineageName.ofUrl(urlTemplate());
  }

  /**
   * The method and URL template (secret query parameters are added on the worker, so never in
   * it), the body template and the names, never the values, of secret headers and parameters.
   */
  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    builder
        .add(DisplayData.item("method", method()).withLabel("HTTP method"))
        .add(DisplayData.item("urlTemplate", urlTemplate()).withLabel("URL template"))
        .addIfNotNull(DisplayData.item("bodyTemplate", bodyTemplate()).withLabel("Body template"))
        .add(DisplayData.item("recordsPointer", recordsPointer()).withLabel("Records at"))
        .add(DisplayData.item("timeFormat", timeFormat().toString()).withLabel("Time format"))
        .addIfNotNull(
            DisplayData.item(
                    "secretHeaders",
                    secretHeaders().isEmpty() ? null : String.join(",", secretHeaders().keySet()))
                .withLabel("Secret headers (names)"))
        .addIfNotNull(
            DisplayData.item(
                    "secretQueryParameters",
                    secretQueryParameters().isEmpty()
                        ? null
                        : String.join(",", secretQueryParameters().keySet()))
                .withLabel("Secret query parameters (names)"));
  }

  @Override
  public final String toString() {
    // Secret headers are named, never shown.
    return "HttpTimeRangeQuery{"
        + method()
        + " "
        + urlTemplate()
        + (bodyTemplate() == null ? "" : " body " + bodyTemplate())
        + ", records at \""
        + recordsPointer()
        + "\", "
        + timeFormat()
        + (recordTimePointer() == null ? "" : " (record time at \"" + recordTimePointer() + "\")")
        + ", headers "
        + headers()
        + (secretHeaders().isEmpty() ? "" : ", secret headers " + secretHeaders().keySet())
        + (secretQueryParameters().isEmpty()
            ? ""
            : ", secret query parameters " + secretQueryParameters().keySet())
        + (oauth2() == null ? "" : ", " + oauth2())
        + (jsonLines() ? ", JSON lines" : "")
        + "}";
  }
}
