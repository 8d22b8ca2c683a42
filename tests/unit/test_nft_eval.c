/*
 * test_nft_eval.c - unit tests of the nf_tables evaluator (src/nft/nft.h,
 * src/nft/eval/): one or more per expression, chains and hooks, compile
 * refusals, counters carried over commits.  Models are built from
 * libnftnl objects as the netlink server keeps them (nft_eval_util.c);
 * packets are crafted IPv4 frames with correct sums.
 */
#include <arpa/inet.h>
#include <sched.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/chain.h>
#include <libnftnl/object.h>
#include <libnftnl/table.h>

#include "eval/nfe.h"
#include "nft_eval_util.h"

#define A1 IP4(10, 241, 1, 1)
#define A2 IP4(10, 241, 1, 2)
#define B1 IP4(10, 241, 2, 1)
#define IN NF_INET_LOCAL_IN

/* A one-rule ip table on input: the verdict for packet t. */
static struct fn_nft_ruleset *rs_input(struct fn_nft_chain **c,
				       uint32_t policy)
{
	struct fn_nft_ruleset *rs = m_new();
	struct fn_nft_table *t = m_table(rs, NFPROTO_IPV4, "t");

	*c = m_chain(rs, t, "input", IN, 0, policy);
	return rs;
}

static void test_empty(void **state)
{
	struct fn_nft_ruleset *rs = m_new();
	struct fn_nft_prog *p = t_compile(rs, NULL);
	struct t_pkt t;

	(void)state;
	t_tcp(&t, A1, A2, 1000, 22, TH_SYN, 0);
	assert_int_equal(t_eval(NULL, NULL, FN_NFT_INPUT, &t, NULL),
			 FN_NFT_ACCEPT);
	for (int h = 0; h < FN_NFT_NHOOKS; h++)
		assert_int_equal(t_eval(p, NULL, h, &t, NULL), FN_NFT_ACCEPT);
	assert_false(fn_nft_prog_fine_clock(p));	/* no limit */
	assert_false(fn_nft_prog_fine_clock(NULL));
	fn_nft_prog_free(p);
	m_free(rs);
}

static void test_policy(void **state)
{
	struct fn_nft_chain *c;
	struct fn_nft_ruleset *rs = rs_input(&c, NF_DROP);
	struct fn_nft_prog *p = t_compile(rs, NULL);
	struct t_pkt t;

	(void)state;
	t_udp(&t, A1, A2, 53, 53, 10);
	assert_int_equal(t_eval(p, NULL, FN_NFT_INPUT, &t, NULL), FN_NFT_DROP);
	assert_int_equal(t_eval(p, NULL, FN_NFT_OUTPUT, &t, NULL),
			 FN_NFT_ACCEPT);
	/* ARP never reaches the IP hooks */
	t.p.ethertype = 0x0806;
	t.p.nh = NULL;
	assert_int_equal(t_eval(p, NULL, FN_NFT_INPUT, &t, NULL),
			 FN_NFT_ACCEPT);
	fn_nft_prog_free(p);
	m_free(rs);
}

/* A dormant table's base chains do not run (the kernel unregisters its
 * hooks); waking it up is a new commit. */
static void test_dormant_table(void **state)
{
	struct fn_nft_chain *c;
	struct fn_nft_ruleset *rs = rs_input(&c, NF_DROP);
	struct fn_nft_prog *p;
	struct t_pkt t;

	(void)state;
	nftnl_table_set_u32(rs->tables[0]->nl, NFTNL_TABLE_FLAGS,
			    NFT_TABLE_F_DORMANT);
	p = t_compile(rs, NULL);
	t_udp(&t, A1, A2, 53, 53, 10);
	assert_int_equal(t_eval(p, NULL, FN_NFT_INPUT, &t, NULL),
			 FN_NFT_ACCEPT);
	fn_nft_prog_free(p);
	nftnl_table_set_u32(rs->tables[0]->nl, NFTNL_TABLE_FLAGS, 0);
	p = t_compile(rs, NULL);
	assert_int_equal(t_eval(p, NULL, FN_NFT_INPUT, &t, NULL), FN_NFT_DROP);
	fn_nft_prog_free(p);
	m_free(rs);
}

static void test_payload_cmp(void **state)
{
	struct fn_nft_chain *c;
	struct fn_nft_ruleset *rs = rs_input(&c, NF_ACCEPT);
	struct nftnl_rule *r = m_rule(rs, c, M_PROTO(6), M_DPORT(22),
				      e_counter(), e_verdict(NF_DROP, NULL),
				      NULL);
	struct fn_nft_prog *p = t_compile(rs, NULL);
	struct t_pkt t;

	(void)state;
	t_tcp(&t, A1, A2, 1000, 22, TH_SYN, 0);
	assert_int_equal(t_eval(p, NULL, FN_NFT_INPUT, &t, NULL), FN_NFT_DROP);
	t_tcp(&t, A1, A2, 1000, 80, TH_SYN, 0);
	assert_int_equal(t_eval(p, NULL, FN_NFT_INPUT, &t, NULL),
			 FN_NFT_ACCEPT);
	t_udp(&t, A1, A2, 1000, 22, 0);
	assert_int_equal(t_eval(p, NULL, FN_NFT_INPUT, &t, NULL),
			 FN_NFT_ACCEPT);
	assert_int_equal(t_packets(p, r, 4), 1);
	assert_int_equal(t_bytes(p, r, 4), 40);
	fn_nft_prog_free(p);
	m_free(rs);
}

/* Loads past the end, transport header of a later fragment, link layer
 * on the send side: NFT_BREAK, the rule does not match. */
static void test_payload_bounds(void **state)
{
	struct fn_nft_chain *c;
	struct fn_nft_ruleset *rs = rs_input(&c, NF_ACCEPT);
	struct nftnl_rule *r1, *r2, *r3, *r4, *r5;
	struct fn_nft_prog *p;
	struct t_pkt t;

	(void)state;
	r1 = m_rule(rs, c, e_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 20, 4,
				     NFT_REG_1), e_counter(), NULL);
	r2 = m_rule(rs, c, e_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2,
				     NFT_REG_1), e_counter(), NULL);
	r3 = m_rule(rs, c, e_payload(NFT_PAYLOAD_LL_HEADER, 12, 2, NFT_REG_1),
		    e_cmp16(NFT_REG_1, NFT_CMP_EQ, 0x0800), e_counter(), NULL);
	r4 = m_rule(rs, c, e_payload(NFT_PAYLOAD_NETWORK_HEADER, 36, 4,
				     NFT_REG_1), e_counter(), NULL);
	r5 = m_rule(rs, c, e_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 3,
				     NFT_REG_1), e_counter(), NULL);
	p = t_compile(rs, NULL);
	t_udp(&t, A1, A2, 1, 2, 12);	/* 40 bytes: 36..39 inside */
	t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
	assert_int_equal(t_packets(p, r1, 1), 0);
	assert_int_equal(t_packets(p, r2, 1), 1);
	assert_int_equal(t_packets(p, r3, 2), 1);
	assert_int_equal(t_packets(p, r4, 1), 1);
	t_udp(&t, A1, A2, 1, 2, 11);	/* 39 bytes, padded frame */
	t.p.l2_len += 8;
	t.p.nh_len += 8;
	t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
	assert_int_equal(t_packets(p, r4, 1), 1);	/* trimmed */
	t_udp(&t, A1, A2, 1, 2, 64);
	t_frag(&t, 8, 0);
	t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
	/* a later fragment has no transport header, but the kernel's fast
	 * loads (1, 2, 4 aligned bytes) read its bytes all the same */
	assert_int_equal(t_packets(p, r5, 1), 2);
	assert_int_equal(t_packets(p, r2, 1), 3);
	assert_int_equal(t_packets(p, r4, 1), 2);
	fn_nft_prog_free(p);
	m_free(rs);

	/* link layer on output: none */
	rs = m_new();
	c = m_chain(rs, m_table(rs, NFPROTO_IPV4, "t"), "out",
		    NF_INET_LOCAL_OUT, 0, NF_ACCEPT);
	r3 = m_rule(rs, c, e_payload(NFT_PAYLOAD_LL_HEADER, 12, 2, NFT_REG_1),
		    e_counter(), NULL);
	p = t_compile(rs, NULL);
	t_udp(&t, A1, A2, 1, 2, 12);
	t_eval(p, NULL, FN_NFT_OUTPUT, &t, NULL);
	assert_int_equal(t_packets(p, r3, 1), 0);
	fn_nft_prog_free(p);
	m_free(rs);
}

