/*
 * test_nft_eval_nat.c - unit tests of dnat and redirect to the stack
 * itself (src/nft/eval/nat.c, the bindings in ct.c): the rewrite of both
 * directions, its sums checked by recomputing them whole, for every
 * length; a flow reopened, an expired one, a clash, and what stays
 * dropped.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <libnftnl/chain.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>

#include "nft_eval_util.h"

#define CLI IP4(10, 241, 3, 1)		/* the client */
#define ME IP4(10, 241, 3, 2)		/* the stack */
#define ME2 IP4(10, 9, 0, 2)		/* the stack on an internal net */
#define NEW 8
#define EST 2
#define REL 4
#define SEC 1000000000ull

static uint32_t locals[2];

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint8_t *ip_of(struct t_pkt *t)
{
	return t->buf + 14;
}

static uint8_t *l4_of(struct t_pkt *t)
{
	return ip_of(t) + 20;
}

/* The one's complement sum of len bytes plus s, folded. */
static uint32_t sum16(const uint8_t *p, uint32_t len, uint32_t s)
{
	for (uint32_t i = 0; i + 1 < len; i += 2)
		s += rd16(p + i);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

static uint32_t pseudo(const uint8_t *ip)
{
	return sum16(ip + 12, 8, ip[9] + (rd16(ip + 2) - 20u));
}

/* Both sums, recomputed whole, hold (a UDP sum of 0: none). */
static void assert_sums(struct t_pkt *t)
{
	uint8_t *ip = ip_of(t), *l4 = l4_of(t);
	uint32_t l4len = rd16(ip + 2) - 20u;

	assert_int_equal(sum16(ip, 20, 0), 0xffff);
	if (ip[9] == 17 && rd16(l4 + 6) == 0)
		return;
	assert_int_equal(sum16(l4, l4len, pseudo(ip)), 0xffff);
}

/* The transport sum computed whole again (after a payload change). */
static void fix_l4(struct t_pkt *t)
{
	uint8_t *ip = ip_of(t), *l4 = l4_of(t);
	uint32_t off = ip[9] == 6 ? 16 : 6, l4len = rd16(ip + 2) - 20u;
	uint16_t v;

	l4[off] = l4[off + 1] = 0;
	v = (uint16_t)~sum16(l4, l4len, pseudo(ip));
	if (ip[9] == 17 && v == 0)
		v = 0xffff;
	l4[off] = (uint8_t)(v >> 8);
	l4[off + 1] = (uint8_t)v;
}

/* What the stack fills for a program with nat chains. */
static void as_stack(struct t_pkt *t, bool rx, uint64_t now)
{
	locals[0] = htonl(ME);
	locals[1] = htonl(ME2);
	t->p.local = locals;
	t->p.nlocal = 2;
	t->p.iif_addr = rx ? htonl(ME) : 0;
	t->p.nh_w = ip_of(t);
	t->p.now_ns = now;
}

/* redirect to :port (port 0: no port), the port in NFT_REG_2 */
static struct nftnl_expr *e_redir(uint32_t flags)
{
	struct nftnl_expr *e = e_named("redir");

	nftnl_expr_set_u32(e, NFTNL_EXPR_REDIR_REG_PROTO_MIN, NFT_REG_2);
	if (flags)
		nftnl_expr_set_u32(e, NFTNL_EXPR_REDIR_FLAGS, flags);
	return e;
}

/* dnat ip to NFT_REG_1 (address) : NFT_REG_2 (port) */
static struct nftnl_expr *e_dnat(uint32_t flags)
{
	struct nftnl_expr *e = e_named("nat");

	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, NFT_REG_2);
	if (flags)
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, flags);
	return e;
}

static struct nftnl_expr *e_port(uint16_t port)
{
	uint16_t be = htons(port);

	return e_imm(NFT_REG_2, &be, 2);
}

static struct nftnl_expr *e_addr(uint32_t a)
{
	uint32_t be = htonl(a);

	return e_imm(NFT_REG_1, &be, 4);
}

