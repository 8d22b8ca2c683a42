/*
 * fuzz_nft_eval.c - libFuzzer entry point for the nf_tables evaluator's
 * packet path (src/nft/eval): hostile frames against a ruleset that uses
 * every expression it implements.
 *
 * The input is one frame.  Its first byte picks the Ethernet type the
 * stack would report (IPv4 or not), the path (receive: ingress,
 * prerouting, input; send: output, postrouting) and the clock step; the
 * rest is the frame, Ethernet header first.  The frame is copied into a
 * buffer of exactly its size, so that ASan catches any read past it.  The
 * connection table lives across inputs (bounded, 64 entries), as it does
 * in a stack.  Seeds: tests/fuzz/corpus/nft_eval.
 *
 * The ruleset has runs of rules the rule index (src/nft/eval/index.c)
 * hashes; every frame is judged twice, by the program in one call a
 * path (fn_nft_eval_in/out) and by a second one compiled from the same
 * model with the index off (its own connection table) hook by hook
 * (fn_nft_eval), and any difference in verdict, hook, rule, mark, ct
 * state or in a counter, quota or limit aborts.  A second pair does the
 * same for a ruleset whose flows may keep their verdicts
 * (fn_nft_ct_adopt), judged in one call with a table that adopted its
 * program, as the stack's, and hook by hook with one that did not: a
 * kept verdict must be the one the rules give.
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true
 *   ninja -C build-fuzz tests/fuzz/fuzz_nft_eval
 *   build-fuzz/tests/fuzz/fuzz_nft_eval /tmp/corpus tests/fuzz/corpus/nft_eval
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "eval/nfe.h"
#include "fragnet/log.h"
#include "nft.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fn_nft_prog *prog, *linear;	/* indexed, not indexed */
static struct fn_nft_ct *ct, *ct_linear;
static struct fn_nft_prog *kprog, *kref;	/* kept, never kept */
static struct fn_nft_ct *kct, *kct_ref;
static uint64_t clock_ns = 1000000000ull;

/* ---- a ruleset with everything ------------------------------------------- */

static struct nftnl_expr *ex(const char *name, int n, ...)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		int attr = va_arg(ap, int);
		uint32_t v = va_arg(ap, uint32_t);

		nftnl_expr_set_u32(e, (uint16_t)attr, v);
	}
	va_end(ap);
	return e;
}

static struct nftnl_expr *cmp(uint32_t reg, uint32_t op, const void *d,
			      uint32_t len)
{
	struct nftnl_expr *e = ex("cmp", 2, NFTNL_EXPR_CMP_SREG, reg,
				  NFTNL_EXPR_CMP_OP, op);

	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, d, len);
	return e;
}

static struct nftnl_expr *imm(uint32_t reg, const void *d, uint32_t len)
{
	struct nftnl_expr *e = ex("immediate", 1, NFTNL_EXPR_IMM_DREG, reg);

	nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, d, len);
	return e;
}

static struct nftnl_expr *load(uint32_t base, uint32_t off, uint32_t len,
			       uint32_t reg)
{
	return ex("payload", 4, NFTNL_EXPR_PAYLOAD_BASE, base,
		  NFTNL_EXPR_PAYLOAD_OFFSET, off, NFTNL_EXPR_PAYLOAD_LEN, len,
		  NFTNL_EXPR_PAYLOAD_DREG, reg);
}

static struct nftnl_expr *verdict(int v, const char *chain)
{
	struct nftnl_expr *e = ex("immediate", 2, NFTNL_EXPR_IMM_DREG,
				  NFT_REG_VERDICT, NFTNL_EXPR_IMM_VERDICT,
				  (uint32_t)v);

	if (chain)
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
	return e;
}

struct builder {
	struct fn_nft_ruleset rs;
	struct fn_nft_table *t;
	uint64_t handle;
};

