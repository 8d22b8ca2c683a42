/*
 * linkif.c - an lwIP netif of fragnet-stack, on its packet link.
 *
 * The stack has one netif per link (stack.h, struct stk_if): its uplink,
 * on the link to its driver, and one per internal network, on the link to
 * its port of the network's vswitch (fragnet/vswitch.h).  Everything below
 * holds for each of them alike; "the peer" is the driver or the switch.
 * The stack is side B of every link (stream.h): the sink of stream 0
 * (frames from the peer) and the source of stream 1 (frames to it).
 *
 *   receive  stk_link_rx(): recv a burst; per frame check the length, copy
 *            it into a PBUF_POOL chain and check the destination MAC on the
 *            copy; ack the whole burst; then the ruleset's input hooks
 *            (filter.c, which reassembles IPv4 fragments where the kernel
 *            does) and netif->input (ethernet_input) for each copy.  lwIP never reads shared memory: the driver can
 *            rewrite a slot while we hold it, so a check made on the slot
 *            would not hold for what lwIP parses afterwards.
 *   send     netif->output is the ruleset's output hooks (filter.c's
 *            stk_filter_output, before ARP), then etharp_output;
 *            linkif_output() (netif->linkoutput, called from inside lwIP)
 *            takes a slot, copies the pbuf chain into it, queues it.
 *            stk_link_flush() submits the queue, once per loop turn or when
 *            STK_BURST frames wait.  No slot: the frame is dropped and lwIP
 *            gets ERR_MEM (TCP keeps the segment and retries).
 *   reset    any link call may return -ECONNRESET (the peer restarted and
 *            the supervisor reset the link): every slot in hand is void.
 *            Frames already copied out are ours and still go to lwIP.
 *   capture  with `fragnet capture` on (cap.c), each burst received is
 *            copied to the capture region before the filter, each batch
 *            sent before it is submitted.
 *   broken   -EPIPE: the peer broke the link protocol.  The stack stops
 *            using that link until the supervisor resets it.
 *
 * The frame counters here (ARP, ICMP echo) read our private copies or the
 * pbufs lwIP hands us, never the slot: they cost a few byte compares.
 *
 * Called from the stack loop only (lwIP is NO_SYS, one thread).
 */
#include <errno.h>
#include <string.h>

#include "lwip/etharp.h"
#include "lwip/ip4_addr.h"
#include "lwip/pbuf.h"
#include "netif/ethernet.h"

#include "fragnet/clock.h"
#include "fragnet/log.h"
#include "fragnet/trace.h"

#include "nft.h"
#include "stack.h"

#define ETHTYPE_OFF	12
#define ARP_OP_OFF	(STK_ETH_HLEN + 6)
#define IP_PROTO_OFF	9
#define PROTO_ICMP	1
#define ICMP_ECHO_REQ	8
#define ICMP_ECHO_REP	0

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * Count ARP requests/replies and ICMP echo requests (rx) or replies (tx).
 * f is the first len bytes of a frame in private memory; headers that do
 * not fit are not counted (lwIP will drop such frames anyway).
 */
static void count_proto(struct stack *s, const uint8_t *f, uint32_t len,
			bool tx)
{
	uint32_t ihl;

	if (len < STK_ETH_HLEN + 8)
		return;
	switch (rd16(f + ETHTYPE_OFF)) {
	case ETHTYPE_ARP:
		if (rd16(f + ARP_OP_OFF) == 1)
			stk_count(s, tx ? STK_ARP_REQUESTS_TX :
				  STK_ARP_REQUESTS_RX, 1);
		else if (rd16(f + ARP_OP_OFF) == 2)
			stk_count(s, tx ? STK_ARP_REPLIES_TX :
				  STK_ARP_REPLIES_RX, 1);
		break;
	case ETHTYPE_IP:
		ihl = (uint32_t)(f[STK_ETH_HLEN] & 0x0f) * 4;
		if (ihl < 20 || len <= STK_ETH_HLEN + ihl ||
		    f[STK_ETH_HLEN + IP_PROTO_OFF] != PROTO_ICMP)
			break;
		if (tx && f[STK_ETH_HLEN + ihl] == ICMP_ECHO_REP)
			stk_count(s, STK_ICMP_ECHO_REPLIES_TX, 1);
		else if (!tx && f[STK_ETH_HLEN + ihl] == ICMP_ECHO_REQ)
			stk_count(s, STK_ICMP_ECHO_RX, 1);
		break;
	}
}

