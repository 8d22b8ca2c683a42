#!/usr/bin/env python3
"""redis_udp_check.py - checks of the redis-udp module (docs/kvs-udp.md)
for test_redis_udp.sh, on the stdlib socket module. Requests are RESP
arrays built here; replies are read by redis_check.py's RESP reader over
the datagram's bytes.

  redis_udp_check.py --host H --port P [--bind A] CHECK

  commands    redis-benchmark's command set (PING, SET, GET, INCR, LPUSH,
              RPUSH, LPOP, RPOP, SADD, HSET, SPOP, ZADD, ZPOPMIN, LRANGE
              100, MSET 10) one per datagram, every reply exact; LRANGE 300
              answers "reply too large"
  multi       several commands per datagram (replies in order), UDP.TAG
              first, the largest datagram allowed (max_cmds), one more is
              dropped; a too large reply among small ones
  malformed   truncated RESP (every cut of real requests), huge and bad
              lengths, deep nesting, inline commands, an empty datagram
              and 2,000 of random binary garbage: each dropped and counted
              or answered with an error; the server answers after it all
  stats       print UDP.STATS as JSON

Exit status 0 when the check passed; otherwise a message on stderr and 1.
"""
import argparse
import io
import json
import os
import random
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from redis_check import Conn, RespError, resp  # noqa: E402

TOO_LARGE = "ERR udp reply too large"
MAX_REPLY = 1472
MAX_CMDS = MAX_REPLY // len(b"-" + TOO_LARGE.encode() + b"\r\n")


def fail(msg):
    print("redis_udp_check: " + msg, file=sys.stderr)
    sys.exit(1)


class Dgram(Conn):
    """redis_check.Conn's RESP reader over one datagram's bytes."""

    def __init__(self, data):  # pylint: disable=super-init-not-called
        self.rf = io.BytesIO(data)

    def replies(self):
        out = []
        while self.rf.tell() < len(self.rf.getbuffer()):
            out.append(self.reply())
        return out


class Udp:
    def __init__(self, args):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if args.bind:
            self.sock.bind((args.bind, 0))
        self.sock.connect((args.host, args.port))
        self.timeout = args.timeout
        self.tag = 0

    def call(self, *cmds, tries=5):
        """One datagram of cmds (tagged), its replies; retried on loss."""
        self.tag += 1
        tag = b"t%d" % self.tag
        data = resp("UDP.TAG", tag) + b"".join(resp(*c) for c in cmds)
        for _ in range(tries):
            self.sock.send(data)
            r = self.wait(tag)
            if r is not None:
                return r
        fail("no reply to %r" % data[:120])
        return None

    def wait(self, tag, timeout=None):
        self.sock.settimeout(timeout or self.timeout)
        end = time.monotonic() + (timeout or self.timeout)
        while time.monotonic() < end:
            try:
                data = self.sock.recv(65535)
            except socket.timeout:
                return None
            r = Dgram(data).replies()
            if r and r[0] == tag:
                return r[1:]
        return None

    def stats(self):
        r = self.call(("UDP.STATS",))[0]
        return {r[i].decode(): r[i + 1] for i in range(0, len(r), 2)}


def expect(what, got, want):
    if got != want:
        fail("%s: got %r, want %r" % (what, got, want))


def check_commands(u, args):
    p = "c%d:" % os.getpid()
    one = lambda *c: u.call(c)[0]  # noqa: E731
    expect("PING", one("PING"), b"PONG")
    expect("SET", one("SET", p + "key", "xxx"), b"OK")
    expect("GET", one("GET", p + "key"), b"xxx")
    expect("GET missing", one("GET", p + "nokey"), None)
    for i in range(1, 4):
        expect("INCR", one("INCR", p + "counter"), i)
    for i in range(1, 51):
        expect("LPUSH", one("LPUSH", p + "list", "xxx"), i)
    for i in range(51, 101):
        expect("RPUSH", one("RPUSH", p + "list", "xxx"), i)
    expect("LRANGE 100", one("LRANGE", p + "list", 0, 99), [b"xxx"] * 100)
    for i in range(200):
        one("RPUSH", p + "list", "xxx")
    r = one("LRANGE", p + "list", 0, 299)
    expect("LRANGE 300 (too large)", str(r), TOO_LARGE)
    expect("LPOP", one("LPOP", p + "list"), b"xxx")
    expect("RPOP", one("RPOP", p + "list"), b"xxx")
    expect("SADD", one("SADD", p + "set", "element"), 1)
    expect("SADD again", one("SADD", p + "set", "element"), 0)
    expect("SPOP", one("SPOP", p + "set"), b"element")
    expect("SPOP empty", one("SPOP", p + "set"), None)
    expect("HSET", one("HSET", p + "hash", "element", "xxx"), 1)
    expect("ZADD", one("ZADD", p + "zset", 0, "element"), 1)
    expect("ZPOPMIN", one("ZPOPMIN", p + "zset"), [b"element", b"0"])
    mset = []
    for i in range(10):
        mset += [p + "m%d" % i, "v%d" % i]
    expect("MSET", one("MSET", *mset), b"OK")
    expect("MGET", one("MGET", p + "m0", p + "m9"), [b"v0", b"v9"])
    r = one("NOSUCHCOMMAND")
    if not isinstance(r, RespError):
        fail("unknown command: %r" % r)
    r = one("MULTI")
    if not isinstance(r, RespError):
        fail("MULTI over UDP: %r" % r)
    print("commands ok", file=sys.stderr)


