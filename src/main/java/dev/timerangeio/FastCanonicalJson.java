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
 * integers, doubles, booleans, nulls — written straight into a buffer, without the Jackson tree,
 * the sorted {@code TreeMap} per object and the name checks of {@link IdempotencyKeys}' general
 * path (issue 19: that path cost 4× a plain Jackson serialization). It writes exactly what the
 * general path writes: any value of another class is written by the general path itself ({@link
 * IdempotencyKeys#canonicalJsonOrNull}), and anything the general path would reject (a lone
 * surrogate, NaN, two map names alike as text, an unsupported map key) throws {@link
 * Unsupported}, so the caller redoes the whole value on the general path and fails with its
 * message. {@code IdempotencyKeysGoldenTest} holds both to the keys of 5,000 generated values.
 *
 * <p>Only exact JDK classes take the fast path: a subclass, or a class that is also a time, a
 * {@code Path} or a Beam type, may be keyed otherwise by {@link CanonicalTypes}' order.
 */
final class FastCanonicalJson {
  private FastCanonicalJson() {}

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

  /** Appends the canonical JSON of {@code value} ({@code null} as {@code null}) to {@code out}. */
  static void write(Object value, StringBuilder out) {
    if (value == null) {
      out.append("null");
      return;
    }
    Class<?> type = value.getClass();
    if (type == String.class) {
      writeString((String) value, out);
    } else if (type == Long.class || type == Integer.class || type == Short.class || type == Byte.class) {
      out.append(((Number) value).longValue());
    } else if (type == Boolean.class) {
      out.append(((Boolean) value) ? "true" : "false");
    } else if (type == Double.class) {
      writeDouble((Double) value, out);
    } else if (type == Float.class) {
      out.append(number(FloatNode.valueOf((Float) value)));
    } else if (type == BigInteger.class) {
      out.append(value);
    } else if (MAPS.contains(type)) {
      writeMap((Map<?, ?>) value, out);
    } else if (LISTS.contains(type)) {
      out.append('[');
      boolean first = true;
      for (Object element : (List<?>) value) {
        if (!first) {
          out.append(',');
        }
        first = false;
        write(element, out);
      }
      out.append(']');
    } else {
      out.append(IdempotencyKeys.canonicalJsonOrNull(value));
    }
  }

  /**
   * A double from its shortest digits (Schubfach, as the general path) without the BigDecimal
   * round trip where Java's notation is already plain: 10^-3 ≤ |d| < 10^7, where the only
   * difference from the canonical form is the ".0" Java forces on an integral value. Zero,
   * exponents, NaN and infinities take the general path.
   */
  private static void writeDouble(double d, StringBuilder out) {
    String digits = NumberOutput.toString(d, true);
    if (d == 0 || !Double.isFinite(d) || digits.indexOf('E') >= 0) {
      out.append(number(DoubleNode.valueOf(d)));
    } else if (digits.endsWith(".0")) {
      out.append(digits, 0, digits.length() - 2);
    } else {
      out.append(digits);
    }
  }

  private static String number(com.fasterxml.jackson.databind.JsonNode node) {
    try {
      return IdempotencyKeys.canonicalNumber(node);
    } catch (IllegalArgumentException e) {
      throw Unsupported.INSTANCE;
    }
  }

  private static void writeMap(Map<?, ?> map, StringBuilder out) {
    int size = map.size();
    String[] names = new String[size];
    Object[] values = new Object[size];
    int n = 0;
    for (Map.Entry<?, ?> entry : map.entrySet()) {
      String name;
      try {
        name = CanonicalTypes.keyText(entry.getKey());
      } catch (IOException e) {
        throw Unsupported.INSTANCE;
      }
      // Insertion sort by UTF-16 code units (String.compareTo), as RFC 8785 orders members;
      // records have a handful of fields.
      int i = n++;
      while (i > 0) {
        int c = names[i - 1].compareTo(name);
        if (c == 0) {
          throw Unsupported.INSTANCE; // two names alike as text: the general path says why
        }
        if (c < 0) {
          break;
        }
        names[i] = names[i - 1];
        values[i] = values[i - 1];
        i--;
      }
      names[i] = name;
      values[i] = entry.getValue();
    }
    if (n != size) {
      throw Unsupported.INSTANCE; // changed while being read
    }
    out.append('{');
    for (int i = 0; i < n; i++) {
      if (i > 0) {
        out.append(',');
      }
      writeString(names[i], out);
      out.append(':');
      write(values[i], out);
    }
    out.append('}');
  }

  private static void writeString(String s, StringBuilder out) {
    try {
      IdempotencyKeys.writeString(s, out);
    } catch (IllegalArgumentException e) {
      throw Unsupported.INSTANCE; // a lone surrogate: the general path says where
    }
  }
}
