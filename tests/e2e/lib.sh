# lib.sh — shared harness of the end-to-end tests: loopback ports, the test
# PKI, start/stop of fedge, SIPp, stunnel, dnsmasq and Kamailio, `check`,
# `wait_for` (readiness polling), and a trap that stops everything a test
# started. Source it from bash:
#     . "$(dirname "$0")/lib.sh"
# Environment (set by scripts/run-e2e): FEDGE_ROOT, FEDGE_BUILD, FEDGE_BIN.
# Logs of test NNN-name go to $FEDGE_BUILD/e2e/NNN-name/ and are kept;
# temporary files go to a mktemp folder that the exit trap removes.

set -u
: "${FEDGE_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${FEDGE_BUILD:=$FEDGE_ROOT/build}"
: "${FEDGE_BIN:=$FEDGE_BUILD/fedge}"
case $FEDGE_BUILD in /*) ;; *) FEDGE_BUILD=$FEDGE_ROOT/$FEDGE_BUILD ;; esac
case $FEDGE_BIN in /*) ;; *) FEDGE_BIN=$FEDGE_ROOT/$FEDGE_BIN ;; esac
E2E_DIR=$FEDGE_ROOT/tests/e2e
SCEN=$E2E_DIR/scenarios
SIPCLIENT="python3 $E2E_DIR/sipclient.py"
T_NAME=${T_NAME:-$(basename "$0" .sh)}
T_LOGS=${T_LOGS:-$FEDGE_BUILD/e2e/$T_NAME}
PKI=${PKI:-$FEDGE_BUILD/e2e/pki}
rm -rf "$T_LOGS"
mkdir -p "$T_LOGS"
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/fedge-e2e.XXXXXX")
T_CHECKS=0
T_FAILED=0
T_PIDS=""          # "name:pid ..." of everything started, in order
T_PORTS=" "

"$FEDGE_ROOT/scripts/gen-certs" "$PKI" >/dev/null

# ---------------------------------------------------------------- cleanup
_t_cleanup() {
    local rc=$? entry pid
    trap - EXIT
    # Stop in reverse order of start; each process leads its own group.
    for entry in $(printf '%s\n' $T_PIDS | tac); do
        pid=${entry##*:}
        kill -0 "$pid" 2>/dev/null || continue
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    done
    for entry in $T_PIDS; do
        pid=${entry##*:}
        _t_wait_gone "$pid" 30 || kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
    done
    rm -rf "$T_TMP"
    exit "$rc"
}
trap _t_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

_t_wait_gone() { # pid tenths-of-seconds
    local i=0
    while kill -0 "$1" 2>/dev/null && [ "$(_t_state "$1")" != Z ]; do
        i=$((i + 1)); [ "$i" -gt "$2" ] && return 1
        sleep 0.1
    done
    return 0
}

_t_state() { awk '{print $3}' "/proc/$1/stat" 2>/dev/null; }

# ---------------------------------------------------------------- checks
# check "description" command...: run the command, print ok/not ok, count.
check() {
    local desc=$1; shift
    T_CHECKS=$((T_CHECKS + 1))
    if "$@" >> "$T_LOGS/checks.log" 2>&1; then
        echo "ok $T_CHECKS - $desc"
        return 0
    fi
    T_FAILED=$((T_FAILED + 1))
    echo "not ok $T_CHECKS - $desc"
    return 1
}

# check_out "description" command...: like check, but shows the command's
# output (indented) in the test log too.
check_out() {
    local desc=$1 out rc; shift
    T_CHECKS=$((T_CHECKS + 1))
    out=$("$@" 2>&1); rc=$?
    printf '%s\n' "$out" | sed 's/^/    # /'
    printf '%s\n' "$out" >> "$T_LOGS/checks.log"
    if [ "$rc" -eq 0 ]; then echo "ok $T_CHECKS - $desc"; return 0; fi
    T_FAILED=$((T_FAILED + 1))
    echo "not ok $T_CHECKS - $desc"
    return 1
}

# note text: a comment line in the test output.
note() { echo "# $*"; }

# show NAME [lines]: print the tail of a component's log into the test output.
show() {
    local f=$T_LOGS/$1.log
    [ -f "$f" ] || f=$T_LOGS/$1
    [ -f "$f" ] || return 0
    echo "# ---- tail of $f"
    tail -n "${2:-30}" "$f" | sed 's/^/#   /'
}

# finish: summary line; the exit code says whether every check passed.
finish() {
    echo "# $T_NAME: $((T_CHECKS - T_FAILED)) of $T_CHECKS checks passed (logs: $T_LOGS)"
    [ "$T_CHECKS" -gt 0 ] && [ "$T_FAILED" -eq 0 ]
    exit $?
}

# ---------------------------------------------------------------- ports
# free_port: print a TCP port on 127.0.0.1 nobody listens on, never the same
# twice in one test.
free_port() {
    local p
    while :; do
        p=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        case $T_PORTS in *" $p "*) continue ;; esac
        T_PORTS="$T_PORTS$p "
        echo "$p"
        return 0
    done
}

# listening PORT: is some socket listening on 127.0.0.1:PORT (or any addr)?
listening() {
    local hex
    hex=$(printf '%04X' "$1")
    awk -v h=":$hex" '$4 == "0A" && ($2 == "0100007F" h || $2 == "00000000" h) {f=1} END {exit !f}' /proc/net/tcp
}

# conns_on PORT: how many TCP connections on 127.0.0.1:PORT (the server's
# side of them) are still open, ESTABLISHED or CLOSE_WAIT (the peer closed,
# the server not yet).
conns_on() {
    local hex
    hex=$(printf '%04X' "$1")
    awk -v h=":$hex" '($4 == "01" || $4 == "08") && $2 ~ h"$" {n++} END {print n + 0}' /proc/net/tcp
}

# wait_listen PORT [seconds] [pid]: wait until PORT listens; fail early if
# pid dies.
wait_listen() {
    local port=$1 secs=${2:-10} pid=${3:-} i=0
    while ! listening "$port"; do
        if [ -n "$pid" ] && { ! kill -0 "$pid" 2>/dev/null || [ "$(_t_state "$pid")" = Z ]; }; then
            return 1
        fi
        i=$((i + 1)); [ "$i" -gt $((secs * 10)) ] && return 1
        sleep 0.1
    done
}

# wait_for CONDITION [seconds]: evaluate the shell command CONDITION every
# 0.1 s until it succeeds; 1 when it still fails after SECONDS (default 10,
# fractions allowed). Tests wait for a state with it, never with a fixed
# sleep: e.g. wait_for "grep -q 'reloaded' '$T_LOGS/fedge.log'" 5
wait_for() {
    local cond=$1 end
    end=$(( $(_t_now_us) + $(awk -v s="${2:-10}" 'BEGIN { printf "%d", s * 1000000 }') ))
    until eval "$cond"; do
        [ "$(_t_now_us)" -ge "$end" ] && return 1
        sleep 0.1
    done
}
_t_now_us() { local t=${EPOCHREALTIME/[.,]/}; echo "${t#0}"; }

# ---------------------------------------------------------------- DNS
# dns_answers PORT: does a DNS server on 127.0.0.1:PORT answer a query (for
# ready.test, A) within 0.3 s? Any answer counts, NXDOMAIN included.
dns_answers() {
    python3 - "$1" <<'PY'
import socket, struct, sys
q = struct.pack(">HHHHHH", 0x4655, 0x0100, 1, 0, 0, 0) + b"\x05ready\x04test\x00" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.3)
try:
    s.sendto(q, ("127.0.0.1", int(sys.argv[1])))
    d = s.recv(512)
except OSError:
    sys.exit(1)
sys.exit(0 if d[:2] == q[:2] else 1)
PY
}

# dns_start NAME PORT TTL RECORD...: dnsmasq on 127.0.0.1:PORT, the only
# source of names under test. (nothing from /etc/hosts or upstream), its
# records given as dnsmasq options:
#   --srv-host=_sipfederationtls._tcp.DOMAIN,TARGET,PORT,PRIORITY,WEIGHT
#   --host-record=NAME,ADDRESS[,ADDRESS6][,TTL]
#   --server=/ZONE/127.0.0.1#PORT        (ZONE asked from another server)
# answered with TTL seconds unless a record says otherwise. Returns once it
# answers a query (5 s at most), else 1 (`show NAME` prints its log,
# $T_LOGS/NAME.log); stop it with `stop NAME`.
dns_start() {
    local name=$1 port=$2 ttl=$3
    shift 3
    start_bg "$name" /usr/sbin/dnsmasq --no-daemon --no-resolv --no-hosts --conf-file=/dev/null \
        --port="$port" --listen-address=127.0.0.1 --bind-interfaces --user=root --pid-file= \
        --local=/test/ --local-ttl="$ttl" "$@"
    wait_for "dns_answers $port" 5
}

# ---------------------------------------------------------------- processes
# start_bg NAME command...: start in the background in its own process
# group (so the trap can stop its children too), output to $T_LOGS/NAME.log.
# Sets BG_PID and remembers NAME.
start_bg() {
    local name=$1; shift
    setsid "$@" > "$T_LOGS/$name.log" 2>&1 < /dev/null &
    BG_PID=$!
    T_PIDS="$T_PIDS $name:$BG_PID"
}

pid_of() {
    local e
    for e in $T_PIDS; do [ "${e%%:*}" = "$1" ] && { echo "${e##*:}"; return 0; }; done
    return 1
}

alive() { # NAME
    local pid
    pid=$(pid_of "$1") || return 1
    kill -0 "$pid" 2>/dev/null && [ "$(_t_state "$pid")" != Z ]
}

# wait_exit NAME [seconds]: wait for NAME to end by itself; returns its exit
# status, or 124 (and kills it) when it is still running after the timeout.
wait_exit() {
    local pid i=0 secs=${2:-30}
    pid=$(pid_of "$1") || return 127
    while kill -0 "$pid" 2>/dev/null && [ "$(_t_state "$pid")" != Z ]; do
        i=$((i + 1))
        if [ "$i" -gt $((secs * 10)) ]; then
            kill -TERM -- "-$pid" 2>/dev/null; wait "$pid" 2>/dev/null
            echo "$1 still running after ${secs}s: killed" >> "$T_LOGS/checks.log"
            return 124
        fi
        sleep 0.1
    done
    wait "$pid"
}

# stop NAME: SIGTERM the process group, wait up to 3 s, then SIGKILL.
# Returns the exit status.
stop() {
    local pid
    pid=$(pid_of "$1") || return 127
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    _t_wait_gone "$pid" 30 || kill -KILL -- "-$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}

# ---------------------------------------------------------------- fedge
# Ports of the standard topology; tests call `topology` to allocate them.
#   EXT_PORT  fedge external (mutual TLS)      INT_PORT  fedge internal (TCP)
#   UAS_PORT  internal SIP server (SIPp UAS)   DR_PORT   default route: the
#   partner edge (stunnel server in front of the partner's SIPp)
#   ADMIN_PORT  admin listener (kept off the default 8080)
topology() {
    EXT_PORT=$(free_port); INT_PORT=$(free_port)
    UAS_PORT=$(free_port); DR_PORT=$(free_port); ADMIN_PORT=$(free_port)
}

# fedge_config FILE: write the standard config for the topology above.
# FEDGE_LIMITS (extra [limits] lines) and FEDGE_LOG_LEVEL may be set.
fedge_config() {
    cat > "$1" <<EOF
; fedge end-to-end test configuration ($T_NAME)
[edge]
fqdn = edge.contoso.test
sip_domains = contoso.test
store = $T_TMP/fedge.db

[external]
listen = 127.0.0.1:$EXT_PORT
certificate = $PKI/edge.contoso.test.crt
private_key = $PKI/edge.contoso.test.key
ca_file = $PKI/ca.crt
require_client_certificate = yes

[internal]
listen = 127.0.0.1:$INT_PORT
transport = tcp
next_hop = 127.0.0.1:$UAS_PORT

[federation]
routing = default-route
default_route = 127.0.0.1:$DR_PORT

[limits]
${FEDGE_LIMITS:-}

[log]
level = ${FEDGE_LOG_LEVEL:-debug}
format = text

[admin]
listen = 127.0.0.1:$ADMIN_PORT
EOF
}

# start_fedge CONFIG [NAME]: run `fedge serve -c CONFIG` and wait until both
# listeners accept. On failure shows the log and returns 1. Unless
# FEDGE_NO_PARTNER=1, the standard partner fabrikam.test is first allowed
# in the store, so that the federation policy lets the standard flows
# through: with default-route routing as an allowed partner server (its
# edge edge.fabrikam.test: no DNS needed), else as an allowed domain (SRV
# routing, inbound peers verified by DNS).
start_fedge() {
    local cfg=$1 name=${2:-fedge} fqdn=()
    if [ "${FEDGE_NO_PARTNER:-0}" != 1 ]; then
        grep -Eq '^routing *= *default-route' "$cfg" && fqdn=(--proxy-fqdn edge.fabrikam.test)
        "$FEDGE_BIN" domain allow fabrikam.test "${fqdn[@]}" -c "$cfg" \
            > "$T_LOGS/$name-store.log" 2>&1 || { cat "$T_LOGS/$name-store.log"; return 1; }
    fi
    start_bg "$name" "$FEDGE_BIN" serve -c "$cfg"
    if wait_listen "$EXT_PORT" 10 "$BG_PID" && wait_listen "$INT_PORT" 5 "$BG_PID"; then
        return 0
    fi
    note "fedge did not start listening on $EXT_PORT/$INT_PORT"
    show "$name"
    return 1
}

# ---------------------------------------------------------------- stunnel
# stunnel_client NAME ACCEPT_PORT CONNECT_PORT [CERT] [CHECKHOST]: plain TCP
# on 127.0.0.1:ACCEPT_PORT, TLS to 127.0.0.1:CONNECT_PORT presenting
# PKI/CERT.crt (none if CERT is empty), verifying the server against the test
# CA and the name CHECKHOST (default edge.contoso.test).
stunnel_client() {
    local name=$1 acc=$2 con=$3 cert=${4-edge.fabrikam.test} host=${5:-edge.contoso.test}
    local f=$T_TMP/$name.conf
    {
        echo "foreground = yes"; echo "pid ="; echo "syslog = no"; echo "debug = info"
        echo "[$name]"; echo "client = yes"
        echo "accept = 127.0.0.1:$acc"; echo "connect = 127.0.0.1:$con"
        [ -n "$cert" ] && { echo "cert = $PKI/$cert.crt"; echo "key = $PKI/$cert.key"; }
        echo "CAfile = $PKI/ca.crt"; echo "verifyChain = yes"; echo "checkHost = $host"
        echo "sslVersionMin = TLSv1.2"
    } > "$f"
    start_bg "$name" stunnel "$f"
    wait_listen "$acc" 5 "$BG_PID" || { show "$name"; return 1; }
}

# stunnel_server NAME ACCEPT_PORT CONNECT_PORT [CERT] [CLIENT_NAME]: TLS on
# 127.0.0.1:ACCEPT_PORT presenting PKI/CERT.crt (default edge.fabrikam.test),
# requiring a client certificate that chains to the test CA and names
# CLIENT_NAME (default edge.contoso.test); plain TCP to CONNECT_PORT.
stunnel_server() {
    local name=$1 acc=$2 con=$3 cert=${4:-edge.fabrikam.test} peer=${5:-edge.contoso.test}
    local f=$T_TMP/$name.conf
    {
        echo "foreground = yes"; echo "pid ="; echo "syslog = no"; echo "debug = info"
        echo "[$name]"
        echo "accept = 127.0.0.1:$acc"; echo "connect = 127.0.0.1:$con"
        echo "cert = $PKI/$cert.crt"; echo "key = $PKI/$cert.key"
        echo "CAfile = $PKI/ca.crt"; echo "verifyChain = yes"; echo "requireCert = yes"
        echo "checkHost = $peer"
        echo "sslVersionMin = TLSv1.2"
    } > "$f"
    start_bg "$name" stunnel "$f"
    wait_listen "$acc" 5 "$BG_PID" || { show "$name"; return 1; }
}

# ---------------------------------------------------------------- SIPp
# SIPp 3.6.1 from Debian has no TLS: always TCP (-t t1, one connection),
# TLS legs come from stunnel. Each SIPp runs in $T_LOGS so stray files land
# there; messages and errors are traced to NAME.msg / NAME.err.
# SIPP_TRACE_MSG=0 turns the message trace off (benchmarks).
_sipp_common() { # name
    echo -nostdin -t t1 -i 127.0.0.1 -trace_err -error_file "$T_LOGS/$1.err"
    [ "${SIPP_TRACE_MSG:-1}" = 1 ] && echo -trace_msg -message_file "$T_LOGS/$1.msg"
    return 0
}

# sipp_uas NAME SCENARIO PORT CONTACT [CALLS] [extra sipp args...]: a SIPp
# UAS on 127.0.0.1:PORT that exits after CALLS calls (default 1).
sipp_uas() {
    local name=$1 scen=$2 port=$3 contact=$4 calls=${5:-1}
    shift 4; [ $# -gt 0 ] && shift
    # shellcheck disable=SC2046
    start_bg "$name" sh -c 'cd "$1" && shift && exec "$@"' _ "$T_LOGS" \
        sipp -sf "$SCEN/$scen" -p "$port" -m "$calls" $(_sipp_common "$name") \
        -key contact "$contact" "$@"
    wait_listen "$port" 5 "$BG_PID" || { show "$name"; return 1; }
}

# sipp_uac NAME SCENARIO REMOTE_PORT LOCAL_PORT RURI FROM CONTACT [CALLS]
#          [extra sipp args...]: run a SIPp UAC in the foreground (global
# timeout 20 s) and return its exit status (0: every call succeeded).
sipp_uac() {
    local name=$1 scen=$2 rport=$3 lport=$4 ruri=$5 from=$6 contact=$7 calls=${8:-1}
    shift 7; [ $# -gt 0 ] && shift
    # shellcheck disable=SC2046
    (cd "$T_LOGS" && exec timeout 60 sipp "127.0.0.1:$rport" -sf "$SCEN/$scen" -p "$lport" \
        -m "$calls" $(_sipp_common "$name") -timeout 20 -timeout_error \
        -key ruri "$ruri" -key from "$from" -key contact "$contact" "$@" \
        > "$T_LOGS/$name.log" 2>&1 < /dev/null)
}

# sipp_ok NAME: did SIPp NAME (already finished) report only successful calls?
# Used as a check on the UAS side: its checks (Via, Record-Route) fail calls.
sipp_ok() { wait_exit "$1" "${2:-20}"; }

# ---------------------------------------------------------------- Kamailio
# kamailio_start NAME CFG TLS_PORT TCP_PORT NEXT_HOP_URI: Kamailio in the
# foreground (-DD -E) with a private runtime dir, never the system service.
# KAM_SHM_MB sets its shared memory pool (default 256).
kamailio_start() {
    local name=$1 cfg=$2 tls=$3 tcp=$4 nh=$5 run=$T_TMP/$1.run
    mkdir -p "$run"
    sed "s#@PKI@#$PKI#g" "$FEDGE_ROOT/bench/kamailio-tls.cfg" > "$run/tls.cfg"
    start_bg "$name" kamailio -f "$cfg" -DD -E -Y "$run" -m "${KAM_SHM_MB:-256}" -M 16 \
        -l "tls:127.0.0.1:$tls" -l "tcp:127.0.0.1:$tcp" \
        -A "NEXT_HOP=\"$nh\"" -A "TLS_CFG=\"$run/tls.cfg\""
    wait_listen "$tls" 10 "$BG_PID" || { show "$name"; return 1; }
}

# ---------------------------------------------------------------- flows
# Inbound: partner SIPp UAC -> stunnel client (presents edge.fabrikam.test)
# -> edge external (mutual TLS) -> edge internal (TCP) -> SIPp UAS on
# UAS_PORT. The partner's Contact is its edge, DR_PORT (stunnel server,
# presenting edge.fabrikam.test, forwarding to the UAC's own port), so that
# requests back to the partner (NOTIFY) take the TLS path a real partner
# would offer.
inbound_legs() { # sets PARTNER_PORT UAC_PORT
    PARTNER_PORT=$(free_port); UAC_PORT=$(free_port)
    stunnel_client partner-tls-out "$PARTNER_PORT" "$EXT_PORT" edge.fabrikam.test &&
        stunnel_server partner-tls-in "$DR_PORT" "$UAC_PORT"
}

# Outbound: internal SIPp UAC -> edge internal (TCP) -> edge external, TLS to
# the default route DR_PORT -> stunnel server (presents edge.fabrikam.test,
# requires a client certificate naming edge.contoso.test) -> partner SIPp UAS
# on PUAS_PORT, whose Contact is its edge (DR_PORT, TLS).
outbound_legs() { # sets PUAS_PORT IUAC_PORT
    PUAS_PORT=$(free_port); IUAC_PORT=$(free_port)
    stunnel_server partner-edge "$DR_PORT" "$PUAS_PORT"
}

# _flow NAME UAC_SCEN UAS_SCEN UAS_PORT UAS_CONTACT UAC_REMOTE UAC_PORT RURI
#       FROM UAC_CONTACT: one UAS, one UAC call; both must succeed.
_flow() {
    local n=$1 uac=$2 uas=$3 uport=$4 ucontact=$5 rport=$6 lport=$7 ruri=$8 from=$9 ccontact=${10} rc
    sipp_uas "$n-uas" "$uas" "$uport" "$ucontact" 1 || { echo "$n: UAS did not start"; return 1; }
    sipp_uac "$n-uac" "$uac" "$rport" "$lport" "$ruri" "$from" "$ccontact"; rc=$?
    echo "$n: UAC exit status $rc"
    if [ "$rc" -ne 0 ]; then
        stop "$n-uas"
        _flow_explain "$n"
        return 1
    fi
    if ! wait_exit "$n-uas" 10; then
        echo "$n: UAS failed (its checks on the received requests)"
        _flow_explain "$n"
        return 1
    fi
    return 0
}

_flow_explain() {
    local f
    for f in "$T_LOGS/$1-uac.err" "$T_LOGS/$1-uas.err"; do
        [ -s "$f" ] && { echo "--- $f"; tail -c 3000 "$f"; echo; }
    done
    return 0
}

# inbound_flow NAME UAC_SCEN UAS_SCEN [RURI]
inbound_flow() {
    _flow "$1" "$2" "$3" "$UAS_PORT" "sip:bob@127.0.0.1:$UAS_PORT;transport=tcp" \
        "$PARTNER_PORT" "$UAC_PORT" "${4:-sip:bob@contoso.test}" "sip:alice@fabrikam.test" \
        "sip:alice@127.0.0.1:$DR_PORT;transport=tls"
}

# outbound_flow NAME UAC_SCEN UAS_SCEN [RURI]
outbound_flow() {
    _flow "$1" "$2" "$3" "$PUAS_PORT" "sip:dave@127.0.0.1:$DR_PORT;transport=tls" \
        "$INT_PORT" "$IUAC_PORT" "${4:-sip:dave@fabrikam.test}" "sip:carol@contoso.test" \
        "sip:carol@127.0.0.1:$IUAC_PORT;transport=tcp"
}

# ---------------------------------------------------------------- raw SIP
# mk_sip FILE < text: write a SIP message from a here-document: lines get
# CRLF ends, the here-document's final newline is dropped unless it ends a
# blank line (no body), and @CL@ becomes the body length (bytes after the
# blank line). Anything else is written literally.
mk_sip() {
    python3 -c '
import sys
text = sys.stdin.read()
if text.endswith("\n") and not text.endswith("\n\n"):
    text = text[:-1]  # the last newline of the here-document, not a blank line
msg = text.replace("\n", "\r\n")
head, sep, body = msg.partition("\r\n\r\n")
msg = head.replace("@CL@", str(len(body.encode()))) + sep + body
open(sys.argv[1], "wb").write(msg.encode())
' "$1"
}

# udp_ports N: N free UDP ports on 127.0.0.1, space-separated (bound at
# once, so they differ; released on return).
udp_ports() {
    python3 - "$1" <<'PY'
import socket, sys
ss = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(int(sys.argv[1]))]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))
PY
}

# ng_up PORT: rtpengine answers an ng ping on 127.0.0.1:PORT within 10 s.
ng_up() {
    python3 - "$1" <<'PY'
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
}

# prosody_start ROUTES [LOG]: Prosody for fabrikam.test (user bob, password
# secret) as `prosody`, c2s on P_C2S and s2s on P_S2S (both set by the
# caller), files under T_TMP/prosody, TLS with edge.fabrikam.test's test
# certificate, s2s encryption and authentication required; its s2s streams
# for contoso.test go where ROUTES says (the Lua value of
# mod_fedge_test_route's fedge_test_routes["contoso.test"]: one
# { "host", port } or a list of them tried in order; no DNS needed). LOG is
# Prosody's log setting (default: debug to T_LOGS/prosody-debug.log).
# Returns once both ports listen.
prosody_start() {
    local d=$T_TMP/prosody routes=$1 log=${2:-"debug = \"$T_LOGS/prosody-debug.log\""}
    mkdir -p "$d/data" "$d/plugins" "$d/certs"
    cp "$E2E_DIR/xmpp/mod_fedge_test_route.lua" "$d/plugins/"
    cat > "$d/prosody.cfg.lua" <<EOF
run_as_root = true
pidfile = "$d/prosody.pid"
data_path = "$d/data"
certificates = "$d/certs"
plugin_paths = { "$d/plugins" }
interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { $P_C2S }
s2s_ports = { $P_S2S }
c2s_direct_tls_ports = { }
s2s_direct_tls_ports = { }
http_ports = { }
https_ports = { }
modules_enabled = { "roster"; "saslauth"; "tls"; "dialback"; "disco"; "ping"; "fedge_test_route" }
modules_disabled = { "posix" }
s2s_secure_auth = true
s2s_require_encryption = true
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
storage = "internal"
log = { $log }
ssl = { certificate = "$PKI/edge.fabrikam.test.crt"; key = "$PKI/edge.fabrikam.test.key"; cafile = "$PKI/ca.crt" }
fedge_test_routes = { ["contoso.test"] = $routes }
VirtualHost "fabrikam.test"
EOF
    prosodyctl --config "$d/prosody.cfg.lua" register bob fabrikam.test secret \
        > "$T_LOGS/prosodyctl.log" 2>&1 || return 1
    start_bg prosody prosody --config "$d/prosody.cfg.lua"
    wait_listen "$P_C2S" 10 "$BG_PID" && wait_listen "$P_S2S" 5 "$BG_PID"
}

# rtpengine_start NG_PORT RTP_MIN [LOG_LEVEL]: rtpengine in user space
# (--table=-1) as `rtpengine` (stop it with `stop rtpengine`), interfaces
# internal/127.0.0.2 and external/127.0.0.3, ng on 127.0.0.1:NG_PORT, RTP
# ports RTP_MIN..RTP_MIN+99; returns once it answers an ng ping (10 s).
rtpengine_start() {
    start_bg rtpengine rtpengine --foreground --config-file=none --table=-1 \
        --interface=internal/127.0.0.2 --interface=external/127.0.0.3 \
        --listen-ng="127.0.0.1:$1" --port-min="$2" --port-max=$(($2 + 99)) \
        --log-stderr --log-level="${3:-6}" --num-threads=1 --delete-delay=0
    ng_up "$1"
}
