/*
 * sock.c - the client side (side A) of the socket channel: fn_sock_*
 * (fragnet/sock.h) over the protocol of fragnet/sockchan.h.
 *
 * Requests go out in request slots (link.tx, stream 0); calls that need an
 * answer wait for the FN_SEV_DONE with their cookie (rpc()).  Events come in
 * on link.rx (stream 1) and are consumed by fn_sock_process():
 *   DATA and ACCEPTED are HELD: the slot stays ours, queued on its socket,
 *   until the app has read it; then we ack it, and the stack, on that ack,
 *   opens the TCP window by the slot's bytes (end-to-end flow control).
 *   Every other event is copied out and acked at once.
 * The stack is trusted, but every event is checked (op, len, socket id)
 * before use; a bad one is acked, counted in bad_events and ignored.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fragnet/clock.h"
#include "fragnet/env.h"
#include "fragnet/names.h"
#include "fragnet/sock.h"

#define HDR		((uint32_t)sizeof(struct fn_sock_msg))
#define BURST		32
#define NIL		(-1)
#define WAIT_SLICE_MS	100

enum {
	F_USED = 1 << 0,
	F_CONNECTING = 1 << 1,
	F_CONNECTED = 1 << 2,
	F_LISTENING = 1 << 3,
	F_RD_EOF = 1 << 4,	/* PEER_CLOSED seen, or SHUT_RD */
	F_WR_SHUT = 1 << 5,
	F_RESET = 1 << 6,	/* channel reset: the stack forgot it */
	F_PEER_FIN = 1 << 7,	/* PEER_CLOSED seen (TCP CLOSE_WAIT) */
	F_CLOSING = 1 << 8,	/* its CLOSE sent: the id goes back to the
				 * stack once we ack CLOSED */
};

/* An event slot we hold: its pkt and a private copy of its header. */
struct fn_sock_held {
	struct fn_pkt pkt;
	struct fn_sock_msg m;
	int32_t next;		/* next held slot of the same queue */
};

struct fn_sock_ent {
	uint32_t flags;
	uint32_t sid;		/* the stack's socket id; 0 after a reset */
	uint32_t next_free;	/* free list of handles */
	int type;
	int32_t err;		/* pending error, -errno */
	uint32_t credit;	/* bytes the stack will take (stream) */
	uint32_t sent;		/* SEND payload bytes posted, mod 2^32 */
	int32_t dq_head, dq_tail;	/* DATA slots, in order */
	uint32_t dq_off;	/* bytes of dq_head already read */
	int32_t aq_head, aq_tail;	/* ACCEPTED slots */
	uint64_t rd_seq;	/* c->ev_seq when it last became readable */
};

/* ---- socket table -------------------------------------------------------- */

static struct fn_sock_ent *ent_get(struct fn_sock_chan *c, int s)
{
	if (s <= 0 || (uint32_t)s >= c->nsock || !(c->sock[s].flags & F_USED))
		return NULL;
	return &c->sock[s];
}

/*
 * Handles are ours, not the stack's ids: after a reset the stack numbers
 * its sockets afresh while the app may still hold old handles (which
 * answer -ECONNRESET until closed), so the two must not collide.  rev[]
 * maps a stack id back to its handle (0: none).
 */
static int grow(void **arr, uint32_t *n, uint32_t want, size_t elem)
{
	uint32_t m = *n ? *n : 64;
	uint8_t *t;

	if (want < *n)
		return 0;
	if (want >= (1u << 24))
		return -EMFILE;
	while (m <= want)
		m *= 2;
	t = realloc(*arr, m * elem);
	if (!t)
		return -ENOMEM;
	memset(t + *n * elem, 0, (m - *n) * elem);
	*arr = t;
	*n = m;
	return 0;
}

static struct fn_sock_ent *ent_by_sid(struct fn_sock_chan *c, uint32_t sid)
{
	if (sid == 0 || sid >= c->nrev || !c->rev[sid])
		return NULL;
	return ent_get(c, (int)c->rev[sid]);
}

/* A handle for stack id sid: > 0, or -errno. */
static int ent_new(struct fn_sock_chan *c, uint32_t sid, int type)
{
	struct fn_sock_ent *e, *old = ent_by_sid(c, sid);
	uint32_t h = c->free_h;

	/* The stack named an id we hold: a protocol error, unless we are
	 * closing that socket.  Then the stack has had our ack of its CLOSED
	 * (it reuses an id only after it), while close() still waits for its
	 * DONE in the same burst of events: the id is the new socket's, and
	 * the closing entry keeps only its handle until close() frees it. */
	if (sid == 0 || (old && !(old->flags & F_CLOSING)))
		return -EIO;
	if (grow((void **)&c->rev, &c->nrev, sid, sizeof(*c->rev)) < 0)
		return -ENOMEM;
	if (h) {
		c->free_h = c->sock[h].next_free;
	} else {
		h = c->nhand ? c->nhand : 1;
		if (grow((void **)&c->sock, &c->nsock, h, sizeof(*c->sock)) < 0)
			return -ENOMEM;
		c->nhand = h + 1;
	}
	e = &c->sock[h];
	memset(e, 0, sizeof(*e));
	e->flags = F_USED;
	e->sid = sid;
	e->type = type;
	e->dq_head = e->dq_tail = e->aq_head = e->aq_tail = NIL;
	c->rev[sid] = h;
	return (int)h;
}

