/*
 * test_nft_eval_set_ct.c - unit tests of the evaluator's sets and maps
 * (hash and interval, at 10,000 elements, against a naive reference) and
 * of connection tracking for `ct state` (src/nft/eval/set.c, ct.c), with
 * the checksum both it and the IPv4 header check use (nfe_csum, nfe.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libnftnl/chain.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>

#include "eval/nfe.h"
#include "nft_eval_util.h"

#define A1 IP4(10, 241, 3, 1)
#define A2 IP4(10, 241, 3, 2)
#define IN NF_INET_LOCAL_IN
#define NELEM 10000

struct ctx {
	struct fn_nft_ruleset *rs;
	struct fn_nft_table *t;
	struct fn_nft_chain *in;
};

static void ctx_init(struct ctx *x, uint32_t policy)
{
	x->rs = m_new();
	x->t = m_table(x->rs, NFPROTO_INET, "t");
	x->in = m_chain(x->rs, x->t, "in", IN, 0, policy);
}

/* xorshift: reproducible addresses */
static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static int u32cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool in_sorted(const uint32_t *v, uint32_t n, uint32_t k)
{
	return bsearch(&k, v, n, sizeof(*v), u32cmp) != NULL;
}

/* ip saddr @big accept (10,000 random addresses), inverted too. */
static void test_hash_set_scale(void **state)
{
	struct ctx x;
	uint32_t *addrs = malloc(NELEM * sizeof(*addrs)), seed = 42;
	struct nftnl_rule *hit, *miss;
	struct t_pkt t;
	uint64_t want_hit = 0, want_miss = 0;

	(void)state;
	ctx_init(&x, NF_ACCEPT);
	struct fn_nft_set *s = m_set(x.rs, x.t, "big", 0, 4, 0, 0);
	for (int i = 0; i < NELEM; i++) {
		uint32_t be;

		addrs[i] = rnd(&seed);
		be = htonl(addrs[i]);
		m_elem(s, &be, 4, 0, NULL, 0);
	}
	qsort(addrs, NELEM, sizeof(*addrs), u32cmp);
	hit = m_rule(x.rs, x.in,
		e_payload(NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1),
		e_lookup("big", NFT_REG_1, -1, 0), e_counter(), NULL);
	miss = m_rule(x.rs, x.in,
		e_payload(NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1),
		e_lookup("big", NFT_REG_1, -1, NFT_LOOKUP_F_INV), e_counter(),
		NULL);
	struct fn_nft_prog *p = t_compile(x.rs, NULL);

	seed = 42;
	for (int i = 0; i < 2 * NELEM; i++) {
		/* even: a member; odd: a random address, most not */
		uint32_t a = i % 2 ? rnd(&seed) * 2654435761u : addrs[i / 2];
		bool member = in_sorted(addrs, NELEM, a);

		t_udp(&t, a, A2, 1, 2, 0);
		t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
		want_hit += member;
		want_miss += !member;
	}
	assert_int_equal(t_packets(p, hit, 2), want_hit);
	assert_int_equal(t_packets(p, miss, 2), want_miss);
	assert_true(want_hit >= NELEM);
	fn_nft_prog_free(p);
	m_free(x.rs);
	free(addrs);
}

/* ip saddr { ranges } as nft sends them: start, then end + 1 flagged
 * INTERVAL_END; 10,000 disjoint ranges checked against a linear scan. */
static void test_interval_set_scale(void **state)
{
	struct ctx x;
	uint32_t *lo = malloc(NELEM * sizeof(*lo)), *hi = malloc(NELEM * 4);
	uint32_t seed = 7, base = 0x0a000000;
	struct t_pkt t;
	uint64_t want = 0;

	(void)state;
	ctx_init(&x, NF_ACCEPT);
	struct fn_nft_set *s = m_set(x.rs, x.t, "r", NFT_SET_INTERVAL, 4, 0, 0);
	for (int i = 0; i < NELEM; i++) {
		uint32_t b, e;

		lo[i] = base + rnd(&seed) % 50;
		hi[i] = lo[i] + rnd(&seed) % 40;
		base = hi[i] + 1 + rnd(&seed) % 30;
		if (i % 3 == 2)		/* adjacent to the previous one */
			lo[i] = hi[i - 1] + 1, hi[i] = lo[i] + 5,
			base = hi[i] + 2;
		b = htonl(lo[i]);
		e = htonl(hi[i] + 1);
		m_elem(s, &b, 4, 0, NULL, 0);
		m_elem(s, &e, 4, NFT_SET_ELEM_INTERVAL_END, NULL, 0);
	}
	struct nftnl_rule *r = m_rule(x.rs, x.in,
		e_payload(NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1),
		e_lookup("r", NFT_REG_1, -1, 0), e_counter(), NULL);
	struct fn_nft_prog *p = t_compile(x.rs, NULL);

	for (uint32_t a = 0x0a000000 - 5; a < base + 5; a += 1 + a % 3) {
		bool member = false;

		for (int i = 0; i < NELEM && !member; i++)
			member = a >= lo[i] && a <= hi[i];
		t_udp(&t, a, A2, 1, 2, 0);
		t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
		want += member;
		assert_int_equal(t_packets(p, r, 2), want);
	}
	fn_nft_prog_free(p);
	m_free(x.rs);
	free(lo);
	free(hi);
}

/* Inclusive KEY_END elements (newer nft) and a range ending at the top. */
static void test_interval_key_end(void **state)
{
	struct ctx x;
	uint16_t a = htons(100), b = htons(200), c = htons(60000),
		 d = htons(65535);
	struct t_pkt t;

	(void)state;
	ctx_init(&x, NF_DROP);
	struct fn_nft_set *s = m_set(x.rs, x.t, "p", NFT_SET_INTERVAL, 2, 0, 0);
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &a, 2);
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY_END, &b, 2);
	nftnl_set_elem_add(s->nl, e);
	e = nftnl_set_elem_alloc();
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &c, 2);
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY_END, &d, 2);
	nftnl_set_elem_add(s->nl, e);
	m_rule(x.rs, x.in,
	       e_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1),
	       e_lookup("p", NFT_REG_1, -1, 0), e_verdict(NF_ACCEPT, NULL),
	       NULL);
	struct fn_nft_prog *p = t_compile(x.rs, NULL);
	const struct { uint16_t port; int v; } cases[] = {
		{ 99, FN_NFT_DROP }, { 100, FN_NFT_ACCEPT },
		{ 200, FN_NFT_ACCEPT }, { 201, FN_NFT_DROP },
		{ 59999, FN_NFT_DROP }, { 65535, FN_NFT_ACCEPT },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t_udp(&t, A1, A2, 1, cases[i].port, 0);
		assert_int_equal(t_eval(p, NULL, FN_NFT_INPUT, &t, NULL),
				 cases[i].v);
	}
	fn_nft_prog_free(p);
	m_free(x.rs);
}

/* meta mark set tcp dport map { 22 : 1, 80 : 2 } */
static void test_value_map(void **state)
{
	struct ctx x;
	struct t_pkt t;
	uint16_t k22 = htons(22), k80 = htons(80);
	uint32_t one = 1, two = 2;

	(void)state;
	ctx_init(&x, NF_ACCEPT);
	struct fn_nft_set *s = m_set(x.rs, x.t, "__map0",
				     NFT_SET_MAP | NFT_SET_ANONYMOUS |
				     NFT_SET_CONSTANT, 2, 0x13, 4);
	m_elem(s, &k22, 2, 0, &one, 4);
	m_elem(s, &k80, 2, 0, &two, 4);
	m_rule(x.rs, x.in,
	       e_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1),
	       e_lookup("__map0", NFT_REG_1, NFT_REG_1, 0),
	       e_meta_set(NFT_META_MARK, NFT_REG_1), NULL);
	struct fn_nft_prog *p = t_compile(x.rs, NULL);

	t_tcp(&t, A1, A2, 5, 80, TH_SYN, 0);
	t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
	assert_int_equal(t.p.mark, 2);
	t_tcp(&t, A1, A2, 5, 22, TH_SYN, 0);
	t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
	assert_int_equal(t.p.mark, 1);
	t_tcp(&t, A1, A2, 5, 23, TH_SYN, 0);
	t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
	assert_int_equal(t.p.mark, 0);
	fn_nft_prog_free(p);

	/* a map looked up without a destination, anonymous: refused */
	m_rule(x.rs, x.in,
	       e_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1),
	       e_lookup("__map0", NFT_REG_1, -1, 0), NULL);
	char msg[256];
	assert_int_equal(t_compile_err(x.rs, msg, sizeof(msg)), -EINVAL);
	m_free(x.rs);
}

