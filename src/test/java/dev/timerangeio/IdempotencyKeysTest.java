package dev.timerangeio;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertThrows;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.Row;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * Fixed vectors: a known value, its known canonical text, and that text's SHA-256 (computed
 * independently of this code, with Python's hashlib over the UTF-8 bytes).
 */
@RunWith(JUnit4.class)
public class IdempotencyKeysTest {

  private static void assertVector(Object value, String canonical, String sha256) {
    assertEquals(canonical, IdempotencyKeys.canonicalJson(value));
    assertEquals(sha256, IdempotencyKeys.of(value));
  }

  @Test
  public void mapKeysAreSortedWithoutWhitespace() {
    assertVector(
        Map.of("b", 1, "a", "x"),
        "{\"a\":\"x\",\"b\":1}",
        "cdab067e9f3beb32d1252cfd63e492592fecbf591b0d08cadb24bb17f3864246");
  }

  @Test
  public void listKeepsOrderTypesAndNulls() {
    assertVector(
        Arrays.asList(1, "1", null, true, 0.1),
        "[1,\"1\",null,true,0.1]",
        "36f4277d60f1ffc8720c89054fa9de1958376ebc55f8929c390228170519fad8");
  }

  @Test
  public void stringsAreEscapedAsRfc8785Says() {
    Map<String, Object> value = new HashMap<>();
    value.put("é", "😀");
    value.put("\n", "\u001f\b\f\r");
    value.put("quote\"back\\", "/tab\t");
    assertVector(
        value,
        "{\"\\n\":\"\\u001f\\b\\f\\r\",\"quote\\\"back\\\\\":\"/tab\\t\",\"é\":\"😀\"}",
        "02f259cb9b7bb6fd8c681ba80dece90536c53850edfb08541bac7ebf1ae2c40d");
  }

  @Test
  public void memberNamesSortByUtf16CodeUnitsNotCodePoints() {
    // U+1F600 is the surrogate pair D83D DE00, which sorts before U+FB01 in UTF-16.
    assertVector(
        Map.of("ﬁ", 2, "😀", 1),
        "{\"😀\":1,\"ﬁ\":2}",
        "00ab868e70bbb0fb50d560d1a59c0c27c10e8ff0760c288249b824274d6b3133");
  }

  @Test
  public void numbersHaveOneCanonicalForm() {
    assertVector(
        List.of(
            BigInteger.TWO.pow(70),
            Long.MAX_VALUE,
            new BigDecimal("1.2300"),
            1.0d,
            1.5e-7,
            -0.0d,
            -5),
        "[1180591620717411303424,9223372036854775807,1.23,1,0.00000015,0,-5]",
        "67fa62c4bf5fca5e3af305aeb3330b76a9fa99deb3f0aa2247b569a391ac558f");
  }

  /** A Java record, serialized through Jackson. */
  public record Point(int x, String label, List<Double> weights) {}

  @Test
  public void recordsAreObjectsOfTheirComponents() {
    assertVector(
        new Point(3, "p", List.of(1.0, 2.5)),
        "{\"label\":\"p\",\"weights\":[1,2.5],\"x\":3}",
        "caee2738b7cb5a5921dec3b5789a3aa19ae14a29399a0c02dda7c48dadf18d4d");
  }

  @Test
  public void beamRowIsAnObjectOfItsFieldNames() {
    Schema schema =
        Schema.builder()
            .addInt32Field("x")
            .addStringField("label")
            .addArrayField("weights", Schema.FieldType.DOUBLE)
            .build();
    Row row = Row.withSchema(schema).addValues(3, "p", List.of(1.0, 2.5)).build();
    assertEquals(IdempotencyKeys.of(new Point(3, "p", List.of(1.0, 2.5))), IdempotencyKeys.of(row));
  }

  @Test
  public void kvIsKeyAndValue() {
    assertEquals(
        "{\"key\":\"id-1\",\"value\":{\"n\":2}}",
        IdempotencyKeys.canonicalJson(KV.of("id-1", Map.of("n", 2))));
  }

  @Test
  public void keyOrderOfTheInputDoesNotMatter() {
    Map<String, Object> a = new LinkedHashMap<>();
    a.put("z", List.of(Map.of("b", 1, "a", 2)));
    a.put("a", null);
    Map<String, Object> b = new TreeMap<>(a);
    assertEquals(IdempotencyKeys.of(a), IdempotencyKeys.of(b));
    assertEquals("{\"a\":null,\"z\":[{\"a\":2,\"b\":1}]}", IdempotencyKeys.canonicalJson(a));
  }

  @Test
  public void stringOneAndNumberOneNeverCollide() {
    assertNotEquals(IdempotencyKeys.of("1"), IdempotencyKeys.of(1));
    assertNotEquals(IdempotencyKeys.of(Map.of("id", "1")), IdempotencyKeys.of(Map.of("id", 1)));
  }

