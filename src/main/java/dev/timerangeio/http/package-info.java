/**
 * The HTTP JSON connector: {@link dev.timerangeio.http.HttpTimeRangeQuery} reads an API that
 * takes a time range, page by page, keeping its secrets out of sight.
 *
 * <p>Internal: {@code HttpPaging} (one query, page after page), {@code HttpExchange} (one request:
 * same-origin redirects, size and time caps, how an answer is classified), {@code JsonPages}
 * (streams the records array of a page, refusing repeated members it reads), {@code HttpSecrets}
 * (adds secrets to requests and scrubs them from every message), {@code TimeBounds} (how bounds
 * are written, and which records a coarse format keeps), {@code UriReferences} (RFC 3986 links).
 *
 * <p>It uses only the public API of {@code dev.timerangeio}.
 */
package dev.timerangeio.http;
