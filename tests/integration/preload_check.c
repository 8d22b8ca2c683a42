/*
 * preload_check.c - an ordinary program, run as a pipeline's app UNDER
 * libfragnet-preload.so by test_preload.sh, that checks the socket calls
 * against kernel-side peers (preload_peer.py on the tap's kernel side):
 *
 *   KERNEL_IP:7101  TCP echo (echoes until EOF, then closes)
 *   KERNEL_IP:7102  UDP echo
 *   KERNEL_IP:7199  closed: connect is refused
 *   STACK_IP:7201   ours: the peer connects again and again, sends 16
 *                   bytes, expects them back, closes
 *
 * usage: preload-check KERNEL_IP RESULTS_FILE [-- PROGRAM ARGS...]
 * Each check writes "ok NAME" or "FAIL NAME: why" to RESULTS_FILE (a
 * plain file: itself a passthrough check), then "DONE fails=N".  After
 * that, if given, PROGRAM is exec'd (redis-server), in the same process.
 * It links nothing of fragnet: it is what an unmodified program does.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define ECHO_PORT	7101
#define UDP_PORT	7102
#define CLOSED_PORT	7199
#define OUR_PORT	7201
#define WAIT_MS		10000

static FILE *out;
static int fails;
static struct in_addr kernel_ip;
/* FRAGNET_PRELOAD_PASSTHROUGH: on the kernel stack, where IPv6 and IP_TTL
 * exist (test_preload_passthrough.sh runs the checks there too) */
static bool on_kernel;

static void result(const char *name, bool good, const char *fmt, ...)
{
	va_list ap;

	if (good) {
		fprintf(out, "ok %s\n", name);
	} else {
		fails++;
		fprintf(out, "FAIL %s: ", name);
		va_start(ap, fmt);
		vfprintf(out, fmt, ap);
		va_end(ap);
		fprintf(out, " (errno %s)\n", strerrorname_np(errno) ?
			strerrorname_np(errno) : "0");
	}
	fflush(out);
}

#define CHECK(name, cond, ...) result(name, (cond), __VA_ARGS__)

static struct sockaddr_in sin_of(struct in_addr a, int port)
{
	struct sockaddr_in s = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr = a };
	return s;
}

static int tcp_connect(int port, int flags)
{
	struct sockaddr_in a = sin_of(kernel_ip, port);
	int s = socket(AF_INET, SOCK_STREAM | flags, 0);

	if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof(a)) < 0 &&
	    errno != EINPROGRESS) {
		int e = errno;

		close(s);
		errno = e;
		return -1;
	}
	return s;
}

static bool wait_fd(int fd, short ev)
{
	struct pollfd p = { .fd = fd, .events = ev };

	return poll(&p, 1, WAIT_MS) == 1 && (p.revents & (ev | POLLERR));
}

/* Write len bytes of a pattern on blocking s, read them back, compare. */
static bool echo_round(int s, size_t len, unsigned seed)
{
	uint8_t *a = malloc(len), *b = malloc(len);
	size_t done = 0;
	bool good = a && b;

	for (size_t i = 0; good && i < len; i++)
		a[i] = (uint8_t)(i * 7 + seed);
	while (good && done < len) {
		ssize_t n = write(s, a + done, len - done);

		good = n > 0;
		done += n > 0 ? (size_t)n : 0;
	}
	good = good && recv(s, b, len, MSG_WAITALL) == (ssize_t)len &&
	       memcmp(a, b, len) == 0;
	free(a);
	free(b);
	return good;
}

/* Serve one connection of the peer: 16 bytes back, close. */
static bool serve(int c)
{
	char buf[16];
	bool good;

	if (!wait_fd(c, POLLIN))
		return false;
	good = recv(c, buf, sizeof(buf), MSG_WAITALL) == sizeof(buf) &&
	       write(c, buf, sizeof(buf)) == sizeof(buf);
	close(c);
	return good;
}

