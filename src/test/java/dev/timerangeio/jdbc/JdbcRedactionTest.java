package dev.timerangeio.jdbc;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertEquals;

import dev.timerangeio.TimeRangeIO;
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
      {"jdbc:x://db;OAuthAccessToken=s3cret;SecretAccessKey=s3cret", "jdbc:x://db;OAuthAccessToken=***;SecretAccessKey=***"},
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
