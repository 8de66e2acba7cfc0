package dev.timerangeio;

import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Decides which calls of a test source, sink or server fail, so that no test can fail by chance.
 *
 * <p>A call is named by what it asks for (a range, a batch's keys, a request): whether it fails is
 * a seeded hash of that name and of how many times in a row that same call has just failed, never
 * of thread timing. No call fails more than {@code maxConsecutive} times in a row, so a retry
 * budget larger than that always suffices; and the very first call fails, so a test that asserts
 * "retries happened" can't see zero by chance either.
 */
final class BoundedFaults {
  private final long seed;
  private final double rate;
  private final int maxConsecutive;
  private final Map<Object, Integer> streaks = new ConcurrentHashMap<>();
  private final AtomicBoolean first = new AtomicBoolean(true);

  BoundedFaults(long seed, double rate, int maxConsecutive) {
    this.seed = seed;
    this.rate = rate;
    this.maxConsecutive = maxConsecutive;
  }

  /** Whether this attempt at {@code call} fails. */
  boolean fails(Object call) {
    if (rate <= 0) {
      return false;
    }
    int[] decided = new int[1];
    streaks.compute(
        call,
        (k, streak) -> {
          int s = streak == null ? 0 : streak;
          boolean fail =
              s < maxConsecutive
                  && (first.getAndSet(false)
                      || new SplittableRandom(seed * 31 + k.hashCode() * 17L + s).nextDouble() < rate);
          decided[0] = fail ? 1 : 0;
          return fail ? s + 1 : null;
        });
    return decided[0] == 1;
  }
}
