# Redis from Debian's redis-server package. Sourced by scripts/services.sh.
REDIS_DIR="$STATE_DIR/redis"
# Passwords of the ACL users, generated once per checkout (mode 600, never in git).
REDIS_USERS_FILE="$STATE_DIR/redis-users.env"
# The same rules as the stack's ElastiCache users (infra: access string), so a command the processes need but the
# ACL forbids fails here first: every key and channel, every command except the @dangerous ones.
REDIS_USER_ACL='~* &* +@all -@dangerous'

ensure_redis_installed() {
  command -v redis-server >/dev/null && return 0
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    log "installing redis-server from Debian's packages"
    (apt-get install -y -qq redis-server >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq redis-server; }) >"$STATE_DIR/apt-redis.log" 2>&1 \
      || die "could not install redis-server; see $STATE_DIR/apt-redis.log"
  else
    die "redis-server not found; install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis)"
  fi
}

# One ACL user per role, as on AWS (cyphr-<env>-api / -worker there): REDIS_<ROLE>_USER / _PASSWORD in the file.
ensure_redis_users() {
  if [[ ! -f "$REDIS_USERS_FILE" ]]; then
    (umask 077 && cat >"$REDIS_USERS_FILE" <<EOS
REDIS_API_USER=cyphr-api
REDIS_API_PASSWORD=$(random_secret)
REDIS_WORKER_USER=cyphr-worker
REDIS_WORKER_PASSWORD=$(random_secret)
EOS
    )
  fi
  # shellcheck disable=SC1090
  source "$REDIS_USERS_FILE"
}

# Creates (or resets) the ACL users on the running server; through stdin, so no password shows in the process list.
apply_redis_users() {
  printf 'ACL SETUSER %s reset on >%s %s\n' \
    "$REDIS_API_USER" "$REDIS_API_PASSWORD" "$REDIS_USER_ACL" \
    "$REDIS_WORKER_USER" "$REDIS_WORKER_PASSWORD" "$REDIS_USER_ACL" | redis_cli | grep -c '^OK$' | grep -qx 2 \
    || die "could not create the Redis ACL users"
}

redis_cli() { REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -h "$HOST" -p "$REDIS_PORT" "$@"; }

redis_up() {
  ensure_redis_installed
  ensure_redis_users
  mkdir -p "$REDIS_DIR"
  if [[ -f "$REDIS_DIR/redis.pid" ]] && kill -0 "$(cat "$REDIS_DIR/redis.pid")" 2>/dev/null; then
    apply_redis_users
    log "Redis already running on $HOST:$REDIS_PORT"
    return 0
  fi
  require_free_port "$REDIS_PORT" Redis
  # The password goes through stdin as a config file, so it never shows in the process list.
  printf 'requirepass %s\n' "$REDIS_PASSWORD" | redis-server - \
    --bind "$HOST" --port "$REDIS_PORT" --protected-mode yes --daemonize yes \
    --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" --dir "$REDIS_DIR" \
    --save '' --appendonly no >/dev/null
  wait_for 10 Redis bash -c "REDISCLI_AUTH='$REDIS_PASSWORD' redis-cli -h $HOST -p $REDIS_PORT ping | grep -q PONG"
  apply_redis_users
  log "Redis on $HOST:$REDIS_PORT (users default, $REDIS_API_USER, $REDIS_WORKER_USER; passwords in ${REDIS_USERS_FILE#$ROOT/})"
}

redis_down() {
  [[ -f "$REDIS_DIR/redis.pid" ]] || return 0
  local pid
  pid=$(cat "$REDIS_DIR/redis.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    wait_for 10 "Redis shutdown" bash -c "! kill -0 $pid"
  fi
  rm -f "$REDIS_DIR/redis.pid"
}

redis_status() {
  if port_open "$REDIS_PORT"; then log "redis: up ($HOST:$REDIS_PORT)"; else log "redis: down"; return 1; fi
}
