/*
 * test_stream.c - unit tests of packet streams and links (fragnet/stream.h).
 *
 * Both sides of a link are attached in this process, to the same memfd
 * (two fn_link structs, two mappings).  A test that plays a hostile peer
 * maps the memfd a third time and writes descriptors and indices straight
 * into the shared rings, as a broken or malicious process could; the
 * honest side must drop, count and cut off, and never hand out a pointer
 * outside its bulk buffer.
 *
 * Run under -Db_sanitize=address,undefined as well: every teardown detaches
 * both sides, and LeakSanitizer catches what detach forgets.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fragnet/clock.h"
#include "fragnet/stats.h"
#include "fragnet/stream.h"

#define NSLOTS	8u
#define SLOT	128u

struct fx {
	int fd;
	struct fn_link a, b;
	uint8_t *raw;		/* the hostile peer's own mapping */
	uint64_t size;
	struct fn_link_hdr hdr;
};

static int setup_poll(void **state, enum fn_poll poll)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->fd = fn_link_create("test-link", NSLOTS, SLOT);
	assert_true(f->fd >= 0);
	assert_int_equal(fn_link_attach(&f->a, f->fd, FN_LINK_A, poll), 0);
	assert_int_equal(fn_link_attach(&f->b, f->fd, FN_LINK_B, poll), 0);
	f->size = fn_link_size(NSLOTS, SLOT);
	f->raw = mmap(NULL, f->size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      f->fd, 0);
	assert_true(f->raw != MAP_FAILED);
	memcpy(&f->hdr, f->raw, sizeof(f->hdr));
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_poll(state, FN_POLL_EVENT);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	fn_link_detach(&f->a);
	fn_link_detach(&f->b);
	fn_link_detach(&f->a);	/* idempotent */
	assert_null(f->a.base);
	munmap(f->raw, f->size);
	close(f->fd);
	free(f);
	return 0;
}

/* --- the hostile peer's view of the shared memory ------------------------ */

static struct fn_stream_shm *raw_shm(struct fx *f, int s)
{
	return (void *)(f->raw + f->hdr.stream[s].rings_off);
}

static struct fn_desc *raw_ent(struct fx *f, int s, bool ack)
{
	return (void *)(f->raw + (ack ? f->hdr.stream[s].ack_off :
				  f->hdr.stream[s].submit_off));
}

/* Write one descriptor at the ring's published head and publish head + 1,
 * bypassing every check of the honest producer. */
static void raw_push(struct fx *f, int s, bool ack, uint32_t off, uint32_t len)
{
	struct fn_ring_shm *r = ack ? &raw_shm(f, s)->ack : &raw_shm(f, s)->submit;
	uint32_t h = atomic_load(&r->head);

	raw_ent(f, s, ack)[h & (NSLOTS - 1)] = (struct fn_desc){ off, len };
	atomic_store(&r->head, h + 1);
}

/* --- helpers -------------------------------------------------------------- */

static uint64_t ctr(const struct fn_endpoint *e, enum fn_stream_ctr c)
{
	return fn_ctr_get(&e->ctr[c]);
}

static const enum fn_stream_ctr bad_ctrs[] = {
	FN_SC_BAD_RING, FN_SC_BAD_OFF, FN_SC_BAD_LEN, FN_SC_BAD_OWNER,
};

/* e was cut off for `why` (exactly once, and for nothing else), and every
 * later call on it fails. */
static void assert_cut(struct fn_endpoint *e, enum fn_stream_ctr why)
{
	struct fn_pkt p[NSLOTS];

	assert_true(e->broken);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(ctr(e, bad_ctrs[i]), bad_ctrs[i] == why);
	assert_int_equal(fn_stream_wait(e, 1000000), -EPIPE);
	if (e->is_source) {
		assert_int_equal(fn_stream_alloc_burst(e, p, 1), -EPIPE);
		assert_int_equal(fn_stream_reclaim(e), -EPIPE);
		p[0].slot = 0;
		p[0].len = 1;
		assert_int_equal(fn_stream_submit_burst(e, p, 1), -EPIPE);
	} else {
		assert_int_equal(fn_stream_recv_burst(e, p, NSLOTS), -EPIPE);
		p[0].slot = 0;
		assert_int_equal(fn_stream_ack_burst(e, p, 1), -EPIPE);
	}
	assert_int_equal(ctr(e, why), 1);
}

static void assert_clean(struct fn_endpoint *e)
{
	assert_false(e->broken);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(ctr(e, bad_ctrs[i]), 0);
}

static uint8_t pattern(uint32_t seq, uint32_t i)
{
	return (uint8_t)(seq * 131 + i * 7 + (i >> 8));
}

/* Every pkt handed out must lie in the endpoint's bulk buffer. */
static void assert_in_bulk(const struct fn_endpoint *e, const struct fn_pkt *p)
{
	assert_true(p->slot < e->nslots);
	assert_true(p->data == e->bulk + (uint64_t)p->slot * e->slot_size);
	assert_true(p->len <= e->slot_size);
}

/* Source tx sends n frames numbered from seq, each len_of(seq) long. */
static uint32_t frame_len(uint32_t seq)
{
	return seq % (SLOT + 1);
}

static void send_frames(struct fn_endpoint *tx, uint32_t seq, unsigned n)
{
	struct fn_pkt p[NSLOTS];

	assert_true(n <= NSLOTS);
	assert_int_equal(fn_stream_alloc_burst(tx, p, n), n);
	for (unsigned i = 0; i < n; i++) {
		assert_in_bulk(tx, &p[i]);
		assert_int_equal(p[i].len, SLOT);
		p[i].len = frame_len(seq + i);
		for (uint32_t j = 0; j < p[i].len; j++)
			p[i].data[j] = pattern(seq + i, j);
	}
	assert_int_equal(fn_stream_submit_burst(tx, p, n), n);
}

/* Sink rx receives exactly n frames from seq, checks and acks them. */
static void recv_frames(struct fn_endpoint *rx, uint32_t seq, unsigned n)
{
	struct fn_pkt p[NSLOTS];

	assert_int_equal(fn_stream_pending(rx), n);
	assert_int_equal(fn_stream_recv_burst(rx, p, NSLOTS), n);
	for (unsigned i = 0; i < n; i++) {
		assert_in_bulk(rx, &p[i]);
		assert_int_equal(p[i].len, frame_len(seq + i));
		for (uint32_t j = 0; j < p[i].len; j++)
			assert_int_equal(p[i].data[j], pattern(seq + i, j));
	}
	assert_int_equal(fn_stream_ack_burst(rx, p, n), n);
}

/* --- geometry, create, attach ---------------------------------------------- */

static void test_geometry(void **state)
{
	(void)state;
	assert_int_equal(fn_link_size(0, 128), 0);
	assert_int_equal(fn_link_size(3, 128), 0);
	assert_int_equal(fn_link_size(FN_LINK_MAX_SLOTS * 2, 128), 0);
	assert_int_equal(fn_link_size(8, 0), 0);
	assert_int_equal(fn_link_size(8, 32), 0);
	assert_int_equal(fn_link_size(8, 100), 0);
	assert_int_equal(fn_link_size(8, FN_LINK_MAX_SLOT + 64), 0);
	assert_int_equal(fn_link_size(8, UINT32_MAX - 63), 0);

	uint64_t s = fn_link_size(1, FN_LINK_MIN_SLOT);
	assert_true(s > 0 && s % 4096 == 0);
	s = fn_link_size(FN_LINK_MAX_SLOTS, FN_LINK_MAX_SLOT);
	assert_true(s >= 2ull * FN_LINK_MAX_SLOTS * FN_LINK_MAX_SLOT);
	s = fn_link_size(NSLOTS, SLOT);
	assert_true(s >= 2 * NSLOTS * SLOT && s % 4096 == 0);
	assert_true(fn_link_size(16, SLOT) >= s);

	assert_int_equal(fn_link_create("x", 3, SLOT), -EINVAL);
	assert_int_equal(fn_link_create("x", 8, 65), -EINVAL);
	assert_int_equal(fn_link_create(NULL, 0, 0), -EINVAL);
}

static void test_create(void **state)
{
	struct fx *f = *state;

	/* Sealed: neither side can shrink the region under the other. */
	int seals = fcntl(f->fd, F_GET_SEALS);
	assert_true(seals & F_SEAL_SHRINK);
	assert_true(seals & F_SEAL_GROW);
	assert_true(seals & F_SEAL_SEAL);
	assert_int_equal(ftruncate(f->fd, 4096), -1);
	assert_int_equal(errno, EPERM);
	assert_true(fcntl(f->fd, F_GETFD) & FD_CLOEXEC);

	const struct fn_link_hdr *h = &f->hdr;
	assert_int_equal(h->magic, FN_LINK_MAGIC);
	assert_int_equal(h->version, FN_LINK_VERSION);
	assert_int_equal(h->total_size, f->size);
	assert_int_equal(h->nslots, NSLOTS);
	assert_int_equal(h->slot_size, SLOT);
	for (int s = 0; s < 2; s++) {
		const struct fn_stream_layout *st = &h->stream[s];
		assert_true(st->rings_off >= sizeof(*h));
		assert_int_equal(st->rings_off % FN_CACHE_LINE, 0);
		assert_true(st->submit_off >= st->rings_off + sizeof(struct fn_stream_shm));
		assert_true(st->ack_off >= st->submit_off + NSLOTS * 8);
		assert_int_equal(st->bulk_off % 4096, 0);
		assert_true(st->bulk_off + NSLOTS * SLOT <= f->size);
	}
	assert_true(h->stream[1].rings_off >= h->stream[0].ack_off + NSLOTS * 8);
	assert_true(h->stream[1].bulk_off >= h->stream[0].bulk_off + NSLOTS * SLOT);
	assert_true(h->stream[1].bulk_off > h->stream[1].ack_off);
}

