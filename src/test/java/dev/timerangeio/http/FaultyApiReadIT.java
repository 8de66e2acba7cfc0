package dev.timerangeio.http;

import static dev.timerangeio.PipelineSupport.counter;
import static dev.timerangeio.http.HttpTimeRangeQueryTest.SECRET;
import static dev.timerangeio.http.HttpTimeRangeQueryTest.expected;
import static dev.timerangeio.http.HttpTimeRangeQueryTest.read;
import static dev.timerangeio.http.HttpTimeRangeQueryTest.times;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertEquals;

import dev.timerangeio.FaultyApiServer;
import dev.timerangeio.ReadPipelineIT;
import java.time.Duration;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.values.KV;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** A whole read from a real, fault-injecting API on 127.0.0.1: exact, every fault counted. */
@RunWith(JUnit4.class)
public class FaultyApiReadIT {
  @Rule public final transient TestPipeline p = TestPipeline.create();

  @Test
  public void aFaultyApiIsReadExactlyAndItsRetriesAndSplitsCounted() throws Exception {
    long[] times = times(3_000);
    // 30 % 503, 3 % 429 with Retry-After: 1 s, 3 % slower than the timeout, 3 % cut short; and
    // a range over 400 records answers 413.
    try (FaultyApiServer server =
        new FaultyApiServer(times, 100, 400, new double[] {0.3, 0.03, 0.03, 0.03}, 1_500)) {
      HttpTimeRangeQuery<KV<Long, Long>> query =
          HttpTimeRangeQuery.get(
                  server.url("/events?since={from}&until={to}"),
                  HttpTimeRangeQueryTest::toRecord)
              .withRecordsPointer("/data")
              .withNextPageToken("/next_page_token", "page_token")
              .withSecretHeader("Authorization", SECRET)
              .withTimeout(Duration.ofMillis(500));
      PAssert.that(p.apply(read(query))).satisfies(ReadPipelineIT.sameRecords(expected(times)));

      PipelineResult result = p.run();
      result.waitUntilFinish();

      long transientFaults =
          server.faults("503") + server.faults("429") + server.faults("slow")
              + server.faults("truncated");
      assertThat(server.faults("503"), greaterThan(0L));
      assertThat(server.faults("429"), greaterThan(0L));
      assertThat(server.faults("slow"), greaterThan(0L));
      assertThat(server.faults("truncated"), greaterThan(0L));
      assertEquals(transientFaults, counter(result, "sourceRetries"));
      assertEquals(server.faults("413"), counter(result, "rangeBisections"));
      assertThat(server.faults("413"), greaterThan(0L));
      // Not vacuous: every request carried the secret header, and there were requests.
      assertThat(server.authorizations, not(empty()));
      assertThat(server.authorizations, everyItem(is(SECRET)));
    }
  }
}
