#!/usr/bin/env python3
"""attack.py — the attackers of bench/attack.sh, on loopback only.

storm PORT PKI SECONDS PROCS STATE [--all-certs | --resume]
    PROCS processes each open TLS connections to 127.0.0.1:PORT one after
    the other for SECONDS, from 127.0.5.1-250: even-numbered processes
    present edge.fabrikam.test's certificate, odd ones none (the edge
    refuses those after doing its part of the handshake); with --all-certs
    every process presents it. Each connection is closed as soon as its
    handshake is done. With --resume (implies --all-certs), each process
    keeps the session of its first handshake and offers it on every later
    one (a returning partner). STATE.run appears once handshakes complete;
    at the end STATE receives one line: "OK FAILED RESUMED SECONDS".

flood PORT N SECONDS STATE
    N plain TCP connections from 127.0.6.1-200 (N/200 each), each sending
    the first bytes of a TLS record and nothing more; what the edge closes
    is reopened, for SECONDS. STATE is rewritten every second with
    "N REOPENED".
"""
import multiprocessing
import os
import socket
import ssl
import sys
import time


def storm_one(port, pki, seconds, idx, resume, all_certs, out, running):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(os.path.join(pki, "ca.crt"))
    if idx % 2 == 0 or all_certs:
        ctx.load_cert_chain(os.path.join(pki, "edge.fabrikam.test.crt"),
                            os.path.join(pki, "edge.fabrikam.test.key"))
    ok = failed = resumed = 0
    sess = None
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        src = "127.0.5.%d" % (1 + (idx * 53 + i) % 250)
        i += 1
        s = socket.socket()
        try:
            s.settimeout(5)
            s.bind((src, 0))
            s.connect(("127.0.0.1", port))
            t = ctx.wrap_socket(s, server_hostname="edge.contoso.test", session=sess)
            ok += 1
            running.set()
            if t.session_reused:
                resumed += 1
            if resume and sess is None:
                # TLS 1.3: the ticket follows the handshake; read it
                t.settimeout(0.2)
                try:
                    t.recv(1)
                except (socket.timeout, ssl.SSLError, OSError):
                    pass
                sess = t.session
            t.close()
        except (OSError, ssl.SSLError):
            failed += 1
            s.close()
    out.put((ok, failed, resumed))


def storm(argv):
    port, pki, seconds, procs, state = int(argv[0]), argv[1], float(argv[2]), int(argv[3]), argv[4]
    resume = "--resume" in argv
    all_certs = resume or "--all-certs" in argv
    q = multiprocessing.Queue()
    running = multiprocessing.Event()
    t0 = time.monotonic()
    ps = [multiprocessing.Process(target=storm_one, args=(port, pki, seconds, i, resume, all_certs, q, running))
          for i in range(procs)]
    for p in ps:
        p.start()
    if running.wait(30):
        open(state + ".run", "w").close()  # the storm is on: bench/attack.sh starts its load
    res = [q.get() for _ in ps]
    for p in ps:
        p.join()
    took = time.monotonic() - t0
    ok, failed, resumed = (sum(r[k] for r in res) for k in range(3))
    with open(state + ".tmp", "w") as f:
        f.write("%d %d %d %.2f\n" % (ok, failed, resumed, took))
    os.replace(state + ".tmp", state)


def flood(argv):
    port, n, seconds, state = int(argv[0]), int(argv[1]), float(argv[2]), argv[3]
    srcs = ["127.0.6.%d" % (1 + i % 200) for i in range(n)]

    def opn(i):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.bind((srcs[i], 0))
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        except OSError:
            pass
        return s

    socks = [opn(i) for i in range(n)]
    time.sleep(0.5)
    for s in socks:
        try:
            s.send(b"\x16\x03\x01")  # the start of a TLS record, never finished
        except OSError:
            pass
    reopened, t0, last = 0, time.monotonic(), 0.0
    while time.monotonic() - t0 < seconds:
        for i, s in enumerate(socks):
            try:
                dead = s.recv(1) == b""
            except BlockingIOError:
                dead = False
            except OSError:
                dead = True
            if dead:
                s.close()
                socks[i] = opn(i)
                reopened += 1
        if time.monotonic() - last >= 1:
            with open(state + ".tmp", "w") as f:
                f.write("%d %d\n" % (n, reopened))
            os.replace(state + ".tmp", state)
            last = time.monotonic()
        time.sleep(0.2)


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("storm", "flood"):
        sys.exit(__doc__)
    {"storm": storm, "flood": flood}[sys.argv[1]](sys.argv[2:])
