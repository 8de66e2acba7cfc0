package dev.timerangeio;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * Keys against their peers by alternating slices in one thread: each side runs for a slice, in
 * turn, many times; the ratio is the median of the per-slice ratios, so load from other processes
 * on a shared machine (which JMH's one-benchmark-after-another can't tell from a slow side) falls
 * on both sides alike. Every side hashes the same ~200-byte record.
 */
final class BenchKeys {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static volatile Object sink;

  private BenchKeys() {}

  static List<String> compare(Map<String, Object> record, int slices, long sliceMillis)
      throws Exception {
    byte[] canonical = IdempotencyKeys.canonicalJson(record).getBytes(StandardCharsets.UTF_8);
    Map<String, Callable<Object>> sides = new LinkedHashMap<>();
    sides.put("IdempotencyKeys.of", () -> IdempotencyKeys.of(record));
    sides.put(
        "Jackson + SHA-256",
        () -> MessageDigest.getInstance("SHA-256").digest(MAPPER.writeValueAsBytes(record)));
    sides.put(
        "raw SHA-256 of the canonical bytes",
        () -> MessageDigest.getInstance("SHA-256").digest(canonical));
    Map<String, double[]> rates = new LinkedHashMap<>();
    for (String name : sides.keySet()) {
      rates.put(name, new double[slices]);
    }
    for (int slice = -slices / 2; slice < slices; slice++) { // the first half-run warms the JIT
      for (Map.Entry<String, Callable<Object>> side : sides.entrySet()) {
        double rate = perMilli(side.getValue(), sliceMillis);
        if (slice >= 0) {
          rates.get(side.getKey())[slice] = rate;
        }
      }
    }
    List<String> lines = new ArrayList<>();
    double[] ours = rates.get("IdempotencyKeys.of");
    for (Map.Entry<String, double[]> peer : rates.entrySet()) {
      if (peer.getValue() == ours) {
        continue;
      }
      double[] ratios = new double[slices];
      for (int i = 0; i < slices; i++) {
        ratios[i] = ours[i] / peer.getValue()[i];
      }
      lines.add(
          String.format(
              Locale.ROOT,
              "key of a %d-byte record, 1 thread, %d alternating %d ms slices | IdempotencyKeys.of"
                  + " median %.0f keys/ms | %s median %.0f /ms | ratio %.2fx",
              canonical.length, slices, sliceMillis, BenchSupport.median(ours), peer.getKey(),
              BenchSupport.median(peer.getValue()), BenchSupport.median(ratios)));
    }
    return lines;
  }

  private static double perMilli(Callable<Object> side, long millis) throws Exception {
    long start = System.nanoTime();
    long end = start + millis * 1_000_000;
    long n = 0;
    long now;
    do {
      for (int i = 0; i < 100; i++) {
        sink = side.call();
      }
      n += 100;
      now = System.nanoTime();
    } while (now < end);
    return n / ((now - start) / 1e6);
  }
}
