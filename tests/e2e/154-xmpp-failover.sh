#!/bin/bash
# 154-xmpp-failover: the XMPP gateway with two [xmpp] listen addresses and
# two [internal] next hops, against a real Prosody (fabrikam.test) and real
# XMPP clients (slixmpp); the internal SIP side is tests/e2e/xmpp/sip_im.py.
#   Listen: fedge serves 127.0.0.1 and ::1; Prosody's streams come in on
#   ::1 (authenticated, messages delivered), a stream header on 127.0.0.1
#   is answered too.
#   Next hops: the first one down (a closed port): bob's message reaches
#   alice through the second, the log names the hop given up; the first
#   back: the next message goes to it again; the first dies with a message
#   unanswered: bob gets service-unavailable, the next message goes through
#   the second.
#   Presence of a user with two resources: alice (SIP) watches bob, online
#   on two slixmpp sessions; the second one going away, then offline,
#   leaves alice seeing bob available (the first); the first going away
#   shows away, and only when the last goes offline does alice see closed.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3 # Debian's, with python3-slixmpp
XD=$E2E_DIR/xmpp
topology
XMPP_PORT=$(free_port)
XMPP6_PORT=$(free_port)
P_C2S=$(free_port)
P_S2S=$(free_port)
HOP_A=$(free_port) # the first next hop: down at first
HOP_B=$UAS_PORT    # the second
CFG=$T_TMP/fedge.ini
fedge_config "$CFG"
sed -i "s|^next_hop = .*|next_hop = 127.0.0.1:$HOP_A, 127.0.0.1:$HOP_B|" "$CFG"
cat >> "$CFG" <<EOF

[xmpp]
listen = 127.0.0.1:$XMPP_PORT, [::1]:$XMPP6_PORT
EOF

# Prosody (prosody_start, lib.sh): its s2s streams for contoso.test go to
# fedge's second listen address, [::1]:XMPP6_PORT.
P_ROUTE="{ \"::1\", $XMPP6_PORT }"

# bob_says NAME TEXT: an XMPP session of bob (its log NAME) sends TEXT to
# alice@contoso.test once online, and stays 15 s to get any error.
bob_says() {
    start_bg "$1" $PY "$XD/xmpp_user.py" bob@fabrikam.test secret "$P_C2S" \
        --send alice@contoso.test "$2" --seconds 15
}
got() { grep -qF "MSG sip:bob@fabrikam.test sip:alice@contoso.test $2" "$T_LOGS/$1.log"; }
fedge_store() { "$FEDGE_BIN" "$@" -c "$CFG" >> "$T_LOGS/store.log" 2>&1; }

check "store: XMPP on in the global policy, fabrikam.test an XMPP partner at its Prosody" \
    eval "fedge_store policy set global --federation on --xmpp on &&
          fedge_store xmpp allow fabrikam.test --proxy-fqdn 127.0.0.1:$P_S2S"
check "Prosody for fabrikam.test starts" prosody_start "$P_ROUTE" || { show prosody; finish; }
start_bg uasB $PY "$XD/sip_im.py" uas --port "$HOP_B"
check "the second next hop (SIP) starts; the first is down" \
    wait_for "grep -q READY '$T_LOGS/uasB.log'" 5
FEDGE_NO_PARTNER=1 check "fedge serve starts with two [xmpp] listen addresses" \
    start_fedge "$CFG" || finish
listens_on_both() {
    grep 'listening' "$T_LOGS/fedge.log" | grep 'side=xmpp' |
        grep -q "address=127.0.0.1 port=$XMPP_PORT" &&
        grep 'listening' "$T_LOGS/fedge.log" | grep 'side=xmpp' |
        grep -q "address=::1 port=$XMPP6_PORT" &&
        grep 'listening' "$T_LOGS/fedge.log" | grep 'side=xmpp' >&2
}
check_out "fedge logs both XMPP listening addresses" wait_for listens_on_both 5
hello() { # HOST PORT: a stream header is answered with features offering STARTTLS
    python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
s.sendall(b"<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
          b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0' "
          b"from='fabrikam.test' to='contoso.test'>")
buf = b""
while b"</stream:features>" not in buf:
    d = s.recv(4096)
    if not d:
        break
    buf += d
print(buf.decode())
sys.exit(0 if b"<starttls" in buf else 1)
PY
}
check_out "a stream on 127.0.0.1:$XMPP_PORT is answered (header, STARTTLS offered)" \
    hello 127.0.0.1 "$XMPP_PORT"
check_out "a stream on [::1]:$XMPP6_PORT is answered (header, STARTTLS offered)" \
    hello ::1 "$XMPP6_PORT"

# 1. The first next hop is down: bob's message reaches alice by the second.
bob_says bob1 "first down"
check "the first next hop down: bob's message reaches alice through the second" \
    wait_for "got uasB 'first down'" 20
check "Prosody's stream came in on [::1]:$XMPP6_PORT, authenticated by SASL EXTERNAL" \
    eval "grep -q 'inbound stream contoso.test <- fabrikam.test authenticated by SASL EXTERNAL (TLS)' '$T_LOGS/fedge.log' &&
          grep -q 'test route: contoso.test -> ::1:$XMPP6_PORT' '$T_LOGS/prosody-debug.log'"
gave_up() {
    grep 'internal next hop given up' "$T_LOGS/fedge.log" | tee /dev/stderr |
        grep -q "next_hop=127.0.0.1:$HOP_A .*retry_in_s=1 next=127.0.0.1:$HOP_B"
}
check_out "the log names the hop given up, why, for how long, and the next one" gave_up
check "bob got no error" eval "! grep -q '^ERROR' '$T_LOGS/bob1.log'"

