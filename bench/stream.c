/*
 * stream.c - fn-bench-stream: frame rate and one-way latency of a packet
 * link, against an AF_UNIX SOCK_SEQPACKET socketpair and a pipe.
 *
 * Two processes (fork, no exec): the parent is the producer on one cpu,
 * the child the consumer on another (cross-core) or the same one
 * (same-core), pinned with sched_setaffinity.  Every cell moves the same
 * transfer: the producer copies a frame of `size` bytes from its own
 * buffer into the channel, the consumer copies it out into its own
 * buffer (read() does that copy for the kernel baselines; for the link it
 * is a memcpy out of the slot).
 *
 *   throughput  The producer blasts for --duration seconds: link in bursts
 *               of 32 (alloc, fill, submit), socketpair and pipe with one
 *               write() per frame (the pipe in fixed-size records).  The
 *               consumer counts frames from its first to its last receipt.
 *   latency     One frame in flight.  The producer idles a random 0 ..
 *               --gap-max us (busy, as if working), stamps CLOCK_MONOTONIC
 *               into the frame and sends it; the consumer copies the frame
 *               out and stamps its receipt: one sample = receipt - send.
 *               The next frame goes only after the consumer has handed
 *               this one back: the ack on the link's ACK ring, or a 1-byte
 *               reply (socketpair: its other direction; pipe: a second
 *               pipe).  The producer waits for that with the cell's poll
 *               mode; the kernel baselines block in read().  p50/p99 over
 *               --samples samples after a warm-up.
 *
 * The link's poll mode applies to both sides; the kernel baselines have
 * none, so each is run once per placement and compared with every link
 * configuration of that placement.  Results: a Markdown table on stdout
 * and a CSV in --out (default bench/out).  See bench/README.md.
 *
 * usage: fn-bench-stream [--duration S] [--samples N] [--gap-max US]
 *                        [--sizes 64,1500] [--configs LIST] [--slots N]
 *                        [--out DIR]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fragnet/clock.h"
#include "fragnet/stats.h"
#include "fragnet/stream.h"

#define BURST		32
#define SLOT_SIZE	2048	/* config.h's default link geometry */
#define WARMUP		1000
#define MAX_SAMPLES	1000000
#define MAX_SIZES	8
#define KIND_DATA	0x41544144u	/* "DATA" */
#define KIND_END	0x20444e45u	/* "END " */

/* The first 16 bytes of every frame. */
struct frame_hdr {
	int64_t sent_ns;	/* latency: the producer's send stamp */
	uint32_t kind;
	uint32_t pad;
};

enum transport { T_LINK, T_SOCKETPAIR, T_PIPE, T_COUNT };
static const char *const transport_names[T_COUNT] = {
	"link", "socketpair", "pipe",
};

struct config {
	bool cross;
	enum fn_poll poll;
};

struct opts {
	double duration;
	unsigned samples;
	unsigned gap_max_us;
	uint32_t sizes[MAX_SIZES];
	unsigned nsizes;
	struct config configs[6];
	unsigned nconfigs;
	const char *out_dir;
	uint32_t slots;
	int cpus[2];
};

/* What the consumer reports back: a shared anonymous mapping. */
struct report {
	uint64_t frames;
	int64_t t_first, t_last;
	uint64_t sleeps;
	uint32_t nsamples;
	int failed;
	int64_t lat[];
};

/* One measured cell. */
struct cell {
	enum transport t;
	bool cross;
	enum fn_poll poll;	/* link only */
	uint32_t size;
	double mfps;
	double p50_us, p99_us;
	uint64_t tput_sleeps, lat_sleeps;
	bool ok;
};

/* The channel under test, opened before fork. */
struct chan {
	enum transport t;
	int fd[2];		/* data: [0] producer end, [1] consumer end */
	int rfd[2];		/* pipe latency reply: [0] read (producer) */
	int link_fd;
	struct fn_link l;
};

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0) {
		perror("sched_setaffinity");
		exit(1);
	}
}

