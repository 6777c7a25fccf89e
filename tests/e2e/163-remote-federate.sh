#!/bin/bash
# 163-remote-federate: remote users federate through their own server, as
# Lync remote users did: client -> edge A [remote] listener -> Kamailio
# (contoso's registrar and internal proxy, tests/e2e/kamailio-registrar.cfg:
# other domains to the edge's internal side, record-routed) -> edge A
# internal side -> federation policy -> edge B (fabrikam.test, a second
# fedge) -> fabrikam's server. The remote clients are SIPp behind stunnel
# (TLS to the [remote] listener, no client certificate) and baresip (TLS,
# digest, SIP Outbound: registers, takes an internal user's MESSAGE on its
# connection, messages a partner user through the edge). Checked: a remote
# user's MESSAGE reaches the partner with B's trust header (the client's
# forged one gone) and edge A's federation policy applied (a blocked
# domain refused with its diagnostic, passed back to the client; the
# remote access switch refuses before anything leaves the edge); the
# request crosses edge A twice without a loop (482) being seen; a call
# from the remote client to a partner user is record-routed with the
# client's flow token on the [remote] listener's entry, and the partner's
# BYE comes back through Kamailio and out on the client's own connection;
# the call's media goes through edge A's relay (rtpengine, [media]) once,
# on the second crossing, both legs on the relay's external interface (the
# client is outside too: the edge knows the call by its own flow-token
# Record-Route entry); a partner's call to a remote client is offered to
# the relay on its first crossing (external -> internal) and its crossing
# to the client is relayed as a call of its own, a fork (internal ->
# external: the client's leg on the external interface), and is record-routed
# with the client's flow token so that its ACK and BYE reach the client;
# once the client's connection is gone, an
# in-dialog request for it gets 430.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/policy_lib.sh"

PASSWORD=remote-secret-42
# settle: edge A has its store's settings in force (only A's store
# changes while it runs)
settle() {
    local g
    g=$(sqlite3 -cmd ".timeout 1000" "$T_TMP/contoso.db" "SELECT value FROM meta WHERE key = 'generation'")
    wait_for "grep -q 'settings loaded generation=$g\b' '$T_LOGS/edge-a.log'" 5 ||
        note "settle: edge A has not loaded generation $g after 5 s"
}
pol_topology
REM=$(free_port); KTLS=$(free_port); KTCP=$(free_port)
check "dnsmasq starts" pol_dns || finish
# the media relay of edge A: rtpengine in user space (as in 121-media-calls)
NG_PORT=$(udp_ports 1)
RTP_MIN=$((30000 + ($$ % 100) * 100))
check "rtpengine (edge A's media relay) answers ng ping" rtpengine_start "$NG_PORT" "$RTP_MIN" 7 || show rtpengine
CA=$T_TMP/contoso.ini CB=$T_TMP/fabrikam.ini
# A: its internal next hop and registrar are Kamailio; B: fabrikam's UAS
pol_config "$CA" contoso "$EA" "$IA" "$KTCP" "$EB" "$ADA"
pol_config "$CB" fabrikam "$EB" "$IB" "$UB" "$EA" "$ADB"
cat >> "$CA" <<EOT

[remote]
listen = 127.0.0.1:$REM
registrar = 127.0.0.1:$KTCP

[media]
rtpengine = 127.0.0.1:$NG_PORT
timeout = 500ms
EOT
check "kamailio (contoso's registrar and internal proxy) starts" \
    kamailio_start registrar "$E2E_DIR/kamailio-registrar.cfg" "$KTLS" "$KTCP" \
    "sip:127.0.0.1:$IA;transport=tcp" || { show registrar; finish; }
start_bg uas-b $POLSIP uas --port "$UB" --log "$T_LOGS/uas-b.jsonl"
check "fabrikam's server listens" wait_listen "$UB" 5 "$BG_PID"
FEDGE_NO_PARTNER=1 EXT_PORT=$EA INT_PORT=$IA check "edge A (contoso, with [remote]) serves" \
    start_fedge "$CA" edge-a || finish
