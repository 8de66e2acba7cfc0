package dev.timerangeio;

import org.apache.beam.sdk.coders.ByteArrayCoder;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.Impulse;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.errorhandling.BadRecord;
import org.apache.beam.sdk.transforms.errorhandling.BadRecordRouter;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTagList;

/**
 * What a read with {@code withLookback} expands to; internal.
 *
 * <pre>
 * Impulse → ResolveStart ─┬→ ReadTimeRanges (lag L) ──── records ──────────────┬→ the read's records
 *                         │        └─ first-read notes ─┐                      │
 *                         └→ RecheckTimeRanges (L + lookback) ─ due notes ─→ ReadLateRecords
 *                                                                  └─ progress signals, bad records
 * </pre>
 *
 * The first read emits its records but no progress signal; per chunk it emits a note of what it
 * returned. The re-check, the same splittable DoFn claiming chunks once they are {@code L +
 * lookback} old, queries nothing: it says the chunk is due. {@link RecheckFn} joins both per chunk
 * and emits late records and the progress signal. The read's output watermark is the lowest of
 * these paths, so it follows the re-check: a record found late is never behind it, and the write
 * commits a chunk only after its re-check.
 */
final class LookbackExpansion {
  private LookbackExpansion() {}

  /**
   * The read's outputs under the first read's tags: records on {@code fn.recordsTag}, bad records
   * on {@link BadRecordRouter#BAD_RECORD_TAG}, progress signals on {@code fn.progressTag}.
   */
  static <T> PCollectionTuple expand(
      TimeRangeIO.Read<T> read, Coder<T> coder, ReadFn<T> fn, PBegin input) {
    PCollection<byte[]> start =
        input
            .apply("Impulse", Impulse.create())
            .apply("ResolveStart", ParDo.of(new ResolveStartFn<>(ReadFn.of(read, coder))))
            .setCoder(ByteArrayCoder.of());
    Coder<KV<Long, ChunkNote>> noteCoder = KvCoder.of(VarLongCoder.of(), ChunkNote.Coder.of());

    PCollectionTuple first =
        start.apply(
            "ReadTimeRanges",
            ParDo.of(fn)
                .withOutputTags(
                    fn.recordsTag, TupleTagList.of(BadRecordRouter.BAD_RECORD_TAG).and(fn.noteTag)));
    ReadFn<T> recheck = ReadFn.recheck(read, coder);
    PCollectionTuple due =
        start.apply(
            "RecheckTimeRanges",
            ParDo.of(recheck).withOutputTags(recheck.recordsTag, TupleTagList.of(recheck.noteTag)));
    due.get(recheck.recordsTag).setCoder(coder); // empty: the re-check queries nothing

    RecheckFn<T> join = new RecheckFn<>(read, coder, fn.queryGateId());
    PCollectionTuple late =
        PCollectionList.of(first.get(fn.noteTag).setCoder(noteCoder))
            .and(due.get(recheck.noteTag).setCoder(noteCoder))
            .apply("JoinChunkNotes", Flatten.pCollections())
            .apply(
                "ReadLateRecords",
                ParDo.of(join)
                    .withOutputTags(
                        join.recordsTag,
                        TupleTagList.of(BadRecordRouter.BAD_RECORD_TAG).and(join.progressTag)));

    Coder<BadRecord> badCoder = BadRecord.getCoder(input.getPipeline());
    PCollection<T> records =
        PCollectionList.of(first.get(fn.recordsTag).setCoder(coder))
            .and(late.get(join.recordsTag).setCoder(coder))
            .apply("WithLateRecords", Flatten.pCollections());
    PCollection<BadRecord> badRecords =
        PCollectionList.of(first.get(BadRecordRouter.BAD_RECORD_TAG).setCoder(badCoder))
            .and(late.get(BadRecordRouter.BAD_RECORD_TAG).setCoder(badCoder))
            .apply("WithLateBadRecords", Flatten.pCollections());
    return PCollectionTuple.of(fn.recordsTag, records)
        .and(BadRecordRouter.BAD_RECORD_TAG, badRecords)
        .and(fn.progressTag, late.get(join.progressTag).setCoder(ReadExpansion.PROGRESS_CODER));
  }
}
