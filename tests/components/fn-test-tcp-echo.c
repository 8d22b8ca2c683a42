/*
 * fn-test-tcp-echo - a native app: a TCP echo server on fragnet sockets.
 *
 *   fn-test-tcp-echo PORT
 *
 * Spawned by the supervisor in the app role (names.h).  It listens on
 * 0.0.0.0:PORT on its stack (fn_sock_*, sock.h) and serves any number of
 * connections at once, all non-blocking, from one loop that waits in
 * fn_sock_poll() (the app doorbell):
 *
 *   echo     every byte received is sent back, in order, through a
 *            per-connection buffer of CONN_BUF bytes: a connection whose
 *            peer does not read stops being read (end-to-end flow control,
 *            sockchan.h), it is never dropped.
 *   EOF      when the peer shuts down its side (recv 0), the rest of the
 *            buffer is echoed, then shutdown(SHUT_WR) and close: the peer
 *            reads everything it sent, then EOF.
 *   RST      a connection whose first 4 bytes are RST_MAGIC is closed as
 *            soon as more data is waiting unread, which makes the stack
 *            abort it: the peer sees ECONNRESET.  For the tests' RST check.
 *   STOP     a connection whose first 4 bytes are STOP_MAGIC is never read
 *            again: its peer must stall (zero window), with no memory
 *            growing anywhere.  For the "app stops reading" test.
 *   memory   a connection's buffer is allocated at its first data, so that
 *            10,000 idle connections cost little.
 *   errors   a connection that reports an error (reset by the peer, ...)
 *            is closed and counted.
 *
 * Counters on its stats page (FRAGNET_STATS_FD), "tcp_echo.*": accepted,
 * closed, active, bytes_in, bytes_out, eof (graceful closes after the peer's
 * FIN), rst_closes, errors, send_again (sends that found no credit).
 *
 * SIGUSR1 logs the state of every connection (buffered bytes, EOF, the
 * events fn_sock_events() reports), to see why one would stall.
 *
 * SIGTERM ends it (exit 0).  When the channel dies (the stack died and the
 * supervisor reset the channel) it exits 3 and the supervisor restarts it;
 * a setup failure exits 1, usage 2.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fragnet/log.h"
#include "fragnet/sock.h"
#include "fragnet/stats.h"

#include "echo_app.h"

#define CONN_BUF	(32u * 1024)
#define RST_MAGIC	"RST!"
#define STOP_MAGIC	"STOP"
#define RST_MAGIC_LEN	4
#define BACKLOG		1024

enum {
	T_ACCEPTED, T_CLOSED, T_ACTIVE, T_BYTES_IN, T_BYTES_OUT, T_EOF,
	T_RST_CLOSES, T_ERRORS, T_SEND_AGAIN, T_STOPPED, T_COUNT
};
static const char *const tcp_names[T_COUNT] = {
	"accepted", "closed", "active", "bytes_in", "bytes_out", "eof",
	"rst_closes", "errors", "send_again", "stopped",
};

struct conn {
	int sock;
	bool first;		/* nothing read yet: look for RST_MAGIC */
	bool rst;		/* close at the first unread byte */
	bool eof;		/* the peer shut down its side */
	bool stop;		/* never read again (STOP_MAGIC) */
	uint32_t head, len;	/* bytes buffered, a ring over buf */
	uint8_t *buf;		/* CONN_BUF bytes, from the first read */
};

struct tcp_echo {
	struct fn_sock_chan chan;
	int listen_sock;
	struct conn **conn;	/* indexed by socket id */
	unsigned nconn;		/* entries allocated */
	_Atomic uint64_t *ctr;	/* T_COUNT */
};

static volatile sig_atomic_t dumping;

static void on_usr1(int sig)
{
	(void)sig;
	dumping = 1;
}

static void dump_conns(struct tcp_echo *t)
{
	dumping = 0;
	for (unsigned i = 0; i < t->nconn; i++) {
		const struct conn *k = t->conn[i];

		if (k)
			fn_info("socket %d: %u bytes buffered, eof %d, rst %d, "
				"events 0x%x", k->sock, k->len, k->eof, k->rst,
				fn_sock_events(&t->chan, k->sock));
	}
}

