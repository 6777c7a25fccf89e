#!/bin/bash
# proxy.sh — benchmark fedge against Kamailio 5.6 as mutual-TLS edge proxies
# doing the same work, in one run, on loopback, and print both side by side.
#
# Path, the same for both:  SIPp UAC (TCP) -> stunnel client (presents
# edge.fabrikam.test) -> PROXY (mutual TLS listener, client certificate
# verified against the test CA) -> TCP -> SIPp UAS (answers 200).
# Kamailio runs bench/kamailio-edge.cfg in the foreground (-DD -E) with its own
# runtime dir; fedge runs `fedge serve` with an equivalent config.
#
# Figures, per proxy (proxy processes only: stunnel and SIPp are not counted):
#   1. highest sustained MESSAGE rate with < 0.1 % failures (rates stepped up,
#      BENCH_STEP_SECONDS each; a step counts when every call was sent, at
#      most 0.1 % failed, and SIPp's total time from the first MESSAGE to
#      the last 200 stayed within 10 % + 0.5 s of the intended time);
#   2. CPU seconds (utime+stime from /proc/PID/stat of every process of the
#      proxy) per 10,000 forwarded MESSAGE transactions, at one rate both
#      sustain (half the lower of the two maxima), over BENCH_CPU_SECONDS
#      of traffic scaled to 10,000;
#   3. p99 response time at that rate (SIPp -trace_rtt);
#   4. memory per idle TLS connection (measured first, on fresh processes):
#      BENCH_IDLE_CONNS (5000) connections
#      opened (each presenting a client certificate, each CRLF-pinged), PSS
#      summed over the proxy's processes (and RSS) before/after, divided by
#      the connections actually open (opening stops after
#      BENCH_IDLE_DEADLINE seconds, 90, on a machine too busy to open all).
# Targets: fedge CPU/message and memory/connection at most half of
# Kamailio's. Exit status 0 only if both halves ran and both targets hold.
#
#   5. outbound routing cost (docs/proxy.md): fedge alone, internal SIPp UAC (TCP)
#      -> fedge -> mutual TLS -> partner edge (stunnel server presenting
#      edge.fabrikam.test) -> SIPp UAS, CPU s per 10k MESSAGE with
#      [federation] routing = default-route (the partner edge as default
#      route) and with dns-srv (dnsmasq started here: SRV
#      _sipfederationtls._tcp.fabrikam.test -> edge.fabrikam.test, TTL 1 h,
#      so resolution is cached off the hot path); same rate and count,
#      BENCH_ROUTING_ROUNDS alternating rounds summed. Target: dns-srv within
#      10 % of default-route.
#
#   6. CPU per forwarded MESSAGE in microseconds (the scheduler's on-CPU
#      time of every thread, /proc/PID/task/TID/schedstat), fedge next to
#      Kamailio in the same run, at BENCH_CPU_RATE (2000/s) and at the highest rate both
#      sustained in [2] (when it ran): BENCH_CPU_ROUNDS (4) rounds of
#      BENCH_CPU_SECONDS each, the order of the two proxies alternating
#      from round to round (the machine's load drifts), summed. Target:
#      fedge <= 0.25 x Kamailio and <= 12 us per message at 2000/s.
#      The floor runs in the same rounds: bench/tlsrelay, a relay with the
#      same I/O as fedge (one libuv loop, OpenSSL on memory BIOs, mutual
#      TLS) and no SIP work, one TCP connection to the SIPp UAS per TLS
#      connection. Its CPU per message is what this machine's kernel, TLS
#      and event loop cost before any proxy work; fedge minus floor is what
#      SIP processing costs.
#      BENCH_SYSCALLS=1 adds one fedge round under strace -c -f (not counted
#      in the CPU figures: strace slows the process) and prints the write
#      and read system calls per forwarded MESSAGE. BENCH_PERF=1 adds one
#      fedge round under `perf record -g` (software clock) and prints the
#      top of `perf report` (the profile of what remains).
#
# Knobs: BENCH_RATES, BENCH_STEP_SECONDS, BENCH_CPU_SECONDS, BENCH_IDLE_CONNS,
# BENCH_IDLE_DEADLINE, BENCH_ROUTING_RATE (1000), BENCH_ROUTING_ROUNDS (4),
# BENCH_CPU_RATE (2000), BENCH_CPU_ROUNDS (4), BENCH_SYSCALLS, BENCH_PERF,
# BENCH_ONLY (kamailio|fedge|routing|cpu: cpu runs [6] alone, both
# proxies). Logs: $FEDGE_BUILD/bench/proxy/.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
FEDGE_ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${FEDGE_BUILD:=build}"
case $FEDGE_BUILD in /*) ;; *) FEDGE_BUILD=$FEDGE_ROOT/$FEDGE_BUILD ;; esac
export FEDGE_ROOT FEDGE_BUILD
T_NAME=bench-proxy
T_LOGS=$FEDGE_BUILD/bench/proxy
. "$FEDGE_ROOT/tests/e2e/lib.sh"

RATES=${BENCH_RATES:-"500 1000 2000 3000 4000 6000 8000 12000 16000"}
STEP=${BENCH_STEP_SECONDS:-4}
CPU_SECONDS=${BENCH_CPU_SECONDS:-8}
IDLE=${BENCH_IDLE_CONNS:-5000}
IDLE_DEADLINE=${BENCH_IDLE_DEADLINE:-90}
ONLY=${BENCH_ONLY:-}
PROXIES="kamailio fedge"
[ -n "$ONLY" ] && PROXIES=$ONLY
[ "$ONLY" = routing ] && PROXIES=""
[ "$ONLY" = cpu ] && PROXIES="kamailio fedge"
CPU_RATE=${BENCH_CPU_RATE:-2000}
CPU_ROUNDS=${BENCH_CPU_ROUNDS:-4}
ROUTING_RATE=${BENCH_ROUTING_RATE:-1000}
ROUTING_ROUNDS=${BENCH_ROUTING_ROUNDS:-4}
HZ=$(getconf CLK_TCK)
ulimit -n "$(ulimit -Hn)" 2>/dev/null
export KAM_SHM_MB=1024 SIPP_TRACE_MSG=0

say() { echo "$*"; echo "$*" >> "$T_LOGS/summary.txt"; }
declare -A MAXRATE CPU10K P99 MEMPSS MEMRSS STATUS IDLE_N

. "$FEDGE_ROOT/bench/common.bash"

# ------------------------------------------------------------ setup
# For proxy P: TLS_P (its mutual-TLS port), SC_P (stunnel client in front of
# it), a SIPp UAS answering every MESSAGE.
setup_kamailio() {
    TLS_kamailio=$(free_port); SC_kamailio=$(free_port); UAS_kamailio=$(free_port)
    local ktcp; ktcp=$(free_port)
    sipp_uas kamailio-uas message_uas.xml "$UAS_kamailio" "sip:bob@127.0.0.1:$UAS_kamailio;transport=tcp" 100000000 || return 1
    kamailio_start kamailio "$FEDGE_ROOT/bench/kamailio-edge.cfg" "$TLS_kamailio" "$ktcp" \
        "sip:127.0.0.1:$UAS_kamailio;transport=tcp" || return 1
    stunnel_client kamailio-stunnel "$SC_kamailio" "$TLS_kamailio" edge.fabrikam.test
}

setup_fedge() {
    [ -x "$FEDGE_BIN" ] || { echo "no fedge binary at $FEDGE_BIN"; return 1; }
    topology
    TLS_fedge=$EXT_PORT; SC_fedge=$(free_port); UAS_fedge=$UAS_PORT
    sipp_uas fedge-uas message_uas.xml "$UAS_fedge" "sip:bob@127.0.0.1:$UAS_fedge;transport=tcp" 100000000 || return 1
    FEDGE_LOG_LEVEL=${BENCH_FEDGE_LOG_LEVEL:-error}
    FEDGE_LIMITS="max_connections = 20000
max_connections_per_ip = 20000
idle_timeout = 3600"
    fedge_config "$T_TMP/fedge.ini"
    cp "$T_TMP/fedge.ini" "$T_LOGS/fedge.ini"
    start_fedge "$T_TMP/fedge.ini" fedge || return 1
    stunnel_client fedge-stunnel "$SC_fedge" "$TLS_fedge" edge.fabrikam.test
}

# The floor of [6]: bench/tlsrelay between the same stunnel client and a
# SIPp UAS of its own (responses come back on the request's connection).
setup_floor() {
    local relay=$FEDGE_BUILD/bench/tlsrelay
    [ -x "$relay" ] || { echo "no relay at $relay (make bench builds it)"; return 1; }
    TLS_floor=$(free_port); SC_floor=$(free_port); UAS_floor=$(free_port)
    sipp_uas floor-uas message_uas.xml "$UAS_floor" "sip:bob@127.0.0.1:$UAS_floor;transport=tcp" 100000000 || return 1
    start_bg floor "$relay" --listen "$TLS_floor" --connect "$UAS_floor" \
        --cert "$PKI/edge.contoso.test.crt" --key "$PKI/edge.contoso.test.key" --ca "$PKI/ca.crt"
    wait_listen "$TLS_floor" 5 "$BG_PID" || { show floor; return 1; }
    stunnel_client floor-stunnel "$SC_floor" "$TLS_floor" edge.fabrikam.test
}

step_rates() { # P
    local p=$1 r n best=0
    for r in $RATES; do
        n=$((r * STEP))
        load "$p" "$r" "$n" "rate$r"
        local ok=no
        if [ "$L_OK" -ge $((n - n / 1000)) ] && [ $((L_OK + L_FAIL)) -ge "$n" ] &&
           [ "$(echo "$L_ELAPSED <= $STEP * 1.1 + 0.5" | bc)" = 1 ]; then
            ok=yes; best=$r
        fi
        say "  $p: $r msg/s for ${STEP}s: $L_OK ok, $L_FAIL failed, SIPp time ${L_ELAPSED}s -> $ok"
        [ "$ok" = yes ] || break
    done
    MAXRATE[$p]=$best
    [ "$best" = "${RATES##* }" ] && MAXRATE[$p]=">=$best"
}

cpu_run() { # P RATE
    local p=$1 r=$2 c0 c1 rtt n=$(($2 * CPU_SECONDS))
    rm -f "$T_LOGS"/message_uac_*_rtt.csv
    c0=$(cpu_ticks "$p")
    load "$p" "$r" "$n" cpu -trace_rtt -rtt_freq 50
    c1=$(cpu_ticks "$p")
    if [ "$L_OK" -lt "$n" ]; then
        say "  $p: CPU run at $r/s: only $L_OK of $n succeeded ($L_FAIL failed)"
    fi
    CPU10K[$p]=$(echo "scale=3; ($c1 - $c0) / $HZ * 10000 / $n" | bc)
    rtt=$(ls -t "$T_LOGS"/message_uac_*_rtt.csv 2>/dev/null | head -1)
    local pct
    pct=$(rtt_percentiles "$rtt")
    set -- $pct
    P99[$p]=$1
    [ -n "$rtt" ] && mv "$rtt" "$T_LOGS/$p-cpu-rtt.csv"
    say "  $p: $n MESSAGE at $r/s: $L_OK ok, $L_FAIL failed, $((c1 - c0)) CPU ticks (1/$HZ s); response time over $4 samples p50 $2 ms, p90 $3 ms, p99 $1 ms (SIPp clock, 4 ms steps)"
}

idle_run() { # P
    local p=$1 pss0 rss0 pss1 rss1 n i=0 ready=$T_TMP/$1.ready
    pss0=$(mem_kb "$p" Pss); rss0=$(mem_kb "$p" Rss)
    start_bg "$p-idle" python3 "$E2E_DIR/sipclient.py" hold --port "$(eval echo "\$TLS_$p")" \
        --pki "$PKI" --count "$IDLE" --ping --parallel 200 --timeout 30 --ready "$ready" --hold-seconds 300 \
        --deadline "$IDLE_DEADLINE"
    while [ ! -f "$ready" ] && alive "$p-idle" && [ "$i" -lt 1800 ]; do sleep 0.1; i=$((i + 1)); done
    if [ ! -f "$ready" ]; then
        say "  $p: idle connections never became ready"; show "$p-idle"; stop "$p-idle"
        MEMPSS[$p]=n/a; MEMRSS[$p]=n/a; return 1
    fi
    n=$(cat "$ready")
    IDLE_N[$p]=$n
    sleep 2
    pss1=$(mem_kb "$p" Pss); rss1=$(mem_kb "$p" Rss)
    stop "$p-idle"
    if [ "$n" -lt "$IDLE" ]; then
        say "  $p: only $n of $IDLE idle connections established"
        show "$p-idle" 5
    fi
    [ "$n" -gt 0 ] || { MEMPSS[$p]=n/a; MEMRSS[$p]=n/a; return 1; }
    MEMPSS[$p]=$(echo "scale=1; ($pss1 - $pss0) / $n" | bc)
    MEMRSS[$p]=$(echo "scale=1; ($rss1 - $rss0) / $n" | bc)
    say "  $p: $n idle TLS connections ($(grep -h '^pongs' "$T_LOGS/$p-idle.log")): PSS $pss0 -> $pss1 kB, RSS $rss0 -> $rss1 kB"
}

# ------------------------------------------------------------ routing
# Outbound through fedge with each routing mode (see 5. above).
declare -A RTICKS RMSGS RFAIL
routing_setup() {
    RT_EDGE=$(free_port); RT_UAS=$(free_port); RT_DNS=$(free_port)
    sipp_uas routing-uas message_uas.xml "$RT_UAS" "sip:dave@127.0.0.1:$RT_EDGE;transport=tls" 100000000 || return 1
    stunnel_server routing-edge "$RT_EDGE" "$RT_UAS" || return 1
    dns_start routing-dnsmasq "$RT_DNS" 3600 \
        --srv-host=_sipfederationtls._tcp.fabrikam.test,edge.fabrikam.test,"$RT_EDGE",10,10 \
        --host-record=edge.fabrikam.test,127.0.0.1,3600
}
routing_round() { # MODE (default-route|dns-srv) ROUND
    local mode=$1 name=fedge-$1-$2 cfg=$T_TMP/routing-$1.ini c0 c1 n=$((ROUTING_RATE * CPU_SECONDS))
    topology
    DR_PORT=$RT_EDGE
    FEDGE_LOG_LEVEL=${BENCH_FEDGE_LOG_LEVEL:-error}
    FEDGE_LIMITS=""
    fedge_config "$cfg"
    if [ "$mode" = dns-srv ]; then
        sed -i 's/^routing = .*/routing = dns-srv/; /^default_route = /d' "$cfg"
        printf '\n[dns]\nservers = 127.0.0.1:%s\n' "$RT_DNS" >> "$cfg"
    fi
    cp "$cfg" "$T_LOGS/routing-$mode.ini"
    "$FEDGE_BIN" domain allow fabrikam.test --replace -c "$cfg" > /dev/null
    FEDGE_NO_PARTNER=1 start_fedge "$cfg" "$name" >> "$T_LOGS/setup.log" 2>&1 || {
        say "  fedge ($mode) could not be started: $(tail -1 "$T_LOGS/$name.log")"; stop "$name"; return 1; }
    loadout "$name" "$ROUTING_RATE" $((ROUTING_RATE / 2)) warm-$mode # connections, caches
    c0=$(cpu_ticks "$name")
    loadout "$name" "$ROUTING_RATE" "$n" "$mode"
    c1=$(cpu_ticks "$name")
    stop "$name"
    if [ "$L_OK" -lt "$n" ]; then
        # loopback ports are shared with whatever else runs on the machine:
        # a round that could not run (SIPp or fedge port taken) is retried
        say "  $mode: $L_OK of $n MESSAGE answered 200 ($L_FAIL failed): round not counted"
        return 1
    fi
    RTICKS[$mode]=$(( ${RTICKS[$mode]:-0} + c1 - c0 ))
    RMSGS[$mode]=$(( ${RMSGS[$mode]:-0} + n ))
    RFAIL[$mode]=$(( ${RFAIL[$mode]:-0} + n - L_OK ))
    say "  $mode: $n MESSAGE at $ROUTING_RATE/s: $L_OK ok, $L_FAIL failed, $((c1 - c0)) fedge CPU ticks (1/$HZ s)"
}
# loadout NAME RATE COUNT TAG: SIPp MESSAGE load from the internal side.
loadout() {
    local rate=$2 count=$3 tag=$4 scr=$T_LOGS/routing-$4.screen
    (cd "$T_LOGS" && exec timeout $((count / rate + 40)) sipp "127.0.0.1:$INT_PORT" \
        -sf "$SCEN/message_uac.xml" -t t1 -i 127.0.0.1 -p "$(free_port)" -nostdin \
        -r "$rate" -rp 1000 -timer_resol 1 -m "$count" -l $((rate * 4 + 100)) -recv_timeout 5000 \
        -timeout $((count / rate + 30)) -trace_screen -screen_file "$scr" \
        -key ruri sip:dave@fabrikam.test -key from sip:carol@contoso.test \
        > "$T_LOGS/routing-$tag.log" 2>&1 < /dev/null)
    L_OK=$(awk -F'|' '/Successful call/ {gsub(/ /, "", $3); v=$3} END {print v+0}' "$scr" 2>/dev/null)
    L_FAIL=$(awk -F'|' '/Failed call/ {gsub(/ /, "", $3); v=$3} END {print v+0}' "$scr" 2>/dev/null)
    : "${L_OK:=0}" "${L_FAIL:=0}"
}
routing_bench() {
    say "[5] outbound routing: default-route vs dns-srv, $ROUTING_RATE msg/s, ${CPU_SECONDS}s x $ROUTING_ROUNDS rounds"
    routing_setup >> "$T_LOGS/setup.log" 2>&1 || { say "  routing: partner edge or dnsmasq did not start"; return 1; }
    local i m
    for i in $(seq "$ROUTING_ROUNDS"); do
        # alternate which mode goes first, so that drift in the machine's
        # load does not favour one
        local order="default-route dns-srv"
        [ $((i % 2)) -eq 0 ] && order="dns-srv default-route"
        for m in $order; do
            routing_round "$m" "$i" || routing_round "$m" "$i-retry" || return 1
        done
    done
    for m in default-route dns-srv; do
        RCPU[$m]=$(echo "scale=3; ${RTICKS[$m]} / $HZ * 10000 / ${RMSGS[$m]}" | bc)
    done
}
declare -A RCPU

