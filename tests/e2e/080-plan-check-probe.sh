#!/bin/bash
# 080-plan-check-probe: `fedge plan`, `fedge check` and `fedge probe` against
# a real dnsmasq on loopback and real TLS peers set up wrongly on purpose:
# missing SRV, SRV to the wrong port, SRV target outside the domain, expired
# certificate, certificate without the needed SAN, certificate without the
# clientAuth EKU, partner down, partner that does not trust our CA, plus our
# own policy (blocked, not allowed with discovery off). Each must be reported
# at the right step with the right fix (asserted on the JSON output); the
# correct setups (our edge for check, fabrikam.test for probe) pass clean.
. "$(dirname "$0")/lib.sh"

G() { "$FEDGE_ROOT/scripts/gen-certs" "$PKI" "$@" > /dev/null; }
G edge.expired.test "DNS:edge.expired.test,DNS:expired.test" both expired ca
G edge.nosan.test "DNS:www.nosan.test,DNS:nosan.test" both valid ca
G edge.noclient.test "DNS:edge.noclient.test,DNS:noclient.test" serverAuth valid ca
G edge.untrusting.test "DNS:edge.untrusting.test" both valid ca
G edge.elsewhere.test "DNS:edge.elsewhere.test" both valid ca
G edge.multi.test "DNS:edge.blocked.test,DNS:edge.unknown.test" both valid ca
G edge.direct.test "DNS:edge.direct.test" both valid ca
G edge.pool.test "DNS:edge1.pool.test,DNS:edge2.pool.test" both valid ca

# All ports from one process holding them bound at once, so that they are
# distinct (free_port in a $(...) subshell cannot remember what it gave).
read -r EXT_PORT INT_PORT UAS_PORT ADMIN_PORT DNS_PORT P_GOOD P_GOOD_UAS P_EXPIRED P_NOSAN \
    P_NOCLIENT P_UNTRUST P_OUTSIDE P_PLAIN P_DOWN P_MULTI P_POOL < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(16)]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')

# ---------------------------------------------------------------- DNS
srv() { echo "--srv-host=_sipfederationtls._tcp.$1,$2,$3,0,0"; }
check "dnsmasq answers on 127.0.0.1:$DNS_PORT" dns_start dnsmasq "$DNS_PORT" 60 \
    "$(srv contoso.test edge.contoso.test "$EXT_PORT")" \
    "$(srv wrongsrv.test edge.contoso.test 5061)" \
    "$(srv fabrikam.test edge.fabrikam.test "$P_GOOD")" \
    "$(srv expired.test edge.expired.test "$P_EXPIRED")" \
    "$(srv nosan.test edge.nosan.test "$P_NOSAN")" \
    "$(srv noclient.test edge.noclient.test "$P_NOCLIENT")" \
    "$(srv untrusting.test edge.untrusting.test "$P_UNTRUST")" \
    "$(srv outside.test edge.elsewhere.test "$P_OUTSIDE")" \
    "$(srv wrongport.test edge.wrongport.test "$P_PLAIN")" \
    "$(srv down.test edge.down.test "$P_DOWN")" \
    "$(srv blocked.test edge.blocked.test "$P_MULTI")" \
    "$(srv unknown.test edge.unknown.test "$P_MULTI")" \
    --srv-host="_sipfederationtls._tcp.pool.test,edge1.pool.test,$P_DOWN,0,10" \
    --srv-host="_sipfederationtls._tcp.pool.test,edge2.pool.test,$P_POOL,10,10" \
    --host-record=edge1.pool.test,127.0.0.1 --host-record=edge2.pool.test,127.0.0.1 \
    --host-record=edge.direct.test,127.0.0.2 --host-record=edge.direct2.test,127.0.0.3 \
    --host-record=edge.contoso.test,127.0.0.1 \
    --host-record=edge.fabrikam.test,127.0.0.1 --host-record=edge.expired.test,127.0.0.1 \
    --host-record=edge.nosan.test,127.0.0.1 --host-record=edge.noclient.test,127.0.0.1 \
    --host-record=edge.untrusting.test,127.0.0.1 --host-record=edge.elsewhere.test,127.0.0.1 \
    --host-record=edge.wrongport.test,127.0.0.1 --host-record=edge.down.test,127.0.0.1 \
    --host-record=edge.blocked.test,127.0.0.1 --host-record=edge.unknown.test,127.0.0.1 || { show dnsmasq; finish; }

