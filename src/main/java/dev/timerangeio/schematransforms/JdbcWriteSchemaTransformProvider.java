package dev.timerangeio.schematransforms;

import com.google.auto.value.AutoValue;
import dev.timerangeio.ProgressSignals;
import dev.timerangeio.TimeRangeIO;
import dev.timerangeio.jdbc.JdbcIdempotentSink;
import java.time.Duration;
import java.time.ZoneId;
import java.util.List;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CoderException;
import org.apache.beam.sdk.schemas.AutoValueSchema;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.schemas.annotations.DefaultSchema;
import org.apache.beam.sdk.schemas.annotations.SchemaFieldDescription;
import org.apache.beam.sdk.schemas.transforms.SchemaTransform;
import org.apache.beam.sdk.schemas.transforms.TypedSchemaTransformProvider;
import org.apache.beam.sdk.schemas.transforms.providers.ErrorHandling;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.errorhandling.BadRecord;
import org.apache.beam.sdk.util.CoderUtils;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionRowTuple;
import org.apache.beam.sdk.values.Row;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * {@code beam:schematransform:dev.timerangeio:jdbc_write:v1}: {@link TimeRangeIO#write()} into
 * {@link JdbcIdempotentSink#forRows}, each row once by its idempotency key. With {@code
 * progress_location}, its {@code progress} input must be the {@code progress} output of the read
 * with the same location: the write commits that read's chunks once the table holds their rows, and
 * a relaunch resumes there ({@link ProgressSignals}); this works across two separate cross-language
 * expansions, which no JVM-wide pairing could.
 */
public class JdbcWriteSchemaTransformProvider
    extends TypedSchemaTransformProvider<JdbcWriteSchemaTransformProvider.Configuration> {
  public static final String IDENTIFIER = "beam:schematransform:dev.timerangeio:jdbc_write:v1";

  /** The rows to write. */
  static final String INPUT = "input";

  /** The idempotency keys of the rows the table acknowledged. */
  static final String WRITTEN = "written";

  /** The schema of {@link #WRITTEN}. */
  static final Schema WRITTEN_SCHEMA = Schema.builder().addStringField("idempotency_key").build();

  @Override
  public String identifier() {
    return IDENTIFIER;
  }

  @Override
  public String description() {
    return "Writes rows into a table exactly once by idempotency key with TimeRangeIO. With"
        + " progress_location, wire the read's 'progress' output into the 'progress' input: the"
        + " write commits the read's position once the table holds its rows.";
  }

  @Override
  public List<String> inputCollectionNames() {
    return List.of(INPUT, ReadSettings.PROGRESS);
  }

  @Override
  public List<String> outputCollectionNames() {
    return List.of(WRITTEN);
  }

  @Override
  protected SchemaTransform from(Configuration configuration) {
    JdbcIdempotentSink<Row> sink = configuration.sink();
    TimeRangeIO.Write<Row> write = configuration.write(sink);
    return new SchemaTransform() {
      @Override
      public PCollectionRowTuple expand(PCollectionRowTuple input) {
        if (!input.has(INPUT)) {
          throw new IllegalArgumentException("jdbc_write: needs its input '" + INPUT + "'");
        }
        PCollection<Row> rows = input.get(INPUT);
        String location = configuration.getProgressLocation();
        if (location != null) {
          if (!input.has(ReadSettings.PROGRESS)) {
            throw new IllegalArgumentException(
                "progress_location("
                    + location
                    + "): the write needs the 'progress' output of the read with this progress"
                    + " location as its '"
                    + ReadSettings.PROGRESS
                    + "' input");
          }
          ProgressSignals.pairWrite(input.get(ReadSettings.PROGRESS), rows, location);
        }
        TimeRangeIO.Write.Result result = rows.apply("TimeRangeIO.write", write);
        PCollectionRowTuple outputs =
            PCollectionRowTuple.of(
                WRITTEN,
                result
                    .getWrittenKeys()
                    .apply(
                        "WrittenKeysToRows",
                        MapElements.into(TypeDescriptors.rows())
                            .via(key -> Row.withSchema(WRITTEN_SCHEMA).addValue(key).build()))
                    .setRowSchema(WRITTEN_SCHEMA));
        String errors = ErrorHandling.getOutputOrNull(configuration.getErrorHandling());
        PCollection<Row> failed =
            result
                .getFailedRecords()
                .apply(
                    "FailedRecordsToRows",
                    ParDo.of(new ErrorRowFn(rows.getCoder(), errors != null)))
                .setRowSchema(ErrorHandling.errorSchema(rows.getSchema()));
        return errors == null ? outputs : outputs.and(errors, failed);
      }
    };
  }

  /**
   * A record the table rejected, as Beam's error row (the row and the message); without an error
   * output, a failure of the pipeline rather than a record silently dropped.
   */
  private static final class ErrorRowFn extends DoFn<BadRecord, Row> {
    private final Coder<Row> rowCoder;
    private final boolean hasErrorOutput;

    ErrorRowFn(Coder<Row> rowCoder, boolean hasErrorOutput) {
      this.rowCoder = rowCoder;
      this.hasErrorOutput = hasErrorOutput;
    }

    @ProcessElement
    public void process(@Element BadRecord bad, OutputReceiver<Row> out) throws CoderException {
      String message = bad.getFailure().getDescription();
      if (!hasErrorOutput) {
        throw new IllegalStateException(
            "jdbc_write: the table rejected a record ("
                + message
                + "); set error_handling: {output: NAME} to receive rejected records instead");
      }
      Row row = CoderUtils.decodeFromByteArray(rowCoder, bad.getRecord().getEncodedRecord());
      Schema errorSchema = ErrorHandling.errorSchema(row.getSchema());
      out.output(Row.withSchema(errorSchema).addValues(row, message).build());
    }
  }

  /** The key of a row: the row of its {@code key_fields}, so a key depends on those alone. */
  private static final class KeyFields implements SerializableFunction<Row, Row> {
    private final List<String> fields;

    KeyFields(List<String> fields) {
      this.fields = fields;
    }

    @Override
    public Row apply(Row row) {
      Schema.Builder schema = Schema.builder();
      for (String field : fields) {
        schema.addField(row.getSchema().getField(field));
      }
      Row.Builder key = Row.withSchema(schema.build());
      for (String field : fields) {
        key.addValue(row.getValue(field));
      }
      return key.build();
    }
  }

  /** The configuration row: {@link JdbcIdempotentSink}'s and {@link TimeRangeIO.Write}'s names. */
  @DefaultSchema(AutoValueSchema.class)
  @AutoValue
  public abstract static class Configuration {
    @SchemaFieldDescription("The JDBC URL (PostgreSQL, MariaDB/MySQL, H2 drivers are bundled).")
    public abstract String getJdbcUrl();

    public abstract String getTable();

    public abstract @Nullable String getUsername();

    @SchemaFieldDescription("Secret: env:NAME, file:PATH, or the password itself.")
    public abstract @Nullable String getPassword();

    @SchemaFieldDescription("withKeyColumn: the primary-key column of idempotency keys.")
    public abstract @Nullable String getKeyColumn();

    @SchemaFieldDescription("withCreateTable: create the table from the rows' schema if absent.")
    public abstract @Nullable Boolean getCreateTable();

    public abstract @Nullable String getZone();

    public abstract @Nullable Integer getMaxConnections();

    public abstract @Nullable String getQueryTimeout();

    @SchemaFieldDescription("withKeyFn: the fields that identify a record (default: all).")
    public abstract @Nullable List<String> getKeyFields();

    public abstract @Nullable String getSourceIdentity();

    public abstract @Nullable String getDedupTtl();

    public abstract @Nullable Integer getBatchSize();

    public abstract @Nullable String getMaxBatchDelay();

    public abstract @Nullable Integer getMaxRetries();

    @SchemaFieldDescription("The read's progress location; wire its 'progress' output here.")
    public abstract @Nullable String getProgressLocation();

    public abstract @Nullable ErrorHandling getErrorHandling();

    JdbcIdempotentSink<Row> sink() {
      JdbcIdempotentSink<Row> sink = JdbcIdempotentSink.forRows(getJdbcUrl(), getTable());
      if (getUsername() != null) {
        sink = sink.withUsername(getUsername());
      }
      if (getPassword() != null) {
        sink = sink.withPassword(ReadSettings.secret(getPassword()));
      }
      if (getKeyColumn() != null) {
        sink = sink.withKeyColumn(getKeyColumn());
      }
      if (getCreateTable() != null) {
        sink = sink.withCreateTable(getCreateTable());
      }
      if (getZone() != null) {
        sink = sink.withZone(ZoneId.of(getZone()));
      }
      if (getMaxConnections() != null) {
        sink = sink.withMaxConnections(getMaxConnections());
      }
      Duration timeout = ReadSettings.duration("query_timeout", getQueryTimeout());
      if (timeout != null) {
        sink = sink.withQueryTimeout(timeout);
      }
      return sink;
    }

    TimeRangeIO.Write<Row> write(JdbcIdempotentSink<Row> sink) {
      TimeRangeIO.Write<Row> write = TimeRangeIO.<Row>write().to(sink);
      if (getKeyFields() != null) {
        if (getKeyFields().isEmpty()) {
          throw new IllegalArgumentException("key_fields: name at least one field, got []");
        }
        write = write.withKeyFn(new KeyFields(getKeyFields()));
      }
      if (getSourceIdentity() != null) {
        write = write.withSourceIdentity(getSourceIdentity());
      }
      Duration ttl = ReadSettings.duration("dedup_ttl", getDedupTtl());
      if (ttl != null) {
        write = write.withDedupTtl(ttl);
      }
      if (getBatchSize() != null) {
        write = write.withBatchSize(getBatchSize());
      }
      Duration delay = ReadSettings.duration("max_batch_delay", getMaxBatchDelay());
      if (delay != null) {
        write = write.withMaxBatchDelay(delay);
      }
      if (getMaxRetries() != null) {
        write = write.withMaxRetries(getMaxRetries());
      }
      if (getProgressLocation() != null) {
        write = write.withProgressLocation(getProgressLocation());
      }
      return write;
    }

    public static Builder builder() {
      return new AutoValue_JdbcWriteSchemaTransformProvider_Configuration.Builder();
    }

    /** Builds a configuration, as a Java user of the schema transform would. */
    @AutoValue.Builder
    public abstract static class Builder {
      public abstract Builder setJdbcUrl(String value);

      public abstract Builder setTable(String value);

      public abstract Builder setUsername(@Nullable String value);

      public abstract Builder setPassword(@Nullable String value);

      public abstract Builder setKeyColumn(@Nullable String value);

      public abstract Builder setCreateTable(@Nullable Boolean value);

      public abstract Builder setZone(@Nullable String value);

      public abstract Builder setMaxConnections(@Nullable Integer value);

      public abstract Builder setQueryTimeout(@Nullable String value);

      public abstract Builder setKeyFields(@Nullable List<String> value);

      public abstract Builder setSourceIdentity(@Nullable String value);

      public abstract Builder setDedupTtl(@Nullable String value);

      public abstract Builder setBatchSize(@Nullable Integer value);

      public abstract Builder setMaxBatchDelay(@Nullable String value);

      public abstract Builder setMaxRetries(@Nullable Integer value);

      public abstract Builder setProgressLocation(@Nullable String value);

      public abstract Builder setErrorHandling(@Nullable ErrorHandling value);

      public abstract Configuration build();
    }
  }
}
