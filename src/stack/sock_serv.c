/*
 * sock_serv.c - the stack side of the socket channel (sockchan.h).
 *
 * ss_poll(), once per loop turn:
 *   1. slot_reclaim(): learn which event slots the app acked.  An acked DATA
 *      slot of a TCP socket opens its window by the slot's bytes
 *      (tcp_recved), and puts the socket on the starved list if lwIP holds
 *      refused data for it; an acked CLOSED frees the socket id.
 *   2. pending_flush(): post the events lwIP's callbacks left pending
 *      (connected, writable, peer closed, error, closed): one flag each per
 *      socket, so they need no buffer, only a free slot.
 *   3. starved_serve(): hand the freed slots to the starved list, in order
 *      (below).
 *   4. req_drain(): receive requests, at most one per free event slot (each
 *      gets exactly one DONE), validate and perform them.
 *   5. out_flush(): one tcp_output per socket written in this turn, and
 *      the FINs and closes that waited for a socket's hold to drain.
 *
 * SENDS are pipelined (sockchan.h FLOW CONTROL): every byte within the
 * credit we advertised is taken; what lwIP's queue limit refuses waits in
 * the socket's hold (ss_sock) and goes out first, from tcp_on_sent.
 *
 * EVENT SLOTS: DATA and ACCEPTED take slots only while more than
 * SLOT_RESERVE are free, so that an app that holds its whole window of data
 * still gets its DONEs and control events.  No event slot for TCP data:
 * tcp_recv answers ERR_MEM and lwIP keeps the pbuf (its window closes);
 * for a datagram: dropped and counted.  Names: slot_*() and free_slots
 * are about event slots (our tx stream), sev_post() puts one socket
 * event (FN_SEV_*) into a slot.
 *
 * STARVED SOCKETS: a TCP socket whose data was refused for want of a slot
 * goes on the starved list (intrusive, FIFO, each socket at most once).
 * When slots come back, starved_serve() retries the list's head with
 * tcp_process_refused_data(), then the next, while DATA may take a slot;
 * a head still refused stops it.  So a turn retries at most one socket
 * per slot freed, plus one.  Data is taken only from the head while the
 * list is not empty: a socket with new data, or whose own slot was just
 * acked, queues behind those that waited longer, so no socket waits while
 * others get slots again and again, and none waits for lwIP's 250 ms
 * timer (tcp_fasttmr, which still retries every pcb: the non-head ones
 * are refused again).  An empty list costs one test a turn.  A socket
 * leaves the list when its data is taken, or it is closed, fails or is
 * freed.  Nothing is buffered here: the refused data stays in lwIP,
 * inside the TCP window.
 *
 * MAX_TCP bounds the app's OPEN connections (ss->ntcp), as a process's
 * fds bound it on Linux: a TCP socket counts from its SOCKET request (a
 * pcb for a connect) or its accept until the app closes it, the peer
 * closes it (FIN) or resets it, or it is aborted.  A connection closed
 * from either side, or aborted with its dead app, holds no place for the
 * next one, though lwIP may keep its pcb a while (CLOSE-WAIT until the
 * app's close, a closed socket's hold draining, LAST-ACK, FIN-WAIT,
 * TIME-WAIT): those are bounded by socket ids (max_socks) and lwIP's
 * timers.  A connection past max_tcp is refused when its handshake
 * completes (accept callback): tcp_abort sends the peer a RST, so its
 * connect succeeds and its first read or write fails with ECONNRESET.
 * Connections the app has not taken yet wait in their listener's backlog
 * (tcp_backlog_delayed), which drops SYNs beyond it as listen(2) does.
 *
 * RESETS: the app died (the supervisor bumped the channel's epoch), or a
 * new process of the app took the channel over from one that ended
 * (fn_link_take bumped it).  The first channel call to see it joins the
 * new epoch and returns
 * -ECONNRESET once; that call may be one that cannot act on it (a
 * sev_post() inside an lwIP callback, ss_arm(), the reclaim in
 * do_close()), so ss_poll() compares the epoch joined with the one last
 * followed (reset_epoch) and aborts the dead app's sockets, whoever
 * heard of the reset first (chan_reset).
 *
 * TRUST: the app is hostile (sockchan.h TRUST).  A header is copied out
 * of its slot before any check; a malformed request cuts the channel off:
 * both endpoints turn broken, every socket is aborted, counted, until the
 * supervisor resets the channel.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/ip_addr.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"
#if LWIP_TCP
#include "lwip/priv/tcp_priv.h"
#endif

#include "fragnet/log.h"
#include "fragnet/sockchan.h"
#include "fragnet/stats.h"

#include "sock_serv.h"

/* Linux's values, as the app puts them on the wire (sockchan.h).  Not
 * from <sys/socket.h>: its byte-order macros collide with lwIP's. */
#define AF_INET		2
#define SOCK_STREAM	1
#define SOCK_DGRAM	2
#define SHUT_RD		0
#define SHUT_WR		1
#define SHUT_RDWR	2
#define SOL_SOCKET	1
#define SO_REUSEADDR	2
#define SO_SNDBUF	7
#define SO_RCVBUF	8
#define SO_KEEPALIVE	9
#define IPPROTO_TCP	6
#define TCP_NODELAY	1

#define HDR		((uint32_t)sizeof(struct fn_sock_msg))
#define BURST		32
#define SLOT_RESERVE	32	/* slots kept for DONE and control events */

const char *const ss_ctr_names[SS_CTR_COUNT] = {
	[SS_REQUESTS] = "requests",
	[SS_EVENTS] = "events",
	[SS_VIOLATIONS] = "violations",
	[SS_CUTOFFS] = "cutoffs",
	[SS_RESETS] = "resets",
	[SS_ABORTED] = "aborted",
	[SS_UDP_DROP_NOSLOT] = "udp_drop_noslot",
	[SS_UDP_DROP_TOO_BIG] = "udp_drop_too_big",
	[SS_TCP_REFUSED] = "tcp_refused",
	[SS_ACCEPT_REFUSED] = "accept_refused",
	[SS_SEND_HELD] = "send_held",
	[SS_SEND_OVER_CREDIT] = "send_over_credit",
	[SS_CLOSE_RST] = "close_rst",
	[SS_TCP_STARVED] = "tcp_starved",
	[SS_TCP_STARVED_SERVED] = "tcp_starved_served",
	[SS_ACCEPTED] = "accepted",
	[SS_TCP_OPEN] = "tcp_open",
};

/* Pending events of a socket, posted by pending_flush(). */
enum {
	P_ACCEPTED = 1 << 0,	/* first: it announces the socket */
	P_CONNECTED = 1 << 1,
	P_WRITABLE = 1 << 2,
	P_PEER_CLOSED = 1 << 3,
	P_ERROR = 1 << 4,
	P_CLOSED = 1 << 5,
};

enum { T_FREE = 0, T_TCP, T_TCP_LISTEN, T_UDP, T_CLOSING };

struct ss_sock {
	uint8_t type;		/* T_* */
	uint8_t pend;		/* P_* */
	uint8_t dirty;		/* on ss->dirty */
	uint8_t connecting;
	uint8_t unannounced;	/* accepted, ACCEPTED not posted yet */
	uint16_t gen;		/* bumped when the id is freed */
	uint32_t lid;		/* accepted: the listener's id */
	struct fn_sock_addr peer;	/* accepted: for ACCEPTED */
	int32_t err;		/* for P_ERROR */
	uint32_t held;		/* DATA slots the app holds */
	uint32_t next_free;
	union {
		struct tcp_pcb *tcp;
		struct udp_pcb *udp;
	} pcb;
	/* Sends (TCP): taken counts the payload bytes of every SEND request
	 * consumed (mod 2^32), for the app's credit (sockchan.h FLOW
	 * CONTROL).  hold keeps bytes the stack took, within the credit it
	 * advertised, that tcp_write refused for its queue limit
	 * (TCP_SND_QUEUELEN): they go out, in order, before anything else,
	 * as acks free the queue.  hold_len counts against the credit, so
	 * hold_len + lwIP's queued bytes <= TCP_SND_BUF. */
	uint32_t taken;
	uint8_t *hold;
	uint32_t hold_off, hold_len, hold_cap;
	uint8_t after_hold;	/* A_*: what waits for the hold to drain */
	uint8_t out;		/* on ss->outq: tcp_output due */
	uint8_t rd_shut;	/* SHUT_RD: received data is dropped */
	uint8_t linger;		/* closed, hold still draining: seconds */
	uint8_t starved;	/* on the starved list (ss->starved_head) */
	uint8_t counted;	/* an open connection: in ss->ntcp (MAX_TCP) */
	uint32_t st_prev, st_next;	/* its links there; 0 = none */
};

