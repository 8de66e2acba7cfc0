package dev.timerangeio;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.ser.std.ToStringSerializer;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.ZoneId;
import java.time.temporal.TemporalAccessor;
import java.time.temporal.TemporalAmount;
import java.util.Date;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.function.Function;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.Row;
import org.joda.time.ReadableDuration;
import org.joda.time.ReadableInstant;
import org.joda.time.ReadablePartial;
import org.joda.time.ReadablePeriod;

/**
 * The Jackson module behind {@link IdempotencyKeys}: how the types Jackson can't key by itself, or
 * would key ambiguously, become JSON, wherever they appear in a value; internal. See {@link
 * IdempotencyKeys} for the list.
 */
final class CanonicalTypes {
  private CanonicalTypes() {}

  @SuppressWarnings("rawtypes")
  static SimpleModule module() {
    SimpleModule module = new SimpleModule("TimeRangeIO canonical types");
    // ISO-8601 text at full precision; toString() of these types is the same on every JDK.
    module.addSerializer(TemporalAccessor.class, ToStringSerializer.instance);
    module.addSerializer(TemporalAmount.class, ToStringSerializer.instance);
    module.addSerializer(ZoneId.class, ToStringSerializer.instance);
    module.addSerializer(ReadableInstant.class, ToStringSerializer.instance);
    module.addSerializer(ReadablePartial.class, ToStringSerializer.instance);
    module.addSerializer(ReadableDuration.class, ToStringSerializer.instance);
    module.addSerializer(ReadablePeriod.class, ToStringSerializer.instance);
    // The instant a Date holds, never its zone-dependent local reading (java.sql.Date and Time
    // included: toLocalDate() differs between workers in different zones).
    module.addSerializer(Date.class, text(d -> java.time.Instant.ofEpochMilli(d.getTime()).toString()));
    module.addSerializer(java.sql.Timestamp.class, text(t -> t.toInstant().toString()));
    module.addSerializer(
        java.util.Calendar.class,
        text(c -> java.time.ZonedDateTime.ofInstant(c.toInstant(), c.getTimeZone().toZoneId()).toString()));
    module.addSerializer(
        javax.xml.datatype.XMLGregorianCalendar.class, text(c -> c.toXMLFormat()));
    module.addSerializer(java.net.InetAddress.class, text(a -> a.getHostAddress()));
    module.addSerializer(Iterable.class, new IterableSerializer());
    module.addSerializer(java.util.Set.class, new SetSerializer());
    module.addSerializer(Map.Entry.class, CanonicalTypes.<Map.Entry>pair(Map.Entry::getKey, Map.Entry::getValue));
    module.addSerializer(Optional.class, new OptionalSerializer());
    module.addSerializer(
        OptionalInt.class, value(o -> o.isPresent() ? (Object) o.getAsInt() : null));
    module.addSerializer(
        OptionalLong.class, value(o -> o.isPresent() ? (Object) o.getAsLong() : null));
    module.addSerializer(
        OptionalDouble.class, value(o -> o.isPresent() ? (Object) o.getAsDouble() : null));
    module.addSerializer(Row.class, new RowSerializer());
    module.addSerializer(KV.class, CanonicalTypes.<KV>pair(KV::getKey, KV::getValue));
    module.addSerializer(Map.class, new MapSerializer());
    return module;
  }

  private static <T> JsonSerializer<T> text(Function<T, String> toText) {
    return new JsonSerializer<T>() {
      @Override
      public void serialize(T value, JsonGenerator gen, SerializerProvider provider)
          throws IOException {
        gen.writeString(toText.apply(value));
      }
    };
  }

  private static <T> JsonSerializer<T> value(Function<T, Object> content) {
    return new JsonSerializer<T>() {
      @Override
      public void serialize(T value, JsonGenerator gen, SerializerProvider provider)
          throws IOException {
        provider.defaultSerializeValue(content.apply(value), gen);
      }
    };
  }

  /** What the {@code Optional} holds; empty is null. */
  @SuppressWarnings("rawtypes")
  private static final class OptionalSerializer extends JsonSerializer<Optional> {
    @Override
    public void serialize(Optional value, JsonGenerator gen, SerializerProvider provider)
        throws IOException {
      provider.defaultSerializeValue(value.orElse(null), gen);
    }
  }

  /** An object of the row's field names. */
  private static final class RowSerializer extends JsonSerializer<Row> {
    @Override
    public void serialize(Row row, JsonGenerator gen, SerializerProvider provider)
        throws IOException {
      gen.writeStartObject();
      for (int i = 0; i < row.getFieldCount(); i++) {
        gen.writeFieldName(row.getSchema().getField(i).getName());
        provider.defaultSerializeValue(row.getValue(i), gen);
      }
      gen.writeEndObject();
    }
  }

