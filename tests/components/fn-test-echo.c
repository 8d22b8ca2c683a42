/*
 * fn-test-echo - a stand-in component for the integration tests.
 *
 *   fn-test-echo [--generate] [--ignore-term]
 *
 * Spawned by the supervisor like any component (names.h contract).  It
 * attaches its stats page (FRAGNET_STATS_FD) and registers "echo.*"
 * counters, plus "link.tx.*" / "link.rx.*" when it has a link.  As a driver
 * (FRAGNET_COMPONENT=driver) it is side A of FRAGNET_LINK_FD, as a stack
 * side B; as anything else it just ticks.
 *
 *   default      reflect: every frame received goes back on the other
 *                stream, copied into a fresh slot.
 *   --generate   also send a small burst of patterned frames every 10 ms
 *                and check the pattern of what comes back.
 *   --ignore-term  ignore SIGTERM, to test the supervisor's SIGKILL.
 *
 * SIGTERM ends it cleanly (exit 0).  A peer that breaks the link protocol
 * turns the link off (echo.broken) until the link is reset.  When the peer
 * dies and the supervisor resets the link, every call reports -ECONNRESET
 * once (echo.resets): frames in hand are dropped and the echo goes on with
 * the restarted peer.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fragnet/clock.h"
#include "fragnet/env.h"
#include "fragnet/log.h"
#include "fragnet/names.h"
#include "fragnet/stats.h"
#include "fragnet/stream.h"

#define BURST		8
#define GEN_PERIOD_NS	10000000ll
#define IDLE_NS		100000000ll

enum { E_LOOPS, E_RX, E_TX, E_DROPPED, E_BAD, E_BROKEN, E_RESETS, E_COUNT };
static const char *const echo_names[E_COUNT] = {
	"loops", "rx_frames", "tx_frames", "dropped", "bad_pattern", "broken",
	"resets",
};

struct echo {
	struct fn_link link;
	bool have_link;
	bool broken;
	bool generate;
	uint32_t seq;
	int64_t next_gen_ns;
	_Atomic uint64_t *ctr;		/* E_COUNT, a stats page block */
};

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static void pattern_fill(struct fn_pkt *p, uint32_t seq, uint32_t slot_size)
{
	uint32_t len = 64 + seq % 64;

	if (len > slot_size)
		len = slot_size;
	memcpy(p->data, &seq, sizeof(seq));
	memset(p->data + sizeof(seq), (int)(seq & 0xff), len - sizeof(seq));
	p->len = len;
}

/* Copy the frame out before checking it: the peer can still write it. */
static bool pattern_ok(const struct fn_pkt *p)
{
	uint8_t copy[FN_LINK_MAX_SLOT];
	uint32_t seq;

	if (p->len < sizeof(seq) || p->len > sizeof(copy))
		return false;
	memcpy(copy, p->data, p->len);
	memcpy(&seq, copy, sizeof(seq));
	if (p->len != 64 + seq % 64)
		return false;
	for (uint32_t i = sizeof(seq); i < p->len; i++)
		if (copy[i] != (uint8_t)(seq & 0xff))
			return false;
	return true;
}

static int echo_generate(struct echo *e)
{
	struct fn_pkt p[BURST];
	int n = fn_stream_alloc_burst(&e->link.tx, p, BURST);

	if (n <= 0)
		return n;
	for (int i = 0; i < n; i++)
		pattern_fill(&p[i], e->seq++, e->link.tx.slot_size);
	n = fn_stream_submit_burst(&e->link.tx, p, (unsigned)n);
	if (n > 0)
		fn_ctr_add(&e->ctr[E_TX], (uint64_t)n);
	return n;
}

/* Reflect what arrived (or, when generating, check it). */
static int echo_receive(struct echo *e)
{
	struct fn_pkt in[BURST], out[BURST];
	int n = fn_stream_recv_burst(&e->link.rx, in, BURST), m = 0;

	if (n <= 0)
		return n;
	fn_ctr_add(&e->ctr[E_RX], (uint64_t)n);
	if (e->generate) {
		for (int i = 0; i < n; i++)
			if (!pattern_ok(&in[i]))
				fn_ctr_add(&e->ctr[E_BAD], 1);
	} else {
		m = fn_stream_alloc_burst(&e->link.tx, out, (unsigned)n);
		if (m < 0)
			return m;	/* a reset voids `in` too */
		for (int i = 0; i < m; i++) {
			memcpy(out[i].data, in[i].data, in[i].len);
			out[i].len = in[i].len;
		}
		int r = m > 0 ? fn_stream_submit_burst(&e->link.tx, out,
						       (unsigned)m) : 0;
		if (r < 0)
			return r;
		fn_ctr_add(&e->ctr[E_TX], m > 0 ? (uint64_t)m : 0);
		fn_ctr_add(&e->ctr[E_DROPPED], (uint64_t)(n - (m > 0 ? m : 0)));
	}
	return fn_stream_ack_burst(&e->link.rx, in, (unsigned)n);
}