/* Deferred until a socket's hold is sent. */
enum {
	A_FIN = 1 << 0,		/* SHUTDOWN(SHUT_WR): FIN after the data */
	A_CLOSE = 1 << 1,	/* CLOSE: tcp_close after the data */
	A_FREE = 1 << 2,	/* CLOSED acked: free the id after the close */
};
#define LINGER_MAX_S	60	/* a closed socket's hold drains or dies */

/* What an event slot in the app's hands carries. */
enum { K_NONE = 0, K_OTHER, K_DATA, K_CLOSED, K_ACCEPTED };

struct ss_slot {
	uint8_t kind;
	uint16_t gen;
	uint32_t sock;
	uint32_t bytes;		/* K_DATA of a TCP socket: for tcp_recved */
};

static struct sock_serv *the_ss;	/* lwIP callbacks' way back */

static void count(struct sock_serv *ss, enum ss_ctr c)
{
	fn_ctr_add(&ss->ctr[c], 1);
}

/* ---- open connections (MAX_TCP) ------------------------------------------ */

static void tcp_open_publish(struct sock_serv *ss)
{
	atomic_store_explicit(&ss->ctr[SS_TCP_OPEN], ss->ntcp,
			      memory_order_relaxed);
}

#if LWIP_TCP
/* s is an open connection of the app's: it counts against max_tcp. */
static void tcp_count(struct sock_serv *ss, struct ss_sock *s)
{
	if (s->counted)
		return;
	s->counted = 1;
	ss->ntcp++;
	tcp_open_publish(ss);
}
#endif

/* s is closed (by either side), reset, aborted or freed: it counts no
 * more.  Every path that ends a connection calls it; once is enough. */
static void tcp_uncount(struct sock_serv *ss, struct ss_sock *s)
{
	if (!s->counted)
		return;
	s->counted = 0;
	ss->ntcp--;
	tcp_open_publish(ss);
}

/* ---- errors -------------------------------------------------------------- */

static int errno_of(err_t e)
{
	switch (e) {
	case ERR_OK:		return 0;
	case ERR_MEM:		return -ENOMEM;
	case ERR_BUF:		return -ENOBUFS;
	case ERR_TIMEOUT:	return -ETIMEDOUT;
	case ERR_RTE:		return -EHOSTUNREACH;
	case ERR_INPROGRESS:	return -EINPROGRESS;
	case ERR_VAL:		return -EINVAL;
	case ERR_WOULDBLOCK:	return -EAGAIN;
	case ERR_USE:		return -EADDRINUSE;
	case ERR_ALREADY:	return -EALREADY;
	case ERR_ISCONN:	return -EISCONN;
	case ERR_CONN:		return -ENOTCONN;
	case ERR_IF:		return -ENETDOWN;
	case ERR_ABRT:		return -ECONNABORTED;
	case ERR_RST:		return -ECONNRESET;
	case ERR_CLSD:		return -ENOTCONN;
	default:		return -EIO;
	}
}

/* ---- socket ids ---------------------------------------------------------- */

static struct ss_sock *sock_of(struct sock_serv *ss, uint32_t id)
{
	if (id == 0 || id >= ss->nsock || ss->sock[id].type == T_FREE)
		return NULL;
	return &ss->sock[id];
}

static uint32_t id_alloc(struct sock_serv *ss, uint8_t type)
{
	uint32_t id = ss->free_id;

	if (id) {
		ss->free_id = ss->sock[id].next_free;
	} else {
		if (ss->nsock > ss->max_socks)
			return 0;
		if (ss->nsock == ss->cap) {
			uint32_t n = ss->cap * 2;
			struct ss_sock *t = realloc(ss->sock, n * sizeof(*t));
			uint32_t *d = realloc(ss->dirty, n * sizeof(*d));
			uint32_t *o = realloc(ss->outq, n * sizeof(*o));

			if (t)
				ss->sock = t;
			if (d)
				ss->dirty = d;
			if (o)
				ss->outq = o;
			if (!t || !d || !o)
				return 0;
			memset(t + ss->cap, 0, (n - ss->cap) * sizeof(*t));
			ss->cap = n;
		}
		id = ss->nsock++;
	}
	uint16_t gen = ss->sock[id].gen;
	uint8_t out = ss->sock[id].out;	/* still on ss->outq */
	memset(&ss->sock[id], 0, sizeof(ss->sock[id]));
	ss->sock[id].gen = gen;
	ss->sock[id].out = out;
	ss->sock[id].type = type;
	return id;
}

static void starved_del(struct sock_serv *ss, uint32_t id);

static void id_free(struct sock_serv *ss, uint32_t id)
{
	struct ss_sock *s = &ss->sock[id];

	starved_del(ss, id);	/* id_alloc clears the links */
	tcp_uncount(ss, s);	/* a freed id holds no place */
	free(s->hold);
	s->hold = NULL;
	s->hold_off = s->hold_len = s->hold_cap = 0;
	s->type = T_FREE;
	s->pend = 0;
	s->gen++;
	s->next_free = ss->free_id;
	ss->free_id = id;
}

static void mark(struct sock_serv *ss, uint32_t id, uint8_t p)
{
	struct ss_sock *s = &ss->sock[id];

	s->pend |= p;
	ss->dirty_stuck = false;
	if (!s->dirty) {
		s->dirty = 1;
		ss->dirty[ss->ndirty++] = id;
	}
}

/* ---- the starved list ---------------------------------------------------- */

#if LWIP_TCP
/* Data of socket id was refused for want of a slot: queue it (at the
 * tail; a socket already queued keeps its place). */
static void starved_add(struct sock_serv *ss, uint32_t id)
{
	struct ss_sock *s = &ss->sock[id];

	if (s->starved)
		return;
	s->starved = 1;
	s->st_prev = ss->starved_tail;
	s->st_next = 0;
	if (ss->starved_tail)
		ss->sock[ss->starved_tail].st_next = id;
	else
		ss->starved_head = id;
	ss->starved_tail = id;
	count(ss, SS_TCP_STARVED);
}
#endif

/* Off the list: its data was taken, or it closed, failed or is freed. */
static void starved_del(struct sock_serv *ss, uint32_t id)
{
	struct ss_sock *s = &ss->sock[id];

	if (!s->starved)
		return;
	if (s->st_prev)
		ss->sock[s->st_prev].st_next = s->st_next;
	else
		ss->starved_head = s->st_next;
	if (s->st_next)
		ss->sock[s->st_next].st_prev = s->st_prev;
	else
		ss->starved_tail = s->st_prev;
	s->starved = 0;
	s->st_prev = s->st_next = 0;
}

/* ---- event slots --------------------------------------------------------- */

/* The app acked event slot i: act on what it carried.  The record is
 * taken and cleared first.  Refused data is not retried here (this runs
 * inside sev_post() too, in the middle of another socket's callback): the
 * socket queues on the starved list, and starved_serve() retries it in
 * its turn. */
static void slot_acked(struct sock_serv *ss, uint32_t i)
{
	struct ss_slot sl = ss->slot[i];
	struct ss_sock *s = sock_of(ss, sl.sock);

	ss->slot[i].kind = K_NONE;
	if (!s || s->gen != sl.gen)
		return;
	if (sl.kind == K_DATA && s->held)
		s->held--;
#if LWIP_TCP
	if (sl.kind == K_DATA && s->type == T_TCP && s->pcb.tcp && sl.bytes) {
		tcp_recved(s->pcb.tcp, (u16_t)sl.bytes);
		if (s->pcb.tcp->refused_data)
			starved_add(ss, sl.sock);
	}
	/* the app took the connection off its listener's queue */
	if (sl.kind == K_ACCEPTED && s->type == T_TCP && s->pcb.tcp) {
		tcp_backlog_accepted(s->pcb.tcp);
		if (s->pcb.tcp->refused_data)
			starved_add(ss, sl.sock);
	}
#endif
	if (sl.kind == K_CLOSED && s->type == T_CLOSING) {
		if (s->pcb.tcp)	/* still sending its hold */
			s->after_hold |= A_FREE;
		else
			id_free(ss, sl.sock);
	}
}

