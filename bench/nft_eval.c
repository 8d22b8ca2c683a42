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
 *              hash set; half the packets are members.
 * Each cell judges a ring of 256 crafted TCP packets (IPv4 with valid
 * sums) for --iters packets, --reps times; the median is printed, with
 * the ratio to the empty baseline measured in the same run, and the time
 * fn_nft_compile() took for that ruleset (a commit's stall of the stack).
 * The N-rule cells are measured a second time with the rule index off
 * (fn_nft_prog_index: the linear walk every rule of the chain takes).
 *
 * usage: fn-bench-nft-eval [--iters N] [--reps N]
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "nft.h"

#define NPKT 256
#define SET_SIZE 10000

struct bpkt {
	uint8_t frame[64];
	struct fn_nft_pkt p;
};

static struct bpkt pkts[NPKT];
static double compile_ms;	/* of the last build() */

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

/* ip saddr @s counter accept */
static void add_set_rule(struct model *m)
{
	struct nftnl_rule *r = rule_new(m, 10);
	struct nftnl_expr *pl = expr_u32("payload",
		NFTNL_EXPR_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER,
		NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	struct nftnl_expr *lk = expr_u32("lookup", NFTNL_EXPR_LOOKUP_SREG,
					 NFT_REG_1, NFTNL_EXPR_LOOKUP_FLAGS, 0);

	m->s.nl = nftnl_set_alloc();
	nftnl_set_set_str(m->s.nl, NFTNL_SET_NAME, "s");
	nftnl_set_set_str(m->s.nl, NFTNL_SET_TABLE, "b");
	nftnl_set_set_u32(m->s.nl, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_u64(m->s.nl, NFTNL_SET_HANDLE, 3);
	nftnl_set_set_u32(m->s.nl, NFTNL_SET_FLAGS, 0);
	nftnl_set_set_u32(m->s.nl, NFTNL_SET_KEY_LEN, 4);
	for (unsigned i = 0; i < SET_SIZE; i++) {
		struct nftnl_set_elem *e = nftnl_set_elem_alloc();
		uint32_t be = htonl(member(i));

		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &be, 4);
		nftnl_set_elem_add(m->s.nl, e);
	}
	m->sp = &m->s;
	m->t.sets = &m->sp;
	m->t.nsets = 1;
	nftnl_expr_set_u32(pl, NFTNL_EXPR_PAYLOAD_OFFSET, 12);
	nftnl_expr_set_u32(pl, NFTNL_EXPR_PAYLOAD_LEN, 4);
	nftnl_expr_set_str(lk, NFTNL_EXPR_LOOKUP_SET, "s");
	nftnl_rule_add_expr(r, pl);
	nftnl_rule_add_expr(r, lk);
	rule_tail(r);
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

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

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
		uint64_t t0 = now_ns();

		for (long i = 0; i < iters; i++) {
			struct fn_nft_pkt *pk = &pkts[i % NPKT].p;

			pk->now_ns = t0;
			pk->ct_state = 0;
			fn_nft_eval(p, NULL, FN_NFT_INPUT, pk, &res);
			accepted += res.verdict == FN_NFT_ACCEPT;
		}
		v[r] = (double)(now_ns() - t0) / (double)iters;
	}
	if (accepted != (unsigned)(iters * reps))
		fprintf(stderr, "unexpected drops\n");
	qsort(v, (size_t)reps, sizeof(*v), dcmp);
	med = v[reps / 2];
	free(v);
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
	uint64_t t0 = now_ns();
	p = fn_nft_compile(&m->rs, NULL, &err, msg, sizeof(msg));
	compile_ms = (double)(now_ns() - t0) / 1e6;
	if (!p) {
		fprintf(stderr, "compile: %d %s\n", err, msg);
		exit(1);
	}
	return p;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: fn-bench-nft-eval [--iters N] [--reps N]\n"
		"  ns/packet of the nf_tables evaluator for 0, 10, 100, 1000\n"
		"  rules and a 10,000-element set, against an empty ruleset\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "iters", required_argument, NULL, 'i' },
		{ "reps", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct { const char *name; int kind; unsigned n; } cells[] = {
		{ "empty chain", 0, 0 }, { "10 rules", 1, 10 },
		{ "100 rules", 1, 100 }, { "1000 rules", 1, 1000 },
		{ "10k-element set", 2, 0 },
	};
	long iters = 2000000;
	int reps = 7, c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'i': iters = atol(optarg); break;
		case 'r': reps = atoi(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (iters <= 0 || reps <= 0) {
		usage(stderr);
		return 2;
	}
	make_packets();
	double none = measure(NULL, iters, reps), ns[5], lin[5], cms[5];
	for (size_t i = 0; i < 5; i++) {
		struct model m;
		struct fn_nft_prog *p = build(&m, cells[i].kind, cells[i].n);

		cms[i] = compile_ms;
		long it = cells[i].n >= 1000 ? iters / 20 :
			  cells[i].n >= 100 ? iters / 4 : iters;

		ns[i] = measure(p, it, reps);
		lin[i] = 0;
		if (cells[i].kind == 1) {
			fn_nft_prog_index(p, false);
			lin[i] = measure(p, it, reps);
		}
		fprintf(stderr, "%s: %.1f ns (no index %.1f)\n", cells[i].name,
			ns[i], lin[i]);
		fn_nft_prog_free(p);
		model_fini(&m);
	}
	printf("| ruleset | ns/packet | vs empty chain | compile ms | no index: ns/packet |\n"
	       "|---|---:|---:|---:|---:|\n");
	printf("| no program | %.1f | %.2f | | |\n", none, none / ns[0]);
	for (size_t i = 0; i < 5; i++) {
		char l[32] = "";

		if (lin[i] > 0)
			snprintf(l, sizeof(l), "%.1f", lin[i]);
		printf("| %s | %.1f | %.2f | %.2f | %s |\n", cells[i].name,
		       ns[i], ns[i] / ns[0], cms[i], l);
	}
	return 0;
}
