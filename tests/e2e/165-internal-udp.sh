#!/bin/bash
# 165-internal-udp: [internal] transport = udp. The partner reaches the edge
# over mutual TLS as in 010/020 (SIPp over TCP behind stunnel); the internal
# servers talk UDP: SIPp UAS/UAC with -t u1, then Kamailio over UDP as the
# organization's proxy. Checks: flows both ways over UDP (Via UDP with
# rport on the edge's requests, received/rport on the internal client's
# Via), requests lost by the internal server recovered by the edge's
# retransmissions (RFC 3261 Timer E), a request over 1300 bytes sent over
# TCP instead (§18.1.1), malformed datagrams answered 400 or dropped.
. "$(dirname "$0")/lib.sh"

# udp_bound PORT: is a UDP socket bound on 127.0.0.1:PORT (or any address)?
udp_bound() {
    local hex
    hex=$(printf '%04X' "$1")
    awk -v h=":$hex" '$2 == "0100007F" h || $2 == "00000000" h {f=1} END {exit !f}' /proc/net/udp
}

# udp_uas NAME SCENARIO PORT CONTACT [CALLS] [extra sipp args...]: a SIPp UAS
# over UDP on 127.0.0.1:PORT that exits after CALLS calls (default 1).
udp_uas() {
    local name=$1 scen=$2 port=$3 contact=$4 calls=${5:-1}
    shift 4; [ $# -gt 0 ] && shift
    start_bg "$name" sh -c 'cd "$1" && shift && exec "$@"' _ "$T_LOGS" \
        sipp -sf "$SCEN/$scen" -p "$port" -m "$calls" -nostdin -t u1 -i 127.0.0.1 \
        -trace_err -error_file "$T_LOGS/$name.err" -trace_msg -message_file "$T_LOGS/$name.msg" \
        -key contact "$contact" "$@"
    wait_for "udp_bound $port" 5 || { show "$name"; return 1; }
}

# udp_uac NAME SCENARIO REMOTE_PORT LOCAL_PORT RURI FROM CONTACT [CALLS]
#         [extra sipp args...]: a SIPp UAC over UDP in the foreground.
udp_uac() {
    local name=$1 scen=$2 rport=$3 lport=$4 ruri=$5 from=$6 contact=$7 calls=${8:-1}
    shift 7; [ $# -gt 0 ] && shift
    (cd "$T_LOGS" && exec timeout 60 sipp "127.0.0.1:$rport" -sf "$SCEN/$scen" -p "$lport" \
        -m "$calls" -nostdin -t u1 -i 127.0.0.1 -trace_err -error_file "$T_LOGS/$name.err" \
        -trace_msg -message_file "$T_LOGS/$name.msg" -timeout 30 -timeout_error \
        -key ruri "$ruri" -key from "$from" -key contact "$contact" "$@" \
        > "$T_LOGS/$name.log" 2>&1 < /dev/null)
}

# in_udp NAME UAC_SCEN UAS_SCEN [CALLS] [UAS args...]: partner UAC (TLS leg)
# -> edge -> UDP -> SIPp UAS on UAS_PORT; both must succeed.
in_udp() {
    local n=$1 uac=$2 uas=$3 calls=${4:-1} rc
    shift 3; [ $# -gt 0 ] && shift
    udp_uas "$n-uas" "$uas" "$UAS_PORT" "sip:bob@127.0.0.1:$UAS_PORT" "$calls" "$@" ||
        { echo "$n: UAS did not start"; return 1; }
    sipp_uac "$n-uac" "$uac" "$PARTNER_PORT" "$UAC_PORT" "sip:bob@contoso.test" \
        "sip:alice@fabrikam.test" "sip:alice@127.0.0.1:$DR_PORT;transport=tls" "$calls" \
        -timeout 60; rc=$?
    echo "$n: UAC exit status $rc"
    if [ "$rc" -ne 0 ]; then stop "$n-uas"; _flow_explain "$n"; return 1; fi
    wait_exit "$n-uas" 10 || { echo "$n: UAS failed"; _flow_explain "$n"; return 1; }
}

topology
fedge_config "$T_TMP/fedge.ini"
sed -i 's/^transport = tcp$/transport = udp/' "$T_TMP/fedge.ini"
grep -q '^transport = udp$' "$T_TMP/fedge.ini" || { echo "config not rewritten"; exit 1; }
check "fedge serve starts with [internal] transport = udp" start_fedge "$T_TMP/fedge.ini" || finish
check "the internal side takes UDP and TCP on port $INT_PORT" \
    bash -c "$(declare -f udp_bound); udp_bound $INT_PORT && grep -q 'transport=udp' '$T_LOGS/fedge.log'"
check "partner TLS legs start" inbound_legs || finish

check "inbound MESSAGE reaches the internal SIPp UAS over UDP (Via UDP, rport)" \
    in_udp in-message message_uac.xml udp_message_uas.xml
check "inbound INVITE/180/200, ACK and BYE along the route set over UDP" \
    in_udp in-invite invite_uac.xml invite_uas.xml

# Lost datagrams: SIPp loses 20% of what it receives and sends (-lost):
# every MESSAGE must still get its 200, by the edge's retransmissions
# (Timer E); the UAS stays 16 s per call to answer them (udp_lossy_uas.xml).
lost_ok() {
    local rc lost again
    udp_uas in-lost-uas udp_lossy_uas.xml "$UAS_PORT" "sip:bob@127.0.0.1:$UAS_PORT" 20 -lost 20 ||
        return 1
    sipp_uac in-lost-uac message_uac.xml "$PARTNER_PORT" "$UAC_PORT" "sip:bob@contoso.test" \
        "sip:alice@fabrikam.test" "sip:alice@127.0.0.1:$DR_PORT;transport=tls" 20 -timeout 60; rc=$?
    echo "UAC exit status $rc"
    [ "$rc" -eq 0 ] || { stop in-lost-uas; _flow_explain in-lost; return 1; }
    wait_exit in-lost-uas 40 || { _flow_explain in-lost; return 1; }
    lost=$(grep -cE 'message (voluntary )?lost' "$T_LOGS/in-lost-uas.msg")
    again=$(grep -c '^MESSAGE sip:' "$T_LOGS/in-lost-uas.msg")
    echo "UAS: $lost datagrams lost, $again MESSAGE datagrams received for 20 calls"
    [ "$lost" -ge 1 ] && [ "$again" -gt 20 ]
}
check_out "20 MESSAGEs with 20% of the datagrams lost all get 200 (the edge retransmits)" lost_ok

# A request over 1300 bytes goes to the internal server over TCP (§18.1.1):
# a SIPp UAS over TCP on the same port number answers it.
big_ok() {
    sipp_uas in-big-uas tcp_big_uas.xml "$UAS_PORT" "sip:bob@127.0.0.1:$UAS_PORT;transport=tcp" ||
        return 1
    sipp_uac in-big-uac big_message_uac.xml "$PARTNER_PORT" "$UAC_PORT" "sip:bob@contoso.test" \
        "sip:alice@fabrikam.test" "sip:alice@127.0.0.1:$DR_PORT;transport=tls" 1 \
        -key bigbody "$(printf 'x%.0s' $(seq 1500))" || { stop in-big-uas; _flow_explain in-big; return 1; }
    wait_exit in-big-uas 10 || { _flow_explain in-big; return 1; }
}
check "a 1500-byte MESSAGE goes to the UDP next hop over TCP, Via TCP" big_ok

# Outbound: internal SIPp UAC over UDP (Via with rport) -> edge -> TLS ->
# partner UAS, which checks received/rport on the UAC's Via; the 200 must
# come back to the UAC's port.
stop partner-tls-in # the partner's edge port becomes the outbound leg's
check "partner edge leg starts" outbound_legs || finish
out_udp() {
    local rc
    sipp_uas out-uas rport_message_uas.xml "$PUAS_PORT" "sip:dave@127.0.0.1:$DR_PORT;transport=tls" ||
        return 1
    udp_uac out-uac udp_message_uac.xml "$INT_PORT" "$IUAC_PORT" "sip:dave@fabrikam.test" \
        "sip:carol@contoso.test" "sip:carol@127.0.0.1:$IUAC_PORT"; rc=$?
    echo "out: UAC exit status $rc"
    [ "$rc" -eq 0 ] || { stop out-uas; _flow_explain out; return 1; }
    wait_exit out-uas 10 || { _flow_explain out; return 1; }
}
check "outbound MESSAGE from a UDP client: received/rport added, 200 back to its port" out_udp

# Malformed datagrams: one with a readable Via is answered 400 to where it
# came from; garbage is dropped; the edge keeps serving.
bad_udp() {
    python3 - "$INT_PORT" <<'PY'
import socket, sys
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(3)
me = s.getsockname()[1]
s.sendto(b"\x16\x03\x01 not SIP at all\r\n\r\n", ("127.0.0.1", port))
bad = ("MESSAGE sip:bob@contoso.test SIP/2.0\r\n"
       "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-bad-1;rport\r\n"
       "From: <sip:carol@contoso.test>;tag=b1\r\nTo: <sip:bob@contoso.test>\r\n"
       "Call-ID: bad-1\r\nCSeq: one MESSAGE\r\nContent-Length: 0\r\n\r\n" % me)
s.sendto(bad.encode(), ("127.0.0.1", port))
data, src = s.recvfrom(65535)
line = data.split(b"\r\n", 1)[0]
print("answer:", line.decode(errors="replace"), "from", src)
sys.exit(0 if line.startswith(b"SIP/2.0 400") else 1)
PY
}
check_out "a malformed datagram with a readable Via gets 400; garbage is dropped" bad_udp
check "inbound MESSAGE over UDP still works after them" \
    in_udp in-message2 message_uac.xml udp_message_uas.xml

check "fedge still running" alive fedge

# Kamailio over UDP as the internal server: the edge's next hop is the
# organization's Kamailio (tests/e2e/kamailio-internal-udp.cfg), which sends
# contoso.test users' requests to the SIPp UAS and the rest to the edge,
# all over UDP.
KPORT=$(free_port)
kam_udp() {
    local run=$T_TMP/k.run
    mkdir -p "$run"
    start_bg kamailio kamailio -f "$E2E_DIR/kamailio-internal-udp.cfg" -DD -E -Y "$run" -m 64 -M 8 \
        -l "udp:127.0.0.1:$KPORT" -A "USERS=\"sip:127.0.0.1:$UAS_PORT\"" \
        -A "EDGE=\"sip:127.0.0.1:$INT_PORT\""
    wait_for "udp_bound $KPORT" 10 || { show kamailio; return 1; }
}
check "fedge stops" stop fedge
sed "s/^next_hop = .*/next_hop = 127.0.0.1:$KPORT/; s#^store = .*#store = $T_TMP/fedge2.db#" \
    "$T_TMP/fedge.ini" > "$T_TMP/fedge2.ini"
check "Kamailio starts on UDP port $KPORT" kam_udp || finish
check "fedge starts with Kamailio (UDP) as its next hop" start_fedge "$T_TMP/fedge2.ini" fedge2 || finish
check "inbound MESSAGE: partner -> edge -> UDP -> Kamailio -> UDP -> UAS" \
    in_udp k-message message_uac.xml message_uas.xml
check "inbound INVITE/180/200, ACK and BYE through Kamailio over UDP" \
    in_udp k-invite invite_uac.xml invite_uas.xml
k_out() {
    local rc
    sipp_uas k-out-uas message_uas.xml "$PUAS_PORT" "sip:dave@127.0.0.1:$DR_PORT;transport=tls" ||
        return 1
    udp_uac k-out-uac udp_message_uac.xml "$KPORT" "$IUAC_PORT" "sip:dave@fabrikam.test" \
        "sip:carol@contoso.test" "sip:carol@127.0.0.1:$IUAC_PORT"; rc=$?
    echo "k-out: UAC exit status $rc"
    [ "$rc" -eq 0 ] || { stop k-out-uas; _flow_explain k-out; return 1; }
    wait_exit k-out-uas 10 || { _flow_explain k-out; return 1; }
}
check "outbound MESSAGE: UAC -> UDP -> Kamailio -> UDP -> edge -> TLS -> partner" k_out
check "  it reached the edge from Kamailio's UDP port (the edge's log)" \
    grep -q "request forwarded peer=127.0.0.1:$KPORT from=internal to=external" "$T_LOGS/fedge2.log"
check "fedge and Kamailio still running" bash -c "kill -0 $(pid_of fedge2) && kill -0 $(pid_of kamailio)"
finish
