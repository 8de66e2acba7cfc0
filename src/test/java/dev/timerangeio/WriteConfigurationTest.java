package dev.timerangeio;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertThrows;

import dev.timerangeio.jdbc.JdbcIdempotentSink;
import java.time.Duration;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.Row;
import org.junit.Rule;
import org.junit.Test;
import org.junit.function.ThrowingRunnable;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** Bad write and sink configuration fails at construction or expand(), naming option and value. */
@RunWith(JUnit4.class)
public class WriteConfigurationTest {
  @Rule public final transient TestPipeline p = TestPipeline.create().enableAbandonedNodeEnforcement(false);

  private static void assertRejected(ThrowingRunnable call, String... fragments) {
    Exception e = assertThrows(Exception.class, call);
    for (String fragment : fragments) {
      assertThat(e.getMessage(), containsString(fragment));
    }
  }

  @Test
  public void writeOptionsNameTheOptionAndTheValue() {
    TimeRangeIO.Write<String> w = TimeRangeIO.write();
    assertRejected(() -> w.to(null), "to(sink)");
    assertRejected(() -> w.withKeyFn(null), "withKeyFn");
    assertRejected(() -> w.withSourceIdentity(""), "withSourceIdentity", "non-empty");
    assertRejected(() -> w.withDedupTtl(Duration.ZERO), "withDedupTtl", "PT0S");
    assertRejected(() -> w.withBatchSize(0), "withBatchSize", "was 0");
    assertRejected(() -> w.withMaxBatchDelay(Duration.ofSeconds(-1)), "withMaxBatchDelay", "PT-1S");
    assertRejected(() -> w.withMaxRetries(-1), "withMaxRetries", "was -1");
    assertRejected(() -> w.withInitialBackoff(Duration.ofNanos(5)), "withInitialBackoff", "PT0.000000005S");
    assertRejected(() -> w.withProgressLocation("gs://bucket/*.json"), "withProgressLocation", "wildcards", "gs://bucket/*.json");
    assertRejected(() -> w.withProgressLocation("/var/lib/job/"), "withProgressLocation", "not a directory");
    assertRejected(
        () -> TimeRangeIO.<String>read().withProgressLocation(" "), "withProgressLocation");
  }

  @Test
  public void aWriteWithoutASinkFailsInExpandNamingTheMethodToCall() {
    assertRejected(
        () -> p.apply(Create.of("a")).apply(TimeRangeIO.<String>write()),
        "requires a sink",
        "to(IdempotentSink)");
  }

  @Test
  public void passwordsStayOutOfDisplayDataAndMessages() {
    JdbcIdempotentSink<Row> sink =
        JdbcIdempotentSink.forRows("jdbc:postgresql://127.0.0.1/test?password=s3cret", "t")
            .withPassword("hunter2");
    DisplayData data = DisplayData.from(TimeRangeIO.<Row>write().to(sink));
    assertThat(data.toString(), not(containsString("s3cret")));
    assertThat(data.toString(), not(containsString("hunter2")));
    assertThat(data.toString(), containsString("password=***"));
  }
}
