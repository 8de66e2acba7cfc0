package dev.timerangeio;

import static org.apache.beam.vendor.guava.v32_1_2_jre.com.google.common.base.Preconditions.checkArgument;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.Row;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.ReadableInstant;

/**
 * An {@link IdempotentSink} into a SQL table whose primary key is the idempotency key, on H2,
 * PostgreSQL and MariaDB (or MySQL).
 *
 * <pre>{@code
 * // Beam Rows: one column per schema field, named after it.
 * JdbcIdempotentSink<Row> rows = JdbcIdempotentSink.forRows(url, "events_copy").withCreateTable(true);
 * // Any type, through a mapper to a Row of a given schema.
 * JdbcIdempotentSink<Event> events =
 *     JdbcIdempotentSink.forTable(url, "events_copy", Event.SCHEMA, Event::toRow);
 * }</pre>
 *
 * <p>A record is inserted unless its key is already in the table, in one statement, so
 * concurrent writers and re-sent batches never produce a second row or an error: {@code INSERT …
 * ON CONFLICT (key) DO NOTHING} on PostgreSQL, {@code INSERT … ON DUPLICATE KEY UPDATE key = key}
 * on MariaDB/MySQL (rather than {@code INSERT IGNORE}, which would also swallow data errors), and
 * {@code MERGE … WHEN NOT MATCHED THEN INSERT} on H2. A batch is one transaction.
 *
 * <p>Instants ({@code java.time.Instant} fields such as Beam's {@code MicrosInstant}, and {@code
 * DATETIME}) are written as local date-times in {@link #withZone the zone} (UTC by default), at
 * the microsecond. A data or constraint error (SQLSTATE classes 22 and 23) is reported as {@link
 * RejectedRecordException}, so the write isolates the offending record into its failed output;
 * anything else is retried.
 *
 * @param <T> the record type
 */
public final class JdbcIdempotentSink<T> implements IdempotentSink<T> {
  private static final long serialVersionUID = 1L;
  /** Default {@link #withKeyColumn}. */
  public static final String DEFAULT_KEY_COLUMN = "idempotency_key";

  private final String jdbcUrl;
  private final String table;
  private final JdbcDialect dialect;
  private final @Nullable SerializableFunction<T, Row> toRow;
  private final @Nullable Schema schema;
  private final String keyColumn;
  private final boolean createTable;
  private final @Nullable String username;
  private final @Nullable String password;
  private final ZoneId zone;

  private transient @Nullable Connection connection;
  private transient Map<Schema, String> statements;
  private transient boolean tableChecked;

  private JdbcIdempotentSink(
      String jdbcUrl,
      String table,
      @Nullable SerializableFunction<T, Row> toRow,
      @Nullable Schema schema,
      String keyColumn,
      boolean createTable,
      @Nullable String username,
      @Nullable String password,
      ZoneId zone) {
    this.jdbcUrl = jdbcUrl;
    this.table = table;
    this.dialect = JdbcDialect.of(jdbcUrl);
    this.toRow = toRow;
    this.schema = schema;
    this.keyColumn = keyColumn;
    this.createTable = createTable;
    this.username = username;
    this.password = password;
    this.zone = zone;
  }

  /** Writes Beam {@link Row}s, one column per field of the row's schema, named after the field. */
  public static JdbcIdempotentSink<Row> forRows(String jdbcUrl, String table) {
    checkTarget(jdbcUrl, table);
    return new JdbcIdempotentSink<>(
        jdbcUrl, table, null, null, DEFAULT_KEY_COLUMN, false, null, null, ZoneOffset.UTC);
  }

  /**
   * Writes records of any type through {@code toRow}, which maps a record to a {@link Row} of
   * {@code schema}: one column per field, named after it.
   */
  public static <T> JdbcIdempotentSink<T> forTable(
      String jdbcUrl, String table, Schema schema, SerializableFunction<T, Row> toRow) {
    checkTarget(jdbcUrl, table);
    checkArgument(schema != null, "forTable: schema must not be null");
    checkArgument(toRow != null, "forTable: toRow must not be null");
    checkColumns(schema);
    return new JdbcIdempotentSink<>(
        jdbcUrl, table, toRow, schema, DEFAULT_KEY_COLUMN, false, null, null, ZoneOffset.UTC);
  }

  private static void checkTarget(String jdbcUrl, String table) {
    JdbcSupport.checkUrl(jdbcUrl);
    JdbcDialect.of(jdbcUrl);
    JdbcSupport.checkIdentifier("table", table);
  }

  private static void checkColumns(Schema schema) {
    for (Schema.Field field : schema.getFields()) {
      JdbcSupport.checkIdentifier("schema field", field.getName());
    }
  }

  /**
   * The primary-key column holding the 64-character idempotency key. Default {@link
   * #DEFAULT_KEY_COLUMN}.
   */
  public JdbcIdempotentSink<T> withKeyColumn(String keyColumn) {
    JdbcSupport.checkIdentifier("withKeyColumn", keyColumn);
    return new JdbcIdempotentSink<>(
        jdbcUrl, table, toRow, schema, keyColumn, createTable, username, password, zone);
  }

  /**
   * Whether to {@code CREATE TABLE IF NOT EXISTS} before the first write, with the key column as
   * primary key and a column per schema field (strings, numbers, booleans, bytes, {@code DATETIME}
   * and {@code MicrosInstant} map to column types). Default false: the table must exist, with
   * the key column as primary or unique key.
   */
  public JdbcIdempotentSink<T> withCreateTable(boolean createTable) {
    return new JdbcIdempotentSink<>(
        jdbcUrl, table, toRow, schema, keyColumn, createTable, username, password, zone);
  }

