package dev.timerangeio;

import static dev.timerangeio.LateData.CHUNK;
import static dev.timerangeio.LateData.END;
import static dev.timerangeio.LateData.T0;
import static dev.timerangeio.LateData.WAIT;
import static dev.timerangeio.PipelineSupport.counter;
import static org.junit.Assert.assertEquals;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * A backfill with a lookback, on the DirectRunner: the clock is far past the end, so both the
 * first read and its re-check see the whole range as backlog at once, each split into several
 * restrictions, and each chunk's two notes reach the join in whichever order the runner makes.
 * The start and end lie off the chunk grid and the lookback is not a whole number of chunks: the
 * two readers must still cut the same chunks, or a chunk would wait for its partner forever and
 * the committed position would stall before the end.
 */
@RunWith(JUnit4.class)
public class LookbackPairingTest {
  @Rule public final transient TestPipeline p = TestPipeline.create();
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  private static final long START = T0 + 37_123;
  private static final long STOP = END - 13_457;

  /**
   * Records of which every seventh appears only after its chunk was queried once: in a backfill
   * the re-read follows the first read at once, so it finds them late, whatever the clock says.
   */
  static final class AppearingSource implements TimeRangeQuery<KV<Long, Long>> {
    private static final long serialVersionUID = 1L;
    private static final Map<String, Map<Long, AtomicLong>> QUERIES = new ConcurrentHashMap<>();
    private static final Map<String, Map<Long, AtomicLong>> COUNTS = new ConcurrentHashMap<>();

    private final String id = UUID.randomUUID().toString();
    private final long[] times;
    private final boolean counts;

    AppearingSource(long seed, int n, boolean counts) {
      Random random = new Random(seed);
      times = new long[n];
      for (int i = 0; i < n; i++) {
        times[i] = START + (long) (random.nextDouble() * (STOP - START));
      }
      this.counts = counts;
      QUERIES.put(id, new ConcurrentHashMap<>());
      COUNTS.put(id, new ConcurrentHashMap<>());
    }

    static boolean appearsLate(int i) {
      return i % 7 == 0;
    }

    List<KV<Long, Long>> records() {
      List<KV<Long, Long>> out = new ArrayList<>();
      for (int i = 0; i < times.length; i++) {
        out.add(KV.of(times[i], (long) i));
      }
      return out;
    }

    private List<KV<Long, Long>> visible(TimeRange range) {
      boolean queriedBefore = queries(range.fromMicros()) > 0;
      List<KV<Long, Long>> out = new ArrayList<>();
      for (int i = 0; i < times.length; i++) {
        if (range.contains(times[i]) && (queriedBefore || !appearsLate(i))) {
          out.add(KV.of(times[i], (long) i));
        }
      }
      return out;
    }

    /** Whether the chunk starting at {@code start} holds a record that appears late. */
    boolean hasLateRecord(long start) {
      for (int i = 0; i < times.length; i++) {
        long chunk = Math.max(START, times[i] - Math.floorMod(times[i], CHUNK));
        if (appearsLate(i) && chunk == start) {
          return true;
        }
      }
      return false;
    }

    long queries(long from) {
      return QUERIES.get(id).getOrDefault(from, new AtomicLong()).get();
    }

    long totalCounts() {
      return COUNTS.get(id).values().stream().mapToLong(AtomicLong::get).sum();
    }

    @Override
    public Iterable<KV<Long, Long>> query(TimeRange range) {
      List<KV<Long, Long>> out = visible(range);
      QUERIES.get(id).computeIfAbsent(range.fromMicros(), k -> new AtomicLong()).incrementAndGet();
      return out;
    }

    @Override
    public boolean supportsCount() {
      return counts;
    }

    @Override
    public long count(TimeRange range) {
      COUNTS.get(id).computeIfAbsent(range.fromMicros(), k -> new AtomicLong()).incrementAndGet();
      return visible(range).size();
    }
  }

  /** The chunk starts of {@code [START, STOP)}: the start, then every grid point before the stop. */
  private static List<Long> chunkStarts() {
    List<Long> starts = new ArrayList<>();
    starts.add(START);
    for (long g = (START / CHUNK + 1) * CHUNK; g < STOP; g += CHUNK) {
      starts.add(g);
    }
    return starts;
  }

  private void backfill(boolean counts) throws Exception {
    AppearingSource source = new AppearingSource(counts ? 11 : 12, 600, counts);
    // Far past the end: every chunk is ready for its first read and its re-check at once.
    TestClock clock = new TestClock(END + 1_000 * CHUNK);
    TestSink<KV<Long, Long>> sink = TestSink.create();
    String location = tmp.getRoot() + "/progress.json";
    String emitted = PipelineSupport.newCollection();
    PCollection<KV<Long, Long>> records =
        p.apply(
            TimeRangeIO.<KV<Long, Long>>read()
                .withQuery(source)
                .withCoder(TestSource.CODER)
                .withStartTime(Times.toInstant(START))
                .withEndTime(Times.toInstant(STOP))
                .withPartitionDuration(Duration.ofMillis(100))
                .withIngestionLag(Duration.ofMillis(100))
                .withLookback(Duration.ofMillis(150))
                .withMaxInitialSplits(4)
                .withPollInterval(Duration.ofMillis(10))
                .withTimestampFn(TestSource::timeOf)
                .withClock(clock)
                .withProgressLocation(location));
    records.apply(ParDo.of(new PipelineSupport.Collect<>(emitted)));
    records.apply(LateData.write(sink).withProgressLocation(location));

    PipelineResult result = p.run();
    assertEquals(PipelineResult.State.DONE, result.waitUntilFinish(WAIT));

    List<Long> starts = chunkStarts();
    for (long start : starts) {
      // A source that counts is re-read only where a record appeared after the first read.
      long expected = counts && !source.hasLateRecord(start) ? 1 : 2;
      assertEquals(
          "queries of the chunk at " + Times.describe(start), expected, source.queries(start));
    }
    if (counts) {
      assertEquals("one count per chunk", starts.size(), source.totalCounts());
    }
    long late = 0;
    for (int i = 0; i < source.records().size(); i++) {
      late += AppearingSource.appearsLate(i) ? 1 : 0;
    }
    LateData.assertEachOnce(source.records(), PipelineSupport.collected(emitted));
    assertEquals(LateData.keyed(source.records()), sink.stored());
    assertEquals(late, counter(result, TimeRangeIOMetrics.LATE_RECORDS));
    assertEquals(0, counter(result, TimeRangeIOMetrics.INCOMPLETE_CHUNKS));
    assertEquals(
        "every chunk paired and committed, to the end",
        STOP,
        ProgressStore.read(location).get().timestampMicros());
  }

  @Test
  public void aBackfillOffTheGridPairsEveryChunkAndCommitsToTheEnd() throws Exception {
    backfill(false);
  }

  @Test
  public void aCountingBackfillOffTheGridPairsEveryChunkAndCommitsToTheEnd() throws Exception {
    backfill(true);
  }
}
