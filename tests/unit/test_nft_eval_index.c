/*
 * test_nft_eval_index.c - unit tests of the evaluator's rule index
 * (src/nft/eval/index.c, docs/nft-eval.md "The rule index"): runs of
 * rules that compare one field with constants judge a packet exactly as
 * the plain linear walk does (same verdicts, same counters, same mark),
 * with duplicates in order, runs cut by side effects, short packets,
 * tables the index must leave alone, and a randomized cross-check of
 * indexed against linear evaluation.  Every program is compiled twice
 * from the same model: p indexed, q with fn_nft_prog_index(q, false).
 * White box: the tests look at the runs compile built (eval/nfe.h) so
 * that none passes because nothing was indexed.
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
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "eval/nfe.h"
#include "nft_eval_util.h"

#define IN NF_INET_LOCAL_IN
#define BLK(i) IP4(198, 18, 0, (i))
#define CLIENT IP4(10, 242, 0, 9)
#define SERVER IP4(10, 242, 0, 1)

/* `ip saddr A` as nft emits it in an inet table. */
#define G_NFP4	e_meta(NFT_META_NFPROTO, NFT_REG_1), \
		e_cmp8(NFT_REG_1, NFT_CMP_EQ, NFPROTO_IPV4)

/* An indexed program and a linear one, from one model. */
struct pair {
	struct fn_nft_prog *p, *q;
};

static struct pair compile2(const struct fn_nft_ruleset *rs)
{
	struct pair pr = { t_compile(rs, NULL), t_compile(rs, NULL) };

	fn_nft_prog_index(pr.q, false);
	return pr;
}

static void free2(struct pair *pr)
{
	fn_nft_prog_free(pr->p);
	fn_nft_prog_free(pr->q);
}

/* Both programs judge t (a copy each, mark included): same verdict,
 * reject and mark; the verdict. */
static int eval2(struct pair *pr, enum fn_nft_hook h, const struct t_pkt *t)
{
	struct t_pkt a = *t, b = *t;
	struct fn_nft_result ra, rb;

	/* the copies' pointers into their own buffers */
	a.p.l2 = a.buf;
	a.p.nh = t->p.nh ? a.buf + (t->p.nh - t->buf) : NULL;
	b.p.l2 = b.buf;
	b.p.nh = t->p.nh ? b.buf + (t->p.nh - t->buf) : NULL;
	fn_nft_eval(pr->p, NULL, h, &a.p, &ra);
	fn_nft_eval(pr->q, NULL, h, &b.p, &rb);
	assert_int_equal(ra.verdict, rb.verdict);
	assert_int_equal(ra.reject, rb.reject);
	assert_int_equal(a.p.mark, b.p.mark);
	return ra.verdict;
}

/* Counter expression i of rule r: the same in both programs. */
static uint64_t count2(struct pair *pr, struct nftnl_rule *r, unsigned i)
{
	uint64_t n = t_packets(pr->p, r, i);

	assert_int_equal(n, t_packets(pr->q, r, i));
	assert_int_equal(t_bytes(pr->p, r, i), t_bytes(pr->q, r, i));
	return n;
}

static struct fn_nft_ruleset *rs_inet(struct fn_nft_chain **c)
{
	struct fn_nft_ruleset *rs = m_new();

	*c = m_chain(rs, m_table(rs, NFPROTO_INET, "t"), "in", IN, 0,
		     NF_ACCEPT);
	return rs;
}

/* ip saddr A counter [verdict]: counter is expression 4. */
static struct nftnl_rule *saddr_rule(struct fn_nft_ruleset *rs,
				     struct fn_nft_chain *c, uint32_t a,
				     int verdict)
{
	if (verdict == NFT_CONTINUE)
		return m_rule(rs, c, G_NFP4, M_SADDR(a), e_counter(), NULL);
	return m_rule(rs, c, G_NFP4, M_SADDR(a), e_counter(),
		      e_verdict(verdict, NULL), NULL);
}

