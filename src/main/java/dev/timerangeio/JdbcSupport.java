package dev.timerangeio;

import static org.apache.beam.vendor.guava.v32_1_2_jre.com.google.common.base.Preconditions.checkArgument;

import java.util.regex.Pattern;

/** Checks and text shared by the JDBC source and sink; internal. */
final class JdbcSupport {
  private JdbcSupport() {}

  private static final Pattern IDENTIFIER =
      Pattern.compile("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?");

  static void checkUrl(String jdbcUrl) {
    checkArgument(
        jdbcUrl != null && jdbcUrl.startsWith("jdbc:"),
        "jdbcUrl must be a JDBC URL starting with \"jdbc:\", was %s",
        jdbcUrl == null ? null : redact(jdbcUrl));
  }

  /** Table and column names are never quoted or escaped, so only plain identifiers pass. */
  static void checkIdentifier(String option, String name) {
    checkArgument(
        name != null && IDENTIFIER.matcher(name).matches(),
        "%s: \"%s\" is not a plain SQL identifier (letters, digits, '_', optionally"
            + " schema.name); quoting and expressions are not accepted",
        option,
        name);
  }

  /** The URL without a password parameter, for messages, logs and display data. */
  static String redact(String jdbcUrl) {
    return jdbcUrl.replaceAll("(?i)(password=)[^&;]*", "$1***");
  }
}
