package dev.timerangeio;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.hasItems;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.beam.runners.flink.FlinkPipelineOptions;
import org.apache.beam.runners.flink.FlinkRunner;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * {@code withLiveEdgeReaders} on the embedded Flink runner ({@code [local]}, parallelism 2,
 * checkpoints every 500 ms, one injected failure and restore): both subtasks read parts of the live
 * edge, and the exactly-once write holds every record once.
 */
@RunWith(JUnit4.class)
public class FlinkLiveEdgeIT {
  private static final long SECOND = 1_000_000L;
  private static final long T0 = 1_714_521_600_000_000L; // 2024-05-01T00:00:00Z
  private static final org.joda.time.Duration WAIT = org.joda.time.Duration.standardMinutes(3);
  private static final Pattern SUBTASK = Pattern.compile("\\((\\d+)/2\\)");

  /** Per query id, the subtasks ("1/2", "2/2") that queried a range shorter than a chunk. */
  private static final Map<String, Set<String>> PART_READERS = new ConcurrentHashMap<>();

  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  /** The test source, noting which Flink subtask queries each live-edge part. */
  static final class SubtaskRecordingQuery implements TimeRangeQuery<KV<Long, Long>> {
    private final TestSource delegate;
    private final String id;
    private final long chunkMicros;

    SubtaskRecordingQuery(TestSource delegate, String id, long chunkMicros) {
      this.delegate = delegate;
      this.id = id;
      this.chunkMicros = chunkMicros;
    }

    @Override
    public Iterable<KV<Long, Long>> query(TimeRange range) throws Exception {
      if (range.toMicros() - range.fromMicros() < chunkMicros) {
        Matcher m = SUBTASK.matcher(Thread.currentThread().getName());
        PART_READERS
            .computeIfAbsent(id, k -> ConcurrentHashMap.newKeySet())
            .add(m.find() ? m.group(1) + "/2" : Thread.currentThread().getName());
      }
      return delegate.query(range);
    }
  }

  @Test
  public void bothSubtasksReadTheLiveEdgeAndTheSinkIsExactAcrossARestore() throws Exception {
    int readers = 4;
    TestSource source =
        TestSource.of(PipelineSupport.nastyTimes(T0, T0 + 12 * SECOND, SECOND / readers, 1_500, 5));
    String id = UUID.randomUUID().toString();
    TestSink<KV<Long, Long>> sink = TestSink.create();
    String failures = UUID.randomUUID().toString();
    FlinkWriteIT.SEEN.put(failures, new AtomicLong());
    String progress = tmp.getRoot() + "/progress.json";
    TestClock clock = new TestClock(T0 + 3 * SECOND);

    FlinkPipelineOptions options = PipelineOptionsFactory.as(FlinkPipelineOptions.class);
    options.setRunner(FlinkRunner.class);
    options.setFlinkMaster("[local]");
    options.setParallelism(2);
    options.setStreaming(true);
    options.setCheckpointingInterval(500L);
    options.setNumberOfExecutionRetries(3);
    options.setExecutionRetryDelay(500L);
    options.setAttachedMode(false);
    Pipeline p = Pipeline.create(options);
    p.apply(
            TimeRangeIO.<KV<Long, Long>>read()
                .withQuery(new SubtaskRecordingQuery(source, id, SECOND))
                .withCoder(TestSource.CODER)
                .withStartTime(Times.toInstant(T0))
                .withPartitionDuration(Duration.ofSeconds(1))
                .withIngestionLag(Duration.ZERO)
                .withPollInterval(Duration.ofMillis(20))
                .withTimestampFn(TestSource::timeOf)
                .withLiveEdgeReaders(readers)
                .withClock(clock)
                .withProgressLocation(progress))
        // Fails once, at the live edge (after the crowded microsecond at T0 + 4 s).
        .apply(ParDo.of(new FlinkWriteIT.FailOnce(failures, 1_800)))
        .apply(
            TimeRangeIO.<KV<Long, Long>>write()
                .to(sink)
                .withKeyFn(KV::getValue)
                .withBatchSize(100)
                .withMaxBatchDelay(Duration.ofMillis(100))
                .withProgressLocation(progress));
    PipelineResult result = p.run();
    try {
      for (int s = 4; s <= 12; s++) {
        // One chunk at a time, so each is claimed at the live edge and handed out in parts.
        clock.set(T0 + s * SECOND);
        long end = T0 + s * SECOND;
        long below = source.records().stream().filter(r -> r.getKey() < end).count();
        PipelineSupport.awaitCondition(
            result, () -> sink.stored().size() >= below, WAIT, "the records below " + end);
      }
      clock.set(T0 + 13 * SECOND);
      PipelineSupport.awaitCondition(
          result,
          () -> PipelineSupport.committedMicros(progress) == T0 + 13 * SECOND,
          WAIT,
          "a commit through the end");

      Map<String, KV<Long, Long>> expected = new HashMap<>();
      for (KV<Long, Long> r : source.records()) {
        expected.put(IdempotencyKeys.of(r.getValue()), r);
      }
      assertEquals(expected, sink.stored());
      assertTrue(
          "the failure struck and records were replayed: seen " + FlinkWriteIT.SEEN.get(failures),
          FlinkWriteIT.SEEN.get(failures).get() > 1_800);
      assertThat(PART_READERS.get(id), hasItems("1/2", "2/2"));
    } finally {
      result.cancel();
    }
  }
}
