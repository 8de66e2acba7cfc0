package dev.timerangeio.splunk;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import dev.timerangeio.TimeRange;
import dev.timerangeio.TimeRangeIO;
import dev.timerangeio.TransientSourceException;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.schemas.logicaltypes.MicrosInstant;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.Row;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The Splunk connector against a search export endpoint served on 127.0.0.1. */
@RunWith(JUnit4.class)
public class SplunkSearchQueryTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  @Rule public final transient TestPipeline p = TestPipeline.create();

  /**
   * Events every 900 ms over 3 minutes plus one on every 10 s chunk bound and 1 µs before it;
   * indexed 0 to 40 s after their time (whole seconds).
   */
  private static List<Instant> times() {
    List<Instant> times = new ArrayList<>();
    for (long ms = 0; ms < 180_000; ms += 900) {
      times.add(T0.plusMillis(ms).plusNanos(456_000));
    }
    for (int s = 0; s <= 180; s += 10) {
      times.add(T0.plusSeconds(s));
      times.add(T0.plusSeconds(s).minusNanos(1_000));
    }
    return times;
  }

  private static List<Long> indexTimes(List<Instant> times) {
    List<Long> index = new ArrayList<>();
    for (int i = 0; i < times.size(); i++) {
      index.add(times.get(i).getEpochSecond() + (i * 7L) % 41);
    }
    return index;
  }

  private static PCollection<Long> ids(PCollection<Row> rows) {
    return rows.apply(MapElements.into(TypeDescriptors.longs()).via(r -> Long.parseLong(r.getString("_cd").substring(4))));
  }

  @Test
  public void anEventTimeBackfillReadsEveryEventOnceWithBoundsAsFormFields() throws Exception {
    List<Instant> times = times();
    try (SplunkTestService service = new SplunkTestService(times, indexTimes(times))) {
      PCollection<Row> rows =
          p.apply(
              TimeRangeIO.<Row>read()
                  .withQuery(service.query("index=security"))
                  .withStartTime(T0)
                  .withEndTime(T0.plusSeconds(180))
                  .withPartitionDuration(Duration.ofSeconds(10)));
      List<Long> expected = new ArrayList<>();
      for (int i = 0; i < times.size(); i++) {
        if (!times.get(i).isBefore(T0) && times.get(i).isBefore(T0.plusSeconds(180))) {
          expected.add((long) i);
        }
      }
      PAssert.that(ids(rows)).containsInAnyOrder(expected);
      p.run().waitUntilFinish();

      Map<String, String> form = service.forms.get(0);
      assertEquals("search index=security", form.get("search"));
      assertEquals("json", form.get("output_mode"));
      assertTrue(form.get("earliest_time").matches("[0-9]+\\.[0-9]{6}"));
      assertFalse("bounds are never added to the SPL", form.get("search").contains("earliest"));
    }
  }

  @Test
  public void anIndexTimeReadQueriesByIndexTimeAndStampsByEventTime() throws Exception {
    List<Instant> times = times();
    List<Long> index = indexTimes(times);
    try (SplunkTestService service = new SplunkTestService(times, index)) {
      long from = T0.getEpochSecond() + 20;
      long to = T0.getEpochSecond() + 150;
      PCollection<Row> rows =
          p.apply(
              TimeRangeIO.<Row>read()
                  .withQuery(service.query("index=security").withIndexTime())
                  .withStartTime(Instant.ofEpochSecond(from))
                  .withEndTime(Instant.ofEpochSecond(to))
                  .withPartitionDuration(Duration.ofMillis(7_300))
                  // Events are indexed up to 40 s after their time: never behind the watermark.
                  .withWatermarkDelay(Duration.ofSeconds(41)));
      List<Long> expected = new ArrayList<>();
      for (int i = 0; i < times.size(); i++) {
        if (index.get(i) >= from && index.get(i) < to) {
          expected.add((long) i);
        }
      }
      PAssert.that(ids(rows)).containsInAnyOrder(expected);
      PAssert.that(
              rows.apply(
                  "Stamped",
                  org.apache.beam.sdk.transforms.ParDo.of(new StampMatchesTime())))
          .satisfies(
              checks -> {
                for (Boolean ok : checks) {
                  assertTrue("stamped by _time", ok);
                }
                return null;
              });
      p.run().waitUntilFinish();
      assertTrue(service.forms.stream().allMatch(f -> f.containsKey("index_earliest") && !f.containsKey("earliest_time")));
    }
  }

  /** Whether each record's timestamp is its {@code _time} (to the millisecond). */
  static final class StampMatchesTime extends org.apache.beam.sdk.transforms.DoFn<Row, Boolean> {
    @ProcessElement
    public void process(
        @Element Row row,
        @Timestamp org.joda.time.Instant timestamp,
        OutputReceiver<Boolean> out) {
      Instant time = row.getValue("_time");
      out.output(timestamp.getMillis() == time.toEpochMilli());
    }
  }

  @Test
  public void rowsHaveExactlyTheDefaultFieldsAndTheNamedOnes() throws Exception {
    List<Instant> times = times();
    try (SplunkTestService service = new SplunkTestService(times, indexTimes(times))) {
      SplunkSearchQuery query = service.query("index=security").withFields("user", "tags");
      Schema schema = query.schema();
      assertEquals(
          List.of("_time", "host", "source", "sourcetype", "index", "_raw", "_cd", "_indextime", "user", "tags"),
          schema.getFieldNames());
      assertEquals(
          Schema.FieldType.logicalType(new MicrosInstant()).withNullable(true),
          schema.getField("_time").getType());

      Row row =
          query.queryResult(TimeRange.of(T0.plusMillis(900), T0.plusMillis(901)), Long.MAX_VALUE)
              .records().get(0);
      assertEquals(T0.plusMillis(900).plusNanos(456_000), row.getValue("_time"));
      assertEquals("u1", row.getString("user"));
      assertEquals("[\"a\",\"b1\"]", row.getString("tags"));
      assertEquals(String.valueOf(T0.getEpochSecond() + 7), row.getString("_indextime"));
    }
  }

  @Test
  public void anIndexTimeReadRefusesAnEventThatWouldBeBehindTheWatermark() throws Exception {
    List<Instant> times = times();
    try (SplunkTestService service = new SplunkTestService(times, indexTimes(times))) {
      long from = T0.getEpochSecond() + 20;
      p.apply(
          TimeRangeIO.<Row>read()
              .withQuery(service.query("index=security").withIndexTime())
              .withStartTime(Instant.ofEpochSecond(from))
              .withEndTime(Instant.ofEpochSecond(from + 60))
              .withPartitionDuration(Duration.ofSeconds(10))
              .withWatermarkDelay(Duration.ofSeconds(5)));
      Exception e = assertThrows(Exception.class, () -> p.run().waitUntilFinish());
      assertThat(
          String.valueOf(e.getMessage()),
          containsString("behind the watermark"));
    }
  }

  @Test
  public void aResultWithoutItsQueryTimeIsReportedNeverKeptOrDropped() throws Exception {
    Schema schema = Schema.builder().addNullableField("host", Schema.FieldType.STRING).build();
    byte[] body =
        ("{\"preview\":false,\"result\":{\"host\":\"a\",\"_indextime\":\"" + (T0.getEpochSecond() + 1) + "\"}}\n"
                + "{\"preview\":false,\"lastrow\":true,\"result\":{\"host\":\"b\"}}\n")
            .getBytes(java.nio.charset.StandardCharsets.UTF_8);
    dev.timerangeio.TimeRangeQuery.Result<Row> result =
        SplunkExport.parse(
            body, schema, new SplunkExport.Filter("_indextime", TimeRange.of(T0, T0.plusSeconds(10))), "a test");
    assertEquals(1, result.records().size());
    assertEquals(1, result.unmapped().size());
    assertThat(result.unmapped().get(0).error().getMessage(), containsString("no _indextime"));
  }

  @Test
  public void boundsBefore1970AreWrittenAsTheirValue() {
    assertEquals("-1.000001", SplunkSearchQuery.seconds(-1_000_001));
    assertEquals("0.000000", SplunkSearchQuery.seconds(0));
    assertEquals("1714521600.000001", SplunkSearchQuery.seconds(1_714_521_600_000_001L));
  }

  @Test
  public void anErrorMessageInTheStreamFailsTheChunkWithItsText() throws Exception {
    List<Instant> times = times();
    try (SplunkTestService service = new SplunkTestService(times, indexTimes(times))) {
      service.errorMessage = "Error in 'search' command: unbalanced quotes";
      IOException e =
          assertThrows(
              IOException.class,
              () -> service.query("index=security").queryResult(TimeRange.of(T0, T0.plusSeconds(30)), 100));
      assertThat(e.getMessage(), containsString("unbalanced quotes"));
    }
  }

  @Test
  public void aStreamCutShortIsTransient() throws Exception {
    List<Instant> times = times();
    try (SplunkTestService service = new SplunkTestService(times, indexTimes(times))) {
      service.cutShort = true;
      assertThrows(
          TransientSourceException.class,
          () -> service.query("index=security").queryResult(TimeRange.of(T0, T0.plusSeconds(30)), 100));
    }
  }

  @Test
  public void aRefusedTokenFailsWithoutShowingIt() throws Exception {
    List<Instant> times = times();
    try (SplunkTestService service = new SplunkTestService(times, indexTimes(times))) {
      SplunkSearchQuery query =
          SplunkSearchQuery.forSearch(service.url(), "index=security").withToken("wrong-" + SplunkTestService.TOKEN);
      IOException e =
          assertThrows(IOException.class, () -> query.queryResult(TimeRange.of(T0, T0.plusSeconds(1)), 10));
      assertThat(e.getMessage(), containsString("HTTP 401"));
      assertThat(e.getMessage(), containsString("not properly authenticated"));
      assertThat(e.getMessage(), not(containsString(SplunkTestService.TOKEN)));
      String display =
          DisplayData.from(TimeRangeIO.<Row>read().withQuery(query).withStartTime(T0)).toString();
      assertThat(display, containsString("search index=security"));
      assertThat(display, not(containsString(SplunkTestService.TOKEN)));
      assertThat(query.toString(), not(containsString(SplunkTestService.TOKEN)));
    }
  }

  @Test
  public void theTokenIsSentWithItsScheme() throws Exception {
    List<Instant> times = times();
    try (SplunkTestService service = new SplunkTestService(times, indexTimes(times))) {
      service.query("index=security").queryResult(TimeRange.of(T0, T0.plusSeconds(1)), 10);
      assertEquals("Splunk " + SplunkTestService.TOKEN, service.authorizations.get(0));
      try {
        service.query("index=security").withAuthScheme("Bearer").queryResult(TimeRange.of(T0, T0.plusSeconds(1)), 10);
      } catch (IOException refusedByThisService) {
        // this service takes only the Splunk scheme; what matters is what was sent
      }
      assertEquals("Bearer " + SplunkTestService.TOKEN, service.authorizations.get(1));
    }
  }

  @Test
  public void earliestIsTheSearchsOldestTime() throws Exception {
    List<Instant> times = times();
    try (SplunkTestService service = new SplunkTestService(times, indexTimes(times))) {
      assertEquals(java.util.Optional.of(T0.minusNanos(1_000)), service.query("index=security").earliest());
      assertThat(service.forms.get(0).get("search"), containsString("| stats min(_time) as earliest"));
    }
  }

  @Test
  public void anSplNeedingSearchGetsItAndBadSettingsAreRejectedNamingTheValue() {
    assertEquals("search index=a", SplunkSearchQuery.forSearch("https://s:8089", "index=a").search());
    assertEquals("search index=a", SplunkSearchQuery.forSearch("https://s:8089", " search index=a").search());
    assertEquals("| tstats count", SplunkSearchQuery.forSearch("https://s:8089", "| tstats count").search());
    assertThat(
        assertThrows(IllegalArgumentException.class, () -> SplunkSearchQuery.forSearch("http://splunk.example.com:8089", "x"))
            .getMessage(),
        containsString("http://splunk.example.com:8089"));
    assertThat(
        assertThrows(IllegalArgumentException.class, () -> SplunkSearchQuery.forSearch("https://s:8089", "x").withAuthScheme("Basic"))
            .getMessage(),
        containsString("Basic"));
    assertThat(
        assertThrows(IllegalStateException.class, () -> SplunkSearchQuery.forSearch("https://s:8089", "x").schema())
            .getMessage(),
        containsString("withToken"));
  }
}
