#!/bin/bash
# 170-own-certificate: `fedge serve` refuses the external certificates that
# `fedge check-config` refuses (expired, a key that is not its key, not
# naming [edge] fqdn): exit 2 naming the file and the reason, nothing
# listening; one expiring within 30 days starts with a warning in the log
# and on the Status page, again on SIGHUP; a reload to a refused
# certificate keeps the old one (the edge goes on handshaking with it).
# Revocation: with [external] crl_file, a partner certificate the CRL
# revokes is refused at the handshake (logged), another is served; a new
# CRL applies after SIGHUP; the XMPP listener ([xmpp]) checks the same
# CRLs (SASL EXTERNAL refused, then accepted after the SIGHUP). `fedge plan
# --csr --key` writes a request that `openssl req -text` shows with exactly
# the plan's names.
. "$(dirname "$0")/lib.sh"

F="$FEDGE_BIN"
topology
G="$FEDGE_ROOT/scripts/gen-certs"
"$G" "$PKI" own-expired.contoso.test "DNS:edge.contoso.test,DNS:contoso.test" both expired >/dev/null
"$G" "$PKI" own-other.contoso.test "DNS:edge.other.test" both valid >/dev/null
# valid for 10 days from now, made afresh on every run (9 or 10 whole days
# left when the edge reads it, as the clock turns)
rm -f "$PKI/own-soon.contoso.test.crt" "$PKI/own-soon.contoso.test.key"
"$G" "$PKI" own-soon.contoso.test "DNS:edge.contoso.test,DNS:contoso.test" both soon >/dev/null
CFG=$T_TMP/fedge.ini
fedge_config "$CFG"

# with_cert NAME CERT KEY: a copy of the configuration using CERT and KEY
with_cert() {
    sed -e "s#^certificate = .*#certificate = $2#" -e "s#^private_key = .*#private_key = $3#" \
        "$CFG" > "$T_TMP/$1.ini"
    echo "$T_TMP/$1.ini"
}

# refused NAME CERT KEY TEXT: serve exits 2 with TEXT, nothing listens
refused() {
    local cfg out rc
    cfg=$(with_cert "$1" "$2" "$3")
    out=$(timeout 10 "$F" serve -c "$cfg" 2>&1); rc=$?
    echo "$out" | tail -2
    [ "$rc" -eq 2 ] && echo "$out" | grep -qF -- "$4" && ! listening "$EXT_PORT" && ! listening "$INT_PORT"
}
note "refused at start, as check-config refuses"
check_out "expired: exit 2, the file and the date" refused expired \
    "$PKI/own-expired.contoso.test.crt" "$PKI/own-expired.contoso.test.key" \
    "[external] $PKI/own-expired.contoso.test.crt: the certificate expired on 2020-02-01 00:00 UTC"
check_out "not naming edge.contoso.test: exit 2, what it names" refused other \
    "$PKI/own-other.contoso.test.crt" "$PKI/own-other.contoso.test.key" \
    "[external] $PKI/own-other.contoso.test.crt: the certificate names DNS:edge.other.test, not edge.contoso.test"
check_out "a key that is not the certificate's: exit 2, both files" refused key \
    "$PKI/edge.contoso.test.crt" "$PKI/edge.fabrikam.test.key" \
    "[external] $PKI/edge.fabrikam.test.key: private key does not match certificate $PKI/edge.contoso.test.crt"
check_out "check-config refuses the expired one too" sh -c "
    '$F' check-config -c '$T_TMP/expired.ini' 2>&1 | grep -i 'expired on 2020-02-01'"

note "expiring within 30 days: a warning at start, on the Status page and on reload"
# the configured files are copies, so that the test can replace them
cp "$PKI/own-soon.contoso.test.crt" "$T_TMP/own.crt"
cp "$PKI/own-soon.contoso.test.key" "$T_TMP/own.key"
SOON=$(with_cert soon "$T_TMP/own.crt" "$T_TMP/own.key")
check "fedge serve starts with it" start_fedge "$SOON" || finish
LOG=$T_LOGS/fedge.log
check_out "the start logs the warning with the file and the days left" sh -c "
    for _ in \$(seq 50); do grep -q 'when=start' '$LOG' && break; sleep 0.1; done
    grep 'certificate expires soon' '$LOG' | tee /dev/stderr |
        grep 'when=start' | grep -Eq '$T_TMP/own.crt: the certificate expires on .*, in (9|10) days'"
