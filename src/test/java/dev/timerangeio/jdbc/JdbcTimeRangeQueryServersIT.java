package dev.timerangeio.jdbc;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThan;
import static org.junit.Assert.assertEquals;

import dev.timerangeio.Micros;
import dev.timerangeio.PipelineSupport;
import dev.timerangeio.ReadPipelineIT;
import dev.timerangeio.TestDatabases;
import dev.timerangeio.TestSource;
import dev.timerangeio.TimeRange;
import dev.timerangeio.TimeRangeIO;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.schemas.logicaltypes.MicrosInstant;
import org.apache.beam.sdk.schemas.transforms.Select;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.Row;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;

/**
 * The JDBC source on H2 and, when configured, the PostgreSQL and MariaDB servers: every time
 * column type each offers, at the microsecond, records on chunk boundaries, a zone-less column in
 * a DST zone across the spring-forward gap, and "earliest" on an empty table.
 */
@RunWith(Parameterized.class)
public class JdbcTimeRangeQueryServersIT {
  @Parameterized.Parameters(name = "{0}")
  public static List<Object[]> databases() {
    return TestDatabases.configured();
  }

  @Rule public final transient TestPipeline p = TestPipeline.create();

  private final String database;
  private final String url;
  private final String table = TestDatabases.newTable("src");

  public JdbcTimeRangeQueryServersIT(String database, String url) {
    this.database = database;
    this.url = url;
  }

  @After
  public void dropTable() throws Exception {
    TestDatabases.dropTable(url, table);
  }

  /** Zone-less and zone-aware timestamp types with microseconds, per database. */
  private String[] columnTypes() {
    switch (database) {
      case "postgresql":
        return new String[] {"timestamp(6)", "timestamptz(6)"};
      case "mariadb":
        return new String[] {"DATETIME(6)", "TIMESTAMP(6) NULL"};
      default:
        return new String[] {"TIMESTAMP(6)", "TIMESTAMP(6) WITH TIME ZONE"};
    }
  }

  private static boolean zoneAware(String type) {
    return type.startsWith("timestamptz") || type.endsWith("WITH TIME ZONE");
  }

  /** Creates the table and inserts one row per time; returns the records as KV(µs, id). */
  private List<KV<Long, Long>> fill(String type, ZoneId zone, long[] times) throws Exception {
    return fill(url, type, zone, times);
  }

  private List<KV<Long, Long>> fill(String onUrl, String type, ZoneId zone, long[] times)
      throws Exception {
    try (Connection c = DriverManager.getConnection(onUrl)) {
      try (Statement s = c.createStatement()) {
        s.execute("CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, t " + type + ")");
      }
      c.setAutoCommit(false);
      try (PreparedStatement insert =
          c.prepareStatement("INSERT INTO " + table + " (id, t) VALUES (?, ?)")) {
        for (int i = 0; i < times.length; i++) {
          Instant at = Micros.toInstant(times[i]);
          insert.setLong(1, i);
          insert.setObject(
              2,
              zoneAware(type)
                  ? OffsetDateTime.ofInstant(at, ZoneOffset.UTC)
                  : LocalDateTime.ofInstant(at, zone));
          insert.addBatch();
        }
        insert.executeBatch();
      }
      c.commit();
    }
    List<KV<Long, Long>> records = new ArrayList<>();
    for (int i = 0; i < times.length; i++) {
      records.add(KV.of(times[i], (long) i));
    }
    return records;
  }

  private JdbcTimeRangeQuery<KV<Long, Long>> query(String type, ZoneId zone) {
    boolean aware = zoneAware(type);
    return JdbcTimeRangeQuery.forTable(
            url,
            table,
            "t",
            rs -> {
              Instant at =
                  aware
                      ? rs.getObject("t", OffsetDateTime.class).toInstant()
                      : JdbcTimeRangeQuery.instantOf(rs.getObject("t", LocalDateTime.class), zone);
              return KV.of(Micros.of(at), rs.getLong("id"));
            })
        .withZone(zone);
  }

