/*
 * test_ring.c - unit tests of the SPSC descriptor ring (fragnet/ring.h).
 *
 * Both ends live in this process on one fn_ring_shm, as they would on a
 * shared mapping.  A test that plays a hostile peer writes the peer's index
 * straight into the shared header, as a broken process could.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fragnet/clock.h"
#include "fragnet/idle.h"
#include "fragnet/ring.h"

#define SIZE 8u

struct fixture {
	struct fn_ring_shm *shm;
	struct fn_desc *ent;
	struct fn_ring prod;
	struct fn_ring cons;
};

/* A fresh shared header and entry array; head and tail start at `start`. */
static struct fixture *fixture_new(uint32_t size, uint32_t start)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->shm = aligned_alloc(FN_CACHE_LINE, sizeof(*f->shm));
	assert_non_null(f->shm);
	memset(f->shm, 0, sizeof(*f->shm));
	f->ent = calloc(size, sizeof(*f->ent));
	assert_non_null(f->ent);
	atomic_store(&f->shm->head, start);
	atomic_store(&f->shm->tail, start);
	assert_int_equal(fn_ring_init(&f->prod, f->shm, f->ent, size, true), 0);
	assert_int_equal(fn_ring_init(&f->cons, f->shm, f->ent, size, false), 0);
	assert_false(f->prod.broken);
	assert_false(f->cons.broken);
	return f;
}

static int setup(void **state)
{
	*state = fixture_new(SIZE, 0);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(f->ent);
	free(f->shm);
	free(f);
	return 0;
}

static struct fn_desc desc(uint32_t i)
{
	return (struct fn_desc){ .off = i, .len = ~i };
}

/* Enqueue n descriptors numbered from *seq; returns how many went in. */
static int put(struct fn_ring *r, uint32_t *seq, unsigned n)
{
	struct fn_desc d[64];

	assert_true(n <= 64);
	for (unsigned i = 0; i < n; i++)
		d[i] = desc(*seq + i);
	int k = fn_ring_enqueue_burst(r, d, n);
	if (k > 0)
		*seq += (uint32_t)k;
	return k;
}

/* Dequeue up to n and check they continue the sequence at *seq. */
static int get(struct fn_ring *r, uint32_t *seq, unsigned n)
{
	struct fn_desc d[64];

	assert_true(n <= 64);
	int k = fn_ring_dequeue_burst(r, d, n);
	for (int i = 0; i < k; i++) {
		assert_int_equal(d[i].off, *seq);
		assert_int_equal(d[i].len, ~*seq);
		(*seq)++;
	}
	return k;
}

static void test_init_rejects_bad_size(void **state)
{
	struct fixture *f = *state;
	struct fn_ring r;

	assert_int_equal(fn_ring_init(&r, f->shm, f->ent, 0, true), -EINVAL);
	assert_int_equal(fn_ring_init(&r, f->shm, f->ent, 3, false), -EINVAL);
	assert_int_equal(fn_ring_init(&r, f->shm, f->ent, 12, true), -EINVAL);
	assert_int_equal(fn_ring_init(&r, f->shm, f->ent, 1, true), 0);
	assert_int_equal(fn_ring_ent_bytes(1024), 1024 * sizeof(struct fn_desc));
	assert_int_equal(sizeof(struct fn_desc), 8);
}

static void test_layout(void **state)
{
	(void)state;
	/* The indices must sit on separate cache lines. */
	assert_int_equal(offsetof(struct fn_ring_shm, head), 0);
	assert_int_equal(offsetof(struct fn_ring_shm, tail), FN_CACHE_LINE);
	assert_int_equal(offsetof(struct fn_ring_shm, sleeping),
			 2 * FN_CACHE_LINE);
}