static void test_attach_sides(void **state)
{
	struct fx *f = *state;

	assert_true(f->a.tx.is_source && !f->a.rx.is_source);
	assert_true(f->b.tx.is_source && !f->b.rx.is_source);
	assert_int_equal(f->a.size, f->size);
	assert_int_equal(f->a.tx.nslots, NSLOTS);
	assert_int_equal(f->a.tx.slot_size, SLOT);
	/* A's tx and B's rx are the same stream (0), in two mappings. */
	assert_true(f->a.tx.bulk - (uint8_t *)f->a.base ==
		    (ptrdiff_t)f->hdr.stream[0].bulk_off);
	assert_true(f->b.rx.bulk - (uint8_t *)f->b.base ==
		    (ptrdiff_t)f->hdr.stream[0].bulk_off);
	assert_true(f->b.tx.bulk - (uint8_t *)f->b.base ==
		    (ptrdiff_t)f->hdr.stream[1].bulk_off);
	assert_true(f->a.rx.bulk - (uint8_t *)f->a.base ==
		    (ptrdiff_t)f->hdr.stream[1].bulk_off);
	assert_int_equal(f->a.tx.poll, FN_POLL_EVENT);
	assert_int_equal(f->a.tx.nfree, NSLOTS);
	assert_int_equal(fn_stream_pending(&f->b.rx), 0);
	assert_int_equal(fn_stream_pending(&f->a.tx), 0);
	assert_clean(&f->a.tx);
	assert_clean(&f->b.rx);
}

/* A memfd with `size` bytes and hdr written at 0, sealed like a real one. */
static int make_link_fd(const struct fn_link_hdr *hdr, uint64_t size, bool seal)
{
	int fd = memfd_create("fake-link", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	if (hdr) {
		size_t n = size < sizeof(*hdr) ? size : sizeof(*hdr);
		assert_int_equal(pwrite(fd, hdr, n, 0), (ssize_t)n);
	}
	if (seal)
		assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK |
				       F_SEAL_GROW | F_SEAL_SEAL), 0);
	return fd;
}

static void assert_attach_fails(const struct fn_link_hdr *hdr, uint64_t size,
				int err)
{
	struct fn_link l;
	int fd = make_link_fd(hdr, size, true);

	memset(&l, 0xa5, sizeof(l));
	assert_int_equal(fn_link_attach(&l, fd, FN_LINK_B, FN_POLL_BUSY), err);
	assert_null(l.base);
	fn_link_detach(&l);	/* harmless after a failed attach */
	close(fd);
}

static void test_attach_rejects(void **state)
{
	struct fx *f = *state;
	struct fn_link_hdr h;
	struct fn_link l;

	/* The honest header in a fake memfd attaches: the checks below fail
	 * for the one field they change. */
	int fd = make_link_fd(&f->hdr, f->size, true);
	assert_int_equal(fn_link_attach(&l, fd, FN_LINK_A, FN_POLL_BUSY), 0);
	fn_link_detach(&l);
	close(fd);

	assert_attach_fails(NULL, 0, -EBADMSG);
	assert_attach_fails(&f->hdr, sizeof(h) - 1, -EBADMSG);
	h = f->hdr;
	h.magic ^= 1;
	assert_attach_fails(&h, f->size, -EBADMSG);
	h = f->hdr;
	h.version = FN_LINK_VERSION + 1;
	assert_attach_fails(&h, f->size, -EBADMSG);
	/* Real size differs from the header (and from the layout). */
	assert_attach_fails(&f->hdr, f->size + 4096, -EBADMSG);
	assert_attach_fails(&f->hdr, f->size - 4096, -EBADMSG);
	/* Header and memfd agree on a size the layout does not give. */
	h = f->hdr;
	h.total_size = f->size + 4096;
	assert_attach_fails(&h, f->size + 4096, -EBADMSG);
	/* Geometry: bad values, and good values that disagree with the size. */
	h = f->hdr;
	h.nslots = 7;
	assert_attach_fails(&h, f->size, -EBADMSG);
	h = f->hdr;
	h.slot_size = 100;
	assert_attach_fails(&h, f->size, -EBADMSG);
	h = f->hdr;
	h.nslots = NSLOTS * 2;
	assert_attach_fails(&h, f->size, -EBADMSG);
	h = f->hdr;
	h.nslots = 0;
	assert_attach_fails(&h, f->size, -EBADMSG);
	/* The header lies about where things are. */
	for (int s = 0; s < 2; s++) {
		h = f->hdr;
		h.stream[s].bulk_off += 4096;
		assert_attach_fails(&h, f->size, -EBADMSG);
		h = f->hdr;
		h.stream[s].rings_off = 0;
		assert_attach_fails(&h, f->size, -EBADMSG);
		h = f->hdr;
		h.stream[s].ack_off = h.stream[s].submit_off;
		assert_attach_fails(&h, f->size, -EBADMSG);
		h = f->hdr;
		h.stream[s].submit_off = UINT64_MAX - 7;
		assert_attach_fails(&h, f->size, -EBADMSG);
	}

	/* Not a link at all. */
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(fn_link_attach(&l, pfd[0], FN_LINK_A, FN_POLL_BUSY),
			 -EBADMSG);
	close(pfd[0]);
	close(pfd[1]);
	assert_int_equal(fn_link_attach(&l, -1, FN_LINK_A, FN_POLL_BUSY), -EBADF);
	assert_null(l.base);
}

/* A memfd that is not sealed against shrinking lets the peer truncate it
 * under our mapping (SIGBUS on the next access): refuse it. */
static void test_attach_rejects_unsealed(void **state)
{
	struct fx *f = *state;
	struct fn_link l;
	int fd = make_link_fd(&f->hdr, f->size, false);

	assert_int_equal(fn_link_attach(&l, fd, FN_LINK_B, FN_POLL_BUSY),
			 -EBADMSG);
	assert_null(l.base);
	close(fd);
}

/* --- the honest protocol ------------------------------------------------- */

static void test_round_trip(void **state)
{
	struct fx *f = *state;

	/* Stream 0: A -> B. */
	send_frames(&f->a.tx, 0, 4);
	assert_int_equal(f->a.tx.nfree, NSLOTS - 4);
	assert_int_equal(fn_stream_pending(&f->a.tx), 0);	/* no acks yet */
	recv_frames(&f->b.rx, 0, 4);
	assert_int_equal(fn_stream_pending(&f->a.tx), 4);	/* acks */
	assert_int_equal(fn_stream_reclaim(&f->a.tx), NSLOTS);
	assert_int_equal(fn_stream_pending(&f->a.tx), 0);
	assert_int_equal(fn_stream_pending(&f->b.rx), 0);

	/* Stream 1: B -> A, untouched by the traffic on stream 0. */
	assert_int_equal(f->b.tx.nfree, NSLOTS);
	send_frames(&f->b.tx, 100, NSLOTS);
	assert_int_equal(fn_stream_pending(&f->a.rx), NSLOTS);
	assert_int_equal(fn_stream_pending(&f->b.rx), 0);
	recv_frames(&f->a.rx, 100, NSLOTS);
	assert_int_equal(fn_stream_reclaim(&f->b.tx), NSLOTS);

	/* Counters. */
	assert_int_equal(ctr(&f->a.tx, FN_SC_PKTS), 4);
	assert_int_equal(ctr(&f->b.rx, FN_SC_PKTS), 4);
	assert_int_equal(ctr(&f->a.tx, FN_SC_BURSTS), 1);
	assert_int_equal(ctr(&f->b.rx, FN_SC_BURSTS), 1);
	uint64_t bytes = 0;
	for (uint32_t i = 0; i < 4; i++)
		bytes += frame_len(i);
	assert_int_equal(ctr(&f->a.tx, FN_SC_BYTES), bytes);
	assert_int_equal(ctr(&f->b.rx, FN_SC_BYTES), bytes);
	assert_int_equal(ctr(&f->b.tx, FN_SC_PKTS), NSLOTS);
	assert_int_equal(ctr(&f->a.rx, FN_SC_PKTS), NSLOTS);
	assert_int_equal(ctr(&f->a.tx, FN_SC_WAKEUPS), 0);	/* nobody slept */
	assert_clean(&f->a.tx);
	assert_clean(&f->a.rx);
	assert_clean(&f->b.tx);
	assert_clean(&f->b.rx);
}