static int slot_reclaim(struct sock_serv *ss)
{
	struct fn_endpoint *tx = &ss->chan.tx;
	int r = fn_stream_reclaim(tx);

	if (r < 0)
		return r;
	if ((uint32_t)r != ss->free_slots) {
		/* first: slot_acked() may post (refused data now taken) */
		ss->free_slots = (uint32_t)r;
		for (uint32_t i = 0; i < tx->nslots; i++)
			if (ss->slot[i].kind != K_NONE &&
			    tx->state[i] == FN_SLOT_FREE)
				slot_acked(ss, i);
	}
	return (int)ss->free_slots;
}

/* Did a call other than ours hear of a reset (RESETS)?  Every channel
 * call joins a new epoch before it returns. */
static bool chan_was_reset(const struct sock_serv *ss)
{
	return ss->chan.epoch != ss->reset_epoch;
}

/* Post one event; its payload (len bytes) from pbuf p at off, if any.
 * need: free slots required (SLOT_RESERVE + 1 for data). 0 or -errno. */
static int sev_post(struct sock_serv *ss, struct fn_sock_msg *m, uint8_t kind,
		    uint32_t need, struct pbuf *p, uint32_t off)
{
	struct fn_pkt pkt;
	int r;

	/* After a reset was heard, nothing of the old app's reaches the new
	 * one before chan_reset() has aborted its sockets. */
	if (ss->broken || ss->free_slots < need || chan_was_reset(ss))
		return -EAGAIN;
	r = fn_stream_alloc_burst(&ss->chan.tx, &pkt, 1);
	if (r != 1)
		return r < 0 ? r : -EAGAIN;
	ss->free_slots--;
	if (ss->slot[pkt.slot].kind != K_NONE)	/* acked inside the alloc */
		slot_acked(ss, pkt.slot);
	memcpy(pkt.data, m, HDR);
	if (p && m->len)
		pbuf_copy_partial(p, pkt.data + HDR, (u16_t)m->len, (u16_t)off);
	pkt.len = HDR + m->len;
	ss->slot[pkt.slot] = (struct ss_slot){ .kind = kind, .sock = m->sock,
		.gen = m->sock < ss->nsock ? ss->sock[m->sock].gen : 0,
		.bytes = kind == K_DATA ? m->len : 0 };
	r = fn_stream_submit_burst(&ss->chan.tx, &pkt, 1);
	if (r < 0) {
		ss->slot[pkt.slot].kind = K_NONE;
		return r;
	}
	count(ss, SS_EVENTS);
	return 0;
}

static uint32_t slot_cap(struct sock_serv *ss)
{
	return ss->chan.tx.slot_size - HDR;
}

/* ---- cut-off and reset --------------------------------------------------- */

static void sock_abort(struct sock_serv *ss, uint32_t id)
{
	struct ss_sock *s = &ss->sock[id];

	switch (s->type) {
#if LWIP_TCP
	case T_TCP:
	case T_CLOSING:	/* with a pcb: closed, its hold still draining */
		if (s->pcb.tcp) {
			tcp_arg(s->pcb.tcp, NULL);
			tcp_err(s->pcb.tcp, NULL);
			tcp_abort(s->pcb.tcp);
		}
		tcp_uncount(ss, s);
		break;
	case T_TCP_LISTEN:
		tcp_close(s->pcb.tcp);
		break;
#endif
	case T_UDP:
		udp_remove(s->pcb.udp);
		break;
	default:
		break;
	}
	if (s->type != T_FREE && s->type != T_CLOSING)
		count(ss, SS_ABORTED);
	s->pcb.tcp = NULL;
	id_free(ss, id);
}

/* Every socket of the app, at once.  With linger, a socket the app had
 * closed whose hold is still draining goes on draining (bounded by
 * LINGER_MAX_S), as a closed socket of a dead process does in the
 * kernel: it posts no event any more (CLOSE), and its id is freed when
 * the drain ends. */
static void abort_all(struct sock_serv *ss, bool linger)
{
	for (uint32_t id = 1; id < ss->nsock; id++) {
		struct ss_sock *s = &ss->sock[id];

		if (s->type == T_FREE)
			continue;
		if (linger && s->type == T_CLOSING && s->pcb.tcp) {
			s->after_hold |= A_FREE;
			continue;
		}
		sock_abort(ss, id);
	}
	for (uint32_t i = 0; i < ss->chan.tx.nslots; i++)
		ss->slot[i].kind = K_NONE;
	for (uint32_t i = 0; i < ss->ndirty; i++)
		ss->sock[ss->dirty[i]].dirty = 0;
	ss->ndirty = 0;
	for (uint32_t i = 0; i < ss->nout; i++)
		ss->sock[ss->outq[i]].out = 0;
	ss->nout = 0;
	ss->starved_head = ss->starved_tail = 0;	/* id_free emptied it */
}

/* The app broke the protocol: cut it off until the supervisor resets. */
static void cut_off(struct sock_serv *ss)
{
	count(ss, SS_VIOLATIONS);
	if (ss->broken)
		return;
	ss->broken = true;
	ss->chan.rx.broken = true;
	ss->chan.tx.broken = true;
	count(ss, SS_CUTOFFS);
	abort_all(ss, false);
}

/* The channel was reset (the app died, or a new process of the app took
 * the channel over): a fresh start.  Every open socket of the old one is
 * aborted at once (RST to TCP peers), so none of its connections counts
 * against the next one's max_tcp; closed ones finish sending. */
static void chan_reset(struct sock_serv *ss)
{
	ss->reset_epoch = ss->chan.epoch;
	count(ss, SS_RESETS);
	abort_all(ss, true);
	ss->broken = false;
	ss->free_slots = 0;
}

static int chan_error(struct sock_serv *ss, int r)
{
	if (r == -ECONNRESET || chan_was_reset(ss))
		chan_reset(ss);
	else if (r == -EPIPE && !ss->broken)
		cut_off(ss);
	return 0;
}

/* ---- TCP sends ----------------------------------------------------------- */

#if LWIP_TCP
/* What the app may still send on s: lwIP's free send buffer, less what we
 * hold for it.  Advertised in WRITABLE and SEND's DONE, and honoured. */
static uint32_t credit_of(const struct ss_sock *s)
{
	uint32_t b;

	if (s->type != T_TCP || !s->pcb.tcp)
		return 0;
	b = tcp_sndbuf(s->pcb.tcp);
	return b > s->hold_len ? b - s->hold_len : 0;
}

/* tcp_output for s at the end of this turn (out_flush): one call for all
 * the sends of a burst. */
static void out_mark(struct sock_serv *ss, uint32_t id)
{
	struct ss_sock *s = &ss->sock[id];

	if (!s->out) {
		s->out = 1;
		ss->outq[ss->nout++] = id;
	}
}

/* Write up to len bytes into lwIP, in pieces that fit its queue: bytes
 * written (maybe fewer: ERR_MEM, the queue is full), or -errno. */
static long tcp_put(struct tcp_pcb *t, const uint8_t *data, uint32_t len)
{
	uint32_t done = 0;

	while (done < len) {
		uint32_t n = len - done;
		err_t e;

		if (n > tcp_sndbuf(t))
			n = tcp_sndbuf(t);
		if (n > 0xffff)
			n = 0xffff;
		if (n == 0)
			break;
		e = tcp_write(t, data + done, (u16_t)n, TCP_WRITE_FLAG_COPY);
		if (e == ERR_MEM && n > TCP_MSS)	/* all or nothing: smaller */
			e = tcp_write(t, data + done, (u16_t)(n = TCP_MSS),
				      TCP_WRITE_FLAG_COPY);
		if (e == ERR_MEM)
			break;
		if (e != ERR_OK)
			return errno_of(e);
		done += n;
	}
	return (long)done;
}

