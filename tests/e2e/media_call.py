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
while one rings gets 503 naming max_calls, the first still completes).
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


def main():
    a = sys.argv[1:]
    scen = a[0]
    opts = dict(zip(a[1::2], a[2::2]))
    ARGS.update(int=int(opts["--int-port"]), partner=int(opts.get("--partner-port", 0)),
                dr=int(opts.get("--dr-port", 0)), ng=int(opts["--ng-port"]),
                limit=float(opts.get("--limit", 2)), **{"from": opts.get("--from", "carol")},
                admin_port=int(opts.get("--admin-port", 0)),
                admin_user=opts.get("--admin-user", ""), admin_pass=opts.get("--admin-pass", ""))
    {"call": scenario_call, "busy": scenario_busy, "cancel": scenario_cancel,
     "early": scenario_early, "refused": scenario_refused, "noav": scenario_noav, "ice": scenario_ice,
     "full": scenario_full}[scen]()
    print(json.dumps({"scenario": scen, "failed": FAILS}))
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
