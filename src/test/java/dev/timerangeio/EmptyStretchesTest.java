package dev.timerangeio;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.transforms.DoFn.ProcessContinuation;
import org.apache.beam.sdk.transforms.splittabledofn.SplitResult;
import org.joda.time.Instant;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** Runs of empty chunks claimed with one question to the source ({@link EmptyStretches}). */
@RunWith(JUnit4.class)
public class EmptyStretchesTest {
  private static final long SECOND = 1_000_000L;
  private static final long MINUTE = 60 * SECOND;
  /** 2024-05-01T00:00:00Z. */
  private static final long T0 = 1_714_521_600L * SECOND;

  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  private final TestClock clock = new TestClock(T0 + 2_000 * MINUTE);

  private ReadFn<Long> fn(SparseSource source) {
    return ReadFn.of(
        TimeRangeIO.<Long>read()
            .withQuery(source)
            .withCoder(VarLongCoder.of())
            .withPartitionDuration(Duration.ofMinutes(1))
            .withIngestionLag(Duration.ofSeconds(30))
            .withWatermarkDelay(Duration.ofSeconds(10))
            .withPollInterval(Duration.ofSeconds(5))
            .withProgressLocation(tmp.getRoot() + "/progress.json")
            .withClock(clock));
  }

  private static final long[] TIMES = {
    T0 + 5 * SECOND,
    T0 + 500 * MINUTE + SECOND,
    T0 + 500 * MINUTE + 2 * SECOND,
    T0 + 999 * MINUTE + 59 * SECOND
  };

  private static List<Object> all(int n) {
    List<Object> records = new ArrayList<>();
    for (long i = 0; i < n; i++) {
      records.add(i);
    }
    return records;
  }

  /** One process() call over {@code restriction} with a fresh tracker and estimator. */
  private static ReadHarness.Outputs processWhole(ReadFn<Long> fn, TimeRange restriction)
      throws Exception {
    ReadHarness.Outputs out = new ReadHarness.Outputs(fn.progressTag);
    fn.process(
        fn.newTracker(restriction),
        fn.newWatermarkEstimator(fn.initialWatermark(restriction)),
        out);
    return out;
  }

  @Test
  public void aRunOfEmptyChunksCostsOneQuestion() throws Exception {
    SparseSource source = SparseSource.of(TIMES);
    ReadFn<Long> fn = fn(source);
    TimeRange restriction = TimeRange.of(T0, T0 + 1_000 * MINUTE);
    ReadHarness.Outputs out = new ReadHarness.Outputs(fn.progressTag);
    MonotonicWatermarkEstimator watermark =
        fn.newWatermarkEstimator(fn.initialWatermark(restriction));

    ProcessContinuation c = fn.process(fn.newTracker(restriction), watermark, out);

    assertFalse(c.shouldResume());
    assertEquals(all(TIMES.length), out.records);
    // Chunks 0, 1, 500, 501 and 999 are queried; the runs [2, 500) and [502, 999) are asked about.
    assertEquals(5, source.queries());
    assertEquals(
        List.of(
            TimeRange.of(T0 + 2 * MINUTE, T0 + 1_000 * MINUTE),
            TimeRange.of(T0 + 502 * MINUTE, T0 + 1_000 * MINUTE)),
        source.probed());
    out.assertSignalsTile(T0, T0 + 1_000 * MINUTE);
    assertEquals(
        new Instant((T0 + 1_000 * MINUTE - 10 * SECOND) / 1000), watermark.currentWatermark());
  }

  @Test
  public void skippedRunsCountInTheBytesPerMicrosecondLikeEmptyChunksRead() throws Exception {
    SparseSource source = SparseSource.of(TIMES);
    ReadFn<Long> fn = fn(source);

    processWhole(fn, TimeRange.of(T0, T0 + 1_000 * MINUTE));

    // Four records of one byte each (VarLongCoder) over the 1,000 minutes read: the 995 minutes
    // claimed as empty without a query are as empty as the chunks queried and found empty, so
    // @GetSize must not weigh the next backlog as if every minute were as full as the 5 queried.
    assertEquals(4.0 / (1_000 * MINUTE), fn.byteRate().bytesPerMicro(), 1e-15);
  }

  @Test
  public void aSourceThatCannotTellIsQueriedChunkByChunk() throws Exception {
    SparseSource source = SparseSource.of(TIMES).withoutNextRecordTime();
    ReadFn<Long> fn = fn(source);

    ReadHarness.Outputs out = processWhole(fn, TimeRange.of(T0, T0 + 1_000 * MINUTE));

    assertEquals(all(TIMES.length), out.records);
    assertEquals(1_000, source.queries());
    out.assertSignalsTile(T0, T0 + 1_000 * MINUTE);
  }

