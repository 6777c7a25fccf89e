#!/bin/bash
# 111-pool: an edge pool. Three fedge members of contoso.test (edge1..3,
# on 127.0.0.2, .3 and .4, same ports) share one PostgreSQL store (a private
# cluster, pg_lib.sh) and the pool FQDN edge.contoso.test; dnsmasq publishes
# the pool as partners see it (SRV _sipfederationtls._tcp.contoso.test ->
# edge.contoso.test, one A record per member). The partner fabrikam.test is
# another fedge (SQLite) that finds the pool by that SRV record; fabrikam's
# own edge is published as a pool of two addresses whose first is down.
#   - every member records itself: `fedge pool status`, GET /api/pool, a
#     member stopped turns stale; `fedge plan` lists one A record per member
#     and `fedge check` on a member verifies it against the pool;
#   - a domain blocked through member 1's CLI is in force at members 2 and 3
#     within 200 ms (the largest delay over 100 changes, from the commit);
#   - an INVITE dialog set up through member A (the one fabrikam's edge is
#     connected to) is ended by a BYE through another member after A is
#     killed (SIGKILL): Record-Route names the pool (edge.contoso.test
#     outside, [internal] pool_name inside); fabrikam's new transactions
#     then reach contoso through the other members, over a new connection;
#   - an administrator signed in on member 1 uses the API through member 2
#     (one panel name, as behind DNS load balancing);
#   - contoso's members reach the partner pool whose first address is down;
#   - the XMPP presence subscriptions of the killed member (rows of the
#     store) are adopted by a live member once it is stale, which
#     re-establishes them (its SUBSCRIBE in the stored dialog reaches
#     contoso's server);
#   - PostgreSQL stopped for 10 s: traffic flows with the last settings, a
#     write is refused at once, and after the restart a change made through
#     one member reaches another.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/policy_lib.sh"
. "$(dirname "$0")/pg_lib.sh"

F="$FEDGE_BIN"
EP=$(free_port) IP=$(free_port) AP=$(free_port) UA=$(free_port)
EB=$(free_port) IB=$(free_port) UB=$(free_port) ADB=$(free_port) DNS_PORT=$(free_port)
XP=$(free_port) # every member's [xmpp] listen port, on its own address
POOL=edge.contoso.test
CHANGES=${POOL_CHANGES:-100}

check "a private PostgreSQL 15 cluster starts (initdb, pg_ctl as postgres)" pg_start || finish

# The pool as partners see it, and fabrikam's edge as a two-address pool
# whose first address (127.0.0.5) has nothing listening (dnsmasq answers a
# hosts file's addresses of one name last line first).
cat > "$T_TMP/hosts" <<EOF
127.0.0.2 edge.contoso.test
127.0.0.3 edge.contoso.test
127.0.0.4 edge.contoso.test
127.0.0.2 edge1.contoso.test
127.0.0.3 edge2.contoso.test
127.0.0.4 edge3.contoso.test
127.0.0.1 edge.fabrikam.test
127.0.0.5 edge.fabrikam.test
EOF
check "dnsmasq publishes the pool: SRV -> $POOL, one A record per member" \
    dns_start dnsmasq "$DNS_PORT" 1 --addn-hosts="$T_TMP/hosts" \
    --srv-host=_sipfederationtls._tcp.contoso.test,$POOL,"$EP",1,1 \
    --srv-host=_sipfederationtls._tcp.fabrikam.test,edge.fabrikam.test,"$EB",1,1 || finish

