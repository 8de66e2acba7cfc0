package dev.timerangeio;

import java.util.Base64;
import java.util.List;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CoderException;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.errorhandling.BadRecord;
import org.apache.beam.sdk.util.CoderUtils;
import org.apache.beam.sdk.values.KV;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Computes {@code KV(idempotency key, record)}; internal to {@link TimeRangeIO.Write}.
 *
 * <p>A record that can't be keyed — the key function returns null or throws, or its result has no
 * canonical JSON ({@link IdempotencyKeys}: NaN, a lone surrogate, a bean with no properties, map
 * keys alike as text) — is never merged with another under a shared key: it goes to the failed
 * records with the reason, and is stored first in the dead-letter sink if there is one (with a
 * progress location and none, the bundle fails: see {@link DeadLetters#settle}).
 *
 * <p>One output, so that a runner can chain this step to its neighbours (Flink's batch translation
 * gives each output of a multi-output step its own unchained task, which read and dropped every
 * keyed record a second time): a record that can't be keyed travels on under an {@linkplain
 * #unkeyable unkeyable key} that carries its {@link BadRecord}; {@link DedupFn} passes it by and
 * {@link WriteFn} emits it as a failed record in place of writing it.
 */
class KeyFn<T> extends DoFn<T, KV<String, T>> {
  private final @Nullable SerializableFunction<T, ?> keyFn;
  private final @Nullable String source;
  private final Coder<T> recordCoder;
  private final @Nullable IdempotentSink<BadRecord> deadLetterSink;
  private final Retries writes;
  private final boolean progress;
  private final Coder<BadRecord> badRecordCoder;
  private final Counter unkeyable =
      Metrics.counter(TimeRangeIOMetrics.NAMESPACE, TimeRangeIOMetrics.UNKEYABLE_RECORDS);

  private transient @Nullable DeadLetters deadLetters;

  KeyFn(
      @Nullable SerializableFunction<T, ?> keyFn,
      @Nullable String source,
      Coder<T> recordCoder,
      @Nullable IdempotentSink<BadRecord> deadLetterSink,
      Retries writes,
      boolean progress,
      Coder<BadRecord> badRecordCoder) {
    this.keyFn = keyFn;
    this.source = source;
    this.recordCoder = recordCoder;
    this.deadLetterSink = deadLetterSink;
    this.writes = writes;
    this.progress = progress;
    this.badRecordCoder = badRecordCoder;
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
  public void process(@Element T record, OutputReceiver<KV<String, T>> out) throws Exception {
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
              e instanceof Exception
                  ? (Exception) e
                  : new IllegalArgumentException("nested too deeply to key", e),
              "TimeRangeIO.write(): can't compute the record's idempotency key: " + e.getMessage());
      DeadLetters.settle(deadLetters, progress, DeadLetters.keyed(List.of(bad)), "can't key");
      out.output(KV.of(unkeyable(bad, badRecordCoder), record));
      return;
    }
    out.output(KV.of(key, record));
  }

  /**
   * The stand-in key of a record that can't be keyed: a prefix no idempotency key (lowercase hex)
   * starts with, then its {@link BadRecord}, encoded, so the failed output shows exactly what was
   * found here.
   */
  static String unkeyable(BadRecord bad, Coder<BadRecord> coder) throws CoderException {
    return UNKEYABLE + Base64.getEncoder().encodeToString(CoderUtils.encodeToByteArray(coder, bad));
  }

  /** Whether {@code key} stands for a record that can't be keyed ({@link #unkeyable}). */
  static boolean isUnkeyable(String key) {
    return key.startsWith(UNKEYABLE);
  }

  /** The {@link BadRecord} an {@linkplain #unkeyable unkeyable key} carries. */
  static BadRecord badRecordOf(String unkeyableKey, Coder<BadRecord> coder) throws CoderException {
    return CoderUtils.decodeFromByteArray(
        coder, Base64.getDecoder().decode(unkeyableKey.substring(UNKEYABLE.length())));
  }

  private static final String UNKEYABLE = "!unkeyable:";

  private String keyOf(T record) {
    Object identity = keyFn == null ? record : keyFn.apply(record);
    if (identity == null) {
      throw new IllegalArgumentException(
          "the key function (withKeyFn) returned null; every such record would share one key");
    }
    return source == null ? IdempotencyKeys.of(identity) : IdempotencyKeys.of(source, identity);
  }
}
