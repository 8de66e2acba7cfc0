package dev.timerangeio.http;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertThrows;

import com.sun.net.httpserver.HttpServer;
import dev.timerangeio.Secrets;
import dev.timerangeio.TransientSourceException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The client-credentials flow against a real token endpoint on 127.0.0.1. */
@RunWith(JUnit4.class)
public class OAuth2ClientCredentialsTest {
  private static final String SECRET = "s3cr3t/+&=value";

  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  private HttpServer server;
  private final AtomicInteger issued = new AtomicInteger();
  private final List<String> forms = new CopyOnWriteArrayList<>();
  /** What the endpoint answers: status and body; the body may name the token number with %d. */
  private final AtomicReference<Integer> status = new AtomicReference<>(200);
  private final AtomicReference<String> body =
      new AtomicReference<>("{\"access_token\":\"token-%d\",\"expires_in\":100,\"token_type\":\"Bearer\"}");

  @Before
  public void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext(
        "/tenant/oauth2/v2.0/token",
        exchange -> {
          forms.add(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
          byte[] answer =
              body.get().replace("%d", String.valueOf(issued.incrementAndGet())).getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(status.get(), answer.length);
          exchange.getResponseBody().write(answer);
          exchange.close();
        });
    server.start();
  }

  @After
  public void stop() {
    server.stop(0);
  }

  private String tokenUrl() {
    return "http://127.0.0.1:" + server.getAddress().getPort() + "/tenant/oauth2/v2.0/token";
  }

  /** A clock the test moves. */
  private static final class MovableClock extends Clock {
    Instant now = Instant.parse("2026-12-07T00:00:00Z");

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  @Test
  public void oneTokenServesEveryCallUntilAFifthOfItsLifetimeIsLeft() throws Exception {
    MovableClock clock = new MovableClock();
    OAuth2ClientCredentials credentials =
        OAuth2ClientCredentials.of(tokenUrl(), "client-1", Secrets.ofValue(SECRET), "api/.default")
            .withClock(clock);

    assertEquals("token-1", credentials.accessToken());
    clock.now = clock.now.plusSeconds(79);
    assertEquals("token-1", credentials.accessToken());
    clock.now = clock.now.plusSeconds(1);
    assertEquals("token-2", credentials.accessToken());
    assertEquals(2, issued.get());
    assertEquals(
        "grant_type=client_credentials&client_id=client-1&client_secret="
            + java.net.URLEncoder.encode(SECRET, StandardCharsets.UTF_8)
            + "&scope=api%2F.default",
        forms.get(0));
  }

  @Test
  public void aTokenTheServiceRefusedIsReplacedAndOnlyThatOne() throws Exception {
    OAuth2ClientCredentials credentials =
        OAuth2ClientCredentials.of(tokenUrl(), "client-1", Secrets.ofValue(SECRET), "");

    String first = credentials.accessToken();
    credentials.invalidate("some-older-token");
    assertEquals(first, credentials.accessToken());
    credentials.invalidate(first);
    String second = credentials.accessToken();

    assertNotEquals(first, second);
    assertEquals(2, issued.get());
    assertThat(forms.get(0), not(containsString("scope")));
  }

  @Test
  public void copiesOfOneConfigurationShareOneTokenPerWorker() throws Exception {
    OAuth2ClientCredentials credentials =
        OAuth2ClientCredentials.of(tokenUrl(), "client-1", Secrets.ofValue(SECRET), "");
    OAuth2ClientCredentials copy =
        org.apache.beam.sdk.util.SerializableUtils.clone(credentials);

    assertEquals(credentials.accessToken(), copy.accessToken());
    assertEquals(1, issued.get());
  }

  @Test
  public void refusedCredentialsFailNamingTheErrorButNeverTheSecret() {
    status.set(401);
    body.set(
        "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client secret"
            + " provided: "
            + SECRET
            + " / "
            + java.net.URLEncoder.encode(SECRET, StandardCharsets.UTF_8)
            + "\"}");
    OAuth2ClientCredentials credentials =
        OAuth2ClientCredentials.of(tokenUrl(), "client-1", Secrets.ofValue(SECRET), "");

    Exception e = assertThrows(IOException.class, credentials::accessToken);

    assertThat(e.getMessage(), containsString("invalid_client"));
    assertThat(e.getMessage(), containsString("AADSTS7000215"));
    assertThat(e.getMessage(), not(containsString(SECRET)));
    assertThat(
        e.getMessage(), not(containsString(java.net.URLEncoder.encode(SECRET, StandardCharsets.UTF_8))));
  }

  @Test
  public void serverErrorsAndThrottlingAreTransient() {
    OAuth2ClientCredentials credentials =
        OAuth2ClientCredentials.of(tokenUrl(), "client-1", Secrets.ofValue(SECRET), "");
    for (int code : new int[] {429, 500, 503}) {
      status.set(code);
      body.set("busy");
      assertThrows(TransientSourceException.class, credentials::accessToken);
    }
  }

  @Test
  public void anExpiryGivenAsTextIsRead() throws Exception {
    body.set("{\"access_token\":\"token-%d\",\"expires_in\":\"3599\"}");
    MovableClock clock = new MovableClock();
    OAuth2ClientCredentials credentials =
        OAuth2ClientCredentials.of(tokenUrl(), "c", Secrets.ofValue(SECRET), "").withClock(clock);

    credentials.accessToken();
    clock.now = clock.now.plus(Duration.ofSeconds(3599 - 5 * 60 - 1));
    credentials.accessToken();

    assertEquals(1, issued.get());
  }

  @Test
  public void aSecretFromAFileIsReadOnTheWorkerAndNeverSerialized() throws Exception {
    Path file = tmp.newFile("secret").toPath();
    Files.write(file, (SECRET + "\n").getBytes(StandardCharsets.UTF_8));
    OAuth2ClientCredentials credentials =
        OAuth2ClientCredentials.of(tokenUrl(), "client-1", Secrets.fromFile(file.toString()), "");

    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(credentials);
    }
    assertThat(bytes.toString(StandardCharsets.ISO_8859_1), not(containsString(SECRET)));
    assertThat(credentials.toString(), not(containsString(SECRET)));
    assertThat(credentials.toString(), containsString(file.toString()));

    credentials.accessToken();
    assertThat(forms.get(0), containsString(java.net.URLEncoder.encode(SECRET, StandardCharsets.UTF_8)));
  }

  @Test
  public void aPlainHttpTokenUrlOffLoopbackIsRejectedNamingIt() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                OAuth2ClientCredentials.of(
                    "http://login.example.com/t/oauth2/v2.0/token", "c", Secrets.ofValue("x"), ""));
    assertThat(e.getMessage(), containsString("http://login.example.com/t/oauth2/v2.0/token"));
    assertThat(e.getMessage(), containsString("https"));
  }
}
