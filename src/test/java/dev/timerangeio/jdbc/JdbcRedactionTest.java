package dev.timerangeio.jdbc;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertEquals;

import dev.timerangeio.TimeRangeIO;
import java.util.List;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.Row;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** Every form of a password in a JDBC URL stays out of toString, display data and messages. */
@RunWith(JUnit4.class)
public class JdbcRedactionTest {
  @Test
  public void passwordsInEveryUrlFormAreRedacted() {
    String[][] cases = {
      {"jdbc:postgresql://db/x?user=u&password=s3cret&ssl=true", "jdbc:postgresql://db/x?user=u&password=***&ssl=true"},
      {"jdbc:mysql://u:s3cret@db:3306/x", "jdbc:mysql://u:***@db:3306/x"},
      {"jdbc:mariadb://u:s3cret@db/x?useSsl=true", "jdbc:mariadb://u:***@db/x?useSsl=true"},
      {"jdbc:oracle:thin:scott/s3cret@//db:1521/x", "jdbc:oracle:thin:scott/***@//db:1521/x"},
      {"jdbc:sqlserver://db;user=u;password=s3cret;db=x", "jdbc:sqlserver://db;user=u;password=***;db=x"},
      {"jdbc:sqlserver://db;user=u;PWD=s3cret", "jdbc:sqlserver://db;user=u;PWD=***"},
      {"jdbc:h2:mem:x;PASSWORD=s3cret", "jdbc:h2:mem:x;PASSWORD=***"},
      {"jdbc:postgresql://db/x?user=u", "jdbc:postgresql://db/x?user=u"},
      {"jdbc:db2://h:50000/db:password=s3cret;user=u;", "jdbc:db2://h:50000/db:password=***;user=u;"},
      {"jdbc:sqlserver://db;password={a}}b;c};db=x", "jdbc:sqlserver://db;password=***;db=x"},
      // A driver whose delimiters aren't known here: masked to the end of the URL.
      {"jdbc:x://db;OAuthAccessToken=s3cret;SecretAccessKey=s3cret", "jdbc:x://db;OAuthAccessToken=***"},
      {"jdbc:postgresql://db/x?sslpassword=s3cret&ssl=true", "jdbc:postgresql://db/x?sslpassword=***&ssl=true"},
      {"jdbc:mariadb://db/x?trustStorePassword=s3cret", "jdbc:mariadb://db/x?trustStorePassword=***"},
      {"jdbc:mysql://address=(host=db)(password=s3cret)/x", "jdbc:mysql://address=(host=db)(password=***)/x"},
      {"jdbc:mysql://(host=db,user=u,password=s3cret)/x", "jdbc:mysql://(host=db,user=u,password=***)/x"},
      {"jdbc:mysql://db/x?password1=s3cret&password2=s3cret", "jdbc:mysql://db/x?password1=***&password2=***"},
      {"jdbc:mysql://u:s3/c?r@t@db/x", "jdbc:mysql://u:***@db/x"},
      {"jdbc:h2:mem:x;PASSWORD = s3cret", "jdbc:h2:mem:x;PASSWORD = ***"},
      {"jdbc:sqlserver://db;password={s3c;ret};db=x", "jdbc:sqlserver://db;password=***;db=x"},
    };
    for (String[] c : cases) {
      assertEquals(c[0], c[1], JdbcSupport.redact(c[0]));
    }
  }

  /** A password holding every delimiter some driver uses: , ; ) & and braces aside. */
  private static final String HOSTILE = "Hunter2,TAIL;X)Y";

