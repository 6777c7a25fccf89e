#!/bin/bash
# 110-store-postgresql: the configuration store in PostgreSQL (a private
# cluster started by the test, pg_lib.sh). The CLI writes and reads through
# it (domains, policies, providers, settings, administrators) with the
# password never shown; an edge on it (edge A of policy_lib.sh's two-edge
# topology; B keeps SQLite) applies a change made with the CLI within
# 200 ms (LISTEN/NOTIFY; the largest delay over 20 changes is measured);
# PostgreSQL stopped: a CLI write fails at once with a clear message, the
# API answers 503, a member being started refuses to, the edge keeps serving
# with the last settings and says so once per cause, and after the restart
# a change reaches it; `fedge store copy` from a SQLite store made with the
# CLI gives the same lists and administrators, verifies counts and refuses
# a non-empty target unless --force; the panel on a second member (`fedge
# admin serve` on the same store) shares sessions, logout and throttling;
# the XMPP gateway's presence subscriptions (test_xmpp against PostgreSQL).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/policy_lib.sh"
. "$(dirname "$0")/pg_lib.sh"

F="$FEDGE_BIN"
check "a private PostgreSQL 15 cluster starts (initdb, pg_ctl as postgres)" pg_start || finish
note "store: postgresql://fedge:***@127.0.0.1:$PG_PORT/fedge"
P() { "$F" "$@" --store "$PG_URI"; }

note "the CLI on the PostgreSQL store"
check "domain allow / block" sh -c "'$F' domain allow fabrikam.test --proxy-fqdn edge.fabrikam.test --store '$PG_URI' && '$F' domain block spam.example --comment 'no spam' --store '$PG_URI'"
check "a blocked domain cannot be allowed: exit 1, the store's message" \
    sh -c "'$F' domain allow spam.example --store '$PG_URI' 2>&1; test \$? -eq 1" 
check "domain list through PostgreSQL, byte order (a-b < a. < ab)" sh -c "
    for d in ab.test a.test a-b.test; do '$F' domain allow \$d --store '$PG_URI' >/dev/null || exit 1; done
    '$F' domain list --store '$PG_URI' | awk 'NR > 1 {print \$1, \$2}' | tr '\n' ' ' | tee /dev/stderr |
        grep -qx 'allowed a-b.test allowed a.test allowed ab.test allowed fabrikam.test blocked spam.example '"
check "policy set / assign / list" sh -c "'$F' policy set partners --federation on --xmpp on --store '$PG_URI' >/dev/null &&
    '$F' policy assign alice@contoso.test partners --store '$PG_URI' >/dev/null &&
    '$F' policy list --store '$PG_URI' | tee /dev/stderr | grep -Eq '^alice@contoso.test +partners'"
check "provider add / list" sh -c "'$F' provider add hoster --proxy-fqdn sip.hoster.test --kind hosting --domains h1.test,h2.test --store '$PG_URI' >/dev/null &&
    '$F' provider list --store '$PG_URI' | grep -q 'h1.test,h2.test'"
check "an administrator account: add, list" sh -c "echo 'correct horse battery' | '$F' admin add alice --store '$PG_URI' >/dev/null &&
    '$F' admin list --store '$PG_URI' | grep -q '^alice '"
