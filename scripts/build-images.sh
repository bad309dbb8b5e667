#!/usr/bin/env bash
# Build the images the compose stack runs, into the engine scripts/docker-engine.sh chose.
#
#   scripts/build-images.sh local      where no image registry is reachable: first the images the
#                                      Dockerfiles and docker-compose.yml name but cannot pull,
#                                      built from Debian 13's packages under those same names
#                                      (deploy/local-images/), plus the MongoDB stand-in's image;
#                                      then the services' images
#   scripts/build-images.sh registry   the services' images only (their bases are pulled)
#
# Local bases are built once and reused while this checkout lives: each carries a label with
# the digest of its inputs (its folder, its base's id, the machine's CA bundle), and is rebuilt
# when that changes. The services' images are rebuilt by every run (BuildKit's cache keeps
# that to seconds when nothing changed). Needs DOCKER_HOST set to the engine to build into.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
MODE="${1:?usage: $0 local|registry}"
DOCKER="${DOCKER:-$([ -x /usr/bin/docker ] && echo /usr/bin/docker || echo docker)}"
LABEL=org.bank.local-image.inputs
WORK="$ROOT/.docker/build"
CA_BUNDLE="${LOCAL_IMAGES_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
export DOCKER_BUILDKIT=1
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

say() { echo "== images: $*"; }

# The names the committed files use, and the folder of deploy/local-images that builds each.
DEBIAN_BASE="debian:trixie-slim"
UV_VERSION="$(sed -n 's|^COPY --from=ghcr.io/astral-sh/uv:\([0-9.]*\) .*|\1|p' login_service/Dockerfile)"
declare -A LOCAL_IMAGES=(
  ["python:3.13-slim"]=python
  ["ghcr.io/astral-sh/uv:$UV_VERSION"]=uv
  ["rabbitmq:4.0-management"]=rabbitmq
  ["nginx:1.26"]=nginx
  ["prom/prometheus:v2.53.3"]=prometheus
)
# The images of this project (built from its own Dockerfiles).
SERVICE_IMAGES=(
  "bank/login-service:dev=login_service"
  "bank/promotion-service:dev=promotion_service"
)
STANDIN_IMAGE="bank/mongo-standin:local"

label_of() {
  "$DOCKER" image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null || true
}

image_id() { "$DOCKER" image inspect --format '{{.Id}}' "$1"; }

digest() {
  # sha256 of the given files' contents and names, plus any extra words.
  local files=("$@")
  { for f in "${files[@]}"; do
      if [ -f "$f" ]; then echo "$f"; cat "$f"; else echo "$f"; fi
    done; } | sha256sum | cut -c1-32
}

debian_base() {
  local mirror inputs
  mirror="$(apt_mirror)"
  inputs="$(digest "$0" "trixie minbase $mirror")"
  if [ "$(label_of "$DEBIAN_BASE")" = "$inputs" ]; then
    say "$DEBIAN_BASE is up to date"
    return 0
  fi
  command -v debootstrap >/dev/null 2>&1 || {
    say "installing debootstrap (apt-get install debootstrap)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap \
      || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap; }
  }
  say "building $DEBIAN_BASE from Debian 13's packages (debootstrap, about a minute)"
  local rootfs="$WORK/debian-rootfs"
  rm -rf "$rootfs"
  mkdir -p "$rootfs"
  debootstrap --variant=minbase trixie "$rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 || {
    tail -n 20 "$WORK/debootstrap.log" >&2
    exit 1
  }
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" -c . | "$DOCKER" import \
    --change "LABEL $LABEL=$inputs" --change 'CMD ["bash"]' - "$DEBIAN_BASE" >/dev/null
  rm -rf "$rootfs"
}

apt_mirror() {
  # The Debian mirror the machine's own apt uses (deb822 or one-line sources).
  local uri
  uri="$(grep -hs -E '^(URIs:|deb )' /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list \
    | grep -v security | head -n1 | sed -E 's/^URIs:[[:space:]]*//; s/^deb (\[[^]]*\] )?//; s/ .*//')"
  echo "${uri:-http://deb.debian.org/debian}"
}

local_base() {
  local name="$1" folder="deploy/local-images/${LOCAL_IMAGES[$1]}"
  local context="$WORK/${LOCAL_IMAGES[$1]}" inputs
  rm -rf "$context"
  cp -r "$folder" "$context"
  case "${LOCAL_IMAGES[$1]}" in
    python) cp "$CA_BUNDLE" "$context/machine-ca-bundle.crt" ;;
    uv) fetch_uv "$context" ;;
  esac
  inputs="$(digest "$context"/* "$(image_id "$DEBIAN_BASE")")"
  if [ "$(label_of "$name")" = "$inputs" ]; then
    say "$name is up to date"
    return 0
  fi
  say "building $name from $folder"
  "$DOCKER" build -q --network host --label "$LABEL=$inputs" -t "$name" "$context" >/dev/null
}

fetch_uv() {
  # uv's own binaries of the release the Dockerfiles name, from its wheel on PyPI (installed by
  # uv into a folder of their own; the scripts land in its bin/).
  local context="$1" wheel="$WORK/uv-wheel"
  if [ ! -x "$wheel/bin/uv" ] || ! "$wheel/bin/uv" --version | grep -qF " $UV_VERSION "; then
    rm -rf "$wheel"
    uv pip install --quiet --no-deps --target "$wheel" "uv==$UV_VERSION"
  fi
  cp "$wheel/bin/uv" "$wheel/bin/uvx" "$context/"
}

service_image() {
  local name="${1%%=*}" context="${1#*=}"
  say "building $name from $context/Dockerfile"
  "$DOCKER" build -q --network host -t "$name" "$context" >/dev/null
}

mkdir -p "$WORK"
started=$SECONDS
if [ "$MODE" = "local" ]; then
  debian_base
  for name in "python:3.13-slim" "ghcr.io/astral-sh/uv:$UV_VERSION" \
    "rabbitmq:4.0-management" "nginx:1.26" "prom/prometheus:v2.53.3"; do
    local_base "$name"
  done
  service_image "$STANDIN_IMAGE=tools/mongo-standin"
fi
for entry in "${SERVICE_IMAGES[@]}"; do
  service_image "$entry"
done
say "done in $((SECONDS - started)) s"