/* The run of chain position i of base chain 0 (0 = none). */
static uint32_t run_of(const struct fn_nft_prog *p, uint32_t chain,
		       uint32_t i)
{
	const struct nfe_chain *ch = &p->chains[chain];

	assert_true(i < ch->nrules);
	return p->rules[ch->first_rule + i].run;
}

/* A blocklist of 20 addresses and a catch-all: each packet hits the same
 * rule as the linear walk, skipped rules' counters stay 0. */
static void test_index_same_rule(void **state)
{
	struct fn_nft_chain *c;
	struct fn_nft_ruleset *rs = rs_inet(&c);
	struct nftnl_rule *r[20], *last;
	struct t_pkt t;

	(void)state;
	for (int i = 0; i < 20; i++)
		r[i] = saddr_rule(rs, c, BLK(i + 1), NF_DROP);
	last = m_rule(rs, c, e_counter(), e_verdict(NF_ACCEPT, NULL), NULL);
	struct pair pr = compile2(rs);

	assert_int_equal(pr.p->nruns, 1);
	assert_int_equal(pr.p->runs[0].end, 20);
	assert_int_equal(pr.p->runs[0].nkeys, 20);
	for (int i = 0; i < 20; i++)
		assert_int_equal(run_of(pr.p, 0, i), 1);
	assert_int_equal(run_of(pr.p, 0, 20), 0);
	t_tcp(&t, BLK(6), SERVER, 1000, 6379, TH_SYN, 0);
	assert_int_equal(eval2(&pr, FN_NFT_INPUT, &t), FN_NFT_DROP);
	t_tcp(&t, BLK(20), SERVER, 1000, 6379, TH_SYN, 0);
	assert_int_equal(eval2(&pr, FN_NFT_INPUT, &t), FN_NFT_DROP);
	t_udp(&t, CLIENT, SERVER, 1000, 53, 3);
	assert_int_equal(eval2(&pr, FN_NFT_INPUT, &t), FN_NFT_ACCEPT);
	t_tcp(&t, BLK(21), SERVER, 1000, 6379, TH_SYN, 0);
	assert_int_equal(eval2(&pr, FN_NFT_INPUT, &t), FN_NFT_ACCEPT);
	for (int i = 0; i < 20; i++)
		assert_int_equal(count2(&pr, r[i], 4),
				 i == 5 || i == 19 ? 1 : 0);
	assert_int_equal(count2(&pr, last, 0), 2);
	free2(&pr);
	m_free(rs);
}

/* The same constant in several rules: all of them run, in chain order
 * (rule 4 tests the mark rule 0 set), a jump from inside the run comes
 * back into it. */
static void test_index_duplicates(void **state)
{
	struct fn_nft_ruleset *rs = m_new();
	struct fn_nft_table *tb = m_table(rs, NFPROTO_INET, "t");
	struct fn_nft_chain *c = m_chain(rs, tb, "in", IN, 0, NF_DROP);
	struct fn_nft_chain *sub = m_chain(rs, tb, "sub", -1, 0, 0);
	uint32_t mark = 7;
	struct nftnl_rule *r[7], *rsub;
	struct t_pkt t;

	(void)state;
	rsub = m_rule(rs, sub, e_counter(), e_verdict(NFT_RETURN, NULL), NULL);
	r[0] = m_rule(rs, c, G_NFP4, M_SADDR(BLK(1)), e_counter(),
		      e_imm(NFT_REG_2, &mark, 4),
		      e_meta_set(NFT_META_MARK, NFT_REG_2), NULL);
	r[1] = saddr_rule(rs, c, BLK(2), NF_DROP);
	r[2] = m_rule(rs, c, G_NFP4, M_SADDR(BLK(1)), e_counter(),
		      e_verdict(NFT_JUMP, "sub"), NULL);
	r[3] = saddr_rule(rs, c, BLK(3), NF_DROP);
	r[4] = m_rule(rs, c, e_meta(NFT_META_MARK, NFT_REG_1),
		      e_cmp32(NFT_REG_1, NFT_CMP_EQ, mark), G_NFP4,
		      M_SADDR(BLK(1)), e_counter(), NULL);
	r[5] = saddr_rule(rs, c, BLK(4), NF_DROP);
	r[6] = saddr_rule(rs, c, BLK(1), NF_ACCEPT);
	struct pair pr = compile2(rs);

	assert_int_equal(pr.p->nruns, 1);
	assert_int_equal(pr.p->runs[0].end, 7);
	assert_int_equal(pr.p->runs[0].nkeys, 4);
	t_tcp(&t, BLK(1), SERVER, 1000, 22, TH_SYN, 0);
	assert_int_equal(eval2(&pr, FN_NFT_INPUT, &t), FN_NFT_ACCEPT);
	assert_int_equal(count2(&pr, r[0], 4), 1);
	assert_int_equal(count2(&pr, r[2], 4), 1);
	assert_int_equal(count2(&pr, r[4], 6), 1);
	assert_int_equal(count2(&pr, r[6], 4), 1);
	assert_int_equal(count2(&pr, rsub, 0), 1);
	for (int i = 1; i < 6; i += 2)
		assert_int_equal(count2(&pr, r[i], 4), 0);
	t_tcp(&t, BLK(4), SERVER, 1000, 22, TH_SYN, 0);
	assert_int_equal(eval2(&pr, FN_NFT_INPUT, &t), FN_NFT_DROP);
	assert_int_equal(count2(&pr, r[5], 4), 1);
	assert_int_equal(count2(&pr, r[0], 4), 1);
	free2(&pr);
	m_free(rs);
}