/* --- I/O helpers for the kernel baselines ------------------------------- */

static int write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One record: a datagram on the socketpair, `n` bytes exactly on a pipe. */
static int read_rec(enum transport t, int fd, void *buf, size_t n)
{
	uint8_t *p = buf;
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
		if (t == T_SOCKETPAIR)
			break;
	}
	return 0;
}

/* --- channels -------------------------------------------------------------- */

static int chan_open(struct chan *c, enum transport t, uint32_t slots)
{
	memset(c, 0, sizeof(*c));
	c->t = t;
	c->fd[0] = c->fd[1] = c->rfd[0] = c->rfd[1] = c->link_fd = -1;
	switch (t) {
	case T_LINK:
		c->link_fd = fn_link_create("bench-link", slots, SLOT_SIZE);
		return c->link_fd < 0 ? -1 : 0;
	case T_SOCKETPAIR:
		return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, c->fd);
	case T_PIPE:
		if (pipe2(c->rfd, O_CLOEXEC) < 0)
			return -1;
		if (pipe2(c->fd, O_CLOEXEC) < 0)
			return -1;
		/* pipe2 gives [0] read, [1] write: the producer writes. */
		int r = c->fd[0];
		c->fd[0] = c->fd[1];
		c->fd[1] = r;
		return 0;
	default:
		return -1;
	}
}

