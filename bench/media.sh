#!/bin/bash
# media.sh — calls with their media through one edge and a real rtpengine
# (docs/media.md, "Capacity"): how many concurrent relayed calls one edge
# holds with RTP flowing, and what the relay adds to a call's set-up.
#
# Path: an internal phone (bench/media_calls.py, one TCP connection to the
# internal side) -> fedge -> mutual TLS -> the partner's edge (stunnel
# server) -> the partner (media_calls.py too); rtpengine started here in
# user space (--table=-1, interfaces internal/127.0.0.2 and
# external/127.0.0.3, its own port range, ng on loopback).
#
#   1. baseline: fedge without [media], BENCH_MEDIA_BASE (500) calls at
#      BENCH_MEDIA_RATE (50) calls/s: INVITE -> 200 at the phone, fedge
#      CPU per call set-up (INVITE, 200, ACK);
#   2. the same edge with [media]: BENCH_MEDIA_CALLS (1000) calls at the
#      same rate, all held: the same figures with two ng round trips per
#      call (offer, answer) in them, rtpengine's CPU apart; the difference
#      with 1. is what the relay adds;
#   3. RTP on the held calls (build/bench/rtpload: sendmmsg/recvmmsg, one
#      process): BENCH_MEDIA_PPS (50) packets/s each way per call, in steps
#      of BENCH_MEDIA_STEPS calls (250,500,625,750,875,1000), each with 2 s of
#      warm-up and BENCH_MEDIA_SECONDS (10) measured, per call and
#      direction (a packet later than 200 ms, or not there 1 s after the
#      step's last one, is lost); loss over 1 % either way, or rtpload
#      unable to send 99 % of what was asked, ends the steps. CPU (from /proc) of
#      rtpengine, fedge and rtpload apart, the machine's idle time, the
#      one-way time through the relay, drops the kernel counted (rtpload's
#      sockets, all UDP sockets, the input backlog).
# Reports "media: held N concurrent relayed calls": the largest step whose
# loss stayed at or under 1 % both ways. Exit status 0 when every call was
# set up and the first step held. Logs: $FEDGE_BUILD/bench/media/.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
FEDGE_ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${FEDGE_BUILD:=build}"
case $FEDGE_BUILD in /*) ;; *) FEDGE_BUILD=$FEDGE_ROOT/$FEDGE_BUILD ;; esac
export FEDGE_ROOT FEDGE_BUILD
T_NAME=bench-media
T_LOGS=$FEDGE_BUILD/bench/media
. "$FEDGE_ROOT/tests/e2e/lib.sh"

BASE=${BENCH_MEDIA_BASE:-500}
CALLS=${BENCH_MEDIA_CALLS:-1000}
RATE=${BENCH_MEDIA_RATE:-50}
PPS=${BENCH_MEDIA_PPS:-50}
STEPS=${BENCH_MEDIA_STEPS:-250,500,625,750,875,1000}
SECS=${BENCH_MEDIA_SECONDS:-10}
RTPLOAD=$FEDGE_BUILD/bench/rtpload
NSOCK=8
command -v rtpengine > /dev/null || { echo "media.sh: rtpengine is not installed (scripts/bootstrap)"; exit 1; }
[ -x "$RTPLOAD" ] || { echo "media.sh: $RTPLOAD is not built (make bench builds it)"; exit 1; }

topology
outbound_legs
NG_PORT=$(free_port)
# Two ports per call and interface (RTP, RTCP), and room to spare.
RTP_MIN=$((40000 + ($$ % 4) * 5000))
# The phone's and the partner's RTP sockets (rtpload binds them): UDP
# ports free now, all distinct.
read -r IPORTS EPORTS < <(python3 -c '
import socket, sys
n = int(sys.argv[1])
ss = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2 * n)]
for s in ss: s.bind(("127.0.0.1", 0))
p = [str(s.getsockname()[1]) for s in ss]
print(",".join(p[:n]), ",".join(p[n:]))' "$NSOCK")

cpu_us() { # PID -> utime+stime in microseconds
    awk -v hz="$(getconf CLK_TCK)" '{sub(/.*\) /, ""); print ($12 + $13) * 1000000 / hz}' "/proc/$1/stat"
}

# --timeout=600: the calls of the last steps wait over a minute for their
# first RTP packet, and rtpengine would end them after 60 s without media.
start_bg rtpengine rtpengine --foreground --config-file=none --table=-1 \
    --interface=internal/127.0.0.2 --interface=external/127.0.0.3 \
    --listen-ng="127.0.0.1:$NG_PORT" --port-min="$RTP_MIN" --port-max=$((RTP_MIN + 4999)) \
    --log-stderr --log-level=4 --num-threads=2 --delete-delay=0 --timeout=600
RP=$BG_PID
python3 - "$NG_PORT" <<'PY' || { echo "media.sh: rtpengine does not answer ng ping"; show rtpengine; exit 1; }
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.2)
end = time.time() + 10
while time.time() < end:
    s.sendto(b"up d7:command4:pinge", ("127.0.0.1", int(sys.argv[1])))
    try:
        if b"pong" in s.recv(100): sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
PY

CFG=$T_TMP/fedge.ini
FEDGE_LOG_LEVEL=warning fedge_config "$CFG"
ok=1

# calls NAME COUNT [--out FILE]: the signalling driver against the running
# fedge, with fedge's (and rtpengine's) CPU over it; sets S_LINE S_FCPU S_RCPU.
# The driver keeps its connections open afterwards (a call whose
# connection closes becomes an orphan, deleted once its grace passes
# without media), until `stop NAME-calls`.
calls() {
    local name=$1 n=$2 fp f0 r0
    shift 2
    fp=$(pid_of "$name")
    f0=$(cpu_us "$fp"); r0=$(cpu_us "$RP")
    rm -f "$T_TMP/$name.ready"
    start_bg "$name-calls" python3 "$FEDGE_ROOT/bench/media_calls.py" --int-port "$INT_PORT" \
        --partner-port "$PUAS_PORT" --dr-port "$DR_PORT" --calls "$n" --rate "$RATE" \
        --int-ports "$IPORTS" --ext-ports "$EPORTS" --hold 3600 --ready "$T_TMP/$name.ready" "$@"
    wait_for "test -e '$T_TMP/$name.ready'" "$((n / RATE + 30))" || ok=0
    grep -q ' 0 failed;' "$T_LOGS/$name-calls.log" || ok=0
    S_FCPU=$(echo "$(cpu_us "$fp") - $f0" | bc)
    S_RCPU=$(echo "$(cpu_us "$RP") - $r0" | bc)
    cat "$T_LOGS/$name-calls.log"
    S_LINE=$(grep '^signalling:' "$T_LOGS/$name-calls.log" | tail -1)
}
p50() { sed -n 's/.*p50 \([0-9.]*\) ms.*/\1/p' <<< "$1"; }
p99() { sed -n 's/.*p99 \([0-9.]*\) ms.*/\1/p' <<< "$1"; }

