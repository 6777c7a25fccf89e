"""sip_helper.py — the SIP stream framing and message helpers shared by the
end-to-end tools (sipclient.py, policy_sip.py, dnsroute.py): one framer,
header access, the response a simple server sends back, and blocking and
asyncio readers built on the framer. Imported, never run."""
import asyncio
import re
import socket
import ssl
import time

_CLEN = re.compile(rb"^(?:content-length|l)[ \t]*:[ \t]*(\d+)", re.I | re.M)

# Compact header forms (RFC 3261 §7.3.3 and the extensions fedge knows:
# src/sip/headers.txt), long name -> letter.
COMPACT = {"via": "v", "from": "f", "to": "t", "call-id": "i", "contact": "m",
           "content-length": "l", "content-type": "c", "content-encoding": "e",
           "supported": "k", "subject": "s", "event": "o", "allow-events": "u",
           "refer-to": "r", "referred-by": "b", "session-expires": "x"}


def frame(buf):
    """Splits the first complete SIP message off buf (bytes): the header
    block up to the blank line, then Content-Length bytes of body (long or
    compact name, any case, spaces before the colon; none or not a number
    means no body), as RFC 3261 §18.3 frames a stream. CRLF keep-alives in
    front of it (RFC 5626 §3.5.1) are dropped.
    Returns (message, rest), or (None, buf) while more bytes are needed."""
    while buf.startswith(b"\r\n"):
        buf = buf[2:]
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None, buf
    m = _CLEN.search(buf, 0, end)
    total = end + 4 + (int(m.group(1)) if m else 0)
    if len(buf) < total:
        return None, buf
    return buf[:total], buf[total:]


def parse_head(msg):
    """(start line, [[name, value], ...]) of a message's header block, in
    order; folded lines join the header they continue."""
    head = msg.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    lines = head.split("\r\n")
    out = []
    for ln in lines[1:]:
        if ln[:1] in (" ", "\t") and out:
            out[-1][1] += " " + ln.strip()
            continue
        if ":" in ln:
            n, v = ln.split(":", 1)
            out.append([n.strip(), v.strip()])
    return lines[0], out


def body_of(msg):
    return msg.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in msg else b""


def hget(hdrs, name):
    """Values of header name (its compact form too, any case) in hdrs."""
    name = name.lower()
    names = {name, COMPACT.get(name, name)}
    return [v for n, v in hdrs if n.lower() in names]


def status_of(msg):
    """(status code or None, start line) of a message."""
    first = msg.split(b"\r\n", 1)[0].decode("latin-1", "replace")
    parts = first.split(" ", 2)
    if len(parts) >= 2 and parts[0] == "SIP/2.0" and parts[1].isdigit():
        return int(parts[1]), first
    return None, first


def response(hdrs, code, reason, tag):
    """A bodiless response to the request whose headers are hdrs: its Via,
    From, Call-ID and CSeq copied in order (RFC 3261 §8.2.6.2), To with
    tag=TAG added when it has none."""
    out = ["SIP/2.0 %d %s" % (code, reason)]
    for n, v in hdrs:
        ln = n.lower()
        if ln in ("via", "v", "from", "f", "call-id", "i", "cseq"):
            out.append("%s: %s" % (n, v))
        elif ln in ("to", "t"):
            out.append("%s: %s%s" % (n, v, "" if ";tag=" in v else ";tag=" + tag))
    out.append("Content-Length: 0")
    return ("\r\n".join(out) + "\r\n\r\n").encode()


class Stream:
    """SIP messages from a blocking socket (plain or TLS)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def read(self, timeout=None):
        """The next message: (bytes, "ok"); else (the bytes held so far,
        "eof" | "timeout" | "error:WHY"). timeout None: the socket's own."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            msg, self.buf = frame(self.buf)
            if msg is not None:
                return msg, "ok"
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return self.buf, "timeout"
                self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return self.buf, "timeout"
            except ssl.SSLError as e:
                return self.buf, "error:" + (e.reason or str(e))
            except OSError as e:
                return self.buf, "error:" + str(e)
            if not chunk:
                return self.buf, "eof"
            self.buf += chunk


class AsyncStream:
    """SIP messages from an asyncio StreamReader."""

    def __init__(self, reader):
        self.reader = reader
        self.buf = b""

    async def _next(self):
        while True:
            msg, self.buf = frame(self.buf)
            if msg is not None:
                return msg
            chunk = await self.reader.read(65536)
            if not chunk:
                return None
            self.buf += chunk

    async def read(self, timeout=None):
        """The next message, or None at end of stream; asyncio.TimeoutError
        after timeout seconds (None: no limit)."""
        if timeout is None:
            return await self._next()
        return await asyncio.wait_for(self._next(), timeout)
