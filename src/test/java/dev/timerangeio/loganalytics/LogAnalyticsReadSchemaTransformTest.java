package dev.timerangeio.loganalytics;

import dev.timerangeio.schematransforms.ConfigRows;
import dev.timerangeio.schematransforms.LogAnalyticsReadSchemaTransformProvider;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The Log Analytics read schema transform, configured by a row as an SDK sends it, against the
 * token endpoint and query API on 127.0.0.1; the client secret given as a file reference.
 */
@RunWith(JUnit4.class)
public class LogAnalyticsReadSchemaTransformTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  @Rule public final transient TestPipeline p = TestPipeline.create();
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  @Test
  public void readsEveryRowOfTheRangeOnce() throws Exception {
    List<Instant> times = new ArrayList<>();
    for (long ms = 0; ms < 200_000; ms += 900) {
      times.add(T0.plusMillis(ms).plusNanos(123_000));
    }
    for (int minute = 0; minute <= 3; minute++) {
      times.add(T0.plusSeconds(60L * minute));
      times.add(T0.plusSeconds(60L * minute).minusNanos(1_000));
    }
    java.io.File secret = tmp.newFile("client-secret");
    Files.write(
        secret.toPath(), (LogAnalyticsTestService.SECRET + "\n").getBytes(StandardCharsets.UTF_8));
    try (LogAnalyticsTestService service = new LogAnalyticsTestService(times)) {
      Map<String, Object> values = new HashMap<>();
      values.put("workspace_id", LogAnalyticsTestService.WORKSPACE);
      values.put("kql", "Events");
      values.put("endpoint", service.url());
      values.put("authority_host", service.url());
      values.put("tenant_id", LogAnalyticsTestService.TENANT);
      values.put("client_id", LogAnalyticsTestService.CLIENT);
      values.put("client_secret", "file:" + secret.getPath());
      values.put("start_time", T0.toString());
      values.put("end_time", T0.plusSeconds(180).toString());
      values.put("partition_duration", "PT1M");
      values.put("ingestion_lag", "PT0S");
      LogAnalyticsReadSchemaTransformProvider provider =
          new LogAnalyticsReadSchemaTransformProvider();
      PCollectionRowTuple out =
          PCollectionRowTuple.empty(p).apply(provider.from(ConfigRows.of(provider, values)));

      List<Long> expected = new ArrayList<>();
      for (int i = 0; i < times.size(); i++) {
        if (!times.get(i).isBefore(T0) && times.get(i).isBefore(T0.plusSeconds(180))) {
          expected.add((long) i);
        }
      }
      PAssert.that(
              out.get("output")
                  .apply(MapElements.into(TypeDescriptors.longs()).via(r -> r.getInt64("Id"))))
          .containsInAnyOrder(expected);
      p.run().waitUntilFinish();
    }
  }
}