static struct fn_nft_chain *chain(struct builder *b, const char *name,
				  int hook, int prio)
{
	struct fn_nft_table *t = b->t;
	struct fn_nft_chain *c = calloc(1, sizeof(*c));
	uint32_t fam = nftnl_table_get_u32(t->nl, NFTNL_TABLE_FAMILY);

	c->nl = nftnl_chain_alloc();
	nftnl_chain_set_str(c->nl, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_str(c->nl, NFTNL_CHAIN_TABLE,
			    nftnl_table_get_str(t->nl, NFTNL_TABLE_NAME));
	nftnl_chain_set_u32(c->nl, NFTNL_CHAIN_FAMILY, fam);
	nftnl_chain_set_u64(c->nl, NFTNL_CHAIN_HANDLE, ++b->handle);
	if (hook >= 0) {
		nftnl_chain_set_u32(c->nl, NFTNL_CHAIN_HOOKNUM, (uint32_t)hook);
		nftnl_chain_set_s32(c->nl, NFTNL_CHAIN_PRIO, prio);
		nftnl_chain_set_u32(c->nl, NFTNL_CHAIN_POLICY, NF_ACCEPT);
		nftnl_chain_set_str(c->nl, NFTNL_CHAIN_TYPE, "filter");
		if (fam == NFPROTO_NETDEV)
			nftnl_chain_set_str(c->nl, NFTNL_CHAIN_DEV, "eth0");
	}
	t->chains = realloc(t->chains, (t->nchains + 1) * sizeof(c));
	t->chains[t->nchains++] = c;
	return c;
}

static void rule(struct builder *b, struct fn_nft_chain *c, int n, ...)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	va_list ap;

	nftnl_rule_set_str(r, NFTNL_RULE_TABLE,
			   nftnl_chain_get_str(c->nl, NFTNL_CHAIN_TABLE));
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN,
			   nftnl_chain_get_str(c->nl, NFTNL_CHAIN_NAME));
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY,
			   nftnl_chain_get_u32(c->nl, NFTNL_CHAIN_FAMILY));
	nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, ++b->handle);
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		nftnl_rule_add_expr(r, va_arg(ap, struct nftnl_expr *));
	va_end(ap);
	c->rules = realloc(c->rules, (c->nrules + 1) * sizeof(r));
	c->rules[c->nrules++] = r;
}

static struct fn_nft_table *table(struct builder *b, uint32_t family,
				  const char *name)
{
	struct fn_nft_table *t = calloc(1, sizeof(*t));

	t->nl = nftnl_table_alloc();
	nftnl_table_set_str(t->nl, NFTNL_TABLE_NAME, name);
	nftnl_table_set_u32(t->nl, NFTNL_TABLE_FAMILY, family);
	nftnl_table_set_u64(t->nl, NFTNL_TABLE_HANDLE, ++b->handle);
	b->rs.tables = realloc(b->rs.tables,
			       (b->rs.ntables + 1) * sizeof(t));
	b->rs.tables[b->rs.ntables++] = t;
	b->t = t;
	return t;
}

static void set(struct builder *b, const char *name, uint32_t flags,
		uint32_t klen, int nelem)
{
	struct fn_nft_set *s = calloc(1, sizeof(*s));

	s->nl = nftnl_set_alloc();
	nftnl_set_set_str(s->nl, NFTNL_SET_NAME, name);
	nftnl_set_set_str(s->nl, NFTNL_SET_TABLE,
			  nftnl_table_get_str(b->t->nl, NFTNL_TABLE_NAME));
	nftnl_set_set_u32(s->nl, NFTNL_SET_FAMILY,
			  nftnl_table_get_u32(b->t->nl, NFTNL_TABLE_FAMILY));
	nftnl_set_set_u64(s->nl, NFTNL_SET_HANDLE, ++b->handle);
	nftnl_set_set_u32(s->nl, NFTNL_SET_FLAGS, flags);
	nftnl_set_set_u32(s->nl, NFTNL_SET_KEY_LEN, klen);
	for (int i = 0; i < nelem; i++) {
		struct nftnl_set_elem *e = nftnl_set_elem_alloc();
		uint32_t k = htonl(0x0a000000u + (uint32_t)i * 256);

		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &k, klen);
		if ((flags & NFT_SET_INTERVAL) && i % 2)
			nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS,
					       NFT_SET_ELEM_INTERVAL_END);
		nftnl_set_elem_add(s->nl, e);
	}
	b->t->sets = realloc(b->t->sets, (b->t->nsets + 1) * sizeof(s));
	b->t->sets[b->t->nsets++] = s;
}

