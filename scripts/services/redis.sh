# Redis from Debian's redis-server package. Sourced by scripts/services.sh.
REDIS_DIR="$STATE_DIR/redis"

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

redis_cli() { REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -h "$HOST" -p "$REDIS_PORT" "$@"; }

redis_up() {
  ensure_redis_installed
  mkdir -p "$REDIS_DIR"
  if [[ -f "$REDIS_DIR/redis.pid" ]] && kill -0 "$(cat "$REDIS_DIR/redis.pid")" 2>/dev/null; then
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
  log "Redis on $HOST:$REDIS_PORT"
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