  /** The user to connect as. Default: none (the URL's or the driver's default). */
  public JdbcIdempotentSink<T> withUsername(String username) {
    checkArgument(username != null, "withUsername: username must not be null");
    return new JdbcIdempotentSink<>(
        jdbcUrl, table, toRow, schema, keyColumn, createTable, username, password, zone);
  }

  /** The password; never shown in display data, logs or messages. Default: none. */
  public JdbcIdempotentSink<T> withPassword(String password) {
    checkArgument(password != null, "withPassword: password must not be null");
    return new JdbcIdempotentSink<>(
        jdbcUrl, table, toRow, schema, keyColumn, createTable, username, password, zone);
  }

  /** The zone in which instants are written to zone-less timestamp columns. Default UTC. */
  public JdbcIdempotentSink<T> withZone(ZoneId zone) {
    checkArgument(zone != null, "withZone: zone must not be null");
    return new JdbcIdempotentSink<>(
        jdbcUrl, table, toRow, schema, keyColumn, createTable, username, password, zone);
  }

  @Override
  public void open() throws SQLException {
    if (connection == null || connection.isClosed()) {
      connection = DriverManager.getConnection(jdbcUrl, username, password);
      connection.setAutoCommit(false);
      statements = new HashMap<>();
    }
  }

  @Override
  public void close() throws SQLException {
    if (connection != null) {
      try {
        connection.close();
      } finally {
        connection = null;
      }
    }
  }

  @Override
  public void write(List<KV<String, T>> keyedRecords) throws Exception {
    if (keyedRecords.isEmpty()) {
      return;
    }
    open();
    Connection c = connection;
    try {
      Schema batchSchema = null;
      PreparedStatement statement = null;
      try {
        for (KV<String, T> keyed : keyedRecords) {
          Row row = toRow(keyed.getValue());
          if (statement == null) {
            batchSchema = row.getSchema();
            statement = c.prepareStatement(statementFor(c, batchSchema));
          } else if (row.getSchema() != batchSchema && !row.getSchema().equals(batchSchema)) {
            throw new RejectedRecordException(
                "record with key " + keyed.getKey() + " has schema " + row.getSchema()
                    + ", the batch has " + batchSchema + "; all records must share one schema");
          }
          statement.setString(1, keyed.getKey());
          for (int i = 0; i < row.getFieldCount(); i++) {
            statement.setObject(i + 2, toJdbc(row.getValue(i)));
          }
          statement.addBatch();
        }
        statement.executeBatch();
      } finally {
        if (statement != null) {
          statement.close();
        }
      }
      c.commit();
    } catch (SQLException e) {
      rollbackQuietly(c, e);
      throw classify(e);
    } catch (Exception e) {
      rollbackQuietly(c, e);
      throw e;
    }
  }

  private Row toRow(T record) throws RejectedRecordException {
    if (toRow == null) {
      return (Row) record;
    }
    Row row = toRow.apply(record);
    if (row == null) {
      throw new RejectedRecordException("toRow returned null for " + record);
    }
    return row;
  }

  private String statementFor(Connection c, Schema rowSchema) throws SQLException {
    String sql = statements.get(rowSchema);
    if (sql == null) {
      if (toRow == null) {
        checkColumns(rowSchema);
      }
      if (createTable && !tableChecked) {
        try (java.sql.Statement ddl = c.createStatement()) {
          ddl.execute(dialect.createTable(table, keyColumn, rowSchema));
        }
        c.commit();
        tableChecked = true;
      }
      sql = dialect.insertIgnoringKnownKeys(table, keyColumn, rowSchema.getFieldNames());
      statements.put(rowSchema, sql);
    }
    return sql;
  }

  private @Nullable Object toJdbc(@Nullable Object value) {
    if (value instanceof Instant) {
      return LocalDateTime.ofInstant((Instant) value, zone);
    }
    if (value instanceof ReadableInstant) {
      return LocalDateTime.ofInstant(
          Instant.ofEpochMilli(((ReadableInstant) value).getMillis()), zone);
    }
    return value;
  }

  /** Data and constraint errors are the record's fault; the rest may pass on a retry. */
  private Exception classify(SQLException e) {
    SQLException first = e;
    // A batch error often wraps the statement's own error, which has the useful SQLSTATE.
    if (e.getNextException() != null && e.getSQLState() == null) {
      first = e.getNextException();
    }
    String state = first.getSQLState() != null ? first.getSQLState() : "";
    // H2's MERGE can race with a concurrent insert of the same key: a retry finds it present.
    boolean keyRace = dialect == JdbcDialect.H2 && state.equals("23505");
    if ((state.startsWith("22") || state.startsWith("23")) && !keyRace) {
      return new RejectedRecordException(
          "SQLSTATE " + state + ": " + first.getMessage(), e);
    }
    if (state.startsWith("08")) {
      // The connection is gone; the retry reconnects.
      try {
        close();
      } catch (SQLException closeFailure) {
        e.addSuppressed(closeFailure);
      }
    }
    return e;
  }

  private static void rollbackQuietly(Connection c, Exception cause) {
    try {
      c.rollback();
    } catch (SQLException rollbackFailure) {
      cause.addSuppressed(rollbackFailure);
    }
  }

  @Override
  public String toString() {
    // No password here: toString ends up in logs and display data.
    return "JdbcIdempotentSink{" + JdbcSupport.redact(jdbcUrl) + ", table " + table
        + ", key column " + keyColumn + ", " + dialect + "}";
  }
}
