package dev.timerangeio;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;

import dev.timerangeio.http.HttpTimeRangeQuery;
import dev.timerangeio.jdbc.JdbcConnection;
import dev.timerangeio.jdbc.JdbcTimeRangeQuery;
import dev.timerangeio.loganalytics.LogAnalyticsQuery;
import dev.timerangeio.splunk.SplunkSearchQuery;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.Row;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * Each connector names its source in the read's display data (table and time column, SQL, URL
 * template, KQL, SPL) and in its lineage, never with a secret.
 */
@RunWith(JUnit4.class)
public class SourceNamesTest {
  private static final String SECRET = "s3cret-value";

  /** The read's display data by key, the query's items included. */
  private static Map<String, String> displayed(TimeRangeQuery<?> query) {
    @SuppressWarnings({"unchecked", "rawtypes"})
    DisplayData data = DisplayData.from(TimeRangeIO.read().withQuery((TimeRangeQuery) query));
    assertThat(data.toString(), not(containsString(SECRET)));
    return data.items().stream()
        .collect(
            Collectors.toMap(
                DisplayData.Item::getKey,
                item -> String.valueOf(item.getValue()),
                (a, b) -> a + "|" + b));
  }

  @Test
  public void aJdbcTableShowsItsTableAndTimeColumn() {
    JdbcTimeRangeQuery<Row> query =
        JdbcTimeRangeQuery.forTableAsRows(
            JdbcConnection.of("jdbc:postgresql://db.internal:5432/app?password=" + SECRET)
                .withUsername("reader")
                .withPassword(SECRET),
            "audit.events",
            "event_time");
    Map<String, String> shown = displayed(query);
    assertEquals("audit.events", shown.get("table"));
    assertEquals("event_time", shown.get("timeColumn"));
    assertThat(shown.get("jdbcUrl"), containsString("db.internal:5432/app"));
    assertFalse("a table read shows no SQL", shown.containsKey("sql"));
    assertEquals(
        "postgresql:`db.internal:5432`.app.audit.events", query.lineage().toString());
  }

  @Test
  public void aJdbcQueryShowsItsSqlWithLiteralsMasked() {
    JdbcTimeRangeQuery<String> query =
        JdbcTimeRangeQuery.forSql(
            JdbcConnection.of("jdbc:postgresql://db.internal:5432/app"),
            "SELECT * FROM events WHERE token = '" + SECRET + "' AND note = 'it''s'"
                + " AND t >= ? AND t < ?",
            rs -> rs.getString(1));
    Map<String, String> shown = displayed(query);
    assertEquals(
        "SELECT * FROM events WHERE token = '***' AND note = '***' AND t >= ? AND t < ?",
        shown.get("sql"));
    assertEquals("postgresql:`db.internal:5432`.app", query.lineage().toString());
  }

  @Test
  public void anHttpQueryShowsItsUrlTemplateAndOnlyTheNamesOfSecrets() {
    HttpTimeRangeQuery<String> query =
        HttpTimeRangeQuery.<String>get(
                "https://api.example.com/v1/events?from={from}&to={to}", json -> json.toString())
            .withSecretHeader("Authorization", "Bearer " + SECRET)
            .withSecretQueryParameter("api_key", SECRET);
    Map<String, String> shown = displayed(query);
    assertEquals("https://api.example.com/v1/events?from={from}&to={to}", shown.get("urlTemplate"));
    assertEquals("Authorization", shown.get("secretHeaders"));
    assertEquals("api_key", shown.get("secretQueryParameters"));
    assertEquals(
        LineageName.of("https", "api.example.com", "v1/events"), query.lineage());
  }

  @Test
  public void logAnalyticsShowsItsKqlAndNamesItsWorkspace() {
    LogAnalyticsQuery query =
        LogAnalyticsQuery.forWorkspace("7f0d3b1e-0000-4000-8000-000000000001", "AppEvents");
    Map<String, String> shown = displayed(query);
    assertEquals("AppEvents", shown.get("kql"));
    assertEquals(
        LineageName.of("azureloganalytics", "7f0d3b1e-0000-4000-8000-000000000001"),
        query.lineage());
  }

  @Test
  public void splunkShowsItsSplAndNamesItsHostAndIndex() {
    SplunkSearchQuery query =
        SplunkSearchQuery.forSearch(
            "https://splunk.example.com:8089", "search index=\"web\" sourcetype=access")
            .withToken(SECRET);
    Map<String, String> shown = displayed(query);
    assertEquals("search index=\"web\" sourcetype=access", shown.get("search"));
    assertEquals(
        LineageName.of("splunk", "splunk.example.com:8089", "web"), query.lineage());
    assertEquals(
        LineageName.of("splunk", "splunk.example.com:8089"),
        SplunkSearchQuery.forSearch("https://splunk.example.com:8089", "search error").lineage());
  }

  @Test
  public void aUrlsNameLeavesOutItsUserQueryAndFragment() {
    assertEquals(
        LineageName.of("http", "127.0.0.1:8080", "a/b"),
        LineageName.ofUrl("HTTP://user:" + SECRET + "@127.0.0.1:8080/a/b/?key=" + SECRET + "#x"));
    assertEquals(LineageName.of("https", "example.com"), LineageName.ofUrl("https://example.com"));
    assertEquals(null, LineageName.ofUrl("example.com/path"));
  }
}
