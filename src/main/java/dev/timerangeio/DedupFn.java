package dev.timerangeio;

import org.apache.beam.sdk.coders.BooleanCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.state.StateSpec;
import org.apache.beam.sdk.state.StateSpecs;
import org.apache.beam.sdk.state.TimeDomain;
import org.apache.beam.sdk.state.Timer;
import org.apache.beam.sdk.state.TimerSpec;
import org.apache.beam.sdk.state.TimerSpecs;
import org.apache.beam.sdk.state.ValueState;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.values.KV;
import org.joda.time.Duration;

/**
 * Drops records whose idempotency key it has seen within the TTL; internal to {@link
 * TimeRangeIO.Write}.
 *
 * <p>Keyed on the idempotency key, so Beam keeps one flag per key. The first record of a key is
 * passed on and arms a processing-time timer {@code ttl} ahead that clears the flag: state stays
 * bounded by the keys seen within one TTL. The timer has no output timestamp, so a key waiting to
 * expire does not hold the watermark back (a TTL of hours would otherwise stall every window and
 * the progress commit downstream). A duplicate arriving after the TTL is passed on again and
 * absorbed by the sink, which skips keys it holds.
 */
class DedupFn<T> extends DoFn<KV<String, T>, KV<String, T>> {
  private final Duration ttl;
  private final Counter duplicatesDropped =
      Metrics.counter(ReadFn.METRICS_NAMESPACE, "duplicatesDropped");

  @StateId("seen")
  private final StateSpec<ValueState<Boolean>> seenSpec = StateSpecs.value(BooleanCoder.of());

  @TimerId("expiry")
  private final TimerSpec expirySpec = TimerSpecs.timer(TimeDomain.PROCESSING_TIME);

  DedupFn(java.time.Duration ttl) {
    this.ttl = Duration.millis(ttl.toMillis());
  }

  @ProcessElement
  public void process(
      @Element KV<String, T> element,
      @StateId("seen") ValueState<Boolean> seen,
      @TimerId("expiry") Timer expiry,
      OutputReceiver<KV<String, T>> out) {
    if (seen.read() != null) {
      duplicatesDropped.inc();
      return;
    }
    seen.write(true);
    expiry.offset(ttl).withNoOutputTimestamp().setRelative();
    out.output(element);
  }

  @OnTimer("expiry")
  public void expire(@StateId("seen") ValueState<Boolean> seen) {
    seen.clear();
  }
}
