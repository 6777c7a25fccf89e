#!/usr/bin/env python3
"""hostile.py — hostile XMPP server-to-server streams against fedge's XMPP
listener 127.0.0.1:PORT, each on its own TCP connection, plain text (before
STARTTLS, which TLS-optional partners and every header allow):

  laughs     a "billion laughs" document (DTD with nested entities)
  big        a 10 MB stanza after a valid header
  deep       100 000 nested elements
  header     a stream header that never ends (endless attributes)
  silent     a valid header, then nothing (must be closed by the deadline)

Prints "<case> closed: <stream error condition> after N bytes sent" and exits
0 when the case was closed with the expected condition ("-" for silent:
any close); 1 otherwise.

usage: hostile.py PORT CASE [--timeout S]"""
import argparse
import re
import socket
import sys
import time

HDR = (b"<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
       b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0' "
       b"from='fabrikam.test' to='contoso.test'>")
EXPECT = {"laughs": "restricted-xml", "big": "policy-violation", "deep": "policy-violation",
          "header": "policy-violation", "silent": "connection-timeout"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("case", choices=sorted(EXPECT))
    ap.add_argument("--timeout", type=float, default=30)
    a = ap.parse_args()
    s = socket.create_connection(("127.0.0.1", a.port), timeout=5)
    s.setblocking(False)
    got = b""
    sent = 0
    closed = False

    def pump(data):
        nonlocal got, sent, closed
        view = memoryview(data)
        while view and not closed:
            try:
                n = s.send(view)
                sent += n
                view = view[n:]
            except BlockingIOError:
                time.sleep(0.001)
            except OSError:
                closed = True
            drain()

    def drain():
        nonlocal got, closed
        while True:
            try:
                d = s.recv(65536)
            except BlockingIOError:
                return
            except OSError:
                closed = True
                return
            if not d:
                closed = True
                return
            got += d

    if a.case == "laughs":
        pump(b"<?xml version='1.0'?><!DOCTYPE s [<!ENTITY a 'aaaaaaaaaa'>"
             b"<!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'><!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;'>]>"
             b"<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams'>&c;")
    elif a.case == "big":
        pump(HDR + b"<message><body>")
        chunk = b"x" * 65536
        for _ in range(160):
            if closed:
                break
            pump(chunk)
    elif a.case == "deep":
        pump(HDR)
        for _ in range(1000):
            if closed:
                break
            pump(b"<a>" * 100)
    elif a.case == "header":
        pump(b"<stream:stream xmlns:stream='http://etherx.jabber.org/streams' ")
        for i in range(100000):
            if closed:
                break
            pump(b"a%d='x' " % i)
    elif a.case == "silent":
        pump(HDR)
    end = time.time() + a.timeout
    while not closed and time.time() < end:
        drain()
        time.sleep(0.01)
    m = re.search(rb"<stream:error><([a-z-]+)", got)
    cond = m.group(1).decode() if m else "-"
    print("%s closed: %s after %d bytes sent" % (a.case, cond if closed else "NOT CLOSED", sent))
    return 0 if closed and cond == EXPECT[a.case] else 1


if __name__ == "__main__":
    sys.exit(main())
