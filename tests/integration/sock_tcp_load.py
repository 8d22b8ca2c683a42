#!/usr/bin/env python3
"""sock_tcp_load.py - a checking TCP load against an echo server.

  sock_tcp_load.py --dst IP --port P [--bind IP] [--conns N] [--bytes B]
                   [--rst R] [--concurrent-connects C] [--time-limit S]
                   [--stall S] [--hold S] [--retry-refused]

N connections at once (at most C of them connecting at any time), each
sends B bytes of a pattern unique to the connection and offset, reads the
echo and compares every byte with what it sent (so loss, duplication,
reordering, corruption and mixing of connections are all caught), then
shuts down its write side (FIN) and must read EOF after exactly B bytes.
With --connect-first (the default) every connection is established
before any sends data; --no-connect-first lets early ones stream while
later ones connect.  R more connections check the server's abort: each sends "RST!" and more
bytes; the server closes with those unread, and the connection must see
ECONNRESET (not EOF, not data).

--hold S keeps every connection open and idle for S seconds once all are
established, before any data (the idle-connections test; the stall limit
does not count that time).  --retry-refused opens a new connection (a new
source port) in place of one refused before it carried data, at most 100
times each (a multi-queue topology where one queue's app does not
listen; a server that is not listening yet), after a pause that doubles
from 5 ms to at most 100 ms (about 9 s in all), so that a client that
starts before its server does not spend its retries in a few ms.  The
open-file limit is raised for N connections.

One JSON line on stdout: conns, bytes_sent, bytes_received, eof_ok,
rst_ok, failures (the first few, with reasons), elapsed_s, mbps.  Exit 0
when every connection passed, 1 when one failed, 2 on usage, 3 when the
time limit or the stall limit (S s without any progress) or SIGTERM cut it
short (the report is printed all the same).
"""
import argparse
import errno
import heapq
import json
import os
import random
import resource
import selectors
import signal
import socket
import sys
import time

BLOCK = 1 << 20
CHUNK = 1 << 16


def pattern():
    rnd = random.Random(0x46524147)
    b = rnd.randbytes(BLOCK) if hasattr(rnd, "randbytes") else \
        bytes(rnd.getrandbits(8) for _ in range(BLOCK))
    return b + b


PAT = pattern()


def expected(idx, off, n):
    base = (off + idx * 7919) % BLOCK
    return memoryview(PAT)[base:base + n]


