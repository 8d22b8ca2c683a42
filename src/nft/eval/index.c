/*
 * src/nft/eval/index.c - the rule index: runs of consecutive rules that
 * all test one packet field for equality with different constants
 * (`ip saddr 198.18.0.1 drop`, `ip saddr 198.18.0.2 drop`, ...) get a
 * hash from the constant to the rules that compare with it, so that a
 * packet loads the field once and runs only those rules
 * (docs/nft-eval.md, "The rule index").
 *
 * A rule's guards are its leading pairs of a pure load (payload, or meta
 * other than ct) and a `cmp eq` of that load's register with a constant.
 * A run is at least NFE_INDEX_MIN consecutive rules of one chain that all
 * have a guard with the same load (the key: base, offset and length, or
 * meta key, and the compared length); the key must not change while the
 * chain runs (payload, or meta but `mark`, which a rule may set).  A
 * rule whose key constant differs from the packet's value fails at that
 * guard at the latest, and before it runs only loads and compares, which
 * write registers and nothing else; so skipping it is exact as long as
 * no rule reads a register it did not write itself: tables with such a
 * rule (nft never emits one) are not indexed.  A key load that fails
 * (short packet, no transport header) fails every rule of the run.
 *
 * Called by compile.c once per table after its rules are compiled;
 * expr.c (nfe_run_chain) uses the runs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter/nf_tables.h>

#include "nfe.h"

#define GUARDS_MAX	8	/* guards looked at per rule */

struct guard {
	const struct nfe_op *load, *cmp;
};

/* A key: the load, the compared length, the constant (masked words). */
struct key {
	const struct nfe_op *load;
	uint32_t clen;
	uint32_t w[4];
};

static uint32_t round4(uint32_t n)
{
	return (n + 3) & ~3u;
}

/* ---- register reads ------------------------------------------------------ */
/* Bytes of nfe_regs.data an operation reads and writes, as expr.c runs it:
 * loads and immediates store whole words (store()), byteorder exactly
 * len/size*size bytes. */

struct span {
	uint32_t from, len;
};

static void op_spans(const struct fn_nft_prog *p, const struct nfe_op *op,
		     struct span *rd, struct span *wr)
{
	*rd = (struct span){ 0, 0 };
	*wr = (struct span){ 0, 0 };
	switch (op->type) {
	case OP_PAYLOAD:
	case OP_META:
	case OP_IMM_DATA:
		*wr = (struct span){ op->dreg * 4u, round4(op->len) };
		break;
	case OP_CT_STATE:
		*wr = (struct span){ op->dreg * 4u, 4 };
		break;
	case OP_CT:
		*wr = (struct span){ op->dreg * 4u, round4(op->len) };
		break;
	case OP_EXTHDR:	/* present: one word */
		*wr = (struct span){ op->dreg * 4u,
				     op->arg2 ? 4 : round4(op->len) };
		break;
	case OP_CMP:
	case OP_CMP_FAST:
	case OP_RANGE:
		*rd = (struct span){ op->sreg * 4u, op->len };
		break;
	case OP_BITWISE:
	case OP_SHIFT:
		*rd = (struct span){ op->sreg * 4u, round4(op->len) };
		*wr = (struct span){ op->dreg * 4u, round4(op->len) };
		break;
	case OP_BYTEORDER:
		*rd = (struct span){ op->sreg * 4u, op->len };
		*wr = (struct span){ op->dreg * 4u,
				     op->len / op->size * op->size };
		break;
	case OP_META_SET:
		*rd = (struct span){ op->sreg * 4u, 4 };
		break;
	case OP_OBJREF_MAP:
		*rd = (struct span){ op->sreg * 4u, op->len };
		break;
	case OP_CT_SET_MARK:
		*rd = (struct span){ op->sreg * 4u, op->len };
		break;
	case OP_NUMGEN:
		*wr = (struct span){ op->dreg * 4u, 4 };
		break;
	case OP_HASH:
		if (op->sub == NFT_HASH_JENKINS)
			*rd = (struct span){ op->sreg * 4u, op->len };
		*wr = (struct span){ op->dreg * 4u, 4 };
		break;
	case OP_LOOKUP: {
		const struct nfe_set *s = &p->sets[op->arg];

		*rd = (struct span){ op->sreg * 4u, op->len };
		if (op->size && !s->vmap)
			*wr = (struct span){ op->dreg * 4u,
					     s->dlen <= 4 ? 4 : round4(s->dlen) };
		break;
	}
	case OP_NAT: {	/* the address (4 bytes) and port (2) registers,
			 * and what lies between: more is safe */
		uint32_t a = op->sreg * 4u, b = op->dreg * 4u;
		uint32_t ae = op->sreg ? a + 4 : 0, be = op->dreg ? b + 2 : 0;

		if (op->sreg && op->dreg)
			*rd = (struct span){ a < b ? a : b,
					     (ae > be ? ae : be) - (a < b ? a : b) };
		else if (op->sreg || op->dreg)
			*rd = op->sreg ? (struct span){ a, 4 } :
					 (struct span){ b, 2 };
		break;
	}
	default:
		break;
	}
}

