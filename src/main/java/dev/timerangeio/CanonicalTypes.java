package dev.timerangeio;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.SerializationConfig;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.module.SimpleSerializers;
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
import java.util.LinkedHashMap;
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

  /**
   * The module: each type below is found by {@link Class#isAssignableFrom} in this order, the first
   * that fits wins. Jackson's own lookup walks a class's interfaces depth first in declaration
   * order, so it depends on which interfaces a JDK gives a class: on JDK 21 {@code LinkedHashSet}
   * became a {@code SequencedSet}, whose {@code SequencedCollection} branch reaches {@code
   * Iterable} before {@code Set}, and equal sets got different keys. An explicit order keys a value
   * the same on every JDK, whatever interfaces its class gains.
   */
  @SuppressWarnings({"rawtypes", "unchecked"})
  static SimpleModule module() {
    Map<Class<?>, JsonSerializer<?>> ordered = new LinkedHashMap<>();
    // Beam's own types first: a Row or KV is never read as one of the collections below.
    ordered.put(Row.class, new RowSerializer());
    ordered.put(KV.class, CanonicalTypes.<KV>pair(KV::getKey, KV::getValue));
    ordered.put(Map.Entry.class, CanonicalTypes.<Map.Entry>pair(Map.Entry::getKey, Map.Entry::getValue));
    ordered.put(Optional.class, new OptionalSerializer());
    ordered.put(OptionalInt.class, value(o -> ((OptionalInt) o).isPresent() ? (Object) ((OptionalInt) o).getAsInt() : null));
    ordered.put(OptionalLong.class, value(o -> ((OptionalLong) o).isPresent() ? (Object) ((OptionalLong) o).getAsLong() : null));
    ordered.put(OptionalDouble.class, value(o -> ((OptionalDouble) o).isPresent() ? (Object) ((OptionalDouble) o).getAsDouble() : null));
    // The instant a Date holds, never its zone-dependent local reading (java.sql.Date and Time
    // included: toLocalDate() differs between workers in different zones). Timestamp before Date:
    // it holds nanoseconds.
    ordered.put(java.sql.Timestamp.class, text(t -> ((java.sql.Timestamp) t).toInstant().toString()));
    ordered.put(Date.class, text(d -> java.time.Instant.ofEpochMilli(((Date) d).getTime()).toString()));
    ordered.put(
        java.util.Calendar.class,
        text(c -> java.time.ZonedDateTime.ofInstant(((java.util.Calendar) c).toInstant(), ((java.util.Calendar) c).getTimeZone().toZoneId()).toString()));
    ordered.put(javax.xml.datatype.XMLGregorianCalendar.class, text(c -> ((javax.xml.datatype.XMLGregorianCalendar) c).toXMLFormat()));
    ordered.put(java.net.InetAddress.class, text(a -> ((java.net.InetAddress) a).getHostAddress()));
    // A Path is an Iterable of Paths (itself included): as text, never as an endless array.
    ordered.put(java.nio.file.Path.class, text(Object::toString));
    // ISO-8601 text at full precision; toString() of these types is the same on every JDK.
    ordered.put(TemporalAccessor.class, ToStringSerializer.instance);
    ordered.put(TemporalAmount.class, ToStringSerializer.instance);
    ordered.put(ZoneId.class, ToStringSerializer.instance);
    ordered.put(ReadableInstant.class, ToStringSerializer.instance);
    ordered.put(ReadablePartial.class, ToStringSerializer.instance);
    ordered.put(ReadableDuration.class, ToStringSerializer.instance);
    ordered.put(ReadablePeriod.class, ToStringSerializer.instance);
    // Maps, then sets (unordered, so sorted), then any other Iterable (ordered).
    ordered.put(Map.class, new MapSerializer());
    ordered.put(java.util.Set.class, new SetSerializer());
    ordered.put(Iterable.class, new IterableSerializer());
    SimpleModule module = new SimpleModule("TimeRangeIO canonical types");
    module.setSerializers(new OrderedSerializers(ordered));
    return module;
  }

  /** Serializers found by the first type in a fixed order that the value's class is assignable to. */
  private static final class OrderedSerializers extends SimpleSerializers {
    private final Map<Class<?>, JsonSerializer<?>> ordered;

    OrderedSerializers(Map<Class<?>, JsonSerializer<?>> ordered) {
      this.ordered = ordered;
    }

    @Override
    public JsonSerializer<?> findSerializer(
        SerializationConfig config, JavaType type, BeanDescription beanDesc) {
      Class<?> raw = type.getRawClass();
      for (Map.Entry<Class<?>, JsonSerializer<?>> entry : ordered.entrySet()) {
        if (entry.getKey().isAssignableFrom(raw)) {
          return entry.getValue();
        }
      }
      return null;
    }
  }

  private static JsonSerializer<Object> text(Function<Object, String> toText) {
    return new JsonSerializer<Object>() {
      @Override
      public void serialize(Object value, JsonGenerator gen, SerializerProvider provider)
          throws IOException {
        gen.writeString(toText.apply(value));
      }
    };
  }

  private static JsonSerializer<Object> value(Function<Object, Object> content) {
    return new JsonSerializer<Object>() {
      @Override
      public void serialize(Object value, JsonGenerator gen, SerializerProvider provider)
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
