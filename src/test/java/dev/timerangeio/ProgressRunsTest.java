package dev.timerangeio;

import static org.junit.Assert.assertEquals;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The bookkeeping of {@link ProgressFn}: which position a watermark releases. */
@RunWith(JUnit4.class)
public class ProgressRunsTest {
  private static TimeRange chunk(long i) {
    return TimeRange.of(i * 100, (i + 1) * 100);
  }

  @Test
  public void chunksSignalledOutOfOrderAreCommittedOnceThePrefixIsWhole() {
    ProgressFn.Runs runs = new ProgressFn.Runs(null);
    runs.add(chunk(2), 30);
    runs.add(chunk(1), 20);
    assertEquals("chunk 0 is missing: nothing to commit", 0, runs.release(0, Long.MAX_VALUE));
    runs.add(chunk(0), 10);
    assertEquals(1, runs.list.size());
    assertEquals(300, runs.release(0, Long.MAX_VALUE));
    assertEquals(0, runs.list.size());
  }

  @Test
  public void aChunkReleasedLateHoldsBackOnlyItselfAndWhatFollows() {
    ProgressFn.Runs runs = new ProgressFn.Runs(null);
    // Chunk 1 emitted a record stamped far later than the chunks after it.
    runs.add(chunk(0), 10);
    runs.add(chunk(1), 1_000);
    runs.add(chunk(2), 30);
    runs.add(chunk(3), 40);
    assertEquals("too early for chunk 0", 0, runs.release(0, 9));
    assertEquals("chunk 0 is released alone", 100, runs.release(0, 999));
    assertEquals("chunks 2 and 3 wait for chunk 1", 100, runs.release(100, 999));
    assertEquals(400, runs.release(100, 1_000));
  }

  @Test
  public void aWatermarkReleasesEveryStepUpToItAtOnce() {
    ProgressFn.Runs runs = new ProgressFn.Runs(null);
    for (long i = 0; i < 10; i++) {
      runs.add(chunk(i), 10 * (i + 1));
    }
    assertEquals(500, runs.release(0, 50));
    assertEquals(500, runs.release(500, 59));
    assertEquals(1_000, runs.release(500, 100));
  }

  @Test
  public void aLongRunKeepsAtMostMaxStepsAndNeverCommitsEarly() {
    ProgressFn.Runs runs = new ProgressFn.Runs(null);
    int n = 10 * ProgressFn.MAX_STEPS;
    for (long i = 0; i < n; i++) {
      runs.add(chunk(i), i + 1);
    }
    assertEquals(1, runs.list.size());
    assertEquals(ProgressFn.MAX_STEPS, runs.list.get(0).getValue().size());
    long position = 0;
    for (long watermark = 1; watermark <= n; watermark++) {
      position = runs.release(position, watermark);
      // Every chunk below the position has a release at or below the watermark.
      assertEquals(true, position <= watermark * 100);
    }
    assertEquals(n * 100L, position);
  }

  @Test
  public void separateRunsJoinWhenTheGapBetweenThemIsRead() {
    ProgressFn.Runs runs = new ProgressFn.Runs(null);
    runs.add(chunk(0), 1);
    runs.add(chunk(5), 2);
    runs.add(chunk(3), 3);
    assertEquals(3, runs.list.size());
    runs.add(chunk(4), 4);
    assertEquals(2, runs.list.size());
    runs.add(chunk(1), 5);
    runs.add(chunk(2), 6);
    assertEquals(1, runs.list.size());
    assertEquals(100, runs.release(0, 4));
    assertEquals(600, runs.release(100, 6));
  }

  @Test
  public void aReplayedOrOverlappingSignalAddsOnlyWhatIsNotCoveredYet() {
    ProgressFn.Runs runs = new ProgressFn.Runs(null);
    runs.add(TimeRange.of(0, 300), 10);
    runs.add(TimeRange.of(100, 200), 10); // replayed inside
    runs.add(TimeRange.of(250, 400), 20); // overlaps the end
    runs.add(TimeRange.of(500, 600), 30);
    runs.add(TimeRange.of(350, 550), 40); // fills the gap, overlapping both sides
    assertEquals(1, runs.list.size());
    assertEquals(300, runs.release(0, 10));
    assertEquals(400, runs.release(300, 20));
    assertEquals(600, runs.release(400, 40));
  }
}
