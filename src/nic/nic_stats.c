/*
 * nic_stats.c - fragnet-nic's stats page: the port's counters as the PMD
 * reports them, copied every NIC_TICK_MS from the idle loop.
 *
 * The nic does no packet I/O; its drivers do, in other processes.  The
 * ethdev counters live in the port's shared data (for the tap, in the
 * PMD's private data in hugepage memory; for ixgbe, in the hardware), so
 * rte_eth_stats_get() here sees every driver's traffic.  Values are
 * snapshots, stored, not added.
 *
 * Counters (names as `fragnet stats` shows them):
 *   ipackets opackets ibytes obytes imissed ierrors oerrors rx_nombuf
 *   mbufs_in_use   mbufs taken from FN_DPDK_POOL (rx rings included)
 *   link_up link_speed_mbps
 *   queueQ.rx queueQ.tx    per queue, for the first
 *                          RTE_ETHDEV_QUEUE_STAT_CNTRS queues
 *   queueQ.bcast_pending   frames waiting in queue Q's broadcast ring
 *   queueQ.steer_pending   frames waiting in queue Q's steer ring
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_ethdev.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "fragnet/log.h"
#include "nic.h"

enum {
	C_IPACKETS, C_OPACKETS, C_IBYTES, C_OBYTES, C_IMISSED, C_IERRORS,
	C_OERRORS, C_RX_NOMBUF, C_MBUFS, C_LINK_UP, C_LINK_SPEED, C_COUNT
};

static const char *const port_names[C_COUNT] = {
	"ipackets", "opackets", "ibytes", "obytes", "imissed", "ierrors",
	"oerrors", "rx_nombuf", "mbufs_in_use", "link_up", "link_speed_mbps",
};

enum { Q_RX, Q_TX, Q_BCAST, Q_STEER, Q_COUNT };

static const char *const queue_names[Q_COUNT] = {
	"rx", "tx", "bcast_pending", "steer_pending",
};

struct nic_stats {
	struct nic *n;
	bool private;			/* no page: fn_stats_block() calloc'd */
	_Atomic uint64_t *port;			/* [C_COUNT] */
	_Atomic uint64_t *queue[FN_MAX_PIPELINES];	/* [Q_COUNT] each */
};

static void ctr_set(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, v, memory_order_relaxed);
}

/* page may be NULL (run by hand): counters then go to private memory. */
struct nic_stats *nic_stats_open(struct nic *n, struct fn_stats_page *page)
{
	struct nic_stats *st = calloc(1, sizeof(*st));
	char prefix[16];

	if (!st)
		return NULL;
	st->n = n;
	st->private = page == NULL;
	st->port = fn_stats_block(page, NULL, port_names, C_COUNT);
	for (unsigned q = 0; st->port && q < n->queues; q++) {
		snprintf(prefix, sizeof(prefix), "queue%u", q);
		st->queue[q] = fn_stats_block(page, prefix, queue_names,
					      Q_COUNT);
		if (!st->queue[q])
			break;
	}
	if (!st->port || (n->queues && !st->queue[n->queues - 1])) {
		fn_warn("stats page full: some nic counters are not shown");
		if (!st->port) {
			nic_stats_close(st);
			return NULL;
		}
	}
	return st;
}

void nic_stats_update(struct nic_stats *st)
{
	struct nic *n = st->n;
	struct rte_eth_stats es;
	struct rte_eth_link link;
	_Atomic uint64_t *c = st->port;

	if (rte_eth_stats_get(n->port, &es) == 0) {
		ctr_set(&c[C_IPACKETS], es.ipackets);
		ctr_set(&c[C_OPACKETS], es.opackets);
		ctr_set(&c[C_IBYTES], es.ibytes);
		ctr_set(&c[C_OBYTES], es.obytes);
		ctr_set(&c[C_IMISSED], es.imissed);
		ctr_set(&c[C_IERRORS], es.ierrors);
		ctr_set(&c[C_OERRORS], es.oerrors);
		ctr_set(&c[C_RX_NOMBUF], es.rx_nombuf);
		for (unsigned q = 0; q < n->queues &&
		     q < RTE_ETHDEV_QUEUE_STAT_CNTRS && st->queue[q]; q++) {
			ctr_set(&st->queue[q][Q_RX], es.q_ipackets[q]);
			ctr_set(&st->queue[q][Q_TX], es.q_opackets[q]);
		}
	}
	for (unsigned q = 0; q < n->queues && st->queue[q]; q++) {
		ctr_set(&st->queue[q][Q_BCAST], rte_ring_count(n->bcast[q]));
		ctr_set(&st->queue[q][Q_STEER], rte_ring_count(n->steer[q]));
	}
	ctr_set(&c[C_MBUFS], rte_mempool_in_use_count(n->pool));
	if (rte_eth_link_get_nowait(n->port, &link) == 0) {
		ctr_set(&c[C_LINK_UP], link.link_status == RTE_ETH_LINK_UP);
		ctr_set(&c[C_LINK_SPEED], link.link_status == RTE_ETH_LINK_UP &&
			link.link_speed != RTE_ETH_SPEED_NUM_UNKNOWN ?
			link.link_speed : 0);
	}
}

void nic_stats_close(struct nic_stats *st)
{
	if (!st)
		return;
	if (st->private) {
		free((void *)st->port);
		for (unsigned q = 0; q < FN_MAX_PIPELINES; q++)
			free((void *)st->queue[q]);
	}
	free(st);
}
