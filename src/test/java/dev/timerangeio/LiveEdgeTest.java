package dev.timerangeio;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.transforms.DoFn.MultiOutputReceiver;
import org.apache.beam.sdk.transforms.DoFn.OutputReceiver;
import org.apache.beam.sdk.transforms.DoFn.ProcessContinuation;
import org.apache.beam.sdk.transforms.windowing.GlobalWindow;
import org.apache.beam.sdk.transforms.windowing.PaneInfo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.OutputBuilder;
import org.apache.beam.sdk.values.Row;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.WindowedValues;
import org.joda.time.Instant;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** Which chunks {@code withLiveEdgeReaders} hands out, the parts, and the DoFn that hands them. */
@RunWith(JUnit4.class)
public class LiveEdgeTest {
  private static final long SECOND = 1_000_000L;
  private static final long MINUTE = 60 * SECOND;

  /** 2024-05-01T00:00:00Z. */
  private static final long T0 = 1_714_521_600L * SECOND;

  @Test
  public void partsCoverEachChunkWithoutOverlapOnTheSourcesGrid() {
    for (long granularity : new long[] {1, 3, 10, 1_000}) {
      for (int readers = 1; readers <= 7; readers++) {
        LiveEdge edge = new LiveEdge(readers, granularity, MINUTE, SECOND);
        for (long units = 1; units <= 40; units++) {
          long from = 17 * granularity;
          TimeRange chunk = TimeRange.of(from, from + units * granularity);
          List<TimeRange> parts = edge.parts(chunk);
          String what = chunk + " into " + readers + " at " + granularity;
          assertEquals(what, Math.min(readers, units), parts.size());
          long position = chunk.fromMicros();
          for (TimeRange part : parts) {
            assertEquals(what, position, part.fromMicros());
            assertTrue(what, part.toMicros() > part.fromMicros());
            assertEquals(what + ": " + part, 0, Math.floorMod(part.toMicros(), granularity));
            position = part.toMicros();
          }
          assertEquals(what, chunk.toMicros(), position);
        }
      }
    }
  }

  @Test
  public void aChunkShorterThanItsGranularityIsOnePart() {
    LiveEdge edge = new LiveEdge(4, 1_000, MINUTE, SECOND);
    assertEquals(List.of(TimeRange.of(0, 500)), edge.parts(TimeRange.of(0, 500)));
  }

  @Test
  public void onlyChunksEndingWithinOneChunkOrOnePollOfTheHorizonAreHandedOut() {
    long horizon = T0 + 10 * MINUTE;
    LiveEdge edge = new LiveEdge(2, 1, MINUTE, SECOND);
    assertTrue(edge.handsOut(TimeRange.of(horizon - MINUTE, horizon), horizon));
    assertTrue(edge.handsOut(TimeRange.of(horizon - MINUTE - 1, horizon - 1), horizon));
    assertFalse(edge.handsOut(TimeRange.of(horizon - 2 * MINUTE, horizon - MINUTE), horizon));
    // A poll interval longer than a chunk: every chunk that became ready during it.
    LiveEdge slowPoll = new LiveEdge(2, 1, SECOND, 5 * SECOND);
    assertTrue(
        slowPoll.handsOut(TimeRange.of(horizon - 4 * SECOND, horizon - 3 * SECOND), horizon));
    assertFalse(
        slowPoll.handsOut(TimeRange.of(horizon - 6 * SECOND, horizon - 5 * SECOND), horizon));
    // One reader: nothing is handed out.
    assertFalse(
        new LiveEdge(1, 1, MINUTE, SECOND).handsOut(TimeRange.of(horizon - 1, horizon), horizon));
  }

