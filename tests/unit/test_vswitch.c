/*
 * test_vswitch.c - unit tests of fragnet-vswitch's core (src/vswitch,
 * contract fragnet/vswitch.h).
 *
 * TOPOLOGY, in one process, over real link memfds:
 *
 *     stack 0              stack 1              stack 2
 *     02:..:01 10.0.0.1    02:..:02 10.0.0.2    02:..:03 10.0.0.3
 *     side B               side B               side B  (128 B slots)
 *        |                    |                    |
 *     port 0 -------------- port 1 -------------- port 2   side A
 *                     struct vsw (the switch)
 *
 * Each port has its bell (the switch waits on it) and the stack's bell
 * (the switch rings it), real eventfds.  The switch's clock is
 * sw.now_ns, set by the tests.  A hostile stack writes the shared rings
 * straight through fn_ring_*, bypassing its stream's checks, or rewrites
 * its slots while the switch reads them.
 *
 * A host port (vswitch.h, HOST PORT) joins as port 3 in its own tests, a
 * SOCK_SEQPACKET socketpair standing in for the tap: one frame per read
 * and per write, as a tap without packet information.
 *
 * The last tests run the fragnet-vswitch binary itself on the fixture's
 * ports, started the way the supervisor will start it.
 *
 * Every teardown detaches everything and checks that no fd is left open;
 * the sanitizer run of the unit suite catches leaked memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "fragnet/capture.h"
#include "fragnet/clock.h"
#include "fragnet/names.h"
#include "fragnet/stats.h"
#include "fragnet/stream.h"
#include "fragnet/vswitch.h"
#include "vsw.h"
#include "vsw_spawn.h"

#define NPORTS		3
#define NSLOTS		64u
#define SLOT		256u
#define SMALL_SLOT	128u	/* port 2's */
#define T0		1000000000ll
#define AGE_MS		1000u

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t nobody[6] = { 0x02, 0, 0, 0, 0, 0x99 };

/* A stack: side B of one port's link. */
struct stk {
	int link_fd, bell, peer_bell;
	struct fn_link l;
	struct vsw_id id;
};

struct fx {
	struct vsw sw;
	struct stk st[NPORTS];
	int nfds;
};

/* Open fds of this process (the leak check). */
static int fds_open(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

static void stk_attach(struct stk *s)
{
	assert_int_equal(fn_link_attach(&s->l, s->link_fd, FN_LINK_B,
					FN_POLL_EVENT), 0);
	/* A stack on a switch rings the port's bell (vswitch.h step 2). */
	fn_stream_set_bell(&s->l.tx, s->bell);
	fn_stream_set_bell(&s->l.rx, s->bell);
}

static void stk_init(struct stk *s, unsigned i)
{
	s->link_fd = fn_link_create("test-vsw", NSLOTS,
				    i == 2 ? SMALL_SLOT : SLOT);
	assert_true(s->link_fd >= 0);
	s->bell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->peer_bell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(s->bell >= 0 && s->peer_bell >= 0);
	memcpy(s->id.mac, (uint8_t[6]){ 0x02, 0, 0, 0, 0, (uint8_t)(i + 1) }, 6);
	s->id.ipv4 = htonl(0x0a000001u + i);
	stk_attach(s);
}

static void sw_start(struct fx *f)
{
	vsw_init(&f->sw, AGE_MS, 0x5eed);
	for (unsigned i = 0; i < NPORTS; i++)
		assert_int_equal(vsw_port_attach(&f->sw, f->st[i].link_fd,
						 &f->st[i].id, f->st[i].bell,
						 f->st[i].peer_bell,
						 FN_POLL_EVENT), 0);
	f->sw.now_ns = T0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->nfds = fds_open();
	for (unsigned i = 0; i < NPORTS; i++)
		stk_init(&f->st[i], i);
	sw_start(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vsw_fini(&f->sw);
	vsw_fini(&f->sw);	/* idempotent */
	for (unsigned i = 0; i < NPORTS; i++) {
		fn_link_detach(&f->st[i].l);
		close(f->st[i].link_fd);
		close(f->st[i].bell);
		close(f->st[i].peer_bell);
	}
	assert_int_equal(fds_open(), f->nfds);
	free(f);
	return 0;
}

/* ---- frames -------------------------------------------------------------- */

static uint32_t put_eth(uint8_t *b, const uint8_t dst[6], const uint8_t src[6],
			uint16_t type)
{
	memcpy(b, dst, 6);
	memcpy(b + 6, src, 6);
	b[12] = (uint8_t)(type >> 8);
	b[13] = (uint8_t)type;
	return 14;
}

/* IPv4 from id (source address src_ip, network order) to dst, with a
 * payload of n pattern bytes after a 4-byte sequence number. */
static uint32_t put_ipv4(uint8_t *b, const uint8_t dst[6],
			 const struct vsw_id *id, uint32_t src_ip,
			 uint32_t seq, uint32_t n)
{
	uint32_t k = put_eth(b, dst, id->mac, 0x0800);
	uint8_t *ip = b + k;

	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, &src_ip, 4);
	memcpy(ip + 16, "\x0a\x00\x00\xfe", 4);	/* destination */
	memcpy(ip + 20, &seq, 4);
	for (uint32_t i = 0; i < n; i++)
		ip[24 + i] = (uint8_t)(seq * 131 + i * 7);
	return k + 24 + n;
}

static uint32_t put_arp(uint8_t *b, const uint8_t dst[6], const uint8_t src[6],
			uint16_t op, const uint8_t sha[6], uint32_t spa)
{
	uint32_t k = put_eth(b, dst, src, 0x0806);
	uint8_t *a = b + k;

	memcpy(a, "\x00\x01\x08\x00\x06\x04", 6);
	a[6] = (uint8_t)(op >> 8);
	a[7] = (uint8_t)op;
	memcpy(a + 8, sha, 6);
	memcpy(a + 14, &spa, 4);
	memset(a + 18, 0, 6);
	memcpy(a + 24, "\x0a\x00\x00\x02", 4);
	return k + 28;
}

/* Stack i sends one frame. */
static void stk_send(struct fx *f, unsigned i, const uint8_t *frame,
		     uint32_t len)
{
	struct fn_pkt p;

	assert_int_equal(fn_stream_alloc_burst(&f->st[i].l.tx, &p, 1), 1);
	memcpy(p.data, frame, len);
	p.len = len;
	assert_int_equal(fn_stream_submit_burst(&f->st[i].l.tx, &p, 1), 1);
}

/* Stack i's simplest frame: IPv4 to dst from its own addresses. */
static void stk_send_ip(struct fx *f, unsigned i, const uint8_t dst[6],
			uint32_t seq)
{
	uint8_t b[SLOT];

	stk_send(f, i, b, put_ipv4(b, dst, &f->st[i].id, f->st[i].id.ipv4,
				   seq, 8));
}

/* Stack i takes every frame waiting; the last one's bytes go to last
 * (if not NULL).  Returns how many. */
static unsigned stk_drain(struct fx *f, unsigned i, uint8_t *last,
			  uint32_t *last_len)
{
	struct fn_pkt p[NSLOTS];
	unsigned total = 0;
	int n;

	while ((n = fn_stream_recv_burst(&f->st[i].l.rx, p, NSLOTS)) > 0) {
		if (last) {
			memcpy(last, p[n - 1].data, p[n - 1].len);
			*last_len = p[n - 1].len;
		}
		assert_int_equal(fn_stream_ack_burst(&f->st[i].l.rx, p,
						     (unsigned)n), n);
		total += (unsigned)n;
	}
	assert_int_equal(n, 0);
	return total;
}

/* One turn moves `moved` frames; then stack i finds want_i frames, and
 * takes them (-1: stack i is not looked at). */
static void turn_expect(struct fx *f, unsigned moved, int want0, int want1,
			int want2)
{
	int want[NPORTS] = { want0, want1, want2 };

	assert_int_equal(vsw_fwd_turn(&f->sw), moved);
	for (unsigned i = 0; i < NPORTS; i++)
		if (want[i] >= 0)
			assert_int_equal(stk_drain(f, i, NULL, NULL), want[i]);
}

static uint64_t pctr(struct fx *f, unsigned i, enum fn_vsw_port_ctr c)
{
	return fn_ctr_get(&f->sw.port[i].ctr[c]);
}

static uint64_t sctr(struct fx *f, enum fn_vsw_ctr c)
{
	return fn_ctr_get(&f->sw.ctr[c]);
}

/* Port i dropped exactly one frame, for why, and nothing else. */
static void assert_dropped_once(struct fx *f, unsigned i,
				enum fn_vsw_port_ctr why)
{
	for (int c = FN_VSW_P_DROP_RUNT; c <= FN_VSW_P_DROP_LOCAL; c++)
		assert_int_equal(pctr(f, i, c), c == (int)why);
	for (unsigned k = 0; k < NPORTS; k++)
		assert_int_equal(stk_drain(f, k, NULL, NULL), 0);
}

/* ---- the port table ------------------------------------------------------ */

static void table_ports(struct fn_vsw_port_ent *e, unsigned n)
{
	memset(e, 0, n * sizeof(*e));
	for (unsigned i = 0; i < n; i++) {
		e[i].link_fd = (int32_t)FN_FD_VSW_LINK(i);
		e[i].bell_fd = (int32_t)FN_FD_VSW_BELL(i);
		e[i].peer_bell_fd = i % 2 ? -1 : (int32_t)FN_FD_VSW_PEER_BELL(i);
		e[i].ipv4 = htonl(0x0a000001u + i);
		memcpy(e[i].mac, (uint8_t[6]){ 0x02, 0, 0, 0, 1, (uint8_t)i }, 6);
		snprintf(e[i].name, sizeof(e[i].name), "stack%u", i);
	}
}

static void test_table_round_trip(void **state)
{
	struct fn_vsw_port_ent e[FN_VSW_MAX_PORTS];
	struct fn_vsw_table t;
	const char *why = "unset";
	int fd;

	(void)state;
	table_ports(e, FN_VSW_MAX_PORTS);
	fd = fn_vsw_table_create("lan", 5000, e, FN_VSW_MAX_PORTS, &why);
	assert_true(fd >= 0);
	assert_null(why);
	assert_int_equal(fn_vsw_table_read(fd, &t, &why), 0);
	assert_null(why);
	assert_int_equal(t.nports, FN_VSW_MAX_PORTS);
	assert_int_equal(t.age_ms, 5000);
	assert_string_equal(t.network, "lan");
	assert_memory_equal(t.port, e, sizeof(e));
	/* Sealed: nobody writes it after the supervisor. */
	assert_int_equal(pwrite(fd, "x", 1, 0), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(ftruncate(fd, 0), -1);
	assert_true(mmap(NULL, sizeof(t), PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd, 0) == MAP_FAILED);
	/* The table's own fd is refused as a port fd. */
	t.port[1].bell_fd = fd;
	assert_int_equal(fn_vsw_table_check(&t, fd, &why), -EBADMSG);
	close(fd);
}

/* A table with one fault: create refuses it, and so does check. */
static void assert_table_refused(const struct fn_vsw_port_ent *e, unsigned n,
				 const char *network)
{
	const char *why = NULL;

	assert_int_equal(fn_vsw_table_create(network, 0, e, n, &why), -EINVAL);
	assert_non_null(why);
}

static void test_table_rejects(void **state)
{
	struct fn_vsw_port_ent e[FN_VSW_MAX_PORTS + 1], bad[3];
	struct { int field; int32_t v; } fds[] = {
		{ 0, 2 }, { 1, -1 }, { 2, -2 }, { 2, 1 },
		{ 0, FN_FD_VSW_BELL(1) }, { 2, FN_FD_VSW_LINK(0) },
	};

	(void)state;
	table_ports(e, FN_VSW_MAX_PORTS + 1);
	assert_table_refused(e, 0, "lan");
	assert_table_refused(e, FN_VSW_MAX_PORTS + 1, "lan");
	assert_table_refused(e, 2, "");
	assert_table_refused(e, 2, NULL);
	assert_table_refused(e, 2, "a name far too long for FN_NAME_MAX bytes");
	assert_table_refused(e, 2, "two words");
	for (unsigned k = 0; k < sizeof(fds) / sizeof(fds[0]); k++) {
		memcpy(bad, e, sizeof(bad));
		int32_t *fld[] = { &bad[0].link_fd, &bad[0].bell_fd,
				   &bad[0].peer_bell_fd };
		*fld[fds[k].field] = fds[k].v;
		assert_table_refused(bad, 3, "lan");
	}
	memcpy(bad, e, sizeof(bad));
	bad[1].mac[0] = 0x03;			/* a group address */
	assert_table_refused(bad, 3, "lan");
	memcpy(bad, e, sizeof(bad));
	memset(bad[2].mac, 0, 6);
	assert_table_refused(bad, 3, "lan");
	memcpy(bad, e, sizeof(bad));
	memcpy(bad[2].mac, bad[0].mac, 6);	/* one MAC on two ports */
	assert_table_refused(bad, 3, "lan");
	memcpy(bad, e, sizeof(bad));
	bad[1].ipv4 = bad[0].ipv4;		/* one address on two ports */
	assert_table_refused(bad, 3, "lan");
	memcpy(bad, e, sizeof(bad));
	bad[1].ipv4 = 0;
	assert_table_refused(bad, 3, "lan");
	memcpy(bad, e, sizeof(bad));
	bad[1].flags = 2;
	assert_table_refused(bad, 3, "lan");
	memcpy(bad, e, sizeof(bad));
	bad[1].flags = FN_VSW_PORT_HOST;	/* a host port with bells */
	bad[1].peer_bell_fd = FN_FD_VSW_PEER_BELL(1);
	assert_table_refused(bad, 3, "lan");
	bad[1].bell_fd = -1;
	assert_table_refused(bad, 3, "lan");	/* still its peer bell */
	bad[1].peer_bell_fd = -1;
	bad[1].link_fd = 2;
	assert_table_refused(bad, 3, "lan");	/* its tap fd < 3 */
	bad[1].link_fd = FN_FD_VSW_LINK(1);
	int fd = fn_vsw_table_create("lan", 0, bad, 3, NULL);
	assert_true(fd >= 0);			/* and now it is right */
	close(fd);
	memcpy(bad, e, sizeof(bad));
	memset(bad[1].name, 'x', sizeof(bad[1].name));	/* unterminated */
	assert_table_refused(bad, 3, "lan");
}

/* A memfd that is not a sealed table is refused on read. */
static void test_table_read_rejects(void **state)
{
	struct fn_vsw_port_ent e[2];
	struct fn_vsw_table t;
	const char *why = NULL;
	int fd;

	(void)state;
	table_ports(e, 2);
	assert_true((fd = fn_vsw_table_create("lan", 0, e, 2, NULL)) >= 0);
	assert_int_equal(fn_vsw_table_read(fd, &t, NULL), 0);
	close(fd);
	/* Unsealed: the supervisor could still change it. */
	fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_int_equal(write(fd, &t, sizeof(t)), (ssize_t)sizeof(t));
	assert_int_equal(fn_vsw_table_read(fd, &t, &why), -EBADMSG);
	assert_non_null(why);
	/* Sealed, but a byte too long. */
	assert_int_equal(write(fd, "", 1), 1);
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
			       F_SEAL_WRITE), 0);
	why = NULL;
	assert_int_equal(fn_vsw_table_read(fd, &t, &why), -EBADMSG);
	assert_non_null(why);
	close(fd);
	/* A pipe is no table at all. */
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(fn_vsw_table_read(p[0], &t, NULL), -EBADMSG);
	close(p[0]);
	close(p[1]);
}

