package dev.timerangeio;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.BigEndianLongCoder;
import org.apache.beam.sdk.coders.Coder;

/** Coder for {@link TimeRange} restrictions: two big-endian longs. Internal. */
final class TimeRangeCoder extends AtomicCoder<TimeRange> {
  private static final TimeRangeCoder INSTANCE = new TimeRangeCoder();
  private static final Coder<Long> LONG = BigEndianLongCoder.of();

  static TimeRangeCoder of() {
    return INSTANCE;
  }

  private TimeRangeCoder() {}

  @Override
  public void encode(TimeRange value, OutputStream out) throws IOException {
    LONG.encode(value.fromMicros(), out);
    LONG.encode(value.toMicros(), out);
  }

  @Override
  public TimeRange decode(InputStream in) throws IOException {
    long from = LONG.decode(in);
    long to = LONG.decode(in);
    return TimeRange.of(from, to);
  }

  @Override
  public void verifyDeterministic() {}

  @Override
  public boolean consistentWithEquals() {
    return true;
  }
}
