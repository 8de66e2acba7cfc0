package dev.timerangeio.samples.dataflow;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.hasItem;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.util.ArrayList;
import java.util.List;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * Writes the Dataflow job specs of a streaming and a batch sample offline (as {@code
 * runners/dataflow/template.sh} does) and finds TimeRangeIO's splittable read and stateful write
 * among their steps. Needs the PostgreSQL server on 127.0.0.1 (the samples read its schema).
 */
@RunWith(JUnit4.class)
public class JobSpecTest {
  private static final String PG = "--jdbcUrl=jdbc:postgresql://127.0.0.1:5432/test?user=postgres";

  private static JsonNode spec(String sample, String... options) throws Exception {
    File file = new File("target/job-specs/" + sample + ".json");
    file.getParentFile().mkdirs();
    file.delete();
    List<String> args = new ArrayList<>(List.of(sample, "--templateLocation=" + file.getAbsolutePath()));
    args.addAll(List.of(options));
    JobSpec.main(args.toArray(new String[0]));
    assertTrue("no spec written to " + file, file.length() > 0);
    return new ObjectMapper().readTree(file);
  }

  /** "kind name user_fn [keyed]" of every step. */
  private static List<String> steps(JsonNode spec) {
    List<String> steps = new ArrayList<>();
    for (JsonNode step : spec.get("steps")) {
      JsonNode p = step.get("properties");
      steps.add(
          step.get("kind").asText()
              + " "
              + (p.path("user_name").isTextual()
                  ? p.path("user_name").asText()
                  : p.path("user_name").path("value").asText())
              + " "
              + p.path("user_fn").path("value").asText()
              + ("true".equals(p.path("uses_keyed_state").path("value").asText()) ? " keyed" : ""));
    }
    return steps;
  }

  @Test
  public void aStreamingCopysSpecHoldsTheSplittableReadAndTheKeyedStateOfTheWrite()
      throws Exception {
    List<String> steps =
        steps(spec("LiveCopy", PG, "--progressLocation=gs://timerangeio-offline/progress.json"));
    assertThat(
        steps,
        hasItem(
            "SplittableProcessKeyed FollowSource/ReadTimeRanges/ProcessKeyedElements"
                + " dev.timerangeio.ReadFn$Unbounded"));
    assertThat(steps, hasItem("ParallelDo CopyExactlyOnce/DropDuplicates dev.timerangeio.DedupFn keyed"));
    assertThat(
        steps, hasItem("ParallelDo CopyExactlyOnce/CommitProgress dev.timerangeio.ProgressFn keyed"));
  }

  @Test
  public void aBatchCopysSpecHoldsTheBoundedSplittableReadAndTheStatefulWrite() throws Exception {
    List<String> steps = steps(spec("PostgresCopy", PG));
    // The legacy batch worker runs a bounded splittable DoFn naively: each restriction of the
    // initial split whole, no dynamic splits (runner v2 splits; see runners/dataflow/README.md).
    assertThat(
        steps,
        hasItem(
            "ParallelDo ReadEvents/ReadTimeRanges/ProcessKeyedElements/NaiveProcess"
                + " org.apache.beam.sdk.util.construction.SplittableParDoNaiveBounded$NaiveProcessFn"));
    assertThat(
        String.join("\n", steps),
        steps.stream().anyMatch(s -> s.startsWith("ParallelDo CopyExactlyOnce/DropDuplicates/ParDo(BatchStateful)")));
  }
}
