package dev.timerangeio.jdbc;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.schemas.Schema;

/** What {@link JdbcIdempotentSink} learns of its table before the first write; internal. */
final class JdbcSinkTables {
  private JdbcSinkTables() {}

  /**
   * Which of the schema's fields the table holds in columns of instants: those take the instant
   * itself, so neither the JVM's nor the session's time zone shifts it (a local date-time bound to
   * a {@code timestamptz} is read in the session's zone, the worker JVM's by default).
   */
  static boolean[] instantColumns(
      Connection c, Duration queryTimeout, String table, Schema rowSchema, boolean mysqlLike)
      throws SQLException {
    boolean[] instants = new boolean[rowSchema.getFieldCount()];
    if (instants.length == 0) {
      return instants;
    }
    String probe =
        "SELECT " + String.join(", ", rowSchema.getFieldNames()) + " FROM " + table
            + " WHERE 1 = 0";
    try (PreparedStatement statement = JdbcStatements.prepare(c, queryTimeout, probe);
        java.sql.ResultSet rs = statement.executeQuery()) {
      java.sql.ResultSetMetaData meta = rs.getMetaData();
      for (int i = 0; i < instants.length; i++) {
        instants[i] = JdbcSupport.holdsAnInstant(meta, i + 1, mysqlLike);
      }
    }
    return instants;
  }
  /**
   * The key column of an existing table must be its primary key or have a unique index of its
   * own: otherwise a re-sent batch inserts a second row on H2 and MariaDB, silently. A table the
   * metadata doesn't show is left to the insert's own error.
   */
  static void checkKeyIsUnique(
      Connection c, String table, String keyColumn, boolean databasesAreCatalogs)
      throws SQLException {
    java.sql.DatabaseMetaData meta = c.getMetaData();
    String qualifier = table.contains(".") ? table.substring(0, table.indexOf('.')) : null;
    String name = table.contains(".") ? table.substring(table.indexOf('.') + 1) : table;
    // Only the target table: a null catalog or schema matches a same-named table in another
    // database (MariaDB's databases are catalogs) or schema, whose unique key isn't the target's.
    String catalog = databasesAreCatalogs && qualifier != null ? qualifier : c.getCatalog();
    String schema = databasesAreCatalogs ? null : qualifier != null ? qualifier : c.getSchema();
    for (String candidate :
        new java.util.LinkedHashSet<>(
            List.of(name, name.toLowerCase(java.util.Locale.ROOT), name.toUpperCase(java.util.Locale.ROOT)))) {
      Map<String, List<String>> uniqueIndexes = new HashMap<>();
      boolean found = false;
      try (java.sql.ResultSet rs = meta.getPrimaryKeys(catalog, schema, candidate)) {
        while (rs.next()) {
          found = true;
          uniqueIndexes.computeIfAbsent("PRIMARY KEY", k -> new java.util.ArrayList<>()).add(rs.getString("COLUMN_NAME"));
        }
      }
      try (java.sql.ResultSet rs = meta.getIndexInfo(catalog, schema, candidate, true, true)) {
        while (rs.next()) {
          String column = rs.getString("COLUMN_NAME");
          if (column != null) {
            found = true;
            uniqueIndexes.computeIfAbsent("index " + rs.getString("INDEX_NAME"), k -> new java.util.ArrayList<>()).add(column);
          }
        }
      }
      try (java.sql.ResultSet rs = meta.getColumns(catalog, schema, candidate, null)) {
        found |= rs.next();
      }
      if (!found) {
        continue;
      }
      for (List<String> columns : uniqueIndexes.values()) {
        if (columns.size() == 1 && columns.get(0).equalsIgnoreCase(keyColumn)) {
          return;
        }
      }
      throw new IllegalStateException(
          "JdbcIdempotentSink: the key column "
              + keyColumn
              + " of "
              + table
              + " is neither its primary key nor the only column of a unique index (found "
              + (uniqueIndexes.isEmpty() ? "none" : uniqueIndexes.toString())
              + "), so a re-sent record would be stored twice; make it the primary key, or use"
              + " withCreateTable(true) on a new table");
    }
  }}