/* Many rounds with bursts of every size; slots are reused many times. */
static void test_many_rounds(void **state)
{
	struct fx *f = *state;
	uint32_t sent = 0, got = 0;

	for (unsigned round = 0; round < 5000; round++) {
		unsigned n = 1 + round % NSLOTS;
		if (f->a.tx.nfree < n)
			fn_stream_reclaim(&f->a.tx);
		if (f->a.tx.nfree >= n) {
			send_frames(&f->a.tx, sent, n);
			sent += n;
		}
		unsigned k = fn_stream_pending(&f->b.rx);
		if (k && (round % 3 != 0 || k == NSLOTS)) {
			recv_frames(&f->b.rx, got, k);
			got += k;
		}
	}
	assert_true(sent > 10000);
	recv_frames(&f->b.rx, got, sent - got);
	assert_int_equal(fn_stream_reclaim(&f->a.tx), NSLOTS);
	assert_int_equal(ctr(&f->b.rx, FN_SC_PKTS), sent);
	assert_clean(&f->a.tx);
	assert_clean(&f->b.rx);
}

/* A side that attaches late sees what was submitted before. */
static void test_attach_late(void **state)
{
	struct fx *f = *state;
	struct fn_link late;

	send_frames(&f->a.tx, 7, 3);
	fn_link_detach(&f->b);
	assert_int_equal(fn_link_attach(&late, f->fd, FN_LINK_B, FN_POLL_BUSY), 0);
	recv_frames(&late.rx, 7, 3);
	assert_int_equal(fn_stream_reclaim(&f->a.tx), NSLOTS);
	fn_link_detach(&late);
}

static void test_slot_exhaustion(void **state)
{
	struct fx *f = *state;
	struct fn_pkt p[NSLOTS + 4];

	assert_int_equal(fn_stream_alloc_burst(&f->a.tx, p, NSLOTS + 4), NSLOTS);
	assert_int_equal(ctr(&f->a.tx, FN_SC_NOSLOT), 1);
	for (unsigned i = 0; i < NSLOTS; i++) {
		assert_in_bulk(&f->a.tx, &p[i]);
		for (unsigned j = 0; j < i; j++)
			assert_true(p[i].slot != p[j].slot);
	}
	assert_int_equal(fn_stream_alloc_burst(&f->a.tx, p + NSLOTS, 1), 0);
	assert_int_equal(ctr(&f->a.tx, FN_SC_NOSLOT), 2);
	assert_int_equal(fn_stream_submit_burst(&f->a.tx, p, NSLOTS), NSLOTS);
	/* Still none: all are with the sink. */
	assert_int_equal(fn_stream_alloc_burst(&f->a.tx, p, 1), 0);
	assert_int_equal(ctr(&f->a.tx, FN_SC_NOSLOT), 3);
	struct fn_pkt q[NSLOTS];
	assert_int_equal(fn_stream_recv_burst(&f->b.rx, q, NSLOTS), NSLOTS);
	assert_int_equal(fn_stream_ack_burst(&f->b.rx, q, 2), 2);
	/* alloc reclaims by itself. */
	assert_int_equal(fn_stream_alloc_burst(&f->a.tx, p, 4), 2);
	assert_int_equal(ctr(&f->a.tx, FN_SC_NOSLOT), 4);
	fn_stream_release(&f->a.tx, p, 2);
	assert_int_equal(fn_stream_ack_burst(&f->b.rx, q + 2, NSLOTS - 2),
			 NSLOTS - 2);
	assert_int_equal(fn_stream_reclaim(&f->a.tx), NSLOTS);
	assert_clean(&f->a.tx);
}

static void test_release(void **state)
{
	struct fx *f = *state;
	struct fn_pkt p[NSLOTS];

	assert_int_equal(fn_stream_alloc_burst(&f->a.tx, p, 5), 5);
	assert_int_equal(f->a.tx.nfree, NSLOTS - 5);
	fn_stream_release(&f->a.tx, p, 2);
	assert_int_equal(f->a.tx.nfree, NSLOTS - 3);
	/* Releasing again, or a slot not allocated, changes nothing. */
	fn_stream_release(&f->a.tx, p, 2);
	assert_int_equal(f->a.tx.nfree, NSLOTS - 3);
	struct fn_pkt bogus = { .slot = NSLOTS + 3 };
	fn_stream_release(&f->a.tx, &bogus, 1);
	assert_int_equal(f->a.tx.nfree, NSLOTS - 3);
	/* A submitted pkt cannot be released. */
	p[2].len = 1;
	assert_int_equal(fn_stream_submit_burst(&f->a.tx, p + 2, 1), 1);
	fn_stream_release(&f->a.tx, p + 2, 1);
	assert_int_equal(f->a.tx.nfree, NSLOTS - 3);
	/* A released pkt cannot be submitted. */
	p[0].len = 1;
	assert_int_equal(fn_stream_submit_burst(&f->a.tx, p, 1), -EINVAL);
	fn_stream_release(&f->a.tx, p + 3, 2);
	assert_int_equal(f->a.tx.nfree, NSLOTS - 1);
	assert_int_equal(fn_stream_pending(&f->b.rx), 1);
	assert_clean(&f->a.tx);
}

/* --- local misuse: -EINVAL and nothing changes ---------------------------- */

static void snapshot(struct fx *f, uint32_t out[4], uint64_t ctrs[FN_SC_COUNT])
{
	out[0] = atomic_load(&raw_shm(f, 0)->submit.head);
	out[1] = atomic_load(&raw_shm(f, 0)->ack.head);
	out[2] = f->a.tx.nfree;
	out[3] = (uint32_t)fn_stream_pending(&f->b.rx);
	for (int i = 0; i < FN_SC_COUNT; i++)
		ctrs[i] = ctr(&f->a.tx, i) + ctr(&f->b.rx, i);
}

static void assert_unchanged(struct fx *f, const uint32_t s0[4],
			     const uint64_t c0[FN_SC_COUNT])
{
	uint32_t s1[4];
	uint64_t c1[FN_SC_COUNT];

	snapshot(f, s1, c1);
	assert_memory_equal(s0, s1, sizeof(s1));
	assert_memory_equal(c0, c1, sizeof(c1));
	assert_false(f->a.tx.broken || f->b.rx.broken);
}

static void test_misuse_submit(void **state)
{
	struct fx *f = *state;
	struct fn_pkt p[4], bad[4];
	uint32_t s0[4];
	uint64_t c0[FN_SC_COUNT];

	assert_int_equal(fn_stream_alloc_burst(&f->a.tx, p, 3), 3);
	for (int i = 0; i < 3; i++)
		p[i].len = 10;
	snapshot(f, s0, c0);

	/* Not allocated: a free slot, and a slot out of range. */
	uint32_t free_slot = f->a.tx.free[0];
	bad[0] = p[0];
	bad[1] = (struct fn_pkt){ .slot = free_slot, .len = 1 };
	assert_int_equal(fn_stream_submit_burst(&f->a.tx, bad, 2), -EINVAL);
	assert_unchanged(f, s0, c0);
	bad[1].slot = NSLOTS;
	assert_int_equal(fn_stream_submit_burst(&f->a.tx, bad, 2), -EINVAL);
	bad[1].slot = UINT32_MAX;
	assert_int_equal(fn_stream_submit_burst(&f->a.tx, bad, 2), -EINVAL);
	assert_unchanged(f, s0, c0);
	/* The same pkt twice in a burst. */
	bad[0] = p[0];
	bad[1] = p[1];
	bad[2] = p[0];
	assert_int_equal(fn_stream_submit_burst(&f->a.tx, bad, 3), -EINVAL);
	assert_unchanged(f, s0, c0);
	/* Too long. */
	bad[0] = p[0];
	bad[1] = p[1];
	bad[1].len = SLOT + 1;
	assert_int_equal(fn_stream_submit_burst(&f->a.tx, bad, 2), -EINVAL);
	bad[1].len = UINT32_MAX;
	assert_int_equal(fn_stream_submit_burst(&f->a.tx, bad, 2), -EINVAL);
	assert_unchanged(f, s0, c0);
	/* Zero pkts: a no-op. */
	assert_int_equal(fn_stream_submit_burst(&f->a.tx, p, 0), 0);
	assert_unchanged(f, s0, c0);

	/* The pkts are still allocated and go through afterwards. */
	assert_int_equal(fn_stream_submit_burst(&f->a.tx, p, 3), 3);
	assert_int_equal(fn_stream_pending(&f->b.rx), 3);
	/* Submitted twice. */
	assert_int_equal(fn_stream_submit_burst(&f->a.tx, p, 1), -EINVAL);
	assert_int_equal(fn_stream_pending(&f->b.rx), 3);
	assert_clean(&f->a.tx);
	assert_clean(&f->b.rx);
}

