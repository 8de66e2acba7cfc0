package dev.timerangeio;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;

import java.util.List;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.transforms.errorhandling.BadRecord;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** How the read keys its dead letters. */
@RunWith(JUnit4.class)
public class DeadLettersTest {
  private static BadRecord bad(String record, String reason) throws Exception {
    return BadRecord.fromExceptionInformation(
        record, StringUtf8Coder.of(), new IllegalStateException(reason), reason);
  }

  @Test
  public void aBadRecordFoundAgainInOtherChunksGetsTheSameKey() throws Exception {
    List<org.apache.beam.sdk.values.KV<String, BadRecord>> keyed =
        DeadLetters.keyed(
            List.of(
                bad("row 7", "outside the range [T0, T0 + 1 min)"),
                bad("row 7", "outside the range [T0, T0 + 30 s) (part of chunk [T0, T0 + 1 min))"),
                bad("row 8", "outside the range [T0, T0 + 1 min)")));
    assertEquals(keyed.get(0).getKey(), keyed.get(1).getKey());
    assertNotEquals(keyed.get(0).getKey(), keyed.get(2).getKey());
  }
}
