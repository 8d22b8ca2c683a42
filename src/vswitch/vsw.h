/*
 * vsw.h - internal interfaces of fragnet-vswitch, the learning L2 switch
 * of one internal network (contract: fragnet/vswitch.h).
 *
 * Modules (the core is a static library, so that the unit tests and the
 * fuzz target drive the very code the binary runs):
 *   vsw_fdb.c          the MAC table: hashed, fixed size, aging
 *   vsw_port.c         a port: attach, counters, and the port security
 *                      check of one frame (vsw_frame_check)
 *   vsw_host.c         the host port: a tap instead of a link
 *   vsw_fwd.c          one turn: every port's burst, learn, forward, flood
 *   vsw_cap.c          the capture points: rx, tx, drops (capture.h)
 *   vsw_loop.c         the loop: poll modes, the epoll sleep on the bells
 *   fragnet-vswitch.c  main: environment, port table, stats, signals
 *
 * Everything runs on one thread; nothing here is thread safe or needs to
 * be.  No call allocates per frame: the table, the ports and their
 * pending copies are fixed arrays.
 */
#ifndef FRAGNET_VSW_H
#define FRAGNET_VSW_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "fragnet/capture.h"
#include "fragnet/stats.h"
#include "fragnet/stream.h"
#include "fragnet/vswitch.h"

#define VSW_ETH_HLEN	14
#define VSW_ARP_LEN	28
/* The bytes the checks read: Ethernet + ARP, which covers IPv4's source. */
#define VSW_HDR_COPY	(VSW_ETH_HLEN + VSW_ARP_LEN)
/* The longest frame to or from a host port's tap. */
#define VSW_TAP_FRAME	2048

/* ---- vsw_fdb.c: the MAC table ------------------------------------------- */

#define VSW_FDB_WAYS	4	/* entries per bucket */
#define VSW_FDB_BUCKETS	64	/* power of two */
#define VSW_FDB_NONE	0xffffu	/* port of an empty entry */

struct vsw_fdb_ent {
	uint64_t mac;		/* 48 bits, first byte highest */
	int64_t seen_ns;	/* last frame from it */
	uint16_t port;		/* VSW_FDB_NONE: empty */
};

struct vsw_fdb {
	struct vsw_fdb_ent ent[VSW_FDB_BUCKETS][VSW_FDB_WAYS];
	uint64_t seed;		/* hash key: MACs cannot be chosen to collide */
	int64_t age_ns;
};

/* What vsw_fdb_learn() did. */
enum vsw_fdb_event {
	VSW_FDB_REFRESHED,	/* known on this port: seen again */
	VSW_FDB_LEARNED,	/* new, in a free or expired entry */
	VSW_FDB_MOVED,		/* known on another port: now this one */
	VSW_FDB_EVICTED,	/* new, in place of the bucket's oldest */
};

void vsw_fdb_init(struct vsw_fdb *f, int64_t age_ns, uint64_t seed);
enum vsw_fdb_event vsw_fdb_learn(struct vsw_fdb *f, const uint8_t mac[6],
				 unsigned port, int64_t now_ns);
/* The port mac was learnt on, or -1 (unknown or expired). */
int vsw_fdb_lookup(struct vsw_fdb *f, const uint8_t mac[6], int64_t now_ns);
/* Empty the expired entries; returns how many. */
unsigned vsw_fdb_age(struct vsw_fdb *f, int64_t now_ns);
/* Forget every MAC of port; returns how many. */
unsigned vsw_fdb_flush_port(struct vsw_fdb *f, unsigned port);

/* ---- vsw_port.c: a port and its security check ------------------------- */

/* What a port may send from (vswitch.h, PORT SECURITY). */
struct vsw_id {
	uint8_t mac[6];
	uint32_t ipv4;		/* network order */
};

/* A frame that passed the check: the checked bytes are OUR copy, and
 * only the bytes after them are still read from the peer's slot. */
