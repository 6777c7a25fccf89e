"""fork_call.py — a partner's user (dave@fabrikam.test) calls a user of
the organization whose registrar forks the call to an internal device and
to a remote client (tests/e2e/164-remote-fork.sh), and checks that the
call's media flows through the relay whichever answers.

  fork_call.py --ib PORT --ng PORT --cid CALL-ID --answerer device|client
               --contact TEXT (what the answerer's Contact names)
               [--device-rtp PORT --device-media FILE]

dave's phone is a TCP connection to the partner edge's internal side
(--ib); its INVITE (SDP naming its own RTP socket) crosses the partner
edge, then this edge (external -> internal), the registrar, which forks
it. Checked: the 200 comes from the expected answerer (its Contact), its
SDP names the relay's external address; RTP flows both ways: for the
device, played here on --device-rtp (the port its SDP names), each side
sends to the address its SDP was given (the device's: written by its
SIPp scenario to --device-media) and receives the other's; for the
client (baresip's echo module) dave's RTP comes back, so it went
partner -> relay -> client -> relay -> partner; the relay holds the
call and, when the client answered, one fork of it (ng list: Call-ID
";fork=" the registrar's branch); after dave's BYE the relay holds
neither. Prints what it saw; exits 0 when every expectation held."""
import argparse
import random
import re
import socket
import sys
import time

sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__)))
from sip_helper import Stream, body_of, hget, parse_head, status_of  # noqa: E402

FAILS = []
A = None


def say(*a):
    print("#", *a, flush=True)


