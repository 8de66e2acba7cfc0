package dev.timerangeio;

import static org.apache.beam.vendor.guava.v32_1_2_jre.com.google.common.base.Preconditions.checkArgument;
import static org.apache.beam.vendor.guava.v32_1_2_jre.com.google.common.base.Preconditions.checkState;

import com.google.auto.value.AutoValue;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import org.apache.beam.sdk.coders.CannotProvideCoderException;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.transforms.Impulse;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Apache Beam transforms for sources that can only be asked for "the records whose time lies in
 * {@code [from, to)}": log-analytics APIs, REST APIs with since/until, SQL tables with a
 * timestamp column.
 *
 * <h2>Reading</h2>
 *
 * <pre>{@code
 * PCollection<Event> events =
 *     pipeline.apply(
 *         TimeRangeIO.<Event>read()
 *             .withQuery(JdbcTimeRangeQuery.forTable(url, "events", "event_time", Event::fromRow))
 *             .withCoder(SerializableCoder.of(Event.class))
 *             .withStartTime("earliest")                      // or "latest", or ISO-8601
 *             .withPartitionDuration(Duration.ofMinutes(5))
 *             .withIngestionLag(Duration.ofMinutes(2))
 *             .withTimestampFn(Event::time));
 * }</pre>
 *
 * <p>Without {@link Read#withEndTime(Instant) an end time} the read follows the clock forever (an
 * unbounded {@code PCollection}); with one it is a bounded backfill. Time is read in
 * fixed-duration chunks {@code [p, q)} on a grid of multiples of the partition duration; a chunk
 * is read only once {@code q <= now - ingestionLag}, the <i>safe horizon</i>, so records the
 * source is still ingesting are not missed. Every record of the source is emitted exactly once per
 * read, whatever the runner splits, checkpoints or retries.
 */
public final class TimeRangeIO {

  private TimeRangeIO() {}

  /** Default {@link Read#withPartitionDuration}: one hour, as the PySpark reader this grew from. */
  public static final Duration DEFAULT_PARTITION_DURATION = Duration.ofHours(1);
  /** Default {@link Read#withIngestionLag}: 30 seconds. Set it to your source's ingestion delay. */
  public static final Duration DEFAULT_INGESTION_LAG = Duration.ofSeconds(30);
  /** Default {@link Read#withPollInterval}: one second. */
  public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofSeconds(1);
  /** Default {@link Read#withMaxInitialSplits}: 100 restrictions for the backlog. */
  public static final int DEFAULT_MAX_INITIAL_SPLITS = 100;

  /** A read starting at {@code "latest"}, with the defaults above; needs {@link Read#withQuery}. */
  public static <T> Read<T> read() {
    return new AutoValue_TimeRangeIO_Read.Builder<T>()
        .setStartMode(StartMode.LATEST)
        .setPartitionDuration(DEFAULT_PARTITION_DURATION)
        .setIngestionLag(DEFAULT_INGESTION_LAG)
        .setPollInterval(DEFAULT_POLL_INTERVAL)
        .setWatermarkDelay(Duration.ZERO)
        .setMaxInitialSplits(DEFAULT_MAX_INITIAL_SPLITS)
        .setClock(MicrosClock.SYSTEM)
        .build();
  }

  /** How the start of a read is chosen. */
  enum StartMode {
    EARLIEST,
    LATEST,
    INSTANT
  }

  /** See {@link TimeRangeIO#read()}. */
  @AutoValue
  public abstract static class Read<T> extends PTransform<PBegin, PCollection<T>> {

    abstract @Nullable TimeRangeQuery<T> getQuery();

    abstract @Nullable Coder<T> getCoder();

    abstract StartMode getStartMode();

    abstract @Nullable Long getStartMicros();

    abstract @Nullable Long getEndMicros();

    abstract Duration getPartitionDuration();

    abstract Duration getIngestionLag();

