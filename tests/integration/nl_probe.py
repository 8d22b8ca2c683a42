#!/usr/bin/env python3
"""nl_probe.py - speak nf_tables netlink to a stack the way nft does, through
libfragnet-netlink.so (run with LD_PRELOAD and FRAGNET_NFT_CONTROL set, as
`fragnet nft` runs nft).  Python's socket module calls libc, so the shim
intercepts it exactly as it intercepts nft.

  nl_probe.py genid    print the stack's generation id (GETGEN -> NEWGEN)
  nl_probe.py check    pin down what nft 1.0.6 needs from the socket:
                       getsockname gives AF_NETLINK and our port id;
                       setsockopt(SOL_NETLINK, NETLINK_EXT_ACK) works;
                       replies are queued when send() returns (a
                       zero-timeout select sees them); recvmsg's source
                       is pid 0 with a 12-byte sockaddr_nl; reading past
                       the last reply of a non-blocking socket is EAGAIN;
                       a batch of several MB (2 MB pages, as nft's) is
                       answered with one error per failing message.
Exit 0 on success; a failed check prints what and exits 1.
"""
import select
import socket
import struct
import sys

NETLINK_NETFILTER = 12
SOL_NETLINK = 270
NETLINK_EXT_ACK = 11
NFNL_SUBSYS_NFTABLES = 10
NFT_MSG_GETGEN = 16
NFT_MSG_NEWGEN = 15
NFT_MSG_DELTABLE = 2
NFT_MSG_NEWTABLE = 0
NFTA_GEN_ID = 1
NFTA_TABLE_NAME = 1
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2
BATCH_BEGIN, BATCH_END = 0x10, 0x11
ENOENT = 2


def fail(msg):
    print("nl_probe: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def nlmsg(mtype, flags, seq, payload=b"", family=0, res_id=0):
    body = struct.pack("=BBH", family, 0, socket.htons(res_id)) + payload
    return struct.pack("=IHHII", 16 + len(body), mtype, flags, seq, 0) + body


def attr_str(atype, s):
    data = s.encode() + b"\0"
    a = struct.pack("=HH", 4 + len(data), atype) + data
    return a + b"\0" * (-len(a) % 4)


def open_sock():
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    s.bind((0, 0))
    s.setblocking(False)	# as nft: EAGAIN ends the replies
    return s


def recv_all(s):
    """Every queued reply, non-blocking, until EAGAIN."""
    out = []
    while True:
        try:
            data, anc, flags, addr = s.recvmsg(1 << 17)
        except BlockingIOError:
            return out
        out.append((data, addr))


def parse(data):
    msgs, off = [], 0
    while off + 16 <= len(data):
        ln, mtype, flags, seq, pid = struct.unpack_from("=IHHII", data, off)
        msgs.append((mtype, flags, seq, pid, data[off + 16:off + ln]))
        off += (ln + 3) & ~3
    return msgs


def genid(s):
    s.send(nlmsg(NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETGEN, NLM_F_REQUEST, 1))
    for data, _ in recv_all(s):
        for mtype, _, _, _, body in parse(data):
            if mtype == NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWGEN:
                alen, atype = struct.unpack_from("=HH", body, 4)
                if atype == NFTA_GEN_ID:
                    return struct.unpack_from(">I", body, 8)[0]
    fail("no NEWGEN")


def check_socket(s):
    pid, groups = s.getsockname()
    if pid == 0:
        fail("getsockname: port id 0")
    s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
    if s.getsockopt(SOL_NETLINK, NETLINK_EXT_ACK) != 1:
        fail("getsockopt(NETLINK_EXT_ACK) is not 1")
    s.send(nlmsg(NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETGEN, NLM_F_REQUEST, 7))
    r, _, _ = select.select([s], [], [], 0)
    if not r:
        fail("reply not queued when send() returned")
    data, anc, flags, addr = s.recvmsg(4096)
    if addr != (0, 0):
        fail("source address %r, not pid 0" % (addr,))
    msgs = parse(data)
    if len(msgs) != 1 or msgs[0][2] != 7 or msgs[0][3] != pid:
        fail("NEWGEN: %r (want seq 7, our pid %d)" % (msgs, pid))
    try:
        s.recvmsg(4096)
        fail("a second reply where EAGAIN was due")
    except BlockingIOError:
        pass
    return pid


def check_big_batch(s):
    """A ~6 MB batch: BEGIN, many DELTABLEs of missing tables with
    NLM_F_ACK, END.  Every one must fail with ENOENT on its own seq."""
    n = 60000
    pad = "x" * 64
    parts = [nlmsg(BATCH_BEGIN, NLM_F_REQUEST, 100, res_id=NFNL_SUBSYS_NFTABLES)]
    for i in range(n):
        parts.append(nlmsg(NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_DELTABLE,
                           NLM_F_REQUEST, 101 + i,
                           attr_str(NFTA_TABLE_NAME, "nope%d%s" % (i, pad)),
                           family=2))
    parts.append(nlmsg(BATCH_END, NLM_F_REQUEST, 101 + n,
                       res_id=NFNL_SUBSYS_NFTABLES))
    batch = b"".join(parts)
    if len(batch) < 4 << 20:
        fail("batch only %d bytes" % len(batch))
    page = 2 << 20
    iov = [batch[i:i + page] for i in range(0, len(batch), page)]
    if s.sendmsg(iov) != len(batch):
        fail("short sendmsg")
    seqs = []
    while select.select([s], [], [], 0)[0]:
        for data, _ in recv_all(s):
            for mtype, flags, seq, pid, body in parse(data):
                err, = struct.unpack_from("=i", body, 0)
                if mtype != NLMSG_ERROR or err != -ENOENT:
                    fail("batch reply type %d error %d" % (mtype, err))
                seqs.append(seq)
    if seqs != list(range(101, 101 + n)):
        fail("%d errors for %d failing messages" % (len(seqs), n))
    print("big batch: %d bytes, %d errors in order" % (len(batch), n))


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in ("genid", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    s = open_sock()
    if sys.argv[1] == "genid":
        print(genid(s))
        return 0
    before = genid(s)
    check_socket(s)
    check_big_batch(s)
    if genid(s) != before:
        fail("genid changed by a failed batch")
    print("socket checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
