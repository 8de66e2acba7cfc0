package dev.timerangeio;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.lessThan;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.Count;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.transforms.windowing.FixedWindows;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** Reads that follow the clock, on the DirectRunner: resume, watermark, and the safe horizon. */
@RunWith(JUnit4.class)
public class StreamingReadIT {
  private static final long SECOND = 1_000_000L;
  private static final long MINUTE = 60 * SECOND;
  private static final long T0 = 1_714_521_600_000_000L; // 2024-05-01T00:00:00Z
  private static final org.joda.time.Duration WAIT = org.joda.time.Duration.standardMinutes(2);

  @Rule public final transient TestPipeline pipeline = TestPipeline.create();

  /** A pipeline that returns from run() at once, for reads that never finish. */
  private static Pipeline streamingPipeline() {
    DirectOptions options = PipelineOptionsFactory.as(DirectOptions.class);
    options.setBlockOnRun(false);
    return Pipeline.create(options);
  }

  private static TimeRangeIO.Read<KV<Long, Long>> read(TestSource source, TestClock clock) {
    return TimeRangeIO.<KV<Long, Long>>read()
        .withQuery(source)
        .withCoder(TestSource.CODER)
        .withStartTime(Times.toInstant(T0))
        .withIngestionLag(Duration.ofSeconds(30))
        .withPollInterval(Duration.ofMillis(10))
        .withTimestampFn(TestSource::timeOf)
        .withClock(clock);
  }

  @Test
  public void unboundedReadEmitsEveryRecordOnceAsTheClockMoves() {
    long[] times = PipelineSupport.nastyTimes(T0, T0 + 10 * MINUTE, 7 * SECOND, 20_000, 42);
    TestSource source = TestSource.of(times);
    TestClock clock = new TestClock(T0 + 3 * MINUTE);
    Pipeline p = streamingPipeline();
    String out = PipelineSupport.newCollection();
    PCollection<KV<Long, Long>> records =
        p.apply(read(source, clock).withPartitionDuration(Duration.ofSeconds(7)));
    assertEquals(PCollection.IsBounded.UNBOUNDED, records.isBounded());
    records.apply(ParDo.of(new PipelineSupport.Collect<>(out)));
    PipelineResult result = p.run();
    try {
      // Horizon T0 + 2m30s: only chunks of the 7 s grid that end at or below it are read.
      long readable = new ChunkGrid(7 * SECOND).floorBoundary(T0 + 150 * SECOND);
      long firstBatch = source.records().stream().filter(r -> r.getKey() < readable).count();
      PipelineSupport.awaitCondition(
          result,
          () -> PipelineSupport.collected(out).size() >= firstBatch,
          WAIT,
          "the records below the first horizon");
      assertTrue(
          "nothing past the horizon is read",
          PipelineSupport.<KV<Long, Long>>collected(out).stream()
              .allMatch(r -> r.getKey() < readable));

      clock.set(T0 + 11 * MINUTE);
      PipelineSupport.awaitCondition(
          result,
          () -> PipelineSupport.collected(out).size() >= times.length,
          WAIT,
          "all records");
      List<KV<Long, Long>> got = PipelineSupport.collected(out);
      ReadPipelineIT.sameRecords(source.records()).apply(got);
    } finally {
      cancel(result);
    }
  }

  @Test
  public void idleSourceWatermarkFollowsTheClockAndClosesWindows() throws Exception {
    // All records in the first 10 s; nothing ever arrives after that.
    TestSource source = TestSource.of(T0 + SECOND, T0 + 2 * SECOND, T0 + 9 * SECOND);
    TestClock clock = new TestClock(T0 + 40 * SECOND);
    Pipeline p = streamingPipeline();
    String seen = PipelineSupport.newCollection();
    String windows = PipelineSupport.newCollection();
    PCollection<KV<Long, Long>> records =
        p.apply(read(source, clock).withPartitionDuration(Duration.ofSeconds(5)));
    records.apply("Seen", ParDo.of(new PipelineSupport.Collect<>(seen)));
    records
        .apply(Window.into(FixedWindows.of(org.joda.time.Duration.standardMinutes(1))))
        .apply(Combine.globally(Count.<KV<Long, Long>>combineFn()).withoutDefaults())
        .apply(ParDo.of(new DescribeWindow()))
        .apply("Windows", ParDo.of(new PipelineSupport.Collect<>(windows)));
    PipelineResult result = p.run();
    try {
      PipelineSupport.awaitCondition(
          result, () -> PipelineSupport.collected(seen).size() == 3, WAIT, "the three records");
      // The horizon (T0 + 10 s) is before the window's end: it can't have closed.
      assertEquals(List.of(), PipelineSupport.collected(windows));

      // Time passes with no data at all; empty chunks alone carry the watermark past T0 + 1m.
      clock.set(T0 + 2 * MINUTE);
      PipelineSupport.awaitCondition(
          result, () -> !PipelineSupport.collected(windows).isEmpty(), WAIT, "the window to close");
      assertEquals(
          List.of(Times.toInstant(T0) + "/" + Times.toInstant(T0 + MINUTE) + "=3"),
          PipelineSupport.collected(windows));
    } finally {
      cancel(result);
    }
  }

  /** "start/end=count" per window. */
  static final class DescribeWindow extends DoFn<Long, String> {
    @ProcessElement
    public void process(@Element Long count, BoundedWindow window, OutputReceiver<String> out) {
      IntervalWindow w = (IntervalWindow) window;
      out.output(
          Instant.ofEpochMilli(w.start().getMillis())
              + "/"
              + Instant.ofEpochMilli(w.end().getMillis())
              + "="
              + count);
    }
  }

