/*
 * drv_path.c - the driver's data paths, one burst each per call.
 *
 *   drv_nic_rx()    NIC queue q -> (steering, broadcast fan-out) -> link
 *                   -> stack q
 *   drv_bcast_rx()  broadcast ring q -> link -> stack q
 *   drv_steer_rx()  steer ring q -> link -> stack q
 *   drv_link_rx()   stack q -> link -> (hairpin) -> NIC queue q
 *
 * Called from the loop (drv_loop.c) only.  Every path copies: a frame
 * crosses into or out of the link's bulk buffer once, so no mbuf ever
 * points into memory the stack can write, and no slot waits on the NIC.
 *
 * STEERING AND HAIRPIN (per-pipeline addressing, dpdk.h; docs/driver.md).
 * A unicast frame from our NIC queue whose destination MAC is pipeline
 * j's goes to j's steer ring, not to our stack (steered_out); one our stack
 * sends to pipeline j's MAC goes to j's steer ring, not to the NIC
 * (hairpin), and one it sends to a group address goes to every other
 * queue's broadcast ring as well as to the NIC (hairpin, one per copy).
 * Whoever takes a frame from its rings tells the two kinds apart by the
 * mbuf's port: a frame the NIC received carries our port; one a driver
 * allocated for its stack's frame carries RTE_MBUF_PORT_INVALID
 * (rte_pktmbuf_reset), and counts as hairpin_in.
 *
 * OWNERSHIP.  Mbufs from rx_burst or our rings are ours: each call frees
 * every one of them, sent, handed on or dropped.  A frame handed to a
 * sibling's ring is the sibling's once the ring took it; what a ring
 * refuses we free.  A broadcast frame is shared by reference: before we
 * put it on another queue's ring we take one more reference for that
 * driver (rte_pktmbuf_refcnt_update, every segment), and give it back if
 * the ring refuses it; so is a hairpinned group frame, whose last
 * reference goes to the NIC.  Link slots are the stream's (stream.h):
 * allocated ones are submitted or released, received ones are acked,
 * within the same call.
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
	[D_STEERED_OUT] = "steered_out",
	[D_STEERED_IN] = "steered_in",
	[D_DROP_STEER_FULL] = "drop_steer_full",
	[D_HAIRPIN] = "hairpin",
	[D_HAIRPIN_IN] = "hairpin_in",
	[D_DROP_HAIRPIN_FULL] = "drop_hairpin_full",
	[D_LINK_RESETS] = "link_resets",
	[D_LINK_BROKEN] = "link_broken",
	[D_DROP_LINK_DOWN] = "drop_link_down",
	[D_IDLE_NAPS] = "idle_naps",
	[D_WAKE_NIC] = "wake_nic",
	[D_WAKE_LINK] = "wake_link",
	[D_WAKE_BCAST] = "wake_bcast",
	[D_WAKE_TIMER] = "wake_timer",
	[D_RX_SKIPPED] = "rx_skipped",
	[D_SPIN_TURNS] = "spin_turns",
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

/*
 * Where m goes, by its destination MAC (drv_steer.h): a sibling's queue,
 * DRV_STEER_LOCAL or DRV_STEER_ALL.  With shared addressing an ARP frame
 * is ALL too: it may be unicast to our shared MAC but answer another
 * queue's stack (dpdk.h).  A runt is LOCAL: to_link() drops it.
 */
static int steer_pick(const struct drv *d, const struct rte_mbuf *m)
{
	struct rte_ether_hdr copy;
	const struct rte_ether_hdr *eh = rte_pktmbuf_read(m, 0, sizeof(copy),
							  &copy);
	int to;

	if (!eh)
		return DRV_STEER_LOCAL;
	to = drv_steer_pick(&d->steer_tab, eh->dst_addr.addr_bytes);
	if (to == DRV_STEER_LOCAL && d->steer_tab.n == 0 &&
	    eh->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP))
		return DRV_STEER_ALL;
	return to;
}

/* Give m[0..n) to queue q's ring r; ours or not, the pointers carry their
 * references.  The refused are freed (a shared frame: its extra
 * reference given back).  Returns how many r took; rings q's bell. */
static unsigned ring_give(struct drv *d, struct rte_ring *r, unsigned q,
			  struct rte_mbuf **m, unsigned n)
{
	unsigned k = rte_ring_mp_enqueue_burst(r, (void *const *)m, n, NULL);

	if (k < n)
		rte_pktmbuf_free_bulk(m + k, n - k);
	if (k)	/* after the enqueue: dpdk.h, WAKE-UPS */
		drv_wait_ring(d, q);
	return k;
}

/* Hand the group frames bc[0..nb) to every other queue's broadcast ring,
 * a reference each; count them as ctr (bcast_out: all taken, or hairpin)
 * and drop (what the rings refused). */
