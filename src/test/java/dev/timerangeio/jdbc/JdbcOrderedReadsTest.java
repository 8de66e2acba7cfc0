package dev.timerangeio.jdbc;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.timerangeio.TestDatabases;
import dev.timerangeio.TimeRange;
import dev.timerangeio.TimeRangeQuery;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;

/**
 * {@link JdbcTimeRangeQuery#queryRangePage} (keyset pages on time and tie-breaker) and {@link
 * JdbcTimeRangeQuery#nextRecordTime} ({@code MIN(time)} with the query's own filter).
 */
@RunWith(Parameterized.class)
public class JdbcOrderedReadsTest {
  private static final long SECOND = 1_000_000L;
  /** 2024-05-01T00:00:00Z. */
  private static final long T0 = 1_714_521_600L * SECOND;

  @Parameterized.Parameters(name = "{0}")
  public static List<Object[]> databases() {
    return TestDatabases.configured();
  }

  @Parameterized.Parameter(0)
  public String database;

  @Parameterized.Parameter(1)
  public String url;

  private final String table = TestDatabases.newTable("ordered");
  private JdbcTimeRangeQuery<Long> query;

  @Before
  public void seed() throws Exception {
    try (Connection c = DriverManager.getConnection(url)) {
      try (Statement s = c.createStatement()) {
        s.execute(
            "CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, ts "
                + TestDatabases.timeColumnType(url)
                + " NOT NULL, kind VARCHAR(10) NOT NULL)");
      }
      try (PreparedStatement insert =
          c.prepareStatement("INSERT INTO " + table + " (id, ts, kind) VALUES (?, ?, ?)")) {
        // Ids 14 down to 0: ten rows on T0 + 5 µs and five on T0 + 6 µs, inserted out of order;
        // id 15, filtered out by the query, at T0 + 1 s; id 16 at T0 + 2 s.
        for (long id = 16; id >= 0; id--) {
          long micros = id < 10 ? T0 + 5 : id < 15 ? T0 + 6 : T0 + (id - 14) * SECOND;
          java.time.Instant t = java.time.Instant.ofEpochSecond(0, micros * 1_000);
          insert.setLong(1, id);
          insert.setObject(2, TestDatabases.timeValue(url, t));
          insert.setString(3, id == 15 ? "skip" : "keep");
          insert.addBatch();
        }
        insert.executeBatch();
      }
    }
    query =
        JdbcTimeRangeQuery.forSql(
                url,
                "SELECT id, ts FROM " + table + " WHERE ts >= ? AND ts < ? AND kind = 'keep'",
                rs -> rs.getLong("id"))
            .withTimeColumn("ts")
            .withTieBreakerColumn("id");
    query.open();
  }

  @After
  public void drop() throws Exception {
    if (query != null) {
      query.close();
    }
    TestDatabases.dropTable(url, table);
  }

  @Test
  public void pagesFollowTimeThenTieBreakerAndResumeAfterTheLastRow() throws Exception {
    assertTrue(query.supportsRangePaging());
    TimeRange range = TimeRange.of(T0, T0 + 60 * SECOND);
    List<Long> ids = new ArrayList<>();
    Object after = null;
    int pages = 0;
    while (true) {
      TimeRangeQuery.Page<Long> page = query.queryRangePage(range, after, 4);
      pages++;
      ids.addAll(page.records());
      if (page.records().size() < 4) {
        break;
      }
      after = page.lastTieBreaker();
    }
    List<Long> expected = new ArrayList<>();
    for (long id = 0; id < 15; id++) {
      expected.add(id);
    }
    expected.add(16L);
    assertEquals(expected, ids);
    assertEquals(5, pages); // 4 + 4 + 4 + 4 rows, then 0
  }

  @Test
  public void theNextRecordTimeIsTheFirstTheQueryWouldReturn() throws Exception {
    assertTrue(query.supportsNextRecordTime());
    assertEquals(OptionalLong.of(T0 + 5), query.nextRecordTime(TimeRange.of(T0, T0 + SECOND)));
    assertEquals(
        OptionalLong.of(T0 + 6), query.nextRecordTime(TimeRange.of(T0 + 6, T0 + 60 * SECOND)));
    // Id 15 at T0 + 1 s is filtered out by the query, so the next record is id 16.
    assertEquals(
        OptionalLong.of(T0 + 2 * SECOND),
        query.nextRecordTime(TimeRange.of(T0 + 7, T0 + 60 * SECOND)));
    assertEquals(OptionalLong.empty(), query.nextRecordTime(TimeRange.of(T0 + 7, T0 + 2 * SECOND)));
  }

  /**
   * A query bounded by one column whose withTimeColumn names another (say, read by ingestion time,
   * withTimeColumn on the event time): MIN of that column says nothing of where the query's records
   * lie, and a later answer would have the read claim chunks holding records as empty. Before the
   * skipping of empty stretches such a read was exact (the column only served earliest()); now the
   * question must refuse to answer instead of losing records.
   */
  @Test
  public void aTimeColumnTheQueryIsNotBoundedByIsRefusedNotTrusted() throws Exception {
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      s.execute(
          "ALTER TABLE " + table + " ADD COLUMN later " + TestDatabases.timeColumnType(url));
      // Each row's "later" time is a minute after its ts: the query is bounded by ts.
      s.execute("UPDATE " + table + " SET later = ts + INTERVAL '1' MINUTE");
    }
    JdbcTimeRangeQuery<Long> mismatched =
        JdbcTimeRangeQuery.forSql(
                url,
                "SELECT id, ts, later FROM " + table + " WHERE ts >= ? AND ts < ? AND kind = 'keep'",
                rs -> rs.getLong("id"))
            .withTimeColumn("later");
    mismatched.open();
    try {
      // The range's records lie at T0 + 5 µs .. T0 + 2 s by ts; MIN(later) is T0 + 60 s + 5 µs.
      IllegalStateException e =
          assertThrows(
              IllegalStateException.class,
              () -> mismatched.nextRecordTime(TimeRange.of(T0, T0 + 120 * SECOND)));
      assertThat(e.getMessage(), containsString("withTimeColumn(\"later\")"));
    } finally {
      mismatched.close();
    }
  }
}
