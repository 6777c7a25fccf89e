# pg_lib.sh — a private PostgreSQL 15 cluster for the end-to-end tests of
# the PostgreSQL store (tests/e2e/11x-*.sh), sourced after lib.sh:
#
#   pg_start          initdb + pg_ctl start as the `postgres` user in a
#                     fresh folder under /tmp, listening on 127.0.0.1:$PG_PORT
#                     (and a Unix socket in that folder only); creates the
#                     role fedge (password $PG_PASS, scram-sha-256 over TCP)
#                     owning database fedge; sets PG_URI.
#   pg_stop / pg_up   stop (fast shutdown) / start the same cluster again
#   pg_db NAME        another empty database owned by fedge; prints its URI
#   pg_sql SQL [DB]   run SQL as the superuser over the Unix socket
#
# Commit timestamps are on (track_commit_timestamp), so that a test can
# tell when a change was committed (tests/e2e/pg_propagation.py).
# Never the system cluster: its own data folder, port and socket folder.
# The exit trap stops it (immediate shutdown) and removes the folder before
# lib.sh's own cleanup runs.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_DIR=""
PG_PORT=""
PG_PASS=fedge-test-secret-42
PG_URI=""

_pg() { runuser -u postgres -- "$@"; }

_pg_cleanup() {
    if [ -n "$PG_DIR" ] && [ -d "$PG_DIR" ]; then
        _pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1
        cp "$PG_DIR/postgres.log" "$T_LOGS/postgres.log" 2>/dev/null
        rm -rf "$PG_DIR"
    fi
}
# Runs before whatever EXIT trap lib.sh set, with the exit status kept.
_pg_prev=$(trap -p EXIT | sed -n "s/^trap -- '\(.*\)' EXIT\$/\1/p")
trap "_pg_rc=\$?; _pg_cleanup; (exit \$_pg_rc); ${_pg_prev:-exit \$_pg_rc}" EXIT

pg_start() {
    [ -x "$PG_BIN/initdb" ] || { echo "no $PG_BIN/initdb (Debian package postgresql-15)"; return 1; }
    PG_DIR=$(mktemp -d /tmp/fedge-pg.XXXXXX) || return 1
    chown postgres: "$PG_DIR" && chmod 700 "$PG_DIR" || return 1
    PG_PORT=$(free_port)
    _pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth-local=trust \
        --auth-host=scram-sha-256 --no-sync -E UTF8 > "$T_LOGS/initdb.log" 2>&1 ||
        { cat "$T_LOGS/initdb.log"; return 1; }
    pg_up || return 1
    pg_sql "CREATE ROLE fedge LOGIN PASSWORD '$PG_PASS'" &&
        pg_sql "CREATE DATABASE fedge OWNER fedge" || return 1
    PG_URI="postgresql://fedge:$PG_PASS@127.0.0.1:$PG_PORT/fedge"
}

pg_up() {
    _pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=off -c track_commit_timestamp=on" start \
        > "$T_LOGS/pg_ctl.log" 2>&1 || { cat "$T_LOGS/pg_ctl.log" "$PG_DIR/postgres.log"; return 1; }
}

pg_stop() {
    _pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop >> "$T_LOGS/pg_ctl.log" 2>&1
}

pg_sql() {
    _pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -U postgres \
        -d "${2:-postgres}" -At -c "$1"
}

pg_db() {
    pg_sql "CREATE DATABASE $1 OWNER fedge" >/dev/null || return 1
    echo "postgresql://fedge:$PG_PASS@127.0.0.1:$PG_PORT/$1"
}
