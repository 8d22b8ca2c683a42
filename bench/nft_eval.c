/*
 * nft_eval.c - fn-bench-nft-eval: nanoseconds per packet for the nf_tables
 * evaluator alone (src/nft/eval), one core, no I/O.
 *
 * Rulesets, each an `inet` table with one input base chain (policy
 * accept), compiled from libnftnl objects as the netlink server keeps
 * them:
 *   none       no program at all (fn_nft_eval with NULL: the floor);
 *   empty      the base chain without rules: the baseline;
 *   N rules    N rules as nft emits `tcp dport P counter accept`
 *              (meta l4proto, payload, cmp, counter, immediate), none of
 *              which matches: every packet walks all N;
 *   set 10k    one rule `ip saddr @s counter accept` on a 10,000-element
 *              hash set; half the packets are members;
 *   path N     bench/rules/rules-N.nft (policy drop: N - 6 rules
 *              `ip saddr 198.18.0.X counter drop`, then ct state, iifname,
 *              icmp, `ip saddr 10.242.0.0/16 tcp dport 6379 ct state new
 *              accept`, counter drop) on the stack's whole path with
 *              connection tracking: a Redis request received (ingress,
 *              prerouting, input) and its reply sent (output,
 *              postrouting) on an established flow (--flows N: on N
 *              flows in turn); ns per packet.
 * Each cell judges a ring of 256 crafted TCP packets (IPv4 with valid
 * sums) for --iters packets, --reps times; the median is printed, with
 * the ratio to the empty baseline measured in the same run, and the time
 * fn_nft_compile() took for that ruleset (a commit's stall of the stack).
 * The N-rule cells are measured a second time with the rule index off
 * (fn_nft_prog_index: the linear walk every rule of the chain takes).
 *
 * usage: fn-bench-nft-eval [--iters N] [--reps N] [--path-only]
 *                          [--only none|rules-N|set-10000] [--flows N]
 *                          [--no-keep]
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "fragnet/clock.h"
#include "nft.h"

#define NPKT 256
#define SET_SIZE 10000

struct bpkt {
	uint8_t frame[64];
	struct fn_nft_pkt p;
};

static struct bpkt pkts[NPKT];
static double compile_ms;	/* of the last build() */
static bool index_only;		/* --only: no second, linear pass */

/* ---- model ------------------------------------------------------------- */

struct model {
	struct fn_nft_ruleset rs;
	struct fn_nft_table t, *tp;
	struct fn_nft_chain c, *cp;
	struct fn_nft_set s, *sp;
};

static void model_init(struct model *m)
{
	memset(m, 0, sizeof(*m));
	m->tp = &m->t;
	m->cp = &m->c;
	m->rs.tables = &m->tp;
	m->rs.ntables = 1;
	m->t.nl = nftnl_table_alloc();
	nftnl_table_set_str(m->t.nl, NFTNL_TABLE_NAME, "b");
	nftnl_table_set_u32(m->t.nl, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_set_u64(m->t.nl, NFTNL_TABLE_HANDLE, 1);
	m->t.chains = &m->cp;
	m->t.nchains = 1;
	m->c.nl = nftnl_chain_alloc();
	nftnl_chain_set_str(m->c.nl, NFTNL_CHAIN_NAME, "in");
	nftnl_chain_set_str(m->c.nl, NFTNL_CHAIN_TABLE, "b");
	nftnl_chain_set_u32(m->c.nl, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	nftnl_chain_set_u64(m->c.nl, NFTNL_CHAIN_HANDLE, 2);
	nftnl_chain_set_u32(m->c.nl, NFTNL_CHAIN_HOOKNUM, NF_INET_LOCAL_IN);
	nftnl_chain_set_s32(m->c.nl, NFTNL_CHAIN_PRIO, 0);
	nftnl_chain_set_u32(m->c.nl, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nftnl_chain_set_str(m->c.nl, NFTNL_CHAIN_TYPE, "filter");
}

static void model_fini(struct model *m)
{
	for (uint32_t i = 0; i < m->c.nrules; i++)
		nftnl_rule_free(m->c.rules[i]);
	free(m->c.rules);
	nftnl_chain_free(m->c.nl);
	nftnl_table_free(m->t.nl);
	if (m->s.nl)
		nftnl_set_free(m->s.nl);
}

static struct nftnl_expr *expr_u32(const char *name, uint16_t a1, uint32_t v1,
				   uint16_t a2, uint32_t v2)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	nftnl_expr_set_u32(e, a1, v1);
	nftnl_expr_set_u32(e, a2, v2);
	return e;
}

static struct nftnl_expr *cmp(const void *data, uint32_t len)
{
	struct nftnl_expr *e = expr_u32("cmp", NFTNL_EXPR_CMP_SREG, NFT_REG_1,
					NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);

	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	return e;
}

static struct nftnl_rule *rule_new(struct model *m, uint64_t handle)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, "b");
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, "in");
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, handle);
	m->c.rules = realloc(m->c.rules, (m->c.nrules + 1) * sizeof(r));
	m->c.rules[m->c.nrules++] = r;
	return r;
}