# member N: contoso's edge N on 127.0.0.(N+1), store in PostgreSQL.
member_config() {
    local n=$1 ip=127.0.0.$(($1 + 1)) f=$T_TMP/edge$1.ini
    pol_config "$f" contoso "$EP" "$IP" "$UA" "$EB" "$AP"
    sed -i -e "s/^fqdn = .*/fqdn = edge$n.contoso.test\npool_fqdn = $POOL/" \
        -e "s#^store = .*#store = $PG_URI#" \
        -e "s/^listen = 127.0.0.1:/listen = $ip:/" \
        -e "s/^routing = default-route/routing = dns-srv/" -e "/^default_route/d" \
        -e "s/^transport = tcp/transport = tcp\npool_name = edgepool.corp.contoso.test/" "$f"
    printf '\n[xmpp]\nlisten = %s:%s\n' "$ip" "$XP" >> "$f"
    echo "$f"
}
start_member() {
    local n=$1 ip=127.0.0.$(($1 + 1))
    start_bg "edge$n" "$F" serve -c "$T_TMP/edge$n.ini"
    echo "$BG_PID" > "$T_TMP/edge$n.pid"
    wait_for "listening_on $EP $ip && listening_on $IP $ip" 10 || { show "edge$n"; return 1; }
}
listening_on() { ss -Htln "src $2:$1" 2>/dev/null | grep -q .; }
start_pool() {
    for n in 1 2 3; do member_config $n > /dev/null; done
    "$F" check-config -c "$T_TMP/edge1.ini" > /dev/null || return 1
    "$F" domain allow fabrikam.test -c "$T_TMP/edge1.ini" > /dev/null || return 1
    start_bg uas-a python3 "$E2E_DIR/pool_dialog.py" uas --port "$UA" --log "$T_LOGS/uas-a.jsonl"
    wait_listen "$UA" 5 "$BG_PID" || return 1
    for n in 1 2 3; do start_member $n || return 1; done
}
check "three members start on one PostgreSQL store (edge1..3 on 127.0.0.2-4)" start_pool || finish
start_partner() {
    CB=$T_TMP/fabrikam.ini
    pol_config "$CB" fabrikam "$EB" "$IB" "$UB" "$EP" "$ADB"
    sed -i -e "s/^routing = default-route/routing = dns-srv/" -e "/^default_route/d" "$CB"
    "$F" domain allow contoso.test -c "$CB" > /dev/null || return 1
    start_bg uas-b $POLSIP uas --port "$UB" --log "$T_LOGS/uas-b.jsonl"
    wait_listen "$UB" 5 "$BG_PID" || return 1
    FEDGE_NO_PARTNER=1 EXT_PORT=$EB INT_PORT=$IB start_fedge "$CB" fabrikam
}
check "the partner fabrikam.test (a fedge routing by DNS SRV) starts" start_partner || finish

note "a partner pool whose first address is down"
out_pool() {
    $POLSIP send --host 127.0.0.4 --port "$IP" --from "sip:carol@contoso.test" \
        --ruri "sip:bob@fabrikam.test" --expect 200 --expect 200 --expect 200
}
check_out "contoso -> fabrikam (edge.fabrikam.test: 127.0.0.5 down, then 127.0.0.1) through member 3 (no connection to fabrikam yet): 200" out_pool
check_out "  member 3 tried the first address and went on to the next" \
    sh -c "grep -E '127\.0\.0\.5' '$T_LOGS/edge3.log' | head -3; grep -qE '127\.0\.0\.5' '$T_LOGS/edge3.log'"
note "membership"
members_live() {
    "$F" pool status -c "$T_TMP/edge1.ini" > "$T_TMP/status.out" 2>&1 || return 1
    [ "$(grep -c ' live ' "$T_TMP/status.out")" -eq 3 ]
}
check "fedge pool status: three live members" wait_for members_live 10
check_out "  with their addresses, version and certificates naming the pool (exit 0)" \
    sh -c "cat '$T_TMP/status.out'; grep -q '^edge2.contoso.test  *live  *127.0.0.3:$EP  *0.1.0 .* yes ' '$T_TMP/status.out'"