/* ---- link errors --------------------------------------------------------- */

/* Who is at the other end of ifc's link, for the log. */
static const char *peer_of(const struct stk_if *ifc)
{
	return ifc == ifc->stack->uplink ? "the driver" : "the vswitch";
}

/* The link was reset: slots in hand are void.  Each endpoint reports one
 * reset; count it once per epoch. */
static void link_reset(struct stk_if *ifc)
{
	ifc->ntx = 0;
	ifc->broken = false;
	if (ifc->link.epoch == ifc->reset_epoch)
		return;
	ifc->reset_epoch = ifc->link.epoch;
	stk_count(ifc->stack, STK_LINK_RESETS, 1);
	stk_if_count(ifc, STK_IF_LINK_RESETS, 1);
	fn_info("%s: link reset (epoch %u): %s restarted; frames in hand "
		"dropped", ifc->name, ifc->link.epoch, peer_of(ifc));
}

void stk_link_error(struct stk_if *ifc, int err)
{
	if (err == -ECONNRESET) {
		link_reset(ifc);
	} else if (err < 0 && !ifc->broken) {
		ifc->broken = true;
		ifc->ntx = 0;
		stk_count(ifc->stack, STK_LINK_BROKEN, 1);
		stk_if_count(ifc, STK_IF_LINK_BROKEN, 1);
		fn_warn("%s: link cut off (%s): %s broke the protocol; off "
			"until the supervisor resets it", ifc->name,
			strerror(-err), peer_of(ifc));
	}
}

/* ---- receive ------------------------------------------------------------- */

/* The one read of a received slot: into a fresh pbuf chain.  NULL when the
 * frame is dropped (and counted). */
static struct pbuf *frame_copy(struct stk_if *ifc, const struct fn_pkt *pkt)
{
	struct stack *s = ifc->stack;
	const uint8_t *dst;
	struct pbuf *p;

	/* ethernet_input() silently drops a header-only frame: count it. */
	if (pkt->len <= STK_ETH_HLEN) {
		stk_count(s, STK_DROP_RUNT, 1);
		return NULL;
	}
	if (pkt->len > ifc->max_rx_frame) {
		stk_count(s, STK_DROP_TOO_BIG, 1);
		return NULL;
	}
	p = pbuf_alloc(PBUF_RAW, (u16_t)pkt->len, PBUF_POOL);
	if (!p) {
		stk_count(s, STK_DROP_NO_PBUF, 1);
		return NULL;
	}
	pbuf_take(p, pkt->data, (u16_t)pkt->len);
	/* PBUF_POOL_BUFSIZE > STK_ETH_HLEN: the header is in the first pbuf. */
	dst = p->payload;
	if (!(dst[0] & 1) && memcmp(dst, ifc->mac, sizeof(ifc->mac)) != 0) {
		stk_count(s, STK_DROP_OTHER_MAC, 1);
		pbuf_free(p);
		return NULL;
	}
	return p;
}

/* netif->input owns p, even when it fails (netif_input_fn). */
/* p to lwIP; sums (FN_NFT_SUM_*): what the filter checked on these very
 * bytes, which lwIP's input (ip4_input, tcp_input) need not check again:
 * its netif's check flags are off for this one call. */
static void frame_deliver(struct stk_if *ifc, struct pbuf *p, unsigned sums)
{
	struct stack *s = ifc->stack;
	u16_t flags = ifc->netif.chksum_flags;

	stk_count(s, STK_RX_FRAMES, 1);
	stk_count(s, STK_RX_BYTES, p->tot_len);
	stk_if_count(ifc, STK_IF_RX_FRAMES, 1);
	count_proto(s, p->payload, p->len, false);
	if (sums & FN_NFT_SUM_IP)
		ifc->netif.chksum_flags &= (u16_t)~NETIF_CHECKSUM_CHECK_IP;
	if (sums & FN_NFT_SUM_TCP)
		ifc->netif.chksum_flags &= (u16_t)~NETIF_CHECKSUM_CHECK_TCP;
	if (ifc->netif.input(p, &ifc->netif) != ERR_OK)
		pbuf_free(p);
	ifc->netif.chksum_flags = flags;
}