/* A rule with a side effect before its key (`counter ip saddr X`) ends a
 * run; a run keyed on `meta mark` (a rule may set it) is not made; nor
 * is one of fewer than NFE_INDEX_MIN rules or of one constant only. */
static void test_index_run_limits(void **state)
{
	struct fn_nft_chain *c;
	struct fn_nft_ruleset *rs = rs_inet(&c);
	struct nftnl_rule *mid, *r[12];
	struct t_pkt t;

	(void)state;
	for (int i = 0; i < 5; i++)
		r[i] = saddr_rule(rs, c, BLK(i + 1), NFT_CONTINUE);
	mid = m_rule(rs, c, e_counter(), G_NFP4, M_SADDR(BLK(1)),
		     e_counter(), NULL);
	for (int i = 5; i < 10; i++)
		r[i] = saddr_rule(rs, c, BLK(i + 1), NFT_CONTINUE);
	for (uint32_t m = 0; m < 5; m++)	/* meta mark m counter */
		m_rule(rs, c, e_meta(NFT_META_MARK, NFT_REG_1),
		       e_cmp32(NFT_REG_1, NFT_CMP_EQ, m), e_counter(), NULL);
	for (int i = 0; i < 3; i++)		/* 3 rules: too few */
		saddr_rule(rs, c, BLK(i + 1), NFT_CONTINUE);
	m_rule(rs, c, e_counter(), NULL);
	for (int i = 0; i < 6; i++)		/* one constant: no gain */
		saddr_rule(rs, c, BLK(1), NFT_CONTINUE);
	struct pair pr = compile2(rs);

	assert_int_equal(pr.p->nruns, 2);
	assert_int_equal(run_of(pr.p, 0, 0), 1);
	assert_int_equal(run_of(pr.p, 0, 5), 0);
	assert_int_equal(run_of(pr.p, 0, 6), 2);
	assert_int_equal(pr.p->runs[1].end, 11);
	for (uint32_t i = 11; i < pr.p->chains[0].nrules; i++)
		assert_int_equal(run_of(pr.p, 0, i), 0);
	t_tcp(&t, BLK(1), SERVER, 1000, 22, TH_SYN, 0);
	eval2(&pr, FN_NFT_INPUT, &t);
	t_tcp(&t, BLK(7), SERVER, 1000, 22, TH_SYN, 0);
	t.p.mark = 3;
	eval2(&pr, FN_NFT_INPUT, &t);
	assert_int_equal(count2(&pr, mid, 0), 2);
	assert_int_equal(count2(&pr, mid, 5), 1);
	assert_int_equal(count2(&pr, r[0], 4), 1);
	assert_int_equal(count2(&pr, r[6], 4), 1);
	for (int i = 1; i < 10; i++)
		if (i != 6)
			assert_int_equal(count2(&pr, r[i], 4), 0);
	free2(&pr);
	m_free(rs);
}

