package dev.timerangeio;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.math.BigInteger;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The JSON offsets of the progress store: text, round trips, order and errors. */
@RunWith(JUnit4.class)
public class ProgressOffsetTest {
  private static final long T = Times.toMicros("t", Instant.parse("2026-11-24T10:00:00.000001Z"));

  @Test
  public void timestampOffsetIsIsoJsonAtTheMicrosecond() {
    ProgressOffset offset = ProgressOffset.ofTimestamp(T);
    assertEquals("{\"timestamp\":\"2026-11-24T10:00:00.000001Z\"}", offset.toJson());
    assertEquals(offset, ProgressOffset.fromJson(offset.toJson()));
  }

  @Test
  public void multiFieldOffsetKeepsItsTypesThroughJson() {
    ProgressOffset numbers = ProgressOffset.of(T, 42L, 3);
    ProgressOffset strings = ProgressOffset.of(T, "0042", "eu-1");
    ProgressOffset big = ProgressOffset.of(T, new BigInteger("123456789012345678901234567890"), 0L);
    assertEquals(
        "{\"timestamp\":\"2026-11-24T10:00:00.000001Z\",\"sequence_id\":42,\"partition_id\":3}",
        numbers.toJson());
    assertEquals(
        "{\"timestamp\":\"2026-11-24T10:00:00.000001Z\",\"sequence_id\":\"0042\","
            + "\"partition_id\":\"eu-1\"}",
        strings.toJson());
    for (ProgressOffset o : List.of(numbers, strings, big)) {
      ProgressOffset back = ProgressOffset.fromJson(o.toJson());
      assertEquals(o, back);
      assertEquals(o.sequenceId().getClass(), back.sequenceId().getClass());
    }
  }

  @Test
  public void offsetsOrderFieldByFieldAsTypedValuesNotAsText() {
    List<ProgressOffset> expected =
        List.of(
            ProgressOffset.ofTimestamp(T - 1),
            ProgressOffset.ofTimestamp(T),
            ProgressOffset.of(T, 9L, 5L),
            ProgressOffset.of(T, 10L, 2L), // 9 < 10 as numbers, though "10" < "9" as text
            ProgressOffset.of(T, 10L, 10L),
            ProgressOffset.of(T, new BigInteger("99999999999999999999"), 0L),
            ProgressOffset.ofTimestamp(T + 1)); // the timestamp decides first
    List<ProgressOffset> shuffled = new ArrayList<>(expected);
    Collections.shuffle(shuffled, new java.util.Random(7));
    Collections.sort(shuffled);
    assertEquals(expected, shuffled);
    assertTrue(ProgressOffset.of(T, "a", "x").compareTo(ProgressOffset.of(T, "b", "a")) < 0);
  }

  @Test
  public void comparingANumberWithAStringIsAnErrorNotAGuess() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> ProgressOffset.of(T, 1L, 0L).compareTo(ProgressOffset.of(T, "1", 0L)));
    assertThat(e.getMessage(), containsString("sequence_id"));
  }

  @Test
  public void foreignOrBrokenJsonIsRejectedWithTheReason() {
    String[][] cases = {
      {"{\"timestamp\": \"2026-11-24T10:00:00Z\"", "not JSON"},
      {"[1, 2]", "not a JSON object"},
      {"{}", "\"timestamp\" must be an ISO-8601 instant string, was null"},
      {"{\"timestamp\": 1732442400000000}", "\"timestamp\" must be an ISO-8601 instant string"},
      {"{\"timestamp\": \"yesterday\"}", "not an ISO-8601 instant: yesterday"},
      {"{\"timestamp\": \"2026-11-24T10:00:00Z\", \"lsn\": 5}", "unknown field \"lsn\""},
      {"{\"timestamp\": \"2026-11-24T10:00:00Z\", \"sequence_id\": 1.5}", "\"sequence_id\" must be an integer or a string"},
      {"{\"timestamp\": \"2026-11-24T10:00:00.0000001Z\"}", "not an ISO-8601 instant"},
    };
    for (String[] c : cases) {
      IllegalArgumentException e =
          assertThrows(c[0], IllegalArgumentException.class, () -> ProgressOffset.fromJson(c[0]));
      assertThat(c[0], e.getMessage(), containsString(c[1]));
    }
  }
}
