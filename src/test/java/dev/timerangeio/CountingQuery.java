package dev.timerangeio;

import java.util.Map;
import java.util.OptionalLong;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * A source that counts every call the read makes to another one: queries, pages and questions
 * for the next record's time. The count lives in a static registry, shared by the copies a runner
 * makes in this JVM.
 */
final class CountingQuery<T> implements TimeRangeQuery<T> {
  private static final long serialVersionUID = 1L;
  private static final Map<String, AtomicLong> CALLS = new ConcurrentHashMap<>();

  private final TimeRangeQuery<T> delegate;
  private final String id = UUID.randomUUID().toString();

  CountingQuery(TimeRangeQuery<T> delegate) {
    this.delegate = delegate;
    CALLS.put(id, new AtomicLong());
  }

  long calls() {
    return CALLS.get(id).get();
  }

  private void count() {
    CALLS.get(id).incrementAndGet();
  }

  @Override
  public Iterable<T> query(TimeRange range) throws Exception {
    count();
    return delegate.query(range);
  }

  @Override
  public Result<T> queryResult(TimeRange range, long limit) throws Exception {
    count();
    return delegate.queryResult(range, limit);
  }

  @Override
  public boolean supportsPaging() {
    return delegate.supportsPaging();
  }

  @Override
  public Page<T> queryPage(TimeRange microsecond, @Nullable Object after, int limit)
      throws Exception {
    count();
    return delegate.queryPage(microsecond, after, limit);
  }

  @Override
  public boolean supportsRangePaging() {
    return delegate.supportsRangePaging();
  }

  @Override
  public Page<T> queryRangePage(TimeRange range, @Nullable Object after, int limit)
      throws Exception {
    count();
    return delegate.queryRangePage(range, after, limit);
  }

  @Override
  public boolean supportsNextRecordTime() {
    return delegate.supportsNextRecordTime();
  }

  @Override
  public OptionalLong nextRecordTime(TimeRange range) throws Exception {
    count();
    return delegate.nextRecordTime(range);
  }

  @Override
  public long boundGranularityMicros() {
    return delegate.boundGranularityMicros();
  }

  @Override
  public @Nullable SerializableFunction<T, java.time.Instant> recordTime() {
    return delegate.recordTime();
  }

  @Override
  public boolean recordTimeIsQueried() {
    return delegate.recordTimeIsQueried();
  }

  @Override
  public void open() throws Exception {
    delegate.open();
  }

  @Override
  public void close() throws Exception {
    delegate.close();
  }
}
