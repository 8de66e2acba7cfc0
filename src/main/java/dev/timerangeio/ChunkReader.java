package dev.timerangeio;

import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Distribution;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn.MultiOutputReceiver;
import org.apache.beam.sdk.transforms.errorhandling.BadRecord;
import org.apache.beam.sdk.transforms.errorhandling.BadRecordRouter;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.TupleTag;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Reads one claimed chunk whole for the {@link ReadFn} that claimed it: queries it, bisects and
 * pages answers that are too large, checks and emits the records, stores the chunk's dead letters
 * and, with a progress location, signals the chunk as read; internal.
 *
 * <p>An answer over {@code withMaxRowsPerQuery}, or one the source refuses as too large, is dropped
 * unread and its range bisected, recursively, down to one microsecond; a microsecond still too
 * large is read in pages ordered by the source's tie-breaker, each starting after the last one's
 * cursor ({@code {"timestamp", "sequence_id"}}). Nothing from a dropped answer is emitted, and the
 * parts don't overlap, so no record is emitted twice.
 */
final class ChunkReader<T> {
  /** Records per page of a crowded microsecond when {@code withMaxRowsPerQuery} is not set. */
  static final int DEFAULT_PAGE_SIZE = 1_000;

  private final TimeRangeIO.Read<T> spec;
  private final SourceCalls<T> source;
  private final Coder<T> coder;
  private final BadRecordRouter badRecordRouter;
  private final @Nullable DeadLetters deadLetters;
  private final @Nullable RecordTimestamps<T> timestamps;
  private final TupleTag<T> recordsTag;
  private final TupleTag<KV<Integer, TimeRange>> progressTag;
  private final long watermarkDelayMicros;
  /** Why the last range {@link #queryRange} dropped was too large; for the failure's message. */
  private String lastTooLarge = "";

  private final Counter rowsRead = counter(TimeRangeIOMetrics.ROWS_READ);
  private final Counter chunksRead = counter(TimeRangeIOMetrics.CHUNKS_READ);
  private final Counter emptyChunks = counter(TimeRangeIOMetrics.EMPTY_CHUNKS);
  private final Counter rangeBisections = counter(TimeRangeIOMetrics.RANGE_BISECTIONS);
  private final Counter outOfRangeRows = counter(TimeRangeIOMetrics.OUT_OF_RANGE_ROWS);
  private final Counter badRows = counter(TimeRangeIOMetrics.BAD_ROWS);
  private final Counter pagesRead = counter(TimeRangeIOMetrics.PAGES_READ);
  private final Distribution chunkReadMillis =
      Metrics.distribution(TimeRangeIOMetrics.NAMESPACE, TimeRangeIOMetrics.CHUNK_READ_MILLIS);

  /**
   * A reader for a DoFn copy, with the read's dead-letter sink opened; {@link #close} closes it.
   * Stored like the write's batches: the source's time budget and requested waits don't apply to a
   * sink.
   */
  static <T> ChunkReader<T> open(
      TimeRangeIO.Read<T> spec,
      SourceCalls<T> source,
      Coder<T> coder,
      Counter retries,
      TupleTag<T> recordsTag,
      TupleTag<KV<Integer, TimeRange>> progressTag)
      throws Exception {
    DeadLetters deadLetters = null;
    if (spec.getDeadLetterSink() != null) {
      deadLetters =
          new DeadLetters(
              spec.getDeadLetterSink(),
              Retries.forSink(spec.getMaxRetries(), spec.getInitialBackoff(), retries));
      deadLetters.open();
    }
    return new ChunkReader<>(spec, source, coder, deadLetters, recordsTag, progressTag);
  }

  /** Closes a DoFn copy's source, then its reader's dead-letter sink; either may be null. */
  static void close(@Nullable SourceCalls<?> source, @Nullable ChunkReader<?> reader)
      throws Exception {
    try {
      if (source != null) {
        source.close();
      }
    } finally {
      if (reader != null) {
        reader.close();
      }
    }
  }

  /** Closes the dead-letter sink, if the reader has one; not the source. */
  void close() throws Exception {
    if (deadLetters != null) {
      deadLetters.close();
    }
  }

  ChunkReader(
      TimeRangeIO.Read<T> spec,
      SourceCalls<T> source,
      Coder<T> coder,
      @Nullable DeadLetters deadLetters,
      TupleTag<T> recordsTag,
      TupleTag<KV<Integer, TimeRange>> progressTag) {
    this.spec = spec;
    this.source = source;
    this.coder = coder;
    this.deadLetters = deadLetters;
    this.recordsTag = recordsTag;
    this.progressTag = progressTag;
    this.badRecordRouter =
        spec.getBadRecordErrorHandler() == null
            ? BadRecordRouter.THROWING_ROUTER
            : BadRecordRouter.RECORDING_ROUTER;
    this.timestamps =
        spec.getTimestampFn() != null
            ? new RecordTimestamps<>(spec.getTimestampFn(), spec.getWatermarkDelay(), true)
            : spec.getQuery().recordTime() != null
                ? new RecordTimestamps<>(
                    spec.getQuery().recordTime(),
                    spec.getWatermarkDelay(),
                    spec.getQuery().recordTimeIsQueried())
                : null;
    this.watermarkDelayMicros = Times.durationMicros(spec.getWatermarkDelay());
  }

