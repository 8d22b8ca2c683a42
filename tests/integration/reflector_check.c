/*
 * reflector_check.c - fn-test-reflector against hand-made and hostile
 * frames, over a real link, without DPDK or root.
 *
 *     this process (side A: the driver)          fn-test-reflector (side B)
 *     fn_link_create(), fn_stats_create()        exec'd with the link on
 *     fork + exec ----------------------------> FN_FD_LINK, stats on
 *                                                FN_FD_STATS, --address
 *       frame  ------------- stream 0 -------->  --mac
 *       reply? <------------ stream 1 ---------
 *
 * Cases, each checked for its reply (or none) and its counter:
 *   ARP request for us -> reply; for another address -> drop_arp
 *   UDP with and without checksum -> reflected, checksums right, payload
 *   unchanged; bad UDP checksum, bad IP checksum, fragment, other IP,
 *   other MAC, IPv6, TCP, options, padding; ICMP echo -> reply
 *   every truncation of a UDP frame -> no reply, counted
 *   20,000 random mutations of good frames -> every reply well formed,
 *   and rx = replies + drops
 *   a link reset -> counted once, reflecting goes on
 *   SIGTERM -> exit 0
 *
 * usage: reflector_check PATH-OF-fn-test-reflector
 * Bounded by alarm(60); the child dies with us (PR_SET_PDEATHSIG).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
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

#define PAGE		FN_STATS_PAGE_SIZE
#define REPLY_WAIT_NS	300000000ll	/* how long a reply may take */
#define NONE_WAIT_NS	20000000ll	/* how long we wait for no reply */
#define MUTATIONS	20000

static const uint8_t our_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x99 };
static const uint8_t our_ip[4] = { 10, 233, 0, 2 };
static const uint8_t peer_ip[4] = { 10, 233, 0, 1 };

static struct fn_link link_a;
static const struct fn_stats_page *page;
static pid_t child;
static int failures;

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);	\
		fprintf(stderr, __VA_ARGS__);				\
		fprintf(stderr, "\n");					\
		failures++;						\
	}								\
} while (0)

/* ---- frames ------------------------------------------------------------- */

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

static uint32_t sum16(uint32_t s, const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i + 1 < n; i += 2)
		s += get16(p + i);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint16_t l4_csum(const uint8_t *ip, uint8_t proto, const uint8_t *l4,
			uint32_t n)
{
	return fold(sum16(sum16(proto + n, ip + 12, 8), l4, n));
}

/* Ethernet + IPv4 (ihl words) to us; returns the IP header pointer. */
static uint8_t *ip_frame(uint8_t *f, uint8_t proto, uint32_t l4len, int ihl)
{
	uint8_t *ip = f + 14;

	memcpy(f, our_mac, 6);
	memcpy(f + 6, peer_mac, 6);
	put16(f + 12, 0x0800);
	memset(ip, 0, (size_t)ihl * 4);
	ip[0] = (uint8_t)(0x40 | ihl);
	put16(ip + 2, (uint16_t)(ihl * 4 + l4len));
	put16(ip + 4, 0x1234);
	put16(ip + 6, 0x4000);		/* DF */
	ip[8] = 7;
	ip[9] = proto;
	memcpy(ip + 12, peer_ip, 4);
	memcpy(ip + 16, our_ip, 4);
	if (ihl > 5)
		ip[20] = 1;		/* NOP options */
	put16(ip + 10, fold(sum16(0, ip, (uint32_t)ihl * 4)));
	return ip;
}

static uint32_t udp_frame(uint8_t *f, uint32_t plen, bool csum, int ihl)
{
	uint8_t *ip = ip_frame(f, 17, 8 + plen, ihl), *u = ip + ihl * 4;

	put16(u, 40000);
	put16(u + 2, 7777);
	put16(u + 4, (uint16_t)(8 + plen));
	put16(u + 6, 0);
	for (uint32_t i = 0; i < plen; i++)
		u[8 + i] = (uint8_t)(i * 13 + 5);
	if (csum) {
		uint16_t c = l4_csum(ip, 17, u, 8 + plen);
		put16(u + 6, c ? c : 0xffff);
	}
	return 14 + (uint32_t)ihl * 4 + 8 + plen;
}

