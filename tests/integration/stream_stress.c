/*
 * stream_stress.c - two-process stress test of a packet link.
 *
 *     parent (side A, cpu P)                     child (side B, cpu C)
 *     fn_link_create() -> memfd                  exec'd with the fd as
 *     fork + exec self --consumer ------------>  FN_FD_LINK, attaches
 *                                   stream 1     (across exec)
 *       wait for HELLO  <----------------------  send HELLO
 *       N frames        ----------------------> check every frame
 *                                   stream 0     (seq, length, content)
 *       wait for SUMMARY <---------------------  send SUMMARY
 *       compare with what was sent               print a line, exit 0/1
 *
 * Placements: cross (P = first allowed cpu, C = second; skipped with one
 * cpu) and same (P = C = first allowed cpu).  Poll modes: busy, adaptive,
 * event (both sides).  Each frame carries its sequence number; its length
 * (16 .. slot_size) and every byte derive from it, so that loss,
 * duplication, reordering and corruption are all caught (the DPDK
 * check_updt_elem idea).  The consumer's summary (frames, bytes, checksum,
 * error counts) travels back on stream 1; the parent checks it against its
 * own tally and that every slot came home.
 *
 * Bounded: an alarm (--timeout, default 120 s) ends a stuck run in either
 * process, and the child dies with its parent (PR_SET_PDEATHSIG).
 *
 * usage: stream_stress [--placement cross|same|all] [--poll MODE|all]
 *                      [--count N] [--slots N] [--slot-size B]
 *                      [--timeout S] [--inject lose|dup|reorder|corrupt]
 * Exit: 0 passed, 1 failed, 77 skipped (cross-core on one cpu).
 *
 * --inject checks the checker: the producer damages the stream once, in
 * the middle, and the run passes only if the consumer reports exactly that
 * damage (lose: lost=1; dup: dup=1; reorder: lost=1 dup=1; corrupt:
 * corrupt=1).
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
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fragnet/clock.h"
#include "fragnet/names.h"
#include "fragnet/stats.h"
#include "fragnet/stream.h"

#define BURST		32
#define SUMMARY_MAGIC	0x5953534e46ull		/* "FNSSY" */
#define HELLO_MAGIC	0x4f4c4c454e46ull	/* "FNELLO" */
#define SLICE_NS	100000000		/* re-check the child this often */
#define EXIT_SKIP	77

enum inject { INJ_NONE, INJ_LOSE, INJ_DUP, INJ_REORDER, INJ_CORRUPT };
static const char *const inject_names[] = {
	"none", "lose", "dup", "reorder", "corrupt",
};

struct opts {
	enum inject inject;
	const char *placement;	/* "cross", "same", "all" */
	const char *poll;	/* mode name or "all" */
	uint64_t count;
	uint32_t slots;
	uint32_t slot_size;
	unsigned timeout;
	int cpu;		/* consumer only */
};

/* Sent back on stream 1 at the end. */
struct summary {
	uint64_t magic;
	uint64_t frames;
	uint64_t bytes;
	uint64_t csum;
	uint64_t lost;		/* frames skipped over */
	uint64_t dup;		/* seq seen before (dup or reordered) */
	uint64_t bad_len;
	uint64_t corrupt;	/* content differs */
	uint64_t elapsed_ns;	/* first frame to last */
	uint64_t sleeps;
	uint64_t wakeups;
};

static pid_t child_pid;
static bool child_reaped;
static int child_status;

/* --- the frame pattern ----------------------------------------------------- */

static uint32_t frame_len(uint64_t seq, uint32_t slot_size)
{
	return 16 + (uint32_t)((seq * 2654435761u) % (slot_size - 16 + 1));
}

static inline uint64_t pat(uint64_t seq, uint64_t k)
{
	uint64_t x = seq * 0x9e3779b97f4a7c15ull ^ (k + 1) * 0xbf58476d1ce4e5b9ull;

	return x ^ (x >> 29);
}

