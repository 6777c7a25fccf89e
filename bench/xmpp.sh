#!/bin/bash
# xmpp.sh — the SIP <-> XMPP gateway (docs/xmpp.md) with a real partner
# server, on loopback: Prosody (Debian 0.12) as fabrikam.test with a slixmpp
# user bob who answers every message, fedge as contoso.test, and the
# internal SIP side in Python (tests/e2e/xmpp/sip_im.py uas as the next
# hop, bench/xmpp_load.py as the sender).
#
# Figures:
#   1. messages per second through the gateway: BENCH_XMPP_MESSAGES (10000)
#      SIP MESSAGEs from alice to bob over one TCP connection (at most
#      BENCH_XMPP_WINDOW, 50, unanswered) -> fedge -> s2s (STARTTLS + SASL
#      EXTERNAL) -> Prosody -> bob's client, whose answers come back ->
#      Prosody -> s2s -> fedge -> SIP MESSAGE to the next hop. Reported:
#      SIP -> XMPP (all 200s at the sender; the 200 means written on the
#      authenticated stream), delivered to bob's client, and the round trip
#      (every answer at the next hop), each as messages per second from the
#      first send. Python (slixmpp, the SIP helpers) is in the path: the
#      figure is a floor for fedge, not a ceiling.
#   2. memory per idle s2s stream: fedge's resident set (VmRSS) before and
#      after BENCH_XMPP_IDLE (500) authenticated inbound streams (STARTTLS,
#      SASL EXTERNAL, as fabrikam.test, from bench/xmpp_load.py idle), the
#      difference divided by the streams open.
# [xmpp] stanza_rate is raised to 100000 for the run (the default, 50 per
# second per inbound stream, would close Prosody's stream carrying the
# answers). Exit status 0 when every message made the round trip and every
# idle stream opened. Logs: $FEDGE_BUILD/bench/xmpp/.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
FEDGE_ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${FEDGE_BUILD:=build}"
case $FEDGE_BUILD in /*) ;; *) FEDGE_BUILD=$FEDGE_ROOT/$FEDGE_BUILD ;; esac
export FEDGE_ROOT FEDGE_BUILD
T_NAME=bench-xmpp
T_LOGS=$FEDGE_BUILD/bench/xmpp
. "$FEDGE_ROOT/tests/e2e/lib.sh"

N=${BENCH_XMPP_MESSAGES:-10000}
WINDOW=${BENCH_XMPP_WINDOW:-50}
IDLE=${BENCH_XMPP_IDLE:-500}
PY=/usr/bin/python3
XD=$E2E_DIR/xmpp
say() { echo "$*"; echo "$*" >> "$T_LOGS/summary.txt"; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null

topology
XMPP_PORT=$(free_port)
P_C2S=$(free_port)
P_S2S=$(free_port)
CFG=$T_TMP/fedge.ini
FEDGE_LOG_LEVEL=${BENCH_FEDGE_LOG_LEVEL:-warning}
FEDGE_LIMITS="max_connections = 20000
max_connections_per_ip = 20000
idle_timeout = 3600"
fedge_config "$CFG"
cat >> "$CFG" <<CFGEOF

[xmpp]
listen = 127.0.0.1:$XMPP_PORT
stanza_rate = 100000
CFGEOF

# Prosody (prosody_start, tests/e2e/lib.sh), warnings only to its log: its
# s2s streams for contoso.test go to fedge's XMPP port.
P_ROUTE="{ \"127.0.0.1\", $XMPP_PORT }"

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$(pid_of fedge)/status"; }
count() { grep -c "$1" "$2" 2>/dev/null || true; }
now() { date +%s.%N; }

"$FEDGE_BIN" policy set global --federation on --xmpp on -c "$CFG" > "$T_LOGS/store.log" 2>&1 &&
    "$FEDGE_BIN" xmpp allow fabrikam.test --proxy-fqdn "127.0.0.1:$P_S2S" -c "$CFG" >> "$T_LOGS/store.log" 2>&1 ||
    { cat "$T_LOGS/store.log"; exit 1; }
prosody_start "$P_ROUTE" "warn = \"$T_LOGS/prosody.log\"" || { echo "Prosody did not start"; show prosody; exit 1; }
start_bg uas $PY "$XD/sip_im.py" uas --port "$UAS_PORT"
wait_for "grep -qs READY '$T_LOGS/uas.log'" 5 || { echo "next hop did not start"; exit 1; }
FEDGE_NO_PARTNER=1 start_fedge "$CFG" || exit 1
wait_listen "$XMPP_PORT" 5 || exit 1
start_bg bob $PY "$XD/xmpp_user.py" bob@fabrikam.test secret "$P_C2S" --echo --seconds 3600
wait_for "grep -q ONLINE '$T_LOGS/bob.log'" 15 || { echo "bob not online"; show bob; exit 1; }

say "== XMPP gateway through Prosody 0.12 (bench/xmpp.sh)"
# Warm-up: both streams negotiated before the clock runs.
$PY "$FEDGE_ROOT/bench/xmpp_load.py" sip "$INT_PORT" 1 1 > "$T_LOGS/warmup.log" 2>&1
wait_for "[ \$(count 're: bench-0' '$T_LOGS/uas.log') -ge 1 ]" 15 || { echo "warm-up message did not come back"; exit 1; }
b0=$(count 'MSG alice@contoso.test bench-' "$T_LOGS/bob.log")
r0=$(count 're: bench-' "$T_LOGS/uas.log")
t0=$(now)
$PY "$FEDGE_ROOT/bench/xmpp_load.py" sip "$INT_PORT" "$N" "$WINDOW" > "$T_LOGS/load.log" 2>&1
sip_rc=$?
read -r _ ok bad sip_s < <(grep '^SIP ' "$T_LOGS/load.log" | tail -1)
t_bob=""; t_back=""
end=$(( $(date +%s) + 120 ))
while [ "$(date +%s)" -lt "$end" ]; do
    b=$(( $(count 'MSG alice@contoso.test bench-' "$T_LOGS/bob.log") - b0 ))
    r=$(( $(count 're: bench-' "$T_LOGS/uas.log") - r0 ))
    [ -z "$t_bob" ] && [ "$b" -ge "$N" ] && t_bob=$(echo "$(now) - $t0" | bc)
    [ "$r" -ge "$N" ] && { t_back=$(echo "$(now) - $t0" | bc); break; }
    sleep 0.05
done
say "  messages: $N SIP MESSAGEs, window $WINDOW; answered 200: ${ok:-0}, refused: ${bad:-?}"
rate() { echo "scale=0; $N / $1" | bc; }
[ "$sip_rc" -eq 0 ] && say "  SIP -> XMPP (200 at the sender):          $(rate "$sip_s") messages/s (${sip_s} s)"
[ -n "$t_bob" ] && say "  delivered to the XMPP client:              $(rate "$t_bob") messages/s ($t_bob s)"
if [ -n "$t_back" ]; then
    say "  round trip SIP -> XMPP -> SIP (answers at the next hop): $(rate "$t_back") messages/s ($t_back s)"
else
    say "  round trip: only $r of $N answers came back within 120 s"
fi

# Idle streams: fedge's RSS before and after.
sleep_until_quiet() { wait_for "[ \$(count 're: bench-' '$T_LOGS/uas.log') -ge \$((r0 + N)) ]" 5; }
sleep_until_quiet
rss0=$(rss_kb)
start_bg idle $PY "$FEDGE_ROOT/bench/xmpp_load.py" idle "$XMPP_PORT" "$IDLE" "$PKI"
wait_for "grep -qs '^OPEN' '$T_LOGS/idle.log'" 300
opened=$(awk '/^OPEN/ {print $2}' "$T_LOGS/idle.log")
rss1=$(rss_kb)
if [ -n "$opened" ] && [ "$opened" -gt 0 ]; then
    say "  idle s2s streams: $opened of $IDLE authenticated (STARTTLS + SASL EXTERNAL); fedge VmRSS $rss0 -> $rss1 kB: $(echo "scale=1; ($rss1 - $rss0) / $opened" | bc) kB per stream"
else
    say "  idle s2s streams: none opened"; show idle
fi
stop idle
stop bob
stop fedge
[ "$sip_rc" -eq 0 ] && [ -n "$t_back" ] && [ "${opened:-0}" = "$IDLE" ]
