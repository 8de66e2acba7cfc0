package dev.timerangeio;

import static org.junit.Assert.assertEquals;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized.Parameters;
import org.junit.runners.Parameterized;

/**
 * Bounded reads on the DirectRunner: the output equals the source exactly for 100,000+ records,
 * whatever the chunk duration, including records on chunk boundaries, at the range's first and
 * last microsecond, and many on one microsecond.
 */
@RunWith(Parameterized.class)
public class ReadPipelineIT {
  private static final long T0 = 1_714_521_600_000_000L; // 2024-05-01T00:00:00Z

  @Parameters(name = "chunk {0} µs over {1} µs")
  public static Object[][] parameters() {
    return new Object[][] {
      {1L, 200_000L},
      {7L, 700_000L},
      {1_000_000L, 2 * 3_600_000_000L},
      {3_600_000_000L, 5 * 24 * 3_600_000_000L},
    };
  }

  private final long chunkMicros;
  private final long spanMicros;

  public ReadPipelineIT(long chunkMicros, long spanMicros) {
    this.chunkMicros = chunkMicros;
    this.spanMicros = spanMicros;
  }

  @Rule public final transient TestPipeline pipeline = TestPipeline.create();

  @Test
  public void boundedReadEmitsEverySourceRecordExactlyOnce() {
    long from = T0 + 3; // off the grid, so the first chunk is a short one
    long to = from + spanMicros;
    long[] inRange = PipelineSupport.nastyTimes(from, to, chunkMicros, 100_000, chunkMicros);
    // Records just outside the range must not be read.
    long[] times = java.util.Arrays.copyOf(inRange, inRange.length + 3);
    times[inRange.length] = from - 1;
    times[inRange.length + 1] = to;
    times[inRange.length + 2] = to + chunkMicros;
    TestSource source = TestSource.of(times);
    List<KV<Long, Long>> expected = new ArrayList<>();
    for (KV<Long, Long> record : source.records()) {
      if (record.getKey() >= from && record.getKey() < to) {
        expected.add(record);
      }
    }
    assertEquals(inRange.length, expected.size());

    PCollection<KV<Long, Long>> output =
        pipeline.apply(
            TimeRangeIO.<KV<Long, Long>>read()
                .withQuery(source)
                .withCoder(TestSource.CODER)
                .withStartTime(Times.toInstant(from))
                .withEndTime(Times.toInstant(to))
                .withPartitionDuration(Duration.ofNanos(chunkMicros * 1_000))
                .withIngestionLag(Duration.ZERO)
                .withTimestampFn(TestSource::timeOf));

    assertEquals(PCollection.IsBounded.BOUNDED, output.isBounded());
    PAssert.that(output).satisfies(sameRecords(expected));
    pipeline.run();
  }

  /** Compares as sorted lists: hamcrest's containsInAnyOrder is quadratic for 100k elements. */
  public static SerializableFunction<Iterable<KV<Long, Long>>, Void> sameRecords(
      List<KV<Long, Long>> expected) {
    List<KV<Long, Long>> want = new ArrayList<>(expected);
    return actual -> {
      List<KV<Long, Long>> got = new ArrayList<>();
      actual.forEach(got::add);
      Comparator<KV<Long, Long>> byId = Comparator.comparing(KV::getValue);
      got.sort(byId);
      List<KV<Long, Long>> sortedWant = new ArrayList<>(want);
      sortedWant.sort(byId);
      assertEquals("record count", sortedWant.size(), got.size());
      assertEquals(sortedWant, got);
      return null;
    };
  }
}
