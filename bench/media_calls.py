"""media_calls.py — the signalling of bench/media.sh: N calls from an
internal phone (one TCP connection to the edge's internal side) to a
partner (behind the stunnel standing for the partner's edge), paced at
RATE calls/s, each an INVITE with SDP, a 200 with SDP and an ACK, all
held (no BYE).

  media_calls.py --int-port P --partner-port Q --dr-port D --calls N
                 --rate R --int-ports a,b,.. --ext-ports c,d,.. [--out FILE]
                 [--hold SECONDS --ready FILE]

Call k's SDP names 127.0.0.1 and port int-ports[k % n] (the phone's) or
ext-ports[k % n] (the partner's): the sockets bench/rtpload sends from and
receives on. With --out, one line per call set up: the relay's address and
port the inside must send to (from the 200's SDP), the partner's (from the
INVITE's SDP) and the socket index, for rtpload; the SDP each side gets
must then name the relay (127.0.0.2 inside, 127.0.0.3 outside), else the
call counts as failed. Without --out (the edge without [media]) only the
times are taken. Prints one "signalling:" line: calls set up, failed, and
the INVITE -> 200 times at the phone (p50 p90 p99 max, ms). With --hold
the phone's and the partner's connections then stay open for SECONDS (the
edge makes a call whose connection closed an orphan, deleted when its
grace passes without media: docs/media.md), and FILE is created once the
calls are written and the line printed. Exit status 0 when every call
was set up."""
import argparse
import os
import random
import re
import selectors
import socket
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/tests/e2e")
from sip_helper import body_of, frame, hget, parse_head, status_of  # noqa: E402

A = None


def sdp(port):
    return ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n" % port).encode()


def media_of(body):
    t = body.decode("latin-1")
    c = re.search(r"^c=IN IP4 (\S+)", t, re.M)
    m = re.search(r"^m=audio (\d+)", t, re.M)
    return (c.group(1) if c else None, int(m.group(1)) if m else None)


class Conn:
    def __init__(self, sock, role):
        self.sock, self.role, self.buf = sock, role, b""


