#!/usr/bin/env python3
"""pool_dialog.py — an INVITE dialog across an edge pool
(tests/e2e/111-pool.sh): a UAS that answers like a user agent, and a UAC
that sets up a dialog, runs a command in the middle of it, and ends it.

  uas --port P --log FILE
      listen on 127.0.0.1:P (TCP); INVITE -> 200 with the Record-Route
      copied (RFC 3261 §12.1.1) and a Contact naming this UAS; any other
      request but ACK -> 200; every request appended to FILE as one JSON
      line {call_id, method, ruri, headers}
  uac --port P --from URI --ruri URI [--between CMD] [--timeout S]
      over one TCP connection to 127.0.0.1:P (the caller's own proxy):
      INVITE, 200, ACK along the route set (the 200's Record-Route in
      reverse, RFC 3261 §12.1.2) to the remote target (its Contact), then
      runs CMD (a shell command), then BYE along the same route set;
      prints each step, exit 0 when the BYE was answered 200.
  via --log FILE --method M (--call-id ID --member-log LOG... | --last-call-id)
      from the UAS's log: the pool member N (the N-th --member-log) that
      forwarded request M of that Call-ID (its log names the branch of the
      top Via), or the Call-ID of the last request M
Exit status 1 on a failed step, 2 on usage errors."""
import argparse
import json
import os
import random
import re
import socket
import subprocess
import sys
import threading

from sip_helper import Stream, hget, parse_head, response


def uas_conn(conn, a, lock, port):
    st = Stream(conn)
    while True:
        msg, how = st.read()
        if how != "ok":
            conn.close()
            return
        start, hdrs = parse_head(msg)
        if start.startswith("SIP/2.0"):
            continue
        method, ruri = start.split(" ")[0], start.split(" ")[1]
        with lock:
            with open(a.log, "a") as f:
                f.write(json.dumps({"call_id": (hget(hdrs, "call-id") or [""])[0],
                                    "method": method, "ruri": ruri, "headers": hdrs}) + "\n")
        if method == "ACK":
            continue
        resp = response(hdrs, 200, "OK", "uas%d" % os.getpid())
        if method == "INVITE":
            extra = ["Record-Route: %s" % v for v in hget(hdrs, "record-route")]
            extra.append("Contact: <sip:carol@127.0.0.1:%d;transport=tcp>" % port)
            head, _, _ = resp.decode().partition("Content-Length: 0")
            resp = (head + "\r\n".join(extra) + "\r\nContent-Length: 0\r\n\r\n").encode()
        try:
            conn.sendall(resp)
        except OSError:
            return


def mode_uas(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", a.port))
    s.listen(16)
    lock = threading.Lock()
    open(a.log, "a").close()
    while True:
        c, _ = s.accept()
        threading.Thread(target=uas_conn, args=(c, a, lock, a.port), daemon=True).start()


def uri_of(v):
    m = re.search(r"<([^>]*)>", v)
    return m.group(1) if m else v.split(";")[0].strip()


def mode_uac(a):
    sock = socket.create_connection(("127.0.0.1", a.port), timeout=a.timeout)
    local = sock.getsockname()
    st = Stream(sock)
    cid = "dlg-%d-%08x" % (os.getpid(), random.getrandbits(32))
    tag = "uac%d" % os.getpid()

    def send(method, ruri, cseq, to, routes):
        branch = "z9hG4bK-dlg-%08x" % random.getrandbits(32)
        lines = ["%s %s SIP/2.0" % (method, ruri),
                 "Via: SIP/2.0/TCP %s:%d;branch=%s;rport" % (local[0], local[1], branch),
                 "Max-Forwards: 70", "From: <%s>;tag=%s" % (a.from_, tag), "To: %s" % to,
                 "Call-ID: %s" % cid, "CSeq: %d %s" % (cseq, method)]
        lines += ["Route: %s" % r for r in routes]
        if method == "INVITE":
            lines.append("Contact: <sip:bob@%s:%d;transport=tcp>" % local)
        lines.append("Content-Length: 0")
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

    def final(method):
        while True:
            msg, how = st.read(a.timeout)
            if how != "ok":
                print("%s: no final answer (%s)" % (method, how))
                return None, None
            start, hdrs = parse_head(msg)
            code = int(start.split(" ")[1]) if start.startswith("SIP/2.0 ") else 0
            if code >= 200 and (hget(hdrs, "cseq") or [""])[0].endswith(method):
                return code, hdrs

    send("INVITE", a.ruri, 1, "<%s>" % a.ruri, [])
    code, hdrs = final("INVITE")
    print("INVITE -> %s (Call-ID %s)" % (code, cid))
    if code != 200:
        return 1
    rr = hget(hdrs, "record-route")
    routes = list(reversed(rr))
    target = uri_of((hget(hdrs, "contact") or [a.ruri])[0])
    to = (hget(hdrs, "to") or [""])[0]
    print("route set: %s" % ", ".join(routes))
    print("remote target: %s" % target)
    send("ACK", target, 1, to, routes)
    if a.between:
        r = subprocess.run(a.between, shell=True)
        print("between: exit %d" % r.returncode)
        if r.returncode:
            return 1
    send("BYE", target, 2, to, routes)
    code, _ = final("BYE")
    print("BYE -> %s" % code)
    return 0 if code == 200 else 1


def mode_via(a):
    rows = [json.loads(l) for l in open(a.log)]
    rows = [r for r in rows if r["method"] == a.method]
    if a.last_call_id:
        if not rows:
            return 1
        print(rows[-1]["call_id"])
        return 0
    for r in rows:
        if r["call_id"] != a.call_id:
            continue
        # a pool's Via names the pool, not the member: the member is the
        # one whose log forwarded a request with that branch
        m = re.search(r"branch=([^;\s]+)", r["headers"][0][1])
        for n, path in enumerate(a.member_log, 1):
            if m and ("branch=" + m.group(1)) in open(path, errors="replace").read():
                print(n)
                return 0
    return 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["uas", "uac", "via"])
    p.add_argument("--port", type=int)
    p.add_argument("--method", default="MESSAGE")
    p.add_argument("--call-id")
    p.add_argument("--last-call-id", action="store_true")
    p.add_argument("--member-log", action="append", default=[])
    p.add_argument("--log")
    p.add_argument("--from", dest="from_", default="sip:bob@fabrikam.test")
    p.add_argument("--ruri", default="sip:carol@contoso.test")
    p.add_argument("--between")
    p.add_argument("--timeout", type=float, default=10)
    a = p.parse_args()
    if a.mode == "via":
        return mode_via(a)
    if a.port is None:
        p.error("--port is required")
    if a.mode == "uas":
        if not a.log:
            p.error("uas needs --log")
        return mode_uas(a)
    return mode_uac(a)


if __name__ == "__main__":
    sys.exit(main())
