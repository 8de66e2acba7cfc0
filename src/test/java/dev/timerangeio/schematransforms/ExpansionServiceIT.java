package dev.timerangeio.schematransforms;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.hasItems;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import dev.timerangeio.loganalytics.LogAnalyticsTestService;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.beam.model.expansion.v1.ExpansionApi;
import org.apache.beam.model.expansion.v1.ExpansionServiceGrpc;
import org.apache.beam.model.pipeline.v1.ExternalTransforms;
import org.apache.beam.model.pipeline.v1.RunnerApi;
import org.apache.beam.sdk.coders.RowCoder;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.schemas.SchemaTranslation;
import org.apache.beam.sdk.util.CoderUtils;
import org.apache.beam.sdk.util.construction.BeamUrns;
import org.apache.beam.sdk.values.Row;
import org.apache.beam.vendor.grpc.v1p69p0.com.google.protobuf.ByteString;
import org.apache.beam.vendor.grpc.v1p69p0.io.grpc.ManagedChannel;
import org.apache.beam.vendor.grpc.v1p69p0.io.grpc.ManagedChannelBuilder;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * The expansion service started as its own process on 127.0.0.1 (the main of the {@code
 * -Pexpansion-service} jar, with the test classpath), spoken to as an SDK does: gRPC with Beam's
 * model protos. Discovery lists every provider with its configuration schema; each one expands from
 * a configuration row; the JDBC write expands in a request of its own, its progress input the
 * read's progress output from the first response.
 */
@RunWith(JUnit4.class)
public class ExpansionServiceIT {
  private static final String SCHEMA_TRANSFORM_URN =
      BeamUrns.getUrn(ExternalTransforms.ExpansionMethods.Enum.SCHEMA_TRANSFORM);
  private static final Pattern LISTENING = Pattern.compile("listening on 127\\.0\\.0\\.1:(\\d+)");

  @ClassRule public static final TemporaryFolder TMP = new TemporaryFolder();

  private static Process service;
  private static final List<String> LOG = new java.util.concurrent.CopyOnWriteArrayList<>();
  private static ManagedChannel channel;
  private static ExpansionServiceGrpc.ExpansionServiceBlockingStub stub;
  private static LogAnalyticsTestService logAnalytics;
  private static String h2;

