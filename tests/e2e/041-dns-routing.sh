#!/bin/bash
# 041-dns-routing: [federation] routing = dns-srv against a real dnsmasq and
# real partner edges (stunnel servers on 127.0.0.2, .3, ... presenting test
# certificates, in front of plain-TCP UASs that count what they receive):
# discovery by SRV priority; failover when the first edge is down, refuses
# TLS, or presents a certificate that does not name it (each with its
# reason in the 504 Warning when nothing is left); failed targets skipped,
# then used again after [federation] failed_target_skip; an SRV target
# outside the domain refused with its diagnostic; a DNS timeout answered 504
# in bounded time while other traffic flows; a 40-target SRV set (a TCP
# answer) resolved completely; an edge that accepts TLS but never answers
# left for the next one after 8 s (16 x T1).
. "$(dirname "$0")/lib.sh"
DR="python3 $E2E_DIR/dnsroute.py"
topology

# ---------------------------------------------------------------- PKI
# Lync-style edge certificates name only the edge host; "multi" is a
# partner-domain certificate (sip: URIs, RFC 5922) for several test domains.
gen() { "$FEDGE_ROOT/scripts/gen-certs" "$PKI" "$@" > /dev/null; }
gen edge1.fabrikam.test "DNS:edge1.fabrikam.test" both valid ca
gen edge2.fabrikam.test "DNS:edge2.fabrikam.test" both valid ca
gen edge.attacker.test "DNS:edge.attacker.test" both valid ca
gen multi.partners.test \
    "DNS:multi.partners.test,URI:sip:tlsbad.test,URI:sip:wrongcert.test,URI:sip:big.test" both valid ca
gen silent.partners.test "DNS:silent.partners.test,URI:sip:silent.test" both valid ca

# ---------------------------------------------------------------- partners
# edge IP PORT CERT BACKEND: stunnel server on IP:PORT presenting CERT,
# requiring our client certificate (edge.contoso.test), to 127.0.0.1:BACKEND.
edge() {
    local name=$1 ip=$2 port=$3 cert=$4 back=$5 f=$T_TMP/$1.conf
    {
        echo "foreground = yes"; echo "pid ="; echo "syslog = no"; echo "debug = info"
        echo "[$name]"; echo "accept = $ip:$port"; echo "connect = 127.0.0.1:$back"
        echo "cert = $PKI/$cert.crt"; echo "key = $PKI/$cert.key"
        echo "CAfile = $PKI/ca.crt"; echo "verifyChain = yes"; echo "requireCert = yes"
        echo "checkHost = edge.contoso.test"; echo "sslVersionMin = TLSv1.2"
    } > "$f"
    start_bg "$name" stunnel "$f"
    wait_for "ss -ltn 'sport = :$port' 2>/dev/null | grep -q '$ip:$port'" 5 || { show "$name"; return 1; }
}

P=$(free_port)           # every partner edge listens on this port, own IP
U1=$(free_port); U2=$(free_port); UM=$(free_port); UA=$(free_port); UW=$(free_port)
US=$(free_port); SILENT=$(free_port)
DEAD=$(free_port)        # nothing listens there
COUNTS=$T_TMP/counts.json
start_bg uas $DR uas --ports "$U1,$U2,$UM,$UA,$UW,$US" --counts "$COUNTS"
check "partner UASs listen" wait_listen "$US" 10 "$BG_PID"
# a SIP server that reads and never answers
start_bg silent python3 -c "
import socket, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $SILENT)); s.listen(16)
def drain(c):
    while c.recv(65536): pass
while True:
    c, _ = s.accept(); threading.Thread(target=drain, args=(c,), daemon=True).start()"
