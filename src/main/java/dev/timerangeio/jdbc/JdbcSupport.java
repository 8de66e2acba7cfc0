package dev.timerangeio.jdbc;

import static dev.timerangeio.Checks.checkArgument;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.zone.ZoneOffsetTransition;
import java.time.zone.ZoneRules;
import java.util.regex.Pattern;

/** Checks and text shared by the JDBC source and sink; internal. */
final class JdbcSupport {
  private JdbcSupport() {}

  private static final Pattern IDENTIFIER =
      Pattern.compile("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?");

  static void checkUrl(String jdbcUrl) {
    checkArgument(
        jdbcUrl != null && jdbcUrl.startsWith("jdbc:"),
        "jdbcUrl must be a JDBC URL starting with \"jdbc:\", was %s",
        jdbcUrl == null ? null : redact(jdbcUrl));
  }

  /** Table and column names are never quoted or escaped, so only plain identifiers pass. */
  static void checkIdentifier(String option, String name) {
    checkArgument(
        name != null && IDENTIFIER.matcher(name).matches(),
        "%s: \"%s\" is not a plain SQL identifier (letters, digits, '_', optionally"
            + " schema.name); quoting and expressions are not accepted",
        option,
        name);
  }

  /** The URL without its secrets, masked as its driver delimits them: {@link JdbcSecrets}. */
  static String redact(String jdbcUrl) {
    return JdbcSecrets.redact(jdbcUrl);
  }

  /**
   * The instant of a zone-less value in {@code zone}. In the hour a fall-back repeats, the first
   * pass (the earlier offset): a zone-less column can't tell the two apart. A value in a
   * spring-forward gap, which no clock showed, is the instant of the change.
   */
  static Instant instantOf(LocalDateTime local, ZoneId zone) {
    ZoneOffsetTransition change = zone.getRules().getTransition(local);
    if (change != null && change.isGap()) {
      return change.getInstant();
    }
    return local.atZone(zone).toInstant();
  }

  /**
   * The zone-less bound that selects exactly the values whose {@link #instantOf} is at or after
   * {@code instant}: the least local time mapped at or after it. So a range of instants is read as
   * one range of local times, with no value read twice or never across a change of offset.
   */
  static LocalDateTime localBound(Instant instant, ZoneId zone) {
    ZoneRules rules = zone.getRules();
    LocalDateTime local = LocalDateTime.ofInstant(instant, zone);
    ZoneOffsetTransition change = rules.getTransition(local);
    if (change != null && change.isOverlap() && !instant.isBefore(change.getInstant())) {
      // The second pass of a repeated hour: its local times all belong to the first pass.
      return change.getDateTimeBefore();
    }
    ZoneOffsetTransition previous = rules.previousTransition(instant.plusNanos(1));
    if (previous != null && previous.isGap() && previous.getInstant().equals(instant)) {
      // The instant of a spring-forward: the gap's local times map to it.
      return previous.getDateTimeBefore();
    }
    return local;
  }

  /** Rolls back after {@code cause}; a rollback that fails too (a dropped connection) is added. */
  static void rollbackQuietly(java.sql.Connection c, Exception cause) {
    try {
      c.rollback();
    } catch (java.sql.SQLException rollbackFailure) {
      cause.addSuppressed(rollbackFailure);
    }
  }

  /**
   * Whether a timestamp column holds an instant rather than a local date-time. Drivers disagree on
   * the JDBC type: PostgreSQL reports {@code timestamptz} as {@code TIMESTAMP}, so the type name
   * decides too. {@code mysqlLike}: MariaDB or MySQL, whose {@code TIMESTAMP} holds an instant.
   */
  static boolean holdsAnInstant(java.sql.ResultSetMetaData meta, int column, boolean mysqlLike)
      throws java.sql.SQLException {
    String name =
        String.valueOf(meta.getColumnTypeName(column)).toLowerCase(java.util.Locale.ROOT);
    return meta.getColumnType(column) == java.sql.Types.TIMESTAMP_WITH_TIMEZONE
        || name.equals("timestamptz")
        || name.contains("with time zone")
        || (mysqlLike && name.equals("timestamp"));
  }