static void rule_tail(struct nftnl_rule *r)
{
	struct nftnl_expr *e = expr_u32("immediate", NFTNL_EXPR_IMM_DREG,
					NFT_REG_VERDICT, NFTNL_EXPR_IMM_VERDICT,
					NF_ACCEPT);

	nftnl_rule_add_expr(r, nftnl_expr_alloc("counter"));
	nftnl_rule_add_expr(r, e);
}

/* tcp dport P counter accept, P from 1000 up: never 9999. */
static void add_port_rules(struct model *m, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct nftnl_rule *r = rule_new(m, 10 + i);
		uint8_t tcp = IPPROTO_TCP;
		uint16_t port = htons((uint16_t)(1000 + i));
		struct nftnl_expr *pl = expr_u32("payload",
			NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_TRANSPORT_HEADER,
			NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);

		nftnl_rule_add_expr(r, expr_u32("meta", NFTNL_EXPR_META_KEY,
						NFT_META_L4PROTO,
						NFTNL_EXPR_META_DREG, NFT_REG_1));
		nftnl_rule_add_expr(r, cmp(&tcp, 1));
		nftnl_expr_set_u32(pl, NFTNL_EXPR_PAYLOAD_OFFSET, 2);
		nftnl_expr_set_u32(pl, NFTNL_EXPR_PAYLOAD_LEN, 2);
		nftnl_rule_add_expr(r, pl);
		nftnl_rule_add_expr(r, cmp(&port, 2));
		rule_tail(r);
	}
}

static uint32_t member(unsigned i)
{
	return 0x0af10000u + i * 7u;	/* 10.241.x.y */
}

static uint32_t blocked(unsigned i)
{
	return 0xc6120001u + i;		/* 198.18.0.1 + i, bench/rules/gen */
}

/* A 10,000-element set s of IPv4 addresses, element i elem(i). */
static void add_set(struct model *m, uint32_t (*elem)(unsigned))
{
	m->s.nl = nftnl_set_alloc();
	nftnl_set_set_str(m->s.nl, NFTNL_SET_NAME, "s");
	nftnl_set_set_str(m->s.nl, NFTNL_SET_TABLE, "b");
	nftnl_set_set_u32(m->s.nl, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_u64(m->s.nl, NFTNL_SET_HANDLE, 3);
	nftnl_set_set_u32(m->s.nl, NFTNL_SET_FLAGS, 0);
	nftnl_set_set_u32(m->s.nl, NFTNL_SET_KEY_LEN, 4);
	for (unsigned i = 0; i < SET_SIZE; i++) {
		struct nftnl_set_elem *e = nftnl_set_elem_alloc();
		uint32_t be = htonl(elem(i));

		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &be, 4);
		nftnl_set_elem_add(m->s.nl, e);
	}
	m->sp = &m->s;
	m->t.sets = &m->sp;
	m->t.nsets = 1;
}

