/*
 * fn-test-pinger - a stand-in driver that tests a stack over its link.
 *
 *   fn-test-pinger [--period-ms N] [--forge-after N]
 *
 * Spawned by the supervisor in the driver's place (names.h contract): side
 * A of FRAGNET_LINK_FD, the stack's address and the NIC's MAC from
 * FRAGNET_CONFIG.  It plays a small Ethernet segment of made-up peers
 * (02:fe:00:00:00:xx, hosts of the stack's /24 or wider subnet) and checks
 * every frame the stack sends, byte for byte.
 *
 * SCENARIO, run when the stack has joined the link (again after a reset):
 *   1. junk the stack must drop and count: a runt (10 bytes), a header-only
 *      frame, a frame longer than MTU + 18, an echo request to another
 *      unicast MAC.  An answer to any of them is "bad".
 *   2. ARP request from peer A for the stack's address: the reply must
 *      carry the NIC's MAC and be addressed to A.
 *   3. ICMP echo from A: the reply must come back with the same id, seq
 *      and payload, valid IP and ICMP checksums.
 *   4. learn (docs/architecture.md, shared IP): an ARP *reply* from B to the
 *      stack's address that the stack never asked for (another stack of
 *      the NIC asked), then an echo from B.  The stack must answer B at
 *      once, from its cache: an ARP request for B is a failure.
 *   5. resolve: an echo from peer C, never announced.  The stack must ask
 *      who-has C (broadcast, from the NIC's MAC); we answer, and the echo
 *      reply must follow.
 * Then, STEADY: an echo from A every period (default 10 ms), each checked.
 * Peers B and C are new hosts on every scenario, so that a scenario rerun
 * against the same stack still tests learning and resolution.
 *
 * --forge-after N: after N steady echo replies, put one descriptor with a
 * misaligned offset on the submit ring (once per process).  The stack must
 * cut the link off and survive; the supervisor's reset after this pinger
 * is killed brings the link back.
 *
 * Counters ("pinger.*" on the stats page) tell the test what happened; a
 * reset (the stack restarted) restarts the scenario.  SIGTERM: exit 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fragnet/clock.h"
#include "fragnet/env.h"
#include "fragnet/config.h"
#include "fragnet/log.h"
#include "fragnet/names.h"
#include "fragnet/stats.h"
#include "fragnet/stream.h"

#define BURST		16
#define STEP_TIMEOUT_NS	1000000000ll
#define MS		1000000ll
#define ETH_HLEN	14
#define ARP_LEN		(ETH_HLEN + 28)
#define IP_HLEN		20
#define ICMP_HLEN	8
#define ECHO_ID		0x4650
#define JUNK_ID		0x7777
#define PAYLOAD_MAX	1472	/* 1500 - IP - ICMP */
#define FRAME_MAX	2048

enum {
	P_SCENARIOS, P_SCENARIO_OK, P_ARP_OK, P_ECHO_SENT, P_ECHO_OK,
	P_LEARN_OK, P_LEARN_FAILED, P_RESOLVE_OK, P_JUNK_SENT, P_TIMEOUTS,
	P_BAD, P_UNEXPECTED, P_GRATUITOUS, P_RESETS, P_BROKEN, P_FORGED,
	P_COUNT
};
static const char *const pinger_names[P_COUNT] = {
	"scenarios", "scenario_ok", "arp_ok", "echo_sent", "echo_ok",
	"learn_ok", "learn_failed", "resolve_ok", "junk_sent", "timeouts",
	"bad", "unexpected", "gratuitous", "resets", "broken", "forged",
};

/* What the pinger waits for next. */
enum step {
	S_START,	/* until the stack joins the link */
	S_ARP,		/* 2: ARP reply to A */
	S_ECHO_A,	/* 3 */
	S_LEARN,	/* 4: echo reply to B, no ARP request */
	S_RESOLVE_ARP,	/* 5: who-has C */
	S_RESOLVE_ECHO,	/* 5: echo reply to C */
	S_STEADY,	/* echo reply to A, then the next after the period */
};

struct peer {
	uint8_t mac[6];
	uint32_t ip;		/* network order */
};

