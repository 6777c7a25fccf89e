"""media_call.py — one call across the edge with real media, played by an
internal phone (plain TCP to the edge's internal side) and a partner
(behind the stunnel that stands for the partner's edge), with RTP packets
sent through the relay's advertised ports and the relay asked over ng.

  media_call.py SCENARIO --int-port P --partner-port Q --dr-port D --ng-port N

SCENARIO: call (INVITE with SDP, 200 with SDP, ACK, RTP both ways, BYE),
early (183 and 200 with SDP, a re-INVITE to hold, BYE), busy (486), cancel
(180 then CANCEL), refused (no relay answers: 503 with a Warning), noav
(the caller's policy has A/V off: the INVITE gets 488 with diagnostic
19018 and never reaches the partner, a MESSAGE from the same user is
delivered; --from USER), ice (an ICE offer: the relay's candidates both
ways), full ([media] max_calls = 1: a second call
while one rings gets 503 naming max_calls, the first still completes),
orphan (the partner's connection closes and no peer comes back: after
[media] orphan_grace the relay has no session for the call; --metrics-port),
orphan-back (three calls on one partner connection that closes: the partner
comes back on a new connection (--partner-in-port, the stunnel client to
the edge) with an INFO in one call, RTP keeps flowing in another, the third
is left alone: the first two survive the grace, with RTP through the relay
and a BYE after, the third is deleted), bridge ([media] internal_transport
= rtp: a partner's SRTP offer reaches the inside as plain RTP without keys,
the answer goes back as SRTP with the relay's keys; plain RTP from the
inside reaches the partner as SRTP; --uas-port, --partner-in-port).
Prints what it saw; exits 0 when every expectation held."""
import json
import os
import random
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sip_helper import Stream, body_of, hget, parse_head, status_of  # noqa: E402

ARGS = {}
FAILS = []


def say(*a):
    print("#", *a, flush=True)


def expect(cond, what):
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        FAILS.append(what)
    return cond


def ng(cmd, **kw):
    """One ng command to the relay; the reply's raw bytes."""
    def enc(x):
        if isinstance(x, str):
            x = x.encode()
        if isinstance(x, bytes):
            return b"%d:%s" % (len(x), x)
        if isinstance(x, int):
            return b"i%de" % x
        if isinstance(x, list):
            return b"l" + b"".join(enc(i) for i in x) + b"e"
        if isinstance(x, dict):
            return b"d" + b"".join(enc(k) + enc(v) for k, v in x.items()) + b"e"
        raise TypeError(x)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    cookie = b"t%08x" % random.getrandbits(32)
    d = {"command": cmd}
    d.update(kw)
    s.sendto(cookie + b" " + enc(d), ("127.0.0.1", ARGS["ng"]))
    try:
        data, _ = s.recvfrom(65536)
    except OSError:
        return b""
    finally:
        s.close()
    return data


def relay_has(cid):
    r = ng("query", **{"call-id": cid})
    return b"6:result2:ok" in r


def relay_forgets(cid, secs=3.0):
    end = time.time() + secs
    while time.time() < end:
        if not relay_has(cid):
            return True
        time.sleep(0.05)
    return False


def sdp(port):
    b = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
         "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n" % port)
    return b.encode()


def media_of(body):
    t = body.decode("latin-1")
    c = re.search(r"^c=IN IP4 (\S+)", t, re.M)
    m = re.search(r"^m=audio (\d+)", t, re.M)
    return (c.group(1) if c else None, int(m.group(1)) if m else None)


def rtp_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(0.3)
    return s


def rtp(n, src, dst, to_sock):
    """Sends n RTP packets from src to dst; how many reach to_sock."""
    got = 0
    for i in range(n):
        pkt = bytes([0x80, 0, 0, i & 0xff, 0, 0, 0, i & 0xff, 1, 2, 3, 4]) + bytes([i & 0xff]) * 160
        src.sendto(pkt, dst)
        try:
            data = to_sock.recv(2048)
            got += len(data) == len(pkt)
        except OSError:
            pass
    return got


class Partner:
    """The partner's UA behind its edge (stunnel): accepts the edge's
    connections as they come."""

    def close_all(self):
        """Closes every connection the edge opened to it (stunnel then
        closes the TLS connection to the edge); keeps listening."""
        for st in self.conns:
            st.sock.close()
        self.conns = []

    def __init__(self, port):
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", port))
        self.ls.listen(8)
        self.conns = []

    def read(self, timeout=5.0):
        end = time.time() + timeout
        while time.time() < end:
            for st in self.conns:
                msg, why = st.read(0.05)
                if why == "ok":
                    self.last = st
                    return msg
            self.ls.settimeout(0.05)
            try:
                c, _ = self.ls.accept()
                self.conns.append(Stream(c))
            except socket.timeout:
                pass
        return None

    def send(self, data):
        self.last.sock.sendall(data)


