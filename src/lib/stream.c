/*
 * stream.c - packet streams and links (see fragnet/stream.h).
 *
 * Supervisor: fn_link_create() -> memfd, handed to both sides.
 * Each side:  fn_link_attach(fd, side, poll); then on l->tx (we are source)
 *             alloc -> fill -> submit, and on l->rx (we are sink) recv ->
 *             use -> ack; fn_stream_wait() when there is nothing to do.
 *
 * Slot ownership is tracked privately on each side (enum FN_SLOT_*): the
 * shared rings are only ever read through fn_ring, and every descriptor is
 * checked against our own view before the bulk buffer is touched.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fragnet/clock.h"
#include "fragnet/memfd.h"
#include "fragnet/stats.h"
#include "fragnet/stream.h"

#define PAGE		4096u
#define BUSY_YIELD	4096u	/* busy: empty polls between sched_yield()s */
#define ADAPTIVE_YIELD	64u	/* adaptive: the same, while it spins */
#define SPIN_CHECK	64u	/* empty polls between clock reads */
#define WAIT_SLICE_NS	100000000	/* re-check the clock this often asleep */

const char *const fn_stream_ctr_names[FN_SC_COUNT] = {
	[FN_SC_PKTS] = "pkts",
	[FN_SC_BYTES] = "bytes",
	[FN_SC_BURSTS] = "bursts",
	[FN_SC_NOSLOT] = "no_slot",
	[FN_SC_BAD_RING] = "bad_ring",
	[FN_SC_BAD_OFF] = "bad_off",
	[FN_SC_BAD_LEN] = "bad_len",
	[FN_SC_BAD_OWNER] = "bad_owner",
	[FN_SC_WAKEUPS] = "wakeups",
	[FN_SC_SLEEPS] = "sleeps",
};

static const char *const poll_names[] = {
	[FN_POLL_BUSY] = "busy",
	[FN_POLL_ADAPTIVE] = "adaptive",
	[FN_POLL_EVENT] = "event",
};

const char *fn_poll_name(enum fn_poll p)
{
	return (unsigned)p <= FN_POLL_EVENT ? poll_names[p] : "?";
}