/* tcp dport vmap { 22 : accept, 23 : drop, 80 : jump web, * : goto x } */
static void test_verdict_map(void **state)
{
	struct ctx x;
	struct t_pkt t;
	uint16_t k[] = { htons(22), htons(23), htons(80) };

	(void)state;
	ctx_init(&x, NF_ACCEPT);
	struct fn_nft_chain *web = m_chain(x.rs, x.t, "web", -1, 0, 0);
	struct fn_nft_chain *other = m_chain(x.rs, x.t, "other", -1, 0, 0);
	struct fn_nft_set *s = m_set(x.rs, x.t, "vm", NFT_SET_MAP, 2,
				     NFT_DATA_VERDICT, 0);
	m_elem_verdict(s, &k[0], 2, NF_ACCEPT, NULL);
	m_elem_verdict(s, &k[1], 2, NF_DROP, NULL);
	m_elem_verdict(s, &k[2], 2, NFT_JUMP, "web");
	m_elem_verdict(s, NULL, 0, NFT_GOTO, "other");
	m_rule(x.rs, x.in, M_PROTO(6),
	       e_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1),
	       e_lookup("vm", NFT_REG_1, NFT_REG_VERDICT, 0), NULL);
	struct nftnl_rule *after = m_rule(x.rs, x.in, e_counter(),
					  e_verdict(NF_DROP, NULL), NULL);
	struct nftnl_rule *rw = m_rule(x.rs, web, e_counter(), NULL);
	struct nftnl_rule *ro = m_rule(x.rs, other, e_counter(), NULL);
	struct fn_nft_prog *p = t_compile(x.rs, NULL);

	t_tcp(&t, A1, A2, 5, 22, TH_SYN, 0);
	assert_int_equal(t_eval(p, NULL, FN_NFT_INPUT, &t, NULL), FN_NFT_ACCEPT);
	t_tcp(&t, A1, A2, 5, 23, TH_SYN, 0);
	assert_int_equal(t_eval(p, NULL, FN_NFT_INPUT, &t, NULL), FN_NFT_DROP);
	assert_int_equal(t_packets(p, after, 0), 0);
	t_tcp(&t, A1, A2, 5, 80, TH_SYN, 0);	/* jump web, back, drop */
	assert_int_equal(t_eval(p, NULL, FN_NFT_INPUT, &t, NULL), FN_NFT_DROP);
	assert_int_equal(t_packets(p, rw, 0), 1);
	assert_int_equal(t_packets(p, after, 0), 1);
	t_tcp(&t, A1, A2, 5, 9999, TH_SYN, 0);	/* catch-all: goto, policy */
	assert_int_equal(t_eval(p, NULL, FN_NFT_INPUT, &t, NULL), FN_NFT_ACCEPT);
	assert_int_equal(t_packets(p, ro, 0), 1);
	assert_int_equal(t_packets(p, after, 0), 1);
	fn_nft_prog_free(p);

	/* a loop through the map is a loop */
	m_rule(x.rs, web, e_verdict(NFT_JUMP, "other"), NULL);
	m_rule(x.rs, other, e_lookup("vm", NFT_REG_1, NFT_REG_VERDICT, 0),
	       NULL);
	char msg[256];
	assert_int_equal(t_compile_err(x.rs, msg, sizeof(msg)), -ELOOP);
	m_free(x.rs);
}

/* Element updates arrive as a new model: a commit. */
static void test_set_update(void **state)
{
	struct ctx x;
	struct t_pkt t;
	uint16_t p1 = htons(1), p2 = htons(2);

	(void)state;
	ctx_init(&x, NF_ACCEPT);
	struct fn_nft_set *s = m_set(x.rs, x.t, "ports", 0, 2, 0, 0);
	m_elem(s, &p1, 2, 0, NULL, 0);
	struct nftnl_rule *r = m_rule(x.rs, x.in,
		e_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1),
		e_lookup("ports", NFT_REG_1, -1, 0), e_counter(),
		e_verdict(NF_DROP, NULL), NULL);
	struct fn_nft_prog *p = t_compile(x.rs, NULL);

	t_udp(&t, A1, A2, 5, 2, 0);
	assert_int_equal(t_eval(p, NULL, FN_NFT_INPUT, &t, NULL), FN_NFT_ACCEPT);
	t_udp(&t, A1, A2, 5, 1, 0);
	assert_int_equal(t_eval(p, NULL, FN_NFT_INPUT, &t, NULL), FN_NFT_DROP);
	m_elem(s, &p2, 2, 0, NULL, 0);
	struct fn_nft_prog *p2p = t_compile(x.rs, p);
	fn_nft_prog_free(p);
	t_udp(&t, A1, A2, 5, 2, 0);
	assert_int_equal(t_eval(p2p, NULL, FN_NFT_INPUT, &t, NULL), FN_NFT_DROP);
	assert_int_equal(t_packets(p2p, r, 2), 2);
	fn_nft_prog_free(p2p);
	m_free(x.rs);
}

static void test_set_refusals(void **state)
{
	char msg[256];
	uint32_t k = 1, k2 = 2;

	(void)state;
	static const uint32_t flags[] = { NFT_SET_TIMEOUT, NFT_SET_EVAL,
		NFT_SET_OBJECT, NFT_SET_INTERVAL | NFT_SET_CONCAT };
	for (size_t i = 0; i < 4; i++) {
		struct ctx x;

		ctx_init(&x, NF_ACCEPT);
		struct fn_nft_set *s = m_set(x.rs, x.t, "s", flags[i], 4, 0, 0);
		struct nftnl_set_elem *e = nftnl_set_elem_alloc();
		/* object maps of counters, quotas and limits only */
		if (flags[i] & NFT_SET_OBJECT)
			nftnl_set_set_u32(s->nl, NFTNL_SET_OBJ_TYPE,
					  NFT_OBJECT_CT_HELPER);
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &k, 4);
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY_END, &k2, 4);
		nftnl_set_elem_add(s->nl, e);
		assert_int_equal(t_compile_err(x.rs, msg, sizeof(msg)),
				 -EOPNOTSUPP);
		assert_non_null(strstr(msg, "set s"));
		m_free(x.rs);
	}
	/* wrong key length */
	struct ctx x;
	ctx_init(&x, NF_ACCEPT);
	m_elem(m_set(x.rs, x.t, "s", 0, 4, 0, 0), &k, 2, 0, NULL, 0);
	assert_int_equal(t_compile_err(x.rs, msg, sizeof(msg)), -EINVAL);
	m_free(x.rs);
	/* element timeouts */
	ctx_init(&x, NF_ACCEPT);
	struct fn_nft_set *s = m_set(x.rs, x.t, "s", 0, 4, 0, 0);
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &k, 4);
	nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, 1000);
	nftnl_set_elem_add(s->nl, e);
	assert_int_equal(t_compile_err(x.rs, msg, sizeof(msg)), -EOPNOTSUPP);
	m_free(x.rs);
}

/* ---- conntrack ----------------------------------------------------------- */

/* A table that counts each ct state at input and output. */
struct ctt {
	struct ctx x;
	struct nftnl_rule *st[4];	/* invalid, established, related, new */
	struct fn_nft_prog *p;
	struct fn_nft_ct *ct;
};

static void ctt_init(struct ctt *c, uint32_t max)
{
	static const uint32_t bits[] = { 1, 2, 4, 8 };

	ctx_init(&c->x, NF_ACCEPT);
	for (int i = 0; i < 4; i++) {
		uint32_t zero = 0;

		c->st[i] = m_rule(c->x.rs, c->x.in, e_ct_state(NFT_REG_1),
			e_bitwise(NFT_REG_1, NFT_REG_1, 4, &bits[i], &zero),
			e_cmp32(NFT_REG_1, NFT_CMP_NEQ, 0), e_counter(), NULL);
	}
	c->p = t_compile(c->x.rs, NULL);
	c->ct = fn_nft_ct_new(max);
	assert_non_null(c->ct);
}

static void ctt_fini(struct ctt *c)
{
	fn_nft_prog_free(c->p);
	fn_nft_ct_free(c->ct);
	m_free(c->x.rs);
}

/* Received: prerouting then input; the state seen at input. */
static uint8_t rx(struct ctt *c, struct t_pkt *t)
{
	t->p.ct_state = 0;
	t_eval(c->p, c->ct, FN_NFT_PREROUTING, t, NULL);
	t_eval(c->p, c->ct, FN_NFT_INPUT, t, NULL);
	return t->p.ct_state;
}

/* Sent: output then postrouting. */
static uint8_t tx(struct ctt *c, struct t_pkt *t)
{
	t->p.ct_state = 0;
	t_eval(c->p, c->ct, FN_NFT_OUTPUT, t, NULL);
	t_eval(c->p, c->ct, FN_NFT_POSTROUTING, t, NULL);
	return t->p.ct_state;
}

#define NEW 8
#define EST 2
#define REL 4
#define INV 1

