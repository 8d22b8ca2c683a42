/*
 * vsw_fwd.c - the switch itself: one turn serves every port once.
 *
 * A turn, from port sw->rr round the table (then rr moves on by one, so
 * that no port is always first to the free slots of a busy destination):
 *   1. receive at most FN_VSW_BURST frames from the port's stack;
 *   2. per frame: port security (vsw_port.c), learn its source MAC, then
 *      copy it into a slot of its destination port, or of every other
 *      port (flood); the copies wait in that port's out[];
 *   3. ack the whole burst: the stack has its slots back;
 *   4. submit every port's out[] in one burst per port.
 * A burst is bounded and every port gets one per turn, so a port that
 * floods the switch gets its FN_VSW_BURST frames a turn like any other.
 * A host port (vsw_host.c) reads its frames from its tap instead of a
 * link, and its copies are written to the tap at once.
 *
 * OWNERSHIP.  Received pkts are the source port's until acked in step 3,
 * within the same call.  Allocated pkts in out[] are the destination's
 * link's until submitted in step 4, or released on failure; a reset of
 * that link voids them (stream.h RESET) and they are only forgotten.
 * Frames never wait: a destination without a free slot drops the copy.
 *
 * CAPTURE (vsw_cap.c).  rx: each burst as received, before step 2; tx:
 * each port's copies just before step 4 submits them (a host port's
 * after its write); a drop: where it is counted, on the port that counts
 * it.  Copies voided by a reset of their link are only counted.  Each
 * point costs one relaxed load per burst, or per drop, while it is off.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "fragnet/log.h"
#include "vsw.h"

void vsw_init(struct vsw *sw, uint32_t age_ms, uint64_t seed)
{
	memset(sw, 0, sizeof(*sw));
	sw->ctr = sw->own_ctr;
	sw->epfd = -1;
	vsw_fdb_init(&sw->fdb, (int64_t)(age_ms ? age_ms :
					 FN_VSW_AGE_DEFAULT_MS) * 1000000,
		     seed);
}

void vsw_fini(struct vsw *sw)
{
	for (unsigned i = 0; i < sw->nports; i++)
		fn_link_detach(&sw->port[i].link);
	sw->nports = 0;
	vsw_cap_detach(sw);
	if (sw->epfd >= 0)
		close(sw->epfd);
	sw->epfd = -1;
}

static void fdb_forget(struct vsw *sw, struct vsw_port *p)
{
	vsw_count(sw, FN_VSW_FDB_FLUSHED, vsw_fdb_flush_port(&sw->fdb, p->idx));
}

/* Copies waiting for p's link are lost: count them, forget them. */
static void out_drop(struct vsw_port *p)
{
	vsw_port_count(p, FN_VSW_P_DROP_LINK_DOWN, p->nout);
	p->nout = 0;
}

/*
 * -ECONNRESET comes once per link after its stack restarted (or after we
 * did): every pkt of it in hand is void, the MACs learnt there may have
 * moved.  -EPIPE: the stack broke the protocol and the stream library cut
 * it off until the link is reset; we count that once.  -EAGAIN: the stack
 * has not joined the epoch yet.
 */
void vsw_port_link_error(struct vsw *sw, struct vsw_port *p, int err)
{
	switch (err) {
	case -ECONNRESET:
		p->broken = false;
		out_drop(p);
		fdb_forget(sw, p);
		if (p->link.epoch == p->reset_epoch)
			return;
		p->reset_epoch = p->link.epoch;
		vsw_port_count(p, FN_VSW_P_LINK_RESETS, 1);
		fn_info("port %u: link reset (its stack restarted)", p->idx);
		return;
	case -EAGAIN:
		return;
	case -EPIPE:
		if (p->broken)
			return;
		p->broken = true;
		fn_stream_release(&p->link.tx, p->out, p->nout);
		out_drop(p);
		fdb_forget(sw, p);
		vsw_port_count(p, FN_VSW_P_LINK_BROKEN, 1);
		fn_warn("port %u: its stack broke the link protocol (see "
			"port%u.link.*.bad_*): cut off until it restarts",
			p->idx, p->idx);
		return;
	default:
		/* -EINVAL: a pkt we did not own, our bug, not the stack's. */
		fn_err("port %u: unexpected link error %s", p->idx,
		       strerror(-err));
	}
}

/* One free slot of d's link for the next copy of f, or NULL (f dropped:
 * counted, captured). */
static struct fn_pkt *out_slot(struct vsw *sw, struct vsw_port *d,
			       const struct vsw_frame *f)
{
	struct fn_pkt *p = &d->out[d->nout];
	int got = fn_stream_alloc_burst(&d->link.tx, p, 1);

	if (got == -ECONNRESET) {
		/* Our copies so far are void; join and try again. */
		vsw_port_link_error(sw, d, got);
		p = &d->out[d->nout];
		got = fn_stream_alloc_burst(&d->link.tx, p, 1);
	}
	if (got < 0)
		vsw_port_link_error(sw, d, got);
	if (got == 1)
		return p;
	vsw_drop(sw, d, got == 0 && fn_link_peer_ready(&d->link) ?
		 FN_VSW_P_DROP_NO_SLOT : FN_VSW_P_DROP_LINK_DOWN, f);
	return NULL;
}

