package dev.timerangeio;

import java.nio.ByteBuffer;
import org.apache.beam.sdk.transforms.DoFn;

/**
 * Resolves the start of a read with {@code withLookback} once, for both its first read and its
 * re-check, which must read the same chunks from the same start: a start resolved by each on its
 * own ("latest", "earliest") could differ, and the progress location must hold one; internal.
 *
 * <p>Its input is the impulse; its output the start, 8 bytes, which {@link
 * ReadFn#initialRestriction(byte[])} tells from the (empty) impulse.
 */
final class ResolveStartFn<T> extends DoFn<byte[], byte[]> {
  /** A read like the first read, used only to resolve the start as it would. */
  private final ReadFn<T> read;

  ResolveStartFn(ReadFn<T> read) {
    this.read = read;
  }

  @ProcessElement
  public void process(OutputReceiver<byte[]> out) throws Exception {
    try {
      out.output(encode(read.initialRestriction().fromMicros()));
    } finally {
      read.teardown(); // closes the source "earliest" opened
    }
  }

  static byte[] encode(long startMicros) {
    return ByteBuffer.allocate(Long.BYTES).putLong(startMicros).array();
  }

  /** Whether a read's input element is a resolved start rather than the impulse. */
  static boolean isStart(byte[] element) {
    return element.length == Long.BYTES;
  }

  static long decode(byte[] element) {
    return ByteBuffer.wrap(element).getLong();
  }
}
