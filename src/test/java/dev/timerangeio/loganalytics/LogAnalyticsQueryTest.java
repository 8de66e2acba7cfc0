package dev.timerangeio.loganalytics;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.timerangeio.PipelineSupport;
import dev.timerangeio.ResultTooLargeException;
import dev.timerangeio.TimeRange;
import dev.timerangeio.TimeRangeIO;
import dev.timerangeio.TimeRangeIOMetrics;
import java.io.IOException;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.schemas.logicaltypes.MicrosInstant;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.Row;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The Log Analytics connector against Entra ID and the query API served on 127.0.0.1. */
@RunWith(JUnit4.class)
public class LogAnalyticsQueryTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  @Rule public final transient TestPipeline p = TestPipeline.create();

  /** Records every 700 ms over 5 minutes, and one on each bound of every minute. */
  private static List<Instant> times() {
    List<Instant> times = new ArrayList<>();
    for (long ms = 0; ms < 300_000; ms += 700) {
      times.add(T0.plusMillis(ms).plusNanos(123_000));
    }
    for (int minute = 0; minute <= 5; minute++) {
      times.add(T0.plusSeconds(60L * minute));
      times.add(T0.plusSeconds(60L * minute).minusNanos(1_000));
    }
    return times;
  }

  private static List<Long> idsIn(List<Instant> times, Instant from, Instant to) {
    List<Long> ids = new ArrayList<>();
    for (int i = 0; i < times.size(); i++) {
      if (!times.get(i).isBefore(from) && times.get(i).isBefore(to)) {
        ids.add((long) i);
      }
    }
    return ids;
  }

  private static PCollection<Long> ids(PCollection<Row> rows) {
    return rows.apply(
        MapElements.into(TypeDescriptors.longs()).via(row -> row.getInt64("Id")));
  }

  @Test
  public void theRowSchemaIsTheAnswersColumnsWithTheirTypes() throws Exception {
    try (LogAnalyticsTestService service = new LogAnalyticsTestService(times())) {
      Schema schema = service.query("Events").schema();

      Schema.FieldType micros = Schema.FieldType.logicalType(new MicrosInstant());
      Schema expected =
          Schema.builder()
              .addNullableField("TimeGenerated", micros)
              .addNullableField("Id", Schema.FieldType.INT64)
              .addNullableField("Computer", Schema.FieldType.STRING)
              .addNullableField("Level", Schema.FieldType.INT32)
              .addNullableField("Duration", Schema.FieldType.DOUBLE)
              .addNullableField("Ok", Schema.FieldType.BOOLEAN)
              .addNullableField("Cost", Schema.FieldType.DECIMAL)
              .addNullableField("CorrelationId", Schema.FieldType.STRING)
              .addNullableField("Elapsed", Schema.FieldType.STRING)
              .addNullableField("Props", Schema.FieldType.STRING)
              .build();
      assertTrue(expected + " vs " + schema, expected.equivalent(schema));
      assertThat(service.requestBodies.get(0), containsString("Events\\n| take 0"));

      Row row =
          service.query("Events").queryResult(TimeRange.of(T0, T0.plusMillis(701)), Long.MAX_VALUE)
              .records().stream().filter(r -> r.getInt64("Id") == 1L).findFirst().get();
      assertEquals(T0.plusMillis(700).plusNanos(123_000), row.getValue("TimeGenerated"));
      assertEquals("host-1", row.getString("Computer"));
      assertEquals(Integer.valueOf(1), row.getInt32("Level"));
      assertEquals(0.5, row.getDouble("Duration"), 0);
      assertEquals(false, row.getBoolean("Ok"));
      assertEquals(new BigDecimal("12.1"), row.getDecimal("Cost"));
      assertEquals("00:00:01.5", row.getString("Elapsed"));
      assertEquals("{\"n\":1}", row.getString("Props"));
    }
  }

  @Test
  public void eachChunkSendsAHalfOpenWhereAtTheMicrosecondAndTheTimespan() throws Exception {
    try (LogAnalyticsTestService service = new LogAnalyticsTestService(times())) {
      LogAnalyticsQuery query = service.query("Events");
      query.queryResult(TimeRange.of(T0.plusNanos(1_000), T0.plusSeconds(60)), Long.MAX_VALUE);
      query.queryResult(TimeRange.of(T0.plusSeconds(60), T0.plusSeconds(120)), Long.MAX_VALUE);
      assertEquals("one schema query, then one query per chunk", 3, service.requestBodies.size());

      assertEquals(
          LogAnalyticsTestService.json(
              "{\"query\":\"Events\\n| where TimeGenerated >= datetime(2026-01-01T00:00:00.000001Z)"
                  + " and TimeGenerated < datetime(2026-01-01T00:01:00.000000Z)\","
                  + "\"timespan\":\"2026-01-01T00:00:00.000001Z/2026-01-01T00:01:00.000000Z\"}"),
          LogAnalyticsTestService.json(service.requestBodies.get(0)));
    }
  }

  @Test
  public void aBackfillReadsRecordsOnBothBoundsOfEveryChunkOnce() throws Exception {
    List<Instant> times = times();
    try (LogAnalyticsTestService service = new LogAnalyticsTestService(times)) {
      service.queriesPerToken = 2;
      // One reading thread: a token that "expires" after 2 queries can otherwise be used up by
      // other threads between a 401 and this thread's retry with the refreshed token.
      p.getOptions().as(DirectOptions.class).setTargetParallelism(1);
      PCollection<Row> rows =
          p.apply(
              TimeRangeIO.<Row>read()
                  .withQuery(service.query("Events"))
                  .withStartTime(T0)
                  .withEndTime(T0.plusSeconds(300))
                  .withPartitionDuration(Duration.ofMinutes(1)));
      PAssert.that(ids(rows)).containsInAnyOrder(idsIn(times, T0, T0.plusSeconds(300)));
      PipelineResult result = p.run();
      result.waitUntilFinish();

      // 5 chunks, a token serving 2 queries: a fresh token after each expiry, each counted.
      assertThat(service.tokensIssued.get(), greaterThanOrEqualTo(3));
      assertEquals(
          service.tokensIssued.get() - 1, // the schema's token was fetched when the read was applied
          PipelineSupport.counter(result, TimeRangeIOMetrics.TOKEN_REFRESHES));
    }
  }

  @Test
  public void aChunkOverTheSizeLimitIsBisectedAndReadExactly() throws Exception {
    List<Instant> times = times();
    try (LogAnalyticsTestService service = new LogAnalyticsTestService(times)) {
      service.rowCap = 20;
      PCollection<Row> rows =
          p.apply(
              TimeRangeIO.<Row>read()
                  .withQuery(service.query("Events"))
                  .withStartTime(T0)
                  .withEndTime(T0.plusSeconds(120))
                  .withPartitionDuration(Duration.ofMinutes(1)));
      PAssert.that(ids(rows)).containsInAnyOrder(idsIn(times, T0, T0.plusSeconds(120)));
      PipelineResult result = p.run();
      result.waitUntilFinish();

      assertThat(service.sizeLimitAnswers.get(), greaterThanOrEqualTo(2));
      assertThat(
          PipelineSupport.counter(result, TimeRangeIOMetrics.RANGE_BISECTIONS),
          greaterThanOrEqualTo(2L));
    }
  }

  @Test
  public void theSizeLimitCodeIsFoundInDetailsAndInnerErrors() throws Exception {
    try (LogAnalyticsTestService service = new LogAnalyticsTestService(times())) {
      for (String code : LogAnalyticsAnswer.SIZE_LIMIT_CODES) {
        service.partialError =
            "{\"code\":\"PartialError\",\"message\":\"some errors\",\"details\":[{\"code\":\"X\","
                + "\"innererror\":{\"code\":\"Y\",\"innererror\":{\"code\":\"" + code + "\"}}}]}";
        assertThrows(
            code,
            ResultTooLargeException.class,
            () -> service.query("Events").queryResult(TimeRange.of(T0, T0.plusSeconds(1)), Long.MAX_VALUE));
      }
    }
  }

  @Test
  public void anotherPartialErrorFailsTheChunkNamingItsCode() throws Exception {
    try (LogAnalyticsTestService service = new LogAnalyticsTestService(times())) {
      service.partialError =
          "{\"code\":\"PartialError\",\"message\":\"There were some errors\","
              + "\"details\":[{\"code\":\"EngineError\",\"innererror\":{\"code\":\"LimitsExceeded\","
              + "\"message\":\"Query exceeded the memory limit\"}}]}";
      IOException e =
          assertThrows(
              IOException.class,
              () ->
                  service.query("Events")
                      .queryResult(TimeRange.of(T0, T0.plusSeconds(10)), Long.MAX_VALUE));
      assertThat(e.getMessage(), containsString("LimitsExceeded"));
      assertThat(e.getMessage(), containsString("never taken as complete"));
    }
  }

  @Test
  public void aBadQueryFailsNamingTheServicesMessage() throws Exception {
    try (LogAnalyticsTestService service = new LogAnalyticsTestService(times())) {
      service.forcedStatus = 400;
      service.forcedBody =
          "{\"error\":{\"code\":\"BadArgumentError\",\"message\":\"The request had some invalid"
              + " properties\",\"innererror\":{\"code\":\"SyntaxError\",\"message\":\"Query could not"
              + " be parsed at 'Evnts'\"}}}";
      IOException e =
          assertThrows(
              IOException.class,
              () -> service.query("Evnts").queryResult(TimeRange.of(T0, T0.plusSeconds(10)), 10));
      assertThat(e.getMessage(), containsString("HTTP 400"));
      assertThat(e.getMessage(), containsString("Query could not be parsed at 'Evnts'"));
    }
  }

  @Test
  public void throttlingAndServerErrorsAreTransientWithTheirRetryAfter() throws Exception {
    try (LogAnalyticsTestService service = new LogAnalyticsTestService(times())) {
      for (int status : new int[] {429, 500, 502, 503, 504}) {
        service.forcedStatus = status;
        service.forcedBody = "{\"error\":{\"code\":\"Throttled\",\"message\":\"slow down\"}}";
        dev.timerangeio.TransientSourceException e =
            assertThrows(
                dev.timerangeio.TransientSourceException.class,
                () -> service.query("Events").queryResult(TimeRange.of(T0, T0.plusSeconds(1)), 10));
        assertThat(e.getMessage(), containsString("HTTP " + status));
      }
    }
  }

  @Test
  public void a401WithAFreshTokenFailsAsBadCredentialsWithoutShowingTheSecretOrToken()
      throws Exception {
    try (LogAnalyticsTestService service = new LogAnalyticsTestService(times())) {
      service.forcedStatus = 401;
      service.forcedBody =
          "{\"error\":{\"code\":\"InvalidAuthenticationToken\",\"message\":\"token token-1 and"
              + " token-2 for secret " + LogAnalyticsTestService.SECRET + " refused\"}}";
      LogAnalyticsQuery query = service.query("Events");
      // The service accepts tokens but this answer refuses them all: the first 401 gets a fresh
      // token, the second fails.
      IOException e =
          assertThrows(
              IOException.class, () -> query.queryResult(TimeRange.of(T0, T0.plusSeconds(1)), 10));

      assertThat(e.getMessage(), containsString("bad credentials"));
      assertThat(e.getMessage(), not(containsString(LogAnalyticsTestService.SECRET)));
      assertThat(e.getMessage(), not(containsString("token-2")));
      assertEquals("one fresh token after the first 401", 2, service.tokensIssued.get());
    }
  }

  @Test
  public void theSecretAppearsInNoDisplayDataOrText() throws Exception {
    try (LogAnalyticsTestService service = new LogAnalyticsTestService(times())) {
      LogAnalyticsQuery query = service.query("Events");
      TimeRangeIO.Read<Row> read =
          TimeRangeIO.<Row>read().withQuery(query).withStartTime(T0).withEndTime(T0.plusSeconds(1));
      String display = DisplayData.from(read).toString();
      assertThat(display, containsString(LogAnalyticsTestService.WORKSPACE));
      assertThat(display, not(containsString(LogAnalyticsTestService.SECRET)));
      assertThat(query.toString(), not(containsString(LogAnalyticsTestService.SECRET)));
      java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
      try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(bytes)) {
        out.writeObject(
            LogAnalyticsQuery.forWorkspace(LogAnalyticsTestService.WORKSPACE, "Events")
                .withClientCredentials(
                    "t", "c", dev.timerangeio.Secrets.fromEnvironment("LA_CLIENT_SECRET")));
      }
      assertThat(bytes.toString(java.nio.charset.StandardCharsets.ISO_8859_1), containsString("LA_CLIENT_SECRET"));
    }
  }

  /** The count for a lookback: the same KQL and half-open range, with {@code | count}. */
  @Test
  public void countIsTheKqlOfTheRangeWithCount() throws Exception {
    try (LogAnalyticsTestService service = new LogAnalyticsTestService(times())) {
      LogAnalyticsQuery query = service.query("Events");
      TimeRange range = TimeRange.of(T0.minusNanos(1_000), T0.plusSeconds(3_600));
      long expected =
          times().stream().filter(t -> !t.isBefore(range.from()) && t.isBefore(range.to())).count();
      assertTrue("the range holds events", expected > 0);
      assertTrue(query.supportsCount());
      assertEquals(expected, query.count(range));
      assertEquals(query.queryResult(range, Long.MAX_VALUE).records().size(), expected);
      assertThat(service.requestBodies.get(0), containsString("\\n| count"));
    }
  }

  @Test
  public void earliestIsTheKqlsMinimumOfTheTimeColumn() throws Exception {
    try (LogAnalyticsTestService service = new LogAnalyticsTestService(times())) {
      assertEquals(
          java.util.Optional.of(T0.minusNanos(1_000)), service.query("Events").earliest());
      assertThat(
          service.requestBodies.get(0), containsString("Events\\n| summarize min(TimeGenerated)"));
    }
    try (LogAnalyticsTestService empty = new LogAnalyticsTestService(List.of())) {
      assertEquals(java.util.Optional.empty(), empty.query("Events").earliest());
    }
  }

  @Test
  public void aStreamingReadAcrossManyTokenExpiriesLosesNothing() throws Exception {
    Instant start = Instant.now().minusSeconds(600).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    List<Instant> times = new ArrayList<>();
    for (int i = 0; i < 500; i++) {
      times.add(start.plusMillis(i * 1_000L + i % 7));
    }
    try (LogAnalyticsTestService service = new LogAnalyticsTestService(times)) {
      service.queriesPerToken = 3; // every token "expires" after three queries: a 401
      DirectOptions options = PipelineOptionsFactory.as(DirectOptions.class);
      options.setBlockOnRun(false);
      options.setTargetParallelism(1); // see aBackfillReadsRecordsOnBothBoundsOfEveryChunkOnce
      Pipeline streaming = Pipeline.create(options);
      String out = PipelineSupport.newCollection();
      PCollection<Row> rows =
          streaming.apply(
              TimeRangeIO.<Row>read()
                  .withQuery(service.query("Events"))
                  .withStartTime(start)
                  .withIngestionLag(Duration.ZERO)
                  .withPollInterval(Duration.ofMillis(200))
                  .withPartitionDuration(Duration.ofSeconds(20)));
      assertEquals(PCollection.IsBounded.UNBOUNDED, rows.isBounded());
      ids(rows).apply(ParDo.of(new PipelineSupport.Collect<>(out)));
      PipelineResult result = streaming.run();
      try {
        PipelineSupport.awaitCondition(
            result,
            () -> PipelineSupport.collected(out).size() >= times.size(),
            org.joda.time.Duration.standardMinutes(2),
            "every record");
        List<Long> got = PipelineSupport.<Long>collected(out).stream().sorted().collect(Collectors.toList());
        assertEquals(idsIn(times, start, start.plusSeconds(600)), got);
        assertThat(service.expiredTokenAnswers.get(), greaterThanOrEqualTo(5));
        assertThat(service.tokensIssued.get(), greaterThanOrEqualTo(6));
      } finally {
        result.cancel();
      }
    }
  }

  @Test
  public void badSettingsAreRejectedNamingTheValue() {
    assertThat(
        assertThrows(
                IllegalArgumentException.class,
                () -> LogAnalyticsQuery.forWorkspace("ws?x=1", "Events"))
            .getMessage(),
        containsString("ws?x=1"));
    assertThat(
        assertThrows(
                IllegalArgumentException.class,
                () -> LogAnalyticsQuery.forWorkspace(LogAnalyticsTestService.WORKSPACE, "Events")
                    .withEndpoint("http://api.example.com"))
            .getMessage(),
        containsString("withEndpoint(baseUrl)"));
    assertThat(
        assertThrows(
                IllegalArgumentException.class,
                () -> LogAnalyticsQuery.forWorkspace(LogAnalyticsTestService.WORKSPACE, "Events")
                    .withTimeColumn("Time Generated"))
            .getMessage(),
        containsString("Time Generated"));
    IllegalStateException missing =
        assertThrows(
            IllegalStateException.class,
            () -> LogAnalyticsQuery.forWorkspace(LogAnalyticsTestService.WORKSPACE, "Events").schema());
    assertThat(missing.getMessage(), containsString("withClientCredentials"));
  }

  @Test
  public void theCloudsUseTheirDocumentedHosts() {
    for (LogAnalyticsQuery.Cloud cloud : LogAnalyticsQuery.Cloud.values()) {
      String text =
          LogAnalyticsQuery.forWorkspace(LogAnalyticsTestService.WORKSPACE, "Events")
              .withCloud(cloud)
              .withClientCredentials("tenant", "client", "x")
              .toString();
      assertThat(text, containsString(cloud.endpoint));
      assertThat(text, containsString(cloud.authorityHost + "/tenant/oauth2/v2.0/token"));
    }
    assertEquals("https://login.microsoftonline.us", LogAnalyticsQuery.Cloud.US_GOVERNMENT.authorityHost);
    assertEquals("https://api.loganalytics.azure.cn", LogAnalyticsQuery.Cloud.CHINA.endpoint);
  }
}
