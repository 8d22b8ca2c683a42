/*
 * fragnet/ring.h - single-producer single-consumer descriptor ring in shared
 * memory, with an optional futex wake-up for a sleeping consumer.
 *
 * Both channels of fragnet (packet streams, socket channel) are built from
 * these rings.  The two ends live in different processes that do not trust
 * each other.
 *
 * LAYOUT (struct fn_ring_shm, then the entry array elsewhere in the region):
 *
 *     +--------------------- cache line 0 ---------------------+
 *     | head      (P)  entries produced, free-running uint32    |
 *     +--------------------- cache line 1 ---------------------+
 *     | tail      (C)  entries consumed, free-running uint32    |
 *     +--------------------- cache line 2 ---------------------+
 *     | sleeping  (C sets, P clears) how the consumer sleeps    |
 *     | wake_seq  (P)  futex word, +1 on every wake-up          |
 *     +---------------------------------------------------------+
 *
 *     ent[0 .. size-1]  struct fn_desc, 8 bytes each; entry i lives at
 *                       ent[i & (size - 1)].  size is a power of two.
 *
 *   (P) is written by the producer only, (C) by the consumer only.
 *
 * DATA OWNERSHIP
 *   Entries with index in [tail, head) belong to the consumer, which only
 *   reads them; all other entries belong to the producer.  empty: head ==
 *   tail.  full: head - tail == size.  The counters wrap past 2^32; only
 *   their difference matters.
 *
 * TRUST
 *   Each side keeps its own index in private memory and only publishes it;
 *   it never reads it back, so the peer cannot move it.  The peer's index is
 *   read once per burst and checked: a producer whose head runs more than
 *   `size` ahead of our tail, or a consumer whose tail passes our head or
 *   goes backwards, is broken.  Every entry is copied out of shared memory
 *   once and validated by the caller from the copy.
 *
 * ORDERING (C11; pairs named as in DPDK's rte_ring_c11_pvt.h)
 *   R1: producer stores head with release after writing entries;
 *       pairs with A1, the consumer's acquire load of head.
 *   R2: consumer stores tail with release after copying entries out;
 *       pairs with A2, the producer's acquire load of tail, so the producer
 *       never overwrites an entry the consumer is still reading.
 *   F1/F2: the sleep/wake handshake is Dekker-style: the consumer stores
 *       sleeping != 0, F2 (seq_cst fence), then re-reads head; the producer
 *       stores head, F1 (seq_cst fence), then reads sleeping.  One of the
 *       two must see the other's store, so no wake-up is lost.
 *
 * WAKE-UPS
 *   A consumer that wants to sleep reads wake_seq, sets sleeping to
 *   FN_RING_ON_FUTEX, re-checks the ring, and futex-waits on wake_seq with
 *   the value it read.  A producer that finds sleeping set clears it, bumps
 *   wake_seq and calls FUTEX_WAKE.  A producer pays for a syscall only when
 *   the consumer really sleeps.  The futex is shared (not FUTEX_PRIVATE):
 *   the ring lives in a memfd.
 */
#ifndef FRAGNET_RING_H
#define FRAGNET_RING_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define FN_CACHE_LINE 64

/* A descriptor: where a payload lies in the region's bulk buffer. */
struct fn_desc {
	uint32_t off;	/* byte offset into the bulk buffer */
	uint32_t len;	/* payload length in bytes */
};

struct fn_ring_shm {
	alignas(FN_CACHE_LINE) _Atomic uint32_t head;	/* P */
	alignas(FN_CACHE_LINE) _Atomic uint32_t tail;	/* C */
	alignas(FN_CACHE_LINE) _Atomic uint32_t sleeping; /* C sets, P clears:
							     FN_RING_* */
	_Atomic uint32_t wake_seq;			/* P: futex word */
};

/* Values of fn_ring_shm.sleeping: how the consumer sleeps, so that the
 * producer wakes it with one system call, the right one.  Anything else
 * from a hostile consumer is taken as FN_RING_ON_FUTEX (a futex wake for
 * nobody costs the producer one syscall, nothing more). */
