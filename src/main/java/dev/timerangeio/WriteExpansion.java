package dev.timerangeio;

import static dev.timerangeio.Checks.checkState;

import dev.timerangeio.TimeRangeIO.Write;
import java.util.List;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.ListCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.SimpleFunction;
import org.apache.beam.sdk.transforms.WithKeys;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.transforms.errorhandling.BadRecord;
import org.apache.beam.sdk.transforms.windowing.DefaultTrigger;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.apache.beam.sdk.values.WindowingStrategy;

/**
 * What {@link TimeRangeIO.Write} expands to — keys, global window, dedup shards, sink batches,
 * progress commits — and shows as display data, kept apart from its configuration; internal.
 */
final class WriteExpansion {
  private WriteExpansion() {}

  static <T> Write.Result expand(Write<T> write, PCollection<T> input) {
    IdempotentSink<T> sink = write.getSink();
    checkState(
        sink != null,
        "TimeRangeIO.write() requires a sink: call to(IdempotentSink) before applying it");
    Coder<T> recordCoder = input.getCoder();
    if (input.hasSchema()) {
      sink.validate(input.getSchema());
    }
    SerializableFunction<T, ?> keyFn = write.getKeyFn();
    String source = write.getSourceIdentity();
    TupleTag<List<String>> writtenTag = new TupleTag<List<String>>() {};
    TupleTag<BadRecord> failedTag = new TupleTag<BadRecord>() {};
    String location = write.getProgressLocation();
    // Claimed first, so a write without its read fails before anything is built.
    PCollection<KV<Integer, TimeRange>> readSignals =
        location == null ? null : ProgressLocations.claimForWrite(input.getPipeline(), location);
    TupleTag<KV<Integer, TimeRange>> progressTag =
        location == null ? null : new TupleTag<KV<Integer, TimeRange>>() {};

    Coder<BadRecord> badRecordCoder = BadRecord.getCoder(input.getPipeline());
    Retries writes =
        Retries.forSink(
            write.getMaxRetries(),
            write.getInitialBackoff(),
            Metrics.counter(TimeRangeIOMetrics.NAMESPACE, TimeRangeIOMetrics.WRITE_RETRIES));
    WriteFn<T> writeFn =
        new WriteFn<>(
            sink,
            recordCoder,
            badRecordCoder,
            write.getBatchSize(),
            write.getMaxBatchDelay(),
            write.getMaxRetries(),
            write.getInitialBackoff(),
            write.getDeadLetterSink(),
            failedTag,
            progressTag,
            write.getClock());
    // Every step up to the sink has one output, so a runner can chain them (see KeyFn).
    PCollection<KV<String, T>> keyed =
        input
            .apply(
                "ComputeIdempotencyKeys",
                ParDo.of(
                    new KeyFn<>(
                        keyFn,
                        source,
                        recordCoder,
                        write.getDeadLetterSink(),
                        writes,
                        location != null,
                        badRecordCoder)))
            .setCoder(KvCoder.of(StringUtf8Coder.of(), recordCoder));
    PCollectionTuple outputs =
        // Duplicates in different windows are still duplicates.
        intoGlobalWindow(keyed)
            .apply("ShardByKey", WithKeys.of(new ShardFn<T>()))
            .setCoder(KvCoder.of(VarIntCoder.of(), KvCoder.of(StringUtf8Coder.of(), recordCoder)))
            .apply("DropDuplicates", ParDo.of(new DedupFn<T>(write.getDedupTtl())))
            .setCoder(KvCoder.of(StringUtf8Coder.of(), recordCoder))
            .apply(
                "WriteToSink",
                ParDo.of(writeFn)
                    .withOutputTags(
                        writtenTag,
                        progressTag == null
                            ? TupleTagList.of(failedTag)
                            : TupleTagList.of(failedTag).and(progressTag)));
    PCollection<String> written =
        outputs
            .get(writtenTag)
            .setCoder(ListCoder.of(StringUtf8Coder.of()))
            .apply("WrittenKeys", ParDo.of(new EachKeyFn()))
            .setCoder(StringUtf8Coder.of());
    PCollection<BadRecord> failed = outputs.get(failedTag).setCoder(badRecordCoder);
    if (progressTag != null) {
      // The write's progress output carries no elements, only the watermark after the sink.
      Coder<KV<Integer, TimeRange>> signalCoder = KvCoder.of(VarIntCoder.of(), TimeRangeCoder.of());
      PCollectionList.of(readSignals)
          .and(outputs.get(progressTag).setCoder(signalCoder))
          .apply("ReadAndWritten", Flatten.pCollections())
          .setCoder(signalCoder)
          .apply("CommitProgress", ParDo.of(new ProgressFn(location)));
    }
    return new Write.Result(
        input.getPipeline(),
        new TupleTag<String>() {},
        written,
        writeFn::emitWrittenKeys,
        failedTag,
        failed);
  }

