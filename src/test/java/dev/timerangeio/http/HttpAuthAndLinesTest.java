package dev.timerangeio.http;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.timerangeio.Secrets;
import dev.timerangeio.TimeRange;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The HTTP connector with OAuth2 client credentials, secrets given by reference, and
 * line-delimited JSON answers, against a server on 127.0.0.1.
 */
@RunWith(JUnit4.class)
public class HttpAuthAndLinesTest {
  private static final String SECRET = "oauth-cl13nt-secret";
  private static final TimeRange RANGE =
      TimeRange.of(Instant.parse("2026-01-01T00:00:00Z"), Instant.parse("2026-01-01T00:01:00Z"));

  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  private HttpServer server;
  private final AtomicInteger tokens = new AtomicInteger();
  private final Map<String, AtomicInteger> uses = new ConcurrentHashMap<>();
  private final List<String> apiKeys = new CopyOnWriteArrayList<>();
  /** Requests a token serves before the API answers 401 for it. */
  private volatile int usesPerToken = 2;
  /** The line-delimited answer of /lines. */
  private volatile String lines = "";

  @Before
  public void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/token",
        exchange -> {
          String form = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
          if (!form.contains("client_secret=" + SECRET + "&")) {
            // Echoes what it got, as a careless endpoint might.
            respond(exchange, 401, "{\"error\":\"invalid_client\",\"error_description\":\"form " + form + " is wrong\"}");
            return;
          }
          String token = "tok-" + tokens.incrementAndGet();
          uses.put(token, new AtomicInteger());
          respond(exchange, 200, "{\"access_token\":\"" + token + "\",\"expires_in\":3600}");
        });
    server.createContext(
        "/events",
        exchange -> {
          String auth = String.valueOf(exchange.getRequestHeaders().getFirst("Authorization"));
          AtomicInteger count = uses.get(auth.replace("Bearer ", ""));
          if (count == null || count.incrementAndGet() > usesPerToken) {
            respond(exchange, 401, "{\"error\":\"token " + auth + " expired\"}");
            return;
          }
          respond(exchange, 200, "{\"data\":[{\"id\":1},{\"id\":2}]}");
        });
    server.createContext(
        "/lines",
        exchange -> {
          apiKeys.add(String.valueOf(exchange.getRequestHeaders().getFirst("X-Api-Key")));
          respond(exchange, 200, lines);
        });
    server.start();
  }

  @After
  public void stop() {
    server.stop(0);
  }

  private String url(String path) {
    return "http://127.0.0.1:" + server.getAddress().getPort() + path;
  }

  private static void respond(HttpExchange exchange, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.sendResponseHeaders(status, bytes.length);
    exchange.getResponseBody().write(bytes);
    exchange.close();
  }

  private HttpTimeRangeQuery<Long> oauthQuery(String secret) {
    return HttpTimeRangeQuery.get(url("/events?from={from}&to={to}"), json -> json.get("id").asLong())
        .withRecordsPointer("/data")
        .withOAuth2ClientCredentials(url("/token"), "client-1", secret, "api://events/.default");
  }

  @Test
  public void requestsCarryABearerTokenThatIsRefreshedOnceWhenTheApiRefusesIt() throws Exception {
    HttpTimeRangeQuery<Long> query = oauthQuery(SECRET);
    try {
      for (int i = 0; i < 5; i++) {
        assertEquals(List.of(1L, 2L), query.query(RANGE));
      }
    } finally {
      query.close();
    }
    // A token serves 2 requests: the 3rd and 5th requests each got a 401 and a fresh token.
    assertEquals(3, tokens.get());
  }

  @Test
  public void aSecondRefusalAfterAFreshTokenFailsAsBadCredentialsWithoutTheSecretOrToken()
      throws Exception {
    usesPerToken = 0;
    HttpTimeRangeQuery<Long> query = oauthQuery(SECRET);
    IOException e = assertThrows(IOException.class, () -> query.query(RANGE));
    query.close();
    assertThat(e.getMessage(), containsString("bad credentials for client client-1"));
    assertThat(e.getMessage(), not(containsString("tok-2")));
    assertEquals(2, tokens.get());
    assertThat(query.toString(), not(containsString(SECRET)));
  }

  @Test
  public void aWrongClientSecretFailsNamingTheTokenEndpointsErrorButNotTheSecret() {
    HttpTimeRangeQuery<Long> query = oauthQuery("wrong-" + SECRET);
    IOException e = assertThrows(IOException.class, () -> query.query(RANGE));
    assertThat(e.getMessage(), containsString("invalid_client"));
    assertThat(e.getMessage(), containsString("client_id=client-1"));
    assertThat(e.getMessage(), not(containsString("wrong-" + SECRET)));
  }

  @Test
  public void aSecretHeaderByReferenceIsResolvedOnTheWorkerAndNeverSerialized() throws Exception {
    Path file = tmp.newFile().toPath();
    Files.write(file, "key-from-a-file\n".getBytes(StandardCharsets.UTF_8));
    lines = "{\"id\":7}\n";
    HttpTimeRangeQuery<Long> query =
        HttpTimeRangeQuery.get(url("/lines?from={from}&to={to}"), json -> json.get("id").asLong())
            .withJsonLines()
            .withSecretHeader("X-Api-Key", Secrets.fromFile(file.toString()));
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(query);
    }
    assertThat(bytes.toString(StandardCharsets.ISO_8859_1), not(containsString("key-from-a-file")));

    assertEquals(List.of(7L), query.query(RANGE));
    assertEquals(List.of("key-from-a-file"), apiKeys);
    query.close();
  }

  @Test
  public void aLineDelimitedAnswerIsOneRecordALineWithBlankLinesSkipped() throws Exception {
    lines = "{\"id\":1}\n\n{\"id\":2}\r\n   \n{\"id\":3}";
    HttpTimeRangeQuery<Long> query =
        HttpTimeRangeQuery.get(url("/lines?from={from}&to={to}"), json -> json.get("id").asLong()).withJsonLines();
    assertEquals(List.of(1L, 2L, 3L), query.query(RANGE));

    lines = "{\"id\":1}\n{\"id\":2} {\"id\":3}\n";
    IOException e = assertThrows(IOException.class, () -> query.query(RANGE));
    assertThat(e.getMessage(), containsString("line 2"));
    query.close();
  }

  @Test
  public void jsonLinesWithARecordsPointerOrPagingIsRefusedNamingThem() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                HttpTimeRangeQuery.get(url("/lines?from={from}&to={to}"), json -> 1L)
                    .withRecordsPointer("/data")
                    .withJsonLines());
    assertThat(e.getMessage(), containsString("withJsonLines()"));
    assertThat(e.getMessage(), containsString("/data"));
  }
}