pool_json() {
    "$F" pool status --json -c "$T_TMP/edge3.ini" | python3 -c '
import json, sys
d = json.load(sys.stdin)
m = {x["fqdn"]: x for x in d["members"]}
print(d["pool"], sorted(m), [x["state"] for x in m.values()])
assert d["pool"] == "edge.contoso.test" and len(m) == 3
assert all(x["certificate_names_pool"] and x["state"] == "live" for x in m.values())
assert m["edge1.contoso.test"]["internal"] == "127.0.0.2:'"$IP"'"'
}
check_out "  --json names the pool, the members and their internal addresses" pool_json
plan_members() {
    "$F" plan -c "$T_TMP/edge2.ini" > "$T_TMP/plan.out" || return 1
    grep -E "^(_sipfed|edge\.contoso|edgepool)" "$T_TMP/plan.out"
    grep -q "^_sipfederationtls._tcp.contoso.test. .* SRV  0 0 $EP edge.contoso.test.$" "$T_TMP/plan.out" &&
        [ "$(grep -c '^edge.contoso.test\. .* IN A ' "$T_TMP/plan.out")" -eq 3 ] &&
        [ "$(grep -c '^edgepool.corp.contoso.test\. .* IN A ' "$T_TMP/plan.out")" -eq 3 ] &&
        grep -q 'Office Communications Server 2007' "$T_TMP/plan.out" &&
        grep -q '^subject   CN=edge.contoso.test$' "$T_TMP/plan.out"
}
check_out "fedge plan on a member: SRV to the pool, one A per member (external and internal), CN=pool, OCS 2007 note" plan_members
check_out "fedge plan --hlb: the pool FQDN names the load balancer only" \
    sh -c "'$F' plan -c '$T_TMP/edge2.ini' --hlb 192.0.2.10 | grep '^edge.contoso.test\. ' | tee /dev/stderr | grep -qx 'edge.contoso.test. *3600 IN A    192.0.2.10'"
check_pool() {
    "$F" check -c "$T_TMP/edge2.ini" --timeout 1000 > "$T_TMP/check.out"
    grep -E "^\[(pass|warn|fail|info)\] (dns|pool)" "$T_TMP/check.out"
    grep -q "^\[pass\] dns .*SRV _sipfederationtls._tcp.contoso.test: points to edge.contoso.test:$EP" "$T_TMP/check.out" &&
        grep -q "^\[pass\] dns .*A/AAAA edge.contoso.test (the pool): resolves to .*this member among them" "$T_TMP/check.out" &&
        grep -q "^\[pass\] cert .*names edge.contoso.test" "$T_TMP/check.out" &&
        [ "$(grep -c '^\[pass\] pool .*member edge' "$T_TMP/check.out")" -eq 3 ]
}
check_out "fedge check on member 2 verifies it against the pool (SRV, pool A records, certificate, members)" check_pool

note "a change through member 1 reaches members 2 and 3"
MSG=0
# in_pool N FROM TO EXPECT...: a partner edge presenting edge.fabrikam.test's
# certificate sends straight to member N's external address.
in_pool() {
    local n=$1 from=$2 to=$3; shift 3
    local exp=()
    for e in "$@"; do exp+=(--expect "$e"); done
    $POLSIP send --host 127.0.0.$((n + 1)) --port "$EP" --tls --pki "$PKI" --cert edge.fabrikam.test \
        --server-name $POOL --from "$from" --ruri "$to" "${exp[@]}"
}
check "fabrikam allowed: a MESSAGE straight to member 2 -> 200" \
    in_pool 2 sip:bob@fabrikam.test sip:carol@contoso.test 200
block_seen() {
    "$F" domain remove fabrikam.test -c "$T_TMP/edge1.ini" > /dev/null &&
        "$F" domain block fabrikam.test -c "$T_TMP/edge1.ini" > /dev/null || return 1
    wait_for "in_pool 2 sip:bob@fabrikam.test sip:carol@contoso.test 403:1012:public >/dev/null && in_pool 3 sip:bob@fabrikam.test sip:carol@contoso.test 403:1012:public >/dev/null" 1
}
check "blocked through member 1's CLI: members 2 and 3 refuse fabrikam (403 1012)" block_seen
check "allowed again" sh -c "'$F' domain remove fabrikam.test -c '$T_TMP/edge1.ini' >/dev/null && '$F' domain allow fabrikam.test -c '$T_TMP/edge1.ini' >/dev/null"
propagation() {
    python3 "$E2E_DIR/pg_propagation.py" --fedge "$F" --config "$T_TMP/edge1.ini" \
        --log "$T_LOGS/edge2.log" --log "$T_LOGS/edge3.log" --psql "$PG_BIN/psql" \
        --pg-dir "$PG_DIR" --pg-port "$PG_PORT" --changes "$CHANGES" --max-ms 200
}
check_out "$CHANGES changes made with member 1's CLI: in force at members 2 and 3 within 200 ms of the commit" propagation

