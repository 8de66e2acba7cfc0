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
    module.addSerializer(Date.class, text(d -> d.toInstant().toString()));
    module.addSerializer(java.sql.Timestamp.class, text(t -> t.toInstant().toString()));
    module.addSerializer(java.sql.Date.class, text(d -> d.toLocalDate().toString()));
    module.addSerializer(java.sql.Time.class, text(t -> t.toLocalTime().toString()));
    module.addSerializer(Optional.class, new OptionalSerializer());
    module.addSerializer(
        OptionalInt.class, value(o -> o.isPresent() ? (Object) o.getAsInt() : null));
    module.addSerializer(
        OptionalLong.class, value(o -> o.isPresent() ? (Object) o.getAsLong() : null));
    module.addSerializer(
        OptionalDouble.class, value(o -> o.isPresent() ? (Object) o.getAsDouble() : null));
    module.addSerializer(Row.class, new RowSerializer());
    module.addSerializer(KV.class, new KvSerializer());
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

  /** {@code {"key": …, "value": …}}. */
  @SuppressWarnings("rawtypes")
  private static final class KvSerializer extends JsonSerializer<KV> {
    @Override
    public void serialize(KV kv, JsonGenerator gen, SerializerProvider provider)
        throws IOException {
      gen.writeStartObject();
      gen.writeFieldName("key");
      provider.defaultSerializeValue(kv.getKey(), gen);
      gen.writeFieldName("value");
      provider.defaultSerializeValue(kv.getValue(), gen);
      gen.writeEndObject();
    }
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

  /** A map key as JSON member name: strings as they are, numbers in their canonical form. */
  static String keyText(Object key) {
    if (key == null) {
      return "null";
    }
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
    if (key instanceof Number && !(key instanceof BigInteger)) {
      return Long.toString(((Number) key).longValue());
    }
    if (key instanceof Enum) {
      return ((Enum<?>) key).name();
    }
    return key.toString();
  }
}