static int echo_step(struct echo *e)
{
	int64_t now = fn_clock_ns();
	int n;

	if (e->generate && now >= e->next_gen_ns) {
		e->next_gen_ns = now + GEN_PERIOD_NS;
		n = echo_generate(e);
		if (n < 0)
			return n;
	}
	n = echo_receive(e);
	if (n < 0)
		return n;
	if (n == 0) {
		int64_t wait = e->generate ? e->next_gen_ns - fn_clock_ns()
					   : IDLE_NS;
		n = fn_stream_wait(&e->link.rx, wait > 0 ? wait : 0);
		if (n < 0)
			return n;
	}
	return 0;
}

static void idle(void)
{
	struct timespec ts = { .tv_nsec = IDLE_NS };

	nanosleep(&ts, NULL);	/* SIGTERM cuts it short */
}

/* A broken link stays off until a reset; only the wait notices that. */
static int echo_wait_reset(struct echo *e)
{
	int r = fn_stream_wait(&e->link.rx, IDLE_NS);

	if (r != -ECONNRESET)
		idle();
	return r;
}

static void echo_run(struct echo *e)
{
	while (!stopping) {
		fn_ctr_add(&e->ctr[E_LOOPS], 1);
		if (!e->have_link) {
			idle();
			continue;
		}
		int r = e->broken ? echo_wait_reset(e) : echo_step(e);
		if (r == -ECONNRESET) {
			fn_info("link reset (the peer restarted): frames in hand dropped");
			fn_ctr_add(&e->ctr[E_RESETS], 1);
			e->broken = false;
		} else if (r < 0 && !e->broken) {
			fn_warn("the peer broke the link protocol: link off until reset");
			e->broken = true;
			fn_ctr_add(&e->ctr[E_BROKEN], 1);
		}
	}
}

/* The link's own counters, moved onto the stats page. */
static int link_counters(struct echo *e, struct fn_stats_page *page)
{
	_Atomic uint64_t *tx = fn_stats_block(page, "link.tx",
					      fn_stream_ctr_names, FN_SC_COUNT);
	_Atomic uint64_t *rx = fn_stats_block(page, "link.rx",
					      fn_stream_ctr_names, FN_SC_COUNT);

	if (!tx || !rx)
		return -ENOSPC;
	fn_stream_bind_counters(&e->link.tx, tx);
	fn_stream_bind_counters(&e->link.rx, rx);
	return 0;
}

static int echo_link(struct echo *e, struct fn_stats_page *page)
{
	static const char *const roles[] = { "driver", "stack" };
	const char *comp = getenv(FN_ENV_COMPONENT);
	int fd = fn_env_fd(FN_ENV_LINK_FD), err;
	enum fn_poll poll = FN_POLL_EVENT;

	if (fd < 0 || !comp ||
	    (strcmp(comp, roles[0]) != 0 && strcmp(comp, roles[1]) != 0))
		return 0;
	if (getenv(FN_ENV_POLL))
		fn_poll_parse(getenv(FN_ENV_POLL), &poll);
	err = fn_link_attach(&e->link, fd, strcmp(comp, "driver") == 0 ?
			     FN_LINK_A : FN_LINK_B, poll);
	if (err < 0) {
		fn_err("cannot attach link fd %d: %s", fd, strerror(-err));
		return err;
	}
	e->have_link = true;
	return link_counters(e, page);
}

static int parse_args(int argc, char **argv, struct echo *e, bool *ignore)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--generate") == 0) {
			e->generate = true;
		} else if (strcmp(argv[i], "--ignore-term") == 0) {
			*ignore = true;
		} else {
			fprintf(stderr, "usage: fn-test-echo [--generate] "
				"[--ignore-term]\n");
			return -EINVAL;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct echo e;
	struct sigaction sa = { .sa_handler = on_term };
	struct fn_stats_page *page = NULL;
	const char *pl = getenv(FN_ENV_PIPELINE);
	bool ignore = false;

	fn_log_init("test-echo", pl && *pl != '-' ? atoi(pl) : -1,
		    FN_LOG_DEFAULT);
	if (parse_args(argc, argv, &e, &ignore) < 0)
		return 2;
	sa.sa_handler = ignore ? SIG_IGN : on_term;
	sigaction(SIGTERM, &sa, NULL);	/* no SA_RESTART: waits return */
	sigaction(SIGINT, &sa, NULL);
	page = fn_stats_attach_env();
	e.ctr = fn_stats_block(page, "echo", echo_names, E_COUNT);
	if (!e.ctr || echo_link(&e, page) < 0)
		return 1;
	fn_info("running (%s%s)", e.have_link ? "link" : "no link",
		e.generate ? ", generating" : "");
	echo_run(&e);
	fn_info("stopping: rx %llu tx %llu",
		(unsigned long long)fn_ctr_get(&e.ctr[E_RX]),
		(unsigned long long)fn_ctr_get(&e.ctr[E_TX]));
	if (e.have_link)
		fn_link_detach(&e.link);
	return 0;
}