audit_count() {
    local n
    n=$(pg_sql "SELECT count(*) FROM audit WHERE actor LIKE 'cli:%'" fedge) || return 1
    echo "$n audit entries by cli:"
    [ "$n" -eq 9 ]
}
check_out "the audit trail is in PostgreSQL: one entry per change (9), by cli:LOGIN" audit_count
not_owned() {
    local out rc
    pg_sql "CREATE DATABASE notowned" >/dev/null || return 1
    out=$("$F" domain list --store "postgresql://fedge:$PG_PASS@127.0.0.1:$PG_PORT/notowned" 2>&1); rc=$?
    echo "$out"
    [ "$rc" -eq 1 ] && echo "$out" | grep -q "permission denied for schema public.*must own the database"
}
check_out "a database fedge's role does not own: exit 1, saying what is missing" not_owned
# The XMPP gateway's presence subscriptions (store_xsub_*, migration 8):
# the store's unit test run against an empty database of this cluster.
xsub_pg() {
    local uri
    uri=$(pg_db xsub) || return 1
    FEDGE_TEST_PG_URI=$uri "$FEDGE_BUILD/tests/unit/store/test_xmpp" 2>&1 | sed "s/$PG_PASS/***/g"
    [ "${PIPESTATUS[0]}" -eq 0 ]
}
check_out "XMPP presence subscriptions in PostgreSQL, and their adoption by a pool member (tests/unit/store/test_xmpp, migration 8)" xsub_pg
check "no message shows the password" sh -c "! grep -r '$PG_PASS' '$T_LOGS/checks.log'"

note "an edge on the PostgreSQL store"
start_edges() {
    pol_topology
    pol_dns || return 1
    CA=$T_TMP/contoso.ini CB=$T_TMP/fabrikam.ini
    pol_config "$CA" contoso "$EA" "$IA" "$UA" "$EB" "$ADA"
    pol_config "$CB" fabrikam "$EB" "$IB" "$UB" "$EA" "$ADB"
    sed -i "s#^store = .*#store = $PG_URI#" "$CA"
    "$F" check-config -c "$CA" > /dev/null || return 1
    start_bg uas-a $POLSIP uas --port "$UA" --log "$T_LOGS/uas-a.jsonl" --fail-prefix nobody
    wait_listen "$UA" 5 "$BG_PID" || return 1
    start_bg uas-b $POLSIP uas --port "$UB" --log "$T_LOGS/uas-b.jsonl"
    wait_listen "$UB" 5 "$BG_PID" || return 1
    FEDGE_NO_PARTNER=1 EXT_PORT=$EA INT_PORT=$IA start_fedge "$CA" edge-a || return 1
    FEDGE_NO_PARTNER=1 EXT_PORT=$EB INT_PORT=$IB start_fedge "$CB" edge-b || return 1
    B domain allow contoso.test --proxy-fqdn edge.contoso.test
}
check "dnsmasq, two UASs, edge A (store in PostgreSQL) and edge B (SQLite) start" start_edges || finish
CAROL=sip:carol@contoso.test
BLOCK="'$F' domain remove fabrikam.test -c '$CA' >/dev/null && '$F' domain block fabrikam.test -c '$CA' >/dev/null"
ALLOW="'$F' domain remove fabrikam.test -c '$CA' >/dev/null && '$F' domain allow fabrikam.test --proxy-fqdn edge.fabrikam.test -c '$CA' >/dev/null"
check "a partner's MESSAGE through A: 200 (fabrikam.test allowed in PostgreSQL)" \
    in_a edge.fabrikam.test sip:bob@fabrikam.test "$CAROL" 200
check "one connection: 200; blocked with the CLI -> 403 1012 200 ms after the CLI returned; unblocked -> 200" \
    in_a edge.fabrikam.test sip:bob@fabrikam.test "$CAROL" 200 403:1012:public 200 -- \
    --pause 0.2 --between "$BLOCK" --between "$ALLOW"

# The propagation delay over 20 changes: from the commit in PostgreSQL to
# the edge's log line saying it loaded that generation (pg_propagation.py).
measure() {
    python3 "$E2E_DIR/pg_propagation.py" --fedge "$F" --config "$CA" --log "$T_LOGS/edge-a.log" \
        --psql "$PG_BIN/psql" --pg-dir "$PG_DIR" --pg-port "$PG_PORT" --changes 20 --max-ms 200
}
check_out "every change in force at the edge within 200 ms (LISTEN/NOTIFY)" measure

