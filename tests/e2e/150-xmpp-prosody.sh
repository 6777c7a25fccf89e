#!/bin/bash
# 150-xmpp-prosody: the SIP <-> XMPP gateway against a real Prosody (Debian
# 0.12) on loopback as the partner domain fabrikam.test, with certificates
# from the test CA, and a real XMPP client (slixmpp) as its user bob; the
# internal SIP side is tests/e2e/xmpp/sip_im.py (sender and next hop).
#   SIP MESSAGE alice -> bob reaches the XMPP client, bob's answer comes back
#   as a SIP MESSAGE; streams both ways by STARTTLS + SASL EXTERNAL;
#   a user whose policy has XMPP off, a blocked partner and a partner not on
#   the list are refused on both protocols; a dialback-only and a
#   SASL-EXTERNAL-only partner work; a peer skipping STARTTLS when TLS is
#   required is refused.
#   Presence: a SIP SUBSCRIBE to bob becomes an XMPP subscription; bob's
#   available, away and offline come back as NOTIFYs with PIDF; the
#   un-SUBSCRIBE reaches bob's client as unsubscribe.
#   The other way: bob (XMPP) subscribes to alice (SIP): a SIP SUBSCRIBE
#   to the internal presence server, its NOTIFYs (PIDF) reach bob as
#   subscribed and available/away/dnd/offline; probes are answered from the
#   state known; a user whose policy has XMPP off is refused (unsubscribed).
#   Both subscriptions survive a restart of fedge (the store): the SIP
#   dialogs go on (refresh, un-SUBSCRIBE), bob keeps seeing alice; a
#   presence server that forgot the dialog (481) gets a new SUBSCRIBE; bob's
#   unsubscribe ends the SIP subscription (Expires: 0) and the stored row.
#   fedge probe --xmpp against the same Prosody: passes (SASL EXTERNAL),
#   and names the failing step: tcp, stream, auth (certificate refused).
#   The XMPP metrics ([metrics] listen) move with this traffic: stanzas,
#   gateway messages both ways, refusals by reason, subscriptions held.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3 # Debian's, with python3-slixmpp
XD=$E2E_DIR/xmpp
topology
XMPP_PORT=$(free_port)
P_C2S=$(free_port)
P_S2S=$(free_port)
DNS_PORT=$(free_port)
MET_PORT=$(free_port)
CFG=$T_TMP/fedge.ini
fedge_config "$CFG"
cat >> "$CFG" <<EOF

[xmpp]
listen = 127.0.0.1:$XMPP_PORT

[dns]
servers = 127.0.0.1:$DNS_PORT

[metrics]
listen = 127.0.0.1:$MET_PORT
EOF

# metric_at_least 'NAME{LABELS}' N: fedge's /metrics shows that series >= N.
metric_at_least() {
    local v
    v=$(curl -sf "http://127.0.0.1:$MET_PORT/metrics" | awk -v k="$1" '$1 == k {print $2}')
    echo "$1 = ${v:-(absent)} (want >= $2)"
    [ -n "$v" ] && awk -v v="$v" -v n="$2" 'BEGIN { exit !(v + 0 >= n + 0) }'
}

# Prosody (prosody_start, lib.sh): its s2s streams for contoso.test go to
# fedge's XMPP port.
P_ROUTE="{ \"127.0.0.1\", $XMPP_PORT }"

# im_send FROM BODY EXPECT: one SIP MESSAGE from the internal side to bob.
im_send() {
    $PY "$XD/sip_im.py" send --port "$INT_PORT" --from "$1" --to bob@fabrikam.test \
        --body "$2" --expect "$3"
}

# bob_says NAME TEXT: a second XMPP session of bob (its own log NAME) sends
# TEXT to alice@contoso.test once online, and stays 10 s to get any error.
bob_says() {
    start_bg "$1" $PY "$XD/xmpp_user.py" bob@fabrikam.test secret "$P_C2S" \
        --send alice@contoso.test "$2" --seconds 10
}

