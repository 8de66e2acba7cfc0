package dev.timerangeio;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.node.DoubleNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.Test;

/**
 * The fast writer's bytes are the general path's text in UTF-8, for strings of every kind of char
 * (issue 19: strings are encoded by hand, ASCII runs of long ones in bulk), generated from a fixed
 * seed, so the test can't pass or fail by chance.
 */
public class FastCanonicalJsonTest {
  private static final long SEED = 19;

  @Test
  public void stringsAreTheGeneralPathsStrings() {
    Random random = new Random(SEED);
    for (int i = 0; i < 100_000; i++) {
      String s = string(random);
      assertSameJson(s);
    }
  }

  @Test
  public void stringsInMapsAndListsAreTheGeneralPathsStrings() {
    Random random = new Random(SEED + 1);
    for (int i = 0; i < 20_000; i++) {
      Map<String, Object> map = new HashMap<>();
      for (int j = random.nextInt(6); j > 0; j--) {
        map.put(string(random), random.nextBoolean() ? string(random) : List.of(string(random)));
      }
      assertSameJson(map);
    }
  }

  /**
   * Maps whose keys are the same String objects as an earlier map's, in the same order or not,
   * nested at every depth, some with other keys or keys alike as text, written by one writer as a
   * thread keeps it: the names it remembers per depth are the ones the general path writes.
   */
  @Test
  public void mapsOfRememberedShapesAreTheGeneralPathsMaps() {
    Random random = new Random(SEED);
    String[] names = {"id", "time", "host", "status", "latency", "é", "\uD83D\uDE00", "a\"b", "1"};
    FastCanonicalJson writer = new FastCanonicalJson();
    for (int i = 0; i < 50_000; i++) {
      Object value = shaped(random, names, 0);
      if (value != null) { // JSON null at the top is no key: tryWrite leaves it to the general path
        assertSameJson(writer, value);
      }
    }
  }

  /** A key from a source is the key of {"source":…,"value":…}, written without that map. */
  @Test
  public void sourcedValuesAreTheGeneralPathsWrappedMaps() {
    Random random = new Random(SEED);
    String[] names = {"id", "source", "value", "é"};
    FastCanonicalJson writer = new FastCanonicalJson();
    for (int i = 0; i < 20_000; i++) {
      String source = string(random);
      Object value = shaped(random, names, 0);
      Map<String, Object> wrapped = new LinkedHashMap<>();
      wrapped.put("source", source);
      wrapped.put("value", value);
      String general;
      try {
        general = IdempotencyKeys.canonicalJsonOrNull(wrapped);
      } catch (IllegalArgumentException e) {
        general = null;
      }
      boolean written = writer.tryWriteSourced(source, value);
      assertEquals(describe(wrapped), general != null, written);
      if (written) {
        assertArrayEquals(
            describe(wrapped),
            general.getBytes(StandardCharsets.UTF_8),
            Arrays.copyOf(writer.bytes(), writer.length()));
      }
      if (general != null && value != null) {
        assertEquals(IdempotencyKeys.of(wrapped), IdempotencyKeys.of(source, value));
      }
    }
  }

  private static Object shaped(Random r, String[] names, int depth) {
    switch (r.nextInt(depth >= 7 ? 2 : 6)) {
      case 0:
        return r.nextInt(4) == 0 ? null : (Object) (long) r.nextInt(1000);
      case 1:
        return names[r.nextInt(names.length)];
      case 2:
        {
          List<Object> list = new ArrayList<>();
          for (int i = r.nextInt(3); i > 0; i--) {
            list.add(shaped(r, names, depth + 1));
          }
          return list;
        }
      default:
        {
          int type = r.nextInt(3);
          Map<Object, Object> map =
              type == 0 ? new HashMap<>() : type == 1 ? new LinkedHashMap<>() : new TreeMap<>();
          // Few names, few sizes: the same shapes come back, in one order or another.
          List<String> keys = new ArrayList<>(Arrays.asList(names).subList(0, r.nextInt(4)));
          Collections.shuffle(keys, new Random(r.nextInt(2)));
          for (String key : keys) {
            map.put(key, shaped(r, names, depth + 1));
          }
          if (type != 2 && r.nextInt(10) == 0) {
            map.put((long) r.nextInt(3), "a number key"); // 1 is alike "1" as text
          }
          return map;
        }
    }
  }

  /** A bean whose getter keys something: its key is asked for while the record's is written. */
  public static final class KeyingBean {
    private final String name;

    KeyingBean(String name) {
      this.name = name;
    }

    public String getKey() {
      return IdempotencyKeys.of(Map.of("name", name, "n", 1.5));
    }

    public String getText() {
      return IdempotencyKeys.canonicalJson(List.of(name, Map.of("name", name)));
    }
  }

  /**
   * A key or text asked for while the thread's writer is busy with another gets a writer of its
   * own: the outer key is that of the general path's text, whose getters key the same way.
   */
  @Test
  public void keysAskedForWhileAKeyIsWrittenLeaveItsBytesAlone() throws Exception {
    for (String name : List.of("a", "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101", "é?")) {
      Map<String, Object> record = new HashMap<>();
      record.put("name", name);
      record.put("bean", new KeyingBean(name));
      record.put("beans", List.of(new KeyingBean(name + "1"), Map.of("b", new KeyingBean(name))));
      String general = IdempotencyKeys.canonicalJsonOrNull(record);
      byte[] digest =
          java.security.MessageDigest.getInstance("SHA-256")
              .digest(general.getBytes(StandardCharsets.UTF_8));
      StringBuilder hex = new StringBuilder();
      for (byte b : digest) {
        hex.append(String.format("%02x", b));
      }
      assertEquals(hex.toString(), IdempotencyKeys.of(record));
      assertEquals(general, IdempotencyKeys.canonicalJson(record));
      assertEquals(IdempotencyKeys.of("src", record), IdempotencyKeys.of("src", record));
    }
  }