wait_listen "$ADMIN_PORT" 10
check_out "the Status page (GET /api/status) shows it" python3 - "$ADMIN_PORT" "$SOON" "$F" <<'EOF'
import json, subprocess, sys, urllib.request
port, cfg, fedge = sys.argv[1:4]
subprocess.run([fedge, "admin", "add", "ops", "-c", cfg], input=b"correct horse battery\n",
               check=True, capture_output=True)
req = urllib.request.Request("http://127.0.0.1:%s/api/login" % port,
                             data=json.dumps({"name": "ops", "password": "correct horse battery"}).encode(),
                             headers={"Content-Type": "application/json"})
cookie = urllib.request.urlopen(req).headers["Set-Cookie"].split(";")[0]
st = json.loads(urllib.request.urlopen(urllib.request.Request(
    "http://127.0.0.1:%s/api/status" % port, headers={"Cookie": cookie})).read())
errs = [e.get("text", "") for e in st["edge"]["errors"]]
print(errs)
assert any("own.crt: the certificate expires on" in t and ("in 9 days" in t or "in 10 days" in t) for t in errs)
EOF
PID=$(pid_of fedge)
kill -HUP "$PID"
check_out "SIGHUP: reloaded, and the warning again" sh -c "
    for _ in \$(seq 50); do grep -q 'when=reload' '$LOG' && break; sleep 0.1; done
    grep 'certificates reloaded' '$LOG' && grep 'when=reload' '$LOG' | grep -Eq 'in (9|10) days'"
cp "$PKI/own-expired.contoso.test.crt" "$T_TMP/own.crt"
cp "$PKI/own-expired.contoso.test.key" "$T_TMP/own.key"
kill -HUP "$PID"
check_out "SIGHUP to an expired one: refused, the old one kept" sh -c "
    for _ in \$(seq 50); do grep -q 'reload failed' '$LOG' && break; sleep 0.1; done
    grep 'certificate reload failed: keeping the old ones' '$LOG' | grep -q 'own.crt: the certificate expired on 2020-02-01'"
check_out "and the edge still handshakes with the old one" sh -c "
    echo | timeout 5 openssl s_client -connect 127.0.0.1:$EXT_PORT -CAfile '$PKI/ca.crt' \
        -cert '$PKI/edge.fabrikam.test.crt' -key '$PKI/edge.fabrikam.test.key' \
        -verify_return_error -verify_hostname edge.contoso.test 2>&1 |
        grep -E 'Verification: OK|Verify return code: 0'"
check "fedge alive" alive fedge
stop fedge

note "revocation: [external] crl_file for partners' certificates, reloaded on SIGHUP"
"$G" "$PKI" --crl "$T_TMP/revoking.crl" edge.fabrikam.test
"$G" "$PKI" --crl "$T_TMP/empty.crl"
cp "$T_TMP/revoking.crl" "$T_TMP/partners.crl"
sed "/^require_client_certificate/i crl_file = $T_TMP/partners.crl" "$CFG" > "$T_TMP/crl.ini"
# the XMPP listener checks partners' certificates against the same CRLs
XMPP_PORT=$(free_port)
printf '\n[xmpp]\nlisten = 127.0.0.1:%s\n' "$XMPP_PORT" >> "$T_TMP/crl.ini"
check "fabrikam.test an XMPP partner that must authenticate by certificate (SASL EXTERNAL only)" \
    "$F" xmpp allow fabrikam.test --tls required --sasl on --dialback off -c "$T_TMP/crl.ini"
check_out "check-config shows the revocation list" sh -c "
    '$F' check-config -c '$T_TMP/crl.ini' | grep 'revocation lists $T_TMP/partners.crl'"