struct rig {
	struct fn_nft_ruleset *rs;
	struct fn_nft_table *t;
	struct fn_nft_chain *pre, *in, *post;
	struct nftnl_rule *natted;	/* the nat chain's redirect rule */
	struct nftnl_rule *in7001;	/* input: th dport 7001 counter */
	struct nftnl_rule *post7000;	/* postrouting (filter, 200):
					 * th sport 7000 counter */
	struct fn_nft_prog *p;
	struct fn_nft_ct *ct;
};

/* th dport 7000 redirect to :7001 (nat prerouting), th dport 7002 dnat
 * to ME2:7003, th dport 7004 dnat to a foreign address, th dport 7005
 * redirect with a port offset; input and a late postrouting chain
 * count what they see. */
static void rig_up(struct rig *g)
{
	g->rs = m_new();
	g->t = m_table(g->rs, NFPROTO_INET, "t");
	g->pre = m_nat_chain(g->rs, g->t, "pre", NF_INET_PRE_ROUTING, -100);
	g->in = m_chain(g->rs, g->t, "in", NF_INET_LOCAL_IN, 0, NF_ACCEPT);
	g->post = m_chain(g->rs, g->t, "post", NF_INET_POST_ROUTING, 200,
			  NF_ACCEPT);
	g->natted = m_rule(g->rs, g->pre, M_DPORT(7000), e_port(7001),
			   e_counter(), e_redir(0), NULL);
	m_rule(g->rs, g->pre, M_DPORT(7002), e_addr(ME2), e_port(7003),
	       e_dnat(0), NULL);
	m_rule(g->rs, g->pre, M_DPORT(7004), e_addr(IP4(10, 241, 3, 9)),
	       e_port(80), e_dnat(0), NULL);
	m_rule(g->rs, g->pre, M_DPORT(7005), e_port(7001),
	       e_redir(NF_NAT_RANGE_PROTO_OFFSET), NULL);
	g->in7001 = m_rule(g->rs, g->in, M_DPORT(7001), e_counter(), NULL);
	g->post7000 = m_rule(g->rs, g->post,
		e_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, NFT_REG_1),
		e_cmp16(NFT_REG_1, NFT_CMP_EQ, 7000), e_counter(), NULL);
	g->p = t_compile(g->rs, NULL);
	g->ct = fn_nft_ct_new(64);
	assert_true(fn_nft_prog_uses_nat(g->p));
}

static void rig_down(struct rig *g)
{
	fn_nft_ct_free(g->ct);
	fn_nft_prog_free(g->p);
	m_free(g->rs);
}

/* A received packet through prerouting and input: the verdict. */
static int rx(struct rig *g, struct t_pkt *t, uint64_t now)
{
	as_stack(t, true, now);
	if (t_eval(g->p, g->ct, FN_NFT_PREROUTING, t, NULL) != FN_NFT_ACCEPT)
		return FN_NFT_DROP;
	return t_eval(g->p, g->ct, FN_NFT_INPUT, t, NULL);
}

/* A sent packet through output and postrouting. */
static int tx(struct rig *g, struct t_pkt *t, uint64_t now)
{
	as_stack(t, false, now);
	if (t_eval(g->p, g->ct, FN_NFT_OUTPUT, t, NULL) != FN_NFT_ACCEPT)
		return FN_NFT_DROP;
	return t_eval(g->p, g->ct, FN_NFT_POSTROUTING, t, NULL);
}

/* A TCP flow redirected from 7000 to 7001: the client's packets reach
 * input at 7001, the stack's replies leave from 7000 (seen so by a
 * postrouting chain after the NAT hook, at 100), every sum right;
 * conntrack calls the replies the flow's. */
