package dev.timerangeio;

import static dev.timerangeio.PipelineSupport.counter;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.apache.beam.sdk.Pipeline.PipelineExecutionException;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.values.KV;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** Read and write sharing a progress location, relaunched in the same JVM. */
@RunWith(JUnit4.class)
public class ProgressPipelineTest {
  private static final long HOUR = 3_600_000_000L;
  private static final long T0 = Times.toMicros("t0", java.time.Instant.parse("2026-01-01T00:00:00Z"));

  @Rule public final transient TestPipeline p = TestPipeline.create();
  @Rule public final transient TestPipeline relaunch = TestPipeline.create();
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  private static TimeRangeIO.Read<KV<Long, Long>> read(TestSource source, long endMicros) {
    return TimeRangeIO.<KV<Long, Long>>read()
        .withQuery(source)
        .withCoder(TestSource.CODER)
        .withStartTime(Times.toInstant(T0))
        .withEndTime(Times.toInstant(endMicros))
        .withPartitionDuration(Duration.ofMinutes(5))
        .withIngestionLag(Duration.ZERO)
        .withTimestampFn(TestSource::timeOf);
  }

  private static TimeRangeIO.Write<KV<Long, Long>> write(TestSink<KV<Long, Long>> sink) {
    return TimeRangeIO.<KV<Long, Long>>write().to(sink).withKeyFn(KV::getValue);
  }

  private static long[] randomTimes(int n, long from, long to) {
    Random random = new Random(n);
    long[] times = new long[n];
    for (int i = 0; i < n; i++) {
      times[i] = from + (long) (random.nextDouble() * (to - from));
    }
    return times;
  }

  @Test
  public void aStoredOffsetWinsOverTheConfiguredStartTime() throws Exception {
    String location = tmp.getRoot() + "/progress.json";
    long offset = T0 + HOUR + 1; // off the chunk grid, at a record
    ProgressStore.write(location, ProgressOffset.ofTimestamp(offset));
    TestSource source = TestSource.of(T0, T0 + HOUR, offset - 1, offset, offset + 1, T0 + 2 * HOUR - 1);

    PAssert.that(p.apply(read(source, T0 + 2 * HOUR).withProgressLocation(location)))
        .containsInAnyOrder(KV.of(offset, 3L), KV.of(offset + 1, 4L), KV.of(T0 + 2 * HOUR - 1, 5L));
    p.run().waitUntilFinish();
  }

  @Test
  public void aCorruptProgressFileFailsTheReadNamingIt() throws Exception {
    File file = tmp.newFile("progress.json");
    Files.write(file.toPath(), "not an offset".getBytes(StandardCharsets.UTF_8));
    p.apply(read(TestSource.of(T0), T0 + HOUR).withProgressLocation(file.getPath()));

    PipelineExecutionException e = assertThrows(PipelineExecutionException.class, p::run);
    assertThat(e.getMessage(), containsString(file.getPath()));
  }

  @Test
  public void aRelaunchResumesAtTheCommittedOffsetAndTheSinkHoldsEveryRecordOnce()
      throws Exception {
    String location = tmp.getRoot() + "/progress.json";
    TestSource source = TestSource.of(randomTimes(3_000, T0, T0 + 4 * HOUR));
    TestSink<KV<Long, Long>> sink = TestSink.create();

    // First launch: a backfill of the first two hours.
    p.apply(read(source, T0 + 2 * HOUR).withProgressLocation(location))
        .apply(write(sink).withProgressLocation(location));
    p.run().waitUntilFinish();

    long lastWritten = 0;
    for (KV<Long, Long> r : sink.stored().values()) {
      lastWritten = Math.max(lastWritten, r.getKey());
    }
    // The watermark reached the end: the offset lies past the last record.
    long committed = ProgressStore.read(location).get().timestampMicros();
    assertThat(committed, greaterThan(lastWritten));

    // Relaunch with the same configured start: it reads only from the committed offset on.
    relaunch
        .apply(read(source, T0 + 4 * HOUR).withProgressLocation(location))
        .apply(write(sink).withProgressLocation(location));
    PipelineResult second = relaunch.run();
    second.waitUntilFinish();

    Map<String, KV<Long, Long>> expected = new HashMap<>();
    long readAgain = 0;
    for (KV<Long, Long> r : source.records()) {
      expected.put(IdempotencyKeys.of(r.getValue()), r);
      if (r.getKey() >= committed) {
        readAgain++;
      }
    }
    assertEquals(expected, sink.stored());
    assertEquals(readAgain, counter(second, "rowsRead"));
  }

  @Test
  public void theCommittedOffsetNeverPassesARecordTheSinkHasNotAcknowledged() throws Exception {
    String location = tmp.getRoot() + "/progress.json";
    long step = 100_000; // a record every 100 ms for 10 s
    long[] times = new long[100];
    for (int i = 0; i < times.length; i++) {
      times[i] = T0 + i * step;
    }
    long held = T0 + 20 * step;
    TestSource source = TestSource.of(times);
    // The sink acknowledges every record but the one at `held` until released.
    TestSink<KV<Long, Long>> sink =
        TestSink.<KV<Long, Long>>create().holdingBack(r -> r.getKey() == held);
    org.apache.beam.runners.direct.DirectOptions options =
        p.getOptions().as(org.apache.beam.runners.direct.DirectOptions.class);
    options.setBlockOnRun(false);
    p.apply(
            TimeRangeIO.<KV<Long, Long>>read()
                .withQuery(source)
                .withCoder(TestSource.CODER)
                .withStartTime(Times.toInstant(T0))
                .withPartitionDuration(Duration.ofSeconds(1))
                .withIngestionLag(Duration.ZERO)
                .withPollInterval(Duration.ofMillis(50))
                .withTimestampFn(TestSource::timeOf)
                .withClock(new TestClock(T0 + 20 * 1_000_000L))
                .withProgressLocation(location))
        .apply(write(sink).withBatchSize(1).withProgressLocation(location));
    PipelineResult result = p.run();
    try {
      org.joda.time.Duration wait = org.joda.time.Duration.standardMinutes(2);
      PipelineSupport.awaitCondition(
          result, () -> sink.stored().size() == 99, wait, "every record but the held one");
      // The read stores its start, T0, before reading: only a commit past it says anything. The
      // furthest one may go while the record is held is the start of its chunk, which is the
      // record's own time: every record below it is acknowledged, and the held one holds the
      // watermark after the sink at its timestamp.
      PipelineSupport.awaitCondition(
          result,
          () -> PipelineSupport.committedMicros(location) >= held,
          wait,
          "a commit up to the held record's chunk");
      // Everything after the held record is in the sink, yet the position stops at it.
      assertEquals(held, PipelineSupport.committedMicros(location));

      sink.release();
      PipelineSupport.awaitCondition(
          result,
          () -> PipelineSupport.committedMicros(location) > times[times.length - 1],
          wait,
          "a commit past the last record once the held one is acknowledged");
      assertEquals(100, sink.stored().size());
    } finally {
      sink.release();
      result.cancel();
    }
  }

}
