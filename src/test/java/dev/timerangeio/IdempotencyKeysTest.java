package dev.timerangeio;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertThrows;

import java.math.BigDecimal;
import java.math.BigInteger;
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
    assertEquals(
        IdempotencyKeys.of(new Point(3, "p", List.of(1.0, 2.5))), IdempotencyKeys.of(row));
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
}
