/*
 * stack.h - fragnet-stack internals (not a cross-process contract).
 *
 * fragnet-stack is one process per pipeline: lwIP (NO_SYS=1) in a single
 * polling loop, with one netif per packet link: its uplink "fn0" on the
 * link to the pipeline's driver, if it has one, and one per internal
 * network it is attached to, on the link to that network's vswitch port
 * (fragnet/vswitch.h).  The same sources are built once per lwIP
 * profile (fragnet-stack: "full", fragnet-stack-udp: "udp"); FN_STACK_PROFILE
 * names the profile a binary was built with.
 *
 *   main.c     spawn contract, config, stats page, the loop, SIGTERM
 *   linkif.c   a netif over its link: rx copy/validate, tx batching,
 *              link resets, per-frame counters
 *   filter.c   the nf_tables hooks on the packet path (src/nft's evaluator)
 *   control.c  the control socket: accept, check SO_PEERCRED, carry
 *              nf_tables netlink (fragnet/nlctl.h) to src/nft's server
 *   sock_serv.c  the socket channel, side B: the app's requests on lwIP's
 *              raw API, its events (sock_serv.h, fragnet/sockchan.h)
 *   port.c     lwIP's OS hooks: sys_now(), random seed
 *   cap.c      the capture points: copies into the capture region
 *              (fragnet/capture.h) while `fragnet capture` asks for them
 *
 * Everything here runs on the loop's thread: lwIP has no locks.
 */
#ifndef FRAGNET_STACK_H
#define FRAGNET_STACK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "lwip/netif.h"

#include "fragnet/capture.h"
#include "fragnet/config.h"
#include "fragnet/stats.h"
#include "fragnet/stream.h"

#if !defined(FN_STACK_PROFILE) || !defined(FN_STACK_PROG)
#error "FN_STACK_PROFILE and FN_STACK_PROG come from src/stack/meson.build"
#endif

#define STK_BURST		32	/* frames per rx burst, tx batch */
#define STK_ETH_HLEN		14
#define STK_VLAN_HLEN		4	/* room for one tag on rx */
#define STK_MTU_MAX		1500
#define STK_MTU_MIN		576	/* RFC 791: every host takes 576 */
#define STK_IFNAME		FN_UPLINK_IFNAME	/* the uplink, for nft */
#define STK_IFINDEX		1	/* the uplink's; a network's: 2 + index */
#define STK_MAX_IFS		(1 + FN_STACK_MAX_NETS)

/* Counters of the stack's own block ("stack.<name>" on its stats page). */
enum stk_ctr {
	STK_RX_FRAMES,		/* frames handed to lwIP */
	STK_TX_FRAMES,		/* frames submitted to the link */
	STK_RX_BYTES,
	STK_TX_BYTES,
	STK_DROP_RUNT,		/* rx: no byte after the Ethernet header */
	STK_DROP_TOO_BIG,	/* rx: longer than MTU + Ethernet + VLAN */
	STK_DROP_NO_PBUF,	/* rx: pbuf_alloc failed */
	STK_DROP_OTHER_MAC,	/* rx: unicast to another MAC */
	STK_DROP_NO_SLOT,	/* tx: every slot with the driver */
	STK_DROP_LINK_DOWN,	/* tx: peer not joined, or link cut off */
	STK_DROP_TX_TOO_BIG,	/* tx: lwIP gave more than a slot */
	STK_LINK_RESETS,	/* epochs followed (the driver restarted) */
	STK_LINK_BROKEN,	/* times the link was cut off (-EPIPE) */
	STK_ARP_REQUESTS_RX,
	STK_ARP_REPLIES_RX,
	STK_ARP_REQUESTS_TX,
	STK_ARP_REPLIES_TX,
	STK_ICMP_ECHO_RX,	/* echo requests handed to lwIP */
	STK_ICMP_ECHO_REPLIES_TX,
	STK_CONTROL_ACCEPTED,
	STK_CONTROL_REFUSED,	/* peer not uid 0 */
	STK_CONTROL_ERRORS,	/* accept(), SO_PEERCRED or a client failed */
	STK_CONTROL_REQUESTS,	/* netlink datagrams handled */
	STK_FILTER_DROP_RX,	/* frames the ruleset dropped on the way in */
	STK_FILTER_REASSEMBLED,	/* datagrams the filter reassembled */
	STK_FILTER_DROP_TX,	/* ... on the way out */
	STK_FILTER_REJECTS,	/* ICMP unreachables and TCP resets sent */
	STK_FILTER_JUDGED_RX,	/* packets the input hook judged */
	STK_FILTER_KEPT_RX,	/* of those, accepted by a flow's kept
				 * verdict (fn_nft_ct_adopt) */
	STK_FILTER_KEPT_TX,	/* packets sent so */
	STK_LOOPS,
	STK_CTR_COUNT
};

extern const char *const stk_ctr_names[STK_CTR_COUNT];

/* Counters of one netif ("if.<name>.<name>"); the stack's block counts
 * every netif's together. */
enum stk_if_ctr {
	STK_IF_RX_FRAMES,
	STK_IF_TX_FRAMES,
	STK_IF_DROP_LINK_DOWN,
	STK_IF_LINK_RESETS,
	STK_IF_LINK_BROKEN,
	STK_IF_CTR_COUNT
};

extern const char *const stk_if_ctr_names[STK_IF_CTR_COUNT];

struct stack;