static struct nftnl_expr *lookup(const char *name, uint32_t reg)
{
	struct nftnl_expr *e = ex("lookup", 1, NFTNL_EXPR_LOOKUP_SREG, reg);

	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, name);
	return e;
}

/* meta KEY == v, payload == d (len bytes), counter: `ip saddr A` and
 * `udp dport P` as nft emits them in an inet table. */
static void keyed(struct builder *b, struct fn_nft_chain *c, uint32_t key,
		  uint8_t v, uint32_t base, uint32_t off, const void *d,
		  uint32_t len)
{
	rule(b, c, 5, ex("meta", 2, NFTNL_EXPR_META_KEY, key,
			 NFTNL_EXPR_META_DREG, NFT_REG_1),
	     cmp(NFT_REG_1, NFT_CMP_EQ, &v, 1),
	     load(base, off, len, NFT_REG_1),
	     cmp(NFT_REG_1, NFT_CMP_EQ, d, len), ex("counter", 0));
}

/* Runs for the index: ip saddr, udp dport (with duplicates), th @1,2
 * (a load that fails on later fragments), each with a counter. */
static void build_runs(struct builder *b, struct fn_nft_chain *c)
{
	for (uint32_t i = 0; i < 6; i++) {
		uint32_t a = htonl(0x0a000000u + i);

		keyed(b, c, NFT_META_NFPROTO, NFPROTO_IPV4,
		      NFT_PAYLOAD_NETWORK_HEADER, 12, &a, 4);
	}
	for (uint32_t i = 0; i < 6; i++) {
		uint16_t port = htons((uint16_t)(53 + i % 3));

		keyed(b, c, NFT_META_L4PROTO, 17,
		      NFT_PAYLOAD_TRANSPORT_HEADER, 2, &port, 2);
	}
	for (uint32_t i = 0; i < 5; i++) {
		uint16_t v = (uint16_t)i;

		rule(b, c, 3, load(NFT_PAYLOAD_TRANSPORT_HEADER, 1, 2,
				   NFT_REG_2),
		     cmp(NFT_REG_2, NFT_CMP_EQ, &v, 2), ex("counter", 0));
	}
}

/* An exthdr load (tcp option or sctp chunk) of type t: len bytes at
 * off, or with flags NFT_EXTHDR_F_PRESENT whether there is one. */
static struct nftnl_expr *exthdr(uint32_t op, uint8_t t, uint32_t off,
				 uint32_t len, uint32_t flags)
{
	struct nftnl_expr *e = ex("exthdr", 5, NFTNL_EXPR_EXTHDR_OP, op,
				  NFTNL_EXPR_EXTHDR_OFFSET, off,
				  NFTNL_EXPR_EXTHDR_LEN, len,
				  NFTNL_EXPR_EXTHDR_FLAGS, flags,
				  NFTNL_EXPR_EXTHDR_DREG, NFT_REG_1);

	nftnl_expr_set_u8(e, NFTNL_EXPR_EXTHDR_TYPE, t);
	return e;
}

/* tcp options, sctp chunks, ct keys beyond state and ct mark set, meta
 * priority: everything deterministic (not random, time, cpu, which
 * would differ between the two programs). */
static void build_keys(struct builder *b, struct fn_nft_chain *in,
		       struct fn_nft_chain *out)
{
	static const uint16_t mss = 0xb405;
	static const uint8_t one = 1;
	uint32_t mark = 0x2a, prio = 0x10002;

