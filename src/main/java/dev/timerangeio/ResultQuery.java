package dev.timerangeio;

import java.util.List;

/**
 * A {@link TimeRangeQuery} that answers with a {@link TimeRangeQuery.Result}: a source that maps
 * rows into records itself and reports the rows it could not map. Implement {@link #queryResult};
 * {@link #query(TimeRange)} and {@link #query(TimeRange, long)} follow from it and fail, naming
 * the row, when a row could not be mapped (they have no way to report it, and a row must not
 * vanish). The built-in JDBC and HTTP connectors are written this way.
 *
 * @param <T> the record type
 */
public abstract class ResultQuery<T> implements TimeRangeQuery<T> {
  private static final long serialVersionUID = 1L;

  /**
   * The records of {@code range} and the rows that could not be made into records; {@code limit}
   * is the most rows the read needs ({@code Long.MAX_VALUE}: no cap), so a source may stop after
   * it.
   */
  @Override
  public abstract Result<T> queryResult(TimeRange range, long limit) throws Exception;

  /** The records of {@code range}; fails, naming the row, if a row could not be mapped. */
  @Override
  public List<T> query(TimeRange range) throws Exception {
    return queryResult(range, Long.MAX_VALUE).recordsIfAllMapped();
  }

  /** {@link #query(TimeRange)}, stopping after {@code limit} rows. */
  @Override
  public List<T> query(TimeRange range, long limit) throws Exception {
    return queryResult(range, limit).recordsIfAllMapped();
  }
}