# ---------------------------------------------------------------- peers
# A partner edge in Python: TLS with CERT, requiring a client certificate
# from CA, answering every SIP request with 200 OK. MODE plain: no TLS, a
# plain SIP service that answers 400 to anything (the wrong port).
cat > "$T_TMP/partner.py" <<'EOF'
import socket, ssl, sys, threading
addr, mode = sys.argv[1], sys.argv[2]
host, port = (addr.split(":")[0], int(addr.split(":")[1])) if ":" in addr else ("127.0.0.1", int(addr))
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((host, port)); srv.listen(16)
ctx = None
if mode == "tls":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
    ctx.load_verify_locations(sys.argv[5]); ctx.verify_mode = ssl.CERT_REQUIRED
def answer(req):
    head = req.split(b"\r\n\r\n")[0].decode(errors="replace").split("\r\n")
    keep = [l for l in head[1:] if l.split(":")[0].strip().lower() in ("via", "from", "to", "call-id", "cseq")]
    return ("SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n").encode()
def serve(c):
    try:
        if ctx:
            c = ctx.wrap_socket(c, server_side=True)
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = c.recv(4096)
            if not d: return
            buf += d
            if mode == "plain": break
        c.sendall(answer(buf) if mode == "tls" else b"SIP/2.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        c.recv(4096)
    except Exception as e:
        print("connection:", e, flush=True)
    finally:
        c.close()
print("listening", flush=True)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
partner() { # NAME [IP:]PORT CERT [CA]
    start_bg "$1" python3 "$T_TMP/partner.py" "$2" tls "$PKI/$3.crt" "$PKI/$3.key" "$PKI/${4:-ca}.crt"
    wait_up "$2" 30 "$BG_PID" || { show "$1"; return 1; }
}
# wait_up [IP:]PORT SECONDS PID: like wait_listen, for any loopback address
wait_up() {
    local i=0
    while ! python3 -c 'import socket,sys; a=sys.argv[1]; h,p=(a.split(":")[0],int(a.split(":")[1])) if ":" in a else ("127.0.0.1",int(a)); socket.create_connection((h,p),1).close()' "$1" 2>/dev/null; do
        kill -0 "$3" 2>/dev/null || return 1
        i=$((i + 1)); [ "$i" -gt "$2" ] && return 1
        sleep 1
    done
}
cat > "$T_TMP/options_direct_uas.xml" <<'EOF'
<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="OPTIONS UAS (direct)">
  <recv request="OPTIONS"/>
  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]u[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE
      Content-Length: 0

    ]]>
  </send>
</scenario>
EOF
# fabrikam.test, the correct partner: stunnel (edge.fabrikam.test, requires a
# client certificate naming edge.contoso.test) in front of a SIPp UAS.
check "fabrikam partner: stunnel in front of its SIPp" \
    stunnel_server fabrikam-edge "$P_GOOD" "$P_GOOD_UAS" edge.fabrikam.test edge.contoso.test
start_bg fabrikam-uas sh -c 'cd "$1" && shift && exec "$@"' _ "$T_LOGS" \
    sipp -sf "$T_TMP/options_direct_uas.xml" -p "$P_GOOD_UAS" -m 100 -nostdin -t t1 -i 127.0.0.1 \
    -trace_err -error_file "$T_LOGS/fabrikam-uas.err"
