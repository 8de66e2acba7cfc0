package dev.timerangeio.http;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.net.http.HttpHeaders;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** Which statuses a retry may mend, and how long an answer asks to wait. */
@RunWith(JUnit4.class)
public class ApiHttpTest {
  @Test
  public void serverErrorsAreTransientButNotImplementedIsNot() {
    for (int status : new int[] {408, 429, 500, 502, 503, 504, 520, 527}) {
      assertTrue(String.valueOf(status), ApiHttp.isTransient(status));
    }
    for (int status : new int[] {200, 400, 401, 403, 404, 413, 501, 505, 519, 528}) {
      assertFalse(String.valueOf(status), ApiHttp.isTransient(status));
    }
  }

  private static HttpHeaders retryAfter(String value) {
    return HttpHeaders.of(Map.of("Retry-After", List.of(value)), (a, b) -> true);
  }

  @Test
  public void retryAfterIsReadAsSecondsOrADateAndAbsurdValuesStayAbsurd() {
    assertEquals(Duration.ofSeconds(7), ApiHttp.retryAfter(retryAfter("7")));
    assertEquals(Duration.ZERO, ApiHttp.retryAfter(retryAfter("Wed, 21 Oct 2015 07:28:00 GMT")));
    assertTrue(ApiHttp.retryAfter(retryAfter("99999999999999999999")).toDays() > 1_000_000);
    assertNull(ApiHttp.retryAfter(retryAfter("soon")));
    assertNull(ApiHttp.retryAfter(HttpHeaders.of(Map.of(), (a, b) -> true)));
  }
}