/* A key load that fails: a transport header shorter than the port, a
 * later fragment for a load the kernel does not take fast (th @1,2),
 * ICMP for `udp sport`: no rule of the run matches, none counts. */
static void test_index_short_packets(void **state)
{
	struct fn_nft_chain *c;
	struct fn_nft_ruleset *rs = rs_inet(&c);
	struct nftnl_rule *r[6], *s[6], *last;
	struct t_pkt t;
	uint8_t *ip;

	(void)state;
	for (int i = 0; i < 6; i++)	/* th @1,2: not aligned, not fast */
		r[i] = m_rule(rs, c, e_meta(NFT_META_L4PROTO, NFT_REG_1),
			      e_cmp8(NFT_REG_1, NFT_CMP_EQ, 17),
			      e_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 1, 2,
					NFT_REG_1),
			      e_cmp16(NFT_REG_1, NFT_CMP_EQ,
				      (uint16_t)((i + 1) << 8)),
			      e_counter(), NULL);
	for (int i = 0; i < 6; i++)	/* th dport */
		s[i] = m_rule(rs, c, M_DPORT((uint16_t)(100 + i)), e_counter(),
			      NULL);
	last = m_rule(rs, c, e_counter(), NULL);
	struct pair pr = compile2(rs);

	assert_int_equal(pr.p->nruns, 2);
	/* whole: udp sport 1, dport 101; th @1,2 = 0x01 0x00 = rule 0 */
	t_udp(&t, CLIENT, SERVER, 1, 101, 8);
	eval2(&pr, FN_NFT_INPUT, &t);
	assert_int_equal(count2(&pr, r[0], 4), 1);
	assert_int_equal(count2(&pr, s[1], 2), 1);
	/* a later fragment: th @1,2 fails, the fast dport load does not */
	t_udp(&t, CLIENT, SERVER, 1, 101, 8);
	t_frag(&t, 8, 0);
	eval2(&pr, FN_NFT_INPUT, &t);
	assert_int_equal(count2(&pr, r[0], 4), 1);
	assert_int_equal(count2(&pr, s[1], 2), 2);
	/* a transport header of 2 bytes: both loads fail */
	t_udp(&t, CLIENT, SERVER, 1, 101, 0);
	ip = t.buf + 14;
	ip[3] = 22;
	t_fix_ip_sum(&t);
	eval2(&pr, FN_NFT_INPUT, &t);
	/* ICMP */
	t_icmp(&t, CLIENT, SERVER, 8, 0, 1);
	eval2(&pr, FN_NFT_INPUT, &t);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(count2(&pr, r[i], 4), i == 0 ? 1 : 0);
		assert_int_equal(count2(&pr, s[i], 2), i == 1 ? 2 : 0);
	}
	assert_int_equal(count2(&pr, last, 0), 4);
	free2(&pr);
	m_free(rs);
}

/* Keys longer than a word (iifname, 16 bytes: compared with cmp, not
 * the word compare) and a key with a short compare of a longer load. */
