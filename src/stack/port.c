/*
 * port.c - what lwIP (NO_SYS=1) needs from the OS: a millisecond clock for
 * its timers, and the seed of LWIP_RAND() (arch/cc.h: random()).
 */
#include <stdlib.h>
#include <sys/random.h>

#include "lwip/sys.h"

#include "fragnet/clock.h"
#include "stack.h"

/* lwIP's clock: milliseconds, wrapping at 2^32 (lwIP compares with
 * differences, so the wrap after 49 days is harmless). */
u32_t sys_now(void)
{
	return (u32_t)fn_clock_ms();
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
