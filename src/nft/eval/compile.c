/*
 * src/nft/eval/compile.c - fn_nft_compile(): a ruleset model (libnftnl
 * objects, ../nft.h) into an nfe_prog.
 *
 * Order: per table, register its chains, build its objects' states
 * (cexpr.c) and its sets (set.c: object maps name objects), then compile
 * each chain's rules (cexpr.c per expression) and index them
 * (index.c); then check the jump graph as the kernel does
 * (nf_tables_check_loops: no cycle, -ELOOP; nft_chain_validate: at most
 * NFT_JUMP_STACK_SIZE levels, -EMLINK); then
 * order each hook's base chains by priority (ties: model order, as hooks
 * registered one after the other); last, carry counters, quotas and limits
 * over from the old program by (family, table, chain, handle, expression),
 * objects' by (family, table, type, name, handle).
 * Called by the netlink server on commit, never from the packet path.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "nfe.h"

#define GROW(arr, n, cap)						\
	((n) < (cap) ? 0 : nfe_grow((void **)&(arr), &(cap), sizeof(*(arr))))

static int nfe_grow(void **arr, uint32_t *cap, size_t size)
{
	uint32_t ncap = *cap ? *cap * 2 : 16;
	void *a;

	if (ncap < *cap)
		return -ENOMEM;
	a = realloc(*arr, (size_t)ncap * size);
	if (!a)
		return -ENOMEM;
	*arr = a;
	*cap = ncap;
	return 0;
}

int nfe_fail(struct nfe_cctx *c, int err, const char *fmt, ...)
{
	char what[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (!c->msg || !c->msglen)
		return err;
	if (c->chain != UINT32_MAX && c->handle)
		snprintf(c->msg, c->msglen,
			 "table %s chain %s rule %llu expression %u: %s",
			 c->p->chains[c->chain].table,
			 c->p->chains[c->chain].name,
			 (unsigned long long)c->handle, c->expr, what);
	else if (c->chain != UINT32_MAX)
		snprintf(c->msg, c->msglen, "table %s chain %s: %s",
			 c->p->chains[c->chain].table,
			 c->p->chains[c->chain].name, what);
	else
		snprintf(c->msg, c->msglen, "%s", what);
	return err;
}

int nfe_pool_add(struct fn_nft_prog *p, const void *data, uint32_t len,
		 uint32_t *idx)
{
	uint32_t words = (len + 3) / 4;

	while (p->npool + words > p->cpool)
		if (nfe_grow((void **)&p->pool, &p->cpool, sizeof(*p->pool)))
			return -ENOMEM;
	*idx = p->npool;
	memset(&p->pool[p->npool], 0, words * 4);
	memcpy(&p->pool[p->npool], data, len);
	p->npool += words;
	return 0;
}

int nfe_find_chain(struct nfe_cctx *c, const char *name, uint32_t *idx)
{
	for (uint32_t i = c->table_chain0; i < c->p->nchains; i++)
		if (!strcmp(c->p->chains[i].name, name)) {
			*idx = i;
			return 0;
		}
	return -ENOENT;
}

/* nft_verdict_init(): the codes a rule or a verdict map may carry. */
int nfe_verdict_check(struct nfe_cctx *c, uint32_t code, const char *chain,
		      struct nfe_verdict *v)
{
	v->code = (int32_t)code;
	v->chain = 0;
	switch (v->code) {
	case NFE_NF_ACCEPT:
	case NFE_NF_DROP:
	case NFE_CONTINUE:
	case NFE_BREAK:
	case NFE_RETURN:
		return 0;
	case NFE_JUMP:
	case NFE_GOTO:
		if (!chain)
			return nfe_fail(c, -EINVAL, "jump/goto without chain");
		if (nfe_find_chain(c, chain, &v->chain))
			return nfe_fail(c, -ENOENT, "chain '%s' not found",
					chain);
		if (c->p->chains[v->chain].base)
			return nfe_fail(c, -EOPNOTSUPP,
					"jump/goto to base chain '%s'", chain);
		return 0;
	default:
		if ((code & NF_VERDICT_MASK) == NF_QUEUE)
			return nfe_fail(c, -EOPNOTSUPP,
					"verdict 'queue' is not supported");
		return nfe_fail(c, -EINVAL, "verdict %d is not valid",
				v->code);
	}
}

