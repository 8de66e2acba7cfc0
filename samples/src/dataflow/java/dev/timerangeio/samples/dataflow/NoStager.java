package dev.timerangeio.samples.dataflow;

import com.google.api.services.dataflow.model.DataflowPackage;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.runners.dataflow.util.PackageUtil.StagedFile;
import org.apache.beam.runners.dataflow.util.Stager;
import org.apache.beam.sdk.options.PipelineOptions;

/**
 * A stager that uploads nothing: each file is listed in the job spec under the name Dataflow would
 * give it, so a spec can be written without a network ({@code --stagerClass}). A job submitted
 * for real stages with Beam's own {@code GcsStager}, the default.
 */
public final class NoStager implements Stager {
  private final String stagingLocation;

  private NoStager(String stagingLocation) {
    this.stagingLocation = stagingLocation;
  }

  /** How Beam makes a stager from the job's options. */
  public static NoStager fromOptions(PipelineOptions options) {
    String location =
        options
            .as(org.apache.beam.runners.dataflow.options.DataflowPipelineOptions.class)
            .getStagingLocation();
    return new NoStager(location == null ? "gs://staging-not-set" : location);
  }

  @Override
  public List<DataflowPackage> stageFiles(List<StagedFile> files) {
    List<DataflowPackage> packages = new ArrayList<>();
    for (StagedFile file : files) {
      packages.add(
          new DataflowPackage()
              .setName(file.getDestination())
              .setLocation(stagingLocation + "/" + file.getDestination()));
    }
    return packages;
  }

  @Override
  public DataflowPackage stageToFile(byte[] bytes, String target) {
    return new DataflowPackage().setName(target).setLocation(stagingLocation + "/" + target);
  }
}
