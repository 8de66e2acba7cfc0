package dev.timerangeio.jdbc;

import dev.timerangeio.TimeRange;
import java.util.HashSet;
import java.util.Set;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * The pages a {@link JdbcTimeRangeQuery} copy read of the crowded microsecond it is paging, for
 * {@link JdbcTimeRangeQuery#withMaxPagesPerQuery}; internal, not thread-safe (one per copy).
 */
final class JdbcPageCursors {
  private @Nullable Long microsecondPaged;
  private Set<Object> cursors = new HashSet<>();
  private @Nullable Object lastCursor;

  /**
   * Counts a page of {@code microsecond} against {@code maxPages} and refuses a
   * cursor an earlier page of it already started after. A first page ({@code after} null) starts
   * the count; asking again after the latest cursor is a retry of the same page.
   */
  void count(TimeRange microsecond, @Nullable Object after, String column, int maxPages) {
    if (after == null
        || microsecondPaged == null
        || microsecondPaged != microsecond.fromMicros()) {
      microsecondPaged = microsecond.fromMicros();
      cursors = new HashSet<>();
      lastCursor = null;
    }
    if (after == null || after.equals(lastCursor)) {
      return;
    }
    if (!cursors.add(after)) {
      throw new IllegalStateException(
          "withTieBreakerColumn(\"" + column + "\"): paging the microsecond "
              + microsecond.from() + ", a page starts after " + after + " again, as an earlier"
              + " page did: the database's order of the tie-breaker is not the one > applies"
              + " (a collation?), so the pages would cycle forever");
    }
    lastCursor = after;
    if (cursors.size() + 1 > maxPages) {
      throw new IllegalStateException(
          "withTieBreakerColumn(\"" + column + "\"): the microsecond "
              + microsecond.from() + " takes more than withMaxPagesPerQuery("
              + maxPages + ") pages; raise it if it really holds that many rows, else"
              + " its paging never ends");
    }
  }}
