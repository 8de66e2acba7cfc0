package dev.timerangeio.jdbc;

import dev.timerangeio.RejectedSettings;
import java.time.Duration;
import java.util.List;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.values.Row;
import org.junit.function.ThrowingRunnable;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;

/**
 * Every bad setting of the JDBC source and sink fails when it is made, with an {@link
 * IllegalArgumentException} naming the option, the bad value and what is allowed; and never shows
 * a password.
 */
@RunWith(Parameterized.class)
public class JdbcConfigurationTest extends RejectedSettings {
  private static final String H2 = "jdbc:h2:mem:config";

  private static final JdbcTimeRangeQuery.RowMapper<Long> ID = rs -> rs.getLong("id");
  private static final Schema SCHEMA = Schema.builder().addStringField("name").build();

  private static final RejectedSettings.Cases CASES = new RejectedSettings.Cases();

  private static void add(String name, ThrowingRunnable setting, String... fragments) {
    CASES.add(name, setting, fragments);
  }

  static {
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
    add("driver class that is no class name",
        () -> JdbcConnection.of(H2).withDriverClassName("org.h2.Driver; DROP"),
        "withDriverClassName", "\"org.h2.Driver; DROP\"", "not a Java class name");
    add("null user", () -> JdbcTimeRangeQuery.forTable(H2, "e", "ts", ID).withUsername(null),
        "withUsername: username must not be null");
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
  }

  @Parameterized.Parameters(name = "{0}")
  public static List<Object[]> cases() {
    return CASES.list();
  }

  public JdbcConfigurationTest(String name, ThrowingRunnable setting, String[] fragments) {
    super(setting, fragments);
  }
}
