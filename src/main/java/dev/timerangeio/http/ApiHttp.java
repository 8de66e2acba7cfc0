package dev.timerangeio.http;

import dev.timerangeio.ResultTooLargeException;
import dev.timerangeio.TransientSourceException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.UnaryOperator;
import org.apache.beam.sdk.annotations.Internal;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * The HTTP exchange the built-in service connectors share (Log Analytics, Splunk): one request,
 * its body read whole up to a size and within a time, no redirects followed, and failures
 * classified as the read needs them. For connectors of this project; not a stable API.
 */
@Internal
public final class ApiHttp {
  private ApiHttp() {}

  private static volatile @Nullable HttpClient client;

  /** One client per worker JVM: connections are pooled and kept alive across queries. */
  public static HttpClient client() {
    HttpClient c = client;
    if (c == null) {
      synchronized (ApiHttp.class) {
        if (client == null) {
          client =
              HttpClient.newBuilder()
                  .connectTimeout(Duration.ofSeconds(30))
                  // Credentials go to one host only: a redirect is an answer, never followed.
                  .followRedirects(HttpClient.Redirect.NEVER)
                  .build();
        }
        c = client;
      }
    }
    return c;
  }

  /**
   * {@code url} checked as the base of a service a connector sends credentials to — https, or
   * http on a loopback address (tests, demos), no query — without a trailing slash; else an
   * {@link IllegalArgumentException} naming {@code what} and the URL.
   */
  public static String checkServiceUrl(String what, @Nullable String url) {
    java.net.URI uri;
    try {
      uri = java.net.URI.create(url == null ? "" : url);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(what + ": not a URL: " + url);
    }
    if (!("https".equals(uri.getScheme()) || ("http".equals(uri.getScheme()) && isLoopback(uri)))
        || uri.getRawQuery() != null) {
      throw new IllegalArgumentException(
          what
              + ": an https URL without a query (http only on a loopback address: credentials are"
              + " sent there), got "
              + url);
    }
    return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
  }

  /** Whether {@code uri}'s host is this machine's loopback. */
  static boolean isLoopback(java.net.URI uri) {
    String host = uri.getHost();
    return host != null
        && (host.equals("localhost") || host.startsWith("127.") || host.equals("[::1]"));
  }

  /** An answer: its status, body and requested wait. */
  public static final class Response {
    private final int status;
    private final byte[] body;
    private final @Nullable Duration retryAfter;

    Response(int status, byte[] body, @Nullable Duration retryAfter) {
      this.status = status;
      this.body = body;
      this.retryAfter = retryAfter;
    }

    public int status() {
      return status;
    }

    public byte[] body() {
      return body;
    }

    /** The {@code Retry-After} the answer asked for, if any. */
    public @Nullable Duration retryAfter() {
      return retryAfter;
    }

    /** The body's start as text, for messages (scrub it before use). */
    public String excerpt() {
      String text = new String(body, 0, Math.min(body.length, 500), StandardCharsets.UTF_8);
      return body.length > 500 ? text + "…" : text;
    }
  }

  /**
   * Sends {@code request} and reads the answer whole, failing as the read needs: no complete
   * answer within {@code timeout}, a lost or refused connection — {@link TransientSourceException};
   * a body over {@code maxBytes} — {@link ResultTooLargeException} (the read bisects). Every
   * message passes through {@code scrub} first. The status is not checked: see {@link
   * #isTransient}.
   */
  public static Response send(
      HttpRequest request, long maxBytes, Duration timeout, UnaryOperator<String> scrub)
      throws Exception {
    String where = request.method() + " " + scrub.apply(request.uri().toString());
    CompletableFuture<HttpResponse<byte[]>> call =
        client().sendAsync(request, info -> new CappedBody(maxBytes));
    HttpResponse<byte[]> response;
    try {
      // The request's own timeout ends at the headers; this one also bounds a dripping body.
      response = call.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      call.cancel(true);
      throw new TransientSourceException(
          "HTTP " + where + ": no complete answer within " + timeout, null);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof CappedBody.TooLarge) {
        throw new ResultTooLargeException(
            "HTTP " + where + ": the answer is larger than " + maxBytes + " bytes");
      }
      if (cause instanceof javax.net.ssl.SSLHandshakeException) {
        throw new IOException("HTTP " + where + ": TLS failed: " + scrub.apply(String.valueOf(cause.getMessage())));
      }
      throw new TransientSourceException(
          "HTTP " + where + " failed: " + scrub.apply(String.valueOf(cause)), null);
    }
    return new Response(response.statusCode(), response.body(), retryAfter(response.headers()));
  }

  /** Statuses a retry may pass: 408, 429, 500–504 (not 501) and the 52x of proxies. */
  public static boolean isTransient(int status) {
    return status == 408
        || status == 429
        || status == 500
        || (status >= 502 && status <= 504)
        || (status >= 520 && status <= 527);
  }

  /** {@code Retry-After} as seconds or an HTTP date; absurd values stay absurd for the budget. */
  static @Nullable Duration retryAfter(HttpHeaders headers) {
    String value = headers.firstValue("Retry-After").orElse(null);
    if (value == null) {
      return null;
    }
    String v = value.trim();
    if (v.matches("[0-9]+")) {
      // Any number of seconds, however large: the read compares it with its retry budget.
      return v.length() > 15
          ? Duration.ofSeconds(999_999_999_999_999L)
          : Duration.ofSeconds(Long.parseLong(v));
    }
    try {
      Instant at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
      Duration wait = Duration.between(Instant.now(), at);
      return wait.isNegative() ? Duration.ZERO : wait;
    } catch (DateTimeParseException notADate) {
      return null;
    }
  }

  /** A response body read whole up to a size; a larger one ends the call with {@link TooLarge}. */
  static final class CappedBody implements HttpResponse.BodySubscriber<byte[]> {
    static final class TooLarge extends IOException {
      private static final long serialVersionUID = 1L;
    }

    private final long max;
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final CompletableFuture<byte[]> result = new CompletableFuture<>();
    private Flow.@Nullable Subscription subscription;

    CappedBody(long max) {
      this.max = max;
    }

    @Override
    public CompletionStage<byte[]> getBody() {
      return result;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
      subscription = s;
      s.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(List<ByteBuffer> items) {
      for (ByteBuffer item : items) {
        if (bytes.size() + (long) item.remaining() > max) {
          subscription.cancel();
          result.completeExceptionally(new TooLarge());
          return;
        }
        byte[] chunk = new byte[item.remaining()];
        item.get(chunk);
        bytes.write(chunk, 0, chunk.length);
      }
    }

    @Override
    public void onError(Throwable error) {
      result.completeExceptionally(error);
    }

    @Override
    public void onComplete() {
      result.complete(bytes.toByteArray());
    }
  }
}
