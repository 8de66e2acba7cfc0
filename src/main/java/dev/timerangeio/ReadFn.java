package dev.timerangeio;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.InstantCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Distribution;
import org.apache.beam.sdk.metrics.Gauge;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.errorhandling.BadRecord;
import org.apache.beam.sdk.transforms.errorhandling.BadRecordRouter;
import org.apache.beam.sdk.transforms.splittabledofn.ManualWatermarkEstimator;
import org.apache.beam.sdk.transforms.splittabledofn.RestrictionTracker;
import org.apache.beam.sdk.transforms.splittabledofn.RestrictionTracker.TruncateResult;
import org.apache.beam.sdk.util.BackOff;
import org.apache.beam.sdk.util.FluentBackoff;
import org.apache.beam.sdk.util.Sleeper;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.TupleTag;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The splittable DoFn behind {@link TimeRangeIO.Read}. Its input is the single impulse element;
 * its restriction is a {@link TimeRange} of epoch microseconds, read in fixed-duration chunks.
 *
 * <h3>Initial restriction</h3>
 *
 * {@code [start, end)}: the start resolved when the pipeline starts reading — the configured
 * instant, {@code earliest()} of the source (or the safe horizon if the source is empty), or the
 * safe horizon for {@code "latest"}; the end is the configured end time, or {@link Long#MAX_VALUE}
 * ("no end") for a streaming read.
 *
 * <h3>Initial splitting</h3>
 *
 * The backlog — the part of the range whose chunks are already at or below the safe horizon (now
 * minus the ingestion lag) — is cut into at most {@code maxInitialSplits} restrictions of whole
 * chunks, so that a catch-up over months runs in parallel without building one object per chunk.
 * The rest of the range (up to the end, or unbounded) is one more restriction that follows the
 * clock.
 *
 * <h3>Claims, checkpoints and resume</h3>
 *
 * The tracker ({@link ChunkRangeTracker}) claims a whole chunk {@code [p, q)} at a time, before
 * the chunk is queried. A checkpoint or split always lands on a chunk boundary: a residual taken
 * right after a claim starts at {@code q}, so the claimed chunk is read exactly once, by this
 * call. A chunk is only claimed once {@code q <= now - ingestionLag}; before that the DoFn returns
 * {@code resume()} with a delay of the time left until the chunk is ready, but never less than the
 * poll interval: no busy loop and no sleeping on a worker thread.
 *
 * <h3>Oversized answers</h3>
 *
 * A claimed chunk is read whole by the call that claimed it. An answer over {@code
 * withMaxRowsPerQuery}, or one the source refuses as too large, is dropped unread and the range
 * bisected, recursively, down to one microsecond; a microsecond still too large is read in pages
 * ordered by the source's tie-breaker, each starting after the last one's cursor ({@code
 * {"timestamp", "sequence_id"}}). Nothing from a dropped answer is emitted, and the parts don't
 * overlap, so no record is emitted twice; a checkpoint can only come after the whole chunk.
 *
 * <h3>Progress and size</h3>
 *
 * Work is measured in microseconds of time range: done is what was claimed, remaining is up to
 * the end of the range or, for an unbounded range, up to the safe horizon. {@code @GetSize} is the
 * part of the range that is ready to read now.
 *
 * <h3>Watermark</h3>
 *
 * A manual, monotonic estimator: after a chunk {@code [p, q)} has been emitted, the watermark is
 * {@code q - watermarkDelay}, whether the chunk held records or not, so an idle source's watermark
 * follows the clock. It starts at {@code start - watermarkDelay} and never goes back.
 *
 * <h3>Drain</h3>
 *
 * A drain stops reading at once: {@code @TruncateRestriction} drops every restriction that is not
 * being read, with an end or without, so a drain neither waits for chunks that are not ready nor
 * reads a backlog that is. The chunk being read is finished and emitted.
 *
 * <h3>Progress location</h3>
 *
 * With {@code withProgressLocation}, the launch's start is stored there before anything is read
 * (a stored offset wins over the configured start), and after each chunk the DoFn outputs a
 * signal {@code KV(0, chunk)} on {@link #progressTag}, after the chunk's records and after its dead
 * letters are stored, timestamped at the latest record timestamp the chunk emitted. The write's
 * {@link ProgressFn} commits a position only through chunks signalled without a gap from the
 * start, once the watermark after the sink passes each one's signal: a query-time position that
 * never passes a record still in flight, whatever its event time, nor the end of what was read.
 */
abstract class ReadFn<T> extends DoFn<byte[], T> {
  private static final Logger LOG = LoggerFactory.getLogger(ReadFn.class);
  static final String METRICS_NAMESPACE = "TimeRangeIO";

  private final TimeRangeIO.Read<T> spec;
  private final ChunkGrid grid;
  private final long lagMicros;
  private final long watermarkDelayMicros;
  private final Duration pollInterval;

  private final Counter rowsRead = Metrics.counter(METRICS_NAMESPACE, "rowsRead");
  private final Counter chunksRead = Metrics.counter(METRICS_NAMESPACE, "chunksRead");
  private final Counter emptyChunks = Metrics.counter(METRICS_NAMESPACE, "emptyChunks");
  private final Distribution chunkReadMillis =
      Metrics.distribution(METRICS_NAMESPACE, "chunkReadMillis");
  private final Gauge watermarkLagMillis = Metrics.gauge(METRICS_NAMESPACE, "watermarkLagMillis");
  private final Gauge backlogMicros = Metrics.gauge(METRICS_NAMESPACE, "backlogMicros");
  private final Counter sourceRetries = Metrics.counter(METRICS_NAMESPACE, "sourceRetries");
  private final Counter rangeBisections = Metrics.counter(METRICS_NAMESPACE, "rangeBisections");
  private final Counter outOfRangeRows = Metrics.counter(METRICS_NAMESPACE, "outOfRangeRows");
  private final Counter badRows = Metrics.counter(METRICS_NAMESPACE, "badRows");
  private final Counter pagesRead = Metrics.counter(METRICS_NAMESPACE, "pagesRead");

  /** Records per page of a crowded microsecond when {@code withMaxRowsPerQuery} is not set. */
  static final int DEFAULT_PAGE_SIZE = 1_000;

  /** The main output; records that fail their checks go to {@link BadRecordRouter#BAD_RECORD_TAG}. */
  final TupleTag<T> recordsTag = new TupleTag<>();

  /**
   * With a progress location: one signal per chunk read, {@code KV(0, chunk)}, timestamped at the
   * latest record timestamp the chunk emitted (its start minus the watermark delay when it emitted
   * none), for the write's {@link ProgressFn}.
   */
  final TupleTag<KV<Integer, TimeRange>> progressTag = new TupleTag<KV<Integer, TimeRange>>() {};

  private final Coder<T> coder;
  private final BadRecordRouter badRecordRouter;
  private final @Nullable IdempotentSink<BadRecord> deadLetterSink;

  /**
   * Identifies this applied read's {@link QueryGate} in a worker JVM: drawn when the read is
   * applied (this DoFn is built once per application, then copied to workers), so every copy of
   * it shares one gate, and reads derived from one configuration each have their own.
   */
  private final String queryGateId = java.util.UUID.randomUUID().toString();

  private transient boolean queryOpen;
  private transient @Nullable DeadLetters deadLetters;

  ReadFn(TimeRangeIO.Read<T> spec, Coder<T> coder) {
    this.spec = spec;
    this.coder = coder;
    this.deadLetterSink = spec.getDeadLetterSink();
    this.badRecordRouter =
        spec.getBadRecordErrorHandler() == null
            ? BadRecordRouter.THROWING_ROUTER
            : BadRecordRouter.RECORDING_ROUTER;
    this.grid = new ChunkGrid(Times.durationMicros(spec.getPartitionDuration()));
    this.lagMicros = Times.durationMicros(spec.getIngestionLag());
    this.watermarkDelayMicros = Times.durationMicros(spec.getWatermarkDelay());
    this.pollInterval = Duration.millis(spec.getPollInterval().toMillis());
  }

  static <T> ReadFn<T> of(TimeRangeIO.Read<T> spec, Coder<T> coder) {
    return spec.getEndMicros() != null ? new Bounded<>(spec, coder) : new Unbounded<>(spec, coder);
  }

  /** With the coder given to the read; for tests. */
  static <T> ReadFn<T> of(TimeRangeIO.Read<T> spec) {
    return of(spec, spec.getCoder());
  }

  /** The variant for a read with an end time: a bounded PCollection. */
  @BoundedPerElement
  static final class Bounded<T> extends ReadFn<T> {
    Bounded(TimeRangeIO.Read<T> spec, Coder<T> coder) {
      super(spec, coder);
    }
  }

  /** The variant for a read that follows the clock forever. */
  @UnboundedPerElement
  static final class Unbounded<T> extends ReadFn<T> {
    Unbounded(TimeRangeIO.Read<T> spec, Coder<T> coder) {
      super(spec, coder);
    }
  }

  /** The safe horizon: chunks ending at or below it are fully ingested and may be read. */
  long horizon() {
    return Times.saturatedSubtract(spec.getClock().nowMicros(), lagMicros);
  }

  private TimeRangeQuery<T> query() throws Exception {
    TimeRangeQuery<T> query = spec.getQuery();
    if (!queryOpen) {
      query.open();
      queryOpen = true;
    }
    return query;
  }

  @Setup
  public void setup() throws Exception {
    query();
    deadLetters();
  }

  @Teardown
  public void teardown() throws Exception {
    closeQuery();
    if (deadLetters != null) {
      deadLetters.close();
      deadLetters = null;
    }
  }

  private DeadLetters deadLetters() throws Exception {
    if (deadLetters == null && deadLetterSink != null) {
      deadLetters =
          new DeadLetters(
              deadLetterSink,
              new SinkWrites(spec.getMaxRetries(), spec.getInitialBackoff(), sourceRetries));
      deadLetters.open();
    }
    return deadLetters;
  }

  QueryGate queryGate() {
    return QueryGate.of(
        queryGateId, spec.getMaxQueriesPerSecond(), spec.getMaxConcurrentQueries());
  }

  private void closeQuery() throws Exception {
    if (queryOpen) {
      queryOpen = false;
      spec.getQuery().close();
    }
  }

  @GetInitialRestriction
  public TimeRange initialRestriction() throws Exception {
    long end = spec.getEndMicros() != null ? spec.getEndMicros() : Long.MAX_VALUE;
    long start = resolveStart();
    if (start > end) {
      LOG.info(
          "TimeRangeIO: start {} resolves after the end time {}; nothing to read",
          Times.describe(start),
          Times.describe(end));
      start = end;
    }
    LOG.info("TimeRangeIO: reading {}", TimeRange.of(start, end));
    return TimeRange.of(start, end);
  }

  /**
   * The start of this launch: a stored offset wins; otherwise the configured start, which, with a
   * progress location, is stored before anything is read. So a relaunch after a crash before the
   * first commit continues from this launch's start (not from a new "latest", which would skip
   * what lies between), and the write's {@link ProgressFn} commits from it.
   */
  private long resolveStart() throws Exception {
    String location = spec.getProgressLocation();
    if (location == null) {
      return configuredStart();
    }
    Optional<ProgressOffset> stored = ProgressStore.read(location);
    if (stored.isPresent()) {
      LOG.info(
          "TimeRangeIO: resuming at the committed offset {} from {}; it wins over the configured"
              + " start time {}",
          stored.get(),
          location,
          spec.describeStart());
      return stored.get().timestampMicros();
    }
    long start = configuredStart();
    if (spec.getEndMicros() != null && start > spec.getEndMicros()) {
      // Nothing is read; a later continuation must start at this read's end, not past it.
      start = spec.getEndMicros();
    }
    ProgressStore.write(location, ProgressOffset.ofTimestamp(start));
    LOG.info(
        "TimeRangeIO: no committed offset at {} yet; starting at {} ({}), stored there",
        location,
        Times.describe(start),
        spec.describeStart());
    return start;
  }

  private long configuredStart() throws Exception {
    switch (spec.getStartMode()) {
      case INSTANT:
        return spec.getStartMicros();
      case LATEST:
        return horizon();
      case EARLIEST:
        Optional<Instant> earliest = withRetries("earliest()", () -> query().earliest());
        if (earliest == null || earliest.isEmpty()) {
          long horizon = horizon();
          LOG.info(
              "TimeRangeIO: start \"earliest\" but the source holds no record; starting at the"
                  + " safe horizon {}",
              Times.describe(horizon));
          return horizon;
        }
        // The source may report more than microsecond precision; floor so the record is included.
        Instant e = earliest.get();
        return Times.toMicros("earliest()", e.minusNanos(e.getNano() % 1_000));
      default:
        throw new IllegalStateException("unknown start mode " + spec.getStartMode());
    }
  }

  @SplitRestriction
  public void splitRestriction(
      @Restriction TimeRange restriction, OutputReceiver<TimeRange> receiver) {
    for (TimeRange piece : initialSplits(restriction, horizon())) {
      receiver.output(piece);
    }
  }

  /**
   * The backlog of {@code restriction} below {@code horizon}, cut on chunk boundaries into at most
   * {@code maxInitialSplits} pieces of about the same number of chunks, then the rest.
   */
  java.util.List<TimeRange> initialSplits(TimeRange restriction, long horizon) {
    java.util.List<TimeRange> pieces = new java.util.ArrayList<>();
    long from = restriction.fromMicros();
    long to = restriction.toMicros();
    long backlogEnd = to <= horizon ? to : Math.max(from, grid.floorBoundary(horizon));
    if (backlogEnd > from) {
      long firstIndex = grid.chunkIndex(from);
      long chunks = grid.chunkIndex(backlogEnd - 1) - firstIndex + 1;
      long parts = Math.min(chunks, spec.getMaxInitialSplits());
      long base = chunks / parts;
      long extra = chunks % parts;
      long pieceStart = from;
      for (long j = 1; j <= parts; j++) {
        // Chunks before the end of piece j: floor(j * chunks / parts), without overflow.
        long chunksBefore = j * base + (j * extra) / parts;
        long pieceEnd =
            j == parts
                ? backlogEnd
                : Math.max(from, (firstIndex + chunksBefore) * grid.durationMicros());
        pieces.add(TimeRange.of(pieceStart, pieceEnd));
        pieceStart = pieceEnd;
      }
    }
    if (to > backlogEnd) {
      pieces.add(TimeRange.of(backlogEnd, to));
    }
    return pieces;
  }

  @NewTracker
  public ChunkRangeTracker newTracker(@Restriction TimeRange restriction) {
    return new ChunkRangeTracker(restriction, grid, this::horizon);
  }

  @GetRestrictionCoder
  public Coder<TimeRange> restrictionCoder() {
    return TimeRangeCoder.of();
  }

  @GetSize
  public double size(@Restriction TimeRange restriction) {
    long readyEnd = Math.min(restriction.toMicros(), horizon());
    return Math.max(0d, (double) readyEnd - (double) restriction.fromMicros());
  }

  /**
   * A drain stops reading: every restriction not being read is dropped, bounded or not (null is
   * Beam's "nothing left to process"). The chunk being read is finished and emitted; nothing waits
   * for chunks that are not ready, nor reads a backlog that is. With a progress location the
   * committed position stops at the end of the chunks read without a gap from the start, and a
   * relaunch continues exactly there.
   */
  @TruncateRestriction
  public @Nullable TruncateResult<TimeRange> truncate(@Restriction TimeRange restriction) {
    return null;
  }

  @GetInitialWatermarkEstimatorState
  public org.joda.time.Instant initialWatermark(@Restriction TimeRange restriction) {
    return Times.toBeamTimestamp(
        Times.saturatedSubtract(restriction.fromMicros(), watermarkDelayMicros));
  }

  @GetWatermarkEstimatorStateCoder
  public Coder<org.joda.time.Instant> watermarkStateCoder() {
    return InstantCoder.of();
  }

  @NewWatermarkEstimator
  public MonotonicWatermarkEstimator newWatermarkEstimator(
      @WatermarkEstimatorState org.joda.time.Instant state) {
    return new MonotonicWatermarkEstimator(state);
  }

  @ProcessElement
  public ProcessContinuation process(
      RestrictionTracker<TimeRange, Long> tracker,
      ManualWatermarkEstimator<org.joda.time.Instant> watermark,
      MultiOutputReceiver out)
      throws Exception {
    long position = tracker.currentRestriction().fromMicros();
    while (position < tracker.currentRestriction().toMicros()) {
      long chunkEnd = grid.chunkEnd(position, tracker.currentRestriction().toMicros());
      long horizon = horizon();
      backlogMicros.set(Math.max(0, Times.saturatedSubtract(horizon, position)));
      if (chunkEnd > horizon) {
        // Caught up: come back when the chunk is fully ingested, at most once per poll interval.
        long waitMillis = Math.floorDiv(chunkEnd - horizon + Times.MICROS_PER_MILLI - 1, 1_000);
        return ProcessContinuation.resume()
            .withResumeDelay(Duration.millis(Math.max(pollInterval.getMillis(), waitMillis)));
      }
      if (!tracker.tryClaim(position)) {
        return ProcessContinuation.stop();
      }
      readChunk(TimeRange.of(position, chunkEnd), out);
      watermark.setWatermark(
          Times.toBeamTimestamp(Times.saturatedSubtract(chunkEnd, watermarkDelayMicros)));
      watermarkLagMillis.set(
          spec.getClock().nowMicros() / Times.MICROS_PER_MILLI
              - watermark.currentWatermark().getMillis());
      position = chunkEnd;
    }
    return ProcessContinuation.stop();
  }

  /** What one chunk has emitted so far. */
  private final class ChunkOutput {
    final TimeRange chunk;
    final MultiOutputReceiver out;
    final List<BadRecord> deadLetters = new ArrayList<>();
    long rows;
    org.joda.time.Instant latest;

    ChunkOutput(TimeRange chunk, MultiOutputReceiver out) {
      this.chunk = chunk;
      this.out = out;
      this.latest = Times.toBeamTimestamp(Times.saturatedSubtract(chunk.fromMicros(), watermarkDelayMicros));
    }

    void emit(T record, org.joda.time.Instant timestamp) {
      out.get(recordsTag).outputWithTimestamp(record, timestamp);
      if (timestamp.isAfter(latest)) {
        latest = timestamp;
      }
      rows++;
    }

    /** A record or row that can't be emitted: to the dead-letter sink, the handler, or a failure. */
    <R> void bad(R record, Coder<R> recordCoder, Exception error, String description)
        throws Exception {
      if (deadLetterSink == null) {
        // Throws (the default) or, with withBadRecordErrorHandler, routes to the handler.
        badRecordRouter.route(out, record, recordCoder, error, description);
        return;
      }
      deadLetters.add(BadRecord.fromExceptionInformation(record, recordCoder, error, description));
      if (spec.getBadRecordErrorHandler() != null) {
        badRecordRouter.route(out, record, recordCoder, error, description);
      }
    }
  }

  /**
   * Reads a claimed chunk whole, stores its dead letters, then (with a progress location) signals
   * the chunk as read: the signal follows the dead letters, so a committed position never passes
   * a bad record before the dead-letter sink holds it.
   */
  private void readChunk(TimeRange chunk, MultiOutputReceiver out) throws Exception {
    long startNanos = System.nanoTime();
    ChunkOutput output = new ChunkOutput(chunk, out);
    readRange(chunk, output);
    if (!output.deadLetters.isEmpty()) {
      deadLetters().store(DeadLetters.keyed(output.deadLetters));
    }
    if (spec.getProgressLocation() != null) {
      out.get(progressTag).outputWithTimestamp(KV.of(0, chunk), output.latest);
    }
    rowsRead.inc(output.rows);
    chunksRead.inc();
    if (output.rows == 0) {
      emptyChunks.inc();
    }
    chunkReadMillis.update((System.nanoTime() - startNanos) / 1_000_000);
  }

  /**
   * Emits the records of {@code range}, a part of the chunk. A result over {@code
   * withMaxRowsPerQuery}, or one the source refuses as too large, is dropped unread and the range
   * bisected; the halves don't overlap, and a record outside the half that returned it is out of
   * range, so no record is emitted twice. A microsecond still too large is paged by the source's
   * tie-breaker, if it has one.
   */
  private void readRange(TimeRange range, ChunkOutput output) throws Exception {
    List<T> records = queryWithRetries(range);
    if (records != null) {
      emit(records, range, output);
      return;
    }
    if (range.durationMicros() > 1) {
      rangeBisections.inc();
      long middle = range.fromMicros() + range.durationMicros() / 2;
      readRange(TimeRange.of(range.fromMicros(), middle), output);
      readRange(TimeRange.of(middle, range.toMicros()), output);
      return;
    }
    if (!query().supportsPaging()) {
      throw new IllegalStateException(tooLargeMessage(range));
    }
    readPages(range, output);
  }

  /**
   * Emits a crowded microsecond page by page. Each page starts after the previous page's last
   * tie-breaker, so pages don't overlap; the cursor is an offset {@code {"timestamp",
   * "sequence_id"}} and must advance, so a source that repeats a page fails instead of looping.
   * A page the source refuses as too large is asked for again at half the size.
   */
  private void readPages(TimeRange microsecond, ChunkOutput output) throws Exception {
    long maxRows = spec.getMaxRowsPerQuery();
    int pageSize = maxRows > 0 ? (int) Math.min(maxRows, Integer.MAX_VALUE) : DEFAULT_PAGE_SIZE;
    ProgressOffset cursor = null;
    while (true) {
      Object after = cursor == null ? null : cursor.sequenceId();
      int limit = pageSize;
      TimeRangeQuery.Page<T> page;
      try {
        // The page's records are consumed inside the retries, like a query's.
        page =
            withRetries(
                "the page after " + after + " of " + microsecond,
                () -> {
                  TimeRangeQuery.Page<T> answer = query().queryPage(microsecond, after, limit);
                  return TimeRangeQuery.Page.of(
                      collect(microsecond, answer.records()), answer.lastTieBreaker());
                });
      } catch (Exception e) {
        if (!SourceErrors.isTooLarge(e) || pageSize == 1) {
          throw e;
        }
        pageSize = Math.max(1, pageSize / 2);
        continue;
      }
      pagesRead.inc();
      emit(page.records(), microsecond, output);
      if (rowCount(page.records()) < limit) {
        return;
      }
      ProgressOffset next = ProgressOffset.ofSequence(microsecond.fromMicros(), page.lastTieBreaker());
      if (cursor != null && !advances(cursor, next)) {
        throw new IllegalStateException(
            "TimeRangeIO: paging the microsecond "
                + Times.describe(microsecond.fromMicros())
                + " by its tie-breaker, the page after "
                + cursor
                + " ended at "
                + next
                + ", which is not after it; the tie-breaker must be unique within a microsecond"
                + " and the source must return pages in its order");
      }
      cursor = next;
    }
  }

  /**
   * Whether a page cursor moved on: numbers must grow (compared as numbers, never as text);
   * strings must change, since their order is the source's collation, not Java's.
   */
  private static boolean advances(ProgressOffset previous, ProgressOffset next) {
    if (previous.sequenceId() instanceof String || next.sequenceId() instanceof String) {
      return !previous.equals(next);
    }
    return next.compareTo(previous) > 0;
  }

  /** The rows a source answered with, including those a built-in connector couldn't map. */
  private static int rowCount(Collection<?> records) {
    return records instanceof QueryResult ? ((QueryResult<?>) records).rows() : records.size();
  }

  /**
   * Emits the records {@code queried} returned with their timestamps, routing bad ones. With
   * {@code withTimestampFn}, a record's time must lie in the range that was queried (the sub-range
   * after bisection, the microsecond of a page), less the watermark delay: a source that answers
   * its range's end too would otherwise emit a record twice. (Within the watermark delay before
   * the range, an early event time can't be told from a record the source returned too early.)
   */
  private void emit(List<T> records, TimeRange queried, ChunkOutput output) throws Exception {
    if (records instanceof QueryResult) {
      for (QueryResult.Unmappable row : ((QueryResult<T>) records).unmappable()) {
        badRows.inc();
        output.bad(
            row.row,
            StringUtf8Coder.of(),
            row.error,
            "TimeRangeIO: the row mapper failed on a row of chunk " + output.chunk + ": " + row.error);
      }
    }
    SerializableFunction<T, Instant> timestampFn = spec.getTimestampFn();
    org.joda.time.Instant chunkTimestamp = Times.toBeamTimestamp(output.chunk.fromMicros());
    for (T record : records) {
      org.joda.time.Instant timestamp = chunkTimestamp;
      if (timestampFn != null) {
        try {
          timestamp = recordTimestamp(timestampFn, record, queried, output.chunk);
        } catch (BadRecordException e) {
          (e.outOfRange ? outOfRangeRows : badRows).inc();
          output.bad(record, coder, e, e.getMessage());
          continue;
        }
      }
      output.emit(record, timestamp);
    }
  }

  private String tooLargeMessage(TimeRange microsecond) throws Exception {
    String held;
    try {
      int count = 0;
      for (T ignored : query().query(microsecond)) {
        count++;
      }
      held = "holds " + count + " records";
    } catch (ResultTooLargeException e) {
      held = "is refused by the source as too large (" + e.getMessage() + ")";
    }
    return "TimeRangeIO: the microsecond "
        + Times.describe(microsecond.fromMicros())
        + " "
        + held
        + (spec.getMaxRowsPerQuery() > 0
            ? ", more than withMaxRowsPerQuery(" + spec.getMaxRowsPerQuery() + ") allows"
            : "")
        + "; a time range can't be split further. Raise withMaxRowsPerQuery if the source allows,"
        + " or give the source a tie-breaker column (JdbcTimeRangeQuery.withTieBreakerColumn, or"
        + " TimeRangeQuery.queryPage) so one microsecond can be paged.";
  }

  /**
   * The records of a range, retrying transient failures, or null when there are more than {@code
   * withMaxRowsPerQuery} or the source refuses the range as too large.
   */
  private @Nullable List<T> queryWithRetries(TimeRange range) throws Exception {
    long maxRows = spec.getMaxRowsPerQuery();
    List<T> all;
    try {
      all =
          withRetries(
              "the query for " + range,
              () ->
                  collect(
                      range,
                      maxRows > 0
                          ? query().query(range, Times.saturatedAdd(maxRows, 1))
                          : query().query(range)));
    } catch (Exception e) {
      if (SourceErrors.isTooLarge(e)) {
        return null;
      }
      throw e;
    }
    return maxRows > 0 && rowCount(all) > maxRows ? null : all;
  }

  /**
   * The whole result, consumed inside the retry loop and the query gate before any record is
   * emitted: a result that fetches while it is iterated (any {@code Iterable} or {@code
   * Collection} but a plain {@code ArrayList}) is copied into a list, which holds references to
   * the records the source made, not copies of them. So a failure halfway through a lazy result
   * is retried like any failed query, and nothing of the failed attempt is emitted.
   */
  private List<T> collect(TimeRange range, @Nullable Iterable<T> records) {
    if (records == null) {
      throw new IllegalStateException(
          spec.getQuery().getClass().getName()
              + ".query("
              + range
              + ") returned null; return an empty Iterable for a range with no records");
    }
    if (records.getClass() == ArrayList.class || records instanceof QueryResult) {
      return (List<T>) records;
    }
    List<T> all = new ArrayList<>();
    records.forEach(all::add);
    return all;
  }

  /** A call to the source. */
  @FunctionalInterface
  private interface SourceCall<R> {
    R call() throws Exception;
  }

  /**
   * Calls the source inside the worker's {@link QueryGate}, retrying transient failures ({@link
   * SourceErrors}) with jittered exponential backoff that honours a requested wait, within {@code
   * withMaxRetries} and {@code withMaxRetryDuration}. Anything else is thrown as it is.
   */
  private <R> R withRetries(String what, SourceCall<R> call) throws Exception {
    BackOff backoff =
        FluentBackoff.DEFAULT
            .withInitialBackoff(Duration.millis(spec.getInitialBackoff().toMillis()))
            .withMaxBackoff(Duration.standardMinutes(1))
            .withMaxRetries(spec.getMaxRetries())
            .backoff();
    long started = System.nanoTime();
    long budgetNanos = spec.getMaxRetryDuration().toNanos();
    for (int attempt = 1; ; attempt++) {
      try {
        QueryGate gate = queryGate();
        gate.enter();
        try {
          // A lazy result is still being fetched while it is collected: inside the gate.
          return call.call();
        } finally {
          gate.exit();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw e;
      } catch (Exception e) {
        if (!SourceErrors.isTransient(e)) {
          throw e;
        }
        long waitMillis = backoff.nextBackOffMillis();
        // A requested wait of any size (Retry-After: 10000000000, or a date in 3000) is compared
        // with what is left of the budget, never multiplied into an overflow.
        long requestedMillis = SourceErrors.retryAfter(e).map(ReadFn::saturatedMillis).orElse(0L);
        long elapsedNanos = System.nanoTime() - started;
        long leftMillis = Math.max(0, (budgetNanos - elapsedNanos) / 1_000_000);
        if (waitMillis != BackOff.STOP) {
          waitMillis = Math.max(waitMillis, requestedMillis);
        }
        if (waitMillis == BackOff.STOP || waitMillis > leftMillis) {
          throw new IOException(
              "TimeRangeIO: "
                  + what
                  + " failed transiently "
                  + attempt
                  + " times in "
                  + elapsedNanos / 1_000_000
                  + " ms (withMaxRetries "
                  + spec.getMaxRetries()
                  + ", withMaxRetryDuration "
                  + spec.getMaxRetryDuration()
                  + (requestedMillis > leftMillis
                      ? "; the source asks to wait " + java.time.Duration.ofMillis(requestedMillis)
                          + ", beyond what is left of it"
                      : "")
                  + "); failing the bundle so the runner retries it. Last error: "
                  + e,
              e);
        }
        sourceRetries.inc();
        LOG.warn(
            "TimeRangeIO: {} failed ({}); retry {} in {} ms",
            what,
            e.toString(),
            attempt,
            waitMillis);
        // The query stays open: its clients and pools replace broken connections themselves.
        Sleeper.DEFAULT.sleep(waitMillis);
      }
    }
  }

  private static long saturatedMillis(java.time.Duration d) {
    try {
      return Math.max(0, d.toMillis());
    } catch (ArithmeticException tooLong) {
      return Long.MAX_VALUE;
    }
  }

  /** A record without a usable time, or outside its chunk. */
  static final class BadRecordException extends IllegalStateException {
    private static final long serialVersionUID = 1L;
    final boolean outOfRange;

    BadRecordException(String message, boolean outOfRange, @Nullable Throwable cause) {
      super(message, cause);
      this.outOfRange = outOfRange;
    }
  }

  private org.joda.time.Instant recordTimestamp(
      SerializableFunction<T, Instant> timestampFn, T record, TimeRange queried, TimeRange chunk) {
    Instant time;
    long micros;
    try {
      time = timestampFn.apply(record);
      micros =
          time == null
              ? 0
              : Times.toMicros("withTimestampFn result", time.minusNanos(time.getNano() % 1_000));
    } catch (RuntimeException e) {
      throw new BadRecordException(
          "TimeRangeIO: withTimestampFn failed for a record of chunk " + chunk + ": " + e
              + " (record: " + abbreviate(record) + ")",
          false,
          e);
    }
    if (time == null) {
      throw new BadRecordException(
          "TimeRangeIO: withTimestampFn returned null for a record of chunk " + chunk
              + "; every record needs a time (record: " + abbreviate(record) + ")",
          false,
          null);
    }
    long lowest = Times.saturatedSubtract(queried.fromMicros(), watermarkDelayMicros);
    if (micros < lowest || micros >= queried.toMicros()) {
      throw new BadRecordException(
          "TimeRangeIO: the source returned a record whose time "
              + time
              + " lies outside the range it was asked for, "
              + queried
              + (queried.equals(chunk) ? "" : " (part of chunk " + chunk + ")")
              + (watermarkDelayMicros > 0
                  ? ", allowing the watermark delay of " + spec.getWatermarkDelay()
                  : "")
              + "; emitting it could duplicate or reorder records across ranges (record: "
              + abbreviate(record)
              + ")",
          true,
          null);
    }
    return Times.toBeamTimestamp(micros);
  }

  private static String abbreviate(Object record) {
    String s = String.valueOf(record);
    return s.length() <= 200 ? s : s.substring(0, 200) + "…";
  }

  /** A manual watermark estimator that ignores attempts to move the watermark back. */
  static final class MonotonicWatermarkEstimator
      implements ManualWatermarkEstimator<org.joda.time.Instant> {
    private org.joda.time.Instant watermark;

    MonotonicWatermarkEstimator(org.joda.time.Instant initial) {
      this.watermark = initial;
    }

    @Override
    public void setWatermark(org.joda.time.Instant candidate) {
      if (candidate.isAfter(watermark)) {
        watermark = candidate;
      }
    }

    @Override
    public org.joda.time.Instant currentWatermark() {
      return watermark;
    }

    @Override
    public org.joda.time.Instant getState() {
      return watermark;
    }
  }
}
