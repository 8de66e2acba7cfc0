package dev.timerangeio;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;

/**
 * One chunk far larger than the heap is read exactly: a child JVM at {@code -Xmx64m} reads
 * 300,000 rows of about 300 bytes (some 100 MB of records, 1.5 times its heap) from one chunk, on
 * H2 (a TCP server in this JVM) and on PostgreSQL when configured; paged by (time, id) with a
 * tie-breaker, bisected without. It is the 2,000,000 rows at {@code -Xmx512m} (1.3 times
 * the heap) scaled down: what must fit is one page, not the chunk. Before pages and the default
 * memory bound the child died of {@code OutOfMemoryError} (it exits on one, never hangs).
 */
@RunWith(Parameterized.class)
public class ChunkMemoryIT {
  private static final int ROWS = 300_000;
  private static final String START = "2024-05-01T00:00:00Z";
  private static final String END = "2024-05-01T01:00:00Z";

  @Parameterized.Parameters(name = "{0} {2}")
  public static List<Object[]> cases() {
    List<Object[]> cases = new ArrayList<>();
    List<String[]> servers = new ArrayList<>();
    servers.add(new String[] {"h2", null});
    String postgres = System.getProperty(TestDatabases.POSTGRESQL_PROPERTY);
    if (postgres != null) {
      servers.add(new String[] {"postgresql", postgres});
    }
    for (String[] server : servers) {
      for (String mode : new String[] {"paged", "bisected"}) {
        cases.add(new Object[] {server[0], server[1], mode});
      }
    }
    return cases;
  }

  @Parameterized.Parameter(0)
  public String database;

  @Parameterized.Parameter(1)
  public String configuredUrl;

  @Parameterized.Parameter(2)
  public String mode;

  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  private org.h2.tools.Server h2;
  private String url;
  private final String table = TestDatabases.newTable("big_chunk");

  @Before
  public void seed() throws Exception {
    if (configuredUrl == null) {
      h2 =
          org.h2.tools.Server.createTcpServer(
                  "-tcpPort", "0", "-ifNotExists", "-baseDir", tmp.newFolder("h2").getPath())
              .start();
      url = "jdbc:h2:tcp://127.0.0.1:" + h2.getPort() + "/big";
    } else {
      url = configuredUrl;
    }
    boolean postgres = url.startsWith("jdbc:postgresql:");
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      s.execute(
          "CREATE TABLE " + table + " (id BIGINT PRIMARY KEY, event_time "
              + (postgres ? "TIMESTAMPTZ" : "TIMESTAMP(6)") + " NOT NULL, payload VARCHAR(300))");
      s.execute("CREATE INDEX " + table + "_time ON " + table + " (event_time)");
      // Every 10 ms within the hour, so 300,000 rows share times by the 833: the tie-breaker pages
      // through crowded times too; 256 characters of payload each.
      s.execute(
          postgres
              ? "INSERT INTO " + table + " SELECT g, TIMESTAMPTZ '2024-05-01 00:00:00+00'"
                  + " + (g % 360000) * INTERVAL '10 milliseconds', repeat(md5(g::text), 8)"
                  + " FROM generate_series(0, " + (ROWS - 1) + ") g"
              : "INSERT INTO " + table + " SELECT X, DATEADD(MILLISECOND, MOD(X, 360000) * 10,"
                  + " TIMESTAMP '2024-05-01 00:00:00'), REPEAT(RAWTOHEX(HASH('SHA-256',"
                  + " CAST(X AS VARCHAR))), 4) FROM SYSTEM_RANGE(0, " + (ROWS - 1) + ")");
      if (postgres) {
        s.execute("ANALYZE " + table);
      }
    }
  }

  @After
  public void drop() throws Exception {
    if (url != null) {
      TestDatabases.dropTable(url, table);
    }
    if (h2 != null) {
      h2.stop();
    }
  }

  /** Count and checksum of the table, read by plain JDBC in this JVM's ample heap. */
  private String expected() throws Exception {
    long rows = 0;
    long checksum = 0;
    try (Connection c = DriverManager.getConnection(url)) {
      c.setAutoCommit(false); // PostgreSQL streams only inside a transaction
      try (PreparedStatement s = c.prepareStatement("SELECT id, payload FROM " + table)) {
        s.setFetchSize(10_000);
        try (ResultSet rs = s.executeQuery()) {
          while (rs.next()) {
            rows++;
            checksum += ChunkMemoryChild.checksum(rs.getLong(1), rs.getString(2));
          }
        }
      }
      c.rollback();
    }
    return "rows=" + rows + " checksum=" + checksum;
  }

  @Test
  public void oneChunkLargerThanTheHeapIsReadExactly() throws Exception {
    Path log = tmp.getRoot().toPath().resolve("child.log");
    Process child =
        new ProcessBuilder(
                System.getProperty("java.home") + "/bin/java",
                "-Xmx64m",
                "-XX:+ExitOnOutOfMemoryError",
                "-XX:+UseSerialGC",
                "-cp",
                System.getProperty(
                    "surefire.test.class.path", System.getProperty("java.class.path")),
                ChunkMemoryChild.class.getName(),
                url,
                table,
                START,
                END,
                mode)
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    boolean exited = child.waitFor(10, TimeUnit.MINUTES);
    if (!exited) {
      child.destroyForcibly();
    }
    String output = Files.readString(log, StandardCharsets.UTF_8);
    assertTrue("the child did not finish in 10 minutes:\n" + output, exited);
    assertEquals("the child failed:\n" + output, 0, child.exitValue());
    String[] lines = output.trim().split("\n");
    assertEquals(expected(), lines[lines.length - 1]);
    assertTrue(expected().startsWith("rows=" + ROWS + " "));
  }
}
