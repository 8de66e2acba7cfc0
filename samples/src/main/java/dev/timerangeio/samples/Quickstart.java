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
import java.time.temporal.ChronoUnit;
import java.util.Random;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Distribution;
import org.apache.beam.sdk.metrics.DistributionResult;
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
 * holds: same count, same sum and range of ids. It exits non-zero if not.
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
        .apply("Tally", ParDo.of(new Tally()));
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
    Pipeline pipeline = pipeline(options, end);

    long started = System.nanoTime();
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    long millis = (System.nanoTime() - started) / 1_000_000;

    DistributionResult ids = distribution(result.metrics(), "quickstart", "ids");
    long chunks = counter(result.metrics(), TimeRangeIOMetrics.NAMESPACE, TimeRangeIOMetrics.CHUNKS_READ);
    long[] table = tableSummary(options.getJdbcUrl(), end);
    LOG.info(
        "Read {} rows in {} chunks in {} ms ({} rows/s)",
        ids.getCount(),
        chunks,
        millis,
        millis == 0 ? ids.getCount() : ids.getCount() * 1000 / millis);
    boolean exact =
        ids.getCount() == table[0]
            && (table[0] == 0 || (ids.getSum() == table[1] && ids.getMin() == table[2] && ids.getMax() == table[3]));
    if (!exact) {
      LOG.error(
          "MISMATCH: pipeline read count={} sum={} min={} max={}, table holds count={} sum={}"
              + " min={} max={}",
          ids.getCount(), ids.getSum(), ids.getMin(), ids.getMax(),
          table[0], table[1], table[2], table[3]);
      System.exit(1);
    }
    LOG.info("Check passed: the output matches the table exactly ({} rows)", table[0]);
  }

  /** Counts what the pipeline read, in Beam metrics the main program reads back. */
  static final class Tally extends DoFn<Event, Void> {
    private final Counter rows = Metrics.counter("quickstart", "rows");
    private final Distribution ids = Metrics.distribution("quickstart", "ids");

    @ProcessElement
    public void process(@Element Event event) {
      rows.inc();
      ids.update(event.id());
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

  /** count, sum(id), min(id), max(id) of the rows before {@code end}. */
  private static long[] tableSummary(String url, Instant end) throws Exception {
    try (Connection c = DriverManager.getConnection(url);
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT COUNT(*), COALESCE(SUM(id), 0), COALESCE(MIN(id), 0), COALESCE(MAX(id), 0)"
                    + " FROM events WHERE event_time < ?")) {
      ps.setObject(1, LocalDateTime.ofInstant(end, ZoneOffset.UTC));
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return new long[] {rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4)};
      }
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

  private static DistributionResult distribution(
      MetricResults metrics, String namespace, String name) {
    for (MetricResult<DistributionResult> r : query(metrics, namespace, name).getDistributions()) {
      return r.getAttempted();
    }
    return DistributionResult.IDENTITY_ELEMENT;
  }
}
