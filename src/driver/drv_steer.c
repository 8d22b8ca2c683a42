/*
 * drv_steer.c - the steering table and decision (drv_steer.h).  Called by
 * fragnet-driver.c at setup (drv_steer_init) and by drv_path.c per frame
 * (drv_steer_pick).
 */
#include <string.h>

#include "drv_steer.h"

void drv_steer_init(struct drv_steer *t, const struct fn_config *cfg,
		    unsigned self, unsigned nqueues)
{
	memset(t, 0, sizeof(*t));
	t->self = self;
	if (cfg->stack.addressing != FN_ADDRESSING_PER_PIPELINE ||
	    nqueues < 2 || nqueues > FN_MAX_PIPELINES || self >= nqueues ||
	    nqueues > cfg->npipelines)
		return;
	for (unsigned j = 0; j < nqueues; j++)
		memcpy(t->mac[j], cfg->pipeline[j].stack_mac, 6);
	t->n = nqueues;
}

/* Our own MAC first: on a tap the kernel's flow hash mostly picks the
 * right queue already.  Then a linear look: a NIC has a few queues. */
int drv_steer_pick(const struct drv_steer *t, const uint8_t dst[6])
{
	if (dst[0] & 1)
		return DRV_STEER_ALL;
	if (t->n == 0 || memcmp(dst, t->mac[t->self], 6) == 0)
		return DRV_STEER_LOCAL;
	for (unsigned j = 0; j < t->n; j++)
		if (j != t->self && memcmp(dst, t->mac[j], 6) == 0)
			return (int)j;
	return DRV_STEER_LOCAL;
}
