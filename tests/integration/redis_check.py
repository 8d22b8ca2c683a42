#!/usr/bin/env python3
"""redis_check.py - Redis checks that redis-cli cannot make, for
test_redis.sh.  A minimal RESP2 client on the stdlib socket module only
(no redis-py), so that every byte on the wire is ours and the kernel's TCP
is the only other party.

  redis_check.py --host H [--port P] [--bind A] CHECK [ARGS]

  bigvalue BYTES       SET a random value of BYTES bytes, GET it back on the
                       same connection, compare sha256; also GETRANGE of its
                       last 16 bytes
  multi                MULTI/EXEC (queued replies, one array back), DISCARD,
                       and WATCH: an EXEC after a concurrent write aborts
  pubsub SUBS MSGS     SUBS subscribers on SUBS connections, one publisher:
                       every PUBLISH reports SUBS receivers and every
                       subscriber gets every message, in order, exactly once
  partial WHAT         a client that stops mid-request, for the caller to
                       kill -9: WHAT = request (half of a 1 MiB SET sent) or
                       reply (GET of a big key, its reply left unread); prints
                       "ready" when it is stuck, then sleeps
  hold CONNS           open CONNS connections, then PING on each, print
                       "ready", then sleep (the caller kills the server or us)
  order ROUNDS         ROUNDS times: UNSUBSCRIBE sent on one connection,
                       then PUBLISH on another without waiting: the server
                       must see them in that order (the kernel's epoll
                       reports sockets in the order they became readable),
                       so every PUBLISH reaches 0 subscribers
  protoerror ROUNDS    ROUNDS times: one write of a protocol error and 64 KiB
                       more, which the server never reads: it replies
                       "-ERR Protocol error..." and closes with input unread
                       (a reset); the reply must arrive before the reset, as
                       on the kernel, where close() finds it sent already

Exit status 0 when the check passed; otherwise a message on stderr and 1.
Every socket operation has a timeout (--timeout, default 30 s).
"""
import argparse
import hashlib
import os
import socket
import sys
import time


def resp(*argv):
    """One command as a RESP array of bulk strings (str, bytes, int)."""
    out = [b"*%d\r\n" % len(argv)]
    for a in argv:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = b"%d" % a
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class RespError(Exception):
    """An error reply (-ERR ...) from the server."""


