package dev.timerangeio;

import static dev.timerangeio.Checks.checkArgument;

import java.io.Serializable;
import java.util.List;
import org.apache.beam.sdk.metrics.Lineage;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * The name of a source or sink as Beam's {@link Lineage} reports it to runners and data catalogs:
 * a system and the segments of a fully qualified name, as Beam's own I/Os build them. JdbcIO's
 * {@code postgresql:127.0.0.1:5432.app.public.events} is {@code of("postgresql", "127.0.0.1:5432",
 * "app", "public", "events")}; Beam wraps a segment holding a dot, colon or backtick in
 * backticks.
 *
 * <p>A {@link TimeRangeQuery#lineage()} or {@link IdempotentSink#lineage()} returns one; the read
 * reports its query's as a source and the write its sink's as a sink. A name is seen by anyone
 * who can read the pipeline's metrics: it must never hold a password, token, query string or other
 * secret.
 */
public final class LineageName implements Serializable {
  private static final long serialVersionUID = 1L;

  private final String system;
  private final List<String> segments;

  private LineageName(String system, List<String> segments) {
    this.system = system;
    this.segments = segments;
  }

  /**
   * {@code system} (such as {@code "postgresql"}, {@code "https"}, {@code "splunk"}) and at least
   * one segment, none of them null or empty.
   */
  public static LineageName of(String system, String... segments) {
    checkArgument(
        system != null && !system.isEmpty(),
        "LineageName: system must not be empty, was %s",
        system);
    checkArgument(
        segments != null && segments.length > 0,
        "LineageName(%s): give at least one segment",
        system);
    for (String segment : segments) {
      checkArgument(
          segment != null && !segment.isEmpty(),
          "LineageName(%s): segments must not be empty, were %s",
          system,
          java.util.Arrays.toString(segments));
    }
    return new LineageName(system, List.of(segments));
  }

  /**
   * The name of an HTTP(S) resource: its scheme as system, then its host (and port, when the URL
   * gives one) and its path without the leading slash, when it has one: {@code
   * https://api.example.com/v1/events?since={from}} is {@code https:`api.example.com`.`v1/events`}.
   * A user and password in the URL, the query string and the fragment are left out: they may hold
   * secrets. Null when {@code url} has no scheme or host; {@code {placeholders}} are kept as
   * written.
   */
  public static @Nullable LineageName ofUrl(String url) {
    int schemeEnd = url == null ? -1 : url.indexOf("://");
    if (schemeEnd <= 0) {
      return null;
    }
    String rest = url.substring(schemeEnd + 3);
    int end = rest.length();
    for (char c : new char[] {'?', '#'}) {
      int at = rest.indexOf(c);
      if (at >= 0 && at < end) {
        end = at;
      }
    }
    rest = rest.substring(0, end);
    int slash = rest.indexOf('/');
    String authority = slash < 0 ? rest : rest.substring(0, slash);
    String host = authority.substring(authority.lastIndexOf('@') + 1);
    String path = slash < 0 ? "" : rest.substring(slash + 1);
    while (path.endsWith("/")) {
      path = path.substring(0, path.length() - 1);
    }
    if (host.isEmpty()) {
      return null;
    }
    String scheme = url.substring(0, schemeEnd).toLowerCase(java.util.Locale.ROOT);
    return path.isEmpty() ? of(scheme, host) : of(scheme, host, path);
  }

  public String system() {
    return system;
  }

  public List<String> segments() {
    return segments;
  }

  /** Adds this name to {@link Lineage#getSources()} or {@link Lineage#getSinks()}. */
  void reportTo(Lineage lineage) {
    lineage.add(system, segments);
  }

  @Override
  public boolean equals(@Nullable Object o) {
    return o instanceof LineageName
        && system.equals(((LineageName) o).system)
        && segments.equals(((LineageName) o).segments);
  }

  @Override
  public int hashCode() {
    return 31 * system.hashCode() + segments.hashCode();
  }

  /** The fully qualified name as Beam reports it, such as {@code postgresql:host:5432.db.t}. */
  @Override
  public String toString() {
    StringBuilder name = new StringBuilder(system).append(':');
    for (int i = 0; i < segments.size(); i++) {
      name.append(i == 0 ? "" : ".").append(Lineage.wrapSegment(segments.get(i)));
    }
    return name.toString();
  }
}
