/*
 * drv_loop.c - the driver's main loop and its poll modes.
 *
 * Each turn polls every source once (drv_path.c): NIC rx queue q, our
 * broadcast ring, our steer ring, the stack's stream.  A turn that moved nothing is idle,
 * and what follows depends on FRAGNET_POLL (fragnet/idle.h):
 *
 *   busy      poll again at once, yielding now and then, so that the stack
 *             pinned to our core still runs.
 *   adaptive  poll while the stack is awake, for at most IDLE_SPIN_NS,
 *             yielding the cpu every idle turn; then sleep (fragnet/idle.h,
 *             fn_idle_spin_while).
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
 * Every ALIVE_CHECK_NS of work the loop checks that the nic (the DPDK
 * primary) still lives: the tap's queue fds would keep working without
 * it, but our memory and port state are its, so we leave (DRV_EXIT_NIC).
 * Asleep, its pidfd wakes us instead (or, without one, the sleep is cut
 * to ALIVE_CHECK_NS).
 */
#include <errno.h>
#include <time.h>

#include "fragnet/clock.h"
#include "fragnet/idle.h"
#include "fragnet/log.h"
#include "drv.h"

#define IDLE_SPIN_NS		30000ll
#define NAP_MIN_NS		50000ll
#define NAP_MAX_ADAPTIVE_NS	200000ll
#define NAP_MAX_EVENT_NS	1000000ll
#define ALIVE_CHECK_NS		200000000ll
#define CLOCK_EVERY		256u	/* busy turns between clock reads */

struct idle {
	struct fn_idle spin;
	int64_t nap;		/* the last nap, 0: none yet */
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
	if (fn_idle_spin_while(&s->spin, d->poll, now, IDLE_SPIN_NS,
			       fn_stream_peer_awake(&d->link.tx)))
		return 0;
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
	struct idle s = { { 0, 0 }, 0 };
	int64_t now = fn_clock_ns(), next_check = now + ALIVE_CHECK_NS;
	unsigned turn = 0;

	while (!drv_stopping) {
		unsigned work = drv_nic_rx(d);

		work += drv_bcast_rx(d);
		work += drv_steer_rx(d);
		work += drv_link_rx(d);
		/* The clock is cheap (vDSO) but not free: under load read it
		 * only every CLOCK_EVERY turns. */
		if (!work || ++turn % CLOCK_EVERY == 0)
			now = fn_clock_ns();
		if (work)
			s = (struct idle){ { 0, 0 }, 0 };
		else if (idle(d, &s, now) < 0)
			return nic_gone();
		if (now >= next_check) {
			next_check = now + ALIVE_CHECK_NS;
			if (!drv_nic_alive())
				return nic_gone();
		}
	}
	return 0;
}