/* Keep n bytes for later (the hold); bounded by the credit: see ss_sock. */
static int hold_add(struct ss_sock *s, const uint8_t *data, uint32_t n)
{
	if (s->hold_off + s->hold_len + n > s->hold_cap) {
		if (s->hold_off) {
			memmove(s->hold, s->hold + s->hold_off, s->hold_len);
			s->hold_off = 0;
		}
		if (s->hold_len + n > s->hold_cap) {
			uint8_t *h = realloc(s->hold, s->hold_len + n);

			if (!h)
				return -ENOBUFS;
			s->hold = h;
			s->hold_cap = s->hold_len + n;
		}
	}
	memcpy(s->hold + s->hold_off + s->hold_len, data, n);
	s->hold_len += n;
	return 0;
}

/* Move held bytes into lwIP as far as its queue allows.  0 or -errno (the
 * connection failed: the hold is dropped with it). */
static int hold_flush(struct sock_serv *ss, uint32_t id)
{
	struct ss_sock *s = &ss->sock[id];
	long w;

	if (!s->hold_len || !s->pcb.tcp)
		return 0;
	w = tcp_put(s->pcb.tcp, s->hold + s->hold_off, s->hold_len);
	if (w < 0)
		return (int)w;
	s->hold_off += (uint32_t)w;
	s->hold_len -= (uint32_t)w;
	if (w > 0 || (!s->hold_len && s->after_hold))
		out_mark(ss, id);
	if (!s->hold_len) {
		free(s->hold);
		s->hold = NULL;
		s->hold_off = s->hold_cap = 0;
	}
	return 0;
}

/* Close a pcb for good: graceful, or RST when abort (or tcp_close fails). */
static void pcb_close(struct sock_serv *ss, struct ss_sock *s, bool abort)
{
	struct tcp_pcb *t = s->pcb.tcp;

	tcp_arg(t, NULL);
	tcp_err(t, NULL);
	tcp_sent(t, NULL);
	tcp_poll(t, NULL, 0);
	tcp_recv(t, NULL);	/* lwIP's tcp_recv_null after close */
	/* A reset (ours, or lwIP's tcp_close when the window is not fully
	 * open) drops what is queued unsent.  The kernel would have sent
	 * that data at write() already: Redis writes "-ERR Protocol error"
	 * and closes with input unread, and the client reads the reply,
	 * then the reset.  So send now what out_flush() would have sent at
	 * the end of this turn; the RST follows it (seqno snd_nxt). */
	if ((t->state == ESTABLISHED || t->state == CLOSE_WAIT) && t->unsent)
		tcp_output(t);
	/* lwIP's tcp_close resets by itself when the window is not fully
	 * open (data the app was given but not tcp_recved) */
	if (!abort && (t->state == ESTABLISHED || t->state == CLOSE_WAIT) &&
	    t->rcv_wnd != TCP_WND_MAX(t)) {
		fn_debug("close: rcv_wnd %u of %u: lwIP resets",
			 (unsigned)t->rcv_wnd, (unsigned)TCP_WND_MAX(t));
		count(ss, SS_CLOSE_RST);
	}
	if (!abort && tcp_close(t) != ERR_OK) {
		fn_debug("tcp_close failed in state %d: RST", t->state);
		abort = true;
	}
	if (abort) {
		count(ss, SS_CLOSE_RST);
		tcp_abort(t);
	}
	tcp_uncount(ss, s);
	s->pcb.tcp = NULL;
	starved_del(ss, (uint32_t)(s - ss->sock));
}

/*
 * Let go of s's pcb without closing it: lwIP finishes the connection on
 * its own.  Needed once both FINs are in while the socket is open (the
 * app's SHUT_WR, then the peer's FIN): the pcb is then in CLOSING or
 * TIME-WAIT, and lwIP frees a TIME-WAIT pcb by itself (tcp_slowtmr after
 * 2 MSL, tcp_kill_timewait) without calling any of our callbacks, so a
 * pointer kept here would dangle.  For the app the connection is over,
 * as Linux's socket is in CLOSE once TIME-WAIT is a timewait sock.
 */
static void pcb_detach(struct sock_serv *ss, struct ss_sock *s)
{
	struct tcp_pcb *t = s->pcb.tcp;

	tcp_arg(t, NULL);
	tcp_err(t, NULL);
	tcp_sent(t, NULL);
	tcp_poll(t, NULL, 0);
	tcp_recv(t, NULL);
	s->pcb.tcp = NULL;
	tcp_uncount(ss, s);
	starved_del(ss, (uint32_t)(s - ss->sock));
	free(s->hold);	/* empty: our FIN went after it */
	s->hold = NULL;
	s->hold_off = s->hold_len = s->hold_cap = 0;
}

/* Both FINs are in: ours was sent (SHUT_WR) and the peer's arrived.  In
 * tcp_on_recv, lwIP has already moved the pcb on when it delivers the
 * data or the FIN of that segment. */
static bool fin_both(const struct tcp_pcb *t)
{
	return t->state == CLOSING || t->state == TIME_WAIT;
}

/* What waited for s's hold to drain: its FIN, its close. */
static void hold_after(struct sock_serv *ss, uint32_t id)
{
	struct ss_sock *s = &ss->sock[id];

	if (s->hold_len || !s->pcb.tcp)
		return;
	if (s->after_hold & A_FIN) {
		s->after_hold &= (uint8_t)~A_FIN;
		tcp_shutdown(s->pcb.tcp, 0, 1);
	}
	if (s->after_hold & A_CLOSE) {
		pcb_close(ss, s, false);
		if (s->after_hold & A_FREE)
			id_free(ss, id);
		s->after_hold = 0;
	}
}

/* End of a turn: one tcp_output per socket written, deferred FINs and
 * closes. */
static void out_flush(struct sock_serv *ss)
{
	for (uint32_t i = 0; i < ss->nout; i++) {
		uint32_t id = ss->outq[i];
		struct ss_sock *s = &ss->sock[id];

		s->out = 0;
		if ((s->type != T_TCP && s->type != T_CLOSING) || !s->pcb.tcp)
			continue;
		hold_after(ss, id);
		if (s->pcb.tcp)
			tcp_output(s->pcb.tcp);
	}
	ss->nout = 0;
}

/*
 * Slots came back: give them to the starved sockets, head first (STARVED
 * SOCKETS).  tcp_process_refused_data() only on a pcb that is ours and
 * still holds refused data; it calls tcp_on_recv, which takes the data
 * (a slot or more) and unlinks the head, or refuses it again: too few
 * slots for it yet, stop.  ERR_ABRT: the pcb is freed (tcp_on_err has
 * unlinked the socket).  Sockets served, or 0 (a head refused again is
 * no work: the loop may sleep until the app acks).
 */
static int starved_serve(struct sock_serv *ss)
{
	int served = 0;

	while (ss->starved_head && ss->free_slots > SLOT_RESERVE &&
	       !ss->broken) {
		uint32_t id = ss->starved_head;
		struct ss_sock *s = &ss->sock[id];
		struct tcp_pcb *t = s->pcb.tcp;

		if (s->type != T_TCP || !t || !t->refused_data ||
		    s->unannounced) {
			starved_del(ss, id);	/* nothing to retry */
			continue;
		}
		if (tcp_process_refused_data(t) == ERR_ABRT)
			starved_del(ss, id);
		else if (ss->starved_head == id)
			break;
		served++;
	}
	return served;
}
#endif /* LWIP_TCP */

/* ---- lwIP callbacks ------------------------------------------------------ */

static void name_set(struct fn_sock_addr *a, const ip_addr_t *ip, u16_t port)
{
	a->addr = ip_addr_get_ip4_u32(ip);
	a->port = lwip_htons(port);
	a->family = AF_INET;
}

static void udp_on_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p,
			const ip_addr_t *addr, u16_t port)
{
	struct sock_serv *ss = the_ss;
	uint32_t id = (uint32_t)(uintptr_t)arg;
	struct fn_sock_msg m = { .op = FN_SEV_DATA, .sock = id,
				 .len = p->tot_len };

	(void)pcb;
	m.addr.addr = ip_addr_get_ip4_u32(addr);
	m.addr.port = lwip_htons(port);
	m.addr.family = AF_INET;
	if (p->tot_len > slot_cap(ss))
		count(ss, SS_UDP_DROP_TOO_BIG);
	else if (sev_post(ss, &m, K_DATA, SLOT_RESERVE + 1, p, 0) < 0)
		count(ss, SS_UDP_DROP_NOSLOT);
	pbuf_free(p);
}

