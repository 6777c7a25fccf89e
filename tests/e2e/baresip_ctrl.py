"""baresip_ctrl.py PORT COMMAND [PARAMS]: runs one command in a baresip
started by an end-to-end test, through its ctrl_tcp module (JSON in
netstrings on 127.0.0.1:PORT), and prints baresip's answer; exit 0 when
baresip says ok, 1 otherwise (events that come first are skipped)."""
import json
import socket
import sys


def main():
    port, cmd = int(sys.argv[1]), sys.argv[2]
    params = sys.argv[3] if len(sys.argv) > 3 else ""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    d = json.dumps({"command": cmd, "params": params, "token": "e2e"}).encode()
    s.sendall(b"%d:%s," % (len(d), d))
    buf = b""
    while True:
        n, sep, rest = buf.partition(b":")
        if sep and n.isdigit() and len(rest) > int(n):
            msg = json.loads(rest[:int(n)])
            buf = rest[int(n) + 1:]
            if msg.get("response"):
                print(json.dumps(msg))
                return 0 if msg.get("ok") else 1
            continue
        c = s.recv(4096)
        if not c:
            print("baresip closed the control connection")
            return 1
        buf += c


if __name__ == "__main__":
    sys.exit(main())