static void test_empty_full(void **state)
{
	struct fixture *f = *state;
	uint32_t in = 0, out = 0;
	struct fn_desc d[1];

	assert_int_equal(fn_ring_count(&f->cons), 0);
	assert_int_equal(fn_ring_dequeue_burst(&f->cons, d, 1), 0);
	assert_int_equal(fn_ring_free(&f->prod), SIZE);
	assert_int_equal(put(&f->prod, &in, SIZE), SIZE);
	assert_int_equal(fn_ring_free(&f->prod), 0);
	assert_int_equal(fn_ring_count(&f->cons), SIZE);
	assert_int_equal(put(&f->prod, &in, 1), 0);	/* full */
	assert_int_equal(get(&f->cons, &out, SIZE), SIZE);
	assert_int_equal(fn_ring_count(&f->cons), 0);
	assert_int_equal(get(&f->cons, &out, 1), 0);	/* empty */
	assert_int_equal(fn_ring_free(&f->prod), SIZE);
	assert_int_equal(atomic_load(&f->shm->head), SIZE);
	assert_int_equal(atomic_load(&f->shm->tail), SIZE);
	/* Zero-length bursts are no-ops. */
	assert_int_equal(fn_ring_enqueue_burst(&f->prod, d, 0), 0);
	assert_int_equal(fn_ring_dequeue_burst(&f->cons, d, 0), 0);
	assert_false(f->prod.broken || f->cons.broken);
}

static void test_partial_bursts(void **state)
{
	struct fixture *f = *state;
	uint32_t in = 0, out = 0;

	assert_int_equal(put(&f->prod, &in, 10), SIZE);	/* more than room */
	assert_int_equal(get(&f->cons, &out, 5), 5);
	assert_int_equal(put(&f->prod, &in, 10), 5);
	assert_int_equal(fn_ring_count(&f->cons), SIZE);
	assert_int_equal(get(&f->cons, &out, 20), SIZE);	/* more than there */
	assert_int_equal(put(&f->prod, &in, 3), 3);
	assert_int_equal(get(&f->cons, &out, 64), 3);
	assert_int_equal(in, out);
	assert_int_equal(in, 16);
}

/* Free-running indices crossing 2^32, with bursts of every size. */
static void test_wraparound(void **state)
{
	struct fixture *f = fixture_new(SIZE, UINT32_MAX - 5);
	uint32_t in = 0, out = 0;

	(void)state;
	for (unsigned round = 0; round < 200; round++) {
		unsigned n = round % (SIZE + 3);
		unsigned room = fn_ring_free(&f->prod);
		int k = put(&f->prod, &in, n);
		assert_int_equal(k, n < room ? n : room);
		assert_int_equal(fn_ring_count(&f->cons), in - out);
		get(&f->cons, &out, (round * 7) % (SIZE + 2));
	}
	get(&f->cons, &out, 64);
	assert_int_equal(in, out);
	/* The counters really did wrap. */
	assert_true(atomic_load(&f->shm->head) < 1000);
	assert_int_equal(atomic_load(&f->shm->head), (uint32_t)(UINT32_MAX - 5 + in));
	assert_false(f->prod.broken || f->cons.broken);
	void *p = f;
	teardown(&p);
}

/* A ring handed over with impossible indices is broken from the start. */
static void test_init_broken(void **state)
{
	struct fixture *f = *state;
	struct fn_ring r;
	struct fn_desc d[1] = { { 0, 0 } };

	atomic_store(&f->shm->head, 100);
	atomic_store(&f->shm->tail, 100 - SIZE - 1);
	assert_int_equal(fn_ring_init(&r, f->shm, f->ent, SIZE, false), 0);
	assert_true(r.broken);
	assert_int_equal(fn_ring_dequeue_burst(&r, d, 1), -EPIPE);
	assert_int_equal(fn_ring_init(&r, f->shm, f->ent, SIZE, true), 0);
	assert_true(r.broken);
	assert_int_equal(fn_ring_enqueue_burst(&r, d, 1), -EPIPE);
	/* Exactly full is fine. */
	atomic_store(&f->shm->tail, 100 - SIZE);
	assert_int_equal(fn_ring_init(&r, f->shm, f->ent, SIZE, false), 0);
	assert_false(r.broken);
	assert_int_equal(fn_ring_count(&r), SIZE);
}