/* ---- chains -------------------------------------------------------------- */

static int family_ok(struct nfe_cctx *c, uint32_t family, const char *table)
{
	if (family == NFPROTO_IPV4 || family == NFPROTO_INET ||
	    family == NFPROTO_NETDEV)
		return 0;
	return nfe_fail(c, -EOPNOTSUPP,
			"table %s: family %u is not supported (ip, inet, netdev)",
			table, family);
}

static int base_hook(struct nfe_cctx *c, struct nfe_chain *ch, uint32_t hooknum)
{
	static const int8_t inet[] = {
		[NF_INET_PRE_ROUTING] = FN_NFT_PREROUTING,
		[NF_INET_LOCAL_IN] = FN_NFT_INPUT,
		[NF_INET_FORWARD] = -1,
		[NF_INET_LOCAL_OUT] = FN_NFT_OUTPUT,
		[NF_INET_POST_ROUTING] = FN_NFT_POSTROUTING,
	};

	if (ch->family == NFPROTO_NETDEV) {
		if (hooknum != NF_NETDEV_INGRESS)
			return nfe_fail(c, -EOPNOTSUPP,
					"netdev hook %u is not supported (ingress)",
					hooknum);
		ch->hook = FN_NFT_INGRESS;
		return 0;
	}
	if (hooknum == NF_INET_INGRESS && ch->family == NFPROTO_INET) {
		ch->hook = FN_NFT_INGRESS;	/* inet ingress, on a device */
		return 0;
	}
	if (hooknum > NF_INET_POST_ROUTING)
		return nfe_fail(c, -EOPNOTSUPP, "hook %u is not supported",
				hooknum);
	if (inet[hooknum] < 0)
		ch->forward = true;	/* the stack does not forward */
	else
		ch->hook = (uint8_t)inet[hooknum];
	return 0;
}

static int netdev_dev(struct nfe_cctx *c, struct nfe_chain *ch,
		      struct nftnl_chain *nl)
{
	const char *dev = NULL;

	if (nftnl_chain_is_set(nl, NFTNL_CHAIN_DEV))
		dev = nftnl_chain_get_str(nl, NFTNL_CHAIN_DEV);
	if (nftnl_chain_is_set(nl, NFTNL_CHAIN_DEVICES)) {
		const char *const *devs =
			nftnl_chain_get_array(nl, NFTNL_CHAIN_DEVICES);

		if (devs && devs[0] && devs[1])
			return nfe_fail(c, -EOPNOTSUPP,
					"more than one device per chain");
		if (devs && devs[0])
			dev = devs[0];
	}
	if (dev && strlen(dev) >= NFE_IFNAMSIZ)
		return nfe_fail(c, -EINVAL, "device name too long");
	snprintf(ch->dev, sizeof(ch->dev), "%s", dev ? dev : "");
	return 0;
}

static int chain_base(struct nfe_cctx *c, struct nfe_chain *ch,
		      struct nftnl_chain *nl)
{
	const char *type = nftnl_chain_get_str(nl, NFTNL_CHAIN_TYPE);
	uint32_t policy = NF_ACCEPT;
	int err;

	ch->base = true;
	ch->nat = type && !strcmp(type, "nat");
	if (!type || (strcmp(type, "filter") && !ch->nat))
		return nfe_fail(c, -EOPNOTSUPP,
				"chain type '%s' is not supported (filter, nat)",
				type ? type : "?");
	err = base_hook(c, ch, nftnl_chain_get_u32(nl, NFTNL_CHAIN_HOOKNUM));
	if (err)
		return err;
	ch->prio = nftnl_chain_get_s32(nl, NFTNL_CHAIN_PRIO);
	if (ch->nat && (ch->forward || ch->hook == FN_NFT_INGRESS ||
			ch->prio <= NFE_CT_PRIO))
		return nfe_fail(c, -EOPNOTSUPP,
				"chain type nat: on prerouting, input, output or postrouting, priority above -200");
	if (ch->nat)
		c->p->uses_ct = true;	/* nat chains see new flows only */
	if (nftnl_chain_is_set(nl, NFTNL_CHAIN_POLICY))
		policy = nftnl_chain_get_u32(nl, NFTNL_CHAIN_POLICY);
	if (policy != NF_ACCEPT && policy != NF_DROP)
		return nfe_fail(c, -EINVAL, "policy %u is not valid", policy);
	ch->policy = (uint8_t)policy;
	if (ch->hook == FN_NFT_INGRESS && !ch->forward)
		return netdev_dev(c, ch, nl);
	return 0;
}

