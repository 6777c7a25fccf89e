#!/bin/bash
# 120-media-check: `fedge check` pings every [media] rtpengine relay over
# the ng protocol: a real rtpengine started here in user space (no kernel
# module, its own loopback interfaces and port range) passes, a relay
# address where nothing listens fails with the media-relay diagnostic, and
# `fedge check-config` shows the [media] section (calls through the relay:
# tests/e2e/121-media-calls.sh).
. "$(dirname "$0")/lib.sh"

command -v rtpengine > /dev/null || { echo "not ok - rtpengine is not installed (scripts/bootstrap installs rtpengine-daemon)"; exit 1; }

topology
# UDP ports for the ng listener and for a relay that does not exist.
read -r NG_PORT DEAD_PORT < <(udp_ports 2)
RTP_MIN=$((20000 + ($$ % 100) * 100))
check "rtpengine answers ng ping on 127.0.0.1:$NG_PORT" rtpengine_start "$NG_PORT" "$RTP_MIN" || show rtpengine

CFG=$T_TMP/fedge.ini
fedge_config "$CFG"
fedge_config "$T_TMP/plain.ini"
cat >> "$CFG" <<EOF2

[media]
rtpengine = 127.0.0.1:$NG_PORT, 127.0.0.1:$DEAD_PORT
timeout = 300ms
EOF2


"$FEDGE_BIN" check -c "$CFG" --json > "$T_LOGS/check.json"; rc=$?
check "check: exit 1 (one relay is down)" test "$rc" -eq 1
media() {
    python3 - "$T_LOGS/check.json" "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
m = [i for i in d["items"] if i["step"] == "media"]
ok = eval(sys.argv[2])
if not ok:
    print("assertion failed:", sys.argv[2]); print(json.dumps(m, indent=1)); sys.exit(1)
PY
}
check "check: the live relay passes (answers ng ping)" media \
    'any(i["name"] == "rtpengine 127.0.0.1:'"$NG_PORT"'" and i["status"] == "pass" and "answers ng ping" in i["text"] for i in m)'
check "check: the dead relay fails with media-relay (19526) and its fix" media \
    'any(i["name"] == "rtpengine 127.0.0.1:'"$DEAD_PORT"'" and i["status"] == "fail" and i["id"] == 19526 and i["code"] == "media-relay" and "--listen-ng" in i["fix"] for i in m) and len(m) == 2'
"$FEDGE_BIN" check -c "$CFG" > "$T_LOGS/check.txt"
check "check text: a [fail] media line naming the dead relay" \
    grep -q "^\[fail\] media    rtpengine 127.0.0.1:$DEAD_PORT: " "$T_LOGS/check.txt"

check_out "check-config shows the relays" bash -c \
    "'$FEDGE_BIN' check-config -c '$CFG' | grep -F 'media       rtpengine 127.0.0.1:$NG_PORT, 127.0.0.1:$DEAD_PORT (interfaces internal, external), timeout 300ms, on relay failure refuse'"
"$FEDGE_BIN" check-config -c "$T_TMP/plain.ini" > "$T_LOGS/check-config-plain.log" 2>&1
check "check-config without [media]: media not relayed" \
    grep -q '^  media       not relayed (no \[media\] section)$' "$T_LOGS/check-config-plain.log"

# Without [media]: no media step at all.
"$FEDGE_BIN" check -c "$T_TMP/plain.ini" --json > "$T_LOGS/check-plain.json"
check "check without [media]: no media item" python3 -c '
import json, sys
d = json.load(open(sys.argv[1])); sys.exit(any(i["step"] == "media" for i in d["items"]))' "$T_LOGS/check-plain.json"

finish
