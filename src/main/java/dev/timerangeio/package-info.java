/**
 * TimeRangeIO: Apache Beam reads of sources that can only be asked for "the records whose time
 * lies in {@code [from, to)}", and exactly-once writes into sinks that skip known idempotency
 * keys.
 *
 * <h2>API</h2>
 *
 * <ul>
 *   <li>{@link dev.timerangeio.TimeRangeIO}: {@code read()} and {@code write()}, the transforms.
 *   <li>{@link dev.timerangeio.TimeRangeQuery}: the source contract a connector implements, with
 *       its {@link dev.timerangeio.TimeRangeQuery.Result} (records and rows it could not map) and
 *       {@link dev.timerangeio.TimeRangeQuery.Page} (a page of a crowded microsecond); {@link
 *       dev.timerangeio.ResultQuery}, the base of a connector that maps rows itself; {@link
 *       dev.timerangeio.TimeRange}, its argument.
 *   <li>{@link dev.timerangeio.IdempotentSink}: the sink contract; {@link
 *       dev.timerangeio.IdempotencyKeys}: how a record's key is computed.
 *   <li>{@link dev.timerangeio.TransientSourceException}, {@link
 *       dev.timerangeio.ResultTooLargeException}, {@link dev.timerangeio.RejectedRecordException}:
 *       how a connector tells the engine to retry, to split a range, or that a record is bad.
 *   <li>{@link dev.timerangeio.TimeRangeIOMetrics}: the name of every metric.
 *   <li>{@link dev.timerangeio.Secrets}: Beam {@code Secret}s resolved on the worker (environment
 *       variable, file, value), which every connector setting holding a secret takes.
 * </ul>
 *
 * <h2>Engine (package-private)</h2>
 *
 * <ul>
 *   <li>Read: {@code ReadExpansion} (what {@code read()} expands to), {@code ReadFn} (the
 *       splittable DoFn: restriction, splits, claims, watermark), {@code ReadStart} (where a
 *       launch starts), {@code ChunkGrid} and {@code ChunkRangeTracker} (whole-chunk claims),
 *       {@code TimeRangeCoder}, {@code MonotonicWatermarkEstimator},
 *       {@code ChunkReader} (reads one claimed chunk: bisects, pages, emits), {@code
 *       RecordTimestamps}, {@code SourceCalls} and {@code QueryGate} (every source call gated and
 *       retried), {@code SourceErrors} (which failures are transient).
 *   <li>Write: {@code WriteExpansion}, {@code CommitPaths} (what may stand between a read and the
 *       write that commits its position, checked when the pipeline is run), {@code KeyFn} and {@code CanonicalTypes} (idempotency
 *       keys), {@code DedupFn} (stateful deduplication), {@code WriteFn} (batches into the sink),
 *       {@code DeadLetters}.
 *   <li>Progress: {@code ProgressLocations} (pairs a read with its write), {@code ProgressFn}
 *       (commits query-time positions), {@code ProgressStore}, {@code ProgressOffset}.
 *   <li>Shared: {@code Retries} (the one retry loop of read and write), {@code Times}, {@code
 *       MicrosClock}.
 * </ul>
 *
 * <p>Connectors live in {@code dev.timerangeio.jdbc}, {@code dev.timerangeio.http}, {@code
 * dev.timerangeio.loganalytics} and {@code dev.timerangeio.splunk} and use only the API above, as
 * a user's connector would.
 */
package dev.timerangeio;