  /** An array, in order: any Iterable, not only a Collection (Jackson would take some for beans). */
  @SuppressWarnings("rawtypes")
  private static final class IterableSerializer extends JsonSerializer<Iterable> {
    @Override
    public void serialize(Iterable iterable, JsonGenerator gen, SerializerProvider provider)
        throws IOException {
      gen.writeStartArray();
      for (Object element : iterable) {
        provider.defaultSerializeValue(element, gen);
      }
      gen.writeEndArray();
    }
  }

  /**
   * An array sorted by its elements' canonical JSON: a set's iteration order depends on hash
   * seeds, capacity and insertion history, so equal sets must not be written in that order.
   */
  @SuppressWarnings("rawtypes")
  private static final class SetSerializer extends JsonSerializer<java.util.Set> {
    @Override
    public void serialize(java.util.Set set, JsonGenerator gen, SerializerProvider provider)
        throws IOException {
      java.util.TreeMap<String, Object> sorted = new java.util.TreeMap<>();
      for (Object element : set) {
        sorted.put(element == null ? "null" : IdempotencyKeys.canonicalJsonOrNull(element), element);
      }
      gen.writeStartArray();
      for (Object element : sorted.values()) {
        provider.defaultSerializeValue(element, gen);
      }
      gen.writeEndArray();
    }
  }

  /** {@code {"key": …, "value": …}}: a KV, a Map.Entry. */
  private static <P> JsonSerializer<P> pair(Function<P, Object> key, Function<P, Object> value) {
    return new JsonSerializer<P>() {
      @Override
      public void serialize(P pair, JsonGenerator gen, SerializerProvider provider)
          throws IOException {
        gen.writeStartObject();
        gen.writeFieldName("key");
        provider.defaultSerializeValue(key.apply(pair), gen);
        gen.writeFieldName("value");
        provider.defaultSerializeValue(value.apply(pair), gen);
        gen.writeEndObject();
      }
    };
  }

  /** An object whose member names are the keys as text; keys alike as text are an error. */
  @SuppressWarnings("rawtypes")
  private static final class MapSerializer extends JsonSerializer<Map> {
    @Override
    public void serialize(Map map, JsonGenerator gen, SerializerProvider provider)
        throws IOException {
      Map<String, String> seen = new HashMap<>();
      gen.writeStartObject();
      for (Object o : map.entrySet()) {
        Map.Entry<?, ?> entry = (Map.Entry<?, ?>) o;
        String name = keyText(entry.getKey());
        String before = seen.putIfAbsent(name, describe(entry.getKey()));
        if (before != null) {
          throw JsonMappingException.from(
              gen,
              "a map has two keys that are both \""
                  + name
                  + "\" as text ("
                  + before
                  + " and "
                  + describe(entry.getKey())
                  + "); they would give one JSON member, so distinct records could share a key");
        }
        gen.writeFieldName(name);
        provider.defaultSerializeValue(entry.getValue(), gen);
      }
      gen.writeEndObject();
    }

    private static String describe(Object key) {
      return key == null ? "null" : key.getClass().getSimpleName() + " " + key;
    }
  }

  /**
   * A map key as JSON member name: a string as it is, a number in its canonical form, a char,
   * boolean, enum name, UUID, or java.time value (ISO-8601 at full precision) as text. Keys of any
   * other type, and null keys, are rejected: their text ({@code toString()}) could make unequal
   * maps alike.
   */
  static String keyText(Object key) throws IOException {
    if (key instanceof String) {
      return (String) key;
    }
    if (key instanceof Double || key instanceof Float) {
      return IdempotencyKeys.canonicalNumber(
          key instanceof Float
              ? JsonNodeFactory.instance.numberNode((Float) key)
              : JsonNodeFactory.instance.numberNode((Double) key));
    }
    if (key instanceof BigDecimal) {
      return IdempotencyKeys.canonicalNumber(JsonNodeFactory.instance.numberNode((BigDecimal) key));
    }
    if (key instanceof BigInteger
        || key instanceof Long
        || key instanceof Integer
        || key instanceof Short
        || key instanceof Byte) {
      return key.toString();
    }
    if (key instanceof Enum) {
      return ((Enum<?>) key).name();
    }
    if (key instanceof Character
        || key instanceof Boolean
        || key instanceof java.util.UUID
        || key instanceof java.time.temporal.TemporalAccessor
        || key instanceof java.time.temporal.TemporalAmount) {
      return key.toString();
    }
    throw new IOException(
        "a map key "
            + (key == null ? "null" : "of type " + key.getClass().getName())
            + " can't be keyed: map keys must be strings, numbers, chars, booleans, enums, UUIDs"
            + " or java.time values, whose text is exact; use such keys, or a list of entries");
  }
}
