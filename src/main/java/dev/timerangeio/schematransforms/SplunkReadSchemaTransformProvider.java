package dev.timerangeio.schematransforms;

import com.google.auto.value.AutoValue;
import dev.timerangeio.TimeRangeIO;
import dev.timerangeio.splunk.SplunkSearchQuery;
import java.time.Duration;
import java.util.List;
import org.apache.beam.sdk.schemas.AutoValueSchema;
import org.apache.beam.sdk.schemas.annotations.DefaultSchema;
import org.apache.beam.sdk.schemas.annotations.SchemaFieldDescription;
import org.apache.beam.sdk.schemas.transforms.providers.ErrorHandling;
import org.apache.beam.sdk.values.Row;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * {@code beam:schematransform:dev.timerangeio:splunk_read:v1}: {@link SplunkSearchQuery} (the
 * search export endpoint, SPL) read by {@link TimeRangeIO#read()}.
 */
public class SplunkReadSchemaTransformProvider
    extends ReadSchemaTransformProvider<SplunkReadSchemaTransformProvider.Configuration> {
  public static final String IDENTIFIER = "beam:schematransform:dev.timerangeio:splunk_read:v1";

  @Override
  public String identifier() {
    return IDENTIFIER;
  }

  @Override
  public String description() {
    return "Reads the events an SPL search returns for [start_time, end_time) from Splunk's export"
               + " endpoint with TimeRangeIO. With progress_location it also outputs 'progress',"
               + " for the jdbc_write with the same location.";
  }

  @Override
  TimeRangeIO.Read<Row> read(Configuration configuration) {
    return TimeRangeIO.<Row>read().withQuery(configuration.query());
  }

  /** The configuration row: {@link SplunkSearchQuery}'s and {@link TimeRangeIO.Read}'s names. */
  @DefaultSchema(AutoValueSchema.class)
  @AutoValue
  public abstract static class Configuration implements ReadOptions {
    @SchemaFieldDescription("forSearch: splunkd's base URL, https://host:8089.")
    public abstract String getUrl();

    @SchemaFieldDescription("forSearch: the SPL search.")
    public abstract String getSearch();

    @SchemaFieldDescription("Secret: env:NAME, file:PATH, or the token itself.")
    public abstract @Nullable String getToken();

    @SchemaFieldDescription("withAuthScheme: Splunk (default) or Bearer.")
    public abstract @Nullable String getAuthScheme();

    @SchemaFieldDescription("withIndexTime: query by _indextime (false).")
    public abstract @Nullable Boolean getIndexTime();

    @SchemaFieldDescription("withFields: the fields of each row.")
    public abstract @Nullable List<String> getFields();

    @SchemaFieldDescription("withRequestTimeout, an ISO-8601 duration.")
    public abstract @Nullable String getRequestTimeout();

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

    /** The query, built (and so checked) by {@link SplunkSearchQuery}'s own methods. */
    SplunkSearchQuery query() {
      SplunkSearchQuery query = SplunkSearchQuery.forSearch(getUrl(), getSearch());
      if (getToken() != null) {
        query = query.withToken(ReadSettings.secret(getToken()));
      }
      if (getAuthScheme() != null) {
        query = query.withAuthScheme(getAuthScheme());
      }
      if (Boolean.TRUE.equals(getIndexTime())) {
        query = query.withIndexTime();
      }
      if (getFields() != null) {
        query = query.withFields(getFields().toArray(new String[0]));
      }
      Duration timeout = ReadSettings.duration("request_timeout", getRequestTimeout());
      if (timeout != null) {
        query = query.withRequestTimeout(timeout);
      }
      return query;
    }

    public static Builder builder() {
      return new AutoValue_SplunkReadSchemaTransformProvider_Configuration.Builder();
    }

    /** Builds a configuration, as a Java user of the schema transform would. */
    @AutoValue.Builder
    public abstract static class Builder {
      public abstract Builder setUrl(String value);

      public abstract Builder setSearch(String value);

      public abstract Builder setToken(@Nullable String value);

      public abstract Builder setAuthScheme(@Nullable String value);

      public abstract Builder setIndexTime(@Nullable Boolean value);

      public abstract Builder setFields(@Nullable List<String> value);

      public abstract Builder setRequestTimeout(@Nullable String value);

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
