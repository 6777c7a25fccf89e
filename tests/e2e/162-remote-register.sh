#!/bin/bash
# 162-remote-register: remote users through the edge, end to end. Kamailio
# is the internal registrar (tests/e2e/kamailio-registrar.cfg: digest with
# a fixed password, Path stored and used); the remote client is SIPp behind
# stunnel (TLS to the [remote] listener, no client certificate). Checked:
# the Status figures (remote clients connected, registrations per minute);
# `fedge plan` lists the clients' records, certificate name and firewall
# row; `fedge check` (dnsmasq publishing them) passes them, fails a
# certificate without sip.<domain> (19523), a [remote] listener that is
# down (19520) and one that asks for a client certificate (19522);
# REGISTER refused while remote access is off (edge switch 19013, then the
# user's policy 19015); with both on, the client registers through the edge
# (the registrar stores the edge's Path: flow token, internal interface,
# lr, ob), the first registrar being down; an internal user's MESSAGE reaches the client over its own
# connection; once that connection is gone the next one gets 430 Flow
# Failed; 20 wrong passwords lock the user out (19016, listed by `fedge
# remote lockouts`); after `fedge remote unlock` the right password works.
# Then restarted with tight limits: the old flow token is refused (430),
# CRLF keep-alives are answered, a third connection from one address is
# closed (max_connections_per_ip = 2), a REGISTER over register_rate gets
# 503 with Retry-After; a lock-out found in the store at start applies;
# with remote access off, even a client's request
# with a To tag is refused (19013).
. "$(dirname "$0")/lib.sh"

F="$FEDGE_BIN"
PASSWORD=remote-secret-42
topology
REM_PORT=$(free_port); KTLS=$(free_port); KTCP=$(free_port)
DEAD=$(free_port) # a registrar that is down: the edge fails over to the next
CFG=$T_TMP/fedge.ini
fedge_config "$CFG"
# the internal next hop and the registrar are Kamailio (TCP)
sed -i "s/^next_hop = .*/next_hop = 127.0.0.1:$KTCP/" "$CFG"
cat >> "$CFG" <<EOT

[remote]
listen = 127.0.0.1:$REM_PORT
registrar = 127.0.0.1:$DEAD, 127.0.0.1:$KTCP
lockout_user_failures = 20
register_rate = 200
EOT
MET_PORT=$(free_port)
printf '\n[metrics]\nlisten = 127.0.0.1:%s\n' "$MET_PORT" >> "$CFG"
# metric NAME VALUE: the edge's Prometheus endpoint (whose totals the
# panel's Status page lists too) has NAME at VALUE
metric() { curl -sf "http://127.0.0.1:$MET_PORT/metrics" | grep -qx "$1 $2"; }

check "kamailio registrar starts (tcp $KTCP)" \
    kamailio_start registrar "$E2E_DIR/kamailio-registrar.cfg" "$KTLS" "$KTCP" \
    "sip:127.0.0.1:$INT_PORT;transport=tcp" || { show registrar; finish; }
FEDGE_NO_PARTNER=1 check "fedge serves with [remote]" start_fedge "$CFG" || finish
check "the [remote] listener accepts" wait_listen "$REM_PORT" 5
check "the client's TLS (no client certificate) to the [remote] listener" \
    stunnel_client client-tls "$(free_port)" "$REM_PORT" "" || finish
CL=$(sed -n 's/^accept = 127.0.0.1://p' "$T_TMP/client-tls.conf")

# client NAME SCENARIO PASSWORD [sipp args]: the remote client, foreground
client() {
    local name=$1 scen=$2 pw=$3 lp; shift 3
    lp=$(free_port)
    sipp_uac "$name" "$scen" "$CL" "$lp" "sip:contoso.test" "sip:alice@contoso.test" \
        "sip:alice@127.0.0.1:$lp;transport=tls;ob" 1 -au "${CLIENT_USER:-alice}" -ap "$pw" \
        -key user "${CLIENT_USER:-alice}" "$@"
}
# diag NAME ID: the edge's refusal in NAME's trace carries diagnostic ID
diag() { grep -q "^Warning: 399 edge.contoso.test \"$2 " "$T_LOGS/$1.msg"; }

