package dev.timerangeio;

import static org.junit.Assert.assertEquals;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.AbstractSet;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Calendar;
import java.util.Collections;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TimeZone;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.Row;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * Keys are a pure function of the value on every JDK: each value below has the key this code gave
 * it on JDK 17 when the vectors were written, and {@code .ci/run} runs this class on JDK 25 as well.
 * A JDK that gives a collection class a new interface (JDK 21's {@code SequencedSet} for {@code
 * LinkedHashSet}) must not change how it is keyed.
 */
@RunWith(JUnit4.class)
public class IdempotencyKeysJdkTest {

  enum Color {
    RED
  }

  record Event(long id, Instant time, String payload, Optional<String> note, List<Integer> tags) {}

  /** A user's ordered interface over a set: still a set, so still sorted. */
  interface Ordered<E> extends Iterable<E> {}

  /** A set whose class reaches Iterable through an interface before it reaches Set. */
  static final class OrderedSet<E> extends AbstractSet<E> implements Ordered<E> {
    private final List<E> elements;

    @SafeVarargs
    OrderedSet(E... elements) {
      this.elements = Arrays.asList(elements);
    }

    @Override
    public Iterator<E> iterator() {
      return elements.iterator();
    }

    @Override
    public int size() {
      return elements.size();
    }
  }

  private static Map<String, Object> vectors() {
    Map<String, Object> v = new LinkedHashMap<>();
    v.put("map", Map.of("b", 1, "a", "x"));
    v.put("nested", Map.of("outer", Map.of("z", List.of(1, 2.5, "three"), "a", true)));
    v.put("list", Arrays.asList("b", "a", null, 3L));
    v.put("hashSet", new HashSet<>(Arrays.asList("q", "a", "m")));
    v.put("treeSet", new TreeSet<>(Arrays.asList("q", "a", "m")));
    v.put("linkedHashSet", new LinkedHashSet<>(Arrays.asList("q", "a", "m")));
    Map<String, Integer> linked = new LinkedHashMap<>();
    linked.put("q", 1);
    linked.put("a", 2);
    v.put("linkedHashMapKeySet", linked.keySet());
    v.put("linkedHashMap", linked);
    v.put("unmodifiableSet", Collections.unmodifiableSet(new LinkedHashSet<>(List.of("q", "a"))));
    v.put("setOfSets", new LinkedHashSet<>(List.of(new LinkedHashSet<>(List.of(2, 1)), Set.of(0))));
    v.put("treeMap", new TreeMap<>(Map.of("k2", 2, "k1", 1)));
    v.put("instant", Instant.parse("2026-12-07T01:02:03.123456789Z"));
    v.put("zoned", ZonedDateTime.of(2026, 3, 8, 2, 30, 0, 1_000, ZoneId.of("America/St_Johns")));
    v.put("offset", OffsetDateTime.of(2026, 1, 1, 0, 0, 0, 0, ZoneOffset.ofHours(5)));
    v.put("localDate", LocalDate.of(2026, 12, 7));
    v.put("duration", Duration.ofNanos(1_500_000_001L));
    v.put("timestamp", java.sql.Timestamp.from(Instant.parse("2026-12-07T01:02:03.123456789Z")));
    v.put("date", new java.util.Date(1_700_000_000_123L));
    v.put("sqlDate", new java.sql.Date(1_700_000_000_123L));
    Calendar calendar = Calendar.getInstance(TimeZone.getTimeZone("Asia/Kolkata"));
    calendar.setTimeInMillis(1_700_000_000_123L);
    v.put("calendar", calendar);
    v.put("jodaInstant", new org.joda.time.Instant(1_700_000_000_123L));
    v.put("optional", Optional.of("x"));
    v.put("optionalLongEmpty", List.of(OptionalLong.empty()));
    v.put("bigDecimal", new BigDecimal("1.10"));
    v.put("bigInteger", new BigInteger("123456789012345678901234567890"));
    v.put("doubles", List.of(0.1, 1e21, 1e-7, -0.0, 5e-324, Double.MAX_VALUE));
    v.put("bytes", new byte[] {0, 1, (byte) 0xff});
    v.put("char", 'c');
    v.put("enum", Color.RED);
    v.put("uuid", UUID.fromString("123e4567-e89b-12d3-a456-426614174000"));
    v.put("kv", KV.of("k", List.of(1)));
    v.put("entry", Map.entry("k", 2));
    Schema schema = Schema.builder().addInt64Field("id").addStringField("name").build();
    v.put("row", Row.withSchema(schema).addValues(7L, "seven").build());
    v.put(
        "record",
        new Event(
            42L,
            Instant.parse("2026-12-07T00:00:00.000001Z"),
            "payload \u00e9 \u2028 \"q\"",
            Optional.empty(),
            new ArrayList<>(List.of(3, 1, 2))));
    v.put("withSource", KV.of("source-a", Map.of("id", 1)));
    return v;
  }