static void t_fd_basics(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0), nul = open("/dev/null", O_RDONLY);
	int one = 1, v = 0, idle = 42;
	socklen_t l = sizeof(v);

	CHECK("socket", s >= 0 && nul >= 0 && s != nul, "s %d nul %d", s, nul);
	CHECK("fcntl-getfl", !(fcntl(s, F_GETFL) & O_NONBLOCK), "nonblock set");
	CHECK("ioctl-fionbio", ioctl(s, FIONBIO, &one) == 0 &&
	      (fcntl(s, F_GETFL) & O_NONBLOCK), "FIONBIO did not set it");
	CHECK("fcntl-setfl", fcntl(s, F_SETFL, 0) == 0 &&
	      !(fcntl(s, F_GETFL) & O_NONBLOCK), "F_SETFL did not clear it");
	CHECK("fcntl-cloexec", fcntl(s, F_SETFD, FD_CLOEXEC) == 0 &&
	      fcntl(s, F_GETFD) == FD_CLOEXEC, "FD_CLOEXEC");
	CHECK("so-type", getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l) == 0 &&
	      v == SOCK_STREAM, "SO_TYPE %d", v);
	l = sizeof(v);
	CHECK("keepalive", setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one,
				      sizeof(one)) == 0 &&
	      setsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) == 0 &&
	      getsockopt(s, IPPROTO_TCP, TCP_KEEPIDLE, &v, &l) == 0 && v == 42,
	      "keepidle %d", v);
	CHECK("nodelay", setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one,
				    sizeof(one)) == 0, "TCP_NODELAY");
	CHECK("unknown-opt", on_kernel ? setsockopt(s, IPPROTO_IP, IP_TTL, &one,
						    sizeof(one)) == 0 :
	      setsockopt(s, IPPROTO_IP, IP_TTL, &one, sizeof(one)) < 0 &&
	      errno == ENOPROTOOPT, "IP_TTL: stack ENOPROTOOPT, kernel 0");
	CHECK("close", close(s) == 0 && close(nul) == 0 &&
	      fcntl(s, F_GETFD) < 0 && errno == EBADF, "close");
}

static bool addr_is(const struct sockaddr_in *a, struct in_addr ip, int port)
{
	return a->sin_family == AF_INET && a->sin_addr.s_addr == ip.s_addr &&
	       (port < 0 || ntohs(a->sin_port) == port);
}

static void t_blocking_connect(void)
{
	struct sockaddr_in me, peer;
	socklen_t l1 = sizeof(me), l2 = sizeof(peer);
	int s = tcp_connect(ECHO_PORT, 0), n = 0;
	char buf[16];

	CHECK("connect-blocking", s >= 0, "connect to the echo server");
	if (s < 0)
		return;
	CHECK("getsockname", getsockname(s, (struct sockaddr *)&me, &l1) == 0 &&
	      l1 == sizeof(me) && me.sin_port != 0 &&
	      me.sin_addr.s_addr != htonl(INADDR_ANY), "local %s:%d",
	      inet_ntoa(me.sin_addr), ntohs(me.sin_port));
	CHECK("getpeername", getpeername(s, (struct sockaddr *)&peer, &l2) == 0 &&
	      addr_is(&peer, kernel_ip, ECHO_PORT), "peer %s:%d",
	      inet_ntoa(peer.sin_addr), ntohs(peer.sin_port));
	CHECK("echo-64k-blocking", echo_round(s, 65536, 1), "echo of 64 KiB");
	CHECK("write-10", write(s, "0123456789", 10) == 10, "write");
	for (int i = 0; i < 100 && n < 10; i++) {
		wait_fd(s, POLLIN);
		if (ioctl(s, FIONREAD, &n) < 0)
			break;
		if (n < 10)
			usleep(20000);
	}
	CHECK("fionread", n == 10, "FIONREAD %d, want 10", n);
	CHECK("read-10", read(s, buf, sizeof(buf)) == 10 &&
	      memcmp(buf, "0123456789", 10) == 0, "read back");
	close(s);
}