struct vsw_frame {
	uint8_t hdr[VSW_HDR_COPY];	/* copied out, then checked */
	uint32_t hdr_len;		/* min(len, VSW_HDR_COPY) */
	uint32_t len;			/* our copy of the descriptor's */
	const uint8_t *data;		/* the slot: the peer may write it */
};

struct vsw_port {
	struct fn_link link;	/* we are side A; unused for a host port */
	struct vsw_id id;
	unsigned idx;		/* in the table, and the MAC table's port */
	int bell_fd;		/* the stack rings it, we wait on it; -1 */
	int tap_fd;		/* a host port's tap (vswitch.h); -1: a link */
	bool attached;
	bool broken;		/* -EPIPE seen; cleared by a reset */
	uint32_t reset_epoch;	/* the last epoch counted in link_resets */
	struct fn_pkt out[FN_VSW_BURST];	/* copies to submit */
	unsigned nout;
	_Atomic uint64_t *ctr;	/* FN_VSW_P_COUNT: stats page or own */
	_Atomic uint64_t own_ctr[FN_VSW_P_COUNT];
};

/*
 * Judge a frame of len bytes from a port whose identity is id: copy its
 * header into f, check the copy.  True: forward f (f->data = data).
 * False: drop it; *why is the port counter to bump.
 */
bool vsw_frame_check(const struct vsw_id *id, const uint8_t *data,
		     uint32_t len, struct vsw_frame *f,
		     enum fn_vsw_port_ctr *why);
/* Write f into dst (room for f->len bytes): our header copy, then the
 * rest of the frame from the slot. */
void vsw_frame_copy(const struct vsw_frame *f, uint8_t *dst);

static inline void vsw_port_count(struct vsw_port *p, enum fn_vsw_port_ctr c,
				  uint64_t v)
{
	fn_ctr_add(&p->ctr[c], v);
}

/* ---- vsw_fwd.c: the switch ---------------------------------------------- */

struct vsw {
	struct vsw_port port[FN_VSW_MAX_PORTS];
	unsigned nports;
	unsigned rr;		/* the port served first in the next turn */
	int64_t now_ns;		/* CLOCK_MONOTONIC, set before each turn */
	struct vsw_fdb fdb;
	int epfd;		/* the bells, for vsw_sleep(); -1 */
	_Atomic uint64_t *ctr;	/* FN_VSW_COUNT: stats page or own */
	_Atomic uint64_t own_ctr[FN_VSW_COUNT];
	struct fn_cap cap;	/* the capture region (vsw_cap.c); no hdr:
				 * none, capture stays off */
	uint8_t tap_buf[VSW_TAP_FRAME + 1];	/* a frame read from a tap */
};

static inline void vsw_count(struct vsw *sw, enum fn_vsw_ctr c, uint64_t v)
{
	fn_ctr_add(&sw->ctr[c], v);
}

/* An empty switch: age_ms 0 is FN_VSW_AGE_DEFAULT_MS; seed keys the MAC
 * table's hash. */
void vsw_init(struct vsw *sw, uint32_t age_ms, uint64_t seed);
/* Detach every port, close the epoll fd.  The bells stay the caller's. */
void vsw_fini(struct vsw *sw);

/*
 * Attach the next port (index sw->nports): link fd as side A with poll,
 * allowed to send from id; bell_fd (an eventfd, required) is what we wait
 * on, peer_bell_fd (an eventfd, or -1) what we ring.  The link fd is not
 * kept (its mapping is): close it when you like.  The bells stay the
 * caller's, open while the switch runs.  0 or -errno: -EBADF for a bell
 * that is no eventfd, or fn_link_attach()'s.
 */
int vsw_port_attach(struct vsw *sw, int link_fd, const struct vsw_id *id,
		    int bell_fd, int peer_bell_fd, enum fn_poll poll);

/*
 * Attach the next port as a host port: tap_fd (a tap without packet
 * information, made non-blocking here; any datagram fd for the tests),
 * whose frames must come from id.  The fd stays the caller's, open while
 * the switch runs.  0 or -errno.
 */
int vsw_port_attach_host(struct vsw *sw, int tap_fd, const struct vsw_id *id);

