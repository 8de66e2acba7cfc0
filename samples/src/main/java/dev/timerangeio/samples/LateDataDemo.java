package dev.timerangeio.samples;

import dev.timerangeio.TimeRangeIO;
import dev.timerangeio.TimeRangeIOMetrics;
import dev.timerangeio.jdbc.JdbcIdempotentSink;
import dev.timerangeio.jdbc.JdbcTimeRangeQuery;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.RowCoder;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.schemas.logicaltypes.MicrosInstant;
import org.apache.beam.sdk.values.Row;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Late data caught by {@code withLookback}. A background thread inserts rows into the H2 table
 * {@code late_events} in real time, each a seeded, long-tailed delay after its event time (most
 * within the one-second ingestion lag, a tail up to three seconds). One pipeline reads the same
 * 20 seconds twice into two tables: once without a lookback ({@code late_once}) and once with a
 * three-second lookback ({@code late_with_lookback}), both exactly once by {@code id}. The log
 * prints {@code lost without lookback: N} and {@code caught with lookback: M of M}; the demo exits
 * non-zero unless the second table holds every row, compared by id.
 */
public final class LateDataDemo {
  private static final Logger LOG = LoggerFactory.getLogger(LateDataDemo.class);

  static final Schema SCHEMA =
      Schema.builder().addInt64Field("id").addLogicalTypeField("event_time", new MicrosInstant()).build();

  static final Duration LAG = Duration.ofSeconds(1);
  static final Duration LOOKBACK = Duration.ofSeconds(3);
  static final Duration SPAN = Duration.ofSeconds(20);

  /** Options of the demo; every Beam option works too. */
  public interface Options extends PipelineOptions {
    @Description("JDBC URL of the H2 database holding the three tables")
    @Default.String("jdbc:h2:./data/late")
    String getJdbcUrl();

    void setJdbcUrl(String url);

    @Description("Rows inserted over the 20 seconds")
    @Default.Integer(1_000)
    int getRows();

    void setRows(int rows);

    @Description("Seed of the event times and ingestion delays")
    @Default.Long(20)
    long getSeed();

    void setSeed(long seed);
  }

  public static void main(String[] args) throws Exception {
    Options options = PipelineOptionsFactory.fromArgs(args).withValidation().as(Options.class);
    System.exit(run(options) ? 0 : 1);
  }

  static boolean run(Options options) throws Exception {
    String url = options.getJdbcUrl();
    // Far enough ahead for the pipeline to start, so that its first reads come one lag after each
    // chunk (a pipeline still starting up would read later and miss less).
    Instant start = Instant.now().truncatedTo(ChronoUnit.SECONDS).plusSeconds(10);
    Instant end = start.plus(SPAN);
    Ingest ingest = Ingest.seeded(options.getRows(), start, options.getSeed());
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS late_events");
      s.execute("DROP TABLE IF EXISTS late_once");
      s.execute("DROP TABLE IF EXISTS late_with_lookback");
      s.execute("CREATE TABLE late_events (id BIGINT PRIMARY KEY, event_time TIMESTAMP(6) NOT NULL)");
    }
    LOG.info(
        "Inserting {} rows for {} .. {}; {} of them later than the {} ingestion lag",
        ingest.ids.length,
        start,
        end,
        ingest.slowerThan(LAG),
        LAG);

    Pipeline pipeline = Pipeline.create(options);
    pipeline
        .apply("ReadOnce", read(url, start, end))
        .apply("WriteOnce", write(url, "late_once"));
    pipeline
        .apply("ReadWithLookback", read(url, start, end).withLookback(LOOKBACK))
        .apply("WriteWithLookback", write(url, "late_with_lookback"));
    Thread inserter = new Thread(() -> ingest.insertAll(url), "late-data-inserter");
    inserter.start();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    inserter.join();

