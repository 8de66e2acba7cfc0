package dev.timerangeio;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotSame;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.transforms.DoFn.MultiOutputReceiver;
import org.apache.beam.sdk.transforms.DoFn.OutputReceiver;
import org.apache.beam.sdk.transforms.DoFn.ProcessContinuation;
import org.apache.beam.sdk.transforms.splittabledofn.SplitResult;
import org.apache.beam.sdk.util.CoderUtils;
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

/** The read DoFn's methods called directly, with a hand-driven clock. */
@RunWith(JUnit4.class)
public class ReadFnTest {
  private static final long SECOND = 1_000_000L;
  private static final long MINUTE = 60 * SECOND;
  /** 2024-05-01T00:00:00Z. */
  private static final long T0 = 1_714_521_600L * SECOND;

  private final TestClock clock = new TestClock(T0 + 10 * MINUTE);

  private TimeRangeIO.Read<KV<Long, Long>> read(TestSource source) {
    return TimeRangeIO.<KV<Long, Long>>read()
        .withQuery(source)
        .withCoder(TestSource.CODER)
        .withPartitionDuration(Duration.ofMinutes(1))
        .withIngestionLag(Duration.ofSeconds(30))
        .withPollInterval(Duration.ofSeconds(5))
        .withClock(clock);
  }

  /** Runs one process() call over {@code restriction} with a fresh tracker and estimator. */
  static Collector<KV<Long, Long>> process(
      ReadFn<KV<Long, Long>> fn, TimeRange restriction) throws Exception {
    Collector<KV<Long, Long>> out = new Collector<>();
    fn.process(
        fn.newTracker(restriction), fn.newWatermarkEstimator(fn.initialWatermark(restriction)), out);
    return out;
  }

  /** Collects output with timestamps. */
  static final class Collector<T> implements OutputReceiver<T>, MultiOutputReceiver {
    final List<T> values = new ArrayList<>();
    final List<Instant> timestamps = new ArrayList<>();

    /** The records' output is this collector; the read has no other in these tests. */
    @Override
    @SuppressWarnings("unchecked")
    public <X> OutputReceiver<X> get(TupleTag<X> tag) {
      return (OutputReceiver<X>) this;
    }

    @Override
    public <X> OutputReceiver<Row> getRowReceiver(TupleTag<X> tag) {
      throw new UnsupportedOperationException();
    }

    @Override
    public OutputBuilder<T> builder(T value) {
      // A record output without a timestamp would show up here as a null timestamp.
      return WindowedValues.<T>builder()
          .setValue(value)
          .setWindow(GlobalWindow.INSTANCE)
          .setPaneInfo(PaneInfo.NO_FIRING)
          .setReceiver(
              windowed -> {
                values.add(windowed.getValue());
                timestamps.add(windowed.getTimestamp());
              });
    }
  }

  @Test
  public void initialRestrictionStartsAtIsoInstantAndEndsAtEndTime() throws Exception {
    ReadFn<KV<Long, Long>> fn =
        ReadFn.of(
            read(TestSource.of())
                .withStartTime("2024-05-01T02:00:00.000001+02:00")
                .withEndTime(Times.toInstant(T0 + 5 * MINUTE)));
    assertEquals(TimeRange.of(T0 + 1, T0 + 5 * MINUTE), fn.initialRestriction());
  }

  /** A source that can't be opened: only its declared type and timestamps are used. */
  private static final class UnopenableSource implements TimeRangeQuery<KV<Long, Long>> {
    @Override
    public Iterable<KV<Long, Long>> query(TimeRange range) {
      return List.of();
    }

    @Override
    public void open() {
      throw new IllegalStateException("opened");
    }
  }

  @Test
  public void onlyAnEarliestStartOpensTheSourceForTheInitialRestriction() throws Exception {
    TimeRangeIO.Read<KV<Long, Long>> read =
        TimeRangeIO.<KV<Long, Long>>read()
            .withQuery(new UnopenableSource())
            .withCoder(TestSource.CODER)
            .withClock(new TestClock(T0 + 10 * MINUTE))
            .withPartitionDuration(java.time.Duration.ofMinutes(1));
    assertEquals(T0, ReadFn.of(read.withStartTime(Times.toInstant(T0))).initialRestriction().fromMicros());
    ReadFn.of(read.withStartTime("latest")).initialRestriction();
  }