int fn_poll_parse(const char *s, enum fn_poll *out)
{
	for (unsigned i = 0; s && i <= FN_POLL_EVENT; i++) {
		if (strcmp(s, poll_names[i]) == 0) {
			*out = (enum fn_poll)i;
			return 0;
		}
	}
	return -EINVAL;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static bool link_geometry_ok(uint32_t nslots, uint32_t slot_size)
{
	return nslots != 0 && (nslots & (nslots - 1)) == 0 &&
	       nslots <= FN_LINK_MAX_SLOTS && slot_size % 64 == 0 &&
	       slot_size >= FN_LINK_MIN_SLOT && slot_size <= FN_LINK_MAX_SLOT;
}

/* The one place that decides the layout; both sides recompute it. */
static uint64_t link_layout(uint32_t nslots, uint32_t slot_size,
			    uint64_t *ctl_off, struct fn_stream_layout st[2])
{
	uint64_t off = align_up(sizeof(struct fn_link_hdr), FN_CACHE_LINE);

	if (!link_geometry_ok(nslots, slot_size))
		return 0;
	*ctl_off = off;
	off = align_up(off + sizeof(struct fn_link_ctl_shm), FN_CACHE_LINE);
	for (int s = 0; s < 2; s++) {
		st[s].rings_off = off;
		off = align_up(off + sizeof(struct fn_stream_shm), FN_CACHE_LINE);
		st[s].submit_off = off;
		off = align_up(off + fn_ring_ent_bytes(nslots), FN_CACHE_LINE);
		st[s].ack_off = off;
		off = align_up(off + fn_ring_ent_bytes(nslots), FN_CACHE_LINE);
	}
	for (int s = 0; s < 2; s++) {
		off = align_up(off, PAGE);
		st[s].bulk_off = off;
		off += (uint64_t)nslots * slot_size;
	}
	return align_up(off, PAGE);
}

uint64_t fn_link_size(uint32_t nslots, uint32_t slot_size)
{
	struct fn_stream_layout st[2];
	uint64_t ctl_off;

	return link_layout(nslots, slot_size, &ctl_off, st);
}

/* Neither side may resize the region under the other's mapping
 * (memfd.h); fn_link_attach() takes only such regions. */
int fn_link_create(const char *name, uint32_t nslots, uint32_t slot_size)
{
	struct fn_link_hdr *h;
	void *head;
	uint64_t size;
	int fd;

	size = fn_link_size(nslots, slot_size);
	if (size == 0)
		return -EINVAL;
	fd = fn_memfd_create(name ? name : "fragnet-link", size, PAGE, &head);
	if (fd < 0)
		return fd;
	/* A fresh memfd is zero: rings empty, nobody sleeping. */
	h = head;
	h->magic = FN_LINK_MAGIC;
	h->version = FN_LINK_VERSION;
	h->total_size = size;
	h->nslots = nslots;
	h->slot_size = slot_size;
	link_layout(nslots, slot_size, &h->ctl_off, h->stream);
	/* Epoch 1, nobody joined (ready 0): the first joiner zeroes. */
	atomic_store(&((struct fn_link_ctl_shm *)((uint8_t *)h + h->ctl_off))->epoch, 1);
	munmap(h, PAGE);
	return fd;
}

/* Check a header copy against the layout we compute ourselves. */
static int link_check(const struct fn_link_hdr *h, uint64_t real_size)
{
	struct fn_stream_layout st[2];
	uint64_t ctl_off;

	if (h->magic != FN_LINK_MAGIC || h->version != FN_LINK_VERSION)
		return -EBADMSG;
	uint64_t size = link_layout(h->nslots, h->slot_size, &ctl_off, st);
	if (size == 0 || size != h->total_size || size != real_size ||
	    ctl_off != h->ctl_off)
		return -EBADMSG;
	if (memcmp(st, h->stream, sizeof(st)) != 0)
		return -EBADMSG;
	return 0;
}

/* Forget every slot in hand: a source owns them all, a sink none. */
static void endpoint_reset(struct fn_endpoint *e)
{
	uint32_t n = e->nslots;

	e->broken = false;
	e->idle_polls = 0;
	if (!e->is_source) {
		memset(e->state, FN_SLOT_PEER, n);
		return;
	}
	/* Slots are handed out low first: nicer to caches and tests. */
	for (uint32_t i = 0; i < n; i++) {
		e->free[i] = n - 1 - i;
		e->state[i] = FN_SLOT_FREE;
	}
	e->nfree = n;
}

static int endpoint_init(struct fn_endpoint *e, struct fn_link *l, int s,
			 bool source, enum fn_poll poll)
{
	const struct fn_stream_layout *st = &l->hdr.stream[s];
	uint8_t *base = l->base;
	struct fn_stream_shm *shm = (void *)(base + st->rings_off);
	uint32_t n = l->hdr.nslots;

	memset(e, 0, sizeof(*e));
	e->is_source = source;
	e->poll = poll;
	e->spin_ns = FN_ADAPTIVE_SPIN_NS;
	e->nslots = n;
	e->slot_size = l->hdr.slot_size;
	e->bulk = base + st->bulk_off;
	e->link = l;
	e->bell_fd = -1;
	e->ctr = e->own_ctr;
	/* Indices are read when the peer has joined (rings_join()). */
	e->data.shm = &shm->submit;
	e->data.ent = (void *)(base + st->submit_off);
	e->ret.shm = &shm->ack;
	e->ret.ent = (void *)(base + st->ack_off);
	e->data.size = e->ret.size = n;
	e->state = calloc(n, 1);
	e->free = source ? calloc(n, sizeof(*e->free)) : NULL;
	if (!e->state || (source && !e->free))
		return -ENOMEM;
	endpoint_reset(e);
	return 0;
}

static void endpoint_fini(struct fn_endpoint *e)
{
	free(e->state);
	free(e->free);
	e->state = NULL;
	e->free = NULL;
}

/* --- epochs (stream.h, RESET) ------------------------------------------- */

static void ring_zero(struct fn_ring_shm *r)
{
	atomic_store_explicit(&r->head, 0, memory_order_relaxed);
	atomic_store_explicit(&r->tail, 0, memory_order_relaxed);
	atomic_store_explicit(&r->sleeping, 0, memory_order_relaxed);
}

/* Wake every sleeper on the link, whatever it waits for: futexes, and the
 * peer's doorbell if we know it. */
static void link_wake_all(struct fn_endpoint *ep[2])
{
	uint64_t one = 1;

	for (int i = 0; i < 2; i++) {
		if (ep[i]->bell_fd >= 0 &&
		    write(ep[i]->bell_fd, &one, sizeof(one)) < 0) {
			/* EAGAIN: the counter is full, the peer will wake. */
		}
		struct fn_ring *r[2] = { &ep[i]->data, &ep[i]->ret };
		for (int k = 0; k < 2; k++) {
			atomic_fetch_add_explicit(&r[k]->shm->wake_seq, 1,
						  memory_order_release);
			syscall(SYS_futex, &r[k]->shm->wake_seq, FUTEX_WAKE,
				INT_MAX, NULL, NULL, 0);
		}
	}
}

/* Join epoch E: forget all slots and say so.  We are between calls (this
 * runs in gate()), so every ring write of ours from before is done. */
static void link_join(struct fn_link *l, uint32_t E)
{
	struct fn_endpoint *ep[2] = { &l->tx, &l->rx };

	endpoint_reset(&l->tx);
	endpoint_reset(&l->rx);
	l->epoch = E;
	l->joined = false;
	/* R3: our last ring writes before ready; pairs with A3 in
	 * link_zero_once(). */
	atomic_store_explicit(&l->ctl->ready[l->side], E, memory_order_release);
	link_wake_all(ep);
}

/*
 * The rings of epoch E are zeroed once both sides have joined it: both are
 * then between calls and write no ring until `go` says E, so no stale index
 * of the old epoch can land after the zeroing (a survivor stalled inside a
 * call while its peer restarted joins only after that call).  Whichever
 * side sees both joined first claims the zeroing (CAS), so it happens once.
 */
static void link_zero_once(struct fn_link *l)
{
	struct fn_endpoint *ep[2] = { &l->tx, &l->rx };
	uint32_t E = l->epoch, claim;

	if (atomic_load_explicit(&l->ctl->go, memory_order_relaxed) == E)
		return;
	/* A3: pairs with the peer's R3: its old ring writes are done. */
	if (atomic_load_explicit(&l->ctl->ready[!l->side],
				 memory_order_acquire) != E)
		return;
	claim = atomic_load_explicit(&l->ctl->claim, memory_order_relaxed);
	if (claim == E || !atomic_compare_exchange_strong(&l->ctl->claim,
							  &claim, E))
		return;		/* the peer zeroes */
	for (int i = 0; i < 2; i++) {
		ring_zero(ep[i]->data.shm);
		ring_zero(ep[i]->ret.shm);
	}
	/* R4: zeroing before go; pairs with A4 in link_sync(). */
	atomic_store_explicit(&l->ctl->go, E, memory_order_release);
	link_wake_all(ep);
}

/* Taking side l->side over (stream.h RESET, TAKEN): whoever held it in
 * the current epoch left slots in an unknown state; start the next epoch,
 * as the supervisor does after a death.  A failed CAS means someone else
 * (the supervisor, a peer's own take) started one: we join that.  The
 * join that follows (link_join) wakes every sleeper. */
static void link_renew(struct fn_link *l)
{
	uint32_t E = atomic_load_explicit(&l->ctl->epoch, memory_order_acquire);

	if (atomic_load_explicit(&l->ctl->ready[l->side],
				 memory_order_acquire) != E)
		return;
	atomic_compare_exchange_strong_explicit(&l->ctl->epoch, &E, E + 1,
						memory_order_acq_rel,
						memory_order_acquire);
}

/* Start using the rings: read the indices as they are now. */
static void rings_join(struct fn_link *l)
{
	struct fn_endpoint *ep[2] = { &l->tx, &l->rx };

	for (int i = 0; i < 2; i++) {
		struct fn_endpoint *e = ep[i];
		fn_ring_init(&e->data, e->data.shm, e->data.ent, e->nslots,
			     e->is_source);
		fn_ring_init(&e->ret, e->ret.shm, e->ret.ent, e->nslots,
			     !e->is_source);
	}
	l->joined = true;
}

/* Follow the epoch; 0 when the rings are usable, -EAGAIN while the peer
 * has not joined our epoch. */
static int link_sync(struct fn_link *l)
{
	uint32_t E = atomic_load_explicit(&l->ctl->epoch, memory_order_acquire);

	if (E != l->epoch)
		link_join(l, E);
	if (!l->joined) {
		link_zero_once(l);
		/* A4: pairs with R4: the zeroed rings are visible. */
		if (atomic_load_explicit(&l->ctl->go, memory_order_acquire) !=
		    l->epoch)
			return -EAGAIN;
		rings_join(l);
	}
	return 0;
}

/*
 * On entry of every endpoint call.  0: go on.  -ECONNRESET: the link was
 * reset since the last call on either endpoint (reported once per link,
 * so that a caller never holds frames of the new epoch when it hears of
 * it).  -EAGAIN: the peer has not joined yet.  The fast path is one load of a line that only
 * changes when a side dies.
 */
static inline bool usable(const struct fn_endpoint *e)
{
	const struct fn_link *l = e->link;

	return __builtin_expect(l->joined && e->epoch == l->epoch &&
				atomic_load_explicit(&l->ctl->epoch,
						     memory_order_relaxed) == l->epoch, 1);
}

static inline int gate(struct fn_endpoint *e)
{
	struct fn_link *l = e->link;

	if (usable(e))
		return 0;
	int r = link_sync(l);
	if (e->epoch != l->epoch) {
		l->tx.epoch = l->rx.epoch = l->epoch;
		return -ECONNRESET;
	}
	return r;
}

/* Like gate(), but leaves a pending reset for the next real call. */
static bool gate_peek(struct fn_endpoint *e)
{
	if (usable(e))
		return true;
	if (link_sync(e->link) < 0)
		return false;
	return e->epoch == e->link->epoch;
}

bool fn_link_peer_ready(struct fn_link *l)
{
	return link_sync(l) == 0;
}

int fn_link_reset(int fd)
{
	struct fn_link l;
	struct stat sb;
	int err = 0;

	memset(&l, 0, sizeof(l));
	if (fstat(fd, &sb) < 0)
		return -errno;
	if (sb.st_size < (off_t)PAGE)
		return -EBADMSG;
	l.size = (uint64_t)sb.st_size;
	l.base = mmap(NULL, l.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (l.base == MAP_FAILED)
		return -errno;
	/* The sides can write the header: check it as an attacher would. */
	memcpy(&l.hdr, l.base, sizeof(l.hdr));
	err = link_check(&l.hdr, l.size);
	if (err == 0) {
		struct fn_link_ctl_shm *ctl = (void *)((uint8_t *)l.base + l.hdr.ctl_off);
		struct fn_endpoint tx = { .bell_fd = -1 }, rx = { .bell_fd = -1 };
		struct fn_endpoint *ep[2] = { &tx, &rx };
		for (int s = 0; s < 2; s++) {
			struct fn_stream_shm *shm = (void *)((uint8_t *)l.base +
							     l.hdr.stream[s].rings_off);
			ep[s]->data.shm = &shm->submit;
			ep[s]->ret.shm = &shm->ack;
		}
		atomic_fetch_add_explicit(&ctl->epoch, 1, memory_order_release);
		link_wake_all(ep);
	}
	munmap(l.base, l.size);
	return err;
}

static int link_attach(struct fn_link *l, int fd, enum fn_link_side side,
		       enum fn_poll poll, bool take)
{
	struct stat sb;
	int err;

	memset(l, 0, sizeof(*l));
	if (fstat(fd, &sb) < 0)
		return -errno;
	if (sb.st_size < (off_t)sizeof(struct fn_link_hdr))
		return -EBADMSG;
	/* A peer that could shrink the memfd would make our next access to
	 * the mapping SIGBUS: take only regions sealed as fn_link_create()
	 * seals them. */
	int seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK))
		return -EBADMSG;
	l->size = (uint64_t)sb.st_size;
	l->base = mmap(NULL, l->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (l->base == MAP_FAILED)
		return -errno;
	/* Private copy first: the peer may rewrite the shared header. */
	memcpy(&l->hdr, l->base, sizeof(l->hdr));
	err = link_check(&l->hdr, l->size);
	if (err < 0)
		goto err_unmap;
	err = endpoint_init(&l->tx, l, side == FN_LINK_A ? 0 : 1, true, poll);
	if (err < 0)
		goto err_fini;
	err = endpoint_init(&l->rx, l, side == FN_LINK_A ? 1 : 0, false, poll);
	if (err < 0)
		goto err_fini;
	l->ctl = (void *)((uint8_t *)l->base + l->hdr.ctl_off);
	l->side = side;
	if (take)
		link_renew(l);
	l->epoch = 0;		/* epochs start at 1: we join the current one */
	link_sync(l);
	l->tx.epoch = l->rx.epoch = l->epoch;
	return 0;

err_fini:
	endpoint_fini(&l->tx);
	endpoint_fini(&l->rx);
err_unmap:
	munmap(l->base, l->size);
	l->base = NULL;
	return err;
}

int fn_link_attach(struct fn_link *l, int fd, enum fn_link_side side,
		   enum fn_poll poll)
{
	return link_attach(l, fd, side, poll, false);
}

int fn_link_take(struct fn_link *l, int fd, enum fn_link_side side,
		 enum fn_poll poll)
{
	return link_attach(l, fd, side, poll, true);
}

void fn_link_detach(struct fn_link *l)
{
	if (!l->base)
		return;
	endpoint_fini(&l->tx);
	endpoint_fini(&l->rx);
	munmap(l->base, l->size);
	l->base = NULL;
}

void fn_stream_bind_counters(struct fn_endpoint *e, _Atomic uint64_t *ctr)
{
	/* fn_stats_block() returns NULL on a full page: keep counting here. */
	if (!ctr)
		return;
	for (int i = 0; i < FN_SC_COUNT; i++)
		atomic_store_explicit(&ctr[i], fn_ctr_get(&e->ctr[i]),
				      memory_order_relaxed);
	e->ctr = ctr;
}

static inline void ctr_add(struct fn_endpoint *e, enum fn_stream_ctr c,
			   uint64_t v)
{
	atomic_store_explicit(&e->ctr[c],
			      atomic_load_explicit(&e->ctr[c],
						   memory_order_relaxed) + v,
			      memory_order_relaxed);
}

/* The peer broke the protocol: count why, and stop talking to it. */
static int cut_off(struct fn_endpoint *e, enum fn_stream_ctr why)
{
	/* Indices zeroed by a reset look like garbage: not the peer's fault. */
	if (atomic_load_explicit(&e->link->ctl->epoch, memory_order_acquire) !=
	    e->link->epoch)
		return gate(e);
	ctr_add(e, why, 1);
	e->broken = true;
	return -EPIPE;
}

/* Map a descriptor offset to a slot index, or -1. */
static int64_t desc_slot(const struct fn_endpoint *e, uint32_t off)
{
	if (off % e->slot_size != 0 || off / e->slot_size >= e->nslots)
		return -1;
	return off / e->slot_size;
}

#define BURST_MAX 64	/* descriptors copied per ring operation */

/* Source: take back acked slots.  Each ack must name a slot we submitted. */
int fn_stream_reclaim(struct fn_endpoint *e)
{
	struct fn_desc d[BURST_MAX];
	int n, g;

	g = gate(e);
	if (g < 0)
		return g == -EAGAIN ? 0 : g;
	if (e->broken)
		return -EPIPE;
	do {
		n = fn_ring_dequeue_burst(&e->ret, d, BURST_MAX);
		if (n < 0)
			return cut_off(e, FN_SC_BAD_RING);
		for (int i = 0; i < n; i++) {
			int64_t s = desc_slot(e, d[i].off);
			if (s < 0)
				return cut_off(e, FN_SC_BAD_OFF);
			if (e->state[s] != FN_SLOT_PEER)
				return cut_off(e, FN_SC_BAD_OWNER);
			e->state[s] = FN_SLOT_FREE;
			e->free[e->nfree++] = (uint32_t)s;
		}
	} while (n == BURST_MAX);
	return (int)e->nfree;
}

int fn_stream_alloc_burst(struct fn_endpoint *e, struct fn_pkt *p, unsigned n)
{
	int g = gate(e);

	if (g < 0)
		return g == -EAGAIN ? 0 : g;
	if (e->nfree < n) {
		int err = fn_stream_reclaim(e);
		if (err < 0)
			return err;
	}
	if (e->broken)
		return -EPIPE;
	if (n > e->nfree) {
		ctr_add(e, FN_SC_NOSLOT, 1);
		n = e->nfree;
	}
	for (unsigned i = 0; i < n; i++) {
		uint32_t s = e->free[--e->nfree];
		e->state[s] = FN_SLOT_ALLOC;
		p[i].slot = s;
		p[i].data = e->bulk + (uint64_t)s * e->slot_size;
		p[i].len = e->slot_size;
	}
	return (int)n;
}

void fn_stream_release(struct fn_endpoint *e, struct fn_pkt *p, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint32_t s = p[i].slot;
		if (s < e->nslots && e->state[s] == FN_SLOT_ALLOC) {
			e->state[s] = FN_SLOT_FREE;
			e->free[e->nfree++] = s;
		}
	}
}

