package dev.timerangeio;

import static org.junit.Assert.assertEquals;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.runners.TransformHierarchy;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.errorhandling.BadRecord;
import org.apache.beam.sdk.transforms.errorhandling.ErrorHandler.BadRecordErrorHandler;
import org.apache.beam.sdk.values.PCollection;
import org.junit.Test;

/**
 * The read declares a side output only where something consumes it: on Flink an output with a
 * second consumer can't be chained to the next step, and every record is serialized once more
 * (issue 19: the bounded read went from 1.04× to 1.29× {@code JdbcIO.readWithPartitions}).
 */
public class ReadOutputsTest {
  private static final long T0 = 1_714_521_600_000_000L;

  @Test
  public void withoutAHandlerTheReadHasOnlyItsRecordsOutput() {
    Pipeline p = Pipeline.create(PipelineOptionsFactory.create());
    p.apply(read());
    assertEquals(List.of(1), readOutputs(p));
  }

  @Test
  public void aHandlerGetsTheBadRecordsOutput() throws Exception {
    Pipeline p = Pipeline.create(PipelineOptionsFactory.create());
    try (BadRecordErrorHandler<PCollection<BadRecord>> handler =
        p.registerBadRecordErrorHandler(new Identity())) {
      p.apply(read().withBadRecordErrorHandler(handler));
    }
    assertEquals(List.of(2), readOutputs(p));
  }

  private static TimeRangeIO.Read<org.apache.beam.sdk.values.KV<Long, Long>> read() {
    return TestSource.boundedRead(TestSource.of(new long[] {T0}), T0, T0 + 60_000_000L, Duration.ofMinutes(1));
  }

  /** The number of outputs of each "ReadTimeRanges" step. */
  private static List<Integer> readOutputs(Pipeline p) {
    List<Integer> outputs = new ArrayList<>();
    p.traverseTopologically(
        new Pipeline.PipelineVisitor.Defaults() {
          @Override
          public CompositeBehavior enterCompositeTransform(TransformHierarchy.Node node) {
            if (node.getFullName().endsWith("/ReadTimeRanges")) {
              outputs.add(node.getOutputs().size());
              return CompositeBehavior.DO_NOT_ENTER_TRANSFORM;
            }
            return CompositeBehavior.ENTER_TRANSFORM;
          }

          @Override
          public void visitPrimitiveTransform(TransformHierarchy.Node node) {
            if (node.getFullName().endsWith("/ReadTimeRanges")) {
              outputs.add(node.getOutputs().size());
            }
          }
        });
    return outputs;
  }

  private static final class Identity
      extends PTransform<PCollection<BadRecord>, PCollection<BadRecord>> {
    @Override
    public PCollection<BadRecord> expand(PCollection<BadRecord> input) {
      return input;
    }
  }
}