/* Word 0 is seq, word 1 the length and ~seq, then pat(seq, k) for every
 * 8-byte word k >= 2; the tail takes the low bytes of its word. */
static void frame_fill(uint8_t *d, uint64_t seq, uint32_t len)
{
	uint64_t w[2] = { seq, (uint64_t)len << 32 | (uint32_t)~seq };
	uint32_t k, words = len / 8;

	memcpy(d, w, 16);
	for (k = 2; k < words; k++) {
		uint64_t v = pat(seq, k);
		memcpy(d + 8 * k, &v, 8);
	}
	if (len % 8) {
		uint64_t v = pat(seq, k);
		memcpy(d + 8 * k, &v, len % 8);
	}
}

/* True if d holds exactly frame seq's content (len already checked). */
static bool frame_ok(const uint8_t *d, uint64_t seq, uint32_t len)
{
	uint64_t w[2] = { seq, (uint64_t)len << 32 | (uint32_t)~seq }, x = 0;
	uint32_t k, words = len / 8;

	if (memcmp(d, w, 16) != 0)
		return false;
	for (k = 2; k < words; k++) {
		uint64_t v;
		memcpy(&v, d + 8 * k, 8);
		x |= v ^ pat(seq, k);
	}
	if (len % 8) {
		uint64_t v = pat(seq, k), got = 0;
		memcpy(&got, d + 8 * k, len % 8);
		x |= (got ^ v) & ((1ull << (8 * (len % 8))) - 1);
	}
	return x == 0;
}

static uint64_t csum_add(uint64_t c, uint64_t seq, uint32_t len)
{
	return (c ^ (seq * 0x100000001b3ull + len)) * 0x100000001b3ull;
}

/* --- shared helpers -------------------------------------------------------- */

static int pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0) {
		fprintf(stderr, "stream_stress: sched_setaffinity(cpu%d): %s\n",
			cpu, strerror(errno));
		return -1;
	}
	return 0;
}

/* The first two cpus we may run on; cpus[1] = -1 if there is only one. */
static void allowed_cpus(int cpus[2])
{
	cpu_set_t set;
	int n = 0;

	cpus[0] = cpus[1] = -1;
	if (sched_getaffinity(0, sizeof(set), &set) < 0) {
		cpus[0] = 0;
		return;
	}
	for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
}

/* Send one small message (hello, summary) on tx; waits for a slot. */
static int send_msg(struct fn_endpoint *tx, const void *msg, uint32_t len)
{
	struct fn_pkt p;
	int r;

	while ((r = fn_stream_alloc_burst(tx, &p, 1)) == 0)
		if (fn_stream_wait(tx, SLICE_NS) < 0)
			return -EPIPE;
	if (r < 0)
		return r;
	memcpy(p.data, msg, len);
	p.len = len;
	return fn_stream_submit_burst(tx, &p, 1) == 1 ? 0 : -EPIPE;
}

/* --- consumer (side B, exec'd child) ---------------------------------------- */

static void consumer_check(struct summary *s, uint64_t *next,
			   const struct fn_pkt *p, uint32_t slot_size)
{
	uint64_t seq;

	if (p->len < 16) {
		s->bad_len++;
		return;
	}
	memcpy(&seq, p->data, 8);
	if (seq < *next) {
		s->dup++;
		return;
	}
	if (seq > *next)
		s->lost += seq - *next;
	*next = seq + 1;
	if (p->len != frame_len(seq, slot_size))
		s->bad_len++;
	else if (!frame_ok(p->data, seq, p->len))
		s->corrupt++;
	s->frames++;
	s->bytes += p->len;
	s->csum = csum_add(s->csum, seq, p->len);
}

