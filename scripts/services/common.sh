# Shared settings and helpers for scripts/services.sh. Sourced, not run.
ROOT="$(cd "$here/.." && pwd)"
STATE_DIR="$ROOT/.local"
ENV_FILE="$STATE_DIR/services.env"
SECRETS_FILE="$STATE_DIR/secrets.env"
PG_PORT="${CYPHR_PG_PORT:-55432}"
PG_REPLICA_PORT="${CYPHR_PG_REPLICA_PORT:-55433}"
REDIS_PORT="${CYPHR_REDIS_PORT:-56379}"
SQS_PORT="${CYPHR_SQS_PORT:-59324}"
# Where PostgreSQL sends IAM logins for verification (the RDS IAM stand-in the tests start, scripts/testing/aws/rds-iam-ldap.ts).
IAM_LDAP_PORT="${CYPHR_IAM_LDAP_PORT:-57389}"
HOST=127.0.0.1
SQS_REGION=us-east-1

log() { echo "services: $*"; }
die() { echo "services: error: $*" >&2; exit 1; }

# True when something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# Fails with a clear message when a port we are about to use is held by another program.
require_free_port() {
  local port=$1 what=$2
  if port_open "$port"; then
    local holder
    holder=$(ss -ltnpH "sport = :$port" 2>/dev/null | sed -E 's/.*users:\(\("([^"]+)",pid=([0-9]+).*/\1 (pid \2)/' | head -1)
    die "port $port for $what is already taken${holder:+ by $holder}; stop it or set the CYPHR_*_PORT variable"
  fi
}

wait_for() { # wait_for <seconds> <description> <command...>
  local seconds=$1 what=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "$what did not become ready within ${seconds}s"
    sleep 0.2
  done
}

random_secret() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# Generated once per checkout; kept in .local/secrets.env (mode 600), never in git.
ensure_secrets() {
  if [[ ! -f "$SECRETS_FILE" ]]; then
    umask 077
    cat >"$SECRETS_FILE" <<EOS
PG_SUPERUSER_PASSWORD=$(random_secret)
PG_APP_PASSWORD=$(random_secret)
PG_REPLICATION_PASSWORD=$(random_secret)
REDIS_PASSWORD=$(random_secret)
JWT_SECRET=$(random_secret)
EOS
  fi
  # shellcheck disable=SC1090
  source "$SECRETS_FILE"
}

write_env_file() {
  umask 077
  cat >"$ENV_FILE" <<EOF2
# Written by scripts/services.sh for the local services; read by the server, worker and tests.
PORT=3001
DATABASE_URL=postgres://cyphr_app:$PG_APP_PASSWORD@$HOST:$PG_PORT/cyphr
DATABASE_REPLICA_URLS=postgres://cyphr_app:$PG_APP_PASSWORD@$HOST:$PG_REPLICA_PORT/cyphr
REDIS_URL=redis://default:$REDIS_PASSWORD@$HOST:$REDIS_PORT
AWS_REGION=$SQS_REGION
SQS_ENDPOINT=http://$HOST:$SQS_PORT
SQS_MESSAGES_QUEUE_URL=$SQS_MESSAGES_QUEUE_URL
SQS_NOTIFICATIONS_QUEUE_URL=$SQS_NOTIFICATIONS_QUEUE_URL
SQS_DLQ_URL=$SQS_DLQ_URL
SQS_NOTIFICATIONS_DLQ_URL=$SQS_NOTIFICATIONS_DLQ_URL
JWT_SECRET=$JWT_SECRET
LOG_LEVEL=info
# Not read by the apps: tests that take the AWS path pass these on (DATABASE_CA_FILE), put stand-ins in front of
# these ports (the ElastiCache IAM proxy before Redis) and listen on the LDAP port.
CYPHR_PG_CA_FILE=$PG_CA_FILE
CYPHR_PG_HOST=$HOST
CYPHR_PG_PORT=$PG_PORT
CYPHR_PG_REPLICA_PORT=$PG_REPLICA_PORT
CYPHR_REDIS_PORT=$REDIS_PORT
CYPHR_IAM_LDAP_PORT=$IAM_LDAP_PORT
EOF2
}
