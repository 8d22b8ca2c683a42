#!/usr/bin/env python3
"""cluster_check.py - Redis Cluster checks for test_cluster.sh, on
redis_check.py's RESP client (stdlib only).  Keys go to the node that
serves their slot (CRC16 of the key, mod 16384, from CLUSTER SLOTS of the
first node); every node's connection is pipelined.

  cluster_check.py --host H [--port P] CHECK [ARGS]

  write PREFIX COUNT   SET PREFIX:I v:I for I in 0..COUNT-1, pipelined on one
                       connection per node; every reply must be OK (a
                       MOVED would mean a wrong slot map)
  verify PREFIX COUNT  GET PREFIX:0 .. PREFIX:COUNT-1 on fresh connections,
                       each must be v:I
  write-wait PREFIX COUNT OUT
                       COUNT keys PREFIX:I whose slot the --host node
                       serves (it must have a replica), SET v:I in batches
                       of 100, each batch followed by WAIT 1 5000; the
                       indices of the batches a replica acknowledged go to
                       OUT, one a line
  verify-list PREFIX FILE
                       verify the indices listed in FILE
  takeover PID SECONDS kill -9 PID (a master's redis-server), then ask the
                       --host node (its replica) for its role every 5 ms
                       until it says role:master; prints the milliseconds
                       from the kill, or fails after SECONDS
  sniff IFACE SECONDS PORT
                       count, for SECONDS, the TCP frames on IFACE (both
                       directions, sniff.py) from or to PORT; prints the
                       count

Exit status 0 when the check passed; otherwise a message on stderr and 1.
"""
import argparse
import os
import signal
import sys
import time

sys.dont_write_bytecode = True	# no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from redis_check import Conn, RespError  # noqa: E402
import sniff  # noqa: E402

BATCH = 100


def crc16_table():
    tab = []
    for i in range(256):
        c = i << 8
        for _ in range(8):
            c = ((c << 1) ^ 0x1021) if c & 0x8000 else (c << 1)
        tab.append(c & 0xFFFF)
    return tab


TAB = crc16_table()


def slot_of(key):
    """Redis Cluster's slot of a key without hash tags (CRC16/XMODEM)."""
    c = 0
    for b in key.encode():
        c = ((c << 8) ^ TAB[((c >> 8) ^ b) & 0xFF]) & 0xFFFF
    return c % 16384


class Cluster:
    """One connection per node, and the slot map, from CLUSTER SLOTS."""

    def __init__(self, args):
        self.args = args
        self.conns = {}
        first = self.conn((args.host, args.port))
        self.node = [None] * 16384
        for lo, hi, master, *_ in first.call("CLUSTER", "SLOTS"):
            addr = (master[0].decode(), int(master[1]))
            for s in range(lo, hi + 1):
                self.node[s] = addr
        if None in self.node:
            sys.exit("CLUSTER SLOTS leaves slot %d unserved"
                     % self.node.index(None))

    @staticmethod
    def conn_to(args):
        a = argparse.Namespace(host=args.host, port=args.port, bind=None,
                               timeout=2)
        return Conn(a)

    def conn(self, addr):
        if addr not in self.conns:
            a = argparse.Namespace(host=addr[0], port=addr[1], bind=None,
                                   timeout=self.args.timeout)
            self.conns[addr] = Conn(a)
        return self.conns[addr]

    def by_node(self, keys):
        out = {}
        for k in keys:
            out.setdefault(self.node[slot_of(k)], []).append(k)
        return out


def key(prefix, i):
    return "%s:%d" % (prefix, i)


def verify(args, idx):
    cl = Cluster(args)
    want = {key(args.prefix, i): b"v:%d" % i for i in idx}
    bad = 0
    for addr, keys in cl.by_node(want).items():
        c = cl.conn(addr)
        for s in range(0, len(keys), 1000):
            part = keys[s:s + 1000]
            for k in part:
                c.send("GET", k)
            for k in part:
                got = c.reply()
                if got != want[k]:
                    if bad < 5:
                        print("%s on %s:%d: %r, want %r" % (
                            k, addr[0], addr[1], got, want[k]),
                            file=sys.stderr)
                    bad += 1
    print("verified %d keys, %d wrong or missing" % (len(want), bad),
          file=sys.stderr)
    return 0 if bad == 0 else 1


