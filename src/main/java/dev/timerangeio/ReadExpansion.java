package dev.timerangeio;

import static dev.timerangeio.Checks.checkArgument;
import static dev.timerangeio.Checks.checkState;

import dev.timerangeio.TimeRangeIO.Read;
import org.apache.beam.sdk.coders.CannotProvideCoderException;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.SerializableCoder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.schemas.NoSuchSchemaException;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.schemas.SchemaCoder;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.Impulse;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.apache.beam.sdk.transforms.Values;
import org.apache.beam.sdk.transforms.WithKeys;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.transforms.errorhandling.BadRecord;
import org.apache.beam.sdk.transforms.errorhandling.BadRecordRouter;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTagList;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What {@link TimeRangeIO.Read} expands to and shows as display data, kept apart from its
 * configuration; internal.
 */
final class ReadExpansion {
  private static final Logger LOG = LoggerFactory.getLogger(ReadExpansion.class);

  private ReadExpansion() {}

  /** Checks what only the whole read can check, then Impulse → {@link ReadFn}. */
  static <T> PCollection<T> expand(Read<T> read, PBegin input) {
    TimeRangeQuery<T> query = read.getQuery();
    checkState(
        query != null,
        "TimeRangeIO.read() requires a source: call withQuery(TimeRangeQuery) before applying"
            + " it");
    checkArgument(
        read.getStartMode() != TimeRangeIO.StartMode.EARLIEST || query.supportsEarliest(),
        "withStartTime(\"earliest\"): the query %s can't report its earliest record"
            + " (TimeRangeQuery.supportsEarliest() is false); give an ISO-8601 start time or"
            + " \"latest\", or a query that implements earliest()",
        query);
    checkGranularity(read, query.boundGranularityMicros());
    Long end = read.getEndMicros();
    if (end != null && read.getStartMode() == TimeRangeIO.StartMode.INSTANT) {
      checkArgument(
          end >= read.getStartMicros(),
          "withEndTime: the end time %s is before the start time %s; the end must be at or"
              + " after the start",
          Times.describe(end),
          Times.describe(read.getStartMicros()));
    }
    Schema rowSchema = read.getCoder() == null ? schemaOf(query) : null;
    @SuppressWarnings("unchecked")
    Coder<T> coder =
        read.getCoder() != null
            ? read.getCoder()
            : rowSchema != null
                ? (Coder<T>) SchemaCoder.of(rowSchema)
                : inferCoder(input, read);
    String location = read.getProgressLocation();
    checkArgument(
        location == null
            || read.getBadRecordErrorHandler() == null
            || read.getDeadLetterSink() != null,
        "withBadRecordErrorHandler with withProgressLocation(%s): the committed position could"
            + " pass a bad record before the handler's sink, applied later in the pipeline, has"
            + " stored it, and a crash would then lose it. Add withDeadLetterSink(IdempotentSink),"
            + " which stores bad records before their chunk counts as read.",
        location);
    checkArgument(
        read.getLookback() == null || read.getLiveEdgeReaders() == 1,
        "withLookback(%s) with withLiveEdgeReaders(%s): a re-check pairs each chunk with its first"
            + " read, which live-edge readers split into parts; use one of the two (lookback with"
            + " withLiveEdgeReaders(1), the default)",
        read.getLookback(),
        read.getLiveEdgeReaders());
    ReadFn<T> fn = ReadFn.of(read, coder);
    PCollectionList<T> records;
    boolean handler = read.getBadRecordErrorHandler() != null;
    PCollectionList<BadRecord> badRecords = PCollectionList.empty(input.getPipeline());
    PCollectionList<KV<Integer, TimeRange>> signals = PCollectionList.empty(input.getPipeline());
    if (read.getLookback() != null) {
      PCollectionTuple outputs = LookbackExpansion.expand(read, coder, fn, input);
      records = PCollectionList.of(outputs.get(fn.recordsTag).setCoder(coder));
      if (handler) {
        badRecords = badRecords.and(badRecordsOf(outputs, input.getPipeline()));
      }
      if (location != null) {
        signals = signals.and(signalsOf(outputs, fn));
      }
    } else {
      // Side outputs only where something consumes them: on Flink an output with a second
      // consumer can't be chained to the next step, so every record was serialized once more
      // (issue 19: 44% of the read's samples in Flink's record writer). Without a handler a bad
      // record throws (or goes to the dead-letter sink) and never reaches this output.
      TupleTagList sideTags =
          handler ? TupleTagList.of(BadRecordRouter.BAD_RECORD_TAG) : TupleTagList.empty();
      if (location != null) {
        sideTags = sideTags.and(fn.progressTag);
      }
      boolean liveEdge = read.getLiveEdgeReaders() >= 2;
      PCollectionTuple outputs =
          input
              .apply("Impulse", Impulse.create())
              .apply(
                  "ReadTimeRanges",
                  ParDo.of(fn)
                      .withOutputTags(
                          fn.recordsTag, liveEdge ? sideTags.and(fn.liveEdgeTag) : sideTags));
      records = PCollectionList.of(outputs.get(fn.recordsTag).setCoder(coder));
      if (handler) {
        badRecords = badRecords.and(badRecordsOf(outputs, input.getPipeline()));
      }
      if (location != null) {
        signals = signals.and(signalsOf(outputs, fn));
      }
      if (liveEdge) {
        // Parts of live-edge chunks go through a redistribute to readers on every worker.
        PCollectionTuple edge =
            outputs
                .get(fn.liveEdgeTag)
                .setCoder(TimeRangeCoder.of())
                .apply(
                    "SpreadLiveEdge",
                    WithKeys.of((TimeRange part) -> spreadKey(part))
                        .withKeyType(TypeDescriptors.integers()))
                .apply("RedistributeLiveEdge", Reshuffle.of())
                .apply("LiveEdgeParts", Values.create())
                .apply(
                    "ReadLiveEdge",
                    ParDo.of(new LiveEdgeReadFn<>(fn, read, coder))
                        .withOutputTags(fn.recordsTag, sideTags));
        records = records.and(edge.get(fn.recordsTag).setCoder(coder));
        if (handler) {
          badRecords = badRecords.and(badRecordsOf(edge, input.getPipeline()));
        }
        if (location != null) {
          signals = signals.and(signalsOf(edge, fn));
        }
      }
    }
    if (handler) {
      read.getBadRecordErrorHandler().addErrorCollection(flatten(badRecords, "BadRecords"));
    }
    PCollection<T> allRecords = flatten(records, "Records");
    if (location != null) {
      ProgressLocations.registerRead(
          input.getPipeline(), location, flatten(signals, "ProgressSignals"), allRecords);
    }
    return allRecords;
  }