/* Submit the copies waiting for d. */
static void out_flush(struct vsw *sw, struct vsw_port *d)
{
	uint64_t bytes = 0;
	unsigned n = d->nout;
	int r;

	if (n == 0)
		return;
	for (unsigned i = 0; i < n; i++)
		bytes += d->out[i].len;
	if (vsw_cap_on(sw, FN_CAP_TX))
		for (unsigned i = 0; i < n; i++)	/* our slots still */
			vsw_cap_raw(sw, FN_CAP_TX, d, d->out[i].data,
				    d->out[i].len);
	r = fn_stream_submit_burst(&d->link.tx, d->out, n);
	if (r < 0) {
		/* -ECONNRESET voided them; otherwise they are still ours. */
		if (r != -ECONNRESET)
			fn_stream_release(&d->link.tx, d->out, n);
		vsw_port_link_error(sw, d, r);
		out_drop(d);
		return;
	}
	vsw_port_count(d, FN_VSW_P_TX_PKTS, n);
	vsw_port_count(d, FN_VSW_P_TX_BYTES, bytes);
	d->nout = 0;
}

/* Step 4: every port's copies go out. */
void vsw_flush_all(struct vsw *sw)
{
	for (unsigned i = 0; i < sw->nports; i++)
		out_flush(sw, &sw->port[i]);
}

/* Copy f into a slot of d, to go out in the next flush. */
static void deliver(struct vsw *sw, struct vsw_port *d,
		    const struct vsw_frame *f)
{
	struct fn_pkt *p;

	if (vsw_port_is_host(d)) {
		vsw_host_deliver(sw, d, f);
		return;
	}
	if (d->broken) {
		vsw_drop(sw, d, FN_VSW_P_DROP_LINK_DOWN, f);
		return;
	}
	if (f->len > d->link.tx.slot_size) {
		vsw_drop(sw, d, FN_VSW_P_DROP_TOO_BIG, f);
		return;
	}
	if (d->nout == FN_VSW_BURST)
		out_flush(sw, d);	/* not with bursts <= FN_VSW_BURST */
	p = out_slot(sw, d, f);
	if (!p)
		return;
	vsw_frame_copy(f, p->data);
	p->len = f->len;
	d->nout++;
}

static void flood(struct vsw *sw, struct vsw_port *s, const struct vsw_frame *f)
{
	vsw_port_count(s, FN_VSW_P_FLOODED, 1);
	for (unsigned i = 0; i < sw->nports; i++)
		if (i != s->idx)
			deliver(sw, &sw->port[i], f);
}

static void learn(struct vsw *sw, struct vsw_port *s, const uint8_t *mac)
{
	static const enum fn_vsw_ctr ev_ctr[] = {
		[VSW_FDB_LEARNED] = FN_VSW_FDB_LEARNED,
		[VSW_FDB_MOVED] = FN_VSW_FDB_MOVED,
		[VSW_FDB_EVICTED] = FN_VSW_FDB_EVICTED,
	};
	enum vsw_fdb_event ev = vsw_fdb_learn(&sw->fdb, mac, s->idx, sw->now_ns);

	if (ev != VSW_FDB_REFRESHED)
		vsw_count(sw, ev_ctr[ev], 1);
}

/* Step 2 for one frame of port s. */
void vsw_forward(struct vsw *sw, struct vsw_port *s, const uint8_t *data,
		 uint32_t len)
{
	enum fn_vsw_port_ctr why;
	struct vsw_frame f;
	int d;

	if (!vsw_frame_check(&s->id, data, len, &f, &why)) {
		vsw_drop(sw, s, why, &f);
		return;
	}
	learn(sw, s, f.hdr + 6);
	d = (f.hdr[0] & 1) ? -1 : vsw_fdb_lookup(&sw->fdb, f.hdr, sw->now_ns);
	if (d < 0)
		flood(sw, s, &f);	/* group or unknown destination */
	else if ((unsigned)d == s->idx)
		vsw_drop(sw, s, FN_VSW_P_DROP_LOCAL, &f);
	else
		deliver(sw, &sw->port[d], &f);
}

/* Steps 1 to 4 for port s.  Returns the frames received. */
static unsigned serve(struct vsw *sw, struct vsw_port *s)
{
	struct fn_pkt p[FN_VSW_BURST];
	uint64_t bytes = 0;
	int n, r;

	if (vsw_port_is_host(s))
		return vsw_host_serve(sw, s);
	n = fn_stream_recv_burst(&s->link.rx, p, FN_VSW_BURST);
	if (n < 0)
		vsw_port_link_error(sw, s, n);
	if (n <= 0)
		return 0;
	if (vsw_cap_on(sw, FN_CAP_RX))
		for (int i = 0; i < n; i++)
			vsw_cap_raw(sw, FN_CAP_RX, s, p[i].data, p[i].len);
	for (int i = 0; i < n; i++) {
		bytes += p[i].len;
		vsw_forward(sw, s, p[i].data, p[i].len);
	}
	vsw_port_count(s, FN_VSW_P_RX_PKTS, (uint64_t)n);
	vsw_port_count(s, FN_VSW_P_RX_BYTES, bytes);
	r = fn_stream_ack_burst(&s->link.rx, p, (unsigned)n);
	if (r < 0)
		vsw_port_link_error(sw, s, r);
	vsw_flush_all(sw);
	return (unsigned)n;
}

unsigned vsw_fwd_turn(struct vsw *sw)
{
	unsigned n = sw->nports, work = 0;

	if (n == 0)
		return 0;
	for (unsigned k = 0; k < n; k++)
		work += serve(sw, &sw->port[(sw->rr + k) % n]);
	sw->rr = (sw->rr + 1) % n;
	if (work)
		vsw_count(sw, FN_VSW_TURNS, 1);
	return work;
}