static void test_misuse_ack(void **state)
{
	struct fx *f = *state;
	struct fn_pkt p[4], q[4], bad[4];
	uint32_t s0[4];
	uint64_t c0[FN_SC_COUNT];

	assert_int_equal(fn_stream_alloc_burst(&f->a.tx, p, 3), 3);
	assert_int_equal(fn_stream_submit_burst(&f->a.tx, p, 3), 3);
	assert_int_equal(fn_stream_recv_burst(&f->b.rx, q, 2), 2);
	snapshot(f, s0, c0);

	/* Not held: still in the ring (p[2]), never submitted, out of range. */
	bad[0] = q[0];
	bad[1] = p[2];
	assert_int_equal(fn_stream_ack_burst(&f->b.rx, bad, 2), -EINVAL);
	bad[1].slot = f->a.tx.free[0];
	assert_int_equal(fn_stream_ack_burst(&f->b.rx, bad, 2), -EINVAL);
	bad[1].slot = NSLOTS + 1;
	assert_int_equal(fn_stream_ack_burst(&f->b.rx, bad, 2), -EINVAL);
	/* Twice in a burst. */
	bad[1] = q[1];
	bad[2] = q[0];
	assert_int_equal(fn_stream_ack_burst(&f->b.rx, bad, 3), -EINVAL);
	assert_unchanged(f, s0, c0);

	assert_int_equal(fn_stream_ack_burst(&f->b.rx, q, 2), 2);
	/* Acked twice. */
	assert_int_equal(fn_stream_ack_burst(&f->b.rx, q, 1), -EINVAL);
	assert_int_equal(fn_stream_reclaim(&f->a.tx), NSLOTS - 1);
	assert_clean(&f->a.tx);
	assert_clean(&f->b.rx);
}

/* --- a hostile source writes raw descriptors into SUBMIT ----------------- */

/* Push one raw descriptor on stream 0 and expect B's sink to cut off. */
static void hostile_submit(struct fx *f, uint32_t off, uint32_t len,
			   enum fn_stream_ctr why)
{
	struct fn_pkt p[NSLOTS];

	raw_push(f, 0, false, off, len);
	assert_int_equal(fn_stream_recv_burst(&f->b.rx, p, NSLOTS), -EPIPE);
	assert_cut(&f->b.rx, why);
	/* Stream 1 (B's own source) is unaffected by stream 0's breach. */
	assert_false(f->b.tx.broken);
}

static void test_hostile_off_unaligned(void **state)
{
	hostile_submit(*state, 1, 10, FN_SC_BAD_OFF);
}

static void test_hostile_off_unaligned2(void **state)
{
	hostile_submit(*state, SLOT + 64, 10, FN_SC_BAD_OFF);
}

static void test_hostile_off_beyond(void **state)
{
	hostile_submit(*state, NSLOTS * SLOT, 10, FN_SC_BAD_OFF);
}

static void test_hostile_off_huge(void **state)
{
	hostile_submit(*state, UINT32_MAX, 10, FN_SC_BAD_OFF);
}

static void test_hostile_off_huge_aligned(void **state)
{
	/* A multiple of the slot size, far past the bulk buffer. */
	hostile_submit(*state, UINT32_MAX / SLOT * SLOT, 10, FN_SC_BAD_OFF);
}

static void test_hostile_len(void **state)
{
	hostile_submit(*state, 0, SLOT + 1, FN_SC_BAD_LEN);
}

static void test_hostile_len_huge(void **state)
{
	hostile_submit(*state, 2 * SLOT, UINT32_MAX, FN_SC_BAD_LEN);
}

/* Both bad: offset is checked first and counted alone. */
static void test_hostile_off_and_len(void **state)
{
	hostile_submit(*state, 3, UINT32_MAX, FN_SC_BAD_OFF);
}

static void test_hostile_dup_held(void **state)
{
	struct fx *f = *state;
	struct fn_pkt p[NSLOTS];

	raw_push(f, 0, false, SLOT, 10);
	assert_int_equal(fn_stream_recv_burst(&f->b.rx, p, NSLOTS), 1);
	assert_int_equal(p[0].slot, 1);
	/* Slot 1 again while B still holds it. */
	hostile_submit(f, SLOT, 10, FN_SC_BAD_OWNER);
}

static void test_hostile_dup_in_burst(void **state)
{
	struct fx *f = *state;
	struct fn_pkt p[NSLOTS];

	raw_push(f, 0, false, 0, 10);
	raw_push(f, 0, false, 2 * SLOT, 10);
	raw_push(f, 0, false, 0, 20);
	assert_int_equal(fn_stream_recv_burst(&f->b.rx, p, NSLOTS), -EPIPE);
	assert_cut(&f->b.rx, FN_SC_BAD_OWNER);
}

/* Good frames ahead of a bad one in the same burst: the burst fails. */
static void test_hostile_good_then_bad(void **state)
{
	struct fx *f = *state;
	struct fn_pkt p[NSLOTS];

	send_frames(&f->a.tx, 0, 2);
	raw_push(f, 0, false, 5 * SLOT, SLOT + 64);
	assert_int_equal(fn_stream_recv_burst(&f->b.rx, p, NSLOTS), -EPIPE);
	assert_cut(&f->b.rx, FN_SC_BAD_LEN);
}

static void test_hostile_head_jump(void **state)
{
	struct fx *f = *state;
	struct fn_ring_shm *r = &raw_shm(f, 0)->submit;
	struct fn_pkt p[NSLOTS];

	atomic_store(&r->head, atomic_load(&r->tail) + NSLOTS + 1);
	assert_int_equal(fn_stream_pending(&f->b.rx), 0);
	assert_true(f->b.rx.broken);
	assert_int_equal(fn_stream_recv_burst(&f->b.rx, p, NSLOTS), -EPIPE);
	assert_cut(&f->b.rx, FN_SC_BAD_RING);
}

static void test_hostile_head_jump_recv(void **state)
{
	struct fx *f = *state;
	struct fn_ring_shm *r = &raw_shm(f, 0)->submit;
	struct fn_pkt p[NSLOTS];

	atomic_store(&r->head, 0x80000000u);
	assert_int_equal(fn_stream_recv_burst(&f->b.rx, p, NSLOTS), -EPIPE);
	assert_cut(&f->b.rx, FN_SC_BAD_RING);
}

static void test_hostile_head_backwards(void **state)
{
	struct fx *f = *state;
	struct fn_ring_shm *r = &raw_shm(f, 0)->submit;
	struct fn_pkt p[NSLOTS];

	send_frames(&f->a.tx, 0, 4);
	assert_int_equal(fn_stream_recv_burst(&f->b.rx, p, 2), 2);
	atomic_store(&r->head, 3);
	assert_int_equal(fn_stream_recv_burst(&f->b.rx, p + 2, NSLOTS), -EPIPE);
	assert_cut(&f->b.rx, FN_SC_BAD_RING);
}

static void test_hostile_wait(void **state)
{
	struct fx *f = *state;

	atomic_store(&raw_shm(f, 0)->submit.head, 1000);
	assert_int_equal(fn_stream_wait(&f->b.rx, 1000000), -EPIPE);
	assert_cut(&f->b.rx, FN_SC_BAD_RING);
}

/* --- a hostile sink writes raw acks, or moves the SUBMIT tail ------------ */

static void hostile_ack(struct fx *f, uint32_t off, enum fn_stream_ctr why)
{
	raw_push(f, 0, true, off, 0);
	assert_int_equal(fn_stream_reclaim(&f->a.tx), -EPIPE);
	assert_cut(&f->a.tx, why);
	assert_false(f->a.rx.broken);
}

static void test_hostile_ack_free_slot(void **state)
{
	hostile_ack(*state, 3 * SLOT, FN_SC_BAD_OWNER);
}

static void test_hostile_ack_alloc_slot(void **state)
{
	struct fx *f = *state;
	struct fn_pkt p[2];

	assert_int_equal(fn_stream_alloc_burst(&f->a.tx, p, 2), 2);
	hostile_ack(f, p[1].slot * SLOT, FN_SC_BAD_OWNER);
}

static void test_hostile_ack_in_ring(void **state)
{
	struct fx *f = *state;

	/* Slot submitted but not yet received: acking it needs the sink to
	 * have taken it off SUBMIT, so the source has no way to tell; what
	 * it can and must refuse is a second ack of the same slot. */
	send_frames(&f->a.tx, 0, 1);
	raw_push(f, 0, true, 0, 0);
	raw_push(f, 0, true, 0, 0);
	assert_int_equal(fn_stream_reclaim(&f->a.tx), -EPIPE);
	assert_cut(&f->a.tx, FN_SC_BAD_OWNER);
}

static void test_hostile_double_ack(void **state)
{
	struct fx *f = *state;

	send_frames(&f->a.tx, 0, 2);
	recv_frames(&f->b.rx, 0, 2);
	assert_int_equal(fn_stream_reclaim(&f->a.tx), NSLOTS);
	hostile_ack(f, 0, FN_SC_BAD_OWNER);
}

static void test_hostile_double_ack_same_burst(void **state)
{
	struct fx *f = *state;
	struct fn_pkt p[2];

	send_frames(&f->a.tx, 0, 2);
	assert_int_equal(fn_stream_recv_burst(&f->b.rx, p, 2), 2);
	assert_int_equal(fn_stream_ack_burst(&f->b.rx, p, 2), 2);
	hostile_ack(f, p[1].slot * SLOT, FN_SC_BAD_OWNER);
}