  @Test
  public void initialRestrictionForLatestIsTheSafeHorizon() throws Exception {
    ReadFn<KV<Long, Long>> fn = ReadFn.of(read(TestSource.of()).withStartTime("latest"));
    long horizon = T0 + 10 * MINUTE - 30 * SECOND;
    assertEquals(TimeRange.of(horizon, Long.MAX_VALUE), fn.initialRestriction());
  }

  @Test
  public void initialRestrictionForEarliestAsksTheSource() throws Exception {
    ReadFn<KV<Long, Long>> fn =
        ReadFn.of(read(TestSource.of(T0 + 7, T0 + 99)).withStartTime("earliest"));
    assertEquals(TimeRange.of(T0 + 7, Long.MAX_VALUE), fn.initialRestriction());
  }

  @Test
  public void initialRestrictionForEarliestOnEmptySourceIsTheSafeHorizon() throws Exception {
    ReadFn<KV<Long, Long>> fn = ReadFn.of(read(TestSource.of()).withStartTime("earliest"));
    assertEquals(T0 + 10 * MINUTE - 30 * SECOND, fn.initialRestriction().fromMicros());
  }

  @Test
  public void latestAfterTheEndTimeReadsNothing() throws Exception {
    ReadFn<KV<Long, Long>> fn =
        ReadFn.of(read(TestSource.of()).withEndTime(Times.toInstant(T0)));
    assertTrue(fn.initialRestriction().isEmpty());
  }

  @Test
  public void splitRestrictionCutsBacklogOnChunkBoundariesAndKeepsTheRestWhole() {
    ReadFn<KV<Long, Long>> fn =
        ReadFn.of(read(TestSource.of()).withStartTime(Times.toInstant(T0)).withMaxInitialSplits(3));
    long horizon = T0 + 7 * MINUTE + 10 * SECOND;
    List<TimeRange> pieces = fn.initialSplits(TimeRange.of(T0 + 5, Long.MAX_VALUE), horizon);
    assertEquals(
        List.of(
            TimeRange.of(T0 + 5, T0 + 2 * MINUTE),
            TimeRange.of(T0 + 2 * MINUTE, T0 + 4 * MINUTE),
            TimeRange.of(T0 + 4 * MINUTE, T0 + 7 * MINUTE),
            TimeRange.of(T0 + 7 * MINUTE, Long.MAX_VALUE)),
        pieces);
  }

  @Test
  public void splitRestrictionOfBoundedRangeInThePastCoversItExactly() {
    ReadFn<KV<Long, Long>> fn = ReadFn.of(read(TestSource.of()));
    List<TimeRange> pieces =
        fn.initialSplits(TimeRange.of(T0 + 5, T0 + 3 * MINUTE + 7), T0 + 10 * MINUTE);
    assertEquals(
        List.of(
            TimeRange.of(T0 + 5, T0 + MINUTE),
            TimeRange.of(T0 + MINUTE, T0 + 2 * MINUTE),
            TimeRange.of(T0 + 2 * MINUTE, T0 + 3 * MINUTE),
            TimeRange.of(T0 + 3 * MINUTE, T0 + 3 * MINUTE + 7)),
        pieces);
  }

  @Test
  public void splitRestrictionOfTenYearsOfMinuteChunksIsCapped() {
    ReadFn<KV<Long, Long>> fn = ReadFn.of(read(TestSource.of()));
    long tenYears = 3653L * 24 * 60 * MINUTE;
    List<TimeRange> pieces =
        fn.initialSplits(TimeRange.of(T0 - tenYears, Long.MAX_VALUE), T0 + 30 * SECOND);
    assertEquals(TimeRangeIO.DEFAULT_MAX_INITIAL_SPLITS + 1, pieces.size());
    long expectedFrom = T0 - tenYears;
    for (TimeRange piece : pieces) {
      assertEquals("contiguous", expectedFrom, piece.fromMicros());
      assertTrue(
          "on the minute grid: " + piece,
          piece.toMicros() == Long.MAX_VALUE || Math.floorMod(piece.toMicros(), MINUTE) == 0);
      expectedFrom = piece.toMicros();
    }
    assertEquals(T0, pieces.get(pieces.size() - 1).fromMicros());
  }

  @Test
  public void splitRestrictionOfRangeNotYetReadyIsOnePiece() {
    ReadFn<KV<Long, Long>> fn = ReadFn.of(read(TestSource.of()));
    assertEquals(
        List.of(TimeRange.of(T0, Long.MAX_VALUE)),
        fn.initialSplits(TimeRange.of(T0, Long.MAX_VALUE), T0 + 59 * SECOND));
    assertEquals(List.of(), fn.initialSplits(TimeRange.of(T0, T0), T0 + MINUTE));
  }