/*
 * Hand n pkts in state `from` over to the peer.  Checks all first, so that a
 * bad or repeated pkt (a bug of ours, not the peer's) changes nothing.
 */
static bool pkts_give(struct fn_endpoint *e, const struct fn_pkt *p,
		      unsigned n, uint8_t from)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		uint32_t s = p[i].slot;
		if (s >= e->nslots || e->state[s] != from ||
		    p[i].len > e->slot_size)
			break;
		e->state[s] = FN_SLOT_PEER;
	}
	if (i == n)
		return true;
	while (i-- > 0)
		e->state[p[i].slot] = from;
	return false;
}

int fn_stream_submit_burst(struct fn_endpoint *e, struct fn_pkt *p, unsigned n)
{
	struct fn_desc d[BURST_MAX];
	uint64_t bytes = 0;
	int g = gate(e);

	if (g < 0)
		return g;
	if (e->broken)
		return -EPIPE;
	if (!pkts_give(e, p, n, FN_SLOT_ALLOC))
		return -EINVAL;
	for (unsigned done = 0; done < n;) {
		unsigned k = n - done < BURST_MAX ? n - done : BURST_MAX;
		for (unsigned i = 0; i < k; i++) {
			struct fn_pkt *q = &p[done + i];
			d[i].off = q->slot * e->slot_size;
			d[i].len = q->len;
			bytes += q->len;
		}
		/* SUBMIT has a place for every slot: only a peer that moved
		 * its tail wrongly can make this fall short. */
		if (fn_ring_enqueue_burst(&e->data, d, k) != (int)k)
			return cut_off(e, FN_SC_BAD_RING);
		done += k;
	}
	if (n) {
		ctr_add(e, FN_SC_PKTS, n);
		ctr_add(e, FN_SC_BYTES, bytes);
		ctr_add(e, FN_SC_BURSTS, 1);
		if (fn_ring_wake_bell(&e->data, e->bell_fd))
			ctr_add(e, FN_SC_WAKEUPS, 1);
	}
	return (int)n;
}

