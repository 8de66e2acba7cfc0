package dev.timerangeio.schematransforms;

import dev.timerangeio.ProgressSignals;
import dev.timerangeio.Secrets;
import dev.timerangeio.TimeRangeIO;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Objects;
import org.apache.beam.sdk.coders.CoderException;
import org.apache.beam.sdk.coders.RowCoder;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.schemas.transforms.providers.ErrorHandling;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.errorhandling.BadRecord;
import org.apache.beam.sdk.transforms.errorhandling.ErrorHandler.BadRecordErrorHandler;
import org.apache.beam.sdk.util.CoderUtils;
import org.apache.beam.sdk.util.Secret;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionRowTuple;
import org.apache.beam.sdk.values.Row;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * What the schema transforms share: values from configuration rows (durations, instants, secrets)
 * with messages naming the field, the read settings, and bad records as rows.
 */
final class ReadSettings {
  private ReadSettings() {}

  /** The output of a read's records. */
  static final String OUTPUT = "output";

  /** The read's chunk signals for its write, when it has a progress location. */
  static final String PROGRESS = "progress";

  static @Nullable Duration duration(String field, @Nullable String value) {
    if (value == null) {
      return null;
    }
    try {
      return Duration.parse(value);
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException(
          field + ": \"" + value + "\" is not an ISO-8601 duration; write e.g. PT1H, PT30S, P1D");
    }
  }

  static @Nullable Instant instant(String field, @Nullable String value) {
    if (value == null) {
      return null;
    }
    try {
      return Instant.parse(value);
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException(
          field
              + ": \""
              + value
              + "\" is not an ISO-8601 instant; write e.g. 2024-05-01T00:00:00Z");
    }
  }

  /**
   * A secret field's value: {@code env:NAME} (an environment variable on the worker), {@code
   * file:PATH} (a file on the worker), {@code value:TEXT} or any other text (the secret itself,
   * which then travels in the pipeline graph the SDK sent). Never logged, never displayed.
   */
  static @Nullable Secret secret(@Nullable String value) {
    if (value == null) {
      return null;
    }
    if (value.startsWith("env:")) {
      return Secrets.fromEnvironment(value.substring("env:".length()));
    }
    if (value.startsWith("file:")) {
      return Secrets.fromFile(value.substring("file:".length()));
    }
    return Secrets.ofValue(value.startsWith("value:") ? value.substring("value:".length()) : value);
  }

  /** {@code read} with the settings of {@code options} that are set. */
  static <T> TimeRangeIO.Read<T> apply(TimeRangeIO.Read<T> read, ReadOptions options) {
    if (options.getStartTime() != null) {
      read = read.withStartTime(options.getStartTime());
    }
    Instant end = instant("end_time", options.getEndTime());
    if (end != null) {
      read = read.withEndTime(end);
    }
    Duration partition = duration("partition_duration", options.getPartitionDuration());
    if (partition != null) {
      read = read.withPartitionDuration(partition);
    }
    Duration lag = duration("ingestion_lag", options.getIngestionLag());
    if (lag != null) {
      read = read.withIngestionLag(lag);
    }
    Duration poll = duration("poll_interval", options.getPollInterval());
    if (poll != null) {
      read = read.withPollInterval(poll);
    }
    if (options.getProgressLocation() != null) {
      read = read.withProgressLocation(options.getProgressLocation());
    }
    if (options.getMaxRowsPerQuery() != null) {
      read = read.withMaxRowsPerQuery(options.getMaxRowsPerQuery());
    }
    if (options.getMaxRetries() != null) {
      read = read.withMaxRetries(options.getMaxRetries());
    }
    return read;
  }

  /**
   * Applies {@code read} (configured from {@code options} by {@link #apply}) and names its outputs:
   * {@code output}, {@code progress} with a progress location, and the error output when {@code
   * error_handling} names one.
   */
  static PCollectionRowTuple expand(
      PCollectionRowTuple input, TimeRangeIO.Read<Row> read, ReadOptions options) {
    String errors = ErrorHandling.getOutputOrNull(options.getErrorHandling());
    if (errors != null && options.getProgressLocation() != null) {
      // The error output is written later in the pipeline than the commit can wait for.
      throw new IllegalArgumentException(
          "error_handling with progress_location("
              + options.getProgressLocation()
              + "): the committed position could pass a bad record before the error output's"
              + " consumer has stored it, and a crash would lose it; leave out error_handling"
              + " (bad records then fail the read) or progress_location");
    }
    ToErrorRows toRows = new ToErrorRows();
    BadRecordErrorHandler<PCollection<Row>> handler =
        errors == null ? null : input.getPipeline().registerBadRecordErrorHandler(toRows);
    if (handler != null) {
      read = read.withBadRecordErrorHandler(handler);
    }
    PCollection<Row> records = PBegin.in(input.getPipeline()).apply("TimeRangeIO.read", read);
    PCollectionRowTuple outputs = PCollectionRowTuple.of(OUTPUT, records);
    if (options.getProgressLocation() != null) {
      outputs =
          outputs.and(PROGRESS, ProgressSignals.signalsOf(records, options.getProgressLocation()));
    }
    if (handler != null) {
      toRows.recordSchema = records.getSchema(); // known once the read is applied (JDBC: learnt)
      handler.close();
      outputs = outputs.and(errors, handler.getOutput());
    }
    return outputs;
  }

  /**
   * Bad records as Beam's error rows: {@code failed_row}, the record as a row of the read's schema
   * (null when the record could not even be encoded), and {@code error_message}.
   */
  static final class ToErrorRows extends PTransform<PCollection<BadRecord>, PCollection<Row>> {
    private @Nullable Schema recordSchema;

    @Override
    public PCollection<Row> expand(PCollection<BadRecord> badRecords) {
      Schema records = Objects.requireNonNull(recordSchema, "the read's schema");
      Schema errors =
          Schema.builder()
              .addNullableField("failed_row", Schema.FieldType.row(records))
              .addStringField("error_message")
              .build();
      return badRecords
          .apply("BadRecordsToRows", ParDo.of(new ErrorRowFn(RowCoder.of(records), errors)))
          .setRowSchema(errors);
    }
  }

  private static final class ErrorRowFn extends DoFn<BadRecord, Row> {
    private final RowCoder recordCoder;
    private final Schema errors;

    ErrorRowFn(RowCoder recordCoder, Schema errors) {
      this.recordCoder = recordCoder;
      this.errors = errors;
    }

    @ProcessElement
    public void process(@Element BadRecord bad, OutputReceiver<Row> out) throws CoderException {
      byte[] encoded = bad.getRecord() == null ? null : bad.getRecord().getEncodedRecord();
      Row record = encoded == null ? null : CoderUtils.decodeFromByteArray(recordCoder, encoded);
      String message = bad.getFailure().getDescription();
      if (bad.getFailure().getException() != null) {
        message = message + ": " + bad.getFailure().getException();
      }
      out.output(Row.withSchema(errors).addValues(record, message).build());
    }
  }
}
