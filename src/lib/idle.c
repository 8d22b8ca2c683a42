/*
 * idle.c - the idle turns of a poll loop (see fragnet/idle.h).
 * Called by fragnet-driver (drv_loop.c) and fragnet-vswitch (vsw_loop.c).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fragnet/clock.h"
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

unsigned fn_loadavg_running(const char *text)
{
	const char *slash = strchr(text, '/'), *p = slash;
	unsigned long n;
	char *end;

	if (!slash)
		return UINT_MAX;
	while (p > text && isdigit((unsigned char)p[-1]))
		p--;
	if (p == slash)
		return UINT_MAX;
	errno = 0;
	n = strtoul(p, &end, 10);
	return end == slash && !errno && n < UINT_MAX ? (unsigned)n : UINT_MAX;
}

/* More runnable tasks than cpus, or no way to tell. */
static bool crowded(int load_fd)
{
	static long ncpu;
	char buf[128];
	ssize_t n;

	if (load_fd < 0)
		return true;
	if (!ncpu)
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	n = pread(load_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0 || ncpu <= 0)
		return true;
	buf[n] = '\0';
	return fn_loadavg_running(buf) > (unsigned long)ncpu;
}

bool fn_idle_spin_alone(struct fn_idle *s, enum fn_poll poll, int64_t now,
			int64_t spin_ns, int load_fd)
{
	int64_t t;

	if (poll != FN_POLL_ADAPTIVE)
		return fn_idle_spin(s, poll, now, spin_ns);
	if (s->over)
		return false;
	if (!s->since) {
		s->since = now;
		if (!s->load_at || now - s->load_at >= FN_IDLE_LOAD_NS) {
			s->load_at = now;
			s->crowded = crowded(load_fd);
		}
		if (s->crowded) {
			s->over = true;
			return false;
		}
	}
	if (now - s->since >= spin_ns)
		return false;
	t = fn_clock_ns();
	sched_yield();
	if (fn_clock_ns() - t > FN_IDLE_RAN_NS) {
		s->over = true;
		return false;
	}
	return true;
}