  @Test
  public void timesAreIsoStrings() {
    assertEquals(
        "{\"t\":\"2024-05-01T00:00:00.000001Z\"}",
        IdempotencyKeys.canonicalJson(Map.of("t", Instant.parse("2024-05-01T00:00:00.000001Z"))));
  }

  @Test
  public void sourceIdentitySeparatesEqualRecords() {
    assertNotEquals(IdempotencyKeys.of("db-a", 42), IdempotencyKeys.of("db-b", 42));
    assertEquals(
        IdempotencyKeys.of(Map.of("source", "db-a", "value", 42)), IdempotencyKeys.of("db-a", 42));
  }

  @Test
  public void nanIsRejected() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> IdempotencyKeys.of(List.of(Double.NaN)));
    assertThat(e.getMessage(), containsString("NaN"));
  }

  @Test
  public void loneSurrogateIsRejected() {
    assertThrows(IllegalArgumentException.class, () -> IdempotencyKeys.of("a\ud800b"));
  }

  /** A class Jackson sees no property in: every instance would share one key. */
  static final class Opaque {}

  @Test
  public void valueWithNoPropertiesIsRejectedNamingWithKeyFn() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> IdempotencyKeys.of(new Opaque()));
    assertThat(e.getMessage(), containsString("withKeyFn"));
  }

  /** A record with an optional field. */
  public record Reading(String sensor, java.util.Optional<String> unit) {}

  @Test
  public void optionalFieldsAreKeyedByWhatTheyHold() {
    assertNotEquals(
        IdempotencyKeys.of(new Reading("s1", java.util.Optional.of("x"))),
        IdempotencyKeys.of(new Reading("s1", java.util.Optional.of("y"))));
    assertEquals(
        "{\"sensor\":\"s1\",\"unit\":null}",
        IdempotencyKeys.canonicalJson(new Reading("s1", java.util.Optional.empty())));
    assertEquals(
        "[7,null,2.5]",
        IdempotencyKeys.canonicalJson(
            List.of(
                java.util.OptionalLong.of(7),
                java.util.OptionalInt.empty(),
                java.util.OptionalDouble.of(2.5))));
  }

  /** Every time type a record may hold. */
  public record Times(
      Instant instant,
      java.time.LocalDateTime local,
      java.time.ZonedDateTime zoned,
      java.time.OffsetDateTime offset,
      java.time.LocalDate date,
      java.time.Duration duration,
      java.time.ZoneId zone,
      org.joda.time.Instant jodaInstant,
      org.joda.time.DateTime jodaDateTime) {}

  @Test
  public void timeFieldsAreIsoTextAtFullPrecision() {
    Instant nanos = Instant.parse("2024-05-01T10:15:30.123456789Z");
    Times times =
        new Times(
            nanos,
            java.time.LocalDateTime.parse("2024-05-01T10:15:30.000001"),
            java.time.ZonedDateTime.parse("2024-05-01T12:15:30+02:00[Europe/Paris]"),
            java.time.OffsetDateTime.parse("2024-05-01T12:15:30.5+02:00"),
            java.time.LocalDate.parse("2024-05-01"),
            java.time.Duration.ofNanos(1_500_000_001),
            java.time.ZoneId.of("Europe/Paris"),
            new org.joda.time.Instant(1_714_558_530_123L),
            new org.joda.time.DateTime(1_714_558_530_123L, org.joda.time.DateTimeZone.UTC));
    assertEquals(
        "{\"date\":\"2024-05-01\",\"duration\":\"PT1.500000001S\","
            + "\"instant\":\"2024-05-01T10:15:30.123456789Z\","
            + "\"jodaDateTime\":\"2024-05-01T10:15:30.123Z\","
            + "\"jodaInstant\":\"2024-05-01T10:15:30.123Z\","
            + "\"local\":\"2024-05-01T10:15:30.000001\","
            + "\"offset\":\"2024-05-01T12:15:30.500+02:00\","
            + "\"zone\":\"Europe/Paris\","
            + "\"zoned\":\"2024-05-01T12:15:30+02:00[Europe/Paris]\"}",
        IdempotencyKeys.canonicalJson(times));
    assertNotEquals(
        "one nanosecond apart",
        IdempotencyKeys.of(Map.of("t", nanos)),
        IdempotencyKeys.of(Map.of("t", nanos.plusNanos(1))));
  }

  @Test
  public void datesBytesAndCharsAreKeyedAsDocumented() {
    java.sql.Timestamp timestamp =
        java.sql.Timestamp.from(Instant.parse("2024-05-01T00:00:00.000000001Z"));
    assertEquals(
        "{\"bytes\":\"AQID\",\"char\":\"a\",\"date\":\"2024-05-01T00:00:00.001Z\","
            + "\"sqlDate\":\"1970-01-02T00:00:00Z\",\"sqlTime\":\"1970-01-01T00:00:00.100Z\","
            + "\"timestamp\":\"2024-05-01T00:00:00.000000001Z\"}",
        IdempotencyKeys.canonicalJson(
            Map.of(
                "bytes",
                new byte[] {1, 2, 3},
                "char",
                'a',
                "date",
                java.util.Date.from(Instant.parse("2024-05-01T00:00:00.001Z")),
                // The instant they hold, whatever the worker's time zone; to the millisecond.
                "sqlDate",
                new java.sql.Date(86_400_000L),
                "sqlTime",
                new java.sql.Time(100),
                "timestamp",
                timestamp)));
    assertNotEquals(
        IdempotencyKeys.of(new java.sql.Time(100)), IdempotencyKeys.of(new java.sql.Time(200)));
  }

  @Test
  public void nullCantBeKeyed() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> IdempotencyKeys.of((Object) null));
    assertThat(e.getMessage(), containsString("null can't be keyed"));
    assertThrows(IllegalArgumentException.class, () -> IdempotencyKeys.of("source", null));
  }

  @Test
  public void aMapWhoseKeysAreAlikeAsTextIsRejectedNotMerged() {
    Map<Object, String> map = new java.util.HashMap<>();
    map.put(1, "a");
    map.put("1", "b");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> IdempotencyKeys.of(map));
    assertThat(e.getMessage(), containsString("\"1\" as text"));
    assertThat(
        "nested in a record too",
        assertThrows(
                IllegalArgumentException.class, () -> IdempotencyKeys.of(KV.of("k", List.of(map))))
            .getMessage(),
        containsString("\"1\" as text"));
    assertEquals(
        "{\"1\":\"a\",\"2\":\"b\"}", IdempotencyKeys.canonicalJson(Map.of(1, "a", 2L, "b")));
  }

  /**
   * RFC 8785 Appendix B's samples (IEEE 754 bits, RFC output), plus 1e-7: the same digits, in plain
   * notation where RFC 8785 uses an exponent (the documented deviation).
   */
  @Test
  public void doublesMatchRfc8785DigitsOnEveryJdk() {
    String[][] vectors = {
      {"0000000000000000", "0"},
      {"8000000000000000", "0"},
      {"0000000000000001", "5e-324"},
      {"8000000000000001", "-5e-324"},
      {"7fefffffffffffff", "1.7976931348623157e+308"},
      {"ffefffffffffffff", "-1.7976931348623157e+308"},
      {"4340000000000000", "9007199254740992"},
      {"c340000000000000", "-9007199254740992"},
      {"4430000000000000", "295147905179352830000"},
      {"44b52d02c7e14af5", "9.999999999999997e+22"},
      {"44b52d02c7e14af6", "1e+23"},
      {"44b52d02c7e14af7", "1.0000000000000001e+23"},
      {"444b1ae4d6e2ef4e", "999999999999999700000"},
      {"444b1ae4d6e2ef4f", "999999999999999900000"},
      {"444b1ae4d6e2ef50", "1e+21"},
      {"3eb0c6f7a0b5ed8c", "9.999999999999997e-7"},
      {"3eb0c6f7a0b5ed8d", "0.000001"},
      {"3e7ad7f29abcaf48", "1e-7"},
      {"41b3de4355555553", "333333333.3333332"},
      {"41b3de4355555554", "333333333.33333325"},
      {"41b3de4355555555", "333333333.3333333"},
      {"41b3de4355555556", "333333333.3333334"},
      {"41b3de4355555557", "333333333.33333343"},
      {"becbf647612f3696", "-0.0000033333333333333333"},
      {"43143ff3c1cb0959", "1424953923781206.2"},
    };
    for (String[] v : vectors) {
      double d = Double.longBitsToDouble(Long.parseUnsignedLong(v[0], 16));
      String plain = new BigDecimal(v[1]).stripTrailingZeros().toPlainString();
      assertEquals(v[0], plain.equals("0.0") ? "0" : plain, IdempotencyKeys.canonicalJson(d));
    }
    // Double.toString(2e23) is 1.9999999999999998E23 on JDK 17: not the shortest digits.
    assertEquals("200000000000000000000000", IdempotencyKeys.canonicalJson(2e23));
    assertEquals("0.1", IdempotencyKeys.canonicalJson(0.1f));
  }

  /** A record holding a lazily computed iterable, as a Row's ITERABLE field does. */
  public record Outer(String id, Iterable<String> items) {}

  @Test
  public void lazyIterablesAreArraysNotBeans() {
    Iterable<String> a =
        org.apache.beam.vendor.guava.v32_1_2_jre.com.google.common.collect.FluentIterable.of("a");
    Iterable<String> b =
        org.apache.beam.vendor.guava.v32_1_2_jre.com.google.common.collect.FluentIterable.of("b");
    assertEquals(
        "{\"id\":\"1\",\"items\":[\"a\"]}", IdempotencyKeys.canonicalJson(new Outer("1", a)));
    assertNotEquals(IdempotencyKeys.of(new Outer("1", a)), IdempotencyKeys.of(new Outer("1", b)));
  }

  @Test
  public void setsAreSortedSoEqualSetsShareAKeyOnEveryJvm() {
    java.util.Set<String> small = new java.util.HashSet<>(16);
    small.add("q");
    small.add("a");
    java.util.Set<String> large = new java.util.HashSet<>(64);
    large.add("q");
    large.add("a");
    assertEquals("[\"a\",\"q\"]", IdempotencyKeys.canonicalJson(small));
    assertEquals(IdempotencyKeys.of(small), IdempotencyKeys.of(large));
    assertEquals(IdempotencyKeys.of(small), IdempotencyKeys.of(java.util.Set.of("q", "a")));
    assertEquals(
        "[\"1\",1,null]",
        IdempotencyKeys.canonicalJson(
            new java.util.HashSet<>(java.util.Arrays.asList(1, null, "1"))));
  }

  @Test
  public void mapKeysWhoseTextIsNotExactAreRejected() {
    Map<Object, Integer> nullKey = new java.util.HashMap<>();
    nullKey.put(null, 1);
    assertThrows(IllegalArgumentException.class, () -> IdempotencyKeys.of(nullKey));
    assertThrows(
        IllegalArgumentException.class, () -> IdempotencyKeys.of(Map.of(List.of("a, b"), 1)));
    assertThrows(
        IllegalArgumentException.class,
        () -> IdempotencyKeys.of(Map.of(new java.util.Date(1000), 1)));
    assertEquals(
        "{\"2024-05-01T00:00:00.000001Z\":1}",
        IdempotencyKeys.canonicalJson(Map.of(Instant.parse("2024-05-01T00:00:00.000001Z"), 1)));
  }

  @Test
  public void aValueThatIsJsonNullIsNotAKey() {
    assertThat(
        assertThrows(
                IllegalArgumentException.class,
                () -> IdempotencyKeys.of(java.util.Optional.empty()))
            .getMessage(),
        containsString("JSON null"));
    assertThrows(
        IllegalArgumentException.class, () -> IdempotencyKeys.of(java.util.OptionalLong.empty()));
  }

  @Test
  public void entriesCalendarsAndAddressesAreExact() throws Exception {
    assertNotEquals(
        IdempotencyKeys.of(new java.util.AbstractMap.SimpleEntry<>(1, "x")),
        IdempotencyKeys.of(new java.util.AbstractMap.SimpleEntry<>("1", "x")));
    java.util.Calendar utc = java.util.Calendar.getInstance(java.util.TimeZone.getTimeZone("UTC"));
    utc.setTimeInMillis(123);
    assertEquals("\"1970-01-01T00:00:00.123Z[UTC]\"", IdempotencyKeys.canonicalJson(utc));
    assertEquals(
        "\"127.0.0.1\"",
        IdempotencyKeys.canonicalJson(java.net.InetAddress.getByName("127.0.0.1")));
  }

  @Test
  public void aNumberTooLongToWriteOutIsRejectedNotComputed() {
    assertThrows(
        IllegalArgumentException.class, () -> IdempotencyKeys.of(new BigDecimal("1E+3000000")));
    assertThrows(
        IllegalArgumentException.class, () -> IdempotencyKeys.of(new BigDecimal("1E-30000000")));
  }

  @Test
  public void aKeyInterruptedBetweenUpdateAndDigestDoesNotChangeTheNextKey() throws Exception {
    // What a StackOverflowError after update() and before digest() leaves behind, then a key by
    // the fast path and one by the general path (an Instant).
    IdempotencyKeys.threadDigest().update("{\"half a key".getBytes(StandardCharsets.UTF_8));
    assertEquals(
        sha256Hex("{\"host\":\"h\",\"id\":1}"), IdempotencyKeys.of(Map.of("id", 1, "host", "h")));
    IdempotencyKeys.threadDigest().update((byte) 1);
    assertEquals(sha256Hex("\"1970-01-01T00:00:00Z\""), IdempotencyKeys.of(Instant.EPOCH));
  }

  private static String sha256Hex(String text) throws Exception {
    return java.util.HexFormat.of()
        .formatHex(
            java.security.MessageDigest.getInstance("SHA-256")
                .digest(text.getBytes(StandardCharsets.UTF_8)));
  }
}
