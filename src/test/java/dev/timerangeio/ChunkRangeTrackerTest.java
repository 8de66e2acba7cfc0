package dev.timerangeio;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.beam.sdk.transforms.splittabledofn.RestrictionTracker.IsBounded;
import org.apache.beam.sdk.transforms.splittabledofn.RestrictionTracker.Progress;
import org.apache.beam.sdk.transforms.splittabledofn.SplitResult;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** Plain unit tests of the chunk tracker: claims, splits, checkpoints and checkDone. */
@RunWith(JUnit4.class)
public class ChunkRangeTrackerTest {

  private static final long NO_HORIZON = Long.MIN_VALUE;

  private static ChunkRangeTracker tracker(long from, long to, long chunk) {
    return new ChunkRangeTracker(TimeRange.of(from, to), new ChunkGrid(chunk), () -> NO_HORIZON);
  }

  /** Claims chunks until the tracker refuses; returns the claimed chunks. */
  private static List<TimeRange> drain(ChunkRangeTracker t, ChunkGrid grid, long position) {
    List<TimeRange> chunks = new ArrayList<>();
    while (true) {
      long end = grid.chunkEnd(position, t.currentRestriction().toMicros());
      if (!t.tryClaim(position)) {
        return chunks;
      }
      chunks.add(TimeRange.of(position, end));
      position = end;
    }
  }

  /** The grid chunks of {@code [from, to)}: what a read of the whole range must claim. */
  private static List<TimeRange> expectedChunks(long from, long to, ChunkGrid grid) {
    List<TimeRange> chunks = new ArrayList<>();
    for (long p = from; p < to; p = grid.chunkEnd(p, to)) {
      chunks.add(TimeRange.of(p, grid.chunkEnd(p, to)));
    }
    return chunks;
  }

  private static boolean isChunkBoundary(long micros, long from, long to, long chunk) {
    return micros == from || micros == to || Math.floorMod(micros, chunk) == 0;
  }

  @Test
  public void everyClaimPrefixAndSplitFractionTilesTheRangeOnChunkBoundaries() {
    double[] fractions = new double[66];
    for (int i = 0; i <= 64; i++) {
      fractions[i] = i / 64.0;
    }
    fractions[65] = 0.999999;
    int cases = 0;
    for (long chunk : new long[] {1, 2, 3, 5}) {
      ChunkGrid grid = new ChunkGrid(chunk);
      for (long from = -6; from <= 6; from++) {
        for (long to = from; to <= from + 13; to++) {
          List<TimeRange> all = expectedChunks(from, to, grid);
          for (int claimed = 0; claimed <= all.size(); claimed++) {
            for (double fraction : fractions) {
              cases++;
              String context =
                  String.format(
                      "range [%d, %d), chunk %d, %d claimed, fraction %s",
                      from, to, chunk, claimed, fraction);
              ChunkRangeTracker t = tracker(from, to, chunk);
              List<TimeRange> processed = new ArrayList<>();
              for (int i = 0; i < claimed; i++) {
                assertTrue(context, t.tryClaim(all.get(i).fromMicros()));
                processed.add(all.get(i));
              }
              long claimedEnd = claimed == 0 ? from : all.get(claimed - 1).toMicros();
              SplitResult<TimeRange> split = t.trySplit(fraction);
              if (split == null) {
                // Nothing could be split off: the tracker keeps the whole range.
                assertEquals(context, TimeRange.of(from, to), t.currentRestriction());
                assertTrue(context, claimedEnd == to || fraction > 0);
                processed.addAll(drain(t, grid, claimedEnd));
              } else {
                TimeRange primary = split.getPrimary();
                TimeRange residual = split.getResidual();
                assertEquals(context, from, primary.fromMicros());
                assertEquals(context, to, residual.toMicros());
                assertEquals(context, primary.toMicros(), residual.fromMicros());
                assertTrue(
                    context + ": split inside claimed work", residual.fromMicros() >= claimedEnd);
                assertTrue(
                    context + ": split off a chunk boundary",
                    isChunkBoundary(residual.fromMicros(), from, to, chunk));
                if (fraction == 0) {
                  assertEquals(context + ": checkpoint", claimedEnd, residual.fromMicros());
                }
                assertEquals(context, primary, t.currentRestriction());
                processed.addAll(drain(t, grid, claimedEnd));
                t.checkDone();
                ChunkRangeTracker rest =
                    new ChunkRangeTracker(residual, grid, () -> NO_HORIZON);
                processed.addAll(drain(rest, grid, residual.fromMicros()));
                rest.checkDone();
              }
              t.checkDone();
              assertEquals(context + ": no gap, no overlap", all, processed);
            }
          }
        }
      }
    }
    assertTrue("exercised " + cases, cases > 100_000);
  }

  @Test
  public void claimAfterCheckpointResumesAtNextChunk() {
    ChunkRangeTracker t = tracker(0, 100, 10);
    assertTrue(t.tryClaim(0L));
    SplitResult<TimeRange> split = t.trySplit(0);
    assertEquals(TimeRange.of(0, 10), split.getPrimary());
    assertEquals(TimeRange.of(10, 100), split.getResidual());
    assertFalse("the next chunk belongs to the residual", t.tryClaim(10L));
    t.checkDone();
  }