check "fabrikam UAS listens" wait_listen "$P_GOOD_UAS" 30 "$BG_PID"
check "expired.test partner" partner expired "$P_EXPIRED" edge.expired.test
check "nosan.test partner" partner nosan "$P_NOSAN" edge.nosan.test
check "noclient.test partner" partner noclient "$P_NOCLIENT" edge.noclient.test
check "outside.test partner" partner outside "$P_OUTSIDE" edge.elsewhere.test
check "blocked.test / unknown.test partner" partner multi "$P_MULTI" edge.multi.test
check "pool.test: its second edge" partner pool "$P_POOL" edge.pool.test
# Allowed partner servers (direct federation) are reached on port 5061 of
# their FQDN: 127.0.0.2 and 127.0.0.3, where nobody else listens on 5061.
check "direct.test partner server on 127.0.0.2:5061" partner direct 127.0.0.2:5061 edge.direct.test
check "direct2.test partner server on 127.0.0.3:5061 (certificate for other names)" \
    partner direct2 127.0.0.3:5061 edge.nosan.test
start_bg plain python3 "$T_TMP/partner.py" "$P_PLAIN" plain
check "wrongport.test: plain SIP on the SRV port" wait_listen "$P_PLAIN" 30 "$BG_PID"
# untrusting.test: trusts only the rogue CA, refuses our certificate.
start_bg untrusting openssl s_server -accept "127.0.0.1:$P_UNTRUST" -www \
    -cert "$PKI/edge.untrusting.test.crt" -key "$PKI/edge.untrusting.test.key" \
    -CAfile "$PKI/rogue-ca.crt" -Verify 1 -verify_return_error
check "untrusting.test: openssl s_server trusting only the rogue CA" wait_listen "$P_UNTRUST" 30 "$BG_PID"

# ---------------------------------------------------------------- config
conf() { # FILE STORE DOMAINS CERT
    cat > "$1" <<EOF
[edge]
fqdn = edge.contoso.test
sip_domains = $3
store = $2

[external]
listen = 127.0.0.1:$EXT_PORT
certificate = $PKI/$4.crt
private_key = $PKI/$4.key
ca_file = $PKI/ca.crt
require_client_certificate = yes

[internal]
listen = 127.0.0.1:$INT_PORT
transport = tcp
next_hop = 127.0.0.1:$UAS_PORT

[federation]
routing = dns-srv

[log]
level = debug

[dns]
servers = 127.0.0.1:$DNS_PORT
timeout = 500ms
tries = 2

[admin]
listen = 127.0.0.1:$ADMIN_PORT
EOF
}
CFG=$T_TMP/fedge.ini
conf "$CFG" "$T_TMP/fedge.db" contoso.test edge.contoso.test
"$FEDGE_BIN" domain allow fabrikam.test -c "$CFG" > /dev/null
"$FEDGE_BIN" domain allow direct.test --proxy-fqdn edge.direct.test -c "$CFG" > /dev/null
"$FEDGE_BIN" domain allow direct2.test --proxy-fqdn edge.direct2.test -c "$CFG" > /dev/null
for d in expired.test nosan.test noclient.test untrusting.test outside.test wrongport.test down.test nosrv.test pool.test; do
    "$FEDGE_BIN" domain allow "$d" -c "$CFG" > /dev/null
done
"$FEDGE_BIN" domain block blocked.test -c "$CFG" > /dev/null

# json FILE 'python expression over d' : assert on a JSON output
json() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
def items(step=None, status=None):
    return [i for i in d["items"] if (step is None or i["step"] == step) and (status is None or i["status"] == status)]
ok = eval("(" + sys.argv[2] + ")")
if not ok:
    print("assertion failed:", sys.argv[2]); print(json.dumps(d.get("verdict", d), indent=1))
    sys.exit(1)
EOF
}

