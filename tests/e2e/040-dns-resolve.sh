#!/bin/bash
# 040-dns-resolve: `fedge resolve DOMAIN` against a real dnsmasq on loopback:
# SRV records, RFC 2782 order, addresses with TTLs and the verdict (federate
# via the first target; not discoverable; target outside the domain refused;
# no-service; DNS failure in bounded time), in text and JSON; -c FILE uses
# the configuration's [dns] settings.
. "$(dirname "$0")/lib.sh"

DNS_PORT=$(free_port)
SRV="127.0.0.1:$DNS_PORT"
check "dnsmasq answers on $SRV" dns_start dnsmasq "$DNS_PORT" 60 \
    --srv-host=_sipfederationtls._tcp.contoso.test,edge1.contoso.test,5061,5,10 \
    --srv-host=_sipfederationtls._tcp.contoso.test,edge2.contoso.test,5061,10,10 \
    --host-record=edge1.contoso.test,127.0.0.2,::2,30 \
    --host-record=edge2.contoso.test,127.0.0.3 \
    --srv-host=_sipfederationtls._tcp.fabrikam.test,gone.fabrikam.test,5061,1,1 \
    --srv-host=_sipfederationtls._tcp.fabrikam.test,edge.fabrikam.test,5072,2,1 \
    --host-record=edge.fabrikam.test,127.0.0.4 \
    --srv-host=_sipfederationtls._tcp.evil.test,edge.attacker.test,5061,1,1 \
    --host-record=edge.attacker.test,127.0.0.66 \
    --srv-host=_sipfederationtls._tcp.none.test || { show dnsmasq; finish; }
R() { "$FEDGE_BIN" resolve "$@" --server "$SRV"; }

out=$T_LOGS/contoso.txt
R contoso.test > "$out"; rc=$?
check "contoso.test: exit 0" test "$rc" -eq 0
check "contoso.test: verdict names the priority-5 edge" \
    grep -qx 'verdict  would federate via edge1.contoso.test:5061 first' "$out"
check "contoso.test: order lists both targets, priority 5 first" \
    grep -q '^order    1. edge1.contoso.test:5061 2. edge2.contoso.test:5061$' "$out"
check "contoso.test: addresses with their TTLs" \
    grep -q '127.0.0.2 (ttl 30 s)' "$out"
check "contoso.test: IPv6 address shown" grep -q '::2 (ttl 30 s)' "$out"
check "contoso.test: SRV record line with priority, weight, port, TTL" \
    grep -Eq '^ +10 +10 +5061 edge2.contoso.test \(60 s\)$' "$out"

json=$T_LOGS/contoso.json
R contoso.test --json > "$json"
check "contoso.test --json: verdict, targets and TTLs" python3 - "$json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["status"] == "ok" and d["verdict"]["federate"] is True, d["verdict"]
assert d["verdict"]["target"] == "edge1.contoso.test" and d["verdict"]["port"] == 5061
assert [o["target"] for o in d["ordered"]] == ["edge1.contoso.test", "edge2.contoso.test"]
t = {x["target"]: x for x in d["targets"]}
assert {a["address"]: a["ttl"] for a in t["edge1.contoso.test"]["addresses"]} == {"127.0.0.2": 30, "::2": 30}
assert t["edge2.contoso.test"]["addresses"][0]["address"] == "127.0.0.3"
assert len(d["records"]) == 2 and all(r["ttl"] == 60 for r in d["records"])
EOF

R fabrikam.test > "$T_LOGS/fabrikam.txt"; rc=$?
check "fabrikam.test: first target has no address, the next one is chosen" \
    grep -qx 'verdict  would federate via edge.fabrikam.test:5072 first' "$T_LOGS/fabrikam.txt"
check "fabrikam.test: exit 0" test "$rc" -eq 0

R evil.test > "$T_LOGS/evil.txt"; rc=$?
check "evil.test: target outside the domain is refused" \
    grep -qx 'verdict  SRV target edge.attacker.test is outside domain evil.test: refused' "$T_LOGS/evil.txt"
check "evil.test: exit 1" test "$rc" -eq 1