/* ip saddr @s counter accept */
static void add_set_rule(struct model *m)
{
	struct nftnl_rule *r = rule_new(m, 10);
	struct nftnl_expr *pl = expr_u32("payload",
		NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER,
		NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	struct nftnl_expr *lk = expr_u32("lookup", NFTNL_EXPR_LOOKUP_SREG,
					 NFT_REG_1, NFTNL_EXPR_LOOKUP_FLAGS, 0);

	add_set(m, member);
	nftnl_expr_set_u32(pl, NFTNL_EXPR_PAYLOAD_OFFSET, 12);
	nftnl_expr_set_u32(pl, NFTNL_EXPR_PAYLOAD_LEN, 4);
	nftnl_expr_set_str(lk, NFTNL_EXPR_LOOKUP_SET, "s");
	nftnl_rule_add_expr(r, pl);
	nftnl_rule_add_expr(r, lk);
	rule_tail(r);
}

/* ---- bench/rules/rules-N.nft -------------------------------------------- */

static struct nftnl_expr *reg_expr(const char *name, uint16_t key_attr,
				   uint32_t key, uint16_t reg_attr)
{
	return expr_u32(name, key_attr, key, reg_attr, NFT_REG_1);
}

static struct nftnl_expr *meta(uint32_t key)
{
	return reg_expr("meta", NFTNL_EXPR_META_KEY, key, NFTNL_EXPR_META_DREG);
}

static struct nftnl_expr *payload(uint32_t base, uint32_t off, uint32_t len)
{
	struct nftnl_expr *e = reg_expr("payload", NFTNL_EXPR_PAYLOAD_BASE,
					base, NFTNL_EXPR_PAYLOAD_DREG);

	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	return e;
}

/* reg 1 &= mask (4 bytes), then cmp op with v. */
static void masked(struct nftnl_rule *r, uint32_t mask, uint32_t op,
		   uint32_t v)
{
	struct nftnl_expr *b = expr_u32("bitwise", NFTNL_EXPR_BITWISE_SREG,
					NFT_REG_1, NFTNL_EXPR_BITWISE_DREG,
					NFT_REG_1);
	struct nftnl_expr *c = cmp(&v, 4);
	uint32_t zero = 0;

	nftnl_expr_set_u32(b, NFTNL_EXPR_BITWISE_LEN, 4);
	nftnl_expr_set(b, NFTNL_EXPR_BITWISE_MASK, &mask, 4);
	nftnl_expr_set(b, NFTNL_EXPR_BITWISE_XOR, &zero, 4);
	nftnl_expr_set_u32(c, NFTNL_EXPR_CMP_OP, op);
	nftnl_rule_add_expr(r, b);
	nftnl_rule_add_expr(r, c);
}

static void ct_state(struct nftnl_rule *r, uint32_t bits)
{
	nftnl_rule_add_expr(r, reg_expr("ct", NFTNL_EXPR_CT_KEY, NFT_CT_STATE,
					NFTNL_EXPR_CT_DREG));
	masked(r, bits, NFT_CMP_NEQ, 0);
}

static void verdict(struct nftnl_rule *r, uint32_t v)
{
	nftnl_rule_add_expr(r, expr_u32("immediate", NFTNL_EXPR_IMM_DREG,
					NFT_REG_VERDICT,
					NFTNL_EXPR_IMM_VERDICT, v));
}

/* meta nfproto ipv4 */
static void ipv4(struct nftnl_rule *r)
{
	uint8_t v = NFPROTO_IPV4;

	nftnl_rule_add_expr(r, meta(NFT_META_NFPROTO));
	nftnl_rule_add_expr(r, cmp(&v, 1));
}

/* ip saddr @s counter drop, as set-10000.nft's blocklist rule. */
static void add_block_set_rule(struct model *m, uint64_t handle)
{
	struct nftnl_rule *r = rule_new(m, handle);
	struct nftnl_expr *lk = expr_u32("lookup", NFTNL_EXPR_LOOKUP_SREG,
					 NFT_REG_1, NFTNL_EXPR_LOOKUP_FLAGS, 0);

	add_set(m, blocked);
	nftnl_expr_set_str(lk, NFTNL_EXPR_LOOKUP_SET, "s");
	ipv4(r);
	nftnl_rule_add_expr(r, payload(NFT_PAYLOAD_NETWORK_HEADER, 12, 4));
	nftnl_rule_add_expr(r, lk);
	nftnl_rule_add_expr(r, nftnl_expr_alloc("counter"));
	verdict(r, NF_DROP);
}

/* As bench/rules/gen writes rules-N.nft (its TAIL is 6 rules), or with
 * set: set-10000.nft (the blocklist one rule and a set). */
static void add_rules_file(struct model *m, unsigned n, bool set)
{
	struct nftnl_rule *r;
	char lo[16] = "lo";
	uint8_t icmp = IPPROTO_ICMP, tcp = IPPROTO_TCP;
	uint16_t redis = htons(6379);
	uint64_t h = 10;

	nftnl_chain_set_u32(m->c.nl, NFTNL_CHAIN_POLICY, NF_DROP);
	if (set)
		add_block_set_rule(m, h++);
	for (unsigned i = 0; !set && i + 6 < n; i++) {
		uint32_t a = htonl(blocked(i));

		r = rule_new(m, h++);
		ipv4(r);
		nftnl_rule_add_expr(r, payload(NFT_PAYLOAD_NETWORK_HEADER, 12,
					       4));
		nftnl_rule_add_expr(r, cmp(&a, 4));
		nftnl_rule_add_expr(r, nftnl_expr_alloc("counter"));
		verdict(r, NF_DROP);
	}
	ct_state(r = rule_new(m, h++), 2 | 4);	/* established,related */
	verdict(r, NF_ACCEPT);
	ct_state(r = rule_new(m, h++), 1);	/* invalid */
	verdict(r, NF_DROP);
	r = rule_new(m, h++);
	nftnl_rule_add_expr(r, meta(NFT_META_IIFNAME));
	nftnl_rule_add_expr(r, cmp(lo, 16));
	verdict(r, NF_ACCEPT);
	r = rule_new(m, h++);
	ipv4(r);
	nftnl_rule_add_expr(r, payload(NFT_PAYLOAD_NETWORK_HEADER, 9, 1));
	nftnl_rule_add_expr(r, cmp(&icmp, 1));
	verdict(r, NF_ACCEPT);
	r = rule_new(m, h++);
	ipv4(r);
	nftnl_rule_add_expr(r, payload(NFT_PAYLOAD_NETWORK_HEADER, 12, 4));
	masked(r, htonl(0xffff0000u), NFT_CMP_EQ, htonl(0x0af20000u));
	nftnl_rule_add_expr(r, meta(NFT_META_L4PROTO));
	nftnl_rule_add_expr(r, cmp(&tcp, 1));
	nftnl_rule_add_expr(r, payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2));
	nftnl_rule_add_expr(r, cmp(&redis, 2));
	ct_state(r, 8);				/* new */
	verdict(r, NF_ACCEPT);
	r = rule_new(m, h++);
	nftnl_rule_add_expr(r, nftnl_expr_alloc("counter"));
	verdict(r, NF_DROP);
}

