package dev.timerangeio.loganalytics;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.auto.value.AutoValue;
import dev.timerangeio.LineageName;
import dev.timerangeio.ResultQuery;
import dev.timerangeio.Secrets;
import dev.timerangeio.TimeRange;
import dev.timerangeio.TransientSourceException;
import dev.timerangeio.http.ApiHttp;
import dev.timerangeio.http.OAuth2ClientCredentials;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Optional;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.transforms.display.HasDisplayData;
import org.apache.beam.sdk.util.Secret;
import org.apache.beam.sdk.values.Row;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Azure Monitor Log Analytics as a time-range source: a KQL query read chunk by chunk as Beam
 * {@link Row}s.
 *
 * <pre>{@code
 * pipeline.apply(
 *     TimeRangeIO.<Row>read()
 *         .withQuery(
 *             LogAnalyticsQuery.forWorkspace(workspaceId, "SigninLogs | project TimeGenerated, UserPrincipalName")
 *                 .withClientCredentials(tenantId, clientId, Secrets.fromEnvironment("LA_SECRET")))
 *         .withStartTime("earliest")
 *         .withIngestionLag(Duration.ofMinutes(5)));
 * }</pre>
 *
 * <p>Each chunk {@code [from, to)} sends {@code POST {endpoint}/v1/workspaces/{id}/query} (or
 * {@code /v1{resourceId}/query}) with {@code {"query": "<kql>\n| where <time column> >=
 * datetime(<from>) and <time column> < datetime(<to>)", "timespan": "<from>/<to>"}}: the {@code
 * where} makes the range half-open at the microsecond whatever the service does with {@code
 * timespan}'s end. ({@code timespan} filters {@code TimeGenerated}; it is sent only when that is
 * the time column, so a query by another column is not cut by it.) The KQL must keep the time
 * column. {@code earliest()} is {@code <kql>\n| summarize min(<time column>)}.
 *
 * <p>Rows have the answer's columns as their schema (see {@link LogAnalyticsAnswer} for the
 * types), learnt when the read is applied from {@code <kql>\n| take 0}, or given with {@link
 * #withSchema}. Records are stamped by the time column ({@link #recordTime()}).
 *
 * <p>Answers: 429 and 5xx (not 501) are transient, retried by the read honouring {@code
 * Retry-After}; a 200 whose {@code error} reports the result-size limit makes the read bisect the
 * range; any other partial answer fails the chunk naming its codes (never taken as complete); 400
 * fails naming the service's message; a 401 fetches a new token once, then fails as bad
 * credentials. Tokens come from Entra ID's client-credentials flow ({@link
 * OAuth2ClientCredentials}: one per worker, refreshed before expiry). The client secret and the
 * tokens appear in no display data, log line, message or {@code toString()}.
 */
@AutoValue
public abstract class LogAnalyticsQuery extends ResultQuery<Row> implements HasDisplayData {
  private static final long serialVersionUID = 1L;
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * The client secret as text, resolved once per copy (a Secret Manager secret is a network call),
   * for scrubbing it from messages.
   */
  private transient @Nullable String clientSecretText;

  private String clientSecretText(OAuth2ClientCredentials credentials) {
    if (clientSecretText == null) {
      clientSecretText = credentials.resolveClientSecret();
    }
    return clientSecretText;
  }

  /** The schema learnt once per copy (when the read is applied, then once per worker copy). */
  private transient @Nullable Schema learnedSchema;
  private static final DateTimeFormatter MICROS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'").withZone(ZoneOffset.UTC);

  /** Default of {@link #withTimeColumn}. */
  public static final String DEFAULT_TIME_COLUMN = "TimeGenerated";
  /** Default of {@link #withRequestTimeout}: the service's longest query (10 min) and some. */
  public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofMinutes(11);
  /** Default of {@link #withMaxResponseBytes}: above the service's ~100 MiB answers. */
  public static final long DEFAULT_MAX_RESPONSE_BYTES = 128L << 20;

