#!/bin/bash
# 122-media-cleanup: what becomes of relayed calls whose connection
# closes, and RTP <-> SRTP bridging, with a real rtpengine started here in
# user space (interfaces internal/127.0.0.2 and external/127.0.0.3).
# With [media] orphan_grace = 2s: the partner's connection (stunnel in
# front of it) closes under a call and nobody comes back: once the grace
# has passed the relay has no session for the call (ng query). Three calls
# on one partner connection that closes: the partner comes back on a new
# connection with an INFO in one (kept, RTP still flows, BYE works), RTP
# keeps flowing in another (kept), the third is deleted. Then with
# [media] internal_transport = rtp: a partner's RTP/SAVP offer with SDES
# keys reaches the inside as RTP/AVP without keys, the answer goes back as
# RTP/SAVP with the relay's key, and media crosses both ways — checked
# with libsrtp (build/tests/tools/srtp_tool). tests/e2e/media_call.py
# plays the phones and the partner.
. "$(dirname "$0")/lib.sh"

command -v rtpengine > /dev/null || { echo "not ok - rtpengine is not installed (scripts/bootstrap installs rtpengine-daemon)"; exit 1; }
SRTP_TOOL=$FEDGE_BUILD/tests/tools/srtp_tool
[ -x "$SRTP_TOOL" ] || { echo "not ok - $SRTP_TOOL is missing (make $SRTP_TOOL; needs libsrtp2-dev from scripts/bootstrap)"; exit 1; }

topology
NG_PORT=$(udp_ports 1)
MET_PORT=$(free_port)
RTP_MIN=$((20000 + ($$ % 100) * 100))
check "rtpengine answers ng ping" rtpengine_start "$NG_PORT" "$RTP_MIN" || show rtpengine

CFG=$T_TMP/fedge.ini
FEDGE_LOG_LEVEL=info fedge_config "$CFG"
cat >> "$CFG" <<EOF2

[media]
rtpengine = 127.0.0.1:$NG_PORT
timeout = 500ms
orphan_grace = 2s

[metrics]
listen = 127.0.0.1:$MET_PORT
EOF2
outbound_legs
# the partner's edge connecting to ours (the way back after a close)
PARTNER_PORT=$(free_port)
check "stunnel client for the partner's edge" \
    stunnel_client partner-tls-out "$PARTNER_PORT" "$EXT_PORT" edge.fabrikam.test
check "fedge serve starts with [media] orphan_grace = 2s" start_fedge "$CFG" || show fedge
check "check-config shows the orphan grace and pass-through media" bash -c \
    "'$FEDGE_BIN' check-config -c '$CFG' | grep -F 'orphan grace 2s, media to internal pass, to external pass'"

call() { # SCENARIO [extra args]
    local s=$1; shift
    timeout 90 python3 "$E2E_DIR/media_call.py" "$s" --int-port "$INT_PORT" \
        --partner-port "$PUAS_PORT" --dr-port "$DR_PORT" --ng-port "$NG_PORT" \
        --metrics-port "$MET_PORT" --grace 2 --partner-in-port "$PARTNER_PORT" "$@"
}
check_out "the partner's connection closes, nobody comes back: after the grace no session at the relay" \
    call orphan
check_out "three calls orphaned: rescued by the partner's INFO on a new connection, kept by flowing RTP, deleted" \
    call orphan-back
check "the edge logged the deletion naming orphan_grace" \
    grep -q "call deleted at the relay: its connection closed" "$T_LOGS/fedge.log"
stop fedge

# RTP <-> SRTP: the inside lacks SRTP.
sed -i 's/^orphan_grace = 2s$/internal_transport = rtp/' "$CFG"
check "fedge serve starts with [media] internal_transport = rtp" start_fedge "$CFG" fedge2 || show fedge2
check "check-config shows the bridging" bash -c \
    "'$FEDGE_BIN' check-config -c '$CFG' | grep -F 'media to internal rtp, to external pass'"
check_out "partner SRTP offer -> inside plain RTP, answer back as SRTP; media both ways (libsrtp)" \
    call bridge --uas-port "$UAS_PORT" --srtp-tool "$SRTP_TOOL"

# A bad value: the file and line named.
printf '[media]\nrtpengine = 127.0.0.1:%s\nexternal_transport = zrtp\n' "$NG_PORT" > "$T_TMP/bad.ini"
"$FEDGE_BIN" check-config -c "$T_TMP/bad.ini" > "$T_LOGS/bad.log" 2>&1
check "external_transport = zrtp: refused with the file, line and the values allowed" \
    grep -q 'bad.ini:3: .*external_transport.*pass, rtp or srtp' "$T_LOGS/bad.log"

finish