static void ent_free(struct fn_sock_chan *c, uint32_t h)
{
	struct fn_sock_ent *e = &c->sock[h];

	if (e->sid && e->sid < c->nrev && c->rev[e->sid] == h)
		c->rev[e->sid] = 0;
	e->flags = 0;
	e->sid = 0;
	e->next_free = c->free_h;
	c->free_h = h;
}

/* ---- held event slots ---------------------------------------------------- */

static void ack_pkt(struct fn_sock_chan *c, struct fn_pkt *p)
{
	int r = fn_stream_ack_burst(&c->link.rx, p, 1);

	if (r == -ECONNRESET || r == -EPIPE)
		c->dead = c->dead ? c->dead : r;
}

static void q_push(struct fn_sock_chan *c, int32_t *head, int32_t *tail,
		   uint32_t slot)
{
	c->held[slot].next = NIL;
	if (*tail == NIL)
		*head = (int32_t)slot;
	else
		c->held[*tail].next = (int32_t)slot;
	*tail = (int32_t)slot;
}

/* Ack and unlink the head of a queue. */
static void q_pop(struct fn_sock_chan *c, int32_t *head, int32_t *tail)
{
	struct fn_sock_held *h = &c->held[*head];

	*head = h->next;
	if (*head == NIL)
		*tail = NIL;
	ack_pkt(c, &h->pkt);
}

static void ent_drop_queues(struct fn_sock_chan *c, struct fn_sock_ent *e)
{
	while (e->dq_head != NIL)
		q_pop(c, &e->dq_head, &e->dq_tail);
	e->dq_off = 0;
	while (e->aq_head != NIL)
		q_pop(c, &e->aq_head, &e->aq_tail);
}

/* The channel was reset (the stack restarted): every slot of the old epoch
 * is void (not acked), every socket is gone. */
static void chan_reset(struct fn_sock_chan *c)
{
	for (uint32_t i = 1; i < c->nsock; i++) {
		struct fn_sock_ent *e = &c->sock[i];

		if (!(e->flags & F_USED))
			continue;
		e->dq_head = e->dq_tail = e->aq_head = e->aq_tail = NIL;
		e->dq_off = 0;
		e->flags |= F_RESET | F_RD_EOF;
		e->err = -ECONNRESET;
		e->sid = 0;
	}
	if (c->rev)
		memset(c->rev, 0, c->nrev * sizeof(*c->rev));
	c->norph = 0;
	c->dead = 0;
}

/* ---- events -------------------------------------------------------------- */

/* Fire-and-forget request (no DONE awaited); 0 or -errno. */
static int req_post(struct fn_sock_chan *c, struct fn_sock_msg *m,
		    const void *payload, uint32_t len);

/* sev_*: the socket events (FN_SEV_*) the stack posts to us.  Valid: m
 * fits in p, is an event, and names sockets we know. */
static bool sev_valid(struct fn_sock_chan *c, const struct fn_pkt *p,
		      const struct fn_sock_msg *m)
{
	if (p->len < HDR || m->len > p->len - HDR)
		return false;
	if (m->op < FN_SEV_DONE || m->op >= FN_SEV_MAX)
		return false;
	switch (m->op) {
	case FN_SEV_DONE:
	case FN_SEV_CLOSED:
		return true;
	case FN_SEV_ACCEPTED:
		return m->sock != 0 && m->sock < (1u << 24) &&
		       ent_by_sid(c, m->arg[0]) != NULL;
	default:
		return ent_by_sid(c, m->sock) != NULL;
	}
}

/*
 * Orphan accepted connection (its listener is gone): abort it.  Queued
 * and posted by orphan_flush() without waiting, so that event processing
 * never recurses into itself through a wait for a request slot.  The
 * queue holds at most one entry per stack socket.
 */
static void orphan_add(struct fn_sock_chan *c, uint32_t sid)
{
	if (c->norph == c->corph &&
	    grow((void **)&c->orph, &c->corph, c->norph, sizeof(*c->orph)) < 0)
		return;	/* no memory: the connection lives until the reset */
	c->orph[c->norph++] = sid;
}

static void orphan_flush(struct fn_sock_chan *c)
{
	while (c->norph) {
		struct fn_sock_msg m = { .op = FN_SREQ_CLOSE, .arg = { 1 } };
		struct fn_pkt p;

		if (fn_stream_alloc_burst(&c->link.tx, &p, 1) != 1)
			return;
		m.sock = c->orph[--c->norph];
		m.cookie = ++c->next_cookie;
		memcpy(p.data, &m, HDR);
		p.len = HDR;
		if (fn_stream_submit_burst(&c->link.tx, &p, 1) < 0)
			return;
	}
}

/*
 * The stack's credit for e as of an event (sockchan.h FLOW CONTROL): it
 * could take `credit` more bytes once it had consumed `taken` bytes of our
 * SENDs; what we posted since then is in flight and comes off it.
 */
static void credit_update(struct fn_sock_chan *c, struct fn_sock_ent *e,
			  uint32_t credit, uint32_t taken)
{
	uint32_t inflight = e->sent - taken;

	if (inflight >= (1u << 31)) {
		c->bad_events++;	/* the stack took more than we sent */
		return;
	}
	e->credit = credit > inflight ? credit - inflight : 0;
}

/* The DONE of a pipelined SEND: a credit update, or an error for a later
 * call (POSIX: EPIPE, ECONNRESET on the next send or recv). */
