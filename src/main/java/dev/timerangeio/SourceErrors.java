package dev.timerangeio;

import java.net.ConnectException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.http.HttpTimeoutException;
import java.sql.SQLException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTransientException;
import java.time.Duration;
import java.util.Optional;

/** Which source failures the read retries; internal. */
final class SourceErrors {
  private SourceErrors() {}

  /**
   * Transient: {@link TransientSourceException}; JDBC transient and recoverable exceptions and
   * SQLSTATE classes 08 (connection), 40 (rollback: serialization failure, deadlock), 53
   * (insufficient resources), 57P01-03 (server shutting down) and 57014 (statement timeout); socket timeouts, refused and
   * reset connections, HTTP client timeouts — anywhere in the cause chain. Everything else
   * (syntax, permissions, bad data, a bug in a query) is permanent.
   */
  static boolean isTransient(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof TransientSourceException
          || t instanceof SQLTransientException
          || t instanceof SQLRecoverableException
          || t instanceof SocketTimeoutException
          || t instanceof ConnectException
          || t instanceof HttpTimeoutException
          || (t instanceof SocketException && !(t instanceof java.net.BindException))) {
        return true;
      }
      if (t instanceof SQLException) {
        String state = ((SQLException) t).getSQLState();
        if (state != null
            && (state.startsWith("08")
                || state.startsWith("40")
                || state.startsWith("53")
                || state.startsWith("57P0")
                // A statement timeout (withQueryTimeout): a lock wait or an overloaded server.
                || state.equals("57014"))) {
          return true;
        }
      }
    }
    return false;
  }

  /** Whether the source refused a range as too large, anywhere in the cause chain. */
  static boolean isTooLarge(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof ResultTooLargeException) {
        return true;
      }
    }
    return false;
  }

  /** The wait a {@link TransientSourceException} in the cause chain asked for, if any. */
  static Optional<Duration> retryAfter(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof TransientSourceException) {
        return ((TransientSourceException) t).retryAfter();
      }
    }
    return Optional.empty();
  }
}
