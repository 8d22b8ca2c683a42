#!/usr/bin/env python3
"""peer.py - the far side of the fidelity scenarios (tests/fidelity/README.md).

Listens for control connections on PEER:7300.  A scenario sends one line,
"NAME APORT PPORT STEP...", and the peer runs the steps in order on its own
sockets, reporting what it saw as lines on the control connection (read by
the scenario and printed into its transcript).  Steps:

  listen[:B]   listen on PPORT (backlog B, default 16)
  accept       accept one connection; it becomes the current one
  connect      connect to APP:APORT; it becomes the current one
  tryconn:N    N connects to APP:APORT, each given 700 ms; reports ok/timeout
  c:I          the I-th connection (in order made) becomes the current one
  send:N       send N pattern bytes (byte i of a connection is i % 251)
  recv:N       receive N bytes (or to EOF / error); reports length:hash
  drain        receive until EOF or error; reports length:hash and the end
  shutwr shutrd close rst (close after SO_LINGER 0)   on the current one
  nodelay      TCP_NODELAY on the current one
  udp          a UDP socket on PPORT;  uecho: one datagram back to its
               sender, its length reported;  usend:N to APP:APORT
  ready        tell the scenario it may go on (every script has one)
  wait         wait for the scenario's "go";  tell: send "t"
  sleep:MS     sleep
At "end" from the scenario (or after the last step) the peer closes
everything and the control connection.  Says "ready" on stderr once
listening; runs until SIGTERM."""
import argparse, errno, os, select, signal, socket, struct, sys, threading, time

ap = argparse.ArgumentParser(description=__doc__,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("--peer", required=True, help="our address")
ap.add_argument("--app", required=True, help="the scenarios' address")
a = ap.parse_args()


def pattern(n, off=0):
    return bytes((off + i) % 251 for i in range(n))


def fnv(b):
    h = 2166136261
    for x in b:
        h = ((h ^ x) * 16777619) & 0xffffffff
    return h


def ename(e):
    return errno.errorcode.get(e.errno, "E?") if isinstance(e, OSError) and \
        e.errno else type(e).__name__


class Run:
    def __init__(self, ctl, aport, pport):
        self.ctl, self.aport, self.pport = ctl, aport, pport
        self.lst = self.udp = None
        self.conns, self.cur = [], None
        self.sent = {}
        self.cbuf = b""

    def say(self, s):
        self.ctl.sendall((s + "\n").encode())

    def line(self):
        while b"\n" not in self.cbuf:
            d = self.ctl.recv(4096)
            if not d:
                raise EOFError
            self.cbuf += d
        l, self.cbuf = self.cbuf.split(b"\n", 1)
        return l.decode()

    def add(self, c):
        c.settimeout(3)
        self.conns.append(c)
        self.cur = c

    def recv(self, n):
        got, end = b"", "eof"
        try:
            while n is None or len(got) < n:
                d = self.cur.recv(65536 if n is None else n - len(got))
                if not d:
                    break
                got += d
            else:
                end = "all"
        except socket.timeout:
            end = "stalled"
        except OSError as e:
            end = ename(e)
        return "%d:%08x then %s" % (len(got), fnv(got), end)

    def step(self, st):
        op, _, arg = st.partition(":")
        if op == "listen":
            self.lst = socket.socket()
            self.lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.lst.bind((a.peer, self.pport))
            self.lst.listen(int(arg or 16))
        elif op == "accept":
            self.lst.settimeout(5)
            self.add(self.lst.accept()[0])
        elif op == "connect":
            c = socket.socket()
            c.settimeout(3)
            c.connect((a.app, self.aport))
            self.add(c)
        elif op == "tryconn":
            res = []
            for _ in range(int(arg)):
                c = socket.socket()
                c.settimeout(0.7)
                try:
                    c.connect((a.app, self.aport))
                    res.append("ok")
                    self.conns.append(c)
                except socket.timeout:
                    res.append("timeout")
                    c.close()
                except OSError as e:
                    res.append(ename(e))
                    c.close()
            self.say("P tryconn " + " ".join(res))
        elif op == "c":
            self.cur = self.conns[int(arg)]
        elif op == "send":
            k = id(self.cur)
            off = self.sent.get(k, 0)
            try:
                self.cur.sendall(pattern(int(arg), off))
                self.sent[k] = off + int(arg)
            except OSError as e:
                self.say("P send %s %s" % (arg, ename(e)))
        elif op == "recv":
            self.say("P recv %s" % self.recv(int(arg)))
        elif op == "drain":
            self.say("P drain %s" % self.recv(None))
        elif op == "shutwr":
            self.cur.shutdown(socket.SHUT_WR)
        elif op == "shutrd":
            self.cur.shutdown(socket.SHUT_RD)
        elif op == "close":
            self.cur.close()
        elif op == "rst":
            self.cur.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                struct.pack("ii", 1, 0))
            self.cur.close()
        elif op == "nodelay":
            self.cur.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        elif op == "udp":
            self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.udp.bind((a.peer, self.pport))
            self.udp.settimeout(3)
        elif op == "uecho":
            try:
                d, src = self.udp.recvfrom(65536)
                self.say("P uecho %d" % len(d))
                self.udp.sendto(d, src)
            except OSError as e:
                self.say("P uecho %s" % ename(e))
        elif op == "usend":
            self.udp.sendto(pattern(int(arg)), (a.app, self.aport))
        elif op == "ready":
            self.say("ready")
        elif op == "wait":
            if self.line() != "go":
                raise EOFError
        elif op == "tell":
            self.say("t")
        elif op == "sleep":
            time.sleep(int(arg) / 1000)
        else:
            self.say("P bad step %s" % st)

    def close(self):
        for s in self.conns + [self.lst, self.udp]:
            if s is not None:
                s.close()


def serve(ctl):
    with ctl:
        r = None
        try:
            ctl.settimeout(30)
            r = Run(ctl, 0, 0)
            first = r.line().split()
            r.aport, r.pport, steps = int(first[1]), int(first[2]), first[3:]
            for st in steps:
                try:
                    r.step(st)
                except (OSError, socket.timeout) as e:
                    r.say("P %s %s" % (st, ename(e)))
            # wait for the scenario's "end", then close everything
            while r.line() != "end":
                pass
        except (EOFError, OSError, ValueError, IndexError):
            pass
        finally:
            if r:
                r.close()


signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((a.peer, 7300))
srv.listen(16)
print("ready", file=sys.stderr, flush=True)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