/* ---- packets ----------------------------------------------------------- */

static void sum_ip(uint8_t *ip)
{
	uint32_t s = 0;

	for (int i = 0; i < 20; i += 2)
		s += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	ip[10] = (uint8_t)(~s >> 8);
	ip[11] = (uint8_t)~s;
}

static void make_packets(void)
{
	for (unsigned i = 0; i < NPKT; i++) {
		uint8_t *f = pkts[i].frame, *ip = f + 14, *tcp = ip + 20;
		uint32_t src = i % 2 ? member(i * 37 % SET_SIZE) :
			       0x0a000001u + i;

		memset(f, 0, sizeof(pkts[i].frame));
		f[12] = 0x08;
		ip[0] = 0x45;
		ip[3] = 40;
		ip[8] = 64;
		ip[9] = IPPROTO_TCP;
		for (int b = 0; b < 4; b++)
			ip[12 + b] = (uint8_t)(src >> (24 - 8 * b));
		memcpy(ip + 16, "\x0a\xf1\x00\x01", 4);
		sum_ip(ip);
		tcp[0] = (uint8_t)(i >> 8);
		tcp[1] = (uint8_t)i;
		tcp[2] = 9999 >> 8;
		tcp[3] = 9999 & 0xff;
		tcp[12] = 0x50;
		tcp[13] = 0x10;
		pkts[i].p = (struct fn_nft_pkt){
			.l2 = f, .l2_len = 54, .nh = ip, .nh_len = 40,
			.ethertype = 0x0800, .iif = 2, .iifname = "eth0",
		};
	}
}

