package dev.timerangeio.schematransforms;

import com.google.auto.value.AutoValue;
import dev.timerangeio.TimeRangeIO;
import dev.timerangeio.loganalytics.LogAnalyticsQuery;
import java.time.Duration;
import org.apache.beam.sdk.schemas.AutoValueSchema;
import org.apache.beam.sdk.schemas.annotations.DefaultSchema;
import org.apache.beam.sdk.schemas.annotations.SchemaFieldDescription;
import org.apache.beam.sdk.schemas.transforms.providers.ErrorHandling;
import org.apache.beam.sdk.values.Row;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * {@code beam:schematransform:dev.timerangeio:log_analytics_read:v1}: {@link LogAnalyticsQuery}
 * (Azure Monitor Log Analytics, KQL) read by {@link TimeRangeIO#read()}; the rows' schema is learnt
 * from the service while the transform is expanded.
 */
public class LogAnalyticsReadSchemaTransformProvider
    extends ReadSchemaTransformProvider<LogAnalyticsReadSchemaTransformProvider.Configuration> {
  public static final String IDENTIFIER =
      "beam:schematransform:dev.timerangeio:log_analytics_read:v1";

  @Override
  public String identifier() {
    return IDENTIFIER;
  }

  @Override
  public String description() {
    return "Reads the rows a KQL query returns for [start_time, end_time) from Azure Monitor Log"
               + " Analytics with TimeRangeIO. With progress_location it also outputs 'progress',"
               + " for the jdbc_write with the same location.";
  }

  @Override
  TimeRangeIO.Read<Row> read(Configuration configuration) {
    return TimeRangeIO.<Row>read().withQuery(configuration.query());
  }

  /** The configuration row: {@link LogAnalyticsQuery}'s and {@link TimeRangeIO.Read}'s names. */
  @DefaultSchema(AutoValueSchema.class)
  @AutoValue
  public abstract static class Configuration implements ReadOptions {
    @SchemaFieldDescription("forWorkspace: the workspace id; or resource_id.")
    public abstract @Nullable String getWorkspaceId();

    @SchemaFieldDescription("forResource: an Azure resource id; or workspace_id.")
    public abstract @Nullable String getResourceId();

    public abstract String getKql();

    @SchemaFieldDescription("withTimeColumn (TimeGenerated).")
    public abstract @Nullable String getTimeColumn();

    public abstract @Nullable String getTenantId();

    public abstract @Nullable String getClientId();

    @SchemaFieldDescription("Secret: env:NAME, file:PATH, or the client secret itself.")
    public abstract @Nullable String getClientSecret();

    @SchemaFieldDescription("withCloud: PUBLIC, US_GOVERNMENT or CHINA.")
    public abstract @Nullable String getCloud();

    public abstract @Nullable String getEndpoint();

    public abstract @Nullable String getAuthorityHost();

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

    /** The query, built (and so checked) by {@link LogAnalyticsQuery}'s own methods. */
    LogAnalyticsQuery query() {
      if ((getWorkspaceId() == null) == (getResourceId() == null)) {
        throw new IllegalArgumentException(
            "log_analytics_read: give exactly one of workspace_id (LogAnalyticsQuery.forWorkspace)"
                + " and resource_id (LogAnalyticsQuery.forResource)");
      }
      LogAnalyticsQuery query =
          getWorkspaceId() != null
              ? LogAnalyticsQuery.forWorkspace(getWorkspaceId(), getKql())
              : LogAnalyticsQuery.forResource(getResourceId(), getKql());
      if (getTimeColumn() != null) {
        query = query.withTimeColumn(getTimeColumn());
      }
      if (getCloud() != null) {
        query = query.withCloud(LogAnalyticsQuery.Cloud.valueOf(getCloud()));
      }
      if (getEndpoint() != null) {
        query = query.withEndpoint(getEndpoint());
      }
      if (getAuthorityHost() != null) {
        query = query.withAuthorityHost(getAuthorityHost());
      }
      if (getTenantId() != null || getClientId() != null || getClientSecret() != null) {
        query =
            query.withClientCredentials(
                getTenantId(), getClientId(), ReadSettings.secret(getClientSecret()));
      }
      Duration timeout = ReadSettings.duration("request_timeout", getRequestTimeout());
      if (timeout != null) {
        query = query.withRequestTimeout(timeout);
      }
      return query;
    }

    public static Builder builder() {
      return new AutoValue_LogAnalyticsReadSchemaTransformProvider_Configuration.Builder();
    }

    /** Builds a configuration, as a Java user of the schema transform would. */
    @AutoValue.Builder
    public abstract static class Builder {
      public abstract Builder setWorkspaceId(@Nullable String value);

      public abstract Builder setResourceId(@Nullable String value);

      public abstract Builder setKql(String value);

      public abstract Builder setTimeColumn(@Nullable String value);

      public abstract Builder setTenantId(@Nullable String value);

      public abstract Builder setClientId(@Nullable String value);

      public abstract Builder setClientSecret(@Nullable String value);

      public abstract Builder setCloud(@Nullable String value);

      public abstract Builder setEndpoint(@Nullable String value);

      public abstract Builder setAuthorityHost(@Nullable String value);

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