static void assert_cons_broken(struct fixture *f)
{
	struct fn_desc d[SIZE];

	assert_true(f->cons.broken);
	assert_int_equal(fn_ring_dequeue_burst(&f->cons, d, 1), -EPIPE);
	assert_int_equal(fn_ring_count(&f->cons), 0);
	assert_int_equal(fn_ring_sleep(&f->cons, 1000000000), 0);
}

static void test_hostile_head_too_far(void **state)
{
	struct fixture *f = *state;
	uint32_t in = 0, out = 0;
	struct fn_desc d[SIZE];
	uint32_t tail_before;

	assert_int_equal(put(&f->prod, &in, 3), 3);
	assert_int_equal(get(&f->cons, &out, 1), 1);
	tail_before = atomic_load(&f->shm->tail);
	/* Head more than SIZE past our tail. */
	atomic_store(&f->shm->head, out + SIZE + 1);
	assert_int_equal(fn_ring_dequeue_burst(&f->cons, d, SIZE), -EPIPE);
	assert_cons_broken(f);
	/* Nothing was consumed after the breach. */
	assert_int_equal(atomic_load(&f->shm->tail), tail_before);
}

static void test_hostile_head_far_via_count(void **state)
{
	struct fixture *f = *state;

	atomic_store(&f->shm->head, 0x80000000u);
	assert_int_equal(fn_ring_count(&f->cons), 0);
	assert_cons_broken(f);
}

static void test_hostile_head_backwards(void **state)
{
	struct fixture *f = *state;
	uint32_t in = 0, out = 0;
	struct fn_desc d[SIZE];

	assert_int_equal(put(&f->prod, &in, 4), 4);
	assert_int_equal(get(&f->cons, &out, 2), 2);	/* saw head = 4 */
	/* Back to 3: still ahead of our tail, but behind what we saw. */
	atomic_store(&f->shm->head, 3);
	assert_int_equal(fn_ring_dequeue_burst(&f->cons, d, SIZE), -EPIPE);
	assert_cons_broken(f);
}

static void test_hostile_head_below_tail(void **state)
{
	struct fixture *f = *state;
	uint32_t in = 0, out = 0;

	assert_int_equal(put(&f->prod, &in, 4), 4);
	assert_int_equal(get(&f->cons, &out, 4), 4);
	atomic_store(&f->shm->head, 1);
	assert_int_equal(fn_ring_count(&f->cons), 0);
	assert_cons_broken(f);
}

static void assert_prod_broken(struct fixture *f)
{
	uint32_t seq = 0;
	uint32_t head = atomic_load(&f->shm->head);

	assert_true(f->prod.broken);
	assert_int_equal(put(&f->prod, &seq, 1), -EPIPE);
	assert_int_equal(fn_ring_free(&f->prod), 0);
	/* A broken producer publishes nothing more. */
	assert_int_equal(atomic_load(&f->shm->head), head);
}

static void test_hostile_tail_past_head(void **state)
{
	struct fixture *f = *state;
	uint32_t in = 0;

	assert_int_equal(put(&f->prod, &in, 4), 4);
	atomic_store(&f->shm->tail, 5);
	assert_int_equal(fn_ring_free(&f->prod), 0);
	assert_prod_broken(f);
}

static void test_hostile_tail_past_head_enqueue(void **state)
{
	struct fixture *f = *state;
	uint32_t in = 0;

	assert_int_equal(put(&f->prod, &in, SIZE), SIZE);
	atomic_store(&f->shm->tail, SIZE + 1);
	/* The full ring makes the producer read the tail again. */
	assert_int_equal(put(&f->prod, &in, 1), -EPIPE);
	assert_prod_broken(f);
}