/* One netif and its link: the uplink, or an attachment to a network. */
struct stk_if {
	struct netif netif;		/* state: this stk_if */
	struct fn_link link;		/* we are side B */
	struct stack *stack;
	char name[FN_IFNAME_MAX];	/* what nft's iifname, oifname match */
	unsigned index;			/* nft's iif, oif */
	uint8_t mac[6];			/* uplink: [nic] mac, shared by every
					 * stack; a network's: its own */
	uint32_t max_rx_frame;		/* bytes, MTU + Ethernet + VLAN */
	uint32_t reset_epoch;		/* epoch whose reset we last counted */
	bool broken;			/* link cut off until the next reset */
	struct fn_pkt txq[STK_BURST];	/* written, not yet submitted */
	unsigned ntx;
	_Atomic uint64_t *ctr;		/* STK_IF_CTR_COUNT */
	_Atomic uint64_t own_ctr[STK_IF_CTR_COUNT];
};

struct stack {
	struct stk_if ifs[STK_MAX_IFS];	/* the uplink first, if any */
	unsigned nifs;
	struct stk_if *uplink;		/* &ifs[0], or NULL: internal only */
	int bell_fd;			/* our doorbell (names.h), or -1 */
	_Atomic uint64_t *ctr;		/* STK_CTR_COUNT, a stats page block */
	struct fn_cap cap;		/* capture region; hdr NULL: none */
};

static inline void stk_count(struct stack *s, enum stk_ctr c, uint64_t v)
{
	fn_ctr_add(&s->ctr[c], v);
}

static inline void stk_if_count(struct stk_if *ifc, enum stk_if_ctr c,
				uint64_t v)
{
	fn_ctr_add(&ifc->ctr[c], v);
}

/* linkif.c.  The link must be attached; ifc's stack, name, index, mac and
 * counters set.  Adds and brings up ifc's netif (addresses in network
 * order); -EINVAL when a slot cannot carry a frame of STK_MTU_MIN. */
int stk_if_add(struct stk_if *ifc, uint32_t addr, uint8_t prefix,
	       uint32_t gateway);
/* Receive one burst of ifc's link into lwIP.  Frames handed over, 0, or a
 * link error (-ECONNRESET, -EPIPE) that the caller gives to
 * stk_link_error(). */
int stk_link_rx(struct stk_if *ifc);
/* Submit the frames lwIP wrote to ifc since the last flush.  0 or a link
 * error. */
int stk_link_flush(struct stk_if *ifc);
/* Act on a link error: a reset voids what we hold, -EPIPE cuts off. */
void stk_link_error(struct stk_if *ifc, int err);

/* filter.c.  Each hook sees the netif the frame came in on or goes out of
 * (nft's iif, iifname, oif, oifname).  stk_filter_rx takes p: it returns
 * the frame to hand to lwIP
 * (p, or a whole datagram reassembled from fragments) or NULL (dropped and
 * freed, or held for reassembly).  stk_filter_output is the netif's
 * output (IPv4, before ARP): it judges p and passes it to etharp_output,
 * or drops it (ERR_OK, as if sent); p stays the caller's. */
struct pbuf;

/* cap.c: the capture points (fragnet/capture.h).  stk_cap_open() after
 * the links are attached, before the stack confines itself. */
void stk_cap_open(struct stack *s);
static inline bool stk_cap_on(const struct stack *s, unsigned point)
{
	return fn_cap_on(&s->cap, point);
}
void stk_cap_frame(struct stk_if *ifc, unsigned point, const void *f,
		   uint32_t len);
void stk_cap_drop_rx(struct stk_if *ifc, unsigned hook, uint64_t rule,
		     struct pbuf *p);
void stk_cap_drop_tx(struct stk_if *ifc, unsigned hook, uint64_t rule,
		     const uint8_t *nh, uint32_t len);

/* *sums: the FN_NFT_SUM_* (src/nft/nft.h) the filter found right on
 * exactly the frame it returns, 0 when none or another frame. */
struct pbuf *stk_filter_rx(struct stk_if *ifc, struct pbuf *p,
			   unsigned *sums);
/* The app's user and group ([app] user, resolved at start), the owner of
 * every socket of the stack: meta skuid and skgid.  Unset: those rules
 * never match. */
void stk_filter_set_owner(uint32_t uid, uint32_t gid);
err_t stk_filter_output(struct stk_if *ifc, struct pbuf *p,
			const ip4_addr_t *dst);
/* Once a loop turn, before its first frame: a new turn, whose first
 * judged packet reads the coarse clock that all its packets are judged
 * with, unless the ruleset needs the fine clock. */
void stk_filter_turn(void);

/* control.c */
struct pollfd;
struct nl_server;
int stk_control_init(int fd);
void stk_control_fini(void);
void stk_control_poll(struct stack *s, int fd);
int stk_control_pollfds(struct pollfd *pfd, int max);
bool stk_control_busy(void);
struct nl_server *stk_nft(void);	/* NULL: no control socket */

/* port.c */
void stk_port_init(void);

/* confine.c: confine the stack (fragnet/confine.h) as FRAGNET_CONFINE
 * says.  0, or a negative errno after logging why. */
int stk_confine(unsigned max_tcp);

/* drill.c, in fragnet-stack-drill only (test_compromise.sh). */
int stk_drill_prepare(const char *file);
void stk_drill_run(void);

#endif /* FRAGNET_STACK_H */