# The web panel's API on edge A (its administrator alice was made with the
# CLI above, in PostgreSQL): signed in while the server is up.
API=http://127.0.0.1:$ADA
api_login() {
    curl -s -c "$T_TMP/jar" -H 'Content-Type: application/json' \
        -d '{"name":"alice","password":"correct horse battery"}' "$API/api/login" > "$T_TMP/login.json" &&
        CSRF=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["csrf"])' "$T_TMP/login.json")
}
# api_block DOMAIN: POST /api/domains/blocked; prints the status and body.
api_block() {
    curl -s -b "$T_TMP/jar" -H 'Content-Type: application/json' -H "X-CSRF-Token: $CSRF" \
        -o "$T_TMP/api.out" -w '%{http_code}' -m 20 -d "{\"domain\":\"$1\"}" "$API/api/domains/blocked"
}
api_ok() { local st; st=$(api_block "$1"); echo "HTTP $st: $(cat "$T_TMP/api.out")"; [ "$st" = 201 ]; }
check "the panel's API: alice signs in on edge A (account read from PostgreSQL)" api_login
check "  and blocks api-up.test: 201" api_ok api-up.test

note "PostgreSQL stopped"
check "pg_ctl stop (fast)" pg_stop
api_down() {
    local st t0 t1
    t0=$(date +%s%N); st=$(api_block api-down.test); t1=$(date +%s%N)
    echo "HTTP $st after $(((t1 - t0) / 1000000)) ms: $(cat "$T_TMP/api.out")"
    [ "$st" = 503 ] && grep -q 'cannot reach the PostgreSQL server' "$T_TMP/api.out" &&
        [ $((t1 - t0)) -lt 5000000000 ] && ! grep -q "$PG_PASS" "$T_TMP/api.out"
}
check_out "a change through the API: 503 within 5 s, saying why" api_down
down_write() {
    local t0 t1 rc
    t0=$(date +%s%N)
    timeout 20 "$F" domain block down.test -c "$CA"; rc=$?
    t1=$(date +%s%N)
    echo "exit $rc after $(((t1 - t0) / 1000000)) ms"
    [ "$rc" -eq 1 ] && [ $((t1 - t0)) -lt 5000000000 ]
}
check_out "fedge domain block: exit 1 within 5 s" down_write
check "  with a message saying the server cannot be reached, without the password" \
    sh -c "'$F' domain block down.test -c '$CA' 2>&1 | tee /dev/stderr | grep -q 'cannot reach the PostgreSQL server' &&
           ! '$F' domain block down.test -c '$CA' 2>&1 | grep -q '$PG_PASS'"
check "the edge keeps serving with the last settings: 10 MESSAGEs over 5 s, all 200 within 1 s" \
    in_a edge.fabrikam.test sip:bob@fabrikam.test "$CAROL" 200 200 200 200 200 200 200 200 200 200 -- \
    --pause 0.5 --max-ms 1000
wait_log() { wait_for "grep -q '$1' '$T_LOGS/edge-a.log'" "${2:-5}"; } # pattern [seconds]
check "the edge says it keeps the last good settings" wait_log 'store unreadable: keeping the last good settings'
# Once per cause, not on every refresh: the lost connection, then (when
# the server is not back at the first reconnection) the refused connection.
unreadable_lines() {
    local n
    n=$(grep -c 'store unreadable: keeping the last good settings' "$T_LOGS/edge-a.log")
    echo "$n lines"
    [ "$n" -ge 1 ] && [ "$n" -le 2 ]
}
check "  not on every refresh (at most one line per cause)" unreadable_lines
check "edge A still alive" alive edge-a
start_while_down() {
    local cfg=$T_TMP/member3.ini rc
    sed -e "s#127.0.0.1:$EA\$#127.0.0.1:$(free_port)#" -e "s#127.0.0.1:$IA\$#127.0.0.1:$(free_port)#" \
        -e "s#127.0.0.1:$ADA\$#127.0.0.1:$(free_port)#" "$CA" > "$cfg"
    timeout 20 "$F" serve -c "$cfg" > "$T_LOGS/member3.log" 2>&1; rc=$?
    tail -1 "$T_LOGS/member3.log"
    [ "$rc" -eq 1 ] && grep -q 'cannot reach the PostgreSQL server' "$T_LOGS/member3.log" &&
        ! grep -q "$PG_PASS" "$T_LOGS/member3.log"
}
check_out "a member started now does not start: exit 1 at once, naming the store" start_while_down

