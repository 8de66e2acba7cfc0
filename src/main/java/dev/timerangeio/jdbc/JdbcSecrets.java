package dev.timerangeio.jdbc;

import dev.timerangeio.TransientSourceException;
import java.lang.reflect.Constructor;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * The secrets of a JDBC connection and how to keep them out of text: a URL's password parameters
 * masked as each driver delimits them, and exception messages (the whole cause chain, suppressed
 * and next exceptions) scrubbed of every secret before they leave the connector; internal.
 */
final class JdbcSecrets {
  private JdbcSecrets() {}

  private static final String MASK = "***";

  /** A parameter whose name ends in password, pwd, token, … then {@code =}. */
  private static final Pattern SECRET_KEY =
      Pattern.compile(
          "(?i)(?<=^|[?&;:(,\\s])[a-z0-9_.-]*(?:password|pwd|secret|token|credential|privatekey"
              + "|pvtkey|apikey)[a-z0-9_]*\\s*=\\s*");

  /** user:password@host: the password runs to the last @ (it may hold / ? , ; or @). */
  private static final Pattern USER_INFO = Pattern.compile("://[^/:@?;]*:(.*)@");

  /** Oracle's thin scott/tiger@host. */
  private static final Pattern ORACLE_THIN = Pattern.compile("(?i):thin:[^/@:]*/(.*)@");

  /** How a driver ends a parameter's value. */
  private enum Style {
    /** {@code ?a=b&c=d} (PostgreSQL, MariaDB, MySQL); in MySQL's host part, {@code (k=v,k=v)}. */
    QUERY,
    /** {@code ;KEY=VALUE} (H2, Derby, HSQLDB, Db2's {@code :k=v;k=v;}). */
    SEMICOLON,
    /** SQL Server: {@code ;k=v} or {@code ;k={v with ; and }} inside}}. */
    SQLSERVER,
    /** A driver whose rule isn't known here: the rest of the URL is masked. */
    UNKNOWN
  }

  private static Style styleOf(String url) {
    String u = url.toLowerCase(java.util.Locale.ROOT);
    if (u.startsWith("jdbc:postgresql:")
        || u.startsWith("jdbc:mariadb:")
        || u.startsWith("jdbc:mysql:")) {
      return Style.QUERY;
    }
    if (u.startsWith("jdbc:h2:")
        || u.startsWith("jdbc:derby:")
        || u.startsWith("jdbc:hsqldb:")
        || u.startsWith("jdbc:db2:")) {
      return Style.SEMICOLON;
    }
    if (u.startsWith("jdbc:sqlserver:")) {
      return Style.SQLSERVER;
    }
    return Style.UNKNOWN;
  }

  /** The {@code [start, end)} spans of {@code url} that hold secrets, in order, not overlapping. */
  private static List<int[]> secretSpans(String url) {
    List<int[]> spans = new ArrayList<>();
    Style style = styleOf(url);
    int query = url.indexOf('?');
    Matcher key = SECRET_KEY.matcher(url);
    int from = 0;
    while (from < url.length() && key.find(from)) {
      int start = key.end();
      int end = valueEnd(url, start, style, query >= 0 && key.start() > query);
      spans.add(new int[] {start, end});
      from = Math.max(end, key.end() + 1);
    }
    for (Pattern p : new Pattern[] {USER_INFO, ORACLE_THIN}) {
      Matcher m = p.matcher(url);
      if (m.find()) {
        spans.add(new int[] {m.start(1), m.end(1)});
      }
    }
    spans.sort(Comparator.comparingInt(s -> s[0]));
    List<int[]> merged = new ArrayList<>();
    for (int[] s : spans) {
      int[] last = merged.isEmpty() ? null : merged.get(merged.size() - 1);
      if (last != null && s[0] <= last[1]) {
        last[1] = Math.max(last[1], s[1]);
      } else {
        merged.add(s);
      }
    }
    return merged;
  }