  private static final Map<String, String> EXPECTED = new LinkedHashMap<>();

  static {
    // Computed on JDK 17 with the code before the keys were made independent of interface order.
    EXPECTED.put("map", "cdab067e9f3beb32d1252cfd63e492592fecbf591b0d08cadb24bb17f3864246");
    EXPECTED.put("nested", "42e92aeb4a080d1419f4dee68302b1051150b8b16abc40c5e868bdd2171d704a");
    EXPECTED.put("list", "adf60a2d5d02776bf20283d0003a277caea05a55a64d74373f2407561452d10b");
    EXPECTED.put("hashSet", "be60ba428f66bd8a4567a94f98a83e65e1174dccfcb7ad44890c86664da57467");
    EXPECTED.put("treeSet", "be60ba428f66bd8a4567a94f98a83e65e1174dccfcb7ad44890c86664da57467");
    EXPECTED.put("linkedHashSet", "be60ba428f66bd8a4567a94f98a83e65e1174dccfcb7ad44890c86664da57467");
    EXPECTED.put("linkedHashMapKeySet", "61ff19644dd48a490160c779788858d16cd2726528bacd776955177d42027057");
    EXPECTED.put("linkedHashMap", "3b7fa761f9a1ffaea11e9983df574af0fd646cb91cd26bd0338d3aa1b9b293ef");
    EXPECTED.put("unmodifiableSet", "61ff19644dd48a490160c779788858d16cd2726528bacd776955177d42027057");
    EXPECTED.put("setOfSets", "d2926ddb0574a9e6babd99c2bb6d91840b5a0b78801c76026a10441d58ce7ff9");
    EXPECTED.put("treeMap", "23541e08a7c8022df579aadf6b6bd3e5fcdd6624b49447552d59f6fc62946d29");
    EXPECTED.put("instant", "db7181e34f1f28b39c412b44cf3c913ea75de2f83109246ba282ded431596c32");
    EXPECTED.put("zoned", "23144975a57a5c388fa346d36b07fd8b098c380af2a7554984dad5a6cf49ceff");
    EXPECTED.put("offset", "8ed23712dd75810fce384edf889382e4a206ca9151f46c07f8b0a4625751109f");
    EXPECTED.put("localDate", "4ad672c2f9ff454deb3b7f9bf8481d990c5544f9a2fdc6fb8b524de4f652e556");
    EXPECTED.put("duration", "25720372d0d0e64c8c25195beec16c776bf6c69dec688266b0a95802551f2367");
    EXPECTED.put("timestamp", "db7181e34f1f28b39c412b44cf3c913ea75de2f83109246ba282ded431596c32");
    EXPECTED.put("date", "18d75210a4f43e45c8a57a4a55e1460fc247b62d37ba8ab9afb8b242c360d24f");
    EXPECTED.put("sqlDate", "18d75210a4f43e45c8a57a4a55e1460fc247b62d37ba8ab9afb8b242c360d24f");
    EXPECTED.put("calendar", "84b9d5ca637f65161c986610af9ead2b60dda00bad552c2efe1c9178f5dbbfdb");
    EXPECTED.put("jodaInstant", "18d75210a4f43e45c8a57a4a55e1460fc247b62d37ba8ab9afb8b242c360d24f");
    EXPECTED.put("optional", "ba2df4903a2c14e86dc3bcca58911b44ac1d2514b7227bf6eb08cfb978f55a1b");
    EXPECTED.put("optionalLongEmpty", "1d8fc6ceb1f94c6326d6d5483d258fcb2e179e9869325b245d105c2219bf69fd");
    EXPECTED.put("bigDecimal", "b05e244762b1e472be89a93800cc3ee326743cecb55984bf12813addb8de66d0");
    EXPECTED.put("bigInteger", "f54e5c8f810648e7638d25eb7ed6d24b7e5999d588e88826f2aa837d2ee52ecd");
    EXPECTED.put("doubles", "f2f64f8b967354988db3e0ff7d2e482dff3871071b7609228944c6a1ba5320f3");
    EXPECTED.put("bytes", "01933d1eea7564a94e6f7a8329fa48c118a93b027860dbbbcb6a53ad47315843");
    EXPECTED.put("char", "879923da020d1533f4d8e921ea7bac61e8ba41d3c89d17a4d14e3a89c6780d5d");
    EXPECTED.put("enum", "185ea9ef2f13624ac80cb538e88d34560daa4c25ac4914b08ac55b266ce3cdc9");
    EXPECTED.put("uuid", "c01272813ad38d4246968d0a6e61808ebbfe6f0a68f6af5f649ec8e62b4fadb9");
    EXPECTED.put("kv", "3a63340b0ab2f09005bd2c2306e26232d095866b39f2f7e458d5a1e04a8f8ddd");
    EXPECTED.put("entry", "c4a759b54884791ff700570137acf036e71426c47e4c604ec3ed5a466ec32642");
    EXPECTED.put("row", "af8706929b152143387d1c44e264648c3b957ab44c675d8f00a0f1cb206cd41f");
    EXPECTED.put("record", "bed3561a2c5b74c33ec731b1a17287684c2a18150b81e303f91a6cb7e49e2cdc");
    EXPECTED.put("withSource", "35fd2811e76e09cfce7721aac7703c6061ed18c8c2e814eb21259dc3a61fabfa");
  }

