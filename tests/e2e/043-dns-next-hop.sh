#!/bin/bash
# 043-dns-next-hop: an internal next_hop given as a name without a port is
# resolved by SRV (_sip._tcp for a tcp internal side), then its targets in
# order with failover: inbound MESSAGE and INVITE dialog from the partner
# reach the internal SIPp UAS behind a dead first SRV target; with every
# target dead the partner gets 504 naming them.
. "$(dirname "$0")/lib.sh"
topology
DEAD=$(free_port)
DNS_PORT=$(free_port)
check "dnsmasq answers" dns_start dnsmasq "$DNS_PORT" 60 \
    --srv-host=_sip._tcp.pool.contoso.test,fe1.contoso.test,"$DEAD",10,10 \
    --srv-host=_sip._tcp.pool.contoso.test,fe2.contoso.test,"$UAS_PORT",20,10 \
    --host-record=fe1.contoso.test,127.0.0.1 --host-record=fe2.contoso.test,127.0.0.1 \
    --srv-host=_sip._tcp.deadpool.contoso.test,fe1.contoso.test,"$DEAD",10,10 || { show dnsmasq; finish; }

CFG=$T_TMP/fedge.ini
fedge_config "$CFG"
sed -i "s/^next_hop = .*/next_hop = pool.contoso.test/" "$CFG"
printf '\n[dns]\nservers = 127.0.0.1:%s\ntimeout = 300ms\ntries = 2\n' "$DNS_PORT" >> "$CFG"
check "config: next_hop is a name without a port" grep -qx 'next_hop = pool.contoso.test' "$CFG"
check "fedge serve starts" start_fedge "$CFG" || finish
check "partner legs (stunnel client and server) start" inbound_legs || finish

check "inbound MESSAGE reaches the UAS at the second SRV target of pool.contoso.test" \
    inbound_flow hop-message message_uac.xml message_uas.xml
check "the dead first target was tried and logged" \
    grep -q "next hop failed.*next_hop=fe1.contoso.test" "$T_LOGS/fedge.log"
check "inbound INVITE/180/200, ACK and BYE through the SRV-found next hop" \
    inbound_flow hop-invite invite_uac.xml invite_uas.xml

# every target dead: 504 naming them (a second fedge with another pool)
CFG2=$T_TMP/fedge2.ini
EXT1=$EXT_PORT INT1=$INT_PORT
EXT_PORT=$(free_port); INT_PORT=$(free_port); ADMIN_PORT=$(free_port)
fedge_config "$CFG2"
sed -i "s/^next_hop = .*/next_hop = deadpool.contoso.test/; s#^store = .*#store = $T_TMP/fedge2.db#" "$CFG2"
printf '\n[dns]\nservers = 127.0.0.1:%s\ntimeout = 300ms\ntries = 2\n' "$DNS_PORT" >> "$CFG2"
check "second fedge (next_hop deadpool.contoso.test) starts" start_fedge "$CFG2" fedge2 || finish
P2=$(free_port)
check "partner stunnel client to the second fedge" stunnel_client partner2 "$P2" "$EXT_PORT" edge.fabrikam.test
mk_sip "$T_TMP/msg.sip" <<EOF
MESSAGE sip:bob@contoso.test SIP/2.0
Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK-hop-1
Max-Forwards: 70
From: <sip:alice@fabrikam.test>;tag=a1
To: <sip:bob@contoso.test>
Call-ID: hop-dead-1@fabrikam.test
CSeq: 1 MESSAGE
Content-Type: text/plain
Content-Length: @CL@

hi
EOF
resp=$(python3 - "$P2" "$T_TMP/msg.sip" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(open(sys.argv[2], "rb").read())
buf = b""; end = time.time() + 10
while time.time() < end:
    d = s.recv(65536)
    if not d: break
    buf += d
    for block in buf.split(b"\r\n\r\n"):
        if block.startswith(b"SIP/2.0 5") or block.startswith(b"SIP/2.0 2") or block.startswith(b"SIP/2.0 4"):
            print(block.decode(errors="replace")); sys.exit(0)
print(buf.decode(errors="replace"))
PY
)
echo "$resp" >> "$T_LOGS/checks.log"
check "every next-hop target dead: the partner gets 504, told nothing of the inside" \
    sh -c "printf '%s' \"\$1\" | grep -q '^SIP/2.0 504' && printf '%s' \"\$1\" | grep -q 'Warning: 399 edge.contoso.test \"no internal server available\"' && ! printf '%s' \"\$1\" | grep -q fe1.contoso" _ "$resp"
check "the log names the target and why" \
    grep -q "no usable target.*no usable next hop for deadpool.contoso.test: fe1.contoso.test:$DEAD connect to 127.0.0.1:$DEAD failed: connection refused" "$T_LOGS/fedge2.log"
check "fedge still running" alive fedge
check "fedge2 still running" alive fedge2
finish
