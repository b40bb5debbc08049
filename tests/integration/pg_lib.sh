# PostgreSQL for integration scripts (sourced after lib.sh): real
# PostgreSQL 15 clusters made with initdb and run with pg_ctl in the test's
# scratch directory, on free loopback ports, stopped on exit.
#
#   pg_start NAME [CONF_LINE]...   initdb + start a primary in $WORK/NAME;
#                                  sets PG_PORT_NAME, PG_URI_NAME (database
#                                  anshim, user anshim, trust on loopback)
#   pg_standby NAME PRIMARY        a streaming standby of PRIMARY
#                                  (pg_basebackup -R), started
#   pg_promote NAME / pg_stop NAME [MODE] / pg_kill9 NAME
#   pg_sql NAME SQL                psql -At on the cluster's database
#
# The server logs go to $WORK/NAME/server.log.

PG_BIN=${PG_BIN:-$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)}
[ -x "$PG_BIN/initdb" ] || { echo "SKIP: PostgreSQL 15 server not installed (scripts/setup)"; exit 77; }
need psql
declare -A PG_PORT=() PG_URI=()
# PostgreSQL refuses to run as root: then the clusters run as the
# 'postgres' user (Debian's package makes it), in directories it owns.
PG_AS=()
if [ "$(id -u)" = 0 ]; then
  getent passwd postgres > /dev/null || { echo "SKIP: running as root without a postgres user"; exit 77; }
  PG_AS=(runuser -u postgres --)
  chmod 0711 "$WORK"
fi

_pg_env() { PGHOST=127.0.0.1 PGUSER=anshim PGDATABASE=anshim PGPORT=${PG_PORT[$1]} "${@:2}"; }

# _pg_dir NAME: the cluster's directory, owned by the user that runs it.
_pg_dir() {
  mkdir -p "$WORK/$1"
  chmod 0700 "$WORK/$1"
  [ ${#PG_AS[@]} = 0 ] || chown postgres: "$WORK/$1"
}

_pg_ready() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "${PG_PORT[$1]}"; }

_pg_conf() {
  local name=$1; shift
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = ${PG_PORT[$name]}"
    echo "unix_socket_directories = '$WORK/$name'"
    echo "max_connections = 60"
    echo "shared_buffers = 32MB"
    echo "wal_level = replica"
    echo "max_wal_senders = 4"
    echo "hot_standby = on"
    for line in "$@"; do echo "$line"; done
  } | "${PG_AS[@]}" tee -a "$WORK/$name/postgresql.conf" > /dev/null
}

_pg_launch() {
  local name=$1
  "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$WORK/$name" -l "$WORK/$name/server.log" -w -t 60 start > /dev/null \
    || { tail -n 20 "$WORK/$name/server.log" >&2; fail "PostgreSQL $name did not start"; }
  CLEANUP_HOOKS+=("pg_stop $name immediate")
  wait_for 30 "PostgreSQL $name accepting connections" _pg_ready "$name"
}

pg_start() {
  local name=$1; shift
  PG_PORT[$name]=$(free_port)
  PG_URI[$name]="postgresql://anshim@127.0.0.1:${PG_PORT[$name]}/anshim"
  _pg_dir "$name"
  "${PG_AS[@]}" "$PG_BIN/initdb" -D "$WORK/$name" -U anshim --auth=trust -E UTF8 --no-sync \
    > "$WORK/$name-initdb.log" 2>&1 || { cat "$WORK/$name-initdb.log" >&2; fail "initdb $name"; }
  echo "host replication anshim 127.0.0.1/32 trust" | "${PG_AS[@]}" tee -a "$WORK/$name/pg_hba.conf" > /dev/null
  _pg_conf "$name" "$@"
  _pg_launch "$name"
  _pg_env "$name" "$PG_BIN/createdb" anshim || fail "createdb on $name"
}

pg_standby() {
  local name=$1 primary=$2; shift 2
  PG_PORT[$name]=$(free_port)
  PG_URI[$name]="postgresql://anshim@127.0.0.1:${PG_PORT[$name]}/anshim"
  _pg_dir "$name"
  _pg_env "$primary" "${PG_AS[@]}" "$PG_BIN/pg_basebackup" -D "$WORK/$name" -R -X stream -c fast \
    -d "application_name=$name" > "$WORK/$name-basebackup.log" 2>&1 \
    || { cat "$WORK/$name-basebackup.log" >&2; fail "pg_basebackup $name from $primary"; }
  _pg_conf "$name" "$@"
  _pg_launch "$name"
}

pg_promote() { "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$WORK/$1" -w -t 60 promote > /dev/null; }

# pg_stop NAME [MODE]: stop it (fast by default) if it runs.
pg_stop() {
  [ -f "$WORK/$1/postmaster.pid" ] || return 0
  "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$WORK/$1" -m "${2:-fast}" -w -t 60 stop > /dev/null 2>&1 || true
}

pg_kill9() {
  local pid
  pid=$(head -n 1 "$WORK/$1/postmaster.pid")
  kill -KILL "$pid"
}

pg_sql() { _pg_env "$1" psql -X -q -At -v ON_ERROR_STOP=1 -c "$2"; }