static void test_cmp_ops(void **state)
{
	static const struct { uint32_t op; int lt, eq, gt; } cases[] = {
		{ NFT_CMP_EQ, 0, 1, 0 }, { NFT_CMP_NEQ, 1, 0, 1 },
		{ NFT_CMP_LT, 1, 0, 0 }, { NFT_CMP_LTE, 1, 1, 0 },
		{ NFT_CMP_GT, 0, 0, 1 }, { NFT_CMP_GTE, 0, 1, 1 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fn_nft_chain *c;
		struct fn_nft_ruleset *rs = rs_input(&c, NF_ACCEPT);
		struct nftnl_rule *r = m_rule(rs, c,
			e_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1),
			e_cmp16(NFT_REG_1, cases[i].op, 1000), e_counter(),
			NULL);
		struct fn_nft_prog *p = t_compile(rs, NULL);
		struct t_pkt t;
		uint16_t ports[] = { 999, 1000, 1001 };
		uint64_t want = 0;

		for (int k = 0; k < 3; k++) {
			t_tcp(&t, A1, A2, 5, ports[k], TH_ACK, 0);
			t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
			want += k == 0 ? cases[i].lt : k == 1 ? cases[i].eq :
				cases[i].gt;
			assert_int_equal(t_packets(p, r, 2), want);
		}
		fn_nft_prog_free(p);
		m_free(rs);
	}
}

static void test_range(void **state)
{
	uint16_t lo = htons(1000), hi = htons(2000);
	struct fn_nft_chain *c;
	struct fn_nft_ruleset *rs = rs_input(&c, NF_ACCEPT);
	struct nftnl_rule *in = m_rule(rs, c,
		e_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1),
		e_range(NFT_REG_1, NFT_RANGE_EQ, &lo, &hi, 2), e_counter(),
		NULL);
	struct nftnl_rule *out = m_rule(rs, c,
		e_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1),
		e_range(NFT_REG_1, NFT_RANGE_NEQ, &lo, &hi, 2), e_counter(),
		NULL);
	struct fn_nft_prog *p = t_compile(rs, NULL);
	uint16_t ports[] = { 999, 1000, 1500, 2000, 2001, 65535 };
	struct t_pkt t;

	(void)state;
	for (int k = 0; k < 6; k++) {
		t_udp(&t, A1, A2, 5, ports[k], 0);
		t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
	}
	assert_int_equal(t_packets(p, in, 2), 3);
	assert_int_equal(t_packets(p, out, 2), 3);
	fn_nft_prog_free(p);
	m_free(rs);
}

static void test_bitwise(void **state)
{
	uint32_t mask = htonl(0xffffff00), zero = 0, net = htonl(IP4(10, 241, 1, 0));
	uint32_t one = 1, sixteen = 16;
	struct fn_nft_chain *c;
	struct fn_nft_ruleset *rs = rs_input(&c, NF_ACCEPT);
	/* ip saddr 10.241.1.0/24 */
	struct nftnl_rule *r1 = m_rule(rs, c,
		e_payload(NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1),
		e_bitwise(NFT_REG_1, NFT_REG_1, 4, &mask, &zero),
		e_cmp32(NFT_REG_1, NFT_CMP_EQ, net), e_counter(), NULL);
	/* 1 << 16 == 65536; 65536 >> 16 == 1 (host-order words) */
	struct nftnl_rule *r2 = m_rule(rs, c,
		e_imm(NFT_REG32_00, &one, 4),
		e_shift(NFT_REG32_00, NFT_REG32_01, 4, NFT_BITWISE_LSHIFT, 16),
		e_cmp32(NFT_REG32_01, NFT_CMP_EQ, 65536),
		e_shift(NFT_REG32_01, NFT_REG32_02, 4, NFT_BITWISE_RSHIFT, 16),
		e_cmp32(NFT_REG32_02, NFT_CMP_EQ, 1), e_counter(), NULL);
	struct fn_nft_prog *p = t_compile(rs, NULL);
	struct t_pkt t;

	(void)state;
	(void)sixteen;
	t_udp(&t, A1, A2, 5, 6, 0);
	t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
	t_udp(&t, B1, A2, 5, 6, 0);
	t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
	assert_int_equal(t_packets(p, r1, 3), 1);
	assert_int_equal(t_packets(p, r2, 5), 2);
	fn_nft_prog_free(p);
	m_free(rs);
}

/* `meta length > 100`: nft converts the host-order length first. */
static void test_byteorder(void **state)
{
	uint32_t be100 = htonl(100);
	struct fn_nft_chain *c;
	struct fn_nft_ruleset *rs = rs_input(&c, NF_ACCEPT);
	struct nftnl_rule *r = m_rule(rs, c, e_meta(NFT_META_LEN, NFT_REG_1),
		e_byteorder(NFT_REG_1, NFT_REG_1, NFT_BYTEORDER_HTON, 4, 4),
		e_cmp(NFT_REG_1, NFT_CMP_GT, &be100, 4), e_counter(), NULL);
	uint16_t be = htons(0x1234);
	struct nftnl_rule *r2 = m_rule(rs, c, e_imm(NFT_REG_2, &be, 2),
		e_byteorder(NFT_REG_2, NFT_REG_2, NFT_BYTEORDER_NTOH, 2, 2),
		e_cmp16(NFT_REG_2, NFT_CMP_EQ, 0x3412), e_counter(), NULL);
	struct fn_nft_prog *p = t_compile(rs, NULL);
	struct t_pkt t;

	(void)state;
	t_udp(&t, A1, A2, 5, 6, 72);	/* 100 bytes: not > 100 */
	t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
	t_udp(&t, A1, A2, 5, 6, 73);
	t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
	assert_int_equal(t_packets(p, r, 3), 1);
	assert_int_equal(t_packets(p, r2, 3), 2);
	fn_nft_prog_free(p);
	m_free(rs);
}

static struct nftnl_rule *meta_rule(struct fn_nft_ruleset *rs,
				    struct fn_nft_chain *c, uint32_t key,
				    const void *v, uint32_t len)
{
	return m_rule(rs, c, e_meta(key, NFT_REG_1),
		      e_cmp(NFT_REG_1, NFT_CMP_EQ, v, len), e_counter(), NULL);
}

static void test_meta(void **state)
{
	struct fn_nft_ruleset *rs = m_new();
	struct fn_nft_table *tb = m_table(rs, NFPROTO_INET, "t");
	struct fn_nft_chain *in = m_chain(rs, tb, "in", IN, 0, NF_ACCEPT);
	struct fn_nft_chain *out = m_chain(rs, tb, "out", NF_INET_LOCAL_OUT, 0,
					   NF_ACCEPT);
	uint32_t len = 48, ifx = 2, mark = 7, zero = 0;
	uint16_t proto = htons(0x0800);
	uint8_t nfp = NFPROTO_IPV4, l4 = 17, host = 0;
	char eth0[16] = "eth0", none[16] = "";
	struct nftnl_rule *r[10];
	struct t_pkt t;

	(void)state;
	r[0] = meta_rule(rs, in, NFT_META_LEN, &len, 4);
	r[1] = meta_rule(rs, in, NFT_META_PROTOCOL, &proto, 2);
	r[2] = meta_rule(rs, in, NFT_META_NFPROTO, &nfp, 1);
	r[3] = meta_rule(rs, in, NFT_META_L4PROTO, &l4, 1);
	r[4] = meta_rule(rs, in, NFT_META_IIF, &ifx, 4);
	r[5] = meta_rule(rs, in, NFT_META_IIFNAME, eth0, 16);
	r[6] = meta_rule(rs, in, NFT_META_OIFNAME, none, 16);
	r[7] = meta_rule(rs, in, NFT_META_PKTTYPE, &host, 1);
	/* meta mark set 7; then meta mark 7 */
	m_rule(rs, out, e_imm(NFT_REG_1, &mark, 4),
	       e_meta_set(NFT_META_MARK, NFT_REG_1), NULL);
	r[8] = meta_rule(rs, out, NFT_META_MARK, &mark, 4);
	r[9] = meta_rule(rs, out, NFT_META_IIF, &zero, 4);
	struct fn_nft_prog *p = t_compile(rs, NULL);

	t_udp(&t, A1, A2, 5, 6, 20);
	t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
	for (int i = 0; i < 8; i++)
		assert_int_equal(t_packets(p, r[i], 2), 1);
	t_eval(p, NULL, FN_NFT_OUTPUT, &t, NULL);
	assert_int_equal(t.p.mark, 7);
	assert_int_equal(t_packets(p, r[8], 2), 1);
	assert_int_equal(t_packets(p, r[9], 2), 1);
	fn_nft_prog_free(p);
	m_free(rs);
}

/* The other keys of nft_meta_get_eval: priority (set and read back),
 * cpu, the devices' group (0, where the hook has the device), random,
 * and the time of day from fn_nft_pkt.wall_ns. */
