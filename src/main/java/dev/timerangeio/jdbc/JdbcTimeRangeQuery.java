package dev.timerangeio.jdbc;

import static dev.timerangeio.Checks.checkArgument;
import static dev.timerangeio.Checks.checkState;

import com.google.auto.value.AutoValue;
import dev.timerangeio.LineageName;
import dev.timerangeio.ResultQuery;
import dev.timerangeio.TimeRange;
import dev.timerangeio.TimeRangeQuery;
import dev.timerangeio.TransientSourceException;
import java.io.Serializable;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.transforms.display.HasDisplayData;
import org.apache.beam.sdk.values.Row;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * A {@link TimeRangeQuery} over a SQL table with a timestamp column, through JDBC.
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
 *         .withTieBreakerColumn("id")
 *         .withUsername("reader");
 * }</pre>
 *
 * <p><b>Bounds.</b> The range's bounds are always bound as statement parameters ({@code >= ?} and
 * {@code < ?}), never concatenated into SQL, at full microsecond precision. For a time column that
 * holds instants ({@code timestamptz}, {@code TIMESTAMP WITH TIME ZONE}, MariaDB's {@code
 * TIMESTAMP}; learnt from the column's type, so a {@link #forSql} query needs {@link
 * #withTimeColumn}), they are instants, so the session's time zone plays no part; otherwise they
 * are {@link LocalDateTime} values in {@link #withZone the column's zone} (UTC by default). The
 * MariaDB driver converts instants through its connection time zone, the JVM's by default: on
 * workers not running in UTC add {@code
 * connectionTimeZone=UTC&forceConnectionTimeZoneToSession=true&preserveInstants=true} to the URL.
 * Table and column names are checked against a strict identifier pattern.
 *
 * <p><b>Zone-less columns and daylight saving.</b> A zone-less value is read as {@link
 * #instantOf}: in the hour a fall-back repeats, as its first pass (a zone-less column can't tell
 * the passes apart, so rows written in the second pass get a time one offset change early); a
 * value inside a spring-forward gap, as the instant of the change. The bounds of each query are
 * chosen to match, so every row is still read exactly once. Store instants ({@code timestamptz},
 * or UTC) to avoid the ambiguity.
 *
 * <p><b>Connections.</b> The copies of the query in a worker JVM share a connection pool
 * (HikariCP, at most {@link #withMaxConnections} connections), joined in {@link #open()} and left
 * in {@link #close()}; each query borrows one read-only connection. A chunk's rows are fetched
 * {@link #withFetchSize} at a time and returned as a list of at most the read's limit ({@code
 * setMaxRows}): the read's {@code withMaxRowsPerQuery}, or its memory bound, plus one.
 *
 * <p><b>Large chunks and crowded microseconds.</b> With {@link #withTieBreakerColumn} and a time
 * column ({@link #forTable}, or {@link #withTimeColumn}), a chunk over the limit is read in keyset
 * pages ordered by (time, tie-breaker) ({@link #queryRangePage}); with a tie-breaker only, a
 * microsecond over it is read in pages ordered by that column.
 *
 * <p><b>Empty stretches.</b> With a time column, the read asks {@code SELECT MIN(time)} over the
 * query after an empty chunk ({@link #nextRecordTime}) and skips the empty chunks before the
 * answer; an index on the time column answers it without reading rows.
 *
 * <p><b>Rows that can't be mapped.</b> When the row mapper throws, the row (its columns as text)
 * and the exception go to the read's {@code withBadRecordErrorHandler}; without one the bundle
 * fails with the mapper's exception.
 *
 * @param <T> the record type the row mapper builds
 */
@AutoValue
public abstract class JdbcTimeRangeQuery<T> extends ResultQuery<T> implements HasDisplayData {
  private static final long serialVersionUID = 1L;
  /** Default {@link #withFetchSize}. */
  public static final int DEFAULT_FETCH_SIZE = 10_000;
  /** Default {@link #withQueryTimeout}: five minutes. */
  public static final java.time.Duration DEFAULT_QUERY_TIMEOUT = java.time.Duration.ofMinutes(5);
  /** Default {@link #withMaxPagesPerQuery}: 10,000 pages. */
  public static final int DEFAULT_MAX_PAGES_PER_QUERY = 10_000;


  /** Builds a record from the current row of a result set. */
  @FunctionalInterface
  public interface RowMapper<T> extends Serializable {
    T mapRow(ResultSet resultSet) throws Exception;
  }

  // Per copy, learnt on first use: whether the time column holds instants (timestamptz).
  private transient @Nullable Boolean instantColumn;
  // Per copy: the pages of the microsecond being paged.
  private transient @Nullable JdbcPageCursors pageCursors;

  JdbcTimeRangeQuery() {}

  abstract JdbcPool pool();

  /** The statement: two placeholders, the range's start and end. */
  abstract String sql();

  abstract @Nullable String table();

  abstract @Nullable String timeColumn();

  abstract @Nullable String tieBreakerColumn();

  abstract RowMapper<T> rowMapper();

  abstract ZoneId zone();

  abstract int fetchSize();

  abstract java.time.Duration queryTimeout();

  abstract int maxPagesPerQuery();

  abstract Builder<T> toBuilder();

  @AutoValue.Builder
  abstract static class Builder<T> {
    abstract Builder<T> setPool(JdbcPool pool);

    abstract Builder<T> setSql(String sql);

    abstract Builder<T> setTable(@Nullable String table);

    abstract Builder<T> setTimeColumn(@Nullable String column);

    abstract Builder<T> setTieBreakerColumn(@Nullable String column);

    abstract Builder<T> setRowMapper(RowMapper<T> mapper);

    abstract Builder<T> setZone(ZoneId zone);

    abstract Builder<T> setFetchSize(int fetchSize);

    abstract Builder<T> setQueryTimeout(java.time.Duration timeout);

    abstract Builder<T> setMaxPagesPerQuery(int maxPages);

    abstract JdbcTimeRangeQuery<T> build();
  }

  private static <T> Builder<T> builder(
      JdbcConnection connection, String sql, RowMapper<T> rowMapper) {
    return new AutoValue_JdbcTimeRangeQuery.Builder<T>()
        .setPool(JdbcPool.of(connection, true))
        .setSql(sql)
        .setRowMapper(rowMapper)
        .setZone(ZoneOffset.UTC)
        .setFetchSize(DEFAULT_FETCH_SIZE)
        .setQueryTimeout(DEFAULT_QUERY_TIMEOUT)
        .setMaxPagesPerQuery(DEFAULT_MAX_PAGES_PER_QUERY);
  }

  /**
   * Reads {@code SELECT * FROM table WHERE timeColumn >= ? AND timeColumn < ?}. {@code table} and
   * {@code timeColumn} must be plain identifiers ({@code name} or {@code schema.name}).
   */
  public static <T> JdbcTimeRangeQuery<T> forTable(
      String jdbcUrl, String table, String timeColumn, RowMapper<T> rowMapper) {
    return forTable(JdbcConnection.of(jdbcUrl), table, timeColumn, rowMapper);
  }

  /** {@link #forTable(String, String, String, RowMapper)} over {@code connection}. */
  public static <T> JdbcTimeRangeQuery<T> forTable(
      JdbcConnection connection, String table, String timeColumn, RowMapper<T> rowMapper) {
    checkArgument(connection != null, "forTable: connection must not be null");
    JdbcSupport.checkIdentifier("forTable: table", table);
    JdbcSupport.checkIdentifier("forTable: timeColumn", timeColumn);
    checkArgument(rowMapper != null, "forTable: rowMapper must not be null");
    String sql =
        "SELECT * FROM " + table + " WHERE " + timeColumn + " >= ? AND " + timeColumn + " < ?";
    return builder(connection, sql, rowMapper).setTable(table).setTimeColumn(timeColumn).build();
  }

  /**
   * Reads {@code SELECT * FROM table WHERE timeColumn >= ? AND timeColumn < ?} as Beam {@link
   * Row}s whose schema comes from the result set's metadata (one field per column, lower-case
   * names; timestamps as {@code MicrosInstant}), learnt once when the pipeline is built, so the
   * read's output has a schema and schema transforms work downstream.
   */
  public static JdbcTimeRangeQuery<Row> forTableAsRows(
      String jdbcUrl, String table, String timeColumn) {
    return forTableAsRows(JdbcConnection.of(jdbcUrl), table, timeColumn);
  }

  /** {@link #forTableAsRows(String, String, String)} over {@code connection}. */
  public static JdbcTimeRangeQuery<Row> forTableAsRows(
      JdbcConnection connection, String table, String timeColumn) {
    return forTable(connection, table, timeColumn, new ResultSetRows(ZoneOffset.UTC));
  }

  /**
   * Reads with {@code sql}, which must hold exactly two {@code ?} placeholders: the inclusive
   * start ({@code time >= ?}) then the exclusive end ({@code time < ?}). For start time {@code
   * "earliest"} also call {@link #withTimeColumn}. Without it, whether the bounds are instants or
   * local times is learnt from the driver's description of the placeholders (PostgreSQL, H2);
   * a driver that can't describe them (MariaDB, MySQL) gets local times when no column of the
   * query's result holds an instant, and otherwise the first query fails asking for {@link
   * #withTimeColumn} rather than guess (a guess shifts the range by the session's time zone).
   */
  public static <T> JdbcTimeRangeQuery<T> forSql(String jdbcUrl, String sql, RowMapper<T> rowMapper) {
    return forSql(JdbcConnection.of(jdbcUrl), sql, rowMapper);
  }

  /** {@link #forSql(String, String, RowMapper)} over {@code connection}. */
  public static <T> JdbcTimeRangeQuery<T> forSql(
      JdbcConnection connection, String sql, RowMapper<T> rowMapper) {
    checkArgument(connection != null, "forSql: connection must not be null");
    checkArgument(sql != null && !sql.isBlank(), "forSql: sql must not be empty, was %s", sql);
    JdbcSupport.SqlShape shape = JdbcSupport.shapeOf(sql);
    checkArgument(
        shape.placeholders == 2,
        "forSql: sql must hold exactly two '?' placeholders (time >= ? AND time < ?; a ? in a"
            + " string literal, a comment or PostgreSQL's ?? operator doesn't count), found %s in:"
            + " %s",
        shape.placeholders,
        sql);
    if (shape.trailingSemicolon >= 0) {
      // The statement is wrapped when a crowded microsecond is paged: a ; inside would end it.
      sql = sql.substring(0, shape.trailingSemicolon) + sql.substring(shape.trailingSemicolon + 1);
    }
    checkArgument(rowMapper != null, "forSql: rowMapper must not be null");
    return builder(connection, sql, rowMapper).build();
  }

  /**
   * The instant TimeRangeIO reads a zone-less value {@code local} of a column in {@code zone} as:
   * in a repeated (fall-back) hour the first pass, in a spring-forward gap the instant of the
   * change, otherwise the one instant it names. Use it in a {@link RowMapper} whose record carries
   * the row's time, so the time lies in the range the row was read for.
   */
  public static Instant instantOf(LocalDateTime local, ZoneId zone) {
    checkArgument(local != null && zone != null, "instantOf: local and zone must not be null");
    return JdbcSupport.instantOf(local, zone);
  }

  /** Where this query connects: URL, user, password and pool size. */
  public JdbcConnection connection() {
    return pool().jdbcConnection();
  }

  /** Connects with {@code connection} (its URL, user, password and pool size) instead. */
  public JdbcTimeRangeQuery<T> withConnection(JdbcConnection connection) {
    checkArgument(connection != null, "withConnection: connection must not be null");
    return toBuilder().setPool(JdbcPool.of(connection, true)).build();
  }

  /** {@link JdbcConnection#withUsername} of this query's connection. */
  public JdbcTimeRangeQuery<T> withUsername(String username) {
    return withConnection(connection().withUsername(username));
  }

  /** {@link JdbcConnection#withPassword} of this query's connection. */
  public JdbcTimeRangeQuery<T> withPassword(String password) {
    return withConnection(connection().withPassword(password));
  }

  /** {@link JdbcConnection#withPassword(Secret)} of this query's connection: resolved on the worker. */
  public JdbcTimeRangeQuery<T> withPassword(org.apache.beam.sdk.util.Secret password) {
    return withConnection(connection().withPassword(password));
  }

  /**
   * {@link JdbcConnection#withMaxConnections} of this query's connection: queries beyond it wait
   * for a free connection (and count as transient failures after 30 s).
   */
  public JdbcTimeRangeQuery<T> withMaxConnections(int maxConnections) {
    return withConnection(connection().withMaxConnections(maxConnections));
  }

  /** The zone in which a zone-less timestamp column's values are meant. Default UTC. */
  @SuppressWarnings("unchecked") // a ResultSetRows maps to Row, which T is for forTableAsRows
  public JdbcTimeRangeQuery<T> withZone(ZoneId zone) {
    checkArgument(zone != null, "withZone: zone must not be null");
    RowMapper<T> mapper =
        rowMapper() instanceof ResultSetRows
            ? (RowMapper<T>) ((ResultSetRows) rowMapper()).inZone(zone)
            : rowMapper();
    return toBuilder().setZone(zone).setRowMapper(mapper).build();
  }

  /**
   * The longest one statement may run ({@code Statement.setQueryTimeout}, whole seconds, at least
   * one); a connection that says nothing for 30 s longer is aborted ({@code
   * Connection.setNetworkTimeout}), so a lock wait or a half-open connection ends as a transient
   * failure the read retries within {@code withMaxRetryDuration}, instead of blocking forever.
   * Default {@link #DEFAULT_QUERY_TIMEOUT}; allowed: 1 s or more.
   */
  public JdbcTimeRangeQuery<T> withQueryTimeout(java.time.Duration timeout) {
    checkArgument(
        timeout != null && timeout.getSeconds() >= 1,
        "withQueryTimeout: must be at least 1 s, was %s",
        timeout);
    return toBuilder().setQueryTimeout(timeout).build();
  }

  /**
   * The most pages one crowded microsecond is read in ({@link #withTieBreakerColumn}); one more
   * fails the read, as does a page that starts after a tie-breaker an earlier page of the same
   * microsecond already started after (a tie-breaker whose order the database doesn't keep, say
   * a collation that {@code >} and {@code ORDER BY} apply differently, would otherwise page in a
   * cycle forever). Default {@link #DEFAULT_MAX_PAGES_PER_QUERY}; allowed: 1 or more.
   */
  public JdbcTimeRangeQuery<T> withMaxPagesPerQuery(int maxPages) {
    checkArgument(maxPages >= 1, "withMaxPagesPerQuery: must be at least 1, was %s", maxPages);
    return toBuilder().setMaxPagesPerQuery(maxPages).build();
  }

  /** Rows fetched per round trip. Default {@link #DEFAULT_FETCH_SIZE}; allowed: 1 or more. */
  public JdbcTimeRangeQuery<T> withFetchSize(int fetchSize) {
    checkArgument(fetchSize >= 1, "withFetchSize: must be at least 1, was %s", fetchSize);
    return toBuilder().setFetchSize(fetchSize).build();
  }

  /**
   * The time column of a {@link #forSql} query: the column its two placeholders bound ({@code
   * time >= ? AND time < ?}), by its name in the query's result. It tells whether the bounds are
   * instants, finds the earliest record ({@link #earliest()}), skips empty stretches ({@code
   * MIN(time)}, {@link #nextRecordTime}; an answer the query's own rows contradict fails naming
   * this option) and, with {@link #withTieBreakerColumn}, pages large chunks. Default: none.
   */
  public JdbcTimeRangeQuery<T> withTimeColumn(String timeColumn) {
    JdbcSupport.checkIdentifier("withTimeColumn", timeColumn);
    return toBuilder().setTimeColumn(timeColumn).build();
  }

  /**
   * A column that orders the rows of one microsecond: unique within a microsecond, never null, of
   * an integer or string type (an id or sequence number). A microsecond holding more rows than the
   * read's {@code withMaxRowsPerQuery} is then read in pages ({@code ... AND column > ? ORDER BY
   * column}) instead of failing. Default: none.
   */
  public JdbcTimeRangeQuery<T> withTieBreakerColumn(String column) {
    JdbcSupport.checkIdentifier("withTieBreakerColumn", column);
    checkArgument(
        !column.contains("."),
        "withTieBreakerColumn: \"%s\" is qualified; pages are read as SELECT * FROM (<query>)"
            + " ORDER BY <column>, where only a plain column name of the query's result works",
        column);
    return toBuilder().setTieBreakerColumn(column).build();
  }

  /**
   * The Beam schema of the rows of a {@link #forTableAsRows} query, read from the database the
   * first time it is asked (when the read is applied); null for other queries.
   */
  @Override
  public @Nullable Schema schema() throws Exception {
    if (!(rowMapper() instanceof ResultSetRows)) {
      return null;
    }
    ResultSetRows rows = (ResultSetRows) rowMapper();
    if (rows.schema() == null) {
      // At expand time: the message reaches the user, so it is scrubbed of secrets.
      try (Connection c = pool().connection();
          PreparedStatement statement = JdbcStatements.prepare(c, queryTimeout(), sql())) {
        // An empty range: the metadata without the data.
        statement.setObject(1, LocalDateTime.of(1970, 1, 1, 0, 0));
        statement.setObject(2, LocalDateTime.of(1970, 1, 1, 0, 0));
        try (ResultSet rs = statement.executeQuery()) {
          rows.learn(rs.getMetaData(), JdbcSupport.isMysqlLike(pool().jdbcUrl()));
        }
        c.rollback();
      } catch (Exception e) {
        throw pool().scrub(e);
      } finally {
        pool().close();
      }
    }
    return rows.schema();
  }

  @Override
  public void open() throws SQLException {
    pool().open();
  }

  @Override
  public void close() {
    pool().close();
  }

  /**
   * The records of {@code range} and the rows the row mapper failed on; stops after {@code limit}
   * rows (JDBC {@code setMaxRows}), so an oversized chunk isn't loaded.
   */
  @Override
  public Result<T> queryResult(TimeRange range, long limit) throws Exception {
    try {
      return run(sql(), range, List.of(), limit, null).rows.build();
    } catch (Exception e) {
      throw pool().scrub(e);
    }
  }

  @Override
  public boolean supportsPaging() {
    return tieBreakerColumn() != null;
  }

  @Override
  public Page<T> queryPage(TimeRange microsecond, @Nullable Object after, int limit)
      throws Exception {
    checkState(
        tieBreakerColumn() != null,
        "paging a microsecond needs a tie-breaker column: call withTieBreakerColumn(String)");
    if (pageCursors == null) {
      pageCursors = new JdbcPageCursors();
    }
    String column = tieBreakerColumn();
    pageCursors.count(microsecond, after, column, maxPagesPerQuery());
    // On lines of their own, so a trailing -- comment in the query ends before the wrapper goes on.
    String paged =
        "SELECT * FROM (\n"
            + sql()
            + "\n) timerangeio_q"
            + (after == null ? "" : " WHERE " + column + " > ?")
            + " ORDER BY "
            + column;
    try {
      Answer<T> answer =
          run(
              paged,
              microsecond,
              after == null ? List.of() : List.of(after),
              limit,
              (rs, c) -> JdbcStatements.tieBreaker(rs, column, microsecond));
      return Page.of(answer.rows.build(), answer.lastCursor);
    } catch (Exception e) {
      throw pool().scrub(e);
    }
  }



  /**
   * Pages by (time, tie-breaker) need both columns in the query's result, by plain name: {@link
   * #withTieBreakerColumn} and a time column ({@link #forTable}, or {@link #withTimeColumn}).
   */
  @Override
  public boolean supportsRangePaging() {
    return tieBreakerColumn() != null && timeColumn() != null && !timeColumn().contains(".");
  }

  /**
   * A page of {@code range} by keyset: {@code SELECT * FROM (<query>) ORDER BY time,
   * tie-breaker}, after the first page only the rows after the last one's {@code (time,
   * tie-breaker)}, written {@code time >= ? AND (time > ? OR tie-breaker > ?)} so that an index on
   * the time column starts the scan where the last page ended. The cursor is the last row's time,
   * as the driver returned it (bound back unchanged, so no precision or zone is lost), and
   * tie-breaker.
   */
  @Override
  public Page<T> queryRangePage(TimeRange range, @Nullable Object after, int limit)
      throws Exception {
    checkState(
        supportsRangePaging(),
        "paging a range needs a tie-breaker column and a plain time column: call"
            + " withTieBreakerColumn(String) and withTimeColumn(String)");
    String time = timeColumn();
    String tieBreaker = tieBreakerColumn();
    String paged =
        JdbcOrderedReads.rangePageSql(
            sql(), time, tieBreaker, after != null, limit, pool().jdbcUrl());
    try {
      Answer<T> answer =
          run(
              paged,
              range,
              JdbcOrderedReads.afterParameters(after),
              limit,
              (rs, c) ->
                  JdbcOrderedReads.cursor(
                      JdbcOrderedReads.timeValue(rs, time, holdsInstants(c)),
                      JdbcStatements.tieBreaker(rs, tieBreaker, range)));
      return Page.of(answer.rows.build(), answer.lastCursor);
    } catch (Exception e) {
      throw pool().scrub(e);
    }
  }

  /** With a time column ({@link #forTable}, or {@link #withTimeColumn}): {@code MIN(time)}. */
  @Override
  public boolean supportsNextRecordTime() {
    return timeColumn() != null;
  }

  /**
   * {@code SELECT MIN(time) FROM (<query>)} over {@code range}: answered from an index on the
   * time column, and with the query's own filter, so it is the first record the read would get.
   */
  @Override
  public OptionalLong nextRecordTime(TimeRange range) throws Exception {
    checkState(
        timeColumn() != null,
        "the time of the next record needs the time column of a forSql query: call"
            + " withTimeColumn(String)");
    String min = "SELECT MIN(" + timeColumn() + ") FROM (\n" + sql() + "\n) timerangeio_q";
    try (Connection c = pool().connection();
        PreparedStatement statement = JdbcStatements.prepare(c, queryTimeout(), min)) {
      statement.setObject(1, bound(c, range.from()));
      statement.setObject(2, bound(c, range.to()));
      Optional<Instant> first;
      try (ResultSet rs = statement.executeQuery()) {
        first = rs.next() ? timeOf(rs, holdsInstants(c)) : Optional.empty();
      }
      OptionalLong answer =
          first.isPresent()
              ? OptionalLong.of(JdbcOrderedReads.floorMicros(first.get()))
              : OptionalLong.empty();
      checkNoRowBefore(c, range, answer);
      c.commit();
      return answer;
    } catch (Exception e) {
      throw pool().scrub(e);
    }
  }

  /**
   * Refuses an answer of {@link #nextRecordTime} that the query's own statement contradicts: a row
   * in {@code [range start, answer)} (the whole range for "none") means the time column is not the
   * column the two placeholders bound (say, the query reads by ingestion time and withTimeColumn
   * names the event time), and trusting MIN of it would claim chunks holding records as empty.
   * One more query, of at most one row, on the column the query is bounded by.
   */
  private void checkNoRowBefore(Connection c, TimeRange range, OptionalLong answer)
      throws Exception {
    long end = answer.isPresent() ? answer.getAsLong() : range.toMicros();
    if (end <= range.fromMicros()) {
      return;
    }
    TimeRange before = TimeRange.of(range.fromMicros(), end);
    boolean contradicted;
    try (PreparedStatement statement = JdbcStatements.prepare(c, queryTimeout(), sql())) {
      statement.setMaxRows(1);
      statement.setObject(1, bound(c, before.from()));
      statement.setObject(2, bound(c, before.to()));
      try (ResultSet rs = statement.executeQuery()) {
        contradicted = rs.next();
      }
    }
    checkState(
        !contradicted,
        "JdbcTimeRangeQuery: the query returns rows in %s, before the first value of its time"
            + " column there (withTimeColumn(\"%s\"): %s); the time column must be the one the"
            + " query's two placeholders bound (time >= ? AND time < ?), or the read would skip"
            + " chunks that hold records as empty. Name that column in withTimeColumn.",
        before,
        timeColumn(),
        answer.isPresent() ? before.to() : "none");
  }

  /** The first column of the current row as an instant: the read's view of a time value. */
  private Optional<Instant> timeOf(ResultSet rs, boolean instants) throws SQLException {
    if (instants) {
      OffsetDateTime t = rs.getObject(1, OffsetDateTime.class);
      return Optional.ofNullable(t == null ? null : t.toInstant());
    }
    LocalDateTime t = rs.getObject(1, LocalDateTime.class);
    return Optional.ofNullable(t == null ? null : JdbcSupport.instantOf(t, zone()));
  }

  /** Records of one statement, and the cursor of its last row when paging. */
  private static final class Answer<T> {
    final Result.Builder<T> rows = Result.builder();
    @Nullable Object lastCursor;
  }

  /** Where a page's row stands, for the next page to start after it. */
  @FunctionalInterface
  private interface RowCursor {
    Object of(ResultSet rs, Connection c) throws SQLException;
  }

  private Answer<T> run(
      String statementSql,
      TimeRange range,
      List<Object> after,
      long limit,
      @Nullable RowCursor cursor)
      throws Exception {
    return execute(
        statementSql,
        range,
        after,
        limit,
        (rs, c) -> {
          Answer<T> answer = new Answer<>();
          while (rs.next()) {
            if (cursor != null) {
              answer.lastCursor = cursor.of(rs, c);
            }
            try {
              answer.rows.add(rowMapper().mapRow(rs));
            } catch (Exception e) {
              answer.rows.addUnmapped(JdbcStatements.describeRow(rs), e);
            }
          }
          return answer;
        });
  }

  /** What a statement's result set is made into. */
  private interface ResultReader<R> {
    R read(ResultSet rs, Connection c) throws Exception;
  }

  /**
   * Runs a statement bound to {@code range} (and the cursor values {@code after} when paging) in
   * its own transaction; a lost connection is a transient failure.
   */
  private <R> R execute(
      String statementSql,
      TimeRange range,
      List<Object> after,
      long limit,
      ResultReader<R> reader)
      throws Exception {
    try (Connection c = pool().connection()) {
      try (PreparedStatement statement = JdbcStatements.prepare(c, queryTimeout(), statementSql)) {
        statement.setFetchSize(fetchSize());
        statement.setMaxRows(limit > 0 && limit <= Integer.MAX_VALUE ? (int) limit : 0); // 0: no cap
        statement.setObject(1, bound(c, range.from()));
        statement.setObject(2, bound(c, range.to()));
        for (int i = 0; i < after.size(); i++) {
          Object value = after.get(i);
          statement.setObject(
              3 + i, value instanceof BigInteger ? new BigDecimal((BigInteger) value) : value);
        }
        R result;
        try (ResultSet rs = statement.executeQuery()) {
          result = reader.read(rs, c);
        }
        c.commit();
        return result;
      } catch (Exception e) {
        JdbcSupport.rollbackQuietly(c, e);
        if (pool().lostConnection(c)) {
          throw new TransientSourceException(
              "the connection to " + pool().redactedUrl() + " was lost: " + e, e);
        }
        throw e;
      }
    }
  }

  /** The query counts: {@code SELECT COUNT(*)} over the query itself, for a read's lookback. */
  @Override
  public boolean supportsCount() {
    return true;
  }

  /**
   * {@code SELECT COUNT(*) FROM (<query>)} bound to {@code range}: the rows a query of the range
   * returns now, those the row mapper can't map included.
   */
  @Override
  public long count(TimeRange range) throws Exception {
    // On lines of their own, so a trailing -- comment in the query ends before the wrapper goes on.
    String counting = "SELECT COUNT(*) FROM (\n" + sql() + "\n) timerangeio_q";
    try {
      return execute(
          counting,
          range,
          List.of(),
          0,
          (rs, c) -> {
            rs.next();
            return rs.getLong(1);
          });
    } catch (Exception e) {
      throw pool().scrub(e);
    }
  }

  /**
   * A range bound as a statement parameter: for a column that holds instants, the instant itself
   * (an {@code OffsetDateTime} in UTC), so the session's time zone plays no part; for a zone-less
   * column, the least local time in {@link #zone()} that maps at or after it.
   */
  private Object bound(Connection c, Instant instant) throws SQLException {
    return holdsInstants(c)
        ? OffsetDateTime.ofInstant(instant, ZoneOffset.UTC)
        : JdbcSupport.localBound(instant, zone());
  }

  private boolean holdsInstants(Connection c) throws SQLException {
    if (instantColumn == null) {
      boolean mysqlLike = JdbcSupport.isMysqlLike(pool().jdbcUrl());
      instantColumn =
          timeColumn() != null
              ? JdbcStatements.holdsInstants(
                  c, queryTimeout(), table(), timeColumn(), sql(), mysqlLike)
              : JdbcStatements.boundsAreInstants(c, queryTimeout(), sql(), mysqlLike);
    }
    return instantColumn;
  }

  /** A {@link #forSql} query needs {@link #withTimeColumn} to find its earliest record. */
  @Override
  public boolean supportsEarliest() {
    return timeColumn() != null;
  }

  @Override
  public Optional<Instant> earliest() throws Exception {
    try {
      return findEarliest();
    } catch (Exception e) {
      throw pool().scrub(e);
    }
  }

  private Optional<Instant> findEarliest() throws Exception {
    checkState(
        timeColumn() != null,
        "start time \"earliest\" needs the time column of a forSql query: call"
            + " withTimeColumn(String)");
    boolean ofTable = table() != null;
    String min =
        ofTable
            ? "SELECT MIN(" + timeColumn() + ") FROM " + table()
            : "SELECT MIN(" + timeColumn() + ") FROM (\n" + sql() + "\n) timerangeio_q";
    try (Connection c = pool().connection();
        PreparedStatement statement = JdbcStatements.prepare(c, queryTimeout(), min)) {
      if (!ofTable) {
        statement.setObject(1, bound(c, Instant.parse("0001-01-01T00:00:00Z")));
        statement.setObject(2, bound(c, Instant.parse("9999-12-31T23:59:59.999999Z")));
      }
      boolean instants = holdsInstants(c);
      try (ResultSet rs = statement.executeQuery()) {
        Optional<Instant> earliest = rs.next() ? timeOf(rs, instants) : Optional.empty();
        c.commit();
        return earliest;
      }
    }
  }

  /** The database and table ({@link JdbcLineage}); for {@code forSql}, the database only. */
  @Override
  public @Nullable LineageName lineage() {
    return JdbcLineage.of(connection().jdbcUrl(), table());
  }

  /**
   * The database (URL without secrets), the table and time column, or for {@code forSql} the SQL
   * with its string literals masked (a literal may hold a secret).
   */
  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    builder
        .add(DisplayData.item("jdbcUrl", pool().redactedUrl()).withLabel("JDBC URL"))
        .addIfNotNull(DisplayData.item("table", table()).withLabel("Table"))
        .addIfNotNull(DisplayData.item("timeColumn", timeColumn()).withLabel("Time column"))
        .addIfNotNull(
            DisplayData.item("tieBreakerColumn", tieBreakerColumn())
                .withLabel("Tie-breaker column"))
        .addIfNotNull(
            DisplayData.item("sql", table() == null ? JdbcSupport.maskLiterals(sql()) : null)
                .withLabel("SQL"))
        .add(DisplayData.item("zone", zone().getId()).withLabel("Zone of zoneless timestamps"))
        .add(DisplayData.item("fetchSize", fetchSize()).withLabel("Fetch size"));
  }

  @Override
  public final String toString() {
    // No password here: toString ends up in logs and display data.
    return "JdbcTimeRangeQuery{"
        + pool().redactedUrl()
        + ", "
        + sql()
        + ", zone "
        + zone()
        + (tieBreakerColumn() == null ? "" : ", tie-breaker " + tieBreakerColumn())
        + "}";
  }
}
