package dev.timerangeio;

import static dev.timerangeio.Checks.checkArgument;

import com.google.auto.value.AutoValue;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.transforms.errorhandling.BadRecord;
import org.apache.beam.sdk.transforms.errorhandling.ErrorHandler;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PInput;
import org.apache.beam.sdk.values.POutput;
import org.apache.beam.sdk.values.PValue;
import org.apache.beam.sdk.values.TupleTag;
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
 *             .withRecordType(TypeDescriptor.of(Event.class)) // @DefaultSchema: a schema coder
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
  /** Default {@link Read#withProgressLogInterval}: a progress line every 30 seconds per worker. */
  public static final Duration DEFAULT_PROGRESS_LOG_INTERVAL = Duration.ofSeconds(30);
  /** Default {@link Read#withMaxInitialSplits}: 100 restrictions for the backlog. */
  public static final int DEFAULT_MAX_INITIAL_SPLITS = 100;

  /** Default {@link Read#withMaxRetries}: 8 retries of a failed source call. */
  public static final int DEFAULT_READ_MAX_RETRIES = 8;
  /** Default {@link Read#withInitialBackoff}: 500 ms, doubling (with jitter) up to a minute. */
  public static final Duration DEFAULT_READ_INITIAL_BACKOFF = Duration.ofMillis(500);
  /** Default {@link Read#withMaxRetryDuration}: ten minutes. */
  public static final Duration DEFAULT_READ_MAX_RETRY_DURATION = Duration.ofMinutes(10);

  /** Default {@link Write#withDedupTtl}: ten minutes, as Beam's {@code Deduplicate}. */
  public static final Duration DEFAULT_DEDUP_TTL = Duration.ofMinutes(10);
  /** Default {@link Write#withBatchSize}: 1,000 records. */
  public static final int DEFAULT_BATCH_SIZE = 1_000;
  /** Default {@link Write#withMaxBatchDelay}: one second. */
  public static final Duration DEFAULT_MAX_BATCH_DELAY = Duration.ofSeconds(1);
  /** Default {@link Write#withMaxRetries}: 8 retries of a failed batch. */
  public static final int DEFAULT_WRITE_MAX_RETRIES = 8;
  /** Default {@link Write#withInitialBackoff}: 200 ms, doubling (with jitter) up to a minute. */
  public static final Duration DEFAULT_WRITE_INITIAL_BACKOFF = Duration.ofMillis(200);

  /** @deprecated read as {@link #DEFAULT_READ_INITIAL_BACKOFF}. */
  @Deprecated
  public static final Duration DEFAULT_SOURCE_INITIAL_BACKOFF = DEFAULT_READ_INITIAL_BACKOFF;
  /** @deprecated read as {@link #DEFAULT_READ_MAX_RETRY_DURATION}. */
  @Deprecated
  public static final Duration DEFAULT_MAX_RETRY_DURATION = DEFAULT_READ_MAX_RETRY_DURATION;
  /** @deprecated {@link #DEFAULT_READ_MAX_RETRIES} or {@link #DEFAULT_WRITE_MAX_RETRIES}. */
  @Deprecated public static final int DEFAULT_MAX_RETRIES = DEFAULT_WRITE_MAX_RETRIES;
  /** @deprecated read as {@link #DEFAULT_WRITE_INITIAL_BACKOFF}. */
  @Deprecated
  public static final Duration DEFAULT_INITIAL_BACKOFF = DEFAULT_WRITE_INITIAL_BACKOFF;

  /**
   * An exactly-once write into an {@link IdempotentSink}; needs {@link Write#to}. See {@link
   * Write}.
   */
  public static <T> Write<T> write() {
    return new AutoValue_TimeRangeIO_Write.Builder<T>()
        .setDedupTtl(DEFAULT_DEDUP_TTL)
        .setBatchSize(DEFAULT_BATCH_SIZE)
        .setMaxBatchDelay(DEFAULT_MAX_BATCH_DELAY)
        .setMaxRetries(DEFAULT_WRITE_MAX_RETRIES)
        .setInitialBackoff(DEFAULT_WRITE_INITIAL_BACKOFF)
        .setClock(MicrosClock.SYSTEM)
        .build();
  }

  /** A read starting at {@code "latest"}, with the defaults above; needs {@link Read#withQuery}. */
  public static <T> Read<T> read() {
    return new AutoValue_TimeRangeIO_Read.Builder<T>()
        .setStartMode(StartMode.LATEST)
        .setPartitionDuration(DEFAULT_PARTITION_DURATION)
        .setIngestionLag(DEFAULT_INGESTION_LAG)
        .setPollInterval(DEFAULT_POLL_INTERVAL)
        .setWatermarkDelay(Duration.ZERO)
        .setMaxInitialSplits(DEFAULT_MAX_INITIAL_SPLITS)
        .setLiveEdgeReaders(1)
        .setMaxRetries(DEFAULT_READ_MAX_RETRIES)
        .setInitialBackoff(DEFAULT_READ_INITIAL_BACKOFF)
        .setMaxRetryDuration(DEFAULT_READ_MAX_RETRY_DURATION)
        .setMaxRowsPerQuery(0)
        .setMaxQueriesPerSecond(0)
        .setMaxConcurrentQueries(0)
        .setProgressLogInterval(DEFAULT_PROGRESS_LOG_INTERVAL)
        .setClock(MicrosClock.SYSTEM)
        .build();
  }

  private static void checkProgressLocation(String location) {
    checkArgument(
        location != null && !location.isBlank() && !location.matches(".*[*?\\[\\]{}].*"),
        "withProgressLocation: must be the path of one file (no wildcards), was %s",
        location);
    checkArgument(
        !location.endsWith("/"),
        "withProgressLocation: must name a file, not a directory, was %s",
        location);
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

    abstract @Nullable TypeDescriptor<T> getRecordType();

    abstract StartMode getStartMode();

    abstract @Nullable Long getStartMicros();

    abstract @Nullable Long getEndMicros();

    abstract Duration getPartitionDuration();

    abstract Duration getIngestionLag();

    abstract Duration getPollInterval();

    abstract Duration getWatermarkDelay();

    abstract @Nullable SerializableFunction<T, Instant> getTimestampFn();

    abstract int getMaxInitialSplits();

    abstract int getLiveEdgeReaders();

    abstract MicrosClock getClock();

    abstract @Nullable String getProgressLocation();

    abstract int getMaxRetries();

    abstract Duration getInitialBackoff();

    abstract Duration getMaxRetryDuration();

    abstract long getMaxRowsPerQuery();

    abstract @Nullable ErrorHandler<BadRecord, ?> getBadRecordErrorHandler();

    abstract @Nullable IdempotentSink<BadRecord> getDeadLetterSink();

    abstract double getMaxQueriesPerSecond();

    abstract int getMaxConcurrentQueries();

    abstract Duration getProgressLogInterval();

    abstract @Nullable Duration getLookback();

    abstract Builder<T> toBuilder();

    @AutoValue.Builder
    abstract static class Builder<T> {
      abstract Builder<T> setMaxRetries(int retries);

      abstract Builder<T> setInitialBackoff(Duration backoff);

      abstract Builder<T> setMaxRetryDuration(Duration duration);

      abstract Builder<T> setMaxRowsPerQuery(long maxRows);

      abstract Builder<T> setBadRecordErrorHandler(ErrorHandler<BadRecord, ?> handler);

      abstract Builder<T> setDeadLetterSink(IdempotentSink<BadRecord> sink);

      abstract Builder<T> setMaxQueriesPerSecond(double rate);

      abstract Builder<T> setMaxConcurrentQueries(int max);

      abstract Builder<T> setProgressLogInterval(Duration interval);

      abstract Builder<T> setLookback(Duration lookback);


      abstract Builder<T> setQuery(TimeRangeQuery<T> query);

      abstract Builder<T> setCoder(Coder<T> coder);

      abstract Builder<T> setRecordType(TypeDescriptor<T> type);

      abstract Builder<T> setStartMode(StartMode mode);

      abstract Builder<T> setStartMicros(@Nullable Long micros);

      abstract Builder<T> setEndMicros(Long micros);

      abstract Builder<T> setPartitionDuration(Duration d);

      abstract Builder<T> setIngestionLag(Duration d);

      abstract Builder<T> setPollInterval(Duration d);

      abstract Builder<T> setWatermarkDelay(Duration d);

      abstract Builder<T> setTimestampFn(SerializableFunction<T, Instant> fn);

      abstract Builder<T> setMaxInitialSplits(int n);

      abstract Builder<T> setLiveEdgeReaders(int n);

      abstract Builder<T> setClock(MicrosClock clock);

      abstract Builder<T> setProgressLocation(String location);

      abstract Read<T> build();
    }

    /** The source to read. Required. */
    public Read<T> withQuery(TimeRangeQuery<T> query) {
      checkArgument(query != null, "withQuery(query): query must not be null");
      return toBuilder().setQuery(query).build();
    }

    /**
     * The coder of the records. Default: inferred from the record type ({@link #withRecordType},
     * or the one the query's class declares, as a class that implements {@code
     * TimeRangeQuery<Event>}): a schema coder when Beam infers a schema for it ({@code
     * @DefaultSchema} POJOs, Java beans and AutoValues), else the pipeline's coder registry; a
     * {@code Row} schema the query reports ({@link TimeRangeQuery#schema()}) wins over both.
     *
     * <p>Prefer a schema coder to {@code SerializableCoder}: on a Flink cluster with Beam in its
     * {@code lib/} (parent-first), Java serialization of a class from the job jar fails with
     * {@code ClassNotFoundException}, because Beam deserializes with its own class loader.
     */
    public Read<T> withCoder(Coder<T> coder) {
      checkArgument(coder != null, "withCoder(coder): coder must not be null");
      return toBuilder().setCoder(coder).build();
    }

    /**
     * The records' type, for a query whose class doesn't declare it (a {@code
     * JdbcTimeRangeQuery<Event>} or {@code HttpTimeRangeQuery<Event>} built with a lambda), so
     * the read can infer a coder for them (see {@link #withCoder}): {@code
     * withRecordType(TypeDescriptor.of(Event.class))}. Default: the type the query's class
     * declares.
     */
    public Read<T> withRecordType(TypeDescriptor<T> type) {
      checkArgument(type != null, "withRecordType(type): type must not be null");
      return toBuilder().setRecordType(type).build();
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
     * multiples of this duration since the epoch. (The name is the PySpark reader's, where a chunk
     * was a "partition"; everywhere else this library says chunk.) Default {@link #DEFAULT_PARTITION_DURATION};
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
     * Reads each chunk a second time once its end is {@code ingestionLag + lookback} old and emits
     * the records the first read did not return: late data, ingested after the lag. A source that
     * can count ({@link TimeRangeQuery#supportsCount()}) is first asked for the chunk's count, and
     * the chunk is re-read only when the count differs from what the first read returned. Records
     * found late count in {@code lateRecords}; a chunk whose count still disagrees after the re-read
     * (deleted rows, a source still ingesting) counts in {@code incompleteChunks} and is logged.
     *
     * <p>Each record the source returns, in the first read or the re-read, is emitted once per
     * launch. The read's watermark and its committed progress position follow the re-read, {@code
     * ingestionLag + lookback} behind the clock, so records found late are not late for downstream
     * windows, and a relaunch re-reads the window that may still be re-read. See the README's "Late
     * data". Default: none (each chunk is read once); allowed: positive, a whole number of
     * microseconds.
     */
    public Read<T> withLookback(Duration lookback) {
      checkPositiveMicros("withLookback", lookback);
      return toBuilder().setLookback(lookback).build();
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

    /**
     * How many readers share each chunk at the live edge. Once a read has caught up, its chunks
     * come one at a time as the clock passes them, so by default (1) the one worker holding the
     * read's last restriction reads every one of them, however many workers the job has. With
     * {@code n >= 2}, each chunk claimed within one chunk of the safe horizon is cut into {@code
     * n} adjacent parts (on the source's {@link TimeRangeQuery#boundGranularityMicros() grid};
     * fewer when the chunk is too short) that are handed out as elements through a
     * redistribute, so readers on every worker query the live edge in parallel. Each part is read
     * whole by one reader, exactly as a chunk is; the watermark is the minimum over the parts in
     * flight, and the committed position advances only through parts read without a gap. The
     * backlog is read as before, by the restrictions it is split into. Use about the number of
     * worker threads for a busy source; each part is one more query per chunk. Default 1;
     * allowed: 1 to 1,000.
     */
    public Read<T> withLiveEdgeReaders(int liveEdgeReaders) {
      checkArgument(
          liveEdgeReaders >= 1 && liveEdgeReaders <= 1_000,
          "withLiveEdgeReaders: must be from 1 to 1000, was %s",
          liveEdgeReaders);
      return toBuilder().setLiveEdgeReaders(liveEdgeReaders).build();
    }

    /**
     * Where the committed read position is kept across relaunches: a file path Beam's {@code
     * FileSystems} can write ({@code /var/lib/job/progress.json}, {@code gs://bucket/job.json}).
     * When the file holds an offset, the read starts there and the configured start time is
     * ignored (the log says so); a file that is not an offset fails the read, naming it. When it
     * holds none, the read stores its resolved start there before reading, so a relaunch after a
     * crash before the first commit continues from this launch's start. Give the same location
     * to {@link Write#withProgressLocation}, which advances it through the chunks read once the
     * sink holds every record they returned. One location belongs to one read and one write in
     * one running pipeline (a second read of it is rejected when applied); with {@link
     * #withBadRecordErrorHandler} it needs {@link #withDeadLetterSink} too. Default: none; every
     * launch starts at the configured start time.
     */
    public Read<T> withProgressLocation(String location) {
      checkProgressLocation(location);
      return toBuilder().setProgressLocation(location).build();
    }

    /**
     * How often a chunk whose query failed transiently is retried before the bundle fails (and the
     * runner retries it). Transient: a {@link TransientSourceException}, JDBC transient,
     * connection (SQLSTATE 08), rollback (40), resource (53) and shutdown (57P0x) errors, socket
     * and HTTP timeouts, refused and reset connections. Anything else fails the bundle at once
     * with the source's message. Each retry counts in {@code sourceRetries}. Default {@link
     * #DEFAULT_READ_MAX_RETRIES}; allowed: 0 or more.
     */
    public Read<T> withMaxRetries(int maxRetries) {
      checkArgument(maxRetries >= 0, "withMaxRetries: must be 0 or more, was %s", maxRetries);
      return toBuilder().setMaxRetries(maxRetries).build();
    }

    /**
     * The first retry's wait; each further wait is 1.5 times longer, randomized by ±50 % and
     * capped at one minute, and never shorter than a {@link TransientSourceException#retryAfter()}
     * the source gave. Default {@link #DEFAULT_READ_INITIAL_BACKOFF}; allowed: 1 ms or more.
     */
    public Read<T> withInitialBackoff(Duration initialBackoff) {
      checkArgument(
          initialBackoff != null && initialBackoff.toMillis() >= 1,
          "withInitialBackoff: must be at least 1 ms, was %s",
          initialBackoff);
      return toBuilder().setInitialBackoff(initialBackoff).build();
    }

    /**
     * The longest a chunk is retried, waits included, before the bundle fails. Default {@link
     * #DEFAULT_READ_MAX_RETRY_DURATION}; allowed: 1 ms or more.
     */
    public Read<T> withMaxRetryDuration(Duration maxRetryDuration) {
      checkArgument(
          maxRetryDuration != null && maxRetryDuration.toMillis() >= 1,
          "withMaxRetryDuration: must be at least 1 ms, was %s",
          maxRetryDuration);
      return toBuilder().setMaxRetryDuration(maxRetryDuration).build();
    }

    /**
     * The most records one query may return. A range with more (or one the source refuses with
     * {@link ResultTooLargeException}, which is honoured whatever this setting) is bisected and
     * read again, recursively, emitting nothing from the oversized answer; each bisection counts
     * in {@code rangeBisections}. A single microsecond with more is read in pages of {@code
     * maxRows} (1,000 without a cap; halved while the source refuses a page) ordered by the
     * source's tie-breaker ({@link TimeRangeQuery#queryPage}, counted in {@code pagesRead}), or,
     * for a source that can't page, fails the bundle naming it and its record count. Sources that
     * can stop early are asked for at most {@code maxRows + 1} records ({@link
     * TimeRangeQuery#query(TimeRange, long)}). Default: no cap; allowed: 1 or more.
     */
    public Read<T> withMaxRowsPerQuery(long maxRows) {
      checkArgument(maxRows >= 1, "withMaxRowsPerQuery: must be at least 1, was %s", maxRows);
      return toBuilder().setMaxRowsPerQuery(maxRows).build();
    }

    /**
     * Where records that fail their checks go instead of failing the bundle: a record whose
     * {@link #withTimestampFn time} is missing or can't be computed, or a row the connector
     * reports it could not map ({@link TimeRangeQuery.Result#unmapped()}, {@code badRows}), or a
     * record whose time lies outside the range it was queried for ({@code outOfRangeRows}). Each arrives as a Beam {@link
     * BadRecord} with the record (as JSON and encoded) and the reason. Beam's convention, as in
     * {@code KafkaIO}: {@code try (BadRecordErrorHandler<?> h =
     * pipeline.registerBadRecordErrorHandler(sink)) {...}}. Default: none; such records fail the
     * bundle with a message naming the record's time and the chunk (counted all the same).
     */
    public Read<T> withBadRecordErrorHandler(ErrorHandler<BadRecord, ?> handler) {
      checkArgument(
          handler != null, "withBadRecordErrorHandler(handler): handler must not be null");
      return toBuilder().setBadRecordErrorHandler(handler).build();
    }

    /**
     * Where the read stores bad records (the same ones as {@link #withBadRecordErrorHandler})
     * itself, synchronously, before it reports their chunk as read: with a {@link
     * #withProgressLocation progress location}, the committed position then never passes a bad
     * record before the dead-letter sink holds it, which a handler's sink, applied later in the
     * pipeline, can't promise (so a read with a progress location takes no handler without this).
     * Keyed like records ({@link IdempotentSink}): by the record as encoded and the reason, so a
     * re-read stores a bad record once. Transient failures are retried as queries are ({@link
     * #withMaxRetries}); a dead letter the dead-letter sink rejects fails the bundle. With a
     * handler too, the handler gets each bad record as well. Default: none.
     */
    public Read<T> withDeadLetterSink(IdempotentSink<BadRecord> sink) {
      checkArgument(sink != null, "withDeadLetterSink(sink): sink must not be null");
      return toBuilder().setDeadLetterSink(sink).build();
    }

    /**
     * The most queries per second this read sends from one worker, shared by all its threads
     * there; queries beyond it wait their turn. Retries count too. Default: no limit; allowed: a
     * positive rate, e.g. {@code 0.5} for one query every two seconds.
     */
    public Read<T> withMaxQueriesPerSecond(double maxQueriesPerSecond) {
      checkArgument(
          maxQueriesPerSecond > 0 && Double.isFinite(maxQueriesPerSecond),
          "withMaxQueriesPerSecond: must be a positive number, was %s",
          maxQueriesPerSecond);
      return toBuilder().setMaxQueriesPerSecond(maxQueriesPerSecond).build();
    }

    /**
     * The most queries this read runs at once on one worker, shared by all its threads there.
     * Default: no cap; allowed: 1 or more.
     */
    public Read<T> withMaxConcurrentQueries(int maxConcurrentQueries) {
      checkArgument(
          maxConcurrentQueries >= 1,
          "withMaxConcurrentQueries: must be at least 1, was %s",
          maxConcurrentQueries);
      return toBuilder().setMaxConcurrentQueries(maxConcurrentQueries).build();
    }

    /**
     * How often each worker logs (SLF4J, INFO, logger {@code dev.timerangeio.ProgressLog}) how far
     * it has come: while it has a backlog, the chunks it has read of those it has in hand, rows
     * per second and an estimated time left; once it follows the clock, how far its position
     * trails the safe horizon. Default {@link #DEFAULT_PROGRESS_LOG_INTERVAL}; allowed: {@link
     * Duration#ZERO} (no progress lines) or at least 1 ms.
     */
    public Read<T> withProgressLogInterval(Duration interval) {
      checkArgument(
          interval != null && (interval.isZero() || interval.toMillis() >= 1),
          "withProgressLogInterval: must be Duration.ZERO (off) or at least 1 ms, was %s",
          interval);
      return toBuilder().setProgressLogInterval(interval).build();
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
      return ReadExpansion.expand(this, input);
    }

    @Override
    public void populateDisplayData(DisplayData.Builder builder) {
      super.populateDisplayData(builder);
      ReadExpansion.populateDisplayData(this, builder);
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

  /**
   * Writes every record once into an {@link IdempotentSink}, keyed by its idempotency key.
   *
   * <pre>{@code
   * TimeRangeIO.Write.Result result =
   *     events.apply(
   *         TimeRangeIO.<Event>write()
   *             .to(JdbcIdempotentSink.forRows(url, "events_copy").withCreateTable(true))
   *             .withKeyFn(Event::id)                       // what identifies a record
   *             .withProgressLocation("/var/lib/job/progress.json"));
   * result.getFailedRecords().apply(...);                   // records the sink rejected
   * }</pre>
   *
   * <p>Each record gets the key {@link IdempotencyKeys#of IdempotencyKeys.of(keyFn(record))} (the
   * whole record without a key function), so the same record read twice, by a retry or a relaunch,
   * gets the same key. The records are re-windowed into the global window and a stateful step
   * keyed on shards of the key space drops duplicates seen within {@link #withDedupTtl the TTL};
   * batches then go
   * to the sink, which skips keys it already holds. That pair is what makes the sink exact: the
   * stateful step removes duplicates in flight cheaply, the sink removes the rest (re-reads after
   * a relaunch, duplicates further apart than the TTL).
   *
   * <p>With {@link #withProgressLocation} the write also commits the read position for {@link
   * Read#withProgressLocation}: see that method. The records must keep the timestamps the read
   * gave them (or earlier ones) on their way here: the commit follows the watermark.
   */
  @AutoValue
  public abstract static class Write<T> extends PTransform<PCollection<T>, Write.Result> {

    abstract @Nullable IdempotentSink<T> getSink();

    abstract @Nullable SerializableFunction<T, ?> getKeyFn();

    abstract @Nullable String getSourceIdentity();

    abstract Duration getDedupTtl();

    abstract int getBatchSize();

    abstract Duration getMaxBatchDelay();

    abstract int getMaxRetries();

    abstract Duration getInitialBackoff();

    abstract @Nullable String getProgressLocation();

    abstract @Nullable IdempotentSink<BadRecord> getDeadLetterSink();

    abstract MicrosClock getClock();

    abstract Builder<T> toBuilder();

    @AutoValue.Builder
    abstract static class Builder<T> {
      abstract Builder<T> setSink(IdempotentSink<T> sink);

      abstract Builder<T> setKeyFn(SerializableFunction<T, ?> keyFn);

      abstract Builder<T> setSourceIdentity(String source);

      abstract Builder<T> setDedupTtl(Duration ttl);

      abstract Builder<T> setBatchSize(int size);

      abstract Builder<T> setMaxBatchDelay(Duration delay);

      abstract Builder<T> setMaxRetries(int retries);

      abstract Builder<T> setInitialBackoff(Duration backoff);

      abstract Builder<T> setProgressLocation(String location);

      abstract Builder<T> setDeadLetterSink(IdempotentSink<BadRecord> sink);

      abstract Builder<T> setClock(MicrosClock clock);

      abstract Write<T> build();
    }

    /** The sink; it must skip keys it already holds (see {@link IdempotentSink}). Required. */
    public Write<T> to(IdempotentSink<T> sink) {
      checkArgument(sink != null, "to(sink): sink must not be null");
      return toBuilder().setSink(sink).build();
    }

    /**
     * What identifies a record, e.g. its source-provided id: the key is {@code
     * IdempotencyKeys.of(keyFn.apply(record))}. It must be a pure function of the record (never a
     * batch id, a read time or a random value), or a re-read would get a new key and be written
     * twice. Default: the whole record.
     */
    public Write<T> withKeyFn(SerializableFunction<T, ?> keyFn) {
      checkArgument(keyFn != null, "withKeyFn(fn): function must not be null");
      return toBuilder().setKeyFn(keyFn).build();
    }

    /**
     * A name of the source mixed into every key ({@link IdempotencyKeys#of(String, Object)}), so
     * equal ids from two sources writing into one sink don't collide. Default: none.
     */
    public Write<T> withSourceIdentity(String source) {
      checkArgument(
          source != null && !source.isEmpty(),
          "withSourceIdentity: must be a non-empty string, was %s",
          source);
      return toBuilder().setSourceIdentity(source).build();
    }

    /**
     * How long (processing time since a key was first seen) a copy of it counts as a duplicate in
     * flight and is dropped: exactly this long, also after a restore. Memory is about one key per
     * record written within 1.5 times this. Default {@link #DEFAULT_DEDUP_TTL}; allowed: 2 ms or more.
     */
    public Write<T> withDedupTtl(Duration ttl) {
      checkArgument(
          ttl != null && ttl.toMillis() >= 2,
          "withDedupTtl: must be at least 2 ms, was %s",
          ttl);
      return toBuilder().setDedupTtl(ttl).build();
    }

    /**
     * The most records per {@link IdempotentSink#write} call. Default {@link #DEFAULT_BATCH_SIZE};
     * allowed: 1 or more.
     */
    public Write<T> withBatchSize(int batchSize) {
      checkArgument(batchSize >= 1, "withBatchSize: must be at least 1, was %s", batchSize);
      return toBuilder().setBatchSize(batchSize).build();
    }

    /**
     * The longest a record waits in a partly filled batch before the batch is written; a batch is
     * also written at the end of each bundle. Default {@link #DEFAULT_MAX_BATCH_DELAY}; allowed:
     * zero (write every record at once) or more.
     */
    public Write<T> withMaxBatchDelay(Duration delay) {
      checkArgument(
          delay != null && !delay.isNegative(),
          "withMaxBatchDelay: must be zero or positive, was %s",
          delay);
      return toBuilder().setMaxBatchDelay(delay).build();
    }

    /**
     * How often a batch that failed transiently is retried before the bundle fails (and the
     * runner retries it). Default {@link #DEFAULT_WRITE_MAX_RETRIES}; allowed: 0 or more.
     */
    public Write<T> withMaxRetries(int maxRetries) {
      checkArgument(maxRetries >= 0, "withMaxRetries: must be 0 or more, was %s", maxRetries);
      return toBuilder().setMaxRetries(maxRetries).build();
    }

    /**
     * The first retry's wait; each further wait is 1.5 times longer, randomized by ±50 % so
     * workers don't retry in step, and capped at one minute. Default {@link
     * #DEFAULT_WRITE_INITIAL_BACKOFF}; allowed: 1 ms or more.
     */
    public Write<T> withInitialBackoff(Duration initialBackoff) {
      checkArgument(
          initialBackoff != null && initialBackoff.toMillis() >= 1,
          "withInitialBackoff: must be at least 1 ms, was %s",
          initialBackoff);
      return toBuilder().setInitialBackoff(initialBackoff).build();
    }

    /**
     * Where to commit the read position once the sink holds every record queried before it; the
     * {@link Read} applied earlier in the same pipeline must have the same {@link
     * Read#withProgressLocation location} (checked when applied). The position is a query-time
     * position: it advances through the chunks that read has read, each once every record it
     * returned is acknowledged by the sink (or stored by {@link #withDeadLetterSink}), whatever
     * the records' event times; so it lags the sink a little, never runs ahead of it, and never
     * passes the end of what was read. One location belongs to one read and one write in one
     * running pipeline: a second write to it is rejected when applied. Default: none.
     */
    public Write<T> withProgressLocation(String location) {
      checkProgressLocation(location);
      return toBuilder().setProgressLocation(location).build();
    }

    /**
     * Where the write stores the records the sink rejects ({@link RejectedRecordException}),
     * synchronously, inside the bundle that found them and before the records count as done:
     * with a {@link #withProgressLocation progress location}, the committed position then never
     * passes a rejected record before the dead-letter sink holds it. Keyed by the record's
     * idempotency key. They still appear in {@link Result#getFailedRecords()} as well. Transient
     * failures are retried as sink writes are; a dead letter the dead-letter sink rejects fails
     * the bundle. Without it, and with a progress location, a rejected record fails the bundle
     * (the position can't pass it, nothing is lost); without either, it only goes to {@link
     * Result#getFailedRecords()}. Default: none.
     */
    public Write<T> withDeadLetterSink(IdempotentSink<BadRecord> sink) {
      checkArgument(sink != null, "withDeadLetterSink(sink): sink must not be null");
      return toBuilder().setDeadLetterSink(sink).build();
    }

    /** Replaces the clock that times batches; for tests. */
    Write<T> withClock(MicrosClock clock) {
      checkArgument(clock != null, "withClock(clock): clock must not be null");
      return toBuilder().setClock(clock).build();
    }

    @Override
    public Result expand(PCollection<T> input) {
      return WriteExpansion.expand(this, input);
    }

    /**
     * With a progress location, checks when the pipeline is run (the whole graph is known then),
     * before anything is read or committed, that the write's input comes from the read with that
     * location through steps that keep the commit sound: see the README's "Exactly-once into a
     * sink" for the supported shapes.
     */
    @Override
    public void validate(
        @Nullable PipelineOptions options,
        Map<TupleTag<?>, PCollection<?>> inputs,
        Map<TupleTag<?>, PCollection<?>> outputs) {
      super.validate(options, inputs, outputs);
      String location = getProgressLocation();
      if (location == null || inputs.isEmpty()) {
        return;
      }
      PCollection<?> input = inputs.values().iterator().next();
      WriteExpansion.checkCommitPath(input, location);
    }

    @Override
    public void populateDisplayData(DisplayData.Builder builder) {
      super.populateDisplayData(builder);
      WriteExpansion.populateDisplayData(this, builder);
    }

    /**
     * What {@link Write} produces: the idempotency keys the sink acknowledged (at their records'
     * timestamps, in the global window) and the records it rejected, as Beam {@link BadRecord}s
     * (the record as JSON and encoded with its coder, the sink's message and stack trace).
     */
    public static final class Result implements POutput {
      private final Pipeline pipeline;
      private final TupleTag<String> writtenTag;
      private final PCollection<String> writtenKeys;
      private final TupleTag<BadRecord> failedTag;
      private final PCollection<BadRecord> failedRecords;
      private final Runnable writtenKeysWanted;

      Result(
          Pipeline pipeline,
          TupleTag<String> writtenTag,
          PCollection<String> writtenKeys,
          Runnable writtenKeysWanted,
          TupleTag<BadRecord> failedTag,
          PCollection<BadRecord> failedRecords) {
        this.pipeline = pipeline;
        this.writtenTag = writtenTag;
        this.writtenKeys = writtenKeys;
        this.writtenKeysWanted = writtenKeysWanted;
        this.failedTag = failedTag;
        this.failedRecords = failedRecords;
      }

      /**
       * The idempotency key of every record the sink acknowledged, at its record's timestamp.
       *
       * <p>The write emits these keys only for a pipeline that called this method while it was
       * built (before {@code run()}); otherwise this output stays empty. Keys nobody reads cost a
       * tenth of the write on Flink (one element per record, serialized into a discarding sink),
       * as BigQueryIO's successful inserts are also emitted only when asked for.
       */
      public PCollection<String> getWrittenKeys() {
        writtenKeysWanted.run();
        return writtenKeys;
      }

      /**
       * The records the write could not store: those the sink rejected for good ({@link
       * RejectedRecordException}) and those that could not be keyed (see {@link IdempotencyKeys}).
       */
      public PCollection<BadRecord> getFailedRecords() {
        return failedRecords;
      }

      @Override
      public Pipeline getPipeline() {
        return pipeline;
      }

      /**
       * The written keys and the failed records by tag, for Beam. The written keys are emitted
       * only if {@link #getWrittenKeys} was called: a consumer that reaches them through this map
       * alone (a generic wrapper of this transform) must call it too, or receives none.
       */
      @Override
      public Map<TupleTag<?>, PValue> expand() {
        Map<TupleTag<?>, PValue> outputs = new LinkedHashMap<>();
        outputs.put(writtenTag, writtenKeys);
        outputs.put(failedTag, failedRecords);
        return outputs;
      }

      @Override
      public void finishSpecifyingOutput(
          String transformName, PInput input, PTransform<?, ?> transform) {}
    }
  }
}