static void test_meta_more(void **state)
{
	struct fn_nft_ruleset *rs = m_new();
	struct fn_nft_table *tb = m_table(rs, NFPROTO_INET, "t");
	struct fn_nft_chain *in = m_chain(rs, tb, "in", IN, 0, NF_ACCEPT);
	uint32_t prio = 0x10001, zero = 0, hour = 1, cpu;
	/* 2019-07-01 00:00:01 UTC, a Monday */
	uint64_t ns = 1561939201ull * 1000000000ull + 5;
	uint8_t monday = 1;
	struct nftnl_rule *r[9];
	struct t_pkt t;
	cpu_set_t one;
	int c = sched_getcpu();

	(void)state;
	assert_true(c >= 0);
	cpu = (uint32_t)c;
	CPU_ZERO(&one);	/* so that meta cpu stays what it was */
	CPU_SET(c, &one);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	r[0] = meta_rule(rs, in, NFT_META_PRIORITY, &zero, 4);
	m_rule(rs, in, e_imm(NFT_REG_1, &prio, 4),
	       e_meta_set(NFT_META_PRIORITY, NFT_REG_1), NULL);
	r[1] = meta_rule(rs, in, NFT_META_PRIORITY, &prio, 4);
	r[2] = meta_rule(rs, in, NFT_META_CPU, &cpu, 4);
	r[3] = meta_rule(rs, in, NFT_META_IIFGROUP, &zero, 4);
	r[4] = meta_rule(rs, in, NFT_META_OIFGROUP, &zero, 4);
	r[5] = m_rule(rs, in, e_meta(NFT_META_PRANDOM, NFT_REG_1), e_counter(),
		      NULL);
	r[6] = meta_rule(rs, in, NFT_META_TIME_NS, &ns, 8);
	r[7] = meta_rule(rs, in, NFT_META_TIME_DAY, &monday, 1);
	r[8] = meta_rule(rs, in, NFT_META_TIME_HOUR, &hour, 4);
	struct fn_nft_prog *p = t_compile(rs, NULL);

	t_udp(&t, A1, A2, 5, 6, 20);
	t.p.wall_ns = ns;
	t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
	static const uint64_t want[9] = { 1, 1, 1, 1, 0, 1, 1, 1, 1 };
	for (int i = 0; i < 9; i++)
		assert_int_equal(t_packets(p, r[i], i == 5 ? 1 : 2), want[i]);
	assert_int_equal(t.p.priority, prio);
	/* without wall_ns the clock: not 1970, not 2019 */
	t_udp(&t, A1, A2, 5, 6, 20);
	t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
	assert_int_equal(t_packets(p, r[6], 2), 1);
	fn_nft_prog_free(p);
	m_free(rs);
}

/* meta skuid/skgid: the packet's socket owner, as the stack fills it
 * (fn_nft_pkt.sk); no socket is NFT_BREAK. */
static void test_meta_sk(void **state)
{
	struct fn_nft_ruleset *rs = m_new();
	struct fn_nft_table *tb = m_table(rs, NFPROTO_IPV4, "t");
	struct fn_nft_chain *out = m_chain(rs, tb, "out", NF_INET_LOCAL_OUT, 0,
					   NF_ACCEPT);
	uint32_t uid = 1000, gid = 100;
	struct nftnl_rule *r[3];
	struct t_pkt t;

	(void)state;
	r[0] = meta_rule(rs, out, NFT_META_SKUID, &uid, 4);
	r[1] = meta_rule(rs, out, NFT_META_SKGID, &gid, 4);
	r[2] = m_rule(rs, out, e_meta(NFT_META_SKUID, NFT_REG_1), e_counter(),
		      NULL);
	struct fn_nft_prog *p = t_compile(rs, NULL);

	assert_true(fn_nft_prog_uses_sk(p));
	t_udp(&t, A2, A1, 5, 6, 20);
	t_eval(p, NULL, FN_NFT_OUTPUT, &t, NULL);	/* no socket */
	t.p.sk = true;
	t.p.sk_uid = uid;
	t.p.sk_gid = gid;
	t_eval(p, NULL, FN_NFT_OUTPUT, &t, NULL);
	t.p.sk_uid = 0;
	t_eval(p, NULL, FN_NFT_OUTPUT, &t, NULL);
	assert_int_equal(t_packets(p, r[0], 2), 1);
	assert_int_equal(t_packets(p, r[1], 2), 2);
	assert_int_equal(t_packets(p, r[2], 1), 2);
	fn_nft_prog_free(p);
	m_free(rs);
}

/* A rule: exthdr (op, type, off, len, flags) == v (len bytes), counter. */
static struct nftnl_rule *xh_rule(struct fn_nft_ruleset *rs,
				  struct fn_nft_chain *c, uint32_t op,
				  uint8_t type, uint32_t off, uint32_t len,
				  uint32_t flags, const void *v)
{
	return m_rule(rs, c, e_exthdr(op, type, off, len, flags, NFT_REG_1),
		      e_cmp(NFT_REG_1, NFT_CMP_EQ, v, len), e_counter(), NULL);
}

/* nft_exthdr_tcp_eval and _sctp_eval: exists/missing never break, a
 * field of an option or chunk too short for it does. */
static void test_exthdr(void **state)
{
	struct fn_nft_ruleset *rs = m_new();
	struct fn_nft_table *tb = m_table(rs, NFPROTO_INET, "t");
	struct fn_nft_chain *in = m_chain(rs, tb, "in", IN, 0, NF_ACCEPT);
	const uint32_t T = NFT_EXTHDR_OP_TCPOPT, S = NFT_EXTHDR_OP_SCTP;
	const uint32_t P = NFT_EXTHDR_F_PRESENT;
	uint8_t yes = 1, no = 0, two = 2;
	uint16_t mss = htons(1460), stream = htons(0x1337);
	uint32_t zero = 0;
	struct nftnl_rule *r[10];
	struct t_pkt t;

	(void)state;
	r[0] = xh_rule(rs, in, T, 2, 0, 1, P, &yes);	/* maxseg exists */
	r[1] = xh_rule(rs, in, T, 2, 2, 2, 0, &mss);	/* maxseg size */
	r[2] = xh_rule(rs, in, T, 8, 0, 1, P, &no);	/* timestamp missing */
	r[3] = xh_rule(rs, in, T, 4, 1, 1, 0, &two);	/* sack-perm length */
	r[4] = xh_rule(rs, in, T, 3, 2, 1, 0, &zero);	/* window count */
	r[5] = xh_rule(rs, in, S, 0, 0, 1, P, &yes);	/* data exists */
	r[6] = xh_rule(rs, in, S, 0, 8, 2, 0, &stream);	/* data stream */
	r[7] = xh_rule(rs, in, S, 1, 0, 1, P, &yes);	/* init exists */
	r[8] = xh_rule(rs, in, S, 3, 0, 1, P, &no);	/* sack missing */
	r[9] = xh_rule(rs, in, S, 1, 16, 4, 0, &zero);	/* init tsn: short */
	struct fn_nft_prog *p = t_compile(rs, NULL);

	/* TCP, data offset 8: mss 1460, nop, nop, sack-perm, eol */
	static const uint8_t opts[12] = { 2, 4, 0x05, 0xb4, 1, 1, 4, 2, 0 };
	t_tcp(&t, A1, A2, 1000, 22, TH_SYN, 12);
	t.buf[14 + 20 + 12] = 8 << 4;
	memcpy(t.buf + 14 + 20 + 20, opts, sizeof(opts));
	t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
	/* SCTP: the common header, DATA (20 bytes, stream 0x1337), INIT of
	 * 16 (too short for its initial TSN at 16) */
	t_udp(&t, A1, A2, 5, 6, 40);
	t.buf[14 + 9] = 132;
	t_fix_ip_sum(&t);
	uint8_t *ch = t.buf + 14 + 20 + 12;
	memset(ch, 0, 36);
	ch[0] = 0, ch[3] = 20, ch[8] = 0x13, ch[9] = 0x37;
	ch[20] = 1, ch[23] = 16;
	t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
	/* missing: also in the packet of the other protocol */
	static const uint64_t want[10] = { 1, 1, 2, 1, 0, 1, 1, 1, 2, 0 };
	for (int i = 0; i < 10; i++)
		if (t_packets(p, r[i], 2) != want[i])
			fail_msg("rule %d: %llu", i,
				 (unsigned long long)t_packets(p, r[i], 2));
	fn_nft_prog_free(p);
	m_free(rs);
}

