package dev.timerangeio.samples;

import dev.timerangeio.TimeRangeIO;
import dev.timerangeio.TimeRangeIOMetrics;
import dev.timerangeio.jdbc.JdbcIdempotentSink;
import dev.timerangeio.jdbc.JdbcTimeRangeQuery;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.values.Row;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies a PostgreSQL table into another PostgreSQL table exactly once: a day of {@code
 * pg_events} (seeded on first run, with a burst of 5,000 rows on one microsecond) is read as Beam
 * Rows in 15-minute chunks, paged by {@code id} where a microsecond is crowded, and written into
 * {@code pg_events_copy} keyed by {@code id}. Run it twice: the second run reads again and writes
 * nothing new, because every key is already there. Then it checks the copy against the source.
 *
 * <pre>
 * cd samples &amp;&amp; mvn -q compile exec:java -DmainClass=dev.timerangeio.samples.PostgresCopy \
 *     -Dexec.args="--jdbcUrl=jdbc:postgresql://127.0.0.1:5432/test?user=postgres"
 * </pre>
 */
public final class PostgresCopy {
  private static final Logger LOG = LoggerFactory.getLogger(PostgresCopy.class);
  static final Instant DAY = Instant.parse("2024-05-01T00:00:00Z");

  /** Options of the copy; every Beam option works too. */
  public interface Options extends PipelineOptions {
    @Description("JDBC URL of the PostgreSQL database holding both tables")
    @Default.String("jdbc:postgresql://127.0.0.1:5432/test?user=postgres")
    String getJdbcUrl();

    void setJdbcUrl(String value);

    @Description("Rows of the source table, seeded when it is empty")
    @Default.Integer(50_000)
    int getRows();

    void setRows(int value);
  }

  /** The copy, ready to run (the source table must exist: its schema is read now). */
  static Pipeline pipeline(Options options) {
    String url = options.getJdbcUrl();
    Pipeline pipeline = Pipeline.create(options);
    pipeline
        .apply(
            "ReadEvents",
            TimeRangeIO.<Row>read()
                .withQuery(
                    JdbcTimeRangeQuery.forTableAsRows(url, "pg_events", "event_time")
                        .withTieBreakerColumn("id"))
                .withStartTime(DAY)
                .withEndTime(DAY.plus(Duration.ofDays(1)))
                .withPartitionDuration(Duration.ofMinutes(15))
                .withMaxRowsPerQuery(2_000)
                .withTimestampFn(row -> row.getLogicalTypeValue("event_time", Instant.class)))
        .apply(
            "CopyExactlyOnce",
            TimeRangeIO.<Row>write()
                .to(JdbcIdempotentSink.forRows(url, "pg_events_copy").withCreateTable(true))
                .withKeyFn(row -> row.getInt64("id")));
    return pipeline;
  }

  /** The copy for {@code args}, built but not run (for job specs); creates the source table. */
  public static Pipeline pipeline(String... args) throws Exception {
    Options options = PipelineOptionsFactory.fromArgs(args).withValidation().as(Options.class);
    createTable(options.getJdbcUrl());
    return pipeline(options);
  }

  public static void main(String[] args) throws Exception {
    Options options = PipelineOptionsFactory.fromArgs(args).withValidation().as(Options.class);
    String url = options.getJdbcUrl();
    seed(url, options.getRows());
    Pipeline pipeline = pipeline(options);
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    LOG.info(
        "Read {} rows ({} pages of crowded microseconds); {} acknowledged by the sink (it skips"
            + " keys it already holds)",
        counter(result, TimeRangeIOMetrics.ROWS_READ),
        counter(result, TimeRangeIOMetrics.PAGES_READ),
        counter(result, TimeRangeIOMetrics.ROWS_WRITTEN));

    System.exit(check(url) ? 0 : 1);
  }

  /** A day of events, one every ~1.7 s, and 5,000 more on one microsecond at noon. */
  /** Creates the source table if it is missing: the read learns its schema when it is built. */
  static void createTable(String url) throws Exception {
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      s.execute(
          "CREATE TABLE IF NOT EXISTS pg_events (id BIGINT PRIMARY KEY,"
              + " event_time timestamptz(6) NOT NULL, kind text NOT NULL, amount numeric(12, 2))");
      s.execute("CREATE INDEX IF NOT EXISTS pg_events_time ON pg_events (event_time)");
    }
  }

  static void seed(String url, int rows) throws Exception {
    createTable(url);
    try (Connection c = DriverManager.getConnection(url)) {
      try (Statement s = c.createStatement()) {
        try (ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM pg_events")) {
          rs.next();
          if (rs.getLong(1) > 0) {
            return;
          }
        }
        // Generated in the database: one statement, whatever the row count.
        s.execute(
            "INSERT INTO pg_events SELECT i, timestamptz '2024-05-01 00:00:00+00'"
                + " + (i * 86400.0 / " + rows + ") * interval '1 second',"
                + " (ARRAY['click', 'view', 'buy'])[1 + i % 3], (i % 1000) / 10.0"
                + " FROM generate_series(0, " + (rows - 1) + ") i");
        s.execute(
            "INSERT INTO pg_events SELECT " + rows + " + i,"
                + " timestamptz '2024-05-01 12:00:00.000001+00', 'burst', i % 7"
                + " FROM generate_series(0, 4999) i");
      }
      LOG.info("Seeded pg_events with {} rows", rows + 5_000);
    }
  }

  /** The copy holds exactly the source's rows, compared row by row. */
  static boolean check(String url) throws Exception {
    try (Connection c = DriverManager.getConnection(url)) {
      return RowComparison.sameRows(
          c,
          "pg_events_copy",
          // The copy's column is a zone-less timestamp holding UTC.
          "SELECT id, event_time AT TIME ZONE 'UTC', kind, amount FROM pg_events",
          "SELECT id, event_time, kind, amount FROM pg_events_copy");
    }
  }

  /** A TimeRangeIO counter of a finished pipeline. */
  static long counter(PipelineResult result, String name) {
    return Quickstart.counter(result.metrics(), TimeRangeIOMetrics.NAMESPACE, name);
  }
}