static void test_hostile_ack_unaligned(void **state)
{
	struct fx *f = *state;

	send_frames(&f->a.tx, 0, 1);
	hostile_ack(f, 1, FN_SC_BAD_OFF);
}

static void test_hostile_ack_beyond(void **state)
{
	hostile_ack(*state, NSLOTS * SLOT, FN_SC_BAD_OFF);
}

static void test_hostile_ack_huge(void **state)
{
	hostile_ack(*state, UINT32_MAX / SLOT * SLOT, FN_SC_BAD_OFF);
}

static void test_hostile_ack_head_jump(void **state)
{
	struct fx *f = *state;

	atomic_store(&raw_shm(f, 0)->ack.head, NSLOTS + 1);
	assert_int_equal(fn_stream_reclaim(&f->a.tx), -EPIPE);
	assert_cut(&f->a.tx, FN_SC_BAD_RING);
}

static void test_hostile_ack_head_pending(void **state)
{
	struct fx *f = *state;

	atomic_store(&raw_shm(f, 0)->ack.head, UINT32_MAX);
	assert_int_equal(fn_stream_pending(&f->a.tx), 0);
	assert_cut(&f->a.tx, FN_SC_BAD_RING);
}

static void test_hostile_ack_alloc_path(void **state)
{
	struct fx *f = *state;
	struct fn_pkt p[NSLOTS];

	send_frames(&f->a.tx, 0, NSLOTS);
	raw_push(f, 0, true, 5, 0);
	/* alloc reclaims when short of slots, and finds the bad ack. */
	assert_int_equal(fn_stream_alloc_burst(&f->a.tx, p, 1), -EPIPE);
	assert_cut(&f->a.tx, FN_SC_BAD_OFF);
}

static void test_hostile_tail_past_head(void **state)
{
	struct fx *f = *state;
	struct fn_ring_shm *r = &raw_shm(f, 0)->submit;

	send_frames(&f->a.tx, 0, NSLOTS);
	recv_frames(&f->b.rx, 0, NSLOTS);
	assert_int_equal(fn_stream_reclaim(&f->a.tx), NSLOTS);
	atomic_store(&r->tail, atomic_load(&r->head) + 1);
	struct fn_pkt p[1];
	assert_int_equal(fn_stream_alloc_burst(&f->a.tx, p, 1), 1);
	p[0].len = 1;
	assert_int_equal(fn_stream_submit_burst(&f->a.tx, p, 1), -EPIPE);
	assert_cut(&f->a.tx, FN_SC_BAD_RING);
}

static void test_hostile_tail_backwards(void **state)
{
	struct fx *f = *state;
	struct fn_ring_shm *r = &raw_shm(f, 0)->submit;
	struct fn_pkt p[NSLOTS];

	send_frames(&f->a.tx, 0, NSLOTS);
	recv_frames(&f->b.rx, 0, NSLOTS);
	assert_int_equal(fn_stream_reclaim(&f->a.tx), NSLOTS);
	send_frames(&f->a.tx, NSLOTS, 1);	/* source re-reads tail = 8 */
	recv_frames(&f->b.rx, NSLOTS, 1);
	assert_int_equal(fn_stream_reclaim(&f->a.tx), NSLOTS);
	atomic_store(&r->tail, 5);
	assert_int_equal(fn_stream_alloc_burst(&f->a.tx, p, NSLOTS), NSLOTS);
	for (unsigned i = 0; i < NSLOTS; i++)
		p[i].len = 1;
	assert_int_equal(fn_stream_submit_burst(&f->a.tx, p, NSLOTS), -EPIPE);
	assert_cut(&f->a.tx, FN_SC_BAD_RING);
}

/* A sink that acks slots it never took off SUBMIT, so the source reuses
 * them while their descriptors still fill SUBMIT: the source finds SUBMIT
 * full, which an honest sink can never cause. */
static void test_hostile_ack_without_recv(void **state)
{
	struct fx *f = *state;
	struct fn_pkt p[NSLOTS];

	send_frames(&f->a.tx, 0, NSLOTS);
	for (uint32_t s = 0; s < NSLOTS; s++)
		raw_push(f, 0, true, s * SLOT, 0);
	assert_int_equal(fn_stream_alloc_burst(&f->a.tx, p, 1), 1);
	p[0].len = 1;
	assert_int_equal(fn_stream_submit_burst(&f->a.tx, p, 1), -EPIPE);
	assert_cut(&f->a.tx, FN_SC_BAD_RING);
}

/* --- waiting -------------------------------------------------------------- */

static void test_wait_timeout(void **state)
{
	struct fx *f = *state;
	enum fn_poll modes[] = { FN_POLL_BUSY, FN_POLL_ADAPTIVE, FN_POLL_EVENT };

	for (unsigned m = 0; m < 3; m++) {
		f->b.rx.poll = modes[m];
		f->a.tx.poll = modes[m];
		int64_t t0 = fn_clock_ns();
		assert_int_equal(fn_stream_wait(&f->b.rx, 20000000), 0);
		assert_int_equal(fn_stream_wait(&f->a.tx, 20000000), 0);
		int64_t dt = fn_clock_ns() - t0;
		assert_true(dt >= 39000000);
		assert_true(dt < 2000000000);
	}
	assert_true(ctr(&f->b.rx, FN_SC_SLEEPS) >= 2);
	send_frames(&f->a.tx, 0, 1);
	for (unsigned m = 0; m < 3; m++) {
		f->b.rx.poll = modes[m];
		assert_int_equal(fn_stream_wait(&f->b.rx, -1), 1);
		assert_int_equal(fn_stream_wait(&f->b.rx, 0), 1);
	}
	recv_frames(&f->b.rx, 0, 1);
	for (unsigned m = 0; m < 3; m++) {
		f->a.tx.poll = modes[m];
		assert_int_equal(fn_stream_wait(&f->a.tx, 1000000000), 1);
	}
	assert_clean(&f->b.rx);
}

struct kicker {
	struct fn_endpoint *tx;
	_Atomic uint32_t *sleeping;
	int result;
};

/* Submit one frame once the sink sleeps (so that it must be woken). */
static void *kicker_main(void *arg)
{
	struct kicker *k = arg;
	struct fn_pkt p;

	while (!atomic_load(k->sleeping))
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	k->result = fn_stream_alloc_burst(k->tx, &p, 1);
	if (k->result == 1) {
		p.len = 3;
		k->result = fn_stream_submit_burst(k->tx, &p, 1);
	}
	return NULL;
}

static void test_wait_woken(void **state)
{
	struct fx *f = *state;
	struct kicker k = {
		.tx = &f->a.tx,
		.sleeping = &raw_shm(f, 0)->submit.sleeping,
	};
	pthread_t t;
	int r;

	f->b.rx.poll = FN_POLL_EVENT;
	assert_int_equal(pthread_create(&t, NULL, kicker_main, &k), 0);
	int64_t t0 = fn_clock_ns();
	/* wait() returns 0 at least every slice; a real caller loops too. */
	while ((r = fn_stream_wait(&f->b.rx, 5000000000)) == 0 &&
	       fn_clock_ns() - t0 < 5000000000)
		;
	int64_t dt = fn_clock_ns() - t0;
	pthread_join(t, NULL);
	assert_int_equal(k.result, 1);
	assert_int_equal(r, 1);
	assert_true(dt < 1000000000);
	assert_int_equal(ctr(&f->a.tx, FN_SC_WAKEUPS), 1);
	assert_true(ctr(&f->b.rx, FN_SC_SLEEPS) >= 1);
	assert_int_equal(fn_stream_pending(&f->b.rx), 1);
}

/* The source, waiting for acks, is woken by the sink's ack. */
struct acker {
	struct fn_endpoint *rx;
	_Atomic uint32_t *sleeping;
	int result;
};

static void *acker_main(void *arg)
{
	struct acker *k = arg;
	struct fn_pkt p;

	while (!atomic_load(k->sleeping))
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	k->result = fn_stream_recv_burst(k->rx, &p, 1);
	if (k->result == 1)
		k->result = fn_stream_ack_burst(k->rx, &p, 1);
	return NULL;
}

static void test_wait_ack_woken(void **state)
{
	struct fx *f = *state;
	struct acker k = {
		.rx = &f->b.rx,
		.sleeping = &raw_shm(f, 0)->ack.sleeping,
	};
	pthread_t t;
	int r;

	send_frames(&f->a.tx, 0, 1);
	f->a.tx.poll = FN_POLL_ADAPTIVE;
	assert_int_equal(pthread_create(&t, NULL, acker_main, &k), 0);
	int64_t t0 = fn_clock_ns();
	while ((r = fn_stream_wait(&f->a.tx, 5000000000)) == 0 &&
	       fn_clock_ns() - t0 < 5000000000)
		;
	pthread_join(t, NULL);
	assert_int_equal(k.result, 1);
	assert_int_equal(r, 1);
	assert_int_equal(ctr(&f->b.rx, FN_SC_WAKEUPS), 1);
	assert_int_equal(fn_stream_reclaim(&f->a.tx), NSLOTS);
}

/* Spinning honours short timeouts: the clock is read often enough (it was
 * read only every 4096 polls, ~100 us, five times FN_ADAPTIVE_SPIN_NS). */
