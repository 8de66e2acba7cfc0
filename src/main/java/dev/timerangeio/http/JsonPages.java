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
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * Parses one JSON page of an HTTP answer, handing the elements of its records array on one at a
 * time as they are parsed; internal.
 *
 * <p>A page is refused when anything follows its JSON value, or when an object repeats a member the
 * connector reads (the records array, the next-page token or link, the error, each record's time,
 * or an object on the way to one): Jackson keeps the last of two equal names, so {@code
 * "next":"p2","next":null} would end paging early and a second {@code "error":null} would hide a
 * partial error.
 */
final class JsonPages {
  // Parse errors quote no part of the body: it may echo a secret.
  static final ObjectMapper JSON =
      JsonMapper.builder().disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION).build();

  private final String recordsPointer;
  private final List<String> pagePointers = new ArrayList<>();
  private final @Nullable String recordTimePointer;
  /** Line-delimited JSON: one record a line, no page around them. */
  private boolean lines;

  /**
   * Pages whose records array is at {@code recordsPointer}; {@code otherPointers} are the pointers
   * read from the page besides it (next-page token or link, error), null when unset; {@code
   * recordTimePointer}, if not null, is read in each record.
   */
  JsonPages(
      String recordsPointer,
      @Nullable String recordTimePointer,
      @Nullable String... otherPointers) {
    this.recordsPointer = recordsPointer;
    this.recordTimePointer = recordTimePointer;
    pagePointers.add(recordsPointer);
    for (String pointer : otherPointers) {
      if (pointer != null) {
        pagePointers.add(pointer);
      }
    }
  }

  /**
   * The page as a tree, except the records array, whose elements are handed to {@code onRecord} one
   * at a time as they are parsed (the tree holds an empty array in its place): a page never exists
   * twice in memory, as bytes and as a tree of every record. When a next-page pointer lies inside
   * the records array, the array stays in the tree and its elements are handed on after.
   */
  JsonNode read(byte[] body, Consumer<JsonNode> onRecord) throws IOException {
    if (lines) {
      return readLines(body, onRecord);
    }
    try (JsonParser parser = JSON.getFactory().createParser(body)) {
      if (parser.nextToken() == null) {
        throw new JsonEOFException(parser, null, "an empty body");
      }
      boolean stream = streamsRecords();
      JsonNode page = readNode(parser, "", null, stream ? onRecord : null);
      if (parser.nextToken() != null) {
        throw new IOException("content after the JSON value");
      }
      if (!stream) {
        JsonNode records = page.at(recordsPointer);
        if (records.isArray()) {
          records.forEach(onRecord);
        }
      }
      return page;
    }
  }

  /** These pages are line-delimited JSON: one record a line (blank lines skipped), no page. */
  JsonPages lines() {
    lines = true;
    return this;
  }

  /**
   * The records of a line-delimited answer handed to {@code onRecord} one line at a time; an empty
   * records array as the page. A line that is not one JSON value, or repeats a member the connector reads, refuses the
   * answer.
   */
  private JsonNode readLines(byte[] body, Consumer<JsonNode> onRecord) throws IOException {
    int start = 0;
    int number = 0;
    while (start < body.length) {
      int end = start;
      while (end < body.length && body[end] != '\n') {
        end++;
      }
      number++;
      if (!new String(body, start, end - start, java.nio.charset.StandardCharsets.UTF_8).trim().isEmpty()) {
        try (JsonParser parser = JSON.getFactory().createParser(body, start, end - start)) {
          parser.nextToken();
          JsonNode record = readNode(parser, "", "", null);
          if (parser.nextToken() != null) {
            throw new IOException("content after the JSON value on line " + number);
          }
          onRecord.accept(record);
        }
      }
      start = end + 1;
    }
    // The page as the paging sees it: an (empty) array of records, no next page, no error.
    return JSON.createArrayNode();
  }

  /** Whether the records array can be streamed: no next-page pointer lies inside it. */
  private boolean streamsRecords() {
    for (String pointer : pagePointers.subList(1, pagePointers.size())) {
      if (recordsPointer.isEmpty() || pointer.startsWith(recordsPointer + "/")) {
        return false;
      }
    }
    return true;
  }

  /**
   * The node at the parser, {@code at} its JSON pointer in the page, {@code inRecord} its pointer
   * inside the record holding it (null outside records); both escaped as RFC 6901 says, so they
   * compare with the configured pointers as text. With {@code onRecord}, the records array's
   * elements go there instead of into the tree.
   */
  private JsonNode readNode(
      JsonParser parser,
      String at,
      @Nullable String inRecord,
      @Nullable Consumer<JsonNode> onRecord)
      throws IOException {
    JsonToken token = parser.currentToken();
    boolean records = token == JsonToken.START_ARRAY && at.equals(recordsPointer);
    if (token == JsonToken.START_OBJECT) {
      ObjectNode object = JSON.createObjectNode();
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String name = parser.getCurrentName();
        String escaped = name.replace("~", "~0").replace("/", "~1");
        String path = at + "/" + escaped;
        String recordPath = inRecord == null ? null : inRecord + "/" + escaped;
        JsonToken value = parser.nextToken();
        if (object.has(name) && (read(path) || readInRecord(recordPath))) {
          throw duplicate(name, path, recordPath, value);
        }
        object.set(name, readNode(parser, path, recordPath, onRecord));
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
          throw new JsonEOFException(parser, null, records ? "in the records" : "in an array");
        }
        String path = at + "/" + i;
        String element = records ? "" : inRecord == null ? null : inRecord + "/" + i;
        if (records && onRecord != null) {
          onRecord.accept(
              recordTimePointer == null ? JSON.readTree(parser) : readNode(parser, path, "", null));
        } else {
          array.add(readNode(parser, path, element, onRecord));
        }
      }
      return array;
    }
    if (token == JsonToken.VALUE_NUMBER_FLOAT
        && recordTimePointer != null
        && recordTimePointer.equals(inRecord)) {
      // A time in fractional epoch seconds carries more digits than a double keeps.
      return JSON.getNodeFactory().numberNode(parser.getDecimalValue());
    }
    return JSON.readTree(parser);
  }

  /** Whether {@code path} (in the page) is, or leads to, a pointer the connector reads. */
  private boolean read(String path) {
    for (String pointer : pagePointers) {
      if (pointer.equals(path) || pointer.startsWith(path + "/")) {
        return true;
      }
    }
    return false;
  }

  /** Whether {@code path} (in a record) is, or leads to, the record time pointer. */
  private boolean readInRecord(@Nullable String path) {
    return path != null
        && recordTimePointer != null
        && (recordTimePointer.equals(path) || recordTimePointer.startsWith(path + "/"));
  }

  private IOException duplicate(
      String name, String path, @Nullable String recordPath, JsonToken value) {
    if (path.equals(recordsPointer) && value == JsonToken.START_ARRAY) {
      return new IOException(
          "the records pointer "
              + recordsPointer
              + " matches two arrays (the member \""
              + name
              + "\" appears twice)");
    }
    return new IOException(
        "the member \""
            + name
            + "\" appears twice in one object, "
            + (readInRecord(recordPath) ? "in a record at " + recordPath : "at " + path)
            + ", and the connector reads it: which one counts is anyone's guess, so the page is"
            + " refused");
  }
}