# ------------------------------------------------------------ CPU rounds
# [6]: alternating rounds at one rate; US[P@RATE] microseconds per message.
declare -A CNS CMSGS US
cpu_round() { # P RATE ROUND
    local p=$1 r=$2 c0 c1 n=$(($2 * CPU_SECONDS))
    c0=$(cpu_ns "$p")
    load "$p" "$r" "$n" "us$r-$3"
    c1=$(cpu_ns "$p")
    if [ "$L_OK" -lt "$n" ]; then
        say "  $p: $n MESSAGE at $r/s: only $L_OK answered 200 ($L_FAIL failed): round not counted"
        return 1
    fi
    CNS[$p@$r]=$(( ${CNS[$p@$r]:-0} + c1 - c0 ))
    CMSGS[$p@$r]=$(( ${CMSGS[$p@$r]:-0} + n ))
    say "  $p: $n MESSAGE at $r/s: $(( (c1 - c0) / 1000000 )) ms on CPU, $(echo "scale=1; ($c1 - $c0) / 1000 / $n" | bc) us/message"
}
cpu_rounds() { # RATE
    local r=$1 i p order
    say "[6] CPU per forwarded MESSAGE at $r msg/s: $CPU_ROUNDS alternating rounds of ${CPU_SECONDS}s"
    # warm-up: connections, caches, Kamailio's worker pools
    for p in $PROXIES floor; do
        [ "${STATUS[$p]:-down}" = up ] && load "$p" "$r" "$r" "us$r-warm"
    done
    for i in $(seq "$CPU_ROUNDS"); do
        order="kamailio fedge floor"
        [ $((i % 2)) -eq 0 ] && order="floor fedge kamailio"
        for p in $order; do
            [ "${STATUS[$p]:-down}" = up ] || continue
            cpu_round "$p" "$r" "$i" || cpu_round "$p" "$r" "$i-retry"
        done
    done
    for p in $PROXIES floor; do
        [ -n "${CMSGS[$p@$r]:-}" ] &&
            US[$p@$r]=$(echo "scale=1; ${CNS[$p@$r]} / 1000 / ${CMSGS[$p@$r]}" | bc)
    done
}
# BENCH_SYSCALLS: one fedge round at RATE under strace -c, per message.
syscall_round() { # RATE
    local r=$1 n=$(($1 * CPU_SECONDS)) pid st=$T_LOGS/fedge-strace.txt
    pid=$(pid_of fedge) || return 1
    strace -c -f -q -e trace=write,writev,sendmsg,sendto,read,readv,recvmsg,recvfrom \
        -o "$st" -p "$pid" &
    local spid=$!
    sleep 1
    load fedge "$r" "$n" strace
    kill -INT "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
    local w rd
    w=$(awk '$NF ~ /^(write|writev|sendmsg|sendto)$/ {s += $4} END {print s + 0}' "$st")
    rd=$(awk '$NF ~ /^(read|readv|recvmsg|recvfrom)$/ {s += $4} END {print s + 0}' "$st")
    say "  fedge under strace: $n MESSAGE at $r/s ($L_OK ok): $w write calls ($(echo "scale=2; $w / $n" | bc)/message), $rd read calls ($(echo "scale=2; $rd / $n" | bc)/message); $st"
}
# BENCH_PERF: one fedge round at RATE under perf record, the top entries.
perf_round() { # RATE
    local r=$1 n=$(($1 * CPU_SECONDS)) pid data=$T_LOGS/fedge-perf.data rep=$T_LOGS/fedge-perf.txt
    pid=$(pid_of fedge) || return 1
    perf record -q -e cpu-clock -F 2000 -g -o "$data" -p "$pid" > "$T_LOGS/perf-record.log" 2>&1 &
    local ppid=$!
    sleep 1
    load fedge "$r" "$n" perf
    kill -INT "$ppid" 2>/dev/null; wait "$ppid" 2>/dev/null
    perf report -i "$data" --stdio --no-children --sort symbol -g none --percent-limit 1.5 \
        > "$rep" 2> /dev/null
    say "  fedge under perf: $n MESSAGE at $r/s ($L_OK ok), self time by function (>= 1.5 %; $rep):"
    perf report -i "$data" --stdio --no-children --sort dso -g none 2> /dev/null |
        awk '/^ +[0-9.]+%/ {printf "%s %s, ", $1, $2} END {print ""}' > "$T_LOGS/fedge-perf-dso.txt"
    say "    by object: $(cat "$T_LOGS/fedge-perf-dso.txt")"
    grep -E '^ +[0-9.]+%' "$rep" | head -25 | awk '{print $1, $2, $3}' |
        while read -r line; do say "    $line"; done
}

