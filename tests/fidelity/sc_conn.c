/*
 * sc_conn.c - connections and names: accept's order and the backlog,
 * non-blocking connect, ECONNREFUSED on TCP and connected UDP,
 * getsockname/getpeername, reported buffer sizes, TCP_NODELAY, UDP.
 */
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fidelity.h"

/* Three connections, each sends its number: accept returns them in the
 * order they were made. */
static void accept_order(void)
{
	char b;

	int l = tcp_listen(8);

	peer_start("ready connect send:1 sleep:50 connect send:2 sleep:50 "
		   "connect send:3 sleep:100 tell wait");
	peer_wait();
	for (int i = 0; i < 3; i++) {
		int c = accept(l, NULL, NULL);
		long n = recv(c, &b, 1, MSG_WAITALL);
		/* the pattern's bytes: send:K sends 0..K-1, the last is K-1 */
		out("accept %d: %ld bytes, last %d", i, n, b);
		(void)n;
		close(c);
	}
	peer_go();
}

/* listen(1), nobody accepts: how many connects complete. */
static void backlog(void)
{
	int n = 0, c;

	int l = tcp_listen(1);

	peer_start("ready tryconn:5 tell wait");
	peer_wait();
	set_nonblock(l);
	while ((c = accept(l, NULL, NULL)) >= 0) {
		n++;
		close(c);
	}
	out("accepted %d, then %s", n, ename(errno));
	peer_go();
}

static void accept_nonblock_empty(void)
{
	int l = tcp_listen(4);

	set_nonblock(l);
	R(accept(l, NULL, NULL));
	R(accept4(l, NULL, NULL, SOCK_NONBLOCK));
}

static void accept4_flags(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof a;

	int l = tcp_listen(4);

	peer_start("ready connect drain");
	int c = accept4(l, SA(a), &al, SOCK_NONBLOCK | SOCK_CLOEXEC);
	out("accept4 = %s, addr %s len %u", c >= 0 ? "ok" : ename(errno),
	    sa_name(&a), al);
	out("O_NONBLOCK %d FD_CLOEXEC %d", !!(fcntl(c, F_GETFL) & O_NONBLOCK),
	    !!(fcntl(c, F_GETFD) & FD_CLOEXEC));
	rcv(c, 10, 0);
	names(c);
	close(c);
}

/* The peer resets a connection before the app accepts it. */
static void accept_after_reset(void)
{
	int l = tcp_listen(4);

	peer_start("ready connect rst sleep:200 tell");
	peer_wait();
	set_nonblock(l);
	int c = accept(l, NULL, NULL);
	out("accept = %s", c >= 0 ? "ok" : ename(errno));
	if (c >= 0) {
		rcv(c, 10, 0);
		close(c);
	}
}

static void connect_nb(void)
{
	struct sockaddr_in a = sa_peer(fx.pport);
	int err = -1;
	socklen_t el = sizeof err;

	peer_start("listen ready accept drain");
	int s = tcp();
	set_nonblock(s);
	R(connect(s, SA(a), sizeof a));
	struct pollfd p = { s, POLLOUT, 0 };
	R(poll(&p, 1, 3000));
	out("revents %s", pollmask(p.revents));
	R(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el));
	out("SO_ERROR %s", err ? ename(err) : "0");
	R(connect(s, SA(a), sizeof a));
	names(s);
}

static void connect_nb_refused(void)
{
	struct sockaddr_in a = sa_peer(fx.pport);
	int err = -1;
	socklen_t el = sizeof err;

	int s = tcp();
	set_nonblock(s);
	R(connect(s, SA(a), sizeof a));
	struct pollfd p = { s, POLLIN | POLLOUT, 0 };
	R(poll(&p, 1, 3000));
	out("revents %s", pollmask(p.revents));
	R(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el));
	out("SO_ERROR %s", err ? ename(err) : "0");
	R(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el));
	out("SO_ERROR %s", err ? ename(err) : "0");
	names(s);
}

static void connect_refused(void)
{
	struct sockaddr_in a = sa_peer(fx.pport);
	int s = tcp();

	R(connect(s, SA(a), sizeof a));
	R(connect(s, SA(a), sizeof a));
}

/* connect on a connected socket: EISCONN; on a listener: EISCONN too?
 * (the kernel: EINVAL) */
