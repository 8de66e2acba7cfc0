package dev.timerangeio;

import static org.junit.Assert.assertEquals;

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
public class JdbcTimeRangeQueryServersTest {
  @Parameterized.Parameters(name = "{0}")
  public static List<Object[]> databases() {
    return TestDatabases.configured();
  }

  @Rule public final transient TestPipeline p = TestPipeline.create();

  private final String database;
  private final String url;
  private final String table = TestDatabases.newTable("src");

  public JdbcTimeRangeQueryServersTest(String database, String url) {
    this.database = database;
    this.url = url;
  }

  @After
  public void dropTable() throws Exception {
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS " + table);
    }
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
    try (Connection c = DriverManager.getConnection(url)) {
      try (Statement s = c.createStatement()) {
        s.execute("CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, t " + type + ")");
      }
      c.setAutoCommit(false);
      try (PreparedStatement insert =
          c.prepareStatement("INSERT INTO " + table + " (id, t) VALUES (?, ?)")) {
        for (int i = 0; i < times.length; i++) {
          Instant at = Times.toInstant(times[i]);
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
                      : rs.getObject("t", LocalDateTime.class).atZone(zone).toInstant();
              return KV.of(Times.toMicros("t", at), rs.getLong("id"));
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
    long f = Times.toMicros("from", from);
    long t = Times.toMicros("to", to);
    List<KV<Long, Long>> records = fill(type, zone, times(f, t, 60_000_000L));
    PAssert.that(
            p.apply(
                TimeRangeIO.<KV<Long, Long>>read()
                    .withQuery(query(type, zone))
                    .withCoder(TestSource.CODER)
                    .withStartTime(from)
                    .withEndTime(to)
                    .withPartitionDuration(Duration.ofMinutes(1))
                    .withIngestionLag(Duration.ZERO)
                    .withTimestampFn(TestSource::timeOf)))
        .satisfies(ReadPipelineTest.sameRecords(records));
    p.run().waitUntilFinish();
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

  @Test
  public void zoneLessColumnInADstZoneIsReadExactlyAcrossTheGap() throws Exception {
    // Paris springs forward at 2026-03-29T01:00Z: local 02:00 becomes 03:00.
    assertReadIsExact(
        columnTypes()[0],
        ZoneId.of("Europe/Paris"),
        Instant.parse("2026-03-29T00:30:00Z"),
        Instant.parse("2026-03-29T01:30:00Z"));
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