static void trace_pkts(unsigned point, const struct fn_pkt *p, unsigned n)
{
	int64_t t = fn_clock_ns();

	for (unsigned i = 0; i < n; i++)
		fn_trace_frame(point, p[i].data, p[i].len, t);
}

/* Copies for the capture (cap.c).  On rx straight from the slots: a peer
 * that rewrites one while we copy spoils only its own capture. */
static void cap_pkts(struct stk_if *ifc, unsigned point,
		     const struct fn_pkt *p, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		stk_cap_frame(ifc, point, p[i].data, p[i].len);
}

/* frame_deliver between two trace points; the frame's head is copied
 * first: lwIP owns the pbuf after input. */
static void trace_deliver(struct stk_if *ifc, struct pbuf *p, unsigned sums)
{
	uint8_t head[128];
	uint16_t len = pbuf_copy_partial(p, head, sizeof(head), 0);

	fn_trace_frame(FN_TP_STK_FILTER, head, len, fn_clock_ns());
	frame_deliver(ifc, p, sums);
	fn_trace_frame(FN_TP_STK_DELIVERED, head, len, fn_clock_ns());
}

int stk_link_rx(struct stk_if *ifc)
{
	struct fn_pkt pkt[STK_BURST];
	struct pbuf *p[STK_BURST];
	int n, r;

	if (ifc->broken)
		return 0;
	n = fn_stream_recv_burst(&ifc->link.rx, pkt, STK_BURST);
	if (n <= 0)
		return n;
	if (fn_trace_enabled())
		trace_pkts(FN_TP_STK_RX, pkt, (unsigned)n);
	if (stk_cap_on(ifc->stack, FN_CAP_RX))
		cap_pkts(ifc, FN_CAP_RX, pkt, (unsigned)n);
	for (int i = 0; i < n; i++)
		p[i] = frame_copy(ifc, &pkt[i]);
	/* Slots go back before lwIP runs: it may take long (TCP) and the
	 * driver needs them.  A reset here voids the slots, not the copies. */
	r = fn_stream_ack_burst(&ifc->link.rx, pkt, (unsigned)n);
	for (int i = 0; i < n; i++) {
		unsigned sums = 0;

		/* dropped, or a fragment held for reassembly: NULL */
		if (p[i])
			p[i] = stk_filter_rx(ifc, p[i], &sums);
		if (p[i] && fn_trace_enabled())
			trace_deliver(ifc, p[i], sums);
		else if (p[i])
			frame_deliver(ifc, p[i], sums);
	}
	return r < 0 ? r : n;
}

/* ---- send ---------------------------------------------------------------- */

int stk_link_flush(struct stk_if *ifc)
{
	uint64_t bytes = 0;
	unsigned n = ifc->ntx;
	int r;

	if (n == 0)
		return 0;
	for (unsigned i = 0; i < n; i++)
		bytes += ifc->txq[i].len;
	ifc->ntx = 0;
	if (fn_trace_enabled())
		trace_pkts(FN_TP_STK_TX, ifc->txq, n);
	if (stk_cap_on(ifc->stack, FN_CAP_TX))
		cap_pkts(ifc, FN_CAP_TX, ifc->txq, n);
	r = fn_stream_submit_burst(&ifc->link.tx, ifc->txq, n);
	if (r < 0)
		return r;	/* -ECONNRESET / -EPIPE: the slots are void */
	stk_count(ifc->stack, STK_TX_FRAMES, n);
	stk_count(ifc->stack, STK_TX_BYTES, bytes);
	stk_if_count(ifc, STK_IF_TX_FRAMES, n);
	return 0;
}

/* One free slot into txq[ntx], or 0 (none free, peer not joined), or a
 * link error that could not be handled here. */