struct pinger {
	struct fn_link link;
	_Atomic uint64_t *ctr;
	uint8_t stack_mac[6];
	uint32_t stack_ip, net, mask;	/* network order */
	struct peer a, b, c;
	enum step step;
	int64_t deadline;	/* of the step, or of the next steady echo */
	bool waiting;		/* STEADY: an echo is out */
	uint16_t seq;
	uint32_t attempt;	/* scenarios started: picks B and C */
	int64_t period_ns;
	uint64_t forge_after;	/* 0: never */
	bool broken;
};

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static void count(struct pinger *p, int c)
{
	fn_ctr_add(&p->ctr[c], 1);
}

/* ---- frames -------------------------------------------------------------- */

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

/* RFC 1071: the one's complement sum; 0 over data that holds its sum. */
static uint16_t csum(const uint8_t *b, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += get16(b + i);
	if (len & 1)
		sum += (uint32_t)b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void eth_put(uint8_t *f, const uint8_t *dst, const uint8_t *src,
		    uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	put16(f + 12, type);
}

static uint32_t arp_build(uint8_t *f, const uint8_t *edst, uint16_t op,
			  const uint8_t *sha, uint32_t spa, const uint8_t *tha,
			  uint32_t tpa)
{
	uint8_t *a = f + ETH_HLEN;

	eth_put(f, edst, sha, 0x0806);
	put16(a, 1);			/* Ethernet */
	put16(a + 2, 0x0800);		/* IPv4 */
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, sha, 6);
	memcpy(a + 14, &spa, 4);
	memcpy(a + 18, tha, 6);
	memcpy(a + 24, &tpa, 4);
	return ARP_LEN;
}

static uint8_t pattern(uint16_t seq, size_t i)
{
	return (uint8_t)(seq * 31 + i);
}

static size_t payload_len(uint16_t seq)
{
	return 8 + (size_t)seq * 97 % (PAYLOAD_MAX - 7);
}

/* An echo request from peer `from` to the stack (at MAC edst). */
static uint32_t echo_build(uint8_t *f, const uint8_t *edst,
			   const struct peer *from, uint32_t dst_ip,
			   uint16_t id, uint16_t seq, size_t plen)
{
	uint8_t *ip = f + ETH_HLEN, *ic = ip + IP_HLEN;

	eth_put(f, edst, from->mac, 0x0800);
	memset(ip, 0, IP_HLEN);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(IP_HLEN + ICMP_HLEN + plen));
	put16(ip + 4, seq);
	ip[8] = 64;
	ip[9] = 1;
	memcpy(ip + 12, &from->ip, 4);
	memcpy(ip + 16, &dst_ip, 4);
	put16(ip + 10, csum(ip, IP_HLEN));
	ic[0] = 8;
	ic[1] = 0;
	put16(ic + 2, 0);
	put16(ic + 4, id);
	put16(ic + 6, seq);
	for (size_t i = 0; i < plen; i++)
		ic[ICMP_HLEN + i] = pattern(seq, i);
	put16(ic + 2, csum(ic, ICMP_HLEN + plen));
	return (uint32_t)(ETH_HLEN + IP_HLEN + ICMP_HLEN + plen);
}

/* ---- link ---------------------------------------------------------------- */

/* Send one frame; false if it could not go out (no slot, link trouble). */
static bool frame_send(struct pinger *p, const uint8_t *f, uint32_t len)
{
	struct fn_pkt pkt;
	int n = fn_stream_alloc_burst(&p->link.tx, &pkt, 1);

	if (n == 1 && len <= pkt.len) {
		memcpy(pkt.data, f, len);
		pkt.len = len;
		n = fn_stream_submit_burst(&p->link.tx, &pkt, 1);
	} else if (n == 1) {
		fn_stream_release(&p->link.tx, &pkt, 1);
		n = 0;
	}
	if (n == -ECONNRESET)
		p->step = S_START;
	return n == 1;
}

static bool send_echo(struct pinger *p, const struct peer *from,
		      uint16_t seq)
{
	uint8_t f[FRAME_MAX];
	uint32_t len = echo_build(f, p->stack_mac, from, p->stack_ip, ECHO_ID,
				  seq, payload_len(seq));

	count(p, P_ECHO_SENT);
	return frame_send(p, f, len);
}

