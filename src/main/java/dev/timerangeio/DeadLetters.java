package dev.timerangeio;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.transforms.errorhandling.BadRecord;
import org.apache.beam.sdk.values.KV;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Stores bad records (the read's) and failed records (the write's) in the user's dead-letter
 * {@link IdempotentSink}, synchronously, inside the bundle that found them; internal.
 *
 * <p>Why synchronously: with a progress location, the committed position may pass a record only
 * once it is in the sink or in the dead-letter sink. A dead letter handed on as a {@code
 * PCollection} to a writer applied later can still be in flight when the position passes it, and
 * a crash then leaves the record nowhere. Stored here, it is durable before the bundle that
 * signals its chunk (read) or holds its timestamp (write) commits.
 *
 * <p>Transient failures are retried with jittered exponential backoff; a dead letter the
 * dead-letter sink itself rejects fails the bundle, since there is nowhere else to put it.
 */
final class DeadLetters {
  private final IdempotentSink<BadRecord> sink;
  private final Retries writes;

  DeadLetters(IdempotentSink<BadRecord> sink, Retries writes) {
    this.sink = sink;
    this.writes = writes;
  }

  void open() throws Exception {
    sink.open();
  }

  void close() throws Exception {
    sink.close();
  }

  /**
   * The dead-letter key of a bad record the read found: the record as encoded (or as text when it
   * has no encoding), not the reason, which names the range it was queried by; so the same record
   * found again by a re-read, whatever the chunks, gets the same key.
   */
  static List<KV<String, BadRecord>> keyed(List<BadRecord> badRecords) {
    List<KV<String, BadRecord>> keyed = new ArrayList<>(badRecords.size());
    for (BadRecord bad : badRecords) {
      byte[] encoded = bad.getRecord().getEncodedRecord();
      keyed.add(
          KV.of(
              IdempotencyKeys.of(
                  encoded != null
                      ? Map.of("record", Base64.getEncoder().encodeToString(encoded))
                      : Map.of("text", bad.getRecord().getHumanReadableJsonRecord())),
              bad));
    }
    return keyed;
  }

  /** Stores {@code deadLetters}, retrying transient failures; throws when it can't. */
  void store(List<KV<String, BadRecord>> deadLetters) throws Exception {
    try {
      writes.write(sink, deadLetters, "TimeRangeIO dead letters into " + sink);
    } catch (RejectedRecordException e) {
      throw new IOException(
          "TimeRangeIO: the dead-letter sink "
              + sink
              + " rejected "
              + deadLetters.size()
              + " dead letters; there is nowhere else to put them, failing the bundle: "
              + e.getMessage(),
          e);
    }
  }

  /**
   * What becomes of records the write can't store in its sink ({@code what}: "the sink rejected",
   * "can't key"): stored in the dead-letter sink when there is one; otherwise, with a progress
   * location, the bundle fails, since the position must not pass a record stored nowhere (nothing
   * is lost; the pipeline stops until the record or the configuration is fixed); otherwise they
   * only go to the failed output.
   */
  static void settle(
      @Nullable DeadLetters deadLetters,
      boolean progress,
      List<KV<String, BadRecord>> failed,
      String what)
      throws Exception {
    if (failed.isEmpty()) {
      return;
    }
    if (deadLetters != null) {
      deadLetters.store(failed);
    } else if (progress) {
      BadRecord first = failed.get(0).getValue();
      throw new IOException(
          "TimeRangeIO.write(): "
              + what
              + " "
              + failed.size()
              + " records (the first: "
              + first.getFailure().getDescription()
              + ": "
              + first.getFailure().getException()
              + "); with withProgressLocation the position must not pass a record stored"
              + " nowhere, so the bundle fails. Add withDeadLetterSink(IdempotentSink) to store"
              + " such records and go on.");
    }
  }
}
