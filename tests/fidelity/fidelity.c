/*
 * fn-fidelity - the differential fidelity suite's scenario program
 * (tests/fidelity/README.md).  One binary, run twice by run.sh: on the
 * kernel (LD_PRELOAD=libfragnet-preload.so in passthrough mode, in a
 * network namespace) and as the app of a fragnet pipeline.  Each run
 * prints a transcript, one "scenario| observable" line at a time; run.sh
 * compares the two.
 *
 *   fn-fidelity [--stay] PEER_IP OUT [NAME...]
 *                                       run the scenarios (all, or NAMEs)
 *                                       once the peer answers; --stay: then
 *                                       sleep (an app the supervisor must
 *                                       not restart)
 *   fn-fidelity --list                  name and help of every scenario
 *   fn-fidelity --write-fd FD           (exec scenarios) write "exec" to FD
 *
 * Scenarios live in one file per group, as tables of {name, fn, help}.
 * Scenario i listens on port 20000 + i (aport) and the peer on
 * 21000 + i (pport), so that no connection of one scenario can meet
 * another's; the peer's control port is 7300.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "fidelity.h"

#define CTL_PORT	7300
#define SCEN_BOUND	20	/* seconds a scenario may take */

struct fid_run fx = { .ctl = -1 };
static FILE *out_f;
static const char *cur_name = "-";
static volatile sig_atomic_t alarmed;

static const struct fid_scenario *const groups[] = {
	fid_close, fid_msg, fid_events, fid_conn, fid_io,
};

void out(const char *fmt, ...)
{
	va_list ap;

	fprintf(out_f, "%s| ", cur_name);
	va_start(ap, fmt);
	vfprintf(out_f, fmt, ap);
	va_end(ap);
	fputc('\n', out_f);
	fflush(out_f);
}

const char *ename(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "E?";
}

long rep(const char *what, long r)
{
	int e = errno;

	if (r < 0)
		out("%s = %ld %s", what, r, ename(e));
	else
		out("%s = %ld", what, r);
	errno = e;
	return r;
}

struct sockaddr_in sa_peer(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr = fx.peer };
	return a;
}

struct sockaddr_in sa_app(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	return a;
}

const char *sa_name(const struct sockaddr_in *a)
{
	static char buf[4][64];
	static int k;
	char *b = buf[k++ % 4];
	const char *h, *p;
	char hb[32], pb[16];
	int port = ntohs(a->sin_port);

	if (a->sin_family != AF_INET)
		return "family?";
	if (a->sin_addr.s_addr == fx.peer.s_addr)
		h = "PEER";
	else if (a->sin_addr.s_addr == fx.app.s_addr)
		h = "APP";
	else if (a->sin_addr.s_addr == htonl(INADDR_ANY))
		h = "ANY";
	else
		h = inet_ntop(AF_INET, &a->sin_addr, hb, sizeof hb);
	if (port == 0)
		p = "0";
	else if (port == fx.aport)
		p = "aport";
	else if (port == fx.pport)
		p = "pport";
	else if (port >= 32768)
		p = "eph";
	else
		p = (snprintf(pb, sizeof pb, "%d", port), pb);
	snprintf(b, sizeof buf[0], "%s:%s", h, p);
	return b;
}

void names(int fd)
{
	struct sockaddr_in a;
	socklen_t l = sizeof a;

	memset(&a, 0, sizeof a);
	if (getsockname(fd, SA(a), &l) < 0)
		out("getsockname = -1 %s", ename(errno));
	else
		out("getsockname = %s len %u", sa_name(&a), l);
	l = sizeof a;
	memset(&a, 0, sizeof a);
	if (getpeername(fd, SA(a), &l) < 0)
		out("getpeername = -1 %s", ename(errno));
	else
		out("getpeername = %s len %u", sa_name(&a), l);
}

int tcp(void)
{
	return socket(AF_INET, SOCK_STREAM, 0);
}

int tcp_to_peer(void)
{
	struct sockaddr_in a = sa_peer(fx.pport);
	int s = tcp();

	R(connect(s, SA(a), sizeof a));
	return s;
}

int tcp_listen(int backlog)
{
	struct sockaddr_in a = sa_app(fx.aport);
	int s = tcp(), one = 1;

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(s, SA(a), sizeof a) < 0 || listen(s, backlog) < 0)
		out("listener: %s", ename(errno));
	return s;
}

void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

void pattern(unsigned char *b, size_t n, size_t off)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)((off + i) % 251);
}

