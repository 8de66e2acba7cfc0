package dev.timerangeio.jdbc;

import dev.timerangeio.LineageName;
import java.util.ArrayList;
import java.util.List;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * The Beam {@code Lineage} name of a JDBC table, as Beam's JdbcIO builds it: the URL's
 * subprotocol as system, then host and port, database, schema ({@code "default"} when the table
 * names none, as JdbcIO says) and table: {@code jdbc:postgresql://db:5432/app} and {@code
 * events} give {@code postgresql:db:5432.app.default.events}. Only those parts of the URL are
 * used: never its user, password or parameters.
 */
final class JdbcLineage {
  /** JdbcIO's schema segment for a table named without one. */
  static final String DEFAULT_SCHEMA = "default";

  private JdbcLineage() {}

  /**
   * The name of {@code table} ({@code name} or {@code schema.name}; null for a query of its own
   * SQL: the database only) at {@code jdbcUrl}, or null for a URL with no database in it.
   */
  static @Nullable LineageName of(String jdbcUrl, @Nullable String table) {
    if (!jdbcUrl.startsWith("jdbc:")) {
      return null;
    }
    String rest = jdbcUrl.substring("jdbc:".length());
    int colon = rest.indexOf(':');
    if (colon <= 0) {
      return null;
    }
    String system = rest.substring(0, colon);
    String location = rest.substring(colon + 1);
    List<String> segments = new ArrayList<>();
    if (location.startsWith("//")) {
      // //[user[:password]@]host[:port][,host2...]/database[?params|;params]
      String authorityAndPath = location.substring(2);
      int slash = authorityAndPath.indexOf('/');
      if (slash < 0) {
        return null;
      }
      String authority = authorityAndPath.substring(0, slash);
      authority = authority.substring(authority.lastIndexOf('@') + 1);
      String database = beforeParameters(authorityAndPath.substring(slash + 1));
      if (authority.isEmpty() || database.isEmpty()) {
        return null;
      }
      segments.add(authority);
      segments.add(database);
    } else {
      // No host (H2's mem:name or a file path, SQLite's file): the database as the URL names it.
      String database = beforeParameters(location);
      if (database.isEmpty()) {
        return null;
      }
      segments.add(database);
    }
    if (table != null) {
      int dot = table.lastIndexOf('.');
      segments.add(dot < 0 ? DEFAULT_SCHEMA : table.substring(0, dot));
      segments.add(table.substring(dot + 1));
    }
    return LineageName.of(system, segments.toArray(new String[0]));
  }

  /** {@code text} up to its parameters ({@code ?a=b} or {@code ;a=b}), which may hold secrets. */
  private static String beforeParameters(String text) {
    int end = text.length();
    for (char c : new char[] {'?', ';', '&'}) {
      int at = text.indexOf(c);
      if (at >= 0 && at < end) {
        end = at;
      }
    }
    return text.substring(0, end);
  }
}
