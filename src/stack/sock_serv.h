/*
 * sock_serv.h - fragnet-stack's side (B) of the socket channel
 * (fragnet/sockchan.h): the app's requests performed with lwIP's raw API.
 *
 * Call sequence, all from the stack loop (lwIP is NO_SYS, one thread):
 *   ss_open() -> per loop turn ss_poll() -> ss_close().
 * One service per stack process (lwIP's callbacks find it through a
 * file-static pointer).
 */
#ifndef FRAGNET_SOCK_SERV_H
#define FRAGNET_SOCK_SERV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "fragnet/stream.h"

/* Counters ("sock.<name>" on the stats page). */
enum ss_ctr {
	SS_REQUESTS,		/* requests performed */
	SS_EVENTS,		/* events posted */
	SS_VIOLATIONS,		/* requests that cut the channel off */
	SS_CUTOFFS,		/* times the channel was cut off */
	SS_RESETS,		/* channel resets followed (app died) */
	SS_ABORTED,		/* sockets aborted by a cut-off or reset */
	SS_UDP_DROP_NOSLOT,	/* datagrams dropped: no event slot */
	SS_UDP_DROP_TOO_BIG,	/* datagrams dropped: larger than a slot */
	SS_TCP_REFUSED,		/* tcp_recv refused (ERR_MEM): no event slot,
				 * or other sockets starved first */
	SS_ACCEPT_REFUSED,	/* connections aborted: max_tcp or no slot */
	SS_SEND_HELD,		/* sends (or parts) held: lwIP's queue full */
	SS_SEND_OVER_CREDIT,	/* SEND bytes beyond the credit, dropped */
	SS_CLOSE_RST,		/* CLOSEs that reset: unread data, or lwIP's */
	SS_TCP_STARVED,		/* sockets put on the starved list */
	SS_TCP_STARVED_SERVED,	/* refused data delivered from that list */
	SS_ACCEPTED,		/* connections accepted (taken off a listener) */
	SS_TCP_OPEN,		/* gauge: open connections, against max_tcp */
	SS_CTR_COUNT
};

extern const char *const ss_ctr_names[SS_CTR_COUNT];

struct ss_sock;
struct ss_slot;

struct sock_serv {
	struct fn_link chan;		/* side B */
	int app_bell_fd;		/* we ring it, or -1 */
	int stack_bell_fd;		/* we wait on it, or -1 */
	bool broken;			/* cut off until the next reset */
	uint32_t max_socks, max_tcp;
	uint32_t ntcp;			/* open connections (tcp_count()) */
	uint32_t reset_epoch;		/* channel epoch whose reset we followed */
	struct ss_sock *sock;		/* by id; [0] unused */
	uint32_t nsock;			/* ids handed out so far + 1 */
	uint32_t cap;
	uint32_t free_id;		/* free list of ids, 0 = none */
	struct ss_slot *slot;		/* per event slot: what it carries */
	uint32_t free_slots;		/* event slots free at the last count */
	uint32_t *dirty;		/* sockets with pending events */
	uint32_t ndirty;
	bool dirty_stuck;		/* every dirty socket waits for slots */
	uint32_t *outq;			/* TCP sockets written this turn */
	uint32_t nout;
	uint32_t starved_head;		/* TCP sockets whose data lwIP */
	uint32_t starved_tail;		/* holds refused, FIFO; 0 = none */
	_Atomic uint64_t *ctr;		/* SS_CTR_COUNT */
	_Atomic uint64_t own_ctr[SS_CTR_COUNT];
};

/*
 * Attach the channel (side B) and its bells (-1: none).  max_tcp bounds
 * the app's open TCP connections (sock_serv.c, MAX_TCP), max_socks socket
 * ids.  chan_fd is not kept.  0 or -errno.
 */
int ss_open(struct sock_serv *ss, int chan_fd, int app_bell_fd,
	    int stack_bell_fd, uint32_t max_tcp, uint32_t max_socks);
void ss_close(struct sock_serv *ss);

/* One turn: acks, requests, pending events.  Work done (> 0) or 0. */
int ss_poll(struct sock_serv *ss);

/* Arm the channel's rings before blocking on stack_bell_fd: 1 armed,
 * 0 work is there; ss_disarm() after waking. */
int ss_arm(struct sock_serv *ss);
void ss_disarm(struct sock_serv *ss);

void ss_bind_counters(struct sock_serv *ss, _Atomic uint64_t *ctr);

#endif /* FRAGNET_SOCK_SERV_H */
