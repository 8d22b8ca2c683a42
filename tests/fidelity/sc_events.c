/*
 * sc_events.c - readiness: epoll (level, edge-triggered, EPOLLONESHOT,
 * EPOLLRDHUP, the order across sockets), poll and select on mixed fds.
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fidelity.h"

/* epoll_wait, printed: the events in order, as "tag:MASK". */
static int ewait(int ep, int max, int ms)
{
	struct epoll_event ev[16];
	char line[512] = "";
	int n = epoll_wait(ep, ev, max, ms);

	if (n < 0) {
		out("epoll_wait = -1 %s", ename(errno));
		return n;
	}
	for (int i = 0; i < n; i++)
		snprintf(line + strlen(line), sizeof line - strlen(line),
			 " %u:%s", ev[i].data.u32, epmask(ev[i].events));
	out("epoll_wait(max %d, %d ms) = %d%s", max, ms, n, line);
	return n;
}

static void eadd(int ep, int fd, uint32_t tag, uint32_t events)
{
	struct epoll_event e = { .events = events, .data.u32 = tag };

	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0)
		out("epoll_ctl ADD %u = -1 %s", tag, ename(errno));
}

static void et_basic(void)
{
	peer_start("listen ready accept wait send:10 tell wait send:10 tell drain");
	int s = tcp_to_peer(), ep = epoll_create1(0);
	eadd(ep, s, 1, EPOLLIN | EPOLLET);
	ewait(ep, 8, 0);
	peer_go();
	peer_wait();
	msleep(100);
	ewait(ep, 8, 1000);
	ewait(ep, 8, 0);
	peer_go();
	peer_wait();
	msleep(100);
	ewait(ep, 8, 1000);
	rcv(s, 100, 0);
	ewait(ep, 8, 0);
}

/* ET, and a partial read: no new edge without new data. */
static void et_partial(void)
{
	peer_start("listen ready accept send:100 drain");
	int s = tcp_to_peer(), ep = epoll_create1(0);
	eadd(ep, s, 1, EPOLLIN | EPOLLET);
	readable(s);
	msleep(100);
	ewait(ep, 8, 1000);
	rcv(s, 10, 0);
	ewait(ep, 8, 0);
	rcv(s, 100, 0);
	ewait(ep, 8, 0);
}

/* ET EPOLLOUT: writable once, not again without a change. */
static void et_out(void)
{
	peer_start("listen ready accept drain");
	int s = tcp_to_peer(), ep = epoll_create1(0);
	eadd(ep, s, 1, EPOLLOUT | EPOLLET);
	ewait(ep, 8, 1000);
	ewait(ep, 8, 0);
}

static void level(void)
{
	peer_start("listen ready accept send:100 drain");
	int s = tcp_to_peer(), ep = epoll_create1(0);
	eadd(ep, s, 1, EPOLLIN);
	readable(s);
	msleep(100);
	ewait(ep, 8, 1000);
	rcv(s, 10, 0);
	ewait(ep, 8, 0);
	rcv(s, 100, 0);
	ewait(ep, 8, 0);
}

static void oneshot(void)
{
	struct epoll_event e = { .events = EPOLLIN | EPOLLONESHOT,
				 .data.u32 = 1 };

	peer_start("listen ready accept send:10 wait send:10 tell drain");
	int s = tcp_to_peer(), ep = epoll_create1(0);
	eadd(ep, s, 1, EPOLLIN | EPOLLONESHOT);
	readable(s);
	msleep(100);
	ewait(ep, 8, 1000);
	ewait(ep, 8, 0);
	peer_go();
	peer_wait();
	msleep(100);
	ewait(ep, 8, 0);
	R(epoll_ctl(ep, EPOLL_CTL_MOD, s, &e));
	ewait(ep, 8, 1000);
	ewait(ep, 8, 0);
}

static void rdhup(void)
{
	peer_start("listen ready accept send:5 shutwr drain");
	int s = tcp_to_peer(), ep = epoll_create1(0);
	eadd(ep, s, 1, EPOLLIN | EPOLLRDHUP);
	readable(s);
	msleep(200);
	ewait(ep, 8, 1000);
	rcv(s, 100, 0);
	ewait(ep, 8, 0);
	rcv(s, 100, 0);
	ewait(ep, 8, 0);
}

