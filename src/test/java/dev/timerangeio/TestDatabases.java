package dev.timerangeio;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The databases JDBC tests run on: embedded H2 always; PostgreSQL and MariaDB when their URLs are
 * given as system properties ({@code timerangeio.postgresql.url}, {@code timerangeio.mariadb.url};
 * {@code .ci/run} sets both). A configured server that is unreachable fails its tests, and a
 * property set but empty fails every class that asks for the servers: neither is skipped. Only an
 * absent property skips its server.
 */
public final class TestDatabases {
  private TestDatabases() {}

  public static final String POSTGRESQL_PROPERTY = "timerangeio.postgresql.url";
  public static final String MARIADB_PROPERTY = "timerangeio.mariadb.url";

  /** {@code {name, jdbcUrl}} for each database to test on, for JUnit's {@code Parameterized}. */
  public static List<Object[]> configured() {
    List<Object[]> databases = new ArrayList<>();
    databases.add(new Object[] {"h2", newH2Url()});
    for (String[] server :
        new String[][] {{"postgresql", POSTGRESQL_PROPERTY}, {"mariadb", MARIADB_PROPERTY}}) {
      String url = System.getProperty(server[1]);
      if (url == null) {
        continue; // not configured: this server's cases don't run
      }
      if (url.isBlank()) {
        // Set but empty (an unset CI variable, say): a server the run meant to test on. Failing
        // here fails every test class that asks for it, instead of skipping it in silence.
        throw new IllegalStateException(
            "-D" + server[1] + " is set but empty; give the " + server[0] + " server's JDBC URL"
                + " (jdbc:" + server[0] + "://127.0.0.1/...), or leave the property out to skip"
                + " the server's tests");
      }
      databases.add(new Object[] {server[0], url});
    }
    return databases;
  }

  /** A fresh in-memory H2 database that lives until the JVM ends. */
  public static String newH2Url() {
    return "jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1";
  }

  /** Drops {@code table} if it exists: the clean-up after a test on a server. */
  public static void dropTable(String url, String table) throws java.sql.SQLException {
    try (java.sql.Connection c = java.sql.DriverManager.getConnection(url);
        java.sql.Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS " + table);
    }
  }

  /**
   * The column type of a time column on the database of {@code url}: {@code TIMESTAMPTZ(6)} on
   * PostgreSQL (instants), {@code DATETIME(6)} on MariaDB and {@code TIMESTAMP(6)} on H2 (UTC).
   */
  public static String timeColumnType(String url) {
    return url.startsWith("jdbc:postgresql:")
        ? "TIMESTAMPTZ(6)"
        : url.startsWith("jdbc:mariadb:") ? "DATETIME(6)" : "TIMESTAMP(6)";
  }

  /** {@code t} as a parameter for a {@link #timeColumnType} column on {@code url}'s database. */
  public static Object timeValue(String url, java.time.Instant t) {
    return url.startsWith("jdbc:postgresql:")
        ? java.time.OffsetDateTime.ofInstant(t, java.time.ZoneOffset.UTC)
        : java.time.LocalDateTime.ofInstant(t, java.time.ZoneOffset.UTC);
  }

  /** A table name no other test uses. */
  public static String newTable(String prefix) {
    return prefix + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
  }
}