  /** Equal bytes, or both refuse (a lone surrogate): the general path then says why. */
  private static void assertSameJson(Object value) {
    assertSameJson(new FastCanonicalJson(), value);
  }

  private static void assertSameJson(FastCanonicalJson fast, Object value) {
    String general;
    try {
      general = IdempotencyKeys.canonicalJsonOrNull(value);
    } catch (IllegalArgumentException e) {
      general = null;
    }
    boolean written = fast.tryWrite(value);
    if (general == null) {
      assertFalse(describe(value), written);
      return;
    }
    assertTrue(describe(value), written);
    assertArrayEquals(
        describe(value),
        general.getBytes(StandardCharsets.UTF_8),
        Arrays.copyOf(fast.bytes(), fast.length()));
    assertEquals(describe(value), general, IdempotencyKeys.canonicalJson(value));
  }

  private static String describe(Object value) {
    StringBuilder out = new StringBuilder();
    String text = String.valueOf(value);
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      out.append(c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\u%04x", (int) c));
    }
    return out.toString();
  }

  /**
   * Short and long strings (the bulk scan starts at 16 chars, 8 at a time), mostly plain ASCII with
   * now and then a char of another kind at any place: controls, quotes, backslashes, '?', DEL,
   * Latin-1, other BMP chars, surrogate pairs, lone surrogates.
   */
  static String string(Random r) {
    int length = r.nextInt(4) == 0 ? r.nextInt(200) : r.nextInt(40);
    int specialsPerHundred = new int[] {0, 1, 5, 30, 100}[r.nextInt(5)];
    StringBuilder s = new StringBuilder();
    while (s.length() < length) {
      if (r.nextInt(100) >= specialsPerHundred) {
        s.append((char) (0x20 + r.nextInt(0x5f))); // printable ASCII, '"', '\\' and '?' included
      } else {
        s.append(special(r));
      }
    }
    return s.toString();
  }

  private static String special(Random r) {
    switch (r.nextInt(12)) {
      case 0:
        return String.valueOf((char) r.nextInt(0x20));
      case 1:
        return "\"";
      case 2:
        return "\\";
      case 3:
        return "?";
      case 4:
        return "\u007f";
      case 5:
        return String.valueOf((char) (0x80 + r.nextInt(0x80)));
      case 6:
        return String.valueOf((char) (0x100 + r.nextInt(0x700)));
      case 7:
        {
          char c = (char) (0x800 + r.nextInt(0x10000 - 0x800));
          return Character.isSurrogate(c) ? "\u2028" : String.valueOf(c);
        }
      case 8:
      case 9:
        return new String(Character.toChars(0x10000 + r.nextInt(0x100000)));
      case 10:
        return String.valueOf((char) (0xD800 + r.nextInt(0x400))); // lone high
      default:
        return String.valueOf((char) (0xDC00 + r.nextInt(0x400))); // lone low
    }
  }

  /**
   * Doubles written as short decimals ({@link JsonBytes#shortDecimal}) are the general path's:
   * decimals of 1 to 17 digits at every scale from 10^-24 to 10^17, their neighbours, and any bits.
   */
  @Test
  public void doublesAreTheGeneralPathsDoubles() {
    Random random = new Random(SEED);
    int shortOnes = 0;
    int n = 500_000;
    for (int i = 0; i < n; i++) {
      double d;
      switch (i % 4) {
        case 0:
        case 1:
          long digits = (long) (random.nextDouble() * Math.pow(10, 1 + random.nextInt(17)));
          d = digits / Math.pow(10, random.nextInt(25));
          break;
        case 2:
          d = random.nextBoolean() ? Math.nextUp(i / 1000.0) : Math.nextDown(i / 1000.0);
          break;
        default:
          d = Double.longBitsToDouble(random.nextLong());
      }
      d = random.nextBoolean() ? d : -d;
      assertDoubleWrittenAsTheGeneralPathDoes(d);
      if (new JsonBytes(8).shortDecimal(d)) {
        shortOnes++;
      }
    }
    assertTrue("short decimals tested: " + shortOnes, shortOnes > n / 4);
  }

  /** A long plain string with one special char at each place, across the 8-byte words. */
  @Test
  public void oneSpecialCharAtEveryPlace() {
    String plain = "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0";
    String specials = "\u0000\u001f\"\\?\u007f\u00e9\u00ff\u0100\u65e5\uD800\uDC00";
    List<String> pieces = new ArrayList<>();
    for (char c : specials.toCharArray()) {
      pieces.add(String.valueOf(c));
    }
    pieces.add("\uD83D\uDE00");
    for (String special : pieces) {
      for (int i = 0; i <= plain.length(); i++) {
        assertSameJson(plain.substring(0, i) + special + plain.substring(i));
      }
    }
  }

  /** The fast path writes {@code d} as the general path does, or both refuse it ("!"). */
  static void assertDoubleWrittenAsTheGeneralPathDoes(double d) {
    String general;
    try {
      general = IdempotencyKeys.canonicalNumber(DoubleNode.valueOf(d));
    } catch (IllegalArgumentException e) {
      general = "!";
    }
    StringBuilder fast = new StringBuilder();
    try {
      FastCanonicalJson.write(d, fast);
    } catch (FastCanonicalJson.Unsupported e) {
      fast.append('!');
    }
    assertEquals("double " + d, general, fast.toString());
  }
}
