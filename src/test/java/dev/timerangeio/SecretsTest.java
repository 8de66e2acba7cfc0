package dev.timerangeio;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.beam.sdk.util.Secret;
import org.apache.beam.sdk.util.SerializableUtils;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** Secrets resolved on the worker: only their reference is serialized or shown. */
@RunWith(JUnit4.class)
public class SecretsTest {
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  @Test
  public void aFileSecretIsReadWhenResolvedWithoutItsTrailingLineBreak() throws Exception {
    Path file = tmp.newFile().toPath();
    Files.write(file, "hunter2\r\n".getBytes(StandardCharsets.UTF_8));
    Secret secret = SerializableUtils.clone(Secrets.fromFile(file.toString()));

    assertEquals("hunter2", Secrets.resolve(secret));
    Files.write(file, "rotated\n".getBytes(StandardCharsets.UTF_8));
    assertEquals("a rotated file is read anew", "rotated", Secrets.resolve(secret));
    assertThat(secret.toString(), containsString(file.toString()));
    assertThat(secret.toString(), not(containsString("rotated")));
  }

  @Test
  public void aMissingOrEmptyFileFailsNamingThePath() throws Exception {
    Path empty = tmp.newFile().toPath();
    Exception e = assertThrows(IllegalStateException.class, () -> Secrets.resolve(Secrets.fromFile(empty.toString())));
    assertThat(e.getMessage(), containsString(empty.toString()));
    String missing = tmp.getRoot() + "/none";
    e = assertThrows(RuntimeException.class, () -> Secrets.resolve(Secrets.fromFile(missing)));
    assertThat(e.getMessage(), containsString(missing));
  }

  @Test
  public void anEnvironmentSecretIsResolvedOnTheWorkerNamingAMissingVariable() {
    String name = "TIMERANGEIO_TEST_NO_SUCH_VARIABLE";
    Secret secret = Secrets.fromEnvironment(name);
    Exception e = assertThrows(IllegalStateException.class, () -> Secrets.resolve(secret));
    assertThat(e.getMessage(), containsString(name));
    String path = System.getenv("PATH");
    assertEquals(path, Secrets.resolve(Secrets.fromEnvironment("PATH")));
    assertThat(Secrets.fromEnvironment("PATH").toString(), not(containsString(path)));
  }

  @Test
  public void aSecretByValueHidesItInItsText() {
    assertThat(Secrets.ofValue("hunter2").toString(), not(containsString("hunter2")));
    assertEquals("hunter2", Secrets.resolve(Secrets.ofValue("hunter2")));
  }

  @Test
  public void emptyReferencesAreRejectedNamingTheMethod() {
    assertThat(
        assertThrows(IllegalArgumentException.class, () -> Secrets.fromEnvironment("")).getMessage(),
        containsString("Secrets.fromEnvironment(name)"));
    assertThat(
        assertThrows(IllegalArgumentException.class, () -> Secrets.fromFile(null)).getMessage(),
        containsString("Secrets.fromFile(path)"));
  }
}
