# policy_lib.sh — the two-edge topology of the federation policy tests
# (tests/e2e/09x-policy-*.sh), sourced after lib.sh:
#
#   alice/carol (policy_sip.py send, TCP) -> edge A  edge.contoso.test
#        ext 127.0.0.1:$EA (mutual TLS), int $IA (TCP), next hop UAS $UA
#   bob/dave behind edge B  edge.fabrikam.test
#        ext 127.0.0.1:$EB, int $IB (TCP), next hop UAS $UB
#   A's default route is B's external port and B's is A's (default-route
#   routing); both ask dnsmasq on $DNS_PORT, which publishes
#     _sipfederationtls._tcp.contoso.test  -> edge.contoso.test:$EA
#     _sipfederationtls._tcp.fabrikam.test -> edge.fabrikam.test:$EB
#     _sipfederationtls._tcp.northwind.test -> edge.northwind.test:$EN
#       (edge.northwind.test: 127.0.0.1, or $NW_IP:$NW_PORT when set)
#     _sipfederationtls._tcp.adatum.test   -> edge.adatum.test:$EN
#     _sipfederationtls._tcp.litware.test  -> edge.litware.test (nobody's)
#     dnsfail.test                         -> a server that never answers
#   The UASs record every request they get in $T_LOGS/uas-a.jsonl /
#   uas-b.jsonl (policy_sip.py seen reads them); A's answers 404 to users
#   whose name starts with "nobody" (enumeration), everyone else 200.
# Both stores start empty (FEDGE_NO_PARTNER): each test allows what it needs
# with A / B (`fedge ... -c` of that edge).

POLSIP="python3 $E2E_DIR/policy_sip.py"
"$FEDGE_ROOT/scripts/gen-certs" "$PKI" edge.northwind.test \
    "DNS:edge.northwind.test,URI:sip:northwind.test" >/dev/null
"$FEDGE_ROOT/scripts/gen-certs" "$PKI" edge.adatum.test \
    "DNS:edge.adatum.test,URI:sip:adatum.test" >/dev/null

pol_topology() {
    EA=$(free_port); IA=$(free_port); UA=$(free_port); ADA=$(free_port)
    EB=$(free_port); IB=$(free_port); UB=$(free_port); ADB=$(free_port)
    EN=$(free_port); DNS_PORT=$(free_port); DEAD_PORT=$(free_port)
}

pol_dns() {
    dns_start dnsmasq "$DNS_PORT" 1 \
        --srv-host=_sipfederationtls._tcp.contoso.test,edge.contoso.test,"$EA",1,1 \
        --srv-host=_sipfederationtls._tcp.fabrikam.test,edge.fabrikam.test,"$EB",1,1 \
        --srv-host=_sipfederationtls._tcp.northwind.test,edge.northwind.test,"${NW_PORT:-$EN}",1,1 \
        --srv-host=_sipfederationtls._tcp.adatum.test,edge.adatum.test,"$EN",1,1 \
        --srv-host=_sipfederationtls._tcp.litware.test,edge.litware.test,5061,1,1 \
        --host-record=edge.contoso.test,127.0.0.1 \
        --host-record=edge.fabrikam.test,127.0.0.1 \
        --host-record=edge.northwind.test,"${NW_IP:-127.0.0.1}" \
        --host-record=edge.adatum.test,127.0.0.1 \
        --host-record=edge.litware.test,127.0.0.1 \
        --server=/dnsfail.test/127.0.0.1#"$DEAD_PORT" || { show dnsmasq; return 1; }
}

# pol_config FILE NAME(contoso|fabrikam) EXT INT NEXT ROUTE ADMIN
pol_config() {
    cat > "$1" <<EOF
; fedge policy test edge $2 ($T_NAME)
[edge]
fqdn = edge.$2.test
sip_domains = $2.test
store = $T_TMP/$2.db

[external]
listen = 127.0.0.1:$3
certificate = $PKI/edge.$2.test.crt
private_key = $PKI/edge.$2.test.key
ca_file = $PKI/ca.crt
require_client_certificate = yes

[internal]
listen = 127.0.0.1:$4
transport = tcp
next_hop = 127.0.0.1:$5

[federation]
routing = default-route
default_route = 127.0.0.1:$6

[dns]
servers = 127.0.0.1:$DNS_PORT
timeout = 300ms
tries = 1

[limits]
${FEDGE_LIMITS:-}

[log]
level = ${FEDGE_LOG_LEVEL:-debug}
format = text

[admin]
listen = 127.0.0.1:$7
EOF
}