/* A stack's attachment table: round trip, frozen, and every refusal. */
static void test_attach_table(void **state)
{
	struct fn_vsw_attach_ent e[FN_VSW_ATTACH_MAX + 1], bad[2];
	struct fn_vsw_attach t;
	const char *why = "unset";
	int fd;

	(void)state;
	memset(e, 0, sizeof(e));
	for (unsigned j = 0; j <= FN_VSW_ATTACH_MAX; j++) {
		e[j].link_fd = FN_FD_STACK_NET_LINK(j);
		e[j].bell_fd = FN_FD_STACK_NET_BELL(j);
		e[j].ipv4 = htonl(0x0a5a0001u + (j << 8));
		e[j].prefix = 24;
		e[j].ifindex = (uint16_t)(2 + j);
		memcpy(e[j].mac, (uint8_t[6]){ 2, 0, 10, 90, (uint8_t)j, 1 }, 6);
		snprintf(e[j].name, sizeof(e[j].name), "net-%u", j);
	}
	fd = fn_vsw_attach_create(3, e, FN_VSW_ATTACH_MAX, &why);
	assert_true(fd >= 0);
	assert_null(why);
	assert_int_equal(fn_vsw_attach_read(fd, &t, &why), 0);
	assert_int_equal(t.nnets, FN_VSW_ATTACH_MAX);
	assert_memory_equal(t.net, e, sizeof(t.net));
	assert_int_equal(pwrite(fd, "x", 1, 0), -1);	/* frozen */
	close(fd);
	assert_int_equal(fn_vsw_attach_create(0, e, 0, NULL), -EINVAL);
	assert_int_equal(fn_vsw_attach_create(0, e, FN_VSW_ATTACH_MAX + 1,
					      NULL), -EINVAL);
	for (unsigned k = 0; k < 11; k++) {
		memcpy(bad, e, sizeof(bad));
		switch (k) {
		case 0: bad[1].link_fd = 2; break;
		case 1: bad[1].bell_fd = bad[0].link_fd; break;
		case 2: bad[1].mac[0] = 3; break;
		case 3: bad[1].ipv4 = 0; break;
		case 4: bad[1].prefix = 31; break;
		case 5: bad[1].ifindex = 1; break;
		case 6: bad[1].flags = 1; break;
		case 7: strcpy(bad[1].name, "a b"); break;
		case 8: strcpy(bad[1].name, "sixteen-chars-xx"); break;
		case 9: strcpy(bad[1].name, bad[0].name); break;
		case 10: bad[1].ifindex = bad[0].ifindex; break;
		}
		why = NULL;
		assert_int_equal(fn_vsw_attach_create(0, bad, 2, &why), -EINVAL);
		assert_non_null(why);
	}
}

/* ---- learning and forwarding --------------------------------------------- */

