#!/usr/bin/env bash
# The official image's entry point, as far as this project uses it: RABBITMQ_DEFAULT_USER and
# RABBITMQ_DEFAULT_PASS make the first user of a new node (RabbitMQ's `default_user` and
# `default_pass`). Debian's `rabbitmq-server`, `rabbitmqctl` and `rabbitmq-diagnostics` drop to
# the `rabbitmq` user themselves when started as root.
set -euo pipefail

if [ -n "${RABBITMQ_DEFAULT_USER:-}" ] || [ -n "${RABBITMQ_DEFAULT_PASS:-}" ]; then
  {
    echo "default_user = ${RABBITMQ_DEFAULT_USER:-guest}"
    echo "default_pass = ${RABBITMQ_DEFAULT_PASS:-guest}"
  } > /etc/rabbitmq/conf.d/20-default-user.conf
  chmod 640 /etc/rabbitmq/conf.d/20-default-user.conf
  chown root:rabbitmq /etc/rabbitmq/conf.d/20-default-user.conf
fi

if [ "${1:-}" = "rabbitmq-server" ] && [ "$(id -u)" = "0" ]; then
  # A new volume starts owned by root.
  find /var/lib/rabbitmq \! -user rabbitmq -exec chown rabbitmq:rabbitmq '{}' +
fi
exec "$@"
