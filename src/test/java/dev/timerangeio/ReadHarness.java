package dev.timerangeio;

import static org.junit.Assert.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.transforms.DoFn.MultiOutputReceiver;
import org.apache.beam.sdk.transforms.DoFn.OutputReceiver;
import org.apache.beam.sdk.transforms.splittabledofn.RestrictionTracker;
import org.apache.beam.sdk.transforms.splittabledofn.SplitResult;
import org.apache.beam.sdk.transforms.windowing.GlobalWindow;
import org.apache.beam.sdk.transforms.windowing.PaneInfo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.OutputBuilder;
import org.apache.beam.sdk.values.Row;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.WindowedValues;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Drives a {@link ReadFn} or {@link ChunkReader} by hand: collects records and progress signals
 * apart, and takes checkpoints where a test says.
 */
final class ReadHarness {
  private ReadHarness() {}

  /** The read's outputs, by tag: records, and the progress signals' ranges. */
  static final class Outputs implements MultiOutputReceiver {
    final TupleTag<?> progressTag;
    final List<Object> records = new ArrayList<>();
    final List<TimeRange> signals = new ArrayList<>();

    Outputs(TupleTag<?> progressTag) {
      this.progressTag = progressTag;
    }

    @Override
    @SuppressWarnings("unchecked")
    public <X> OutputReceiver<X> get(TupleTag<X> tag) {
      boolean progress = tag.getId().equals(progressTag.getId());
      return new OutputReceiver<X>() {
        @Override
        public OutputBuilder<X> builder(X value) {
          return WindowedValues.<X>builder()
              .setValue(value)
              .setWindow(GlobalWindow.INSTANCE)
              .setPaneInfo(PaneInfo.NO_FIRING)
              .setReceiver(
                  windowed -> {
                    if (progress) {
                      signals.add(((KV<Integer, TimeRange>) windowed.getValue()).getValue());
                    } else {
                      records.add(windowed.getValue());
                    }
                  });
        }
      };
    }

    @Override
    public <X> OutputReceiver<Row> getRowReceiver(TupleTag<X> tag) {
      throw new UnsupportedOperationException();
    }

    /** Checks that the signals tile {@code [from, to)} in order: no gap, no overlap. */
    void assertSignalsTile(long from, long to) {
      long next = from;
      for (TimeRange signal : signals) {
        assertEquals("signals " + signals, next, signal.fromMicros());
        next = signal.toMicros();
      }
      assertEquals("signals " + signals, to, next);
    }
  }

  /** A tracker that takes a checkpoint right after its {@code n}-th successful claim. */
  static final class CheckpointAfterClaims extends RestrictionTracker<TimeRange, Long> {
    final ChunkRangeTracker delegate;
    private final int n;
    private int claims;
    @Nullable SplitResult<TimeRange> checkpoint;

    CheckpointAfterClaims(ChunkRangeTracker delegate, int n) {
      this.delegate = delegate;
      this.n = n;
    }

    @Override
    public boolean tryClaim(Long position) {
      boolean claimed = delegate.tryClaim(position);
      if (claimed && ++claims == n) {
        checkpoint = delegate.trySplit(0);
      }
      return claimed;
    }

    @Override
    public TimeRange currentRestriction() {
      return delegate.currentRestriction();
    }

    @Override
    public @Nullable SplitResult<TimeRange> trySplit(double fraction) {
      return delegate.trySplit(fraction);
    }

    @Override
    public void checkDone() {
      delegate.checkDone();
    }

    @Override
    public IsBounded isBounded() {
      return delegate.isBounded();
    }
  }
}