static int slot_take(struct stk_if *ifc)
{
	int n;

	if (ifc->ntx == STK_BURST) {
		n = stk_link_flush(ifc);
		if (n < 0)
			stk_link_error(ifc, n);
		if (ifc->broken)
			return -EPIPE;
	}
	n = fn_stream_alloc_burst(&ifc->link.tx, &ifc->txq[ifc->ntx], 1);
	if (n == -ECONNRESET) {
		stk_link_error(ifc, n);	/* empties txq */
		n = fn_stream_alloc_burst(&ifc->link.tx, &ifc->txq[ifc->ntx],
					  1);
	}
	if (n < 0)
		stk_link_error(ifc, n);
	return n;
}

/* netif->linkoutput.  p stays the caller's (lwIP frees it). */
static err_t linkif_output(struct netif *nif, struct pbuf *p)
{
	struct stk_if *ifc = nif->state;
	struct stack *s = ifc->stack;
	struct fn_pkt *pkt;
	int n;

	if (p->tot_len > ifc->link.tx.slot_size) {
		stk_count(s, STK_DROP_TX_TOO_BIG, 1);
		return ERR_IF;
	}
	n = ifc->broken ? -EPIPE : slot_take(ifc);
	if (n <= 0) {
		bool down = n < 0 || !fn_link_peer_ready(&ifc->link);

		stk_count(s, down ? STK_DROP_LINK_DOWN : STK_DROP_NO_SLOT, 1);
		if (down)
			stk_if_count(ifc, STK_IF_DROP_LINK_DOWN, 1);
		return down ? ERR_IF : ERR_MEM;
	}
	pkt = &ifc->txq[ifc->ntx++];
	pkt->len = pbuf_copy_partial(p, pkt->data, p->tot_len, 0);
	count_proto(s, p->payload, p->len, true);
	return ERR_OK;
}

/* ---- netif --------------------------------------------------------------- */

static err_t linkif_ip_output(struct netif *nif, struct pbuf *p,
			      const ip4_addr_t *dst)
{
	return stk_filter_output(nif->state, p, dst);
}

static err_t linkif_init(struct netif *nif)
{
	struct stk_if *ifc = nif->state;
	uint32_t mtu = ifc->link.tx.slot_size - STK_ETH_HLEN;

	/* lwIP's own two-letter name; nft knows the netif by ifc->name. */
	nif->name[0] = 'f';
	nif->name[1] = 'n';
	nif->output = linkif_ip_output;	/* the ruleset, then ARP */
	nif->linkoutput = linkif_output;
	nif->mtu = (u16_t)(mtu < STK_MTU_MAX ? mtu : STK_MTU_MAX);
	nif->hwaddr_len = ETH_HWADDR_LEN;
	memcpy(nif->hwaddr, ifc->mac, ETH_HWADDR_LEN);
	nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP |
		     NETIF_FLAG_ETHERNET;
	ifc->max_rx_frame = nif->mtu + STK_ETH_HLEN + STK_VLAN_HLEN;
	if (ifc->max_rx_frame > ifc->link.rx.slot_size)
		ifc->max_rx_frame = ifc->link.rx.slot_size;
	return ERR_OK;
}

int stk_if_add(struct stk_if *ifc, uint32_t addr, uint8_t prefix,
	       uint32_t gateway)
{
	ip4_addr_t ip, mask, gw;

	if (ifc->link.tx.slot_size < STK_MTU_MIN + STK_ETH_HLEN)
		return -EINVAL;
	ip4_addr_set_u32(&ip, addr);
	ip4_addr_set_u32(&mask, prefix ? lwip_htonl(~0u << (32 - prefix)) : 0);
	ip4_addr_set_u32(&gw, gateway);
	if (!netif_add(&ifc->netif, &ip, &mask, &gw, ifc, linkif_init,
		       ethernet_input))
		return -EINVAL;
	/* Up before link up: the gratuitous ARP of netif_set_link_up() goes
	 * out (or is dropped as link_down while the peer is not there). */
	netif_set_up(&ifc->netif);
	netif_set_link_up(&ifc->netif);
	return 0;
}
