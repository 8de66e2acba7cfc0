package dev.timerangeio.samples.dataflow;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.beam.sdk.Pipeline;

/**
 * Writes the Dataflow job spec of a sample without a network or a Google Cloud project: {@code
 * JobSpec SAMPLE --templateLocation=FILE [options...]} builds the sample's pipeline with its
 * {@code pipeline(String...)} method and runs it on the DataflowRunner, which, given a template
 * location, writes the spec there and submits nothing. Options that make this offline are added
 * unless given: a placeholder project, region and bucket, and a no-op path validator, credential
 * factory and stager ({@link NoStager}). {@code runners/dataflow/template.sh} runs it.
 */
public final class JobSpec {
  private JobSpec() {}

  /** The options a spec is written with offline; any of them given on the command line wins. */
  static final List<String> OFFLINE =
      List.of(
          "--runner=DataflowRunner",
          "--project=timerangeio-offline",
          "--region=us-central1",
          "--gcpTempLocation=gs://timerangeio-offline/tmp",
          "--stagingLocation=gs://timerangeio-offline/staging",
          "--pathValidatorClass=org.apache.beam.sdk.extensions.gcp.storage.NoopPathValidator",
          "--credentialFactoryClass=org.apache.beam.sdk.extensions.gcp.auth.NoopCredentialFactory",
          "--stagerClass=" + NoStager.class.getName());

  public static void main(String[] args) throws Exception {
    if (args.length == 0 || Arrays.stream(args).noneMatch(a -> a.startsWith("--templateLocation="))) {
      throw new IllegalArgumentException(
          "usage: JobSpec SAMPLE --templateLocation=FILE [options...]");
    }
    String sample = args[0].contains(".") ? args[0] : "dev.timerangeio.samples." + args[0];
    List<String> options = new ArrayList<>();
    for (String offline : OFFLINE) {
      String name = offline.substring(0, offline.indexOf('=') + 1);
      if (Arrays.stream(args).noneMatch(a -> a.startsWith(name))) {
        options.add(offline);
      }
    }
    options.addAll(Arrays.asList(args).subList(1, args.length));
    Method build = Class.forName(sample).getMethod("pipeline", String[].class);
    Pipeline pipeline = (Pipeline) build.invoke(null, (Object) options.toArray(new String[0]));
    pipeline.run();
  }
}
