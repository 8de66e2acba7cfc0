package dev.timerangeio.samples;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.timerangeio.TimeRangeIO;
import dev.timerangeio.jdbc.JdbcIdempotentSink;
import dev.timerangeio.jdbc.JdbcTimeRangeQuery;
import dev.timerangeio.samples.Quickstart.Event;
import java.io.File;
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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.options.StreamingOptions;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.schemas.logicaltypes.MicrosInstant;
import org.apache.beam.sdk.values.Row;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A streaming, exactly-once, restartable copy from one table to another. While it runs, a
 * background thread inserts live events into {@code live_events}; the pipeline follows the table
 * with TimeRangeIO and writes every event once into {@code live_events_copy} (created on first
 * use, keyed by the event id), committing its position to a progress file. After {@code
 * --runSeconds} it stops (as a crash would: no drain) and checks that the copy holds every source
 * event before the committed position exactly once. Run it again: it resumes at the committed
 * position, and the re-read between that position and the stop is absorbed by the keys.
 */
public final class StreamingCopy {
  private static final Logger LOG = LoggerFactory.getLogger(StreamingCopy.class);

  static final Schema COPY_SCHEMA =
      Schema.builder()
          .addInt64Field("id")
          .addLogicalTypeField("event_time", new MicrosInstant())
          .addStringField("payload")
          .build();

  /** Options of the copy; every Beam option works too. */
  public interface Options extends PipelineOptions, StreamingOptions {
    @Description("JDBC URL of the database holding both tables")
    @Default.String("jdbc:h2:./data/copy")
    String getJdbcUrl();

    void setJdbcUrl(String value);

    @Description("Where the committed read position is kept across runs")
    @Default.String("./data/copy-progress.json")
    String getProgressLocation();

    void setProgressLocation(String value);

    @Description("How long this run copies before it stops")
    @Default.Integer(30)
    int getRunSeconds();

    void setRunSeconds(int value);

    @Description("Live events inserted per second while it runs")
    @Default.Integer(20)
    int getEventsPerSecond();

    void setEventsPerSecond(int value);
  }

  public static void main(String[] args) throws Exception {
    List<String> arguments = new ArrayList<>(List.of(args));
    if (arguments.stream().noneMatch(a -> a.startsWith("--runner"))) {
      // The DirectRunner's run() would block on a stream forever; this program stops the copy.
      arguments.add("--blockOnRun=false");
    }
    Options options =
        PipelineOptionsFactory.fromArgs(arguments.toArray(new String[0]))
            .withValidation()
            .as(Options.class);
    String url = options.getJdbcUrl();
    Pipeline pipeline = pipeline(options);

    ScheduledExecutorService inserter = Executors.newSingleThreadScheduledExecutor();
    Connection insertConnection = DriverManager.getConnection(url);
    long period = Math.max(1, 1_000_000 / options.getEventsPerSecond());
    inserter.scheduleAtFixedRate(() -> insertEvent(insertConnection), 0, period, TimeUnit.MICROSECONDS);

    PipelineResult result = pipeline.run();
    result.waitUntilFinish(org.joda.time.Duration.standardSeconds(options.getRunSeconds()));
    result.cancel();
    inserter.shutdown();
    inserter.awaitTermination(10, TimeUnit.SECONDS);
    insertConnection.close();

    // Exit explicitly: a cancelled streaming pipeline can leave runner threads behind.
    System.exit(check(url, options.getProgressLocation()) ? 0 : 1);
  }

