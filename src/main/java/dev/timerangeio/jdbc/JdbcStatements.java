package dev.timerangeio.jdbc;

import dev.timerangeio.TimeRange;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.time.Duration;
import java.time.LocalDateTime;
import org.checkerframework.checker.nullness.qual.Nullable;

/** How the JDBC source runs a statement and reads its rows; internal. */
final class JdbcStatements {
  /** How much longer than the query timeout a silent connection is waited for. */
  private static final long NETWORK_TIMEOUT_MARGIN_MILLIS = 30_000;
  /** Runs the drivers' network-timeout aborts. */
  private static final java.util.concurrent.Executor ABORTS =
      java.util.concurrent.Executors.newCachedThreadPool(
          r -> {
            Thread t = new Thread(r, "timerangeio-jdbc-abort");
            t.setDaemon(true);
            return t;
          });

  private JdbcStatements() {}

  /**
   * A statement with the query timeout, on a connection with the network timeout (the pool
   * resets it when the connection goes back). A driver without network timeouts still gets the
   * statement timeout.
   */
  static PreparedStatement prepare(Connection c, Duration queryTimeout, String statementSql)
      throws SQLException {
    try {
      c.setNetworkTimeout(
          ABORTS,
          (int) Math.min(Integer.MAX_VALUE, queryTimeout.toMillis() + NETWORK_TIMEOUT_MARGIN_MILLIS));
    } catch (java.sql.SQLFeatureNotSupportedException | AbstractMethodError unsupported) {
      // This driver can't abort a silent connection; the statement timeout still applies.
    }
    PreparedStatement statement = c.prepareStatement(statementSql);
    statement.setQueryTimeout((int) Math.min(Integer.MAX_VALUE, queryTimeout.getSeconds()));
    return statement;
  }

  /** The tie-breaker of the current row as an offset field: a Long, a BigInteger or a String. */
  static Object tieBreaker(ResultSet rs, String column, TimeRange microsecond)
      throws SQLException {
    Object value = rs.getObject(column);
    if (value instanceof Integer || value instanceof Short || value instanceof Byte) {
      return ((Number) value).longValue();
    }
    if (value instanceof BigDecimal) {
      try {
        BigInteger exact = ((BigDecimal) value).toBigIntegerExact();
        return exact.bitLength() < 64 ? (Object) exact.longValue() : exact;
      } catch (ArithmeticException notAnInteger) {
        value = "a fraction " + value;
      }
    }
    if (value instanceof Long || value instanceof BigInteger || value instanceof String) {
      return value;
    }
    throw new IllegalStateException(
        "withTieBreakerColumn(\""
            + column
            + "\"): a row of the microsecond "
            + microsecond.from()
            + " has "
            + (value == null ? "NULL" : value + " (" + value.getClass().getName() + ")")
            + " there; a tie-breaker must be a non-null integer or string");
  }

  /** The current row's columns as text, for a bad-record handler; long values cut short. */
  static String describeRow(ResultSet rs) {
    StringBuilder text = new StringBuilder("{");
    try {
      ResultSetMetaData meta = rs.getMetaData();
      for (int i = 1; i <= meta.getColumnCount(); i++) {
        String value = String.valueOf(rs.getString(i));
        text.append(i > 1 ? ", " : "")
            .append(meta.getColumnLabel(i))
            .append('=')
            .append(value.length() > 200 ? value.substring(0, 200) + "…" : value);
      }
    } catch (SQLException e) {
      text.append("(the row can't be read: ").append(e.getMessage()).append(')');
    }
    return text.append('}').toString();
  }

  /**
   * Whether {@code timeColumn} holds instants (a type with a zone or offset), asked of an empty
   * answer: of {@code table} when there is one, else of the statement {@code sql}.
   */
  static boolean holdsInstants(
      Connection c,
      Duration queryTimeout,
      @Nullable String table,
      String timeColumn,
      String sql,
      boolean mysqlLike)
      throws SQLException {
    String probe =
        table != null
            ? "SELECT " + timeColumn + " FROM " + table + " WHERE 1 = 0"
            : "SELECT " + timeColumn + " FROM (\n" + sql + "\n) timerangeio_q WHERE 1 = 0";
    try (PreparedStatement statement = prepare(c, queryTimeout, probe)) {
      if (table == null) {
        statement.setObject(1, LocalDateTime.of(1970, 1, 1, 0, 0));
        statement.setObject(2, LocalDateTime.of(1970, 1, 1, 0, 0));
      }
      try (ResultSet rs = statement.executeQuery()) {
        return JdbcSupport.holdsAnInstant(rs.getMetaData(), 1, mysqlLike);
      }
    }
  }
}