def reply(req, code, reason, tag, body=b"", contact=None):
    """A response to request bytes req: Via, Record-Route, From, To (tag),
    Call-ID, CSeq copied (RFC 3261 §8.2.6.2, §12.1.1)."""
    _, hdrs = parse_head(req)
    out = ["SIP/2.0 %d %s" % (code, reason)]
    for n, v in hdrs:
        ln = n.lower()
        if ln in ("via", "v", "record-route", "from", "f", "call-id", "i", "cseq"):
            out.append("%s: %s" % (n, v))
        elif ln in ("to", "t"):
            out.append("%s: %s%s" % (n, v, "" if ";tag=" in v else ";tag=" + tag))
    if contact:
        out.append("Contact: <%s>" % contact)
    if body:
        out.append("Content-Type: application/sdp")
    out.append("Content-Length: %d" % len(body))
    return ("\r\n".join(out) + "\r\n\r\n").encode() + body


class Phone:
    """The internal phone: a TCP connection to the edge's internal side."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.lport = self.sock.getsockname()[1]
        self.st = Stream(self.sock)
        self.cid = "mc-%08x@contoso.test" % random.getrandbits(32)
        self.tag = "c%06x" % random.getrandbits(24)
        self.branch = "z9hG4bK-%08x" % random.getrandbits(32)

    def request(self, method, cseq, body=b"", ruri="sip:dave@fabrikam.test", to="",
                route=(), branch=None):
        lines = ["%s %s SIP/2.0" % (method, ruri),
                 "Via: SIP/2.0/TCP 127.0.0.1:%d;branch=%s" % (self.lport, branch or self.branch),
                 "Max-Forwards: 70"]
        lines += ["Route: %s" % r for r in route]
        lines += ["From: <sip:%s@contoso.test>;tag=%s" % (ARGS.get("from", "carol"), self.tag),
                  "To: <sip:dave@fabrikam.test>%s" % to,
                  "Call-ID: %s" % self.cid, "CSeq: %d %s" % (cseq, method),
                  "Contact: <sip:carol@127.0.0.1:%d;transport=tcp>" % self.lport]
        if body:
            lines.append("Content-Type: %s" % ("text/plain" if method == "MESSAGE"
                                                else "application/sdp"))
        lines.append("Content-Length: %d" % len(body))
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    def final(self, timeout=6.0):
        """Responses until a final one (or one with SDP while waiting for
        provisionals): the list read."""
        got = []
        end = time.time() + timeout
        while time.time() < end:
            msg, why = self.st.read(max(0.05, end - time.time()))
            if why != "ok":
                break
            got.append(msg)
            code, _ = status_of(msg)
            if code and code >= 200:
                break
        return got


def invite(phone, partner, pa):
    phone.request("INVITE", 1, sdp(pa.getsockname()[1]))
    inv = partner.read()
    expect(inv is not None and inv.startswith(b"INVITE "), "the partner receives the INVITE")
    return inv


def scenario_call():
    phone, partner = Phone(ARGS["int"]), Partner(ARGS["partner"])
    pa, pb = rtp_socket(), rtp_socket()
    inv = invite(phone, partner, pa)
    if inv is None:
        return
    ext = media_of(body_of(inv))
    say("partner is told", ext)
    expect(ext[0] == "127.0.0.3", "the partner's SDP names the relay's external address")
    expect(b"127.0.0.1" not in body_of(inv), "no address of the inside in the partner's SDP")
    expect(b"a=candidate" not in body_of(inv), "a plain offer gets no ICE candidates")
    partner.send(reply(inv, 180, "Ringing", "p1"))
    ok = reply(inv, 200, "OK", "p1", sdp(pb.getsockname()[1]),
               "sip:dave@127.0.0.1:%d;transport=tls" % ARGS["dr"])
    partner.send(ok)
    rs = phone.final()
    final = rs[-1] if rs else b""
    code, _ = status_of(final)
    expect(code == 200, "the inside gets the 200 (got %s)" % code)
    if code != 200:
        return
    inside = media_of(body_of(final))
    say("inside is told", inside)
    expect(inside[0] == "127.0.0.2", "the inside's SDP names the relay's internal address")
    _, hdrs = parse_head(final)
    rr = []
    for v in hget(hdrs, "record-route"):
        rr += [x.strip() for x in v.split(",")]
    route = list(reversed(rr))
    target = re.search(r"<([^>]+)>", hget(hdrs, "contact")[0]).group(1)
    totag = ";tag=p1"
    phone.request("ACK", 1, ruri=target, to=totag, route=route,
                  branch="z9hG4bK-ack-%08x" % random.getrandbits(32))
    ack = partner.read()
    expect(ack is not None and ack.startswith(b"ACK "), "the partner receives the ACK")
    expect(relay_has(phone.cid), "the relay holds the call (ng query)")
    a2b = rtp(20, pa, inside, pb)
    b2a = rtp(20, pb, ext, pa)
    say("RTP inside->partner %d/20, partner->inside %d/20" % (a2b, b2a))
    expect(a2b >= 18, "RTP from the inside reaches the partner through the relay (%d/20)" % a2b)
    expect(b2a >= 18, "RTP from the partner reaches the inside through the relay (%d/20)" % b2a)
    phone.request("BYE", 2, ruri=target, to=totag, route=route,
                  branch="z9hG4bK-bye-%08x" % random.getrandbits(32))
    bye = partner.read()
    expect(bye is not None and bye.startswith(b"BYE "), "the partner receives the BYE")
    if bye:
        partner.send(reply(bye, 200, "OK", "p1"))
    rs = phone.final()
    expect(rs and status_of(rs[-1])[0] == 200, "the BYE is answered 200")
    expect(relay_forgets(phone.cid), "after BYE the relay has no session for the call")


def scenario_busy():
    phone, partner = Phone(ARGS["int"]), Partner(ARGS["partner"])
    pa = rtp_socket()
    inv = invite(phone, partner, pa)
    if inv is None:
        return
    expect(relay_has(phone.cid), "the relay holds the offer")
    partner.send(reply(inv, 486, "Busy Here", "p2"))
    rs = phone.final()
    expect(rs and status_of(rs[-1])[0] == 486, "the inside gets the 486")
    phone.request("ACK", 1, to=";tag=p2")
    expect(relay_forgets(phone.cid), "after 486 the relay has no session for the call")


def scenario_cancel():
    phone, partner = Phone(ARGS["int"]), Partner(ARGS["partner"])
    pa = rtp_socket()
    inv = invite(phone, partner, pa)
    if inv is None:
        return
    partner.send(reply(inv, 180, "Ringing", "p3"))
    rs = phone.final(1.0)
    expect(any(status_of(m)[0] == 180 for m in rs), "the inside gets the 180")
    phone.request("CANCEL", 1)
    rs = phone.final()  # the 200 to the CANCEL
    expect(rs and status_of(rs[-1])[0] == 200, "the CANCEL is answered 200")
    can = partner.read()
    expect(can is not None and can.startswith(b"CANCEL "), "the partner receives the CANCEL")
    if can:
        partner.send(reply(can, 200, "OK", "p3"))
        partner.send(reply(inv, 487, "Request Terminated", "p3"))
    rs = phone.final()
    expect(any(status_of(m)[0] == 487 for m in rs), "the inside gets the 487")
    phone.request("ACK", 1, to=";tag=p3")
    expect(relay_forgets(phone.cid), "after CANCEL the relay has no session for the call")


def scenario_refused():
    phone = Phone(ARGS["int"])
    pa = rtp_socket()
    t0 = time.time()
    phone.request("INVITE", 1, sdp(pa.getsockname()[1]))
    rs = phone.final()
    took = time.time() - t0
    final = rs[-1] if rs else b""
    code, _ = status_of(final)
    expect(code == 503, "no relay: the INVITE gets 503 (got %s)" % code)
    _, hdrs = parse_head(final)
    w = " ".join(hget(hdrs, "warning"))
    say("Warning:", w, "after %.2f s" % took)
    expect("media relay failed" in w and "rtpengine 127.0.0.1:%d" % ARGS["ng"] in w,
           "the Warning names the relay")
    expect(took < ARGS["limit"], "within the ng timeout (%.2f s < %.2f s)" % (took, ARGS["limit"]))
    phone.request("ACK", 1, to=";tag=x")


def scenario_early():
    """183 with SDP then 200 with SDP (both rewritten, in order), then a
    re-INVITE from the inside (hold), then BYE."""
    phone, partner = Phone(ARGS["int"]), Partner(ARGS["partner"])
    pa, pb = rtp_socket(), rtp_socket()
    inv = invite(phone, partner, pa)
    if inv is None:
        return
    contact = "sip:dave@127.0.0.1:%d;transport=tls" % ARGS["dr"]
    partner.send(reply(inv, 183, "Session Progress", "p4", sdp(pb.getsockname()[1]), contact))
    partner.send(reply(inv, 200, "OK", "p4", sdp(pb.getsockname()[1]), contact))
    rs = phone.final()
    codes = [status_of(m)[0] for m in rs]
    say("inside got", codes)
    early = [m for m in rs if status_of(m)[0] == 183]
    expect(codes[-1:] == [200] and early and codes.index(183) < codes.index(200),
           "the inside gets the 183, then the 200")
    for m in early + rs[-1:]:
        expect(media_of(body_of(m))[0] == "127.0.0.2",
               "%d: SDP names the relay's internal address" % status_of(m)[0])
    final = rs[-1]
    _, hdrs = parse_head(final)
    rr = []
    for v in hget(hdrs, "record-route"):
        rr += [x.strip() for x in v.split(",")]
    route = list(reversed(rr))
    target = re.search(r"<([^>]+)>", hget(hdrs, "contact")[0]).group(1)
    phone.request("ACK", 1, ruri=target, to=";tag=p4", route=route,
                  branch="z9hG4bK-ack-%08x" % random.getrandbits(32))
    partner.read()
    hold = sdp(pa.getsockname()[1]).replace(b"a=rtpmap", b"a=sendonly\r\na=rtpmap")
    phone.request("INVITE", 2, hold, ruri=target, to=";tag=p4", route=route,
                  branch="z9hG4bK-re-%08x" % random.getrandbits(32))
    re_inv = partner.read()
    expect(re_inv is not None and re_inv.startswith(b"INVITE "), "the partner gets the re-INVITE")
    if re_inv is None:
        return
    expect(media_of(body_of(re_inv))[0] == "127.0.0.3",
           "re-INVITE: the partner's SDP names the relay's external address")
    partner.send(reply(re_inv, 200, "OK", "p4", sdp(pb.getsockname()[1]), contact))
    rs = phone.final()
    expect(rs and status_of(rs[-1])[0] == 200 and media_of(body_of(rs[-1]))[0] == "127.0.0.2",
           "re-INVITE: the inside's 200 names the relay's internal address")
    phone.request("ACK", 2, ruri=target, to=";tag=p4", route=route,
                  branch="z9hG4bK-ack2-%08x" % random.getrandbits(32))
    partner.read()
    phone.request("BYE", 3, ruri=target, to=";tag=p4", route=route,
                  branch="z9hG4bK-bye-%08x" % random.getrandbits(32))
    bye = partner.read()
    if bye:
        partner.send(reply(bye, 200, "OK", "p4"))
    phone.final()
    expect(relay_forgets(phone.cid), "after BYE the relay has no session for the call")


def scenario_noav():
    phone, partner = Phone(ARGS["int"]), Partner(ARGS["partner"])
    pa = rtp_socket()
    phone.request("INVITE", 1, sdp(pa.getsockname()[1]))
    rs = phone.final()
    final = rs[-1] if rs else b""
    code, _ = status_of(final)
    expect(code == 488, "A/V off: the INVITE gets 488 (got %s)" % code)
    _, hdrs = parse_head(final)
    w = " ".join(hget(hdrs, "warning"))
    diag = " ".join(hget(hdrs, "ms-diagnostics"))
    say("Warning:", w, "| ms-diagnostics:", diag)
    expect("19018" in w and "19018" in diag, "the Warning and ms-diagnostics name 19018")
    phone.request("ACK", 1, to=";tag=x")
    expect(partner.read(0.5) is None, "the partner never sees the INVITE")
    expect(not relay_has(phone.cid), "the relay holds no session for the refused call")
    im = Phone(ARGS["int"])
    im.request("MESSAGE", 1, b"hello across the edge")
    msg = partner.read()
    expect(msg is not None and msg.startswith(b"MESSAGE ") and body_of(msg) == b"hello across the edge",
           "the same user's MESSAGE reaches the partner")
    if msg is not None:
        partner.send(reply(msg, 200, "OK", "m1"))
    rs = im.final()
    expect(rs and status_of(rs[-1])[0] == 200, "the MESSAGE gets the partner's 200")


def status_counters():
    """The Status page's counters (GET /api/status as an administrator:
    --admin-port, --admin-user, --admin-pass), or {}."""
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", ARGS["admin_port"], timeout=5)
    c.request("POST", "/api/login", body=json.dumps({"name": ARGS["admin_user"],
                                                     "password": ARGS["admin_pass"]}),
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    cookie = (r.getheader("Set-Cookie") or "").split(";")[0]
    c.request("GET", "/api/status", headers={"Cookie": cookie})
    r = c.getresponse()
    body = r.read()
    c.close()
    if r.status != 200:
        return {}
    return json.loads(body).get("edge", {}).get("counters", {})


def status_shows(want, secs=3.0):
    """Polls the Status counters until every key of want has its value."""
    got = {}
    end = time.time() + secs
    while time.time() < end:
        got = status_counters()
        if all(got.get(k) == v for k, v in want.items()):
            return True, got
        time.sleep(0.1)
    return False, got


def scenario_ice():
    """The inside offers with ICE, the partner answers without: the
    partner's SDP carries the relay's candidates (external address) and
    none of the inside's; the inside's answer carries the relay's internal
    candidates (ICE=force towards a side that spoke ICE); the plain partner
    answer had none. Then BYE."""
    phone, partner = Phone(ARGS["int"]), Partner(ARGS["partner"])
    pa, pb = rtp_socket(), rtp_socket()
    port = pa.getsockname()[1]
    offer = sdp(port) + (b"a=ice-ufrag:Fe8q\r\na=ice-pwd:asd88fgpdd777uzjYhagZg0123\r\n"
                         b"a=candidate:1 1 UDP 2130706431 127.0.0.1 %d typ host\r\n" % port)
    phone.request("INVITE", 1, offer)
    inv = partner.read()
    expect(inv is not None and inv.startswith(b"INVITE "), "the partner receives the INVITE")
    if inv is None:
        return
    cands = re.findall(rb"a=candidate:[^\r\n]*", body_of(inv))
    say("partner is told", [c.decode() for c in cands])
    expect(cands and all(b" 127.0.0.3 " in c for c in cands),
           "ICE offer: the partner gets candidates, all of the relay's external address")
    expect(b"127.0.0.1" not in body_of(inv), "no candidate (nor address) of the inside")
    contact = "sip:dave@127.0.0.1:%d;transport=tls" % ARGS["dr"]
    partner.send(reply(inv, 200, "OK", "p9", sdp(pb.getsockname()[1]), contact))
    rs = phone.final()
    final = rs[-1] if rs else b""
    expect(status_of(final)[0] == 200, "the inside gets the 200")
    if status_of(final)[0] != 200:
        return
    cands = re.findall(rb"a=candidate:[^\r\n]*", body_of(final))
    say("inside is told", [c.decode() for c in cands])
    expect(cands and all(b" 127.0.0.2 " in c for c in cands),
           "the ICE offerer gets the relay's internal candidates in the answer")
    _, hdrs = parse_head(final)
    rr = []
    for v in hget(hdrs, "record-route"):
        rr += [x.strip() for x in v.split(",")]
    route = list(reversed(rr))
    target = re.search(r"<([^>]+)>", hget(hdrs, "contact")[0]).group(1)
    phone.request("ACK", 1, ruri=target, to=";tag=p9", route=route,
                  branch="z9hG4bK-ack-%08x" % random.getrandbits(32))
    partner.read()
    phone.request("BYE", 2, ruri=target, to=";tag=p9", route=route,
                  branch="z9hG4bK-bye-%08x" % random.getrandbits(32))
    bye = partner.read()
    if bye:
        partner.send(reply(bye, 200, "OK", "p9"))
    phone.final()
    expect(relay_forgets(phone.cid), "after BYE the relay has no session for the call")


def scenario_full():
    first, partner = Phone(ARGS["int"]), Partner(ARGS["partner"])
    pa, pb = rtp_socket(), rtp_socket()
    inv = invite(first, partner, pa)
    if inv is None:
        return
    partner.send(reply(inv, 180, "Ringing", "f1"))
    if ARGS.get("admin_port"):
        ok, got = status_shows({"fedge_media_calls": 1, "fedge_media_relays": 1, "fedge_media_relays_up": 1})
        say("Status counters:", {k: v for k, v in got.items() if k.startswith("fedge_media")})
        expect(ok, "the Status page shows 1 media call and 1 relay up")
    second = Phone(ARGS["int"])
    second.request("INVITE", 1, sdp(pb.getsockname()[1]))
    rs = second.final()
    final = rs[-1] if rs else b""
    code, _ = status_of(final)
    expect(code == 503, "a second call beyond max_calls gets 503 (got %s)" % code)
    _, hdrs = parse_head(final)
    w = " ".join(hget(hdrs, "warning"))
    say("Warning:", w)
    expect("max_calls" in w, "the Warning names [media] max_calls")
    second.request("ACK", 1, to=";tag=x")
    expect(not relay_has(second.cid), "the relay was not asked for the refused call")
    partner.send(reply(inv, 486, "Busy Here", "f1"))
    rs = first.final()
    expect(rs and status_of(rs[-1])[0] == 486, "the first call still gets its final answer")
    first.request("ACK", 1, to=";tag=f1")
    expect(relay_forgets(first.cid), "after 486 the relay has no session for the first call")
    if ARGS.get("admin_port"):
        ok, got = status_shows({"fedge_media_calls": 0})
        expect(ok, "then the Status page shows 0 media calls")
    third = Phone(ARGS["int"])
    third.request("INVITE", 1, sdp(pb.getsockname()[1]))
    inv3 = partner.read()
    while inv3 is not None and inv3.startswith(b"ACK "):  # the edge's ACK of the 486
        inv3 = partner.read()
    expect(inv3 is not None and inv3.startswith(b"INVITE "),
           "with the first call over, a new call goes through")
    if inv3 is not None:
        partner.send(reply(inv3, 486, "Busy Here", "f3"))
        third.final()
        third.request("ACK", 1, to=";tag=f3")


def metrics():
    """The edge's /metrics ([metrics] listen on --metrics-port) as
    {"name{labels}": value}."""
    import urllib.request
    out = {}
    try:
        text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % ARGS["metrics_port"],
                                      timeout=5).read().decode()
    except OSError:
        return out
    for ln in text.splitlines():
        if ln and not ln.startswith("#"):
            k, _, v = ln.rpartition(" ")
            out[k] = float(v)
    return out


def wait_for(cond, secs, tick=None):
    """Polls cond() until true or secs pass; tick() runs between polls."""
    end = time.time() + secs
    while time.time() < end:
        if cond():
            return True
        if tick:
            tick()
        else:
            time.sleep(0.05)
    return cond()


def establish(phone, partner, pa, pb, tag):
    """INVITE from phone (SDP naming pa), 200 from the partner (SDP naming
    pb), ACK: (the INVITE as the partner got it, the partner's view of the
    relay, the inside's view, the phone's route set and target), or None."""
    inv = invite(phone, partner, pa)
    if inv is None:
        return None
    ext = media_of(body_of(inv))
    partner.send(reply(inv, 200, "OK", tag, sdp(pb.getsockname()[1]),
                       "sip:dave@127.0.0.1:%d;transport=tls" % ARGS["dr"]))
    rs = phone.final()
    final = rs[-1] if rs else b""
    if not expect(status_of(final)[0] == 200, "%s: the inside gets the 200" % phone.cid):
        return None
    inside = media_of(body_of(final))
    _, hdrs = parse_head(final)
    rr = []
    for v in hget(hdrs, "record-route"):
        rr += [x.strip() for x in v.split(",")]
    route = list(reversed(rr))
    target = re.search(r"<([^>]+)>", hget(hdrs, "contact")[0]).group(1)
    phone.request("ACK", 1, ruri=target, to=";tag=" + tag, route=route,
                  branch="z9hG4bK-ack-%08x" % random.getrandbits(32))
    ack = partner.read()
    expect(ack is not None and ack.startswith(b"ACK "), "%s: the partner gets the ACK" % phone.cid)
    return inv, ext, inside, route, target


def bye(phone, partner, route, target, tag, cseq=2):
    phone.request("BYE", cseq, ruri=target, to=";tag=" + tag, route=route,
                  branch="z9hG4bK-bye-%08x" % random.getrandbits(32))
    m = partner.read()
    while m is not None and not m.startswith(b"BYE "):
        m = partner.read()
    if m is not None:
        partner.send(reply(m, 200, "OK", tag))
    rs = phone.final()
    return bool(rs) and status_of(rs[-1])[0] == 200


def orphans(outcome):
    return metrics().get('fedge_media_orphans_total{outcome="%s"}' % outcome, 0)


def scenario_orphan():
    """The partner's connection closes and nobody comes back: once the
    grace has passed (and no packet reached the relay meanwhile) the relay
    has no session for the call."""
    phone, partner = Phone(ARGS["int"]), Partner(ARGS["partner"])
    pa, pb = rtp_socket(), rtp_socket()
    up = establish(phone, partner, pa, pb, "o1")
    if up is None:
        return
    _, ext, inside, _, _ = up
    a2b, b2a = rtp(10, pa, inside, pb), rtp(10, pb, ext, pa)
    expect(a2b >= 9 and b2a >= 9, "RTP flows both ways before (%d, %d of 10)" % (a2b, b2a))
    expect(relay_has(phone.cid), "the relay holds the call")
    deleted = orphans("deleted")
    t0 = time.time()
    partner.close_all()
    expect(wait_for(lambda: metrics().get("fedge_media_calls_orphaned") == 1, 5),
           "the edge marks the call orphaned when the partner's connection closes")
    expect(relay_has(phone.cid), "within the grace the relay still holds the call")
    gone = relay_forgets(phone.cid, ARGS["grace"] + 10)
    took = time.time() - t0
    say("the relay forgot the call %.1f s after the close (grace %.1f s)" % (took, ARGS["grace"]))
    expect(gone, "after the grace the relay has no session for the call (ng query)")
    expect(took >= ARGS["grace"], "not before the grace (%.1f s >= %.1f s)" % (took, ARGS["grace"]))
    want = {'fedge_media_orphans_total{outcome="deleted"}': deleted + 1,
            "fedge_media_calls_orphaned": 0, "fedge_media_calls": 0}
    # metrics are copied on the edge's tick: wait for it
    ok = wait_for(lambda: all(metrics().get(k) == v for k, v in want.items()), 3)
    say("metrics:", {k: metrics().get(k) for k in want})
    expect(ok, "metrics: one orphan deleted, none left, no call relayed")


def scenario_orphan_back():
    """Three calls over one partner connection, which closes. B: the
    partner comes back on a new connection with an INFO in the call. C:
    nobody comes back, but RTP keeps flowing. D: nothing at all. After the
    grace D is deleted; B and C are kept, carry RTP and end with a BYE."""
    partner = Partner(ARGS["partner"])
    calls = {}
    for name in ("B", "C", "D"):
        ph = Phone(ARGS["int"])
        pa, pb = rtp_socket(), rtp_socket()
        up = establish(ph, partner, pa, pb, "t" + name)
        if up is None:
            return
        calls[name] = (ph, pa, pb) + up
    start = {k: orphans(k) for k in ("rescued", "deleted", "kept")}
    partner.close_all()
    expect(wait_for(lambda: metrics().get("fedge_media_calls_orphaned") == 3, 5),
           "the three calls are orphaned when the partner's connection closes")
    # B: the partner's edge connects to the edge again and sends an INFO
    # in the dialog (route set: the Record-Route of the INVITE it got).
    ph, pa, pb, inv, ext, inside, route, target = calls["B"]
    _, ihdrs = parse_head(inv)
    rr = []
    for v in hget(ihdrs, "record-route"):
        rr += [x.strip() for x in v.split(",")]
    contact = re.search(r"<([^>]+)>", hget(ihdrs, "contact")[0]).group(1)
    back = socket.create_connection(("127.0.0.1", ARGS["partner_in"]))
    lines = ["INFO %s SIP/2.0" % contact,
             "Via: SIP/2.0/TLS 127.0.0.1:%d;branch=z9hG4bK-info-%08x" % (ARGS["dr"], random.getrandbits(32)),
             "Max-Forwards: 70"] + ["Route: %s" % r for r in rr] + [
             "From: <sip:dave@fabrikam.test>;tag=tB",
             "To: <sip:carol@contoso.test>;tag=%s" % ph.tag,
             "Call-ID: %s" % ph.cid, "CSeq: 1 INFO", "Content-Length: 0"]
    back.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    info, why = ph.st.read(5)
    expect(why == "ok" and info.startswith(b"INFO "), "B: the phone gets the partner's INFO over the new connection")
    if why == "ok":
        ph.sock.sendall(reply(info, 200, "OK", ph.tag))
    bst = Stream(back)
    r, why = bst.read(5)
    expect(why == "ok" and status_of(r)[0] == 200, "B: the partner gets the 200 to its INFO")
    expect(wait_for(lambda: orphans("rescued") == start["rescued"] + 1, 5),
           "B: rescued (metrics: fedge_media_orphans_total{outcome=\"rescued\"})")
    # C: RTP keeps flowing while D's grace runs out.
    _, cpa, cpb, _, cext, cinside, _, _ = calls["C"]
    sent = [0]

    def c_rtp():  # about 50 packets/s each way, as a voice call
        sent[0] += rtp(1, cpa, cinside, cpb) + rtp(1, cpb, cext, cpa)
        time.sleep(0.02)
    t0 = time.time()
    done = wait_for(lambda: orphans("deleted") == start["deleted"] + 1, ARGS["grace"] + 10, c_rtp)
    say("D deleted %.1f s after B's rescue; C's RTP packets through the relay meanwhile: %d"
        % (time.time() - t0, sent[0]))
    expect(done, "D (nobody came back, no media): deleted after the grace")
    expect(not relay_has(calls["D"][0].cid), "D: the relay has no session for it")
    expect(wait_for(lambda: orphans("kept") == start["kept"] + 1, 5, c_rtp),
           "C (media flowing): kept (metrics: outcome=\"kept\")")
    expect(metrics().get("fedge_media_calls_orphaned") == 0, "no orphan left")
    for name in ("B", "C"):
        ph, pa, pb, inv, ext, inside, route, target = calls[name]
        expect(relay_has(ph.cid), "%s: the relay still holds the call after the grace" % name)
        a2b, b2a = rtp(10, pa, inside, pb), rtp(10, pb, ext, pa)
        expect(a2b >= 9 and b2a >= 9, "%s: RTP still flows both ways (%d, %d of 10)" % (name, a2b, b2a))
        expect(bye(ph, partner, route, target, "t" + name, 3 if name == "B" else 2),
               "%s: the BYE reaches the partner (on a new connection) and is answered 200" % name)
        expect(relay_forgets(ph.cid), "%s: after BYE the relay has no session for the call" % name)


def crypto_of(body):
    return re.findall(r"^a=crypto:\S+ (\S+) inline:(\S+)", body.decode("latin-1"), re.M)


def proto_of(body):
    m = re.search(r"^m=audio \d+ (\S+)", body.decode("latin-1"), re.M)
    return m.group(1) if m else None


def scenario_bridge():
    """[media] internal_transport = rtp: a partner's RTP/SAVP offer with
    SDES keys reaches the inside as RTP/AVP without a=crypto; the inside's
    plain answer goes back to the partner as RTP/SAVP with the relay's
    key; plain RTP from the inside comes out towards the partner as SRTP
    (checked by --srtp-tool, libsrtp: it decrypts with the relay's key)."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", ARGS["uas"]))
    ls.listen(4)
    pa, pb = rtp_socket(), rtp_socket()  # pa: partner's media, pb: the inside's
    key = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"
    offer = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
             "m=audio %d RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
             "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:%s\r\n" % (pa.getsockname()[1], key)).encode()
    cid = "br-%08x@fabrikam.test" % random.getrandbits(32)
    out = socket.create_connection(("127.0.0.1", ARGS["partner_in"]))
    ost = Stream(out)
    lines = ["INVITE sip:carol@contoso.test SIP/2.0",
             "Via: SIP/2.0/TLS 127.0.0.1:%d;branch=z9hG4bK-br-%08x" % (ARGS["dr"], random.getrandbits(32)),
             "Max-Forwards: 70", "From: <sip:dave@fabrikam.test>;tag=pbr",
             "To: <sip:carol@contoso.test>", "Call-ID: %s" % cid, "CSeq: 1 INVITE",
             "Contact: <sip:dave@127.0.0.1:%d;transport=tls>" % ARGS["dr"],
             "Content-Type: application/sdp", "Content-Length: %d" % len(offer)]
    out.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + offer)
    ls.settimeout(5)
    try:
        c, _ = ls.accept()
    except socket.timeout:
        expect(False, "the INVITE reaches the inside")
        return
    ist = Stream(c)
    inv, why = ist.read(5)
    expect(why == "ok" and inv.startswith(b"INVITE "), "the inside gets the partner's INVITE")
    if why != "ok":
        return
    ib = body_of(inv)
    say("inside is offered:", proto_of(ib), media_of(ib), crypto_of(ib))
    expect(proto_of(ib) == "RTP/AVP", "the inside is offered plain RTP/AVP (partner offered RTP/SAVP)")
    expect(b"a=crypto" not in ib, "no a=crypto towards the inside")
    expect(media_of(ib)[0] == "127.0.0.2", "the inside's SDP names the relay's internal address")
    answer = sdp(pb.getsockname()[1])
    c.sendall(reply(inv, 200, "OK", "ibr", answer, "sip:carol@127.0.0.1:%d;transport=tcp" % ARGS["uas"]))
    got = None
    end = time.time() + 6
    while time.time() < end:
        r, why = ost.read(max(0.05, end - time.time()))
        if why != "ok":
            break
        if status_of(r)[0] and status_of(r)[0] >= 200:
            got = r
            break
    expect(got is not None and status_of(got)[0] == 200, "the partner gets the 200")
    if got is None:
        return
    ob = body_of(got)
    cr = crypto_of(ob)
    say("partner is answered:", proto_of(ob), media_of(ob), cr)
    expect(proto_of(ob) == "RTP/SAVP", "the partner's answer is RTP/SAVP")
    expect(len(cr) == 1 and cr[0][0] == "AES_CM_128_HMAC_SHA1_80" and cr[0][1] != key,
           "one a=crypto, the offered suite, with the relay's own key")
    expect(media_of(ob)[0] == "127.0.0.3", "the partner's SDP names the relay's external address")
    ext, inside = media_of(ob), media_of(ib)
    # Plain RTP from the inside to the relay's internal port; the partner
    # must receive SRTP: RTP header kept, payload encrypted, 10-byte tag.
    got_pkts = []
    pa.settimeout(0.3)
    for i in range(20):
        pkt = bytes([0x80, 0, 0, i, 0, 0, 0, i, 1, 2, 3, 4]) + bytes([0x55]) * 160
        pb.sendto(pkt, inside)
        try:
            got_pkts.append(pa.recv(2048))
        except OSError:
            pass
    say("partner got %d packets, sizes %s" % (len(got_pkts), sorted({len(p) for p in got_pkts})))
    expect(len(got_pkts) >= 18, "plain RTP from the inside reaches the partner through the relay (%d/20)" % len(got_pkts))
    expect(got_pkts and all(len(p) == 172 + 10 and p[12:172] != bytes([0x55]) * 160 for p in got_pkts),
           "towards the partner it is SRTP: payload encrypted, 80-bit auth tag")
    if ARGS.get("srtp_tool") and got_pkts:
        import subprocess
        ok = subprocess.run([ARGS["srtp_tool"], "unprotect", cr[0][1]] + [p.hex() for p in got_pkts[:5]],
                            capture_output=True, text=True)
        plain = ok.stdout.split()
        say("libsrtp unprotected %d packets%s" % (len(plain), (": " + ok.stderr.strip()) if ok.stderr else ""))
        expect(ok.returncode == 0 and plain and all(x == ("55" * 160) for x in plain),
               "libsrtp decrypts the partner's packets with the relay's key: the inside's payload")
    # And the partner's SRTP, encrypted with its own key, reaches the
    # inside as plain RTP.
    if ARGS.get("srtp_tool"):
        import subprocess
        hexes = []
        for i in range(10):
            hexes.append((bytes([0x80, 0, 1, i, 0, 0, 1, i, 5, 6, 7, 8]) + bytes([0x33]) * 160).hex())
        ok = subprocess.run([ARGS["srtp_tool"], "protect", key] + hexes, capture_output=True, text=True)
        got_in = 0
        pb.settimeout(0.3)
        for h in ok.stdout.split():
            pa.sendto(bytes.fromhex(h), ext)
            try:
                d = pb.recv(2048)
                got_in += len(d) == 172 and d[12:] == bytes([0x33]) * 160
            except OSError:
                pass
        expect(ok.returncode == 0 and got_in >= 9,
               "the partner's SRTP (libsrtp, its offered key) reaches the inside as plain RTP (%d/10)" % got_in)
    lines = ["BYE sip:carol@127.0.0.1:%d;transport=tcp SIP/2.0" % ARGS["uas"],
             "Via: SIP/2.0/TLS 127.0.0.1:%d;branch=z9hG4bK-brb-%08x" % (ARGS["dr"], random.getrandbits(32)),
             "Max-Forwards: 70"]
    _, ghdrs = parse_head(got)
    rr = []
    for v in hget(ghdrs, "record-route"):
        rr += [x.strip() for x in v.split(",")]
    lines += ["Route: %s" % x for x in reversed(rr)]
    lines += ["From: <sip:dave@fabrikam.test>;tag=pbr", "To: <sip:carol@contoso.test>;tag=ibr",
              "Call-ID: %s" % cid, "CSeq: 2 BYE", "Content-Length: 0"]
    out.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    b, why = ist.read(5)
    if why == "ok":
        c.sendall(reply(b, 200, "OK", "ibr"))
    expect(why == "ok" and b.startswith(b"BYE "), "the BYE reaches the inside")
    expect(relay_forgets(cid), "after BYE the relay has no session for the call")


