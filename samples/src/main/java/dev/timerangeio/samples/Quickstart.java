package dev.timerangeio.samples;

import dev.timerangeio.TimeRangeIO;
import dev.timerangeio.TimeRangeIOMetrics;
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
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.Random;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricQueryResults;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.MetricResults;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.schemas.JavaFieldSchema;
import org.apache.beam.sdk.schemas.annotations.DefaultSchema;
import org.apache.beam.sdk.schemas.annotations.SchemaCreate;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The quickstart: an embedded H2 table of synthetic events (seeded on the first run) read with
 * TimeRangeIO from "earliest" to now, in one-hour chunks, on the DirectRunner. It logs a summary
 * (rows, chunks, time taken) and checks that what the pipeline read is exactly what the table
 * holds, row by row: the pipeline also stores each record it read, as read (no key, so a record
 * read twice shows), in {@code quickstart_read}, emptied at the start of every run, which is then
 * compared with the table. It exits non-zero if they differ.
 */
public final class Quickstart {
  private static final Logger LOG = LoggerFactory.getLogger(Quickstart.class);

  /** Options of the quickstart; every Beam option works too (e.g. --runner). */
  public interface Options extends PipelineOptions {
    @Description("JDBC URL of the events database")
    @Default.String("jdbc:h2:./data/quickstart")
    String getJdbcUrl();

    void setJdbcUrl(String value);

    @Description("How many events to seed into an empty table")
    @Default.Integer(50_000)
    int getSeedEvents();

    void setSeedEvents(int value);
  }

  /**
   * One row of the events table. It has a Beam schema (public final fields, a {@code
   * @SchemaCreate} constructor; the samples compile with {@code -parameters}), so the read infers
   * a schema coder for it: unlike {@code SerializableCoder}, that works on a Flink cluster whose
   * {@code lib/} holds Beam. (Beam 2.70 infers no schema for a Java {@code record}.)
   */
  @DefaultSchema(JavaFieldSchema.class)
  public static final class Event {
    public final long id;
    /** The event time in epoch microseconds: a schema has no field type for {@code Instant}. */
    public final long timeMicros;

    public final String payload;

    @SchemaCreate
    public Event(long id, long timeMicros, String payload) {
      this.id = id;
      this.timeMicros = timeMicros;
      this.payload = payload;
    }

    static Event fromRow(ResultSet rs) throws Exception {
      Instant time = rs.getObject("event_time", LocalDateTime.class).toInstant(ZoneOffset.UTC);
      return new Event(
          rs.getLong("id"), ChronoUnit.MICROS.between(Instant.EPOCH, time), rs.getString("payload"));
    }

    public long id() {
      return id;
    }

    public Instant time() {
      return Instant.EPOCH.plus(timeMicros, ChronoUnit.MICROS);
    }

    public String payload() {
      return payload;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Event
          && ((Event) o).id == id
          && ((Event) o).timeMicros == timeMicros
          && java.util.Objects.equals(((Event) o).payload, payload);
    }

    @Override
    public int hashCode() {
      return java.util.Objects.hash(id, timeMicros, payload);
    }

    @Override
    public String toString() {
      return "Event{" + id + ", " + time() + ", " + payload + "}";
    }
  }

  /** The quickstart's pipeline, ready to run: every record of the table before {@code end}. */
  static Pipeline pipeline(Options options, Instant end) {
    Pipeline pipeline = Pipeline.create(options);
    pipeline
        .apply(
            "ReadEvents",
            TimeRangeIO.<Event>read()
                .withQuery(
                    JdbcTimeRangeQuery.forTable(
                        options.getJdbcUrl(), "events", "event_time", Event::fromRow))
                .withRecordType(TypeDescriptor.of(Event.class))
                .withStartTime("earliest")
                .withEndTime(end)
                .withPartitionDuration(Duration.ofHours(1))
                // The table is written before the read starts, so nothing is still arriving.
                .withIngestionLag(Duration.ZERO)
                .withTimestampFn(Event::time))
        .apply("Tally", ParDo.of(new Tally()))
        .apply("StoreWhatWasRead", ParDo.of(new StoreRead(options.getJdbcUrl())));
    return pipeline;
  }

  /** The pipeline for {@code args}, up to now, built but not run (for job specs). */
  public static Pipeline pipeline(String... args) {
    Options options = PipelineOptionsFactory.fromArgs(args).withValidation().as(Options.class);
    return pipeline(options, Instant.now().truncatedTo(ChronoUnit.MICROS));
  }