# ---------------------------------------------------------------- plan
"$FEDGE_BIN" plan -c "$CFG" > "$T_LOGS/plan.txt"; rc=$?
check "plan: exit 0" test "$rc" -eq 0
check "plan: SRV record in zone-file form" \
    grep -Eq "^_sipfederationtls\._tcp\.contoso\.test\. +3600 IN SRV +0 0 $EXT_PORT edge\.contoso\.test\.$" "$T_LOGS/plan.txt"
check "plan: A record of the edge, never the loopback listener's address" bash -c "
    grep -Eq '^edge\.contoso\.test\. +3600 IN A +<public IPv4 address of the edge>$' '$T_LOGS/plan.txt' &&
    grep -q '^; \[external\] listen is 127.0.0.1 (loopback' '$T_LOGS/plan.txt' &&
    ! grep -Eq 'IN A +127\.' '$T_LOGS/plan.txt'"
"$FEDGE_BIN" plan -c "$CFG" --json > "$T_LOGS/plan.json"
check "plan --json: certificate, firewall, partners" json "$T_LOGS/plan.json" \
    '[s["san"] for s in d["certificate"]["sans"] if s["required"]] == ["DNS:edge.contoso.test", "DNS:contoso.test"]
     and d["certificate"]["eku"] == ["serverAuth", "clientAuth"]
     and any(f["port"] == "53" and f["direction"] == "out" for f in d["firewall"])
     and not any(f["port"] == "80,443" for f in d["firewall"])
     and any(f["port"] == str('"$ADMIN_PORT"') and "administrators" in f["from"] for f in d["firewall"])
     and any(f["port"] == str('"$INT_PORT"') and "internal" in f["from"] for f in d["firewall"])
     and {p["domain"]: p["kind"] for p in d["partners"]}["fabrikam.test"] == "allowed domain"
     and any("_sipfederationtls._tcp.fabrikam.test" in n for p in d["partners"] if p["domain"] == "fabrikam.test" for n in p["needs"])'
W=$T_TMP/wild.ini
sed "s/^listen = 127.0.0.1:$EXT_PORT/listen = 0.0.0.0:$EXT_PORT, [::]:$EXT_PORT/" "$CFG" > "$W"
"$FEDGE_BIN" plan -c "$W" --json > "$T_LOGS/plan-wild.json"
check "plan: wildcard listen gives A and AAAA placeholders with a note" json "$T_LOGS/plan-wild.json" \
    'sorted(r["type"] for r in d["dns"] if r["placeholder"]) == ["A", "AAAA"] and all("0.0.0.0" in r["note"] or "[::]" in r["note"] for r in d["dns"] if r["placeholder"])'

# ---------------------------------------------------------------- check
CHK=$T_TMP/check.ini
conf "$CHK" "$T_TMP/check.db" contoso.test edge.contoso.test
"$FEDGE_BIN" domain allow fabrikam.test -c "$CHK" > /dev/null
check "fedge serve starts" start_fedge "$CHK"
"$FEDGE_BIN" check -c "$CHK" --json > "$T_LOGS/check-ok.json"; rc=$?
check "check, correct setup: exit 0" test "$rc" -eq 0
check "check, correct setup: no warning, no failure, every part looked at" json "$T_LOGS/check-ok.json" \
    'd["summary"]["fail"] == 0 and d["summary"]["warn"] == 0 and d["verdict"]["result"] == "pass"
     and {"dns", "cert", "listen", "partner"} <= {i["step"] for i in items(status="pass")}
     and len(items("listen", "pass")) == 2 and len(items("dns", "pass")) == 2'
"$FEDGE_BIN" check -c "$CHK" > "$T_LOGS/check-ok.txt"
check "check text: verdict line PASS" grep -q '^verdict: PASS: every planned item of edge.contoso.test checks out$' "$T_LOGS/check-ok.txt"

