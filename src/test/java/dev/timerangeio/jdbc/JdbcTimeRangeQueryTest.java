package dev.timerangeio.jdbc;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.assertThrows;

import dev.timerangeio.PipelineSupport;
import dev.timerangeio.TimeRange;
import dev.timerangeio.TimeRangeIO;
import dev.timerangeio.TimeRangeQuery;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.util.SerializableUtils;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The JDBC query on an embedded H2 database: microsecond-exact bounds, earliest, validation. */
@RunWith(JUnit4.class)
public class JdbcTimeRangeQueryTest {
  private static final Instant T0 = Instant.parse("2024-05-01T00:00:00Z");

  @Rule public final transient TestPipeline pipeline = TestPipeline.create();

  private String url;
  private Connection keepAlive;

  @Before
  public void createTable() throws Exception {
    url = "jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1";
    keepAlive = DriverManager.getConnection(url);
    try (Statement s = keepAlive.createStatement()) {
      s.execute("CREATE TABLE events (id BIGINT PRIMARY KEY, ts TIMESTAMP(6) NOT NULL)");
    }
  }

  @After
  public void dropDatabase() throws Exception {
    try (Statement s = keepAlive.createStatement()) {
      s.execute("SHUTDOWN");
    }
  }

  private void insert(long id, Instant time) throws Exception {
    try (PreparedStatement ps = keepAlive.prepareStatement("INSERT INTO events VALUES (?, ?)")) {
      ps.setLong(1, id);
      ps.setObject(2, LocalDateTime.ofInstant(time, ZoneOffset.UTC));
      ps.executeUpdate();
    }
  }

  private static KV<Long, String> row(java.sql.ResultSet rs) throws Exception {
    return KV.of(rs.getLong("id"), rs.getObject("ts", LocalDateTime.class).toString());
  }

