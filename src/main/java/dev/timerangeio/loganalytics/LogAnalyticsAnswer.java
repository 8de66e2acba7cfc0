package dev.timerangeio.loganalytics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.timerangeio.ResultTooLargeException;
import dev.timerangeio.TimeRangeQuery;
import java.io.IOException;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.schemas.logicaltypes.MicrosInstant;
import org.apache.beam.sdk.values.Row;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * One answer of the Log Analytics query API, {@code {"tables": [{"columns": […], "rows": […]}],
 * "error": …}}, made into Beam {@link Row}s; internal.
 *
 * <p>Column types, and the Beam type of each (every field nullable): {@code datetime} — a
 * microsecond instant ({@link MicrosInstant}, value a {@link Instant}); {@code string}, {@code
 * guid}, {@code timespan} — STRING, as sent; {@code int} — INT32; {@code long} — INT64; {@code
 * real} — DOUBLE ({@code "NaN"}, {@code "Infinity"} as sent); {@code bool} — BOOLEAN; {@code
 * decimal} — DECIMAL; {@code dynamic} — STRING, its JSON text (a JSON string's content, or nested
 * JSON written out).
 */
final class LogAnalyticsAnswer {
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * Error codes of an answer cut at the service's result-size limit: the read bisects the range.
   * Kusto's {@code E_QUERY_RESULT_SET_TOO_LARGE} also arrives as its HRESULT, -2133196797
   * (0x80DA0003).
   */
  static final Set<String> SIZE_LIMIT_CODES =
      Set.of(
          "QueryExecutionResultSizeLimitExceeded",
          "ResponsePayloadTooLarge",
          "QueryExecutionResponseSizeLimitExceeded",
          "E_QUERY_RESULT_SET_TOO_LARGE",
          "-2133196797",
          "0x80DA0003");

  private final JsonNode table;
  private final List<String> columnNames = new ArrayList<>();
  private final List<String> columnTypes = new ArrayList<>();

  private LogAnalyticsAnswer(JsonNode table) throws IOException {
    this.table = table;
    JsonNode columns = table.get("columns");
    if (columns == null || !columns.isArray()) {
      throw new IOException("Log Analytics answered a table without a columns array");
    }
    for (JsonNode column : columns) {
      columnNames.add(column.path("name").asText());
      columnTypes.add(column.path("type").asText().toLowerCase(Locale.ROOT));
    }
  }

  /**
   * The first table of a 200 answer; a partial answer ({@code error} present) is never taken as
   * complete: a result-size limit is a {@link ResultTooLargeException}, any other an error naming
   * its codes.
   */
  static LogAnalyticsAnswer parse(byte[] body, String what)
      throws IOException, ResultTooLargeException {
    JsonNode answer;
    try {
      answer = JSON.readTree(body);
    } catch (IOException e) {
      throw new IOException("Log Analytics answered " + what + " with a body that is not JSON");
    }
    if (answer == null || !answer.isObject()) {
      throw new IOException("Log Analytics answered " + what + " with no JSON object");
    }
    JsonNode error = answer.get("error");
    if (error != null && !error.isNull()) {
      Set<String> codes = new LinkedHashSet<>();
      List<String> messages = new ArrayList<>();
      collect(error, codes, messages);
      for (String code : codes) {
        if (SIZE_LIMIT_CODES.contains(code)) {
          throw new ResultTooLargeException(
              "Log Analytics cut the answer to " + what + " at its result-size limit (" + code + ")");
        }
      }
      throw new IOException(
          "Log Analytics answered "
              + what
              + " only partly (error codes "
              + codes
              + ": "
              + String.join("; ", messages)
              + "); a partial answer is never taken as complete");
    }
    JsonNode tables = answer.get("tables");
    if (tables == null || !tables.isArray() || tables.size() == 0) {
      throw new IOException("Log Analytics answered " + what + " without tables");
    }
    return new LogAnalyticsAnswer(tables.get(0));
  }

  /** Every code and message of an error object, its details and inner errors, at any depth. */
  static void collect(JsonNode error, Set<String> codes, List<String> messages) {
    if (error == null || !error.isObject()) {
      return;
    }
    if (error.hasNonNull("code")) {
      codes.add(error.get("code").asText());
    }
    if (error.hasNonNull("message")) {
      messages.add(error.get("message").asText());
    }
    JsonNode details = error.get("details");
    if (details != null && details.isArray()) {
      for (JsonNode detail : details) {
        collect(detail, codes, messages);
      }
    }
    collect(error.get("innererror"), codes, messages);
    collect(error.get("innerError"), codes, messages);
  }

  /** The service's message of an error answer ({@code {"error": {...}}}), codes and messages. */
  static String errorText(byte[] body) {
    try {
      JsonNode answer = JSON.readTree(body);
      if (answer != null && answer.has("error")) {
        Set<String> codes = new LinkedHashSet<>();
        List<String> messages = new ArrayList<>();
        collect(answer.get("error"), codes, messages);
        return codes + ": " + String.join("; ", messages);
      }
    } catch (IOException e) {
      // not JSON: the caller quotes the body
    }
    String text = new String(body, 0, Math.min(body.length, 300), java.nio.charset.StandardCharsets.UTF_8);
    return body.length > 300 ? text + "…" : text;
  }

