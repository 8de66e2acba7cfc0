package dev.timerangeio.http;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.lessThan;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import dev.timerangeio.PipelineSupport;
import dev.timerangeio.ReadPipelineIT;
import dev.timerangeio.ResultTooLargeException;
import dev.timerangeio.TestSource;
import dev.timerangeio.TimeRange;
import dev.timerangeio.TimeRangeIOMetrics;
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
 * One HTTP query's bounds across its pages, time and bytes, against an API on 127.0.0.1: past
 * either, the range is too large and the read bisects it; nothing is cut short.
 */
@RunWith(JUnit4.class)
public class QueryBoundsTest {
  static final long T0 = CoarseTimeFormatTest.T0;
  static final long SECOND = 1_000_000L;

  @Rule public final transient TestPipeline p = TestPipeline.create();

  /** 60 records, one every 100 ms from T0. */
  static long[] times() {
    long[] times = new long[60];
    for (int i = 0; i < times.length; i++) {
      times[i] = T0 + i * SECOND / 10;
    }
    return times;
  }

  static HttpTimeRangeQuery<KV<Long, Long>> query(RangeApi api) {
    return HttpTimeRangeQuery.get(api.url(), json -> CoarseTimeFormatTest.record(json, 1))
        .withRecordsPointer("/data")
        .withNextPageToken("/next", "page");
  }

  static List<KV<Long, Long>> all(long[] times) {
    List<KV<Long, Long>> records = new ArrayList<>();
    for (int i = 0; i < times.length; i++) {
      records.add(KV.of(times[i], (long) i));
    }
    return records;
  }

  @Test
  public void aQueryStillPagingAfterItsMaxDurationIsTooLarge() throws Exception {
    try (RangeApi api = new RangeApi(times(), 1, false, 5, 1_000)) {
      // Each page takes at least 30 ms, so the next page is due after more than 10 ms.
      api.pageDelayMillis = 30;
      TimeRange range = TimeRange.of(T0, T0 + 6 * SECOND);
      ResultTooLargeException e =
          assertThrows(
              ResultTooLargeException.class,
              () -> query(api).withMaxQueryDuration(Duration.ofMillis(10)).query(range));
      assertThat(e.getMessage(), containsString("withMaxQueryDuration(PT0.01S)"));
      assertEquals("no page after the limit", 1L, api.requests.get());
      assertEquals(60, query(api).query(range).size());
    }
  }

  @Test
  public void aQueryReadingMoreThanItsMaxBytesIsTooLarge() throws Exception {
    try (RangeApi api = new RangeApi(times(), 1, false, 5, 1_000)) {
      TimeRange range = TimeRange.of(T0, T0 + 6 * SECOND);
      // A page of 5 records is about 300 bytes.
      ResultTooLargeException e =
          assertThrows(
              ResultTooLargeException.class,
              () -> query(api).withMaxBytesPerQuery(1_000).query(range));
      assertThat(e.getMessage(), containsString("more than withMaxBytesPerQuery(1000)"));
      // About 300 bytes a page: the fourth or fifth of the 12 pages passes the bound.
      assertThat("stopped at the page that passed the bound", api.requests.get(), lessThan(6L));
      assertEquals(60, query(api).withMaxBytesPerQuery(100_000).query(range).size());
    }
  }

  @Test
  public void theReadBisectsARangeOverEitherBoundAndReadsItExactly() throws Exception {
    long[] times = times();
    try (RangeApi bytes = new RangeApi(times, 1, false, 5, 1_000);
        RangeApi slow = new RangeApi(times, 1, false, 5, 1_000)) {
      slow.pageDelayMillis = 20;
      PAssert.that(
              p.apply(
                  "ByBytes",
                  TestSource.boundedRead(
                      query(bytes).withMaxBytesPerQuery(700),
                      T0,
                      T0 + 6 * SECOND,
                      Duration.ofSeconds(3))))
          .satisfies(ReadPipelineIT.sameRecords(all(times)));
      PAssert.that(
              p.apply(
                  "ByTime",
                  TestSource.boundedRead(
                      query(slow).withMaxQueryDuration(Duration.ofMillis(10)),
                      T0,
                      T0 + 6 * SECOND,
                      Duration.ofSeconds(3))))
          .satisfies(ReadPipelineIT.sameRecords(all(times)));
      PipelineResult result = p.run();
      result.waitUntilFinish();
      assertThat(
          PipelineSupport.counter(result, TimeRangeIOMetrics.RANGE_BISECTIONS), greaterThan(4L));
    }
  }
}
