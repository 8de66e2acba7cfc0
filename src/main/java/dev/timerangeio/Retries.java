package dev.timerangeio;

import java.io.IOException;
import java.io.Serializable;
import java.util.function.Predicate;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.util.BackOff;
import org.apache.beam.sdk.util.FluentBackoff;
import org.apache.beam.sdk.util.Sleeper;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one retry loop of the read (queries, {@code earliest()}, dead letters) and the write (sink
 * batches); internal. A failure the caller calls retryable is retried with jittered exponential
 * backoff (at most 1 minute apart) within {@code withMaxRetries}; for a source also within {@code
 * withMaxRetryDuration}, waiting at least what the failure asks for ({@link
 * SourceErrors#retryAfter}). Anything else is
 * thrown as it is; so is a transient failure once the settings are used up, wrapped in an {@link
 * IOException} that says what failed, how often, and why the loop gave up.
 */
final class Retries implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(Retries.class);
  private static final Duration MAX_BACKOFF = Duration.standardMinutes(1);

  /** A call that may fail transiently. */
  @FunctionalInterface
  interface Call<R> {
    R call() throws Exception;
  }

  private final int maxRetries;
  private final java.time.Duration initialBackoff;
  private final java.time.@Nullable Duration maxDuration;
  private final Counter retries;

  private Retries(
      int maxRetries,
      java.time.Duration initialBackoff,
      java.time.@Nullable Duration maxDuration,
      Counter retries) {
    this.maxRetries = maxRetries;
    this.initialBackoff = initialBackoff;
    this.maxDuration = maxDuration;
    this.retries = retries;
  }

  /**
   * The read's source calls: {@code withMaxRetries}, {@code withInitialBackoff} and {@code
   * withMaxRetryDuration}, and the waits a source asks for, compared with what is left of that
   * duration; each retry counted on {@code retries}.
   */
  static Retries forSource(
      int maxRetries,
      java.time.Duration initialBackoff,
      java.time.Duration maxDuration,
      Counter retries) {
    return new Retries(maxRetries, initialBackoff, maxDuration, retries);
  }

  /**
   * Writes into a sink (the write's batches, dead letters): {@code withMaxRetries} and {@code
   * withInitialBackoff} only; no time limit and no requested waits, so a sink's exception can't
   * hold a bundle for longer than the backoff allows.
   */
  static Retries forSink(int maxRetries, java.time.Duration initialBackoff, Counter retries) {
    return new Retries(maxRetries, initialBackoff, null, retries);
  }

  /**
   * Calls {@code call} until it succeeds, fails with something {@code isTransient} rejects, or the
   * settings are used up. {@code what} names the call in log lines and errors.
   */
  <R> R run(String what, Predicate<Exception> isTransient, Call<R> call) throws Exception {
    BackOff backoff =
        FluentBackoff.DEFAULT
            .withInitialBackoff(Duration.millis(Math.max(1, initialBackoff.toMillis())))
            .withMaxBackoff(MAX_BACKOFF)
            .withMaxRetries(maxRetries)
            .backoff();
    long started = System.nanoTime();
    for (int attempt = 1; ; attempt++) {
      try {
        return call.call();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw e;
      } catch (Exception e) {
        if (!isTransient.test(e)) {
          throw e;
        }
        long waitMillis = backoff.nextBackOffMillis();
        // A requested wait of any size (Retry-After: 10000000000, or a date in 3000) is compared
        // with what is left of the budget, never multiplied into an overflow.
        long requestedMillis =
            maxDuration == null
                ? 0L
                : SourceErrors.retryAfter(e).map(Retries::saturatedMillis).orElse(0L);
        long elapsedMillis = (System.nanoTime() - started) / 1_000_000;
        long leftMillis =
            maxDuration == null
                ? Long.MAX_VALUE
                : Math.max(0, saturatedMillis(maxDuration) - elapsedMillis);
        if (waitMillis != BackOff.STOP) {
          waitMillis = Math.max(waitMillis, requestedMillis);
        }
        if (waitMillis == BackOff.STOP || waitMillis > leftMillis) {
          throw new IOException(
              what
                  + " failed "
                  + attempt
                  + " times in "
                  + elapsedMillis
                  + " ms (withMaxRetries "
                  + maxRetries
                  + (maxDuration == null ? "" : ", withMaxRetryDuration " + maxDuration)
                  + (requestedMillis > leftMillis
                      ? "; the source asks to wait "
                          + java.time.Duration.ofMillis(requestedMillis)
                          + ", beyond what is left of it"
                      : "")
                  + "); failing the bundle so the runner retries it. Last error: "
                  + e,
              e);
        }
        retries.inc();
        LOG.warn("{} failed ({}); retry {} in {} ms", what, e.toString(), attempt, waitMillis);
        // Nothing is closed or reopened between attempts: clients and pools replace broken
        // connections themselves.
        Sleeper.DEFAULT.sleep(waitMillis);
      }
    }
  }

  /**
   * Writes {@code batch} to {@code sink}, retrying any failure but a {@link
   * RejectedRecordException}: that one is thrown to the caller, which knows what a rejection means
   * there. {@code what} ({@code "TimeRangeIO.write()"}) starts the log lines and the error.
   */
  <T> void write(IdempotentSink<T> sink, java.util.List<org.apache.beam.sdk.values.KV<String, T>> batch, String what)
      throws Exception {
    run(
        what + ": writing a batch of " + batch.size() + " records to the sink",
        e -> !(e instanceof RejectedRecordException),
        () -> {
          sink.write(batch);
          return null;
        });
  }

  private static long saturatedMillis(java.time.Duration d) {
    try {
      return Math.max(0, d.toMillis());
    } catch (ArithmeticException tooLong) {
      return Long.MAX_VALUE;
    }
  }
}
