#!/usr/bin/env python3
"""dnsroute.py — helpers of the DNS routing end-to-end tests (04x-*.sh).

  uas   --ports P1,P2,... --counts FILE [--status-503 P,...]
        plain-TCP SIP responders on 127.0.0.1 (the partners' UASs behind
        stunnel): answer every request but ACK with 200 (503 on the ports
        listed), count requests per port into FILE (JSON, rewritten on
        every request), print "listening" when ready.
  send  --port P --ruri URI [--count N] [--window W] [--timeout S]
        an internal SIP server: N MESSAGE requests over one TCP connection
        to the edge's internal side (W in flight), prints a JSON summary:
        {"status": {"200": n, ...}, "warnings": [...], "max_ms": x,
         "missing": n}
  cancel --port P --ruri URI [--delay S]
        an INVITE, then its CANCEL after S seconds; prints a JSON summary of
        the final statuses: {"invite": 487, "cancel": 200, "ms": x}
"""
import argparse
import asyncio
import json
import os
import random
import socket
import sys
import time

from sip_helper import AsyncStream, Stream, hget, parse_head, response


def cmd_uas(a):
    ports = [int(p) for p in a.ports.split(",")]
    s503 = set(int(p) for p in a.status_503.split(",")) if a.status_503 else set()
    counts = {str(p): 0 for p in ports}

    def save():
        tmp = a.counts + ".tmp"
        with open(tmp, "w") as f:
            json.dump(counts, f)
        os.replace(tmp, a.counts)

    async def serve(port, r, w):
        st = AsyncStream(r)
        while True:
            msg = await st.read()
            if msg is None:
                break
            start, h = parse_head(msg)
            if start.startswith("SIP/2.0") or start.startswith("ACK "):
                continue
            counts[str(port)] += 1
            save()
            if port in s503:
                w.write(response(h, 503, "Service Unavailable", "uas%d" % port))
            else:
                w.write(response(h, 200, "OK", "uas%d" % port))
        w.close()

    async def main():
        for p in ports:
            await asyncio.start_server(lambda r, w, p=p: serve(p, r, w), "127.0.0.1", p)
        save()
        print("listening", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def cmd_send(a):
    s = socket.create_connection(("127.0.0.1", a.port), timeout=a.timeout)
    lport = s.getsockname()[1]
    pending = {}
    status, warnings, max_ms = {}, [], 0.0
    st = Stream(s)
    sent = 0
    deadline = time.time() + a.timeout
    tag = "%08x" % random.getrandbits(32)
    while (sent < a.count or pending) and time.time() < deadline:
        while sent < a.count and len(pending) < a.window:
            cid = "dr-%s-%d@contoso.test" % (tag, sent)
            msg = ("MESSAGE %s SIP/2.0\r\n"
                   "Via: SIP/2.0/TCP 127.0.0.1:%d;branch=z9hG4bK-dr-%s-%d\r\n"
                   "Max-Forwards: 70\r\n"
                   "From: <sip:alice@contoso.test>;tag=%s\r\n"
                   "To: <%s>\r\n"
                   "Call-ID: %s\r\n"
                   "CSeq: 1 MESSAGE\r\n"
                   "Content-Type: text/plain\r\n"
                   "Content-Length: 2\r\n\r\nhi" % (a.ruri, lport, tag, sent, tag, a.ruri, cid))
            s.sendall(msg.encode())
            pending[cid] = time.time()
            sent += 1
        msg, how = st.read(max(0.05, deadline - time.time()))
        if how != "ok":
            break
        start, h = parse_head(msg)
        if not start.startswith("SIP/2.0"):
            continue
        code = start.split()[1]
        if code.startswith("1"):
            continue
        t0 = pending.pop(hget(h, "call-id")[0], None)
        if t0 is None:
            continue
        max_ms = max(max_ms, (time.time() - t0) * 1000)
        status[code] = status.get(code, 0) + 1
        for v in hget(h, "warning"):
            if v not in warnings:
                warnings.append(v)
    print(json.dumps({"status": status, "warnings": warnings, "max_ms": round(max_ms, 1),
                      "missing": a.count - sum(status.values())}))
    return 0


def cmd_cancel(a):
    s = socket.create_connection(("127.0.0.1", a.port), timeout=a.timeout)
    lport = s.getsockname()[1]
    tag = "%08x" % random.getrandbits(32)
    common = ("Via: SIP/2.0/TCP 127.0.0.1:%d;branch=z9hG4bK-cx-%s\r\n"
              "Max-Forwards: 70\r\n"
              "From: <sip:alice@contoso.test>;tag=%s\r\n"
              "To: <%s>\r\n"
              "Call-ID: cx-%s@contoso.test\r\n" % (lport, tag, tag, a.ruri, tag))
    t0 = time.time()
    s.sendall(("INVITE %s SIP/2.0\r\n%sCSeq: 1 INVITE\r\n"
               "Contact: <sip:alice@127.0.0.1:%d;transport=tcp>\r\n"
               "Content-Length: 0\r\n\r\n" % (a.ruri, common, lport)).encode())
    time.sleep(a.delay)
    s.sendall(("CANCEL %s SIP/2.0\r\n%sCSeq: 1 CANCEL\r\n"
               "Content-Length: 0\r\n\r\n" % (a.ruri, common)).encode())
    out = {"invite": None, "cancel": None, "ms": None}
    st = Stream(s)
    deadline = time.time() + a.timeout
    while (out["invite"] is None or out["cancel"] is None) and time.time() < deadline:
        msg, how = st.read(max(0.05, deadline - time.time()))
        if how != "ok":
            break
        start, h = parse_head(msg)
        code = int(start.split()[1])
        if code < 200:
            continue
        meth = hget(h, "cseq")[0].split()[-1]
        if meth == "INVITE":
            out["invite"] = code
            out["ms"] = round((time.time() - t0) * 1000, 1)
            s.sendall(("ACK %s SIP/2.0\r\n%sCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
                       % (a.ruri, common.replace("To: <%s>" % a.ruri, "To: " + hget(h, "to")[0])))
                      .encode())
        elif meth == "CANCEL":
            out["cancel"] = code
    print(json.dumps(out))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    u = sub.add_parser("uas")
    u.add_argument("--ports", required=True)
    u.add_argument("--counts", required=True)
    u.add_argument("--status-503", default="")
    c = sub.add_parser("send")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--ruri", required=True)
    c.add_argument("--count", type=int, default=1)
    c.add_argument("--window", type=int, default=20)
    c.add_argument("--timeout", type=float, default=20)
    x = sub.add_parser("cancel")
    x.add_argument("--port", type=int, required=True)
    x.add_argument("--ruri", required=True)
    x.add_argument("--delay", type=float, default=0.1)
    x.add_argument("--timeout", type=float, default=20)
    a = ap.parse_args()
    if a.cmd == "cancel":
        return cmd_cancel(a)
    if a.cmd == "uas":
        cmd_uas(a)
        return 0
    return cmd_send(a)


if __name__ == "__main__":
    sys.exit(main())