# ------------------------------------------------------------ run
: > "$T_LOGS/summary.txt"
say "proxy benchmark: SIPp MESSAGE over mutual TLS (stunnel legs) -> proxy -> TCP -> SIPp UAS"
say "  $(kamailio -v 2>/dev/null | head -1); fedge $FEDGE_BIN; $(nproc) CPUs; logs in $T_LOGS"
for p in $PROXIES; do
    if "setup_$p" >> "$T_LOGS/setup.log" 2>&1; then STATUS[$p]=up; else
        STATUS[$p]=down; say "  $p: could not be started (see $T_LOGS/setup.log, $T_LOGS/$p.log)"
        show "$p" 15
    fi
done
# Memory first, on fresh processes: once load has run, pools (Kamailio's
# shared memory, malloc arenas) hold touched pages that new connections
# reuse, and the difference before/after would understate the cost.
MAIN=yes
[ "$ONLY" = cpu ] && MAIN=no
if [ "$MAIN" = yes ]; then
for p in $PROXIES; do
    [ "${STATUS[$p]}" = up ] || continue
    say "[1] $IDLE idle TLS connections: $p"
    idle_run "$p"
done
for p in $PROXIES; do
    [ "${STATUS[$p]}" = up ] || continue
    say "[2] rate steps: $p"
    step_rates "$p"
