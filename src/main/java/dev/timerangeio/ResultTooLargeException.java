package dev.timerangeio;

/**
 * Thrown by a {@link TimeRangeQuery} whose source refuses a range because its result is too large
 * (an API's "too many rows" or HTTP 413, a row cap on the server). The read then bisects the range
 * and asks again, down to a single microsecond, without emitting any record twice; a microsecond
 * that is still too large fails the bundle naming it.
 */
public class ResultTooLargeException extends Exception {
  private static final long serialVersionUID = 1L;

  public ResultTooLargeException(String message) {
    super(message);
  }

  public ResultTooLargeException(String message, Throwable cause) {
    super(message, cause);
  }
}