static uint32_t icmp_frame(uint8_t *f, uint32_t plen)
{
	uint8_t *ip = ip_frame(f, 1, 8 + plen, 5), *c = ip + 20;

	memset(c, 0, 8);
	c[0] = 8;
	put16(c + 4, 0x42);
	put16(c + 6, 1);
	for (uint32_t i = 0; i < plen; i++)
		c[8 + i] = (uint8_t)i;
	put16(c + 2, fold(sum16(0, c, 8 + plen)));
	return 14 + 20 + 8 + plen;
}

static uint32_t arp_frame(uint8_t *f, const uint8_t tpa[4])
{
	uint8_t *a = f + 14;

	memset(f, 0xff, 6);
	memcpy(f + 6, peer_mac, 6);
	put16(f + 12, 0x0806);
	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, 1);
	memcpy(a + 8, peer_mac, 6);
	memcpy(a + 14, peer_ip, 4);
	memset(a + 18, 0, 6);
	memcpy(a + 24, tpa, 4);
	return 42;
}

/* ---- the link and the counters ------------------------------------------ */

struct ctr_find { const char *name; uint64_t value; bool found; };

static void ctr_visit(void *arg, const char *name, uint64_t value)
{
	struct ctr_find *f = arg;

	if (strcmp(name, f->name) == 0) {
		f->value = value;
		f->found = true;
	}
}

static uint64_t ctr(const char *name)
{
	char full[64];
	struct ctr_find f = { full, 0, false };

	snprintf(full, sizeof(full), "refl.%s", name);
	fn_stats_read(page, PAGE, ctr_visit, &f);
	if (!f.found)
		fprintf(stderr, "no counter %s\n", full);
	return f.value;
}

/* Send one frame; -ECONNRESET once after a reset is retried. */
static void send_frame(const uint8_t *f, uint32_t len)
{
	struct fn_pkt p;
	int64_t end = fn_clock_ns() + REPLY_WAIT_NS;
	int n;

	while ((n = fn_stream_alloc_burst(&link_a.tx, &p, 1)) != 1) {
		if (n < 0 && n != -ECONNRESET) {
			fprintf(stderr, "alloc: %s\n", strerror(-n));
			exit(1);
		}
		if (fn_clock_ns() > end) {
			fprintf(stderr, "no tx slot (the reflector has not joined?)\n");
			exit(1);
		}
		fn_stream_wait(&link_a.tx, 1000000);
	}
	memcpy(p.data, f, len);
	p.len = len;
	n = fn_stream_submit_burst(&link_a.tx, &p, 1);
	if (n != 1) {
		fprintf(stderr, "submit: %d\n", n);
		exit(1);
	}
}

/* The next reply into buf within wait_ns: its length, or 0. */
static uint32_t recv_frame(uint8_t *buf, int64_t wait_ns)
{
	int64_t end = fn_clock_ns() + wait_ns;
	struct fn_pkt p;
	uint32_t len;
	int n;

	while ((n = fn_stream_recv_burst(&link_a.rx, &p, 1)) != 1) {
		if (n < 0 && n != -ECONNRESET) {
			fprintf(stderr, "recv: %s\n", strerror(-n));
			exit(1);
		}
		if (fn_clock_ns() > end)
			return 0;
		fn_stream_wait(&link_a.rx, 1000000);
	}
	len = p.len;
	memcpy(buf, p.data, len);
	fn_stream_ack_burst(&link_a.rx, &p, 1);
	return len;
}

/* Send f; expect a reply (returned in r) or none (want_reply false) and
 * the named counter to go up by one. */