static void test_redirect_tcp(void **state)
{
	struct rig g;
	struct t_pkt t;

	(void)state;
	rig_up(&g);
	t_tcp(&t, CLI, ME, 40000, 7000, TH_SYN, 0);
	assert_int_equal(rx(&g, &t, SEC), FN_NFT_ACCEPT);
	assert_true(t.p.natted);
	assert_int_equal(t.p.ct_state, NEW);
	assert_int_equal(rd16(l4_of(&t) + 2), 7001);
	assert_int_equal(rd32(ip_of(&t) + 16), ME);
	assert_sums(&t);

	t_tcp(&t, ME, CLI, 7001, 40000, TH_SYN | TH_ACK, 0);
	assert_int_equal(tx(&g, &t, SEC), FN_NFT_ACCEPT);
	assert_true(t.p.natted);
	assert_int_equal(t.p.ct_state, EST);
	assert_int_equal(t.p.ct_dir, 1);
	assert_int_equal(rd16(l4_of(&t)), 7000);
	assert_sums(&t);

	for (int i = 0; i < 3; i++) {	/* the flow goes on, both ways */
		t_tcp(&t, CLI, ME, 40000, 7000, TH_ACK, 100 + i);
		assert_int_equal(rx(&g, &t, SEC), FN_NFT_ACCEPT);
		assert_int_equal(rd16(l4_of(&t) + 2), 7001);
		assert_int_equal(t.p.ct_state, EST);
		assert_sums(&t);
		t_tcp(&t, ME, CLI, 7001, 40000, TH_ACK, 7 + i);
		assert_int_equal(tx(&g, &t, SEC), FN_NFT_ACCEPT);
		assert_int_equal(rd16(l4_of(&t)), 7000);
		assert_sums(&t);
	}
	assert_int_equal(t_packets(g.p, g.natted, 3), 1);	/* first only */
	assert_int_equal(t_packets(g.p, g.in7001, 2), 4);
	assert_int_equal(t_packets(g.p, g.post7000, 2), 4);

	/* the untranslated reverse is not the flow's reply but a new flow,
	 * whose reverse is taken: the confirm fails, the packet is dropped */
	t_tcp(&t, ME, CLI, 7000, 40000, TH_SYN, 0);
	assert_int_equal(tx(&g, &t, SEC), FN_NFT_DROP);
	assert_int_equal(t.p.ct_state, NEW);
	assert_false(t.p.natted);
	/* a reply the stack cannot write is not sent unchanged */
	t_tcp(&t, ME, CLI, 7001, 40000, TH_ACK, 0);
	as_stack(&t, false, SEC);
	t.p.nh_w = NULL;
	assert_int_equal(t_eval(g.p, g.ct, FN_NFT_OUTPUT, &t, NULL),
			 FN_NFT_ACCEPT);
	assert_int_equal(t_eval(g.p, g.ct, FN_NFT_POSTROUTING, &t, NULL),
			 FN_NFT_DROP);
	rig_down(&g);
}

/* Every length, odd ones too, TCP and UDP, random payloads and ports:
 * the incremental sums equal what a whole recomputation accepts; a UDP
 * datagram without a sum keeps none. */
static void test_rewrite_sums(void **state)
{
	struct rig g;
	struct t_pkt t;
	uint32_t seed = 1;

	(void)state;
	rig_up(&g);
	for (uint32_t len = 0; len < 300; len++) {
		for (int udp = 0; udp < 2; udp++) {
			uint16_t sport = (uint16_t)(1024 + len * 2 + udp);
			uint8_t *pl;

			if (udp)
				t_udp(&t, CLI, ME, sport, 7000, len);
			else
				t_tcp(&t, CLI, ME, sport, 7000, TH_SYN, len);
			pl = l4_of(&t) + (udp ? 8 : 20);
			for (uint32_t i = 0; i < len; i++) {
				seed = seed * 1103515245u + 12345u;
				pl[i] = (uint8_t)(seed >> 16);
			}
			ip_of(&t)[4] = (uint8_t)seed;	/* the IP id */
			t_fix_ip_sum(&t);
			fix_l4(&t);
			if (udp && len == 7) {	/* no sum */
				l4_of(&t)[6] = l4_of(&t)[7] = 0;
			}
			assert_int_equal(rx(&g, &t, SEC), FN_NFT_ACCEPT);
			assert_int_equal(rd16(l4_of(&t) + 2), 7001);
			assert_sums(&t);
			if (udp && len == 7)
				assert_int_equal(rd16(l4_of(&t) + 6), 0);
			if (udp)
				t_udp(&t, ME, CLI, 7001, sport, len);
			else
				t_tcp(&t, ME, CLI, 7001, sport,
				      TH_SYN | TH_ACK, len);
			pl = l4_of(&t) + (udp ? 8 : 20);
			for (uint32_t i = 0; i < len; i++)
				pl[i] = (uint8_t)(i * 37 + len);
			fix_l4(&t);
			assert_int_equal(tx(&g, &t, SEC), FN_NFT_ACCEPT);
			assert_int_equal(rd16(l4_of(&t)), 7000);
			assert_sums(&t);
		}
	}
	rig_down(&g);
}

