package dev.timerangeio;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.runners.TransformHierarchy;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.reflect.DoFnSignature;
import org.apache.beam.sdk.transforms.reflect.DoFnSignatures;
import org.apache.beam.sdk.transforms.windowing.BoundedWindow;
import org.apache.beam.sdk.transforms.windowing.GlobalWindows;
import org.apache.beam.sdk.transforms.windowing.TimestampCombiner;
import org.apache.beam.sdk.transforms.windowing.Window;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.WindowingStrategy;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * What may stand between a read and the write that commits its position; internal, checked when
 * the pipeline is run (the whole graph is known then), before anything is read or committed.
 *
 * <p>The write's {@link ProgressFn} commits a chunk once the watermark after the sink passes the
 * latest timestamp the chunk's records had when the read emitted them. That is sound only while
 * every record derived from the chunk holds the watermark at or below that timestamp until the
 * sink has it, and is never dropped on the way. Steps that keep that promise:
 *
 * <ul>
 *   <li>ParDos without state or timers (MapElements, FlatMapElements, Filter, WithKeys, …): a record
 *       in flight holds the watermark at its timestamp;
 *   <li>{@code Window.into}, which changes windows, not timestamps; {@code Flatten};
 *   <li>a GroupByKey whose windowing gives each group its earliest input timestamp ({@code
 *       TimestampCombiner.EARLIEST}) and drops nothing as late (the global window, or an allowed
 *       lateness without end, as {@code Reshuffle} has): a held group holds the watermark at its
 *       earliest record.
 * </ul>
 *
 * Anything else on a path from the read to the write is rejected — {@code WithTimestamps} too
 * (a user's DoFn that re-stamps records later can't be told apart and is not supported): a grouping that stamps groups at
 * the end of their window (the default) or at their latest record lets the watermark pass records
 * it still holds, one in fixed windows may drop late records, a stateful or splittable DoFn may
 * hold records without holding the watermark. A write whose input does not come from the read at
 * all is rejected too: it would commit the read's position for records it never receives.
 */
final class CommitPaths {
  private CommitPaths() {}

  /** Where this class documents the supported shapes, for error messages. */
  private static final String SUPPORTED =
      " Supported between the read and the write: element-wise steps (MapElements,"
          + " FlatMapElements, Filter, ParDo without state or timers), Window.into, Flatten,"
          + " Reshuffle, and groupings that keep each group's earliest timestamp and drop nothing"
          + " as late (GroupByKey or Combine in the global window with"
          + " Window.configure().withTimestampCombiner(TimestampCombiner.EARLIEST)). Group or"
          + " aggregate after the write, or write without a progress location.";

  /**
   * Throws {@link IllegalArgumentException} unless {@code writeInput} comes from {@code
   * readRecords} through supported steps only.
   */
  static void check(
      Pipeline pipeline, PCollection<?> readRecords, PCollection<?> writeInput, String location) {
    Set<PCollection<?>> fromRead = new HashSet<>();
    Map<PCollection<?>, String> unsafeVia = new HashMap<>();
    fromRead.add(readRecords);
    pipeline.traverseTopologically(
        new Pipeline.PipelineVisitor.Defaults() {
          @Override
          public void visitPrimitiveTransform(TransformHierarchy.Node node) {
            boolean derived = false;
            String via = null;
            for (PCollection<?> input : node.getInputs().values()) {
              if (fromRead.contains(input)) {
                derived = true;
                via = via != null ? via : unsafeVia.get(input);
              }
            }
            if (!derived) {
              return;
            }
            if (via == null) {
              String why = unsafeReason(node);
              via = why == null ? null : "'" + node.getFullName() + "' " + why;
            }
            for (PCollection<?> output : node.getOutputs().values()) {
              fromRead.add(output);
              if (via != null) {
                unsafeVia.put(output, via);
              }
            }
          }
        });
    if (!fromRead.contains(writeInput)) {
      throw new IllegalArgumentException(
          "TimeRangeIO.write() withProgressLocation("
              + location
              + "): the write's input does not come from the TimeRangeIO.read() with that"
              + " location, so the write would commit the read's position for records it never"
              + " receives, and a relaunch would skip them. Apply the write to the read's output,"
              + " or to what supported steps make of it."
              + SUPPORTED);
    }
    String via = unsafeVia.get(writeInput);
    if (via != null) {
      throw new IllegalArgumentException(
          "TimeRangeIO.write() withProgressLocation("
              + location
              + "): between the read and the write, "
              + via
              + ", so the committed position could pass records that step still holds and a"
              + " crash would lose them."
              + SUPPORTED);
    }
  }

  /** Why a primitive step can break the commit's promise, or null if it can't. */
  private static @Nullable String unsafeReason(TransformHierarchy.Node node) {
    for (TransformHierarchy.Node outer = node.getEnclosingNode();
        outer != null && !outer.isRootNode();
        outer = outer.getEnclosingNode()) {
      if (outer.getTransform() instanceof org.apache.beam.sdk.transforms.WithTimestamps) {
        return "re-stamps records (WithTimestamps), which may move them later than the read"
            + " stamped them";
      }
    }
    PTransform<?, ?> transform = node.getTransform();
    if (transform instanceof ParDo.MultiOutput) {
      DoFnSignature signature =
          DoFnSignatures.getSignature(((ParDo.MultiOutput<?, ?>) transform).getFn().getClass());
      if (signature.processElement().isSplittable()) {
        return "is a splittable DoFn, which may hold records without holding the watermark";
      }
      if (signature.usesState() || signature.usesTimers()) {
        return "is a DoFn with state or timers, which may hold records without holding the"
            + " watermark";
      }
      return null;
    }
    if (transform instanceof Flatten.PCollections || transform instanceof Window.Assign) {
      return null;
    }
    if (transform instanceof GroupByKey) {
      PCollection<?> input = node.getInputs().values().iterator().next();
      WindowingStrategy<?, ?> windowing = input.getWindowingStrategy();
      if (windowing.getTimestampCombiner() != TimestampCombiner.EARLIEST) {
        return "groups records and stamps each group "
            + (windowing.getTimestampCombiner() == TimestampCombiner.LATEST
                ? "at its latest record"
                : "at the end of its window")
            + " (TimestampCombiner."
            + windowing.getTimestampCombiner()
            + "), which lets the watermark pass records it still holds";
      }
      boolean dropsNothing =
          windowing.getWindowFn() instanceof GlobalWindows
              || windowing.getAllowedLateness().getMillis()
                  >= BoundedWindow.TIMESTAMP_MAX_VALUE.getMillis();
      if (!dropsNothing) {
        return "groups records in "
            + windowing.getWindowFn().getClass().getSimpleName()
            + " with an allowed lateness of "
            + windowing.getAllowedLateness()
            + ", so it may drop records as late";
      }
      return null;
    }
    return "is a step ("
        + transform.getClass().getName()
        + ") whose effect on records and the watermark TimeRangeIO can't vouch for";
  }
}
