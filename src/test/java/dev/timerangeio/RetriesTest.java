package dev.timerangeio;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.lessThan;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.beam.sdk.metrics.Metrics;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The one retry loop: how a source's and a sink's failures are retried, and when it gives up. */
@RunWith(JUnit4.class)
public class RetriesTest {
  private static final TransientSourceException WAIT_AN_HOUR =
      new TransientSourceException("busy", null, Duration.ofHours(1));

  @Test
  public void aSinkAskingToWaitAnHourIsRetriedOnTheBackoffAndGivenUpOnAfterItsRetries() {
    AtomicInteger calls = new AtomicInteger();
    long started = System.nanoTime();
    IOException e =
        assertThrows(
            IOException.class,
            () ->
                Retries.forSink(2, Duration.ofMillis(1), Metrics.counter("test", "retries"))
                    .run(
                        "writing",
                        error -> true,
                        () -> {
                          calls.incrementAndGet();
                          throw WAIT_AN_HOUR;
                        }));
    assertEquals("one call and two retries", 3, calls.get());
    assertThat(e.getMessage(), containsString("writing failed 3 times"));
    // The hour asked for was not waited: the backoff from 1 ms was.
    assertThat((System.nanoTime() - started) / 1_000_000_000, lessThan(30L));
  }

  @Test
  public void aSourceAskingToWaitBeyondTheRetryDurationFailsAtOnceSayingSo() {
    AtomicInteger calls = new AtomicInteger();
    IOException e =
        assertThrows(
            IOException.class,
            () ->
                Retries.forSource(
                        8, Duration.ofMillis(1), Duration.ofMinutes(10), Metrics.counter("t", "r"))
                    .run(
                        "the query",
                        SourceErrors::isTransient,
                        () -> {
                          calls.incrementAndGet();
                          throw WAIT_AN_HOUR;
                        }));
    assertEquals(1, calls.get());
    assertThat(e.getMessage(), containsString("the source asks to wait PT1H"));
  }

  @Test
  public void aFailureTheCallerDoesNotRetryIsThrownAsItIs() {
    IllegalArgumentException bad = new IllegalArgumentException("bad query");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                Retries.forSource(8, Duration.ofMillis(1), Duration.ofMinutes(1), Metrics.counter("t", "r"))
                    .run(
                        "the query",
                        SourceErrors::isTransient,
                        () -> {
                          throw bad;
                        }));
    assertEquals(bad, e);
  }
}
