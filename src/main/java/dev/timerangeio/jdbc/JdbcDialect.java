package dev.timerangeio.jdbc;

import java.util.List;
import java.util.stream.Collectors;
import org.apache.beam.sdk.schemas.Schema.FieldType;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.schemas.logicaltypes.MicrosInstant;
import org.apache.beam.sdk.schemas.logicaltypes.NanosInstant;

/**
 * The SQL that differs between the databases {@link JdbcIdempotentSink} supports: the
 * insert-unless-present statement and column types; internal.
 */
enum JdbcDialect {
  /** {@code MERGE … WHEN NOT MATCHED}: H2's standard-SQL skip-if-present. */
  H2 {
    @Override
    String insertIgnoringKnownKeys(String table, String key, List<String> columns) {
      List<String> all = withKey(key, columns);
      String names = String.join(", ", all);
      return "MERGE INTO " + table + " t USING (VALUES (" + placeholders(all.size()) + ")) s("
          + names + ") ON t." + key + " = s." + key + " WHEN NOT MATCHED THEN INSERT (" + names
          + ") VALUES (" + all.stream().map(c -> "s." + c).collect(Collectors.joining(", ")) + ")";
    }

    @Override
    String textType() {
      return "VARCHAR";
    }

    @Override
    String bytesType() {
      return "VARBINARY";
    }

    @Override
    String timestampType(int digits) {
      return "TIMESTAMP(" + digits + ")";
    }
  },
  /** {@code INSERT … ON CONFLICT (key) DO NOTHING}. */
  POSTGRESQL {
    @Override
    String insertIgnoringKnownKeys(String table, String key, List<String> columns) {
      return plainInsert(table, key, columns) + " ON CONFLICT (" + key + ") DO NOTHING";
    }

    @Override
    String textType() {
      return "TEXT";
    }

    @Override
    String bytesType() {
      return "BYTEA";
    }

    @Override
    String timestampType(int digits) {
      return "TIMESTAMP(" + digits + ")";
    }
  },
  /**
   * {@code INSERT … ON DUPLICATE KEY UPDATE key = key}: a no-op on a known key. Not {@code INSERT
   * IGNORE}, which also turns truncation and NOT NULL errors into warnings, silently storing
   * something else than the record.
   */
  MARIADB {
    @Override
    String insertIgnoringKnownKeys(String table, String key, List<String> columns) {
      return plainInsert(table, key, columns) + " ON DUPLICATE KEY UPDATE " + key + " = " + key;
    }

    @Override
    String textType() {
      return "LONGTEXT";
    }

    @Override
    String bytesType() {
      return "LONGBLOB";
    }

    @Override
    String timestampType(int digits) {
      // DATETIME: MariaDB's TIMESTAMP converts through the session time zone and ends in 2038.
      return "DATETIME(" + digits + ")";
    }
  };

  abstract String insertIgnoringKnownKeys(String table, String key, List<String> columns);

  abstract String textType();

  abstract String bytesType();

  abstract String timestampType(int fractionDigits);

  /** The dialect of a JDBC URL, or an {@link IllegalArgumentException} naming the allowed ones. */
  static JdbcDialect of(String jdbcUrl) {
    if (jdbcUrl.startsWith("jdbc:h2:")) {
      return H2;
    }
    if (jdbcUrl.startsWith("jdbc:postgresql:")) {
      return POSTGRESQL;
    }
    if (jdbcUrl.startsWith("jdbc:mariadb:") || jdbcUrl.startsWith("jdbc:mysql:")) {
      return MARIADB;
    }
    throw new IllegalArgumentException(
        "JdbcIdempotentSink: no insert-if-absent statement known for "
            + JdbcSupport.redact(jdbcUrl)
            + "; supported are jdbc:h2:, jdbc:postgresql:, jdbc:mariadb: and jdbc:mysql: URLs,"
            + " or implement IdempotentSink for another store");
  }

  String createTable(String table, String key, Schema schema) {
    StringBuilder sql = new StringBuilder("CREATE TABLE IF NOT EXISTS ").append(table);
    sql.append(" (").append(key).append(" VARCHAR(64) NOT NULL PRIMARY KEY");
    for (Schema.Field field : schema.getFields()) {
      sql.append(", ").append(field.getName()).append(' ').append(columnType(field));
      if (!field.getType().getNullable()) {
        sql.append(" NOT NULL");
      }
    }
    return sql.append(')').toString();
  }

  private String columnType(Schema.Field field) {
    FieldType type = field.getType();
    switch (type.getTypeName()) {
      case BYTE:
      case INT16:
        return "SMALLINT";
      case INT32:
        return "INTEGER";
      case INT64:
        return "BIGINT";
      case FLOAT:
        return "REAL";
      case DOUBLE:
        return "DOUBLE PRECISION";
      case DECIMAL:
        return "DECIMAL(38, 9)";
      case BOOLEAN:
        return "BOOLEAN";
      case STRING:
        return textType();
      case BYTES:
        return bytesType();
      case DATETIME:
        return timestampType(3);
      case LOGICAL_TYPE:
        String id = type.getLogicalType().getIdentifier();
        if (MicrosInstant.IDENTIFIER.equals(id) || NanosInstant.IDENTIFIER.equals(id)) {
          return timestampType(6);
        }
        // fall through
      default:
        throw new IllegalArgumentException(
            "JdbcIdempotentSink.withCreateTable: no column type for field \""
                + field.getName()
                + "\" of type "
                + type
                + "; create the table yourself, or map the field to a string, number, boolean,"
                + " bytes, DATETIME or MicrosInstant");
    }
  }

  static List<String> withKey(String key, List<String> columns) {
    List<String> all = new java.util.ArrayList<>(columns.size() + 1);
    all.add(key);
    all.addAll(columns);
    return all;
  }

  static String placeholders(int n) {
    return String.join(", ", java.util.Collections.nCopies(n, "?"));
  }

  static String plainInsert(String table, String key, List<String> columns) {
    List<String> all = withKey(key, columns);
    return "INSERT INTO " + table + " (" + String.join(", ", all) + ") VALUES ("
        + placeholders(all.size()) + ")";
  }
}
