#!/bin/bash
# 093-policy-live: the policy changes while traffic flows. On one partner
# connection, a domain blocked with the CLI is refused from the next request
# (within a second) and allowed again after unblocking, the connection
# staying up throughout; the same for an internal user's connection with one
# outbound connection between the edges. The store's routing wins over the
# INI (live, and after a restart). Concurrent CLI writes while the edge
# reads: every request answered within a second, every write done, nothing
# lost. A store damaged at run time: the edge says so, keeps deciding with
# the last good settings, and reads it again once repaired. A corrupt store
# at start: fedge serve does not start and names the file.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/policy_lib.sh"

check "dnsmasq, two UASs and two edges start" pol_start || finish
check "A allows partner server fabrikam.test" A domain allow fabrikam.test --proxy-fqdn edge.fabrikam.test
check "B allows partner server contoso.test" B domain allow contoso.test --proxy-fqdn edge.contoso.test
settle
BOB=sip:bob@fabrikam.test CAROL=sip:carol@contoso.test
F="$FEDGE_BIN"
BLOCK_A="'$F' domain remove fabrikam.test -c '$CA' >/dev/null && '$F' domain block fabrikam.test -c '$CA' >/dev/null"
ALLOW_A="'$F' domain remove fabrikam.test -c '$CA' >/dev/null && '$F' domain allow fabrikam.test --proxy-fqdn edge.fabrikam.test -c '$CA' >/dev/null"

note "live change on one partner connection (inbound at A), 1 s after each CLI change"
check "one TLS connection: 200, block -> 403 1012 (public), unblock -> 200" \
    in_a edge.fabrikam.test sip:bob@fabrikam.test "$CAROL" 200 403:1012:public 200 -- \
    --pause 1.0 --between "$BLOCK_A" --between "$ALLOW_A"
check "A's log: the policy refused it; the partner's connection was closed by the partner, at the end" \
    sh -c "grep -q 'request refused by policy.*diagnostic=1012' '$T_LOGS/edge-a.log' && grep -m1 'connection closed.*side=external' '$T_LOGS/edge-a.log' | grep -q 'closed by peer'"

note "live change outbound: carol's TCP connection to A, A's TLS connection to B"
outconns() { grep -c 'connection ready.*side=external direction=out' "$T_LOGS/edge-a.log"; }
check "one connection: 200, block -> 403 1012 (internal), unblock -> 200" \
    out carol "$BOB" 200 403:1012:internal 200 -- --pause 1.0 --between "$BLOCK_A" --between "$ALLOW_A"
check "A opened exactly one connection to B for all of it" test "$(outconns)" -eq 1

note "routing: the store wins over the INI"
check "A: the store's default route -> a dead port (the INI's still points at B)" \
    A edge set --default-route "127.0.0.1:$DEAD_PORT"
settle
check "outbound now fails at the store's route: 503 or 504" \
    sh -c "$POLSIP send --port $IA --from sip:carol@contoso.test --ruri $BOB --expect 503 || $POLSIP send --port $IA --from sip:carol@contoso.test --ruri $BOB --expect 504"
check "A: routing dns-srv; fabrikam.test an allowed domain (SRV -> edge.fabrikam.test:$EB)" \
    sh -c "'$F' edge set --routing dns-srv -c '$CA' >/dev/null && '$F' domain remove fabrikam.test -c '$CA' >/dev/null && '$F' domain allow fabrikam.test -c '$CA' >/dev/null"
settle
check "outbound by SRV: 200" out carol "$BOB" 200 -- --call-id live-srv
check "  bob got it" seen_b live-srv
restart_a() {
    stop edge-a
    EXT_PORT=$EA INT_PORT=$IA FEDGE_NO_PARTNER=1 start_fedge "$CA" edge-a2
}
check "edge A restarts (same INI: routing default-route)" restart_a
check "after the restart the store's routing is still in force (fedge edge show)" \
    sh -c "'$F' edge show -c '$CA' | tee /dev/stderr | grep -Eq 'routing +dns-srv'"
check "  and the INI did not overwrite it (no 'taken from the configuration')" \
    sh -c "! grep -q 'taken from the configuration' '$T_LOGS/edge-a2.log'"
check "outbound by SRV after the restart: 200" out carol "$BOB" 200

note "concurrent CLI writes while the edge reads"
writer() {
    local i
    for i in $(seq 1 25); do
        "$F" domain allow "x$i.test" -c "$CA" >/dev/null &&
            "$F" edge set --discovered-rate $((100 + i)) -c "$CA" >/dev/null &&
            "$F" domain remove "x$i.test" -c "$CA" >/dev/null || { echo "write $i failed"; return 1; }
    done
}
writer > "$T_LOGS/writer.out" 2>&1 &
WPID=$!
reqs=()
for i in $(seq 40); do reqs+=(200); done
check "40 partner requests while 75 CLI writes run: all 200, each within 1 s" \
    in_a edge.fabrikam.test sip:bob@fabrikam.test "$CAROL" "${reqs[@]}" -- --pause 0.05 --max-ms 1000
check "every CLI write succeeded" wait "$WPID"
check "the last write is in force: discovered rate 125" \
    sh -c "'$F' edge show -c '$CA' | grep -Eq 'discovered-rate +125'"
check "no store error in the edge's log" sh -c "! grep -q 'store unreadable' '$T_LOGS/edge-a2.log'"

note "a damaged store at run time: the edge says so and keeps the last good settings"
sqlx() { python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1], timeout=10); c.execute(sys.argv[2]); c.commit()' "$T_TMP/contoso.db" "$1"; }
check "another process damages the store (the allowed-domain table renamed away)" \
    sqlx "ALTER TABLE allowed_domain RENAME TO allowed_domain_away"
check "the edge logs it within a second: keeping the last good settings" \
    wait_for "grep -q 'store unreadable: keeping the last good settings' '$T_LOGS/edge-a2.log'" 1.5
check "  and the last good settings stay in force: fabrikam.test allowed, 200 (each within 1 s)" \
    in_a edge.fabrikam.test sip:bob@fabrikam.test "$CAROL" 200 200 200 -- --pause 0.3 --max-ms 1000
check "the store is repaired (table renamed back)" \
    sqlx "ALTER TABLE allowed_domain_away RENAME TO allowed_domain"
check "a change is made with the CLI: block fabrikam.test" sh -c "$BLOCK_A"
check "within a second the edge reads the store again and says so (store readable again)" \
    wait_for "grep -q 'store readable again' '$T_LOGS/edge-a2.log'" 1.5
settle
check "  the change is in force: refused 1012" \
    in_a edge.fabrikam.test sip:bob@fabrikam.test "$CAROL" 403:1012:public

note "a corrupt store at start: fedge serve refuses to start, naming the file"
corrupt_start() {
    stop edge-a2
    rm -f "$T_TMP/contoso.db-wal" "$T_TMP/contoso.db-shm"
    head -c 65536 /dev/urandom > "$T_TMP/contoso.db"
    timeout 10 "$F" serve -c "$CA" > "$T_LOGS/corrupt-start.log" 2>&1
    local rc=$?
    cat "$T_LOGS/corrupt-start.log"
    [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && grep -q "contoso.db is not a fedge store or is corrupt" "$T_LOGS/corrupt-start.log"
}
check "exit status not 0, message naming contoso.db as corrupt" corrupt_start
check "edge B alive" alive edge-b
finish
