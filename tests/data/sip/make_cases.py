#!/usr/bin/env python3
"""make_cases.py — writes the SIP torture suite as data (docs/sip-parser.md).

Each case becomes tests/data/sip/{valid,invalid}/NNN-name.sip (the message
bytes, byte-exact: CRLF and binary bytes are written explicitly below) and a
sidecar NNN-name.expect, and every case small enough also lands in the seed
corpus tests/fuzz/corpus/fuzz_sip_parse/. Run it from anywhere:

    python3 tests/data/sip/make_cases.py

and commit its output together with the script. The cases are re-created
after the categories of RFC 4475 (SIP torture tests) and RFC 5118 (IPv6),
plus inputs that broke other SIP servers. None is a verbatim copy.

.expect format (read by tests/unit/sip/test_torture.c):
    # comment lines
    ok                         the message must pass sip_parse, sip_msg_check
                               and every typed accessor
    error=FEDGE_ESIP_X[|...]   the first failure of the chain sip_parse ->
                               sip_msg_check -> typed accessors (R-URI, every
                               Via, From, To, Call-ID, CSeq, Max-Forwards,
                               every Contact, Expires) must be one of these
    key=value                  a typed field (ok cases only); values use the
                               escapes \\r \\n \\t \\\\ \\xHH. Keys:
      kind method status reason ruri ruri.<u> via.count viaN.<v>
      from.<n> to.<n> contact.<n> contactN.<n> contact.count
      route.count routeN record_route.count record_routeN
      call_id cseq max_forwards expires content_length body.len
      hdr.count hdr.<Name> hdrN.name hdrN.value hdrN.id
      <u> = scheme scheme_str user password host host_kind port params
            headers transport maddr user_param lr
      <v> = proto transport host host_kind port branch received maddr ttl
            rport alias params
      <n> = display uri tag has_tag params star q expires uri.<u>
    Absent numbers print as -1 (max_forwards, expires, content_length) or
    empty (ports); absent rport prints "none".
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus", "fuzz_sip_parse")
URI_CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus", "fuzz_sip_uri")
CORPUS_MAX = 8192  # bigger seeds would raise libFuzzer's max_len for all

CRLF = b"\r\n"


def b(x):
    return x if isinstance(x, bytes) else x.encode("utf-8")


def msg(start, headers, body=b"", clen=True):
    """Start line, header lines (str or bytes, no CRLF; folding is written
    inline as '\\r\\n ' inside a line) and a body. clen=True appends a
    correct Content-Length as the last header."""
    body = b(body)
    hs = [b(h) for h in headers]
    if clen:
        hs.append(b"Content-Length: %d" % len(body))
    return b(start) + CRLF + b"".join(h + CRLF for h in hs) + CRLF + body


def std(method="OPTIONS", ruri="sip:bob@biloxi.example.com", tag="x",
        cseq_method=None, via=None, extra=(), drop=()):
    """A minimal correct request header set (Via, Max-Forwards, To, From,
    Call-ID, CSeq) with extra headers appended; names in drop are left out."""
    hs = []
    if "via" not in drop:
        hs.append(via or "Via: SIP/2.0/TLS edge.atlanta.example.com:5061;branch=z9hG4bK%s1" % tag)
    if "max" not in drop:
        hs.append("Max-Forwards: 70")
    if "to" not in drop:
        hs.append("To: Bob <sip:bob@biloxi.example.com>")
    if "from" not in drop:
        hs.append("From: Alice <sip:alice@atlanta.example.com>;tag=f%s" % tag)
    if "callid" not in drop:
        hs.append("Call-ID: %s-call@atlanta.example.com" % tag)
    if "cseq" not in drop:
        hs.append("CSeq: 1 %s" % (cseq_method or method))
    hs.extend(extra)
    return "%s %s SIP/2.0" % (method, ruri), hs


def req(method="OPTIONS", body=b"", clen=True, **kw):
    start, hs = std(method=method, **kw)
    return msg(start, hs, body, clen)


SDP = ("v=0\r\n"
       "o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n"
       "s=-\r\n"
       "c=IN IP4 192.0.2.10\r\n"
       "t=0 0\r\n"
       "m=audio 49170 RTP/AVP 0\r\n"
       "a=rtpmap:0 PCMU/8000\r\n")

SDP6 = ("v=0\r\n"
        "o=bob 2890844730 2890844731 IN IP6 2001:db8::10\r\n"
        "s=-\r\n"
        "c=IN IP6 2001:db8::10\r\n"
        "t=0 0\r\n"
        "m=audio 49172 RTP/AVP 0\r\n"
        "a=rtpmap:0 PCMU/8000\r\n")

VALID = []
INVALID = []


def valid(num, name, data, comment, **fields):
    VALID.append((num, name, data, comment, fields))


def invalid(num, name, data, comment, error):
    INVALID.append((num, name, data, comment, error))


# ---------------------------------------------------------------------------
# Valid messages (RFC 4475 §3.1.1, §3.2, §3.3, §3.4; RFC 5118 §4)
# ---------------------------------------------------------------------------

# RFC 4475 3.1.1.1 "wsinv": LWS and folding wherever the grammar allows it,
# mixed-case and compact names, SP before the colon, leading zeros, empty
# values, a quoted display name ending in escaped backslash and quote.
valid(1, "wsinv", msg(
    "INVITE sip:carol@chair.example.org;unknownparam SIP/2.0",
    [
        "TO :\r\n sip:carol@chair.example.org ;   tag    = 2718281828x",
        'from   : "C Rosen \\\\\\""       <sip:crosen@example.net>\r\n  ;\r\n  tag = 77hjk3',
        "MaX-fOrWaRdS: 0068",
        "Call-ID: wsinv.ndaksdj@192.0.2.1",
        "Content-Length   : %d" % len(SDP),
        "cseq: 0009\r\n  INVITE",
        "Via  : SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw",
        "s :",
        "NewFangledHeader:   newfangled value\r\n continued newfangled value",
        "UnknownHeaderWithUnusualValue: ;;,,;;,;",
        "Content-Type: application/sdp",
        "Route:\r\n <sip:services.example.net;lr;unknownwith=value;unknown-no-value>",
        "v:  SIP  / 2.0  / TCP     spindle.example.net   ;\r\n  branch  =   z9hG4bK9ikj8  ,\r\n"
        " SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239",
        'm:"Quoted string \\"\\"" <sip:crosen@example.net> ; newparam =\r\n      newvalue ;\r\n  secondparam ; q = 0.33',
    ], SDP, clen=False),
    "RFC 4475 3.1.1.1: whitespace, folding, case, compact forms everywhere the grammar allows",
    kind="request", method="INVITE", ruri="sip:carol@chair.example.org;unknownparam",
    **{"ruri.user": "carol", "ruri.host": "chair.example.org", "ruri.params": ";unknownparam",
       "to.uri": "sip:carol@chair.example.org", "to.tag": "2718281828x",
       "from.display": 'C Rosen \\\\\\"', "from.uri": "sip:crosen@example.net", "from.tag": "77hjk3",
       "max_forwards": "68", "call_id": "wsinv.ndaksdj@192.0.2.1", "cseq": "9 INVITE",
       "via.count": "3", "via0.transport": "UDP", "via0.host": "192.0.2.2", "via0.branch": "390skdjuw",
       "via1.transport": "TCP", "via1.host": "spindle.example.net", "via1.branch": "z9hG4bK9ikj8",
       "via2.transport": "UDP", "via2.host": "192.168.255.111", "via2.branch": "z9hG4bK30239",
       "contact.display": 'Quoted string \\"\\"', "contact.uri": "sip:crosen@example.net", "contact.q": "0.33",
       "route.count": "1", "hdr.Subject": "", "hdr.NewFangledHeader": "newfangled value\r\n continued newfangled value",
       "hdr.UnknownHeaderWithUnusualValue": ";;,,;;,;", "content_length": str(len(SDP)), "body.len": str(len(SDP)),
       "hdr.count": "14"})

# RFC 4475 3.1.1.2 "intmeth": every token character in the method, every
# user/password character in the Request-URI, word characters in Call-ID,
# escaped controls in a quoted string, UTF-8 in an extension header. The
# RFC's escaped NUL is left out here: fedge refuses every NUL in a header
# block (see invalid/003-nul-quoted-pair).
INTMETH = "!interesting-Method0123456789_*+`.%indeed'~"
INTURI = ("sip:2_odd.User~(so-far!fine)&isn't+it$/wild?,/;;*:&pw+is=2,strange!*pa$$wo~rd_.(really-it)"
          "@example.net")
valid(2, "intmeth", msg(
    "%s %s SIP/2.0" % (INTMETH, INTURI),
    [
        "Via: SIP/2.0/TCP host1.example.net;branch=z9hG4bK-.!%66*_+`'~",
        'To: "BEL:\\\x07 DEL:\\\x7f" <sip:1_unusual.URI~(to-be!sure)&isn\'t+it$/crazy?,/;;*@example.net>',
        'From: token1~` token2\'+_ token3*%!.- <sip:mundane@example.net>;fromParam\'\'~+*_!.-%="\u0440\u0430\u0431\u043e\u0442\u0430\u044e\u0449\u0438\u0439";tag=_token~1\'+`*%!-.',
        "Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{",
        "CSeq: 139122385 %s" % INTMETH,
        "Max-Forwards: 255",
        "extensionHeader-!.%*+_`'~:\ufeff\u5927\u505c\u96fb",
    ]),
    "RFC 4475 3.1.1.2: the widest valid character ranges (method, URI user and password, Call-ID words)",
    kind="request", method=INTMETH,
    **{"ruri.scheme": "sip", "ruri.user": "2_odd.User~(so-far!fine)&isn't+it$/wild?,/;;*",
       "ruri.password": "&pw+is=2,strange!*pa$$wo~rd_.(really-it)", "ruri.host": "example.net",
       "via0.branch": "z9hG4bK-.!%66*_+`'~", "from.tag": "_token~1'+`*%!-.",
       "from.display": "token1~` token2'+_ token3*%!.-",
       "call_id": "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{",
       "cseq": "139122385 " + INTMETH, "max_forwards": "255",
       "hdr.extensionHeader-!.%*+_`'~": "\ufeff\u5927\u505c\u96fb"})

# RFC 4475 3.1.1.3 "esc01": escapes in URIs stay escaped in the slices.
valid(3, "esc01", msg(
    "INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0",
    [
        "To: sip:%75se%72@example.com",
        "From: <sip:I%20have%20spaces@example.net>;tag=938",
        "Max-Forwards: 87",
        "i: esc01.239409asdfakjkn23onasd0-3234",
        "CSeq: 234234 INVITE",
        "Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw",
        "C: application/sdp",
        "Contact:\r\n  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>",
    ], SDP),
    "RFC 4475 3.1.1.3: %-escapes in Request-URI, To, From and Contact URIs",
    **{"ruri.user": "sips%3Auser%40example.com", "ruri.host": "example.net", "ruri.scheme": "sip",
       "to.uri.user": "%75se%72", "from.uri.user": "I%20have%20spaces", "from.tag": "938",
       "contact.uri.user": "cal%6Cer", "contact.uri.params": ";%6C%72;n%61me=v%61lue%25%34%31",
       "call_id": "esc01.239409asdfakjkn23onasd0-3234", "hdr.Content-Type": "application/sdp"})

# RFC 4475 3.1.1.4 "escnull": an escaped NUL (%00) in a URI is text, not a NUL.
valid(4, "escnull", msg(
    "REGISTER sip:example.com SIP/2.0",
    [
        "To: sip:null-%00-null@example.com",
        "From: sip:null-%00-null@example.com;tag=839923423",
        "Max-Forwards: 70",
        "Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd",
        "CSeq: 14398234 REGISTER",
        "Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw",
        "Contact: <sip:%00@host5.example.com>",
        "Contact: <sip:%00%00@host4.example.com>",
        "L:0",
    ], clen=False),
    "RFC 4475 3.1.1.4: %00 inside URIs is legal escaped text",
    **{"to.uri.user": "null-%00-null", "from.tag": "839923423", "contact.count": "2",
       "contact0.uri.user": "%00", "contact1.uri.user": "%00%00", "contact1.uri.host": "host4.example.com",
       "content_length": "0", "body.len": "0"})

# RFC 4475 3.1.1.5 "esc02": %-escapes in a method make it an extension
# method; an escaped header *name* is an unknown header, not Contact.
valid(5, "esc02", msg(
    "RE%47IST%45R sip:registrar.example.com SIP/2.0",
    [
        'To: "%Z%45" <sip:resource@example.com>',
        'From: "%Z%45" <sip:resource@example.com>;tag=f232jadfj23',
        "Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf",
        "Via: SIP/2.0/TCP host.example.com;branch=z9hG4bK209w3i4wfjh",
        "CSeq: 29344 RE%47IST%45R",
        "Max-Forwards: 70",
        "Contact: <sip:alias1@host1.example.com>",
        "C%6Fntact: <sip:alias2@host2.example.com>",
        "Contact: <sip:alias3@host3.example.com>",
        "l: 0",
    ], clen=False),
    "RFC 4475 3.1.1.5: escaped method is an extension method; C%6Fntact is an unknown header",
    method="RE%47IST%45R", cseq="29344 RE%47IST%45R",
    **{"to.display": "%Z%45", "from.display": "%Z%45", "contact.count": "2",
       "contact1.uri.host": "host3.example.com", "hdr.C%6Fntact": "<sip:alias2@host2.example.com>",
       "hdr6.id": "Contact", "hdr7.id": "", "hdr8.id": "Contact"})

# RFC 4475 3.1.1.6 "lwsdisp": no LWS between display name and <.
valid(6, "lwsdisp", msg(
    "OPTIONS sip:user@example.com SIP/2.0",
    [
        "To: sip:user@example.com",
        "From: caller<sip:caller@example.com>;tag=323",
        "Max-Forwards: 70",
        "Call-ID: lwsdisp.1234abcd@funky.example.com",
        "CSeq: 60 OPTIONS",
        "Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw",
        "l: 0",
    ], clen=False),
    "RFC 4475 3.1.1.6: display name directly followed by <",
    **{"from.display": "caller", "from.uri": "sip:caller@example.com", "from.tag": "323",
       "to.uri": "sip:user@example.com", "to.has_tag": "0"})

# RFC 4475 3.1.1.7 "longreq": long values everywhere, many Vias, but within
# fedge's default limits (URI 2048, line 8192, 70 Vias).
LONGUSER = "amazinglylongcallername" * 12
LONGTAG = "12982424" * 40
LONGBR = "z9hG4bK" + "longbranchvalue" * 20
long_vias = ["Via: SIP/2.0/TCP sip%d.example.com;branch=%s%d" % (i, LONGBR, i) for i in range(1, 8)]
long_vias.append("Via: " + ", ".join("SIP/2.0/UDP 192.0.2.%d;branch=z9hG4bKlist%d" % (i, i) for i in range(1, 21)))
valid(7, "longreq", msg(
    "INVITE sip:%s@host5.example.net SIP/2.0" % LONGUSER,
    ["To: \"I have a user name of %s proportion\" <sip:%s@host5.example.net>" % ("extreme" * 30, LONGUSER),
     "From: sip:%s@example.com;tag=%s" % (LONGUSER, LONGTAG),
     "Call-ID: longreq.one" + "really" * 60,
     "CSeq: 3882340 INVITE",
     "Max-Forwards: 70",
     "Contact: <sip:%s@host5.example.net>;%s=%s" % (LONGUSER, "unknownheaderparamname" * 10, "unknownvalue" * 20)]
    + long_vias
    + ["Content-Type: application/sdp",
       "X-Long-Value: " + "abcdefghij" * 300],
    SDP),
    "RFC 4475 3.1.1.7: long user parts, tags, branches, values; 27 Via values (limits are 32 Vias, 8192-byte lines)",
    **{"ruri.user": LONGUSER, "from.tag": LONGTAG, "via.count": "27", "via0.branch": LONGBR + "1",
       "via6.host": "sip7.example.com", "via7.host": "192.0.2.1", "via26.branch": "z9hG4bKlist20",
       "contact.uri.user": LONGUSER, "cseq": "3882340 INVITE", "body.len": str(len(SDP))})

# RFC 4475 3.1.1.8 "dblreq": extra bytes after the body in a datagram.
valid(8, "dblreq", msg(
    "REGISTER sip:example.com SIP/2.0",
    ["To: sip:j.user@example.com",
     "From: sip:j.user@example.com;tag=43251j3j324",
     "Max-Forwards: 8",
     "I: dblreq.0ha0isndaksdj99sdfafnl3lk233412",
     "Contact: sip:j.user@host.example.com",
     "CSeq: 8 REGISTER",
     "Via: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492",
     "Content-Length: 0"], clen=False)
    + req("INVITE", ruri="sip:joe@example.com", tag="dbl2", body=SDP,
          extra=["Content-Type: application/sdp"]),
    "RFC 4475 3.1.1.8 and RFC 3261 18.3: bytes of a datagram beyond Content-Length are discarded; "
    "only the REGISTER counts",
    method="REGISTER", content_length="0", **{"body.len": "0", "cseq": "8 REGISTER"})

# RFC 4475 3.1.1.9 "semiuri": a ';' in the user part is not a URI parameter.
valid(9, "semiuri", msg(
    "OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0",
    ["To: sip:j_user@example.com",
     "From: sip:caller@example.org;tag=33242",
     "Max-Forwards: 3",
     "Call-ID: semiuri.0ha0isndaksdj",
     "CSeq: 8 OPTIONS",
     "Accept: application/sdp, application/pkcs7-mime,\r\n        multipart/mixed, multipart/signed,\r\n        message/sip, message/sipfrag",
     "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw",
     "l: 0"], clen=False),
    "RFC 4475 3.1.1.9: user part 'user;par=u%40example.net' with a semicolon",
    **{"ruri.user": "user;par=u%40example.net", "ruri.host": "example.com", "ruri.params": "",
       "hdr.Accept": "application/sdp, application/pkcs7-mime,\r\n        multipart/mixed, multipart/signed,\r\n        message/sip, message/sipfrag"})

# RFC 4475 3.1.1.10 "transports": unusual and unknown transport tokens.
valid(10, "transports", msg(
    "OPTIONS sip:user@example.com SIP/2.0",
    ["To: sip:user@example.com",
     "From: <sip:caller@example.com>;tag=323",
     "Max-Forwards: 70",
     "Call-ID:  transports.kijh4akdnaqjkwendsasfdj",
     "Accept: application/sdp",
     "CSeq: 60 OPTIONS",
     "Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw",
     "Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf",
     "Via: SIP/2.0/TLS-SCTP t3.example.com;branch=z9hG4bK2980unddj",
     "Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en",
     "Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee",
     "l: 0"], clen=False),
    "RFC 4475 3.1.1.10: SCTP, TLS-SCTP and an unknown transport in Via",
    **{"via.count": "5", "via0.transport": "UDP", "via1.transport": "SCTP", "via2.transport": "TLS-SCTP",
       "via3.transport": "UNKNOWN", "via3.host": "t4.example.com", "via4.transport": "TCP",
       "call_id": "transports.kijh4akdnaqjkwendsasfdj"})

# RFC 4475 3.1.1.11 "mpart01": multipart body with binary bytes (NUL too):
# the body is opaque, only the header block is NUL-free.
BIN = bytes(range(256))
MPART = (b"--boundary42\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
         b"--boundary42\r\nContent-Type: application/octet-stream\r\n"
         b"Content-Transfer-Encoding: binary\r\n\r\n" + BIN + b"\r\n--boundary42--\r\n")
valid(11, "mpart01", msg(
    "MESSAGE sip:kumiko@example.org SIP/2.0",
    ["Via: SIP/2.0/UDP 192.0.2.5;branch=z9hG4bKmp17a",
     "Max-Forwards: 70",
     "To: <sip:kumiko@example.org>",
     "From: <sip:fred@example.com>;tag=43",
     "Call-ID: mpart01.a4f8@192.0.2.5",
     "CSeq: 7 MESSAGE",
     "Content-Type: multipart/mixed; boundary=boundary42"], MPART),
    "RFC 4475 3.1.1.11: multipart MIME body with every byte value, NUL included",
    method="MESSAGE", **{"body.len": str(len(MPART)), "content_length": str(len(MPART)),
                         "hdr.c": "multipart/mixed; boundary=boundary42"})

# RFC 4475 3.1.1.12 "unreason": UTF-8 reason phrase.
REASON = "= 2**3 * 5**2 \u043d\u043e \u0441\u0442\u043e \u0434\u0435\u0432\u044f\u043d\u043e\u0441\u0442\u043e \u0434\u0435\u0432\u044f\u0442\u044c - \u043f\u0440\u043e\u0441\u0442\u043e\u0435"
valid(12, "unreason", msg(
    "SIP/2.0 200 " + REASON,
    ["Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923",
     "Call-ID: unreason.1234ksdfak3j2erwedfsASdf",
     "CSeq: 35 INVITE",
     "From: sip:user@example.com;tag=11141343",
     "To: sip:user@example.edu;tag=2229",
     "Content-Type: application/sdp",
     "Contact: <sip:user@host198.example.com>"], SDP),
    "RFC 4475 3.1.1.12: a reason phrase in UTF-8",
    kind="response", status="200", reason=REASON,
    **{"to.tag": "2229", "cseq": "35 INVITE", "max_forwards": "-1"})

# RFC 4475 3.1.1.13 "noreason": empty reason phrase.
valid(13, "noreason", msg(
    "SIP/2.0 100 ",
    ["Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe",
     "Call-ID: noreason.asndj203insdf99223ndf",
     "CSeq: 35 INVITE",
     "From: <sip:user@example.com>;tag=39ansfi3",
     "To: <sip:user@example.edu>;tag=902jndnke3",
     "Content-Length: 0"], clen=False),
    "RFC 4475 3.1.1.13: status line with an empty reason phrase",
    kind="response", status="100", reason="")

# RFC 4475 3.2.1 "badbranch": a branch that is only the magic cookie.
valid(14, "badbranch", msg(
    "OPTIONS sip:user@example.com SIP/2.0",
    ["To: sip:user@example.com",
     "From: sip:caller@example.org;tag=33242",
     "Max-Forwards: 3",
     "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK",
     "Accept: application/sdp",
     "Call-ID: badbranch.sadonfo23i420jv0as0derf3j3n",
     "CSeq: 8 OPTIONS",
     "l: 0"], clen=False),
    "RFC 4475 3.2.1: syntactically fine; the transaction layer, not the parser, decides about the branch",
    **{"via0.branch": "z9hG4bK"})

# RFC 4475 3.4.1 "inv2543": RFC 2543 style: no branch, no From tag.
valid(15, "inv2543", msg(
    "INVITE sip:UserB@example.com SIP/2.0",
    ["Via: SIP/2.0/UDP 192.0.2.15",
     "From: <sip:UserA@example.com>",
     "To: <sip:UserB@example.com>",
     "Call-ID: inv2543.1717@192.0.2.15",
     "CSeq: 1 INVITE",
     "Content-Type: application/sdp"], SDP),
    "RFC 4475 3.4.1: RFC 2543 syntax (no branch, no From tag, no Max-Forwards) must still parse",
    **{"via0.branch": "", "via0.host": "192.0.2.15", "via0.port": "", "from.has_tag": "0", "from.tag": "",
       "max_forwards": "-1"})

# RFC 4475 3.3.2 "unkscm" and 3.3.3 "novelsc": schemes fedge does not know
# parse fine as opaque URIs; a proxy answers 416, not 400.
valid(16, "unkscm", msg(
    "OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0",
    ["To: sip:user@example.com",
     "From: sip:caller@example.net;tag=384",
     "Max-Forwards: 3",
     "Call-ID: unkscm.nasdfasser0q239nwsdfasdkl34",
     "CSeq: 3923423 OPTIONS",
     "Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234",
     "Content-Length: 0"], clen=False),
    "RFC 4475 3.3.2: unknown Request-URI scheme: ok for the parser (a proxy would answer 416)",
    **{"ruri.scheme": "other", "ruri": "nobodyKnowsThisScheme:totallyopaquecontent",
       "ruri.scheme_str": "nobodyKnowsThisScheme"})

valid(17, "novelsc", msg(
    "OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0",
    ["To: sip:user@example.com",
     "From: sip:caller@example.net;tag=384",
     "Max-Forwards: 3",
     "Call-ID: novelsc.asdfasser0q239nwsdfasdkl34",
     "CSeq: 3923423 OPTIONS",
     "Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234",
     "Content-Length: 0"], clen=False),
    "RFC 4475 3.3.3: a known but atypical scheme: opaque, ok (a proxy would answer 416)",
    **{"ruri.scheme": "other", "ruri.scheme_str": "soap.beep", "ruri.host": ""})

# RFC 4475 3.3.4 "unksm2": unknown schemes in To, From and Contact.
valid(18, "unksm2", msg(
    "REGISTER sip:example.com SIP/2.0",
    ["To: isbn:2983792873",
     "From: <http://www.example.com>;tag=3234233",
     "Call-ID: unksm2.daksdj@hyphenated-host.example.com",
     "CSeq: 234902 REGISTER",
     "Max-Forwards: 70",
     "Via: SIP/2.0/UDP 192.0.2.21:5060;branch=z9hG4bKkdjuw",
     "Contact: <name:John_Smith>",
     "l: 0"], clen=False),
    "RFC 4475 3.3.4: isbn:, http: and name: URIs in To, From and Contact are opaque but valid",
    **{"to.uri": "isbn:2983792873", "to.uri.scheme": "other", "from.uri": "http://www.example.com",
       "from.tag": "3234233", "contact.uri.scheme": "other", "contact.uri": "name:John_Smith",
       "via0.port": "5060"})

# RFC 4475 3.3.5 "bext01": unknown option tags are the proxy's business.
valid(19, "bext01", msg(
    "OPTIONS sip:user@example.com SIP/2.0",
    ["To: sip:j_user@example.com",
     "From: sip:caller@example.net;tag=242etr",
     "Max-Forwards: 6",
     "Call-ID: bext01.0ha0isndaksdj",
     "Require: nothing",
     "Proxy-Require: noway, nohow",
     "CSeq: 8 OPTIONS",
     "Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bKkdjuw",
     "l: 0"], clen=False),
    "RFC 4475 3.3.5: unknown Require/Proxy-Require tags: parse ok (a proxy answers 420)",
    **{"hdr.Proxy-Require": "noway, nohow", "hdr.Require": "nothing"})

# RFC 4475 3.3.15 "zeromf": Max-Forwards 0 is valid syntax.
valid(20, "zeromf", req("OPTIONS", ruri="sip:user@example.com", tag="zmf",
                        extra=[]).replace(b"Max-Forwards: 70", b"Max-Forwards: 0"),
      "RFC 4475 3.3.15 zeromf: Max-Forwards 0 parses (the proxy answers 483)", max_forwards="0")

# RFC 4475 3.3.12/13 "cparam01", "cparam02": parameters outside vs inside <>.
valid(21, "cparam01", msg(
    "REGISTER sip:example.com SIP/2.0",
    ["Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw",
     "Max-Forwards: 70",
     "From: sip:watson@example.com;tag=DkfVgjkrtMwaerKKpe",
     "To: sip:watson@example.com",
     "Call-ID: cparam01.70710@saturn.example.com",
     "CSeq: 2 REGISTER",
     "Contact: sip:+19725552222@gw1.example.net;unknownparam",
     "l: 0"], clen=False),
    "RFC 4475 3.3.12 cparam01: after a bare addr-spec, ';unknownparam' is a header parameter",
    **{"contact.uri": "sip:+19725552222@gw1.example.net", "contact.params": ";unknownparam",
       "contact.uri.params": "", "from.tag": "DkfVgjkrtMwaerKKpe", "from.uri": "sip:watson@example.com"})

valid(22, "cparam02", msg(
    "REGISTER sip:example.com SIP/2.0",
    ["Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw",
     "Max-Forwards: 70",
     "From: sip:watson@example.com;tag=838293",
     "To: sip:watson@example.com",
     "Call-ID: cparam02.70710@saturn.example.com",
     "CSeq: 3 REGISTER",
     "Contact: <sip:+19725552222@gw1.example.net;unknownparam>",
     "l: 0"], clen=False),
    "RFC 4475 3.3.13 cparam02: inside <> the parameter belongs to the URI",
    **{"contact.uri": "sip:+19725552222@gw1.example.net;unknownparam", "contact.uri.params": ";unknownparam",
       "contact.params": "", "contact.uri.user": "+19725552222"})

# RFC 4475 3.3.14 "regescrt": escaped headers in a Contact URI inside <>.
valid(23, "regescrt", msg(
    "REGISTER sip:example.com SIP/2.0",
    ["To: sip:user@example.com",
     "From: sip:user@example.com;tag=8",
     "Max-Forwards: 70",
     "Call-ID: regescrt.k345asrl3fdbv@192.0.2.1",
     "CSeq: 14398234 REGISTER",
     "Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw",
     "M: <sip:user@example.com?Route=%3Csip:sip.example.com%3E>",
     "L:0"], clen=False),
    "RFC 4475 3.3.14: URI headers (escaped Route) inside <> in Contact",
    **{"contact.uri.headers": "Route=%3Csip:sip.example.com%3E", "contact.uri.host": "example.com"})

# RFC 4475 3.3.10 "bcast": a response with a broadcast sent-by.
valid(24, "bcast", msg(
    "SIP/2.0 200 OK",
    ["Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923",
     "Via: SIP/2.0/UDP 255.255.255.255;branch=z9hG4bK1saber23",
     "Call-ID: bcast.0384840201234ksdfak3j2erwedfsASdf",
     "CSeq: 35 INVITE",
     "From: sip:user@example.com;tag=11141343",
     "To: sip:user@example.edu;tag=2229",
     "Content-Type: application/sdp",
     "Contact: <sip:user@host28.example.com>"], SDP),
    "RFC 4475 3.3.10: 255.255.255.255 in a Via parses (the response layer decides)",
    kind="response", status="200", reason="OK",
    **{"via.count": "2", "via1.host": "255.255.255.255", "via1.host_kind": "ipv4"})

# RFC 4475 3.1.2.12 "baddate": fedge does not interpret Date.
valid(25, "baddate", req("INVITE", ruri="sip:user@example.com", tag="bdate", body=SDP,
                         extra=["Date: Fri, 01 Jan 2010 16:00:00 EST", "Content-Type: application/sdp"]),
      "RFC 4475 3.1.2.12 baddate: 'EST' is not GMT, so RFC 3261 calls this invalid; fedge never interprets "
      "Date and relays it verbatim, so the parser accepts it (ok on purpose)",
      **{"hdr.Date": "Fri, 01 Jan 2010 16:00:00 EST"})

# RFC 4475 3.3.6 "invut": unknown Content-Type.
valid(26, "invut", req("INVITE", ruri="sip:user@example.com", tag="invut", body="<body>\r\n  <binary>1234 5678</binary>\r\n</body>\r\n",
                       extra=["Content-Type: application/unknownformat", "Accept: application/sdp"]),
      "RFC 4475 3.3.6: unknown body type: parse ok (the UAS answers 415)",
      **{"hdr.Content-Type": "application/unknownformat"})

# RFC 4475 3.3.7 "regaut01": Authorization is relayed raw.
AUTH = ('Digest username="user", realm="example.com", nonce="ea9c8e88df84f1cec4341ae6cbe5a359",\r\n'
        ' uri="sip:example.com", response="dfe56131d1958046689d83306477ecc"')
valid(27, "regaut01", req("REGISTER", ruri="sip:example.com", tag="reg",
                          extra=["Contact: sip:user@192.0.2.44", "Authorization: " + AUTH]),
      "RFC 4475 3.3.7: a folded Authorization header kept byte for byte",
      **{"hdr.Authorization": AUTH, "contact.uri.host": "192.0.2.44", "contact.uri.host_kind": "ipv4"})

# RFC 5118 §4.1 "ipv6-good".
valid(30, "ipv6-good", msg(
    "REGISTER sip:[2001:db8::10] SIP/2.0",
    ["To: sip:user@example.com",
     "From: sip:user@example.com;tag=81x2",
     "Via: SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111",
     "Call-ID: SSG9559905523997077@hlau_4100",
     "Max-Forwards: 70",
     'Contact: "Caller" <sip:caller@[2001:db8::1]>',
     "CSeq: 98176 REGISTER",
     "Content-Length: 0"], clen=False),
    "RFC 5118 4.1: IPv6 references in Request-URI, Via and Contact",
    **{"ruri.host": "[2001:db8::10]", "ruri.host_kind": "ipv6", "ruri.port": "",
       "via0.host": "[2001:db8::9:1]", "via0.host_kind": "ipv6", "contact.uri.host": "[2001:db8::1]",
       "contact.display": "Caller"})

# RFC 5118 §4.3 "port-ambiguous" and §4.4 "port-unambiguous".
valid(31, "ipv6-port-ambiguous", msg(
    "REGISTER sip:[2001:db8::10:5070] SIP/2.0",
    ["To: sip:user@example.com",
     "From: sip:user@example.com;tag=81x2",
     "Via: SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3",
     "Call-ID: SSG9559905523997077@hlau_4100",
     "Contact: \"Caller\" <sip:caller@[2001:db8::1]>",
     "Max-Forwards: 70",
     "CSeq: 98176 REGISTER",
     "Content-Length: 0"], clen=False),
    "RFC 5118 4.3: ':5070' inside the brackets is part of the address, not a port",
    **{"ruri.host": "[2001:db8::10:5070]", "ruri.port": ""})

valid(32, "ipv6-port-unambiguous", msg(
    "REGISTER sip:[2001:db8::10]:5070 SIP/2.0",
    ["To: sip:user@example.com",
     "From: sip:user@example.com;tag=81x2",
     "Via: SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111",
     "Call-ID: SSG9559905523997077@hlau_4100",
     "Contact: \"Caller\" <sip:caller@[2001:db8::1]>",
     "Max-Forwards: 70",
     "CSeq: 98176 REGISTER",
     "Content-Length: 0"], clen=False),
    "RFC 5118 4.4: a port after the bracketed address",
    **{"ruri.host": "[2001:db8::10]", "ruri.port": "5070"})

# RFC 5118 §4.5: IPv6 in Via sent-by with a port, received with and
# without brackets.
valid(33, "ipv6-via", msg(
    "BYE sip:[2001:db8::10] SIP/2.0",
    ["To: sip:user@example.com;tag=bd76ya",
     "From: sip:user@example.com;tag=81x2",
     "Via: SIP/2.0/UDP [2001:db8::9:1]:6050;received=[2001:db8::9:255];branch=z9hG4bKas3-111",
     "Via: SIP/2.0/UDP [2001:db8::9:ff];received=2001:db8::9:255;branch=z9hG4bKjhkj4",
     "Call-ID: SSG9559905523997077@hlau_4100",
     "Max-Forwards: 70",
     "CSeq: 321 BYE",
     "Content-Length: 0"], clen=False),
    "RFC 5118 4.5: IPv6 sent-by with port; received= with and without brackets",
    method="BYE",
    **{"via0.host": "[2001:db8::9:1]", "via0.port": "6050", "via0.received": "[2001:db8::9:255]",
       "via1.host": "[2001:db8::9:ff]", "via1.received": "2001:db8::9:255"})

# RFC 5118 §4.6: IPv4-mapped IPv6.
valid(34, "ipv4-mapped", msg(
    "INVITE sip:user@[::ffff:192.0.2.10] SIP/2.0",
    ["To: sip:user@[::ffff:192.0.2.10]",
     "From: sip:user@example.com;tag=1234-asd",
     "Via: SIP/2.0/UDP [::ffff:192.0.2.5];branch=z9hG4bKas3-111",
     "Call-ID: SSG9559905523997077@hlau_4100",
     "Max-Forwards: 70",
     "Contact: \"Caller\" <sip:caller@[::ffff:192.0.2.5]>",
     "CSeq: 8612 INVITE",
     "Content-Type: application/sdp"], SDP),
    "RFC 5118 4.6: IPv4-mapped IPv6 addresses",
    **{"ruri.host": "[::ffff:192.0.2.10]", "ruri.host_kind": "ipv6", "to.uri.host": "[::ffff:192.0.2.10]",
       "via0.host": "[::ffff:192.0.2.5]"})

# RFC 5118 §4.7/4.8: IPv6 SDP and fully written addresses.
valid(35, "ipv6-sdp", msg(
    "INVITE sip:user@[2001:db8:0:0:0:0:0:10] SIP/2.0",
    ["To: sip:user@[2001:db8::10]",
     "From: sip:user@example.com;tag=81x2",
     "Via: SIP/2.0/UDP [2001:db8::20];branch=z9hG4bKas3-111",
     "Call-ID: SSG9559905523997077@hlau_4100",
     "Contact: \"Caller\" <sip:caller@[2001:db8::20]>",
     "CSeq: 8612 INVITE",
     "Max-Forwards: 70",
     "Content-Type: application/sdp"], SDP6),
    "RFC 5118 4.7/4.8: long-form IPv6 in the Request-URI, IPv6 in SDP",
    **{"ruri.host": "[2001:db8:0:0:0:0:0:10]", "to.uri.host": "[2001:db8::10]", "body.len": str(len(SDP6))})

# fedge extras ---------------------------------------------------------------

valid(40, "compact-forms", msg(
    "INVITE sip:bob@biloxi.example.com SIP/2.0",
    ["v: SIP/2.0/TLS pc33.atlanta.example.com;branch=z9hG4bKcmp1",
     "f: Alice <sip:alice@atlanta.example.com>;tag=1928301774",
     "t: Bob <sip:bob@biloxi.example.com>",
     "i: a84b4c76e66710@pc33.atlanta.example.com",
     "Max-Forwards: 70",
     "CSeq: 314159 INVITE",
     "m: <sip:alice@pc33.atlanta.example.com;transport=tls>",
     "c: application/sdp",
     "s: lunch",
     "k: timer, 100rel",
     "e: identity",
     "o: presence",
     "u: presence, dialog",
     "r: <sip:carol@chicago.example.com>",
     "b: <sip:alice@atlanta.example.com>",
     "x: 1800;refresher=uac",
     "a: *;audio",
     "j: *;video",
     "d: proxy, recurse",
     "y: aGVsbG8=",
     "n: <https://atlanta.example.com/cert>;alg=rsa-sha1",
     "l: %d" % len(SDP)], SDP, clen=False),
    "Every compact form (RFC 3261 7.3.3, RFC 3265, 3515, 3892, 4028, 3841, 4474): typed access and "
    "find-by-long-name must both work",
    **{"via0.branch": "z9hG4bKcmp1", "from.tag": "1928301774", "to.uri.host": "biloxi.example.com",
       "call_id": "a84b4c76e66710@pc33.atlanta.example.com", "contact.uri.transport": "tls",
       "content_length": str(len(SDP)), "hdr.Content-Type": "application/sdp", "hdr.Subject": "lunch",
       "hdr.Supported": "timer, 100rel", "hdr.Content-Encoding": "identity", "hdr.Event": "presence",
       "hdr.Allow-Events": "presence, dialog", "hdr.Refer-To": "<sip:carol@chicago.example.com>",
       "hdr.Referred-By": "<sip:alice@atlanta.example.com>", "hdr.Session-Expires": "1800;refresher=uac",
       "hdr.Accept-Contact": "*;audio", "hdr.Reject-Contact": "*;video",
       "hdr.Request-Disposition": "proxy, recurse", "hdr.Identity": "aGVsbG8=",
       "hdr.Identity-Info": "<https://atlanta.example.com/cert>;alg=rsa-sha1",
       "hdr0.id": "Via", "hdr1.id": "From", "hdr2.id": "To", "hdr3.id": "Call-ID", "hdr6.id": "Contact",
       "hdr7.id": "Content-Type", "hdr21.id": "Content-Length", "hdr0.name": "v"})

valid(41, "mixed-case-names", msg(
    "MESSAGE sip:bob@biloxi.example.com SIP/2.0",
    ["VIA: SIP/2.0/TLS edge.atlanta.example.com;BRANCH=z9hG4bKmc1",
     "mAX-fORWARDS: 69",
     "TO: <sip:bob@biloxi.example.com>",
     "from: <sip:alice@atlanta.example.com>;TAG=mc77",
     "cAlL-iD: mixed-case@atlanta.example.com",
     "cseq: 2 MESSAGE",
     "CONTENT-TYPE: text/plain"], "hello"),
    "Header names and parameter names are case-insensitive (RFC 3261 7.3.1)",
    method="MESSAGE",
    **{"via0.branch": "z9hG4bKmc1", "max_forwards": "69", "from.tag": "mc77",
       "call_id": "mixed-case@atlanta.example.com", "hdr.content-type": "text/plain", "body.len": "5"})

# Whitespace between a header name and its colon (RFC 3261 7.3.1 allows
# HCOLON = *( SP / HTAB ) ":" SWS): it must still be *that* header, so that
# a filter on Via or on ms-edge-proxy-message-trust cannot be bypassed.
valid(42, "space-before-colon", msg(
    "MESSAGE sip:bob@biloxi.example.com SIP/2.0",
    ["Via : SIP/2.0/TLS edge.atlanta.example.com:5061;branch=z9hG4bKsp1",
     "Via\t: SIP/2.0/TLS pc.atlanta.example.com;branch=z9hG4bKsp0",
     "Max-Forwards  : 70",
     "To \t : <sip:bob@biloxi.example.com>",
     "From: <sip:alice@atlanta.example.com>;tag=sp9",
     "Call-ID  \t: space-colon@atlanta.example.com",
     "CSeq : 5 MESSAGE",
     "ms-edge-proxy-message-trust : ms-source-type=AuthorizedServer;ms-ep-fqdn=edge.atlanta.example.com",
     "Content-Type : text/plain",
     "Content-Length : 2"], "hi", clen=False),
    "SP/HTAB before the colon keeps the header's identity (the smuggling trick must not work)",
    **{"via.count": "2", "via0.host": "edge.atlanta.example.com", "via0.port": "5061",
       "via1.host": "pc.atlanta.example.com", "max_forwards": "70", "to.uri.host": "biloxi.example.com",
       "call_id": "space-colon@atlanta.example.com", "cseq": "5 MESSAGE", "content_length": "2",
       "hdr.ms-edge-proxy-message-trust": "ms-source-type=AuthorizedServer;ms-ep-fqdn=edge.atlanta.example.com",
       "hdr7.name": "ms-edge-proxy-message-trust", "hdr0.name": "Via", "hdr1.name": "Via", "hdr0.id": "Via",
       "hdr1.id": "Via", "hdr3.id": "To", "hdr9.id": "Content-Length"})

valid(43, "via-lists", msg(
    "SIP/2.0 180 Ringing",
    ["Via: SIP/2.0/TLS p3.example.net;branch=z9hG4bKl3;received=192.0.2.3, SIP/2.0/TLS p2.example.net;branch=z9hG4bKl2",
     "Via: SIP/2.0/TLS p1.example.net;branch=z9hG4bKl1,SIP/2.0/UDP ua.example.net;branch=z9hG4bKl0;rport=5060;received=192.0.2.99",
     "Record-Route: <sip:p3.example.net;lr>, <sip:p2.example.net;lr>",
     "Record-Route: <sip:p1.example.net;lr>",
     "To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf",
     "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774",
     "Call-ID: vialists@ua.example.net",
     "Contact: <sip:bob@192.0.2.4>",
     "CSeq: 314159 INVITE"]),
    "Several values per Via/Record-Route line and several lines, in order",
    kind="response", status="180", reason="Ringing",
    **{"via.count": "4", "via0.host": "p3.example.net", "via0.received": "192.0.2.3", "via1.host": "p2.example.net",
       "via2.branch": "z9hG4bKl1", "via3.host": "ua.example.net", "via3.rport": "5060", "via3.received": "192.0.2.99",
       "record_route.count": "3", "record_route0": "<sip:p3.example.net;lr>", "record_route2": "<sip:p1.example.net;lr>",
       "to.tag": "a6c85cf"})

valid(44, "route-set", req("BYE", ruri="sip:bob@192.0.2.4", tag="rt",
                           extra=["Route: <sip:p1.example.net;lr>,<sip:p2.example.net;lr;transport=tls>",
                                  "Route: <sip:p3.example.net;lr>"]),
      "Route values across lines", method="BYE",
      **{"route.count": "3", "route0": "<sip:p1.example.net;lr>", "route1": "<sip:p2.example.net;lr;transport=tls>",
         "route2": "<sip:p3.example.net;lr>", "ruri.host_kind": "ipv4"})

valid(45, "quoted-commas", req("REGISTER", ruri="sip:registrar.biloxi.example.com", tag="qc",
                               extra=['Contact: "Doe, John" <sip:john@192.0.2.7>;q=0.7;expires=3600, '
                                      '"A \\"quoted\\", name" <sip:a@192.0.2.8>',
                                      "Contact: <sip:b@192.0.2.9;transport=tcp>;q=0.1"]),
      "Commas inside quoted display names do not split values",
      method="REGISTER",
      **{"contact.count": "3", "contact0.display": "Doe, John", "contact0.q": "0.7", "contact0.expires": "3600",
         "contact1.display": 'A \\"quoted\\", name', "contact1.uri.host": "192.0.2.8",
         "contact2.uri.transport": "tcp", "contact.display": "Doe, John"})

valid(46, "contact-star", req("REGISTER", ruri="sip:registrar.biloxi.example.com", tag="star",
                              extra=["Contact: *", "Expires: 0"]),
      "Contact: * with Expires: 0 (unregister all)", method="REGISTER",
      **{"contact.star": "1", "expires": "0", "contact.count": "1"})

valid(47, "lowercase-version", msg(
    "OPTIONS sip:bob@biloxi.example.com sip/2.0",
    ["Via: sip/2.0/tls edge.atlanta.example.com;branch=z9hG4bKlv",
     "Max-Forwards: 70",
     "To: <sip:bob@biloxi.example.com>",
     "From: <sip:alice@atlanta.example.com>;tag=lv",
     "Call-ID: lowercase-version@atlanta.example.com",
     "CSeq: 1 OPTIONS"]),
    "RFC 3261 7.1: 'The SIP-Version string is case-insensitive' (and protocol names in Via likewise)",
    **{"via0.transport": "tls", "via0.proto": "sip/2.0"})

valid(48, "tel-uri", req("INVITE", ruri="tel:+1-201-555-0123;phone-context=example.com", tag="tel",
                         extra=["Content-Type: application/sdp"], body=SDP),
      "tel URI in the Request-URI (RFC 3966)",
      **{"ruri.scheme": "tel", "ruri.user": "+1-201-555-0123", "ruri.params": ";phone-context=example.com",
         "ruri.host": ""})

valid(49, "sips-port-params", req("INVITE", ruri="SIPS:bob@Biloxi.Example.COM:5061;transport=tcp;lr;maddr=192.0.2.200;user=phone;ttl=15",
                                  tag="sips", extra=["Content-Type: application/sdp"], body=SDP),
      "sips with port and the common URI parameters, scheme and host in mixed case",
      **{"ruri.scheme": "sips", "ruri.scheme_str": "SIPS", "ruri.host": "Biloxi.Example.COM", "ruri.port": "5061",
         "ruri.transport": "tcp", "ruri.lr": "1", "ruri.maddr": "192.0.2.200", "ruri.user_param": "phone",
         "ruri.headers": "", "ruri.params": ";transport=tcp;lr;maddr=192.0.2.200;user=phone;ttl=15"})

valid(50, "via-params", msg(
    "NOTIFY sip:alice@192.0.2.50:5062;transport=tls SIP/2.0",
    ["Via: SIP/2.0/TLS edge.biloxi.example.com:5061;branch=z9hG4bKvp1;received=192.0.2.1;rport=5062;maddr=224.2.0.1;ttl=16;alias",
     "Via: SIP/2.0/TCP pres.biloxi.example.com;branch=z9hG4bKvp0;rport",
     "Max-Forwards: 69",
     "To: <sip:alice@atlanta.example.com>;tag=a1",
     "From: <sip:bob@biloxi.example.com>;tag=b1",
     "Call-ID: viaparams@pres.biloxi.example.com",
     "CSeq: 12 NOTIFY",
     "Event: presence;id=7",
     "Subscription-State: active;expires=599",
     "Content-Type: application/pidf+xml"],
    '<?xml version="1.0" encoding="UTF-8"?>\r\n<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:bob@biloxi.example.com">\r\n'
    '<tuple id="t1"><status><basic>open</basic></status></tuple>\r\n</presence>\r\n'),
    "Every typed Via field: port, branch, received, rport with and without value, maddr, ttl, alias",
    method="NOTIFY",
    **{"via0.transport": "TLS", "via0.host": "edge.biloxi.example.com", "via0.port": "5061", "via0.branch": "z9hG4bKvp1",
       "via0.received": "192.0.2.1", "via0.rport": "5062", "via0.maddr": "224.2.0.1", "via0.ttl": "16",
       "via0.alias": "1", "via1.rport": "", "via1.alias": "0", "via1.port": "", "via1.received": "",
       "ruri.port": "5062", "ruri.transport": "tls", "hdr.Event": "presence;id=7",
       "hdr.Subscription-State": "active;expires=599"})

valid(51, "folding-tabs", msg(
    "MESSAGE sip:bob@biloxi.example.com SIP/2.0",
    ["Via: SIP/2.0/TLS\r\n\tedge.atlanta.example.com\r\n\t;branch=z9hG4bKft",
     "Max-Forwards:\r\n\t 70",
     "To:\t<sip:bob@biloxi.example.com>",
     "From:\r\n <sip:alice@atlanta.example.com>\r\n ;tag=ft1",
     "Call-ID:\tfolding@atlanta.example.com",
     "CSeq:\r\n 7\r\n MESSAGE",
     "Subject: line one\r\n\tline two"], "x"),
    "Folding with HTAB and SP in typed headers",
    method="MESSAGE",
    **{"via0.host": "edge.atlanta.example.com", "via0.branch": "z9hG4bKft", "max_forwards": "70", "from.tag": "ft1",
       "to.uri": "sip:bob@biloxi.example.com", "call_id": "folding@atlanta.example.com", "cseq": "7 MESSAGE",
       "hdr.Subject": "line one\r\n\tline two"})

valid(52, "no-content-length", msg(
    "MESSAGE sip:bob@biloxi.example.com SIP/2.0",
    ["Via: SIP/2.0/UDP pc.atlanta.example.com;branch=z9hG4bKncl",
     "Max-Forwards: 70",
     "To: <sip:bob@biloxi.example.com>",
     "From: <sip:alice@atlanta.example.com>;tag=ncl",
     "Call-ID: no-clen@atlanta.example.com",
     "CSeq: 1 MESSAGE",
     "Content-Type: text/plain"], "Watson, come here.", clen=False),
    "Datagram without Content-Length: the body is the rest (RFC 3261 18.3)",
    method="MESSAGE", content_length="-1", **{"body.len": "18"})

valid(53, "clen-leading-zeros", req("MESSAGE", ruri="sip:bob@biloxi.example.com", tag="lz",
                                    extra=["Content-Type: text/plain", "Content-Length: 0004"], body="abcd", clen=False),
      "Content-Length is 1*DIGIT: leading zeros are fine", method="MESSAGE",
      content_length="4", **{"body.len": "4"})

valid(54, "user-phone-password", req("INVITE", ruri="sip:+1-212-555-1212:1234@gateway.example.com;user=phone",
                                     tag="ph", extra=["Content-Type: application/sdp"], body=SDP),
      "telephone-subscriber user with a password and user=phone (RFC 3261 19.1.3)",
      **{"ruri.user": "+1-212-555-1212", "ruri.password": "1234", "ruri.user_param": "phone",
         "ruri.host": "gateway.example.com"})

valid(55, "ipv4-port", req("OPTIONS", ruri="sip:alice@192.0.2.4:5060", tag="v4",
                           via="Via: SIP/2.0/UDP 192.0.2.99:5070;branch=z9hG4bKv4"),
      "IPv4 hosts with ports",
      **{"ruri.host": "192.0.2.4", "ruri.host_kind": "ipv4", "ruri.port": "5060", "via0.host": "192.0.2.99",
         "via0.port": "5070", "via0.host_kind": "ipv4"})

valid(56, "lowercase-extension-method", req("invite", ruri="sip:bob@biloxi.example.com", tag="lc"),
      "Methods are case-sensitive: 'invite' is an extension method, and CSeq must say 'invite' too",
      method="invite", cseq="1 invite")

valid(57, "bare-uri-params", msg(
    "OPTIONS sip:bob@biloxi.example.com SIP/2.0",
    ["Via: SIP/2.0/TLS edge.atlanta.example.com;branch=z9hG4bKbu",
     "Max-Forwards: 70",
     "To: sip:bob@biloxi.example.com",
     "From: sip:alice@atlanta.example.com;tag=88sja8x;transport=tcp",
     "Call-ID: bare@atlanta.example.com",
     "CSeq: 1 OPTIONS"]),
    "RFC 3261 20.10: after a bare addr-spec every ';param' is a header parameter, not a URI parameter",
    **{"from.uri": "sip:alice@atlanta.example.com", "from.tag": "88sja8x", "from.params": ";tag=88sja8x;transport=tcp",
       "from.uri.transport": "", "from.uri.params": "", "to.has_tag": "0"})

headers128 = ["X-Filler-%03d: %d" % (i, i) for i in range(128 - 7)]
valid(58, "max-headers", req("OPTIONS", tag="mh", extra=headers128),
      "Exactly 128 header lines (the default max_headers) is still fine",
      **{"hdr.count": "128", "hdr.X-Filler-120": "120"})

# max_vias is 70: a request may legitimately have crossed Max-Forwards' 70
# hops (RFC 3261 §8.1.1.6), each adding one Via.
vias70 = ["Via: " + ", ".join("SIP/2.0/TLS h%d-%d.example.net;branch=z9hG4bK%d%d" % (l, i, l, i) for i in range(7))
          for l in range(10)]
valid(59, "max-vias", msg("OPTIONS sip:bob@biloxi.example.com SIP/2.0",
                          vias70 + ["Max-Forwards: 70", "To: <sip:bob@biloxi.example.com>",
                                    "From: <sip:alice@atlanta.example.com>;tag=mv",
                                    "Call-ID: maxvias@atlanta.example.com", "CSeq: 1 OPTIONS"]),
      "Exactly 70 Via values (the default max_vias, Max-Forwards' 70 hops) is still fine",
      **{"via.count": "70", "via69.host": "h9-6.example.net"})

vias40 = ["Via: SIP/2.0/TLS hop%d.example.net:5061;branch=z9hG4bKforty%d" % (i, i) for i in range(40)]
valid(65, "forty-via-headers", msg("MESSAGE sip:bob@biloxi.example.com SIP/2.0",
                                   vias40 + ["Max-Forwards: 30", "To: <sip:bob@biloxi.example.com>",
                                             "From: <sip:alice@atlanta.example.com>;tag=fv",
                                             "Call-ID: fortyvias@atlanta.example.com", "CSeq: 1 MESSAGE",
                                             "Content-Length: 0"]),
      "40 Via header lines, one per hop: a legitimate request after 40 proxies "
      "(was refused when max_vias was 32)",
      **{"via.count": "40", "via39.host": "hop39.example.net"})

valid(60, "lync-federation-message", msg(
    "MESSAGE sip:bob@fabrikam.test SIP/2.0",
    ["Via: SIP/2.0/TLS 192.0.2.20:51234;branch=z9hG4bK6A1F2B3C.1;branched=FALSE;ms-internal-info=\"aa8JkHbK2\"",
     "Authentication-Info: TLS-DSK qop=\"auth\", opaque=\"2B1E7A41\", srand=\"3E4F5A6B\", snum=\"12\", rspauth=\"0a1b2c\", targetname=\"edge.contoso.test\", realm=\"SIP Communications Service\", version=4",
     "Max-Forwards: 69",
     "Content-Length: 6",
     "From: \"Alice\"<sip:alice@contoso.test>;tag=d3fa9b2c1e;epid=01010101",
     "To: <sip:bob@fabrikam.test>",
     "Call-ID: 5d8e0b1c2a3f4e5d6c7b8a9f0e1d2c3b",
     "CSeq: 1 MESSAGE",
     "User-Agent: UCCAPI/15.0.4420.1017 OC/15.0.4420.1017 (Microsoft Lync)",
     "ms-edge-proxy-message-trust: ms-source-type=InternetUser;ms-ep-fqdn=edge.contoso.test;ms-source-network=federation",
     "Supported: ms-dialog-route-set-update",
     "Content-Type: text/plain; charset=UTF-8"], "Hello!", clen=False),
    "A Lync/Skype for Business style federated MESSAGE with ms- headers and no SP after a display name",
    method="MESSAGE",
    **{"from.display": "Alice", "from.tag": "d3fa9b2c1e", "via0.port": "51234", "via0.branch": "z9hG4bK6A1F2B3C.1",
       "hdr.ms-edge-proxy-message-trust": "ms-source-type=InternetUser;ms-ep-fqdn=edge.contoso.test;ms-source-network=federation",
       "content_length": "6", "body.len": "6"})

# ---------------------------------------------------------------------------
# Invalid messages (RFC 4475 §3.1.2, §3.3; RFC 5118 §4.2; hostile inputs)
# ---------------------------------------------------------------------------

invalid(1, "badinv01", msg(
    "INVITE sip:user@example.com SIP/2.0",
    ["To: sip:j.user@example.com",
     "From: sip:caller@example.net;tag=134161461246",
     "Max-Forwards: 7",
     "Call-ID: badinv01.0ha0isndaksdjasdf3234nas",
     "CSeq: 8 INVITE",
     "Via: SIP/2.0/UDP 192.0.2.15;;,;,,",
     "Contact: \"Joe\" <sip:joe@example.org>;;;;",
     "Content-Type: application/sdp"], SDP),
    "RFC 4475 3.1.2.1: empty Via parameters and empty comma-separated Via values",
    "FEDGE_ESIP_VIA")

invalid(2, "badinv01-from", req("INVITE", tag="bf", body=SDP, extra=["Content-Type: application/sdp"]).replace(
    b"From: Alice <sip:alice@atlanta.example.com>;tag=fbf", b"From: sip:caller@example.net;;tag=134161461246"),
    "RFC 4475 3.1.2.1: an empty header parameter in From (';;tag=')", "FEDGE_ESIP_FROM")

invalid(3, "nul-quoted-pair", msg(
    "OPTIONS sip:bob@biloxi.example.com SIP/2.0",
    ["Via: SIP/2.0/TLS edge.atlanta.example.com;branch=z9hG4bKnq",
     "Max-Forwards: 70",
     b'To: "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f" <sip:bob@biloxi.example.com>',
     "From: <sip:alice@atlanta.example.com>;tag=nq",
     "Call-ID: nulquoted@atlanta.example.com",
     "CSeq: 1 OPTIONS"]),
    "RFC 4475 3.1.1.2 allows an escaped NUL inside a quoted string; fedge deliberately refuses every NUL in "
    "a header block (downstream C servers would truncate at it: a smuggling vector)",
    "FEDGE_ESIP_NUL")

invalid(4, "clerr", msg(
    "INVITE sip:user@example.com SIP/2.0",
    ["Max-Forwards: 80",
     "To: sip:j.user@example.com",
     "From: sip:caller@example.net;tag=93942939o2",
     "Contact: <sip:caller@hungry.example.net>",
     "Call-ID: clerr.0ha0isndaksdjweiafasdk3",
     "CSeq: 8 INVITE",
     "Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523",
     "Content-Type: application/sdp",
     "Content-Length: 9999"], SDP, clen=False),
    "RFC 4475 3.1.2.2: Content-Length larger than the datagram's body", "FEDGE_ESIP_BODY_LEN")

invalid(5, "ncl", req("INVITE", tag="ncl", extra=["Content-Type: application/sdp", "Content-Length: -999"],
                      body=SDP, clen=False),
        "RFC 4475 3.1.2.3: negative Content-Length", "FEDGE_ESIP_BAD_CLEN")

invalid(6, "scalar02-cseq", req("REGISTER", ruri="sip:example.com", tag="sc", cseq_method="REGISTER",
                                extra=["Contact: <sip:user@host129.example.com>"]).replace(
    b"CSeq: 1 REGISTER", b"CSeq: 36893488147419103232 REGISTER"),
    "RFC 4475 3.1.2.4: CSeq number far beyond 2**32 (must not wrap)", "FEDGE_ESIP_CSEQ")

invalid(7, "scalar02-maxfwd", req("OPTIONS", tag="smf").replace(b"Max-Forwards: 70", b"Max-Forwards: 300"),
        "RFC 4475 3.1.2.4 and RFC 3261 20.22: Max-Forwards is 0-255", "FEDGE_ESIP_MAX_FORWARDS")

invalid(8, "scalar02-via-port", req("OPTIONS", tag="svp",
                                    via="Via: SIP/2.0/TCP host129.example.com:65536;branch=z9hG4bKsvp"),
        "RFC 4475 3.1.2.4: a Via port above 65535 (must not wrap to 0)", "FEDGE_ESIP_VIA")

invalid(9, "scalar02-expires", req("REGISTER", ruri="sip:example.com", tag="sex",
                                   extra=["Contact: <sip:user@host129.example.com>",
                                          "Expires: 10000000000000000000000"]),
        "RFC 4475 3.1.2.4 and RFC 3261 20.19: Expires is 0..2**32-1", "FEDGE_ESIP_EXPIRES")

invalid(10, "scalarlg-cseq", msg(
    "SIP/2.0 503 Service Unavailable",
    ["Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bKzzxdiwo34sw;received=192.0.2.129",
     "To: <sip:user@example.com>",
     "From: <sip:other@example.net>;tag=2easdjfejw",
     "CSeq: 4294967296 REGISTER",
     "Call-ID: scalarlg.noase0of0234hn2qofoaf0232aewf2394r",
     "Retry-After: 949302838503028349304023988"]),
    "RFC 4475 3.1.2.5: response CSeq of 2**32 (a uint32 would wrap to 0)", "FEDGE_ESIP_CSEQ")

invalid(11, "bigcode", msg(
    "SIP/2.0 4294967301 better not break the receiver",
    ["Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe",
     "Call-ID: bigcode.asdof3uj203asdnf3429uasdhfas3ehjasdfas9i",
     "CSeq: 353494 INVITE",
     "From: <sip:user@example.com>;tag=39ansfi3",
     "To: <sip:user@example.edu>;tag=902jndnke3",
     "Content-Length: 0",
     "Contact: <sip:user@host105.example.com>"], clen=False),
    "RFC 4475 3.1.2.19: status code of ten digits (4294967301 wraps to 5 in 32 bits)", "FEDGE_ESIP_STATUS")

invalid(12, "status-699-plus", msg(
    "SIP/2.0 700 Beyond",
    ["Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398",
     "Call-ID: s700@example.com", "CSeq: 1 INVITE",
     "From: <sip:user@example.com>;tag=39", "To: <sip:user@example.edu>;tag=90"]),
    "Status codes are 100-699 (RFC 3261 7.2, 21)", "FEDGE_ESIP_STATUS")

invalid(13, "status-099", msg(
    "SIP/2.0 099 Too Early",
    ["Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398",
     "Call-ID: s099@example.com", "CSeq: 1 INVITE",
     "From: <sip:user@example.com>;tag=39", "To: <sip:user@example.edu>;tag=90"]),
    "Status codes are 100-699", "FEDGE_ESIP_STATUS")

invalid(14, "quotbal", msg(
    "INVITE sip:user@example.com SIP/2.0",
    ['To: "Mr. J. User <sip:j.user@example.com>',
     "From: sip:caller@example.net;tag=93334",
     "Max-Forwards: 10",
     "Call-ID: quotbal.aksdj",
     "Contact: <sip:caller@host59.example.net>",
     "CSeq: 8 INVITE",
     "Via: SIP/2.0/UDP 192.0.2.59:5050;branch=z9hG4bKkdjuw39234",
     "Content-Type: application/sdp"], SDP),
    "RFC 4475 3.1.2.6: unterminated quoted display name in To", "FEDGE_ESIP_TO")

invalid(15, "ltgtruri", req("INVITE", ruri="<sip:user@example.com>", tag="lt", body=SDP,
                            extra=["Content-Type: application/sdp"]),
        "RFC 4475 3.1.2.7: Request-URI enclosed in <>", "FEDGE_ESIP_URI")

invalid(16, "lwsruri", req("INVITE", ruri="sip:user@example.com; lr", tag="lws", body=SDP,
                           extra=["Content-Type: application/sdp"]),
        "RFC 4475 3.1.2.8: LWS inside the Request-URI splits the request line into four parts "
        "(start-line or URI error both say why)", "FEDGE_ESIP_START_LINE|FEDGE_ESIP_URI")

invalid(17, "lwsstart", msg(
    "INVITE  sip:user@example.com  SIP/2.0",
    ["Max-Forwards: 8",
     "To: sip:user@example.com",
     "From: sip:caller@example.net;tag=8814",
     "Call-ID: lwsstart.dfknq234oi243099adsdfnawe3@example.com",
     "CSeq: 1893884 INVITE",
     "Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw3923",
     "Contact: <sip:caller@host1.example.com>",
     "Content-Type: application/sdp"], SDP),
    "RFC 4475 3.1.2.9: two SPs between request-line elements (exactly one SP is allowed)",
    "FEDGE_ESIP_START_LINE|FEDGE_ESIP_URI")

invalid(18, "trws", msg(
    "OPTIONS sip:remote-target@example.com SIP/2.0  ",
    ["Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK299342093",
     "To: <sip:remote-target@example.com>",
     "From: <sip:local-resource@example.com>;tag=329429089",
     "Call-ID: trws.oicu34958239neffasdhr2345r",
     "Accept: application/sdp",
     "CSeq: 238923 OPTIONS",
     "Max-Forwards: 70"]),
    "RFC 4475 3.1.2.10: SP after the SIP-Version", "FEDGE_ESIP_START_LINE|FEDGE_ESIP_VERSION")

invalid(19, "escruri", req("INVITE", ruri="sip:user@example.com?Route=%3Csip:example.com%3E", tag="esr",
                           body=SDP, extra=["Content-Type: application/sdp"]),
        "RFC 4475 3.1.2.11 and RFC 3261 19.1.1 (table): headers are not allowed in a Request-URI",
        "FEDGE_ESIP_URI")

invalid(20, "regbadct", msg(
    "REGISTER sip:example.com SIP/2.0",
    ["To: sip:user@example.com",
     "From: sip:user@example.com;tag=998332",
     "Max-Forwards: 70",
     "Call-ID: regbadct.k345asrl3fdbv@10.0.0.1",
     "CSeq: 1 REGISTER",
     "Via: SIP/2.0/UDP 135.180.130.133:5060;branch=z9hG4bKkdjuw",
     "Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E",
     "l: 0"], clen=False),
    "RFC 4475 3.1.2.13 and RFC 3261 20: a URI with '?' must be enclosed in <>",
    "FEDGE_ESIP_CONTACT")

invalid(21, "badaspec", msg(
    "OPTIONS sip:user@example.org SIP/2.0",
    ["Via: SIP/2.0/UDP host4.example.com:5060;branch=z9hG4bKkdju43234",
     "Max-Forwards: 70",
     'From: "Bell, Alexander" <sip:a.g.bell@example.com>;tag=433423',
     'To: "Watson, Thomas" < sip:t.watson@example.org >',
     "Call-ID: badaspec.sdf0234n2nds0a099u23h3hnnw009cdkne3",
     "Accept: application/sdp",
     "CSeq: 3923239 OPTIONS",
     "l: 0"], clen=False),
    "RFC 4475 3.1.2.14: spaces inside <> around the addr-spec", "FEDGE_ESIP_TO")

invalid(22, "baddn", msg(
    "OPTIONS sip:t.watson@example.org SIP/2.0",
    ["Via: SIP/2.0/UDP c.example.com:5060;branch=z9hG4bKkdjuw",
     "Max-Forwards: 70",
     "From: Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
     "To: Watson, Thomas <sip:t.watson@example.org>",
     "Call-ID: baddn.31415@c.example.com",
     "Accept: application/sdp",
     "CSeq: 3923239 OPTIONS",
     "l: 0"], clen=False),
    "RFC 4475 3.1.2.15: unquoted display name with a comma", "FEDGE_ESIP_FROM")

invalid(23, "badvers", req("OPTIONS", ruri="sip:t.watson@example.org", tag="bv").replace(b" SIP/2.0\r\n", b" SIP/7.0\r\n", 1),
        "RFC 4475 3.1.2.16: SIP/7.0", "FEDGE_ESIP_VERSION")

invalid(24, "mismatch01", req("OPTIONS", ruri="sip:user@example.com", tag="mm1", cseq_method="INVITE"),
        "RFC 4475 3.1.2.17: CSeq method differs from the request method", "FEDGE_ESIP_CSEQ_METHOD")

invalid(25, "mismatch02", req("NEWMETHOD", ruri="sip:user@example.com", tag="mm2", cseq_method="INVITE",
                              extra=["Content-Type: application/sdp"], body=SDP),
        "RFC 4475 3.1.2.18: extension method with a different CSeq method", "FEDGE_ESIP_CSEQ_METHOD")

invalid(26, "multi01", msg(
    "INVITE sip:user@company.com SIP/2.0",
    ["Contact: <sip:caller@host25.example.net>",
     "Via: SIP/2.0/UDP 192.0.2.25;branch=z9hG4bKkdjuw",
     "Max-Forwards: 70",
     "CSeq: 5 INVITE",
     "Call-ID: multi01.98asdh@192.0.2.1",
     "CSeq: 59 INVITE",
     "Call-ID: multi01.98asdh@192.0.2.2",
     "From: sip:caller@example.com;tag=3413415",
     "To: sip:user@example.com",
     "To: sip:other@example.net",
     "From: sip:caller@example.net;tag=2923420123",
     "Content-Type: application/sdp",
     "l: %d" % len(SDP)], SDP, clen=False),
    "RFC 4475 3.3.8: several values in single-value headers (CSeq, Call-ID, To, From)",
    "FEDGE_ESIP_DUP_HEADER")

invalid(27, "insuf", msg(
    "INVITE sip:user@example.com SIP/2.0",
    ["CSeq: 193942 INVITE",
     "Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf",
     "Content-Type: application/sdp",
     "l: %d" % len(SDP)], SDP, clen=False),
    "RFC 4475 3.3.1: no From, To, Call-ID (sip_msg_check checks Via, From, To, Call-ID, CSeq in that order)",
    "FEDGE_ESIP_FROM")

invalid(28, "missing-via", req("OPTIONS", tag="nv", drop=("via",)), "No Via at all", "FEDGE_ESIP_NO_VIA")
invalid(29, "missing-to", req("OPTIONS", tag="nt", drop=("to",)), "No To", "FEDGE_ESIP_TO")
invalid(30, "missing-call-id", req("OPTIONS", tag="nc", drop=("callid",)), "No Call-ID", "FEDGE_ESIP_CALL_ID")
invalid(31, "missing-cseq", req("OPTIONS", tag="ns", drop=("cseq",)), "No CSeq", "FEDGE_ESIP_CSEQ")

# Content-Length attacks ------------------------------------------------------

invalid(32, "clen-2pow32", req("MESSAGE", tag="c32", extra=["Content-Type: text/plain", "Content-Length: 4294967296"],
                               clen=False),
        "Content-Length 2**32 with an empty body: a 32-bit parser wraps it to 0 and accepts. Refused as a bad "
        "number, as too big for max_message_size, or as a body mismatch: all three are right",
        "FEDGE_ESIP_BAD_CLEN|FEDGE_ESIP_TOO_BIG|FEDGE_ESIP_BODY_LEN")

invalid(33, "clen-2pow64-plus4", req("MESSAGE", tag="c64", extra=["Content-Type: text/plain",
                                                                  "Content-Length: 18446744073709551620"],
                                     body="abcd", clen=False),
        "Content-Length 2**64+4 with a 4-byte body: a 64-bit parser without overflow check reads 4 and accepts",
        "FEDGE_ESIP_BAD_CLEN|FEDGE_ESIP_TOO_BIG|FEDGE_ESIP_BODY_LEN")

invalid(34, "clen-negative", req("MESSAGE", tag="cn", extra=["Content-Type: text/plain", "Content-Length: -1"],
                                 clen=False),
        "Content-Length -1", "FEDGE_ESIP_BAD_CLEN")

invalid(35, "clen-plus-sign", req("MESSAGE", tag="cp", extra=["Content-Type: text/plain", "Content-Length: +4"],
                                  body="abcd", clen=False),
        "Content-Length is 1*DIGIT: no sign", "FEDGE_ESIP_BAD_CLEN")

invalid(36, "clen-trailing-junk", req("MESSAGE", tag="cj", extra=["Content-Type: text/plain", "Content-Length: 4x"],
                                      body="abcd", clen=False),
        "Content-Length followed by junk", "FEDGE_ESIP_BAD_CLEN")

invalid(37, "clen-twice-differ", req("MESSAGE", tag="c2", extra=["Content-Type: text/plain", "Content-Length: 0",
                                                                 "Content-Length: 4"], body="abcd", clen=False),
        "Two Content-Length headers that differ (request smuggling)", "FEDGE_ESIP_CLEN_MISMATCH")

invalid(38, "clen-compact-differ", req("MESSAGE", tag="c3", extra=["l: 4", "Content-Type: text/plain",
                                                                   "Content-Length: 2"], body="abcd", clen=False),
        "Compact l: and Content-Length: that differ", "FEDGE_ESIP_CLEN_MISMATCH")

invalid(39, "clen-space-colon-differ", req("MESSAGE", tag="c4", extra=["Content-Length : 0", "Content-Type: text/plain",
                                                                       "Content-Length: 4"], body="abcd", clen=False),
        "'Content-Length :' (SP before colon) is still Content-Length, so the two differ", "FEDGE_ESIP_CLEN_MISMATCH")

invalid(40, "clen-empty", req("MESSAGE", tag="ce", extra=["Content-Type: text/plain", "Content-Length:"], clen=False),
        "Empty Content-Length value", "FEDGE_ESIP_BAD_CLEN")

# Header duplication and smuggling --------------------------------------------

invalid(41, "to-dup-empty-tag", req("BYE", tag="tdup", extra=["To: <sip:bob@biloxi.example.com>;tag="]),
        "A second To with an empty tag (crashed a SIP server's dialog matching)", "FEDGE_ESIP_DUP_HEADER")

invalid(42, "to-empty-tag", req("BYE", tag="tet").replace(b"To: Bob <sip:bob@biloxi.example.com>",
                                                          b"To: Bob <sip:bob@biloxi.example.com>;tag="),
        "tag-param = 'tag' EQUAL token: an empty tag is malformed", "FEDGE_ESIP_TO")

invalid(43, "callid-dup-space-colon", req("MESSAGE", tag="cds",
                                          extra=["Call-ID : smuggled@evil.example.com"]),
        "A second Call-ID hidden behind 'Call-ID :' is still a duplicate", "FEDGE_ESIP_DUP_HEADER")

invalid(44, "callid-dup-compact", req("MESSAGE", tag="cdc", extra=["i: other@evil.example.com"]),
        "Call-ID and its compact form i: together", "FEDGE_ESIP_DUP_HEADER")

invalid(45, "from-dup", req("MESSAGE", tag="fd", extra=["From: <sip:mallory@evil.example.com>;tag=m"]),
        "Two From headers", "FEDGE_ESIP_DUP_HEADER")

invalid(46, "cseq-dup", req("MESSAGE", tag="csd", extra=["CSeq: 2 MESSAGE"]),
        "Two CSeq headers", "FEDGE_ESIP_DUP_HEADER")

invalid(47, "maxfwd-dup-space-colon", req("MESSAGE", tag="mfd", extra=["Max-Forwards : 255"]),
        "A second Max-Forwards hidden behind 'Max-Forwards :'", "FEDGE_ESIP_DUP_HEADER")

invalid(48, "contact-stray-quote", req("INVITE", tag="csq", body=SDP,
                                       extra=['Contact: <sip:alice@192.0.2.1>"', "Content-Type: application/sdp"]),
        "A Contact ending in a stray quote (crashed a SIP server)", "FEDGE_ESIP_CONTACT")

invalid(49, "contact-unterminated-display", req("INVITE", tag="cud", body=SDP,
                                                extra=['Contact: "Alice <sip:alice@192.0.2.1>', "Content-Type: application/sdp"]),
        "A Contact display name that never closes its quote", "FEDGE_ESIP_CONTACT")

invalid(50, "contact-star-and-uri", req("REGISTER", ruri="sip:registrar.biloxi.example.com", tag="csu",
                                        extra=["Contact: *, <sip:a@192.0.2.1>", "Expires: 0"]),
        "RFC 3261 10.2.2: '*' must be the only Contact value", "FEDGE_ESIP_CONTACT")

# Not SIP at all ----------------------------------------------------------------

invalid(51, "http-get", b"GET / HTTP/1.1\r\nHost: edge.contoso.test:5061\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
        "An HTTP request on a SIP port: the version is HTTP/1.1 (or the bytes are recognised as not SIP)",
        "FEDGE_ESIP_VERSION|FEDGE_ESIP_GARBAGE")

invalid(52, "http-post", b"POST /cgi-bin/x HTTP/1.0\r\nHost: edge\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nabcd",
        "An HTTP POST with a body on a SIP port", "FEDGE_ESIP_VERSION|FEDGE_ESIP_GARBAGE")

# A real-looking TLS 1.2 ClientHello record (SNI edge.contoso.test).
def client_hello():
    sni = b"edge.contoso.test"
    ext_sni = b"\x00\x00" + (len(sni) + 5).to_bytes(2, "big") + (len(sni) + 3).to_bytes(2, "big") + b"\x00" \
        + len(sni).to_bytes(2, "big") + sni
    exts = ext_sni + b"\x00\x0b\x00\x02\x01\x00" + b"\x00\x0a\x00\x04\x00\x02\x00\x17" \
        + b"\x00\x0d\x00\x04\x00\x02\x04\x01"
    body = b"\x03\x03" + bytes(range(32)) + b"\x00" + b"\x00\x04\xc0\x2f\x00\xff" + b"\x01\x00" \
        + len(exts).to_bytes(2, "big") + exts
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + len(hs).to_bytes(2, "big") + hs


CLIENT_HELLO = client_hello()
invalid(53, "tls-clienthello", CLIENT_HELLO,
        "A TLS ClientHello sent to a plain SIP port (binary, NUL bytes, no CRLF at all)",
        "FEDGE_ESIP_GARBAGE|FEDGE_ESIP_START_LINE|FEDGE_ESIP_NUL")

invalid(54, "binary-garbage", b"\x01\x02\x03 hello\r\n\r\n",
        "Control bytes where a method should be", "FEDGE_ESIP_GARBAGE|FEDGE_ESIP_START_LINE|FEDGE_ESIP_METHOD")

invalid(55, "empty", b"", "An empty datagram", "FEDGE_ESIP_GARBAGE|FEDGE_ESIP_START_LINE")

# NUL bytes ---------------------------------------------------------------------

invalid(56, "nul-in-header", req("MESSAGE", tag="nh", extra=[b"Subject: hello\x00world"]),
        "NUL in a header value", "FEDGE_ESIP_NUL")

invalid(57, "nul-in-name", req("MESSAGE", tag="nn", extra=[b"X-Evil\x00Via: SIP/2.0/UDP evil.example.com"]),
        "NUL in a header name", "FEDGE_ESIP_NUL")

invalid(58, "nul-in-request-uri", req("MESSAGE", ruri="sip:bob\x00@biloxi.example.com", tag="nr"),
        "NUL in the Request-URI", "FEDGE_ESIP_NUL")

# Limits ------------------------------------------------------------------------

invalid(59, "header-60k", req("MESSAGE", tag="h60", extra=["X-Huge: " + "A" * (60 * 1024)]),
        "A 60 KiB header line (max_line_len is 8192; the message still fits in 64 KiB)", "FEDGE_ESIP_LINE_LEN")

invalid(60, "message-70k", req("MESSAGE", tag="m70", extra=["Content-Type: text/plain"], body="B" * (70 * 1024)),
        "A 70 KiB message (max_message_size is 65536)", "FEDGE_ESIP_TOO_BIG")

invalid(61, "too-many-headers", req("OPTIONS", tag="tmh", extra=["X-Filler-%03d: %d" % (i, i) for i in range(129 - 7)]),
        "129 header lines (max_headers is 128)", "FEDGE_ESIP_HDR_COUNT")

vias71 = vias70 + ["Via: SIP/2.0/TLS h-extra.example.net;branch=z9hG4bKextra"]
invalid(62, "too-many-vias", msg("OPTIONS sip:bob@biloxi.example.com SIP/2.0",
                                 vias71 + ["Max-Forwards: 70", "To: <sip:bob@biloxi.example.com>",
                                           "From: <sip:alice@atlanta.example.com>;tag=tmv",
                                           "Call-ID: toomanyvias@atlanta.example.com", "CSeq: 1 OPTIONS"]),
        "71 Via values (max_vias is 70)", "FEDGE_ESIP_VIA_COUNT")

invalid(63, "uri-too-long", req("OPTIONS", ruri="sip:" + "u" * 2100 + "@biloxi.example.com", tag="utl"),
        "A Request-URI of 2100+ bytes (max_uri_len is 2048)", "FEDGE_ESIP_URI_LEN")

# Malformed lines and values ---------------------------------------------------

invalid(64, "header-no-colon", req("OPTIONS", tag="hnc", extra=["Subject lunch"]),
        "A header line without a colon", "FEDGE_ESIP_HEADER")

invalid(65, "header-name-space", req("OPTIONS", tag="hns", extra=["Bad Name: x"]),
        "SP inside a header name (only SP/HTAB right before the colon is allowed)", "FEDGE_ESIP_HEADER")

invalid(66, "continuation-first", req("OPTIONS", tag="cf").replace(b"SIP/2.0\r\nVia:", b"SIP/2.0\r\n Via:", 1),
        "A folded continuation line right after the start line has nothing to continue",
        "FEDGE_ESIP_HEADER|FEDGE_ESIP_START_LINE")

invalid(67, "empty-header-name", req("OPTIONS", tag="ehn", extra=[": value"]), "A header with an empty name",
        "FEDGE_ESIP_HEADER")

invalid(68, "via-empty", req("OPTIONS", tag="ve", via="Via: "), "An empty Via", "FEDGE_ESIP_VIA")

invalid(69, "via-no-transport", req("OPTIONS", tag="vnt", via="Via: SIP/2.0 host.example.com;branch=z9hG4bKx"),
        "Via sent-protocol without transport", "FEDGE_ESIP_VIA")

invalid(70, "via-bad-port", req("OPTIONS", tag="vbp", via="Via: SIP/2.0/UDP host.example.com:5o60;branch=z9hG4bKx"),
        "Via port with a letter", "FEDGE_ESIP_VIA")

invalid(71, "via-ipv6-unbracketed", req("OPTIONS", tag="v6u", via="Via: SIP/2.0/UDP 2001:db8::9:1;branch=z9hG4bKx"),
        "RFC 5118: an IPv6 sent-by must be bracketed", "FEDGE_ESIP_VIA")

invalid(72, "via-second-bad", req("OPTIONS", tag="vsb", extra=["Via: SIP/2.0/UDP ;branch=z9hG4bKy"]),
        "The second Via has no host (every Via value must parse, not only the top one)", "FEDGE_ESIP_VIA")

invalid(73, "callid-space", req("OPTIONS", tag="cs").replace(b"Call-ID: cs-call@atlanta.example.com",
                                                             b"Call-ID: two words@atlanta.example.com"),
        "Call-ID = word ['@' word]: no SP inside", "FEDGE_ESIP_CALL_ID")

invalid(74, "callid-empty", req("OPTIONS", tag="ce2").replace(b"Call-ID: ce2-call@atlanta.example.com", b"Call-ID: "),
        "Empty Call-ID", "FEDGE_ESIP_CALL_ID")

invalid(75, "cseq-no-method", req("OPTIONS", tag="cnm").replace(b"CSeq: 1 OPTIONS", b"CSeq: 1"),
        "CSeq without a method", "FEDGE_ESIP_CSEQ")

invalid(76, "cseq-negative", req("OPTIONS", tag="cng").replace(b"CSeq: 1 OPTIONS", b"CSeq: -1 OPTIONS"),
        "Negative CSeq", "FEDGE_ESIP_CSEQ")

invalid(77, "cseq-lowercase-method", req("INVITE", tag="clm", cseq_method="invite", body=SDP,
                                         extra=["Content-Type: application/sdp"]),
        "Methods are case-sensitive: CSeq 'invite' does not match INVITE", "FEDGE_ESIP_CSEQ_METHOD")

invalid(78, "maxfwd-word", req("OPTIONS", tag="mfw").replace(b"Max-Forwards: 70", b"Max-Forwards: ten"),
        "Max-Forwards is 1*DIGIT", "FEDGE_ESIP_MAX_FORWARDS")

invalid(79, "maxfwd-negative", req("OPTIONS", tag="mfn").replace(b"Max-Forwards: 70", b"Max-Forwards: -1"),
        "Negative Max-Forwards", "FEDGE_ESIP_MAX_FORWARDS")

invalid(80, "maxfwd-256", req("OPTIONS", tag="mf256").replace(b"Max-Forwards: 70", b"Max-Forwards: 256"),
        "Max-Forwards 256 (0-255, RFC 3261 20.22)", "FEDGE_ESIP_MAX_FORWARDS")

invalid(81, "expires-word", req("REGISTER", ruri="sip:example.com", tag="exw",
                                extra=["Contact: <sip:a@192.0.2.1>", "Expires: soon"]),
        "Expires is delta-seconds", "FEDGE_ESIP_EXPIRES")

invalid(82, "ipv6-bad", msg(
    "REGISTER sip:2001:db8::10 SIP/2.0",
    ["To: sip:user@example.com",
     "From: sip:user@example.com;tag=81x2",
     "Via: SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111",
     "Call-ID: SSG9559905523997077@hlau_4100",
     "Max-Forwards: 70",
     'Contact: "Caller" <sip:caller@[2001:db8::1]>',
     "CSeq: 98176 REGISTER",
     "Content-Length: 0"], clen=False),
    "RFC 5118 4.2: an unbracketed IPv6 address in the Request-URI", "FEDGE_ESIP_URI")

invalid(83, "ipv6-unterminated", req("OPTIONS", ruri="sip:[2001:db8::10", tag="v6t"),
        "An IPv6 reference without its closing bracket", "FEDGE_ESIP_URI")

invalid(84, "uri-bad-port", req("OPTIONS", ruri="sip:bob@biloxi.example.com:99999", tag="ubp"),
        "Request-URI port above 65535", "FEDGE_ESIP_URI")

invalid(85, "uri-bad-escape", req("OPTIONS", ruri="sip:%Zbob@biloxi.example.com", tag="ube"),
        "escaped = '%' HEXDIG HEXDIG", "FEDGE_ESIP_URI")

invalid(86, "uri-empty-user", req("OPTIONS", ruri="sip:@biloxi.example.com", tag="ueu"),
        "userinfo with an empty user before '@'", "FEDGE_ESIP_URI")

invalid(87, "uri-no-host", req("OPTIONS", ruri="sip:bob@", tag="unh"), "sip URI without a host", "FEDGE_ESIP_URI")

invalid(88, "from-no-brackets-display", req("OPTIONS", tag="fnb").replace(
    b"From: Alice <sip:alice@atlanta.example.com>;tag=ffnb", b"From: Alice sip:alice@atlanta.example.com;tag=ffnb"),
    "A display name without <> around the URI", "FEDGE_ESIP_FROM")

invalid(89, "to-bad-uri", req("OPTIONS", tag="tbu").replace(b"To: Bob <sip:bob@biloxi.example.com>",
                                                           b"To: Bob <sip:bob@bil oxi.example.com>"),
        "SP inside the host of the To URI", "FEDGE_ESIP_TO")

invalid(90, "version-2-1", req("OPTIONS", tag="v21").replace(b" SIP/2.0\r\n", b" SIP/2.1\r\n", 1),
        "Only SIP/2.0", "FEDGE_ESIP_VERSION")

invalid(91, "response-version", msg("SIP/3.0 200 OK",
                                    ["Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKrv", "Call-ID: rv@example.com",
                                     "CSeq: 1 INVITE", "From: <sip:a@example.com>;tag=1",
                                     "To: <sip:b@example.com>;tag=2"]),
        "Status line with SIP/3.0", "FEDGE_ESIP_VERSION")

invalid(92, "method-not-token", req("OPTIONS", tag="mnt").replace(b"OPTIONS sip:", b"OPT@IONS sip:", 1),
        "'@' is not a token character", "FEDGE_ESIP_METHOD")

invalid(93, "request-line-two-parts", req("OPTIONS", tag="rl2").replace(b"OPTIONS sip:bob@biloxi.example.com SIP/2.0",
                                                                         b"OPTIONS SIP/2.0", 1),
        "A request line without Request-URI", "FEDGE_ESIP_START_LINE")

invalid(94, "status-no-code", msg("SIP/2.0 OK",
                                  ["Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKsn", "Call-ID: sn@example.com",
                                   "CSeq: 1 INVITE", "From: <sip:a@example.com>;tag=1", "To: <sip:b@example.com>;tag=2"]),
        "A status line without a code", "FEDGE_ESIP_START_LINE|FEDGE_ESIP_STATUS")

invalid(95, "bare-lf-line-ends", req("OPTIONS", tag="lf").replace(b"\r\n", b"\n"),
        "LF-only line ends (RFC 3261 7: lines end in CRLF)", "FEDGE_ESIP_HEADER|FEDGE_ESIP_START_LINE")

invalid(96, "bare-cr-in-value", req("OPTIONS", tag="bcr", extra=["Subject: one\rtwo"]),
        "A bare CR inside a header value", "FEDGE_ESIP_HEADER")

invalid(97, "no-empty-line", req("OPTIONS", tag="nel")[:-2],
        "The header block never ends with an empty line", "FEDGE_ESIP_HEADER")

invalid(98, "content-type-dup", req("MESSAGE", tag="ctd", extra=["Content-Type: text/plain",
                                                               "c: application/octet-stream"], body="abcd"),
        "Content-Type twice (long and compact form)", "FEDGE_ESIP_DUP_HEADER")

invalid(99, "expires-dup", req("REGISTER", ruri="sip:example.com", tag="exd",
                               extra=["Contact: <sip:a@192.0.2.1>", "Expires: 3600", "Expires : 0"]),
        "Expires twice, the second behind 'Expires :'", "FEDGE_ESIP_DUP_HEADER")

invalid(100, "via-ttl-256", req("OPTIONS", tag="vtl", via="Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKt;ttl=256"),
        "Via ttl is 0-255 (RFC 3261 20.42)", "FEDGE_ESIP_VIA")

invalid(101, "via-received-hostname", req("OPTIONS", tag="vrh",
                                          via="Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKr;received=host.example.com"),
        "received must be an IPv4 or IPv6 address (RFC 3261 20.42)", "FEDGE_ESIP_VIA")

invalid(102, "contact-uri-too-long", req("REGISTER", ruri="sip:example.com", tag="cul",
                                         extra=["Contact: <sip:" + "c" * 2100 + "@192.0.2.1>"]),
        "A Contact URI longer than max_uri_len", "FEDGE_ESIP_URI_LEN")

invalid(103, "from-star", req("OPTIONS", tag="fst").replace(b"From: Alice <sip:alice@atlanta.example.com>;tag=ffst",
                                                            b"From: *"),
        "'*' is only for Contact", "FEDGE_ESIP_FROM")

invalid(104, "ipv6-triple-colon", req("OPTIONS", ruri="sip:bob@[2001:db8:::1]", tag="v63"),
        "':::' is not an IPv6 address", "FEDGE_ESIP_URI")

invalid(105, "ipv6-nine-groups", req("OPTIONS", ruri="sip:bob@[1:2:3:4:5:6:7:8:9]", tag="v69"),
        "Nine groups are not an IPv6 address", "FEDGE_ESIP_URI")

invalid(106, "tel-empty", req("INVITE", ruri="tel:", tag="te", body=SDP, extra=["Content-Type: application/sdp"]),
        "A tel URI without a number", "FEDGE_ESIP_URI")

invalid(107, "status-two-digits", msg("SIP/2.0 20 OK",
                                      ["Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKs2", "Call-ID: s2@example.com",
                                       "CSeq: 1 INVITE", "From: <sip:a@example.com>;tag=1", "To: <sip:b@example.com>;tag=2"]),
        "Status-Code is 3DIGIT", "FEDGE_ESIP_STATUS|FEDGE_ESIP_START_LINE")

invalid(108, "cseq-2pow31", req("OPTIONS", tag="c31").replace(b"CSeq: 1 OPTIONS", b"CSeq: 2147483648 OPTIONS"),
        "RFC 3261 8.1.1.5: the CSeq number MUST be less than 2**31", "FEDGE_ESIP_CSEQ")

valid(61, "route-ipv6-and-params", req("BYE", ruri="sip:bob@[2001:db8::4]:5061;transport=tls", tag="r6",
                                       extra=["Route: <sip:[2001:db8::1]:5061;transport=tls;lr>, <sip:edge.fabrikam.test;lr>"]),
      "IPv6 in Route and Request-URI with port and transport", method="BYE",
      **{"route.count": "2", "route0": "<sip:[2001:db8::1]:5061;transport=tls;lr>", "ruri.host": "[2001:db8::4]",
         "ruri.port": "5061", "ruri.transport": "tls"})

valid(62, "cseq-max", req("OPTIONS", tag="cmx").replace(b"CSeq: 1 OPTIONS", b"CSeq: 2147483647 OPTIONS"),
      "The largest CSeq number (2**31-1)", cseq="2147483647 OPTIONS")

invalid(109, "fold-before-colon", req("OPTIONS", tag="fbc", extra=["Subject\r\n : lunch"]),
        "HCOLON = *( SP / HTAB ) ':' SWS: a line fold between a name and its colon is not allowed",
        "FEDGE_ESIP_HEADER")

invalid(110, "tab-in-request-line", req("OPTIONS", tag="tab").replace(b"OPTIONS sip:", b"OPTIONS\tsip:", 1),
        "Request-Line elements are separated by exactly one SP, not HTAB", "FEDGE_ESIP_START_LINE|FEDGE_ESIP_METHOD")

valid(63, "via-inside-folded-value", req("MESSAGE", tag="vif", body="hi",
                                         extra=["Subject: hi\r\n Via: SIP/2.0/UDP evil.example.com;branch=z9hG4bKevil",
                                                "Content-Type: text/plain"]),
      "A 'Via:' inside the continuation of another header is part of that value, not a Via",
      method="MESSAGE",
      **{"via.count": "1", "via0.host": "edge.atlanta.example.com",
         "hdr.Subject": "hi\r\n Via: SIP/2.0/UDP evil.example.com;branch=z9hG4bKevil", "hdr.count": "9"})

valid(64, "odd-but-legal-lws", msg(
    "INVITE sip:bob@biloxi.example.com SIP/2.0",
    ["Via: SIP/2.0/TLS edge.atlanta.example.com;branch=z9hG4bKol",
     "Max-Forwards:   70   ",
     "To: <sip:bob@biloxi.example.com>",
     "From: <sip:alice@atlanta.example.com>;tag=ol",
     "i : odd-lws@atlanta.example.com",
     "CSeq: 1\tINVITE",
     "Content-Type: application/sdp",
     "content-LENGTH :\r\n %d" % len(SDP)], SDP, clen=False),
    "Trailing LWS, HTAB between CSeq number and method, 'i :' and a folded mixed-case Content-Length "
    "(which the stream framer must also find)",
    **{"max_forwards": "70", "cseq": "1 INVITE", "call_id": "odd-lws@atlanta.example.com",
       "content_length": str(len(SDP)), "body.len": str(len(SDP))})

# URI corpus for fuzz_sip_uri: two URIs separated by a newline.
URIS = [
    b"sip:alice@atlanta.example.com\nSIP:alice@AtLanTa.Example.com",
    b"sip:carol@chicago.com;transport=tcp\nsip:carol@chicago.com",
    b"sip:%61lice@atlanta.com;transport=TCP\nsip:alice@AtLanTa.CoM;Transport=tcp",
    b"sip:bob@biloxi.com:5060\nsip:bob@biloxi.com",
    b"sips:bob@[2001:db8::10]:5061;maddr=192.0.2.1?Subject=x\nsips:bob@[2001:db8:0:0:0:0:0:10]:5061",
    b"tel:+1-201-555-0123;phone-context=example.com\ntel:+12015550123",
    b"sip:+1-212-555-1212:1234@gateway.com;user=phone\nsip:+1-212-555-1212:1234@gateway.com;user=phone;lr",
    b"sip:user;par=u%40example.net@example.com\nsip:user@example.com;par=u%40example.net",
    b"nobodyKnowsThisScheme:totallyopaquecontent\nsoap.beep://192.0.2.103:3002",
    b"sip:[::ffff:192.0.2.10]:5070;ttl=16;method=INVITE\nsip:[::ffff:192.0.2.10]:5070",
]


def esc(v):
    """Escape a value for a .expect line."""
    v = b(v)
    out = []
    for c in v:
        if c == 0x5C:
            out.append("\\\\")
        elif c == 0x0D:
            out.append("\\r")
        elif c == 0x0A:
            out.append("\\n")
        elif c == 0x09:
            out.append("\\t")
        elif c < 0x20 or c == 0x7F:
            out.append("\\x%02x" % c)
        else:
            out.append(chr(c) if c < 0x80 else "\\x%02x" % c)
    return "".join(out)


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def clean(d, suffixes):
    os.makedirs(d, exist_ok=True)
    for n in os.listdir(d):
        if n.endswith(suffixes):
            os.remove(os.path.join(d, n))


def main():
    vdir = os.path.join(HERE, "valid")
    idir = os.path.join(HERE, "invalid")
    clean(vdir, (".sip", ".expect"))
    clean(idir, (".sip", ".expect"))
    clean(CORPUS, ("",))
    clean(URI_CORPUS, ("",))
    seen = set()
    for kind, cases, d in (("valid", VALID, vdir), ("invalid", INVALID, idir)):
        for num, name, data, comment, extra in cases:
            base = "%03d-%s" % (num, name)
            if (kind, num) in seen:
                sys.exit("duplicate case number %s %d" % (kind, num))
            seen.add((kind, num))
            write(os.path.join(d, base + ".sip"), data)
            lines = ["# " + comment]
            if kind == "valid":
                lines.append("ok")
                for k, v in extra.items():
                    lines.append("%s=%s" % (k, esc(v)))
            else:
                lines.append("error=" + extra)
            write(os.path.join(d, base + ".expect"), ("\n".join(lines) + "\n").encode("utf-8"))
            if len(data) <= CORPUS_MAX:
                write(os.path.join(CORPUS, kind[0] + base), data)
    for i, u in enumerate(URIS):
        write(os.path.join(URI_CORPUS, "uri-%02d" % i), u)
    print("valid: %d, invalid: %d" % (len(VALID), len(INVALID)))


if __name__ == "__main__":
    main()
