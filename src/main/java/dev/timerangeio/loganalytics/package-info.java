/**
 * The Azure Monitor Log Analytics connector: {@link
 * dev.timerangeio.loganalytics.LogAnalyticsQuery} reads a KQL query chunk by chunk as Beam Rows,
 * with Entra ID client-credentials tokens that refresh.
 *
 * <p>Internal: {@code LogAnalyticsAnswer} (an answer's tables, partial errors and column types as
 * Rows). It uses only the public API of {@code dev.timerangeio} and {@code dev.timerangeio.http}.
 */
package dev.timerangeio.loganalytics;
