#!/bin/bash
# 155-xmpp-pool: the XMPP gateway's presence subscriptions in an edge pool,
# with a real Prosody (fabrikam.test) and a real XMPP client (slixmpp).
# Two fedge members of contoso.test, edgea and edgeb (on 127.0.0.1, each
# its own ports), share one PostgreSQL store (a private cluster, pg_lib.sh,
# as tests/e2e/111-pool.sh) and the pool FQDN edge.contoso.test. Prosody
# reaches contoso.test at edgea's XMPP address, else edgeb's (tried in
# order, as SRV targets: mod_fedge_test_route). The internal side is one
# tests/e2e/xmpp/sip_im.py: next hop of both members and presence server of
# alice (a dialog's NOTIFYs go to the member that SUBSCRIBEd last).
#   1. Through edgea: bob (XMPP) watches alice (SIP), alice watches bob;
#      both rows in the store are edgea's.
#   2. edgea killed (SIGKILL): edgeb adopts both once edgea is stale, re-
#      SUBSCRIBEs in the stored dialog; alice's next change reaches bob and
#      bob's next change reaches alice, through edgeb.
#   3. edgea starts again; edgeb stopped (SIGSTOP) until edgea adopts both
#      back, then let run (SIGCONT): edgeb finds the rows are edgea's and
#      lets go of them without a word (no SUBSCRIBE, no Expires: 0, no
#      NOTIFY terminated, no unsubscribe); only edgea refreshes, bob gets
#      alice's next change once.
#   4. edgeb killed: Prosody's stream now reaches edgea, and bob going
#      offline reaches alice through it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"

PY=/usr/bin/python3 # Debian's, with python3-slixmpp
XD=$E2E_DIR/xmpp
F=$FEDGE_BIN
UAS=$(free_port)
P_C2S=$(free_port)
P_S2S=$(free_port)
declare -A EXT INT XP ADM
for m in a b; do
    EXT[$m]=$(free_port) INT[$m]=$(free_port) XP[$m]=$(free_port) ADM[$m]=$(free_port)
done
SUB_EXPIRES=12 # granted by the presence server: members refresh every 9.6 s

check "a private PostgreSQL 15 cluster starts (initdb, pg_ctl as postgres)" pg_start || finish

# member_config M: edgeM's configuration (fedge_config's, in the pool).
member_config() {
    local m=$1 f=$T_TMP/edge$1.ini
    EXT_PORT=${EXT[$m]} INT_PORT=${INT[$m]} UAS_PORT=$UAS DR_PORT=$UAS ADMIN_PORT=${ADM[$m]} \
        fedge_config "$f"
    sed -i -e "s/^fqdn = .*/fqdn = edge$m.contoso.test\npool_fqdn = edge.contoso.test/" \
        -e "s#^store = .*#store = $PG_URI#" "$f"
    printf '\n[xmpp]\nlisten = 127.0.0.1:%s\n' "${XP[$m]}" >> "$f"
}
start_member() { # M [NAME]
    local m=$1 name=${2:-edge$1}
    start_bg "$name" "$F" serve -c "$T_TMP/edge$m.ini"
    wait_listen "${INT[$m]}" 10 "$BG_PID" && wait_listen "${XP[$m]}" 5 "$BG_PID" ||
        { show "$name"; return 1; }
}
fedge_store() { "$F" "$@" -c "$T_TMP/edgea.ini" >> "$T_LOGS/store.log" 2>&1; }

# Prosody (prosody_start, lib.sh): its s2s streams for contoso.test go to
# member a, else member b.
P_ROUTE="{ { \"127.0.0.1\", ${XP[a]} }, { \"127.0.0.1\", ${XP[b]} } }"

member_config a
member_config b
check "store: XMPP on in the global policy, fabrikam.test an XMPP partner at its Prosody" \
    eval "fedge_store policy set global --federation on --xmpp on &&
          fedge_store xmpp allow fabrikam.test --proxy-fqdn 127.0.0.1:$P_S2S"
echo "open" > "$T_TMP/alice"
start_bg uas $PY "$XD/sip_im.py" uas --port "$UAS" --presence "$T_TMP/alice" \
    --sub-expires "$SUB_EXPIRES" --threads
check "the internal side (next hop, alice's presence server) starts" \
    wait_for "grep -q READY '$T_LOGS/uas.log'" 5
check "Prosody for fabrikam.test starts (contoso.test: edgea, else edgeb)" prosody_start "$P_ROUTE" ||
    { show prosody; finish; }
check "edgea and edgeb start in the pool edge.contoso.test on one PostgreSQL store" \
    eval "start_member a && start_member b" || finish