static void send_done(struct fn_sock_chan *c, struct fn_sock_ent *e,
		      const struct fn_sock_msg *m)
{
	if (e->type == SOCK_STREAM)
		credit_update(c, e, m->arg[0], m->arg[1]);
	if (m->result >= 0)
		return;
	c->send_errors++;
	/* an unconnected datagram socket has no one to report to (Linux
	 * reports no asynchronous errors there either) */
	if (e->type == SOCK_DGRAM && !(e->flags & F_CONNECTED))
		return;
	if (!e->err)
		e->err = m->result > -4096 ? m->result : -EIO;
}

/* One event; returns true if the slot is held, false to ack it now. */
static bool sev_handle(struct fn_sock_chan *c, struct fn_pkt *p,
		       const struct fn_sock_msg *m)
{
	struct fn_sock_ent *e = ent_by_sid(c, m->sock);

	c->ev_seq++;
	switch (m->op) {
	case FN_SEV_DONE:
		if (m->flags == FN_SREQ_SEND && m->cookie != c->want_cookie) {
			if (e)
				send_done(c, e, m);
			return false;
		}
		/* only the one rpc() waits for: fire-and-forget requests
		 * (orphan aborts) are answered too */
		if (m->cookie != c->want_cookie)
			return false;
		c->done_cookie = m->cookie;
		c->done_result = m->result;
		c->done_addr = m->addr;
		c->done_arg = m->arg[0];
		return false;
	case FN_SEV_DATA:
		if (m->len == 0 && e->type == SOCK_STREAM)
			return false;
		c->held[p->slot].pkt = *p;
		c->held[p->slot].m = *m;
		if (e->dq_head == NIL && !(e->flags & F_RD_EOF))
			e->rd_seq = c->ev_seq;	/* readable from now */
		q_push(c, &e->dq_head, &e->dq_tail, p->slot);
		return true;
	case FN_SEV_ACCEPTED: {
		int h = ent_new(c, m->sock, SOCK_STREAM);
		struct fn_sock_ent *l = ent_by_sid(c, m->arg[0]);	/* after */

		if (h < 0) {
			c->bad_events++;
			return false;
		}
		c->sock[h].flags |= F_CONNECTED;
		if (!(l->flags & F_LISTENING)) {
			orphan_add(c, m->sock);
			ent_free(c, (uint32_t)h);
			return false;
		}
		c->held[p->slot].pkt = *p;
		c->held[p->slot].m = *m;
		c->held[p->slot].m.sock = (uint32_t)h;	/* our copy: the handle */
		if (l->aq_head == NIL)
			l->rd_seq = c->ev_seq;
		q_push(c, &l->aq_head, &l->aq_tail, p->slot);
		return true;
	}
	case FN_SEV_CONNECTED:
		e->flags = (e->flags & ~F_CONNECTING) | F_CONNECTED;
		return false;
	case FN_SEV_WRITABLE:
		if (e->type == SOCK_STREAM)
			credit_update(c, e, m->arg[0], m->arg[1]);
		return false;
	case FN_SEV_PEER_CLOSED:
		if (e->dq_head == NIL && !(e->flags & F_RD_EOF))
			e->rd_seq = c->ev_seq;
		e->flags |= F_RD_EOF | F_PEER_FIN;
		return false;
	case FN_SEV_ERROR:
		if (e->dq_head == NIL && !(e->flags & F_RD_EOF))
			e->rd_seq = c->ev_seq;
		e->err = m->result < 0 && m->result > -4096 ? m->result : -EIO;
		/* a reset after the peer's FIN: Linux says EPIPE (tcp_reset
		 * in CLOSE_WAIT) */
		if (e->err == -ECONNRESET && (e->flags & F_PEER_FIN))
			e->err = -EPIPE;
		e->flags = (e->flags & ~F_CONNECTING) | F_RD_EOF;
		return false;
	default:	/* FN_SEV_CLOSED: the stack frees the id on our ack */
		return false;
	}
}

int fn_sock_process(struct fn_sock_chan *c)
{
	struct fn_pkt p[BURST];
	int n, total = 0;

	do {
		n = fn_stream_recv_burst(&c->link.rx, p, BURST);
		if (n == -ECONNRESET) {
			chan_reset(c);
			return -ECONNRESET;
		}
		if (n < 0)
			return n;
		for (int i = 0; i < n; i++) {
			struct fn_sock_msg m;

			memcpy(&m, p[i].data, p[i].len < HDR ? p[i].len : HDR);
			if (!sev_valid(c, &p[i], &m)) {
				c->bad_events++;
				ack_pkt(c, &p[i]);
			} else if (!sev_handle(c, &p[i], &m)) {
				ack_pkt(c, &p[i]);
			}
		}
		total += n;
	} while (n == BURST);
	orphan_flush(c);
	return c->dead ? c->dead : total;
}

/* ---- waiting ------------------------------------------------------------- */

