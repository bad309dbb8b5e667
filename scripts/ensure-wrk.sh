#!/usr/bin/env bash
# Make sure `wrk` runs: the benchmark's HTTP load generator, and a bench test checks how it
# counts requests. Installs Debian's package as root where it is absent.
set -euo pipefail

if command -v wrk >/dev/null 2>&1; then
  echo "wrk is installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "wrk is not installed and cannot be installed here (needs root and apt-get):" \
    "install it (Debian: apt-get install wrk)" >&2
  exit 1
fi
echo "installing wrk from Debian's packages (apt-get install wrk)"
apt-get install -y -q wrk >/dev/null 2>&1 || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; }
command -v wrk >/dev/null
