package dev.timerangeio;

import static dev.timerangeio.PipelineSupport.counter;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.LongStream;
import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.sdk.Pipeline.PipelineExecutionException;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.errorhandling.BadRecord;
import org.apache.beam.sdk.transforms.errorhandling.ErrorHandler.BadRecordErrorHandler;
import org.apache.beam.sdk.transforms.windowing.AfterPane;
import org.apache.beam.sdk.transforms.windowing.AfterWatermark;
import org.apache.beam.sdk.transforms.windowing.FixedWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PDone;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The committed position is a query-time position (DESIGN.md invariant 9): it never passes the
 * end of what was read, a record still in flight whatever its event time, or a rejected or bad
 * record before its dead letter is stored; and one location belongs to one read and one write.
 */
@RunWith(JUnit4.class)
public class ProgressCommitTest {
  private static final long MS = 1_000L;
  private static final long SECOND = 1_000_000L;
  private static final long MINUTE = 60 * SECOND;
  private static final long HOUR = 60 * MINUTE;
  private static final long T0 = Times.toMicros("t0", java.time.Instant.parse("2026-01-01T00:00:00Z"));

  @Rule public final transient TestPipeline p = TestPipeline.create();
  @Rule public final transient TestPipeline relaunch = TestPipeline.create();
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  private String location() {
    return tmp.getRoot() + "/progress.json";
  }

  private static TimeRangeIO.Read<KV<Long, Long>> read(TestSource source, String location) {
    return TimeRangeIO.<KV<Long, Long>>read()
        .withQuery(source)
        .withCoder(TestSource.CODER)
        .withStartTime(Times.toInstant(T0))
        .withIngestionLag(Duration.ZERO)
        .withPollInterval(Duration.ofMillis(50))
        .withTimestampFn(TestSource::timeOf)
        .withProgressLocation(location);
  }

  private static TimeRangeIO.Write<KV<Long, Long>> write(TestSink<KV<Long, Long>> sink, String location) {
    return TimeRangeIO.<KV<Long, Long>>write()
        .to(sink)
        .withKeyFn(KV::getValue)
        .withInitialBackoff(Duration.ofMillis(1))
        .withProgressLocation(location);
  }

  private static Map<String, KV<Long, Long>> byKey(TestSource source) {
    Map<String, KV<Long, Long>> expected = new HashMap<>();
    for (KV<Long, Long> r : source.records()) {
      expected.put(IdempotencyKeys.of(r.getValue()), r);
    }
    return expected;
  }

