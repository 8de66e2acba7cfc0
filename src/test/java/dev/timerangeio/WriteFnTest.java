package dev.timerangeio;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.errorhandling.BadRecord;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.transforms.windowing.GlobalWindow;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.TupleTag;
import org.joda.time.Instant;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** {@link WriteFn}'s methods called directly: batching by size and time, rejects, outputs. */
@RunWith(JUnit4.class)
public class WriteFnTest {
  private static final long SECOND = 1_000_000L;
  private static final Coder<BadRecord> BAD_RECORD_CODER = BadRecord.getCoder(Pipeline.create());
  private final TupleTag<BadRecord> failedTag = new TupleTag<>();
  private final TupleTag<KV<Integer, TimeRange>> progressTag = new TupleTag<>();
  private final TestClock clock = new TestClock(0);

  /** What a bundle emitted, by output. */
  private final List<String> written = new ArrayList<>();

  private final List<String> failed = new ArrayList<>();
  private final List<Object> signals = new ArrayList<>();

  /** The sizes of the lists of written keys emitted. */
  private final List<Integer> runSizes = new ArrayList<>();

  private WriteFn<String> fn(TestSink<String> sink, int batchSize, Duration maxDelay) {
    return fn(sink, batchSize, maxDelay, null, progressTag);
  }

  private WriteFn<String> fn(
      TestSink<String> sink,
      int batchSize,
      Duration maxDelay,
      TestSink<BadRecord> deadLetterSink,
      TupleTag<KV<Integer, TimeRange>> progress) {
    WriteFn<String> fn = unasked(sink, batchSize, maxDelay, deadLetterSink, progress);
    fn.emitWrittenKeys();
    return fn;
  }

  /** A WriteFn of a pipeline that never asked for the written keys. */
  private WriteFn<String> unasked(
      TestSink<String> sink,
      int batchSize,
      Duration maxDelay,
      TestSink<BadRecord> deadLetterSink,
      TupleTag<KV<Integer, TimeRange>> progress) {
    return new WriteFn<>(
        sink,
        StringUtf8Coder.of(),
        BAD_RECORD_CODER,
        batchSize,
        maxDelay,
        0,
        Duration.ofMillis(1),
        deadLetterSink,
        failedTag,
        progress,
        clock);
  }

  private void process(WriteFn<String> fn, String record, long timestampMillis) throws Exception {
    fn.process(
        KV.of(IdempotencyKeys.of(record), record),
        new Instant(timestampMillis),
        GlobalWindow.INSTANCE);
  }

  private void finish(WriteFn<String> fn) throws Exception {
    fn.finishBundle(
        fn.new FinishBundleContext() {
          @Override
          public PipelineOptions getPipelineOptions() {
            return PipelineOptionsFactory.create();
          }

          @Override
          public void output(List<String> keys, Instant timestamp, BoundedWindow window) {
            runSizes.add(keys.size());
            for (String key : keys) {
              written.add(key + "@" + timestamp.getMillis());
            }
          }

          @Override
          @SuppressWarnings("unchecked")
          public <T> void output(
              TupleTag<T> tag, T value, Instant timestamp, BoundedWindow window) {
            if (tag.equals(failedTag)) {
              failed.add(
                  ((BadRecord) value).getFailure().getDescription() + "@" + timestamp.getMillis());
            } else {
              signals.add(value);
            }
          }
        });
  }

  @Test
  public void aFullBatchIsWrittenAtOnceAndTheRestAtTheEndOfTheBundle() throws Exception {
    TestSink<String> sink = TestSink.create();
    WriteFn<String> fn = fn(sink, 3, Duration.ofHours(1));
    fn.startBundle();
    for (int i = 0; i < 7; i++) {
      process(fn, "r" + i, i);
    }
    assertEquals(List.of(3, 3), sink.batchSizes());
    assertEquals("nothing is emitted before the bundle ends", List.of(), written);

    finish(fn);

    assertEquals(List.of(3, 3, 1), sink.batchSizes());
    assertEquals(7, written.size());
    assertEquals(IdempotencyKeys.of("r6") + "@6", written.get(6));
    assertEquals("the progress output carries only the watermark", List.of(), signals);
  }

  @Test
  public void aBatchWhoseOldestRecordWaitedTheMaxDelayIsWritten() throws Exception {
    TestSink<String> sink = TestSink.create();
    WriteFn<String> fn = fn(sink, 1_000, Duration.ofSeconds(1));
    fn.startBundle();
    process(fn, "a", 0);
    clock.advance(SECOND / 2);
    process(fn, "b", 0);
    assertEquals(List.of(), sink.batchSizes());
    clock.advance(SECOND / 2);
    process(fn, "c", 0); // "a" has now waited one second
    assertEquals(List.of(3), sink.batchSizes());
    process(fn, "d", 0);
    finish(fn);
    assertEquals(List.of(3, 1), sink.batchSizes());
  }

  @Test
  public void rejectedRecordsAreIsolatedByHalvingAndTheOthersWrittenOnce() throws Exception {
    TestSink<String> sink = TestSink.<String>create().rejecting(r -> r.equals("r5"));
    WriteFn<String> fn = fn(sink, 8, Duration.ofHours(1), null, null);
    fn.startBundle();
    for (int i = 0; i < 8; i++) {
      process(fn, "r" + i, 100 + i);
    }
    finish(fn);

    // 8 → [0..3] ok, [4..7] rejected → [4,5] rejected → [4] ok, [5] rejected; [6,7] ok.
    assertEquals(List.of(8, 4, 4, 2, 1, 1, 2), sink.batchSizes());
    assertEquals(7, sink.stored().size());
    assertEquals(7, written.size());
    assertEquals(
        List.of(
            "TimeRangeIO.write(): the sink rejected the record with idempotency key "
                + IdempotencyKeys.of("r5")
                + "@105"),
        failed);
  }

