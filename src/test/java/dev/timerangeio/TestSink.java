package dev.timerangeio;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.values.KV;

/**
 * An in-memory {@link IdempotentSink} that honours keys, with injectable failures. Its contents
 * sit in a static registry so every copy a runner deserializes in this JVM shares them.
 *
 * <p>A transient failure may strike after part of the batch was stored, as in a store without
 * transactions; the retry must then be absorbed by the keys.
 */
public final class TestSink<T> implements IdempotentSink<T> {
  private static final long serialVersionUID = 1L;

  private static final class State {
    final Map<String, Object> stored = new ConcurrentHashMap<>();
    final AtomicLong keysSkipped = new AtomicLong();
    final AtomicLong transientFailures = new AtomicLong();
    final List<Integer> batchSizes = new CopyOnWriteArrayList<>();
    final CountDownLatch gate = new CountDownLatch(1);
    volatile boolean crashed;
    volatile BoundedFaults faults = new BoundedFaults(42, 0, 0);
  }

  private static final Map<String, State> STATES = new ConcurrentHashMap<>();

  private final String id;
  private final SerializableFunction<T, Boolean> rejects;
  private final SerializableFunction<T, Boolean> heldBack;

  private TestSink(
      String id,
      SerializableFunction<T, Boolean> rejects,
      SerializableFunction<T, Boolean> heldBack) {
    this.id = id;
    this.rejects = rejects;
    this.heldBack = heldBack;
  }

  public static <T> TestSink<T> create() {
    String id = UUID.randomUUID().toString();
    STATES.put(id, new State());
    return new TestSink<>(id, r -> false, r -> false);
  }

  /**
   * Fails about this fraction of write calls, some after storing part of the batch; the first
   * call always, and never one batch more than 3 times in a row ({@link BoundedFaults}), so the
   * default 8 retries always suffice. A rate of 1 fails every call.
   */
  TestSink<T> failingTransiently(double rate) {
    STATES.get(id).faults = new BoundedFaults(42, rate, rate >= 1 ? Integer.MAX_VALUE : 3);
    return new TestSink<>(id, rejects, heldBack);
  }

  /** Rejects for good ({@link RejectedRecordException}) every batch holding such a record. */
  TestSink<T> rejecting(SerializableFunction<T, Boolean> predicate) {
    return new TestSink<>(id, predicate, heldBack);
  }

  /** Blocks every write of a batch holding such a record until {@link #release()}. */
  TestSink<T> holdingBack(SerializableFunction<T, Boolean> predicate) {
    return new TestSink<>(id, rejects, predicate);
  }

  void release() {
    STATES.get(id).gate.countDown();
  }

  /** Ends the held writes with a failure, as a crashed worker would: they store nothing. */
  void crashHeld() {
    STATES.get(id).crashed = true;
    release();
  }

  @Override
  public void write(List<KV<String, T>> keyedRecords) throws Exception {
    State state = STATES.get(id);
    for (KV<String, T> kv : keyedRecords) {
      if (heldBack.apply(kv.getValue())) {
        state.gate.await();
        if (state.crashed) {
          throw new java.io.IOException("injected: the worker crashed while this write was held");
        }
      }
    }
    state.batchSizes.add(keyedRecords.size());
    for (KV<String, T> kv : keyedRecords) {
      if (rejects.apply(kv.getValue())) {
        throw new RejectedRecordException("record " + kv.getValue() + " is not welcome here");
      }
    }
    int storeBeforeFailing = -1;
    List<String> keys = new ArrayList<>(keyedRecords.size());
    for (KV<String, T> kv : keyedRecords) {
      keys.add(kv.getKey());
    }
    if (state.faults.fails(keys)) {
      // How much was stored before the failure: fixed by the batch, so a test is repeatable.
      storeBeforeFailing = Math.floorMod(keys.hashCode(), keyedRecords.size() + 1);
    }
    for (int i = 0; i < keyedRecords.size(); i++) {
      if (i == storeBeforeFailing) {
        break;
      }
      KV<String, T> kv = keyedRecords.get(i);
      if (state.stored.putIfAbsent(kv.getKey(), kv.getValue()) != null) {
        state.keysSkipped.incrementAndGet();
      }
    }
    if (storeBeforeFailing >= 0) {
      state.transientFailures.incrementAndGet();
      throw new java.io.IOException("injected transient failure");
    }
  }

  @SuppressWarnings("unchecked")
  Map<String, T> stored() {
    return (Map<String, T>) (Map<String, ?>) Map.copyOf(STATES.get(id).stored);
  }

  long keysSkipped() {
    return STATES.get(id).keysSkipped.get();
  }

  long transientFailures() {
    return STATES.get(id).transientFailures.get();
  }

  List<Integer> batchSizes() {
    return new ArrayList<>(STATES.get(id).batchSizes);
  }

  @Override
  public String toString() {
    return "TestSink{" + id + "}";
  }
}