static void test_ct_tcp(void **state)
{
	struct ctt c;
	struct t_pkt t;

	(void)state;
	ctt_init(&c, 64);
	t_tcp(&t, A1, A2, 4000, 80, TH_SYN, 0);
	assert_int_equal(rx(&c, &t), NEW);
	assert_int_equal(rx(&c, &t), NEW);		/* retransmitted */
	t_tcp(&t, A2, A1, 80, 4000, TH_SYN | TH_ACK, 0);
	assert_int_equal(tx(&c, &t), EST);
	t_tcp(&t, A1, A2, 4000, 80, TH_ACK, 10);
	assert_int_equal(rx(&c, &t), EST);
	assert_int_equal(t_packets(c.p, c.st[3], 3), 2);
	assert_int_equal(t_packets(c.p, c.st[1], 3), 1);
	/* the counters of input see received packets only */
	t_tcp(&t, A1, A2, 4000, 80, TH_SYN | TH_FIN, 0);	/* bad flags */
	assert_int_equal(rx(&c, &t), INV);
	t_tcp(&t, A1, A2, 4001, 80, TH_SYN | TH_ACK, 0);	/* no flow */
	assert_int_equal(rx(&c, &t), INV);
	t_tcp(&t, A1, A2, 4002, 80, TH_RST, 0);
	assert_int_equal(rx(&c, &t), INV);
	t_tcp(&t, A1, A2, 4003, 80, TH_ACK, 0);		/* loose pickup */
	assert_int_equal(rx(&c, &t), NEW);
	t_tcp(&t, A1, A2, 4000, 80, TH_ACK, 10);		/* bad sum */
	t.buf[14 + 20 + 16] ^= 0x55;
	assert_int_equal(rx(&c, &t), INV);
	/* close: FIN both ways; a SYN in LAST_ACK is ignored (the flow
	 * stays); after the last ACK (TIME_WAIT) a SYN reopens it: new */
	t_tcp(&t, A1, A2, 4000, 80, TH_FIN | TH_ACK, 0);
	assert_int_equal(rx(&c, &t), EST);
	t_tcp(&t, A2, A1, 80, 4000, TH_FIN | TH_ACK, 0);
	assert_int_equal(tx(&c, &t), EST);
	t_tcp(&t, A1, A2, 4000, 80, TH_SYN, 0);
	assert_int_equal(rx(&c, &t), EST);
	t_tcp(&t, A1, A2, 4000, 80, TH_ACK, 0);
	assert_int_equal(rx(&c, &t), EST);
	t_tcp(&t, A1, A2, 4000, 80, TH_SYN, 0);
	assert_int_equal(rx(&c, &t), NEW);
	/* the reopened flow is A's, in SYN_SENT: a SYN-ACK answers it */
	t_tcp(&t, A2, A1, 80, 4000, TH_SYN | TH_ACK, 0);
	assert_int_equal(tx(&c, &t), EST);
	/* the server's reset closes; the client's SYN is then ignored (the
	 * kernel reopens only after the same side's RST or a close) */
	t_tcp(&t, A2, A1, 80, 4000, TH_RST, 0);
	assert_int_equal(tx(&c, &t), EST);
	t_tcp(&t, A1, A2, 4000, 80, TH_SYN, 0);
	assert_int_equal(rx(&c, &t), EST);
	t_tcp(&t, A1, A2, 4000, 80, TH_RST | TH_ACK, 0);
	assert_int_equal(rx(&c, &t), EST);
	t_tcp(&t, A1, A2, 4000, 80, TH_SYN, 0);
	assert_int_equal(rx(&c, &t), NEW);
	/* a flow whose only answer is a RST is forgotten at once */
	t_tcp(&t, A1, A2, 4100, 80, TH_SYN, 0);
	assert_int_equal(rx(&c, &t), NEW);
	t_tcp(&t, A2, A1, 80, 4100, TH_RST | TH_ACK, 0);
	assert_int_equal(tx(&c, &t), EST);
	t_tcp(&t, A1, A2, 4100, 80, TH_RST, 0);
	assert_int_equal(rx(&c, &t), INV);
	ctt_fini(&c);
}

static void test_ct_udp_icmp(void **state)
{
	struct ctt c;
	struct t_pkt t, q;

	(void)state;
	ctt_init(&c, 64);
	t_udp(&t, A2, A1, 5000, 53, 20);		/* we ask */
	assert_int_equal(tx(&c, &t), NEW);
	t_udp(&t, A1, A2, 53, 5000, 40);		/* answer */
	assert_int_equal(rx(&c, &t), EST);
	t_udp(&t, A2, A1, 5000, 53, 20);
	assert_int_equal(tx(&c, &t), EST);
	t_udp(&t, A1, A2, 53, 5001, 40);		/* unsolicited */
	assert_int_equal(rx(&c, &t), NEW);
	/* ICMP error about the first flow: related; about none: invalid */
	t_udp(&q, A2, A1, 5000, 53, 20);
	t_icmp_err(&t, A1, A2, 3, 3, &q);
	assert_int_equal(rx(&c, &t), REL);
	t_udp(&q, A2, A1, 5999, 53, 20);
	t_icmp_err(&t, A1, A2, 3, 3, &q);
	assert_int_equal(rx(&c, &t), INV);
	/* echo request and reply; a reply alone is invalid */
	t_icmp(&t, A1, A2, 8, 0, 77);
	assert_int_equal(rx(&c, &t), NEW);
	t_icmp(&t, A2, A1, 0, 0, 77);
	assert_int_equal(tx(&c, &t), EST);
	t_icmp(&t, A1, A2, 0, 0, 78);
	assert_int_equal(rx(&c, &t), INV);
	/* UDP with a bad length */
	t_udp(&t, A1, A2, 53, 5000, 40);
	t.buf[14 + 20 + 5] = 200;
	assert_int_equal(rx(&c, &t), INV);
	/* timeouts: an unanswered UDP flow is forgotten after 30 s */
	t_udp(&t, A2, A1, 6000, 53, 20);
	assert_int_equal(tx(&c, &t), NEW);
	t_udp(&t, A1, A2, 53, 6000, 20);
	t.p.now_ns += 31ull * 1000000000;
	assert_int_equal(rx(&c, &t), NEW);
	ctt_fini(&c);
}

/* A dropped first packet leaves no flow (unconfirmed entries). */
static void test_ct_unconfirmed(void **state)
{
	struct ctx x;
	struct t_pkt t;

	(void)state;
	ctx_init(&x, NF_ACCEPT);
	m_rule(x.rs, x.in, M_DPORT(81), e_verdict(NF_DROP, NULL), NULL);
	m_rule(x.rs, x.in, e_ct_state(NFT_REG_1), e_counter(), NULL);
	struct fn_nft_prog *p = t_compile(x.rs, NULL);
	struct fn_nft_ct *ct = fn_nft_ct_new(4);

	t_udp(&t, A1, A2, 5, 81, 0);
	t_eval(p, ct, FN_NFT_PREROUTING, &t, NULL);
	assert_int_equal(t_eval(p, ct, FN_NFT_INPUT, &t, NULL), FN_NFT_DROP);
	t_udp(&t, A2, A1, 81, 5, 0);		/* a "reply": still new */
	t_eval(p, ct, FN_NFT_OUTPUT, &t, NULL);
	assert_int_equal(t.p.ct_state, NEW);
	fn_nft_ct_free(ct);
	fn_nft_prog_free(p);
	m_free(x.rs);
}

static struct nftnl_expr *e_nat(uint32_t type, uint32_t family)
{
	struct nftnl_expr *e = e_named("nat");

	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, type);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, family);
	return e;
}

/* nat, masq and redir: a packet that reaches one the stack cannot
 * carry out is dropped (here a redirect without the stack's addresses,
 * a dnat on output; test_nft_eval_nat.c has the ones it rewrites), nat
 * chains see only the first packet of a flow (the kernel's
 * !nf_nat_initialized), and a nat statement of another family in an
 * inet table does nothing. */
static void test_nat(void **state)
{
	struct fn_nft_ruleset *rs = m_new();
	struct fn_nft_table *t = m_table(rs, NFPROTO_INET, "t");
	struct fn_nft_chain *pre = m_nat_chain(rs, t, "pre", NF_INET_PRE_ROUTING, 0);
	struct fn_nft_chain *out = m_nat_chain(rs, t, "out", NF_INET_LOCAL_OUT, 0);
	struct t_pkt t1;

	(void)state;
	m_rule(rs, pre, M_DPORT(81), e_named("redir"), NULL);
	m_rule(rs, pre, M_DPORT(82), e_nat(NFT_NAT_DNAT, NFPROTO_IPV6), NULL);
	struct nftnl_rule *seen = m_rule(rs, pre, e_counter(), NULL);
	m_rule(rs, out, M_DPORT(83), e_nat(NFT_NAT_DNAT, NFPROTO_IPV4), NULL);
	struct fn_nft_prog *p = t_compile(rs, NULL);
	struct fn_nft_ct *ct = fn_nft_ct_new(16);

	assert_true(fn_nft_prog_uses_ct(p));
	t_udp(&t1, A1, A2, 5, 81, 0);
	assert_int_equal(t_eval(p, ct, FN_NFT_PREROUTING, &t1, NULL), FN_NFT_DROP);
	t_udp(&t1, A1, A2, 5, 82, 0);		/* dnat ip6: not for IPv4 */
	assert_int_equal(t_eval(p, ct, FN_NFT_PREROUTING, &t1, NULL), FN_NFT_ACCEPT);
	assert_int_equal(t_eval(p, ct, FN_NFT_INPUT, &t1, NULL), FN_NFT_ACCEPT);
	assert_int_equal(t_packets(p, seen, 0), 1);
	t_udp(&t1, A1, A2, 5, 82, 0);		/* the flow's next packet */
	assert_int_equal(t_eval(p, ct, FN_NFT_PREROUTING, &t1, NULL), FN_NFT_ACCEPT);
	assert_int_equal(t_eval(p, ct, FN_NFT_INPUT, &t1, NULL), FN_NFT_ACCEPT);
	assert_int_equal(t_packets(p, seen, 0), 1);
	t_udp(&t1, A2, A1, 7, 83, 0);
	assert_int_equal(t_eval(p, ct, FN_NFT_OUTPUT, &t1, NULL), FN_NFT_DROP);
	t_udp(&t1, A2, A1, 82, 5, 0);		/* a reply: no nat chain */
	assert_int_equal(t_eval(p, ct, FN_NFT_OUTPUT, &t1, NULL), FN_NFT_ACCEPT);
	fn_nft_ct_free(ct);
	fn_nft_prog_free(p);
	m_free(rs);
}

/* masquerade of a packet whose source already is the outgoing netif's
 * address is the kernel's identity binding: accepted; another source,
 * or a masquerade that maps or randomizes ports, is dropped. */
