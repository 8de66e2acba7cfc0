package dev.timerangeio;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import org.apache.beam.sdk.util.Secret;

/**
 * Beam {@link Secret}s that are resolved on the worker, when a connector opens, so that the
 * secret itself is never serialized into the job graph a Flink or Dataflow UI shows: only the
 * reference (a variable name, a file path) travels. Every connector setting that takes a secret
 * (a password, a client secret, a token, a secret header) also takes a {@link Secret}; Beam's
 * own ({@code GcpSecret} for Google Secret Manager, {@code Secret.parseSecretOption}) work too.
 *
 * <p>{@code toString()} names the reference, never the value.
 */
public final class Secrets {
  private Secrets() {}

  /**
   * The value of the environment variable {@code name} on the worker. Resolving it fails, naming
   * the variable, when the worker has no such variable or it is empty.
   */
  public static Secret fromEnvironment(String name) {
    if (name == null || name.isEmpty()) {
      throw new IllegalArgumentException(
          "Secrets.fromEnvironment(name): name must be a non-empty environment variable name,"
              + " got "
              + (name == null ? "null" : "\"\""));
    }
    return new EnvironmentSecret(name);
  }

  /**
   * The content of the file at {@code path} on the worker (UTF-8, one trailing line break
   * dropped), as a mounted Kubernetes secret or a credentials file holds it. Resolving it fails,
   * naming the path, when the file can't be read or is empty.
   */
  public static Secret fromFile(String path) {
    if (path == null || path.isEmpty()) {
      throw new IllegalArgumentException(
          "Secrets.fromFile(path): path must be a non-empty file path, got "
              + (path == null ? "null" : "\"\""));
    }
    return new FileSecret(path);
  }

  /**
   * A secret given by value. It is serialized with the pipeline (so a runner's UI that shows the
   * serialized graph could reveal it): prefer {@link #fromEnvironment} or {@link #fromFile} on a
   * cluster. Its {@code toString()} still hides it.
   */
  public static Secret ofValue(String value) {
    if (value == null) {
      throw new IllegalArgumentException("Secrets.ofValue(value): value must not be null");
    }
    return new ValueSecret(value);
  }

  /** The secret as text (UTF-8); connectors call this on the worker. */
  public static String resolve(Secret secret) {
    byte[] bytes = secret.getSecretBytes();
    if (bytes == null) {
      throw new IllegalStateException(secret + " resolved to nothing");
    }
    return new String(bytes, StandardCharsets.UTF_8);
  }

  private static final class EnvironmentSecret implements Secret {
    private static final long serialVersionUID = 1L;
    private final String name;

    EnvironmentSecret(String name) {
      this.name = name;
    }

    @Override
    public byte[] getSecretBytes() {
      String value = System.getenv(name);
      if (value == null || value.isEmpty()) {
        throw new IllegalStateException(
            "Secrets.fromEnvironment(\""
                + name
                + "\"): the worker has no environment variable "
                + name
                + (value == null ? "" : " with a value")
                + "; set it on every worker (the secret is resolved there, not where the"
                + " pipeline is built)");
      }
      return value.getBytes(StandardCharsets.UTF_8);
    }

    // Equal references are one secret: connectors with equal settings share a pool.
    @Override
    public boolean equals(Object other) {
      return other instanceof EnvironmentSecret && ((EnvironmentSecret) other).name.equals(name);
    }

    @Override
    public int hashCode() {
      return name.hashCode();
    }

    @Override
    public String toString() {
      return "Secret(environment variable " + name + ")";
    }
  }

  private static final class FileSecret implements Secret {
    private static final long serialVersionUID = 1L;
    private final String path;

    FileSecret(String path) {
      this.path = path;
    }

    @Override
    public byte[] getSecretBytes() {
      String value;
      try {
        value = new String(Files.readAllBytes(Paths.get(path)), StandardCharsets.UTF_8);
      } catch (IOException e) {
        // The exception names the path only; a file's content never reaches a message.
        throw new UncheckedIOException(
            "Secrets.fromFile(\"" + path + "\"): can't read the file on this worker: " + e, e);
      }
      if (value.endsWith("\r\n")) {
        value = value.substring(0, value.length() - 2);
      } else if (value.endsWith("\n")) {
        value = value.substring(0, value.length() - 1);
      }
      if (value.isEmpty()) {
        throw new IllegalStateException("Secrets.fromFile(\"" + path + "\"): the file is empty");
      }
      return value.getBytes(StandardCharsets.UTF_8);
    }

    // Equal references are one secret: connectors with equal settings share a pool.
    @Override
    public boolean equals(Object other) {
      return other instanceof FileSecret && ((FileSecret) other).path.equals(path);
    }

    @Override
    public int hashCode() {
      return path.hashCode();
    }

    @Override
    public String toString() {
      return "Secret(file " + path + ")";
    }
  }

  private static final class ValueSecret implements Secret {
    private static final long serialVersionUID = 1L;
    private final String value;

    ValueSecret(String value) {
      this.value = value;
    }

    @Override
    public byte[] getSecretBytes() {
      return value.getBytes(StandardCharsets.UTF_8);
    }

    // Equal references are one secret: connectors with equal settings share a pool.
    @Override
    public boolean equals(Object other) {
      return other instanceof ValueSecret && ((ValueSecret) other).value.equals(value);
    }

    @Override
    public int hashCode() {
      return value.hashCode();
    }

    @Override
    public String toString() {
      return "Secret(value ***)";
    }
  }
}