static void t_nonblock_connect(void)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 7 }, got;
	int s = tcp_connect(ECHO_PORT, SOCK_NONBLOCK), err = -1, ep;
	socklen_t l = sizeof(err);
	char buf[8];

	CHECK("connect-nonblock", s >= 0 && wait_fd(s, POLLOUT) &&
	      getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &l) == 0 && err == 0,
	      "SO_ERROR %d", err);
	if (s < 0)
		return;
	CHECK("read-eagain", read(s, buf, sizeof(buf)) < 0 && errno == EAGAIN,
	      "read on an empty nonblocking socket");
	ep = epoll_create1(EPOLL_CLOEXEC);
	CHECK("epoll-add", ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) == 0 &&
	      epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) < 0 && errno == EEXIST,
	      "add, then EEXIST");
	CHECK("write-abc", write(s, "abc", 3) == 3, "write");
	CHECK("epoll-in", epoll_wait(ep, &got, 1, WAIT_MS) == 1 &&
	      got.data.u32 == 7 && (got.events & EPOLLIN), "epoll_wait");
	CHECK("read-abc", read(s, buf, sizeof(buf)) == 3 && !memcmp(buf, "abc", 3),
	      "read");
	close(s);
	close(ep);
}

static void on_usr1(int sig)
{
	(void)sig;
}

static void *later_signal(void *arg)
{
	usleep(200000);
	pthread_kill(*(pthread_t *)arg, SIGUSR1);
	return NULL;
}

/* Blocking calls: SO_RCVTIMEO bounds them, a signal without SA_RESTART
 * interrupts them; EPOLLET reports new data, not old. */
static void t_blocking_limits(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };	/* no SA_RESTART */
	struct timeval tv = { 0, 200000 };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u32 = 1 };
	struct epoll_event got[2];
	pthread_t me = pthread_self(), t;
	int s = tcp_connect(ECHO_PORT, 0), ep = epoll_create1(0);
	char buf[8];

	if (s < 0 || ep < 0) {
		CHECK("limits-setup", false, "connect");
		return;
	}
	sigaction(SIGUSR1, &sa, NULL);
	pthread_create(&t, NULL, later_signal, &me);
	CHECK("eintr", read(s, buf, sizeof(buf)) < 0 && errno == EINTR,
	      "a blocked read and a signal");
	pthread_join(t, NULL);
	CHECK("so-rcvtimeo", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv,
					sizeof(tv)) == 0 &&
	      read(s, buf, sizeof(buf)) < 0 && errno == EAGAIN,
	      "a read past SO_RCVTIMEO");
	epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
	CHECK("et-first", write(s, "a", 1) == 1 &&
	      epoll_wait(ep, got, 2, WAIT_MS) == 1, "the first edge");
	CHECK("et-no-repeat", epoll_wait(ep, got, 2, 300) == 0,
	      "no new data, no new report");
	CHECK("et-new-data", write(s, "b", 1) == 1 &&
	      epoll_wait(ep, got, 2, WAIT_MS) == 1, "new data, a new edge");
	CHECK("et-read", recv(s, buf, 2, MSG_WAITALL) == 2, "both bytes");
	close(ep);
	close(s);
}

static void t_refused(void)
{
	int s = tcp_connect(CLOSED_PORT, 0), err = 0;
	socklen_t l = sizeof(err);

	CHECK("refused-blocking", s < 0 && errno == ECONNREFUSED, "fd %d", s);
	s = tcp_connect(CLOSED_PORT, SOCK_NONBLOCK);
	CHECK("refused-nonblock", s >= 0 && wait_fd(s, POLLOUT) &&
	      getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &l) == 0 &&
	      err == ECONNREFUSED, "SO_ERROR %d", err);
	if (s >= 0)
		close(s);
}