R nx.test > "$T_LOGS/nx.txt"; rc=$?
check "nx.test: not discoverable" \
    grep -qx 'verdict  no _sipfederationtls._tcp SRV record: partner not discoverable' "$T_LOGS/nx.txt"
check "nx.test: exit 1" test "$rc" -eq 1

R none.test > "$T_LOGS/none.txt"; rc=$?
check "none.test: SRV '.' means no service" grep -q "^verdict  SRV target '.'" "$T_LOGS/none.txt"
check "none.test: exit 1" test "$rc" -eq 1

# A server that never answers: a bound UDP socket nobody reads.
DEAD_PORT=$(free_port)
start_bg blackhole python3 -c "import socket,time; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', $DEAD_PORT)); print('bound', flush=True); time.sleep(60)"
check "a UDP socket that never answers is bound on $DEAD_PORT" \
    wait_for "grep -q bound '$T_LOGS/blackhole.log'" 5
dead() {
    local t0 t1 rc
    t0=$(date +%s%N)
    "$FEDGE_BIN" resolve contoso.test --server "127.0.0.1:$DEAD_PORT" --timeout 200 --tries 2 > "$T_LOGS/dead.txt"; rc=$?
    t1=$(date +%s%N)
    echo "took $(( (t1 - t0) / 1000000 )) ms, rc $rc"; cat "$T_LOGS/dead.txt"
    [ "$rc" -eq 1 ] && grep -q '^verdict  DNS failure (timeout' "$T_LOGS/dead.txt" &&
        [ $(( (t1 - t0) / 1000000 )) -lt 1500 ]
}
check "dead DNS server: timeout verdict within the bound (600 ms + slack)" dead

# -c FILE: the configuration's [dns] servers, timeout and tries; the
# options override them.
topology
fedge_config "$T_TMP/good.ini"
printf '[dns]\nservers = %s\ntimeout = 300ms\ntries = 1\n' "$SRV" >> "$T_TMP/good.ini"
"$FEDGE_BIN" resolve contoso.test -c "$T_TMP/good.ini" > "$T_LOGS/config.txt"; rc=$?
check "-c FILE: asks the [dns] servers of the configuration" \
    grep -qx 'verdict  would federate via edge1.contoso.test:5061 first' "$T_LOGS/config.txt"
check "-c FILE: exit 0" test "$rc" -eq 0
fedge_config "$T_TMP/dead.ini"
printf '[dns]\nservers = 127.0.0.1:%s\ntimeout = 150ms\ntries = 1\n' "$DEAD_PORT" >> "$T_TMP/dead.ini"
dead_config() {
    local t0 t1 rc
    t0=$(date +%s%N)
    "$FEDGE_BIN" resolve contoso.test -c "$T_TMP/dead.ini" > "$T_LOGS/dead-config.txt"; rc=$?
    t1=$(date +%s%N)
    echo "took $(( (t1 - t0) / 1000000 )) ms, rc $rc"; cat "$T_LOGS/dead-config.txt"
    [ "$rc" -eq 1 ] && grep -q '^verdict  DNS failure (timeout' "$T_LOGS/dead-config.txt" &&
        [ $(( (t1 - t0) / 1000000 )) -lt 1000 ]
}
check "-c FILE: its [dns] timeout and tries apply (a dead server: 150 ms x 1)" dead_config
check "-c FILE --server: the option overrides the configuration" bash -c \
    '"$0" resolve contoso.test -c "$1" --server "$2" | grep -qx "verdict  would federate via edge1.contoso.test:5061 first"' \
    "$FEDGE_BIN" "$T_TMP/dead.ini" "$SRV"
check "-c with a missing file: exit 2 naming it" bash -c \
    '"$0" resolve contoso.test -c /nonexistent/fedge.ini 2>&1 | grep -q "/nonexistent/fedge.ini"; test ${PIPESTATUS[0]} -eq 2' "$FEDGE_BIN"

check "no domain: usage, exit 2" bash -c '"$0" resolve >/dev/null 2>&1; test $? -eq 2' "$FEDGE_BIN"
check "bad --server: exit 2 with a message" \
    bash -c '"$0" resolve contoso.test --server not-an-ip 2>&1 | grep -q "bad servers"; test ${PIPESTATUS[0]} -eq 2' "$FEDGE_BIN"
finish