    abstract Duration getPollInterval();

    abstract Duration getWatermarkDelay();

    abstract @Nullable SerializableFunction<T, Instant> getTimestampFn();

    abstract int getMaxInitialSplits();

    abstract MicrosClock getClock();

    abstract Builder<T> toBuilder();

    @AutoValue.Builder
    abstract static class Builder<T> {
      abstract Builder<T> setQuery(TimeRangeQuery<T> query);

      abstract Builder<T> setCoder(Coder<T> coder);

      abstract Builder<T> setStartMode(StartMode mode);

      abstract Builder<T> setStartMicros(@Nullable Long micros);

      abstract Builder<T> setEndMicros(Long micros);

      abstract Builder<T> setPartitionDuration(Duration d);

      abstract Builder<T> setIngestionLag(Duration d);

      abstract Builder<T> setPollInterval(Duration d);

      abstract Builder<T> setWatermarkDelay(Duration d);

      abstract Builder<T> setTimestampFn(SerializableFunction<T, Instant> fn);

      abstract Builder<T> setMaxInitialSplits(int n);

      abstract Builder<T> setClock(MicrosClock clock);

      abstract Read<T> build();
    }

    /** The source to read. Required. */
    public Read<T> withQuery(TimeRangeQuery<T> query) {
      checkArgument(query != null, "withQuery(query): query must not be null");
      return toBuilder().setQuery(query).build();
    }

    /**
     * The coder of the records. Optional when the coder can be inferred from the query's declared
     * record type (a class that implements {@code TimeRangeQuery<String>}, say); required
     * otherwise, e.g. for a lambda or {@link JdbcTimeRangeQuery}.
     */
    public Read<T> withCoder(Coder<T> coder) {
      checkArgument(coder != null, "withCoder(coder): coder must not be null");
      return toBuilder().setCoder(coder).build();
    }

    /**
     * Where the read starts. Allowed: {@code "earliest"} (the source's oldest record, via {@link
     * TimeRangeQuery#earliest()}; the safe horizon if the source is empty), {@code "latest"} (the
     * safe horizon when the pipeline starts reading; the default), or an ISO-8601 date-time with
     * an explicit offset or zone such as {@code "2024-05-01T00:00:00Z"} or {@code
     * "2024-05-01T02:00:00.123456+02:00"}, to the microsecond. A date-time without a zone is
     * rejected: it would mean different instants on different workers.
     */
    public Read<T> withStartTime(String startTime) {
      checkArgument(
          startTime != null,
          "withStartTime(String): start time must not be null; allowed are \"earliest\","
              + " \"latest\" or an ISO-8601 date-time with a zone");
      String trimmed = startTime.trim();
      switch (trimmed.toLowerCase(Locale.ROOT)) {
        case "earliest":
          return toBuilder().setStartMode(StartMode.EARLIEST).setStartMicros(null).build();
        case "latest":
          return toBuilder().setStartMode(StartMode.LATEST).setStartMicros(null).build();
        default:
          long micros = Times.parseIsoMicros("withStartTime", trimmed);
          return toBuilder().setStartMode(StartMode.INSTANT).setStartMicros(micros).build();
      }
    }

    /** Starts at {@code startTime} (at most microsecond precision). */
    public Read<T> withStartTime(Instant startTime) {
      checkArgument(startTime != null, "withStartTime(Instant): start time must not be null");
      long micros = Times.toMicros("withStartTime", startTime);
      return toBuilder().setStartMode(StartMode.INSTANT).setStartMicros(micros).build();
    }

    /**
     * Ends the read at {@code endTime} (exclusive): a bounded backfill and a bounded {@code
     * PCollection}. An end in the future is fine: the last chunks are read once they pass the safe
     * horizon. Default: no end, the read follows the clock. Must not be before the start time.
     */
    public Read<T> withEndTime(Instant endTime) {
      checkArgument(endTime != null, "withEndTime(Instant): end time must not be null");
      return toBuilder().setEndMicros(Times.toMicros("withEndTime", endTime)).build();
    }