static uint32_t exchange(const char *what, const uint8_t *f, uint32_t len,
			 uint8_t *r, bool want_reply, const char *counter)
{
	uint64_t before = ctr(counter);
	uint32_t rlen;

	send_frame(f, len);
	rlen = recv_frame(r, want_reply ? REPLY_WAIT_NS : NONE_WAIT_NS);
	if (!want_reply) {
		/* No reply can be slower than our short wait: wait for the
		 * counter instead, which the reflector bumps before acking. */
		int64_t end = fn_clock_ns() + REPLY_WAIT_NS;
		while (ctr(counter) == before && fn_clock_ns() < end)
			usleep(1000);
	}
	CHECK(want_reply == (rlen > 0), "%s: %s", what,
	      want_reply ? "no reply" : "unexpected reply");
	CHECK(ctr(counter) == before + 1, "%s: %s did not go up by one (%llu -> %llu)",
	      what, counter, (unsigned long long)before,
	      (unsigned long long)ctr(counter));
	return rlen;
}

/* ---- checks of replies -------------------------------------------------- */

static void check_ip_reply(const char *what, const uint8_t *q, const uint8_t *r,
			   uint32_t rlen)
{
	const uint8_t *ip = r + 14;
	uint32_t hl = (ip[0] & 15u) * 4;

	CHECK(memcmp(r, peer_mac, 6) == 0 && memcmp(r + 6, our_mac, 6) == 0,
	      "%s: MACs not swapped", what);
	CHECK(memcmp(ip + 12, our_ip, 4) == 0 && memcmp(ip + 16, peer_ip, 4) == 0,
	      "%s: IPs not swapped", what);
	CHECK(fold(sum16(0, ip, hl)) == 0, "%s: bad IPv4 checksum", what);
	CHECK(rlen == 14u + get16(ip + 2), "%s: reply length %u", what, rlen);
	CHECK(ip[8] == 64, "%s: TTL %u", what, ip[8]);
	CHECK(memcmp(ip + 20, q + 34, hl - 20) == 0, "%s: options changed", what);
}

static void check_udp_reply(const char *what, const uint8_t *q, uint32_t qlen,
			    const uint8_t *r, uint32_t rlen)
{
	const uint8_t *ip = r + 14;
	uint32_t hl = (ip[0] & 15u) * 4;
	const uint8_t *u = ip + hl, *qu = q + 14 + hl;
	uint32_t ulen = get16(u + 4);

	check_ip_reply(what, q, r, rlen);
	CHECK(get16(u) == 7777 && get16(u + 2) == 40000, "%s: ports not swapped", what);
	CHECK(ulen == get16(qu + 4) && 14 + hl + ulen <= qlen, "%s: UDP length", what);
	CHECK(memcmp(u + 8, qu + 8, ulen - 8) == 0, "%s: payload changed", what);
	CHECK(get16(u + 6) == 0 || l4_csum(ip, 17, u, ulen) == 0,
	      "%s: bad UDP checksum", what);
}

/* ---- the cases ---------------------------------------------------------- */

static void test_arp(void)
{
	static const uint8_t other[4] = { 10, 233, 0, 3 };
	uint8_t f[128], r[2048];
	uint32_t len = arp_frame(f, our_ip), rlen;

	rlen = exchange("arp", f, len, r, true, "arp_replies");
	CHECK(rlen == 42, "arp: reply length %u", rlen);
	CHECK(memcmp(r, peer_mac, 6) == 0 && memcmp(r + 6, our_mac, 6) == 0,
	      "arp: Ethernet addresses");
	CHECK(get16(r + 20) == 2, "arp: op %u", get16(r + 20));
	CHECK(memcmp(r + 22, our_mac, 6) == 0 && memcmp(r + 28, our_ip, 4) == 0,
	      "arp: sender is not us");
	CHECK(memcmp(r + 32, peer_mac, 6) == 0 && memcmp(r + 38, peer_ip, 4) == 0,
	      "arp: target is not the asker");
	len = arp_frame(f, other);
	exchange("arp other", f, len, r, false, "drop_arp");
	len = arp_frame(f, our_ip);
	put16(f + 20, 2);
	exchange("arp reply to us", f, len, r, false, "drop_arp");
}