  @Test
  public void aPasswordIsMaskedAsFarAsItsDriverReadsIt() {
    String[][] cases = {
      // PostgreSQL, MariaDB, MySQL: query parameters end at &, not at , ; or ).
      {"jdbc:postgresql://db/x?user=u&password=" + HOSTILE + "&ssl=true", "jdbc:postgresql://db/x?user=u&password=***&ssl=true"},
      {"jdbc:postgresql://db/x?password=" + HOSTILE, "jdbc:postgresql://db/x?password=***"},
      {"jdbc:mariadb://db/x?password=" + HOSTILE + "&useSsl=true", "jdbc:mariadb://db/x?password=***&useSsl=true"},
      {"jdbc:mysql://db/x?sslPassword=" + HOSTILE, "jdbc:mysql://db/x?sslPassword=***"},
      // H2 and Derby: ;KEY=VALUE settings end at the next ;, the rest is another setting.
      {"jdbc:h2:mem:x;PASSWORD=Hunter2,TAIL)Y;MODE=MySQL", "jdbc:h2:mem:x;PASSWORD=***;MODE=MySQL"},
      {"jdbc:h2:mem:x;PASSWORD=" + HOSTILE, "jdbc:h2:mem:x;PASSWORD=***;X)Y"},
      {"jdbc:derby:memory:x;password=Hunter2,TAIL)Y;create=true", "jdbc:derby:memory:x;password=***;create=true"},
      // SQL Server: ; ends a value, except inside {braces}, where }} is a literal }.
      {"jdbc:sqlserver://db;password={" + HOSTILE + "};db=x", "jdbc:sqlserver://db;password=***;db=x"},
      {"jdbc:sqlserver://db;password=Hunter2,TAIL)Y;db=x", "jdbc:sqlserver://db;password=***;db=x"},
      // Unknown drivers: to the end of the URL rather than a leak.
      {"jdbc:somedb://db?password=" + HOSTILE + "&a=b", "jdbc:somedb://db?password=***"},
      // A password parameter outside PostgreSQL's query part is not one it parses: to the end.
      {"jdbc:postgresql://db/x;password=" + HOSTILE + "?ssl=true", "jdbc:postgresql://db/x;password=***"},
    };
    for (String[] c : cases) {
      assertEquals(c[0], c[1], JdbcSupport.redact(c[0]));
    }
  }

  @Test
  public void aHostilePasswordStaysOutOfToStringAndDisplayData() {
    String url = "jdbc:postgresql://db/x?user=u&password=" + HOSTILE + "&ssl=true";
    JdbcTimeRangeQuery<Long> query = JdbcTimeRangeQuery.forTable(url, "t", "ts", rs -> 1L);
    JdbcIdempotentSink<Row> sink = JdbcIdempotentSink.forRows(url, "t");
    String shown =
        query + " " + sink + " " + query.connection() + " "
            + DisplayData.from(TimeRangeIO.<Long>read().withQuery(query)) + " "
            + DisplayData.from(TimeRangeIO.<Row>write().to(sink));
    for (String piece : new String[] {"Hunter2", "TAIL", "X)Y"}) {
      assertThat(shown, not(containsString(piece)));
    }
    assertThat(shown, containsString("password=***&ssl=true"));
  }

  /** Every text of {@code t}: messages, causes, suppressed and next exceptions, stack trace. */
  static String everything(Throwable t) {
    java.io.StringWriter out = new java.io.StringWriter();
    t.printStackTrace(new java.io.PrintWriter(out));
    StringBuilder all = new StringBuilder(out.toString());
    java.util.Set<Throwable> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    java.util.ArrayDeque<Throwable> todo = new java.util.ArrayDeque<>(List.of(t));
    while (!todo.isEmpty()) {
      Throwable next = todo.pop();
      if (next == null || !seen.add(next)) {
        continue;
      }
      all.append('\n').append(next).append(' ').append(next.getLocalizedMessage());
      todo.push(next.getCause() == null ? next : next.getCause());
      todo.addAll(List.of(next.getSuppressed()));
      if (next instanceof java.sql.SQLException) {
        todo.push(((java.sql.SQLException) next).getNextException() == null ? next : ((java.sql.SQLException) next).getNextException());
      }
    }
    return all.toString();
  }

  // The drivers refuse these URLs before any network connection: MariaDB reads the password as
  // the port, PostgreSQL the user-info as the host name (an unknown host). Their messages quote it.
  private static final String[] REFUSED_USER_INFO = {
    "jdbc:mariadb://root:" + HOSTILE + "@127.0.0.1:3306/test",
    "jdbc:mariadb://root:S3cretPw@127.0.0.1/test",
    "jdbc:postgresql://postgres:S3cretPw@127.0.0.1:5432/test",
  };

  @Test
  public void aUserInfoUrlTheDriverRefusesFailsThePoolStartWithNoSecretAnywhere() {
    for (String url : REFUSED_USER_INFO) {
      JdbcTimeRangeQuery<Long> query = JdbcTimeRangeQuery.forTable(url, "t", "ts", rs -> 1L);
      Exception e = org.junit.Assert.assertThrows(Exception.class, query::open);
      String text = everything(e);
      for (String secret : new String[] {"Hunter2", "TAIL", "S3cretPw"}) {
        assertThat(url, text, not(containsString(secret)));
      }
      assertThat("the driver's own words stay: " + text, text, org.hamcrest.Matchers.anyOf(containsString("port"), containsString("host"), containsString("connection attempt")));
    }
  }