  /** The Azure clouds and their hosts, as the service documents them. */
  public enum Cloud {
    PUBLIC("https://login.microsoftonline.com", "https://api.loganalytics.io"),
    US_GOVERNMENT("https://login.microsoftonline.us", "https://api.loganalytics.us"),
    CHINA("https://login.chinacloudapi.cn", "https://api.loganalytics.azure.cn");

    final String authorityHost;
    final String endpoint;

    Cloud(String authorityHost, String endpoint) {
      this.authorityHost = authorityHost;
      this.endpoint = endpoint;
    }

    /** The token scope of this cloud's Log Analytics API. */
    String scope() {
      return endpoint + "/.default";
    }
  }

  abstract String getTarget();

  abstract boolean isResource();

  abstract String getKql();

  abstract String getTimeColumn();

  abstract Cloud getCloud();

  abstract @Nullable String getEndpoint();

  abstract @Nullable String getAuthorityHost();

  abstract @Nullable String getTenantId();

  abstract @Nullable String getClientId();

  abstract @Nullable Secret getClientSecret();

  /** Built from the settings above; shared by every copy on a worker (one token per worker). */
  abstract @Nullable OAuth2ClientCredentials getCredentials();

  abstract @Nullable Schema getSchema();

  abstract Duration getRequestTimeout();

  abstract long getMaxResponseBytes();

  abstract Builder toBuilder();

  @AutoValue.Builder
  abstract static class Builder {
    abstract Builder setTarget(String target);

    abstract Builder setResource(boolean resource);

    abstract Builder setKql(String kql);

    abstract Builder setTimeColumn(String column);

    abstract Builder setCloud(Cloud cloud);

    abstract Builder setEndpoint(@Nullable String endpoint);

    abstract Builder setAuthorityHost(@Nullable String host);

    abstract Builder setTenantId(@Nullable String tenantId);

    abstract Builder setClientId(@Nullable String clientId);

    abstract Builder setClientSecret(@Nullable Secret secret);

    abstract Builder setCredentials(@Nullable OAuth2ClientCredentials credentials);

    abstract Builder setSchema(@Nullable Schema schema);

    abstract Builder setRequestTimeout(Duration timeout);

    abstract Builder setMaxResponseBytes(long bytes);

    abstract LogAnalyticsQuery build();
  }

  private static LogAnalyticsQuery create(String target, boolean resource, String kql) {
    if (kql == null || kql.trim().isEmpty()) {
      throw new IllegalArgumentException(
          "LogAnalyticsQuery: kql must be a non-empty KQL query, got "
              + (kql == null ? "null" : "\"" + kql + "\""));
    }
    return new AutoValue_LogAnalyticsQuery.Builder()
        .setTarget(target)
        .setResource(resource)
        .setKql(kql)
        .setTimeColumn(DEFAULT_TIME_COLUMN)
        .setCloud(Cloud.PUBLIC)
        .setRequestTimeout(DEFAULT_REQUEST_TIMEOUT)
        .setMaxResponseBytes(DEFAULT_MAX_RESPONSE_BYTES)
        .build();
  }

  /** The query {@code kql} over the workspace {@code workspaceId} (its GUID). */
  public static LogAnalyticsQuery forWorkspace(String workspaceId, String kql) {
    if (workspaceId == null || !workspaceId.matches("[A-Za-z0-9-]+")) {
      throw new IllegalArgumentException(
          "LogAnalyticsQuery.forWorkspace: workspaceId must be the workspace's id (a GUID), got "
              + workspaceId);
    }
    return create(workspaceId, false, kql);
  }

  /**
   * The query {@code kql} over the logs of the Azure resource {@code resourceId}, such as {@code
   * /subscriptions/…/resourceGroups/…/providers/Microsoft.Compute/virtualMachines/vm1}.
   */
  public static LogAnalyticsQuery forResource(String resourceId, String kql) {
    if (resourceId == null
        || !resourceId.startsWith("/subscriptions/")
        || !resourceId.matches("[A-Za-z0-9/._()-]+")) {
      throw new IllegalArgumentException(
          "LogAnalyticsQuery.forResource: resourceId must be an Azure resource id starting with"
              + " /subscriptions/, got "
              + resourceId);
    }
    return create(resourceId, true, kql);
  }

