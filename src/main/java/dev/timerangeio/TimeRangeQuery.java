package dev.timerangeio;

import java.io.Serializable;
import java.time.Instant;
import java.util.Optional;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * The one question TimeRangeIO asks a source: "the records whose time lies in {@code [from,
 * to)}".
 *
 * <p>Implementations must be {@link Serializable}: a copy runs on every worker. {@link #open()}
 * is called once per copy before the first query (the place to open a connection) and {@link
 * #close()} when the worker tears the copy down.
 *
 * <p>The contract that makes a read exact: for any two ranges that don't overlap, the results
 * don't overlap, and a record returned for a range has its time inside it. A query must not return
 * a record that is still being ingested and may change; the read's ingestion lag exists so that it
 * only asks for ranges the source has finished writing.
 *
 * @param <T> the record type
 */
public interface TimeRangeQuery<T> extends Serializable {

  /** The records whose time lies in {@code range}; an empty iterable when there are none. */
  Iterable<T> query(TimeRange range) throws Exception;

  /**
   * The records of {@code range} when the read caps rows per query ({@code
   * TimeRangeIO.Read#withMaxRowsPerQuery}): the read only needs to know whether there are more
   * than the cap, so a source may stop after {@code limit} records (the cap plus one); the read
   * then splits the range. Throw {@link ResultTooLargeException} instead if the source itself
   * refuses ranges with too many records. The default ignores the limit.
   */
  default Iterable<T> query(TimeRange range, long limit) throws Exception {
    return query(range);
  }

  /**
   * The time of the oldest record, for start time {@code "earliest"}; empty when the source holds
   * no record. The default says the source can't tell.
   */
  default Optional<Instant> earliest() throws Exception {
    throw new UnsupportedOperationException(
        getClass().getName()
            + " does not implement earliest(), so withStartTime(\"earliest\") can't be used with"
            + " it; give an ISO-8601 start time or \"latest\"");
  }

  /**
   * Whether {@link #earliest()} can answer, so that start time {@code "earliest"} is rejected when
   * the read is built rather than when it runs. The default: whether this class overrides {@code
   * earliest()}.
   */
  default boolean supportsEarliest() {
    try {
      return getClass().getMethod("earliest").getDeclaringClass() != TimeRangeQuery.class;
    } catch (NoSuchMethodException e) {
      return false;
    }
  }

  /**
   * The Beam schema of the records when they are {@link org.apache.beam.sdk.values.Row}s: the
   * read then gives its output this schema (and a row coder), so schema transforms work on it.
   * Called when the read is applied. The default: none.
   */
  default org.apache.beam.sdk.schemas.@Nullable Schema schema() throws Exception {
    return null;
  }

  /** Called once per worker copy before the first query. */
  default void open() throws Exception {}

  /** Called when the worker discards its copy. */
  default void close() throws Exception {}
}
