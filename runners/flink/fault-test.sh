#!/usr/bin/env bash
# The exactly-once fault test on a real Flink cluster (cluster.sh: 1 JobManager, 2 TaskManagers,
# separate JVMs on 127.0.0.1): a streaming PostgreSQL -> PostgreSQL copy (the LiveCopy sample,
# parallelism 2, checkpoints every 2 s, hashmap state) while a writer inserts rows the whole time.
#
#   1. kill -9 the TaskManager that holds the tasks FAULT_KILLS times (default 3) at seeded random
#      points, restarting it each time; stop the writer, wait for the copy to catch up, compare;
#   2. stop the job with a savepoint, resubmit from it, insert more, compare again;
#   3. kill -9 the whole cluster, start it again, submit a new job (no savepoint, the same
#      progress location), insert more, compare again.
#
# "Compare": the copy holds every source row (id, time, payload), no row twice, nothing else.
# The last line says FAULT TEST PASSED or FAULT TEST FAILED, with the figures. Needs PostgreSQL
# on 127.0.0.1:5432 (database test, user postgres, no password), as .ci/run starts it.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
REST="http://127.0.0.1:8081"
WORK="$HERE/target/fault-test"
SRC=fault_source
COPY=fault_copy
PROGRESS="$WORK/progress.json"
KILLS="${FAULT_KILLS:-3}"
RANDOM="${FAULT_SEED:-20261130}"
CATCH_UP_SECONDS="${FAULT_CATCH_UP_SECONDS:-180}"
PSQL=(psql -h 127.0.0.1 -U postgres -d test -qtAX -v ON_ERROR_STOP=1)
CLUSTER="$HERE/cluster.sh"

log() { echo "[fault-test $(date +%H:%M:%S)] $*"; }
fail() {
  echo "FAULT TEST FAILED: $*"
  exit 1
}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

