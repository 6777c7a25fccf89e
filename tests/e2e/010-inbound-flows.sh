#!/bin/bash
# 010-inbound-flows: a partner's traffic through the edge to the internal SIP
# server. Partner SIPp UAC -> stunnel client (presents edge.fabrikam.test) ->
# fedge external (mutual TLS) -> fedge internal (TCP) -> SIPp UAS (next_hop).
# MESSAGE, OPTIONS, INVITE/180/200/ACK/BYE, CANCEL, SUBSCRIBE/NOTIFY (with
# in-dialog requests both ways); OPTIONS to the edge itself; a request for a
# domain that is not ours is refused with 403 and a Warning (no open relay).
. "$(dirname "$0")/lib.sh"

topology
fedge_config "$T_TMP/fedge.ini"
check "fedge serve starts (external $EXT_PORT, internal $INT_PORT)" start_fedge "$T_TMP/fedge.ini" || finish
check "partner TLS legs start" inbound_legs || finish

check "inbound MESSAGE gets 200 from the internal UAS" \
    inbound_flow in-message message_uac.xml message_uas.xml
check "inbound OPTIONS to an internal user gets 200 from the UAS" \
    inbound_flow in-options options_uac.xml options_uas.xml
check "inbound INVITE/180/200 (Record-Route), ACK and BYE along the route set" \
    inbound_flow in-invite invite_uac.xml invite_uas.xml
check "inbound CANCEL: 200 for the CANCEL, 487 for the INVITE, ACK" \
    inbound_flow in-cancel cancel_uac.xml cancel_uas.xml
check "inbound SUBSCRIBE/NOTIFY, un-SUBSCRIBE and final NOTIFY" \
    inbound_flow in-subscribe subscribe_uac.xml subscribe_uas.xml

check "OPTIONS to the edge itself through the partner's leg gets 200" \
    sipp_uac in-options-edge options_uac.xml "$PARTNER_PORT" "$UAC_PORT" \
    "sip:edge.contoso.test" "sip:alice@fabrikam.test" "sip:alice@127.0.0.1:$DR_PORT;transport=tls"
check_out "OPTIONS to the edge itself (direct TLS client) gets 200" \
    $SIPCLIENT options --port "$EXT_PORT" --pki "$PKI"

# No open relay: from outside, a domain that is not ours.
mk_sip "$T_TMP/relay.sip" <<'SIP'
MESSAGE sip:someone@example.org SIP/2.0
Via: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK-relay-1
Max-Forwards: 70
From: <sip:alice@fabrikam.test>;tag=r1
To: <sip:someone@example.org>
Call-ID: relay-1@fabrikam.test
CSeq: 1 MESSAGE
Content-Type: text/plain
Content-Length: @CL@

relay
SIP
relay_refused() {
    local out
    out=$($SIPCLIENT send --port "$EXT_PORT" --pki "$PKI" --data "$T_TMP/relay.sip" \
        --expect-status 403 --print-response)
    local rc=$?
    printf '%s\n' "$out"
    [ "$rc" -eq 0 ] && printf '%s\n' "$out" | tr -d '\r' | grep -Eqi '^Warning: *[0-9]{3} +edge\.contoso\.test'
}
check_out "MESSAGE from a partner to a foreign domain gets 403 with a Warning from the edge" relay_refused

check "fedge still running" alive fedge
finish