	rule(b, in, 3, exthdr(NFT_EXTHDR_OP_TCPOPT, 2, 2, 2, 0),
	     cmp(NFT_REG_1, NFT_CMP_EQ, &mss, 2), ex("counter", 0));
	rule(b, in, 3, exthdr(NFT_EXTHDR_OP_TCPOPT, 8, 0, 1,
			      NFT_EXTHDR_F_PRESENT),
	     cmp(NFT_REG_1, NFT_CMP_EQ, &one, 1), ex("counter", 0));
	rule(b, in, 2, exthdr(NFT_EXTHDR_OP_TCPOPT, 8, 2, 8, 0),
	     ex("counter", 0));
	rule(b, in, 2, exthdr(NFT_EXTHDR_OP_SCTP, 0, 4, 12, 0),
	     ex("counter", 0));
	rule(b, in, 3, exthdr(NFT_EXTHDR_OP_SCTP, 1, 0, 1,
			      NFT_EXTHDR_F_PRESENT),
	     cmp(NFT_REG_1, NFT_CMP_EQ, &one, 1), ex("counter", 0));
	static const uint32_t keys[] = { NFT_CT_DIRECTION, NFT_CT_STATUS,
		NFT_CT_MARK, NFT_CT_EXPIRATION, NFT_CT_PROTOCOL,
		NFT_CT_ZONE, NFT_CT_ID, NFT_CT_LABELS, NFT_CT_HELPER };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		rule(b, in, 2, ex("ct", 2, NFTNL_EXPR_CT_KEY, keys[i],
				  NFTNL_EXPR_CT_DREG, NFT_REG_1),
		     ex("counter", 0));
	static const uint32_t dkeys[] = { NFT_CT_SRC_IP, NFT_CT_DST_IP,
		NFT_CT_PROTO_SRC, NFT_CT_PROTO_DST, NFT_CT_PKTS, NFT_CT_BYTES,
		NFT_CT_AVGPKT };
	for (size_t i = 0; i < sizeof(dkeys) / sizeof(dkeys[0]); i++) {
		struct nftnl_expr *e = ex("ct", 2, NFTNL_EXPR_CT_KEY, dkeys[i],
					  NFTNL_EXPR_CT_DREG, NFT_REG_1);

		nftnl_expr_set_u8(e, NFTNL_EXPR_CT_DIR, (uint8_t)(i & 1));
		rule(b, in, 2, e, ex("counter", 0));
	}
	rule(b, out, 2, imm(NFT_REG_1, &mark, 4),
	     ex("ct", 2, NFTNL_EXPR_CT_KEY, NFT_CT_MARK,
		NFTNL_EXPR_CT_SREG, NFT_REG_1));
	rule(b, in, 3, ex("ct", 2, NFTNL_EXPR_CT_KEY, NFT_CT_MARK,
			  NFTNL_EXPR_CT_DREG, NFT_REG_1),
	     cmp(NFT_REG_1, NFT_CMP_EQ, &mark, 4), ex("counter", 0));
	rule(b, in, 2, imm(NFT_REG_1, &prio, 4),
	     ex("meta", 2, NFTNL_EXPR_META_KEY, NFT_META_PRIORITY,
		NFTNL_EXPR_META_SREG, NFT_REG_1));
	rule(b, in, 3, ex("meta", 2, NFTNL_EXPR_META_KEY, NFT_META_PRIORITY,
			  NFTNL_EXPR_META_DREG, NFT_REG_1),
	     cmp(NFT_REG_1, NFT_CMP_EQ, &prio, 4), ex("counter", 0));
}

/* Issue 16's third part: jhash with a seed and numgen inc (the same in
 * both programs; symhash and random are not), ct label and zone set,
 * notrack before conntrack, queue (bypass: accept), log group, and a
 * nat chain whose redirect drops the first packet of a flow. */
static void build_gen(struct builder *b, struct fn_nft_chain *pre,
		      struct fn_nft_chain *in)
{
	static const uint16_t p53 = 0x3500, p7 = 0x0700;
	static const uint32_t lab[4] = { 1, 0, 0, 0x80000000u }, two = 2;
	struct nftnl_expr *q = nftnl_expr_alloc("queue");
	struct nftnl_expr *lg = nftnl_expr_alloc("log");
	struct fn_nft_chain *nat = chain(b, "natpre", NF_INET_PRE_ROUTING, 0);

