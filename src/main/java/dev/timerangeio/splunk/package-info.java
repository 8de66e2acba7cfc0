/**
 * The Splunk connector: {@link dev.timerangeio.splunk.SplunkSearchQuery} reads an SPL search
 * through the search export endpoint, chunk by chunk, as Beam Rows, by event time or by index time.
 *
 * <p>Internal: {@code SplunkExport} (the line-delimited JSON answer: keep-alive lines, previews,
 * messages, results as Rows). It uses only the public API of {@code dev.timerangeio} and {@code
 * dev.timerangeio.http}.
 */
package dev.timerangeio.splunk;
