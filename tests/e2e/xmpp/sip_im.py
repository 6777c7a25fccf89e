#!/usr/bin/env python3
"""sip_im.py — the internal SIP side of the XMPP gateway tests, over TCP:

  send  one MESSAGE (or --method) from --from to --to (--ctype, default
        text/plain, UTF-8 --body; --to-tag, --header "Name: value" any
        number of times) through the
        edge's internal listener 127.0.0.1:--port; prints the final status
        line (and its Warning); exits 0 when it is --expect (default 200)
  subscribe  SUBSCRIBE (Event: presence) from --from to --to; prints
        "SUB <status>"; once the file --unsub-when exists, ends the
        subscription (Expires: 0 in its dialog) and prints "UNSUB <status>"
  uas   the internal next hop on 127.0.0.1:--port: answers every MESSAGE with
        --status (default 200) and prints "MSG <From URI> <To URI> <body>",
        flushed, one line each; answers every NOTIFY 200 and prints
        "NOTIFY <To URI> <From URI> <Subscription-State> <basic|-> <activity|->
        <note|->"; runs until SIGTERM

Exit codes: 0 as expected, 1 otherwise, 3 usage."""
import argparse
import os
import random
import re
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from sip_helper import Stream, body_of, hget, parse_head, response, status_of  # noqa: E402


def send(a):
    body = a.body.encode("utf-8")
    tag = "%08x" % random.getrandbits(32)
    req = ("%s sip:%s SIP/2.0\r\n"
           "Via: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK-im-%s\r\n"
           "Max-Forwards: 70\r\n"
           "From: <sip:%s>;tag=%s\r\n"
           "To: <sip:%s>%s\r\n"
           "Call-ID: im-%s@contoso.test\r\n"
           "CSeq: 1 %s\r\n"
           "%s"
           "Content-Type: %s\r\n"
           "Content-Length: %d\r\n\r\n" % (a.method, a.to, tag, a.sender, tag, a.to,
                                           ";tag=" + a.to_tag if a.to_tag else "", tag,
                                           a.method, "".join(h + "\r\n" for h in a.header),
                                           a.ctype, len(body))).encode() + body
    s = socket.create_connection(("127.0.0.1", a.port), timeout=5)
    s.sendall(req)
    st = Stream(s)
    while True:
        msg, how = st.read(a.timeout)
        if how != "ok":
            print("no final response: %s" % how)
            return 1
        code, line = status_of(msg)
        if code is not None and code >= 200:
            break
    _, hdrs = parse_head(msg)
    print(line)
    for w in hget(hdrs, "warning"):
        print("Warning: " + w)
    return 0 if code == a.expect else 1


def final(st, timeout):
    while True:
        msg, how = st.read(timeout)
        if how != "ok":
            return None, None
        code, _ = status_of(msg)
        if code is not None and code >= 200:
            return code, msg


def subscribe(a):
    tag = "%08x" % random.getrandbits(32)
    s = socket.create_connection(("127.0.0.1", a.port), timeout=5)
    st = Stream(s)

    def sub(cseq, expires, to_tag):
        s.sendall(("SUBSCRIBE sip:%s SIP/2.0\r\n"
                   "Via: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK-sub-%s-%d\r\n"
                   "Max-Forwards: 70\r\n"
                   "From: <sip:%s>;tag=%s\r\n"
                   "To: <sip:%s>%s\r\n"
                   "Call-ID: sub-%s@contoso.test\r\n"
                   "CSeq: %d SUBSCRIBE\r\n"
                   "Contact: <sip:%s;transport=tcp>\r\n"
                   "Event: presence\r\n"
                   "Accept: application/pidf+xml\r\n"
                   "Expires: %d\r\n"
                   "Content-Length: 0\r\n\r\n" % (
                       a.to, tag, cseq, a.sender, tag, a.to,
                       ";tag=" + to_tag if to_tag else "", tag, cseq, a.sender, expires)).encode())
        return final(st, a.timeout)

    code, msg = sub(1, 600, None)
    print("SUB %s" % code, flush=True)
    if code not in (200, 202):
        return 1
    _, hdrs = parse_head(msg)
    m = re.search(r";\s*tag=([^;>\s]+)", hget(hdrs, "to")[0])
    while not os.path.exists(a.unsub_when):
        time.sleep(0.1)
    code, _ = sub(2, 0, m.group(1) if m else None)
    print("UNSUB %s" % code, flush=True)
    return 0 if code == 200 else 1


def notify_line(hdrs, body):
    to = hget(hdrs, "to")[0].split(";")[0].strip("<>")
    frm = hget(hdrs, "from")[0].split(";")[0].strip("<>")
    state = hget(hdrs, "subscription-state")[0].split(";")[0]
    text = body.decode("utf-8", "replace")
    basic = re.search(r"<basic>(\w+)</basic>", text)
    act = re.search(r"<rpid:activities><rpid:(\w+)/>", text)
    note = re.search(r"<note>([^<]*)</note>", text)
    return "NOTIFY %s %s %s %s %s %s" % (to, frm, state, basic.group(1) if basic else "-",
                                         act.group(1) if act else "-",
                                         note.group(1) if note else "-")


def uas(a):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", a.port))
    srv.listen(16)
    print("READY", flush=True)
    while True:
        c, _ = srv.accept()
        st = Stream(c)
        while True:
            msg, how = st.read(None)
            if how != "ok":
                break
            first, hdrs = parse_head(msg)
            if first.startswith("NOTIFY "):
                print(notify_line(hdrs, body_of(msg)), flush=True)
                c.sendall(response(hdrs, 200, "OK", "uas1"))
                continue
            if not first.startswith("MESSAGE "):
                continue
            frm = hget(hdrs, "from")[0].split(";")[0].strip("<>")
            to = hget(hdrs, "to")[0].split(";")[0].strip("<>")
            print("MSG %s %s %s" % (frm, to, body_of(msg).decode("utf-8", "replace")), flush=True)
            c.sendall(response(hdrs, a.status, "OK" if a.status == 200 else "Refused", "uas1"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["send", "subscribe", "uas"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--from", dest="sender", default="alice@contoso.test")
    ap.add_argument("--to", default="bob@fabrikam.test")
    ap.add_argument("--body", default="hello")
    ap.add_argument("--ctype", default="text/plain;charset=UTF-8")
    ap.add_argument("--method", default="MESSAGE")
    ap.add_argument("--expect", type=int, default=200)
    ap.add_argument("--status", type=int, default=200)
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("--unsub-when", default="/nonexistent")
    ap.add_argument("--to-tag")
    ap.add_argument("--header", action="append", default=[])
    a = ap.parse_args()
    return {"send": send, "subscribe": subscribe, "uas": uas}[a.mode](a)


if __name__ == "__main__":
    sys.exit(main())
