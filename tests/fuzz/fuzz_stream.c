/*
 * fuzz_stream.c - libFuzzer entry point for packet links (fragnet/stream.h):
 * the fuzz input is a hostile peer.
 *
 * One link (NSLOTS slots of SLOT bytes) is created once; each input starts
 * from a zeroed ring area with both sides attached (A and B, honest), plus
 * a third "raw" mapping through which the input writes whatever it likes
 * into the shared rings: descriptors at any entry, any head or tail, the
 * sleeping flag and the futex word, even the shared header.  In between,
 * the input drives the honest endpoints: alloc/submit/release and reclaim
 * on the sources, recv/ack on the sinks, pending and a zero-timeout wait,
 * with pkt arrays that may also be forged (local misuse).
 *
 * Never a crash, and what the contract promises:
 *   - a received pkt lies inside its sink's bulk buffer, len <= slot_size;
 *   - a source's free list and slot states agree, nfree <= nslots;
 *   - once broken, an endpoint stays broken and fails with -EPIPE;
 *   - -EINVAL (local misuse) changes no slot state and no counter.
 * The library is built with ASan here, so its private arrays (slot states,
 * free lists) are bounds-checked; the shared mapping is checked above.
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true
 *   ninja -C build-fuzz tests/fuzz/fuzz_stream
 *   build-fuzz/tests/fuzz/fuzz_stream -max_total_time=60 /tmp/corpus \
 *       tests/fuzz/corpus/stream
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fragnet/stats.h"
#include "fragnet/stream.h"

#include "fuzz_input.h"

#define NSLOTS	8u
#define SLOT	128u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int link_fd = -1;
static uint8_t *raw;		/* the hostile peer's mapping */
static uint64_t link_size;
static struct fn_link_hdr hdr;	/* as created */

/* Per input: both honest sides, and what they hold. */
struct side {
	struct fn_link l;
	struct fn_pkt alloc[NSLOTS];	/* tx: allocated, not submitted */
	unsigned nalloc;
	struct fn_pkt held[NSLOTS];	/* rx: received, not acked */
	unsigned nheld;
};

static struct side sides[2];

static void link_init(void)
{
	link_fd = fn_link_create("fuzz-link", NSLOTS, SLOT);
	if (link_fd < 0)
		abort();
	link_size = fn_link_size(NSLOTS, SLOT);
	raw = mmap(NULL, link_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   link_fd, 0);
	if (raw == MAP_FAILED)
		abort();
	memcpy(&hdr, raw, sizeof(hdr));
}

static struct fn_ring_shm *raw_ring(unsigned s, bool ack)
{
	struct fn_stream_shm *shm = (void *)(raw + hdr.stream[s].rings_off);

	return ack ? &shm->ack : &shm->submit;
}

static struct fn_desc *raw_ent(unsigned s, bool ack)
{
	return (void *)(raw + (ack ? hdr.stream[s].ack_off :
				     hdr.stream[s].submit_off));
}

/* --- invariants -------------------------------------------------------- */

static void check_source(const struct fn_endpoint *e)
{
	unsigned nfree = 0;

	if (e->nfree > e->nslots)
		abort();
	for (uint32_t s = 0; s < e->nslots; s++)
		nfree += e->state[s] == FN_SLOT_FREE;
	if (nfree != e->nfree)
		abort();
	for (uint32_t i = 0; i < e->nfree; i++)
		if (e->free[i] >= e->nslots || e->state[e->free[i]] != FN_SLOT_FREE)
			abort();
}

static void check_pkt(const struct fn_endpoint *e, const struct fn_pkt *p)
{
	if (p->slot >= e->nslots || p->len > e->slot_size ||
	    p->data != e->bulk + (uint64_t)p->slot * e->slot_size)
		abort();
	/* Touch the frame's ends: inside the mapping, or we fault here. */
	if (p->len) {
		volatile uint8_t x = p->data[0];
		x = p->data[p->len - 1];
		(void)x;
	}
}

/* A broken endpoint stays broken, whatever we ask of it. */
static void check_broken(struct fn_endpoint *e, bool was_broken)
{
	if (was_broken && !e->broken)
		abort();
}

/* r from fn_stream_alloc_burst() or fn_stream_recv_burst() of n pkts p:
 * an error only from a broken endpoint, else at most n pkts, each valid,
 * added to keep[*nkeep] (which cannot hold more slots than exist), and
 * with unique, none that keep[] holds already. */
static void keep_burst(const struct fn_endpoint *e, int r, unsigned n,
		       const struct fn_pkt *p, struct fn_pkt *keep,
		       unsigned *nkeep, bool unique)
{
	if (r < 0) {
		if (r != -EPIPE || !e->broken)
			abort();
		return;
	}
	if ((unsigned)r > n)
		abort();
	for (int i = 0; i < r; i++) {
		check_pkt(e, &p[i]);
		if (*nkeep >= NSLOTS)
			abort();	/* more slots than exist */
		for (unsigned j = 0; unique && j < *nkeep; j++)
			if (keep[j].slot == p[i].slot)
				abort();	/* held twice */
		keep[(*nkeep)++] = p[i];
	}
}

