package dev.timerangeio;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.apache.beam.runners.core.InMemoryStateInternals;
import org.apache.beam.runners.core.StateNamespaces;
import org.apache.beam.runners.core.StateTags;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.coders.BooleanCoder;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.state.MapState;
import org.apache.beam.sdk.state.Timer;
import org.apache.beam.sdk.state.ValueState;
import org.apache.beam.sdk.transforms.DoFn.OutputReceiver;
import org.apache.beam.sdk.transforms.errorhandling.BadRecord;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.OutputBuilder;
import org.joda.time.Duration;
import org.joda.time.Instant;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The dedup step's expiry, its methods called directly with real in-memory state and a
 * processing-time timer driven by a hand clock, as a runner would after a restore.
 */
@RunWith(JUnit4.class)
public class DedupFnTest {
  private static final long MINUTE = 60_000L;

  private final InMemoryStateInternals<String> state = InMemoryStateInternals.forKey("shard");
  private final MapState<String, Long> seen =
      state.state(
          StateNamespaces.global(), StateTags.map("seen", StringUtf8Coder.of(), VarLongCoder.of()));
  private final ValueState<Boolean> ticking =
      state.state(StateNamespaces.global(), StateTags.value("ticking", BooleanCoder.of()));

  private long now;

  /** A processing-time timer: due at an absolute time, or an offset from the current time. */
  private final class ClockTimer implements Timer {
    Long due;
    private Duration offset = Duration.ZERO;

    @Override
    public void set(Instant time) {
      due = time.getMillis();
    }

    @Override
    public void setRelative() {
      due = now + offset.getMillis();
    }

    @Override
    public void clear() {
      due = null;
    }

    @Override
    public Timer offset(Duration offset) {
      this.offset = offset;
      return this;
    }

    @Override
    public Timer align(Duration period) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Timer withOutputTimestamp(Instant outputTime) {
      return this;
    }

    @Override
    public Timer withNoOutputTimestamp() {
      return this;
    }

    @Override
    public Instant getCurrentRelativeTime() {
      return new Instant(now);
    }
  }

  private final ClockTimer expiry = new ClockTimer();
  private final DedupFn<String> fn = new DedupFn<>(java.time.Duration.ofMinutes(10));
  private final List<String> passed = new ArrayList<>();

  private final OutputReceiver<KV<String, String>> out =
      new OutputReceiver<KV<String, String>>() {
        @Override
        public OutputBuilder<KV<String, String>> builder(KV<String, String> value) {
          return org.apache.beam.sdk.values.WindowedValues.<KV<String, String>>builder()
              .setValue(value)
              .setWindow(org.apache.beam.sdk.transforms.windowing.GlobalWindow.INSTANCE)
              .setPaneInfo(org.apache.beam.sdk.transforms.windowing.PaneInfo.NO_FIRING)
              .setTimestamp(new Instant(0))
              .setReceiver(windowed -> passed.add(windowed.getValue().getKey()));
        }
      };

  private void record(String key) {
    fn.process(KV.of(0, KV.of(key, "r")), seen, ticking, expiry, out);
  }

  /** Fires the timer if it is due, once: a runner interleaves firings with elements. */
  private boolean fireOnceIfDue() {
    if (expiry.due != null && expiry.due <= now) {
      expiry.due = null;
      fn.expire(seen, ticking, expiry);
      return true;
    }
    return false;
  }

  @Test
  public void afterARestoreAKeySeenAMomentAgoIsRememberedForTheTtl() {
    record("a");
    // A restore an hour later: the tick due at 5 min is long overdue.
    now = 60 * MINUTE;
    assertTrue(fireOnceIfDue());
    record("b");
    // The runner goes on firing whatever is due, now and over the next minutes.
    for (; now < 70 * MINUTE; now += 1_000) {
      while (fireOnceIfDue()) {}
      if (now == 69 * MINUTE) {
        record("b");
      }
    }
    assertEquals(
        "b was remembered for 9 minutes after it was first seen, so its copy was dropped",
        List.of("a", "b"),
        passed);
  }

  @Test
  public void aKeyCountsForExactlyTheTtlAndIsSweptWithinOneAndAHalf() {
    record("a");
    for (; now <= 10 * MINUTE; now += 1_000) {
      while (fireOnceIfDue()) {}
    }
    now = 10 * MINUTE;
    record("a"); // at the TTL: a duplicate
    now = 10 * MINUTE + 1;
    record("a"); // past it: passed on again, seen anew
    assertEquals(List.of("a", "a"), passed);
    for (; now <= 26 * MINUTE; now += 1_000) {
      while (fireOnceIfDue()) {}
    }
    assertTrue("swept", seen.isEmpty().read());
    assertEquals("the sweeps stopped", null, expiry.due);
  }

  @Test
  public void unkeyableRecordsAreNeverDroppedAsDuplicatesNorRemembered() throws Exception {
    Coder<BadRecord> coder = BadRecord.getCoder(Pipeline.create());
    String unkeyable =
        KeyFn.unkeyable(
            BadRecord.fromExceptionInformation(
                "r", StringUtf8Coder.of(), new IllegalArgumentException("NaN"), "can't key"),
            coder);
    record(unkeyable);
    record(unkeyable);
    assertEquals(List.of(unkeyable, unkeyable), passed);
    assertTrue("nothing remembered", expiry.due == null);
  }
}