	nftnl_chain_set_str(nat->nl, NFTNL_CHAIN_TYPE, "nat");
	rule(b, pre, 3, load(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1),
	     cmp(NFT_REG_1, NFT_CMP_EQ, &p7, 2), ex("notrack", 0));
	rule(b, nat, 3, load(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1),
	     cmp(NFT_REG_1, NFT_CMP_EQ, &p53, 2), ex("redir", 0));
	rule(b, nat, 1, ex("counter", 0));
	rule(b, in, 3, load(NFT_PAYLOAD_NETWORK_HEADER, 12, 8, NFT_REG_1),
	     ex("hash", 6, NFTNL_EXPR_HASH_TYPE, NFT_HASH_JENKINS,
		NFTNL_EXPR_HASH_SREG, NFT_REG_1, NFTNL_EXPR_HASH_LEN, 8,
		NFTNL_EXPR_HASH_MODULUS, 4, NFTNL_EXPR_HASH_SEED, 0x1234,
		NFTNL_EXPR_HASH_DREG, NFT_REG_2),
	     cmp(NFT_REG_2, NFT_CMP_EQ, &two, 4));
	rule(b, in, 3, ex("numgen", 3, NFTNL_EXPR_NG_TYPE, NFT_NG_INCREMENTAL,
			  NFTNL_EXPR_NG_MODULUS, 3, NFTNL_EXPR_NG_DREG, NFT_REG_1),
	     cmp(NFT_REG_1, NFT_CMP_EQ, &two, 4), ex("counter", 0));
	rule(b, in, 4, imm(NFT_REG_1, lab, 16),
	     ex("ct", 2, NFTNL_EXPR_CT_KEY, NFT_CT_LABELS,
		NFTNL_EXPR_CT_SREG, NFT_REG_1),
	     ex("ct", 2, NFTNL_EXPR_CT_KEY, NFT_CT_ZONE,
		NFTNL_EXPR_CT_SREG, NFT_REG_1), ex("counter", 0));
	nftnl_expr_set_u16(lg, NFTNL_EXPR_LOG_GROUP, 3);
	rule(b, in, 1, lg);
	nftnl_expr_set_u16(q, NFTNL_EXPR_QUEUE_FLAGS, NFT_QUEUE_FLAG_BYPASS);
	rule(b, in, 3, load(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1),
	     cmp(NFT_REG_1, NFT_CMP_EQ, &p53, 2), q);
}