    try (Connection c = DriverManager.getConnection(url)) {
      long all = count(c, "SELECT id FROM late_events");
      long lost = all - count(c, "SELECT id FROM late_once");
      long caught = count(c, "SELECT id FROM late_with_lookback");
      LOG.info("lost without lookback: {}", lost);
      LOG.info(
          "caught with lookback: {} of {} ({} found by the re-read; {} chunks incomplete)",
          caught,
          all,
          PostgresCopy.counter(result, TimeRangeIOMetrics.LATE_RECORDS),
          PostgresCopy.counter(result, TimeRangeIOMetrics.INCOMPLETE_CHUNKS));
      return RowComparison.sameRows(
          c,
          "late_with_lookback (read with a lookback)",
          "SELECT id FROM late_events",
          "SELECT id FROM late_with_lookback");
    }
  }

  private static TimeRangeIO.Read<Row> read(String url, Instant start, Instant end) {
    return TimeRangeIO.<Row>read()
        .withQuery(
            JdbcTimeRangeQuery.forTable(
                url,
                "late_events",
                "event_time",
                rs ->
                    Row.withSchema(SCHEMA)
                        .addValues(rs.getLong("id"), Samples.instant(rs, 2))
                        .build()))
        .withCoder(RowCoder.of(SCHEMA))
        .withStartTime(start)
        .withEndTime(end)
        .withPartitionDuration(Duration.ofSeconds(1))
        .withIngestionLag(LAG)
        .withPollInterval(Duration.ofMillis(100))
        .withTimestampFn(row -> row.getLogicalTypeValue("event_time", Instant.class));
  }

  private static TimeRangeIO.Write<Row> write(String url, String table) {
    return TimeRangeIO.<Row>write()
        .to(JdbcIdempotentSink.forRows(url, table).withCreateTable(true))
        .withKeyFn(row -> row.getInt64("id"));
  }

  private static long count(Connection c, String select) throws Exception {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM (" + select + ") r")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /** Rows with event times in the span and the wall-clock times they become visible. */
  static final class Ingest {
    final long[] ids;
    final Instant[] times;
    final Instant[] visible;

    private Ingest(long[] ids, Instant[] times, Instant[] visible) {
      this.ids = ids;
      this.times = times;
      this.visible = visible;
    }

    /**
     * Delays from a Pareto distribution (scale 0.2 s, shape 1.5: about 9% over one second),
     * clipped at three seconds, which the lag plus the lookback (four seconds) covers.
     */
    static Ingest seeded(int n, Instant start, long seed) {
      Random random = new Random(seed);
      long[] ids = new long[n];
      Instant[] times = new Instant[n];
      Instant[] visible = new Instant[n];
      for (int i = 0; i < n; i++) {
        ids[i] = i;
        times[i] = start.plusNanos((long) (random.nextDouble() * SPAN.toNanos()) / 1_000 * 1_000);
        double delayMillis = Math.min(3_000, 200 / Math.pow(1 - random.nextDouble(), 1 / 1.5));
        visible[i] = times[i].plusMillis((long) delayMillis);
      }
      return new Ingest(ids, times, visible);
    }

    long slowerThan(Duration lag) {
      long n = 0;
      for (int i = 0; i < ids.length; i++) {
        if (Duration.between(times[i], visible[i]).compareTo(lag) > 0) {
          n++;
        }
      }
      return n;
    }

    /** Inserts each row at its visible time, in that order. */
    void insertAll(String url) {
      Integer[] order = new Integer[ids.length];
      Arrays.setAll(order, i -> i);
      Arrays.sort(order, Comparator.comparing(i -> visible[i]));
      try (Connection c = DriverManager.getConnection(url);
          PreparedStatement insert = c.prepareStatement("INSERT INTO late_events VALUES (?, ?)")) {
        for (int i : order) {
          long wait = Duration.between(Instant.now(), visible[i]).toMillis();
          if (wait > 0) {
            Thread.sleep(wait);
          }
          insert.setLong(1, ids[i]);
          insert.setObject(2, LocalDateTime.ofInstant(times[i], ZoneOffset.UTC));
          insert.executeUpdate();
        }
      } catch (Exception e) {
        throw new IllegalStateException("inserting the demo rows failed", e);
      }
    }
  }
}
