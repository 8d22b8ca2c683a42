/*
 * control.c - the stack's control socket (names.h: FN_FD_CONTROL) and the
 * nf_tables netlink it carries (fragnet/nlctl.h; the server is src/nft).
 *
 * The supervisor creates a listening AF_UNIX SOCK_SEQPACKET socket per
 * stack, under the root-only run directory, and hands it over blocking
 * (O_NONBLOCK lives in the open file description that every copy of the fd
 * shares, so each holder chooses for itself).  We make it non-blocking.
 *
 * A connection is accepted, its peer credentials are checked (SO_PEERCRED
 * uid 0: the directory's mode is the first fence, this the second) and it
 * stays open, non-blocking, at most CONTROL_MAX_CONN at a time.  The loop
 * calls stk_control_poll() every CONTROL_PERIOD_MS, whenever poll() says
 * a control fd is ready (stk_control_pollfds()), and every turn while a
 * datagram is half handled (stk_control_busy()).  Per call and connection
 * the work is bounded: at most CONTROL_CHUNKS_PER_POLL chunks read, at
 * most CONTROL_MSGS_PER_POLL netlink messages handled (nl_job_step: a
 * multi-MB batch spreads over many turns, packet bursts in between),
 * replies written until the socket is full (the rest waits for POLLOUT).
 * A client that stops reading stalls only itself; the packet path never
 * waits for a client.  Not bounded: the commit's compile of the whole new
 * ruleset (fn_nft_compile) and a dump, each one call.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fragnet/log.h"
#include "fragnet/nlctl.h"

#include "nl.h"
#include "stack.h"

#define CONTROL_ACCEPTS_PER_POLL	16
#define CONTROL_MAX_CONN		8
#define CONTROL_CHUNKS_PER_POLL		64
#define CONTROL_SNDBUF			(4 << 20)
#define CONTROL_MSGS_PER_POLL		256	/* netlink messages per turn */

struct conn {
	int fd;			/* -1: free */
	uint32_t pid;		/* the client's, from SO_PEERCRED */
	uint8_t *req;		/* datagram being reassembled */
	size_t req_len, req_cap;
	struct nl_job *job;	/* the datagram in req, being handled */
	struct nl_out out;	/* replies not yet sent */
	size_t out_off;
	bool done_due;		/* DONE still to send after out */
};

static struct conn conns[CONTROL_MAX_CONN];
static struct nl_server srv;
static bool srv_on;
static uint8_t iobuf[sizeof(struct fn_nlctl_hdr) + FN_NLCTL_REPLY_MAX];

/* Make the listening socket non-blocking, start the server.  0 or a
 * negative errno. */
int stk_control_init(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	int type = 0, err;
	socklen_t len = sizeof(type);

	for (int i = 0; i < CONTROL_MAX_CONN; i++)
		conns[i].fd = -1;
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return -errno;
	if (type != SOCK_SEQPACKET)
		return -ENOTSOCK;
	err = nl_server_init(&srv);
	srv_on = err == 0;
	return err;
}

struct nl_server *stk_nft(void)
{
	return srv_on ? &srv : NULL;
}

