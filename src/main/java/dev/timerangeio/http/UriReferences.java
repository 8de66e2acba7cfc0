package dev.timerangeio.http;

import java.net.URI;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Resolves a URI reference (a next-page link, a redirect's {@code Location}) against the URL it
 * came from as RFC 3986 section 5.2 says; internal.
 *
 * <p>{@link URI#resolve(String)} follows RFC 2396 instead, which differs where APIs care: a
 * query-only reference ({@code ?cursor=c2} on {@code /v1/events}) loses the last path segment
 * ({@code /v1/?cursor=c2}), an empty reference loses it too, and {@code ..} above the root is kept.
 * The result carries no fragment: it is never sent, and two links to one page must compare equal.
 */
final class UriReferences {
  // RFC 3986 appendix B: scheme, authority, path, query and fragment of any URI reference.
  private static final Pattern PARTS =
      Pattern.compile(
          "^(?:([^:/?#]+):)?(?://([^/?#]*))?([^?#]*)(?:\\?([^#]*))?(?:#(.*))?$", Pattern.DOTALL);

  private UriReferences() {}

  /**
   * {@code reference} resolved against {@code base} (RFC 3986 section 5.2.2, strict: a reference
   * with a scheme is absolute), without a fragment.
   *
   * @throws IllegalArgumentException if the result is not a valid URI (its message may quote it)
   */
  static URI resolve(URI base, String reference) {
    Matcher r = PARTS.matcher(reference);
    if (!r.matches()) {
      throw new IllegalArgumentException("not a URI reference: " + reference);
    }
    String scheme = r.group(1);
    String authority = r.group(2);
    String path = r.group(3);
    String query = r.group(4);
    if (scheme != null) {
      path = removeDotSegments(path);
    } else {
      scheme = base.getScheme();
      if (authority != null) {
        path = removeDotSegments(path);
      } else {
        authority = base.getRawAuthority();
        if (path.isEmpty()) {
          path = base.getRawPath() == null ? "" : base.getRawPath();
          if (query == null) {
            query = base.getRawQuery();
          }
        } else if (path.startsWith("/")) {
          path = removeDotSegments(path);
        } else {
          path = removeDotSegments(merge(base, path));
        }
      }
    }
    StringBuilder uri = new StringBuilder(scheme).append(':');
    if (authority != null) {
      uri.append("//").append(authority);
    }
    uri.append(path);
    if (query != null) {
      uri.append('?').append(query);
    }
    return URI.create(uri.toString());
  }

  /** RFC 3986 section 5.2.3: the base path up to its last "/", then the reference's path. */
  private static String merge(URI base, String path) {
    String basePath = base.getRawPath() == null ? "" : base.getRawPath();
    if (base.getRawAuthority() != null && basePath.isEmpty()) {
      return "/" + path;
    }
    return basePath.substring(0, basePath.lastIndexOf('/') + 1) + path;
  }

  /** RFC 3986 section 5.2.4: {@code .} and {@code ..} segments removed, never above the root. */
  static String removeDotSegments(String path) {
    String in = path;
    StringBuilder out = new StringBuilder();
    while (!in.isEmpty()) {
      if (in.startsWith("../")) {
        in = in.substring(3);
      } else if (in.startsWith("./")) {
        in = in.substring(2);
      } else if (in.startsWith("/./")) {
        in = in.substring(2);
      } else if (in.equals("/.")) {
        in = "/";
      } else if (in.startsWith("/../")) {
        in = in.substring(3);
        out.setLength(Math.max(0, out.lastIndexOf("/")));
      } else if (in.equals("/..")) {
        in = "/";
        out.setLength(Math.max(0, out.lastIndexOf("/")));
      } else if (in.equals(".") || in.equals("..")) {
        in = "";
      } else {
        int next = in.indexOf('/', in.startsWith("/") ? 1 : 0);
        String segment = next < 0 ? in : in.substring(0, next);
        out.append(segment);
        in = in.substring(segment.length());
      }
    }
    return out.toString();
  }
}
