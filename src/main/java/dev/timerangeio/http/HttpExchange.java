package dev.timerangeio.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.timerangeio.ResultTooLargeException;
import dev.timerangeio.TransientSourceException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * One page request of an {@link HttpTimeRangeQuery}, from request to parsed page: same-origin
 * redirects, a body capped in size and time, and the answer classified as the read needs it
 * (transient, too large, permanent); internal.
 */
final class HttpExchange {
  /** Same-origin redirects followed for one request. */
  static final int MAX_REDIRECTS = 5;

  private final HttpClient client;
  private final String method;
  private final Duration timeout;
  private final long maxResponseBytes;
  private final Map<String, String> headers;
  private final HttpSecrets secrets;
  private final String origin;
  private final JsonPages pages;
  private final @Nullable OAuth2ClientCredentials oauth2;
  /** The access token of the last request, if OAuth2 signs them. */
  private @Nullable String token;

  HttpExchange(
      HttpClient client,
      String method,
      Duration timeout,
      long maxResponseBytes,
      Map<String, String> headers,
      HttpSecrets secrets,
      URI template,
      JsonPages pages,
      @Nullable OAuth2ClientCredentials oauth2) {
    this.oauth2 = oauth2;
    this.client = client;
    this.method = method;
    this.timeout = timeout;
    this.maxResponseBytes = maxResponseBytes;
    this.headers = headers;
    this.secrets = secrets;
    this.origin = origin(template);
    this.pages = pages;
  }

  /** The URL template's origin: secrets go only there. */
  String origin() {
    return origin;
  }

  /** A parsed answer: the page (null for 204 No Content) and the size of its body. */
  static final class Answer {
    final @Nullable JsonNode page;
    final long bytes;

    Answer(@Nullable JsonNode page, long bytes) {
      this.page = page;
      this.bytes = bytes;
    }
  }

  /** The answer to {@code uri}, its records handed to {@code onRecord} as they are parsed. */
  Answer fetch(URI uri, @Nullable String body, java.util.function.Consumer<JsonNode> onRecord)
      throws Exception {
    String requestMethod = method;
    String requestBody = body;
    URI target = uri;
    boolean refreshed = false;
    for (int redirects = 0; ; redirects++) {
      HttpResponse<byte[]> response = send(target, requestMethod, requestBody);
      int status = response.statusCode();
      if (status == 401 && oauth2 != null) {
        // An expired or revoked token: one fresh token, then the credentials are bad.
        oauth2.invalidate(token);
        if (!refreshed) {
          refreshed = true;
          redirects--;
          continue;
        }
        throw new IOException(
            "HTTP 401 from " + requestMethod + " " + secrets.describe(target)
                + " with a fresh OAuth2 token: bad credentials for client " + oauth2.clientId()
                + " (" + secrets.excerpt(response.body()) + ")");
      }
      if (status == 301 || status == 302 || status == 303 || status == 307 || status == 308) {
        String location = response.headers().firstValue("Location").orElse(null);
        if (location == null || redirects >= MAX_REDIRECTS) {
          throw new IOException(
              "HTTP " + status + " from " + requestMethod + " " + secrets.describe(target) + ": "
                  + (location == null ? "a redirect without a Location" : "more than "
                      + MAX_REDIRECTS + " redirects"));
        }
        URI next = UriReferences.resolve(target, location);
        if (!origin(next).equals(origin)) {
          throw new IOException(
              "HTTP " + status + " from " + requestMethod + " " + secrets.describe(target)
                  + ": redirected to " + next.getScheme() + "://" + next.getHost()
                  + ", not the URL template's " + origin
                  + "; secrets are sent only there, so the redirect is not followed");
        }
        if (status == 303 || (status != 307 && status != 308 && !"GET".equals(requestMethod))) {
          requestMethod = "GET";
          requestBody = null;
        }
        target = next;
        continue;
      }
      return new Answer(
          parse(target, requestMethod, response, onRecord), response.body().length);
    }
  }

