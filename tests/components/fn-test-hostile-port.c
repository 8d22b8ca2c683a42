/*
 * fn-test-hostile-port: a stack that attacks its vswitch port (vswitch.h,
 * PORT SECURITY and TRUST), for the integration tests of internal networks
 * (tests/integration/test_vsw_l2.sh, test_vsw_hostile.sh).
 *
 *   fn-test-hostile-port spoof|flood|garbage [--ms MS] [--rounds N --state FILE]
 *
 * Spawned by the supervisor in a pipeline's stack role, on an internal
 * network: it reads its attachment table (FRAGNET_STACK_NETS_FD) and
 * attaches the first attachment's link as side B, ringing the port's bell,
 * as fragnet-stack does.  Then, for MS milliseconds (default 2000):
 *
 *   spoof    every 10 ms, one frame of each kind: IPv4 from another MAC,
 *            IPv4 from another address, ARP whose sender is another's
 *            (MAC, then address), and one good frame (its own MAC and
 *            address: a UDP datagram to the broadcast address, port 9);
 *   flood    good frames (as above), as many as its link takes;
 *   garbage  descriptors that no stack would write (offsets outside the
 *            bulk buffer, lengths past a slot, a submit index that jumps
 *            ahead), straight into its submit ring, then exit 1: the
 *            switch cuts the port off, the supervisor resets the link and
 *            restarts us.  With --rounds N and --state FILE only the first
 *            N starts attack (FILE counts them); later ones idle, so the
 *            supervisor never gives up on us (N < crash_loop_limit).
 *
 * Meanwhile and afterwards it takes (and acks) every frame the switch
 * sends it, until SIGTERM (exit 0).  Counters on its stats page,
 * "hostile.*": spoof_mac, spoof_ip, spoof_arp_mac, spoof_arp_ip, good,
 * flood_full (submits that found no free slot), garbage, rx.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fragnet/env.h"
#include "fragnet/names.h"
#include "fragnet/stats.h"
#include "fragnet/stream.h"
#include "fragnet/vswitch.h"

#define FRAME_LEN	60	/* Ethernet + IPv4 + UDP + a few bytes */
#define BURST		32

enum { H_SPOOF_MAC, H_SPOOF_IP, H_SPOOF_ARP_MAC, H_SPOOF_ARP_IP, H_GOOD,
       H_FLOOD_FULL, H_GARBAGE, H_RX, H_COUNT };
static const char *const h_names[H_COUNT] = {
	"spoof_mac", "spoof_ip", "spoof_arp_mac", "spoof_arp_ip", "good",
	"flood_full", "garbage", "rx",
};

static volatile sig_atomic_t stopping;
static _Atomic uint64_t *ctr;
static struct fn_link lnk;
static struct fn_vsw_attach_ent me;

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- frames ----------------------------------------------------------- */

static uint32_t put_eth(uint8_t *b, const uint8_t src[6], uint16_t type)
{
	memset(b, 0xff, 6);		/* broadcast */
	memcpy(b + 6, src, 6);
	b[12] = (uint8_t)(type >> 8);
	b[13] = (uint8_t)type;
	return 14;
}

/* IPv4 + UDP to 255.255.255.255:9 (discard) from mac and src. */
static uint32_t put_udp(uint8_t *b, const uint8_t mac[6], uint32_t src)
{
	uint8_t *ip = b + put_eth(b, mac, 0x0800);

	memset(ip, 0, FRAME_LEN - 14);
	ip[0] = 0x45;
	ip[3] = FRAME_LEN - 14;
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, &src, 4);
	memset(ip + 16, 0xff, 4);
	ip[20 + 3] = 9;			/* destination port */
	ip[20 + 5] = FRAME_LEN - 14 - 20;
	return FRAME_LEN;
}

static uint32_t put_arp(uint8_t *b, const uint8_t sha[6], uint32_t spa)
{
	uint8_t *a = b + put_eth(b, me.mac, 0x0806);

	memcpy(a, "\x00\x01\x08\x00\x06\x04\x00\x01", 8);	/* request */
	memcpy(a + 8, sha, 6);
	memcpy(a + 14, &spa, 4);
	memset(a + 18, 0, 6);
	memcpy(a + 24, &me.ipv4, 4);
	return 14 + 28;
}

/* One frame per kind: 0 other MAC, 1 other address, 2 ARP with another
 * sender MAC, 3 ARP with another sender address, 4 good. */
static uint32_t frame_of(unsigned kind, uint8_t *b)
{
	uint8_t other[6];
	uint32_t other_ip = htonl(ntohl(me.ipv4) ^ 0x40);

	memcpy(other, me.mac, 6);
	other[5] ^= 0x40;
	switch (kind) {
	case 0:	return put_udp(b, other, me.ipv4);
	case 1:	return put_udp(b, me.mac, other_ip);
	case 2:	return put_arp(b, other, me.ipv4);
	case 3:	return put_arp(b, me.mac, other_ip);
	default: return put_udp(b, me.mac, me.ipv4);
	}
}

/* Submit up to n frames of kind; returns how many went. */
static int send_kind(unsigned kind, unsigned n)
{
	struct fn_pkt p[BURST];
	int k = fn_stream_alloc_burst(&lnk.tx, p, n < BURST ? n : BURST);

	if (k <= 0)
		return k;
	for (int i = 0; i < k; i++)
		p[i].len = frame_of(kind, p[i].data);
	return fn_stream_submit_burst(&lnk.tx, p, (unsigned)k);
}

