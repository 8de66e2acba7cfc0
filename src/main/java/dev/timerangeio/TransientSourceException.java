package dev.timerangeio;

import java.time.Duration;
import java.util.Optional;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Thrown by a {@link TimeRangeQuery} for a failure worth retrying: a timeout, a throttled request
 * (HTTP 429, 503), a lost connection. The read retries the chunk with exponential, jittered
 * backoff, waiting at least {@link #retryAfter()} when the source said how long, and counts each
 * retry in the {@code sourceRetries} metric. Anything else a query throws fails the bundle with
 * its message (after classification: JDBC transient and connection errors and socket timeouts
 * are retried too, see {@link TimeRangeIO.Read#withMaxRetries}).
 */
public class TransientSourceException extends Exception {
  private static final long serialVersionUID = 1L;

  private final @Nullable Duration retryAfter;

  public TransientSourceException(String message, @Nullable Throwable cause) {
    this(message, cause, null);
  }

  /** With the wait the source asked for, e.g. from an HTTP {@code Retry-After} header. */
  public TransientSourceException(
      String message, @Nullable Throwable cause, @Nullable Duration retryAfter) {
    super(message, cause);
    this.retryAfter = retryAfter;
  }

  /** How long the source asked to wait before the next attempt, if it said. */
  public Optional<Duration> retryAfter() {
    return Optional.ofNullable(retryAfter);
  }
}
