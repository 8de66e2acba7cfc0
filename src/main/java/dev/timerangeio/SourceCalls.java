package dev.timerangeio;

import org.apache.beam.sdk.metrics.Counter;

/**
 * A read's open source, and the one way the read calls it: inside the read's {@link QueryGate},
 * with the read's {@link Retries} for transient failures ({@link SourceErrors#isTransient});
 * internal. Opened once per DoFn copy, closed at its teardown.
 */
final class SourceCalls<T> implements AutoCloseable {
  private final TimeRangeQuery<T> query;
  private final QueryGate gate;
  private final Retries retries;

  private SourceCalls(TimeRangeQuery<T> query, QueryGate gate, Retries retries) {
    this.query = query;
    this.gate = gate;
    this.retries = retries;
  }

  /** Opens {@code spec}'s query for this copy of the read. */
  static <T> SourceCalls<T> open(TimeRangeIO.Read<T> spec, QueryGate gate, Counter sourceRetries)
      throws Exception {
    TimeRangeQuery<T> query = spec.getQuery();
    query.open();
    return new SourceCalls<>(
        query,
        gate,
        Retries.forSource(
            spec.getMaxRetries(),
            spec.getInitialBackoff(),
            spec.getMaxRetryDuration(),
            sourceRetries));
  }

  /** The open query, for calls that need no retries (its capabilities, its class). */
  TimeRangeQuery<T> query() {
    return query;
  }

  /**
   * Calls the source through the gate, retrying transient failures; {@code what} names the call
   * in log lines and errors. A lazy answer must be consumed inside {@code call}: it is still being
   * fetched, so it holds its gate slot, and a failure halfway through is retried whole.
   */
  <R> R call(String what, Retries.Call<R> call) throws Exception {
    return retries.run(
        "TimeRangeIO: " + what,
        SourceErrors::isTransient,
        () -> {
          gate.enter();
          try {
            return call.call();
          } finally {
            gate.exit();
          }
        });
  }

  @Override
  public void close() throws Exception {
    query.close();
  }
}
