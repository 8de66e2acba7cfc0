#!/usr/bin/env bash
# A Flink 1.19 session cluster on 127.0.0.1: one JobManager and two TaskManagers, each a JVM of
# its own, started from Maven artifacts (there is no flink-dist here; see pom.xml next to this).
#
#   runners/flink/cluster.sh start             # waits until the REST API reports both TaskManagers
#   runners/flink/cluster.sh status            # the REST overview, and which processes run
#   runners/flink/cluster.sh stop              # ends exactly the processes it started (by PID)
#   runners/flink/cluster.sh kill-tm N         # kill -9 TaskManager N (1 or 2), for fault tests
#   runners/flink/cluster.sh start-tm N        # start TaskManager N again
#   runners/flink/cluster.sh kill-all          # kill -9 every process of the cluster
#
# Sized for 2 cores and 24 GiB: JobManager 1 GB, each TaskManager 1.7 GB with 2 slots.
# Everything lives under runners/flink/target/cluster (conf, logs, PIDs, checkpoints, savepoints);
# logs are appended to, so a killed TaskManager's log survives its restart. The JVMs take the
# time zone of TZ, like any JVM. Needs java, mvn and curl.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
LIB="$HERE/target/lib"
WORK="$HERE/target/cluster"
CONF="$WORK/conf"
REST="http://127.0.0.1:8081"

# Java 17 needs what Flink's own scripts open up.
JAVA17_FLAGS=(
  --add-exports=java.base/sun.net.util=ALL-UNNAMED
  --add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED
  --add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED
  --add-opens=java.base/java.lang=ALL-UNNAMED
  --add-opens=java.base/java.net=ALL-UNNAMED
  --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens=java.base/java.text=ALL-UNNAMED
  --add-opens=java.base/java.time=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED
)

lib() {
  # Collected again whenever pom.xml changes: the marker holds the pom's checksum.
  local want
  want="$(sha256sum "$HERE/pom.xml" | cut -d' ' -f1)"
  if [ "$(cat "$LIB/.complete" 2>/dev/null)" != "$want" ]; then
    echo "Collecting the cluster's jars into $LIB (about 160 MB from Maven Central)"
    rm -rf "$LIB"
    mvn -q -B -f "$HERE/pom.xml" \
      org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
      -DoutputDirectory="$LIB"
    echo "$want" > "$LIB/.complete"
  fi
}

configure() {
  mkdir -p "$CONF" "$WORK/logs" "$WORK/tmp" "$WORK/checkpoints" "$WORK/savepoints" "$WORK/pids"
  cat > "$CONF/flink-conf.yaml" <<EOF
jobmanager.rpc.address: 127.0.0.1
jobmanager.bind-host: 127.0.0.1
jobmanager.rpc.port: 6123
taskmanager.bind-host: 127.0.0.1
taskmanager.host: 127.0.0.1
taskmanager.rpc.port: 6130-6140
rest.address: 127.0.0.1
rest.bind-address: 127.0.0.1
rest.port: 8081
blob.server.port: 6124
jobmanager.memory.process.size: 1024m
taskmanager.memory.process.size: 1728m
taskmanager.memory.managed.fraction: 0.2
taskmanager.numberOfTaskSlots: 2
parallelism.default: 2
heartbeat.interval: 1000
heartbeat.timeout: 6000
restart-strategy.type: fixed-delay
restart-strategy.fixed-delay.attempts: 1000
restart-strategy.fixed-delay.delay: 2 s
state.backend.type: hashmap
state.checkpoints.dir: file://$WORK/checkpoints
state.savepoints.dir: file://$WORK/savepoints
io.tmp.dirs: $WORK/tmp
web.tmpdir: $WORK/tmp
blob.storage.directory: $WORK/tmp
EOF
}

# BashJavaUtils prints the JVM arguments (line 1) and dynamic properties (line 2) Flink's own
# scripts would use for this configuration.
resource_params() {
  java -cp "$LIB/*" org.apache.flink.runtime.util.bash.BashJavaUtils "$1" --configDir "$CONF" 2>/dev/null |
    sed -n 's/^BASH_JAVA_UTILS_EXEC_RESULT://p'
}

# Whether the process of $1's PID file runs and is ours: a Flink JVM with this cluster's conf
# directory on its command line (a PID the system reused after a reboot is someone else's).
alive() {
  local pidfile="$WORK/pids/$1.pid" pid
  [ -f "$pidfile" ] || return 1
  pid="$(cat "$pidfile")"
  kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$CONF"
}