static int consumer_main(const struct opts *o, enum fn_poll poll)
{
	struct fn_link l;
	struct fn_pkt p[BURST];
	struct summary s = { .magic = SUMMARY_MAGIC };
	uint64_t next = 0, hello = HELLO_MAGIC;
	int64_t t0 = 0;
	int fd, r;

	alarm(o->timeout);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		return 1;
	if (o->cpu >= 0 && pin_cpu(o->cpu) < 0)
		return 1;
	const char *e = getenv(FN_ENV_LINK_FD);
	fd = e ? atoi(e) : -1;
	r = fn_link_attach(&l, fd, FN_LINK_B, poll);
	if (r < 0) {
		fprintf(stderr, "consumer: attach fd %d: %s\n", fd, strerror(-r));
		return 1;
	}
	close(fd);
	if (send_msg(&l.tx, &hello, sizeof(hello)) < 0)
		goto broken;
	/* Until the last frame (a run that loses it ends by the alarm). */
	while (next < o->count) {
		int k = fn_stream_recv_burst(&l.rx, p, BURST);
		if (k < 0)
			goto broken;
		if (k == 0) {
			if (fn_stream_wait(&l.rx, SLICE_NS) < 0)
				goto broken;
			continue;
		}
		if (t0 == 0)
			t0 = fn_clock_ns();
		for (int i = 0; i < k; i++)
			consumer_check(&s, &next, &p[i], l.rx.slot_size);
		if (fn_stream_ack_burst(&l.rx, p, (unsigned)k) != k)
			goto broken;
	}
	s.elapsed_ns = (uint64_t)(fn_clock_ns() - t0);
	s.sleeps = fn_ctr_get(&l.rx.ctr[FN_SC_SLEEPS]);
	s.wakeups = fn_ctr_get(&l.rx.ctr[FN_SC_WAKEUPS]);
	if (send_msg(&l.tx, &s, sizeof(s)) < 0)
		goto broken;
	bool ok = s.lost + s.dup + s.bad_len + s.corrupt == 0 &&
		  s.frames == o->count;
	printf("consumer: frames=%" PRIu64 " bytes=%" PRIu64 " csum=%016" PRIx64
	       " lost=%" PRIu64 " dup=%" PRIu64 " bad_len=%" PRIu64
	       " corrupt=%" PRIu64 " sleeps=%" PRIu64 " wakeups=%" PRIu64
	       " -> %s\n", s.frames, s.bytes, s.csum, s.lost, s.dup,
	       s.bad_len, s.corrupt, s.sleeps, s.wakeups, ok ? "ok" : "FAIL");
	fflush(stdout);
	/* Wait until the parent has our summary (its ack), then go. */
	while (fn_stream_reclaim(&l.tx) >= 0 && l.tx.nfree < l.tx.nslots)
		if (fn_stream_wait(&l.tx, SLICE_NS) < 0)
			break;
	fn_link_detach(&l);
	return ok ? 0 : 1;

broken:
	fprintf(stderr, "consumer: link broken (rx bad_ring=%" PRIu64
		" bad_off=%" PRIu64 ")\n",
		fn_ctr_get(&l.rx.ctr[FN_SC_BAD_RING]),
		fn_ctr_get(&l.rx.ctr[FN_SC_BAD_OFF]));
	fn_link_detach(&l);
	return 1;
}

/* --- producer (side A, the parent) ------------------------------------------- */

static void on_alarm(int sig)
{
	static const char msg[] = "stream_stress: TIMEOUT, killing the run\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing to do */
	}
	if (child_pid > 0)
		kill(child_pid, SIGKILL);
	_exit(1);
}

