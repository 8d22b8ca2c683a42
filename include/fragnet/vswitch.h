/*
 * fragnet/vswitch.h - the contract between the supervisor and
 * fragnet-vswitch, the learning L2 switch of one internal network
 * (issue 11; the paper's Fig. 4).
 *
 *      stack a             stack b             stack c       side B
 *         |  link 0           |  link 1           |  link 2   (stream.h)
 *         |  bell 0           |  bell 1           |  bell 2   (eventfds)
 *    +----+-------------------+-------------------+-----+
 *    |  port 0             port 1              port 2   |    side A
 *    |         fragnet-vswitch: one per [network]       |
 *    +--------------------------------------------------+
 *
 * Every port is a packet link under the stream contract, the switch being
 * side A (source of stream 0, to the stack; sink of stream 1, from it),
 * except the HOST PORT of a network with `host = yes`: a tap device that
 * the supervisor made, whose other side is the host's kernel.  The switch
 * is told its ports by a PORT TABLE: a small memfd that the supervisor
 * writes once and seals.
 *
 * OBJECTS
 *   object          created by   used by                   reaches the switch
 *   --------------  -----------  ------------------------  --------------------
 *   port table      supervisor   switch: reads it once     fd FN_FD_VSW_TABLE,
 *                   (fn_vsw_     (fn_vsw_table_read)       env FRAGNET_VSW_
 *                   table_create)                          TABLE_FD
 *   link of port i  supervisor   switch: side A;           fd port[i].link_fd
 *                   (fn_link_    its stack: side B
 *                   create)
 *   bell of port i  supervisor   stack rings it;           fd port[i].bell_fd
 *                   (eventfd)    switch waits on it
 *   the stack's     supervisor   switch rings it;          fd port[i].peer_
 *   bell            (names.h)    stack waits on it         bell_fd (-1: none)
 *   stats page      supervisor   switch writes counters    FN_FD_STATS, as for
 *                                                          every component
 *   capture region  supervisor   switch writes copies of   FN_FD_CAPTURE, env
 *                   (fn_cap_     frames (rx, tx, drops),   FRAGNET_CAPTURE_FD
 *                   create)      `fragnet capture`         (fragnet/capture.h)
 *                                reads them
 *   host port's     supervisor   switch reads and writes   fd port[i].link_fd
 *   tap (host=yes)  (/dev/net/   frames; the kernel is     (flags
 *                   tun, IFF_TAP the other side            FN_VSW_PORT_HOST)
 *                   | IFF_NO_PI)
 *
 * PROTOCOL
 *   1. The supervisor creates, per port, the link (fn_link_create), the
 *      port's bell (eventfd, EFD_NONBLOCK), and then the table with
 *      fn_vsw_table_create(): written once, sealed against writing,
 *      growing and shrinking, and against further seals, so that nobody,
 *      the supervisor included, changes it afterwards.
 *   2. It spawns fragnet-vswitch with the names.h environment (COMPONENT
 *      "vswitch", PIPELINE = the network's index, POLL, CPU, LOG_LEVEL),
 *      the stats page, the table fd, and each port's fds at the numbers
 *      the table names: FN_FD_VSW_LINK(i), FN_FD_VSW_BELL(i),
 *      FN_FD_VSW_PEER_BELL(i) by convention.  Each stack is handed the
 *      other side: the link (side B) and port i's bell, which it gives to
 *      fn_stream_set_bell() on both its endpoints of that link.
 *   3. The switch reads the table into private memory (TRUST), attaches
 *      each link as side A, joining the link's current epoch however far
 *      its peer got (stream.h RESET), and registers its counters.
 *   4. It serves the ports round robin, at most FN_VSW_BURST frames each
 *      per turn, learning and forwarding (FORWARDING); idle, it sleeps in
 *      one epoll on every port's bell, per FRAGNET_POLL (busy never
 *      sleeps, adaptive spins first, event sleeps at once).
 *   5. A stack restarts: the supervisor resets its link (fn_link_reset);
 *      the switch hears -ECONNRESET on that port, drops what it held for
 *      it, forgets the MACs learnt there, counts link_resets, serves on.
 *   6. The switch restarts: the supervisor resets every port's link,
 *      rings every stack's bell, and spawns a new switch with the same
 *      table; each stack hears a reset, the new switch relearns the MACs
 *      from the next frames.  A host port's tap lives on (the supervisor
 *      holds it); the kernel's frames wait in its queue meanwhile.
 *   7. SIGTERM: the switch ends its turn, detaches, and exits 0.
 *
 * PORT SECURITY (a stack is as untrusted as any frame it forwards)
 *   From port i the switch forwards only a frame that
 *     - holds an Ethernet header (14 bytes, untagged), whose source is
 *       port[i].mac, and
 *     - is IPv4 (a version 4 header of at least 20 bytes) whose source is
 *       port[i].ipv4, or
 *     - is ARP for Ethernet and IPv4 (htype 1, ptype 0x0800, hlen 6,
 *       plen 4, op request or reply) whose sender hardware address is
 *       port[i].mac and whose sender protocol address is port[i].ipv4, or
 *       0.0.0.0 (an RFC 5227 probe, which no receiver learns from).
 *   Anything else is dropped and counted on port i by cause: VLAN tags
 *   (an internal network has no VLANs, and a tag would hide the ethertype
 *   from these checks), and every other ethertype (IPv6 and the rest,
 *   whose sources nothing here checks).  The switch copies the header
 *   bytes it checks out of the slot first, judges the copy, and writes
 *   the COPY into the destination: a stack that rewrites its slot
 *   meanwhile cannot slip a header past the check.
 *
 * HOST PORT (flags FN_VSW_PORT_HOST)
 *   link_fd is the tap's fd, non-blocking, one frame per read() and per
 *   write(); bell_fd and peer_bell_fd are -1.  The switch reads at most
 *   FN_VSW_BURST frames a turn from it, judges each like a stack's (its
 *   MAC and address are the tap's, set by the supervisor), and writes
 *   every copy for it at once: a full tap queue drops the copy
 *   (drop_no_slot).  It sleeps on the tap's fd along with the bells.
 *   The kernel's own chatter (IPv6, which the supervisor turns off on the
 *   tap, or frames from another address) is dropped and counted like a
 *   hostile stack's.
 *
 * FORWARDING
 *   - A frame that passed teaches the switch source MAC -> port i, in a
 *     hashed table of fixed size whose entries age out after age_ms.
 *   - Group destinations (broadcast, multicast) and unknown unicast are
 *     flooded: copied to every other port.  Known unicast is copied to
 *     its port; if that is port i itself, dropped (drop_local).
 *   - Every delivery is a copy into a free slot of the destination's
 *     link; a destination with no free slot, too small a slot, or no live
 *     stack drops the copy and counts it on the destination.  The switch
 *     never waits for a port.
 *   - A stack that breaks the link protocol (garbage descriptors, forged
 *     acks) is cut off by the stream library (stream.h TRUST); the switch
 *     counts link_broken once, sends it nothing more, and serves the
 *     others.  The port comes back when the supervisor resets its link.
 *
 * TRUST (the table)
 *   The supervisor is trusted, but the switch reads the table as strictly
 *   as a link header: the seals above; size == the memfd's size; magic and
 *   version; 1 <= nports <= FN_VSW_MAX_PORTS; reserved fields and unused
 *   entries zero; flags 0 or FN_VSW_PORT_HOST; every fd >= 3, distinct,
 *   and not the table's own (a host port's bells -1); every MAC unicast
 *   and non-zero, every IPv4 address non-zero, none shared by two ports;
 *   names terminated and printable.  The fds themselves are checked when
 *   used: a link by fn_link_attach(), a bell must be an eventfd, a host
 *   port's fd a tap without packet information.
 *
 * THE STACKS' SIDE: ATTACHMENT TABLE
 *   A stack attached to k networks (config.h, fn_attach_conf) gets, from
 *   the supervisor, one frozen memfd (memfd.h) listing them, at fd
 *   FN_FD_STACK_NETS (env FRAGNET_STACK_NETS_FD), and per attachment j
 *   its port's link (side B) at FN_FD_STACK_NET_LINK(j) and its port's
 *   bell at FN_FD_STACK_NET_BELL(j), as the table names them (names.h).
 *   Per attachment the stack adds one netif: the table's name (the
 *   network's, what nft's iifname and oifname match), ifindex, MAC,
 *   address and prefix, the same MAC and address as the switch's port
 *   table gives its port; it hands the bell to fn_stream_set_bell() on
 *   both its endpoints of that link, and waits for all its links on its
 *   own bell (names.h FN_FD_STACK_BELL), which the switch rings.  It
 *   checks the table as the switch checks its own: seals, size, magic,
 *   version, 1 <= nnets <= FN_STACK_MAX_NETS (config.h), fds >= 3 and
 *   distinct, names terminated, valid interface names and distinct,
 *   MACs unicast, addresses non-zero, prefixes 1..30, reserved fields and
 *   unused entries zero.
 *
 * COUNTERS (stats.h; i = the port's index in the table)
 *   vsw.<fn_vsw_ctr_names>               the switch and its MAC table
 *   port<i>.<fn_vsw_port_ctr_names>      per port: rx, tx, flooded, drops
 *   port<i>.link.tx.<fn_stream_ctr_names> stream 0, to the stack
 *   port<i>.link.rx.<fn_stream_ctr_names> stream 1, from the stack
 *   Drops of a frame the port SENT (runt, spoofed, tagged, local) count on
 *   that port; drops of a copy TO a port (no_slot, too_big, link_down) on
 *   the destination.  A page of FN_STATS_PAGE_SIZE holds all of them for
 *   FN_VSW_MAX_PORTS ports.
 */