  /** The column that holds each record's time; default {@code TimeGenerated}. */
  public LogAnalyticsQuery withTimeColumn(String column) {
    if (column == null || !column.matches("[A-Za-z_][A-Za-z0-9_]*")) {
      throw new IllegalArgumentException(
          "withTimeColumn(column): a KQL column name (letters, digits, _), got " + column);
    }
    return toBuilder().setTimeColumn(column).build();
  }

  /**
   * Entra ID client credentials: a token for the cloud's Log Analytics scope from {@code POST
   * {authorityHost}/{tenantId}/oauth2/v2.0/token}. Required. Prefer the {@link Secret} form: this
   * one serializes the secret with the pipeline.
   */
  public LogAnalyticsQuery withClientCredentials(String tenantId, String clientId, String clientSecret) {
    if (clientSecret == null || clientSecret.isEmpty()) {
      throw new IllegalArgumentException("withClientCredentials: clientSecret must be non-empty");
    }
    return withClientCredentials(tenantId, clientId, Secrets.ofValue(clientSecret));
  }

  /** As {@link #withClientCredentials(String, String, String)}, the secret resolved on the worker. */
  public LogAnalyticsQuery withClientCredentials(String tenantId, String clientId, Secret clientSecret) {
    if (tenantId == null || !tenantId.matches("[A-Za-z0-9.-]+")) {
      throw new IllegalArgumentException(
          "withClientCredentials: tenantId must be a tenant id or domain, got " + tenantId);
    }
    if (clientId == null || clientId.isEmpty()) {
      throw new IllegalArgumentException("withClientCredentials: clientId must be non-empty");
    }
    if (clientSecret == null) {
      throw new IllegalArgumentException("withClientCredentials: clientSecret must not be null");
    }
    return rebuildCredentials(
        toBuilder().setTenantId(tenantId).setClientId(clientId).setClientSecret(clientSecret).build());
  }

  /** The Azure cloud: its authority host, API endpoint and token scope. Default {@link Cloud#PUBLIC}. */
  public LogAnalyticsQuery withCloud(Cloud cloud) {
    if (cloud == null) {
      throw new IllegalArgumentException("withCloud(cloud): cloud must not be null");
    }
    return rebuildCredentials(toBuilder().setCloud(cloud).build());
  }

  /**
   * Another API endpoint than the cloud's, such as {@code https://api.loganalytics.azure.com} (an
   * https URL; http only on a loopback address, for tests).
   */
  public LogAnalyticsQuery withEndpoint(String baseUrl) {
    return toBuilder().setEndpoint(checkBaseUrl("withEndpoint", baseUrl)).build();
  }

  /** Another Entra ID authority host than the cloud's (https; http only on loopback, for tests). */
  public LogAnalyticsQuery withAuthorityHost(String baseUrl) {
    return rebuildCredentials(
        toBuilder().setAuthorityHost(checkBaseUrl("withAuthorityHost", baseUrl)).build());
  }

  /** The rows' schema, instead of learning it when the read is applied; fields matched by name. */
  public LogAnalyticsQuery withSchema(Schema schema) {
    if (schema == null) {
      throw new IllegalArgumentException("withSchema(schema): schema must not be null");
    }
    return toBuilder().setSchema(schema).build();
  }

  /** How long one query may take, answer included. Default 11 min; at least 1 s. */
  public LogAnalyticsQuery withRequestTimeout(Duration timeout) {
    if (timeout == null || timeout.compareTo(Duration.ofSeconds(1)) < 0) {
      throw new IllegalArgumentException(
          "withRequestTimeout(timeout): at least 1 second, got " + timeout);
    }
    return toBuilder().setRequestTimeout(timeout).build();
  }