/* dnat to another of the stack's addresses, with a port: rewritten and
 * back; to a foreign address, or with a port offset: dropped, so the
 * flow never starts. */
static void test_dnat_local(void **state)
{
	struct rig g;
	struct t_pkt t;

	(void)state;
	rig_up(&g);
	t_udp(&t, CLI, ME, 5000, 7002, 10);
	assert_int_equal(rx(&g, &t, SEC), FN_NFT_ACCEPT);
	assert_int_equal(rd32(ip_of(&t) + 16), ME2);
	assert_int_equal(rd16(l4_of(&t) + 2), 7003);
	assert_sums(&t);
	t_udp(&t, ME2, CLI, 7003, 5000, 3);
	assert_int_equal(tx(&g, &t, SEC), FN_NFT_ACCEPT);
	assert_int_equal(rd32(ip_of(&t) + 12), ME);
	assert_int_equal(rd16(l4_of(&t)), 7002);
	assert_sums(&t);

	t_udp(&t, CLI, ME, 5000, 7004, 10);
	assert_int_equal(rx(&g, &t, SEC), FN_NFT_DROP);
	t_udp(&t, CLI, ME, 5000, 7005, 10);
	assert_int_equal(rx(&g, &t, SEC), FN_NFT_DROP);
	t_udp(&t, ME, CLI, 7004, 5000, 10);	/* it left no flow */
	assert_int_equal(tx(&g, &t, SEC), FN_NFT_ACCEPT);
	assert_int_equal(t.p.ct_state, NEW);
	rig_down(&g);
}

/* A redirected TCP flow reset by the client, then opened again from the
 * same port: a new flow, which the nat chain binds again. */
static void test_reopen(void **state)
{
	struct rig g;
	struct t_pkt t;

	(void)state;
	rig_up(&g);
	t_tcp(&t, CLI, ME, 40001, 7000, TH_SYN, 0);
	assert_int_equal(rx(&g, &t, SEC), FN_NFT_ACCEPT);
	t_tcp(&t, ME, CLI, 7001, 40001, TH_SYN | TH_ACK, 0);
	assert_int_equal(tx(&g, &t, SEC), FN_NFT_ACCEPT);
	t_tcp(&t, CLI, ME, 40001, 7000, TH_ACK, 0);
	assert_int_equal(rx(&g, &t, SEC), FN_NFT_ACCEPT);
	t_tcp(&t, CLI, ME, 40001, 7000, TH_RST | TH_ACK, 0);
	assert_int_equal(rx(&g, &t, SEC), FN_NFT_ACCEPT);
	assert_int_equal(rd16(l4_of(&t) + 2), 7001);
	assert_int_equal(t_packets(g.p, g.natted, 3), 1);

	t_tcp(&t, CLI, ME, 40001, 7000, TH_SYN, 0);
	assert_int_equal(rx(&g, &t, 2 * SEC), FN_NFT_ACCEPT);
	assert_int_equal(t.p.ct_state, NEW);
	assert_int_equal(rd16(l4_of(&t) + 2), 7001);
	assert_sums(&t);
	assert_int_equal(t_packets(g.p, g.natted, 3), 2);
	t_tcp(&t, ME, CLI, 7001, 40001, TH_SYN | TH_ACK, 0);
	assert_int_equal(tx(&g, &t, 2 * SEC), FN_NFT_ACCEPT);
	assert_int_equal(t.p.ct_state, EST);
	assert_int_equal(rd16(l4_of(&t)), 7000);
	rig_down(&g);
}

/* A redirected UDP flow expires (30 s unanswered... here answered once:
 * 30 s, not yet a stream): its reply is then a new flow, not rewritten,
 * and the client's next datagram is bound again. */
