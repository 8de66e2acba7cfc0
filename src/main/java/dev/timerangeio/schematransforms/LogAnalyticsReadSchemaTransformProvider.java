package dev.timerangeio.schematransforms;

import com.google.auto.value.AutoValue;
import dev.timerangeio.TimeRangeIO;
import dev.timerangeio.loganalytics.LogAnalyticsQuery;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import org.apache.beam.sdk.schemas.AutoValueSchema;
import org.apache.beam.sdk.schemas.annotations.DefaultSchema;
import org.apache.beam.sdk.schemas.annotations.SchemaFieldDescription;
import org.apache.beam.sdk.schemas.annotations.SchemaFieldName;
import org.apache.beam.sdk.schemas.transforms.SchemaTransform;
import org.apache.beam.sdk.schemas.transforms.TypedSchemaTransformProvider;
import org.apache.beam.sdk.schemas.transforms.providers.ErrorHandling;
import org.apache.beam.sdk.values.PCollectionRowTuple;
import org.apache.beam.sdk.values.Row;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * {@code beam:schematransform:dev.timerangeio:log_analytics_read:v1}: {@link LogAnalyticsQuery} (Azure Monitor Log
 * Analytics, KQL) read by {@link TimeRangeIO#read()}; the rows' schema is learnt from the service
 * while the transform is expanded.
 */
public class LogAnalyticsReadSchemaTransformProvider
    extends TypedSchemaTransformProvider<LogAnalyticsReadSchemaTransformProvider.Configuration> {
  public static final String IDENTIFIER = "beam:schematransform:dev.timerangeio:log_analytics_read:v1";

  @Override
  public String identifier() {
    return IDENTIFIER;
  }

  @Override
  public String description() {
    return "Reads the rows a KQL query returns for [start_time, end_time) from Azure Monitor Log Analytics with TimeRangeIO. With progress_location it also outputs 'progress', for the jdbc_write with the same location.";
  }

  @Override
  public List<String> inputCollectionNames() {
    return Collections.emptyList();
  }

  @Override
  public List<String> outputCollectionNames() {
    return List.of(ReadSettings.OUTPUT, ReadSettings.PROGRESS);
  }

  @Override
  protected SchemaTransform from(Configuration configuration) {
    LogAnalyticsQuery query = configuration.query();
    return new SchemaTransform() {
      @Override
      public PCollectionRowTuple expand(PCollectionRowTuple input) {
        return ReadSettings.expand(input, TimeRangeIO.<Row>read().withQuery(query), configuration);
      }
    };
  }

  /** The configuration row: {@link LogAnalyticsQuery}'s and {@link TimeRangeIO.Read}'s names. */
  @DefaultSchema(AutoValueSchema.class)
  @AutoValue
  public abstract static class Configuration implements ReadOptions {
    @SchemaFieldName("workspace_id")
    @SchemaFieldDescription("forWorkspace: the workspace id; or resource_id.")
    public abstract @Nullable String getWorkspaceId();

    @SchemaFieldName("resource_id")
    @SchemaFieldDescription("forResource: an Azure resource id; or workspace_id.")
    public abstract @Nullable String getResourceId();

    @SchemaFieldName("kql")
    public abstract String getKql();

    @SchemaFieldName("time_column")
    @SchemaFieldDescription("withTimeColumn (TimeGenerated).")
    public abstract @Nullable String getTimeColumn();

    @SchemaFieldName("tenant_id")
    public abstract @Nullable String getTenantId();

    @SchemaFieldName("client_id")
    public abstract @Nullable String getClientId();

    @SchemaFieldName("client_secret")
    @SchemaFieldDescription("Secret: env:NAME, file:PATH, or the client secret itself.")
    public abstract @Nullable String getClientSecret();

    @SchemaFieldName("cloud")
    @SchemaFieldDescription("withCloud: PUBLIC, US_GOVERNMENT or CHINA.")
    public abstract @Nullable String getCloud();

    @SchemaFieldName("endpoint")
    public abstract @Nullable String getEndpoint();

    @SchemaFieldName("authority_host")
    public abstract @Nullable String getAuthorityHost();

    @SchemaFieldName("request_timeout")
    @SchemaFieldDescription("withRequestTimeout, an ISO-8601 duration.")
    public abstract @Nullable String getRequestTimeout();

    @Override
    @SchemaFieldName("start_time")
    @SchemaFieldDescription("\"earliest\", \"latest\" or an ISO-8601 instant.")
    public abstract @Nullable String getStartTime();

    @Override
    @SchemaFieldName("end_time")
    @SchemaFieldDescription("An ISO-8601 instant; set: a bounded read.")
    public abstract @Nullable String getEndTime();

    @Override
    @SchemaFieldName("partition_duration")
    public abstract @Nullable String getPartitionDuration();

    @Override
    @SchemaFieldName("ingestion_lag")
    public abstract @Nullable String getIngestionLag();

    @Override
    @SchemaFieldName("poll_interval")
    public abstract @Nullable String getPollInterval();

    @Override
    @SchemaFieldName("progress_location")
    public abstract @Nullable String getProgressLocation();

    @Override
    @SchemaFieldName("max_rows_per_query")
    public abstract @Nullable Long getMaxRowsPerQuery();

    @Override
    @SchemaFieldName("max_retries")
    public abstract @Nullable Integer getMaxRetries();

    @Override
    @SchemaFieldName("error_handling")
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
  }
}
