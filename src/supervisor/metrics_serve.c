/*
 * metrics_serve.c - `fragnet metrics-serve`: the HTTP side of [topology]
 * metrics, a child of the supervisor (metrics.c), never run by hand.
 *
 *   1. Take the listening socket and the channel from the environment
 *      (names.h), ignore SIGPIPE.
 *   2. Confine itself as a stack does (fragnet/confine.h: empty network,
 *      mount, IPC and UTS namespaces, an empty read-only root, rlimits,
 *      the user FN_CONFINE_USER, no capability, non-dumpable, NoNewPrivs,
 *      the allow-list metrics_rules[] below).  The two sockets it holds
 *      were made in the host's network namespace and stay there.
 *   3. Serve one connection at a time, each within METRICS_CONN_MS all
 *      told: read the request head (at most METRICS_REQ_MAX bytes), route
 *      it (metrics_http.c), for GET /metrics ask the supervisor for the
 *      exposition (fragnet/ctl.h, THE METRICS CHANNEL) and send it from
 *      the memfd with sendfile(); then close.
 *   It exits when the supervisor's end of the channel closes.
 *
 * Everything a client sends is hostile.  It is only compared, never
 * copied but into the request buffer; a client costs the server at most
 * METRICS_CONN_MS, and the supervisor nothing: it never waits for us.
 */
#include <errno.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fragnet/clock.h"
#include "fragnet/confine.h"
#include "fragnet/ctl.h"
#include "fragnet/env.h"
#include "fragnet/log.h"
#include "sup.h"

#define METRICS_CONN_MS		5000		/* one connection, all told */
#define METRICS_BODY_MAX	(256ll << 20)	/* a sane exposition */
#define METRICS_AS_MARGIN	(64ull << 20)	/* RLIMIT_AS above the maps */
#define METRICS_NOFILE		16

#define ALLOW(name)	{ SCMP_SYS(name), FN_SC_ALLOW, 0, { { 0, 0, 0 } } }

/* Beyond fn_confine_base_rules (docs/security.md has both tables). */
static const struct fn_sc_rule metrics_rules[] = {
	ALLOW(accept4),		/* a client */
	ALLOW(recvfrom),	/* its request */
	ALLOW(sendto),		/* the response head; the channel's request */
	ALLOW(recvmsg),		/* the channel's reply, with its memfd */
	ALLOW(sendfile),	/* the exposition, from the memfd */
	ALLOW(shutdown),	/* the end of the response */
};

void metrics_serve_help(void)
{
	printf("\n  Started by `fragnet up` for [topology] metrics, with the "
	       "listening socket\n  and its channel to the supervisor as "
	       "fds (%s, %s);\n  it confines itself to user %s and serves "
	       "GET /metrics (docs/observe.md).\n",
	       FN_ENV_METRICS_LISTEN_FD, FN_ENV_METRICS_CHAN_FD,
	       FN_CONFINE_USER);
}