fedge_store() { "$FEDGE_BIN" "$@" -c "$CFG" >> "$T_LOGS/store.log" 2>&1; }

# applied [NAME]: wait until the running edge (log NAME, default fedge) has
# loaded the store's current generation, i.e. the last change is in force.
loaded_gen() { # NAME WHAT: the last generation the edge logged for WHAT
    grep -o "$2 generation=[0-9]*" "$T_LOGS/$1.log" | tail -1 | cut -d= -f2
}
applied() {
    local g
    g=$("$FEDGE_BIN" edge show -c "$CFG" | awk '/^generation/ {print $2}')
    wait_for "[ \"\$(loaded_gen ${1:-fedge} 'settings loaded')\" -ge $g ] 2>/dev/null" 5 &&
        wait_for "[ \"\$(loaded_gen ${1:-fedge} 'XMPP partners loaded')\" -ge $g ] 2>/dev/null" 5
}

# The partner's server is first found by DNS (RFC 6120 §3.2.1), later
# configured by address (--proxy-fqdn).
check "dnsmasq: _xmpp-server._tcp.fabrikam.test SRV -> xmpp.fabrikam.test:$P_S2S" \
    dns_start dns "$DNS_PORT" 30 "--srv-host=_xmpp-server._tcp.fabrikam.test,xmpp.fabrikam.test,$P_S2S,0,5" \
    "--host-record=xmpp.fabrikam.test,127.0.0.1" \
    "--srv-host=_xmpp-server._tcp.down.test,xmpp.down.test,$(free_port),0,5" \
    "--host-record=xmpp.down.test,127.0.0.1" \
    "--srv-host=_xmpp-server._tcp.notxmpp.test,xmpp.notxmpp.test,$UAS_PORT,0,5" \
    "--host-record=xmpp.notxmpp.test,127.0.0.1" || { show dns; finish; }
check "store: XMPP on in the global policy, fabrikam.test an XMPP partner (its server by SRV)" \
    eval 'fedge_store policy set global --federation on --xmpp on &&
          fedge_store xmpp allow fabrikam.test'

check "Prosody for fabrikam.test starts" prosody_start "$P_ROUTE" || { show prosody; finish; }
# The internal next hop is also the presence server of alice (her state in
# $T_TMP/alice-presence).
echo "open In the office" > "$T_TMP/alice-presence"
start_bg uas $PY "$XD/sip_im.py" uas --port "$UAS_PORT" --presence "$T_TMP/alice-presence" \
    --forget-when "$T_TMP/ps-forget"
check "internal next hop (SIP) starts" wait_for "grep -q READY '$T_LOGS/uas.log'" 5
FEDGE_NO_PARTNER=1 check "fedge serve starts with [xmpp]" start_fedge "$CFG" || finish
check "fedge listens for XMPP servers on $XMPP_PORT" wait_listen "$XMPP_PORT" 5
start_bg bob $PY "$XD/xmpp_user.py" bob@fabrikam.test secret "$P_C2S" --echo --seconds 300
check "bob is online (slixmpp on Prosody)" wait_for "grep -q ONLINE '$T_LOGS/bob.log'" 15

BODY='héllo & <bob> ✓ "quoted"'
# (The partner listens on a random port, not 5269: the message can only
# get through by the SRV record.)
check_out "SIP MESSAGE from alice@contoso.test to bob@fabrikam.test gets 200" \
    im_send alice@contoso.test "$BODY" 200
check "bob's XMPP client gets it, text intact" \
    wait_for "grep -qF 'MSG alice@contoso.test $BODY' '$T_LOGS/bob.log'" 10
check "bob's reply comes back to alice as a SIP MESSAGE" \
    wait_for "grep -qF 'MSG sip:bob@fabrikam.test sip:alice@contoso.test re: $BODY' '$T_LOGS/uas.log'" 10