static void connect_again(void)
{
	struct sockaddr_in a = sa_peer(fx.pport);

	peer_start("listen ready accept drain");
	int s = tcp_to_peer();
	R(connect(s, SA(a), sizeof a));
	int l = tcp_listen(4);
	R(connect(l, SA(a), sizeof a));
	names(s);
}

/* A connected UDP socket's names. */
static void udp_connect_names(void)
{
	struct sockaddr_in a = sa_peer(fx.pport), z = { .sin_family = AF_UNSPEC };

	int u = socket(AF_INET, SOCK_DGRAM, 0);
	R(connect(u, SA(a), sizeof a));
	names(u);
	R(connect(u, SA(z), sizeof z));
	names(u);
}

/* Connected UDP to a port nobody listens on: the ICMP port unreachable
 * comes back as ECONNREFUSED. */
static void udp_refused(void)
{
	struct sockaddr_in a = sa_peer(fx.pport);
	char b[16];

	int u = socket(AF_INET, SOCK_DGRAM, 0);
	R(connect(u, SA(a), sizeof a));
	R(send(u, "ping", 4, 0));
	msleep(300);
	R(recv(u, b, sizeof b, MSG_DONTWAIT));
	R(send(u, "ping", 4, 0));
	msleep(300);
	R(send(u, "ping", 4, 0));
	R(close(u));
}

static void udp_echo(void)
{
	struct sockaddr_in a = sa_peer(fx.pport), from;
	socklen_t fl = sizeof from;
	unsigned char b[2000];

	peer_start("udp ready uecho");
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	names(u);
	pattern(b, 1000, 0);
	R(sendto(u, b, 1000, 0, SA(a), sizeof a));
	names(u);
	long n = recvfrom(u, b, sizeof b, 0, SA(from), &fl);
	out("recvfrom = %ld from %s len %u hash %08x", n, sa_name(&from), fl,
	    fnv(b, n > 0 ? (size_t)n : 0));
}

/* A datagram longer than the buffer: cut, MSG_TRUNC. */
static void udp_trunc(void)
{
	struct sockaddr_in a = sa_app(fx.aport);
	char b[50];
	struct iovec iov = { b, sizeof b };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	peer_start("udp ready wait usend:100 usend:100 usend:100");
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	R(bind(u, SA(a), sizeof a));
	peer_go();
	readable(u);
	msleep(100);
	R(recvmsg(u, &m, 0));
	out("msg_flags %s", m.msg_flags & MSG_TRUNC ? "TRUNC" : "0");
	int q = -1;
	R(ioctl(u, FIONREAD, &q));
	out("FIONREAD %d", q);
	R(recv(u, b, sizeof b, MSG_TRUNC));
	R(recv(u, b, 0, 0));
	R(recv(u, b, sizeof b, MSG_DONTWAIT));
}

static void names_fresh(void)
{
	int s = tcp();

	names(s);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	names(u);
}

static void names_listener(void)
{
	int l = tcp_listen(4);

	names(l);
	struct sockaddr_in a = sa_app(fx.aport);
	int s = tcp();
	R(bind(s, SA(a), sizeof a));
	struct sockaddr_in z = sa_app(0);
	int t = tcp();
	R(bind(t, SA(z), sizeof z));
	names(t);
	R(listen(t, 4));
	names(t);
}

static void names_short_len(void)
{
	struct sockaddr_in a;
	socklen_t l = 4;

	peer_start("listen ready accept drain");
	int s = tcp_to_peer();
	memset(&a, 0, sizeof a);
	R(getsockname(s, SA(a), &l));
	out("len %u family %d", l, a.sin_family);
	l = 0;
	R(getpeername(s, SA(a), &l));
	out("len %u", l);
}

static void getopt_int(int s, int level, int opt, const char *name)
{
	int v = -1;
	socklen_t l = sizeof v;

	if (getsockopt(s, level, opt, &v, &l) < 0)
		out("getsockopt %s = -1 %s", name, ename(errno));
	else
		out("getsockopt %s = %d", name, v);
}

