package dev.timerangeio.http;

import static dev.timerangeio.http.CoarseTimeFormatTest.T0;
import static dev.timerangeio.http.CoarseTimeFormatTest.crowdedUnit;
import static dev.timerangeio.http.CoarseTimeFormatTest.record;
import static dev.timerangeio.http.CoarseTimeFormatTest.times;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThan;
import static org.junit.Assert.assertEquals;

import dev.timerangeio.PipelineSupport;
import dev.timerangeio.ReadPipelineIT;
import dev.timerangeio.TestSource;
import dev.timerangeio.TimeRangeIOMetrics;
import dev.timerangeio.http.HttpTimeRangeQuery.TimeFormat;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.values.KV;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * Whole reads with coarse time formats (whole seconds, whole milliseconds) from an API on 127.0.0.1
 * that takes only whole units: chunk, start, end and bisection bounds that are not whole units,
 * records on every boundary, and a unit holding more records than the read's cap. Every record is
 * read exactly once.
 */
@RunWith(JUnit4.class)
public class CoarseTimeFormatIT {
  @Rule public final transient TestPipeline p = TestPipeline.create();

  private void readsEveryRecordOnce(TimeFormat format, long unit, boolean timeAsNumber)
      throws Exception {
    long start = T0 + 3 * unit / 10 + 1; // as "latest" does: not a whole unit
    long end = T0 + 20 * unit + 7;
    long[] sorted = times(unit, start, end);
    // The API refuses more than a crowded unit and a few records: ranges of several units are
    // bisected, a unit is always answered (in pages of 20).
    int cap = crowdedUnit(sorted, unit) + 5;
    try (RangeApi api = new RangeApi(sorted, unit, timeAsNumber, 20, cap)) {
      HttpTimeRangeQuery<KV<Long, Long>> query =
          HttpTimeRangeQuery.get(api.url(), json -> record(json, unit))
              .withRecordsPointer("/data")
              .withNextPageToken("/next", "page")
              .withTimeFormat(format, "/time");
      List<KV<Long, Long>> expected = new ArrayList<>();
      for (int i = 0; i < sorted.length; i++) {
        if (sorted[i] >= start && sorted[i] < end) {
          expected.add(KV.of(sorted[i], (long) i));
        }
      }
      // Chunks of 2.5 units, bisected (cap 10 records) at midpoints such as 1.25 units; the read
      // checks each record's time against the range it asked for (withTimestampFn).
      PAssert.that(
              p.apply(
                  TestSource.boundedRead(query, start, end, Duration.ofNanos(unit * 1_000 * 5 / 2))
                      .withMaxRowsPerQuery(10)))
          .satisfies(ReadPipelineIT.sameRecords(expected));
      PipelineResult result = p.run();
      result.waitUntilFinish();
      assertEquals("every bound the API got was a whole unit", List.of(), api.badRequests);
      assertThat(api.tooLarge.get(), greaterThan(0L));
      assertThat(
          PipelineSupport.counter(result, TimeRangeIOMetrics.RANGE_BISECTIONS), greaterThan(0L));
    }
  }

  @Test
  public void withoutARecordTimeTheReadAsksOnlyForWholeUnitsAndReadsEveryRecordOnce()
      throws Exception {
    long unit = 1_000_000L;
    long start = T0;
    long end = T0 + 21 * unit;
    long[] sorted = times(unit, start, end);
    int cap = crowdedUnit(sorted, unit) + 5;
    try (RangeApi api = new RangeApi(sorted, unit, false, 20, cap)) {
      HttpTimeRangeQuery<KV<Long, Long>> query =
          HttpTimeRangeQuery.get(api.url(), json -> record(json, unit))
              .withRecordsPointer("/data")
              .withNextPageToken("/next", "page")
              .withTimeFormat(TimeFormat.EPOCH_SECONDS);
      List<KV<Long, Long>> expected = new ArrayList<>();
      for (int i = 0; i < sorted.length; i++) {
        if (sorted[i] >= start && sorted[i] < end) {
          expected.add(KV.of(sorted[i], (long) i));
        }
      }
      // Chunks of 3 s, bisected on whole seconds where the API refuses a range (413 above the
      // crowded second and a few); the read checks each record's time against the range asked.
      PAssert.that(
              p.apply(
                  TestSource.boundedRead(query, start, end, Duration.ofSeconds(3))
                      .withMaxRowsPerQuery(cap)))
          .satisfies(ReadPipelineIT.sameRecords(expected));
      PipelineResult result = p.run();
      result.waitUntilFinish();
      assertEquals("every bound the API got was a whole unit", List.of(), api.badRequests);
      assertThat(
          PipelineSupport.counter(result, TimeRangeIOMetrics.RANGE_BISECTIONS), greaterThan(0L));
    }
  }

  @Test
  public void epochSecondsReadEveryRecordOnceWhateverTheChunkAndBisectionBounds() throws Exception {
    readsEveryRecordOnce(TimeFormat.EPOCH_SECONDS, 1_000_000L, false);
  }

  @Test
  public void epochMillisReadEveryRecordOnceWithFractionalNumericTimes() throws Exception {
    readsEveryRecordOnce(TimeFormat.EPOCH_MILLIS, 1_000L, true);
  }
}
