package dev.timerangeio.samples;

import dev.timerangeio.TimeRangeIO;
import dev.timerangeio.jdbc.JdbcIdempotentSink;
import dev.timerangeio.jdbc.JdbcTimeRangeQuery;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.options.StreamingOptions;
import org.apache.beam.sdk.options.Validation;
import org.apache.beam.sdk.values.Row;

/**
 * A streaming, exactly-once copy of a PostgreSQL table into another that runs until it is
 * stopped: the job to submit to a cluster ({@code runners/flink/submit.sh LiveCopy ...}). It
 * follows {@code --sourceTable} (columns {@code id BIGINT PRIMARY KEY, event_time TIMESTAMPTZ,
 * payload TEXT}; created if missing) by {@code event_time}, writes each row once into {@code
 * --copyTable} keyed by {@code id} (created on first use), and commits its position to {@code
 * --progressLocation}, which must be reachable from every worker. Started again with the same
 * location (a new job, or after a crash of the whole cluster) it resumes at the committed
 * position; restored from a checkpoint or savepoint, it goes on from there. The fault test
 * ({@code runners/flink/fault-test.sh}) inserts rows while TaskManagers are killed and compares
 * both tables.
 */
public final class LiveCopy {
  private LiveCopy() {}

  /** Options of the copy; every Beam option works too. */
  public interface Options extends PipelineOptions, StreamingOptions {
    @Description("JDBC URL of the PostgreSQL database holding both tables")
    @Default.String("jdbc:postgresql://127.0.0.1:5432/test?user=postgres")
    String getJdbcUrl();

    void setJdbcUrl(String value);

    @Description("The table to follow")
    @Default.String("live_source")
    String getSourceTable();

    void setSourceTable(String value);

    @Description("The table every source row is copied into, once")
    @Default.String("live_copy")
    String getCopyTable();

    void setCopyTable(String value);

    @Description("Where the committed position is kept: a path every worker reaches")
    @Validation.Required
    String getProgressLocation();

    void setProgressLocation(String value);

    @Description("How long a row may take to become visible after its event time")
    @Default.Long(2_000)
    long getIngestionLagMillis();

    void setIngestionLagMillis(long value);

    @Description(
        "Readers per live-edge chunk (withLiveEdgeReaders): 2 spreads the live edge over both"
            + " workers of a parallelism-2 job; 1 reads it where the chunk was claimed")
    @Default.Integer(2)
    int getLiveEdgeReaders();

    void setLiveEdgeReaders(int value);
  }

  /** The copy, ready to run; the source table exists afterwards. */
  public static Pipeline pipeline(Options options) throws Exception {
    String url = options.getJdbcUrl();
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      s.execute(
          "CREATE TABLE IF NOT EXISTS "
              + options.getSourceTable()
              + " (id BIGINT PRIMARY KEY, event_time TIMESTAMPTZ NOT NULL, payload TEXT)");
    }
    options.setStreaming(true);
    Pipeline pipeline = Pipeline.create(options);
    pipeline
        .apply(
            "FollowSource",
            TimeRangeIO.<Row>read()
                .withQuery(
                    JdbcTimeRangeQuery.forTableAsRows(url, options.getSourceTable(), "event_time"))
                .withStartTime("earliest") // the first launch; later ones resume at the position
                .withPartitionDuration(Duration.ofSeconds(1))
                .withIngestionLag(Duration.ofMillis(options.getIngestionLagMillis()))
                .withPollInterval(Duration.ofMillis(200))
                .withTimestampFn(row -> row.getLogicalTypeValue("event_time", Instant.class))
                .withLiveEdgeReaders(options.getLiveEdgeReaders())
                .withProgressLocation(options.getProgressLocation()))
        .apply(
            "CopyExactlyOnce",
            TimeRangeIO.<Row>write()
                .to(JdbcIdempotentSink.forRows(url, options.getCopyTable()).withCreateTable(true))
                .withKeyFn(row -> row.getInt64("id"))
                .withProgressLocation(options.getProgressLocation()));
    return pipeline;
  }

  /** The copy for {@code args}, built but not run (for job specs). */
  public static Pipeline pipeline(String... args) throws Exception {
    return pipeline(PipelineOptionsFactory.fromArgs(args).withValidation().as(Options.class));
  }

  public static void main(String[] args) throws Exception {
    pipeline(args).run();
  }
}
