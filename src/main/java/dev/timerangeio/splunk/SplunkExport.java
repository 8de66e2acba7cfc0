package dev.timerangeio.splunk;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.timerangeio.TimeRange;
import dev.timerangeio.TimeRangeQuery;
import dev.timerangeio.TransientSourceException;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.values.Row;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * The answer of Splunk's search export endpoint with {@code output_mode=json}, made into Rows;
 * internal. One JSON object a line: blank keep-alive lines are skipped, {@code {"result": {…}}}
 * lines with {@code preview} false are records, {@code preview: true} ones are not, a {@code
 * messages} entry of type ERROR or FATAL fails the query with its text. A stream that sent results
 * but ended without its {@code lastrow} was cut short: transient.
 */
final class SplunkExport {
  private static final ObjectMapper JSON = new ObjectMapper();

  private SplunkExport() {}

  /** What a record is checked against: the field that must lie in the range, or null. */
  static final class Filter {
    final String field;
    final TimeRange range;

    Filter(String field, TimeRange range) {
      this.field = field;
      this.range = range;
    }
  }

  /**
   * The records of {@code body} as Rows of {@code schema}; with {@code filter}, only those whose
   * filter field lies in its range (the form's time bounds are coarser than a chunk, or their
   * ends inclusive: the neighbouring chunk reads the rest).
   */
  static TimeRangeQuery.Result<Row> parse(
      byte[] body, Schema schema, @Nullable Filter filter, String what) throws Exception {
    TimeRangeQuery.Result.Builder<Row> result = TimeRangeQuery.Result.builder();
    boolean sawResult = false;
    boolean sawLastRow = false;
    try (BufferedReader lines =
        new BufferedReader(
            new InputStreamReader(new ByteArrayInputStream(body), StandardCharsets.UTF_8))) {
      String line;
      int number = 0;
      while ((line = lines.readLine()) != null) {
        number++;
        if (line.trim().isEmpty()) {
          continue; // keep-alive
        }
        JsonNode object;
        try {
          object = JSON.readTree(line);
        } catch (IOException e) {
          throw new IOException(
              "Splunk export for " + what + ": line " + number + " is not JSON: " + abbreviate(line));
        }
        if (object == null || !object.isObject()) {
          throw new IOException(
              "Splunk export for " + what + ": line " + number + " is not a JSON object: "
                  + abbreviate(line));
        }
        failOnErrorMessages(object, what);
        JsonNode record = object.get("result");
        if (record == null || object.path("preview").asBoolean(false)) {
          continue;
        }
        sawResult = true;
        sawLastRow |= object.path("lastrow").asBoolean(false);
        if (filter != null && !record.hasNonNull(filter.field)) {
          // Which chunk it belongs to can't be told: reported, never kept twice or dropped.
          result.addUnmapped(
              record.toString(),
              new IllegalArgumentException(
                  "the result has no " + filter.field + ", the time it is queried by; keep the"
                      + " field in the SPL (a | table or | fields that drops it)"));
          continue;
        }
        if (filter != null && !inRange(record, filter)) {
          continue;
        }
        try {
          result.add(row(record, schema));
        } catch (RuntimeException e) {
          result.addUnmapped(record.toString(), e);
        }
      }
    }
    if (sawResult && !sawLastRow) {
      throw new TransientSourceException(
          "Splunk export for " + what + " ended without its last row (cut short)", null);
    }
    return result.build();
  }

  /** The text of the ERROR and FATAL messages of an error answer, for its message. */
  static String messages(byte[] body) {
    List<String> texts = new ArrayList<>();
    for (String line : new String(body, StandardCharsets.UTF_8).split("\n")) {
      try {
        JsonNode object = JSON.readTree(line);
        if (object != null && object.has("messages")) {
          for (JsonNode message : object.get("messages")) {
            texts.add(message.path("type").asText() + ": " + message.path("text").asText());
          }
        }
      } catch (IOException e) {
        // not JSON (XML from older endpoints): quoted below
      }
    }
    if (texts.isEmpty()) {
      return abbreviate(new String(body, StandardCharsets.UTF_8));
    }
    return String.join("; ", texts);
  }

  private static void failOnErrorMessages(JsonNode object, String what) throws IOException {
    JsonNode messages = object.get("messages");
    if (messages == null || !messages.isArray()) {
      return;
    }
    for (JsonNode message : messages) {
      String type = message.path("type").asText();
      if (type.equals("ERROR") || type.equals("FATAL")) {
        throw new IOException(
            "Splunk export for " + what + ": " + type + ": " + message.path("text").asText());
      }
    }
  }

  private static boolean inRange(JsonNode record, Filter filter) {
    JsonNode value = record.get(filter.field);
    try {
      return filter.range.contains(micros(instant(value.asText(), filter.field)));
    } catch (RuntimeException e) {
      return true; // kept: the row's conversion reports the bad time
    }
  }

  private static long micros(Instant t) {
    return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000L), t.getNano() / 1_000);
  }

  /** An instant as Splunk writes one: ISO-8601 with an offset, or epoch seconds with decimals. */
  static Instant instant(String text, String field) {
    String t = text.trim();
    if (t.matches("-?[0-9]+(\\.[0-9]+)?")) {
      BigDecimal seconds = new BigDecimal(t);
      long whole = seconds.setScale(0, java.math.RoundingMode.FLOOR).longValueExact();
      long nanos =
          seconds.subtract(BigDecimal.valueOf(whole)).movePointRight(9).setScale(0, java.math.RoundingMode.FLOOR).longValueExact();
      return Instant.ofEpochSecond(whole, nanos);
    }
    try {
      return OffsetDateTime.parse(t).toInstant();
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(field + " is not a time Splunk writes: " + abbreviate(t));
    }
  }

  /** A result as a Row: strings as sent (a multi-value field as its JSON array text). */
  static Row row(JsonNode record, Schema schema) {
    Row.Builder row = Row.withSchema(schema);
    for (Schema.Field field : schema.getFields()) {
      JsonNode value = record.get(field.getName());
      row.addValue(value == null || value.isNull() ? null : convert(value, field));
    }
    return row.build();
  }

  private static Object convert(JsonNode value, Schema.Field field) {
    Schema.FieldType type = field.getType();
    String text = value.isTextual() ? value.asText() : value.toString();
    if (type.getTypeName() == Schema.TypeName.LOGICAL_TYPE) {
      return instant(text, field.getName());
    }
    switch (type.getTypeName()) {
      case STRING:
        return text;
      case INT32:
        return Integer.parseInt(text.trim());
      case INT64:
        return Long.parseLong(text.trim());
      case DOUBLE:
        return Double.parseDouble(text.trim());
      case BOOLEAN:
        if (text.equalsIgnoreCase("true") || text.equals("1")) {
          return true;
        }
        if (text.equalsIgnoreCase("false") || text.equals("0")) {
          return false;
        }
        throw new IllegalArgumentException(field.getName() + " is not a boolean: " + abbreviate(text));
      case DECIMAL:
        return new BigDecimal(text.trim());
      default:
        throw new IllegalArgumentException(
            "field " + field.getName() + " has the type " + type + ", which a Splunk field can't fill");
    }
  }

  static String abbreviate(String s) {
    return s.length() <= 200 ? s : s.substring(0, 200) + "…";
  }
}