  private HttpResponse<byte[]> send(URI uri, String requestMethod, @Nullable String body)
      throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(secrets.addTo(uri)).timeout(timeout);
    headers.forEach(request::header);
    secrets.headers().forEach(request::header);
    if (oauth2 != null) {
      token = oauth2.accessToken();
      secrets.add(token);
      request.header("Authorization", "Bearer " + token);
    }
    request.method(
        requestMethod,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    CompletableFuture<HttpResponse<byte[]>> call =
        client.sendAsync(request.build(), info -> new ApiHttp.CappedBody(maxResponseBytes));
    try {
      // The client's own timeout ends at the headers; this one also bounds a dripping body.
      return call.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      call.cancel(true);
      throw new TransientSourceException(
          "HTTP " + requestMethod + " " + secrets.describe(uri) + ": no complete response within " + timeout,
          e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof ApiHttp.CappedBody.TooLarge) {
        throw new ResultTooLargeException(
            "HTTP " + requestMethod + " " + secrets.describe(uri) + ": the response is larger than"
                + " withMaxResponseBytes(" + maxResponseBytes + ")");
      }
      if (cause instanceof javax.net.ssl.SSLException && !droppedConnection(cause)) {
        // A certificate or protocol mismatch does not pass on a retry.
        throw new IOException(
            "HTTP " + requestMethod + " " + secrets.describe(uri) + ": TLS failed: " + secrets.scrub(String.valueOf(cause.getMessage())),
            cause);
      }
      // Timeouts, refused and reset connections, bodies cut short: the next attempt may pass.
      throw new TransientSourceException(
          "HTTP " + requestMethod + " " + secrets.describe(uri) + " failed: " + secrets.scrub(String.valueOf(cause)), cause);
    }
  }

  /** A handshake the other side hung up on (a load balancer) may pass on a retry. */
  private static boolean droppedConnection(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof java.io.EOFException || t instanceof java.net.SocketException) {
        return true;
      }
    }
    return String.valueOf(error.getMessage()).contains("terminated the handshake");
  }

  private @Nullable JsonNode parse(
      URI uri,
      String requestMethod,
      HttpResponse<byte[]> response,
      java.util.function.Consumer<JsonNode> onRecord)
      throws Exception {
    int status = response.statusCode();
    String where = requestMethod + " " + secrets.describe(uri);
    if (ApiHttp.isTransient(status)) {
      throw new TransientSourceException(
          "HTTP " + status + " from " + where + ": " + secrets.excerpt(response.body()),
          null,
          ApiHttp.retryAfter(response.headers()));
    }
    if (status == 413) {
      throw new ResultTooLargeException("HTTP 413 from " + where + ": " + secrets.excerpt(response.body()));
    }
    if (status == 202) {
      // "Accepted": an asynchronous API still working on the query; its answer comes later.
      throw new TransientSourceException(
          "HTTP 202 Accepted from " + where + ": the API is still working on the query, so this"
              + " is no answer yet; asking again: " + secrets.excerpt(response.body()),
          null,
          ApiHttp.retryAfter(response.headers()));
    }
    if (status == 204) {
      return null; // "No content": no records, no next page.
    }
    if (status != 200) {
      // 201, 203, 205, 206, 207…: not the complete answer to a query, and none passes on a retry.
      throw new IOException(
          "HTTP " + status + " from " + where + ": only 200 (a page of records) and 204 (no"
              + " records) answer a query: " + secrets.excerpt(response.body()));
    }
    if (response.body().length == 0) {
      throw new IOException(
          "HTTP " + status + " from " + where + ": an empty body; expected JSON with the records"
              + " (answer 204 for a range without records)");
    }
    try {
      return pages.read(response.body(), onRecord);
    } catch (IOException e) {
      if (!(e instanceof com.fasterxml.jackson.core.JsonProcessingException)) {
        throw new IOException("HTTP " + where + ": " + secrets.scrub(String.valueOf(e.getMessage())));
      }
      if (e instanceof com.fasterxml.jackson.core.io.JsonEOFException
          || String.valueOf(e.getMessage()).contains("end-of-input")) {
        // A body cut short by a dropped connection: the next attempt may pass.
        throw new TransientSourceException(
            "HTTP " + where + ": the response ends before its JSON does (cut short)", null);
      }
      // HTML (a login page), or any other body that is not JSON, won't become JSON on a retry.
      throw new IOException(
          "HTTP " + where + ": the response is not JSON: " + secrets.excerpt(response.body()));
    }
  }

  /** {@code scheme://host:port} of {@code uri}, lower case, with the scheme's default port. */
  static String origin(URI uri) {
    int port = uri.getPort();
    if (port < 0) {
      port = "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
    }
    return String.valueOf(uri.getScheme()).toLowerCase(java.util.Locale.ROOT) + "://"
        + String.valueOf(uri.getHost()).toLowerCase(java.util.Locale.ROOT) + ":" + port;
  }
}