static void ctr_sub(_Atomic uint64_t *c, uint64_t v)
{
	fn_ctr_add(c, (uint64_t)0 - v);
}

static void conn_close(struct tcp_echo *t, struct conn *k, int ctr)
{
	int err = fn_sock_close(&t->chan, k->sock);

	if (err < 0)
		fn_debug("close %d: %s", k->sock, strerror(-err));
	if (ctr >= 0)
		fn_ctr_add(&t->ctr[ctr], 1);
	fn_ctr_add(&t->ctr[T_CLOSED], 1);
	ctr_sub(&t->ctr[T_ACTIVE], 1);
	t->conn[k->sock] = NULL;
	free(k->buf);
	free(k);
}

static int conn_add(struct tcp_echo *t, int s)
{
	struct conn *k;

	if ((unsigned)s >= t->nconn) {
		unsigned n = t->nconn ? t->nconn : 64;
		struct conn **grown;

		while (n <= (unsigned)s)
			n *= 2;
		grown = realloc(t->conn, n * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		memset(grown + t->nconn, 0, (n - t->nconn) * sizeof(*grown));
		t->conn = grown;
		t->nconn = n;
	}
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->sock = s;
	k->first = true;
	t->conn[s] = k;
	fn_ctr_add(&t->ctr[T_ACCEPTED], 1);
	fn_ctr_add(&t->ctr[T_ACTIVE], 1);
	return 0;
}

/* Accept every queued connection: 0, or the channel's death. */
static int accept_all(struct tcp_echo *t)
{
	for (;;) {
		struct sockaddr_in peer;
		int s = fn_sock_accept(&t->chan, t->listen_sock, &peer);

		if (s == -EAGAIN)
			return 0;
		if (echo_chan_dead(s))
			return s;
		if (s < 0) {
			fn_warn("accept: %s", strerror(-s));
			fn_ctr_add(&t->ctr[T_ERRORS], 1);
			return 0;
		}
		if (conn_add(t, s) < 0) {
			fn_warn("out of memory: refusing socket %d", s);
			fn_sock_close(&t->chan, s);
		}
	}
}

/* Read into the ring while there is room: bytes read, 0 when none came,
 * or -errno (EOF is k->eof). */
static long conn_read(struct tcp_echo *t, struct conn *k)
{
	long total = 0;

	if (!k->buf && !(fn_sock_events(&t->chan, k->sock) & POLLIN))
		return 0;	/* idle: no buffer yet */
	if (!k->buf && !(k->buf = malloc(CONN_BUF)))
		return 0;	/* no memory: not read now, flow control holds */
	while (!k->eof && !k->stop && k->len < CONN_BUF) {
		uint32_t tail = (k->head + k->len) % CONN_BUF;
		uint32_t room = tail >= k->head ? CONN_BUF - tail :
			k->head - tail;
		ssize_t n;

		if (room > CONN_BUF - k->len)
			room = CONN_BUF - k->len;
		if (k->first && room > RST_MAGIC_LEN)
			room = RST_MAGIC_LEN;
		n = fn_sock_recv(&t->chan, k->sock, k->buf + tail, room);
		if (n == -EAGAIN)
			break;
		if (n < 0)
			return n;
		if (n == 0) {
			k->eof = true;
			break;
		}
		if (k->first && n == RST_MAGIC_LEN &&
		    memcmp(k->buf + tail, RST_MAGIC, RST_MAGIC_LEN) == 0) {
			k->rst = true;
			fn_ctr_add(&t->ctr[T_BYTES_IN], (uint64_t)n);
			return n;	/* not echoed; read nothing more */
		}
		if (k->first && n == RST_MAGIC_LEN &&
		    memcmp(k->buf + tail, STOP_MAGIC, RST_MAGIC_LEN) == 0) {
			k->stop = true;
			fn_ctr_add(&t->ctr[T_STOPPED], 1);
			return 0;	/* not echoed; never read again */
		}
		k->first = false;
		k->len += (uint32_t)n;
		total += n;
		fn_ctr_add(&t->ctr[T_BYTES_IN], (uint64_t)n);
	}
	return total;
}

/* Send from the ring while the stack takes it: bytes sent, or -errno. */
static long conn_write(struct tcp_echo *t, struct conn *k)
{
	long total = 0;

	while (k->len > 0) {
		uint32_t chunk = k->head + k->len > CONN_BUF ?
			CONN_BUF - k->head : k->len;
		ssize_t n = fn_sock_send(&t->chan, k->sock, k->buf + k->head,
					 chunk);

		if (n == -EAGAIN) {
			fn_ctr_add(&t->ctr[T_SEND_AGAIN], 1);
			break;
		}
		if (n < 0)
			return n;
		k->head = (k->head + (uint32_t)n) % CONN_BUF;
		k->len -= (uint32_t)n;
		total += n;
		fn_ctr_add(&t->ctr[T_BYTES_OUT], (uint64_t)n);
	}
	return total;
}

/* The peer's FIN and everything echoed: our FIN, then close. */
static void conn_finish(struct tcp_echo *t, struct conn *k)
{
	int err = fn_sock_shutdown(&t->chan, k->sock, SHUT_WR);

	if (err < 0 && !echo_chan_dead(err))
		fn_debug("shutdown %d: %s", k->sock, strerror(-err));
	conn_close(t, k, T_EOF);
}

/* A connection in RST mode is closed at its first unread byte. */
static bool conn_rst_due(struct tcp_echo *t, struct conn *k)
{
	if (!(fn_sock_events(&t->chan, k->sock) &
	      (POLLIN | POLLHUP | POLLERR)))
		return false;
	conn_close(t, k, T_RST_CLOSES);
	return true;
}

/* Move k's data as far as it goes: 0, or the channel's death. */
static int conn_serve(struct tcp_echo *t, struct conn *k)
{
	long r = 0, w = 0;

	if (fn_sock_events(&t->chan, k->sock) & POLLNVAL) {
		if (t->chan.dead)
			return t->chan.dead;
		t->conn[k->sock] = NULL;	/* the stack forgot it */
		ctr_sub(&t->ctr[T_ACTIVE], 1);
		fn_ctr_add(&t->ctr[T_ERRORS], 1);
		free(k->buf);
		free(k);
		return 0;
	}
	if (k->rst) {
		conn_rst_due(t, k);
		return 0;
	}
	if (k->stop) {	/* only an error (the peer's RST) ends it */
		if (fn_sock_events(&t->chan, k->sock) & POLLERR)
			conn_close(t, k, -1);
		return 0;
	}
	do {
		r = conn_read(t, k);
		if (r < 0)
			break;
		w = conn_write(t, k);
		if (w < 0) {
			r = w;
			break;
		}
	} while ((r > 0 || w > 0) && !k->rst);
	if (r < 0) {
		if (echo_chan_dead(r) && t->chan.dead)
			return t->chan.dead;
		fn_debug("socket %d: %s", k->sock, strerror((int)-r));
		conn_close(t, k, T_ERRORS);
	} else if (k->rst) {
		conn_rst_due(t, k);
	} else if (k->eof && k->len == 0) {
		conn_finish(t, k);
	}
	return 0;
}

/* Accept and serve what there is now: 0, or the channel's death
 * (echo_run); then the dump SIGUSR1 asked for. */
static int serve_all(void *arg)
{
	struct tcp_echo *t = arg;
	int err = accept_all(t);

	for (unsigned i = 0; err == 0 && i < t->nconn; i++)
		if (t->conn[i])
			err = conn_serve(t, t->conn[i]);
	if (dumping)
		dump_conns(t);
	return err;
}

int main(int argc, char **argv)
{
	static struct tcp_echo t;
	uint16_t port;
	int ret = echo_start(argc, argv, "test-tcp-echo", &port);

	if (ret)
		return ret;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR1, on_usr1);
	t.ctr = echo_counters("tcp_echo", tcp_names, T_COUNT);
	if (!t.ctr)
		return 1;
	t.listen_sock = echo_socket(&t.chan, SOCK_STREAM, port, BACKLOG);
	if (t.listen_sock < 0)
		return 1;
	ret = echo_run(&t.chan, serve_all, &t);
	for (unsigned i = 0; i < t.nconn; i++)
		if (t.conn[i]) {
			free(t.conn[i]->buf);
			free(t.conn[i]);
		}
	free(t.conn);
	fn_sock_close_chan(&t.chan);
	return ret;
}
