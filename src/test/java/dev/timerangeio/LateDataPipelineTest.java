package dev.timerangeio;

import static dev.timerangeio.LateData.END;
import static dev.timerangeio.LateData.LAG;
import static dev.timerangeio.LateData.LOOKBACK;
import static dev.timerangeio.LateData.CHUNK;
import static dev.timerangeio.LateData.T0;
import static dev.timerangeio.LateData.WAIT;
import static dev.timerangeio.PipelineSupport.counter;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThan;
import static org.junit.Assert.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.Count;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.FixedWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** Late data on the DirectRunner: the tail a first read misses, and the lookback that catches it. */
@RunWith(JUnit4.class)
public class LateDataPipelineTest {
  @Rule public final transient TestPipeline p = TestPipeline.create();
  @Rule public final transient TestPipeline relaunch = TestPipeline.create();
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  private PipelineResult runStepping(TestPipeline pipeline, TestClock clock, LateSource source) {
    pipeline.getOptions().as(DirectOptions.class).setBlockOnRun(false);
    PipelineResult result = pipeline.run();
    LateData.stepTo(result, clock, source, END + LAG + Times.durationMicros(LOOKBACK) + CHUNK);
    assertEquals(PipelineResult.State.DONE, result.waitUntilFinish(WAIT));
    return result;
  }

  /** The control: without a lookback the records ingested after the lag never arrive. */
  @Test
  public void withoutLookbackTheTailIsLost() {
    TestClock clock = LateData.clock();
    LateSource source = LateData.source(clock, 1);
    TestSink<KV<Long, Long>> sink = TestSink.create();
    p.apply(LateData.read(source, clock)).apply(LateData.write(sink));

    runStepping(p, clock, source);

    List<KV<Long, Long>> arrived = new ArrayList<>(source.records());
    arrived.removeAll(LateData.tail(source));
    assertThat("the data has a tail", LateData.tail(source).size(), greaterThan(50));
    assertEquals(LateData.keyed(arrived), sink.stored());
  }

  @Test
  public void withLookbackEveryRecordReachesTheSinkOnce() throws Exception {
    TestClock clock = LateData.clock();
    LateSource source = LateData.source(clock, 2);
    TestSink<KV<Long, Long>> sink = TestSink.create();
    String location = tmp.getRoot() + "/progress.json";
    String emitted = PipelineSupport.newCollection();
    PCollection<KV<Long, Long>> records =
        p.apply(LateData.read(source, clock).withLookback(LOOKBACK).withProgressLocation(location));
    records.apply(ParDo.of(new PipelineSupport.Collect<>(emitted)));
    records.apply(LateData.write(sink).withProgressLocation(location));

    PipelineResult result = runStepping(p, clock, source);

    int tail = LateData.tail(source).size();
    assertThat("the data has a tail", tail, greaterThan(50));
    LateData.assertEachOnce(source.records(), PipelineSupport.collected(emitted));
    assertEquals(LateData.keyed(source.records()), sink.stored());
    assertEquals("no record reached the sink twice", 0, sink.keysSkipped());
    assertEquals(tail, counter(result, TimeRangeIOMetrics.LATE_RECORDS));
    assertEquals(0, counter(result, TimeRangeIOMetrics.INCOMPLETE_CHUNKS));
    assertEquals(source.records().size(), counter(result, TimeRangeIOMetrics.ROWS_READ));
    assertEquals(END, ProgressStore.read(location).get().timestampMicros());
  }

  /**
   * The read's watermark follows the re-check, so a record found late is not late downstream:
   * windows with no allowed lateness (which drop late records) still count every record.
   */
  @Test
  public void recordsFoundLateAreOnTimeForDownstreamWindows() throws Exception {
    TestClock clock = LateData.clock();
    LateSource source = LateData.source(clock, 5);
    String counts = PipelineSupport.newCollection();
    // Without an end the watermark advances as the read goes, and windows close behind it.
    p.apply(LateData.unboundedRead(source, clock).withLookback(LOOKBACK))
        .apply(Window.into(FixedWindows.of(org.joda.time.Duration.millis(CHUNK / 1000))))
        .apply(Combine.globally(Count.<KV<Long, Long>>combineFn()).withoutDefaults())
        .apply(ParDo.of(new PipelineSupport.Collect<>(counts)));
    p.getOptions().as(DirectOptions.class).setBlockOnRun(false);
    PipelineResult result = p.run();
    try {
      LateData.stepTo(result, clock, source, END + LAG + Times.durationMicros(LOOKBACK) + 3 * CHUNK);
      // Late records behind the watermark would be dropped, and the sum never reach the total.
      PipelineSupport.awaitCondition(
          result,
          () -> PipelineSupport.<Long>collected(counts).stream().mapToLong(Long::longValue).sum()
              == source.records().size(),
          WAIT,
          "every record counted in an on-time window pane");
      assertThat(counter(result, TimeRangeIOMetrics.LATE_RECORDS), greaterThan(50L));
    } finally {
      result.cancel();
    }
  }

