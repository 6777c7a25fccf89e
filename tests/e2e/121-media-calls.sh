#!/bin/bash
# 121-media-calls: calls across the edge with their media through a real
# rtpengine started here in user space (interfaces internal/127.0.0.2 and
# external/127.0.0.3, its own port range). An internal phone calls a
# partner (behind the stunnel standing for its edge): the partner's SDP
# names the relay's external address, the phone's the internal one, RTP
# flows both ways through them; early media (183) and a re-INVITE are
# rewritten too; BYE, 486 and CANCEL leave no session at the
# relay (asked over ng); with the relay stopped the INVITE gets 503 with a
# Warning naming it within the ng timeout; with two relays, the first
# dead, the call goes through the second. A user whose policy has A/V off
# gets 488 (19018) for a call while their MESSAGE is delivered; with
# [media] max_calls = 1 a second call while one rings gets 503, and the
# Status page counts the relayed calls and relays up.
# tests/e2e/media_call.py plays the phone and the partner.
. "$(dirname "$0")/lib.sh"

command -v rtpengine > /dev/null || { echo "not ok - rtpengine is not installed (scripts/bootstrap installs rtpengine-daemon)"; exit 1; }

topology
read -r NG_PORT DEAD_PORT < <(udp_ports 2)
RTP_MIN=$((20000 + ($$ % 100) * 100))
check "rtpengine answers ng ping" rtpengine_start "$NG_PORT" "$RTP_MIN" || show rtpengine

CFG=$T_TMP/fedge.ini
FEDGE_LOG_LEVEL=info fedge_config "$CFG"
cat >> "$CFG" <<EOF2

[media]
rtpengine = 127.0.0.1:$NG_PORT
timeout = 500ms
EOF2
outbound_legs
# erin may federate but not call: set before the edge starts, so no wait.
check "fedge policy set imonly --av off" "$FEDGE_BIN" policy set imonly --federation on --av off -c "$CFG"
check "fedge policy assign erin" "$FEDGE_BIN" policy assign erin@contoso.test imonly -c "$CFG"
check "fedge serve starts with [media]" start_fedge "$CFG" || show fedge

call() { # SCENARIO [extra args]
    local s=$1; shift
    timeout 60 python3 "$E2E_DIR/media_call.py" "$s" --int-port "$INT_PORT" \
        --partner-port "$PUAS_PORT" --dr-port "$DR_PORT" --ng-port "$NG_PORT" "$@"
}
check_out "a call inside -> partner: SDP rewritten both ways, RTP through the relay, BYE deletes" call call
check_out "183 and 200 with SDP in order, re-INVITE (hold), BYE: all rewritten, then no session" call early
check_out "486: the relay forgets the call" call busy
check_out "CANCEL: the relay forgets the call" call cancel
check_out "ICE offer: relay candidates to the partner and back to the ICE offerer" call ice
check_out "A/V off: INVITE refused 488 with 19018, MESSAGE delivered" call noav --from erin

# The relay stopped: refuse (the default) answers 503 with a Warning
# within the ng timeout (500 ms, one retransmission inside it).
stop rtpengine
check_out "relay stopped: 503 with a Warning naming it, within the timeout" call refused --limit 1.5
stop fedge

# Two relays, the first dead: the call goes through the second.
check "rtpengine starts again" rtpengine_start "$NG_PORT" "$RTP_MIN" || show rtpengine
sed -i "s/^rtpengine = .*/rtpengine = 127.0.0.1:$DEAD_PORT, 127.0.0.1:$NG_PORT/" "$CFG"
check "fedge serve starts with two relays" start_fedge "$CFG" fedge2 || show fedge2
# A call's first relay is chosen by a hash of its Call-ID: calls are made
# until one met the dead relay first (each has one chance in two; after
# that the dead relay is tried last), and every one must go through.
dead_met() { grep -q "relay does not answer.*127.0.0.1:$DEAD_PORT" "$T_LOGS/fedge2.log"; }
ok=1
for i in $(seq 12); do
    call call > "$T_LOGS/two-relays-$i.log" 2>&1 || { ok=0; cat "$T_LOGS/two-relays-$i.log"; break; }
    dead_met && break
done
check "two relays, the first dead: every call goes through ($i made)" test "$ok" -eq 1
check "two relays: a call met the dead relay first and failed over" dead_met
stop fedge2

# One call at a time: the second gets 503 while the first rings.
sed -i "s/^rtpengine = .*/rtpengine = 127.0.0.1:$NG_PORT\nmax_calls = 1/" "$CFG"
check "an administrator for the Status page" sh -c "printf 'media-pass-1\n' | '$FEDGE_BIN' admin add media -c '$CFG'"
check "fedge serve starts with max_calls = 1" start_fedge "$CFG" fedge3 || show fedge3
check_out "max_calls = 1: a second call gets 503 naming it, the first goes on; Status shows the calls" \
    call full --admin-port "$ADMIN_PORT" --admin-user media --admin-pass media-pass-1

finish
