#!/usr/bin/env python3
"""sipclient.py — a small SIP-over-TLS peer for the end-to-end tests and the
proxy benchmark: probe the handshake, send raw bytes, hold many connections.

Every mode prints one line per fact it observed and exits 0 only when what
the caller asked for (--expect...) was seen; 1 otherwise; 3 on usage errors.

  options  send OPTIONS to the edge, expect a status (default 200)
  refused  expect the edge to refuse us: a TLS alert or a close before any
           SIP response (a handshake that "succeeds" on our side and is then
           torn down, as TLS 1.3 does for a bad client certificate, counts)
  send     send a file's bytes as is; --expect-status N and/or --expect-close
  hold     open --count connections (each one verified), then either run
           --check (OPTIONS on every connection + one fresh connection) or,
           with --ready FILE, write the count there and hold until SIGTERM
"""
import argparse
import asyncio
import os
import random
import resource
import signal
import socket
import ssl
import sys
import time

from sip_helper import AsyncStream, Stream, status_of

EDGE_NAME = "edge.contoso.test"


def make_ctx(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(a.ca)
    ctx.check_hostname = True
    if a.tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if a.cert:
        ctx.load_cert_chain(os.path.join(a.pki, a.cert + ".crt"),
                            os.path.join(a.pki, a.cert + ".key"))
    return ctx


def options_bytes(ruri, n=0, via_host="127.0.0.1", via_port=5061):
    branch = "z9hG4bK-py-%d-%d-%08x" % (os.getpid(), n, random.getrandbits(32))
    return ("OPTIONS %s SIP/2.0\r\n"
            "Via: SIP/2.0/TLS %s:%d;branch=%s\r\n"
            "Max-Forwards: 70\r\n"
            "From: <sip:probe@fabrikam.test>;tag=py%d\r\n"
            "To: <%s>\r\n"
            "Call-ID: py-%d-%d-%08x@fabrikam.test\r\n"
            "CSeq: 1 OPTIONS\r\n"
            "Content-Length: 0\r\n\r\n" % (
                ruri, via_host, via_port, branch, n, ruri, os.getpid(), n,
                random.getrandbits(32))).encode()


def connect(a):
    ctx = make_ctx(a)
    raw = socket.create_connection((a.host, a.port), timeout=a.timeout)
    s = ctx.wrap_socket(raw, server_hostname=EDGE_NAME, do_handshake_on_connect=False)
    s.settimeout(a.timeout)
    s.do_handshake()
    return s


def mode_options(a):
    try:
        s = connect(a)
    except (ssl.SSLError, OSError) as e:
        print("handshake failed: %s" % e)
        return 1
    print("handshake ok: %s %s" % (s.version(), s.cipher()[0]))
    s.sendall(options_bytes(a.ruri))
    resp, how = Stream(s).read(a.timeout)
    code, first = status_of(resp)
    print("response: %s (%s)" % (first if resp else "-", how))
    s.close()
    return 0 if code == a.expect_status else 1


def mode_refused(a):
    try:
        s = connect(a)
    except ssl.SSLError as e:
        print("refused at handshake: %s" % (e.reason or e))
        return 0
    except OSError as e:
        print("connect failed: %s" % e)
        return 1  # not listening is not "refused by TLS policy"
    print("handshake completed on our side: %s" % s.version())
    try:
        s.sendall(options_bytes(a.ruri))
    except (ssl.SSLError, OSError) as e:
        print("refused after handshake (send): %s" % e)
        return 0
    resp, how = Stream(s).read(a.timeout)
    code, first = status_of(resp)
    if code is not None:
        print("NOT refused: got a SIP response: %s" % first)
        return 1
    if how == "timeout":
        print("no response and no close within %.1fs" % a.timeout)
        return 1
    print("refused after handshake: %s" % how)
    return 0


def mode_send(a):
    data = open(a.data, "rb").read()
    try:
        s = connect(a)
    except (ssl.SSLError, OSError) as e:
        print("handshake failed: %s" % e)
        return 1
    try:
        s.sendall(data)
    except (ssl.SSLError, OSError) as e:
        print("send failed: %s" % e)
    st = Stream(s)
    ok = True
    if a.expect_status is not None:
        resp, how = st.read(a.timeout)
        code, first = status_of(resp)
        print("response: %s (%s)" % (first if resp else "-", how))
        if code != a.expect_status:
            ok = False
        if a.print_response and resp:
            sys.stdout.write(resp.decode("latin-1", "replace"))
        if a.then_options and how == "ok":
            # A parse error must not cost the connection: it still works.
            s.sendall(options_bytes(a.ruri, 1))
            resp, how = st.read(a.timeout)
            code, first = status_of(resp)
            print("then OPTIONS on the same connection: %s (%s)" % (first if resp else "-", how))
            if code != 200:
                ok = False
        elif a.then_options:
            ok = False
    if a.expect_close:
        # The edge may answer first (a 400) but must then close; anything
        # but a close within the timeout fails.
        seen = b""
        deadline = time.monotonic() + a.timeout
        how = "timeout"
        while time.monotonic() < deadline:
            resp, how = st.read(max(0.05, deadline - time.monotonic()))
            seen += resp
            if how != "ok":
                break
        if seen.strip():
            print("data before close: %r" % seen.split(b"\r\n", 1)[0][:100])
        if how == "timeout":
            print("connection still open after %.1fs" % a.timeout)
            ok = False
        else:
            print("connection closed: %s" % how)
    s.close()
    return 0 if ok else 1


async def _open_one(a, ctx, sem, i, conns, errors):
    async with sem:
        src = a.sources[i % len(a.sources)]
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection(
                a.host, a.port, ssl=ctx, server_hostname=EDGE_NAME,
                local_addr=(src, 0) if src else None), a.timeout)
        except (OSError, ssl.SSLError, asyncio.TimeoutError) as e:
            errors.append("%s" % (e.__class__.__name__ + ": " + str(e)))
            return
        if a.ping:
            # A CRLF ping makes the server finish its side of the handshake
            # (TLS 1.3 client certificates are checked after ours ends).
            w.write(b"\r\n\r\n")
            try:
                pong = await asyncio.wait_for(r.readexactly(2), a.ping_timeout)
                conns.append((r, w, pong == b"\r\n"))
            except (asyncio.TimeoutError, asyncio.IncompleteReadError, OSError, ssl.SSLError) as e:
                if isinstance(e, asyncio.TimeoutError):
                    conns.append((r, w, False))
                else:
                    errors.append("closed after ping: %s" % e.__class__.__name__)
            return
        conns.append((r, w, False))