static void test_wait_spin_granularity(void **state)
{
	struct fx *f = *state;
	int64_t best = INT64_MAX;

	f->b.rx.poll = FN_POLL_BUSY;
	for (int i = 0; i < 20; i++) {
		int64_t t0 = fn_clock_ns();
		assert_int_equal(fn_stream_wait(&f->b.rx, 2000), 0);
		int64_t dt = fn_clock_ns() - t0;
		assert_true(dt >= 2000);
		if (dt < best)
			best = dt;
	}
	assert_true(best < 50000);
	/* Timeout 0 is a poll. */
	for (int i = 0; i < 20; i++) {
		int64_t t0 = fn_clock_ns();
		assert_int_equal(fn_stream_wait(&f->b.rx, 0), 0);
		int64_t dt = fn_clock_ns() - t0;
		if (dt < best)
			best = dt;
	}
	assert_true(best < 20000);
}

struct late_sender {
	struct fn_endpoint *tx;
	int result;
};

static void *late_sender_main(void *arg)
{
	struct late_sender *k = arg;
	struct fn_pkt p;

	nanosleep(&(struct timespec){ 0, 30000000 }, NULL);
	k->result = fn_stream_alloc_burst(k->tx, &p, 1);
	if (k->result == 1) {
		p.len = 3;
		k->result = fn_stream_submit_burst(k->tx, &p, 1);
	}
	return NULL;
}

/* A huge timeout is "forever", not an overflow into the past. */
static void test_wait_huge_timeout(void **state)
{
	struct fx *f = *state;
	struct late_sender k = { .tx = &f->a.tx };
	pthread_t t;

	f->b.rx.poll = FN_POLL_BUSY;
	assert_int_equal(pthread_create(&t, NULL, late_sender_main, &k), 0);
	int64_t t0 = fn_clock_ns();
	int r = fn_stream_wait(&f->b.rx, INT64_MAX);
	int64_t dt = fn_clock_ns() - t0;
	pthread_join(t, NULL);
	assert_int_equal(k.result, 1);
	assert_int_equal(r, 1);
	assert_true(dt >= 20000000);
}

/* Bursts longer than the internal copy batch (64), on a bigger link. */
static void test_big_bursts(void **state)
{
	enum { N = 256 };
	struct fn_link a, b;
	struct fn_pkt p[N], q[N];
	int fd = fn_link_create("big", N, 64);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(fn_link_attach(&a, fd, FN_LINK_A, FN_POLL_BUSY), 0);
	assert_int_equal(fn_link_attach(&b, fd, FN_LINK_B, FN_POLL_BUSY), 0);
	close(fd);	/* the mappings keep the memfd alive */
	for (int round = 0; round < 3; round++) {
		assert_int_equal(fn_stream_alloc_burst(&b.tx, p, N), N);
		for (int i = 0; i < N; i++) {
			p[i].len = (uint32_t)(i % 65);
			memset(p[i].data, i + round, p[i].len);
		}
		assert_int_equal(fn_stream_submit_burst(&b.tx, p, N), N);
		int got = 0;
		while (got < N) {
			int k = fn_stream_recv_burst(&a.rx, q + got, N - got);
			assert_true(k > 0 && k <= 64);
			got += k;
		}
		for (int i = 0; i < N; i++) {
			assert_int_equal(q[i].len, i % 65);
			if (q[i].len)
				assert_int_equal(q[i].data[q[i].len - 1],
						 (uint8_t)(i + round));
		}
		assert_int_equal(fn_stream_ack_burst(&a.rx, q, N), N);
		assert_int_equal(fn_stream_reclaim(&b.tx), N);
	}
	assert_int_equal(ctr(&b.tx, FN_SC_PKTS), 3 * N);
	assert_int_equal(ctr(&a.rx, FN_SC_PKTS), 3 * N);
	assert_clean(&b.tx);
	assert_clean(&a.rx);
	fn_link_detach(&a);
	fn_link_detach(&b);
}

/* --- counters, names ------------------------------------------------------ */

static void test_bind_counters(void **state)
{
	struct fx *f = *state;
	_Atomic uint64_t block[FN_SC_COUNT];

	send_frames(&f->a.tx, 0, 3);
	memset(block, 0xff, sizeof(block));
	fn_stream_bind_counters(&f->a.tx, block);
	assert_int_equal(fn_ctr_get(&block[FN_SC_PKTS]), 3);
	assert_int_equal(fn_ctr_get(&block[FN_SC_NOSLOT]), 0);
	send_frames(&f->a.tx, 3, 2);
	assert_int_equal(fn_ctr_get(&block[FN_SC_PKTS]), 5);
	assert_int_equal(fn_ctr_get(&block[FN_SC_BURSTS]), 2);
	/* A full stats page gives a NULL block: binding it changes nothing. */
	fn_stream_bind_counters(&f->a.tx, NULL);
	assert_true(f->a.tx.ctr == block);
	/* Unbind before the block goes out of scope. */
	fn_stream_bind_counters(&f->a.tx, f->a.tx.own_ctr);
	assert_int_equal(ctr(&f->a.tx, FN_SC_PKTS), 5);
	for (int i = 0; i < FN_SC_COUNT; i++) {
		assert_non_null(fn_stream_ctr_names[i]);
		assert_true(strlen(fn_stream_ctr_names[i]) > 0);
	}
}

struct ctr_seen {
	unsigned n;
	char name[FN_SC_COUNT][FN_STATS_NAME_MAX];
	uint64_t value[FN_SC_COUNT];
};

static void ctr_visit(void *arg, const char *name, uint64_t value)
{
	struct ctr_seen *s = arg;

	if (s->n < FN_SC_COUNT) {
		snprintf(s->name[s->n], FN_STATS_NAME_MAX, "%s", name);
		s->value[s->n] = value;
	}
	s->n++;
}

/* The way components publish link counters: a stats page block. */
static void test_counters_on_stats_page(void **state)
{
	struct fx *f = *state;
	struct ctr_seen seen = { 0 };
	int sfd = fn_stats_create("t", 0, 4096);

	assert_true(sfd >= 0);
	struct fn_stats_page *page = fn_stats_attach(sfd);
	assert_non_null(page);
	send_frames(&f->a.tx, 0, 2);
	fn_stream_bind_counters(&f->a.tx, fn_stats_block(page, "tx",
				fn_stream_ctr_names, FN_SC_COUNT));
	send_frames(&f->a.tx, 2, 3);
	struct fn_pkt p[NSLOTS];
	assert_int_equal(fn_stream_alloc_burst(&f->a.tx, p, NSLOTS), 3);
	assert_int_equal(fn_stats_read(page, 4096, ctr_visit, &seen),
			 FN_SC_COUNT);
	for (int i = 0; i < FN_SC_COUNT; i++) {
		char want[FN_STATS_NAME_MAX];
		snprintf(want, sizeof(want), "tx.%s", fn_stream_ctr_names[i]);
		assert_string_equal(seen.name[i], want);
		assert_int_equal(seen.value[i], ctr(&f->a.tx, i));
	}
	assert_int_equal(seen.value[FN_SC_PKTS], 5);
	assert_int_equal(seen.value[FN_SC_BURSTS], 2);
	assert_int_equal(seen.value[FN_SC_NOSLOT], 1);
	fn_stream_bind_counters(&f->a.tx, f->a.tx.own_ctr);
	fn_stats_unmap(page, 4096);
	close(sfd);
}

