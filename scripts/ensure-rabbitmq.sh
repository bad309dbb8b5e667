#!/usr/bin/env bash
# Make sure a local RabbitMQ answers: start it if installed and stopped, install it (Debian,
# as root) if absent. Does nothing when RABBITMQ_URL is set.
#
# Where it should answer: LOCAL_RABBITMQ_HOST (127.0.0.1) and LOCAL_RABBITMQ_PORT (5672).
# Which node it starts: rabbitmq-server reads its own variables from the environment
# (RABBITMQ_NODENAME, RABBITMQ_CONFIG_FILE, RABBITMQ_MNESIA_BASE, ...); unset, the machine's.
set -euo pipefail

if [ -n "${RABBITMQ_URL:-}" ]; then
  echo "RABBITMQ_URL is set: using that broker"
  exit 0
fi

HOST="${LOCAL_RABBITMQ_HOST:-127.0.0.1}"
PORT="${LOCAL_RABBITMQ_PORT:-5672}"
START_TIMEOUT=120
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

answers() { (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; }

if answers; then
  echo "RabbitMQ answers on $HOST:$PORT"
  exit 0
fi

if ! command -v rabbitmq-server >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "RabbitMQ does not answer on $HOST:$PORT and is not installed; it cannot be installed" \
      "here (needs root and apt-get): install rabbitmq-server or set RABBITMQ_URL" >&2
    exit 1
  fi
  echo "installing RabbitMQ from Debian's packages (apt-get install rabbitmq-server, about a minute)"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q rabbitmq-server
fi

if ! answers; then
  echo "starting RabbitMQ (node ${RABBITMQ_NODENAME:-of this machine}, rabbitmq-server -detached)"
  # -detached returns at once, before the node has even registered: rabbitmqctl
  # await_startup would fail straight away, so wait for the AMQP listener instead.
  rabbitmq-server -detached || true
  echo "waiting for RabbitMQ on $HOST:$PORT (up to $START_TIMEOUT s)"
fi

for _ in $(seq 1 "$START_TIMEOUT"); do
  answers && { echo "RabbitMQ is up on $HOST:$PORT"; exit 0; }
  sleep 1
done
echo "RabbitMQ did not come up on $HOST:$PORT within $START_TIMEOUT s" >&2
exit 1