#if LWIP_TCP
static err_t tcp_on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p,
			 err_t err)
{
	struct sock_serv *ss = the_ss;
	uint32_t id = (uint32_t)(uintptr_t)arg, cap = slot_cap(ss), need;
	struct ss_sock *s = sock_of(ss, id);
	bool ours = s && s->type == T_TCP && s->pcb.tcp == pcb, last;

	(void)err;
	if (!p && ours)
		tcp_uncount(ss, s);	/* the peer closed it (MAX_TCP) */
	if (!p && ours && fin_both(pcb)) {	/* after our FIN */
		if (!s->rd_shut)
			mark(ss, id, P_PEER_CLOSED);
		pcb_detach(ss, s);
		return ERR_OK;
	}
	if (!s || s->type != T_TCP || s->rd_shut) {
		if (p) {
			tcp_recved(pcb, p->tot_len);
			pbuf_free(p);
		}
		if (s)
			starved_del(ss, id);
		return ERR_OK;
	}
	if (!p) {
		mark(ss, id, P_PEER_CLOSED);
		return ERR_OK;
	}
	need = (p->tot_len + cap - 1) / cap;
	if (ss->broken || s->unannounced) {
		count(ss, SS_TCP_REFUSED);
		return ERR_MEM;	/* retried when ACCEPTED is acked */
	}
	/* The segment that brought the peer's FIN after ours: the pcb is in
	 * CLOSING or TIME-WAIT, where nothing retries refused data but the
	 * starved list, and a TIME-WAIT pcb may vanish under it.  Take it
	 * now, from the reserve if need be; without any slot it is lost. */
	last = ours && fin_both(pcb);
	/* no slot, or others starved first: queue (STARVED SOCKETS) */
	if (!last && (ss->free_slots < SLOT_RESERVE + need ||
		      (ss->starved_head && ss->starved_head != id))) {
		count(ss, SS_TCP_REFUSED);
		starved_add(ss, id);
		return ERR_MEM;	/* lwIP keeps p; window closes */
	}
	if (s->starved) {
		starved_del(ss, id);
		count(ss, SS_TCP_STARVED_SERVED);
	}
	for (uint32_t off = 0; off < p->tot_len; off += cap) {
		struct fn_sock_msg m = { .op = FN_SEV_DATA, .sock = id };

		m.len = p->tot_len - off < cap ? p->tot_len - off : cap;
		if (sev_post(ss, &m, K_DATA, 1, p, off) == 0) {
			s->held++;
		} else {	/* lost: cut off, or no slot at all (last) */
			if (last)
				count(ss, SS_TCP_REFUSED);
			tcp_recved(pcb, (u16_t)m.len);
		}
	}
	pbuf_free(p);
	return ERR_OK;
}

/* Acks freed lwIP's queue: held bytes first, then tell the app. */
static err_t tcp_on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	uint32_t id = (uint32_t)(uintptr_t)arg;
	struct ss_sock *s = sock_of(the_ss, id);

	(void)pcb;
	(void)len;
	if (!s || !s->pcb.tcp)
		return ERR_OK;
	hold_flush(the_ss, id);	/* an error comes through tcp_on_err */
	if (s->type == T_TCP)
		mark(the_ss, id, P_WRITABLE);
	return ERR_OK;
}

/* The pcb is already freed. */
static void tcp_on_err(void *arg, err_t err)
{
	struct sock_serv *ss = the_ss;
	uint32_t id = (uint32_t)(uintptr_t)arg;
	struct ss_sock *s = sock_of(ss, id);
	bool lost;

	if (!s || (s->type != T_TCP && s->type != T_CLOSING) || !s->pcb.tcp)
		return;
	lost = s->starved;	/* refused data (and FIN) went with the pcb */
	s->pcb.tcp = NULL;
	tcp_uncount(ss, s);
	starved_del(ss, id);
	free(s->hold);	/* the connection is gone: so is what it held */
	s->hold = NULL;
	s->hold_off = s->hold_len = s->hold_cap = 0;
	if (s->type == T_CLOSING) {	/* closed by the app, lingering */
		if (s->after_hold & A_FREE)
			id_free(ss, id);
		s->after_hold = 0;
		return;
	}
	/* ERR_CLSD: our FIN (SHUT_WR in CLOSE-WAIT) was acked in LAST-ACK
	 * (tcp_input_delayed_close).  A normal end, no error: Linux's recv
	 * answers 0 then, send EPIPE, SO_ERROR 0.  The peer's FIN was
	 * reported already, unless it was still refused: then lost. */
	if (err == ERR_CLSD && !lost) {
		s->connecting = 0;
		return;
	}
	s->err = errno_of(err);
	if (s->connecting && err == ERR_RST)
		s->err = -ECONNREFUSED;
	s->connecting = 0;
	mark(ss, id, P_ERROR);
}

/* Every second: retry the hold, bound a closed socket's linger, and a
 * safety net for a WRITABLE lost to a full event ring. */
static err_t tcp_on_poll(void *arg, struct tcp_pcb *pcb)
{
	uint32_t id = (uint32_t)(uintptr_t)arg;
	struct ss_sock *s = sock_of(the_ss, id);

	if (!s || s->pcb.tcp != pcb)
		return ERR_OK;
	if (s->type == T_CLOSING && ++s->linger > LINGER_MAX_S) {
		tcp_abort(pcb);	/* tcp_on_err frees the rest */
		return ERR_ABRT;
	}
	hold_flush(the_ss, id);
	if (s->type == T_TCP && credit_of(s) > 0 &&
	    tcp_sndqueuelen(pcb) < TCP_SND_QUEUELEN)
		mark(the_ss, id, P_WRITABLE);
	return ERR_OK;
}

static void tcp_hook(struct tcp_pcb *pcb, uint32_t id)
{
	tcp_arg(pcb, (void *)(uintptr_t)id);
	tcp_recv(pcb, tcp_on_recv);
	tcp_sent(pcb, tcp_on_sent);
	tcp_err(pcb, tcp_on_err);
	tcp_poll(pcb, tcp_on_poll, 2);	/* coarse ticks of 500 ms */
}

static err_t tcp_on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	uint32_t id = (uint32_t)(uintptr_t)arg;
	struct ss_sock *s = sock_of(the_ss, id);

	(void)pcb;
	(void)err;	/* always ERR_OK in lwIP 2.1 */
	if (s) {
		s->connecting = 0;
		mark(the_ss, id, P_CONNECTED | P_WRITABLE);
	}
	return ERR_OK;
}

static err_t tcp_on_accept(void *arg, struct tcp_pcb *npcb, err_t err)
{
	struct sock_serv *ss = the_ss;
	uint32_t lid = (uint32_t)(uintptr_t)arg, id;
	struct ss_sock *s;

	if (err != ERR_OK || !npcb)
		return ERR_VAL;
	if (!sock_of(ss, lid) || ss->sock[lid].type != T_TCP_LISTEN ||
	    ss->ntcp >= ss->max_tcp || !(id = id_alloc(ss, T_TCP))) {
		count(ss, SS_ACCEPT_REFUSED);
		tcp_abort(npcb);
		return ERR_ABRT;
	}
	s = &ss->sock[id];
	s->pcb.tcp = npcb;
	s->lid = lid;
	name_set(&s->peer, &npcb->remote_ip, npcb->remote_port);
	s->unannounced = 1;
	tcp_count(ss, s);
	count(ss, SS_ACCEPTED);
	tcp_hook(npcb, id);
	/* Counts against the listener's backlog until the app acks the
	 * ACCEPTED slot: a full queue drops SYNs (the peer retries), as
	 * listen(2) does.  ACCEPTED itself goes out with the pending events,
	 * when an event slot is free; its bit is one flag per socket, and
	 * the backlog bounds those sockets. */
	tcp_backlog_delayed(npcb);
	mark(ss, id, P_ACCEPTED | P_WRITABLE);
	return ERR_OK;
}
#endif /* LWIP_TCP */

