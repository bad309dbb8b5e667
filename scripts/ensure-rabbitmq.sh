#!/usr/bin/env bash
# Make sure a local RabbitMQ answers on 127.0.0.1:5672: start it if installed and stopped,
# install it (Debian, as root) if absent. Does nothing when RABBITMQ_URL is set.
set -euo pipefail

if [ -n "${RABBITMQ_URL:-}" ]; then
  echo "RABBITMQ_URL is set: using that broker"
  exit 0
fi

answers() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }

if answers; then
  echo "RabbitMQ answers on 127.0.0.1:5672"
  exit 0
fi

if ! command -v rabbitmq-server >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "RabbitMQ is not installed and cannot be installed here: install rabbitmq-server or set RABBITMQ_URL" >&2
    exit 1
  fi
  echo "installing rabbitmq-server (Debian package)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
fi

if ! answers; then
  echo "starting RabbitMQ"
  # -detached returns at once, before the node has even registered: rabbitmqctl
  # await_startup would fail straight away, so wait for the AMQP listener instead.
  rabbitmq-server -detached || true
fi

for _ in $(seq 1 120); do
  answers && { echo "RabbitMQ is up"; exit 0; }
  sleep 1
done
echo "RabbitMQ did not come up on 127.0.0.1:5672 within 120 s" >&2
exit 1
