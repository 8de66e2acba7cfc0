package dev.timerangeio.http;

import com.fasterxml.jackson.databind.JsonNode;
import dev.timerangeio.ResultTooLargeException;
import dev.timerangeio.TimeRange;
import dev.timerangeio.TimeRangeQuery.Result;
import java.io.IOException;
import java.net.URI;
import org.checkerframework.checker.nullness.qual.Nullable;

/**
 * One query of an {@link HttpTimeRangeQuery}, page after page: each page's records kept by their
 * time (see {@link TimeBounds}) and mapped, its error pointer checked, the next page found by
 * token or same-origin link, paging that repeats or never ends refused, and a query that reads
 * too much or pages too long handed back to the read to bisect; internal.
 */
final class HttpPaging<T> {
  private final HttpTimeRangeQuery<T> q;
  private final HttpExchange exchange;
  private final HttpSecrets secrets;
  private final TimeBounds bounds;

  HttpPaging(
      HttpTimeRangeQuery<T> q, HttpExchange exchange, HttpSecrets secrets, TimeBounds bounds) {
    this.q = q;
    this.exchange = exchange;
    this.secrets = secrets;
    this.bounds = bounds;
  }

  /** The rows of {@code range}, at most about {@code limit}. */
  Result<T> query(TimeRange range, long limit) throws Exception {
    long started = System.nanoTime();
    TimeRange asked = bounds.asked(range);
    String from = bounds.format(asked.fromMicros());
    String to = bounds.format(asked.toMicros());
    URI uri = URI.create(HttpTimeRangeQuery.fill(q.urlTemplate(), HttpSecrets.urlEncode(from), HttpSecrets.urlEncode(to)));
    String body = q.bodyTemplate() == null ? null : HttpTimeRangeQuery.fill(q.bodyTemplate(), from, to);
    Result.Builder<T> records = Result.builder();
    java.util.Set<String> pagesSeen = new java.util.HashSet<>();
    pagesSeen.add(uri.toString());
    long bytes = 0;
    for (int pages = 1; uri != null; pages++) {
      long elapsedNanos = System.nanoTime() - started;
      if (pages > 1 && elapsedNanos > q.maxQueryDuration().toNanos()) {
        throw new ResultTooLargeException(
            "HTTP " + q.method() + " " + secrets.describe(uri) + ": the query for " + range
                + " is still paging after " + (pages - 1) + " pages in "
                + elapsedNanos / 1_000_000 + " ms, longer than withMaxQueryDuration("
                + q.maxQueryDuration() + "); the read bisects the range");
      }
      if (pages > q.maxPagesPerQuery()) {
        throw new IOException(
            "HTTP " + q.method() + " " + secrets.describe(uri) + ": the query for " + range
                + " has more than withMaxPagesPerQuery(" + q.maxPagesPerQuery() + ") pages; raise it"
                + " if the API really pages that much, else its paging never ends");
      }
      Result.Builder<T> pageRecords = Result.builder();
      HttpExchange.Answer answer =
          exchange.fetch(uri, body, element -> keep(pageRecords, element, range, asked));
      bytes += answer.bytes;
      if (bytes > q.maxBytesPerQuery()) {
        throw new ResultTooLargeException(
            "HTTP " + q.method() + " " + secrets.describe(uri) + ": the query for " + range
                + " has read " + bytes + " bytes in " + pages + " pages, more than"
                + " withMaxBytesPerQuery(" + q.maxBytesPerQuery() + "); the read bisects the"
                + " range");
      }
      JsonNode page = answer.page;
      if (page == null) {
        return records.build();
      }
      if (q.errorPointer() != null) {
        JsonNode error = page.at(q.errorPointer());
        if (!error.isMissingNode() && !error.isNull()) {
          throw new IOException(
              "HTTP " + q.method() + " " + secrets.describe(uri) + ": the page reports an error at "
                  + q.errorPointer() + ": " + secrets.excerpt(error.toString()));
        }
      }
      JsonNode array = page.at(q.recordsPointer());
      if (!array.isArray()) {
        throw new IOException(
            "HTTP " + q.method() + " " + secrets.describe(uri) + ": no JSON array at records pointer \""
                + q.recordsPointer() + "\" (found "
                + (array.isMissingNode() ? "nothing" : array.getNodeType())
                + "), so this is not a page of records: " + secrets.excerpt(page.toString()));
      }
      records.addAll(pageRecords.build());
      if (records.rows() >= limit) {
        return records.build();
      }
      URI next = nextPage(page, uri);
      if (next != null && !pagesSeen.add(next.toString())) {
        throw new IOException(
            "HTTP " + q.method() + " " + secrets.describe(uri) + ": the next page ("
                + (q.nextLinkPointer() != null ? "link at " + q.nextLinkPointer() : "token at " + q.nextTokenPointer())
                + ") repeats an earlier page of this query, " + secrets.describe(next)
                + "; following it would never end");
      }
      uri = next;
    }
    return records.build();
  }