# pol_start: dnsmasq, both UASs, both edges (stores empty).
pol_start() {
    pol_topology
    pol_dns || return 1
    CA=$T_TMP/contoso.ini CB=$T_TMP/fabrikam.ini
    pol_config "$CA" contoso "$EA" "$IA" "$UA" "$EB" "$ADA"
    pol_config "$CB" fabrikam "$EB" "$IB" "$UB" "$EA" "$ADB"
    start_bg uas-a $POLSIP uas --port "$UA" --log "$T_LOGS/uas-a.jsonl" --fail-prefix nobody
    wait_listen "$UA" 5 "$BG_PID" || return 1
    start_bg uas-b $POLSIP uas --port "$UB" --log "$T_LOGS/uas-b.jsonl"
    wait_listen "$UB" 5 "$BG_PID" || return 1
    FEDGE_NO_PARTNER=1 EXT_PORT=$EA INT_PORT=$IA start_fedge "$CA" edge-a || return 1
    FEDGE_NO_PARTNER=1 EXT_PORT=$EB INT_PORT=$IB start_fedge "$CB" edge-b || return 1
}

# A ARGS... / B ARGS...: the CLI on edge A's / B's store.
A() { "$FEDGE_BIN" "$@" -c "$CA" > "$T_LOGS/cli.out" 2>&1 || { cat "$T_LOGS/cli.out"; return 1; }; }
B() { "$FEDGE_BIN" "$@" -c "$CB" > "$T_LOGS/cli.out" 2>&1 || { cat "$T_LOGS/cli.out"; return 1; }; }

# settle: wait until every running edge has what its store holds now in
# force. An edge polls its store every 250 ms and logs "settings loaded
# generation=N" once snapshot N is in force; 5 s at most.
settle() { wait_for _settled 5 || note "settle: an edge has not loaded its store's generation after 5 s"; }
_settled() {
    local name db g
    for name in edge-a edge-a2 edge-b; do
        alive "$name" || continue
        case $name in edge-a*) db=$T_TMP/contoso.db ;; *) db=$T_TMP/fabrikam.db ;; esac
        g=$(sqlite3 -cmd ".timeout 1000" "$db" "SELECT value FROM meta WHERE key = 'generation'" 2>/dev/null) &&
            [ -n "$g" ] || return 1
        grep -q "settings loaded generation=$g\b" "$T_LOGS/$name.log" || return 1
    done
}

# out FROM_USER TO_URI EXPECT... [-- extra policy_sip args]: a request from
# FROM_USER@contoso.test inside contoso, sent to edge A's internal port.
out() {
    local from=$1 to=$2; shift 2
    local exp=() 
    while [ $# -gt 0 ] && [ "$1" != -- ]; do exp+=(--expect "$1"); shift; done
    [ "${1:-}" = -- ] && shift
    $POLSIP send --port "$IA" --from "sip:$from@contoso.test" --ruri "$to" "${exp[@]}" "$@"
}

# in_a CERT FROM_URI TO_URI EXPECT... [-- extra]: a partner edge presenting
# PKI/CERT connects straight to edge A's external port (mutual TLS).
in_a() {
    local cert=$1 from=$2 to=$3; shift 3
    local exp=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do exp+=(--expect "$1"); shift; done
    [ "${1:-}" = -- ] && shift
    $POLSIP send --port "$EA" --tls --pki "$PKI" --cert "$cert" --server-name edge.contoso.test \
        --from "$from" --ruri "$to" "${exp[@]}" "$@"
}

# seen_a / seen_b CALL_ID [--count NAME=N] [--match NAME=RX]...
seen_a() { local id=$1; shift; $POLSIP seen --log "$T_LOGS/uas-a.jsonl" --call-id "$id" "$@"; }
seen_b() { local id=$1; shift; $POLSIP seen --log "$T_LOGS/uas-b.jsonl" --call-id "$id" "$@"; }
# never_a CALL_ID: the request did not reach contoso's UAS.
never_a() { ! $POLSIP seen --log "$T_LOGS/uas-a.jsonl" --call-id "$1" --wait 0.5 >/dev/null; }
never_b() { ! $POLSIP seen --log "$T_LOGS/uas-b.jsonl" --call-id "$1" --wait 0.5 >/dev/null; }