/* jump returns, goto does not, return pops, base policy at the end. */
static void test_jump_goto_return(void **state)
{
	struct fn_nft_ruleset *rs = m_new();
	struct fn_nft_table *tb = m_table(rs, NFPROTO_IPV4, "t");
	struct fn_nft_chain *in = m_chain(rs, tb, "in", IN, 0, NF_DROP);
	struct fn_nft_chain *a = m_chain(rs, tb, "a", -1, 0, 0);
	struct fn_nft_chain *b = m_chain(rs, tb, "b", -1, 0, 0);
	struct nftnl_rule *after, *ina, *inb;
	struct t_pkt t;

	(void)state;
	m_rule(rs, in, M_PROTO(17), e_verdict(NFT_JUMP, "a"), NULL);
	m_rule(rs, in, M_PROTO(6), e_verdict(NFT_GOTO, "b"), NULL);
	after = m_rule(rs, in, e_counter(), NULL);
	m_rule(rs, in, M_PROTO(1), e_verdict(NF_ACCEPT, NULL), NULL);
	m_rule(rs, a, M_DPORT(53), e_verdict(NF_ACCEPT, NULL), NULL);
	m_rule(rs, a, M_DPORT(54), e_verdict(NFT_RETURN, NULL), NULL);
	ina = m_rule(rs, a, e_counter(), NULL);
	m_rule(rs, b, M_DPORT(22), e_verdict(NF_ACCEPT, NULL), NULL);
	inb = m_rule(rs, b, e_counter(), NULL);
	struct fn_nft_prog *p = t_compile(rs, NULL);

	t_udp(&t, A1, A2, 5, 53, 0);
	assert_int_equal(t_eval(p, NULL, FN_NFT_INPUT, &t, NULL), FN_NFT_ACCEPT);
	t_udp(&t, A1, A2, 5, 54, 0);	/* return: back to in, then policy */
	assert_int_equal(t_eval(p, NULL, FN_NFT_INPUT, &t, NULL), FN_NFT_DROP);
	assert_int_equal(t_packets(p, after, 0), 1);
	assert_int_equal(t_packets(p, ina, 0), 0);
	t_udp(&t, A1, A2, 5, 55, 0);	/* end of a: back to in */
	assert_int_equal(t_eval(p, NULL, FN_NFT_INPUT, &t, NULL), FN_NFT_DROP);
	assert_int_equal(t_packets(p, ina, 0), 1);
	assert_int_equal(t_packets(p, after, 0), 2);
	t_tcp(&t, A1, A2, 5, 22, TH_SYN, 0);
	assert_int_equal(t_eval(p, NULL, FN_NFT_INPUT, &t, NULL), FN_NFT_ACCEPT);
	t_tcp(&t, A1, A2, 5, 23, TH_SYN, 0);	/* goto: end of b = policy */
	assert_int_equal(t_eval(p, NULL, FN_NFT_INPUT, &t, NULL), FN_NFT_DROP);
	assert_int_equal(t_packets(p, inb, 0), 1);
	assert_int_equal(t_packets(p, after, 0), 2);
	fn_nft_prog_free(p);
	m_free(rs);
}

static void test_loops_and_depth(void **state)
{
	char msg[256];
	char name[16], next[16];

	(void)state;
	/* a -> b -> a */
	struct fn_nft_ruleset *rs = m_new();
	struct fn_nft_table *tb = m_table(rs, NFPROTO_IPV4, "t");
	struct fn_nft_chain *a = m_chain(rs, tb, "a", -1, 0, 0);
	struct fn_nft_chain *b = m_chain(rs, tb, "b", -1, 0, 0);
	m_rule(rs, a, e_verdict(NFT_JUMP, "b"), NULL);
	m_rule(rs, b, e_verdict(NFT_GOTO, "a"), NULL);
	assert_int_equal(t_compile_err(rs, msg, sizeof(msg)), -ELOOP);
	m_free(rs);

	/* a chain of n jumps from the base chain */
	for (int n = 15; n <= 16; n++) {
		rs = m_new();
		tb = m_table(rs, NFPROTO_IPV4, "t");
		struct fn_nft_chain *base = m_chain(rs, tb, "in", IN, 0,
						    NF_ACCEPT);
		struct fn_nft_chain *prev = base;

		for (int i = 1; i <= n; i++) {
			snprintf(name, sizeof(name), "c%d", i);
			snprintf(next, sizeof(next), "c%d", i);
			struct fn_nft_chain *c = m_chain(rs, tb, name, -1, 0, 0);

			m_rule(rs, prev, e_verdict(NFT_JUMP, next), NULL);
			prev = c;
		}
		if (n == 15) {
			struct fn_nft_prog *p = t_compile(rs, NULL);
			struct t_pkt t;

			t_udp(&t, A1, A2, 1, 2, 0);
			assert_int_equal(t_eval(p, NULL, FN_NFT_INPUT, &t, NULL),
					 FN_NFT_ACCEPT);
			fn_nft_prog_free(p);
		} else {
			assert_int_equal(t_compile_err(rs, msg, sizeof(msg)),
					 -EMLINK);
		}
		m_free(rs);
	}

	/* jump to a base chain */
	rs = m_new();
	tb = m_table(rs, NFPROTO_IPV4, "t");
	a = m_chain(rs, tb, "in", IN, 0, NF_ACCEPT);
	m_chain(rs, tb, "out", NF_INET_LOCAL_OUT, 0, NF_ACCEPT);
	m_rule(rs, a, e_verdict(NFT_JUMP, "out"), NULL);
	assert_int_equal(t_compile_err(rs, msg, sizeof(msg)), -EOPNOTSUPP);
	m_free(rs);
}

/* Counters and quotas survive a commit when the rule stays. */
static void test_counter_carry(void **state)
{
	struct fn_nft_chain *c;
	struct fn_nft_ruleset *rs = rs_input(&c, NF_ACCEPT);
	struct nftnl_rule *r = m_rule(rs, c, e_counter(), NULL);
	struct nftnl_rule *q = m_rule(rs, c, e_quota(1000000, 0), NULL);
	struct fn_nft_prog *p = t_compile(rs, NULL), *p2;
	struct t_pkt t;

	(void)state;
	t_udp(&t, A1, A2, 1, 2, 72);
	for (int i = 0; i < 3; i++)
		t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
	assert_int_equal(t_packets(p, r, 0), 3);
	assert_int_equal(t_bytes(p, r, 0), 300);
	/* a new rule in front, same handles for the old ones */
	struct nftnl_rule *n = m_rule(rs, c, e_counter(), NULL);
	p2 = t_compile(rs, p);
	fn_nft_prog_free(p);
	assert_int_equal(t_packets(p2, r, 0), 3);
	assert_int_equal(t_bytes(p2, q, 0), 300);
	assert_int_equal(t_packets(p2, n, 0), 0);
	t_eval(p2, NULL, FN_NFT_INPUT, &t, NULL);
	assert_int_equal(t_packets(p2, r, 0), 4);
	assert_int_equal(t_packets(p2, n, 0), 1);
	uint64_t pk, by;
	assert_int_equal(fn_nft_expr_state(p2, r, 5, &pk, &by), -ENOENT);
	fn_nft_prog_free(p2);
	m_free(rs);
}

/* 10 packets per second, burst 5: the kernel's token bucket. */
static void test_limit(void **state)
{
	struct fn_nft_chain *c;
	struct fn_nft_ruleset *rs = rs_input(&c, NF_ACCEPT);
	struct nftnl_rule *r = m_rule(rs, c,
		e_limit(10, 1, 5, NFT_LIMIT_PKTS, 0), e_counter(), NULL);
	struct nftnl_rule *over = m_rule(rs, c,
		e_limit(10, 1, 5, NFT_LIMIT_PKTS, NFT_LIMIT_F_INV), e_counter(),
		NULL);
	/* 1000 bytes/s, burst 0: 10 packets of 100 bytes */
	struct nftnl_rule *by = m_rule(rs, c,
		e_limit(1000, 1, 0, NFT_LIMIT_PKT_BYTES, 0), e_counter(), NULL);
	struct fn_nft_prog *p = t_compile(rs, NULL);
	struct t_pkt t;

	(void)state;
	assert_true(fn_nft_prog_fine_clock(p));	/* ns token buckets */
	t_udp(&t, A1, A2, 1, 2, 72);
	for (int i = 0; i < 20; i++)
		t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
	assert_int_equal(t_packets(p, r, 1), 5);
	assert_int_equal(t_packets(p, over, 1), 15);
	assert_int_equal(t_packets(p, by, 1), 10);
	t.p.now_ns += 100000000;	/* 100 ms: one more token */
	for (int i = 0; i < 5; i++)
		t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
	assert_int_equal(t_packets(p, r, 1), 6);
	assert_int_equal(t_packets(p, by, 1), 11);
	t.p.now_ns += 10ull * 1000000000;	/* refills to the burst only */
	for (int i = 0; i < 10; i++)
		t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
	assert_int_equal(t_packets(p, r, 1), 11);
	/* carried over a commit */
	struct fn_nft_prog *p2 = t_compile(rs, p);
	fn_nft_prog_free(p);
	t_eval(p2, NULL, FN_NFT_INPUT, &t, NULL);
	assert_int_equal(t_packets(p2, r, 1), 11);
	fn_nft_prog_free(p2);
	m_free(rs);
}

