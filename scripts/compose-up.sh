#!/usr/bin/env bash
# `make compose-up`: build the images (where no image registry is reachable, their bases too),
# then start the compose stack detached and wait until every service is healthy.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${PROXY_PORT:-8080}"
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "== compose: 127.0.0.1:$port is in use (a \`make test-compose\` run, a running stack or" \
    "another program): stop it, or start this stack with PROXY_PORT set to a free port" >&2
  exit 1
fi
started=$SECONDS
bash scripts/compose.sh --build up --detach --no-build --wait --wait-timeout 300 "$@"
echo "== compose: healthy in $((SECONDS - started)) s; the proxy serves http://127.0.0.1:$port" \
  "(the README tour: LOGIN_URL=http://127.0.0.1:$port PROMOTION_URL=http://127.0.0.1:$port);" \
  "\`make compose-down\` removes it"
