package dev.timerangeio;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.coders.BooleanCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.state.MapState;
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
 * <p>Keyed on a shard of the idempotency key ({@link #shardOf}), not on the key itself: each shard
 * holds a map from key to the generation in which it was first seen. One key per record would
 * make every record its own stateful work item, which some runners (the DirectRunner most of
 * all) process one at a time; a shard gives them many records per bundle, and the write after it
 * real batches.
 *
 * <p>Expiry: a processing-time timer per shard ticks every {@code ttl / 2}, advances the shard's
 * generation and removes keys more than two generations old, so a key is remembered for at least
 * the TTL and at most 1.5 times it, and state stays bounded by the keys seen in that time. The
 * timer stops ticking when the shard is empty. It has no output timestamp, so a shard waiting to
 * expire does not hold the watermark back (a TTL of hours would otherwise stall every window and
 * the progress commit downstream). A duplicate arriving after expiry is passed on again and
 * absorbed by the sink, which skips keys it holds.
 */
class DedupFn<T> extends DoFn<KV<Integer, KV<String, T>>, KV<String, T>> {
  /** Shards of the key space; the most stateful work items running in parallel. */
  static final int SHARDS = 256;

  private final Duration tick;
  private final Counter duplicatesDropped =
      Metrics.counter(ReadFn.METRICS_NAMESPACE, "duplicatesDropped");

  @StateId("seen")
  private final StateSpec<MapState<String, Long>> seenSpec =
      StateSpecs.map(StringUtf8Coder.of(), VarLongCoder.of());

  @StateId("generation")
  private final StateSpec<ValueState<Long>> generationSpec = StateSpecs.value(VarLongCoder.of());

  @StateId("ticking")
  private final StateSpec<ValueState<Boolean>> tickingSpec = StateSpecs.value(BooleanCoder.of());

  @TimerId("expiry")
  private final TimerSpec expirySpec = TimerSpecs.timer(TimeDomain.PROCESSING_TIME);

  DedupFn(java.time.Duration ttl) {
    this.tick = Duration.millis(Math.max(1, ttl.toMillis() / 2));
  }

  /** The shard of a lowercase hex SHA-256 key: its first 16 bits, modulo {@link #SHARDS}. */
  static int shardOf(String key) {
    return Integer.parseInt(key.substring(0, 4), 16) % SHARDS;
  }

  @ProcessElement
  public void process(
      @Element KV<Integer, KV<String, T>> element,
      @StateId("seen") MapState<String, Long> seen,
      @StateId("generation") ValueState<Long> generation,
      @StateId("ticking") ValueState<Boolean> ticking,
      @TimerId("expiry") Timer expiry,
      OutputReceiver<KV<String, T>> out) {
    KV<String, T> record = element.getValue();
    if (seen.get(record.getKey()).read() != null) {
      duplicatesDropped.inc();
      return;
    }
    Long current = generation.read();
    seen.put(record.getKey(), current == null ? 0L : current);
    if (ticking.read() == null) {
      ticking.write(true);
      expiry.offset(tick).withNoOutputTimestamp().setRelative();
    }
    out.output(record);
  }

  @OnTimer("expiry")
  public void expire(
      OnTimerContext context,
      @StateId("seen") MapState<String, Long> seen,
      @StateId("generation") ValueState<Long> generation,
      @StateId("ticking") ValueState<Boolean> ticking,
      @TimerId("expiry") Timer expiry) {
    Long current = generation.read();
    long next = current == null ? 1 : current + 1;
    generation.write(next);
    List<String> expired = new ArrayList<>();
    boolean anyLeft = false;
    for (Map.Entry<String, Long> entry : seen.entries().read()) {
      if (next - entry.getValue() > 2) {
        expired.add(entry.getKey());
      } else {
        anyLeft = true;
      }
    }
    for (String key : expired) {
      seen.remove(key);
    }
    if (anyLeft) {
      // From the tick's own time, not now: a late tick catches up instead of stretching the TTL.
      expiry.withNoOutputTimestamp().set(context.fireTimestamp().plus(tick));
    } else {
      ticking.clear();
    }
  }
}
