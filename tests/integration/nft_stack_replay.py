#!/usr/bin/env python3
"""nft_stack_replay.py - replay a pcap of Ethernet frames out of one
interface (AF_PACKET) and count, per flow, what comes back on it.

Used by test_nft_stack_diff.sh on both sides of the stack-level
differential test: the tap's kernel side (frames into a fragnet stack)
and a veth in a network namespace (frames into the kernel's stack).

  nft_stack_replay.py IFACE FILE.pcap [--gap-us N] [--settle S]

Prints one line per kind of frame received (sorted), "COUNT KEY", where
KEY names the protocol, addresses, ports and what the answer is (TCP
flags, ICMP type/code and the quoted packet's ports), so that two runs
can be compared with diff.  ARP frames and frames we sent are not
counted.  Every frame is parsed defensively: whatever the peer sends,
the worst outcome is a key "short" or "other".
"""
import argparse
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24 or struct.unpack("<I", data[:4])[0] != 0xa1b2c3d4:
        sys.exit("%s: not a little-endian microsecond pcap" % path)
    off, frames = 24, []
    while off + 16 <= len(data):
        incl = struct.unpack("<I", data[off + 8:off + 12])[0]
        off += 16
        if incl > 65535 or off + incl > len(data):
            sys.exit("%s: truncated record at byte %d" % (path, off))
        frames.append(data[off:off + incl])
        off += incl
    return frames


def ports(proto, l4):
    if proto in (6, 17) and len(l4) >= 4:
        return struct.unpack("!HH", l4[:4])
    return None


def key_of(fr):
    if len(fr) < 14:
        return "short"
    et = struct.unpack("!H", fr[12:14])[0]
    if et == 0x0806:
        return None
    if et != 0x0800:
        return "ethertype 0x%04x" % et
    ip = fr[14:]
    if len(ip) < 20 or ip[0] >> 4 != 4:
        return "ipv4 bad header"
    hl = (ip[0] & 15) * 4
    tot = struct.unpack("!H", ip[2:4])[0]
    ip = ip[:tot]
    if hl < 20 or len(ip) < hl:
        return "ipv4 bad header"
    proto = ip[9]
    src = socket.inet_ntoa(ip[12:16])
    dst = socket.inet_ntoa(ip[16:20])
    frag = struct.unpack("!H", ip[6:8])[0] & 0x3fff
    l4 = ip[hl:]
    k = "proto %d %s>%s" % (proto, src, dst)
    if frag & 0x1fff:
        return k + " later fragment"
    p = ports(proto, l4)
    if p:
        k += " %d>%d" % p
    if proto == 6 and len(l4) >= 14:
        f = l4[13] & 0x3f
        # A reset is a reset: Linux sends RST alone when the segment had
        # an ACK, lwIP always RST|ACK.
        k += " rst" if f & 0x04 else " flags 0x%02x" % f
    elif proto == 1 and len(l4) >= 8:
        t, c = l4[0], l4[1]
        k += " icmp %d/%d" % (t, c)
        if t in (0, 8):
            k += " id %d seq %d" % struct.unpack("!HH", l4[4:8])
        elif t in (3, 4, 5, 11, 12) and len(l4) >= 28:
            q = l4[8:]
            # Not the quoted ports: lwIP quotes 28 bytes (IP_HLEN + 8), so
            # with IP options the ports are cut off.
            k += " quotes proto %d %s>%s" % (q[9], socket.inet_ntoa(q[12:16]),
                                             socket.inet_ntoa(q[16:20]))
    return k


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("iface")
    ap.add_argument("pcap")
    ap.add_argument("--gap-us", type=int, default=300,
                    help="pause between two frames (default 300)")
    ap.add_argument("--settle", type=float, default=2.0,
                    help="seconds to keep counting after the last frame")
    ap.add_argument("--skip-proto", type=int, action="append", default=[],
                    help="do not send IPv4 frames of this protocol")
    ap.add_argument("--skip-options", action="store_true",
                    help="do not send IPv4 frames with IP options")
    a = ap.parse_args()
    def skip(fr):
        if len(fr) < 34 or fr[12:14] != b"\x08\x00":
            return False
        return fr[23] in a.skip_proto or \
            (a.skip_options and fr[14] & 15 > 5)
    frames = [fr for fr in read_pcap(a.pcap) if not skip(fr)]
    # Protocol 0 until bound: an ETH_P_ALL socket would queue frames of
    # every interface before bind.
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((a.iface, ETH_P_ALL))
    counts = {}

    def drain(until):
        while True:
            left = until - time.monotonic()
            if not select.select([s], [], [], max(left, 0))[0]:
                return
            fr, addr = s.recvfrom(65535)
            if addr[2] == PACKET_OUTGOING:
                continue
            k = key_of(fr)
            if k is not None:
                counts[k] = counts.get(k, 0) + 1

    for fr in frames:
        s.send(fr)
        drain(time.monotonic() + a.gap_us / 1e6)
    drain(time.monotonic() + a.settle)
    for k in sorted(counts):
        print("%d %s" % (counts[k], k))
    print("# %d frames sent, %d received" % (len(frames),
          sum(counts.values())), file=sys.stderr)


if __name__ == "__main__":
    main()