  private static long[] times(long from, long to, long chunk) {
    Random random = new Random(11);
    List<Long> times = new ArrayList<>();
    for (long b = from; b < to; b += chunk) {
      times.add(b);
      times.add(b + 1);
      if (b > from) {
        times.add(b - 1);
      }
    }
    for (int i = 0; i < 2_000; i++) {
      times.add(from + (long) (random.nextDouble() * (to - from)));
    }
    times.add(to - 1);
    return times.stream().mapToLong(Long::longValue).toArray();
  }

  private void assertReadIsExact(String type, ZoneId zone, Instant from, Instant to)
      throws Exception {
    long f = Micros.of(from);
    long t = Micros.of(to);
    List<KV<Long, Long>> records = fill(type, zone, times(f, t, 60_000_000L));
    assertReads(query(type, zone), from, to, asStoredIn(type, zone, records));
  }

  /**
   * The records as a zone-less column in {@code zone} gives them back: a time in the second pass
   * of a repeated hour comes back as the first pass.
   */
  private static List<KV<Long, Long>> asStoredIn(
      String type, ZoneId zone, List<KV<Long, Long>> records) {
    if (zoneAware(type)) {
      return records;
    }
    List<KV<Long, Long>> stored = new ArrayList<>();
    for (KV<Long, Long> r : records) {
      LocalDateTime local = LocalDateTime.ofInstant(Micros.toInstant(r.getKey()), zone);
      stored.add(
          KV.of(Micros.of(JdbcTimeRangeQuery.instantOf(local, zone)), r.getValue()));
    }
    return stored;
  }

  /** Reads {@code [from, to)} in 1-minute chunks and asserts exactly {@code expected} arrive. */
  private PipelineResult assertReads(
      JdbcTimeRangeQuery<KV<Long, Long>> query,
      Instant from,
      Instant to,
      List<KV<Long, Long>> expected) {
    PAssert.that(
            p.apply(
                TimeRangeIO.<KV<Long, Long>>read()
                    .withQuery(query)
                    .withCoder(TestSource.CODER)
                    .withStartTime(from)
                    .withEndTime(to)
                    .withPartitionDuration(Duration.ofMinutes(1))
                    .withIngestionLag(Duration.ZERO)
                    .withMaxRowsPerQuery(1_000)
                    .withTimestampFn(TestSource::timeOf)))
        .satisfies(ReadPipelineIT.sameRecords(expected));
    PipelineResult result = p.run();
    result.waitUntilFinish();
    return result;
  }

  @Test
  public void zoneLessColumnIsReadExactlyAtTheMicrosecond() throws Exception {
    assertReadIsExact(
        columnTypes()[0],
        ZoneOffset.UTC,
        Instant.parse("2024-05-01T00:00:00Z"),
        Instant.parse("2024-05-01T01:00:00Z"));
  }

  @Test
  public void zoneAwareColumnIsReadExactlyAtTheMicrosecond() throws Exception {
    assertReadIsExact(
        columnTypes()[1],
        ZoneOffset.UTC,
        Instant.parse("2024-05-01T00:00:00Z"),
        Instant.parse("2024-05-01T01:00:00Z"));
  }

  /**
   * The same database through a URL of its own, so a new pool opens new sessions. MariaDB's
   * driver converts {@code TIMESTAMP} values through its connection time zone (the JVM's, by
   * default); the README's advice is to pin it, and the session's, to UTC.
   */
  private String urlWithNewSessions() {
    switch (database) {
      case "h2":
        return url + ";TRACE_LEVEL_FILE=0";
      case "mariadb":
        return url
            + "&connectionTimeZone=UTC&forceConnectionTimeZoneToSession=true&preserveInstants=true";
      default:
        return url + "&ApplicationName=timerangeio-zone-test";
    }
  }