check "both streams authenticated by STARTTLS + SASL EXTERNAL" \
    eval "grep -q 'outbound stream contoso.test -> fabrikam.test authenticated by SASL EXTERNAL (TLS)' '$T_LOGS/fedge.log' &&
          grep -q 'inbound stream contoso.test <- fabrikam.test authenticated by SASL EXTERNAL (TLS)' '$T_LOGS/fedge.log'"

# fedge probe --xmpp walks SRV -> TCP -> stream -> STARTTLS -> TLS -> SASL
# EXTERNAL against the same Prosody, and names the step that fails.
probe_x() { # DOMAIN LOG: exit status of the probe; output in LOG
    "$FEDGE_BIN" probe -c "$CFG" --xmpp "$1" --timeout 2000 > "$T_LOGS/$2.log" 2>&1
}
probe_ok() {
    probe_x fabrikam.test probe-xmpp; local rc=$?
    cat "$T_LOGS/probe-xmpp.log"
    [ $rc -eq 0 ] && grep -q '^verdict: PASS: XMPP federation with fabrikam.test works' "$T_LOGS/probe-xmpp.log" &&
        grep -q "^\[pass\] srv .*targets xmpp.fabrikam.test:$P_S2S" "$T_LOGS/probe-xmpp.log" &&
        grep -q '^\[pass\] starttls' "$T_LOGS/probe-xmpp.log" &&
        grep -q '^\[pass\] auth .*SASL EXTERNAL with our certificate as contoso.test succeeded' \
            "$T_LOGS/probe-xmpp.log"
}
check_out "fedge probe --xmpp fabrikam.test: SRV, TCP, stream, STARTTLS, TLS, SASL EXTERNAL pass" probe_ok
probe_fails_at() { # DOMAIN STEP ID
    probe_x "$1" "probe-$1"; local rc=$?
    cat "$T_LOGS/probe-$1.log"
    [ $rc -eq 1 ] && grep -q "^verdict: FAIL at $2: " "$T_LOGS/probe-$1.log" &&
        grep -q "^\\[fail\\] $2 .*($3)\$" "$T_LOGS/probe-$1.log"
}
check_out "probe --xmpp down.test (nothing on the SRV port) fails at tcp" probe_fails_at down.test tcp 19534
check_out "probe --xmpp notxmpp.test (SRV port speaks SIP) fails at stream" \
    probe_fails_at notxmpp.test stream 19545
# With a certificate that does not name contoso.test, Prosody (s2s_secure_auth)
# ends the stream after TLS: the probe fails at auth, naming its stream error.
sed "s|^\[xmpp\]\$|[xmpp]\ncertificate = $PKI/edge.fabrikam.test.crt\nprivate_key = $PKI/edge.fabrikam.test.key|" \
    "$CFG" > "$T_TMP/fedge-othercert.ini"
probe_badcert() {
    "$FEDGE_BIN" probe -c "$T_TMP/fedge-othercert.ini" --xmpp fabrikam.test --timeout 2000 \
        > "$T_LOGS/probe-othercert.log" 2>&1; local rc=$?
    cat "$T_LOGS/probe-othercert.log"
    [ $rc -eq 1 ] && grep -q '^\[pass\] tls ' "$T_LOGS/probe-othercert.log" &&
        grep -q '^verdict: FAIL at auth: .*stream error <not-authorized/>: "Your server.s certificate is not valid for this name"' \
            "$T_LOGS/probe-othercert.log"
}
check_out "probe --xmpp with a certificate not naming us fails at auth with Prosody's stream error" \
    probe_badcert
check "Prosody saw well-formed probe streams (no not-well-formed)" \
    eval "! grep -q 'not-well-formed' '$T_LOGS/prosody-debug.log'"

# Presence (RFC 8048): alice subscribes to bob; bob's client approves
# (slixmpp's auto_authorize); his availability comes to alice as NOTIFYs
# with PIDF through the internal next hop: available, away, offline. The
# echo session of bob ends first, so that bobp is bob's only resource.
stop bob
start_bg bobp $PY "$XD/xmpp_user.py" bob@fabrikam.test secret "$P_C2S" --seconds 120 \
    --away-when "$T_TMP/away" --offline-when "$T_TMP/offline"