check "silent SIP server listens" wait_listen "$SILENT" 10 "$BG_PID"
check "silent.test: edge1 (never answers) on 127.0.0.8" edge silent1 127.0.0.8 "$P" silent.partners.test "$SILENT"
check "silent.test: edge2 on 127.0.0.9" edge silent2 127.0.0.9 "$P" silent.partners.test "$US"
check "edge1.fabrikam.test on 127.0.0.2" edge edge1 127.0.0.2 "$P" edge1.fabrikam.test "$U1"
check "edge2.fabrikam.test on 127.0.0.3" edge edge2 127.0.0.3 "$P" edge2.fabrikam.test "$U2"
check "multi-domain partner edge on 127.0.0.5" edge multi 127.0.0.5 "$P" multi.partners.test "$UM"
check "attacker's edge on 127.0.0.7" edge attacker 127.0.0.7 "$P" edge.attacker.test "$UA"
check "wrong-certificate edge on 127.0.0.6" edge wrong 127.0.0.6 "$P" edge2.fabrikam.test "$UW"
# tlsbad's first edge speaks no TLS: accepts and sends plain text
start_bg notls python3 -c "
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.4', $P)); s.listen(16); print('bound', flush=True)
while True:
    c, _ = s.accept(); c.sendall(b'SIP/2.0 400 not TLS\r\n\r\n'); c.close()"
bound() { wait_for "grep -q bound '$T_LOGS/$1.log'" 5; }
check "plain-TCP (no TLS) edge on 127.0.0.4" bound notls

count() { python3 -c "import json,sys; print(json.load(open('$COUNTS'))[sys.argv[1]])" "$1"; }

# ---------------------------------------------------------------- DNS
DNS_PORT=$(free_port); HOLE=$(free_port)
start_bg blackhole python3 -c "
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', $HOLE))
print('bound', flush=True)
while True:
    s.recv(512); print('query', flush=True)"
BIG=()
for i in $(seq 1 39); do
    BIG+=(--srv-host=_sipfederationtls._tcp.big.test,dead$i.big.test,"$DEAD",$i,1
          --host-record=dead$i.big.test,127.0.0.13)
done
check "dnsmasq answers" dns_start dnsmasq "$DNS_PORT" 60 --server=/slow.test/127.0.0.1#"$HOLE" \
    --srv-host=_sipfederationtls._tcp.fabrikam.test,edge1.fabrikam.test,"$P",10,10 \
    --srv-host=_sipfederationtls._tcp.fabrikam.test,edge2.fabrikam.test,"$P",20,10 \
    --host-record=edge1.fabrikam.test,127.0.0.2 --host-record=edge2.fabrikam.test,127.0.0.3 \
    --srv-host=_sipfederationtls._tcp.tlsbad.test,edge1.tlsbad.test,"$P",10,10 \
    --srv-host=_sipfederationtls._tcp.tlsbad.test,edge2.tlsbad.test,"$P",20,10 \
    --host-record=edge1.tlsbad.test,127.0.0.4 --host-record=edge2.tlsbad.test,127.0.0.5 \
    --srv-host=_sipfederationtls._tcp.wrongcert.test,edge1.wrongcert.test,"$P",10,10 \
    --srv-host=_sipfederationtls._tcp.wrongcert.test,edge2.wrongcert.test,"$P",20,10 \
    --host-record=edge1.wrongcert.test,127.0.0.6 --host-record=edge2.wrongcert.test,127.0.0.5 \
    --srv-host=_sipfederationtls._tcp.outside.test,edge.attacker.test,"$P",10,10 \
    --srv-host=_sipfederationtls._tcp.silent.test,edge1.silent.test,"$P",10,10 \
    --srv-host=_sipfederationtls._tcp.silent.test,edge2.silent.test,"$P",20,10 \
    --host-record=edge1.silent.test,127.0.0.8 --host-record=edge2.silent.test,127.0.0.9 \
    --host-record=edge.attacker.test,127.0.0.7 \
    "${BIG[@]}" \
    --srv-host=_sipfederationtls._tcp.big.test,last.big.test,"$P",40,1 \
    --host-record=last.big.test,127.0.0.5 || { show dnsmasq; finish; }

# ---------------------------------------------------------------- fedge
CFG=$T_TMP/fedge.ini
fedge_config "$CFG"
# dns-srv is the default: no routing line, no default route
sed -i '/^routing = /d; /^default_route = /d' "$CFG"
sed -i 's/^\[federation\]$/[federation]\nfailed_target_skip = 3s/' "$CFG"
printf '\n[dns]\nservers = 127.0.0.1:%s\ntimeout = 300ms\ntries = 2\n' "$DNS_PORT" >> "$CFG"
check "config has no routing line (dns-srv by default)" sh -c "! grep -q '^routing' '$CFG'"
# the partner domains are allowed domains: discovered by DNS SRV
for d in fabrikam.test tlsbad.test wrongcert.test outside.test slow.test x.slow.test big.test silent.test; do
    "$FEDGE_BIN" domain allow "$d" -c "$CFG" > /dev/null