  @Test
  public void zoneAwareColumnIsReadExactlyWhateverTheWorkersTimeZone() throws Exception {
    // Drivers give a session the JVM's zone; a local-time bound would then shift by its offset.
    java.util.TimeZone jvmZone = java.util.TimeZone.getDefault();
    java.util.TimeZone.setDefault(java.util.TimeZone.getTimeZone("America/Sao_Paulo"));
    try {
      Instant from = Instant.parse("2024-05-01T00:00:00Z");
      Instant to = Instant.parse("2024-05-01T01:00:00Z");
      List<KV<Long, Long>> records =
          fill(
              urlWithNewSessions(),
              columnTypes()[1],
              ZoneOffset.UTC,
              times(Micros.of(from), Micros.of(to), 60_000_000L));
      JdbcTimeRangeQuery<KV<Long, Long>> query =
          JdbcTimeRangeQuery.forTable(
              urlWithNewSessions(),
              table,
              "t",
              rs -> KV.of(
                  Micros.of(rs.getObject("t", OffsetDateTime.class).toInstant()),
                  rs.getLong("id")));
      try {
        assertEquals(Optional.of(from), query.earliest());
      } finally {
        query.close();
      }
      assertReads(query, from, to, records);
    } finally {
      java.util.TimeZone.setDefault(jvmZone);
    }
  }

  @Test
  public void zoneLessColumnInADstZoneIsReadExactlyAcrossTheGap() throws Exception {
    // Paris springs forward at 2026-03-29T01:00Z: local 02:00 becomes 03:00.
    assertReadIsExact(
        columnTypes()[0],
        ZoneId.of("Europe/Paris"),
        Instant.parse("2026-03-29T00:30:00Z"),
        Instant.parse("2026-03-29T01:30:00Z"));
  }

  private static final java.util.Set<String> DROPPED =
      java.util.concurrent.ConcurrentHashMap.newKeySet();

  /** Ends the session of the connection {@code rs} was read on, as a database restart would. */
  private static void dropConnection(String database, java.sql.ResultSet rs) throws Exception {
    Connection c = rs.getStatement().getConnection();
    if (database.equals("h2")) {
      c.unwrap(org.h2.jdbc.JdbcConnection.class).close();
      return;
    }
    try (Statement s = c.createStatement()) {
      s.execute(
          database.equals("postgresql")
              ? "SELECT pg_terminate_backend(pg_backend_pid())"
              : "KILL CONNECTION_ID()");
    } catch (java.sql.SQLException expected) {
      // The session ends under the statement that ended it.
    }
  }

  @Test
  public void aConnectionTheDatabaseDropsMidChunkIsReplacedAndTheReadStaysExact()
      throws Exception {
    Instant from = Instant.parse("2024-05-01T00:00:00Z");
    Instant to = Instant.parse("2024-05-01T00:30:00Z");
    List<KV<Long, Long>> records =
        fill(
            columnTypes()[0],
            ZoneOffset.UTC,
            times(Micros.of(from), Micros.of(to), 60_000_000L));
    String run = java.util.UUID.randomUUID().toString();
    String db = database;
    long victim = records.size() / 2;
    JdbcTimeRangeQuery<KV<Long, Long>> query =
        JdbcTimeRangeQuery.forTable(
            url,
            table,
            "t",
            rs -> {
              if (rs.getLong("id") == victim && DROPPED.add(run)) {
                dropConnection(db, rs);
              }
              Instant at = rs.getObject("t", LocalDateTime.class).toInstant(ZoneOffset.UTC);
              return KV.of(Micros.of(at), rs.getLong("id"));
            });

    PipelineResult result = assertReads(query, from, to, records);

    assertEquals(
        "the dropped session was noticed and its chunk read again",
        1L,
        PipelineSupport.counter(result, "sourceRetries"));
  }

