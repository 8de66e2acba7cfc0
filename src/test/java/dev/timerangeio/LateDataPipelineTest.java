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
import org.apache.beam.sdk.transforms.ParDo;
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
}
