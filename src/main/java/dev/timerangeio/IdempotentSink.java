package dev.timerangeio;

import java.io.Serializable;
import java.util.List;
import org.apache.beam.sdk.values.KV;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Where {@link TimeRangeIO#write()} puts records: a store that skips keys it already holds.
 *
 * <p>The contract that makes the write exactly-once: {@link #write} stores every record of the
 * batch under its idempotency key, and <b>writing a key that is already stored is a no-op</b>
 * (not an error, not an overwrite). The write retries batches, re-sends them after a worker
 * crash and re-reads ranges after a relaunch; this contract absorbs all of it. Keys are
 * lowercase hex SHA-256 strings (64 characters), see {@link IdempotencyKeys}.
 *
 * <p>Throw {@link RejectedRecordException} when the batch holds a record that will never be
 * accepted (bad data, a constraint the record breaks): the write isolates that record by
 * splitting the batch, sends it to the dead-letter output and writes the rest. Any other
 * exception is taken as transient and the batch is retried with backoff; when the retries run
 * out the bundle fails and the runner retries it, so nothing is lost.
 *
 * <p>An instance is serialized to each worker; {@link #open()} runs before the first batch on a
 * worker copy and {@link #close()} when the copy is discarded.
 *
 * @param <T> the record type
 */
public interface IdempotentSink<T> extends Serializable {

  /** Stores each record under its key; a key already stored is skipped. */
  void write(List<KV<String, T>> keyedRecords) throws Exception;

  /** Acquires connections or clients; called once per worker copy before {@link #write}. */
  default void open() throws Exception {}

  /** Releases what {@link #open()} acquired. */
  default void close() throws Exception {}

  /**
   * Checks, when a write is applied to records that have a Beam schema, that this sink can store
   * them, so a mismatch fails the pipeline's construction instead of its first batch; throws an
   * {@link IllegalArgumentException} naming the problem. The default accepts any schema.
   */
  default void validate(org.apache.beam.sdk.schemas.Schema inputSchema) {}

  /**
   * Where the records go, for Beam's {@link org.apache.beam.sdk.metrics.Lineage}: the write
   * reports it as a sink. Never a secret. The default: none, nothing is reported.
   */
  default @Nullable LineageName lineage() {
    return null;
  }
}