def check_multi(u, args):
    p = "m%d:" % os.getpid()
    r = u.call(("SET", p + "a", "1"), ("GET", p + "a"), ("INCR", p + "a"),
               ("INCR", p + "a"), ("GET", p + "a"), ("PING",),
               ("RPUSH", p + "l", "x", "y"), ("LRANGE", p + "l", 0, -1))
    expect("8 in one", r, [b"OK", b"1", 2, 3, b"3", b"PONG", 2,
                           [b"x", b"y"]])
    # The tag takes one of the max_cmds places.
    r = u.call(*[("INCR", p + "n")] * (MAX_CMDS - 1))
    expect("max_cmds", r, list(range(1, MAX_CMDS)))
    before = u.stats()["drop_too_many"]
    u.sock.send(resp("UDP.TAG", "many") + resp("INCR", p + "n") * MAX_CMDS)
    if u.wait(b"many", timeout=0.5) is not None:
        fail("a datagram of max_cmds + 1 commands was answered")
    expect("drop_too_many", u.stats()["drop_too_many"], before + 1)
    expect("nothing ran", u.call(("GET", p + "n"))[0], b"%d" % (MAX_CMDS - 1))
    big = "z" * 1000
    r = u.call(("SET", p + "big", big), ("GET", p + "big"),
               ("GET", p + "big"), ("PING",))
    expect("too large among small", [str(x) if isinstance(x, RespError)
                                     else x for x in r],
           [b"OK", big.encode(), TOO_LARGE, b"PONG"])
    r = u.call(("UDP.TAG", "inner"), ("ECHO", "e"))
    expect("UDP.TAG not first, ECHO", r, [b"inner", b"e"])
    print("multi ok", file=sys.stderr)


def malformed_set(rnd):
    reqs = [resp("SET", "k", "v" * 20), resp("GET", "k"),
            resp("MSET", "a", "1", "b", "2")]
    out = []
    for r in reqs:
        out += [r[:i] for i in range(1, len(r))]
        out.append(r + r[:len(r) // 2])
    out += [b"", b"PING\r\n", b"\r\n", b"*", b"$", b"*1\r\n",
            b"*2147483647\r\n$3\r\nGET\r\n",
            b"*99999999999999999999\r\n", b"*-5\r\n",
            b"*1\r\n$2147483647\r\nPING\r\n",
            b"*1\r\n$99999999999999999999\r\nx\r\n",
            b"*1\r\n$-7\r\n", b"*1\r\n$4\r\nPING", b"*1\r\n$4\r\nPINGxx",
            b"*1\r\n$x\r\nPING\r\n", b"*1x\r\n",
            b"*1\r\n" * 12 + b"$4\r\nPING\r\n",
            b"*10000\r\n" + b"$1\r\nx\r\n" * 10]
    out += [bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 300)))
            for _ in range(2000)]
    # Garbage that starts like RESP, to get past the type byte.
    for _ in range(500):
        head = rnd.choice([b"*", b"$", b"*2\r\n$", b"*3\r\n$3\r\nSET\r\n"])
        out.append(head + bytes(rnd.getrandbits(8)
                                for _ in range(rnd.randint(0, 100))))
    return out


def check_malformed(u, args):
    rnd = random.Random(15)
    before = u.stats()
    dgrams = malformed_set(rnd)
    raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if args.bind:
        raw.bind((args.bind, 0))
    raw.connect((args.host, args.port))
    raw.setblocking(False)
    answered = 0
    for i, d in enumerate(dgrams):
        raw.send(d)
        if i % 50 == 49:	# paced: the server's socket buffer is finite
            time.sleep(0.005)
        try:
            while True:
                data = raw.recv(65535)
                answered += 1
                for r in Dgram(data).replies():
                    if not isinstance(r, RespError):
                        fail("malformed datagram answered %r" % r)
        except BlockingIOError:
            pass
    time.sleep(0.5)
    try:
        while True:
            raw.recv(65535)
            answered += 1
    except BlockingIOError:
        pass
    expect("PING after", u.call(("PING",))[0], b"PONG")
    after = u.stats()
    drops = sum(after[k] - before[k] for k in after if k.startswith("drop_"))
    rx = after["datagrams_rx"] - before["datagrams_rx"] - 2  # stats, ping
    print("malformed: %d sent, %d received, %d dropped, %d answered with "
          "errors" % (len(dgrams), rx, drops, answered), file=sys.stderr)
    # UDP may lose some on the way (a loaded machine): what arrived must
    # all be accounted for, and most must arrive.
    if rx > len(dgrams) or rx < len(dgrams) * 9 // 10:
        fail("the server received %d of %d datagrams" % (rx, len(dgrams)))
    if drops + answered != rx:
        fail("%d dropped + %d answered != %d received" %
             (drops, answered, rx))
    if answered > 50:
        fail("%d malformed datagrams answered" % answered)
    print("malformed ok", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--bind")
    ap.add_argument("--timeout", type=float, default=1.0)
    ap.add_argument("check", choices=["commands", "multi", "malformed",
                                      "stats"])
    args = ap.parse_args()
    u = Udp(args)
    if args.check == "stats":
        print(json.dumps(u.stats()))
        return
    {"commands": check_commands, "multi": check_multi,
     "malformed": check_malformed}[args.check](u, args)


if __name__ == "__main__":
    main()