  private static long committed(String location) {
    try {
      return ProgressStore.read(location).map(ProgressOffset::timestampMicros).orElse(Long.MIN_VALUE);
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static PipelineResult runUnblocked(TestPipeline pipeline) {
    pipeline.getOptions().as(DirectOptions.class).setBlockOnRun(false);
    return pipeline.run();
  }

  private static final org.joda.time.Duration WAIT = org.joda.time.Duration.standardMinutes(2);

  @Test
  public void aBackfillCommitsExactlyItsEndAndAContinuationReadsEveryRecordPastIt() {
    String location = location();
    long end = T0 + 100 * SECOND + 500; // not a whole millisecond
    // A record every 10 ms over the backfill's last 10 s and the second after it, one at the end.
    long[] times = LongStream.rangeClosed(0, 1_100).map(i -> end - 10 * SECOND + i * 10 * MS).toArray();
    TestSource source = TestSource.of(times);
    TestSink<KV<Long, Long>> sink = TestSink.create();

    p.apply(read(source, location).withPartitionDuration(Duration.ofSeconds(1)).withEndTime(Times.toInstant(end)))
        .apply(write(sink, location));
    p.run().waitUntilFinish();

    assertEquals("the position stops at the end that was read", end, committed(location));

    relaunch
        .apply(
            read(source, location)
                .withPartitionDuration(Duration.ofSeconds(1))
                .withEndTime(Times.toInstant(end + HOUR)))
        .apply(write(sink, location));
    PipelineResult second = relaunch.run();
    second.waitUntilFinish();

    assertEquals(byKey(source), sink.stored());
    assertEquals(
        "the continuation reads exactly what lies at or past the end",
        LongStream.of(times).filter(t -> t >= end).count(),
        counter(second, "rowsRead"));
    assertEquals(end + HOUR, committed(location));
  }

  /** Records every 10 s from T0 to T0 + 4:50, one-minute chunks, the clock at T0 + 5 min. */
  private static TestSource everyTenSeconds() {
    return TestSource.of(LongStream.range(0, 30).map(i -> T0 + i * 10 * SECOND).toArray());
  }

  @Test
  public void aRecordStampedLaterThanItWasQueriedHoldsThePositionAtItsQueryTime() throws Exception {
    String location = location();
    TestSource source = everyTenSeconds();
    long queried = T0 + 70 * SECOND;
    // A device clock ahead of the source's: queried in [T0 + 1 min, T0 + 2 min), stamped + 40 s.
    TimeRangeIO.Read<KV<Long, Long>> read =
        read(source, location)
            .withPartitionDuration(Duration.ofMinutes(1))
            .withTimestampFn(
                r ->
                    Times.toInstant(r.getKey() == queried ? r.getKey() + 40 * SECOND : r.getKey()))
            .withClock(new TestClock(T0 + 5 * MINUTE));
    TestSink<KV<Long, Long>> sink = TestSink.create();
    TestSink<KV<Long, Long>> holding = sink.holdingBack(r -> r.getKey() == queried);
    p.apply(read).apply(write(holding, location).withBatchSize(1));
    PipelineResult result = runUnblocked(p);
    try {
      PipelineSupport.awaitCondition(
          result, () -> sink.stored().size() == 29, WAIT, "every record but the held one");
      PipelineSupport.awaitCondition(
          result,
          () -> committed(location) >= T0 + MINUTE,
          WAIT,
          "the first chunk committed (now " + Times.describe(committed(location)) + ")");
      assertThat(
          "the position stays at or before the held record's query time",
          committed(location),
          lessThanOrEqualTo(queried));
    } finally {
      holding.crashHeld();
      result.cancel();
    }

    // A relaunch (the held write crashed, storing nothing) reads the held record again.
    relaunch
        .apply(read.withEndTime(Times.toInstant(T0 + 5 * MINUTE)))
        .apply(write(sink, location));
    relaunch.run().waitUntilFinish();
    assertEquals(byKey(source), sink.stored());
  }

  @Test
  public void aRejectedRecordHoldsThePositionUntilItsDeadLetterIsStored() throws Exception {
    String location = location();
    TestSource source = everyTenSeconds();
    long rejected = T0 + 70 * SECOND;
    TestSink<KV<Long, Long>> sink = TestSink.<KV<Long, Long>>create().rejecting(r -> r.getKey() == rejected);
    TestSink<BadRecord> deadLetters = TestSink.create();
    p.apply(
            read(source, location)
                .withPartitionDuration(Duration.ofMinutes(1))
                .withClock(new TestClock(T0 + 5 * MINUTE)))
        .apply(
            write(sink, location)
                .withBatchSize(1)
                .withDeadLetterSink(deadLetters.holdingBack(bad -> true)));
    PipelineResult result = runUnblocked(p);
    try {
      PipelineSupport.awaitCondition(
          result, () -> sink.stored().size() == 29, WAIT, "every record but the rejected one");
      PipelineSupport.awaitCondition(
          result,
          () -> committed(location) >= T0 + MINUTE,
          WAIT,
          "the first chunk committed (now " + Times.describe(committed(location)) + ")");
      assertThat(committed(location), lessThanOrEqualTo(rejected));

      deadLetters.release();
      PipelineSupport.awaitCondition(
          result,
          () -> committed(location) == T0 + 5 * MINUTE,
          WAIT,
          "the position at the clock once the dead letter is stored");
      assertEquals(1, deadLetters.stored().size());
      BadRecord stored = deadLetters.stored().values().iterator().next();
      assertThat(stored.getFailure().getException(), containsString("is not welcome here"));
    } finally {
      deadLetters.release();
      result.cancel();
    }
  }

  @Test
  public void withAProgressLocationARejectedRecordStoredNowhereFailsThePipeline() {
    String location = location();
    TestSource source = everyTenSeconds();
    TestSink<KV<Long, Long>> sink =
        TestSink.<KV<Long, Long>>create().rejecting(r -> r.getKey() == T0 + 70 * SECOND);
    p.apply(
            read(source, location)
                .withPartitionDuration(Duration.ofMinutes(1))
                .withEndTime(Times.toInstant(T0 + 5 * MINUTE)))
        .apply(write(sink, location));

    PipelineExecutionException e = assertThrows(PipelineExecutionException.class, p::run);

    assertThat(e.getMessage(), containsString("withDeadLetterSink"));
    assertThat(
        "the position never passes the rejected record",
        committed(location),
        lessThanOrEqualTo(T0 + 70 * SECOND));
  }

  @Test
  public void theReadStoresBadRecordsInItsDeadLetterSinkAndCommitsPastThem() {
    String location = location();
    TestSource source = everyTenSeconds();
    TestSink<KV<Long, Long>> sink = TestSink.create();
    TestSink<BadRecord> deadLetters = TestSink.create();
    // Records at whole minutes have no time.
    p.apply(
            read(source, location)
                .withPartitionDuration(Duration.ofMinutes(1))
                .withEndTime(Times.toInstant(T0 + 5 * MINUTE))
                .withTimestampFn(r -> (r.getKey() - T0) % MINUTE == 0 ? null : Times.toInstant(r.getKey()))
                .withDeadLetterSink(deadLetters))
        .apply(write(sink, location));
    PipelineResult result = p.run();
    result.waitUntilFinish();

    assertEquals(5, deadLetters.stored().size());
    for (BadRecord bad : deadLetters.stored().values()) {
      assertThat(bad.getFailure().getDescription(), containsString("withTimestampFn returned null"));
    }
    assertEquals(25, sink.stored().size());
    assertEquals(5L, counter(result, "badRows"));
    assertEquals(T0 + 5 * MINUTE, committed(location));
  }

  @Test
  public void aReadWithAProgressLocationAndOnlyAHandlerIsRejectedNamingTheLocation()
      throws Exception {
    Pipeline pipeline = Pipeline.create();
    String location = location();
    try (BadRecordErrorHandler<PDone> handler =
        pipeline.registerBadRecordErrorHandler(
            new PTransform<PCollection<BadRecord>, PDone>() {
              @Override
              public PDone expand(PCollection<BadRecord> input) {
                return PDone.in(input.getPipeline());
              }
            })) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  pipeline.apply(
                      read(everyTenSeconds(), location).withBadRecordErrorHandler(handler)));
      assertThat(e.getMessage(), containsString(location));
      assertThat(e.getMessage(), containsString("withDeadLetterSink"));
    }
  }

