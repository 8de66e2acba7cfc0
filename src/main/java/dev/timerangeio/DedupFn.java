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
 * holds a map from key to the processing time at which it was first seen. One key per record would
 * make every record its own stateful work item, which some runners (the DirectRunner most of all)
 * process one at a time; a shard gives them many records per bundle, and the write after it real
 * batches.
 *
 * <p>Expiry: each key is stored with the processing time it was first seen, and a copy counts as a
 * duplicate while the key's age is at most the TTL: exactly the TTL of processing time, whatever
 * the timers do, also after a restore or a long pause. A processing-time timer per shard sweeps
 * every {@code ttl / 2}, removing older keys, so state stays bounded by the keys seen in about 1.5
 * TTLs; the next sweep is set from when a sweep ran, never from when it was due, so overdue sweeps
 * don't chain. The timer stops when the shard is empty. It has no output timestamp, so a shard
 * waiting to expire does not hold the watermark back (a TTL of hours would otherwise stall every
 * window and the progress commit downstream). A duplicate arriving after the TTL is passed on again
 * and absorbed by the sink, which skips keys it holds.
 */
class DedupFn<T> extends DoFn<KV<Integer, KV<String, T>>, KV<String, T>> {
  /** Shards of the key space; the most stateful work items running in parallel. */
  static final int SHARDS = 256;

  private final long ttlMillis;
  private final Duration tick;
  private final Counter duplicatesDropped =
      Metrics.counter(TimeRangeIOMetrics.NAMESPACE, TimeRangeIOMetrics.DUPLICATES_DROPPED);

  @StateId("seen")
  private final StateSpec<MapState<String, Long>> seenSpec =
      StateSpecs.map(StringUtf8Coder.of(), VarLongCoder.of());

  @StateId("ticking")
  private final StateSpec<ValueState<Boolean>> tickingSpec = StateSpecs.value(BooleanCoder.of());

  @TimerId("expiry")
  private final TimerSpec expirySpec = TimerSpecs.timer(TimeDomain.PROCESSING_TIME);

  DedupFn(java.time.Duration ttl) {
    this.ttlMillis = ttl.toMillis();
    this.tick = Duration.millis(Math.max(1, ttl.toMillis() / 2));
  }

  /**
   * The shard of a lowercase hex SHA-256 key: its first 16 bits, modulo {@link #SHARDS}; of an
   * {@linkplain KeyFn#unkeyable unkeyable key}, its hash.
   */
  static int shardOf(String key) {
    return KeyFn.isUnkeyable(key)
        ? Math.floorMod(key.hashCode(), SHARDS)
        : Integer.parseInt(key.substring(0, 4), 16) % SHARDS;
  }

  @ProcessElement
  public void process(
      @Element KV<Integer, KV<String, T>> element,
      @StateId("seen") MapState<String, Long> seen,
      @StateId("ticking") ValueState<Boolean> ticking,
      @TimerId("expiry") Timer expiry,
      OutputReceiver<KV<String, T>> out) {
    KV<String, T> record = element.getValue();
    if (KeyFn.isUnkeyable(record.getKey())) {
      out.output(record); // never a duplicate: the write emits it as a failed record
      return;
    }
    long now = expiry.getCurrentRelativeTime().getMillis();
    Long seenAt = seen.get(record.getKey()).read();
    if (seenAt != null && now - seenAt <= ttlMillis) {
      duplicatesDropped.inc();
      return;
    }
    seen.put(record.getKey(), now);
    if (ticking.read() == null) {
      ticking.write(true);
      expiry.offset(tick).withNoOutputTimestamp().setRelative();
    }
    out.output(record);
  }

  @OnTimer("expiry")
  public void expire(
      @StateId("seen") MapState<String, Long> seen,
      @StateId("ticking") ValueState<Boolean> ticking,
      @TimerId("expiry") Timer expiry) {
    long now = expiry.getCurrentRelativeTime().getMillis();
    List<String> expired = new ArrayList<>();
    boolean anyLeft = false;
    for (Map.Entry<String, Long> entry : seen.entries().read()) {
      if (now - entry.getValue() > ttlMillis) {
        expired.add(entry.getKey());
      } else {
        anyLeft = true;
      }
    }
    for (String key : expired) {
      seen.remove(key);
    }
    if (anyLeft) {
      // From now, not from when this tick was due: overdue ticks never chain.
      expiry.offset(tick).withNoOutputTimestamp().setRelative();
    } else {
      ticking.clear();
    }
  }
}
