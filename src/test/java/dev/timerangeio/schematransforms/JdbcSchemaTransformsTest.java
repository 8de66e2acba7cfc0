package dev.timerangeio.schematransforms;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.beam.sdk.Pipeline.PipelineExecutionException;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.values.PCollectionRowTuple;
import org.apache.beam.sdk.values.Row;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The JDBC read and write schema transforms on the DirectRunner against H2, as Beam YAML wires
 * them: the read's {@code progress} output into the write's {@code progress} input. The read's
 * schema transform takes its signals out of the JVM-wide pairing, so the write finds them only
 * through that edge, as it would after two separate expansion requests.
 */
@RunWith(JUnit4.class)
public class JdbcSchemaTransformsTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  @Rule public final transient TestPipeline first = TestPipeline.create();
  @Rule public final transient TestPipeline relaunch = TestPipeline.create();
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  private String url;

  @Before
  public void createSource() throws Exception {
    url =
        "jdbc:h2:mem:xlang_" + UUID.randomUUID().toString().replace("-", "") + ";DB_CLOSE_DELAY=-1";
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE events (id BIGINT, ts TIMESTAMP(6), payload VARCHAR(100))");
    }
  }

  /** Rows {@code ids} at T0 + id minutes (+ id µs, off the minute grid). */
  private void insert(long... ids) throws Exception {
    try (Connection c = DriverManager.getConnection(url);
        PreparedStatement insert = c.prepareStatement("INSERT INTO events VALUES (?, ?, ?)")) {
      for (long id : ids) {
        Instant time = T0.plusSeconds(60 * id).plusNanos(id * 1_000);
        insert.setLong(1, id);
        insert.setTimestamp(
            2,
            Timestamp.valueOf(java.time.LocalDateTime.ofInstant(time, java.time.ZoneOffset.UTC)));
        insert.setString(3, "event " + id);
        insert.addBatch();
      }
      insert.executeBatch();
    }
  }

  private List<String> copied() throws Exception {
    List<String> rows = new ArrayList<>();
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement();
        ResultSet r = s.executeQuery("SELECT id, payload FROM events_copy ORDER BY id")) {
      while (r.next()) {
        rows.add(r.getLong(1) + ":" + r.getString(2));
      }
    }
    return rows;
  }

  private static List<String> expected(long... ids) {
    List<String> rows = new ArrayList<>();
    for (long id : ids) {
      rows.add(id + ":event " + id);
    }
    return rows;
  }

  private Row readConfig(String end, String location) {
    Map<String, Object> config = new HashMap<>();
    config.put("jdbc_url", url);
    config.put("table", "events");
    config.put("time_column", "ts");
    config.put("start_time", T0.toString());
    config.put("end_time", end);
    config.put("partition_duration", "PT10M");
    config.put("ingestion_lag", "PT0S");
    config.put("progress_location", location);
    return ConfigRows.of(new JdbcReadSchemaTransformProvider(), config);
  }

  private Row writeConfig(String location) {
    Map<String, Object> config = new HashMap<>();
    config.put("jdbc_url", url);
    config.put("table", "events_copy");
    config.put("create_table", true);
    config.put("key_fields", List.of("id"));
    config.put("progress_location", location);
    return ConfigRows.of(new JdbcWriteSchemaTransformProvider(), config);
  }

  /** Read → write as two schema transforms joined only by the rows and the progress edge. */
  private static void copy(TestPipeline p, Row readConfig, Row writeConfig) {
    PCollectionRowTuple read =
        PCollectionRowTuple.empty(p)
            .apply("Read", new JdbcReadSchemaTransformProvider().from(readConfig));
    PCollectionRowTuple.of("input", read.get("output"))
        .and("progress", read.get("progress"))
        .apply("Write", new JdbcWriteSchemaTransformProvider().from(writeConfig));
  }

  @Test
  public void aRelaunchResumesWhereTheSeparatelyExpandedWriteCommitted() throws Exception {
    insert(0, 1, 9, 10, 59, 60, 61, 119);
    String location = tmp.getRoot() + "/progress.json";

    copy(first, readConfig(T0.plusSeconds(3600).toString(), location), writeConfig(location));
    first.run().waitUntilFinish();
    assertThat(copied(), equalTo(expected(0, 1, 9, 10, 59)));

    // Rows that arrive late below the committed hour: a resumed read never asks for them, a read
    // that started over (no commit, or a commit lost between the two transforms) would copy them.
    insert(2, 30, 120, 150);
    copy(
        relaunch, readConfig(T0.plusSeconds(3 * 3600).toString(), location), writeConfig(location));
    relaunch.run().waitUntilFinish();
    assertThat(copied(), equalTo(expected(0, 1, 9, 10, 59, 60, 61, 119, 120, 150)));
  }

  @Test
  public void aWriteFailsOnTheSignalsOfAnotherLocationRatherThanCommitThem() throws Exception {
    insert(1, 2);
    String readLocation = tmp.getRoot() + "/read.json";
    String writeLocation = tmp.getRoot() + "/write.json";
    copy(first, readConfig(T0.plusSeconds(3600).toString(), readLocation), writeConfig(writeLocation));
    PipelineExecutionException e = assertThrows(PipelineExecutionException.class, first::run);
    assertThat(e.getMessage(), containsString("carries the chunks of the read of " + readLocation));
    assertFalse(new java.io.File(writeLocation).exists());
  }

  @Test
  public void aWriteWithAProgressLocationNeedsTheReadsProgressInput() throws Exception {
    String location = tmp.getRoot() + "/progress.json";
    // A pipeline of its own: one left half-applied would fail TestPipeline's checks.
    PCollectionRowTuple read =
        PCollectionRowTuple.empty(org.apache.beam.sdk.Pipeline.create())
            .apply(
                "Read",
                new JdbcReadSchemaTransformProvider()
                    .from(readConfig(T0.plusSeconds(60).toString(), location)));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                PCollectionRowTuple.of("input", read.get("output"))
                    .apply(
                        "Write",
                        new JdbcWriteSchemaTransformProvider().from(writeConfig(location))));
    assertThat(e.getMessage(), containsString("needs the 'progress' output of the read"));
  }

  @Test
  public void theWritesErrorOutputHoldsRowsTheTableRejects() throws Exception {
    insert(1, 2, 3);
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      // The table refuses id 2 for good (a CHECK constraint): a rejected record, not a retry.
      s.execute(
          "CREATE TABLE events_copy (idempotency_key VARCHAR(64) PRIMARY KEY, id BIGINT,"
              + " ts TIMESTAMP(6), payload VARCHAR(100) CHECK (id <> 2))");
    }
    Map<String, Object> write = new HashMap<>();
    write.put("jdbc_url", url);
    write.put("table", "events_copy");
    write.put("batch_size", 1);
    write.put("max_retries", 0);
    write.put(
        "error_handling",
        Row.withSchema(
                new JdbcWriteSchemaTransformProvider()
                    .configurationSchema()
                    .getField("error_handling")
                    .getType()
                    .getRowSchema())
            .addValue("rejected")
            .build());
    Map<String, Object> read = new HashMap<>();
    read.put("jdbc_url", url);
    read.put("table", "events");
    read.put("time_column", "ts");
    read.put("start_time", T0.toString());
    read.put("end_time", T0.plusSeconds(3600).toString());
    read.put("ingestion_lag", "PT0S");
    PCollectionRowTuple rows =
        PCollectionRowTuple.empty(first)
            .apply(
                "Read",
                new JdbcReadSchemaTransformProvider()
                    .from(ConfigRows.of(new JdbcReadSchemaTransformProvider(), read)));
    PCollectionRowTuple out =
        PCollectionRowTuple.of("input", rows.get("output"))
            .apply(
                "Write",
                new JdbcWriteSchemaTransformProvider()
                    .from(ConfigRows.of(new JdbcWriteSchemaTransformProvider(), write)));
    org.apache.beam.sdk.testing.PAssert.that(
            out.get("rejected")
                .apply(
                    org.apache.beam.sdk.transforms.MapElements.into(
                            org.apache.beam.sdk.values.TypeDescriptors.longs())
                        .via(r -> r.getRow("failed_row").getInt64("id"))))
        .containsInAnyOrder(2L);
    first.run().waitUntilFinish();
    assertThat(copied(), equalTo(expected(1, 3)));
  }
}