/* Sink: check one submitted descriptor and take the slot. */
static int recv_one(struct fn_endpoint *e, const struct fn_desc *d,
		    struct fn_pkt *p)
{
	int64_t s = desc_slot(e, d->off);

	if (s < 0)
		return cut_off(e, FN_SC_BAD_OFF);
	if (d->len > e->slot_size)
		return cut_off(e, FN_SC_BAD_LEN);
	if (e->state[s] != FN_SLOT_PEER)
		return cut_off(e, FN_SC_BAD_OWNER);
	e->state[s] = FN_SLOT_HELD;
	p->slot = (uint32_t)s;
	p->len = d->len;
	p->data = e->bulk + d->off;
	return 0;
}

int fn_stream_recv_burst(struct fn_endpoint *e, struct fn_pkt *p, unsigned n)
{
	struct fn_desc d[BURST_MAX];
	uint64_t bytes = 0;
	int k = gate(e);

	if (k < 0)
		return k == -EAGAIN ? 0 : k;
	if (e->broken)
		return -EPIPE;
	if (n > BURST_MAX)
		n = BURST_MAX;
	k = fn_ring_dequeue_burst(&e->data, d, n);
	if (k < 0)
		return cut_off(e, FN_SC_BAD_RING);
	for (int i = 0; i < k; i++) {
		int r = recv_one(e, &d[i], &p[i]);
		if (r < 0)
			return r;	/* -EPIPE, or -ECONNRESET mid-call */
		bytes += p[i].len;
	}
	if (k) {
		ctr_add(e, FN_SC_PKTS, (uint64_t)k);
		ctr_add(e, FN_SC_BYTES, bytes);
		ctr_add(e, FN_SC_BURSTS, 1);
	}
	return k;
}