/* ---- the attacks --------------------------------------------------------- */

static void take_rx(void)
{
	struct fn_pkt p[BURST];
	int n;

	while ((n = fn_stream_recv_burst(&lnk.rx, p, BURST)) > 0) {
		fn_ctr_add(&ctr[H_RX], (uint64_t)n);
		fn_stream_ack_burst(&lnk.rx, p, (unsigned)n);
	}
}

static void spoof_round(void)
{
	for (unsigned kind = 0; kind < 5; kind++)
		if (send_kind(kind, 1) == 1)
			fn_ctr_add(&ctr[kind == 4 ? H_GOOD : kind], 1);
}

static void flood_round(void)
{
	int n = send_kind(4, BURST);

	if (n > 0)
		fn_ctr_add(&ctr[H_GOOD], (uint64_t)n);
	else
		fn_ctr_add(&ctr[H_FLOOD_FULL], 1);
}

/* Descriptors from nowhere, through our own view of the submit ring: the
 * ring's entries and head are ours to write, and the switch must refuse
 * them. */
static void garbage(void)
{
	struct fn_ring *r = &lnk.tx.data;
	struct fn_desc d[3] = {
		{ .off = 0xfffff000u, .len = 64 },		/* outside */
		{ .off = 0, .len = lnk.tx.slot_size + 1 },	/* too long */
		{ .off = 13, .len = 64 },			/* unaligned */
	};

	for (unsigned i = 0; i < 3; i++)
		r->ent[(r->idx + i) & r->mask] = d[i];
	atomic_store_explicit(&r->shm->head, r->idx + 3 + r->size,
			      memory_order_release);	/* and jumps ahead */
	fn_ctr_add(&ctr[H_GARBAGE], 1);
}

/* --rounds N --state FILE: may this start attack?  Counts it if so. */
static int round_due(const char *state, long rounds)
{
	long done = 0;
	FILE *f;

	if (!state)
		return 1;
	f = fopen(state, "r");
	if (f) {
		if (fscanf(f, "%ld", &done) != 1)
			done = 0;
		fclose(f);
	}
	if (done >= rounds)
		return 0;
	f = fopen(state, "w");
	if (!f)
		return 1;
	fprintf(f, "%ld\n", done + 1);
	fclose(f);
	return 1;
}

/* ---- setup --------------------------------------------------------------- */

static int attach(void)
{
	int fd = fn_env_fd(FN_ENV_STACK_NETS_FD), err;
	struct fn_vsw_attach t;
	const char *why = NULL;

	if (fd < 0) {
		fprintf(stderr, "fn-test-hostile-port: no %s: run me as the "
			"stack of a pipeline on an internal network\n",
			FN_ENV_STACK_NETS_FD);
		return -1;
	}
	err = fn_vsw_attach_read(fd, &t, &why);
	close(fd);
	if (err < 0) {
		fprintf(stderr, "fn-test-hostile-port: table: %s\n",
			why ? why : strerror(-err));
		return -1;
	}
	me = t.net[0];
	err = fn_link_attach(&lnk, me.link_fd, FN_LINK_B, FN_POLL_EVENT);
	if (err < 0) {
		fprintf(stderr, "fn-test-hostile-port: link: %s\n",
			strerror(-err));
		return -1;
	}
	fn_stream_set_bell(&lnk.tx, me.bell_fd);
	fn_stream_set_bell(&lnk.rx, me.bell_fd);
	return 0;
}

static void counters(void)
{
	struct fn_stats_page *page = fn_stats_attach_env();

	ctr = fn_stats_block(page, "hostile", h_names, H_COUNT);
	if (!ctr)
		ctr = calloc(H_COUNT, sizeof(*ctr));
	if (!ctr)
		exit(1);
}

static void usage(void)
{
	fprintf(stderr, "usage: fn-test-hostile-port spoof|flood|garbage "
		"[--ms MS] [--rounds N --state FILE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "", *state = NULL;
	long ms = 2000, rounds = 0;
	int64_t end;

	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--ms"))
			ms = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--rounds"))
			rounds = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--state"))
			state = argv[i + 1];
		else
			usage();
	}
	if (strcmp(mode, "spoof") && strcmp(mode, "flood") &&
	    strcmp(mode, "garbage"))
		usage();
	signal(SIGTERM, on_term);
	counters();
	if (attach() < 0)
		return 1;
	if (!strcmp(mode, "garbage") && round_due(state, rounds)) {
		while (!fn_link_peer_ready(&lnk) && !stopping)
			usleep(1000);
		garbage();
		if (write(me.bell_fd, &(uint64_t){ 1 }, 8) < 0)
			perror("fn-test-hostile-port: bell");
		sleep(1);
		return 1;
	}
	end = now_ms() + ms;
	while (!stopping) {
		take_rx();
		if (now_ms() < end && !strcmp(mode, "spoof"))
			spoof_round();
		if (now_ms() < end && !strcmp(mode, "flood"))
			flood_round();
		else
			usleep(10000);
	}
	fn_link_detach(&lnk);
	return 0;
}
