#!/usr/bin/env bash
# Create (or update) each service's own RabbitMQ user with rights on the names it owns only.
# Idempotent. Run where `rabbitmqctl` reaches the broker (the broker's host or container).
#
#   LOGIN_BROKER_USER / LOGIN_BROKER_PASSWORD          the login service's user
#   PROMOTION_BROKER_USER / PROMOTION_BROKER_PASSWORD  the promotion consumer's (and API's) user
#   or, instead of each password, LOGIN_BROKER_URL_FILE / PROMOTION_BROKER_URL_FILE: the file
#   (a mounted secret) holding the URL that service is given (amqp[s]://user:password@host/vhost,
#   percent-encoded): its password is taken from it, its user must be the one named above, and
#   the vhost is the URL's (both URLs must name the same one)
#   BROKER_VHOST (default /), EVENTS_EXCHANGE (default accounts.events),
#   PROMOTION_PREFIX (default promotion.: its queues and dead-letter exchange)
#   RABBITMQCTL (default rabbitmqctl; e.g. "rabbitmqctl -n NODE")
#
# Rights (configure / write / read regexes; docs/operations.md explains each):
#   login:     declare and publish to the events exchange; read nothing.
#   promotion: declare its queues and dead-letter exchange; read its queues and bind them to
#              the events exchange; publish to its dead-letter exchange and, for the hand-back
#              copies of quorum mode, to its own queue through the default exchange.
#              It cannot publish to the events exchange.
set -euo pipefail

fail() { echo "service-users.sh: $*" >&2; exit 2; }
decode() { printf '%b' "${1//%/\\x}"; }  # percent-decoding of one URL part

url_vhost=""
from_url() {  # VAR_PREFIX FILE: set VAR_PREFIX_PASSWORD from the URL in FILE; check its user
  local prefix=$1 file=$2 url rest authority path userinfo user expected vhost_of
  [ -r "$file" ] || fail "${prefix}_URL_FILE names no readable file"
  url=$(tr -d '\r\n' <"$file")
  [[ $url == amqp://* || $url == amqps://* ]] || fail "${prefix}_URL_FILE: not an amqp(s) URL"
  rest=${url#*://}
  authority=${rest%%/*}
  path=""
  if [[ $rest == */* ]]; then path=${rest#*/}; fi
  path=${path%%\?*}
  [[ $authority == *@* && ${authority%@*} == *:* ]] || fail "${prefix}_URL_FILE: no user:password"
  userinfo=${authority%@*}
  user=$(decode "${userinfo%%:*}")
  expected=${prefix}_USER
  [ "$user" = "${!expected}" ] || fail "${prefix}_URL_FILE names another user than ${expected}"
  printf -v "${prefix}_PASSWORD" '%s' "$(decode "${userinfo#*:}")"
  vhost_of=$(decode "$path")
  vhost_of=${vhost_of:-/}
  [ -z "$url_vhost" ] || [ "$url_vhost" = "$vhost_of" ] || fail "the two URLs name two vhosts"
  url_vhost=$vhost_of
}

: "${LOGIN_BROKER_USER:?}" "${PROMOTION_BROKER_USER:?}"
if [ -n "${LOGIN_BROKER_URL_FILE:-}" ]; then from_url LOGIN_BROKER "$LOGIN_BROKER_URL_FILE"; fi
if [ -n "${PROMOTION_BROKER_URL_FILE:-}" ]; then
  from_url PROMOTION_BROKER "$PROMOTION_BROKER_URL_FILE"
fi
: "${LOGIN_BROKER_PASSWORD:?}" "${PROMOTION_BROKER_PASSWORD:?}"
vhost=${url_vhost:-${BROKER_VHOST:-/}}
ctl=${RABBITMQCTL:-rabbitmqctl}

quote() { printf '%s' "$1" | sed 's/[]^$.*+?(){}|\\[]/\\&/g'; }  # a literal in a regex
events="^$(quote "${EVENTS_EXCHANGE:-accounts.events}")\$"
own="^$(quote "${PROMOTION_PREFIX:-promotion.}").*"

ensure_user() {  # name password: create, or set the password of an existing user
  # The password goes through standard input, never the command line (a process listing would
  # show it). Not with -q: RabbitMQ 4.0's CLI then never reads standard input and waits forever.
  if $ctl -q list_users --no-table-headers | cut -f1 | grep -qxF -- "$1"; then
    printf '%s' "$2" | $ctl change_password "$1" >/dev/null
  else
    printf '%s' "$2" | $ctl add_user "$1" >/dev/null
  fi
}

ensure_user "$LOGIN_BROKER_USER" "$LOGIN_BROKER_PASSWORD"
$ctl -q set_permissions -p "$vhost" "$LOGIN_BROKER_USER" "$events" "$events" '^$'

ensure_user "$PROMOTION_BROKER_USER" "$PROMOTION_BROKER_PASSWORD"
$ctl -q set_permissions -p "$vhost" "$PROMOTION_BROKER_USER" \
  "$own" "($own|^amq\\.default\$)" "($own|$events)"
echo "broker users ready: $LOGIN_BROKER_USER, $PROMOTION_BROKER_USER (vhost $vhost)"
