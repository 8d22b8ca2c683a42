/*
 * drv_path.c - the driver's three data paths, one burst each per call.
 *
 *   drv_nic_rx()    NIC queue q -> (broadcast fan-out) -> link -> stack q
 *   drv_bcast_rx()  broadcast ring q -> link -> stack q
 *   drv_link_rx()   stack q -> link -> NIC queue q
 *
 * Called from the loop (drv_loop.c) only.  Every path copies: a frame
 * crosses into or out of the link's bulk buffer once, so no mbuf ever
 * points into memory the stack can write, and no slot waits on the NIC.
 *
 * OWNERSHIP.  Mbufs from rx_burst or our broadcast ring are ours: each call
 * frees every one of them, sent or dropped.  A broadcast frame is shared
 * by reference: before we put it on another queue's ring we take one more
 * reference for that driver (rte_pktmbuf_refcnt_update, every segment),
 * and give it back if the ring refuses it.  Link slots are the stream's
 * (stream.h): allocated ones are submitted or released, received ones are
 * acked, within the same call.
 *
 * TRUST.  The stream library validates each descriptor of the stack; what
 * it cannot know is what a frame must look like on the wire: we check that
 * a frame from the stack holds at least an Ethernet header and fits one
 * mbuf before we copy it.
 */
#include <errno.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_ring.h>

#include "fragnet/clock.h"
#include "fragnet/log.h"
#include "fragnet/trace.h"
#include "drv.h"

const char *const drv_ctr_names[D_COUNT] = {
	[D_RX_PKTS] = "rx_pkts",
	[D_RX_BYTES] = "rx_bytes",
	[D_TX_PKTS] = "tx_pkts",
	[D_TX_BYTES] = "tx_bytes",
	[D_BURSTS_RX] = "bursts_rx",
	[D_BURSTS_TX] = "bursts_tx",
	[D_DROP_NO_SLOT] = "drop_no_slot",
	[D_DROP_TOO_BIG] = "drop_too_big",
	[D_DROP_TX_FULL] = "drop_tx_full",
	[D_DROP_NO_MBUF] = "drop_no_mbuf",
	[D_DROP_BAD_LEN] = "drop_bad_len",
	[D_DROP_RUNT] = "drop_runt",
	[D_BCAST_OUT] = "bcast_out",
	[D_BCAST_IN] = "bcast_in",
	[D_DROP_BCAST_FULL] = "drop_bcast_full",
	[D_LINK_RESETS] = "link_resets",
	[D_LINK_BROKEN] = "link_broken",
	[D_DROP_LINK_DOWN] = "drop_link_down",
	[D_IDLE_NAPS] = "idle_naps",
	[D_WAKE_NIC] = "wake_nic",
	[D_WAKE_LINK] = "wake_link",
	[D_WAKE_BCAST] = "wake_bcast",
	[D_WAKE_TIMER] = "wake_timer",
};

/*
 * A link call failed.  -ECONNRESET comes once per endpoint after a stack
 * restart (stream.h RESET): count and log it once per epoch, whichever
 * endpoint reports it first, and take the other endpoint's report now:
 * left pending, it would fail that endpoint's next call, and drop a burst
 * of the new epoch for the old one's sake.  -EPIPE: the stack broke the
 * protocol; the stream library has cut it off until it is restarted.
 */
void drv_link_error(struct drv *d, int err)
{
	switch (err) {
	case -ECONNRESET:
		d->link_broken = false;
		if (d->link.epoch == d->reset_epoch)
			return;
		d->reset_epoch = d->link.epoch;
		drv_count(d, D_LINK_RESETS, 1);
		fn_info("link reset (the stack restarted): frames in hand dropped");
		(void)fn_stream_reclaim(&d->link.tx);
		(void)fn_stream_wait(&d->link.rx, 0);
		return;
	case -EAGAIN:
		/* The stack has not joined the epoch yet (submit and ack
		 * report that; alloc and recv give 0). */
		return;
	case -EPIPE:
		if (d->link_broken)
			return;
		d->link_broken = true;
		drv_count(d, D_LINK_BROKEN, 1);
		fn_warn("the stack broke the link protocol (see link.*.bad_*): "
			"that stream is cut off until the stack is restarted");
		return;
	default:
		/* -EINVAL: a pkt we did not own: our bug, not the stack's. */
		fn_err("link: unexpected error %s", strerror(-err));
	}
}

/* Broadcast, multicast (the group bit covers both) and ARP, which may be
 * unicast to our shared MAC but answer another queue's stack (dpdk.h). */
