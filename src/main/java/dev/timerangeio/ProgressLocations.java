package dev.timerangeio;

import java.lang.ref.WeakReference;
import java.net.URI;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.Map;
import java.util.WeakHashMap;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Pairs the read and the write that share a progress location in one pipeline, while the
 * pipeline is built; internal.
 *
 * <p>The write commits what the read reports as read, so it needs the read's chunk signals; and
 * one location belongs to one read and one write: a second read would resume from another's
 * position, a second write would overwrite the first one's commits with its own. Both are
 * rejected when applied, naming the location (local paths compared as absolute paths). Kept per
 * {@link Pipeline} object, weakly, so a built pipeline is not kept alive.
 */
final class ProgressLocations {
  private ProgressLocations() {}

  private static final class Entry {
    // Weak: a PCollection holds its Pipeline, which must not be kept alive through this map.
    final WeakReference<PCollection<KV<Integer, TimeRange>>> signals;
    final WeakReference<PCollection<?>> records;
    boolean written;

    Entry(PCollection<KV<Integer, TimeRange>> signals, PCollection<?> records) {
      this.signals = new WeakReference<>(signals);
      this.records = new WeakReference<>(records);
    }
  }

  /** One spelling per local file, so {@code /p.json} and {@code file:///p.json} are one location. */
  static String canonical(String location) {
    try {
      if (location.startsWith("file:")) {
        return Paths.get(URI.create(location)).toAbsolutePath().normalize().toString();
      }
      if (!location.matches("^[a-zA-Z][a-zA-Z0-9+.-]*://.*")) {
        return Paths.get(location).toAbsolutePath().normalize().toString();
      }
    } catch (IllegalArgumentException e) {
      return location; // Not a local path after all (InvalidPathException too): as written.
    }
    return location;
  }

  private static final Map<Pipeline, Map<String, Entry>> PIPELINES = new WeakHashMap<>();

  /** Registers the read of {@code location}; a second read of it in the pipeline is an error. */
  static synchronized void registerRead(
      Pipeline pipeline,
      String location,
      PCollection<KV<Integer, TimeRange>> signals,
      PCollection<?> records) {
    Map<String, Entry> locations = PIPELINES.computeIfAbsent(pipeline, p -> new HashMap<>());
    String key = canonical(location);
    if (locations.containsKey(key)) {
      throw new IllegalArgumentException(
          "withProgressLocation("
              + location
              + "): another TimeRangeIO.read() in this pipeline already uses this location; one"
              + " location belongs to one read and one write. Give each read its own location.");
    }
    locations.put(key, new Entry(signals, records));
  }

  /** The records the read of {@code location} outputs, or null if the pipeline has no such read. */
  static synchronized @Nullable PCollection<?> readRecords(Pipeline pipeline, String location) {
    Map<String, Entry> locations = PIPELINES.get(pipeline);
    @Nullable Entry entry = locations == null ? null : locations.get(canonical(location));
    return entry == null ? null : entry.records.get();
  }

  /**
   * The chunk signals of the read of {@code location}, for the one write that commits there; an
   * error when no read of the pipeline has the location or another write already commits to it.
   */
  static synchronized PCollection<KV<Integer, TimeRange>> claimForWrite(
      Pipeline pipeline, String location) {
    Map<String, Entry> locations = PIPELINES.get(pipeline);
    @Nullable Entry entry = locations == null ? null : locations.get(canonical(location));
    if (entry == null) {
      throw new IllegalArgumentException(
          "withProgressLocation("
              + location
              + "): no TimeRangeIO.read() applied before this write in the pipeline has this"
              + " progress location. Give the read the same withProgressLocation: the write"
              + " commits what that read has read, and the read resumes from it.");
    }
    if (entry.written) {
      throw new IllegalArgumentException(
          "withProgressLocation("
              + location
              + "): another TimeRangeIO.write() in this pipeline already commits to this location;"
              + " two writes would overwrite each other's position and the faster one's commit"
              + " would skip the slower one's records. One location belongs to one read and one"
              + " write.");
    }
    entry.written = true;
    return entry.signals.get();
  }

  /**
   * Removes the read of {@code location} from the pipeline's pairing and returns its chunk
   * signals: the caller carries them to the write itself (see {@link ProgressSignals}).
   */
  static synchronized PCollection<KV<Integer, TimeRange>> takeRead(
      Pipeline pipeline, String location) {
    Map<String, Entry> locations = PIPELINES.get(pipeline);
    @Nullable Entry entry = locations == null ? null : locations.remove(canonical(location));
    @Nullable PCollection<KV<Integer, TimeRange>> signals =
        entry == null ? null : entry.signals.get();
    if (signals == null) {
      throw new IllegalArgumentException(
          "withProgressLocation("
              + location
              + "): no TimeRangeIO.read() applied in this pipeline has this progress location");
    }
    return signals;
  }
}