static int t_listen(void)
{
	struct sockaddr_in a = sin_of((struct in_addr){ INADDR_ANY }, OUR_PORT);
	struct sockaddr_in peer, me;
	socklen_t l = sizeof(peer), l2 = sizeof(me);
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1, c;

	CHECK("listen", s >= 0 && setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one,
					     sizeof(one)) == 0 &&
	      bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	      listen(s, 16) == 0 &&
	      getsockname(s, (struct sockaddr *)&me, &l2) == 0 &&
	      ntohs(me.sin_port) == OUR_PORT, "bind/listen");
	c = accept(s, (struct sockaddr *)&peer, &l);
	CHECK("accept-blocking", c >= 0 && addr_is(&peer, kernel_ip, -1) &&
	      serve(c), "accept %d", c);
	CHECK("listener-nonblock", fcntl(s, F_SETFL, O_NONBLOCK) == 0, "fcntl");
	c = accept4(s, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (c < 0) {
		CHECK("accept-eagain", errno == EAGAIN, "nonblocking accept");
		wait_fd(s, POLLIN);
		c = accept4(s, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	}
	CHECK("accept4-flags", c >= 0 && (fcntl(c, F_GETFL) & O_NONBLOCK) &&
	      fcntl(c, F_GETFD) == FD_CLOEXEC, "accept4 %d", c);
	CHECK("accept4-serve", c >= 0 && serve(c), "echo for the peer");
	return s;
}

static int pipe_w;

static void *later_write(void *arg)
{
	usleep(300000);
	if (write(*(int *)arg, arg == &pipe_w ? "x" : "ping", arg == &pipe_w
		  ? 1 : 4) < 0)
		return NULL;
	return NULL;
}

static bool epoll_has(int ep, uint32_t id, int timeout)
{
	struct epoll_event evs[8];
	int n = epoll_wait(ep, evs, 8, timeout);

	for (int i = 0; i < n; i++)
		if (evs[i].data.u32 == id)
			return true;
	return false;
}

static void t_epoll_mix(int l)
{
	struct epoll_event e1 = { .events = EPOLLIN, .data.u32 = 1 };
	struct epoll_event e2 = { .events = EPOLLIN, .data.u32 = 2 };
	struct epoll_event e3 = { .events = EPOLLIN, .data.u32 = 3 };
	int ep = epoll_create(8), p[2], c = tcp_connect(ECHO_PORT, 0), conn;
	pthread_t t;
	char buf[8];

	if (pipe(p) < 0 || ep < 0 || c < 0) {
		CHECK("epoll-setup", false, "pipe/epoll/connect");
		return;
	}
	pipe_w = p[1];
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e1);
	epoll_ctl(ep, EPOLL_CTL_ADD, c, &e3);
	CHECK("epoll-pipe", write(p[1], "x", 1) == 1 && epoll_has(ep, 1, WAIT_MS),
	      "pipe event");
	CHECK("pipe-read", read(p[0], buf, 1) == 1, "drain");
	pthread_create(&t, NULL, later_write, &pipe_w);
	/* no timeout: only a wake-up ends these waits (alarm() bounds them) */
	CHECK("epoll-sleep-wakes-for-pipe", epoll_has(ep, 1, -1),
	      "asleep with an idle stack socket, woken by the pipe");
	pthread_join(t, NULL);
	CHECK("pipe-read2", read(p[0], buf, 1) == 1, "drain");
	pthread_create(&t, NULL, later_write, &c);
	CHECK("epoll-sleep-wakes-for-stack", epoll_has(ep, 3, -1),
	      "asleep, woken by the echo of another thread's write");
	pthread_join(t, NULL);
	CHECK("read-ping", recv(c, buf, 4, MSG_WAITALL) == 4, "read");
	CHECK("epoll-del", epoll_ctl(ep, EPOLL_CTL_DEL, c, NULL) == 0 &&
	      epoll_ctl(ep, EPOLL_CTL_DEL, c, NULL) < 0 && errno == ENOENT,
	      "del, then ENOENT");
	epoll_ctl(ep, EPOLL_CTL_ADD, l, &e2);
	CHECK("epoll-listener", epoll_has(ep, 2, WAIT_MS), "listener event");
	conn = accept(l, NULL, NULL);
	CHECK("epoll-accept-serve", conn >= 0 && serve(conn), "serve");
	close(c);
	close(ep);
	close(p[0]);
	close(p[1]);
}