  @Test
  public void sizeIsTheReadyPartOfTheRangeInBytesObservedPerMicrosecond() throws Exception {
    // Two records in the first two minutes, none in the third: 3 minutes read.
    TestSource source = TestSource.of(T0 + 5 * SECOND, T0 + MINUTE + 7);
    ReadFn<KV<Long, Long>> fn = ReadFn.of(read(source));
    Collector<KV<Long, Long>> out = process(fn, TimeRange.of(T0, T0 + 3 * MINUTE));
    long bytes = 0;
    for (KV<Long, Long> record : out.values) {
      bytes += CoderUtils.encodeToByteArray(TestSource.CODER, record).length;
    }
    assertEquals(2, out.values.size());
    double perMicro = (double) bytes / (3 * MINUTE);
    long horizon = T0 + 10 * MINUTE - 30 * SECOND;
    assertEquals(
        (horizon - T0) * perMicro, fn.size(TimeRange.of(T0, Long.MAX_VALUE)), 1e-6);
    assertEquals(MINUTE * perMicro, fn.size(TimeRange.of(T0, T0 + MINUTE)), 1e-6);
    assertEquals(0d, fn.size(TimeRange.of(horizon + 1, Long.MAX_VALUE)), 0);
  }

  @Test
  public void beforeAnyRecordIsEmittedSizeIsOneBytePerReadyMicrosecond() {
    ReadFn<KV<Long, Long>> fn = ReadFn.of(read(TestSource.of()));
    long horizon = T0 + 10 * MINUTE - 30 * SECOND;
    assertEquals(
        (double) (horizon - T0), fn.size(TimeRange.of(T0, Long.MAX_VALUE)), 0);
    assertEquals(MINUTE, fn.size(TimeRange.of(T0, T0 + MINUTE)), 0);
    assertEquals(0d, fn.size(TimeRange.of(horizon + 1, Long.MAX_VALUE)), 0);
  }

  @Test
  public void processReadsReadyChunksThenResumesAfterTheTimeLeftUntilTheNextIsReady()
      throws Exception {
    TestSource source = TestSource.of(T0, T0 + MINUTE - 1, T0 + MINUTE, T0 + 9 * MINUTE + 1);
    ReadFn<KV<Long, Long>> fn = ReadFn.of(read(source).withTimestampFn(TestSource::timeOf));
    TimeRange restriction = TimeRange.of(T0, Long.MAX_VALUE);
    ChunkRangeTracker tracker = fn.newTracker(restriction);
    MonotonicWatermarkEstimator watermark =
        fn.newWatermarkEstimator(fn.initialWatermark(restriction));
    Collector<KV<Long, Long>> out = new Collector<>();

    ProcessContinuation c = fn.process(tracker, watermark, out);

    // Horizon is T0 + 9m30s: chunks up to T0 + 9m are read, [9m, 10m) is not yet safe.
    assertTrue(c.shouldResume());
    assertEquals(org.joda.time.Duration.standardSeconds(30), c.resumeDelay());
    assertEquals(source.records().subList(0, 3), out.values);
    assertEquals(new Instant((T0 + MINUTE) / 1000), out.timestamps.get(2));
    assertEquals(new Instant((T0 + 9 * MINUTE) / 1000), watermark.currentWatermark());
    assertEquals(9, source.queries());

    SplitResult<TimeRange> checkpoint = tracker.trySplit(0);
    assertEquals(T0 + 9 * MINUTE, checkpoint.getResidual().fromMicros());
    tracker.checkDone();

    // Caught up again after the clock moves: the residual resumes at the next chunk.
    clock.advance(MINUTE);
    ChunkRangeTracker resumed = fn.newTracker(checkpoint.getResidual());
    c = fn.process(resumed, watermark, out);
    assertTrue(c.shouldResume());
    assertEquals(source.records(), out.values);
    assertEquals(new Instant((T0 + 10 * MINUTE) / 1000), watermark.currentWatermark());
  }

