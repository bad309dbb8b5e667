#!/bin/sh
# The official image's entry point, as far as this project uses it: each
# /etc/nginx/templates/*.template is written to /etc/nginx/conf.d/ without its suffix, with the
# environment's variables substituted (only variables that are set: nginx's own $variables
# stay), then the command runs.
set -eu
templates="${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}"
output="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"
if [ -d "$templates" ]; then
  defined="$(env | cut -d= -f1 | sed 's/^/${/; s/$/}/' | tr '\n' ' ')"
  for template in "$templates"/*.template; do
    [ -f "$template" ] || continue
    target="$output/$(basename "$template" .template)"
    envsubst "$defined" < "$template" > "$target"
  done
fi
exec "$@"
