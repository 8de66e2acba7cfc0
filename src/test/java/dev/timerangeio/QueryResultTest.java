package dev.timerangeio;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;

/** The public answer of a query: what a built result holds can't change afterwards. */
@RunWith(JUnit4.class)
public class QueryResultTest {
  @Test
  public void aBuiltResultDoesNotChangeWhenTheBuilderGoesOn() {
    TimeRangeQuery.Result.Builder<String> builder = TimeRangeQuery.Result.builder();
    builder.add("a").addUnmapped("{id=2}", new IllegalArgumentException("bad"));
    TimeRangeQuery.Result<String> first = builder.build();
    builder.add("b");
    assertEquals(List.of("a"), first.records());
    assertEquals(2, first.rows());
    assertEquals(List.of("b"), builder.build().records());
    assertThrows(UnsupportedOperationException.class, () -> first.records().add("c"));
    assertThrows(UnsupportedOperationException.class, () -> first.unmapped().clear());
  }

  @Test
  public void aLazyIterableIsConsumedWhenTheResultIsMade() {
    List<String> source = new ArrayList<>(List.of("a", "b"));
    Iterable<String> lazy = source::iterator;
    TimeRangeQuery.Result<String> result = TimeRangeQuery.Result.of(lazy);
    source.add("c");
    assertEquals(List.of("a", "b"), result.records());
  }

  /** A user's connector that maps rows itself: one good record, one row it can't map. */
  private static final class MappingSource extends ResultQuery<String> {
    @Override
    public Result<String> queryResult(TimeRange range, long limit) {
      return Result.<String>builder()
          .add("a")
          .addUnmapped("{id=2}", new IllegalArgumentException("no id 2"))
          .build();
    }
  }

  @Test
  public void aResultQueryReportsUnmappedRowsAndItsQueryRefusesToDropThem() throws Exception {
    TimeRange range = TimeRange.of(0, 10);
    MappingSource source = new MappingSource();
    assertEquals(1, source.queryResult(range, Long.MAX_VALUE).unmapped().size());
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> source.query(range));
    assertEquals("no id 2", e.getCause().getMessage());
    assertThrows(IllegalStateException.class, () -> source.query(range, 5));
  }
}
