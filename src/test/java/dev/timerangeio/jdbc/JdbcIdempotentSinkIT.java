package dev.timerangeio.jdbc;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import dev.timerangeio.IdempotencyKeys;
import dev.timerangeio.PipelineSupport;
import dev.timerangeio.RejectedRecordException;
import dev.timerangeio.TestDatabases;
import dev.timerangeio.TimeRangeIO;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.schemas.Schema.FieldType;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.schemas.logicaltypes.MicrosInstant;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Count;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.Row;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;

/** The JDBC sink on H2 and, when configured, on the PostgreSQL and MariaDB servers. */
@RunWith(Parameterized.class)
public class JdbcIdempotentSinkIT {
  @Parameterized.Parameters(name = "{0}")
  public static List<Object[]> databases() {
    return TestDatabases.configured();
  }

  static final Schema SCHEMA =
      Schema.builder()
          .addInt64Field("id")
          .addStringField("name")
          .addLogicalTypeField("at", new MicrosInstant())
          .addDoubleField("amount")
          .addBooleanField("flag")
          .addNullableField("note", FieldType.STRING)
          .build();
  private static final Instant AT = Instant.parse("2026-03-29T01:59:59.999999Z");

  @Rule public final transient TestPipeline p = TestPipeline.create();

  private final String name;
  private final String url;
  private final String table = TestDatabases.newTable("sink");
  /** A second session holding a lock, or a table elsewhere; rolled back and dropped after. */
  private Connection holder;
  private String elsewhere;

  public JdbcIdempotentSinkIT(String name, String url) {
    this.name = name;
    this.url = url;
  }

  @After
  public void dropTable() throws Exception {
    if (holder != null) {
      holder.rollback();
      holder.close();
    }
    if (elsewhere != null) {
      TestDatabases.dropTable(url, elsewhere);
    }
    TestDatabases.dropTable(url, table);
  }

  static Row row(long id, String name, Instant at, String note) {
    return Row.withSchema(SCHEMA).addValues(id, name, at, id * 1.5, id % 2 == 0, note).build();
  }

  private static KV<String, Row> keyed(Row row) {
    return KV.of(IdempotencyKeys.of(row.getInt64("id")), row);
  }