done
FEDGE_NO_PARTNER=1
check "fedge serve starts" start_fedge "$CFG" || { finish; }

send() { # RURI COUNT [WINDOW] -> JSON on stdout
    $DR send --port "$INT_PORT" --ruri "$1" --count "${2:-1}" --window "${3:-20}" --timeout 20
}
js() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if ($2) else 1)" "$1" || { echo "$1"; return 1; }; }
# jsc JSON EXPR PORT N: js, and the UAS on PORT has counted N requests
jsc() { js "$1" "$2" && [ "$(count "$3")" -eq "$4" ] || { echo "count of $3: $(count "$3"), want $4"; return 1; }; }

# ---- discovery: the priority-10 edge takes everything
r=$(send sip:bob@fabrikam.test 20); echo "discovery: $r" >> "$T_LOGS/checks.log"
check "fabrikam.test: 20 MESSAGEs answered 200" js "$r" 'd["status"] == {"200": 20}'
check "fabrikam.test: all went to edge1 (priority 10), none to edge2" \
    sh -c "[ $(count "$U1") -eq 20 ] && [ $(count "$U2") -eq 0 ]"

# ---- failover: edge1 down -> edge2, and edge1 is skipped afterwards
stop edge1
r=$(send sip:bob@fabrikam.test 10 1); echo "edge1 down: $r" >> "$T_LOGS/checks.log"
check "edge1 down: 10 MESSAGEs answered 200 through edge2" \
    jsc "$r" 'd["status"] == {"200": 10}' "$U2" 10
check "edge1 down: the failover is logged with the reason" \
    grep -q 'next hop failed.*refused' "$T_LOGS/fedge.log"
n_fail=$(grep -c 'next hop failed' "$T_LOGS/fedge.log")
check "edge1 down: tried once, then skipped (3s) for the later requests" test "$n_fail" -eq 1
# both down: 504 naming both edges and why
stop edge2
r=$(send sip:bob@fabrikam.test 1); echo "both down: $r" >> "$T_LOGS/checks.log"
check_out "both edges down: 504 with a Warning naming what was tried and why" js "$r" \
    'd["status"] == {"504": 1} and "no usable edge for fabrikam.test: edge1.fabrikam.test:'"$P"' " in d["warnings"][0] and "; edge2.fabrikam.test:'"$P"' connect to 127.0.0.3:'"$P"' failed: connection refused" in d["warnings"][0]'
# recovery: edges back; after the skip time edge1 takes the traffic again
edge edge1b 127.0.0.2 "$P" edge1.fabrikam.test "$U1"
edge edge2b 127.0.0.3 "$P" edge2.fabrikam.test "$U2"
before1=$(count "$U1")
sleep 3.2 # time, not a state: failed_target_skip (3 s) must run out
r=$(send sip:bob@fabrikam.test 5 1); echo "recovered: $r" >> "$T_LOGS/checks.log"
check "recovery after failed_target_skip: edge1 takes the traffic again" \
    jsc "$r" 'd["status"] == {"200": 5}' "$U1" $((before1 + 5))

# ---- failover: the first edge does not speak TLS
r=$(send sip:bob@tlsbad.test 3 1); echo "tlsbad: $r" >> "$T_LOGS/checks.log"
m0=$(count "$UM")
check "tlsbad.test: TLS failure on edge1 -> edge2 answers 200" js "$r" 'd["status"] == {"200": 3}'
check "tlsbad.test: the TLS failure is logged" grep -Eq 'next hop failed.*(handshake|TLS|tls|wrong version|packet length)' "$T_LOGS/fedge.log"

# ---- failover: the first edge's certificate names neither the domain nor it
r=$(send sip:bob@wrongcert.test 3 1); echo "wrongcert: $r" >> "$T_LOGS/checks.log"
check "wrongcert.test: certificate refused on edge1 -> edge2 answers 200" \
    jsc "$r" 'd["status"] == {"200": 3}' "$UM" $((m0 + 3))
