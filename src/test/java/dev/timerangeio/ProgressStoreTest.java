package dev.timerangeio;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Optional;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The progress store on the local file system, through Beam's FileSystems. */
@RunWith(JUnit4.class)
public class ProgressStoreTest {
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  @Test
  public void nothingStoredYetIsEmpty() throws Exception {
    assertEquals(Optional.empty(), ProgressStore.read(tmp.getRoot() + "/progress.json"));
  }

  @Test
  public void writeThenReadReturnsTheLastOffsetAndLeavesNoTemporaryFile() throws Exception {
    String location = tmp.getRoot() + "/nested/dir/progress.json";
    ProgressStore.write(location, ProgressOffset.ofTimestamp(1_000_001));
    ProgressStore.write(location, ProgressOffset.of(2_000_002, 7L, "p"));

    assertEquals(Optional.of(ProgressOffset.of(2_000_002, 7L, "p")), ProgressStore.read(location));
    assertArrayEquals(new String[] {"progress.json"}, new File(tmp.getRoot(), "nested/dir").list());
  }

  @Test
  public void aCorruptFileFailsNamingItsPathInsteadOfRestartingFromTheStart() throws Exception {
    File file = tmp.newFile("progress.json");
    Files.write(file.toPath(), "{\"timestamp\": \"2026-11-2".getBytes(StandardCharsets.UTF_8));
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> ProgressStore.read(file.getPath()));
    assertThat(e.getMessage(), containsString(file.getPath()));
    assertThat(e.getMessage(), containsString("not JSON"));
    assertThat(e.getMessage(), containsString("delete it to start from the configured start"));
  }

  @Test
  public void aForeignFileFailsNamingItsPath() throws Exception {
    File file = tmp.newFile("progress.json");
    Files.write(file.toPath(), "{\"offsets\": {\"0\": 17}}".getBytes(StandardCharsets.UTF_8));
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> ProgressStore.read(file.getPath()));
    assertThat(e.getMessage(), containsString(file.getPath()));
    assertThat(e.getMessage(), containsString("unknown field \"offsets\""));
  }

  @Test
  public void aLocalWriteSyncsTheNewOffsetBeforeTheRenameAndTheDirectoryAfterIt() throws Exception {
    String location = tmp.getRoot() + "/progress.json";
    ProgressStore.write(location, ProgressOffset.ofTimestamp(1_000_001));
    java.util.List<String> events = new java.util.ArrayList<>();
    ProgressStore.Durability production = ProgressStore.durability;
    // Wraps the production sync, not replaces it: it gets a channel that records its force()
    // calls, and what is stored at each sync shows whether it came before or after the rename.
    ProgressStore.durability =
        (channel, path) -> {
          RecordingFileChannel recording = new RecordingFileChannel(channel);
          production.sync(recording, path);
          String stored = ProgressStore.read(location).get().toJson();
          events.add(
              (Files.isDirectory(path) ? "directory" : "temporary file " + channel.size() + " bytes")
                  + (recording.forces.isEmpty() ? " not forced" : " forced")
                  + ", stored then: "
                  + stored);
        };
    try {
      ProgressStore.write(location, ProgressOffset.ofTimestamp(2_000_002));
    } finally {
      ProgressStore.durability = production;
    }
    String before = ProgressOffset.ofTimestamp(1_000_001).toJson();
    String after = ProgressOffset.ofTimestamp(2_000_002).toJson();
    assertEquals(
        java.util.List.of(
            "temporary file " + after.length() + " bytes forced, stored then: " + before,
            "directory forced, stored then: " + after),
        events);
  }

  @Test
  public void aFileUrlIsALocalFile() throws Exception {
    File file = new File(tmp.getRoot(), "progress.json");
    ProgressStore.write(file.toURI().toString(), ProgressOffset.ofTimestamp(5));
    assertEquals(Optional.of(ProgressOffset.ofTimestamp(5)), ProgressStore.read(file.getPath()));
  }
}
