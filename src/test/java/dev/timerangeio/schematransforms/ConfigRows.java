package dev.timerangeio.schematransforms;

import java.util.Map;
import org.apache.beam.sdk.schemas.transforms.SchemaTransformProvider;
import org.apache.beam.sdk.values.Row;

/** Configuration rows as an SDK sends them: the provider's schema, the given fields set. */
public final class ConfigRows {
  private ConfigRows() {}

  public static Row of(SchemaTransformProvider provider, Map<String, Object> values) {
    Row.FieldValueBuilder row =
        Row.withSchema(provider.configurationSchema()).withFieldValues(Map.of());
    for (Map.Entry<String, Object> value : values.entrySet()) {
      row = row.withFieldValue(value.getKey(), value.getValue());
    }
    return row.build();
  }
}
