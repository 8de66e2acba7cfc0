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
 * <p>An answer over {@code withMaxRowsPerQuery} (without it, over the memory bound {@link
 * #DEFAULT_MEMORY_ROWS}), or one the source refuses as too large, is dropped unread. Its range is
 * then read in pages ordered by time and tie-breaker if the source can ({@link
 * TimeRangeQuery#queryRangePage}), each page emitted before the next is asked for, or else
 * bisected, recursively, down to one microsecond; a microsecond still too large is read in pages
 * ordered by the source's tie-breaker, each starting after the last one's cursor ({@code
 * {"timestamp", "sequence_id"}}). Nothing from a dropped answer is emitted, and the parts don't
 * overlap, so no record is emitted twice; at most one answer or page is held at a time.
 */
final class ChunkReader<T> {
  /** Records per page of a crowded microsecond when {@code withMaxRowsPerQuery} is not set. */
  static final int DEFAULT_PAGE_SIZE = 1_000;

  /**
   * The most rows of a chunk held in memory at once when {@code withMaxRowsPerQuery} is not set:
   * a larger answer is dropped and the range paged or bisected. About 10 MB of records of a few
   * hundred bytes.
   */
  static final int DEFAULT_MEMORY_ROWS = 20_000;

  private final TimeRangeIO.Read<T> spec;
  private final SourceCalls<T> source;
  private final Coder<T> coder;
  private final BadRecordRouter badRecordRouter;
  private final @Nullable DeadLetters deadLetters;
  private final @Nullable RecordTimestamps<T> timestamps;
  private final TupleTag<T> recordsTag;
  private final TupleTag<KV<Integer, TimeRange>> progressTag;
  private final long watermarkDelayMicros;
  private final ByteRate byteRate;
  private final ByteRate.Sizer<T> sizer;
  /** {@code withMaxRowsPerQuery}, or 0 when not set. */
  private final long maxRows;
  /**
   * Rows held at once without {@code withMaxRowsPerQuery}: {@link #DEFAULT_MEMORY_ROWS}, or fewer
   * in tests.
   */
  private final long memoryRows;
  /** Why the last range {@link #queryRange} dropped was too large; for the failure's message. */
  private String lastTooLarge = "";

  private final Counter rowsRead = counter(TimeRangeIOMetrics.ROWS_READ);
  private final Counter chunksRead = counter(TimeRangeIOMetrics.CHUNKS_READ);
  private final Counter emptyChunks = counter(TimeRangeIOMetrics.EMPTY_CHUNKS);
  private final Counter rangeBisections = counter(TimeRangeIOMetrics.RANGE_BISECTIONS);
  private final Counter outOfRangeRows = counter(TimeRangeIOMetrics.OUT_OF_RANGE_ROWS);
  private final Counter badRows = counter(TimeRangeIOMetrics.BAD_ROWS);
  private final Counter pagesRead = counter(TimeRangeIOMetrics.PAGES_READ);
  private final Counter skippedChunks = counter(TimeRangeIOMetrics.SKIPPED_CHUNKS);
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
      TupleTag<KV<Integer, TimeRange>> progressTag,
      ByteRate byteRate)
      throws Exception {
    DeadLetters deadLetters = null;
    if (spec.getDeadLetterSink() != null) {
      deadLetters =
          new DeadLetters(
              spec.getDeadLetterSink(),
              Retries.forSink(spec.getMaxRetries(), spec.getInitialBackoff(), retries));
      deadLetters.open();
    }
    return new ChunkReader<>(
        spec,
        source,
        coder,
        deadLetters,
        recordsTag,
        progressTag,
        byteRate,
        DEFAULT_MEMORY_ROWS);
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
      TupleTag<KV<Integer, TimeRange>> progressTag,
      ByteRate byteRate,
      long memoryRows) {
    this.spec = spec;
    this.byteRate = byteRate;
    this.sizer = new ByteRate.Sizer<>(coder);
    this.maxRows = spec.getMaxRowsPerQuery();
    this.memoryRows = memoryRows;
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
    /** The emitted records' encoded bytes, for {@link ByteRate}. */
    long bytes;
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

    void emit(T record, org.joda.time.Instant timestamp) throws Exception {
      // Encoded here a second time (the runner encodes what it ships): the cost of sizes in bytes.
      bytes += sizer.sizeOf(record);
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
   * passes a bad record before the dead-letter sink holds it. Returns the rows it emitted.
   *
   * <p>Memory: at most one answer or page is held at a time, of at most {@code
   * withMaxRowsPerQuery} rows, or {@link #DEFAULT_MEMORY_ROWS} without it (plus the chunk's bad
   * records, kept until they are stored). A larger answer is dropped; where the source can page a
   * range by time and tie-breaker ({@link TimeRangeQuery#supportsRangePaging}) the range is read
   * page by page, each page emitted before the next is asked for, otherwise it is bisected. A
   * half-read chunk is harmless: its records reach the runner only if the bundle commits, and a
   * checkpoint can't fall inside a claimed chunk, so a retried chunk is read again from its start.
   */
  Outcome read(TimeRange chunk, MultiOutputReceiver out) throws Exception {
    long startNanos = System.nanoTime();
    ChunkOutput output = readWhole(chunk, out, null);
    if (spec.getLookback() == null) {
      // With a lookback the chunk is signalled after its re-check ({@link RecheckFn}).
      signal(chunk, output.latest, out);
    }
    byteRate.add(chunk.durationMicros(), output.bytes);
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
   * Records {@code run}, {@code chunks} chunks the read claimed as empty without querying them
   * ({@link EmptyStretches}): one progress signal for the whole run, stamped like an empty
   * chunk's (the run's start minus the watermark delay), so the committed position moves through
   * it without a gap.
   */
  void skipped(TimeRange run, long chunks, MultiOutputReceiver out) {
    signal(
        run,
        Times.toBeamTimestamp(Times.saturatedSubtract(run.fromMicros(), watermarkDelayMicros)),
        out);
    // As empty as a chunk queried and found empty: its time counts in the bytes per microsecond,
    // or @GetSize would weigh the backlog by the few chunks queried around the run.
    byteRate.add(run.durationMicros(), 0);
    chunksRead.inc(chunks);
    emptyChunks.inc(chunks);
    skippedChunks.inc(chunks);
  }

  private void signal(TimeRange range, org.joda.time.Instant timestamp, MultiOutputReceiver out) {
    if (spec.getProgressLocation() != null) {
      out.get(progressTag).outputWithTimestamp(KV.of(0, range), timestamp);
    }
  }

  /**
   * Emits the records of {@code range}, a part of the chunk. An answer over the cap is dropped
   * unread; the range is then paged by time and tie-breaker if the source can, else bisected: the
   * halves don't overlap, and a record outside the half that returned it is out of range, so no
   * record is emitted twice. A microsecond still too large is paged by the source's tie-breaker,
   * if it has one, or, when only the memory bound was exceeded, read whole as it must be.
   */
  private void readRange(TimeRange range, ChunkOutput output) throws Exception {
    TimeRangeQuery.Result<T> result = queryRange(range, maxRows > 0 ? maxRows : memoryRows);
    if (result != null) {
      emit(result, range, output);
      return;
    }
    if (source.query().supportsRangePaging()) {
      readPages(range, false, output);
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
    if (source.query().supportsPaging()) {
      readPages(range, true, output);
      return;
    }
    // No cap was asked for and the source can't split further: whole, as before the bound.
    TimeRangeQuery.Result<T> whole = maxRows == 0 ? queryRange(range, Long.MAX_VALUE) : null;
    if (whole == null) {
      throw new IllegalStateException(tooLargeMessage(range, lastTooLarge));
    }
    emit(whole, range, output);
  }

  /**
   * The answer for a range, retrying transient failures, or null when it holds more than {@code
   * cap} rows (a {@code withMaxRowsPerQuery} cap; for the memory bound, only when the source
   * stopped at the limit: an answer it returned whole despite the limit is already in memory)
   * or the source refuses the range as too large.
   */
  private TimeRangeQuery.@Nullable Result<T> queryRange(TimeRange range, long cap)
      throws Exception {
    long limit = Times.saturatedAdd(cap, 1);
    TimeRangeQuery.Result<T> result;
    try {
      result =
          source.call(
              "the query for " + range,
              () -> source.query().queryResult(range, cap == Long.MAX_VALUE ? cap : limit));
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
    if (maxRows > 0 ? result.rows() > maxRows : result.rows() == limit) {
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
   * Emits {@code range} page by page: ordered by its tie-breaker when {@code byTieBreaker} (a
   * crowded microsecond, {@link TimeRangeQuery#queryPage}), else by time and tie-breaker ({@link
   * TimeRangeQuery#queryRangePage}). Each page starts after the previous page's cursor, so pages
   * don't overlap, and the cursor must move on, so a source that repeats a page fails instead of
   * looping. A page the source refuses as too large is asked for again at half the size. Only one
   * page is held at a time: each is emitted before the next is asked for.
   */
  private void readPages(TimeRange range, boolean byTieBreaker, ChunkOutput output)
      throws Exception {
    int pageSize = (int) Math.min(maxRows > 0 ? maxRows : memoryRows, Integer.MAX_VALUE);
    if (byTieBreaker && maxRows == 0) {
      pageSize = DEFAULT_PAGE_SIZE;
    }
    Object cursor = null;
    while (true) {
      Object after = cursor;
      int limit = pageSize;
      TimeRangeQuery.Page<T> page;
      try {
        page =
            source.call(
                "the page after " + after + " of " + range,
                () ->
                    byTieBreaker
                        ? source.query().queryPage(range, after, limit)
                        : source.query().queryRangePage(range, after, limit));
      } catch (Exception e) {
        if (!SourceErrors.isTooLarge(e) || pageSize == 1) {
          throw e;
        }
        pageSize = Math.max(1, pageSize / 2);
        continue;
      }
      pagesRead.inc();
      emit(page.result(), range, output);
      if (page.result().rows() < limit) {
        return;
      }
      Object next = page.lastTieBreaker();
      if (cursor != null && !advances(byTieBreaker, range, cursor, next)) {
        throw new IllegalStateException(
            "TimeRangeIO: paging "
                + (byTieBreaker
                    ? "the microsecond "
                        + Times.describe(range.fromMicros())
                        + " by its tie-breaker"
                    : "the range " + range + " by time and tie-breaker")
                + ", the page after "
                + describeCursor(byTieBreaker, range, cursor)
                + " ended at "
                + describeCursor(byTieBreaker, range, next)
                + ", which is not after it; the tie-breaker must be unique within a microsecond"
                + " and the source must return pages in its order");
      }
      cursor = next;
    }
  }

  /**
   * Whether a page cursor moved on. A tie-breaker that is a number must grow (compared as numbers,
   * never as text); a string, or a range page's opaque cursor, must change, since its order is the
   * source's, not Java's.
   */
  private static boolean advances(
      boolean byTieBreaker, TimeRange range, Object previous, @Nullable Object next) {
    if (!byTieBreaker
        || previous instanceof String
        || next instanceof String
        || next == null) {
      return !previous.equals(next);
    }
    return ProgressOffset.ofSequence(range.fromMicros(), next)
            .compareTo(ProgressOffset.ofSequence(range.fromMicros(), previous))
        > 0;
  }

  /** A tie-breaker as the offset it stands for; a range page's cursor as the source made it. */
  private static String describeCursor(
      boolean byTieBreaker, TimeRange range, @Nullable Object cursor) {
    return byTieBreaker && cursor != null
        ? ProgressOffset.ofSequence(range.fromMicros(), cursor).toString()
        : String.valueOf(cursor);
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
