package dev.timerangeio.samples;

import dev.timerangeio.Secrets;
import dev.timerangeio.TimeRangeIO;
import dev.timerangeio.TimeRangeIOMetrics;
import dev.timerangeio.jdbc.JdbcIdempotentSink;
import dev.timerangeio.loganalytics.LogAnalyticsQuery;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.values.Row;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Backfills a day of sign-in events from Azure Monitor Log Analytics into a table, exactly once.
 * Without {@code --workspaceId} it starts {@link LogAnalyticsDemo} on 127.0.0.1 — tokens that
 * expire every 5 seconds, answers cut at 1,500 rows, 429 now and then — and checks at the end,
 * row by row, that the table holds exactly the demo's events.
 *
 * <pre>
 * cd samples &amp;&amp; mvn -q compile exec:java -DmainClass=dev.timerangeio.samples.LogAnalyticsBackfill
 * </pre>
 *
 * Against a real workspace: {@code --workspaceId=… --tenantId=… --clientId=…}, the client secret in
 * the environment variable {@code LA_CLIENT_SECRET}, {@code --kql='SigninLogs | project
 * TimeGenerated, …'} with the columns the table should get (an {@code EventId} column keys it).
 */
public final class LogAnalyticsBackfill {
  private static final Logger LOG = LoggerFactory.getLogger(LogAnalyticsBackfill.class);
  static final Instant DAY = Instant.parse("2024-05-01T00:00:00Z");
  static final int EVENTS = 20_000;

  /** Options of the backfill; every Beam option works too. */
  public interface Options extends PipelineOptions {
    @Description("The Log Analytics workspace id; empty: start the demo service on 127.0.0.1")
    @Default.String("")
    String getWorkspaceId();

    void setWorkspaceId(String value);

    @Description("Entra ID tenant of the client (with --workspaceId)")
    @Default.String("")
    String getTenantId();

    void setTenantId(String value);

    @Description("Entra ID client id; its secret is read from LA_CLIENT_SECRET on each worker")
    @Default.String("")
    String getClientId();

    void setClientId(String value);

    @Description("The KQL: its rows are copied (an EventId column identifies a row)")
    @Default.String("SigninLogs | project TimeGenerated, EventId, UserPrincipalName, ResultType, DurationMs")
    String getKql();

    void setKql(String value);

    @Description("JDBC URL of the database the events are written to")
    @Default.String("jdbc:h2:mem:la-backfill;DB_CLOSE_DELAY=-1")
    String getJdbcUrl();

    void setJdbcUrl(String value);
  }

  public static void main(String[] args) throws Exception {
    Options options = PipelineOptionsFactory.fromArgs(args).withValidation().as(Options.class);
    LogAnalyticsDemo demo =
        options.getWorkspaceId().isEmpty() ? LogAnalyticsDemo.start(DAY, EVENTS) : null;
    try {
      LogAnalyticsQuery query =
          demo == null
              ? LogAnalyticsQuery.forWorkspace(options.getWorkspaceId(), options.getKql())
                  .withClientCredentials(
                      options.getTenantId(),
                      options.getClientId(),
                      Secrets.fromEnvironment("LA_CLIENT_SECRET"))
              : LogAnalyticsQuery.forWorkspace(LogAnalyticsDemo.WORKSPACE, options.getKql())
                  .withEndpoint(demo.url())
                  .withAuthorityHost(demo.url())
                  .withClientCredentials(
                      LogAnalyticsDemo.TENANT, LogAnalyticsDemo.CLIENT, LogAnalyticsDemo.SECRET);
      PipelineResult result = pipeline(options, query).run();
      result.waitUntilFinish();
      LOG.info(
          "Read {} events in {} chunks; {} retries, {} range bisections, {} tokens fetched; {}"
              + " acknowledged by the sink",
          PostgresCopy.counter(result, TimeRangeIOMetrics.ROWS_READ),
          PostgresCopy.counter(result, TimeRangeIOMetrics.CHUNKS_READ),
          PostgresCopy.counter(result, TimeRangeIOMetrics.SOURCE_RETRIES),
          PostgresCopy.counter(result, TimeRangeIOMetrics.RANGE_BISECTIONS),
          PostgresCopy.counter(result, TimeRangeIOMetrics.TOKEN_REFRESHES),
          PostgresCopy.counter(result, TimeRangeIOMetrics.ROWS_WRITTEN));
      System.exit(demo == null || check(options.getJdbcUrl(), demo) ? 0 : 1);
    } finally {
      if (demo != null) {
        demo.close();
      }
    }
  }

  static Pipeline pipeline(Options options, LogAnalyticsQuery query) {
    Pipeline pipeline = Pipeline.create(options);
    pipeline
        .apply(
            "ReadLogAnalytics",
            TimeRangeIO.<Row>read()
                .withQuery(query)
                .withStartTime(DAY)
                .withEndTime(DAY.plus(Duration.ofDays(1)))
                .withPartitionDuration(Duration.ofHours(1))
                .withInitialBackoff(Duration.ofMillis(50)))
        .apply(
            "WriteOnce",
            TimeRangeIO.<Row>write()
                .to(JdbcIdempotentSink.forRows(options.getJdbcUrl(), "la_events").withCreateTable(true))
                .withKeyFn(row -> row.getString("EventId")));
    return pipeline;
  }

  /** Row by row: every demo event is in the table once, with every column as the service had it. */
  static boolean check(String url, LogAnalyticsDemo demo) throws Exception {
    Map<String, LogAnalyticsDemo.Event> expected = new HashMap<>();
    for (LogAnalyticsDemo.Event e : demo.events) {
      expected.put(e.eventId, e);
    }
    int rows = 0;
    int wrong = 0;
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement();
        ResultSet rs =
            // Columns by label: the sink names them as the database folds unquoted names.
            s.executeQuery("SELECT * FROM la_events")) {
      while (rs.next()) {
        rows++;
        LogAnalyticsDemo.Event e = expected.remove(rs.getString("EventId"));
        boolean same =
            e != null
                && e.time.equals(Samples.instant(rs, rs.findColumn("TimeGenerated")))
                && e.user.equals(rs.getString("UserPrincipalName"))
                && e.resultType == rs.getInt("ResultType")
                && Objects.equals(e.durationMs, rs.getDouble("DurationMs"));
        if (!same && wrong++ < 5) {
          LOG.error("MISMATCH: row {} of la_events is not the demo's event", rs.getString("EventId"));
        }
      }
    }
    LOG.info(
        "la_events: {} rows; the demo holds {} events, {} of them missing from the table; it"
            + " answered {} queries ({} throttled, {} cut at the size limit, {} with an expired"
            + " token) and issued {} tokens",
        rows, demo.events.size(), expected.size(), demo.queries.get(), demo.throttled.get(),
        demo.cut.get(), demo.expired.get(), demo.tokens.get());
    boolean exact = wrong == 0 && expected.isEmpty() && rows == demo.events.size();
    if (exact) {
      LOG.info("Check passed: every event of the workspace is in the table exactly once, as it was");
    } else {
      LOG.error("MISMATCH between the workspace and la_events");
    }
    return exact;
  }
}
