package dev.timerangeio;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.values.KV;

/**
 * An in-memory source of records {@code KV(timeMicros, id)}, sorted by time. The data sits in a
 * static registry so that the copies a runner deserializes don't carry (or re-copy) it.
 *
 * <p>Optionally a record only becomes visible once a clock has passed its time plus a visibility
 * delay, as in a store that is still ingesting; and a query can be made to fail.
 */
public final class TestSource implements TimeRangeQuery<KV<Long, Long>> {
  private static final long serialVersionUID = 1L;
  private static final Map<String, long[]> TIMES = new ConcurrentHashMap<>();
  private static final Map<String, AtomicLong> QUERIES = new ConcurrentHashMap<>();
  private static final Map<String, AtomicLong> ANSWERS = new ConcurrentHashMap<>();

  public static final Coder<KV<Long, Long>> CODER = KvCoder.of(VarLongCoder.of(), VarLongCoder.of());

  private final String id;
  private final MicrosClock visibilityClock;
  private final long visibilityDelayMicros;
  private final String failureMessage;
  private final double transientFailureRate;
  private final long retryAfterMillis;
  private final int failFirst;
  private int refuseAbove;
  // Paging: 0 = no paging; 1 = pages by record id; 2 = pages that never advance (a broken source).
  private int paging;

  private static final Map<String, AtomicLong> TRANSIENT_FAILURES = new ConcurrentHashMap<>();
  private static final Map<String, BoundedFaults> FAULTS = new ConcurrentHashMap<>();
  private static final Map<String, List<Long>> QUERY_NANOS = new ConcurrentHashMap<>();

  private TestSource(
      String id,
      MicrosClock visibilityClock,
      long visibilityDelayMicros,
      String failureMessage,
      double transientFailureRate,
      long retryAfterMillis,
      int failFirst) {
    this.id = id;
    this.visibilityClock = visibilityClock;
    this.visibilityDelayMicros = visibilityDelayMicros;
    this.failureMessage = failureMessage;
    this.transientFailureRate = transientFailureRate;
    this.retryAfterMillis = retryAfterMillis;
    this.failFirst = failFirst;
  }

  /** A source holding one record at each of {@code times}; record ids are indices. */
  public static TestSource of(long... times) {
    long[] sorted = times.clone();
    Arrays.sort(sorted);
    String id = UUID.randomUUID().toString();
    TIMES.put(id, sorted);
    QUERIES.put(id, new AtomicLong());
    ANSWERS.put(id, new AtomicLong());
    TRANSIENT_FAILURES.put(id, new AtomicLong());
    QUERY_NANOS.put(id, new java.util.concurrent.CopyOnWriteArrayList<>());
    return new TestSource(id, null, 0, null, 0, 0, 0);
  }

  /** A source whose record at {@code t} is visible only once {@code clock >= t + delay}. */
  TestSource visibleAfter(MicrosClock clock, long delayMicros) {
    return new TestSource(
        id, clock, delayMicros, failureMessage, transientFailureRate, retryAfterMillis, failFirst);
  }

  /** A source whose every query throws an exception with {@code message}. */
  TestSource failingWith(String message) {
    return new TestSource(
        id,
        visibilityClock,
        visibilityDelayMicros,
        message,
        transientFailureRate,
        retryAfterMillis,
        failFirst);
  }

  /**
   * A source whose queries fail with {@link TransientSourceException} at this rate (seeded), asking
   * for a wait of {@code retryAfterMillis} when positive.
   */
  TestSource failingTransiently(double rate, long retryAfterMillis) {
    return new TestSource(
        id, visibilityClock, visibilityDelayMicros, failureMessage, rate, retryAfterMillis, 0);
  }

  /** A source that refuses ranges holding more than {@code cap} records, as a capped server. */
  TestSource refusingAbove(int cap) {
    TestSource refusing = new TestSource(
        id, visibilityClock, visibilityDelayMicros, failureMessage, transientFailureRate,
        retryAfterMillis, failFirst);
    refusing.refuseAbove = cap;
    refusing.paging = paging;
    return refusing;
  }

  /** A source that pages a microsecond by record id (unique), as {@code ORDER BY id}. */
  TestSource pagedById() {
    return withPaging(1);
  }

  /** A broken pager: every page is the first one again. */
  TestSource pagingWithoutAdvancing() {
    return withPaging(2);
  }

  private TestSource withPaging(int mode) {
    TestSource paged = new TestSource(
        id, visibilityClock, visibilityDelayMicros, failureMessage, transientFailureRate,
        retryAfterMillis, failFirst);
    paged.refuseAbove = refuseAbove;
    paged.paging = mode;
    return paged;
  }

  /** A source whose first {@code n} queries fail transiently, asking to wait this long. */
  TestSource failingFirst(int n, long retryAfterMillis) {
    return new TestSource(
        id, visibilityClock, visibilityDelayMicros, failureMessage, 0, retryAfterMillis, n);
  }

  long transientFailures() {
    return TRANSIENT_FAILURES.get(id).get();
  }

  /** When each query started, in System.nanoTime(). */
  List<Long> queryStartNanos() {
    return new ArrayList<>(QUERY_NANOS.get(id));
  }