int fn_stream_ack_burst(struct fn_endpoint *e, struct fn_pkt *p, unsigned n)
{
	struct fn_desc d[BURST_MAX];
	int g = gate(e);

	if (g < 0)
		return g;
	if (e->broken)
		return -EPIPE;
	if (!pkts_give(e, p, n, FN_SLOT_HELD))
		return -EINVAL;
	for (unsigned done = 0; done < n;) {
		unsigned k = n - done < BURST_MAX ? n - done : BURST_MAX;
		for (unsigned i = 0; i < k; i++) {
			uint32_t s = p[done + i].slot;
			d[i].off = s * e->slot_size;
			d[i].len = 0;
		}
		if (fn_ring_enqueue_burst(&e->ret, d, k) != (int)k)
			return cut_off(e, FN_SC_BAD_RING);
		done += k;
	}
	if (n && fn_ring_wake_bell(&e->ret, e->bell_fd))
		ctr_add(e, FN_SC_WAKEUPS, 1);
	return (int)n;
}

void fn_stream_set_bell(struct fn_endpoint *e, int fd)
{
	e->bell_fd = fd;
}

/* A join wakes sleepers through the bells it knows (link_wake_all), and
 * fn_link_attach() joined before the caller could give us one: ring it
 * once, so that a peer that slept through our join looks again. */
