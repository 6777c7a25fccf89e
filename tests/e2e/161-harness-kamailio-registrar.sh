#!/bin/bash
# 161-harness-kamailio-registrar: proves the remote-user test peers
# themselves, independent of fedge: Kamailio as the internal registrar
# (tests/e2e/kamailio-registrar.cfg: digest with a fixed password, usrloc
# in memory, Path stored and used) and the SIPp scenarios that stand for
# the edge. A REGISTER carrying an edge's Path (flow token, ;ob) with the
# wrong password is challenged again; with the right one it is stored and
# the 200 returns the Path; a MESSAGE from an internal user then reaches
# the Path's host with the token in its Route and the contact as
# Request-URI; the Path UAS's checks fail a MESSAGE that did not come
# through a Path (so they can fail).
. "$(dirname "$0")/lib.sh"

KTLS=$(free_port); KTCP=$(free_port); NH_PORT=$(free_port)
EDGE_INT=$(free_port) # where the edge's internal interface would be
CLIENT_PORT=$(free_port); UAC_PORT=$(free_port)
PASSWORD=remote-secret-42
TOKEN=AbCdEfGhIjKlMnOpQrStUvWxYz0 # a flow token's shape (src/edge/flow.h)
PATH_URI="<sip:$TOKEN@127.0.0.1:$EDGE_INT;transport=tcp;lr;ob>"
CONTACT="sip:alice@127.0.0.1:$CLIENT_PORT;transport=tcp;ob"

check "kamailio registrar starts (tcp $KTCP)" \
    kamailio_start registrar "$E2E_DIR/kamailio-registrar.cfg" "$KTLS" "$KTCP" \
    "sip:127.0.0.1:$NH_PORT;transport=tcp" || { show registrar; finish; }

reg() { # name scenario password
    sipp_uac "$1" "$2" "$KTCP" "$(free_port)" "sip:contoso.test" "sip:alice@contoso.test" \
        "$CONTACT" 1 -au alice -ap "$3" -key user alice -key path "$PATH_URI"
}
check "a wrong password is challenged again (401 after credentials)" \
    reg reg-wrong register_wrong_uac.xml not-the-password
check "the right password: 200, the Path returned" reg reg-ok register_auth_uac.xml "$PASSWORD"
check "the registrar logged the stored Path" \
    grep -q "registered sip:alice@contoso.test path \[$PATH_URI\]" "$T_LOGS/registrar.log"

check "path UAS (standing for the edge) listens on $EDGE_INT" \
    sipp_uas path-uas path_uas.xml "$EDGE_INT" "sip:edge@127.0.0.1:$EDGE_INT" || finish
check "an internal user's MESSAGE to alice@contoso.test is answered 200" \
    sipp_uac internal-msg message_uac.xml "$KTCP" "$UAC_PORT" "sip:alice@contoso.test" \
    "sip:bob@contoso.test" "sip:bob@127.0.0.1:$UAC_PORT;transport=tcp"
check "it reached the Path's host, Route with the token, lr and ob" sipp_ok path-uas
check "the token is the one of the REGISTER" grep -q "^Route: <sip:$TOKEN@127.0.0.1:$EDGE_INT;transport=tcp;lr;ob>" "$T_LOGS/path-uas.msg"

# Negative control: a MESSAGE straight to the Path UAS (no Route) fails it.
NEG_PORT=$(free_port)
check "negative control: path UAS listens" sipp_uas path-neg path_uas.xml "$NEG_PORT" "sip:edge@127.0.0.1:$NEG_PORT" || finish
sipp_uac neg-msg message_uac.xml "$NEG_PORT" "$(free_port)" "sip:alice@127.0.0.1:$CLIENT_PORT;transport=tcp;ob" \
    "sip:bob@contoso.test" "sip:bob@127.0.0.1:1;transport=tcp" >/dev/null 2>&1
neg_refused() { ! sipp_ok path-neg 10; }
check "negative control: the Path UAS refuses a MESSAGE without the Path's Route" neg_refused
check "kamailio still running" alive registrar
finish