note "the panel through any member"
# api N METHOD PATH [BODY]: the API of member N under the panel's one name
# (http://127.0.0.1:PORT/, the name a loopback admin listener answers to;
# the connection goes to member N's address, as DNS load balancing would
# send it): the browser's one cookie jar for all members.
api() {
    local ip=127.0.0.$(($1 + 1))
    curl -s --connect-to "127.0.0.1:$AP:$ip:$AP" -b "$T_TMP/jar" -c "$T_TMP/jar" \
        -H 'Content-Type: application/json' -H "X-CSRF-Token: ${CSRF:-}" \
        -o "$T_TMP/api.out" -w '%{http_code}' -m 20 -X "$2" ${4:+-d "$4"} "http://127.0.0.1:$AP/api$3"
}
is() { local want=$1 got; shift; got=$("$@"); echo "$* -> $got $(head -c 300 "$T_TMP/api.out")"; [ "$got" = "$want" ]; }
login1() {
    echo 'correct horse battery' | "$F" admin add alice -c "$T_TMP/edge1.ini" > /dev/null || return 1
    is 200 api 1 POST /login '{"name":"alice","password":"correct horse battery"}' || return 1
    CSRF=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["csrf"])' "$T_TMP/api.out")
}
check "alice signs in on member 1" login1
check_out "  her session works on member 2: GET /api/session 200" is 200 api 2 GET /session
check_out "  a change through member 2 with her CSRF token: 201" \
    is 201 api 2 POST /domains/blocked '{"domain":"via-member2.test"}'
api_pool() {
    is 200 api 2 GET /pool || return 1
    python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["member"] == "edge2.contoso.test" and d["pool"] == "edge.contoso.test", d
assert [x["fqdn"] for x in d["items"] if x["this"]] == ["edge2.contoso.test"]
assert len(d["items"]) == 3 and all(x["state"] == "live" for x in d["items"])' "$T_TMP/api.out"
}
check_out "  GET /api/pool on member 2: three live members, itself marked" api_pool
BROWSER_DIR=$FEDGE_ROOT/tests/browser
pool_page() {
    [ -d "$BROWSER_DIR/node_modules/playwright-core" ] ||
        env PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$BROWSER_DIR" --no-audit --no-fund ||
        return 1
    mkdir -p "$T_TMP/profile"
    (cd "$BROWSER_DIR" && env ADMIN_URL="http://127.0.0.4:$AP/" ADMIN_USER=alice \
        ADMIN_PASS='correct horse battery' SHOTS="$T_LOGS" PROFILE="$T_TMP/profile" MEMBERS=3 \
        THIS=edge3.contoso.test timeout 120 node pool-page.mjs)
}
check_out "the panel's Pool page on member 3 (Chromium): three live members, itself marked" pool_page

note "a member dies in the middle of a dialog"
via_member() { # CALL_ID [METHOD]: the member (1-3) whose internal address is the top Via at contoso's server
    python3 "$E2E_DIR/pool_dialog.py" via --log "$T_LOGS/uas-a.jsonl" --call-id "$1" --method "${2:-MESSAGE}" \
        --member-log "$T_LOGS/edge1.log" --member-log "$T_LOGS/edge2.log" --member-log "$T_LOGS/edge3.log"
}
# run by pool_dialog.py between the ACK and the BYE: SIGKILL the member
# that carried the INVITE (member A), and wait until it is gone.
cat > "$T_TMP/kill-a.sh" <<EOF
cid=\$(python3 '$E2E_DIR/pool_dialog.py' via --log '$T_LOGS/uas-a.jsonl' --method INVITE --last-call-id)
m=\$(python3 '$E2E_DIR/pool_dialog.py' via --log '$T_LOGS/uas-a.jsonl' --method INVITE --call-id "\$cid" --member-log '$T_LOGS/edge1.log' --member-log '$T_LOGS/edge2.log' --member-log '$T_LOGS/edge3.log')
echo "\$m" > '$T_TMP/ka'; echo "\$cid" > '$T_TMP/dialog'
pid=\$(cat '$T_TMP'/edge\$m.pid)
echo "the dialog goes through member \$m: killing it (pid \$pid)"
kill -KILL -- -\$pid || exit 1
for i in \$(seq 50); do
    st=\$(awk '{print \$3}' /proc/\$pid/stat 2>/dev/null)
    if [ -z "\$st" ] || [ "\$st" = Z ]; then exit 0; fi
    sleep 0.1
