package dev.timerangeio;

import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A clock the test moves by hand. Runners serialize DoFns, so the time itself lives in a static
 * map keyed by an id; every copy of the clock in this JVM (DirectRunner, embedded Flink) sees it.
 */
final class TestClock implements MicrosClock {
  private static final long serialVersionUID = 1L;
  private static final Map<String, AtomicLong> TIMES = new ConcurrentHashMap<>();

  private final String id = UUID.randomUUID().toString();

  TestClock(long nowMicros) {
    TIMES.put(id, new AtomicLong(nowMicros));
  }

  @Override
  public long nowMicros() {
    return TIMES.get(id).get();
  }

  void set(long micros) {
    TIMES.get(id).set(micros);
  }

  void advance(long micros) {
    TIMES.get(id).addAndGet(micros);
  }
}