# 2. The first next hop is back, and answers nothing: once its back-off
#    (1 s after one failure) has passed, the next message goes to it again.
start_bg uasA $PY "$XD/sip_im.py" uas --port "$HOP_A" --no-answer
check "the first next hop starts (answering no MESSAGE)" \
    wait_for "grep -q READY '$T_LOGS/uasA.log'" 5
T0=$(_t_now_us)
check "its back-off has passed" wait_for "[ \$(( \$(_t_now_us) - $T0 )) -ge 1500000 ]" 3
bob_says bob2 "first back"
check "the first next hop back: the next message goes to it" \
    wait_for "got uasA 'first back'" 20
check "... and not to the second" eval "! got uasB 'first back'"

# 3. The first next hop dies with that message unanswered: bob is told
#    (service-unavailable, as before fail-over), and the next message goes
#    through the second.
stop uasA
check "the message in flight on the hop that died: bob gets service-unavailable" \
    wait_for "grep -q '^ERROR alice@contoso.test service-unavailable' '$T_LOGS/bob2.log'" 10
check "the log says the connection to that hop closed" \
    wait_for "grep -q 'connection to the internal next hop closed.*next_hop=127.0.0.1:$HOP_A' '$T_LOGS/fedge.log'" 5
bob_says bob3 "first died"
check "the first next hop died: the next message reaches alice through the second" \
    wait_for "got uasB 'first died'" 20
check "bob got no error for it" eval "! grep -q '^ERROR' '$T_LOGS/bob3.log'"

# 4. Both down: bob is told at once.
stop uasB
bob_says bob4 "all down"
check "no next hop reachable: bob gets service-unavailable" \
    wait_for "grep -q '^ERROR alice@contoso.test service-unavailable' '$T_LOGS/bob4.log'" 15

# 5. Presence, bob with two resources (RFC 6121 §4): alice sees the most
#    available one. The NOTIFYs go through the second next hop again.
check "bob's sessions of the messages above have ended" \
    eval "wait_exit bob1 20 && wait_exit bob2 20 && wait_exit bob3 20 && wait_exit bob4 20"
start_bg uasP $PY "$XD/sip_im.py" uas --port "$HOP_B"
check "the second next hop is back" wait_for "grep -q READY '$T_LOGS/uasP.log'" 5
start_bg bobA $PY "$XD/xmpp_user.py" bob@fabrikam.test secret "$P_C2S" --seconds 120 \
    --away-when "$T_TMP/awayA" --offline-when "$T_TMP/offA"
check "bob's first resource is online" wait_for "grep -q ONLINE '$T_LOGS/bobA.log'" 15
# last_notify WORDS: the newest NOTIFY alice got says "NOTIFY <alice> <bob> WORDS".
last_notify() {
    grep '^NOTIFY ' "$T_LOGS/uasP.log" | tail -1 |
        grep -q "^NOTIFY sip:alice@contoso.test sip:bob@fabrikam.test $1"
}
start_bg sub $PY "$XD/sip_im.py" subscribe --port "$INT_PORT" --from alice@contoso.test \
    --to bob@fabrikam.test --unsub-when "$T_TMP/unsub"
check "SIP SUBSCRIBE alice -> bob gets 202, bob approves" \
    eval "wait_for \"grep -q '^SUB 202' '$T_LOGS/sub.log'\" 10 &&
          wait_for \"grep -q '^SUBSCRIBE alice@contoso.test' '$T_LOGS/bobA.log'\" 10"
check "alice gets a NOTIFY: bob open (available)" \
    wait_for "last_notify 'active open - Available\$'" 10
start_bg bobB $PY "$XD/xmpp_user.py" bob@fabrikam.test secret "$P_C2S" --seconds 120 \
    --away-when "$T_TMP/awayB" --offline-when "$T_TMP/offB"
check "bob's second resource is online" wait_for "grep -q ONLINE '$T_LOGS/bobB.log'" 15
# no_change TYPE SHOW: the gateway got that presence of one of bob's
# resources and found nothing new to tell alice.
no_change() {
    grep 'XMPP presence of one resource: no change for SIP' "$T_LOGS/fedge.log" |
        grep -q "type=$1 show=$2 from=bob@fabrikam.test/"
}
touch "$T_TMP/awayB"
check "the second resource away: alice still sees bob available" \
    eval "wait_for \"grep -q '^AWAY' '$T_LOGS/bobB.log'\" 5 && wait_for 'no_change available away' 10 &&
          last_notify 'active open - Available\$'"
N_NOTIFY=$(grep -c '^NOTIFY ' "$T_LOGS/uasP.log")
touch "$T_TMP/offB"
check "the second resource offline: alice still sees bob available" \
    eval "wait_for \"grep -q '^OFFLINE' '$T_LOGS/bobB.log'\" 5 && wait_for 'no_change unavailable -' 10 &&
          last_notify 'active open - Available\$'"
check "... and got no NOTIFY for either" \
    test "$(grep -c '^NOTIFY ' "$T_LOGS/uasP.log")" -eq "$N_NOTIFY"
touch "$T_TMP/awayA"
check "the first (now only) resource away: alice sees away with its status text" \
    wait_for "last_notify 'active open away gone fishing\$'" 10
touch "$T_TMP/offA"
check "the last resource offline: alice sees closed" \
    wait_for "last_notify 'active closed - Offline'" 10
touch "$T_TMP/unsub"
check "alice's un-SUBSCRIBE gets 200" wait_for "grep -q '^UNSUB 200' '$T_LOGS/sub.log'" 10

check "fedge still running" alive fedge
check "fedge exits 0 on SIGTERM" stop fedge
stop prosody
finish