done
exit 1
EOF
B_LINES=$(wc -l < "$T_LOGS/fabrikam.log")
dialog() {
    python3 "$E2E_DIR/pool_dialog.py" uac --port "$IB" --from sip:bob@fabrikam.test \
        --ruri sip:carol@contoso.test --between "bash $T_TMP/kill-a.sh" || return 1
    # member A was gone before the BYE was sent (kill-a.sh waited for it):
    # the BYE that contoso's server answered went through another member
    local cid
    cid=$(cat "$T_TMP/dialog")
    python3 "$E2E_DIR/pool_dialog.py" via --log "$T_LOGS/uas-a.jsonl" --method BYE --last-call-id |
        grep -qx "$cid" && echo "contoso's server got the BYE of $cid"
}
check_out "an INVITE dialog set up through member A is ended by a BYE through another member after A is killed" dialog
KA=$(cat "$T_TMP/ka" 2>/dev/null)
[ -n "$KA" ] || finish
wait_for "! alive edge$KA" 5
# through_pool N: N MESSAGEs from fabrikam's users to contoso through
# fabrikam's edge, each on its own Call-ID (fabrikam resolves the pool and
# tries its addresses in turn); every one must reach contoso's server
# through a member other than A.
through_pool() {
    local i id ok=0 m
    for i in $(seq 1 "$1"); do
        id=pool-$i-$RANDOM
        $POLSIP send --port "$IB" --from "sip:bob@fabrikam.test" --ruri "sip:carol@contoso.test" \
            --call-id "$id" --expect 200 > /dev/null || { echo "message $i: not 200"; continue; }
        wait_for "seen_a $id >/dev/null" 2 && m=$(via_member "$id") && [ "$m" != "$KA" ] &&
            ok=$((ok + 1)) && echo "message $i: through member $m"
    done
    echo "$ok of $1 reached contoso through the other members"
    [ "$ok" -eq "$1" ]
}
check_out "fabrikam's new transactions reach contoso through the other members (10 of 10)" through_pool 10
new_conn() {
    tail -n +"$((B_LINES + 1))" "$T_LOGS/fabrikam.log" | grep 'connection ready .*direction=out identity=edge.contoso.test' |
        tee /dev/stderr | grep -vq "peer=127\.0\.0\.$((KA + 1)):"
}
check_out "  fabrikam opened a new connection to another member of the pool (its connection to A was gone)" new_conn
KB=$((KA % 3 + 1))
stale_a() {
    "$F" pool status -c "$T_TMP/edge$KB.ini" > "$T_TMP/status.out"
    [ $? -eq 1 ] && grep -q "^edge$KA.contoso.test  *stale " "$T_TMP/status.out"
}
stale_shown() { wait_for stale_a 15; local rc=$?; cat "$T_TMP/status.out"; return $rc; }
# Member A's XMPP presence subscription (an XMPP user watching carol, the
# SIP dialog held by A), written as A would have: once A is stale a live
# member adopts it and refreshes it in the stored dialog.
xsub_a() {
    pg_sql "INSERT INTO xmpp_subscription(dir, watcher, target, owner, active, call_id,
        local_tag, remote_tag, remote_uri, remote_target, cseq, expires_s, presence, note)
        VALUES('xmpp', 'bob@fabrikam.test', 'carol@contoso.test', 'edge$KA.contoso.test', 1,
        'adopt-$KA@pool', 'lt$KA', '', 'sip:carol@contoso.test', '', 1,
        CAST(extract(epoch FROM now()) AS bigint) + 3600, 'available', '')" fedge
}
check "member A's XMPP presence subscription is in the store (owner edge$KA)" xsub_a
adopted() {
    local owner
    owner=$(pg_sql "SELECT owner FROM xmpp_subscription WHERE call_id = 'adopt-$KA@pool'" fedge)
    [ -n "$owner" ] && [ "$owner" != "edge$KA.contoso.test" ] || return 1
    echo "row now owned by $owner"
    grep -h "presence subscriptions adopted from a stale pool member" "$T_LOGS"/edge[123].log |
        grep "from=edge$KA.contoso.test" &&
        python3 "$E2E_DIR/pool_dialog.py" via --log "$T_LOGS/uas-a.jsonl" --method SUBSCRIBE \
            --last-call-id | grep -qx "adopt-$KA@pool" &&
        echo "contoso's server got the adopter's SUBSCRIBE in the stored dialog"
}
check_out "a live member adopts A's subscription within 10 s and re-SUBSCRIBEs in its dialog" \
    wait_for adopted 10