  @Test
  public void boundedReadEndingInTheFutureWaitsForIngestionAndLosesNothing() {
    // Records keep arriving: each becomes visible 300 ms after its time. The lag (1 s) covers it.
    Instant start = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    Instant end = start.plusSeconds(3);
    long[] times = everyMillisecond(start, end);
    TestSource source = TestSource.of(times).visibleAfter(MicrosClock.SYSTEM, 300_000);

    PCollection<KV<Long, Long>> output =
        pipeline.apply(liveRead(source, start, end, Duration.ofSeconds(1)));
    PAssert.that(output).satisfies(ReadPipelineIT.sameRecords(source.records()));
    pipeline.run().waitUntilFinish(org.joda.time.Duration.standardMinutes(1));
  }

  @Test
  public void withoutEnoughLagRecordsStillBeingIngestedAreLost() {
    // The control for the test above: a lag shorter than the visibility delay loses records,
    // which is the PySpark reader's "latestOffset = now()" mistake.
    // The range runs 6 s into the future, so even a slow pipeline start leaves chunks that are
    // read as soon as their end passes, while their last second is still invisible.
    Instant start = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    Instant end = start.plusSeconds(6);
    long[] times = everyMillisecond(start, end);
    TestSource source = TestSource.of(times).visibleAfter(MicrosClock.SYSTEM, 1_000_000);

    PCollection<Long> count =
        pipeline
            .apply(liveRead(source, start, end, Duration.ZERO))
            .apply(Count.globally());
    PAssert.thatSingleton(count)
        .satisfies(
            n -> {
              assertThat(n, lessThan((long) times.length));
              return null;
            });
    pipeline.run().waitUntilFinish(org.joda.time.Duration.standardMinutes(1));
  }

  /** A bounded read over real time, in 250 ms chunks. */
  private static TimeRangeIO.Read<KV<Long, Long>> liveRead(
      TestSource source, Instant start, Instant end, Duration lag) {
    return TimeRangeIO.<KV<Long, Long>>read()
        .withQuery(source)
        .withCoder(TestSource.CODER)
        .withStartTime(start)
        .withEndTime(end)
        .withPartitionDuration(Duration.ofMillis(250))
        .withIngestionLag(lag)
        .withPollInterval(Duration.ofMillis(20));
  }

  private static long[] everyMillisecond(Instant start, Instant end) {
    long from = Times.toMicros("start", start);
    long to = Times.toMicros("end", end);
    long[] times = new long[(int) ((to - from) / 1_000)];
    for (int i = 0; i < times.length; i++) {
      times[i] = from + i * 1_000L + (i % 1_000);
    }
    return times;
  }

  @Test
  public void earliestOnAnEmptySourceReadsNothing() {
    TestClock clock = new TestClock(T0 + MINUTE);
    PCollection<KV<Long, Long>> output =
        pipeline.apply(
            read(TestSource.of(), clock)
                .withStartTime("earliest")
                .withEndTime(Times.toInstant(T0)));
    PAssert.that(output).empty();
    pipeline.run();
  }

  @Test
  public void sourceThatThrowsFailsThePipelineWithTheSourceMessage() {
    TestClock clock = new TestClock(T0 + 10 * MINUTE);
    pipeline.apply(
        read(TestSource.of(T0).failingWith("source says no: quota exceeded"), clock)
            .withEndTime(Times.toInstant(T0 + MINUTE)));
    Pipeline.PipelineExecutionException e =
        assertThrows(Pipeline.PipelineExecutionException.class, () -> pipeline.run());
    assertThat(rootCause(e).getMessage(), containsString("source says no: quota exceeded"));
  }

  @Test
  public void recordOutsideItsChunkFailsThePipeline() {
    TestClock clock = new TestClock(T0 + 10 * MINUTE);
    pipeline.apply(
        read(TestSource.of(T0 + SECOND), clock)
            .withTimestampFn(r -> Times.toInstant(T0 + 5 * MINUTE))
            .withEndTime(Times.toInstant(T0 + MINUTE)));
    Pipeline.PipelineExecutionException e =
        assertThrows(Pipeline.PipelineExecutionException.class, () -> pipeline.run());
    assertThat(rootCause(e).getMessage(), containsString("outside the range it was asked for"));
  }

  /** Encodes like the test coder, but refuses the record with id 1. */
  static final class RefusingCoder extends org.apache.beam.sdk.coders.CustomCoder<KV<Long, Long>> {
    @Override
    public void encode(KV<Long, Long> value, java.io.OutputStream out) throws java.io.IOException {
      if (value.getValue() == 1L) {
        throw new org.apache.beam.sdk.coders.CoderException("cannot encode record " + value);
      }
      TestSource.CODER.encode(value, out);
    }

    @Override
    public KV<Long, Long> decode(java.io.InputStream in) throws java.io.IOException {
      return TestSource.CODER.decode(in);
    }
  }

  @Test
  public void recordThatCannotBeEncodedFailsThePipeline() {
    TestClock clock = new TestClock(T0 + 10 * MINUTE);
    pipeline.apply(
        read(TestSource.of(T0, T0 + SECOND), clock)
            .withCoder(new RefusingCoder())
            .withEndTime(Times.toInstant(T0 + MINUTE)));
    Pipeline.PipelineExecutionException e =
        assertThrows(Pipeline.PipelineExecutionException.class, () -> pipeline.run());
    assertThat(rootCause(e).getMessage(), containsString("cannot encode record"));
  }

  private static Throwable rootCause(Throwable t) {
    Set<Throwable> seen = new HashSet<>();
    while (t.getCause() != null && seen.add(t)) {
      t = t.getCause();
    }
    return t;
  }

  private static void cancel(PipelineResult result) {
    try {
      result.cancel();
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