check "bob is online again (bobp)" wait_for "grep -q ONLINE '$T_LOGS/bobp.log'" 15
# last_notify WORDS: the newest NOTIFY alice got says "NOTIFY <alice> <bob> WORDS".
last_notify() {
    grep '^NOTIFY ' "$T_LOGS/uas.log" | tail -1 |
        grep -q "^NOTIFY sip:alice@contoso.test sip:bob@fabrikam.test $1"
}
start_bg sub $PY "$XD/sip_im.py" subscribe --port "$INT_PORT" --from alice@contoso.test \
    --to bob@fabrikam.test --unsub-when "$T_TMP/unsub"
check "SIP SUBSCRIBE (Event: presence) alice -> bob gets 202" \
    wait_for "grep -q '^SUB 202' '$T_LOGS/sub.log'" 10
check "bob's XMPP client gets alice's subscription request (and approves it)" \
    wait_for "grep -q '^SUBSCRIBE alice@contoso.test' '$T_LOGS/bobp.log'" 10
check "alice gets a NOTIFY: bob open (available)" \
    wait_for "last_notify 'active open - Available\$'" 10
touch "$T_TMP/away"
check "bob away: alice gets a NOTIFY open with the activity away and bob's status text" \
    wait_for "last_notify 'active open away gone fishing\$'" 10
touch "$T_TMP/offline"
check "bob offline: alice gets a NOTIFY closed" \
    eval "wait_for \"grep -q '^OFFLINE' '$T_LOGS/bobp.log'\" 10 &&
          wait_for \"last_notify 'active closed - Offline'\" 10"
# bob back online (the subscription lives on in Prosody's roster), then
# alice ends her subscription: bob's client gets <presence type='unsubscribe'/>.
start_bg bobq $PY "$XD/xmpp_user.py" bob@fabrikam.test secret "$P_C2S" --seconds 60
check "bob online again: alice gets a NOTIFY open" \
    eval "wait_for \"grep -q ONLINE '$T_LOGS/bobq.log'\" 15 &&
          wait_for \"last_notify 'active open - Available'\" 10"
touch "$T_TMP/unsub"
check "un-SUBSCRIBE (Expires: 0) gets 200 and a final NOTIFY terminated" \
    eval "wait_for \"grep -q '^UNSUB 200' '$T_LOGS/sub.log'\" 10 &&
          wait_for \"last_notify terminated\" 10"
check "bob's XMPP client gets alice's unsubscribe" \
    wait_for "grep -q '^UNSUBSCRIBE alice@contoso.test' '$T_LOGS/bobq.log'" 10
stop bobq

# What XMPP cannot carry: refused with its diagnostic.
not_carried() {
    $PY "$XD/sip_im.py" send --port "$INT_PORT" --method OPTIONS --body "" --expect 405 |
        tee /dev/stderr | grep -q '"19062 ' &&
    $PY "$XD/sip_im.py" send --port "$INT_PORT" --ctype text/html --body "<b>x</b>" --expect 415 |
        tee /dev/stderr | grep -q '"19063 '
}
check_out "OPTIONS to an XMPP user gets 405 (19062), text/html 415 (19063)" not_carried
sub_refused() {
    $PY "$XD/sip_im.py" send --port "$INT_PORT" --method SUBSCRIBE --body "" \
        --header "Event: dialog" --expect 489 | tee /dev/stderr | grep -q '"19062 ' &&
    $PY "$XD/sip_im.py" send --port "$INT_PORT" --method SUBSCRIBE --body "" \
        --header "Event: presence" --to-tag gone --expect 481 | tee /dev/stderr | grep -q '"19062 '
}
check_out "SUBSCRIBE for Event: dialog gets 489, a refresh of no held subscription 481 (19062)" \
    sub_refused