check "fedge pool forget edge$KA.contoso.test; then status is clean again (exit 0)" \
    sh -c "'$F' pool forget edge$KA.contoso.test -c '$T_TMP/edge$KB.ini' && '$F' pool status -c '$T_TMP/edge$KB.ini'"

note "PostgreSQL stopped for 10 s"
KC=$((KB % 3 + 1)); [ "$KC" = "$KA" ] && KC=$((KC % 3 + 1))
check "PostgreSQL stops" pg_stop
outage_traffic() {
    local t0=$SECONDS ok=0 n=0
    while [ $((SECONDS - t0)) -lt 10 ]; do
        n=$((n + 1))
        in_pool "$KB" sip:bob@fabrikam.test sip:carol@contoso.test 200 > /dev/null && ok=$((ok + 1))
        sleep 1
    done
    echo "$ok of $n MESSAGEs through member $KB answered 200 over 10 s of outage"
    [ "$ok" -eq "$n" ]
}
check_out "traffic keeps flowing with the last settings (one MESSAGE a second through member B)" outage_traffic
refused_write() {
    local out rc t0=$SECONDS
    out=$("$F" domain block outage.test -c "$T_TMP/edge$KB.ini" 2>&1); rc=$?
    echo "exit $rc after $((SECONDS - t0)) s: $out" | sed "s/$PG_PASS/<password>/g"
    [ "$rc" -eq 1 ] && echo "$out" | grep -q "cannot reach the PostgreSQL server"
}
check_out "a write through member B's CLI is refused at once with a clear message (exit 1)" refused_write
check "PostgreSQL starts again" pg_up
after_outage() {
    wait_for "'$F' domain block outage.test -c '$T_TMP/edge$KB.ini' >/dev/null 2>&1" 10 || return 1
    "$F" domain remove fabrikam.test -c "$T_TMP/edge$KB.ini" > /dev/null &&
        "$F" domain block fabrikam.test -c "$T_TMP/edge$KB.ini" > /dev/null || return 1
    wait_for "in_pool $KC sip:bob@fabrikam.test sip:carol@contoso.test 403:1012:public >/dev/null" 5 &&
        echo "fabrikam blocked through member $KB's CLI: refused by member $KC"
}
check_out "after the restart a change made through member B reaches member C" after_outage
# (a member retries with a backoff of up to 4 s: B's own CLI may be quicker)
check "  and both members say the store is readable again" \
    wait_for "grep -q 'store readable again' '$T_LOGS/edge$KB.log' && grep -q 'store readable again' '$T_LOGS/edge$KC.log'" 6
all_alive() { for n in 1 2 3; do [ "$n" = "$KA" ] || alive "edge$n" || return 1; done; alive fabrikam; }
check "the other members and fabrikam alive" all_alive
finish
