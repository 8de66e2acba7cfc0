package dev.timerangeio.http;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.instanceOf;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.timerangeio.ResultTooLargeException;
import dev.timerangeio.TimeRange;
import dev.timerangeio.TimeRangeIO;
import dev.timerangeio.TransientSourceException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.beam.sdk.Pipeline.PipelineExecutionException;
import org.apache.beam.sdk.testing.TestPipeline;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * {@link HttpTimeRangeQuery} against hostile or broken APIs on 127.0.0.1: secrets stay with the
 * template's host and out of every message, nothing hangs, nothing ends a read in silence.
 */
@RunWith(JUnit4.class)
public class HostileApiTest {
  private static final String TOKEN = "tok-5up3r-s3cr3t-v4lu3";
  private static final TimeRange RANGE = TimeRange.of(0, 1_000_000);

  @Rule public final transient TestPipeline p = TestPipeline.create();

  /** A server on 127.0.0.1 whose answer each test sets; it records what it was sent. */
  private static final class Api {
    final HttpServer server;
    final List<String> authorizations = new CopyOnWriteArrayList<>();
    final List<String> queries = new CopyOnWriteArrayList<>();
    final List<String> paths = new CopyOnWriteArrayList<>();
    final Set<Integer> clientPorts = ConcurrentHashMap.newKeySet();
    final AtomicInteger requests = new AtomicInteger();
    volatile Responder responder = (e, n) -> respond(e, 200, "[]");

    interface Responder {
      void answer(HttpExchange exchange, int request) throws IOException;
    }

    Api() throws IOException {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      server.createContext(
          "/",
          e -> {
            int n = requests.incrementAndGet();
            String auth = e.getRequestHeaders().getFirst("Authorization");
            if (auth != null) {
              authorizations.add(auth);
            }
            queries.add(String.valueOf(e.getRequestURI().getRawQuery()));
            paths.add(e.getRequestURI().getRawPath());
            clientPorts.add(e.getRemoteAddress().getPort());
            responder.answer(e, n);
          });
      server.start();
    }

    int port() {
      return server.getAddress().getPort();
    }

    String url(String host) {
      return "http://" + host + ":" + port() + "/events?since={from}&until={to}";
    }
  }

  static void respond(HttpExchange exchange, int status, String body) throws IOException {
    respond(exchange, status, body, Map.of());
  }

