#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft) resolved from Maven Central.
#
#   kafka.sh fetch            resolve the broker jars into $PARCOURS_KAFKA_CACHE
#   kafka.sh cached           exit 0 if they are already there
#   kafka.sh start STATE_DIR  format KRaft storage, start on free loopback ports,
#                             wait until the broker answers, print its bootstrap address
#   kafka.sh stop STATE_DIR   stop the broker started in STATE_DIR (SIGTERM, then SIGKILL)
#   kafka.sh restart STATE_DIR  stop, then start again on the same ports and data (fault tests)
#
# No tarball is downloaded: pom.xml beside this script lists the artifacts and
# Maven resolves them with their transitive dependencies.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${PARCOURS_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/parcours/kafka-3.9.1}
heap=${PARCOURS_KAFKA_HEAP:--Xms256m -Xmx1g}

die() { echo "kafka.sh: $*" >&2; exit 1; }

need() {
  command -v java >/dev/null 2>&1 || die "Java 17+ is required (apt-get install openjdk-17-jre-headless)"
  local v; v=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)
  [ "${v:-0}" -ge 17 ] || die "Java 17+ is required, found Java ${v:-unknown}"
}

fetch() {
  if [ -f "$cache/.complete" ]; then return 0; fi
  command -v mvn >/dev/null 2>&1 || die "Maven is required to resolve Kafka (apt-get install maven)"
  mkdir -p "$cache"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$cache" -DincludeScope=runtime >&2 \
      || die "Maven could not resolve org.apache.kafka:kafka_2.13 (see output above)"
  touch "$cache/.complete"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start() {
  local state=${1:?usage: kafka.sh start STATE_DIR}
  need; fetch
  mkdir -p "$state"; state=$(cd "$state" && pwd)
  if [ -f "$state/broker.pid" ] && kill -0 "$(cat "$state/broker.pid")" 2>/dev/null; then
    cat "$state/bootstrap"; return 0
  fi
  local port cport
  port=$(free_port); cport=$(free_port)
  while [ "$cport" = "$port" ]; do cport=$(free_port); done
  rm -rf "$state/data"
  cat > "$state/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$state/data
num.partitions=4
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
# No time-based retention: tests, the demo and benchmarks replay history with its original
# record timestamps, which a time limit would delete as soon as a segment rolls.
log.retention.ms=-1
PROPS
  cat > "$state/log4j.properties" <<PROPS
log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$state/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaServer=INFO
log4j.logger.kafka.server.KafkaRaftServer=INFO
PROPS
  local cluster_id
  # "=" form: a base64 id may start with "-", which the tool would read as an option.
  cluster_id=$(python3 -c 'import base64,uuid; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')
  java -cp "$cache/*" -Dlog4j.configuration="file:$state/log4j.properties" kafka.tools.StorageTool \
      format --cluster-id="$cluster_id" -c "$state/server.properties" >"$state/format.log" 2>&1 \
      || die "storage format failed: $(tail -n 3 "$state/format.log")"
  echo "127.0.0.1:$port" > "$state/bootstrap"
  launch "$state"
}

launch() {
  local state=$1 port
  port=$(sed -n 's/^advertised.listeners=PLAINTEXT:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$state/server.properties")
  : > "$state/server.log"
  # shellcheck disable=SC2086
  nohup java $heap -XX:+UseG1GC -Djava.awt.headless=true \
      -Dlog4j.configuration="file:$state/log4j.properties" \
      -cp "$cache/*" kafka.Kafka "$state/server.properties" >"$state/stdout.log" 2>&1 &
  echo $! > "$state/broker.pid"
  local deadline=$((SECONDS + 90))
  until grep -q "Kafka Server started\|KafkaRaftServer.*started" "$state/server.log" 2>/dev/null \
        && python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null; do
    kill -0 "$(cat "$state/broker.pid")" 2>/dev/null || die "broker exited: $(tail -n 5 "$state/stdout.log")"
    [ $SECONDS -lt $deadline ] || { stop "$state"; die "broker did not start within 90 s"; }
    sleep 0.3
  done
  cat "$state/bootstrap"
}

restart() {
  local state=${1:?usage: kafka.sh restart STATE_DIR}
  [ -f "$state/server.properties" ] || die "no broker was started in $state"
  need; fetch
  stop "$state"
  launch "$state"
}

stop() {
  local state=${1:?usage: kafka.sh stop STATE_DIR}
  [ -f "$state/broker.pid" ] || return 0
  local pid; pid=$(cat "$state/broker.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$state/broker.pid"
}

case "${1:-}" in
  fetch) need; fetch; echo "$cache" ;;
  cached) [ -f "$cache/.complete" ] ;;
  start) start "${2:-}" ;;
  stop) stop "${2:-}" ;;
  restart) restart "${2:-}" ;;
  *) echo "usage: kafka.sh {fetch|cached|start STATE_DIR|stop STATE_DIR|restart STATE_DIR}" >&2; exit 2 ;;
esac
