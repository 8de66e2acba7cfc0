package dev.timerangeio;

import static org.apache.beam.vendor.guava.v32_1_2_jre.com.google.common.base.Preconditions.checkArgument;
import static org.apache.beam.vendor.guava.v32_1_2_jre.com.google.common.base.Preconditions.checkState;

import java.io.Serializable;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * A {@link TimeRangeQuery} over a SQL table with a timestamp column, through plain JDBC.
 *
 * <pre>{@code
 * JdbcTimeRangeQuery<Event> query =
 *     JdbcTimeRangeQuery.forTable("jdbc:h2:./data/events", "events", "event_time", Event::fromRow);
 * JdbcTimeRangeQuery<Event> custom =
 *     JdbcTimeRangeQuery.forSql(
 *             "jdbc:postgresql://127.0.0.1/test",
 *             "SELECT id, ts, body FROM events WHERE ts >= ? AND ts < ? AND kind = 'click'",
 *             Event::fromRow)
 *         .withTimeColumn("ts")
 *         .withUsername("reader");
 * }</pre>
 *
 * <p>The range's bounds are always bound as statement parameters ({@code >= ?} and {@code < ?}),
 * never concatenated into SQL, as {@link LocalDateTime} values in {@link #withZone the column's
 * zone} (UTC by default) at full microsecond precision. Table and column names are checked
 * against a strict identifier pattern. Each worker copy keeps one connection, opened in {@link
 * #open()} and closed in {@link #close()}; a chunk's rows are read with a fetch size and returned
 * as a list, so size chunks to fit in memory.
 *
 * @param <T> the record type the row mapper builds
 */
public final class JdbcTimeRangeQuery<T> implements TimeRangeQuery<T> {
  private static final long serialVersionUID = 1L;
  /** Default {@link #withFetchSize}. */
  public static final int DEFAULT_FETCH_SIZE = 10_000;

  /** Builds a record from the current row of a result set. */
  @FunctionalInterface
  public interface RowMapper<T> extends Serializable {
    T mapRow(ResultSet resultSet) throws Exception;
  }

  private final String jdbcUrl;
  private final String sql;
  private final @Nullable String table;
  private final @Nullable String timeColumn;
  private final RowMapper<T> rowMapper;
  private final @Nullable String username;
  private final @Nullable String password;
  private final ZoneId zone;
  private final int fetchSize;

  private transient @Nullable Connection connection;

  private JdbcTimeRangeQuery(
      String jdbcUrl,
      String sql,
      @Nullable String table,
      @Nullable String timeColumn,
      RowMapper<T> rowMapper,
      @Nullable String username,
      @Nullable String password,
      ZoneId zone,
      int fetchSize) {
    this.jdbcUrl = jdbcUrl;
    this.sql = sql;
    this.table = table;
    this.timeColumn = timeColumn;
    this.rowMapper = rowMapper;
    this.username = username;
    this.password = password;
    this.zone = zone;
    this.fetchSize = fetchSize;
  }

  /**
   * Reads {@code SELECT * FROM table WHERE timeColumn >= ? AND timeColumn < ?}. {@code table} and
   * {@code timeColumn} must be plain identifiers ({@code name} or {@code schema.name}).
   */
  public static <T> JdbcTimeRangeQuery<T> forTable(
      String jdbcUrl, String table, String timeColumn, RowMapper<T> rowMapper) {
    JdbcSupport.checkUrl(jdbcUrl);
    JdbcSupport.checkIdentifier("table", table);
    JdbcSupport.checkIdentifier("timeColumn", timeColumn);
    checkArgument(rowMapper != null, "forTable: rowMapper must not be null");
    String sql =
        "SELECT * FROM " + table + " WHERE " + timeColumn + " >= ? AND " + timeColumn + " < ?";
    return new JdbcTimeRangeQuery<>(
        jdbcUrl, sql, table, timeColumn, rowMapper, null, null, ZoneOffset.UTC, DEFAULT_FETCH_SIZE);
  }

  /**
   * Reads {@code SELECT * FROM table WHERE timeColumn >= ? AND timeColumn < ?} as Beam {@link
   * org.apache.beam.sdk.values.Row}s whose schema comes from the result set's metadata (one field
   * per column, lower-case names; timestamps as {@code MicrosInstant}), learnt once when the
   * pipeline is built, so the read's output has a schema and schema transforms work downstream.
   */
  public static JdbcTimeRangeQuery<org.apache.beam.sdk.values.Row> forTableAsRows(
      String jdbcUrl, String table, String timeColumn) {
    return forTable(jdbcUrl, table, timeColumn, new ResultSetRows(ZoneOffset.UTC));
  }

  /**
   * The Beam schema of the rows of a {@link #forTableAsRows} query, read from the database the
   * first time it is asked (when the read is applied); null for other queries.
   */
  @Override
  public org.apache.beam.sdk.schemas.@Nullable Schema schema() throws Exception {
    if (!(rowMapper instanceof ResultSetRows)) {
      return null;
    }
    ResultSetRows rows = (ResultSetRows) rowMapper;
    if (rows.schema() == null) {
      try (Connection c = DriverManager.getConnection(jdbcUrl, username, password);
          PreparedStatement statement = c.prepareStatement(sql)) {
        // An empty range: the metadata without the data.
        statement.setObject(1, LocalDateTime.of(1970, 1, 1, 0, 0));
        statement.setObject(2, LocalDateTime.of(1970, 1, 1, 0, 0));
        try (ResultSet rs = statement.executeQuery()) {
          rows.learn(rs.getMetaData());
        }
      }
    }
    return rows.schema();
  }

  /**
   * Reads with {@code sql}, which must hold exactly two {@code ?} placeholders: the inclusive
   * start ({@code time >= ?}) then the exclusive end ({@code time < ?}). For start time {@code
   * "earliest"} also call {@link #withTimeColumn}.
   */
  public static <T> JdbcTimeRangeQuery<T> forSql(String jdbcUrl, String sql, RowMapper<T> rowMapper) {
    JdbcSupport.checkUrl(jdbcUrl);
    checkArgument(sql != null && !sql.isBlank(), "forSql: sql must not be empty, was %s", sql);
    long placeholders = sql.chars().filter(c -> c == '?').count();
    checkArgument(
        placeholders == 2,
        "forSql: sql must hold exactly two '?' placeholders (time >= ? AND time < ?), found %s in:"
            + " %s",
        placeholders,
        sql);
    checkArgument(rowMapper != null, "forSql: rowMapper must not be null");
    return new JdbcTimeRangeQuery<>(
        jdbcUrl, sql, null, null, rowMapper, null, null, ZoneOffset.UTC, DEFAULT_FETCH_SIZE);
  }

  /** The user to connect as. Default: none (the URL's or the driver's default). */
  public JdbcTimeRangeQuery<T> withUsername(String username) {
    checkArgument(username != null, "withUsername: username must not be null");
    return new JdbcTimeRangeQuery<>(
        jdbcUrl, sql, table, timeColumn, rowMapper, username, password, zone, fetchSize);
  }

  /** The password; never shown in display data, logs or messages. Default: none. */
  public JdbcTimeRangeQuery<T> withPassword(String password) {
    checkArgument(password != null, "withPassword: password must not be null");
    return new JdbcTimeRangeQuery<>(
        jdbcUrl, sql, table, timeColumn, rowMapper, username, password, zone, fetchSize);
  }

  /** The zone in which a zone-less timestamp column's values are meant. Default UTC. */
  @SuppressWarnings("unchecked") // a ResultSetRows maps to Row, which T is for forTableAsRows
  public JdbcTimeRangeQuery<T> withZone(ZoneId zone) {
    checkArgument(zone != null, "withZone: zone must not be null");
    RowMapper<T> mapper =
        rowMapper instanceof ResultSetRows
            ? (RowMapper<T>) ((ResultSetRows) rowMapper).inZone(zone)
            : rowMapper;
    return new JdbcTimeRangeQuery<>(
        jdbcUrl, sql, table, timeColumn, mapper, username, password, zone, fetchSize);
  }

  /** Rows fetched per round trip. Default {@link #DEFAULT_FETCH_SIZE}; allowed: 1 or more. */
  public JdbcTimeRangeQuery<T> withFetchSize(int fetchSize) {
    checkArgument(fetchSize >= 1, "withFetchSize: must be at least 1, was %s", fetchSize);
    return new JdbcTimeRangeQuery<>(
        jdbcUrl, sql, table, timeColumn, rowMapper, username, password, zone, fetchSize);
  }

  /** The time column of a {@link #forSql} query, for {@link #earliest()}. */
  public JdbcTimeRangeQuery<T> withTimeColumn(String timeColumn) {
    JdbcSupport.checkIdentifier("withTimeColumn", timeColumn);
    return new JdbcTimeRangeQuery<>(
        jdbcUrl, sql, table, timeColumn, rowMapper, username, password, zone, fetchSize);
  }

  @Override
  public void open() throws SQLException {
    if (connection == null || connection.isClosed()) {
      connection = DriverManager.getConnection(jdbcUrl, username, password);
      // Some drivers (PostgreSQL) only stream with a fetch size inside a transaction.
      connection.setAutoCommit(false);
      connection.setReadOnly(true);
    }
  }

  @Override
  public void close() throws SQLException {
    if (connection != null) {
      try {
        connection.close();
      } finally {
        connection = null;
      }
    }
  }

  private Connection connection() throws SQLException {
    open();
    return connection;
  }

  @Override
  public List<T> query(TimeRange range) throws Exception {
    return query(range, 0);
  }

  /** Stops after {@code limit} rows (JDBC {@code setMaxRows}), so an oversized chunk isn't loaded. */
  @Override
  public List<T> query(TimeRange range, long limit) throws Exception {
    Connection c = connection();
    List<T> records = new ArrayList<>();
    try (PreparedStatement statement = c.prepareStatement(sql)) {
      statement.setFetchSize(fetchSize);
      statement.setMaxRows(limit > 0 && limit <= Integer.MAX_VALUE ? (int) limit : 0);
      statement.setObject(1, toLocal(range.from()));
      statement.setObject(2, toLocal(range.to()));
      try (ResultSet rs = statement.executeQuery()) {
        while (rs.next()) {
          records.add(rowMapper.mapRow(rs));
        }
      }
      c.commit();
    } catch (Exception e) {
      c.rollback();
      throw e;
    }
    return records;
  }

  /** A {@link #forSql} query needs {@link #withTimeColumn} to find its earliest record. */
  @Override
  public boolean supportsEarliest() {
    return timeColumn != null;
  }

  @Override
  public Optional<Instant> earliest() throws Exception {
    checkState(
        timeColumn != null,
        "start time \"earliest\" needs the time column of a forSql query: call"
            + " withTimeColumn(String)");
    Connection c = connection();
    boolean ofTable = table != null;
    String min =
        ofTable
            ? "SELECT MIN(" + timeColumn + ") FROM " + table
            : "SELECT MIN(" + timeColumn + ") FROM (" + sql + ") timerangeio_q";
    try (PreparedStatement statement = c.prepareStatement(min)) {
      if (!ofTable) {
        statement.setObject(1, LocalDateTime.of(1, 1, 1, 0, 0));
        statement.setObject(2, LocalDateTime.of(9999, 12, 31, 23, 59, 59, 999_999_000));
      }
      try (ResultSet rs = statement.executeQuery()) {
        LocalDateTime earliest = rs.next() ? rs.getObject(1, LocalDateTime.class) : null;
        c.commit();
        return earliest == null
            ? Optional.empty()
            : Optional.of(earliest.atZone(zone).toInstant());
      }
    }
  }

  private LocalDateTime toLocal(Instant instant) {
    return LocalDateTime.ofInstant(instant, zone);
  }

  @Override
  public String toString() {
    // No password here: toString ends up in logs and display data.
    return "JdbcTimeRangeQuery{" + JdbcSupport.redact(jdbcUrl) + ", " + sql + ", zone " + zone + "}";
  }
}