static void test_udp(void)
{
	uint8_t f[2048], r[2048];
	uint32_t len, rlen;

	len = udp_frame(f, 64, true, 5);
	rlen = exchange("udp", f, len, r, true, "udp_reflected");
	check_udp_reply("udp", f, len, r, rlen);
	len = udp_frame(f, 0, false, 5);
	rlen = exchange("udp no csum", f, len, r, true, "udp_reflected");
	check_udp_reply("udp no csum", f, len, r, rlen);
	len = udp_frame(f, 333, true, 7);
	rlen = exchange("udp options", f, len, r, true, "udp_reflected");
	check_udp_reply("udp options", f, len, r, rlen);
	len = udp_frame(f, 5, true, 5);
	memset(f + len, 0xee, 20);	/* Ethernet padding */
	rlen = exchange("udp padded", f, len + 20, r, true, "udp_reflected");
	check_udp_reply("udp padded", f, len, r, rlen);
	CHECK(rlen == len, "udp padded: padding sent back (%u)", rlen);
	len = udp_frame(f, 1472, true, 5);
	rlen = exchange("udp 1500", f, len, r, true, "udp_reflected");
	check_udp_reply("udp 1500", f, len, r, rlen);
}

static void test_icmp(void)
{
	uint8_t f[2048], r[2048];
	uint32_t len = icmp_frame(f, 56), rlen;

	rlen = exchange("icmp", f, len, r, true, "icmp_replies");
	check_ip_reply("icmp", f, r, rlen);
	CHECK(r[34] == 0 && fold(sum16(0, r + 34, len - 34)) == 0,
	      "icmp: not a good echo reply");
	CHECK(memcmp(r + 38, f + 38, len - 38) == 0, "icmp: id, seq or data changed");
	f[34] = 13;			/* timestamp request */
	put16(f + 36, 0);
	put16(f + 36, fold(sum16(0, f + 34, len - 34)));
	exchange("icmp timestamp", f, len, r, false, "drop_icmp");
	len = icmp_frame(f, 56);
	f[40] ^= 1;
	exchange("icmp bad csum", f, len, r, false, "drop_icmp");
}

static void refresh_ip_csum(uint8_t *f)
{
	put16(f + 24, 0);
	put16(f + 24, fold(sum16(0, f + 14, (f[14] & 15u) * 4)));
}

static void test_drops(void)
{
	uint8_t f[2048], r[2048];
	uint32_t len = udp_frame(f, 32, true, 5);

	f[len - 1] ^= 0x55;
	exchange("udp bad csum", f, len, r, false, "drop_udp_checksum");
	len = udp_frame(f, 32, true, 5);
	f[22] ^= 1;			/* TTL, checksum not fixed */
	exchange("ip bad csum", f, len, r, false, "drop_ip_checksum");
	len = udp_frame(f, 32, true, 5);
	put16(f + 20, 0x2000);		/* MF */
	refresh_ip_csum(f);
	exchange("fragment", f, len, r, false, "drop_ip_fragment");
	len = udp_frame(f, 32, true, 5);
	f[33] = 9;			/* destination 10.233.0.9 */
	refresh_ip_csum(f);
	exchange("not our ip", f, len, r, false, "drop_not_our_ip");
	len = udp_frame(f, 32, true, 5);
	memset(f + 26, 0xff, 4);	/* source broadcast */
	refresh_ip_csum(f);
	exchange("broadcast source", f, len, r, false, "drop_bad_source");
	len = udp_frame(f, 32, true, 5);
	f[5] = 0x77;
	exchange("not our mac", f, len, r, false, "drop_not_our_mac");
	len = udp_frame(f, 32, true, 5);
	put16(f + 12, 0x86dd);
	exchange("ipv6", f, len, r, false, "drop_ethertype");
	len = udp_frame(f, 32, true, 5);
	f[23] = 6;			/* TCP */
	refresh_ip_csum(f);
	exchange("tcp", f, len, r, false, "drop_ip_proto");
	len = udp_frame(f, 32, true, 5);
	put16(f + 16, (uint16_t)(get16(f + 16) + 1));	/* beyond the frame */
	refresh_ip_csum(f);
	exchange("ip too long", f, len, r, false, "drop_ip_header");
	len = udp_frame(f, 32, true, 5);
	put16(f + 38, 41);		/* UDP length != IP's */
	exchange("udp length", f, len, r, false, "drop_udp_header");
	len = udp_frame(f, 32, true, 5);
	f[14] = 0x44;			/* IHL 4 */
	exchange("ihl 4", f, len, r, false, "drop_ip_header");
	exchange("runt", f, 10, r, false, "drop_short");
}

