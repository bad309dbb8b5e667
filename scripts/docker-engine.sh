#!/usr/bin/env bash
# The container engine the compose targets use.
#
#   scripts/docker-engine.sh start   make sure an engine answers; print `MODE HOST` (HOST `-`:
#                                    the user's own DOCKER_HOST or context, left as it is)
#   scripts/docker-engine.sh stop    stop the project's own engine (if this checkout started one)
#   scripts/docker-engine.sh mode    print `registry` or `local` without starting anything
#
# Which engine:
# - `registry`: the machine's own Docker (DOCKER_HOST, or the client's current context) answers
#   and can reach the official images (the registry answers, or they are there already: a
#   developer's laptop). It is used as it is: nothing here starts, stops, pulls into, tags or
#   prunes anything of it.
# - `local`: no daemon that can pull. The project runs its own `dockerd` (Debian's docker.io,
#   installed as root where absent) with every file of it under .docker/ in this checkout (data
#   root, exec root, pid file, socket, log), so no other daemon is touched, and the images the
#   Dockerfiles and compose file name are built here from Debian's packages
#   (scripts/build-images.sh). COMPOSE_ENGINE=local or =registry forces the choice.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
STATE="$ROOT/.docker"
SOCKET="$STATE/docker.sock"
PIDFILE="$STATE/dockerd.pid"
LOG="$STATE/dockerd.log"
OWN_HOST="unix://$SOCKET"
START_TIMEOUT=60
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
# Debian's client (20.10) speaks to any engine of that age; the machine may have a newer one first
# on PATH that needs plugins this engine lacks. Looked up at each call: it may be installed here.
client() {
  if [ -n "${DOCKER:-}" ]; then echo "$DOCKER"
  elif [ -x /usr/bin/docker ]; then echo /usr/bin/docker
  else echo docker
  fi
}

say() { echo "== docker engine: $*" >&2; }

answers() { DOCKER_HOST="$1" timeout 10 "$(client)" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

machine_daemon() {
  # The daemon the user's own `docker` uses (DOCKER_HOST, or its current context), if any.
  [ "${DOCKER_HOST:-}" = "$OWN_HOST" ] && return 1
  timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

can_pull() {
  # The registry answers for one official image (read from the registry only: nothing is
  # pulled into the user's daemon), or the images the files name are there already.
  timeout 60 docker manifest inspect busybox:1.37 >/dev/null 2>&1 \
    || timeout 10 docker image inspect python:3.13-slim rabbitmq:4.0-management >/dev/null 2>&1
}

mode() {
  case "${COMPOSE_ENGINE:-}" in
    local) echo "local $OWN_HOST"; return ;;
    registry) echo "registry -"; return ;;
  esac
  if machine_daemon && can_pull; then
    echo "registry -"  # "-": the user's own environment (DOCKER_HOST or context), as it is
  else
    echo "local $OWN_HOST"
  fi
}

install_engine() {
  command -v dockerd >/dev/null 2>&1 && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    say "no container engine here, and it cannot be installed (needs root and apt-get):" \
      "install Docker, or Debian's docker.io, to run the compose stack"
    exit 1
  fi
  say "installing Debian's docker.io (apt-get install docker.io, about a minute)"
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker.io >&2
}

own_pid() {
  # The pid of this checkout's dockerd, if it runs (a stale pid file of a killed run is ignored).
  [ -f "$PIDFILE" ] || return 1
  local pid
  pid="$(cat "$PIDFILE")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "--data-root $STATE/data" || return 1
  echo "$pid"
}

wait_until_it_answers() {
  for _ in $(seq 1 "$START_TIMEOUT"); do
    if answers "$OWN_HOST"; then
      return 0
    fi
    sleep 1
  done
  return 1
}

start_own() {
  local pid
  if pid="$(own_pid)"; then
    # Running already (perhaps still starting): never a second daemon over the same files.
    wait_until_it_answers && return 0
    say "the project's own dockerd (pid $pid) does not answer; see .docker/dockerd.log," \
      "or stop it with \`$0 stop\`"
    exit 1
  fi
  install_engine
  if [ "$(id -u)" -ne 0 ]; then
    say "the project's own dockerd must start as root (it creates networks and cgroups)"
    exit 1
  fi
  mkdir -p "$STATE/data" "$STATE/exec"
  # What a killed earlier run may have left: its pid file and socket (dockerd refuses to start
  # over a pid file whose process is gone), and its containerd's socket folder.
  # A killed daemon's containerd and container shims keep running on its sockets.
  pkill -KILL -f -- "$STATE/exec/containerd" 2>/dev/null || true
  unmount_leftovers
  rm -f "$PIDFILE" "$SOCKET"
  rm -rf "$STATE/exec/containerd"
  say "starting the project's own dockerd (files under .docker/, log .docker/dockerd.log)"
  # --bridge=none: no default docker0 bridge (compose uses networks of its own);
  # --iptables=false: the machine's firewall is left as it is (ports publish through the
  # userland proxy on 127.0.0.1).
  setsid dockerd \
    --data-root "$STATE/data" \
    --exec-root "$STATE/exec" \
    --pidfile "$PIDFILE" \
    --host "$OWN_HOST" \
    --bridge=none \
    --iptables=false \
    --ip-masq=false \
    >"$LOG" 2>&1 < /dev/null &
  if wait_until_it_answers; then
    say "dockerd $(DOCKER_HOST="$OWN_HOST" "$(client)" version --format '{{.Server.Version}}') answers on $OWN_HOST"
    return 0
  fi
  say "dockerd did not answer within $START_TIMEOUT s; the end of .docker/dockerd.log:"
  tail -n 20 "$LOG" >&2 || true
  if grep -qi "cgroup" "$LOG" 2>/dev/null; then
    say "it needs cgroups (and root): containers cannot run on this machine"
  fi
  exit 1
}

stop_own() {
  local pid
  if ! pid="$(own_pid)"; then
    # Not running (or killed): what it may have left behind, so `rm -rf .docker` can follow.
    pkill -KILL -f -- "$STATE/exec/containerd" 2>/dev/null || true
    unmount_leftovers
    rm -f "$PIDFILE" "$SOCKET"
    return 0
  fi
  say "stopping the project's own dockerd (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 1
  done
  kill -KILL "$pid" 2>/dev/null || true
  unmount_leftovers
  rm -f "$PIDFILE" "$SOCKET"
}

unmount_leftovers() {
  # What the daemon mounted under its own folders (a killed daemon leaves them mounted).
  { grep -F " $STATE/" /proc/mounts || true; } | awk '{print $2}' | sort -r | while read -r mount; do
    umount -l "$mount" 2>/dev/null || true
  done
}

case "${1:-}" in
  mode) mode ;;
  start)
    read -r engine host < <(mode)
    if [ "$engine" = "local" ]; then
      start_own
    else
      say "using the machine's own Docker (its DOCKER_HOST or context), which pulls the official images"
    fi
    echo "$engine $host"
    ;;
  stop) stop_own ;;
  *)
    echo "usage: $0 start|stop|mode" >&2
    exit 2
    ;;
esac