launch() {
  local name="$1" main="$2" kind="$3"
  shift 3
  local params jvm dynamic
  params="$(resource_params "$kind")"
  jvm="$(echo "$params" | sed -n 1p)"
  dynamic="$(echo "$params" | sed -n 2p)"
  # shellcheck disable=SC2086 # Flink's argument lines are meant to be split.
  # -XX:+ExitOnOutOfMemoryError: a TaskManager out of memory exits (and its tasks fail over)
  # instead of spinning in garbage collection.
  nohup java $jvm -XX:+ExitOnOutOfMemoryError "${JAVA17_FLAGS[@]}" -cp "$LIB/*" \
    "$main" --configDir "$CONF" $dynamic "$@" >> "$WORK/logs/$name.out" 2>&1 &
  echo $! > "$WORK/pids/$name.pid"
}

start_tm() {
  local n="$1"
  if alive "tm-$n"; then
    echo "TaskManager $n already runs (PID $(cat "$WORK/pids/tm-$n.pid"))"
    return
  fi
  launch "tm-$n" org.apache.flink.runtime.taskexecutor.TaskManagerRunner GET_TM_RESOURCE_PARAMS \
    -D "taskmanager.resource-id=tm-$n"
}

taskmanagers() {
  curl -sf "$REST/overview" | sed -n 's/.*"taskmanagers":\([0-9]*\).*/\1/p'
}

wait_for_taskmanagers() {
  local want="$1"
  for _ in $(seq 1 120); do
    if ! alive jm; then
      echo "The JobManager exited; its log: $WORK/logs/jm.out" >&2
      tail -20 "$WORK/logs/jm.out" >&2
      return 1
    fi
    if [ "$(taskmanagers 2>/dev/null || true)" = "$want" ]; then
      return 0
    fi
    sleep 1
  done
  echo "The cluster did not report $want TaskManagers within 120 s; logs in $WORK/logs" >&2
  return 1
}

stop_pid() {
  local name="$1" pidfile="$WORK/pids/$1.pid"
  if alive "$name"; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    for _ in $(seq 1 30); do
      alive "$name" || break
      sleep 1
    done
    if alive "$name"; then
      kill -9 "$(cat "$pidfile")" 2>/dev/null || true
    fi
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  start)
    lib
    configure
    if alive jm; then
      echo "The JobManager already runs (PID $(cat "$WORK/pids/jm.pid"))"
    elif curl -sf "$REST/overview" >/dev/null 2>&1; then
      echo "Another Flink cluster already answers at $REST; stop it first" >&2
      exit 1
    else
      launch jm org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint \
        GET_JM_RESOURCE_PARAMS
    fi
    start_tm 1
    start_tm 2
    wait_for_taskmanagers 2
    echo "Flink is up at $REST: JobManager PID $(cat "$WORK/pids/jm.pid"), TaskManagers" \
      "$(cat "$WORK/pids/tm-1.pid") and $(cat "$WORK/pids/tm-2.pid")"
    ;;
  stop)
    for name in tm-1 tm-2 jm; do
      stop_pid "$name"
    done
    echo "Flink stopped"
    ;;
  status)
    for name in jm tm-1 tm-2; do
      if alive "$name"; then
        echo "$name: PID $(cat "$WORK/pids/$name.pid")"
      else
        echo "$name: not running"
      fi
    done
    curl -sf "$REST/overview" && echo || echo "REST API at $REST: no answer"
    ;;
  kill-tm)
    n="${2:?kill-tm needs a TaskManager number, 1 or 2}"
    if alive "tm-$n"; then
      kill -9 "$(cat "$WORK/pids/tm-$n.pid")" 2>/dev/null || true
      rm -f "$WORK/pids/tm-$n.pid"
      echo "killed TaskManager $n"
    else
      echo "TaskManager $n is not running" >&2
      exit 1
    fi
    ;;
  start-tm)
    n="${2:?start-tm needs a TaskManager number, 1 or 2}"
    start_tm "$n"
    ;;
  kill-all)
    for name in tm-1 tm-2 jm; do
      if alive "$name"; then
        kill -9 "$(cat "$WORK/pids/$name.pid")" 2>/dev/null || true
      fi
      rm -f "$WORK/pids/$name.pid"
    done
    echo "killed every process of the cluster"
    ;;
  *)
    echo "usage: $0 start|stop|status|kill-tm N|start-tm N|kill-all" >&2
    exit 2
    ;;
esac
