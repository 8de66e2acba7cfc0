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
    limitNetworkWait(c, queryTimeout);
    PreparedStatement statement = c.prepareStatement(statementSql);
    statement.setQueryTimeout((int) Math.min(Integer.MAX_VALUE, queryTimeout.getSeconds()));
    return statement;
  }

  /**
   * Aborts {@code c} when it says nothing for 30 s longer than {@code queryTimeout}: a half-open
   * connection or a metadata call that waits on a lock. The pool resets it when {@code c} goes
   * back.
   */
  static void limitNetworkWait(Connection c, Duration queryTimeout) throws SQLException {
    try {
      c.setNetworkTimeout(
          ABORTS,
          (int) Math.min(Integer.MAX_VALUE, queryTimeout.toMillis() + NETWORK_TIMEOUT_MARGIN_MILLIS));
    } catch (java.sql.SQLFeatureNotSupportedException | AbstractMethodError unsupported) {
      // This driver can't abort a silent connection; the statement timeout still applies.
    }
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

  /**
   * Whether the two placeholders of a {@link JdbcTimeRangeQuery#forSql} query without a time
   * column are compared with instants: as the driver describes them (PostgreSQL and H2 do), else,
   * when no column of the query's result holds an instant, no; else it refuses to guess, since
   * local-time bounds of an instant column shift by the session's time zone (the JVM's).
   */
  static boolean boundsAreInstants(
      Connection c, Duration queryTimeout, String sql, boolean mysqlLike) throws SQLException {
    // The probe runs first, under the statement timeout: it takes the locks a description of
    // the parameters would wait for without one (PostgreSQL parses under the table lock).
    String probe = "SELECT * FROM (\n" + sql + "\n) timerangeio_q WHERE 1 = 0";
    java.util.List<String> instantColumns = new java.util.ArrayList<>();
    try (PreparedStatement statement = prepare(c, queryTimeout, probe)) {
      statement.setObject(1, LocalDateTime.of(1970, 1, 1, 0, 0));
      statement.setObject(2, LocalDateTime.of(1970, 1, 1, 0, 0));
      try (ResultSet rs = statement.executeQuery()) {
        ResultSetMetaData meta = rs.getMetaData();
        for (int i = 1; i <= meta.getColumnCount(); i++) {
          if (JdbcSupport.holdsAnInstant(meta, i, mysqlLike)) {
            instantColumns.add(meta.getColumnLabel(i));
          }
        }
      }
    }
    try (PreparedStatement statement = prepare(c, queryTimeout, sql)) {
      java.sql.ParameterMetaData meta = statement.getParameterMetaData();
      Boolean from = instantType(meta.getParameterType(1), meta.getParameterTypeName(1), mysqlLike);
      Boolean to = instantType(meta.getParameterType(2), meta.getParameterTypeName(2), mysqlLike);
      if (from != null && from.equals(to)) {
        return from;
      }
    } catch (SQLException cantDescribe) {
      // MariaDB's driver doesn't describe parameters; the result's columns decide below.
      c.rollback();
    }
    if (instantColumns.isEmpty()) {
      return false;
    }
    throw new IllegalStateException(
        "forSql: the driver doesn't say what the bounds (the two ?) are compared with, and the"
            + " query's column(s) "
            + instantColumns
            + " hold instants, which local-time bounds would miss by the session's time-zone"
            + " offset; call withTimeColumn(\"<column>\") naming the column the bounds compare"
            + " with, so its type decides");
  }

  /** True for a type with a zone, false for a zone-less timestamp, null for anything else. */
  private static @Nullable Boolean instantType(int type, @Nullable String name, boolean mysqlLike) {
    String lower = String.valueOf(name).toLowerCase(java.util.Locale.ROOT);
    if (type == java.sql.Types.TIMESTAMP_WITH_TIMEZONE
        || lower.equals("timestamptz")
        || lower.contains("with time zone")) {
      return true;
    }
    // MySQL's TIMESTAMP holds an instant under the same type: its drivers can't tell.
    return type == java.sql.Types.TIMESTAMP && !mysqlLike ? false : null;
  }
}