static void test_hostile_tail_backwards(void **state)
{
	struct fixture *f = *state;
	uint32_t in = 0, out = 0;

	assert_int_equal(put(&f->prod, &in, SIZE), SIZE);
	assert_int_equal(get(&f->cons, &out, 6), 6);
	assert_int_equal(fn_ring_free(&f->prod), 6);	/* saw tail = 6 */
	atomic_store(&f->shm->tail, 5);
	assert_int_equal(put(&f->prod, &in, SIZE), -EPIPE);
	assert_prod_broken(f);
}

/* The peer may scribble on the entries; we copy what is there, once. */
static void test_entries_copied_once(void **state)
{
	struct fixture *f = *state;
	uint32_t in = 0;
	struct fn_desc d[2];

	assert_int_equal(put(&f->prod, &in, 2), 2);
	assert_int_equal(fn_ring_dequeue_burst(&f->cons, d, 2), 2);
	f->ent[0] = (struct fn_desc){ 0xdead, 0xbeef };
	assert_int_equal(d[0].off, 0);
	assert_int_equal(d[1].off, 1);
}

static void test_sleep_nonempty(void **state)
{
	struct fixture *f = *state;
	uint32_t in = 0;

	assert_int_equal(put(&f->prod, &in, 1), 1);
	int64_t t0 = fn_clock_ns();
	assert_int_equal(fn_ring_sleep(&f->cons, 5000000000), 1);
	assert_true(fn_clock_ns() - t0 < 1000000000);
	assert_int_equal(atomic_load(&f->shm->sleeping), 0);
}

static void test_sleep_timeout(void **state)
{
	struct fixture *f = *state;

	int64_t t0 = fn_clock_ns();
	assert_int_equal(fn_ring_sleep(&f->cons, 20000000), 0);
	int64_t dt = fn_clock_ns() - t0;
	assert_true(dt >= 19000000);
	assert_true(dt < 2000000000);
	assert_int_equal(atomic_load(&f->shm->sleeping), 0);
	/* Zero timeout: a poll. */
	assert_int_equal(fn_ring_sleep(&f->cons, 0), 0);
}

static void test_wake_nobody(void **state)
{
	struct fixture *f = *state;
	uint32_t in = 0;

	assert_int_equal(put(&f->prod, &in, 1), 1);
	assert_false(fn_ring_wake(&f->prod));
	assert_int_equal(atomic_load(&f->shm->wake_seq), 0);
}

/* A bell sleeper is woken by its bell alone, a futex sleeper by the futex
 * alone (ring.h, DOORBELLS): one system call per wake-up. */
static void test_wake_one_way(void **state)
{
	struct fixture *f = *state;
	int bell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	uint32_t in = 0;
	uint64_t v = 0;

	assert_true(bell >= 0);
	assert_true(fn_ring_arm(&f->cons));
	assert_int_equal(atomic_load(&f->shm->sleeping), FN_RING_ON_BELL);
	assert_int_equal(put(&f->prod, &in, 1), 1);
	assert_true(fn_ring_wake_bell(&f->prod, bell));
	assert_int_equal(read(bell, &v, sizeof(v)), sizeof(v));
	assert_int_equal(v, 1);
	assert_int_equal(atomic_load(&f->shm->wake_seq), 0);	/* no futex */
	assert_int_equal(atomic_load(&f->shm->sleeping), FN_RING_AWAKE);
	fn_ring_disarm(&f->cons);
	/* A futex sleeper (as fn_ring_sleep leaves the word): no bell. */
	atomic_store(&f->shm->sleeping, FN_RING_ON_FUTEX);
	assert_true(fn_ring_wake_bell(&f->prod, bell));
	assert_int_equal(atomic_load(&f->shm->wake_seq), 1);
	assert_true(read(bell, &v, sizeof(v)) < 0);		/* EAGAIN */
	/* A bell sleeper whose producer has no bell: the futex, as before. */
	atomic_store(&f->shm->sleeping, FN_RING_ON_BELL);
	assert_true(fn_ring_wake(&f->prod));
	assert_int_equal(atomic_load(&f->shm->wake_seq), 2);
	close(bell);
}

/* The producer sees whether its consumer sleeps (fn_ring_peer_awake), and
 * an adaptive loop spins only while that peer is awake, for at most its
 * budget (fragnet/idle.h, fn_idle_spin_while). */
