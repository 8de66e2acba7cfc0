package dev.timerangeio;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.values.KV;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * A streaming read with {@code withLiveEdgeReaders} into an exactly-once write on the DirectRunner,
 * the clock moved one chunk at a time so that every chunk after the backlog is read at the live
 * edge, in parts, by the redistributed readers.
 */
@RunWith(JUnit4.class)
public class LiveEdgePipelineTest {
  private static final long SECOND = 1_000_000L;
  private static final long T0 =
      Times.toMicros("t0", java.time.Instant.parse("2026-01-01T00:00:00Z"));
  private static final org.joda.time.Duration WAIT = org.joda.time.Duration.standardMinutes(2);
  private static final int READERS = 4;

  @Rule public final transient TestPipeline p = TestPipeline.create();
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  private TimeRangeIO.Read<KV<Long, Long>> read(
      TestSource source, TestClock clock, String location) {
    return TimeRangeIO.<KV<Long, Long>>read()
        .withQuery(source)
        .withCoder(TestSource.CODER)
        .withStartTime(Times.toInstant(T0))
        .withPartitionDuration(Duration.ofSeconds(1))
        .withIngestionLag(Duration.ZERO)
        .withPollInterval(Duration.ofMillis(20))
        .withTimestampFn(TestSource::timeOf)
        .withLiveEdgeReaders(READERS)
        .withClock(clock)
        .withProgressLocation(location);
  }

  private static TimeRangeIO.Write<KV<Long, Long>> write(
      TestSink<KV<Long, Long>> sink, String location) {
    return TimeRangeIO.<KV<Long, Long>>write()
        .to(sink)
        .withKeyFn(KV::getValue)
        .withProgressLocation(location);
  }

  @Test
  public void everyLiveEdgeChunkIsReadInPartsAndTheSinkHoldsEveryRecordOnce() throws Exception {
    String location = tmp.getRoot() + "/progress.json";
    // Records on every part boundary (250 ms) and the microsecond before it, plus random ones.
    TestSource source =
        TestSource.of(
            PipelineSupport.nastyTimes(T0, T0 + 20 * SECOND, SECOND / READERS, 2_000, 11));
    TestSink<KV<Long, Long>> sink = TestSink.create();
    TestClock clock = new TestClock(T0 + 3 * SECOND); // three chunks of backlog
    p.getOptions().as(DirectOptions.class).setBlockOnRun(false);
    p.apply(read(source, clock, location)).apply(write(sink, location));
    PipelineResult result = p.run();
    try {
      // The sink holding every record below a chunk's end shows the chunk was read (every part
      // of every chunk has records) before the next one is made ready.
      awaitStoredBelow(result, sink, source, T0 + 3 * SECOND);
      for (int s = 4; s <= 20; s++) {
        // One more chunk ready: the read claims it at the live edge and hands it out in parts.
        clock.set(T0 + s * SECOND);
        awaitStoredBelow(result, sink, source, T0 + s * SECOND);
      }
      // An empty chunk after the last record moves the watermark past it (a commit waits for
      // the watermark to pass a record on a chunk's last microsecond): all is committed.
      clock.set(T0 + 21 * SECOND);
      PipelineSupport.awaitCondition(
          result,
          () -> PipelineSupport.committedMicros(location) == T0 + 21 * SECOND,
          WAIT,
          "a commit through the end");
      Map<String, KV<Long, Long>> expected = new HashMap<>();
      for (KV<Long, Long> r : source.records()) {
        expected.put(IdempotencyKeys.of(r.getValue()), r);
      }
      assertEquals(expected, sink.stored());
      // [T0 + 2 s, T0 + 3 s) was already at the live edge at the start; then 18 more chunks.
      assertEquals(
          19 * READERS, PipelineSupport.counter(result, TimeRangeIOMetrics.LIVE_EDGE_PARTS));
      assertEquals(
          source.records().size(), PipelineSupport.counter(result, TimeRangeIOMetrics.ROWS_READ));
    } finally {
      result.cancel();
    }
  }

  private static void awaitStoredBelow(
      PipelineResult result, TestSink<KV<Long, Long>> sink, TestSource source, long end) {
    long below = source.records().stream().filter(r -> r.getKey() < end).count();
    PipelineSupport.awaitCondition(
        result, () -> sink.stored().size() >= below, WAIT, "the records below " + end);
  }

  @Test
  public void theCommittedPositionStopsAtAPartTheSinkHasNotAcknowledged() throws Exception {
    String location = tmp.getRoot() + "/progress.json";
    long[] times = new long[200];
    for (int i = 0; i < times.length; i++) {
      times[i] = T0 + i * (SECOND / 20); // 20 a second for 10 s
    }
    // In the second of four parts of the chunk [T0 + 5 s, T0 + 6 s); the later parts and chunks
    // are read and stored while it is held.
    long held = T0 + 5 * SECOND + SECOND / 4;
    TestSource source = TestSource.of(times);
    TestSink<KV<Long, Long>> sink =
        TestSink.<KV<Long, Long>>create().holdingBack(r -> r.getKey() == held);
    TestClock clock = new TestClock(T0 + 4 * SECOND);
    p.getOptions().as(DirectOptions.class).setBlockOnRun(false);
    p.apply(read(source, clock, location)).apply(write(sink, location).withBatchSize(1));
    PipelineResult result = p.run();
    try {
      PipelineSupport.awaitCondition(
          result,
          () -> PipelineSupport.committedMicros(location) == T0 + 4 * SECOND,
          WAIT,
          "the backlog committed");
      for (int s = 5; s <= 10; s++) {
        // One chunk at a time, each read at the live edge: wait for its records (every chunk
        // has 20) before the next one is ready.
        clock.set(T0 + s * SECOND);
        long end = T0 + s * SECOND;
        long below = java.util.Arrays.stream(times).filter(t -> t < end && t != held).count();
        PipelineSupport.awaitCondition(
            result, () -> sink.stored().size() >= below, WAIT, "the records below " + end);
      }
      PipelineSupport.awaitCondition(
          result, () -> sink.stored().size() == times.length - 1, WAIT, "all but the held record");
      PipelineSupport.awaitCondition(
          result,
          () -> PipelineSupport.committedMicros(location) >= held,
          WAIT,
          "a commit up to the held part");
      assertEquals(
          "the position stops at the held record's part",
          held,
          PipelineSupport.committedMicros(location));
      sink.release();
      PipelineSupport.awaitCondition(
          result,
          () -> PipelineSupport.committedMicros(location) == T0 + 10 * SECOND,
          WAIT,
          "a commit through the end");
      assertEquals(times.length, sink.stored().size());
      assertTrue(PipelineSupport.counter(result, TimeRangeIOMetrics.LIVE_EDGE_PARTS) > 0);
    } finally {
      sink.release();
      result.cancel();
    }
  }
}