# (B's store before it starts: nothing to wait for)
check "B: contoso.test an allowed partner server" B domain allow contoso.test --proxy-fqdn edge.contoso.test
FEDGE_NO_PARTNER=1 EXT_PORT=$EB INT_PORT=$IB check "edge B (fabrikam) serves" \
    start_fedge "$CB" edge-b || finish
check "the [remote] listener accepts" wait_listen "$REM" 5
check "A: fabrikam.test an allowed partner server" A domain allow fabrikam.test --proxy-fqdn edge.fabrikam.test
check "A: northwind.test blocked" A domain block northwind.test
check "A: remote access on (edge)" A edge set --outside-users on
check "A: remote access on (global policy)" A policy set global --outside on
settle
check "the client's TLS (no client certificate) to the [remote] listener" \
    stunnel_client client-tls "$(free_port)" "$REM" "" || finish
CL=$(sed -n 's/^accept = 127.0.0.1://p' "$T_TMP/client-tls.conf")

# remote NAME SCENARIO RURI [sipp args]: alice's client, over the [remote] listener
remote() {
    local name=$1 scen=$2 ruri=$3 lp; shift 3
    lp=$(free_port)
    sipp_uac "$name" "$scen" "$CL" "$lp" "$ruri" "sip:alice@contoso.test" \
        "sip:alice@127.0.0.1:$lp;transport=tls;ob" 1 "$@"
}
# diag NAME ID: the refusal in NAME's trace carries diagnostic ID
diag() { grep -q "^Warning: 399 edge.contoso.test \"$2 " "$T_LOGS/$1.msg"; }
TRUST='^ms-source-type=DirectPartner;ms-ep-fqdn=edge.fabrikam.test;ms-source-verified-user=verified;ms-source-network=federation$'

note "a remote user's MESSAGE to a partner"
check "alice's MESSAGE to dave@fabrikam.test is answered 200" \
    remote msg-out remote_message_forged_uac.xml sip:dave@fabrikam.test -cid_str remote-fed-1
check "fabrikam's server got it from alice, with exactly one trust header: B's own" \
    seen_b remote-fed-1 --match 'From=alice@contoso.test' --count ms-edge-proxy-message-trust=1 \
    --match "ms-edge-proxy-message-trust=$TRUST"
check "it went through Kamailio (A -> Kamailio -> A -> B: three Via of edges and Kamailio)" \
    seen_b remote-fed-1 --match "Via=127.0.0.1:$KTCP"
check "edge A answered no 482 (the second crossing is a spiral, not a loop)" \
    bash -c "! grep -q 'status=482' '$T_LOGS/edge-a.log'"

note "baresip as the remote client (TLS, digest, SIP Outbound)"
# baresip (Debian's baresip-core) headless: its own config folder, no audio
# device (aufile on /dev/null), driven through ctrl_tcp; the account uses
# the [remote] listener as its outbound proxy with sipnat=outbound (reg-id,
# +sip.instance from the uuid file)
BS=$T_TMP/baresip; mkdir -p "$BS"; BSIP=$(free_port); BCTL=$(free_port)
cat > "$BS/config" <<EOC
poll_method epoll
sip_listen 127.0.0.1:$BSIP
sip_cafile $PKI/ca.crt
module_path /usr/lib/baresip/modules
module_tmp uuid.so
module g711.so
module_app account.so
module_app contact.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:$BCTL
audio_player aufile,/dev/null
audio_source aufile,/dev/null
audio_alert aufile,/dev/null
EOC
printf '<sip:alice@contoso.test;transport=tls>;auth_pass=%s;outbound="sip:127.0.0.1:%s;transport=tls";sipnat=outbound;regint=600\n' \
    "$PASSWORD" "$REM" > "$BS/accounts"
