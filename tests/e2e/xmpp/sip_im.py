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
        <note|->"; runs until SIGTERM. With --no-answer it prints the
        MESSAGEs and answers none of them (a next hop that dies with them).
        With --presence FILE it is also the presence server of the internal
        users (RFC 3856/6665 notifier): a SUBSCRIBE (Event: presence) gets 200
        (Expires at most --sub-expires) and a NOTIFY active with a PIDF
        document (RFC 3863, RPID activities) of the state FILE holds, one line
        "open|away|busy|closed [note]" (no file: closed); each change of FILE
        sends a NOTIFY to every subscription; Expires: 0 ends one (200, NOTIFY
        terminated). It prints "PSUB <From URI> <To URI> <Expires> new|refresh
        <Call-ID>" per SUBSCRIBE; a refresh of a dialog it does not hold (or
        forgot: once the file --forget-when appears) gets 481 ("PSUB ...
        481"). Dialogs live across connections (the edge may restart).
        With --threads (several edges of a pool sharing this next hop) each
        connection is served at once in its own thread, a dialog's NOTIFYs
        go on the connection of its last SUBSCRIBE (whose Contact becomes
        the dialog's: a target refresh, RFC 6665) and PSUB lines end with
        that Contact.

Exit codes: 0 as expected, 1 otherwise, 3 usage."""
import argparse
import os
import random
import re
import socket
import sys
import threading
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
    # A new connection: the edge may have restarted meanwhile (the dialog
    # lives on in its store).
    s.close()
    s = socket.create_connection(("127.0.0.1", a.port), timeout=5)
    st = Stream(s)
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


def read_presence(path):
    try:
        with open(path, encoding="utf-8") as f:
            line = f.read().strip()
    except OSError:
        line = "closed"
    state, _, note = line.partition(" ")
    return state, note


def pidf(entity, state, note):
    basic = "closed" if state == "closed" else "open"
    act = {"away": "<rpid:away/>", "busy": "<rpid:busy/>"}.get(state, "")
    doc = ("<?xml version='1.0' encoding='UTF-8'?>\n"
           "<presence xmlns='urn:ietf:params:xml:ns:pidf'"
           " xmlns:dm='urn:ietf:params:xml:ns:pidf:data-model'"
           " xmlns:rpid='urn:ietf:params:xml:ns:pidf:rpid' entity='%s'>"
           "<tuple id='t1'><status><basic>%s</basic></status></tuple>" % (entity, basic))
    if act:
        doc += "<dm:person id='p1'><rpid:activities>%s</rpid:activities></dm:person>" % act
    if note:
        doc += "<note>%s</note>" % note.replace("&", "&amp;").replace("<", "&lt;")
    return (doc + "</presence>").encode("utf-8")


class Presence:
    """The notifier side of the presence subscriptions (dialogs by Call-ID)."""

    def __init__(self, a):
        self.a, self.dialogs, self.cseq = a, {}, 0
        self.state = read_presence(a.presence)
        self.forgot = False
        self.lock = threading.RLock()

    def notify(self, c, d, substate):
        if self.a.threads:
            c = d["conn"]
        self.cseq += 1
        body = pidf(d["entity"], *self.state) if substate.startswith("active") else b""
        c.sendall(("NOTIFY %s SIP/2.0\r\n"
                   "Via: SIP/2.0/TCP 127.0.0.1:%d;branch=z9hG4bK-ps-%d\r\n"
                   "Max-Forwards: 70\r\n"
                   "From: <%s>;tag=%s\r\n"
                   "To: <%s>;tag=%s\r\n"
                   "Call-ID: %s\r\n"
                   "CSeq: %d NOTIFY\r\n"
                   "Contact: <sip:ps@127.0.0.1:%d;transport=tcp>\r\n"
                   "Event: presence\r\n"
                   "Subscription-State: %s\r\n"
                   "%s"
                   "Content-Length: %d\r\n\r\n" % (
                       d["contact"], self.a.port, self.cseq, d["entity"], d["tag"], d["watcher"],
                       d["wtag"], d["cid"], self.cseq, self.a.port, substate,
                       "Content-Type: application/pidf+xml\r\n" if body else "",
                       len(body))).encode() + body)

    def subscribe(self, c, hdrs):
        if self.a.forget_when and not self.forgot and os.path.exists(self.a.forget_when):
            self.dialogs.clear()
            self.forgot = True
        frm = hget(hdrs, "from")[0]
        to = hget(hdrs, "to")[0]
        cid = hget(hdrs, "call-id")[0]
        exp = int((hget(hdrs, "expires") or ["3600"])[0])
        exp = min(exp, self.a.sub_expires)
        in_dialog = ";tag=" in to
        uri = lambda v: v.split(";")[0].strip("<> ")  # noqa: E731
        tag = lambda v: re.search(r";\s*tag=([^;>\s]+)", v).group(1)  # noqa: E731
        d = self.dialogs.get(cid)
        if in_dialog and (d is None or d["tag"] != tag(to)):
            print("PSUB %s %s %d 481 %s" % (uri(frm), uri(to), exp, cid), flush=True)
            c.sendall(response(hdrs, 481, "Call/Transaction Does Not Exist", "x"))
            return
        contact = uri((hget(hdrs, "contact") or [frm])[0])
        print("PSUB %s %s %d %s %s%s" % (uri(frm), uri(to), exp,
                                         "refresh" if in_dialog else "new", cid,
                                         " " + contact if self.a.threads else ""), flush=True)
        if d is None:
            d = {"cid": cid, "tag": "ps%08x" % random.getrandbits(32), "entity": uri(to),
                 "watcher": uri(frm), "wtag": tag(frm), "contact": contact}
            self.dialogs[cid] = d
        if self.a.threads:
            d["conn"], d["contact"] = c, contact
        ok = response(hdrs, 200, "OK", d["tag"]).replace(
            b"Content-Length: 0", ("Expires: %d\r\nContact: <sip:ps@127.0.0.1:%d;transport=tcp>"
                                   "\r\nContent-Length: 0" % (exp, self.a.port)).encode())
        c.sendall(ok)
        if exp == 0:
            self.notify(c, d, "terminated;reason=timeout")
            del self.dialogs[cid]
        else:
            self.notify(c, d, "active;expires=%d" % exp)

    def poll(self, c):
        st = read_presence(self.a.presence)
        if st != self.state:
            self.state = st
            print("STATE %s %s" % st, flush=True)
            for d in list(self.dialogs.values()):
                try:
                    self.notify(c, d, "active;expires=%d" % self.a.sub_expires)
                except OSError:
                    if not self.a.threads:
                        raise  # --threads: that dialog's edge is gone, the others go on


OUT = threading.Lock()


def handle(a, c, first, hdrs, msg):
    """--threads: a NOTIFY or MESSAGE on connection c, as the loop of uas()."""
    if first.startswith("NOTIFY "):
        with OUT:
            print(notify_line(hdrs, body_of(msg)), flush=True)
        c.sendall(response(hdrs, 200, "OK", "uas1"))
    elif first.startswith("MESSAGE "):
        frm = hget(hdrs, "from")[0].split(";")[0].strip("<>")
        to = hget(hdrs, "to")[0].split(";")[0].strip("<>")
        with OUT:
            print("MSG %s %s %s" % (frm, to, body_of(msg).decode("utf-8", "replace")),
                  flush=True)
        if not a.no_answer:
            c.sendall(response(hdrs, a.status, "OK" if a.status == 200 else "Refused", "uas1"))
    return True


def serve(a, c, ps):
    st = Stream(c)
    while True:
        msg, how = st.read(0.1 if ps else None)
        if how == "timeout" and ps:
            with ps.lock, OUT:
                try:
                    ps.poll(c)
                except OSError:
                    pass  # --threads: a dialog's connection is gone (its edge died)
            continue
        if how != "ok":
            return
        first, hdrs = parse_head(msg)
        if first.startswith("SUBSCRIBE ") and ps:
            with ps.lock, OUT:
                ps.subscribe(c, hdrs)
            continue
        try:
            handle(a, c, first, hdrs, msg)
        except OSError:
            return


def uas(a):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", a.port))
    srv.listen(16)
    ps = Presence(a) if a.presence else None
    print("READY", flush=True)
    while True:
        c, _ = srv.accept()
        if a.threads:
            threading.Thread(target=serve, args=(a, c, ps), daemon=True).start()
            continue
        st = Stream(c)
        while True:
            msg, how = st.read(0.1 if ps else None)
            if how == "timeout" and ps:
                ps.poll(c)
                continue
            if how != "ok":
                break
            first, hdrs = parse_head(msg)
            if first.startswith("SUBSCRIBE ") and ps:
                ps.subscribe(c, hdrs)
                continue
            if first.startswith("NOTIFY "):
                print(notify_line(hdrs, body_of(msg)), flush=True)
                c.sendall(response(hdrs, 200, "OK", "uas1"))
                continue
            if not first.startswith("MESSAGE "):
                continue
            frm = hget(hdrs, "from")[0].split(";")[0].strip("<>")
            to = hget(hdrs, "to")[0].split(";")[0].strip("<>")
            print("MSG %s %s %s" % (frm, to, body_of(msg).decode("utf-8", "replace")), flush=True)
            if a.no_answer:
                continue
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
    ap.add_argument("--presence")
    ap.add_argument("--sub-expires", type=int, default=600)
    ap.add_argument("--forget-when")
    ap.add_argument("--no-answer", action="store_true")
    ap.add_argument("--threads", action="store_true")
    a = ap.parse_args()
    return {"send": send, "subscribe": subscribe, "uas": uas}[a.mode](a)


if __name__ == "__main__":
    sys.exit(main())