void fn_link_set_bell(struct fn_link *l, int fd)
{
	uint64_t one = 1;

	fn_stream_set_bell(&l->tx, fd);
	fn_stream_set_bell(&l->rx, fd);
	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is full, the peer wakes anyway. */
	}
}

/* The ring this endpoint consumes: acks (source) or frames (sink). */
static struct fn_ring *consumed_ring(struct fn_endpoint *e)
{
	return e->is_source ? &e->ret : &e->data;
}

int fn_stream_arm(struct fn_endpoint *e)
{
	int g = gate(e);

	if (g == -ECONNRESET)
		return g;
	if (g == -EAGAIN)
		return 1;	/* the peer's join rings every doorbell */
	if (e->broken)
		return -EPIPE;
	return fn_ring_arm(consumed_ring(e)) ? 1 : 0;
}

bool fn_stream_peer_awake(const struct fn_endpoint *e)
{
	return !e->broken && fn_ring_peer_awake(&e->data);
}

void fn_stream_disarm(struct fn_endpoint *e)
{
	fn_ring_disarm(consumed_ring(e));
}

unsigned fn_stream_pending(struct fn_endpoint *e)
{
	/* A source waits for acks on ret; a sink for frames on data. */
	struct fn_ring *r = e->is_source ? &e->ret : &e->data;

	if (!gate_peek(e))
		return 0;
	unsigned n = fn_ring_count(r);

	if (r->broken && !e->broken)
		cut_off(e, FN_SC_BAD_RING);
	return n;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

/* The link was reset or the peer has not joined: report a reset, or nap
 * (the joiner wakes every sleeper, so this is rarely a full 1 ms). */
static int wait_unusable(struct fn_endpoint *e, int64_t until)
{
	int r = gate(e);

	if (r != -EAGAIN)
		return r == -ECONNRESET ? r : 0;
	int64_t left = until - fn_clock_ns();
	if (left <= 0)
		return 0;
	struct timespec ts = { 0, left < 1000000 ? left : 1000000 };
	nanosleep(&ts, NULL);
	return 0;
}

/* Spin until work, the deadline, or (adaptive) the spin budget is spent.
 * The clock is read every SPIN_CHECK polls (a PAUSE costs 10-40 ns, so
 * BUSY_YIELD polls can take well over 100 us, far past spin_ns).  Empty
 * polls are counted across calls in idle_polls, so that a caller that
 * waits with short timeouts still yields: a peer pinned to our own core
 * must get to run.  Adaptive mode yields every ADAPTIVE_YIELD polls (about
 * 2 us): its peer may share our core (placement compact), and then all of
 * spin_ns spent spinning delays the very frame or ack we wait for.  A
 * yield with nobody else to run is one cheap syscall. */
static int wait_spin(struct fn_endpoint *e, int64_t until)
{
	uint32_t yield_every = e->poll == FN_POLL_BUSY ? BUSY_YIELD :
							 ADAPTIVE_YIELD;

	for (uint32_t i = 1;; i++) {
		if (fn_stream_pending(e)) {
			e->idle_polls = 0;
			return 1;
		}
		if (!usable(e))
			return wait_unusable(e, until);
		if (e->broken)
			return -EPIPE;
		cpu_relax();
		if (++e->idle_polls >= yield_every) {
			e->idle_polls = 0;
			sched_yield();
		}
		if (i % SPIN_CHECK == 0 && fn_clock_ns() >= until)
			return 0;
	}
}

/* Sleep on the futex until work or the deadline, at most one slice, so
 * that a peer that died without waking us is noticed by our caller. */
static int wait_sleep(struct fn_endpoint *e, int64_t until)
{
	struct fn_ring *r = e->is_source ? &e->ret : &e->data;
	int64_t left;

	/* A spin that yielded may end long after the peer delivered: look
	 * again, so that SLEEPS counts only waits that can really sleep. */
	if (fn_stream_pending(e))
		return 1;
	if (!usable(e))
		return wait_unusable(e, until);
	if (e->broken)
		return -EPIPE;
	left = until - fn_clock_ns();
	if (left <= 0)
		return 0;
	if (left > WAIT_SLICE_NS)
		left = WAIT_SLICE_NS;
	ctr_add(e, FN_SC_SLEEPS, 1);
	if (fn_ring_sleep(r, left) > 0)
		return 1;
	if (r->broken || e->broken)
		return e->broken ? -EPIPE : cut_off(e, FN_SC_BAD_RING);
	/* Timeout, signal or stale wake-up: the caller decides what next. */
	return 0;
}

int fn_stream_wait(struct fn_endpoint *e, int64_t timeout_ns)
{
	int64_t start = fn_clock_ns();
	int64_t until = timeout_ns < 0 || timeout_ns > INT64_MAX - start ?
			INT64_MAX : start + timeout_ns;
	int r;

	r = gate(e);
	if (r == -ECONNRESET)
		return r;
	if (r == -EAGAIN)
		return timeout_ns == 0 ? 0 : wait_unusable(e, until);
	if (e->broken)
		return -EPIPE;
	if (fn_stream_pending(e))
		return 1;
	if (e->broken)
		return -EPIPE;
	if (timeout_ns == 0)
		return 0;
	switch (e->poll) {
	case FN_POLL_BUSY:
		return wait_spin(e, until);
	case FN_POLL_ADAPTIVE: {
		int64_t spin_until = start + e->spin_ns;
		r = wait_spin(e, spin_until < until ? spin_until : until);
		if (r != 0)
			return r;
		return wait_sleep(e, until);
	}
	case FN_POLL_EVENT:
	default:
		return wait_sleep(e, until);
	}
}