note "fedge plan and fedge check for remote users"
"$F" plan -c "$CFG" --json > "$T_LOGS/plan.json"
# json FILE EXPR: EXPR (Python, d = the document) holds
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2" || { cat "$1"; return 1; }; }
check "plan: _sip._tls SRV to sip.contoso.test on the remote port, its A a placeholder (loopback)" \
    json "$T_LOGS/plan.json" 'd["remote_port"] == '"$REM_PORT"' and any(r["owner"] == "_sip._tls.contoso.test." and r["value"] == "0 0 '"$REM_PORT"' sip.contoso.test." for r in d["dns"]) and any(r["owner"] == "sip.contoso.test." and r["type"] == "A" and r["placeholder"] for r in d["dns"])'
check "plan: the certificate names sip.contoso.test, the firewall opens the remote port" \
    json "$T_LOGS/plan.json" '{"san": "DNS:sip.contoso.test", "required": True} in d["certificate"]["sans"] and any(f["port"] == "'"$REM_PORT"'" and f["direction"] == "in" and "remote users" in f["purpose"] for f in d["firewall"])'
DNS_PORT=$(free_port)
check "dnsmasq publishes the plan's records" dns_start dnsmasq "$DNS_PORT" 60 \
    "--srv-host=_sip._tls.contoso.test,sip.contoso.test,$REM_PORT,0,0" \
    "--srv-host=_sipfederationtls._tcp.contoso.test,edge.contoso.test,$EXT_PORT,0,0" \
    --host-record=sip.contoso.test,127.0.0.1 --host-record=edge.contoso.test,127.0.0.1 || show dnsmasq
CHK=$T_TMP/check.ini
printf '\n[dns]\nservers = 127.0.0.1:%s\ntimeout = 500ms\n' "$DNS_PORT" | cat "$CFG" - > "$CHK"
"$F" check -c "$CHK" --json > "$T_LOGS/check.json"
item() { json "$T_LOGS/check.json" "any(i[\"name\"] == \"$1\" and i[\"status\"] == \"$2\" and i[\"id\"] == $3 for i in d[\"items\"])"; }
check "check: the remote SRV passes" item "SRV _sip._tls.contoso.test (remote users)" pass 0
check "check: sip.contoso.test resolves to the remote listener" item "A/AAAA sip.contoso.test (remote users)" pass 0
check "check: the remote listener completes TLS without a client certificate" item "remote 127.0.0.1:$REM_PORT" pass 0
check "check: the test certificate lacks sip.contoso.test: 19523" \
    item "certificate names sip.contoso.test (remote users)" fail 19523
"$FEDGE_ROOT/scripts/gen-certs" "$PKI" edge-remote.contoso.test \
    "DNS:edge.contoso.test,DNS:contoso.test,DNS:sip.contoso.test" both valid ca > /dev/null
sed -i "s#^certificate = .*#certificate = $PKI/edge-remote.contoso.test.crt#; s#^private_key = .*#private_key = $PKI/edge-remote.contoso.test.key#" "$CHK"
"$F" check -c "$CHK" --json > "$T_LOGS/check.json"; rc=$?
check "check: with a certificate naming sip.contoso.test it passes" \
    item "certificate names sip.contoso.test (remote users)" pass 0
check "check: ... and nothing fails (exit 0)" test "$rc" -eq 0
sed -i "s/^listen = 127.0.0.1:$REM_PORT/listen = 127.0.0.1:$DEAD/" "$CHK"
"$F" check -c "$CHK" --json --timeout 1000 > "$T_LOGS/check.json"; rc=$?
check "check: a [remote] listener that is down: exit 1" test "$rc" -eq 1
check "... 19520 for it" item "remote 127.0.0.1:$DEAD" fail 19520
# a TLS listener that asks for a client certificate (like [external]):
# remote users' clients have none
MTLS=$(free_port)
start_bg mtls openssl s_server -accept "127.0.0.1:$MTLS" -cert "$PKI/edge.contoso.test.crt" \
    -key "$PKI/edge.contoso.test.key" -CAfile "$PKI/ca.crt" -Verify 1 -verify_return_error -quiet
check "a TLS server that requires a client certificate listens" wait_listen "$MTLS" 5
sed -i "s/^listen = 127.0.0.1:$DEAD/listen = 127.0.0.1:$MTLS/" "$CHK"
"$F" check -c "$CHK" --json --timeout 2000 > "$T_LOGS/check.json"
check "check: a listener that requires a client certificate: 19522" \
    item "remote 127.0.0.1:$MTLS" fail 19522
