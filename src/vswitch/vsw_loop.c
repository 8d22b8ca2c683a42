/*
 * vsw_loop.c - the switch's loop, its poll modes and its sleep.
 *
 * Each turn serves every port once (vsw_fwd.c).  A turn that moved
 * nothing is idle, and what follows depends on FRAGNET_POLL, as in the
 * driver (fragnet/idle.h):
 *
 *   busy      turn again at once, yielding now and then, so that a stack
 *             pinned to our core still runs.
 *   adaptive  turn for FN_ADAPTIVE_SPIN_NS (yielding now and then), then
 *             sleep.
 *   event     sleep at once.
 *
 * SLEEP: one epoll on every port's bell (ring.h DOORBELLS), and on a host
 * port's tap, which is readable when the kernel sent.  Before it
 * blocks, vsw_sleep() arms the receive ring of every live port; a ring
 * that already holds frames means: do not block.  A stack's submit then
 * rings that port's bell.  The sleep lasts at most SLEEP_MAX_MS, or
 * SLEEP_JOIN_MS while a port's stack has not joined its link (its join
 * rings no bell we wait on), so that resets and returning stacks are seen
 * without a bell.  A port cut off (-EPIPE) is not armed: it is polled
 * once a turn for the reset that brings it back.
 *
 * Every AGE_SWEEP_NS the loop empties the expired MAC table entries.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "fragnet/clock.h"
#include "fragnet/idle.h"
#include "fragnet/log.h"
#include "vsw.h"

#define SLEEP_MAX_MS	100
#define SLEEP_JOIN_MS	10
#define AGE_SWEEP_NS	1000000000ll
#define CLOCK_EVERY	256u	/* busy turns between clock reads */

/* The epoll set of every port's bell, made on the first sleep. */
static int bells_epoll(struct vsw *sw)
{
	struct epoll_event ev = { .events = EPOLLIN };

	if (sw->epfd >= 0)
		return 0;
	sw->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sw->epfd < 0)
		return -errno;
	for (unsigned i = 0; i < sw->nports; i++) {
		ev.data.u32 = i;
		if (epoll_ctl(sw->epfd, EPOLL_CTL_ADD,
			      vsw_port_wait_fd(&sw->port[i]), &ev) < 0) {
			int err = -errno;
			close(sw->epfd);
			sw->epfd = -1;
			return err;
		}
	}
	return 0;
}

/* Arm every live port.  Returns the timeout to block for, 0 when a port
 * has work already (or a reset to follow: that is work too). */
static int arm_all(struct vsw *sw, int timeout_ms)
{
	for (unsigned i = 0; i < sw->nports; i++) {
		struct vsw_port *p = &sw->port[i];
		int r;

		if (p->broken || vsw_port_is_host(p))
			continue;	/* polled each turn; a tap wakes epoll */
		if (!fn_link_peer_ready(&p->link) && timeout_ms > SLEEP_JOIN_MS)
			timeout_ms = SLEEP_JOIN_MS;
		r = fn_stream_arm(&p->link.rx);
		/* A reset is reported once: follow it here, or nobody will. */
		if (r < 0)
			vsw_port_link_error(sw, p, r);
		if (r == 0 || r == -ECONNRESET)
			return 0;	/* frames already, or a reset */
	}
	return timeout_ms;
}

static void disarm_all(struct vsw *sw)
{
	for (unsigned i = 0; i < sw->nports; i++)
		if (!vsw_port_is_host(&sw->port[i]))
			fn_stream_disarm(&sw->port[i].link.rx);
}

/* Read the bells that rang, so that they do not ring again.  A tap's
 * frames are the next turn's to read. */
static int bells_read(struct vsw *sw, const struct epoll_event *ev, int n)
{
	uint64_t v;

	for (int i = 0; i < n; i++) {
		unsigned k = ev[i].data.u32;
		if (k < sw->nports && !vsw_port_is_host(&sw->port[k]) &&
		    read(sw->port[k].bell_fd, &v, sizeof(v)) < 0 &&
		    errno != EAGAIN)
			fn_warn("port %u: bell: %s", k, strerror(errno));
	}
	vsw_count(sw, FN_VSW_BELLS, (uint64_t)n);
	return n > 0;
}

int vsw_sleep(struct vsw *sw, int timeout_ms)
{
	struct epoll_event ev[FN_VSW_MAX_PORTS];
	struct timespec nap = { 0, 1000000 };
	int n = 0, t = bells_epoll(sw);

	if (t < 0) {
		/* No epoll (no memory, fd limit): nap instead of spinning. */
		fn_warn("cannot wait on the bells: %s", strerror(-t));
		nanosleep(&nap, NULL);
		return 0;
	}
	t = arm_all(sw, timeout_ms);
	if (t > 0) {
		vsw_count(sw, FN_VSW_SLEEPS, 1);
		n = epoll_wait(sw->epfd, ev, FN_VSW_MAX_PORTS, t);
	}
	disarm_all(sw);
	return n > 0 ? bells_read(sw, ev, n) : 0;
}

void vsw_run(struct vsw *sw, enum fn_poll poll, volatile sig_atomic_t *stop)
{
	struct fn_idle s = { 0, 0 };
	int64_t next_age;
	unsigned turn = 0;

	sw->now_ns = fn_clock_ns();
	next_age = sw->now_ns + AGE_SWEEP_NS;
	while (!*stop) {
		unsigned work = vsw_fwd_turn(sw);

		/* The clock is cheap (vDSO) but not free: under load read it
		 * only every CLOCK_EVERY turns. */
		if (!work || ++turn % CLOCK_EVERY == 0)
			sw->now_ns = fn_clock_ns();
		if (work)
			fn_idle_reset(&s);
		else if (!fn_idle_spin(&s, poll, sw->now_ns, FN_ADAPTIVE_SPIN_NS))
			vsw_sleep(sw, SLEEP_MAX_MS);
		if (sw->now_ns >= next_age) {
			next_age = sw->now_ns + AGE_SWEEP_NS;
			vsw_count(sw, FN_VSW_FDB_AGED,
				  vsw_fdb_age(&sw->fdb, sw->now_ns));
		}
	}
}
