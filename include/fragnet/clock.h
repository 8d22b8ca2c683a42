/*
 * fragnet/clock.h - the one monotonic clock every fragnet process reads.
 *
 * CLOCK_MONOTONIC, never the wall clock: deadlines, timers and rate
 * limits must not jump when the time is set, and every process on the
 * host reads the same clock, so times taken in the driver and in the
 * stack compare (fragnet/trace.h joins them by it).
 *
 * Signed 64-bit so that deadline - now is negative once a deadline has
 * passed; nanoseconds last 292 years from boot.
 *
 * Static inline, not in libfragnet's archive: the hot paths (driver and
 * stack loops, the filter per frame) pay only the vDSO call, and the
 * LD_PRELOAD library gets no extra symbol to hide.
 */
#ifndef FRAGNET_CLOCK_H
#define FRAGNET_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t fn_clock_read(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Nanoseconds of CLOCK_MONOTONIC. */
static inline int64_t fn_clock_ns(void)
{
	return fn_clock_read(CLOCK_MONOTONIC);
}

/* Milliseconds of CLOCK_MONOTONIC: poll and epoll timeouts, deadlines. */
static inline int64_t fn_clock_ms(void)
{
	return fn_clock_ns() / 1000000;
}

/* CLOCK_MONOTONIC_COARSE: the time of the last tick (a few ms steps),
 * about 5 ns a call instead of about 30.  For per-packet stamps that only
 * count timeouts in ticks, as the kernel's jiffies do. */
static inline int64_t fn_clock_coarse_ns(void)
{
	return fn_clock_read(CLOCK_MONOTONIC_COARSE);
}

#endif /* FRAGNET_CLOCK_H */
