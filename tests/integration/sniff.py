"""sniff.py - the one AF_PACKET sniffer of the integration checks
(cluster_check.py, steer_check.py; stdlib only, imported, not run).

  count(ifname, seconds, match, stop=None, ready=None) -> (matched, total)
        every frame IFNAME sees, both directions, for at most SECONDS (or
        until the file object STOP is readable: its EOF, say); MATCH(frame)
        says which to count; READY() is called once the socket listens
  ipv4_tcp(frame) -> (src, dst, sport, dport) or None
        the addresses (4 bytes each) and ports of an untagged
        Ethernet/IPv4/TCP frame
"""
import select
import socket
import struct
import time

ETH_P_ALL = 0x0003


def ipv4_tcp(frame):
    if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return None
    ihl = (frame[14] & 0x0F) * 4
    if ihl < 20 or len(frame) < 14 + ihl + 4:
        return None
    sport, dport = struct.unpack("!HH", frame[14 + ihl:14 + ihl + 4])
    return frame[26:30], frame[30:34], sport, dport


def count(ifname, seconds, match, stop=None, ready=None):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                      socket.htons(ETH_P_ALL))
    try:
        s.bind((ifname, 0))
        if ready:
            ready()
        watch = [s] + ([stop] if stop else [])
        n, total, end = 0, 0, time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            r = select.select(watch, [], [], left)[0] if left > 0 else []
            if not r or (stop and stop in r):
                break
            frame = s.recv(65536)
            total += 1
            if match(frame):
                n += 1
        return n, total
    finally:
        s.close()
