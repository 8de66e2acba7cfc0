package dev.timerangeio;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.allOf;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.hasItem;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.timerangeio.jdbc.JdbcTimeRangeQuery;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.schemas.SchemaCoder;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.junit.Test;
import org.junit.function.ThrowingRunnable;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** Bad configurations fail at construction or expand(), naming the option and the value. */
@RunWith(JUnit4.class)
public class ReadConfigurationTest {
  private static final TimeRangeIO.Read<KV<Long, Long>> READ =
      TimeRangeIO.<KV<Long, Long>>read().withQuery(TestSource.of()).withCoder(TestSource.CODER);

  private static void assertRejected(
      Class<? extends RuntimeException> type, ThrowingRunnable r, String... fragments) {
    RuntimeException e = assertThrows(type, r);
    for (String fragment : fragments) {
      assertThat(e.getMessage(), containsString(fragment));
    }
  }

  private static void assertIllegalArgument(ThrowingRunnable r, String... fragments) {
    assertRejected(IllegalArgumentException.class, r, fragments);
  }

  private static Pipeline pipeline() {
    return Pipeline.create(PipelineOptionsFactory.create());
  }

  @Test
  public void badRetrySettingsAreRejectedNamingOptionAndValue() {
    assertIllegalArgument(() -> READ.withMaxRetries(-1), "withMaxRetries", "was -1");
    assertIllegalArgument(
        () -> READ.withInitialBackoff(Duration.ZERO), "withInitialBackoff", "PT0S");
    assertIllegalArgument(
        () -> READ.withMaxRetryDuration(Duration.ofSeconds(-5)), "withMaxRetryDuration", "PT-5S");
    assertIllegalArgument(() -> READ.withMaxRowsPerQuery(0), "withMaxRowsPerQuery", "was 0");
    assertIllegalArgument(
        () -> READ.withMaxQueriesPerSecond(Double.NaN), "withMaxQueriesPerSecond", "was NaN");
    assertIllegalArgument(
        () -> READ.withMaxQueriesPerSecond(-1), "withMaxQueriesPerSecond", "was -1.0");
    assertIllegalArgument(
        () -> READ.withMaxConcurrentQueries(0), "withMaxConcurrentQueries", "was 0");
  }

  @Test
  public void zeroPartitionDurationIsRejected() {
    assertIllegalArgument(() -> READ.withPartitionDuration(Duration.ZERO), "withPartitionDuration", "PT0S");
  }

  @Test
  public void negativePartitionDurationIsRejected() {
    assertIllegalArgument(
        () -> READ.withPartitionDuration(Duration.ofSeconds(-5)), "withPartitionDuration", "PT-5S");
  }

  @Test
  public void subMicrosecondPartitionDurationIsRejected() {
    assertIllegalArgument(
        () -> READ.withPartitionDuration(Duration.ofNanos(1_500)),
        "withPartitionDuration",
        "microseconds");
  }

  @Test
  public void nullPartitionDurationIsRejected() {
    assertIllegalArgument(() -> READ.withPartitionDuration(null), "withPartitionDuration", "null");
  }

  @Test
  public void negativeIngestionLagIsRejected() {
    assertIllegalArgument(
        () -> READ.withIngestionLag(Duration.ofMinutes(-1)), "withIngestionLag", "PT-1M");
  }

  @Test
  public void zeroPollIntervalIsRejected() {
    assertIllegalArgument(() -> READ.withPollInterval(Duration.ZERO), "withPollInterval", "PT0S");
  }

  @Test
  public void negativeWatermarkDelayIsRejected() {
    assertIllegalArgument(
        () -> READ.withWatermarkDelay(Duration.ofSeconds(-1)), "withWatermarkDelay", "PT-1S");
  }

  @Test
  public void zeroOrNegativeLookbackIsRejected() {
    assertIllegalArgument(() -> READ.withLookback(Duration.ZERO), "withLookback", "PT0S");
    assertIllegalArgument(
        () -> READ.withLookback(Duration.ofSeconds(-5)), "withLookback", "PT-5S");
  }

  @Test
  public void lookbackIsShownAsNoneUntilSet() {
    java.util.Map<String, String> items = new java.util.HashMap<>();
    for (DisplayData.Item item : DisplayData.from(READ).items()) {
      items.put(item.getKey(), String.valueOf(item.getValue()));
    }
    assertEquals("none (each chunk read once)", items.get("lookback"));
  }

  @Test
  public void unparsableStartIsRejectedNamingTheValueAndTheAcceptedForms() {
    assertIllegalArgument(
        () -> READ.withStartTime("yesterday"),
        "withStartTime",
        "\"yesterday\"",
        "earliest",
        "latest",
        "ISO-8601");
  }

