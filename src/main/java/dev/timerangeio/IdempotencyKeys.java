package dev.timerangeio;

import com.fasterxml.jackson.core.io.NumberOutput;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeType;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Idempotency keys: the lowercase hex SHA-256 of a value's canonical JSON.
 *
 * <p>The canonical JSON follows RFC 8785 (JSON Canonicalization Scheme): object members sorted by
 * their names' UTF-16 code units, no insignificant whitespace, UTF-8, strings escaped as RFC 8785
 * says (only {@code "}, {@code \} and control characters; {@code \b \t \n \f \r} short, the others
 * as {@code \}{@code u00xx} in lowercase hex; everything else literal), {@code null}s kept. So
 * {@code of(Map.of("b", 1, "a", "x"))} is the SHA-256 of {@code {"a":"x","b":1}}.
 *
 * <p>How each Java type is keyed, wherever it appears (top level, a map value, a list element, a
 * record component or POJO property):
 *
 * <ul>
 *   <li>{@code Map}: an object; its keys as text (a string as it is, a number in its canonical
 *       form, a char, boolean, enum name, UUID or {@code java.time} value; other key types are
 *       rejected); two keys of one map with the same text ({@code 1} and {@code "1"}) are rejected
 *       rather than merged.
 *   <li>{@code Set} (any class that is a {@code Set}, whatever else it implements, {@code
 *       LinkedHashSet} and {@code SequencedSet}s included): an array sorted by its elements'
 *       canonical JSON, so equal sets share a key.
 *   <li>{@code List}, any other {@code Iterable}, arrays: an array, in order. {@code byte[]}: a
 *       base64 string.
 *   <li>Java records, POJOs: objects of their Jackson properties; one with none is rejected.
 *   <li>Beam {@link org.apache.beam.sdk.values.Row}: an object of its field names; {@link
 *       org.apache.beam.sdk.values.KV}: {@code {"key":…,"value":…}}.
 *   <li>{@code Optional} (and {@code OptionalInt/Long/Double}): what it holds; empty is {@code null}.
 *   <li>{@code java.time} values ({@code Instant}, {@code LocalDateTime}, {@code ZonedDateTime},
 *       {@code OffsetDateTime}, {@code LocalDate}, {@code LocalTime}, {@code Duration}, {@code
 *       Period}, {@code ZoneId}, …) and Joda ({@code Instant}, {@code DateTime}, {@code Duration},
 *       partials): their ISO-8601 {@code toString()}, at full precision (an {@code Instant} to the
 *       nanosecond), the same on every JDK. {@code java.util.Date} and {@code java.sql.Timestamp}:
 *       the instant they hold ({@code Timestamp} to the nanosecond), {@code java.sql.Date} and
 *       {@code Time} too (their local reading depends on the JVM's zone).
 *   <li>{@code char}/{@code Character}: a one-character string; {@code boolean}: {@code
 *       true}/{@code false}; enums: their name; strings: as they are.
 *   <li>Numbers: integers of any size exactly, without a fraction. A decimal or double with an
 *       integral value is written as that integer ({@code 1.0} and {@code 1} give the same key, as
 *       in RFC 8785, where both are the same number). Any other double or float is written from
 *       its shortest round-trip decimal digits, computed by Jackson's Schubfach writer (the same on
 *       every JDK; {@link Double#toString} is not), in plain notation without trailing zeros:
 *       {@code 0.1}, {@code 0.00000015}. These are the digits of RFC 8785's number serialization;
 *       the one deviation is the notation: RFC 8785 writes numbers of 10^21 and more, and below
 *       10^-6, with an exponent ({@code 1e+21}, {@code 1e-7}), this writes them out ({@code
 *       1000000000000000000000}, {@code 0.0000001}). And unlike RFC 8785, integers beyond 2^53 are
 *       not rounded to a double: a key never loses digits of an id. {@code -0.0} is {@code 0}.
 * </ul>
 *
 * The type that decides how a value is keyed is the first of this list its class is: Beam
 * types, {@code Optional}s, dates and times, {@code Map}, {@code Set}, {@code Iterable}, in that
 * order, fixed in code rather than left to the order of a class's interfaces, so a key is the same
 * on JDK 17, 21 and 25 whatever interfaces a JDK adds to a collection class.
 *
 * <p>Values of one Java type never share a key unless they are equal, with one deliberate
 * exception: a {@code BigDecimal} is keyed by its numeric value, not its scale, so {@code 1.10}
 * and {@code 1.1} share a key though {@code equals} calls them unequal (they are one JSON number,
 * and a re-read through another driver or column type may change the scale of the same value). Across types the text forms can
 * meet: a {@code byte[]} and its base64 string, an {@code Instant} and its ISO string, a {@code
 * char} and a one-letter string, {@code 1} and {@code 1.0}; key by a type whose fields have fixed
 * types. A string {@code "1"} and a number {@code 1} always differ.
 *
 * <p>What can't be keyed throws {@link IllegalArgumentException} naming why: {@code null} itself,
 * NaN and infinities, a string with a lone UTF-16 surrogate, a bean with no properties, a map whose
 * keys collide as text. The write sends such records to its failed records.
 *
 * <p>The key is a pure function of the value: it holds no runner batch, bundle or worker id, so a
 * re-read of the same record after a restart yields the same key.
 */
public final class IdempotencyKeys {
  private static final ObjectMapper MAPPER = new ObjectMapper().registerModule(CanonicalTypes.module());
  private static final char[] HEX = "0123456789abcdef".toCharArray();
  private static final byte[] HEX_BYTES = "0123456789abcdef".getBytes(StandardCharsets.ISO_8859_1);
  /** What a thread reuses from key to key: see {@link PerThread}. */
  private static final ThreadLocal<PerThread> PER_THREAD = ThreadLocal.withInitial(PerThread::new);
  /** The longest number written out, in digits; far beyond any double (~330) or id. */
  static final int MAX_NUMBER_DIGITS = 1_000;

  private IdempotencyKeys() {}

  /**
   * A thread's digest ({@code MessageDigest.getInstance} is a provider lookup per key) and its
   * canonical JSON writer, whose buffer holds the bytes hashed, so a key allocates no buffer.
   */
  private static final class PerThread {
    final MessageDigest sha256;
    private final FastCanonicalJson json = new FastCanonicalJson();
    private boolean busy;

    PerThread() {
      try {
        sha256 = MessageDigest.getInstance("SHA-256");
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("SHA-256 is missing from this JVM", e);
      }
    }

    /**
     * The thread's writer; a new one while it's in use: a key or text asked for while another is
     * being written (a bean's getter may) must not overwrite its bytes.
     */
    FastCanonicalJson acquire() {
      if (busy) {
        return new FastCanonicalJson();
      }
      busy = true;
      return json;
    }

    void release(FastCanonicalJson used) {
      if (used == json) {
        json.trim();
        busy = false;
      }
    }
  }

  /** The calling thread's digest, for a test that leaves it as an interrupted key would. */
  static MessageDigest threadDigest() {
    return PER_THREAD.get().sha256;
  }

  /**
   * The key of {@code value}: lowercase hex SHA-256 of {@link #canonicalJson(Object)}; an {@link
   * IllegalArgumentException} naming why when it can't be keyed (see above), {@code null} included.
   */
  public static String of(Object value) {
    requireNonNull(value);
    PerThread thread = PER_THREAD.get();
    // The canonical UTF-8 bytes straight into the thread's buffer, hashed there: no String.
    FastCanonicalJson json = thread.acquire();
    try {
      if (json.tryWrite(value)) {
        return sha256Hex(thread.sha256, json.bytes(), json.length());
      }
    } finally {
      thread.release(json);
    }
    byte[] general = generalCanonicalJson(value).getBytes(StandardCharsets.UTF_8);
    return sha256Hex(thread.sha256, general, general.length);
  }

  /**
   * The key of {@code value} from the source {@code source}: the key of {@code
   * {"source":source,"value":value}}, so equal records of two sources don't collide.
   */
  public static String of(String source, Object value) {
    if (source == null) {
      throw new IllegalArgumentException("IdempotencyKeys.of(source, value): source must not be null");
    }
    requireNonNull(value);
    PerThread thread = PER_THREAD.get();
    FastCanonicalJson json = thread.acquire();
    try {
      if (json.tryWriteSourced(source, value)) { // the map below, without the map
        return sha256Hex(thread.sha256, json.bytes(), json.length());
      }
    } finally {
      thread.release(json);
    }
    Map<String, Object> wrapped = new LinkedHashMap<>();
    wrapped.put("source", source);
    wrapped.put("value", value);
    return of(wrapped); // the general path says why it can't be keyed
  }

  /** The RFC 8785-style canonical JSON text of {@code value}. */
  public static String canonicalJson(Object value) {
    requireNonNull(value);
    PerThread thread = PER_THREAD.get();
    FastCanonicalJson json = thread.acquire();
    try {
      if (json.tryWrite(value)) {
        return json.text(); // the same text, without the Jackson tree
      }
    } finally {
      thread.release(json);
    }
    return generalCanonicalJson(value);
  }

  private static void requireNonNull(Object value) {
    if (value == null) {
      throw new IllegalArgumentException(
          "IdempotencyKeys: null can't be keyed: every record would share its key; a key"
              + " function must return what identifies the record");
    }
  }

  /**
   * The canonical JSON through the Jackson tree, for what {@link FastCanonicalJson} leaves to it,
   * naming why where a value can't be keyed.
   */
  private static String generalCanonicalJson(Object value) {
    JsonNode tree;
    try {
      tree = MAPPER.valueToTree(value);
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
    String json = out.toString();
    if (json.equals("null")) {
      throw new IllegalArgumentException(
          "IdempotencyKeys: a "
              + value.getClass().getName()
              + " that is JSON null (an empty Optional, a NullNode) can't be keyed: every such"
              + " record would share its key");
    }
    return json;
  }

  /** The canonical JSON of a set element, "null" included; for sorting sets. */
  static String canonicalJsonOrNull(Object element) {
    JsonNode tree = MAPPER.valueToTree(element);
    StringBuilder out = new StringBuilder();
    write(tree, out);
    return out.toString();
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
      // Shortest round-trip digits by Schubfach, the same on every JDK (Double.toString gives
      // 1.9999999999999998E23 for 2e23 on JDK 17, 2.0E23 from 19 on). A float keeps its own
      // shortest form (0.1f is 0.1, not 0.100000001…).
      decimal =
          shortest(
              new BigDecimal(
                  node.isFloat()
                      ? NumberOutput.toString(node.floatValue(), true)
                      : NumberOutput.toString(d, true)),
              node.isFloat() ? s -> Float.parseFloat(s) == node.floatValue() : s -> Double.parseDouble(s) == d);
    } else {
      decimal = node.decimalValue();
    }
    if (decimal.signum() == 0) {
      return "0";
    }
    // Written out in full, 1E+3000000 is three million digits: refuse what no id needs.
    long digits = (long) decimal.precision() + Math.abs((long) decimal.scale());
    if (digits > MAX_NUMBER_DIGITS) {
      throw new IllegalArgumentException(
          "IdempotencyKeys: a number of about " + digits + " digits written out (more than "
              + MAX_NUMBER_DIGITS + ") can't be keyed");
    }
    BigDecimal stripped = decimal.stripTrailingZeros();
    if (stripped.scale() <= 0) {
      BigInteger integer = stripped.toBigIntegerExact();
      return integer.toString();
    }
    return stripped.toPlainString();
  }

  /**
   * Java's shortest form keeps at least two significant digits (4.9E-324 for the smallest
   * double, where one digit, 5E-324, already reads back as the same number); RFC 8785, as
   * ECMAScript, takes the one digit. Parsing is correctly rounded on every JDK.
   */
  private static BigDecimal shortest(
      BigDecimal javaShortest, java.util.function.Predicate<String> readsBack) {
    BigDecimal stripped = javaShortest.stripTrailingZeros();
    if (stripped.precision() == 2) {
      BigDecimal oneDigit = stripped.round(new java.math.MathContext(1, java.math.RoundingMode.HALF_EVEN));
      if (readsBack.test(oneDigit.toString())) {
        return oneDigit;
      }
    }
    return stripped;
  }

  static void writeString(String s, StringBuilder out) {
    out.append('"');
    int run = 0; // where the characters not yet appended, none of them escaped, start
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c >= 0x20 && c != '"' && c != '\\' && !Character.isSurrogate(c)) {
        continue;
      }
      if (Character.isSurrogate(c)) {
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
        i++; // the pair stays in the run, literal
        continue;
      }
      out.append(s, run, i);
      run = i + 1;
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
          out.append("\\u00").append(HEX[c >> 4]).append(HEX[c & 0xF]);
      }
    }
    out.append(s, run, s.length()).append('"');
  }

  private static String sha256Hex(MessageDigest sha256, byte[] bytes, int length) {
    // A StackOverflowError between an update and its digest (a key asked for deep in a getter)
    // leaves the thread's digest holding those bytes: the next key must not start from them.
    sha256.reset();
    sha256.update(bytes, 0, length);
    byte[] digest = sha256.digest();
    byte[] hex = new byte[digest.length * 2];
    for (int i = 0; i < digest.length; i++) {
      hex[2 * i] = HEX_BYTES[(digest[i] >> 4) & 0xF];
      hex[2 * i + 1] = HEX_BYTES[digest[i] & 0xF];
    }
    return new String(hex, StandardCharsets.ISO_8859_1); // one copy, no char[] to compress
  }
}
