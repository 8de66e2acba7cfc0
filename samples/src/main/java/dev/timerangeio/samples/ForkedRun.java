package dev.timerangeio.samples;

import java.io.File;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs a sample in a JVM of its own, with the classpath Maven's {@code exec:java} gave this one:
 * what the {@code flink-runner} profile runs instead of the sample. Flink's embedded cluster
 * rebuilds the job's class loader from the staged jars with Flink's classes loaded parent-first,
 * and inside {@code exec:java} the parent is Maven's launcher, which has none of them ({@code
 * ClassNotFoundException: org.apache.flink.api.common.ExecutionConfig}). In a plain JVM the
 * application class loader has them. The sample is named by the system property {@code
 * timerangeio.sample}; its exit code is this program's.
 */
public final class ForkedRun {
  private ForkedRun() {}

  public static void main(String[] args) throws Exception {
    String sample = System.getProperty("timerangeio.sample");
    if (sample == null || sample.isBlank()) {
      throw new IllegalArgumentException("set -Dtimerangeio.sample to the sample's main class");
    }
    List<String> command = new ArrayList<>();
    command.add(Paths.get(System.getProperty("java.home"), "bin", "java").toString());
    // A worker out of memory must fail, not spin in garbage collection for minutes.
    command.add("-XX:+ExitOnOutOfMemoryError");
    command.add("-cp");
    command.add(String.join(File.pathSeparator, classpath()));
    command.add(sample);
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).inheritIO().start();
    // If Maven ends first (Ctrl-C), the sample ends with it.
    Runtime.getRuntime().addShutdownHook(new Thread(process::destroy));
    int exit = process.waitFor();
    if (exit != 0) {
      System.exit(exit);
    }
  }

  private static List<String> classpath() throws URISyntaxException {
    List<String> entries = new ArrayList<>();
    for (ClassLoader loader = Thread.currentThread().getContextClassLoader();
        loader != null;
        loader = loader.getParent()) {
      if (loader instanceof URLClassLoader) {
        for (URL url : ((URLClassLoader) loader).getURLs()) {
          entries.add(Paths.get(url.toURI()).toString());
        }
      }
    }
    return entries;
  }
}