static void build_inet(struct builder *b)
{
	static const uint8_t tcp = 6;
	static const uint16_t p22 = 0x1600;
	uint32_t zero = 0, mask = htonl(0xffffff00), one = 1;

	table(b, NFPROTO_INET, "f");
	set(b, "h", 0, 4, 64);
	set(b, "i", NFT_SET_INTERVAL, 4, 64);
	struct fn_nft_chain *sub = chain(b, "sub", -1, 0);
	struct fn_nft_chain *pre = chain(b, "pre", NF_INET_PRE_ROUTING, -300);
	struct fn_nft_chain *in = chain(b, "in", NF_INET_LOCAL_IN, 0);
	struct fn_nft_chain *out = chain(b, "out", NF_INET_LOCAL_OUT, 0);
	struct fn_nft_chain *post = chain(b, "post", NF_INET_POST_ROUTING, 0);

	rule(b, pre, 2, ex("ct", 2, NFTNL_EXPR_CT_KEY, NFT_CT_STATE,
			   NFTNL_EXPR_CT_DREG, NFT_REG_1), ex("counter", 0));
	rule(b, pre, 3, load(NFT_PAYLOAD_LL_HEADER, 6, 6, NFT_REG_1),
	     load(NFT_PAYLOAD_NETWORK_HEADER, 60, 16, NFT_REG_2),
	     ex("counter", 0));
	build_runs(b, in);
	rule(b, in, 3, ex("meta", 2, NFTNL_EXPR_META_KEY, NFT_META_L4PROTO,
			  NFTNL_EXPR_META_DREG, NFT_REG_1),
	     cmp(NFT_REG_1, NFT_CMP_EQ, &tcp, 1), verdict(NFT_JUMP, "sub"));
	rule(b, sub, 4, load(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1),
	     cmp(NFT_REG_1, NFT_CMP_EQ, &p22, 2),
	     ex("reject", 1, NFTNL_EXPR_REJECT_TYPE, NFT_REJECT_TCP_RST),
	     ex("counter", 0));
	struct nftnl_expr *q = nftnl_expr_alloc("quota");
	nftnl_expr_set_u64(q, NFTNL_EXPR_QUOTA_BYTES, 100000);
	rule(b, sub, 3, load(NFT_PAYLOAD_TRANSPORT_HEADER, 13, 1, NFT_REG_1),
	     q, verdict(NFT_RETURN, NULL));
	struct nftnl_expr *lim = nftnl_expr_alloc("limit");
	nftnl_expr_set_u64(lim, NFTNL_EXPR_LIMIT_RATE, 10);
	nftnl_expr_set_u64(lim, NFTNL_EXPR_LIMIT_UNIT, 1);
	struct nftnl_expr *bw = ex("bitwise", 3, NFTNL_EXPR_BITWISE_SREG,
				   NFT_REG_1, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1,
				   NFTNL_EXPR_BITWISE_LEN, 4);
	nftnl_expr_set(bw, NFTNL_EXPR_BITWISE_MASK, &mask, 4);
	nftnl_expr_set(bw, NFTNL_EXPR_BITWISE_XOR, &zero, 4);
	rule(b, in, 4, load(NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1), bw,
	     lookup("h", NFT_REG_1), ex("counter", 0));
	rule(b, in, 3, load(NFT_PAYLOAD_NETWORK_HEADER, 16, 4, NFT_REG_1),
	     lookup("i", NFT_REG_1), lim);
	rule(b, in, 2, ex("log", 0), ex("counter", 0));
	rule(b, in, 4, ex("meta", 2, NFTNL_EXPR_META_KEY, NFT_META_LEN,
			  NFTNL_EXPR_META_DREG, NFT_REG_1),
	     ex("byteorder", 5, NFTNL_EXPR_BYTEORDER_SREG, NFT_REG_1,
		NFTNL_EXPR_BYTEORDER_DREG, NFT_REG_1,
		NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON,
		NFTNL_EXPR_BYTEORDER_LEN, 4, NFTNL_EXPR_BYTEORDER_SIZE, 4),
	     cmp(NFT_REG_1, NFT_CMP_GT, &one, 4),
	     ex("reject", 2, NFTNL_EXPR_REJECT_TYPE, NFT_REJECT_ICMPX_UNREACH,
		NFTNL_EXPR_REJECT_CODE, 1));
	build_keys(b, in, out);
	build_gen(b, pre, in);
	rule(b, out, 2, ex("meta", 2, NFTNL_EXPR_META_KEY, NFT_META_OIFNAME,
			   NFTNL_EXPR_META_DREG, NFT_REG_1), ex("counter", 0));
	rule(b, post, 2, ex("ct", 2, NFTNL_EXPR_CT_KEY, NFT_CT_STATE,
			    NFTNL_EXPR_CT_DREG, NFT_REG32_00),
	     ex("counter", 0));
}

/* Flows that keep their verdicts: every chain after conntrack; pure
 * drops on ports, a drop on the length (varies: never kept), established
 * accepted by its state alone, new ones counted. */