static void send_arp(struct pinger *p, const uint8_t *edst, uint16_t op,
		     const struct peer *from)
{
	uint8_t f[ARP_LEN];

	arp_build(f, edst, op, from->mac, from->ip, p->stack_mac, p->stack_ip);
	frame_send(p, f, ARP_LEN);
}

/* ---- checks -------------------------------------------------------------- */

/* An echo reply from the stack to `to`, matching seq: 1; another echo
 * reply: -1 (bad); not an echo reply: 0. */
static int echo_check(const struct pinger *p, const uint8_t *f, uint32_t len,
		      const struct peer *to, uint16_t seq)
{
	const uint8_t *ip = f + ETH_HLEN, *ic = ip + IP_HLEN;
	size_t plen = payload_len(seq);

	if (len < ETH_HLEN + IP_HLEN + ICMP_HLEN || get16(f + 12) != 0x0800 ||
	    ip[9] != 1 || ic[0] != 0)
		return 0;
	if ((ip[0] != 0x45 || get16(ic + 4) == JUNK_ID || get16(ic + 4) != ECHO_ID ||
	     get16(ic + 6) != seq || memcmp(f, to->mac, 6) ||
	     memcmp(f + 6, p->stack_mac, 6) || memcmp(ip + 12, &p->stack_ip, 4) ||
	     memcmp(ip + 16, &to->ip, 4) || csum(ip, IP_HLEN) != 0 ||
	     get16(ip + 2) != IP_HLEN + ICMP_HLEN + plen ||
	     len < ETH_HLEN + IP_HLEN + ICMP_HLEN + plen ||
	     csum(ic, ICMP_HLEN + plen) != 0))
		return -1;
	for (size_t i = 0; i < plen; i++)
		if (ic[ICMP_HLEN + i] != pattern(seq, i))
			return -1;
	return 1;
}

/* ARP from the stack: its op, after checking the sender fields; 0 if
 * not ARP, -1 if malformed or not from the stack. */
static int arp_op(const struct pinger *p, const uint8_t *f, uint32_t len)
{
	const uint8_t *a = f + ETH_HLEN;

	if (len < ARP_LEN || get16(f + 12) != 0x0806)
		return 0;
	if (get16(a) != 1 || get16(a + 2) != 0x0800 || a[4] != 6 || a[5] != 4 ||
	    memcmp(f + 6, p->stack_mac, 6) || memcmp(a + 8, p->stack_mac, 6) ||
	    memcmp(a + 14, &p->stack_ip, 4))
		return -1;
	return get16(a + 6);
}

static bool arp_target_is(const uint8_t *f, const struct peer *t, bool mac)
{
	const uint8_t *a = f + ETH_HLEN;

	return !memcmp(a + 24, &t->ip, 4) && (!mac || !memcmp(a + 18, t->mac, 6));
}

/* ---- scenario ------------------------------------------------------------ */

static uint32_t host_ip(const struct pinger *p, uint32_t host)
{
	uint32_t ip = htonl(ntohl(p->net) | host);

	if (ip == p->stack_ip)
		ip = htonl(ntohl(ip) + 1);
	return ip;
}

static void peer_set(struct pinger *p, struct peer *x, uint8_t tag,
		     uint32_t host)
{
	static const uint8_t base[6] = { 0x02, 0xfe, 0, 0, 0, 0 };

	memcpy(x->mac, base, 6);
	x->mac[4] = (uint8_t)(host >> 8);
	x->mac[5] = (uint8_t)host;
	x->mac[3] = tag;
	x->ip = host_ip(p, host);
}

static void goto_step(struct pinger *p, enum step s)
{
	p->step = s;
	p->deadline = fn_clock_ns() + STEP_TIMEOUT_NS;
}

