package dev.timerangeio.jdbc;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;

import dev.timerangeio.LineageName;
import dev.timerangeio.TimeRangeIO;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.UUID;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.metrics.Lineage;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.values.Row;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * A JDBC read reports its database and table as a lineage source, a JDBC write its table as a
 * sink, named as Beam's JdbcIO names them, and never with a user, password or URL parameter.
 */
@RunWith(JUnit4.class)
public class JdbcLineageTest {
  @Rule public final transient TestPipeline pipeline = TestPipeline.create();

  private String database;
  private String url;
  private Connection keepAlive;

  @Before
  public void createTable() throws Exception {
    database = "lineage" + UUID.randomUUID().toString().replace("-", "");
    url = "jdbc:h2:mem:" + database + ";DB_CLOSE_DELAY=-1";
    keepAlive = DriverManager.getConnection(url);
    try (Statement s = keepAlive.createStatement()) {
      s.execute("CREATE TABLE events (id BIGINT PRIMARY KEY, ts TIMESTAMP(6) NOT NULL)");
      s.execute("INSERT INTO events VALUES (1, TIMESTAMP '2024-05-01 00:00:01')");
      s.execute("INSERT INTO events VALUES (2, TIMESTAMP '2024-05-01 00:30:00')");
    }
  }

  @After
  public void dropDatabase() throws Exception {
    try (Statement s = keepAlive.createStatement()) {
      s.execute("SHUTDOWN");
    }
  }

  @Test
  public void aCopyReportsItsSourceAndSinkTablesThroughThePipelinesMetrics() {
    pipeline
        .apply(
            TimeRangeIO.<Row>read()
                .withQuery(JdbcTimeRangeQuery.forTableAsRows(url, "events", "ts"))
                .withStartTime("2024-05-01T00:00:00Z")
                .withEndTime(Instant.parse("2024-05-01T01:00:00Z"))
                .withPartitionDuration(Duration.ofMinutes(10))
                .withIngestionLag(Duration.ZERO))
        .apply(
            TimeRangeIO.<Row>write()
                .to(JdbcIdempotentSink.forRows(url, "PUBLIC.events_copy").withCreateTable(true)));
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();
    String db = "`mem:" + database + "`";
    assertEquals(
        Set.of("h2:" + db + ".default.events"),
        Lineage.query(result.metrics(), Lineage.Type.SOURCE));
    assertEquals(
        Set.of("h2:" + db + ".PUBLIC.events_copy"),
        Lineage.query(result.metrics(), Lineage.Type.SINK));
  }

  @Test
  public void serverUrlsGiveHostPortDatabaseSchemaAndTableWithoutCredentials() {
    assertEquals(
        LineageName.of("postgresql", "db.internal:5432", "app", "default", "events"),
        JdbcLineage.of(
            "jdbc:postgresql://reader:s3cret@db.internal:5432/app?password=s3cret&ssl=true",
            "events"));
    assertEquals(
        LineageName.of("mariadb", "127.0.0.1:3306", "test", "shop", "orders"),
        JdbcLineage.of("jdbc:mariadb://127.0.0.1:3306/test;password=s3cret", "shop.orders"));
    assertEquals(
        "postgresql:`db.internal:5432`.app",
        JdbcLineage.of("jdbc:postgresql://db.internal:5432/app?password=s3cret", null).toString());
  }

  @Test
  public void aUrlWithoutADatabaseIsNotReported() {
    assertNull(JdbcLineage.of("jdbc:postgresql://db.internal:5432", "events"));
    assertNull(JdbcLineage.of("jdbc:postgresql:", "events"));
    assertNull(JdbcLineage.of("not-jdbc", "events"));
  }
}