# A user whose policy has XMPP off: refused on SIP (403) and on XMPP (forbidden).
check "policy nox (XMPP off) assigned to carol, in force" \
    eval 'fedge_store policy set nox --federation on --xmpp off &&
          fedge_store policy assign carol@contoso.test nox && applied'
carol_refused() { im_send carol@contoso.test 'hi' 403 | tee /dev/stderr | grep -q '"19061 .*policy nox'; }
check_out "SIP MESSAGE from carol (XMPP off) gets 403 naming her policy" carol_refused
start_bg bobc $PY "$XD/xmpp_user.py" bob@fabrikam.test secret "$P_C2S" \
    --send carol@contoso.test "to carol" --seconds 10
check "XMPP message to carol answered with <forbidden/>" \
    wait_for "grep -q 'ERROR carol@contoso.test forbidden' '$T_LOGS/bobc.log'" 10
check "nothing reached the next hop for carol" eval "! grep -q 'to carol' '$T_LOGS/uas.log'"

# A blocked partner: refused both ways, also on the streams already open.
check "fabrikam.test blocked for XMPP, in force" \
    eval 'fedge_store xmpp remove fabrikam.test && fedge_store xmpp block fabrikam.test && applied'
blocked_refused() { im_send alice@contoso.test 'blocked?' 403 | tee /dev/stderr | grep -q '"19060 .*blocked for XMPP'; }
check_out "SIP MESSAGE to the blocked domain gets 403" blocked_refused
# The stream Prosody authenticated before the block carries the first
# message: fedge closes that stream with policy-violation (RFC 6120 §4.9;
# what was in flight on it is lost, as for any stream error). The next
# message needs a new stream, which is refused: Prosody bounces it.
bob_says bob2 "after block"
check "fedge closed the open stream of the blocked domain with policy-violation" \
    wait_for "grep -q 'policy-violation: fabrikam.test is blocked for XMPP' '$T_LOGS/fedge.log'" 12
bob_says bob2b "after block, new stream"
check "XMPP message from the blocked domain on a new stream bounced to its sender" \
    wait_for "grep -q '^ERROR alice@contoso.test' '$T_LOGS/bob2b.log'" 12
check "nothing from the blocked domain reached the next hop" \
    eval "! grep -q 'after block' '$T_LOGS/uas.log'"
xmpp_metrics() {
    metric_at_least 'fedge_xmpp_gateway_messages_total{direction="sip_to_xmpp"}' 1 &&
        metric_at_least 'fedge_xmpp_gateway_messages_total{direction="xmpp_to_sip"}' 1 &&
        metric_at_least 'fedge_xmpp_stanzas_total{direction="in"}' 1 &&
        metric_at_least 'fedge_xmpp_stanzas_total{direction="out"}' 1 &&
        metric_at_least 'fedge_xmpp_refused_total{reason="policy"}' 2 &&
        metric_at_least 'fedge_xmpp_refused_total{reason="partner"}' 2
}
check_out "metrics: gateway messages both ways, stanzas, refusals (carol's policy, the blocked partner)" \
    wait_for xmpp_metrics 5

# Not on the list (discovery off): SIP goes to SIP federation (refused by
# the SIP policy: not a partner), XMPP streams are refused.
check "fabrikam.test taken off the XMPP list, in force" \
    eval 'fedge_store xmpp remove fabrikam.test && applied'
sip_refused() {
    local out
    out=$(im_send alice@contoso.test 'unknown?' 403) || { echo "$out"; return 1; }
    echo "$out"
    ! echo "$out" | grep -q XMPP
}
check_out "SIP MESSAGE to a domain on no list goes to SIP federation: refused by the SIP policy (403)" \
    sip_refused
bob_says bob3 "not a partner"
check "XMPP message from a domain not on the list bounced" \
    wait_for "grep -q '^ERROR alice@contoso.test' '$T_LOGS/bob3.log'" 12
