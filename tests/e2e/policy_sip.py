#!/usr/bin/env python3
"""policy_sip.py — a small SIP user agent for the federation policy tests
(tests/e2e/09x-policy-*.sh) and `make demo`: send requests over TCP or
mutual TLS and check the answer's status and diagnostics; answer requests as
an internal server and record them; look up what a server recorded.

  uas   --port P --log FILE [--status N] [--fail-prefix USER]
        listen on 127.0.0.1:P (TCP), answer every request with N (200; 404
        when the Request-URI user starts with USER) and append it to FILE
        as one JSON line {call_id, method, ruri, headers}
  send  --port P [--tls --pki DIR --cert NAME --server-name NAME]
        --ruri URI --from URI [--method M] [--header 'Name: value']...
        ({n} in the URI becomes the request's number, 1, 2, ...)
        --expect STATUS[:DIAG[:public|internal]]...  (one request each, all
        on one connection) [--between CMD]... [--pause S] [--call-id ID]
        [--max-ms MS]
        Prints one line per answer; exit 0 when every answer matched: the
        status, and for a DIAG a Warning `399 host "DIAG ...` plus an
        ms-diagnostics (internal: with source=) or ms-diagnostics-public
        (public: without source=) header starting with DIAG. The k-th
        --between runs a shell command after the k-th answer (a live
        change), --pause waits before each later request, --max-ms fails
        an answer that took longer.
  seen  --log FILE --call-id ID [--count NAME=N]... [--match NAME=REGEX]...
        exit 0 when the server recorded the request with that Call-ID and
        each header NAME (any case, any spaces before the colon) occurs N
        times / some occurrence matches REGEX.
Exit status 1 on a mismatch, 2 on usage errors."""
import argparse
import json
import os
import random
import re
import socket
import ssl
import subprocess
import sys
import threading
import time

from sip_helper import Stream, hget, parse_head, response


# ---------------------------------------------------------------- uas
def uas_conn(conn, a, lock):
    conn.settimeout(None)
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
        rec = {"call_id": (hget(hdrs, "call-id") or [""])[0],
               "method": method, "ruri": ruri, "headers": hdrs}
        with lock:
            with open(a.log, "a") as f:
                f.write(json.dumps(rec) + "\n")
        if method == "ACK":
            continue
        status = a.status
        if a.fail_prefix and re.match(r"sips?:" + re.escape(a.fail_prefix), ruri):
            status = 404
        resp = response(hdrs, status, "OK" if status == 200 else "Answer", "uas%d" % os.getpid())
        try:
            conn.sendall(resp)
        except OSError:
            return


def mode_uas(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.host, a.port))
    s.listen(64)
    lock = threading.Lock()
    open(a.log, "a").close()
    while True:
        c, _ = s.accept()
        threading.Thread(target=uas_conn, args=(c, a, lock), daemon=True).start()


# ---------------------------------------------------------------- send
def request(a, n, local):
    branch = "z9hG4bK-pol-%d-%d-%08x" % (os.getpid(), n, random.getrandbits(32))
    cid = a.call_id or "pol-%d-%08x" % (os.getpid(), random.getrandbits(32))
    if n:
        cid += "-%d" % n
    body = "policy test %d" % n
    ruri = a.ruri.replace("{n}", str(n + 1))
    lines = ["%s %s SIP/2.0" % (a.method, ruri),
             "Via: SIP/2.0/%s %s:%d;branch=%s;rport" % ("TLS" if a.tls else "TCP",
                                                       local[0], local[1], branch),
             "Max-Forwards: 70",
             "From: <%s>;tag=pol%d" % (a.from_, n),
             "To: <%s>" % ruri,
             "Call-ID: %s" % cid,
             "CSeq: %d %s" % (n + 1, a.method)]
    lines += a.header
    if a.method == "MESSAGE":
        lines.append("Content-Type: text/plain")
    else:
        body = ""
    lines.append("Content-Length: %d" % len(body.encode()))
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode(), cid


def judge(exp, status, hdrs):
    parts = exp.split(":")
    want = int(parts[0])
    if status != want:
        return "status %d, expected %d" % (status, want)
    if len(parts) < 2:
        return None
    diag = parts[1]
    kind = parts[2] if len(parts) > 2 else None
    warns = hget(hdrs, "warning")
    if not any(re.match(r'399 \S+ "%s ' % diag, w) for w in warns):
        return "no Warning 399 with %s (got %r)" % (diag, warns)
    pub = [v for v in hget(hdrs, "ms-diagnostics-public") if v.startswith(diag + ";")]
    intl = [v for v in hget(hdrs, "ms-diagnostics") if v.startswith(diag + ";")]
    if kind == "public":
        if not pub or any("source=" in v for v in pub) or intl:
            return "expected ms-diagnostics-public %s without source (got public %r internal %r)" % (
                diag, pub, intl)
    elif kind == "internal":
        if not intl or not all('source="' in v for v in intl):
            return "expected ms-diagnostics %s with source (got %r)" % (diag, intl)
    elif not pub and not intl:
        return "no ms-diagnostics header with %s" % diag
    return None


