#!/usr/bin/env python3
"""cluster_check.py - Redis Cluster checks for test_cluster.sh, on
redis_check.py's RESP client (stdlib only).  Keys go to the node that
serves their slot (CRC16 of the key, mod 16384, from CLUSTER SLOTS of the
first node); every node's connection is pipelined.

  cluster_check.py --host H [--port P] CHECK [ARGS]

  write PREFIX COUNT   SET PREFIX:I v:I for I in 0..COUNT-1, pipelined on one
                       connection per node; every reply must be OK (a
                       MOVED would mean a wrong slot map, a CLUSTERDOWN a
                       node that does not see the cluster ok)
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
  settle KNOWN SECONDS [HOST...]
                       wait, SECONDS at most, until the --host node and
                       every HOST say cluster_state:ok, 16384 slots assigned
                       and KNOWN nodes, and name the same master for every
                       slot (CLUSTER SLOTS); then says how long that took
                       and what disagreed first.  Each node learns a
                       failover from the new master's own messages, in its
                       own time: until then it may answer CLUSTERDOWN or
                       MOVED, or give another slot map
  sniff IFACE SECONDS PORT
                       count, for SECONDS, the TCP frames on IFACE (both
                       directions, sniff.py) from or to PORT; prints the
                       count

Exit status 0 when the check passed; otherwise a message on stderr and 1:
one line that names the node, and for a key its slot and the reply (the
test shows the last lines of a failed check).
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


def where(addr):
    return "%s:%d" % addr


# What a node's connection may raise besides an error reply: refused,
# reset, closed mid-reply, timed out, not RESP.
CONN_ERRORS = (OSError, EOFError, ValueError)


class Cluster:
    """One connection per node, and the slot map, from CLUSTER SLOTS."""

    def __init__(self, args):
        self.args = args
        self.conns = {}
        self.first = (args.host, args.port)
        first = self.conn(self.first)
        try:
            slots = first.call("CLUSTER", "SLOTS")
        except (RespError,) + CONN_ERRORS as e:
            sys.exit("CLUSTER SLOTS on %s: %r" % (where(self.first), e))
        self.node = [None] * 16384
        for lo, hi, master, *_ in slots:
            addr = (master[0].decode(), int(master[1]))
            for s in range(lo, hi + 1):
                self.node[s] = addr
        if None in self.node:
            sys.exit("CLUSTER SLOTS of %s leaves slot %d unserved"
                     % (where(self.first), self.node.index(None)))

    @staticmethod
    def conn_to(args):
        a = argparse.Namespace(host=args.host, port=args.port, bind=None,
                               timeout=2)
        return Conn(a)

    def conn(self, addr):
        if addr not in self.conns:
            a = argparse.Namespace(host=addr[0], port=addr[1], bind=None,
                                   timeout=self.args.timeout)
            try:
                self.conns[addr] = Conn(a)
            except OSError as e:
                sys.exit("connecting to %s: %r" % (where(addr), e))
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
            try:
                for k in part:
                    c.send("GET", k)
                got = [c.reply() for k in part]
            except CONN_ERRORS as e:
                sys.exit("GET %s.. on %s: %r" % (part[0], where(addr), e))
            for k, g in zip(part, got):
                if g != want[k]:
                    if bad < 5:
                        print("%s (slot %d) on %s: %r, want %r" % (
                            k, slot_of(k), where(addr), g, want[k]),
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


def set_all(cl, addr, part, *after):
    """SET every key of part to v:I, then the commands after, pipelined on
    addr's connection; returns the replies of the commands after.  Exits
    at the first SET not OK (or a connection error), naming the key, its
    slot, the node and the reply."""
    c, what, r = cl.conn(addr), "SET %s" % part[0], None
    try:
        for k in part:
            c.send("SET", k, "v:" + k.rsplit(":", 1)[1])
        for cmd in after:
            c.send(*cmd)
        for k in part:
            what, r = "SET %s (slot %d)" % (k, slot_of(k)), c.reply()
            if r != b"OK":
                break
        else:
            what = "%s after SET %s" % (after[0][0] if after else "", k)
            return [c.reply() for _ in after]
    except CONN_ERRORS as e:
        r = e
    sys.exit("%s on %s: %r (slot map of %s)" % (
        what, where(addr), r, where(cl.first)))


def check_write(args):
    cl = Cluster(args)
    groups = cl.by_node([key(args.prefix, i) for i in range(args.count)])
    for addr, keys in groups.items():
        for s in range(0, len(keys), 1000):
            set_all(cl, addr, keys[s:s + 1000])
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
    acked = 0
    with open(args.out, "w") as out:
        for s in range(0, len(keys), BATCH):
            part = keys[s:s + BATCH]
            n, = set_all(cl, me, part, ("WAIT", 1, 5000))
            if not isinstance(n, int):
                sys.exit("WAIT on %s: %r" % (where(me), n))
            if n >= 1:
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


def node_view(addr, timeout):
    """What the node at addr says: (cluster_state, slots assigned, known
    nodes, the master of each slot), or a string: why it said nothing."""
    a = argparse.Namespace(host=addr[0], port=addr[1], bind=None,
                           timeout=timeout)
    try:
        c = Conn(a)
        try:
            info = c.call("CLUSTER", "INFO").decode()
            slots = c.call("CLUSTER", "SLOTS")
        finally:
            c.close()
    except (RespError,) + CONN_ERRORS as e:
        return repr(e)
    f = dict(ln.split(":", 1) for ln in info.split("\r\n") if ":" in ln)
    owner = [None] * 16384
    for lo, hi, master, *_ in slots:
        owner[lo:hi + 1] = [where((master[0].decode(), int(master[1])))] * (
            hi + 1 - lo)
    return (f.get("cluster_state"), int(f.get("cluster_slots_assigned", -1)),
            int(f.get("cluster_known_nodes", -1)), owner)


def disagreement(nodes, known, timeout):
    """Why the nodes do not agree yet (a string), or None."""
    ref = None
    for addr in nodes:
        v = node_view(addr, timeout)
        if isinstance(v, str):
            return "%s: %s" % (where(addr), v)
        state, assigned, nknown, owner = v
        if state != "ok" or assigned != 16384 or nknown != known:
            return "%s: cluster_state %s, %d slots, %d nodes" % (
                where(addr), state, assigned, nknown)
        if ref is None:
            ref = (addr, owner)
            continue
        bad = [s for s in range(16384) if owner[s] != ref[1][s]]
        if bad:
            return "%s gives slot %d to %s, %s to %s (%d slots differ)" % (
                where(ref[0]), bad[0], ref[1][bad[0]], where(addr),
                owner[bad[0]], len(bad))
    return None


def check_settle(args):
    nodes = [(args.host, args.port)] + [(h, args.port) for h in args.hosts]
    timeout = min(args.timeout, 5)
    t0 = time.monotonic()
    first = last = disagreement(nodes, args.known, timeout)
    while last:
        if time.monotonic() - t0 > args.seconds:
            sys.exit("the nodes did not agree in %.0f s: %s (at first: %s)"
                     % (args.seconds, last, first))
        time.sleep(0.1)
        last = disagreement(nodes, args.known, timeout)
    print("%d nodes agree after %.1f s%s" % (
        len(nodes), time.monotonic() - t0,
        "; at first " + first if first else ""), file=sys.stderr)
    return 0


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
    p = sub.add_parser("settle")
    p.add_argument("known", type=int)
    p.add_argument("seconds", type=float)
    p.add_argument("hosts", nargs="*")
    p = sub.add_parser("sniff")
    p.add_argument("iface")
    p.add_argument("seconds", type=float)
    p.add_argument("bus_port", type=int)
    args = ap.parse_args()
    return {"write": check_write, "verify": check_verify, "verify-list": check_verify_list,
            "write-wait": check_write_wait, "takeover": check_takeover,
            "settle": check_settle,
            "sniff": check_sniff}[args.check](args)


if __name__ == "__main__":
    sys.exit(main())