static void test_learn_unicast(void **state)
{
	struct fx *f = *state;
	uint8_t b[SLOT];
	uint32_t len;

	/* Stack 0 asks who has 10.0.0.2: broadcast, to both others. */
	stk_send(f, 0, b, put_arp(b, bcast, f->st[0].id.mac, 1,
				  f->st[0].id.mac, f->st[0].id.ipv4));
	assert_int_equal(vsw_fwd_turn(&f->sw), 1);
	assert_int_equal(stk_drain(f, 1, b, &len), 1);
	assert_int_equal(len, 42);
	assert_memory_equal(b + 6, f->st[0].id.mac, 6);
	assert_int_equal(stk_drain(f, 2, NULL, NULL), 1);
	assert_int_equal(sctr(f, FN_VSW_FDB_LEARNED), 1);
	/* Stack 1 answers stack 0's MAC: learnt, so to port 0 only. */
	stk_send(f, 1, b, put_arp(b, f->st[0].id.mac, f->st[1].id.mac, 2,
				  f->st[1].id.mac, f->st[1].id.ipv4));
	turn_expect(f, 1, 1, -1, 0);
	/* And now both ways are unicast. */
	for (uint32_t s = 0; s < 10; s++) {
		stk_send_ip(f, 0, f->st[1].id.mac, s);
		stk_send_ip(f, 1, f->st[0].id.mac, s);
	}
	turn_expect(f, 20, 10, 10, 0);
	assert_int_equal(pctr(f, 0, FN_VSW_P_RX_PKTS), 11);
	assert_int_equal(pctr(f, 0, FN_VSW_P_TX_PKTS), 11);
	assert_int_equal(pctr(f, 1, FN_VSW_P_TX_PKTS), 11);
	assert_int_equal(pctr(f, 2, FN_VSW_P_TX_PKTS), 1);
	assert_int_equal(pctr(f, 0, FN_VSW_P_FLOODED), 1);
	assert_int_equal(pctr(f, 1, FN_VSW_P_FLOODED), 0);
	assert_int_equal(pctr(f, 0, FN_VSW_P_TX_BYTES), 42 + 10 * 46);
	assert_int_equal(sctr(f, FN_VSW_FDB_LEARNED), 2);
	assert_int_equal(vsw_fdb_lookup(&f->sw.fdb, f->st[1].id.mac,
					f->sw.now_ns), 1);
}

static void test_flood(void **state)
{
	struct fx *f = *state;
	const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0, 0, 1 };
	uint8_t b[SLOT];

	stk_send_ip(f, 1, nobody, 1);		/* unknown unicast */
	stk_send_ip(f, 1, bcast, 2);		/* broadcast */
	stk_send_ip(f, 1, mcast, 3);		/* multicast */
	turn_expect(f, 3, 3, 0, 3);	/* none back to port 1 */
	assert_int_equal(pctr(f, 1, FN_VSW_P_FLOODED), 3);
	/* A group address is never learnt as a destination: even after a
	 * frame "from" it (refused anyway), broadcast floods. */
	stk_send(f, 2, b, put_ipv4(b, f->st[1].id.mac, &(struct vsw_id){
		.mac = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } },
		f->st[2].id.ipv4, 0, 0));
	assert_int_equal(vsw_fwd_turn(&f->sw), 1);
	assert_int_equal(pctr(f, 2, FN_VSW_P_DROP_SRC_MAC), 1);
	stk_send_ip(f, 0, bcast, 4);
	turn_expect(f, 1, -1, 1, 1);
}

/* A unicast to the sender's own MAC is not sent back. */
static void test_drop_local(void **state)
{
	struct fx *f = *state;

	stk_send_ip(f, 0, bcast, 1);
	assert_int_equal(vsw_fwd_turn(&f->sw), 1);
	stk_send_ip(f, 0, f->st[0].id.mac, 2);
	turn_expect(f, 1, -1, 1, 1);
	assert_dropped_once(f, 0, FN_VSW_P_DROP_LOCAL);
}

static void test_aging(void **state)
{
	struct fx *f = *state;
	const int64_t age = (int64_t)AGE_MS * 1000000;

	stk_send_ip(f, 1, bcast, 1);
	turn_expect(f, 1, 1, -1, 1);
	/* Just before it ages out: unicast to port 1 only. */
	f->sw.now_ns = T0 + age - 1;
	assert_int_equal(vsw_fdb_age(&f->sw.fdb, f->sw.now_ns), 0);
	stk_send_ip(f, 0, f->st[1].id.mac, 2);
	turn_expect(f, 1, -1, 1, 0);
	/* Aged out: flooded again, and relearnt from its next frame. */
	f->sw.now_ns = T0 + age;
	assert_int_equal(vsw_fdb_lookup(&f->sw.fdb, f->st[1].id.mac,
					f->sw.now_ns), -1);
	assert_int_equal(vsw_fdb_age(&f->sw.fdb, f->sw.now_ns), 1);
	assert_int_equal(vsw_fdb_age(&f->sw.fdb, f->sw.now_ns), 0);
	stk_send_ip(f, 0, f->st[1].id.mac, 3);
	turn_expect(f, 1, -1, 1, 1);
	assert_int_equal(pctr(f, 0, FN_VSW_P_FLOODED), 1);
	stk_send_ip(f, 1, f->st[0].id.mac, 4);
	assert_int_equal(vsw_fwd_turn(&f->sw), 1);
	assert_int_equal(vsw_fdb_lookup(&f->sw.fdb, f->st[1].id.mac,
					f->sw.now_ns), 1);
}

/* The table alone: a full bucket evicts its oldest; moves; flushes. */
static void test_fdb(void **state)
{
	struct vsw_fdb *fdb = malloc(sizeof(*fdb));
	uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0 };
	unsigned learned = 0, evicted = 0;

	(void)state;
	assert_non_null(fdb);
	vsw_fdb_init(fdb, 1000, 7);
	/* Twice the capacity: every insertion learns or evicts. */
	for (unsigned i = 0; i < 2 * VSW_FDB_BUCKETS * VSW_FDB_WAYS; i++) {
		mac[4] = (uint8_t)(i >> 8);
		mac[5] = (uint8_t)i;
		enum vsw_fdb_event ev = vsw_fdb_learn(fdb, mac, i % 3, i);
		learned += ev == VSW_FDB_LEARNED;
		evicted += ev == VSW_FDB_EVICTED;
		assert_int_equal(vsw_fdb_lookup(fdb, mac, i), (int)(i % 3));
	}
	assert_true(learned <= VSW_FDB_BUCKETS * VSW_FDB_WAYS);
	assert_int_equal(learned + evicted, 2 * VSW_FDB_BUCKETS * VSW_FDB_WAYS);
	assert_true(evicted >= VSW_FDB_BUCKETS * VSW_FDB_WAYS);
	/* The last MAC seen again: refreshed; on another port: moved. */
	unsigned last = (2 * VSW_FDB_BUCKETS * VSW_FDB_WAYS - 1) % 3;
	unsigned next = (last + 1) % 3;
	assert_int_equal(vsw_fdb_learn(fdb, mac, last, 600), VSW_FDB_REFRESHED);
	assert_int_equal(vsw_fdb_learn(fdb, mac, next, 601), VSW_FDB_MOVED);
	assert_int_equal(vsw_fdb_lookup(fdb, mac, 602), (int)next);
	unsigned on1 = vsw_fdb_flush_port(fdb, next);
	assert_true(on1 >= 1);
	assert_int_equal(vsw_fdb_lookup(fdb, mac, 602), -1);
	assert_int_equal(vsw_fdb_flush_port(fdb, next), 0);
	/* Everything else ages out together. */
	unsigned left = vsw_fdb_age(fdb, 1000000);
	assert_int_equal(left + on1, learned);
	assert_int_equal(vsw_fdb_age(fdb, 1000000), 0);
	free(fdb);
}

/* ---- port security ------------------------------------------------------- */

static void test_spoof_src_mac(void **state)
{
	struct fx *f = *state;
	struct vsw_id other = f->st[1].id;	/* stack 0 poses as stack 1 */
	uint8_t b[SLOT];

	stk_send(f, 0, b, put_ipv4(b, bcast, &other, f->st[0].id.ipv4, 0, 0));
	assert_int_equal(vsw_fwd_turn(&f->sw), 1);
	assert_dropped_once(f, 0, FN_VSW_P_DROP_SRC_MAC);
	assert_int_equal(sctr(f, FN_VSW_FDB_LEARNED), 0);	/* not learnt */
}

static void test_spoof_ipv4_src(void **state)
{
	struct fx *f = *state;
	uint8_t b[SLOT];

	stk_send(f, 0, b, put_ipv4(b, bcast, &f->st[0].id, f->st[1].id.ipv4,
				   0, 0));
	assert_int_equal(vsw_fwd_turn(&f->sw), 1);
	assert_dropped_once(f, 0, FN_VSW_P_DROP_SRC_IP);
	assert_int_equal(sctr(f, FN_VSW_FDB_LEARNED), 0);
}