  private static Counter counter(String name) {
    return Metrics.counter(TimeRangeIOMetrics.NAMESPACE, name);
  }

  /**
   * What one read of a chunk returned and emitted: with {@code withLookback}, the fingerprints of
   * everything the source returned (records and unmapped rows), for the chunk's re-read.
   */
  static final class Outcome {
    final @Nullable Fingerprints returned;
    /** Records emitted, and records or rows sent on as bad; in a re-read only the new ones. */
    final long emitted;
    final long bad;
    final org.joda.time.Instant latest;

    Outcome(@Nullable Fingerprints returned, long emitted, long bad, org.joda.time.Instant latest) {
      this.returned = returned;
      this.emitted = emitted;
      this.bad = bad;
      this.latest = latest;
    }
  }

  /** What one chunk has emitted so far. */
  private final class ChunkOutput {
    final TimeRange chunk;
    final MultiOutputReceiver out;
    final List<BadRecord> deadLetters = new ArrayList<>();
    /** With a lookback: everything the source returned for the chunk. */
    final @Nullable Fingerprints returned;
    /** In a re-read: what the first read returned and this one has not met again yet. */
    final @Nullable Fingerprints seen;
    long rows;
    long badSent;
    org.joda.time.Instant latest;

    ChunkOutput(TimeRange chunk, MultiOutputReceiver out, @Nullable Fingerprints seen) {
      this.chunk = chunk;
      this.out = out;
      this.returned = spec.getLookback() == null ? null : new Fingerprints();
      this.seen = seen;
      this.latest =
          Times.toBeamTimestamp(Times.saturatedSubtract(chunk.fromMicros(), watermarkDelayMicros));
    }