  /** The largest answer read; a larger one makes the read bisect the range. Default 128 MiB. */
  public LogAnalyticsQuery withMaxResponseBytes(long bytes) {
    if (bytes < 1024) {
      throw new IllegalArgumentException(
          "withMaxResponseBytes(bytes): at least 1024, got " + bytes);
    }
    return toBuilder().setMaxResponseBytes(bytes).build();
  }

  private static String checkBaseUrl(String method, String baseUrl) {
    return ApiHttp.checkServiceUrl(method + "(baseUrl)", baseUrl);
  }

  private static LogAnalyticsQuery rebuildCredentials(LogAnalyticsQuery query) {
    if (query.getTenantId() == null) {
      return query;
    }
    String authority =
        query.getAuthorityHost() != null ? query.getAuthorityHost() : query.getCloud().authorityHost;
    return query.toBuilder()
        .setCredentials(
            OAuth2ClientCredentials.of(
                authority + "/" + query.getTenantId() + "/oauth2/v2.0/token",
                query.getClientId(),
                query.getClientSecret(),
                query.getCloud().scope()))
        .build();
  }

  private String endpoint() {
    return getEndpoint() != null ? getEndpoint() : getCloud().endpoint;
  }

  private URI queryUri() {
    return URI.create(
        endpoint() + (isResource() ? "/v1" + getTarget() : "/v1/workspaces/" + getTarget()) + "/query");
  }

  private OAuth2ClientCredentials credentials() {
    if (getCredentials() == null) {
      throw new IllegalStateException(
          "LogAnalyticsQuery for " + getTarget() + " has no credentials: call"
              + " withClientCredentials(tenantId, clientId, clientSecret)");
    }
    return getCredentials();
  }

  // ---- TimeRangeQuery ----

  @Override
  public Result<Row> queryResult(TimeRange range, long limit) throws Exception {
    return postRange(range, "", "the range " + range).rows(schema());
  }

  /** The query counts: the same KQL and range with {@code | count}, for a read's lookback. */
  @Override
  public boolean supportsCount() {
    return true;
  }

  @Override
  public long count(TimeRange range) throws Exception {
    JsonNode cell = postRange(range, "\n| count", "the count of " + range).firstCell();
    if (cell == null || cell.isNull()) {
      throw new IOException("Log Analytics " + getTarget() + ": the count of " + range + " is empty");
    }
    return cell.asLong();
  }

  /** The KQL with the range's half-open filter on the time column, then {@code tail}. */
  private LogAnalyticsAnswer postRange(TimeRange range, String tail, String what)
      throws Exception {
    String from = MICROS.format(range.from());
    String to = MICROS.format(range.to());
    String column = getTimeColumn();
    String kql =
        getKql() + "\n| where " + column + " >= datetime(" + from + ") and " + column
            + " < datetime(" + to + ")" + tail;
    return post(kql, column.equals(DEFAULT_TIME_COLUMN) ? from + "/" + to : null, what);
  }