  @Test
  public void resumeDelayIsNeverShorterThanThePollInterval() throws Exception {
    ReadFn<KV<Long, Long>> fn = ReadFn.of(read(TestSource.of()));
    TimeRange restriction = TimeRange.of(T0 + 9 * MINUTE, Long.MAX_VALUE);
    clock.set(T0 + 10 * MINUTE + 30 * SECOND - 1); // the chunk [9m, 10m) is ready in 1 µs
    ProcessContinuation c =
        fn.process(
            fn.newTracker(restriction),
            fn.newWatermarkEstimator(fn.initialWatermark(restriction)),
            new Collector<>());
    assertTrue(c.shouldResume());
    assertEquals(org.joda.time.Duration.standardSeconds(5), c.resumeDelay());
  }

  @Test
  public void watermarkAdvancesOverEmptyChunksAndHonoursTheDelay() throws Exception {
    ReadFn<KV<Long, Long>> fn =
        ReadFn.of(read(TestSource.of()).withWatermarkDelay(Duration.ofSeconds(10)));
    TimeRange restriction = TimeRange.of(T0, T0 + 3 * MINUTE);
    MonotonicWatermarkEstimator watermark =
        fn.newWatermarkEstimator(fn.initialWatermark(restriction));
    assertEquals(new Instant((T0 - 10 * SECOND) / 1000), watermark.currentWatermark());
    ProcessContinuation c = fn.process(fn.newTracker(restriction), watermark, new Collector<>());
    assertFalse(c.shouldResume());
    assertEquals(new Instant((T0 + 3 * MINUTE - 10 * SECOND) / 1000), watermark.currentWatermark());
  }

  @Test
  public void watermarkNeverGoesBack() {
    MonotonicWatermarkEstimator watermark =
        new MonotonicWatermarkEstimator(new Instant(1000));
    watermark.setWatermark(new Instant(500));
    assertEquals(new Instant(1000), watermark.currentWatermark());
    watermark.setWatermark(new Instant(2000));
    assertEquals(new Instant(2000), watermark.getState());
  }

  @Test
  public void checkpointRightAfterAClaimEmitsThatChunkOnceAndLeavesTheRestToTheResidual()
      throws Exception {
    TestSource source = TestSource.of(T0, T0 + 1, T0 + MINUTE, T0 + 2 * MINUTE);
    ReadFn<KV<Long, Long>> fn = ReadFn.of(read(source));
    TimeRange restriction = TimeRange.of(T0, T0 + 3 * MINUTE);
    ReadHarness.CheckpointAfterClaims tracker =
        new ReadHarness.CheckpointAfterClaims(fn.newTracker(restriction), 1);
    Collector<KV<Long, Long>> first = new Collector<>();
    ProcessContinuation c =
        fn.process(
            tracker, fn.newWatermarkEstimator(fn.initialWatermark(restriction)), first);
    assertFalse(c.shouldResume());
    tracker.checkDone();
    assertEquals(source.records().subList(0, 2), first.values);
    TimeRange residual = tracker.checkpoint.getResidual();
    assertEquals(TimeRange.of(T0 + MINUTE, T0 + 3 * MINUTE), residual);

    Collector<KV<Long, Long>> second = process(fn, residual);
    assertEquals(source.records().subList(2, 4), second.values);
  }