  /** Where the value starting at {@code start} ends, by the driver's rule. */
  private static int valueEnd(String url, int start, Style style, boolean inQuery) {
    int n = url.length();
    switch (style) {
      case QUERY:
        if (inQuery) {
          return indexOfAny(url, start, "&");
        }
        // MySQL's host part: address=(k=v)(k=v) or (k=v,k=v); elsewhere, unknown: to the end.
        return url.lastIndexOf('(', start) > url.lastIndexOf(')', start)
            ? indexOfAny(url, start, ",)")
            : n;
      case SEMICOLON:
        return indexOfAny(url, start, ";");
      case SQLSERVER:
        if (start < n && url.charAt(start) == '{') {
          // A braced value ends at a } that is not doubled; }} is a literal }.
          for (int i = start + 1; i < n; i++) {
            if (url.charAt(i) == '}') {
              if (i + 1 < n && url.charAt(i + 1) == '}') {
                i++;
              } else {
                return i + 1;
              }
            }
          }
          return n;
        }
        return indexOfAny(url, start, ";");
      default:
        return n;
    }
  }

  private static int indexOfAny(String s, int from, String chars) {
    for (int i = from; i < s.length(); i++) {
      if (chars.indexOf(s.charAt(i)) >= 0) {
        return i;
      }
    }
    return s.length();
  }

  /** {@code url} with every secret replaced by {@code ***}. */
  static String redact(String url) {
    StringBuilder out = new StringBuilder();
    int at = 0;
    for (int[] s : secretSpans(url)) {
      out.append(url, at, s[0]).append(MASK);
      at = s[1];
    }
    return out.append(url.substring(at)).toString();
  }

  /**
   * The texts a message might quote a secret as: each secret of the URL and the password, raw,
   * URL-decoded, and cut where drivers cut URLs ({@code , ; & ( ) @ / : ?}, MariaDB reads {@code
   * u:a,b@h} as the port {@code a}); pieces shorter than 3 characters are left, they'd mask half
   * of every message. Longest first, so a secret is masked whole before its pieces.
   */
  static List<String> secretsOf(JdbcConnection connection) {
    Set<String> whole = new LinkedHashSet<>();
    String url = connection.jdbcUrl();
    for (int[] s : secretSpans(url)) {
      whole.add(url.substring(s[0], s[1]));
    }
    String password;
    try {
      password = connection.password();
    } catch (RuntimeException unresolvable) {
      password = null; // a secret that can't be resolved here was never sent anywhere either
    }
    if (password != null) {
      whole.add(password);
    }
    Set<String> all = new LinkedHashSet<>();
    for (String secret : whole) {
      List<String> forms = new ArrayList<>(List.of(secret));
      try {
        forms.add(URLDecoder.decode(secret, StandardCharsets.UTF_8));
      } catch (IllegalArgumentException notEncoded) {
        // Not URL-encoded text: the raw form is enough.
      }
      for (String form : forms) {
        all.add(form);
        for (String piece : form.split("[,;&()@/:?=]")) {
          all.add(piece);
        }
      }
    }
    List<String> secrets = new ArrayList<>();
    for (String s : all) {
      if (s.length() >= 3 && !s.equals(MASK)) {
        secrets.add(s);
      }
    }
    secrets.sort(Comparator.comparingInt(String::length).reversed());
    return secrets;
  }

  /** {@code text} with the URL redacted and every secret of {@code connection} masked. */
  static String scrub(@Nullable String text, JdbcConnection connection) {
    if (text == null) {
      return null;
    }
    String out = text.replace(connection.jdbcUrl(), redact(connection.jdbcUrl()));
    for (String secret : secretsOf(connection)) {
      out = out.replace(secret, MASK);
    }
    // Secrets of other URLs a message may quote (the pool's own messages): to a delimiter.
    return out.replaceAll(
            "(?i)((?:^|[?&;:(,\\s])[a-z0-9_.-]*(?:password|pwd|secret|token|credential|privatekey"
                + "|pvtkey|apikey)[a-z0-9_]*\\s*=\\s*)(?!\\*\\*\\*)(\\{[^}]*\\}|[^&;),\\s]*)",
            "$1" + MASK)
        .replaceAll("(://[^/:@?;\\s]*:)[^\\s]*@", "$1" + MASK + "@");
  }