static void conn_close(struct conn *c)
{
	nl_job_free(c->job);	/* an open batch is aborted */
	close(c->fd);
	free(c->req);
	nl_out_free(&c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

void stk_control_fini(void)
{
	for (int i = 0; i < CONTROL_MAX_CONN; i++)
		if (conns[i].fd >= 0)
			conn_close(&conns[i]);
	if (srv_on)
		nl_server_fini(&srv);
	srv_on = false;
}

/* ---- replies ------------------------------------------------------------------ */

static int send_msg(struct conn *c, uint16_t type, const void *p, size_t len)
{
	struct fn_nlctl_hdr h = { .type = type, .len = (uint32_t)len };

	memcpy(iobuf, &h, sizeof(h));
	if (len)
		memcpy(iobuf + sizeof(h), p, len);
	if (send(c->fd, iobuf, sizeof(h) + len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

/* Whole netlink messages from out, at most FN_NLCTL_REPLY_MAX bytes. */
static size_t reply_span(const struct conn *c)
{
	size_t off = c->out_off, n = 0;

	while (off + n + sizeof(struct nlmsghdr) <= c->out.len) {
		const struct nlmsghdr *nlh = (const void *)(c->out.buf + off + n);
		size_t l = NLMSG_ALIGN(nlh->nlmsg_len);

		if (n + l > FN_NLCTL_REPLY_MAX)
			break;
		n += l;
	}
	return n;
}

/* Send what is pending until EAGAIN.  0, or -errno: drop the client. */
static int conn_flush(struct conn *c)
{
	while (c->out_off < c->out.len) {
		size_t n = reply_span(c);
		int err;

		if (n == 0)
			return -EMSGSIZE;	/* cannot happen: NL_MSG_ROOM */
		err = send_msg(c, FN_NLCTL_REPLY, c->out.buf + c->out_off, n);
		if (err == -EAGAIN)
			return 0;
		if (err < 0)
			return err;
		c->out_off += n;
	}
	nl_out_free(&c->out);
	c->out_off = 0;
	if (c->done_due) {
		int err = send_msg(c, FN_NLCTL_DONE, NULL, 0);

		if (err == -EAGAIN)
			return 0;
		if (err < 0)
			return err;
		c->done_due = false;
	}
	return 0;
}

/* ---- requests ------------------------------------------------------------------ */

/* One chunk in iobuf (n bytes).  1: a datagram was handled; 0: more to
 * come; -errno: protocol broken. */
static int conn_chunk(struct stack *s, struct conn *c, size_t n)
{
	struct fn_nlctl_hdr h;

	if (n < sizeof(h))
		return -EPROTO;
	memcpy(&h, iobuf, sizeof(h));
	if (h.type != FN_NLCTL_NETLINK || h.len != n - sizeof(h) ||
	    h.len > FN_NLCTL_CHUNK || c->req_len + h.len > FN_NLCTL_REQ_MAX)
		return -EPROTO;
	if (c->req_len + h.len + 1 > c->req_cap) {	/* + the NUL */
		size_t cap = c->req_cap ? c->req_cap : 65536;
		uint8_t *p;

		while (cap < c->req_len + h.len + 1)
			cap *= 2;
		p = realloc(c->req, cap);
		if (!p)
			return -ENOMEM;
		c->req = p;
		c->req_cap = cap;
	}
	memcpy(c->req + c->req_len, iobuf + sizeof(h), h.len);
	c->req_len += h.len;
	if (h.flags & FN_NLCTL_F_MORE)
		return 0;
	c->req[c->req_len] = 0;		/* nl_validate wants it */
	c->job = nl_job_start(&srv, c->req, c->req_len,
			      h.flags & (FN_NLCTL_F_CAP_ACK | FN_NLCTL_F_EXT_ACK),
			      &c->out);
	if (!c->job)
		return -ENOMEM;
	stk_count(s, STK_CONTROL_REQUESTS, 1);
	return 1;
}

/* A bounded share of the datagram; when it is done, the replies go. */
static int conn_work(struct conn *c)
{
	srv.pid = c->pid;
	if (!nl_job_step(c->job, CONTROL_MSGS_PER_POLL))
		return 0;
	nl_job_free(c->job);
	c->job = NULL;
	c->req_len = 0;
	if (c->req_cap > (1u << 20)) {	/* do not keep a big batch's room */
		free(c->req);
		c->req = NULL;
		c->req_cap = 0;
	}
	c->done_due = true;
	return conn_flush(c);
}

/* Read chunks until a datagram is whole or the budget is spent. */
static int conn_read(struct stack *s, struct conn *c)
{
	for (int i = 0; i < CONTROL_CHUNKS_PER_POLL; i++) {
		ssize_t n = recv(c->fd, iobuf, sizeof(struct fn_nlctl_hdr) +
				 FN_NLCTL_CHUNK, MSG_DONTWAIT | MSG_TRUNC);
		int r;

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0)
			return n == 0 ? -ECONNRESET : -errno;
		if ((size_t)n > sizeof(struct fn_nlctl_hdr) + FN_NLCTL_CHUNK)
			return -EMSGSIZE;
		r = conn_chunk(s, c, (size_t)n);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	return 0;
}

static void conn_serve(struct stack *s, struct conn *c)
{
	int err = 0;

	if (c->job)
		err = conn_work(c);
	else if (c->out_off < c->out.len || c->done_due)
		err = conn_flush(c);
	if (!err && !c->job && !c->done_due && c->out.len == 0) {
		err = conn_read(s, c);
		if (!err && c->job)
			err = conn_work(c);
	}
	if (err < 0) {
		if (err != -ECONNRESET) {
			stk_count(s, STK_CONTROL_ERRORS, 1);
			fn_warn("control: client dropped: %s", strerror(-err));
		}
		conn_close(c);
	}
}

/* ---- accepting ------------------------------------------------------------------- */

static bool peer_is_root(struct stack *s, int cfd, uint32_t *pid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		stk_count(s, STK_CONTROL_ERRORS, 1);
		fn_warn("control: SO_PEERCRED: %s", strerror(errno));
		return false;
	}
	if (cred.uid != 0) {
		stk_count(s, STK_CONTROL_REFUSED, 1);
		fn_warn("control: refused pid %d uid %u: not root",
			(int)cred.pid, (unsigned)cred.uid);
		return false;
	}
	fn_debug("control: pid %d connected", (int)cred.pid);
	*pid = (uint32_t)cred.pid;
	return true;
}

static void conn_take(struct stack *s, int cfd)
{
	int sz = CONTROL_SNDBUF;
	uint32_t pid = 0;

	if (!srv_on || !peer_is_root(s, cfd, &pid)) {
		close(cfd);
		return;
	}
	for (int i = 0; i < CONTROL_MAX_CONN; i++) {
		if (conns[i].fd < 0) {
			conns[i].fd = cfd;
			conns[i].pid = pid;
			if (setsockopt(cfd, SOL_SOCKET, SO_SNDBUFFORCE, &sz,
				       sizeof(sz)) < 0)
				setsockopt(cfd, SOL_SOCKET, SO_SNDBUF, &sz,
					   sizeof(sz));
			stk_count(s, STK_CONTROL_ACCEPTED, 1);
			return;
		}
	}
	stk_count(s, STK_CONTROL_REFUSED, 1);
	fn_warn("control: %d clients already: one more refused",
		CONTROL_MAX_CONN);
	close(cfd);
}

/* Accept what is pending and serve every client, never waiting.
 * fd < 0: no control socket. */
void stk_control_poll(struct stack *s, int fd)
{
	for (int i = 0; fd >= 0 && i < CONTROL_ACCEPTS_PER_POLL; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd >= 0) {
			conn_take(s, cfd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			/* EMFILE and friends: try again next period. */
			stk_count(s, STK_CONTROL_ERRORS, 1);
			fn_debug("control: accept: %s", strerror(errno));
		}
		break;
	}
	for (int i = 0; i < CONTROL_MAX_CONN; i++)
		if (conns[i].fd >= 0)
			conn_serve(s, &conns[i]);
}

/* A datagram is half handled: the loop must come back at once. */
bool stk_control_busy(void)
{
	for (int i = 0; i < CONTROL_MAX_CONN; i++)
		if (conns[i].fd >= 0 && conns[i].job)
			return true;
	return false;
}

/* The clients' fds for the loop's poll(): readable, or writable while
 * replies wait.  Returns how many were written to pfd (at most max). */
int stk_control_pollfds(struct pollfd *pfd, int max)
{
	int n = 0;

	for (int i = 0; i < CONTROL_MAX_CONN && n < max; i++) {
		struct conn *c = &conns[i];

		if (c->fd < 0)
			continue;
		pfd[n].fd = c->fd;
		pfd[n].events = (c->out.len || c->done_due) ? POLLOUT : POLLIN;
		pfd[n].revents = 0;
		n++;
	}
	return n;
}
