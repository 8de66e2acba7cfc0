package dev.timerangeio;

import static dev.timerangeio.LateData.CHUNK;
import static dev.timerangeio.LateData.END;
import static dev.timerangeio.LateData.LAG;
import static dev.timerangeio.LateData.LOOKBACK;
import static dev.timerangeio.LateData.WAIT;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThan;
import static org.junit.Assert.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.runners.flink.FlinkRunner;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.values.KV;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * Late data on embedded Flink (streaming, checkpoints): without a lookback the tail of late
 * records never reaches the sink; with one, every record does, once.
 */
@RunWith(JUnit4.class)
public class FlinkLateDataIT {
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  private static Pipeline pipeline() {
    FlinkPipelineOptions options = PipelineOptionsFactory.as(FlinkPipelineOptions.class);
    options.setRunner(FlinkRunner.class);
    options.setFlinkMaster("[local]");
    options.setParallelism(2);
    options.setStreaming(true);
    options.setCheckpointingInterval(500L);
    options.setShutdownSourcesAfterIdleMs(1_000L);
    return Pipeline.create(options);
  }

  /**
   * Runs {@code p} to its end while another thread steps the clock past the re-check of the last
   * chunk (run() blocks on embedded Flink).
   */
  private static void run(Pipeline p, TestClock clock, LateSource source) throws Exception {
    AtomicReference<Throwable> stepping = new AtomicReference<>();
    Thread stepper =
        new Thread(
            () -> {
              try {
                LateData.stepTo(
                    null, clock, source, END + LAG + Times.durationMicros(LOOKBACK) + CHUNK);
              } catch (Throwable t) {
                stepping.set(t);
              }
            },
            "clock-stepper");
    stepper.start();
    PipelineResult.State state;
    try {
      state = p.run().waitUntilFinish(WAIT);
    } finally {
      stepper.join(WAIT.getMillis());
    }
    if (stepping.get() != null) {
      throw new AssertionError("stepping the clock failed", stepping.get());
    }
    assertEquals(PipelineResult.State.DONE, state);
  }

  @Test
  public void withoutLookbackTheTailIsLost() throws Exception {
    TestClock clock = LateData.clock();
    LateSource source = LateData.source(clock, 11);
    TestSink<KV<Long, Long>> sink = TestSink.create();
    Pipeline p = pipeline();
    p.apply(LateData.read(source, clock)).apply(LateData.write(sink));
    List<KV<Long, Long>> arrived = new ArrayList<>(source.records());
    arrived.removeAll(LateData.tail(source));

    run(p, clock, source);

    assertThat("the data has a tail", LateData.tail(source).size(), greaterThan(50));
    assertEquals(LateData.keyed(arrived), sink.stored());
  }

  @Test
  public void withLookbackEveryRecordReachesTheSinkOnce() throws Exception {
    TestClock clock = LateData.clock();
    LateSource source = LateData.source(clock, 12);
    TestSink<KV<Long, Long>> sink = TestSink.create();
    String location = tmp.getRoot() + "/progress.json";
    Pipeline p = pipeline();
    p.apply(LateData.read(source, clock).withLookback(LOOKBACK).withProgressLocation(location))
        .apply(LateData.write(sink).withProgressLocation(location));

    run(p, clock, source);

    assertThat("the data has a tail", LateData.tail(source).size(), greaterThan(50));
    assertEquals(LateData.keyed(source.records()), sink.stored());
    assertEquals("no record reached the sink twice", 0, sink.keysSkipped());
  }
}
