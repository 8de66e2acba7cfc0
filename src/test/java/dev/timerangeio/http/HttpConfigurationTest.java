package dev.timerangeio.http;

import dev.timerangeio.RejectedSettings;
import dev.timerangeio.http.HttpTimeRangeQuery.TimeFormat;
import java.time.Duration;
import java.util.List;
import org.junit.function.ThrowingRunnable;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;

/**
 * Every bad setting of the HTTP source fails when it is made, with an {@link
 * IllegalArgumentException} naming the option, the bad value and what is allowed; and never shows
 * a secret.
 */
@RunWith(Parameterized.class)
public class HttpConfigurationTest extends RejectedSettings {
  private static final String API = "http://127.0.0.1:1/events?since={from}&until={to}";

  private static final HttpTimeRangeQuery.RecordMapper<Long> ID_JSON = json -> json.get("id").asLong();

  private static final RejectedSettings.Cases CASES = new RejectedSettings.Cases();

  private static void add(String name, ThrowingRunnable setting, String... fragments) {
    CASES.add(name, setting, fragments);
  }

  static {
    add("http url of another scheme",
        () -> HttpTimeRangeQuery.get("ftp://host/x?f={from}&t={to}", ID_JSON),
        "url must start with http:// or https://", "ftp://host/x?f={from}&t={to}");
    add("http url without {to}", () -> HttpTimeRangeQuery.get("http://host/x?f={from}", ID_JSON),
        "must contain both {from} and {to}", "http://host/x?f={from}");
    add("http url that is no URI",
        () -> HttpTimeRangeQuery.get("http://host/x y?f={from}&t={to}", ID_JSON),
        "not a valid URI", "http://host/x y");
    add("http records pointer without a slash",
        () -> HttpTimeRangeQuery.get(API, ID_JSON).withRecordsPointer("data"),
        "withRecordsPointer", "\"data\" is not a JSON pointer");
    add("http header name with a space",
        () -> HttpTimeRangeQuery.get(API, ID_JSON).withHeader("Bad Header", "v"),
        "\"Bad Header\" is not a valid header name");
    add("http page token parameter with an ampersand",
        () -> HttpTimeRangeQuery.get(API, ID_JSON).withNextPageToken("/t", "a&b"),
        "withNextPageToken", "a&b");
    add("http restricted header",
        () -> HttpTimeRangeQuery.get(API, ID_JSON).withHeader("Host", "evil.example"),
        "withHeader", "\"Host\" is set by the HTTP client itself");
    add("http restricted secret header",
        () -> HttpTimeRangeQuery.get(API, ID_JSON).withSecretHeader("connection", "s3cret"),
        "withSecretHeader", "\"connection\"");
    add("http secret query parameter with an equals sign",
        () -> HttpTimeRangeQuery.get(API, ID_JSON).withSecretQueryParameter("a=b", "s3cret"),
        "withSecretQueryParameter", "a=b");
    add("http zero pages per query",
        () -> HttpTimeRangeQuery.get(API, ID_JSON).withMaxPagesPerQuery(0),
        "withMaxPagesPerQuery", "at least 1", "was 0");
    add("http zero response bytes",
        () -> HttpTimeRangeQuery.get(API, ID_JSON).withMaxResponseBytes(0),
        "withMaxResponseBytes", "at least 1", "was 0");
    add("http timeout of zero", () -> HttpTimeRangeQuery.get(API, ID_JSON).withTimeout(Duration.ZERO),
        "withTimeout", "at least 1 ms", "PT0S");
    add("http coarse time format and a chunk off whole seconds",
        () ->
            org.apache.beam.sdk.testing.TestPipeline.create()
                .enableAbandonedNodeEnforcement(false)
                .apply(
                    dev.timerangeio.TimeRangeIO.<Long>read()
                        .withQuery(
                            HttpTimeRangeQuery.get(API, ID_JSON).withTimeFormat(TimeFormat.EPOCH_SECONDS))
                        .withCoder(org.apache.beam.sdk.coders.VarLongCoder.of())
                        .withStartTime(java.time.Instant.parse("2024-05-01T00:00:00Z"))
                        .withPartitionDuration(Duration.ofMillis(1_500))),
        "withPartitionDuration(PT1.5S)", "multiples of 1000000 µs", "give a multiple of it");
    add("http coarse time format and a start off whole seconds",
        () ->
            org.apache.beam.sdk.testing.TestPipeline.create()
                .enableAbandonedNodeEnforcement(false)
                .apply(
                    dev.timerangeio.TimeRangeIO.<Long>read()
                        .withQuery(
                            HttpTimeRangeQuery.get(API, ID_JSON).withTimeFormat(TimeFormat.EPOCH_MILLIS))
                        .withCoder(org.apache.beam.sdk.coders.VarLongCoder.of())
                        .withStartTime(java.time.Instant.parse("2024-05-01T00:00:00.000500Z"))),
        "withStartTime(2024-05-01T00:00:00.000500Z)", "multiples of 1000 µs", "give a start on that grid");
    add("http record time pointer without a slash",
        () -> HttpTimeRangeQuery.get(API, ID_JSON).withTimeFormat(TimeFormat.EPOCH_MILLIS, "time"),
        "withTimeFormat(EPOCH_MILLIS, pointer)", "\"time\" is not a JSON pointer");
    add("http zero bytes per query",
        () -> HttpTimeRangeQuery.get(API, ID_JSON).withMaxBytesPerQuery(0),
        "withMaxBytesPerQuery", "at least 1", "was 0");
    add("http query duration of zero",
        () -> HttpTimeRangeQuery.get(API, ID_JSON).withMaxQueryDuration(Duration.ZERO),
        "withMaxQueryDuration", "at least 1 ms", "PT0S");
    add("http without a mapper",
        () -> HttpTimeRangeQuery.get(API, (HttpTimeRangeQuery.RecordMapper<Long>) null),
        "get: mapper must not be null");
  }

  @Parameterized.Parameters(name = "{0}")
  public static List<Object[]> cases() {
    return CASES.list();
  }

  public HttpConfigurationTest(String name, ThrowingRunnable setting, String[] fragments) {
    super(setting, fragments);
  }
}