static void test_nat_masquerade_identity(void **state)
{
	struct fn_nft_ruleset *rs = m_new();
	struct fn_nft_table *t = m_table(rs, NFPROTO_IPV4, "t");
	struct fn_nft_chain *post = m_nat_chain(rs, t, "post",
					      NF_INET_POST_ROUTING, 100);
	struct nftnl_expr *rnd = e_named("masq");
	struct t_pkt t1;

	(void)state;
	nftnl_expr_set_u32(rnd, NFTNL_EXPR_MASQ_FLAGS, NF_NAT_RANGE_PROTO_RANDOM);
	m_rule(rs, post, M_DPORT(80), rnd, NULL);
	m_rule(rs, post, e_named("masq"), NULL);
	struct fn_nft_prog *p = t_compile(rs, NULL);
	struct fn_nft_ct *ct = fn_nft_ct_new(16);
	static const struct { uint32_t src; uint16_t dport; int v; } c[] = {
		{ A2, 81, FN_NFT_ACCEPT },	/* already its address */
		{ A1, 82, FN_NFT_DROP },	/* would be rewritten */
		{ A2, 80, FN_NFT_DROP },	/* random: a new port */
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		t_udp(&t1, c[i].src, IP4(10, 9, 9, 9), 1000, c[i].dport, 0);
		t1.p.oif_addr = htonl(A2);
		assert_int_equal(t_eval(p, ct, FN_NFT_OUTPUT, &t1, NULL),
				 FN_NFT_ACCEPT);
		assert_int_equal(t_eval(p, ct, FN_NFT_POSTROUTING, &t1, NULL),
				 c[i].v);
	}
	fn_nft_ct_free(ct);
	fn_nft_prog_free(p);
	m_free(rs);
}

/* The kernel's checks: nat chains on the four local hooks above
 * conntrack, each statement in a nat chain on its hooks, families. */
static void test_nat_refusals(void **state)
{
	static const struct {
		int hook, prio;
		bool nat;
		const char *expr;
		uint32_t type, family;
		int err;
	} cases[] = {
		{ NF_INET_PRE_ROUTING, 0, false, "redir", 0, 0, -EOPNOTSUPP },
		{ NF_INET_FORWARD, 0, true, NULL, 0, 0, -EOPNOTSUPP },
		{ NF_INET_PRE_ROUTING, -200, true, NULL, 0, 0, -EOPNOTSUPP },
		{ NF_INET_PRE_ROUTING, 0, true, "masq", 0, 0, -EOPNOTSUPP },
		{ NF_INET_POST_ROUTING, 0, true, "redir", 0, 0, -EOPNOTSUPP },
		{ NF_INET_POST_ROUTING, 0, true, "nat", NFT_NAT_DNAT,
		  NFPROTO_IPV4, -EOPNOTSUPP },
		{ NF_INET_PRE_ROUTING, 0, true, "nat", NFT_NAT_SNAT,
		  NFPROTO_IPV4, -EOPNOTSUPP },
		{ NF_INET_PRE_ROUTING, 0, true, "nat", NFT_NAT_DNAT,
		  NFPROTO_IPV6, -EOPNOTSUPP },	/* in an ip table */
		{ NF_INET_PRE_ROUTING, 0, true, "nat", 7, NFPROTO_IPV4,
		  -EOPNOTSUPP },
	};
	char msg[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fn_nft_ruleset *rs = m_new();
		struct fn_nft_table *t = m_table(rs, NFPROTO_IPV4, "t");
		struct fn_nft_chain *c = cases[i].nat ?
			m_nat_chain(rs, t, "c", cases[i].hook, cases[i].prio) :
			m_chain(rs, t, "c", cases[i].hook, cases[i].prio,
				NF_ACCEPT);

		if (cases[i].expr && !strcmp(cases[i].expr, "nat"))
			m_rule(rs, c, e_nat(cases[i].type, cases[i].family),
			       NULL);
		else if (cases[i].expr)
			m_rule(rs, c, e_named(cases[i].expr), NULL);
		assert_int_equal(t_compile_err(rs, msg, sizeof(msg)),
				 cases[i].err);
		m_free(rs);
	}
	/* a regular chain is checked with each base chain that reaches it
	 * (nft_table_validate); reached by none, it is taken */
	struct fn_nft_ruleset *rs = m_new();
	struct fn_nft_table *t = m_table(rs, NFPROTO_IPV4, "t");
	struct fn_nft_chain *pre = m_nat_chain(rs, t, "pre", NF_INET_PRE_ROUTING, 0);
	struct fn_nft_chain *sub = m_chain(rs, t, "sub", -1, 0, NF_ACCEPT);

	m_rule(rs, sub, e_nat(NFT_NAT_SNAT, NFPROTO_IPV4), NULL);
	fn_nft_prog_free(t_compile(rs, NULL));
	m_rule(rs, pre, e_verdict(NFT_JUMP, "sub"), NULL);
	assert_int_equal(t_compile_err(rs, msg, sizeof(msg)), -EOPNOTSUPP);
	assert_non_null(strstr(msg, "reached from chain pre"));
	m_free(rs);
}

/* Bounded: the least recently used flow goes. */
static void test_ct_lru(void **state)
{
	struct ctt c;
	struct t_pkt t;

	(void)state;
	ctt_init(&c, 8);
	for (uint16_t port = 1; port <= 8; port++) {
		t_udp(&t, A2, A1, port, 53, 0);
		assert_int_equal(tx(&c, &t), NEW);
	}
	t_udp(&t, A1, A2, 53, 1, 0);		/* touch flow 1 */
	assert_int_equal(rx(&c, &t), EST);
	for (uint16_t port = 100; port < 104; port++) {
		t_udp(&t, A2, A1, port, 53, 0);
		assert_int_equal(tx(&c, &t), NEW);
	}
	t_udp(&t, A1, A2, 53, 1, 0);		/* kept */
	assert_int_equal(rx(&c, &t), EST);
	t_udp(&t, A1, A2, 53, 2, 0);		/* evicted: new again */
	assert_int_equal(rx(&c, &t), NEW);
	for (int i = 0; i < 10000; i++) {	/* churn stays bounded */
		t_udp(&t, A2, A1, (uint16_t)(1000 + i), 53, 0);
		assert_int_equal(tx(&c, &t), NEW);
	}
	ctt_fini(&c);
}

/* Later fragments share the first's state; chains before conntrack
 * (priority <= -200) and ingress see no state: invalid. */
static void test_ct_frag_and_priority(void **state)
{
	struct ctt c;
	struct t_pkt t;

	(void)state;
	ctt_init(&c, 16);
	t_udp(&t, A2, A1, 7000, 53, 20);
	assert_int_equal(tx(&c, &t), NEW);
	t_udp(&t, A1, A2, 53, 7000, 100);
	t_frag(&t, 0, 1);
	assert_int_equal(rx(&c, &t), EST);
	t_udp(&t, A1, A2, 53, 7000, 100);
	t_frag(&t, 14, 0);
	assert_int_equal(rx(&c, &t), EST);
	t.buf[14 + 5] ^= 1;			/* another datagram id */
	t_fix_ip_sum(&t);
	assert_int_equal(rx(&c, &t), INV);
	ctt_fini(&c);

	struct ctx x;
	ctx_init(&x, NF_ACCEPT);
	struct fn_nft_chain *raw = m_chain(x.rs, x.t, "raw",
					   NF_INET_PRE_ROUTING, -300, NF_ACCEPT);
	struct nftnl_rule *r = m_rule(x.rs, raw, e_ct_state(NFT_REG_1),
				      e_cmp32(NFT_REG_1, NFT_CMP_EQ, 1),
				      e_counter(), NULL);
	struct fn_nft_prog *p = t_compile(x.rs, NULL);
	struct fn_nft_ct *ct = fn_nft_ct_new(16);
	t_udp(&t, A1, A2, 1, 2, 0);
	t_eval(p, ct, FN_NFT_PREROUTING, &t, NULL);
	assert_int_equal(t_packets(p, r, 2), 1);
	assert_int_equal(t.p.ct_state, NEW);	/* tracked after raw */
	fn_nft_ct_free(ct);
	fn_nft_prog_free(p);
	m_free(x.rs);
}

/* Rule i's counter (its expression ctr[i]) counted want[i] packets. */
static void counts_check(struct fn_nft_prog *p, struct nftnl_rule **r,
			 const unsigned *ctr, const uint64_t *want, int n)
{
	for (int i = 0; i < n; i++)
		if (t_packets(p, r[i], ctr[i]) != want[i])
			fail_msg("rule %d: %llu packets, not %llu", i,
				 (unsigned long long)t_packets(p, r[i], ctr[i]),
				 (unsigned long long)want[i]);
}

/* ct keys but state (nft_ct_get_eval): of the packet's flow, in its
 * direction; nothing (NFT_BREAK) without a flow; ct mark set. */