members_live() {
    "$F" pool status -c "$T_TMP/edgea.ini" > "$T_TMP/status.out" 2>&1
    [ "$(grep -c ' live ' "$T_TMP/status.out")" -eq 2 ]
}
check "fedge pool status: two live members" wait_for members_live 10

# --- 1. Both subscriptions made through edgea
note "1. subscriptions through edgea"
start_bg bob $PY "$XD/xmpp_user.py" bob@fabrikam.test secret "$P_C2S" --seconds 400 \
    --subscribe alice@contoso.test --away-when "$T_TMP/bob-away" --offline-when "$T_TMP/bob-off"
check "bob is online" wait_for "grep -q ONLINE '$T_LOGS/bob.log'" 15
# psub_from PORT [FROM_LINE]: a SUBSCRIBE of bob's watch of alice came from
# the member whose internal port is PORT (its Contact), after line FROM_LINE.
psub_from() {
    tail -n +"$((${2:-0} + 1))" "$T_LOGS/uas.log" |
        grep -q "^PSUB sip:bob@fabrikam.test sip:alice@contoso.test $SUB_EXPIRES $3.* sip:xmpp-gw@127.0.0.1:$1\$"
}
check "bob's subscription to alice reaches the presence server through edgea" \
    wait_for "psub_from ${INT[a]} 0 new" 15
check "bob sees alice subscribed and available" \
    wait_for "grep -q '^SUBSCRIBED alice@contoso.test' '$T_LOGS/bob.log' &&
              grep -q '^PRESENCE alice@contoso.test/[^ ]* available - -' '$T_LOGS/bob.log'" 15
start_bg sub $PY "$XD/sip_im.py" subscribe --port "${INT[a]}" --from alice@contoso.test \
    --to bob@fabrikam.test
last_notify() {
    grep '^NOTIFY sip:alice@contoso.test sip:bob@fabrikam.test ' "$T_LOGS/uas.log" | tail -1 |
        grep -q "^NOTIFY sip:alice@contoso.test sip:bob@fabrikam.test $1"
}
check "alice's SUBSCRIBE to bob through edgea: 202, bob approves, alice sees bob open" \
    eval "wait_for \"grep -q '^SUB 202' '$T_LOGS/sub.log'\" 10 &&
          wait_for \"grep -q '^SUBSCRIBE alice@contoso.test' '$T_LOGS/bob.log'\" 10 &&
          wait_for \"last_notify 'active open - Available\\\$'\" 15"
rows() { pg_sql "SELECT dir || ' ' || owner FROM xmpp_subscription ORDER BY dir" fedge | paste -sd,; }
check_out "both rows in the store are edgea's" \
    wait_for "[ \"\$(rows)\" = 'sip edgea.contoso.test,xmpp edgea.contoso.test' ] && rows" 10

# --- 2. edgea killed: edgeb adopts
note "2. edgea killed (SIGKILL)"
UAS_MARK=$(wc -l < "$T_LOGS/uas.log")
check "edgea is killed" kill -KILL -- "-$(pid_of edgea)"
adopted_by() { # M FROM
    grep "presence subscriptions adopted from a stale pool member" "$T_LOGS/edge$1.log" |
        grep "from=edge$2.contoso.test" | grep -q "subscriptions=2"
}
check_out "edgeb adopts both once edgea is stale (log), the rows are edgeb's" \
    eval "wait_for 'adopted_by b a' 20 &&
          wait_for \"[ \\\"\\\$(rows)\\\" = 'sip edgeb.contoso.test,xmpp edgeb.contoso.test' ]\" 5 && rows"
check "edgeb re-SUBSCRIBEs in bob's stored dialog" \
    wait_for "psub_from ${INT[b]} $UAS_MARK refresh" 10
N_BOB=$(grep -c '^PRESENCE alice@contoso.test/' "$T_LOGS/bob.log")
echo "busy In a meeting" > "$T_TMP/alice"
check "alice's change reaches bob through edgeb (dnd, her note)" \
    wait_for "grep -q '^PRESENCE alice@contoso.test/[^ ]* available dnd In a meeting' '$T_LOGS/bob.log'" 15
touch "$T_TMP/bob-away"
check "bob's change reaches alice through edgeb (Prosody's stream now goes to edgeb)" \
    wait_for "last_notify 'active open away gone fishing\$'" 20
check "bob was told nothing that ends his watch" \
    eval "! grep -Eq '^(UNSUBSCRIBED|UNSUBSCRIBE) alice' '$T_LOGS/bob.log'"