  private static PCollection<BadRecord> badRecordsOf(PCollectionTuple outputs, Pipeline pipeline) {
    return outputs.get(BadRecordRouter.BAD_RECORD_TAG).setCoder(BadRecord.getCoder(pipeline));
  }

  private static PCollection<KV<Integer, TimeRange>> signalsOf(
      PCollectionTuple outputs, ReadFn<?> fn) {
    return outputs.get(fn.progressTag).setCoder(PROGRESS_CODER);
  }

  /** One collection as it is (the graph stays as it was without live-edge readers), more flattened. */
  private static <X> PCollection<X> flatten(PCollectionList<X> list, String name) {
    return list.size() == 1 ? list.get(0) : list.apply(name, Flatten.pCollections());
  }

  /**
   * The redistribute key of a part: a mix of its start, so consecutive parts spread over the
   * workers' key ranges; deterministic, so where a part goes doesn't depend on chance.
   */
  static int spreadKey(TimeRange part) {
    long z = part.fromMicros() + 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return (int) (z ^ (z >>> 31));
  }

  /** The coder of the progress signals {@code KV(0, chunk)}. */
  static final Coder<KV<Integer, TimeRange>> PROGRESS_CODER =
      KvCoder.of(VarIntCoder.of(), TimeRangeCoder.of());

