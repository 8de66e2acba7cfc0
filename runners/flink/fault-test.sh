#!/usr/bin/env bash
# The exactly-once fault test on a real Flink cluster (cluster.sh: 1 JobManager, 2 TaskManagers,
# separate JVMs on 127.0.0.1): a streaming PostgreSQL -> PostgreSQL copy (the LiveCopy sample,
# parallelism 2, checkpoints every 2 s, hashmap state) while a writer inserts rows the whole time.
#
#   1. kill -9 the TaskManager that holds the tasks FAULT_KILLS times (default 3) at seeded random
#      points, restarting it each time; stop the writer, wait for the copy to catch up, compare;
#   2. stop the job with a savepoint, resubmit from it (checked: the job restored that savepoint),
#      insert more, compare again;
#   3. kill -9 the whole cluster, start it again, submit a new job (no savepoint, the same
#      progress location; checked: it resumed at the committed offset), insert more, compare.
#
# "Compare": the copy holds exactly the source's rows: as many rows, and no (id, time, payload)
# of either table missing from the other. A row can't be stored twice: the copy's primary key is
# the row's idempotency key, so equal counts with nothing missing mean nothing twice. Each phase
# must also have added rows, so a writer that failed can't pass for a quiet source. The cluster
# runs in a time zone far from UTC (TZ, default America/St_Johns, -03:30) so a zone slip shows.
# The last line says FAULT TEST PASSED or FAULT TEST FAILED, with the figures. Needs PostgreSQL
# on 127.0.0.1:5432 (database test, user postgres, no password), psql, curl and python3.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
REST="http://127.0.0.1:8081"
WORK="$HERE/target/fault-test"
LOGS="$HERE/target/cluster/logs"
SRC=fault_source
COPY=fault_copy
PROGRESS="$WORK/progress.json"
KILLS="${FAULT_KILLS:-3}"
RANDOM="${FAULT_SEED:-20261130}"
CATCH_UP_SECONDS="${FAULT_CATCH_UP_SECONDS:-180}"
MIN_NEW_ROWS=100
export TZ="${TZ:-America/St_Johns}"
PSQL=(psql -h 127.0.0.1 -U postgres -d test -qtAX -v ON_ERROR_STOP=1)
CLUSTER="$HERE/cluster.sh"

log() { echo "[fault-test $(date -u +%H:%M:%S)] $*"; }
# On stderr, so it shows even from inside a command substitution.
fail() {
  echo "FAULT TEST FAILED: $*" >&2
  exit 1
}
for tool in psql curl python3 java mvn; do
  command -v "$tool" >/dev/null || fail "$tool is not installed"
done

# A GET of the REST API, retried: the JobManager may be busy restarting a job.
rest() {
  local answer
  for _ in 1 2 3 4 5; do
    if answer=$(curl -sf "$REST$1"); then
      echo "$answer"
      return 0
    fi
    sleep 1
  done
  fail "GET $REST$1 did not answer"
}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
sql() { "${PSQL[@]}" -c "$1" || fail "SQL failed: $1"; }

