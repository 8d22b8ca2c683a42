#!/usr/bin/env python3
"""steer_check.py - the checks of test_steer.sh (per-pipeline addresses,
the drivers' steering and hairpin) that redis-cli cannot make.  RESP over
redis_check.py's Conn (stdlib sockets only); raw frames over AF_PACKET
(sniff.py, the shared sniffer, for sniff).

  steer_check.py hold --bind K N ADDR...
        N connections to each ADDR:6379, all open at once, a PING on each;
        prints "ready" and waits for stdin to close (or a signal)
  steer_check.py raw --bind K ROUNDS ADDR...
        read after write at each ADDR: ROUNDS times a SET on one fresh
        connection and a GET of it on another, and as many SET/GET pairs
        over two long-lived connections
  steer_check.py arp IFNAME SRC_IP TARGET
        one ARP who-has TARGET from IFNAME (its MAC, SRC_IP); prints the
        sender MAC of every reply within 1 s, one a line
  steer_check.py sniff IFNAME SECONDS A B
        prints "ready" once it listens, then counts the IPv4 TCP frames
        between A and B that IFNAME sees until stdin closes (at most
        SECONDS) and prints that count and the count of all frames seen
        (that it listened at all): "0 N" means none went through the
        kernel
  steer_check.py hairpin --host ADDR --go FILE --out FILE ROUNDS
        as an app (under libfragnet-preload.so): once the go FILE exists
        (60 s at most), ROUNDS SET/GET pairs to ADDR:6379 over 4
        connections, then the out FILE gets one JSON line (ok, errors, last
        error); then sleeps until killed

Exit status 0 when the check passed; otherwise a message on stderr and 1.
Every socket operation has a timeout (30 s).
"""
import argparse
import json
import os
import resource
import select
import socket
import struct
import sys
import time
import types

sys.dont_write_bytecode = True	# no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from redis_check import Conn  # noqa: E402
import sniff  # noqa: E402

PORT = 6379
ETH_P_ARP = 0x0806


def conn(host, bind):
    return Conn(types.SimpleNamespace(host=host, port=PORT, timeout=30,
                                      bind=bind))


def check_hold(a):
    want = a.n * len(a.addr) + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    held = []
    for addr in a.addr:
        for _ in range(a.n):
            c = conn(addr, a.bind)
            c.send("PING")
            held.append(c)
    for c in held:
        r = c.reply()
        if r != b"PONG":
            sys.exit("PING: %r" % r)
    print("ready", flush=True)
    sys.stdin.read()
    for c in held:
        c.close()


def check_raw(a):
    for addr in a.addr:
        la, lb = conn(addr, a.bind), conn(addr, a.bind)
        for i in range(a.rounds):
            key, val = "fn:raw:%d" % i, os.urandom(8).hex()
            w = conn(addr, a.bind)
            if w.call("SET", key, val) != b"OK":
                sys.exit("%s: SET %s failed" % (addr, key))
            w.close()
            r = conn(addr, a.bind)
            got = r.call("GET", key)
            r.close()
            if got != val.encode():
                sys.exit("%s: GET %s on another connection: %r, want %r"
                         % (addr, key, got, val))
            la.call("SET", key, val + "x")
            got = lb.call("GET", key)
            if got != (val + "x").encode():
                sys.exit("%s: GET %s on the second long-lived connection: "
                         "%r" % (addr, key, got))
        la.close()
        lb.close()
        print("# %s: %d reads after writes, each on another connection"
              % (addr, 2 * a.rounds), file=sys.stderr)


def mac_of(ifname):
    with open("/sys/class/net/%s/address" % ifname) as f:
        return bytes.fromhex(f.read().strip().replace(":", ""))


def check_arp(a):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                      socket.htons(ETH_P_ARP))
    s.bind((a.ifname, 0))
    me = mac_of(a.ifname)
    sip, tip = socket.inet_aton(a.src), socket.inet_aton(a.target)
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, me, sip,
                      b"\0" * 6, tip)
    s.send(b"\xff" * 6 + me + struct.pack("!H", ETH_P_ARP) + arp)
    end = time.monotonic() + 1.0
    while True:
        left = end - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            break
        f = s.recv(2048)
        if len(f) < 42:
            continue
        op, sha, spa = struct.unpack("!6xH6s4s", f[14:32])
        if op == 2 and spa == tip:
            print(sha.hex(":"))


def check_sniff(a):
    pair = {socket.inet_aton(a.a), socket.inet_aton(a.b)}

    def between(frame):
        t = sniff.ipv4_tcp(frame)
        return t is not None and {t[0], t[1]} == pair

    n, total = sniff.count(a.ifname, a.seconds, between, stop=sys.stdin,
                           ready=lambda: print("ready", flush=True))
    print(n, total)


def check_hairpin(a):
    res = {"ok": 0, "errors": 0, "last_error": ""}
    end = time.monotonic() + 60
    while not os.path.exists(a.go) and time.monotonic() < end:
        time.sleep(0.05)
    try:
        cs = [conn(a.host, None) for _ in range(4)]
        for i in range(a.rounds):
            key, val = "fn:hp:%d" % i, "v%d" % i
            cs[i % 4].call("SET", key, val)
            if cs[(i + 1) % 4].call("GET", key) == val.encode():
                res["ok"] += 1
            else:
                res["errors"] += 1
    except Exception as e:  # reported, the test decides
        res["errors"] += 1
        res["last_error"] = repr(e)
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write(json.dumps(res) + "\n")
    os.replace(tmp, a.out)
    while True:
        time.sleep(3600)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="check", required=True)
    h = sub.add_parser("hold")
    h.add_argument("--bind")
    h.add_argument("n", type=int)
    h.add_argument("addr", nargs="+")
    r = sub.add_parser("raw")
    r.add_argument("--bind")
    r.add_argument("rounds", type=int)
    r.add_argument("addr", nargs="+")
    ap = sub.add_parser("arp")
    ap.add_argument("ifname")
    ap.add_argument("src")
    ap.add_argument("target")
    sn = sub.add_parser("sniff")
    sn.add_argument("ifname")
    sn.add_argument("seconds", type=float)
    sn.add_argument("a")
    sn.add_argument("b")
    hp = sub.add_parser("hairpin")
    hp.add_argument("--host", required=True)
    hp.add_argument("--go", required=True)
    hp.add_argument("--out", required=True)
    hp.add_argument("rounds", type=int)
    a = p.parse_args()
    {"hold": check_hold, "raw": check_raw, "arp": check_arp,
     "sniff": check_sniff, "hairpin": check_hairpin}[a.check](a)


if __name__ == "__main__":
    main()
