package dev.timerangeio.http;

import static org.junit.Assert.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.timerangeio.TimeRange;
import dev.timerangeio.http.HttpTimeRangeQuery.TimeFormat;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.beam.sdk.values.KV;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * Coarse time formats (whole seconds, whole milliseconds) against an API on 127.0.0.1 that takes
 * only whole units: a range inside one unit; whole reads are in {@link CoarseTimeFormatIT}.
 */
@RunWith(JUnit4.class)
public class CoarseTimeFormatTest {
  static final long T0 = 1_714_521_600_000_000L; // 2024-05-01T00:00:00Z, a whole second

  /** Records as {@code KV(time µs, id)}, the time read as the API wrote it. */
  static KV<Long, Long> record(JsonNode json, long unitMicros) {
    JsonNode time = json.get("time");
    long micros =
        time.isNumber()
            ? time.decimalValue()
                .multiply(BigDecimal.valueOf(unitMicros))
                .setScale(0, RoundingMode.FLOOR)
                .longValueExact()
            : ChronoUnit.MICROS.between(Instant.EPOCH, Instant.parse(time.asText()));
    return KV.of(micros, json.get("id").asLong());
  }

  /**
   * Record times around {@code [T0, T0 + 21 units)}: on and beside every whole and half unit (the
   * chunk bounds), the read's start and end, a crowded unit of 90 records (some sharing a
   * microsecond), and seeded random ones.
   */
  static long[] times(long unit, long start, long end) {
    List<Long> times = new ArrayList<>();
    for (long k = -2 * 2; k <= 22 * 2; k++) {
      long half = T0 + k * unit / 2;
      times.add(half - 1);
      times.add(half);
      times.add(half + 1);
    }
    for (long t : new long[] {start, end}) {
      times.add(t - 1);
      times.add(t);
      times.add(t + 1);
    }
    for (int j = 0; j < 60; j++) {
      long t = T0 + 7 * unit + 3 + j * (unit / 61);
      times.add(t);
      if (j < 15) {
        times.add(t); // two records on one microsecond
      }
    }
    Random random = new Random(17);
    for (int i = 0; i < 200; i++) {
      times.add(T0 - 2 * unit + (long) (random.nextDouble() * 24 * unit));
    }
    return times.stream().mapToLong(Long::longValue).sorted().toArray();
  }

  /** The most records whose time lies in one whole unit. */
  static int crowdedUnit(long[] sorted, long unit) {
    int most = 0;
    for (int i = 0, j = 0; i < sorted.length; i = j) {
      long u = Math.floorDiv(sorted[i], unit);
      while (j < sorted.length && Math.floorDiv(sorted[j], unit) == u) {
        j++;
      }
      most = Math.max(most, j - i);
    }
    return most;
  }

  @Test
  public void oneMicrosecondInsideASecondAsksForTheWholeSecondAndKeepsOnlyItsOwnRecords()
      throws Exception {
    long mid = T0 + 500_000;
    long[] times = {T0, mid - 1, mid, mid, mid + 1, T0 + 999_999, T0 + 1_000_000};
    try (RangeApi api = new RangeApi(times, 1_000_000L, true, 2, 100)) {
      HttpTimeRangeQuery<KV<Long, Long>> query =
          HttpTimeRangeQuery.get(api.url(), json -> record(json, 1_000_000L))
              .withRecordsPointer("/data")
              .withNextPageToken("/next", "page")
              .withTimeFormat(TimeFormat.EPOCH_SECONDS, "/time");
      assertEquals(
          List.of(KV.of(mid, 2L), KV.of(mid, 3L)), query.query(TimeRange.of(mid, mid + 1)));
      assertEquals(
          List.of(KV.of(mid + 1, 4L), KV.of(T0 + 999_999, 5L)),
          query.query(TimeRange.of(mid + 1, T0 + 1_000_000)));
      assertEquals(List.of(), api.badRequests);
      assertEquals("the whole second, in pages of 2, twice", 6L, api.requests.get());
    }
  }
}