done
fi
common=0 highest=0
for p in $PROXIES; do
    [ "${STATUS[$p]}" = up ] || continue
    r=${MAXRATE[$p]:-0}; r=${r#>=}
    if [ "$common" -eq 0 ] || [ "$r" -lt "$common" ]; then common=$r; fi
done
highest=$common
common=$((common / 2 / 100 * 100)); [ "$common" -lt 100 ] && common=100
if [ "$MAIN" = yes ]; then
for p in $PROXIES; do
    [ "${STATUS[$p]}" = up ] || continue
    say "[3] CPU and response time at $common msg/s: $p"
    cpu_run "$p" "$common"
done
fi
# [6] needs both proxies; the highest common rate only when [2] found one
CPU6=no
[ "${STATUS[kamailio]:-down}" = up ] && [ "${STATUS[fedge]:-down}" = up ] && CPU6=yes
case " $PROXIES " in *" kamailio "*) ;; *) CPU6=no ;; esac
if [ "$CPU6" = yes ]; then
    if setup_floor >> "$T_LOGS/setup.log" 2>&1; then STATUS[floor]=up; else
        STATUS[floor]=down; say "  floor relay could not be started (see $T_LOGS/setup.log, $T_LOGS/floor.log)"
    fi
    cpu_rounds "$CPU_RATE"
    [ "$highest" -gt 0 ] && [ "$highest" != "$CPU_RATE" ] && cpu_rounds "$highest"
    [ -n "${BENCH_SYSCALLS:-}" ] && syscall_round "$CPU_RATE"
    [ -n "${BENCH_PERF:-}" ] && perf_round "$CPU_RATE"
