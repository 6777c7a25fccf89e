#!/bin/bash
# pool.sh — benchmark an edge pool on one PostgreSQL store (docs/pools.md):
#
#   1. snapshot rebuild time against the size of the allow list, on
#      PostgreSQL (BENCH_POOL_SIZES, default 1000 10000 50000 allowed
#      domains written with psql; build/bench/bench_snapshot --store URI;
#      the SQLite figures come from bench_snapshot run alone by make bench);
#   2. propagation delay with 3 and then 6 members running and 10,000
#      allowed domains in the store: BENCH_POOL_CHANGES (100) changes made
#      with member 1's CLI, each timed from its commit (PostgreSQL's commit
#      timestamp) to the "settings loaded" line of every other member
#      (tests/e2e/pg_propagation.py); p50, p99 and max over changes x
#      members.
#
# Targets: p99 <= 200 ms; 10,000 domains rebuilt in <= 50 ms (median).
# Exit status 0 only when both hold. Members listen on 127.0.0.2..7 (the
# same ports), a private PostgreSQL cluster (tests/e2e/pg_lib.sh) runs as
# the postgres user. Logs: $FEDGE_BUILD/bench/pool/.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
FEDGE_ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${FEDGE_BUILD:=build}"
case $FEDGE_BUILD in /*) ;; *) FEDGE_BUILD=$FEDGE_ROOT/$FEDGE_BUILD ;; esac
export FEDGE_ROOT FEDGE_BUILD
T_NAME=bench-pool
T_LOGS=$FEDGE_BUILD/bench/pool
. "$FEDGE_ROOT/tests/e2e/lib.sh"
. "$FEDGE_ROOT/tests/e2e/policy_lib.sh"
. "$FEDGE_ROOT/tests/e2e/pg_lib.sh"

SIZES=${BENCH_POOL_SIZES:-"1000 10000 50000"}
CHANGES=${BENCH_POOL_CHANGES:-100}
DOMAINS=${BENCH_POOL_DOMAINS:-10000}
F=$FEDGE_BIN
SNAP=$FEDGE_BUILD/bench/bench_snapshot
[ -x "$SNAP" ] || { echo "pool.sh: build $SNAP first (make bench)"; exit 1; }
ok=1

pg_start || { echo "pool.sh: PostgreSQL did not start"; exit 1; }
# the schema, then N allowed domains straight into the table (one
# transaction; the CLI would write one audited change per domain)
"$F" domain list --store "$PG_URI" > /dev/null || exit 1
fill() {
    pg_sql "BEGIN; DELETE FROM allowed_domain WHERE domain LIKE '%.bench.test';
        INSERT INTO allowed_domain(domain, comment)
            SELECT 'd' || lpad(g::text, 6, '0') || '.bench.test', '' FROM generate_series(1, $1) g;
        UPDATE meta SET value = value + 1 WHERE key = 'generation'; COMMIT;" fedge > /dev/null
}

echo "# 1. snapshot rebuild against list size (PostgreSQL on loopback)"
for n in $SIZES; do
    fill "$n" || exit 1
    out=$("$SNAP" --store "$PG_URI" --runs 20 | head -1) || ok=0
    echo "$out"
    med=$(echo "$out" | sed -n 's/.*median *\([0-9.]*\) ms.*/\1/p')
    [ "$n" -le 10000 ] && awk -v m="$med" 'BEGIN { exit !(m > 50) }' && ok=0
done

echo "# 2. propagation with $DOMAINS allowed domains in the store"
fill "$DOMAINS" || exit 1
EP=$(free_port) IP=$(free_port) AP=$(free_port) UA=$(free_port) DNS_PORT=$(free_port)
member() {
    local n=$1 ip=127.0.0.$(($1 + 1)) f=$T_TMP/edge$1.ini
    FEDGE_LOG_LEVEL=info pol_config "$f" contoso "$EP" "$IP" "$UA" "$EP" "$AP"
    sed -i -e "s/^fqdn = .*/fqdn = edge$n.contoso.test\npool_fqdn = edge.contoso.test/" \
        -e "s#^store = .*#store = $PG_URI#" -e "s/^listen = 127.0.0.1:/listen = $ip:/" "$f"
    start_bg "edge$n" "$F" serve -c "$f"
    # edge_new loads the store before it says it started
    wait_for "grep -qs 'fedge serve started' '$T_LOGS/edge$n.log'" 30 ||
        { echo "member $n did not start"; show "edge$n"; return 1; }
}
measure() { # MEMBERS
    local logs=() n
    for n in $(seq 2 "$1"); do logs+=(--log "$T_LOGS/edge$n.log"); done
    echo "$1 members (a change through member 1, timed at members 2..$1):"
    python3 "$E2E_DIR/pg_propagation.py" --fedge "$F" --config "$T_TMP/edge1.ini" "${logs[@]}" \
        --psql "$PG_BIN/psql" --pg-dir "$PG_DIR" --pg-port "$PG_PORT" --changes "$CHANGES" \
        --max-ms 100000 | tee "$T_TMP/prop.out"
    local p99
    p99=$(sed -n 's/^commit -> edge loaded.* p99 \([0-9]*\) ms.*/\1/p' "$T_TMP/prop.out")
    [ -n "$p99" ] && [ "$p99" -le 200 ] || ok=0
}
for n in 1 2 3; do member $n || exit 1; done
measure 3
for n in 4 5 6; do member $n || exit 1; done
measure 6
for n in 1 2 3 4 5 6; do stop "edge$n"; done
if [ "$ok" = 1 ]; then
    echo "targets met: p99 <= 200 ms, 10,000 domains rebuilt in <= 50 ms"
    exit 0
fi
echo "a target was MISSED (p99 <= 200 ms, 10,000 domains rebuilt in <= 50 ms)"
exit 1