static inline bool vsw_port_is_host(const struct vsw_port *p)
{
	return p->tap_fd >= 0;
}

/* The fd the switch sleeps on for port p: its bell, or its tap. */
static inline int vsw_port_wait_fd(const struct vsw_port *p)
{
	return vsw_port_is_host(p) ? p->tap_fd : p->bell_fd;
}

/* Counters on page ("vsw.", "port<i>.", "port<i>.link.{tx,rx}."); NULL or
 * a full page keeps them private.  Call after the last attach. */
void vsw_bind_counters(struct vsw *sw, struct fn_stats_page *page);

/* One turn: every port's burst (at most FN_VSW_BURST), round robin from
 * sw->rr.  Returns the frames received. */
unsigned vsw_fwd_turn(struct vsw *sw);

/* A link call on port p failed with err: follow a reset, count a cut-off. */
void vsw_port_link_error(struct vsw *sw, struct vsw_port *p, int err);

/* vsw_fwd.c's steps 2 and 4: forward one frame of port s (data: s's slot,
 * or our copy of a tap's frame); submit every port's copies. */
void vsw_forward(struct vsw *sw, struct vsw_port *s, const uint8_t *data,
		 uint32_t len);
void vsw_flush_all(struct vsw *sw);

/* ---- vsw_cap.c: capture points (fragnet/capture.h) ---------------------- */

/* Map the capture region fd as its producer (fd is not kept) and name
 * interface k + 1 after names[k], for every port attached.  Before the
 * switch confines itself.  0 or fn_cap_attach()'s -errno (*why). */
int vsw_cap_attach(struct vsw *sw, int fd, const char *const names[],
		   const char **why);
void vsw_cap_detach(struct vsw *sw);

/* Is point on?  One relaxed load: the cost of capture when it is off. */
static inline bool vsw_cap_on(const struct vsw *sw, unsigned point)
{
	return fn_cap_on(&sw->cap, point);
}

/* Copy len bytes of data as a record of point (rx or tx) on port p. */
void vsw_cap_raw(struct vsw *sw, unsigned point, const struct vsw_port *p,
		 const uint8_t *data, uint32_t len);
/* A frame dropped and counted as cause on port p: FN_CAP_SWITCH_DROP,
 * its header from f's checked copy, the rest from f->data. */
void vsw_cap_frame(struct vsw *sw, const struct vsw_port *p,
		   enum fn_vsw_port_ctr cause, const struct vsw_frame *f);

/* Drop f, counted as cause on port p, and captured when that is on. */
static inline void vsw_drop(struct vsw *sw, struct vsw_port *p,
			    enum fn_vsw_port_ctr cause,
			    const struct vsw_frame *f)
{
	vsw_port_count(p, cause, 1);
	if (vsw_cap_on(sw, FN_CAP_SWITCH_DROP))
		vsw_cap_frame(sw, p, cause, f);
}

/* ---- vsw_host.c: the host port ------------------------------------------ */

/* Steps 1 and 2 for host port s: read and forward at most FN_VSW_BURST
 * frames from its tap.  Returns the frames read. */
unsigned vsw_host_serve(struct vsw *sw, struct vsw_port *s);
/* Write f to host port d's tap now (counted, captured). */
void vsw_host_deliver(struct vsw *sw, struct vsw_port *d,
		      const struct vsw_frame *f);

/* ---- vsw_loop.c ---------------------------------------------------------- */

/*
 * Sleep until a bell rings or timeout_ms passes: arm every live port's
 * receive ring first (ring.h DOORBELLS) and do not block if one has
 * frames.  Returns 1 if it blocked and woke for a bell, 0 otherwise.
 */
int vsw_sleep(struct vsw *sw, int timeout_ms);

/* Turns until *stop: poll per poll mode, sleep when idle.  Ages the MAC
 * table.  sw->now_ns is kept current. */
void vsw_run(struct vsw *sw, enum fn_poll poll, volatile sig_atomic_t *stop);

#endif /* FRAGNET_VSW_H */