fi
# the proxies of [1]-[3] stop first: [5] measures fedge alone
for p in $PROXIES; do stop "$p"; done
[ "${STATUS[floor]:-down}" = up ] && stop floor
ROUTING=no
case " $PROXIES $ONLY " in *" fedge "*|*" routing "*) ROUTING=yes ;; esac
[ "$ONLY" = kamailio ] && ROUTING=no
[ "$ONLY" = cpu ] && ROUTING=no
[ "$ROUTING" = yes ] && routing_bench

row() { say "$(printf '%-44s %14s %14s' "$1" "$2" "$3")"; }
v() { local -n a=$1; local x=${a[$2]:-}; [ "${STATUS[$2]:-down}" = up ] && [ -n "$x" ] && echo "$x" || echo "-"; }
[ -n "$PROXIES" ] && say "" && say "$(printf '%-44s %14s %14s' '' kamailio fedge)"
if [ -n "$PROXIES" ] && [ "$MAIN" = yes ]; then
    row "max sustained rate, <0.1% failed (msg/s)" "$(v MAXRATE kamailio)" "$(v MAXRATE fedge)"
    row "CPU s per 10k MESSAGE at $common/s" "$(v CPU10K kamailio)" "$(v CPU10K fedge)"
    row "p99 response time at $common/s (ms)" "$(v P99 kamailio)" "$(v P99 fedge)"
    row "memory per idle TLS connection, PSS (KiB)" "$(v MEMPSS kamailio)" "$(v MEMPSS fedge)"
    row "memory per idle TLS connection, RSS (KiB)" "$(v MEMRSS kamailio)" "$(v MEMRSS fedge)"
    row "  (idle TLS connections open when measured)" "$(v IDLE_N kamailio)" "$(v IDLE_N fedge)"