  /**
   * Maps {@code element} into {@code records} if it belongs to {@code range}: with a record time,
   * an element of the widened part of {@code asked} belongs to a neighbouring range and is
   * skipped, and one outside {@code asked} or without a readable time is reported, never dropped.
   */
  private void keep(Result.Builder<T> records, JsonNode element, TimeRange range, TimeRange asked) {
    if (bounds.filters()) {
      long time;
      try {
        time = bounds.recordTime(element);
      } catch (IllegalArgumentException e) {
        records.addUnmapped(element.toString(), e);
        return;
      }
      if (!range.contains(time)) {
        if (!asked.contains(time)) {
          records.addUnmapped(
              element.toString(),
              new IllegalStateException(
                  "the API returned a record whose time, "
                      + java.time.Instant.ofEpochSecond(
                          Math.floorDiv(time, 1_000_000L), Math.floorMod(time, 1_000_000L) * 1_000)
                      + ", lies outside the range it was asked for, " + asked));
        }
        return;
      }
    }
    try {
      records.add(q.mapper().map(element));
    } catch (Exception e) {
      // The element goes to the read's bad-record handler, or fails the bundle without one.
      records.addUnmapped(element.toString(), e);
    }
  }

  private @Nullable URI nextPage(JsonNode page, URI current) throws IOException {
    if (q.nextLinkPointer() != null) {
      String link = pointerText(page, q.nextLinkPointer(), "next-page link");
      if (link == null) {
        return null;
      }
      URI next = UriReferences.resolve(current, link);
      if (!HttpExchange.origin(next).equals(exchange.origin())) {
        throw new IOException(
            "HTTP " + q.method() + " " + secrets.describe(current) + ": the next-page link at "
                + q.nextLinkPointer() + " leads to " + next.getScheme() + "://" + next.getHost()
                + (next.getPort() < 0 ? "" : ":" + next.getPort())
                + ", not to the URL template's " + exchange.origin()
                + "; secrets are sent only there, so it is not followed");
      }
      return next;
    }
    if (q.nextTokenPointer() != null) {
      String token = pointerText(page, q.nextTokenPointer(), "next-page token");
      if (token == null) {
        return null;
      }
      String base =
          current
              .toString()
              .replaceAll("([?&])" + java.util.regex.Pattern.quote(q.nextTokenParameter()) + "=[^&]*&?", "$1");
      base = base.endsWith("?") || base.endsWith("&") ? base : base + (base.contains("?") ? "&" : "?");
      return URI.create(base + q.nextTokenParameter() + "=" + HttpSecrets.urlEncode(token));
    }
    return null;
  }

  /**
   * The text at {@code pointer}: null when absent, null or empty (no more pages); a string or a
   * number as text; anything else is an error naming the pointer, never "no more pages".
   */
  private static @Nullable String pointerText(JsonNode page, String pointer, String what)
      throws IOException {
    JsonNode node = page.at(pointer);
    if (node.isMissingNode() || node.isNull()) {
      return null;
    }
    if (!node.isTextual() && !node.isNumber()) {
      throw new IOException(
          "the " + what + " at " + pointer + " is " + node.getNodeType()
              + "; expected a string, a number, null or nothing");
    }
    String text = node.asText();
    return text.isEmpty() ? null : text;
  }
}
