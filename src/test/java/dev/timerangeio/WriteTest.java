package dev.timerangeio;

import static dev.timerangeio.PipelineSupport.counter;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.apache.beam.sdk.Pipeline.PipelineExecutionException;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.CoderException;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.testing.TestStream;
import org.apache.beam.sdk.transforms.Count;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.errorhandling.BadRecord;
import org.apache.beam.sdk.transforms.windowing.FixedWindows;
import org.apache.beam.sdk.transforms.windowing.IntervalWindow;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.util.CoderUtils;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TimestampedValue;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.joda.time.Instant;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** Whole-pipeline tests of {@link TimeRangeIO#write()} into an in-memory sink. */
@RunWith(JUnit4.class)
public class WriteTest {
  @Rule public final transient TestPipeline p = TestPipeline.create();

  /** Records {@code KV(id, payload)}; the id identifies a record. */
  private static final KvCoder<Long, String> CODER =
      KvCoder.of(VarLongCoder.of(), StringUtf8Coder.of());

  private static TimeRangeIO.Write<KV<Long, String>> writeById(TestSink<KV<Long, String>> sink) {
    return TimeRangeIO.<KV<Long, String>>write()
        .to(sink)
        .withKeyFn(KV::getKey)
        .withInitialBackoff(Duration.ofMillis(1));
  }

  private static List<KV<Long, String>> records(int n) {
    return LongStream.range(0, n).mapToObj(i -> KV.of(i, "payload-" + i)).collect(Collectors.toList());
  }

  private static Map<String, KV<Long, String>> byKey(List<KV<Long, String>> records) {
    Map<String, KV<Long, String>> expected = new HashMap<>();
    for (KV<Long, String> r : records) {
      expected.put(IdempotencyKeys.of(r.getKey()), r);
    }
    return expected;
  }

  @Test
  public void duplicatesAcrossBundlesAndWindowsAreWrittenOnceAndCounted() {
    TestSink<KV<Long, String>> sink = TestSink.create();
    List<KV<Long, String>> records = records(50);
    // Every record five times: in different bundles, and at timestamps in different windows.
    TestStream.Builder<KV<Long, String>> stream = TestStream.create(CODER);
    for (int copy = 0; copy < 5; copy++) {
      List<TimestampedValue<KV<Long, String>>> bundle = new ArrayList<>();
      for (KV<Long, String> r : records) {
        bundle.add(TimestampedValue.of(r, new Instant(copy * 60_000L + r.getKey())));
      }
      stream = stream.addElements(bundle.get(0), bundle.subList(1, bundle.size()).toArray(new TimestampedValue[0]));
    }
    PCollection<String> written =
        p.apply(stream.advanceWatermarkToInfinity())
            .apply(Window.into(FixedWindows.of(org.joda.time.Duration.standardMinutes(1))))
            .apply(writeById(sink))
            .getWrittenKeys();
    PAssert.that(written).containsInAnyOrder(byKey(records).keySet());

    PipelineResult result = p.run();
    result.waitUntilFinish();

    assertEquals(byKey(records), sink.stored());
    assertEquals("the sink saw no duplicate", 0, sink.keysSkipped());
    assertEquals(200L, counter(result, "duplicatesDropped"));
    assertEquals(50L, counter(result, "rowsWritten"));
  }

  @Test
  public void transientFailuresAreRetriedAndEveryRecordIsWrittenOnce() {
    TestSink<KV<Long, String>> sink = TestSink.<KV<Long, String>>create().failingTransiently(0.3);
    List<KV<Long, String>> records = records(5_000);
    p.apply(Create.of(records).withCoder(CODER)).apply(writeById(sink).withBatchSize(50));

    PipelineResult result = p.run();
    result.waitUntilFinish();

    assertEquals(byKey(records), sink.stored());
    assertThat(sink.transientFailures(), greaterThan(0L));
    assertEquals(sink.transientFailures(), counter(result, "writeRetries"));
    assertEquals(5_000L, counter(result, "rowsWritten"));
  }

  @Test
  public void rejectedRecordsGoToTheFailedOutputAndTheRestAreWritten() {
    TestSink<KV<Long, String>> sink =
        TestSink.<KV<Long, String>>create().rejecting(r -> r.getKey() % 97 == 0);
    List<KV<Long, String>> records = records(1_000);
    TimeRangeIO.Write.Result result =
        p.apply(Create.of(records).withCoder(CODER)).apply(writeById(sink).withBatchSize(100));
    PCollection<String> rejectedIds =
        result
            .getFailedRecords()
            .apply(
                MapElements.into(TypeDescriptors.strings())
                    .via(
                        (BadRecord b) ->
                            decode(b.getRecord().getEncodedRecord())
                                + " | "
                                + b.getFailure().getDescription()
                                + " | "
                                + b.getFailure().getException()));
    List<String> expectedRejections = new ArrayList<>();
    Map<String, KV<Long, String>> expectedStored = new HashMap<>();
    for (KV<Long, String> r : records) {
      String key = IdempotencyKeys.of(r.getKey());
      if (r.getKey() % 97 == 0) {
        expectedRejections.add(
            "KV{" + r.getKey() + ", " + r.getValue() + "} | TimeRangeIO.write(): the sink rejected"
                + " the record with idempotency key " + key + " | dev.timerangeio.RejectedRecordException:"
                + " record KV{" + r.getKey() + ", " + r.getValue() + "} is not welcome here");
      } else {
        expectedStored.put(key, r);
      }
    }
    PAssert.that(rejectedIds).containsInAnyOrder(expectedRejections);
    PAssert.that(result.getWrittenKeys().apply(Count.globally()))
        .containsInAnyOrder((long) expectedStored.size());

    PipelineResult run = p.run();
    run.waitUntilFinish();

    assertEquals(expectedStored, sink.stored());
    assertEquals((long) expectedStored.size(), counter(run, "rowsWritten"));
    assertEquals(0L, counter(run, "writeRetries"));
  }

  /** A key function some records can't be keyed by: null for ids ≡ 1 (mod 10), NaN for 2. */
  private static Object awkwardKey(KV<Long, String> r) {
    long digit = r.getKey() % 10;
    return digit == 1 ? null : digit == 2 ? Double.NaN : r.getKey();
  }

  @Test
  public void recordsThatCantBeKeyedGoToTheFailedRecordsNeverShareAKey() {
    TestSink<KV<Long, String>> sink = TestSink.create();
    List<KV<Long, String>> records = records(100);
    TimeRangeIO.Write.Result result =
        p.apply(Create.of(records).withCoder(CODER))
            .apply(
                TimeRangeIO.<KV<Long, String>>write()
                    .to(sink)
                    .withKeyFn(WriteTest::awkwardKey));
    PCollection<String> failed =
        result
            .getFailedRecords()
            .apply(
                MapElements.into(TypeDescriptors.strings())
                    .via(
                        (BadRecord b) ->
                            decode(b.getRecord().getEncodedRecord()).getKey()
                                + (b.getFailure().getDescription().contains("returned null")
                                    ? " null"
                                    : b.getFailure().getDescription().contains("NaN") ? " NaN" : " ?")));
    List<String> expectedFailed = new ArrayList<>();
    Map<String, KV<Long, String>> expectedStored = new HashMap<>();
    for (KV<Long, String> r : records) {
      long digit = r.getKey() % 10;
      if (digit == 1 || digit == 2) {
        expectedFailed.add(r.getKey() + (digit == 1 ? " null" : " NaN"));
      } else {
        expectedStored.put(IdempotencyKeys.of(r.getKey()), r);
      }
    }
    PAssert.that(failed).containsInAnyOrder(expectedFailed);

    PipelineResult run = p.run();
    run.waitUntilFinish();

    assertEquals(expectedStored, sink.stored());
    assertEquals(20L, counter(run, "unkeyableRecords"));
  }

  private static KV<Long, String> decode(byte[] encoded) {
    try {
      return CoderUtils.decodeFromByteArray(CODER, encoded);
    } catch (CoderException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  public void exhaustedRetriesFailThePipelineWithTheSinkError() {
    TestSink<KV<Long, String>> sink = TestSink.<KV<Long, String>>create().failingTransiently(1.0);
    p.apply(Create.of(records(3)).withCoder(CODER)).apply(writeById(sink).withMaxRetries(2));

    PipelineExecutionException e = assertThrows(PipelineExecutionException.class, p::run);

    assertThat(e.getMessage(), containsString("to the sink failed"));
    assertThat(e.getMessage(), containsString("3 times"));
    assertThat(e.getMessage(), containsString("injected transient failure"));
  }

  @Test
  public void keyFnAndSourceIdentityDecideTheKey() {
    TestSink<KV<Long, String>> sink = TestSink.create();
    // Same id, different payloads: one record as far as the key function is concerned.
    p.apply(Create.of(KV.of(7L, "first"), KV.of(7L, "second"), KV.of(8L, "x")).withCoder(CODER))
        .apply(writeById(sink).withSourceIdentity("orders-db"));

    p.run().waitUntilFinish();

    Map<String, KV<Long, String>> stored = sink.stored();
    assertEquals(2, stored.size());
    assertEquals(7L, (long) stored.get(IdempotencyKeys.of("orders-db", 7L)).getKey());
    assertEquals(KV.of(8L, "x"), stored.get(IdempotencyKeys.of("orders-db", 8L)));
  }

  @Test
  public void withoutKeyFnTheWholeRecordIsTheKey() {
    TestSink<KV<Long, String>> sink = TestSink.create();
    p.apply(Create.of(KV.of(7L, "first"), KV.of(7L, "second"), KV.of(7L, "first")).withCoder(CODER))
        .apply(TimeRangeIO.<KV<Long, String>>write().to(sink));

    p.run().waitUntilFinish();

    assertEquals(
        Map.of(
            IdempotencyKeys.of(KV.of(7L, "first")), KV.of(7L, "first"),
            IdempotencyKeys.of(KV.of(7L, "second")), KV.of(7L, "second")),
        sink.stored());
  }

  @Test
  public void aKeyIsRememberedForTheTtlThenForgottenAndTheSinkAbsorbsTheLateDuplicate() {
    TestSink<KV<Long, String>> sink = TestSink.create();
    org.joda.time.Duration halfMinute = org.joda.time.Duration.standardSeconds(30);
    TestStream<KV<Long, String>> stream =
        TestStream.create(CODER)
            .addElements(KV.of(1L, "a"))
            .advanceProcessingTime(halfMinute)
            .addElements(KV.of(1L, "a")) // 30 s: remembered
            .advanceProcessingTime(halfMinute)
            .addElements(KV.of(1L, "a")) // 60 s = the TTL: still remembered
            .advanceProcessingTime(halfMinute)
            .advanceProcessingTime(org.joda.time.Duration.standardSeconds(10))
            .addElements(KV.of(1L, "a")) // 100 s, past 1.5 x TTL: forgotten
            .advanceWatermarkToInfinity();
    p.apply(stream).apply(writeById(sink).withDedupTtl(Duration.ofMinutes(1)));

    PipelineResult result = p.run();
    result.waitUntilFinish();

    assertEquals(2L, counter(result, "duplicatesDropped"));
    // The forgotten key is passed on again, and the sink skips it.
    assertEquals(2L, counter(result, "rowsWritten"));
    assertEquals(1L, sink.keysSkipped());
    assertEquals(Map.of(IdempotencyKeys.of(1L), KV.of(1L, "a")), sink.stored());
  }

  @Test
  public void keysWaitingToExpireDoNotHoldTheWatermark() {
    TestSink<KV<Long, String>> sink = TestSink.create();
    IntervalWindow first = new IntervalWindow(new Instant(0), new Instant(10_000));
    // Written at 1 s; the watermark then passes the window while the key's hour-long TTL runs.
    // A record for the same window after that is late: with a watermark hold at 1 s it would not
    // be, and would land in the window's on-time pane.
    TestStream<KV<Long, String>> stream =
        TestStream.create(CODER)
            .addElements(TimestampedValue.of(KV.of(1L, "a"), new Instant(1_000)))
            .advanceWatermarkTo(new Instant(60_000))
            .addElements(TimestampedValue.of(KV.of(2L, "late"), new Instant(5_000)))
            .advanceWatermarkToInfinity();
    PCollection<String> written =
        p.apply(stream)
            .apply(writeById(sink).withDedupTtl(Duration.ofHours(1)))
            .getWrittenKeys()
            .apply(Window.into(FixedWindows.of(org.joda.time.Duration.standardSeconds(10))));
    PAssert.that(written.apply(Count.perElement()))
        .inOnTimePane(first)
        .containsInAnyOrder(KV.of(IdempotencyKeys.of(1L), 1L));

    p.run().waitUntilFinish();
  }
}