/* True if the rule reads only register bytes it wrote before. */
static bool rule_closed(const struct fn_nft_prog *p, const struct nfe_rule *ru)
{
	bool written[NFE_REG32_NUM * 4] = { false };

	for (uint32_t i = 0; i < ru->nops; i++) {
		const struct nfe_op *op = &p->ops[ru->first_op + i];
		struct span rd, wr;

		op_spans(p, op, &rd, &wr);
		for (uint32_t b = rd.from; b < rd.from + rd.len; b++)
			if (b >= sizeof(written) || !written[b])
				return false;
		for (uint32_t b = wr.from; b < wr.from + wr.len &&
		     b < sizeof(written); b++)
			written[b] = true;
	}
	return true;
}

/* ---- guards and keys ----------------------------------------------------- */

static bool pure_load(const struct nfe_op *op)
{
	return op->type == OP_PAYLOAD || op->type == OP_META;
}

static bool cmp_eq_of(const struct nfe_op *c, const struct nfe_op *ld)
{
	return (c->type == OP_CMP || c->type == OP_CMP_FAST) &&
	       c->sub == NFT_CMP_EQ && c->sreg == ld->dreg &&
	       c->len <= round4(ld->len);
}

static uint32_t rule_guards(const struct fn_nft_prog *p,
			    const struct nfe_rule *ru, struct guard *g)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i + 1 < ru->nops && n < GUARDS_MAX; i += 2) {
		const struct nfe_op *ld = &p->ops[ru->first_op + i];
		const struct nfe_op *c = ld + 1;

		if (!pure_load(ld) || !cmp_eq_of(c, ld))
			break;
		g[n++] = (struct guard){ ld, c };
	}
	return n;
}

/* A load whose value stays the same while a chain runs: not one a rule
 * may set (mark, priority), nor one that changes between two loads
 * (random, the time of day). */
static bool key_load(const struct nfe_op *ld)
{
	if (ld->type == OP_PAYLOAD)
		return true;
	switch (ld->sub) {
	case NFT_META_MARK:
	case NFT_META_PRIORITY:
	case NFT_META_PRANDOM:
	case NFT_META_TIME_NS:
	case NFT_META_TIME_DAY:
	case NFT_META_TIME_HOUR:
		return false;
	default:
		return true;
	}
}

static struct key guard_key(const struct fn_nft_prog *p, const struct guard *g)
{
	struct key k = { .load = g->load, .clen = g->cmp->len };

	if (g->cmp->type == OP_CMP_FAST)
		k.w[0] = g->cmp->arg;	/* masked already */
	else
		memcpy(k.w, &p->pool[g->cmp->arg], round4(k.clen));
	k.w[(k.clen - 1) / 4] &= nfe_key_mask(k.clen);
	return k;
}

static bool same_load(const struct key *a, const struct key *b)
{
	const struct nfe_op *x = a->load, *y = b->load;

	return x->type == y->type && x->sub == y->sub && x->arg == y->arg &&
	       x->len == y->len && x->size == y->size && a->clen == b->clen;
}

static bool same_key(const struct key *a, const struct key *b)
{
	return same_load(a, b) &&
	       !memcmp(a->w, b->w, round4(a->clen));
}

/* Rule ru's first guard with the load of k, its key in *out. */
static bool rule_key(const struct fn_nft_prog *p, const struct nfe_rule *ru,
		     const struct key *k, struct key *out)
{
	struct guard g[GUARDS_MAX];
	uint32_t n = rule_guards(p, ru, g);

	for (uint32_t i = 0; i < n; i++) {
		*out = guard_key(p, &g[i]);
		if (same_load(out, k))
			return true;
	}
	return false;
}

/* The key of rule `first` that makes the best run from it: in all of the
 * next NFE_INDEX_MIN rules, with the most distinct constants there (at
 * least 2: a key every rule compares with the same constant skips
 * nothing).  Looking at a window, not the whole run, keeps compile
 * linear in the rules. */
static bool run_key(const struct fn_nft_prog *p, const struct nfe_rule *ru,
		    uint32_t left, struct key *best)
{
	struct guard g[GUARDS_MAX];
	uint32_t n = rule_guards(p, ru, g), best_d = 1;

	if (left < NFE_INDEX_MIN)
		return false;
	for (uint32_t i = 0; i < n; i++) {
		struct key w[NFE_INDEX_MIN];
		uint32_t j, d = 0;

		if (!key_load(g[i].load))
			continue;
		w[0] = guard_key(p, &g[i]);
		for (j = 1; j < NFE_INDEX_MIN; j++)
			if (!rule_key(p, &ru[j], &w[0], &w[j]))
				break;
		if (j < NFE_INDEX_MIN)
			continue;
		for (j = 0; j < NFE_INDEX_MIN; j++) {
			uint32_t m = 0;

			while (m < j && !same_key(&w[m], &w[j]))
				m++;
			d += m == j;
		}
		if (d > best_d) {
			best_d = d;
			*best = w[0];
		}
	}
	return best_d > 1;
}

/* ---- building a run ------------------------------------------------------ */