class Conn:
    def __init__(self, idx, total, rst):
        self.idx, self.total, self.rst = idx, total, rst
        self.sent = self.recvd = 0
        self.shut = self.done = False
        self.sock = None
        self.connected = False
        self.retries = 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dst", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--bind", default=None)
    ap.add_argument("--conns", type=int, default=100)
    ap.add_argument("--bytes", type=int, default=1 << 20)
    ap.add_argument("--rst", type=int, default=10)
    ap.add_argument("--concurrent-connects", type=int, default=64)
    ap.add_argument("--time-limit", type=float, default=120)
    ap.add_argument("--stall", type=float, default=15)
    ap.add_argument("--connect-first", action=argparse.BooleanOptionalAction,
                    default=True)
    ap.add_argument("--hold", type=float, default=0)
    ap.add_argument("--retry-refused", action="store_true")
    o = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = o.conns + o.rst + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (want if hard == resource.RLIM_INFINITY
                            else min(want, hard), hard))

    sel = selectors.DefaultSelector()
    todo = [Conn(i, o.bytes, False) for i in range(o.conns)]
    todo += [Conn(o.conns + i, 0, True) for i in range(o.rst)]
    random.Random(1).shuffle(todo)
    pending = list(todo)
    later = []		# (when, idx, conn): refused ones waiting to retry
    connecting = 0
    live = 0
    held = []		# connected, waiting for the others (--connect-first)
    res = {"conns": o.conns, "rst_conns": o.rst, "bytes_per_conn": o.bytes,
           "bytes_sent": 0, "bytes_received": 0, "eof_ok": 0, "rst_ok": 0,
           "failed": 0, "failures": [], "refused_retries": 0}
    start = last_progress = time.time()
    cut = None
    term = []
    signal.signal(signal.SIGTERM, lambda *_: term.append(1))

    def retry(c, why):
        nonlocal live, connecting
        if not o.retry_refused or c.retries >= 100 or c.sent or c.recvd:
            return False
        c.retries += 1
        res["refused_retries"] += 1
        heapq.heappush(later, (time.time() + min(0.005 * 2 ** (c.retries - 1),
                                                 0.1), c.idx, c))
        try:
            sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()
        if not c.connected:
            connecting -= 1
        live -= 1
        c.connected = c.done = False
        if c in held:
            held.remove(c)
        return True

    def fail(c, why):
        if retry(c, why):
            return
        res["failed"] += 1
        if len(res["failures"]) < 10:
            res["failures"].append("conn %d%s: %s" %
                                   (c.idx, " (rst)" if c.rst else "", why))
        finish(c)

    def finish(c):
        nonlocal live, connecting
        if c.done:
            return
        c.done = True
        if not c.connected:
            connecting -= 1
        live -= 1
        try:
            sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()

    def start_conn(c):
        nonlocal live, connecting
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        if o.bind:
            s.bind((o.bind, 0))
        c.sock = s
        live += 1
        connecting += 1
        err = s.connect_ex((o.dst, o.port))
        if err not in (0, errno.EINPROGRESS):
            fail(c, "connect: %s" % os.strerror(err))
            return
        sel.register(s, selectors.EVENT_WRITE, c)

    def on_connected(c):
        nonlocal connecting
        err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            fail(c, "connect: %s" % os.strerror(err))
            return
        c.connected = True
        connecting -= 1
        if o.connect_first and (pending or connecting):
            sel.modify(c.sock, selectors.EVENT_READ, c)
            held.append(c)
        else:
            go(c)

    def go(c):
        if c.rst:
            c.sock.sendall(b"RST!" + bytes(4096))
            sel.modify(c.sock, selectors.EVENT_READ, c)
        else:
            sel.modify(c.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, c)

    def on_write(c):
        n = min(CHUNK, c.total - c.sent)
        if n > 0:
            try:
                n = c.sock.send(expected(c.idx, c.sent, n))
            except BlockingIOError:
                return 0
            except OSError as e:
                fail(c, "send at %d: %s" % (c.sent, e))
                return 0
            c.sent += n
            res["bytes_sent"] += n
        if c.sent == c.total and not c.shut:
            c.sock.shutdown(socket.SHUT_WR)
            c.shut = True
            sel.modify(c.sock, selectors.EVENT_READ, c)
        return n

    def on_read_rst(c):
        try:
            d = c.sock.recv(CHUNK)
        except ConnectionResetError:
            res["rst_ok"] += 1
            finish(c)
            return 1
        except BlockingIOError:
            return 0
        except OSError as e:
            fail(c, "recv: %s, want ECONNRESET" % e)
            return 0
        fail(c, "EOF, want ECONNRESET" if not d else
             "%d bytes, want ECONNRESET" % len(d))
        return 1

    def on_read(c):
        if c.rst:
            return on_read_rst(c)
        try:
            d = c.sock.recv(4 * CHUNK)
        except BlockingIOError:
            return 0
        except OSError as e:
            fail(c, "recv at %d of %d: %s" % (c.recvd, c.total, e))
            return 0
        if not d:
            if c.recvd != c.total or not c.shut:
                fail(c, "EOF after %d of %d bytes" % (c.recvd, c.total))
            else:
                res["eof_ok"] += 1
                finish(c)
            return 1
        if c.recvd + len(d) > c.sent:
            fail(c, "%d bytes echoed, only %d sent" % (c.recvd + len(d), c.sent))
            return 1
        if d != expected(c.idx, c.recvd, len(d)):
            fail(c, "wrong data at offset %d" % c.recvd)
            return 1
        c.recvd += len(d)
        res["bytes_received"] += len(d)
        return len(d)

    while pending or live or later:
        now = time.time()
        while later and later[0][0] <= now:
            pending.append(heapq.heappop(later)[2])
        while pending and connecting < o.concurrent_connects:
            start_conn(pending.pop())
        if held and not pending and not later and not connecting:
            res["held_until_all_connected"] = len(held)
            if o.hold > 0:
                print("# all %d connected, holding %.0f s" %
                      (len(held), o.hold), file=sys.stderr, flush=True)
                time.sleep(o.hold)
                last_progress = time.time()
            for c in held:
                if not c.done:
                    go(c)
            held = []
        now = time.time()
        if term:
            cut = "terminated"
            break
        if now - start > o.time_limit:
            cut = "time limit"
            break
        if now - last_progress > o.stall:
            cut = "stalled for %.0f s" % o.stall
            break
        wait = 0.2 if not later else max(0.0, min(0.2, later[0][0] - now))
        for key, ev in sel.select(wait):
            c = key.data
            if c.done:
                continue
            if not c.connected:
                on_connected(c)
                last_progress = now
                continue
            moved = 0
            if ev & selectors.EVENT_READ:
                moved += on_read(c)
            if not c.done and ev & selectors.EVENT_WRITE:
                moved += on_write(c)
            if moved:
                last_progress = now
    el = time.time() - start
    for c in todo:
        if c.sock is not None and not c.done:
            fail(c, "unfinished (%s): sent %d received %d of %d" %
                 (cut, c.sent, c.recvd, c.total))
    res["elapsed_s"] = round(el, 3)
    res["mbps"] = round(res["bytes_received"] * 8 / el / 1e6, 1)
    res["cut"] = cut
    print(json.dumps(res))
    sys.exit(3 if cut else 1 if res["failed"] else 0)


if __name__ == "__main__":
    main()