WRITER_PID=""
stop_writer() {
  if [ -n "$WRITER_PID" ]; then
    rm -f "$WORK/writing"
    wait "$WRITER_PID" 2>/dev/null || true
    WRITER_PID=""
  fi
}
cleanup() {
  stop_writer
  "$CLUSTER" stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

# Inserts 5 rows about every 0.1 s, each stamped with the time it is inserted, until stopped.
start_writer() {
  touch "$WORK/writing"
  (
    while [ -f "$WORK/writing" ]; do
      "${PSQL[@]}" -c "INSERT INTO $SRC SELECT nextval('${SRC}_ids'), clock_timestamp(),
        'row ' || currval('${SRC}_ids') FROM generate_series(1, 5)" || true
      sleep 0.1
    done
  ) &
  WRITER_PID=$!
}

count() { "${PSQL[@]}" -c "SELECT count(*) FROM $1"; }

# Waits until the copy holds as many rows as the source, then compares them row by row.
catch_up_and_compare() {
  local what="$1" started now source copied
  started=$(date +%s)
  while true; do
    source=$(count $SRC)
    copied=$(count $COPY 2>/dev/null || echo 0)
    now=$(date +%s)
    if [ "$source" = "$copied" ]; then
      break
    fi
    if [ $((now - started)) -ge "$CATCH_UP_SECONDS" ]; then
      fail "$what: the copy holds $copied rows, the source $source, after ${CATCH_UP_SECONDS} s"
    fi
    sleep 1
  done
  local missing twice extra
  missing=$("${PSQL[@]}" -c "SELECT count(*) FROM (SELECT id, event_time AT TIME ZONE 'UTC',
    payload FROM $SRC EXCEPT SELECT id, event_time, payload FROM $COPY) m")
  extra=$("${PSQL[@]}" -c "SELECT count(*) FROM (SELECT id, event_time, payload FROM $COPY
    EXCEPT SELECT id, event_time AT TIME ZONE 'UTC', payload FROM $SRC) e")
  twice=$("${PSQL[@]}" -c "SELECT count(*) - count(DISTINCT id) FROM $COPY")
  if [ "$missing" != 0 ] || [ "$extra" != 0 ] || [ "$twice" != 0 ]; then
    fail "$what: $missing source rows missing from the copy, $extra extra, $twice twice"
  fi
  CAUGHT_UP=$(( $(date +%s) - started ))
  log "$what: copy == source, $source rows, none missing, none twice; caught up in ${CAUGHT_UP} s"
  ROWS=$source
}

submit() {
  local out
  out=$(TIMERANGEIO_SKIP_BUILD=1 "$HERE/submit.sh" LiveCopy --sourceTable=$SRC --copyTable=$COPY \
    --progressLocation="$PROGRESS" "$@" 2>"$WORK/submit.log") ||
    fail "submitting the job failed: $(tail -5 "$WORK/submit.log")"
  JOB=$(echo "$out" | sed -n 's/^job id: //p')
  [ -n "$JOB" ] || fail "no job id from submit.sh: $out"
  log "submitted job $JOB $*"
}

checkpoints() { curl -sf "$REST/jobs/$JOB/checkpoints" | json "d['counts']['$1']"; }

wait_for_checkpoint() {
  for _ in $(seq 1 120); do
    if [ "$(checkpoints completed 2>/dev/null || echo 0)" -ge "${1:-1}" ]; then
      return 0
    fi
    sleep 1
  done
  fail "job $JOB completed no checkpoint within 120 s"
}

# The TaskManager number (1 or 2) with the most slots in use.
busiest_taskmanager() {
  curl -sf "$REST/taskmanagers" | json \
    "max(d['taskmanagers'], key=lambda t: t['slotsNumber'] - t['freeSlots'])['id'].split('-')[1]"
}

wait_for_taskmanagers() {
  for _ in $(seq 1 60); do
    if [ "$(curl -sf "$REST/overview" | json "d['taskmanagers']" 2>/dev/null)" = 2 ]; then
      return 0
    fi
    sleep 1
  done
  fail "the cluster did not get back to 2 TaskManagers"
}

mkdir -p "$WORK"
rm -f "$PROGRESS" "$PROGRESS".*
"$CLUSTER" stop >/dev/null 2>&1 || true
"${PSQL[@]}" -c "DROP TABLE IF EXISTS $SRC, $COPY; DROP SEQUENCE IF EXISTS ${SRC}_ids;
  CREATE SEQUENCE ${SRC}_ids;
  CREATE TABLE $SRC (id BIGINT PRIMARY KEY, event_time TIMESTAMPTZ NOT NULL, payload TEXT)"
if [ -z "${TIMERANGEIO_SKIP_BUILD:-}" ]; then
  log "building the library and the samples' application jar"
  (cd "$ROOT" && mvn -q -B install -DskipTests)
  (cd "$ROOT/samples" && mvn -q -B package -DskipTests)
fi
"$CLUSTER" start

# 1. TaskManager kills while the writer writes.
start_writer
submit
wait_for_checkpoint 1
RESTORES=0
for k in $(seq 1 "$KILLS"); do
  sleep $((4 + RANDOM % 8))
  tm=$(busiest_taskmanager)
  before=$(checkpoints restored)
  "$CLUSTER" kill-tm "$tm" >/dev/null
  log "kill $k: kill -9 TaskManager $tm (the one holding the tasks)"
  for _ in $(seq 1 120); do
    [ "$(checkpoints restored 2>/dev/null || echo "$before")" -gt "$before" ] && break
    sleep 1
  done
  after=$(checkpoints restored)
  [ "$after" -gt "$before" ] || fail "kill $k: the job did not restore from a checkpoint in 120 s"
  RESTORES=$after
  "$CLUSTER" start-tm "$tm" >/dev/null
  wait_for_taskmanagers
  log "kill $k: restored from checkpoint $after time(s); TaskManager $tm back"
  wait_for_checkpoint $(( $(checkpoints completed) + 1 ))
done
stop_writer
catch_up_and_compare "after $KILLS TaskManager kills"
ROWS_KILLS=$ROWS
CAUGHT_UP_KILLS=$CAUGHT_UP
RESTORES_KILLS=$RESTORES

# 2. Stop with a savepoint, resume from it, write more.
trigger=$(curl -sf -X POST -H 'Content-Type: application/json' \
  -d "{\"targetDirectory\": \"file://$HERE/target/cluster/savepoints\", \"drain\": false}" \
  "$REST/jobs/$JOB/stop" | json "d['request-id']")
SAVEPOINT=""
for _ in $(seq 1 120); do
  status=$(curl -sf "$REST/jobs/$JOB/savepoints/$trigger")
  if [ "$(echo "$status" | json "d['status']['id']")" = COMPLETED ]; then
    SAVEPOINT=$(echo "$status" | json "d['operation'].get('location', '')")
    break
  fi
  sleep 1
done
[ -n "$SAVEPOINT" ] || fail "stop-with-savepoint of job $JOB did not complete: $status"
log "stopped job $JOB with savepoint $SAVEPOINT"
start_writer
submit --savepointPath="$SAVEPOINT"
wait_for_checkpoint 1
sleep 10
stop_writer
catch_up_and_compare "after resuming from the savepoint"
ROWS_SAVEPOINT=$ROWS
CAUGHT_UP_SAVEPOINT=$CAUGHT_UP

# 3. The whole cluster killed; a new job (no savepoint) resumes from the progress location.
start_writer
sleep 5
"$CLUSTER" kill-all >/dev/null
log "kill -9 of the whole cluster (JobManager and both TaskManagers)"
"$CLUSTER" start >/dev/null
submit
wait_for_checkpoint 1
sleep 10
stop_writer
catch_up_and_compare "after a cluster-wide kill and a relaunch from the progress location"
ROWS_RELAUNCH=$ROWS
CAUGHT_UP_RELAUNCH=$CAUGHT_UP

echo "FAULT TEST PASSED: $KILLS TaskManager kills, $RESTORES_KILLS checkpoint restores," \
  "$ROWS_KILLS rows exact (caught up in ${CAUGHT_UP_KILLS} s); savepoint resume:" \
  "$ROWS_SAVEPOINT rows exact (${CAUGHT_UP_SAVEPOINT} s); cluster-wide kill and relaunch:" \
  "$ROWS_RELAUNCH rows exact (${CAUGHT_UP_RELAUNCH} s)"