/* Keep in pkts[*n] only those whose slot is still in state: the others
 * went out, or a forged call took them. */
static void keep_in_state(const struct fn_endpoint *e, struct fn_pkt *pkts,
			  unsigned *n, uint8_t state)
{
	unsigned k = 0;

	for (unsigned i = 0; i < *n; i++)
		if (e->state[pkts[i].slot] == state)
			pkts[k++] = pkts[i];
	*n = k;
}

/* --- operations ------------------------------------------------------------ */

static void op_alloc(struct side *sd, struct input *in)
{
	struct fn_endpoint *e = &sd->l.tx;
	unsigned n = take(in, 1) % (NSLOTS + 2);
	struct fn_pkt p[NSLOTS + 2];
	bool was = e->broken;

	int r = fn_stream_alloc_burst(e, p, n);
	keep_burst(e, r, n, p, sd->alloc, &sd->nalloc, false);
	check_broken(e, was);
}

/* Submit some allocated pkts, lengths and maybe slots from the input. */
static void op_submit(struct side *sd, struct input *in)
{
	struct fn_endpoint *e = &sd->l.tx;
	unsigned n = take(in, 1) % (sd->nalloc + 2);
	struct fn_pkt p[NSLOTS + 2];
	uint8_t state[NSLOTS];
	uint64_t pkts = fn_ctr_get(&e->ctr[FN_SC_PKTS]);
	bool forged = false, was = e->broken;

	for (unsigned i = 0; i < n; i++) {
		p[i] = sd->alloc[i % (sd->nalloc ? sd->nalloc : 1)];
		if (!sd->nalloc)
			p[i] = (struct fn_pkt){ 0 };
		uint32_t len = take(in, 2);
		p[i].len = len & 0x8000 ? len : len % (SLOT + 1);
		if (take(in, 1) == 0xff) {	/* forged slot */
			p[i].slot = take(in, 1);
			forged = true;
		}
	}
	memcpy(state, e->state, NSLOTS);
	int r = fn_stream_submit_burst(e, p, n);
	if (r == -EINVAL) {
		if (memcmp(state, e->state, NSLOTS) != 0 ||
		    fn_ctr_get(&e->ctr[FN_SC_PKTS]) != pkts)
			abort();
	} else if (r == -EPIPE) {
		if (!e->broken)
			abort();
	} else if (r != (int)n) {
		abort();
	} else if (forged || n > sd->nalloc) {
		/* Accepted: then every pkt really was allocated, once. */
		for (unsigned i = 0; i < n; i++)
			if (e->state[p[i].slot] != FN_SLOT_PEER)
				abort();
	}
	if (r >= 0 || r == -EPIPE)	/* what went out is no longer ours */
		keep_in_state(e, sd->alloc, &sd->nalloc, FN_SLOT_ALLOC);
	check_broken(e, was);
}

static void op_release(struct side *sd, struct input *in)
{
	struct fn_endpoint *e = &sd->l.tx;
	unsigned n = take(in, 1) % (sd->nalloc + 1);
	struct fn_pkt bogus = { .slot = take(in, 1) };

	fn_stream_release(e, sd->alloc, n);
	memmove(sd->alloc, sd->alloc + n, (sd->nalloc - n) * sizeof(*sd->alloc));
	sd->nalloc -= n;
	fn_stream_release(e, &bogus, 1);
	/* A forged release may have freed one of ours: drop it too. */
	keep_in_state(e, sd->alloc, &sd->nalloc, FN_SLOT_ALLOC);
}

static void op_reclaim(struct side *sd)
{
	struct fn_endpoint *e = &sd->l.tx;
	bool was = e->broken;
	int r = fn_stream_reclaim(e);

	if (r < 0 ? r != -EPIPE || !e->broken : (uint32_t)r != e->nfree)
		abort();
	check_broken(e, was);
}

static void op_recv(struct side *sd, struct input *in)
{
	struct fn_endpoint *e = &sd->l.rx;
	unsigned n = take(in, 1) % (NSLOTS + 2);
	struct fn_pkt p[NSLOTS + 2];
	bool was = e->broken;

	int r = fn_stream_recv_burst(e, p, n);
	keep_burst(e, r, n, p, sd->held, &sd->nheld, true);
	check_broken(e, was);
}