/* ---- measuring --------------------------------------------------------- */

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double measure(struct fn_nft_prog *p, long iters, int reps)
{
	double *v = calloc((size_t)reps, sizeof(*v)), med;
	struct fn_nft_result res;
	unsigned accepted = 0;

	for (int r = 0; r < reps; r++) {
		int64_t t0 = fn_clock_ns();

		for (long i = 0; i < iters; i++) {
			struct fn_nft_pkt *pk = &pkts[i % NPKT].p;

			pk->now_ns = (uint64_t)t0;
			pk->ct_state = 0;
			fn_nft_eval(p, NULL, FN_NFT_INPUT, pk, &res);
			accepted += res.verdict == FN_NFT_ACCEPT;
		}
		v[r] = (double)(fn_clock_ns() - t0) / (double)iters;
	}
	if (accepted != (unsigned)(iters * reps))
		fprintf(stderr, "unexpected drops\n");
	qsort(v, (size_t)reps, sizeof(*v), dcmp);
	med = v[reps / 2];
	free(v);
	return med;
}

/* A TCP segment of a Redis flow into f (Ethernet, IPv4, TCP with
 * `payload` bytes; sums right): client 10.242.0.9:(40000 + flow) <->
 * server 10.242.0.1:6379.  The frame's length. */
static uint32_t redis_segment(uint8_t *f, unsigned flow, bool to_server,
			      uint8_t flags, uint32_t payload)
{
	uint16_t cport = (uint16_t)(40000 + flow);
	uint8_t *ip = f + 14, *tcp = ip + 20;
	uint32_t tot = 40 + payload, s = 0;
	uint8_t cli[4] = { 10, 242, 0, 9 }, srv[4] = { 10, 242, 0, 1 };

	memset(f, 0, 14 + tot);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	memcpy(ip + 12, to_server ? cli : srv, 4);
	memcpy(ip + 16, to_server ? srv : cli, 4);
	sum_ip(ip);
	tcp[0] = (uint8_t)((to_server ? cport : 6379) >> 8);
	tcp[1] = (uint8_t)(to_server ? cport : 6379);
	tcp[2] = (uint8_t)((to_server ? 6379 : cport) >> 8);
	tcp[3] = (uint8_t)(to_server ? 6379 : cport);
	tcp[12] = 0x50;
	tcp[13] = flags;
	tcp[14] = 0xff;
	memset(tcp + 20, '*', payload);
	for (uint32_t i = 12; i < 20; i += 2)	/* pseudo-header */
		s += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	s += IPPROTO_TCP + 20 + payload;
	for (uint32_t i = 0; i < 20 + payload; i += 2)
		s += (uint32_t)(tcp[i] << 8 |
				(i + 1 < 20 + payload ? tcp[i + 1] : 0));
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	tcp[16] = (uint8_t)(~s >> 8);
	tcp[17] = (uint8_t)~s;
	return 14 + tot;
}

/* One packet on the stack's path (src/stack/filter.c), as the stack
 * judges it: received (ingress, prerouting, input: fn_nft_eval_in) or
 * sent (output, postrouting: fn_nft_eval_out). */
static bool path(struct fn_nft_prog *p, struct fn_nft_ct *ct, uint8_t *f,
		 uint32_t len, bool rx, uint64_t now)
{
	struct fn_nft_pkt k = { .l2 = f, .l2_len = len, .nh = f + 14,
				.nh_len = len - 14, .ethertype = 0x0800,
				.now_ns = now };
	struct fn_nft_result r;

	if (rx) {
		k.iif = 2;
		k.iifname = "fn0";
		fn_nft_eval_in(p, ct, &k, &r);
	} else {
		k.oif = 2;
		k.oifname = "fn0";
		fn_nft_eval_out(p, ct, &k, &r);
	}
	return r.verdict == FN_NFT_ACCEPT;
}

#define FLOWS_MAX	1000
static unsigned nflows = 1;	/* --flows */
static bool keep = true;	/* !--no-keep */

/* The handshakes of nflows flows, then request/reply pairs on them in
 * turn (a 40-byte request, a 10-byte reply, as redis-benchmark's
 * PING/SET/GET; one flow after the other, as redis-benchmark's clients
 * take turns); ns per packet. */
