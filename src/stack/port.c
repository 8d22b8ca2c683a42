/*
 * port.c - what lwIP (NO_SYS=1) needs from the OS: a millisecond clock for
 * its timers, and the seed of LWIP_RAND() (arch/cc.h: random()).
 */
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "lwip/sys.h"

#include "stack.h"

/* lwIP's clock: milliseconds, wrapping at 2^32 (lwIP compares with
 * differences, so the wrap after 49 days is harmless).  CLOCK_MONOTONIC:
 * timers must not jump with the wall clock. */
u32_t sys_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

/* LWIP_RAND() picks the first ephemeral ports and IP ids (and, with a
 * hook, TCP ISNs): a restarted stack must not repeat the last one's. */
void stk_port_init(void)
{
	unsigned seed;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (unsigned)sys_now() ^ (unsigned)clock();
	srandom(seed);
}
