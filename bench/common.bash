# common.bash — helpers shared by the benchmark scripts (bench/proxy.sh,
# bench/attack.sh), sourced after tests/e2e/lib.sh: CPU and memory of a
# process started with start_bg, a SIPp MESSAGE load through a port, and
# percentiles of SIPp's response-time trace. Not a benchmark itself
# (scripts/run-bench runs bench/*.sh only).

# pids_of NAME: every process in the session the proxy was started in.
pids_of() {
    local pid
    pid=$(pid_of "$1") || return 1
    ps -e -o pid=,sid= | awk -v s="$pid" '$2 == s {print $1}'
}
cpu_ticks() { # NAME -> utime+stime ticks summed
    local p t=0 u s
    for p in $(pids_of "$1"); do
        read -r u s < <(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12, $13}') || continue
        t=$((t + ${u:-0} + ${s:-0}))
    done
    echo "$t"
}
# cpu_ns NAME -> nanoseconds on CPU summed over the threads of every
# process (/proc/PID/task/TID/schedstat, the scheduler's own clock: exact,
# where utime+stime come in 10 ms ticks). Threads that ended are not in it,
# so it is for processes that keep their threads (the proxies do).
cpu_ns() {
    local p t=0 f v
    for p in $(pids_of "$1"); do
        for f in /proc/"$p"/task/*/schedstat; do
            read -r v _ < "$f" 2>/dev/null || continue
            t=$((t + v))
        done
    done
    echo "$t"
}
mem_kb() { # NAME Pss|Rss -> kB summed over processes
    local p t=0 v
    for p in $(pids_of "$1"); do
        if [ "$2" = Pss ]; then
            v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null)
        else
            v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null)
        fi
        t=$((t + ${v:-0}))
    done
    echo "$t"
}

# load P RATE COUNT TAG [extra sipp args]: SIPp MESSAGE load through P.
# Sets L_OK L_FAIL L_ELAPSED (seconds, float).
load() {
    local p=$1 rate=$2 count=$3 tag=$4 t0 t1 scr=$T_LOGS/$1-$4.screen
    shift 4
    t0=$(date +%s.%N)
    (cd "$T_LOGS" && exec timeout $((count / rate + 40)) sipp "127.0.0.1:$(eval echo "\$SC_$p")" \
        -sf "$SCEN/message_uac.xml" -t t1 -i 127.0.0.1 -p "$(free_port)" -nostdin \
        -r "$rate" -rp 1000 -timer_resol 1 -m "$count" -l $((rate * 4 + 100)) -recv_timeout 5000 \
        -timeout $((count / rate + 30)) -trace_screen -screen_file "$scr" \
        -key ruri sip:bob@contoso.test -key from sip:alice@fabrikam.test "$@" \
        > "$T_LOGS/$p-$tag.log" 2>&1 < /dev/null)
    t1=$(date +%s.%N)
    L_WALL=$(echo "$t1 - $t0" | bc)
    # SIPp's own time from the first call to the end of the last one (the
    # wall time also counts process start and exit, slow on a busy machine).
    L_ELAPSED=$(grep -Eo '[0-9.]+ s +[0-9]+ +127\.0\.0\.1' "$scr" 2>/dev/null | tail -1 | awk '{print $1}')
    : "${L_ELAPSED:=$L_WALL}"
    L_OK=$(awk -F'|' '/Successful call/ {gsub(/ /, "", $3); v=$3} END {print v+0}' "$scr" 2>/dev/null)
    L_FAIL=$(awk -F'|' '/Failed call/ {gsub(/ /, "", $3); v=$3} END {print v+0}' "$scr" 2>/dev/null)
    : "${L_OK:=0}" "${L_FAIL:=0}"
}

# rtt_percentiles CSV: "p99 p50 p90 samples" of a SIPp -trace_rtt file
# (milliseconds; n/a when empty).
rtt_percentiles() {
    python3 - "$1" <<'EOF'
import os, sys
v = []
for line in (open(sys.argv[1]) if os.path.isfile(sys.argv[1]) else []):
    parts = line.strip().split(";")
    if len(parts) >= 2:
        try: v.append(float(parts[1]))
        except ValueError: pass
v.sort()
q = lambda f: "%.0f" % v[min(len(v) - 1, int(len(v) * f))] if v else "n/a"
print(q(0.99), q(0.5), q(0.9), len(v))
EOF
}