  /** All records, in time order: {@code KV(time, index)}. */
  List<KV<Long, Long>> records() {
    long[] times = TIMES.get(id);
    List<KV<Long, Long>> out = new ArrayList<>(times.length);
    for (int i = 0; i < times.length; i++) {
      out.add(KV.of(times[i], (long) i));
    }
    return out;
  }

  long queries() {
    return QUERIES.get(id).get();
  }

  /** Queries that have returned records: their visibility was decided by then. */
  long answeredQueries() {
    return ANSWERS.get(id).get();
  }

  @Override
  public Iterable<KV<Long, Long>> query(TimeRange range)
      throws TransientSourceException, ResultTooLargeException {
    return select(range, Integer.MAX_VALUE, -1);
  }

  /** The visible records of {@code range} with id > afterId, at most limit, after the faults. */
  private List<KV<Long, Long>> select(TimeRange range, int limit, long afterId)
      throws TransientSourceException, ResultTooLargeException {
    QUERIES.get(id).incrementAndGet();
    QUERY_NANOS.get(id).add(System.nanoTime());
    if (failureMessage != null) {
      throw new IllegalStateException(failureMessage);
    }
    if (transientFailureRate > 0 || failFirst > 0) {
      // At most 3 failures of one query in a row: the default 8 retries always suffice.
      boolean fail =
          failFirst > 0
              ? TRANSIENT_FAILURES.get(id).get() < failFirst
              : FAULTS
                  .computeIfAbsent(id, k -> new BoundedFaults(17, transientFailureRate, 3))
                  .fails(range + "/" + afterId + "/" + limit);
      if (fail) {
        TRANSIENT_FAILURES.get(id).incrementAndGet();
        throw new TransientSourceException(
            "injected: 503 Service Unavailable",
            null,
            retryAfterMillis > 0 ? java.time.Duration.ofMillis(retryAfterMillis) : null);
      }
    }
    long[] times = TIMES.get(id);
    int lo = lowerBound(times, range.fromMicros());
    int hi = lowerBound(times, range.toMicros());
    long visibleBefore =
        visibilityClock == null
            ? Long.MAX_VALUE
            : visibilityClock.nowMicros() - visibilityDelayMicros + 1;
    lo = (int) Math.max(lo, afterId + 1);
    if (refuseAbove > 0 && Math.min(hi - lo, limit) > refuseAbove) {
      throw new ResultTooLargeException(
          "413: " + Math.min(hi - lo, limit) + " records asked in " + range + ", the limit is "
              + refuseAbove);
    }
    List<KV<Long, Long>> out = new ArrayList<>();
    for (int i = lo; i < hi && out.size() < limit; i++) {
      if (times[i] < visibleBefore) {
        out.add(KV.of(times[i], (long) i));
      }
    }
    ANSWERS.get(id).incrementAndGet();
    return out;
  }

  @Override
  public boolean supportsPaging() {
    return paging > 0;
  }

  /** Records of the microsecond with id > after, by id, at most limit; the cap and faults apply. */
  @Override
  public Page<KV<Long, Long>> queryPage(TimeRange microsecond, Object after, int limit)
      throws TransientSourceException, ResultTooLargeException {
    // Ids are indices into the sorted times, so "id > after" is "index > after".
    long afterId = after == null || paging == 2 ? -1 : (Long) after;
    List<KV<Long, Long>> page = select(microsecond, limit, afterId);
    return Page.of(page, page.isEmpty() ? null : page.get(page.size() - 1).getValue());
  }

  /** The oldest record visible now: a store still ingesting doesn't report the others. */
  @Override
  public Optional<Instant> earliest() {
    long[] times = TIMES.get(id);
    long visibleBefore =
        visibilityClock == null
            ? Long.MAX_VALUE
            : visibilityClock.nowMicros() - visibilityDelayMicros + 1;
    return times.length == 0 || times[0] >= visibleBefore
        ? Optional.empty()
        : Optional.of(Times.toInstant(times[0]));
  }

  /** Index of the first element {@code >= key}. */
  private static int lowerBound(long[] sorted, long key) {
    int lo = 0;
    int hi = sorted.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (sorted[mid] < key) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  /** The record's time as an Instant, for {@code withTimestampFn}. */
  public static Instant timeOf(KV<Long, Long> record) {
    return Times.toInstant(record.getKey());
  }

  /**
   * A bounded read of {@code KV(time, id)} records from {@code query} over {@code [from, to)} µs,
   * in chunks of {@code chunk}, with no ingestion lag and the records' own times as timestamps:
   * the setup most pipeline tests share.
   */
  public static TimeRangeIO.Read<KV<Long, Long>> boundedRead(
      TimeRangeQuery<KV<Long, Long>> query, long from, long to, java.time.Duration chunk) {
    return TimeRangeIO.<KV<Long, Long>>read()
        .withQuery(query)
        .withCoder(CODER)
        .withStartTime(Times.toInstant(from))
        .withEndTime(Times.toInstant(to))
        .withPartitionDuration(chunk)
        .withIngestionLag(java.time.Duration.ZERO)
        .withTimestampFn(TestSource::timeOf);
  }
}