static bool wants_fanout(const struct rte_mbuf *m)
{
	struct rte_ether_hdr copy;
	const struct rte_ether_hdr *eh = rte_pktmbuf_read(m, 0, sizeof(copy),
							  &copy);

	if (!eh)
		return false;	/* a runt: to_link() drops it */
	return rte_is_multicast_ether_addr(&eh->dst_addr) ||
	       eh->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
}

/* Hand the fan-out frames of m[] to every other queue's ring. */
static void fanout(struct drv *d, struct rte_mbuf **m, unsigned n)
{
	struct rte_mbuf *bc[DRV_BURST];
	unsigned nb = 0, k;

	if (d->nqueues < 2)
		return;
	for (unsigned i = 0; i < n; i++)
		if (wants_fanout(m[i]))
			bc[nb++] = m[i];
	if (nb == 0)
		return;
	for (unsigned q = 0; q < d->nqueues; q++) {
		if (q == d->queue)
			continue;
		/* The reference travels with the pointer: take it first. */
		for (unsigned i = 0; i < nb; i++)
			rte_pktmbuf_refcnt_update(bc[i], 1);
		k = rte_ring_mp_enqueue_burst(d->bcast[q], (void *const *)bc, nb,
					      NULL);
		for (unsigned i = k; i < nb; i++)
			rte_pktmbuf_refcnt_update(bc[i], -1);
		if (k)	/* after the enqueue: dpdk.h, WAKE-UPS */
			drv_wait_ring(d, q);
		drv_count(d, D_BCAST_OUT, k);
		drv_count(d, D_DROP_BCAST_FULL, nb - k);
	}
}

/* Copy one mbuf chain into a slot (rte_pktmbuf_read gathers segments, and
 * returns the data itself when it is contiguous). */
static void copy_in(struct fn_pkt *p, const struct rte_mbuf *m, uint32_t len)
{
	const void *src = rte_pktmbuf_read(m, 0, len, p->data);

	if (src != p->data)
		rte_memcpy(p->data, src, len);
	p->len = len;
}

/* No slots: say why, so that the counters tell a missing stack from a
 * slow one. */
static void drop_all(struct drv *d, int err, unsigned n)
{
	if (err < 0)
		drv_link_error(d, err);
	drv_count(d, err < 0 || !fn_link_peer_ready(&d->link) ?
		  D_DROP_LINK_DOWN : D_DROP_NO_SLOT, n);
}

static void trace_pkts(unsigned point, const struct fn_pkt *p, unsigned n)
{
	int64_t t = fn_clock_ns();

	for (unsigned i = 0; i < n; i++)
		fn_trace_frame(point, p[i].data, p[i].len, t);
}

static void trace_mbufs(unsigned point, struct rte_mbuf **m, unsigned n,
			int64_t t)
{
	for (unsigned i = 0; i < n; i++)
		fn_trace_frame(point, rte_pktmbuf_mtod(m[i], const void *),
			       rte_pktmbuf_data_len(m[i]), t);
}

/* Frames to the stack: copy what fits into slots, submit, free all mbufs. */
static void to_link(struct drv *d, struct rte_mbuf **m, unsigned n)
{
	struct fn_pkt p[DRV_BURST];
	uint32_t slot_size = d->link.tx.slot_size;
	unsigned used = 0;
	int got, ret;

	got = fn_stream_alloc_burst(&d->link.tx, p, n);
	if (got == -ECONNRESET) {
		/* Nothing was in hand: join the new epoch and try again. */
		drv_link_error(d, got);
		got = fn_stream_alloc_burst(&d->link.tx, p, n);
	}
	if (got <= 0) {
		drop_all(d, got, n);
		goto out_free;
	}
	for (unsigned i = 0; i < n; i++) {
		uint32_t len = rte_pktmbuf_pkt_len(m[i]);

		if (len < RTE_ETHER_HDR_LEN)
			drv_count(d, D_DROP_RUNT, 1);
		else if (len > slot_size)
			drv_count(d, D_DROP_TOO_BIG, 1);
		else if (used == (unsigned)got)
			drv_count(d, D_DROP_NO_SLOT, 1);
		else
			copy_in(&p[used++], m[i], len);
	}
	fn_stream_release(&d->link.tx, p + used, (unsigned)got - used);
	if (fn_trace_enabled())
		trace_pkts(FN_TP_DRV_TO_LINK, p, used);
	if (used) {
		ret = fn_stream_submit_burst(&d->link.tx, p, used);
		if (ret < 0) {
			drv_link_error(d, ret);
			drv_count(d, D_DROP_LINK_DOWN, used);
		}
	}
out_free:
	rte_pktmbuf_free_bulk(m, n);
}

