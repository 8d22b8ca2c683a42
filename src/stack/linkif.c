/*
 * linkif.c - the lwIP netif of fragnet-stack, on its packet link.
 *
 * The stack is side B of the link (stream.h): the sink of stream 0 (frames
 * from the driver) and the source of stream 1 (frames to it).
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
 *   reset    any link call may return -ECONNRESET (the driver restarted and
 *            the supervisor reset the link): every slot in hand is void.
 *            Frames already copied out are ours and still go to lwIP.
 *   broken   -EPIPE: the driver broke the link protocol.  The stack stops
 *            using the link until the supervisor resets it.
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

/* The link was reset: slots in hand are void.  Each endpoint reports one
 * reset; count it once per epoch. */
static void link_reset(struct stack *s)
{
	s->ntx = 0;
	s->broken = false;
	if (s->link.epoch == s->reset_epoch)
		return;
	s->reset_epoch = s->link.epoch;
	stk_count(s, STK_LINK_RESETS, 1);
	fn_info("link reset (epoch %u): the driver restarted; frames in hand dropped",
		s->link.epoch);
}

void stk_link_error(struct stack *s, int err)
{
	if (err == -ECONNRESET) {
		link_reset(s);
	} else if (err < 0 && !s->broken) {
		s->broken = true;
		s->ntx = 0;
		stk_count(s, STK_LINK_BROKEN, 1);
		fn_warn("link cut off (%s): the driver broke the protocol; "
			"off until the supervisor resets it", strerror(-err));
	}
}

/* ---- receive ------------------------------------------------------------- */

/* The one read of a received slot: into a fresh pbuf chain.  NULL when the
 * frame is dropped (and counted). */
static struct pbuf *frame_copy(struct stack *s, const struct fn_pkt *pkt)
{
	const uint8_t *dst;
	struct pbuf *p;