/* 1. junk, then 2. the ARP request from A. */
static void scenario_start(struct pinger *p)
{
	static const uint8_t other[6] = { 0x02, 0xfe, 0xee, 0, 0, 0x77 };
	uint8_t f[FRAME_MAX] = { 0 };
	uint32_t big = p->link.tx.slot_size < FRAME_MAX ? p->link.tx.slot_size :
							  FRAME_MAX;

	count(p, P_SCENARIOS);
	p->attempt++;
	peer_set(p, &p->b, 0xb, 100 + p->attempt % 50);
	peer_set(p, &p->c, 0xc, 150 + p->attempt % 50);
	frame_send(p, f, 10);
	frame_send(p, f, ETH_HLEN);
	echo_build(f, p->stack_mac, &p->a, p->stack_ip, JUNK_ID, 1, 64);
	if (big > 1518)		/* MTU 1500 + Ethernet + VLAN */
		frame_send(p, f, big);
	echo_build(f, other, &p->a, p->stack_ip, JUNK_ID, 2, 64);
	frame_send(p, f, ETH_HLEN + IP_HLEN + ICMP_HLEN + 64);
	fn_ctr_add(&p->ctr[P_JUNK_SENT], big > 1518 ? 4 : 3);
	send_arp(p, bcast, 1, &p->a);
	goto_step(p, S_ARP);
}

static void steady_echo(struct pinger *p)
{
	p->seq++;
	p->waiting = send_echo(p, &p->a, p->seq);
	p->deadline = fn_clock_ns() +
		      (p->waiting ? STEP_TIMEOUT_NS : p->period_ns);
}

/* A hostile driver: a descriptor whose offset is no slot's.  Straight
 * onto the submit ring, past the stream library that would refuse it. */
static void forge(struct pinger *p)
{
	struct fn_desc bad = { .off = 3, .len = 60 };

	if (fn_ring_enqueue_burst(&p->link.tx.data, &bad, 1) != 1)
		return;
	fn_ring_wake(&p->link.tx.data);
	count(p, P_FORGED);
	fn_info("forged a descriptor (offset 3): the stack must cut us off");
}

/* The frame the current step waits for.  True: the step is done. */
static bool step_frame(struct pinger *p, const uint8_t *f, uint32_t len,
		       int op)
{
	switch (p->step) {
	case S_ARP:
		return op == 2 && arp_target_is(f, &p->a, true) &&
		       !memcmp(f, p->a.mac, 6);
	case S_ECHO_A:
	case S_STEADY:
		return echo_check(p, f, len, &p->a, p->seq) == 1;
	case S_LEARN:
		return echo_check(p, f, len, &p->b, p->seq) == 1;
	case S_RESOLVE_ARP:
		return op == 1 && arp_target_is(f, &p->c, false) &&
		       !memcmp(f, bcast, 6);
	case S_RESOLVE_ECHO:
		return echo_check(p, f, len, &p->c, p->seq) == 1;
	default:
		return false;
	}
}

static void step_next(struct pinger *p)
{
	switch (p->step) {
	case S_ARP:
		count(p, P_ARP_OK);
		p->seq++;
		send_echo(p, &p->a, p->seq);
		goto_step(p, S_ECHO_A);
		break;
	case S_ECHO_A:
		count(p, P_ECHO_OK);
		/* B answers a request the stack never made (another did). */
		send_arp(p, p->stack_mac, 2, &p->b);
		p->seq++;
		send_echo(p, &p->b, p->seq);
		goto_step(p, S_LEARN);
		break;
	case S_LEARN:
		count(p, P_ECHO_OK);
		count(p, P_LEARN_OK);
		p->seq++;
		send_echo(p, &p->c, p->seq);
		goto_step(p, S_RESOLVE_ARP);
		break;
	case S_RESOLVE_ARP:
		send_arp(p, p->stack_mac, 2, &p->c);
		goto_step(p, S_RESOLVE_ECHO);
		break;
	case S_RESOLVE_ECHO:
		count(p, P_ECHO_OK);
		count(p, P_RESOLVE_OK);
		count(p, P_SCENARIO_OK);
		fn_info("scenario %u ok: ARP, echo, learn, resolve", p->attempt);
		p->step = S_STEADY;
		steady_echo(p);
		break;
	case S_STEADY:
		count(p, P_ECHO_OK);
		p->waiting = false;
		p->deadline = fn_clock_ns() + p->period_ns;
		if (p->forge_after && !fn_ctr_get(&p->ctr[P_FORGED]) &&
		    fn_ctr_get(&p->ctr[P_ECHO_OK]) >= p->forge_after)
			forge(p);
		break;
	default:
		break;
	}
}

