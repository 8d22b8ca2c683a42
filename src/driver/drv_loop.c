/*
 * drv_loop.c - the driver's main loop and its poll modes.
 *
 * Each turn polls all three sources once (drv_path.c): NIC rx queue q, our
 * broadcast ring, the stack's stream.  A turn that moved nothing is idle,
 * and what follows depends on FRAGNET_POLL (fragnet/idle.h):
 *
 *   busy      poll again at once, yielding now and then, so that the stack
 *             pinned to our core still runs.
 *   adaptive  poll for IDLE_SPIN_NS (yielding now and then), then nap.
 *   event     nap at once.
 *
 * A nap is fn_stream_wait(&link.rx, nap): asleep on the link's futex, so
 * a frame from the stack wakes us at once.  The NIC and the broadcast
 * ring cannot wake us (no rx interrupts in a tap secondary: see
 * docs/driver.md), so the nap is short: it starts at NAP_MIN_NS, doubles
 * while idle up to NAP_MAX_EVENT_NS / NAP_MAX_ADAPTIVE_NS, and any work
 * resets it.  A frame from the wire waits at most one nap.
 *
 * Every ALIVE_CHECK_NS the loop checks that the nic (the DPDK primary)
 * still lives: the tap's queue fds would keep working without it, but our
 * memory and port state are its, so we leave (DRV_EXIT_NIC).
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

static void sleep_ns(int64_t ns)
{
	struct timespec ts = { ns / 1000000000ll, (long)(ns % 1000000000ll) };

	nanosleep(&ts, NULL);
}

static void nap(struct drv *d, struct idle *s, int64_t max)
{
	int r;

	s->nap = s->nap ? s->nap * 2 : NAP_MIN_NS;
	if (s->nap > max)
		s->nap = max;
	drv_count(d, D_IDLE_NAPS, 1);
	r = fn_stream_wait(&d->link.rx, s->nap);
	if (r >= 0)
		return;
	drv_link_error(d, r);
	/* A stack cut off makes the wait return at once: nap anyway. */
	if (r == -EPIPE)
		sleep_ns(s->nap);
}

static void idle(struct drv *d, struct idle *s, int64_t now)
{
	if (fn_idle_spin(&s->spin, d->poll, now, IDLE_SPIN_NS))
		return;
	nap(d, s, d->poll == FN_POLL_ADAPTIVE ? NAP_MAX_ADAPTIVE_NS :
						NAP_MAX_EVENT_NS);
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
		work += drv_link_rx(d);
		/* The clock is cheap (vDSO) but not free: under load read it
		 * only every CLOCK_EVERY turns. */
		if (!work || ++turn % CLOCK_EVERY == 0)
			now = fn_clock_ns();
		if (work)
			s = (struct idle){ { 0, 0 }, 0 };
		else
			idle(d, &s, now);
		if (now >= next_check) {
			next_check = now + ALIVE_CHECK_NS;
			if (!drv_nic_alive()) {
				fn_err("the nic (DPDK primary) is gone: exiting; the "
				       "supervisor restarts us after the nic");
				return -ENODEV;
			}
		}
	}
	return 0;
}
