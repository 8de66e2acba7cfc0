package dev.timerangeio;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.junit.Test;
import org.junit.function.ThrowingRunnable;

/**
 * A parameterized test of bad settings: each case must fail with an {@link
 * IllegalArgumentException} whose message holds every given fragment (the option, the value, what
 * is allowed) and never the secret {@code s3cret}. A subclass collects its cases with {@link
 * Cases#add} and returns them from its {@code @Parameters} method.
 */
public abstract class RejectedSettings {
  /** The cases of one test class. */
  public static final class Cases {
    private final List<Object[]> cases = new ArrayList<>();

    public Cases add(String name, ThrowingRunnable setting, String... fragments) {
      cases.add(new Object[] {name, setting, fragments});
      return this;
    }

    public List<Object[]> list() {
      return cases;
    }
  }

  private final ThrowingRunnable setting;
  private final String[] fragments;

  protected RejectedSettings(ThrowingRunnable setting, String[] fragments) {
    this.setting = setting;
    this.fragments = fragments;
  }

  @Test
  public void isRejectedWithAMessageNamingOptionAndValue() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, setting);
    for (String fragment : fragments) {
      assertThat(e.getMessage(), containsString(fragment));
    }
    assertThat(e.getMessage(), not(containsString("s3cret")));
  }
}
