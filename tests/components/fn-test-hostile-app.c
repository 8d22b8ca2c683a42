/*
 * fn-test-hostile-app: an app that attacks its stack over the socket
 * channel (sockchan.h TRUST), for the "hostile app" integration test.
 *
 *   fn-test-hostile-app [--ms MS] [--rounds N --state FILE] [-- PROG ARGS...]
 *
 * Spawned by the supervisor as an app (FRAGNET_SOCKCHAN_FD and the bells,
 * names.h).  For MS milliseconds (--ms, else FN_HOSTILE_MS, default 2000)
 * it alternates:
 *   1. random request headers, lengths, ops, socket ids, families and args
 *      in request slots (fn_stream_submit_burst), ringing the stack bell;
 *   2. random bytes over the request stream's shared rings (descriptors
 *      and indices), through its own mapping of the channel memfd.
 * Then it exits 1, so that the supervisor resets the channel.  The stack
 * must survive, count (sock.violations, sock.cutoffs, link counters) and
 * serve again after the reset; every other pipeline must not notice.
 *
 * LIFECYCLE, for a test that wants the attack to end: with --rounds N, the
 * number of attacks so far is kept in FILE (--state); the first N starts
 * attack and exit 1 (each restart by the supervisor is a new round), and
 * every later start becomes PROG (execv, same fds and environment: e.g.
 * fn-test-tcp-echo PORT), or, without PROG, idles until SIGTERM.  N stays
 * below the topology's crash_loop_limit, so the supervisor never gives up.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fragnet/clock.h"
#include "fragnet/env.h"
#include "fragnet/names.h"
#include "fragnet/sock.h"

static void ring_bell(int fd)
{
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0)
		perror("fn-test-hostile-app: bell");
}

/* One random request in a request slot.  Returns submit's result. */
static int post_random(struct fn_sock_chan *c)
{
	struct fn_sock_msg m;
	struct fn_pkt p;
	int r = fn_stream_alloc_burst(&c->link.tx, &p, 1);

	if (r != 1)
		return r;
	memset(&m, 0, sizeof(m));
	m.op = (uint16_t)(random() % 16);
	m.sock = (uint32_t)(random() % 4 ? random() % 8 : random());
	m.cookie = (uint64_t)random();
	m.len = (uint32_t)(random() % 2 ? random() % 256 : random());
	m.addr.family = (uint16_t)(random() % 2 ? AF_INET : random());
	m.addr.addr = (uint32_t)random();
	m.addr.port = (uint16_t)random();
	for (int i = 0; i < 4; i++)
		m.arg[i] = (uint32_t)(random() % 2 ? random() % 4 : random());
	memcpy(p.data, &m, sizeof(m));
	p.len = (uint32_t)(random() % c->link.tx.slot_size);
	if (p.len < sizeof(m))
		p.len = sizeof(m);
	return fn_stream_submit_burst(&c->link.tx, &p, 1);
}

/* Random bytes over stream 0's rings, through our own mapping. */
static void scribble(int fd, struct fn_sock_chan *c)
{
	const struct fn_stream_layout *st = &c->link.hdr.stream[0];
	size_t size = (size_t)c->link.hdr.total_size;
	uint8_t *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			     fd, 0);

	if (base == MAP_FAILED)
		return;
	for (int i = 0; i < 64; i++) {
		uint64_t span = st->bulk_off - st->rings_off;
		uint64_t off = st->rings_off + (uint64_t)random() % span;

		base[off] = (uint8_t)random();
	}
	munmap(base, size);
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: fn-test-hostile-app [--ms MS] [--rounds N --state FILE] [-- PROG ARGS...]\n"
"\n"
"Attacks its socket channel for MS ms (default $FN_HOSTILE_MS or 2000),\n"
"then exits 1.  With --rounds N: only the first N starts attack (counted\n"
"in FILE); later starts exec PROG ARGS, or idle until SIGTERM.\n");
}

/* Rounds attacked so far, from the state file (0 if none); -1 on error. */
static long rounds_read(const char *path)
{
	FILE *f = fopen(path, "r");
	long n = 0;

	if (!f)
		return errno == ENOENT ? 0 : -1;
	if (fscanf(f, "%ld", &n) != 1)
		n = 0;
	fclose(f);
	return n;
}

static int rounds_write(const char *path, long n)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f, "%ld\n", n);
	return fclose(f);
}

/* The attack is over: become PROG, or idle until SIGTERM. */
static int peaceful(char **prog)
{
	if (prog && prog[0]) {
		execv(prog[0], prog);
		fprintf(stderr, "fn-test-hostile-app: exec %s: %s\n", prog[0],
			strerror(errno));
		return 1;
	}
	for (;;)
		pause();	/* SIGTERM's default action ends us */
}

struct opts {
	long ms, rounds;
	const char *state;
	char **prog;
};

/* 0: go, 1: --help, -1: bad usage. */
static int parse(int argc, char **argv, struct opts *o)
{
	const char *v = getenv("FN_HOSTILE_MS");

	o->ms = v ? atol(v) : 2000;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
		if (!strcmp(argv[i], "--")) {
			o->prog = argv + i + 1;
			break;
		}
		if (i + 1 >= argc)
			return -1;
		if (!strcmp(argv[i], "--ms"))
			o->ms = atol(argv[++i]);
		else if (!strcmp(argv[i], "--rounds"))
			o->rounds = atol(argv[++i]);
		else if (!strcmp(argv[i], "--state"))
			o->state = argv[++i];
		else
			return -1;
	}
	return (o->rounds > 0) != (o->state != NULL) ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	int64_t until;
	int fd = fn_env_fd(FN_ENV_SOCKCHAN_FD);
	struct fn_sock_chan c;
	int r = parse(argc, argv, &o);

	if (r) {
		usage(r > 0 ? stdout : stderr);
		return r > 0 ? 0 : 2;
	}
	if (o.state) {
		long done = rounds_read(o.state);

		if (done < 0 || (done < o.rounds && rounds_write(o.state, done + 1) < 0)) {
			fprintf(stderr, "fn-test-hostile-app: %s: %s\n", o.state,
				strerror(errno));
			return 2;
		}
		if (done >= o.rounds)
			return peaceful(o.prog);
	}
	until = fn_clock_ms() + o.ms;
	srandom((unsigned)getpid() ^ (unsigned)fn_clock_ms());
	if (fd < 0) {
		fprintf(stderr, "fn-test-hostile-app: %s not set\n",
			FN_ENV_SOCKCHAN_FD);
		return 2;
	}
	r = fn_sock_open(&c);
	if (r < 0) {
		fprintf(stderr, "fn-test-hostile-app: attach: %s\n",
			strerror(-r));
		return 2;
	}
	while (fn_clock_ms() < until) {
		for (int i = 0; i < 64; i++)
			post_random(&c);
		ring_bell(c.stack_bell_fd);
		fn_sock_process(&c);
		if (random() % 4 == 0) {
			scribble(fd, &c);
			ring_bell(c.stack_bell_fd);
		}
		usleep(1000);
	}
	fprintf(stderr, "fn-test-hostile-app: done, %llu bad events seen\n",
		(unsigned long long)c.bad_events);
	fn_sock_close_chan(&c);
	return 1;	/* the supervisor resets the channel */
}