static void test_ct_keys(void **state)
{
	struct ctx x;
	struct t_pkt t, q;
	uint32_t five = 5, st = 2 | 4 | 8, exp_ms = 432000000u, ua1 = htonl(A1);
	uint64_t two = 2;
	uint8_t reply = 1, l3 = NFPROTO_IPV4, tcp = 6;
	uint16_t p80 = htons(80);
	struct nftnl_rule *r[10];

	(void)state;
	ctx_init(&x, NF_ACCEPT);
	r[0] = m_rule(x.rs, x.in, e_ct(NFT_CT_DIRECTION, NFT_REG_1, -1),
		      e_cmp(NFT_REG_1, NFT_CMP_EQ, &reply, 1), e_counter(), NULL);
	r[1] = m_rule(x.rs, x.in, e_ct(NFT_CT_STATUS, NFT_REG_1, -1),
		      e_cmp(NFT_REG_1, NFT_CMP_EQ, &st, 4), e_counter(), NULL);
	r[2] = m_rule(x.rs, x.in, e_ct(NFT_CT_MARK, NFT_REG_1, -1),
		      e_cmp(NFT_REG_1, NFT_CMP_EQ, &five, 4), e_counter(), NULL);
	r[3] = m_rule(x.rs, x.in, e_ct(NFT_CT_SRC_IP, NFT_REG_1, 0),
		      e_cmp(NFT_REG_1, NFT_CMP_EQ, &ua1, 4), e_counter(), NULL);
	r[4] = m_rule(x.rs, x.in, e_ct(NFT_CT_PROTO_SRC, NFT_REG_1, 1),
		      e_cmp(NFT_REG_1, NFT_CMP_EQ, &p80, 2), e_counter(), NULL);
	r[5] = m_rule(x.rs, x.in, e_ct(NFT_CT_PKTS, NFT_REG_1, 0),
		      e_cmp(NFT_REG_1, NFT_CMP_EQ, &two, 8), e_counter(), NULL);
	r[6] = m_rule(x.rs, x.in, e_ct(NFT_CT_EXPIRATION, NFT_REG_1, -1),
		      e_cmp(NFT_REG_1, NFT_CMP_EQ, &exp_ms, 4), e_counter(),
		      NULL);
	r[7] = m_rule(x.rs, x.in, e_ct(NFT_CT_L3PROTOCOL, NFT_REG_1, -1),
		      e_cmp(NFT_REG_1, NFT_CMP_EQ, &l3, 1),
		      e_ct(NFT_CT_PROTOCOL, NFT_REG_1, -1),
		      e_cmp(NFT_REG_1, NFT_CMP_EQ, &tcp, 1), e_counter(), NULL);
	r[8] = m_rule(x.rs, x.in, e_ct(NFT_CT_HELPER, NFT_REG_1, -1),
		      e_counter(), NULL);
	r[9] = m_rule(x.rs, x.in, e_ct(NFT_CT_ZONE, NFT_REG_1, -1),
		      e_counter(), NULL);
	struct fn_nft_chain *out = m_chain(x.rs, x.t, "out", NF_INET_LOCAL_OUT,
					   0, NF_ACCEPT);
	m_rule(x.rs, out, e_imm(NFT_REG_1, &five, 4),
	       e_ct_set(NFT_CT_MARK, NFT_REG_1), NULL);
	struct fn_nft_prog *p = t_compile(x.rs, NULL);
	struct fn_nft_ct *ct = fn_nft_ct_new(16);
	struct ctt c = { .p = p, .ct = ct };
	static const unsigned ctr[10] = { 2, 2, 2, 2, 2, 2, 2, 4, 1, 1 };

	/* a new flow: original, unconfirmed (expiration 0), 1 packet */
	t_tcp(&t, A1, A2, 4000, 80, TH_SYN, 0);
	assert_int_equal(rx(&c, &t), NEW);
	static const uint64_t after_syn[10] = { 0, 0, 0, 1, 1, 0, 0, 1, 0, 1 };
	counts_check(p, r, ctr, after_syn, 10);
	/* the answer sets the mark; the ACK sees it, assured, confirmed,
	 * seen reply, 2 packets, 5 days left */
	t_tcp(&t, A2, A1, 80, 4000, TH_SYN | TH_ACK, 0);
	assert_int_equal(tx(&c, &t), EST);
	t_tcp(&t, A1, A2, 4000, 80, TH_ACK, 0);
	assert_int_equal(rx(&c, &t), EST);
	static const uint64_t after_ack[10] = { 0, 1, 1, 2, 2, 1, 1, 2, 0, 2 };
	counts_check(p, r, ctr, after_ack, 10);
	/* an ICMP error about a flow goes its reply way: direction reply */
	t_udp(&q, A2, A1, 5000, 53, 20);
	assert_int_equal(tx(&c, &q), NEW);
	t_icmp_err(&t, A1, A2, 3, 3, &q);
	assert_int_equal(rx(&c, &t), REL);
	assert_int_equal(t_packets(p, r[0], 2), 1);
	/* no flow, no key (the kernel's ct == NULL) */
	t_tcp(&t, A1, A2, 4001, 80, TH_SYN | TH_FIN, 0);
	assert_int_equal(rx(&c, &t), INV);
	assert_int_equal(t_packets(p, r[9], 1), 3);
	t_tcp(&t, A1, A2, 4000, 80, TH_ACK, 0);
	t_eval(p, NULL, FN_NFT_INPUT, &t, NULL);
	assert_int_equal(t_packets(p, r[9], 1), 3);
	fn_nft_ct_free(ct);
	fn_nft_prog_free(p);
	m_free(x.rs);
}

/* Accounting as the kernel's nf_ct_set_acct(): a flow made before any
 * ruleset had ct packets/bytes/avgpkt reads 0 (no acct extension), a flow
 * made after counts from its first packet, and a flow reopened by a SYN
 * counts again. */
static void test_ct_acct(void **state)
{
	struct ctx x;
	struct t_pkt t;
	uint64_t v[3] = { 0, 1, 2 };
	struct nftnl_rule *r[3];

	(void)state;
	ctx_init(&x, NF_ACCEPT);
	m_rule(x.rs, x.in, e_ct_state(NFT_REG_1), e_counter(), NULL);
	struct fn_nft_prog *p0 = t_compile(x.rs, NULL);
	struct fn_nft_ct *ct = fn_nft_ct_new(16);
	struct ctt c = { .p = p0, .ct = ct };

	t_udp(&t, A1, A2, 1000, 53, 0);		/* flow A: not counted */
	assert_int_equal(rx(&c, &t), NEW);
	for (int i = 0; i < 3; i++)
		r[i] = m_rule(x.rs, x.in, e_ct(NFT_CT_PKTS, NFT_REG_1, 0),
			      e_cmp(NFT_REG_1, NFT_CMP_EQ, &v[i], 8),
			      e_counter(), NULL);
	c.p = t_compile(x.rs, p0);
	t_udp(&t, A1, A2, 1000, 53, 0);
	assert_int_equal(rx(&c, &t), NEW);
	assert_int_equal(t_packets(c.p, r[0], 2), 1);	/* reads 0 */
	t_udp(&t, A1, A2, 2000, 53, 0);		/* flow B: counted */
	assert_int_equal(rx(&c, &t), NEW);
	assert_int_equal(t_packets(c.p, r[1], 2), 1);
	assert_int_equal(rx(&c, &t), NEW);
	assert_int_equal(t_packets(c.p, r[2], 2), 1);
	/* a TCP flow reopened after its close: a new conntrack, from 1 */
	t_tcp(&t, A1, A2, 4000, 80, TH_SYN, 0);
	assert_int_equal(rx(&c, &t), NEW);
	assert_int_equal(t_packets(c.p, r[1], 2), 2);
	t_tcp(&t, A1, A2, 4000, 80, TH_RST, 0);	/* killed, dying: 2 */
	assert_int_equal(rx(&c, &t), NEW);
	assert_int_equal(t_packets(c.p, r[2], 2), 2);
	t_tcp(&t, A1, A2, 4000, 80, TH_SYN, 0);
	assert_int_equal(rx(&c, &t), NEW);
	assert_int_equal(t_packets(c.p, r[1], 2), 3);
	/* accounting stays on with a ruleset that does not ask */
	fn_nft_prog_free(c.p);
	fn_nft_prog_free(p0);
	m_free(x.rs);
	ctx_init(&x, NF_ACCEPT);
	m_rule(x.rs, x.in, e_ct_state(NFT_REG_1), e_counter(), NULL);
	c.p = t_compile(x.rs, NULL);
	t_udp(&t, A1, A2, 3000, 53, 0);		/* flow C: counted */
	assert_int_equal(rx(&c, &t), NEW);
	fn_nft_prog_free(c.p);
	r[0] = m_rule(x.rs, x.in, e_ct(NFT_CT_PKTS, NFT_REG_1, 0),
		      e_cmp(NFT_REG_1, NFT_CMP_EQ, &v[2], 8), e_counter(),
		      NULL);
	c.p = t_compile(x.rs, NULL);
	assert_int_equal(rx(&c, &t), NEW);
	assert_int_equal(t_packets(c.p, r[0], 2), 1);
	fn_nft_ct_free(ct);
	fn_nft_prog_free(c.p);
	m_free(x.rs);
}

/* The header check of prerouting (output) serves the packet's next hook
 * only: input (postrouting) alone checks it in full, a hook without a
 * chain after a checked one only confirms the new flow, and the check of
 * one packet never serves the next. */