  @Test
  public void startWithoutZoneIsRejected() {
    assertIllegalArgument(
        () -> READ.withStartTime("2024-05-01T00:00:00"),
        "withStartTime",
        "2024-05-01T00:00:00",
        "zone");
  }

  @Test
  public void startWithNanosecondsIsRejected() {
    assertIllegalArgument(
        () -> READ.withStartTime("2024-05-01T00:00:00.123456789Z"), "withStartTime", "microsecond");
  }

  @Test
  public void nullStartStringIsRejected() {
    assertIllegalArgument(() -> READ.withStartTime((String) null), "withStartTime", "null");
  }

  @Test
  public void nullStartInstantIsRejected() {
    assertIllegalArgument(() -> READ.withStartTime((Instant) null), "withStartTime", "null");
  }

  @Test
  public void nullEndIsRejected() {
    assertIllegalArgument(() -> READ.withEndTime(null), "withEndTime", "null");
  }

  @Test
  public void nullQueryIsRejected() {
    assertIllegalArgument(() -> READ.withQuery(null), "withQuery", "null");
  }

  @Test
  public void nullCoderIsRejected() {
    assertIllegalArgument(() -> READ.withCoder(null), "withCoder", "null");
  }

  @Test
  public void nullTimestampFnIsRejected() {
    assertIllegalArgument(() -> READ.withTimestampFn(null), "withTimestampFn", "null");
  }

  @Test
  public void zeroMaxInitialSplitsIsRejected() {
    assertIllegalArgument(() -> READ.withMaxInitialSplits(0), "withMaxInitialSplits", "0");
  }

  @Test
  public void endBeforeStartIsRejectedInExpand() {
    TimeRangeIO.Read<KV<Long, Long>> read =
        READ.withEndTime(Instant.parse("2024-05-01T00:00:00Z"))
            .withStartTime("2024-05-02T00:00:00Z");
    assertIllegalArgument(
        () -> pipeline().apply(read),
        "withEndTime",
        "2024-05-01T00:00:00Z",
        "2024-05-02T00:00:00Z");
  }

  @Test
  public void missingQueryIsRejectedInExpandNamingTheMethod() {
    assertRejected(
        IllegalStateException.class,
        () -> pipeline().apply(TimeRangeIO.<String>read()),
        "withQuery");
  }

  @Test
  public void uninferableCoderIsRejectedInExpandNamingTheMethod() {
    TimeRangeQuery<KV<Long, Long>> lambda = range -> java.util.List.of();
    assertRejected(
        IllegalStateException.class,
        () -> pipeline().apply(TimeRangeIO.<KV<Long, Long>>read().withQuery(lambda)),
        "withCoder");
  }

  @Test
  public void earliestWithAQueryThatCannotAnswerIsRejectedInExpand() {
    TimeRangeQuery<KV<Long, Long>> lambda = range -> java.util.List.of();
    assertIllegalArgument(
        () -> pipeline().apply(READ.withQuery(lambda).withStartTime("earliest")),
        "withStartTime(\"earliest\")",
        "ISO-8601");
  }

  @Test
  public void earliestWithSqlQueryWithoutTimeColumnIsRejectedInExpand() {
    JdbcTimeRangeQuery<KV<Long, Long>> sql =
        JdbcTimeRangeQuery.forSql(
            "jdbc:h2:mem:unused", "SELECT * FROM t WHERE ts >= ? AND ts < ?", rs -> KV.of(1L, 1L));
    assertIllegalArgument(
        () -> pipeline().apply(READ.withQuery(sql).withStartTime("earliest")),
        "withStartTime(\"earliest\")");
    // The same query with its time column is accepted.
    pipeline().apply(READ.withQuery(sql.withTimeColumn("ts")).withStartTime("earliest"));
  }

  @Test
  public void timeRangeWithEndBeforeStartNamesBothValues() {
    assertIllegalArgument(() -> TimeRange.of(10, 5), "10", "5");
  }

  @Test
  public void acceptedStartFormsParseToTheMicrosecond() {
    assertEquals(
        Long.valueOf(1_714_521_600_000_001L),
        READ.withStartTime("2024-05-01T02:00:00.000001+02:00").getStartMicros());
    assertEquals(
        Long.valueOf(1_714_521_600_000_000L),
        READ.withStartTime("2024-05-01T02:00:00+02:00[Europe/Paris]").getStartMicros());
    assertEquals(TimeRangeIO.StartMode.EARLIEST, READ.withStartTime(" Earliest ").getStartMode());
    assertEquals(TimeRangeIO.StartMode.LATEST, READ.withStartTime("latest").getStartMode());
  }

