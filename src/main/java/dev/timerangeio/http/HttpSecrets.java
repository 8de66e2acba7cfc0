package dev.timerangeio.http;

import java.io.Serializable;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The secrets of an {@link HttpTimeRangeQuery} (secret headers, secret query parameters) and
 * everything that keeps them out of sight: added to requests, scrubbed from every message, URL
 * and response excerpt, in the encodings a server may echo them in; internal.
 */
final class HttpSecrets implements Serializable {
  private static final long serialVersionUID = 1L;

  private final LinkedHashMap<String, String> headers;
  private final LinkedHashMap<String, String> queryParameters;
  /** Secrets not sent as they are but scrubbed all the same: a client secret, OAuth2 tokens. */
  private final List<String> others = new java.util.concurrent.CopyOnWriteArrayList<>();

  HttpSecrets(Map<String, String> headers, Map<String, String> queryParameters) {
    this.headers = new LinkedHashMap<>(headers);
    this.queryParameters = new LinkedHashMap<>(queryParameters);
  }

  /** Scrubs {@code secret} too from now on (an access token: the last few are kept). */
  void add(String secret) {
    if (!others.contains(secret)) {
      others.add(secret);
      while (others.size() > 8) {
        others.remove(1); // the first is the client secret, kept for good
      }
    }
  }

  /** The secret headers, to send with every request. */
  Map<String, String> headers() {
    return headers;
  }

  /** {@code text} with every secret value (headers, tokens in them, query parameters) as ***. */
  String scrub(String text) {
    String scrubbed = text;
    for (String secret : secrets()) {
      scrubbed = scrubbed.replace(secret, "***");
    }
    return scrubbed;
  }

  private List<String> secrets() {
    List<String> secrets = new ArrayList<>();
    for (String value : headers.values()) {
      secrets.add(value);
      // "Bearer abc…": the token alone may be echoed too; the scheme word is not a secret.
      String[] parts = value.trim().split("\\s+");
      if (parts.length > 1 && parts[parts.length - 1].length() >= 4) {
        secrets.add(parts[parts.length - 1]);
      }
    }
    secrets.addAll(queryParameters.values());
    secrets.addAll(others);
    List<String> variants = new ArrayList<>();
    for (String secret : secrets) {
      variants.add(secret);
      String encoded = urlEncode(secret);
      variants.add(encoded);
      // %2f and %2F, and / left raw; JSON's optional \/ escape.
      variants.add(lowerPercentHex(encoded));
      variants.add(encoded.replace("%2F", "/"));
      variants.add(lowerPercentHex(encoded.replace("%2F", "/")));
      variants.add(secret.replace("/", "\\/"));
    }
    variants.removeIf(String::isEmpty);
    // Longest first, so a token inside a header value is not left half-replaced.
    variants.sort((a, b) -> b.length() - a.length());
    return variants;
  }

  private static String lowerPercentHex(String encoded) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("%[0-9A-F]{2}").matcher(encoded);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      m.appendReplacement(out, m.group().toLowerCase(java.util.Locale.ROOT));
    }
    return m.appendTail(out).toString();
  }

  /** A URL for messages: the secret query parameters' values never appear. */
  String describe(URI uri) {
    return scrub(uri.toString());
  }

  /** {@code uri} with the secret query parameters, replacing any the server echoed. */
  URI addTo(URI uri) {
    if (queryParameters.isEmpty()) {
      return uri;
    }
    String base = uri.toString();
    int fragment = base.indexOf('#');
    if (fragment >= 0) {
      base = base.substring(0, fragment); // never sent; the parameters must not land after it
    }
    for (String name : queryParameters.keySet()) {
      base = base.replaceAll("([?&])" + java.util.regex.Pattern.quote(name) + "=[^&]*&?", "$1");
    }
    StringBuilder url = new StringBuilder(base);
    for (java.util.Map.Entry<String, String> p : queryParameters.entrySet()) {
      char last = url.charAt(url.length() - 1);
      if (last != '?' && last != '&') {
        url.append(url.indexOf("?") >= 0 ? '&' : '?');
      }
      url.append(p.getKey()).append('=').append(urlEncode(p.getValue()));
    }
    return URI.create(url.toString());
  }

  String excerpt(byte[] body) {
    return excerpt(body == null ? "" : new String(body, StandardCharsets.UTF_8));
  }

  /** The start of a response body for a message, on one line, with every secret scrubbed. */
  String excerpt(String body) {
    String oneLine = scrub(body == null ? "" : body).replaceAll("\\s+", " ").trim();
    return oneLine.length() <= 300 ? oneLine : oneLine.substring(0, 300) + "…";
  }

  static String urlEncode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }
}
