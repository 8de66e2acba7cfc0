package dev.timerangeio;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.beam.sdk.coders.CustomCoder;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * What reaches the join of a read with {@code withLookback} ({@link RecheckFn}) about one chunk;
 * internal. Either the first read's summary — the chunk, the fingerprints of everything it
 * returned, the latest timestamp it emitted — or the re-check's word that the chunk is due, now
 * {@code ingestionLag + lookback} old.
 */
final class ChunkNote {
  final TimeRange chunk;
  /** The first read's fingerprints; null for "the chunk is due". */
  final @Nullable Fingerprints firstRead;
  /** The latest timestamp the first read emitted (its start minus the watermark delay if none). */
  final long latestMillis;

  private ChunkNote(TimeRange chunk, @Nullable Fingerprints firstRead, long latestMillis) {
    this.chunk = chunk;
    this.firstRead = firstRead;
    this.latestMillis = latestMillis;
  }

  static ChunkNote firstRead(TimeRange chunk, Fingerprints returned, long latestMillis) {
    return new ChunkNote(chunk, returned, latestMillis);
  }

  static ChunkNote due(TimeRange chunk) {
    return new ChunkNote(chunk, null, Long.MIN_VALUE);
  }

  boolean isDue() {
    return firstRead == null;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof ChunkNote)) {
      return false;
    }
    ChunkNote other = (ChunkNote) o;
    return chunk.equals(other.chunk)
        && latestMillis == other.latestMillis
        && java.util.Objects.equals(firstRead, other.firstRead);
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(chunk, firstRead, latestMillis);
  }

  @Override
  public String toString() {
    return isDue() ? "due " + chunk : "first read of " + chunk + ": " + firstRead;
  }

  /**
   * The notes' coder: plain streams, no Java serialization (which fails on a Flink cluster with
   * Beam in its lib/ for classes of the job jar).
   */
  static final class Coder extends CustomCoder<ChunkNote> {
    private static final long serialVersionUID = 1L;
    private static final Coder INSTANCE = new Coder();

    static Coder of() {
      return INSTANCE;
    }

    @Override
    public void encode(ChunkNote note, OutputStream stream) throws IOException {
      DataOutputStream out = new DataOutputStream(stream);
      out.writeLong(note.chunk.fromMicros());
      out.writeLong(note.chunk.toMicros());
      out.writeBoolean(note.isDue());
      if (!note.isDue()) {
        out.writeLong(note.latestMillis);
        note.firstRead.encode(out);
      }
      out.flush();
    }

    @Override
    public ChunkNote decode(InputStream stream) throws IOException {
      DataInputStream in = new DataInputStream(stream);
      TimeRange chunk = TimeRange.of(in.readLong(), in.readLong());
      if (in.readBoolean()) {
        return due(chunk);
      }
      long latest = in.readLong();
      return firstRead(chunk, Fingerprints.decode(in), latest);
    }
  }
}