/* ---- pending events ------------------------------------------------------ */

/* WRITABLE's and SEND DONE's arg[0] and arg[1] (sockchan.h FLOW CONTROL). */
static void credit_set(const struct ss_sock *s, struct fn_sock_msg *m)
{
#if LWIP_TCP
	m->arg[0] = credit_of(s);
#endif
	m->arg[1] = s->taken;
}

/* Announce an accepted socket; it holds a slot like DATA.  false: no slot
 * (stays pending).  A listener closed meanwhile: abort the connection. */
static bool accepted_post(struct sock_serv *ss, uint32_t id)
{
	struct ss_sock *s = &ss->sock[id];
	struct fn_sock_msg m = { .op = FN_SEV_ACCEPTED, .sock = id,
				 .addr = s->peer, .arg = { s->lid } };

	if (!sock_of(ss, s->lid) || ss->sock[s->lid].type != T_TCP_LISTEN) {
		count(ss, SS_ACCEPT_REFUSED);
		sock_abort(ss, id);
		return true;
	}
	if (sev_post(ss, &m, K_ACCEPTED, SLOT_RESERVE + 1, NULL, 0) < 0)
		return false;
	s->unannounced = 0;
	return true;
}

/* Post the pending events of one socket, in a sensible order.  Returns
 * false if it ran out of slots (the rest stays pending). */
static bool pending_one(struct sock_serv *ss, uint32_t id)
{
	static const uint16_t ops[] = { FN_SEV_ACCEPTED, FN_SEV_CONNECTED,
		FN_SEV_WRITABLE, FN_SEV_PEER_CLOSED, FN_SEV_ERROR, FN_SEV_CLOSED };
	struct ss_sock *s = &ss->sock[id];

	for (unsigned b = 0; b < 6; b++) {
		struct fn_sock_msg m = { .op = ops[b], .sock = id };

		if (!(s->pend & (1u << b)))
			continue;
		if (ops[b] == FN_SEV_ACCEPTED) {
			if (!accepted_post(ss, id))
				return false;
			if (s->type == T_FREE)
				return true;	/* aborted: listener gone */
			s->pend &= (uint8_t)~P_ACCEPTED;
			continue;
		}
		if (ops[b] == FN_SEV_WRITABLE)
			credit_set(s, &m);
		if (ops[b] == FN_SEV_ERROR)
			m.result = s->err;
		if (sev_post(ss, &m,
			     ops[b] == FN_SEV_CLOSED ? K_CLOSED : K_OTHER,
			     SLOT_RESERVE / 2, NULL, 0) < 0)
			return false;
		s->pend &= (uint8_t)~(1u << b);
	}
	return true;
}

static int pending_flush(struct sock_serv *ss)
{
	uint32_t i, kept = 0, done = 0;

	for (i = 0; i < ss->ndirty; i++) {
		uint32_t id = ss->dirty[i];

		if (ss->sock[id].type == T_FREE || pending_one(ss, id)) {
			ss->sock[id].dirty = 0;
			done++;
		} else {
			ss->dirty[kept++] = id;
		}
	}
	ss->ndirty = kept;
	/* what is kept waits for the app to ack slots: ss_arm() may sleep,
	 * the ack rings us (until then nothing could be posted anyway) */
	ss->dirty_stuck = kept > 0;
	return (int)done;
}

/* ---- requests ------------------------------------------------------------ */

/* A request copied out and checked: the app can change the slot under us. */
struct req {
	struct fn_sock_msg m;
	const uint8_t *payload;	/* in the slot: copy before checking */
	struct ss_sock *s;	/* NULL for FN_SREQ_SOCKET */
	struct fn_sock_addr name;	/* DONE.addr of a GETNAME */
};

static void ip_of(ip_addr_t *ip, const struct fn_sock_addr *a)
{
	ip_addr_set_ip4_u32(ip, a->addr);
}

static int do_socket(struct sock_serv *ss, struct req *q)
{
	uint32_t type = q->m.arg[0];
	uint32_t id;

	if (type == SOCK_DGRAM) {
		struct udp_pcb *u = udp_new();

		if (!u)
			return -ENOMEM;
		id = id_alloc(ss, T_UDP);
		if (!id) {
			udp_remove(u);
			return -EMFILE;
		}
		ss->sock[id].pcb.udp = u;
		udp_recv(u, udp_on_recv, (void *)(uintptr_t)id);
		return (int)id;
	}
#if LWIP_TCP
	if (type == SOCK_STREAM) {
		struct tcp_pcb *t;

		if (ss->ntcp >= ss->max_tcp)
			return -ENOBUFS;
		t = tcp_new();
		if (!t)
			return -ENOMEM;
		id = id_alloc(ss, T_TCP);
		if (!id) {
			tcp_abort(t);
			return -EMFILE;
		}
		ss->sock[id].pcb.tcp = t;
		tcp_count(ss, &ss->sock[id]);
		tcp_hook(t, id);
		return (int)id;
	}
#endif
	return -EPROTONOSUPPORT;
}

static int do_bind(struct req *q)
{
	ip_addr_t ip;
	u16_t port = lwip_ntohs(q->m.addr.port);

	ip_of(&ip, &q->m.addr);
	/* Bound already: EINVAL, as Linux says.  lwIP's tcp_bind would put
	 * the pcb on its bound list a second time: a cycle, and every later
	 * walk of the list spins forever (found by fuzz_sockserv). */
	if (q->s->type == T_UDP)
		return q->s->pcb.udp->local_port ? -EINVAL :
		       errno_of(udp_bind(q->s->pcb.udp, &ip, port));
#if LWIP_TCP
	if (q->s->type == T_TCP && q->s->pcb.tcp)
		return q->s->pcb.tcp->local_port ? -EINVAL :
		       errno_of(tcp_bind(q->s->pcb.tcp, &ip, port));
#endif
	return -EINVAL;
}

static int do_listen(uint32_t id, struct req *q)
{
#if LWIP_TCP
	struct tcp_pcb *l;
	err_t err = ERR_OK;

	if (q->s->type == T_TCP_LISTEN)
		return 0;
	if (q->s->type != T_TCP || !q->s->pcb.tcp)
		return q->s->type == T_UDP ? -EOPNOTSUPP : -EINVAL;
	if (q->s->pcb.tcp->state != CLOSED)
		return -EINVAL;
	/* every queued connection holds an event slot (SLOT_RESERVE aside) */
	uint32_t max = (the_ss->chan.tx.nslots - SLOT_RESERVE) / 2;
	uint32_t backlog = q->m.arg[0] < max ? q->m.arg[0] : max;

	l = tcp_listen_with_backlog_and_err(q->s->pcb.tcp, (u8_t)backlog, &err);
	if (!l)
		return errno_of(err);
	/* the old pcb is freed: a listener is no TCP connection */
	tcp_uncount(the_ss, q->s);
	q->s->pcb.tcp = l;
	q->s->type = T_TCP_LISTEN;
	tcp_arg(l, (void *)(uintptr_t)id);
	tcp_accept(l, tcp_on_accept);
	return 0;
#else
	(void)id;
	(void)q;
	return -EOPNOTSUPP;
#endif
}

static int do_connect(struct req *q)
{
	ip_addr_t ip;
	u16_t port = lwip_ntohs(q->m.addr.port);

	ip_of(&ip, &q->m.addr);
	if (q->s->type == T_UDP)
		return errno_of(udp_connect(q->s->pcb.udp, &ip, port));
#if LWIP_TCP
	if (q->s->type == T_TCP && q->s->pcb.tcp) {
		err_t e;

		if (q->s->pcb.tcp->state != CLOSED)
			return q->s->connecting ? -EALREADY : -EISCONN;
		e = tcp_connect(q->s->pcb.tcp, &ip, port, tcp_on_connected);
		if (e != ERR_OK)
			return errno_of(e);
		q->s->connecting = 1;
		return -EINPROGRESS;
	}
	if (q->s->type == T_TCP)
		return q->s->err ? q->s->err : -EINVAL;
#endif
	return -EOPNOTSUPP;
}

