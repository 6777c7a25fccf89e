#!/bin/bash
# remote.sh — benchmark remote users through the edge (docs/remote-users.md):
#
#   1. registrations per second: SIPp behind stunnel (TLS to the [remote]
#      listener, no client certificate) registers BENCH_REMOTE_REGS (10000)
#      times at BENCH_REMOTE_RATE (2000/s asked) through fedge to Kamailio
#      as the registrar (tests/e2e/kamailio-registrar.cfg: digest, Path),
#      each registration a REGISTER, its 401, the REGISTER with
#      credentials and the 200; the figure is completed registrations over
#      SIPp's own elapsed time (it is the asked rate while the edge and
#      Kamailio keep up: raise BENCH_REMOTE_RATE to find the ceiling);
#   2. memory per connected remote client: fedge's RSS and PSS before and
#      after BENCH_REMOTE_CLIENTS (10000) idle TLS clients (Python, no
#      client certificate) connected to the [remote] listener and each
#      answered one CRLF keep-alive (so that each is admitted and holds a
#      flow), divided by the number connected (the clients get 120 s to
#      connect; fewer than asked fails the run).
#
# Target: <= 20 KiB per client. Exit status 0 only when every registration
# completed and the target holds. Logs: $FEDGE_BUILD/bench/remote/.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
FEDGE_ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${FEDGE_BUILD:=build}"
case $FEDGE_BUILD in /*) ;; *) FEDGE_BUILD=$FEDGE_ROOT/$FEDGE_BUILD ;; esac
export FEDGE_ROOT FEDGE_BUILD
T_NAME=bench-remote
T_LOGS=$FEDGE_BUILD/bench/remote
. "$FEDGE_ROOT/tests/e2e/lib.sh"
. "$FEDGE_ROOT/bench/common.bash"

REGS=${BENCH_REMOTE_REGS:-10000}
RATE=${BENCH_REMOTE_RATE:-2000}
CLIENTS=${BENCH_REMOTE_CLIENTS:-10000}
F=$FEDGE_BIN
ok=1

topology
REM_PORT=$(free_port); KTLS=$(free_port); KTCP=$(free_port)
CFG=$T_TMP/fedge.ini
FEDGE_LOG_LEVEL=notice FEDGE_LIMITS="max_connections = $((CLIENTS + 1000))
reserved_for_known = 0
max_connections_per_ip = $((CLIENTS + 100))
handshake_rate = 1000000
max_handshakes = $((CLIENTS + 100))
idle_timeout = 1h" fedge_config "$CFG"
sed -i "s/^next_hop = .*/next_hop = 127.0.0.1:$KTCP/" "$CFG"
cat >> "$CFG" <<EOT

[remote]
listen = 127.0.0.1:$REM_PORT
registrar = 127.0.0.1:$KTCP
max_connections_per_ip = $((CLIENTS + 100))
register_rate = 100000
EOT

kamailio_start registrar "$E2E_DIR/kamailio-registrar.cfg" "$KTLS" "$KTCP" \
    "sip:127.0.0.1:$INT_PORT;transport=tcp" || { echo "remote.sh: Kamailio did not start"; exit 1; }
FEDGE_NO_PARTNER=1 start_fedge "$CFG" || { echo "remote.sh: fedge did not start"; exit 1; }
"$F" edge set --outside-users on -c "$CFG" > /dev/null || exit 1
"$F" policy set global --outside on -c "$CFG" > /dev/null || exit 1
stunnel_client client-tls "$(free_port)" "$REM_PORT" "" || { echo "remote.sh: stunnel"; exit 1; }
CL=$(sed -n 's/^accept = 127.0.0.1://p' "$T_TMP/client-tls.conf")