  @Test
  public void zoneLessColumnInADstZoneIsReadOnceAcrossTheRepeatedHour() throws Exception {
    // Paris falls back at 2026-10-25T01:00Z: local 03:00 becomes 02:00 again, so local 02:xx
    // happens twice. Both passes' rows are stored alike and read once, as the first pass.
    ZoneId paris = ZoneId.of("Europe/Paris");
    Instant from = Instant.parse("2026-10-25T00:00:00Z");
    Instant to = Instant.parse("2026-10-25T02:00:00Z");
    List<KV<Long, Long>> records =
        fill(
            columnTypes()[0],
            paris,
            times(Micros.of(from), Micros.of(to), 60_000_000L));
    List<KV<Long, Long>> expected = asStoredIn(columnTypes()[0], paris, records);
    long secondPass =
        records.stream().filter(r -> r.getKey() >= Micros.of(Instant.parse("2026-10-25T01:00:00Z"))).count();
    assertThat("rows written in the second pass", secondPass, greaterThan(900L));

    assertReads(query(columnTypes()[0], paris), from, to, expected);
  }

  @Test
  public void zoneLessValuesInsideTheSpringForwardGapAreReadOnceAtTheChange() throws Exception {
    // Paris springs forward at 2026-03-29T01:00Z: no clock there showed 02:xx, but a zone-less
    // column can hold it. Such rows are read once, at the change.
    String[] locals = {
      "2026-03-29T01:59:59.999999", "2026-03-29T02:00:00", "2026-03-29T02:30:00.000001",
      "2026-03-29T02:59:59.999999", "2026-03-29T03:00:00", "2026-03-29T03:00:00.000001"
    };
    try (Connection c = DriverManager.getConnection(url)) {
      try (Statement s = c.createStatement()) {
        s.execute("CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, t " + columnTypes()[0] + ")");
      }
      try (PreparedStatement insert =
          c.prepareStatement("INSERT INTO " + table + " (id, t) VALUES (?, ?)")) {
        for (int i = 0; i < locals.length; i++) {
          insert.setLong(1, i);
          insert.setObject(2, LocalDateTime.parse(locals[i]));
          insert.executeUpdate();
        }
      }
    }
    long change = Micros.of(Instant.parse("2026-03-29T01:00:00Z"));
    List<KV<Long, Long>> expected =
        List.of(
            KV.of(change - 1, 0L),
            KV.of(change, 1L),
            KV.of(change, 2L),
            KV.of(change, 3L),
            KV.of(change, 4L),
            KV.of(change + 1, 5L));

    assertReads(
        query(columnTypes()[0], ZoneId.of("Europe/Paris")),
        Instant.parse("2026-03-29T00:30:00Z"),
        Instant.parse("2026-03-29T01:30:00Z"),
        expected);
  }

  @Test
  public void tenThousandRowsOnOneMicrosecondArePagedByTheTieBreaker() throws Exception {
    long crowded = Micros.of(Instant.parse("2024-05-01T00:10:00.000001Z"));
    long[] times = new long[10_003];
    java.util.Arrays.fill(times, crowded);
    times[10_000] = crowded - 1;
    times[10_001] = crowded + 1;
    times[10_002] = Micros.of(Instant.parse("2024-05-01T00:10:00Z"));
    List<KV<Long, Long>> records = fill(columnTypes()[0], ZoneOffset.UTC, times);

    assertReads(
        query(columnTypes()[0], ZoneOffset.UTC).withTieBreakerColumn("id"),
        Instant.parse("2024-05-01T00:00:00Z"),
        Instant.parse("2024-05-01T00:20:00Z"),
        records);
  }

  @Test
  public void earliestOfAnEmptyTableIsEmptyAndOfAFullOneItsOldestRecord() throws Exception {
    fill(columnTypes()[0], ZoneOffset.UTC, new long[0]);
    JdbcTimeRangeQuery<KV<Long, Long>> query = query(columnTypes()[0], ZoneOffset.UTC);
    try {
      assertEquals(Optional.empty(), query.earliest());
      try (Connection c = DriverManager.getConnection(url);
          Statement s = c.createStatement()) {
        s.execute(
            "INSERT INTO " + table + " (id, t) VALUES (1, '2024-05-01 00:00:00.000007'),"
                + " (2, '2024-05-02 00:00:00')");
      }
      assertEquals(Optional.of(Instant.parse("2024-05-01T00:00:00.000007Z")), query.earliest());
    } finally {
      query.close();
    }
  }

