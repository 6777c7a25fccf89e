#!/bin/bash
# 123-media-panel: the calls an edge relays and its relays' health, in the
# admin API (GET /api/media) and on the panel's Status page in Chromium
# (tests/browser/media-status.mjs). A real rtpengine started here in user
# space (interfaces internal/127.0.0.2 and external/127.0.0.3, its own port
# range) and a second relay whose port is closed; three calls from an
# internal phone to a partner (behind the stunnel standing for its edge)
# set up and held by bench/media_calls.py (its connections kept open).
# The API lists the three calls active, inside -> partner, on the live
# relay, their Call-IDs shortened; the live relay answered its last ng
# request, the dead one is found "refused" by the edge's ping of idle
# relays (EDGE__MEDIA_PING_MS, 30 s after the start, or after a call that
# met it first). Without a session the endpoint answers 401. The same
# figures summed on [metrics]' /metrics: calls by state and by relay, the
# oldest call's age, each relay up or not and its last round trip.
. "$(dirname "$0")/lib.sh"

command -v rtpengine > /dev/null || { echo "not ok - rtpengine is not installed (scripts/bootstrap installs rtpengine-daemon)"; exit 1; }
BROWSER_DIR=$FEDGE_ROOT/tests/browser
SHOTS=$FEDGE_BUILD/e2e/screenshots
mkdir -p "$SHOTS"

topology
outbound_legs
read -r NG_PORT DEAD_PORT IRTP ERTP < <(udp_ports 4)
RTP_MIN=$((30000 + ($$ % 100) * 100))
check "rtpengine answers ng ping" rtpengine_start "$NG_PORT" "$RTP_MIN" || show rtpengine

CFG=$T_TMP/fedge.ini
FEDGE_LOG_LEVEL=info fedge_config "$CFG"
cat >> "$CFG" <<EOF2

[media]
rtpengine = 127.0.0.1:$NG_PORT, 127.0.0.1:$DEAD_PORT
timeout = 500ms
EOF2
MET_PORT=$(free_port)
printf '\n[metrics]\nlisten = 127.0.0.1:%s\n' "$MET_PORT" >> "$CFG"
USER=media PASS='media-pass-122'
check "an administrator" sh -c "printf '%s\n' '$PASS' | '$FEDGE_BIN' admin add $USER -c '$CFG'"
check "fedge serve starts with [media] and two relays" start_fedge "$CFG" || show fedge
T0=$(date +%s)

# The phone and the partner keep their connections open (a call whose
# connection closes becomes an orphan: docs/media.md).
start_bg calls python3 "$FEDGE_ROOT/bench/media_calls.py" --int-port "$INT_PORT" \
    --partner-port "$PUAS_PORT" --dr-port "$DR_PORT" --calls 3 --rate 10 \
    --int-ports "$IRTP" --ext-ports "$ERTP" --out "$T_TMP/calls.txt" --hold 300 \
    --ready "$T_TMP/calls.ready"
held() { wait_for "test -e '$T_TMP/calls.ready'" 30 && grep -q ' 3 set up, 0 failed' "$T_LOGS/calls.log"; }
check "three calls inside -> partner set up through the relay and held" held || show calls

# media_api WAIT_S CHECK: polls GET /api/media (signed in) until the Python
# expression CHECK on d (the answer) holds; prints the last answer.
media_api() {
    python3 - "$ADMIN_PORT" "$USER" "$PASS" "$1" "$2" <<'PY'
import http.client, json, sys, time
port, user, pw, wait, cond = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5]
def get(path, cookie=None):
    c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=5)
    c.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    r = c.getresponse(); b = r.read(); c.close()
    return r.status, b
st, _ = get("/api/media")
if st != 401:
    print("without a session: %d, expected 401" % st); sys.exit(1)
c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=5)
c.request("POST", "/api/login", body=json.dumps({"name": user, "password": pw}),
          headers={"Content-Type": "application/json"})
r = c.getresponse(); r.read()
cookie = (r.getheader("Set-Cookie") or "").split(";")[0]
end = time.time() + wait
while True:
    st, b = get("/api/media", cookie)
    d = json.loads(b) if st == 200 else {}
    try:
        ok = bool(eval("(" + cond + ")", {"d": d}))
    except (KeyError, IndexError, TypeError) as e:
        ok = False  # not there yet
    if ok or time.time() > end:
        break
    time.sleep(0.5)