check "fedge refused the stream: not an XMPP partner" \
    eval "grep -q 'not an XMPP partner of this edge (partner discovery is off)' '$T_LOGS/fedge.log'"

# With partner discovery on, the unlisted domain's streams are accepted
# (strict defaults: TLS required, SASL EXTERNAL or dialback).
check "partner discovery on, in force" eval 'fedge_store edge set --discovery on && applied'
bob_says bob3b "as a discovered partner"
check "an XMPP message from a discovered partner reaches the SIP side" \
    wait_for "grep -qF 'as a discovered partner' '$T_LOGS/uas.log'" 12
check "partner discovery off again" eval 'fedge_store edge set --discovery off && applied'

# Dialback only: fedge restarted so that streams are negotiated afresh.
check "fabrikam.test allowed again, SASL off (dialback only)" \
    fedge_store xmpp allow fabrikam.test --sasl off --proxy-fqdn "127.0.0.1:$P_S2S"
check "fedge drains and exits 0 on SIGTERM (streams and XMPP listener closed)" stop fedge
stop prosody
check "Prosody restarts (no stream left from before)" prosody_start "$P_ROUTE"
FEDGE_NO_PARTNER=1 check "fedge restarts" start_fedge "$CFG" fedge2 || finish
check "bob online again" \
    eval "start_bg bob4 $PY '$XD/xmpp_user.py' bob@fabrikam.test secret $P_C2S --echo --seconds 120 &&
          wait_for \"grep -q ONLINE '$T_LOGS/bob4.log'\" 15"
check_out "SIP MESSAGE over a dialback-authenticated stream gets 200" \
    im_send alice@contoso.test "by dialback" 200
check "bob gets it and the reply comes back" \
    wait_for "grep -qF 're: by dialback' '$T_LOGS/uas.log'" 10
check "both streams authenticated by dialback, none by SASL" \
    eval "grep -q 'outbound stream contoso.test -> fabrikam.test authenticated by dialback' '$T_LOGS/fedge2.log' &&
          grep -q 'inbound stream contoso.test <- fabrikam.test authenticated by dialback' '$T_LOGS/fedge2.log' &&
          ! grep -q 'authenticated by SASL' '$T_LOGS/fedge2.log'"

# SASL EXTERNAL only: restarted again, dialback off.
check "fabrikam.test allowed with dialback off (SASL EXTERNAL only)" \
    fedge_store xmpp allow fabrikam.test --dialback off --proxy-fqdn "127.0.0.1:$P_S2S"
check "fedge exits 0 on SIGTERM" stop fedge2
stop bob4
stop prosody
check "Prosody restarts" prosody_start "$P_ROUTE"
FEDGE_NO_PARTNER=1 check "fedge restarts" start_fedge "$CFG" fedge3 || finish
check "bob online again" \
    eval "start_bg bob5 $PY '$XD/xmpp_user.py' bob@fabrikam.test secret $P_C2S --echo --seconds 120 &&
          wait_for \"grep -q ONLINE '$T_LOGS/bob5.log'\" 15"
check_out "SIP MESSAGE over a SASL-EXTERNAL-only stream gets 200" \
    im_send alice@contoso.test "by sasl only" 200
check "bob gets it and the reply comes back" \
    wait_for "grep -qF 're: by sasl only' '$T_LOGS/uas.log'" 10
check "both streams authenticated by SASL EXTERNAL, no dialback offered" \
    eval "grep -q 'outbound stream contoso.test -> fabrikam.test authenticated by SASL EXTERNAL' '$T_LOGS/fedge3.log' &&
          grep -q 'inbound stream contoso.test <- fabrikam.test authenticated by SASL EXTERNAL' '$T_LOGS/fedge3.log' &&
          ! grep -q 'authenticated by dialback' '$T_LOGS/fedge3.log'"