stop mtls
stop dnsmasq

note "remote access off"
check "outside-users off: REGISTER refused" client reg-off remote_register_refused_uac.xml "$PASSWORD"
check "... with 19013" diag reg-off 19013
check "edge set --outside-users on" "$F" edge set --outside-users on -c "$CFG"
check "the user's policy has remote access off: REGISTER refused" \
    wait_for "client reg-nopolicy remote_register_refused_uac.xml '$PASSWORD' && diag reg-nopolicy 19015" 5
check "policy set global --outside on" "$F" policy set global --outside on -c "$CFG"
# the edge reads the store's changes on its own schedule: wait until it runs
# the generation just written before a client counts on it
loaded() {
    local g
    g=$(sqlite3 -cmd ".timeout 1000" "$T_TMP/fedge.db" "SELECT value FROM meta WHERE key = 'generation'") &&
        [ -n "$g" ] && grep -q "settings loaded generation=$g\b" "$T_LOGS/fedge.log"
}
check "... the edge runs the store's new settings" wait_for loaded 10

note "registration through the edge"
MSG_CID=remote-flow-1 # the client's Call-ID, so that SIPp maps the MESSAGE to its call
LP=$(free_port)
start_bg client-msg sh -c 'cd "$1" && shift && exec "$@"' _ "$T_LOGS" \
    sipp "127.0.0.1:$CL" -sf "$SCEN/remote_register_msg_uac.xml" -p "$LP" -m 1 \
    $(_sipp_common client-msg) -timeout 40 -timeout_error -cid_str "$MSG_CID" \
    -key contact "sip:alice@127.0.0.1:$LP;transport=tls;ob" -key user alice \
    -au alice -ap "$PASSWORD"
registered() { grep -q "registered sip:alice@contoso.test path \[<sip:[A-Za-z0-9_-]\{27\}@127.0.0.1:$INT_PORT;transport=tcp;lr;ob>\]" "$T_LOGS/registrar.log"; }
check "the registrar stored the edge's Path (token, internal interface, lr, ob)" wait_for registered 20
check_out "the Path it stored" grep -o "registered sip:alice@contoso.test path \[.*\]" "$T_LOGS/registrar.log"
check "the first registrar was down: failed over to the next" \
    grep -q "next hop failed next_hop=127.0.0.1 side=internal reason=\"connect to 127.0.0.1:$DEAD failed" "$T_LOGS/fedge.log"
check "Status figures: one remote client connected" wait_for "metric fedge_remote_clients_connected 1" 5
check "... one registration accepted, 1 in the last minute" \
    wait_for "metric fedge_remote_registrations_total 1 && metric fedge_remote_registrations_per_minute 1" 5
TOKEN=$(grep -o "path \[<sip:[A-Za-z0-9_-]*@" "$T_LOGS/registrar.log" | head -1 | sed 's/path \[<sip://; s/@$//')
check "an internal user's MESSAGE to alice@contoso.test is answered 200" \
    sipp_uac internal-msg message_uac.xml "$KTCP" "$(free_port)" "sip:alice@contoso.test" \
    "sip:bob@contoso.test" "sip:bob@127.0.0.1:1;transport=tcp" 1 -cid_str "$MSG_CID"
check "the client received it over its own connection and answered" sipp_ok client-msg
check "the registrar sent it through the Path (to the edge's internal interface, the token)" \
    grep -q "registrar: MESSAGE for sip:alice@contoso.test to .* via sip:$TOKEN@127.0.0.1:$INT_PORT;transport=tcp;lr;ob" "$T_LOGS/registrar.log"

note "the flow is gone"
check "the client's connection closed (SIPp exited)" wait_for "[ \"\$(conns_on $REM_PORT)\" -eq 0 ]" 10
check "Status figures: no remote client connected" wait_for "metric fedge_remote_clients_connected 0" 5
check "the next MESSAGE for alice gets 430 Flow Failed" \
    sipp_uac internal-430 message_uac_430.xml "$KTCP" "$(free_port)" "sip:alice@contoso.test" \
    "sip:bob@contoso.test" "sip:bob@127.0.0.1:1;transport=tcp"