  @Test
  public void aUserInfoUrlTheDriverRefusesFailsTheSchemaLookupAtExpandWithNoSecret() {
    for (String url : REFUSED_USER_INFO) {
      org.apache.beam.sdk.Pipeline pipeline = org.apache.beam.sdk.Pipeline.create();
      Exception e =
          org.junit.Assert.assertThrows(
              Exception.class,
              () ->
                  pipeline.apply(
                      TimeRangeIO.<Row>read()
                          .withQuery(JdbcTimeRangeQuery.forTableAsRows(url, "t", "ts"))
                          .withStartTime(java.time.Instant.parse("2024-05-01T00:00:00Z"))));
      String text = everything(e);
      for (String secret : new String[] {"Hunter2", "TAIL", "S3cretPw"}) {
        assertThat(url, text, not(containsString(secret)));
      }
      assertThat(text, containsString("can't read the schema"));
    }
  }

  @Test
  public void aScrubbedExceptionKeepsItsClassSqlStateAndTransience() {
    JdbcConnection connection = JdbcConnection.of("jdbc:mariadb://u:S3cretPw@db/x");
    java.sql.SQLException cause =
        new java.sql.SQLTransientConnectionException("Incorrect port value : S3cretPw@db", "08000", 7);
    cause.addSuppressed(new IllegalStateException("also S3cretPw"));
    cause.setNextException(new java.sql.SQLException("next S3cretPw", "42000"));
    Exception thrown = new dev.timerangeio.TransientSourceException("lost: " + cause, cause);

    Exception scrubbed = JdbcSecrets.scrub(thrown, connection);

    assertThat(everything(scrubbed), not(containsString("S3cretPw")));
    assertEquals(dev.timerangeio.TransientSourceException.class, scrubbed.getClass());
    java.sql.SQLException copy = (java.sql.SQLException) scrubbed.getCause();
    assertEquals(java.sql.SQLTransientConnectionException.class, copy.getClass());
    assertEquals("08000", copy.getSQLState());
    assertEquals(7, copy.getErrorCode());
    assertEquals("42000", copy.getNextException().getSQLState());
    assertEquals(IllegalStateException.class, copy.getSuppressed()[0].getClass());
    assertEquals(true, dev.timerangeio.PipelineSupport.isRetried(scrubbed));
    // Nothing to hide: the same exception, untouched.
    Exception clean = new java.sql.SQLException("syntax error", "42601");
    org.junit.Assert.assertSame(clean, JdbcSecrets.scrub(clean, connection));
  }

  @Test
  public void aSinkWithUserInfoShowsNoPasswordInToStringOrDisplayData() {
    JdbcIdempotentSink<Row> sink = JdbcIdempotentSink.forRows("jdbc:mysql://u:s3cret@db/x", "t");
    assertThat(sink.toString(), not(containsString("s3cret")));
    TimeRangeIO.Write<Row> write = TimeRangeIO.<Row>write().to(sink);
    assertThat(DisplayData.from(write).toString(), not(containsString("s3cret")));
    JdbcTimeRangeQuery<Long> query =
        JdbcTimeRangeQuery.forTable("jdbc:mysql://u:s3cret@db/x", "t", "ts", rs -> 1L);
    assertThat(query.toString(), not(containsString("s3cret")));
    assertThat(
        DisplayData.from(TimeRangeIO.<Long>read().withQuery(query)).toString(),
        not(containsString("s3cret")));
  }

  @Test
  public void aPoolThatCantStartQuotesNoPasswordFromTheUrl() {
    JdbcTimeRangeQuery<Long> query =
        JdbcTimeRangeQuery.forTable("jdbc:nosuchdriver://u:s3cret@db/x", "t", "ts", rs -> 1L);
    Exception e = org.junit.Assert.assertThrows(Exception.class, query::open);
    for (Throwable t = e; t != null; t = t.getCause()) {
      assertThat(String.valueOf(t), not(containsString("s3cret")));
    }
  }
}