  @Override
  public Optional<Instant> earliest() throws Exception {
    LogAnalyticsAnswer answer =
        post(getKql() + "\n| summarize min(" + getTimeColumn() + ")", null, "earliest()");
    JsonNode cell = answer.firstCell();
    if (cell == null || cell.isNull() || cell.asText().isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(Instant.parse(cell.asText()));
  }

  @Override
  public boolean supportsEarliest() {
    return true;
  }

  /** The given schema, or the columns of {@code <kql> | take 0}; checked to hold the time column. */
  @Override
  public Schema schema() throws Exception {
    Schema schema = getSchema() != null ? getSchema() : learnedSchema;
    if (schema == null) {
      credentials();
      schema = post(getKql() + "\n| take 0", null, "the schema query (take 0)").schema();
    }
    if (!schema.hasField(getTimeColumn())
        || schema.getField(getTimeColumn()).getType().getTypeName() != Schema.TypeName.LOGICAL_TYPE) {
      throw new IllegalArgumentException(
          "LogAnalyticsQuery: the rows have no datetime column "
              + getTimeColumn()
              + " (columns: "
              + schema.getFieldNames()
              + "); keep it in the KQL, or name the time column with withTimeColumn");
    }
    learnedSchema = schema;
    return schema;
  }

  @Override
  public @Nullable SerializableFunction<Row, Instant> recordTime() {
    String column = getTimeColumn();
    return row -> row.getValue(column);
  }

  /** Posts one KQL query; a 401 gets a fresh token once. */
  private LogAnalyticsAnswer post(String kql, @Nullable String timespan, String what)
      throws Exception {
    ObjectNode body = JSON.createObjectNode().put("query", kql);
    if (timespan != null) {
      body.put("timespan", timespan);
    }
    byte[] json = JSON.writeValueAsBytes(body);
    OAuth2ClientCredentials credentials = credentials();
    for (int attempt = 1; ; attempt++) {
      String token = credentials.accessToken();
      HttpRequest request =
          HttpRequest.newBuilder(queryUri())
              .timeout(getRequestTimeout())
              .header("Authorization", "Bearer " + token)
              .header("Content-Type", "application/json")
              .header("Accept", "application/json")
              .POST(HttpRequest.BodyPublishers.ofByteArray(json))
              .build();
      String secret = clientSecretText(credentials);
      ApiHttp.Response response =
          ApiHttp.send(
              request,
              getMaxResponseBytes(),
              getRequestTimeout(),
              text -> text.replace(token, "***").replace(secret, "***"));
      int status = response.status();
      String where = "Log Analytics " + getTarget() + ", " + what;
      if (status == 200) {
        return LogAnalyticsAnswer.parse(response.body(), what);
      }
      String message = LogAnalyticsAnswer.errorText(response.body()).replace(token, "***").replace(secret, "***");
      if (status == 401) {
        credentials.invalidate(token);
        if (attempt == 1) {
          continue;
        }
        throw new IOException(
            where + ": 401 with a fresh token: bad credentials for client "
                + credentials.clientId() + " (" + message + ")");
      }
      if (ApiHttp.isTransient(status)) {
        throw new TransientSourceException(
            where + ": HTTP " + status + ": " + message, null, response.retryAfter());
      }
      if (status == 413) {
        throw new dev.timerangeio.ResultTooLargeException(where + ": HTTP 413: " + message);
      }
      throw new IOException(where + ": HTTP " + status + ": " + message);
    }
  }

  /** The workspace or resource, KQL, time column, endpoint and client id; never the secret. */
  @Override
  public void populateDisplayData(DisplayData.Builder builder) {
    builder
        .add(DisplayData.item(isResource() ? "resource" : "workspace", getTarget()).withLabel("Log Analytics " + (isResource() ? "resource" : "workspace")))
        .add(DisplayData.item("kql", getKql()).withLabel("KQL"))
        .add(DisplayData.item("timeColumn", getTimeColumn()).withLabel("Time column"))
        .add(DisplayData.item("endpoint", endpoint()).withLabel("API endpoint"))
        .addIfNotNull(DisplayData.item("clientId", getClientId()).withLabel("Entra ID client"))
        .addIfNotNull(DisplayData.item("tenantId", getTenantId()).withLabel("Entra ID tenant"));
  }

  /**
   * {@code azureloganalytics:<workspace id or resource id>}: the workspace (or Azure resource) the
   * KQL runs in.
   */
  @Override
  public LineageName lineage() {
    return LineageName.of("azureloganalytics", getTarget());
  }

  @Override
  public final String toString() {
    return "LogAnalyticsQuery{"
        + (isResource() ? "resource=" : "workspace=")
        + getTarget()
        + ", kql="
        + getKql()
        + ", timeColumn="
        + getTimeColumn()
        + ", endpoint="
        + endpoint()
        + (getCredentials() == null ? "" : ", credentials=" + getCredentials())
        + "}";
  }
}
