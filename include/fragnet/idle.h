/*
 * fragnet/idle.h - what a component's poll loop does with a turn that
 * found no work, per its poll mode (stream.h, POLL MODES).
 *
 * For loops that poll several sources (the driver: NIC, broadcast ring,
 * link; the vswitch: every port) and so cannot leave the spinning to
 * fn_stream_wait():
 *
 *   busy      poll again; sched_yield() every FN_IDLE_BUSY_YIELD idle
 *             turns, so that a peer pinned to our core still runs.
 *   adaptive  poll again for spin_ns from the first idle turn, yielding
 *             every FN_IDLE_SPIN_YIELD turns; then sleep.
 *   event     sleep at once.
 *
 * How to sleep is the caller's: a nap on a link, an epoll on doorbells.
 * Call fn_idle_reset() after every turn that did work.
 */
#ifndef FRAGNET_IDLE_H
#define FRAGNET_IDLE_H

#include <stdbool.h>
#include <stdint.h>

#include "fragnet/stream.h"	/* enum fn_poll */

#define FN_IDLE_BUSY_YIELD	1024u
#define FN_IDLE_SPIN_YIELD	16u

struct fn_idle {
	int64_t since;		/* adaptive: start of this idle spell, 0: none */
	unsigned turns;		/* idle turns, for yields */
};

static inline void fn_idle_reset(struct fn_idle *s)
{
	s->since = 0;
	s->turns = 0;
}

/* An idle turn at now (CLOCK_MONOTONIC ns).  True: poll again (we may
 * have yielded the cpu); false: the caller sleeps now. */
bool fn_idle_spin(struct fn_idle *s, enum fn_poll poll, int64_t now,
		  int64_t spin_ns);

#endif /* FRAGNET_IDLE_H */