  /**
   * A source that can only express coarse bounds gets only ranges on its grid: the partition
   * duration, a start and an end time must be multiples of its granularity.
   */
  private static void checkGranularity(Read<?> read, long granularity) {
    checkArgument(
        granularity >= 1,
        "%s.boundGranularityMicros() is %s; it must be at least 1",
        read.getQuery().getClass().getName(),
        granularity);
    if (granularity == 1) {
      return;
    }
    String why =
        "the source "
            + read.getQuery()
            + " can express only bounds that are multiples of "
            + granularity
            + " µs (its boundGranularityMicros()), so the read asks it only for such ranges";
    long partition = Times.durationMicros(read.getPartitionDuration());
    checkArgument(
        partition % granularity == 0,
        "withPartitionDuration(%s): %s; give a multiple of it",
        read.getPartitionDuration(),
        why);
    if (read.getStartMode() == TimeRangeIO.StartMode.INSTANT) {
      checkArgument(
          Math.floorMod(read.getStartMicros(), granularity) == 0,
          "withStartTime(%s): %s; give a start on that grid",
          Times.describe(read.getStartMicros()),
          why);
    }
    if (read.getEndMicros() != null) {
      checkArgument(
          Math.floorMod(read.getEndMicros(), granularity) == 0,
          "withEndTime(%s): %s; give an end on that grid",
          Times.describe(read.getEndMicros()),
          why);
    }
  }

  private static @Nullable Schema schemaOf(TimeRangeQuery<?> query) {
    try {
      return query.schema();
    } catch (Exception e) {
      throw new IllegalStateException(
          "TimeRangeIO.read(): can't read the schema of " + query + ": " + e.getMessage(), e);
    }
  }

  /**
   * The records' coder from their type (given, or declared by the query's class): a schema coder
   * when Beam infers a schema for the type, else the coder registry's. A schema comes first: the
   * registry would pick {@code SerializableCoder} for a serializable POJO, which fails on a Flink
   * cluster that has Beam in its {@code lib/}.
   */
  @SuppressWarnings("unchecked")
  private static <T> Coder<T> inferCoder(PBegin input, Read<T> read) {
    TimeRangeQuery<T> query = read.getQuery();
    TypeDescriptor<T> recordType =
        read.getRecordType() != null
            ? read.getRecordType()
            : (TypeDescriptor<T>)
                TypeDescriptor.of(query.getClass())
                    .resolveType(TimeRangeQuery.class.getTypeParameters()[0]);
    try {
      if (recordType.hasUnresolvedParameters()) {
        throw new CannotProvideCoderException("the record type is a type variable");
      }
      try {
        return input.getPipeline().getSchemaRegistry().getSchemaCoder(recordType);
      } catch (NoSuchSchemaException noSchema) {
        Coder<T> coder = input.getPipeline().getCoderRegistry().getCoder(recordType);
        if (coder instanceof SerializableCoder) {
          LOG.warn(
              "TimeRangeIO.read(): the records of {} use {}: Java serialization of a class from"
                  + " the job jar fails on a Flink cluster with Beam in its lib/. Give the class a"
                  + " schema (@DefaultSchema) or call withCoder",
              query,
              coder);
        }
        return coder;
      }
    } catch (CannotProvideCoderException e) {
      throw new IllegalStateException(
          "TimeRangeIO.read(): can't infer a coder for the records of "
              + query.getClass().getName()
              + " (record type "
              + recordType
              + "); call withRecordType(TypeDescriptor) for a type with a schema, or"
              + " withCoder(Coder)",
          e);
    }
  }

