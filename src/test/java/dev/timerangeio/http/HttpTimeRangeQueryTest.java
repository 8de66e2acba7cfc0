package dev.timerangeio.http;

import static dev.timerangeio.PipelineSupport.counter;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import dev.timerangeio.FaultyApiServer;
import dev.timerangeio.PipelineSupport;
import dev.timerangeio.ReadPipelineIT;
import dev.timerangeio.TestSource;
import dev.timerangeio.TimeRange;
import dev.timerangeio.TimeRangeIO;
import dev.timerangeio.TransientSourceException;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.apache.beam.sdk.Pipeline.PipelineExecutionException;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.metrics.Lineage;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.KV;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The HTTP JSON connector against a real server on 127.0.0.1. */
@RunWith(JUnit4.class)
public class HttpTimeRangeQueryTest {
  static final long MINUTE = 60_000_000L;
  static final long T0 = 1_714_521_600_000_000L; // 2024-05-01T00:00:00Z
  static final String SECRET = "Bearer s3cr3t-t0ken";

  @Rule public final transient TestPipeline p = TestPipeline.create();

  /** Records as {@code KV(time µs, id)}, the id being the server's index. */
  public static KV<Long, Long> toRecord(com.fasterxml.jackson.databind.JsonNode json) {
    return KV.of(
        java.time.temporal.ChronoUnit.MICROS.between(Instant.EPOCH, Instant.parse(json.get("time").asText())), json.get("id").asLong());
  }

  static long[] times(int n) {
    Random random = new Random(3);
    long[] times = new long[n];
    for (int i = 0; i < n; i++) {
      times[i] = T0 + (long) (random.nextDouble() * 60 * MINUTE);
    }
    for (int i = 0; i < 30; i++) {
      times[i] = T0 + (i % 6) * 10 * MINUTE; // on chunk boundaries
    }
    java.util.Arrays.sort(times);
    return times;
  }

  static List<KV<Long, Long>> expected(long[] sorted) {
    List<KV<Long, Long>> records = new ArrayList<>();
    for (int i = 0; i < sorted.length; i++) {
      records.add(KV.of(sorted[i], (long) i));
    }
    return records;
  }

  static TimeRangeIO.Read<KV<Long, Long>> read(HttpTimeRangeQuery<KV<Long, Long>> query) {
    return TestSource.boundedRead(query, T0, T0 + 60 * MINUTE, Duration.ofMinutes(10))
        .withInitialBackoff(Duration.ofMillis(10))
        .withMaxRetries(30);
  }

  @Test
  public void aPostQueryApiPagedByLinksIsReadExactly() throws Exception {
    long[] times = times(1_000);
    try (FaultyApiServer server =
        new FaultyApiServer(times, 70, 10_000, new double[] {0, 0, 0, 0}, 0)) {
      HttpTimeRangeQuery<KV<Long, Long>> query =
          HttpTimeRangeQuery.post(
                  server.url("/query"),
                  "{\"query\": \"Events | project id, time\", \"timespan\": \"{from}/{to}\"}",
                  HttpTimeRangeQueryTest::toRecord)
              .withRecordsPointer("/data")
              .withNextLinkPointer("/next");
      PAssert.that(p.apply(read(query))).satisfies(ReadPipelineIT.sameRecords(expected(times)));
      PipelineResult result = p.run();
      result.waitUntilFinish();
      // Lineage names the API by scheme, host and path, as catalogs see it.
      int port = URI.create(server.url("/query")).getPort();
      assertEquals(
          Set.of("http:`127.0.0.1:" + port + "`.query"),
          Lineage.query(result.metrics(), Lineage.Type.SOURCE));
    }
  }

  @Test
  public void aClientErrorFailsAtOnceWithTheStatusAndNoSecret() throws Exception {
    try (FaultyApiServer server =
        new FaultyApiServer(new long[0], 10, 10, new double[] {0, 0, 0, 0}, 0)) {
      HttpTimeRangeQuery<KV<Long, Long>> query =
          HttpTimeRangeQuery.get(
                  server.url("/missing?from={from}&to={to}"), HttpTimeRangeQueryTest::toRecord)
              .withSecretHeader("Authorization", SECRET);
      query.open();
      IOException e =
          assertThrows(IOException.class, () -> query.query(TimeRange.of(T0, T0 + MINUTE)));
      assertThat(e.getMessage(), containsString("HTTP 404 from GET"));
      assertThat(e.getMessage(), containsString("no such endpoint"));
      assertThat(e.getMessage(), not(containsString("s3cr3t")));
      assertEquals("not retried", false, PipelineSupport.isRetried(e));
      assertEquals(1L, server.requests.get());
    }
  }

  @Test
  public void boundsAreWrittenInTheChosenFormat() throws Exception {
    long t = T0 + 1_000_000; // 2024-05-01T00:00:01Z
    String[][] cases = {
      {"ISO_8601", "2024-05-01T00%3A00%3A01.000000Z"},
      {"EPOCH_MICROS", "1714521601000000"},
      {"EPOCH_MILLIS", "1714521601000"},
      {"EPOCH_SECONDS", "1714521601"},
    };
    for (String[] c : cases) {
      HttpTimeRangeQuery<KV<Long, Long>> query =
          HttpTimeRangeQuery.get(
                  "http://127.0.0.1:1/x?a={from}&b={to}", HttpTimeRangeQueryTest::toRecord)
              .withTimeFormat(HttpTimeRangeQuery.TimeFormat.valueOf(c[0]), "/time");
      // Port 1 refuses the connection: a transient failure whose message holds the URL sent.
      TransientSourceException e =
          assertThrows(
              TransientSourceException.class, () -> query.query(TimeRange.of(t, t + 1_000_000)));
      assertThat(c[0], e.getMessage(), containsString("/x?a=" + c[1] + "&b="));
    }
    // A bound the format can't write: the API is asked for the whole milliseconds around it.
    HttpTimeRangeQuery<KV<Long, Long>> millis =
        HttpTimeRangeQuery.get("http://127.0.0.1:1/x?a={from}&b={to}", HttpTimeRangeQueryTest::toRecord)
            .withTimeFormat(HttpTimeRangeQuery.TimeFormat.EPOCH_MILLIS, "/time");
    TransientSourceException e =
        assertThrows(
            TransientSourceException.class, () -> millis.query(TimeRange.of(t + 1, t + 2)));
    assertThat(e.getMessage(), containsString("/x?a=1714521601000&b=1714521601001"));
  }

  @Test
  public void secretHeadersStayOutOfDisplayDataAndToString() {
    HttpTimeRangeQuery<KV<Long, Long>> q =
        HttpTimeRangeQuery.get("http://host/x?f={from}&t={to}", HttpTimeRangeQueryTest::toRecord);
    DisplayData data =
        DisplayData.from(
            TimeRangeIO.<KV<Long, Long>>read()
                .withQuery(q.withSecretHeader("Authorization", SECRET))
                .withCoder(TestSource.CODER));
    assertThat(data.toString(), not(containsString("s3cr3t")));
    assertThat(q.withSecretHeader("Authorization", SECRET).toString(), not(containsString("s3cr3t")));
  }
}
