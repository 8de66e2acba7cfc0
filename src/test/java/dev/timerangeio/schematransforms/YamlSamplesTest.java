package dev.timerangeio.schematransforms;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.hasItem;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.io.FileReader;
import java.io.Reader;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.apache.beam.sdk.schemas.transforms.SchemaTransformProvider;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;
import org.yaml.snakeyaml.Yaml;

/**
 * The Beam YAML samples name only registered providers (found through {@link ServiceLoader}, as the
 * expansion service finds them), configuration fields those providers have, and inputs and outputs
 * they declare: no Python SDK is on this machine to run them, so this is what keeps them true.
 */
@RunWith(JUnit4.class)
public class YamlSamplesTest {
  private static final List<String> IDENTIFIERS =
      List.of(
          JdbcReadSchemaTransformProvider.IDENTIFIER,
          HttpReadSchemaTransformProvider.IDENTIFIER,
          LogAnalyticsReadSchemaTransformProvider.IDENTIFIER,
          SplunkReadSchemaTransformProvider.IDENTIFIER,
          JdbcWriteSchemaTransformProvider.IDENTIFIER);

  private static Map<String, SchemaTransformProvider> registered() {
    Map<String, SchemaTransformProvider> providers = new HashMap<>();
    for (SchemaTransformProvider provider : ServiceLoader.load(SchemaTransformProvider.class)) {
      providers.put(provider.identifier(), provider);
    }
    return providers;
  }

  @Test
  public void everyProviderIsRegisteredForTheServiceLoader() {
    for (String identifier : IDENTIFIERS) {
      assertThat(registered().keySet(), hasItem(identifier));
    }
  }

  @Test
  @SuppressWarnings("unchecked")
  public void theSamplesUseTheProvidersFieldsInputsAndOutputs() throws Exception {
    Map<String, SchemaTransformProvider> registered = registered();
    File[] samples = new File("samples/yaml").listFiles((dir, name) -> name.endsWith(".yaml"));
    assertEquals(5, samples.length);
    for (File sample : samples) {
      Map<String, Object> yaml;
      try (Reader reader = new FileReader(sample)) {
        yaml = new Yaml().load(reader);
      }
      Map<String, SchemaTransformProvider> byType = new HashMap<>();
      for (Map<String, Object> provider : (List<Map<String, Object>>) yaml.get("providers")) {
        assertEquals("javaJar", provider.get("type"));
        assertTrue(
            sample + ": the jar -Pexpansion-service builds",
            ((Map<String, String>) provider.get("config"))
                .get("jar")
                .endsWith("target/timerange-io-0.1.0-SNAPSHOT-expansion-service.jar"));
        for (Map.Entry<String, String> type :
            ((Map<String, String>) provider.get("transforms")).entrySet()) {
          assertTrue(sample + ": " + type.getValue(), registered.containsKey(type.getValue()));
          byType.put(type.getKey(), registered.get(type.getValue()));
        }
      }
      if (!yaml.containsKey("pipeline")) {
        continue; // providers.yaml: the section alone
      }
      Map<String, SchemaTransformProvider> byName = new HashMap<>();
      List<Map<String, Object>> transforms =
          (List<Map<String, Object>>)
              ((Map<String, Object>) yaml.get("pipeline")).get("transforms");
      for (Map<String, Object> transform : transforms) {
        SchemaTransformProvider provider = byType.get((String) transform.get("type"));
        if (provider == null) {
          continue; // one of Beam's own
        }
        byName.put((String) transform.getOrDefault("name", transform.get("type")), provider);
        List<String> fields = provider.configurationSchema().getFieldNames();
        for (String key : ((Map<String, Object>) transform.get("config")).keySet()) {
          assertThat(sample + ": " + transform.get("type"), fields, hasItem(key));
        }
        if (transform.get("input") instanceof Map) {
          for (Map.Entry<String, String> input :
              ((Map<String, String>) transform.get("input")).entrySet()) {
            assertThat(
                sample + ": inputs", provider.inputCollectionNames(), hasItem(input.getKey()));
            String[] from = input.getValue().split("\\.");
            assertThat(
                sample + ": " + input.getValue(),
                byName.get(from[0]).outputCollectionNames(),
                hasItem(from[1]));
          }
        }
      }
    }
  }
}