echo '"Dave" <sip:dave@fabrikam.test>' > "$BS/contacts"
printf 'a11ce000-0000-4000-8000-0000000000b5' > "$BS/uuid"
BS_REG=$(grep -c "registered sip:alice@contoso.test path" "$T_LOGS/registrar.log")
start_bg baresip baresip -f "$BS" -s
check "baresip starts (control port)" wait_listen "$BCTL" 10 "$BG_PID"
bs_registered() {
    grep -q "alice@contoso.test: {[0-9]*/TLS/v4} 200 OK" "$T_LOGS/baresip.log" &&
        [ "$(grep -c "registered sip:alice@contoso.test path \[<sip:[A-Za-z0-9_-]\{27\}@127.0.0.1:$IA;transport=tcp;lr;ob>\]" "$T_LOGS/registrar.log")" -gt "$BS_REG" ]
}
check "baresip registers through the edge (digest; the registrar stored the edge's Path with ob)" \
    wait_for bs_registered 15
check "an internal user's MESSAGE to alice is answered 200 by baresip" \
    sipp_uac bs-in message_uac.xml "$KTCP" "$(free_port)" "sip:alice@contoso.test" \
    "sip:bob@contoso.test" "sip:bob@127.0.0.1:1;transport=tcp" 1
check "... it reached baresip over its own TLS connection" \
    wait_for "grep -q '^hello sip:alice@contoso.test, this is sip:bob@contoso.test' '$T_LOGS/baresip.log'" 5
check "baresip: current contact dave@fabrikam.test" python3 "$E2E_DIR/baresip_ctrl.py" "$BCTL" contact_next
check "baresip sends dave a MESSAGE" python3 "$E2E_DIR/baresip_ctrl.py" "$BCTL" message "hello dave, from baresip"
# bs_cid: the Call-ID of the request from baresip that fabrikam's server got
bs_cid() {
    python3 - "$T_LOGS/uas-b.jsonl" <<'PY'
import json, sys
for ln in open(sys.argv[1]):
    r = json.loads(ln)
    if any(h.lower() == "user-agent" and v.startswith("baresip") for h, v in r["headers"]):
        print(r["call_id"]); sys.exit(0)
sys.exit(1)
PY
}
check "baresip's MESSAGE reached fabrikam's server" wait_for bs_cid 10
check "... from alice, with B's trust header, through Kamailio" \
    seen_b "$(bs_cid)" --match 'From=alice@contoso.test' --count ms-edge-proxy-message-trust=1 \
    --match "ms-edge-proxy-message-trust=$TRUST" --match "Via=127.0.0.1:$KTCP"
check "... and baresip got the 200" \
    wait_for "grep -A12 '^SIP/2.0 200 OK' '$T_LOGS/baresip.log' | grep -q '^CSeq: [0-9]* MESSAGE'" 5
stop baresip

note "the federation policy applies to remote users too"
check "alice's MESSAGE to a blocked domain (northwind.test) is refused" \
    remote msg-blocked message_uac_refused.xml sip:erin@northwind.test
check "... with 1012 (blocked), passed back by Kamailio to the client" diag msg-blocked 1012
check "... after crossing to the internal server and back (A's internal side refused it)" \
    grep -q "request refused by policy direction=outbound partner=northwind.test diagnostic=1012" "$T_LOGS/edge-a.log"
check "A: remote access off (edge)" A edge set --outside-users off
settle
check "with remote access off, alice's MESSAGE to a partner is refused" \
    remote msg-off message_uac_refused.xml sip:dave@fabrikam.test -cid_str remote-fed-off
check "... with 19013, before anything left the edge" diag msg-off 19013
check "... fabrikam's server did not get it" never_b remote-fed-off
check "A: remote access on again" A edge set --outside-users on
settle

note "a call from a remote user to a partner: the BYE from the far end comes back on the client's flow"
stop uas-b
check "fabrikam's user (SIPp) that hangs up listens" \
    sipp_uas dave-bye partner_bye_uas.xml "$UB" "sip:dave@127.0.0.1:$UB;transport=tcp"
check "alice calls dave@fabrikam.test: 200, ACK, then dave's BYE reaches her on her connection" \
    remote call-out remote_invite_uac.xml sip:dave@fabrikam.test -cid_str remote-call-1
