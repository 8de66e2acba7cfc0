package dev.timerangeio;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeType;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.temporal.TemporalAccessor;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.Row;
import org.joda.time.ReadableInstant;

/**
 * Idempotency keys: the lowercase hex SHA-256 of a value's canonical JSON.
 *
 * <p>The canonical JSON follows RFC 8785 (JSON Canonicalization Scheme): object members sorted by
 * their names' UTF-16 code units, no insignificant whitespace, UTF-8, strings escaped as RFC 8785
 * says (only {@code "}, {@code \} and control characters; {@code \b \t \n \f \r} short, the others
 * as {@code \}{@code u00xx} in lowercase hex; everything else literal), {@code null}s kept. So
 * {@code of(Map.of("b", 1, "a", "x"))} is the SHA-256 of {@code {"a":"x","b":1}}.
 *
 * <p>Values are turned into a JSON tree by Jackson: {@code Map}s, {@code List}s and arrays, Java
 * records and POJOs (their Jackson properties), strings, numbers, booleans. Beyond Jackson: a Beam
 * {@link Row} is an object of its field names, a {@link KV} is {@code {"key":…,"value":…}}, a
 * {@code java.time} value or Joda instant is its ISO-8601 string, a {@code byte[]} is base64.
 *
 * <p>Numbers have one canonical form. Integers of any size are written exactly, without a
 * fraction. A decimal or a double with an integral value is written as that integer ({@code 1.0}
 * and {@code 1} give the same key, as in RFC 8785, where both are the same number); any other
 * double is written from its shortest decimal form ({@link Double#toString}) in plain notation
 * without trailing zeros, e.g. {@code 0.1} and {@code 1.5E-7} become {@code 0.1} and {@code
 * 0.00000015}. NaN and infinities are rejected. Unlike RFC 8785, integers beyond 2^53 are not
 * rounded to a double: a key never loses digits of an id. A string {@code "1"} and a number {@code
 * 1} always give different keys.
 *
 * <p>The key is a pure function of the value: it holds no runner batch, bundle or worker id, so a
 * re-read of the same record after a restart yields the same key.
 */
public final class IdempotencyKeys {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private IdempotencyKeys() {}

  /** The key of {@code value}: lowercase hex SHA-256 of {@link #canonicalJson(Object)}. */
  public static String of(Object value) {
    return sha256Hex(canonicalJson(value));
  }

  /**
   * The key of {@code value} from the source {@code source}: the key of {@code
   * {"source":source,"value":value}}, so equal records of two sources don't collide.
   */
  public static String of(String source, Object value) {
    if (source == null) {
      throw new IllegalArgumentException("IdempotencyKeys.of(source, value): source must not be null");
    }
    Map<String, Object> wrapped = new LinkedHashMap<>();
    wrapped.put("source", source);
    wrapped.put("value", value);
    return of(wrapped);
  }

