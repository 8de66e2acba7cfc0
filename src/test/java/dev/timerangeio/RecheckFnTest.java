package dev.timerangeio;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.beam.runners.core.InMemoryStateInternals;
import org.apache.beam.runners.core.StateNamespaces;
import org.apache.beam.runners.core.StateTags;
import org.apache.beam.sdk.coders.BooleanCoder;
import org.apache.beam.sdk.state.ValueState;
import org.apache.beam.sdk.transforms.DoFn.MultiOutputReceiver;
import org.apache.beam.sdk.transforms.DoFn.OutputReceiver;
import org.apache.beam.sdk.transforms.windowing.GlobalWindow;
import org.apache.beam.sdk.transforms.windowing.PaneInfo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.OutputBuilder;
import org.apache.beam.sdk.values.Row;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.WindowedValues;
import org.joda.time.Instant;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The join of a read with a lookback, its methods called directly with real in-memory state: the
 * multiset difference, either arrival order, identical records, and a count that spares a re-read.
 */
@RunWith(JUnit4.class)
public class RecheckFnTest {
  private static final long T0 = LateData.T0;
  private static final TimeRange CHUNK = TimeRange.of(T0, T0 + LateData.CHUNK);

  private final InMemoryStateInternals<Long> state = InMemoryStateInternals.forKey(T0);
  private final ValueState<ChunkNote> firstRead =
      state.state(StateNamespaces.global(), StateTags.value("firstRead", ChunkNote.Coder.of()));
  private final ValueState<Boolean> due =
      state.state(StateNamespaces.global(), StateTags.value("due", BooleanCoder.of()));

  /** A source answering a fixed list, identical records included; it counts if told to. */
  private static final class FixedSource implements TimeRangeQuery<KV<Long, Long>> {
    final List<KV<Long, Long>> records;
    final boolean counts;
    int queries;

    FixedSource(boolean counts, List<KV<Long, Long>> records) {
      this.records = records;
      this.counts = counts;
    }

    @Override
    public Iterable<KV<Long, Long>> query(TimeRange range) {
      queries++;
      return new ArrayList<>(records);
    }

    @Override
    public boolean supportsCount() {
      return counts;
    }

    @Override
    public long count(TimeRange range) {
      return records.size();
    }
  }

  /** Collects each tag's output with timestamps. */
  private static final class Outputs implements MultiOutputReceiver {
    final java.util.Map<TupleTag<?>, List<KV<Object, Instant>>> byTag = new java.util.HashMap<>();

    @SuppressWarnings("unchecked")
    <X> List<X> values(TupleTag<X> tag) {
      List<X> values = new ArrayList<>();
      for (KV<Object, Instant> kv : byTag.getOrDefault(tag, List.of())) {
        values.add((X) kv.getKey());
      }
      return values;
    }

    List<Instant> timestamps(TupleTag<?> tag) {
      List<Instant> out = new ArrayList<>();
      byTag.getOrDefault(tag, List.of()).forEach(kv -> out.add(kv.getValue()));
      return out;
    }

    @Override
    public <X> OutputReceiver<X> get(TupleTag<X> tag) {
      return new OutputReceiver<X>() {
        @Override
        public OutputBuilder<X> builder(X value) {
          return WindowedValues.<X>builder()
              .setValue(value)
              .setWindow(GlobalWindow.INSTANCE)
              .setPaneInfo(PaneInfo.NO_FIRING)
              .setReceiver(
                  w ->
                      byTag
                          .computeIfAbsent(tag, t -> new ArrayList<>())
                          .add(KV.of(w.getValue(), w.getTimestamp())));
        }
      };
    }

    @Override
    public <X> OutputReceiver<Row> getRowReceiver(TupleTag<X> tag) {
      throw new UnsupportedOperationException();
    }
  }

  private static KV<Long, Long> rec(long offsetMicros, long id) {
    return KV.of(T0 + offsetMicros, id);
  }

  private static RecheckFn<KV<Long, Long>> fn(FixedSource source) {
    TimeRangeIO.Read<KV<Long, Long>> read =
        TimeRangeIO.<KV<Long, Long>>read()
            .withQuery(source)
            .withCoder(TestSource.CODER)
            .withTimestampFn(TestSource::timeOf)
            .withLookback(Duration.ofMinutes(2))
            .withProgressLocation("/tmp/unused-by-this-test.json");
    return new RecheckFn<>(read, TestSource.CODER, "recheck-test");
  }

  private static ChunkNote firstReadOf(List<KV<Long, Long>> records, long latestMillis)
      throws Exception {
    Fingerprints prints = new Fingerprints();
    for (KV<Long, Long> r : records) {
      prints.add(Fingerprints.of(r, TestSource.CODER));
    }
    return ChunkNote.firstRead(CHUNK, prints, latestMillis);
  }

  private void deliver(RecheckFn<KV<Long, Long>> fn, ChunkNote note, Outputs out)
      throws Exception {
    fn.process(KV.of(T0, note), firstRead, due, out);
  }