static int send_udp(struct req *q)
{
	struct pbuf *p;
	ip_addr_t ip;
	err_t e;

	if (q->m.len > 0xffff - 28)
		return -EMSGSIZE;
	p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)q->m.len, PBUF_RAM);
	if (!p)
		return -ENOBUFS;
	memcpy(p->payload, q->payload, q->m.len);
	if (q->m.addr.family == AF_INET) {
		ip_of(&ip, &q->m.addr);
		e = udp_sendto(q->s->pcb.udp, p, &ip, lwip_ntohs(q->m.addr.port));
	} else if (q->s->pcb.udp->flags & UDP_FLAGS_CONNECTED) {
		e = udp_send(q->s->pcb.udp, p);
	} else {
		e = ERR_RTE;
		pbuf_free(p);
		return -EDESTADDRREQ;
	}
	pbuf_free(p);
	return e == ERR_OK ? (int)q->m.len : errno_of(e);
}

#if LWIP_TCP
/*
 * A SEND on a stream socket.  The app sends only within the credit we
 * advertised (sockchan.h FLOW CONTROL), so every byte of an honest SEND
 * is taken: into lwIP, or, when lwIP's queue limit (not its buffer) says
 * no, into the socket's hold, which goes out first as acks come.  Bytes
 * beyond the credit (a broken or hostile app) are dropped and counted:
 * DONE.result < len.
 */
static int send_tcp(struct sock_serv *ss, uint32_t id, struct req *q)
{
	struct ss_sock *s = q->s;
	struct tcp_pcb *t = s->pcb.tcp;
	uint32_t credit, n;
	long w = 0;

	s->taken += q->m.len;
	if (!t)
		return s->err ? s->err : -EPIPE;
	if (t->state != ESTABLISHED && t->state != CLOSE_WAIT)
		return -EPIPE;	/* never announced writable: a broken app */
	if (s->after_hold & A_FIN)
		return -EPIPE;	/* after SHUT_WR */
	credit = credit_of(s);
	n = q->m.len < credit ? q->m.len : credit;
	if (n < q->m.len)
		count(ss, SS_SEND_OVER_CREDIT);
	if (hold_flush(ss, id) < 0 || !s->pcb.tcp)
		return s->err ? s->err : -EPIPE;
	if (!s->hold_len) {
		w = tcp_put(t, q->payload, n);
		if (w < 0)
			return (int)w;
	}
	if ((uint32_t)w < n) {
		count(ss, SS_SEND_HELD);
		if (hold_add(s, q->payload + w, n - (uint32_t)w) < 0) {
			/* we cannot keep our word: fail the connection loudly */
			pcb_close(ss, s, true);
			s->err = -ENOBUFS;
			mark(ss, id, P_ERROR);
			return -ENOBUFS;
		}
	}
	out_mark(ss, id);
	return (int)n;
}
#endif

static int do_send(struct sock_serv *ss, uint32_t id, struct req *q)
{
	if (q->s->type == T_UDP)
		return send_udp(q);
#if LWIP_TCP
	if (q->s->type == T_TCP)
		return send_tcp(ss, id, q);
#endif
	(void)ss;
	(void)id;
	return -EOPNOTSUPP;
}

/*
 * SHUT_RD drops what arrives from now on (lwIP's own shut_rx would answer
 * data with RST, and its shut_rx + shut_tx is tcp_close, after which the
 * pcb may vanish under us).  SHUT_WR sends FIN after every byte taken:
 * at once, or when the hold has drained.
 */
static int do_shutdown(struct req *q)
{
	uint32_t how = q->m.arg[0];
	struct ss_sock *s = q->s;

	if (s->type == T_UDP)
		return 0;
#if LWIP_TCP
	if (s->type == T_TCP && s->pcb.tcp) {
		if (how != SHUT_WR)
			s->rd_shut = 1;
		if (how == SHUT_RD)
			return 0;
		if (s->hold_len) {
			s->after_hold |= A_FIN;
			return 0;
		}
		return errno_of(tcp_shutdown(s->pcb.tcp, 0, 1));
	}
#endif
	(void)how;
	return -ENOTCONN;
}

static int do_close(struct sock_serv *ss, uint32_t id, struct req *q)
{
	struct ss_sock *s = q->s;

#if LWIP_TCP
	/* The app acked the DATA it read before it posted CLOSE: learn those
	 * acks first, or s->held would count read data as unread and abort a
	 * connection whose data was all consumed. */
	if (s->type == T_TCP && s->pcb.tcp)
		slot_reclaim(ss);
	if (s->type == T_TCP && s->pcb.tcp) {
		/* unread data: RST (RFC 2525 2.17), as Linux does */
		bool rst = q->m.arg[0] || s->held || s->pcb.tcp->refused_data;

		if (rst)
			fn_debug("close %u: RST (app unread %u, held %u, refused %d)",
				 id, q->m.arg[0], s->held,
				 s->pcb.tcp->refused_data != NULL);
		if (!rst && s->hold_len) {
			/* taken, not sent yet: it goes out, then FIN (the pcb
			 * lingers, bounded by LINGER_MAX_S) */
			s->after_hold |= A_CLOSE;
			s->linger = 0;
		} else {
			pcb_close(ss, s, rst);
		}
	} else if (s->type == T_TCP_LISTEN) {
		tcp_close(s->pcb.tcp);
		s->pcb.tcp = NULL;
	}
#endif
	if (s->type == T_UDP) {
		udp_remove(s->pcb.udp);
		s->pcb.udp = NULL;
	}
	starved_del(ss, id);	/* nothing more for the app */
	tcp_uncount(ss, s);	/* closed: a hold still draining holds no place */
	s->type = T_CLOSING;
	s->pend = 0;
	mark(ss, id, P_CLOSED);
	return 0;
}

static int setopt_int(struct req *q, int *v)
{
	uint8_t b[4];

	if (q->m.len < sizeof(b))
		return -EINVAL;
	memcpy(b, q->payload, sizeof(b));
	memcpy(v, b, sizeof(*v));
	return 0;
}

static int do_setopt(struct req *q)
{
	uint32_t level = q->m.arg[0], name = q->m.arg[1];
	struct ip_pcb *ip = q->s->type == T_UDP ? (struct ip_pcb *)q->s->pcb.udp
						 : (struct ip_pcb *)q->s->pcb.tcp;
	int v, r = setopt_int(q, &v);

	if (r < 0)
		return r;
	if (level == SOL_SOCKET &&
	    (name == SO_RCVBUF || name == SO_SNDBUF))
		return 0;	/* accepted; lwIP's buffers are fixed */
	if (!ip)
		return q->s->err ? q->s->err : -EINVAL;
	if (level == SOL_SOCKET && (name == SO_KEEPALIVE || name == SO_REUSEADDR)) {
		u8_t f = name == SO_KEEPALIVE ? SOF_KEEPALIVE : SOF_REUSEADDR;

		if (v)
			ip_set_option(ip, f);
		else
			ip_reset_option(ip, f);
		return 0;
	}
#if LWIP_TCP
	if (level == IPPROTO_TCP && name == TCP_NODELAY && q->s->type == T_TCP) {
		if (v)
			tcp_nagle_disable(q->s->pcb.tcp);
		else
			tcp_nagle_enable(q->s->pcb.tcp);
		return 0;
	}
#endif
	return -ENOPROTOOPT;
}

static int do_getname(struct req *q)
{
	bool peer = q->m.arg[0] == 1;

	if (q->s->type == T_UDP) {
		struct udp_pcb *u = q->s->pcb.udp;

		if (peer && !(u->flags & UDP_FLAGS_CONNECTED))
			return -ENOTCONN;
		name_set(&q->name, peer ? &u->remote_ip : &u->local_ip,
			 peer ? u->remote_port : u->local_port);
		return 0;
	}
#if LWIP_TCP
	if (q->s->type == T_TCP_LISTEN && !peer) {
		struct tcp_pcb_listen *l = (struct tcp_pcb_listen *)q->s->pcb.tcp;

		name_set(&q->name, &l->local_ip, l->local_port);
		return 0;
	}
	if (q->s->type == T_TCP && q->s->pcb.tcp) {
		struct tcp_pcb *t = q->s->pcb.tcp;

		if (peer && t->state < SYN_SENT)
			return -ENOTCONN;
		name_set(&q->name, peer ? &t->remote_ip : &t->local_ip,
			 peer ? t->remote_port : t->local_port);
		return 0;
	}
#endif
	return peer ? -ENOTCONN : -EINVAL;
}