static int chain_add(struct nfe_cctx *c, const char *table, uint8_t family,
		     struct fn_nft_chain *fc)
{
	struct fn_nft_prog *p = c->p;
	struct nftnl_chain *nl = fc->nl;
	struct nfe_chain *ch;

	if (GROW(p->chains, p->nchains, p->cchains))
		return -ENOMEM;
	ch = &p->chains[p->nchains];
	memset(ch, 0, sizeof(*ch));
	ch->family = family;
	ch->order = p->nchains;
	const char *name = nftnl_chain_get_str(nl, NFTNL_CHAIN_NAME);

	ch->table = strdup(table);
	ch->name = strdup(name ? name : "");
	p->nchains++;
	if (!ch->table || !ch->name)
		return -ENOMEM;
	if (!name)
		return nfe_fail(c, -EINVAL, "table %s: a chain without name",
				table);
	c->chain = p->nchains - 1;
	if (nftnl_chain_is_set(nl, NFTNL_CHAIN_FLAGS) &&
	    (nftnl_chain_get_u32(nl, NFTNL_CHAIN_FLAGS) &
	     ~(uint32_t)(NFT_CHAIN_BASE | NFT_CHAIN_BINDING)))
		return nfe_fail(c, -EOPNOTSUPP, "chain flags 0x%x",
				nftnl_chain_get_u32(nl, NFTNL_CHAIN_FLAGS));
	if (nftnl_chain_is_set(nl, NFTNL_CHAIN_HOOKNUM))
		return chain_base(c, ch, nl);
	return 0;
}

/* ---- rules --------------------------------------------------------------- */

static int expr_cb(struct nftnl_expr *e, void *data)
{
	struct nfe_cctx *c = data;
	int err = nfe_compile_expr(c, e);

	c->expr++;
	return err ? err : 0;
}

/* A payload or meta load followed by a word compare of its register
 * (`tcp dport 22`, `meta l4proto tcp`) runs in one dispatch. */
static void fuse(struct nfe_op *ops, uint32_t n)
{
	for (uint32_t i = 0; i + 1 < n; i++)
		ops[i].then_cmp = (ops[i].type == OP_PAYLOAD ||
				   ops[i].type == OP_META) &&
				  ops[i + 1].type == OP_CMP_FAST &&
				  ops[i + 1].sreg == ops[i].dreg;
}

static int rule_add(struct nfe_cctx *c, struct nftnl_rule *r)
{
	struct fn_nft_prog *p = c->p;
	struct nfe_rule *er;
	int err;

	c->handle = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE);
	c->expr = 0;
	if (nftnl_rule_is_set(r, NFTNL_RULE_COMPAT_PROTO) ||
	    nftnl_rule_is_set(r, NFTNL_RULE_COMPAT_FLAGS))
		return nfe_fail(c, -EOPNOTSUPP, "xtables compat rules");
	if (GROW(p->rules, p->nrules, p->crules))
		return -ENOMEM;
	er = &p->rules[p->nrules];
	er->first_op = p->nops;
	er->run = 0;
	er->handle = c->handle;
	err = nftnl_expr_foreach(r, expr_cb, c);
	if (err < 0)
		return err;
	er = &p->rules[p->nrules++];
	er->nops = p->nops - er->first_op;
	fuse(&p->ops[er->first_op], er->nops);
	return 0;
}