fi
if [ "$CPU6" = yes ]; then
    for r in "$CPU_RATE" "$highest"; do
        [ "$r" -gt 0 ] || continue
        [ -n "${US[kamailio@$r]:-}${US[fedge@$r]:-}" ] || continue
        row "CPU us per MESSAGE at $r/s (alternating)" "${US[kamailio@$r]:--}" "${US[fedge@$r]:--}"
        [ -n "${US[kamailio@$r]:-}" ] && [ -n "${US[fedge@$r]:-}" ] &&
            row "  fedge / kamailio" "" "$(echo "scale=2; ${US[fedge@$r]} / ${US[kamailio@$r]}" | bc)"
        if [ -n "${US[floor@$r]:-}" ]; then
            row "  floor: TLS relay, no SIP work (us)" "" "${US[floor@$r]}"
            [ -n "${US[fedge@$r]:-}" ] &&
                row "  fedge above the floor (us)" "" "$(echo "scale=1; ${US[fedge@$r]} - ${US[floor@$r]}" | bc)"
        fi
    done
fi

if [ "$ROUTING" = yes ]; then
    say ""
    say "$(printf '%-44s %14s %14s' '' default-route dns-srv)"
    say "$(printf '%-44s %14s %14s' "fedge outbound CPU s per 10k MESSAGE" "${RCPU[default-route]:--}" "${RCPU[dns-srv]:--}")"
    say "$(printf '%-44s %14s %14s' "  (MESSAGE not answered 200)" "${RFAIL[default-route]:--}" "${RFAIL[dns-srv]:--}")"
