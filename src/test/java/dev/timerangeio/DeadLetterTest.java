package dev.timerangeio;

import static dev.timerangeio.PipelineSupport.counter;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.Assert.assertEquals;

import dev.timerangeio.http.HttpTimeRangeQuery;
import dev.timerangeio.http.HttpTimeRangeQueryTest;
import dev.timerangeio.jdbc.JdbcTimeRangeQuery;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.CoderException;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.errorhandling.BadRecord;
import org.apache.beam.sdk.transforms.errorhandling.ErrorHandler.BadRecordErrorHandler;
import org.apache.beam.sdk.util.CoderUtils;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** Records failing their checks go to a Beam bad-record handler when one is configured. */
@RunWith(JUnit4.class)
public class DeadLetterTest {
  private static final long MINUTE = 60_000_000L;
  private static final long T0 = 1_714_521_600_000_000L; // 2024-05-01T00:00:00Z

  @Rule public final transient TestPipeline p = TestPipeline.create();

  /** Collects a description of each bad record into a static collection. */
  static final class CollectBadRecords
      extends PTransform<PCollection<BadRecord>, PCollection<Void>> {
    private final String id;
    private final org.apache.beam.sdk.transforms.SerializableFunction<BadRecord, String> describe;

    CollectBadRecords(
        String id, org.apache.beam.sdk.transforms.SerializableFunction<BadRecord, String> describe) {
      this.id = id;
      this.describe = describe;
    }

    @Override
    public PCollection<Void> expand(PCollection<BadRecord> input) {
      return input
          .apply(
              org.apache.beam.sdk.transforms.MapElements.into(
                      org.apache.beam.sdk.values.TypeDescriptors.strings())
                  .via(describe))
          .apply(ParDo.of(new PipelineSupport.Collect<>(id)));
    }
  }