static int table_compile(struct nfe_cctx *c, const struct fn_nft_table *t)
{
	struct fn_nft_prog *p = c->p;
	const char *tname = nftnl_table_get_str(t->nl, NFTNL_TABLE_NAME);
	uint32_t family = nftnl_table_get_u32(t->nl, NFTNL_TABLE_FAMILY);
	int err;

	c->table = t;
	c->chain = UINT32_MAX;
	c->handle = 0;
	if (!tname)
		return nfe_fail(c, -EINVAL, "a table without name");
	err = family_ok(c, family, tname);
	if (err)
		return err;
	c->table_chain0 = p->nchains;
	c->table_set0 = p->nsets;
	for (uint32_t i = 0; i < t->nchains; i++) {
		err = chain_add(c, tname, (uint8_t)family, t->chains[i]);
		if (err)
			return err;
		/* NFT_TABLE_F_DORMANT: the kernel unregisters the table's
		 * hooks (nf_tables_table_disable); its rules stay listed */
		p->chains[p->nchains - 1].dormant =
			nftnl_table_is_set(t->nl, NFTNL_TABLE_FLAGS) &&
			(nftnl_table_get_u32(t->nl, NFTNL_TABLE_FLAGS) &
			 NFT_TABLE_F_DORMANT);
	}
	c->chain = UINT32_MAX;
	c->table_obj0 = p->nobjs;
	for (uint32_t i = 0; i < t->nobjs; i++) {
		err = nfe_compile_obj(c, t->objs[i].nl);
		if (err)
			return err;
	}
	for (uint32_t i = 0; i < t->nsets; i++) {
		if (GROW(p->sets, p->nsets, p->csets))
			return -ENOMEM;
		memset(&p->sets[p->nsets], 0, sizeof(p->sets[0]));
		p->sets[p->nsets].family = (uint8_t)family;
		err = nfe_set_build(c, t->sets[i], &p->sets[p->nsets++]);
		if (err)
			return err;
	}
	for (uint32_t i = 0; i < t->nchains; i++) {
		struct fn_nft_chain *fc = t->chains[i];

		c->chain = c->table_chain0 + i;
		c->handle = 0;
		p->chains[c->chain].first_rule = p->nrules;
		for (uint32_t j = 0; j < fc->nrules; j++) {
			err = rule_add(c, fc->rules[j]);
			if (err)
				return err;
		}
		p->chains[c->chain].nrules = p->nrules -
					     p->chains[c->chain].first_rule;
	}
	c->chain = UINT32_MAX;
	return nfe_index_table(p, c->table_chain0);
}

/* ---- the jump graph ------------------------------------------------------ */
/* Nodes: chains 0..nc-1, then sets (verdict maps) nc..nc+ns-1.  A chain's
 * successors are the chains its immediates jump/goto to and the verdict
 * maps it looks up; a map's are the chains its elements name.  Levels
 * count chains only, as nft_chain_validate's ctx->level. */

struct graph {
	const struct fn_nft_prog *p;
	uint8_t *color;			/* 0 new, 1 on stack, 2 done */
	uint32_t *height;
};

static uint32_t succ_count(const struct graph *g, uint32_t n)
{
	const struct fn_nft_prog *p = g->p;

	if (n >= p->nchains)
		return p->sets[n - p->nchains].vmap ?
		       p->sets[n - p->nchains].n + 1 : 0;
	const struct nfe_chain *ch = &p->chains[n];
	if (!ch->nrules)
		return 0;
	const struct nfe_rule *last =
		&p->rules[ch->first_rule + ch->nrules - 1];
	return last->first_op + last->nops - p->rules[ch->first_rule].first_op;
}

/* Successor i of node n, or UINT32_MAX for none. */
static uint32_t succ(const struct graph *g, uint32_t n, uint32_t i)
{
	const struct fn_nft_prog *p = g->p;

	if (n >= p->nchains) {
		const struct nfe_set *s = &p->sets[n - p->nchains];
		const struct nfe_verdict *v = i < s->n ? &s->verdicts[i] :
					     (s->catchall ? &s->ca_verdict : NULL);
		if (!v || (i < s->n && s->interval && s->is_end[i]))
			return UINT32_MAX;
		return (v->code == NFE_JUMP || v->code == NFE_GOTO) ?
		       v->chain : UINT32_MAX;
	}
	const struct nfe_op *op =
		&p->ops[p->rules[p->chains[n].first_rule].first_op + i];
	if (op->type == OP_IMM_VERDICT &&
	    (op->arg2 == NFE_JUMP || op->arg2 == NFE_GOTO))
		return op->arg;
	if (op->type == OP_LOOKUP && p->sets[op->arg].vmap)
		return p->nchains + op->arg;
	return UINT32_MAX;
}

