package dev.timerangeio.jdbc;

import java.math.BigDecimal;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import org.apache.beam.sdk.schemas.Schema.FieldType;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.schemas.logicaltypes.MicrosInstant;
import org.apache.beam.sdk.values.Row;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Maps result-set rows to Beam {@link Row}s with a schema read from the result set's metadata;
 * internal to {@link JdbcTimeRangeQuery#forTableAsRows}. Timestamps become {@code MicrosInstant}
 * ({@code java.time.Instant}) values: zone-less ones read in the query's zone.
 */
final class ResultSetRows implements JdbcTimeRangeQuery.RowMapper<Row> {
  private static final long serialVersionUID = 1L;

  private final ZoneId zone;
  // Read once, when the pipeline is built; a cache shared by the query's copies.
  private @Nullable Schema schema;
  // Per column: a timestamp with a time zone (read as OffsetDateTime, not in the zone).
  private boolean @Nullable [] zoned;

  ResultSetRows(ZoneId zone) {
    this.zone = zone;
  }

  /** The same mapping for zone-less timestamps in {@code otherZone}, keeping a learnt schema. */
  ResultSetRows inZone(ZoneId otherZone) {
    ResultSetRows rows = new ResultSetRows(otherZone);
    rows.schema = schema;
    rows.zoned = zoned;
    return rows;
  }

  @Nullable Schema schema() {
    return schema;
  }

  /**
   * Learns the schema from a result set's metadata (at pipeline construction). {@code mysqlLike}:
   * the database is MariaDB or MySQL, whose {@code TIMESTAMP} holds an instant.
   */
  Schema learn(ResultSetMetaData meta, boolean mysqlLike) throws SQLException {
    Schema.Builder builder = Schema.builder();
    boolean[] withZone = new boolean[meta.getColumnCount()];
    for (int i = 1; i <= meta.getColumnCount(); i++) {
      withZone[i - 1] = JdbcSupport.holdsAnInstant(meta, i, mysqlLike);
      String name = meta.getColumnLabel(i).toLowerCase(java.util.Locale.ROOT);
      FieldType type = fieldType(meta.getColumnType(i), meta.getColumnTypeName(i), name);
      boolean nullable = meta.isNullable(i) != ResultSetMetaData.columnNoNulls;
      builder.addField(Schema.Field.of(name, type).withNullable(nullable));
    }
    schema = builder.build();
    zoned = withZone;
    return schema;
  }

  private static FieldType fieldType(int sqlType, String typeName, String column) {
    switch (sqlType) {
      case Types.BIGINT:
        return FieldType.INT64;
      case Types.INTEGER:
        return FieldType.INT32;
      case Types.SMALLINT:
      case Types.TINYINT:
        return FieldType.INT16;
      case Types.BOOLEAN:
      case Types.BIT:
        return FieldType.BOOLEAN;
      case Types.REAL:
        return FieldType.FLOAT;
      case Types.FLOAT:
      case Types.DOUBLE:
        return FieldType.DOUBLE;
      case Types.NUMERIC:
      case Types.DECIMAL:
        return FieldType.DECIMAL;
      case Types.CHAR:
      case Types.VARCHAR:
      case Types.LONGVARCHAR:
      case Types.NCHAR:
      case Types.NVARCHAR:
      case Types.LONGNVARCHAR:
      case Types.CLOB:
        return FieldType.STRING;
      case Types.BINARY:
      case Types.VARBINARY:
      case Types.LONGVARBINARY:
      case Types.BLOB:
        return FieldType.BYTES;
      case Types.TIMESTAMP:
      case Types.TIMESTAMP_WITH_TIMEZONE:
        return FieldType.logicalType(new MicrosInstant());
      default:
        throw new IllegalArgumentException(
            "JdbcTimeRangeQuery.forTableAsRows: column \""
                + column
                + "\" has SQL type "
                + typeName
                + ", which has no Beam schema type here; select it cast to a string or number,"
                + " or use a RowMapper");
    }
  }

  /** The current row as a Beam Row; zone-less timestamps are read in the zone. */
  @Override
  public Row mapRow(ResultSet rs) throws SQLException {
    Schema s = schema;
    Row.Builder row = Row.withSchema(s);
    for (int i = 0; i < s.getFieldCount(); i++) {
      int column = i + 1;
      FieldType type = s.getField(i).getType();
      Object value;
      switch (type.getTypeName()) {
        case INT64:
          value = rs.getLong(column);
          break;
        case INT32:
          value = rs.getInt(column);
          break;
        case INT16:
          value = rs.getShort(column);
          break;
        case BOOLEAN:
          value = rs.getBoolean(column);
          break;
        case FLOAT:
          value = rs.getFloat(column);
          break;
        case DOUBLE:
          value = rs.getDouble(column);
          break;
        case DECIMAL:
          BigDecimal decimal = rs.getBigDecimal(column);
          value = decimal;
          break;
        case STRING:
          value = rs.getString(column);
          break;
        case BYTES:
          value = rs.getBytes(column);
          break;
        default:
          value = instant(rs, column, zoned[i], zone);
      }
      row.addValue(rs.wasNull() ? null : value);
    }
    return row.build();
  }

  private static @Nullable Instant instant(ResultSet rs, int column, boolean zoned, ZoneId zone)
      throws SQLException {
    if (zoned) {
      OffsetDateTime t = rs.getObject(column, OffsetDateTime.class);
      return t == null ? null : t.toInstant();
    }
    LocalDateTime t = rs.getObject(column, LocalDateTime.class);
    return t == null ? null : JdbcSupport.instantOf(t, zone);
  }
}
