package dev.timerangeio;

import static dev.timerangeio.PipelineSupport.counter;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.Assert.assertEquals;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.CoderException;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.errorhandling.BadRecord;
import org.apache.beam.sdk.transforms.errorhandling.ErrorHandler.BadRecordErrorHandler;
import org.apache.beam.sdk.util.CoderUtils;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** Records failing their checks go to a Beam bad-record handler when one is configured. */
@RunWith(JUnit4.class)
public class DeadLetterTest {
  private static final long MINUTE = 60_000_000L;
  private static final long T0 = 1_714_521_600_000_000L; // 2024-05-01T00:00:00Z

  @Rule public final transient TestPipeline p = TestPipeline.create();

  /** Collects "id | reason" of each bad record into a static collection. */
  static final class CollectBadRecords
      extends PTransform<PCollection<BadRecord>, PCollection<Void>> {
    private final String id;

    CollectBadRecords(String id) {
      this.id = id;
    }

    @Override
    public PCollection<Void> expand(PCollection<BadRecord> input) {
      return input
          .apply(
              org.apache.beam.sdk.transforms.MapElements.into(
                      org.apache.beam.sdk.values.TypeDescriptors.strings())
                  .via(DeadLetterTest::describe))
          .apply(ParDo.of(new PipelineSupport.Collect<>(id)));
    }
  }

  static String describe(BadRecord bad) {
    try {
      KV<Long, Long> record =
          CoderUtils.decodeFromByteArray(TestSource.CODER, bad.getRecord().getEncodedRecord());
      return record.getValue() + " | " + bad.getFailure().getDescription();
    } catch (CoderException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Ids ending in 3 have no time; ids ending in 7 claim a time two hours after their chunk. */
  static Instant badlyTimed(KV<Long, Long> record) {
    long id = record.getValue();
    if (id % 10 == 3) {
      return null;
    }
    return Times.toInstant(record.getKey() + (id % 10 == 7 ? 120 * MINUTE : 0));
  }

  @Test
  public void badRecordsGoToTheHandlerWithTheirReasonAndTheRestIsRead() {
    long[] times = new long[100];
    for (int i = 0; i < times.length; i++) {
      times[i] = T0 + i * (MINUTE / 10);
    }
    TestSource source = TestSource.of(times);
    String bad = PipelineSupport.newCollection();
    PCollection<KV<Long, Long>> good;
    try (BadRecordErrorHandler<PCollection<Void>> handler =
        p.registerBadRecordErrorHandler(new CollectBadRecords(bad))) {
      good =
          p.apply(
              TimeRangeIO.<KV<Long, Long>>read()
                  .withQuery(source)
                  .withCoder(TestSource.CODER)
                  .withStartTime(Times.toInstant(T0))
                  .withEndTime(Times.toInstant(T0 + 10 * MINUTE))
                  .withPartitionDuration(Duration.ofMinutes(1))
                  .withIngestionLag(Duration.ZERO)
                  .withTimestampFn(DeadLetterTest::badlyTimed)
                  .withBadRecordErrorHandler(handler));
    }
    List<KV<Long, Long>> expected = new ArrayList<>();
    for (KV<Long, Long> r : source.records()) {
      if (r.getValue() % 10 != 3 && r.getValue() % 10 != 7) {
        expected.add(r);
      }
    }
    PAssert.that(good).containsInAnyOrder(expected);

    PipelineResult result = p.run();
    result.waitUntilFinish();

    List<String> reasons = PipelineSupport.collected(bad);
    assertEquals(20, reasons.size());
    assertEquals(10L, counter(result, "badRows"));
    assertEquals(10L, counter(result, "outOfRangeRows"));
    assertEquals(80L, counter(result, "rowsRead"));
    for (String reason : reasons) {
      long id = Long.parseLong(reason.substring(0, reason.indexOf(' ')));
      assertThat(
          reason,
          containsString(id % 10 == 3 ? "withTimestampFn returned null" : "lies outside its chunk"));
    }
  }
}