static void test_poll_names(void **state)
{
	enum fn_poll p;

	(void)state;
	assert_string_equal(fn_poll_name(FN_POLL_BUSY), "busy");
	assert_string_equal(fn_poll_name(FN_POLL_ADAPTIVE), "adaptive");
	assert_string_equal(fn_poll_name(FN_POLL_EVENT), "event");
	assert_string_equal(fn_poll_name((enum fn_poll)7), "?");
	assert_int_equal(fn_poll_parse("adaptive", &p), 0);
	assert_int_equal(p, FN_POLL_ADAPTIVE);
	assert_int_equal(fn_poll_parse("event", &p), 0);
	assert_int_equal(p, FN_POLL_EVENT);
	assert_int_equal(fn_poll_parse("busy", &p), 0);
	assert_int_equal(p, FN_POLL_BUSY);
	assert_int_equal(fn_poll_parse("Busy", &p), -EINVAL);
	assert_int_equal(fn_poll_parse("", &p), -EINVAL);
	assert_int_equal(fn_poll_parse(NULL, &p), -EINVAL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

/* --- link reset (stream.h, RESET) ----------------------------------------- */

/* One frame from a to b and its ack back; checks the content. */
static void round_trip(struct fn_link *src, struct fn_link *dst, uint8_t v)
{
	struct fn_pkt p, q;

	assert_int_equal(fn_stream_alloc_burst(&src->tx, &p, 1), 1);
	memset(p.data, v, 16);
	p.len = 16;
	assert_int_equal(fn_stream_submit_burst(&src->tx, &p, 1), 1);
	assert_int_equal(fn_stream_recv_burst(&dst->rx, &q, 1), 1);
	assert_int_equal(q.len, 16);
	assert_int_equal(q.data[15], v);
	assert_int_equal(fn_stream_ack_burst(&dst->rx, &q, 1), 1);
}

/* Leave slots everywhere: submitted, held by b, allocated by a. */
static void leave_slots_in_flight(struct fx *f, struct fn_pkt *held)
{
	struct fn_pkt p[3];

	assert_int_equal(fn_stream_alloc_burst(&f->a.tx, p, 3), 3);
	p[0].len = p[1].len = 8;
	assert_int_equal(fn_stream_submit_burst(&f->a.tx, p, 2), 2);
	assert_int_equal(fn_stream_recv_burst(&f->b.rx, held, 1), 1);
}

/* b dies with slots in flight; a survives; b restarts and attaches. */
static void test_reset_survivor_first(void **state)
{
	struct fx *f = *state;
	struct fn_pkt held, p[NSLOTS];

	leave_slots_in_flight(f, &held);
	fn_link_detach(&f->b);			/* b "dies" */
	assert_int_equal(fn_link_reset(f->fd), 0);
	/* The survivor hears of it once per link, then waits for b. */
	assert_int_equal(fn_stream_alloc_burst(&f->a.tx, p, 1), -ECONNRESET);
	assert_int_equal(fn_stream_recv_burst(&f->a.rx, p, 1), 0);
	assert_int_equal(fn_stream_alloc_burst(&f->a.tx, p, 1), 0);
	assert_int_equal(fn_stream_submit_burst(&f->a.tx, p, 0), -EAGAIN);
	assert_false(fn_link_peer_ready(&f->a));
	assert_int_equal(fn_link_attach(&f->b, f->fd, FN_LINK_B,
					FN_POLL_EVENT), 0);
	assert_true(fn_link_peer_ready(&f->a));
	/* Every slot is the source's again, in both directions. */
	assert_int_equal(fn_stream_alloc_burst(&f->a.tx, p, NSLOTS), NSLOTS);
	fn_stream_release(&f->a.tx, p, NSLOTS);
	assert_int_equal(fn_stream_alloc_burst(&f->b.tx, p, NSLOTS), NSLOTS);
	fn_stream_release(&f->b.tx, p, NSLOTS);
	round_trip(&f->a, &f->b, 0x5a);
	round_trip(&f->b, &f->a, 0xa5);
	for (int i = 0; i < FN_SC_COUNT; i++)
		if (i >= FN_SC_BAD_RING && i <= FN_SC_BAD_OWNER)
			assert_int_equal(ctr(&f->a.tx, i) + ctr(&f->a.rx, i), 0);
}

/* b restarts and attaches before the survivor a has noticed the reset. */
static void test_reset_attacher_first(void **state)
{
	struct fx *f = *state;
	struct fn_pkt held, p[NSLOTS];

	leave_slots_in_flight(f, &held);
	fn_link_detach(&f->b);
	assert_int_equal(fn_link_reset(f->fd), 0);
	assert_int_equal(fn_link_attach(&f->b, f->fd, FN_LINK_B,
					FN_POLL_EVENT), 0);
	assert_false(fn_link_peer_ready(&f->b));
	assert_int_equal(fn_stream_recv_burst(&f->b.rx, p, 1), 0);
	assert_int_equal(fn_stream_wait(&f->b.rx, 0), 0);
	/* Stale pkts of a are void: -ECONNRESET first (for the whole link),
	 * then -EINVAL. */
	assert_int_equal(fn_stream_ack_burst(&f->a.rx, &held, 1), -ECONNRESET);
	assert_int_equal(fn_stream_ack_burst(&f->a.rx, &held, 1), -EINVAL);
	assert_int_equal(fn_stream_submit_burst(&f->a.tx, p, 0), 0);
	assert_true(fn_link_peer_ready(&f->b));
	round_trip(&f->a, &f->b, 1);
	round_trip(&f->b, &f->a, 2);
	assert_int_equal(fn_stream_alloc_burst(&f->a.tx, p, NSLOTS), NSLOTS);
	fn_stream_release(&f->a.tx, p, NSLOTS);
}

/*
 * The survivor was inside a call when its peer died, and its enqueue lands
 * after the restarted peer attached: the stale index must not survive into
 * the new epoch (the restarted sink would take phantom frames, ack them,
 * and the source would cut the link off for acks of free slots).
 */
static void test_reset_stale_write_from_survivor(void **state)
{
	struct fx *f = *state;
	struct fn_pkt held, p[NSLOTS];
	struct fn_desc d[4];

	leave_slots_in_flight(f, &held);
	fn_link_detach(&f->b);
	assert_int_equal(fn_link_reset(f->fd), 0);
	assert_int_equal(fn_link_attach(&f->b, f->fd, FN_LINK_B,
					FN_POLL_EVENT), 0);
	/* a's submit, past its gate before the reset, finishes now. */
	for (unsigned i = 0; i < 4; i++)
		d[i] = (struct fn_desc){ (i + 4) * SLOT, 8 };
	assert_int_equal(fn_ring_enqueue_burst(&f->a.tx.data, d, 4), 4);
	assert_int_equal(fn_stream_recv_burst(&f->b.rx, p, NSLOTS), 0);
	assert_int_equal(fn_stream_alloc_burst(&f->a.tx, p, 1), -ECONNRESET);
	assert_int_equal(fn_stream_recv_burst(&f->b.rx, p, NSLOTS), 0);
	round_trip(&f->a, &f->b, 9);
	round_trip(&f->b, &f->a, 10);
	assert_int_equal(fn_stream_alloc_burst(&f->a.tx, p, NSLOTS), NSLOTS);
	fn_stream_release(&f->a.tx, p, NSLOTS);
	for (int i = FN_SC_BAD_RING; i <= FN_SC_BAD_OWNER; i++) {
		assert_int_equal(ctr(&f->a.tx, i) + ctr(&f->a.rx, i), 0);
		assert_int_equal(ctr(&f->b.tx, i) + ctr(&f->b.rx, i), 0);
	}
}

/* A new process takes side A over from one that ended with slots in
 * flight, with no supervisor reset (stream.h RESET, TAKEN): it starts the
 * next epoch itself; b hears -ECONNRESET once, and both go on as after a
 * restart, with no violation counted. */
static void test_take_after_holder_left(void **state)
{
	struct fx *f = *state;
	struct fn_pkt held, p[NSLOTS];
	uint32_t e0 = atomic_load(&f->a.ctl->epoch);

	leave_slots_in_flight(f, &held);
	fn_link_detach(&f->a);			/* a's process ends */
	assert_int_equal(fn_link_take(&f->a, f->fd, FN_LINK_A,
				      FN_POLL_EVENT), 0);
	assert_int_equal(atomic_load(&f->a.ctl->epoch), e0 + 1);
	assert_false(fn_link_peer_ready(&f->a));
	assert_int_equal(fn_stream_ack_burst(&f->b.rx, &held, 1), -ECONNRESET);
	assert_int_equal(fn_stream_ack_burst(&f->b.rx, &held, 1), -EINVAL);
	assert_true(fn_link_peer_ready(&f->a));
	assert_int_equal(fn_stream_alloc_burst(&f->a.tx, p, NSLOTS), NSLOTS);
	fn_stream_release(&f->a.tx, p, NSLOTS);
	round_trip(&f->a, &f->b, 11);
	round_trip(&f->b, &f->a, 12);
	for (int i = FN_SC_BAD_RING; i <= FN_SC_BAD_OWNER; i++) {
		assert_int_equal(ctr(&f->a.tx, i) + ctr(&f->a.rx, i), 0);
		assert_int_equal(ctr(&f->b.tx, i) + ctr(&f->b.rx, i), 0);
	}
}

/* After the supervisor's reset nobody holds side A in the new epoch: a
 * take then is a plain attach, and starts no second epoch. */
static void test_take_after_reset(void **state)
{
	struct fx *f = *state;
	struct fn_pkt p;
	uint32_t e0 = atomic_load(&f->a.ctl->epoch);

	fn_link_detach(&f->a);
	assert_int_equal(fn_link_reset(f->fd), 0);
	assert_int_equal(fn_link_take(&f->a, f->fd, FN_LINK_A,
				      FN_POLL_EVENT), 0);
	assert_int_equal(atomic_load(&f->a.ctl->epoch), e0 + 1);
	assert_int_equal(fn_stream_recv_burst(&f->b.rx, &p, 1), -ECONNRESET);
	round_trip(&f->a, &f->b, 13);
	assert_int_equal(atomic_load(&f->a.ctl->epoch), e0 + 1);
}

/* A peer that was cut off is forgiven by a reset (it was restarted). */
static void test_reset_clears_broken(void **state)
{
	struct fx *f = *state;
	struct fn_pkt p;

	raw_push(f, 0, false, 3, 8);		/* misaligned offset */
	assert_int_equal(fn_stream_recv_burst(&f->b.rx, &p, 1), -EPIPE);
	assert_true(f->b.rx.broken);
	fn_link_detach(&f->a);
	assert_int_equal(fn_link_reset(f->fd), 0);
	assert_int_equal(fn_link_attach(&f->a, f->fd, FN_LINK_A,
					FN_POLL_EVENT), 0);
	assert_int_equal(fn_stream_recv_burst(&f->b.rx, &p, 1), -ECONNRESET);
	assert_false(f->b.rx.broken);
	round_trip(&f->a, &f->b, 3);
	assert_int_equal(ctr(&f->b.rx, FN_SC_BAD_OFF), 1);	/* kept */
}

/* A side that attached alone waits for its peer; nothing flows before. */
static void test_reset_fresh_link_waits_for_peer(void **state)
{
	(void)state;
	struct fn_link a, b;
	struct fn_pkt p;
	int fd = fn_link_create("lonely", NSLOTS, SLOT);

	assert_true(fd >= 0);
	assert_int_equal(fn_link_attach(&a, fd, FN_LINK_A, FN_POLL_EVENT), 0);
	assert_false(fn_link_peer_ready(&a));
	assert_int_equal(fn_stream_alloc_burst(&a.tx, &p, 1), 0);
	assert_int_equal(fn_stream_wait(&a.rx, 2000000), 0);
	assert_int_equal(fn_link_attach(&b, fd, FN_LINK_B, FN_POLL_EVENT), 0);
	assert_true(fn_link_peer_ready(&b));
	round_trip(&a, &b, 7);
	fn_link_detach(&a);
	fn_link_detach(&b);
	close(fd);
}

struct waiter {
	struct fn_endpoint *e;
	int ret;
	int64_t took_ns;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;
	int64_t t0 = fn_clock_ns();

	do {
		w->ret = fn_stream_wait(w->e, 5000000000ll);
	} while (w->ret == 0 && fn_clock_ns() - t0 < 5000000000ll);
	w->took_ns = fn_clock_ns() - t0;
	return NULL;
}

/* A survivor asleep on its futex is woken by the reset, not by a timeout. */
static void test_reset_wakes_sleeper(void **state)
{
	struct fx *f = *state;
	struct waiter w = { .e = &f->b.rx };
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, wait_thread, &w), 0);
	struct timespec ts = { 0, 20000000 };
	nanosleep(&ts, NULL);
	assert_int_equal(fn_link_reset(f->fd), 0);
	pthread_join(t, NULL);
	assert_int_equal(w.ret, -ECONNRESET);
	assert_true(w.took_ns < 1000000000ll);
}