static void t_poll_select(int l)
{
	struct pollfd pf[2];
	int p[2], c;
	fd_set r;
	struct timeval tv = { 10, 0 };
	char buf[1];

	if (pipe(p) < 0)
		return;
	pf[0] = (struct pollfd){ .fd = p[0], .events = POLLIN };
	pf[1] = (struct pollfd){ .fd = l, .events = POLLIN };
	CHECK("poll-pipe", write(p[1], "y", 1) == 1 && poll(pf, 2, WAIT_MS) >= 1 &&
	      (pf[0].revents & POLLIN), "pipe revents %#x", pf[0].revents);
	CHECK("pipe-read3", read(p[0], buf, 1) == 1, "drain");
	CHECK("poll-listener", poll(pf, 2, WAIT_MS) >= 1 && (pf[1].revents & POLLIN)
	      && !(pf[0].revents), "listener revents %#x", pf[1].revents);
	c = accept(l, NULL, NULL);
	CHECK("poll-accept-serve", c >= 0 && serve(c), "serve");
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	FD_SET(l, &r);
	CHECK("select-pipe", write(p[1], "z", 1) == 1 &&
	      select((p[0] > l ? p[0] : l) + 1, &r, NULL, NULL, &tv) >= 1 &&
	      FD_ISSET(p[0], &r), "pipe not readable");
	CHECK("pipe-read4", read(p[0], buf, 1) == 1, "drain");
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	FD_SET(l, &r);
	tv.tv_sec = 10;
	CHECK("select-listener", select((p[0] > l ? p[0] : l) + 1, &r, NULL,
					NULL, &tv) == 1 && FD_ISSET(l, &r),
	      "listener not readable");
	c = accept(l, NULL, NULL);
	CHECK("select-accept-serve", c >= 0 && serve(c), "serve");
	close(p[0]);
	close(p[1]);
}

static void t_dup(void)
{
	int c = tcp_connect(ECHO_PORT, 0), d, e, f, p[2];

	if (c < 0 || pipe(p) < 0) {
		CHECK("dup-setup", false, "connect");
		return;
	}
	d = dup(c);
	CHECK("dup-close-one", d >= 0 && d != c && close(c) == 0 &&
	      echo_round(d, 1000, 2), "the copy must still work");
	e = dup2(d, 200);
	CHECK("dup2", e == 200 && close(d) == 0 && echo_round(e, 1000, 3),
	      "dup2 to 200");
	f = fcntl(e, F_DUPFD_CLOEXEC, 300);
	CHECK("f-dupfd", f >= 300 && fcntl(f, F_GETFD) == FD_CLOEXEC &&
	      echo_round(f, 100, 4), "F_DUPFD_CLOEXEC %d", f);
	CHECK("dup2-over-stack", dup2(p[0], f) == f && close(e) == 0 &&
	      write(p[1], "k", 1) == 1 && read(f, &d, 1) == 1,
	      "a pipe dup2'ed over the last copy of the socket");
	close(f);
	close(p[0]);
	close(p[1]);
}

static void t_fork(int l)
{
	int c = tcp_connect(ECHO_PORT, 0), st = -1;
	pid_t pid;

	CHECK("fork-before", c >= 0 && echo_round(c, 5000, 5), "echo");
	pid = fork();
	if (pid == 0) {
		char b;
		/* the child: local closes only, nothing reaches the stack */
		close(c);
		close(l);
		_exit(read(c, &b, 1) < 0 && errno == EBADF ? 0 : 3);
	}
	waitpid(pid, &st, 0);
	CHECK("fork-child", WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "child status %d", st);
	CHECK("fork-parent-intact", echo_round(c, 5000, 6), "echo after the "
	      "child closed its copies");
	close(c);
}

static void t_passthrough(void)
{
	char path[] = "/tmp/preload-check.XXXXXX", buf[8];
	int f = mkstemp(path), sv[2], s;

	CHECK("file", f >= 0 && write(f, "filedata", 8) == 8 &&
	      lseek(f, 0, SEEK_SET) == 0 && read(f, buf, 8) == 8 &&
	      !memcmp(buf, "filedata", 8), "file I/O");
	if (f >= 0) {
		close(f);
		unlink(path);
	}
	CHECK("af-unix", socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 &&
	      send(sv[0], "un", 2, 0) == 2 && recv(sv[1], buf, 2, 0) == 2 &&
	      !memcmp(buf, "un", 2), "socketpair");
	close(sv[0]);
	close(sv[1]);
	s = socket(AF_INET6, SOCK_STREAM, 0);
	CHECK("af-inet6", on_kernel ? s >= 0 : s < 0 && errno == EAFNOSUPPORT,
	      "fd %d", s);
	if (on_kernel && s >= 0)
		close(s);
	s = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	CHECK("af-netlink", s >= 0, "netlink socket");
	if (s >= 0)
		close(s);
}

/* [app] netns = own: past the library (a raw system call), the kernel's
 * network has only lo, and the peer is unreachable. */