# --- 3. edgeb away from the store and back
note "3. edgea starts again; edgeb stopped (SIGSTOP) until edgea adopts, then let run"
check "edgea starts again" start_member a edgea2
check "the rows stay edgeb's (edgea restarted finds none of its own)" \
    eval "[ \"\$(rows)\" = 'sip edgeb.contoso.test,xmpp edgeb.contoso.test' ]"
check "edgeb is stopped (SIGSTOP)" kill -STOP -- "-$(pid_of edgeb)"
check_out "edgea adopts both back once edgeb is stale" \
    eval "wait_for 'adopted_by a2 b' 20 && rows"
check "edgea re-SUBSCRIBEs in bob's stored dialog" \
    wait_for "psub_from ${INT[a]} $UAS_MARK refresh" 10
UAS_MARK=$(wc -l < "$T_LOGS/uas.log")
BOB_MARK=$(wc -l < "$T_LOGS/bob.log")
check "edgeb runs again (SIGCONT)" kill -CONT -- "-$(pid_of edgeb)"
let_go() {
    grep "presence subscriptions owned by another pool member now: let go here" \
        "$T_LOGS/edgeb.log" | grep -q "sip_watchers=1 xmpp_watchers=1"
}
check_out "edgeb checks the store and lets go of both (log)" \
    eval "wait_for let_go 10; rc=\$?; grep -E 'store was out of reach|checked against|let go' '$T_LOGS/edgeb.log'; exit \$rc"
check "edgea refreshes bob's dialog again (a full refresh period after edgeb came back)" \
    wait_for "psub_from ${INT[a]} $UAS_MARK refresh" 15
check "... and edgeb sent no SUBSCRIBE since it came back (no refresh, no Expires: 0)" \
    eval "! tail -n +$((UAS_MARK + 1)) '$T_LOGS/uas.log' | grep -q '^PSUB .* sip:xmpp-gw@127.0.0.1:${INT[b]}\$'"
check "alice got no NOTIFY terminated" \
    eval "! grep -q '^NOTIFY sip:alice@contoso.test sip:bob@fabrikam.test terminated' '$T_LOGS/uas.log'"
check "the rows are edgea's" \
    eval "[ \"\$(rows)\" = 'sip edgea.contoso.test,xmpp edgea.contoso.test' ]"
echo "away Lunch" > "$T_TMP/alice"
check "alice's next change reaches bob" \
    wait_for "grep -q '^PRESENCE alice@contoso.test/[^ ]* available away Lunch' '$T_LOGS/bob.log'" 15
check "edgea refreshes once more (time for a second copy to arrive)" \
    wait_for "[ \$(tail -n +$((UAS_MARK + 1)) '$T_LOGS/uas.log' | grep -c '^PSUB .* refresh .* sip:xmpp-gw@127.0.0.1:${INT[a]}\$') -ge 2 ]" 15
# copies_ok: bob got alice's away once per NOTIFY the presence server sent
# in the dialog since the change (the change, then one per refresh: the
# gateway passes on each NOTIFY with a document), all to edgea: no copy from
# edgeb.
copies_ok() {
    local sent got
    sent=$(($(sed -n '/^STATE away Lunch/,$p' "$T_LOGS/uas.log" | grep -c '^PSUB ') + 1))
    got=$(tail -n +$((BOB_MARK + 1)) "$T_LOGS/bob.log" | grep -c '^PRESENCE alice@contoso.test/[^ ]* available away Lunch')
    echo "NOTIFYs sent since the change: $sent; presence stanzas bob got: $got"
    [ "$got" -eq "$sent" ]
}
check_out "... bob got one presence stanza per NOTIFY the presence server sent (no copy through edgeb)" \
    wait_for copies_ok 5
check "bob was told nothing that ends his watch" \
    eval "! grep -Eq '^(UNSUBSCRIBED|UNSUBSCRIBE) alice' '$T_LOGS/bob.log'"

# --- 4. edgeb killed: Prosody's next stream reaches edgea
note "4. edgeb killed: bob's next change reaches alice through edgea"
check "edgeb is killed" kill -KILL -- "-$(pid_of edgeb)"
touch "$T_TMP/bob-off"
check "bob going offline reaches alice through edgea" \
    wait_for "last_notify 'active closed - Offline'" 20
check "the NOTIFY came from edgea's gateway" \
    eval "grep 'XMPP presence carried to SIP' '$T_LOGS/edgea2.log' | grep -q 'type=unavailable'"

check "edgea still running" alive edgea2
check "edgea exits 0 on SIGTERM" stop edgea2
stop prosody
finish