echo "# 1. baseline: fedge without [media], $BASE calls at $RATE/s"
start_fedge "$CFG" fedge-plain || { echo "media.sh: fedge did not start"; exit 1; }
calls fedge-plain "$BASE"
B_LINE=$S_LINE
B_CPU=$(echo "scale=1; $S_FCPU / $BASE" | bc)
stop fedge-plain-calls
stop fedge-plain

echo "# 2. fedge with [media] (rtpengine), $CALLS calls at $RATE/s, all held"
cat >> "$CFG" <<EOF

[media]
rtpengine = 127.0.0.1:$NG_PORT
timeout = 1s
EOF
start_fedge "$CFG" fedge || { echo "media.sh: fedge did not start with [media]"; exit 1; }
FP=$(pid_of fedge)
calls fedge "$CALLS" --out "$T_TMP/calls.txt"
M_LINE=$S_LINE
M_CPU=$(echo "scale=1; $S_FCPU / $CALLS" | bc)
M_RCPU=$(echo "scale=1; $S_RCPU / $CALLS" | bc)
HELD=$(wc -l < "$T_TMP/calls.txt")
printf 'set-up at %s calls/s: INVITE->200 p50 %s ms p99 %s ms without the relay, p50 %s ms p99 %s ms with it (added p50 %.1f ms, p99 %.1f ms, two ng round trips in it)\n' \
    "$RATE" "$(p50 "$B_LINE")" "$(p99 "$B_LINE")" "$(p50 "$M_LINE")" "$(p99 "$M_LINE")" \
    "$(echo "$(p50 "$M_LINE") - $(p50 "$B_LINE")" | bc)" "$(echo "$(p99 "$M_LINE") - $(p99 "$B_LINE")" | bc)"
printf 'set-up CPU per call (INVITE, 200, ACK): fedge %s us without the relay, %s us with it (added %s us); rtpengine %s us\n' \
    "$B_CPU" "$M_CPU" "$(echo "$M_CPU - $B_CPU" | bc)" "$M_RCPU"
printf 'calls set up through the relay and held: %s of %s (fedge RSS %s kB)\n' "$HELD" "$CALLS" \
    "$(awk '/^VmRSS:/ {print $2}' "/proc/$FP/status")"

echo "# 3. RTP at $PPS packets/s each way on the held calls, steps $STEPS"
"$RTPLOAD" --calls "$T_TMP/calls.txt" --int-ports "$IPORTS" --ext-ports "$EPORTS" \
    --steps "$STEPS" --pps "$PPS" --measure-ms $((SECS * 1000)) --relay-pid "$RP" \
    --fedge-pid "$FP" > "$T_LOGS/rtpload.log" 2>&1 || ok=0
cat "$T_LOGS/rtpload.log"
R=$(sed -n 's/^rtp: held \([0-9]*\) calls.*/\1/p' "$T_LOGS/rtpload.log")
WHY=$(sed -n 's/^rtp: held .*; stopped: \([^;]*\);.*/; stopped: \1/p' "$T_LOGS/rtpload.log")
echo "media: held ${R:-0} concurrent relayed calls with RTP at $PPS packets/s each way (loss <= 1 %, a packet later than 200 ms lost), $HELD set up, target 1000${WHY}"
alive fedge || { echo "media.sh: fedge died"; ok=0; }
alive rtpengine || { echo "media.sh: rtpengine died"; ok=0; }
stop fedge-calls
stop fedge
stop rtpengine
[ "$ok" = 1 ] && echo "media.sh: PASS" || echo "media.sh: FAIL"
[ "$ok" = 1 ]
