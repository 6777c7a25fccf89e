#!/bin/bash
# 050-many-connections: 2,000 partner TLS connections (mutual TLS, each
# verified) held open at once, spread over 40 loopback source addresses so
# that the default per-address limit (100) is not what is measured. Every
# held connection must answer an OPTIONS, a fresh connection too, and after
# they all close the edge still answers.
. "$(dirname "$0")/lib.sh"

N=2000
ulimit -n "$(ulimit -Hn)" 2>/dev/null
check "open-files limit $(ulimit -n) leaves room for $N connections" test "$(ulimit -n)" -ge $((N + 200))

topology
FEDGE_LOG_LEVEL=info
fedge_config "$T_TMP/fedge.ini"
check "fedge serve starts" start_fedge "$T_TMP/fedge.ini" || finish
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$(pid_of fedge)/status"; }
rss0=$(rss)

sources=$(for i in $(seq 2 41); do printf '127.0.0.%d,' "$i"; done)
check_out "$N TLS connections held at once, each answers OPTIONS; a fresh one too" \
    timeout 300 $SIPCLIENT hold --port "$EXT_PORT" --pki "$PKI" --count "$N" --parallel 50 \
    --sources "$sources" --timeout 60 --check
check "the edge closed its side of all $N connections" wait_for "[ \$(conns_on $EXT_PORT) -eq 0 ]" 10
note "fedge RSS ${rss0} kB before, $(rss) kB after $N connections closed"
check_out "after they closed, the edge still answers OPTIONS" \
    $SIPCLIENT options --port "$EXT_PORT" --pki "$PKI"
check "fedge still running" alive fedge
finish
