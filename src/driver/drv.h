/*
 * drv.h - internal interfaces of fragnet-driver, the DPDK secondary that
 * serves one NIC queue (docs/architecture.md "Processes"; fragnet/dpdk.h).
 *
 * Modules (one binary, `fragnet-driver`):
 *   fragnet-driver.c  main: environment, config, stats, link, start, stop
 *   drv_eal.c         the nic's ready file, EAL as a secondary, look-ups of
 *                     the port, pool and broadcast rings; primary liveness
 *   drv_path.c        the data paths: NIC rx -> link (with the broadcast
 *                     fan-out and the steering to siblings), broadcast and
 *                     steer rings -> link, link -> NIC (with the hairpin)
 *   drv_steer.c       which pipeline a destination MAC is (no DPDK)
 *   drv_loop.c        the main loop and the poll modes
 *   drv_wait.c        where an idle driver sleeps: one epoll on the NIC
 *                     queue, the broadcast bell, the stack's doorbell and
 *                     the nic's pidfd (fds from the nic: fragnet/dpdk.h)
 *
 * Everything runs on the one EAL main lcore; nothing here is thread safe
 * or needs to be.
 */
#ifndef FRAGNET_DRV_H
#define FRAGNET_DRV_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "fragnet/config.h"
#include "fragnet/stream.h"
#include "drv_steer.h"

struct rte_mempool;
struct rte_ring;
struct rte_mbuf;

/* Exit codes, so that a log reader (and the tests) can tell why. */
enum {
	DRV_EXIT_OK = 0,
	DRV_EXIT_FAIL = 1,	/* setup: config, fds, look-ups */
	DRV_EXIT_USAGE = 2,
	DRV_EXIT_NIC = 3,	/* the nic never got ready, or died under us */
	DRV_EXIT_EAL = 4,	/* rte_eal_init() failed (e.g. memory mapping) */
};

#define DRV_BURST	32	/* frames per rx, tx and link burst */

/* Counters on the stats page, in this order (drv_ctr_names). */
enum drv_ctr {
	D_RX_PKTS,		/* frames from our NIC queue */
	D_RX_BYTES,
	D_TX_PKTS,		/* frames the NIC took for sending */
	D_TX_BYTES,
	D_BURSTS_RX,		/* non-empty NIC rx bursts */
	D_BURSTS_TX,		/* non-empty NIC tx bursts */
	D_DROP_NO_SLOT,		/* NIC -> stack: the link had no free slot */
	D_DROP_TOO_BIG,		/* NIC -> stack: frame > slot_size */
	D_DROP_TX_FULL,		/* stack -> NIC: tx queue full */
	D_DROP_NO_MBUF,		/* stack -> NIC: mbuf pool empty */
	D_DROP_BAD_LEN,		/* stack -> NIC: < 14 B, or > mbuf room */
	D_DROP_RUNT,		/* NIC -> stack: < 14 B */
	D_BCAST_OUT,		/* copies put on other queues' broadcast rings */
	D_BCAST_IN,		/* frames taken from our broadcast ring */
	D_DROP_BCAST_FULL,	/* another queue's broadcast ring was full */
	D_STEERED_OUT,		/* NIC frames for a sibling's MAC, handed to its
				 * steer ring (drop_steer_full included) */
	D_STEERED_IN,		/* frames a sibling steered to us, taken from
				 * our steer ring */
	D_DROP_STEER_FULL,	/* a sibling's steer ring refused a frame */
	D_HAIRPIN,		/* copies of our stack's frames for siblings,
				 * not via the NIC (drop_hairpin_full included) */
	D_HAIRPIN_IN,		/* frames a sibling's stack sent us, from our
				 * rings */
	D_DROP_HAIRPIN_FULL,	/* a sibling's ring refused a hairpin copy */
	D_LINK_RESETS,		/* the stack restarted (link epochs) */
	D_LINK_BROKEN,		/* the stack broke the link protocol (-EPIPE) */
	D_DROP_LINK_DOWN,	/* NIC -> stack while no stack (not joined, broken) */
	D_IDLE_NAPS,		/* sleeps of the idle loop */
	D_WAKE_NIC,		/* woken by the NIC queue's rx fd */
	D_WAKE_LINK,		/* woken by the stack (our doorbell) */
	D_WAKE_BCAST,		/* woken by another driver's broadcast */
	D_WAKE_TIMER,		/* a sleep that ended by its timeout */
	D_RX_SKIPPED,		/* turns that left the drained NIC queue alone */
	D_SPIN_TURNS,		/* idle turns that polled on instead of sleeping */
	D_COUNT
};

