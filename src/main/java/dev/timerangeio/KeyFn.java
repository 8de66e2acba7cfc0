package dev.timerangeio;

import java.util.List;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.errorhandling.BadRecord;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.TupleTag;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Computes {@code KV(idempotency key, record)}; internal to {@link TimeRangeIO.Write}.
 *
 * <p>A record that can't be keyed — the key function returns null or throws, or its result has
 * no canonical JSON ({@link IdempotencyKeys}: NaN, a lone surrogate, a bean with no properties,
 * map keys alike as text) — is never merged with another under a shared key: it goes to the
 * failed records with the reason, and is stored first in the dead-letter sink if there is one
 * (with a progress location and none, the bundle fails: see {@link DeadLetters#settle}).
 */
class KeyFn<T> extends DoFn<T, KV<String, T>> {
  private final @Nullable SerializableFunction<T, ?> keyFn;
  private final @Nullable String source;
  private final Coder<T> recordCoder;
  private final @Nullable IdempotentSink<BadRecord> deadLetterSink;
  private final Retries writes;
  private final boolean progress;
  private final TupleTag<BadRecord> failedTag;
  private final TupleTag<KV<String, T>> keyedTag;
  private final Counter unkeyable = Metrics.counter(TimeRangeIOMetrics.NAMESPACE, TimeRangeIOMetrics.UNKEYABLE_RECORDS);

  private transient @Nullable DeadLetters deadLetters;

  KeyFn(
      @Nullable SerializableFunction<T, ?> keyFn,
      @Nullable String source,
      Coder<T> recordCoder,
      @Nullable IdempotentSink<BadRecord> deadLetterSink,
      Retries writes,
      boolean progress,
      TupleTag<KV<String, T>> keyedTag,
      TupleTag<BadRecord> failedTag) {
    this.keyFn = keyFn;
    this.source = source;
    this.recordCoder = recordCoder;
    this.deadLetterSink = deadLetterSink;
    this.writes = writes;
    this.progress = progress;
    this.keyedTag = keyedTag;
    this.failedTag = failedTag;
  }

  @Setup
  public void setup() throws Exception {
    if (deadLetterSink != null) {
      deadLetters = new DeadLetters(deadLetterSink, writes);
      deadLetters.open();
    }
  }

  @Teardown
  public void teardown() throws Exception {
    if (deadLetters != null) {
      deadLetters.close();
      deadLetters = null;
    }
  }

  @ProcessElement
  public void process(@Element T record, MultiOutputReceiver out) throws Exception {
    String key;
    try {
      key = keyOf(record);
    } catch (RuntimeException | StackOverflowError e) {
      // A record nested too deep (or holding itself) fails alone, not the bundle forever.
      unkeyable.inc();
      BadRecord bad =
          BadRecord.fromExceptionInformation(
              record,
              recordCoder,
              e instanceof Exception ? (Exception) e : new IllegalArgumentException("nested too deeply to key", e),
              "TimeRangeIO.write(): can't compute the record's idempotency key: " + e.getMessage());
      DeadLetters.settle(deadLetters, progress, DeadLetters.keyed(List.of(bad)), "can't key");
      out.get(failedTag).output(bad);
      return;
    }
    out.get(keyedTag).output(KV.of(key, record));
  }

  private String keyOf(T record) {
    Object identity = keyFn == null ? record : keyFn.apply(record);
    if (identity == null) {
      throw new IllegalArgumentException(
          "the key function (withKeyFn) returned null; every such record would share one key");
    }
    return source == null ? IdempotencyKeys.of(identity) : IdempotencyKeys.of(source, identity);
  }
}
