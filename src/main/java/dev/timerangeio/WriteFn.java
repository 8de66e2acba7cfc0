package dev.timerangeio;

import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Lineage;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.errorhandling.BadRecord;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.TupleTag;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes keyed records to an {@link IdempotentSink} in batches; internal to {@link
 * TimeRangeIO.Write}.
 *
 * <p><b>Batching.</b> Records are buffered per bundle and written when the batch is full, when its
 * oldest record has waited {@code maxBatchDelay}, and at the end of the bundle. A batch never
 * outlives its bundle: the runner commits a bundle's outputs (and the dedup state before it) only
 * after {@code @FinishBundle} returned, so a record counts as written only once the sink has
 * acknowledged it.
 *
 * <p><b>Failures.</b> {@link RejectedRecordException} means "a record in here will never be
 * accepted": the batch is halved until the rejected records stand alone; those go to the failed
 * output with the sink's message, the rest are written. Any other exception is retried with
 * exponential, jittered backoff ({@code writeRetries}); when the retries run out the bundle fails
 * and the runner retries it, which the idempotent sink absorbs.
 *
 * <p><b>Dead letters.</b> With a dead-letter sink, rejected records are stored there in the same
 * bundle, before it finishes, so they are durable before their timestamps stop holding the
 * watermark. Without one but with a progress location, a rejected record fails the bundle: the
 * position must not pass a record that is stored nowhere.
 *
 * <p><b>Outputs.</b> When the pipeline asked for them ({@link #emitWrittenKeys}), the keys of the
 * acknowledged records, as lists of the keys of consecutive records that share a timestamp and
 * window, at that timestamp (the write's next step emits them one by one: each key at its record's
 * timestamp, with a fraction of the elements through this step's outputs, which Flink's batch
 * translation reads once per output); the failed records, rejected by the sink or {@linkplain
 * KeyFn#unkeyable unkeyable}; and (when progress is committed) an output that carries no elements:
 * its watermark is the watermark after the sink, which {@link ProgressFn} waits on. Once the sink
 * acknowledged a record, only its key is kept until the end of the bundle.
 */
class WriteFn<T> extends DoFn<KV<String, T>, List<String>> {
  private static final Logger LOG = LoggerFactory.getLogger(WriteFn.class);

  private final IdempotentSink<T> sink;
  private final Coder<T> recordCoder;
  private final Coder<BadRecord> badRecordCoder;
  private final int batchSize;
  private final long maxBatchDelayMicros;
  private final @Nullable IdempotentSink<BadRecord> deadLetterSink;
  private final TupleTag<BadRecord> failedTag;
  private final @Nullable TupleTag<KV<Integer, TimeRange>> progressTag;
  private final MicrosClock clock;

  private final Counter rowsWritten =
      Metrics.counter(TimeRangeIOMetrics.NAMESPACE, TimeRangeIOMetrics.ROWS_WRITTEN);
  private final Counter writeRetries =
      Metrics.counter(TimeRangeIOMetrics.NAMESPACE, TimeRangeIOMetrics.WRITE_RETRIES);
  private final Retries writes;

  /** A record with what is needed to emit it again after the bundle. */
  private static final class Pending<T> {
    final KV<String, T> record;
    final Instant timestamp;
    final BoundedWindow window;

    Pending(KV<String, T> record, Instant timestamp, BoundedWindow window) {
      this.record = record;
      this.timestamp = timestamp;
      this.window = window;
    }
  }

  private transient List<Pending<T>> batch;
  private transient long batchStartedMicros;

  /** The keys of the acknowledged records, by runs of one timestamp and window. */
  private transient List<KeyRun> acknowledged;

  private transient List<KV<Pending<T>, Exception>> rejected;

  /** Records that came {@linkplain KeyFn#unkeyable unkeyable}, as their failed records. */
  private transient List<Pending<BadRecord>> unkeyable;

  private transient @Nullable DeadLetters deadLetters;

  /** The sink's name for Beam's Lineage, taken when the write is applied; null: not reported. */
  private final @Nullable LineageName lineage;

  /**
   * Whether to emit the written keys: set while the pipeline is built, when someone asks for them
   * ({@link TimeRangeIO.Write.Result#getWrittenKeys}), before this is serialized to run.
   */
  private boolean emitWrittenKeys;

  /** Whether this bundle has reported the lineage (metrics count per bundle, once is enough). */
  private transient boolean lineageReported;

  WriteFn(
      IdempotentSink<T> sink,
      Coder<T> recordCoder,
      Coder<BadRecord> badRecordCoder,
      int batchSize,
      java.time.Duration maxBatchDelay,
      int maxRetries,
      java.time.Duration initialBackoff,
      @Nullable IdempotentSink<BadRecord> deadLetterSink,
      TupleTag<BadRecord> failedTag,
      @Nullable TupleTag<KV<Integer, TimeRange>> progressTag,
      MicrosClock clock) {
    this.sink = sink;
    this.lineage = sink.lineage();
    this.recordCoder = recordCoder;
    this.badRecordCoder = badRecordCoder;
    this.batchSize = batchSize;
    this.maxBatchDelayMicros = Times.durationMicros(maxBatchDelay);
    this.writes = Retries.forSink(maxRetries, initialBackoff, writeRetries);
    this.deadLetterSink = deadLetterSink;
    this.failedTag = failedTag;
    this.progressTag = progressTag;
    this.clock = clock;
  }

  /** Emit the keys of acknowledged records (see {@link #emitWrittenKeys}). */
  void emitWrittenKeys() {
    emitWrittenKeys = true;
  }

  @Setup
  public void setup() throws Exception {
    sink.open();
    if (deadLetterSink != null) {
      deadLetters = new DeadLetters(deadLetterSink, writes);
      deadLetters.open();
    }
  }

  @StartBundle
  public void startBundle() {
    lineageReported = false;
    batch = new ArrayList<>();
    acknowledged = new ArrayList<>();
    rejected = new ArrayList<>();
    unkeyable = new ArrayList<>();
  }

  @ProcessElement
  public void process(
      @Element KV<String, T> element, @Timestamp Instant timestamp, BoundedWindow window)
      throws Exception {
    if (lineage != null && !lineageReported) {
      lineage.reportTo(Lineage.getSinks());
      lineageReported = true;
    }
    if (KeyFn.isUnkeyable(element.getKey())) {
      BadRecord bad = KeyFn.badRecordOf(element.getKey(), badRecordCoder);
      unkeyable.add(new Pending<>(KV.of(element.getKey(), bad), timestamp, window));
      return;
    }
    Pending<T> pending = new Pending<>(element, timestamp, window);
    long now = clock.nowMicros();
    if (batch.isEmpty()) {
      batchStartedMicros = now;
    }
    batch.add(pending);
    if (batch.size() >= batchSize || now - batchStartedMicros >= maxBatchDelayMicros) {
      flush();
    }
  }

  @FinishBundle
  public void finishBundle(FinishBundleContext context) throws Exception {
    flush();
    List<KV<String, BadRecord>> failed = new ArrayList<>(rejected.size());
    for (KV<Pending<T>, Exception> r : rejected) {
      Pending<T> p = r.getKey();
      failed.add(
          KV.of(
              p.record.getKey(),
              BadRecord.fromExceptionInformation(
                  p.record.getValue(),
                  recordCoder,
                  r.getValue(),
                  "TimeRangeIO.write(): the sink rejected the record with idempotency key "
                      + p.record.getKey())));
    }
    DeadLetters.settle(deadLetters, progressTag != null, failed, "the sink rejected");
    for (KeyRun run : acknowledged) {
      context.output(run.keys, run.timestamp, run.window);
    }
    for (int i = 0; i < failed.size(); i++) {
      Pending<T> p = rejected.get(i).getKey();
      context.output(failedTag, failed.get(i).getValue(), p.timestamp, p.window);
    }
    // Stored in the dead-letter sink (if any) by KeyFn, in the bundle that found them.
    for (Pending<BadRecord> p : unkeyable) {
      context.output(failedTag, p.record.getValue(), p.timestamp, p.window);
    }
    acknowledged = new ArrayList<>();
    rejected = new ArrayList<>();
    unkeyable = new ArrayList<>();
  }

  /** The keys of consecutive acknowledged records of one timestamp and window, at most a batch. */
  private static final class KeyRun {
    final Instant timestamp;
    final BoundedWindow window;
    final List<String> keys = new ArrayList<>();

    KeyRun(Instant timestamp, BoundedWindow window) {
      this.timestamp = timestamp;
      this.window = window;
    }
  }

  private void acknowledge(List<Pending<T>> records) {
    if (!emitWrittenKeys) {
      return;
    }
    KeyRun run = acknowledged.isEmpty() ? null : acknowledged.get(acknowledged.size() - 1);
    for (Pending<T> p : records) {
      if (run == null
          || run.keys.size() >= batchSize // bounds an element: all of a batch input shares MIN
          || !run.timestamp.equals(p.timestamp)
          || !run.window.equals(p.window)) {
        run = new KeyRun(p.timestamp, p.window);
        acknowledged.add(run);
      }
      run.keys.add(p.record.getKey());
    }
  }

  @Teardown
  public void teardown() throws Exception {
    sink.close();
    if (deadLetters != null) {
      deadLetters.close();
      deadLetters = null;
    }
  }

  private void flush() throws Exception {
    if (!batch.isEmpty()) {
      List<Pending<T>> toWrite = batch;
      batch = new ArrayList<>();
      write(toWrite);
    }
  }

  /** Writes {@code records}, retrying transient failures and isolating rejected records. */
  private void write(List<Pending<T>> records) throws Exception {
    List<KV<String, T>> keyed = new ArrayList<>(records.size());
    for (Pending<T> p : records) {
      keyed.add(p.record);
    }
    try {
      writes.write(sink, keyed, "TimeRangeIO.write()");
      rowsWritten.inc(records.size());
      acknowledge(records);
    } catch (RejectedRecordException e) {
      if (records.size() == 1) {
        LOG.warn(
            "TimeRangeIO.write(): the sink rejected the record with key {}: {}",
            records.get(0).record.getKey(),
            e.getMessage());
        rejected.add(KV.of(records.get(0), e));
        return;
      }
      // Idempotent sink: writing the accepted half again is harmless.
      int half = records.size() / 2;
      write(records.subList(0, half));
      write(records.subList(half, records.size()));
    }
  }
}