  /** The RFC 8785-style canonical JSON text of {@code value}. */
  public static String canonicalJson(Object value) {
    JsonNode tree;
    try {
      tree = MAPPER.valueToTree(normalize(value));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "IdempotencyKeys: can't turn a "
              + value.getClass().getName()
              + " into JSON ("
              + e.getMessage()
              + "); give the write a key function (withKeyFn) that returns a Map, record or"
              + " string that identifies the record",
          e);
    }
    StringBuilder out = new StringBuilder();
    write(tree, out);
    return out.toString();
  }

  /** Replaces what Jackson can't or shouldn't serialize by itself with plain maps and strings. */
  private static Object normalize(Object value) {
    if (value instanceof Row) {
      Row row = (Row) value;
      Map<String, Object> fields = new LinkedHashMap<>();
      for (int i = 0; i < row.getFieldCount(); i++) {
        fields.put(row.getSchema().getField(i).getName(), normalize(row.getValue(i)));
      }
      return fields;
    }
    if (value instanceof KV) {
      Map<String, Object> kv = new LinkedHashMap<>();
      kv.put("key", normalize(((KV<?, ?>) value).getKey()));
      kv.put("value", normalize(((KV<?, ?>) value).getValue()));
      return kv;
    }
    if (value instanceof TemporalAccessor || value instanceof ReadableInstant) {
      return value.toString();
    }
    if (value instanceof Map) {
      Map<Object, Object> map = new LinkedHashMap<>();
      for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
        map.put(e.getKey(), normalize(e.getValue()));
      }
      return map;
    }
    if (value instanceof Iterable) {
      List<Object> list = new ArrayList<>();
      for (Object element : (Iterable<?>) value) {
        list.add(normalize(element));
      }
      return list;
    }
    return value;
  }

  private static void write(JsonNode node, StringBuilder out) {
    JsonNodeType type = node.getNodeType();
    switch (type) {
      case OBJECT:
        // TreeMap on String orders by UTF-16 code units, as RFC 8785 requires.
        Map<String, JsonNode> sorted = new TreeMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
          Map.Entry<String, JsonNode> field = it.next();
          sorted.put(field.getKey(), field.getValue());
        }
        out.append('{');
        boolean first = true;
        for (Map.Entry<String, JsonNode> field : sorted.entrySet()) {
          if (!first) {
            out.append(',');
          }
          first = false;
          writeString(field.getKey(), out);
          out.append(':');
          write(field.getValue(), out);
        }
        out.append('}');
        return;
      case ARRAY:
        out.append('[');
        for (int i = 0; i < node.size(); i++) {
          if (i > 0) {
            out.append(',');
          }
          write(node.get(i), out);
        }
        out.append(']');
        return;
      case STRING:
        writeString(node.textValue(), out);
        return;
      case BINARY:
        writeString(node.asText(), out);
        return;
      case NUMBER:
        out.append(canonicalNumber(node));
        return;
      case BOOLEAN:
        out.append(node.booleanValue() ? "true" : "false");
        return;
      case NULL:
        out.append("null");
        return;
      default:
        throw new IllegalArgumentException(
            "IdempotencyKeys: a " + type + " JSON node has no canonical form: " + node);
    }
  }

  static String canonicalNumber(JsonNode node) {
    if (node.isIntegralNumber()) {
      return node.bigIntegerValue().toString();
    }
    BigDecimal decimal;
    if (node.isDouble() || node.isFloat()) {
      double d = node.doubleValue();
      if (Double.isNaN(d) || Double.isInfinite(d)) {
        throw new IllegalArgumentException(
            "IdempotencyKeys: " + d + " has no JSON form; NaN and infinities can't be keyed");
      }
      // Float.toString keeps a float's shortest form (0.1f is "0.1", not 0.100000001…).
      decimal = new BigDecimal(node.isFloat() ? Float.toString(node.floatValue()) : Double.toString(d));
    } else {
      decimal = node.decimalValue();
    }
    if (decimal.signum() == 0) {
      return "0";
    }
    BigDecimal stripped = decimal.stripTrailingZeros();
    if (stripped.scale() <= 0) {
      BigInteger integer = stripped.toBigIntegerExact();
      return integer.toString();
    }
    return stripped.toPlainString();
  }

  private static void writeString(String s, StringBuilder out) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"':
          out.append("\\\"");
          break;
        case '\\':
          out.append("\\\\");
          break;
        case '\b':
          out.append("\\b");
          break;
        case '\t':
          out.append("\\t");
          break;
        case '\n':
          out.append("\\n");
          break;
        case '\f':
          out.append("\\f");
          break;
        case '\r':
          out.append("\\r");
          break;
        default:
          if (c < 0x20) {
            out.append("\\u00").append(HEX[c >> 4]).append(HEX[c & 0xF]);
          } else if (Character.isSurrogate(c)) {
            boolean paired =
                Character.isHighSurrogate(c)
                    && i + 1 < s.length()
                    && Character.isLowSurrogate(s.charAt(i + 1));
            if (!paired) {
              throw new IllegalArgumentException(
                  "IdempotencyKeys: a string holds a lone UTF-16 surrogate at index "
                      + i
                      + "; it has no UTF-8 form");
            }
            out.append(c).append(s.charAt(++i));
          } else {
            out.append(c);
          }
      }
    }
    out.append('"');
  }

  private static String sha256Hex(String text) {
    byte[] digest;
    try {
      digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
    char[] hex = new char[digest.length * 2];
    for (int i = 0; i < digest.length; i++) {
      hex[2 * i] = HEX[(digest[i] >> 4) & 0xF];
      hex[2 * i + 1] = HEX[digest[i] & 0xF];
    }
    return new String(hex);
  }
}
