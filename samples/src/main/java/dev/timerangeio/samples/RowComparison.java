package dev.timerangeio.samples;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The samples' end check: what a run wrote compared with what it should hold, row by row, in the
 * database. Counts, sums or ranges of ids would let two lost rows and two duplicates pass, and
 * never look at times or payloads.
 */
final class RowComparison {
  private static final Logger LOG = LoggerFactory.getLogger(RowComparison.class);

  private RowComparison() {}

  /**
   * Whether the rows {@code actual} selects are exactly those {@code expected} selects: as many,
   * with no row of either missing from the other, every column compared. {@code expected} must
   * not repeat a row (its table has a primary key among the columns), so equal counts with
   * nothing missing either way also rule out a row held twice. Logs the figures either way.
   */
  static boolean sameRows(Connection c, String what, String expected, String actual)
      throws SQLException {
    long expectedRows = count(c, expected);
    long actualRows = count(c, actual);
    long missing = count(c, expected + " EXCEPT " + actual);
    long unexpected = count(c, actual + " EXCEPT " + expected);
    boolean same = expectedRows == actualRows && missing == 0 && unexpected == 0;
    if (same) {
      LOG.info(
          "Check passed: {} holds exactly the {} expected rows, compared row by row",
          what,
          expectedRows);
    } else {
      LOG.error(
          "MISMATCH in {}: {} rows expected, {} found; {} expected rows missing, {} rows found that"
              + " were not expected (a difference in any column counts)",
          what, expectedRows, actualRows, missing, unexpected);
    }
    return same;
  }

  private static long count(Connection c, String select) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM (" + select + ") r")) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
