package dev.timerangeio;

import static org.apache.beam.vendor.guava.v32_1_2_jre.com.google.common.base.Preconditions.checkArgument;

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
 * Where the JDBC source or sink connects, and its handle on a connection pool; internal.
 *
 * <p>A worker JVM holds one HikariCP pool per database, user and access mode, shared by every
 * copy of the source or sink that {@link #open() opened} it and closed when the last one {@link
 * #close() closes}: a runner's many DoFn copies don't each hold a connection, and a connection
 * the database broke is evicted by the pool rather than handed out again. Connections come
 * without auto-commit; a caller borrows one per query or batch and closes it to give it back.
 */
final class JdbcConnector implements Serializable {
  private static final long serialVersionUID = 1L;
  /** Default maximum connections per pool. */
  static final int DEFAULT_MAX_CONNECTIONS = 4;
  private static final int VALIDATION_SECONDS = 5;

  private static final Map<JdbcConnector, SharedPool> POOLS = new HashMap<>();
  private static final AtomicInteger POOL_NUMBER = new AtomicInteger();

  private final String jdbcUrl;
  private final @Nullable String username;
  private final @Nullable String password;
  private final boolean readOnly;
  private final int maxConnections;

  private transient @Nullable SharedPool pool;

  private JdbcConnector(
      String jdbcUrl,
      @Nullable String username,
      @Nullable String password,
      boolean readOnly,
      int maxConnections) {
    this.jdbcUrl = jdbcUrl;
    this.username = username;
    this.password = password;
    this.readOnly = readOnly;
    this.maxConnections = maxConnections;
  }

  /** A connector to {@code jdbcUrl}, read-only (a source) or not (a sink). */
  static JdbcConnector of(String jdbcUrl, boolean readOnly) {
    JdbcSupport.checkUrl(jdbcUrl);
    return new JdbcConnector(jdbcUrl, null, null, readOnly, DEFAULT_MAX_CONNECTIONS);
  }

  JdbcConnector withUsername(String username) {
    checkArgument(username != null, "withUsername: username must not be null");
    return new JdbcConnector(jdbcUrl, username, password, readOnly, maxConnections);
  }

  JdbcConnector withPassword(String password) {
    checkArgument(password != null, "withPassword: password must not be null");
    return new JdbcConnector(jdbcUrl, username, password, readOnly, maxConnections);
  }

  JdbcConnector withMaxConnections(int maxConnections) {
    checkArgument(
        maxConnections >= 1,
        "withMaxConnections: must be at least 1, was %s",
        maxConnections);
    return new JdbcConnector(jdbcUrl, username, password, readOnly, maxConnections);
  }

  String jdbcUrl() {
    return jdbcUrl;
  }

  @Nullable String username() {
    return username;
  }

  int maxConnections() {
    return maxConnections;
  }

  /** The URL without a password parameter: for messages, logs and display data. */
  String redactedUrl() {
    return JdbcSupport.redact(jdbcUrl);
  }

  /**
   * Joins (or starts) this worker's pool. Starting it connects once, so an unreachable database,
   * a wrong password or a missing driver fails here with the driver's own exception.
   */
  synchronized void open() throws SQLException {
    if (pool == null) {
      pool = acquire(this);
    }
  }

  /** A pooled connection, joining the pool first if needed; close it to give it back. */
  Connection connection() throws SQLException {
    open();
    return pool.dataSource.getConnection();
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

  private static SharedPool acquire(JdbcConnector key) throws SQLException {
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

  private static HikariDataSource start(JdbcConnector key) throws SQLException {
    HikariConfig config = new HikariConfig();
    config.setPoolName("TimeRangeIO-" + POOL_NUMBER.incrementAndGet());
    config.setJdbcUrl(key.jdbcUrl);
    config.setUsername(key.username);
    config.setPassword(key.password);
    config.setAutoCommit(false);
    config.setReadOnly(key.readOnly);
    config.setMaximumPoolSize(key.maxConnections);
    // Connections are made when needed and retire when idle: a worker that stopped reading
    // doesn't keep sessions open on the database.
    config.setMinimumIdle(0);
    try {
      return new HikariDataSource(config);
    } catch (PoolInitializationException e) {
      // The driver's own exception (with its SQLSTATE) says whether a retry can help.
      if (e.getCause() instanceof SQLException) {
        throw (SQLException) e.getCause();
      }
      throw new SQLException(
          "can't connect to " + JdbcSupport.redact(key.jdbcUrl) + ": "
              + JdbcSupport.redactText(String.valueOf(e.getMessage()), key.jdbcUrl));
    } catch (RuntimeException e) {
      // Hikari names the URL in its own messages ("Failed to get driver instance for jdbcUrl=…")
      // and masks only password=: the message is rebuilt, and the cause left out.
      throw new SQLException(
          "can't connect to " + JdbcSupport.redact(key.jdbcUrl) + ": "
              + JdbcSupport.redactText(String.valueOf(e.getMessage()), key.jdbcUrl)
              + " (" + e.getClass().getSimpleName() + ")");
    }
  }

  /** How many pools this JVM holds now; for tests. */
  static int openPools() {
    synchronized (POOLS) {
      return POOLS.size();
    }
  }

  private static final class SharedPool {
    final JdbcConnector key;
    final HikariDataSource dataSource;
    int users;

    SharedPool(JdbcConnector key, HikariDataSource dataSource) {
      this.key = key;
      this.dataSource = dataSource;
    }
  }

  /** Connectors with equal settings share a pool. No toString: it would show the password. */
  @Override
  public boolean equals(@Nullable Object o) {
    if (!(o instanceof JdbcConnector)) {
      return false;
    }
    JdbcConnector k = (JdbcConnector) o;
    return jdbcUrl.equals(k.jdbcUrl)
        && Objects.equals(username, k.username)
        && Objects.equals(password, k.password)
        && readOnly == k.readOnly
        && maxConnections == k.maxConnections;
  }

  @Override
  public int hashCode() {
    return Objects.hash(jdbcUrl, username, password, readOnly, maxConnections);
  }
}