# a second and third SIP domain: one without SRV, one whose SRV has the wrong port
CHK2=$T_TMP/check2.ini
conf "$CHK2" "$T_TMP/check.db" "contoso.test, nosrv.test, wrongsrv.test" edge.contoso.test
"$FEDGE_BIN" check -c "$CHK2" --json > "$T_LOGS/check-dns.json"; rc=$?
check "check, missing/wrong SRV: exit 1" test "$rc" -eq 1
check "check: missing SRV of nosrv.test reported with the record to publish" json "$T_LOGS/check-dns.json" \
    'any(i["id"] == 19501 and "nosrv.test" in i["name"] and "_sipfederationtls._tcp.nosrv.test. 3600 IN SRV 0 0 '"$EXT_PORT"' edge.contoso.test." in i["fix"] for i in items("dns", "fail"))'
check "check: SRV of wrongsrv.test to port 5061 reported as wrong, with the right record" json "$T_LOGS/check-dns.json" \
    'any(i["id"] == 19502 and "edge.contoso.test:5061" in i["text"] and "SRV 0 0 '"$EXT_PORT"' edge.contoso.test." in i["fix"] for i in items("dns", "fail"))'
check "check: the certificate does not name the extra SIP domains (warn)" json "$T_LOGS/check-dns.json" \
    'len([i for i in items("cert", "warn") if i["id"] == 19514]) == 2 and d["verdict"]["step"] == "dns"'

# our certificate without clientAuth, then an expired one (fedge need not run for these)
CHK3=$T_TMP/check3.ini
conf "$CHK3" "$T_TMP/check.db" contoso.test noclient.fabrikam.test
"$FEDGE_BIN" check -c "$CHK3" --json > "$T_LOGS/check-noclient.json"; rc=$?
check "check, certificate without clientAuth and not naming the edge: exit 1, both reported" json "$T_LOGS/check-noclient.json" \
    'any(i["id"] == 19515 and "clientAuth" in i["text"] for i in items("cert", "fail"))
     and any(i["id"] == 19513 and "DNS:edge.contoso.test" in i["fix"] for i in items("cert", "fail"))'
check "check noclient: exit 1" test "$rc" -eq 1
conf "$CHK3" "$T_TMP/check.db" contoso.test expired.fabrikam.test
"$FEDGE_BIN" check -c "$CHK3" --json > "$T_LOGS/check-expired.json"
check "check, expired certificate: validity fails with the renewal fix" json "$T_LOGS/check-expired.json" \
    'any(i["id"] == 19516 and "expired on 2020-02-01" in i["text"] and "renew" in i["fix"] for i in items("cert", "fail"))'
stop fedge
"$FEDGE_BIN" check -c "$CHK" --json --timeout 1000 > "$T_LOGS/check-down.json"; rc=$?
check "check, fedge stopped: listeners fail, exit 1" json "$T_LOGS/check-down.json" \
    'd["verdict"]["step"] == "listen" and len([i for i in items("listen", "fail") if i["id"] == 19520]) == 2'
check "check, fedge stopped: exit 1" test "$rc" -eq 1
check "check: bad config exits 2" bash -c '"$0" check -c /nonexistent.ini >/dev/null 2>&1; test $? -eq 2' "$FEDGE_BIN"

# ---------------------------------------------------------------- probe
probe() { # DOMAIN -> $T_LOGS/probe-DOMAIN.json, sets rc
    "$FEDGE_BIN" probe -c "$CFG" "$1" --json --timeout 2000 > "$T_LOGS/probe-$1.json"; rc=$?
    "$FEDGE_BIN" probe -c "$CFG" "$1" --timeout 2000 > "$T_LOGS/probe-$1.txt"
}
V() { # DOMAIN STEP ID 'fix substring' ['text substring']
    json "$T_LOGS/probe-$1.json" \
        "d['verdict']['result'] == 'fail' and d['verdict']['step'] == '$2' and d['verdict']['id'] == $3 and '''$4''' in d['verdict']['fix'] and '''${5:-}''' in d['verdict']['text']"
}

