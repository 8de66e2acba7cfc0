package dev.timerangeio.jdbc;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.util.List;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * The statements and cursors of {@link JdbcTimeRangeQuery#queryRangePage}: a range read in pages
 * ordered by (time, tie-breaker), each after the last row of the one before; internal.
 */
final class JdbcOrderedReads {
  private JdbcOrderedReads() {}

  /**
   * {@code SELECT * FROM (<sql>) ORDER BY time, tieBreaker}, after a cursor when {@code resumed}
   * (three more parameters: time, time, tie-breaker), with the page's size as a {@code LIMIT}
   * where the database is known to take one (PostgreSQL, H2, MySQL, MariaDB), so the planner walks
   * the time index instead of sorting the rest of the range for each page; elsewhere only JDBC's
   * {@code setMaxRows} stops the read.
   */
  static String rangePageSql(
      String sql, String time, String tieBreaker, boolean resumed, int limit, String jdbcUrl) {
    // On lines of their own, so a trailing -- comment in the query ends before the wrapper goes on.
    return "SELECT * FROM (\n"
        + sql
        + "\n) timerangeio_q"
        + (resumed
            ? " WHERE " + time + " >= ? AND (" + time + " > ? OR " + tieBreaker + " > ?)"
            : "")
        + " ORDER BY "
        + time
        + ", "
        + tieBreaker
        + (takesLimit(jdbcUrl) ? " LIMIT " + limit : "");
  }

  private static boolean takesLimit(String jdbcUrl) {
    return jdbcUrl.startsWith("jdbc:postgresql:")
        || jdbcUrl.startsWith("jdbc:h2:")
        || JdbcSupport.isMysqlLike(jdbcUrl);
  }

  /** The parameters after the range's bounds for a page after {@code cursor} (none: the first). */
  static List<Object> afterParameters(@Nullable Object cursor) {
    if (cursor == null) {
      return List.of();
    }
    List<?> last = (List<?>) cursor;
    return List.of(last.get(0), last.get(0), last.get(1));
  }

  /** A page's cursor: its last row's time value and tie-breaker. */
  static Object cursor(Object time, Object tieBreaker) {
    return List.of(time, tieBreaker);
  }

  /**
   * The time column of the current row as the driver returns it for the kind of column, so it can
   * be bound back unchanged: an {@link OffsetDateTime} for a column holding instants, a {@link
   * LocalDateTime} otherwise; a row without one fails, as it can't be paged past.
   */
  static Object timeValue(ResultSet rs, String column, boolean instants) throws SQLException {
    Object value =
        instants
            ? rs.getObject(column, OffsetDateTime.class)
            : rs.getObject(column, LocalDateTime.class);
    if (value == null) {
      throw new IllegalStateException(
          "paging by time and tie-breaker: a row has NULL in the time column " + column);
    }
    return value;
  }

  /** Epoch microseconds of {@code instant}, floored (a finer time lies in that microsecond). */
  static long floorMicros(Instant instant) {
    return Math.addExact(
        Math.multiplyExact(instant.getEpochSecond(), 1_000_000L), instant.getNano() / 1_000);
  }
}
