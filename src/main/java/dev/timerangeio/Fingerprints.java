package dev.timerangeio;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.Map;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.util.CoderUtils;

/**
 * A multiset of record fingerprints: what a chunk's first read returned, so that its re-read
 * ({@code withLookback}) emits only what is new; internal.
 *
 * <p>A fingerprint is the first 128 bits of SHA-256 over the record's coder encoding (a row the
 * source could not map: over its text, tagged apart from records), so identical records share one
 * and keep their multiplicity as a count: a re-read returning a record twice that the first read
 * returned once emits it once more. Two different records collide with probability about 2^-128
 * per pair.
 */
final class Fingerprints {
  /** The two halves of a fingerprint. */
  record Print(long high, long low) {}

  private final Map<Print, Integer> counts;
  private long size;

  Fingerprints() {
    this.counts = new HashMap<>();
  }

  private Fingerprints(Map<Print, Integer> counts, long size) {
    this.counts = counts;
    this.size = size;
  }

  /** A copy to take from, leaving this one as it is. */
  Fingerprints copy() {
    return new Fingerprints(new HashMap<>(counts), size);
  }

  /** How many records, counting each copy. */
  long size() {
    return size;
  }

  void add(Print print) {
    counts.merge(print, 1, Integer::sum);
    size++;
  }

  /** Takes one copy of {@code print} away; false if none is left. */
  boolean take(Print print) {
    Integer count = counts.get(print);
    if (count == null) {
      return false;
    }
    if (count == 1) {
      counts.remove(print);
    } else {
      counts.put(print, count - 1);
    }
    size--;
    return true;
  }

  /** The fingerprint of a record, from its encoding by {@code coder}. */
  static <T> Print of(T record, Coder<T> coder) throws IOException {
    return of((byte) 0, CoderUtils.encodeToByteArray(coder, record));
  }

  /** The fingerprint of a source row the mapper could not make a record of. */
  static Print ofUnmapped(String row) {
    return of((byte) 1, row.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  private static Print of(byte kind, byte[] bytes) {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
    sha.update(kind);
    ByteBuffer digest = ByteBuffer.wrap(sha.digest(bytes));
    return new Print(digest.getLong(), digest.getLong());
  }

  void encode(DataOutputStream out) throws IOException {
    out.writeInt(counts.size());
    for (Map.Entry<Print, Integer> e : counts.entrySet()) {
      out.writeLong(e.getKey().high());
      out.writeLong(e.getKey().low());
      out.writeInt(e.getValue());
    }
  }

  static Fingerprints decode(DataInputStream in) throws IOException {
    int entries = in.readInt();
    Map<Print, Integer> counts = new HashMap<>();
    long size = 0;
    for (int i = 0; i < entries; i++) {
      Print print = new Print(in.readLong(), in.readLong());
      int count = in.readInt();
      counts.put(print, count);
      size += count;
    }
    return new Fingerprints(counts, size);
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof Fingerprints && ((Fingerprints) other).counts.equals(counts);
  }

  @Override
  public int hashCode() {
    return counts.hashCode();
  }

  @Override
  public String toString() {
    return "Fingerprints{" + size + " records, " + counts.size() + " distinct}";
  }
}
