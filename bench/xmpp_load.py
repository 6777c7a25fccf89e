#!/usr/bin/env python3
"""xmpp_load.py — load for bench/xmpp.sh, on loopback only:

  sip PORT N WINDOW   N SIP MESSAGEs (text/plain "bench-<i>") from
                      alice@contoso.test to bob@fabrikam.test over one TCP
                      connection to the edge's internal listener, at most
                      WINDOW unanswered; prints "SIP <n 200> <n other>
                      <seconds>" (first send to last final response)
  idle PORT N PKI     N XMPP server-to-server streams to the edge's XMPP
                      port, each as fabrikam.test: stream header, STARTTLS,
                      TLS with PKI/edge.fabrikam.test.{crt,key} (trusting
                      PKI/ca.crt), SASL EXTERNAL, restarted stream; prints
                      "OPEN <n authenticated>" and keeps them open, idle,
                      until SIGTERM

Exit 0 when everything asked for happened, else 1."""
import asyncio
import os
import random
import re
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from sip_helper import Stream, status_of  # noqa: E402


def sip(port, n, window):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    st = Stream(s)
    tag = "%08x" % random.getrandbits(32)
    sent = ok = bad = 0
    t0 = time.monotonic()
    while ok + bad < n:
        batch = b""
        while sent < n and sent - (ok + bad) < window:
            body = ("bench-%d" % sent).encode()
            batch += ("MESSAGE sip:bob@fabrikam.test SIP/2.0\r\n"
                      "Via: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK-bx-%s-%d\r\n"
                      "Max-Forwards: 70\r\n"
                      "From: <sip:alice@contoso.test>;tag=%s\r\n"
                      "To: <sip:bob@fabrikam.test>\r\n"
                      "Call-ID: bx-%s-%d@contoso.test\r\n"
                      "CSeq: 1 MESSAGE\r\n"
                      "Content-Type: text/plain\r\n"
                      "Content-Length: %d\r\n\r\n" % (tag, sent, tag, tag, sent,
                                                      len(body))).encode() + body
            sent += 1
        if batch:
            s.sendall(batch)
        msg, how = st.read(30)
        if how != "ok":
            print("SIP %d %d %.3f (stopped: %s)" % (ok, bad, time.monotonic() - t0, how))
            return 1
        code, _ = status_of(msg)
        if code is None or code < 200:
            continue
        if code == 200:
            ok += 1
        else:
            bad += 1
    print("SIP %d %d %.3f" % (ok, bad, time.monotonic() - t0), flush=True)
    return 0 if bad == 0 else 1


HDR = ("<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
       "xmlns:stream='http://etherx.jabber.org/streams' version='1.0' "
       "from='fabrikam.test' to='contoso.test'>").encode()


async def until(reader, pat, buf=b""):
    while not re.search(pat, buf):
        d = await asyncio.wait_for(reader.read(65536), 30)
        if not d:
            raise ConnectionError("closed: %r" % buf[-300:])
        buf += d
    return buf


async def one(port, ctx):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(HDR)
    await until(r, rb"</stream:features>")
    w.write(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    await until(r, rb"<proceed")
    await w.start_tls(ctx, server_hostname="contoso.test")
    w.write(HDR)
    await until(r, rb"</stream:features>")
    w.write(b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>")
    await until(r, rb"<success")
    w.write(HDR)
    await until(r, rb"</stream:features>")
    return r, w


async def idle(port, n, pki):
    ctx = ssl.create_default_context(cafile=os.path.join(pki, "ca.crt"))
    ctx.load_cert_chain(os.path.join(pki, "edge.fabrikam.test.crt"),
                        os.path.join(pki, "edge.fabrikam.test.key"))
    conns, fails = [], 0
    sem = asyncio.Semaphore(20)

    async def guarded():
        nonlocal fails
        async with sem:
            try:
                conns.append(await one(port, ctx))
            except Exception as e:  # noqa: BLE001
                fails += 1
                if fails <= 3:
                    print("stream failed: %s" % e, file=sys.stderr, flush=True)

    await asyncio.gather(*(guarded() for _ in range(n)))
    print("OPEN %d" % len(conns), flush=True)
    await asyncio.Event().wait()  # idle until SIGTERM
    return 0


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "sip":
        return sip(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    if len(sys.argv) == 5 and sys.argv[1] == "idle":
        return asyncio.run(idle(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
    print(__doc__, file=sys.stderr)
    return 3


if __name__ == "__main__":
    sys.exit(main())
