package dev.timerangeio.jdbc;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;

import dev.timerangeio.TestDatabases;
import dev.timerangeio.TimeRange;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The connection value the JDBC source and sink share, and how its driver is found. */
@RunWith(JUnit4.class)
public class JdbcConnectionTest {
  private static final TimeRange RANGE =
      TimeRange.of(Instant.parse("2024-05-01T00:00:00Z"), Instant.parse("2024-05-01T01:00:00Z"));

  private static String tableWithOneRow() throws SQLException {
    String url = TestDatabases.newH2Url();
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE events (id BIGINT, ts TIMESTAMP)");
      s.execute("INSERT INTO events VALUES (1, TIMESTAMP '2024-05-01 00:30:00')");
    }
    return url;
  }

  @Test
  public void aDriverMissingFromDriverManagerStillConnectsThroughTheJobsClassLoader()
      throws Exception {
    String url = tableWithOneRow();
    // As on a Flink TaskManager whose driver was registered by an earlier job's class loader:
    // DriverManager offers this caller no driver for the URL.
    org.h2.Driver.unload();
    try {
      assertThrows(SQLException.class, () -> DriverManager.getConnection(url));
      JdbcTimeRangeQuery<Long> query =
          JdbcTimeRangeQuery.forTable(url, "events", "ts", rs -> rs.getLong("id"));
      query.open();
      try {
        assertEquals(java.util.List.of(1L), query.query(RANGE));
      } finally {
        query.close();
      }
    } finally {
      org.h2.Driver.load();
    }
  }

  @org.junit.Rule public final org.junit.rules.TemporaryFolder tmp = new org.junit.rules.TemporaryFolder();

  @Test
  public void aPasswordByReferenceIsResolvedOnTheWorkerAndNeverSerialized() throws Exception {
    String url = "jdbc:h2:mem:secret-password;DB_CLOSE_DELAY=-1";
    String password = "pw-from-a-file-42";
    try (Connection c = DriverManager.getConnection(url, "owner", password);
        java.sql.Statement s = c.createStatement()) {
      s.execute("CREATE TABLE events (id BIGINT, ts TIMESTAMP)");
      s.execute("INSERT INTO events VALUES (1, TIMESTAMP '2024-05-01 00:00:30')");
      java.nio.file.Path file = tmp.newFile().toPath();
      java.nio.file.Files.write(file, (password + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
      JdbcConnection connection =
          JdbcConnection.of(url)
              .withUsername("owner")
              .withPassword(dev.timerangeio.Secrets.fromFile(file.toString()));
      JdbcTimeRangeQuery<Long> query =
          JdbcTimeRangeQuery.forTable(connection, "events", "ts", rs -> rs.getLong("id"));

      java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
      try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(bytes)) {
        out.writeObject(query);
      }
      assertThat(bytes.toString(java.nio.charset.StandardCharsets.ISO_8859_1), not(containsString(password)));
      assertThat(query.toString(), not(containsString(password)));
      assertEquals(
          "equal references are one connection (one pool)",
          connection,
          JdbcConnection.of(url)
              .withUsername("owner")
              .withPassword(dev.timerangeio.Secrets.fromFile(file.toString())));
      query.open();
      try {
        assertEquals(java.util.List.of(1L), query.query(RANGE));
      } finally {
        query.close();
      }
    }
  }

  @Test
  public void aDriverClassThatCantBeLoadedFailsNamingTheOptionAndTheClass() {
    JdbcTimeRangeQuery<Long> query =
        JdbcTimeRangeQuery.forTable(
                JdbcConnection.of("jdbc:h2:mem:nodriver;PASSWORD=s3cret")
                    .withDriverClassName("com.example.NoSuchDriver"),
                "events",
                "ts",
                rs -> rs.getLong("id"));
    SQLException e = assertThrows(SQLException.class, query::open);
    assertThat(
        e.getMessage(),
        allOf(
            containsString("withDriverClassName"),
            containsString("com.example.NoSuchDriver"),
            not(containsString("s3cret"))));
  }

  @Test
  public void theDriverDefaultsToTheFirstLoadableOfTheUrlPrefixAndIsLeftToDriverManagerOtherwise() {
    assertEquals(
        "org.postgresql.Driver",
        JdbcConnection.of("jdbc:postgresql://127.0.0.1/test").driverClassName());
    assertEquals(
        "org.mariadb.jdbc.Driver", JdbcConnection.of("jdbc:mariadb://127.0.0.1/test").driverClassName());
    assertEquals("org.h2.Driver", JdbcConnection.of("jdbc:h2:mem:x").driverClassName());
    // MySQL's driver is not on the test classpath; MariaDB's, which serves jdbc:mysql: too, is.
    assertEquals(
        "org.mariadb.jdbc.Driver", JdbcConnection.of("jdbc:mysql://127.0.0.1/test").driverClassName());
    assertNull(JdbcConnection.of("jdbc:derby:memory:x").driverClassName());
    assertEquals(
        "com.example.Driver",
        JdbcConnection.of("jdbc:derby:memory:x").withDriverClassName("com.example.Driver").driverClassName());
  }

  @Test
  public void equalConnectionsAreEqualAndTheirTextNeverShowsThePassword() {
    JdbcConnection a = JdbcConnection.of("jdbc:h2:mem:x").withUsername("u").withPassword("s3cret");
    JdbcConnection b = JdbcConnection.of("jdbc:h2:mem:x").withUsername("u").withPassword("s3cret");
    assertEquals(a, b);
    assertEquals(a.hashCode(), b.hashCode());
    assertThat(a.toString(), allOf(containsString("jdbc:h2:mem:x"), not(containsString("s3cret"))));
    assertThat(
        JdbcTimeRangeQuery.forTable(a, "events", "ts", rs -> 1L).toString(),
        not(containsString("s3cret")));
  }
}