static void test_peer_awake_idle(void **state)
{
	struct fixture *f = *state;
	struct fn_idle s = { 0, 0 };

	assert_true(fn_ring_peer_awake(&f->prod));
	assert_true(fn_ring_arm(&f->cons));
	assert_false(fn_ring_peer_awake(&f->prod));
	assert_false(fn_idle_spin_while(&s, FN_POLL_ADAPTIVE, 1000, 30000,
					fn_ring_peer_awake(&f->prod)));
	fn_ring_disarm(&f->cons);
	assert_true(fn_ring_peer_awake(&f->prod));
	assert_true(fn_idle_spin_while(&s, FN_POLL_ADAPTIVE, 1000, 30000, true));
	assert_true(fn_idle_spin_while(&s, FN_POLL_ADAPTIVE, 30999, 30000, true));
	assert_false(fn_idle_spin_while(&s, FN_POLL_ADAPTIVE, 31000, 30000, true));
	fn_idle_reset(&s);
	assert_false(fn_idle_spin_while(&s, FN_POLL_EVENT, 1000, 30000, true));
	assert_true(fn_idle_spin_while(&s, FN_POLL_BUSY, 1000, 30000, false));
	/* Whatever else a hostile consumer stores reads as asleep; a broken
	 * ring's peer as asleep too. */
	atomic_store(&f->shm->sleeping, 77);
	assert_false(fn_ring_peer_awake(&f->prod));
	atomic_store(&f->shm->sleeping, FN_RING_AWAKE);
	f->prod.broken = true;
	assert_false(fn_ring_peer_awake(&f->prod));
	f->prod.broken = false;
}