# The writer: 5 rows about every 0.1 s, each stamped with the time it is inserted, until its flag
# file goes. Its PID is kept, so a run that was killed can't leave it writing into the next one.
WRITER_PID=""
start_writer() {
  touch "$WORK/writing"
  (
    while [ -f "$WORK/writing" ]; do
      "${PSQL[@]}" -c "INSERT INTO $SRC SELECT nextval('${SRC}_ids'), clock_timestamp(),
        'row ' || currval('${SRC}_ids') FROM generate_series(1, 5)" >/dev/null 2>>"$WORK/writer.err" ||
        echo failed >> "$WORK/writer.failures"
      sleep 0.1
    done
  ) &
  WRITER_PID=$!
  echo "$WRITER_PID" > "$WORK/writer.pid"
}
stop_writer() {
  rm -f "$WORK/writing"
  if [ -n "$WRITER_PID" ]; then
    wait "$WRITER_PID" 2>/dev/null || true
    WRITER_PID=""
  fi
  rm -f "$WORK/writer.pid"
}
cleanup() {
  stop_writer
  "$CLUSTER" stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

count() { sql "SELECT count(*) FROM $1"; }

# Waits until the copy holds as many rows as the source, then compares them row by row.
LAST_ROWS=0
catch_up_and_compare() {
  local what="$1" started source copied missing extra
  started=$(date +%s)
  source=$(count $SRC)
  [ $((source - LAST_ROWS)) -ge $MIN_NEW_ROWS ] ||
    fail "$what: the writer added $((source - LAST_ROWS)) rows (at least $MIN_NEW_ROWS expected): $(tail -3 "$WORK/writer.err" 2>/dev/null)"
  while true; do
    copied=$(count $COPY)
    if [ "$source" = "$copied" ]; then
      break
    fi
    if [ $(($(date +%s) - started)) -ge "$CATCH_UP_SECONDS" ]; then
      fail "$what: the copy holds $copied rows, the source $source, after ${CATCH_UP_SECONDS} s"
    fi
    sleep 1
  done
  CAUGHT_UP=$(($(date +%s) - started))
  missing=$(sql "SELECT count(*) FROM (SELECT id, event_time AT TIME ZONE 'UTC', payload
    FROM $SRC EXCEPT SELECT id, event_time, payload FROM $COPY) m")
  extra=$(sql "SELECT count(*) FROM (SELECT id, event_time, payload FROM $COPY
    EXCEPT SELECT id, event_time AT TIME ZONE 'UTC', payload FROM $SRC) e")
  if [ "$missing" != 0 ] || [ "$extra" != 0 ]; then
    fail "$what: $missing source rows missing from the copy, $extra rows in it that the source lacks"
  fi
  log "$what: copy == source, $source rows ($((source - LAST_ROWS)) new), none missing, none" \
    "extra; caught up in ${CAUGHT_UP} s"
  ROWS=$source
  LAST_ROWS=$source
}

submit() {
  local out
  out=$(TIMERANGEIO_SKIP_BUILD=1 "$HERE/submit.sh" LiveCopy --sourceTable=$SRC --copyTable=$COPY \
    --progressLocation="$PROGRESS" --ingestionLagMillis=5000 "$@" 2>"$WORK/submit.log") ||
    fail "submitting the job failed: $(tail -5 "$WORK/submit.log")"
  JOB=$(echo "$out" | sed -n 's/^job id: //p')
  [ -n "$JOB" ] || fail "no job id from submit.sh: $out"
  log "submitted job $JOB $*"
}

checkpoints() { rest "/jobs/$JOB/checkpoints" | json "d['counts']['$1']"; }

wait_for_checkpoint() {
  for _ in $(seq 1 120); do
    if [ "$(checkpoints completed)" -ge "$1" ]; then
      return 0
    fi
    sleep 1
  done
  fail "job $JOB completed no checkpoint number $1 within 120 s"
}

# The TaskManager number (1 or 2) with the most slots in use: the one holding the tasks.
busiest_taskmanager() {
  rest /taskmanagers |
    json "max(d['taskmanagers'], key=lambda t: t['slotsNumber'] - t['freeSlots'])['id'].split('-')[1]"
}

wait_for_taskmanagers() {
  for _ in $(seq 1 60); do
    if [ "$(rest /overview | json "d['taskmanagers']")" = 2 ]; then
      return 0
    fi
    sleep 1
  done
  fail "the cluster did not get back to 2 TaskManagers"
}

mkdir -p "$WORK"
if [ -f "$WORK/writer.pid" ]; then
  kill "$(cat "$WORK/writer.pid")" 2>/dev/null || true
fi
rm -f "$WORK/writing" "$WORK/writer.pid" "$WORK/writer.err" "$WORK/writer.failures"
rm -f "$PROGRESS" "$PROGRESS".*
"$CLUSTER" stop >/dev/null 2>&1 || true
sql "DROP TABLE IF EXISTS $SRC, $COPY; DROP SEQUENCE IF EXISTS ${SRC}_ids;
  CREATE SEQUENCE ${SRC}_ids;
  CREATE TABLE $SRC (id BIGINT PRIMARY KEY, event_time TIMESTAMPTZ NOT NULL, payload TEXT)" >/dev/null
if [ -z "${TIMERANGEIO_SKIP_BUILD:-}" ]; then
  log "building the library and the samples' application jar"
  (cd "$ROOT" && mvn -q -B install -DskipTests)
  (cd "$ROOT/samples" && mvn -q -B package -DskipTests)
fi
rm -rf "$LOGS"
"$CLUSTER" start
log "the cluster's JVMs run in time zone $TZ"

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
  after=$before
  for _ in $(seq 1 120); do
    after=$(checkpoints restored)
    [ "$after" -gt "$before" ] && break
    sleep 1
  done
  [ "$after" -gt "$before" ] || fail "kill $k: the job did not restore from a checkpoint in 120 s"
  RESTORES=$after
  "$CLUSTER" start-tm "$tm" >/dev/null
  wait_for_taskmanagers
  log "kill $k: restored from a checkpoint ($after restores so far); TaskManager $tm back"
  wait_for_checkpoint $(($(checkpoints completed) + 1))
done
stop_writer
catch_up_and_compare "after $KILLS TaskManager kills"
ROWS_KILLS=$ROWS
CAUGHT_UP_KILLS=$CAUGHT_UP

# 2. Stop with a savepoint, resume from it, write more.
trigger=$(curl -sf -X POST -H 'Content-Type: application/json' \
  -d "{\"targetDirectory\": \"file://$HERE/target/cluster/savepoints\", \"drain\": false}" \
  "$REST/jobs/$JOB/stop" | json "d['request-id']") || fail "stop-with-savepoint was refused"
SAVEPOINT=""
status=""
for _ in $(seq 1 120); do
  status=$(rest "/jobs/$JOB/savepoints/$trigger")
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
RESTORED=$(rest "/jobs/$JOB/checkpoints" | json \
  "(d['latest'].get('restored') or {}).get('external_path', '') if (d['latest'].get('restored') or {}).get('is_savepoint') else ''")
[ "$RESTORED" = "$SAVEPOINT" ] ||
  fail "job $JOB did not restore the savepoint $SAVEPOINT (restored: '$RESTORED')"
log "job $JOB restored savepoint $RESTORED"
sleep 10
stop_writer
catch_up_and_compare "after resuming from the savepoint"
ROWS_SAVEPOINT=$ROWS
CAUGHT_UP_SAVEPOINT=$CAUGHT_UP

# 3. The whole cluster killed; a new job (no savepoint) resumes from the progress location.
start_writer
sleep 5
"$CLUSTER" kill-all >/dev/null
# Read after the kill, so nothing can change it any more: the offset stored before the kill.
COMMITTED=$(python3 -c "import json; print(json.dumps(json.load(open('$PROGRESS')), sort_keys=True))")
log "kill -9 of the whole cluster (JobManager and both TaskManagers); committed position $COMMITTED"
# The new cluster's logs start empty, so what they say is the relaunched job's.
mkdir -p "$LOGS/before-relaunch"
mv "$LOGS"/*.out "$LOGS/before-relaunch/"
"$CLUSTER" start >/dev/null
submit
wait_for_checkpoint 1
# The read logs 'resuming at the committed offset {"timestamp": ...} from <location>; ...': each
# such line must name exactly the offset stored before the kill, not merely say it resumed.
RESUMED=$(cat "$LOGS"/tm-*.out | { grep "resuming at the committed offset" || true; } |
  sed -n 's/.*resuming at the committed offset \({[^}]*}\) from .*/\1/p' |
  python3 -c "import json, sys; [print(json.dumps(json.loads(l), sort_keys=True)) for l in sys.stdin]")