  @Test
  public void liveEdgeReadersOutsideOneToAThousandAreRejectedNamingTheValue() {
    for (int bad : new int[] {0, -1, 1_001}) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () -> TimeRangeIO.<KV<Long, Long>>read().withLiveEdgeReaders(bad));
      assertEquals("withLiveEdgeReaders: must be from 1 to 1000, was " + bad, e.getMessage());
    }
  }

  @Test
  public void aLookbackWithLiveEdgeReadersIsRejectedNamingBoth() {
    org.apache.beam.sdk.Pipeline p = org.apache.beam.sdk.Pipeline.create();
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                p.apply(
                    TimeRangeIO.<KV<Long, Long>>read()
                        .withQuery(TestSource.of(T0))
                        .withCoder(TestSource.CODER)
                        .withLookback(Duration.ofMinutes(5))
                        .withLiveEdgeReaders(2)));
    assertTrue(e.getMessage(), e.getMessage().startsWith("withLookback(PT5M) with withLiveEdgeReaders(2)"));
  }

  @Test
  public void theBacklogIsReadInPlaceAndTheLiveEdgeChunkIsHandedOutInParts() throws Exception {
    // Records in the last backlog chunk and on every part boundary of the live-edge chunk.
    long edgeStart = T0 + 4 * MINUTE;
    long[] times = {
      T0 + 3 * MINUTE + 5,
      edgeStart - 1,
      edgeStart,
      edgeStart + 20 * SECOND - 1,
      edgeStart + 20 * SECOND,
      edgeStart + 40 * SECOND,
      edgeStart + MINUTE - 1
    };
    TestSource source = TestSource.of(times);
    TestClock clock =
        new TestClock(edgeStart + MINUTE + 30 * SECOND + 5); // horizon: edge end + 5 µs
    ReadFn<KV<Long, Long>> fn =
        ReadFn.of(
            TimeRangeIO.<KV<Long, Long>>read()
                .withQuery(source)
                .withCoder(TestSource.CODER)
                .withStartTime(Times.toInstant(T0 + 3 * MINUTE))
                .withPartitionDuration(Duration.ofMinutes(1))
                .withIngestionLag(Duration.ofSeconds(30))
                .withPollInterval(Duration.ofSeconds(5))
                .withWatermarkDelay(Duration.ofSeconds(1))
                .withLiveEdgeReaders(3)
                .withClock(clock));
    TimeRange restriction = TimeRange.of(T0 + 3 * MINUTE, Long.MAX_VALUE);
    TaggedOutput out = new TaggedOutput();
    ChunkRangeTracker tracker = fn.newTracker(restriction);
    MonotonicWatermarkEstimator watermark =
        fn.newWatermarkEstimator(fn.initialWatermark(restriction));

    ProcessContinuation continuation = fn.process(tracker, watermark, out);

    assertTrue("waits for the next chunk", continuation.shouldResume());
    // The backlog chunk was read here; the live-edge chunk only handed out.
    assertEquals(List.of(KV.of(times[0], 0L), KV.of(times[1], 1L)), out.values(fn.recordsTag));
    assertEquals(1, source.queries());
    assertEquals(
        List.of(
            TimeRange.of(edgeStart, edgeStart + 20 * SECOND),
            TimeRange.of(edgeStart + 20 * SECOND, edgeStart + 40 * SECOND),
            TimeRange.of(edgeStart + 40 * SECOND, edgeStart + MINUTE)),
        out.values(fn.liveEdgeTag));
    // Each part holds the watermark below the records it can emit: its start minus the delay.
    for (int i = 0; i < 3; i++) {
      TimeRange part = out.<TimeRange>values(fn.liveEdgeTag).get(i);
      assertEquals(
          Times.toBeamTimestamp(part.fromMicros() - SECOND), out.timestamps(fn.liveEdgeTag).get(i));
    }
    // The read's own watermark moves past the handed-out chunk, and the residual starts after it.
    assertEquals(Times.toBeamTimestamp(edgeStart + MINUTE - SECOND), watermark.currentWatermark());
    assertEquals(edgeStart + MINUTE, tracker.trySplit(0).getResidual().fromMicros());
  }

  @Test
  public void withOneReaderTheLiveEdgeChunkIsReadInPlace() throws Exception {
    long edgeStart = T0 + 4 * MINUTE;
    TestSource source = TestSource.of(edgeStart, edgeStart + 30 * SECOND);
    TestClock clock = new TestClock(edgeStart + MINUTE + 30 * SECOND);
    ReadFn<KV<Long, Long>> fn =
        ReadFn.of(
            TimeRangeIO.<KV<Long, Long>>read()
                .withQuery(source)
                .withCoder(TestSource.CODER)
                .withStartTime(Times.toInstant(edgeStart))
                .withPartitionDuration(Duration.ofMinutes(1))
                .withIngestionLag(Duration.ofSeconds(30))
                .withClock(clock));
    TimeRange restriction = TimeRange.of(edgeStart, Long.MAX_VALUE);
    TaggedOutput out = new TaggedOutput();
    fn.process(
        fn.newTracker(restriction),
        fn.newWatermarkEstimator(fn.initialWatermark(restriction)),
        out);

    assertEquals(2, out.values(fn.recordsTag).size());
    assertTrue(out.values(fn.liveEdgeTag).isEmpty());
  }

  /** Collects each output tag's values and timestamps apart. */
  static final class TaggedOutput implements MultiOutputReceiver {
    private final Map<String, List<Object>> values = new HashMap<>();
    private final Map<String, List<Instant>> timestamps = new HashMap<>();

    @SuppressWarnings("unchecked")
    <X> List<X> values(TupleTag<?> tag) {
      return (List<X>) (List<?>) values.getOrDefault(tag.getId(), new ArrayList<>());
    }

    List<Instant> timestamps(TupleTag<?> tag) {
      return timestamps.getOrDefault(tag.getId(), new ArrayList<>());
    }

    @Override
    public <X> OutputReceiver<X> get(TupleTag<X> tag) {
      return new OutputReceiver<X>() {
        @Override
        public OutputBuilder<X> builder(X value) {
          return WindowedValues.<X>builder()
              .setValue(value)
              .setWindow(GlobalWindow.INSTANCE)
              .setPaneInfo(PaneInfo.NO_FIRING)
              .setReceiver(
                  windowed -> {
                    values
                        .computeIfAbsent(tag.getId(), k -> new ArrayList<>())
                        .add(windowed.getValue());
                    timestamps
                        .computeIfAbsent(tag.getId(), k -> new ArrayList<>())
                        .add(windowed.getTimestamp());
                  });
        }
      };
    }

    @Override
    public <X> OutputReceiver<Row> getRowReceiver(TupleTag<X> tag) {
      throw new UnsupportedOperationException();
    }
  }
}