#ifndef FRAGNET_VSWITCH_H
#define FRAGNET_VSWITCH_H

#include <stdint.h>

#include "fragnet/names.h"

#define FN_VSW_TABLE_MAGIC	0x53564e46u	/* "FNVS" */
#define FN_VSW_TABLE_VERSION	2u	/* 2: host ports */
#define FN_VSW_MAX_PORTS	16
#define FN_VSW_BURST		32	/* frames per port per turn */
#define FN_VSW_AGE_DEFAULT_MS	300000u	/* IEEE 802.1D's default aging */
#define FN_VSW_PORT_HOST	1u	/* port flag: link_fd is a tap (HOST) */

/* The switch's spawn names (FN_VSW_*, FN_ENV_VSW_TABLE_FD, FN_FD_VSW_*,
 * FN_MEMFD_VSW_TABLE_FMT) are in names.h, with every other one. */

/* One port.  Every field is written by the supervisor (S) before the
 * seal, and const for the switch. */
struct fn_vsw_port_ent {
	int32_t link_fd;	/* S: the port's link (side A), or its tap */
	int32_t bell_fd;	/* S: eventfd the stack rings, the switch waits
				 * on; -1 for a host port */
	int32_t peer_bell_fd;	/* S: the stack's bell, rung by the switch; -1 */
	uint32_t ipv4;		/* S: network order: the only IPv4 source */
	uint8_t mac[6];		/* S: the only Ethernet (and ARP) source */
	uint16_t flags;		/* S: 0, or FN_VSW_PORT_HOST */
	char name[FN_NAME_MAX];	/* S: what is attached, for logs */
};

