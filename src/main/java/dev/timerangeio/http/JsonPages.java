package dev.timerangeio.http;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.function.Consumer;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Parses one JSON page of an HTTP answer, handing the elements of its records array on one at a
 * time as they are parsed; internal.
 */
final class JsonPages {
  // Parse errors quote no part of the body: it may echo a secret.
  static final ObjectMapper JSON =
      JsonMapper.builder().disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION).build();

  private final String recordsPointer;
  private final @Nullable String[] otherPointers;

  /**
   * Pages whose records array is at {@code recordsPointer}; {@code otherPointers} are the
   * pointers read from the page besides it (next-page token or link, error), null when unset.
   */
  JsonPages(String recordsPointer, @Nullable String... otherPointers) {
    this.recordsPointer = recordsPointer;
    this.otherPointers = otherPointers;
  }

  /**
   * The page as a tree, except the records array, whose elements are handed to {@code onRecord}
   * one at a time as they are parsed (the tree holds an empty array in its place): a page never
   * exists twice in memory, as bytes and as a tree of every record.
   */
  JsonNode read(byte[] body, Consumer<JsonNode> onRecord)
      throws IOException {
    try (JsonParser parser = JSON.getFactory().createParser(body)) {
      if (parser.nextToken() == null) {
        throw new JsonEOFException(parser, null, "an empty body");
      }
      if (!streamsRecords()) {
        // A next-page pointer inside the records array needs the array in the tree.
        JsonNode page = JSON.readTree(parser);
        JsonNode records = page.at(recordsPointer);
        if (records.isArray()) {
          records.forEach(onRecord);
        }
        return page;
      }
      int[] arrays = new int[1];
      JsonNode page = readNode(parser, "", onRecord, arrays);
      if (parser.nextToken() != null) {
        throw new IOException("content after the JSON value");
      }
      return page;
    }
  }

  /** Whether the records array can be streamed: no next-page pointer lies inside it. */
  private boolean streamsRecords() {
    for (String pointer : otherPointers) {
      if (pointer != null && (recordsPointer.isEmpty() || pointer.startsWith(recordsPointer + "/"))) {
        return false;
      }
    }
    return true;
  }

  /**
   * The node at the parser, {@code at} its JSON pointer (escaped as RFC 6901 says, so it compares
   * with the configured one as text).
   */
  private JsonNode readNode(
      JsonParser parser,
      String at,
      Consumer<JsonNode> onRecord,
      int[] arrays)
      throws IOException {
    JsonToken token = parser.currentToken();
    if (token == JsonToken.START_ARRAY && at.equals(recordsPointer)) {
      if (++arrays[0] > 1) {
        // Duplicate member names: which array is the records is anyone's guess.
        throw new IOException("the records pointer " + recordsPointer + " matches two arrays");
      }
      while (parser.nextToken() != JsonToken.END_ARRAY) {
        if (parser.currentToken() == null) {
          throw new JsonEOFException(parser, null, "in the records");
        }
        onRecord.accept(JSON.readTree(parser));
      }
      return JSON.createArrayNode();
    }
    if (token == JsonToken.START_OBJECT) {
      ObjectNode object = JSON.createObjectNode();
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String name = parser.getCurrentName();
        parser.nextToken();
        object.set(
            name,
            readNode(parser, at + "/" + name.replace("~", "~0").replace("/", "~1"), onRecord, arrays));
      }
      if (parser.currentToken() == null) {
        throw new JsonEOFException(parser, null, "in an object");
      }
      return object;
    }
    if (token == JsonToken.START_ARRAY) {
      ArrayNode array = JSON.createArrayNode();
      for (int i = 0; parser.nextToken() != JsonToken.END_ARRAY; i++) {
        if (parser.currentToken() == null) {
          throw new JsonEOFException(parser, null, "in an array");
        }
        array.add(readNode(parser, at + "/" + i, onRecord, arrays));
      }
      return array;
    }
    return JSON.readTree(parser);
  }

}
