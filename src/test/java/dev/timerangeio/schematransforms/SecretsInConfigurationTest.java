package dev.timerangeio.schematransforms;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.runners.TransformHierarchy;
import org.apache.beam.sdk.transforms.display.DisplayData;
import org.apache.beam.sdk.values.PCollectionRowTuple;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * Secrets given in a configuration row reach neither display data nor messages, and bad values fail
 * with the builders' own messages, naming the field.
 */
@RunWith(JUnit4.class)
public class SecretsInConfigurationTest {
  private static final String PASSWORD = "pa55-w0rd-in-config";
  private static final String TOKEN = "spl-t0ken-in-config";

  /** Every display data item of every transform of {@code pipeline}, as text. */
  private static String displayData(Pipeline pipeline) {
    List<String> items = new ArrayList<>();
    pipeline.traverseTopologically(
        new Pipeline.PipelineVisitor.Defaults() {
          @Override
          public CompositeBehavior enterCompositeTransform(TransformHierarchy.Node node) {
            if (node.getTransform() != null) {
              items.add(DisplayData.from(node.getTransform()).toString());
            }
            return CompositeBehavior.ENTER_TRANSFORM;
          }

          @Override
          public void visitPrimitiveTransform(TransformHierarchy.Node node) {
            items.add(DisplayData.from(node.getTransform()).toString());
          }
        });
    return String.join("\n", items);
  }

  @Test
  public void passwordsAndTokensNeverReachDisplayData() {
    Pipeline pipeline = Pipeline.create();
    SplunkReadSchemaTransformProvider splunk = new SplunkReadSchemaTransformProvider();
    PCollectionRowTuple.empty(pipeline)
        .apply(
            "Splunk",
            splunk.from(
                ConfigRows.of(
                    splunk,
                    Map.of(
                        "url", "https://127.0.0.1:8089",
                        "search", "index=main",
                        "token", TOKEN,
                        "start_time", "2026-01-01T00:00:00Z"))));
    String shown = displayData(pipeline);
    assertThat(shown, containsString("index=main"));
    assertThat(shown, not(containsString(TOKEN)));
    assertThat(
        splunk
            .from(
                ConfigRows.of(
                    splunk, Map.of("url", "https://127.0.0.1:8089", "search", "x", "token", TOKEN)))
            .toString(),
        not(containsString(TOKEN)));
  }

  @Test
  public void aSecretReferenceBecomesTheSecretsOwnReference() {
    assertEquals(
        dev.timerangeio.Secrets.fromEnvironment("DB_PASSWORD").toString(),
        ReadSettings.secret("env:DB_PASSWORD").toString());
    assertEquals(
        dev.timerangeio.Secrets.fromFile("/run/secrets/db").toString(),
        ReadSettings.secret("file:/run/secrets/db").toString());
    assertThat(ReadSettings.secret("value:env:literal").toString(), not(containsString("literal")));
  }

  @Test
  public void badValuesFailWithTheBuildersMessagesNamingTheField() {
    JdbcReadSchemaTransformProvider jdbc = new JdbcReadSchemaTransformProvider();
    IllegalArgumentException badUrl =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                jdbc.from(
                    ConfigRows.of(
                        jdbc,
                        Map.of(
                            "jdbc_url",
                            "h2:mem:x",
                            "table",
                            "t",
                            "time_column",
                            "ts",
                            "password",
                            PASSWORD))));
    assertThat(badUrl.getMessage(), containsString("starting with \"jdbc:\""));
    assertThat(badUrl.getMessage(), not(containsString(PASSWORD)));
    IllegalArgumentException badDuration =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                jdbc.from(
                    ConfigRows.of(
                        jdbc,
                        Map.of(
                            "jdbc_url",
                            "jdbc:h2:mem:x",
                            "table",
                            "t",
                            "time_column",
                            "ts",
                            "query_timeout",
                            "5 minutes"))));
    assertEquals(
        "query_timeout: \"5 minutes\" is not an ISO-8601 duration; write e.g. PT1H, PT30S, P1D",
        badDuration.getMessage());
  }
}