# TLS required (the default): a peer that skips STARTTLS is refused.
no_starttls() {
    $PY - "$XMPP_PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
          b"xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' "
          b"version='1.0' from='fabrikam.test' to='contoso.test'>")
buf = b""
while b"</stream:features>" not in buf:
    d = s.recv(4096)
    if not d:
        break
    buf += d
assert b"<required/>" in buf, buf
s.sendall(b"<db:result from='fabrikam.test' to='contoso.test'>0123</db:result>")
end = time.time() + 5
while time.time() < end:
    d = s.recv(4096)
    if not d:
        break
    buf += d
print(buf.decode())
sys.exit(0 if b"policy-violation" in buf and b"STARTTLS is required" in buf else 1)
PY
}
check_out "a peer skipping STARTTLS (required) is refused with policy-violation" no_starttls

# Presence the other way (RFC 8048 §5): bob (XMPP) subscribes to alice
# (SIP). The presence server is sip_im.py uas (--presence).
stop bob5
start_bg bobw $PY "$XD/xmpp_user.py" bob@fabrikam.test secret "$P_C2S" --seconds 300 \
    --subscribe alice@contoso.test --subscribe carol@contoso.test \
    --unsubscribe-when "$T_TMP/bob-unsub"
check "bob (XMPP) online, asking for alice's and carol's presence" \
    wait_for "grep -q ONLINE '$T_LOGS/bobw.log'" 15
check "bob's subscribe to alice becomes a SIP SUBSCRIBE at the presence server" \
    wait_for "grep -q '^PSUB sip:bob@fabrikam.test sip:alice@contoso.test 600 new xps-' '$T_LOGS/uas.log'" 10
check "the presence server's NOTIFY active reaches bob as subscribed" \
    wait_for "grep -q '^SUBSCRIBED alice@contoso.test\$' '$T_LOGS/bobw.log'" 10
# pres_is WORDS: the newest presence bob got from alice is "WORDS".
pres_is() {
    grep '^PRESENCE alice@contoso.test' "$T_LOGS/bobw.log" | tail -1 |
        grep -qx "PRESENCE alice@contoso.test/sip $1"
}
check "bob sees alice available with her note (PIDF open)" \
    wait_for "pres_is 'available - In the office'" 10
echo "away Out to lunch" > "$T_TMP/alice-presence"
check "alice away (RPID away): bob sees <show>away</show> and the note" \
    wait_for "pres_is 'available away Out to lunch'" 10
echo "busy On the phone" > "$T_TMP/alice-presence"
check "alice busy (RPID busy): bob sees dnd" wait_for "pres_is 'available dnd On the phone'" 10
echo "closed" > "$T_TMP/alice-presence"
check "alice offline (PIDF closed): bob sees unavailable" wait_for "pres_is 'unavailable - -'" 10
echo "open Back" > "$T_TMP/alice-presence"
check "alice back: bob sees available" wait_for "pres_is 'available - Back'" 10
carol_refused_xmpp() {
    wait_for "grep -q '^UNSUBSCRIBED carol@contoso.test' '$T_LOGS/bobw.log'" 10 &&
        ! grep -q 'sip:carol@contoso.test' "$T_LOGS/uas.log"
}
check "carol's policy has XMPP off: bob's subscription refused (unsubscribed), no SUBSCRIBE" \
    carol_refused_xmpp
# A second session of bob: Prosody probes alice (RFC 6121 §4.3), fedge
# answers from the state it holds.
start_bg bobprobe $PY "$XD/xmpp_user.py" bob@fabrikam.test secret "$P_C2S" --seconds 30
check "a probe from bob's server is answered with alice's state (available, Back)" \
    wait_for "grep -q '^PRESENCE alice@contoso.test/sip available - Back' '$T_LOGS/bobprobe.log'" 15
stop bobprobe

# The SIP side watches bob too; then fedge restarts.
start_bg sub2 $PY "$XD/sip_im.py" subscribe --port "$INT_PORT" --from alice@contoso.test \
    --to bob@fabrikam.test --unsub-when "$T_TMP/unsub2"