  @Test
  public void rowsGetASchemaFromTheTableAndSchemaTransformsWorkOnThem() throws Exception {
    String text = database.equals("postgresql") ? "text" : "VARCHAR(40)";
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      s.execute(
          "CREATE TABLE " + table + " (id BIGINT NOT NULL PRIMARY KEY, name " + text + ","
              + " amount DOUBLE PRECISION, flag BOOLEAN, t " + columnTypes()[0] + " NOT NULL)");
      s.execute(
          "INSERT INTO " + table + " VALUES (1, 'one', 1.5, TRUE, '2024-05-01 00:00:00.000001'),"
              + " (2, NULL, NULL, FALSE, '2024-05-01 00:59:59.999999'),"
              + " (3, 'late', 3.0, TRUE, '2024-05-01 01:00:00')");
    }
    JdbcTimeRangeQuery<Row> rows = JdbcTimeRangeQuery.forTableAsRows(url, table, "t");
    // The same rows read as Paris local times: 00:00 on May 1st there is 22:00Z the day before.
    JdbcTimeRangeQuery<Row> paris = rows.withZone(ZoneId.of("Europe/Paris"));
    paris.schema();
    try {
      List<Row> inParis =
          paris.query(
              TimeRange.of(
                  Instant.parse("2024-04-30T22:00:00Z"), Instant.parse("2024-04-30T23:00:00Z")));
      List<String> times = new ArrayList<>();
      for (Row r : inParis) {
        times.add(r.getInt64("id") + " " + r.getLogicalTypeValue("t", Instant.class));
      }
      java.util.Collections.sort(times);
      assertEquals(
          List.of("1 2024-04-30T22:00:00.000001Z", "2 2024-04-30T22:59:59.999999Z"), times);
    } finally {
      paris.close();
    }
    PCollection<Row> output =
        p.apply(
            TimeRangeIO.<Row>read()
                .withQuery(rows)
                .withStartTime("2024-05-01T00:00:00Z")
                .withEndTime(Instant.parse("2024-05-01T01:00:00Z"))
                .withPartitionDuration(Duration.ofMinutes(10))
                .withIngestionLag(Duration.ZERO)
                .withTimestampFn(r -> r.getLogicalTypeValue("t", Instant.class)));

    Schema schema = output.getSchema();
    assertEquals(List.of("id", "name", "amount", "flag", "t"), schema.getFieldNames());
    assertEquals(Schema.FieldType.INT64, schema.getField("id").getType());
    assertEquals(Schema.FieldType.STRING.withNullable(true), schema.getField("name").getType());
    assertEquals(Schema.FieldType.DOUBLE.withNullable(true), schema.getField("amount").getType());
    assertEquals(MicrosInstant.IDENTIFIER, schema.getField("t").getType().getLogicalType().getIdentifier());
    Schema selected = Schema.builder().addInt64Field("id").addNullableField("name", Schema.FieldType.STRING).build();
    PAssert.that(output.apply(Select.fieldNames("id", "name")))
        .containsInAnyOrder(
            Row.withSchema(selected).addValues(1L, "one").build(),
            Row.withSchema(selected).addValues(2L, null).build());
    PAssert.that(
            output.apply(
                MapElements.into(TypeDescriptors.strings())
                    .via(r -> r.getInt64("id") + " " + r.getLogicalTypeValue("t", Instant.class))))
        .containsInAnyOrder("1 2024-05-01T00:00:00.000001Z", "2 2024-05-01T00:59:59.999999Z");
    p.run().waitUntilFinish();
  }
}
