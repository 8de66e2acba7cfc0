package dev.timerangeio.http;

import dev.timerangeio.schematransforms.ConfigRows;
import dev.timerangeio.schematransforms.HttpReadSchemaTransformProvider;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.PCollectionRowTuple;
import org.apache.beam.sdk.values.Row;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The HTTP read schema transform, configured by a row as an SDK sends it, against RangeApi. */
@RunWith(JUnit4.class)
public class HttpReadSchemaTransformTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  @Rule public final transient TestPipeline p = TestPipeline.create();

  @Test
  public void readsEveryRecordOfTheRangeOnceAsRowsOfTheConfiguredSchema() throws Exception {
    long t0 = T0.getEpochSecond() * 1_000_000L;
    long minute = 60_000_000L;
    // Each chunk's bounds, the micro before each, and records in between; beyond the end too.
    long[] times = {
      t0,
      t0 + 1,
      minute + t0 - 1,
      t0 + minute,
      t0 + minute + 7,
      t0 + 3 * minute - 1,
      t0 + 3 * minute,
      t0 + 4 * minute
    };
    try (RangeApi api = new RangeApi(times, 1, false, 2, 1_000)) {
      Map<String, Object> values = new HashMap<>();
      values.put("url", api.url());
      values.put(
          "schema",
          "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"},"
              + "\"time\":{\"type\":\"string\"}},\"required\":[\"id\",\"time\"]}");
      values.put("time_field", "time");
      values.put("records_pointer", "/data");
      values.put("next_page_token_pointer", "/next");
      values.put("next_page_token_parameter", "page");
      values.put("start_time", T0.toString());
      values.put("end_time", T0.plusSeconds(180).toString());
      values.put("partition_duration", "PT1M");
      values.put("ingestion_lag", "PT0S");
      HttpReadSchemaTransformProvider provider = new HttpReadSchemaTransformProvider();
      PCollectionRowTuple out =
          PCollectionRowTuple.empty(p).apply(provider.from(ConfigRows.of(provider, values)));

      List<String> expected = new ArrayList<>();
      long[] sorted = api.times();
      for (int i = 0; i < sorted.length; i++) {
        if (sorted[i] < t0 + 3 * minute) {
          expected.add(i + " " + Instant.EPOCH.plusNanos(sorted[i] * 1_000));
        }
      }
      PAssert.that(
              out.get("output")
                  .apply(
                      MapElements.into(TypeDescriptors.strings())
                          .via(r -> r.getInt64("id") + " " + r.getString("time"))))
          .containsInAnyOrder(expected);
      p.run().waitUntilFinish();
    }
  }

  @Test
  public void recordsOutsideTheirRangeGoToTheErrorOutput() throws Exception {
    long t0 = T0.getEpochSecond() * 1_000_000L;
    long[] times = {t0 + 5, t0 + 6, t0 + 7};
    try (RangeApi api = new RangeApi(times, 1, false, 10, 1_000)) {
      Map<String, Object> values = new HashMap<>();
      values.put("url", api.url());
      values.put("schema", "{\"properties\":{\"id\":{\"type\":\"integer\"}}}");
      // The id read as epoch microseconds: 1970, far outside the range each record was read for.
      values.put("time_field", "id");
      values.put("records_pointer", "/data");
      values.put("start_time", T0.toString());
      values.put("end_time", T0.plusSeconds(60).toString());
      values.put("ingestion_lag", "PT0S");
      HttpReadSchemaTransformProvider provider = new HttpReadSchemaTransformProvider();
      Schema errorHandling =
          provider.configurationSchema().getField("error_handling").getType().getRowSchema();
      values.put("error_handling", Row.withSchema(errorHandling).addValue("bad").build());
      PCollectionRowTuple out =
          PCollectionRowTuple.empty(p).apply(provider.from(ConfigRows.of(provider, values)));

      PAssert.that(out.get("output")).empty();
      PAssert.that(
              out.get("bad")
                  .apply(
                      MapElements.into(TypeDescriptors.strings())
                          .via(
                              r ->
                                  r.getRow("failed_row").getInt64("id")
                                      + (r.getString("error_message").contains("outside")
                                          ? " outside its range"
                                          : " " + r.getString("error_message")))))
          .containsInAnyOrder("0 outside its range", "1 outside its range", "2 outside its range");
      p.run().waitUntilFinish();
    }
  }
}