/* A frame the step did not wait for. */
static void frame_other(struct pinger *p, const uint8_t *f, uint32_t len,
			int op)
{
	const uint8_t *a = f + ETH_HLEN;

	if (op == 1 && !memcmp(a + 14, a + 24, 4)) {
		count(p, P_GRATUITOUS);		/* netif up: harmless */
	} else if (op == 1 && p->step == S_LEARN && arp_target_is(f, &p->b, false)) {
		count(p, P_LEARN_FAILED);
		fn_warn("learn failed: the stack asks who-has B; it ignored "
			"the ARP reply meant for another stack");
		send_arp(p, p->stack_mac, 2, &p->b);	/* let it go on */
	} else if (op == 1 && arp_target_is(f, &p->a, false)) {
		send_arp(p, p->stack_mac, 2, &p->a);	/* re-request: answer */
	} else if (op < 0 || echo_check(p, f, len, &p->a, p->seq) < 0 ||
		   (len >= ETH_HLEN + IP_HLEN + ICMP_HLEN &&
		    get16(f + 12) == 0x0800 && get16(f + 38) == JUNK_ID)) {
		count(p, P_BAD);
		fn_warn("bad frame (%u bytes) in step %d", len, p->step);
	} else {
		count(p, P_UNEXPECTED);
		fn_debug("unexpected frame (%u bytes, type 0x%04x) in step %d",
			 len, len >= 14 ? get16(f + 12) : 0, p->step);
	}
}

static void frame_in(struct pinger *p, const uint8_t *f, uint32_t len)
{
	int op = arp_op(p, f, len);

	if (op >= 0 && p->step != S_START && step_frame(p, f, len, op))
		step_next(p);
	else
		frame_other(p, f, len, op);
}

/* ---- loop ---------------------------------------------------------------- */

static int pinger_rx(struct pinger *p)
{
	static uint8_t copy[BURST][FN_LINK_MAX_SLOT];
	struct fn_pkt in[BURST];
	uint32_t len[BURST];
	int n = fn_stream_recv_burst(&p->link.rx, in, BURST), r;

	if (n <= 0)
		return n;
	for (int i = 0; i < n; i++) {
		len[i] = in[i].len;
		memcpy(copy[i], in[i].data, len[i]);	/* copy, then check */
	}
	r = fn_stream_ack_burst(&p->link.rx, in, (unsigned)n);
	for (int i = 0; i < n; i++)
		frame_in(p, copy[i], len[i]);
	return r < 0 ? r : n;
}

static void pinger_timer(struct pinger *p)
{
	if (p->step == S_START) {
		if (fn_link_peer_ready(&p->link))
			scenario_start(p);
		return;
	}
	if (fn_clock_ns() < p->deadline)
		return;
	if (p->step == S_STEADY && !p->waiting) {
		steady_echo(p);
		return;
	}
	count(p, P_TIMEOUTS);
	fn_warn("timeout in step %d: scenario again", p->step);
	p->step = S_START;
}

static void pinger_error(struct pinger *p, int r)
{
	if (r == -ECONNRESET) {
		count(p, P_RESETS);
		fn_info("link reset: the stack restarted; scenario again");
		p->step = S_START;
		p->broken = false;
	} else if (r < 0 && !p->broken) {
		count(p, P_BROKEN);
		fn_warn("the stack broke the link protocol");
		p->broken = true;
	}
}

static void pinger_run(struct pinger *p)
{
	while (!stopping) {
		int r = p->broken ? 0 : pinger_rx(p);
		int64_t wait;

		if (r < 0)
			pinger_error(p, r);
		if (!p->broken)
			pinger_timer(p);
		if (r != 0)
			continue;
		wait = p->step == S_START ? MS : p->deadline - fn_clock_ns();
		wait = wait < 0 ? 0 : wait > 10 * MS ? 10 * MS : wait;
		r = fn_stream_wait(&p->link.rx, wait);
		if (r < 0)
			pinger_error(p, r);
		if (r == -EPIPE) {
			struct timespec ts = { 0, 10 * MS };
			nanosleep(&ts, NULL);
		}
	}
}