static void test_reset_rejects_garbage(void **state)
{
	struct fx *f = *state;
	int fd = memfd_create("not-a-link", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 65536), 0);
	assert_int_equal(fn_link_reset(fd), -EBADMSG);
	close(fd);
	(void)f;
}

/* --- doorbells (ring.h, DOORBELLS) ----------------------------------------- */

static uint64_t bell_count(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return 0;
	return v;
}

/* The producer rings the sink's eventfd only while the sink is armed. */
static void test_bell_only_when_armed(void **state)
{
	struct fx *f = *state;
	struct fn_pkt p;
	int bell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	assert_true(bell >= 0);
	fn_stream_set_bell(&f->a.tx, bell);
	round_trip(&f->a, &f->b, 1);			/* not armed */
	assert_int_equal(bell_count(bell), 0);
	assert_int_equal(fn_stream_arm(&f->b.rx), 1);	/* armed: may block */
	assert_int_equal(fn_stream_alloc_burst(&f->a.tx, &p, 1), 1);
	p.len = 20;
	assert_int_equal(fn_stream_submit_burst(&f->a.tx, &p, 1), 1);
	assert_int_equal(bell_count(bell), 1);
	fn_stream_disarm(&f->b.rx);
	/* Work already there: arming says do not block, and nothing rings. */
	assert_int_equal(fn_stream_arm(&f->b.rx), 0);
	assert_int_equal(fn_stream_recv_burst(&f->b.rx, &p, 1), 1);
	assert_int_equal(fn_stream_ack_burst(&f->b.rx, &p, 1), 1);
	assert_int_equal(bell_count(bell), 0);
	close(bell);
}

/* Acks ring the source's doorbell the same way. */
static void test_bell_for_acks(void **state)
{
	struct fx *f = *state;
	struct fn_pkt p;
	int bell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	assert_true(bell >= 0);
	fn_stream_set_bell(&f->b.rx, bell);
	assert_int_equal(fn_stream_alloc_burst(&f->a.tx, &p, 1), 1);
	p.len = 8;
	assert_int_equal(fn_stream_submit_burst(&f->a.tx, &p, 1), 1);
	assert_int_equal(fn_stream_arm(&f->a.tx), 1);	/* waits for acks */
	assert_int_equal(fn_stream_recv_burst(&f->b.rx, &p, 1), 1);
	assert_int_equal(fn_stream_ack_burst(&f->b.rx, &p, 1), 1);
	assert_int_equal(bell_count(bell), 1);
	fn_stream_disarm(&f->a.tx);
	assert_int_equal(fn_stream_reclaim(&f->a.tx), NSLOTS);
	close(bell);
}

/* A link reset rings the doorbells the joiner knows. */
static void test_bell_on_reset(void **state)
{
	struct fx *f = *state;
	struct fn_pkt p;
	int bell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	assert_true(bell >= 0);
	fn_stream_set_bell(&f->a.tx, bell);
	fn_link_detach(&f->b);
	assert_int_equal(fn_link_reset(f->fd), 0);
	assert_int_equal(fn_stream_alloc_burst(&f->a.tx, &p, 1), -ECONNRESET);
	assert_true(bell_count(bell) >= 1);
	assert_int_equal(fn_link_attach(&f->b, f->fd, FN_LINK_B,
					FN_POLL_EVENT), 0);
	close(bell);
}

/* fn_link_set_bell: both endpoints ring it, and it rings once at once
 * (a peer asleep since our join must look again). */
static void test_link_set_bell(void **state)
{
	struct fx *f = *state;
	struct fn_pkt p;
	int bell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	assert_true(bell >= 0);
	fn_link_set_bell(&f->b, bell);
	assert_int_equal(bell_count(bell), 1);
	assert_int_equal(f->b.tx.bell_fd, bell);
	assert_int_equal(f->b.rx.bell_fd, bell);
	assert_int_equal(fn_stream_arm(&f->a.rx), 1);	/* A sleeps on it */
	assert_int_equal(fn_stream_alloc_burst(&f->b.tx, &p, 1), 1);
	p.len = 20;
	assert_int_equal(fn_stream_submit_burst(&f->b.tx, &p, 1), 1);
	assert_int_equal(bell_count(bell), 1);
	fn_stream_disarm(&f->a.rx);
	fn_link_set_bell(&f->b, -1);			/* back to futexes */
	assert_int_equal(bell_count(bell), 0);
	close(bell);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_geometry),
		T(test_create),
		T(test_attach_sides),
		T(test_attach_rejects),
		T(test_attach_rejects_unsealed),
		T(test_round_trip),
		T(test_many_rounds),
		T(test_attach_late),
		T(test_slot_exhaustion),
		T(test_release),
		T(test_misuse_submit),
		T(test_misuse_ack),
		T(test_hostile_off_unaligned),
		T(test_hostile_off_unaligned2),
		T(test_hostile_off_beyond),
		T(test_hostile_off_huge),
		T(test_hostile_off_huge_aligned),
		T(test_hostile_len),
		T(test_hostile_len_huge),
		T(test_hostile_off_and_len),
		T(test_hostile_dup_held),
		T(test_hostile_dup_in_burst),
		T(test_hostile_good_then_bad),
		T(test_hostile_head_jump),
		T(test_hostile_head_jump_recv),
		T(test_hostile_head_backwards),
		T(test_hostile_wait),
		T(test_hostile_ack_free_slot),
		T(test_hostile_ack_alloc_slot),
		T(test_hostile_ack_in_ring),
		T(test_hostile_double_ack),
		T(test_hostile_double_ack_same_burst),
		T(test_hostile_ack_unaligned),
		T(test_hostile_ack_beyond),
		T(test_hostile_ack_huge),
		T(test_hostile_ack_head_jump),
		T(test_hostile_ack_head_pending),
		T(test_hostile_ack_alloc_path),
		T(test_hostile_tail_past_head),
		T(test_hostile_tail_backwards),
		T(test_hostile_ack_without_recv),
		T(test_wait_timeout),
		T(test_wait_woken),
		T(test_wait_ack_woken),
		T(test_wait_spin_granularity),
		T(test_wait_huge_timeout),
		T(test_big_bursts),
		T(test_bind_counters),
		T(test_counters_on_stats_page),
		T(test_poll_names),
		T(test_reset_survivor_first),
		T(test_reset_attacher_first),
		T(test_reset_stale_write_from_survivor),
		T(test_reset_clears_broken),
		T(test_take_after_holder_left),
		T(test_take_after_reset),
		T(test_reset_fresh_link_waits_for_peer),
		T(test_reset_wakes_sleeper),
		T(test_reset_rejects_garbage),
		T(test_bell_only_when_armed),
		T(test_bell_for_acks),
		T(test_bell_on_reset),
		T(test_link_set_bell),
	};

	return cmocka_run_group_tests_name("stream", tests, NULL, NULL);
}
