#!/usr/bin/env bash
# Writes the Dataflow job spec of a sample to a file, without a network or a Google Cloud
# project: the samples' dataflow-runner profile runs JobSpec, which builds the sample's pipeline
# and runs it on the DataflowRunner with --templateLocation (the spec is written, nothing is
# submitted) and a placeholder project, a no-op path validator, credential factory and stager.
#
#   runners/dataflow/template.sh SAMPLE [OUTPUT] [sample and Dataflow options...]
#
# SAMPLE: Quickstart, PostgresCopy, HttpBackfill, StreamingCopy or LiveCopy. OUTPUT defaults to
# runners/dataflow/target/SAMPLE.json. The pipeline is built as for a real run: a JDBC source
# that reads Beam Rows learns its schema from the database then, so that database must answer.
# The library must be installed first (mvn -q install -DskipTests at the top).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SAMPLE="${1:?usage: $0 SAMPLE [OUTPUT] [options...]}"
shift
OUT="$HERE/target/$SAMPLE.json"
if [ $# -ge 1 ] && [ "${1#--}" = "$1" ]; then
  OUT="$1"
  shift
fi
mkdir -p "$(dirname "$OUT")"
OUT="$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")"
rm -f "$OUT"

(cd "$ROOT/samples" && mvn -q -B -Pdataflow-runner compile exec:java \
  -DmainClass=dev.timerangeio.samples.dataflow.JobSpec \
  -Dexec.args="$SAMPLE --templateLocation=$OUT $*")
if [ ! -s "$OUT" ]; then
  echo "No job spec was written to $OUT" >&2
  exit 1
fi
echo "Job spec of $SAMPLE written to $OUT"