static void test_quota(void **state)
{
	struct fn_nft_chain *c;
	struct fn_nft_ruleset *rs = rs_input(&c, NF_ACCEPT);
	struct nftnl_rule *until = m_rule(rs, c, e_quota(250, 0), e_counter(),
					  NULL);
	struct nftnl_rule *over = m_rule(rs, c, e_quota(250, NFT_QUOTA_F_INV),
					 e_counter(), NULL);
	struct fn_nft_prog *p = t_compile(rs, NULL);
	struct t_pkt t;

	(void)state;
	t_udp(&t, A1, A2, 1, 2, 72);	/* 100 bytes */
	for (int i = 0; i < 5; i++)
		t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
	/* consumed 100, 200 < 250 match; 300 >= 250 no longer */
	assert_int_equal(t_packets(p, until, 1), 2);
	assert_int_equal(t_packets(p, over, 1), 3);
	/* 500 consumed, dumped as the kernel does: no more than the quota */
	assert_int_equal(t_bytes(p, until, 0), 250);
	fn_nft_prog_free(p);
	m_free(rs);
}

/* Named objects: one state for every rule that names it (nft_objref),
 * carried over commits by (table, type, name, handle), read and reset
 * for GETOBJ(_RESET); a name no object has is refused. */
static void test_objects(void **state)
{
	struct fn_nft_chain *c;
	struct fn_nft_ruleset *rs = rs_input(&c, NF_ACCEPT);
	struct fn_nft_table *t = rs->tables[0];
	struct nftnl_obj *cnt = m_obj(rs, t, NFT_OBJECT_COUNTER, "cnt");
	struct nftnl_obj *q = m_obj(rs, t, NFT_OBJECT_QUOTA, "q");
	struct nftnl_obj *lim = m_obj(rs, t, NFT_OBJECT_LIMIT, "lim");
	uint64_t hc = nftnl_obj_get_u64(cnt, NFTNL_OBJ_HANDLE), pk, by;
	struct fn_nft_prog *p, *p2;
	struct nftnl_rule *rq, *rl;
	struct t_pkt t1;
	char msg[256];

	(void)state;
	nftnl_obj_set_u64(q, NFTNL_OBJ_QUOTA_BYTES, 250);
	nftnl_obj_set_u64(lim, NFTNL_OBJ_LIMIT_RATE, 10);
	nftnl_obj_set_u64(lim, NFTNL_OBJ_LIMIT_UNIT, 1);
	nftnl_obj_set_u32(lim, NFTNL_OBJ_LIMIT_BURST, 5);
	m_rule(rs, c, e_objref(NFT_OBJECT_COUNTER, "cnt"), NULL);
	m_rule(rs, c, e_objref(NFT_OBJECT_COUNTER, "cnt"), NULL);
	rq = m_rule(rs, c, e_objref(NFT_OBJECT_QUOTA, "q"), e_counter(), NULL);
	rl = m_rule(rs, c, e_objref(NFT_OBJECT_LIMIT, "lim"), e_counter(),
		    NULL);
	p = t_compile(rs, NULL);
	assert_true(fn_nft_prog_fine_clock(p));
	t_udp(&t1, A1, A2, 1, 2, 72);	/* 100 bytes */
	for (int i = 0; i < 10; i++)
		t_eval(p, NULL, FN_NFT_INPUT, &t1, NULL);
	/* two rules, one counter */
	assert_int_equal(fn_nft_obj_state(p, NFPROTO_IPV4, "t",
					  NFT_OBJECT_COUNTER, "cnt", hc, false,
					  &pk, &by), 0);
	assert_int_equal(pk, 20);
	assert_int_equal(by, 2000);
	assert_int_equal(t_packets(p, rq, 1), 2);	/* 100, 200 < 250 */
	assert_int_equal(t_packets(p, rl, 1), 5);	/* the burst */
	assert_int_equal(fn_nft_obj_state(p, NFPROTO_IPV4, "t",
					  NFT_OBJECT_QUOTA, "q",
					  nftnl_obj_get_u64(q, NFTNL_OBJ_HANDLE),
					  false, &pk, &by), 0);
	assert_int_equal(by, 1000);	/* uncapped: nl_dump caps it */
	/* a limit lists no state; another handle is another object */
	assert_int_equal(fn_nft_obj_state(p, NFPROTO_IPV4, "t",
					  NFT_OBJECT_LIMIT, "lim",
					  nftnl_obj_get_u64(lim, NFTNL_OBJ_HANDLE),
					  false, &pk, &by), -ENOENT);
	assert_int_equal(fn_nft_obj_state(p, NFPROTO_IPV4, "t",
					  NFT_OBJECT_COUNTER, "cnt", hc + 100,
					  false, &pk, &by), -ENOENT);
	/* carried over a commit, then reset */
	p2 = t_compile(rs, p);
	fn_nft_prog_free(p);
	t_eval(p2, NULL, FN_NFT_INPUT, &t1, NULL);
	assert_int_equal(t_packets(p2, rq, 1), 2);	/* still over */
	assert_int_equal(t_packets(p2, rl, 1), 5);	/* no new token */
	assert_int_equal(fn_nft_obj_state(p2, NFPROTO_IPV4, "t",
					  NFT_OBJECT_COUNTER, "cnt", hc, true,
					  &pk, &by), 0);
	assert_int_equal(pk, 22);
	assert_int_equal(fn_nft_obj_state(p2, NFPROTO_IPV4, "t",
					  NFT_OBJECT_COUNTER, "cnt", hc, false,
					  &pk, &by), 0);
	assert_int_equal(pk, 0);
	assert_int_equal(by, 0);
	fn_nft_prog_free(p2);
	/* a name no object of that type has */
	m_rule(rs, c, e_objref(NFT_OBJECT_QUOTA, "cnt"), NULL);
	assert_int_equal(t_compile_err(rs, msg, sizeof(msg)), -ENOENT);
	m_free(rs);
}

/* `counter name tcp dport map { 22 : "a", 80 : "b" }`: an object map
 * (nft_objref_map_eval); a key without element breaks the rule. */
static void test_object_map(void **state)
{
	struct fn_nft_chain *c;
	struct fn_nft_ruleset *rs = rs_input(&c, NF_ACCEPT);
	struct fn_nft_table *t = rs->tables[0];
	struct nftnl_obj *a = m_obj(rs, t, NFT_OBJECT_COUNTER, "a");
	struct nftnl_obj *b = m_obj(rs, t, NFT_OBJECT_COUNTER, "b");
	struct fn_nft_set *m = m_set(rs, t, "m", NFT_SET_OBJECT, 2, 0, 0);
	static const uint16_t ports[] = { 22, 80 };
	static const char *const names[] = { "a", "b" };
	struct nftnl_rule *r;
	struct fn_nft_prog *p;
	struct t_pkt t1;
	uint64_t pk, by;
	char msg[256];

	(void)state;
	nftnl_set_set_u32(m->nl, NFTNL_SET_OBJ_TYPE, NFT_OBJECT_COUNTER);
	for (int i = 0; i < 2; i++) {
		struct nftnl_set_elem *e = nftnl_set_elem_alloc();
		uint16_t k = htons(ports[i]);

		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &k, sizeof(k));
		nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_OBJREF, names[i]);
		nftnl_set_elem_add(m->nl, e);
	}
	struct nftnl_expr *o = nftnl_expr_alloc("objref");
	nftnl_expr_set_u32(o, NFTNL_EXPR_OBJREF_SET_SREG, NFT_REG_1);
	nftnl_expr_set_str(o, NFTNL_EXPR_OBJREF_SET_NAME, "m");
	m_rule(rs, c, e_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1),
	       o, NULL);
	r = m_rule(rs, c, e_counter(), NULL);
	p = t_compile(rs, NULL);
	t_tcp(&t1, A1, A2, 1000, 22, TH_SYN, 0);
	t_eval(p, NULL, FN_NFT_INPUT, &t1, NULL);
	t_eval(p, NULL, FN_NFT_INPUT, &t1, NULL);
	t_tcp(&t1, A1, A2, 1000, 80, TH_SYN, 0);
	t_eval(p, NULL, FN_NFT_INPUT, &t1, NULL);
	t_tcp(&t1, A1, A2, 1000, 443, TH_SYN, 0);
	t_eval(p, NULL, FN_NFT_INPUT, &t1, NULL);
	assert_int_equal(fn_nft_obj_state(p, NFPROTO_IPV4, "t",
			 NFT_OBJECT_COUNTER, "a",
			 nftnl_obj_get_u64(a, NFTNL_OBJ_HANDLE), false, &pk,
			 &by), 0);
	assert_int_equal(pk, 2);
	assert_int_equal(fn_nft_obj_state(p, NFPROTO_IPV4, "t",
			 NFT_OBJECT_COUNTER, "b",
			 nftnl_obj_get_u64(b, NFTNL_OBJ_HANDLE), false, &pk,
			 &by), 0);
	assert_int_equal(pk, 1);
	assert_int_equal(t_packets(p, r, 0), 4);	/* a break goes on */
	fn_nft_prog_free(p);
	/* an element naming no such object */
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();
	uint16_t k = htons(53);
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &k, sizeof(k));
	nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_OBJREF, "nosuch");
	nftnl_set_elem_add(m->nl, e);
	assert_int_equal(t_compile_err(rs, msg, sizeof(msg)), -ENOENT);
	m_free(rs);
}

