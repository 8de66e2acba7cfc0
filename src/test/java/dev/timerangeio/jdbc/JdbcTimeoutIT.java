package dev.timerangeio.jdbc;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.lessThan;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.timerangeio.PipelineSupport;
import dev.timerangeio.TestDatabases;
import dev.timerangeio.TimeRange;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;

/**
 * A statement that would block forever — a lock wait on PostgreSQL and MariaDB, a statement that
 * takes minutes on H2 — ends at {@code withQueryTimeout} as a transient failure the read retries,
 * instead of blocking the worker past {@code withMaxRetryDuration}.
 */
@RunWith(Parameterized.class)
public class JdbcTimeoutIT {
  @Parameterized.Parameters(name = "{0}")
  public static List<Object[]> databases() {
    return TestDatabases.configured();
  }

  private final String name;
  private final String url;
  private final String table = TestDatabases.newTable("locked");
  private Connection holder;

  public JdbcTimeoutIT(String name, String url) {
    this.name = name;
    this.url = url;
  }

  @Before
  public void createAndLock() throws Exception {
    holder = DriverManager.getConnection(url);
    try (Statement s = holder.createStatement()) {
      s.execute("CREATE TABLE " + table + " (id BIGINT, ts TIMESTAMP(6))");
      s.execute("INSERT INTO " + table + " VALUES (1, TIMESTAMP '2024-05-01 00:00:00')");
      if (name.equals("h2")) {
        s.execute("CREATE ALIAS IF NOT EXISTS TIMERANGEIO_SLEEP FOR 'java.lang.Thread.sleep(long)'");
        return;
      }
      holder.setAutoCommit(false);
      if (name.equals("postgresql")) {
        s.execute("LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE");
      } else {
        s.execute("LOCK TABLES " + table + " WRITE");
      }
    }
  }

  @After
  public void release() throws Exception {
    if (!name.equals("h2")) {
      try (Statement s = holder.createStatement()) {
        if (name.equals("mariadb")) {
          s.execute("UNLOCK TABLES");
        }
        holder.rollback();
      }
      holder.setAutoCommit(true);
    }
    try (Statement s = holder.createStatement()) {
      s.execute("DROP TABLE IF EXISTS " + table);
    }
    holder.close();
  }

  // Before withQueryTimeout this blocked forever: the limit turns that into a failure.
  @Test(timeout = 120_000)
  public void aBlockedStatementEndsAtTheQueryTimeoutAsATransientFailure() throws Exception {
    // H2 reads without waiting for locks: a statement of 100,000 rows at 10 ms each instead
    // (H2 checks for a cancel between rows).
    String sql =
        name.equals("h2")
            ? "SELECT X AS id FROM SYSTEM_RANGE(1, 100000) WHERE ? <= TIMESTAMP '2024-05-01 12:00:00'"
                + " AND ? > TIMESTAMP '2024-05-01 12:00:00' AND TIMERANGEIO_SLEEP(10) IS NULL"
            : "SELECT id, ts FROM " + table + " WHERE ts >= ? AND ts < ?";
    JdbcTimeRangeQuery<Long> query =
        JdbcTimeRangeQuery.forSql(url, sql, rs -> rs.getLong("id"))
            .withQueryTimeout(Duration.ofSeconds(1));
    query.open();
    long started = System.nanoTime();
    try {
      Exception e =
          assertThrows(
              Exception.class,
              () ->
                  query.query(
                      TimeRange.of(
                          Instant.parse("2024-05-01T00:00:00Z"), Instant.parse("2024-05-02T00:00:00Z"))));
      assertTrue("transient, so the read retries it: " + e, PipelineSupport.isRetried(e));
    } finally {
      query.close();
    }
    assertThat((System.nanoTime() - started) / 1_000_000_000L, lessThan(30L));
  }
}
