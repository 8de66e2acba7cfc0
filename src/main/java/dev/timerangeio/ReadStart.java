package dev.timerangeio;

import java.time.Instant;
import java.util.Optional;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where a launch of the read starts; internal. A stored offset wins; otherwise the configured
 * start (an instant, "latest" = the safe horizon, "earliest" = the source's oldest record, or the
 * safe horizon if the source is empty or its oldest record lies above the horizon, where older
 * records may still be ingested), which, with a progress location, is stored before anything is
 * read. So a relaunch after a crash before the first commit continues from this launch's start
 * (not from a new "latest", which would skip what lies between), and the write's {@link
 * ProgressFn} commits from it.
 */
final class ReadStart {
  private static final Logger LOG = LoggerFactory.getLogger(ReadStart.class);

  private ReadStart() {}

  /** The start of this launch of {@code spec}; {@code horizon} is the safe horizon now. */
  static <T> long resolve(
      TimeRangeIO.Read<T> spec, Retries.Call<SourceCalls<T>> source, LongSupplier horizon)
      throws Exception {
    String location = spec.getProgressLocation();
    if (location == null) {
      return aligned(spec, configured(spec, source, horizon));
    }
    Optional<ProgressOffset> stored = ProgressStore.read(location);
    if (stored.isPresent()) {
      LOG.info(
          "TimeRangeIO: resuming at the committed offset {} from {}; it wins over the configured"
              + " start time {}",
          stored.get(),
          location,
          spec.describeStart());
      return aligned(spec, stored.get().timestampMicros());
    }
    long start = aligned(spec, configured(spec, source, horizon));
    if (spec.getEndMicros() != null && start > spec.getEndMicros()) {
      // Nothing is read; a later continuation must start at this read's end, not past it.
      start = spec.getEndMicros();
    }
    ProgressStore.write(location, ProgressOffset.ofTimestamp(start));
    LOG.info(
        "TimeRangeIO: no committed offset at {} yet; starting at {} ({}), stored there",
        location,
        Times.describe(start),
        spec.describeStart());
    return start;
  }

  /**
   * {@code start} floored to the source's bound granularity: a source with coarse bounds is asked
   * only for ranges on its grid. Flooring reads a little more, never less ("latest" and
   * "earliest" are floored; an explicit start is on the grid already, checked when the read is
   * applied; a stored offset is unless the source changed, and a re-read unit is absorbed by the
   * sink).
   */
  private static long aligned(TimeRangeIO.Read<?> spec, long start) {
    long granularity = spec.getQuery().boundGranularityMicros();
    return Times.saturatedSubtract(start, Math.floorMod(start, granularity));
  }

  /** The configured start; {@code opener} opens the source, which only "earliest" needs. */
  private static <T> long configured(
      TimeRangeIO.Read<T> spec, Retries.Call<SourceCalls<T>> opener, LongSupplier horizon)
      throws Exception {
    switch (spec.getStartMode()) {
      case INSTANT:
        return spec.getStartMicros();
      case LATEST:
        return horizon.getAsLong();
      case EARLIEST:
        SourceCalls<T> source = opener.call();
        Optional<Instant> earliest = source.call("earliest()", () -> source.query().earliest());
        if (earliest == null || earliest.isEmpty()) {
          long now = horizon.getAsLong();
          LOG.info(
              "TimeRangeIO: start \"earliest\" but the source holds no record; starting at the"
                  + " safe horizon {}",
              Times.describe(now));
          return now;
        }
        // The source may report more than microsecond precision; floor so the record is included.
        Instant e = earliest.get();
        long oldest = Times.toMicros("earliest()", e.minusNanos(e.getNano() % 1_000));
        long safe = horizon.getAsLong();
        if (oldest > safe) {
          // Above the safe horizon records may still appear (ingestion lag), older than the oldest
          // one visible now, or the oldest is future-dated: starting there would skip them.
          LOG.info(
              "TimeRangeIO: start \"earliest\": the oldest record the source holds now, {}, lies"
                  + " above the safe horizon {}, where records may still be ingested; starting at"
                  + " the horizon",
              Times.describe(oldest),
              Times.describe(safe));
          return safe;
        }
        return oldest;
      default:
        throw new IllegalStateException("unknown start mode " + spec.getStartMode());
    }
  }
}