/* The whole table: the memfd is exactly this size. */
struct fn_vsw_table {
	uint32_t magic;		/* S: FN_VSW_TABLE_MAGIC */
	uint32_t version;	/* S: FN_VSW_TABLE_VERSION */
	uint32_t size;		/* S: sizeof(struct fn_vsw_table) */
	uint32_t nports;	/* S: 1 .. FN_VSW_MAX_PORTS */
	uint32_t age_ms;	/* S: MAC aging; 0: FN_VSW_AGE_DEFAULT_MS */
	uint32_t flags;		/* S: reserved, 0 */
	char network[FN_NAME_MAX];	/* S: the [network] name */
	struct fn_vsw_port_ent port[FN_VSW_MAX_PORTS];	/* S: [nports], rest 0 */
};

/* Per-port counters, "port<i>.<name>", in this order. */
enum fn_vsw_port_ctr {
	FN_VSW_P_RX_PKTS,	/* frames the stack sent */
	FN_VSW_P_RX_BYTES,
	FN_VSW_P_TX_PKTS,	/* frames given to the stack (copies) */
	FN_VSW_P_TX_BYTES,
	FN_VSW_P_FLOODED,	/* its frames copied to every other port */
	FN_VSW_P_DROP_RUNT,	/* < 14 bytes */
	FN_VSW_P_DROP_SRC_MAC,	/* Ethernet source is not the port's MAC */
	FN_VSW_P_DROP_SRC_IP,	/* IPv4 source is not the port's address */
	FN_VSW_P_DROP_ARP_SPOOF, /* ARP sender MAC or IPv4 not the port's */
	FN_VSW_P_DROP_MALFORMED, /* IPv4 or ARP header cut short or odd */
	FN_VSW_P_DROP_VLAN,	/* 802.1Q / 802.1ad tagged */
	FN_VSW_P_DROP_ETHERTYPE, /* neither IPv4 nor ARP */
	FN_VSW_P_DROP_LOCAL,	/* its destination was learnt on itself */
	FN_VSW_P_DROP_NO_SLOT,	/* to it: its link had no free slot */
	FN_VSW_P_DROP_TOO_BIG,	/* to it: frame longer than its slots */
	FN_VSW_P_DROP_LINK_DOWN, /* to it: no stack (not joined, cut off) */
	FN_VSW_P_LINK_RESETS,	/* its stack restarted (link epochs) */
	FN_VSW_P_LINK_BROKEN,	/* its stack broke the link protocol */
	FN_VSW_P_COUNT
};