check "fedge serve starts with it" start_fedge "$T_TMP/crl.ini" fedge2 || finish
LOG=$T_LOGS/fedge2.log
# accepted CERT N: a partner presenting PKI/CERT.crt gets an answer to an OPTIONS
accepted() {
    printf 'OPTIONS sip:edge.contoso.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK-crl%s\r\nMax-Forwards: 70\r\nFrom: <sip:p@fabrikam.test>;tag=1\r\nTo: <sip:edge.contoso.test>\r\nCall-ID: crl-%s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n' "$2" "$2" |
        timeout 5 openssl s_client -quiet -connect 127.0.0.1:$EXT_PORT -CAfile "$PKI/ca.crt" \
            -cert "$PKI/$1.crt" -key "$PKI/$1.key" -verify_return_error 2>&1 | grep -m1 '^SIP/2.0 '
}
revoked() {
    ! accepted edge.fabrikam.test 0 || return 1
    for _ in $(seq 50); do grep -q 'certificate revoked' "$LOG" && break; sleep 0.1; done
    grep 'certificate revoked' "$LOG" | head -1
}
check_out "a revoked partner certificate: refused at the handshake (no answer), reason logged" revoked
check_out "a partner certificate not revoked (sip.contoso.test): accepted, OPTIONS answered" accepted sip.contoso.test 1
# xmpp_external CERT: an XMPP stream from fabrikam.test, STARTTLS presenting
# PKI/CERT.crt, then SASL EXTERNAL; succeeds when fedge offers and accepts it
xmpp_external() {
    python3 - "$XMPP_PORT" "$PKI" "$1" <<'PY'
import socket, ssl, sys
port, pki, cert = int(sys.argv[1]), sys.argv[2], sys.argv[3]
HDR = (b"<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
       b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0' "
       b"from='fabrikam.test' to='contoso.test'>")
def until(s, end):
    buf = b""
    while end not in buf:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    return buf
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(HDR)
until(s, b"</stream:features>")
s.sendall(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
assert b"<proceed" in until(s, b"/>")
ctx = ssl.create_default_context(cafile=pki + "/ca.crt")
ctx.load_cert_chain(pki + "/" + cert + ".crt", pki + "/" + cert + ".key")
t = ctx.wrap_socket(s, server_hostname="edge.contoso.test")
t.sendall(HDR)
feats = until(t, b"</stream:features>")
offered = b"<mechanism>EXTERNAL</mechanism>" in feats
t.sendall(b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>")
ans = until(t, b">")
print("EXTERNAL offered:", offered, "answer:", ans.decode(errors="replace")[:80])
sys.exit(0 if offered and b"<success" in ans else 1)
PY
}
xmpp_refused() { ! xmpp_external edge.fabrikam.test; }
check_out "XMPP: the revoked partner certificate is not accepted (no SASL EXTERNAL, auth refused)" \
    xmpp_refused
cp "$T_TMP/empty.crl" "$T_TMP/partners.crl"
kill -HUP "$(pid_of fedge2)"
after_reload() {
    for _ in $(seq 50); do grep -q 'certificates reloaded' "$LOG" && break; sleep 0.1; done
    grep 'certificates reloaded' "$LOG" && accepted edge.fabrikam.test 2
}
check_out "after a CRL revoking nothing and SIGHUP: the same partner is accepted" after_reload
check_out "XMPP after the same SIGHUP: the same certificate authenticates by SASL EXTERNAL" \
    xmpp_external edge.fabrikam.test
check "fedge alive" alive fedge2

note "fedge plan --csr: the request for exactly the plan's names"
csr() {
    "$F" plan -c "$CFG" --csr "$T_TMP/req" --key "$PKI/edge.contoso.test.key" >/dev/null || return 1
    local want='DNS:edge.contoso.test, DNS:contoso.test, URI:sip:contoso.test' out
    out=$(openssl req -in "$T_TMP/req.csr" -noout -text -verify 2>&1) || return 1
    echo "$out" | grep -E 'verify|Subject:|DNS:|Web'
    echo "$out" | grep -q 'Subject: CN = edge.contoso.test' &&
        echo "$out" | grep -qF "$want" &&
        echo "$out" | grep -q 'TLS Web Server Authentication, TLS Web Client Authentication' &&
        openssl req -new -config "$T_TMP/req.cnf" -key "$PKI/edge.contoso.test.key" |
        openssl req -noout -text | grep -qF "$want"
}
check_out "plan --csr --key: openssl req -text shows the names and both EKUs; the .cnf gives the same" csr
finish
