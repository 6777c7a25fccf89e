#!/bin/bash
# 055-limits: the [limits] protect the edge from greedy or stuck peers:
# max_connections_per_ip (the 6th connection from one address is refused
# while another address still gets in), handshake_timeout (a peer that
# never starts TLS is dropped), idle_timeout (a silent connection is
# closed), and the edge keeps serving others throughout.
. "$(dirname "$0")/lib.sh"

topology
FEDGE_LIMITS="max_connections_per_ip = 5
handshake_timeout = 2s
idle_timeout = 3s"
fedge_config "$T_TMP/fedge.ini"
check "fedge serve starts (5 per IP, handshake 2s, idle 3s)" start_fedge "$T_TMP/fedge.ini" || finish

per_ip() { # the 6th from 127.0.0.7 fails, 5 are held
    local out
    out=$($SIPCLIENT hold --port "$EXT_PORT" --pki "$PKI" --count 6 --parallel 1 --ping \
        --sources 127.0.0.7 --ready "$T_TMP/held" --hold-seconds 4 --timeout 3 2>&1 &
        wait_for "[ -s '$T_TMP/held' ]" 10; $SIPCLIENT options --port "$EXT_PORT" --pki "$PKI" --timeout 3 > "$T_TMP/other.out" 2>&1
        echo "other address: rc=$?"; wait)
    printf '%s\n' "$out"; cat "$T_TMP/other.out"
    printf '%s\n' "$out" | grep -q '^established: 5 of 6' &&
        printf '%s\n' "$out" | grep -q '^other address: rc=0'
}
check_out "6 connections from one address: 5 held, the 6th refused; another address gets 200" per_ip

stuck() { # plain TCP, no ClientHello: closed after about 2 s
    python3 - "$EXT_PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t0 = time.monotonic()
s.settimeout(6)
try:
    d = s.recv(100)
except (socket.timeout, OSError) as e:
    print("no close within 6s: %s" % e); sys.exit(1)
dt = time.monotonic() - t0
print("closed after %.2fs (%r)" % (dt, d[:20]))
sys.exit(0 if d == b"" and dt < 4.5 else 1)
PY
}
check_out "a peer that never starts TLS is dropped after handshake_timeout" stuck

idle() { # a silent, verified connection is closed after about 3 s
    python3 - "$EXT_PORT" "$PKI" <<'PY'
import socket, ssl, sys, time
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(sys.argv[2] + "/ca.crt")
ctx.load_cert_chain(sys.argv[2] + "/edge.fabrikam.test.crt", sys.argv[2] + "/edge.fabrikam.test.key")
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), server_hostname="edge.contoso.test")
t0 = time.monotonic()
s.settimeout(8)
try:
    d = s.recv(100)
except socket.timeout:
    print("still open after 8s"); sys.exit(1)
except (ssl.SSLError, OSError) as e:
    d = b""; print("closed with %s" % e)
dt = time.monotonic() - t0
print("closed after %.2fs" % dt)
sys.exit(0 if d == b"" and 2.5 < dt < 7 else 1)
PY
}
check_out "a silent TLS connection is closed after idle_timeout" idle
check_out "the edge still answers OPTIONS" $SIPCLIENT options --port "$EXT_PORT" --pki "$PKI"
check "fedge still running" alive fedge
finish