sub2_ok() {
    wait_for "grep -q '^SUB 202' '$T_LOGS/sub2.log'" 10 && wait_for "last_notify 'active open'" 10
}
check "alice (SIP) subscribes to bob again: 202 and bob open" sub2_ok
subs_metrics() {
    metric_at_least 'fedge_xmpp_presence_subscriptions{watcher="sip"}' 1 &&
        metric_at_least 'fedge_xmpp_presence_subscriptions{watcher="xmpp"}' 1
}
check_out "metrics: presence subscriptions held, one per side" wait_for subs_metrics 5
check "fedge exits 0 on SIGTERM, subscriptions held" stop fedge3
rows() { sqlite3 "$T_TMP/fedge.db" "SELECT dir, watcher, target, active FROM xmpp_subscription ORDER BY dir"; }
both_rows() {
    rows
    [ "$(rows | tr '\n' ' ')" = 'sip|alice@contoso.test|bob@fabrikam.test|1 xmpp|bob@fabrikam.test|alice@contoso.test|1 ' ]
}
check_out "the store holds both subscriptions (migration 8)" both_rows
n_notify=$(grep -c '^NOTIFY ' "$T_LOGS/uas.log")
FEDGE_NO_PARTNER=1 check "fedge restarts" start_fedge "$CFG" fedge4 || finish
check "fedge restores both from the store" \
    wait_for "grep -q 'presence subscriptions restored from the store sip_watchers=1 xmpp_watchers=1' '$T_LOGS/fedge4.log'" 10
refreshed() { grep -q '^PSUB sip:bob@fabrikam.test sip:alice@contoso.test 600 refresh xps-' "$T_LOGS/uas.log"; }
check "bob's SIP subscription is refreshed in its stored dialog" wait_for refreshed 10
probed() { [ "$(grep -c '^NOTIFY ' "$T_LOGS/uas.log")" -gt "$n_notify" ] && last_notify 'active open'; }
check "fedge probes bob for alice: a new NOTIFY with bob open" wait_for probed 15
echo "away After the restart" > "$T_TMP/alice-presence"
check "alice away after the restart: bob sees it" \
    wait_for "pres_is 'available away After the restart'" 15
touch "$T_TMP/unsub2"
check "alice's un-SUBSCRIBE in the dialog from before the restart gets 200 (not 481)" \
    wait_for "grep -q '^UNSUB 200' '$T_LOGS/sub2.log'" 10
# The presence server forgets its dialogs: the next refresh gets 481 and
# fedge subscribes anew (RFC 6665 §4.1.2.1) without bob noticing.
touch "$T_TMP/ps-forget"
stop fedge4
FEDGE_NO_PARTNER=1 check "fedge restarts again" start_fedge "$CFG" fedge5 || finish
renewed() {
    grep -q '^PSUB sip:bob@fabrikam.test sip:alice@contoso.test 600 481' "$T_LOGS/uas.log" &&
        [ "$(grep -c '^PSUB sip:bob@fabrikam.test sip:alice@contoso.test 600 new' "$T_LOGS/uas.log")" -ge 2 ]
}
check "the refresh gets 481, fedge subscribes in a new dialog" wait_for renewed 10
echo "busy Meeting" > "$T_TMP/alice-presence"
check "bob sees the state through the new dialog" wait_for "pres_is 'available dnd Meeting'" 15
touch "$T_TMP/bob-unsub"
unsubscribed_sip() {
    wait_for "grep -q '^PSUB sip:bob@fabrikam.test sip:alice@contoso.test 0 ' '$T_LOGS/uas.log'" 10 &&
        wait_for '[ -z "$(rows | grep "^xmpp")" ]' 10
}
check "bob unsubscribes: SUBSCRIBE Expires: 0 to the presence server, row removed" unsubscribed_sip

check "fedge still running" alive fedge5
check "fedge exits 0 on SIGTERM" stop fedge5
finish
