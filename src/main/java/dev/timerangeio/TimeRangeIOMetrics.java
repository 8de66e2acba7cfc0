package dev.timerangeio;

/**
 * The names of every metric TimeRangeIO reports in Beam Metrics, all in namespace {@link
 * #NAMESPACE}: query them with {@code MetricNameFilter.named(TimeRangeIOMetrics.NAMESPACE,
 * TimeRangeIOMetrics.ROWS_READ)}. A connector reporting its own metric uses this namespace too.
 */
public final class TimeRangeIOMetrics {
  private TimeRangeIOMetrics() {}

  /** The namespace of every TimeRangeIO metric. */
  public static final String NAMESPACE = "TimeRangeIO";

  // The read.

  /** Counter: records the read emitted. */
  public static final String ROWS_READ = "rowsRead";

  /** Counter: chunks the read finished, with records or without. */
  public static final String CHUNKS_READ = "chunksRead";

  /** Counter: chunks that held no record. */
  public static final String EMPTY_CHUNKS = "emptyChunks";

  /**
   * Counter: of {@link #EMPTY_CHUNKS}, those claimed unqueried because the source said its next
   * record comes later ({@code TimeRangeQuery#nextRecordTime}).
   */
  public static final String SKIPPED_CHUNKS = "skippedChunks";

  /** Counter: questions for the time of the next record, each standing in for a run of chunks. */
  public static final String NEXT_RECORD_PROBES = "nextRecordProbes";

  /** Distribution: milliseconds to read one chunk, retries and bisections included. */
  public static final String CHUNK_READ_MILLIS = "chunkReadMillis";

  /** Gauge: now minus the read's watermark, in milliseconds. */
  public static final String WATERMARK_LAG_MILLIS = "watermarkLagMillis";

  /** Gauge: the safe horizon minus the start of the chunk being read, in microseconds. */
  public static final String BACKLOG_MICROS = "backlogMicros";

  /** Counter: transient source failures the read retried. */
  public static final String SOURCE_RETRIES = "sourceRetries";

  /**
   * Counter: parts of live-edge chunks read by the readers {@code withLiveEdgeReaders} spreads
   * over the workers (each part also counts in {@link #CHUNKS_READ}).
   */
  public static final String LIVE_EDGE_PARTS = "liveEdgeParts";

  /** Counter: ranges split in two because their answer was too large. */
  public static final String RANGE_BISECTIONS = "rangeBisections";

  /** Counter: pages read of microseconds too crowded for one query. */
  public static final String PAGES_READ = "pagesRead";

  /** Counter: records whose time lies outside the range they were returned for (bad records). */
  public static final String OUT_OF_RANGE_ROWS = "outOfRangeRows";

  /** Counter: other bad records: rows the source could not map, records without a usable time. */
  public static final String BAD_ROWS = "badRows";

  /**
   * Counter: records a re-read ({@code withLookback}) found that the chunk's first read did not
   * return; they are emitted too and also count in {@link #ROWS_READ}.
   */
  public static final String LATE_RECORDS = "lateRecords";

  /**
   * Counter: chunks whose re-read ({@code withLookback}) still disagrees with what was emitted: the
   * source's count differs from the records emitted for the chunk, or records the first read
   * returned are gone. Each is logged as a warning.
   */
  public static final String INCOMPLETE_CHUNKS = "incompleteChunks";

  // The write.

  /** Counter: copies of a record the write's deduplication dropped. */
  public static final String DUPLICATES_DROPPED = "duplicatesDropped";

  /** Counter: records that could not be given an idempotency key (sent to failed records). */
  public static final String UNKEYABLE_RECORDS = "unkeyableRecords";

  /** Counter: records the sink acknowledged: written now, or skipped as already stored. */
  public static final String ROWS_WRITTEN = "rowsWritten";

  /** Counter: of {@link #ROWS_WRITTEN}, the records a sink reports it found already stored. */
  public static final String DUPLICATES_SKIPPED_BY_SINK = "duplicatesSkippedBySink";

  /** Counter: transient sink failures the write retried. */
  public static final String WRITE_RETRIES = "writeRetries";

  /**
   * Counter: access tokens fetched from an OAuth2 token endpoint (the first one per worker, each
   * refresh before expiry, and each fetch after a 401).
   */
  public static final String TOKEN_REFRESHES = "tokenRefreshes";
}
