package dev.timerangeio;

/**
 * Thrown by an {@link IdempotentSink} when a batch holds at least one record the sink will never
 * accept, whatever the retry: a value out of range, a broken constraint. The write then splits the
 * batch until the rejected records stand alone, writes the others, and emits each rejected record
 * on {@link TimeRangeIO.Write.Result#getFailedRecords()} with this exception's message.
 *
 * <p>Throw anything else for a transient failure (a timeout, a lost connection): that batch is
 * retried as a whole.
 */
public class RejectedRecordException extends Exception {
  private static final long serialVersionUID = 1L;

  public RejectedRecordException(String message) {
    super(message);
  }

  public RejectedRecordException(String message, Throwable cause) {
    super(message, cause);
  }
}
