package dev.timerangeio;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.beam.sdk.values.KV;

/**
 * An in-memory source of records {@code KV(timeMicros, id)} each of which becomes visible at its
 * own time on a clock — its event time plus an ingestion delay — and may vanish again (a deleted
 * row). It can count a range, and it counts the queries and counts it answers, per chunk start.
 * The data sits in a static registry, as in {@link TestSource}.
 */
final class LateSource implements TimeRangeQuery<KV<Long, Long>> {
  private static final long serialVersionUID = 1L;

  private static final class Data {
    final long[] times;
    final long[] visibleAt;
    final long[] goneAt;
    final Map<Long, AtomicLong> queries = new ConcurrentHashMap<>();
    final Map<Long, AtomicLong> counts = new ConcurrentHashMap<>();

    Data(long[] times, long[] visibleAt) {
      this.times = times;
      this.visibleAt = visibleAt;
      this.goneAt = new long[times.length];
      java.util.Arrays.fill(goneAt, Long.MAX_VALUE);
    }
  }

  private static final Map<String, Data> DATA = new ConcurrentHashMap<>();

  private final String id;
  private final MicrosClock clock;
  private final boolean counts;

  private LateSource(String id, MicrosClock clock, boolean counts) {
    this.id = id;
    this.clock = clock;
    this.counts = counts;
  }

  /**
   * {@code n} records spread over {@code [from, to)}, each visible after a delay from a seeded
   * long-tailed distribution: Pareto with scale {@code lag / 5} and shape 1.5, so about 9% take
   * longer than {@code lag}, clipped at {@code 3 × lag}.
   */
  static LateSource withTail(MicrosClock clock, int n, long from, long to, long lag, long seed) {
    Random random = new Random(seed);
    long[] times = new long[n];
    long[] visibleAt = new long[n];
    for (int i = 0; i < n; i++) {
      times[i] = from + (long) (random.nextDouble() * (to - from));
      double pareto = (lag / 5.0) / Math.pow(1 - random.nextDouble(), 1 / 1.5);
      visibleAt[i] = times[i] + (long) Math.min(3.0 * lag, pareto);
    }
    return of(clock, times, visibleAt);
  }

  /** Records at {@code times}, visible from {@code visibleAt} on (the same index). */
  static LateSource of(MicrosClock clock, long[] times, long[] visibleAt) {
    String id = UUID.randomUUID().toString();
    DATA.put(id, new Data(times.clone(), visibleAt.clone()));
    return new LateSource(id, clock, false);
  }

  /** The same records, and a source that can count. */
  LateSource counting() {
    return new LateSource(id, clock, true);
  }

  /** Record {@code index} is gone from the source from {@code micros} on (a deleted row). */
  void deleteAt(int index, long micros) {
    DATA.get(id).goneAt[index] = micros;
  }

  /** Every record, {@code KV(time, id)}. */
  List<KV<Long, Long>> records() {
    long[] times = DATA.get(id).times;
    List<KV<Long, Long>> out = new ArrayList<>();
    for (int i = 0; i < times.length; i++) {
      out.add(KV.of(times[i], (long) i));
    }
    return out;
  }

  /** The records a single read of the chunk {@code [from, to)} at {@code now} returns. */
  List<KV<Long, Long>> visible(TimeRange range, long now) {
    Data data = DATA.get(id);
    List<KV<Long, Long>> out = new ArrayList<>();
    for (int i = 0; i < data.times.length; i++) {
      if (range.contains(data.times[i]) && data.visibleAt[i] <= now && now < data.goneAt[i]) {
        out.add(KV.of(data.times[i], (long) i));
      }
    }
    return out;
  }

  /** Queries answered for ranges starting at {@code from}. */
  long queries(long from) {
    return DATA.get(id).queries.getOrDefault(from, new AtomicLong()).get();
  }

  long totalQueries() {
    return DATA.get(id).queries.values().stream().mapToLong(AtomicLong::get).sum();
  }

  long totalCounts() {
    return DATA.get(id).counts.values().stream().mapToLong(AtomicLong::get).sum();
  }

  @Override
  public Iterable<KV<Long, Long>> query(TimeRange range) {
    List<KV<Long, Long>> out = visible(range, clock.nowMicros());
    DATA.get(id).queries.computeIfAbsent(range.fromMicros(), k -> new AtomicLong()).incrementAndGet();
    return out;
  }

  @Override
  public boolean supportsCount() {
    return counts;
  }

  @Override
  public long count(TimeRange range) {
    long n = visible(range, clock.nowMicros()).size();
    DATA.get(id).counts.computeIfAbsent(range.fromMicros(), k -> new AtomicLong()).incrementAndGet();
    return n;
  }

  @Override
  public String toString() {
    return "LateSource{" + id + (counts ? ", counting" : "") + "}";
  }
}
