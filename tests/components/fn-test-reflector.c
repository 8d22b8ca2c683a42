/*
 * fn-test-reflector - a test component that sits where a stack would and
 * answers the wire: the NIC integration tests and bench/driver put it
 * behind fragnet-driver to measure the NIC path without a TCP/IP stack.
 *
 *   fn-test-reflector [--address A.B.C.D] [--mac XX:XX:XX:XX:XX:XX]
 *
 * Spawned by the supervisor as a stack (names.h contract): side B of
 * FRAGNET_LINK_FD, counters on FRAGNET_STATS_FD, poll mode FRAGNET_POLL.
 * Its IPv4 address and MAC are its pipeline's uplink's, as a stack's
 * (fn_config_uplink: per [stack] addressing), read from FRAGNET_CONFIG;
 * --address and --mac override them (test harnesses without a topology
 * file).
 *
 * For each frame from the link:
 *   ARP request for our address   -> ARP reply with our MAC
 *   IPv4/UDP to our address       -> the same datagram back: MACs, IPs and
 *                                    ports swapped, TTL 64, IPv4 header
 *                                    checksum recomputed (the UDP checksum
 *                                    needs no change, see udp_reflect())
 *   ICMP echo request to us       -> echo reply (so that ping works)
 *   anything else                 -> dropped and counted by cause (drop_*)
 *
 * TRUST: the driver, and whatever sent the frame on the wire, are hostile.
 * The frame is copied out of the bulk buffer before it is parsed (the peer
 * can still write the slot), every length field is checked against the
 * frame, and so are the IPv4, UDP and ICMP checksums.  The reply is built in
 * the private copy and only then copied into a fresh tx slot.
 *
 * RESET: when the driver dies the supervisor resets the link; every call
 * then returns -ECONNRESET once per endpoint.  Frames in hand are dropped,
 * link_resets counts the new epoch, and the reflector goes on with the
 * restarted driver.  A driver that breaks the link protocol (-EPIPE) is
 * cut off until the next reset (link_broken).  SIGTERM ends it, exit 0.
 *
 * WAKE-UPS: given FRAGNET_STACK_BELL_FD, it sleeps on that eventfd, as a
 * stack does (names.h): the driver rings it instead of the link's futex.
 * In adaptive mode it spins first, as fn_stream_wait() would.  Given
 * FRAGNET_DRIVER_BELL_FD it rings that one, as a stack does, for a driver
 * that sleeps in its epoll.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
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

#define BURST		32
#define WAIT_NS		100000000ll	/* re-check SIGTERM this often */

#define ETH_HLEN	14
#define ETH_P_IPV4	0x0800
#define ETH_P_ARP	0x0806
#define ARP_LEN		28
#define IP_MIN_HLEN	20
#define IP_PROTO_ICMP	1
#define IP_PROTO_UDP	17
#define UDP_HLEN	8
#define ICMP_HLEN	8
#define ICMP_ECHO_REPLY	0
#define ICMP_ECHO_REQ	8
#define REPLY_TTL	64

enum {
	R_RX, R_TX, R_ARP, R_UDP, R_ICMP,
	R_D_SHORT, R_D_MAC, R_D_ETHERTYPE, R_D_ARP, R_D_IP_HDR, R_D_IP_CSUM,
	R_D_FRAG, R_D_SRC, R_D_DST, R_D_PROTO, R_D_UDP_HDR, R_D_UDP_CSUM,
	R_D_ICMP, R_D_NOSLOT, R_RESETS, R_BROKEN, R_COUNT
};
static const char *const refl_names[R_COUNT] = {
	"rx", "tx", "arp_replies", "udp_reflected", "icmp_replies",
	"drop_short",		/* shorter than its Ethernet header */
	"drop_not_our_mac",	/* unicast to another MAC */
	"drop_ethertype",	/* neither IPv4 nor ARP (IPv6, VLAN, ...) */
	"drop_arp",		/* not an IPv4-over-Ethernet request for us */
	"drop_ip_header",	/* version, IHL or total length inconsistent */
	"drop_ip_checksum",
	"drop_ip_fragment",	/* MF or offset set: not reassembled here */
	"drop_bad_source",	/* source 0, multicast or broadcast */
	"drop_not_our_ip",
	"drop_ip_proto",	/* neither UDP nor ICMP */
	"drop_udp_header",	/* UDP length inconsistent with IPv4's */
	"drop_udp_checksum",
	"drop_icmp",		/* not a well-formed echo request */
	"drop_no_slot",		/* a reply found no free tx slot */
	"link_resets", "link_broken",
};

