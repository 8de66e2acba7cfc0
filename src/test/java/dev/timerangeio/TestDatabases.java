package dev.timerangeio;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The databases JDBC tests run on: embedded H2 always; PostgreSQL and MariaDB when their URLs are
 * given as system properties ({@code timerangeio.postgresql.url}, {@code timerangeio.mariadb.url};
 * {@code .ci/run} sets both). A configured server that is unreachable fails its tests: it is
 * never skipped.
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
      String url = System.getProperty(server[1], "");
      if (!url.isBlank()) {
        databases.add(new Object[] {server[0], url});
      }
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

  /** A table name no other test uses. */
  public static String newTable(String prefix) {
    return prefix + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
  }
}
