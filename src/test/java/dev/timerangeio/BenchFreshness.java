package dev.timerangeio;

import dev.timerangeio.jdbc.JdbcIdempotentSink;
import dev.timerangeio.jdbc.JdbcTimeRangeQuery;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.values.Row;

/**
 * Freshness, streaming PostgreSQL → PostgreSQL on the DirectRunner: a writer inserts {@code rate}
 * rows a second, one transaction each, stamping {@code ts = clock_timestamp()} (the commit, to
 * within the statement); the pipeline reads them at ingestion lag L and poll interval P and
 * writes them into a table whose {@code arrived} column defaults to {@code clock_timestamp()}.
 * A row's latency is {@code arrived - ts}, both from the database's clock. The steady rows start
 * once a probe row has arrived (the runner has started); those of the first {@link #WARM_UP} are
 * plotted but not counted. Goal (issue 19):
 * p99 ≤ L + P + 1 s.
 */
final class BenchFreshness {
  static final Duration WARM_UP = Duration.ofSeconds(2);

  private final String url;
  private final Duration lag;
  private final Duration poll;
  private final Duration chunk;
  private final Duration batchDelay;

  BenchFreshness(String url, Duration lag, Duration poll, Duration chunk, Duration batchDelay) {
    this.url = url;
    this.lag = lag;
    this.poll = poll;
    this.chunk = chunk;
    this.batchDelay = batchDelay;
  }