static void test_spoof_arp(void **state)
{
	struct fx *f = *state;
	const uint8_t *mac0 = f->st[0].id.mac, *mac1 = f->st[1].id.mac;
	uint32_t ip0 = f->st[0].id.ipv4, ip1 = f->st[1].id.ipv4;
	uint8_t b[SLOT];

	/* Sender hardware address of another stack. */
	stk_send(f, 0, b, put_arp(b, bcast, mac0, 2, mac1, ip0));
	assert_int_equal(vsw_fwd_turn(&f->sw), 1);
	assert_dropped_once(f, 0, FN_VSW_P_DROP_ARP_SPOOF);
	/* Sender protocol address of another stack (cache poisoning). */
	stk_send(f, 0, b, put_arp(b, bcast, mac0, 2, mac0, ip1));
	assert_int_equal(vsw_fwd_turn(&f->sw), 1);
	assert_int_equal(pctr(f, 0, FN_VSW_P_DROP_ARP_SPOOF), 2);
	/* An RFC 5227 probe (sender 0.0.0.0) and a gratuitous ARP pass. */
	stk_send(f, 0, b, put_arp(b, bcast, mac0, 1, mac0, 0));
	stk_send(f, 0, b, put_arp(b, bcast, mac0, 1, mac0, ip0));
	turn_expect(f, 2, -1, 2, 2);
	assert_int_equal(pctr(f, 0, FN_VSW_P_DROP_ARP_SPOOF), 2);
}

/* Runts, tags, other ethertypes, cut or odd IPv4 and ARP headers. */
static void test_drop_causes(void **state)
{
	struct fx *f = *state;
	const struct vsw_id *id = &f->st[0].id;
	uint64_t want[FN_VSW_P_COUNT] = { 0 };
	uint8_t b[SLOT];
	uint32_t n;
	struct {
		uint16_t type;
		uint32_t len;		/* 0: the whole frame */
		unsigned poke;		/* byte to change, 0: none */
		uint8_t val;
		enum fn_vsw_port_ctr why;
	} c[] = {
		{ 0x0800, 13, 0, 0, FN_VSW_P_DROP_RUNT },
		{ 0x8100, 0, 0, 0, FN_VSW_P_DROP_VLAN },
		{ 0x88a8, 0, 0, 0, FN_VSW_P_DROP_VLAN },
		{ 0x9100, 0, 0, 0, FN_VSW_P_DROP_VLAN },
		{ 0x86dd, 0, 0, 0, FN_VSW_P_DROP_ETHERTYPE },
		{ 0x0000, 0, 0, 0, FN_VSW_P_DROP_ETHERTYPE },
		{ 0x0800, 33, 0, 0, FN_VSW_P_DROP_MALFORMED },
		{ 0x0800, 0, 14, 0x65, FN_VSW_P_DROP_MALFORMED },	/* v6 */
		{ 0x0800, 0, 14, 0x44, FN_VSW_P_DROP_MALFORMED },	/* ihl 4 */
		{ 0x0806, 41, 0, 0, FN_VSW_P_DROP_MALFORMED },
		{ 0x0806, 0, 15, 6, FN_VSW_P_DROP_MALFORMED },	/* htype */
		{ 0x0806, 0, 16, 0x86, FN_VSW_P_DROP_MALFORMED },	/* ptype */
		{ 0x0806, 0, 18, 8, FN_VSW_P_DROP_MALFORMED },	/* hlen */
		{ 0x0806, 0, 19, 16, FN_VSW_P_DROP_MALFORMED },	/* plen */
		{ 0x0806, 0, 21, 3, FN_VSW_P_DROP_MALFORMED },	/* op */
	};

	for (unsigned k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		if (c[k].type == 0x0806)
			n = put_arp(b, bcast, id->mac, 1, id->mac, id->ipv4);
		else
			n = put_ipv4(b, bcast, id, id->ipv4, k, 8);
		b[12] = (uint8_t)(c[k].type >> 8);
		b[13] = (uint8_t)c[k].type;
		if (c[k].poke)
			b[c[k].poke] = c[k].val;
		stk_send(f, 0, b, c[k].len ? c[k].len : n);
		assert_int_equal(vsw_fwd_turn(&f->sw), 1);
		want[c[k].why]++;
		for (int w = FN_VSW_P_DROP_RUNT; w <= FN_VSW_P_DROP_LOCAL; w++)
			assert_int_equal(pctr(f, 0, w), want[w]);
	}
	assert_int_equal(stk_drain(f, 1, NULL, NULL), 0);
	assert_int_equal(stk_drain(f, 2, NULL, NULL), 0);
	assert_int_equal(pctr(f, 0, FN_VSW_P_RX_PKTS), sizeof(c) / sizeof(c[0]));
}

/* The check reads the copy, and only the copy is what goes out: a frame
 * that passes is delivered with the very header that was checked. */
static void test_check_copies(void **state)
{
	struct fx *f = *state;
	struct vsw_frame fr;
	enum fn_vsw_port_ctr why;
	uint8_t b[SLOT], out[SLOT];
	uint32_t n = put_ipv4(b, bcast, &f->st[0].id, f->st[0].id.ipv4, 9, 60);

	assert_true(vsw_frame_check(&f->st[0].id, b, n, &fr, &why));
	assert_int_equal(fr.hdr_len, VSW_HDR_COPY);
	b[6] ^= 0x04;			/* the peer rewrites after the check */
	b[80] ^= 0xff;			/* and its payload */
	vsw_frame_copy(&fr, out);
	assert_memory_equal(out + 6, f->st[0].id.mac, 6);
	assert_int_equal(out[80], b[80]);	/* payload: the slot's */
	/* A runt's copy stops at its end. */
	assert_false(vsw_frame_check(&f->st[0].id, b, 5, &fr, &why));
	assert_int_equal(why, FN_VSW_P_DROP_RUNT);
	assert_int_equal(fr.hdr_len, 5);
}

/* ---- destinations that cannot take a frame ------------------------------- */

static void test_too_big_for_port(void **state)
{
	struct fx *f = *state;
	uint8_t b[SLOT];

	/* 200 bytes: fits ports 0 and 1 (256 B slots), not port 2 (128). */
	stk_send(f, 0, b, put_ipv4(b, bcast, &f->st[0].id, f->st[0].id.ipv4,
				   1, 200 - 38));
	turn_expect(f, 1, -1, 1, 0);
	assert_int_equal(pctr(f, 2, FN_VSW_P_DROP_TOO_BIG), 1);
	assert_int_equal(pctr(f, 1, FN_VSW_P_DROP_TOO_BIG), 0);
}

/* ---- capture points (vsw_cap.c, fragnet/capture.h) ---------------------- */

#define CAP_SLOTS	32u
#define CAP_SLOT	2048u

static bool cap_alive(int32_t pid)
{
	(void)pid;
	return true;
}

/* A region mapped by the switch (producer) and by *c (consumer), which
 * claims it as pid 100 and switches points on. */
static void cap_open(struct fx *f, struct fn_cap *c, uint32_t points)
{
	static const char *const names[NPORTS] = { "stack/0", "stack/1",
						   "stack/2" };
	int fd = fn_cap_create("test-vsw-cap", CAP_SLOTS, CAP_SLOT);
	int32_t other = 0;

	assert_true(fd >= 0);
	assert_int_equal(vsw_cap_attach(&f->sw, fd, names, NULL), 0);
	assert_int_equal(fn_cap_attach(c, fd, false, NULL), 0);
	close(fd);
	assert_int_equal(fn_cap_claim(c, 100, &other, cap_alive), 0);
	if (points)
		fn_cap_start(c, 100, points, 0, 0);
}

/* The next record is point on port (0-based), with cause for a drop. */
static void cap_expect(struct fn_cap *c, unsigned point, unsigned port,
		       int cause, uint32_t len)
{
	static uint8_t buf[CAP_SLOT];
	struct fn_cap_rec r;
	uint64_t lost = 0;

	assert_int_equal(fn_cap_next(c, &r, buf, &lost), 1);
	assert_int_equal(r.point, point);
	assert_int_equal(r.ifindex, port + 1);
	assert_int_equal(r.origlen, len);
	assert_int_equal(r.caplen, len);
	if (cause >= 0)
		assert_int_equal(r.hook, cause);
	assert_int_equal(lost, 0);
}

/* rx as sent, tx per copy, drops with their cause on the port that
 * counts them; nothing while capture is off. */
static void test_capture_points(void **state)
{
	struct fx *f = *state;
	struct fn_cap c;
	uint8_t b[SLOT];
	char name[FN_CAP_IFNAME];
	uint32_t len;
	uint64_t lost = 0;
	struct fn_cap_rec r;

	cap_open(f, &c, 0);
	assert_true(fn_cap_ifname(&c, 2, name, sizeof(name)));
	assert_string_equal(name, "stack/1");
	stk_send_ip(f, 0, bcast, 1);
	turn_expect(f, 1, -1, 1, 1);
	assert_int_equal(fn_cap_next(&c, &r, b, &lost), 0);	/* off */

	fn_cap_start(&c, 100, FN_CAP_VSW_POINTS, 0, 0);
	len = put_ipv4(b, bcast, &f->st[0].id, f->st[0].id.ipv4, 2, 200 - 38);
	stk_send(f, 0, b, len);
	turn_expect(f, 1, -1, 1, 0);
	cap_expect(&c, FN_CAP_RX, 0, -1, len);
	cap_expect(&c, FN_CAP_SWITCH_DROP, 2, FN_VSW_P_DROP_TOO_BIG, len);
	cap_expect(&c, FN_CAP_TX, 1, -1, len);

	len = put_ipv4(b, bcast, &f->st[1].id, htonl(0x0a0000aa), 3, 8);
	stk_send(f, 1, b, len);
	turn_expect(f, 1, 0, -1, 0);
	cap_expect(&c, FN_CAP_RX, 1, -1, len);
	cap_expect(&c, FN_CAP_SWITCH_DROP, 1, FN_VSW_P_DROP_SRC_IP, len);
	assert_int_equal(fn_cap_next(&c, &r, b, &lost), 0);

	fn_cap_start(&c, 100, 1u << FN_CAP_SWITCH_DROP, 0, 0);
	len = put_eth(b, bcast, f->st[2].id.mac, 0x86dd) + 40;
	stk_send(f, 2, b, len);
	turn_expect(f, 1, 0, 0, -1);
	cap_expect(&c, FN_CAP_SWITCH_DROP, 2, FN_VSW_P_DROP_ETHERTYPE, len);
	assert_int_equal(fn_cap_next(&c, &r, b, &lost), 0);
	assert_int_equal(fn_cap_dropped(&c), 0);
	fn_cap_detach(&c);
}