static void test_hook_header_once(void **state)
{
	struct ctx x;
	struct t_pkt t;

	(void)state;
	ctx_init(&x, NF_ACCEPT);
	struct nftnl_rule *r = m_rule(x.rs, x.in, e_ct_state(NFT_REG_1),
				      e_counter(), NULL);
	struct fn_nft_prog *p = t_compile(x.rs, NULL);
	struct fn_nft_ct *ct = fn_nft_ct_new(16);
	struct ctt c = { .p = p, .ct = ct };

	t_udp(&t, A1, A2, 1000, 53, 0);
	assert_int_equal(rx(&c, &t), NEW);
	assert_int_equal(t_packets(p, r, 1), 1);
	t.buf[14 + 10] ^= 0x55;			/* the header sum broken */
	assert_int_equal(t_eval(p, ct, FN_NFT_INPUT, &t, NULL), FN_NFT_DROP);
	assert_int_equal(t_eval(p, ct, FN_NFT_PREROUTING, &t, NULL),
			 FN_NFT_DROP);
	assert_int_equal(t_eval(p, ct, FN_NFT_INPUT, &t, NULL), FN_NFT_DROP);
	assert_int_equal(t_packets(p, r, 1), 1);
	/* no postrouting chain: a new flow sent is confirmed there, so
	 * the answer is established */
	t_udp(&t, A2, A1, 53, 2000, 0);
	assert_int_equal(tx(&c, &t), NEW);
	t_udp(&t, A1, A2, 2000, 53, 0);
	assert_int_equal(rx(&c, &t), EST);
	/* postrouting alone still checks: a header that is not IPv4 */
	t_udp(&t, A2, A1, 53, 2001, 0);
	t.buf[14] = 0x35;
	assert_int_equal(t_eval(p, ct, FN_NFT_POSTROUTING, &t, NULL),
			 FN_NFT_DROP);
	/* ... and a packet dropped at output leaves nothing for the next */
	t_udp(&t, A2, A1, 53, 2002, 0);
	t.buf[14] = 0x35;
	t.p.ct_state = 0;
	assert_int_equal(t_eval(p, ct, FN_NFT_OUTPUT, &t, NULL), FN_NFT_DROP);
	assert_int_equal(t.p.nh_ok, 0);
	fn_nft_ct_free(ct);
	fn_nft_prog_free(p);
	m_free(x.rs);
}

/* fn_nft_pkt.sums: the sums prerouting found right, and only those: the
 * stack lets lwIP skip its own check of them. */
/* A program with no base chain (tables, a set, a regular chain with a
 * ct rule) is idle: the stack skips its hooks, as with no program.  One
 * base chain, on any hook, makes it not. */
static void test_prog_idle(void **state)
{
	struct fn_nft_ruleset *rs = m_new();
	struct fn_nft_table *t = m_table(rs, NFPROTO_INET, "t");
	struct fn_nft_chain *reg = m_chain(rs, t, "reg", -1, 0, NF_ACCEPT);

	(void)state;
	assert_true(fn_nft_prog_idle(NULL));
	m_table(rs, NFPROTO_IPV4, "empty");
	m_set(rs, t, "s", 0, 4, 0, 0);
	m_rule(rs, reg, e_ct_state(NFT_REG_1), e_counter(), NULL);
	struct fn_nft_prog *p = t_compile(rs, NULL);

	assert_true(fn_nft_prog_idle(p));
	fn_nft_prog_free(p);
	m_chain(rs, t, "out", NF_INET_POST_ROUTING, 0, NF_ACCEPT);
	p = t_compile(rs, NULL);
	assert_false(fn_nft_prog_idle(p));
	fn_nft_prog_free(p);
	m_free(rs);
}

static void test_sums(void **state)
{
	struct ctx x;
	struct t_pkt t;

	(void)state;
	ctx_init(&x, NF_ACCEPT);
	m_rule(x.rs, x.in, e_ct_state(NFT_REG_1), e_counter(), NULL);
	struct fn_nft_prog *p = t_compile(x.rs, NULL);
	struct fn_nft_ct *ct = fn_nft_ct_new(16);
	struct ctt c = { .p = p, .ct = ct };

	t_tcp(&t, A1, A2, 4000, 80, TH_SYN, 10);
	rx(&c, &t);
	assert_int_equal(t.p.sums, FN_NFT_SUM_IP | FN_NFT_SUM_TCP);
	t_tcp(&t, A1, A2, 4000, 80, TH_ACK, 10);	/* bad TCP sum */
	t.buf[14 + 20 + 16] ^= 0x55;
	assert_int_equal(rx(&c, &t), INV);
	assert_int_equal(t.p.sums, FN_NFT_SUM_IP);
	t_tcp(&t, A1, A2, 4000, 80, TH_ACK, 10);	/* bad header sum */
	t.buf[14 + 10] ^= 0x55;
	assert_int_equal(t_eval(p, ct, FN_NFT_PREROUTING, &t, NULL),
			 FN_NFT_DROP);
	assert_int_equal(t.p.sums, 0);
	t_udp(&t, A1, A2, 5, 53, 4);			/* UDP: not ours */
	rx(&c, &t);
	assert_int_equal(t.p.sums, FN_NFT_SUM_IP);
	t_tcp(&t, A1, A2, 4001, 80, TH_SYN, 10);	/* a first fragment */
	t_frag(&t, 0, 1);
	rx(&c, &t);
	assert_int_equal(t.p.sums, FN_NFT_SUM_IP);
	t_tcp(&t, A2, A1, 80, 4000, TH_ACK, 10);	/* sent: none */
	tx(&c, &t);
	assert_int_equal(t.p.sums, 0);
	t_tcp(&t, A1, A2, 4000, 80, TH_ACK, 10);	/* input alone: none */
	t_eval(p, ct, FN_NFT_INPUT, &t, NULL);
	assert_int_equal(t.p.sums, 0);
	fn_nft_ct_free(ct);
	fn_nft_prog_free(p);
	/* without conntrack nothing checks the TCP sum */
	m_free(x.rs);
	ctx_init(&x, NF_ACCEPT);
	m_rule(x.rs, x.in, e_counter(), NULL);
	p = t_compile(x.rs, NULL);
	t_tcp(&t, A1, A2, 4000, 80, TH_ACK, 10);
	t_eval(p, NULL, FN_NFT_PREROUTING, &t, NULL);
	assert_int_equal(t.p.sums, FN_NFT_SUM_IP);
	fn_nft_prog_free(p);
	m_free(x.rs);
}

/* Directions as nft_ct_get_init: wanted for addresses and ports, refused
 * for state, mark, status..., 0 or 1 only; ct set only for the mark. */
static void test_ct_key_refusals(void **state)
{
	char msg[256];
	struct {
		struct nftnl_expr *e;
		int err;
	} cases[] = {
		{ e_ct(NFT_CT_SRC_IP, NFT_REG_1, -1), -EINVAL },
		{ e_ct(NFT_CT_PROTO_DST, NFT_REG_1, -1), -EINVAL },
		{ e_ct(NFT_CT_MARK, NFT_REG_1, 0), -EINVAL },
		{ e_ct(NFT_CT_STATUS, NFT_REG_1, 1), -EINVAL },
		{ e_ct(NFT_CT_BYTES, NFT_REG_1, 2), -EINVAL },
		{ e_ct(NFT_CT_SECMARK, NFT_REG_1, -1), -EOPNOTSUPP },
		{ e_ct(NFT_CT_BYTES, NFT_REG32_15, -1), -ERANGE },
		{ e_ct_set(NFT_CT_HELPER, NFT_REG_1), -EOPNOTSUPP },
		{ e_ct_set(NFT_CT_SECMARK, NFT_REG_1), -EOPNOTSUPP },
		{ e_ct_set(NFT_CT_LABELS, NFT_REG32_15), -ERANGE },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ctx x;

		ctx_init(&x, NF_ACCEPT);
		m_rule(x.rs, x.in, cases[i].e, NULL);
		if (t_compile_err(x.rs, msg, sizeof(msg)) != cases[i].err)
			fail_msg("case %zu: %s", i, msg);
		assert_true(cases[i].err == -ERANGE || strstr(msg, "ct"));
		m_free(x.rs);
	}
}

/* ct label set ORs into the flow's labels; ct event set does nothing;
 * notrack makes a packet untracked before conntrack, and after it only
 * a packet without a flow; ct zone set gives such a packet the kernel's
 * template (NEW) and is refused before conntrack. */
static void test_ct_sets(void **state)
{
	static const uint32_t lab[4] = { 0, 0, 0, 0x80000000u };
	struct ctx x;
	struct t_pkt t;
	char msg[256];

	(void)state;
	ctx_init(&x, NF_ACCEPT);
	struct fn_nft_chain *raw = m_chain(x.rs, x.t, "raw",
					   NF_INET_PRE_ROUTING, -300, NF_ACCEPT);
	m_rule(x.rs, raw, M_DPORT(7), e_named("notrack"), NULL);
	m_rule(x.rs, x.in, e_imm(NFT_REG_1, lab, 16),
	       e_ct_set(NFT_CT_LABELS, NFT_REG_1),
	       e_imm(NFT_REG_1, &lab[3], 4),
	       e_ct_set(NFT_CT_EVENTMASK, NFT_REG_1), NULL);
	struct nftnl_rule *lr = m_rule(x.rs, x.in, e_ct(NFT_CT_LABELS, NFT_REG_1, -1),
				       e_cmp(NFT_REG_1, NFT_CMP_EQ, lab, 16),
				       e_counter(), NULL);
	struct nftnl_rule *ur = m_rule(x.rs, x.in, e_ct_state(NFT_REG_1),
				       e_cmp32(NFT_REG_1, NFT_CMP_EQ,
					       NFE_CT_UNTRACKED), e_counter(), NULL);
	struct fn_nft_prog *p = t_compile(x.rs, NULL);
	struct fn_nft_ct *ct = fn_nft_ct_new(16);

	t_udp(&t, A1, A2, 5, 6, 0);
	t_eval(p, ct, FN_NFT_PREROUTING, &t, NULL);
	t_eval(p, ct, FN_NFT_INPUT, &t, NULL);
	assert_int_equal(t_packets(p, lr, 2), 1);	/* set, then read */
	t_udp(&t, A1, A2, 5, 7, 0);
	t_eval(p, ct, FN_NFT_PREROUTING, &t, NULL);
	t_eval(p, ct, FN_NFT_INPUT, &t, NULL);
	assert_int_equal(t.p.ct_state, NFE_CT_UNTRACKED);
	assert_int_equal(t_packets(p, ur, 2), 1);
	assert_int_equal(t_packets(p, lr, 2), 1);	/* no flow: no label */
	fn_nft_ct_free(ct);
	fn_nft_prog_free(p);
	m_free(x.rs);

	ctx_init(&x, NF_ACCEPT);
	raw = m_chain(x.rs, x.t, "raw", NF_INET_PRE_ROUTING, -300, NF_ACCEPT);
	m_rule(x.rs, raw, e_imm(NFT_REG_1, &lab[0], 4),
	       e_ct_set(NFT_CT_ZONE, NFT_REG_1), NULL);
	assert_int_equal(t_compile_err(x.rs, msg, sizeof(msg)), -EOPNOTSUPP);
	assert_non_null(strstr(msg, "zone"));
	m_free(x.rs);
}