static void build_kept(struct builder *b)
{
	static const uint16_t p5 = 0x0500, p7 = 0x0700, p8 = 0x0800;
	static const uint32_t est = 2, newb = 8, zero = 0, len = 60;

	table(b, NFPROTO_INET, "k");
	struct fn_nft_chain *pre = chain(b, "pre", NF_INET_PRE_ROUTING, 0);
	struct fn_nft_chain *in = chain(b, "in", NF_INET_LOCAL_IN, 0);
	struct fn_nft_chain *out = chain(b, "out", NF_INET_LOCAL_OUT, 10);

	rule(b, pre, 3, load(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1),
	     cmp(NFT_REG_1, NFT_CMP_EQ, &p7, 2), verdict(NF_DROP, NULL));
	rule(b, in, 5, load(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1),
	     cmp(NFT_REG_1, NFT_CMP_EQ, &p5, 2),
	     ex("meta", 2, NFTNL_EXPR_META_KEY, NFT_META_LEN,
		NFTNL_EXPR_META_DREG, NFT_REG_1),
	     cmp(NFT_REG_1, NFT_CMP_GT, &len, 4), verdict(NF_DROP, NULL));
	for (int i = 0; i < 2; i++) {
		struct nftnl_expr *bw = ex("bitwise", 3,
			NFTNL_EXPR_BITWISE_SREG, NFT_REG_1,
			NFTNL_EXPR_BITWISE_DREG, NFT_REG_1,
			NFTNL_EXPR_BITWISE_LEN, 4);

		nftnl_expr_set(bw, NFTNL_EXPR_BITWISE_MASK, i ? &newb : &est,
			       4);
		nftnl_expr_set(bw, NFTNL_EXPR_BITWISE_XOR, &zero, 4);
		if (i)
			rule(b, in, 5, ex("ct", 2, NFTNL_EXPR_CT_KEY,
					  NFT_CT_STATE, NFTNL_EXPR_CT_DREG,
					  NFT_REG_1), bw,
			     cmp(NFT_REG_1, NFT_CMP_NEQ, &zero, 4),
			     ex("counter", 0), verdict(NF_ACCEPT, NULL));
		else
			rule(b, in, 4, ex("ct", 2, NFTNL_EXPR_CT_KEY,
					  NFT_CT_STATE, NFTNL_EXPR_CT_DREG,
					  NFT_REG_1), bw,
			     cmp(NFT_REG_1, NFT_CMP_NEQ, &zero, 4),
			     verdict(NF_ACCEPT, NULL));
	}
	rule(b, in, 1, verdict(NF_DROP, NULL));
	rule(b, out, 3, load(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, NFT_REG_1),
	     cmp(NFT_REG_1, NFT_CMP_EQ, &p8, 2), verdict(NF_DROP, NULL));
}

static void model_free(struct builder *b)
{
	for (uint32_t i = 0; i < b->rs.ntables; i++) {
		struct fn_nft_table *t = b->rs.tables[i];

		for (uint32_t j = 0; j < t->nchains; j++) {
			for (uint32_t k = 0; k < t->chains[j]->nrules; k++)
				nftnl_rule_free(t->chains[j]->rules[k]);
			free(t->chains[j]->rules);
			nftnl_chain_free(t->chains[j]->nl);
			free(t->chains[j]);
		}
		for (uint32_t j = 0; j < t->nsets; j++) {
			nftnl_set_free(t->sets[j]->nl);
			free(t->sets[j]);
		}
		free(t->chains);
		free(t->sets);
		nftnl_table_free(t->nl);
		free(t);
	}
	free(b->rs.tables);
}

static void build_netdev(struct builder *b)
{
	static const uint16_t arp = 0x0608;

	table(b, NFPROTO_NETDEV, "n");
	struct fn_nft_chain *c = chain(b, "ing", NF_NETDEV_INGRESS, 0);

	rule(b, c, 3, load(NFT_PAYLOAD_LL_HEADER, 12, 2, NFT_REG_1),
	     cmp(NFT_REG_1, NFT_CMP_EQ, &arp, 2), ex("counter", 0));
	rule(b, c, 2, load(NFT_PAYLOAD_TRANSPORT_HEADER, 0, 8, NFT_REG_1),
	     ex("counter", 0));
	for (uint8_t i = 0; i < 5; i++) {	/* ether saddr: 2 words */
		uint8_t mac[6] = { 2, 0, 0, 0, 0, i };

		rule(b, c, 3, load(NFT_PAYLOAD_LL_HEADER, 6, 6, NFT_REG_1),
		     cmp(NFT_REG_1, NFT_CMP_EQ, mac, 6), ex("counter", 0));
	}
}

static void init(void)
{
	struct builder b = { 0 }, k = { 0 };
	char msg[256];
	int err = 0;

	fn_log_set_level(FN_LOG_ERROR);
	build_inet(&b);
	build_netdev(&b);
	build_kept(&k);
	prog = fn_nft_compile(&b.rs, NULL, &err, msg, sizeof(msg));
	linear = fn_nft_compile(&b.rs, NULL, &err, msg, sizeof(msg));
	kprog = fn_nft_compile(&k.rs, NULL, &err, msg, sizeof(msg));
	kref = fn_nft_compile(&k.rs, NULL, &err, msg, sizeof(msg));
	if (!prog || !linear || !prog->nruns || !kprog || !kref ||
	    !kprog->vc_ok[0] || !kprog->vc_ok[1])
		abort();
	fn_nft_prog_index(linear, false);
	ct = fn_nft_ct_new(64);
	ct_linear = fn_nft_ct_new(64);
	kct = fn_nft_ct_new(64);
	kct_ref = fn_nft_ct_new(64);
	fn_nft_ct_adopt(kct, kprog);
	/* the models may go: the programs keep what they need */
	model_free(&b);
	model_free(&k);
}