[ -n "$RESUMED" ] || fail "the relaunched job did not log resuming at a committed offset (expected $COMMITTED)"
while IFS= read -r resumed; do
  [ "$resumed" = "$COMMITTED" ] ||
    fail "the relaunched job resumed at $resumed, not at the offset committed before the kill, $COMMITTED"
done <<< "$RESUMED"
log "the relaunched job resumed at the committed offset $COMMITTED (log of the read)"
sleep 10
stop_writer
catch_up_and_compare "after a cluster-wide kill and a relaunch from the progress location"
ROWS_RELAUNCH=$ROWS
CAUGHT_UP_RELAUNCH=$CAUGHT_UP

WRITER_FAILURES=0
if [ -f "$WORK/writer.failures" ]; then
  WRITER_FAILURES=$(wc -l < "$WORK/writer.failures")
fi
echo "FAULT TEST PASSED: $KILLS TaskManager kills, $RESTORES checkpoint restores," \
  "$ROWS_KILLS rows exact (caught up in ${CAUGHT_UP_KILLS} s); savepoint resume:" \
  "$ROWS_SAVEPOINT rows exact (${CAUGHT_UP_SAVEPOINT} s); cluster-wide kill and relaunch:" \
  "$ROWS_RELAUNCH rows exact (${CAUGHT_UP_RELAUNCH} s); TZ $TZ; $WRITER_FAILURES failed inserts"