probe fabrikam.test
check "probe fabrikam.test (correct): exit 0" test "$rc" -eq 0
check "probe fabrikam.test: every step passes, no warning" json "$T_LOGS/probe-fabrikam.test.json" \
    'd["verdict"]["result"] == "pass" and d["summary"]["fail"] == 0 and d["summary"]["warn"] == 0
     and [s for s in ["srv", "address", "tcp", "tls", "options", "policy"] if items(s, "pass")] == ["srv", "address", "tcp", "tls", "options", "policy"]
     and items("options", "pass")[0]["data"]["status"] == 200
     and items("srv", "pass")[0]["data"]["records"][0]["port"] == '"$P_GOOD"'
     and "edge.fabrikam.test" in items("tls", "pass")[0]["data"]["names"]'
check "probe fabrikam.test text: verdict line" grep -q '^verdict: PASS: federation with fabrikam.test works$' "$T_LOGS/probe-fabrikam.test.txt"

probe nosrv.test
check "probe nosrv.test: FAIL at srv, partner must publish the record" \
    V nosrv.test srv 19530 "_sipfederationtls._tcp.nosrv.test. IN SRV 0 0 5061" "no SRV record"
check "probe nosrv.test: exit 1" test "$rc" -eq 1

probe wrongport.test
check "probe wrongport.test: FAIL at tls, the SRV port does not speak TLS" \
    V wrongport.test tls 19535 "points to port $P_PLAIN, where no TLS service answers" "does not speak TLS"
check "probe wrongport.test: TCP connect itself passed" json "$T_LOGS/probe-wrongport.test.json" 'len(items("tcp", "pass")) == 1'

probe outside.test
check "probe outside.test: FAIL at srv, target outside the domain" \
    V outside.test srv 19532 "--proxy-fqdn edge.elsewhere.test" "edge.elsewhere.test is outside outside.test"

probe expired.test
check "probe expired.test: FAIL at tls, partner certificate expired" \
    V expired.test tls 19538 "renews the certificate of edge.expired.test" "expired on 2020-02-01"

probe nosan.test
check "probe nosan.test: FAIL at tls, certificate does not name the SRV target" \
    V nosan.test tls 19539 "naming edge.nosan.test" "not the SRV target edge.nosan.test"

probe noclient.test
check "probe noclient.test: FAIL at tls, no clientAuth EKU" \
    V noclient.test tls 19540 "both serverAuth and clientAuth" "lacks the clientAuth EKU"
check "probe noclient.test: OPTIONS not judged after the TLS failure" json "$T_LOGS/probe-noclient.test.json" \
    'items("options")[0]["status"] == "skip"'

probe down.test
check "probe down.test: FAIL at tcp, partner edge down" \
    V down.test tcp 19534 "is down or a firewall blocks TCP $P_DOWN" "Connection refused"

probe untrusting.test
check "probe untrusting.test: FAIL at tls, partner refused our certificate (unknown CA)" \
    V untrusting.test tls 19536 "must trust the CA that issued edge.contoso.test" "partner refused our certificate (alert unknown CA)"
check "probe untrusting.test text: verdict line names the step and the fix" \
    grep -q '^verdict: FAIL at tls: partner refused our certificate (alert unknown CA) — fix: the partner must trust the CA that issued edge.contoso.test' "$T_LOGS/probe-untrusting.test.txt"

probe blocked.test
check "probe blocked.test: DNS and TLS fine, FAIL at policy (1012) with the fix" \
    V blocked.test policy 1012 "fedge domain remove blocked.test" "blocked"
check "probe blocked.test: the partner itself passed" json "$T_LOGS/probe-blocked.test.json" \
    'items("options", "pass") and items("tls", "pass")'

probe unknown.test
check "probe unknown.test: FAIL at policy (1014), discovery off" \
    V unknown.test policy 1014 "fedge domain allow unknown.test, or fedge edge set --discovery on" "discovery is off"
