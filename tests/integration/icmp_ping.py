#!/usr/bin/env python3
"""icmp_ping.py DST COUNT [--every S] [--src ADDR] [--dev IFNAME]

COUNT ICMP echo requests to DST from a raw socket (so that the tests need
no iputils-ping), each reply checked: id, seq, data and checksum.

  one at a time (default): each answered within 2 s, before the next
  --every S: one every S seconds, all answered (in any order) within 2 s
             of the last
  --src ADDR: from that address; --dev IFNAME: bound to that device

Exit 0 when every echo was answered; otherwise the reason is the message.
Run by nic_lib.sh's icmp_ping on the tap's kernel side.
"""
import argparse
import os
import select
import socket
import struct
import sys
import time


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def payload(seq):
    return b"fragnet-ping-%d" % seq


def send(s, dst, ident, seq):
    data = payload(seq)
    hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    s.sendto(struct.pack("!BBHHH", 8, 0, csum(hdr + data), ident, seq) + data,
             (dst, 0))


def reply(s, dst, ident):
    """The seq of an echo reply of ours read from s, else None."""
    pkt, addr = s.recvfrom(2048)
    icmp = pkt[(pkt[0] & 15) * 4:]
    if addr[0] != dst or icmp[0] != 0 or icmp[4:6] != struct.pack("!H", ident):
        return None
    seq = struct.unpack("!H", icmp[6:8])[0]
    if icmp[8:] != payload(seq) or csum(icmp) != 0:
        sys.exit("ping %s: damaged reply to seq %d" % (dst, seq))
    return seq


def one_at_a_time(s, dst, count, ident):
    for seq in range(1, count + 1):
        send(s, dst, ident, seq)
        start = time.time()
        while True:
            left = start + 2 - time.time()
            if left <= 0 or not select.select([s], [], [], left)[0]:
                sys.exit("ping %s: no reply to seq %d" % (dst, seq))
            if reply(s, dst, ident) == seq:
                print("# ping %s seq %d: %.3f ms" % (dst, seq,
                      (time.time() - start) * 1000), file=sys.stderr)
                break


def paced(s, dst, count, ident, every, src):
    got, nxt, seq, last = set(), time.time(), 0, 0.0
    while len(got) < count:
        now = time.time()
        if seq < count and now >= nxt:
            seq += 1
            send(s, dst, ident, seq)
            nxt = now + every
            last = now
        if seq == count and now > last + 2:
            sys.exit("ping %s from %s: %d of %d answered" %
                     (dst, src, len(got), count))
        if not select.select([s], [], [], 0.01)[0]:
            continue
        n = reply(s, dst, ident)
        if n is not None:
            got.add(n)
    print("# ping %s from %s: %d of %d answered" % (dst, src, count, count),
          file=sys.stderr)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dst")
    p.add_argument("count", type=int)
    p.add_argument("--every", type=float)
    p.add_argument("--src")
    p.add_argument("--dev")
    a = p.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    if a.dev:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, a.dev.encode())
    if a.src:
        s.bind((a.src, 0))
    ident = os.getpid() & 0xffff
    if a.every is None:
        one_at_a_time(s, a.dst, a.count, ident)
    else:
        paced(s, a.dst, a.count, ident, a.every, a.src or a.dev)


if __name__ == "__main__":
    main()
