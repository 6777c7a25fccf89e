#!/bin/bash
# 140-slow-peers: peers that trickle bytes cannot hold the edge. A SIP
# message, once started, must be complete within [limits] message_timeout
# (here 2 s) however slowly its bytes arrive (each byte resets the idle
# timer, so only the deadline catches them): a trickled header block on
# mutual TLS and on the internal side, a body shorter than its
# Content-Length. A connection that finishes its messages stays open past
# the deadline. The admin server: 120 connections trickling an HTTP header
# from two addresses take at most 8 places each and are closed 10 s after
# they opened, while the panel keeps answering a third address; the log
# grows by a bounded number of lines.
. "$(dirname "$0")/lib.sh"

topology
FEDGE_LOG_LEVEL=info
FEDGE_LIMITS="message_timeout = 2s
idle_timeout = 60s"
fedge_config "$T_TMP/fedge.ini"
check "fedge serve starts (message_timeout 2s)" start_fedge "$T_TMP/fedge.ini" || finish
wait_listen "$ADMIN_PORT" 10

trickle_sip() { # SIDE: trickle an OPTIONS header a byte every 0.3 s; closed in 1.5-4.5 s
    python3 - "$1" "$EXT_PORT" "$INT_PORT" "$PKI" <<'PY'
import socket, ssl, sys, time
side, ext, intp, pki = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
if side == "external":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(pki + "/ca.crt")
    ctx.load_cert_chain(pki + "/edge.fabrikam.test.crt", pki + "/edge.fabrikam.test.key")
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", ext)), server_hostname="edge.contoso.test")
else:
    s = socket.create_connection(("127.0.0.1", intp))
msg = b"OPTIONS sip:bob@contoso.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1;branch=z9hG4bKtrickle\r\n" * 5
t0 = time.monotonic()
s.settimeout(0.3)
for i, b in enumerate(msg):
    try:
        s.sendall(bytes([b]))
        d = s.recv(100)
        if d == b"":
            break
    except socket.timeout:
        continue
    except (OSError, ssl.SSLError):
        break
dt = time.monotonic() - t0
print("%s: closed after %.2fs, %d bytes trickled" % (side, dt, i))
sys.exit(0 if 1.5 <= dt <= 4.5 else 1)
PY
}
check_out "a trickled SIP header on mutual TLS is closed by message_timeout" trickle_sip external
check_out "a trickled SIP header on the internal side is closed by message_timeout" trickle_sip internal

short_body() { # Content-Length 100, 10 bytes sent, then silence: closed in 1.5-4.5 s
    python3 - "$INT_PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"MESSAGE sip:alice@contoso.test SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKshort\r\n"
          b"Max-Forwards: 70\r\nFrom: <sip:x@fabrikam.test>;tag=1\r\nTo: <sip:alice@contoso.test>\r\n"
          b"Call-ID: short@x\r\nCSeq: 1 MESSAGE\r\nContent-Length: 100\r\n\r\n0123456789")
t0 = time.monotonic()
s.settimeout(6)
try:
    d = s.recv(100)
except socket.timeout:
    print("still open after 6 s"); sys.exit(1)
dt = time.monotonic() - t0
print("closed after %.2fs (%r)" % (dt, d[:20]))
sys.exit(0 if d == b"" and 1.5 <= dt <= 4.5 else 1)
PY
}
check_out "a body shorter than its Content-Length is closed by message_timeout" short_body

complete_ok() { # pings and a message sent in two halves 1 s apart, silence 3 s: still open
    python3 - "$INT_PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
msg = (b"OPTIONS sip:edge.contoso.test SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKhalf\r\n"
       b"Max-Forwards: 70\r\nFrom: <sip:x@contoso.test>;tag=1\r\nTo: <sip:edge.contoso.test>\r\n"
       b"Call-ID: half@x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
s.sendall(msg[:60]); time.sleep(1.2); s.sendall(msg[60:])
d = s.recv(4096)
print("answer to a message completed within the deadline: %r" % d[:40])
ok = d.startswith(b"SIP/2.0 ")
time.sleep(3)  # longer than message_timeout, nothing pending
s.sendall(b"\r\n\r\n")
p = s.recv(10)
print("pong after 3 s of silence: %r" % p)
sys.exit(0 if ok and p == b"\r\n" else 1)
PY
}
check_out "a peer that completes its messages stays open past message_timeout" complete_ok

http_trickle() { # 120 trickling connections from 127.0.0.2/.3; the panel answers 127.0.0.1
    python3 - "$ADMIN_PORT" <<'PY'
import socket, sys, time, urllib.request
port = int(sys.argv[1])
socks = []
for i in range(120):
    s = socket.socket()
    s.bind(("127.0.0.%d" % (2 + i % 2), 0))
    s.connect(("127.0.0.1", port))
    s.setblocking(False)
    socks.append(s)
t0 = time.monotonic()
head = b"GET /api/session HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100
def alive(s):
    try:
        return s.recv(4096) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
panel, i, counts = [], 0, []
while time.monotonic() - t0 < 14:
    for s in socks:
        try:
            s.send(head[i:i + 1] if i < len(head) else b"a")
        except OSError:
            pass
    i += 1
    if i in (2, 6):  # while the tricklers hold their places
        t = time.monotonic()
        try:
            r = urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=3)
            panel.append((r.status, time.monotonic() - t))
        except Exception as e:
            panel.append((str(e), time.monotonic() - t))
    counts.append((round(time.monotonic() - t0, 1), sum(alive(s) for s in socks)))
    if counts[-1][1] == 0:
        break
    time.sleep(1)
print("panel from 127.0.0.1 (status, seconds):", panel)
print("trickling connections still open (s, n):", counts)
held = max(n for _, n in counts[1:3]) if len(counts) > 2 else -1
ok = all(p[0] == 200 and p[1] < 2 for p in panel) and len(panel) == 2
ok = ok and 0 < held <= 32 and counts[-1][1] == 0 and counts[-1][0] <= 13
sys.exit(0 if ok else 1)
PY
}
lines0=$(wc -l < "$T_LOGS/fedge.log")
check_out "120 trickling HTTP connections from two addresses: 16 each held, all closed within 13 s, the panel answers" http_trickle
lines1=$(wc -l < "$T_LOGS/fedge.log")
note "fedge log grew by $((lines1 - lines0)) lines during the HTTP trickle"
check "the log grew by a bounded number of lines (<= 20)" test $((lines1 - lines0)) -le 20
check_out "the edge still answers OPTIONS" $SIPCLIENT options --port "$EXT_PORT" --pki "$PKI"
check "fedge still running" alive fedge
finish