  @BeforeClass
  public static void startTheService() throws Exception {
    h2 = "jdbc:h2:" + TMP.getRoot() + "/source";
    try (Connection c = DriverManager.getConnection(h2);
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE events (id BIGINT, ts TIMESTAMP(6), payload VARCHAR(100))");
    } // closed: the service's process opens the file next
    logAnalytics = new LogAnalyticsTestService(List.of(Instant.parse("2026-01-01T00:00:00Z")));
    String classpath =
        System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    service =
        new ProcessBuilder(
                System.getProperty("java.home") + "/bin/java",
                "-Xmx512m",
                "-cp",
                classpath,
                ExpansionServiceMain.class.getName(),
                "0")
            .redirectErrorStream(true)
            .start();
    CompletableFuture<Integer> port = new CompletableFuture<>();
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader lines =
                  new BufferedReader(
                      new InputStreamReader(service.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                  LOG.add(line);
                  Matcher m = LISTENING.matcher(line);
                  if (m.find()) {
                    port.complete(Integer.parseInt(m.group(1)));
                  }
                }
              } catch (java.io.IOException e) {
                port.completeExceptionally(e);
              }
              port.completeExceptionally(new IllegalStateException("the service ended: " + LOG));
            });
    reader.setDaemon(true);
    reader.start();
    int listening = port.get(120, TimeUnit.SECONDS);
    channel = ManagedChannelBuilder.forAddress("127.0.0.1", listening).usePlaintext().build();
    stub = ExpansionServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.MINUTES);
  }

  @AfterClass
  public static void stopTheService() throws Exception {
    if (channel != null) {
      channel.shutdownNow();
    }
    if (service != null) {
      service.destroy();
      if (!service.waitFor(30, TimeUnit.SECONDS)) {
        service.destroyForcibly().waitFor();
      }
    }
    if (logAnalytics != null) {
      logAnalytics.close();
    }
  }

  private static Map<String, ExpansionApi.SchemaTransformConfig> discover() {
    return stub.discoverSchemaTransform(
            ExpansionApi.DiscoverSchemaTransformRequest.getDefaultInstance())
        .getSchemaTransformConfigsMap();
  }

  private static ExpansionApi.ExpansionResponse expand(
      String identifier,
      Map<String, Object> config,
      RunnerApi.Components components,
      Map<String, String> inputs)
      throws Exception {
    return expand(identifier, config, components, inputs, List.of());
  }

  /**
   * The expansion request an SDK sends for {@code identifier} with {@code config}, in a pipeline
   * that holds {@code components} and has {@code requirements} (a splittable read's, say).
   */
  private static ExpansionApi.ExpansionResponse expand(
      String identifier,
      Map<String, Object> config,
      RunnerApi.Components components,
      Map<String, String> inputs,
      List<String> requirements)
      throws Exception {
    SchemaApiSchema proto = new SchemaApiSchema(discover().get(identifier).getConfigSchema());
    Schema schema = SchemaTranslation.schemaFromProto(proto.schema);
    Row.FieldValueBuilder row = Row.withSchema(schema).withFieldValues(Map.of());
    for (Map.Entry<String, Object> value : config.entrySet()) {
      row = row.withFieldValue(value.getKey(), value.getValue());
    }
    ExternalTransforms.SchemaTransformPayload payload =
        ExternalTransforms.SchemaTransformPayload.newBuilder()
            .setIdentifier(identifier)
            .setConfigurationSchema(proto.schema)
            .setConfigurationRow(
                ByteString.copyFrom(CoderUtils.encodeToByteArray(RowCoder.of(schema), row.build())))
            .build();
    RunnerApi.PTransform transform =
        RunnerApi.PTransform.newBuilder()
            .setUniqueName(identifier)
            .setSpec(
                RunnerApi.FunctionSpec.newBuilder()
                    .setUrn(SCHEMA_TRANSFORM_URN)
                    .setPayload(payload.toByteString()))
            .putAllInputs(inputs)
            .build();
    return stub.expand(
        ExpansionApi.ExpansionRequest.newBuilder()
            .setComponents(components)
            .setTransform(transform)
            .setNamespace("ns" + Math.abs(identifier.hashCode()) + inputs.size())
            .addAllRequirements(requirements)
            .build());
  }

  /** A holder, so the proto's class name appears once. */
  private static final class SchemaApiSchema {
    final org.apache.beam.model.pipeline.v1.SchemaApi.Schema schema;

    SchemaApiSchema(org.apache.beam.model.pipeline.v1.SchemaApi.Schema schema) {
      this.schema = schema;
    }
  }

  private static void assertExpanded(ExpansionApi.ExpansionResponse response, String... outputs) {
    assertEquals("", response.getError());
    RunnerApi.PTransform transform = response.getTransform();
    assertThat(transform.getOutputsMap().keySet(), hasItems(outputs));
    assertFalse(transform.getSubtransformsList().isEmpty());
    for (String output : transform.getOutputsMap().values()) {
      assertTrue(response.getComponents().containsPcollections(output));
    }
  }

  private static Map<String, Object> readTimes(Map<String, Object> config) {
    config.put("start_time", "2026-01-01T00:00:00Z");
    config.put("end_time", "2026-01-02T00:00:00Z");
    return config;
  }

  @Test
  public void discoveryListsEveryProviderWithItsConfigurationSchema() {
    Map<String, ExpansionApi.SchemaTransformConfig> configs = discover();
    Map<String, List<String>> expectedFields = new HashMap<>();
    expectedFields.put(
        JdbcReadSchemaTransformProvider.IDENTIFIER,
        List.of(
            "jdbc_url", "table", "time_column", "password", "progress_location", "error_handling"));
    expectedFields.put(
        HttpReadSchemaTransformProvider.IDENTIFIER,
        List.of("url", "schema", "time_field", "secret_headers", "start_time"));
    expectedFields.put(
        LogAnalyticsReadSchemaTransformProvider.IDENTIFIER,
        List.of("workspace_id", "kql", "client_secret", "end_time"));
    expectedFields.put(
        SplunkReadSchemaTransformProvider.IDENTIFIER,
        List.of("url", "search", "token", "partition_duration"));
    expectedFields.put(
        JdbcWriteSchemaTransformProvider.IDENTIFIER,
        List.of("jdbc_url", "table", "key_fields", "progress_location", "error_handling"));
    for (Map.Entry<String, List<String>> expected : expectedFields.entrySet()) {
      assertTrue(
          expected.getKey() + " in " + configs.keySet(), configs.containsKey(expected.getKey()));
      Schema schema =
          SchemaTranslation.schemaFromProto(configs.get(expected.getKey()).getConfigSchema());
      assertThat(schema.getFieldNames(), hasItems(expected.getValue().toArray(new String[0])));
    }
    assertThat(
        configs.get(JdbcWriteSchemaTransformProvider.IDENTIFIER).getInputPcollectionNamesList(),
        hasItems("input", "progress"));
  }

  @Test
  public void aJdbcReadAndWriteExpandInSeparateRequestsJoinedByTheProgressEdge() throws Exception {
    String location = TMP.getRoot() + "/progress.json";
    Map<String, Object> read = new HashMap<>();
    read.put("jdbc_url", h2);
    read.put("table", "events");
    read.put("time_column", "ts");
    read.put("progress_location", location);
    ExpansionApi.ExpansionResponse readResponse =
        expand(
            JdbcReadSchemaTransformProvider.IDENTIFIER,
            readTimes(read),
            RunnerApi.Components.getDefaultInstance(),
            Map.of());
    assertExpanded(readResponse, "output", "progress");
    // The read's rows carry the table's schema, learnt from H2 by the service's process.
    String records = readResponse.getTransform().getOutputsOrThrow("output");
    RunnerApi.Coder coder =
        readResponse
            .getComponents()
            .getCodersOrThrow(
                readResponse.getComponents().getPcollectionsOrThrow(records).getCoderId());
    assertEquals("beam:coder:row:v1", coder.getSpec().getUrn());
    assertEquals(
        List.of("id", "ts", "payload"),
        SchemaTranslation.schemaFromProto(
                org.apache.beam.model.pipeline.v1.SchemaApi.Schema.parseFrom(
                    coder.getSpec().getPayload()))
            .getFieldNames());

    // The second request: the components and requirements an SDK holds after the first, the
    // read's outputs as the write's inputs. The service keeps nothing between the two.
    RunnerApi.Components pipeline =
        readResponse.getComponents().toBuilder()
            .putTransforms(readResponse.getTransform().getUniqueName(), readResponse.getTransform())
            .build();
    Map<String, Object> write = new HashMap<>();
    write.put("jdbc_url", h2);
    write.put("table", "events_copy");
    write.put("progress_location", location);
    Map<String, String> inputs = new HashMap<>();
    inputs.put("input", records);
    inputs.put("progress", readResponse.getTransform().getOutputsOrThrow("progress"));
    ExpansionApi.ExpansionResponse writeResponse =
        expand(
            JdbcWriteSchemaTransformProvider.IDENTIFIER,
            write,
            pipeline,
            inputs,
            readResponse.getRequirementsList());
    assertExpanded(writeResponse, "written");
    assertEquals(inputs, writeResponse.getTransform().getInputsMap());

    // Without the progress edge the write can't commit the read's position: refused, named.
    ExpansionApi.ExpansionResponse unpaired =
        expand(
            JdbcWriteSchemaTransformProvider.IDENTIFIER,
            write,
            pipeline,
            Map.of("input", records),
            readResponse.getRequirementsList());
    assertThat(unpaired.getError(), containsString("needs the 'progress' output of the read"));
  }

  @Test
  public void theHttpLogAnalyticsAndSplunkReadsExpandFromTheirConfigurationRows() throws Exception {
    Map<String, Object> http = new HashMap<>();
    http.put("url", "http://127.0.0.1:9/events?since={from}&until={to}");
    http.put(
        "schema",
        "{\"properties\":{\"id\":{\"type\":\"integer\"},\"time\":{\"type\":\"string\"}}}");
    http.put("time_field", "time");
    http.put("secret_headers", Map.of("Authorization", "env:API_TOKEN"));
    assertExpanded(
        expand(
            HttpReadSchemaTransformProvider.IDENTIFIER,
            readTimes(http),
            RunnerApi.Components.getDefaultInstance(),
            Map.of()),
        "output");

    Map<String, Object> la = new HashMap<>();
    la.put("workspace_id", LogAnalyticsTestService.WORKSPACE);
    la.put("kql", "Events");
    la.put("endpoint", logAnalytics.url());
    la.put("authority_host", logAnalytics.url());
    la.put("tenant_id", LogAnalyticsTestService.TENANT);
    la.put("client_id", LogAnalyticsTestService.CLIENT);
    la.put("client_secret", LogAnalyticsTestService.SECRET);
    ExpansionApi.ExpansionResponse laResponse =
        expand(
            LogAnalyticsReadSchemaTransformProvider.IDENTIFIER,
            readTimes(la),
            RunnerApi.Components.getDefaultInstance(),
            Map.of());
    assertExpanded(laResponse, "output");

    Map<String, Object> splunk = new HashMap<>();
    splunk.put("url", "https://127.0.0.1:8089");
    splunk.put("search", "index=main");
    splunk.put("token", "file:/run/secrets/splunk");
    assertExpanded(
        expand(
            SplunkReadSchemaTransformProvider.IDENTIFIER,
            readTimes(splunk),
            RunnerApi.Components.getDefaultInstance(),
            Map.of()),
        "output");

    // A bad setting comes back as the builder's own message.
    splunk.put("auth_scheme", "Basic");
    assertThat(
        expand(
                SplunkReadSchemaTransformProvider.IDENTIFIER,
                splunk,
                RunnerApi.Components.getDefaultInstance(),
                Map.of())
            .getError(),
        containsString("withAuthScheme(scheme): \"Splunk\" or \"Bearer\", got Basic"));
  }
}