/* A loadavg text for fn_idle_spin_alone, in a memfd. */
static int loadavg_fd(const char *text)
{
	int fd = memfd_create("loadavg", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	return fd;
}

/* /proc/loadavg's runnable count, and anything else read as unknown. */
static void test_loadavg_running(void **state)
{
	(void)state;
	assert_int_equal(fn_loadavg_running("0.52 0.58 0.59 2/345 6789\n"), 2);
	assert_int_equal(fn_loadavg_running("0.00 0.00 0.00 17/3 1"), 17);
	assert_int_equal(fn_loadavg_running(""), UINT_MAX);
	assert_int_equal(fn_loadavg_running("0.52 0.58 0.59 /345 6789"),
			 UINT_MAX);
	assert_int_equal(fn_loadavg_running("0.52 0.58 0.59 x/345"), UINT_MAX);
	assert_int_equal(fn_loadavg_running("1 2 3 99999999999999999999/4"),
			 UINT_MAX);
}

/* adaptive: no spell on a crowded machine or without loadavg; one of at
 * most its budget otherwise, unless a yield let another task run; busy
 * and event as fn_idle_spin (fragnet/idle.h). */
static void test_idle_spin_alone(void **state)
{
	struct fn_idle s = { 0 }, q = { 0 }, none = { 0 };
	int crowded = loadavg_fd("9.00 9.00 9.00 100000/100001 1\n");
	int quiet = loadavg_fd("0.00 0.00 0.00 1/100 1\n");
	int64_t now = fn_clock_ns();
	bool spun;

	(void)state;
	assert_false(fn_idle_spin_alone(&s, FN_POLL_ADAPTIVE, now, 100000,
					crowded));
	assert_true(s.over);	/* the spell is over for good */
	assert_false(fn_idle_spin_alone(&s, FN_POLL_ADAPTIVE, now, 100000,
					quiet));
	/* The answer holds for FN_IDLE_LOAD_NS, across spells; then the
	 * file is read again. */
	fn_idle_reset(&s);
	assert_false(fn_idle_spin_alone(&s, FN_POLL_ADAPTIVE, now + 1, 100000,
					quiet));
	fn_idle_reset(&s);
	spun = fn_idle_spin_alone(&s, FN_POLL_ADAPTIVE, now + FN_IDLE_LOAD_NS,
				  100000, quiet);
	assert_false(s.crowded);
	assert_true(spun != s.over);
	assert_false(fn_idle_spin_alone(&none, FN_POLL_ADAPTIVE, now, 100000,
					-1));
	/* One runnable task: a spell, unless this machine ran another task
	 * in our yield (then it is over). */
	spun = fn_idle_spin_alone(&q, FN_POLL_ADAPTIVE, now, 100000, quiet);
	assert_true(spun != q.over);
	assert_int_equal(q.since, now);
	/* The budget counts from the first idle turn. */
	assert_false(fn_idle_spin_alone(&q, FN_POLL_ADAPTIVE, now + 100000,
					100000, quiet));
	fn_idle_reset(&s);
	assert_false(fn_idle_spin_alone(&s, FN_POLL_EVENT, now, 100000, quiet));
	assert_true(fn_idle_spin_alone(&s, FN_POLL_BUSY, now, 100000, crowded));
	close(crowded);
	close(quiet);
}

struct waker {
	struct fixture *f;
	bool woke;
};

static void *waker_main(void *arg)
{
	struct waker *w = arg;
	struct fn_desc d = desc(0);
	struct timespec ms = { 0, 1000000 };

	/* Wait until the consumer has announced its sleep, then a bit more
	 * so that it is in FUTEX_WAIT. */
	while (!atomic_load(&w->f->shm->sleeping))
		nanosleep(&ms, NULL);
	nanosleep(&(struct timespec){ 0, 20000000 }, NULL);
	if (fn_ring_enqueue_burst(&w->f->prod, &d, 1) == 1)
		w->woke = fn_ring_wake(&w->f->prod);
	return NULL;
}

static void test_sleep_woken(void **state)
{
	struct fixture *f = *state;
	struct waker w = { .f = f };
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, waker_main, &w), 0);
	int64_t t0 = fn_clock_ns();
	int r = fn_ring_sleep(&f->cons, 10000000000);
	int64_t dt = fn_clock_ns() - t0;
	pthread_join(t, NULL);
	assert_int_equal(r, 1);
	assert_true(w.woke);
	assert_true(dt < 5000000000);
	assert_int_equal(atomic_load(&f->shm->wake_seq), 1);
	assert_int_equal(atomic_load(&f->shm->sleeping), 0);
}

/* Thread-side helpers: no cmocka asserts off the main thread. */
static int put1(struct fn_ring *r, uint32_t *seq)
{
	struct fn_desc d = desc(*seq);
	int k = fn_ring_enqueue_burst(r, &d, 1);

	if (k == 1)
		(*seq)++;
	return k;
}

/* Dequeue up to n; -1 if one breaks the sequence. */
static int take(struct fn_ring *r, uint32_t *seq, unsigned n)
{
	struct fn_desc d[16];
	int k = fn_ring_dequeue_burst(r, d, n < 16 ? n : 16);

	for (int i = 0; i < k; i++, (*seq)++)
		if (d[i].off != *seq || d[i].len != ~*seq)
			return -1;
	return k;
}

/*
 * Ping-pong through two rings with a sleeping consumer on each side: a lost
 * wake-up shows as a sleep that lasts its whole (long) timeout.  A sleep
 * may also return early without data (a wake meant for the previous
 * message, seen by this sleep: legal), so only full timeouts count, and
 * the timeout is long enough that no scheduling delay on a loaded
 * machine reaches it: the test checks behaviour, not timing.
 */
#define PINGS 20000
#define SLEEP_NS 10000000000ll	/* 10 s */

struct pinger {
	struct fixture *to, *from;
	unsigned timeouts;	/* sleeps that lasted their whole timeout */
	unsigned errors;
};

static void ping_send(struct pinger *p, uint32_t *in)
{
	if (put1(&p->to->prod, in) != 1)
		p->errors++;
	fn_ring_wake(&p->to->prod);
}