/* One packet's path: output, postrouting; or ingress, prerouting,
 * input (the IP hooks for IPv4 only, as the stack).  one: in one call
 * (fn_nft_eval_in/out), else hook by hook.  The last verdict in *res. */
static void judge(struct fn_nft_prog *p, struct fn_nft_ct *c,
		  struct fn_nft_pkt *pk, bool tx, bool one,
		  struct fn_nft_result *res)
{
	if (one && tx) {
		fn_nft_eval_out(p, c, pk, res);
	} else if (one) {
		fn_nft_eval_in(p, c, pk, res);
	} else if (tx) {
		fn_nft_eval(p, c, FN_NFT_OUTPUT, pk, res);
		if (res->verdict == FN_NFT_ACCEPT)
			fn_nft_eval(p, c, FN_NFT_POSTROUTING, pk, res);
	} else {
		fn_nft_eval(p, c, FN_NFT_INGRESS, pk, res);
		if (res->verdict != FN_NFT_ACCEPT || !pk->nh ||
		    pk->ethertype != 0x0800)
			return;
		fn_nft_eval(p, c, FN_NFT_PREROUTING, pk, res);
		if (res->verdict == FN_NFT_ACCEPT)
			fn_nft_eval(p, c, FN_NFT_INPUT, pk, res);
	}
}

/* The indexed and the linear program agree, state by state. */
static void check_same(const struct fn_nft_result *a,
		       const struct fn_nft_result *b,
		       const struct fn_nft_pkt *pa, const struct fn_nft_pkt *pb,
		       const struct fn_nft_prog *x, const struct fn_nft_prog *y)
{
	if (a->verdict != b->verdict || a->reject != b->reject ||
	    a->reject_code != b->reject_code || a->hook != b->hook ||
	    a->rule != b->rule || pa->mark != pb->mark ||
	    pa->priority != pb->priority ||
	    pa->ct_state != pb->ct_state || x->nstates != y->nstates ||
	    b->kept)
		abort();
	for (uint32_t i = 0; i < x->nstates; i++)
		if (x->states[i].a != y->states[i].a ||
		    x->states[i].b != y->states[i].b)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fn_nft_result res, res2;
	struct fn_nft_pkt pk, pk2, base;
	uint8_t ctl, *frame;

	if (!prog)
		init();
	if (size < 1)
		return 0;
	ctl = data[0];
	size--;
	frame = malloc(size ? size : 1);
	memcpy(frame, data + 1, size);
	memset(&pk, 0, sizeof(pk));
	pk.l2 = frame;
	pk.l2_len = (uint32_t)size;
	pk.ethertype = ctl & 1 ? 0x0800 : (size >= 14 ?
		(uint16_t)(frame[12] << 8 | frame[13]) : 0);
	if (pk.ethertype == 0x0800 && size >= 14) {
		pk.nh = frame + 14;
		pk.nh_len = (uint32_t)size - 14;
	}
	pk.iif = pk.oif = 2;
	pk.iifname = pk.oifname = "eth0";
	clock_ns += (uint64_t)(ctl >> 4) * 100000000ull;
	pk.now_ns = clock_ns;
	base = pk;
	pk2 = pk;
	/* the indexed program in one call a path, the linear one hook by
	 * hook: both the index and the one-call paths are checked */
	judge(prog, ct, &pk, ctl & 2, true, &res);
	judge(linear, ct_linear, &pk2, ctl & 2, false, &res2);
	check_same(&res, &res2, &pk, &pk2, prog, linear);
	pk = base;
	pk2 = base;
	judge(kprog, kct, &pk, ctl & 2, true, &res);
	judge(kref, kct_ref, &pk2, ctl & 2, false, &res2);
	check_same(&res, &res2, &pk, &pk2, kprog, kref);
	free(frame);
	return 0;
}