static void ep_reset(void)
{
	peer_start("listen ready accept sleep:200 rst");
	int s = tcp_to_peer(), ep = epoll_create1(0);
	eadd(ep, s, 1, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
	readable(s);
	msleep(200);
	ewait(ep, 8, 1000);
	rcv(s, 10, 0);
	ewait(ep, 8, 0);
}

/* Three connections become readable in the order 2, 0, 1. */
static void order(void)
{
	peer_start("listen ready accept accept accept wait "
		   "c:2 send:1 sleep:100 c:0 send:1 sleep:100 c:1 send:1 "
		   "sleep:100 tell");
	int s[3], ep = epoll_create1(0);
	for (int i = 0; i < 3; i++) {
		s[i] = tcp_to_peer();
		eadd(ep, s[i], (uint32_t)i, EPOLLIN);
	}
	msleep(200);
	peer_go();
	peer_wait();
	msleep(100);
	ewait(ep, 8, 1000);
}

/* Level-triggered and still ready: back to the end of the list. */
static void order_requeue(void)
{
	peer_start("listen ready accept accept wait "
		   "c:0 send:1 sleep:100 c:1 send:1 sleep:100 tell");
	int s[2], ep = epoll_create1(0);
	for (int i = 0; i < 2; i++) {
		s[i] = tcp_to_peer();
		eadd(ep, s[i], (uint32_t)i, EPOLLIN);
	}
	msleep(200);
	peer_go();
	peer_wait();
	msleep(100);
	for (int i = 0; i < 4; i++)
		ewait(ep, 1, 1000);
}

static void listen_ready(void)
{
	int l = tcp_listen(8), ep = epoll_create1(0);

	peer_start("ready connect drain");
	eadd(ep, l, 1, EPOLLIN | EPOLLOUT);
	ewait(ep, 8, 3000);
	int c = accept(l, NULL, NULL);
	out("accept %s", c >= 0 ? "ok" : ename(errno));
	ewait(ep, 8, 0);
	close(c);
}

/* A socket closed while in an epoll set leaves it; a dup keeps it. */
static void ep_close_dup(void)
{
	peer_start("listen ready accept accept wait c:0 send:5 c:1 send:5 "
		   "sleep:100 tell");
	int a = tcp_to_peer(), b = tcp_to_peer(), ep = epoll_create1(0);
	int bd = dup(b);
	eadd(ep, a, 0, EPOLLIN);
	eadd(ep, b, 1, EPOLLIN);
	R(close(a));
	R(close(b));
	peer_go();
	peer_wait();
	msleep(100);
	ewait(ep, 8, 1000);
	rcv(bd, 10, 0);
}

static void ep_ctl_errors(void)
{
	struct epoll_event e = { .events = EPOLLIN };

	peer_start("listen ready accept drain");
	int s = tcp_to_peer(), ep = epoll_create1(0);
	R(epoll_ctl(ep, EPOLL_CTL_MOD, s, &e));
	R(epoll_ctl(ep, EPOLL_CTL_DEL, s, &e));
	R(epoll_ctl(ep, EPOLL_CTL_ADD, s, &e));
	R(epoll_ctl(ep, EPOLL_CTL_ADD, s, &e));
	R(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &e));
	R(epoll_ctl(s, EPOLL_CTL_ADD, ep, &e));
	R(epoll_ctl(ep, 99, s, &e));
	R(epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL));
	R(epoll_ctl(ep, EPOLL_CTL_DEL, s, NULL));
}

/* A pipe and a socket, both ready: both come (sorted by tag: the order
 * between a kernel fd and a stack socket is not kept, docs/preload.md). */
static void ep_mixed(void)
{
	struct epoll_event ev[8];
	int p[2], n, got = 0;

	peer_start("listen ready accept send:3 drain");
	int s = tcp_to_peer(), ep = epoll_create1(0);
	R(pipe(p));
	eadd(ep, s, 1, EPOLLIN);
	eadd(ep, p[0], 2, EPOLLIN);
	R(write(p[1], "x", 1));
	readable(s);
	msleep(100);
	n = epoll_wait(ep, ev, 8, 1000);
	for (int i = 0; i < n; i++)
		got |= 1 << ev[i].data.u32;
	out("epoll_wait = %d, tags mask 0x%x", n, got);
}

static void pfd_print(struct pollfd *p, int n, const char *what)
{
	char line[512] = "";

	for (int i = 0; i < n; i++)
		snprintf(line + strlen(line), sizeof line - strlen(line),
			 " %d:%s", i, pollmask(p[i].revents));
	out("%s:%s", what, line);
}

static void poll_mixed(void)
{
	int p[2];

	peer_start("listen ready accept send:3 drain");
	int s = tcp_to_peer(), l = tcp_listen(4), f = tcp();
	R(pipe(p));
	R(write(p[1], "x", 1));
	readable(s);
	msleep(100);
	struct pollfd pf[] = {
		{ s, POLLIN | POLLOUT, 0 }, { l, POLLIN, 0 },
		{ p[0], POLLIN, 0 }, { p[1], POLLOUT, 0 },
		{ f, POLLIN | POLLOUT, 0 }, { -1, POLLIN, 0 },
	};
	R(poll(pf, 6, 1000));
	pfd_print(pf, 6, "poll");
}

static void poll_timeout(void)
{
	peer_start("listen ready accept drain");
	int s = tcp_to_peer(), l = tcp_listen(4);
	struct pollfd pf[] = { { s, POLLIN, 0 }, { l, POLLIN, 0 } };
	long long t = ms_now();
	R(poll(pf, 2, 300));
	out("timing %s", tclass(ms_now() - t, 150, 250));
	pfd_print(pf, 2, "poll");
}

