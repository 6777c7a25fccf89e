#!/bin/bash
# 042-dns-weights: dns-srv routing (the default) with real dnsmasq data:
# - the standard outbound flows (MESSAGE, OPTIONS, INVITE dialog with ACK
#   and BYE, CANCEL, SUBSCRIBE/NOTIFY) to a partner found by SRV, whose
#   Contact is an IP address (in-dialog requests reuse the verified
#   connection);
# - RFC 2782 weights 60/30/10 hold over 1,000 requests within 5 standard
#   deviations (counted at each partner UAS);
# - a partner renumbers (dnsmasq restarted with a new A record): the new
#   address is used once the old record's TTL ran out, without a restart.
. "$(dirname "$0")/lib.sh"
DR="python3 $E2E_DIR/dnsroute.py"
topology
gen() { "$FEDGE_ROOT/scripts/gen-certs" "$PKI" "$@" > /dev/null; }
gen multi2.partners.test "DNS:multi2.partners.test,URI:sip:weights.test,URI:sip:renum.test" both valid ca

# edge NAME IP PORT CERT BACKEND: stunnel server (see 041-dns-routing.sh)
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

P=$(free_port)
UA=$(free_port); UB=$(free_port); UC=$(free_port); UO=$(free_port); UN=$(free_port)
COUNTS=$T_TMP/counts.json
start_bg uas $DR uas --ports "$UA,$UB,$UC,$UO,$UN" --counts "$COUNTS"
check "partner UASs listen" wait_listen "$UN" 10 "$BG_PID"
count() { python3 -c "import json,sys; print(json.load(open('$COUNTS'))[sys.argv[1]])" "$1"; }
check "weights.test edge wa on 127.0.0.8" edge wa 127.0.0.8 "$P" multi2.partners.test "$UA"
check "weights.test edge wb on 127.0.0.9" edge wb 127.0.0.9 "$P" multi2.partners.test "$UB"
check "weights.test edge wc on 127.0.0.10" edge wc 127.0.0.10 "$P" multi2.partners.test "$UC"
check "renum.test old edge on 127.0.0.11" edge rold 127.0.0.11 "$P" multi2.partners.test "$UO"
check "renum.test new edge on 127.0.0.12" edge rnew 127.0.0.12 "$P" multi2.partners.test "$UN"
# the standard partner edge (edge.fabrikam.test, sip:fabrikam.test) on DR_PORT
check "fabrikam.test edge (stunnel on $DR_PORT)" outbound_legs || finish

DNS_PORT=$(free_port)
dnsmasq_start() { # A record of edge.renum.test
    dns_start "dnsmasq-$1" "$DNS_PORT" 2 \
        --srv-host=_sipfederationtls._tcp.fabrikam.test,edge.fabrikam.test,"$DR_PORT",10,10 \
        --host-record=edge.fabrikam.test,127.0.0.1,60 \
        --srv-host=_sipfederationtls._tcp.weights.test,wa.weights.test,"$P",10,60 \
        --srv-host=_sipfederationtls._tcp.weights.test,wb.weights.test,"$P",10,30 \
        --srv-host=_sipfederationtls._tcp.weights.test,wc.weights.test,"$P",10,10 \
        --host-record=wa.weights.test,127.0.0.8,60 --host-record=wb.weights.test,127.0.0.9,60 \
        --host-record=wc.weights.test,127.0.0.10,60 \
        --srv-host=_sipfederationtls._tcp.renum.test,edge.renum.test,"$P",10,10 \
        --host-record=edge.renum.test,"$1",2
}
check "dnsmasq answers (edge.renum.test = 127.0.0.11, TTL 2 s)" dnsmasq_start 127.0.0.11 ||
    { show dnsmasq-127.0.0.11; finish; }

CFG=$T_TMP/fedge.ini
fedge_config "$CFG"
sed -i '/^routing = /d; /^default_route = /d' "$CFG"
printf '\n[dns]\nservers = 127.0.0.1:%s\ntimeout = 300ms\ntries = 2\n' "$DNS_PORT" >> "$CFG"
for d in fabrikam.test weights.test renum.test; do
    "$FEDGE_BIN" domain allow "$d" -c "$CFG" > /dev/null
done
FEDGE_NO_PARTNER=1
check "fedge serve starts (dns-srv routing by default)" start_fedge "$CFG" || finish

# ---- the standard flows to a partner found by SRV
check "SRV: outbound MESSAGE gets 200 from the partner UAS" \
    outbound_flow srv-message message_uac.xml message_uas.xml
check "SRV: outbound OPTIONS to a partner user gets 200" \
    outbound_flow srv-options options_uac.xml options_uas.xml
check "SRV: INVITE/180/200 (Record-Route), ACK and BYE along the route set" \
    outbound_flow srv-invite invite_uac.xml invite_uas.xml
check "SRV: CANCEL: 200 for the CANCEL, 487 for the INVITE, ACK" \
    outbound_flow srv-cancel cancel_uac.xml cancel_uas.xml
check "SRV: SUBSCRIBE/NOTIFY, un-SUBSCRIBE and final NOTIFY" \
    outbound_flow srv-subscribe subscribe_uac.xml subscribe_uas.xml

js() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if ($2) else 1)" "$1" || { echo "$1"; return 1; }; }
send() { $DR send --port "$INT_PORT" --ruri "$1" --count "${2:-1}" --window "${3:-20}" --timeout 60; }

# ---- weights over 1,000 requests
r=$(send sip:bob@weights.test 1000 20); echo "weights: $r" >> "$T_LOGS/checks.log"
check "weights.test: 1000 MESSAGEs answered 200" js "$r" 'd["status"] == {"200": 1000}'
a=$(count "$UA"); b=$(count "$UB"); c=$(count "$UC")
note "weights 60/30/10 over 1000 requests: $a / $b / $c"
# binomial, n = 1000: sd 15.5 / 14.5 / 9.5; 5 sd either side
check "weight 60: $a in [522, 678]" test "$a" -ge 522 -a "$a" -le 678
check "weight 30: $b in [228, 372]" test "$b" -ge 228 -a "$b" -le 372
check "weight 10: $c in [53, 147]" test "$c" -ge 53 -a "$c" -le 147
check "every request counted once: $a + $b + $c = 1000" test $((a + b + c)) -eq 1000

# ---- renumbering: the new A record is used after the old one's TTL
r=$(send sip:bob@renum.test 5 1); echo "renum before: $r" >> "$T_LOGS/checks.log"
check "renum.test: before the change, 127.0.0.11 takes the requests" \
    sh -c "[ $(count "$UO") -eq 5 ] && [ $(count "$UN") -eq 0 ]"
stop dnsmasq-127.0.0.11
check "dnsmasq restarted: edge.renum.test = 127.0.0.12" dnsmasq_start 127.0.0.12
sleep 2.5 # time, not a state: the old answers' TTL (2 s) runs out
r=$(send sip:bob@renum.test 5 1); echo "renum after: $r" >> "$T_LOGS/checks.log"
check "renum.test: after the TTL, 127.0.0.12 takes the requests (no restart of fedge)" \
    sh -c "[ $(count "$UN") -eq 5 ] && [ $(count "$UO") -eq 5 ]"
check "fedge still running, never restarted" sh -c "[ \$(grep -c 'fedge serve started' '$T_LOGS/fedge.log') -eq 1 ]"
check "fedge still running" alive fedge
finish