enum {
	FN_RING_AWAKE = 0,
	FN_RING_ON_FUTEX = 1,	/* fn_ring_sleep(): FUTEX_WAIT on wake_seq */
	FN_RING_ON_BELL = 2,	/* fn_ring_arm(): blocked on its doorbell */
};

/* One end of a ring, in the private memory of its process. */
struct fn_ring {
	struct fn_ring_shm *shm;
	struct fn_desc *ent;	/* shared entry array */
	uint32_t size;		/* entries, power of two */
	uint32_t mask;
	uint32_t idx;		/* our own index: head (producer), tail (consumer) */
	uint32_t peer;		/* the peer's index, as last read and checked */
	bool broken;		/* the peer broke the protocol: stop using the ring */
};

/*
 * Attach one end.  shm and ent must lie in a mapping of the shared region;
 * idx starts from the value currently published for our side (0 on a fresh
 * ring).  Returns -EINVAL if size is not a power of two.
 */
int fn_ring_init(struct fn_ring *r, struct fn_ring_shm *shm,
		 struct fn_desc *ent, uint32_t size, bool producer);

/* Producer: copy up to n descriptors in.  Returns how many went in (0 when
 * full), or -EPIPE if the consumer's tail is impossible (ring is broken). */
int fn_ring_enqueue_burst(struct fn_ring *r, const struct fn_desc *d,
			  unsigned n);

/* Consumer: copy up to n descriptors out.  Returns how many (0 when empty),
 * or -EPIPE if the producer's head is impossible (ring is broken). */
int fn_ring_dequeue_burst(struct fn_ring *r, struct fn_desc *d, unsigned n);

/* Consumer: entries ready now (0 on a broken ring). */
unsigned fn_ring_count(struct fn_ring *r);

/* Producer: room for this many more entries now (0 on a broken ring). */
unsigned fn_ring_free(struct fn_ring *r);

/* Producer: wake the consumer if it sleeps.  Call after a successful
 * enqueue.  Returns true if a FUTEX_WAKE was issued. */
bool fn_ring_wake(struct fn_ring *r);

/*
 * DOORBELLS.  A consumer that must also wait for other things (sockets, an
 * app's own fds, a NIC queue) cannot sleep on a futex: it blocks in its own
 * epoll on an eventfd, its doorbell, which the producer writes.
 * Same handshake: the consumer arms (sleeping = FN_RING_ON_BELL, F2,
 * re-check), blocks only if arm said so, reads the eventfd and disarms when
 * it wakes; the producer wakes with fn_ring_wake_bell(r, bell_fd), which
 * writes the eventfd for a bell sleeper and calls FUTEX_WAKE for a futex
 * sleeper, never both (one system call per wake-up).  A consumer may sleep
 * either way from one sleep to the next.
 */
bool fn_ring_wake_bell(struct fn_ring *r, int bell_fd);	/* < 0: futex */
/* Consumer: true if armed and the caller may block; false if entries are
 * already there (not armed) or the ring is broken. */
bool fn_ring_arm(struct fn_ring *r);
void fn_ring_disarm(struct fn_ring *r);

/*
 * Consumer: sleep until the ring is non-empty, woken, or timeout_ns passes
 * (negative: no timeout).  Returns 1 if entries are ready, 0 otherwise
 * (timeout, spurious wake-up, signal).  Never sleeps when entries are ready.
 */
int fn_ring_sleep(struct fn_ring *r, int64_t timeout_ns);

/*
 * Producer: is the consumer awake, i.e. not armed on its bell nor asleep on
 * the futex?  A hint for the producer's own idle policy (fragnet/idle.h,
 * fn_idle_spin_while): an awake consumer may soon produce the producer's
 * next work.  Read relaxed, no fence: the answer may be stale; a hostile
 * consumer may lie, which only makes us spin up to our own bound or sleep.
 */
bool fn_ring_peer_awake(const struct fn_ring *r);

/* Bytes needed for a ring of n entries: its header and its entries. */
static inline uint64_t fn_ring_ent_bytes(uint32_t n)
{
	return (uint64_t)n * sizeof(struct fn_desc);
}

#endif /* FRAGNET_RING_H */