/* Objects checked as the kernel's nft_obj_init: quota flags, a limit's
 * rate, types that are not kept. */
static void test_object_refusals(void **state)
{
	static const struct { uint32_t type; uint16_t attr; uint64_t v;
			      int err; } bad[] = {
		{ NFT_OBJECT_QUOTA, NFTNL_OBJ_QUOTA_FLAGS, 2, -EINVAL },
		{ NFT_OBJECT_LIMIT, NFTNL_OBJ_LIMIT_RATE, 0, -EINVAL },
		{ NFT_OBJECT_LIMIT, NFTNL_OBJ_LIMIT_TYPE, 7, -EOPNOTSUPP },
		{ NFT_OBJECT_CT_HELPER, 0, 0, -EOPNOTSUPP },
	};
	char msg[256];

	(void)state;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fn_nft_chain *c;
		struct fn_nft_ruleset *rs = rs_input(&c, NF_ACCEPT);
		struct nftnl_obj *o = m_obj(rs, rs->tables[0], bad[i].type,
					    "o");

		if (bad[i].type == NFT_OBJECT_QUOTA) {
			nftnl_obj_set_u64(o, NFTNL_OBJ_QUOTA_BYTES, 10);
			nftnl_obj_set_u32(o, bad[i].attr, (uint32_t)bad[i].v);
		} else if (bad[i].type == NFT_OBJECT_LIMIT) {
			nftnl_obj_set_u64(o, NFTNL_OBJ_LIMIT_RATE, 10);
			nftnl_obj_set_u64(o, NFTNL_OBJ_LIMIT_UNIT, 1);
			if (bad[i].attr == NFTNL_OBJ_LIMIT_RATE)
				nftnl_obj_set_u64(o, bad[i].attr, bad[i].v);
			else
				nftnl_obj_set_u32(o, bad[i].attr,
						  (uint32_t)bad[i].v);
		}
		assert_int_equal(t_compile_err(rs, msg, sizeof(msg)),
				 bad[i].err);
		m_free(rs);
	}
}

static void test_log(void **state)
{
	struct fn_nft_chain *c;
	struct fn_nft_ruleset *rs = rs_input(&c, NF_ACCEPT);
	struct nftnl_rule *r = m_rule(rs, c, e_log("test: "), e_counter(), NULL);
	struct fn_nft_prog *p = t_compile(rs, NULL);
	struct t_pkt t;

	(void)state;
	t_tcp(&t, A1, A2, 1, 2, TH_SYN, 0);
	for (int i = 0; i < 50; i++)	/* rate-limited: 20 lines */
		t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
	assert_int_equal(t_packets(p, r, 1), 50);
	fn_nft_prog_free(p);
	m_free(rs);
}

static void test_reject(void **state)
{
	struct fn_nft_result res;
	struct t_pkt t;
	char msg[256];

	(void)state;
	for (int fam = 0; fam < 2; fam++) {
		struct fn_nft_ruleset *rs = m_new();
		struct fn_nft_table *tb = m_table(rs, fam ? NFPROTO_INET :
						  NFPROTO_IPV4, "t");
		struct fn_nft_chain *c = m_chain(rs, tb, "in", IN, 0, NF_ACCEPT);

		m_rule(rs, c, M_DPORT(1), e_reject(NFT_REJECT_ICMP_UNREACH, 10),
		       NULL);
		m_rule(rs, c, M_DPORT(2), e_reject(NFT_REJECT_TCP_RST, -1), NULL);
		m_rule(rs, c, M_DPORT(3),
		       e_reject(NFT_REJECT_ICMPX_UNREACH,
				NFT_REJECT_ICMPX_ADMIN_PROHIBITED), NULL);
		struct fn_nft_prog *p = t_compile(rs, NULL);

		t_udp(&t, A1, A2, 9, 1, 0);
		assert_int_equal(t_eval(p, NULL, FN_NFT_INPUT, &t, &res),
				 FN_NFT_DROP);
		assert_int_equal(res.reject, FN_NFT_REJECT_ICMP);
		assert_int_equal(res.reject_code, 10);
		t_tcp(&t, A1, A2, 9, 2, TH_SYN, 0);
		t_eval(p, NULL, FN_NFT_INPUT, &t, &res);
		assert_int_equal(res.reject, FN_NFT_REJECT_TCP_RST);
		t_tcp(&t, A1, A2, 9, 2, TH_RST, 0);	/* no reset to a reset */
		assert_int_equal(t_eval(p, NULL, FN_NFT_INPUT, &t, &res),
				 FN_NFT_DROP);
		assert_int_equal(res.reject, FN_NFT_REJECT_NONE);
		t_udp(&t, A1, A2, 9, 2, 0);		/* reset: TCP only */
		assert_int_equal(t_eval(p, NULL, FN_NFT_INPUT, &t, &res),
				 FN_NFT_DROP);
		assert_int_equal(res.reject, FN_NFT_REJECT_NONE);
		t_udp(&t, A1, A2, 9, 3, 0);		/* icmpx: inet only */
		t_eval(p, NULL, FN_NFT_INPUT, &t, &res);
		assert_int_equal(res.reject, fam ? FN_NFT_REJECT_ICMP :
				 FN_NFT_REJECT_NONE);
		if (fam)
			assert_int_equal(res.reject_code, 13);
		fn_nft_prog_free(p);
		m_free(rs);
	}
	struct fn_nft_ruleset *rs = m_new();
	m_rule(rs, m_chain(rs, m_table(rs, NFPROTO_IPV4, "t"), "post",
			   NF_INET_POST_ROUTING, 0, NF_ACCEPT),
	       e_reject(NFT_REJECT_TCP_RST, -1), NULL);
	assert_int_equal(t_compile_err(rs, msg, sizeof(msg)), -EOPNOTSUPP);
	m_free(rs);
}

/* Priorities order the base chains; a drop ends the hook. */
static void test_hook_order(void **state)
{
	struct fn_nft_ruleset *rs = m_new();
	struct fn_nft_table *t1 = m_table(rs, NFPROTO_IPV4, "a");
	struct fn_nft_table *t2 = m_table(rs, NFPROTO_INET, "b");
	struct fn_nft_chain *late = m_chain(rs, t1, "late", IN, 10, NF_ACCEPT);
	struct fn_nft_chain *early = m_chain(rs, t2, "early", IN, -10,
					     NF_ACCEPT);
	struct nftnl_rule *rl = m_rule(rs, late, e_counter(), NULL);
	struct nftnl_rule *re = m_rule(rs, early, e_counter(), NULL);
	m_rule(rs, early, M_DPORT(9), e_verdict(NF_DROP, NULL), NULL);
	m_rule(rs, early, e_verdict(NF_ACCEPT, NULL), NULL);
	struct fn_nft_prog *p = t_compile(rs, NULL);
	struct t_pkt t;

	(void)state;
	t_udp(&t, A1, A2, 1, 9, 0);
	assert_int_equal(t_eval(p, NULL, FN_NFT_INPUT, &t, NULL), FN_NFT_DROP);
	assert_int_equal(t_packets(p, re, 0), 1);
	assert_int_equal(t_packets(p, rl, 0), 0);
	t_udp(&t, A1, A2, 1, 8, 0);	/* accept goes on to the next chain */
	assert_int_equal(t_eval(p, NULL, FN_NFT_INPUT, &t, NULL),
			 FN_NFT_ACCEPT);
	assert_int_equal(t_packets(p, rl, 0), 1);
	fn_nft_prog_free(p);
	m_free(rs);
}

