package dev.timerangeio;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.apache.beam.sdk.io.fs.ResolveOptions.StandardResolveOptions;
import org.apache.beam.sdk.io.fs.ResourceId;

/**
 * Reads and writes the committed {@link ProgressOffset} at a location Beam's {@link FileSystems}
 * knows (a local path, {@code gs://…}, {@code s3://…}). A write goes to a temporary file beside
 * the target and is renamed over it, so a reader sees the old offset or the new one, never half a
 * file. On a local file system the temporary file is synced before the rename and the directory
 * after it, so a power loss can't leave an empty or missing offset behind (object stores make an
 * object durable when its upload completes). Internal.
 */
final class ProgressStore {
  private ProgressStore() {}

  /**
   * The stored offset, or empty when nothing is stored yet. A file that is there but is not an
   * offset is an error naming the location: restarting from the configured start instead would
   * silently re-read or skip data.
   */
  static Optional<ProgressOffset> read(String location) throws IOException {
    MatchResult match = FileSystems.match(location);
    if (match.status() == MatchResult.Status.NOT_FOUND) {
      return Optional.empty();
    }
    if (match.status() != MatchResult.Status.OK) {
      throw new IOException(
          "TimeRangeIO progress location " + location + ": can't look it up (" + match.status() + ")");
    }
    byte[] bytes;
    try (ReadableByteChannel channel = FileSystems.open(match.metadata().get(0).resourceId());
        InputStream in = Channels.newInputStream(channel)) {
      bytes = in.readAllBytes();
    }
    try {
      return Optional.of(ProgressOffset.fromJson(new String(bytes, StandardCharsets.UTF_8)));
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException(
          "TimeRangeIO progress location "
              + location
              + " holds no valid offset ("
              + e.getMessage()
              + "); expected JSON like {\"timestamp\":\"2024-05-01T00:00:00Z\"}. Fix the file,"
              + " or delete it to start from the configured start time.",
          e);
    }
  }

  /** Forces a file's or directory's contents to the device; replaceable by tests. */
  interface Durability {
    void sync(FileChannel channel, Path path) throws IOException;
  }

  static volatile Durability durability = (channel, path) -> channel.force(true);

  /** Replaces the stored offset with {@code offset}, atomically where the file system renames so. */
  static void write(String location, ProgressOffset offset) throws IOException {
    ResourceId target = FileSystems.matchNewResource(location, false);
    if ("file".equals(target.getScheme())) {
      writeLocal(
          location.startsWith("file:") ? Paths.get(URI.create(location)) : Paths.get(location),
          offset.toJson().getBytes(StandardCharsets.UTF_8));
      return;
    }
    ResourceId temp =
        target
            .getCurrentDirectory()
            .resolve(
                "." + target.getFilename() + "." + UUID.randomUUID() + ".tmp",
                StandardResolveOptions.RESOLVE_FILE);
    try (WritableByteChannel channel = FileSystems.create(temp, "application/json");
        OutputStream out = Channels.newOutputStream(channel)) {
      out.write(offset.toJson().getBytes(StandardCharsets.UTF_8));
    }
    FileSystems.rename(List.of(temp), List.of(target));
  }

  private static void writeLocal(Path target, byte[] bytes) throws IOException {
    Path directory = target.toAbsolutePath().getParent();
    Files.createDirectories(directory);
    Path temp = directory.resolve("." + target.getFileName() + "." + UUID.randomUUID() + ".tmp");
    try (FileChannel channel =
        FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ByteBuffer buffer = ByteBuffer.wrap(bytes);
      while (buffer.hasRemaining()) {
        channel.write(buffer);
      }
      durability.sync(channel, temp);
    } catch (IOException e) {
      Files.deleteIfExists(temp);
      throw e;
    }
    Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    try (FileChannel dir = FileChannel.open(directory, StandardOpenOption.READ)) {
      durability.sync(dir, directory);
    }
  }
}
