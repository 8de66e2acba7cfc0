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
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
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
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.SlidingWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
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
    // The safe horizon is T0 + 50 s: 40 s of empty chunks after the last record.
    TestClock clock = new TestClock(T0 + 80 * SECOND);
    Pipeline p = streamingPipeline();
    String windows = newBundleCollection();
    p.apply(read(source, clock).withPartitionDuration(Duration.ofSeconds(5)))
        .apply(
            Window.into(
                SlidingWindows.of(org.joda.time.Duration.standardMinutes(1))
                    .every(org.joda.time.Duration.standardSeconds(10))))
        .apply(Combine.globally(Count.<KV<Long, Long>>combineFn()).withoutDefaults())
        .apply(ParDo.of(new DescribeWindow()))
        .apply(ParDo.of(new CollectBundles(windows)));
    PipelineResult result = p.run();
    try {
      // One-minute windows every 10 s each hold the three records. Empty chunks alone carry the
      // watermark to the horizon, closing the windows that end at T0 + 10 s ... T0 + 50 s; the
      // one ending at T0 + 1m must stay open. A watermark ahead of the chunks read would close
      // it in the same firing as the one ending at T0 + 50 s, and a bundle's outputs are
      // collected at once: the check can't come before it would show.
      Set<String> upToTheHorizon = new HashSet<>();
      for (long end = T0 + 10 * SECOND; end <= T0 + 50 * SECOND; end += 10 * SECOND) {
        upToTheHorizon.add(window(end - MINUTE, end, 3));
      }
      PipelineSupport.awaitCondition(
          result,
          () -> bundlesCollected(windows).containsAll(upToTheHorizon),
          WAIT,
          "the windows ending at or before the horizon");
      assertEquals(upToTheHorizon, bundlesCollected(windows));

      // Time passes with no data at all; the watermark follows it past T0 + 1m.
      clock.set(T0 + 2 * MINUTE);
      String minute = window(T0, T0 + MINUTE, 3);
      PipelineSupport.awaitCondition(
          result, () -> bundlesCollected(windows).contains(minute), WAIT, "the window to close");
      Set<String> all = new HashSet<>(upToTheHorizon);
      all.add(minute);
      assertEquals(all, bundlesCollected(windows));
    } finally {
      cancel(result);
    }
  }

  private static String window(long from, long to, long count) {
    return Times.toInstant(from) + "/" + Times.toInstant(to) + "=" + count;
  }

  private static final Map<String, Queue<List<Object>>> BUNDLES = new ConcurrentHashMap<>();

  private static String newBundleCollection() {
    String id = java.util.UUID.randomUUID().toString();
    BUNDLES.put(id, new ConcurrentLinkedQueue<>());
    return id;
  }

  /** Every element collected so far, as a set; a bundle's elements appear all at once. */
  private static Set<String> bundlesCollected(String id) {
    Set<String> all = new HashSet<>();
    for (List<Object> bundle : BUNDLES.get(id)) {
      for (Object element : bundle) {
        all.add((String) element);
      }
    }
    return all;
  }

  /** Collects each bundle's elements as one list, added when the bundle finishes. */
  static final class CollectBundles extends DoFn<String, Void> {
    private final String id;
    private transient List<Object> bundle;

    CollectBundles(String id) {
      this.id = id;
    }

    @StartBundle
    public void start() {
      bundle = new ArrayList<>();
    }

    @ProcessElement
    public void process(@Element String element) {
      bundle.add(element);
    }

    @FinishBundle
    public void finish() {
      BUNDLES.get(id).add(bundle);
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
  public void withoutEnoughLagRecordsStillBeingIngestedAreLost() throws Exception {
    // The control for the test above: a lag shorter than the visibility delay loses records,
    // which is the PySpark reader's "latestOffset = now()" mistake. A record becomes visible 1 s
    // after its time; with no lag and the clock at T0 + 3 s, the chunks up to T0 + 3 s are read
    // at once, while the records after T0 + 2 s in them are still invisible: lost for good.
    long end = T0 + 6 * SECOND;
    long[] times = everyMillisecond(T0, end);
    TestClock clock = new TestClock(T0 + 3 * SECOND);
    TestSource source = TestSource.of(times).visibleAfter(clock, SECOND);
    Pipeline p = streamingPipeline();
    String out = PipelineSupport.newCollection();
    p.apply(
            liveRead(source, Times.toInstant(T0), Times.toInstant(end), Duration.ZERO)
                .withClock(clock))
        .apply(ParDo.of(new PipelineSupport.Collect<>(out)));
    PipelineResult result = p.run();
    try {
      // The 12 chunks of 250 ms up to T0 + 3 s, answered while the clock still says T0 + 3 s.
      PipelineSupport.awaitCondition(
          result, () -> source.answeredQueries() >= 12, WAIT, "the chunks up to T0 + 3 s");
      clock.set(end + 10 * SECOND);
      assertEquals(PipelineResult.State.DONE, result.waitUntilFinish(WAIT));

      Set<KV<Long, Long>> expected = new HashSet<>();
      for (KV<Long, Long> r : source.records()) {
        if (r.getKey() <= T0 + 2 * SECOND || r.getKey() >= T0 + 3 * SECOND) {
          expected.add(r);
        }
      }
      List<KV<Long, Long>> got = PipelineSupport.collected(out);
      assertThat("some records are lost", expected.size(), lessThan(times.length));
      assertEquals(expected.size(), got.size());
      assertEquals(expected, new HashSet<>(got));
    } finally {
      cancel(result);
    }
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
    return everyMillisecond(Times.toMicros("start", start), Times.toMicros("end", end));
  }

  private static long[] everyMillisecond(long from, long to) {
    long[] times = new long[(int) ((to - from) / 1_000)];
    for (int i = 0; i < times.length; i++) {
      times[i] = from + i * 1_000L + (i % 1_000);
    }
    return times;
  }

  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  @Test
  public void earliestOnAnEmptySourceStartsAtTheSafeHorizonAndReadsWhatArrivesAboveIt()
      throws Exception {
    // At launch the clock says T0 + 1m, so the safe horizon is T0 + 30 s, and the source shows
    // no record yet. Two arrive later (visible 5 minutes after their time): one below the
    // horizon, before the start, which is not read, and one above it, which is.
    long below = T0 + 10 * SECOND;
    long above = T0 + 50 * SECOND;
    TestClock clock = new TestClock(T0 + MINUTE);
    TestSource source = TestSource.of(below, above).visibleAfter(clock, 5 * MINUTE);
    String location = tmp.getRoot() + "/progress.json";
    Pipeline p = streamingPipeline();
    String out = PipelineSupport.newCollection();
    p.apply(
            read(source, clock)
                .withStartTime("earliest")
                .withEndTime(Times.toInstant(T0 + 2 * MINUTE))
                .withPartitionDuration(Duration.ofSeconds(10))
                .withProgressLocation(location))
        .apply(ParDo.of(new PipelineSupport.Collect<>(out)));
    PipelineResult result = p.run();
    try {
      // The read stores its start before it reads: the horizon when it started.
      PipelineSupport.awaitCondition(
          result, () -> stored(location).isPresent(), WAIT, "the stored start");
      assertEquals(Optional.of(ProgressOffset.ofTimestamp(T0 + 30 * SECOND)), stored(location));

      clock.set(T0 + 10 * MINUTE);
      assertEquals(PipelineResult.State.DONE, result.waitUntilFinish(WAIT));
      assertEquals(List.of(KV.of(above, 1L)), PipelineSupport.<KV<Long, Long>>collected(out));
    } finally {
      cancel(result);
    }
  }

  private static Optional<ProgressOffset> stored(String location) {
    try {
      return ProgressStore.read(location);
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
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
    if (result.getState().isTerminal()) {
      return;
    }
    try {
      result.cancel();
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