static void test_netdev_ingress(void **state)
{
	struct fn_nft_ruleset *rs = m_new();
	struct fn_nft_table *tb = m_table(rs, NFPROTO_NETDEV, "n");
	struct fn_nft_chain *c = m_chain(rs, tb, "ingress", NF_NETDEV_INGRESS,
					 0, NF_ACCEPT);
	uint16_t arp = htons(0x0806);
	uint8_t nfp = NFPROTO_NETDEV;
	struct nftnl_rule *ra = m_rule(rs, c,
		e_meta(NFT_META_PROTOCOL, NFT_REG_1),
		e_cmp(NFT_REG_1, NFT_CMP_EQ, &arp, 2), e_counter(), NULL);
	struct nftnl_rule *rn = m_rule(rs, c,
		e_meta(NFT_META_NFPROTO, NFT_REG_1),
		e_cmp(NFT_REG_1, NFT_CMP_EQ, &nfp, 1), e_counter(), NULL);
	uint16_t ether = 1;	/* ARPHRD_ETHER: what `ether type` checks */
	struct nftnl_rule *rt = m_rule(rs, c,
		e_meta(NFT_META_IIFTYPE, NFT_REG_1),
		e_cmp(NFT_REG_1, NFT_CMP_EQ, &ether, 2), e_counter(), NULL);
	struct nftnl_rule *ro = m_rule(rs, c,
		e_meta(NFT_META_OIFTYPE, NFT_REG_1), e_counter(), NULL);
	m_rule(rs, c, M_DPORT(7), e_verdict(NF_DROP, NULL), NULL);
	struct fn_nft_prog *p = t_compile(rs, NULL);
	struct t_pkt t;

	(void)state;
	t_udp(&t, A1, A2, 1, 7, 0);
	assert_int_equal(t_eval(p, NULL, FN_NFT_INGRESS, &t, NULL), FN_NFT_DROP);
	assert_int_equal(t_eval(p, NULL, FN_NFT_INPUT, &t, NULL), FN_NFT_ACCEPT);
	t.p.iifname = "eth1";	/* another device: not this chain */
	assert_int_equal(t_eval(p, NULL, FN_NFT_INGRESS, &t, NULL),
			 FN_NFT_ACCEPT);
	t.p.iifname = "eth0";
	t.p.ethertype = 0x0806;
	t.buf[12] = 0x08;
	t.buf[13] = 0x06;
	t.p.nh = NULL;
	assert_int_equal(t_eval(p, NULL, FN_NFT_INGRESS, &t, NULL),
			 FN_NFT_ACCEPT);
	assert_int_equal(t_packets(p, ra, 2), 1);
	assert_int_equal(t_packets(p, rn, 2), 2);
	assert_int_equal(t_packets(p, rt, 2), 2);
	assert_int_equal(t_packets(p, ro, 1), 0);	/* no output device */
	fn_nft_prog_free(p);
	m_free(rs);
}

/* inet ingress: IPv4 only, as NFPROTO_IPV4; a bad header is dropped. */
static void test_inet_ingress(void **state)
{
	struct fn_nft_ruleset *rs = m_new();
	struct fn_nft_table *tb = m_table(rs, NFPROTO_INET, "i");
	struct fn_nft_chain *c = m_chain(rs, tb, "ing", NF_INET_INGRESS, 0,
					 NF_ACCEPT);
	uint8_t nfp = NFPROTO_IPV4;

	nftnl_chain_set_str(c->nl, NFTNL_CHAIN_DEV, "eth0");
	struct nftnl_rule *r = m_rule(rs, c,
		e_meta(NFT_META_NFPROTO, NFT_REG_1),
		e_cmp(NFT_REG_1, NFT_CMP_EQ, &nfp, 1), e_counter(), NULL);
	struct fn_nft_prog *p = t_compile(rs, NULL);
	struct t_pkt t;

	(void)state;
	t_udp(&t, A1, A2, 1, 2, 0);
	assert_int_equal(t_eval(p, NULL, FN_NFT_INGRESS, &t, NULL),
			 FN_NFT_ACCEPT);
	t.buf[14] = 0x44;		/* header length 16 */
	assert_int_equal(t_eval(p, NULL, FN_NFT_INGRESS, &t, NULL), FN_NFT_DROP);
	t.p.ethertype = 0x0806;		/* not IP: passes unjudged */
	t.p.nh = NULL;
	assert_int_equal(t_eval(p, NULL, FN_NFT_INGRESS, &t, NULL),
			 FN_NFT_ACCEPT);
	assert_int_equal(t_packets(p, r, 2), 1);
	fn_nft_prog_free(p);
	m_free(rs);
}

/* IPv6 at ingress: the transport after the extension headers. */
static void test_ipv6_ingress(void **state)
{
	struct fn_nft_ruleset *rs = m_new();
	struct fn_nft_chain *c = m_chain(rs, m_table(rs, NFPROTO_NETDEV, "n"),
					 "ing", NF_NETDEV_INGRESS, 0, NF_ACCEPT);
	uint8_t udp = 17;
	struct nftnl_rule *r = m_rule(rs, c,
		e_meta(NFT_META_L4PROTO, NFT_REG_1),
		e_cmp(NFT_REG_1, NFT_CMP_EQ, &udp, 1), M_DPORT(53), e_counter(),
		NULL);
	struct fn_nft_prog *p = t_compile(rs, NULL);
	struct t_pkt t;
	uint8_t *v6 = t.buf + 14;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.buf[12] = 0x86;
	t.buf[13] = 0xdd;
	v6[0] = 0x60;
	v6[5] = 8 + 8;		/* hop-by-hop (8) + UDP (8) */
	v6[6] = 0;		/* next: hop-by-hop */
	v6[40] = 17;		/* its next: UDP */
	v6[48 + 3] = 53;	/* dport 53 */
	t.p.l2 = t.buf;
	t.p.l2_len = 14 + 56;
	t.p.ethertype = 0x86dd;
	t.p.iifname = "eth0";
	t_eval(p, NULL, FN_NFT_INGRESS, &t, NULL);
	assert_int_equal(t_packets(p, r, 4), 1);
	v6[5] = 100;		/* payload past the end: no transport */
	t_eval(p, NULL, FN_NFT_INGRESS, &t, NULL);
	assert_int_equal(t_packets(p, r, 4), 1);
	v6[5] = 16;		/* a header longer than the packet (fuzz) */
	v6[41] = 20;
	t_eval(p, NULL, FN_NFT_INGRESS, &t, NULL);
	assert_int_equal(t_packets(p, r, 4), 1);
	fn_nft_prog_free(p);
	m_free(rs);
}

/* What ip_rcv() discards never reaches prerouting. */
static void test_invalid_ipv4(void **state)
{
	struct fn_nft_chain *c;
	struct fn_nft_ruleset *rs = m_new();
	c = m_chain(rs, m_table(rs, NFPROTO_IPV4, "t"), "pre",
		    NF_INET_PRE_ROUTING, 0, NF_ACCEPT);
	struct nftnl_rule *r = m_rule(rs, c, e_counter(), NULL);
	struct fn_nft_prog *p = t_compile(rs, NULL);
	struct t_pkt t;

	(void)state;
	t_udp(&t, A1, A2, 1, 2, 0);
	t.buf[14 + 10] ^= 1;		/* header sum */
	assert_int_equal(t_eval(p, NULL, FN_NFT_PREROUTING, &t, NULL),
			 FN_NFT_DROP);
	t_udp(&t, A1, A2, 1, 2, 0);
	t.p.nh_len = 27;		/* shorter than tot_len */
	assert_int_equal(t_eval(p, NULL, FN_NFT_PREROUTING, &t, NULL),
			 FN_NFT_DROP);
	t_udp(&t, A1, A2, 1, 2, 0);
	t.buf[14] = 0x44;		/* ihl 4 */
	t_fix_ip_sum(&t);
	assert_int_equal(t_eval(p, NULL, FN_NFT_PREROUTING, &t, NULL),
			 FN_NFT_DROP);
	assert_int_equal(t_packets(p, r, 0), 0);
	fn_nft_prog_free(p);
	m_free(rs);
}

/* queue without a listener (drop; bypass: accept), numgen inc, jhash
 * (lookup3's published vectors), symhash the same both ways, log group
 * (nothing), meta cgroup (0 for the app's sockets, no match without). */