print(json.dumps(d, indent=1, ensure_ascii=False))
sys.exit(0 if ok else 1)
PY
}
LIVE="127.0.0.1:$NG_PORT" DEAD="127.0.0.1:$DEAD_PORT"
check_out "GET /api/media: 3 calls active, inside -> partner, on the live relay, Call-IDs shortened" \
    media_api 5 "d['enabled'] and d['calls_total'] == 3 and d['shown'] == 3 and all(
      c['state'] == 'active' and c['from'] == 'internal' and c['relay'] == '$LIVE' and
      '@' not in c['call'] and c['call'].endswith('\u2026') and len(c['call']) <= 13 and
      c['age_s'] >= 0 for c in d['calls'])"
check_out "GET /api/media: the live relay answered its last ng request (offer or answer, ok)" \
    media_api 5 "[r['relay'] for r in d['relays']] == ['$LIVE', '$DEAD'] and d['relays'][0]['up'] and
      d['relays'][0]['last_result'] == 'ok' and d['relays'][0]['rtt_ms'] is not None"
# The dead relay: asked by a call only when the call's Call-ID hashed to it
# first; pinged once idle for 30 s (since the start, or that call).
check_out "GET /api/media: the dead relay is pinged when idle and shown refused, not answering" \
    media_api $((T0 + 50 - $(date +%s))) "d['relays'][1]['up'] is False and
      d['relays'][1]['last_command'] == 'ping' and
      d['relays'][1]['last_result'] == 'refused' and d['relays'][1]['rtt_ms'] is None"

# metrics_show WAIT_S LINE...: polls [metrics]' /metrics until every LINE
# (a series and its value, as Prometheus text) is in it.
metrics_show() {
    local wait=$1 end l ok
    shift
    end=$(($(date +%s) + wait))
    while :; do
        curl -s "http://127.0.0.1:$MET_PORT/metrics" > "$T_TMP/metrics.txt"
        ok=1
        for l in "$@"; do grep -qxF "$l" "$T_TMP/metrics.txt" || { ok=0; echo "missing: $l"; }; done
        [ "$ok" = 1 ] && return 0
        [ "$(date +%s)" -ge "$end" ] && { grep '^fedge_media' "$T_TMP/metrics.txt"; return 1; }
        sleep 0.5
    done
}
check_out "metrics: 3 calls active, all on the live relay, the dead relay down" \
    metrics_show 5 'fedge_media_calls_by_state{state="active"} 3' \
    'fedge_media_calls_by_state{state="setting_up"} 0' "fedge_media_relay_calls{relay=\"$LIVE\"} 3" \
    "fedge_media_relay_calls{relay=\"$DEAD\"} 0" "fedge_media_relay_up{relay=\"$LIVE\"} 1" \
    "fedge_media_relay_up{relay=\"$DEAD\"} 0"
check "metrics: the oldest call's age and the live relay's round trip" sh -c \
    "grep -Eq '^fedge_media_oldest_call_seconds [1-9][0-9]*\$' '$T_TMP/metrics.txt' &&
     grep -Eq '^fedge_media_relay_rtt_microseconds\{relay=\"$LIVE\"\} [0-9]+\$' '$T_TMP/metrics.txt'"

media_page() {
    [ -d "$BROWSER_DIR/node_modules/playwright-core" ] ||
        env PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$BROWSER_DIR" --no-audit --no-fund ||
        return 1
    mkdir -p "$T_TMP/profile"
    (cd "$BROWSER_DIR" && env ADMIN_URL="http://127.0.0.1:$ADMIN_PORT/" ADMIN_USER=$USER \
        ADMIN_PASS="$PASS" SHOTS="$SHOTS" PROFILE="$T_TMP/profile" CALLS=3 LIVE="$LIVE" \
        DEAD="$DEAD" timeout 120 node media-status.mjs)
}
check "chromium is installed (/usr/bin/chromium; scripts/bootstrap)" test -x /usr/bin/chromium
check_out "the Status page (Chromium) lists the 3 calls and both relays' health" media_page
stop calls
stop fedge
stop rtpengine
finish
