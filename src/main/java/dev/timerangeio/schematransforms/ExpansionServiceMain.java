package dev.timerangeio.schematransforms;

import java.util.Arrays;
import org.apache.beam.sdk.expansion.service.ExpansionServer;
import org.apache.beam.sdk.expansion.service.ExpansionService;
import org.apache.beam.sdk.expansion.service.ExpansionServiceOptions;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The expansion service of the {@code -Pexpansion-service} jar: {@code java -jar
 * timerange-io-VERSION-expansion-service.jar PORT [ADDRESS] [--pipeline options]}.
 *
 * <p>Beam's own {@code ExpansionService.main} listens on every interface; an expansion service
 * builds transforms from whatever configuration it is sent (JDBC URLs it connects to while
 * expanding), so this one listens on 127.0.0.1 unless an address is given. Port 0 picks a free
 * port; the log line "listening on HOST:PORT" names it.
 */
public final class ExpansionServiceMain {
  private static final Logger LOG = LoggerFactory.getLogger(ExpansionServiceMain.class);

  private ExpansionServiceMain() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 1 || !args[0].matches("\\d{1,5}")) {
      throw new IllegalArgumentException(
          "usage: java -jar timerange-io-expansion-service.jar PORT [ADDRESS] [--option=value...]"
              + " (PORT 0 to 65535; ADDRESS defaults to 127.0.0.1), got "
              + Arrays.toString(args));
    }
    int port = Integer.parseInt(args[0]);
    int optionsFrom = args.length > 1 && !args[1].startsWith("--") ? 2 : 1;
    String address = optionsFrom == 2 ? args[1] : "127.0.0.1";
    PipelineOptionsFactory.register(ExpansionServiceOptions.class);
    PipelineOptions options =
        PipelineOptionsFactory.fromArgs(Arrays.copyOfRange(args, optionsFrom, args.length))
            .create();
    ExpansionService service = new ExpansionService(options, address + ":" + port);
    try (ExpansionServer server = ExpansionServer.create(service, address, port)) {
      LOG.info(
          "TimeRangeIO expansion service listening on {}:{}", server.getHost(), server.getPort());
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    try {
                      server.close();
                    } catch (Exception e) {
                      LOG.warn("Closing the expansion service failed", e);
                    }
                  }));
      Thread.currentThread().join();
    }
  }
}