static void test_index_long_keys(void **state)
{
	struct fn_nft_chain *c;
	struct fn_nft_ruleset *rs = rs_inet(&c);
	struct nftnl_rule *r[5], *s[5];
	char names[5][16] = { "eth0", "eth1", "lo", "", "eth0.1" };
	struct t_pkt t;

	(void)state;
	for (int i = 0; i < 5; i++)
		r[i] = m_rule(rs, c, e_meta(NFT_META_IIFNAME, NFT_REG_2),
			      e_cmp(NFT_REG_2, NFT_CMP_EQ, names[i], 16),
			      e_counter(), NULL);
	for (int i = 0; i < 5; i++) {	/* first 3 bytes of ip saddr */
		uint8_t pre[3] = { 198, 18, (uint8_t)i };

		s[i] = m_rule(rs, c, e_payload(NFT_PAYLOAD_NETWORK_HEADER,
					       12, 4, NFT_REG32_02),
			      e_cmp(NFT_REG32_02, NFT_CMP_EQ, pre, 3),
			      e_counter(), NULL);
	}
	struct pair pr = compile2(rs);

	assert_int_equal(pr.p->nruns, 2);
	assert_int_equal(pr.p->runs[0].kwords, 4);
	assert_int_equal(pr.p->runs[1].kwords, 1);
	t_udp(&t, IP4(198, 18, 2, 77), SERVER, 1, 2, 0);
	eval2(&pr, FN_NFT_INPUT, &t);
	t.p.iifname = "eth0.1";
	eval2(&pr, FN_NFT_INPUT, &t);
	t.p.iifname = "eth0.10";
	eval2(&pr, FN_NFT_INPUT, &t);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(count2(&pr, r[i], 2),
				 i == 0 || i == 4 ? 1 : 0);
		assert_int_equal(count2(&pr, s[i], 2), i == 2 ? 3 : 0);
	}
	free2(&pr);
	m_free(rs);
}

/* A rule that reads a register it did not write sees what the rule
 * before it left there: a table with one is not indexed. */
static void test_index_open_register(void **state)
{
	struct fn_nft_chain *c;
	struct fn_nft_ruleset *rs = rs_inet(&c);
	struct nftnl_rule *open;
	struct t_pkt t;

	(void)state;
	for (int i = 0; i < 6; i++)
		saddr_rule(rs, c, BLK(i + 1), NFT_CONTINUE);
	/* reg 1 holds ip saddr from the rules above */
	open = m_rule(rs, c, e_cmp32(NFT_REG_1, NFT_CMP_EQ, htonl(CLIENT)),
		      e_counter(), NULL);
	struct pair pr = compile2(rs);

	assert_int_equal(pr.p->nruns, 0);
	t_udp(&t, CLIENT, SERVER, 1, 2, 0);
	eval2(&pr, FN_NFT_INPUT, &t);
	assert_int_equal(count2(&pr, open, 1), 1);
	free2(&pr);
	m_free(rs);
}

/* ---- randomized cross-check ---------------------------------------------- */

static uint32_t rnd_state;

static uint32_t rnd(uint32_t n)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 8) % n;
}

/* Loads to draw guards from, and values packets carry. */
enum { K_NFP, K_L4, K_SADDR, K_DADDR, K_DPORT, K_SPORT, K_SLOW, K_IIFNAME,
       K_LEN, K_MARK, K_CROSS, K_N };

static const uint32_t addrs[] = { IP4(198, 18, 0, 1), IP4(198, 18, 0, 2),
				  IP4(198, 18, 0, 3), IP4(10, 242, 0, 9),
				  IP4(10, 242, 0, 1) };
static const uint16_t ports[] = { 22, 80, 6379, 1000 };
static const char *const ifnames[] = { "eth0", "lo", "eth1" };

/* A guard on k into reg, now and then a `cmp neq` (not a guard); K_CROSS
 * is `ip saddr A` and then a daddr load whose register nothing compares
 * (the cmp after it is of the saddr's: not a guard on daddr). */