check "wrongcert.test: nothing reached the wrong edge's UAS" test "$(count "$UW")" -eq 0
check "wrongcert.test: refusal logged with the rule" \
    grep -q 'server certificate refused.*certificate does not name wrongcert.test or edge1.wrongcert.test' "$T_LOGS/fedge.log"

# ---- the first edge accepts TLS but never answers: the next one after 8 s
r=$(send sip:bob@silent.test 1); echo "silent: $r" >> "$T_LOGS/checks.log"
check_out "silent.test: no response from edge1 -> edge2 answers 200 after about 8 s" \
    jsc "$r" 'd["status"] == {"200": 1} and 7500 < d["max_ms"] < 12000' "$US" 1
check "silent.test: logged as no response within 8 s" \
    grep -q 'next hop failed.*next_hop=edge1.silent.test.*no response within 8 s' "$T_LOGS/fedge.log"

# ---- an SRV target outside the domain: refused with its diagnostic
r=$(send sip:bob@outside.test 1); echo "outside: $r" >> "$T_LOGS/checks.log"
check_out "outside.test: 504, the certificate of edge.attacker.test is refused" js "$r" \
    'd["status"] == {"504": 1} and "edge.attacker.test:'"$P"' certificate does not name outside.test, and edge.attacker.test is outside outside.test" in d["warnings"][0]'
check "outside.test: nothing reached the attacker's UAS" test "$(count "$UA")" -eq 0

# ---- DNS timeout: 504 in bounded time while other traffic flows
q0=$(grep -c '^query' "$T_LOGS/blackhole.log")
(send sip:bob@slow.test 1 > "$T_TMP/slow.json") &
slow_pid=$!
check "the slow.test query is out (the silent DNS server got it)" \
    wait_for "[ \$(grep -c '^query' '$T_LOGS/blackhole.log') -gt $q0 ]" 5
r=$(send sip:bob@fabrikam.test 20 5); echo "during DNS timeout: $r" >> "$T_LOGS/checks.log"
check "during a DNS timeout: other traffic answered 200 within 1 s each" \
    js "$r" 'd["status"] == {"200": 20} and d["max_ms"] < 1000'
wait "$slow_pid"
r=$(cat "$T_TMP/slow.json"); echo "slow: $r" >> "$T_LOGS/checks.log"
check_out "slow.test (DNS server never answers): 504 within 5 s naming the DNS failure" js "$r" \
    'd["status"] == {"504": 1} and d["max_ms"] < 5000 and "_sipfederationtls._tcp.slow.test" in d["warnings"][0]'

# ---- a CANCEL while the SRV look-up still runs: 487 once it ends, nothing sent
r=$($DR cancel --port "$INT_PORT" --ruri sip:bob@x.slow.test --delay 0.1); echo "cancel during DNS: $r" >> "$T_LOGS/checks.log"
check_out "CANCEL during a DNS look-up: 200 for the CANCEL, 487 for the INVITE within 5 s" \
    js "$r" 'd["cancel"] == 200 and d["invite"] == 487 and d["ms"] < 5000'

# ---- 40 SRV targets (more than a 512-byte UDP answer): the 40th is used
m0=$(count "$UM")
r=$(send sip:bob@big.test 1); echo "big: $r" >> "$T_LOGS/checks.log"
check_out "big.test: 39 dead targets tried in order, the 40th answers 200" \
    jsc "$r" 'd["status"] == {"200": 1}' "$UM" $((m0 + 1))
check "big.test: every dead target was tried in order (39 failures logged)" \
    test "$(grep -c 'next hop failed.*next_hop=dead[0-9]*\.big\.test' "$T_LOGS/fedge.log")" -eq 39
r=$(send sip:bob@big.test 1); echo "big again: $r" >> "$T_LOGS/checks.log"
check "big.test again: the 39 failed targets are skipped, 200 at once" \
    js "$r" 'd["status"] == {"200": 1} and d["max_ms"] < 500'

check "fedge still running" alive fedge
finish