  @Test
  public void recordOutsideItsChunkFailsNamingTimeAndChunk() {
    // The record's own time says T0 + 2m, but the source returns it for the first chunk.
    TestSource source = TestSource.of(T0);
    ReadFn<KV<Long, Long>> fn =
        ReadFn.of(
            read(source)
                .withTimestampFn(r -> Times.toInstant(T0 + 2 * MINUTE)));
    TimeRange restriction = TimeRange.of(T0, T0 + MINUTE);
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> process(fn, restriction));
    assertThat(
        e.getMessage(),
        allOf(
            containsString("2024-05-01T00:02:00Z"),
            containsString("outside the range it was asked for"),
            containsString(restriction.toString())));
  }

  @Test
  public void recordWithinTheWatermarkDelayBeforeItsChunkIsAccepted() throws Exception {
    TestSource source = TestSource.of(T0 + MINUTE);
    ReadFn<KV<Long, Long>> fn =
        ReadFn.of(
            read(source)
                .withWatermarkDelay(Duration.ofSeconds(10))
                .withTimestampFn(r -> Times.toInstant(T0 + MINUTE - 10 * SECOND)));
    TimeRange restriction = TimeRange.of(T0 + MINUTE, T0 + 2 * MINUTE);
    Collector<KV<Long, Long>> out = process(fn, restriction);
    assertEquals(List.of(new Instant((T0 + MINUTE - 10 * SECOND) / 1000)), out.timestamps);
  }

  @Test
  public void recordWithoutTimeFailsTheBundle() {
    ReadFn<KV<Long, Long>> fn = ReadFn.of(read(TestSource.of(T0)).withTimestampFn(r -> null));
    TimeRange restriction = TimeRange.of(T0, T0 + MINUTE);
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> process(fn, restriction));
    assertThat(e.getMessage(), containsString("returned null"));
  }

  @Test
  public void timestampsAreFlooredToMilliseconds() throws Exception {
    TestSource source = TestSource.of(T0 + 1_999, T0 - 1);
    ReadFn<KV<Long, Long>> fn = ReadFn.of(read(source).withTimestampFn(TestSource::timeOf));
    TimeRange restriction = TimeRange.of(T0 - MINUTE, T0 + MINUTE);
    Collector<KV<Long, Long>> out = process(fn, restriction);
    assertEquals(
        List.of(new Instant(T0 / 1000 - 1), new Instant(T0 / 1000 + 1)), out.timestamps);
  }

  @Test
  public void withoutTimestampFnRecordsCarryTheirChunkStart() throws Exception {
    TestSource source = TestSource.of(T0 + 5 * SECOND);
    ReadFn<KV<Long, Long>> fn = ReadFn.of(read(source));
    TimeRange restriction = TimeRange.of(T0, T0 + MINUTE);
    Collector<KV<Long, Long>> out = process(fn, restriction);
    assertEquals(List.of(new Instant(T0 / 1000)), out.timestamps);
  }

  @Test
  public void noChunkIsReadBeforeItsEndPassesTheSafeHorizon() throws Exception {
    TestSource source = TestSource.of();
    ReadFn<KV<Long, Long>> fn = ReadFn.of(read(source));
    long horizon = T0 + 10 * MINUTE - 30 * SECOND;
    TimeRange restriction = TimeRange.of(T0 + 8 * MINUTE, Long.MAX_VALUE);
    ChunkRangeTracker tracker = fn.newTracker(restriction);
    fn.process(tracker, fn.newWatermarkEstimator(fn.initialWatermark(restriction)), new Collector<>());
    // Only [8m, 9m) ended at or below the horizon (9m30s).
    assertEquals(1, source.queries());
    assertThat(tracker.trySplit(0).getResidual().fromMicros(), lessThanOrEqualTo(horizon));
  }

  @Test
  public void sourceThatThrowsFailsWithItsMessage() {
    ReadFn<KV<Long, Long>> fn = ReadFn.of(read(TestSource.of().failingWith("boom at source")));
    TimeRange restriction = TimeRange.of(T0, T0 + MINUTE);
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> process(fn, restriction));
    assertEquals("boom at source", e.getMessage());
  }

  @Test
  public void drainDropsEveryRestrictionNotBeingReadWithAnEndOrWithout() {
    ReadFn<KV<Long, Long>> fn = ReadFn.of(read(TestSource.of()));
    assertNull("open-ended", fn.truncate(TimeRange.of(T0, Long.MAX_VALUE)));
    assertNull("ready backlog", fn.truncate(TimeRange.of(T0, T0 + MINUTE)));
    assertNull("an end in the future", fn.truncate(TimeRange.of(T0, T0 + 1_000 * 24 * 60 * MINUTE)));
    ReadFn<KV<Long, Long>> bounded =
        ReadFn.of(read(TestSource.of()).withEndTime(Times.toInstant(T0 + 1_000 * 24 * 60 * MINUTE)));
    assertNull("a bounded read", bounded.truncate(TimeRange.of(T0, T0 + MINUTE)));
  }

  @Test
  public void boundedAndUnboundedVariantsFollowTheEndTime() {
    assertTrue(ReadFn.of(read(TestSource.of())) instanceof ReadFn.Unbounded);
    assertTrue(
        ReadFn.of(read(TestSource.of()).withEndTime(Times.toInstant(T0)))
            instanceof ReadFn.Bounded);
  }

  /** A source with the common off-by-one: it answers {@code [from, to]}, the end included. */
  private static final class InclusiveEndSource implements TimeRangeQuery<KV<Long, Long>> {
    private static final long serialVersionUID = 1L;
    private final TestSource inner;

    InclusiveEndSource(TestSource inner) {
      this.inner = inner;
    }

    @Override
    public Iterable<KV<Long, Long>> query(TimeRange range) throws Exception {
      return inner.query(TimeRange.of(range.fromMicros(), range.toMicros() + 1));
    }
  }

  @Test
  public void aRecordAtABisectionMidpointReturnedByBothHalvesIsOutOfRangeNotEmittedTwice() {
    // Four records in a one-minute chunk over a cap of 3: bisected at T0 + 30 s, where one lies.
    TestSource records = TestSource.of(T0, T0 + 10 * SECOND, T0 + 30 * SECOND, T0 + 50 * SECOND);
    ReadFn<KV<Long, Long>> fn =
        ReadFn.of(
            TimeRangeIO.<KV<Long, Long>>read()
                .withQuery(new InclusiveEndSource(records))
                .withCoder(TestSource.CODER)
                .withPartitionDuration(Duration.ofMinutes(1))
                .withIngestionLag(Duration.ofSeconds(30))
                .withMaxRowsPerQuery(3)
                .withTimestampFn(TestSource::timeOf)
                .withClock(clock));
    TimeRange chunk = TimeRange.of(T0, T0 + MINUTE);

    IllegalStateException e = assertThrows(IllegalStateException.class, () -> process(fn, chunk));

    assertThat(
        e.getMessage(),
        allOf(
            containsString("2024-05-01T00:00:30Z"),
            containsString("outside the range it was asked for"),
            containsString(TimeRange.of(T0, T0 + 30 * SECOND).toString())));
  }

  @Test
  public void readsDerivedFromOneConfigurationEachHaveTheirOwnQueryGate() throws Exception {
    TimeRangeIO.Read<KV<Long, Long>> base = read(TestSource.of());
    ReadFn<KV<Long, Long>> one = ReadFn.of(base.withMaxConcurrentQueries(1));
    ReadFn<KV<Long, Long>> fifty = ReadFn.of(base.withMaxConcurrentQueries(50));
    ReadFn<KV<Long, Long>> sameConfigAppliedAgain = ReadFn.of(base.withMaxConcurrentQueries(1));

    assertNotSame(one.queryGate(), fifty.queryGate());
    assertNotSame(one.queryGate(), sameConfigAppliedAgain.queryGate());
    assertSame(
        "the copies a runner makes of one applied read share its gate",
        one.queryGate(),
        org.apache.beam.sdk.util.SerializableUtils.clone(one).queryGate());
  }

  /**
   * A source whose answer fetches while it is iterated (a lazy {@code Collection}): the first
   * attempt at each range fails after two records.
   */
  private static final class LazySource implements TimeRangeQuery<KV<Long, Long>> {
    private static final long serialVersionUID = 1L;
    static final java.util.Set<TimeRange> FAILED = java.util.concurrent.ConcurrentHashMap.newKeySet();
    static final java.util.concurrent.atomic.AtomicInteger EARLIEST_CALLS =
        new java.util.concurrent.atomic.AtomicInteger();
    private final TestSource inner;

    LazySource(TestSource inner) {
      this.inner = inner;
    }

    @Override
    public Iterable<KV<Long, Long>> query(TimeRange range) throws Exception {
      List<KV<Long, Long>> all = new ArrayList<>();
      inner.query(range).forEach(all::add);
      boolean fail = FAILED.add(range);
      return new java.util.AbstractCollection<KV<Long, Long>>() {
        @Override
        public java.util.Iterator<KV<Long, Long>> iterator() {
          java.util.Iterator<KV<Long, Long>> it = all.iterator();
          return new java.util.Iterator<KV<Long, Long>>() {
            int served;

            @Override
            public boolean hasNext() {
              return it.hasNext();
            }

            @Override
            public KV<Long, Long> next() {
              if (fail && served++ == 2) {
                throw new java.io.UncheckedIOException(
                    new java.net.SocketTimeoutException("injected: read timed out mid-result"));
              }
              return it.next();
            }
          };
        }

        @Override
        public int size() {
          return all.size();
        }
      };
    }

    @Override
    public java.util.Optional<java.time.Instant> earliest() throws Exception {
      if (EARLIEST_CALLS.getAndIncrement() == 0) {
        throw new TransientSourceException("injected: 503 on earliest()", null);
      }
      return inner.earliest();
    }
  }

  @Test
  public void aLazyResultFailingMidwayIsRetriedAndNoRecordIsEmittedTwice() throws Exception {
    TestSource records = TestSource.of(T0, T0 + 1, T0 + 2, T0 + 3, T0 + 4);
    ReadFn<KV<Long, Long>> fn =
        ReadFn.of(
            read(TestSource.of())
                .withQuery(new LazySource(records))
                .withInitialBackoff(Duration.ofMillis(1)));

    Collector<KV<Long, Long>> out = process(fn, TimeRange.of(T0, T0 + MINUTE));

    assertEquals(records.records(), out.values);
  }

  @Test
  public void aTransientFailureOfEarliestIsRetried() throws Exception {
    LazySource.EARLIEST_CALLS.set(0);
    ReadFn<KV<Long, Long>> fn =
        ReadFn.of(
            read(TestSource.of())
                .withQuery(new LazySource(TestSource.of(T0 + 7)))
                .withStartTime("earliest")
                .withInitialBackoff(Duration.ofMillis(1)));

    assertEquals(T0 + 7, fn.initialRestriction().fromMicros());
    assertEquals(2, LazySource.EARLIEST_CALLS.get());
  }

  @org.junit.Rule public final org.junit.rules.TemporaryFolder tmp = new org.junit.rules.TemporaryFolder();

  /**
   * Records that become visible at their own time: {@code times[i]} once the clock reaches {@code
   * visibleAt[i]}. {@code earliest()} answers what is visible now, as a real source does.
   */
  private static final class IngestingSource implements TimeRangeQuery<KV<Long, Long>> {
    private final MicrosClock clock;
    private final long[] times;
    private final long[] visibleAt;

    IngestingSource(MicrosClock clock, long[] times, long[] visibleAt) {
      this.clock = clock;
      this.times = times;
      this.visibleAt = visibleAt;
    }

    @Override
    public Iterable<KV<Long, Long>> query(TimeRange range) {
      List<KV<Long, Long>> out = new java.util.ArrayList<>();
      for (int i = 0; i < times.length; i++) {
        if (range.contains(times[i]) && clock.nowMicros() >= visibleAt[i]) {
          out.add(KV.of((long) i, times[i]));
        }
      }
      return out;
    }

    @Override
    public java.util.Optional<java.time.Instant> earliest() {
      long oldest = Long.MAX_VALUE;
      for (int i = 0; i < times.length; i++) {
        if (clock.nowMicros() >= visibleAt[i]) {
          oldest = Math.min(oldest, times[i]);
        }
      }
      return oldest == Long.MAX_VALUE
          ? java.util.Optional.empty()
          : java.util.Optional.of(Times.toInstant(oldest));
    }
  }

  @Test
  public void earliestAboveTheSafeHorizonStartsAtTheHorizonSoARecordStillBeingIngestedIsRead()
      throws Exception {
    long now = T0 + 10 * MINUTE;
    String location = tmp.getRoot() + "/progress.json";
    // Lag 60 s: a record at now - 30 s is visible; one at now - 50 s appears 55 s after its time.
    IngestingSource source =
        new IngestingSource(
            clock, new long[] {now - 50 * SECOND, now - 30 * SECOND}, new long[] {now + 5 * SECOND, now});
    ReadFn<KV<Long, Long>> fn =
        ReadFn.of(
            read(TestSource.of())
                .withQuery(source)
                .withIngestionLag(Duration.ofSeconds(60))
                .withStartTime("earliest")
                .withProgressLocation(location));

    TimeRange restriction = fn.initialRestriction();

    assertEquals(now - MINUTE, restriction.fromMicros());
    assertEquals(
        java.util.Optional.of(ProgressOffset.ofTimestamp(now - MINUTE)), ProgressStore.read(location));
    clock.set(now + 2 * MINUTE);
    Collector<KV<Long, Long>> out =
        process(fn, TimeRange.of(restriction.fromMicros(), now + MINUTE));
    List<Object> records = new ArrayList<>();
    for (Object value : out.values) {
      if (((KV<?, ?>) value).getValue() instanceof Long) {
        records.add(value); // not the chunk signals for the progress location
      }
    }
    assertEquals(List.of(KV.of(0L, now - 50 * SECOND), KV.of(1L, now - 30 * SECOND)), records);
  }

  /** A source that takes whole seconds only, refuses more than 4 records, and logs its ranges. */
  private static final class WholeSecondsSource implements TimeRangeQuery<KV<Long, Long>> {
    static final List<TimeRange> ASKED = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final TestSource inner;

    WholeSecondsSource(TestSource inner) {
      this.inner = inner;
    }

    @Override
    public Iterable<KV<Long, Long>> query(TimeRange range) throws Exception {
      ASKED.add(range);
      if (range.fromMicros() % SECOND != 0 || range.toMicros() % SECOND != 0) {
        throw new IllegalArgumentException("not whole seconds: " + range);
      }
      List<KV<Long, Long>> records = new ArrayList<>();
      inner.query(range).forEach(records::add);
      if (records.size() > 4) {
        throw new ResultTooLargeException("more than 4 records in " + range);
      }
      return records;
    }

    @Override
    public long boundGranularityMicros() {
      return SECOND;
    }
  }

  @Test
  public void aSourceOfWholeSecondsIsAskedOnlyForWholeSecondsFromLatestAndWhenBisected()
      throws Exception {
    clock.set(T0 + 10 * MINUTE + 123_457); // "latest" is the horizon, T0 + 9m30.123457s
    long[] times = new long[40];
    for (int i = 0; i < times.length; i++) {
      times[i] = T0 + 9 * MINUTE + 30 * SECOND + i * 250_000L + i % 3; // 4 a second
    }
    TestSource records = TestSource.of(times);
    WholeSecondsSource.ASKED.clear();
    ReadFn<KV<Long, Long>> fn =
        ReadFn.of(read(TestSource.of()).withQuery(new WholeSecondsSource(records)).withStartTime("latest"));

    TimeRange restriction = fn.initialRestriction();
    assertEquals("latest, floored to a whole second", T0 + 9 * MINUTE + 30 * SECOND, restriction.fromMicros());
    clock.set(T0 + 20 * MINUTE);
    Collector<KV<Long, Long>> out =
        process(fn, TimeRange.of(restriction.fromMicros(), T0 + 10 * MINUTE));

    assertEquals(records.records(), out.values);
    assertTrue("bisected", WholeSecondsSource.ASKED.size() > 1);
    for (TimeRange asked : WholeSecondsSource.ASKED) {
      assertEquals(asked.toString(), 0, asked.fromMicros() % SECOND);
      assertEquals(asked.toString(), 0, asked.toMicros() % SECOND);
    }
  }

  @Test
  public void aFutureDatedOldestRecordStartsTheReadAtTheSafeHorizon() throws Exception {
    long horizon = T0 + 10 * MINUTE - 30 * SECOND;
    ReadFn<KV<Long, Long>> fn =
        ReadFn.of(read(TestSource.of(T0 + 10 * 24 * 60 * MINUTE)).withStartTime("earliest"));

    assertEquals(horizon, fn.initialRestriction().fromMicros());
  }

  @Test
  public void aStartAfterTheEndIsStoredAsTheEndSoAContinuationMissesNothing() throws Exception {
    String location = tmp.getRoot() + "/progress.json";
    // "latest" is the safe horizon, T0 + 9m30s; the end lies before it.
    ReadFn<KV<Long, Long>> fn =
        ReadFn.of(
            read(TestSource.of())
                .withStartTime("latest")
                .withEndTime(Times.toInstant(T0 + MINUTE))
                .withProgressLocation(location));

    assertEquals(TimeRange.of(T0 + MINUTE, T0 + MINUTE), fn.initialRestriction());
    assertEquals(
        java.util.Optional.of(ProgressOffset.ofTimestamp(T0 + MINUTE)), ProgressStore.read(location));
  }

  @Test
  public void aStartIsStoredBeforeAnythingIsReadAndARelaunchResumesThere() throws Exception {
    String location = tmp.getRoot() + "/progress.json";
    ReadFn<KV<Long, Long>> first =
        ReadFn.of(read(TestSource.of()).withStartTime("latest").withProgressLocation(location));
    long start = first.initialRestriction().fromMicros();
    assertEquals(T0 + 10 * MINUTE - 30 * SECOND, start);

    clock.advance(5 * MINUTE);
    ReadFn<KV<Long, Long>> relaunched =
        ReadFn.of(read(TestSource.of()).withStartTime("latest").withProgressLocation(location));
    assertEquals("not a new \"latest\"", start, relaunched.initialRestriction().fromMicros());
  }

  @Test
  public void theReCheckOfALookbackReportsNoBytesOfBacklogTheFirstReadDoes() {
    TimeRangeIO.Read<KV<Long, Long>> spec =
        read(TestSource.of()).withLookback(Duration.ofMinutes(2));
    TimeRange ready = TimeRange.of(T0, T0 + 5 * MINUTE); // below both horizons

    assertTrue(ReadFn.of(spec).size(ready) > 0);
    assertEquals(0d, ReadFn.recheck(spec, spec.getCoder()).size(ready), 0d);
  }
}
