package dev.timerangeio.schematransforms;

import dev.timerangeio.TimeRangeIO;
import java.util.Collections;
import java.util.List;
import org.apache.beam.sdk.schemas.transforms.SchemaTransform;
import org.apache.beam.sdk.schemas.transforms.TypedSchemaTransformProvider;
import org.apache.beam.sdk.values.PCollectionRowTuple;
import org.apache.beam.sdk.values.Row;

/**
 * What the read providers share: no input; {@code output}, {@code progress} (with a progress
 * location) and the error output; the read settings of {@link ReadOptions}. A provider builds its
 * configured {@link TimeRangeIO.Read} when its transform is made, so bad values fail then.
 */
abstract class ReadSchemaTransformProvider<ConfigT extends ReadOptions>
    extends TypedSchemaTransformProvider<ConfigT> {

  /** The read of {@code configuration}'s source, before the settings of {@link ReadOptions}. */
  abstract TimeRangeIO.Read<Row> read(ConfigT configuration);

  @Override
  public List<String> inputCollectionNames() {
    return Collections.emptyList();
  }

  @Override
  public List<String> outputCollectionNames() {
    return List.of(ReadSettings.OUTPUT, ReadSettings.PROGRESS);
  }

  @Override
  protected SchemaTransform from(ConfigT configuration) {
    TimeRangeIO.Read<Row> read = ReadSettings.apply(read(configuration), configuration);
    return new SchemaTransform() {
      @Override
      public PCollectionRowTuple expand(PCollectionRowTuple input) {
        return ReadSettings.expand(input, read, configuration);
      }
    };
  }
}