static void guard(struct nftnl_rule *r, int k, uint32_t reg)
{
	uint32_t op = rnd(8) ? NFT_CMP_EQ : NFT_CMP_NEQ, w;
	uint8_t b;
	char name[16] = "";

	switch (k) {
	case K_NFP:
		b = rnd(4) ? NFPROTO_IPV4 : NFPROTO_IPV6;
		nftnl_rule_add_expr(r, e_meta(NFT_META_NFPROTO, reg));
		nftnl_rule_add_expr(r, e_cmp8(reg, op, b));
		break;
	case K_L4:
		b = (uint8_t[]){ 6, 17, 1 }[rnd(3)];
		nftnl_rule_add_expr(r, e_meta(NFT_META_L4PROTO, reg));
		nftnl_rule_add_expr(r, e_cmp8(reg, op, b));
		break;
	case K_SADDR:
	case K_DADDR:
		nftnl_rule_add_expr(r, e_payload(NFT_PAYLOAD_NETWORK_HEADER,
						 k == K_SADDR ? 12 : 16, 4,
						 reg));
		nftnl_rule_add_expr(r, e_cmp32(reg, op, htonl(addrs[rnd(5)])));
		break;
	case K_DPORT:
	case K_SPORT:
	case K_SLOW:
		nftnl_rule_add_expr(r, e_payload(NFT_PAYLOAD_TRANSPORT_HEADER,
						 k == K_DPORT ? 2 :
						 k == K_SPORT ? 0 : 1, 2, reg));
		nftnl_rule_add_expr(r, e_cmp16(reg, op, ports[rnd(4)]));
		break;
	case K_IIFNAME:
		snprintf(name, sizeof(name), "%s", ifnames[rnd(3)]);
		nftnl_rule_add_expr(r, e_meta(NFT_META_IIFNAME, NFT_REG_2));
		nftnl_rule_add_expr(r, e_cmp(NFT_REG_2, op, name, 16));
		break;
	case K_LEN:
		w = 40 + rnd(3) * 8;
		nftnl_rule_add_expr(r, e_meta(NFT_META_LEN, reg));
		nftnl_rule_add_expr(r, e_cmp(reg, op, &w, 4));
		break;
	case K_MARK:
		w = rnd(3);
		nftnl_rule_add_expr(r, e_meta(NFT_META_MARK, reg));
		nftnl_rule_add_expr(r, e_cmp(reg, op, &w, 4));
		break;
	default:
		w = htonl(addrs[rnd(5)]);
		nftnl_rule_add_expr(r, e_payload(NFT_PAYLOAD_NETWORK_HEADER,
						 12, 4, NFT_REG_1));
		nftnl_rule_add_expr(r, e_cmp32(NFT_REG_1, NFT_CMP_EQ, w));
		nftnl_rule_add_expr(r, e_payload(NFT_PAYLOAD_NETWORK_HEADER,
						 16, 4, NFT_REG_2));
		nftnl_rule_add_expr(r, e_cmp32(NFT_REG_1, NFT_CMP_EQ, w));
		break;
	}
}

/* Counters to compare: rule and expression index. */
struct ctr {
	struct nftnl_rule *r;
	unsigned expr;
};

struct gen {
	struct fn_nft_ruleset *rs;
	struct ctr ctr[1024];	/* 3 chains, 5 blocks, 14 rules, 2 */
	unsigned nctr;
};

/* The rest of a rule after its guards: a counter, maybe a mark, maybe
 * a verdict (sub chains: return or nothing; base chains: accept, drop,
 * jump or goto to sub). */
static void tail(struct gen *g, struct nftnl_rule *r, bool base)
{
	uint32_t mark = rnd(3), n = 0;
	struct nftnl_expr *e;
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);

	while ((e = nftnl_expr_iter_next(it)))
		n++;
	nftnl_expr_iter_destroy(it);
	g->ctr[g->nctr++] = (struct ctr){ r, n };
	nftnl_rule_add_expr(r, e_counter());
	if (!rnd(6)) {
		nftnl_rule_add_expr(r, e_imm(NFT_REG32_15, &mark, 4));
		nftnl_rule_add_expr(r, e_meta_set(NFT_META_MARK, NFT_REG32_15));
	}
	switch (rnd(base ? 10 : 6)) {
	case 0:
		nftnl_rule_add_expr(r, e_verdict(base ? NF_ACCEPT : NFT_RETURN,
						 NULL));
		break;
	case 1:
		if (base)
			nftnl_rule_add_expr(r, e_verdict(NF_DROP, NULL));
		break;
	case 2:
		if (base)
			nftnl_rule_add_expr(r, e_verdict(rnd(4) ? NFT_JUMP :
							 NFT_GOTO, "sub"));
		break;
	default:
		break;
	}
}

/* Blocks of rules on one key (a run if the constants differ), with other
 * guards before and after the key, now and then a rule that starts
 * with a counter. */
