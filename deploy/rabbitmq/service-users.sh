#!/usr/bin/env bash
# Create (or update) each service's own RabbitMQ user with rights on the names it owns only.
# Idempotent. Run where `rabbitmqctl` reaches the broker (the broker's host or container).
#
#   LOGIN_BROKER_USER / LOGIN_BROKER_PASSWORD          the login service's user
#   PROMOTION_BROKER_USER / PROMOTION_BROKER_PASSWORD  the promotion consumer's (and API's) user
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

: "${LOGIN_BROKER_USER:?}" "${LOGIN_BROKER_PASSWORD:?}"
: "${PROMOTION_BROKER_USER:?}" "${PROMOTION_BROKER_PASSWORD:?}"
vhost=${BROKER_VHOST:-/}
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
