package dev.timerangeio;

import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.state.StateSpec;
import org.apache.beam.sdk.state.StateSpecs;
import org.apache.beam.sdk.state.TimeDomain;
import org.apache.beam.sdk.state.Timer;
import org.apache.beam.sdk.state.TimerSpec;
import org.apache.beam.sdk.state.TimerSpecs;
import org.apache.beam.sdk.state.ValueState;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.windowing.GlobalWindow;
import org.apache.beam.sdk.values.KV;
import org.joda.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Commits the read position to the progress store once the sink holds every record before it;
 * internal to {@link TimeRangeIO.Write}.
 *
 * <p>Why the watermark: the read's watermark is a lower bound on the time of every record it has
 * not emitted yet, and a record in flight between read and sink holds the watermark at its
 * timestamp until {@link WriteFn} has had it acknowledged and its bundle is committed. So when the
 * watermark at this step reaches {@code T}, every record with a time before {@code T} is in the
 * sink, and {@code T} may be stored; it can lag the truth, never run ahead of it. A re-read from
 * {@code T} after a relaunch is absorbed by the sink's idempotency keys.
 *
 * <p>How: an event-time timer at {@code T} fires when the watermark reaches it and stores {@code
 * T}. Timers are armed from the per-bundle signals of {@link WriteFn} (the latest record
 * timestamp {@code m} of a bundle): at {@code m + 1 ms} when that is earlier than the armed time,
 * and after a firing at {@code T}, while later records exist (the latest at {@code L}), at {@code T
 * + max(minStep, (L + 1 ms - T) / 2)}: halfway to the latest record, so a backfill of months
 * commits a few dozen times per watermark step rather than once per millisecond, and a record
 * the sink is slow to take still sees commits close up to it. An idle source stops committing
 * (its re-read after a relaunch is of empty chunks). All signals share one key: the work per
 * bundle is a few state reads.
 */
class ProgressFn extends DoFn<KV<Integer, Long>, Void> {
  private static final Logger LOG = LoggerFactory.getLogger(ProgressFn.class);

  private final String location;
  private final long minStepMillis;

  @StateId("latest")
  private final StateSpec<ValueState<Long>> latestSpec = StateSpecs.value(VarLongCoder.of());

  @StateId("armed")
  private final StateSpec<ValueState<Long>> armedSpec = StateSpecs.value(VarLongCoder.of());

  @StateId("committed")
  private final StateSpec<ValueState<Long>> committedSpec = StateSpecs.value(VarLongCoder.of());

  @TimerId("commit")
  private final TimerSpec commitSpec = TimerSpecs.timer(TimeDomain.EVENT_TIME);

  ProgressFn(String location, java.time.Duration minStep) {
    this.location = location;
    this.minStepMillis = Math.max(1, minStep.toMillis());
  }

  @ProcessElement
  public void process(
      @Element KV<Integer, Long> signal,
      @StateId("latest") ValueState<Long> latest,
      @StateId("armed") ValueState<Long> armed,
      @TimerId("commit") Timer commit) {
    long m = signal.getValue();
    Long seen = latest.read();
    if (seen == null || m > seen) {
      latest.write(m);
    }
    Long armedAt = armed.read();
    if (armedAt == null || m + 1 < armedAt) {
      arm(m + 1, armed, commit);
    }
  }

  @OnTimer("commit")
  public void commit(
      @StateId("latest") ValueState<Long> latest,
      @StateId("armed") ValueState<Long> armed,
      @StateId("committed") ValueState<Long> committed,
      @TimerId("commit") Timer commit)
      throws Exception {
    long t = armed.read();
    armed.clear();
    Long previous = committed.read();
    // Only a record behind the watermark (late data) could arm a timer below a commit.
    if (previous == null || t > previous) {
      ProgressStore.write(location, ProgressOffset.ofTimestamp(t * Times.MICROS_PER_MILLI));
      committed.write(t);
      LOG.debug("TimeRangeIO: committed progress {} to {}", Times.describe(t * 1000), location);
    }
    long m = latest.read();
    if (m >= t) {
      arm(t + Math.max(minStepMillis, (m + 1 - t) / 2), armed, commit);
    }
  }

  private static void arm(long millis, ValueState<Long> armed, Timer commit) {
    if (millis <= GlobalWindow.INSTANCE.maxTimestamp().getMillis()) {
      armed.write(millis);
      commit.set(new Instant(millis));
    }
  }
}
