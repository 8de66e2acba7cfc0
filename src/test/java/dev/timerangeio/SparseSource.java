package dev.timerangeio;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * An in-memory source for the skip and memory tests: record {@code i} is the number {@code i} at
 * the {@code i}-th smallest time. It can tell the time of its next record, page any range by
 * (time, index), honour or ignore the row limit, and fail one page transiently; it counts its
 * queries, its questions and the largest answer it gave. State lives in a static registry, so
 * copies made by a runner share it.
 */
final class SparseSource implements TimeRangeQuery<Long> {
  private static final long serialVersionUID = 1L;
  private static final Map<String, long[]> TIMES = new ConcurrentHashMap<>();
  private static final Map<String, AtomicLong> QUERIES = new ConcurrentHashMap<>();
  private static final Map<String, AtomicLong> LARGEST = new ConcurrentHashMap<>();
  private static final Map<String, List<TimeRange>> PROBED = new ConcurrentHashMap<>();
  private static final Map<String, AtomicLong> FAIL_PAGE = new ConcurrentHashMap<>();

  private final String id;
  private boolean probes = true;
  private boolean rangePaging;
  private boolean ignoresLimit;

  private SparseSource(String id) {
    this.id = id;
  }

  static SparseSource of(long... times) {
    SparseSource source = new SparseSource(UUID.randomUUID().toString());
    QUERIES.put(source.id, new AtomicLong());
    LARGEST.put(source.id, new AtomicLong());
    PROBED.put(source.id, new CopyOnWriteArrayList<>());
    FAIL_PAGE.put(source.id, new AtomicLong(-1));
    source.setTimes(times);
    return source;
  }

  /** Replaces the records: a source that was written to since. */
  void setTimes(long... times) {
    long[] sorted = times.clone();
    Arrays.sort(sorted);
    TIMES.put(id, sorted);
  }

  private SparseSource copy() {
    SparseSource copy = new SparseSource(id);
    copy.probes = probes;
    copy.rangePaging = rangePaging;
    copy.ignoresLimit = ignoresLimit;
    return copy;
  }

  SparseSource withoutNextRecordTime() {
    SparseSource copy = copy();
    copy.probes = false;
    return copy;
  }

  SparseSource pagingRanges() {
    SparseSource copy = copy();
    copy.rangePaging = true;
    return copy;
  }

  SparseSource ignoringLimits() {
    SparseSource copy = copy();
    copy.ignoresLimit = true;
    return copy;
  }

  /** The {@code n}-th query (from 1), if it asks for a range page, fails once, transiently. */
  SparseSource failingPageOnce(long n) {
    FAIL_PAGE.get(id).set(n);
    return this;
  }

  long time(long record) {
    return TIMES.get(id)[(int) record];
  }

  /** Queries and pages asked for, questions for the next record not included. */
  long queries() {
    return QUERIES.get(id).get();
  }

  /** The ranges asked about by {@link #nextRecordTime}. */
  List<TimeRange> probed() {
    return new ArrayList<>(PROBED.get(id));
  }

  /** The most rows one answer or page held. */
  long largestAnswer() {
    return LARGEST.get(id).get();
  }

  private static int lowerBound(long[] times, long micros) {
    int i = Arrays.binarySearch(times, micros);
    if (i < 0) {
      return -i - 1;
    }
    while (i > 0 && times[i - 1] == micros) {
      i--;
    }
    return i;
  }

  /** Records {@code [from, to)} by index, stopping after {@code limit}. */
  private List<Long> answer(int from, int to, long limit) {
    List<Long> records = new ArrayList<>();
    for (int i = from; i < to && records.size() < limit; i++) {
      records.add((long) i);
    }
    LARGEST.get(id).accumulateAndGet(records.size(), Math::max);
    return records;
  }

  @Override
  public Iterable<Long> query(TimeRange range) {
    return query(range, Long.MAX_VALUE);
  }

  @Override
  public Iterable<Long> query(TimeRange range, long limit) {
    QUERIES.get(id).incrementAndGet();
    long[] times = TIMES.get(id);
    return answer(
        lowerBound(times, range.fromMicros()),
        lowerBound(times, range.toMicros()),
        ignoresLimit ? Long.MAX_VALUE : limit);
  }

  @Override
  public boolean supportsRangePaging() {
    return rangePaging;
  }

  /** The cursor is the last record's index: indexes follow (time, index) order. */
  @Override
  public Page<Long> queryRangePage(TimeRange range, @Nullable Object after, int limit)
      throws TransientSourceException {
    long page = QUERIES.get(id).incrementAndGet();
    if (FAIL_PAGE.get(id).compareAndSet(page, -1)) {
      throw new TransientSourceException("injected: the page failed once", null, null);
    }
    long[] times = TIMES.get(id);
    int from = lowerBound(times, range.fromMicros());
    if (after != null) {
      from = Math.max(from, (int) (long) (Long) after + 1);
    }
    List<Long> records = answer(from, lowerBound(times, range.toMicros()), limit);
    return Page.of(records, records.isEmpty() ? null : records.get(records.size() - 1));
  }

  @Override
  public boolean supportsNextRecordTime() {
    return probes;
  }

  @Override
  public OptionalLong nextRecordTime(TimeRange range) {
    PROBED.get(id).add(range);
    long[] times = TIMES.get(id);
    int first = lowerBound(times, range.fromMicros());
    return first < times.length && times[first] < range.toMicros()
        ? OptionalLong.of(times[first])
        : OptionalLong.empty();
  }
}
