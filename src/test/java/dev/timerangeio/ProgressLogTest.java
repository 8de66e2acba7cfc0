package dev.timerangeio;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.KV;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * A read logs its progress per worker through SLF4J (slf4j-simple in the tests, which writes to
 * System.err) every {@code withProgressLogInterval} of its clock: chunks done, rows per second and
 * time left while it has a backlog; its lag behind the safe horizon once it follows the clock.
 */
@RunWith(JUnit4.class)
public class ProgressLogTest {
  private static final long SECOND = 1_000_000L;
  private static final long MINUTE = 60 * SECOND;
  private static final long T0 = 1_714_521_600L * SECOND;

  private final TestClock clock = new TestClock(T0 + 10 * MINUTE);
  private final ByteArrayOutputStream captured = new ByteArrayOutputStream();
  private PrintStream originalErr;

  @Before
  public void captureLog() {
    originalErr = System.err;
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
  }

  @After
  public void restoreLog() {
    System.setErr(originalErr);
  }

  /** The progress lines logged so far, without the logger's prefix. */
  private List<String> progressLines() {
    return captured.toString(StandardCharsets.UTF_8).lines()
        .filter(line -> line.contains("ProgressLog") && line.contains("TimeRangeIO:"))
        .map(line -> line.substring(line.indexOf("TimeRangeIO:")))
        .collect(Collectors.toList());
  }

  /** One record per minute chunk, at its start + 1 µs; each query takes 10 s of the clock. */
  private static final class SlowSource implements TimeRangeQuery<KV<Long, Long>> {
    private static final long serialVersionUID = 1L;
    private final TestClock clock;

    SlowSource(TestClock clock) {
      this.clock = clock;
    }

    @Override
    public Iterable<KV<Long, Long>> query(TimeRange range) {
      clock.advance(10 * SECOND);
      List<KV<Long, Long>> records = new ArrayList<>();
      for (long t = Math.floorDiv(range.fromMicros() + MINUTE - 2, MINUTE) * MINUTE + 1;
          t < range.toMicros();
          t += MINUTE) {
        records.add(KV.of(t, t));
      }
      return records;
    }
  }

  private TimeRangeIO.Read<KV<Long, Long>> read(TimeRangeQuery<KV<Long, Long>> query) {
    return TimeRangeIO.<KV<Long, Long>>read()
        .withQuery(query)
        .withCoder(TestSource.CODER)
        .withPartitionDuration(Duration.ofMinutes(1))
        .withIngestionLag(Duration.ofSeconds(30))
        .withClock(clock);
  }

  @Test
  public void aBacklogLogsChunksDoneRowsPerSecondAndTimeLeftEveryInterval() throws Exception {
    ReadFn<KV<Long, Long>> fn = ReadFn.of(read(new SlowSource(clock)));

    ReadFnTest.process(fn, TimeRange.of(T0, T0 + 9 * MINUTE));

    // 10 s a chunk, a line every 30 s: after chunks 3, 6 and 9, one row each.
    assertEquals(
        List.of(
            "TimeRangeIO: read 3 of 9 chunks in hand on this worker, 3 rows (0.1 rows/s),"
                + " about 1m left",
            "TimeRangeIO: read 6 of 9 chunks in hand on this worker, 6 rows (0.1 rows/s),"
                + " about 30s left",
            "TimeRangeIO: read 9 of 9 chunks in hand on this worker, 9 rows (0.1 rows/s),"
                + " none left"),
        progressLines());
  }

  @Test
  public void aRangeKnownUpFrontCountsItsChunksLeftThoughNotYetInHand() throws Exception {
    ReadFn<KV<Long, Long>> fn =
        ReadFn.of(
            read(new SlowSource(clock))
                .withStartTime(Times.toInstant(T0))
                .withEndTime(Times.toInstant(T0 + 9 * MINUTE)));

    // The runner hands this worker a third of the range; the rest waits in its queue.
    ReadFnTest.process(fn, TimeRange.of(T0, T0 + 3 * MINUTE));

    assertEquals(
        List.of(
            "TimeRangeIO: read 3 of the range's 9 chunks on this worker, 3 rows (0.1 rows/s),"
                + " about 1m left if it reads the rest alone"),
        progressLines());
  }

  @Test
  public void aReadFollowingTheClockLogsItsLagBehindTheSafeHorizon() throws Exception {
    ReadFn<KV<Long, Long>> fn =
        ReadFn.of(read(TestSource.of(T0 + 1, T0 + 9 * MINUTE + 1)));
    // The safe horizon is T0 + 9m30s: nine chunks are read, no time passes, nothing is logged.
    ReadFnTest.process(fn, TimeRange.of(T0, Long.MAX_VALUE));
    assertEquals(List.of(), progressLines());

    clock.advance(45 * SECOND); // horizon T0 + 10m15s: chunk [9m, 10m) is ready, then caught up
    ReadFnTest.process(fn, TimeRange.of(T0 + 9 * MINUTE, Long.MAX_VALUE));

    assertEquals(
        List.of(
            "TimeRangeIO: read 10 of 10 chunks in hand on this worker, 2 rows (0.0 rows/s),"
                + " none left"),
        progressLines());
    clock.advance(30 * SECOND); // horizon T0 + 10m45s, still inside [10m, 11m)
    ReadFnTest.process(fn, TimeRange.of(T0 + 10 * MINUTE, Long.MAX_VALUE));
    assertEquals(
        "TimeRangeIO: following the clock: read up to 2024-05-01T00:10:00Z, 45s behind the safe"
            + " horizon 2024-05-01T00:10:45Z; 10 chunks, 2 rows on this worker",
        progressLines().get(1));
  }

  @Test
  public void aZeroIntervalLogsNothing() throws Exception {
    ReadFn<KV<Long, Long>> fn =
        ReadFn.of(read(new SlowSource(clock)).withProgressLogInterval(Duration.ZERO));
    ReadFnTest.process(fn, TimeRange.of(T0, T0 + 9 * MINUTE));
    assertEquals(List.of(), progressLines());
  }

  @Test
  public void theIntervalIsValidatedAndShown() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> TimeRangeIO.read().withProgressLogInterval(Duration.ofSeconds(-1)));
    assertThat(e.getMessage(), containsString("withProgressLogInterval"));
    assertThat(e.getMessage(), containsString("PT-1S"));
    assertThrows(
        IllegalArgumentException.class,
        () -> TimeRangeIO.read().withProgressLogInterval(Duration.ofNanos(1)));
    assertThat(
        DisplayData.from(read(TestSource.of())).toString(),
        containsString("progressLogInterval=PT30S"));
    assertThat(
        DisplayData.from(read(TestSource.of()).withProgressLogInterval(Duration.ZERO)).toString(),
        containsString("progressLogInterval=off"));
  }
}
