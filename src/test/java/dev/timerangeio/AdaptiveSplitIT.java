package dev.timerangeio;

import static dev.timerangeio.PipelineSupport.counter;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import dev.timerangeio.jdbc.JdbcTimeRangeQuery;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apache.beam.sdk.Pipeline.PipelineExecutionException;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.values.KV;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** Chunks too large for one query are bisected until each answer fits, never emitting twice. */
@RunWith(JUnit4.class)
public class AdaptiveSplitIT {
  private static final long MINUTE = 60_000_000L;
  private static final long T0 = 1_714_521_600_000_000L; // 2024-05-01T00:00:00Z

  @Rule public final transient TestPipeline p = TestPipeline.create();

  private static TimeRangeIO.Read<KV<Long, Long>> read(TestSource source) {
    return TestSource.boundedRead(source, T0, T0 + 60 * MINUTE, Duration.ofMinutes(10));
  }

  /** 20,000 random times, chunk boundaries and their neighbours, and 200 on one microsecond. */
  private static long[] times() {
    Random random = new Random(5);
    List<Long> times = new ArrayList<>();
    for (int i = 0; i < 20_000; i++) {
      times.add(T0 + (long) (random.nextDouble() * 60 * MINUTE));
    }
    for (long b = T0; b < T0 + 60 * MINUTE; b += MINUTE) {
      times.addAll(Arrays.asList(b, b + 1, b - 1 >= T0 ? b - 1 : b));
    }
    for (int i = 0; i < 200; i++) {
      times.add(T0 + 17 * MINUTE + 3);
    }
    return times.stream().mapToLong(Long::longValue).toArray();
  }

  @Test
  public void aSourceRefusingLargeRangesIsBisectedToExactlyItsRecords() {
    TestSource source = TestSource.of(times()).refusingAbove(300);
    PAssert.that(p.apply(read(source))).satisfies(ReadPipelineIT.sameRecords(source.records()));

    PipelineResult result = p.run();
    result.waitUntilFinish();

    assertThat(counter(result, "rangeBisections"), greaterThan(60L));
    assertEquals(source.records().size(), counter(result, "rowsRead"));
    assertEquals(6L, counter(result, "chunksRead"));
  }

  @Test
  public void chunksOverMaxRowsPerQueryAreBisectedToExactlyTheirRecords() {
    TestSource source = TestSource.of(times());
    PAssert.that(p.apply(read(source).withMaxRowsPerQuery(250)))
        .satisfies(ReadPipelineIT.sameRecords(source.records()));

    PipelineResult result = p.run();
    result.waitUntilFinish();

    assertThat(counter(result, "rangeBisections"), greaterThan(60L));
    assertEquals(source.records().size(), counter(result, "rowsRead"));
  }

  @Test
  public void aMicrosecondOverTheCapFailsNamingItAndItsCount() {
    long[] crowded = new long[10_000];
    Arrays.fill(crowded, T0 + 5);
    TestSource source = TestSource.of(crowded);
    p.apply(read(source).withEndTime(Times.toInstant(T0 + MINUTE)).withMaxRowsPerQuery(1_000));

    PipelineExecutionException e = assertThrows(PipelineExecutionException.class, p::run);

    assertThat(
        e.getMessage(),
        containsString(
            "the microsecond 2024-05-01T00:00:00.000005Z holds at least 10000 records, more than"
                + " withMaxRowsPerQuery(1000) allows"));
    assertThat(e.getMessage(), containsString("tie-breaker"));
  }

  /** {@link #times()} plus 10,000 records on the first microsecond of a chunk. */
  private static long[] crowdedOnAChunkBoundary() {
    long[] times = times();
    long[] crowded = Arrays.copyOf(times, times.length + 10_000);
    Arrays.fill(crowded, times.length, crowded.length, T0 + 10 * MINUTE);
    return crowded;
  }

