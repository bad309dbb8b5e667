#!/usr/bin/env bash
# Make sure `docker-compose` runs: the tests validate docker-compose.yml with it (statically,
# no container engine needed). Installs Debian's package as root where it is absent.
set -euo pipefail

if command -v docker-compose >/dev/null 2>&1; then
  echo "docker-compose is installed ($(docker-compose version --short 2>/dev/null || echo '?'))"
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "docker-compose is not installed and cannot be installed here (needs root and apt-get):" \
    "install it (Debian: apt-get install docker-compose) for the compose file's tests" >&2
  exit 1
fi
echo "installing docker-compose from Debian's packages (apt-get install docker-compose, about a minute)"
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-compose