static pid_t spawn_consumer(const struct opts *o, int fd, int cpu,
			    enum fn_poll poll)
{
	char count[32], fdstr[16], cpustr[16], tmo[16];
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	/* Child: the link on its fixed fd, everything else closed on exec. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	if (dup2(fd, FN_FD_LINK) < 0)
		_exit(1);
	snprintf(fdstr, sizeof(fdstr), "%d", FN_FD_LINK);
	setenv(FN_ENV_LINK_FD, fdstr, 1);
	snprintf(count, sizeof(count), "%" PRIu64, o->count);
	snprintf(cpustr, sizeof(cpustr), "%d", cpu);
	snprintf(tmo, sizeof(tmo), "%u", o->timeout);
	execl("/proc/self/exe", "stream_stress", "--consumer", cpustr,
	      "--poll", fn_poll_name(poll), "--count", count,
	      "--timeout", tmo, (char *)NULL);
	fprintf(stderr, "stream_stress: exec: %s\n", strerror(errno));
	_exit(1);
}

/* True once the child has exited (reaped here, status kept). */
static bool child_gone(void)
{
	if (!child_reaped &&
	    waitpid(child_pid, &child_status, WNOHANG) == child_pid)
		child_reaped = true;
	return child_reaped;
}

/* Receive one message of exactly len bytes on rx (hello, summary). */
static int recv_msg(struct fn_endpoint *rx, void *msg, uint32_t len)
{
	struct fn_pkt p;
	int r;

	while ((r = fn_stream_recv_burst(rx, &p, 1)) == 0) {
		if (fn_stream_wait(rx, SLICE_NS) < 0)
			return -EPIPE;
		if (fn_stream_pending(rx) == 0 && child_gone())
			return -ECHILD;
	}
	if (r < 0)
		return r;
	r = p.len == len ? 0 : -EBADMSG;
	if (r == 0)
		memcpy(msg, p.data, len);
	fn_stream_ack_burst(rx, &p, 1);
	return r;
}

struct result {
	struct summary s;	/* consumer's */
	uint64_t csum, bytes;	/* producer's */
	double secs;
};

static bool dup_done;	/* INJ_DUP: done in this run */

/* Which frame to send in place of *seq (self-test of the checker). */
static uint64_t inject(enum inject how, uint64_t mid, uint64_t *seq)
{
	if (how == INJ_LOSE && *seq == mid)
		++*seq;			/* mid is never sent */
	if (how == INJ_DUP && *seq == mid && !dup_done) {
		dup_done = true;
		return --*seq;		/* mid - 1 once more, then mid */
	}
	if (how == INJ_REORDER && *seq == mid)
		return mid + 1;
	if (how == INJ_REORDER && *seq == mid + 1)
		return mid;
	return *seq;
}

static int produce(struct fn_link *l, const struct opts *o, struct result *res)
{
	struct fn_pkt p[BURST];
	uint64_t seq = 0, mid = o->count / 2;
	int64_t t0 = fn_clock_ns();

	dup_done = false;

	while (seq < o->count) {
		unsigned want = o->count - seq < BURST ? o->count - seq : BURST;
		int k = fn_stream_alloc_burst(&l->tx, p, want);
		if (k < 0)
			return -EPIPE;
		if (k == 0) {
			if (fn_stream_wait(&l->tx, SLICE_NS) < 0)
				return -EPIPE;
			if (fn_stream_pending(&l->tx) == 0 && child_gone())
				return -ECHILD;
			continue;
		}
		for (int i = 0; i < k; i++, seq++) {
			uint64_t f = inject(o->inject, mid, &seq);
			p[i].len = frame_len(f, o->slot_size);
			frame_fill(p[i].data, f, p[i].len);
			if (o->inject == INJ_CORRUPT && seq == mid)
				p[i].data[p[i].len - 1] ^= 0x10;
			res->bytes += p[i].len;
			res->csum = csum_add(res->csum, seq, p[i].len);
		}
		if (fn_stream_submit_burst(&l->tx, p, (unsigned)k) != k)
			return -EPIPE;
	}
	int r = recv_msg(&l->rx, &res->s, sizeof(res->s));
	if (r < 0)
		return r;
	res->secs = (double)(fn_clock_ns() - t0) / 1e9;
	/* Every slot must come home. */
	while (fn_stream_reclaim(&l->tx) >= 0 && l->tx.nfree < l->tx.nslots)
		if (fn_stream_wait(&l->tx, SLICE_NS) <= 0)
			break;
	return l->tx.nfree == l->tx.nslots ? 0 : -EPIPE;
}

static bool summary_ok(const struct result *r, const struct opts *o)
{
	const struct summary *s = &r->s;

	switch (o->inject) {
	case INJ_LOSE:
		return s->lost == 1 && s->dup == 0 && s->corrupt == 0 &&
		       s->frames == o->count - 1;
	case INJ_DUP:
		return s->dup == 1 && s->lost == 0 && s->corrupt == 0 &&
		       s->frames == o->count;
	case INJ_REORDER:
		return s->lost == 1 && s->dup == 1 && s->corrupt == 0;
	case INJ_CORRUPT:
		return s->corrupt == 1 && s->lost == 0 && s->dup == 0 &&
		       s->csum == r->csum;
	case INJ_NONE:
		break;
	}
	return s->magic == SUMMARY_MAGIC && s->frames == o->count &&
	       s->bytes == r->bytes && s->csum == r->csum && s->lost == 0 &&
	       s->dup == 0 && s->bad_len == 0 && s->corrupt == 0;
}

/* One run: returns 0 passed, 1 failed, EXIT_SKIP skipped. */
static int run_one(const struct opts *o, bool cross, enum fn_poll poll)
{
	char name[64];
	struct fn_link l;
	struct result res = { 0 };
	uint64_t hello = 0;
	int cpus[2], fd, r;

	snprintf(name, sizeof(name), "%s-core %s", cross ? "cross" : "same",
		 fn_poll_name(poll));
	allowed_cpus(cpus);
	if (cross && cpus[1] < 0) {
		printf("%-20s SKIP: cross-core needs two cpus, only cpu%d is "
		       "available\n", name, cpus[0]);
		return EXIT_SKIP;
	}
	int pcpu = cpus[0], ccpu = cross ? cpus[1] : cpus[0];

	fd = fn_link_create("stream-stress", o->slots, o->slot_size);
	if (fd < 0) {
		fprintf(stderr, "fn_link_create: %s\n", strerror(-fd));
		return 1;
	}
	r = fn_link_attach(&l, fd, FN_LINK_A, poll);
	if (r < 0) {
		fprintf(stderr, "fn_link_attach: %s\n", strerror(-r));
		close(fd);
		return 1;
	}
	fflush(stdout);
	child_reaped = false;
	child_status = 0;
	child_pid = spawn_consumer(o, fd, ccpu, poll);
	close(fd);
	if (child_pid < 0) {
		perror("fork");
		fn_link_detach(&l);
		return 1;
	}
	signal(SIGALRM, on_alarm);
	alarm(o->timeout);
	cpu_set_t saved;
	sched_getaffinity(0, sizeof(saved), &saved);
	pin_cpu(pcpu);

	r = recv_msg(&l.rx, &hello, sizeof(hello));
	if (r == 0 && hello != HELLO_MAGIC)
		r = -EBADMSG;
	if (r == 0)
		r = produce(&l, o, &res);
	if (r < 0 && !child_gone())
		kill(child_pid, SIGKILL);
	if (!child_gone() && waitpid(child_pid, &child_status, 0) == child_pid)
		child_reaped = true;
	alarm(0);
	sched_setaffinity(0, sizeof(saved), &saved);
	child_pid = 0;
	int status = child_status;

	/* With --inject the consumer must fail, and say why. */
	bool ok = r == 0 && summary_ok(&res, o) && WIFEXITED(status) &&
		  WEXITSTATUS(status) == (o->inject ? 1 : 0);
	double secs = res.s.elapsed_ns ? res.s.elapsed_ns / 1e9 : res.secs;
	if (o->inject)
		printf("inject %s: consumer reported lost=%" PRIu64 " dup=%"
		       PRIu64 " corrupt=%" PRIu64 " -> %s\n",
		       inject_names[o->inject], res.s.lost, res.s.dup,
		       res.s.corrupt, ok ? "detected" : "NOT DETECTED");
	printf("%-20s cpu%d->cpu%d %10" PRIu64 " frames %7.2f s %7.3f Mfps "
	       "%6.2f Gbit/s  sleeps=%" PRIu64 " wakeups(tx)=%" PRIu64
	       " no_slot=%" PRIu64 "  %s\n",
	       name, pcpu, ccpu, res.s.frames, secs,
	       secs > 0 ? res.s.frames / secs / 1e6 : 0.0,
	       secs > 0 ? res.s.bytes * 8 / secs / 1e9 : 0.0, res.s.sleeps,
	       fn_ctr_get(&l.tx.ctr[FN_SC_WAKEUPS]),
	       fn_ctr_get(&l.tx.ctr[FN_SC_NOSLOT]), ok ? "ok" : "FAIL");
	if (!ok)
		fprintf(stderr, "%s: FAILED: %s; producer sent %" PRIu64
			" frames csum %016" PRIx64 ", consumer got %" PRIu64
			" csum %016" PRIx64 "; child %s %d\n", name,
			r == 0 ? "summary mismatch" : strerror(-r), o->count,
			res.csum, res.s.frames, res.s.csum,
			WIFEXITED(status) ? "exit" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status) :
					    WTERMSIG(status));
	fflush(stdout);
	fn_link_detach(&l);
	return ok ? 0 : 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: stream_stress [--placement cross|same|all] "
		"[--poll busy|adaptive|event|all]\n"
		"                     [--count N] [--slots N] [--slot-size B] "
		"[--timeout S]\n"
		"                     [--inject lose|dup|reorder|corrupt]\n");
}

