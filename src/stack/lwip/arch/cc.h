/*
 * lwIP port for fragnet-stack: Linux user space, one thread, NO_SYS.
 * lwIP includes this through lwip/arch.h.
 */
#ifndef FRAGNET_LWIP_ARCH_CC_H
#define FRAGNET_LWIP_ARCH_CC_H

#include <endian.h>
#include <stdio.h>
#include <stdlib.h>

#define LWIP_NO_UNISTD_H	0
#define LWIP_RAND()		((u32_t)random())

/* Diagnostics go to stderr, where every fragnet component logs. */
#define LWIP_PLATFORM_DIAG(x)	do { fprintf(stderr, "lwip: "); fprintf x; } while (0)
#define LWIP_PLATFORM_ASSERT(x) do {					\
	fprintf(stderr, "lwip assertion \"%s\" failed at %s:%d\n",	\
		x, __FILE__, __LINE__);					\
	abort();							\
} while (0)

#endif
