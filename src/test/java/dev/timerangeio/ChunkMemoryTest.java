package dev.timerangeio;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.TupleTag;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * A chunk is held at most one answer or page at a time ({@link ChunkReader#read}): paged by time
 * and tie-breaker where the source can, bisected where it can't, and read exactly either way.
 */
@RunWith(JUnit4.class)
public class ChunkMemoryTest {
  private static final long SECOND = 1_000_000L;
  /** 2024-05-01T00:00:00Z. */
  private static final long T0 = 1_714_521_600L * SECOND;
  private static final TimeRange CHUNK = TimeRange.of(T0, T0 + 60 * SECOND);
  private static final int BOUND = 100;

  private final TupleTag<KV<Integer, TimeRange>> progressTag = new TupleTag<>();

  /** 1,000 records over the chunk, 50 of them in one crowded microsecond. */
  private static long[] times() {
    long[] times = new long[1_000];
    for (int i = 0; i < times.length; i++) {
      times[i] = i < 50 ? T0 + 7 : T0 + (long) i * 59 * SECOND / times.length;
    }
    return times;
  }

  private List<Object> read(SparseSource source, long maxRows) throws Exception {
    ReadHarness.Outputs out = new ReadHarness.Outputs(progressTag);
    assertEquals(1_000, reader(source, VarLongCoder.of(), maxRows).read(CHUNK, out).emitted);
    return out.records;
  }

  private <T> ChunkReader<T> reader(TimeRangeQuery<T> source, Coder<T> coder, long maxRows)
      throws Exception {
    TimeRangeIO.Read<T> spec =
        TimeRangeIO.<T>read()
            .withQuery(source)
            .withCoder(coder)
            .withPartitionDuration(Duration.ofMinutes(1))
            .withInitialBackoff(Duration.ofMillis(1));
    if (maxRows > 0) {
      spec = spec.withMaxRowsPerQuery(maxRows);
    }
    SourceCalls<T> calls =
        SourceCalls.open(
            spec,
            QueryGate.of(
                UUID.randomUUID().toString(),
                spec.getMaxQueriesPerSecond(),
                spec.getMaxConcurrentQueries()),
            Metrics.counter("t", "t"));
    return new ChunkReader<>(
        spec, calls, coder, null, new TupleTag<T>(), progressTag, new ByteRate(), BOUND);
  }

  private static List<Object> inOrder() {
    List<Object> records = new ArrayList<>();
    for (long i = 0; i < 1_000; i++) {
      records.add(i);
    }
    return records;
  }

  @Test
  public void aSourceThatPagesRangesIsReadPageByPage() throws Exception {
    SparseSource source = SparseSource.of(times()).pagingRanges();

    assertEquals(inOrder(), read(source, 0));

    assertThat(source.largestAnswer(), lessThanOrEqualTo((long) BOUND + 1));
    // The first answer, dropped at the bound, then ten pages and an empty last one.
    assertEquals(12, source.queries());
  }

  @Test
  public void aPageThatFailsIsAskedForAgainNotTheChunk() throws Exception {
    // The 4th query is the third page: it fails once, and only it is asked for again.
    SparseSource source = SparseSource.of(times()).pagingRanges().failingPageOnce(4);

    assertEquals(inOrder(), read(source, 0));

    assertEquals(13, source.queries());
  }

  @Test
  public void aSourceThatCannotPageIsBisectedToTheBound() throws Exception {
    SparseSource source = SparseSource.of(times());

    List<Object> records = read(source, 0);

    records.sort(null);
    assertEquals(inOrder(), records);
    assertThat(source.largestAnswer(), lessThanOrEqualTo((long) BOUND + 1));
  }

  @Test
  public void aMicrosecondAboveTheBoundIsReadWholeWhenNothingElseCan() throws Exception {
    long[] crowded = new long[1_000];
    java.util.Arrays.fill(crowded, T0 + 7);
    SparseSource source = SparseSource.of(crowded);

    List<Object> records = read(source, 0);

    assertEquals(inOrder(), records);
  }

  @Test
  public void aMicrosecondTheSourceRefusesFailsNamingIt() throws Exception {
    long[] crowded = new long[1_000];
    java.util.Arrays.fill(crowded, T0 + 7);
    ChunkReader<KV<Long, Long>> reader =
        reader(TestSource.of(crowded).refusingAbove(300), TestSource.CODER, 0);

    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> reader.read(CHUNK, new ReadHarness.Outputs(progressTag)));

    assertThat(e.getMessage(), containsString("is refused by the source as too large"));
  }

  @Test
  public void aSourceThatIgnoresTheLimitIsReadFromItsOneAnswer() throws Exception {
    SparseSource source = SparseSource.of(times()).ignoringLimits();

    assertEquals(inOrder(), read(source, 0));

    assertEquals(1, source.queries());
  }

  @Test
  public void withMaxRowsPerQueryThePagesHoldThatMany() throws Exception {
    SparseSource source = SparseSource.of(times()).pagingRanges();

    assertEquals(inOrder(), read(source, 250));

    assertThat(source.largestAnswer(), lessThanOrEqualTo(251L));
  }
}
