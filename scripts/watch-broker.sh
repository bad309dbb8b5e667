#!/usr/bin/env bash
# Watch that the machine's RabbitMQ keeps answering while something else runs (CI runs the
# test suite beside it: the suite must never stop or restart a broker it did not start).
# Probes HOST:PORT every 0.5 s. Until the broker first answers (the suite may be installing or
# starting it) a refusal is expected; after that, the first refusal ends the watch with exit 1.
# Runs until killed when all is well.
set -uo pipefail

HOST="${1:-${LOCAL_RABBITMQ_HOST:-127.0.0.1}}"
PORT="${2:-${LOCAL_RABBITMQ_PORT:-5672}}"

answers() { (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; }

echo "watch: waiting for RabbitMQ on $HOST:$PORT to answer"
until answers; do sleep 0.5; done
echo "watch: RabbitMQ answers on $HOST:$PORT; probing every 0.5 s"
while answers; do sleep 0.5; done
echo "watch: RabbitMQ on $HOST:$PORT stopped answering at $(date -u +%H:%M:%S) UTC:" \
  "something stopped or restarted the machine's broker" >&2
exit 1
