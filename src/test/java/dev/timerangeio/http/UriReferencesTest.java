package dev.timerangeio.http;

import static org.junit.Assert.assertEquals;

import java.net.URI;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/**
 * {@link UriReferences} against the examples of RFC 3986 section 5.4, where {@link URI#resolve}
 * (RFC 2396) differs; fragments are dropped, since they are never sent.
 */
@RunWith(JUnit4.class)
public class UriReferencesTest {
  private static final URI BASE = URI.create("http://a/b/c/d;p?q");

  private static void resolves(String reference, String expected) {
    assertEquals(reference, expected, UriReferences.resolve(BASE, reference).toString());
  }

  @Test
  public void aQueryOnlyReferenceKeepsTheWholeBasePath() {
    resolves("?y", "http://a/b/c/d;p?y");
    assertEquals(
        "http://api/v1/events?cursor=c2",
        UriReferences.resolve(URI.create("http://api/v1/events?since=1&until=2"), "?cursor=c2")
            .toString());
  }

  @Test
  public void anEmptyOrFragmentOnlyReferenceIsTheBaseItself() {
    resolves("", "http://a/b/c/d;p?q");
    resolves("#s", "http://a/b/c/d;p?q");
  }

  @Test
  public void theNormalExamplesOfRfc3986() {
    resolves("g:h", "g:h");
    resolves("g", "http://a/b/c/g");
    resolves("./g", "http://a/b/c/g");
    resolves("g/", "http://a/b/c/g/");
    resolves("/g", "http://a/g");
    resolves("//g", "http://g");
    resolves("g?y", "http://a/b/c/g?y");
    resolves("g#s", "http://a/b/c/g");
    resolves("g?y#s", "http://a/b/c/g?y");
    resolves(";x", "http://a/b/c/;x");
    resolves("g;x", "http://a/b/c/g;x");
    resolves("g;x?y#s", "http://a/b/c/g;x?y");
    resolves(".", "http://a/b/c/");
    resolves("./", "http://a/b/c/");
    resolves("..", "http://a/b/");
    resolves("../", "http://a/b/");
    resolves("../g", "http://a/b/g");
    resolves("../..", "http://a/");
    resolves("../../", "http://a/");
    resolves("../../g", "http://a/g");
  }

  @Test
  public void theAbnormalExamplesOfRfc3986() {
    resolves("../../../g", "http://a/g");
    resolves("../../../../g", "http://a/g");
    resolves("/./g", "http://a/g");
    resolves("/../g", "http://a/g");
    resolves("g.", "http://a/b/c/g.");
    resolves(".g", "http://a/b/c/.g");
    resolves("g..", "http://a/b/c/g..");
    resolves("..g", "http://a/b/c/..g");
    resolves("./../g", "http://a/b/g");
    resolves("./g/.", "http://a/b/c/g/");
    resolves("g/./h", "http://a/b/c/g/h");
    resolves("g/../h", "http://a/b/c/h");
    resolves("g;x=1/./y", "http://a/b/c/g;x=1/y");
    resolves("g;x=1/../y", "http://a/b/c/y");
    resolves("g?y/./x", "http://a/b/c/g?y/./x");
    resolves("g?y/../x", "http://a/b/c/g?y/../x");
    resolves("g#s/./x", "http://a/b/c/g");
    resolves("http:g", "http:g");
  }

  @Test
  public void aRelativePathOnAHostWithoutAPathStartsAtTheRoot() {
    assertEquals("http://a/g", UriReferences.resolve(URI.create("http://a"), "g").toString());
    assertEquals("http://a?q", UriReferences.resolve(URI.create("http://a"), "?q").toString());
  }
}