uint32_t fnv(const unsigned char *b, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static const char *flagnames(int f)
{
	static char b[96];

	b[0] = 0;
	if (!f)
		return "0";
	if (f & MSG_PEEK)
		strcat(b, "|PEEK");
	if (f & MSG_WAITALL)
		strcat(b, "|WAITALL");
	if (f & MSG_DONTWAIT)
		strcat(b, "|DONTWAIT");
	if (f & MSG_NOSIGNAL)
		strcat(b, "|NOSIGNAL");
	if (f & MSG_TRUNC)
		strcat(b, "|TRUNC");
	return b + 1;
}

long snd(int fd, size_t n, int flags)
{
	unsigned char *b = malloc(n ? n : 1);
	long r;
	int e;

	pattern(b, n, 0);
	r = send(fd, b, n, flags);
	e = errno;
	free(b);
	if (r < 0)
		out("send(%zu,%s) = -1 %s", n, flagnames(flags), ename(e));
	else
		out("send(%zu,%s) = %ld", n, flagnames(flags), r);
	errno = e;
	return r;
}

long rcv(int fd, size_t n, int flags)
{
	unsigned char *b = malloc(n ? n : 1);
	long r = recv(fd, b, n, flags);
	int e = errno;

	if (r < 0)
		out("recv(%zu,%s) = -1 %s", n, flagnames(flags), ename(e));
	else
		out("recv(%zu,%s) = %ld data %ld:%08x", n, flagnames(flags), r,
		    r, fnv(b, (size_t)r));
	free(b);
	errno = e;
	return r;
}

int readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 3000) == 1 ? 0 : -1;
}

int queued(int fd, int n)
{
	long long t0 = ms_now();
	int q = 0;

	while (ms_now() - t0 < 3000) {
		if (ioctl(fd, FIONREAD, &q) < 0)
			return -1;
		if (q >= n)
			return 0;
		msleep(10);
	}
	return -1;
}

void drain(int fd)
{
	static unsigned char b[65536];
	unsigned char *all = NULL;
	size_t n = 0;
	long long t0 = ms_now();
	const char *end = "eof";
	long r;

	while (ms_now() - t0 < 3000) {
		if (readable(fd) < 0) {
			end = "stalled";
			break;
		}
		r = recv(fd, b, sizeof b, 0);
		if (r == 0)
			break;
		if (r < 0) {
			end = ename(errno);
			break;
		}
		all = realloc(all, n + (size_t)r);
		memcpy(all + n, b, (size_t)r);
		n += (size_t)r;
	}
	out("drain = %zu:%08x then %s", n, fnv(all, n), end);
	free(all);
}

long long ms_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

const char *tclass(long long ms, long long lo, long long hi)
{
	if (ms < lo)
		return "immediate";
	if (ms >= hi)
		return "after-timeout";
	return "in-between";
}

static const char *maskname(unsigned m, const unsigned *bits,
			    const char *const *nm, int n)
{
	static char b[4][160];
	static int k;
	char *s = b[k++ % 4];

	s[0] = 0;
	for (int i = 0; i < n; i++)
		if (m & bits[i]) {
			strcat(s, "|");
			strcat(s, nm[i]);
			m &= ~bits[i];
		}
	if (m)
		sprintf(s + strlen(s), "|0x%x", m);
	return s[0] ? s + 1 : "0";
}

const char *epmask(uint32_t m)
{
	static const unsigned bits[] = { EPOLLIN, EPOLLPRI, EPOLLOUT,
		EPOLLERR, EPOLLHUP, EPOLLRDHUP };
	static const char *const nm[] = { "IN", "PRI", "OUT", "ERR", "HUP",
		"RDHUP" };

	return maskname(m, bits, nm, 6);
}

const char *pollmask(short m)
{
	static const unsigned bits[] = { POLLIN, POLLPRI, POLLOUT, POLLERR,
		POLLHUP, POLLNVAL, POLLRDHUP };
	static const char *const nm[] = { "IN", "PRI", "OUT", "ERR", "HUP",
		"NVAL", "RDHUP" };

	return maskname((unsigned short)m, bits, nm, 7);
}

void msleep(int ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&t, &t) < 0 && errno == EINTR && !alarmed)
		;
}

/* ---- the peer's control connection ---------------------------------- */

static int ctl_line(char *b, size_t n)
{
	size_t i = 0;
	char c;

	while (i + 1 < n) {
		long r = read(fx.ctl, &c, 1);

		if (r <= 0)
			return -1;
		if (c == '\n')
			break;
		b[i++] = c;
	}
	b[i] = 0;
	return 0;
}