  private List<String> contents() throws Exception {
    List<String> rows = new ArrayList<>();
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT idempotency_key, id, name, at, amount, flag, note FROM " + table
                    + " ORDER BY id")) {
      while (rs.next()) {
        rows.add(
            rs.getString(1).substring(0, 8) + " " + rs.getLong(2) + " " + rs.getString(3) + " "
                + rs.getObject(4, LocalDateTime.class) + " " + rs.getDouble(5) + " "
                + rs.getBoolean(6) + " " + rs.getString(7));
      }
    }
    return rows;
  }

  private JdbcIdempotentSink<Row> sink() {
    return JdbcIdempotentSink.forRows(url, table).withCreateTable(true);
  }

  @Test
  public void writesEachKeyOnceAndNeverOverwrites() throws Exception {
    JdbcIdempotentSink<Row> sink = sink();
    sink.open();
    try {
      sink.write(List.of(keyed(row(1, "one", AT, null)), keyed(row(2, "two", AT, "n"))));
      List<String> first = contents();
      // The same batch again, and key 1 with another payload: both are no-ops.
      sink.write(List.of(keyed(row(1, "one", AT, null)), keyed(row(2, "two", AT, "n"))));
      sink.write(List.of(keyed(row(1, "changed", AT.plusSeconds(1), "x"))));

      assertEquals(first, contents());
      assertEquals(
          List.of(
              IdempotencyKeys.of(1L).substring(0, 8) + " 1 one 2026-03-29T01:59:59.999999 1.5 false null",
              IdempotencyKeys.of(2L).substring(0, 8) + " 2 two 2026-03-29T01:59:59.999999 3.0 true n"),
          first);
    } finally {
      sink.close();
    }
  }

  @Test
  public void instantsAreWrittenAtTheMicrosecondInTheConfiguredZone() throws Exception {
    JdbcIdempotentSink<Row> sink = sink().withZone(java.time.ZoneId.of("Europe/Paris"));
    sink.open();
    try {
      // Across the spring-forward gap in Paris (02:00 → 03:00 on 2026-03-29).
      sink.write(
          List.of(
              keyed(row(1, "before", Instant.parse("2026-03-29T00:59:59.999999Z"), null)),
              keyed(row(2, "after", Instant.parse("2026-03-29T01:00:00.000001Z"), null))));
    } finally {
      sink.close();
    }
    List<String> rows = contents();
    assertThat(rows.get(0), containsString(" 2026-03-29T01:59:59.999999 "));
    assertThat(rows.get(1), containsString(" 2026-03-29T03:00:00.000001 "));
  }

  @Test
  public void aRecordBreakingAConstraintIsRejectedAndItsBatchLeavesNothingBehind()
      throws Exception {
    JdbcIdempotentSink<Row> sink = sink();
    sink.open();
    try {
      sink.write(List.of(keyed(row(1, "one", AT, null))));
      Row broken = Row.withSchema(SCHEMA).addValues(3L, "x", AT, 1.0, true, null).build();
      // NOT NULL broken through the table: an existing table with a constraint the schema lacks.
      try (Connection c = DriverManager.getConnection(url);
          Statement s = c.createStatement()) {
        s.execute("DELETE FROM " + table);
        s.execute("ALTER TABLE " + table + " ADD CONSTRAINT " + table + "_positive CHECK (id < 3)");
      }
      RejectedRecordException e =
          assertThrows(
              RejectedRecordException.class,
              () -> sink.write(List.of(keyed(row(2, "two", AT, null)), keyed(broken))));
      assertThat(e.getMessage(), containsString("SQLSTATE 23"));
      assertEquals("the batch is one transaction", List.of(), contents());
      // The connection is still usable.
      sink.write(List.of(keyed(row(2, "two", AT, null))));
      assertEquals(1, contents().size());
    } finally {
      sink.close();
    }
  }

  @Test
  public void throughTheWriteRejectedRecordsAreIsolatedAndTheRestIsWritten() throws Exception {
    List<Row> rows = new ArrayList<>();
    for (long id = 0; id < 200; id++) {
      rows.add(row(id, "r" + id, AT.plusNanos(id * 1_000), null));
    }
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      s.execute(
          "CREATE TABLE " + table + " (idempotency_key VARCHAR(64) PRIMARY KEY, id BIGINT, name"
              + " VARCHAR(20), at " + (url.startsWith("jdbc:mariadb") ? "DATETIME(6)" : "TIMESTAMP(6)")
              + ", amount DOUBLE PRECISION, flag BOOLEAN, note VARCHAR(20),"
              + " CHECK (MOD(id, 37) <> 5))");
    }
    TimeRangeIO.Write.Result result =
        p.apply(Create.of(rows).withRowSchema(SCHEMA))
            .apply(
                TimeRangeIO.<Row>write()
                    .to(JdbcIdempotentSink.forRows(url, table))
                    .withKeyFn(r -> r.getInt64("id"))
                    .withBatchSize(64));
    PAssert.that(result.getFailedRecords().apply(Count.globally())).containsInAnyOrder(6L);
    p.run().waitUntilFinish();

    assertEquals(194, contents().size());
  }

  @Test
  public void aWriteToAMissingTableIsNotBlamedOnTheRecords() throws Exception {
    JdbcIdempotentSink<Row> sink = JdbcIdempotentSink.forRows(url, table);
    sink.open();
    try {
      // An SQLException, which the write retries; not a RejectedRecordException, which would send
      // every record to the failed output.
      assertThrows(
          java.sql.SQLException.class, () -> sink.write(List.of(keyed(row(1, "one", AT, null)))));
    } finally {
      sink.close();
    }
  }

  @Test
  public void aRecordBreakingAnotherUniqueKeyIsRejectedNeverDroppedOrRetried() throws Exception {
    JdbcIdempotentSink<Row> sink = sink().withMaxConnections(1);
    sink.open();
    try {
      sink.write(List.of(keyed(row(1, "one", AT, null))));
      try (Connection c = DriverManager.getConnection(url);
          Statement s = c.createStatement()) {
        s.execute("CREATE UNIQUE INDEX " + table + "_name ON " + table + " (name)");
      }
      // Record 2 has another key but the name record 1 holds.
      RejectedRecordException e =
          assertThrows(
              RejectedRecordException.class,
              () -> sink.write(List.of(keyed(row(3, "three", AT, null)), keyed(row(2, "one", AT, null)))));
      assertThat(e.getMessage(), org.hamcrest.Matchers.anyOf(containsString("SQLSTATE 23"), containsString("unique key")));
      assertEquals("the batch is one transaction", 1, contents().size());
      // Its own key again is still a no-op, on every database.
      sink.write(List.of(keyed(row(1, "one", AT, null)), keyed(row(3, "three", AT, null))));
      assertEquals(2, contents().size());
    } finally {
      sink.close();
    }
  }

  @Test
  public void duplicatesTheSinkSkipsAreCountedApartFromWhatItAcknowledges() throws Exception {
    JdbcIdempotentSink<Row> sink = sink();
    sink.open();
    try {
      sink.write(List.of(keyed(row(0, "r0", AT, null)), keyed(row(1, "r1", AT, null))));
    } finally {
      sink.close();
    }
    List<Row> rows = new ArrayList<>();
    for (long id = 0; id < 10; id++) {
      rows.add(row(id, "r" + id, AT, null));
    }
    TimeRangeIO.Write.Result written =
        p.apply(Create.of(rows).withRowSchema(SCHEMA))
            .apply(
                TimeRangeIO.<Row>write()
                    .to(JdbcIdempotentSink.forRows(url, table))
                    .withKeyFn(r -> r.getInt64("id")));
    String keys = PipelineSupport.newCollection();
    written.getWrittenKeys().apply(org.apache.beam.sdk.transforms.ParDo.of(new PipelineSupport.Collect<>(keys)));
    org.apache.beam.sdk.PipelineResult result = p.run();
    result.waitUntilFinish();

    assertEquals(10, contents().size());
    assertEquals("written keys", 10, PipelineSupport.collected(keys).size());
    assertEquals(
        "acknowledged: stored now or before (dropped "
            + PipelineSupport.counter(result, "duplicatesDropped")
            + ", unkeyable "
            + PipelineSupport.counter(result, "unkeyableRecords")
            + ", skipped "
            + PipelineSupport.counter(result, "duplicatesSkippedBySink")
            + ")",
        10L,
        PipelineSupport.counter(result, "rowsWritten"));
    assertEquals(2L, PipelineSupport.counter(result, "duplicatesSkippedBySink"));
  }

  @Test
  public void aRowSchemaTheTableCantTakeFailsWhenTheWriteIsApplied() {
    Schema badName = Schema.builder().addInt64Field("id").addStringField("name; DROP").build();
    Schema noColumnType =
        Schema.builder().addInt64Field("id").addArrayField("tags", FieldType.STRING).build();
    org.apache.beam.sdk.Pipeline pipeline = org.apache.beam.sdk.Pipeline.create();
    IllegalArgumentException name =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                pipeline
                    .apply("BadName", Create.empty(badName))
                    .apply("WriteBadName", TimeRangeIO.<Row>write().to(sink())));
    assertThat(name.getMessage(), containsString("name; DROP"));
    IllegalArgumentException type =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                pipeline
                    .apply("NoType", Create.empty(noColumnType))
                    .apply("WriteNoType", TimeRangeIO.<Row>write().to(sink())));
    assertThat(type.getMessage(), containsString("tags"));
  }

  @Test
  public void aTableWhoseKeyColumnIsNotUniqueIsRefusedBeforeAnythingIsWritten() throws Exception {
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      s.execute(
          "CREATE TABLE " + table + " (idempotency_key VARCHAR(64), id BIGINT, name VARCHAR(20), at "
              + (url.startsWith("jdbc:mariadb") ? "DATETIME(6)" : "TIMESTAMP(6)")
              + ", amount DOUBLE PRECISION, flag BOOLEAN, note VARCHAR(20))");
    }
    JdbcIdempotentSink<Row> sink = JdbcIdempotentSink.forRows(url, table);
    sink.open();
    try {
      IllegalStateException e =
          assertThrows(IllegalStateException.class, () -> sink.write(List.of(keyed(row(1, "one", AT, null)))));
      assertThat(e.getMessage(), containsString("neither its primary key nor"));
      assertEquals(List.of(), contents());
    } finally {
      sink.close();
    }
  }

  // Before withQueryTimeout the insert waited for the lock forever (PostgreSQL) or for
  // innodb_lock_wait_timeout, 50 s (MariaDB): the JUnit timeout fails it.
  @Test(timeout = 30_000)
  public void aWriteBlockedByAnotherTransactionsLockOnItsKeyEndsAtTheTimeoutAndIsRetried()
      throws Exception {
    JdbcIdempotentSink<Row> sink = sink().withQueryTimeout(java.time.Duration.ofSeconds(1));
    sink.open();
    try {
      sink.write(List.of(keyed(row(1, "one", AT, null))));
      // Another transaction inserts record 2's key and holds its lock, uncommitted.
      holder = DriverManager.getConnection(url);
      holder.setAutoCommit(false);
      try (java.sql.PreparedStatement insert =
          holder.prepareStatement(
              "INSERT INTO " + table + " (idempotency_key, id, name, at, amount, flag) VALUES (?, 2,"
                  + " 'held', TIMESTAMP '2026-01-01 00:00:00', 0, false)")) {
        insert.setString(1, IdempotencyKeys.of(2L));
        insert.executeUpdate();
      }

      Exception e =
          assertThrows(Exception.class, () -> sink.write(List.of(keyed(row(2, "two", AT, null)))));

      // Not the record's fault: the write retries it (any failure but a rejected record).
      org.junit.Assert.assertFalse(e.toString(), e instanceof RejectedRecordException);
      holder.rollback();
      sink.write(List.of(keyed(row(2, "two", AT, null))));
      assertEquals(2, contents().size());
    } finally {
      sink.close();
    }
  }

  @Test
  public void aSameNamedTableWithAUniqueKeyInAnotherDatabaseDoesNotPassTheKeyCheck()
      throws Exception {
    // MariaDB's databases are JDBC catalogs, PostgreSQL's and H2's schemas are schemas.
    elsewhere = "other." + table;
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      s.execute((name.equals("mariadb") ? "CREATE DATABASE" : "CREATE SCHEMA") + " IF NOT EXISTS other");
      s.execute("CREATE TABLE " + elsewhere + " (idempotency_key VARCHAR(64) PRIMARY KEY, id BIGINT)");
      s.execute(
          "CREATE TABLE " + table + " (idempotency_key VARCHAR(64), id BIGINT, name VARCHAR(20), at "
              + (name.equals("mariadb") ? "DATETIME(6)" : "TIMESTAMP(6)")
              + ", amount DOUBLE PRECISION, flag BOOLEAN, note VARCHAR(20))");
    }
    JdbcIdempotentSink<Row> sink = JdbcIdempotentSink.forRows(url, table);
    sink.open();
    try {
      // The target has no unique key: a re-sent record would be stored twice.
      IllegalStateException e =
          assertThrows(IllegalStateException.class, () -> sink.write(List.of(keyed(row(1, "one", AT, null)))));
      assertThat(e.getMessage(), containsString("neither its primary key nor"));
      assertEquals(List.of(), contents());
    } finally {
      sink.close();
    }
  }
}
