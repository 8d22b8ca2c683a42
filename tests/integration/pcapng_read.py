#!/usr/bin/env python3
"""pcapng_read.py FILE: check a pcapng file block by block and print one
line per packet: IFNAME CAPLEN ORIGLEN COMMENT (test_capture.sh).

A reader written from the format's draft (draft-ietf-opsawg-pcapng), not
from our writer: every block's two lengths agree and are multiples of 4,
the section header's byte-order magic decides the byte order, each EPB
names an interface described before it and its caplen fits its block.
Exit 1 with the reason on a malformed file."""
import struct
import sys


def fail(why):
    print("pcapng_read: " + why, file=sys.stderr)
    sys.exit(1)


def options(body, bo):
    opts, i = {}, 0
    while i + 4 <= len(body):
        code, n = struct.unpack(bo + "HH", body[i:i + 4])
        if code == 0:
            break
        opts.setdefault(code, []).append(body[i + 4:i + 4 + n])
        i += 4 + (n + 3) // 4 * 4
    return opts


def main():
    data = open(sys.argv[1], "rb").read()
    bo, ifs, i, npkt = None, [], 0, 0
    while i < len(data):
        if i + 12 > len(data):
            fail("truncated block at %d" % i)
        if bo is None:
            if data[i:i + 4] != b"\x0a\x0d\x0d\x0a":
                fail("no section header first")
            bo = "<" if data[i + 8:i + 12] == b"\x4d\x3c\x2b\x1a" else ">"
        btype, blen = struct.unpack(bo + "II", data[i:i + 8])
        if blen % 4 or blen < 12 or i + blen > len(data):
            fail("bad block length %d at %d" % (blen, i))
        if struct.unpack(bo + "I", data[i + blen - 4:i + blen])[0] != blen:
            fail("trailing length differs at %d" % i)
        body = data[i + 8:i + blen - 4]
        if btype == 1:
            linktype, = struct.unpack(bo + "H", body[:2])
            name = options(body[8:], bo).get(2, [b"?"])[0].decode()
            if linktype != 1:
                fail("interface %s is not Ethernet" % name)
            ifs.append(name)
        elif btype == 6:
            ifid, _, _, cap, orig = struct.unpack(bo + "IIIII", body[:20])
            if ifid >= len(ifs):
                fail("packet on undescribed interface %d" % ifid)
            if cap > orig or 20 + cap > len(body):
                fail("caplen %d does not fit" % cap)
            pad = (cap + 3) // 4 * 4
            c = options(body[20 + pad:], bo).get(1, [b""])[0].decode()
            print("%s %d %d %s" % (ifs[ifid], cap, orig, c))
            npkt += 1
        i += blen
    if bo is None:
        fail("empty file")


main()
