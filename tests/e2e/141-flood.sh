#!/bin/bash
# 141-flood: a flood of plain TCP connections (no TLS) from 60 loopback
# addresses fills the external side's budget (max_connections 2000 here,
# the last 200 reserved for known peers) and keeps reopening what the edge
# refuses; each sends the first bytes of a TLS record and stops. Meanwhile: a new address is refused at once; a partner that
# talked to the edge before (a known peer) gets a new mutual TLS connection
# and 200; an internal server gets a new connection and 200; fedge's own
# outbound connection to the partner edge carries a MESSAGE to 200. The log
# grows by a bounded number of lines (refusals summarised), and once the
# flood is gone fedge's memory falls back within 2x its idle size.
. "$(dirname "$0")/lib.sh"

N=3000
ulimit -n "$(ulimit -Hn)" 2>/dev/null
check "open-files limit $(ulimit -n) leaves room for $N connections" test "$(ulimit -n)" -ge $((N + 500))

topology
FEDGE_LOG_LEVEL=info
FEDGE_LIMITS="max_connections = 2000
max_handshakes = 5000
handshake_rate = 1000
handshake_timeout = 60s"
fedge_config "$T_TMP/fedge.ini"
check "fedge serve starts (external budget 2000, 200 reserved)" start_fedge "$T_TMP/fedge.ini" || finish
check "partner edge (stunnel server on the default route) starts" outbound_legs || finish
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$(pid_of fedge)/status"; }
rss0=$(rss)
check_out "before the flood the partner connects (and becomes a known peer)" \
    $SIPCLIENT options --port "$EXT_PORT" --pki "$PKI"

cat > "$T_TMP/flood.py" <<'PY'
import os, socket, sys, time
port, n, state = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
srcs = ["127.0.1.%d" % (1 + i % 60) for i in range(n)]
def opn(i):
    s = socket.socket()
    s.setblocking(False)
    s.bind((srcs[i], 0))
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    return s
def hello(s):  # the start of a TLS record: the edge's TLS reader waits for the rest
    try:
        s.send(b"\x16\x03\x01")
    except OSError:
        pass
socks = [opn(i) for i in range(n)]
time.sleep(0.5)
for s in socks:
    hello(s)
reopened, t0, wrote = 0, time.monotonic(), False
while time.monotonic() - t0 < 120:
    for i, s in enumerate(socks):
        try:
            d = s.recv(1)
            dead = d == b""
        except BlockingIOError:
            dead = False
        except OSError:
            dead = True
        if dead:
            s.close()
            socks[i] = opn(i)
            reopened += 1
    if not wrote or int(time.monotonic()) % 2 == 0:
        with open(state + ".tmp", "w") as f:
            f.write("%d %d\n" % (n, reopened))
        os.replace(state + ".tmp", state)
        wrote = True
    time.sleep(0.2)
PY
start_bg flood python3 "$T_TMP/flood.py" "$EXT_PORT" "$N" "$T_TMP/flood.state"
flood_on() { [ -s "$T_TMP/flood.state" ] && [ "$(awk '{print $2}' "$T_TMP/flood.state")" -gt 1000 ]; }
wait_for flood_on 30
lines0=$(wc -l < "$T_LOGS/fedge.log")
check "the flood runs: $N held or reopened, over 1000 refused and reopened ($(cat "$T_TMP/flood.state" 2>/dev/null))" flood_on

new_refused() { # an unknown address is refused at once: the budget is full
    python3 - "$EXT_PORT" <<'PY'
import socket, sys, time
s = socket.socket(); s.bind(("127.0.2.1", 0)); s.connect(("127.0.0.1", int(sys.argv[1])))
s.settimeout(3); t = time.monotonic()
try:
    d = s.recv(10)
except socket.timeout:
    print("not refused within 3 s"); sys.exit(1)
except OSError as e:
    d = b""; print("reset: %s" % e)
print("closed after %.2fs" % (time.monotonic() - t)); sys.exit(0 if d == b"" else 1)
PY
}
check_out "during the flood a new unknown address is refused at once" new_refused
check_out "during the flood the known partner's new TLS connection gets 200" \
    $SIPCLIENT options --port "$EXT_PORT" --pki "$PKI" --timeout 10
int_options() {
    python3 - "$INT_PORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"OPTIONS sip:edge.contoso.test SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKflood\r\n"
          b"Max-Forwards: 70\r\nFrom: <sip:x@contoso.test>;tag=1\r\nTo: <sip:edge.contoso.test>\r\n"
          b"Call-ID: flood@x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
d = s.recv(200); print(d.split(b"\r\n")[0].decode()); sys.exit(0 if d.startswith(b"SIP/2.0 200") else 1)
PY
}
check_out "during the flood an internal server's new connection gets 200" int_options
check "during the flood fedge's own outbound connection carries a MESSAGE to the partner (200)" \
    outbound_flow out-message message_uac.xml message_uas.xml
summarised() { grep -qE "refused [0-9,]+ connections from [0-9,]+ addresses in the last 10 s" "$T_LOGS/fedge.log"; }
wait_for summarised 15
check "the refusals are summarised after 10 s" summarised
check "the flood was still running throughout" alive flood
note "flood: $(cat "$T_TMP/flood.state") (connections, refused and reopened)"
rss1=$(rss)
stop flood
rss_back() { [ "$(rss)" -le $((2 * rss0)) ]; }
wait_for rss_back 10
note "fedge RSS: ${rss0} kB idle, ${rss1} kB during the flood, $(rss) kB after"
check "after the flood fedge's RSS is back within 2x its idle value" rss_back
lines1=$(wc -l < "$T_LOGS/fedge.log")
note "fedge log grew by $((lines1 - lines0)) lines during the flood; summaries:"
grep -E "refused [0-9,]+ connections" "$T_LOGS/fedge.log" | sed 's/^/# /' | cut -c1-200 | tail -5
check "the log grew by a bounded number of lines (<= 60)" test $((lines1 - lines0)) -le 60
check "fedge still running" alive fedge
finish
