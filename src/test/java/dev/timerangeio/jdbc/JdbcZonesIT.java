package dev.timerangeio.jdbc;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import dev.timerangeio.TestDatabases;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;

/**
 * A worker JVM west and east of UTC (a child JVM with {@code -Duser.timezone}, as a worker would
 * run): the sink stores instants into a column of instants unshifted and into a zone-less one in
 * {@code withZone} (UTC), and {@code forSql} without {@code withTimeColumn} reads the range it was
 * asked for, or, where the driver can't say what the bounds compare with (MariaDB), refuses to
 * guess; with the time column it reads the range everywhere.
 */
@RunWith(Parameterized.class)
public class JdbcZonesIT {
  @Parameterized.Parameters(name = "{0}")
  public static List<Object[]> databases() {
    return TestDatabases.configured();
  }

  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  private final String name;
  private final String url;
  private final String table = TestDatabases.newTable("zones");

  public JdbcZonesIT(String name, String url) {
    this.name = name;
    this.url = url;
  }

  @Test
  public void onAWorkerWestOfUtcInstantsAreWrittenAndReadUnshifted() throws Exception {
    assertExactIn("America/St_Johns"); // UTC-2:30 in May
  }

  @Test
  public void onAWorkerEastOfUtcInstantsAreWrittenAndReadUnshifted() throws Exception {
    assertExactIn("Asia/Kolkata"); // UTC+5:30
  }

  private void assertExactIn(String zone) throws Exception {
    // The child is another process: H2 in a file, closed here while the child runs.
    String onUrl = name.equals("h2") ? "jdbc:h2:" + tmp.getRoot().getPath() + "/zones" : url;
    String instantType =
        name.equals("postgresql")
            ? "timestamptz(6)"
            : name.equals("mariadb") ? "TIMESTAMP(6) NULL" : "TIMESTAMP(6) WITH TIME ZONE";
    String localType = name.equals("mariadb") ? "DATETIME(6)" : "TIMESTAMP(6)";
    try (Connection c = DriverManager.getConnection(onUrl);
        Statement s = c.createStatement()) {
      s.execute(
          "CREATE TABLE " + table + " (idempotency_key VARCHAR(64) PRIMARY KEY, id BIGINT, at "
              + instantType + ", lt " + localType + ")");
    }
    try {
      String output = runChild(zone, onUrl);

      assertThat(output, containsString("READ_BY_COLUMN [1, 2]"));
      if (name.equals("mariadb")) {
        assertThat(output, containsString("READ REFUSED forSql: the driver doesn't say"));
      } else {
        assertThat(output, containsString("READ [1, 2]\n"));
      }
      List<String> stored = new ArrayList<>();
      try (Connection c = DriverManager.getConnection(onUrl);
          Statement s = c.createStatement();
          ResultSet rs = s.executeQuery("SELECT id, at, lt FROM " + table + " ORDER BY id")) {
        while (rs.next()) {
          stored.add(
              rs.getLong(1) + " " + rs.getObject(2, OffsetDateTime.class).toInstant() + " "
                  + rs.getObject(3, LocalDateTime.class));
        }
      }
      List<String> expected = new ArrayList<>();
      for (int id = 0; id < JdbcZonesChild.RECORDS; id++) {
        java.time.Instant at = JdbcZonesChild.T0.plusSeconds(3_600L * id);
        expected.add(id + " " + at + " " + LocalDateTime.ofInstant(at, ZoneOffset.UTC));
      }
      assertEquals(output, expected, stored);
    } finally {
      TestDatabases.dropTable(onUrl, table);
    }
  }

  private String runChild(String zone, String onUrl) throws Exception {
    File log = tmp.newFile("child.log");
    Process child =
        new ProcessBuilder(
                System.getProperty("java.home") + "/bin/java",
                "-Xmx256m",
                "-XX:TieredStopAtLevel=1",
                "-Duser.timezone=" + zone,
                "-cp",
                System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")),
                JdbcZonesChild.class.getName(),
                onUrl,
                table)
            .redirectErrorStream(true)
            .redirectOutput(log)
            .start();
    // A bound on a hung child, not a timing assertion.
    boolean ended = child.waitFor(3, TimeUnit.MINUTES);
    if (!ended) {
      child.destroyForcibly();
    }
    String output = new String(Files.readAllBytes(log.toPath()), StandardCharsets.UTF_8);
    assertTrue("the child in " + zone + " ended: " + output, ended);
    assertEquals("the child in " + zone + " succeeded: " + output, 0, child.exitValue());
    return output;
  }
}
