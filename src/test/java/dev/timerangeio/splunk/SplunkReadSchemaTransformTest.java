package dev.timerangeio.splunk;

import dev.timerangeio.schematransforms.ConfigRows;
import dev.timerangeio.schematransforms.SplunkReadSchemaTransformProvider;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.PCollectionRowTuple;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The Splunk read schema transform, configured by a row, against the export endpoint on 127.0.0.1.
 */
@RunWith(JUnit4.class)
public class SplunkReadSchemaTransformTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  @Rule public final transient TestPipeline p = TestPipeline.create();

  @Test
  public void readsEveryEventOfTheRangeOnce() throws Exception {
    List<Instant> times = new ArrayList<>();
    List<Long> index = new ArrayList<>();
    for (long ms = 0; ms < 100_000; ms += 900) {
      times.add(T0.plusMillis(ms).plusNanos(456_000));
    }
    for (int s = 0; s <= 90; s += 10) {
      times.add(T0.plusSeconds(s));
      times.add(T0.plusSeconds(s).minusNanos(1_000));
    }
    for (int i = 0; i < times.size(); i++) {
      index.add(times.get(i).getEpochSecond() + (i * 7L) % 41);
    }
    try (SplunkTestService service = new SplunkTestService(times, index)) {
      Map<String, Object> values = new HashMap<>();
      values.put("url", service.url());
      values.put("search", "index=security");
      values.put("token", "value:" + SplunkTestService.TOKEN);
      values.put("start_time", T0.toString());
      values.put("end_time", T0.plusSeconds(90).toString());
      values.put("partition_duration", "PT10S");
      values.put("ingestion_lag", "PT0S");
      SplunkReadSchemaTransformProvider provider = new SplunkReadSchemaTransformProvider();
      PCollectionRowTuple out =
          PCollectionRowTuple.empty(p).apply(provider.from(ConfigRows.of(provider, values)));

      List<Long> expected = new ArrayList<>();
      for (int i = 0; i < times.size(); i++) {
        if (!times.get(i).isBefore(T0) && times.get(i).isBefore(T0.plusSeconds(90))) {
          expected.add((long) i);
        }
      }
      PAssert.that(
              out.get("output")
                  .apply(
                      MapElements.into(TypeDescriptors.longs())
                          .via(r -> Long.parseLong(r.getString("_cd").substring(4)))))
          .containsInAnyOrder(expected);
      p.run().waitUntilFinish();
    }
  }
}