  @Test
  public void emitsWhatTheFirstReadDidNotReturnWhenTheSummaryComesFirst() throws Exception {
    List<KV<Long, Long>> all = Arrays.asList(rec(1, 0), rec(5, 1), rec(30_000, 2));
    FixedSource source = new FixedSource(false, all);
    RecheckFn<KV<Long, Long>> fn = fn(source);
    Outputs out = new Outputs();

    deliver(fn, firstReadOf(all.subList(0, 2), T0 / 1000), out);
    assertEquals("nothing before the chunk is due", 0, source.queries);
    deliver(fn, ChunkNote.due(CHUNK), out);

    assertEquals(List.of(rec(30_000, 2)), out.values(fn.recordsTag));
    assertEquals(List.of(KV.of(0, CHUNK)), out.values(fn.progressTag));
    // The signal waits for the late record's timestamp, the latest the chunk emitted.
    assertEquals(List.of(new Instant((T0 + 30_000) / 1000)), out.timestamps(fn.progressTag));
    assertNull("the state is cleared", firstRead.read());
    assertNull(due.read());
  }

  @Test
  public void emitsTheSameWhenTheChunkIsDueBeforeTheSummaryArrives() throws Exception {
    List<KV<Long, Long>> all = Arrays.asList(rec(1, 0), rec(5, 1), rec(30_000, 2));
    FixedSource source = new FixedSource(false, all);
    RecheckFn<KV<Long, Long>> fn = fn(source);
    Outputs out = new Outputs();

    deliver(fn, ChunkNote.due(CHUNK), out);
    assertEquals(0, source.queries);
    deliver(fn, firstReadOf(List.of(rec(5, 1), rec(30_000, 2)), T0 / 1000), out);

    assertEquals(List.of(rec(1, 0)), out.values(fn.recordsTag));
    assertEquals(List.of(KV.of(0, CHUNK)), out.values(fn.progressTag));
  }

  @Test
  public void identicalRecordsKeepTheirMultiplicity() throws Exception {
    KV<Long, Long> same = rec(7, 9);
    FixedSource source = new FixedSource(false, Arrays.asList(same, same, same, rec(8, 1)));
    RecheckFn<KV<Long, Long>> fn = fn(source);
    Outputs out = new Outputs();

    deliver(fn, firstReadOf(List.of(same, rec(8, 1)), T0 / 1000), out);
    deliver(fn, ChunkNote.due(CHUNK), out);

    assertEquals("two more copies than the first read had", List.of(same, same), out.values(fn.recordsTag));
  }

  @Test
  public void anUnchangedCountSparesTheReread() throws Exception {
    List<KV<Long, Long>> all = Arrays.asList(rec(1, 0), rec(5, 1));
    FixedSource source = new FixedSource(true, all);
    RecheckFn<KV<Long, Long>> fn = fn(source);
    Outputs out = new Outputs();

    deliver(fn, firstReadOf(all, (T0 + 5) / 1000), out);
    deliver(fn, ChunkNote.due(CHUNK), out);

    assertEquals(0, source.queries);
    assertEquals(List.of(), out.values(fn.recordsTag));
    assertEquals(List.of(KV.of(0, CHUNK)), out.values(fn.progressTag));
    assertEquals(List.of(new Instant((T0 + 5) / 1000)), out.timestamps(fn.progressTag));
  }

  @Test
  public void aChangedCountRereadsAndEmitsTheDifference() throws Exception {
    List<KV<Long, Long>> all = Arrays.asList(rec(1, 0), rec(5, 1), rec(6, 2));
    FixedSource source = new FixedSource(true, all);
    RecheckFn<KV<Long, Long>> fn = fn(source);
    Outputs out = new Outputs();

    deliver(fn, firstReadOf(all.subList(0, 1), T0 / 1000), out);
    deliver(fn, ChunkNote.due(CHUNK), out);

    assertEquals(1, source.queries);
    assertEquals(List.of(rec(5, 1), rec(6, 2)), out.values(fn.recordsTag));
  }

  /**
   * The count's blind spot (README, Late data): a chunk that lost one record and gained a late one
   * keeps its count, so a source that counts is not re-read and the late record is not emitted.
   * Pinned so that a stronger check (a checksum) flips it knowingly.
   */
  @Test
  public void aCountingSourceMissesALateRecordThatReplacesADeletedOne() throws Exception {
    KV<Long, Long> kept = rec(1, 0);
    KV<Long, Long> deleted = rec(5, 1);
    KV<Long, Long> late = rec(6, 2);
    FixedSource source = new FixedSource(true, Arrays.asList(kept, late));
    RecheckFn<KV<Long, Long>> fn = fn(source);
    Outputs out = new Outputs();

    deliver(fn, firstReadOf(List.of(kept, deleted), T0 / 1000), out);
    deliver(fn, ChunkNote.due(CHUNK), out);

    assertEquals("the equal count spares the re-read", 0, source.queries);
    assertEquals("so the late record is lost", List.of(), out.values(fn.recordsTag));
    assertEquals(List.of(KV.of(0, CHUNK)), out.values(fn.progressTag));
  }

  /** Without a count (the README's way out of the blind spot) the re-read finds the late record. */
  @Test
  public void withoutACountTheRereadFindsALateRecordThatReplacesADeletedOne() throws Exception {
    KV<Long, Long> kept = rec(1, 0);
    KV<Long, Long> late = rec(6, 2);
    FixedSource source = new FixedSource(false, Arrays.asList(kept, late));
    RecheckFn<KV<Long, Long>> fn = fn(source);
    Outputs out = new Outputs();

    deliver(fn, firstReadOf(List.of(kept, rec(5, 1)), T0 / 1000), out);
    deliver(fn, ChunkNote.due(CHUNK), out);

    assertEquals(1, source.queries);
    assertEquals(List.of(late), out.values(fn.recordsTag));
    assertEquals(List.of(KV.of(0, CHUNK)), out.values(fn.progressTag));
  }
}
