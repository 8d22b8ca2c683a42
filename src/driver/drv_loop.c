/*
 * drv_loop.c - the driver's main loop and its poll modes.
 *
 * Each turn polls every source once (drv_path.c): NIC rx queue q, our
 * broadcast ring, our steer ring, the stack's stream.  A turn that moved nothing is idle,
 * and what follows depends on FRAGNET_POLL (fragnet/idle.h):
 *
 *   busy      poll again at once, yielding now and then, so that the stack
 *             pinned to our core still runs.
 *   adaptive  poll while our cpu would otherwise be idle, for at most
 *             IDLE_SPIN_NS, yielding it every idle turn; then sleep
 *             (fragnet/idle.h, fn_idle_spin_alone).  A client's next
 *             request then finds us polling, and its send wakes no one.
 *             Apart from the stack's cpu, also poll while the stack is
 *             awake, for at most AWAKE_SPIN_NS (fn_idle_spin_while): its
 *             reply then finds us awake.
 *   event     sleep at once.
 *
 * A sleep is drv_wait_sleep(): one epoll on the NIC queue's rx fd, our
 * broadcast bell, the stack's doorbell and the nic's pidfd (drv_wait.c).
 * When all of those exist (a tap, a topology from this supervisor) the
 * sleep has no timeout: the driver wakes for the next frame, whichever
 * source it comes from, and costs nothing while idle.  Otherwise it is a
 * nap: it starts at NAP_MIN_NS, doubles while idle up to NAP_MAX_EVENT_NS
 * / NAP_MAX_ADAPTIVE_NS, and any work resets it; a frame from a source
 * that cannot wake us waits at most one nap.
 *
 * SKIPPING A DRAINED QUEUE.  An rx burst on a tap is a readv per frame and
 * one more that fails with EAGAIN, a system call that finds nothing.  When
 * the queue's rx fd wakes our sleep (it is level-triggered: readable while
 * the queue holds a frame, docs/nic.md), a turn need not look at a queue
 * that the last burst drained (it returned less than DRV_BURST), nor at
 * one that the last sleep's epoll did not report: a frame that comes after
 * that makes the next sleep return at once, with the rx fd ready.  While
 * other work keeps us from sleeping, the queue is still polled every
 * RX_POLL_EVERY turns, and a turn that spins polls it.  rx_skipped counts
 * the turns that skipped.
 *
 * Every ALIVE_CHECK_NS of work the loop checks that the nic (the DPDK
 * primary) still lives: the tap's queue fds would keep working without
 * it, but our memory and port state are its, so we leave (DRV_EXIT_NIC).
 * Asleep, its pidfd wakes us instead (or, without one, the sleep is cut
 * to ALIVE_CHECK_NS).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fragnet/clock.h"
#include "fragnet/idle.h"
#include "fragnet/log.h"
#include "drv.h"

#define IDLE_SPIN_NS		100000ll
#define AWAKE_SPIN_NS		30000ll
#define NAP_MIN_NS		50000ll
#define NAP_MAX_ADAPTIVE_NS	200000ll
#define NAP_MAX_EVENT_NS	1000000ll
#define ALIVE_CHECK_NS		200000000ll
#define CLOCK_EVERY		256u	/* busy turns between clock reads */
#define RX_POLL_EVERY		4u	/* turns, at most, between rx polls */

struct idle {
	struct fn_idle awake;	/* polling while the stack is awake */
	struct fn_idle spin;	/* polling an idle cpu */
	int64_t nap;		/* the last nap, 0: none yet */
	int load_fd;		/* /proc/loadavg, for adaptive; -1: none */
};

/* Sleep after an idle turn: for good when every source can wake us,
 * else for the next nap.  0, or -ENODEV when the nic died. */
static int nap(struct drv *d, struct idle *s, int64_t max)
{
	if (drv_wait_forever(d))
		return drv_wait_sleep(d, d->wait.nic_fd >= 0 ? -1 :
					 ALIVE_CHECK_NS);
	s->nap = s->nap ? s->nap * 2 : NAP_MIN_NS;
	if (s->nap > max)
		s->nap = max;
	return drv_wait_sleep(d, s->nap);
}

/* 0, or -ENODEV when the nic died in our sleep. */
static int idle(struct drv *d, struct idle *s, int64_t now)
{
	if ((d->stack_apart && d->poll == FN_POLL_ADAPTIVE &&
	     fn_idle_spin_while(&s->awake, d->poll, now, AWAKE_SPIN_NS,
				fn_stream_peer_awake(&d->link.tx))) ||
	    fn_idle_spin_alone(&s->spin, d->poll, now, IDLE_SPIN_NS,
			       s->load_fd)) {
		drv_count(d, D_SPIN_TURNS, 1);
		return 0;
	}
	return nap(d, s, d->poll == FN_POLL_ADAPTIVE ? NAP_MAX_ADAPTIVE_NS :
						       NAP_MAX_EVENT_NS);
}

static int nic_gone(void)
{
	fn_err("the nic (DPDK primary) is gone: exiting; the supervisor "
	       "restarts us after the nic");
	return -ENODEV;
}

/* Returns 0 on SIGTERM/SIGINT, -ENODEV when the nic died. */
int drv_run(struct drv *d)
{
	struct idle s = { .load_fd = -1 };
	int64_t now = fn_clock_ns(), next_check = now + ALIVE_CHECK_NS;
	unsigned turn = 0, unpolled = 0;
	bool rx_due = true, may_skip = drv_wait_rx_wakes(d);
	int ret = 0;

	if (d->poll == FN_POLL_ADAPTIVE) {
		s.load_fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
		if (s.load_fd < 0)
			fn_warn("/proc/loadavg: %s: adaptive never spins",
				strerror(errno));
	}
	while (!drv_stopping) {
		unsigned work = 0;

		if (rx_due || !may_skip || ++unpolled >= RX_POLL_EVERY) {
			work = drv_nic_rx(d);
			rx_due = work == DRV_BURST;
			unpolled = 0;
		} else {
			drv_count(d, D_RX_SKIPPED, 1);
		}
		work += drv_bcast_rx(d);
		work += drv_steer_rx(d);
		work += drv_link_rx(d);
		/* The clock is cheap (vDSO) but not free: under load read it
		 * only every CLOCK_EVERY turns. */
		if (!work || ++turn % CLOCK_EVERY == 0)
			now = fn_clock_ns();
		if (work) {
			fn_idle_reset(&s.awake);
			fn_idle_reset(&s.spin);
			s.nap = 0;
		} else {
			if (idle(d, &s, now) < 0) {
				ret = nic_gone();
				break;
			}
			/* a spin turn, a nap's end or the rx fd: look */
			rx_due = !d->wait.rx_quiet;
			d->wait.rx_quiet = false;
		}
		if (now >= next_check) {
			next_check = now + ALIVE_CHECK_NS;
			if (!drv_nic_alive()) {
				ret = nic_gone();
				break;
			}
		}
	}
	if (s.load_fd >= 0)
		close(s.load_fd);
	return ret;
}
