package dev.timerangeio;

import dev.timerangeio.jdbc.JdbcIdempotentSink;
import dev.timerangeio.jdbc.JdbcTimeRangeQuery;
import java.time.Duration;
import java.time.Instant;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.coders.RowCoder;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.schemas.logicaltypes.MicrosInstant;
import org.apache.beam.sdk.values.Row;

/**
 * The pipeline {@link RelaunchIT} kills: a table-to-table copy through TimeRangeIO, with a
 * progress location. Arguments: JDBC URL, progress location, start time, and either {@code
 * follow} (a streaming read that runs until killed) or an end time (a bounded read that exits
 * when done).
 */
public final class RelaunchChild {
  static final Schema SCHEMA =
      Schema.builder()
          .addInt64Field("id")
          .addLogicalTypeField("event_time", new MicrosInstant())
          .addStringField("payload")
          .build();

  private RelaunchChild() {}

  public static void main(String[] args) throws Exception {
    String url = args[0];
    String progress = args[1];
    Instant start = Instant.parse(args[2]);
    Pipeline p = Pipeline.create(PipelineOptionsFactory.fromArgs("--targetParallelism=2").create());
    TimeRangeIO.Read<Row> read =
        TimeRangeIO.<Row>read()
            .withQuery(
                JdbcTimeRangeQuery.forTable(
                    url,
                    "source_events",
                    "event_time",
                    rs ->
                        Row.withSchema(SCHEMA)
                            .addValues(
                                rs.getLong("id"),
                                rs.getObject("event_time", java.time.LocalDateTime.class)
                                    .toInstant(java.time.ZoneOffset.UTC),
                                rs.getString("payload"))
                            .build()))
            .withCoder(RowCoder.of(SCHEMA))
            .withStartTime(start)
            .withPartitionDuration(Duration.ofMillis(200))
            .withIngestionLag(Duration.ofMillis(500))
            .withPollInterval(Duration.ofMillis(100))
            .withTimestampFn(r -> r.getLogicalTypeValue("event_time", Instant.class))
            .withProgressLocation(progress);
    if (!args[3].equals("follow")) {
      read = read.withEndTime(Instant.parse(args[3]));
    }
    p.apply(read)
        .apply(
            TimeRangeIO.<Row>write()
                .to(JdbcIdempotentSink.forRows(url, "copied_events"))
                .withKeyFn(r -> r.getInt64("id"))
                .withProgressLocation(progress));
    p.run().waitUntilFinish();
    System.exit(0);
  }
}