static double measure_path(struct fn_nft_prog *p, long iters, int reps)
{
	static uint8_t req[FLOWS_MAX][128], rep[FLOWS_MAX][128], hs[3][128];
	uint32_t lreq = 0, lrep = 0;
	struct fn_nft_ct *ct = fn_nft_ct_new(65536);
	uint64_t now = (uint64_t)fn_clock_ns();
	unsigned bad = 0;

	if (keep)	/* as the stack, which adopts every program */
		fn_nft_ct_adopt(ct, p);
	double *v = calloc((size_t)reps, sizeof(*v)), med;

	for (unsigned f = 0; f < nflows; f++) {
		uint32_t l0 = redis_segment(hs[0], f, true, 0x02, 0);
		uint32_t l1 = redis_segment(hs[1], f, false, 0x12, 0);
		uint32_t l2 = redis_segment(hs[2], f, true, 0x10, 0);

		lreq = redis_segment(req[f], f, true, 0x18, 40);
		lrep = redis_segment(rep[f], f, false, 0x18, 10);
		bad += !path(p, ct, hs[0], l0, true, now);
		bad += !path(p, ct, hs[1], l1, false, now);
		bad += !path(p, ct, hs[2], l2, true, now);
	}
	for (int r = 0; r < reps; r++) {
		int64_t t0 = fn_clock_ns();
		unsigned f = 0;

		for (long i = 0; i < iters / 2; i++) {
			bad += !path(p, ct, req[f], lreq, true, (uint64_t)t0);
			bad += !path(p, ct, rep[f], lrep, false, (uint64_t)t0);
			f = f + 1 < nflows ? f + 1 : 0;
		}
		v[r] = (double)(fn_clock_ns() - t0) / (double)(iters / 2 * 2);
	}
	if (bad)
		fprintf(stderr, "path: %u packets dropped\n", bad);
	qsort(v, (size_t)reps, sizeof(*v), dcmp);
	med = v[reps / 2];
	free(v);
	fn_nft_ct_free(ct);
	return med;
}

static struct fn_nft_prog *build(struct model *m, int kind, unsigned n)
{
	char msg[256];
	int err = 0;
	struct fn_nft_prog *p;

	model_init(m);
	if (kind == 1)
		add_port_rules(m, n);
	if (kind == 2)
		add_set_rule(m);
	if (kind == 3 || kind == 4)
		add_rules_file(m, n, kind == 4);
	int64_t t0 = fn_clock_ns();
	p = fn_nft_compile(&m->rs, NULL, &err, msg, sizeof(msg));
	compile_ms = (double)(fn_clock_ns() - t0) / 1e6;
	if (!p) {
		fprintf(stderr, "compile: %d %s\n", err, msg);
		exit(1);
	}
	return p;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: fn-bench-nft-eval [--iters N] [--reps N] [--path-only]\n"
		"                         [--only none|rules-N|set-10000]\n"
		"                         [--flows N] [--no-keep]\n"
		"  ns/packet of the nf_tables evaluator for 0, 10, 100, 1000\n"
		"  rules and a 10,000-element set, against an empty ruleset;\n"
		"  then bench/rules/{rules-N,set-10000}.nft on the stack's path\n"
		"  with ct (--path-only: that table alone; --only: one cell\n"
		"  of it, for a profiler; --flows: the path's requests\n"
		"  on N flows in turn, 1 to 1000, default 1; --no-keep:\n"
		"  the path's ct does not adopt the program, so no flow\n"
		"  keeps its verdict, as before fn_nft_ct_adopt)\n");
}

static const struct cell {
	const char *name;
	int kind;	/* 0 empty, 1 N port rules, 2 set, 3 rules-N.nft path,
			 * 4 set-10000.nft path */
	unsigned n;
} cells[] = {
	{ "empty chain", 0, 0 }, { "10 rules", 1, 10 },
	{ "100 rules", 1, 100 }, { "1000 rules", 1, 1000 },
	{ "10k-element set", 2, 0 },
	{ "rules-10", 3, 10 }, { "rules-100", 3, 100 },
	{ "rules-1000", 3, 1000 }, { "set-10000", 4, 0 },
};
#define NCELLS (sizeof(cells) / sizeof(cells[0]))

