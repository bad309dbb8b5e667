#!/usr/bin/env bash
# Make sure Debian's Prometheus binaries are here: `promtool` checks and unit-tests the alert
# rules (deploy/prometheus/), and the scrape test starts `prometheus` itself on a free port.
# Installs Debian's `prometheus` package as root where they are absent. The package's own
# service is never wanted: a policy-rc.d refuses its start during the install, and it is
# stopped and disabled afterwards if it runs anyway. Idempotent.
set -euo pipefail

PROMETHEUS=/usr/bin/prometheus
PROMTOOL=/usr/bin/promtool

stop_packaged_service() {
  # Whatever started it (an install on a machine without policy-rc.d), the tests never use it.
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now prometheus.service >/dev/null 2>&1 || true
  fi
  if [ -x /etc/init.d/prometheus ]; then
    /etc/init.d/prometheus stop >/dev/null 2>&1 || true
  fi
  if command -v update-rc.d >/dev/null 2>&1; then
    update-rc.d prometheus disable >/dev/null 2>&1 || true
  fi
}

if [ -x "$PROMETHEUS" ] && [ -x "$PROMTOOL" ]; then
  echo "Prometheus is installed: $("$PROMTOOL" --version 2>&1 | head -n 1)"
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "Prometheus (promtool) is not installed and cannot be installed here (needs root and" \
    "apt-get): install Debian's prometheus package (apt-get install --no-install-recommends" \
    "prometheus)" >&2
  exit 1
fi

echo "installing Prometheus from Debian's packages (apt-get install prometheus, its service kept off)"
policy=/usr/sbin/policy-rc.d
saved=""
if [ -e "$policy" ]; then
  saved="$(mktemp)"
  cp -p "$policy" "$saved"
fi
restore_policy() {
  if [ -n "$saved" ]; then mv -f "$saved" "$policy"; else rm -f "$policy"; fi
}
trap restore_policy EXIT
# Exit status 101: "action forbidden by policy"; invoke-rc.d then starts no service.
printf '#!/bin/sh\nexit 101\n' >"$policy"
chmod 755 "$policy"
install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus
}
install >/dev/null 2>&1 || { apt-get update -q && install; }
restore_policy
trap - EXIT
stop_packaged_service
"$PROMTOOL" --version 2>&1 | head -n 1