echo "# 1. registrations through the edge (digest: REGISTER, 401, REGISTER, 200)"
LP=$(free_port)
t0=$(date +%s.%N)
(cd "$T_LOGS" && exec timeout $((REGS / RATE + 60)) sipp "127.0.0.1:$CL" \
    -sf "$SCEN/remote_register_uac.xml" -t t1 -i 127.0.0.1 -p "$LP" -nostdin \
    -r "$RATE" -rp 1000 -m "$REGS" -l $((RATE * 4 + 100)) -recv_timeout 5000 \
    -timeout $((REGS / RATE + 40)) -trace_screen -screen_file "$T_LOGS/reg.screen" \
    -key user alice -key contact "sip:alice@127.0.0.1:$LP;transport=tls;ob" \
    -au alice -ap remote-secret-42 > "$T_LOGS/reg.log" 2>&1 < /dev/null)
t1=$(date +%s.%N)
# the screen file is written when SIPp ends normally; else its last screen
# in the log
SCR=$T_LOGS/reg.screen
[ -s "$SCR" ] || SCR=$T_LOGS/reg.log
R_OK=$(awk -F'|' '/Successful call/ {gsub(/ /, "", $3); v=$3} END {print v+0}' "$SCR")
R_FAIL=$(awk -F'|' '/Failed call/ {gsub(/ /, "", $3); v=$3} END {print v+0}' "$SCR")
R_EL=$(grep -Eo '[0-9.]+ s +[0-9]+ +127\.0\.0\.1' "$SCR" | tail -1 | awk '{print $1}')
: "${R_EL:=$(echo "$t1 - $t0" | bc)}"
printf 'registrations: %s completed, %s failed in %s s (asked %s/s): %.0f registrations/s\n' \
    "$R_OK" "$R_FAIL" "$R_EL" "$RATE" "$(echo "$R_OK / $R_EL" | bc -l)"
[ "$R_OK" -eq "$REGS" ] && [ "$R_FAIL" -eq 0 ] || ok=0

echo "# 2. memory per connected remote client ($CLIENTS idle TLS clients, no client certificate)"
RSS0=$(mem_kb fedge Rss); PSS0=$(mem_kb fedge Pss)
mkfifo "$T_TMP/ready"
start_bg clients python3 -c '
import socket, ssl, sys, time
port, n, ca = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
conns, t0 = [], time.time()
for i in range(n):
    if time.time() - t0 > 120:
        break
    try:
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                            server_hostname="edge.contoso.test")
        s.sendall(b"\r\n\r\n")
        if s.recv(16) != b"\r\n":
            break
    except OSError as e:
        print("client %d: %s" % (i + 1, e), flush=True)
        break
    conns.append(s)
print("connected %d in %.1f s" % (len(conns), time.time() - t0), flush=True)
open(sys.argv[4], "w").write("%d\n" % len(conns))
time.sleep(3600)
' "$REM_PORT" "$CLIENTS" "$PKI/ca.crt" "$T_TMP/ready"
read -r N < "$T_TMP/ready"
RSS1=$(mem_kb fedge Rss); PSS1=$(mem_kb fedge Pss)
cat "$T_LOGS/clients.log"
if [ "$N" -gt 0 ]; then
    PER_RSS=$(echo "($RSS1 - $RSS0) * 1024 / $N" | bc)
    PER_PSS=$(echo "($PSS1 - $PSS0) * 1024 / $N" | bc)
    printf 'fedge RSS %s kB -> %s kB, PSS %s kB -> %s kB with %s clients: %.1f KiB (RSS) / %.1f KiB (PSS) per client (target <= 20 KiB)\n' \
        "$RSS0" "$RSS1" "$PSS0" "$PSS1" "$N" "$(echo "$PER_RSS / 1024" | bc -l)" "$(echo "$PER_PSS / 1024" | bc -l)"
    [ "$N" -eq "$CLIENTS" ] && [ "$PER_RSS" -le $((20 * 1024)) ] || ok=0
else
    echo "no client connected"; ok=0
fi
stop clients
stop fedge
stop registrar
[ "$ok" = 1 ] && echo "remote.sh: PASS" || echo "remote.sh: FAIL"
[ "$ok" = 1 ]
