#!/bin/bash
# 040-malformed: a malformed but well-framed request gets 400 and the
# connection stays usable; a request whose framing is lost (bad or missing
# Content-Length, oversized, not SIP at all) gets its connection closed.
# Meanwhile another partner's SIPp keeps sending OPTIONS over its own TLS
# connection, and every one of those must get its 200.
. "$(dirname "$0")/lib.sh"

topology
fedge_config "$T_TMP/fedge.ini"
check "fedge serve starts" start_fedge "$T_TMP/fedge.ini" || finish
OTHER_PORT=$(free_port)
check "the other partner's stunnel leg starts" stunnel_client other-leg "$OTHER_PORT" "$EXT_PORT" edge.fabrikam.test

# The other peer: 100 OPTIONS at 10/s to the edge, over one TLS connection.
start_bg other-uac sh -c 'cd "$1" && shift && exec "$@"' _ "$T_LOGS" \
    sipp "127.0.0.1:$OTHER_PORT" -sf "$SCEN/options_uac.xml" -t t1 -i 127.0.0.1 -p "$(free_port)" \
    -nostdin -r 10 -m 100 -timeout 40 -timeout_error -trace_err -error_file "$T_LOGS/other-uac.err" \
    -key ruri sip:edge.contoso.test -key from sip:other@fabrikam.test -key contact sip:other@127.0.0.1:1
check "the other peer's OPTIONS flow runs (its TLS leg connected to the edge)" \
    wait_for "grep -q 'connected remote server' '$T_LOGS/other-leg.log'" 10

send() { # FILE [sipclient send options...]
    local f=$1; shift
    $SIPCLIENT send --port "$EXT_PORT" --pki "$PKI" --data "$f" "$@"
}

hdr='Via: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK-bad-@N@
Max-Forwards: 70
From: <sip:mallory@fabrikam.test>;tag=b@N@
To: <sip:edge.contoso.test>'

# Parse errors with intact framing: 400, then the connection still works.
mk_sip "$T_TMP/nocallid.sip" <<SIP
OPTIONS sip:edge.contoso.test SIP/2.0
${hdr//@N@/1}
CSeq: 1 OPTIONS
Content-Length: 0

SIP
mk_sip "$T_TMP/badcseq.sip" <<SIP
OPTIONS sip:edge.contoso.test SIP/2.0
${hdr//@N@/2}
Call-ID: bad-2@fabrikam.test
CSeq: one OPTIONS
Content-Length: 0

SIP
mk_sip "$T_TMP/badmaxfwd.sip" <<SIP
OPTIONS sip:edge.contoso.test SIP/2.0
Via: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK-bad-3
Max-Forwards: seventy
From: <sip:mallory@fabrikam.test>;tag=b3
To: <sip:edge.contoso.test>
Call-ID: bad-3@fabrikam.test
CSeq: 1 OPTIONS
Content-Length: 0

SIP
mk_sip "$T_TMP/badfrom.sip" <<SIP
MESSAGE sip:bob@contoso.test SIP/2.0
Via: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK-bad-4
Max-Forwards: 70
From: <sip:mallory@fabrikam.test;tag=b4
To: <sip:bob@contoso.test>
Call-ID: bad-4@fabrikam.test
CSeq: 1 MESSAGE
Content-Length: @CL@

hi
SIP
check_out "missing Call-ID: 400, connection kept" send "$T_TMP/nocallid.sip" --expect-status 400 --then-options
check_out "CSeq not a number: 400, connection kept" send "$T_TMP/badcseq.sip" --expect-status 400 --then-options
check_out "Max-Forwards not a number: 400, connection kept" send "$T_TMP/badmaxfwd.sip" --expect-status 400 --then-options
check_out "From with an unclosed <: 400, connection kept" send "$T_TMP/badfrom.sip" --expect-status 400 --then-options

# Framing lost: the connection must be closed (a 400 first is allowed).
mk_sip "$T_TMP/negcl.sip" <<SIP
OPTIONS sip:edge.contoso.test SIP/2.0
${hdr//@N@/5}
Call-ID: bad-5@fabrikam.test
CSeq: 1 OPTIONS
Content-Length: -1

SIP
mk_sip "$T_TMP/nocl.sip" <<SIP
OPTIONS sip:edge.contoso.test SIP/2.0
${hdr//@N@/6}
Call-ID: bad-6@fabrikam.test
CSeq: 1 OPTIONS

SIP
mk_sip "$T_TMP/twocl.sip" <<SIP
MESSAGE sip:bob@contoso.test SIP/2.0
${hdr//@N@/7}
Call-ID: bad-7@fabrikam.test
CSeq: 1 MESSAGE
Content-Length: 2
Content-Length: 4

hihi
SIP
mk_sip "$T_TMP/http.sip" <<SIP
GET / HTTP/1.1
Host: edge.contoso.test

SIP
python3 -c '
import sys
big = "X-Junk: " + "a" * (70 * 1024)
msg = ("OPTIONS sip:edge.contoso.test SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bK-bad-8\r\n"
       "Max-Forwards: 70\r\nFrom: <sip:m@fabrikam.test>;tag=b8\r\nTo: <sip:edge.contoso.test>\r\n"
       "Call-ID: bad-8@fabrikam.test\r\nCSeq: 1 OPTIONS\r\n" + big + "\r\nContent-Length: 0\r\n\r\n")
open(sys.argv[1], "w").write(msg)' "$T_TMP/huge.sip"
head -c 4096 /dev/urandom > "$T_TMP/random.bin"

check_out "Content-Length: -1: connection closed" send "$T_TMP/negcl.sip" --expect-close
check_out "no Content-Length on a stream: connection closed" send "$T_TMP/nocl.sip" --expect-close
check_out "two different Content-Length values: connection closed" send "$T_TMP/twocl.sip" --expect-close
check_out "an HTTP request on the SIP port: connection closed" send "$T_TMP/http.sip" --expect-close
check_out "a 70 KiB message (limit 64 KiB): connection closed" send "$T_TMP/huge.sip" --expect-close
check_out "4 KiB of random bytes: connection closed" send "$T_TMP/random.bin" --expect-close

# The other partner carried on through all of this.
check "the other partner's 100 OPTIONS all got 200 (its SIPp exit status)" wait_exit other-uac 40
check_out "a fresh partner connection still gets 200" $SIPCLIENT options --port "$EXT_PORT" --pki "$PKI"
check "fedge still running" alive fedge
finish