  static String describe(BadRecord bad) {
    try {
      KV<Long, Long> record =
          CoderUtils.decodeFromByteArray(TestSource.CODER, bad.getRecord().getEncodedRecord());
      return record.getValue() + " | " + bad.getFailure().getDescription();
    } catch (CoderException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Ids ending in 3 have no time; ids ending in 7 claim a time two hours after their chunk. */
  static Instant badlyTimed(KV<Long, Long> record) {
    long id = record.getValue();
    if (id % 10 == 3) {
      return null;
    }
    return Times.toInstant(record.getKey() + (id % 10 == 7 ? 120 * MINUTE : 0));
  }

  @Test
  public void badRecordsGoToTheHandlerWithTheirReasonAndTheRestIsRead() {
    long[] times = new long[100];
    for (int i = 0; i < times.length; i++) {
      times[i] = T0 + i * (MINUTE / 10);
    }
    TestSource source = TestSource.of(times);
    String bad = PipelineSupport.newCollection();
    PCollection<KV<Long, Long>> good;
    try (BadRecordErrorHandler<PCollection<Void>> handler =
        p.registerBadRecordErrorHandler(new CollectBadRecords(bad, DeadLetterTest::describe))) {
      good =
          p.apply(
              TimeRangeIO.<KV<Long, Long>>read()
                  .withQuery(source)
                  .withCoder(TestSource.CODER)
                  .withStartTime(Times.toInstant(T0))
                  .withEndTime(Times.toInstant(T0 + 10 * MINUTE))
                  .withPartitionDuration(Duration.ofMinutes(1))
                  .withIngestionLag(Duration.ZERO)
                  .withTimestampFn(DeadLetterTest::badlyTimed)
                  .withBadRecordErrorHandler(handler));
    }
    List<KV<Long, Long>> expected = new ArrayList<>();
    for (KV<Long, Long> r : source.records()) {
      if (r.getValue() % 10 != 3 && r.getValue() % 10 != 7) {
        expected.add(r);
      }
    }
    PAssert.that(good).containsInAnyOrder(expected);

    PipelineResult result = p.run();
    result.waitUntilFinish();

    List<String> reasons = PipelineSupport.collected(bad);
    assertEquals(20, reasons.size());
    assertEquals(10L, counter(result, "badRows"));
    assertEquals(10L, counter(result, "outOfRangeRows"));
    assertEquals(80L, counter(result, "rowsRead"));
    for (String reason : reasons) {
      long id = Long.parseLong(reason.substring(0, reason.indexOf(' ')));
      assertThat(
          reason,
          containsString(id % 10 == 3 ? "withTimestampFn returned null" : "lies outside the range it was asked for"));
    }
  }

  /** "row | exception" of a bad record whose record is a source row as text. */
  static String describeRow(BadRecord bad) {
    try {
      return CoderUtils.decodeFromByteArray(
              org.apache.beam.sdk.coders.StringUtf8Coder.of(), bad.getRecord().getEncodedRecord())
          + " | "
          + bad.getFailure().getException();
    } catch (CoderException e) {
      throw new IllegalStateException(e);
    }
  }

  /** An H2 table of 100 rows a minute apart whose amount is a number except on ids ≡ 0 mod 25. */
  private static String tableWithUnparsableAmounts() throws Exception {
    String url = TestDatabases.newH2Url();
    try (java.sql.Connection c = java.sql.DriverManager.getConnection(url);
        java.sql.Statement s = c.createStatement()) {
      s.execute("CREATE TABLE payments (id BIGINT PRIMARY KEY, t TIMESTAMP(6), amount VARCHAR(10))");
      for (int i = 0; i < 100; i++) {
        s.execute(
            "INSERT INTO payments VALUES (" + i + ", '2024-05-01 00:" + (i < 60 ? "00" : "01")
                + ":" + String.format("%02d", i % 60) + "', '" + (i % 25 == 0 ? "n/a" : i) + "')");
      }
    }
    return url;
  }

  private static TimeRangeIO.Read<KV<Long, Long>> paymentsRead(String url) {
    JdbcTimeRangeQuery<KV<Long, Long>> query =
        JdbcTimeRangeQuery.forTable(
            url, "payments", "t", rs -> KV.of(rs.getLong("id"), Long.parseLong(rs.getString("amount"))));
    return TimeRangeIO.<KV<Long, Long>>read()
        .withQuery(query)
        .withCoder(TestSource.CODER)
        .withStartTime("2024-05-01T00:00:00Z")
        .withEndTime(Instant.parse("2024-05-01T00:02:00Z"))
        .withPartitionDuration(Duration.ofSeconds(30))
        .withIngestionLag(Duration.ZERO);
  }

  @Test
  public void jdbcRowsTheMapperCannotMapGoToTheHandlerAsTextWithTheException() throws Exception {
    String url = tableWithUnparsableAmounts();
    String bad = PipelineSupport.newCollection();
    PCollection<KV<Long, Long>> good;
    try (BadRecordErrorHandler<PCollection<Void>> handler =
        p.registerBadRecordErrorHandler(new CollectBadRecords(bad, DeadLetterTest::describeRow))) {
      good = p.apply(paymentsRead(url).withBadRecordErrorHandler(handler));
    }
    List<KV<Long, Long>> expected = new ArrayList<>();
    for (long i = 0; i < 100; i++) {
      if (i % 25 != 0) {
        expected.add(KV.of(i, i));
      }
    }
    PAssert.that(good).containsInAnyOrder(expected);

    PipelineResult result = p.run();
    result.waitUntilFinish();

    List<String> rows = PipelineSupport.collected(bad);
    java.util.Collections.sort(rows);
    assertEquals(4, rows.size());
    assertThat(rows.get(0), containsString("ID=0, T=2024-05-01 00:00:00, AMOUNT=n/a"));
    assertThat(rows.get(0), containsString("NumberFormatException: For input string: \"n/a\""));
    assertEquals(4L, counter(result, "badRows"));
    assertEquals(96L, counter(result, "rowsRead"));
  }

  @Test
  public void withoutAHandlerAnUnmappableRowFailsThePipelineWithTheMappersError()
      throws Exception {
    p.apply(paymentsRead(tableWithUnparsableAmounts()));

    Exception e =
        org.junit.Assert.assertThrows(
            org.apache.beam.sdk.Pipeline.PipelineExecutionException.class, p::run);

    assertThat(e.getMessage(), containsString("For input string: \"n/a\""));
  }

  @Test
  public void httpElementsTheMapperCannotMapGoToTheHandlerAsJson() throws Exception {
    long[] times = {T0, T0 + 1, T0 + MINUTE, T0 + MINUTE + 7};
    try (FaultyApiServer server =
        new FaultyApiServer(times, 100, 10_000, new double[] {0, 0, 0, 0}, 0)) {
      HttpTimeRangeQuery<KV<Long, Long>> query =
          HttpTimeRangeQuery.get(
                  server.url("/events?since={from}&until={to}"),
                  json -> {
                    if (json.get("id").asLong() == 1) {
                      throw new IllegalArgumentException("id 1 is not for us");
                    }
                    return HttpTimeRangeQueryTest.toRecord(json);
                  })
              .withRecordsPointer("/data")
              .withNextPageToken("/next_page_token", "page_token");
      String bad = PipelineSupport.newCollection();
      PCollection<KV<Long, Long>> good;
      try (BadRecordErrorHandler<PCollection<Void>> handler =
          p.registerBadRecordErrorHandler(new CollectBadRecords(bad, DeadLetterTest::describeRow))) {
        good =
            p.apply(
                TestSource.boundedRead(query, T0, T0 + 2 * MINUTE, Duration.ofMinutes(1))
                    .withBadRecordErrorHandler(handler));
      }
      PAssert.that(good)
          .containsInAnyOrder(KV.of(T0, 0L), KV.of(T0 + MINUTE, 2L), KV.of(T0 + MINUTE + 7, 3L));

      p.run().waitUntilFinish();

      List<String> rows = PipelineSupport.collected(bad);
      assertEquals(1, rows.size());
      assertThat(rows.get(0), containsString("\"id\":1"));
      assertThat(rows.get(0), containsString("id 1 is not for us"));
    }
  }
}