  @Test
  public void queryFailsOnARowItCantMapWhileQueryResultReportsIt() throws Exception {
    insert(1, T0);
    insert(2, T0.plusSeconds(1));
    JdbcTimeRangeQuery<Long> query =
        JdbcTimeRangeQuery.forTable(
            url,
            "events",
            "ts",
            rs -> {
              if (rs.getLong("id") == 2) {
                throw new IllegalArgumentException("id 2 is not for us");
              }
              return rs.getLong("id");
            });
    TimeRange range = TimeRange.of(T0, T0.plusSeconds(60));
    query.open();
    try {
      TimeRangeQuery.Result<Long> result = query.queryResult(range, Long.MAX_VALUE);
      assertEquals(List.of(1L), result.records());
      assertEquals(1, result.unmapped().size());
      assertThat(result.unmapped().get(0).row(), containsString("ID=2"));
      // A caller of query() (a user's wrapper, say) can't be told of the row: it fails instead of
      // dropping it.
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> query.query(range));
      assertThat(e.getMessage(), containsString("ID=2"));
      assertEquals("id 2 is not for us", e.getCause().getMessage());
      assertThrows(IllegalStateException.class, () -> query.query(range, 10));
    } finally {
      query.close();
    }
  }

  /** The count for a lookback: the rows a query of the range returns, half-open, unmapped too. */
  @Test
  public void countIsTheRowsAQueryOfTheRangeReturns() throws Exception {
    insert(1, T0.minusNanos(1_000));
    insert(2, T0);
    insert(3, T0.plusSeconds(60).minusNanos(1_000));
    insert(4, T0.plusSeconds(60));
    insert(5, T0.plusSeconds(30));
    JdbcTimeRangeQuery<KV<Long, String>> query =
        JdbcTimeRangeQuery.forSql(
            url,
            "SELECT * FROM events WHERE ts >= ? AND ts < ? AND id <> 5 -- not five",
            JdbcTimeRangeQueryTest::row);
    TimeRange range = TimeRange.of(T0, T0.plusSeconds(60));
    query.open();
    try {
      assertTrue(query.supportsCount());
      assertEquals(2, query.count(range));
      insert(6, T0.plusSeconds(1));
      assertEquals(3, query.count(range));
      assertEquals(3, query.queryResult(range, Long.MAX_VALUE).records().size());
    } finally {
      query.close();
    }
  }

  @Test
  public void boundsAreHalfOpenAtTheMicrosecond() throws Exception {
    insert(1, T0.minusNanos(1_000));
    insert(2, T0);
    insert(3, T0.plusSeconds(60).minusNanos(1_000));
    insert(4, T0.plusSeconds(60));
    JdbcTimeRangeQuery<KV<Long, String>> query =
        JdbcTimeRangeQuery.forTable(url, "events", "ts", JdbcTimeRangeQueryTest::row);
    List<Long> ids = new ArrayList<>();
    for (KV<Long, String> r : query.query(TimeRange.of(T0, T0.plusSeconds(60)))) {
      ids.add(r.getKey());
    }
    query.close();
    assertEquals(List.of(2L, 3L), ids);
  }

  @Test
  public void aQuestionMarkInALiteralACommentOrTheEscapedOperatorIsNoPlaceholder() throws Exception {
    insert(1, T0);
    JdbcTimeRangeQuery<KV<Long, String>> query =
        JdbcTimeRangeQuery.forSql(
            url,
            "SELECT id, ts /* why? */ FROM events WHERE 'a?b' <> '?' AND \"ID\" >= 0 AND ts >= ?"
                + " -- from?\n AND ts < ?",
            JdbcTimeRangeQueryTest::row);
    assertEquals(1, query.query(TimeRange.of(T0, T0.plusSeconds(1))).size());
    query.close();
    assertEquals(2, JdbcSupport.shapeOf("SELECT a ?? b, $$x?$$ FROM t WHERE x >= ? AND x < ?").placeholders);
    for (String sql :
        new String[] {
          "SELECT 1 /* a /* b? */ c? */ FROM t WHERE x >= ? AND x < ?",
          "SELECT `a?b` FROM t WHERE x >= ? AND x < ?",
          "SELECT $fn1$ ? $fn1$ FROM t WHERE x >= ? AND x < ?",
          "SELECT a$b$c FROM t WHERE x >= ? AND x < ?",
        }) {
      assertEquals(sql, 2, JdbcSupport.shapeOf(sql).placeholders);
    }
  }

  @Test
  public void aPagedMicrosecondWorksAfterATrailingSemicolonAndComment() throws Exception {
    for (long id = 1; id <= 7; id++) {
      insert(id, T0);
    }
    JdbcTimeRangeQuery<KV<Long, String>> query =
        JdbcTimeRangeQuery.forSql(
                url,
                "SELECT id, ts FROM events WHERE ts >= ? AND ts < ?; -- the events of a range",
                JdbcTimeRangeQueryTest::row)
            .withTieBreakerColumn("id");
    TimeRangeQuery.Page<KV<Long, String>> first =
        query.queryPage(TimeRange.of(T0, T0.plusNanos(1_000)), null, 3);
    TimeRangeQuery.Page<KV<Long, String>> second =
        query.queryPage(TimeRange.of(T0, T0.plusNanos(1_000)), first.lastTieBreaker(), 3);
    query.close();
    assertEquals(3, first.records().size());
    assertEquals(4L, (long) second.records().get(0).getKey());
  }

  @Test
  public void sqlFormBindsBothBoundsAsParameters() throws Exception {
    insert(1, T0);
    insert(2, T0.plusNanos(1_000));
    JdbcTimeRangeQuery<KV<Long, String>> query =
        JdbcTimeRangeQuery.forSql(
                url, "SELECT id, ts FROM events WHERE ts >= ? AND ts < ? ORDER BY id", JdbcTimeRangeQueryTest::row)
            .withTimeColumn("ts");
    assertEquals(1, query.query(TimeRange.of(T0, T0.plusNanos(1_000))).size());
    assertEquals(Optional.of(T0), query.earliest());
    query.close();
  }

  @Test
  public void earliestOfAnEmptyTableIsEmpty() throws Exception {
    JdbcTimeRangeQuery<KV<Long, String>> query =
        JdbcTimeRangeQuery.forTable(url, "events", "ts", JdbcTimeRangeQueryTest::row);
    assertEquals(Optional.empty(), query.earliest());
    insert(1, T0.plusNanos(7_000));
    assertEquals(Optional.of(T0.plusNanos(7_000)), query.earliest());
    query.close();
  }

  @Test
  public void rangeBoundsAreStatementParametersNeverSqlText() throws Exception {
    insert(1, T0);
    JdbcTimeRangeQuery<KV<Long, String>> query =
        JdbcTimeRangeQuery.forTable(url, "events", "ts", JdbcTimeRangeQueryTest::row);
    assertThat(query.toString(), containsString("WHERE ts >= ? AND ts < ?"));
    assertEquals(1, query.query(TimeRange.of(T0, T0.plusNanos(1_000))).size());
    query.close();
  }

  @Test
  public void copiesInAWorkerShareOnePoolThatTheLastToLeaveCloses() throws Exception {
    insert(1, T0);
    JdbcTimeRangeQuery<KV<Long, String>> query =
        JdbcTimeRangeQuery.forTable(url, "events", "ts", JdbcTimeRangeQueryTest::row);
    // What a runner does: one deserialized copy per DoFn instance.
    JdbcTimeRangeQuery<KV<Long, String>> first = SerializableUtils.clone(query);
    JdbcTimeRangeQuery<KV<Long, String>> second = SerializableUtils.clone(query);
    int before = JdbcPool.openPools();

    first.open();
    second.open();
    assertEquals(before + 1, JdbcPool.openPools());
    TimeRange minute = TimeRange.of(T0, T0.plusSeconds(60));
    assertEquals(1, first.query(minute).size());
    first.close();
    assertEquals("still used by the second copy", before + 1, JdbcPool.openPools());
    assertEquals(1, second.query(minute).size());
    second.close();
    assertEquals(before, JdbcPool.openPools());
  }

  @Test
  public void aWrongPasswordFailsOpenWithTheDriversErrorAndNoSecret() throws Exception {
    try (Statement s = keepAlive.createStatement()) {
      s.execute("CREATE USER reader PASSWORD 'right'");
    }
    JdbcTimeRangeQuery<KV<Long, String>> query =
        JdbcTimeRangeQuery.forTable(url, "events", "ts", JdbcTimeRangeQueryTest::row)
            .withUsername("reader")
            .withPassword("wrong-s3cret");

    java.sql.SQLException e = assertThrows(java.sql.SQLException.class, query::open);

    assertThat(e.getMessage(), containsString("Wrong user name or password"));
    assertThat(e.getMessage(), not(containsString("wrong-s3cret")));
    assertEquals("not retried: a permanent failure", false, PipelineSupport.isRetried(e));
  }

  @Test
  public void passwordNeverAppearsInToString() {
    String withSecret = url + ";PASSWORD=hunter2";
    JdbcTimeRangeQuery<KV<Long, String>> query =
        JdbcTimeRangeQuery.forTable(withSecret, "events", "ts", JdbcTimeRangeQueryTest::row)
            .withPassword("s3cret");
    assertThat(query.toString(), not(containsString("s3cret")));
    assertThat(query.toString(), not(containsString("hunter2")));
  }

  @Test
  public void pipelineReadsTheTableExactlyFromEarliest() throws Exception {
    List<KV<Long, String>> expected = new ArrayList<>();
    for (int i = 0; i < 2_000; i++) {
      // Every 7th record on a whole second; the rest at odd microseconds.
      Instant t = T0.plusSeconds(i * 13L).plusNanos(i % 7 == 0 ? 0 : (i * 997L % 1_000_000) * 1_000);
      insert(i, t);
      expected.add(KV.of((long) i, LocalDateTime.ofInstant(t, ZoneOffset.UTC).toString()));
    }
    Instant end = T0.plusSeconds(2_000 * 13L);
    // Exactly on every interior chunk boundary (the 10-minute grid) and a microsecond before it,
    // on the start (the earliest record, id 0) and on the last microsecond before the end: a
    // bound bound off by one (> for >=, <= for <) loses or repeats these.
    long id = 10_000;
    for (Instant boundary = T0.plusSeconds(600); boundary.isBefore(end); boundary = boundary.plusSeconds(600)) {
      for (Instant t : List.of(boundary, boundary.minusNanos(1_000))) {
        insert(id, t);
        expected.add(KV.of(id++, LocalDateTime.ofInstant(t, ZoneOffset.UTC).toString()));
      }
    }
    insert(id, end.minusNanos(1_000));
    expected.add(KV.of(id++, LocalDateTime.ofInstant(end.minusNanos(1_000), ZoneOffset.UTC).toString()));
    insert(id, end); // the end is exclusive: not read
    PCollection<KV<Long, String>> out =
        pipeline.apply(
            TimeRangeIO.<KV<Long, String>>read()
                .withQuery(JdbcTimeRangeQuery.forTable(url, "events", "ts", JdbcTimeRangeQueryTest::row))
                .withCoder(KvCoder.of(VarLongCoder.of(), StringUtf8Coder.of()))
                .withStartTime("earliest")
                .withEndTime(end)
                .withPartitionDuration(Duration.ofMinutes(10))
                .withIngestionLag(Duration.ZERO));
    PAssert.that(out).containsInAnyOrder(expected);
    pipeline.run();
  }

  /** Rows the mapper of {@link #aCrowdedMicrosecondWithoutATieBreakerIsCountedWithinTheCap} mapped. */
  private static final java.util.concurrent.atomic.AtomicLong MAPPED =
      new java.util.concurrent.atomic.AtomicLong();

  @Test
  public void aCrowdedMicrosecondWithoutATieBreakerIsCountedWithinTheCap() throws Exception {
    // A bulk load stamped with one now(): 2,000 rows on one microsecond, a cap of 10.
    try (PreparedStatement ps = keepAlive.prepareStatement("INSERT INTO events VALUES (?, ?)")) {
      for (int id = 0; id < 2_000; id++) {
        ps.setLong(1, id);
        ps.setObject(2, LocalDateTime.ofInstant(T0.plusNanos(5_000), ZoneOffset.UTC));
        ps.addBatch();
      }
      ps.executeBatch();
    }
    MAPPED.set(0);
    pipeline.apply(
        TimeRangeIO.<KV<Long, String>>read()
            .withQuery(
                JdbcTimeRangeQuery.forTable(
                    url,
                    "events",
                    "ts",
                    rs -> {
                      MAPPED.incrementAndGet();
                      return row(rs);
                    }))
            .withCoder(KvCoder.of(VarLongCoder.of(), StringUtf8Coder.of()))
            .withStartTime(T0)
            .withEndTime(T0.plusMillis(1))
            .withPartitionDuration(Duration.ofMillis(1))
            .withMaxRowsPerQuery(10));

    Exception e = assertThrows(Exception.class, pipeline::run);

    // Each query of the bisection (about ten down to the microsecond) stops at the cap + 1 rows;
    // the microsecond's 2,000 are never all fetched and mapped just to count them.
    assertThat(MAPPED.get(), org.hamcrest.Matchers.lessThanOrEqualTo(11L * 12));
    assertThat(
        e.getMessage(),
        containsString(
            "the microsecond 2024-05-01T00:00:00.000005Z holds at least 11 records, more than"
                + " withMaxRowsPerQuery(10) allows"));
  }

  @Test
  public void aMicrosecondTakingMorePagesThanWithMaxPagesPerQueryFails() throws Exception {
    for (long id = 1; id <= 10; id++) {
      insert(id, T0);
    }
    JdbcTimeRangeQuery<KV<Long, String>> query =
        JdbcTimeRangeQuery.forTable(url, "events", "ts", JdbcTimeRangeQueryTest::row)
            .withTieBreakerColumn("id")
            .withMaxPagesPerQuery(3);
    TimeRange microsecond = TimeRange.of(T0, T0.plusNanos(1_000));
    try {
      Object after = null;
      for (int page = 1; page <= 3; page++) {
        after = query.queryPage(microsecond, after, 2).lastTieBreaker();
      }
      Object fourth = after;
      IllegalStateException e =
          assertThrows(IllegalStateException.class, () -> query.queryPage(microsecond, fourth, 2));
      assertThat(e.getMessage(), containsString("more than withMaxPagesPerQuery(3) pages"));
      // Another microsecond starts its own count.
      assertEquals(0, query.queryPage(TimeRange.of(T0.plusNanos(1_000), T0.plusNanos(2_000)), null, 2).records().size());
    } finally {
      query.close();
    }
  }

  @Test
  public void stringTieBreakerPagesThatCycleFailInsteadOfLoopingForever() throws Exception {
    try (Statement s = keepAlive.createStatement()) {
      s.execute("CREATE TABLE named (name VARCHAR(10) PRIMARY KEY, ts TIMESTAMP(6) NOT NULL)");
      s.execute(
          "INSERT INTO named VALUES ('a', TIMESTAMP '2024-05-01 00:00:00'),"
              + " ('b', TIMESTAMP '2024-05-01 00:00:00'), ('c', TIMESTAMP '2024-05-01 00:00:00')");
    }
    JdbcTimeRangeQuery<String> query =
        JdbcTimeRangeQuery.forTable(url, "named", "ts", rs -> rs.getString("name"))
            .withTieBreakerColumn("name");
    TimeRange microsecond = TimeRange.of(T0, T0.plusNanos(1_000));
    try {
      assertEquals("a", query.queryPage(microsecond, null, 1).lastTieBreaker());
      assertEquals("b", query.queryPage(microsecond, "a", 1).lastTieBreaker());
      // A retry of the same page is no cycle.
      assertEquals("c", query.queryPage(microsecond, "b", 1).lastTieBreaker());
      assertEquals("c", query.queryPage(microsecond, "b", 1).lastTieBreaker());
      // A database whose > and ORDER BY disagree would lead back to an earlier cursor: A, B, A, …
      IllegalStateException e =
          assertThrows(IllegalStateException.class, () -> query.queryPage(microsecond, "a", 1));
      assertThat(e.getMessage(), containsString("cycle"));
    } finally {
      query.close();
    }
  }
}
