package dev.timerangeio.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.timerangeio.Secrets;
import dev.timerangeio.TimeRangeIOMetrics;
import dev.timerangeio.TransientSourceException;
import java.io.IOException;
import java.io.Serializable;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.util.Secret;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The OAuth 2.0 client-credentials flow (RFC 6749 §4.4) for connectors: one access token per
 * worker JVM and set of credentials, fetched on first use, refreshed before it expires and once
 * more when the service answers 401 ({@link #invalidate}); each fetch counted in the {@code
 * tokenRefreshes} metric. Used by {@link HttpTimeRangeQuery#withOAuth2ClientCredentials} and the
 * Log Analytics connector (Entra ID).
 *
 * <p>The client secret is a Beam {@link Secret}, resolved on the worker when a token is first
 * needed; it is never logged, shown in display data or {@code toString()}, and scrubbed from the
 * token endpoint's error messages.
 *
 * <p>A token is refreshed when a fifth of its lifetime (at most 5 minutes) is left, so a query
 * never starts with a token about to expire. Token endpoint answers: 429 and 5xx, timeouts and
 * lost connections are transient (retried by the read); any other error (a wrong client id or
 * secret: 400/401) fails naming the endpoint's {@code error} and {@code error_description}.
 */
public final class OAuth2ClientCredentials implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(OAuth2ClientCredentials.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final Map<String, Token> TOKENS = new ConcurrentHashMap<>();
  private static volatile @Nullable HttpClient client;

  private final String tokenUrl;
  private final String clientId;
  private final Secret clientSecret;
  private final String scope;
  /** Every copy of this object on a worker shares one token: the cache key. */
  private final String id = UUID.randomUUID().toString();

  private transient @Nullable Counter refreshes;
  private transient @Nullable Clock clock;

  private OAuth2ClientCredentials(
      String tokenUrl, String clientId, Secret clientSecret, String scope) {
    this.tokenUrl = tokenUrl;
    this.clientId = clientId;
    this.clientSecret = clientSecret;
    this.scope = scope;
  }

  /**
   * Credentials for the token endpoint {@code tokenUrl} (https, or http on a loopback address for
   * tests); {@code scope} may be empty when the service needs none.
   */
  public static OAuth2ClientCredentials of(
      String tokenUrl, String clientId, Secret clientSecret, String scope) {
    ApiHttp.checkServiceUrl("OAuth2 client credentials: tokenUrl", tokenUrl);
    if (clientId == null || clientId.isEmpty()) {
      throw new IllegalArgumentException(
          "OAuth2 client credentials: clientId must be non-empty, got "
              + (clientId == null ? "null" : "\"\""));
    }
    if (clientSecret == null) {
      throw new IllegalArgumentException("OAuth2 client credentials: clientSecret must not be null");
    }
    if (scope == null) {
      throw new IllegalArgumentException(
          "OAuth2 client credentials: scope must not be null (\"\" for none)");
    }
    return new OAuth2ClientCredentials(tokenUrl, clientId, clientSecret, scope);
  }

  public String tokenUrl() {
    return tokenUrl;
  }

  public String clientId() {
    return clientId;
  }

  public String scope() {
    return scope;
  }

  /** The client secret's reference (its {@code toString()}), never its value. */
  public String clientSecretReference() {
    return String.valueOf(clientSecret);
  }

  /** Replaces the clock that times expiry; for tests. */
  OAuth2ClientCredentials withClock(Clock clock) {
    OAuth2ClientCredentials copy = new OAuth2ClientCredentials(tokenUrl, clientId, clientSecret, scope);
    copy.clock = clock;
    return copy;
  }

  private Clock clock() {
    return clock == null ? Clock.systemUTC() : clock;
  }

  /**
   * A valid access token: the worker's current one, or a new one from the token endpoint when
   * there is none, it was {@linkplain #invalidate invalidated}, or it is close to expiring.
   */
  public String accessToken() throws Exception {
    Token current = TOKENS.get(id);
    Instant now = clock().instant();
    if (current != null && now.isBefore(current.refreshAt)) {
      return current.value;
    }
    synchronized (OAuth2ClientCredentials.class) {
      current = TOKENS.get(id);
      if (current != null && clock().instant().isBefore(current.refreshAt)) {
        return current.value;
      }
      Token fresh = fetch();
      TOKENS.put(id, fresh);
      return fresh.value;
    }
  }

  /**
   * Forgets {@code token} after the service refused it (401), so the next {@link #accessToken()}
   * fetches a new one; a token already replaced by another thread is left alone.
   */
  public void invalidate(String token) {
    TOKENS.computeIfPresent(id, (k, t) -> t.value.equals(token) ? null : t);
  }

  /** The client secret, for scrubbing it from messages; resolved on the worker. */
  public String resolveClientSecret() {
    return Secrets.resolve(clientSecret);
  }

  private Token fetch() throws Exception {
    String secret = resolveClientSecret();
    String form =
        "grant_type=client_credentials&client_id="
            + encode(clientId)
            + "&client_secret="
            + encode(secret)
            + (scope.isEmpty() ? "" : "&scope=" + encode(scope));
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(tokenUrl))
            .timeout(TIMEOUT)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Accept", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(form))
            .build();
    HttpResponse<String> response;
    try {
      response = httpClient().send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new TransientSourceException(
          "OAuth2 token endpoint " + tokenUrl + " did not answer: " + scrub(e.toString(), secret),
          null);
    }
    counter().inc();
    int status = response.statusCode();
    String body = response.body() == null ? "" : response.body();
    if (status == 429 || status >= 500) {
      throw new TransientSourceException(
          "OAuth2 token endpoint " + tokenUrl + " answered " + status + ": " + describe(body, secret),
          null);
    }
    if (status != 200) {
      throw new IOException(
          "OAuth2 token endpoint "
              + tokenUrl
              + " refused the client credentials of client "
              + clientId
              + " ("
              + status
              + "): "
              + describe(body, secret)
              + "; check the client id, its secret ("
              + clientSecret
              + ") and the scope \""
              + scope
              + "\"");
    }
    JsonNode answer;
    try {
      answer = JSON.readTree(body);
    } catch (IOException e) {
      throw new IOException(
          "OAuth2 token endpoint " + tokenUrl + " answered 200 with no JSON object", null);
    }
    JsonNode token = answer == null ? null : answer.get("access_token");
    if (token == null || !token.isTextual() || token.asText().isEmpty()) {
      throw new IOException(
          "OAuth2 token endpoint " + tokenUrl + " answered 200 without an access_token");
    }
    long lifetimeSeconds = lifetimeSeconds(answer.get("expires_in"));
    Instant now = clock().instant();
    Duration lifetime = Duration.ofSeconds(lifetimeSeconds);
    Duration margin = lifetime.dividedBy(5);
    if (margin.compareTo(Duration.ofMinutes(5)) > 0) {
      margin = Duration.ofMinutes(5);
    }
    LOG.debug(
        "TimeRangeIO: new OAuth2 token from {} for client {}, valid {} s", tokenUrl, clientId, lifetimeSeconds);
    return new Token(token.asText(), now.plus(lifetime).minus(margin));
  }

  /** {@code expires_in} as a number or numeric string (Entra ID has sent both); 1 h if absent. */
  private long lifetimeSeconds(@Nullable JsonNode expiresIn) throws IOException {
    if (expiresIn == null || expiresIn.isNull()) {
      return 3600;
    }
    try {
      long seconds = expiresIn.isNumber() ? expiresIn.asLong() : Long.parseLong(expiresIn.asText().trim());
      if (seconds <= 0) {
        throw new NumberFormatException("not positive");
      }
      return seconds;
    } catch (NumberFormatException e) {
      throw new IOException(
          "OAuth2 token endpoint " + tokenUrl + " answered an expires_in that is not a positive"
              + " number of seconds: " + abbreviate(expiresIn.toString()));
    }
  }

  private static String describe(String body, String secret) {
    try {
      JsonNode error = JSON.readTree(body);
      if (error != null && error.isObject() && error.has("error")) {
        String text =
            error.get("error").asText()
                + (error.hasNonNull("error_description")
                    ? ": " + error.get("error_description").asText()
                    : "");
        return scrub(abbreviate(text), secret);
      }
    } catch (IOException e) {
      // Not JSON: quote its start, scrubbed.
    }
    return scrub(abbreviate(body), secret);
  }

  private static String abbreviate(String text) {
    return text.length() <= 300 ? text : text.substring(0, 300) + "…";
  }

  /** The secret, as sent and form-encoded, replaced in {@code text}. */
  static String scrub(String text, String secret) {
    if (secret.isEmpty()) {
      return text;
    }
    return text.replace(secret, "***").replace(encode(secret), "***");
  }

  private static String encode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  private Counter counter() {
    if (refreshes == null) {
      refreshes = Metrics.counter(TimeRangeIOMetrics.NAMESPACE, TimeRangeIOMetrics.TOKEN_REFRESHES);
    }
    return refreshes;
  }

  private static HttpClient httpClient() {
    HttpClient c = client;
    if (c == null) {
      synchronized (OAuth2ClientCredentials.class) {
        if (client == null) {
          client =
              HttpClient.newBuilder()
                  .connectTimeout(TIMEOUT)
                  .followRedirects(HttpClient.Redirect.NEVER)
                  .build();
        }
        c = client;
      }
    }
    return c;
  }

  @Override
  public String toString() {
    return "OAuth2ClientCredentials{tokenUrl="
        + tokenUrl
        + ", clientId="
        + clientId
        + ", scope="
        + scope
        + ", clientSecret="
        + clientSecret
        + "}";
  }

  private static final class Token {
    final String value;
    final Instant refreshAt;

    Token(String value, Instant refreshAt) {
      this.value = value;
      this.refreshAt = refreshAt;
    }
  }
}
