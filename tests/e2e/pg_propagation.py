#!/usr/bin/env python3
"""pg_propagation.py — how fast a change made with the CLI on a PostgreSQL
store is in force at running edges (tests/e2e/110-store-postgresql.sh,
111-pool.sh, bench/pool.sh).

  pg_propagation.py --fedge BIN --config INI --log EDGE_LOG [--log ...]
                    --psql PSQL --pg-dir DIR --pg-port PORT [--changes N]
                    [--max-ms MS]

Makes N changes (block / remove a domain) with `fedge ... -c INI`; for each,
reads the commit time of the generation it made from PostgreSQL
(pg_xact_commit_timestamp: the cluster runs with track_commit_timestamp)
and waits for the "settings loaded ... generation=G" line in every edge
log given (UTC, milliseconds; same clock). One delay per change and edge.
Prints p50, p99 and max of commit -> loaded, and of CLI start -> loaded
(process start included). Exit 0 when the largest commit -> loaded delay
is at most MS (default 200)."""
import argparse
import datetime
import re
import subprocess
import sys
import time


def utc(text):
    return datetime.datetime.fromisoformat(text).timestamp()


def main():
    p = argparse.ArgumentParser()
    for a in ("--fedge", "--config", "--psql", "--pg-dir", "--pg-port"):
        p.add_argument(a, required=True)
    p.add_argument("--log", action="append", required=True)
    p.add_argument("--changes", type=int, default=20)
    p.add_argument("--max-ms", type=float, default=200)
    o = p.parse_args()
    commit_d, cli_d = [], []
    for i in range(o.changes):
        dom = "m%d.test" % (i - i % 2)
        args = ["domain", "block" if i % 2 == 0 else "remove", dom]
        t0 = time.time()
        subprocess.run([o.fedge] + args + ["-c", o.config], check=True, stdout=subprocess.DEVNULL)
        out = subprocess.run(
            ["runuser", "-u", "postgres", "--", o.psql, "-X", "-q", "-At", "-h", o.pg_dir, "-p",
             o.pg_port, "-U", "postgres", "-d", "fedge", "-c",
             "SELECT value, to_char(pg_xact_commit_timestamp(xmin) AT TIME ZONE 'UTC', "
             "'YYYY-MM-DD\"T\"HH24:MI:SS.US') FROM meta WHERE key = 'generation'"],
            check=True, capture_output=True, text=True).stdout.strip()
        gen, when = out.split("|")
        committed = utc(when + "+00:00")
        pat = re.compile(r"^(\S+) .*settings loaded.*generation=%s\b" % gen)
        for log in o.log:
            seen = None
            deadline = time.time() + 5
            while seen is None and time.time() < deadline:
                with open(log, errors="replace") as f:
                    for line in f:
                        m = pat.match(line)
                        if m:
                            seen = utc(m.group(1).replace("Z", "+00:00"))
                            break
                if seen is None:
                    time.sleep(0.005)
            if seen is None:
                print("change %d (generation %s): not loaded by %s within 5 s" % (i, gen, log))
                return 1
            commit_d.append((seen - committed) * 1000)
            cli_d.append((seen - t0) * 1000)
    for name, d in (("commit -> edge loaded", commit_d), ("CLI start -> edge loaded", cli_d)):
        d = sorted(d)
        print("%s over %d changes x %d edges: p50 %.0f ms, p99 %.0f ms, max %.0f ms"
              % (name, o.changes, len(o.log), d[len(d) // 2], d[min(len(d) - 1, len(d) * 99 // 100)],
                 d[-1]))
    return 0 if max(commit_d) <= o.max_ms else 1


if __name__ == "__main__":
    sys.exit(main())
