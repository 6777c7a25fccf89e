#!/bin/bash
# 030-tls-refused: partners without a valid client certificate are refused at
# the TLS handshake, and the edge goes on serving: no certificate, an expired
# one (expired.fabrikam.test), one from an unknown CA (rogue.fabrikam.test),
# one without the clientAuth purpose (noclient.fabrikam.test); over TLS 1.3
# (the refusal comes as an alert right after the client's Finished) and 1.2
# (the handshake itself fails), with our python client, openssl s_client and
# a stunnel leg carrying SIPp.
. "$(dirname "$0")/lib.sh"

topology
fedge_config "$T_TMP/fedge.ini"
check "fedge serve starts" start_fedge "$T_TMP/fedge.ini" || finish
check_out "a valid partner certificate is accepted (OPTIONS to the edge gets 200)" \
    $SIPCLIENT options --port "$EXT_PORT" --pki "$PKI"

for v in "" --tls12; do
    tag=${v:+TLS 1.2}; tag=${tag:-TLS 1.3}
    check_out "$tag: no client certificate: refused" \
        $SIPCLIENT refused --port "$EXT_PORT" --pki "$PKI" --cert "" $v
    check_out "$tag: expired client certificate: refused" \
        $SIPCLIENT refused --port "$EXT_PORT" --pki "$PKI" --cert expired.fabrikam.test $v
    check_out "$tag: client certificate from an unknown CA: refused" \
        $SIPCLIENT refused --port "$EXT_PORT" --pki "$PKI" --cert rogue.fabrikam.test $v
    check_out "$tag: certificate without clientAuth purpose: refused" \
        $SIPCLIENT refused --port "$EXT_PORT" --pki "$PKI" --cert noclient.fabrikam.test $v
    check_out "$tag: the edge still answers a valid partner" \
        $SIPCLIENT options --port "$EXT_PORT" --pki "$PKI" $v
done

# openssl s_client, TLS 1.2: the handshake must fail without a valid
# certificate, and succeed with one (so that the check can fail).
s_client_handshake() { # [CERT]: 0 when the handshake succeeded
    local out rc
    out=$(timeout 10 openssl s_client -connect "127.0.0.1:$EXT_PORT" -tls1_2 \
        -CAfile "$PKI/ca.crt" -verify_return_error -servername edge.contoso.test \
        $([ -n "${1:-}" ] && echo -cert "$PKI/$1.crt" -key "$PKI/$1.key") < /dev/null 2>&1)
    rc=$?
    printf '%s\n' "$out" | grep -Ei 'alert|error|Verify return|Cipher is' | head -5
    [ "$rc" -eq 0 ] && printf '%s\n' "$out" | grep -q 'Cipher is ECDHE'
}
s_client_refused() { ! s_client_handshake "$@"; }
check_out "openssl s_client -tls1_2 without a certificate: handshake fails" s_client_refused
check_out "openssl s_client -tls1_2 with the rogue certificate: handshake fails" s_client_refused rogue.fabrikam.test
check_out "openssl s_client -tls1_2 with edge.fabrikam.test: handshake succeeds" s_client_handshake edge.fabrikam.test

# A stunnel leg without a client certificate: SIPp's OPTIONS must fail, while
# the same through a leg presenting edge.fabrikam.test gets its 200.
NOCERT_PORT=$(free_port); GOOD_PORT=$(free_port)
check "stunnel leg without a client certificate starts" stunnel_client nocert-leg "$NOCERT_PORT" "$EXT_PORT" ""
check "stunnel leg with edge.fabrikam.test starts" stunnel_client good-leg "$GOOD_PORT" "$EXT_PORT" edge.fabrikam.test
nocert_fails() {
    ! sipp_uac nocert-uac options_uac.xml "$NOCERT_PORT" "$(free_port)" sip:edge.contoso.test \
        sip:alice@fabrikam.test "sip:alice@127.0.0.1:1" 1 -timeout 8
}
check "SIPp OPTIONS through the leg without a certificate gets no 200" nocert_fails
check "SIPp OPTIONS through the leg with a certificate gets 200" \
    sipp_uac good-uac options_uac.xml "$GOOD_PORT" "$(free_port)" sip:edge.contoso.test \
    sip:alice@fabrikam.test "sip:alice@127.0.0.1:1"
check "fedge still running" alive fedge
finish