    /**
     * The length of one chunk, the unit of work: one query per chunk. Chunks sit on a grid of
     * multiples of this duration since the epoch. Default {@link #DEFAULT_PARTITION_DURATION};
     * allowed: positive, a whole number of microseconds.
     */
    public Read<T> withPartitionDuration(Duration partitionDuration) {
      checkPositiveMicros("withPartitionDuration", partitionDuration);
      return toBuilder().setPartitionDuration(partitionDuration).build();
    }

    /**
     * How long the source may take to make a record queryable: a chunk is read only once its end
     * is at or below {@code now - ingestionLag}. Default {@link #DEFAULT_INGESTION_LAG}; allowed:
     * zero or positive.
     */
    public Read<T> withIngestionLag(Duration ingestionLag) {
      checkNonNegative("withIngestionLag", ingestionLag);
      return toBuilder().setIngestionLag(ingestionLag).build();
    }

    /**
     * When caught up with the safe horizon, the read pauses until the next chunk is ready, but
     * never less than this. Default {@link #DEFAULT_POLL_INTERVAL}; allowed: at least 1 ms.
     */
    public Read<T> withPollInterval(Duration pollInterval) {
      checkArgument(
          pollInterval != null && pollInterval.toMillis() >= 1,
          "withPollInterval: poll interval must be at least 1 ms, was %s",
          pollInterval);
      return toBuilder().setPollInterval(pollInterval).build();
    }

    /**
     * The time of each record, used as its Beam timestamp (floored to milliseconds) and checked
     * against its chunk: a record outside {@code [chunkStart - watermarkDelay, chunkEnd)} or with
     * no time fails the bundle with a message naming both. Default: none; each record gets its
     * chunk's start as timestamp.
     */
    public Read<T> withTimestampFn(SerializableFunction<T, Instant> timestampFn) {
      checkArgument(timestampFn != null, "withTimestampFn(fn): function must not be null");
      return toBuilder().setTimestampFn(timestampFn).build();
    }

    /**
     * How far a record's event time may lie before the chunk it was queried in, e.g. when the
     * query selects by ingestion time but the timestamp function returns event time. The
     * watermark after chunk {@code [p, q)} is {@code q - watermarkDelay}. Default zero; allowed:
     * zero or positive.
     */
    public Read<T> withWatermarkDelay(Duration watermarkDelay) {
      checkNonNegative("withWatermarkDelay", watermarkDelay);
      return toBuilder().setWatermarkDelay(watermarkDelay).build();
    }

    /**
     * The most restrictions the backlog (the part of the range already past the safe horizon when
     * the read starts) is cut into, so a long catch-up runs in parallel without building one
     * object per chunk. Default {@link #DEFAULT_MAX_INITIAL_SPLITS}; allowed: 1 or more.
     */
    public Read<T> withMaxInitialSplits(int maxInitialSplits) {
      checkArgument(
          maxInitialSplits >= 1,
          "withMaxInitialSplits: must be at least 1, was %s",
          maxInitialSplits);
      return toBuilder().setMaxInitialSplits(maxInitialSplits).build();
    }

    /** Replaces the clock; for tests. */
    Read<T> withClock(MicrosClock clock) {
      checkArgument(clock != null, "withClock(clock): clock must not be null");
      return toBuilder().setClock(clock).build();
    }

    private static void checkNonNegative(String option, Duration d) {
      checkArgument(
          d != null && !d.isNegative(), "%s: must be zero or positive, was %s", option, d);
      checkArgument(
          d.getNano() % 1_000 == 0,
          "%s: must be a whole number of microseconds, was %s",
          option,
          d);
    }

    private static void checkPositiveMicros(String option, Duration d) {
      checkArgument(
          d != null && !d.isNegative() && !d.isZero(),
          "%s: must be positive (at least 1 µs), was %s",
          option,
          d);
      checkNonNegative(option, d);
    }

