#!/bin/bash
# 164-remote-fork: a partner's call that the organization's registrar forks
# both to an internal device and to a remote client through the edge has
# media whichever answers. dave@fabrikam.test (tests/e2e/fork_call.py, a
# phone on edge B's internal side) calls alice@contoso.test: edge B ->
# edge A external -> Kamailio (contoso's registrar, parallel forking to
# alice's two contacts: tests/e2e/kamailio-registrar.cfg) -> an internal
# SIPp device registered straight with Kamailio, and -> edge A internal ->
# baresip, registered through edge A's [remote] listener. Edge A relays
# the media (rtpengine): the partner's crossing is a relay call
# (external -> internal) whose internal ports the device is given; the
# crossing to baresip is a relay call of its own, a fork (internal ->
# external), whose internal side the client's answer names. Checked twice:
# the device answers (baresip's fork cancelled and deleted at the relay,
# RTP both ways between dave and the device, each sending where its SDP
# says: the device to the relay's internal ports it was given), then
# baresip answers (its echo module; the
# device cancelled; RTP partner -> call -> fork -> baresip and back);
# after dave's BYE the relay holds neither call nor fork.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/policy_lib.sh"

PASSWORD=remote-secret-42
settle() {
    local g
    g=$(sqlite3 -cmd ".timeout 1000" "$T_TMP/contoso.db" "SELECT value FROM meta WHERE key = 'generation'")
    wait_for "grep -q 'settings loaded generation=$g\b' '$T_LOGS/edge-a.log'" 5 ||
        note "settle: edge A has not loaded generation $g after 5 s"
}
pol_topology
REM=$(free_port); KTLS=$(free_port); KTCP=$(free_port)
check "dnsmasq starts" pol_dns || finish
NG_PORT=$(udp_ports 1)
RTP_MIN=$((30000 + ($$ % 100) * 100))
check "rtpengine (edge A's media relay) answers ng ping" rtpengine_start "$NG_PORT" "$RTP_MIN" 7 || show rtpengine
CA=$T_TMP/contoso.ini CB=$T_TMP/fabrikam.ini
pol_config "$CA" contoso "$EA" "$IA" "$KTCP" "$EB" "$ADA"
pol_config "$CB" fabrikam "$EB" "$IB" "$UB" "$EA" "$ADB"
cat >> "$CA" <<EOT

[remote]
listen = 127.0.0.1:$REM
registrar = 127.0.0.1:$KTCP

[media]
rtpengine = 127.0.0.1:$NG_PORT
timeout = 500ms
EOT
check "kamailio (contoso's registrar, forking to alice's contacts) starts" \
    kamailio_start registrar "$E2E_DIR/kamailio-registrar.cfg" "$KTLS" "$KTCP" \
    "sip:127.0.0.1:$IA;transport=tcp" || { show registrar; finish; }
FEDGE_NO_PARTNER=1 EXT_PORT=$EA INT_PORT=$IA check "edge A (contoso, [remote] and [media]) serves" \
    start_fedge "$CA" edge-a || finish
check "B: contoso.test an allowed partner server" B domain allow contoso.test --proxy-fqdn edge.contoso.test
FEDGE_NO_PARTNER=1 EXT_PORT=$EB INT_PORT=$IB check "edge B (fabrikam) serves" \
    start_fedge "$CB" edge-b || finish
check "the [remote] listener accepts" wait_listen "$REM" 5
check "A: fabrikam.test an allowed partner server" A domain allow fabrikam.test --proxy-fqdn edge.fabrikam.test
check "A: remote access on (edge)" A edge set --outside-users on
check "A: remote access on (global policy)" A policy set global --outside on
settle

