/*
 * ring.c - the SPSC descriptor ring of fragnet/ring.h.
 *
 * Producer: fn_ring_enqueue_burst(), then fn_ring_wake().
 * Consumer: fn_ring_dequeue_burst(); when empty, fn_ring_sleep().
 * Used by stream.c (packet links) and the socket channel.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fragnet/ring.h"

int fn_ring_init(struct fn_ring *r, struct fn_ring_shm *shm,
		 struct fn_desc *ent, uint32_t size, bool producer)
{
	if (size == 0 || (size & (size - 1)) != 0)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->shm = shm;
	r->ent = ent;
	r->size = size;
	r->mask = size - 1;
	if (producer) {
		r->idx = atomic_load_explicit(&shm->head, memory_order_relaxed);
		r->peer = atomic_load_explicit(&shm->tail, memory_order_acquire);
	} else {
		r->idx = atomic_load_explicit(&shm->tail, memory_order_relaxed);
		r->peer = atomic_load_explicit(&shm->head, memory_order_acquire);
	}
	/* A region handed over with impossible indices is broken from birth. */
	if ((producer ? r->idx - r->peer : r->peer - r->idx) > size)
		r->broken = true;
	return 0;
}

/* Read and check the consumer's tail: it may only move forward, up to our
 * head.  A2: pairs with R2 in fn_ring_dequeue_burst(). */
static bool ring_read_tail(struct fn_ring *r)
{
	uint32_t t = atomic_load_explicit(&r->shm->tail, memory_order_acquire);

	if (t - r->peer > r->idx - r->peer) {
		r->broken = true;
		return false;
	}
	r->peer = t;
	return true;
}

/* Read and check the producer's head: forward only, at most size ahead of
 * our tail.  A1: pairs with R1 in fn_ring_enqueue_burst(). */
static bool ring_read_head(struct fn_ring *r)
{
	uint32_t h = atomic_load_explicit(&r->shm->head, memory_order_acquire);

	if (h - r->idx > r->size || h - r->peer > r->size) {
		r->broken = true;
		return false;
	}
	r->peer = h;
	return true;
}

unsigned fn_ring_free(struct fn_ring *r)
{
	if (r->broken || !ring_read_tail(r))
		return 0;
	return r->size - (r->idx - r->peer);
}

unsigned fn_ring_count(struct fn_ring *r)
{
	if (r->broken || !ring_read_head(r))
		return 0;
	return r->peer - r->idx;
}

int fn_ring_enqueue_burst(struct fn_ring *r, const struct fn_desc *d,
			  unsigned n)
{
	if (r->broken)
		return -EPIPE;
	unsigned room = r->size - (r->idx - r->peer);
	if (room < n) {
		if (!ring_read_tail(r))
			return -EPIPE;
		room = r->size - (r->idx - r->peer);
	}
	if (n > room)
		n = room;
	for (unsigned i = 0; i < n; i++)
		r->ent[(r->idx + i) & r->mask] = d[i];
	r->idx += n;
	/* R1: entries before head; pairs with A1 in ring_read_head(). */
	atomic_store_explicit(&r->shm->head, r->idx, memory_order_release);
	return (int)n;
}

int fn_ring_dequeue_burst(struct fn_ring *r, struct fn_desc *d, unsigned n)
{
	if (r->broken)
		return -EPIPE;
	unsigned avail = r->peer - r->idx;
	if (avail < n) {
		if (!ring_read_head(r))
			return -EPIPE;
		avail = r->peer - r->idx;
	}
	if (n > avail)
		n = avail;
	/* Copy out once; callers validate the copies, never the ring. */
	for (unsigned i = 0; i < n; i++)
		d[i] = r->ent[(r->idx + i) & r->mask];
	r->idx += n;
	/* R2: entries read before tail; pairs with A2 in ring_read_tail(). */
	atomic_store_explicit(&r->shm->tail, r->idx, memory_order_release);
	return (int)n;
}

static long futex(_Atomic uint32_t *uaddr, int op, uint32_t val,
		  const struct timespec *ts)
{
	return syscall(SYS_futex, (uint32_t *)uaddr, op, val, ts, NULL, 0);
}

bool fn_ring_peer_awake(const struct fn_ring *r)
{
	return !r->broken && atomic_load_explicit(&r->shm->sleeping,
					memory_order_relaxed) == FN_RING_AWAKE;
}

bool fn_ring_wake(struct fn_ring *r)
{
	return fn_ring_wake_bell(r, -1);
}

bool fn_ring_wake_bell(struct fn_ring *r, int bell_fd)
{
	struct fn_ring_shm *s = r->shm;
	uint64_t one = 1;
	uint32_t how;

	/* F1: our head store before reading sleeping; pairs with F2. */
	atomic_thread_fence(memory_order_seq_cst);
	if (!atomic_load_explicit(&s->sleeping, memory_order_relaxed))
		return false;
	how = atomic_exchange_explicit(&s->sleeping, FN_RING_AWAKE,
				       memory_order_relaxed);
	if (how == FN_RING_AWAKE)
		return false;
	/* The consumer said how it sleeps: wake it that way only, one
	 * system call per wake-up.  A bell sleeper whose producer has no
	 * bell (a misconfigured pair) gets the futex, which at least costs
	 * nothing and keeps the old behaviour. */
	if (how == FN_RING_ON_BELL && bell_fd >= 0) {
		if (write(bell_fd, &one, sizeof(one)) < 0) {
			/* EAGAIN: the counter is full, so the peer is awake
			 * anyway. */
		}
		return true;
	}
	atomic_fetch_add_explicit(&s->wake_seq, 1, memory_order_release);
	futex(&s->wake_seq, FUTEX_WAKE, INT_MAX, NULL);
	return true;
}

bool fn_ring_arm(struct fn_ring *r)
{
	if (r->broken)
		return false;
	atomic_store_explicit(&r->shm->sleeping, FN_RING_ON_BELL,
			      memory_order_relaxed);
	/* F2: sleeping before re-reading head; pairs with F1. */
	atomic_thread_fence(memory_order_seq_cst);
	if (fn_ring_count(r) == 0)
		return true;
	atomic_store_explicit(&r->shm->sleeping, FN_RING_AWAKE,
			      memory_order_relaxed);
	return false;
}

void fn_ring_disarm(struct fn_ring *r)
{
	atomic_store_explicit(&r->shm->sleeping, FN_RING_AWAKE,
			      memory_order_relaxed);
}

int fn_ring_sleep(struct fn_ring *r, int64_t timeout_ns)
{
	struct fn_ring_shm *s = r->shm;
	struct timespec ts, *tsp = NULL;

	if (r->broken)
		return 0;
	uint32_t seq = atomic_load_explicit(&s->wake_seq, memory_order_acquire);
	atomic_store_explicit(&s->sleeping, FN_RING_ON_FUTEX,
			      memory_order_relaxed);
	/* F2: sleeping before re-reading head; pairs with F1. */
	atomic_thread_fence(memory_order_seq_cst);
	if (fn_ring_count(r) == 0) {
		if (timeout_ns >= 0) {
			ts.tv_sec = timeout_ns / 1000000000;
			ts.tv_nsec = timeout_ns % 1000000000;
			tsp = &ts;
		}
		/* Returns at once if wake_seq moved since we read it. */
		futex(&s->wake_seq, FUTEX_WAIT, seq, tsp);
	}
	atomic_store_explicit(&s->sleeping, FN_RING_AWAKE, memory_order_relaxed);
	return fn_ring_count(r) > 0;
}
