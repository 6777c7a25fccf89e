#!/bin/bash
# 020-outbound-flows: internal traffic to a partner. Internal SIPp UAC ->
# fedge internal (TCP) -> fedge external, mutual TLS to the default route ->
# stunnel server (the partner edge: presents edge.fabrikam.test, requires a
# client certificate naming edge.contoso.test) -> partner SIPp UAS.
# MESSAGE, OPTIONS, INVITE/180/200/ACK/BYE, CANCEL, SUBSCRIBE/NOTIFY.
. "$(dirname "$0")/lib.sh"

topology
fedge_config "$T_TMP/fedge.ini"
check "fedge serve starts (external $EXT_PORT, internal $INT_PORT)" start_fedge "$T_TMP/fedge.ini" || finish
check "partner edge (stunnel server on the default route $DR_PORT) starts" outbound_legs || finish

check "outbound MESSAGE gets 200 from the partner UAS" \
    outbound_flow out-message message_uac.xml message_uas.xml
check "outbound OPTIONS to a partner user gets 200" \
    outbound_flow out-options options_uac.xml options_uas.xml
check "outbound INVITE/180/200 (Record-Route), ACK and BYE along the route set" \
    outbound_flow out-invite invite_uac.xml invite_uas.xml
check "outbound CANCEL: 200 for the CANCEL, 487 for the INVITE, ACK" \
    outbound_flow out-cancel cancel_uac.xml cancel_uas.xml
check "outbound SUBSCRIBE/NOTIFY, un-SUBSCRIBE and final NOTIFY" \
    outbound_flow out-subscribe subscribe_uac.xml subscribe_uas.xml

check "the partner edge verified fedge's client certificate (edge.contoso.test)" \
    grep -q "Certificate accepted at depth=0: CN=edge.contoso.test" "$T_LOGS/partner-edge.log"
check "OPTIONS to the edge itself from the internal side gets 200" \
    sipp_uac out-options-edge options_uac.xml "$INT_PORT" "$IUAC_PORT" \
    "sip:edge.contoso.test" "sip:carol@contoso.test" "sip:carol@127.0.0.1:$IUAC_PORT;transport=tcp"
check "fedge still running" alive fedge
finish