def main():
    global A
    ap = argparse.ArgumentParser()
    for o in ("--int-port", "--partner-port", "--dr-port", "--calls"):
        ap.add_argument(o, type=int, required=True)
    ap.add_argument("--rate", type=float, default=50.0)
    ap.add_argument("--int-ports", required=True)
    ap.add_argument("--ext-ports", required=True)
    ap.add_argument("--out")
    ap.add_argument("--hold", type=float, default=0.0)
    ap.add_argument("--ready")
    A = ap.parse_args()
    iports = [int(x) for x in A.int_ports.split(",")]
    eports = [int(x) for x in A.ext_ports.split(",")]
    n = A.calls
    run = "%06x" % random.getrandbits(24)

    sel = selectors.DefaultSelector()
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", A.partner_port))
    ls.listen(16)
    sel.register(ls, selectors.EVENT_READ, None)
    phone = socket.create_connection(("127.0.0.1", A.int_port))
    phone.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    lport = phone.getsockname()[1]
    sel.register(phone, selectors.EVENT_READ, Conn(phone, "phone"))

    t_sent = {}   # k -> time the INVITE left
    ext = {}      # k -> relay address the partner was told
    inside = {}   # k -> relay address the inside was told
    took = {}     # k -> INVITE -> 200 seconds
    failed = {}   # k -> why

    def k_of(hdrs):
        cid = hget(hdrs, "call-id")
        m = re.match(r"mb-%s-(\d+)@" % run, cid[0] if cid else "")
        return int(m.group(1)) if m else None

    def invite(k):
        body = sdp(iports[k % len(iports)])
        msg = ("INVITE sip:dave@fabrikam.test SIP/2.0\r\n"
               "Via: SIP/2.0/TCP 127.0.0.1:%d;branch=z9hG4bK-%s-%d\r\n"
               "Max-Forwards: 70\r\nFrom: <sip:carol@contoso.test>;tag=c%d\r\n"
               "To: <sip:dave@fabrikam.test>\r\nCall-ID: mb-%s-%d@contoso.test\r\n"
               "CSeq: 1 INVITE\r\nContact: <sip:carol@127.0.0.1:%d;transport=tcp>\r\n"
               "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n"
               % (lport, run, k, k, run, k, lport, len(body))).encode() + body
        t_sent[k] = time.monotonic()
        phone.sendall(msg)

    def on_partner(c, msg):
        start, hdrs = parse_head(msg)
        k = k_of(hdrs)
        if k is None or not start.startswith("INVITE "):
            return  # ACKs and anything else: nothing to answer
        ext[k] = media_of(body_of(msg))
        body = sdp(eports[k % len(eports)])
        out = ["SIP/2.0 200 OK"]
        for name, v in hdrs:
            ln = name.lower()
            if ln in ("via", "v", "record-route", "from", "f", "call-id", "i", "cseq"):
                out.append("%s: %s" % (name, v))
            elif ln in ("to", "t"):
                out.append("%s: %s;tag=p%d" % (name, v, k))
        out.append("Contact: <sip:dave@127.0.0.1:%d;transport=tls>" % A.dr_port)
        out.append("Content-Type: application/sdp")
        out.append("Content-Length: %d" % len(body))
        c.sock.sendall(("\r\n".join(out) + "\r\n\r\n").encode() + body)

    def on_phone(msg):
        code, first = status_of(msg)
        _, hdrs = parse_head(msg)
        k = k_of(hdrs)
        if k is None or code is None or code < 200 or k in took or k in failed:
            return
        if code != 200:
            failed[k] = first
            return
        took[k] = time.monotonic() - t_sent[k]
        inside[k] = media_of(body_of(msg))
        rr = []
        for v in hget(hdrs, "record-route"):
            rr += [x.strip() for x in v.split(",")]
        target = re.search(r"<([^>]+)>", hget(hdrs, "contact")[0]).group(1)
        lines = ["ACK %s SIP/2.0" % target,
                 "Via: SIP/2.0/TCP 127.0.0.1:%d;branch=z9hG4bK-ack-%s-%d" % (lport, run, k),
                 "Max-Forwards: 70"]
        lines += ["Route: %s" % r for r in reversed(rr)]
        lines += ["From: <sip:carol@contoso.test>;tag=c%d" % k,
                  "To: <sip:dave@fabrikam.test>;tag=p%d" % k,
                  "Call-ID: mb-%s-%d@contoso.test" % (run, k), "CSeq: 1 ACK",
                  "Content-Length: 0"]
        phone.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

    t0 = time.monotonic()
    sent = 0
    deadline = None
    while len(took) + len(failed) < n:
        now = time.monotonic()
        while sent < n and now >= t0 + sent / A.rate:
            invite(sent)
            sent += 1
        if sent == n and deadline is None:
            deadline = now + 15
        if deadline is not None and now > deadline:
            break
        due = t0 + sent / A.rate if sent < n else now + 0.1
        for key, _ in sel.select(max(0.0, min(0.1, due - now))):
            if key.data is None:
                s, _ = ls.accept()
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sel.register(s, selectors.EVENT_READ, Conn(s, "partner"))
                continue
            c = key.data
            chunk = c.sock.recv(262144)
            if not chunk:
                sel.unregister(c.sock)
                if c.role == "phone":
                    print("signalling: the edge closed the phone's connection", flush=True)
                    deadline = 0
                continue
            c.buf += chunk
            while True:
                msg, c.buf = frame(c.buf)
                if msg is None:
                    break
                if c.role == "phone":
                    on_phone(msg)
                else:
                    on_partner(c, msg)

    ok = sorted(took)
    lines = []
    if A.out:
        for k in ok:
            i, e = inside.get(k), ext.get(k)
            if not (i and e and i[0] == "127.0.0.2" and e[0] == "127.0.0.3"):
                failed[k] = "SDP not through the relay: inside told %s, partner told %s" % (i, e)
                continue
            lines.append("%s %d %s %d %d\n" % (i[0], i[1], e[0], e[1], k % len(iports)))
        with open(A.out + ".tmp", "w") as f:
            f.writelines(lines)
        os.replace(A.out + ".tmp", A.out)
    for k in range(n):
        if k not in took and k not in failed:
            failed[k] = "no final response"
    v = sorted(took[k] * 1000 for k in took)

    def q(f):
        return "%.1f" % v[min(len(v) - 1, int(len(v) * f))] if v else "n/a"
    print("signalling: %d calls at %g/s in %.1f s: %d set up, %d failed; INVITE->200 at the "
          "phone p50 %s ms p90 %s ms p99 %s ms max %s ms"
          % (n, A.rate, time.monotonic() - t0, n - len(failed), len(failed), q(0.5), q(0.9),
             q(0.99), "%.1f" % v[-1] if v else "n/a"), flush=True)
    for k in sorted(failed)[:5]:
        print("signalling: call %d failed: %s" % (k, failed[k]), flush=True)
    if A.ready:
        open(A.ready, "w").close()
    # Held: whatever the edge sends meanwhile is read and dropped.
    end = time.monotonic() + A.hold
    while time.monotonic() < end:
        for key, _ in sel.select(0.5):
            if key.data is None:
                s, _ = ls.accept()
                sel.register(s, selectors.EVENT_READ, Conn(s, "partner"))
            elif not key.data.sock.recv(262144):
                sel.unregister(key.data.sock)
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