  public static void main(String[] args) throws Exception {
    Options options = PipelineOptionsFactory.fromArgs(args).withValidation().as(Options.class);
    Instant end = Instant.now().truncatedTo(ChronoUnit.MICROS);
    seedIfEmpty(options.getJdbcUrl(), options.getSeedEvents(), end);
    emptyReadTable(options.getJdbcUrl());
    Pipeline pipeline = pipeline(options, end);

    long started = System.nanoTime();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    long millis = (System.nanoTime() - started) / 1_000_000;

    long rows = counter(result.metrics(), "quickstart", "rows");
    long chunks =
        counter(result.metrics(), TimeRangeIOMetrics.NAMESPACE, TimeRangeIOMetrics.CHUNKS_READ);
    LOG.info(
        "Read {} rows in {} chunks in {} ms ({} rows/s)",
        rows,
        chunks,
        millis,
        millis == 0 ? rows : rows * 1000 / millis);
    boolean exact;
    try (Connection c = DriverManager.getConnection(options.getJdbcUrl())) {
      exact =
          RowComparison.sameRows(
              c,
              "quickstart_read (what the pipeline read)",
              "SELECT id, event_time, payload FROM events WHERE event_time < TIMESTAMP '"
                  + SQL_TIMESTAMP.format(LocalDateTime.ofInstant(end, ZoneOffset.UTC))
                  + "'",
              "SELECT id, event_time, payload FROM quickstart_read");
    }
    if (!exact) {
      System.exit(1);
    }
  }

  private static final DateTimeFormatter SQL_TIMESTAMP =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS");

  /**
   * Stores each record the pipeline read, as read, into {@code quickstart_read}: a batch per
   * bundle, in one transaction.
   */
  static final class StoreRead extends DoFn<Event, Void> {
    private final String url;
    private transient Connection connection;
    private transient PreparedStatement insert;

    StoreRead(String url) {
      this.url = url;
    }

    @Setup
    public void setup() throws Exception {
      connection = DriverManager.getConnection(url);
      connection.setAutoCommit(false);
      insert = connection.prepareStatement("INSERT INTO quickstart_read VALUES (?, ?, ?)");
    }

    @ProcessElement
    public void process(@Element Event event) throws Exception {
      insert.setLong(1, event.id());
      insert.setObject(2, LocalDateTime.ofInstant(event.time(), ZoneOffset.UTC));
      insert.setString(3, event.payload());
      insert.addBatch();
    }

    @FinishBundle
    public void finish() throws Exception {
      insert.executeBatch();
      connection.commit();
    }

    @Teardown
    public void teardown() throws Exception {
      if (connection != null) {
        connection.close();
      }
    }
  }

  /** Creates {@code quickstart_read} empty; no key, so a record stored twice stays visible. */
  private static void emptyReadTable(String url) throws Exception {
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS quickstart_read");
      s.execute(
          "CREATE TABLE quickstart_read (id BIGINT NOT NULL, event_time TIMESTAMP(6) NOT NULL,"
              + " payload VARCHAR(100))");
    }
  }

  /** Counts what the pipeline read, in a Beam metric the main program reads back. */
  static final class Tally extends DoFn<Event, Event> {
    private final Counter rows = Metrics.counter("quickstart", "rows");

    @ProcessElement
    public void process(@Element Event event, OutputReceiver<Event> out) {
      rows.inc();
      out.output(event);
    }
  }

  private static void seedIfEmpty(String url, int events, Instant end) throws Exception {
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      s.execute(
          "CREATE TABLE IF NOT EXISTS events (id BIGINT PRIMARY KEY,"
              + " event_time TIMESTAMP(6) NOT NULL, payload VARCHAR(100))");
      s.execute("CREATE INDEX IF NOT EXISTS events_time ON events(event_time)");
      try (ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM events")) {
        rs.next();
        if (rs.getLong(1) > 0) {
          LOG.info("Table events already holds {} rows; not seeding", rs.getLong(1));
          return;
        }
      }
      LOG.info("Seeding {} events over the 7 days before {}", events, end);
      c.setAutoCommit(false);
      Random random = new Random(2024);
      long endMicros = end.getEpochSecond() * 1_000_000 + end.getNano() / 1_000;
      long span = 7L * 24 * 3600 * 1_000_000;
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO events VALUES (?, ?, ?)")) {
        for (int i = 0; i < events; i++) {
          long micros = endMicros - 1 - (long) (random.nextDouble() * span);
          Instant t = Instant.ofEpochSecond(micros / 1_000_000, (micros % 1_000_000) * 1_000);
          ps.setLong(1, i);
          ps.setObject(2, LocalDateTime.ofInstant(t, ZoneOffset.UTC));
          ps.setString(3, "event-" + i);
          ps.addBatch();
          if (i % 5_000 == 4_999) {
            ps.executeBatch();
          }
        }
        ps.executeBatch();
      }
      c.commit();
    }
  }

  private static MetricQueryResults query(
      MetricResults metrics, String namespace, String name) {
    return metrics.queryMetrics(
        MetricsFilter.builder().addNameFilter(MetricNameFilter.named(namespace, name)).build());
  }

  /** The attempted value of a counter, summed over steps; the other samples use it too. */
  static long counter(MetricResults metrics, String namespace, String name) {
    long sum = 0;
    for (MetricResult<Long> r : query(metrics, namespace, name).getCounters()) {
      sum += r.getAttempted();
    }
    return sum;
  }
}
