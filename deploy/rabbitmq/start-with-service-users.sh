#!/usr/bin/env bash
# The compose broker's command: start RabbitMQ, then give each service its own user
# (service-users.sh, idempotent, so every start re-applies the passwords and rights).
# The healthcheck reports healthy only once READY_MARKER exists: a service started on a
# broker whose users are not made yet would be refused and crash-loop.
set -euo pipefail
marker=${READY_MARKER:-/tmp/bank-service-users.ready}
rm -f "$marker"  # a restarted container keeps /tmp: the users must be made again first
docker-entrypoint.sh rabbitmq-server &
server=$!
trap 'kill -TERM "$server" 2>/dev/null; wait "$server"' TERM INT
rabbitmqctl await_startup --timeout 300
bash "$(dirname "$0")/service-users.sh"
touch "$marker"
wait "$server"