  /** A query class with a concrete record type, so the coder can be inferred. */
  static final class StringQuery implements TimeRangeQuery<String> {
    @Override
    public Iterable<String> query(TimeRange range) {
      return java.util.List.of();
    }

    @Override
    public Optional<Instant> earliest() {
      return Optional.empty();
    }
  }

  @Test
  public void coderIsInferredFromTheQueryRecordType() {
    PCollection<String> out =
        pipeline().apply(TimeRangeIO.<String>read().withQuery(new StringQuery()));
    assertEquals(StringUtf8Coder.of(), out.getCoder());
  }

  /** A serializable POJO with a schema: the registry alone would give it SerializableCoder. */
  @org.apache.beam.sdk.schemas.annotations.DefaultSchema(
      org.apache.beam.sdk.schemas.JavaFieldSchema.class)
  public static final class Event implements java.io.Serializable {
    public long id;
    public String payload;
  }

  /** A query class that declares a record type with a schema. */
  static final class EventQuery implements TimeRangeQuery<Event> {
    @Override
    public Iterable<Event> query(TimeRange range) {
      return java.util.List.of();
    }
  }

  @Test
  public void aDeclaredRecordTypeWithASchemaGetsASchemaCoderNotJavaSerialization() {
    PCollection<Event> out =
        pipeline()
            .apply(TimeRangeIO.<Event>read().withQuery(new EventQuery()).withStartTime("latest"));
    assertTrue(out.getCoder().toString(), out.getCoder() instanceof SchemaCoder);
    assertTrue(out.hasSchema());
  }

  @Test
  public void withRecordTypeGivesALambdaQueryASchemaCoder() {
    TimeRangeQuery<Event> lambda = range -> java.util.List.of();
    PCollection<Event> out =
        pipeline()
            .apply(
                TimeRangeIO.<Event>read()
                    .withQuery(lambda)
                    .withRecordType(TypeDescriptor.of(Event.class)));
    assertTrue(out.getCoder().toString(), out.getCoder() instanceof SchemaCoder);
  }

  @Test
  public void aQueryWithoutADeclaredTypeNamesWithRecordTypeAndWithCoder() {
    TimeRangeQuery<Event> lambda = range -> java.util.List.of();
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> pipeline().apply(TimeRangeIO.<Event>read().withQuery(lambda)));
    assertThat(e.getMessage(), allOf(containsString("withRecordType"), containsString("withCoder")));
  }

  @Test
  public void displayDataShowsEverySetting() {
    DisplayData data =
        DisplayData.from(
            READ.withStartTime("2024-05-01T00:00:00Z")
                .withEndTime(Instant.parse("2024-05-02T00:00:00Z"))
                .withPartitionDuration(Duration.ofMinutes(5))
                .withIngestionLag(Duration.ofMinutes(2))
                .withPollInterval(Duration.ofSeconds(3))
                .withWatermarkDelay(Duration.ofSeconds(4))
                .withLookback(Duration.ofMinutes(10))
                .withTimestampFn(TestSource::timeOf)
                .withMaxInitialSplits(7)
                .withMaxRetries(3)
                .withInitialBackoff(Duration.ofMillis(250))
                .withMaxRetryDuration(Duration.ofMinutes(2))
                .withMaxRowsPerQuery(5_000)
                .withProgressLocation("/var/lib/job/progress.json")
                .withRecordType(new TypeDescriptor<KV<Long, Long>>() {}));
    java.util.Map<String, String> items = new java.util.HashMap<>();
    for (DisplayData.Item item : data.items()) {
      items.put(item.getKey(), String.valueOf(item.getValue()));
    }
    assertEquals(TestSource.class.getName(), items.get("query"));
    assertEquals("2024-05-01T00:00:00Z", items.get("startTime"));
    assertEquals("2024-05-02T00:00:00Z", items.get("endTime"));
    assertEquals("PT5M", items.get("partitionDuration"));
    assertEquals("PT2M", items.get("ingestionLag"));
    assertEquals("PT3S", items.get("pollInterval"));
    assertEquals("PT4S", items.get("watermarkDelay"));
    assertEquals("PT10M", items.get("lookback"));
    assertEquals("7", items.get("maxInitialSplits"));
    assertEquals("3", items.get("maxRetries"));
    assertEquals("PT0.25S", items.get("initialBackoff"));
    assertEquals("PT2M", items.get("maxRetryDuration"));
    assertEquals("5000", items.get("maxRowsPerQuery"));
    assertEquals("/var/lib/job/progress.json", items.get("progressLocation"));
    assertEquals(
        "org.apache.beam.sdk.values.KV<java.lang.Long, java.lang.Long>", items.get("recordType"));
    assertThat(items.keySet(), allOf(hasItem("coder"), hasItem("timestampFn")));
  }
}