  /** A source that counts is re-read only where the count changed: the chunks with a tail. */
  @Test
  public void theCompletenessCheckRereadsOnlyChangedChunks() {
    TestClock clock = LateData.clock();
    LateSource source = LateData.source(clock, 3).counting();
    String emitted = PipelineSupport.newCollection();
    p.apply(LateData.read(source, clock).withLookback(LOOKBACK))
        .apply(ParDo.of(new PipelineSupport.Collect<>(emitted)));

    PipelineResult result = runStepping(p, clock, source);

    List<Long> changed = LateData.chunksWithTail(source);
    assertThat("some chunks have a tail", changed.size(), greaterThan(5));
    assertThat("some chunks have none", changed.size(), org.hamcrest.Matchers.lessThan(30));
    List<Long> reread = new ArrayList<>();
    for (long start = T0; start < END; start += CHUNK) {
      if (source.queries(start) == 2) {
        reread.add(start);
      } else {
        assertEquals("queries of the chunk at " + Times.describe(start), 1, source.queries(start));
      }
    }
    assertEquals(changed, reread);
    assertEquals("one count per chunk", 30, source.totalCounts());
    LateData.assertEachOnce(source.records(), PipelineSupport.collected(emitted));
    assertEquals(
        LateData.tail(source).size(), counter(result, TimeRangeIOMetrics.LATE_RECORDS));
  }

  /** A record deleted after the first read makes its chunk incomplete: counted, not silent. */
  @Test
  public void aCountThatStillDisagreesCountsAnIncompleteChunk() {
    TestClock clock = LateData.clock();
    long[] times = {T0 + CHUNK / 10, T0 + CHUNK / 5, T0 + 5 * CHUNK};
    long[] visible = {T0, T0, T0};
    LateSource source = LateSource.of(clock, times, visible).counting();
    // Gone after the first read of the first chunk (at T0 + 2 chunks), before its re-check (4).
    source.deleteAt(1, T0 + 2 * CHUNK + 1);
    String emitted = PipelineSupport.newCollection();
    p.apply(LateData.read(source, clock).withLookback(LOOKBACK))
        .apply(ParDo.of(new PipelineSupport.Collect<>(emitted)));

    PipelineResult result = runStepping(p, clock, source);

    assertEquals(1, counter(result, TimeRangeIOMetrics.INCOMPLETE_CHUNKS));
    assertEquals(0, counter(result, TimeRangeIOMetrics.LATE_RECORDS));
    LateData.assertEachOnce(source.records(), PipelineSupport.collected(emitted));
  }

  /**
   * A launch cancelled while chunks it has read wait for their re-check: the stored position has
   * not passed the re-check, so the relaunch reads those chunks again and finds their late records;
   * the sink ends with every record once.
   */
  @Test
  public void aRelaunchInTheMiddleOfALookbackWindowLosesNothingAndStoresNothingTwice()
      throws Exception {
    TestClock clock = LateData.clock();
    LateSource source = LateData.source(clock, 4);
    TestSink<KV<Long, Long>> sink = TestSink.create();
    String location = tmp.getRoot() + "/progress.json";
    String firstOut = PipelineSupport.newCollection();
    PCollection<KV<Long, Long>> records =
        p.apply(LateData.read(source, clock).withLookback(LOOKBACK).withProgressLocation(location));
    records.apply(ParDo.of(new PipelineSupport.Collect<>(firstOut)));
    records.apply(LateData.write(sink).withProgressLocation(location));
    p.getOptions().as(DirectOptions.class).setBlockOnRun(false);
    PipelineResult first = p.run();
    long cut = T0 + 15 * CHUNK;
    long recheckHorizon = cut - LAG - Times.durationMicros(LOOKBACK);
    try {
      LateData.stepTo(first, clock, source, cut);
      PipelineSupport.awaitCondition(
          first,
          () -> committed(location) >= recheckHorizon - 2 * CHUNK,
          WAIT,
          "commits up to the chunks re-checked");
    } finally {
      first.cancel();
    }
    long committed = committed(location);
    assertThat(
        "the stored position " + Times.describe(committed) + " passed the re-check",
        committed,
        org.hamcrest.Matchers.lessThanOrEqualTo(recheckHorizon));
    List<KV<Long, Long>> firstEmitted = PipelineSupport.collected(firstOut);
    // Each record at most once per launch.
    LateData.assertEachOnce(new ArrayList<>(new java.util.HashSet<>(firstEmitted)), firstEmitted);
    List<KV<Long, Long>> pending = new ArrayList<>();
    for (KV<Long, Long> r : source.records()) {
      if (r.getKey() < cut - LAG && !firstEmitted.contains(r)) {
        pending.add(r);
      }
    }
    assertThat("late records of read chunks wait for their re-check", pending.size(), greaterThan(0));

    String secondOut = PipelineSupport.newCollection();
    PCollection<KV<Long, Long>> again =
        relaunch.apply(
            LateData.read(source, clock).withLookback(LOOKBACK).withProgressLocation(location));
    again.apply(ParDo.of(new PipelineSupport.Collect<>(secondOut)));
    again.apply(LateData.write(sink).withProgressLocation(location));
    runStepping(relaunch, clock, source);

    List<KV<Long, Long>> secondEmitted = PipelineSupport.collected(secondOut);
    LateData.assertEachOnce(new ArrayList<>(new java.util.HashSet<>(secondEmitted)), secondEmitted);
    assertThat(
        "the relaunch found the late records the first launch had not re-checked",
        secondEmitted.containsAll(pending));
    assertEquals(LateData.keyed(source.records()), sink.stored());
  }

  private static long committed(String location) {
    try {
      return ProgressStore.read(location).map(ProgressOffset::timestampMicros).orElse(Long.MIN_VALUE);
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
