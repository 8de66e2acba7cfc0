package dev.timerangeio.splunk;

import com.google.auto.value.AutoValue;
import dev.timerangeio.LineageName;
import dev.timerangeio.ResultQuery;
import dev.timerangeio.Secrets;
import dev.timerangeio.TimeRange;
import dev.timerangeio.TransientSourceException;
import dev.timerangeio.http.ApiHttp;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.schemas.logicaltypes.MicrosInstant;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.transforms.display.HasDisplayData;
import org.apache.beam.sdk.util.Secret;
import org.apache.beam.sdk.values.Row;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Splunk as a time-range source: an SPL search read chunk by chunk through the search export
 * endpoint, as Beam {@link Row}s.
 *
 * <pre>{@code
 * pipeline.apply(
 *     TimeRangeIO.<Row>read()
 *         .withQuery(
 *             SplunkSearchQuery.forSearch("https://splunk.example.com:8089", "index=security sourcetype=auth")
 *                 .withToken(Secrets.fromEnvironment("SPLUNK_TOKEN"))
 *                 .withIndexTime()
 *                 .withFields("user", "action"))
 *         .withStartTime("latest"));
 * }</pre>
 *
 * <p>Each chunk {@code [from, to)} posts to {@code {splunkd}/services/search/v2/jobs/export} the
 * form fields {@code search}, {@code output_mode=json}, {@code output_time_format} (microseconds
 * with the offset) and the time bounds as form fields — never text added to the SPL: {@code
 * earliest_time}/{@code latest_time} as epoch seconds with six decimals, or with {@link
 * #withIndexTime()} {@code index_earliest}/{@code index_latest} (whole seconds, as Splunk keeps
 * {@code _indextime}). The answer is read line by line ({@link SplunkExport}); only records whose
 * query time lies in {@code [from, to)} at the microsecond are kept, whatever the service does with
 * a bound's end, so each record is read by exactly one chunk. An SPL that starts with neither
 * {@code search} nor {@code |} gets {@code search } put before it, as Splunk's own clients do.
 *
 * <p>Rows have exactly the fields {@code _time} (a microsecond instant, {@link MicrosInstant}, value
 * a {@link Instant}) and, as nullable strings as Splunk sends them, {@code host}, {@code source},
 * {@code sourcetype}, {@code index}, {@code _raw}, {@code _cd}, {@code _indextime} (epoch seconds)
 * and each field of {@link #withFields} (a multi-value field as its JSON array text); or the fields
 * of {@link #withSchema}. Records are stamped by {@code _time}.
 *
 * <p>Answers: 429 and 5xx (not 501) are transient, retried by the read honouring {@code
 * Retry-After}, and so is a stream cut short (results without their last row); a {@code messages}
 * entry of type ERROR or FATAL, 400, 401 (a bad token) and 403 fail naming Splunk's text; an answer
 * over {@link #withMaxResponseBytes} makes the read bisect. The token appears in no display data,
 * log line, message or {@code toString()}.
 */
@AutoValue
public abstract class SplunkSearchQuery extends ResultQuery<Row> implements HasDisplayData {
  private static final long serialVersionUID = 1L;

  private transient @Nullable String tokenText;

  /** The fields every Row has, besides {@link #withFields}; {@code _time} first. */
  public static final List<String> DEFAULT_FIELDS =
      List.of("_time", "host", "source", "sourcetype", "index", "_raw", "_cd", "_indextime");
  /** Default of {@link #withRequestTimeout}. */
  public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofMinutes(10);
  /** Default of {@link #withMaxResponseBytes}. */
  public static final long DEFAULT_MAX_RESPONSE_BYTES = 256L << 20;

  /** The first {@code index=name} (or {@code index="name"}) of a search. */
  private static final Pattern INDEX =
      Pattern.compile("\\bindex\\s*=\\s*\"?([A-Za-z0-9_*.-]+)\"?");

  /** Microseconds and the offset: Splunk's default answer has only milliseconds. */
  static final String TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%6N%:z";

  abstract String getUrl();

  abstract String getSearch();

  abstract @Nullable Secret getToken();

  abstract String getAuthScheme();

  abstract boolean isIndexTime();

  abstract List<String> getFields();

  abstract @Nullable Schema getSchema();

  abstract Duration getRequestTimeout();

  abstract long getMaxResponseBytes();

  abstract Builder toBuilder();

  @AutoValue.Builder
  abstract static class Builder {
    abstract Builder setUrl(String url);

    abstract Builder setSearch(String search);

    abstract Builder setToken(@Nullable Secret token);

    abstract Builder setAuthScheme(String scheme);

    abstract Builder setIndexTime(boolean indexTime);

    abstract Builder setFields(List<String> fields);

    abstract Builder setSchema(@Nullable Schema schema);

    abstract Builder setRequestTimeout(Duration timeout);

    abstract Builder setMaxResponseBytes(long bytes);

    abstract SplunkSearchQuery build();
  }

  /**
   * The search {@code spl} on the splunkd management endpoint {@code splunkdUrl} ({@code
   * https://host:8089}; http only on a loopback address, for tests).
   */
  public static SplunkSearchQuery forSearch(String splunkdUrl, String spl) {
    String url = ApiHttp.checkServiceUrl("SplunkSearchQuery.forSearch(splunkdUrl)", splunkdUrl);
    if (spl == null || spl.trim().isEmpty()) {
      throw new IllegalArgumentException(
          "SplunkSearchQuery.forSearch: spl must be a non-empty search, got "
              + (spl == null ? "null" : "\"" + spl + "\""));
    }
    String search = spl.trim();
    if (!search.startsWith("|") && !search.matches("(?is)search\\b.*")) {
      search = "search " + search;
    }
    return new AutoValue_SplunkSearchQuery.Builder()
        .setUrl(url)
        .setSearch(search)
        .setAuthScheme("Splunk")
        .setIndexTime(false)
        .setFields(List.of())
        .setRequestTimeout(DEFAULT_REQUEST_TIMEOUT)
        .setMaxResponseBytes(DEFAULT_MAX_RESPONSE_BYTES)
        .build();
  }

  /** The search as it is sent: {@code search } put before an SPL that needs it. */
  public String search() {
    return getSearch();
  }

  /** The token sent as {@code Authorization: <scheme> <token>}. Prefer the {@link Secret} form. */
  public SplunkSearchQuery withToken(String token) {
    if (token == null || token.isEmpty()) {
      throw new IllegalArgumentException("withToken(token): token must be non-empty");
    }
    return withToken(Secrets.ofValue(token));
  }

  /** As {@link #withToken(String)}, resolved on the worker. Required. */
  public SplunkSearchQuery withToken(Secret token) {
    if (token == null) {
      throw new IllegalArgumentException("withToken(token): token must not be null");
    }
    return toBuilder().setToken(token).build();
  }

  /**
   * The authorization scheme: {@code "Splunk"} (the default: session keys and splunkd tokens) or
   * {@code "Bearer"} (authentication tokens, Splunk Cloud).
   */
  public SplunkSearchQuery withAuthScheme(String scheme) {
    if (!"Splunk".equals(scheme) && !"Bearer".equals(scheme)) {
      throw new IllegalArgumentException(
          "withAuthScheme(scheme): \"Splunk\" or \"Bearer\", got " + scheme);
    }
    return toBuilder().setAuthScheme(scheme).build();
  }

  /**
   * Query by index time ({@code _indextime}, {@code index_earliest}/{@code index_latest}) and
   * stamp records by {@code _time}: an event indexed late is still read, by the chunk of its index
   * time. Events arrive older than their chunk, so give the read a {@code withWatermarkDelay} of
   * the largest indexing delay: an event stamped earlier than its chunk's start minus that delay
   * would be behind the watermark and goes to the read's bad-record path instead.
   */
  public SplunkSearchQuery withIndexTime() {
    return toBuilder().setIndexTime(true).build();
  }

  /** More fields in every Row, as nullable strings, after {@link #DEFAULT_FIELDS}. */
  public SplunkSearchQuery withFields(String... fields) {
    List<String> all = new ArrayList<>();
    for (String field : fields == null ? new String[] {null} : fields) {
      if (field == null || field.isEmpty() || DEFAULT_FIELDS.contains(field) || all.contains(field)) {
        throw new IllegalArgumentException(
            "withFields(fields): each field must be non-empty, given once and not one of "
                + DEFAULT_FIELDS + ", got " + Arrays.toString(fields));
      }
      all.add(field);
    }
    return toBuilder().setFields(List.copyOf(all)).build();
  }

  /**
   * The Rows' schema instead of the default fields: each field filled from the result field of its
   * name (STRING, INT32, INT64, DOUBLE, BOOLEAN, DECIMAL from Splunk's text; a {@link
   * MicrosInstant} field from its time); all nullable is wise. Records are stamped by {@code _time}
   * if the schema has it as a {@link MicrosInstant}.
   */
  public SplunkSearchQuery withSchema(Schema schema) {
    if (schema == null) {
      throw new IllegalArgumentException("withSchema(schema): schema must not be null");
    }
    return toBuilder().setSchema(schema).build();
  }

  /** How long one export may take, stream included. Default 10 min; at least 1 s. */
  public SplunkSearchQuery withRequestTimeout(Duration timeout) {
    if (timeout == null || timeout.compareTo(Duration.ofSeconds(1)) < 0) {
      throw new IllegalArgumentException(
          "withRequestTimeout(timeout): at least 1 second, got " + timeout);
    }
    return toBuilder().setRequestTimeout(timeout).build();
  }

  /** The largest answer read; a larger one makes the read bisect the range. Default 256 MiB. */
  public SplunkSearchQuery withMaxResponseBytes(long bytes) {
    if (bytes < 1024) {
      throw new IllegalArgumentException("withMaxResponseBytes(bytes): at least 1024, got " + bytes);
    }
    return toBuilder().setMaxResponseBytes(bytes).build();
  }

  // ---- TimeRangeQuery ----

  @Override
  public Schema schema() {
    if (getToken() == null) {
      throw new IllegalStateException(
          "SplunkSearchQuery for " + getUrl() + " has no token: call withToken(...)");
    }
    if (getSchema() != null) {
      return getSchema();
    }
    Schema.Builder schema =
        Schema.builder().addNullableField("_time", Schema.FieldType.logicalType(new MicrosInstant()));
    for (String field : DEFAULT_FIELDS.subList(1, DEFAULT_FIELDS.size())) {
      schema.addNullableField(field, Schema.FieldType.STRING);
    }
    for (String field : getFields()) {
      schema.addNullableField(field, Schema.FieldType.STRING);
    }
    return schema.build();
  }

  @Override
  public @Nullable SerializableFunction<Row, Instant> recordTime() {
    Schema schema = schema();
    if (!schema.hasField("_time")
        || schema.getField("_time").getType().getTypeName() != Schema.TypeName.LOGICAL_TYPE) {
      return null;
    }
    return row -> row.getValue("_time");
  }

  @Override
  public boolean recordTimeIsQueried() {
    return !isIndexTime();
  }

  @Override
  public Result<Row> queryResult(TimeRange range, long limit) throws Exception {
    Map<String, String> form = new LinkedHashMap<>();
    form.put("search", getSearch());
    form.put("output_mode", "json");
    form.put("output_time_format", TIME_FORMAT);
    SplunkExport.Filter filter;
    if (isIndexTime()) {
      // _indextime is whole seconds: the seconds s with s * 1e6 in [from, to).
      long first = Math.floorDiv(range.fromMicros() + 999_999, 1_000_000);
      long end = Math.floorDiv(range.toMicros() + 999_999, 1_000_000);
      if (first >= end) {
        return Result.of(List.of()); // no whole second in the range: nothing to ask for
      }
      form.put("index_earliest", Long.toString(first));
      form.put("index_latest", Long.toString(end));
      filter = new SplunkExport.Filter("_indextime", range);
    } else {
      form.put("earliest_time", seconds(range.fromMicros()));
      form.put("latest_time", seconds(range.toMicros()));
      filter = new SplunkExport.Filter("_time", range);
    }
    byte[] body = post(form, "the range " + range);
    return SplunkExport.parse(body, schema(), filter, "the range " + range);
  }

  /** The oldest {@code _time} (or {@code _indextime}) the search finds, over all time. */
  @Override
  public Optional<Instant> earliest() throws Exception {
    Map<String, String> form = new LinkedHashMap<>();
    String field = isIndexTime() ? "_indextime" : "_time";
    form.put("search", getSearch() + " | stats min(" + field + ") as earliest");
    form.put("output_mode", "json");
    byte[] body = post(form, "earliest()");
    Schema schema = Schema.builder().addNullableField("earliest", Schema.FieldType.STRING).build();
    for (Row row : SplunkExport.parse(body, schema, null, "earliest()").records()) {
      String value = row.getString("earliest");
      if (value != null && !value.isEmpty()) {
        return Optional.of(SplunkExport.instant(value, "earliest"));
      }
    }
    return Optional.empty();
  }

  @Override
  public boolean supportsEarliest() {
    return true;
  }

  /** Epoch seconds with six decimals: the microsecond exactly. */
  static String seconds(long micros) {
    return java.math.BigDecimal.valueOf(micros, 6).toPlainString();
  }

  private byte[] post(Map<String, String> form, String what) throws Exception {
    StringBuilder encoded = new StringBuilder();
    for (Map.Entry<String, String> field : form.entrySet()) {
      if (encoded.length() > 0) {
        encoded.append('&');
      }
      encoded
          .append(field.getKey())
          .append('=')
          .append(URLEncoder.encode(field.getValue(), StandardCharsets.UTF_8));
    }
    if (tokenText == null) {
      tokenText = Secrets.resolve(getToken()); // once per copy: a Secret may be a network call
    }
    String token = tokenText;
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(getUrl() + "/services/search/v2/jobs/export"))
            .timeout(getRequestTimeout())
            .header("Authorization", getAuthScheme() + " " + token)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString(encoded.toString()))
            .build();
    ApiHttp.Response response =
        ApiHttp.send(
            request, getMaxResponseBytes(), getRequestTimeout(), text -> text.replace(token, "***"));
    int status = response.status();
    if (status == 200) {
      return response.body();
    }
    String where = "Splunk export " + getUrl() + ", " + what + ": HTTP " + status + ": ";
    String message = SplunkExport.messages(response.body()).replace(token, "***");
    if (ApiHttp.isTransient(status)) {
      throw new TransientSourceException(where + message, null, response.retryAfter());
    }
    if (status == 401) {
      throw new IOException(where + "the token was refused (" + getToken() + "): " + message);
    }
    throw new IOException(where + message);
  }

  /** The splunkd URL, search, time dimension and fields; never the token. */
  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    builder
        .add(DisplayData.item("splunkd", getUrl()).withLabel("Splunk management URL"))
        .add(DisplayData.item("search", getSearch()).withLabel("SPL"))
        .add(DisplayData.item("timeField", isIndexTime() ? "_indextime" : "_time").withLabel("Queried by"))
        .add(DisplayData.item("fields", String.join(",", getFields())).withLabel("Extra fields"));
  }

  /**
   * {@code splunk:<host:port>} of the management URL and, when the SPL names one first, its index:
   * {@code splunk:`splunk.example.com:8089`.web}.
   */
  @Override
  public @Nullable LineageName lineage() {
    LineageName host = LineageName.ofUrl(getUrl());
    if (host == null) {
      return null;
    }
    Matcher index = INDEX.matcher(getSearch());
    String server = host.segments().get(0);
    return index.find()
        ? LineageName.of("splunk", server, index.group(1))
        : LineageName.of("splunk", server);
  }

  @Override
  public final String toString() {
    return "SplunkSearchQuery{url="
        + getUrl()
        + ", search="
        + getSearch()
        + ", by="
        + (isIndexTime() ? "_indextime" : "_time")
        + ", fields="
        + getFields()
        + ", token="
        + getToken()
        + "}";
  }
}