  /** Whether the URL is MariaDB's or MySQL's. */
  static boolean isMysqlLike(String jdbcUrl) {
    return jdbcUrl.startsWith("jdbc:mariadb:") || jdbcUrl.startsWith("jdbc:mysql:");
  }

  /**
   * The {@code ?} placeholders of {@code sql} and where a trailing {@code ;} is, reading it as a
   * database does: not in {@code '…'} string literals, {@code "…"} quoted identifiers, {@code
   * $tag$…$tag$} dollar quotes, {@code --} line comments or {@code /* … *}{@code /} block comments,
   * and not PostgreSQL's {@code ??} (the JDBC escape of a {@code ?} operator).
   */
  static SqlShape shapeOf(String sql) {
    int placeholders = 0;
    int lastSignificant = -1;
    int semicolons = 0;
    int n = sql.length();
    for (int i = 0; i < n; i++) {
      char c = sql.charAt(i);
      if (c == '\'' || c == '"' || c == '`') {
        int end = i + 1;
        while (true) {
          if (end >= n) {
            throw new IllegalArgumentException(
                "forSql: a " + c + " opened at character " + i + " is never closed in: " + sql);
          }
          if (sql.charAt(end) == c) {
            if (end + 1 < n && sql.charAt(end + 1) == c) {
              end += 2; // a doubled quote inside
              continue;
            }
            break;
          }
          end++;
        }
        i = end;
        lastSignificant = end;
      } else if (c == '-' && i + 1 < n && sql.charAt(i + 1) == '-') {
        int end = sql.indexOf('\n', i);
        i = end < 0 ? n : end;
      } else if (c == '/' && i + 1 < n && sql.charAt(i + 1) == '*') {
        // Block comments nest in PostgreSQL and H2.
        int depth = 1;
        int end = i + 2;
        while (depth > 0) {
          if (end + 1 >= n) {
            throw new IllegalArgumentException(
                "forSql: a comment opened at character " + i + " is never closed in: " + sql);
          }
          if (sql.startsWith("/*", end)) {
            depth++;
            end += 2;
          } else if (sql.startsWith("*/", end)) {
            depth--;
            end += 2;
          } else {
            end++;
          }
        }
        i = end - 1;
      } else if (c == '$'
          && (i == 0 || !Character.isLetterOrDigit(sql.charAt(i - 1)) && sql.charAt(i - 1) != '_')
          && sql.substring(i).matches("(?s)\\$([A-Za-z_][A-Za-z0-9_]*)?\\$.*")) {
        String tag = sql.substring(i, sql.indexOf('$', i + 1) + 1);
        int end = sql.indexOf(tag, i + tag.length());
        if (end < 0) {
          throw new IllegalArgumentException(
              "forSql: a " + tag + " quote opened at character " + i + " is never closed in: " + sql);
        }
        i = end + tag.length() - 1;
        lastSignificant = i;
      } else if (c == '?') {
        if (i + 1 < n && sql.charAt(i + 1) == '?') {
          i++; // ?? is the escaped operator, not a placeholder
        } else {
          placeholders++;
        }
        lastSignificant = i;
      } else if (!Character.isWhitespace(c)) {
        if (c == ';') {
          semicolons++;
        }
        lastSignificant = i;
      }
    }
    int trailingSemicolon =
        lastSignificant >= 0 && sql.charAt(lastSignificant) == ';' ? lastSignificant : -1;
    if (semicolons > (trailingSemicolon >= 0 ? 1 : 0)) {
      throw new IllegalArgumentException(
          "forSql: sql must be one statement, but a ';' separates statements in: " + sql);
    }
    return new SqlShape(placeholders, trailingSemicolon);
  }

  /** What {@link #shapeOf} found. */
  static final class SqlShape {
    final int placeholders;
    /** The index of a {@code ;} ending the statement, or -1. */
    final int trailingSemicolon;

    SqlShape(int placeholders, int trailingSemicolon) {
      this.placeholders = placeholders;
      this.trailingSemicolon = trailingSemicolon;
    }
  }

  /**
   * {@code sql} with each string literal ({@code 'text'}, {@code ''} escaping a quote) shown as
   * {@code '***'}: SQL shown in display data may have a password or token written into it.
   */
  static String maskLiterals(String sql) {
    return sql.replaceAll("'(?:[^']|'')*'", "'***'");
  }
}