static void op_ack(struct side *sd, struct input *in)
{
	struct fn_endpoint *e = &sd->l.rx;
	unsigned n = take(in, 1) % (sd->nheld + 2);
	struct fn_pkt p[NSLOTS + 2];
	uint8_t state[NSLOTS];
	bool was = e->broken;

	for (unsigned i = 0; i < n; i++) {
		p[i] = sd->nheld ? sd->held[i % sd->nheld] : (struct fn_pkt){ 0 };
		if (take(in, 1) == 0xff)
			p[i].slot = take(in, 1);
	}
	memcpy(state, e->state, NSLOTS);
	int r = fn_stream_ack_burst(e, p, n);
	if (r == -EINVAL) {
		if (memcmp(state, e->state, NSLOTS) != 0)
			abort();
	} else if (r == -EPIPE ? !e->broken : r != (int)n) {
		abort();
	}
	if (r >= 0 || r == -EPIPE)
		keep_in_state(e, sd->held, &sd->nheld, FN_SLOT_HELD);
	check_broken(e, was);
}

static void op_poll(struct side *sd, struct input *in)
{
	struct fn_endpoint *e = take(in, 1) & 1 ? &sd->l.tx : &sd->l.rx;
	bool was = e->broken;

	unsigned n = fn_stream_pending(e);
	if (n > NSLOTS)
		abort();
	int r = fn_stream_wait(e, 0);	/* zero timeout: never blocks */
	if (r < -EPIPE || r > 1 || (r == -EPIPE) != e->broken)
		abort();
	check_broken(e, was);
}

/* The hostile peer: a raw write into the shared memory. */
static void op_raw(struct input *in)
{
	unsigned what = take(in, 1);
	unsigned s = what & 1;
	bool ack = what & 2;
	struct fn_ring_shm *r = raw_ring(s, ack);
	uint32_t v = take(in, 4);

	switch ((what >> 2) % 8) {
	case 0: {	/* push a descriptor at head */
		uint32_t h = atomic_load(&r->head);
		raw_ent(s, ack)[h % NSLOTS] = (struct fn_desc){ v, take(in, 4) };
		atomic_store(&r->head, h + 1);
		break;
	}
	case 1:		/* rewrite an entry in place */
		raw_ent(s, ack)[v % NSLOTS] =
			(struct fn_desc){ take(in, 4), take(in, 4) };
		break;
	case 2:		/* head anywhere (mostly near) */
		atomic_store(&r->head, atomic_load(&r->head) + (int8_t)v);
		break;
	case 3:
		atomic_store(&r->tail, atomic_load(&r->tail) + (int8_t)v);
		break;
	case 4:
		atomic_store(&r->head, v);
		break;
	case 5:
		atomic_store(&r->tail, v);
		break;
	case 6:
		atomic_store(&r->sleeping, v);
		atomic_store(&r->wake_seq, take(in, 4));
		break;
	case 7:		/* scribble on the (private-copied) header */
		raw[v % sizeof(hdr)] = (uint8_t)take(in, 1);
		break;
	}
}

/* --- driver -------------------------------------------------------------- */

static void sides_attach(void)
{
	/* A fresh link: rings and header as created. */
	memset(raw, 0, hdr.stream[0].bulk_off);
	memcpy(raw, &hdr, sizeof(hdr));
	memset(sides, 0, sizeof(sides));
	if (fn_link_attach(&sides[0].l, link_fd, FN_LINK_A, FN_POLL_BUSY) < 0 ||
	    fn_link_attach(&sides[1].l, link_fd, FN_LINK_B, FN_POLL_EVENT) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };

	if (link_fd < 0)
		link_init();
	sides_attach();
	while (in.left) {
		unsigned op = take(&in, 1);
		struct side *sd = &sides[op & 1];

		switch ((op >> 1) % 9) {
		case 0: op_alloc(sd, &in); break;
		case 1: op_submit(sd, &in); break;
		case 2: op_release(sd, &in); break;
		case 3: op_reclaim(sd); break;
		case 4: op_recv(sd, &in); break;
		case 5: op_ack(sd, &in); break;
		case 6: op_poll(sd, &in); break;
		default: op_raw(&in); break;	/* 2 of 9: more hostility */
		}
		for (int i = 0; i < 2; i++)
			check_source(&sides[i].l.tx);
	}
	/* A side attaching to whatever the peer left behind must cope too:
	 * fail cleanly, or come up (possibly broken from birth). */
	struct fn_link late;
	if (fn_link_attach(&late, link_fd, FN_LINK_B, FN_POLL_BUSY) == 0) {
		struct fn_pkt p[NSLOTS];
		int r = fn_stream_recv_burst(&late.rx, p, NSLOTS);
		for (int i = 0; i < r; i++)
			check_pkt(&late.rx, &p[i]);
		fn_stream_reclaim(&late.tx);
		fn_link_detach(&late);
	}
	fn_link_detach(&sides[0].l);
	fn_link_detach(&sides[1].l);
	return 0;
}
