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

# TLS as RDS serves it: a server certificate for 127.0.0.1/localhost signed by a CA of this checkout, which
# clients must verify (verify-full). The CA key never leaves .local/; the server key is readable by PostgreSQL only.
PG_CA_DIR="$STATE_DIR/pg-ca"
PG_CA_FILE="$PG_CA_DIR/ca.pem"

ensure_pg_tls() {
  command -v openssl >/dev/null || die "openssl not found; it makes the local PostgreSQL CA (Debian: apt-get install openssl)"
  local tls="$PG_DIR/tls"
  if [[ ! -f "$PG_CA_FILE" ]]; then
    rm -rf "$PG_CA_DIR" "$tls"
    (umask 077; mkdir -p "$PG_CA_DIR")
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Cyphr local PostgreSQL CA ($(hostname))" \
      -keyout "$PG_CA_DIR/ca.key" -out "$PG_CA_FILE" -addext basicConstraints=critical,CA:TRUE \
      -addext keyUsage=critical,keyCertSign,cRLSign >/dev/null 2>&1 || die "could not create the PostgreSQL CA"
    chmod 600 "$PG_CA_DIR/ca.key"
    chmod 755 "$PG_CA_DIR"
    chmod 644 "$PG_CA_FILE"
  fi
  if [[ ! -f "$tls/server.crt" ]]; then
    (umask 077; mkdir -p "$tls")
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$tls/server.key" -out "$tls/server.csr" >/dev/null 2>&1 \
      || die "could not create the PostgreSQL server key"
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >"$tls/server.ext"
    openssl x509 -req -in "$tls/server.csr" -CA "$PG_CA_FILE" -CAkey "$PG_CA_DIR/ca.key" -CAcreateserial \
      -CAserial "$PG_CA_DIR/ca.srl" -days 825 -extfile "$tls/server.ext" -out "$tls/server.crt" >/dev/null 2>&1 \
      || die "could not sign the PostgreSQL server certificate"
    rm -f "$tls/server.csr" "$tls/server.ext"
    chmod 600 "$tls/server.key"
  fi
  [[ $(id -u) -eq 0 ]] && chown -R "$PG_USER" "$(readlink -f "$tls")"
  return 0
}

# Appended once per data folder (a replica copies the primary's file, marker included).
pg_configure_tls() { # pg_configure_tls <datadir>
  grep -q '^# --- cyphr tls ---' "$1/postgresql.conf" && return 0
  cat >>"$1/postgresql.conf" <<CONF
# --- cyphr tls ---
ssl = on
ssl_cert_file = '$PG_DIR/tls/server.crt'
ssl_key_file = '$PG_DIR/tls/server.key'
ssl_min_protocol_version = 'TLSv1.2'
CONF
}

# Who may log in how, rewritten on every start (so the LDAP port can move). Members of rds_iam log in only over
# TLS with an IAM token, which PostgreSQL hands as the LDAP bind password to the token verifier (the IAM stand-in,
# started by the tests, listens on IAM_LDAP_PORT) — what RDS does internally for rds_iam members. Everyone else
# (the local dev user, the superuser, replication) keeps scram passwords.
pg_write_hba() { # pg_write_hba <datadir>
  cat >"$1/pg_hba.conf" <<HBA
# TYPE  DATABASE     USER              ADDRESS        METHOD
hostssl all          +rds_iam          $HOST/32   ldap ldapserver=$HOST ldapport=$IAM_LDAP_PORT ldapprefix="cn=" ldapsuffix=",ou=rds-iam"
host    all          +rds_iam          $HOST/32   reject
host    all          all               $HOST/32   scram-sha-256
host    replication  cyphr_replicator  $HOST/32   scram-sha-256
HBA
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
  pg_configure_tls "$data"
  pg_write_hba "$data"
  pg_start "$data" "$PG_PORT" primary
  psql_super -d postgres <<SQL
CREATE ROLE cyphr_replicator WITH REPLICATION LOGIN PASSWORD '$PG_REPLICATION_PASSWORD';
CREATE ROLE cyphr_app WITH LOGIN PASSWORD '$PG_APP_PASSWORD';
CREATE DATABASE cyphr OWNER cyphr_app;
SQL
}

# RDS has an rds_iam role whose members must log in with IAM tokens; the same SQL (GRANT rds_iam) runs here.
ensure_rds_iam_role() {
  psql_super -d postgres -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam') THEN CREATE ROLE rds_iam NOLOGIN; END IF; END \$\$"
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
  ensure_pg_tls
  if [[ ! -f "$PG_DIR/primary/PG_VERSION" ]]; then
    rm -rf "$PG_DIR/primary" "$PG_DIR/replica"
    init_primary
  else
    # Data folders from before TLS and IAM logins get them here; a running server rereads pg_hba on reload.
    pg_configure_tls "$PG_DIR/primary"
    pg_write_hba "$PG_DIR/primary"
    pg_start "$PG_DIR/primary" "$PG_PORT" primary
    as_pg "$(pg_bin pg_ctl)" -D "$PG_DIR/primary" reload >/dev/null
  fi
  ensure_rds_iam_role
  [[ -f "$PG_DIR/replica/PG_VERSION" ]] || init_replica
  pg_configure_tls "$PG_DIR/replica"
  pg_write_hba "$PG_DIR/replica"
  pg_start "$PG_DIR/replica" "$PG_REPLICA_PORT" replica
  as_pg "$(pg_bin pg_ctl)" -D "$PG_DIR/replica" reload >/dev/null
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
