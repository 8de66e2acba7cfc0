package dev.timerangeio;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Serializable;
import java.math.BigInteger;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Iterator;
import java.util.Objects;
import java.util.Set;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * A committed read position as JSON: {@code {"timestamp": "2026-11-24T10:00:00.000001Z"}}, or,
 * for sources that need a tie-breaker, {@code {"timestamp": …, "sequence_id": …, "partition_id":
 * …}}. "Every record before this offset is in the sink." Offsets order field by field as typed
 * values: the timestamp as an instant at the microsecond, then {@code sequence_id}, then {@code
 * partition_id}, each a JSON integer (compared as a number) or a string (compared by code unit);
 * an absent field sorts first. Never compared as text, so {@code 9 < 10}.
 */
final class ProgressOffset implements Comparable<ProgressOffset>, Serializable {
  private static final long serialVersionUID = 1L;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<String> FIELDS = Set.of("timestamp", "sequence_id", "partition_id");

  private final long timestampMicros;
  // Long, BigInteger or String: the JSON value's own type.
  private final @Nullable Object sequenceId;
  private final @Nullable Object partitionId;

  private ProgressOffset(long timestampMicros, @Nullable Object sequenceId, @Nullable Object partitionId) {
    this.timestampMicros = timestampMicros;
    this.sequenceId = sequenceId;
    this.partitionId = partitionId;
  }

  static ProgressOffset ofTimestamp(long timestampMicros) {
    return new ProgressOffset(timestampMicros, null, null);
  }

  /** A position inside one microsecond: its {@code sequence_id}, a Long, BigInteger or String. */
  static ProgressOffset ofSequence(long timestampMicros, Object sequenceId) {
    return new ProgressOffset(timestampMicros, checkField("sequence_id", sequenceId), null);
  }

  /** The multi-field form; {@code sequenceId}/{@code partitionId}: a Long, BigInteger or String. */
  static ProgressOffset of(long timestampMicros, Object sequenceId, Object partitionId) {
    return new ProgressOffset(
        timestampMicros, checkField("sequence_id", sequenceId), checkField("partition_id", partitionId));
  }

  private static Object checkField(String name, Object value) {
    if (value instanceof Integer || value instanceof Short) {
      return ((Number) value).longValue();
    }
    if (value instanceof Long || value instanceof BigInteger || value instanceof String) {
      return value;
    }
    throw new IllegalArgumentException(
        name + " must be an integer or a string, was " + value + (value == null ? "" : " (" + value.getClass().getName() + ")"));
  }

  long timestampMicros() {
    return timestampMicros;
  }

  @Nullable Object sequenceId() {
    return sequenceId;
  }

  @Nullable Object partitionId() {
    return partitionId;
  }

  String toJson() {
    ObjectNode node = JSON.createObjectNode();
    node.put("timestamp", Times.describe(timestampMicros));
    putField(node, "sequence_id", sequenceId);
    putField(node, "partition_id", partitionId);
    return node.toString();
  }

  private static void putField(ObjectNode node, String name, @Nullable Object value) {
    if (value instanceof Long) {
      node.put(name, (Long) value);
    } else if (value instanceof BigInteger) {
      node.put(name, (BigInteger) value);
    } else if (value != null) {
      node.put(name, (String) value);
    }
  }

  /**
   * Parses an offset; {@link IllegalArgumentException} with the reason when {@code json} is not
   * one (not JSON, not an object, no timestamp, an unknown field, a field of the wrong type).
   */
  static ProgressOffset fromJson(String json) {
    JsonNode node;
    try {
      node = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("not JSON: " + e.getOriginalMessage(), e);
    }
    if (node == null || !node.isObject()) {
      throw new IllegalArgumentException("not a JSON object: " + abbreviate(json));
    }
    for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!FIELDS.contains(name)) {
        throw new IllegalArgumentException(
            "unknown field \"" + name + "\"; an offset has " + FIELDS);
      }
    }
    JsonNode timestamp = node.get("timestamp");
    if (timestamp == null || !timestamp.isTextual()) {
      throw new IllegalArgumentException(
          "\"timestamp\" must be an ISO-8601 instant string, was " + timestamp);
    }
    long micros;
    try {
      micros = Times.toMicros("timestamp", Instant.parse(timestamp.asText()));
    } catch (DateTimeParseException | IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "\"timestamp\" is not an ISO-8601 instant: " + timestamp.asText(), e);
    }
    Object sequence = readField(node, "sequence_id");
    Object partition = readField(node, "partition_id");
    return new ProgressOffset(micros, sequence, partition);
  }

  private static @Nullable Object readField(JsonNode node, String name) {
    JsonNode value = node.get(name);
    if (value == null || value.isNull()) {
      return null;
    }
    if (value.isIntegralNumber()) {
      return value.canConvertToLong() ? (Object) value.longValue() : value.bigIntegerValue();
    }
    if (value.isTextual()) {
      return value.asText();
    }
    throw new IllegalArgumentException(
        "\"" + name + "\" must be an integer or a string, was " + value);
  }

  private static String abbreviate(String s) {
    return s.length() <= 80 ? s : s.substring(0, 80) + "…";
  }

  @Override
  public int compareTo(ProgressOffset other) {
    int c = Long.compare(timestampMicros, other.timestampMicros);
    if (c == 0) {
      c = compareField("sequence_id", sequenceId, other.sequenceId);
    }
    if (c == 0) {
      c = compareField("partition_id", partitionId, other.partitionId);
    }
    return c;
  }

  private static int compareField(String name, @Nullable Object a, @Nullable Object b) {
    if (a == null || b == null) {
      return a == null ? (b == null ? 0 : -1) : 1;
    }
    if (a instanceof String && b instanceof String) {
      return ((String) a).compareTo((String) b);
    }
    if (!(a instanceof String) && !(b instanceof String)) {
      return toBig(a).compareTo(toBig(b));
    }
    throw new IllegalArgumentException(
        "can't order offsets whose " + name + " is a number in one and a string in the other: "
            + a + " and \"" + (a instanceof String ? a : b) + "\"");
  }

  private static BigInteger toBig(Object n) {
    return n instanceof BigInteger ? (BigInteger) n : BigInteger.valueOf((Long) n);
  }

  @Override
  public boolean equals(@Nullable Object o) {
    if (!(o instanceof ProgressOffset)) {
      return false;
    }
    ProgressOffset that = (ProgressOffset) o;
    return timestampMicros == that.timestampMicros
        && Objects.equals(sequenceId, that.sequenceId)
        && Objects.equals(partitionId, that.partitionId);
  }

  @Override
  public int hashCode() {
    return Objects.hash(timestampMicros, sequenceId, partitionId);
  }

  @Override
  public String toString() {
    return toJson();
  }
}
