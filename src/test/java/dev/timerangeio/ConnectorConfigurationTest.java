package dev.timerangeio;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertThrows;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.values.Row;
import org.junit.Test;
import org.junit.function.ThrowingRunnable;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;

/**
 * Every bad setting of the built-in connectors (JDBC source, JDBC sink, HTTP source) fails when it
 * is made, with an {@link IllegalArgumentException} naming the option, the bad value and what is
 * allowed; and never shows a password.
 */
@RunWith(Parameterized.class)
public class ConnectorConfigurationTest {
  private static final String H2 = "jdbc:h2:mem:config";
  private static final String API = "http://127.0.0.1:1/events?since={from}&until={to}";

  private static final JdbcTimeRangeQuery.RowMapper<Long> ID = rs -> rs.getLong("id");
  private static final HttpTimeRangeQuery.RecordMapper<Long> ID_JSON = json -> json.get("id").asLong();
  private static final Schema SCHEMA = Schema.builder().addStringField("name").build();

  private static final List<Object[]> CASES = new ArrayList<>();

  private static void add(String name, ThrowingRunnable setting, String... fragments) {
    CASES.add(new Object[] {name, setting, fragments});
  }

  static {
    // JDBC source.
    add("jdbc url without jdbc:", () -> JdbcTimeRangeQuery.forTable("h2:mem:x", "t", "ts", ID),
        "jdbcUrl", "starting with \"jdbc:\"", "h2:mem:x");
    add("jdbc url shown without its password",
        () -> JdbcTimeRangeQuery.forTable("postgresql://db?password=s3cret", "t", "ts", ID),
        "jdbcUrl", "password=***");
    add("table with a statement after it",
        () -> JdbcTimeRangeQuery.forTable(H2, "events; DROP TABLE events", "ts", ID),
        "forTable: table", "\"events; DROP TABLE events\"", "plain SQL identifier");
    add("time column with a condition",
        () -> JdbcTimeRangeQuery.forTable(H2, "events", "ts) OR (1=1", ID),
        "forTable: timeColumn", "\"ts) OR (1=1\"");
    add("null row mapper", () -> JdbcTimeRangeQuery.forTable(H2, "events", "ts", null),
        "forTable: rowMapper must not be null");
    add("sql with one placeholder",
        () -> JdbcTimeRangeQuery.forSql(H2, "SELECT * FROM events WHERE ts >= ?", ID),
        "forSql", "exactly two '?'", "found 1", "SELECT * FROM events WHERE ts >= ?");
    add("sql with three placeholders",
        () -> JdbcTimeRangeQuery.forSql(H2, "SELECT * FROM e WHERE ts >= ? AND ts < ? AND k = ?", ID),
        "forSql", "found 3");
    add("empty sql", () -> JdbcTimeRangeQuery.forSql(H2, " ", ID), "forSql: sql must not be empty");
    add("fetch size 0", () -> JdbcTimeRangeQuery.forTable(H2, "e", "ts", ID).withFetchSize(0),
        "withFetchSize", "at least 1", "was 0");
    add("no connections", () -> JdbcTimeRangeQuery.forTable(H2, "e", "ts", ID).withMaxConnections(0),
        "withMaxConnections", "at least 1", "was 0");
    add("null zone", () -> JdbcTimeRangeQuery.forTable(H2, "e", "ts", ID).withZone(null),
        "withZone: zone must not be null");
    add("tie-breaker with an ordering",
        () -> JdbcTimeRangeQuery.forTable(H2, "e", "ts", ID).withTieBreakerColumn("id DESC"),
        "withTieBreakerColumn", "\"id DESC\"");
    add("time column of sql with a comment",
        () -> JdbcTimeRangeQuery.forSql(H2, "SELECT * FROM e WHERE ts >= ? AND ts < ?", ID)
            .withTimeColumn("ts --"),
        "withTimeColumn", "\"ts --\"");
    add("null user", () -> JdbcTimeRangeQuery.forTable(H2, "e", "ts", ID).withUsername(null),
        "withUsername: username must not be null");
    // JDBC sink.
    add("sink on an unsupported database",
        () -> JdbcIdempotentSink.forRows("jdbc:sqlserver://db;password=s3cret", "t"),
        "jdbc:sqlserver://db;password=***", "supported are jdbc:h2:, jdbc:postgresql:, jdbc:mariadb:");
    add("sink table with a statement after it",
        () -> JdbcIdempotentSink.forRows(H2, "t; DROP TABLE users"),
        "table", "\"t; DROP TABLE users\"", "plain SQL identifier");
    add("sink key column with a comment",
        () -> JdbcIdempotentSink.forRows(H2, "t").withKeyColumn("k) --"),
        "withKeyColumn", "\"k) --\"");
    add("sink schema field that is two columns",
        () -> JdbcIdempotentSink.forTable(
            H2, "t", Schema.builder().addStringField("name, secret").build(), (Row r) -> r),
        "schema field", "\"name, secret\"");
    add("sink without toRow", () -> JdbcIdempotentSink.forTable(H2, "t", SCHEMA, null),
        "forTable: toRow must not be null");
    add("sink without connections", () -> JdbcIdempotentSink.forRows(H2, "t").withMaxConnections(-2),
        "withMaxConnections", "was -2");
    // HTTP source.
    add("http url of another scheme",
        () -> HttpTimeRangeQuery.get("ftp://host/x?f={from}&t={to}", ID_JSON),
        "url must start with http:// or https://", "ftp://host/x?f={from}&t={to}");
    add("http url without {to}", () -> HttpTimeRangeQuery.get("http://host/x?f={from}", ID_JSON),
        "must contain both {from} and {to}", "http://host/x?f={from}");
    add("http url that is no URI",
        () -> HttpTimeRangeQuery.get("http://host/x y?f={from}&t={to}", ID_JSON),
        "not a valid URI", "http://host/x y");
    add("jdbc url with the password in its user-info",
        () -> JdbcIdempotentSink.forRows("jdbc:db2://u:s3cret@db:50000/x", "t"),
        "jdbc:db2://u:***@db:50000/x");
    add("oracle thin url with credentials",
        () -> JdbcIdempotentSink.forRows("jdbc:oracle:thin:scott/s3cret@//db:1521/x", "t"),
        "jdbc:oracle:thin:scott/***@//db:1521/x");
    add("sql server url with pwd=",
        () -> JdbcIdempotentSink.forRows("jdbc:sqlserver://db;user=u;pwd=s3cret;db=x", "t"),
        "jdbc:sqlserver://db;user=u;pwd=***;db=x");
    add("jdbc schema-qualified tie-breaker",
        () -> JdbcTimeRangeQuery.forTable(H2, "t", "ts", ID).withTieBreakerColumn("s.id"),
        "withTieBreakerColumn", "\"s.id\" is qualified");
    add("jdbc forSql with a literal ? and one placeholder",
        () -> JdbcTimeRangeQuery.forSql(H2, "SELECT * FROM t WHERE note <> '?' AND ts >= ?", ID),
        "exactly two '?' placeholders", "found 1");
    add("jdbc forSql with two statements",
        () -> JdbcTimeRangeQuery.forSql(H2, "SELECT * FROM t WHERE ts >= ? AND ts < ?; DELETE FROM t", ID),
        "one statement");
    add("jdbc forSql with an unclosed quote",
        () -> JdbcTimeRangeQuery.forSql(H2, "SELECT * FROM t WHERE n = 'x AND ts >= ? AND ts < ?", ID),
        "never closed");
    add("jdbc query timeout under a second",
        () -> JdbcTimeRangeQuery.forTable(H2, "t", "ts", ID).withQueryTimeout(Duration.ofMillis(500)),
        "withQueryTimeout", "at least 1 s", "PT0.5S");
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
    add("http without a mapper",
        () -> HttpTimeRangeQuery.get(API, (HttpTimeRangeQuery.RecordMapper<Long>) null),
        "get: mapper must not be null");
  }

  @Parameterized.Parameters(name = "{0}")
  public static List<Object[]> cases() {
    return CASES;
  }

  private final ThrowingRunnable setting;
  private final String[] fragments;

  public ConnectorConfigurationTest(String name, ThrowingRunnable setting, String[] fragments) {
    this.setting = setting;
    this.fragments = fragments;
  }

  @Test
  public void isRejectedWithAMessageNamingOptionAndValue() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, setting);
    for (String fragment : fragments) {
      assertThat(e.getMessage(), containsString(fragment));
    }
    assertThat(e.getMessage(), not(containsString("s3cret")));
  }
}