static void poll_eof(void)
{
	peer_start("listen ready accept close");
	int s = tcp_to_peer();
	readable(s);
	msleep(100);
	struct pollfd pf = { s, POLLIN | POLLOUT | POLLRDHUP, 0 };
	R(poll(&pf, 1, 1000));
	pfd_print(&pf, 1, "poll");
}

static void poll_reset(void)
{
	peer_start("listen ready accept sleep:200 rst");
	int s = tcp_to_peer();
	readable(s);
	msleep(100);
	struct pollfd pf = { s, POLLIN | POLLOUT | POLLRDHUP, 0 };
	R(poll(&pf, 1, 1000));
	pfd_print(&pf, 1, "poll");
}

static void poll_nval(void)
{
	int s = tcp();

	R(close(s));
	struct pollfd pf[] = { { s, POLLIN, 0 }, { -1, POLLIN, 0 } };
	R(poll(pf, 2, 0));
	pfd_print(pf, 2, "poll");
}

/* A fresh TCP socket, never connected: POLLOUT|POLLHUP. */
static void poll_fresh(void)
{
	int s = tcp(), l = tcp_listen(4);
	struct pollfd pf[] = { { s, POLLIN | POLLOUT, 0 },
			       { l, POLLIN | POLLOUT, 0 } };

	R(poll(pf, 2, 0));
	pfd_print(pf, 2, "poll");
}

static void select_mixed(void)
{
	int p[2];
	fd_set r, w;
	struct timeval tv = { 1, 0 };

	peer_start("listen ready accept send:3 drain");
	int s = tcp_to_peer(), l = tcp_listen(4);
	R(pipe(p));
	R(write(p[1], "x", 1));
	readable(s);
	msleep(100);
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(s, &r);
	FD_SET(l, &r);
	FD_SET(p[0], &r);
	FD_SET(s, &w);
	FD_SET(p[1], &w);
	int m = s > l ? s : l;
	m = m > p[1] ? m : p[1];
	R(select(m + 1, &r, &w, NULL, &tv));
	out("read: sock %d listener %d pipe %d; write: sock %d pipe %d",
	    FD_ISSET(s, &r), FD_ISSET(l, &r), FD_ISSET(p[0], &r),
	    FD_ISSET(s, &w), FD_ISSET(p[1], &w));
}

static void select_timeout(void)
{
	fd_set r;
	struct timeval tv = { 0, 300000 };

	peer_start("listen ready accept drain");
	int s = tcp_to_peer();
	FD_ZERO(&r);
	FD_SET(s, &r);
	long long t = ms_now();
	R(select(s + 1, &r, NULL, NULL, &tv));
	out("timing %s, set %d", tclass(ms_now() - t, 150, 250),
	    FD_ISSET(s, &r));
}

static void select_ebadf(void)
{
	fd_set r;
	struct timeval tv = { 0, 0 };
	int s = tcp();

	R(close(s));
	FD_ZERO(&r);
	FD_SET(s, &r);
	R(select(s + 1, &r, NULL, NULL, &tv));
}

const struct fid_scenario fid_events[] = {
	{ "epoll-et", et_basic, "EPOLLET: one report per arrival" },
	{ "epoll-et-partial", et_partial, "EPOLLET after a partial read" },
	{ "epoll-et-out", et_out, "EPOLLET|EPOLLOUT reported once" },
	{ "epoll-level", level, "level-triggered until drained" },
	{ "epoll-oneshot", oneshot, "EPOLLONESHOT until EPOLL_CTL_MOD" },
	{ "epoll-rdhup", rdhup, "EPOLLRDHUP after the peer's FIN" },
	{ "epoll-reset", ep_reset, "epoll after the peer's reset" },
	{ "epoll-order", order, "readiness order across sockets" },
	{ "epoll-order-requeue", order_requeue,
	  "level-triggered sockets take turns" },
	{ "epoll-listen", listen_ready, "a listener: EPOLLIN on a connection" },
	{ "epoll-close-dup", ep_close_dup, "close leaves the set, a dup stays" },
	{ "epoll-ctl-errors", ep_ctl_errors, "epoll_ctl's errors" },
	{ "epoll-mixed", ep_mixed, "a pipe and a socket in one set" },
	{ "poll-mixed", poll_mixed, "poll on sockets, a listener, a pipe" },
	{ "poll-timeout", poll_timeout, "poll: 0 after its timeout" },
	{ "poll-eof", poll_eof, "poll after the peer's FIN" },
	{ "poll-reset", poll_reset, "poll after the peer's reset" },
	{ "poll-nval", poll_nval, "poll on a closed fd: POLLNVAL" },
	{ "poll-fresh", poll_fresh, "poll on a fresh socket and a listener" },
	{ "select-mixed", select_mixed, "select on sockets and a pipe" },
	{ "select-timeout", select_timeout, "select: 0 after its timeout" },
	{ "select-ebadf", select_ebadf, "select on a closed fd: EBADF" },
	{ NULL, NULL, NULL },
};