def expect(cond, what):
    print(("ok: " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        FAILS.append(what)
    return cond


def ben(x):
    if isinstance(x, str):
        x = x.encode()
    if isinstance(x, bytes):
        return b"%d:%s" % (len(x), x)
    if isinstance(x, dict):
        return b"d" + b"".join(ben(k) + ben(v) for k, v in x.items()) + b"e"
    raise TypeError(x)


def relay_calls():
    """The Call-IDs the relay holds (ng list), or None when it does not
    answer."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    cookie = b"f%08x" % random.getrandbits(32)
    s.sendto(cookie + b" " + ben({"command": "list", "limit": "1000"}), ("127.0.0.1", A.ng))
    try:
        data, _ = s.recvfrom(65536)
    except OSError:
        return None
    finally:
        s.close()
    # the reply's "calls" list of strings: d5:callsl<len>:<id>...e6:result2:oke
    i = data.find(b"5:callsl")
    if i < 0:
        return []
    i += len(b"5:callsl")
    out = []
    while data[i:i + 1] != b"e":
        n, _, rest = data[i:].partition(b":")
        out.append(rest[:int(n)].decode("latin-1"))
        i += len(n) + 1 + int(n)
    return out


def ours(calls):
    return sorted(c for c in (calls or []) if c == A.cid or c.startswith(A.cid + ";"))


def wait_ours(want, secs=5.0):
    end = time.time() + secs
    got = None
    while time.time() < end:
        got = ours(relay_calls())
        if want(got):
            return got
        time.sleep(0.1)
    return got


class Phone:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.lport = self.sock.getsockname()[1]
        self.st = Stream(self.sock)
        self.tag = "d%06x" % random.getrandbits(24)

    def request(self, method, cseq, body=b"", ruri="sip:alice@contoso.test", to="", route=()):
        lines = ["%s %s SIP/2.0" % (method, ruri),
                 "Via: SIP/2.0/TCP 127.0.0.1:%d;branch=z9hG4bK-%08x" % (
                     self.lport, random.getrandbits(32)),
                 "Max-Forwards: 70"]
        lines += ["Route: %s" % r for r in route]
        lines += ["From: <sip:dave@fabrikam.test>;tag=%s" % self.tag,
                  "To: <sip:alice@contoso.test>%s" % to,
                  "Call-ID: %s" % A.cid, "CSeq: %d %s" % (cseq, method),
                  "Contact: <sip:dave@127.0.0.1:%d;transport=tcp>" % self.lport]
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append("Content-Length: %d" % len(body))
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    def final(self, timeout):
        got = []
        end = time.time() + timeout
        while time.time() < end:
            msg, why = self.st.read(max(0.05, end - time.time()))
            if why != "ok":
                break
            if msg.startswith(b"SIP/2.0 "):
                got.append(msg)
                code, _ = status_of(msg)
                if code and code >= 200:
                    break
        return got


def sdp(port):
    return ("v=0\r\no=dave 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n" % port).encode()


def media_of(body):
    t = body.decode("latin-1")
    c = re.search(r"^c=IN IP4 (\S+)", t, re.M)
    m = re.search(r"^m=audio (\d+)", t, re.M)
    return (c.group(1) if c else None, int(m.group(1)) if m else None)


# a PCMU payload no phone sends by itself (a ramp of mu-law codes, which
# decode and encode back to themselves), and a run of it that any echo of
# it carries, however the echo cuts its frames
PAYLOAD = bytes(0x10 + j % 0x60 for j in range(160))
MARK = bytes(range(0x20, 0x30))


def rtp_round_trip(sock, dst, n=150):
    """Sends n PCMU packets (20 ms apart) to dst; returns how many packets
    came back, how many of those carry dave's own audio (an echo), and the
    addresses they came from."""
    sock.settimeout(0.001)
    got = echoed = 0
    src = set()

    def take():
        nonlocal got, echoed
        data, frm = sock.recvfrom(2048)
        got += 1
        echoed += MARK in data[12:]
        src.add(frm)
    for i in range(n):
        pkt = bytes([0x80, 0, (i >> 8) & 0xff, i & 0xff, 0, 0, (i >> 8) & 0xff, i & 0xff,
                     0x12, 0x34, 0x56, 0x78]) + PAYLOAD
        sock.sendto(pkt, dst)
        end = time.time() + 0.02
        while time.time() < end:
            try:
                take()
            except OSError:
                time.sleep(0.002)
    end = time.time() + 1.0
    while time.time() < end:
        try:
            take()
        except OSError:
            time.sleep(0.01)
    return got, echoed, src


def two_way(a, a_dst, b, b_dst, n=100):
    """a sends to a_dst and b to b_dst, n packets each, 20 ms apart;
    returns how many of a's reached b and of b's reached a, and the
    addresses a's and b's packets came from."""
    got = {a: 0, b: 0}
    src = {a: set(), b: set()}
    for s in (a, b):
        s.settimeout(0.001)
    for i in range(n):
        for s, dst in ((a, a_dst), (b, b_dst)):
            s.sendto(bytes([0x80, 0, 0, i & 0xff, 0, 0, 0, i & 0xff, 1, 2, 3, 4]) + PAYLOAD, dst)
        end = time.time() + (0.02 if i < n - 1 else 1.0)
        while time.time() < end:
            idle = True
            for s in (a, b):
                try:
                    _, frm = s.recvfrom(2048)
                    got[s] += 1
                    src[s].add(frm)
                    idle = False
                except OSError:
                    pass
            if idle:
                time.sleep(0.002)
    return got[b], got[a], src[b], src[a]


def main():
    global A
    ap = argparse.ArgumentParser()
    ap.add_argument("--ib", type=int, required=True)
    ap.add_argument("--ng", type=int, required=True)
    ap.add_argument("--cid", required=True)
    ap.add_argument("--answerer", choices=("device", "client"), required=True)
    ap.add_argument("--contact", required=True, help="what the answerer's Contact names")
    ap.add_argument("--device-rtp", type=int, default=0)
    ap.add_argument("--device-media", default="")
    A = ap.parse_args()
    rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rtp.bind(("127.0.0.1", 0))
    phone = Phone(A.ib)
    phone.request("INVITE", 1, sdp(rtp.getsockname()[1]))
    rs = phone.final(25)
    final = rs[-1] if rs else b""
    code, _ = status_of(final) if final else (None, None)
    expect(code == 200, "dave's INVITE is answered 200 (got %s)" % code)
    if code != 200:
        return
    _, hdrs = parse_head(final)
    contact = hget(hdrs, "contact")[0]
    say("answered by", contact)
    expect(A.contact in contact, "the %s answered (Contact %s)" % (A.answerer, contact))
    ext = media_of(body_of(final))
    say("dave is told", ext)
    expect(ext[0] == "127.0.0.3", "dave's SDP names the relay's external address")
    rr = []
    for v in hget(hdrs, "record-route"):
        rr += [x.strip() for x in v.split(",")]
    route = list(reversed(rr))
    target = re.search(r"<([^>]+)>", contact).group(1)
    totag = re.search(r";tag=([^;>\s]+)", hget(hdrs, "to")[0]).group(1)
    phone.request("ACK", 1, ruri=target, to=";tag=" + totag, route=route)
    held = wait_ours(lambda c: (len(c) == 2) == (A.answerer == "client") and A.cid in c)
    say("the relay holds", held)
    expect(held is not None and A.cid in held, "the relay holds the partner's call")
    forks = [c for c in (held or []) if c.startswith(A.cid + ";fork=")]
    if A.answerer == "client":
        expect(len(forks) == 1, "... and one fork of it, the client's crossing (%s)" % forks)
    else:
        expect(not forks, "... and no fork (the client's was cancelled and deleted)")
    if A.answerer == "device":
        dev = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        dev.bind(("127.0.0.1", A.device_rtp))
        end = time.time() + 5
        media = []
        while time.time() < end and len(media) != 2:
            try:
                media = open(A.device_media).read().split()
            except OSError:
                pass
            time.sleep(0.05)
        expect(len(media) == 2, "the device wrote the media address it was given (%s)" % media)
        if len(media) != 2:
            return
        ip, port = media
        say("the device was told", (ip, port))
        expect(ip == "127.0.0.2", "the device's SDP names the relay's internal address")
        to_dev, to_dave, dev_from, dave_from = two_way(rtp, ext, dev, (ip, int(port)))
        say("RTP: dave -> device %d/100 from %s, device -> dave %d/100 from %s"
            % (to_dev, sorted(dev_from), to_dave, sorted(dave_from)))
        expect(to_dev >= 90, "RTP from dave reaches the device through the relay (%d/100)" % to_dev)
        expect(to_dave >= 90, "RTP the device sends where its SDP says reaches dave through the "
               "relay (%d/100)" % to_dave)
        # symmetric RTP (RFC 4961): each party hears the relay from the
        # address it sends to — the device from the relay's internal
        # side, never its external one (which need not reach inside)
        expect(dev_from == {(ip, int(port))}, "the device's media comes from the relay address "
               "its SDP names (%s)" % sorted(dev_from))
        expect(dave_from == {ext}, "dave's media comes from the relay address his SDP names (%s)"
               % sorted(dave_from))
    else:
        got, echoed, src = rtp_round_trip(rtp, ext)
        say("RTP: %d packets came back for 150 sent, %d with dave's audio, from %s"
            % (got, echoed, sorted(src)))
        expect(echoed >= 100, "RTP from dave reaches the client through the relay and its echo "
               "comes back (%d of 150 packets)" % echoed)
        expect(src == {ext}, "dave's media comes from the relay address his SDP names (%s)"
               % sorted(src))
    phone.request("BYE", 2, ruri=target, to=";tag=" + totag, route=route)
    rs = phone.final(10)
    expect(rs and status_of(rs[-1])[0] == 200, "dave's BYE is answered 200")
    left = wait_ours(lambda c: not c)
    expect(left == [], "after the BYE the relay holds neither the call nor a fork (%s)" % left)


if __name__ == "__main__":
    main()
    print("FAILED: %d" % len(FAILS) if FAILS else "all ok", flush=True)
    sys.exit(1 if FAILS else 0)
