package dev.timerangeio;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;

import java.io.File;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.LongStream;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.Deduplicate;
import org.apache.beam.sdk.transforms.Distinct;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Filter;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.apache.beam.sdk.transforms.windowing.FixedWindows;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.TimestampCombiner;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * Whatever stands between the read and the write, the committed position never passes a record
 * the sink does not hold (DESIGN.md invariant 9): shapes that can't keep that promise are rejected
 * when the pipeline is run, before anything is read or committed; the supported ones write and
 * commit exactly.
 */
@RunWith(JUnit4.class)
public class CommitPathsTest {
  private static final long SECOND = 1_000_000L;
  private static final long T0 =
      Times.toMicros("t0", java.time.Instant.parse("2026-01-01T00:00:00Z"));
  private static final long END = T0 + 300 * SECOND;

  @Rule public final transient TestPipeline p = TestPipeline.create();
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  private String location() {
    return tmp.getRoot() + "/progress.json";
  }

  private static final TestSource SOURCE =
      TestSource.of(LongStream.range(0, 300).map(i -> T0 + i * SECOND + i % 7).toArray());

  private static TimeRangeIO.Read<KV<Long, Long>> read(String location) {
    return TimeRangeIO.<KV<Long, Long>>read()
        .withQuery(SOURCE)
        .withCoder(TestSource.CODER)
        .withStartTime(Times.toInstant(T0))
        .withEndTime(Times.toInstant(END))
        .withPartitionDuration(Duration.ofSeconds(10))
        .withTimestampFn(TestSource::timeOf)
        .withProgressLocation(location);
  }

  private static TimeRangeIO.Write<KV<Long, Long>> write(
      TestSink<KV<Long, Long>> sink, String location) {
    return TimeRangeIO.<KV<Long, Long>>write()
        .to(sink)
        .withKeyFn(KV::getValue)
        .withProgressLocation(location);
  }

  private void assertRejectedBeforeAnythingIsStored(String location, String... phrases) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, p::run);
    assertThat(e.getMessage(), containsString("withProgressLocation(" + location + ")"));
    for (String phrase : phrases) {
      assertThat(e.getMessage(), containsString(phrase));
    }
    assertFalse("nothing was stored at the location", new File(location).exists());
  }

  @Test
  public void aGroupingThatStampsGroupsAtTheEndOfTheirWindowIsRejectedBeforeAnythingIsCommitted() {
    String location = location();
    p.apply(read(location))
        .apply(Window.into(FixedWindows.of(org.joda.time.Duration.standardMinutes(1))))
        .apply(Distinct.create())
        .apply(write(TestSink.create(), location));

    assertRejectedBeforeAnythingIsStored(
        location, "Distinct", "TimestampCombiner.END_OF_WINDOW", "Supported between the read");
  }

  @Test
  public void aGroupingThatStampsGroupsAtTheirLatestRecordIsRejected() {
    String location = location();
    p.apply(read(location))
        .apply(
            Window.<KV<Long, Long>>into(new GlobalWindows())
                .withTimestampCombiner(TimestampCombiner.LATEST))
        .apply(GroupByKey.create())
        .apply(ParDo.of(new Ungroup()))
        .apply(write(TestSink.create(), location));

    assertRejectedBeforeAnythingIsStored(location, "GroupByKey", "at its latest record");
  }

  @Test
  public void anEarliestStampedGroupingInFixedWindowsIsRejectedBecauseItDropsLateRecords() {
    String location = location();
    p.apply(read(location))
        .apply(
            Window.<KV<Long, Long>>into(FixedWindows.of(org.joda.time.Duration.standardMinutes(1)))
                .withTimestampCombiner(TimestampCombiner.EARLIEST))
        .apply(GroupByKey.create())
        .apply(ParDo.of(new Ungroup()))
        .apply(write(TestSink.create(), location));

    assertRejectedBeforeAnythingIsStored(location, "GroupByKey", "drop records as late");
  }

  @Test
  public void aStatefulStepBetweenReadAndWriteIsRejected() {
    String location = location();
    p.apply(read(location))
        .apply(Deduplicate.values())
        .apply(write(TestSink.create(), location));

    assertRejectedBeforeAnythingIsStored(location, "Deduplicate", "state or timers");
  }

  @Test
  public void aStepThatReStampsRecordsIsRejected() {
    String location = location();
    p.apply(read(location))
        .apply(
            org.apache.beam.sdk.transforms.WithTimestamps.of(
                (KV<Long, Long> r) -> new org.joda.time.Instant(r.getKey() / 1_000 + 60_000)))
        .apply(write(TestSink.create(), location));

    assertRejectedBeforeAnythingIsStored(location, "WithTimestamps", "later than the read");
  }

  @Test
  public void aWriteOfRecordsTheReadDidNotProduceIsRejected() {
    String location = location();
    p.apply(read(location));
    p.apply(Create.of(KV.of(1L, T0)).withCoder(TestSource.CODER))
        .apply(write(TestSink.create(), location));

    assertRejectedBeforeAnythingIsStored(location, "does not come from the TimeRangeIO.read()");
  }

  @Test
  public void supportedStepsBetweenReadAndWriteWriteAndCommitExactly() {
    String location = location();
    TestSink<KV<Long, Long>> sink = TestSink.create();
    KV<Long, Long> extra = KV.of(T0 - SECOND, -1L);
    PCollection<KV<Long, Long>> fromRead =
        p.apply(read(location)).apply("KeepAll", Filter.by(r -> r.getKey() >= T0));
    PCollection<KV<Long, Long>> other = p.apply(Create.of(extra).withCoder(TestSource.CODER));
    PCollectionList.of(fromRead)
        .and(other)
        .apply(Flatten.pCollections())
        .apply("Minutes", Window.into(FixedWindows.of(org.joda.time.Duration.standardMinutes(1))))
        .apply(Reshuffle.viaRandomKey())
        .apply(
            "Same",
            MapElements.into(
                    TypeDescriptors.kvs(TypeDescriptors.longs(), TypeDescriptors.longs()))
                .via(r -> r))
        .setCoder(KvCoder.of(VarLongCoder.of(), VarLongCoder.of()))
        .apply(
            "Global",
            Window.<KV<Long, Long>>into(new GlobalWindows())
                .withTimestampCombiner(TimestampCombiner.EARLIEST))
        .apply(GroupByKey.create())
        .apply(ParDo.of(new Ungroup()))
        .apply(write(sink, location));

    p.run().waitUntilFinish();

    Map<String, KV<Long, Long>> expected = new HashMap<>();
    for (KV<Long, Long> r : SOURCE.records()) {
      expected.put(IdempotencyKeys.of(r.getValue()), r);
    }
    expected.put(IdempotencyKeys.of(extra.getValue()), extra);
    assertEquals(expected, sink.stored());
    assertEquals(
        java.util.Optional.of(ProgressOffset.ofTimestamp(END)), readOffset(location));
  }

  private static java.util.Optional<ProgressOffset> readOffset(String location) {
    try {
      return ProgressStore.read(location);
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Each grouped value back as a record. */
  private static final class Ungroup extends DoFn<KV<Long, Iterable<Long>>, KV<Long, Long>> {
    @ProcessElement
    public void process(@Element KV<Long, Iterable<Long>> group, OutputReceiver<KV<Long, Long>> out) {
      for (Long value : group.getValue()) {
        out.output(KV.of(group.getKey(), value));
      }
    }
  }
}
