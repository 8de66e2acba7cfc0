package dev.timerangeio.schematransforms;

import org.apache.beam.sdk.schemas.transforms.providers.ErrorHandling;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * The settings every read's configuration row has, with {@link TimeRangeIO.Read}'s names in
 * snake_case (Beam names the row's fields after the getters, snake_case); each configuration class
 * declares them again (Beam's {@code AutoValueSchema} sees only a class's own getters) and {@link
 * ReadSettings} applies them.
 */
interface ReadOptions {
  /** {@code withStartTime}: "earliest", "latest" or an ISO-8601 instant. */
  @Nullable String getStartTime();

  /** {@code withEndTime}: an ISO-8601 instant; set ⇒ a bounded read. */
  @Nullable String getEndTime();

  /** {@code withPartitionDuration}: an ISO-8601 duration ("PT1H"). */
  @Nullable String getPartitionDuration();

  /** {@code withIngestionLag}: an ISO-8601 duration. */
  @Nullable String getIngestionLag();

  /** {@code withPollInterval}: an ISO-8601 duration. */
  @Nullable String getPollInterval();

  /** {@code withProgressLocation}: adds the {@code progress} output for the write. */
  @Nullable String getProgressLocation();

  /** {@code withMaxRowsPerQuery}. */
  @Nullable Long getMaxRowsPerQuery();

  /** {@code withMaxRetries}. */
  @Nullable Integer getMaxRetries();

  /** Beam's convention: bad records as an extra output of this name. */
  @Nullable ErrorHandling getErrorHandling();
}
