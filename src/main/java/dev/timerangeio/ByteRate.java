package dev.timerangeio;

import java.io.IOException;
import java.io.OutputStream;
import org.apache.beam.sdk.coders.Coder;

/**
 * The bytes per microsecond of time range that a worker's copy of the read has emitted so far,
 * for {@code @GetSize} in bytes; internal. A record's bytes are its encoded size with the read's
 * coder (the size a runner moves and stores), a chunk's microseconds its duration, whether it held
 * records or not, so a sparse source gets a low rate and a dense one a high rate.
 *
 * <p>Before this copy has emitted any byte, the rate is {@link #FALLBACK_BYTES_PER_MICRO}: the
 * size is then the ready microseconds themselves, as it was before sizes were in bytes, which
 * weighs restrictions by their time until a chunk has been read.
 */
final class ByteRate {
  /** The rate before anything has been observed: one byte per microsecond of time range. */
  static final double FALLBACK_BYTES_PER_MICRO = 1.0;

  private long bytes;
  private long micros;

  /** Counts a chunk of {@code chunkMicros} that emitted {@code chunkBytes} encoded bytes. */
  synchronized void add(long chunkMicros, long chunkBytes) {
    micros = Times.saturatedAdd(micros, chunkMicros);
    bytes = Times.saturatedAdd(bytes, chunkBytes);
  }

  /** Observed bytes per microsecond, or the fallback before any byte was emitted. */
  synchronized double bytesPerMicro() {
    return bytes == 0 || micros == 0 ? FALLBACK_BYTES_PER_MICRO : (double) bytes / micros;
  }

  /** The estimated bytes of {@code rangeMicros} of time range. */
  double bytesOf(long rangeMicros) {
    return Math.max(0d, rangeMicros) * bytesPerMicro();
  }

  /** Measures records' encoded sizes with one coder, reusing one counting stream. */
  static final class Sizer<T> {
    private final Coder<T> coder;
    private final Counting counting = new Counting();

    Sizer(Coder<T> coder) {
      this.coder = coder;
    }

    /** The bytes {@code record} encodes to. */
    long sizeOf(T record) throws IOException {
      counting.count = 0;
      coder.encode(record, counting);
      return counting.count;
    }
  }

  /** Counts what is written and keeps nothing. */
  private static final class Counting extends OutputStream {
    long count;

    @Override
    public void write(int b) {
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) {
      count += len;
    }
  }
}