/* A client that writes nonsense into its fields stops the capture,
 * never the switch: every frame is still forwarded. */
static void test_capture_hostile_client(void **state)
{
	struct fx *f = *state;
	struct fn_cap c;
	struct fn_cap_hdr *h;
	uint32_t head;

	cap_open(f, &c, FN_CAP_ALL);
	h = c.hdr;
	atomic_store(&h->ctl, ~0ull);		/* every bit, any owner */
	atomic_store(&h->window, ~0u);
	atomic_store(&h->snaplen, ~0u);
	head = atomic_load(&h->head);
	atomic_store(&h->tail, head + 12345);		/* ahead of head */
	for (uint32_t s = 0; s < 20; s++)
		stk_send_ip(f, 0, bcast, s);
	turn_expect(f, 20, -1, 20, 20);
	assert_int_equal(atomic_load(&h->head), head);
	assert_true(fn_cap_dropped(&c) > 0);
	atomic_store(&h->tail, head - 1000000);		/* far behind */
	for (uint32_t s = 0; s < 20; s++)
		stk_send_ip(f, 1, bcast, s);
	turn_expect(f, 20, 20, -1, 20);
	assert_int_equal(atomic_load(&h->head), head);
	atomic_store(&h->tail, head);			/* sane: it goes on */
	atomic_store(&h->window, 4);
	stk_send_ip(f, 2, bcast, 1);
	turn_expect(f, 1, 1, 1, -1);
	assert_int_equal(atomic_load(&h->head), head + 3);	/* rx, 2 tx */
	fn_cap_detach(&c);
}

/* A stack that never takes its frames: the switch drops for it, never
 * waits for it, and the others go on. */
static void test_destination_full(void **state)
{
	struct fx *f = *state;

	for (unsigned round = 0; round < 4; round++) {
		for (uint32_t s = 0; s < 30; s++)
			stk_send_ip(f, 0, bcast, s);
		turn_expect(f, 30, -1, 30, -1);
	}
	assert_int_equal(pctr(f, 2, FN_VSW_P_TX_PKTS), NSLOTS);
	assert_int_equal(pctr(f, 2, FN_VSW_P_DROP_NO_SLOT), 120 - NSLOTS);
	assert_int_equal(pctr(f, 1, FN_VSW_P_DROP_NO_SLOT), 0);
	/* Once it takes them, it gets new ones again. */
	assert_int_equal(stk_drain(f, 2, NULL, NULL), NSLOTS);
	stk_send_ip(f, 0, bcast, 99);
	turn_expect(f, 1, -1, -1, 1);
}

/* A port whose stack never came: copies to it are dropped as link_down. */
static void test_stack_absent(void **state)
{
	struct fx *f = *state;
	struct vsw *sw = calloc(1, sizeof(*sw));
	int fd = fn_link_create("test-vsw-absent", NSLOTS, SLOT);
	struct vsw_id id = { { 0x02, 0, 0, 0, 0, 0x42 }, htonl(0x0a000042) };

	assert_non_null(sw);
	vsw_fini(&f->sw);	/* the fixture's switch lets go of port 0 */
	vsw_init(sw, 0, 1);
	assert_int_equal(vsw_port_attach(sw, f->st[0].link_fd, &f->st[0].id,
					 f->st[0].bell, -1, FN_POLL_EVENT), 0);
	assert_int_equal(vsw_port_attach(sw, fd, &id, f->st[1].bell, -1,
					 FN_POLL_EVENT), 0);
	close(fd);
	stk_send_ip(f, 0, bcast, 1);
	assert_int_equal(vsw_fwd_turn(sw), 1);
	assert_int_equal(fn_ctr_get(&sw->port[1].ctr[FN_VSW_P_DROP_LINK_DOWN]), 1);
	/* It sleeps only briefly while a stack has not joined. */
	int64_t t0 = fn_clock_ns();
	assert_int_equal(vsw_sleep(sw, 1000), 0);
	assert_true(fn_clock_ns() - t0 < 500000000);
	vsw_fini(sw);
	free(sw);
}

/* ---- hostile stacks -------------------------------------------------------- */

/* Stack 2 writes a garbage descriptor: cut off and counted, the others
 * keep forwarding; a reset of its link (its restart) brings it back. */
static void test_hostile_garbage(void **state)
{
	struct fx *f = *state;
	struct fn_desc bad = { .off = 12345, .len = 10 };

	stk_send_ip(f, 0, bcast, 1);
	assert_int_equal(fn_ring_enqueue_burst(&f->st[2].l.tx.data, &bad, 1), 1);
	stk_send_ip(f, 1, bcast, 2);
	assert_int_equal(vsw_fwd_turn(&f->sw), 2);
	assert_int_equal(pctr(f, 2, FN_VSW_P_LINK_BROKEN), 1);
	assert_int_equal(fn_ctr_get(&f->sw.port[2].link.rx.ctr[FN_SC_BAD_OFF]), 1);
	assert_int_equal(stk_drain(f, 0, NULL, NULL), 1);
	assert_int_equal(stk_drain(f, 1, NULL, NULL), 1);
	/* Port 2 got both broadcasts (served before it was cut off), and
	 * nothing since. */
	assert_int_equal(stk_drain(f, 2, NULL, NULL), 2);
	assert_int_equal(pctr(f, 2, FN_VSW_P_DROP_LINK_DOWN), 0);
	for (uint32_t s = 0; s < 5; s++) {
		stk_send_ip(f, 0, bcast, s);
		vsw_fwd_turn(&f->sw);
	}
	assert_int_equal(stk_drain(f, 1, NULL, NULL), 5);
	assert_int_equal(pctr(f, 2, FN_VSW_P_DROP_LINK_DOWN), 5);
	assert_int_equal(pctr(f, 2, FN_VSW_P_LINK_BROKEN), 1);	/* once */
	/* Its stack restarts: the supervisor resets the link. */
	fn_link_detach(&f->st[2].l);
	assert_int_equal(fn_link_reset(f->st[2].link_fd), 0);
	stk_attach(&f->st[2]);
	vsw_fwd_turn(&f->sw);
	assert_int_equal(pctr(f, 2, FN_VSW_P_LINK_RESETS), 1);
	stk_send_ip(f, 2, bcast, 7);
	turn_expect(f, 1, 1, 1, -1);
	stk_send_ip(f, 0, f->st[2].id.mac, 8);	/* learnt again: unicast */
	turn_expect(f, 1, -1, 0, 1);
}

/* Stack 1 forges an ack while the switch has copies in hand for it: the
 * copies are given back and counted, port 1 is cut off. */
static void test_hostile_forged_ack(void **state)
{
	struct fx *f = *state;
	struct fn_desc bad = { .off = 3 * SLOT + 1, .len = 0 };

	/* Fill all but one of port 1's slots; stack 1 holds them. */
	for (uint32_t s = 0; s < NSLOTS - 1; s++)
		stk_send_ip(f, 0, f->st[1].id.mac, s);	/* unknown: flood */
	while (vsw_fwd_turn(&f->sw))
		;
	assert_int_equal(fn_stream_pending(&f->st[1].l.rx), NSLOTS - 1);
	assert_int_equal(stk_drain(f, 2, NULL, NULL), NSLOTS - 1);
	assert_int_equal(fn_ring_enqueue_burst(&f->st[1].l.rx.ret, &bad, 1), 1);
	/* Two frames: the first takes the last slot, the second must reclaim
	 * and finds the forged ack. */
	stk_send_ip(f, 0, bcast, 100);
	stk_send_ip(f, 0, bcast, 101);
	assert_int_equal(vsw_fwd_turn(&f->sw), 2);
	assert_int_equal(pctr(f, 1, FN_VSW_P_LINK_BROKEN), 1);
	assert_int_equal(pctr(f, 1, FN_VSW_P_DROP_LINK_DOWN), 2);
	assert_int_equal(pctr(f, 1, FN_VSW_P_TX_PKTS), NSLOTS - 1);
	assert_int_equal(fn_ctr_get(&f->sw.port[1].link.tx.ctr[FN_SC_BAD_OFF]), 1);
	/* Port 2 still gets what is for it. */
	assert_int_equal(stk_drain(f, 2, NULL, NULL), 2);
}

/* A port that floods the switch gets FN_VSW_BURST frames a turn; a port
 * with a little to send gets all of it through in the same turn. */
