package dev.timerangeio;

import java.io.Serializable;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
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

  /**
   * Whether {@link #queryRangePage} can read any range in pages ordered by time and tie-breaker,
   * so that a chunk holding more records than the read holds in memory at once is read and
   * emitted page by page instead of being bisected. The default: no.
   */
  default boolean supportsRangePaging() {
    return false;
  }

  /**
   * One page of {@code range}: at most {@code limit} of its records, ordered by (time,
   * tie-breaker), that come after {@code after} in that order (from the start of the range when
   * {@code after} is null). {@link Page#lastTieBreaker()} is the cursor of the page's last row, an
   * object the read hands back unchanged as the next page's {@code after} (the JDBC connector's is
   * the row's time and tie-breaker; an API's may be its continuation token); it must differ from
   * page to page. The read asks again until a page holds fewer than {@code limit} rows, so the
   * pages of a range must together be its records, each once.
   *
   * <p>Only called when {@link #supportsRangePaging()} says so; the default throws.
   */
  default Page<T> queryRangePage(TimeRange range, @Nullable Object after, int limit)
      throws Exception {
    throw new UnsupportedOperationException(
        getClass().getName() + " does not page a range by time and tie-breaker");
  }

  /**
   * Whether {@link #nextRecordTime} can answer, so that the read skips a run of empty chunks with
   * one call instead of querying each. The default: no.
   */
  default boolean supportsNextRecordTime() {
    return false;
  }

  /**
   * The time, in epoch microseconds, of the first record in {@code range} (the least time of the
   * records {@link #queryResult} would return for it, floored to the microsecond), or empty when
   * it holds none. The read only asks about ranges it could query now (below its safe horizon)
   * and then claims the chunks before that time as empty, unread: an answer later than the true
   * first record loses records, an earlier one only costs a query. The JDBC connector answers
   * with {@code SELECT MIN(time)} over the query; an HTTP API can't, in general.
   *
   * <p>Only called when {@link #supportsNextRecordTime()} says so; the default throws.
   */
  default OptionalLong nextRecordTime(TimeRange range) throws Exception {
    throw new UnsupportedOperationException(
        getClass().getName() + " does not tell the time of the next record");
  }

  /**
   * The answer to a query as the read sees it: the records, and the source rows that could not be
   * made into records (a row mapper that threw), each with its reason. The read emits the records
   * and sends each unmapped row to its bad-record handler or dead-letter sink (or fails the bundle
   * when it has neither), counting both against {@code withMaxRowsPerQuery}.
   *
   * <p>The read calls this, not {@link #query(TimeRange)}. The default wraps {@link
   * #query(TimeRange)} ({@code limit == Long.MAX_VALUE}, the read has no row cap) or {@link
   * #query(TimeRange, long)}; a source that maps rows itself overrides it to report the rows it
   * could not map. A lazy result is consumed here, inside the read's retries, so a failure halfway
   * through it is retried like any failed query.
   */
  default Result<T> queryResult(TimeRange range, long limit) throws Exception {
    Iterable<T> records = limit == Long.MAX_VALUE ? query(range) : query(range, limit);
    if (records == null) {
      throw new IllegalStateException(
          getClass().getName()
              + ".query("
              + range
              + ") returned null; return an empty Iterable for a range with no records");
    }
    return Result.of(records);
  }

  /**
   * The records of a query and the rows the source could not map; see {@link #queryResult}. Build
   * one with {@link #of} or {@link #builder}.
   */
  final class Result<T> {
    private final List<T> records;
    private final List<Unmapped> unmapped;

    private Result(List<T> records, List<Unmapped> unmapped) {
      this.records = Collections.unmodifiableList(records);
      this.unmapped = Collections.unmodifiableList(unmapped);
    }

    /**
     * A result of {@code records} and no unmapped rows. A plain {@code ArrayList} is taken as it
     * is, not copied (the result owns it from now on: don't change it); anything else is copied
     * into one (a list of references to the records, not copies of them): a result that fetches
     * while it is iterated is consumed now.
     */
    public static <T> Result<T> of(Iterable<T> records) {
      if (records == null) {
        throw new IllegalArgumentException("Result.of: records must not be null");
      }
      return new Result<>(listOf(records), Collections.emptyList());
    }

    @SuppressWarnings("unchecked")
    private static <T> List<T> listOf(Iterable<T> records) {
      if (records.getClass() == ArrayList.class) {
        return (List<T>) records;
      }
      List<T> all = new ArrayList<>();
      records.forEach(all::add);
      return all;
    }

    /** A builder that takes records and unmapped rows in the order the source returned them. */
    public static <T> Builder<T> builder() {
      return new Builder<>();
    }

    /** The records, in the order the source returned them; unmodifiable. */
    public List<T> records() {
      return records;
    }

    /**
     * The records, when every row could be mapped; otherwise an {@link IllegalStateException}
     * naming the first row that could not, with its error as the cause. For {@link
     * TimeRangeQuery#query}, which has no way to report unmapped rows: a row must never vanish
     * without a trace because a caller used {@code query} instead of {@link
     * TimeRangeQuery#queryResult}.
     */
    public List<T> recordsIfAllMapped() {
      if (!unmapped.isEmpty()) {
        Unmapped first = unmapped.get(0);
        throw new IllegalStateException(
            unmapped.size()
                + " row(s) could not be made into records, the first "
                + first.row()
                + ": "
                + first.error()
                + "; call queryResult(range, limit), which reports them, instead of query(range)",
            first.error());
      }
      return records;
    }

    /** The rows no record could be made of; unmodifiable. */
    public List<Unmapped> unmapped() {
      return unmapped;
    }

    /** Every row the source returned: records and unmapped rows. */
    public int rows() {
      return records.size() + unmapped.size();
    }

    /** A source row no record could be made of: the row as text and why. */
    public static final class Unmapped {
      private final String row;
      private final Exception error;

      Unmapped(String row, Exception error) {
        this.row = row;
        this.error = error;
      }

      /** The row as text, for the bad record (keep secrets out of it). */
      public String row() {
        return row;
      }

      /** Why no record could be made of it. */
      public Exception error() {
        return error;
      }
    }

    /** Collects a {@link Result}; not thread-safe. */
    public static final class Builder<T> {
      private List<T> records = new ArrayList<>();
      private List<Unmapped> unmapped = new ArrayList<>();

      private Builder() {}

      /** Adds a record. */
      public Builder<T> add(T record) {
        records.add(record);
        return this;
      }

      /** Adds a row that no record could be made of: the row as text and the reason. */
      public Builder<T> addUnmapped(String row, Exception error) {
        if (row == null || error == null) {
          throw new IllegalArgumentException("Result.Builder.addUnmapped: row and error must not be null");
        }
        unmapped.add(new Unmapped(row, error));
        return this;
      }

      /** Adds the records and unmapped rows of {@code other}, a page of the same answer, say. */
      public Builder<T> addAll(Result<T> other) {
        records.addAll(other.records());
        unmapped.addAll(other.unmapped());
        return this;
      }

      /** Rows added so far: records and unmapped rows. */
      public int rows() {
        return records.size() + unmapped.size();
      }

      /**
       * The result of what was added; the builder starts empty again, so that nothing added
       * later changes a result already built (and nothing is copied).
       */
      public Result<T> build() {
        Result<T> result = new Result<>(records, unmapped);
        records = new ArrayList<>();
        unmapped = new ArrayList<>();
        return result;
      }
    }
  }

  /**
   * A page of {@link #queryPage}: its result and the tie-breaker of its last row; or of {@link
   * #queryRangePage}: its result and the cursor of its last row, in the same field.
   */
  final class Page<T> {
    private final Result<T> result;
    private final @Nullable Object lastTieBreaker;

    private Page(Result<T> result, @Nullable Object lastTieBreaker) {
      this.result = result;
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
      return of(Result.of(records), lastTieBreaker);
    }

    /**
     * A page of {@code result}, whose records and unmapped rows are in tie-breaker order; {@code
     * lastTieBreaker} is the tie-breaker of its last row, or null when it has none.
     */
    public static <T> Page<T> of(Result<T> result, @Nullable Object lastTieBreaker) {
      if (result == null) {
        throw new IllegalArgumentException("Page.of: result must not be null");
      }
      if (result.rows() > 0 && lastTieBreaker == null) {
        throw new IllegalArgumentException(
            "Page.of: a page of " + result.rows() + " rows needs the last one's tie-breaker");
      }
      return new Page<>(result, lastTieBreaker);
    }

    public List<T> records() {
      return result.records();
    }

    /** The page's records and unmapped rows. */
    public Result<T> result() {
      return result;
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
   * Whether {@link #count(TimeRange)} can answer, so that a read with {@code withLookback} asks for
   * a chunk's count before re-reading it and re-reads only chunks whose count changed. The
   * default: no (every chunk is re-read).
   */
  default boolean supportsCount() {
    return false;
  }

  /**
   * How many rows a query of {@code range} would return now: the same filter as {@link
   * #queryResult}, rows the mapper can't map included (JDBC: {@code SELECT COUNT(*)} over {@code
   * [from, to)}). Only called when {@link #supportsCount()} says so; the default throws.
   */
  default long count(TimeRange range) throws Exception {
    throw new UnsupportedOperationException(getClass().getName() + " does not count a range");
  }

  /**
   * The Beam schema of the records when they are {@link org.apache.beam.sdk.values.Row}s: the
   * read then gives its output this schema (and a row coder), so schema transforms work on it.
   * Called when the read is applied. The default: none.
   */
  default org.apache.beam.sdk.schemas.@Nullable Schema schema() throws Exception {
    return null;
  }

  /**
   * The finest bound the source can express, in microseconds: every range the read asks for then
   * starts and ends on a multiple of it (an API that takes whole seconds answers 1,000,000), so no
   * bound is rounded and every record is read exactly once. The read aligns its start ("latest",
   * "earliest" and a stored offset are floored to it), its bisections and its chunks, and refuses
   * a partition duration, start or end time that is not a multiple of it. Default 1: any
   * microsecond.
   */
  default long boundGranularityMicros() {
    return 1;
  }

  /**
   * The time of each record, for a read without {@code withTimestampFn}: the read stamps every
   * record with it (its event time) and, when {@link #recordTimeIsQueried()}, checks that it lies
   * in the range the record was returned for. The default: none, so records are stamped at the
   * start of their chunk unless the read is given {@code withTimestampFn}. The built-in Log
   * Analytics and Splunk connectors return their time column.
   */
  default org.apache.beam.sdk.transforms.@Nullable SerializableFunction<T, Instant> recordTime() {
    return null;
  }

  /**
   * Whether {@link #recordTime()} is the time the source is queried by, so that a record's time
   * lies in the range it was returned for (the read then checks it, DESIGN.md invariant 6). A
   * source queried by another time (Splunk by index time, stamped by event time) answers false:
   * the read stamps records by their event time and trusts the source for the range, but still
   * refuses a record stamped earlier than the range's start minus the watermark delay (it would be
   * behind the watermark): such a source needs a watermark delay of its largest indexing delay.
   * Default: true.
   */
  default boolean recordTimeIsQueried() {
    return true;
  }

  /**
   * Where the records come from, for Beam's {@link org.apache.beam.sdk.metrics.Lineage}: the read
   * reports it as a source, so runners and data catalogs see which table or service a pipeline
   * reads. Never a secret: no password, token or query string. The default: none, nothing is
   * reported. The built-in connectors name their database and table, URL, workspace or Splunk
   * host.
   */
  default @Nullable LineageName lineage() {
    return null;
  }

  /** Called once per worker copy before the first query. */
  default void open() throws Exception {}

  /** Called when the worker discards its copy. */
  default void close() throws Exception {}
}