fi

rc=0
if [ "$ROUTING" = yes ]; then
    a=${RCPU[default-route]:-}; b=${RCPU[dns-srv]:-}
    if [ -z "$a" ] || [ -z "$b" ]; then
        say "target dns-srv CPU per message: not measured"; rc=1
    elif [ "$(echo "$b <= $a * 1.10" | bc)" = 1 ] && [ "${RFAIL[dns-srv]}" -eq 0 ]; then
        say "target dns-srv CPU per message (<= 1.10 x default-route): met, ratio $(echo "scale=2; $b / $a" | bc)"
    else
        say "target dns-srv CPU per message (<= 1.10 x default-route): MISSED, ratio $(echo "scale=2; $b / $a" | bc), failures ${RFAIL[dns-srv]}"; rc=1
    fi
fi
[ -z "$PROXIES" ] && exit $rc
target() { # label fedge kamailio
    if [ "$2" = - ] || [ "$3" = - ] || [ "$2" = n/a ] || [ "$3" = n/a ]; then
        say "target $1: not measured"; rc=1; return
    fi
    local ratio
    ratio=$(echo "scale=2; $2 / $3" | bc 2>/dev/null)
    if [ "$(echo "$2 * 2 <= $3" | bc)" = 1 ]; then
        say "target $1 (fedge <= 0.5 x kamailio): met, ratio $ratio"
    else
        say "target $1 (fedge <= 0.5 x kamailio): MISSED, ratio $ratio"; rc=1
    fi
}
if [ "$MAIN" = yes ]; then
    target "CPU per message" "$(v CPU10K fedge)" "$(v CPU10K kamailio)"
    target "memory per idle TLS connection" "$(v MEMPSS fedge)" "$(v MEMPSS kamailio)"
fi
if [ "$CPU6" = yes ]; then
    f=${US[fedge@$CPU_RATE]:-} k=${US[kamailio@$CPU_RATE]:-}
    if [ -z "$f" ] || [ -z "$k" ]; then
        say "target CPU per message at $CPU_RATE/s: not measured"; rc=1
    elif [ "$(echo "$f <= $k * 0.25 && $f <= 12" | bc)" = 1 ]; then
        say "target CPU per message at $CPU_RATE/s (fedge <= 0.25 x kamailio and <= 12 us): met, $f us, ratio $(echo "scale=2; $f / $k" | bc)"
    else
        say "target CPU per message at $CPU_RATE/s (fedge <= 0.25 x kamailio and <= 12 us): MISSED, $f us, ratio $(echo "scale=2; $f / $k" | bc)"; rc=1
    fi
fi
exit $rc
