#!/bin/bash
# 065-signals: SIGHUP reloads certificates without dropping connections (a
# renewed edge certificate is served to new connections while a partner's
# SIPp keeps its one TLS connection and every OPTIONS gets 200);
# SIGTERM stops accepting, lets an open transaction finish (a MESSAGE whose
# internal UAS answers 2 s later still gets its 200), then fedge exits 0.
. "$(dirname "$0")/lib.sh"

topology
fedge_config "$T_TMP/fedge.ini"
# The edge certificate is a copy that SIGHUP will find replaced by another
# leaf with the same names (a renewal).
"$FEDGE_ROOT/scripts/gen-certs" "$PKI" edge-renewed.contoso.test \
    "DNS:edge.contoso.test,DNS:contoso.test,URI:sip:contoso.test" both > /dev/null
cp "$PKI/edge.contoso.test.crt" "$T_TMP/edge.crt"; cp "$PKI/edge.contoso.test.key" "$T_TMP/edge.key"
sed -i "s#^certificate = .*#certificate = $T_TMP/edge.crt#; s#^private_key = .*#private_key = $T_TMP/edge.key#" "$T_TMP/fedge.ini"
serial_of() { openssl x509 -noout -serial -in "$1"; }
served_serial() {
    timeout 10 openssl s_client -connect "127.0.0.1:$EXT_PORT" -CAfile "$PKI/ca.crt" \
        -cert "$PKI/edge.fabrikam.test.crt" -key "$PKI/edge.fabrikam.test.key" < /dev/null 2>/dev/null |
        openssl x509 -noout -serial
}
check "fedge serve starts" start_fedge "$T_TMP/fedge.ini" || finish
check "partner TLS legs start" inbound_legs || finish

# SIGHUP in the middle of 30 OPTIONS at 5/s over one connection.
start_bg hup-uac sh -c 'cd "$1" && shift && exec "$@"' _ "$T_LOGS" \
    sipp "127.0.0.1:$PARTNER_PORT" -sf "$SCEN/options_uac.xml" -t t1 -i 127.0.0.1 -p "$(free_port)" \
    -nostdin -r 5 -m 30 -timeout 30 -timeout_error -trace_err -error_file "$T_LOGS/hup-uac.err" \
    -key ruri sip:edge.contoso.test -key from sip:alice@fabrikam.test -key contact sip:alice@127.0.0.1:1
check "the OPTIONS flow runs (the partner's TLS leg connected to the edge)" \
    wait_for "grep -q 'connected remote server' '$T_LOGS/partner-tls-out.log'" 10
check "before SIGHUP the edge presents the original certificate" \
    test "$(served_serial)" = "$(serial_of "$PKI/edge.contoso.test.crt")"
cp "$PKI/edge-renewed.contoso.test.crt" "$T_TMP/edge.crt"; cp "$PKI/edge-renewed.contoso.test.key" "$T_TMP/edge.key"
check "SIGHUP delivered" kill -HUP "$(pid_of fedge)"
check "the edge reports the reload" wait_for "grep -q 'certificates reloaded' '$T_LOGS/fedge.log'" 5
check "after SIGHUP new connections get the renewed certificate" \
    test "$(served_serial)" = "$(serial_of "$PKI/edge-renewed.contoso.test.crt")"
check "all 30 OPTIONS on the same connection got 200 across the reload" wait_exit hup-uac 40
check "the partner leg kept one TLS connection (stunnel connected once)" \
    test "$(grep -c 'connected remote server' "$T_LOGS/partner-tls-out.log")" -eq 1
check "fedge still running after SIGHUP" alive fedge
check_out "a new partner connection after the reload gets 200" $SIPCLIENT options --port "$EXT_PORT" --pki "$PKI"

# SIGTERM while a MESSAGE is waiting for its (slow) 200.
sipp_uas term-uas message_uas_slow.xml "$UAS_PORT" "sip:bob@127.0.0.1:$UAS_PORT;transport=tcp" 1
start_bg term-uac sh -c 'cd "$1" && shift && exec "$@"' _ "$T_LOGS" \
    sipp "127.0.0.1:$PARTNER_PORT" -sf "$SCEN/message_uac.xml" -t t1 -i 127.0.0.1 -p "$UAC_PORT" \
    -nostdin -m 1 -timeout 15 -timeout_error -trace_err -error_file "$T_LOGS/term-uac.err" \
    -trace_msg -message_file "$T_LOGS/term-uac.msg" \
    -key ruri sip:bob@contoso.test -key from sip:alice@fabrikam.test -key contact sip:alice@127.0.0.1:1
check "the MESSAGE reached the internal UAS (which delays its 200)" \
    wait_for "grep -q '^MESSAGE ' '$T_LOGS/term-uas.msg'" 10
check "SIGTERM delivered while the MESSAGE is open" kill -TERM "$(pid_of fedge)"
check "the edge reports that it stops taking connections" \
    wait_for "grep -q 'stopping: no new connections' '$T_LOGS/fedge.log'" 5
check "no new connections are accepted after SIGTERM" \
    bash -c "! $SIPCLIENT options --port $EXT_PORT --pki $PKI --timeout 1"
check "the open MESSAGE still got its 200" wait_exit term-uac 20
check "the internal UAS saw the MESSAGE and answered" wait_exit term-uas 10
check "fedge exited with status 0 after finishing" wait_exit fedge 15
show fedge 8
finish
