# PostgreSQL primary + streaming replica from the installed server binaries. Sourced by scripts/services.sh.
# PostgreSQL refuses to run as root: as root we run it as the `postgres` system user (or create `cyphr-pg`).
PG_DIR="$STATE_DIR/postgres"

pg_bin() {
  local name=$1 candidate
  for candidate in "$(command -v "$name" 2>/dev/null)" /usr/lib/postgresql/*/bin/"$name"; do
    [[ -n "$candidate" && -x "$candidate" ]] && { echo "$candidate"; return; }
  done
  die "PostgreSQL server binary '$name' not found; install PostgreSQL 15+ server binaries (Debian: apt-get install postgresql)"
}

pg_os_user() {
  if [[ $(id -u) -ne 0 ]]; then id -un; return; fi
  if id postgres >/dev/null 2>&1; then echo postgres; return; fi
  id cyphr-pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin cyphr-pg
  echo cyphr-pg
}

# Runs a command as the PostgreSQL OS user (a plain call when we are not root).
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi
}

external_pg_dir() { echo "/var/tmp/cyphr-postgres-$(echo -n "$ROOT" | md5sum | cut -c1-12)"; }

# The data folders live under .local/postgres. If the PostgreSQL user cannot reach the checkout (a home
# folder with mode 700, say), they live in /var/tmp instead, linked from .local/postgres.
prepare_pg_dir() {
  PG_USER=$(pg_os_user)
  if [[ -e "$PG_DIR" ]]; then
    [[ $(id -u) -eq 0 ]] && chown -R "$PG_USER" "$(readlink -f "$PG_DIR")"
    return 0
  fi
  mkdir -p "$PG_DIR"
  if [[ $(id -u) -eq 0 ]]; then
    chown "$PG_USER" "$PG_DIR"
    if ! as_pg test -w "$PG_DIR"; then
      rmdir "$PG_DIR"
      local external
      external=$(external_pg_dir)
      mkdir -p "$external" && chown "$PG_USER" "$external" && chmod 700 "$external"
      ln -s "$external" "$PG_DIR"
    fi
  fi
}

postgres_purge_external() { rm -rf "$(external_pg_dir)"; }

pg_running() { [[ -f "$1/postmaster.pid" ]] && as_pg "$(pg_bin pg_ctl)" -D "$1" status >/dev/null 2>&1; }

pg_configure() { # pg_configure <datadir> <port>
  cat >>"$1/postgresql.conf" <<CONF
# --- cyphr local settings ---
listen_addresses = '$HOST'
port = $2
unix_socket_directories = ''
wal_level = replica
max_wal_senders = 10
hot_standby = on
max_connections = 300
shared_buffers = 256MB
password_encryption = scram-sha-256
CONF
}

pg_start() { # pg_start <datadir> <port> <name>
  if pg_running "$1"; then log "PostgreSQL $3 already running on $HOST:$2"; return 0; fi
  require_free_port "$2" "PostgreSQL $3"
  as_pg "$(pg_bin pg_ctl)" -D "$1" -l "$1/server.log" -w -t 30 start >/dev/null || die "PostgreSQL $3 failed to start; see $1/server.log"
  log "PostgreSQL $3 on $HOST:$2"
}

psql_super() { PGPASSWORD="$PG_SUPERUSER_PASSWORD" psql -h "$HOST" -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }

init_primary() {
  local data="$PG_DIR/primary" pwfile="$PG_DIR/.pwfile"
  (umask 077; echo "$PG_SUPERUSER_PASSWORD" >"$pwfile")
  [[ $(id -u) -eq 0 ]] && chown "$PG_USER" "$pwfile"
  as_pg "$(pg_bin initdb)" -D "$data" -U postgres --pwfile="$pwfile" --auth-host=scram-sha-256 --auth-local=reject -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 \
    || { rm -f "$pwfile"; die "initdb failed; see $PG_DIR/initdb.log"; }
  rm -f "$pwfile"
  pg_configure "$data" "$PG_PORT"
  cat >"$data/pg_hba.conf" <<HBA
# TYPE  DATABASE     USER              ADDRESS        METHOD
host    all          all               $HOST/32   scram-sha-256
host    replication  cyphr_replicator  $HOST/32   scram-sha-256
HBA
  pg_start "$data" "$PG_PORT" primary
  psql_super -d postgres <<SQL
CREATE ROLE cyphr_replicator WITH REPLICATION LOGIN PASSWORD '$PG_REPLICATION_PASSWORD';
CREATE ROLE cyphr_app WITH LOGIN PASSWORD '$PG_APP_PASSWORD';
CREATE DATABASE cyphr OWNER cyphr_app;
SQL
}

init_replica() {
  local data="$PG_DIR/replica"
  as_pg env PGPASSWORD="$PG_REPLICATION_PASSWORD" "$(pg_bin pg_basebackup)" -h "$HOST" -p "$PG_PORT" -U cyphr_replicator \
    -D "$data" -R -X stream -c fast >"$PG_DIR/basebackup.log" 2>&1 || die "pg_basebackup failed; see $PG_DIR/basebackup.log"
  # The copied postgresql.conf carries the primary's port; the last setting wins.
  echo "port = $PG_REPLICA_PORT" >>"$data/postgresql.conf"
}

replica_streaming() {
  psql_super -d postgres -c "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'" | grep -qx '[1-9][0-9]*'
}

postgres_up() {
  pg_bin postgres >/dev/null
  command -v psql >/dev/null || die "psql not found; install the PostgreSQL client (Debian: apt-get install postgresql-client)"
  prepare_pg_dir
  if [[ ! -f "$PG_DIR/primary/PG_VERSION" ]]; then
    rm -rf "$PG_DIR/primary" "$PG_DIR/replica"
    init_primary
  else
    pg_start "$PG_DIR/primary" "$PG_PORT" primary
  fi
  [[ -f "$PG_DIR/replica/PG_VERSION" ]] || init_replica
  pg_start "$PG_DIR/replica" "$PG_REPLICA_PORT" replica
  wait_for 20 "the replica's streaming connection" replica_streaming
}

postgres_down() {
  local name
  [[ -e "$PG_DIR" ]] || return 0
  PG_USER=$(pg_os_user)
  for name in replica primary; do
    if [[ -d "$PG_DIR/$name" ]] && pg_running "$PG_DIR/$name"; then
      as_pg "$(pg_bin pg_ctl)" -D "$PG_DIR/$name" -m fast -w stop >/dev/null
    fi
  done
}

postgres_status() {
  local rc=0
  if pg_isready -q -h "$HOST" -p "$PG_PORT"; then log "postgres primary: up ($HOST:$PG_PORT)"; else log "postgres primary: down"; rc=1; fi
  if pg_isready -q -h "$HOST" -p "$PG_REPLICA_PORT"; then log "postgres replica: up ($HOST:$PG_REPLICA_PORT)"; else log "postgres replica: down"; rc=1; fi
  return $rc
}
