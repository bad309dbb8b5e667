#!/usr/bin/env bash
# The compose broker's command: start RabbitMQ, then give each service its own user
# (service-users.sh, idempotent, so every start re-applies the passwords and rights).
# The healthcheck reports healthy only once READY_MARKER exists: a service started on a
# broker whose users are not made yet would be refused and crash-loop.
set -euo pipefail
marker=${READY_MARKER:-/tmp/bank-service-users.ready}
rm -f "$marker"  # a restarted container keeps /tmp: the users must be made again first
# The operator's password from a mounted secret (the production override), so that it is
# not in the container's configuration for `docker inspect` to show.
if [ -n "${RABBITMQ_DEFAULT_PASS_FILE:-}" ]; then
  RABBITMQ_DEFAULT_PASS=$(tr -d '\r\n' <"$RABBITMQ_DEFAULT_PASS_FILE")
  export RABBITMQ_DEFAULT_PASS
  unset RABBITMQ_DEFAULT_PASS_FILE
fi
docker-entrypoint.sh rabbitmq-server &
server=$!
trap 'kill -TERM "$server" 2>/dev/null; wait "$server"' TERM INT
# Until the node has registered, `rabbitmqctl await_startup` fails at once (badrpc, nodedown)
# instead of waiting: ask again until it answers, while the broker runs, for up to 300 s.
deadline=$((SECONDS + 300))
until rabbitmqctl -q await_startup --timeout 30 >/dev/null 2>&1; do
  if ! kill -0 "$server" 2>/dev/null; then
    wait "$server"  # the broker exited: so does the container, with its status
    exit 1
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "the broker did not finish starting within 300 s" >&2
    exit 1
  fi
  sleep 1
done
bash "$(dirname "$0")/service-users.sh"
touch "$marker"
wait "$server"