static void test_no_starvation(void **state)
{
	struct fx *f = *state;
	uint8_t b[SLOT];
	uint32_t len, seq;

	stk_send_ip(f, 2, bcast, 0);	/* port 2's MAC is learnt */
	vsw_fwd_turn(&f->sw);
	stk_drain(f, 0, NULL, NULL);
	stk_drain(f, 1, NULL, NULL);
	for (uint32_t s = 0; s < NSLOTS; s++)
		stk_send_ip(f, 0, f->st[2].id.mac, s);
	for (uint32_t s = 0; s < 4; s++)
		stk_send_ip(f, 1, f->st[2].id.mac, 1000 + s);
	for (unsigned first = 0; first < 2; first++) {
		f->sw.rr = first;	/* the flooder first, then second */
		assert_int_equal(vsw_fwd_turn(&f->sw),
				 FN_VSW_BURST + (first == 0 ? 4 : 0));
		assert_int_equal(pctr(f, 0, FN_VSW_P_RX_PKTS),
				 FN_VSW_BURST * (first + 1));
		assert_int_equal(pctr(f, 1, FN_VSW_P_RX_PKTS), 4);
		if (first == 0) {
			/* Port 1's frames went out in the first turn. */
			assert_int_equal(stk_drain(f, 2, b, &len),
					 FN_VSW_BURST + 4);
			memcpy(&seq, b + 34, 4);
			assert_int_equal(seq, 1003);
		}
	}
	assert_int_equal(stk_drain(f, 2, NULL, NULL), FN_VSW_BURST);
	assert_int_equal(pctr(f, 2, FN_VSW_P_DROP_NO_SLOT), 0);
}

/* ---- restarts ---------------------------------------------------------------- */

/* The switch dies and a new one attaches, to links whose stacks have
 * already moved on to later epochs: both sides join, MACs are relearnt. */
static void test_switch_restart(void **state)
{
	struct fx *f = *state;
	struct fn_pkt p;

	stk_send_ip(f, 0, bcast, 1);
	stk_send_ip(f, 1, f->st[0].id.mac, 2);
	vsw_fwd_turn(&f->sw);
	stk_send_ip(f, 1, f->st[0].id.mac, 3);	/* in flight when it dies */
	vsw_fini(&f->sw);			/* kill -9 */
	for (unsigned i = 0; i < NPORTS; i++) {
		/* The supervisor resets every port link, twice over for
		 * port 0 (a restart that failed), and the stacks join. */
		for (unsigned k = 0; k < (i == 0 ? 2u : 1u); k++)
			assert_int_equal(fn_link_reset(f->st[i].link_fd), 0);
		assert_int_equal(fn_stream_recv_burst(&f->st[i].l.rx, &p, 1),
				 -ECONNRESET);
		assert_int_equal(fn_stream_recv_burst(&f->st[i].l.rx, &p, 1), 0);
	}
	assert_int_equal(f->st[0].l.epoch, 3);
	sw_start(f);
	assert_int_equal(sctr(f, FN_VSW_FDB_LEARNED), 0);
	stk_send_ip(f, 1, f->st[0].id.mac, 4);	/* unknown again: flooded */
	turn_expect(f, 1, 1, -1, 1);
	stk_send_ip(f, 0, f->st[1].id.mac, 5);	/* learnt: unicast */
	turn_expect(f, 1, -1, 1, 0);
	assert_int_equal(pctr(f, 0, FN_VSW_P_LINK_RESETS), 0);
}

/* One stack restarts: its MACs are forgotten, the switch goes on. */
static void test_stack_restart(void **state)
{
	struct fx *f = *state;

	stk_send_ip(f, 1, bcast, 1);
	vsw_fwd_turn(&f->sw);
	assert_int_equal(vsw_fdb_lookup(&f->sw.fdb, f->st[1].id.mac,
					f->sw.now_ns), 1);
	stk_send_ip(f, 0, f->st[1].id.mac, 2);	/* lost with the stack */
	fn_link_detach(&f->st[1].l);
	assert_int_equal(fn_link_reset(f->st[1].link_fd), 0);
	vsw_fwd_turn(&f->sw);
	assert_int_equal(pctr(f, 1, FN_VSW_P_LINK_RESETS), 1);
	assert_int_equal(vsw_fdb_lookup(&f->sw.fdb, f->st[1].id.mac,
					f->sw.now_ns), -1);
	assert_int_equal(sctr(f, FN_VSW_FDB_FLUSHED), 1);
	stk_attach(&f->st[1]);
	stk_send_ip(f, 0, f->st[1].id.mac, 3);
	vsw_fwd_turn(&f->sw);
	assert_int_equal(stk_drain(f, 1, NULL, NULL), 1);
	assert_int_equal(pctr(f, 1, FN_VSW_P_LINK_RESETS), 1);
}

/* A stack restarts while the switch sleeps: the sleep itself follows the
 * reset, counts it once, and does not block. */
static void test_stack_restart_asleep(void **state)
{
	struct fx *f = *state;

	stk_send_ip(f, 1, bcast, 1);
	turn_expect(f, 1, 1, -1, 1);
	fn_link_detach(&f->st[1].l);
	assert_int_equal(fn_link_reset(f->st[1].link_fd), 0);
	int64_t t0 = fn_clock_ns();
	assert_int_equal(vsw_sleep(&f->sw, 1000), 0);
	assert_true(fn_clock_ns() - t0 < 500000000);
	assert_int_equal(pctr(f, 1, FN_VSW_P_LINK_RESETS), 1);
	assert_int_equal(vsw_fdb_lookup(&f->sw.fdb, f->st[1].id.mac,
					f->sw.now_ns), -1);
	stk_attach(&f->st[1]);
	stk_send_ip(f, 1, bcast, 2);
	turn_expect(f, 1, 1, -1, 1);
	assert_int_equal(pctr(f, 1, FN_VSW_P_LINK_RESETS), 1);
}

/* ---- sleeping on the bells ------------------------------------------------- */

static void test_sleep_idle_and_pending(void **state)
{
	struct fx *f = *state;
	int64_t t0 = fn_clock_ns();

	assert_int_equal(vsw_sleep(&f->sw, 30), 0);
	assert_true(fn_clock_ns() - t0 >= 20000000);
	assert_int_equal(sctr(f, FN_VSW_SLEEPS), 1);
	/* Frames waiting: no block at all. */
	stk_send_ip(f, 2, bcast, 1);
	t0 = fn_clock_ns();
	assert_int_equal(vsw_sleep(&f->sw, 5000), 0);
	assert_true(fn_clock_ns() - t0 < 1000000000);
	assert_int_equal(sctr(f, FN_VSW_SLEEPS), 1);
	assert_int_equal(vsw_fwd_turn(&f->sw), 1);
}

struct kick {
	struct fx *f;
	unsigned port;
	int64_t at;		/* when it submitted */
};

static void *kick_main(void *arg)
{
	struct kick *k = arg;
	uint8_t b[SLOT];
	struct fn_pkt p;
	uint32_t n;

	nanosleep(&(struct timespec){ 0, 30000000 }, NULL);
	n = put_ipv4(b, bcast, &k->f->st[k->port].id,
		     k->f->st[k->port].id.ipv4, 1, 8);
	if (fn_stream_alloc_burst(&k->f->st[k->port].l.tx, &p, 1) == 1) {
		memcpy(p.data, b, n);
		p.len = n;
		k->at = fn_clock_ns();
		fn_stream_submit_burst(&k->f->st[k->port].l.tx, &p, 1);
	}
	return NULL;
}

/* Asleep in epoll, the switch is woken by the stack's submit. */
static void test_sleep_woken_by_bell(void **state)
{
	struct fx *f = *state;
	struct kick k = { f, 1, 0 };
	pthread_t t;
	int64_t t0 = fn_clock_ns(), woke;
	int r;

	assert_int_equal(pthread_create(&t, NULL, kick_main, &k), 0);
	while ((r = vsw_sleep(&f->sw, 5000)) == 0 &&
	       fn_clock_ns() - t0 < 5000000000)
		;
	woke = fn_clock_ns();
	pthread_join(t, NULL);
	assert_int_equal(r, 1);
	assert_true(k.at > 0 && woke - t0 < 2000000000);
	assert_int_equal(sctr(f, FN_VSW_BELLS), 1);
	turn_expect(f, 1, 1, -1, -1);
}

/* ---- stress ------------------------------------------------------------------ */

#define STRESS_FRAMES	50000u
#define STRESS_WINDOW	(NSLOTS / 2)
#define STRESS_HDR	38u	/* put_ipv4() without payload */

/* One stack thread: sends STRESS_FRAMES to its peer, at most
 * STRESS_WINDOW ahead of what the peer received (so that no port is ever
 * full), and checks every frame it gets: in order, once, intact. */
struct pump {
	struct fx *f;
	unsigned me, peer;
	struct pump *other;
	_Atomic bool *stop;
	_Atomic uint32_t received;
	uint32_t sent;
	_Atomic unsigned errors;
};

/* Frame seq's payload: 0 .. a whole slot, so every length is used. */
static uint32_t stress_payload(uint32_t seq)
{
	return seq % (SLOT - STRESS_HDR + 1);
}

static void pump_send(struct pump *u)
{
	struct stk *s = &u->f->st[u->me];
	uint32_t room = STRESS_WINDOW -
		(u->sent - atomic_load(&u->other->received));
	uint32_t left = STRESS_FRAMES - u->sent;
	struct fn_pkt p[8];
	int n;

	if (room > left)
		room = left;
	n = fn_stream_alloc_burst(&s->l.tx, p, room < 8 ? room : 8);
	for (int i = 0; i < n; i++) {
		uint32_t seq = u->sent + (uint32_t)i;
		p[i].len = put_ipv4(p[i].data, u->f->st[u->peer].id.mac, &s->id,
				    s->id.ipv4, seq, stress_payload(seq));
	}
	if (n > 0 && fn_stream_submit_burst(&s->l.tx, p, (unsigned)n) != n)
		atomic_fetch_add(&u->errors, 1);
	if (n > 0)
		u->sent += (uint32_t)n;
}

