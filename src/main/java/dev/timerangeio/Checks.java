package dev.timerangeio;

import org.apache.beam.sdk.annotations.Internal;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Argument and state checks for this library and its connectors, in plain Java; internal, not part
 * of the API.
 *
 * <p>They replace Beam's vendored Guava, which is internal to Beam and not for its users. The
 * messages are formatted as Guava's {@code Preconditions} formats them: each {@code %s} takes the
 * next argument, and arguments left over are appended in square brackets, so every message reads
 * as it did.
 */
@Internal
public final class Checks {
  private Checks() {}

  /** Throws {@link IllegalArgumentException} with the formatted message unless {@code ok}. */
  public static void checkArgument(
      boolean ok, String template, @Nullable Object... arguments) {
    if (!ok) {
      throw new IllegalArgumentException(format(template, arguments));
    }
  }

  /** Throws {@link IllegalStateException} with the formatted message unless {@code ok}. */
  public static void checkState(boolean ok, String template, @Nullable Object... arguments) {
    if (!ok) {
      throw new IllegalStateException(format(template, arguments));
    }
  }

  /** Guava's lenient format: {@code %s} placeholders only; extra arguments in brackets. */
  static String format(String template, @Nullable Object... arguments) {
    Object[] args = arguments == null ? new Object[] {null} : arguments;
    StringBuilder message = new StringBuilder(template.length() + 16 * args.length);
    int start = 0;
    int used = 0;
    while (used < args.length) {
      int placeholder = template.indexOf("%s", start);
      if (placeholder == -1) {
        break;
      }
      message.append(template, start, placeholder).append(args[used++]);
      start = placeholder + 2;
    }
    message.append(template, start, template.length());
    if (used < args.length) {
      message.append(" [").append(args[used++]);
      while (used < args.length) {
        message.append(", ").append(args[used++]);
      }
      message.append(']');
    }
    return message.toString();
  }
}