  @Test
  public void checkpointBeforeAnyClaimLeavesWholeRangeAsResidual() {
    ChunkRangeTracker t = tracker(3, 100, 10);
    SplitResult<TimeRange> split = t.trySplit(0);
    assertTrue(split.getPrimary().isEmpty());
    assertEquals(TimeRange.of(3, 100), split.getResidual());
    t.checkDone();
  }

  @Test
  public void firstChunkOfUnalignedRangeEndsAtGridPoint() {
    ChunkRangeTracker t = tracker(3, 100, 10);
    assertTrue(t.tryClaim(3L));
    SplitResult<TimeRange> split = t.trySplit(0);
    assertEquals(TimeRange.of(10, 100), split.getResidual());
  }

  @Test
  public void splitAfterAllClaimedReturnsNull() {
    ChunkRangeTracker t = tracker(0, 20, 10);
    assertTrue(t.tryClaim(0L));
    assertTrue(t.tryClaim(10L));
    assertNull(t.trySplit(0));
    assertNull(t.trySplit(0.5));
    assertFalse(t.tryClaim(20L));
    t.checkDone();
  }

  @Test
  public void checkDoneFailsWhenChunksAreLeftUnclaimed() {
    ChunkRangeTracker t = tracker(0, 30, 10);
    assertTrue(t.tryClaim(0L));
    IllegalStateException e = assertThrows(IllegalStateException.class, t::checkDone);
    assertThat(e.getMessage(), containsString("not done"));
  }

  @Test
  public void checkDoneFailsWhenNothingWasClaimed() {
    assertThrows(IllegalStateException.class, () -> tracker(0, 30, 10).checkDone());
  }

  @Test
  public void emptyRangeIsDoneWithoutClaims() {
    ChunkRangeTracker t = tracker(5, 5, 10);
    t.checkDone();
    assertFalse(t.tryClaim(5L));
  }

  @Test
  public void claimThatSkipsAChunkIsRejected() {
    ChunkRangeTracker t = tracker(0, 30, 10);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> t.tryClaim(10L));
    assertThat(e.getMessage(), containsString("without gaps"));
  }

  @Test
  public void claimThatGoesBackIsRejected() {
    ChunkRangeTracker t = tracker(0, 30, 10);
    assertTrue(t.tryClaim(0L));
    assertThrows(IllegalArgumentException.class, () -> t.tryClaim(0L));
  }

  @Test
  public void claimAtOrPastTheEndFails() {
    ChunkRangeTracker t = tracker(0, 10, 10);
    assertTrue(t.tryClaim(0L));
    assertFalse(t.tryClaim(10L));
  }

  @Test
  public void unboundedRangeSplitsAtTheHorizonEstimateOnChunkBoundaries() {
    AtomicLong horizon = new AtomicLong(1_000);
    ChunkRangeTracker t =
        new ChunkRangeTracker(
            TimeRange.of(0, Long.MAX_VALUE), new ChunkGrid(100), horizon::get);
    assertEquals(IsBounded.UNBOUNDED, t.isBounded());
    assertTrue(t.tryClaim(0L));
    SplitResult<TimeRange> split = t.trySplit(0.5);
    // Remaining work is [100, 1000); half of it ends at 550, rounded up to the grid point 600.
    assertEquals(TimeRange.of(0, 600), split.getPrimary());
    assertEquals(TimeRange.of(600, Long.MAX_VALUE), split.getResidual());
    assertEquals(IsBounded.BOUNDED, t.isBounded());
  }

  @Test
  public void unboundedRangeCaughtUpWithHorizonOnlyCheckpoints() {
    ChunkRangeTracker t =
        new ChunkRangeTracker(TimeRange.of(0, Long.MAX_VALUE), new ChunkGrid(100), () -> 50);
    assertNull(t.trySplit(0.5));
    SplitResult<TimeRange> checkpoint = t.trySplit(0);
    assertEquals(TimeRange.of(0, Long.MAX_VALUE), checkpoint.getResidual());
  }

  @Test
  public void progressCountsClaimedMicrosAsDone() {
    ChunkRangeTracker t = tracker(0, 100, 10);
    assertTrue(t.tryClaim(0L));
    assertTrue(t.tryClaim(10L));
    Progress progress = t.getProgress();
    assertEquals(20d, progress.getWorkCompleted(), 0);
    assertEquals(80d, progress.getWorkRemaining(), 0);
  }

  @Test
  public void progressOfUnboundedRangeRunsToTheHorizon() {
    ChunkRangeTracker t =
        new ChunkRangeTracker(TimeRange.of(0, Long.MAX_VALUE), new ChunkGrid(10), () -> 70);
    assertTrue(t.tryClaim(0L));
    assertEquals(60d, t.getProgress().getWorkRemaining(), 0);
  }

  @Test
  public void chunkGridRoundsNegativeTimesDown() {
    ChunkGrid grid = new ChunkGrid(10);
    assertEquals(-10, grid.floorBoundary(-1));
    assertEquals(0, grid.ceilBoundary(-1));
    assertEquals(-10, grid.floorBoundary(-10));
    assertEquals(0, grid.chunkEnd(-3, 100));
    assertEquals(Long.MAX_VALUE, grid.chunkEnd(Long.MAX_VALUE - 3, Long.MAX_VALUE));
  }
}