  /** The Beam schema of the answer's columns, every field nullable. */
  Schema schema() throws IOException {
    Schema.Builder builder = Schema.builder();
    for (int i = 0; i < columnNames.size(); i++) {
      builder.addNullableField(columnNames.get(i), fieldType(columnNames.get(i), columnTypes.get(i)));
    }
    return builder.build();
  }

  static Schema.FieldType fieldType(String column, String type) throws IOException {
    switch (type) {
      case "datetime":
      case "date":
        return Schema.FieldType.logicalType(new MicrosInstant());
      case "string":
      case "guid":
      case "uniqueid":
      case "timespan":
      case "time":
      case "dynamic":
        return Schema.FieldType.STRING;
      case "int":
        return Schema.FieldType.INT32;
      case "long":
        return Schema.FieldType.INT64;
      case "real":
      case "double":
        return Schema.FieldType.DOUBLE;
      case "bool":
      case "boolean":
        return Schema.FieldType.BOOLEAN;
      case "decimal":
        return Schema.FieldType.DECIMAL;
      default:
        throw new IOException(
            "Log Analytics column " + column + " has the type \"" + type + "\", which TimeRangeIO"
                + " does not know; give the schema with withSchema");
    }
  }

  /** The first cell of the first row, or null: the answer of a {@code summarize}. */
  @Nullable JsonNode firstCell() {
    JsonNode rows = table.get("rows");
    if (rows == null || !rows.isArray() || rows.size() == 0) {
      return null;
    }
    JsonNode first = rows.get(0);
    return first.isArray() && first.size() > 0 ? first.get(0) : null;
  }

  /**
   * The rows as Rows of {@code schema}, matched to columns by name (a field the answer lacks is
   * null); a row that can't be converted is an unmapped row, never dropped.
   */
  TimeRangeQuery.Result<Row> rows(Schema schema) throws IOException {
    Map<String, Integer> index = new HashMap<>();
    for (int i = 0; i < columnNames.size(); i++) {
      index.put(columnNames.get(i), i);
    }
    TimeRangeQuery.Result.Builder<Row> result = TimeRangeQuery.Result.builder();
    JsonNode rows = table.get("rows");
    if (rows == null || !rows.isArray()) {
      throw new IOException("Log Analytics answered a table without a rows array");
    }
    for (JsonNode row : rows) {
      try {
        if (!row.isArray() || row.size() != columnNames.size()) {
          throw new IllegalArgumentException(
              "a row of " + (row.isArray() ? row.size() : "no") + " cells for "
                  + columnNames.size() + " columns");
        }
        Row.Builder values = Row.withSchema(schema);
        for (Schema.Field field : schema.getFields()) {
          Integer i = index.get(field.getName());
          values.addValue(i == null ? null : value(row.get(i), field.getType(), field.getName()));
        }
        result.add(values.build());
      } catch (RuntimeException e) {
        result.addUnmapped(row.toString(), e);
      }
    }
    return result.build();
  }

  /** A cell as the Java value of {@code type}. */
  static @Nullable Object value(JsonNode cell, Schema.FieldType type, String column) {
    if (cell == null || cell.isNull()) {
      return null;
    }
    try {
      if (type.getTypeName() == Schema.TypeName.LOGICAL_TYPE) {
        return Instant.parse(cell.asText());
      }
      switch (type.getTypeName()) {
        case STRING:
          return cell.isTextual() ? cell.asText() : cell.toString();
        case INT32:
          return cell.isIntegralNumber() ? cell.bigIntegerValue().intValueExact() : Integer.parseInt(cell.asText().trim());
        case INT64:
          return cell.isIntegralNumber()
              ? cell.bigIntegerValue().longValueExact()
              : Long.parseLong(cell.asText().trim());
        case DOUBLE:
          return cell.isNumber() ? cell.doubleValue() : Double.parseDouble(cell.asText().trim());
        case BOOLEAN:
          if (cell.isBoolean()) {
            return cell.booleanValue();
          }
          if (cell.isIntegralNumber() && (cell.asInt() == 0 || cell.asInt() == 1)) {
            return cell.asInt() == 1;
          }
          throw new IllegalArgumentException("not a bool: " + cell);
        case DECIMAL:
          return cell.isNumber() ? cell.decimalValue() : new BigDecimal(cell.asText().trim());
        default:
          throw new IllegalArgumentException("no conversion to " + type);
      }
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(
          "column " + column + ": can't read " + abbreviate(cell.toString()) + " as " + type + ": " + e.getMessage(), e);
    }
  }

  private static String abbreviate(String s) {
    return s.length() <= 100 ? s : s.substring(0, 100) + "…";
  }
}