/* Until fd is ready for events or the deadline passes: 0 or -ETIMEDOUT. */
static int wait_io(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int64_t left = deadline - fn_clock_ms();
		int r = left > 0 ? poll(&p, 1, (int)left) : 0;

		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int64_t left_ms(int64_t deadline)
{
	int64_t left = deadline - fn_clock_ms();

	return left > 0 ? left : 0;
}

/* Throw away replies to requests that timed out.  -ECONNRESET: the
 * supervisor closed the channel. */
static int chan_drain(int chan)
{
	for (;;) {
		int fd = ctl_recv_fd(chan, 0);

		if (fd >= 0)
			close(fd);
		else if (fd == -ETIMEDOUT || fd == -EAGAIN)
			return 0;
		else if (fd != -EREMOTEIO && fd != -EPROTO)
			return fd;
	}
}

/* The exposition: a memfd and its size from the supervisor, or -errno. */
static int exposition(int chan, int64_t deadline, size_t *size)
{
	const char *req = FN_CTL_STATS_PROM;
	struct stat st;
	int fd = chan_drain(chan);

	if (fd < 0)
		return fd;
	if (send(chan, req, strlen(req), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		return -errno;
	fd = ctl_recv_fd(chan, (int)left_ms(deadline));
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > METRICS_BODY_MAX) {
		close(fd);
		return -EPROTO;
	}
	*size = (size_t)st.st_size;
	return fd;
}

/* After a send of n bytes to c: 0 (go on), 1 (c is writable again:
 * retry), or -errno (give up). */
static int sent(int c, ssize_t n, int64_t deadline)
{
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return wait_io(c, POLLOUT, deadline) < 0 ? -ETIMEDOUT : 1;
	return n <= 0 ? -EPIPE : 0;
}

static int send_all(int c, const char *p, size_t len, int64_t deadline)
{
	while (len > 0) {
		ssize_t n = send(c, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		int r = sent(c, n, deadline);

		if (r < 0)
			return r;
		if (r == 0) {
			p += n;
			len -= (size_t)n;
		}
	}
	return 0;
}

/* The memfd from offset 0: its file offset is shared (ctl.h), ours is not. */
static int send_file(int c, int fd, size_t len, int64_t deadline)
{
	off_t off = 0;

	while ((size_t)off < len) {
		int r = sent(c, sendfile(c, fd, &off, len - (size_t)off),
			     deadline);

		if (r < 0)
			return r;
	}
	return 0;
}

/* Status, headers, body (text, or body_fd's len bytes); then our FIN,
 * and whatever the client sent beyond its head is read away, so that our
 * close does not reset the connection under its last read. */
static void respond(int c, int status, int body_fd, size_t len,
		    int64_t deadline)
{
	const char *text = body_fd >= 0 ? NULL : metrics_http_body(status);
	char head[512], sink[4096];
	int n;

	if (text)
		len = strlen(text);
	n = metrics_http_status_head(head, sizeof(head), status, len,
				     body_fd >= 0);
	if (n < 0 || send_all(c, head, (size_t)n, deadline) < 0)
		return;
	if (text ? send_all(c, text, len, deadline) < 0 :
		   send_file(c, body_fd, len, deadline) < 0)
		return;
	shutdown(c, SHUT_WR);
	for (unsigned i = 0; i < 16; i++)
		if (recv(c, sink, sizeof(sink), MSG_DONTWAIT) <= 0)
			break;
}

/* Read the request head into req; its status: 0 to answer, or -errno to
 * close without a word (the client went, or overran its time). */
static int read_head(int c, char *req, size_t cap, size_t *len,
		     enum metrics_head *h, int64_t deadline)
{
	*h = METRICS_HEAD_MORE;
	while (*h == METRICS_HEAD_MORE && *len < cap) {
		ssize_t n;

		if (wait_io(c, POLLIN, deadline) < 0)
			return -ETIMEDOUT;
		n = recv(c, req + *len, cap - *len, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			return -ECONNRESET;
		*len += (size_t)n;
		*h = metrics_http_head(req, *len);
	}
	return 0;
}

static void serve_conn(int c, int chan)
{
	int64_t deadline = fn_clock_ms() + METRICS_CONN_MS;
	char req[METRICS_REQ_MAX];
	enum metrics_head h;
	size_t len = 0, body_len = 0;
	int status, fd = -1;

	if (read_head(c, req, sizeof(req), &len, &h, deadline) < 0)
		return;
	status = h == METRICS_HEAD_MORE ? 431 : metrics_http_route(req, len);
	if (status == 200) {
		fd = exposition(chan, deadline, &body_len);
		if (fd < 0) {
			fn_warn("no exposition from the supervisor: %s",
				strerror(-fd));
			status = 503;
		}
	}
	respond(c, status, fd, body_len, deadline);
	if (fd >= 0)
		close(fd);
}

static int serve_loop(int lfd, int chan)
{
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = lfd, .events = POLLIN },
			{ .fd = chan, .events = POLLIN },
		};
		int c;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fn_err("poll: %s", strerror(errno));
			return EXIT_RUNTIME;
		}
		if (p[1].revents && chan_drain(chan) < 0) {
			fn_info("the supervisor closed the channel: exiting");
			return EXIT_OK;
		}
		if (!(p[0].revents & POLLIN))
			continue;
		c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c < 0)	/* gone already, or out of fds: next one */
			continue;
		serve_conn(c, chan);
		close(c);
	}
}

/* Confined or not at all: without FRAGNET_CONFINE it refuses to run. */
static int confine_self(void)
{
	struct fn_confine_spec spec = {
		.who = "metrics",
		.as_margin = METRICS_AS_MARGIN,
		.nofile = METRICS_NOFILE,
		.rules = metrics_rules,
		.nrules = sizeof(metrics_rules) / sizeof(metrics_rules[0]),
	};
	char why[256];
	int r = fn_confine_env(&spec.uid, &spec.gid);

	if (r <= 0) {
		fn_err("%s is not UID:GID: the metrics server never runs "
		       "unconfined", FN_ENV_CONFINE);
		return -EINVAL;
	}
	r = fn_confine(&spec, why, sizeof(why));
	if (r < 0) {
		fn_err("cannot confine myself: %s", why);
		return r;
	}
	fn_info("serving GET /metrics; confined: uid %u, no capability, "
		"empty namespaces, seccomp allow-list", (unsigned)spec.uid);
	return 0;
}

int cmd_metrics_serve(int argc, char **argv)
{
	int lfd = fn_env_fd(FN_ENV_METRICS_LISTEN_FD);
	int chan = fn_env_fd(FN_ENV_METRICS_CHAN_FD);

	(void)argv;
	fn_log_init(FN_METRICS_COMPONENT, -1, FN_LOG_DEFAULT);
	if (argc != 1 || lfd < 0 || chan < 0) {
		fprintf(stderr, "fragnet " FN_METRICS_SUBCOMMAND ": for "
			"`fragnet up` only, which starts it for [topology] "
			"metrics\n");
		return EXIT_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	if (confine_self() < 0)
		return FN_CONFINE_EXIT;
	return serve_loop(lfd, chan);
}
