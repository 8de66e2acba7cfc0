package dev.timerangeio;

import java.io.IOException;
import java.util.List;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.util.BackOff;
import org.apache.beam.sdk.util.FluentBackoff;
import org.apache.beam.sdk.util.Sleeper;
import org.apache.beam.sdk.values.KV;
import org.joda.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One batch into an {@link IdempotentSink}, retrying transient failures with exponential,
 * jittered backoff; shared by the write and its dead letters; internal. A {@link
 * RejectedRecordException} is not retried: it is thrown to the caller, which knows what a
 * rejection means there.
 */
final class SinkWrites implements java.io.Serializable {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(SinkWrites.class);
  private static final Duration MAX_BACKOFF = Duration.standardMinutes(1);

  private final int maxRetries;
  private final Duration initialBackoff;
  private final Counter retries;

  SinkWrites(int maxRetries, java.time.Duration initialBackoff, Counter retries) {
    this.maxRetries = maxRetries;
    this.initialBackoff = Duration.millis(Math.max(1, initialBackoff.toMillis()));
    this.retries = retries;
  }

  /**
   * Writes {@code batch} to {@code sink}; {@code what} ({@code "TimeRangeIO.write()"}) starts the
   * log lines and the error.
   */
  <T> void write(IdempotentSink<T> sink, List<KV<String, T>> batch, String what)
      throws Exception {
    BackOff backoff =
        FluentBackoff.DEFAULT
            .withInitialBackoff(initialBackoff)
            .withMaxBackoff(MAX_BACKOFF)
            .withMaxRetries(maxRetries)
            .backoff();
    while (true) {
      try {
        sink.write(batch);
        return;
      } catch (RejectedRecordException | InterruptedException e) {
        if (e instanceof InterruptedException) {
          Thread.currentThread().interrupt();
        }
        throw e;
      } catch (Exception e) {
        long waitMillis = backoff.nextBackOffMillis();
        if (waitMillis == BackOff.STOP) {
          throw new IOException(
              what
                  + ": the sink failed a batch of "
                  + batch.size()
                  + " records "
                  + (maxRetries + 1)
                  + " times; failing the bundle so the runner retries it. Last error: "
                  + e,
              e);
        }
        retries.inc();
        LOG.warn(
            "{}: writing {} records failed ({}); retrying in {} ms",
            what,
            batch.size(),
            e.toString(),
            waitMillis);
        Sleeper.DEFAULT.sleep(waitMillis);
      }
    }
  }
}