  static void populateDisplayData(Read<?> read, DisplayData.Builder builder) {
    if (read.getQuery() instanceof org.apache.beam.sdk.transforms.display.HasDisplayData) {
      // A connector that names its source (table, URL, KQL, SPL) shows it, without secrets.
      builder.include(
          "query", (org.apache.beam.sdk.transforms.display.HasDisplayData) read.getQuery());
    }
    builder
        .addIfNotNull(
            DisplayData.item("query", read.getQuery() == null ? null : read.getQuery().getClass().getName())
                .withLabel("Time range query"))
        .addIfNotNull(
            DisplayData.item("coder", read.getCoder() == null ? null : read.getCoder().toString())
                .withLabel("Record coder"))
        .addIfNotNull(
            DisplayData.item(
                    "recordType",
                    read.getRecordType() == null ? null : read.getRecordType().toString())
                .withLabel("Record type"))
        .add(DisplayData.item("startTime", read.describeStart()).withLabel("Start time"))
        .add(
            DisplayData.item(
                    "endTime",
                    read.getEndMicros() == null ? "none (unbounded)" : Times.describe(read.getEndMicros()))
                .withLabel("End time"))
        .add(
            DisplayData.item("partitionDuration", read.getPartitionDuration().toString())
                .withLabel("Partition (chunk) duration"))
        .add(
            DisplayData.item("ingestionLag", read.getIngestionLag().toString())
                .withLabel("Ingestion lag"))
        .add(
            DisplayData.item("pollInterval", read.getPollInterval().toString())
                .withLabel("Poll interval"))
        .add(
            DisplayData.item("watermarkDelay", read.getWatermarkDelay().toString())
                .withLabel("Watermark delay"))
        .add(
            DisplayData.item(
                    "lookback",
                    read.getLookback() == null ? "none (each chunk read once)" : read.getLookback().toString())
                .withLabel("Lookback (re-read for late data)"))
        .addIfNotNull(
            DisplayData.item(
                    "timestampFn",
                    read.getTimestampFn() == null ? null : read.getTimestampFn().getClass().getName())
                .withLabel("Timestamp function"))
        .add(
            DisplayData.item("maxInitialSplits", read.getMaxInitialSplits())
                .withLabel("Max initial splits"))
        .add(
            DisplayData.item("liveEdgeReaders", read.getLiveEdgeReaders())
                .withLabel("Readers per live-edge chunk"))
        .addIfNotNull(
            DisplayData.item("progressLocation", read.getProgressLocation())
                .withLabel("Progress location"))
        .add(DisplayData.item("maxRetries", read.getMaxRetries()).withLabel("Max source retries"))
        .add(
            DisplayData.item("initialBackoff", read.getInitialBackoff().toString())
                .withLabel("Initial retry backoff"))
        .add(
            DisplayData.item("maxRetryDuration", read.getMaxRetryDuration().toString())
                .withLabel("Max retry duration"))
        .add(
            DisplayData.item("badRecords", describeBadRecords(read))
                .withLabel("Records failing their checks"))
        .add(
            DisplayData.item(
                    "maxQueriesPerSecond",
                    read.getMaxQueriesPerSecond() == 0 ? "no limit" : String.valueOf(read.getMaxQueriesPerSecond()))
                .withLabel("Max queries per second per worker"))
        .add(
            DisplayData.item(
                    "maxConcurrentQueries",
                    read.getMaxConcurrentQueries() == 0 ? "no cap" : String.valueOf(read.getMaxConcurrentQueries()))
                .withLabel("Max concurrent queries per worker"))
        .add(
            DisplayData.item(
                    "progressLogInterval",
                    read.getProgressLogInterval().isZero()
                        ? "off"
                        : read.getProgressLogInterval().toString())
                .withLabel("Progress log interval per worker"))
        .add(
            DisplayData.item(
                    "maxRowsPerQuery",
                    read.getMaxRowsPerQuery() == 0 ? "no cap" : String.valueOf(read.getMaxRowsPerQuery()))
                .withLabel("Max rows per query"));
  }

  private static String describeBadRecords(Read<?> read) {
    if (read.getDeadLetterSink() != null) {
      return "dead-letter sink "
          + read.getDeadLetterSink()
          + (read.getBadRecordErrorHandler() == null ? "" : " and error handler");
    }
    return read.getBadRecordErrorHandler() == null ? "fail the bundle" : "error handler";
  }
}