static void ping_loop(struct pinger *p, bool first)
{
	uint32_t in = 0, out = 0;
	int k;

	for (unsigned i = 0; i < PINGS && !p->errors; i++) {
		if (first || i > 0)
			ping_send(p, &in);
		while ((k = take(&p->from->cons, &out, 1)) == 0) {
			int64_t t0 = fn_clock_ns();

			if (!fn_ring_sleep(&p->from->cons, SLEEP_NS) &&
			    fn_clock_ns() - t0 >= SLEEP_NS)
				p->timeouts++;
		}
		if (k < 0)
			p->errors++;
	}
	if (!first)
		ping_send(p, &in);
}

static void *pong_main(void *arg)
{
	ping_loop(arg, false);
	return NULL;
}

static void test_sleep_wake_pingpong(void **state)
{
	struct fixture *a = *state, *b = fixture_new(SIZE, 0);
	struct pinger ping = { .to = a, .from = b };
	struct pinger pong = { .to = b, .from = a };
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, pong_main, &pong), 0);
	ping_loop(&ping, true);
	pthread_join(t, NULL);
	assert_int_equal(ping.errors + pong.errors, 0);
	/* No wait lasted its whole timeout: no wake-up was lost. */
	assert_int_equal(ping.timeouts + pong.timeouts, 0);
	/* Both sides did sleep and get woken, not just spin. */
	assert_true(atomic_load(&a->shm->wake_seq) > 0);
	assert_true(atomic_load(&b->shm->wake_seq) > 0);
	void *p = b;
	teardown(&p);
}

/* Two threads, a long sequence through a small ring; checks order. */
#define STREAM_N 1000000u

static void *producer_main(void *arg)
{
	struct fixture *f = arg;
	struct fn_desc d[5];
	uint32_t in = 0;

	while (in < STREAM_N) {
		unsigned n = STREAM_N - in < 5 ? STREAM_N - in : 5;
		for (unsigned i = 0; i < n; i++)
			d[i] = desc(in + i);
		int k = fn_ring_enqueue_burst(&f->prod, d, n);
		if (k < 0)
			return (void *)1;
		in += (uint32_t)k;
		if (k > 0)
			fn_ring_wake(&f->prod);
		else
			sched_yield();	/* full: let a consumer on our cpu run */
	}
	return NULL;
}

static void test_threads_stream(void **state)
{
	struct fixture *f = fixture_new(64, UINT32_MAX - 1000);
	uint32_t out = 0;
	pthread_t t;
	void *ret;
	int k = 0;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, producer_main, f), 0);
	while (out < STREAM_N) {
		k = take(&f->cons, &out, 7);
		if (k < 0)
			break;
		if (k == 0 && (out & 1))	/* mix sleeping and yielding */
			fn_ring_sleep(&f->cons, 100000000);
		else if (k == 0)
			sched_yield();
	}
	pthread_join(t, &ret);
	assert_true(k >= 0);
	assert_null(ret);
	assert_int_equal(out, STREAM_N);
	assert_false(f->prod.broken || f->cons.broken);
	void *p = f;
	teardown(&p);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_init_rejects_bad_size),
		T(test_layout),
		T(test_empty_full),
		T(test_partial_bursts),
		T(test_wraparound),
		T(test_init_broken),
		T(test_hostile_head_too_far),
		T(test_hostile_head_far_via_count),
		T(test_hostile_head_backwards),
		T(test_hostile_head_below_tail),
		T(test_hostile_tail_past_head),
		T(test_hostile_tail_past_head_enqueue),
		T(test_hostile_tail_backwards),
		T(test_entries_copied_once),
		T(test_sleep_nonempty),
		T(test_sleep_timeout),
		T(test_wake_nobody),
		T(test_wake_one_way),
		T(test_peer_awake_idle),
		T(test_loadavg_running),
		T(test_idle_spin_alone),
		T(test_sleep_woken),
		T(test_sleep_wake_pingpong),
		T(test_threads_stream),
	};

	return cmocka_run_group_tests_name("ring", tests, NULL, NULL);
}