  List<String> run(int seconds, int rate, Path png) throws Exception {
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS bench_fresh_src, bench_fresh_dst");
      s.execute("CREATE TABLE bench_fresh_src (id bigint PRIMARY KEY, ts timestamptz NOT NULL, payload text)");
      s.execute("CREATE INDEX bench_fresh_src_ts ON bench_fresh_src (ts)");
      s.execute(
          "CREATE TABLE bench_fresh_dst (idempotency_key text PRIMARY KEY, id bigint, ts timestamptz,"
              + " payload text, arrived timestamptz NOT NULL DEFAULT clock_timestamp())");
    }
    DirectOptions options = PipelineOptionsFactory.as(DirectOptions.class);
    options.setBlockOnRun(false);
    Pipeline p = Pipeline.create(options);
    p.apply(
            TimeRangeIO.<Row>read()
                .withQuery(JdbcTimeRangeQuery.forTableAsRows(url, "bench_fresh_src", "ts"))
                .withStartTime(Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).minusSeconds(1))
                .withPartitionDuration(chunk)
                .withIngestionLag(lag)
                .withPollInterval(poll))
        .apply(
            TimeRangeIO.<Row>write()
                .to(JdbcIdempotentSink.forRows(url, "bench_fresh_dst"))
                .withKeyFn(row -> row.getInt64("id"))
                .withMaxBatchDelay(batchDelay));
    PipelineResult result = p.run();
    long total = (long) seconds * rate;
    try {
      // A probe row first: the steady rows start once the pipeline is seen delivering, so the
      // runner's start-up is not measured as latency.
      try (Connection c = DriverManager.getConnection(url);
          Statement s = c.createStatement()) {
        s.execute("INSERT INTO bench_fresh_src VALUES (-1, clock_timestamp(), 'probe')");
      }
      awaitArrival(1, Duration.ofSeconds(120).plus(lag));
      insertSteadily(total, rate);
      awaitArrival(total + 1, Duration.ofSeconds(60).plus(lag));
    } finally {
      result.cancel();
    }
    return report(total, png);
  }

  /** One row per 1/rate seconds, each its own transaction, ts stamped by the database. */
  private void insertSteadily(long total, int rate) throws Exception {
    try (Connection c = DriverManager.getConnection(url);
        PreparedStatement insert =
            c.prepareStatement("INSERT INTO bench_fresh_src VALUES (?, clock_timestamp(), ?)")) {
      long start = System.nanoTime();
      for (long i = 0; i < total; i++) {
        long due = start + i * 1_000_000_000L / rate;
        long wait = due - System.nanoTime();
        if (wait > 0) {
          Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
        }
        insert.setLong(1, i);
        insert.setString(2, "payload-" + i);
        insert.executeUpdate();
      }
    }
  }

  private void awaitArrival(long total, Duration patience) throws Exception {
    long deadline = System.nanoTime() + patience.toNanos();
    while (count() < total && System.nanoTime() < deadline) {
      Thread.sleep(200);
    }
  }

  private long count() throws Exception {
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM bench_fresh_dst")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private List<String> report(long total, Path png) throws Exception {
    List<double[]> points = new ArrayList<>(); // seconds since the first row, latency in ms
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "SELECT EXTRACT(EPOCH FROM d.ts - MIN(d.ts) OVER ()),"
                    + " EXTRACT(EPOCH FROM d.arrived - d.ts) * 1000 FROM bench_fresh_dst d"
                    + " JOIN bench_fresh_src s ON s.id = d.id AND s.ts = d.ts WHERE d.id >= 0"
                    + " ORDER BY d.ts")) {
      while (rs.next()) {
        points.add(new double[] {rs.getDouble(1), rs.getDouble(2)});
      }
    }
    double[] counted =
        points.stream().filter(pt -> pt[0] >= WARM_UP.toSeconds()).mapToDouble(pt -> pt[1]).sorted().toArray();
    double p50 = percentile(counted, 0.50);
    double p99 = percentile(counted, 0.99);
    double max = counted.length == 0 ? Double.NaN : counted[counted.length - 1];
    double goal = lag.plus(poll).plusSeconds(1).toMillis();
    plot(points, p50, p99, goal, png);
    List<String> lines = new ArrayList<>();
    lines.add(
        String.format(
            Locale.ROOT,
            "freshness PostgreSQL -> PostgreSQL, DirectRunner, L=%d ms P=%d ms chunk=%d ms batch"
                + " delay=%d ms | %d of %d rows arrived, exactly %s | p50 %.0f ms, p99 %.0f ms, max"
                + " %.0f ms over %d rows after a %d s warm-up | goal p99 <= %.0f ms: %s | plot %s",
            lag.toMillis(), poll.toMillis(), chunk.toMillis(), batchDelay.toMillis(),
            points.size(), total, points.size() == total ? "yes" : "NO",
            p50, p99, max, counted.length, WARM_UP.toSeconds(), goal, p99 <= goal ? "met" : "NOT met",
            png));
    return lines;
  }

  private static double percentile(double[] sorted, double q) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    return sorted[(int) Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  }

  /** Latency over time, one dot a row, with the p50, p99 and goal lines; drawn headless. */
  private void plot(List<double[]> points, double p50, double p99, double goal, Path png)
      throws Exception {
    System.setProperty("java.awt.headless", "true");
    int w = 900;
    int h = 420;
    int left = 70;
    int right = 20;
    int top = 40;
    int bottom = 50;
    double maxX = Math.max(1, points.stream().mapToDouble(pt -> pt[0]).max().orElse(1));
    double maxY = Math.max(goal * 1.2, points.stream().mapToDouble(pt -> pt[1]).max().orElse(1) * 1.05);
    BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, w, h);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    g.setColor(Color.BLACK);
    g.drawString(
        String.format(
            Locale.ROOT,
            "Commit-to-sink latency, PostgreSQL -> PostgreSQL, DirectRunner, L=%d ms, P=%d ms",
            lag.toMillis(), poll.toMillis()),
        left, 20);
    g.drawLine(left, h - bottom, w - right, h - bottom);
    g.drawLine(left, top, left, h - bottom);
    for (int i = 0; i <= 5; i++) {
      double y = maxY * i / 5;
      int py = (int) (h - bottom - (h - top - bottom) * i / 5.0);
      g.drawString(String.format(Locale.ROOT, "%.0f ms", y), 5, py + 4);
      double x = maxX * i / 5;
      int px = (int) (left + (w - left - right) * i / 5.0);
      g.drawString(String.format(Locale.ROOT, "%.0f s", x), px - 10, h - bottom + 18);
    }
    g.drawString("time of commit (s since the first row)", w / 2 - 100, h - 12);
    g.setColor(new Color(200, 200, 200));
    int warm = (int) (left + (w - left - right) * WARM_UP.toSeconds() / maxX);
    g.drawLine(warm, top, warm, h - bottom);
    g.setColor(new Color(30, 90, 200));
    for (double[] pt : points) {
      int px = (int) (left + (w - left - right) * pt[0] / maxX);
      int py = (int) (h - bottom - (h - top - bottom) * pt[1] / maxY);
      g.fillOval(px - 1, py - 1, 3, 3);
    }
    line(g, "p50", p50, new Color(0, 150, 0), maxY, w, h, left, right, top, bottom);
    line(g, "p99", p99, new Color(230, 120, 0), maxY, w, h, left, right, top, bottom);
    line(g, "goal L+P+1s", goal, Color.RED, maxY, w, h, left, right, top, bottom);
    g.dispose();
    Files.createDirectories(png.toAbsolutePath().getParent());
    ImageIO.write(image, "png", png.toFile());
  }

  private static void line(
      Graphics2D g, String label, double y, Color color, double maxY, int w, int h, int left,
      int right, int top, int bottom) {
    if (Double.isNaN(y)) {
      return;
    }
    int py = (int) (h - bottom - (h - top - bottom) * y / maxY);
    g.setColor(color);
    g.setStroke(new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10, new float[] {6, 4}, 0));
    g.drawLine(left, py, w - right, py);
    g.drawString(String.format(Locale.ROOT, "%s %.0f ms", label, y), w - right - 130, py - 4);
    g.setStroke(new BasicStroke());
  }
}