static void test_queue_numgen_hash(void **state)
{
	struct fn_nft_chain *c;
	struct fn_nft_ruleset *rs = rs_input(&c, NF_DROP);
	struct nftnl_expr *q = e_named("queue"), *sym = e_named("hash");
	struct nftnl_expr *cg = e_meta(NFT_META_CGROUP, NFT_REG_1);
	struct nftnl_expr *lg = e_log(NULL);
	struct t_pkt t;

	(void)state;
	assert_int_equal(nfe_jhash("", 0, 0), 0xdeadbeef);
	assert_int_equal(nfe_jhash("Four score and seven years ago", 30, 0),
			 0x17770551);
	assert_int_equal(nfe_jhash("Four score and seven years ago", 30, 1),
			 0xcd628161);
	nftnl_expr_set_u16(q, NFTNL_EXPR_QUEUE_FLAGS, NFT_QUEUE_FLAG_BYPASS);
	nftnl_expr_set_u32(sym, NFTNL_EXPR_HASH_TYPE, NFT_HASH_SYM);
	nftnl_expr_set_u32(sym, NFTNL_EXPR_HASH_DREG, NFT_REG_1);
	nftnl_expr_set_u32(sym, NFTNL_EXPR_HASH_MODULUS, 1000000);
	nftnl_expr_set_u32(lg, NFTNL_EXPR_LOG_GROUP, 2);
	m_rule(rs, c, lg, NULL);
	m_rule(rs, c, M_DPORT(1), e_named("queue"), NULL);
	m_rule(rs, c, M_DPORT(2), q, NULL);
	struct nftnl_rule *ng = m_rule(rs, c, M_DPORT(3),
				       e_numgen(NFT_NG_INCREMENTAL, 2, 10),
				       e_cmp32(NFT_REG_1, NFT_CMP_EQ, 11),
				       e_counter(), NULL);
	m_rule(rs, c, sym, e_meta_set(NFT_META_MARK, NFT_REG_1), NULL);
	struct nftnl_rule *cr = m_rule(rs, c, cg, e_cmp32(NFT_REG_1, NFT_CMP_EQ, 0),
				       e_counter(), NULL);
	struct fn_nft_prog *p = t_compile(rs, NULL);

	assert_true(fn_nft_prog_uses_sk(p));
	t_udp(&t, A1, A2, 9, 1, 0);
	assert_int_equal(t_eval(p, NULL, FN_NFT_INPUT, &t, NULL), FN_NFT_DROP);
	t_udp(&t, A1, A2, 9, 2, 0);
	assert_int_equal(t_eval(p, NULL, FN_NFT_INPUT, &t, NULL), FN_NFT_ACCEPT);
	for (int i = 0; i < 4; i++) {
		t_udp(&t, A1, A2, 9, 3, 0);
		t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
	}
	assert_int_equal(t_packets(p, ng, 4), 2);	/* 10 11 10 11 */
	assert_int_equal(t_packets(p, cr, 2), 0);	/* no socket */
	t_udp(&t, A1, A2, 9, 5, 0);
	t.p.sk = true;
	t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
	assert_int_equal(t_packets(p, cr, 2), 1);
	uint32_t fwd = t.p.mark, other;
	t_udp(&t, A2, A1, 5, 9, 0);		/* the reply: the same hash */
	t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
	assert_int_equal(t.p.mark, fwd);
	assert_true(fwd < 1000000);
	t_udp(&t, A2, A1, 6, 9, 0);
	t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
	other = t.p.mark;
	t_udp(&t, A2, A1, 7, 9, 0);
	t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
	assert_true(other != fwd || t.p.mark != fwd);	/* not constant */
	fn_nft_prog_free(p);
	m_free(rs);
}

/* Everything not implemented is refused, naming it. */
static void test_refusals(void **state)
{
	char msg[256];
	uint8_t big[20] = { 0 };
	struct nftnl_expr *pset = e_named("payload");

	(void)state;
	nftnl_expr_set_u32(pset, NFTNL_EXPR_PAYLOAD_SREG, NFT_REG_1);
	nftnl_expr_set_u32(pset, NFTNL_EXPR_PAYLOAD_BASE, 1);
	nftnl_expr_set_u32(pset, NFTNL_EXPR_PAYLOAD_OFFSET, 0);
	nftnl_expr_set_u32(pset, NFTNL_EXPR_PAYLOAD_LEN, 4);
	struct {
		struct nftnl_expr *e;
		int err;
		const char *needle;
	} cases[] = {
		{ e_named("osf"), -EOPNOTSUPP, "'osf'" },
		{ e_named("tproxy"), -EOPNOTSUPP, "'tproxy'" },
		{ pset, -EOPNOTSUPP, "payload writes" },
		{ e_meta(NFT_META_RTCLASSID, NFT_REG_1), -EOPNOTSUPP, "meta rtclassid" },
		{ e_meta_set(NFT_META_NFTRACE, NFT_REG_1), -EOPNOTSUPP,
		  "meta nftrace set" },
		{ e_payload(NFT_PAYLOAD_NETWORK_HEADER, 0, 4, 24), -ERANGE,
		  "register" },
		{ e_payload(NFT_PAYLOAD_NETWORK_HEADER, 0, 4, NFT_REG_VERDICT),
		  -EINVAL, "verdict" },
		{ e_payload(NFT_PAYLOAD_NETWORK_HEADER, 0, 20, NFT_REG_4),
		  -ERANGE, "overrun" },
		{ e_payload(NFT_PAYLOAD_INNER_HEADER, 0, 4, NFT_REG_1),
		  -EOPNOTSUPP, "base" },
		{ e_cmp(NFT_REG_1, NFT_CMP_EQ, big, 20), -EOVERFLOW, "16" },
		{ e_cmp(NFT_REG32_15, NFT_CMP_EQ, big, 8), -ERANGE, "overrun" },
		{ e_verdict(NF_QUEUE, NULL), -EOPNOTSUPP, "queue" },
		{ e_lookup("nosuch", NFT_REG_1, -1, 0), -ENOENT, "nosuch" },
		{ e_log(NULL), 0, NULL },
	};
	nftnl_expr_set_u32(cases[13].e, NFTNL_EXPR_LOG_GROUP, 1);
	nftnl_expr_set_u32(cases[13].e, NFTNL_EXPR_LOG_FLAGS, 1);
	cases[13].err = -EINVAL;	/* nft_log_init */
	cases[13].needle = "log group";
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fn_nft_chain *c;
		struct fn_nft_ruleset *rs = rs_input(&c, NF_ACCEPT);

		m_rule(rs, c, cases[i].e, NULL);
		assert_int_equal(t_compile_err(rs, msg, sizeof(msg)),
				 cases[i].err);
		if (!strstr(msg, cases[i].needle))
			fail_msg("case %zu: '%s' lacks '%s'", i, msg,
				 cases[i].needle);
		m_free(rs);
	}
	/* families, chain types, hooks */
	struct fn_nft_ruleset *rs = m_new();
	m_table(rs, NFPROTO_IPV6, "six");
	assert_int_equal(t_compile_err(rs, msg, sizeof(msg)), -EOPNOTSUPP);
	assert_non_null(strstr(msg, "family"));
	m_free(rs);
	rs = m_new();
	struct fn_nft_chain *c = m_chain(rs, m_table(rs, NFPROTO_IPV4, "t"),
					 "rt", NF_INET_LOCAL_OUT, -100,
					 NF_ACCEPT);
	nftnl_chain_set_str(c->nl, NFTNL_CHAIN_TYPE, "route");
	assert_int_equal(t_compile_err(rs, msg, sizeof(msg)), -EOPNOTSUPP);
	assert_non_null(strstr(msg, "route"));
	m_free(rs);
	/* a failed compile leaves nothing behind (ASan checks leaks) */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_dormant_table),
		cmocka_unit_test(test_payload_cmp),
		cmocka_unit_test(test_payload_bounds),
		cmocka_unit_test(test_cmp_ops),
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_bitwise),
		cmocka_unit_test(test_byteorder),
		cmocka_unit_test(test_meta),
		cmocka_unit_test(test_meta_more),
		cmocka_unit_test(test_exthdr),
		cmocka_unit_test(test_meta_sk),
		cmocka_unit_test(test_queue_numgen_hash),
		cmocka_unit_test(test_jump_goto_return),
		cmocka_unit_test(test_loops_and_depth),
		cmocka_unit_test(test_counter_carry),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_quota),
		cmocka_unit_test(test_objects),
		cmocka_unit_test(test_object_map),
		cmocka_unit_test(test_object_refusals),
		cmocka_unit_test(test_log),
		cmocka_unit_test(test_reject),
		cmocka_unit_test(test_hook_order),
		cmocka_unit_test(test_netdev_ingress),
		cmocka_unit_test(test_inet_ingress),
		cmocka_unit_test(test_ipv6_ingress),
		cmocka_unit_test(test_invalid_ipv4),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