class Conn:
    """One RESP2 connection: send commands, read replies."""

    def __init__(self, args):
        self.sock = socket.create_connection(
            (args.host, args.port), timeout=args.timeout,
            source_address=(args.bind, 0) if args.bind else None)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rf = self.sock.makefile("rb")

    def send(self, *argv):
        self.sock.sendall(resp(*argv))

    def _line(self):
        line = self.rf.readline()
        if not line.endswith(b"\r\n"):
            raise EOFError("connection closed mid-reply (%r)" % line)
        return line[:-2]

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest
        if kind == b"-":
            return RespError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.rf.read(n + 2)
            if len(data) != n + 2 or data[-2:] != b"\r\n":
                raise EOFError("short bulk reply")
            return data[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise ValueError("not RESP: %r" % line[:80])

    def call(self, *argv):
        self.send(*argv)
        r = self.reply()
        if isinstance(r, RespError):
            raise r
        return r

    def close(self):
        self.rf.close()
        self.sock.close()


def expect(what, got, want):
    if got != want:
        sys.exit("%s: got %r, want %r" % (what, got, want))


def check_bigvalue(args):
    size = int(args.rest[0])
    value = os.urandom(size)
    want = hashlib.sha256(value).hexdigest()
    c = Conn(args)
    expect("SET big", c.call("SET", "fn:big", value), b"OK")
    got = c.call("GET", "fn:big")
    if got is None or len(got) != size:
        sys.exit("GET big: %s bytes back, want %d"
                 % (None if got is None else len(got), size))
    have = hashlib.sha256(got).hexdigest()
    expect("sha256 of the value read back", have, want)
    expect("STRLEN", c.call("STRLEN", "fn:big"), size)
    expect("GETRANGE tail", c.call("GETRANGE", "fn:big", size - 16, size - 1),
           value[-16:])
    c.close()
    print("# bigvalue: %d bytes, sha256 %s, round trip equal" % (size, want),
          file=sys.stderr)


def check_multi(args):
    c, other = Conn(args), Conn(args)
    c.call("DEL", "fn:m:n", "fn:m:s", "fn:w")
    expect("MULTI", c.call("MULTI"), b"OK")
    for cmd in (("INCR", "fn:m:n"), ("INCRBY", "fn:m:n", 41),
                ("SET", "fn:m:s", "v"), ("GET", "fn:m:s")):
        expect("queued %s" % cmd[0], c.call(*cmd), b"QUEUED")
    expect("EXEC", c.call("EXEC"), [1, 42, b"OK", b"v"])
    # DISCARD drops the queue.
    c.call("MULTI")
    c.call("INCR", "fn:m:n")
    expect("DISCARD", c.call("DISCARD"), b"OK")
    expect("after DISCARD", c.call("GET", "fn:m:n"), b"42")
    # An error inside EXEC fails that command only.
    c.call("MULTI")
    c.call("INCR", "fn:m:s")
    c.call("INCR", "fn:m:n")
    r = c.call("EXEC")
    if not (isinstance(r, list) and len(r) == 2 and
            isinstance(r[0], RespError) and r[1] == 43):
        sys.exit("EXEC with a failing command: %r" % r)
    # WATCH: a write from another connection aborts the transaction.
    c.call("SET", "fn:w", "1")
    expect("WATCH", c.call("WATCH", "fn:w"), b"OK")
    other.call("SET", "fn:w", "2")
    c.call("MULTI")
    c.call("SET", "fn:w", "3")
    expect("EXEC after a concurrent write", c.call("EXEC"), None)
    expect("the other write won", c.call("GET", "fn:w"), b"2")
    c.close()
    other.close()
    print("# multi: EXEC, DISCARD, error inside EXEC, WATCH abort: ok",
          file=sys.stderr)


def check_pubsub(args):
    nsubs, nmsgs = int(args.rest[0]), int(args.rest[1])
    chan = "fn:chan:%d" % os.getpid()
    subs = []
    for i in range(nsubs):
        s = Conn(args)
        s.send("SUBSCRIBE", chan)
        subs.append(s)
    for i, s in enumerate(subs):
        expect("subscriber %d confirmation" % i, s.reply(),
               [b"subscribe", chan.encode(), 1])
    pub = Conn(args)
    expect("PUBSUB NUMSUB", pub.call("PUBSUB", "NUMSUB", chan),
           [chan.encode(), nsubs])
    for m in range(nmsgs):
        expect("PUBLISH %d receivers" % m,
               pub.call("PUBLISH", chan, "msg-%d-%s" % (m, "x" * (m % 97))),
               nsubs)
    for i, s in enumerate(subs):
        for m in range(nmsgs):
            want = [b"message", chan.encode(),
                    ("msg-%d-%s" % (m, "x" * (m % 97))).encode()]
            expect("subscriber %d message %d" % (i, m), s.reply(), want)
    for s in subs:
        s.send("UNSUBSCRIBE", chan)
        s.reply()
        s.close()
    expect("PUBSUB NUMSUB after", pub.call("PUBSUB", "NUMSUB", chan),
           [chan.encode(), 0])
    pub.close()
    print("# pubsub: %d subscribers x %d messages, every one delivered "
          "in order" % (nsubs, nmsgs), file=sys.stderr)


def check_partial(args):
    what = args.rest[0]
    c = Conn(args)
    if what == "request":
        n = 1 << 20
        head = b"*3\r\n$3\r\nSET\r\n$10\r\nfn:partial\r\n$%d\r\n" % n
        c.sock.sendall(head + b"p" * (n // 2))
    elif what == "reply":
        c.call("SET", "fn:partial:big", b"r" * (8 << 20))
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.send("GET", "fn:partial:big")
        c.sock.recv(100)
    else:
        sys.exit("partial: request or reply, not %r" % what)
    print("ready", flush=True)
    time.sleep(3600)


def check_hold(args):
    # every connection first, then the PINGs: with the server stopped, the
    # connections it has not taken wait in its listener's queue
    conns = [Conn(args) for _ in range(int(args.rest[0]))]
    for c in conns:
        expect("PING", c.call("PING"), b"PONG")
    print("ready", flush=True)
    time.sleep(3600)


def check_order(args):
    sub, pub = Conn(args), Conn(args)
    late = 0
    rounds = int(args.rest[0])
    for i in range(rounds):
        expect("SUBSCRIBE", sub.call("SUBSCRIBE", "fn:order"),
               [b"subscribe", b"fn:order", 1])
        sub.send("UNSUBSCRIBE", "fn:order")
        pub.send("PUBLISH", "fn:order", "m%d" % i)
        got = pub.reply()
        r = sub.reply()
        if r and r[0] == b"message":	# delivered before the unsubscribe
            r = sub.reply()
        expect("UNSUBSCRIBE", r, [b"unsubscribe", b"fn:order", 0])
        if got != 0:
            late += 1
    if late:
        sys.exit("order: %d of %d PUBLISHes reached the subscriber that had "
                 "unsubscribed just before" % (late, rounds))
    print("# order: %d rounds, every PUBLISH after its UNSUBSCRIBE" % rounds,
          file=sys.stderr)


def check_protoerror(args):
    for i in range(int(args.rest[0])):
        c = Conn(args)
        c.sock.sendall(b"*x\r\n" + b"j" * (64 << 10))
        got = b""
        while True:
            try:
                data = c.sock.recv(4096)
            except ConnectionResetError:
                break
            if not data:
                break
            got += data
        c.sock.close()
        if not got.startswith(b"-ERR Protocol error"):
            sys.exit("protoerror: round %d: got %r before the reset, want "
                     "-ERR Protocol error..." % (i, got[:80]))
    print("# protoerror: %s rounds, every reply before the reset" %
          args.rest[0], file=sys.stderr)


CHECKS = {
    "order": (check_order, 1),
    "protoerror": (check_protoerror, 1),
    "bigvalue": (check_bigvalue, 1),
    "multi": (check_multi, 0),
    "pubsub": (check_pubsub, 2),
    "partial": (check_partial, 1),
    "hold": (check_hold, 1),
}


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, default=6379)
    ap.add_argument("--bind", help="source address")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("check", choices=sorted(CHECKS))
    ap.add_argument("rest", nargs="*")
    args = ap.parse_args()
    fn, nargs = CHECKS[args.check]
    if len(args.rest) != nargs:
        ap.error("%s takes %d argument(s)" % (args.check, nargs))
    try:
        fn(args)
    except (OSError, EOFError, ValueError, RespError) as e:
        sys.exit("%s: %s: %s" % (args.check, type(e).__name__, e))


if __name__ == "__main__":
    main()