static void t_netns(void)
{
	struct sockaddr_in to = sin_of(kernel_ip, ECHO_PORT);
	char line[256];
	int s = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0), r, devs = 0;
	bool lo = false;
	FILE *f;

	r = s < 0 ? -1 : (int)syscall(SYS_connect, s, &to, sizeof(to));
	CHECK("netns-raw-connect", s >= 0 && r < 0 && errno == ENETUNREACH,
	      "raw connect: fd %d, %d (%s)", s, r, strerror(errno));
	if (s >= 0)
		close(s);
	f = fopen("/proc/self/net/dev", "r");
	while (f && fgets(line, sizeof(line), f)) {
		char name[64];

		if (!strchr(line, ':') || sscanf(line, " %63[^:]:", name) != 1)
			continue;
		devs++;
		lo |= !strcmp(name, "lo");
	}
	if (f)
		fclose(f);
	CHECK("netns-only-lo", devs == 1 && lo, "%d devices", devs);
}

static void t_udp(void)
{
	struct sockaddr_in to = sin_of(kernel_ip, UDP_PORT), from;
	socklen_t l = sizeof(from);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	char buf[32];
	struct iovec iov = { buf, 4 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	CHECK("udp-sendto", u >= 0 && sendto(u, "udp-hello", 9, 0,
					     (struct sockaddr *)&to,
					     sizeof(to)) == 9, "sendto");
	CHECK("udp-recvfrom", wait_fd(u, POLLIN) &&
	      recvfrom(u, buf, sizeof(buf), 0, (struct sockaddr *)&from, &l) == 9
	      && !memcmp(buf, "udp-hello", 9) && addr_is(&from, kernel_ip,
							  UDP_PORT), "echo");
	CHECK("udp-connect", connect(u, (struct sockaddr *)&to, sizeof(to)) == 0 &&
	      send(u, "0123456789", 10, 0) == 10, "send");
	CHECK("udp-trunc", wait_fd(u, POLLIN) && recvmsg(u, &m, 0) == 4 &&
	      (m.msg_flags & MSG_TRUNC), "recvmsg flags %#x", m.msg_flags);
	close(u);
}

static void t_shutdown(void)
{
	int c = tcp_connect(ECHO_PORT, 0);
	char buf[8];
	ssize_t n = 0, r;

	CHECK("shutdown-wr", c >= 0 && write(c, "bye", 3) == 3 &&
	      shutdown(c, SHUT_WR) == 0, "shutdown");
	while ((r = read(c, buf + n, sizeof(buf) - (size_t)n)) > 0)
		n += r;
	CHECK("eof", r == 0 && n == 3 && !memcmp(buf, "bye", 3),
	      "read %zd then %zd", n, r);
	close(c);
}

/* One thread asleep in epoll_wait on a set of its own with one socket. */
struct ep_sleeper {
	int ep, fd;
	bool woke;
};

static void *ep_sleep(void *arg)
{
	struct ep_sleeper *w = arg;

	w->woke = epoll_has(w->ep, (uint32_t)w->fd, WAIT_MS);
	return NULL;
}

/*
 * Threads asleep in epoll_wait at once, each on an epoll set of its own
 * (memcached's worker threads): data for each thread's socket wakes that
 * thread, whichever thread the stack's wake-up reaches first.
 */
static void t_threads_epoll(void)
{
	struct ep_sleeper w[3];
	pthread_t t[3];
	bool good = true;
	char buf[8];

	for (int i = 0; i < 3; i++) {
		struct epoll_event e = { .events = EPOLLIN };

		w[i].fd = tcp_connect(ECHO_PORT, 0);
		w[i].ep = epoll_create1(0);
		w[i].woke = false;
		e.data.u32 = (uint32_t)w[i].fd;
		good = good && w[i].fd >= 0 && w[i].ep >= 0 &&
		       epoll_ctl(w[i].ep, EPOLL_CTL_ADD, w[i].fd, &e) == 0;
	}
	for (int i = 0; good && i < 3; i++)
		good = pthread_create(&t[i], NULL, ep_sleep, &w[i]) == 0;
	usleep(300000);	/* all three asleep */
	for (int i = 2; good && i >= 0; i--)	/* echoed: readable */
		good = write(w[i].fd, "ping", 4) == 4;
	for (int i = 0; good && i < 3; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; good && i < 3; i++)
		good = w[i].woke && recv(w[i].fd, buf, 4, MSG_WAITALL) == 4;
	CHECK("epoll-threads", good, "threads woken: %d %d %d", w[0].woke,
	      w[1].woke, w[2].woke);
	for (int i = 0; i < 3; i++) {
		close(w[i].fd);
		close(w[i].ep);
	}
}

/*
 * sendfile(2) of a file to a TCP socket, as nginx sends its files: with
 * an offset pointer (advanced, the file offset untouched) and without
 * (the file offset advanced); the echo comes back byte for byte.  And
 * TCP_CORK, which nginx sets around it (tcp_nopush), is accepted.
 */
static void t_sendfile(void)
{
	enum { LEN = 200000, AT = 1000, PART = 5000 };
	char path[] = "/tmp/preload-check.XXXXXX";
	uint8_t *a = malloc(LEN), *b = malloc(LEN);
	int f = mkstemp(path), c = tcp_connect(ECHO_PORT, 0), one = 1;
	off_t off = 0;
	ssize_t n = 0;

	for (size_t i = 0; a && i < LEN; i++)
		a[i] = (uint8_t)(i * 13 + i / 251);
	if (f >= 0)
		unlink(path);
	CHECK("sendfile-setup", a && b && f >= 0 && c >= 0 &&
	      write(f, a, LEN) == LEN && lseek(f, 0, SEEK_SET) == 0, "setup");
	CHECK("tcp-cork", setsockopt(c, IPPROTO_TCP, TCP_CORK, &one,
				     sizeof(one)) == 0, "setsockopt");
	while (off < LEN && (n = sendfile(c, f, &off, LEN - (size_t)off)) > 0)
		;
	CHECK("sendfile-offset", off == LEN && lseek(f, 0, SEEK_CUR) == 0 &&
	      recv(c, b, LEN, MSG_WAITALL) == LEN && !memcmp(a, b, LEN),
	      "off %lld, last %zd", (long long)off, n);
	lseek(f, AT, SEEK_SET);
	n = sendfile(c, f, NULL, PART);
	CHECK("sendfile-file-offset", n == PART &&
	      lseek(f, 0, SEEK_CUR) == AT + PART &&
	      recv(c, b, PART, MSG_WAITALL) == PART && !memcmp(a + AT, b, PART),
	      "sent %zd", n);
	free(a);
	free(b);
	close(f);
	close(c);
}

int main(int argc, char **argv)
{
	int l;

	if (argc < 3 || inet_aton(argv[1], &kernel_ip) == 0) {
		fprintf(stderr, "usage: %s KERNEL_IP RESULTS [-- PROG ARGS...]\n",
			argv[0]);
		return 2;
	}
	on_kernel = getenv("FRAGNET_PRELOAD_PASSTHROUGH") != NULL;
	out = fopen(argv[2], "w");
	if (!out)
		return 2;
	alarm(120);	/* a hang fails the test instead of stalling it */
	for (int i = 0; i < 300; i++) {	/* the peer starts after the tap */
		l = tcp_connect(ECHO_PORT, 0);
		if (l >= 0)
			break;
		usleep(200000);
	}
	CHECK("peer-up", l >= 0, "no echo server at %s:%d",
	      inet_ntoa(kernel_ip), ECHO_PORT);
	if (l >= 0)
		close(l);
	t_fd_basics();
	t_blocking_connect();
	t_nonblock_connect();
	t_blocking_limits();
	t_refused();
	l = t_listen();
	t_epoll_mix(l);
	t_poll_select(l);
	t_dup();
	t_fork(l);
	t_passthrough();
	if (!on_kernel)
		t_netns();
	t_udp();
	t_shutdown();
	t_sendfile();
	t_threads_epoll();
	close(l);
	fprintf(out, "DONE fails=%d\n", fails);
	fclose(out);
	alarm(0);
	if (argc > 4 && strcmp(argv[3], "--") == 0) {
		execv(argv[4], argv + 4);
		perror(argv[4]);
		return 127;
	}
	return fails ? 1 : 0;
}
