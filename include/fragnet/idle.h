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
#define FN_IDLE_RAN_NS		2000	/* a yield this long let a task run */
#define FN_IDLE_LOAD_NS		1000000	/* how long a loadavg answer holds */

struct fn_idle {
	int64_t since;		/* adaptive: start of this idle spell, 0: none */
	unsigned turns;		/* idle turns, for yields */
	bool over;		/* fn_idle_spin_alone: this spell is over */
	/* fn_idle_spin_alone's last look at /proc/loadavg, kept across
	 * spells for FN_IDLE_LOAD_NS (fn_idle_reset leaves it) */
	int64_t load_at;
	bool crowded;
};

static inline void fn_idle_reset(struct fn_idle *s)
{
	s->since = 0;
	s->turns = 0;
	s->over = false;
}

/* An idle turn at now (CLOCK_MONOTONIC ns).  True: poll again (we may
 * have yielded the cpu); false: the caller sleeps now. */
bool fn_idle_spin(struct fn_idle *s, enum fn_poll poll, int64_t now,
		  int64_t spin_ns);

/*
 * The same, for a loop whose next work most likely comes from one peer
 * that it can see (the driver: its stack), in adaptive mode: spin only
 * while that peer is awake (peer_awake: fn_stream_peer_awake()), for at
 * most spin_ns, and yield the cpu on every idle turn.  A peer that sleeps
 * will send nothing before something wakes it, and that something (a
 * frame) wakes us too: sleep at once.  A peer that is awake on another
 * cpu may soon reply, and its reply then finds us awake, so that it costs
 * neither side a wake-up.  Beside the peer, on its cpu, the spin would
 * take that peer's cpu: the driver calls this only for a stack pinned
 * elsewhere (docs/driver.md, Poll modes).  busy and event as
 * fn_idle_spin().
 */
bool fn_idle_spin_while(struct fn_idle *s, enum fn_poll poll, int64_t now,
			int64_t spin_ns, bool peer_awake);

/*
 * adaptive, for a loop whose work comes from another cpu (the driver: the
 * frames that a client's send queues on the tap): poll again while this
 * cpu would otherwise be idle, for at most spin_ns from the first idle
 * turn, so that the next frame finds us awake and its sender wakes no one
 * (docs/driver.md, "Polling an idle cpu").  Every turn yields the cpu; the
 * spell ends at the first yield after which another task had run (it took
 * longer than FN_IDLE_RAN_NS), and does not begin when the machine has
 * more runnable tasks than cpus (read from load_fd, an open /proc/loadavg,
 * at most every FN_IDLE_LOAD_NS; -1: never spin).  The yield alone cannot
 * tell: a task that a fair scheduler deems ahead of its share is passed
 * over by the yield, and we would spin through the share that it is owed.
 * busy and event as fn_idle_spin().
 */
bool fn_idle_spin_alone(struct fn_idle *s, enum fn_poll poll, int64_t now,
			int64_t spin_ns, int load_fd);

/* The number of runnable tasks in /proc/loadavg's text ("0.52 0.58 0.59
 * 2/345 6789"), or UINT_MAX when the text has no such field. */
unsigned fn_loadavg_running(const char *text);

#endif /* FRAGNET_IDLE_H */