static void bufsizes_set(void)
{
	int v;

	int s = tcp();
	v = 20000;
	R(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof v));
	getopt_int(s, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF");
	v = 30000;
	R(setsockopt(s, SOL_SOCKET, SO_SNDBUF, &v, sizeof v));
	getopt_int(s, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF");
	v = 10;
	R(setsockopt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof v));
	getopt_int(s, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF");
}

static void bufsizes_default(void)
{
	int s = tcp();

	getopt_int(s, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF");
	getopt_int(s, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF");
}

static void sockopts(void)
{
	int v = 1;

	peer_start("listen ready accept drain");
	int s = tcp_to_peer();
	getopt_int(s, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY");
	R(setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v));
	getopt_int(s, IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY");
	getopt_int(s, SOL_SOCKET, SO_TYPE, "SO_TYPE");
	getopt_int(s, SOL_SOCKET, SO_ACCEPTCONN, "SO_ACCEPTCONN");
	getopt_int(s, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE");
	R(setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v));
	getopt_int(s, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE");
	getopt_int(s, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR");
	R(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v));
	getopt_int(s, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR");
	/* small writes with TCP_NODELAY all arrive */
	for (int i = 0; i < 20; i++)
		if (send(s, "ab", 2, 0) != 2)
			out("send %d: %s", i, ename(errno));
	close(s);
}

/* TCP_CORK (nginx's tcp_nopush): read back as 0 or 1, as any flag;
 * TCP options on a UDP socket: ENOPROTOOPT. */
static void tcp_cork(void)
{
	int v = 5, u = socket(AF_INET, SOCK_DGRAM, 0);

	peer_start("listen ready accept drain");
	int s = tcp_to_peer();
	getopt_int(s, IPPROTO_TCP, TCP_CORK, "TCP_CORK");
	R(setsockopt(s, IPPROTO_TCP, TCP_CORK, &v, sizeof v));
	getopt_int(s, IPPROTO_TCP, TCP_CORK, "TCP_CORK");
	R(setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v));
	getopt_int(s, SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE");
	snd(s, 100, 0);
	v = 0;
	R(setsockopt(s, IPPROTO_TCP, TCP_CORK, &v, sizeof v));
	getopt_int(s, IPPROTO_TCP, TCP_CORK, "TCP_CORK");
	R(setsockopt(s, IPPROTO_TCP, TCP_CORK, &v, 2));
	R(setsockopt(u, IPPROTO_TCP, TCP_CORK, &v, sizeof v));
	R(setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v));
	getopt_int(u, IPPROTO_TCP, TCP_CORK, "TCP_CORK (udp)");
	R(close(u));
	R(close(s));
}

static void bind_errors(void)
{
	struct sockaddr_in a = sa_app(fx.aport);
	int l = tcp_listen(4);

	int s = tcp();
	R(bind(s, SA(a), sizeof a));
	R(bind(l, SA(a), sizeof a));
	R(bind(s, SA(a), 4));
	R(listen(s, 4));
	(void)l;
}

const struct fid_scenario fid_conn[] = {
	{ "accept-order", accept_order, "accept returns in arrival order" },
	{ "accept-backlog", backlog, "listen(1): how many connects complete" },
	{ "accept-nonblock-empty", accept_nonblock_empty, "EAGAIN at once" },
	{ "accept4-flags", accept4_flags, "SOCK_NONBLOCK|SOCK_CLOEXEC, addr" },
	{ "accept-after-reset", accept_after_reset,
	  "a connection reset before accept" },
	{ "connect-nb", connect_nb, "EINPROGRESS, writable, SO_ERROR 0" },
	{ "connect-nb-refused", connect_nb_refused,
	  "EINPROGRESS, then SO_ERROR ECONNREFUSED" },
	{ "connect-refused", connect_refused, "blocking: ECONNREFUSED" },
	{ "connect-again", connect_again, "connect when connected, listening" },
	{ "udp-connect-names", udp_connect_names,
	  "names of a connected UDP socket, then AF_UNSPEC" },
	{ "udp-refused", udp_refused, "connected UDP: ECONNREFUSED" },
	{ "udp-echo", udp_echo, "sendto/recvfrom, implicit bind" },
	{ "udp-trunc", udp_trunc, "MSG_TRUNC, FIONREAD, zero-length recv" },
	{ "names-fresh", names_fresh, "names of fresh sockets" },
	{ "names-listener", names_listener, "names of listeners; EADDRINUSE" },
	{ "names-short-len", names_short_len, "getsockname with a short len" },
	{ "bufsizes-set", bufsizes_set, "SO_RCVBUF/SO_SNDBUF as reported" },
	{ "bufsizes-default", bufsizes_default, "default buffer sizes" },
	{ "sockopts", sockopts, "TCP_NODELAY and other options read back" },
	{ "bind-errors", bind_errors, "EADDRINUSE, EINVAL" },
	{ "tcp-cork", tcp_cork, "TCP_CORK read back; TCP options on UDP" },
	{ NULL, NULL, NULL },
};
