#!/usr/bin/env python3
"""vsw_prober.py - an app on an internal network that writes to one Redis
and knocks at another (test_vsw_redis.sh; run under libfragnet-preload.so).

  vsw_prober.py --primary IP --replica IP --out FILE [--port P] [--every S]

Every S seconds (0.2): INCR ticks on the primary, over one connection
(made again if it breaks), and one TCP connect to the replica that must
complete within S seconds (then closed).  After each round FILE is
rewritten with one JSON line: incr (the primary's last answer), rounds,
replica_ok (connects that completed), replica_fail, primary_errors
(failed INCRs once the primary had answered one), primary_waits (failed
INCRs before that: the apps start together, and the prober may be up
before the primary listens), last_error (the last failure's text).
Runs until killed.
"""
import argparse
import json
import os
import socket
import time


def write(path, d):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(json.dumps(d) + "\n")
    os.replace(tmp, path)


def incr(conn, addr):
    if conn is None:
        conn = socket.create_connection(addr, timeout=2)
    conn.sendall(b"INCR ticks\r\n")
    line = b""
    while not line.endswith(b"\r\n"):
        chunk = conn.recv(64)
        if not chunk:
            raise ConnectionError("primary closed")
        line += chunk
    if not line.startswith(b":"):
        raise ValueError("answer %r" % line)
    return conn, int(line[1:-2])


def knock(addr, timeout):
    try:
        s = socket.create_connection(addr, timeout=timeout)
    except OSError:
        return False
    s.close()
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--primary", required=True)
    ap.add_argument("--replica", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--port", type=int, default=6379)
    ap.add_argument("--every", type=float, default=0.2)
    a = ap.parse_args()
    st = {"incr": 0, "rounds": 0, "replica_ok": 0, "replica_fail": 0,
          "primary_errors": 0, "primary_waits": 0, "last_error": None}
    conn = None
    while True:
        t0 = time.monotonic()
        try:
            conn, st["incr"] = incr(conn, (a.primary, a.port))
        except (OSError, ValueError) as e:
            st["primary_errors" if st["incr"] else "primary_waits"] += 1
            st["last_error"] = "%s: %s" % (type(e).__name__, e)
            if conn is not None:
                conn.close()
            conn = None
        if knock((a.replica, a.port), a.every):
            st["replica_ok"] += 1
        else:
            st["replica_fail"] += 1
        st["rounds"] += 1
        write(a.out, st)
        time.sleep(max(0.0, a.every - (time.monotonic() - t0)))


if __name__ == "__main__":
    main()
