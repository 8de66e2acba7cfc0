package dev.timerangeio;

import java.util.ArrayList;
import java.util.List;

/**
 * A built-in connector's answer: the records, plus the source rows it could not turn into
 * records (a row mapper that threw), each with the reason. The read sends those to its bad-record
 * handler, or fails the bundle with the reason when it has none; internal.
 */
final class QueryResult<T> extends ArrayList<T> {
  private static final long serialVersionUID = 1L;

  /** A source row that no record could be made of. */
  static final class Unmappable {
    final String row;
    final Exception error;

    Unmappable(String row, Exception error) {
      this.row = row;
      this.error = error;
    }
  }

  private final List<Unmappable> unmappable = new ArrayList<>();

  void addUnmappable(String row, Exception error) {
    unmappable.add(new Unmappable(row, error));
  }

  List<Unmappable> unmappable() {
    return unmappable;
  }

  /** Rows the source returned: records and unmappable rows, for the read's row cap. */
  int rows() {
    return size() + unmappable.size();
  }
}