struct refl {
	struct fn_link link;
	uint8_t mac[6];
	uint32_t ip;			/* network byte order */
	bool broken;
	int bell;			/* our doorbell eventfd, or -1 */
	uint32_t epoch;			/* the last link epoch counted */
	_Atomic uint64_t *ctr;		/* R_COUNT, a stats page block */
	uint8_t frame[FN_LINK_MAX_SLOT];	/* private copy of one frame */
};

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static void count(struct refl *r, int which)
{
	fn_ctr_add(&r->ctr[which], 1);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* RFC 1071: the 16-bit ones' complement sum of p[0..len), added to sum. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, uint32_t len)
{
	uint32_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Swap n bytes at a and b (addresses, ports). */
static void swap_bytes(uint8_t *a, uint8_t *b, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint8_t t = a[i];

		a[i] = b[i];
		b[i] = t;
	}
}

/* ---- ARP (RFC 826) ------------------------------------------------------ */

/* An IPv4-over-Ethernet ARP request for our address becomes our reply. */
static uint32_t arp_reply(struct refl *r, uint8_t *f, uint32_t len,
			  int *kind)
{
	uint8_t *a = f + ETH_HLEN;

	if (len < ETH_HLEN + ARP_LEN || get16(a) != 1 ||
	    get16(a + 2) != ETH_P_IPV4 || a[4] != 6 || a[5] != 4 ||
	    get16(a + 6) != 1 || memcmp(a + 24, &r->ip, 4) != 0) {
		count(r, R_D_ARP);
		return 0;
	}
	put16(a + 6, 2);			/* op: reply */
	memcpy(a + 18, a + 8, 10);		/* target = the asker */
	memcpy(a + 8, r->mac, 6);		/* sender = us */
	memcpy(a + 14, &r->ip, 4);
	memcpy(f, a + 18, 6);			/* to the asker's MAC */
	memcpy(f + 6, r->mac, 6);
	*kind = R_ARP;
	return ETH_HLEN + ARP_LEN;
}

/* ---- IPv4 --------------------------------------------------------------- */

/*
 * Check the IPv4 header at f + ETH_HLEN against the frame; set *hlen and
 * *tot.  Returns 0, or the R_D_* cause of a drop.
 */
static int ip_check(const struct refl *r, const uint8_t *f, uint32_t len,
		    uint32_t *hlen, uint32_t *tot)
{
	const uint8_t *ip = f + ETH_HLEN;
	uint32_t src;

	if (len < ETH_HLEN + IP_MIN_HLEN || ip[0] >> 4 != 4)
		return R_D_IP_HDR;
	*hlen = (ip[0] & 0x0fu) * 4u;
	*tot = get16(ip + 2);
	if (*hlen < IP_MIN_HLEN || *tot < *hlen || *tot > len - ETH_HLEN)
		return R_D_IP_HDR;
	if (csum_fold(csum_add(0, ip, *hlen)) != 0)
		return R_D_IP_CSUM;
	if (get16(ip + 6) & 0x3fff)
		return R_D_FRAG;
	memcpy(&src, ip + 12, 4);
	src = ntohl(src);
	if (src == 0 || src == 0xffffffffu || (src >> 28) == 0xe)
		return R_D_SRC;
	if (memcmp(ip + 16, &r->ip, 4) != 0)
		return R_D_DST;
	return 0;
}

/* Turn the IPv4 header around: addresses swapped, TTL reset, checksum. */
static void ip_reflect(uint8_t *ip, uint32_t hlen)
{
	swap_bytes(ip + 12, ip + 16, 4);
	ip[8] = REPLY_TTL;
	put16(ip + 10, 0);
	put16(ip + 10, csum_fold(csum_add(0, ip, hlen)));
}

/* The UDP checksum over the pseudo-header (RFC 768); 0 when it checks. */
static uint16_t udp_csum(const uint8_t *ip, const uint8_t *udp, uint32_t ulen)
{
	uint32_t sum = csum_add(0, ip + 12, 8);	/* source, destination */

	sum += IP_PROTO_UDP + ulen;
	return csum_fold(csum_add(sum, udp, ulen));
}

/*
 * The datagram goes back as it came.  Its checksum stays right: the
 * ones' complement sum does not depend on the order of the words summed,
 * and swapping addresses and ports only reorders them.
 */
static int udp_reflect(uint8_t *ip, uint32_t hlen, uint32_t tot)
{
	uint8_t *udp = ip + hlen;
	uint32_t ulen = tot - hlen;

	if (ulen < UDP_HLEN || get16(udp + 4) != ulen)
		return R_D_UDP_HDR;
	if (get16(udp + 6) != 0 && udp_csum(ip, udp, ulen) != 0)
		return R_D_UDP_CSUM;
	swap_bytes(udp, udp + 2, 2);
	return 0;
}

/* An echo request (RFC 792) becomes an echo reply, data unchanged. */
static int icmp_reflect(uint8_t *ip, uint32_t hlen, uint32_t tot)
{
	uint8_t *icmp = ip + hlen;
	uint32_t ilen = tot - hlen;

	if (ilen < ICMP_HLEN || icmp[0] != ICMP_ECHO_REQ || icmp[1] != 0 ||
	    csum_fold(csum_add(0, icmp, ilen)) != 0)
		return R_D_ICMP;
	icmp[0] = ICMP_ECHO_REPLY;
	put16(icmp + 2, 0);
	put16(icmp + 2, csum_fold(csum_add(0, icmp, ilen)));
	return 0;
}

static uint32_t ip_reply(struct refl *r, uint8_t *f, uint32_t len, int *kind)
{
	uint8_t *ip = f + ETH_HLEN;
	uint32_t hlen = 0, tot = 0;
	int cause = ip_check(r, f, len, &hlen, &tot);

	if (!cause) {
		if (ip[9] == IP_PROTO_UDP)
			cause = udp_reflect(ip, hlen, tot);
		else if (ip[9] == IP_PROTO_ICMP)
			cause = icmp_reflect(ip, hlen, tot);
		else
			cause = R_D_PROTO;
	}
	if (cause) {
		count(r, cause);
		return 0;
	}
	*kind = ip[9] == IP_PROTO_UDP ? R_UDP : R_ICMP;
	ip_reflect(ip, hlen);
	swap_bytes(f, f + 6, 6);
	memcpy(f + 6, r->mac, 6);	/* the asker may have used broadcast */
	return ETH_HLEN + tot;		/* Ethernet padding is not sent back */
}

/*
 * The reply to the frame f[0..len) (a private copy), built in place.
 * Returns its length and sets *kind (R_ARP, R_UDP, R_ICMP: the caller
 * counts it once the reply is on its way), or returns 0 after counting
 * why there is no reply.
 */
static uint32_t refl_frame(struct refl *r, uint8_t *f, uint32_t len,
			   int *kind)
{
	if (len < ETH_HLEN) {
		count(r, R_D_SHORT);
		return 0;
	}
	if (!(f[0] & 1) && memcmp(f, r->mac, 6) != 0) {
		count(r, R_D_MAC);
		return 0;
	}
	switch (get16(f + 12)) {
	case ETH_P_ARP:
		return arp_reply(r, f, len, kind);
	case ETH_P_IPV4:
		return ip_reply(r, f, len, kind);
	default:
		count(r, R_D_ETHERTYPE);
		return 0;
	}
}

/* ---- the link ----------------------------------------------------------- */

/*
 * One burst: receive, answer what deserves it into fresh tx slots, submit,
 * ack.  Returns frames received (0: none), or a negative errno from the
 * link; then nothing in hand is touched again (a reset voids it).
 */
static int refl_burst(struct refl *r)
{
	struct fn_pkt in[BURST], out[BURST];
	int n, m, k = 0, err;

	n = fn_stream_recv_burst(&r->link.rx, in, BURST);
	if (n <= 0)
		return n;
	fn_ctr_add(&r->ctr[R_RX], (uint64_t)n);
	m = fn_stream_alloc_burst(&r->link.tx, out, (unsigned)n);
	if (m < 0)
		return m;
	for (int i = 0; i < n; i++) {
		uint32_t len = in[i].len, rlen;
		int kind = 0;

		memcpy(r->frame, in[i].data, len);	/* len <= slot_size */
		rlen = refl_frame(r, r->frame, len, &kind);
		if (!rlen)
			continue;
		if (k >= m || rlen > r->link.tx.slot_size) {
			count(r, R_D_NOSLOT);
			continue;
		}
		memcpy(out[k].data, r->frame, rlen);
		out[k++].len = rlen;
		count(r, kind);
	}
	if (k < m)
		fn_stream_release(&r->link.tx, out + k, (unsigned)(m - k));
	if (k > 0 && (err = fn_stream_submit_burst(&r->link.tx, out,
						     (unsigned)k)) < 0)
		return err;
	fn_ctr_add(&r->ctr[R_TX], (uint64_t)k);
	err = fn_stream_ack_burst(&r->link.rx, in, (unsigned)n);
	return err < 0 ? err : n;
}

/* Count a link error: a new epoch once, a protocol breach once. */
static void refl_link_error(struct refl *r, int err)
{
	if (err == -ECONNRESET) {
		if (r->link.epoch != r->epoch) {
			r->epoch = r->link.epoch;
			count(r, R_RESETS);
			fn_info("link reset (epoch %u): the driver restarted, "
				"frames in hand dropped", r->epoch);
		}
		r->broken = false;
		/*
		 * Each endpoint reports a reset once, at its own next call.
		 * Take the other endpoint's report now: left pending, it
		 * would come from the tx alloc of the next burst, while we
		 * hold frames of the NEW epoch, which we would then never
		 * ack (their slots lost until the next reset).
		 */
		fn_stream_reclaim(&r->link.tx);
		fn_stream_wait(&r->link.rx, 0);
	} else if (err == -EAGAIN) {
		/* submit and ack say so while the driver has not joined the
		 * epoch (stream.c gate()); alloc and recv give 0 then. */
		return;
	} else if (!r->broken) {
		fn_warn("link error: %s: cut off until the link is reset",
			strerror(-err));
		r->broken = true;
		count(r, R_BROKEN);
	}
}

/* fn_stream_wait(rx, WAIT_NS) for a reflector with a doorbell: spin (in
 * adaptive mode), arm, sleep on the eventfd, disarm.  Same returns. */
static int refl_wait_bell(struct refl *r)
{
	struct fn_endpoint *rx = &r->link.rx;
	struct pollfd pfd = { .fd = r->bell, .events = POLLIN };
	int64_t until = fn_clock_ns() + rx->spin_ns;
	uint64_t v;
	int n;

	if (rx->poll == FN_POLL_BUSY)
		return fn_stream_wait(rx, WAIT_NS);
	do {
		n = fn_stream_wait(rx, 0);
		if (n != 0)
			return n;
	} while (rx->poll == FN_POLL_ADAPTIVE && fn_clock_ns() < until);
	n = fn_stream_arm(rx);
	if (n <= 0)
		return n < 0 ? n : 1;
	n = poll(&pfd, 1, (int)(WAIT_NS / 1000000));
	if (n > 0 && read(r->bell, &v, sizeof(v)) < 0 && errno != EAGAIN)
		fn_debug("doorbell: %s", strerror(errno));
	fn_stream_disarm(rx);
	return fn_stream_pending(rx) ? 1 : 0;
}

static void refl_run(struct refl *r)
{
	struct timespec idle = { .tv_nsec = WAIT_NS };
	int n;

	r->epoch = r->link.epoch;
	while (!stopping) {
		if (r->broken) {
			n = fn_stream_wait(&r->link.rx, WAIT_NS);
			if (n == -ECONNRESET)
				refl_link_error(r, n);
			else
				nanosleep(&idle, NULL);
			continue;
		}
		n = refl_burst(r);
		if (n == 0)
			n = r->bell >= 0 ? refl_wait_bell(r) :
			    fn_stream_wait(&r->link.rx, WAIT_NS);
		if (n < 0)
			refl_link_error(r, n);
	}
}

/* ---- setup -------------------------------------------------------------- */

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

/* Address and MAC: FRAGNET_CONFIG, then the command line. */
static int refl_identity(struct refl *r, int pipeline, int argc,
			 char **argv)
{
	const char *path = getenv(FN_ENV_CONFIG);
	static struct fn_config cfg;	/* large */
	char err[FN_CONFIG_ERR_MAX];
	struct fn_ip4 a;
	int ret;

	if (path && *path) {
		ret = fn_config_load(&cfg, path, err);
		if (ret < 0) {
			fn_err("%s", err);
			return ret;
		}
		fn_config_uplink(&cfg, pipeline, &a, r->mac);
		r->ip = a.addr;
	}
	for (int i = 1; i < argc; i++) {
		bool more = i + 1 < argc;

		if (more && strcmp(argv[i], "--address") == 0) {
			if (inet_pton(AF_INET, argv[++i], &r->ip) != 1)
				goto usage;
		} else if (more && strcmp(argv[i], "--mac") == 0) {
			if (parse_mac(argv[++i], r->mac) < 0)
				goto usage;
		} else {
			goto usage;
		}
	}
	if (r->ip == 0 || (r->mac[0] | r->mac[1] | r->mac[2] | r->mac[3] |
			   r->mac[4] | r->mac[5]) == 0) {
		fn_err("no address or MAC: set FRAGNET_CONFIG or pass "
		       "--address and --mac");
		return -EINVAL;
	}
	return 0;
usage:
	fprintf(stderr, "usage: fn-test-reflector [--address A.B.C.D] "
		"[--mac XX:XX:XX:XX:XX:XX]\n");
	return -EINVAL;
}

static int refl_attach(struct refl *r, struct fn_stats_page *page)
{
	int fd = fn_env_fd(FN_ENV_LINK_FD), err;
	enum fn_poll poll = FN_POLL_ADAPTIVE;
	const char *mode = getenv(FN_ENV_POLL);
	_Atomic uint64_t *tx, *rx;

	if (fd < 0) {
		fn_err("no link: %s is not set", FN_ENV_LINK_FD);
		return -EBADF;
	}
	if (mode && fn_poll_parse(mode, &poll) < 0)
		fn_warn("%s=%s is no poll mode; using adaptive", FN_ENV_POLL, mode);
	err = fn_link_attach(&r->link, fd, FN_LINK_B, poll);
	if (err < 0) {
		fn_err("cannot attach link fd %d: %s", fd, strerror(-err));
		return err;
	}
	tx = fn_stats_block(page, "link.tx", fn_stream_ctr_names, FN_SC_COUNT);
	rx = fn_stats_block(page, "link.rx", fn_stream_ctr_names, FN_SC_COUNT);
	if (!tx || !rx)
		return -ENOSPC;
	fn_stream_bind_counters(&r->link.tx, tx);
	fn_stream_bind_counters(&r->link.rx, rx);
	r->bell = fn_env_fd(FN_ENV_STACK_BELL_FD);
	if (r->bell < 0)
		r->bell = -1;
	fd = fn_env_fd(FN_ENV_DRIVER_BELL_FD);
	if (fd >= 0)
		fn_link_set_bell(&r->link, fd);
	return 0;
}

int main(int argc, char **argv)
{
	static struct refl r;
	struct sigaction sa = { .sa_handler = on_term };
	struct fn_stats_page *page = NULL;
	const char *pl = getenv(FN_ENV_PIPELINE);
	const char *comp = getenv(FN_ENV_COMPONENT);
	char ip[INET_ADDRSTRLEN];

	fn_log_init("test-reflector", pl && *pl != '-' ? atoi(pl) : -1,
		    FN_LOG_DEFAULT);
	sigaction(SIGTERM, &sa, NULL);	/* no SA_RESTART: waits return */
	sigaction(SIGINT, &sa, NULL);
	if (refl_identity(&r, pl && *pl != '-' ? atoi(pl) : -1, argc,
			  argv) < 0)
		return 2;
	if (comp && strcmp(comp, "stack") != 0)
		fn_warn("spawned as %s; a reflector is side B (a stack)", comp);
	page = fn_stats_attach_env();
	r.ctr = fn_stats_block(page, "refl", refl_names, R_COUNT);
	if (!r.ctr || refl_attach(&r, page) < 0)
		return 1;
	inet_ntop(AF_INET, &r.ip, ip, sizeof(ip));
	fn_info("reflecting for %s at %02x:%02x:%02x:%02x:%02x:%02x (%s poll)",
		ip, r.mac[0], r.mac[1], r.mac[2], r.mac[3], r.mac[4], r.mac[5],
		fn_poll_name(r.link.rx.poll));
	refl_run(&r);
	fn_info("stopping: rx %llu tx %llu udp %llu arp %llu icmp %llu",
		(unsigned long long)fn_ctr_get(&r.ctr[R_RX]),
		(unsigned long long)fn_ctr_get(&r.ctr[R_TX]),
		(unsigned long long)fn_ctr_get(&r.ctr[R_UDP]),
		(unsigned long long)fn_ctr_get(&r.ctr[R_ARP]),
		(unsigned long long)fn_ctr_get(&r.ctr[R_ICMP]));
	fn_link_detach(&r.link);
	return 0;
}
