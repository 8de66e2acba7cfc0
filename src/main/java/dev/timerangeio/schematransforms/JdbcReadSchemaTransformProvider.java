package dev.timerangeio.schematransforms;

import com.google.auto.value.AutoValue;
import dev.timerangeio.TimeRangeIO;
import dev.timerangeio.jdbc.JdbcTimeRangeQuery;
import java.time.Duration;
import java.time.ZoneId;
import org.apache.beam.sdk.schemas.AutoValueSchema;
import org.apache.beam.sdk.schemas.annotations.DefaultSchema;
import org.apache.beam.sdk.schemas.annotations.SchemaFieldDescription;
import org.apache.beam.sdk.schemas.transforms.providers.ErrorHandling;
import org.apache.beam.sdk.values.Row;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * {@code beam:schematransform:dev.timerangeio:jdbc_read:v1}: {@link
 * JdbcTimeRangeQuery#forTableAsRows} read by {@link TimeRangeIO#read()}; the rows' schema is the
 * table's, learnt from the database while the transform is expanded.
 */
public class JdbcReadSchemaTransformProvider
    extends ReadSchemaTransformProvider<JdbcReadSchemaTransformProvider.Configuration> {
  public static final String IDENTIFIER = "beam:schematransform:dev.timerangeio:jdbc_read:v1";

  @Override
  public String identifier() {
    return IDENTIFIER;
  }

  @Override
  public String description() {
    return "Reads the rows of a table whose time column lies in [start_time, end_time) with"
        + " TimeRangeIO; without end_time it follows the clock. With progress_location it also"
        + " outputs 'progress', for the jdbc_write with the same location.";
  }

  @Override
  TimeRangeIO.Read<Row> read(Configuration configuration) {
    return TimeRangeIO.<Row>read().withQuery(configuration.query());
  }

  /** The configuration row: {@link JdbcTimeRangeQuery}'s and {@link TimeRangeIO.Read}'s names. */
  @DefaultSchema(AutoValueSchema.class)
  @AutoValue
  public abstract static class Configuration implements ReadOptions {
    @SchemaFieldDescription("The JDBC URL (PostgreSQL, MariaDB/MySQL, H2 drivers are bundled).")
    public abstract String getJdbcUrl();

    @SchemaFieldDescription("The table to read.")
    public abstract String getTable();

    @SchemaFieldDescription("The column holding each row's time (withTimeColumn).")
    public abstract String getTimeColumn();

    @SchemaFieldDescription("withTieBreakerColumn: pages a crowded microsecond by this column.")
    public abstract @Nullable String getTieBreakerColumn();

    public abstract @Nullable String getUsername();

    @SchemaFieldDescription("Secret: env:NAME, file:PATH, or the password itself.")
    public abstract @Nullable String getPassword();

    @SchemaFieldDescription("withZone: the zone of TIMESTAMP WITHOUT TIME ZONE values (UTC).")
    public abstract @Nullable String getZone();

    public abstract @Nullable Integer getFetchSize();

    @SchemaFieldDescription("withQueryTimeout, an ISO-8601 duration (PT5M).")
    public abstract @Nullable String getQueryTimeout();

    public abstract @Nullable Integer getMaxConnections();

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

    /** The query, built (and so checked) by {@link JdbcTimeRangeQuery}'s own methods. */
    JdbcTimeRangeQuery<Row> query() {
      JdbcTimeRangeQuery<Row> query =
          JdbcTimeRangeQuery.forTableAsRows(getJdbcUrl(), getTable(), getTimeColumn());
      if (getTieBreakerColumn() != null) {
        query = query.withTieBreakerColumn(getTieBreakerColumn());
      }
      if (getUsername() != null) {
        query = query.withUsername(getUsername());
      }
      if (getPassword() != null) {
        query = query.withPassword(ReadSettings.secret(getPassword()));
      }
      if (getZone() != null) {
        query = query.withZone(ZoneId.of(getZone()));
      }
      if (getFetchSize() != null) {
        query = query.withFetchSize(getFetchSize());
      }
      Duration timeout = ReadSettings.duration("query_timeout", getQueryTimeout());
      if (timeout != null) {
        query = query.withQueryTimeout(timeout);
      }
      if (getMaxConnections() != null) {
        query = query.withMaxConnections(getMaxConnections());
      }
      return query;
    }

    public static Builder builder() {
      return new AutoValue_JdbcReadSchemaTransformProvider_Configuration.Builder();
    }

    /** Builds a configuration, as a Java user of the schema transform would. */
    @AutoValue.Builder
    public abstract static class Builder {
      public abstract Builder setJdbcUrl(String value);

      public abstract Builder setTable(String value);

      public abstract Builder setTimeColumn(String value);

      public abstract Builder setTieBreakerColumn(@Nullable String value);

      public abstract Builder setUsername(@Nullable String value);

      public abstract Builder setPassword(@Nullable String value);

      public abstract Builder setZone(@Nullable String value);

      public abstract Builder setFetchSize(@Nullable Integer value);

      public abstract Builder setQueryTimeout(@Nullable String value);

      public abstract Builder setMaxConnections(@Nullable Integer value);

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