static int run_alloc(struct fn_nft_prog *p, struct nfe_run **out)
{
	if (p->nruns == p->cruns) {
		uint32_t ncap = p->cruns ? p->cruns * 2 : 8;
		struct nfe_run *r = realloc(p->runs, (size_t)ncap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		p->runs = r;
		p->cruns = ncap;
	}
	*out = &p->runs[p->nruns++];
	memset(*out, 0, sizeof(**out));
	return 0;
}

/* The key index of k, adding it if new. */
static uint32_t run_key_add(struct nfe_run *run, const struct key *k)
{
	uint32_t kw = run->kwords;
	uint32_t h = nfe_key_hash(k->w, kw) & run->mask;

	while (run->slots[h]) {
		uint32_t i = run->slots[h] - 1;

		if (!memcmp(&run->keys[i * kw], k->w, kw * 4))
			return i;
		h = (h + 1) & run->mask;
	}
	memcpy(&run->keys[run->nkeys * kw], k->w, kw * 4);
	run->slots[h] = ++run->nkeys;
	return run->nkeys - 1;
}

/* The run of the n rules from ru on, chain positions first.. (all with
 * a guard on k's load: run_extent counted them). */
static int run_build(struct fn_nft_prog *p, struct nfe_run *run,
		     const struct nfe_rule *ru, uint32_t first, uint32_t n,
		     const struct key *k)
{
	uint32_t slots = 16, *idx;
	int err = -ENOMEM;

	while (slots < 2 * n)
		slots *= 2;
	run->load = *k->load;
	run->load.dreg = 4;	/* NFT_REG_1: the scratch registers' */
	run->load.then_cmp = 0;
	run->kwords = (uint8_t)((k->clen + 3) / 4);
	run->lastmask = nfe_key_mask(k->clen);
	run->end = first + n;
	run->mask = slots - 1;
	run->slots = calloc(slots, sizeof(*run->slots));
	run->keys = calloc((size_t)n * run->kwords, 4);
	run->first = calloc((size_t)n + 1, sizeof(*run->first));
	run->cand = calloc(n, sizeof(*run->cand));
	idx = calloc(n, sizeof(*idx));
	if (!run->slots || !run->keys || !run->first || !run->cand || !idx)
		goto out;
	for (uint32_t i = 0; i < n; i++) {
		struct key rk;

		rule_key(p, &ru[i], k, &rk);	/* true: see above */
		idx[i] = run_key_add(run, &rk);
		run->first[idx[i] + 1]++;
	}
	for (uint32_t i = 0; i < run->nkeys; i++)
		run->first[i + 1] += run->first[i];
	/* counting sort: each key's rules stay in chain order */
	uint32_t *fill = calloc(run->nkeys + 1, sizeof(*fill));
	if (!fill)
		goto out;
	for (uint32_t i = 0; i < n; i++)
		run->cand[run->first[idx[i]] + fill[idx[i]]++] = first + i;
	free(fill);
	err = 0;
out:
	free(idx);
	return err;
}

/* Rules from ru on (left of them) that have a guard on k's load. */
static uint32_t run_extent(const struct fn_nft_prog *p,
			   const struct nfe_rule *ru, uint32_t left,
			   const struct key *k)
{
	uint32_t n = 0;
	struct key rk;

	while (n < left && rule_key(p, &ru[n], k, &rk))
		n++;
	return n;
}

static int chain_index(struct fn_nft_prog *p, struct nfe_chain *ch)
{
	struct nfe_rule *ru = &p->rules[ch->first_rule];

	for (uint32_t i = 0; i < ch->nrules;) {
		struct nfe_run *run;
		struct key k;
		uint32_t n;
		int err;

		if (!run_key(p, &ru[i], ch->nrules - i, &k)) {
			i++;
			continue;
		}
		n = run_extent(p, &ru[i], ch->nrules - i, &k);
		err = run_alloc(p, &run);
		if (!err)
			err = run_build(p, run, &ru[i], i, n, &k);
		if (err)
			return err;
		for (uint32_t j = i; j < i + n; j++)
			ru[j].run = p->nruns;	/* index + 1 */
		i += n;
	}
	return 0;
}

int nfe_index_table(struct fn_nft_prog *p, uint32_t chain0)
{
	for (uint32_t c = chain0; c < p->nchains; c++) {
		const struct nfe_chain *ch = &p->chains[c];

		for (uint32_t i = 0; i < ch->nrules; i++)
			if (!rule_closed(p, &p->rules[ch->first_rule + i]))
				return 0;	/* no index in this table */
	}
	for (uint32_t c = chain0; c < p->nchains; c++) {
		int err = chain_index(p, &p->chains[c]);

		if (err)
			return err;
	}
	return 0;
}

void nfe_index_fini(struct fn_nft_prog *p)
{
	for (uint32_t i = 0; i < p->nruns; i++) {
		free(p->runs[i].slots);
		free(p->runs[i].keys);
		free(p->runs[i].first);
		free(p->runs[i].cand);
	}
	free(p->runs);
}

void fn_nft_prog_index(struct fn_nft_prog *p, bool on)
{
	if (p)
		p->no_index = !on;
}
