package dev.timerangeio.jdbc;

import static dev.timerangeio.Checks.checkArgument;

import dev.timerangeio.Secrets;
import java.io.Serializable;
import java.util.Objects;
import org.apache.beam.sdk.util.Secret;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Where a JDBC source or sink connects: the URL, the credentials and the most connections a
 * worker opens, as one immutable value that {@link JdbcTimeRangeQuery} and {@link
 * JdbcIdempotentSink} share (in the spirit of {@code JdbcIO.DataSourceConfiguration}):
 *
 * <pre>{@code
 * JdbcConnection db = JdbcConnection.of("jdbc:postgresql://db:5432/app")
 *     .withUsername("reader").withPassword(password);
 * JdbcTimeRangeQuery.forTableAsRows(db, "events", "event_time");
 * JdbcIdempotentSink.forRows(db, "events_copy");
 * }</pre>
 *
 * <p>A worker JVM holds one connection pool (HikariCP) per connection value and access mode,
 * shared by every copy of the sources and sinks that use it. {@link #toString()} and display data
 * never show the password, nor a secret in the URL.
 */
public final class JdbcConnection implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Default {@link #withMaxConnections}: connections per pool, per worker JVM. */
  public static final int DEFAULT_MAX_CONNECTIONS = 4;

  private final String jdbcUrl;
  private final @Nullable String username;
  private final @Nullable Secret password;
  private final int maxConnections;
  private final @Nullable String driverClassName;

  /**
   * The driver classes that serve each URL prefix, in the order they are tried: the default
   * driver class is the first of them on the classpath ({@code jdbc:mysql:} is served by MySQL's
   * driver or by MariaDB's).
   */
  private static final String[][] DRIVERS = {
    {"jdbc:postgresql:", "org.postgresql.Driver"},
    {"jdbc:mariadb:", "org.mariadb.jdbc.Driver"},
    {"jdbc:mysql:", "com.mysql.cj.jdbc.Driver", "org.mariadb.jdbc.Driver"},
    {"jdbc:h2:", "org.h2.Driver"},
    {"jdbc:sqlserver:", "com.microsoft.sqlserver.jdbc.SQLServerDriver"},
    {"jdbc:oracle:", "oracle.jdbc.OracleDriver"},
    {"jdbc:db2:", "com.ibm.db2.jcc.DB2Driver"},
    {"jdbc:sqlite:", "org.sqlite.JDBC"},
  };

  private JdbcConnection(
      String jdbcUrl,
      @Nullable String username,
      @Nullable Secret password,
      int maxConnections,
      @Nullable String driverClassName) {
    this.jdbcUrl = jdbcUrl;
    this.username = username;
    this.password = password;
    this.maxConnections = maxConnections;
    this.driverClassName = driverClassName;
  }

  /**
   * A connection to {@code jdbcUrl}, a {@code jdbc:} URL whose driver is on the classpath; no
   * username or password (give them in the URL or with {@link #withUsername}/{@link
   * #withPassword}).
   */
  public static JdbcConnection of(String jdbcUrl) {
    JdbcSupport.checkUrl(jdbcUrl);
    return new JdbcConnection(jdbcUrl, null, null, DEFAULT_MAX_CONNECTIONS, null);
  }

  /** The database user. Default: none (the URL's, or the driver's default). */
  public JdbcConnection withUsername(String username) {
    checkArgument(username != null, "withUsername: username must not be null");
    return new JdbcConnection(jdbcUrl, username, password, maxConnections, driverClassName);
  }

  /**
   * The user's password; never logged, displayed or put in an error. It is serialized with the
   * pipeline: prefer {@link #withPassword(Secret)}. Default: none.
   */
  public JdbcConnection withPassword(String password) {
    checkArgument(password != null, "withPassword: password must not be null");
    return withPassword(Secrets.ofValue(password));
  }

  /**
   * The user's password as a Beam {@link Secret} ({@link Secrets#fromEnvironment}, {@link
   * Secrets#fromFile}, …), resolved on the worker when a connection is opened: only its reference
   * is serialized into the job graph.
   */
  public JdbcConnection withPassword(Secret password) {
    checkArgument(password != null, "withPassword: password must not be null");
    return new JdbcConnection(jdbcUrl, username, password, maxConnections, driverClassName);
  }

  /**
   * The most connections one worker JVM opens to this database, for each access mode (reading,
   * writing). Default {@link #DEFAULT_MAX_CONNECTIONS}; allowed: 1 or more.
   */
  public JdbcConnection withMaxConnections(int maxConnections) {
    checkArgument(
        maxConnections >= 1, "withMaxConnections: must be at least 1, was %s", maxConnections);
    return new JdbcConnection(jdbcUrl, username, password, maxConnections, driverClassName);
  }

  /**
   * The JDBC driver's class, loaded through the job's class loader rather than looked up in
   * {@code DriverManager}, which only offers drivers registered by class loaders visible to the
   * caller: on a Flink TaskManager that ran an earlier job, the driver that job registered is
   * not visible to the next one ("No suitable driver"). Default: the driver of the URL's prefix
   * (PostgreSQL, MariaDB, MySQL or MariaDB for {@code jdbc:mysql:}, H2, SQL Server, Oracle, Db2,
   * SQLite) that is on the classpath; otherwise {@code DriverManager}'s choice, which a warm Flink
   * TaskManager may not offer. Allowed: a class name; a class that can't be loaded fails when the
   * pool starts, naming this option.
   */
  public JdbcConnection withDriverClassName(String driverClassName) {
    checkArgument(
        driverClassName != null && driverClassName.matches("[\\p{L}_$][\\p{L}\\p{N}_$.]*"),
        "withDriverClassName: \"%s\" is not a Java class name",
        driverClassName);
    return new JdbcConnection(jdbcUrl, username, password, maxConnections, driverClassName);
  }

  /** The first driver class of the URL's prefix that can be loaded; null when none can. */
  private static @Nullable String defaultDriver(String jdbcUrl) {
    for (String[] drivers : DRIVERS) {
      if (jdbcUrl.startsWith(drivers[0])) {
        for (int i = 1; i < drivers.length; i++) {
          if (loadable(drivers[i])) {
            return drivers[i];
          }
        }
        return null;
      }
    }
    return null;
  }

  /** Whether the job's class loader (or, without one, this class's) can load {@code name}. */
  static boolean loadable(String name) {
    ClassLoader loader = Thread.currentThread().getContextClassLoader();
    try {
      Class.forName(name, false, loader != null ? loader : JdbcConnection.class.getClassLoader());
      return true;
    } catch (ClassNotFoundException | LinkageError e) {
      return false;
    }
  }

  /** The URL as given; it may hold secrets: use {@link #redactedUrl()} in messages. */
  public String jdbcUrl() {
    return jdbcUrl;
  }

  public @Nullable String username() {
    return username;
  }

  /** The password, resolved here (on the worker). */
  @Nullable String password() {
    return password == null ? null : Secrets.resolve(password);
  }

  public int maxConnections() {
    return maxConnections;
  }

  /**
   * The driver class the pool loads: the one given to {@link #withDriverClassName}, else the
   * first loadable driver of the URL's prefix; null when there is neither ({@code DriverManager}
   * chooses).
   */
  public @Nullable String driverClassName() {
    return driverClassName != null ? driverClassName : defaultDriver(jdbcUrl);
  }

  /** Whether {@link #driverClassName()} was given, so that it must load. */
  boolean driverClassNameGiven() {
    return driverClassName != null;
  }

  /** The URL with secrets (password parameters, user-info) masked: for messages and display. */
  public String redactedUrl() {
    return JdbcSupport.redact(jdbcUrl);
  }

  @Override
  public boolean equals(@Nullable Object o) {
    if (!(o instanceof JdbcConnection)) {
      return false;
    }
    JdbcConnection c = (JdbcConnection) o;
    return jdbcUrl.equals(c.jdbcUrl)
        && Objects.equals(username, c.username)
        && Objects.equals(password, c.password)
        && maxConnections == c.maxConnections
        && Objects.equals(driverClassName, c.driverClassName);
  }

  @Override
  public int hashCode() {
    return Objects.hash(jdbcUrl, username, password, maxConnections, driverClassName);
  }

  /** The redacted URL and user; never the password. */
  @Override
  public String toString() {
    return "JdbcConnection{"
        + redactedUrl()
        + (username == null ? "" : ", user " + username)
        + (password == null ? "" : ", password ***")
        + ", maxConnections "
        + maxConnections
        + (driverClassName == null ? "" : ", driver " + driverClassName)
        + "}";
  }
}