static void chan_close(struct chan *c)
{
	int *fds[] = { &c->fd[0], &c->fd[1], &c->rfd[0], &c->rfd[1], &c->link_fd };

	if (c->l.base)
		fn_link_detach(&c->l);
	for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/* After fork: attach our side of the link, drop the other side's fds. */
static int chan_side(struct chan *c, bool producer, enum fn_poll poll)
{
	if (c->t == T_LINK) {
		int r = fn_link_attach(&c->l, c->link_fd,
				       producer ? FN_LINK_A : FN_LINK_B, poll);
		close(c->link_fd);
		c->link_fd = -1;
		return r;
	}
	int other = producer ? 1 : 0;
	close(c->fd[other]);
	c->fd[other] = -1;
	if (c->t == T_PIPE) {
		/* Replies: the consumer writes rfd[1], the producer reads rfd[0]. */
		close(c->rfd[producer ? 1 : 0]);
		c->rfd[producer ? 1 : 0] = -1;
	}
	return 0;
}

static int reply_fd(const struct chan *c, bool producer)
{
	if (c->t == T_SOCKETPAIR)
		return c->fd[producer ? 0 : 1];	/* the other direction */
	return c->rfd[producer ? 0 : 1];
}

/* --- the link ---------------------------------------------------------------- */

/* Wait for work on e; false if the link broke. */
static bool link_wait(struct fn_endpoint *e)
{
	return fn_stream_wait(e, 100000000) >= 0;
}

static void link_fill(struct fn_pkt *p, const uint8_t *src, uint32_t size,
		      uint32_t kind)
{
	/* Stamped before the copy, as the baselines stamp before write(). */
	struct frame_hdr h = { .sent_ns = fn_clock_ns(), .kind = kind };

	memcpy(p->data, src, size);
	memcpy(p->data, &h, sizeof(h));
	p->len = size;
}

static int link_tput_tx(struct chan *c, uint32_t size, double secs,
			const uint8_t *src)
{
	struct fn_endpoint *e = &c->l.tx;
	struct fn_pkt p[BURST];
	int64_t end = fn_clock_ns() + (int64_t)(secs * 1e9);

	while (fn_clock_ns() < end) {
		int k = fn_stream_alloc_burst(e, p, BURST);
		if (k < 0)
			return -1;
		if (k == 0) {
			if (!link_wait(e))
				return -1;
			continue;
		}
		for (int i = 0; i < k; i++) {
			memcpy(p[i].data, src, size);
			((struct frame_hdr *)p[i].data)->kind = KIND_DATA;
			p[i].len = size;
		}
		if (fn_stream_submit_burst(e, p, (unsigned)k) != k)
			return -1;
	}
	int k;
	while ((k = fn_stream_alloc_burst(e, p, 1)) == 0)
		if (!link_wait(e))
			return -1;
	if (k < 0)
		return -1;
	link_fill(&p[0], src, size, KIND_END);
	return fn_stream_submit_burst(e, p, 1) == 1 ? 0 : -1;
}

static int link_tput_rx(struct chan *c, uint8_t *dst, struct report *r)
{
	struct fn_endpoint *e = &c->l.rx;
	struct fn_pkt p[BURST];
	bool end = false;

	while (!end) {
		int k = fn_stream_recv_burst(e, p, BURST);
		if (k < 0)
			return -1;
		if (k == 0) {
			if (!link_wait(e))
				return -1;
			continue;
		}
		for (int i = 0; i < k; i++) {
			memcpy(dst, p[i].data, p[i].len);
			if (((struct frame_hdr *)dst)->kind == KIND_END) {
				end = true;
				continue;
			}
			if (!r->frames++)
				r->t_first = fn_clock_ns();
		}
		r->t_last = fn_clock_ns();
		if (fn_stream_ack_burst(e, p, (unsigned)k) != k)
			return -1;
	}
	r->sleeps = fn_ctr_get(&e->ctr[FN_SC_SLEEPS]);
	return 0;
}

static int link_lat_tx(struct chan *c, uint32_t size, unsigned n,
		       unsigned gap_max_us, const uint8_t *src)
{
	struct fn_endpoint *e = &c->l.tx;
	struct fn_pkt p;

	for (unsigned i = 0; i < n; i++) {
		int64_t idle_until = fn_clock_ns() +
				     rand() % (gap_max_us * 1000 + 1);
		while (fn_clock_ns() < idle_until)
			;
		int k;
		/* 0 until the consumer has joined the link (stream.h, RESET). */
		while ((k = fn_stream_alloc_burst(e, &p, 1)) == 0)
			if (!link_wait(e))
				return -1;
		if (k != 1)
			return -1;
		link_fill(&p, src, size, i + 1 == n ? KIND_END : KIND_DATA);
		if (fn_stream_submit_burst(e, &p, 1) != 1)
			return -1;
		/* Wait for this frame's ack before the next one. */
		while (fn_stream_pending(e) == 0)
			if (!link_wait(e))
				return -1;
		if (fn_stream_reclaim(e) != (int)e->nslots)
			return -1;
	}
	return 0;
}

static int link_lat_rx(struct chan *c, uint8_t *dst, struct report *r,
		       unsigned max)
{
	struct fn_endpoint *e = &c->l.rx;
	struct fn_pkt p;
	bool end = false;

	while (!end) {
		int k = fn_stream_recv_burst(e, &p, 1);
		if (k < 0)
			return -1;
		if (k == 0) {
			if (!link_wait(e))
				return -1;
			continue;
		}
		memcpy(dst, p.data, p.len);
		int64_t t = fn_clock_ns();
		const struct frame_hdr *h = (const void *)dst;
		if (r->frames++ >= WARMUP && r->nsamples < max)
			r->lat[r->nsamples++] = t - h->sent_ns;
		end = h->kind == KIND_END;
		if (fn_stream_ack_burst(e, &p, 1) != 1)
			return -1;
	}
	r->sleeps = fn_ctr_get(&e->ctr[FN_SC_SLEEPS]);
	return 0;
}

/* --- socketpair and pipe ---------------------------------------------------- */

static int fd_tput_tx(struct chan *c, uint32_t size, double secs, uint8_t *src)
{
	struct frame_hdr *h = (void *)src;
	int64_t end = fn_clock_ns() + (int64_t)(secs * 1e9);

	h->kind = KIND_DATA;
	while (fn_clock_ns() < end) {
		for (int i = 0; i < BURST; i++)	/* clock read per 32, as the link */
			if (write_all(c->fd[0], src, size) < 0)
				return -1;
	}
	h->kind = KIND_END;
	return write_all(c->fd[0], src, size);
}

static int fd_tput_rx(struct chan *c, uint32_t size, uint8_t *dst,
		      struct report *r)
{
	for (;;) {
		if (read_rec(c->t, c->fd[1], dst, size) < 0)
			return -1;
		if (((struct frame_hdr *)dst)->kind == KIND_END)
			return 0;
		r->t_last = fn_clock_ns();
		if (!r->frames++)
			r->t_first = r->t_last;
	}
}

static int fd_lat_tx(struct chan *c, uint32_t size, unsigned n,
		     unsigned gap_max_us, uint8_t *src)
{
	struct frame_hdr *h = (void *)src;
	char ack;

	for (unsigned i = 0; i < n; i++) {
		int64_t idle_until = fn_clock_ns() +
				     rand() % (gap_max_us * 1000 + 1);
		while (fn_clock_ns() < idle_until)
			;
		h->kind = i + 1 == n ? KIND_END : KIND_DATA;
		h->sent_ns = fn_clock_ns();
		if (write_all(c->fd[0], src, size) < 0)
			return -1;
		if (read_rec(T_SOCKETPAIR, reply_fd(c, true), &ack, 1) < 0)
			return -1;
	}
	return 0;
}

static int fd_lat_rx(struct chan *c, uint32_t size, uint8_t *dst,
		     struct report *r, unsigned max)
{
	for (;;) {
		if (read_rec(c->t, c->fd[1], dst, size) < 0)
			return -1;
		int64_t t = fn_clock_ns();
		const struct frame_hdr *h = (const void *)dst;
		if (r->frames++ >= WARMUP && r->nsamples < max)
			r->lat[r->nsamples++] = t - h->sent_ns;
		if (write_all(reply_fd(c, false), "k", 1) < 0)
			return -1;
		if (h->kind == KIND_END)
			return 0;
	}
}

/* --- running a cell ---------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static double percentile_us(int64_t *v, uint32_t n, double q)
{
	if (n == 0)
		return 0;
	return v[(size_t)(q * (n - 1) + 0.5)] / 1000.0;
}

/* The child: consume, report, exit. */
static void consumer(struct chan *c, const struct opts *o, uint32_t size,
		     bool latency, enum fn_poll poll, int cpu, struct report *r)
{
	static uint8_t dst[SLOT_SIZE];
	int err;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm((unsigned)o->duration + 60);
	pin(cpu);
	if (chan_side(c, false, poll) < 0)
		_exit(1);
	if (c->t == T_LINK)
		err = latency ? link_lat_rx(c, dst, r, o->samples) :
				link_tput_rx(c, dst, r);
	else
		err = latency ? fd_lat_rx(c, size, dst, r, o->samples) :
				fd_tput_rx(c, size, dst, r);
	r->failed = err < 0;
	chan_close(c);
	_exit(err < 0);
}

static int producer(struct chan *c, const struct opts *o, uint32_t size,
		    bool latency, enum fn_poll poll)
{
	static uint8_t src[SLOT_SIZE];

	for (uint32_t i = 0; i < size; i++)
		src[i] = (uint8_t)(i * 7);
	if (chan_side(c, true, poll) < 0)
		return -1;
	unsigned n = o->samples + WARMUP;
	if (c->t == T_LINK)
		return latency ? link_lat_tx(c, size, n, o->gap_max_us, src) :
				 link_tput_tx(c, size, o->duration, src);
	return latency ? fd_lat_tx(c, size, n, o->gap_max_us, src) :
			 fd_tput_tx(c, size, o->duration, src);
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char m[] = "fn-bench-stream: a cell timed out\n";
	if (write(STDERR_FILENO, m, sizeof(m) - 1) < 0)
		_exit(2);
	_exit(2);
}

/* Fork a consumer, produce, and fill in the cell's throughput or latency. */
static bool run(struct cell *cl, const struct opts *o, bool latency,
		struct report *r)
{
	struct chan c;
	int status;
	int pcpu = o->cpus[0], ccpu = cl->cross ? o->cpus[1] : o->cpus[0];

	memset(r, 0, sizeof(*r));
	if (chan_open(&c, cl->t, o->slots) < 0) {
		perror("channel");
		return false;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		consumer(&c, o, cl->size, latency, cl->poll, ccpu, r);
	if (pid < 0) {
		chan_close(&c);
		return false;
	}
	cpu_set_t saved;
	sched_getaffinity(0, sizeof(saved), &saved);
	pin(pcpu);
	alarm((unsigned)o->duration + 60);
	int err = producer(&c, o, cl->size, latency, cl->poll);
	if (err < 0)
		kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	alarm(0);
	sched_setaffinity(0, sizeof(saved), &saved);
	chan_close(&c);
	return err == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	       !r->failed;
}

static void measure(struct cell *cl, const struct opts *o, struct report *r)
{
	cl->ok = run(cl, o, false, r);
	if (cl->ok && r->t_last > r->t_first)
		cl->mfps = r->frames / ((r->t_last - r->t_first) / 1e3);
	cl->tput_sleeps = r->sleeps;
	cl->ok = cl->ok && run(cl, o, true, r);
	if (cl->ok) {
		qsort(r->lat, r->nsamples, sizeof(r->lat[0]), cmp_i64);
		cl->p50_us = percentile_us(r->lat, r->nsamples, 0.50);
		cl->p99_us = percentile_us(r->lat, r->nsamples, 0.99);
	}
	cl->lat_sleeps = r->sleeps;
	fprintf(stderr, "  %-10s %-5s %-8s %5u B  %8.3f Mfps  p50 %7.2f us  "
		"p99 %7.2f us%s\n", transport_names[cl->t],
		cl->cross ? "cross" : "same",
		cl->t == T_LINK ? fn_poll_name(cl->poll) : "-", cl->size,
		cl->mfps, cl->p50_us, cl->p99_us, cl->ok ? "" : "  FAILED");
}

/* --- output ------------------------------------------------------------------ */

static const struct cell *find(const struct cell *cells, unsigned n,
			       enum transport t, bool cross, uint32_t size)
{
	for (unsigned i = 0; i < n; i++)
		if (cells[i].t == t && cells[i].cross == cross &&
		    cells[i].size == size)
			return &cells[i];
	return NULL;
}

static void print_table(const struct cell *cells, unsigned n,
			const struct opts *o)
{
	printf("\n| config | frame | link Mfps | socketpair Mfps | pipe Mfps "
	       "| link/socketpair | link p50/p99 us | socketpair p50/p99 us "
	       "| pipe p50/p99 us | p50 link/socketpair |\n"
	       "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (unsigned i = 0; i < n; i++) {
		const struct cell *l = &cells[i], *s, *p;
		if (l->t != T_LINK)
			continue;
		s = find(cells, n, T_SOCKETPAIR, l->cross, l->size);
		p = find(cells, n, T_PIPE, l->cross, l->size);
		if (!s || !p)
			continue;
		printf("| %s-core %s | %u B | %.2f | %.3f | %.3f | %.1fx "
		       "| %.2f / %.2f | %.2f / %.2f | %.2f / %.2f | %.2f |\n",
		       l->cross ? "cross" : "same", fn_poll_name(l->poll),
		       l->size, l->mfps, s->mfps, p->mfps,
		       s->mfps > 0 ? l->mfps / s->mfps : 0, l->p50_us,
		       l->p99_us, s->p50_us, s->p99_us, p->p50_us, p->p99_us,
		       s->p50_us > 0 ? l->p50_us / s->p50_us : 0);
	}
	printf("\nThroughput: %.1f s per cell, link bursts of %d, one write() "
	       "per frame on socketpair/pipe; frames counted by the consumer.\n"
	       "Latency: one-way send->receipt (frame copied out), one frame in "
	       "flight, random busy idle 0-%u us before each send, %u samples "
	       "after %d warm-up; producer and consumer in the same poll "
	       "mode; socketpair/pipe block in read().\n",
	       o->duration, BURST, o->gap_max_us, o->samples, WARMUP);
}

static void print_targets(const struct cell *cells, unsigned n)
{
	printf("\nTargets:\n");
	for (unsigned i = 0; i < n; i++) {
		const struct cell *l = &cells[i];
		const struct cell *s = find(cells, n, T_SOCKETPAIR, l->cross,
					    l->size);
		if (l->t != T_LINK || !s)
			continue;
		if (l->cross && l->poll == FN_POLL_BUSY)
			printf("- cross-core busy, %u B: link %.1fx socketpair "
			       "frame rate (target >= 10x): %s\n", l->size,
			       l->mfps / s->mfps,
			       l->mfps >= 10 * s->mfps ? "met" : "NOT met");
		if (!l->cross && l->poll == FN_POLL_ADAPTIVE)
			printf("- same-core adaptive, %u B: link p50 %.2fx "
			       "socketpair p50 (target <= 2x): %s\n", l->size,
			       l->p50_us / s->p50_us,
			       l->p50_us <= 2 * s->p50_us ? "met" : "NOT met");
	}
}

static void write_csv(const struct cell *cells, unsigned n,
		      const struct opts *o)
{
	char path[512], stamp[32];
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	mkdir(o->out_dir, 0755);
	snprintf(path, sizeof(path), "%s/stream-%s.csv", o->out_dir, stamp);
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		return;
	}
	fprintf(f, "transport,placement,poll,frame_bytes,mfps,lat_p50_us,"
		"lat_p99_us,lat_samples,gap_max_us,duration_s,"
		"consumer_sleeps_tput,consumer_sleeps_lat,ok\n");
	for (unsigned i = 0; i < n; i++) {
		const struct cell *c = &cells[i];
		fprintf(f, "%s,%s,%s,%u,%.4f,%.3f,%.3f,%u,%u,%.1f,%" PRIu64
			",%" PRIu64 ",%d\n", transport_names[c->t],
			c->cross ? "cross" : "same",
			c->t == T_LINK ? fn_poll_name(c->poll) : "",
			c->size, c->mfps, c->p50_us, c->p99_us, o->samples,
			o->gap_max_us, o->duration, c->tput_sleeps,
			c->lat_sleeps, c->ok);
	}
	fclose(f);
	printf("\nCSV: %s\n", path);
}

/* --- options ------------------------------------------------------------------ */

static int parse_configs(struct opts *o, char *s)
{
	o->nconfigs = 0;
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		char *dash = strchr(tok, '-');
		struct config c;
		if (!dash || o->nconfigs == 6)
			return -1;
		*dash = '\0';
		if (strcmp(tok, "cross") && strcmp(tok, "same"))
			return -1;
		c.cross = !strcmp(tok, "cross");
		if (fn_poll_parse(dash + 1, &c.poll) < 0)
			return -1;
		o->configs[o->nconfigs++] = c;
	}
	return o->nconfigs ? 0 : -1;
}

