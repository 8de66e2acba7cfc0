package dev.timerangeio.jdbc;

import static dev.timerangeio.Checks.checkArgument;

import com.google.auto.value.AutoValue;
import dev.timerangeio.IdempotentSink;
import dev.timerangeio.LineageName;
import dev.timerangeio.RejectedRecordException;
import dev.timerangeio.TimeRangeIOMetrics;
import java.sql.Connection;
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
 * {@code MERGE … WHEN NOT MATCHED THEN INSERT} on H2. A batch is one transaction. A record that
 * breaks a unique key other than the key column is rejected on every database, never dropped:
 * on MariaDB, whose {@code ON DUPLICATE KEY UPDATE} fires on any unique key, the batch checks
 * that all its keys are stored before it commits.
 *
 * <p>Instants ({@code java.time.Instant} fields such as Beam's {@code MicrosInstant}, and {@code
 * DATETIME}) are written at the microsecond, as the column's type asks (learnt from the table
 * before the first write): into a column that holds instants ({@code timestamptz}, {@code
 * TIMESTAMP WITH TIME ZONE}, MariaDB's {@code TIMESTAMP}) as the instant itself, whatever the
 * worker's or the session's time zone; into a zone-less one as the local date-time in {@link
 * #withZone the zone} (UTC by default).
 *
 * <p>Every statement runs under {@link #withQueryTimeout}, so an insert blocked by another
 * transaction's lock on the same key ends as a failure the write retries. A data or constraint error (SQLSTATE classes 22 and 23) is reported as {@link
 * RejectedRecordException}, so the write isolates the offending record into its failed output;
 * anything else is retried.
 *
 * @param <T> the record type
 */
@AutoValue
public abstract class JdbcIdempotentSink<T> implements IdempotentSink<T> {
  private static final long serialVersionUID = 1L;
  /** Default {@link #withKeyColumn}. */
  public static final String DEFAULT_KEY_COLUMN = "idempotency_key";
  /** Default {@link #withQueryTimeout}: five minutes, as the query's. */
  public static final java.time.Duration DEFAULT_QUERY_TIMEOUT =
      JdbcTimeRangeQuery.DEFAULT_QUERY_TIMEOUT;

  private final org.apache.beam.sdk.metrics.Counter duplicatesSkippedBySink =
      org.apache.beam.sdk.metrics.Metrics.counter(TimeRangeIOMetrics.NAMESPACE, TimeRangeIOMetrics.DUPLICATES_SKIPPED_BY_SINK);

  // Per copy: the INSERT for each row schema seen, and whether the table was created.
  private transient @Nullable Map<Schema, Insert> statements;
  private transient boolean tableChecked;

  JdbcIdempotentSink() {}

  abstract JdbcPool pool();

  abstract String table();

  abstract JdbcDialect dialect();

  abstract @Nullable SerializableFunction<T, Row> toRow();

  abstract @Nullable Schema schema();

  abstract String keyColumn();

  abstract boolean createTable();

  abstract ZoneId zone();

  abstract java.time.Duration queryTimeout();

  abstract Builder<T> toBuilder();

  @AutoValue.Builder
  abstract static class Builder<T> {
    abstract Builder<T> setPool(JdbcPool pool);

    abstract Builder<T> setTable(String table);

    abstract Builder<T> setDialect(JdbcDialect dialect);

    abstract Builder<T> setToRow(@Nullable SerializableFunction<T, Row> toRow);

    abstract Builder<T> setSchema(@Nullable Schema schema);

    abstract Builder<T> setKeyColumn(String keyColumn);

    abstract Builder<T> setCreateTable(boolean createTable);

    abstract Builder<T> setZone(ZoneId zone);

    abstract Builder<T> setQueryTimeout(java.time.Duration timeout);

    abstract JdbcIdempotentSink<T> build();
  }

  private static <T> Builder<T> builder(JdbcConnection connection, String table) {
    checkArgument(connection != null, "connection must not be null");
    JdbcDialect dialect = JdbcDialect.of(connection.jdbcUrl());
    JdbcSupport.checkIdentifier("table", table);
    return new AutoValue_JdbcIdempotentSink.Builder<T>()
        .setPool(JdbcPool.of(connection, false))
        .setTable(table)
        .setDialect(dialect)
        .setKeyColumn(DEFAULT_KEY_COLUMN)
        .setCreateTable(false)
        .setZone(ZoneOffset.UTC)
        .setQueryTimeout(DEFAULT_QUERY_TIMEOUT);
  }

  /** Writes Beam {@link Row}s, one column per field of the row's schema, named after the field. */
  public static JdbcIdempotentSink<Row> forRows(String jdbcUrl, String table) {
    return forRows(JdbcConnection.of(jdbcUrl), table);
  }

  /** {@link #forRows(String, String)} over {@code connection}. */
  public static JdbcIdempotentSink<Row> forRows(JdbcConnection connection, String table) {
    return JdbcIdempotentSink.<Row>builder(connection, table).build();
  }

  /**
   * Writes records of any type through {@code toRow}, which maps a record to a {@link Row} of
   * {@code schema}: one column per field, named after it.
   */
  public static <T> JdbcIdempotentSink<T> forTable(
      String jdbcUrl, String table, Schema schema, SerializableFunction<T, Row> toRow) {
    return forTable(JdbcConnection.of(jdbcUrl), table, schema, toRow);
  }

  /** {@link #forTable(String, String, Schema, SerializableFunction)} over {@code connection}. */
  public static <T> JdbcIdempotentSink<T> forTable(
      JdbcConnection connection, String table, Schema schema, SerializableFunction<T, Row> toRow) {
    Builder<T> builder = builder(connection, table);
    checkArgument(schema != null, "forTable: schema must not be null");
    checkArgument(toRow != null, "forTable: toRow must not be null");
    checkColumns(schema);
    return builder.setSchema(schema).setToRow(toRow).build();
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
    return toBuilder().setKeyColumn(keyColumn).build();
  }

  /**
   * Whether to {@code CREATE TABLE IF NOT EXISTS} before the first write, with the key column as
   * primary key and a column per schema field (strings, numbers, booleans, bytes, {@code DATETIME}
   * and {@code MicrosInstant} map to column types). Default false: the table must exist, with
   * the key column as primary or unique key.
   */
  public JdbcIdempotentSink<T> withCreateTable(boolean createTable) {
    return toBuilder().setCreateTable(createTable).build();
  }

  /** Where this sink connects: URL, user, password and pool size. */
  public JdbcConnection connection() {
    return pool().jdbcConnection();
  }

  /**
   * Connects with {@code connection} (its URL, user, password and pool size) instead; its URL
   * must be of the same database kind as the one the sink was made for.
   */
  public JdbcIdempotentSink<T> withConnection(JdbcConnection connection) {
    checkArgument(connection != null, "withConnection: connection must not be null");
    checkArgument(
        JdbcDialect.of(connection.jdbcUrl()) == dialect(),
        "withConnection: %s is not a %s database like the sink's %s",
        connection.redactedUrl(),
        dialect(),
        connection().redactedUrl());
    return toBuilder().setPool(JdbcPool.of(connection, false)).build();
  }

  /** {@link JdbcConnection#withUsername} of this sink's connection. */
  public JdbcIdempotentSink<T> withUsername(String username) {
    return withConnection(connection().withUsername(username));
  }

  /** {@link JdbcConnection#withPassword} of this sink's connection. */
  public JdbcIdempotentSink<T> withPassword(String password) {
    return withConnection(connection().withPassword(password));
  }

  /** {@link JdbcConnection#withPassword(Secret)} of this sink's connection: resolved on the worker. */
  public JdbcIdempotentSink<T> withPassword(org.apache.beam.sdk.util.Secret password) {
    return withConnection(connection().withPassword(password));
  }

  /**
   * {@link JdbcConnection#withMaxConnections} of this sink's connection: batches beyond it wait
   * for a free connection (and are retried after 30 s).
   */
  public JdbcIdempotentSink<T> withMaxConnections(int maxConnections) {
    return withConnection(connection().withMaxConnections(maxConnections));
  }

  /**
   * The zone in which instants are written to zone-less timestamp columns; a column that holds
   * instants ({@code timestamptz}) gets the instant itself. Default UTC. In a zone with daylight
   * saving, the two passes of a repeated hour are written alike (a zone-less column can't tell
   * them apart).
   */
  public JdbcIdempotentSink<T> withZone(ZoneId zone) {
    checkArgument(zone != null, "withZone: zone must not be null");
    return toBuilder().setZone(zone).build();
  }

  /**
   * The longest one statement of a batch may run ({@code Statement.setQueryTimeout}, whole
   * seconds); a connection that says nothing for 30 s longer is aborted ({@code
   * Connection.setNetworkTimeout}). An insert blocked by another transaction's lock on the same
   * key, or a half-open connection, then ends as a failure the write retries (with backoff,
   * {@code writeRetries}) instead of blocking the worker forever. Default {@link
   * #DEFAULT_QUERY_TIMEOUT}; allowed: 1 s or more.
   */
  public JdbcIdempotentSink<T> withQueryTimeout(java.time.Duration timeout) {
    checkArgument(
        timeout != null && timeout.getSeconds() >= 1,
        "withQueryTimeout: must be at least 1 s, was %s",
        timeout);
    return toBuilder().setQueryTimeout(timeout).build();
  }

  /** Joins the worker's connection pool for this database. */
  @Override
  public void open() throws SQLException {
    pool().open();
    if (statements == null) {
      statements = new HashMap<>();
    }
  }

  @Override
  public void close() {
    pool().close();
  }

  @Override
  public void write(List<KV<String, T>> keyedRecords) throws Exception {
    if (keyedRecords.isEmpty()) {
      return;
    }
    open();
    try (Connection c = pool().connection()) {
      JdbcStatements.limitNetworkWait(c, queryTimeout());
      writeBatch(c, keyedRecords);
    } catch (Exception e) {
      // Driver and server messages may quote the URL or a piece of the password.
      throw pool().scrub(e);
    }
  }

  private void writeBatch(Connection c, List<KV<String, T>> keyedRecords) throws Exception {
    int skipped;
    try {
      Schema batchSchema = null;
      Insert insert = null;
      PreparedStatement statement = null;
      try {
        for (KV<String, T> keyed : keyedRecords) {
          Row row = toRow(keyed.getValue());
          if (statement == null) {
            batchSchema = row.getSchema();
            insert = statementFor(c, batchSchema);
            // Not on H2: with a query timeout its MERGE stored a later row's value as null where
            // an earlier row had one (writesEachKeyOnceAndNeverOverwrites); H2's own lock timeout
            // ends a blocked MERGE there.
            statement =
                dialect() == JdbcDialect.H2
                    ? c.prepareStatement(insert.sql)
                    : JdbcStatements.prepare(c, queryTimeout(), insert.sql);
          } else if (row.getSchema() != batchSchema && !row.getSchema().equals(batchSchema)) {
            throw new RejectedRecordException(
                "record with key " + keyed.getKey() + " has schema " + row.getSchema()
                    + ", the batch has " + batchSchema + "; all records must share one schema");
          }
          statement.setString(1, keyed.getKey());
          for (int i = 0; i < row.getFieldCount(); i++) {
            statement.setObject(i + 2, toJdbc(row.getValue(i), insert.instants[i]));
          }
          statement.addBatch();
        }
        if (dialect() == JdbcDialect.MARIADB) {
          // MariaDB reports a skipped key as a found row: count what was there before.
          java.util.Set<String> keys = new java.util.LinkedHashSet<>();
          for (KV<String, T> keyed : keyedRecords) {
            keys.add(keyed.getKey());
          }
          skipped = storedKeys(c, keys, false).size();
          statement.executeBatch();
          // A locking read sees what other writers committed since this transaction's snapshot.
          checkAllStored(keys, storedKeys(c, keys, true));
        } else {
          skipped = 0;
          for (int count : statement.executeBatch()) {
            if (count == 0) {
              skipped++;
            }
          }
        }
      } finally {
        if (statement != null) {
          statement.close();
        }
      }
      c.commit();
      duplicatesSkippedBySink.inc(skipped);
    } catch (SQLException e) {
      JdbcSupport.rollbackQuietly(c, e);
      // A lost session is retried on a fresh connection, whatever the driver called it.
      throw pool().lostConnection(c) ? e : classify(e);
    } catch (Exception e) {
      JdbcSupport.rollbackQuietly(c, e);
      throw e;
    }
  }

  private Row toRow(T record) throws RejectedRecordException {
    if (toRow() == null) {
      return (Row) record;
    }
    Row row = toRow().apply(record);
    if (row == null) {
      throw new RejectedRecordException("toRow returned null for " + record);
    }
    return row;
  }

  /** Which of {@code keys} the table holds, in this transaction. */
  private java.util.Set<String> storedKeys(
      Connection c, java.util.Set<String> keys, boolean latest) throws SQLException {
    java.util.Set<String> stored = new java.util.HashSet<>();
    List<String> all = new java.util.ArrayList<>(keys);
    for (int from = 0; from < all.size(); from += 500) {
      List<String> part = all.subList(from, Math.min(all.size(), from + 500));
      try (PreparedStatement select =
          JdbcStatements.prepare(
              c,
              queryTimeout(),
              "SELECT " + keyColumn() + " FROM " + table() + " WHERE " + keyColumn() + " IN ("
                  + JdbcDialect.placeholders(part.size()) + ")"
                  + (latest ? " LOCK IN SHARE MODE" : ""))) {
        for (int i = 0; i < part.size(); i++) {
          select.setString(i + 1, part.get(i));
        }
        try (java.sql.ResultSet rs = select.executeQuery()) {
          while (rs.next()) {
            stored.add(rs.getString(1));
          }
        }
      }
    }
    return stored;
  }

  /**
   * MariaDB's {@code ON DUPLICATE KEY UPDATE} fires on any unique key, so a record that breaks
   * another one would be dropped in silence: every key of the batch must be in the table after the
   * insert (inserted, or there before); a record whose key is not was refused by another unique
   * key.
   */
  private void checkAllStored(java.util.Set<String> keys, java.util.Set<String> stored)
      throws RejectedRecordException {
    java.util.Set<String> missing = new java.util.LinkedHashSet<>(keys);
    missing.removeAll(stored);
    if (!missing.isEmpty()) {
      throw new RejectedRecordException(
          "the record with key "
              + missing.iterator().next()
              + (missing.size() > 1 ? " (and " + (missing.size() - 1) + " more)" : "")
              + " breaks a unique key of "
              + table()
              + " other than "
              + keyColumn()
              + ": the row holding that value has another idempotency key, so the record can't"
              + " be stored");
    }
  }

  /**
   * Checks the schema of the records this sink is applied to: for {@link #forRows}, that each
   * field name is a plain identifier and, with {@link #withCreateTable}, has a column type.
   */
  @Override
  public void validate(Schema inputSchema) {
    if (toRow() == null) {
      for (String field : inputSchema.getFieldNames()) {
        checkArgument(
            !field.equalsIgnoreCase(keyColumn()),
            "JdbcIdempotentSink: the records' field \"%s\" has the name of the key column; rename"
                + " the field or choose another withKeyColumn",
            field);
      }
      checkColumns(inputSchema);
      if (createTable()) {
        dialect().createTable(table(), keyColumn(), inputSchema);
      }
    }
  }

  /** The insert of one row schema, and which of its fields go to columns holding instants. */
  private static final class Insert {
    final String sql;
    final boolean[] instants;

    Insert(String sql, boolean[] instants) {
      this.sql = sql;
      this.instants = instants;
    }
  }

  private Insert statementFor(Connection c, Schema rowSchema)
      throws SQLException, RejectedRecordException {
    Insert insert = statements.get(rowSchema);
    if (insert == null) {
      if (toRow() == null) {
        try {
          checkColumns(rowSchema);
        } catch (IllegalArgumentException e) {
          // A row of another schema than the input's: the record's fault, not a transient one.
          throw new RejectedRecordException(e.getMessage(), e);
        }
      }
      if (!tableChecked) {
        if (createTable()) {
          try (PreparedStatement ddl =
              JdbcStatements.prepare(
                  c, queryTimeout(), dialect().createTable(table(), keyColumn(), rowSchema))) {
            ddl.execute();
          }
          c.commit();
        } else {
          JdbcSinkTables.checkKeyIsUnique(
              c, table(), keyColumn(), dialect() == JdbcDialect.MARIADB);
        }
        tableChecked = true;
      }
      insert =
          new Insert(
              dialect().insertIgnoringKnownKeys(table(), keyColumn(), rowSchema.getFieldNames()),
              JdbcSinkTables.instantColumns(
                  c, queryTimeout(), table(), rowSchema, dialect() == JdbcDialect.MARIADB));
      statements.put(rowSchema, insert);
    }
    return insert;
  }





  /** A field's value as bound: an instant as itself into a column of instants, else local. */
  private @Nullable Object toJdbc(@Nullable Object value, boolean instantColumn) {
    Instant instant =
        value instanceof Instant
            ? (Instant) value
            : value instanceof ReadableInstant
                ? Instant.ofEpochMilli(((ReadableInstant) value).getMillis())
                : null;
    if (instant == null) {
      return value;
    }
    return instantColumn
        ? java.time.OffsetDateTime.ofInstant(instant, ZoneOffset.UTC)
        : LocalDateTime.ofInstant(instant, zone());
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
    // A violation of another unique index names that index's columns, not the key column.
    boolean keyRace =
        dialect() == JdbcDialect.H2
            && state.equals("23505")
            && String.valueOf(first.getMessage())
                .toUpperCase(java.util.Locale.ROOT)
                // The index part only: the VALUES part quotes record data.
                .split(" VALUES", 2)[0]
                .matches(
                    "(?s).* ON [^ (]+\\(" + keyColumn().toUpperCase(java.util.Locale.ROOT) + "[ )].*");
    if ((state.startsWith("22") || state.startsWith("23")) && !keyRace) {
      return new RejectedRecordException(
          "SQLSTATE " + state + ": " + first.getMessage(), e);
    }
    // Anything else is retried; the pool evicts a connection the database broke (SQLSTATE 08).
    return e;
  }

  /** The database and table ({@link JdbcLineage}). */
  @Override
  public @Nullable LineageName lineage() {
    return JdbcLineage.of(pool().jdbcConnection().jdbcUrl(), table());
  }

  @Override
  public final String toString() {
    // No password here: toString ends up in logs and display data.
    return "JdbcIdempotentSink{" + pool().redactedUrl() + ", table " + table()
        + ", key column " + keyColumn() + ", " + dialect() + "}";
  }
}
