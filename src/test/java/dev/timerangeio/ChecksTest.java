package dev.timerangeio;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.hasItem;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.beam.vendor.guava.v32_1_2_jre.com.google.common.base.Strings;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * {@link Checks} words its messages as Guava's {@code Preconditions} did, and no file of the
 * library imports Beam's vendored Guava again (it is internal to Beam, not for Beam's users).
 */
@RunWith(JUnit4.class)
public class ChecksTest {

  @Test
  public void messagesAreFormattedAsGuavaFormatsThem() {
    Object[][] cases = {
      {"withX: must be at least 1, was %s", new Object[] {0}},
      {"%s: \"%s\" is not a valid header name", new Object[] {"withHeader", null}},
      {"no placeholder", new Object[] {}},
      {"100%% is %s and %d stays", new Object[] {"kept"}},
      {"one %s", new Object[] {1, 2, "three"}},
      {"%s and %s and %s", new Object[] {"only one"}},
    };
    for (Object[] c : cases) {
      String template = (String) c[0];
      Object[] args = (Object[]) c[1];
      assertEquals(template, Strings.lenientFormat(template, args), Checks.format(template, args));
    }
  }

  @Test
  public void failedChecksThrowTheirTypeWithTheMessage() {
    IllegalArgumentException argument =
        assertThrows(
            IllegalArgumentException.class,
            () -> Checks.checkArgument(false, "withFoo: must be positive, was %s", -1));
    assertEquals("withFoo: must be positive, was -1", argument.getMessage());
    IllegalStateException state =
        assertThrows(IllegalStateException.class, () -> Checks.checkState(false, "no %s", "x"));
    assertEquals("no x", state.getMessage());
    Checks.checkArgument(true, "not formatted %s", new Object() {
      @Override
      public String toString() {
        throw new AssertionError("a passing check formats nothing");
      }
    });
  }

  /** Run from the project directory, as Maven runs tests; other helpers' new files count too. */
  @Test
  public void noMainSourceImportsBeamsVendoredGuava() throws IOException {
    Path main = Paths.get("src", "main", "java");
    List<Path> sources;
    try (Stream<Path> files = Files.walk(main)) {
      sources = files.filter(p -> p.toString().endsWith(".java")).collect(Collectors.toList());
    }
    assertThat(
        "the scan must see the library's sources",
        sources,
        hasItem(main.resolve(Paths.get("dev", "timerangeio", "TimeRangeIO.java"))));
    List<String> offenders =
        sources.stream()
            .filter(ChecksTest::importsVendored)
            .map(Path::toString)
            .collect(Collectors.toList());
    assertThat(
        "files under src/main importing org.apache.beam.vendor (use plain Java or Checks)",
        offenders,
        empty());
  }

  private static boolean importsVendored(Path file) {
    try {
      return Files.readString(file).contains("org.apache.beam.vendor.");
    } catch (IOException e) {
      throw new IllegalStateException("can't read " + file, e);
    }
  }
}