  @Test
  public void aCheckpointRightAfterARunIsClaimedLosesAndRepeatsNothing() throws Exception {
    SparseSource source = SparseSource.of(TIMES);
    ReadFn<Long> fn = fn(source);
    TimeRange restriction = TimeRange.of(T0, T0 + 1_000 * MINUTE);
    ReadHarness.Outputs out = new ReadHarness.Outputs(fn.progressTag);
    MonotonicWatermarkEstimator watermark =
        fn.newWatermarkEstimator(fn.initialWatermark(restriction));
    // Claims 1 and 2 are chunks 0 and 1, read; claim 3 is the first chunk of the run [2, 500).
    ReadHarness.CheckpointAfterClaims tracker =
        new ReadHarness.CheckpointAfterClaims(fn.newTracker(restriction), 3);

    ProcessContinuation c = fn.process(tracker, watermark, out);

    assertFalse(c.shouldResume());
    SplitResult<TimeRange> checkpoint = tracker.checkpoint;
    assertEquals(TimeRange.of(T0, T0 + 3 * MINUTE), checkpoint.getPrimary());
    assertEquals(TimeRange.of(T0 + 3 * MINUTE, T0 + 1_000 * MINUTE), checkpoint.getResidual());
    tracker.checkDone();
    // The claimed part of the run is signalled and the watermark follows it, no further.
    out.assertSignalsTile(T0, T0 + 3 * MINUTE);
    assertEquals(new Instant((T0 + 3 * MINUTE - 10 * SECOND) / 1000), watermark.currentWatermark());

    c = fn.process(fn.newTracker(checkpoint.getResidual()), watermark, out);

    assertFalse(c.shouldResume());
    assertEquals(all(TIMES.length), out.records);
    out.assertSignalsTile(T0, T0 + 1_000 * MINUTE);
    assertEquals(
        new Instant((T0 + 1_000 * MINUTE - 10 * SECOND) / 1000), watermark.currentWatermark());
  }

  @Test
  public void theQuestionStopsAtTheSafeHorizonSoLaterRecordsAreRead() throws Exception {
    SparseSource source = SparseSource.of(T0 + SECOND);
    clock.set(T0 + 10 * MINUTE);
    ReadFn<Long> fn = fn(source);
    TimeRange restriction = TimeRange.of(T0, T0 + 60 * MINUTE);
    ReadHarness.Outputs out = new ReadHarness.Outputs(fn.progressTag);
    MonotonicWatermarkEstimator watermark =
        fn.newWatermarkEstimator(fn.initialWatermark(restriction));
    ChunkRangeTracker tracker = fn.newTracker(restriction);

    ProcessContinuation c = fn.process(tracker, watermark, out);

    // Horizon 9:30: chunks up to 9:00 are ready, and the question asks no further.
    assertTrue(c.shouldResume());
    for (TimeRange probed : source.probed()) {
      assertThat(probed.toMicros(), lessThanOrEqualTo(T0 + 9 * MINUTE));
    }
    out.assertSignalsTile(T0, T0 + 9 * MINUTE);
    // A record ingested late but within the lag, in the chunk [9:00, 10:00) not yet ready.
    source.setTimes(T0 + SECOND, T0 + 9 * MINUTE + 40 * SECOND);
    clock.set(T0 + 120 * MINUTE);
    SplitResult<TimeRange> rest = tracker.trySplit(0);
    tracker.checkDone();

    fn.process(fn.newTracker(rest.getResidual()), watermark, out);

    assertEquals(all(2), out.records);
    out.assertSignalsTile(T0, T0 + 60 * MINUTE);
  }

  @Test
  public void aRestrictionStartingInsideAChunkSkipsFromItsNextBoundary() throws Exception {
    SparseSource source = SparseSource.of(T0 + 30 * SECOND, T0 + 40 * MINUTE);
    ReadFn<Long> fn = fn(source);

    ReadHarness.Outputs out =
        processWhole(fn, TimeRange.of(T0 + 20 * SECOND, T0 + 50 * MINUTE + 7));

    assertEquals(all(2), out.records);
    out.assertSignalsTile(T0 + 20 * SECOND, T0 + 50 * MINUTE + 7);
    // Chunks [0:20, 1:00), [1, 2), 40 and 41 are queried; [2, 40) and [42, the end) are skipped.
    assertEquals(4, source.queries());
  }
}
