package dev.timerangeio;

import java.io.Serializable;
import java.time.Instant;
import java.util.List;
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

  /**
   * The records whose time lies in {@code range}; an empty iterable when there are none. A
   * transient failure ({@link TransientSourceException}, a timeout, a lost connection) is retried
   * by calling this again on the same open query: recover a broken connection here (a pool that
   * evicts it, a client that reconnects), not in {@link #open()}.
   */
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
   * Whether {@link #queryPage} can page one microsecond by a tie-breaker, so that a microsecond
   * holding more records than one query may return is read in pages instead of failing. The
   * default: no.
   */
  default boolean supportsPaging() {
    return false;
  }

  /**
   * One page of a microsecond that holds too many records for one query: at most {@code limit}
   * records of {@code microsecond} (a range of one microsecond) whose tie-breaker comes after
   * {@code after} (all of them for the first page, when {@code after} is null), in tie-breaker
   * order. The read asks again with the page's {@link Page#lastTieBreaker()} until a page holds
   * fewer than {@code limit} records. The tie-breaker must be unique and non-null within a
   * microsecond, and an integer or a string, like the {@code sequence_id} of an offset.
   *
   * <p>Only called when {@link #supportsPaging()} says so; the default throws.
   */
  default Page<T> queryPage(TimeRange microsecond, @Nullable Object after, int limit)
      throws Exception {
    throw new UnsupportedOperationException(
        getClass().getName() + " does not page a microsecond by a tie-breaker");
  }

  /** A page of {@link #queryPage}: its records and the tie-breaker of the last one. */
  final class Page<T> {
    private final List<T> records;
    private final @Nullable Object lastTieBreaker;

    private Page(List<T> records, @Nullable Object lastTieBreaker) {
      this.records = records;
      this.lastTieBreaker = lastTieBreaker;
    }

    /**
     * A page of {@code records} in tie-breaker order; {@code lastTieBreaker} is the tie-breaker
     * of the last of them (an integer or a string), or null when there are none.
     */
    public static <T> Page<T> of(List<T> records, @Nullable Object lastTieBreaker) {
      if (records == null) {
        throw new IllegalArgumentException("Page.of: records must not be null");
      }
      if (!records.isEmpty() && lastTieBreaker == null) {
        throw new IllegalArgumentException(
            "Page.of: a page of " + records.size() + " records needs the last one's tie-breaker");
      }
      return new Page<>(records, lastTieBreaker);
    }

    public List<T> records() {
      return records;
    }

    public @Nullable Object lastTieBreaker() {
      return lastTieBreaker;
    }
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
