package dev.timerangeio;

import static org.junit.Assert.assertEquals;

import java.time.Duration;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.runners.flink.FlinkRunner;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The same reads on the embedded Flink runner ({@code [local]}): batch, streaming with
 * checkpoints every second, and a read that follows a moving clock; each output equals the source.
 */
@RunWith(JUnit4.class)
public class FlinkReadIT {
  private static final long SECOND = 1_000_000L;
  private static final long MINUTE = 60 * SECOND;
  private static final long T0 = 1_714_521_600_000_000L; // 2024-05-01T00:00:00Z
  private static final org.joda.time.Duration WAIT = org.joda.time.Duration.standardMinutes(3);

  private static FlinkPipelineOptions options(boolean streaming) {
    FlinkPipelineOptions options = PipelineOptionsFactory.as(FlinkPipelineOptions.class);
    options.setRunner(FlinkRunner.class);
    options.setFlinkMaster("[local]");
    options.setParallelism(2);
    options.setStreaming(streaming);
    if (streaming) {
      options.setCheckpointingInterval(1_000L);
      options.setShutdownSourcesAfterIdleMs(1_000L);
    }
    return options;
  }

  private static TimeRangeIO.Read<KV<Long, Long>> read(TestSource source, MicrosClock clock) {
    return TimeRangeIO.<KV<Long, Long>>read()
        .withQuery(source)
        .withCoder(TestSource.CODER)
        .withStartTime(Times.toInstant(T0))
        .withPartitionDuration(Duration.ofSeconds(1))
        .withIngestionLag(Duration.ofSeconds(30))
        .withPollInterval(Duration.ofMillis(20))
        .withTimestampFn(TestSource::timeOf)
        .withClock(clock);
  }

  private static TestSource source() {
    return TestSource.of(PipelineSupport.nastyTimes(T0, T0 + 20 * MINUTE, SECOND, 20_000, 7));
  }

  private void assertBoundedReadIsExact(FlinkPipelineOptions options) {
    TestSource source = source();
    String out = PipelineSupport.newCollection();
    Pipeline p = Pipeline.create(options);
    p.apply(read(source, new TestClock(T0 + 30 * MINUTE)).withEndTime(Times.toInstant(T0 + 20 * MINUTE)))
        .apply(ParDo.of(new PipelineSupport.Collect<>(out)));
    PipelineResult.State state = p.run().waitUntilFinish(WAIT);
    assertEquals(PipelineResult.State.DONE, state);
    ReadPipelineIT.sameRecords(source.records()).apply(PipelineSupport.collected(out));
  }

  @Test
  public void boundedReadInBatchModeIsExact() {
    assertBoundedReadIsExact(options(false));
  }

  @Test
  public void boundedReadInStreamingModeWithCheckpointsIsExact() {
    assertBoundedReadIsExact(options(true));
  }

  @Test
  public void unboundedReadWithCheckpointsIsExactAsTheClockMoves() throws Exception {
    TestSource source = source();
    TestClock clock = new TestClock(T0 + 8 * MINUTE);
    String out = PipelineSupport.newCollection();
    FlinkPipelineOptions options = options(true);
    options.setAttachedMode(false);
    Pipeline p = Pipeline.create(options);
    p.apply(read(source, clock)).apply(ParDo.of(new PipelineSupport.Collect<>(out)));
    PipelineResult result = p.run();
    try {
      long firstBatch =
          source.records().stream().filter(r -> r.getKey() < T0 + 7 * MINUTE + 30 * SECOND).count();
      PipelineSupport.awaitCondition(
          result,
          () -> PipelineSupport.collected(out).size() >= firstBatch,
          WAIT,
          "the records below the first horizon");
      clock.set(T0 + 21 * MINUTE);
      PipelineSupport.awaitCondition(
          result,
          () -> PipelineSupport.collected(out).size() >= source.records().size(),
          WAIT,
          "all records");
      ReadPipelineIT.sameRecords(source.records()).apply(PipelineSupport.collected(out));
    } finally {
      result.cancel();
    }
  }
}