extern const char *const drv_ctr_names[D_COUNT];

/* Where the driver sleeps (drv_wait.c); every fd -1 when absent. */
struct drv_wait {
	int epfd;
	int rx_fd;		/* our NIC queue's rx interrupt fd (the nic's) */
	int bell_fd;		/* our queue's bell: broadcast frames for us */
	int nic_fd;		/* the nic's pidfd: readable once it is dead */
	int link_bell_fd;	/* our doorbell, rung by the stack (names.h) */
	int peer_bell[FN_MAX_PIPELINES];	/* other queues' bells */
	bool forever;		/* every source wakes us: sleep with no timer */
	bool rx_quiet;		/* the last sleep woke for something else, and
				 * the rx fd was not ready then */
};

struct drv {
	/* From the environment and the config. */
	struct fn_config cfg;
	unsigned queue;		/* = pipeline index */
	unsigned nqueues;
	enum fn_poll poll;
	int cpu;
	bool stack_apart;	/* the stack is not pinned to our cpu */

	/* DPDK objects, found by name (fragnet/dpdk.h). */
	uint16_t port;
	struct rte_mempool *pool;
	struct rte_ring *bcast[FN_MAX_PIPELINES];	/* [queue] = ours */
	struct rte_ring *steer[FN_MAX_PIPELINES];	/* [queue] = ours */
	struct drv_steer steer_tab;	/* per-pipeline: queue j -> MAC j */
	uint32_t tx_room;	/* bytes of frame a fresh mbuf takes */

	/* The link to stack `queue`: we are side A. */
	struct fn_link link;
	uint32_t reset_epoch;	/* the last link epoch we counted a reset for */
	bool link_broken;	/* -EPIPE seen: the stack broke the protocol */
	struct drv_wait wait;

	_Atomic uint64_t *ctr;	/* D_COUNT counters, a stats page block */
};

/* Set by SIGTERM / SIGINT: leave the loop. */
extern volatile sig_atomic_t drv_stopping;

static inline void drv_count(struct drv *d, enum drv_ctr c, uint64_t v)
{
	atomic_store_explicit(&d->ctr[c],
			      atomic_load_explicit(&d->ctr[c],
						   memory_order_relaxed) + v,
			      memory_order_relaxed);
}

/* drv_eal.c */
int drv_wait_nic(struct drv *d);
int drv_eal_init(struct drv *d, const char *prog);
int drv_lookup(struct drv *d);
bool drv_nic_alive(void);
void drv_eal_fini(struct drv *d);

/* drv_path.c: each returns the frames it moved (or dropped), 0 if idle. */
unsigned drv_nic_rx(struct drv *d);
unsigned drv_bcast_rx(struct drv *d);
unsigned drv_steer_rx(struct drv *d);
unsigned drv_link_rx(struct drv *d);
void drv_link_error(struct drv *d, int err);
void drv_bcast_drain(struct drv *d);

/* drv_wait.c */
void drv_wait_init(struct drv_wait *w);
int drv_wait_open(struct drv *d);
void drv_wait_close(struct drv *d);
bool drv_wait_forever(const struct drv *d);
/* Does the NIC queue's rx fd wake our sleep?  Then a drained queue need
 * not be polled until it does (drv_loop.c). */
bool drv_wait_rx_wakes(const struct drv *d);
/* Sleep until work, or timeout_ns (< 0: none).  0, or -ENODEV: the nic
 * died. */
int drv_wait_sleep(struct drv *d, int64_t timeout_ns);
void drv_wait_ring(struct drv *d, unsigned q);

/* drv_loop.c */
int drv_run(struct drv *d);

#endif /* FRAGNET_DRV_H */