/* ns/packet of a cell into *ns, and without the index into *lin (rule
 * cells; else 0); the compile time in *cms. */
static void cell_run(const struct cell *c, long iters, int reps, double *ns,
		     double *lin, double *cms)
{
	struct model m;
	struct fn_nft_prog *p = build(&m, c->kind, c->n);
	double (*fn)(struct fn_nft_prog *, long, int) =
		c->kind >= 3 ? measure_path : measure;
	long it = c->n >= 1000 ? iters / 20 : c->n >= 100 ? iters / 4 : iters;

	*cms = compile_ms;
	*ns = fn(p, it, reps);
	*lin = 0;
	if (!index_only && (c->kind == 1 || c->kind == 3)) {
		fn_nft_prog_index(p, false);
		*lin = fn(p, it, reps);
	}
	fprintf(stderr, "%s: %.1f ns (no index %.1f)\n", c->name, *ns, *lin);
	fn_nft_prog_free(p);
	model_fini(&m);
}

static void print_row(const char *name, double ns, double base, double cms,
		      double lin)
{
	char l[32] = "", cm[32] = "";

	if (lin > 0)
		snprintf(l, sizeof(l), "%.1f", lin);
	if (cms >= 0)
		snprintf(cm, sizeof(cm), "%.2f", cms);
	printf("| %s | %.1f | %.2f | %s | %s |\n", name, ns, ns / base, cm, l);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iters", required_argument, NULL, 'i' },
		{ "reps", required_argument, NULL, 'r' },
		{ "path-only", no_argument, NULL, 'p' },
		{ "only", required_argument, NULL, 'o' },
		{ "flows", required_argument, NULL, 'f' },
		{ "no-keep", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	double ns[NCELLS], lin[NCELLS], cms[NCELLS];
	long iters = 2000000;
	int reps = 7, c;
	bool path_only = false;
	const char *only = NULL;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'i': iters = atol(optarg); break;
		case 'r': reps = atoi(optarg); break;
		case 'p': path_only = true; break;
		case 'o': only = optarg; index_only = true; break;
		case 'f': nflows = (unsigned)atoi(optarg); break;
		case 'k': keep = false; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (iters <= 0 || reps <= 0 || nflows < 1 || nflows > FLOWS_MAX) {
		usage(stderr);
		return 2;
	}
	make_packets();
	double none = path_only || only ? 0 : measure(NULL, iters, reps);
	if (only) {	/* one path cell, for perf or callgrind */
		for (size_t i = 0; i < NCELLS; i++)
			if (cells[i].kind >= 3 && !strcmp(cells[i].name, only))
				cell_run(&cells[i], iters, reps, &ns[i],
					 &lin[i], &cms[i]);
		if (!strcmp(only, "none"))
			printf("no ruleset: %.1f ns\n",
			       measure_path(NULL, iters, reps));
		return 0;
	}
	double path_none = measure_path(NULL, iters, reps);
	for (size_t i = 0; i < NCELLS; i++)
		if (!path_only || cells[i].kind >= 3)
			cell_run(&cells[i], iters, reps, &ns[i], &lin[i],
				 &cms[i]);
	if (!path_only) {
		printf("| ruleset | ns/packet | vs empty chain | compile ms | no index: ns/packet |\n"
		       "|---|---:|---:|---:|---:|\n");
		print_row("no program", none, ns[0], -1, 0);
	}
	for (size_t i = 0; !path_only && i < NCELLS && cells[i].kind < 3; i++)
		print_row(cells[i].name, ns[i], ns[0], cms[i], lin[i]);
	printf("%s| stack path, with ct | ns/packet | vs no ruleset | compile ms | no index: ns/packet |\n"
	       "|---|---:|---:|---:|---:|\n", path_only ? "" : "\n");
	print_row("no ruleset", path_none, path_none, -1, 0);
	for (size_t i = 0; i < NCELLS; i++)
		if (cells[i].kind >= 3)
			print_row(cells[i].name, ns[i], path_none, cms[i],
				  lin[i]);
	return 0;
}
