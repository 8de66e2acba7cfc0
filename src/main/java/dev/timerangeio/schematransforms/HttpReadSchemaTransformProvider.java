package dev.timerangeio.schematransforms;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.auto.value.AutoValue;
import dev.timerangeio.TimeRangeIO;
import dev.timerangeio.http.HttpTimeRangeQuery;
import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.beam.sdk.coders.RowCoder;
import org.apache.beam.sdk.schemas.AutoValueSchema;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.schemas.annotations.DefaultSchema;
import org.apache.beam.sdk.schemas.annotations.SchemaFieldDescription;
import org.apache.beam.sdk.schemas.transforms.providers.ErrorHandling;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.util.RowJson;
import org.apache.beam.sdk.util.RowJsonUtils;
import org.apache.beam.sdk.values.Row;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * {@code beam:schematransform:dev.timerangeio:http_read:v1}: {@link HttpTimeRangeQuery#get} read by
 * {@link TimeRangeIO#read()}, each JSON record a {@link Row} of the configured schema (a JSON
 * Schema object: {@code string}, {@code integer}, {@code number}, {@code boolean} properties; a
 * property not {@code required} is nullable), stamped with the field {@code time_field}.
 */
public class HttpReadSchemaTransformProvider
    extends ReadSchemaTransformProvider<HttpReadSchemaTransformProvider.Configuration> {
  public static final String IDENTIFIER = "beam:schematransform:dev.timerangeio:http_read:v1";

  @Override
  public String identifier() {
    return IDENTIFIER;
  }

  @Override
  public String description() {
    return "Reads the JSON records a REST API returns for [from, to) with TimeRangeIO. With"
        + " progress_location it also outputs 'progress', for the jdbc_write with the same"
        + " location.";
  }

  @Override
  TimeRangeIO.Read<Row> read(Configuration configuration) {
    Schema schema = schemaOf(configuration.getSchema());
    String timeField = configuration.getTimeField();
    if (!schema.hasField(timeField)
        || !Set.of(Schema.TypeName.STRING, Schema.TypeName.INT64)
            .contains(schema.getField(timeField).getType().getTypeName())) {
      throw new IllegalArgumentException(
          "time_field: \""
              + timeField
              + "\" must name a string (ISO-8601) or integer (epoch microseconds) property of the"
              + " schema, whose fields are "
              + schema.getFieldNames());
    }
    return TimeRangeIO.<Row>read()
        .withQuery(configuration.query(schema))
        .withCoder(RowCoder.of(schema))
        .withTimestampFn(new TimeOf(timeField));
  }

  /** A Beam schema from a JSON Schema object's properties, in their order. */
  static Schema schemaOf(String jsonSchema) {
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(jsonSchema);
    } catch (Exception e) {
      throw new IllegalArgumentException("schema: not JSON: " + e.getMessage());
    }
    JsonNode properties = root.path("properties");
    if (!properties.isObject() || properties.isEmpty()) {
      throw new IllegalArgumentException(
          "schema: a JSON Schema object with \"properties\" is required, got " + jsonSchema);
    }
    Set<String> required = new TreeSet<>();
    root.path("required").forEach(name -> required.add(name.asText()));
    Schema.Builder schema = Schema.builder();
    for (Iterator<Map.Entry<String, JsonNode>> it = properties.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> property = it.next();
      String type = property.getValue().path("type").asText();
      Schema.FieldType fieldType;
      switch (type) {
        case "string":
          fieldType = Schema.FieldType.STRING;
          break;
        case "integer":
          fieldType = Schema.FieldType.INT64;
          break;
        case "number":
          fieldType = Schema.FieldType.DOUBLE;
          break;
        case "boolean":
          fieldType = Schema.FieldType.BOOLEAN;
          break;
        default:
          throw new IllegalArgumentException(
              "schema: property \""
                  + property.getKey()
                  + "\" has type \""
                  + type
                  + "\"; allowed: string, integer, number, boolean");
      }
      schema.addField(
          Schema.Field.of(property.getKey(), fieldType)
              .withNullable(!required.contains(property.getKey())));
    }
    return schema.build();
  }

  /** A record's time: an ISO-8601 string or epoch microseconds. */
  private static final class TimeOf implements SerializableFunction<Row, Instant> {
    private final String field;

    TimeOf(String field) {
      this.field = field;
    }

    @Override
    public Instant apply(Row row) {
      Object value = row.getValue(field);
      if (value instanceof Long) {
        long micros = (Long) value;
        return Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L))
            .plusNanos(Math.floorMod(micros, 1_000_000L) * 1_000L);
      }
      return value == null ? null : Instant.parse((String) value);
    }
  }

  /** Binds each JSON record to a row of the schema, with Beam's {@link RowJson}. */
  private static final class RowMapper implements HttpTimeRangeQuery.RecordMapper<Row> {
    private final Schema schema;
    private transient @Nullable ObjectMapper json;

    RowMapper(Schema schema) {
      this.schema = schema;
    }

    @Override
    public Row map(JsonNode record) throws Exception {
      if (json == null) {
        json = RowJsonUtils.newObjectMapperWith(RowJson.RowJsonDeserializer.forSchema(schema));
      }
      return json.treeToValue(record, Row.class);
    }
  }

  /** The configuration row: {@link HttpTimeRangeQuery}'s and {@link TimeRangeIO.Read}'s names. */
  @DefaultSchema(AutoValueSchema.class)
  @AutoValue
  public abstract static class Configuration implements ReadOptions {
    @SchemaFieldDescription("get: the URL template, with {from} and {to}.")
    public abstract String getUrl();

    @SchemaFieldDescription("A JSON Schema object: the records' properties and types.")
    public abstract String getSchema();

    @SchemaFieldDescription("The property holding a record's time (ISO-8601 or epoch micros).")
    public abstract String getTimeField();

    @SchemaFieldDescription("withRecordsPointer: a JSON pointer to the records array.")
    public abstract @Nullable String getRecordsPointer();

    @SchemaFieldDescription("withTimeFormat: ISO_8601, EPOCH_MICROS, EPOCH_MILLIS, EPOCH_SECONDS.")
    public abstract @Nullable String getTimeFormat();

    @SchemaFieldDescription("withTimeFormat's record time pointer, for the coarse formats.")
    public abstract @Nullable String getRecordTimePointer();

    public abstract @Nullable String getNextLinkPointer();

    @SchemaFieldDescription("withNextPageToken: a JSON pointer to the next page's token.")
    public abstract @Nullable String getNextPageTokenPointer();

    @SchemaFieldDescription("withNextPageToken: the query parameter the token goes into.")
    public abstract @Nullable String getNextPageTokenParameter();

    @SchemaFieldDescription("withJsonLines: one JSON record a line.")
    public abstract @Nullable Boolean getJsonLines();

    public abstract @Nullable Map<String, String> getHeaders();

    @SchemaFieldDescription("withSecretHeader; values: env:NAME, file:PATH, or the value.")
    public abstract @Nullable Map<String, String> getSecretHeaders();

    @SchemaFieldDescription("withTimeout, an ISO-8601 duration.")
    public abstract @Nullable String getTimeout();

    @Override
    @SchemaFieldDescription("\"earliest\", \"latest\" or an ISO-8601 instant.")
    public abstract @Nullable String getStartTime();

    @Override
    @SchemaFieldDescription("An ISO-8601 instant; set: a bounded read.")
    public abstract @Nullable String getEndTime();

    @Override
    public abstract @Nullable String getPartitionDuration();

    @Override
    public abstract @Nullable String getIngestionLag();

    @Override
    public abstract @Nullable String getPollInterval();

    @Override
    public abstract @Nullable String getProgressLocation();

    @Override
    public abstract @Nullable Long getMaxRowsPerQuery();

    @Override
    public abstract @Nullable Integer getMaxRetries();

    @Override
    public abstract @Nullable ErrorHandling getErrorHandling();

    /** The query, built (and so checked) by {@link HttpTimeRangeQuery}'s own methods. */
    HttpTimeRangeQuery<Row> query(Schema schema) {
      HttpTimeRangeQuery<Row> query = HttpTimeRangeQuery.get(getUrl(), new RowMapper(schema));
      if (getRecordsPointer() != null) {
        query = query.withRecordsPointer(getRecordsPointer());
      }
      if (getTimeFormat() != null) {
        HttpTimeRangeQuery.TimeFormat format =
            HttpTimeRangeQuery.TimeFormat.valueOf(getTimeFormat());
        query =
            getRecordTimePointer() == null
                ? query.withTimeFormat(format)
                : query.withTimeFormat(format, getRecordTimePointer());
      }
      if (getNextLinkPointer() != null) {
        query = query.withNextLinkPointer(getNextLinkPointer());
      }
      if (getNextPageTokenPointer() != null || getNextPageTokenParameter() != null) {
        query = query.withNextPageToken(getNextPageTokenPointer(), getNextPageTokenParameter());
      }
      if (Boolean.TRUE.equals(getJsonLines())) {
        query = query.withJsonLines();
      }
      if (getHeaders() != null) {
        for (Map.Entry<String, String> header : getHeaders().entrySet()) {
          query = query.withHeader(header.getKey(), header.getValue());
        }
      }
      if (getSecretHeaders() != null) {
        for (Map.Entry<String, String> header : getSecretHeaders().entrySet()) {
          query = query.withSecretHeader(header.getKey(), ReadSettings.secret(header.getValue()));
        }
      }
      Duration timeout = ReadSettings.duration("timeout", getTimeout());
      if (timeout != null) {
        query = query.withTimeout(timeout);
      }
      return query;
    }

    public static Builder builder() {
      return new AutoValue_HttpReadSchemaTransformProvider_Configuration.Builder();
    }

    /** Builds a configuration, as a Java user of the schema transform would. */
    @AutoValue.Builder
    public abstract static class Builder {
      public abstract Builder setUrl(String value);

      public abstract Builder setSchema(String value);

      public abstract Builder setTimeField(String value);

      public abstract Builder setRecordsPointer(@Nullable String value);

      public abstract Builder setTimeFormat(@Nullable String value);

      public abstract Builder setRecordTimePointer(@Nullable String value);

      public abstract Builder setNextLinkPointer(@Nullable String value);

      public abstract Builder setNextPageTokenPointer(@Nullable String value);

      public abstract Builder setNextPageTokenParameter(@Nullable String value);

      public abstract Builder setJsonLines(@Nullable Boolean value);

      public abstract Builder setHeaders(@Nullable Map<String, String> value);

      public abstract Builder setSecretHeaders(@Nullable Map<String, String> value);

      public abstract Builder setTimeout(@Nullable String value);

      public abstract Builder setStartTime(@Nullable String value);

      public abstract Builder setEndTime(@Nullable String value);

      public abstract Builder setPartitionDuration(@Nullable String value);

      public abstract Builder setIngestionLag(@Nullable String value);

      public abstract Builder setPollInterval(@Nullable String value);

      public abstract Builder setProgressLocation(@Nullable String value);

      public abstract Builder setMaxRowsPerQuery(@Nullable Long value);

      public abstract Builder setMaxRetries(@Nullable Integer value);

      public abstract Builder setErrorHandling(@Nullable ErrorHandling value);

      public abstract Configuration build();
    }
  }
}
