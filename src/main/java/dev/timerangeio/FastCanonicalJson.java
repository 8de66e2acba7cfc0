package dev.timerangeio;

import com.fasterxml.jackson.core.io.NumberOutput;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.FloatNode;
import java.io.IOException;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The canonical JSON of the common record shapes — maps with string names, lists, strings,
 * integers, doubles, booleans, nulls — written straight into UTF-8 bytes ({@link JsonBytes}),
 * without the Jackson tree, the sorted {@code TreeMap} per object and the name checks of {@link
 * IdempotencyKeys}' general path (issue 19: that path cost 4× a plain Jackson serialization). It
 * writes exactly what the general path writes: any value of another class is written by the general
 * path itself ({@link IdempotencyKeys#canonicalJsonOrNull}), and anything the general path would
 * reject (a lone surrogate, NaN, two map names alike as text, an unsupported map key) throws {@link
 * Unsupported}, so the caller redoes the whole value on the general path and fails with its
 * message. {@code IdempotencyKeysGoldenTest} holds both to the keys of 5,000 generated values.
 *
 * <p>Only exact JDK classes take the fast path: a subclass, or a class that is also a time, a
 * {@code Path} or a Beam type, may be keyed otherwise by {@link CanonicalTypes}' order.
 */
final class FastCanonicalJson {
  /** Thrown where only the general path knows what to do (or what to say). */
  static final class Unsupported extends RuntimeException {
    static final Unsupported INSTANCE = new Unsupported();

    private Unsupported() {
      super(null, null, false, false);
    }
  }

  // Map.of() and List.of() share classes between sizes: a set of them, duplicates merged.
  private static final Set<Class<?>> MAPS =
      classes(
          HashMap.class,
          LinkedHashMap.class,
          TreeMap.class,
          ConcurrentHashMap.class,
          Map.of().getClass(),
          Map.of(1, 1).getClass(),
          Map.of(1, 1, 2, 2).getClass());
  private static final Set<Class<?>> LISTS =
      classes(
          ArrayList.class,
          LinkedList.class,
          Arrays.asList().getClass(),
          List.of().getClass(),
          List.of(1).getClass(),
          List.of(1, 2, 3).getClass());

  private static Set<Class<?>> classes(Class<?>... classes) {
    return Set.copyOf(Arrays.asList(classes));
  }

  /** Where a buffer starts; a 7-field record of ~200 bytes fits. */
  private static final int INITIAL_CAPACITY = 512;

  /** A buffer grown past this (a huge value) is dropped after use, not kept by its thread. */
  private static final int RETAINED_CAPACITY = 64 * 1024;

  /** Maps nested deeper than this have their names sorted each time. */
  private static final int SHAPE_DEPTHS = 4;

  /** Larger maps, or longer names, aren't remembered: a record has a few short ones. */
  private static final int MAX_REMEMBERED_MEMBERS = 64;

  private static final int MAX_REMEMBERED_NAME_BYTES = 4096;

  private final JsonBytes out = new JsonBytes(INITIAL_CAPACITY);

  /** How many maps are being written around the value being written. */
  private int depth;

  /** Per depth, the members of the last map written there. */
  private final MapShape[] shapes = new MapShape[SHAPE_DEPTHS];

  /**
   * Writes the canonical JSON of {@code value} as UTF-8, replacing what was written before; false
   * where the general path must write it or say why it can't ({@link Unsupported}, or JSON {@code
   * null} at the top level), the bytes then undefined.
   */
  boolean tryWrite(Object value) {
    return tryWrite(null, value) && !out.isNull();
  }

  /**
   * Writes {@code {"source":source,"value":value}}, the canonical JSON of the map {@link
   * IdempotencyKeys#of(String, Object)} keys, without the map; false as {@link #tryWrite}.
   */
  boolean tryWriteSourced(String source, Object value) {
    return tryWrite(source, value);
  }

  private boolean tryWrite(String source, Object value) {
    out.truncate(0);
    boolean written = false;
    try {
      if (source != null) {
        out.ascii("{\"source\":"); // "source" sorts before "value"
        out.string(source);
        out.ascii(",\"value\":");
      }
      write(value);
      if (source != null) {
        out.punct('}');
      }
      written = true;
    } catch (Unsupported | IllegalArgumentException e) {
      return false; // redone on the general path, which says why in its own words
    } finally {
      if (!written) {
        depth = 0; // left mid-map
      }
    }
    return true;
  }

  /** The buffer holding {@link #length()} bytes of canonical JSON; valid until the next write. */
  byte[] bytes() {
    return out.bytes();
  }

  int length() {
    return out.length();
  }

  /** The canonical JSON written, as text. */
  String text() {
    return out.text();
  }

  /** Drops a buffer a huge value grew, so the thread keeping this writer doesn't keep it. */
  void trim() {
    out.shrink(RETAINED_CAPACITY, INITIAL_CAPACITY);
  }

  /**
   * Appends the canonical JSON of {@code value} ({@code null} as {@code null}) to {@code out},
   * throwing {@link Unsupported} where {@link #tryWrite} returns false; tests compare it with the
   * general path.
   */
  static void write(Object value, StringBuilder out) {
    FastCanonicalJson writer = new FastCanonicalJson();
    writer.write(value);
    out.append(writer.text());
  }

  private void write(Object value) {
    if (value == null) {
      out.ascii("null");
      return;
    }
    // The record shapes first, by instanceof of final classes (an exact class test that needs no
    // Class object), then by class identity: a Set.contains per value costs more than these.
    if (value instanceof String) {
      out.string((String) value);
    } else if (value instanceof Long
        || value instanceof Integer
        || value instanceof Short
        || value instanceof Byte) {
      out.longValue(((Number) value).longValue());
    } else if (value instanceof Double) {
      writeDouble((Double) value);
    } else if (value instanceof Boolean) {
      out.ascii(((Boolean) value) ? "true" : "false");
    } else {
      writeOther(value);
    }
  }

  private void writeOther(Object value) {
    Class<?> type = value.getClass();
    if (type == HashMap.class || type == LinkedHashMap.class || MAPS.contains(type)) {
      writeMap((Map<?, ?>) value);
    } else if (type == ArrayList.class || LISTS.contains(type)) {
      writeList((List<?>) value);
    } else if (type == Float.class) {
      out.ascii(number(FloatNode.valueOf((Float) value)));
    } else if (type == BigInteger.class) {
      out.ascii(value.toString());
    } else {
      out.utf8(IdempotencyKeys.canonicalJsonOrNull(value));
    }
  }

  private void writeList(List<?> list) {
    out.punct('[');
    boolean first = true;
    for (Object element : list) {
      if (!first) {
        out.punct(',');
      }
      first = false;
      write(element);
    }
    out.punct(']');
  }

  /**
   * A map: its entries read into an array, then its members written in the order of their names.
   * The names come from the {@link MapShape} of this depth when the map's keys are the very same
   * strings, in the same iteration order, as the last map written here (the records of one source,
   * mostly); else they are sorted and encoded anew ({@link #shape}).
   */
  private void writeMap(Map<?, ?> map) {
    int size = map.size();
    // Keys, then values. A new array: the young generation's stores skip G1's card marking, which
    // costs more per reference stored into an array kept from key to key.
    Object[] entries = new Object[2 * size];
    MapShape shape = depth < SHAPE_DEPTHS ? shapes[depth] : null;
    boolean same = shape != null && shape.size == size;
    int n = 0;
    for (Map.Entry<?, ?> entry : map.entrySet()) {
      if (n == size) {
        throw Unsupported.INSTANCE; // grew while being read
      }
      Object key = entry.getKey();
      same = same && key == shape.keys[n];
      entries[n] = key;
      entries[size + n] = entry.getValue();
      n++;
    }
    if (n != size) {
      throw Unsupported.INSTANCE; // changed while being read
    }
    if (!same) {
      shape = shape(entries, size);
    }
    depth++;
    out.punct('{');
    int from = 0;
    for (int j = 0; j < size; j++) {
      int to = shape.ends[j];
      out.appendPadded(shape.names, from, to);
      from = to;
      write(entries[size + shape.order[j]]);
    }
    out.punct('}');
    depth--;
  }

  /**
   * The members of the map whose keys are {@code keys[0, size)}: their names as text, sorted by
   * UTF-16 code units (String.compareTo), as RFC 8785 orders members, and encoded; remembered for
   * this depth when the keys are strings, few and short.
   */
  private MapShape shape(Object[] keys, int size) {
    boolean remember = depth < SHAPE_DEPTHS && size <= MAX_REMEMBERED_MEMBERS;
    MapShape shape = remember && shapes[depth] != null ? shapes[depth] : new MapShape();
    if (remember) {
      shapes[depth] = shape;
    }
    shape.size = -1; // remembers nothing until it is whole
    String[] names = new String[size];
    int[] order = shape.order.length >= size ? shape.order : new int[size];
    shape.order = order;
    boolean strings = true;
    for (int i = 0; i < size; i++) {
      Object key = keys[i];
      String name;
      if (key != null && key.getClass() == String.class) {
        name = (String) key; // what keyText returns, without its chain of type tests
      } else {
        strings = false; // a key's text is a function of the key only for strings
        try {
          name = CanonicalTypes.keyText(key);
        } catch (IOException e) {
          throw Unsupported.INSTANCE;
        }
      }
      // Insertion sort: records have a handful of fields.
      int j = i;
      while (j > 0) {
        int c = compare(names[j - 1], name);
        if (c == 0) {
          throw Unsupported.INSTANCE; // two names alike as text: the general path says why
        }
        if (c < 0) {
          break;
        }
        names[j] = names[j - 1];
        order[j] = order[j - 1];
        j--;
      }
      names[j] = name;
      order[j] = i;
    }
    // Encoded where the map will be written, then moved into the shape.
    int[] ends = shape.ends.length >= size ? shape.ends : new int[size];
    shape.ends = ends;
    int mark = out.length();
    for (int j = 0; j < size; j++) {
      if (j > 0) {
        out.punct(',');
      }
      out.string(names[j]);
      out.punct(':');
      ends[j] = out.length() - mark;
    }
    int encoded = out.length() - mark;
    if (shape.names.length < encoded + 8) {
      shape.names = new byte[encoded + 8]; // appendPadded reads up to 7 bytes past a name
    }
    System.arraycopy(out.bytes(), mark, shape.names, 0, encoded);
    out.truncate(mark);
    if (remember && strings && encoded <= MAX_REMEMBERED_NAME_BYTES) {
      if (shape.keys.length < size) {
        shape.keys = new Object[size];
      }
      System.arraycopy(keys, 0, shape.keys, 0, size);
      Arrays.fill(shape.keys, size, shape.keys.length, null);
      shape.size = size;
    } else if (remember && encoded > MAX_REMEMBERED_NAME_BYTES) {
      shapes[depth] = null; // don't keep its names
    }
    return shape;
  }

  /**
   * A map's members in canonical order: {@code names} holds each one's encoded name and colon, with
   * a comma before all but the first, up to {@code ends[j]} (and 8 bytes to spare for {@link
   * JsonBytes#appendPadded}); {@code order[j]} is where the j-th member came in the map's
   * iteration. {@code keys} and {@code size} say which map it is, by the identity of its string
   * keys in iteration order ({@code size} -1: none).
   */
  private static final class MapShape {
    Object[] keys = new Object[0];
    int size = -1;
    int[] order = new int[0];
    int[] ends = new int[0];
    byte[] names = new byte[0];
  }

  /**
   * {@link String#compareTo}'s order (UTF-16 code units, then length), inline: names mostly differ
   * in their first char, where the intrinsic's setup costs more than the comparison.
   */
  private static int compare(String a, String b) {
    int n = Math.min(a.length(), b.length());
    for (int i = 0; i < n; i++) {
      char x = a.charAt(i);
      char y = b.charAt(i);
      if (x != y) {
        return x - y;
      }
    }
    return a.length() - b.length();
  }

  /**
   * A double: a short decimal (most measured values) by {@link JsonBytes#shortDecimal}; else from
   * its shortest digits (Schubfach, as the general path) without the BigDecimal round trip where
   * Java's notation is already plain: 10^-3 ≤ |d| < 10^7, where the only difference from the
   * canonical form is the ".0" Java forces on an integral value. Zero, exponents, NaN and
   * infinities take the general path.
   */
  private void writeDouble(double d) {
    if (out.shortDecimal(d)) {
      return;
    }
    String digits = NumberOutput.toString(d, true);
    if (d == 0 || !Double.isFinite(d) || digits.indexOf('E') >= 0) {
      out.ascii(number(DoubleNode.valueOf(d)));
    } else if (digits.endsWith(".0")) {
      out.ascii(digits.substring(0, digits.length() - 2));
    } else {
      out.ascii(digits);
    }
  }

  private static String number(com.fasterxml.jackson.databind.JsonNode node) {
    try {
      return IdempotencyKeys.canonicalNumber(node);
    } catch (IllegalArgumentException e) {
      throw Unsupported.INSTANCE;
    }
  }
}
