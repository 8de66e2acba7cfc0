package dev.timerangeio;

import static dev.timerangeio.PipelineSupport.counter;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.sql.SQLException;
import java.sql.SQLSyntaxErrorException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.util.List;
import org.apache.beam.sdk.Pipeline.PipelineExecutionException;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** Retries of transient source failures: which errors, how long, and that nothing is lost. */
@RunWith(JUnit4.class)
public class SourceRetryTest {
  private static final long MINUTE = 60_000_000L;
  private static final long T0 = 1_714_521_600_000_000L; // 2024-05-01T00:00:00Z

  @Rule public final transient TestPipeline p = TestPipeline.create();

  private static TimeRangeIO.Read<KV<Long, Long>> read(TestSource source) {
    return TestSource.boundedRead(source, T0, T0 + 60 * MINUTE, Duration.ofMinutes(1))
        .withInitialBackoff(Duration.ofMillis(1));
  }

  @Test
  public void transientAndPermanentErrorsAreToldApartThroughTheCauseChain() {
    List<Exception> transients =
        List.of(
            new TransientSourceException("429", null),
            new SQLTransientConnectionException("pool exhausted"),
            new SQLException("connection lost", "08006"),
            new SQLException("could not serialize access", "40001"),
            new SQLException("too many connections", "53300"),
            new SQLException("terminating connection due to administrator command", "57P01"),
            new IOException("read failed", new SocketTimeoutException("Read timed out")),
            new java.net.SocketException("Connection reset"),
            new RuntimeException(new java.net.ConnectException("Connection refused")));
    List<Exception> permanents =
        List.of(
            new SQLSyntaxErrorException("syntax error at or near \"FORM\"", "42601"),
            new SQLException("permission denied for table events", "42501"),
            new SQLException("password authentication failed", "28P01"),
            new IllegalStateException("a bug in the query"),
            new IOException("HTTP 404"));
    for (Exception e : transients) {
      assertTrue(e.toString(), SourceErrors.isTransient(e));
    }
    for (Exception e : permanents) {
      assertFalse(e.toString(), SourceErrors.isTransient(e));
    }
  }

  @Test
  public void aSourceFailing30PercentOfItsQueriesIsReadExactlyAndTheRetriesCounted() {
    TestSource source =
        TestSource.of(PipelineSupport.nastyTimes(T0, T0 + 60 * MINUTE, MINUTE, 5_000, 3))
            .failingTransiently(0.3, 0);
    PCollection<KV<Long, Long>> output = p.apply(read(source));
    PAssert.that(output).satisfies(ReadPipelineIT.sameRecords(source.records()));

    PipelineResult result = p.run();
    result.waitUntilFinish();

    assertThat(source.transientFailures(), greaterThan(0L));
    assertEquals(source.transientFailures(), counter(result, "sourceRetries"));
    assertEquals(60L, counter(result, "chunksRead"));
  }

  @Test
  public void retryAfterIsHonouredOverAShorterBackoff() {
    TestSource source = TestSource.of(T0 + 1).failingFirst(2, 400);
    p.apply(read(source).withEndTime(Times.toInstant(T0 + MINUTE)).withMaxRetries(20));

    p.run().waitUntilFinish();

    List<Long> starts = source.queryStartNanos();
    assertEquals(2L, source.transientFailures());
    assertEquals(3, starts.size());
    // Every retry waited at least the 400 ms the source asked for, not the 1 ms backoff.
    for (int i = 1; i < starts.size(); i++) {
      assertThat((starts.get(i) - starts.get(i - 1)) / 1_000_000, greaterThanOrEqualTo(400L));
    }
  }

  @Test
  public void exhaustedRetriesFailThePipelineNamingTheChunkAndTheLastError() {
    TestSource source = TestSource.of(T0 + 1).failingTransiently(1.0, 0);
    p.apply(read(source).withEndTime(Times.toInstant(T0 + MINUTE)).withMaxRetries(2));

    PipelineExecutionException e = assertThrows(PipelineExecutionException.class, p::run);

    assertThat(e.getMessage(), containsString("failed 3 times"));
    assertThat(e.getMessage(), containsString("[2024-05-01T00:00:00Z, 2024-05-01T00:01:00Z)"));
    assertThat(e.getMessage(), containsString("injected: 503 Service Unavailable"));
  }

  @Test
  public void aPermanentErrorIsNotRetried() {
    TestSource source = TestSource.of(T0 + 1).failingWith("syntax error in query");
    p.apply(read(source).withEndTime(Times.toInstant(T0 + MINUTE)));

    PipelineExecutionException e = assertThrows(PipelineExecutionException.class, p::run);

    assertThat(e.getMessage(), containsString("syntax error in query"));
    assertEquals("one query per bundle attempt, no retry", 1, source.queries());
  }
}
