package dev.timerangeio.jdbc;

import dev.timerangeio.IdempotencyKeys;
import dev.timerangeio.TimeRange;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.schemas.logicaltypes.MicrosInstant;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.Row;

/**
 * A worker in another time zone, for {@link JdbcZonesIT}: run with {@code -Duser.timezone}, it
 * writes records at {@link #T0} + id hours through the sink, then reads {@code [T0 + 1 h, T0 + 3
 * h)} through {@code forSql} without and with a time column, printing what each read.
 */
public final class JdbcZonesChild {
  static final Instant T0 = Instant.parse("2024-05-01T00:00:00Z");
  static final int RECORDS = 5;
  static final Schema SCHEMA =
      Schema.builder()
          .addInt64Field("id")
          .addLogicalTypeField("at", new MicrosInstant())
          .addLogicalTypeField("lt", new MicrosInstant())
          .build();

  private JdbcZonesChild() {}

  /** {@code args}: the JDBC URL and the table, which exists with columns id, at, lt. */
  public static void main(String[] args) throws Exception {
    String url = args[0];
    String table = args[1];
    JdbcIdempotentSink<Row> sink = JdbcIdempotentSink.forRows(url, table);
    List<KV<String, Row>> batch = new ArrayList<>();
    for (long id = 0; id < RECORDS; id++) {
      Instant at = T0.plusSeconds(3_600 * id);
      batch.add(KV.of(IdempotencyKeys.of(id), Row.withSchema(SCHEMA).addValues(id, at, at).build()));
    }
    sink.open();
    try {
      sink.write(batch);
    } finally {
      sink.close();
    }
    JdbcTimeRangeQuery<Long> query =
        JdbcTimeRangeQuery.forSql(
            url, "SELECT id, at FROM " + table + " WHERE at >= ? AND at < ?", rs -> rs.getLong("id"));
    System.out.println("READ " + read(query));
    System.out.println("READ_BY_COLUMN " + read(query.withTimeColumn("at")));
    System.exit(0);
  }

  private static String read(JdbcTimeRangeQuery<Long> query) {
    try {
      List<Long> ids = new ArrayList<>(query.query(TimeRange.of(T0.plusSeconds(3_600), T0.plusSeconds(3 * 3_600))));
      ids.sort(null);
      return ids.toString();
    } catch (Exception e) {
      return "REFUSED " + e.getMessage().replace('\n', ' ');
    } finally {
      query.close();
    }
  }
}
