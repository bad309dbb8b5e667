#!/usr/bin/env bash
# The compose broker's command: start RabbitMQ, then give each service its own user
# (service-users.sh, idempotent, so every start re-applies the passwords and rights).
set -euo pipefail
docker-entrypoint.sh rabbitmq-server &
server=$!
trap 'kill -TERM "$server" 2>/dev/null; wait "$server"' TERM INT
rabbitmqctl await_startup --timeout 300
bash "$(dirname "$0")/service-users.sh"
wait "$server"