    @Override
    public PCollection<T> expand(PBegin input) {
      TimeRangeQuery<T> query = getQuery();
      checkState(
          query != null,
          "TimeRangeIO.read() requires a source: call withQuery(TimeRangeQuery) before applying"
              + " it");
      checkArgument(
          getStartMode() != StartMode.EARLIEST || query.supportsEarliest(),
          "withStartTime(\"earliest\"): the query %s can't report its earliest record"
              + " (TimeRangeQuery.supportsEarliest() is false); give an ISO-8601 start time or"
              + " \"latest\", or a query that implements earliest()",
          query);
      Long end = getEndMicros();
      if (end != null && getStartMode() == StartMode.INSTANT) {
        checkArgument(
            end >= getStartMicros(),
            "withEndTime: the end time %s is before the start time %s; the end must be at or"
                + " after the start",
            Times.describe(end),
            Times.describe(getStartMicros()));
      }
      Coder<T> coder = getCoder() != null ? getCoder() : inferCoder(input, query);
      return input
          .apply("Impulse", Impulse.create())
          .apply("ReadTimeRanges", ParDo.of(ReadFn.of(this)))
          .setCoder(coder);
    }

    @SuppressWarnings("unchecked")
    private Coder<T> inferCoder(PBegin input, TimeRangeQuery<T> query) {
      TypeDescriptor<?> recordType =
          TypeDescriptor.of(query.getClass())
              .resolveType(TimeRangeQuery.class.getTypeParameters()[0]);
      try {
        if (recordType.hasUnresolvedParameters()) {
          throw new CannotProvideCoderException("the record type is a type variable");
        }
        return (Coder<T>) input.getPipeline().getCoderRegistry().getCoder(recordType);
      } catch (CannotProvideCoderException e) {
        throw new IllegalStateException(
            "TimeRangeIO.read(): can't infer a coder for the records of "
                + query.getClass().getName()
                + " (record type "
                + recordType
                + "); call withCoder(Coder)",
            e);
      }
    }

    @Override
    public void populateDisplayData(DisplayData.Builder builder) {
      super.populateDisplayData(builder);
      builder
          .addIfNotNull(
              DisplayData.item("query", getQuery() == null ? null : getQuery().getClass().getName())
                  .withLabel("Time range query"))
          .addIfNotNull(
              DisplayData.item("coder", getCoder() == null ? null : getCoder().toString())
                  .withLabel("Record coder"))
          .add(DisplayData.item("startTime", describeStart()).withLabel("Start time"))
          .add(
              DisplayData.item(
                      "endTime",
                      getEndMicros() == null ? "none (unbounded)" : Times.describe(getEndMicros()))
                  .withLabel("End time"))
          .add(
              DisplayData.item("partitionDuration", getPartitionDuration().toString())
                  .withLabel("Partition (chunk) duration"))
          .add(
              DisplayData.item("ingestionLag", getIngestionLag().toString())
                  .withLabel("Ingestion lag"))
          .add(
              DisplayData.item("pollInterval", getPollInterval().toString())
                  .withLabel("Poll interval"))
          .add(
              DisplayData.item("watermarkDelay", getWatermarkDelay().toString())
                  .withLabel("Watermark delay"))
          .addIfNotNull(
              DisplayData.item(
                      "timestampFn",
                      getTimestampFn() == null ? null : getTimestampFn().getClass().getName())
                  .withLabel("Timestamp function"))
          .add(
              DisplayData.item("maxInitialSplits", getMaxInitialSplits())
                  .withLabel("Max initial splits"));
    }

    String describeStart() {
      switch (getStartMode()) {
        case EARLIEST:
          return "earliest";
        case LATEST:
          return "latest";
        default:
          return Times.describe(getStartMicros());
      }
    }
  }
}