/* nfe_csum (8 bytes at a time, host order) against the 16-bit
 * big-endian sum of RFC 1071, every length to 1600, at odd and even
 * addresses, over bytes that carry often. */
static void test_csum(void **state)
{
	static uint8_t buf[1608];

	(void)state;
	for (uint32_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 37 + 11) | (i % 3 ? 0xf0 : 0);
	for (uint32_t off = 0; off < 8; off++)
		for (uint32_t len = 0; len <= 1600; len++) {
			const uint8_t *p = buf + off;
			uint32_t sum = 0;

			for (uint32_t i = 0; i < len; i += 2)
				sum += (uint32_t)(p[i] << 8 |
						  (i + 1 < len ? p[i + 1] : 0));
			while (sum >> 16)
				sum = (sum & 0xffff) + (sum >> 16);
			assert_int_equal(nfe_csum(p, len), sum);
		}
}

/* ---- one call per path (fn_nft_eval_in/out) ------------------------------ */

/* A ruleset on every hook: ingress drops UDP port 9, prerouting counts
 * before conntrack (prio -300) and drops port 7 after it, input has the
 * ct state rules, a reject and a drop, output drops source port 8 and
 * rejects 5, postrouting counts. */
#define M_SPORT(d)  e_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, NFT_REG_1), \
		    e_cmp16(NFT_REG_1, NFT_CMP_EQ, (d))
struct pair {
	struct fn_nft_ruleset *rs;
	struct nftnl_rule *r[9];
};

static void pair_rules(struct pair *q, bool full)
{
	static const uint32_t est = 2, newb = 8, zero = 0;
	struct fn_nft_table *t, *n;
	struct fn_nft_chain *ing, *pre0, *pre, *in, *out, *post;

	q->rs = m_new();
	n = m_table(q->rs, NFPROTO_NETDEV, "n");
	t = m_table(q->rs, NFPROTO_INET, "t");
	ing = m_chain(q->rs, n, "ing", NF_NETDEV_INGRESS, 0, NF_ACCEPT);
	pre0 = m_chain(q->rs, t, "pre0", NF_INET_PRE_ROUTING, -300, NF_ACCEPT);
	pre = m_chain(q->rs, t, "pre", NF_INET_PRE_ROUTING, 0, NF_ACCEPT);
	/* !full: input and postrouting have no chain (theirs are regular
	 * chains, never run): conntrack's confirmation alone there */
	in = m_chain(q->rs, t, "in", full ? NF_INET_LOCAL_IN : -1, 0,
		     NF_DROP);
	out = m_chain(q->rs, t, "out", NF_INET_LOCAL_OUT, 0, NF_ACCEPT);
	post = m_chain(q->rs, t, "post", full ? NF_INET_POST_ROUTING : -1, 0,
		       NF_ACCEPT);
	q->r[0] = m_rule(q->rs, ing, M_PROTO(17), M_DPORT(9), e_counter(),
			 e_verdict(NF_DROP, NULL), NULL);
	q->r[1] = m_rule(q->rs, pre0, e_counter(), NULL);
	q->r[2] = m_rule(q->rs, pre, M_DPORT(7), e_counter(),
			 e_verdict(NF_DROP, NULL), NULL);
	q->r[3] = m_rule(q->rs, in, e_ct_state(NFT_REG_1),
			 e_bitwise(NFT_REG_1, NFT_REG_1, 4, &est, &zero),
			 e_cmp32(NFT_REG_1, NFT_CMP_NEQ, 0), e_counter(),
			 e_verdict(NF_ACCEPT, NULL), NULL);
	q->r[4] = m_rule(q->rs, in, M_DPORT(6), e_counter(),
			 e_reject(NFT_REJECT_TCP_RST, -1), NULL);
	q->r[5] = m_rule(q->rs, in, e_ct_state(NFT_REG_1),
			 e_bitwise(NFT_REG_1, NFT_REG_1, 4, &newb, &zero),
			 e_cmp32(NFT_REG_1, NFT_CMP_NEQ, 0), e_counter(),
			 e_verdict(NF_ACCEPT, NULL), NULL);
	q->r[6] = m_rule(q->rs, out, M_SPORT(8), e_counter(),
			 e_verdict(NF_DROP, NULL), NULL);
	q->r[7] = m_rule(q->rs, out, M_SPORT(5), e_counter(),
			 e_reject(NFT_REJECT_ICMP_UNREACH, 3), NULL);
	q->r[8] = m_rule(q->rs, post, e_counter(), NULL);
}

/* The packet of step i: one of 6 flows between A1 (remote) and A2 (us),
 * either way, TCP with flags that open, use, close and reset flows, UDP,
 * ICMP echo, a bad transport or header sum, an ARP frame. */
static void pair_packet(struct t_pkt *t, uint32_t *seed, bool *rx)
{
	static const uint8_t fl[] = { TH_SYN, TH_SYN | TH_ACK, TH_ACK,
		TH_ACK, TH_ACK, TH_FIN | TH_ACK, TH_RST, TH_SYN | TH_FIN };
	static const uint16_t ports[] = { 80, 6, 7, 8, 5, 9 };
	uint32_t r = rnd(seed);
	uint16_t lport = ports[r % 6], rport = (uint16_t)(4000 + (r >> 3) % 4);
	uint32_t kind = (r >> 5) % 16;

	*rx = (r >> 9) & 1;
	if (kind < 10)
		t_tcp(t, *rx ? A1 : A2, *rx ? A2 : A1, *rx ? rport : lport,
		      *rx ? lport : rport, fl[(r >> 10) % 8], (r >> 13) % 40);
	else if (kind < 13)
		t_udp(t, *rx ? A1 : A2, *rx ? A2 : A1, *rx ? rport : lport,
		      *rx ? lport : rport, (r >> 13) % 40);
	else
		t_icmp(t, *rx ? A1 : A2, *rx ? A2 : A1, (r >> 10) % 2 ? 8 : 0,
		       0, (uint16_t)rport);
	if ((r >> 20) % 29 == 0)
		t->buf[14 + 20 + 4] ^= 0x40;		/* transport sum */
	if ((r >> 20) % 31 == 1)
		t->buf[14 + 10] ^= 0x01;		/* header sum */
	if ((r >> 20) % 37 == 2) {			/* ARP */
		t->buf[12] = 0x08;
		t->buf[13] = 0x06;
		t->p.ethertype = 0x0806;
		t->p.nh = NULL;
		t->p.nh_len = 0;
	}
	t->p.iifname = *rx ? "eth0" : NULL;	/* m_chain's ingress device */
	t->p.oifname = *rx ? NULL : "eth0";
	t->p.now_ns = 1000000000ull * (1 + ((r >> 24) & 3));
}

/* fn_nft_eval_in and _out give what fn_nft_eval gives hook by hook:
 * verdicts, the hook and rule that dropped, the reject, conntrack's
 * state, entry and sums for each packet, every counter at the end. */
/* The next packet of the mix (pair_packet) into a and a copy into b,
 * judged hook by hook (fn_nft_eval) with pa and ca, in one call a path
 * (fn_nft_eval_in/out) with pb and cb; both judged the same.  True when
 * it reached input. */
static bool pair_judge(struct fn_nft_prog *pa, struct fn_nft_ct *ca,
		       struct fn_nft_prog *pb, struct fn_nft_ct *cb,
		       uint32_t *seed, struct t_pkt *a, struct t_pkt *b,
		       struct fn_nft_result *ra, struct fn_nft_result *rb)
{
	enum fn_nft_hook h = FN_NFT_OUTPUT;
	bool rx;

	pair_packet(a, seed, &rx);
	memcpy(b, a, sizeof(*a));
	if (b->p.nh)
		b->p.nh = b->buf + 14;
	b->p.l2 = b->buf;
	if (rx) {
		h = FN_NFT_INGRESS;
		fn_nft_eval(pa, ca, h, &a->p, ra);
		if (ra->verdict == FN_NFT_ACCEPT && a->p.nh) {
			fn_nft_eval(pa, ca, h = FN_NFT_PREROUTING, &a->p, ra);
			if (ra->verdict == FN_NFT_ACCEPT)
				fn_nft_eval(pa, ca, h = FN_NFT_INPUT, &a->p,
					    ra);
		}
		assert_int_equal(ra->hook, h);
		fn_nft_eval_in(pb, cb, &b->p, rb);
	} else {
		fn_nft_eval(pa, ca, FN_NFT_OUTPUT, &a->p, ra);
		if (ra->verdict == FN_NFT_ACCEPT)
			fn_nft_eval(pa, ca, FN_NFT_POSTROUTING, &a->p, ra);
		fn_nft_eval_out(pb, cb, &b->p, rb);
	}
	assert_int_equal(ra->verdict, rb->verdict);
	assert_int_equal(ra->hook, rb->hook);
	assert_int_equal(ra->rule, rb->rule);
	assert_int_equal(ra->reject, rb->reject);
	assert_int_equal(ra->reject_code, rb->reject_code);
	assert_int_equal(a->p.ct_state, b->p.ct_state);
	assert_int_equal(a->p.ct_entry, b->p.ct_entry);
	assert_int_equal(a->p.ct_id, b->p.ct_id);
	assert_int_equal(a->p.sums, b->p.sums);
	assert_false(ra->kept);
	return h == FN_NFT_INPUT;
}

