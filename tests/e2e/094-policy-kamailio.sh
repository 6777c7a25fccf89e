#!/bin/bash
# 094-policy-kamailio: a third-party partner edge — Kamailio (Debian
# kamailio + kamailio-tls-modules, bench/kamailio-edge.cfg) presenting
# edge.northwind.test — federating with fedge edge A (contoso.test), both
# directions, as an allowed domain (northwind.test verified / routed by its
# DNS SRV record) and as an allowed partner server (--proxy-fqdn
# edge.northwind.test: no SRV needed, routed by its A record to port 5061).
# One Kamailio K ($NW_IP:5061 TLS, a TCP port for its users) runs
# bench/kamailio-edge.cfg with one change: requests for contoso.test go to
# edge A (TLS), everything else to northwind's own server.
#   inbound:  northwind user (TCP) -> K -> TLS -> edge A -> carol
#   outbound: carol -> edge A -> TLS -> K -> northwind's server (a UAS
#             recording what it gets)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/policy_lib.sh"

# a loopback address of this run for K2 on the SIP-over-TLS port 5061
NW_IP=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 2)).3 NW_PORT=5061
check "dnsmasq, two UASs and two edges start" pol_start || finish
UN=$(free_port) KTCP=$(free_port)
start_bg uas-n $POLSIP uas --port "$UN" --log "$T_LOGS/uas-n.jsonl"
check "northwind's server listens" wait_listen "$UN" 5 "$BG_PID"

kam() {
    local run=$T_TMP/k.run
    mkdir -p "$run"
    sed "s#@PKI@#$PKI#g; s#edge\.contoso\.test#edge.northwind.test#g" \
        "$FEDGE_ROOT/bench/kamailio-tls.cfg" > "$run/tls.cfg"
    grep -q '^	\$du = NEXT_HOP;$' "$FEDGE_ROOT/bench/kamailio-edge.cfg" || return 1
    sed 's/^	\$du = NEXT_HOP;$/	if ($rd == "contoso.test") { $du = CONTOSO_EDGE; } else { $du = NEXT_HOP; }/' \
        "$FEDGE_ROOT/bench/kamailio-edge.cfg" > "$run/kamailio.cfg"
    start_bg k kamailio -f "$run/kamailio.cfg" -DD -E -Y "$run" -m 64 -M 8 \
        -l "tls:$NW_IP:5061" -l "tcp:127.0.0.1:$KTCP" \
        -A "NEXT_HOP=\"sip:127.0.0.1:$UN;transport=tcp\"" \
        -A "CONTOSO_EDGE=\"sip:127.0.0.1:$EA;transport=tls\"" -A "TLS_CFG=\"$run/tls.cfg\""
    wait_listen "$KTCP" 10 "$BG_PID" || { show k; return 1; }
}
check "Kamailio (northwind's edge, $NW_IP:5061) starts" kam || finish
check "A: routing dns-srv (the store's setting)" A edge set --routing dns-srv

nw_in() { # CALL_ID EXPECT...
    local id=$1; shift
    local exp=()
    for e in "$@"; do exp+=(--expect "$e"); done
    $POLSIP send --port "$KTCP" --from sip:erin@northwind.test --ruri sip:carol@contoso.test \
        --call-id "$id" "${exp[@]}"
}

note "allowed domain northwind.test"
check "A: allow domain northwind.test" A domain allow northwind.test
settle
check "inbound Kamailio -> fedge: 200" nw_in k-in-domain 200
check "  carol got it, Kamailio verified by DNS SRV: trust AutoFederation" \
    seen_a k-in-domain --count ms-edge-proxy-message-trust=1 \
    --match 'ms-edge-proxy-message-trust=^ms-source-type=AutoFederation;ms-ep-fqdn=edge.contoso.test;'
check "  it came through Kamailio (its Record-Route)" \
    seen_a k-in-domain --match "Record-Route=$NW_IP|127.0.0.1:$KTCP"
check "outbound fedge -> Kamailio by SRV: 200" \
    out carol sip:frank@northwind.test 200 -- --call-id k-out-domain
check "  northwind's server got it through Kamailio" \
    $POLSIP seen --log "$T_LOGS/uas-n.jsonl" --call-id k-out-domain --match "Record-Route=$NW_IP"

note "allowed partner server northwind.test (edge.northwind.test)"
check "A: northwind.test becomes a partner server" \
    A domain allow northwind.test --proxy-fqdn edge.northwind.test --replace
settle
check "inbound Kamailio -> fedge: 200" nw_in k-in-server 200
check "  carol got it: trust DirectPartner" \
    seen_a k-in-server --match 'ms-edge-proxy-message-trust=^ms-source-type=DirectPartner;'
check "outbound fedge -> Kamailio by its A record, port 5061: 200" \
    out carol sip:frank@northwind.test 200 -- --call-id k-out-server
check "  northwind's server got it" $POLSIP seen --log "$T_LOGS/uas-n.jsonl" --call-id k-out-server

note "and refused"
check "A: block northwind.test" sh -c "'$FEDGE_BIN' domain remove northwind.test -c '$CA' >/dev/null && '$FEDGE_BIN' domain block northwind.test -c '$CA' >/dev/null"
settle
check "inbound from Kamailio: 403 1012 (public form, relayed by Kamailio)" nw_in k-in-blocked 403:1012:public
check "outbound to Kamailio: 403 1012 (internal)" out carol sip:frank@northwind.test 403:1012:internal
check "Kamailio alive" alive k
check "edge A alive" alive edge-a
finish