  /**
   * {@code e} as it may leave the connector: itself when no text of it (message, causes,
   * suppressed and next exceptions) holds a secret; otherwise a copy whose every text is
   * scrubbed, of the same class where it can be rebuilt (else its nearest rebuildable
   * superclass), with the same SQLSTATE, vendor code and stack traces, so retries classify it
   * alike.
   */
  static <E extends Exception> E scrub(E e, JdbcConnection connection) {
    if (!leaks(e, connection, new IdentityHashMap<>())) {
      return e;
    }
    @SuppressWarnings("unchecked")
    E copy = (E) copy(e, connection, new IdentityHashMap<>());
    return copy;
  }

  private static boolean leaks(
      @Nullable Throwable t, JdbcConnection connection, Map<Throwable, Boolean> seen) {
    if (t == null || seen.put(t, true) != null) {
      return false;
    }
    String text = String.valueOf(t.getMessage()) + " " + t.getLocalizedMessage();
    if (!scrub(text, connection).equals(text)) {
      return true;
    }
    for (Throwable s : t.getSuppressed()) {
      if (leaks(s, connection, seen)) {
        return true;
      }
    }
    if (t instanceof SQLException && leaks(((SQLException) t).getNextException(), connection, seen)) {
      return true;
    }
    return leaks(t.getCause(), connection, seen);
  }

  private static Throwable copy(
      Throwable t, JdbcConnection connection, Map<Throwable, Throwable> copies) {
    Throwable done = copies.get(t);
    if (done != null) {
      return done;
    }
    copies.put(t, t); // in progress: a cause chain that loops back ends here
    Throwable cause = t.getCause();
    Throwable causeCopy =
        cause == null || copies.get(cause) == cause ? null : copy(cause, connection, copies);
    Throwable copy = rebuild(t, scrub(t.getMessage(), connection), causeCopy);
    copies.put(t, copy);
    copy.setStackTrace(t.getStackTrace());
    for (Throwable s : t.getSuppressed()) {
      copy.addSuppressed(copy(s, connection, copies));
    }
    if (t instanceof SQLException && ((SQLException) t).getNextException() != null) {
      ((SQLException) copy)
          .setNextException(
              (SQLException) copy(((SQLException) t).getNextException(), connection, copies));
    }
    return copy;
  }

  /**
   * A new exception of {@code t}'s class (or the nearest superclass that can be made) with {@code
   * message} and {@code cause}.
   */
  private static Throwable rebuild(
      Throwable t, @Nullable String message, @Nullable Throwable cause) {
    if (t instanceof TransientSourceException) {
      return new TransientSourceException(
          message, cause, ((TransientSourceException) t).retryAfter().orElse(null));
    }
    if (t instanceof SQLException) {
      SQLException sql = (SQLException) t;
      for (Class<?> c = t.getClass(); c != Object.class; c = c.getSuperclass()) {
        try {
          Constructor<?> make =
              c.getConstructor(String.class, String.class, int.class, Throwable.class);
          return (Throwable)
              make.newInstance(message, sql.getSQLState(), sql.getErrorCode(), cause);
        } catch (ReflectiveOperationException | RuntimeException | LinkageError next) {
          // Try the superclass.
        }
      }
      return new SQLException(message, sql.getSQLState(), sql.getErrorCode(), cause);
    }
    for (Class<?> c = t.getClass(); c != Object.class; c = c.getSuperclass()) {
      try {
        return (Throwable) c.getConstructor(String.class, Throwable.class).newInstance(message, cause);
      } catch (ReflectiveOperationException | RuntimeException | LinkageError next) {
        // A class without (String, Throwable): with (String), the cause set after.
      }
      try {
        Throwable made = (Throwable) c.getConstructor(String.class).newInstance(message);
        if (cause != null) {
          made.initCause(cause);
        }
        return made;
      } catch (ReflectiveOperationException | RuntimeException | LinkageError next) {
        // Try the superclass.
      }
    }
    return t instanceof RuntimeException
        ? new RuntimeException(message, cause)
        : new Exception(message, cause);
  }
}
