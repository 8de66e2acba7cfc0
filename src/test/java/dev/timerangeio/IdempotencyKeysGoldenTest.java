package dev.timerangeio;

import static org.junit.Assert.assertEquals;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Writer;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.Row;
import org.junit.Test;

/**
 * Keys must never change: they are stored in sinks (the JDBC sink's key column), and a relaunch
 * skips only the keys it computes again bit for bit. This test generates many values from a fixed
 * seed — nested maps and lists, numbers of every type, unicode strings, nulls, sets, Rows, records,
 * KVs, times, and values that can't be keyed — and compares each key (or the fact that it throws)
 * with {@code idempotency-keys-golden.txt}, computed by the key code before its fast path (issue 19)
 * and never regenerated: {@code main} writes the file anew only for a new seed or generator.
 */
public class IdempotencyKeysGoldenTest {
  static final long SEED = 19;
  static final int VALUES = 5_000;
  private static final String RESOURCE = "idempotency-keys-golden.txt";

  /** A record as a key function may return one. */
  public record Event(long id, String host, double latency, List<Integer> codes) {}

  @Test
  public void keysAreThoseOfTheGoldenFile() throws IOException {
    List<String> golden = new ArrayList<>();
    try (InputStream in = getClass().getClassLoader().getResourceAsStream(RESOURCE);
        BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      for (String line = lines.readLine(); line != null; line = lines.readLine()) {
        golden.add(line);
      }
    }
    List<String> now = keys();
    assertEquals(golden.size(), now.size());
    for (int i = 0; i < now.size(); i++) {
      assertEquals("value " + i + ": " + describe(i), golden.get(i), now.get(i));
    }
  }

  /** Doubles on the fast path are written as the general path writes them, at every magnitude. */
  @Test
  public void fastDoublesAreTheGeneralPathsDoubles() {
    Random random = new Random(SEED);
    for (int i = 0; i < 200_000; i++) {
      double d =
          i % 2 == 0
              ? Double.longBitsToDouble(random.nextLong())
              : Math.round(random.nextGaussian() * 1e6) / Math.pow(10, random.nextInt(12));
      FastCanonicalJsonTest.assertDoubleWrittenAsTheGeneralPathDoes(d);
    }
  }

  private static String describe(int i) {
    Random random = new Random(SEED);
    Object value = null;
    for (int j = 0; j <= i; j++) {
      value = value(random, 0);
    }
    return String.valueOf(value);
  }

  /** Each value's key, "!" and the exception's class when it can't be keyed. */
  static List<String> keys() {
    Random random = new Random(SEED);
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < VALUES; i++) {
      Object value = value(random, 0);
      String source = i % 7 == 0 ? "src-" + (i % 3) : null;
      try {
        keys.add(source == null ? IdempotencyKeys.of(value) : IdempotencyKeys.of(source, value));
      } catch (RuntimeException e) {
        keys.add("!" + e.getClass().getSimpleName());
      }
    }
    return keys;
  }

  static Object value(Random r, int depth) {
    int kind = r.nextInt(depth >= 3 ? 16 : 24);
    switch (kind) {
      case 0:
        return r.nextLong();
      case 1:
        return r.nextInt(2_000) - 1_000;
      case 2:
        return (short) r.nextInt();
      case 3:
        return (byte) r.nextInt();
      case 4:
        return new BigInteger(90, r).subtract(BigInteger.ONE.shiftLeft(89));
      case 5:
        return doubleValue(r);
      case 6:
        return (float) doubleValue(r);
      case 7:
        return new BigDecimal(new BigInteger(40, r), r.nextInt(20) - 5);
      case 8:
      case 9:
        return string(r);
      case 10:
        return r.nextBoolean();
      case 11:
        return r.nextInt(8) == 0 ? null : (char) (' ' + r.nextInt(90));
      case 12:
        return Instant.ofEpochSecond(1_700_000_000L + r.nextInt(1_000_000), r.nextInt(1_000_000_000));
      case 13:
        return r.nextInt(4) == 0 ? Optional.empty() : Optional.of(string(r));
      case 14:
        return new Event(r.nextLong(), string(r), doubleValue(r), Arrays.asList(r.nextInt(600), null));
      case 15:
        return Row.withSchema(ROW)
            .addValues(r.nextLong(), r.nextBoolean() ? null : string(r), doubleValue(r))
            .build();
      case 16:
      case 17:
      case 18:
        return map(r, depth, r.nextInt(3));
      case 19:
      case 20:
        {
          List<Object> list = new ArrayList<>();
          for (int i = r.nextInt(5); i > 0; i--) {
            list.add(value(r, depth + 1));
          }
          return r.nextBoolean() ? list : List.copyOf(nonNull(list));
        }
      case 21:
        {
          HashSet<Object> set = new HashSet<>();
          for (int i = r.nextInt(4); i > 0; i--) {
            set.add(r.nextBoolean() ? string(r) : (Object) (long) r.nextInt(100));
          }
          return set;
        }
      case 22:
        return KV.of(string(r), value(r, depth + 1));
      default:
        return new int[] {r.nextInt(), r.nextInt(10)};
    }
  }

  private static List<Object> nonNull(List<Object> list) {
    list.removeIf(o -> o == null);
    return list;
  }

  private static final Schema ROW =
      Schema.builder()
          .addInt64Field("id")
          .addNullableField("payload", Schema.FieldType.STRING)
          .addDoubleField("value")
          .build();

  private static Map<Object, Object> map(Random r, int depth, int type) {
    Map<Object, Object> map =
        type == 0 ? new HashMap<>() : type == 1 ? new LinkedHashMap<>() : new TreeMap<>();
    int size = r.nextInt(7);
    for (int i = 0; i < size; i++) {
      // Mostly string names; a few numbers; now and then two names alike as text ("1" and 1).
      Object name =
          type != 2 && r.nextInt(12) == 0
              ? (Object) (long) r.nextInt(3)
              : type != 2 && r.nextInt(12) == 0 ? String.valueOf(r.nextInt(3)) : string(r);
      map.put(name, value(r, depth + 1));
    }
    return map;
  }

  private static double doubleValue(Random r) {
    switch (r.nextInt(8)) {
      case 0:
        return r.nextInt(1000);
      case 1:
        return -0.0;
      case 2:
        return Double.longBitsToDouble(r.nextLong()); // any bits: NaN, infinities, tiny, huge
      case 3:
        return r.nextInt(100_000) / 1000.0;
      case 4:
        return r.nextGaussian() * Math.pow(10, r.nextInt(40) - 20);
      default:
        return r.nextDouble();
    }
  }

  private static final String[] PIECES = {
    "a", "host", "é", "日本", "\uD83D\uDE00", "\"", "\\", "\n", "\t", "\u0001", "\u001f", "\u007f",
    "\u2028", "Z", " ", "/", "id", "ts", "\uD800", "\u00ff"
  };

  private static String string(Random r) {
    StringBuilder s = new StringBuilder();
    for (int i = r.nextInt(6); i > 0; i--) {
      // A lone surrogate ("\uD800") now and then: such a string can't be keyed.
      String piece = PIECES[r.nextInt(PIECES.length)];
      if (piece.equals("\uD800") && r.nextInt(4) != 0) {
        piece = "x";
      }
      s.append(piece);
    }
    return s.toString();
  }

  /** Writes the golden file: {@code main <path>}, only for a new seed or generator. */
  public static void main(String[] args) throws IOException {
    try (Writer out = Files.newBufferedWriter(Path.of(args[0]), StandardCharsets.UTF_8)) {
      for (String key : keys()) {
        out.write(key);
        out.write('\n');
      }
    }
  }
}