static int parse_sizes(struct opts *o, char *s)
{
	o->nsizes = 0;
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		unsigned long v = strtoul(tok, NULL, 0);
		if (v < sizeof(struct frame_hdr) || v > SLOT_SIZE ||
		    o->nsizes == MAX_SIZES)
			return -1;
		o->sizes[o->nsizes++] = (uint32_t)v;
	}
	return o->nsizes ? 0 : -1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fn-bench-stream [--duration S] [--samples N] "
		"[--gap-max US]\n"
		"                       [--sizes 64,1500] [--configs LIST] "
		"[--slots N] [--out DIR]\n"
		"  LIST: comma-separated PLACEMENT-POLL, PLACEMENT cross|same, "
		"POLL busy|adaptive|event\n"
		"  default: cross-busy,cross-adaptive,cross-event,"
		"same-adaptive,same-event\n");
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "samples", required_argument, NULL, 'n' },
		{ "gap-max", required_argument, NULL, 'g' },
		{ "sizes", required_argument, NULL, 's' },
		{ "configs", required_argument, NULL, 'c' },
		{ "out", required_argument, NULL, 'o' },
		{ "slots", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char defsizes[] = "64,1500";
	char defconfigs[] = "cross-busy,cross-adaptive,cross-event,"
			    "same-adaptive,same-event";
	int c;

	parse_sizes(o, defsizes);
	parse_configs(o, defconfigs);
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'd': o->duration = strtod(optarg, NULL); break;
		case 'n': o->samples = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'g': o->gap_max_us = (unsigned)strtoul(optarg, NULL, 0); break;
		case 's': if (parse_sizes(o, optarg) < 0) return -1; break;
		case 'c': if (parse_configs(o, optarg) < 0) return -1; break;
		case 'o': o->out_dir = optarg; break;
		case 'l': o->slots = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'h': usage(stdout); exit(0);
		default: return -1;
		}
	}
	if (optind != argc || o->duration <= 0 || o->duration > 600 ||
	    o->samples == 0 || o->samples > MAX_SAMPLES ||
	    fn_link_size(o->slots, SLOT_SIZE) == 0 || o->slots < BURST)
		return -1;
	return 0;
}

