/**
 * The JDBC connector: {@link dev.timerangeio.jdbc.JdbcTimeRangeQuery} reads a table or a
 * statement by a time column; {@link dev.timerangeio.jdbc.JdbcIdempotentSink} writes rows keyed
 * by their idempotency key, skipping keys already stored (H2, PostgreSQL, MariaDB); both connect
 * with one {@link dev.timerangeio.jdbc.JdbcConnection}.
 *
 * <p>Internal: {@code JdbcPool} (one HikariCP pool per connection and access mode in a worker
 * JVM), {@code JdbcStatements} (statements with timeouts, tie-breakers, rows as text), {@code
 * JdbcDialect} (the SQL that differs between databases), {@code JdbcSupport} (URL
 * redaction, identifier and statement checks, time-column conversions), {@code ResultSetRows}
 * (result sets as Beam rows).
 *
 * <p>It uses only the public API of {@code dev.timerangeio}.
 */
package dev.timerangeio.jdbc;
