package dev.timerangeio.samples;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;

/** What the samples' checks share. */
final class Samples {
  private Samples() {}

  /**
   * The instant in column {@code column}, whichever SQL type holds it: with a time zone, or a
   * plain timestamp in UTC as the sink writes one.
   */
  static Instant instant(ResultSet rs, int column) throws SQLException {
    Object value = rs.getObject(column);
    if (value instanceof OffsetDateTime) {
      return ((OffsetDateTime) value).toInstant();
    }
    if (value instanceof java.sql.Timestamp) {
      return ((java.sql.Timestamp) value).toLocalDateTime().toInstant(ZoneOffset.UTC);
    }
    if (value instanceof LocalDateTime) {
      return ((LocalDateTime) value).toInstant(ZoneOffset.UTC);
    }
    if (value instanceof Instant) {
      return (Instant) value;
    }
    throw new SQLException("column " + column + " holds " + value + ", not a time");
  }
}
