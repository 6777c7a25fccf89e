#!/bin/bash
# 001-harness-kamailio: proves the harness and the SIPp scenarios themselves,
# independent of fedge: Kamailio (bench/kamailio-edge.cfg, mutual TLS,
# record-route, relay to one next hop) stands in for the edge, and every
# inbound flow must pass through it; the UAS scenarios must fail when no
# proxy is in the path (so their checks can fail).
. "$(dirname "$0")/lib.sh"

topology
KTCP_PORT=$(free_port)
check "kamailio edge starts (mutual TLS on $EXT_PORT)" \
    kamailio_start kamailio "$FEDGE_ROOT/bench/kamailio-edge.cfg" "$EXT_PORT" "$KTCP_PORT" \
    "sip:127.0.0.1:$UAS_PORT;transport=tcp" || { show kamailio; finish; }
check "partner TLS legs start" inbound_legs || finish

check "MESSAGE through the Kamailio edge" inbound_flow k-message message_uac.xml message_uas.xml
check "OPTIONS through the Kamailio edge" inbound_flow k-options options_uac.xml options_uas.xml
check "INVITE/180/200/ACK/BYE through the Kamailio edge" inbound_flow k-invite invite_uac.xml invite_uas.xml
check "INVITE/180/CANCEL/200/487/ACK through the Kamailio edge" inbound_flow k-cancel cancel_uac.xml cancel_uas.xml
check "SUBSCRIBE/200/NOTIFY, un-SUBSCRIBE/NOTIFY through the Kamailio edge" \
    inbound_flow k-subscribe subscribe_uac.xml subscribe_uas.xml

# Negative control: straight from UAC to UAS (no proxy), the UAS's checks
# (two Via, Record-Route) must fail the call.
D_PORT=$(free_port); C_PORT=$(free_port)
neg() { ! _flow neg-"$1" "$1"_uac.xml "$1"_uas.xml "$D_PORT" "sip:bob@127.0.0.1:$D_PORT;transport=tcp" \
    "$D_PORT" "$C_PORT" "sip:bob@contoso.test" "sip:alice@fabrikam.test" \
    "sip:alice@127.0.0.1:$C_PORT;transport=tcp"; }
check "MESSAGE UAS refuses a request that bypassed the proxy" neg message
check "INVITE UAS refuses an INVITE without Record-Route" neg invite

check "refused: no client certificate" $SIPCLIENT refused --port "$EXT_PORT" --pki "$PKI" --cert ""
check "refused: expired client certificate" $SIPCLIENT refused --port "$EXT_PORT" --pki "$PKI" --cert expired.fabrikam.test
check "refused: client certificate from an unknown CA" $SIPCLIENT refused --port "$EXT_PORT" --pki "$PKI" --cert rogue.fabrikam.test
check "refused check fails when the peer is accepted" \
    bash -c "! $SIPCLIENT refused --port $EXT_PORT --pki $PKI --cert edge.fabrikam.test"
check "kamailio still running" alive kamailio
finish