struct frame {
	uint32_t node, next;
};

static int graph_visit(struct graph *g, uint32_t root, struct frame *st)
{
	uint32_t sp = 0;

	st[sp++] = (struct frame){ root, 0 };
	g->color[root] = 1;
	while (sp) {
		struct frame *f = &st[sp - 1];

		if (f->next == succ_count(g, f->node)) {
			g->color[f->node] = 2;
			sp--;
			if (sp) {
				uint32_t w = f->node < g->p->nchains;
				uint32_t h = g->height[f->node] + w;
				uint32_t up = st[sp - 1].node;

				if (h > g->height[up])
					g->height[up] = h;
			}
			continue;
		}
		uint32_t s = succ(g, f->node, f->next++);
		if (s == UINT32_MAX)
			continue;
		if (g->color[s] == 1)
			return -ELOOP;
		if (g->color[s] == 2) {
			uint32_t h = g->height[s] + (s < g->p->nchains);

			if (h > g->height[f->node])
				g->height[f->node] = h;
			continue;
		}
		g->color[s] = 1;
		st[sp++] = (struct frame){ s, 0 };
	}
	return 0;
}

/* A nat statement of chain n at op i (chain-relative), reached from
 * base chain b: the kernel validates the chains a base chain jumps to
 * with that base chain (nft_table_validate: ctx->chain stays the base
 * chain), so it must be of type nat and on one of the statement's hooks
 * (cexpr.c: op->size). */
static int nat_reached(struct nfe_cctx *c, const struct nfe_chain *b,
		       uint32_t n, uint32_t i)
{
	struct fn_nft_prog *p = c->p;
	const struct nfe_chain *ch = &p->chains[n];
	uint32_t op = p->rules[ch->first_rule].first_op + i;

	if (p->ops[op].type != OP_NAT ||
	    (b->nat && (p->ops[op].size & (1u << b->hook))))
		return 0;
	c->chain = n;
	c->handle = 0;
	for (uint32_t r = ch->first_rule; r < ch->first_rule + ch->nrules; r++)
		if (op >= p->rules[r].first_op &&
		    op < p->rules[r].first_op + p->rules[r].nops)
			c->handle = p->rules[r].handle;
	return nfe_fail(c, -EOPNOTSUPP,
			"a nat statement reached from chain %s (%s, hook %u)",
			b->name, b->nat ? "nat" : "filter", b->hook);
}

/* Every chain and verdict map reachable from each base chain, scanned
 * for nat statements (after graph_check: no loops). */
static int nat_check(struct nfe_cctx *c, struct graph *g, struct frame *st)
{
	struct fn_nft_prog *p = c->p;
	uint32_t nn = p->nchains + p->nsets;

	for (uint32_t b = 0; b < p->nchains; b++) {
		uint32_t sp = 0;

		if (!p->chains[b].base)
			continue;
		memset(g->color, 0, nn + 1);
		st[sp++].node = b;
		g->color[b] = 1;
		while (sp) {
			uint32_t n = st[--sp].node;

			for (uint32_t i = 0; i < succ_count(g, n); i++) {
				uint32_t s = succ(g, n, i);
				int err = n < p->nchains ?
					  nat_reached(c, &p->chains[b], n, i) : 0;

				if (err)
					return err;
				if (s != UINT32_MAX && !g->color[s]) {
					g->color[s] = 1;
					st[sp++].node = s;
				}
			}
		}
	}
	return 0;
}

static int graph_check(struct nfe_cctx *c)
{
	struct fn_nft_prog *p = c->p;
	uint32_t nn = p->nchains + p->nsets;
	struct graph g = { .p = p };
	struct frame *st;
	int err = 0;

	g.color = calloc(nn + 1, 1);
	g.height = calloc(nn + 1, sizeof(*g.height));
	st = calloc(nn + 1, sizeof(*st));
	if (!g.color || !g.height || !st) {
		err = -ENOMEM;
		goto out;
	}
	for (uint32_t n = 0; n < p->nchains && !err; n++) {
		if (g.color[n])
			continue;
		err = graph_visit(&g, n, st);
		if (err) {
			c->chain = n;
			c->handle = 0;
			nfe_fail(c, err, "jumps form a loop");
		}
	}
	for (uint32_t n = 0; n < p->nchains && !err; n++) {
		if (p->chains[n].base && g.height[n] >= NFE_JUMP_STACK) {
			c->chain = n;
			c->handle = 0;
			err = nfe_fail(c, -EMLINK, "jumps nest deeper than %d",
				       NFE_JUMP_STACK);
		}
	}
	if (!err && p->has_nat)
		err = nat_check(c, &g, st);
out:
	free(g.color);
	free(g.height);
	free(st);
	return err;
}

