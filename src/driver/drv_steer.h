/*
 * drv_steer.h - which pipeline a frame is for, by its destination MAC
 * (docs/driver.md, "Steering and hairpin").  Pure: no DPDK, so that the
 * unit tests (tests/unit/test_drv_steer.c) link it alone.
 *
 * With [stack] addressing = per-pipeline every pipeline's uplink has a MAC
 * of its own (fn_pipeline_conf.stack_mac).  Queue j is pipeline j's, so
 * the table is queue j -> MAC j.  A driver asks drv_steer_pick() for each
 * frame it takes from its NIC queue (is it a sibling's? steer it there)
 * and for each frame its stack sends (is it a sibling's? hairpin it, not
 * the NIC).  With addressing = shared the table is empty: nothing steers.
 */
#ifndef FRAGNET_DRV_STEER_H
#define FRAGNET_DRV_STEER_H

#include <stdint.h>

#include "fragnet/config.h"

enum {
	DRV_STEER_LOCAL = -1,	/* ours, or no pipeline's: our own link */
	DRV_STEER_ALL = -2,	/* a group address: every pipeline's */
};

struct drv_steer {
	unsigned n;		/* queues in the table; 0: shared, no steering */
	unsigned self;		/* our queue */
	uint8_t mac[FN_MAX_PIPELINES][6];	/* [j]: pipeline j's uplink */
};

/*
 * The table of driver `self` of cfg, whose NIC has nqueues queues:
 * empty with addressing = shared or a single queue.  Every queue's
 * pipeline has an uplink (fn_config check_queues: the pipelines with a
 * driver come first), so every MAC is set.
 */
void drv_steer_init(struct drv_steer *t, const struct fn_config *cfg,
		    unsigned self, unsigned nqueues);

/* Where a frame to dst goes: a sibling's queue j (!= self),
 * DRV_STEER_LOCAL or DRV_STEER_ALL (the group bit: broadcast, multicast).
 * With an empty table: LOCAL or ALL. */
int drv_steer_pick(const struct drv_steer *t, const uint8_t dst[6]);

#endif /* FRAGNET_DRV_STEER_H */