/* Is the request well formed?  false = a violation. */
static bool req_valid(struct sock_serv *ss, const struct fn_pkt *p,
		      struct req *q)
{
	const struct fn_sock_msg *m = &q->m;

	if (p->len < HDR || m->len > p->len - HDR)
		return false;
	if (m->op < FN_SREQ_SOCKET || m->op >= FN_SREQ_MAX)
		return false;
	if (m->op != FN_SREQ_SEND && m->op != FN_SREQ_SETOPT && m->len)
		return false;
	if (m->op == FN_SREQ_SOCKET)
		return m->sock == 0;
	q->s = sock_of(ss, m->sock);
	if (!q->s || q->s->type == T_CLOSING)
		return false;
	switch (m->op) {
	case FN_SREQ_BIND:
	case FN_SREQ_CONNECT:
		return m->addr.family == AF_INET;
	case FN_SREQ_SEND:
		return m->addr.family == 0 || (m->addr.family == AF_INET &&
					       q->s->type == T_UDP);
	case FN_SREQ_LISTEN:
		return m->arg[0] >= 1 && m->arg[0] <= 255;
	case FN_SREQ_SHUTDOWN:
		return m->arg[0] <= SHUT_RDWR;
	case FN_SREQ_CLOSE:
		return m->arg[0] <= 1;
	case FN_SREQ_SETOPT:
		return m->len <= 64;
	case FN_SREQ_GETNAME:
		return m->arg[0] <= 1;
	default:
		return false;
	}
}

static int req_do(struct sock_serv *ss, struct req *q)
{
	uint32_t id = q->m.sock;

	switch (q->m.op) {
	case FN_SREQ_SOCKET:	return do_socket(ss, q);
	case FN_SREQ_BIND:	return do_bind(q);
	case FN_SREQ_LISTEN:	return do_listen(id, q);
	case FN_SREQ_CONNECT:	return do_connect(q);
	case FN_SREQ_SEND:	return do_send(ss, id, q);
	case FN_SREQ_SHUTDOWN:	return do_shutdown(q);
	case FN_SREQ_CLOSE:	return do_close(ss, id, q);
	case FN_SREQ_SETOPT:	return do_setopt(q);
	default:		return do_getname(q);
	}
}

/* One request, with its DONE.  false: a violation (cut off). */
static bool req_one(struct sock_serv *ss, const struct fn_pkt *p)
{
	struct req q = { .payload = p->data + HDR };
	struct fn_sock_msg d = { .op = FN_SEV_DONE };

	memcpy(&q.m, p->data, p->len < HDR ? p->len : HDR);
	if (!req_valid(ss, p, &q))
		return false;
	d.result = req_do(ss, &q);
	d.flags = q.m.op;
	d.sock = q.m.sock;
	d.cookie = q.m.cookie;
	d.addr = q.name;
	if (q.m.op == FN_SREQ_SEND)
		credit_set(q.s, &d);
	count(ss, SS_REQUESTS);
	/* a quiet SEND taken whole needs no answer (sockchan.h) */
	if (q.m.op == FN_SREQ_SEND && (q.m.flags & FN_SREQ_F_QUIET) &&
	    d.result == (int32_t)q.m.len)
		return true;
	/* a slot was free when we took the request (req_drain) */
	sev_post(ss, &d, K_OTHER, 1, NULL, 0);
	return true;
}

static int req_drain(struct sock_serv *ss)
{
	struct fn_pkt p[BURST];
	unsigned want = ss->free_slots < BURST ? ss->free_slots : BURST;
	int n, r;

	if (want == 0)
		return 0;
	n = fn_stream_recv_burst(&ss->chan.rx, p, want);
	if (n <= 0)
		return n;
	for (int i = 0; i < n; i++) {
		if (!req_one(ss, &p[i])) {
			cut_off(ss);
			return n;
		}
	}
	r = fn_stream_ack_burst(&ss->chan.rx, p, (unsigned)n);
	return r < 0 ? r : n;
}

/* ---- the service --------------------------------------------------------- */

int ss_poll(struct sock_serv *ss)
{
	int r, work = 0;

	if (chan_was_reset(ss))
		chan_reset(ss);	/* heard by another call (RESETS) */
	if (ss->broken) {
		/* follow the reset that will bring the app back */
		r = fn_stream_reclaim(&ss->chan.tx);
		return r < 0 ? chan_error(ss, r) : 0;
	}
	r = slot_reclaim(ss);
	if (r < 0)
		return chan_error(ss, r);
	work += pending_flush(ss);
#if LWIP_TCP
	work += starved_serve(ss);
#endif
	r = req_drain(ss);
	if (r < 0)
		return chan_error(ss, r);
	work += r;
#if LWIP_TCP
	out_flush(ss);
#endif
	if (r > 0)
		work += pending_flush(ss);
	return work;
}

int ss_arm(struct sock_serv *ss)
{
	int r;

	if (chan_was_reset(ss))
		return 0;	/* ss_poll() follows it */
	if (ss->broken)
		return 1;
	if (ss->nout || (ss->ndirty && !ss->dirty_stuck))
		return 0;
	r = fn_stream_arm(&ss->chan.rx);
	if (r != 1)
		return r < 0 ? 0 : r;
	r = fn_stream_arm(&ss->chan.tx);
	return r < 0 ? 0 : r;
}

void ss_disarm(struct sock_serv *ss)
{
	fn_stream_disarm(&ss->chan.rx);
	fn_stream_disarm(&ss->chan.tx);
}

void ss_bind_counters(struct sock_serv *ss, _Atomic uint64_t *ctr)
{
	if (!ctr)
		return;
	for (int i = 0; i < SS_CTR_COUNT; i++)
		ctr[i] = fn_ctr_get(&ss->ctr[i]);
	ss->ctr = ctr;
}

int ss_open(struct sock_serv *ss, int chan_fd, int app_bell_fd,
	    int stack_bell_fd, uint32_t max_tcp, uint32_t max_socks)
{
	int r;

	memset(ss, 0, sizeof(*ss));
	ss->ctr = ss->own_ctr;
	r = fn_link_attach(&ss->chan, chan_fd, FN_LINK_B, FN_POLL_EVENT);
	if (r < 0)
		return r;
	r = -EBADMSG;
	if (ss->chan.tx.slot_size < HDR + 64 ||
	    ss->chan.tx.nslots <= SLOT_RESERVE * 2)
		goto err_detach;
	r = -ENOMEM;
	ss->cap = 64;
	ss->nsock = 1;
	ss->sock = calloc(ss->cap, sizeof(*ss->sock));
	ss->dirty = calloc(ss->cap, sizeof(*ss->dirty));
	ss->outq = calloc(ss->cap, sizeof(*ss->outq));
	ss->slot = calloc(ss->chan.tx.nslots, sizeof(*ss->slot));
	if (!ss->sock || !ss->dirty || !ss->outq || !ss->slot)
		goto err_free;
	ss->max_tcp = max_tcp;
	ss->max_socks = max_socks;
	ss->reset_epoch = ss->chan.epoch;
	ss->app_bell_fd = app_bell_fd;
	ss->stack_bell_fd = stack_bell_fd;
	/* Our events and acks of requests ring the app; rung once now, so
	 * that an app that attached first and sleeps until we join (its
	 * requests wait for that) looks again at once. */
	fn_link_set_bell(&ss->chan, app_bell_fd);
	the_ss = ss;
	return 0;

err_free:
	free(ss->sock);
	free(ss->dirty);
	free(ss->outq);
	free(ss->slot);
err_detach:
	fn_link_detach(&ss->chan);
	return r;
}

void ss_close(struct sock_serv *ss)
{
	abort_all(ss, false);
	fn_link_detach(&ss->chan);
	free(ss->sock);
	free(ss->dirty);
	free(ss->outq);
	free(ss->slot);
	ss->sock = NULL;
	ss->dirty = NULL;
	ss->outq = NULL;
	ss->slot = NULL;
	if (the_ss == ss)
		the_ss = NULL;
}