note "lock-out"
check "20 wrong passwords, each challenged again" \
    client reg-wrong remote_register_wrong_uac.xml not-the-password -m 20
check "the 21st REGISTER, right password: refused" \
    client reg-locked remote_register_refused_uac.xml "$PASSWORD"
check "... with 19016 (user locked out)" diag reg-locked 19016
listed() { "$F" remote lockouts -c "$CFG" | grep -q "^user *alice@contoso.test .* 20 *from 127.0.0.1"; }
check "fedge remote lockouts shows alice" wait_for listed 5
check_out "fedge remote lockouts" "$F" remote lockouts -c "$CFG"
check "fedge remote unlock alice@contoso.test" "$F" remote unlock alice@contoso.test -c "$CFG"
check "then the right password works (200)" \
    wait_for "client reg-after remote_register_uac.xml '$PASSWORD'" 5
check "fedge still running" alive fedge

note "restarted with tight limits"
stop fedge
sed -i "s/^register_rate = .*/register_rate = 4\nmax_connections_per_ip = 2/" "$CFG"
# a lock-out another member of a pool wrote (or this edge before a restart)
python3 - "$T_TMP/fedge.db" "$(( $(date +%s) + 900 ))" <<'PY' || { note "cannot write the store"; finish; }
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("INSERT INTO remote_lockout VALUES('user', 'bob@contoso.test', "
          "'2026-01-01T00:00:00Z', ?, 20, 'test')", (int(sys.argv[2]),))
c.commit()
PY
FEDGE_NO_PARTNER=1 check "fedge serves again" start_fedge "$CFG" fedge2 || finish
check "the [remote] listener accepts" wait_listen "$REM_PORT" 5
check "a flow token from before the restart: 430" \
    sipp_uac internal-430-restart message_uac_430.xml "$KTCP" "$(free_port)" \
    "sip:alice@contoso.test" "sip:bob@contoso.test" "sip:bob@127.0.0.1:1;transport=tcp"
check "... because the token is not this edge's" \
    grep -q "request for a flow that is gone reason=\"flow failed: the flow token is not this edge's" "$T_LOGS/fedge2.log"
# three TLS connections from 127.0.0.1, no client certificate: the first
# two answer a CRLF keep-alive (RFC 5626 §3.5.1), the third is closed
per_ip() {
    python3 - "$PKI/ca.crt" "$REM_PORT" <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
conns = []
for i in range(3):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=5),
                        server_hostname="edge.contoso.test")
    conns.append(s)
    try:
        s.sendall(b"\r\n\r\n")
        got = s.recv(16)
    except (OSError, ssl.SSLError) as e:
        got = b""
    print("connection %d: %s" % (i + 1, "pong" if got == b"\r\n" else "closed" if not got else repr(got)))
    if (i < 2) != (got == b"\r\n"):
        sys.exit(1)
PY
}
check_out "max_connections_per_ip = 2: two answer keep-alives, the third is closed" per_ip
check "the right password works (200; 2 REGISTERs)" client reg-rate1 remote_register_uac.xml "$PASSWORD"
check "again (200; 4 REGISTERs this minute)" client reg-rate2 remote_register_uac.xml "$PASSWORD"
check "the 5th REGISTER this minute: 503 with Retry-After" \
    client reg-rate3 remote_register_busy_uac.xml "$PASSWORD"
# (after the rate checks: until the tracker has the store's lock-outs a
# REGISTER of bob's would count against the rate of 127.0.0.1)
bob_locked() { CLIENT_USER=bob client reg-bob remote_register_refused_uac.xml "$PASSWORD" && diag reg-bob 19016; }
check "a lock-out found in the store at start applies (bob: 19016)" wait_for bob_locked 5
check "edge set --outside-users off" "$F" edge set --outside-users off -c "$CFG"
# a request with a To tag is decided too (no dialog vouches for a client)
indialog() {
    sipp_uac "$1" message_indialog_refused.xml "$CL" "$(free_port)" "sip:carol@contoso.test" \
        "sip:alice@contoso.test" "sip:alice@127.0.0.1:1;transport=tls" && diag "$1" 19013
}
check "a client's in-dialog MESSAGE is refused with 19013 too" wait_for "indialog indialog-off" 5
check "fedge still running" alive fedge2
check "kamailio still running" alive registrar
finish