unsigned drv_nic_rx(struct drv *d)
{
	struct rte_mbuf *m[DRV_BURST];
	uint64_t bytes = 0;
	uint16_t n;

	n = rte_eth_rx_burst(d->port, (uint16_t)d->queue, m, DRV_BURST);
	if (n == 0)
		return 0;
	for (unsigned i = 0; i < n; i++)
		bytes += rte_pktmbuf_pkt_len(m[i]);
	drv_count(d, D_RX_PKTS, n);
	drv_count(d, D_RX_BYTES, bytes);
	drv_count(d, D_BURSTS_RX, 1);
	if (fn_trace_enabled())
		trace_mbufs(FN_TP_DRV_RX, m, n, fn_clock_ns());
	fanout(d, m, n);
	to_link(d, m, n);
	return n;
}

unsigned drv_bcast_rx(struct drv *d)
{
	struct rte_mbuf *m[DRV_BURST];
	unsigned n;

	n = rte_ring_sc_dequeue_burst(d->bcast[d->queue], (void **)m, DRV_BURST,
				      NULL);
	if (n == 0)
		return 0;
	drv_count(d, D_BCAST_IN, n);
	to_link(d, m, n);
	return n;
}

/* At exit: what other drivers left for us holds references; drop them. */
void drv_bcast_drain(struct drv *d)
{
	struct rte_mbuf *m[DRV_BURST];
	unsigned n;

	if (!d->bcast[d->queue])
		return;
	while ((n = rte_ring_sc_dequeue_burst(d->bcast[d->queue], (void **)m,
					      DRV_BURST, NULL)) > 0)
		rte_pktmbuf_free_bulk(m, n);
}

/*
 * Copy the stack's frames into fresh mbufs; mbufs of frames that fail the
 * checks are freed at once.  Returns how many made it into out[].  lens[]
 * keeps their lengths: after tx_burst the mbufs are the NIC's.
 */
static unsigned copy_out(struct drv *d, const struct fn_pkt *p, unsigned n,
			 struct rte_mbuf **m, struct rte_mbuf **out,
			 uint32_t *lens)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n; i++) {
		uint32_t len = p[i].len;	/* our copy; the stack's may move */

		if (len < RTE_ETHER_HDR_LEN || len > d->tx_room) {
			drv_count(d, D_DROP_BAD_LEN, 1);
			rte_pktmbuf_free(m[i]);
			continue;
		}
		rte_memcpy(rte_pktmbuf_mtod(m[i], void *), p[i].data, len);
		m[i]->data_len = (uint16_t)len;
		m[i]->pkt_len = len;
		lens[k] = len;
		out[k++] = m[i];
	}
	return k;
}

static void nic_tx(struct drv *d, struct rte_mbuf **out, const uint32_t *lens,
		   unsigned k)
{
	uint64_t bytes = 0;
	uint16_t sent;

	if (fn_trace_enabled())	/* the frames are the NIC's after it */
		trace_mbufs(FN_TP_DRV_TX, out, k, fn_clock_ns());
	sent = rte_eth_tx_burst(d->port, (uint16_t)d->queue, out, (uint16_t)k);
	for (unsigned i = 0; i < sent; i++)
		bytes += lens[i];
	if (sent) {
		drv_count(d, D_TX_PKTS, sent);
		drv_count(d, D_TX_BYTES, bytes);
		drv_count(d, D_BURSTS_TX, 1);
	}
	if (sent < k) {
		/* The queue is full: drop, never wait for it. */
		rte_pktmbuf_free_bulk(out + sent, k - sent);
		drv_count(d, D_DROP_TX_FULL, k - sent);
	}
}

unsigned drv_link_rx(struct drv *d)
{
	struct fn_pkt p[DRV_BURST];
	struct rte_mbuf *m[DRV_BURST], *out[DRV_BURST];
	uint32_t lens[DRV_BURST];
	unsigned k = 0;
	int n, ret;

	n = fn_stream_recv_burst(&d->link.rx, p, DRV_BURST);
	if (n < 0)
		drv_link_error(d, n);
	if (n <= 0)
		return 0;
	if (fn_trace_enabled())
		trace_pkts(FN_TP_DRV_FROM_LINK, p, (unsigned)n);
	if (rte_pktmbuf_alloc_bulk(d->pool, m, (unsigned)n) == 0)
		k = copy_out(d, p, (unsigned)n, m, out, lens);
	else
		drv_count(d, D_DROP_NO_MBUF, (unsigned)n);
	/* The slots go back before the NIC sees the copies.  A reset here
	 * voids the slots, not our copies: those were whole frames. */
	ret = fn_stream_ack_burst(&d->link.rx, p, (unsigned)n);
	if (ret < 0)
		drv_link_error(d, ret);
	if (k)
		nic_tx(d, out, lens, k);
	return (unsigned)n;
}