  @Test
  public void everyVectorHasTheKeyItHadOnJdk17() {
    Map<String, Object> vectors = vectors();
    assertEquals(EXPECTED.keySet(), vectors.keySet());
    for (Map.Entry<String, Object> vector : vectors.entrySet()) {
      assertEquals(
          vector.getKey() + " on Java " + Runtime.version(),
          EXPECTED.get(vector.getKey()),
          IdempotencyKeys.of(vector.getValue()));
    }
  }

  @Test
  public void aSetIsSortedWhateverInterfacesItsClassAlsoImplements() {
    assertEquals("[\"a\",\"q\"]", IdempotencyKeys.canonicalJson(new OrderedSet<>("q", "a")));
    assertEquals(IdempotencyKeys.of(Set.of("a", "q")), IdempotencyKeys.of(new OrderedSet<>("q", "a")));
    assertEquals(
        IdempotencyKeys.of(new LinkedHashSet<>(List.of("a", "q"))),
        IdempotencyKeys.of(new LinkedHashSet<>(List.of("q", "a"))));
  }

  @Test
  public void aPathIsItsTextNotAnEndlessArray() {
    assertEquals("\"/var/log/a\"", IdempotencyKeys.canonicalJson(java.nio.file.Paths.get("/var/log/a")));
    org.junit.Assert.assertNotEquals(
        IdempotencyKeys.of(java.nio.file.Paths.get("/var/log/a")),
        IdempotencyKeys.of(java.nio.file.Paths.get("var/log/a")));
  }

  @Test
  public void decimalsAreKeyedByTheirValueNotTheirScale() {
    assertEquals("1.1", IdempotencyKeys.canonicalJson(new BigDecimal("1.10")));
    assertEquals(IdempotencyKeys.of(new BigDecimal("1.1")), IdempotencyKeys.of(new BigDecimal("1.10")));
    assertEquals(IdempotencyKeys.of(new BigDecimal("1E+2")), IdempotencyKeys.of(new BigDecimal("100.000")));
  }
}
