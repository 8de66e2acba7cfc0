package dev.timerangeio;

import org.apache.beam.sdk.coders.BooleanCoder;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.state.StateSpec;
import org.apache.beam.sdk.state.StateSpecs;
import org.apache.beam.sdk.state.ValueState;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.TupleTag;
import org.checkerframework.checker.nullness.qual.Nullable;
import org.joda.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The re-check of a read with {@code withLookback}: per chunk, joins the first read's summary with
 * the word that the chunk is {@code ingestionLag + lookback} old (in either order: after a
 * relaunch both readers start at the same stored offset, and either may be ahead), then emits what
 * the source returns now that the first read did not; internal.
 *
 * <p>A source that can count is asked first: when its count equals what the first read returned,
 * nothing is re-read. Otherwise the chunk is read again ({@link ChunkReader#reread}: bisection,
 * paging, retries, the query gate and bad records as in the first read) and, per fingerprint, the
 * copies beyond the first read's count are emitted ({@code lateRecords}). A count that still
 * disagrees, or first-read records the source no longer returns, make the chunk incomplete
 * ({@code incompleteChunks}, logged). Then, with a progress location, the chunk's signal: {@code
 * KV(0, chunk)} at the latest timestamp either read emitted for it, after its dead letters are
 * stored.
 *
 * <p>Nothing it emits is late: every input is timestamped at its chunk's start minus the
 * watermark delay, which neither reader's watermark passes before it has emitted that chunk, and
 * every output at or after it.
 */
class RecheckFn<T> extends DoFn<KV<Long, ChunkNote>, T> {
  private static final Logger LOG = LoggerFactory.getLogger(RecheckFn.class);

  private final TimeRangeIO.Read<T> spec;
  private final Coder<T> coder;
  private final String queryGateId;

  /** Records found late. */
  final TupleTag<T> recordsTag = new TupleTag<>();

  /** With a progress location: each chunk re-checked, as {@link ReadFn#progressTag}. */
  final TupleTag<KV<Integer, TimeRange>> progressTag = new TupleTag<KV<Integer, TimeRange>>() {};

  @StateId("firstRead")
  private final StateSpec<ValueState<ChunkNote>> firstReadSpec =
      StateSpecs.value(ChunkNote.Coder.of());

  @StateId("due")
  private final StateSpec<ValueState<Boolean>> dueSpec = StateSpecs.value(BooleanCoder.of());

  private final Counter lateRecords = counter(TimeRangeIOMetrics.LATE_RECORDS);
  private final Counter incompleteChunks = counter(TimeRangeIOMetrics.INCOMPLETE_CHUNKS);
  private final Counter sourceRetries = counter(TimeRangeIOMetrics.SOURCE_RETRIES);

  private transient @Nullable ChunkReading<T> reading;

  /** {@code queryGateId}: the first read's, so both count against one gate per worker. */
  RecheckFn(TimeRangeIO.Read<T> spec, Coder<T> coder, String queryGateId) {
    this.spec = spec;
    this.coder = coder;
    this.queryGateId = queryGateId;
  }

  private static Counter counter(String name) {
    return Metrics.counter(TimeRangeIOMetrics.NAMESPACE, name);
  }

  /** The source and chunk reader, opened on first use; as the read's, sharing its gate. */
  private ChunkReading<T> reading() {
    if (reading == null) {
      reading =
          ChunkReading.besideRead(
              spec, coder, queryGateId, sourceRetries, recordsTag, progressTag);
    }
    return reading;
  }

  private ChunkReader<T> reader() throws Exception {
    return reading().reader();
  }

  @Teardown
  public void teardown() throws Exception {
    if (reading != null) {
      try {
        reading.close();
      } finally {
        reading = null;
      }
    }
  }

  @ProcessElement
  public void process(
      @Element KV<Long, ChunkNote> element,
      @StateId("firstRead") ValueState<ChunkNote> firstReadState,
      @StateId("due") ValueState<Boolean> dueState,
      MultiOutputReceiver out)
      throws Exception {
    ChunkNote note = element.getValue();
    ChunkNote firstRead = note.isDue() ? firstReadState.read() : note;
    boolean due = note.isDue() || Boolean.TRUE.equals(dueState.read());
    if (firstRead == null || !due) {
      // The other half has not arrived yet: keep this one.
      if (note.isDue()) {
        dueState.write(true);
      } else {
        firstReadState.write(note);
      }
      return;
    }
    recheck(firstRead, out);
    firstReadState.clear();
    dueState.clear();
  }

  private void recheck(ChunkNote firstRead, MultiOutputReceiver out) throws Exception {
    TimeRange chunk = firstRead.chunk;
    long first = firstRead.firstRead.size();
    SourceCalls<T> calls = source();
    Long count = null;
    if (calls.query().supportsCount()) {
      count = calls.call("the count of " + chunk, () -> calls.query().count(chunk));
      if (count == first) {
        signal(chunk, new Instant(firstRead.latestMillis), out);
        return; // Unchanged: no re-read.
      }
    }
    ChunkReader.Outcome again = reader().reread(chunk, out, firstRead.firstRead);
    long found = again.emitted + again.bad;
    lateRecords.inc(again.emitted);
    long expected = first + found;
    if (again.returned.size() != expected || (count != null && count != expected)) {
      incompleteChunks.inc();
      LOG.warn(
          "TimeRangeIO: chunk {} is incomplete after its re-read: the first read returned {}"
              + " records, the re-read {} ({} of them new){}. The source deleted records, or still"
              + " ingests records older than ingestionLag + lookback ({}); raise withLookback to"
              + " catch them.",
          chunk,
          first,
          again.returned.size(),
          found,
          count == null ? "" : ", the source counted " + count + " before it",
          spec.getIngestionLag().plus(spec.getLookback()));
    }
    Instant latest = new Instant(firstRead.latestMillis);
    signal(chunk, again.latest.isAfter(latest) ? again.latest : latest, out);
  }

  private SourceCalls<T> source() throws Exception {
    return reading().source();
  }

  /** The chunk counts as read: after its late records and their dead letters. */
  private void signal(TimeRange chunk, Instant latest, MultiOutputReceiver out) {
    if (spec.getProgressLocation() != null) {
      out.get(progressTag).outputWithTimestamp(KV.of(0, chunk), latest);
    }
  }
}