static int parse(int argc, char **argv, struct opts *o, bool *consumer)
{
	static const struct option lo[] = {
		{ "placement", required_argument, NULL, 'p' },
		{ "poll", required_argument, NULL, 'm' },
		{ "count", required_argument, NULL, 'n' },
		{ "slots", required_argument, NULL, 's' },
		{ "slot-size", required_argument, NULL, 'z' },
		{ "timeout", required_argument, NULL, 't' },
		{ "consumer", required_argument, NULL, 'c' },
		{ "inject", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'p': o->placement = optarg; break;
		case 'm': o->poll = optarg; break;
		case 'n': o->count = strtoull(optarg, NULL, 0); break;
		case 's': o->slots = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'z': o->slot_size = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 't': o->timeout = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'c': *consumer = true; o->cpu = atoi(optarg); break;
		case 'i':
			for (int i = INJ_LOSE; i <= INJ_CORRUPT; i++)
				if (!strcmp(optarg, inject_names[i]))
					o->inject = (enum inject)i;
			if (!o->inject)
				return -1;
			break;
		case 'h': usage(stdout); exit(0);
		default: return -1;
		}
	}
	if (optind != argc || o->count == 0 || o->timeout == 0 ||
	    fn_link_size(o->slots, o->slot_size) == 0 || o->slot_size < 16)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {
		.placement = "all", .poll = "all", .count = 10000000,
		.slots = 256, .slot_size = 2048, .timeout = 120, .cpu = -1,
	};
	bool consumer = false;
	enum fn_poll poll;

	if (parse(argc, argv, &o, &consumer) < 0) {
		usage(stderr);
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (consumer) {
		if (fn_poll_parse(o.poll, &poll) < 0)
			return 1;
		return consumer_main(&o, poll);
	}

	bool all_p = strcmp(o.placement, "all") == 0;
	bool all_m = strcmp(o.poll, "all") == 0;
	if (!all_p && strcmp(o.placement, "cross") && strcmp(o.placement, "same")) {
		usage(stderr);
		return 1;
	}
	if (!all_m && fn_poll_parse(o.poll, &poll) < 0) {
		usage(stderr);
		return 1;
	}
	int ran = 0, failed = 0, skipped = 0;
	for (int cross = 1; cross >= 0; cross--) {
		if (!all_p && (cross != !strcmp(o.placement, "cross")))
			continue;
		for (int m = FN_POLL_BUSY; m <= FN_POLL_EVENT; m++) {
			if (!all_m && m != (int)poll)
				continue;
			int r = run_one(&o, cross, (enum fn_poll)m);
			ran++;
			failed += r == 1;
			skipped += r == EXIT_SKIP;
		}
	}
	if (failed)
		return 1;
	return skipped == ran ? EXIT_SKIP : 0;
}
