package dev.timerangeio;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.lessThan;

import dev.timerangeio.jdbc.JdbcTimeRangeQuery;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.values.PCollection;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A year of 1-minute chunks (525,600) holding 1,000 records in 10 bursts is read exactly with
 * under 1 % of one query per chunk: the read asks the database for the next record's time after an
 * empty chunk and claims the empty run before it unqueried. The pipeline's time is logged, not
 * asserted (it goes to BENCHMARKS.md).
 */
@RunWith(Parameterized.class)
public class EmptyStretchesIT {
  private static final Logger LOG = LoggerFactory.getLogger(EmptyStretchesIT.class);
  private static final Instant START = Instant.parse("2025-01-01T00:00:00Z");
  private static final Instant END = Instant.parse("2026-01-01T00:00:00Z");
  private static final long CHUNKS = Duration.between(START, END).toMinutes();

  @Parameterized.Parameters(name = "{0}")
  public static List<Object[]> databases() {
    return TestDatabases.configured();
  }

  @Parameterized.Parameter(0)
  public String database;

  @Parameterized.Parameter(1)
  public String url;

  @Rule public final transient TestPipeline p = TestPipeline.create();

  private final String table = TestDatabases.newTable("bursts");

  @After
  public void drop() throws Exception {
    TestDatabases.dropTable(url, table);
  }

  /** 10 bursts of 100 records, one a second, at seeded times of the year; ids 0 to 999. */
  private void seed() throws Exception {
    try (Connection c = DriverManager.getConnection(url)) {
      try (Statement s = c.createStatement()) {
        s.execute(
            "CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, ts "
                + TestDatabases.timeColumnType(url)
                + " NOT NULL)");
        s.execute("CREATE INDEX " + table + "_ts ON " + table + " (ts)");
      }
      Random random = new Random(19);
      try (PreparedStatement insert =
          c.prepareStatement("INSERT INTO " + table + " (id, ts) VALUES (?, ?)")) {
        for (int burst = 0; burst < 10; burst++) {
          long startSecond =
              START.getEpochSecond()
                  + burst * (END.getEpochSecond() - START.getEpochSecond()) / 10
                  + random.nextInt(86_400 * 30);
          for (int i = 0; i < 100; i++) {
            Instant t = Instant.ofEpochSecond(startSecond + i, random.nextInt(1_000_000) * 1_000L);
            insert.setLong(1, burst * 100L + i);
            insert.setObject(2, TestDatabases.timeValue(url, t));
            insert.addBatch();
          }
        }
        insert.executeBatch();
      }
    }
  }

  @Test
  public void aYearOfMinuteChunksIsReadExactlyWithFewQueries() throws Exception {
    seed();
    CountingQuery<Long> query =
        new CountingQuery<>(
            JdbcTimeRangeQuery.forTable(url, table, "ts", rs -> rs.getLong("id")));
    PCollection<Long> ids =
        p.apply(
            TimeRangeIO.<Long>read()
                .withQuery(query)
                .withCoder(VarLongCoder.of())
                .withPartitionDuration(Duration.ofMinutes(1))
                .withStartTime(START.toString())
                .withEndTime(END));
    List<Long> expected = new ArrayList<>();
    for (long id = 0; id < 1_000; id++) {
      expected.add(id);
    }
    PAssert.that(ids).containsInAnyOrder(expected);

    long startNanos = System.nanoTime();
    p.run().waitUntilFinish();
    long millis = (System.nanoTime() - startNanos) / 1_000_000;

    LOG.info(
        "EmptyStretchesIT {}: {} chunks read with {} source calls in {} ms of pipeline time",
        database,
        CHUNKS,
        query.calls(),
        millis);
    assertThat(query.calls(), lessThan(CHUNKS / 100));
  }
}