/* Is p frame number want from the peer, byte for byte? */
static bool stress_frame_ok(struct pump *u, const struct fn_pkt *p,
			    uint32_t want)
{
	const struct vsw_id *from = &u->f->st[u->peer].id;
	uint8_t b[SLOT];
	uint32_t n = put_ipv4(b, u->f->st[u->me].id.mac, from, from->ipv4,
			      want, stress_payload(want));

	return p->len == n && memcmp(p->data, b, n) == 0;
}

static int pump_recv(struct pump *u)
{
	struct stk *s = &u->f->st[u->me];
	struct fn_pkt p[NSLOTS];
	uint32_t got = atomic_load(&u->received);
	int n = fn_stream_recv_burst(&s->l.rx, p, NSLOTS);
	unsigned bad = n < 0;

	for (int i = 0; i < n; i++)
		bad += !stress_frame_ok(u, &p[i], got + (uint32_t)i);
	if (n > 0) {
		bad += fn_stream_ack_burst(&s->l.rx, p, (unsigned)n) != n;
		atomic_store(&u->received, got + (uint32_t)n);
	}
	if (bad)
		atomic_fetch_add(&u->errors, bad);
	return n;
}

static void *pump_main(void *arg)
{
	struct pump *u = arg;

	while ((atomic_load(&u->received) < STRESS_FRAMES ||
		u->sent < STRESS_FRAMES) && !atomic_load(u->stop)) {
		uint32_t sent = u->sent;
		pump_send(u);
		if (pump_recv(u) == 0 && sent == u->sent)
			fn_stream_wait(&u->f->st[u->me].l.rx, 1000000);
	}
	return NULL;
}

static uint32_t pumped(struct pump *u)
{
	return atomic_load(&u[0].received) + atomic_load(&u[1].received);
}

/* Ports 0 and 1 exchange STRESS_FRAMES each way through a switch that
 * sleeps on its bells when idle: no loss, duplication or reordering. */
static void test_stress_pattern(void **state)
{
	struct fx *f = *state;
	_Atomic bool stop = false;
	struct pump u[2] = {
		{ .f = f, .me = 0, .peer = 1, .other = &u[1], .stop = &stop },
		{ .f = f, .me = 1, .peer = 0, .other = &u[0], .stop = &stop },
	};
	pthread_t t[2];
	int64_t t0 = fn_clock_ns();

	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, pump_main, &u[i]), 0);
	while (pumped(u) < 2 * STRESS_FRAMES &&
	       atomic_load(&u[0].errors) + atomic_load(&u[1].errors) == 0 &&
	       fn_clock_ns() - t0 < 60000000000ll) {
		if (vsw_fwd_turn(&f->sw) == 0)
			vsw_sleep(&f->sw, 5);
		stk_drain(f, 2, NULL, NULL);	/* floods before learning */
	}
	atomic_store(&stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(atomic_load(&u[i].errors), 0);
		assert_int_equal(atomic_load(&u[i].received), STRESS_FRAMES);
		assert_int_equal(pctr(f, i, FN_VSW_P_RX_PKTS), STRESS_FRAMES);
		assert_int_equal(pctr(f, i, FN_VSW_P_TX_PKTS), STRESS_FRAMES);
		assert_int_equal(pctr(f, i, FN_VSW_P_DROP_NO_SLOT), 0);
		assert_int_equal(pctr(f, i, FN_VSW_P_DROP_LINK_DOWN), 0);
	}
}

/* ---- a stack rewriting its slots while the switch reads them ------------ */

struct flipper {
	uint8_t *bulk;
	uint32_t nslots, slot_size;
	uint8_t good_mac0, good_ip0;
	_Atomic bool stop;
};

static void *flip_main(void *arg)
{
	struct flipper *fl = arg;

	for (unsigned k = 0; !atomic_load_explicit(&fl->stop,
						   memory_order_relaxed); k++)
		for (uint32_t s = 0; s < fl->nslots; s++) {
			volatile uint8_t *b = fl->bulk + s * fl->slot_size;
			b[6] = k & 1 ? fl->good_mac0 : fl->good_mac0 ^ 0x04;
			b[26] = k & 2 ? fl->good_ip0 : fl->good_ip0 ^ 0x01;
		}
	return NULL;
}

static void test_hostile_rewrites_header(void **state)
{
	struct fx *f = *state;
	const struct vsw_id *id = &f->st[0].id;
	struct flipper fl = {
		.bulk = f->st[0].l.tx.bulk, .nslots = NSLOTS, .slot_size = SLOT,
		.good_mac0 = id->mac[0], .good_ip0 = ((const uint8_t *)&id->ipv4)[0],
	};
	struct fn_pkt p[NSLOTS];
	uint64_t delivered = 0, bad = 0;
	pthread_t t;

	stk_send_ip(f, 1, bcast, 0);	/* port 1 is learnt */
	vsw_fwd_turn(&f->sw);
	stk_drain(f, 0, NULL, NULL);
	stk_drain(f, 2, NULL, NULL);
	assert_int_equal(pthread_create(&t, NULL, flip_main, &fl), 0);
	for (uint32_t round = 0; round < 2000; round++) {
		for (uint32_t s = 0; s < 8; s++)
			stk_send_ip(f, 0, f->st[1].id.mac, s);
		vsw_fwd_turn(&f->sw);
		int n = fn_stream_recv_burst(&f->st[1].l.rx, p, NSLOTS);
		assert_true(n >= 0);
		for (int i = 0; i < n; i++) {
			bad += memcmp(p[i].data + 6, id->mac, 6) != 0;
			bad += memcmp(p[i].data + 26, &id->ipv4, 4) != 0;
		}
		delivered += (uint64_t)n;
		assert_int_equal(fn_stream_ack_burst(&f->st[1].l.rx, p,
						     (unsigned)n), n);
	}
	atomic_store(&fl.stop, true);
	pthread_join(t, NULL);
	assert_int_equal(bad, 0);
	assert_int_equal(pctr(f, 0, FN_VSW_P_RX_PKTS),
			 delivered + pctr(f, 0, FN_VSW_P_DROP_SRC_MAC) +
			 pctr(f, 0, FN_VSW_P_DROP_SRC_IP));
	assert_int_equal(pctr(f, 0, FN_VSW_P_RX_PKTS), 2000 * 8);
}

/* ---- the stats page ---------------------------------------------------------- */

struct seen {
	unsigned n;
	uint64_t rx0, bad_off2, turns;
};

static void visit(void *arg, const char *name, uint64_t v)
{
	struct seen *s = arg;

	s->n++;
	if (!strcmp(name, "port0.rx_pkts"))
		s->rx0 = v;
	else if (!strcmp(name, "port2.link.rx.bad_off"))
		s->bad_off2 = v + 1;
	else if (!strcmp(name, "vsw.turns"))
		s->turns = v;
}

static void test_counters_on_stats_page(void **state)
{
	struct fx *f = *state;
	int fd = fn_stats_create(FN_VSW_COMPONENT, 0, FN_STATS_PAGE_SIZE);
	struct fn_stats_page *page;
	struct seen s = { 0 };

	assert_true(fd >= 0);
	page = fn_stats_attach(fd);
	assert_non_null(page);
	stk_send_ip(f, 0, bcast, 1);
	vsw_fwd_turn(&f->sw);
	vsw_bind_counters(&f->sw, page);	/* carries the counts over */
	stk_send_ip(f, 0, bcast, 2);
	vsw_fwd_turn(&f->sw);
	fn_stats_read(page, FN_STATS_PAGE_SIZE, visit, &s);
	assert_int_equal(s.n, FN_VSW_COUNT +
			 NPORTS * (FN_VSW_P_COUNT + 2 * FN_SC_COUNT));
	assert_int_equal(s.rx0, 2);
	assert_int_equal(s.turns, 2);
	assert_int_equal(s.bad_off2, 1);
	/* The page has room for the largest switch. */
	assert_true(FN_VSW_COUNT + FN_VSW_MAX_PORTS *
		    (FN_VSW_P_COUNT + 2 * FN_SC_COUNT) <=
		    (FN_STATS_PAGE_SIZE - sizeof(struct fn_stats_page)) /
		    FN_STATS_CTR_BYTES);
	vsw_fini(&f->sw);	/* before its counters go */
	munmap(page, FN_STATS_PAGE_SIZE);
	close(fd);
}

/* ---- the host port ---------------------------------------------------------- */

#define HOST	3	/* the host port's index, after the fixture's ports */

/* Attach a host port at index HOST on sp[0]; sp[1] is the kernel's side. */
static void host_attach(struct fx *f, int sp[2], struct vsw_id *id)
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
				    sp), 0);
	memcpy(id->mac, (uint8_t[6]){ 0x02, 0, 0, 0, 0, 0x04 }, 6);
	id->ipv4 = htonl(0x0a0000feu);
	assert_int_equal(vsw_port_attach_host(&f->sw, sp[0], id), 0);
	assert_true(vsw_port_is_host(&f->sw.port[HOST]));
	assert_true(fcntl(sp[0], F_GETFL) & O_NONBLOCK);
}

