#!/bin/bash
# 151-xmpp-hostile: hostile XMPP server-to-server streams against a running
# fedge with [xmpp] (tests/e2e/xmpp/hostile.py): a billion-laughs document,
# a 10 MB stanza, 100 000 nested elements, a stream header that never ends
# and a silent stream, each closed with its stream error, fedge's memory
# bounded, and a normal stream header still answered afterwards.
. "$(dirname "$0")/lib.sh"

PY=python3
XD=$E2E_DIR/xmpp
topology
XMPP_PORT=$(free_port)
CFG=$T_TMP/fedge.ini
fedge_config "$CFG"
cat >> "$CFG" <<EOF2

[xmpp]
listen = 127.0.0.1:$XMPP_PORT
EOF2

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$(pid_of fedge)/status"; }

check "fabrikam.test allowed as an XMPP partner, TLS optional (so plain streams reach the parser)" \
    "$FEDGE_BIN" xmpp allow fabrikam.test --tls optional -c "$CFG"
check "fedge serve starts with [xmpp]" start_fedge "$CFG" || finish
check "fedge listens for XMPP servers on $XMPP_PORT" wait_listen "$XMPP_PORT" 5
RSS0=$(rss_kb)
note "fedge RSS before: $RSS0 KiB"
check_out "billion laughs: closed with restricted-xml" $PY "$XD/hostile.py" "$XMPP_PORT" laughs
check_out "10 MB stanza: closed with policy-violation at the stanza limit" \
    $PY "$XD/hostile.py" "$XMPP_PORT" big
check_out "100 000 nested elements: closed with policy-violation" \
    $PY "$XD/hostile.py" "$XMPP_PORT" deep
check_out "a stream header that never ends: closed with policy-violation" \
    $PY "$XD/hostile.py" "$XMPP_PORT" header
check_out "a silent stream: closed by the negotiation deadline (15 s)" \
    $PY "$XD/hostile.py" "$XMPP_PORT" silent --timeout 25
RSS1=$(rss_kb)
note "fedge RSS after: $RSS1 KiB"
check "fedge's memory grew by less than 8 MiB over all of it ($RSS0 -> $RSS1 KiB)" \
    test $((RSS1 - RSS0)) -lt 8192
hello() {
    $PY - "$XMPP_PORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
          b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0' "
          b"from='fabrikam.test' to='contoso.test'>")
buf = b""
while b"</stream:features>" not in buf:
    d = s.recv(4096)
    if not d:
        break
    buf += d
print(buf.decode())
sys.exit(0 if b"<starttls" in buf else 1)
PY
}
check_out "a normal stream is still answered (header and features)" hello
check "fedge still running" alive fedge
check "fedge exits 0 on SIGTERM" stop fedge
finish