"$FEDGE_BIN" edge set --discovery on -c "$CFG" > /dev/null
probe unknown.test
check "probe unknown.test with discovery on: passes as a discovered partner" json "$T_LOGS/probe-unknown.test.json" \
    'd["verdict"]["result"] == "pass" and "discovered partner" in items("policy", "pass")[0]["text"]'

probe pool.test
check "probe pool.test: first edge down, the second answers: PASS with warnings, exit 0" json "$T_LOGS/probe-pool.test.json" \
    'd["verdict"]["result"] == "pass" and '"$rc"' == 0
     and [i["name"] for i in items("tcp", "warn")] == ["connect edge1.pool.test:'"$P_DOWN"'"]
     and [i["data"]["records"] for i in items("srv", "pass")][0][0]["target"] == "edge1.pool.test"
     and items("options", "pass")[0]["name"] == "edge2.pool.test:'"$P_POOL"'"'

probe direct.test
check "probe direct.test (partner server): no SRV needed, its FQDN on 5061, PASS" json "$T_LOGS/probe-direct.test.json" \
    'd["verdict"]["result"] == "pass" and d["summary"]["warn"] == 0
     and "no SRV look-up" in items("srv", "info")[0]["text"]
     and items("tcp", "pass")[0]["name"] == "connect edge.direct.test:5061"
     and "the configured FQDN" in items("tls", "pass")[0]["text"]
     and "allowed partner server" in items("policy", "pass")[0]["text"]'
probe direct2.test
check "probe direct2.test: certificate does not name the configured partner server" \
    V direct2.test tls 19539 "naming edge.direct2.test" "not the configured partner server edge.direct2.test"

check "probe: bad domain exits 2" bash -c '"$0" probe -c "$1" "not a domain" >/dev/null 2>&1; test $? -eq 2' "$FEDGE_BIN" "$CFG"

# Regression: with the store's routing on default-route, probe of a partner
# server whose FQDN has no DNS record failed at "address" while the edge
# sends its messages to the default route. The probe takes the edge's
# route: the default route (here fabrikam's edge, by address and by name).
DRC=$T_TMP/dr.ini
conf "$DRC" "$T_TMP/dr.db" contoso.test edge.contoso.test
"$FEDGE_BIN" domain allow nodns.test --proxy-fqdn edge.nodns.test -c "$DRC" > /dev/null
"$FEDGE_BIN" edge set --routing default-route --default-route "127.0.0.1:$P_GOOD" -c "$DRC" > /dev/null
"$FEDGE_BIN" probe -c "$DRC" nodns.test --json --timeout 2000 > "$T_LOGS/probe-dr-ip.json"; rc=$?
check "probe via the default route (an address): PASS, exit 0" json "$T_LOGS/probe-dr-ip.json" \
    'd["verdict"]["result"] == "pass" and '"$rc"' == 0
     and "default route 127.0.0.1 port '"$P_GOOD"'" in items("srv", "info")[0]["text"]
     and items("tcp", "pass")[0]["name"] == "connect 127.0.0.1:'"$P_GOOD"'"
     and "an address: chain checked" in items("tls", "pass")[0]["text"]
     and items("options", "pass")[0]["data"]["status"] == 200'
"$FEDGE_BIN" edge set --default-route "edge.fabrikam.test:$P_GOOD" -c "$DRC" > /dev/null
"$FEDGE_BIN" probe -c "$DRC" nodns.test --json --timeout 2000 > "$T_LOGS/probe-dr-name.json"; rc=$?
check "probe via the default route (a name): its certificate must name it, PASS" json "$T_LOGS/probe-dr-name.json" \
    'd["verdict"]["result"] == "pass" and '"$rc"' == 0
     and items("tcp", "pass")[0]["name"] == "connect edge.fabrikam.test:'"$P_GOOD"'"
     and "the default route" in items("tls", "pass")[0]["text"]'
finish