note "PostgreSQL back"
check "pg_ctl start" pg_up
check "a change with the CLI after the restart: block fabrikam.test" sh -c "$BLOCK"
refused_soon() {
    wait_for 'in_a edge.fabrikam.test sip:bob@fabrikam.test "$CAROL" 403:1012:public >/dev/null 2>&1' 6
}
check "it reaches the edge (reconnected): 403 1012 within 6 s" refused_soon
check "the API works again: block api-back.test 201 (reconnected)" api_ok api-back.test
check "the edge says the store is readable again" wait_log 'store readable again'
check_out "after reconnecting, changes arrive within 200 ms again" measure
bulk() {
    pg_sql "INSERT INTO allowed_domain(domain) SELECT 'bulk' || g || '.test' FROM generate_series(1, 10000) g;
            UPDATE meta SET value = value + 1 WHERE key = 'generation'" fedge &&
        "$F" domain list --store "$PG_URI" | grep -c '^allowed  bulk' | grep -qx 10000
}
check "10,000 more allowed domains (written in SQL, as another tool would)" bulk
check_out "  changes still in force within 200 ms (each reload builds a 10,000-domain snapshot)" measure

note "fedge store copy from a SQLite store made with the CLI"
DB=$T_TMP/run.db
make_sqlite() {
    S() { "$F" "$@" --store "$DB" >/dev/null; }
    S domain allow fabrikam.test --proxy-fqdn edge.fabrikam.test --comment "partner of old" --monitor &&
        S domain allow northwind.test && S domain block spam.example &&
        S provider add hoster --proxy-fqdn sip.hoster.test --kind hosting --domains a1.test,b1.test &&
        S policy set site:paris --public on && S policy set partners --federation on --xmpp on &&
        S policy assign alice@contoso.test partners &&
        S edge set --discovery on --discovered-rate 42 &&
        echo 'correct horse battery' | "$F" admin add root --store "$DB" >/dev/null
}
check "a SQLite store filled with the CLI" make_sqlite
COPY_URI=$(pg_db copied)
check "an empty database 'copied'" test -n "$COPY_URI"
check_out "fedge store copy --from FILE --to postgresql://...: counts verified" \
    sh -c "'$F' store copy --from '$DB' --to '$COPY_URI' | sed 's/$PG_PASS/<password>/'"
same() { diff <("$F" "$@" --store "$DB") <("$F" "$@" --store "$COPY_URI") > "$T_LOGS/diff.out" 2>&1 || { cat "$T_LOGS/diff.out"; return 1; }; }
check "  same fedge domain list" same domain list
check "  same fedge policy list" same policy list
check "  same fedge provider list" same provider list
check "  same administrators (fedge admin list)" same admin list
same_settings() {
    diff <("$F" edge show --store "$DB" | grep -v ^generation) \
        <("$F" edge show --store "$COPY_URI" | grep -v ^generation)
}
check "  same edge settings (but the generation)" same_settings
same_hash() {
    local a b
    a=$(sqlite3 "$DB" 'SELECT pwhash FROM admin_account') b=$(pg_sql 'SELECT pwhash FROM admin_account' copied)
    [ -n "$a" ] && [ "$a" = "$b" ]
}
check "  the administrator's password hash came along (byte for byte)" same_hash
refused_copy() {
    local out rc
    "$F" domain allow extra.test --store "$COPY_URI" >/dev/null || return 1
    out=$("$F" store copy --from "$DB" --to "$COPY_URI" 2>&1); rc=$?
    echo "$out" | sed "s/$PG_PASS/<password>/"
    [ "$rc" -eq 1 ] && echo "$out" | grep -q 'is not empty' &&
        "$F" domain list --store "$COPY_URI" | grep -q extra.test
}
check_out "a second copy into the now non-empty target: refused, exit 1, nothing changed" refused_copy
check "with --force: replaced, the extra domain gone" \
    sh -c "'$F' store copy --from '$DB' --to '$COPY_URI' --force >/dev/null && ! '$F' domain list --store '$COPY_URI' | grep -q extra.test"