/* Block until events (or acks of requests: ep) may be there. */
static int wait_bell(struct fn_sock_chan *c, struct fn_endpoint *ep,
		     int timeout_ms)
{
	struct pollfd pfd = { .fd = c->app_bell_fd, .events = POLLIN };
	uint64_t v;
	int r;

	if (c->app_bell_fd < 0)
		return fn_stream_wait(ep, timeout_ms < 0 ? -1 :
				      (int64_t)timeout_ms * 1000000);
	r = fn_stream_arm(ep);
	if (r <= 0)
		return r;
	r = poll(&pfd, 1, timeout_ms);
	if (r > 0 && read(c->app_bell_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		r = -errno;
	fn_stream_disarm(ep);
	return r < 0 ? (errno == EINTR ? 0 : r) : r;
}

int fn_sock_poll(struct fn_sock_chan *c, int timeout_ms)
{
	int n = fn_sock_process(c), r;

	if (n != 0 || timeout_ms == 0)
		return n;
	r = wait_bell(c, &c->link.rx, timeout_ms);
	if (r < 0)
		return r;
	return fn_sock_process(c);
}

int fn_sock_arm(struct fn_sock_chan *c)
{
	int r = fn_stream_arm(&c->link.rx);

	if (r == -ECONNRESET)
		chan_reset(c);
	return r == -ECONNRESET ? 0 : r;	/* 0: process the reset */
}

void fn_sock_disarm(struct fn_sock_chan *c)
{
	fn_stream_disarm(&c->link.rx);
}

int fn_sock_wait_fd(struct fn_sock_chan *c)
{
	return c->app_bell_fd;
}

/* ---- requests ------------------------------------------------------------ */

void fn_sock_set_deadline(struct fn_sock_chan *c, int64_t until_ms)
{
	c->deadline_ms = until_ms;
}

/* When a wait for the stack that starts now gives up. */
static int64_t wait_until(const struct fn_sock_chan *c)
{
	int64_t until = fn_clock_ms() + FN_SOCK_RPC_TIMEOUT_MS;

	return c->deadline_ms && c->deadline_ms < until ? c->deadline_ms : until;
}

/* A free request slot, waiting (bounded) for the stack's acks. */
static int req_slot(struct fn_sock_chan *c, struct fn_pkt *p)
{
	int64_t until = wait_until(c);
	int r;

	for (;;) {
		r = fn_stream_alloc_burst(&c->link.tx, p, 1);
		if (r == 1)
			return 0;
		if (r == -ECONNRESET)
			chan_reset(c);
		if (r < 0)
			return r;
		if (fn_clock_ms() >= until)
			return -ETIMEDOUT;
		r = fn_sock_process(c);
		if (r < 0)
			return r;
		r = wait_bell(c, &c->link.tx, WAIT_SLICE_MS);
		if (r < 0)
			return r;
	}
}

static int req_post(struct fn_sock_chan *c, struct fn_sock_msg *m,
		    const void *payload, uint32_t len)
{
	struct fn_pkt p;
	int r;

	if (len > c->link.tx.slot_size - HDR)
		return -EMSGSIZE;
	r = req_slot(c, &p);
	if (r < 0)
		return r;
	m->len = len;
	m->cookie = ++c->next_cookie;
	memcpy(p.data, m, HDR);
	if (len)
		memcpy(p.data + HDR, payload, len);
	p.len = HDR + len;
	r = fn_stream_submit_burst(&c->link.tx, &p, 1);
	if (r == -ECONNRESET)
		chan_reset(c);
	return r < 0 ? r : 0;
}

/* Send a request about handle m->sock (0: none) and wait for its DONE:
 * its result (>= 0 or -errno). */
static int rpc(struct fn_sock_chan *c, struct fn_sock_msg *m,
	       const void *payload, uint32_t len)
{
	int64_t until;
	uint64_t cookie;
	int r;

	if (m->sock) {
		struct fn_sock_ent *e = ent_get(c, (int)m->sock);

		if (!e || !e->sid)
			return e ? -ECONNRESET : -EBADF;
		m->sock = e->sid;
	}
	r = req_post(c, m, payload, len);
	if (r < 0)
		return r;
	cookie = m->cookie;
	c->want_cookie = cookie;
	until = wait_until(c);
	for (;;) {
		r = fn_sock_process(c);
		if (r < 0)
			return r;
		if (c->done_cookie == cookie)
			return c->done_result;
		if (fn_clock_ms() >= until)
			return -ETIMEDOUT;
		r = wait_bell(c, &c->link.rx, WAIT_SLICE_MS);
		if (r < 0)
			return r;
	}
}

static void addr_to_wire(struct fn_sock_addr *w, const struct sockaddr_in *a)
{
	w->addr = a->sin_addr.s_addr;
	w->port = a->sin_port;
	w->family = AF_INET;
}

static void addr_from_wire(struct sockaddr_in *a, const struct fn_sock_addr *w)
{
	if (!a)
		return;
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = w->addr;
	a->sin_port = w->port;
}

/* Socket s as a usable entry, or the errno to return. */
static int ent_check(struct fn_sock_chan *c, int s, struct fn_sock_ent **out)
{
	struct fn_sock_ent *e = ent_get(c, s);

	if (!e)
		return -EBADF;
	*out = e;
	return (e->flags & F_RESET) ? -ECONNRESET : 0;
}

/* ---- the API ------------------------------------------------------------- */

int fn_sock_attach(struct fn_sock_chan *c, int chan_fd, int app_bell_fd,
		   int stack_bell_fd)
{
	int r;

	memset(c, 0, sizeof(*c));
	/* A process of the app may have held the channel before us and
	 * ended (a shell script's earlier command): take it over. */
	r = fn_link_take(&c->link, chan_fd, FN_LINK_A, FN_POLL_EVENT);
	if (r < 0)
		return r;
	if (c->link.tx.slot_size < HDR || c->link.rx.slot_size < HDR) {
		fn_link_detach(&c->link);
		return -EBADMSG;
	}
	c->held = calloc(c->link.rx.nslots, sizeof(*c->held));
	if (!c->held) {
		fn_link_detach(&c->link);
		return -ENOMEM;
	}
	c->app_bell_fd = app_bell_fd;
	c->stack_bell_fd = stack_bell_fd;
	/* Our submits (requests) and acks (of events) ring the stack; rung
	 * once now, so that it sees an epoch our take started. */
	fn_link_set_bell(&c->link, stack_bell_fd);
	return 0;
}

int fn_sock_open(struct fn_sock_chan *c)
{
	int fd = fn_env_fd(FN_ENV_SOCKCHAN_FD);
	int app = fn_env_fd(FN_ENV_APP_BELL_FD);
	int stk = fn_env_fd(FN_ENV_STACK_BELL_FD);

	if (fd < 0)
		return fd == -ENOENT ? -ENOENT : -EINVAL;
	return fn_sock_attach(c, fd, app < 0 ? -1 : app, stk < 0 ? -1 : stk);
}

void fn_sock_close_chan(struct fn_sock_chan *c)
{
	fn_link_detach(&c->link);
	free(c->held);
	free(c->sock);
	free(c->rev);
	free(c->orph);
	c->orph = NULL;
	c->norph = c->corph = 0;
	c->held = NULL;
	c->sock = NULL;
	c->rev = NULL;
	c->nsock = c->nrev = c->nhand = c->free_h = 0;
}

int fn_sock_socket(struct fn_sock_chan *c, int type)
{
	struct fn_sock_msg m = { .op = FN_SREQ_SOCKET };
	int r;

	type &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (type != SOCK_STREAM && type != SOCK_DGRAM)
		return -EPROTONOSUPPORT;
	m.arg[0] = (uint32_t)type;
	r = rpc(c, &m, NULL, 0);
	if (r <= 0)
		return r < 0 ? r : -EIO;
	return ent_new(c, (uint32_t)r, type);
}

int fn_sock_bind(struct fn_sock_chan *c, int s, const struct sockaddr_in *a)
{
	struct fn_sock_msg m = { .op = FN_SREQ_BIND, .sock = (uint32_t)s };
	struct fn_sock_ent *e = NULL;
	int r = ent_check(c, s, &e);

	if (r < 0)
		return r;
	if (!a || a->sin_family != AF_INET)
		return -EAFNOSUPPORT;
	addr_to_wire(&m.addr, a);
	return rpc(c, &m, NULL, 0);
}

int fn_sock_listen(struct fn_sock_chan *c, int s, int backlog)
{
	struct fn_sock_msg m = { .op = FN_SREQ_LISTEN, .sock = (uint32_t)s };
	struct fn_sock_ent *e = NULL;
	int r = ent_check(c, s, &e);

	if (r < 0)
		return r;
	if (e->type != SOCK_STREAM)
		return -EOPNOTSUPP;
	m.arg[0] = backlog < 1 ? 1 : backlog > 255 ? 255 : (uint32_t)backlog;
	r = rpc(c, &m, NULL, 0);
	e = &c->sock[s];	/* rpc may have grown the table */
	if (r == 0)
		e->flags |= F_LISTENING;
	return r;
}

int fn_sock_accept(struct fn_sock_chan *c, int s, struct sockaddr_in *peer)
{
	struct fn_sock_ent *e = NULL;
	int r = ent_check(c, s, &e), n;

	if (r < 0)
		return r;
	if (!(e->flags & F_LISTENING))
		return -EINVAL;
	if (e->aq_head == NIL) {
		fn_sock_process(c);
		e = &c->sock[s];	/* may have grown the table */
	}
	if (e->aq_head == NIL)
		return -EAGAIN;
	n = (int)c->held[e->aq_head].m.sock;
	addr_from_wire(peer, &c->held[e->aq_head].m.addr);
	q_pop(c, &e->aq_head, &e->aq_tail);
	return n;
}

int fn_sock_connect(struct fn_sock_chan *c, int s, const struct sockaddr_in *a)
{
	struct fn_sock_msg m = { .op = FN_SREQ_CONNECT, .sock = (uint32_t)s };
	struct fn_sock_ent *e = NULL;
	int r = ent_check(c, s, &e);

	if (r < 0)
		return r;
	if (!a || a->sin_family != AF_INET)
		return -EAFNOSUPPORT;
	if (e->type == SOCK_STREAM) {
		if (e->flags & (F_CONNECTED | F_LISTENING))
			return -EISCONN;
		if (e->flags & F_CONNECTING)
			return -EALREADY;
	}
	addr_to_wire(&m.addr, a);
	r = rpc(c, &m, NULL, 0);
	e = &c->sock[s];	/* rpc may have grown the table */
	if (e->type == SOCK_DGRAM) {
		if (r == 0)
			e->flags |= F_CONNECTED;
		return r;
	}
	if (r == -EINPROGRESS && !(e->flags & (F_CONNECTED | F_RD_EOF)))
		e->flags |= F_CONNECTING;
	return r;
}

/*
 * Report a pending error once, as Linux does (sock_error() clears
 * sk_err).  A stream is dead afterwards, as a TCP socket in CLOSE: recv
 * answers 0 and send EPIPE.  A socket the stack forgot in a channel reset
 * answers -ECONNRESET until it is closed (pl_sock_revive counts on it).
 */
static int err_take(struct fn_sock_ent *e)
{
	int r = e->err;

	if (e->flags & F_RESET)
		return r;	/* the stack forgot it: until closed */
	e->err = 0;
	if (r && e->type == SOCK_STREAM && !(e->flags & F_LISTENING))
		e->flags = (e->flags & ~F_CONNECTING) | F_RD_EOF | F_WR_SHUT;
	return r;
}

/*
 * Sends are pipelined: posted, not waited for (sockchan.h FLOW CONTROL).
 * A stream send takes what the known credit allows, and the stack takes
 * all of it; a datagram is posted whole.  Errors come back in the SEND's
 * DONE and surface on a later call.
 */
static ssize_t send_post(struct fn_sock_chan *c, int s, const void *buf,
			 uint32_t len, const struct sockaddr_in *a)
{
	struct fn_sock_msg m = { .op = FN_SREQ_SEND, .flags = FN_SREQ_F_QUIET,
				 .sock = c->sock[s].sid };
	struct fn_sock_ent *e;
	int r;

	if (a)
		addr_to_wire(&m.addr, a);
	r = req_post(c, &m, buf, len);
	if (r < 0)
		return r;
	e = &c->sock[s];	/* req_post may have grown the table */
	if (e->flags & F_RESET)
		return -ECONNRESET;	/* the channel was reset meanwhile */
	if (e->type == SOCK_STREAM) {
		e->sent += len;
		e->credit = e->credit > len ? e->credit - len : 0;
	}
	return (ssize_t)len;
}

static ssize_t send_common(struct fn_sock_chan *c, int s, const void *buf,
			   size_t len, const struct sockaddr_in *a)
{
	uint32_t max = c->link.tx.slot_size - HDR;
	struct fn_sock_ent *e = NULL;
	int r = ent_check(c, s, &e);

	if (r < 0)
		return r;
	if (e->type == SOCK_STREAM) {
		fn_sock_process(c);	/* a reset that came meanwhile */
		e = &c->sock[s];	/* may have grown the table */
	}
	if (e->err)
		return err_take(e);
	if (e->flags & F_WR_SHUT)
		return -EPIPE;
	if (e->type == SOCK_DGRAM) {
		if (len > max)
			return -EMSGSIZE;
		if (!a && !(e->flags & F_CONNECTED))
			return -EDESTADDRREQ;
		return send_post(c, s, buf, (uint32_t)len, a);
	}
	if (!(e->flags & F_CONNECTED))
		return (e->flags & F_CONNECTING) ? -EAGAIN : -ENOTCONN;
	if (e->credit == 0) {
		fn_sock_process(c);
		e = &c->sock[s];	/* may have grown the table */
		if (e->err)
			return err_take(e);
	}
	if (e->credit == 0)
		return len ? -EAGAIN : 0;
	if (len > e->credit)
		len = e->credit;
	if (len > max)
		len = max;
	if (len == 0)
		return 0;
	return send_post(c, s, buf, (uint32_t)len, NULL);
}

ssize_t fn_sock_send(struct fn_sock_chan *c, int s, const void *buf,
		     size_t len)
{
	return send_common(c, s, buf, len, NULL);
}

ssize_t fn_sock_sendto(struct fn_sock_chan *c, int s, const void *buf,
		       size_t len, const struct sockaddr_in *a)
{
	if (a && a->sin_family != AF_INET)
		return -EAFNOSUPPORT;
	return send_common(c, s, buf, len, a);
}

/* The entry of s (*out), its DATA queue looked at: 1 when something is
 * queued, else what a receive answers: 0 (EOF), -EAGAIN, or an error
 * (once).  After the peer's FIN, EOF comes before an error (Linux:
 * SOCK_DONE before sk_err in tcp_recvmsg). */
static int dq_look(struct fn_sock_chan *c, int s, struct fn_sock_ent **out)
{
	struct fn_sock_ent *e = NULL;
	int r = ent_check(c, s, &e);

	if (!e)
		return r < 0 ? r : -EBADF;
	if (e->flags & F_LISTENING)
		return -ENOTCONN;	/* Linux's tcp_recvmsg on a listener */
	if (e->dq_head == NIL) {
		fn_sock_process(c);
		e = &c->sock[s];	/* may have grown the table */
	}
	*out = e;
	if (e->dq_head != NIL)
		return 1;
	if (e->err && !(e->flags & F_PEER_FIN))
		return err_take(e);
	return (e->flags & F_RD_EOF) ? 0 : -EAGAIN;
}

/* Copy from the DATA queue of a stream socket. */
static ssize_t recv_stream(struct fn_sock_chan *c, struct fn_sock_ent *e,
			   uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len && e->dq_head != NIL) {
		struct fn_sock_held *h = &c->held[e->dq_head];
		uint32_t left = h->m.len - e->dq_off;
		size_t n = len - got < left ? len - got : left;

		memcpy(buf + got, h->pkt.data + HDR + e->dq_off, n);
		got += n;
		e->dq_off += (uint32_t)n;
		if (e->dq_off == h->m.len) {
			e->dq_off = 0;
			q_pop(c, &e->dq_head, &e->dq_tail);
		}
	}
	return (ssize_t)got;
}

ssize_t fn_sock_recvfrom(struct fn_sock_chan *c, int s, void *buf,
			 size_t len, struct sockaddr_in *from)
{
	struct fn_sock_ent *e = NULL;
	int r = dq_look(c, s, &e);

	if (r <= 0)
		return r;
	if (e->type == SOCK_DGRAM) {
		struct fn_sock_held *h = &c->held[e->dq_head];
		size_t n = len < h->m.len ? len : h->m.len;

		memcpy(buf, h->pkt.data + HDR, n);
		addr_from_wire(from, &h->m.addr);
		q_pop(c, &e->dq_head, &e->dq_tail);
		return (ssize_t)n;
	}
	if (from)
		fn_sock_getpeername(c, s, from);
	return recv_stream(c, e, buf, len);
}

/* Copy from the DATA queue without taking: a stream's bytes across its
 * held slots, or the first datagram. */
static ssize_t peek_queue(struct fn_sock_chan *c, struct fn_sock_ent *e,
			  uint8_t *buf, size_t len, struct sockaddr_in *from)
{
	uint32_t off = e->dq_off;
	size_t got = 0;

	for (int32_t i = e->dq_head; i != NIL && got < len;
	     i = c->held[i].next, off = 0) {
		struct fn_sock_held *h = &c->held[i];
		size_t n = len - got < h->m.len - off ? len - got :
			   h->m.len - off;

		memcpy(buf + got, h->pkt.data + HDR + off, n);
		got += n;
		if (e->type == SOCK_DGRAM) {
			addr_from_wire(from, &h->m.addr);
			break;
		}
	}
	return (ssize_t)got;
}

ssize_t fn_sock_peek(struct fn_sock_chan *c, int s, void *buf, size_t len,
		     struct sockaddr_in *from)
{
	struct fn_sock_ent *e = NULL;
	int r = dq_look(c, s, &e);

	if (r <= 0)
		return r;
	if (from && e->type == SOCK_STREAM)
		fn_sock_getpeername(c, s, from);
	return peek_queue(c, e, buf, len, from);
}

ssize_t fn_sock_recv(struct fn_sock_chan *c, int s, void *buf, size_t len)
{
	return fn_sock_recvfrom(c, s, buf, len, NULL);
}

int fn_sock_shutdown(struct fn_sock_chan *c, int s, int how)
{
	struct fn_sock_msg m = { .op = FN_SREQ_SHUTDOWN, .sock = (uint32_t)s };
	struct fn_sock_ent *e = NULL;
	int r = ent_check(c, s, &e);

	if (r < 0)
		return r;
	if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
		return -EINVAL;
	/* again, on a connection: nothing more to do (Linux answers 0) */
	if ((e->flags & F_CONNECTED) &&
	    (how == SHUT_RD || (e->flags & F_WR_SHUT)) &&
	    (how == SHUT_WR || (e->flags & F_RD_EOF)))
		return 0;
	m.arg[0] = (uint32_t)how;
	r = rpc(c, &m, NULL, 0);
	e = &c->sock[s];	/* rpc may have grown the table */
	if (r == 0 && how != SHUT_RD)
		e->flags |= F_WR_SHUT;
	if (r == 0 && how != SHUT_WR)
		e->flags |= F_RD_EOF;
	return r;
}

/* Drop what s holds; unaccepted connections die with their listener. */
static void close_queues(struct fn_sock_chan *c, int s)
{
	struct fn_sock_ent *e = &c->sock[s];

	while (e->aq_head != NIL) {
		uint32_t h = c->held[e->aq_head].m.sock;

		if (c->sock[h].sid)
			orphan_add(c, c->sock[h].sid);
		ent_free(c, h);
		q_pop(c, &e->aq_head, &e->aq_tail);
	}
	ent_drop_queues(c, e);
}

static int close_common(struct fn_sock_chan *c, int s, bool rst)
{
	struct fn_sock_msg m = { .op = FN_SREQ_CLOSE, .sock = (uint32_t)s };
	struct fn_sock_ent *e = ent_get(c, s);
	int r;

	if (!e)
		return -EBADF;
	/* Unread data: RST, as the kernel does (RFC 2525 2.17). */
	m.arg[0] = rst || e->dq_head != NIL;
	e->flags |= F_CLOSING;
	close_queues(c, s);
	r = (e->flags & F_RESET) ? 0 : rpc(c, &m, NULL, 0);
	/* what came while we waited for DONE (after it: nothing) */
	close_queues(c, s);
	ent_free(c, (uint32_t)s);
	orphan_flush(c);
	return r == -ECONNRESET || r == -EPIPE ? 0 : r;
}

int fn_sock_close(struct fn_sock_chan *c, int s)
{
	return close_common(c, s, false);
}

int fn_sock_close_rst(struct fn_sock_chan *c, int s)
{
	return close_common(c, s, true);
}

static int getname(struct fn_sock_chan *c, int s, struct sockaddr_in *a,
		   uint32_t which)
{
	struct fn_sock_msg m = { .op = FN_SREQ_GETNAME, .sock = (uint32_t)s,
				 .arg = { which } };
	struct fn_sock_ent *e = NULL;
	int r = ent_check(c, s, &e);

	if (r < 0)
		return r;
	r = rpc(c, &m, NULL, 0);
	if (r == 0)
		addr_from_wire(a, &c->done_addr);
	return r;
}

int fn_sock_getsockname(struct fn_sock_chan *c, int s, struct sockaddr_in *a)
{
	return getname(c, s, a, 0);
}

int fn_sock_getpeername(struct fn_sock_chan *c, int s, struct sockaddr_in *a)
{
	return getname(c, s, a, 1);
}

int fn_sock_setsockopt(struct fn_sock_chan *c, int s, int level, int name,
		       const void *val, socklen_t len)
{
	struct fn_sock_msg m = { .op = FN_SREQ_SETOPT, .sock = (uint32_t)s,
				 .arg = { (uint32_t)level, (uint32_t)name } };
	struct fn_sock_ent *e = NULL;
	int r = ent_check(c, s, &e);

	if (r < 0)
		return r;
	if (!val || len > 64)
		return -EINVAL;
	return rpc(c, &m, val, len);
}

int fn_sock_error(struct fn_sock_chan *c, int s)
{
	struct fn_sock_ent *e = ent_get(c, s);
	int err;

	if (!e)
		return -EBADF;
	err = err_take(e);
	return err;
}

ssize_t fn_sock_credit(struct fn_sock_chan *c, int s)
{
	struct fn_sock_ent *e = ent_get(c, s);

	if (!e)
		return -EBADF;
	if (e->type != SOCK_STREAM || !(e->flags & F_CONNECTED) ||
	    (e->flags & (F_WR_SHUT | F_RESET)) || e->err)
		return 0;
	return (ssize_t)e->credit;
}

unsigned fn_sock_events(struct fn_sock_chan *c, int s)
{
	struct fn_sock_ent *e = ent_get(c, s);
	unsigned ev = 0;

	if (!e)
		return POLLNVAL;
	if (e->dq_head != NIL || e->aq_head != NIL || (e->flags & F_RD_EOF))
		ev |= POLLIN;
	if (e->err)
		ev |= POLLERR;
	if (e->type == SOCK_DGRAM && !(e->flags & F_RESET))
		ev |= POLLOUT;
	else if ((e->flags & F_CONNECTED) && e->credit && !(e->flags & F_WR_SHUT))
		ev |= POLLOUT;
	else if (!(e->flags & (F_LISTENING | F_CONNECTING | F_RESET)) &&
		 (!(e->flags & F_CONNECTED) || (e->flags & F_WR_SHUT)))
		ev |= POLLOUT;	/* Linux tcp_poll: CLOSE, or SEND_SHUTDOWN */
	if ((e->flags & F_RD_EOF) && ((e->flags & F_WR_SHUT) || e->err))
		ev |= POLLHUP;
	else if (e->type == SOCK_STREAM &&
		 !(e->flags & (F_LISTENING | F_CONNECTING | F_CONNECTED |
			       F_RESET)))
		ev |= POLLHUP;	/* never connected: TCP CLOSE */
	return ev;
}

int fn_sock_wait(struct fn_sock_chan *c, int s, unsigned events,
		 int timeout_ms)
{
	int64_t until = timeout_ms < 0 ? INT64_MAX : fn_clock_ms() + timeout_ms;
	unsigned ev;
	int r;

	for (;;) {
		r = fn_sock_process(c);
		if (r < 0)
			return r;
		ev = fn_sock_events(c, s) & (events | POLLERR | POLLHUP | POLLNVAL);
		if (ev)
			return (int)ev;
		if (fn_clock_ms() >= until)
			return 0;
		r = wait_bell(c, &c->link.rx, timeout_ms < 0 ? WAIT_SLICE_MS :
			      (int)(until - fn_clock_ms() < WAIT_SLICE_MS ?
				    until - fn_clock_ms() : WAIT_SLICE_MS));
		if (r < 0)
			return r;
	}
}

/* ---- additions for libfragnet-preload.so --------------------------------- */

/*
 * What FIONREAD answers: the bytes a recv on s would return now without
 * waiting.  A stream socket: every queued DATA byte not yet read; a
 * datagram socket: the size of the next datagram (0 if none; recvmsg uses
 * it for MSG_TRUNC).  Does not process events.
 */
ssize_t fn_sock_nread(struct fn_sock_chan *c, int s)
{
	struct fn_sock_ent *e = ent_get(c, s);
	size_t n = 0;

	if (!e)
		return -EBADF;
	if (e->dq_head == NIL)
		return 0;
	if (e->type == SOCK_DGRAM)
		return c->held[e->dq_head].m.len;
	for (int32_t i = e->dq_head; i != NIL; i = c->held[i].next)
		n += c->held[i].m.len;
	return (ssize_t)(n - e->dq_off);
}

/* 1 once s will read nothing after its queue (peer FIN, SHUT_RD, error,
 * reset), else 0; -EBADF if unknown.  For EPOLLRDHUP / POLLRDHUP. */
int fn_sock_rd_closed(struct fn_sock_chan *c, int s)
{
	struct fn_sock_ent *e = ent_get(c, s);

	if (!e)
		return -EBADF;
	return (e->flags & F_RD_EOF) ? 1 : 0;
}

uint64_t fn_sock_ready_seq(struct fn_sock_chan *c, int s)
{
	struct fn_sock_ent *e = ent_get(c, s);

	return e ? e->rd_seq : 0;
}

/* 1 if s died with a channel reset (the stack restarted: every call on it
 * answers -ECONNRESET until it is closed), else 0; -EBADF if unknown.
 * libfragnet-preload.so re-creates listeners that died this way. */
int fn_sock_is_reset(struct fn_sock_chan *c, int s)
{
	struct fn_sock_ent *e = ent_get(c, s);

	if (!e)
		return -EBADF;
	return (e->flags & F_RESET) ? 1 : 0;
}