# baresip as alice's remote client (as in 163): TLS to the [remote]
# listener, digest, SIP Outbound; ECHO=1 loads its echo module, which
# answers every call and sends the audio it receives back
BS=$T_TMP/baresip; mkdir -p "$BS"; BSIP=$(free_port)
baresip_start() {
    local ctl echo="" dev=aufile,/dev/null
    ctl=$(free_port)
    # echo answers and sends each call's audio back through aubridge (a
    # player and a source of the same device name, which echo sets)
    if [ "$1" = echo ]; then
        echo="module aubridge.so
module_app echo.so"
        dev=aubridge,
    fi
    cat > "$BS/config" <<EOC
poll_method epoll
sip_listen 127.0.0.1:$BSIP
sip_cafile $PKI/ca.crt
module_path /usr/lib/baresip/modules
module_tmp uuid.so
module g711.so
module_app account.so
module_app contact.so
module_app menu.so
module_app ctrl_tcp.so
$echo
ctrl_tcp_listen 127.0.0.1:$ctl
audio_player $dev
audio_source $dev
audio_alert aufile,/dev/null
EOC
    printf '<sip:alice@contoso.test;transport=tls>;auth_pass=%s;outbound="sip:127.0.0.1:%s;transport=tls";sipnat=outbound;regint=600;audio_codecs=PCMU\n' \
        "$PASSWORD" "$REM" > "$BS/accounts"
    printf 'a11ce000-0000-4000-8000-0000000000b5' > "$BS/uuid"
    BS_REG=$(grep -c "registered sip:alice@contoso.test path \[<sip:" "$T_LOGS/registrar.log")
    start_bg "baresip-$1" baresip -f "$BS" -s
    wait_listen "$ctl" 10 "$BG_PID" || return 1
    wait_for "[ \"\$(grep -c 'registered sip:alice@contoso.test path \[<sip:[A-Za-z0-9_-]\{27\}@127.0.0.1:$IA;transport=tcp;lr;ob>\]' '$T_LOGS/registrar.log')\" -gt $BS_REG ]" 15
}
# device NAME SCENARIO CALL-ID: alice's internal device, SIPp registered
# straight with Kamailio over TCP (contact on its own port), with the
# Call-ID of the call it will take (so that SIPp maps the INVITE to its
# call); its SDP names DEV_RTP, where fork_call.py plays its RTP, sent to
# the address the INVITE's SDP gave it (written to $T_LOGS/device-media);
# returns once Kamailio has stored its contact
DEV_PORT=$(free_port); DEV_RTP=$(udp_ports 1)
device() {
    local n
    rm -f "$T_LOGS/device-media"
    n=$(dev_regs)
    # shellcheck disable=SC2046
    start_bg "$1" sh -c 'cd "$1" && shift && exec "$@"' _ "$T_LOGS" \
        sipp "127.0.0.1:$KTCP" -sf "$SCEN/$2" -p "$DEV_PORT" -m 1 $(_sipp_common "$1") \
        -timeout 60 -timeout_error -cid_str "$3" \
        -key mport "$DEV_RTP" \
        -key contact "sip:alice@127.0.0.1:$DEV_PORT;transport=tcp" -key user alice \
        -au alice -ap "$PASSWORD"
    wait_for "[ \"\$(dev_regs)\" -gt $n ]" 15
}
# call ANSWERER CONTACT CALL-ID [ARGS]: dave calls alice (tests/e2e/fork_call.py)
call() {
    local who=$1 contact=$2 cid=$3
    shift 3
    timeout 90 python3 "$E2E_DIR/fork_call.py" --ib "$IB" --ng "$NG_PORT" --cid "$cid" \
        --answerer "$who" --contact "$contact" "$@"
}
# relay_cmds CALL-ID: the relay's offers, answers and deletes for CALL-ID
# and its forks, from rtpengine's log: "COMMAND CALL|FORK FROM>TO" (the
# checks sort them: the fork's CANCEL and the device's 200 race, and a
# call's delete names its forks' first)
relay_cmds() {
    python3 - "$T_LOGS/rtpengine.log" "$1" <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
cid = sys.argv[2]
for m in re.finditer(r"Dump for '(offer|answer|delete)' from \S+: (\{.*?)(?=\n\[|\Z)", text, re.S):
    d = m.group(2)
    c = re.search(r'"call-id": "([^"]*)"', d)
    if not c or not (c.group(1) == cid or c.group(1).startswith(cid + ";fork=")):
        continue
    dr = re.search(r'"direction": \[ "(\w+)", "(\w+)" \]', d)
    print(m.group(1), "CALL" if c.group(1) == cid else "FORK",
          "%s>%s" % dr.groups() if dr else "-")
PY
}
# dev_regs: contacts Kamailio stored for alice without a Path (the device's)
dev_regs() { grep "registered sip:alice@contoso.test path" "$T_LOGS/registrar.log" | grep -vc "<sip:"; }

note "the device answers: its media through the partner's relay call, the client's fork deleted"
check "baresip (no auto-answer) registers through edge A" baresip_start ring
check "alice's internal device registers straight with Kamailio" device dev-answer fork_device_answer_uas.xml fork-dev-1
check_out "dave's call: the device answers, RTP both ways through the relay, BYE" \
    call device "127.0.0.1:$DEV_PORT" fork-dev-1 --device-rtp "$DEV_RTP" --device-media "$T_LOGS/device-media"
check "the device's side: INVITE, 200, ACK, BYE all as expected" sipp_ok dev-answer 15
check_out "the relay's commands for the call" relay_cmds fork-dev-1
check "the partner's call offered external -> internal and answered internal -> external; the client's crossing offered as a fork (internal -> external) and deleted" \
    test "$(relay_cmds fork-dev-1 | sort | tr '\n' ' ')" = "answer CALL internal>external delete CALL - delete FORK - offer CALL external>internal offer FORK internal>external "
check "... the fork's delete came with baresip's CANCEL" \
    wait_for "grep -q '^CANCEL sip:alice' '$T_LOGS/baresip-ring.log'" 5
stop baresip-ring

note "the client answers: partner -> call -> fork -> client, the device cancelled"
check "baresip (echo: answers and sends back what it hears) registers through edge A" baresip_start echo
check "alice's internal device registers straight with Kamailio" device dev-ring fork_device_ring_uas.xml fork-cl-1
check_out "dave's call: baresip answers, RTP both ways through the relay (call and fork), BYE" \
    call client "urn:uuid:a11ce000-0000-4000-8000-0000000000b5" fork-cl-1
check "the device's side: rang, cancelled, 487" sipp_ok dev-ring 15
check "baresip was given the relay's external address only" \
    bash -c "grep -A40 '^INVITE sip:alice' '$T_LOGS/baresip-echo.log' | grep -q '^c=IN IP4 127.0.0.3' &&
        ! grep -q '^c=IN IP4 127.0.0.2' '$T_LOGS/baresip-echo.log'"
check_out "the relay's commands for the call" relay_cmds fork-cl-1
check "the partner's call offered external -> internal; the fork internal -> external, answered by the client external -> internal; the partner's call answered internal -> external; both deleted" \
    test "$(relay_cmds fork-cl-1 | sort | tr '\n' ' ')" = "answer CALL internal>external answer FORK external>internal delete CALL - delete FORK - offer CALL external>internal offer FORK internal>external "
check "the partner's call was never offered external -> external" \
    bash -c "! grep -q '\"direction\": \[ \"external\", \"external\" \]' '$T_LOGS/rtpengine.log'"
stop baresip-echo

check "edge A still running" alive edge-a
check "edge B still running" alive edge-b
check "kamailio still running" alive registrar
check "rtpengine still running" alive rtpengine
finish