static void find_cpus(int cpus[2])
{
	cpu_set_t set;
	int n = 0;

	cpus[0] = 0;
	cpus[1] = -1;
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return;
	for (int i = 0; i < CPU_SETSIZE && n < 2; i++)
		if (CPU_ISSET(i, &set))
			cpus[n++] = i;
}

int main(int argc, char **argv)
{
	struct opts o = {
		.duration = 2, .samples = 20000, .gap_max_us = 30,
		.out_dir = "bench/out", .slots = 1024,
	};
	static struct cell cells[64];
	unsigned n = 0;

	if (parse(argc, argv, &o) < 0) {
		usage(stderr);
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, on_alarm);
	find_cpus(o.cpus);
	srand(1);
	size_t rsize = sizeof(struct report) + (size_t)o.samples * sizeof(int64_t);
	struct report *r = mmap(NULL, rsize, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	printf("fn-bench-stream: producer cpu%d, consumer cpu%d (cross) / "
	       "cpu%d (same); link %u slots of %u B\n", o.cpus[0], o.cpus[1],
	       o.cpus[0], o.slots, SLOT_SIZE);
	for (int cross = 1; cross >= 0; cross--) {
		bool used = false;
		for (unsigned k = 0; k < o.nconfigs; k++)
			used |= o.configs[k].cross == cross;
		if (!used)
			continue;
		if (cross && o.cpus[1] < 0) {
			printf("cross-core: skipped, only one cpu\n");
			continue;
		}
		for (unsigned si = 0; si < o.nsizes; si++) {
			for (int t = T_SOCKETPAIR; t <= T_PIPE; t++) {
				cells[n] = (struct cell){ .t = t, .cross = cross,
					.size = o.sizes[si] };
				measure(&cells[n++], &o, r);
			}
			for (unsigned k = 0; k < o.nconfigs; k++) {
				if (o.configs[k].cross != cross)
					continue;
				cells[n] = (struct cell){ .t = T_LINK,
					.cross = cross, .poll = o.configs[k].poll,
					.size = o.sizes[si] };
				measure(&cells[n++], &o, r);
			}
		}
	}
	print_table(cells, n, &o);
	print_targets(cells, n);
	write_csv(cells, n, &o);
	munmap(r, rsize);
	for (unsigned i = 0; i < n; i++)
		if (!cells[i].ok)
			return 1;
	return 0;
}