static void ctl_say(const char *s)
{
	if (fx.ctl >= 0 && write(fx.ctl, s, strlen(s)) < 0)
		out("control: write: %s", ename(errno));
}

/* Read lines up to "want" (NULL: to EOF), printing the peer's reports. */
static void ctl_until(const char *want)
{
	char b[512];

	while (ctl_line(b, sizeof b) == 0) {
		if (want && !strcmp(b, want))
			return;
		out("peer: %s", b);
	}
	if (want)
		out("control: lost before %s", want);
}

void peer_start(const char *script)
{
	struct sockaddr_in a = sa_peer(CTL_PORT);
	char msg[1024];

	fx.ctl = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(fx.ctl, SA(a), sizeof a) < 0) {
		out("control: connect: %s", ename(errno));
		return;
	}
	snprintf(msg, sizeof msg, "%s %d %d %s\n", cur_name, fx.aport,
		 fx.pport, script);
	ctl_say(msg);
	ctl_until("ready");
}

void peer_go(void)
{
	ctl_say("go\n");
}

void peer_wait(void)
{
	ctl_until("t");
}

void peer_end(void)
{
	if (fx.ctl < 0)
		return;
	ctl_say("end\n");
	ctl_until(NULL);
	close(fx.ctl);
	fx.ctl = -1;
}

/* ---- main --------------------------------------------------------------- */

static void on_alarm(int sig)
{
	(void)sig;
	alarmed = 1;
}

static void run_one(const struct fid_scenario *sc, int idx)
{
	int lo = dup(0);

	close(lo);
	cur_name = sc->name;
	fx.aport = 20000 + idx;
	fx.pport = 21000 + idx;
	alarmed = 0;
	alarm(SCEN_BOUND);
	sc->fn();
	alarm(0);
	if (alarmed)
		out("TIMEOUT after %d s", SCEN_BOUND);
	if (fx.ctl >= 0)
		peer_end();
	/* what the scenario left open */
	for (int fd = lo; fd < lo + 64; fd++)
		if (fd != fileno(out_f))
			close(fd);
	signal(SIGPIPE, SIG_IGN);
	cur_name = "-";
}

static bool wanted(const char *name, int argc, char **argv)
{
	if (argc == 0)
		return true;
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}

static int write_fd(const char *arg)
{
	int fd = atoi(arg);

	return write(fd, "exec", 4) == 4 ? 0 : errno;
}

/* Wait (60 s at most) until the peer's control port answers. */
static int peer_up(void)
{
	struct sockaddr_in a = sa_peer(CTL_PORT);

	for (int i = 0; i < 300; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		int r = connect(s, SA(a), sizeof a);

		close(s);
		if (r == 0)
			return 0;
		msleep(200);
	}
	return -1;
}

/* This side's address: the one the control connection comes from. */
static void own_address(void)
{
	struct sockaddr_in a = sa_peer(CTL_PORT), me;
	socklen_t l = sizeof me;
	int s = socket(AF_INET, SOCK_STREAM, 0);

	if (connect(s, SA(a), sizeof a) == 0 &&
	    getsockname(s, SA(me), &l) == 0)
		fx.app = me.sin_addr;
	close(s);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	int idx = 0, n = 0;
	bool stay = argc > 1 && !strcmp(argv[1], "--stay");

	fx.self = argv[0];
	if (stay) {
		argc--;
		argv++;
	}
	if (argc == 3 && !strcmp(argv[1], "--write-fd"))
		return write_fd(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (size_t g = 0; g < sizeof groups / sizeof *groups; g++)
			for (const struct fid_scenario *s = groups[g]; s->name; s++)
				printf("%-28s %s\n", s->name, s->help);
		return 0;
	}
	if (argc < 3 || inet_pton(AF_INET, argv[1], &fx.peer) != 1) {
		fprintf(stderr, "usage: fn-fidelity PEER_IP OUT [NAME...] | --list\n");
		return 2;
	}
	out_f = fopen(argv[2], "w");
	if (!out_f) {
		perror(argv[2]);
		return 1;
	}
	sigaction(SIGALRM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (peer_up() < 0) {
		fprintf(out_f, "no peer at %s:%d\n", argv[1], CTL_PORT);
		return 1;
	}
	own_address();
	for (size_t g = 0; g < sizeof groups / sizeof *groups; g++)
		for (const struct fid_scenario *s = groups[g]; s->name; s++, idx++)
			if (wanted(s->name, argc - 3, argv + 3)) {
				run_one(s, idx);
				n++;
			}
	fprintf(out_f, "DONE %d\n", n);
	fclose(out_f);
	while (stay)
		pause();
	return 0;
}