check "dave's side: 200 for the BYE" sipp_ok dave-bye
check "the 200 alice got record-routed her side with a flow token on the [remote] listener" \
    grep -q "^Record-Route: .*<sip:[A-Za-z0-9_-]\{27\}@127.0.0.1:$REM;transport=tls;lr>" "$T_LOGS/call-out.msg"
check "media: dave got the relay's external address (one relay, on the second crossing)" \
    grep -q "^c=IN IP4 127.0.0.3" "$T_LOGS/dave-bye.msg"
# alice is outside the network: the relay's internal interface (127.0.0.2)
# is out of her reach, so her leg is on its external one too
# (a pipeline inside a check goes through bash -c: check's own "ok" line
# must not be fed to the grep)
check "media: alice got the relay's external address too (she is outside)" \
    bash -c "grep -A30 '^SIP/2.0 200 OK' '$T_LOGS/call-out.msg' | grep -q '^c=IN IP4 127.0.0.3'"
check "media: nothing alice got names the relay's internal address" \
    bash -c "! grep -q '^c=IN IP4 127.0.0.2' '$T_LOGS/call-out.msg'"
check "media: the relay was asked external -> external (offer and answer), never internal" \
    bash -c "[ \$(grep -c '\"direction\": \[ \"external\", \"external\" \]' '$T_LOGS/rtpengine.log') -eq 2 ] &&
        ! grep -q '\"direction\": \[ \"internal\"\|\"direction\": \[ \"external\", \"internal\"' '$T_LOGS/rtpengine.log'"
check "the relay was offered the call once" \
    test "$(grep -c "Received command 'offer'" "$T_LOGS/rtpengine.log")" -eq 1
check "the BYE went through Kamailio (its Via)" \
    bash -c "grep -A12 '^BYE sip:alice@' '$T_LOGS/call-out.msg' | grep -q '^Via: SIP/2.0/TCP 127.0.0.1:$KTCP'"

note "the client's connection is gone: an in-dialog request for its flow gets 430"
TOKEN=$(grep -o "<sip:[A-Za-z0-9_-]\{27\}@127.0.0.1:$REM;transport=tls;lr>" "$T_LOGS/call-out.msg" | head -1 | sed 's/<sip://; s/@.*//')
check "the client (SIPp) has gone" wait_for "[ \"\$(conns_on $REM)\" -eq 0 ]" 10
late_bye() {
    mk_sip "$T_TMP/bye.sip" <<EOS
BYE sip:alice@127.0.0.1:1;transport=tls SIP/2.0
Via: SIP/2.0/TCP 127.0.0.1:$KTCP;branch=z9hG4bK-late-bye
Route: <sip:127.0.0.1:$IA;transport=tcp;lr>, <sip:$TOKEN@127.0.0.1:$REM;transport=tls;lr>
Max-Forwards: 69
From: <sip:dave@fabrikam.test>;tag=late
To: <sip:alice@contoso.test>;tag=late2
Call-ID: remote-call-late
CSeq: 2 BYE
Content-Length: 0

EOS
    python3 - "$IA" "$T_TMP/bye.sip" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(open(sys.argv[2], "rb").read())
buf = b""
while b"\r\n\r\n" not in buf:
    d = s.recv(4096)
    if not d:
        break
    buf += d
print(buf.split(b"\r\n")[0].decode())
sys.exit(0 if buf.startswith(b"SIP/2.0 430 ") else 1)
PY
}
check_out "a BYE from inside along alice's dialog route: 430 Flow Failed" late_bye