async def _options_on(r, w, n, a):
    try:
        w.write(options_bytes(a.ruri, n))
        msg = await AsyncStream(r).read(a.timeout)
        return msg is not None and msg.startswith(b"SIP/2.0 200")
    except (asyncio.TimeoutError, asyncio.IncompleteReadError, OSError, ssl.SSLError, ValueError):
        return False


async def _hold(a):
    ctx = make_ctx(a)
    sem = asyncio.Semaphore(a.parallel)
    conns, errors = [], []
    t0 = time.monotonic()
    tasks = [asyncio.ensure_future(_open_one(a, ctx, sem, i, conns, errors)) for i in range(a.count)]
    done, pending = await asyncio.wait(tasks, timeout=a.deadline)
    for t in pending:
        t.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    t1 = time.monotonic()
    print("established: %d of %d in %.1fs%s" % (len(conns), a.count, t1 - t0,
          " (deadline reached, %d attempts cancelled)" % len(pending) if pending else ""))
    if a.ping:
        print("pongs: %d" % sum(1 for c in conns if c[2]))
    if errors:
        print("errors: %d (first: %s)" % (len(errors), errors[0]))
    rc = 0 if len(conns) == a.count else 1
    if a.check:
        await asyncio.sleep(a.settle)
        res = await asyncio.gather(*[_options_on(r, w, n, a) for n, (r, w, _) in enumerate(conns)])
        print("options answered 200 on held connections: %d of %d" % (sum(res), len(conns)))
        if sum(res) != a.count:
            rc = 1
        # One fresh connection while all the others are still open.
        r, w = await asyncio.open_connection(a.host, a.port, ssl=ctx, server_hostname=EDGE_NAME)
        ok = await _options_on(r, w, 999999, a)
        print("fresh connection options: %s" % ("200" if ok else "no 200"))
        if not ok:
            rc = 1
        w.close()
    if a.ready:
        with open(a.ready + ".tmp", "w") as f:
            f.write("%d\n" % len(conns))
        os.rename(a.ready + ".tmp", a.ready)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
        try:
            await asyncio.wait_for(stop.wait(), a.hold_seconds)
        except asyncio.TimeoutError:
            pass
        alive = sum(1 for (r, w, _) in conns if not r.at_eof())
        print("still open at the end: %d" % alive)
    for (_, w, _) in conns:
        w.close()
    return rc


def mode_hold(a):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = a.count + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(want, soft)), hard))
    return asyncio.run(_hold(a))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mode", choices=["options", "refused", "send", "hold"])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pki", required=True, help="folder filled by scripts/gen-certs")
    p.add_argument("--cert", default="edge.fabrikam.test",
                   help="leaf name in --pki to present, '' for none")
    p.add_argument("--ca", help="trust anchors (default PKI/ca.crt)")
    p.add_argument("--tls12", action="store_true", help="cap at TLS 1.2")
    p.add_argument("--ruri", default="sip:" + EDGE_NAME)
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--expect-status", type=int)
    p.add_argument("--expect-close", action="store_true")
    p.add_argument("--print-response", action="store_true")
    p.add_argument("--then-options", action="store_true",
                   help="send: after the response, OPTIONS on the same connection must get 200")
    p.add_argument("--data", help="file to send (mode send)")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--parallel", type=int, default=64, help="handshakes in flight")
    p.add_argument("--sources", default="127.0.0.1",
                   help="comma-separated local addresses to spread connections over")
    p.add_argument("--ping", action="store_true", help="CRLF ping each new connection")
    p.add_argument("--ping-timeout", type=float, default=3.0)
    p.add_argument("--deadline", type=float, default=None,
                   help="hold: stop opening connections after this many seconds")
    p.add_argument("--check", action="store_true")
    p.add_argument("--settle", type=float, default=0.5)
    p.add_argument("--ready")
    p.add_argument("--hold-seconds", type=float, default=600)
    a = p.parse_args()
    a.ca = a.ca or os.path.join(a.pki, "ca.crt")
    a.sources = [s for s in a.sources.split(",") if s]
    if a.mode == "options" and a.expect_status is None:
        a.expect_status = 200
    if a.mode == "send" and not a.data:
        p.error("send needs --data")
    return {"options": mode_options, "refused": mode_refused,
            "send": mode_send, "hold": mode_hold}[a.mode](a)


if __name__ == "__main__":
    sys.exit(main())
