package dev.timerangeio;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.greaterThan;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.runners.flink.FlinkRunner;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The exactly-once write on embedded Flink with checkpoints, and a failure injected between read
 * and write after part of the data is in the sink: Flink restores the last checkpoint and replays,
 * and the sink still holds every record once.
 */
@RunWith(JUnit4.class)
public class FlinkWriteIT {
  private static final long SECOND = 1_000_000L;
  private static final long MINUTE = 60 * SECOND;
  private static final long T0 = 1_714_521_600_000_000L; // 2024-05-01T00:00:00Z

  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  static final Map<String, AtomicLong> SEEN = new ConcurrentHashMap<>();

  /** Throws once, on the {@code failAt}-th record it sees; after the restart it passes all. */
  static final class FailOnce extends DoFn<KV<Long, Long>, KV<Long, Long>> {
    private final String id;
    private final long failAt;

    FailOnce(String id, long failAt) {
      this.id = id;
      this.failAt = failAt;
    }

    @ProcessElement
    public void process(@Element KV<Long, Long> record, OutputReceiver<KV<Long, Long>> out) {
      if (SEEN.get(id).incrementAndGet() == failAt) {
        throw new IllegalStateException("injected failure at record " + failAt);
      }
      out.output(record);
    }
  }

  @Test
  public void aFailureAfterPartOfTheDataIsWrittenLeavesTheSinkExact() throws Exception {
    TestSource source =
        TestSource.of(PipelineSupport.nastyTimes(T0, T0 + 20 * MINUTE, SECOND, 30_000, 11));
    TestSink<KV<Long, Long>> sink = TestSink.create();
    String failures = UUID.randomUUID().toString();
    SEEN.put(failures, new AtomicLong());
    String progress = tmp.getRoot() + "/progress.json";

    FlinkPipelineOptions options = PipelineOptionsFactory.as(FlinkPipelineOptions.class);
    options.setRunner(FlinkRunner.class);
    options.setFlinkMaster("[local]");
    options.setParallelism(2);
    options.setStreaming(true);
    options.setCheckpointingInterval(500L);
    options.setShutdownSourcesAfterIdleMs(1_000L);
    options.setNumberOfExecutionRetries(3);
    options.setExecutionRetryDelay(500L);
    Pipeline p = Pipeline.create(options);
    p.apply(
            TimeRangeIO.<KV<Long, Long>>read()
                .withQuery(source)
                .withCoder(TestSource.CODER)
                .withStartTime(Times.toInstant(T0))
                .withEndTime(Times.toInstant(T0 + 20 * MINUTE))
                .withPartitionDuration(Duration.ofSeconds(10))
                .withTimestampFn(TestSource::timeOf)
                .withClock(new TestClock(T0 + 30 * MINUTE))
                .withProgressLocation(progress))
        .apply(ParDo.of(new FailOnce(failures, 25_000)))
        .apply(
            TimeRangeIO.<KV<Long, Long>>write()
                .to(sink)
                .withKeyFn(KV::getValue)
                .withBatchSize(500)
                .withProgressLocation(progress));

    PipelineResult.State state =
        p.run().waitUntilFinish(org.joda.time.Duration.standardMinutes(4));

    assertEquals(PipelineResult.State.DONE, state);
    Map<String, KV<Long, Long>> expected = new HashMap<>();
    long last = 0;
    for (KV<Long, Long> r : source.records()) {
      expected.put(IdempotencyKeys.of(r.getValue()), r);
      last = Math.max(last, r.getKey());
    }
    assertTrue(
        "the failure struck and records were replayed: seen " + SEEN.get(failures).get(),
        SEEN.get(failures).get() > source.records().size());
    assertEquals(
        "sink size (keys re-sent after the restart and skipped: " + sink.keysSkipped() + ")",
        expected.size(),
        sink.stored().size());
    assertEquals(expected, sink.stored());
    assertThat(
        "the committed position lies past the last record",
        ProgressStore.read(progress).get().timestampMicros(),
        greaterThan(last));
  }
}
