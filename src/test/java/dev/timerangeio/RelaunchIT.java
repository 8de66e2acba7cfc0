package dev.timerangeio;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.JUnit4;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Invariant 9: a bounded backfill, then a streaming copy that continues it with no end, killed
 * with {@code kill -9} at random points (each run once it has read, written and committed
 * something of its own) while records keep arriving and relaunched as a new pipeline each time
 * with the same progress location, ends with the sink holding exactly the source's records. The backfill commits exactly its end, to the microsecond, and the
 * continuation starts there.
 *
 * <p>Source and sink tables live in an H2 server on 127.0.0.1 that both JVMs reach; the copy runs
 * in a child JVM ({@link RelaunchChild}) on the DirectRunner.
 */
@RunWith(JUnit4.class)
public class RelaunchIT {
  private static final Logger LOG = LoggerFactory.getLogger(RelaunchIT.class);
  private static final int KILLS = 6;

  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  private Process h2;
  /** Every child launched, so a failed test leaves none running ("follow" never ends). */
  private final List<Process> children = new ArrayList<>();
  private String url;
  private ScheduledExecutorService writer;

  @Before
  public void startDatabase() throws Exception {
    // The database is a process of its own, as a real server is: how fast it answers the child
    // then doesn't depend on this JVM's heap after the tests that ran before this one.
    int port;
    try (java.net.ServerSocket free =
        new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = free.getLocalPort();
    }
    h2 =
        new ProcessBuilder(
                System.getProperty("java.home") + "/bin/java",
                "-Xmx256m",
                "-cp",
                classpath(),
                "org.h2.tools.Server",
                "-tcp",
                "-tcpPort",
                Integer.toString(port),
                "-ifNotExists",
                "-baseDir",
                tmp.newFolder("h2").getPath())
            .redirectErrorStream(true)
            .start();
    java.io.BufferedReader out =
        new java.io.BufferedReader(
            new java.io.InputStreamReader(h2.getInputStream(), StandardCharsets.UTF_8));
    // The server's first line says it is listening; the rest is drained so it never blocks.
    String started = out.readLine();
    assertTrue("H2 server: " + started, started != null && started.contains("TCP server running"));
    Thread drain = new Thread(() -> out.lines().forEach(line -> {}), "h2-output");
    drain.setDaemon(true);
    drain.start();
    url = "jdbc:h2:tcp://127.0.0.1:" + port + "/relaunch";
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      s.execute(
          "CREATE TABLE source_events (id BIGINT PRIMARY KEY, event_time TIMESTAMP(6) NOT NULL,"
              + " payload VARCHAR(100))");
      s.execute("CREATE INDEX source_events_time ON source_events (event_time)");
      s.execute(
          "CREATE TABLE copied_events (idempotency_key VARCHAR(64) PRIMARY KEY, id BIGINT,"
              + " event_time TIMESTAMP(6), payload VARCHAR(100))");
    }
  }

  @After
  public void stop() {
    for (Process child : children) {
      child.destroyForcibly();
    }
    if (writer != null) {
      writer.shutdownNow();
    }
    if (h2 != null) {
      h2.destroy();
    }
  }

  @Test
  public void killedAndRelaunchedCopyEndsWithEverySourceRecordExactlyOnce() throws Exception {
    String progress = tmp.getRoot() + "/progress/copy.json";
    Instant start = Instant.now().truncatedTo(ChronoUnit.SECONDS).minusSeconds(1);
    AtomicLong nextId = new AtomicLong();
    Connection insertConnection = DriverManager.getConnection(url);
    writer = Executors.newSingleThreadScheduledExecutor();
    // A record every 20 ms, stamped "now" as they are inserted: a live source.
    writer.scheduleAtFixedRate(
        () -> insert(insertConnection, nextId, 1), 0, 20, TimeUnit.MILLISECONDS);

    Random random = new Random(20261124);
    List<String> figures = new ArrayList<>();
    // Whether an offset was committed when each run was launched (index = run).
    List<Boolean> offsetAtLaunch = new ArrayList<>(List.of(false));

    // Run 1: a backfill with an end that is not a whole millisecond, while records arrive.
    Instant backfillEnd = start.plusMillis(2_500).plus(123, ChronoUnit.MICROS);
    offsetAtLaunch.add(false);
    Process backfill = launch(progress, start, backfillEnd.toString(), 1);
    assertTrue("backfill did not finish: " + log(1), backfill.waitFor(180, TimeUnit.SECONDS));
    assertEquals("backfill failed: " + log(1), 0, backfill.exitValue());
    assertEquals(
        "the backfill commits exactly its end",
        Optional.of(ProgressOffset.ofTimestamp(Times.toMicros("end", backfillEnd))),
        ProgressStore.read(progress));
    figures.add(
        String.format(
            "run 1, backfill to %s: source %d, sink %d, committed %s",
            backfillEnd, nextId.get(), count("copied_events"), committed(progress)));

    // Runs 2 to KILLS + 1 continue it with no end. Each is killed once it has read, written and
    // committed something of its own (else a run that did nothing before its kill would pass),
    // then after a seeded random extra while, so kills land mid-chunk, mid-write, mid-commit.
    for (int run = 2; run <= KILLS + 1; run++) {
      offsetAtLaunch.add(new File(progress).exists());
      long sinkAtLaunch = count("copied_events");
      ProgressOffset committedAtLaunch = ProgressStore.read(progress).get();
      Process child = launch(progress, start, "follow", run);
      awaitOwnProgress(child, run, progress, sinkAtLaunch, committedAtLaunch.timestampMicros());
      long extraMillis = random.nextInt(3_000);
      // Waits for the process to end, which it must not do by itself before the kill.
      boolean ended = child.waitFor(extraMillis, TimeUnit.MILLISECONDS);
      assertTrue("run " + run + " ended on its own: " + log(run), !ended);
      new ProcessBuilder("kill", "-9", Long.toString(child.pid())).start().waitFor();
      assertTrue(child.waitFor(30, TimeUnit.SECONDS));
      assertThat(
          "run " + run + " resumed at the offset committed before it: " + log(run),
          log(run),
          containsString("resuming at the committed offset " + committedAtLaunch.toJson()));
      figures.add(
          String.format(
              "run %d killed %d ms after its first commit: source %d, sink %d (%d at launch),"
                  + " committed %s (%s at launch)",
              run,
              extraMillis,
              nextId.get(),
              count("copied_events"),
              sinkAtLaunch,
              committed(progress),
              committedAtLaunch.toJson()));
    }
    writer.shutdown();
    assertTrue(writer.awaitTermination(10, TimeUnit.SECONDS));
    insertConnection.close();

    // The last launch is bounded: it reads up to just after the last record and exits.
    int finalRun = KILLS + 2;
    Instant end = lastEventTime().plus(1, ChronoUnit.MICROS);
    offsetAtLaunch.add(new File(progress).exists());
    Process last = launch(progress, start, end.toString(), finalRun);
    assertTrue("final run did not finish: " + log(finalRun), last.waitFor(180, TimeUnit.SECONDS));
    assertEquals("final run failed: " + log(finalRun), 0, last.exitValue());
    figures.add(
        String.format(
            "final bounded run: source %d, sink %d, committed %s",
            nextId.get(), count("copied_events"), committed(progress)));
    figures.forEach(LOG::info);

    long sourceCount = count("source_events");
    assertEquals(nextId.get(), sourceCount);
    assertEquals("every source record once", sourceCount, count("copied_events"));
    assertEquals(
        "no id missing, none twice",
        0,
        count(
            "(SELECT id, event_time, payload FROM source_events EXCEPT"
                + " SELECT id, event_time, payload FROM copied_events)"));
    assertEquals(sourceCount, count("(SELECT DISTINCT id FROM copied_events)"));
    // Every run read: one launched with a committed offset resumed from it rather than starting
    // over, one launched without says so.
    for (int run = 1; run <= finalRun; run++) {
      String log = log(run);
      String expected =
          offsetAtLaunch.get(run) ? "resuming at the committed offset" : "no committed offset";
      assertThat("run " + run, log, containsString("TimeRangeIO: reading"));
      assertThat("run " + run, log, containsString(expected));
    }
  }

  /**
   * Waits until the child of {@code run} has written rows to the sink and committed a position
   * past the one it was launched with; fails if it ends first or takes more than 2 minutes.
   */
  private void awaitOwnProgress(
      Process child, int run, String progress, long sinkAtLaunch, long committedAtLaunch)
      throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (count("copied_events") <= sinkAtLaunch
        || ProgressStore.read(progress).get().timestampMicros() <= committedAtLaunch) {
      assertTrue(
          "run " + run + " wrote or committed nothing within 2 minutes: " + log(run),
          System.nanoTime() < deadline);
      // The pause between looks, and a check that the child has not ended by itself.
      assertTrue(
          "run " + run + " ended on its own: " + log(run),
          !child.waitFor(100, TimeUnit.MILLISECONDS));
    }
  }

  private static void insert(Connection c, AtomicLong nextId, int n) {
    try (PreparedStatement s =
        c.prepareStatement("INSERT INTO source_events (id, event_time, payload) VALUES (?, ?, ?)")) {
      LocalDateTime now = LocalDateTime.ofInstant(Instant.now().truncatedTo(ChronoUnit.MICROS), ZoneOffset.UTC);
      for (int i = 0; i < n; i++) {
        long id = nextId.get() + i;
        s.setLong(1, id);
        s.setObject(2, now);
        s.setString(3, "event-" + id);
        s.addBatch();
      }
      s.executeBatch();
      nextId.addAndGet(n);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private Process launch(String progress, Instant start, String mode, int run) throws Exception {
    ProcessBuilder builder =
        new ProcessBuilder(
            System.getProperty("java.home") + "/bin/java",
            "-Xmx512m",
            // A child lives seconds: the quick compiler and a simple collector leave the CPU to
            // the copy instead of to warming up, which on a busy 2-core machine decides whether
            // it commits anything before it is killed.
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            "-cp",
            classpath(),
            RelaunchChild.class.getName(),
            url,
            progress,
            start.toString(),
            mode);
    builder.redirectErrorStream(true);
    builder.redirectOutput(logFile(run));
    Process child = builder.start();
    children.add(child);
    return child;
  }

  private static String classpath() {
    return System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
  }

  /** Kept under target/ for a look after a failure. */
  private static File logFile(int run) {
    File dir = new File("target/relaunch-test");
    dir.mkdirs();
    return new File(dir, "child-" + run + ".log");
  }

  private static String log(int run) throws Exception {
    List<String> lines = Files.readAllLines(logFile(run).toPath(), StandardCharsets.UTF_8);
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
  }

  private long count(String table) throws Exception {
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM " + table)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private Instant lastEventTime() throws Exception {
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT MAX(event_time) FROM source_events")) {
      rs.next();
      return rs.getObject(1, LocalDateTime.class).toInstant(ZoneOffset.UTC);
    }
  }

  private static String committed(String progress) throws Exception {
    Optional<ProgressOffset> offset = ProgressStore.read(progress);
    return offset.map(ProgressOffset::toJson).orElse("nothing");
  }
}
