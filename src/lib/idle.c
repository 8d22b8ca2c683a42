/*
 * idle.c - the idle turns of a poll loop (see fragnet/idle.h).
 * Called by fragnet-driver (drv_loop.c) and fragnet-vswitch (vsw_loop.c).
 */
#include <sched.h>

#include "fragnet/idle.h"

static bool yield_every(struct fn_idle *s, unsigned every)
{
	if (++s->turns % every == 0)
		sched_yield();
	return true;
}

bool fn_idle_spin(struct fn_idle *s, enum fn_poll poll, int64_t now,
		  int64_t spin_ns)
{
	switch (poll) {
	case FN_POLL_BUSY:
		return yield_every(s, FN_IDLE_BUSY_YIELD);
	case FN_POLL_ADAPTIVE:
		if (!s->since)
			s->since = now;
		if (now - s->since < spin_ns)
			return yield_every(s, FN_IDLE_SPIN_YIELD);
		return false;
	case FN_POLL_EVENT:
	default:
		return false;
	}
}

bool fn_idle_spin_while(struct fn_idle *s, enum fn_poll poll, int64_t now,
			int64_t spin_ns, bool peer_awake)
{
	if (poll != FN_POLL_ADAPTIVE)
		return fn_idle_spin(s, poll, now, spin_ns);
	if (!peer_awake)
		return false;
	if (!s->since)
		s->since = now;
	if (now - s->since >= spin_ns)
		return false;
	return yield_every(s, 1);
}