/* Every proper prefix of a good UDP frame: no reply, and each counted. */
static void test_truncations(void)
{
	uint8_t f[256], r[2048];
	uint32_t len = udp_frame(f, 40, true, 5);
	uint64_t rx0 = ctr("rx"), udp0 = ctr("udp_reflected");

	for (uint32_t l = 0; l < len; l++) {
		send_frame(f, l);
		CHECK(recv_frame(r, 1000000) == 0, "prefix %u answered", l);
	}
	int64_t end = fn_clock_ns() + REPLY_WAIT_NS;
	while (ctr("rx") < rx0 + len && fn_clock_ns() < end)
		usleep(1000);
	CHECK(ctr("rx") == rx0 + len, "truncations: rx %llu",
	      (unsigned long long)(ctr("rx") - rx0));
	CHECK(ctr("udp_reflected") == udp0, "a truncated frame was reflected");
}

static uint64_t all_outcomes(void)
{
	static const char *const names[] = {
		"arp_replies", "udp_reflected", "icmp_replies", "drop_short",
		"drop_not_our_mac", "drop_ethertype", "drop_arp",
		"drop_ip_header", "drop_ip_checksum", "drop_ip_fragment",
		"drop_bad_source", "drop_not_our_ip", "drop_ip_proto",
		"drop_udp_header", "drop_udp_checksum", "drop_icmp",
		"drop_no_slot",
	};
	uint64_t n = 0;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		n += ctr(names[i]);
	return n;
}

/* A reply to anything must be a well-formed ARP, UDP or ICMP reply. */
static void check_any_reply(const uint8_t *r, uint32_t rlen)
{
	uint32_t hl;

	CHECK(rlen >= 42 && memcmp(r + 6, our_mac, 6) == 0, "mutant reply: MAC");
	if (rlen < 42 || get16(r + 12) == 0x0806)
		return;
	hl = (r[14] & 15u) * 4;
	CHECK(get16(r + 12) == 0x0800 && hl >= 20 && 14 + hl <= rlen &&
	      fold(sum16(0, r + 14, hl)) == 0 && rlen == 14u + get16(r + 16),
	      "mutant reply: bad IPv4 header");
	CHECK(memcmp(r + 26, our_ip, 4) == 0, "mutant reply: not from us");
}

