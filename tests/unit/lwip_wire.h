/*
 * lwip_wire.h - a loopback wire for lwIP, shared by the tests of the
 * stack's socket service (test_sockchan.c, fuzz/fuzz_sockserv.c): one
 * netif at 10.0.0.1/24 whose output is queued, a clone of each frame,
 * dropped when the queue is full as a wire would drop it, and fed back
 * into its input by lo_wire_drain().
 *
 *   lo_wire_up()      after lwip_init(): the netif, default and up
 *   lo_wire_drain()   in the service loop: up to max queued frames in
 *   lo_wire_purge()   at the end: free what is still queued
 *
 * Single-threaded, like lwIP: every call from the thread that runs lwIP.
 * Header-only (static functions); include after lwIP's headers.
 */
#ifndef FN_TEST_LWIP_WIRE_H
#define FN_TEST_LWIP_WIRE_H

#include <stdatomic.h>

#include "lwip/ip.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"

#define LO_WIRE_IP	0x0100000au	/* 10.0.0.1, network order */

struct lo_wire {
	struct netif nif;
	struct pbuf **q;	/* qlen entries, the caller's */
	unsigned qlen;
	unsigned head, tail;	/* free-running */
};

static err_t lo_wire_output(struct netif *n, struct pbuf *p,
			    const ip4_addr_t *a)
{
	struct lo_wire *w = n->state;
	struct pbuf *c;

	(void)a;
	if (w->tail - w->head == w->qlen)
		return ERR_OK;	/* dropped, as a wire would */
	c = pbuf_clone(PBUF_RAW, PBUF_RAM, p);
	if (c)
		w->q[w->tail++ % w->qlen] = c;
	return ERR_OK;
}

static err_t lo_wire_init(struct netif *n)
{
	n->output = lo_wire_output;
	n->mtu = 1500;
	n->flags = NETIF_FLAG_UP | NETIF_FLAG_LINK_UP;
	return ERR_OK;
}

/* The wire over q[qlen], its netif at 10.0.0.1/24, default and up. */
static void lo_wire_up(struct lo_wire *w, struct pbuf **q, unsigned qlen)
{
	ip4_addr_t ip, mask, gw;

	w->q = q;
	w->qlen = qlen;
	w->head = w->tail = 0;
	ip4_addr_set_u32(&ip, LO_WIRE_IP);
	ip4_addr_set_u32(&mask, 0x00ffffffu);
	ip4_addr_set_u32(&gw, 0);
	netif_add(&w->nif, &ip, &mask, &gw, w, lo_wire_init, ip_input);
	netif_set_default(&w->nif);
	netif_set_up(&w->nif);
}

/* Feed up to max queued frames into the netif's input, none while
 * *stall (NULL: never stalled): how many. */
static int lo_wire_drain(struct lo_wire *w, int max, const _Atomic int *stall)
{
	int n = 0;

	while (w->head != w->tail && n < max && !(stall && *stall)) {
		struct pbuf *p = w->q[w->head++ % w->qlen];

		if (w->nif.input(p, &w->nif) != ERR_OK)
			pbuf_free(p);
		n++;
	}
	return n;
}

/* Free every frame still queued. */
static void lo_wire_purge(struct lo_wire *w)
{
	while (w->head != w->tail)
		pbuf_free(w->q[w->head++ % w->qlen]);
}

#endif