  @Test
  public void aCrowdedMicrosecondIsPagedByTheTieBreakerToExactlyItsRecords() {
    TestSource source =
        TestSource.of(crowdedOnAChunkBoundary()).failingTransiently(0.1, 0).pagedById();
    PAssert.that(p.apply(read(source).withMaxRowsPerQuery(1_000)))
        .satisfies(ReadPipelineIT.sameRecords(source.records()));

    PipelineResult result = p.run();
    result.waitUntilFinish();

    // 10 full pages of 1,000, then an empty one that ends the microsecond.
    assertEquals(11L, counter(result, "pagesRead"));
    assertEquals(source.records().size(), counter(result, "rowsRead"));
    assertEquals(source.transientFailures(), counter(result, "sourceRetries"));
  }

  @Test
  public void aPageTheSourceRefusesIsAskedForAgainAtHalfTheSize() {
    long[] crowded = new long[10_000];
    Arrays.fill(crowded, T0 + 5);
    TestSource source = TestSource.of(crowded).refusingAbove(300).pagedById();
    PAssert.that(p.apply(read(source).withEndTime(Times.toInstant(T0 + MINUTE))))
        .satisfies(ReadPipelineIT.sameRecords(source.records()));

    PipelineResult result = p.run();
    result.waitUntilFinish();

    // Pages of 1,000 and 500 are refused; 40 pages of 250, then an empty one.
    assertEquals(41L, counter(result, "pagesRead"));
  }

  @Test
  public void pagesThatDoNotAdvanceFailInsteadOfLooping() {
    long[] crowded = new long[3_000];
    Arrays.fill(crowded, T0 + 5);
    TestSource source = TestSource.of(crowded).pagingWithoutAdvancing();
    p.apply(read(source).withEndTime(Times.toInstant(T0 + MINUTE)).withMaxRowsPerQuery(1_000));

    PipelineExecutionException e = assertThrows(PipelineExecutionException.class, p::run);

    assertThat(
        e.getMessage(),
        containsString(
            "the page after {\"timestamp\":\"2024-05-01T00:00:00.000005Z\",\"sequence_id\":999}"
                + " ended at {\"timestamp\":\"2024-05-01T00:00:00.000005Z\",\"sequence_id\":999}"));
  }

  @Test
  public void jdbcStopsReadingAtTheLimitAndTheReadBisects() throws Exception {
    String url = TestDatabases.newH2Url();
    long[] times = times();
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE events (id BIGINT PRIMARY KEY, t TIMESTAMP(6))");
      try (PreparedStatement insert = c.prepareStatement("INSERT INTO events VALUES (?, ?)")) {
        for (int i = 0; i < times.length; i++) {
          insert.setLong(1, i);
          insert.setObject(2, LocalDateTime.ofInstant(Times.toInstant(times[i]), java.time.ZoneOffset.UTC));
          insert.addBatch();
        }
        insert.executeBatch();
      }
    }
    JdbcTimeRangeQuery<KV<Long, Long>> query =
        JdbcTimeRangeQuery.forTable(
            url,
            "events",
            "t",
            rs ->
                KV.of(
                    Times.toMicros(
                        "t", rs.getObject("t", LocalDateTime.class).toInstant(java.time.ZoneOffset.UTC)),
                    rs.getLong("id")));
    assertEquals(
        "setMaxRows caps the answer",
        11,
        query.queryResult(TimeRange.of(T0, T0 + 60 * MINUTE), 11).rows());
    query.close();

    List<KV<Long, Long>> expected = new ArrayList<>();
    for (int i = 0; i < times.length; i++) {
      expected.add(KV.of(times[i], (long) i));
    }
    PAssert.that(
            p.apply(
                TestSource.boundedRead(query, T0, T0 + 60 * MINUTE, Duration.ofMinutes(10))
                    .withMaxRowsPerQuery(500)))
        .satisfies(ReadPipelineIT.sameRecords(expected));
    PipelineResult result = p.run();
    result.waitUntilFinish();
    assertThat(counter(result, "rangeBisections"), greaterThan(30L));
  }
}