def mode_send(a):
    raw = socket.create_connection((a.host, a.port), timeout=a.timeout)
    sock = raw
    if a.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(os.path.join(a.pki, "ca.crt"))
        ctx.check_hostname = True
        if a.cert:
            ctx.load_cert_chain(os.path.join(a.pki, a.cert + ".crt"),
                                os.path.join(a.pki, a.cert + ".key"))
        sock = ctx.wrap_socket(raw, server_hostname=a.server_name)
    sock.settimeout(a.timeout)
    local = sock.getsockname()
    ok = True
    st = Stream(sock)
    for n, exp in enumerate(a.expect):
        if n and a.pause:
            time.sleep(a.pause)
        data, cid = request(a, n, local)
        t_sent = time.monotonic()
        try:
            sock.sendall(data)
        except OSError as e:
            print("request %d: send failed: %s" % (n + 1, e))
            return 1
        while True:
            msg, how = st.read()
            if how != "ok":
                print("request %d (%s): no final answer (connection %s)" % (n + 1, cid, how))
                return 1
            start, hdrs = parse_head(msg)
            if not start.startswith("SIP/2.0 "):
                continue
            status = int(start.split(" ")[1])
            if status >= 200:
                break
        bad = judge(exp, status, hdrs)
        ms = (time.monotonic() - t_sent) * 1000
        if not bad and a.max_ms and ms > a.max_ms:
            bad = "answered after %.0f ms, more than %d" % (ms, a.max_ms)
        diags = hget(hdrs, "ms-diagnostics") + hget(hdrs, "ms-diagnostics-public")
        print("request %d (%s, %.0f ms): %s | Warning: %s | diagnostics: %s%s" % (
            n + 1, cid, ms, start, "; ".join(hget(hdrs, "warning")) or "-",
            "; ".join(diags) or "-", " | MISMATCH: " + bad if bad else ""))
        if a.log:
            with open(a.log, "ab") as f:
                f.write(msg + b"\r\n")
        ok = ok and not bad
        if n < len(a.between):
            r = subprocess.run(a.between[n], shell=True)
            print("between: `%s` exit %d" % (a.between[n], r.returncode))
            if r.returncode != 0:
                ok = False
    sock.close()
    return 0 if ok else 1


# ---------------------------------------------------------------- seen
def mode_seen(a):
    rec = None
    for _ in range(int(a.wait * 10) + 1):
        try:
            with open(a.log) as f:
                for ln in f:
                    r = json.loads(ln)
                    if r["call_id"] == a.call_id:
                        rec = r
        except FileNotFoundError:
            pass
        if rec:
            break
        time.sleep(0.1)
    if not rec:
        print("no request with Call-ID %s in %s" % (a.call_id, a.log))
        return 1
    ok = True
    norm = lambda s: re.sub(r"[ \t]", "", s).lower()
    for c in a.count:
        name, n = c.rsplit("=", 1)
        got = [v for h, v in rec["headers"] if norm(h) == norm(name)]
        print("%s: %d occurrence(s) %r" % (name, len(got), got))
        ok = ok and len(got) == int(n)
    for m in a.match:
        name, rx = m.split("=", 1)
        got = [v for h, v in rec["headers"] if norm(h) == norm(name)]
        hit = any(re.search(rx, v) for v in got)
        print("%s ~ /%s/: %s" % (name, rx, "yes" if hit else "no (%r)" % got))
        ok = ok and hit
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mode", choices=["uas", "send", "seen"])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int)
    p.add_argument("--log")
    p.add_argument("--status", type=int, default=200)
    p.add_argument("--fail-prefix", help="uas: answer 404 to users starting with this")
    p.add_argument("--tls", action="store_true")
    p.add_argument("--pki")
    p.add_argument("--cert")
    p.add_argument("--server-name", default="edge.contoso.test")
    p.add_argument("--ruri")
    p.add_argument("--from", dest="from_")
    p.add_argument("--method", default="MESSAGE")
    p.add_argument("--header", action="append", default=[])
    p.add_argument("--expect", action="append", default=[])
    p.add_argument("--between", action="append", default=[])
    p.add_argument("--max-ms", type=int, help="send: each answer within this time")
    p.add_argument("--pause", type=float, default=0)
    p.add_argument("--call-id")
    p.add_argument("--timeout", type=float, default=15)
    p.add_argument("--count", action="append", default=[])
    p.add_argument("--match", action="append", default=[])
    p.add_argument("--wait", type=float, default=3)
    a = p.parse_args()
    if a.mode == "uas":
        if not a.port or not a.log:
            p.error("uas needs --port and --log")
        return mode_uas(a)
    if a.mode == "send":
        if not a.port or not a.ruri or not a.from_ or not a.expect:
            p.error("send needs --port, --ruri, --from and --expect")
        return mode_send(a)
    if not a.log or not a.call_id:
        p.error("seen needs --log and --call-id")
    return mode_seen(a)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.exit(1)
    except Exception as e:  # usage-level failures (connection refused...)
        print("policy_sip: %s" % e)
        sys.exit(1)