    /**
     * Whether a record or row the source returned is new: always in a first read; in a re-read
     * only if the first read returned fewer copies of it.
     */
    boolean isNew(Fingerprints.Print print) {
      if (returned == null) {
        return true;
      }
      returned.add(print);
      return seen == null || !seen.take(print);
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
      badSent++;
      if (ChunkReader.this.deadLetters == null) {
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
   * Reads the claimed {@code chunk} whole, stores its dead letters, then (with a progress location)
   * signals the chunk as read: the signal follows the dead letters, so a committed position never
   * passes a bad record before the dead-letter sink holds it.
   */
  Outcome read(TimeRange chunk, MultiOutputReceiver out) throws Exception {
    long startNanos = System.nanoTime();
    ChunkOutput output = readWhole(chunk, out, null);
    if (spec.getProgressLocation() != null && spec.getLookback() == null) {
      // With a lookback the chunk is signalled after its re-check ({@link RecheckFn}).
      out.get(progressTag).outputWithTimestamp(KV.of(0, chunk), output.latest);
    }
    chunksRead.inc();
    if (output.rows == 0) {
      emptyChunks.inc();
    }
    chunkReadMillis.update((System.nanoTime() - startNanos) / 1_000_000);
    return outcome(output);
  }

  /**
   * Reads {@code chunk} again ({@code withLookback}) and emits only what its first read did not
   * return: per fingerprint, the copies beyond the first read's count. Its new dead letters are
   * stored before this returns.
   */
  Outcome reread(TimeRange chunk, MultiOutputReceiver out, Fingerprints firstRead)
      throws Exception {
    return outcome(readWhole(chunk, out, firstRead.copy()));
  }

  private ChunkOutput readWhole(
      TimeRange chunk, MultiOutputReceiver out, @Nullable Fingerprints seen) throws Exception {
    ChunkOutput output = new ChunkOutput(chunk, out, seen);
    readRange(chunk, output);
    if (!output.deadLetters.isEmpty()) {
      deadLetters.store(DeadLetters.keyed(output.deadLetters));
    }
    rowsRead.inc(output.rows);
    return output;
  }

  private Outcome outcome(ChunkOutput output) {
    return new Outcome(output.returned, output.rows, output.badSent, output.latest);
  }

  /**
   * Emits the records of {@code range}, a part of the chunk. A result over {@code
   * withMaxRowsPerQuery}, or one the source refuses as too large, is dropped unread and the range
   * bisected; the halves don't overlap, and a record outside the half that returned it is out of
   * range, so no record is emitted twice. A microsecond still too large is paged by the source's
   * tie-breaker, if it has one.
   */
  private void readRange(TimeRange range, ChunkOutput output) throws Exception {
    TimeRangeQuery.Result<T> result = queryRange(range);
    if (result != null) {
      emit(result, range, output);
      return;
    }
    long unit = source.query().boundGranularityMicros();
    if (range.durationMicros() > unit) {
      rangeBisections.inc();
      // On the source's grid: the ranges it is asked for start and end on whole units.
      long middle = range.fromMicros() + (range.durationMicros() / unit / 2) * unit;
      readRange(TimeRange.of(range.fromMicros(), middle), output);
      readRange(TimeRange.of(middle, range.toMicros()), output);
      return;
    }
    if (!source.query().supportsPaging()) {
      throw new IllegalStateException(tooLargeMessage(range, lastTooLarge));
    }
    readPages(range, output);
  }

  /**
   * The answer for a range, retrying transient failures, or null when it holds more than {@code
   * withMaxRowsPerQuery} rows or the source refuses the range as too large.
   */
  private TimeRangeQuery.@Nullable Result<T> queryRange(TimeRange range) throws Exception {
    long maxRows = spec.getMaxRowsPerQuery();
    long limit = maxRows > 0 ? Times.saturatedAdd(maxRows, 1) : Long.MAX_VALUE;
    TimeRangeQuery.Result<T> result;
    try {
      result = source.call("the query for " + range, () -> source.query().queryResult(range, limit));
    } catch (Exception e) {
      if (SourceErrors.isTooLarge(e)) {
        lastTooLarge = "is refused by the source as too large (" + e.getMessage() + ")";
        return null;
      }
      throw e;
    }
    if (result == null) {
      throw new IllegalStateException(
          source.query().getClass().getName() + ".queryResult(" + range + ") returned null");
    }
    if (maxRows > 0 && result.rows() > maxRows) {
      // The count stops at the answer's rows (the cap + 1 for a source that honours the limit):
      // a crowded microsecond is never fetched whole just to say how crowded it is.
      lastTooLarge =
          "holds at least "
              + result.rows()
              + " records, more than withMaxRowsPerQuery("
              + maxRows
              + ") allows";
      return null;
    }
    return result;
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
        page =
            source.call(
                "the page after " + after + " of " + microsecond,
                () -> source.query().queryPage(microsecond, after, limit));
      } catch (Exception e) {
        if (!SourceErrors.isTooLarge(e) || pageSize == 1) {
          throw e;
        }
        pageSize = Math.max(1, pageSize / 2);
        continue;
      }
      pagesRead.inc();
      emit(page.result(), microsecond, output);
      if (page.result().rows() < limit) {
        return;
      }
      ProgressOffset next =
          ProgressOffset.ofSequence(microsecond.fromMicros(), page.lastTieBreaker());
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

  /**
   * Emits the records of {@code result}, returned for {@code queried}, with their timestamps
   * ({@link RecordTimestamps}), and routes its unmapped rows and the records that fail their
   * checks as bad records.
   */
  private void emit(TimeRangeQuery.Result<T> result, TimeRange queried, ChunkOutput output)
      throws Exception {
    for (TimeRangeQuery.Result.Unmapped row : result.unmapped()) {
      if (output.returned != null && !output.isNew(Fingerprints.ofUnmapped(row.row()))) {
        continue; // Sent on as bad by the chunk's first read.
      }
      badRows.inc();
      output.bad(
          row.row(),
          StringUtf8Coder.of(),
          row.error(),
          "TimeRangeIO: the row mapper failed on a row of chunk " + output.chunk + ": "
              + row.error());
    }
    org.joda.time.Instant chunkTimestamp = Times.toBeamTimestamp(output.chunk.fromMicros());
    for (T record : result.records()) {
      if (output.returned != null && !output.isNew(Fingerprints.of(record, coder))) {
        continue; // Emitted, or sent on as bad, by the chunk's first read.
      }
      org.joda.time.Instant timestamp = chunkTimestamp;
      if (timestamps != null) {
        try {
          timestamp = timestamps.of(record, queried, output.chunk);
        } catch (RecordTimestamps.BadRecordException e) {
          (e.outOfRange ? outOfRangeRows : badRows).inc();
          output.bad(record, coder, e, e.getMessage());
          continue;
        }
      }
      output.emit(record, timestamp);
    }
  }

  /** {@code held}: what the last, dropped answer for {@code microsecond} said of its size. */
  private String tooLargeMessage(TimeRange microsecond, String held) {
    return "TimeRangeIO: "
        + (microsecond.durationMicros() == 1
            ? "the microsecond " + Times.describe(microsecond.fromMicros())
            : "the range " + microsecond + ", the smallest the source can be asked for,")
        + " "
        + held
        + "; a time range can't be split further. Raise withMaxRowsPerQuery if the source allows,"
        + " or give the source a tie-breaker column (JdbcTimeRangeQuery.withTieBreakerColumn, or"
        + " TimeRangeQuery.queryPage) so one microsecond can be paged.";
  }
}