static void paths_check(bool full)
{
	struct pair q;
	struct fn_nft_prog *pa, *pb;
	struct fn_nft_ct *ca = fn_nft_ct_new(16), *cb = fn_nft_ct_new(16);
	uint32_t seed = 2026, drops = 0, inputs = 0;
	/* the counter's place in each rule of pair_rules */
	static const unsigned cnt[9] = { 4, 0, 2, 3, 2, 3, 2, 2, 0 };

	pair_rules(&q, full);
	pa = t_compile(q.rs, NULL);
	pb = t_compile(q.rs, NULL);
	assert_int_equal(fn_nft_prog_flags(pa), FN_NFT_PROG_CT);
	for (int i = 0; i < 20000; i++) {
		struct t_pkt a, b;
		struct fn_nft_result ra, rb;

		inputs += pair_judge(pa, ca, pb, cb, &seed, &a, &b, &ra, &rb);
		drops += ra.verdict != FN_NFT_ACCEPT;
	}
	for (unsigned i = 0; i < 9; i++)
		assert_int_equal(t_packets(pa, q.r[i], cnt[i]),
				 t_packets(pb, q.r[i], cnt[i]));
	/* the mix reaches every hook and every verdict */
	assert_true(drops > 500 && drops < 19000);
	assert_true(inputs > 1000);
	for (unsigned i = 0; i < 9; i++)
		assert_true(t_packets(pa, q.r[i], cnt[i]) > 0 ||
			    (!full && (i == 3 || i == 4 || i == 5 || i == 8)));
	/* no ruleset: accepted, nothing tracked */
	struct t_pkt t;
	struct fn_nft_result r;

	t_tcp(&t, A1, A2, 1, 2, TH_SYN, 0);
	fn_nft_eval_in(NULL, cb, &t.p, &r);
	assert_int_equal(r.verdict, FN_NFT_ACCEPT);
	assert_int_equal(t.p.ct_state, 0);
	fn_nft_eval_out(NULL, cb, &t.p, &r);
	assert_int_equal(r.verdict, FN_NFT_ACCEPT);
	assert_int_equal(fn_nft_prog_flags(NULL), FN_NFT_PROG_IDLE);
	fn_nft_prog_free(pa);
	fn_nft_prog_free(pb);
	fn_nft_ct_free(ca);
	fn_nft_ct_free(cb);
	m_free(q.rs);
}

static void test_eval_paths(void **state)
{
	(void)state;
	paths_check(true);
	paths_check(false);
}

/* Rules whose verdicts a flow may keep (fn_nft_ct_adopt): all chains
 * after conntrack, ESTABLISHED accepted by a rule that reads only the
 * state; before it, drops on ports (pure) and, for port 5, on the
 * packet's length (it varies: never kept); `dport` is the port that
 * the drop rule of prerouting names. */
static struct fn_nft_ruleset *kept_rules(uint16_t dport,
					 struct nftnl_rule **counted)
{
	static const uint32_t est = 2, newb = 8, zero = 0, len = 60;
	struct fn_nft_ruleset *rs = m_new();
	struct fn_nft_table *t = m_table(rs, NFPROTO_INET, "t");
	struct fn_nft_chain *pre, *in, *out;

	pre = m_chain(rs, t, "pre", NF_INET_PRE_ROUTING, 0, NF_ACCEPT);
	in = m_chain(rs, t, "in", NF_INET_LOCAL_IN, 0, NF_DROP);
	out = m_chain(rs, t, "out", NF_INET_LOCAL_OUT, 0, NF_ACCEPT);
	m_rule(rs, pre, M_DPORT(dport), e_verdict(NF_DROP, NULL), NULL);
	m_rule(rs, in, M_DPORT(5), e_meta(NFT_META_LEN, NFT_REG_1),
	       e_cmp(NFT_REG_1, NFT_CMP_GT, &len, 4),
	       e_verdict(NF_DROP, NULL), NULL);
	m_rule(rs, in, e_ct_state(NFT_REG_1),
	       e_bitwise(NFT_REG_1, NFT_REG_1, 4, &est, &zero),
	       e_cmp32(NFT_REG_1, NFT_CMP_NEQ, 0),
	       e_verdict(NF_ACCEPT, NULL), NULL);
	m_rule(rs, in, M_DPORT(6), e_counter(),
	       e_reject(NFT_REJECT_TCP_RST, -1), NULL);
	*counted = m_rule(rs, in, e_ct_state(NFT_REG_1),
			  e_bitwise(NFT_REG_1, NFT_REG_1, 4, &newb, &zero),
			  e_cmp32(NFT_REG_1, NFT_CMP_NEQ, 0), e_counter(),
			  e_verdict(NF_ACCEPT, NULL), NULL);
	m_rule(rs, out, M_SPORT(8), e_verdict(NF_DROP, NULL), NULL);
	return rs;
}

/* Kept verdicts change no verdict: the packets of paths_check judged
 * hook by hook with a ct that adopted nothing, and in one call with a
 * ct that adopted its program, which keeps flows' verdicts; halfway, a
 * new program (another port dropped) forgets them. */
static void test_eval_kept(void **state)
{
	struct fn_nft_ct *ca = fn_nft_ct_new(16), *cb = fn_nft_ct_new(16);
	struct nftnl_rule *qa, *qb;
	struct fn_nft_ruleset *rs = kept_rules(7, &qa);
	struct fn_nft_prog *pa = t_compile(rs, NULL), *pb = t_compile(rs, NULL);
	uint32_t seed = 21, kept = 0, accepted = 0;

	(void)state;
	fn_nft_ct_adopt(cb, pb);
	for (int i = 0; i < 40000; i++) {
		struct t_pkt a, b;
		struct fn_nft_result ra, rb;

		if (i == 20000) {	/* the stack's swap */
			struct fn_nft_ruleset *rs2 = kept_rules(80, &qb);
			struct fn_nft_prog *na = t_compile(rs2, pa);
			struct fn_nft_prog *nb = t_compile(rs2, pb);

			fn_nft_prog_free(pa);
			fn_nft_prog_free(pb);
			m_free(rs);
			rs = rs2;
			qa = qb;
			pa = na;
			pb = nb;
			fn_nft_ct_adopt(cb, pb);
		}
		pair_judge(pa, ca, pb, cb, &seed, &a, &b, &ra, &rb);
		if (rb.kept) {
			kept++;
			assert_int_equal(rb.verdict, FN_NFT_ACCEPT);
			assert_int_equal(b.p.ct_state, 2);	/* established */
		}
		accepted += rb.verdict == FN_NFT_ACCEPT;
	}
	/* the counter of `ct state new counter accept` saw the same */
	assert_int_equal(t_packets(pa, qa, 3), t_packets(pb, qa, 3));
	/* about 1,100 of 27,000: the mix changes flows' states often */
	assert_true(kept > 500 && kept < accepted);
	/* a ct that adopted another program keeps nothing for this one */
	fn_nft_ct_adopt(cb, NULL);
	for (int i = 0; i < 2000; i++) {
		struct t_pkt b;
		struct fn_nft_result rb;
		bool rx;

		pair_packet(&b, &seed, &rx);
		if (rx)
			fn_nft_eval_in(pb, cb, &b.p, &rb);
		else
			fn_nft_eval_out(pb, cb, &b.p, &rb);
		assert_false(rb.kept);
	}
	fn_nft_prog_free(pa);
	fn_nft_prog_free(pb);
	fn_nft_ct_free(ca);
	fn_nft_ct_free(cb);
	m_free(rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_set_scale),
		cmocka_unit_test(test_interval_set_scale),
		cmocka_unit_test(test_interval_key_end),
		cmocka_unit_test(test_value_map),
		cmocka_unit_test(test_verdict_map),
		cmocka_unit_test(test_set_update),
		cmocka_unit_test(test_set_refusals),
		cmocka_unit_test(test_ct_tcp),
		cmocka_unit_test(test_ct_udp_icmp),
		cmocka_unit_test(test_ct_unconfirmed),
		cmocka_unit_test(test_nat),
		cmocka_unit_test(test_nat_masquerade_identity),
		cmocka_unit_test(test_nat_refusals),
		cmocka_unit_test(test_ct_lru),
		cmocka_unit_test(test_ct_frag_and_priority),
		cmocka_unit_test(test_ct_keys),
		cmocka_unit_test(test_ct_key_refusals),
		cmocka_unit_test(test_ct_acct),
		cmocka_unit_test(test_hook_header_once),
		cmocka_unit_test(test_prog_idle),
		cmocka_unit_test(test_eval_paths),
		cmocka_unit_test(test_eval_kept),
		cmocka_unit_test(test_sums),
		cmocka_unit_test(test_ct_sets),
		cmocka_unit_test(test_csum),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
