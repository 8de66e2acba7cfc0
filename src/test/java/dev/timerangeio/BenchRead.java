package dev.timerangeio;

import dev.timerangeio.BenchSupport.CountFn;
import dev.timerangeio.BenchSupport.Runner;
import dev.timerangeio.BenchSupport.Side;
import dev.timerangeio.BenchSupport.Tally;
import dev.timerangeio.jdbc.JdbcTimeRangeQuery;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.io.jdbc.JdbcIO;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.joda.time.DateTime;
import org.joda.time.DateTimeZone;

/**
 * The bounded JDBC read: {@code TimeRangeIO.read()} over {@code chunks} ranges against {@code
 * JdbcIO.readWithPartitions} with as many partitions, and a plain JDBC loop over the same ranges
 * in one thread; rows mapped to {@code "id,payload"} and counted. Seeds its own table: {@code
 * bench_events_<rows>_<days>} ({@code id bigint, ts timestamptz, payload text}, index on {@code
 * ts}), rows spread evenly over {@code days} days, kept between runs when it already holds them.
 */
final class BenchRead {
  static final Instant START = Instant.parse("2026-01-01T00:00:00Z");

  private final String url;
  private final String table;
  private final long rows;
  private final Instant end;
  private final int chunks;

  BenchRead(String url, long rows, int days, int chunks) {
    this.url = url;
    this.rows = rows;
    this.table = "bench_events_" + rows + "_" + days;
    this.end = START.plus(Duration.ofDays(days));
    this.chunks = chunks;
  }

  static boolean isPostgres(String url) {
    return url.startsWith("jdbc:postgresql:");
  }

  /** Creates and fills the table unless it already holds the rows. */
  void seed() throws Exception {
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      try (ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM " + table)) {
        rs.next();
        if (rs.getLong(1) == rows) {
          return;
        }
      } catch (java.sql.SQLException absent) {
        // no table yet
      }
      s.execute("DROP TABLE IF EXISTS " + table);
      s.execute(
          "CREATE TABLE " + table + " (id bigint PRIMARY KEY, ts timestamp with time zone NOT NULL,"
              + " payload text NOT NULL)");
      long spanMicros = Duration.between(START, end).toNanos() / 1_000;
      if (isPostgres(url)) {
        s.execute(
            "INSERT INTO " + table + " SELECT g, timestamptz '" + START + "' + (g::bigint * "
                + (spanMicros / rows) + ") * interval '1 microsecond', 'payload-' || md5(g::text)"
                + " FROM generate_series(0, " + (rows - 1) + ") g");
      } else {
        c.setAutoCommit(false);
        try (PreparedStatement insert =
            c.prepareStatement("INSERT INTO " + table + " VALUES (?, ?, ?)")) {
          for (long i = 0; i < rows; i++) {
            insert.setLong(1, i);
            insert.setObject(2, OffsetDateTime.ofInstant(START.plusNanos(i * (spanMicros / rows) * 1_000), ZoneOffset.UTC));
            insert.setString(3, "payload-" + Long.toHexString(i * 0x9E3779B97F4A7C15L));
            insert.addBatch();
            if (i % 10_000 == 9_999) {
              insert.executeBatch();
            }
          }
          insert.executeBatch();
        }
        c.commit();
      }
      s.execute("CREATE INDEX " + table + "_ts ON " + table + " (ts)");
      if (isPostgres(url)) {
        s.execute("ANALYZE " + table);
      }
    }
  }

  private static String row(ResultSet rs) throws java.sql.SQLException {
    return rs.getLong("id") + "," + rs.getString("payload");
  }

  /** A named class: JdbcIO's display data reads the mapper's canonical name (a lambda has none). */
  static final class JdbcIoRow implements JdbcIO.RowMapper<String> {
    @Override
    public String mapRow(ResultSet rs) throws Exception {
      return row(rs);
    }
  }

  List<String> compare(Runner runner, int rounds) throws Exception {
    Map<String, Side> sides = new LinkedHashMap<>();
    sides.put("TimeRangeIO.read()", timeRangeIo(runner));
    sides.put("JdbcIO.readWithPartitions", jdbcIo(runner));
    sides.put("plain JDBC loop, 1 thread", this::plainLoop);
    return BenchSupport.compare(
        "bounded read, " + rows + " rows, " + chunks + " ranges, " + runner, rows, rounds, sides);
  }

  private Side timeRangeIo(Runner runner) {
    String url = this.url;
    return BenchSupport.pipeline(
        runner,
        (p, id) ->
            p.apply(
                    TimeRangeIO.<String>read()
                        .withQuery(JdbcTimeRangeQuery.forTable(url, table, "ts", BenchRead::row))
                        .withCoder(StringUtf8Coder.of())
                        .withStartTime(START)
                        .withEndTime(end)
                        .withPartitionDuration(Duration.between(START, end).dividedBy(chunks))
                        .withIngestionLag(Duration.ZERO))
                .apply(ParDo.of(new CountFn(id))));
  }

  private Side jdbcIo(Runner runner) {
    String driver = isPostgres(url) ? "org.postgresql.Driver" : "org.h2.Driver";
    String url = this.url;
    return BenchSupport.pipeline(
        runner,
        (p, id) ->
            p.apply(
                    JdbcIO.<String, DateTime>readWithPartitions(TypeDescriptor.of(DateTime.class))
                        .withDataSourceConfiguration(
                            JdbcIO.DataSourceConfiguration.create(driver, url))
                        .withTable(table)
                        .withPartitionColumn("ts")
                        .withLowerBound(new DateTime(START.toEpochMilli(), DateTimeZone.UTC))
                        .withUpperBound(new DateTime(end.toEpochMilli(), DateTimeZone.UTC))
                        .withNumPartitions(chunks)
                        .withRowMapper(new JdbcIoRow())
                        .withCoder(StringUtf8Coder.of()))
                .apply(ParDo.of(new CountFn(id))));
  }

  /** The limit per core: one connection, one query per range, no runner. */
  private double plainLoop(String id) throws Exception {
    long start = System.nanoTime();
    Tally tally = Tally.of(id);
    Duration step = Duration.between(START, end).dividedBy(chunks);
    try (Connection c = DriverManager.getConnection(url);
        PreparedStatement query =
            c.prepareStatement("SELECT * FROM " + table + " WHERE ts >= ? AND ts < ?")) {
      for (int i = 0; i < chunks; i++) {
        Instant from = START.plus(step.multipliedBy(i));
        Instant to = i == chunks - 1 ? end : from.plus(step);
        query.setObject(1, OffsetDateTime.ofInstant(from, ZoneOffset.UTC));
        query.setObject(2, OffsetDateTime.ofInstant(to, ZoneOffset.UTC));
        try (ResultSet rs = query.executeQuery()) {
          while (rs.next()) {
            tally.add(row(rs));
          }
        }
      }
    }
    return (System.nanoTime() - start) / 1e9;
  }
}