/* The switch's own counters, "vsw.<name>", in this order. */
enum fn_vsw_ctr {
	FN_VSW_TURNS,		/* turns that moved at least one frame */
	FN_VSW_SLEEPS,		/* blocks in epoll */
	FN_VSW_BELLS,		/* bells found rung on waking */
	FN_VSW_FDB_LEARNED,	/* MACs new to the table */
	FN_VSW_FDB_MOVED,	/* a MAC seen on another port than before */
	FN_VSW_FDB_EVICTED,	/* full bucket: its oldest entry gave way */
	FN_VSW_FDB_AGED,	/* entries expired */
	FN_VSW_FDB_FLUSHED,	/* entries forgotten with their port */
	FN_VSW_COUNT
};

/* The attachment table (THE STACKS' SIDE); every field S, const for the
 * stack. */
#define FN_VSW_ATTACH_MAGIC	0x54414e46u	/* "FNAT" */
#define FN_VSW_ATTACH_VERSION	1u
#define FN_VSW_ATTACH_MAX	8	/* = FN_STACK_MAX_NETS (config.h) */

struct fn_vsw_attach_ent {
	int32_t link_fd;	/* S: side B of its port's link */
	int32_t bell_fd;	/* S: its port's bell: the stack rings it */
	uint32_t ipv4;		/* S: network order: the netif's address */
	uint8_t prefix;		/* S: 1..30, the network's */
	uint8_t reserved;	/* S: 0 */
	uint16_t ifindex;	/* S: nft's iif/oif: 2 + the network's index */
	uint8_t mac[6];		/* S: the netif's MAC, unicast */
	uint16_t flags;		/* S: reserved, 0 */
	char name[FN_NAME_MAX];	/* S: the network's name: the netif's */
};

struct fn_vsw_attach {
	uint32_t magic;		/* S: FN_VSW_ATTACH_MAGIC */
	uint32_t version;	/* S: FN_VSW_ATTACH_VERSION */
	uint32_t size;		/* S: sizeof(struct fn_vsw_attach) */
	uint32_t nnets;		/* S: 1 .. FN_VSW_ATTACH_MAX */
	struct fn_vsw_attach_ent net[FN_VSW_ATTACH_MAX];	/* S: rest 0 */
};

extern const char *const fn_vsw_port_ctr_names[FN_VSW_P_COUNT];
extern const char *const fn_vsw_ctr_names[FN_VSW_COUNT];

/*
 * Supervisor (and tests): a sealed table memfd (O_CLOEXEC) for network
 * with ports[0..n-1], checked as the switch will check it (self fd
 * unknown yet).  Returns the fd, or -EINVAL for a table the switch would
 * refuse (*why says what, if why is not NULL), or another negative errno.
 */
int fn_vsw_table_create(const char *network, uint32_t age_ms,
			const struct fn_vsw_port_ent *ports, unsigned n,
			const char **why);

/*
 * Switch: read the table of fd into *t (private memory) and check it
 * (TRUST).  Returns 0, -EBADMSG (*why says what, if why is not NULL), or
 * another negative errno.  The fd is not closed.
 */
int fn_vsw_table_read(int fd, struct fn_vsw_table *t, const char **why);

/* Check a table already in private memory; self_fd is the table's own fd
 * (-1: none yet).  0, or -EBADMSG with *why set. */
int fn_vsw_table_check(const struct fn_vsw_table *t, int self_fd,
		       const char **why);

/*
 * Supervisor: a frozen attachment table for pipeline's stack with
 * nets[0..n-1], checked as the stack will check it.  The fd, -EINVAL (a
 * table the stack would refuse; *why says what), or another -errno.
 * Stack: read fd's table into *t and check it; 0, -EBADMSG (*why), or
 * another -errno; the fd is not closed.
 */
int fn_vsw_attach_create(unsigned pipeline, const struct fn_vsw_attach_ent *nets,
			 unsigned n, const char **why);
int fn_vsw_attach_read(int fd, struct fn_vsw_attach *t, const char **why);

#endif /* FRAGNET_VSWITCH_H */