  static void respond(HttpExchange exchange, int status, String body, Map<String, String> headers)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    headers.forEach((k, v) -> exchange.getResponseHeaders().add(k, v));
    exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
    if (bytes.length > 0) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    }
    exchange.close();
  }

  private Api api;
  private Api other;

  @Before
  public void start() throws IOException {
    api = new Api();
    other = new Api();
  }

  @After
  public void stop() {
    api.server.stop(0);
    other.server.stop(0);
  }

  private HttpTimeRangeQuery<Long> query() {
    return HttpTimeRangeQuery.get(api.url("127.0.0.1"), json -> json.get("id").asLong())
        .withRecordsPointer("/data")
        .withSecretHeader("Authorization", "Bearer " + TOKEN)
        .withTimeout(Duration.ofSeconds(10));
  }

  /** A read of the first second since the epoch, one chunk, from the API. */
  private TimeRangeIO.Read<Long> oneChunk() {
    return TimeRangeIO.<Long>read()
        .withQuery(query())
        .withCoder(org.apache.beam.sdk.coders.VarLongCoder.of())
        .withStartTime(java.time.Instant.EPOCH)
        .withEndTime(java.time.Instant.ofEpochSecond(1))
        .withPartitionDuration(Duration.ofSeconds(1));
  }

  private static Exception failure(HttpTimeRangeQuery<Long> query) {
    Exception e = assertThrows(Exception.class, () -> query.query(RANGE));
    for (Throwable t = e; t != null; t = t.getCause()) {
      assertThat("in the message or a cause", String.valueOf(t), not(containsString(TOKEN)));
    }
    return e;
  }

  @Test
  public void aRedirectToAnotherHostIsNotFollowedAndGetsNoSecret() {
    api.responder =
        (e, n) -> respond(e, 302, "", Map.of("Location", other.url("localhost").replace("{from}", "a").replace("{to}", "b")));
    Exception e = failure(query());
    assertThat(e.getMessage(), containsString("redirected to http://localhost"));
    assertEquals("the other host was never asked", 0, other.requests.get());
  }

  @Test
  public void aRedirectOnTheSameHostIsFollowedWithItsSecret() throws Exception {
    api.responder =
        (e, n) ->
            respond(
                e,
                n == 1 ? 307 : 200,
                n == 1 ? "" : "{\"data\":[{\"id\":7}]}",
                n == 1 ? Map.of("Location", "/moved?x=1") : Map.of());
    assertEquals(List.of(7L), query().query(RANGE));
    assertEquals(List.of("Bearer " + TOKEN, "Bearer " + TOKEN), api.authorizations);
  }

  @Test
  public void aNextLinkToAnotherHostOrDowngradedSchemeFailsNamingItsHostNotTheToken() {
    api.responder =
        (e, n) ->
            respond(
                e,
                200,
                "{\"data\":[{\"id\":1}],\"next\":\"http://localhost:" + other.port() + "/events?page=2\"}");
    Exception e = failure(query().withNextLinkPointer("/next"));
    assertThat(e.getMessage(), containsString("leads to http://localhost:" + other.port()));
    assertEquals(0, other.requests.get());

    api.responder =
        (e2, n) ->
            respond(e2, 200, "{\"data\":[],\"next\":\"https://127.0.0.1:" + api.port() + "/events?page=2\"}");
    assertThat(failure(query().withNextLinkPointer("/next")).getMessage(), containsString("leads to https://127.0.0.1"));
  }

  @Test
  public void anErrorBodyOrAParseErrorThatEchoesTheTokenIsScrubbed() {
    api.responder = (e, n) -> respond(e, 401, "unauthorized: Authorization: Bearer " + TOKEN);
    assertThat(failure(query()).getMessage(), containsString("Authorization: ***"));
    api.responder = (e, n) -> respond(e, 200, "<html>Welcome back " + TOKEN + "</html>");
    assertThat(failure(query()).getMessage(), containsString("Welcome back ***"));
  }

  @Test
  public void aSecretQueryParameterIsSentButNeverShown() {
    api.responder = (e, n) -> respond(e, 404, "no such page: " + e.getRequestURI());
    HttpTimeRangeQuery<Long> query = query().withSecretQueryParameter("api_key", "k3y-" + TOKEN);
    Exception e = failure(query);
    assertThat(api.queries.get(0), containsString("api_key=k3y-" + TOKEN));
    assertThat(e.getMessage(), containsString("api_key=***"));
    assertThat(query.toString(), not(containsString(TOKEN)));
  }

  @Test
  public void aNextPageTokenThatIsAnObjectIsAnErrorNotTheLastPage() {
    api.responder = (e, n) -> respond(e, 200, "{\"data\":[{\"id\":1}],\"next\":{\"href\":\"/p2\"}}");
    Exception e = failure(query().withNextPageToken("/next", "page"));
    assertThat(e.getMessage(), containsString("next-page token at /next is OBJECT"));
  }

  @Test
  public void aSuccessWhoseBodyIsAnErrorIsAnErrorQuotingIt() {
    api.responder = (e, n) -> respond(e, 200, "{\"error\":\"quota exceeded for " + TOKEN + "\"}");
    Exception e = failure(query());
    assertThat(e.getMessage(), containsString("no JSON array at records pointer \"/data\""));
    assertThat(e.getMessage(), containsString("quota exceeded for ***"));
  }

  @Test
  public void aRepeatingOrEndlessNextPageFailsInsteadOfLooping() {
    api.responder = (e, n) -> respond(e, 200, "{\"data\":[{\"id\":1}],\"next\":\"same\"}");
    Exception e = failure(query().withNextPageToken("/next", "page"));
    assertThat(e.getMessage(), containsString("repeats an earlier page"));
    assertEquals(2, api.requests.get());

    api.requests.set(0);
    api.responder = (x, n) -> respond(x, 200, "{\"data\":[{\"id\":" + n + "}],\"next\":\"p" + n + "\"}");
    Exception endless = failure(query().withNextPageToken("/next", "page").withMaxPagesPerQuery(5));
    assertThat(endless.getMessage(), containsString("withMaxPagesPerQuery(5)"));
    assertEquals(5, api.requests.get());
  }

  @Test
  public void aBodyOverTheLimitMakesTheRangeTooLargeAndALimitStopsPagingEarly() throws Exception {
    api.responder = (e, n) -> respond(e, 200, "{\"data\":[" + "{\"id\":1},".repeat(200) + "{\"id\":1}]}");
    assertThrows(ResultTooLargeException.class, () -> query().withMaxResponseBytes(1_000).query(RANGE));

    api.requests.set(0);
    api.responder = (e, n) -> respond(e, 200, "{\"data\":[{\"id\":1},{\"id\":2}],\"next\":\"p" + n + "\"}");
    assertEquals(6, query().withNextPageToken("/next", "page").queryResult(RANGE, 5).rows());
    assertEquals("three pages, not the rest", 3, api.requests.get());
  }

  @Test
  public void onlyWhatMayPassOnARetryIsTransient() {
    api.responder = (e, n) -> respond(e, 200, "<html><form>login</form></html>");
    assertThat(failure(query()), not(instanceOf(TransientSourceException.class)));
    api.responder = (e, n) -> respond(e, 200, "{\"data\":[{\"id\":1},");
    assertThat(failure(query()), instanceOf(TransientSourceException.class));
    for (int status : new int[] {408, 429, 500, 502, 503, 504, 520, 524}) {
      api.responder = (e, n) -> respond(e, status, "try later");
      assertThat("HTTP " + status, failure(query()), instanceOf(TransientSourceException.class));
    }
    for (int status : new int[] {400, 401, 403, 404, 410}) {
      api.responder = (e, n) -> respond(e, status, "no");
      assertThat("HTTP " + status, failure(query()), not(instanceOf(TransientSourceException.class)));
    }
    api.responder = (e, n) -> respond(e, 302, "", Map.of("Location", "/again?n=" + n));
    assertThat(failure(query()).getMessage(), containsString("more than " + dev.timerangeio.http.HttpExchange.MAX_REDIRECTS + " redirects"));
  }

  @Test
  public void aHugeRetryAfterFailsTheReadAtOnceInsteadOfSleepingForCenturies() {
    for (String retryAfter :
        new String[] {
          "10000000000", "9223372036854775807", "99999999999999999999", "Wed, 01 Jan 3000 00:00:00 GMT"
        }) {
      api.responder = (e, n) -> respond(e, 429, "slow down", Map.of("Retry-After", retryAfter));
      org.apache.beam.sdk.Pipeline pipeline = org.apache.beam.sdk.Pipeline.create();
      pipeline.apply(oneChunk().withMaxRetryDuration(Duration.ofMinutes(10)));
      long started = System.nanoTime();
      PipelineExecutionException e = assertThrows(PipelineExecutionException.class, pipeline::run);
      assertThat(retryAfter, e.getMessage(), containsString("the source asks to wait"));
      assertTrue(retryAfter, System.nanoTime() - started < 60_000_000_000L);
    }
  }

  @Test
  public void retriesReuseOneClientAndItsConnection() throws Exception {
    api.responder =
        (e, n) -> respond(e, n <= 3 ? 503 : 200, n <= 3 ? "busy" : "{\"data\":[{\"id\":5}]}");
    org.apache.beam.sdk.testing.PAssert.that(
            p.apply(oneChunk().withInitialBackoff(Duration.ofMillis(1))))
        .containsInAnyOrder(5L);
    p.run().waitUntilFinish();
    assertEquals(4, api.requests.get());
    assertEquals("one keep-alive connection for the query and its retries", 1, api.clientPorts.size());
  }

  @Test
  public void aTokenParameterNameIsMatchedLiterally() throws Exception {
    api.responder =
        (e, n) ->
            respond(e, 200, n == 1 ? "{\"data\":[{\"id\":1}],\"next\":\"t2\"}" : "{\"data\":[]}");
    HttpTimeRangeQuery<Long> query =
        HttpTimeRangeQuery.get(
                "http://127.0.0.1:" + api.port() + "/events?pXt=keep&since={from}&until={to}",
                json -> json.get("id").asLong())
            .withRecordsPointer("/data")
            .withNextPageToken("/next", "p.t");
    query.query(RANGE);
    assertThat(api.queries.get(1), containsString("pXt=keep"));
    assertThat(api.queries.get(1), containsString("p.t=t2"));
  }

  @Test
  public void aLinkTheUriParserRefusesOrAnEchoInAnotherEncodingLeaksNoSecret() {
    // The only secret: a query parameter whose encodings differ, so that each echo below holds
    // one encoding of it and nothing else a scrubber could match.
    String key = TOKEN + "/+=";
    HttpTimeRangeQuery<Long> query =
        HttpTimeRangeQuery.get(api.url("127.0.0.1"), json -> json.get("id").asLong())
            .withRecordsPointer("/data")
            .withSecretQueryParameter("api_key", key);
    String encoded = java.net.URLEncoder.encode(key, StandardCharsets.UTF_8);
    api.responder =
        (e, n) -> respond(e, 200, "{\"data\":[],\"next\":\"/e?api_key=" + encoded + "&f=a|b\"}");
    assertThat(failure(query.withNextLinkPointer("/next")).getMessage(), containsString("api_key=***"));
    String[][] echoes = {
      {"raw", key},
      {"URL-encoded", encoded},
      {"URL-encoded, lower-case hex", encoded.toLowerCase(java.util.Locale.ROOT)},
      {"URL-encoded, / left raw", encoded.replace("%2F", "/")},
      {
        "URL-encoded, / left raw, lower-case hex",
        encoded.replace("%2F", "/").toLowerCase(java.util.Locale.ROOT)
      },
      {"JSON-escaped /", key.replace("/", "\\/")},
    };
    for (String[] echo : echoes) {
      api.responder = (e, n) -> respond(e, 401, "bad key [" + echo[1] + "]");
      assertThat(echo[0], failure(query).getMessage(), containsString("bad key [***]"));
    }
  }

  @Test
  public void aRecordsPointerWithEscapesStillFindsTheRecords() throws Exception {
    api.responder = (e, n) -> respond(e, 200, "{\"a/b\":[{\"id\":1},{\"id\":2}],\"c~d\":[]}");
    assertEquals(
        List.of(1L, 2L),
        HttpTimeRangeQuery.get(api.url("127.0.0.1"), json -> json.get("id").asLong())
            .withRecordsPointer("/a~1b")
            .query(RANGE));
  }

  @Test
  public void aNextTokenInsideTheRecordsArrayIsStillFollowed() throws Exception {
    api.responder =
        (e, n) ->
            respond(
                e,
                200,
                n == 1 ? "{\"d\":[{\"id\":1,\"cursor\":\"c2\"}]}" : "{\"d\":[{\"id\":2}]}");
    assertEquals(
        List.of(1L, 2L),
        HttpTimeRangeQuery.get(api.url("127.0.0.1"), json -> json.get("id").asLong())
            .withRecordsPointer("/d")
            .withNextPageToken("/d/0/cursor", "cursor")
            .query(RANGE));
  }

  @Test
  public void noContentIsNoRecordsButAnEmptyBodyPartialErrorsOrTwoArraysFail() throws Exception {
    api.responder = (e, n) -> respond(e, 204, "");
    assertEquals(List.of(), query().query(RANGE));
    api.responder = (e, n) -> respond(e, 200, "");
    assertThat(failure(query()), not(instanceOf(TransientSourceException.class)));
    api.responder =
        (e, n) -> respond(e, 200, "{\"data\":[{\"id\":1}],\"error\":{\"code\":\"PartialError\"}}");
    assertThat(failure(query().withErrorPointer("/error")).getMessage(), containsString("PartialError"));
    api.responder = (e, n) -> respond(e, 200, "{\"data\":[{\"id\":1}],\"data\":[{\"id\":2}]}");
    assertThat(failure(query()).getMessage(), containsString("matches two arrays"));
  }

  @Test
  public void aQueryOnlyNextLinkResolvesAgainstTheRequestPath() throws Exception {
    api.responder =
        (e, n) ->
            respond(
                e,
                200,
                n == 1
                    ? "{\"data\":[{\"id\":1}],\"next\":\"?cursor=c2\"}"
                    : "{\"data\":[{\"id\":2}]}");
    HttpTimeRangeQuery<Long> query =
        HttpTimeRangeQuery.get(
                "http://127.0.0.1:" + api.port() + "/v1/events?since={from}&until={to}",
                json -> json.get("id").asLong())
            .withRecordsPointer("/data")
            .withNextLinkPointer("/next");
    assertEquals(List.of(1L, 2L), query.query(RANGE));
    assertEquals(List.of("/v1/events", "/v1/events"), api.paths);
    assertEquals("cursor=c2", api.queries.get(1));
  }

  @Test
  public void aQueryOnlyRedirectResolvesAgainstTheRequestPath() throws Exception {
    api.responder =
        (e, n) ->
            respond(
                e,
                n == 1 ? 302 : 200,
                n == 1 ? "" : "{\"data\":[{\"id\":3}]}",
                n == 1 ? Map.of("Location", "?moved=1") : Map.of());
    assertEquals(List.of(3L), query().query(RANGE));
    assertEquals(List.of("/events", "/events"), api.paths);
    assertEquals("moved=1", api.queries.get(1));
  }

  @Test
  public void aMemberTheConnectorReadsGivenTwiceIsRefusedNotTheLastOneTaken() throws Exception {
    String[][] pages = {
      {"/next", "{\"data\":[{\"id\":1}],\"next\":\"p2\",\"next\":null}"},
      {"/meta/next", "{\"data\":[{\"id\":1}],\"meta\":{\"next\":\"p2\"},\"meta\":{}}"},
      {"/data/0/next", "{\"data\":[{\"id\":1,\"next\":\"p2\",\"next\":null}]}"},
    };
    for (String[] page : pages) {
      api.responder = (e, n) -> respond(e, 200, page[1]);
      Exception e = failure(query().withNextPageToken(page[0], "page"));
      assertThat(page[1], e.getMessage(), containsString("appears twice"));
      assertThat(page[1], e, not(instanceOf(TransientSourceException.class)));
    }
    api.responder =
        (e, n) ->
            respond(
                e, 200, "{\"data\":[],\"error\":{\"code\":\"PartialError\"},\"error\":null}");
    assertThat(
        failure(query().withErrorPointer("/error")).getMessage(),
        containsString("the member \"error\" appears twice in one object, at /error"));
    api.responder =
        (e, n) -> respond(e, 200, "{\"data\":[{\"id\":1,\"t\":0.5,\"t\":7}]}");
    assertThat(
        failure(query().withTimeFormat(HttpTimeRangeQuery.TimeFormat.EPOCH_SECONDS, "/t"))
            .getMessage(),
        containsString("in a record at /t"));
    // Members the connector doesn't read are the mapper's business.
    api.responder =
        (e, n) -> respond(e, 200, "{\"data\":[{\"id\":1,\"x\":1,\"x\":2}],\"y\":1,\"y\":2}");
    assertEquals(List.of(1L), query().withNextPageToken("/next", "page").query(RANGE));
  }

  @Test
  public void anAcceptedIsRetriedAndAnyOther2xxButOkAndNoContentFails() {
    api.responder =
        (e, n) -> respond(e, 202, "{\"status\":\"running\"}", Map.of("Retry-After", "3"));
    Exception accepted = failure(query());
    assertThat(accepted, instanceOf(TransientSourceException.class));
    assertEquals(
        java.util.Optional.of(Duration.ofSeconds(3)),
        ((TransientSourceException) accepted).retryAfter());
    for (int status : new int[] {201, 203, 205, 206, 207, 226}) {
      api.responder = (e, n) -> respond(e, status, "{\"data\":[]}");
      Exception e = failure(query());
      assertThat("HTTP " + status, e, not(instanceOf(TransientSourceException.class)));
      assertThat("HTTP " + status, e.getMessage(), containsString("HTTP " + status + " from GET"));
    }
  }

  @Test
  public void contentAfterTheJsonValueIsRefusedWhereverTheNextPointerLies() {
    api.responder = (e, n) -> respond(e, 200, "{\"d\":[{\"id\":1}]} {\"d\":[{\"id\":2}]}");
    HttpTimeRangeQuery<Long> streamed =
        HttpTimeRangeQuery.get(api.url("127.0.0.1"), json -> json.get("id").asLong())
            .withRecordsPointer("/d")
            .withNextPageToken("/next", "cursor");
    assertThat(failure(streamed).getMessage(), containsString("content after the JSON value"));
    HttpTimeRangeQuery<Long> inRecords = streamed.withNextPageToken("/d/0/cursor", "cursor");
    assertThat(failure(inRecords).getMessage(), containsString("content after the JSON value"));
  }

  @Test
  public void aRecordWithoutATimeOrOutsideTheRangeAskedForIsReportedNotDropped() throws Exception {
    // [0.25 s, 0.75 s) in whole seconds is [0, 1): the records of [0, 0.25) belong elsewhere.
    api.responder =
        (e, n) ->
            respond(
                e,
                200,
                "{\"data\":[{\"id\":1,\"t\":0.25},{\"id\":2,\"t\":0.1},{\"id\":3},"
                    + "{\"id\":4,\"t\":5},{\"id\":5,\"t\":\"1970-01-01T00:00:00.749999Z\"},"
                    + "{\"id\":6,\"t\":0.75},{\"id\":7,\"t\":\"soon\"}]}");
    dev.timerangeio.TimeRangeQuery.Result<Long> result =
        query()
            .withTimeFormat(HttpTimeRangeQuery.TimeFormat.EPOCH_SECONDS, "/t")
            .queryResult(TimeRange.of(250_000, 750_000), Long.MAX_VALUE);
    assertEquals(List.of("since=0&until=1"), api.queries);
    assertEquals(List.of(1L, 5L), result.records());
    assertEquals(3, result.unmapped().size());
    List<String> errors = new java.util.ArrayList<>();
    result.unmapped().forEach(row -> errors.add(row.error().getMessage()));
    assertThat(errors.get(0), containsString("the record time at /t is missing"));
    assertThat(errors.get(1), containsString("lies outside the range it was asked for"));
    assertThat(errors.get(2), containsString("not an ISO-8601 instant"));
  }
}