def check_verify(args):
    return verify(args, range(args.count))


def check_verify_list(args):
    with open(args.file) as f:
        idx = [int(x) for x in f.read().split()]
    if not idx:
        sys.exit("%s: no acknowledged keys" % args.file)
    return verify(args, idx)


def check_write(args):
    cl = Cluster(args)
    groups = cl.by_node([key(args.prefix, i) for i in range(args.count)])
    for addr, keys in groups.items():
        c = cl.conn(addr)
        for s in range(0, len(keys), 1000):
            part = keys[s:s + 1000]
            for k in part:
                c.send("SET", k, "v:" + k.rsplit(":", 1)[1])
            for k in part:
                r = c.reply()
                if r != b"OK":
                    sys.exit("SET %s on %s:%d: %r" % (k, addr[0], addr[1], r))
    print("wrote %d keys over %d nodes" % (args.count, len(groups)),
          file=sys.stderr)
    return 0


def check_write_wait(args):
    cl = Cluster(args)
    me, keys, i = (args.host, args.port), [], 0
    while len(keys) < args.count:
        if cl.node[slot_of(key(args.prefix, i))] == me:
            keys.append(key(args.prefix, i))
        i += 1
    groups = {me: keys}
    acked = 0
    with open(args.out, "w") as out:
        for addr, keys in groups.items():
            c = cl.conn(addr)
            for s in range(0, len(keys), BATCH):
                part = keys[s:s + BATCH]
                for k in part:
                    c.send("SET", k, "v:" + k.rsplit(":", 1)[1])
                c.send("WAIT", 1, 5000)
                for _ in part:
                    if c.reply() != b"OK":
                        sys.exit("SET on %s:%d failed" % addr)
                if c.reply() >= 1:
                    out.write("".join(k.rsplit(":", 1)[1] + "\n"
                                      for k in part))
                    acked += len(part)
    print("wrote %d keys, %d acknowledged by a replica" % (
        args.count, acked), file=sys.stderr)
    return 0 if acked == args.count else 1


def role_of(conn):
    """The role in INFO replication of conn's node, or None."""
    info = conn.call("INFO", "replication")
    for line in info.decode(errors="replace").splitlines():
        if line.startswith("role:"):
            return line[5:].strip()
    return None


def check_takeover(args):
    conn = Cluster.conn_to(args)
    t0 = time.monotonic()
    os.kill(args.pid, signal.SIGKILL)
    deadline = t0 + args.seconds
    while time.monotonic() < deadline:
        try:
            conn = conn or Cluster.conn_to(args)
            if role_of(conn) == "master":
                print(int((time.monotonic() - t0) * 1000))
                return 0
        except (OSError, EOFError, ValueError, RespError) as e:
            print("INFO replication: %s" % e, file=sys.stderr)
            conn = None
        time.sleep(0.005)
    sys.exit("%s:%d is no master %.0f s after the kill" % (
        args.host, args.port, args.seconds))


def check_sniff(args):
    def bus(frame):
        t = sniff.ipv4_tcp(frame)
        return t is not None and args.bus_port in t[2:]

    print(sniff.count(args.iface, args.seconds, bus)[0])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=6379)
    ap.add_argument("--timeout", type=float, default=30)
    sub = ap.add_subparsers(dest="check", required=True)
    p = sub.add_parser("write")
    p.add_argument("prefix")
    p.add_argument("count", type=int)
    p = sub.add_parser("verify")
    p.add_argument("prefix")
    p.add_argument("count", type=int)
    p = sub.add_parser("verify-list")
    p.add_argument("prefix")
    p.add_argument("file")
    p = sub.add_parser("write-wait")
    p.add_argument("prefix")
    p.add_argument("count", type=int)
    p.add_argument("out")
    p = sub.add_parser("takeover")
    p.add_argument("pid", type=int)
    p.add_argument("seconds", type=float)
    p = sub.add_parser("sniff")
    p.add_argument("iface")
    p.add_argument("seconds", type=float)
    p.add_argument("bus_port", type=int)
    args = ap.parse_args()
    return {"write": check_write, "verify": check_verify, "verify-list": check_verify_list,
            "write-wait": check_write_wait, "takeover": check_takeover,
            "sniff": check_sniff}[args.check](args)


if __name__ == "__main__":
    sys.exit(main())
