package dev.timerangeio;

import static dev.timerangeio.PipelineSupport.counter;
import static dev.timerangeio.PipelineSupport.query;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.lessThan;
import static org.junit.Assert.assertEquals;

import java.time.Duration;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.metrics.DistributionResult;
import org.apache.beam.sdk.metrics.GaugeResult;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.values.KV;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** Every read metric, read back through {@link PipelineResult#metrics()}. */
@RunWith(JUnit4.class)
public class ReadMetricsTest {
  private static final long SECOND = 1_000_000L;
  private static final long MINUTE = 60 * SECOND;
  private static final long T0 = 1_714_521_600_000_000L; // 2024-05-01T00:00:00Z

  @Rule public final transient TestPipeline pipeline = TestPipeline.create();

  @Test
  public void readMetricsCountRowsChunksEmptyChunksTimeLagAndBacklog() {
    // Five one-minute chunks; the second and fourth hold nothing.
    TestSource source =
        TestSource.of(T0, T0 + 1, T0 + 2 * MINUTE, T0 + 4 * MINUTE, T0 + 5 * MINUTE - 1);
    TestClock clock = new TestClock(T0 + 60 * MINUTE);
    pipeline.apply(
        TimeRangeIO.<KV<Long, Long>>read()
            .withQuery(new SlowQuery(source, QUERY_MILLIS))
            .withCoder(TestSource.CODER)
            .withStartTime(Times.toInstant(T0))
            .withEndTime(Times.toInstant(T0 + 5 * MINUTE))
            .withPartitionDuration(Duration.ofMinutes(1))
            .withIngestionLag(Duration.ofMinutes(10))
            .withMaxInitialSplits(1)
            .withClock(clock));
    PipelineResult result = pipeline.run();
    result.waitUntilFinish();

    assertEquals(5L, counter(result, "rowsRead"));
    assertEquals(5L, counter(result, "chunksRead"));
    assertEquals(2L, counter(result, "emptyChunks"));
    DistributionResult chunkTimes = distribution(result, "chunkReadMillis");
    assertEquals(5L, chunkTimes.getCount());
    // Each query takes at least QUERY_MILLIS: in milliseconds every chunk's time is at least
    // that (in seconds it would be 0), and far below a thousand times that (in microseconds it
    // would be above it, in nanoseconds a million times above).
    assertThat(chunkTimes.getMin(), greaterThanOrEqualTo(QUERY_MILLIS));
    assertThat(chunkTimes.getMax(), lessThan(1_000 * QUERY_MILLIS));
    assertThat(chunkTimes.getSum(), greaterThanOrEqualTo(5 * QUERY_MILLIS));
    // After the last chunk the watermark is T0 + 5m and the clock says T0 + 60m.
    assertEquals(55 * 60_000L, gauge(result, "watermarkLagMillis").getValue());
    // The last chunk read started at T0 + 4m; the safe horizon was T0 + 50m.
    assertEquals(46 * MINUTE, gauge(result, "backlogMicros").getValue());
  }

  private static final long QUERY_MILLIS = 120;

  /** A source whose every query takes at least {@code millis}, as a remote one does. */
  static final class SlowQuery implements TimeRangeQuery<KV<Long, Long>> {
    private static final long serialVersionUID = 1L;
    private final TestSource source;
    private final long millis;

    SlowQuery(TestSource source, long millis) {
      this.source = source;
      this.millis = millis;
    }

    @Override
    public Iterable<KV<Long, Long>> query(TimeRange range) throws Exception {
      // A bounded wait inside the source: the query's duration is what the metric measures.
      Thread.sleep(millis);
      return source.query(range);
    }
  }

  private static DistributionResult distribution(PipelineResult result, String name) {
    return query(result, name).getDistributions().iterator().next().getAttempted();
  }

  private static GaugeResult gauge(PipelineResult result, String name) {
    return query(result, name).getGauges().iterator().next().getAttempted();
  }
}