/* ---- setup --------------------------------------------------------------- */

static int config_read(struct pinger *p)
{
	static struct fn_config cfg;
	char err[FN_CONFIG_ERR_MAX];
	const char *path = getenv(FN_ENV_CONFIG);
	const char *pl = getenv(FN_ENV_PIPELINE);
	int pipeline = pl && *pl != '-' ? atoi(pl) : -1;
	struct fn_ip4 a;

	if (!path || fn_config_load(&cfg, path, err) < 0) {
		fn_err("config: %s", path ? err : "FRAGNET_CONFIG not set");
		return -EINVAL;
	}
	/* The stack's uplink, as it takes it (per [stack] addressing). */
	fn_config_uplink(&cfg, pipeline, &a, p->stack_mac);
	if (a.prefix > 24) {
		fn_err("the stack's prefix must be /24 or wider (peers .10-.200)");
		return -EINVAL;
	}
	p->stack_ip = a.addr;
	p->mask = htonl(~0u << (32 - a.prefix));
	p->net = p->stack_ip & p->mask;
	peer_set(p, &p->a, 0xa, 10);
	return 0;
}

static int setup(struct pinger *p)
{
	int fd = fn_env_fd(FN_ENV_STATS_FD), err;
	struct fn_stats_page *page = fd >= 0 ? fn_stats_attach(fd) : NULL;
	_Atomic uint64_t *tx, *rx;

	p->ctr = fn_stats_block(page, "pinger", pinger_names, P_COUNT);
	if (!p->ctr || config_read(p) < 0)
		return -EINVAL;
	fd = fn_env_fd(FN_ENV_LINK_FD);
	err = fd < 0 ? -EBADF : fn_link_attach(&p->link, fd, FN_LINK_A,
					       FN_POLL_EVENT);
	if (err < 0) {
		fn_err("link: %s", strerror(-err));
		return err;
	}
	tx = fn_stats_block(page, "link.tx", fn_stream_ctr_names, FN_SC_COUNT);
	rx = fn_stats_block(page, "link.rx", fn_stream_ctr_names, FN_SC_COUNT);
	fn_stream_bind_counters(&p->link.tx, tx);
	fn_stream_bind_counters(&p->link.rx, rx);
	return 0;
}

int main(int argc, char **argv)
{
	static struct pinger p = { .period_ns = 10 * MS };
	struct sigaction sa = { .sa_handler = on_term };
	const char *pl = getenv(FN_ENV_PIPELINE);

	fn_log_init("test-pinger", pl && *pl != '-' ? atoi(pl) : -1,
		    FN_LOG_DEFAULT);
	for (int i = 1; i < argc; i += 2) {
		long v = i + 1 < argc ? atol(argv[i + 1]) : 0;

		if (!strcmp(argv[i], "--period-ms") && v > 0) {
			p.period_ns = v * MS;
		} else if (!strcmp(argv[i], "--forge-after") && v > 0) {
			p.forge_after = (uint64_t)v;
		} else {
			fprintf(stderr, "usage: fn-test-pinger [--period-ms N] "
				"[--forge-after N]\n");
			return 2;
		}
	}
	sigaction(SIGTERM, &sa, NULL);	/* no SA_RESTART: waits return */
	sigaction(SIGINT, &sa, NULL);
	if (setup(&p) < 0)
		return 1;
	fn_info("running: stack at %02x:%02x:%02x:%02x:%02x:%02x",
		p.stack_mac[0], p.stack_mac[1], p.stack_mac[2], p.stack_mac[3],
		p.stack_mac[4], p.stack_mac[5]);
	pinger_run(&p);
	fn_info("stopping: %llu scenarios ok, %llu echoes ok, %llu bad",
		(unsigned long long)fn_ctr_get(&p.ctr[P_SCENARIO_OK]),
		(unsigned long long)fn_ctr_get(&p.ctr[P_ECHO_OK]),
		(unsigned long long)fn_ctr_get(&p.ctr[P_BAD]));
	fn_link_detach(&p.link);
	return 0;
}