def main():
    a = sys.argv[1:]
    scen = a[0]
    opts = dict(zip(a[1::2], a[2::2]))
    ARGS.update(int=int(opts["--int-port"]), partner=int(opts.get("--partner-port", 0)),
                dr=int(opts.get("--dr-port", 0)), ng=int(opts["--ng-port"]),
                limit=float(opts.get("--limit", 2)), **{"from": opts.get("--from", "carol")},
                admin_port=int(opts.get("--admin-port", 0)),
                admin_user=opts.get("--admin-user", ""), admin_pass=opts.get("--admin-pass", ""),
                metrics_port=int(opts.get("--metrics-port", 0)), grace=float(opts.get("--grace", 2)),
                partner_in=int(opts.get("--partner-in-port", 0)), uas=int(opts.get("--uas-port", 0)),
                srtp_tool=opts.get("--srtp-tool"))
    {"call": scenario_call, "busy": scenario_busy, "cancel": scenario_cancel,
     "early": scenario_early, "refused": scenario_refused, "noav": scenario_noav, "ice": scenario_ice,
     "full": scenario_full, "orphan": scenario_orphan, "orphan-back": scenario_orphan_back,
     "bridge": scenario_bridge}[scen]()
    print(json.dumps({"scenario": scen, "failed": FAILS}))
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
