#!/usr/bin/env bash
# Local services for development and tests, on loopback only, state under .local/ (git-ignored):
#   PostgreSQL primary + streaming replica, Redis, an SQS-compatible server (fauxqs) with Cyphr's queues.
# Usage: scripts/services.sh up|down|status|purge     (npm run services:up / services:down)
# Ports can be moved with CYPHR_PG_PORT, CYPHR_PG_REPLICA_PORT, CYPHR_REDIS_PORT, CYPHR_SQS_PORT, CYPHR_IAM_LDAP_PORT.
# PostgreSQL serves TLS with a CA made for this checkout (.local/pg-ca/ca.pem, CYPHR_PG_CA_FILE in the env file).
set -euo pipefail
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/services/common.sh"
source "$here/services/postgres.sh"
source "$here/services/redis.sh"
source "$here/services/sqs.sh"

up() {
  mkdir -p "$STATE_DIR"
  ensure_secrets
  postgres_up
  redis_up
  sqs_up
  write_env_file
  log "ready; settings in ${ENV_FILE#$ROOT/}:"
  grep -v -E 'PASSWORD|SECRET=|://[^:]+:[^@]+@' "$ENV_FILE" | sed 's/^/    /'
  echo "    (credentials are in the file, not printed)"
}

down() {
  sqs_down
  redis_down
  postgres_down
  log "stopped"
}

status() {
  local rc=0
  postgres_status || rc=1
  redis_status || rc=1
  sqs_status || rc=1
  return $rc
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  purge) down; rm -rf "$STATE_DIR"; postgres_purge_external; log "removed $STATE_DIR" ;;
  *) echo "usage: $0 up|down|status|purge" >&2; exit 2 ;;
esac
