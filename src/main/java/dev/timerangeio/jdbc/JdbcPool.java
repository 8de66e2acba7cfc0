package dev.timerangeio.jdbc;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.pool.HikariPool.PoolInitializationException;
import java.io.Serializable;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * A JDBC source's or sink's handle on its worker's connection pool; internal.
 *
 * <p>A worker JVM holds one HikariCP pool per {@link JdbcConnection} and access mode, shared by
 * every copy of the source or sink that {@link #open() opened} it and closed when the last one
 * {@link #close() closes}: a runner's many DoFn copies don't each hold a connection, and a
 * connection the database broke is evicted by the pool rather than handed out again. Connections
 * come without auto-commit; a caller borrows one per query or batch and closes it to give it back.
 */
final class JdbcPool implements Serializable {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(JdbcPool.class);
  private static final long serialVersionUID = 1L;
  private static final int VALIDATION_SECONDS = 5;

  private static final Map<JdbcPool, SharedPool> POOLS = new HashMap<>();
  private static final AtomicInteger POOL_NUMBER = new AtomicInteger();

  private final JdbcConnection connection;
  private final boolean readOnly;

  private transient @Nullable SharedPool pool;

  private JdbcPool(JdbcConnection connection, boolean readOnly) {
    this.connection = connection;
    this.readOnly = readOnly;
  }

  /** The pool of {@code connection}, read-only (a source) or not (a sink). */
  static JdbcPool of(JdbcConnection connection, boolean readOnly) {
    return new JdbcPool(connection, readOnly);
  }

  JdbcConnection jdbcConnection() {
    return connection;
  }

  String jdbcUrl() {
    return connection.jdbcUrl();
  }

  /** The URL without secrets: for messages, logs and display data. */
  String redactedUrl() {
    return connection.redactedUrl();
  }

  /**
   * Joins (or starts) this worker's pool. Starting it connects once, so an unreachable database,
   * a wrong password or a missing driver fails here with the driver's own exception.
   */
  synchronized void open() throws SQLException {
    if (pool == null) {
      try {
        pool = acquire(this);
      } catch (SQLException e) {
        throw scrub(e);
      } catch (RuntimeException e) {
        throw scrub(e);
      }
    }
  }

  /**
   * {@code e} with no secret of this connection in any of its texts (a driver quotes the URL, or
   * the part of it it could not parse: MariaDB a password as the port, PostgreSQL as the host).
   * Every exception leaving the JDBC connector passes through here.
   */
  <E extends Exception> E scrub(E e) {
    return JdbcSecrets.scrub(e, connection);
  }

  /** A pooled connection, joining the pool first if needed; close it to give it back. */
  Connection connection() throws SQLException {
    open();
    try {
      return pool.dataSource.getConnection();
    } catch (SQLException e) {
      throw scrub(e);
    }
  }

  /**
   * Whether {@code c}, which just failed, lost its session (the database restarted, killed it,
   * or the network dropped it); if so it is evicted from the pool, so no one borrows it again.
   * Drivers and the pool report a lost session in too many ways to classify by exception.
   */
  boolean lostConnection(Connection c) {
    boolean lost;
    try {
      lost = c.isClosed() || !c.isValid(VALIDATION_SECONDS);
    } catch (SQLException e) {
      lost = true;
    }
    SharedPool current = pool;
    if (lost && current != null) {
      current.dataSource.evictConnection(c);
    }
    return lost;
  }

  /** Leaves the pool; the last copy to leave closes it. */
  synchronized void close() {
    if (pool != null) {
      SharedPool leaving = pool;
      pool = null;
      release(leaving);
    }
  }

  private static SharedPool acquire(JdbcPool key) throws SQLException {
    synchronized (POOLS) {
      SharedPool shared = POOLS.get(key);
      if (shared == null) {
        shared = new SharedPool(key, start(key));
        POOLS.put(key, shared);
      }
      shared.users++;
      return shared;
    }
  }

  private static void release(SharedPool shared) {
    synchronized (POOLS) {
      if (--shared.users == 0) {
        POOLS.remove(shared.key);
        shared.dataSource.close();
      }
    }
  }

  private static HikariDataSource start(JdbcPool key) throws SQLException {
    HikariConfig config = new HikariConfig();
    config.setPoolName("TimeRangeIO-" + POOL_NUMBER.incrementAndGet());
    JdbcConnection connection = key.connection;
    config.setJdbcUrl(connection.jdbcUrl());
    String driver = connection.driverClassName();
    if (driver != null) {
      // Loaded through this job's class loader, not found through DriverManager.
      try {
        config.setDriverClassName(driver);
      } catch (RuntimeException | LinkageError e) {
        throw new SQLException(
            (connection.driverClassNameGiven() ? "withDriverClassName: the" : "The default")
                + " driver class \"" + driver + "\" of " + connection.redactedUrl()
                + " can't be loaded (" + e + "); put the driver's jar on the classpath, or give"
                + " the class that is there with withDriverClassName");
      }
    } else {
      LOG.warn(
          "TimeRangeIO: no known JDBC driver class for {}; DriverManager chooses, which fails"
              + " on a warm Flink TaskManager (\"No suitable driver\"). Give the driver's class"
              + " with JdbcConnection.withDriverClassName",
          connection.redactedUrl());
    }
    if (JdbcSupport.isMysqlLike(connection.jdbcUrl())) {
      pinSessionZone(config, connection.jdbcUrl());
    }
    config.setUsername(connection.username());
    config.setPassword(connection.password());
    config.setAutoCommit(false);
    config.setReadOnly(key.readOnly);
    config.setMaximumPoolSize(connection.maxConnections());
    // Connections are made when needed and retire when idle: a worker that stopped reading
    // doesn't keep sessions open on the database.
    config.setMinimumIdle(0);
    try {
      return new HikariDataSource(config);
    } catch (PoolInitializationException e) {
      // The driver's own exception (with its SQLSTATE) says whether a retry can help.
      if (e.getCause() instanceof SQLException) {
        throw JdbcSecrets.scrub((SQLException) e.getCause(), connection);
      }
      throw new SQLException(
          "can't connect to " + connection.redactedUrl() + ": "
              + JdbcSecrets.scrub(String.valueOf(e.getMessage()), connection));
    } catch (RuntimeException e) {
      // Hikari names the URL in its own messages ("Failed to get driver instance for jdbcUrl=…")
      // and masks only password=: the message is rebuilt, and the cause left out.
      throw new SQLException(
          "can't connect to " + connection.redactedUrl() + ": "
              + JdbcSecrets.scrub(String.valueOf(e.getMessage()), connection)
              + " (" + e.getClass().getSimpleName() + ")");
    }
  }

  /**
   * MariaDB's and MySQL's drivers convert instants through their connection time zone, the JVM's
   * by default, while the server reads them in the session's, the server's: on a worker not in
   * the server's zone every instant of a {@code TIMESTAMP} column would shift. Unless the URL
   * says otherwise, both are pinned to UTC and instants are converted exactly.
   */
  private static void pinSessionZone(HikariConfig config, String jdbcUrl) {
    String url = jdbcUrl.toLowerCase(java.util.Locale.ROOT);
    String[][] pins = {
      {"connectionTimeZone", "UTC"},
      {"forceConnectionTimeZoneToSession", "true"},
      {"preserveInstants", "true"},
    };
    for (String[] pin : pins) {
      if (!url.contains(pin[0].toLowerCase(java.util.Locale.ROOT) + "=")) {
        config.addDataSourceProperty(pin[0], pin[1]);
      }
    }
  }

  /** How many pools this JVM holds now; for tests. */
  static int openPools() {
    synchronized (POOLS) {
      return POOLS.size();
    }
  }

  private static final class SharedPool {
    final JdbcPool key;
    final HikariDataSource dataSource;
    int users;

    SharedPool(JdbcPool key, HikariDataSource dataSource) {
      this.key = key;
      this.dataSource = dataSource;
    }
  }

  /** Handles on equal connections in the same mode share a pool. */
  @Override
  public boolean equals(@Nullable Object o) {
    if (!(o instanceof JdbcPool)) {
      return false;
    }
    JdbcPool p = (JdbcPool) o;
    return connection.equals(p.connection) && readOnly == p.readOnly;
  }

  @Override
  public int hashCode() {
    return Objects.hash(connection, readOnly);
  }
}
