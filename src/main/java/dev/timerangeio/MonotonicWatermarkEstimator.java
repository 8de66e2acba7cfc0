package dev.timerangeio;

import org.apache.beam.sdk.transforms.splittabledofn.ManualWatermarkEstimator;
import org.joda.time.Instant;

/**
 * The read's watermark estimator: manual, and monotonic, so that a chunk finished out of order
 * (after a split) never moves the watermark back; internal.
 */
final class MonotonicWatermarkEstimator implements ManualWatermarkEstimator<Instant> {
  private Instant watermark;

  MonotonicWatermarkEstimator(Instant initial) {
    this.watermark = initial;
  }

  /** Moves the watermark to {@code candidate} if that is later; otherwise does nothing. */
  @Override
  public void setWatermark(Instant candidate) {
    if (candidate.isAfter(watermark)) {
      watermark = candidate;
    }
  }

  @Override
  public Instant currentWatermark() {
    return watermark;
  }

  @Override
  public Instant getState() {
    return watermark;
  }
}