  @Test
  public void withAProgressLocationARejectedRecordStoredNowhereFailsTheBundle() throws Exception {
    TestSink<String> sink = TestSink.<String>create().rejecting(r -> r.equals("r1"));
    WriteFn<String> fn = fn(sink, 8, Duration.ofHours(1));
    fn.startBundle();
    process(fn, "r0", 100);
    process(fn, "r1", 101);

    Exception e = assertThrows(Exception.class, () -> finish(fn));

    assertThat(e.getMessage(), containsString("withDeadLetterSink"));
    assertThat(e.getMessage(), containsString("is not welcome here"));
    assertEquals("nothing counts as written", List.of(), written);
  }

  @Test
  public void aRejectedRecordIsStoredInTheDeadLetterSinkBeforeTheBundleEnds() throws Exception {
    TestSink<String> sink = TestSink.<String>create().rejecting(r -> r.equals("r1"));
    TestSink<BadRecord> deadLetters = TestSink.create();
    WriteFn<String> fn = fn(sink, 8, Duration.ofHours(1), deadLetters, progressTag);
    fn.setup();
    fn.startBundle();
    process(fn, "r0", 100);
    process(fn, "r1", 101);
    finish(fn);

    assertEquals(Set.of(IdempotencyKeys.of("r1")), deadLetters.stored().keySet());
    BadRecord stored = deadLetters.stored().get(IdempotencyKeys.of("r1"));
    assertThat(stored.getFailure().getException(), containsString("is not welcome here"));
    assertEquals(1, failed.size());
    assertEquals(List.of(IdempotencyKeys.of("r0") + "@100"), written);
  }

  @Test
  public void withoutAProgressLocationARejectedRecordOnlyGoesToTheFailedOutput() throws Exception {
    TestSink<String> sink = TestSink.<String>create().rejecting(r -> r.equals("r1"));
    WriteFn<String> fn = fn(sink, 8, Duration.ofHours(1), null, null);
    fn.startBundle();
    process(fn, "r0", 100);
    process(fn, "r1", 101);
    finish(fn);

    assertEquals(1, failed.size());
    assertEquals(1, written.size());
  }

  @Test
  public void aTransientFailureWithoutRetriesLeftFailsTheBundleAndEmitsNothing() throws Exception {
    TestSink<String> sink = TestSink.<String>create().failingTransiently(1.0);
    WriteFn<String> fn = fn(sink, 10, Duration.ofHours(1));
    fn.startBundle();
    process(fn, "a", 0);
    Exception e = assertThrows(Exception.class, () -> finish(fn));
    assertThat(
        e.getMessage(), containsString("writing a batch of 1 records to the sink failed 1 times"));
    assertEquals(List.of(), written);
  }

  @Test
  public void anUnkeyableRecordIsEmittedAsItsFailedRecordAndNeverWritten() throws Exception {
    TestSink<String> sink = TestSink.create();
    WriteFn<String> fn = fn(sink, 8, Duration.ofHours(1), null, null);
    BadRecord bad =
        BadRecord.fromExceptionInformation(
            "nan", StringUtf8Coder.of(), new IllegalArgumentException("NaN"), "can't key: NaN");
    fn.startBundle();
    process(fn, "r0", 100);
    fn.process(
        KV.of(KeyFn.unkeyable(bad, BAD_RECORD_CODER), "nan"),
        new Instant(101),
        GlobalWindow.INSTANCE);
    finish(fn);

    assertEquals(Set.of(IdempotencyKeys.of("r0")), sink.stored().keySet());
    assertEquals(List.of(IdempotencyKeys.of("r0") + "@100"), written);
    assertEquals(List.of("can't key: NaN@101"), failed);
  }

  @Test
  public void writtenKeysKeepEachRecordsTimestampAndOrderWhenRecordsShareTimestamps()
      throws Exception {
    TestSink<String> sink = TestSink.create();
    WriteFn<String> fn = fn(sink, 2, Duration.ofHours(1), null, null);
    long[] timestamps = {5, 5, 5, 7, 5, 5};
    fn.startBundle();
    for (int i = 0; i < timestamps.length; i++) {
      process(fn, "r" + i, timestamps[i]);
    }
    finish(fn);

    List<String> expected = new ArrayList<>();
    for (int i = 0; i < timestamps.length; i++) {
      expected.add(IdempotencyKeys.of("r" + i) + "@" + timestamps[i]);
    }
    assertEquals(expected, written);
  }

  @Test
  public void writtenKeysNobodyAskedForAreNotEmittedButTheRecordsAreWritten() throws Exception {
    TestSink<String> sink = TestSink.create();
    WriteFn<String> fn = unasked(sink, 2, Duration.ofHours(1), null, null);
    fn.startBundle();
    for (int i = 0; i < 5; i++) {
      process(fn, "r" + i, i);
    }
    finish(fn);

    assertEquals(5, sink.stored().size());
    assertEquals(List.of(), written);
  }

  @Test
  public void aRunOfWrittenKeysHoldsAtMostABatch() throws Exception {
    TestSink<String> sink = TestSink.create();
    WriteFn<String> fn = fn(sink, 3, Duration.ofHours(1), null, null);
    fn.startBundle();
    for (int i = 0; i < 7; i++) {
      process(fn, "r" + i, 0);
    }
    finish(fn);

    assertEquals(List.of(3, 3, 1), runSizes);
  }
}