/* ---- hooks --------------------------------------------------------------- */

static const struct fn_nft_prog *sort_prog;

/* Where a chain runs on its hook: a nat chain where the kernel's NAT
 * hook runs (nf_nat_ipv4_ops: NF_IP_PRI_NAT_DST, -100, on prerouting and
 * output, NF_IP_PRI_NAT_SRC, 100, on input and postrouting), nat chains
 * among themselves by their own priority (nf_nat_register_fn). */
static int32_t hook_prio(const struct nfe_chain *ch)
{
	if (!ch->nat)
		return ch->prio;
	return ch->hook == FN_NFT_PREROUTING || ch->hook == FN_NFT_OUTPUT ?
	       -100 : 100;
}

static int hook_cmp(const void *a, const void *b)
{
	const struct nfe_chain *x = &sort_prog->chains[*(const uint32_t *)a];
	const struct nfe_chain *y = &sort_prog->chains[*(const uint32_t *)b];

	if (hook_prio(x) != hook_prio(y))
		return hook_prio(x) < hook_prio(y) ? -1 : 1;
	if (x->prio != y->prio)
		return x->prio < y->prio ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int hooks_build(struct fn_nft_prog *p)
{
	for (int h = 0; h < FN_NFT_NHOOKS; h++) {
		p->hooks[h] = calloc(p->nchains + 1, sizeof(uint32_t));
		if (!p->hooks[h])
			return -ENOMEM;
	}
	for (uint32_t i = 0; i < p->nchains; i++) {
		struct nfe_chain *ch = &p->chains[i];

		ch->hook_prio = hook_prio(ch);
		if (!ch->base || ch->forward || ch->dormant)
			continue;
		p->hooks[ch->hook][p->nhook[ch->hook]++] = i;
		p->nat_chains |= ch->nat;
	}
	p->idle = true;
	for (int h = 0; h < FN_NFT_NHOOKS; h++)
		p->idle &= !p->nhook[h];
	sort_prog = p;
	for (int h = 0; h < FN_NFT_NHOOKS; h++)
		qsort(p->hooks[h], p->nhook[h], sizeof(uint32_t), hook_cmp);
	sort_prog = NULL;
	return 0;
}

/* ---- kept verdicts (docs/nft-eval.md, "A flow's verdict, kept") -------- */

/* What an op reads is the same for every packet of a TCP or UDP flow in
 * one direction, judged at one hook, and it acts on nothing: registers,
 * the program's constants and sets (a set changes only with a new
 * program), the IPv4 protocol and addresses (offsets 9 and 12 to 19,
 * whatever the header's length), the ports (the transport header's
 * first 4 bytes), the protocol metas, and the ct state (kept only for
 * ESTABLISHED).  Any other op varies: 1. */
uint8_t nfe_op_vary(const struct nfe_op *op)
{
	switch (op->type) {
	case OP_CMP:
	case OP_CMP_FAST:
	case OP_BITWISE:
	case OP_SHIFT:
	case OP_BYTEORDER:
	case OP_RANGE:
	case OP_IMM_DATA:
	case OP_IMM_VERDICT:
	case OP_LOOKUP:
	case OP_CT_STATE:
		return 0;
	case OP_PAYLOAD:
		if (op->sub == NFT_PAYLOAD_NETWORK_HEADER)
			return !((op->arg == 9 && op->len == 1) ||
				 (op->arg >= 12 && op->arg + op->len <= 20));
		if (op->sub == NFT_PAYLOAD_TRANSPORT_HEADER)
			return op->arg + op->len > 4;
		return 1;
	case OP_META:
		return op->sub != NFT_META_NFPROTO &&
		       op->sub != NFT_META_L4PROTO &&
		       op->sub != NFT_META_PROTOCOL;
	default:
		return 1;
	}
}

/* Every op's vary; where a flow's verdict may be kept: a path whose first
 * hook runs conntrack before any chain (none at or before
 * NF_IP_PRI_CONNTRACK), without nat chains (which rewrite packets). */
static void vary_build(struct fn_nft_prog *p)
{
	static const enum fn_nft_hook first[2] = {
		FN_NFT_PREROUTING, FN_NFT_OUTPUT,
	};

	for (uint32_t i = 0; i < p->nops; i++)
		p->ops[i].vary = nfe_op_vary(&p->ops[i]);
	for (uint32_t i = 0; i < p->nruns; i++)
		p->runs[i].load.vary = nfe_op_vary(&p->runs[i].load);
	for (int k = 0; k < 2; k++) {
		bool ok = p->uses_ct && !p->nat_chains;

		for (uint32_t i = 0; ok && i < p->nhook[first[k]]; i++)
			ok = p->chains[p->hooks[first[k]][i]].prio >
			     NFE_CT_PRIO;
		p->vc_ok[k] = ok;
	}
}

/* ---- carry-over ---------------------------------------------------------- */

struct skey {
	uint8_t family;
	const char *table, *chain;
	uint64_t handle;
	uint32_t expr;
};

/* An object's key: its name for the chain's and its type, from the top,
 * for the expression index (handles are the table's: no rule has it). */
static struct skey state_key(const struct fn_nft_prog *p, uint32_t i)
{
	const struct nfe_state *s = &p->states[i];
	const struct nfe_chain *ch;

	if (s->obj) {
		const struct nfe_obj *o = &p->objs[s->obj - 1];

		return (struct skey){ o->family, o->table, o->name, o->handle,
				      UINT32_MAX - o->type };
	}
	ch = &p->chains[s->chain];
	return (struct skey){ ch->family, ch->table, ch->name, s->handle,
			      s->expr };
}

static int skey_cmp(const struct skey *a, const struct skey *b)
{
	int d;

	if (a->handle != b->handle)
		return a->handle < b->handle ? -1 : 1;
	if (a->expr != b->expr)
		return a->expr < b->expr ? -1 : 1;
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	d = strcmp(a->table, b->table);
	return d ? d : strcmp(a->chain, b->chain);
}

static int order_cmp(const void *a, const void *b)
{
	struct skey x = state_key(sort_prog, *(const uint32_t *)a);
	struct skey y = state_key(sort_prog, *(const uint32_t *)b);

	return skey_cmp(&x, &y);
}

static const struct nfe_state *state_find(const struct fn_nft_prog *p,
					  const struct skey *k)
{
	uint32_t lo = 0, hi = p->nstates;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		struct skey m = state_key(p, p->state_order[mid]);
		int d = skey_cmp(&m, k);

		if (!d)
			return &p->states[p->state_order[mid]];
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int states_carry(struct fn_nft_prog *p, const struct fn_nft_prog *old)
{
	p->state_order = calloc(p->nstates + 1, sizeof(uint32_t));
	if (!p->state_order)
		return -ENOMEM;
	for (uint32_t i = 0; i < p->nstates; i++)
		p->state_order[i] = i;
	sort_prog = p;
	qsort(p->state_order, p->nstates, sizeof(uint32_t), order_cmp);
	sort_prog = NULL;
	if (!old)
		return 0;
	for (uint32_t i = 0; i < p->nstates; i++) {
		struct nfe_state *s = &p->states[i];
		struct skey k = state_key(p, i);
		const struct nfe_state *o = state_find(old, &k);

		if (!o || o->kind != s->kind)
			continue;
		if (s->kind == ST_COUNTER || s->kind == ST_QUOTA) {
			s->a = o->a;
			if (s->kind == ST_COUNTER)
				s->b = o->b;
		} else if (o->rate == s->rate && o->nsecs == s->nsecs &&
			   o->tokens_max == s->tokens_max) {
			s->a = o->a;
			s->b = o->b;
		}
	}
	return 0;
}

/* ---- entry points -------------------------------------------------------- */

struct fn_nft_prog *fn_nft_compile(const struct fn_nft_ruleset *rs,
				   const struct fn_nft_prog *old,
				   int *err_out, char *msg, size_t msglen)
{
	struct fn_nft_prog *p = aligned_alloc(_Alignof(struct fn_nft_prog),
					      sizeof(*p));
	struct nfe_cctx c = { .rs = rs, .p = p, .chain = UINT32_MAX,
			     .msg = msg, .msglen = msglen };
	int err = -ENOMEM;

	if (msg && msglen)
		msg[0] = 0;
	if (!p)
		goto fail;
	memset(p, 0, sizeof(*p));
	for (uint32_t i = 0; i < rs->ntables; i++) {
		err = table_compile(&c, rs->tables[i]);
		if (err)
			goto fail;
	}
	err = graph_check(&c);
	if (!err)
		err = hooks_build(p);
	if (!err)
		vary_build(p);
	if (!err)
		err = states_carry(p, old);
	if (err)
		goto fail;
	p->log_tokens = 20;
	if (getrandom(&p->rnd, sizeof(p->rnd), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(p->rnd))
		p->rnd = (uint32_t)time(NULL);
	p->rnd |= 1;	/* xorshift32 never leaves 0 */
	return p;
fail:
	if (err == -ENOMEM && msg && msglen && !msg[0])
		snprintf(msg, msglen, "out of memory");
	fn_nft_prog_free(p);
	*err_out = err;
	return NULL;
}

void fn_nft_prog_free(struct fn_nft_prog *p)
{
	if (!p)
		return;
	for (uint32_t i = 0; i < p->nchains; i++) {
		free(p->chains[i].table);
		free(p->chains[i].name);
	}
	for (uint32_t i = 0; i < p->nsets; i++)
		nfe_set_fini(&p->sets[i]);
	for (uint32_t i = 0; i < p->nobjs; i++) {
		free(p->objs[i].table);
		free(p->objs[i].name);
	}
	free(p->objs);
	nfe_index_fini(p);
	for (uint32_t i = 0; i < p->nlogs; i++)
		free(p->logs[i]);
	for (int h = 0; h < FN_NFT_NHOOKS; h++)
		free(p->hooks[h]);
	free(p->logs);
	free(p->ops);
	free(p->rules);
	free(p->chains);
	free(p->states);
	free(p->sets);
	free(p->pool);
	free(p->state_order);
	free(p);
}

int fn_nft_expr_state(const struct fn_nft_prog *p,
		      const struct nftnl_rule *r, unsigned expr_index,
		      uint64_t *packets, uint64_t *bytes)
{
	struct skey k;
	const struct nfe_state *s;

	if (!p || !p->state_order ||
	    !nftnl_rule_is_set(r, NFTNL_RULE_TABLE) ||
	    !nftnl_rule_is_set(r, NFTNL_RULE_CHAIN))
		return -ENOENT;
	k.family = (uint8_t)nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY);
	k.table = nftnl_rule_get_str(r, NFTNL_RULE_TABLE);
	k.chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
	k.handle = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE);
	k.expr = expr_index;
	s = state_find(p, &k);
	if (!s || s->kind == ST_LIMIT)
		return -ENOENT;
	*packets = s->kind == ST_COUNTER ? s->a : 0;
	*bytes = s->kind == ST_COUNTER ? s->b : s->a;
	/* a quota counts on past its limit, but the kernel's dump shows no
	 * more than the limit (nft_quota_do_dump) */
	if (s->kind == ST_QUOTA && *bytes > s->b)
		*bytes = s->b;
	return 0;
}

int fn_nft_obj_state(struct fn_nft_prog *p, uint32_t family,
		     const char *table, uint32_t type, const char *name,
		     uint64_t handle, bool reset, uint64_t *packets,
		     uint64_t *bytes)
{
	struct skey k = { (uint8_t)family, table, name, handle,
			  UINT32_MAX - type };
	struct nfe_state *s;

	if (!p || !p->state_order || !table || !name)
		return -ENOENT;
	s = (struct nfe_state *)state_find(p, &k);
	if (!s || !s->obj || s->kind == ST_LIMIT)
		return -ENOENT;
	*packets = s->kind == ST_COUNTER ? s->a : 0;
	*bytes = s->kind == ST_COUNTER ? s->b : s->a;
	if (reset) {
		s->a = 0;
		if (s->kind == ST_COUNTER)
			s->b = 0;
	}
	return 0;
}