  @Test
  public void oneLocationBelongsToOneReadAndOneWrite() {
    String location = location();
    Pipeline pipeline = Pipeline.create();
    TestSink<KV<Long, Long>> sink = TestSink.create();

    IllegalArgumentException noRead =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                pipeline
                    .apply(read(everyTenSeconds(), location + ".other"))
                    .apply(write(sink, location)));
    assertThat(noRead.getMessage(), containsString("no TimeRangeIO.read()"));

    PCollection<KV<Long, Long>> records =
        pipeline.apply("Read", read(everyTenSeconds(), location));
    records.apply("Write", write(sink, location));
    IllegalArgumentException secondWrite =
        assertThrows(
            IllegalArgumentException.class, () -> records.apply("WriteAgain", write(sink, location)));
    assertThat(secondWrite.getMessage(), containsString(location));
    assertThat(secondWrite.getMessage(), containsString("another TimeRangeIO.write()"));

    IllegalArgumentException secondRead =
        assertThrows(
            IllegalArgumentException.class,
            () -> pipeline.apply("ReadAgain", read(everyTenSeconds(), location)));
    assertThat(secondRead.getMessage(), containsString("another TimeRangeIO.read()"));

    // The same location in another pipeline is that pipeline's business: its read registers
    // there, and its write is handed that read's chunk signals, not the first pipeline's.
    Pipeline other = Pipeline.create();
    other.apply("Read", read(everyTenSeconds(), location));
    PCollection<KV<Integer, TimeRange>> signals = ProgressLocations.claimForWrite(other, location);
    assertSame(other, signals.getPipeline());
    assertThat(
        assertThrows(
                IllegalArgumentException.class,
                () -> ProgressLocations.claimForWrite(other, location))
            .getMessage(),
        containsString("another TimeRangeIO.write()"));
  }

  @Test
  public void aWriteAfterACustomTriggerStillCommits() {
    String location = location();
    TestSource source = everyTenSeconds();
    TestSink<KV<Long, Long>> sink = TestSink.create();
    p.apply(
            read(source, location)
                .withPartitionDuration(Duration.ofMinutes(1))
                .withEndTime(Times.toInstant(T0 + 5 * MINUTE)))
        .apply(
            Window.<KV<Long, Long>>into(FixedWindows.of(org.joda.time.Duration.standardMinutes(1)))
                .triggering(
                    AfterWatermark.pastEndOfWindow()
                        .withEarlyFirings(AfterPane.elementCountAtLeast(2)))
                .withAllowedLateness(org.joda.time.Duration.ZERO)
                .accumulatingFiredPanes())
        .apply(write(sink, location));
    p.run().waitUntilFinish();

    assertEquals(byKey(source), sink.stored());
    assertEquals(T0 + 5 * MINUTE, committed(location));
  }

  @Test
  public void oneFileSpelledTwoWaysIsOneLocation() {
    String location = location();
    Pipeline pipeline = Pipeline.create();
    pipeline.apply("Read", read(everyTenSeconds(), location));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                pipeline.apply(
                    "ReadAgain", read(everyTenSeconds(), new java.io.File(location).toURI().toString())));
    assertThat(e.getMessage(), containsString("another TimeRangeIO.read()"));
  }
}