note "a call from a partner to a remote user: the client's leg on the relay's external side too"
# partner -> edge A external -> Kamailio -> edge A internal -> the
# client's flow: the relay is offered the call on the partner's crossing
# (external -> internal: the edge cannot know yet where the internal
# server sends it), then the crossing to the client is a relay call of
# its own, a fork (Call-ID;fork=Kamailio's branch), internal -> external
# (tests/e2e/164-remote-fork.sh: the same with a device forked to too)
IN_CID=remote-in-1 # the client's Call-ID, so that SIPp maps the INVITE to its call
LP=$(free_port)
start_bg client-in sh -c 'cd "$1" && shift && exec "$@"' _ "$T_LOGS" \
    sipp "127.0.0.1:$CL" -sf "$SCEN/remote_register_invite_uas.xml" -p "$LP" -m 1 \
    $(_sipp_common client-in) -timeout 40 -timeout_error -cid_str "$IN_CID" \
    -key contact "sip:alice@127.0.0.1:$LP;transport=tls;ob" -key user alice \
    -au alice -ap "$PASSWORD"
check "alice's client (SIPp) registers through the edge" \
    wait_for "grep -q '^SIP/2.0 200 OK' '$T_LOGS/client-in.msg'" 20
check "dave@fabrikam.test calls alice: 180, 200, ACK, BYE answered 200" \
    sipp_uac dave-call invite_uac.xml "$IB" "$(free_port)" "sip:alice@contoso.test" \
    "sip:dave@fabrikam.test" "sip:dave@127.0.0.1:1;transport=tcp" 1 -cid_str "$IN_CID"
check "alice's side: the call went through on her connection (the ACK and BYE too)" \
    wait_exit client-in 10
check "the 200 dave got record-routed alice's side with a flow token on the [remote] listener" \
    grep -q "^Record-Route: <sip:[A-Za-z0-9_-]\{27\}@127.0.0.1:$REM;transport=tls;lr>" "$T_LOGS/dave-call.msg"
# directions: the relay's offers and answers for the call and its fork
# ("+fork"), in order
directions() {
    python3 - "$T_LOGS/rtpengine.log" "$IN_CID" <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
out = []
for m in re.finditer(r"Dump for '(offer|answer)' from \S+: (\{.*?)(?=\n\[|\Z)", text, re.S):
    d = m.group(2)
    c = re.search(r'"call-id": "([^"]*)"', d)
    if c and (c.group(1) == sys.argv[2] or c.group(1).startswith(sys.argv[2] + ";fork=")):
        dr = re.search(r'"direction": \[ "(\w+)", "(\w+)" \]', d)
        out.append("%s%s:%s>%s" % (m.group(1), "" if c.group(1) == sys.argv[2] else "+fork",
                                   dr.group(1), dr.group(2)))
print(" ".join(out))
PY
}
check_out "the relay's commands for the call" directions
check "offer external -> internal (partner's crossing), the fork internal -> external (client's), its answer external -> internal, the call's internal -> external" \
    test "$(directions)" = "offer:external>internal offer+fork:internal>external answer+fork:external>internal answer:internal>external"
check "media: dave got the relay's external address" \
    bash -c "grep -A30 '^SIP/2.0 200 OK' '$T_LOGS/dave-call.msg' | grep -q '^c=IN IP4 127.0.0.3'"
check "media: alice's client got the relay's external address" \
    bash -c "grep -A30 '^INVITE ' '$T_LOGS/client-in.msg' | grep -q '^c=IN IP4 127.0.0.3'"
check "media: nothing alice's client got names the relay's internal address" \
    bash -c "! grep -q '^c=IN IP4 127.0.0.2' '$T_LOGS/client-in.msg'"
# deletes: the relay's deletes of the call and its fork (";fork"), sorted
deletes() {
    grep -o "Dump for 'delete'.*\"call-id\": \"$IN_CID[^\"]*\"" "$T_LOGS/rtpengine.log" |
        sed 's/.*"call-id": "//; s/"$//; s/;fork=.*/;fork/' | sort | tr '\n' ' '
}
check "the call and its fork were deleted at the relay once each (BYE)" \
    test "$(deletes)" = "$IN_CID $IN_CID;fork "

check "edge A still running" alive edge-a
check "edge B still running" alive edge-b
check "kamailio still running" alive registrar
check "rtpengine still running" alive rtpengine
finish