  /** The copy, ready to run; the source table exists afterwards. */
  static Pipeline pipeline(Options options) throws Exception {
    String url = options.getJdbcUrl();
    createSourceTable(url);
    options.setStreaming(true);
    Pipeline pipeline = Pipeline.create(options);
    pipeline
        .apply(
            "FollowEvents",
            TimeRangeIO.<Event>read()
                .withQuery(JdbcTimeRangeQuery.forTable(url, "live_events", "event_time", Event::fromRow))
                .withRecordType(TypeDescriptor.of(Event.class))
                .withStartTime("earliest") // the first run; later runs resume at the progress
                .withPartitionDuration(Duration.ofSeconds(1))
                .withIngestionLag(Duration.ofSeconds(1))
                .withPollInterval(Duration.ofMillis(200))
                .withTimestampFn(Event::time)
                .withProgressLocation(options.getProgressLocation()))
        .apply(
            "CopyExactlyOnce",
            TimeRangeIO.<Event>write()
                .to(
                    JdbcIdempotentSink.forTable(
                            url,
                            "live_events_copy",
                            COPY_SCHEMA,
                            (Event e) ->
                                Row.withSchema(COPY_SCHEMA)
                                    .addValues(e.id(), e.time(), e.payload())
                                    .build())
                        .withCreateTable(true))
                .withKeyFn(Event::id)
                .withProgressLocation(options.getProgressLocation()));

    return pipeline;
  }

  /** The copy for {@code args}, built but not run (for job specs). */
  public static Pipeline pipeline(String... args) throws Exception {
    return pipeline(PipelineOptionsFactory.fromArgs(args).withValidation().as(Options.class));
  }

  private static void createSourceTable(String url) throws Exception {
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      s.execute(
          "CREATE TABLE IF NOT EXISTS live_events (id BIGINT PRIMARY KEY,"
              + " event_time TIMESTAMP(6) NOT NULL, payload VARCHAR(100))");
      s.execute("CREATE INDEX IF NOT EXISTS live_events_time ON live_events(event_time)");
    }
  }

  private static void insertEvent(Connection c) {
    try (PreparedStatement s =
        c.prepareStatement(
            "INSERT INTO live_events (id, event_time, payload)"
                + " SELECT COALESCE(MAX(id), 0) + 1, ?, 'live event' FROM live_events")) {
      s.setObject(
          1, LocalDateTime.ofInstant(Instant.now().truncatedTo(ChronoUnit.MICROS), ZoneOffset.UTC));
      s.executeUpdate();
    } catch (Exception e) {
      LOG.error("Inserting a live event failed", e);
    }
  }

  /** Every source event before the committed position is in the copy, once, and nothing else. */
  private static boolean check(String url, String progressLocation) throws Exception {
    File progress = new File(progressLocation);
    if (!progress.exists()) {
      LOG.error("No position was committed in this run; run longer (--runSeconds)");
      return false;
    }
    String committed = new ObjectMapper().readTree(progress).get("timestamp").asText();
    LocalDateTime before =
        LocalDateTime.ofInstant(Instant.parse(committed), ZoneOffset.UTC);
    try (Connection c = DriverManager.getConnection(url);
        PreparedStatement s =
            c.prepareStatement(
                "SELECT (SELECT COUNT(*) FROM live_events WHERE event_time < ?),"
                    + " (SELECT COUNT(*) FROM live_events_copy WHERE event_time < ?),"
                    + " (SELECT COUNT(*) FROM (SELECT id, event_time, payload FROM live_events"
                    + "   WHERE event_time < ? EXCEPT SELECT id, event_time, payload"
                    + "   FROM live_events_copy) missing),"
                    + " (SELECT COUNT(*) FROM live_events),"
                    + " (SELECT COUNT(*) FROM live_events_copy)")) {
      s.setObject(1, before);
      s.setObject(2, before);
      s.setObject(3, before);
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        long source = rs.getLong(1);
        long copied = rs.getLong(2);
        long missing = rs.getLong(3);
        LOG.info(
            "Committed position {}: {} source events before it, {} in the copy, {} missing;"
                + " {} events in all, {} copied in all",
            committed, source, copied, missing, rs.getLong(4), rs.getLong(5));
        if (source != copied || missing != 0) {
          LOG.error("MISMATCH between live_events and live_events_copy before {}", committed);
          return false;
        }
        LOG.info("Check passed: every event before the committed position was copied exactly once");
        return true;
      }
    }
  }
}