/* Good frames with random bytes flipped, cut or grown, in bursts. */
static void test_mutations(void)
{
	uint8_t f[2048], r[2048];
	uint64_t rx0 = ctr("rx"), out0 = all_outcomes(), replies = 0;
	unsigned seed = 12345;

	for (int i = 0; i < MUTATIONS; i++) {
		uint32_t len = i % 3 == 0 ? udp_frame(f, rand_r(&seed) % 200, true, 5 + rand_r(&seed) % 3) :
			       i % 3 == 1 ? icmp_frame(f, rand_r(&seed) % 100) :
			       arp_frame(f, our_ip);
		int flips = 1 + rand_r(&seed) % 4;

		for (int k = 0; k < flips; k++)
			f[rand_r(&seed) % len] ^= (uint8_t)(1 + rand_r(&seed) % 255);
		if (rand_r(&seed) % 4 == 0)
			len = rand_r(&seed) % (len + 64);
		send_frame(f, len);
		uint32_t rl;
		while ((rl = recv_frame(r, 0)) > 0) {
			check_any_reply(r, rl);
			replies++;
		}
	}
	int64_t end = fn_clock_ns() + REPLY_WAIT_NS;
	while (ctr("rx") < rx0 + MUTATIONS && fn_clock_ns() < end)
		usleep(1000);
	uint32_t rl;
	while ((rl = recv_frame(r, NONE_WAIT_NS)) > 0) {
		check_any_reply(r, rl);
		replies++;
	}
	CHECK(ctr("rx") == rx0 + MUTATIONS, "mutations: rx %llu",
	      (unsigned long long)(ctr("rx") - rx0));
	CHECK(all_outcomes() - out0 == MUTATIONS,
	      "mutations: outcomes %llu != frames", (unsigned long long)(all_outcomes() - out0));
	printf("# mutations: %d frames, %llu replies\n", MUTATIONS,
	       (unsigned long long)replies);
}

static void test_reset(int link_fd)
{
	uint8_t f[256], r[2048];
	uint32_t len = udp_frame(f, 16, true, 5);

	CHECK(fn_link_reset(link_fd) == 0, "reset failed");
	int64_t end = fn_clock_ns() + REPLY_WAIT_NS;
	while (ctr("link_resets") == 0 && fn_clock_ns() < end)
		usleep(1000);
	CHECK(ctr("link_resets") == 1, "link_resets %llu",
	      (unsigned long long)ctr("link_resets"));
	/* Our side joins the new epoch on its next call (-ECONNRESET once). */
	uint32_t rlen = exchange("udp after reset", f, len, r, true, "udp_reflected");
	check_udp_reply("udp after reset", f, len, r, rlen);
	CHECK(ctr("link_broken") == 0, "link_broken after a reset");
}

/* ---- setup -------------------------------------------------------------- */

static pid_t spawn(const char *exe, int stats_fd, int link_fd)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (dup2(stats_fd, 64) < 0 || dup2(link_fd, 65) < 0 ||
	    dup2(64, FN_FD_STATS) < 0 || dup2(65, FN_FD_LINK) < 0)
		_exit(127);
	setenv(FN_ENV_STATS_FD, "3", 1);
	setenv(FN_ENV_LINK_FD, "4", 1);
	setenv(FN_ENV_COMPONENT, "stack", 1);
	setenv(FN_ENV_PIPELINE, "0", 1);
	setenv(FN_ENV_POLL, "event", 1);
	unsetenv(FN_ENV_CONFIG);
	execl(exe, "fn-test-reflector", "--address", "10.233.0.2", "--mac",
	      "02:00:00:00:00:01", (char *)NULL);
	_exit(127);
}

int main(int argc, char **argv)
{
	int link_fd, stats_fd, status, err;

	if (argc != 2) {
		fprintf(stderr, "usage: reflector_check PATH-OF-fn-test-reflector\n");
		return 2;
	}
	alarm(60);
	link_fd = fn_link_create("refl-check", 256, 2048);
	stats_fd = fn_stats_create("stack", 0, PAGE);
	if (link_fd < 0 || stats_fd < 0 ||
	    !(page = fn_stats_map_ro(stats_fd, PAGE))) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	child = spawn(argv[1], stats_fd, link_fd);
	err = fn_link_attach(&link_a, link_fd, FN_LINK_A, FN_POLL_EVENT);
	if (child < 0 || err < 0) {
		fprintf(stderr, "spawn or attach failed\n");
		return 1;
	}
	test_arp();
	test_udp();
	test_icmp();
	test_drops();
	test_truncations();
	test_mutations();
	test_reset(link_fd);
	kill(child, SIGTERM);
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0, "SIGTERM: status 0x%x", status);
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("ok: reflector\n");
	return 0;
}
