package dev.timerangeio;

import java.util.List;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.InstantCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Gauge;
import org.apache.beam.sdk.metrics.Lineage;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.errorhandling.BadRecordRouter;
import org.apache.beam.sdk.transforms.splittabledofn.ManualWatermarkEstimator;
import org.apache.beam.sdk.transforms.splittabledofn.RestrictionTracker.TruncateResult;
import org.apache.beam.sdk.transforms.splittabledofn.RestrictionTracker;
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
 * {@code [start, end)}: the start resolved when the pipeline starts reading ({@link ReadStart}) — a
 * stored offset, the configured instant, {@code earliest()} of the source (or the safe horizon if
 * the source is empty or its oldest record lies above the horizon, where older records may still
 * be ingested), or the safe horizon for {@code "latest"}; the end is the configured end time, or {@link Long#MAX_VALUE}
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
 * <h3>The live edge on every worker</h3>
 *
 * With {@code withLiveEdgeReaders(n >= 2)}, a chunk claimed at the live edge ({@link LiveEdge}:
 * ending within one chunk, or one poll interval, of the safe horizon) is not read here: it is cut
 * into {@code n} parts output on {@link #liveEdgeTag}, each timestamped at its start minus the
 * watermark delay, redistributed, and read whole by {@link LiveEdgeReadFn} on whichever worker
 * each lands. The claim, the checkpoint after it and the watermark are as for a chunk read here;
 * a part in flight holds the downstream watermark below every record it can emit, and each part
 * signals its own progress, so the committed position passes only parts read without a gap.
 *
 * <h3>Reading a chunk</h3>
 *
 * A claimed chunk is read whole by the call that claimed it ({@link ChunkReader}): an answer that
 * is too large is bisected and, down to one microsecond, paged by the source's tie-breaker;
 * nothing from a dropped answer is emitted and the parts don't overlap, so no record is emitted
 * twice; a checkpoint can only come after the whole chunk. At most one answer or page of the
 * chunk is held in memory at a time (see {@link ChunkReader#read}). Source calls are gated and
 * retried by {@link SourceCalls}; record times are checked by {@link RecordTimestamps}.
 *
 * <h3>Empty stretches</h3>
 *
 * After an empty chunk, a source that can tell the time of its next record ({@link
 * TimeRangeQuery#supportsNextRecordTime}) is asked once for the first record up to the safe
 * horizon, and the empty chunks before it are claimed, unread, with ordinary claims, signalled
 * as one run, and the watermark set to the run's end minus the watermark delay ({@link
 * EmptyStretches}).
 *
 * <h3>Progress and size</h3>
 *
 * Work is measured in microseconds of time range: done is what was claimed, remaining is up to
 * the end of the range or, for an unbounded range, up to the safe horizon. {@code @GetSize} is in
 * bytes, as runners expect (Dataflow's autoscaler weighs backlog by it): the microseconds of the
 * restriction that are ready to read now, times the bytes per microsecond this worker's copy has
 * emitted so far (records' encoded size with the read's coder over the chunks' durations, empty
 * chunks included); before it has emitted anything, one byte per microsecond ({@link ByteRate}).
 * The backlog in time stays a metric, {@code backlogMicros}. People get a log line per worker
 * every {@code withProgressLogInterval} ({@link ProgressLog}): chunks done, rows per second and
 * time left while there is a backlog, the lag behind the safe horizon once caught up.
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
 * <h3>Lookback</h3>
 *
 * With {@code withLookback} the read runs two of these DoFns from one start ({@link
 * LookbackExpansion}): the first read, which emits records and, instead of a progress signal, a
 * note of what each chunk returned ({@link #noteTag}); and the re-check ({@link #recheck}), which
 * claims the same chunks once they are {@code ingestionLag + lookback} old and only says so.
 * {@link RecheckFn} joins the two and signals the chunk.
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

  private final TimeRangeIO.Read<T> spec;
  private final ChunkGrid grid;
  private final long lagMicros;
  /**
   * The re-check of a read with {@code withLookback}: the same chunks, claimed once they are
   * {@code ingestionLag + lookback} old, and not queried: each is emitted on {@link #noteTag} as
   * due, for {@link RecheckFn}.
   */
  private final boolean recheck;
  private final long watermarkDelayMicros;
  private final Duration pollInterval;
  /** The query's name for Beam's Lineage, taken when the read is applied; null: not reported. */
  private final @Nullable LineageName lineage;

  private final Gauge watermarkLagMillis =
      Metrics.gauge(TimeRangeIOMetrics.NAMESPACE, TimeRangeIOMetrics.WATERMARK_LAG_MILLIS);
  private final Gauge backlogMicros =
      Metrics.gauge(TimeRangeIOMetrics.NAMESPACE, TimeRangeIOMetrics.BACKLOG_MICROS);
  private final Counter sourceRetries =
      Metrics.counter(TimeRangeIOMetrics.NAMESPACE, TimeRangeIOMetrics.SOURCE_RETRIES);

  /** The main output; records that fail their checks go to {@link BadRecordRouter#BAD_RECORD_TAG}. */
  final TupleTag<T> recordsTag = new TupleTag<>();

  /**
   * With a progress location: one signal per chunk read, {@code KV(0, chunk)}, timestamped at the
   * latest record timestamp the chunk emitted (its start minus the watermark delay when it emitted
   * none), for the write's {@link ProgressFn}.
   */
  final TupleTag<KV<Integer, TimeRange>> progressTag = new TupleTag<KV<Integer, TimeRange>>() {};

  /**
   * With {@code withLiveEdgeReaders(n >= 2)}: the parts of each chunk claimed at the live edge,
   * handed out to {@link LiveEdgeReadFn} instead of being read here; timestamped at each part's
   * start minus the watermark delay, so a part in flight holds the watermark below its records.
   */
  final TupleTag<TimeRange> liveEdgeTag = new TupleTag<TimeRange>() {};

  /**
   * With {@code withLookback}: per chunk, keyed by its start and timestamped at it minus the
   * watermark delay, the first read's summary (in place of its progress signal) or, from the
   * re-check, the word that it is due; for {@link RecheckFn}.
   */
  final TupleTag<KV<Long, ChunkNote>> noteTag = new TupleTag<KV<Long, ChunkNote>>() {};

  private final Coder<T> coder;
  private final LiveEdge liveEdge;

  /**
   * Identifies this applied read's {@link QueryGate} and {@link ProgressLog} in a worker JVM:
   * drawn when the read is applied (this DoFn is built once per application, then copied to
   * workers), so every copy of it shares one gate and one log, and reads derived from one
   * configuration each have their own.
   */
  private final String queryGateId = java.util.UUID.randomUUID().toString();

  private transient @Nullable ChunkReading<T> reading;
  private transient @Nullable ByteRate byteRate;
  private transient @Nullable ProgressLog progressLog;
  private transient boolean progressLogOpened;
  private transient @Nullable EmptyStretches emptyStretches;
  private transient boolean emptyStretchesKnown;

  ReadFn(TimeRangeIO.Read<T> spec, Coder<T> coder, boolean recheck) {
    this.spec = spec;
    this.coder = coder;
    this.recheck = recheck;
    this.grid = new ChunkGrid(Times.durationMicros(spec.getPartitionDuration()));
    this.lagMicros =
        Times.saturatedAdd(
            Times.durationMicros(spec.getIngestionLag()),
            recheck ? Times.durationMicros(spec.getLookback()) : 0);
    this.watermarkDelayMicros = Times.durationMicros(spec.getWatermarkDelay());
    this.pollInterval = Duration.millis(spec.getPollInterval().toMillis());
    this.liveEdge = LiveEdge.of(spec);
    this.lineage = spec.getQuery().lineage();
  }

  static <T> ReadFn<T> of(TimeRangeIO.Read<T> spec, Coder<T> coder) {
    return of(spec, coder, false);
  }

  /** The re-check of a read with {@code withLookback}; see {@link #noteTag}. */
  static <T> ReadFn<T> recheck(TimeRangeIO.Read<T> spec, Coder<T> coder) {
    return of(spec, coder, true);
  }

  private static <T> ReadFn<T> of(TimeRangeIO.Read<T> spec, Coder<T> coder, boolean recheck) {
    return spec.getEndMicros() != null
        ? new Bounded<>(spec, coder, recheck)
        : new Unbounded<>(spec, coder, recheck);
  }

  /** With the coder given to the read; for tests. */
  static <T> ReadFn<T> of(TimeRangeIO.Read<T> spec) {
    return of(spec, spec.getCoder());
  }

  /** The variant for a read with an end time: a bounded PCollection. */
  @BoundedPerElement
  static final class Bounded<T> extends ReadFn<T> {
    Bounded(TimeRangeIO.Read<T> spec, Coder<T> coder, boolean recheck) {
      super(spec, coder, recheck);
    }
  }

  /** The variant for a read that follows the clock forever. */
  @UnboundedPerElement
  static final class Unbounded<T> extends ReadFn<T> {
    Unbounded(TimeRangeIO.Read<T> spec, Coder<T> coder, boolean recheck) {
      super(spec, coder, recheck);
    }
  }

  /** The safe horizon: chunks ending at or below it are fully ingested and may be read. */
  long horizon() {
    return Times.saturatedSubtract(spec.getClock().nowMicros(), lagMicros);
  }

  /** The source and chunk reader, opened on first use (tests call methods without {@code @Setup}). */
  private ChunkReading<T> reading() {
    if (reading == null) {
      reading =
          new ChunkReading<>(
              spec, coder, queryGate(), sourceRetries, recordsTag, progressTag, byteRate());
    }
    return reading;
  }

  private SourceCalls<T> source() throws Exception {
    return reading().source();
  }

  /** Skipping of empty chunks, or null when the source can't tell its next record's time. */
  private @Nullable EmptyStretches emptyStretches() throws Exception {
    if (!emptyStretchesKnown) {
      // With a lookback every chunk's first read is paired with its re-check (RecheckFn), so
      // none is skipped unread; the re-check itself reads nothing.
      emptyStretches =
          spec.getLookback() != null || recheck ? null : EmptyStretches.of(source(), grid);
      emptyStretchesKnown = true;
    }
    return emptyStretches;
  }

  @Setup
  public void setup() throws Exception {
    if (!recheck) {
      reading().reader();
    }
  }

  @Teardown
  public void teardown() throws Exception {
    emptyStretches = null;
    emptyStretchesKnown = false;
    if (reading != null) {
      try {
        reading.close();
      } finally {
        reading = null;
      }
    }
  }

  /** This worker's progress log for this read; null when the interval is zero. */
  private @Nullable ProgressLog progressLog() {
    if (!progressLogOpened) {
      // The re-check of a lookback reads nothing: the first read's log says how far it is.
      progressLog =
          recheck
              ? null
              : ProgressLog.of(
              queryGateId,
              Times.durationMicros(spec.getProgressLogInterval()),
              grid.durationMicros(),
              rangeChunks(),
              spec.getClock());
      progressLogOpened = true;
    }
    return progressLog;
  }

  /** The chunks of the whole range when its start and end are instants; else 0 (unknown). */
  private long rangeChunks() {
    if (spec.getStartMode() != TimeRangeIO.StartMode.INSTANT || spec.getEndMicros() == null) {
      return 0;
    }
    long from = grid.floorBoundary(spec.getStartMicros());
    long to = grid.ceilBoundary(spec.getEndMicros());
    return Math.max(0, (to - from) / grid.durationMicros());
  }

  QueryGate queryGate() {
    return QueryGate.of(
        queryGateId, spec.getMaxQueriesPerSecond(), spec.getMaxConcurrentQueries());
  }

  /**
   * The id of this applied read's per-worker gate, shared with its {@link LiveEdgeReadFn} and
   * {@link RecheckFn}.
   */
  String queryGateId() {
    return queryGateId;
  }

  /**
   * The range to read: from the impulse (an empty element), with the start resolved here; with
   * {@code withLookback}, from the start resolved once for the first read and its re-check ({@link
   * ResolveStartFn}), which must read the same chunks.
   */
  @GetInitialRestriction
  public TimeRange initialRestriction(@Element byte[] element) throws Exception {
    return ResolveStartFn.isStart(element)
        ? TimeRange.of(ResolveStartFn.decode(element), endMicros())
        : initialRestriction();
  }

  private long endMicros() {
    return spec.getEndMicros() != null ? spec.getEndMicros() : Long.MAX_VALUE;
  }

  /** The range from the start resolved now; for an impulse, and for tests. */
  TimeRange initialRestriction() throws Exception {
    long end = endMicros();
    long start = ReadStart.resolve(spec, this::source, this::horizon);
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

  @SplitRestriction
  public void splitRestriction(
      @Restriction TimeRange restriction, OutputReceiver<TimeRange> receiver) {
    for (TimeRange piece : initialSplits(restriction, horizon())) {
      receiver.output(piece);
    }
  }

  /** {@link ChunkGrid#initialSplits} with this read's {@code maxInitialSplits}. */
  List<TimeRange> initialSplits(TimeRange restriction, long horizon) {
    return grid.initialSplits(restriction, horizon, spec.getMaxInitialSplits());
  }

  @NewTracker
  public ChunkRangeTracker newTracker(@Restriction TimeRange restriction) {
    return new ChunkRangeTracker(restriction, grid, this::horizon);
  }

  @GetRestrictionCoder
  public Coder<TimeRange> restrictionCoder() {
    return TimeRangeCoder.of();
  }

  /**
   * What this copy has observed of bytes per microsecond; created on first use, by the processing
   * thread or by a runner's thread asking for the size.
   */
  synchronized ByteRate byteRate() {
    if (byteRate == null) {
      byteRate = new ByteRate();
    }
    return byteRate;
  }

  /**
   * The estimated bytes of the part of the restriction that is ready to read now: its ready
   * microseconds times the bytes per microsecond this copy has emitted so far ({@link ByteRate};
   * one byte per microsecond before it has emitted any).
   */
  @GetSize
  public double size(@Restriction TimeRange restriction) {
    if (recheck) {
      // The re-check of a lookback queries nothing: its ready range is no backlog of bytes, and
      // counting it would double what the first read reports to an autoscaler.
      return 0;
    }
    long readyEnd = Math.min(restriction.toMicros(), horizon());
    return byteRate().bytesOf(Times.saturatedSubtract(readyEnd, restriction.fromMicros()));
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
    if (lineage != null) {
      // Per call, not per DoFn copy: a call's metrics are dropped with its bundle if it fails.
      lineage.reportTo(Lineage.getSources());
    }
    ProgressLog log = progressLog();
    try {
      return readChunks(tracker, watermark, out, log);
    } finally {
      if (log != null) {
        log.done(tracker);
      }
    }
  }

  private ProcessContinuation readChunks(
      RestrictionTracker<TimeRange, Long> tracker,
      ManualWatermarkEstimator<org.joda.time.Instant> watermark,
      MultiOutputReceiver out,
      @Nullable ProgressLog log)
      throws Exception {
    long position = tracker.currentRestriction().fromMicros();
    boolean lastChunkEmpty = false;
    while (position < tracker.currentRestriction().toMicros()) {
      long chunkEnd = grid.chunkEnd(position, tracker.currentRestriction().toMicros());
      long horizon = horizon();
      backlogMicros.set(Math.max(0, Times.saturatedSubtract(horizon, position)));
      if (chunkEnd > horizon) {
        if (log != null) {
          log.caughtUp(tracker, position, horizon);
        }
        // Caught up: come back when the chunk is fully ingested, at most once per poll interval.
        long waitMillis = Math.floorDiv(chunkEnd - horizon + Times.MICROS_PER_MILLI - 1, 1_000);
        return ProcessContinuation.resume()
            .withResumeDelay(Duration.millis(Math.max(pollInterval.getMillis(), waitMillis)));
      }
      if (lastChunkEmpty && emptyStretches() != null) {
        // After an empty chunk, one question may stand for a run of them (EmptyStretches).
        long limit = Math.min(tracker.currentRestriction().toMicros(), grid.floorBoundary(horizon));
        long emptyEnd = emptyStretches.emptyUntil(position, limit);
        if (emptyEnd > position) {
          long claimed = emptyStretches.claim(tracker, position, emptyEnd);
          if (claimed > position) {
            TimeRange run = TimeRange.of(position, claimed);
            reading().reader().skipped(run, emptyStretches.chunks(run), out);
            advanceWatermark(watermark, claimed);
          }
          if (claimed < emptyEnd) {
            return ProcessContinuation.stop();
          }
          position = claimed;
          lastChunkEmpty = false;
          continue;
        }
      }
      if (!tracker.tryClaim(position)) {
        return ProcessContinuation.stop();
      }
      TimeRange chunk = TimeRange.of(position, chunkEnd);
      org.joda.time.Instant chunkTimestamp =
          Times.toBeamTimestamp(Times.saturatedSubtract(position, watermarkDelayMicros));
      if (recheck) {
        out.get(noteTag)
            .outputWithTimestamp(KV.of(position, ChunkNote.due(chunk)), chunkTimestamp);
      } else if (liveEdge.handsOut(chunk, horizon)) {
        for (TimeRange part : liveEdge.parts(chunk)) {
          out.get(liveEdgeTag)
              .outputWithTimestamp(
                  part,
                  Times.toBeamTimestamp(
                      Times.saturatedSubtract(part.fromMicros(), watermarkDelayMicros)));
        }
        lastChunkEmpty = false; // not known here: no question for a run after it
      } else {
        ChunkReader.Outcome read = reading().reader().read(chunk, out);
        if (spec.getLookback() != null) {
          out.get(noteTag)
              .outputWithTimestamp(
                  KV.of(
                      position,
                      ChunkNote.firstRead(chunk, read.returned, read.latest.getMillis())),
                  chunkTimestamp);
        }
        if (log != null) {
          log.chunkRead(
              tracker, read.emitted, chunkEnd, tracker.currentRestriction().toMicros(), horizon);
        }
        lastChunkEmpty = read.emitted == 0;
      }
      advanceWatermark(watermark, chunkEnd);
      position = chunkEnd;
    }
    return ProcessContinuation.stop();
  }

  /** After the chunks up to {@code end} were emitted: the watermark follows the clock. */
  private void advanceWatermark(
      ManualWatermarkEstimator<org.joda.time.Instant> watermark, long end) {
    watermark.setWatermark(
        Times.toBeamTimestamp(Times.saturatedSubtract(end, watermarkDelayMicros)));
    watermarkLagMillis.set(
        spec.getClock().nowMicros() / Times.MICROS_PER_MILLI
            - watermark.currentWatermark().getMillis());
  }
}