	/* ethernet_input() silently drops a header-only frame: count it. */
	if (pkt->len <= STK_ETH_HLEN) {
		stk_count(s, STK_DROP_RUNT, 1);
		return NULL;
	}
	if (pkt->len > s->max_rx_frame) {
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
	if (!(dst[0] & 1) && memcmp(dst, s->mac, sizeof(s->mac)) != 0) {
		stk_count(s, STK_DROP_NOT_FOR_US, 1);
		pbuf_free(p);
		return NULL;
	}
	return p;
}

/* netif->input owns p, even when it fails (netif_input_fn). */
static void frame_deliver(struct stack *s, struct pbuf *p)
{
	stk_count(s, STK_RX_FRAMES, 1);
	stk_count(s, STK_RX_BYTES, p->tot_len);
	count_proto(s, p->payload, p->len, false);
	if (s->netif.input(p, &s->netif) != ERR_OK)
		pbuf_free(p);
}

static void trace_pkts(unsigned point, const struct fn_pkt *p, unsigned n)
{
	int64_t t = fn_clock_ns();

	for (unsigned i = 0; i < n; i++)
		fn_trace_frame(point, p[i].data, p[i].len, t);
}

/* frame_deliver between two trace points; the frame's head is copied
 * first: lwIP owns the pbuf after input. */
static void trace_deliver(struct stack *s, struct pbuf *p)
{
	uint8_t head[128];
	uint16_t len = pbuf_copy_partial(p, head, sizeof(head), 0);

	fn_trace_frame(FN_TP_STK_FILTER, head, len, fn_clock_ns());
	frame_deliver(s, p);
	fn_trace_frame(FN_TP_STK_DELIVERED, head, len, fn_clock_ns());
}

int stk_link_rx(struct stack *s)
{
	struct fn_pkt pkt[STK_BURST];
	struct pbuf *p[STK_BURST];
	int n, r;

	if (s->broken)
		return 0;
	n = fn_stream_recv_burst(&s->link.rx, pkt, STK_BURST);
	if (n <= 0)
		return n;
	if (fn_trace_enabled())
		trace_pkts(FN_TP_STK_RX, pkt, (unsigned)n);
	for (int i = 0; i < n; i++)
		p[i] = frame_copy(s, &pkt[i]);
	/* Slots go back before lwIP runs: it may take long (TCP) and the
	 * driver needs them.  A reset here voids the slots, not the copies. */
	r = fn_stream_ack_burst(&s->link.rx, pkt, (unsigned)n);
	for (int i = 0; i < n; i++) {
		/* dropped, or a fragment held for reassembly: NULL */
		if (p[i])
			p[i] = stk_filter_rx(s, p[i]);
		if (p[i] && fn_trace_enabled())
			trace_deliver(s, p[i]);
		else if (p[i])
			frame_deliver(s, p[i]);
	}
	return r < 0 ? r : n;
}

/* ---- send ---------------------------------------------------------------- */

int stk_link_flush(struct stack *s)
{
	uint64_t bytes = 0;
	unsigned n = s->ntx;
	int r;

	if (n == 0)
		return 0;
	for (unsigned i = 0; i < n; i++)
		bytes += s->txq[i].len;
	s->ntx = 0;
	if (fn_trace_enabled())
		trace_pkts(FN_TP_STK_TX, s->txq, n);
	r = fn_stream_submit_burst(&s->link.tx, s->txq, n);
	if (r < 0)
		return r;	/* -ECONNRESET / -EPIPE: the slots are void */
	stk_count(s, STK_TX_FRAMES, n);
	stk_count(s, STK_TX_BYTES, bytes);
	return 0;
}

/* One free slot into txq[ntx], or 0 (none free, peer not joined), or a
 * link error that could not be handled here. */
static int slot_take(struct stack *s)
{
	int n;

	if (s->ntx == STK_BURST) {
		n = stk_link_flush(s);
		if (n < 0)
			stk_link_error(s, n);
		if (s->broken)
			return -EPIPE;
	}
	n = fn_stream_alloc_burst(&s->link.tx, &s->txq[s->ntx], 1);
	if (n == -ECONNRESET) {
		stk_link_error(s, n);	/* empties txq */
		n = fn_stream_alloc_burst(&s->link.tx, &s->txq[s->ntx], 1);
	}
	if (n < 0)
		stk_link_error(s, n);
	return n;
}

/* netif->linkoutput.  p stays the caller's (lwIP frees it). */
static err_t linkif_output(struct netif *nif, struct pbuf *p)
{
	struct stack *s = nif->state;
	struct fn_pkt *pkt;
	int n;

	if (p->tot_len > s->link.tx.slot_size) {
		stk_count(s, STK_DROP_TX_TOO_BIG, 1);
		return ERR_IF;
	}
	n = s->broken ? -EPIPE : slot_take(s);
	if (n <= 0) {
		bool down = n < 0 || !fn_link_peer_ready(&s->link);

		stk_count(s, down ? STK_DROP_LINK_DOWN : STK_DROP_NO_SLOT, 1);
		return down ? ERR_IF : ERR_MEM;
	}
	pkt = &s->txq[s->ntx++];
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
	struct stack *s = nif->state;
	uint32_t mtu = s->link.tx.slot_size - STK_ETH_HLEN;

	nif->name[0] = 'f';
	nif->name[1] = 'n';
	nif->output = linkif_ip_output;	/* the ruleset, then ARP */
	nif->linkoutput = linkif_output;
	nif->mtu = (u16_t)(mtu < STK_MTU_MAX ? mtu : STK_MTU_MAX);
	nif->hwaddr_len = ETH_HWADDR_LEN;
	memcpy(nif->hwaddr, s->mac, ETH_HWADDR_LEN);
	nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP |
		     NETIF_FLAG_ETHERNET;
	s->max_rx_frame = nif->mtu + STK_ETH_HLEN + STK_VLAN_HLEN;
	if (s->max_rx_frame > s->link.rx.slot_size)
		s->max_rx_frame = s->link.rx.slot_size;
	return ERR_OK;
}

/*
 * Add the one netif (addresses in network byte order) and bring it up.
 * -EINVAL when a link slot cannot carry a frame of STK_MTU_MIN.
 */
int stk_netif_add(struct stack *s, uint32_t addr, uint8_t prefix,
		  uint32_t gateway)
{
	ip4_addr_t ip, mask, gw;

	if (s->link.tx.slot_size < STK_MTU_MIN + STK_ETH_HLEN)
		return -EINVAL;
	ip4_addr_set_u32(&ip, addr);
	ip4_addr_set_u32(&mask, prefix ? lwip_htonl(~0u << (32 - prefix)) : 0);
	ip4_addr_set_u32(&gw, gateway);
	if (!netif_add(&s->netif, &ip, &mask, &gw, s, linkif_init,
		       ethernet_input))
		return -EINVAL;
	netif_set_default(&s->netif);
	/* Up before link up: the gratuitous ARP of netif_set_link_up() goes
	 * out (or is dropped as link_down while the driver is not there). */
	netif_set_up(&s->netif);
	netif_set_link_up(&s->netif);
	return 0;
}