  /** The keys of a list of written keys, one by one, each at the list's timestamp. */
  private static final class EachKeyFn extends DoFn<List<String>, String> {
    @ProcessElement
    public void process(@Element List<String> keys, OutputReceiver<String> out) {
      for (String key : keys) {
        out.output(key);
      }
    }
  }

  /** See {@link CommitPaths}: the write's input must come from the read through sound steps. */
  static void checkCommitPath(PCollection<?> input, String location) {
    PCollection<?> readRecords = ProgressLocations.readRecords(input.getPipeline(), location);
    if (readRecords != null) {
      CommitPaths.check(input.getPipeline(), readRecords, input, location);
    }
  }

  /** The dedup shard of a keyed record. */
  private static final class ShardFn<T> extends SimpleFunction<KV<String, T>, Integer> {
    @Override
    public Integer apply(KV<String, T> keyed) {
      return DedupFn.shardOf(keyed.getKey());
    }
  }

  /**
   * {@code keyed} in the global window with the default trigger: as it is where it has it already
   * (a bounded source's output, the read's), without a step that assigns every record the window
   * it has.
   */
  private static <X> PCollection<X> intoGlobalWindow(PCollection<X> keyed) {
    return keyed.getWindowingStrategy().equals(WindowingStrategy.globalDefault())
        ? keyed
        : keyed.apply("IntoGlobalWindow", defaultGlobalWindow());
  }

  /**
   * The global window with the default trigger, whatever the input had: the steps after it are
   * stateful ParDos, where a trigger means nothing, and their outputs flatten with the read's
   * signals, which a custom trigger would refuse.
   */
  private static <X> Window<X> defaultGlobalWindow() {
    return Window.<X>into(new GlobalWindows())
        .triggering(DefaultTrigger.of())
        .withAllowedLateness(org.joda.time.Duration.ZERO)
        .discardingFiredPanes();
  }

  static void populateDisplayData(Write<?> write, DisplayData.Builder builder) {
    builder
        .addIfNotNull(
            DisplayData.item("sink", write.getSink() == null ? null : write.getSink().toString())
                .withLabel("Idempotent sink"))
        .add(
            DisplayData.item(
                    "keyFn",
                    write.getKeyFn() == null
                        ? "the whole record"
                        : write.getKeyFn().getClass().getName())
                .withLabel("Key function"))
        .addIfNotNull(
            DisplayData.item("sourceIdentity", write.getSourceIdentity())
                .withLabel("Source identity"))
        .add(DisplayData.item("dedupTtl", write.getDedupTtl().toString()).withLabel("Dedup TTL"))
        .add(DisplayData.item("batchSize", write.getBatchSize()).withLabel("Batch size"))
        .add(
            DisplayData.item("maxBatchDelay", write.getMaxBatchDelay().toString())
                .withLabel("Max batch delay"))
        .add(DisplayData.item("maxRetries", write.getMaxRetries()).withLabel("Max retries"))
        .add(
            DisplayData.item("initialBackoff", write.getInitialBackoff().toString())
                .withLabel("Initial retry backoff"))
        .addIfNotNull(
            DisplayData.item("progressLocation", write.getProgressLocation())
                .withLabel("Progress location"))
        .addIfNotNull(
            DisplayData.item(
                    "deadLetterSink",
                    write.getDeadLetterSink() == null ? null : write.getDeadLetterSink().toString())
                .withLabel("Dead-letter sink"));
  }
}
