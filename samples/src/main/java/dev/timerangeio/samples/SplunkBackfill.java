package dev.timerangeio.samples;

import dev.timerangeio.Secrets;
import dev.timerangeio.TimeRangeIO;
import dev.timerangeio.TimeRangeIOMetrics;
import dev.timerangeio.jdbc.JdbcIdempotentSink;
import dev.timerangeio.splunk.SplunkSearchQuery;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.schemas.transforms.RenameFields;
import org.apache.beam.sdk.values.Row;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Backfills two hours of Splunk's {@code index=auth} by index time into a table, exactly once:
 * events indexed up to 90 seconds late are read by the chunk of their index time, stamped by
 * their own time. Without {@code --splunkdUrl} it starts {@link SplunkDemo} on 127.0.0.1 (previews,
 * keep-alive lines, messages, a 503 now and then) and checks at the end, row by row, that the
 * table holds exactly its events.
 *
 * <pre>
 * cd samples &amp;&amp; mvn -q compile exec:java -DmainClass=dev.timerangeio.samples.SplunkBackfill
 * </pre>
 *
 * Against a real Splunk: {@code --splunkdUrl=https://splunk.example.com:8089 --search='index=…'},
 * the token in the environment variable {@code SPLUNK_TOKEN}.
 */
public final class SplunkBackfill {
  private static final Logger LOG = LoggerFactory.getLogger(SplunkBackfill.class);
  static final Instant START = Instant.parse("2024-05-01T08:00:00Z");
  static final int EVENTS = 10_000;

  /** Options of the backfill; every Beam option works too. */
  public interface Options extends PipelineOptions {
    @Description("splunkd's management URL; empty: start the demo on 127.0.0.1")
    @Default.String("")
    String getSplunkdUrl();

    void setSplunkdUrl(String value);

    @Description("The SPL whose events are copied")
    @Default.String("index=auth sourcetype=idp:auth")
    String getSearch();

    void setSearch(String value);

    @Description("JDBC URL of the database the events are written to")
    @Default.String("jdbc:h2:mem:splunk-backfill;DB_CLOSE_DELAY=-1")
    String getJdbcUrl();

    void setJdbcUrl(String value);
  }

  public static void main(String[] args) throws Exception {
    Options options = PipelineOptionsFactory.fromArgs(args).withValidation().as(Options.class);
    SplunkDemo demo = options.getSplunkdUrl().isEmpty() ? SplunkDemo.start(START, EVENTS) : null;
    try {
      SplunkSearchQuery query =
          demo == null
              ? SplunkSearchQuery.forSearch(options.getSplunkdUrl(), options.getSearch())
                  .withToken(Secrets.fromEnvironment("SPLUNK_TOKEN"))
              : SplunkSearchQuery.forSearch(demo.url(), options.getSearch()).withToken(SplunkDemo.TOKEN);
      PipelineResult result = pipeline(options, query.withIndexTime().withFields("user", "action")).run();
      result.waitUntilFinish();
      LOG.info(
          "Read {} events in {} chunks; {} retries; {} acknowledged by the sink",
          PostgresCopy.counter(result, TimeRangeIOMetrics.ROWS_READ),
          PostgresCopy.counter(result, TimeRangeIOMetrics.CHUNKS_READ),
          PostgresCopy.counter(result, TimeRangeIOMetrics.SOURCE_RETRIES),
          PostgresCopy.counter(result, TimeRangeIOMetrics.ROWS_WRITTEN));
      System.exit(demo == null || check(options.getJdbcUrl(), demo) ? 0 : 1);
    } finally {
      if (demo != null) {
        demo.close();
      }
    }
  }

  static Pipeline pipeline(Options options, SplunkSearchQuery query) {
    Pipeline pipeline = Pipeline.create(options);
    pipeline
        .apply(
            "ReadSplunk",
            TimeRangeIO.<Row>read()
                .withQuery(query)
                .withStartTime(START)
                .withEndTime(START.plus(Duration.ofHours(2)))
                .withPartitionDuration(Duration.ofMinutes(5))
                // Events are indexed up to 91 s after they happen: never behind the watermark.
                .withWatermarkDelay(Duration.ofMinutes(2))
                .withInitialBackoff(Duration.ofMillis(50)))
        // "user" is a reserved word of SQL, and the sink writes column names as they are.
        .apply("RenameUser", RenameFields.<Row>create().rename("user", "user_name"))
        .apply(
            "WriteOnce",
            TimeRangeIO.<Row>write()
                .to(JdbcIdempotentSink.forRows(options.getJdbcUrl(), "splunk_events").withCreateTable(true))
                .withKeyFn(row -> row.getString("_cd")));
    return pipeline;
  }

  /** Row by row: every demo event is in the table once, as Splunk returned it. */
  static boolean check(String url, SplunkDemo demo) throws Exception {
    Map<String, SplunkDemo.Event> expected = new HashMap<>();
    for (SplunkDemo.Event e : demo.events) {
      expected.put("7:" + e.id, e);
    }
    int rows = 0;
    int wrong = 0;
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement();
        ResultSet rs =
            // Columns by label: the sink names them as the database folds unquoted names.
            s.executeQuery("SELECT * FROM splunk_events")) {
      while (rs.next()) {
        rows++;
        SplunkDemo.Event e = expected.remove(rs.getString("_cd"));
        boolean same =
            e != null
                && e.time.equals(Samples.instant(rs, rs.findColumn("_time")))
                && String.valueOf(e.indexTime).equals(rs.getString("_indextime"))
                && e.raw().equals(rs.getString("_raw"))
                && e.user.equals(rs.getString("user_name"))
                && e.action.equals(rs.getString("action"));
        if (!same && wrong++ < 5) {
          LOG.error("MISMATCH: row {} of splunk_events is not the demo's event", rs.getString("_cd"));
        }
      }
    }
    LOG.info(
        "splunk_events: {} rows; Splunk holds {} events, {} of them missing from the table; it"
            + " answered {} searches ({} with 503)",
        rows, demo.events.size(), expected.size(), demo.searches.get(), demo.unavailable.get());
    boolean exact = wrong == 0 && expected.isEmpty() && rows == demo.events.size();
    if (exact) {
      LOG.info("Check passed: every event of the index is in the table exactly once, as it was");
    } else {
      LOG.error("MISMATCH between Splunk and splunk_events");
    }
    return exact;
  }
}
