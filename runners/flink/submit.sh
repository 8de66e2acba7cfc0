#!/usr/bin/env bash
# Submits a sample to the Flink cluster of cluster.sh and prints its job id.
#
#   runners/flink/submit.sh SAMPLE [sample and Beam options...]
#
# SAMPLE is a class of samples/ (Quickstart, PostgresCopy, HttpBackfill, LiveCopy, ...). The
# script installs the library, builds the samples' application jar (the samples with this
# library, HikariCP and the JDBC drivers; Beam and Flink are in the cluster's lib/) and runs the
# sample's main with the cluster's lib/ on its classpath, so the job's classes and Flink's agree;
# the jar is staged with the job (--filesToStage). A streaming job (LiveCopy, or --streaming=true)
# is submitted detached with checkpoints every 2 s; a batch job runs attached, so the sample's own
# check runs when it ends. An option given here replaces the script's default of that name (e.g.
# --parallelism=1); --savepointPath=... resumes a job from a savepoint.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LIB="$HERE/target/lib"
REST="http://127.0.0.1:8081"

SAMPLE="${1:?usage: $0 SAMPLE [options...]}"
shift
case "$SAMPLE" in
  *.*) MAIN="$SAMPLE" ;;
  *) MAIN="dev.timerangeio.samples.$SAMPLE" ;;
esac

if ! curl -sf "$REST/overview" >/dev/null; then
  echo "No Flink cluster answers at $REST: run runners/flink/cluster.sh start first" >&2
  exit 1
fi

if [ -z "${TIMERANGEIO_SKIP_BUILD:-}" ]; then
  (cd "$ROOT" && mvn -q -B install -DskipTests)
  (cd "$ROOT/samples" && mvn -q -B package -DskipTests)
fi
APP="$(ls "$ROOT"/samples/target/timerange-io-samples-*-app.jar)"

# The cluster's defaults; an option the caller gives replaces the default of the same name (Beam
# rejects an option given twice).
STREAMING=false
if [ "$SAMPLE" = LiveCopy ]; then
  STREAMING=true
fi
for arg in "$@"; do
  case "$arg" in
    --streaming | --streaming=true) STREAMING=true ;;
    --streaming=false) STREAMING=false ;;
  esac
done
DEFAULTS=(--runner=FlinkRunner --flinkMaster=127.0.0.1:8081 --filesToStage="$APP" --parallelism=2
  --checkpointingInterval=2000 --checkpointingMode=EXACTLY_ONCE --numberOfExecutionRetries=100
  --executionRetryDelay=1000)
if [ "$STREAMING" = true ]; then
  DEFAULTS+=(--attachedMode=false --streaming=true)
else
  DEFAULTS+=(--attachedMode=true)
fi
OPTIONS=()
for default in "${DEFAULTS[@]}"; do
  name="${default%%=*}"
  given=false
  for arg in "$@"; do
    if [ "$arg" = "$name" ] || [ "${arg%%=*}" = "$name" ]; then
      given=true
    fi
  done
  if [ "$given" = false ]; then
    OPTIONS+=("$default")
  fi
done

jobs_now() {
  curl -sf "$REST/jobs" | tr '{' '\n' | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' | sort
}
BEFORE="$(jobs_now)"

java -XX:+ExitOnOutOfMemoryError --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED \
  -cp "$LIB/*:$APP" "$MAIN" "${OPTIONS[@]}" "$@"

for _ in $(seq 1 30); do
  JOB="$(comm -13 <(echo "$BEFORE") <(jobs_now) | head -1)"
  if [ -n "$JOB" ]; then
    echo "job id: $JOB"
    exit 0
  fi
  sleep 1
done
echo "The cluster lists no new job" >&2
exit 1