/* The kernel's side sends one frame. */
static void host_send(int fd, const uint8_t *b, uint32_t len)
{
	assert_int_equal(write(fd, b, len), (ssize_t)len);
}

/* The host's tap is a port like the others: its frames are judged by the
 * same check and flooded or forwarded, frames for its MAC are written to
 * it, and the switch sleeps on its fd. */
static void test_host_port(void **state)
{
	struct fx *f = *state;
	uint8_t b[SLOT], got[SLOT + 1];
	struct vsw_id id, spoof;
	uint32_t len;
	int sp[2];

	host_attach(f, sp, &id);
	len = put_ipv4(b, bcast, &id, id.ipv4, 1, 8);
	host_send(sp[1], b, len);
	turn_expect(f, 1, 1, 1, 1);		/* flooded to every stack */
	assert_int_equal(pctr(f, HOST, FN_VSW_P_RX_PKTS), 1);
	assert_int_equal(pctr(f, HOST, FN_VSW_P_FLOODED), 1);
	/* A stack answers the host's MAC: straight into the tap. */
	stk_send_ip(f, 1, id.mac, 7);
	turn_expect(f, 1, 0, 0, 0);
	assert_int_equal(read(sp[1], got, sizeof(got)), 14 + 24 + 8);
	assert_memory_equal(got, id.mac, 6);
	assert_memory_equal(got + 6, f->st[1].id.mac, 6);
	assert_int_equal(pctr(f, HOST, FN_VSW_P_TX_PKTS), 1);
	/* ... and the host learnt it: the next one is unicast. */
	host_send(sp[1], b, put_ipv4(b, f->st[1].id.mac, &id, id.ipv4, 2, 8));
	turn_expect(f, 1, 0, 1, 0);
	/* The kernel spoofs: dropped and counted on the host port. */
	spoof = id;
	spoof.mac[5] = 0x44;
	host_send(sp[1], b, put_ipv4(b, bcast, &spoof, id.ipv4, 3, 8));
	host_send(sp[1], b, put_ipv4(b, bcast, &id, htonl(0x0a000063u), 4, 8));
	turn_expect(f, 2, 0, 0, 0);
	assert_int_equal(pctr(f, HOST, FN_VSW_P_DROP_SRC_MAC), 1);
	assert_int_equal(pctr(f, HOST, FN_VSW_P_DROP_SRC_IP), 1);
	/* A frame too long for the tap is not written. */
	len = put_ipv4(b, id.mac, &f->st[0].id, f->st[0].id.ipv4, 5,
		       SLOT - 14 - 24);
	stk_send(f, 0, b, len);
	turn_expect(f, 1, 0, 0, 0);
	assert_int_equal(read(sp[1], got, sizeof(got)), (ssize_t)len);
	vsw_fini(&f->sw);
	close(sp[0]);
	close(sp[1]);
}

/* The switch asleep wakes for the host's frame, and then reads it. */
static void test_host_port_wakes(void **state)
{
	struct fx *f = *state;
	uint8_t b[SLOT];
	struct vsw_id id;
	int sp[2];

	host_attach(f, sp, &id);
	assert_int_equal(vsw_sleep(&f->sw, 20), 0);	/* nothing: times out */
	host_send(sp[1], b, put_ipv4(b, bcast, &id, id.ipv4, 1, 8));
	assert_int_equal(vsw_sleep(&f->sw, 5000), 1);
	turn_expect(f, 1, 1, 1, 1);
	/* A tap whose other side is gone: reads and writes fail, counted,
	 * and nothing else breaks (the binary ignores SIGPIPE; a real tap
	 * never raises it). */
	signal(SIGPIPE, SIG_IGN);
	close(sp[1]);
	assert_int_equal(vsw_fwd_turn(&f->sw), 0);
	stk_send_ip(f, 0, id.mac, 2);
	turn_expect(f, 1, -1, 0, 0);
	assert_int_equal(pctr(f, HOST, FN_VSW_P_DROP_LINK_DOWN), 1);
	stk_send_ip(f, 0, bcast, 3);		/* the others go on */
	turn_expect(f, 1, -1, 1, 1);
	assert_int_equal(pctr(f, HOST, FN_VSW_P_DROP_LINK_DOWN), 2);
	vsw_fini(&f->sw);
	close(sp[0]);
}

/* ---- the binary ------------------------------------------------------------- */

/* fragnet-vswitch on the fixture's ports, as the supervisor will start
 * it: table at 9, stats at 3, port fds at their conventional numbers. */
static pid_t vswitch_spawn(struct fx *f, int table_fd, int stats_fd)
{
	struct vsw_spawn_port ports[NPORTS];
	pid_t pid;

	for (unsigned i = 0; i < NPORTS; i++)
		ports[i] = (struct vsw_spawn_port){ f->st[i].link_fd,
			f->st[i].bell, f->st[i].peer_bell };
	pid = vsw_spawn(FN_VSWITCH_BIN, table_fd, stats_fd, -1, ports, NPORTS,
			FN_POLL_EVENT, -1);
	assert_true(pid > 0);
	return pid;
}

static int table_of(struct fx *f, bool bad)
{
	struct fn_vsw_port_ent e[NPORTS];

	for (unsigned i = 0; i < NPORTS; i++)
		vsw_spawn_ent(&e[i], i, f->st[i].id.mac, f->st[i].id.ipv4, true);
	if (bad) {	/* port 0's bell is a link, port 1's link a bell */
		e[0].bell_fd = (int32_t)FN_FD_VSW_LINK(1);
		e[1].link_fd = (int32_t)FN_FD_VSW_BELL(0);
	}
	int fd = fn_vsw_table_create("test", 0, e, NPORTS, NULL);
	assert_true(fd >= 0);
	return fd;
}

static int exit_status(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

struct page_seen {
	uint64_t rx0, tx1, tx2;
};

static void page_visit(void *arg, const char *name, uint64_t v)
{
	struct page_seen *s = arg;

	if (!strcmp(name, "port0.rx_pkts"))
		s->rx0 = v;
	else if (!strcmp(name, "port1.tx_pkts"))
		s->tx1 = v;
	else if (!strcmp(name, "port2.tx_pkts"))
		s->tx2 = v;
}

/* The binary takes over the fixture's ports (its switch died), forwards a
 * broadcast, counts it on its stats page, and exits 0 on SIGTERM. */
static void test_binary(void **state)
{
	struct fx *f = *state;
	int table = table_of(f, false);
	int stats = fn_stats_create(FN_VSW_COMPONENT, 0, FN_STATS_PAGE_SIZE);
	const struct fn_stats_page *page;
	struct page_seen seen = { 0 };
	pid_t pid;

	assert_true(stats >= 0);
	vsw_fini(&f->sw);
	pid = vswitch_spawn(f, table, stats);
	stk_send_ip(f, 0, bcast, 1);	/* before it even attached */
	for (unsigned i = 1; i < NPORTS; i++) {
		int64_t t0 = fn_clock_ns();
		while (fn_stream_pending(&f->st[i].l.rx) == 0 &&
		       fn_clock_ns() - t0 < 5000000000ll)
			fn_stream_wait(&f->st[i].l.rx, 10000000);
		assert_int_equal(stk_drain(f, i, NULL, NULL), 1);
	}
	kill(pid, SIGTERM);
	assert_int_equal(exit_status(pid), 0);
	page = fn_stats_map_ro(stats, FN_STATS_PAGE_SIZE);
	assert_non_null(page);
	fn_stats_read(page, FN_STATS_PAGE_SIZE, page_visit, &seen);
	assert_int_equal(seen.rx0, 1);
	assert_int_equal(seen.tx1, 1);
	assert_int_equal(seen.tx2, 1);
	fn_stats_unmap(page, FN_STATS_PAGE_SIZE);
	close(stats);
	close(table);
}

/* A table whose fds are not what it says: the binary exits 1. */
static void test_binary_bad_fds(void **state)
{
	struct fx *f = *state;
	int table = table_of(f, true);
	int stats = fn_stats_create(FN_VSW_COMPONENT, 0, FN_STATS_PAGE_SIZE);

	vsw_fini(&f->sw);
	assert_int_equal(exit_status(vswitch_spawn(f, table, stats)), 1);
	close(stats);
	close(table);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_table_round_trip),
		T(test_table_rejects),
		T(test_table_read_rejects),
		T(test_attach_table),
		T(test_learn_unicast),
		T(test_flood),
		T(test_drop_local),
		T(test_aging),
		T(test_fdb),
		T(test_spoof_src_mac),
		T(test_spoof_ipv4_src),
		T(test_spoof_arp),
		T(test_drop_causes),
		T(test_check_copies),
		T(test_too_big_for_port),
		T(test_capture_points),
		T(test_capture_hostile_client),
		T(test_destination_full),
		T(test_stack_absent),
		T(test_hostile_garbage),
		T(test_hostile_forged_ack),
		T(test_no_starvation),
		T(test_switch_restart),
		T(test_stack_restart),
		T(test_stack_restart_asleep),
		T(test_sleep_idle_and_pending),
		T(test_sleep_woken_by_bell),
		T(test_stress_pattern),
		T(test_hostile_rewrites_header),
		T(test_counters_on_stats_page),
		T(test_host_port),
		T(test_host_port_wakes),
		T(test_binary),
		T(test_binary_bad_fds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