static void test_expiry(void **state)
{
	struct rig g;
	struct t_pkt t;

	(void)state;
	rig_up(&g);
	t_udp(&t, CLI, ME, 5001, 7000, 4);
	assert_int_equal(rx(&g, &t, SEC), FN_NFT_ACCEPT);
	t_udp(&t, ME, CLI, 7001, 5001, 4);
	assert_int_equal(tx(&g, &t, SEC), FN_NFT_ACCEPT);
	assert_int_equal(rd16(l4_of(&t)), 7000);

	t_udp(&t, ME, CLI, 7001, 5001, 4);
	assert_int_equal(tx(&g, &t, 40 * SEC), FN_NFT_ACCEPT);
	assert_int_equal(t.p.ct_state, NEW);
	assert_false(t.p.natted);
	assert_int_equal(rd16(l4_of(&t)), 7001);

	t_udp(&t, CLI, ME, 5001, 7000, 4);
	assert_int_equal(rx(&g, &t, 80 * SEC), FN_NFT_ACCEPT);
	assert_int_equal(t.p.ct_state, NEW);
	assert_int_equal(rd16(l4_of(&t) + 2), 7001);
	assert_int_equal(t_packets(g.p, g.natted, 3), 2);
	rig_down(&g);
}

/* The translated reply tuple is another flow's: no binding, the packet
 * dropped (the kernel's confirm would fail).  An ICMP error the stack
 * sends about a redirected flow would need its quote translated: it is
 * dropped, and one about another flow goes out. */
static void test_clash_icmp(void **state)
{
	struct rig g;
	struct t_pkt t, q;

	(void)state;
	rig_up(&g);
	t_udp(&t, CLI, ME, 5002, 7001, 4);	/* straight to 7001 */
	assert_int_equal(rx(&g, &t, SEC), FN_NFT_ACCEPT);
	assert_false(t.p.natted);
	t_udp(&t, CLI, ME, 5002, 7000, 4);	/* its reply would clash */
	assert_int_equal(rx(&g, &t, SEC), FN_NFT_DROP);

	t_udp(&q, CLI, ME, 5003, 7000, 4);
	assert_int_equal(rx(&g, &q, SEC), FN_NFT_ACCEPT);	/* q now :7001 */
	t_icmp_err(&t, ME, CLI, 3, 3, &q);
	assert_int_equal(tx(&g, &t, SEC), FN_NFT_DROP);
	assert_int_equal(t.p.ct_state, REL);
	t_udp(&q, CLI, ME, 5004, 9, 4);
	assert_int_equal(rx(&g, &q, SEC), FN_NFT_ACCEPT);
	t_icmp_err(&t, ME, CLI, 3, 3, &q);
	assert_int_equal(tx(&g, &t, SEC), FN_NFT_ACCEPT);
	assert_int_equal(t.p.ct_state, REL);
	/* straight to 7001 from the redirected flow's port: its reply is
	 * that flow's translated one, the confirm fails */
	t_udp(&t, CLI, ME, 5003, 7001, 4);
	assert_int_equal(rx(&g, &t, SEC), FN_NFT_DROP);
	assert_int_equal(t.p.ct_state, NEW);
	rig_down(&g);
}

/* Hostile input: a TCP header cut short never opens a flow (conntrack
 * calls it invalid), so nothing is rewritten past the packet's end. */
static void test_short(void **state)
{
	struct rig g;
	struct t_pkt t;

	(void)state;
	rig_up(&g);
	t_tcp(&t, CLI, ME, 40002, 7000, TH_SYN, 0);
	ip_of(&t)[3] = 30;		/* 10 bytes of TCP */
	t.p.nh_len = 30;
	t_fix_ip_sum(&t);
	as_stack(&t, true, SEC);
	t_eval(g.p, g.ct, FN_NFT_PREROUTING, &t, NULL);
	assert_false(t.p.natted);
	assert_int_equal(rd16(l4_of(&t) + 2), 7000);
	rig_down(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redirect_tcp),
		cmocka_unit_test(test_rewrite_sums),
		cmocka_unit_test(test_dnat_local),
		cmocka_unit_test(test_reopen),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_clash_icmp),
		cmocka_unit_test(test_short),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