static void gen_chain(struct gen *g, struct fn_nft_chain *c, bool base)
{
	unsigned blocks = 1 + rnd(5);

	for (unsigned b = 0; b < blocks; b++) {
		int key = (int)rnd(K_N);
		unsigned n = 1 + rnd(14);

		for (unsigned i = 0; i < n; i++) {
			struct nftnl_rule *r = m_rule(g->rs, c, NULL);
			static const uint32_t regs[] = { NFT_REG_1, NFT_REG_3,
							 NFT_REG32_01 };

			if (!rnd(12)) {	/* a side effect first */
				g->ctr[g->nctr++] = (struct ctr){ r, 0 };
				nftnl_rule_add_expr(r, e_counter());
			}
			for (unsigned k = rnd(2); k > 0; k--)
				guard(r, (int)rnd(K_N), regs[rnd(3)]);
			guard(r, key, regs[rnd(3)]);
			for (unsigned k = rnd(2); k > 0; k--)
				guard(r, (int)rnd(K_N), regs[rnd(3)]);
			tail(g, r, base);
		}
	}
}

static void gen_packet(struct t_pkt *t)
{
	uint32_t s = addrs[rnd(5)], d = addrs[rnd(5)];
	uint16_t sp = ports[rnd(4)], dp = ports[rnd(4)];

	switch (rnd(3)) {
	case 0:
		t_tcp(t, s, d, sp, dp, TH_SYN, rnd(2) * 8);
		break;
	case 1:
		t_udp(t, s, d, sp, dp, rnd(3) * 8);
		break;
	default:
		t_icmp(t, s, d, 8, 0, sp);
		break;
	}
	if (!rnd(6))
		t_frag(t, 8, 0);
	if (!rnd(8)) {			/* transport header cut short */
		t->buf[14 + 3] = (uint8_t)(20 + rnd(4));
		t->buf[14 + 2] = 0;
		t_fix_ip_sum(t);
	}
	t->p.iifname = ifnames[rnd(3)];
	t->p.mark = rnd(3);
}

static unsigned cross_check(uint32_t seed)
{
	struct gen g = { .rs = m_new() };
	struct fn_nft_table *tb;
	struct t_pkt t;
	unsigned runs;

	rnd_state = seed;
	tb = m_table(g.rs, rnd(2) ? NFPROTO_INET : NFPROTO_IPV4, "t");
	struct fn_nft_chain *sub = m_chain(g.rs, tb, "sub", -1, 0, 0);
	struct fn_nft_chain *in = m_chain(g.rs, tb, "in", IN, 0,
					  rnd(2) ? NF_ACCEPT : NF_DROP);
	struct fn_nft_chain *out = m_chain(g.rs, tb, "out", NF_INET_LOCAL_OUT,
					   0, NF_ACCEPT);
	gen_chain(&g, sub, false);
	gen_chain(&g, in, true);
	gen_chain(&g, out, true);
	struct pair pr = compile2(g.rs);

	runs = pr.p->nruns;
	for (unsigned i = 0; i < 300; i++) {
		gen_packet(&t);
		eval2(&pr, rnd(3) ? FN_NFT_INPUT : FN_NFT_OUTPUT, &t);
	}
	for (unsigned i = 0; i < g.nctr; i++)
		count2(&pr, g.ctr[i].r, g.ctr[i].expr);
	free2(&pr);
	m_free(g.rs);
	return runs;
}

static void test_index_random(void **state)
{
	unsigned runs = 0;

	(void)state;
	for (uint32_t seed = 1; seed <= 300; seed++)
		runs += cross_check(seed);
	print_message("randomized: 300 rulesets, %u runs indexed\n", runs);
	assert_true(runs >= 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_index_same_rule),
		cmocka_unit_test(test_index_duplicates),
		cmocka_unit_test(test_index_run_limits),
		cmocka_unit_test(test_index_short_packets),
		cmocka_unit_test(test_index_long_keys),
		cmocka_unit_test(test_index_open_register),
		cmocka_unit_test(test_index_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
