package dev.timerangeio;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.ListCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.state.StateSpec;
import org.apache.beam.sdk.state.StateSpecs;
import org.apache.beam.sdk.state.TimeDomain;
import org.apache.beam.sdk.state.Timer;
import org.apache.beam.sdk.state.TimerSpec;
import org.apache.beam.sdk.state.TimerSpecs;
import org.apache.beam.sdk.state.ValueState;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.values.KV;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Commits the read position to the progress store once the sink holds every record queried below
 * it; internal to {@link TimeRangeIO.Write}.
 *
 * <p><b>What is committed.</b> A <i>query-time</i> position {@code P}: every record the source
 * returns for a range below {@code P} has been acknowledged by the sink or stored as a dead
 * letter, whatever its event time. A relaunch reads from {@code P}; the re-read of what lies
 * between {@code P} and the crash is absorbed by the sink's idempotency keys.
 *
 * <p><b>Inputs.</b> The read signals each chunk it has read, {@code KV(0, chunk)}, timestamped at
 * the latest record timestamp the chunk emitted ({@link ReadFn#progressTag}); the signals are
 * flattened with an (empty) output of {@link WriteFn}, so this step's input watermark is also the
 * watermark after the sink.
 *
 * <p><b>How.</b> Each signalled chunk has a "release" time: its signal's timestamp + 1 ms. When
 * the watermark after the sink reaches it, every record of the chunk has been acknowledged (a
 * record in flight holds the watermark at its timestamp, which is at most the signal's).
 * Signalled chunks are kept as runs of adjacent chunks, each run a staircase of steps {@code
 * (end, release)}: the release of a step is the latest of every chunk up to its end, so releases
 * rise along a run. An event-time timer waits for the first step of the run that starts at the
 * committed position; when it fires, that step is committed and the timer is set for the next
 * step, which fires at once if the watermark has passed it too (a timer fires at its own time, not
 * the watermark's, so each step is one firing and one file write; steps are few, see {@link
 * #MAX_STEPS}). A chunk whose records are stamped later than those of the chunks
 * after it (a clock ahead) only holds back the steps from its own chunk on. Steps beyond {@link #MAX_STEPS} per run are merged
 * (fewer, later commits; never an early one). Hence the position:
 *
 * <ul>
 *   <li>advances only through chunks the read finished, without a gap from the launch's start
 *       (which the read stored before reading): it never passes the end of a bounded read, nor the
 *       chunk a drain stopped at, to the microsecond;
 *   <li>waits for the latest event time a chunk emitted, not for its query time, so a record
 *       stamped later than it was queried (a clock ahead of the source's, within the range that
 *       was queried) holds it back;
 *   <li>never runs ahead of the sink: it may lag it by the chunks signalled since the timer was
 *       armed, which the next commit covers.
 * </ul>
 *
 * All signals share one key; the state is a few runs (about one per restriction reading in
 * parallel) of at most {@link #MAX_STEPS} steps, and the work per chunk a state read and write.
 */
class ProgressFn extends DoFn<KV<Integer, TimeRange>, Void> {
  private static final Logger LOG = LoggerFactory.getLogger(ProgressFn.class);

  /** The most steps a run keeps; more are merged, so state stays small in any backfill. */
  static final int MAX_STEPS = 64;

  private final String location;

  /** The committed position, in microseconds. */
  @StateId("committed")
  private final StateSpec<ValueState<Long>> committedSpec = StateSpecs.value(VarLongCoder.of());

  /** Runs of adjacent chunks read but not committed: {@code KV(from, steps (end, release))}. */
  @StateId("runs")
  private final StateSpec<ValueState<List<KV<Long, List<KV<Long, Long>>>>>> runsSpec =
      StateSpecs.value(
          ListCoder.of(
              KvCoder.of(
                  VarLongCoder.of(),
                  ListCoder.of(KvCoder.of(VarLongCoder.of(), VarLongCoder.of())))));

  @TimerId("commit")
  private final TimerSpec commitSpec = TimerSpecs.timer(TimeDomain.EVENT_TIME);

  ProgressFn(String location) {
    this.location = location;
  }

  @ProcessElement
  public void process(
      @Element KV<Integer, TimeRange> signal,
      @Timestamp Instant timestamp,
      @StateId("committed") ValueState<Long> committed,
      @StateId("runs") ValueState<List<KV<Long, List<KV<Long, Long>>>>> runsState,
      @TimerId("commit") Timer commit)
      throws Exception {
    long position = committed(committed);
    TimeRange chunk = signal.getValue();
    if (chunk.toMicros() <= position) {
      return; // Below the committed position (none is expected): it must not move it back.
    }
    Runs runs = new Runs(runsState.read());
    runs.add(
        TimeRange.of(Math.max(position, chunk.fromMicros()), chunk.toMicros()),
        timestamp.getMillis() + 1);
    runsState.write(runs.list);
    arm(runs, position, commit);
  }

  @OnTimer("commit")
  public void commit(
      OnTimerContext context,
      @StateId("committed") ValueState<Long> committed,
      @StateId("runs") ValueState<List<KV<Long, List<KV<Long, Long>>>>> runsState,
      @TimerId("commit") Timer commit)
      throws Exception {
    long position = committed(committed);
    Runs runs = new Runs(runsState.read());
    long target = runs.release(position, context.fireTimestamp().getMillis());
    if (target > position) {
      ProgressStore.write(location, ProgressOffset.ofTimestamp(target));
      committed.write(target);
      runsState.write(runs.list);
      LOG.debug("TimeRangeIO: committed progress {} to {}", Times.describe(target), location);
    }
    arm(runs, target, commit);
  }

  /** The committed position, or on the first call of a launch the start the read stored. */
  private long committed(ValueState<Long> committed) throws Exception {
    Long position = committed.read();
    if (position == null) {
      Optional<ProgressOffset> stored = ProgressStore.read(location);
      if (stored.isEmpty()) {
        throw new IllegalStateException(
            "TimeRangeIO progress location "
                + location
                + " holds no offset here, yet the read has signalled chunks. The read stores its"
                + " start there before it reads, so one of these holds: the location is not one"
                + " every worker sees (on a cluster use gs://, s3:// or a shared mount, not a"
                + " worker's local disk); the location was added to a running pipeline by an"
                + " update (it takes effect when the pipeline is launched anew); or the file was"
                + " removed while the pipeline runs. Nothing is committed until it is there.");
      }
      position = stored.get().timestampMicros();
      committed.write(position);
    }
    return position;
  }

  /** Waits for the first step of the run that starts at {@code position}, if there is one. */
  private static void arm(Runs runs, long position, Timer commit) {
    KV<Long, List<KV<Long, Long>>> first = runs.list.isEmpty() ? null : runs.list.get(0);
    if (first != null && first.getKey() == position) {
      // No output timestamp: nothing is emitted, and a timer behind the watermark fires at once.
      commit.withNoOutputTimestamp().set(new Instant(first.getValue().get(0).getValue()));
    }
  }

  /** The runs of read chunks, sorted and disjoint; package-private for its unit test. */
  static final class Runs {
    final List<KV<Long, List<KV<Long, Long>>>> list;

    Runs(@Nullable List<KV<Long, List<KV<Long, Long>>>> stored) {
      this.list = stored == null ? new ArrayList<>() : new ArrayList<>(stored);
    }

    /**
     * Adds a chunk read with the given release time, joining the runs it touches. A chunk that
     * overlaps runs (a signal replayed by an at-least-once runner) adds only what they don't
     * cover.
     */
    void add(TimeRange chunk, long release) {
      long from = chunk.fromMicros();
      for (KV<Long, List<KV<Long, Long>>> run : new ArrayList<>(list)) {
        long runFrom = run.getKey();
        long runTo = end(run);
        if (runTo <= from || runFrom >= chunk.toMicros()) {
          continue;
        }
        if (runFrom > from) {
          addDisjoint(TimeRange.of(from, runFrom), release);
        }
        from = Math.max(from, runTo);
        if (from >= chunk.toMicros()) {
          return;
        }
      }
      addDisjoint(TimeRange.of(from, chunk.toMicros()), release);
    }

    private void addDisjoint(TimeRange chunk, long release) {
      int i = 0;
      while (i < list.size() && end(list.get(i)) < chunk.fromMicros()) {
        i++;
      }
      long from = chunk.fromMicros();
      List<KV<Long, Long>> steps = new ArrayList<>();
      if (i < list.size() && end(list.get(i)) == chunk.fromMicros()) {
        KV<Long, List<KV<Long, Long>>> left = list.remove(i);
        from = left.getKey();
        steps.addAll(left.getValue());
      }
      append(steps, KV.of(chunk.toMicros(), release));
      if (i < list.size() && list.get(i).getKey() == chunk.toMicros()) {
        for (KV<Long, Long> step : list.remove(i).getValue()) {
          append(steps, step);
        }
      }
      while (steps.size() > MAX_STEPS) {
        // Drop a middle step: its chunks are committed with the next step, a little later.
        steps.remove(MAX_STEPS / 2);
      }
      list.add(i, KV.of(from, steps));
    }

    /**
     * Removes the steps of the run at {@code position} released by {@code watermarkMillis} and
     * returns the new position (the end of the last one), or {@code position} if none is.
     */
    long release(long position, long watermarkMillis) {
      if (list.isEmpty() || list.get(0).getKey() != position) {
        return position;
      }
      List<KV<Long, Long>> steps = new ArrayList<>(list.get(0).getValue());
      long target = position;
      while (!steps.isEmpty() && steps.get(0).getValue() <= watermarkMillis) {
        target = steps.remove(0).getKey();
      }
      list.remove(0);
      if (!steps.isEmpty()) {
        list.add(0, KV.of(target, steps));
      }
      return target;
    }

    private static long end(KV<Long, List<KV<Long, Long>>> run) {
      List<KV<Long, Long>> steps = run.getValue();
      return steps.get(steps.size() - 1).getKey();
    }

    /** Appends a step, keeping releases rising: one released no later than the last extends it. */
    private static void append(List<KV<Long, Long>> steps, KV<Long, Long> step) {
      if (!steps.isEmpty()) {
        KV<Long, Long> last = steps.get(steps.size() - 1);
        if (step.getValue() <= last.getValue()) {
          steps.set(steps.size() - 1, KV.of(step.getKey(), last.getValue()));
          return;
        }
      }
      steps.add(step);
    }
  }
}