note "the panel on every member: sessions and failed logins in PostgreSQL"
M2_ADMIN=$(free_port)
CM2=$T_TMP/member2.ini
sed "s#^listen = 127.0.0.1:$ADA\$#listen = 127.0.0.1:$M2_ADMIN#" "$CA" > "$CM2"
start_member2() {
    start_bg member2 "$F" admin serve -c "$CM2"
    wait_listen "$M2_ADMIN" 10 "$BG_PID" || { show member2; return 1; }
}
check "member 2 (the admin server alone, same store) starts" start_member2
# api URL METHOD PATH [BODY]: prints the HTTP status (alice's cookie jar).
api() {
    curl -s -b "$T_TMP/jar" -H 'Content-Type: application/json' -H "X-CSRF-Token: $CSRF" \
        -o "$T_TMP/api.out" -w '%{http_code}' -m 20 -X "$2" ${4:+-d "$4"} "$1$3"
}
is() { local want=$1 got; shift; got=$("$@"); echo "$* -> $got"; [ "$got" = "$want" ]; }
M2=http://127.0.0.1:$M2_ADMIN
check "alice signs in on edge A again" api_login
check_out "  her session works on member 2: GET /api/session 200" is 200 api "$M2" GET /api/session
check_out "  and a change through member 2 with her CSRF token: 201" \
    is 201 api "$M2" POST /api/domains/blocked '{"domain":"m2.test"}'
restart_a() {
    stop edge-a
    FEDGE_NO_PARTNER=1 EXT_PORT=$EA INT_PORT=$IA start_fedge "$CA" edge-a2 && wait_listen "$ADA" 10
}
check "edge A restarts" restart_a
check_out "  alice is still signed in on A after the restart: GET /api/session 200" \
    is 200 api "$API" GET /api/session
check_out "she signs out on member 2: 204" is 204 api "$M2" POST /api/logout
check_out "  and is signed out on A: GET /api/session 401" is 401 api "$API" GET /api/session
wrong_logins() {
    local i st
    for i in 1 2 3 4 5 6; do
        st=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
            -d '{"name":"alice","password":"wrong"}' "$M2/api/login")
        echo "wrong password on member 2: $st"
    done
    st=$(curl -s -o "$T_TMP/login.out" -w '%{http_code}' -H 'Content-Type: application/json' \
        -d '{"name":"alice","password":"correct horse battery"}' "$API/api/login")
    echo "right password on edge A right after: $st $(cat "$T_TMP/login.out")"
    [ "$st" = 429 ]
}
check_out "failed logins on member 2 throttle edge A: 429" wrong_logins
check "member 2 stops" stop member2
check "edge B alive" alive edge-b
check "edge A's log names its store without the password" \
    sh -c "grep -q 'store=postgresql://fedge:\*\*\*@127.0.0.1:$PG_PORT/fedge' '$T_LOGS/edge-a.log' && ! grep -q '$PG_PASS' '$T_LOGS'/edge-a*.log '$T_LOGS/member2.log'"
check "fedge check-config shows the store without the password" \
    sh -c "'$F' check-config -c '$CA' | tee /dev/stderr | grep -q 'store postgresql://fedge:\*\*\*@'"
finish