static void fanout(struct drv *d, struct rte_mbuf **bc, unsigned nb,
		   enum drv_ctr ctr, enum drv_ctr drop)
{
	unsigned k;

	for (unsigned q = 0; nb && q < d->nqueues; q++) {
		if (q == d->queue)
			continue;
		/* The reference travels with the pointer: take it first. */
		for (unsigned i = 0; i < nb; i++)
			rte_pktmbuf_refcnt_update(bc[i], 1);
		k = ring_give(d, d->bcast[q], q, bc, nb);
		drv_count(d, ctr, ctr == D_BCAST_OUT ? k : nb);
		drv_count(d, drop, nb - k);
	}
}

/*
 * Sort a burst by destination: a sibling's unicast frames go to its steer
 * ring (in runs, one enqueue per run of one destination), the rest stay in
 * m[], in order, for us; group frames are also fanned out.  Returns how
 * many stayed.  out/drop: the counters (steered or hairpin).
 */
static unsigned steer(struct drv *d, struct rte_mbuf **m, unsigned n,
		      enum drv_ctr out, enum drv_ctr drop, enum drv_ctr fout,
		      enum drv_ctr fdrop)
{
	struct rte_mbuf *run[DRV_BURST], *bc[DRV_BURST];
	unsigned kept = 0, nrun = 0, nb = 0;
	int runq = -1;

	for (unsigned i = 0; i <= n; i++) {
		int to = i < n ? steer_pick(d, m[i]) : -1;

		if (nrun && (i == n || to != runq)) {
			drv_count(d, out, nrun);
			drv_count(d, drop, nrun - ring_give(d,
				  d->steer[runq], (unsigned)runq, run, nrun));
			nrun = 0;
		}
		if (i == n)
			break;
		if (to >= 0) {
			runq = to;
			run[nrun++] = m[i];
			continue;
		}
		if (to == DRV_STEER_ALL)
			bc[nb++] = m[i];
		m[kept++] = m[i];
	}
	if (d->nqueues > 1)
		fanout(d, bc, nb, fout, fdrop);
	return kept;
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
	to_link(d, m, steer(d, m, n, D_STEERED_OUT, D_DROP_STEER_FULL,
			    D_BCAST_OUT, D_DROP_BCAST_FULL));
	return n;
}

/* One burst from our ring r to the link: frames from a sibling's NIC
 * queue count as from_nic, those from a sibling's stack as hairpin_in. */
static unsigned ring_rx(struct drv *d, struct rte_ring *r,
			enum drv_ctr from_nic)
{
	struct rte_mbuf *m[DRV_BURST];
	unsigned n, hp = 0;

	n = rte_ring_sc_dequeue_burst(r, (void **)m, DRV_BURST, NULL);
	if (n == 0)
		return 0;
	for (unsigned i = 0; i < n; i++)
		hp += m[i]->port == RTE_MBUF_PORT_INVALID;
	drv_count(d, from_nic, n - hp);
	drv_count(d, D_HAIRPIN_IN, hp);
	to_link(d, m, n);
	return n;
}

unsigned drv_bcast_rx(struct drv *d)
{
	return ring_rx(d, d->bcast[d->queue], D_BCAST_IN);
}

unsigned drv_steer_rx(struct drv *d)
{
	return ring_rx(d, d->steer[d->queue], D_STEERED_IN);
}

/* At exit: what other drivers left for us holds references; drop them. */
void drv_bcast_drain(struct drv *d)
{
	struct rte_ring *own[2] = { d->bcast[d->queue], d->steer[d->queue] };
	struct rte_mbuf *m[DRV_BURST];
	unsigned n;

	for (unsigned r = 0; r < 2; r++)
		while (own[r] && (n = rte_ring_sc_dequeue_burst(own[r],
				  (void **)m, DRV_BURST, NULL)) > 0)
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

/*
 * Our stack's frames for siblings (per-pipeline addressing only): unicast
 * ones leave out[] for their steer ring, group ones go to every other
 * broadcast ring and stay for the NIC.  lens[] follows out[].  Returns
 * what is left for the NIC.
 */
static unsigned hairpin(struct drv *d, struct rte_mbuf **out, uint32_t *lens,
			unsigned k)
{
	unsigned kept = steer(d, out, k, D_HAIRPIN, D_DROP_HAIRPIN_FULL,
			      D_HAIRPIN, D_DROP_HAIRPIN_FULL);

	/* Still ours (a group frame: shared, but nobody writes it). */
	for (unsigned i = 0; i < kept; i++)
		lens[i] = rte_pktmbuf_pkt_len(out[i]);
	return kept;
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
	if (k && d->steer_tab.n)
		k = hairpin(d, out, lens, k);
	if (k)
		nic_tx(d, out, lens, k);
	return (unsigned)n;
}
