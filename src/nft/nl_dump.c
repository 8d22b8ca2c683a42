/*
 * nl_dump.c - GETTABLE, GETCHAIN, GETRULE, GETSET, GETSETELEM (dump or
 * one object), GETOBJ, GETOBJ_RESET and GETFLOWTABLE (always empty: not
 * supported), as
 * the kernel answers them: NLM_F_MULTI messages in creation order, then
 * NLMSG_DONE; every reply's res_id is the generation's low 16 bits, which
 * nft compares with GETGEN's to detect a ruleset that changed under it.
 * Rule dumps carry the live counter and quota values of the committed
 * program (fn_nft_expr_state), object dumps the objects' (fn_nft_obj_state;
 * GETOBJ_RESET zeroes them once read, as nft_counter_reset and
 * nft_quota_do_dump with reset do).  Elements go out in messages whose element
 * list stays under 64 KiB (libnftnl's iterator), as nla_len demands.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "nl.h"

struct dctx {
	struct nl_server *srv;
	struct nl_out *out;
	uint32_t seq, family;
	uint16_t flags;			/* NLM_F_MULTI for a dump */
	const char *table, *chain;	/* filters, NULL: any */
	const struct nlmsghdr *req;	/* the request */
	uint32_t otype;			/* objects: NFT_OBJECT_*, 0: any */
	bool reset;			/* GETOBJ_RESET */
};

static struct nlmsghdr *msg_begin(struct dctx *d, uint16_t type,
				  uint32_t family)
{
	char *buf = nl_out_room(d->out);
	struct nlmsghdr *nlh;
	struct nfgenmsg *g;

	if (!buf)
		return NULL;
	nlh = nftnl_nlmsg_build_hdr(buf, type, (uint16_t)family, d->flags,
				    d->seq);
	g = mnl_nlmsg_get_payload(nlh);
	g->res_id = htons(nl_res_id(d->srv));
	return nlh;
}

static void msg_end(struct dctx *d, struct nlmsghdr *nlh)
{
	d->out->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

static bool family_ok(const struct dctx *d, uint32_t f)
{
	return d->family == NFPROTO_UNSPEC || d->family == f;
}

static bool table_ok(const struct dctx *d, const struct fn_nft_table *t)
{
	return family_ok(d, nftnl_table_get_u32(t->nl, NFTNL_TABLE_FAMILY)) &&
	       (!d->table ||
		!strcmp(d->table, nftnl_table_get_str(t->nl, NFTNL_TABLE_NAME)));
}

static int put_table(struct dctx *d, const struct fn_nft_table *t)
{
	struct nlmsghdr *nlh = msg_begin(d, NFT_MSG_NEWTABLE,
		nftnl_table_get_u32(t->nl, NFTNL_TABLE_FAMILY));

	if (!nlh)
		return -ENOMEM;
	nftnl_table_nlmsg_build_payload(nlh, t->nl);
	mnl_attr_put_u32(nlh, NFTA_TABLE_USE, htonl(t->nchains));
	msg_end(d, nlh);
	return 0;
}

static int put_chain(struct dctx *d, const struct fn_nft_chain *c)
{
	struct nlmsghdr *nlh = msg_begin(d, NFT_MSG_NEWCHAIN,
		nftnl_chain_get_u32(c->nl, NFTNL_CHAIN_FAMILY));

	if (!nlh)
		return -ENOMEM;
	nftnl_chain_nlmsg_build_payload(nlh, c->nl);
	msg_end(d, nlh);
	return 0;
}

struct live {
	const struct fn_nft_prog *prog;
	const struct nftnl_rule *r;
	unsigned i;
};

/* Counters and quotas as the committed program counted them. */
static int live_expr(struct nftnl_expr *e, void *data)
{
	struct live *l = data;
	const char *n = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	uint64_t pk, by;

	if (l->prog && fn_nft_expr_state(l->prog, l->r, l->i, &pk, &by) == 0) {
		if (!strcmp(n, "counter")) {
			nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_PACKETS, pk);
			nftnl_expr_set_u64(e, NFTNL_EXPR_CTR_BYTES, by);
		} else if (!strcmp(n, "quota")) {
			nftnl_expr_set_u64(e, NFTNL_EXPR_QUOTA_CONSUMED, by);
		}
	}
	l->i++;
	return 0;
}

/* The first objref object or set name of rule message nlh without its
 * NUL, and the nests around it (expression list, expression, data). */
static struct nlattr *objref_unterminated(struct nlmsghdr *nlh,
					  struct nlattr *up[3])
{
	struct nlattr *list, *x, *d, *a;

	mnl_attr_for_each(list, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(list) != NFTA_RULE_EXPRESSIONS)
			continue;
		mnl_attr_for_each_nested(x, list) {
			bool objref = false;

			mnl_attr_for_each_nested(d, x) {
				if (mnl_attr_get_type(d) == NFTA_EXPR_NAME)
					objref = !strcmp(mnl_attr_get_str(d),
							 "objref");
				if (!objref || mnl_attr_get_type(d) != NFTA_EXPR_DATA)
					continue;
				mnl_attr_for_each_nested(a, d) {
					uint16_t t = mnl_attr_get_type(a);
					uint16_t len = mnl_attr_get_payload_len(a);

					if ((t != NFTA_OBJREF_IMM_NAME &&
					     t != NFTA_OBJREF_SET_NAME) ||
					    (len && !((const char *)
					      mnl_attr_get_payload(a))[len - 1]))
						continue;
					up[0] = list;
					up[1] = x;
					up[2] = d;
					return a;
				}
			}
		}
	}
	return NULL;
}

/* libnftnl 1.2.4 puts an objref's names without their NUL; the kernel's
 * nla_put_string() ends them with one, and nft's parser (libnftnl's
 * strdup()) needs it: add it, in the padding, or in 4 more bytes (the
 * message has NL_MSG_ROOM). */
static void objref_terminate(struct nlmsghdr *nlh)
{
	struct nlattr *up[3], *a;

	while ((a = objref_unterminated(nlh, up))) {
		uint16_t len = a->nla_len;
		char *end = (char *)a + MNL_ALIGN(len);

		if (MNL_ALIGN(len) == len) {
			if (nlh->nlmsg_len + MNL_ALIGNTO > NL_MSG_ROOM)
				return;
			memmove(end + MNL_ALIGNTO, end,
				(size_t)((char *)nlh + nlh->nlmsg_len - end));
			memset(end, 0, MNL_ALIGNTO);
			nlh->nlmsg_len += MNL_ALIGNTO;
			for (int i = 0; i < 3; i++)
				up[i]->nla_len += MNL_ALIGNTO;
		}
		((char *)a)[len] = '\0';
		a->nla_len = (uint16_t)(len + 1);
	}
}

static int put_rule(struct dctx *d, struct nftnl_rule *r)
{
	struct nlmsghdr *nlh = msg_begin(d, NFT_MSG_NEWRULE,
		nftnl_rule_get_u32(r, NFTNL_RULE_FAMILY));
	struct live l = { d->srv->prog, r, 0 };

	if (!nlh)
		return -ENOMEM;
	nftnl_expr_foreach(r, live_expr, &l);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	objref_terminate(nlh);
	msg_end(d, nlh);
	return 0;
}

static int put_set(struct dctx *d, const struct fn_nft_set *s)
{
	struct nlmsghdr *nlh = msg_begin(d, NFT_MSG_NEWSET,
		nftnl_set_get_u32(s->nl, NFTNL_SET_FAMILY));

	if (!nlh)
		return -ENOMEM;
	nftnl_set_nlmsg_build_payload(nlh, s->nl);
	msg_end(d, nlh);
	return 0;
}

static int put_elems(struct dctx *d, const struct fn_nft_set *s)
{
	struct nftnl_set_elems_iter *it = nftnl_set_elems_iter_create(s->nl);
	int more = 1;

	if (!it)
		return -ENOMEM;
	while (more > 0) {
		struct nlmsghdr *nlh = msg_begin(d, NFT_MSG_NEWSETELEM,
			nftnl_set_get_u32(s->nl, NFTNL_SET_FAMILY));

		if (!nlh) {
			nftnl_set_elems_iter_destroy(it);
			return -ENOMEM;
		}
		uint32_t before = nlh->nlmsg_len;

		more = nftnl_set_elems_nlmsg_build_payload_iter(nlh, it);
		nl_elems_normalize(nlh);	/* as the kernel numbers them */
		msg_end(d, nlh);
		/* an element that fits in no message would loop for ever:
		 * elements are bounded at the door, this is a second fence */
		if (more > 0 && nlh->nlmsg_len <= before + MNL_ATTR_HDRLEN)
			break;
	}
	nftnl_set_elems_iter_destroy(it);
	return 0;
}

/* An object, with its live state (nf_tables_fill_obj_info): a quota
 * lists at most its bytes as consumed, and NFT_QUOTA_F_DEPLETED in its
 * flags once they are all used (nft_quota_do_dump). */
static int put_obj(struct dctx *d, const struct fn_nft_obj *o)
{
	struct nftnl_obj *nl = o->nl;
	uint32_t type = nftnl_obj_get_u32(nl, NFTNL_OBJ_TYPE);
	uint32_t family = nftnl_obj_get_u32(nl, NFTNL_OBJ_FAMILY), flags = 0;
	struct nlmsghdr *nlh = msg_begin(d, NFT_MSG_NEWOBJ, family);
	uint64_t pk = 0, by = 0, quota = 0;
	bool live;

	if (!nlh)
		return -ENOMEM;
	live = fn_nft_obj_state(d->srv->prog, family,
				nftnl_obj_get_str(nl, NFTNL_OBJ_TABLE), type,
				nftnl_obj_get_str(nl, NFTNL_OBJ_NAME),
				nftnl_obj_get_u64(nl, NFTNL_OBJ_HANDLE),
				d->reset, &pk, &by) == 0;
	if (live && type == NFT_OBJECT_COUNTER) {
		nftnl_obj_set_u64(nl, NFTNL_OBJ_CTR_PKTS, pk);
		nftnl_obj_set_u64(nl, NFTNL_OBJ_CTR_BYTES, by);
	} else if (live && type == NFT_OBJECT_QUOTA) {
		quota = nftnl_obj_get_u64(nl, NFTNL_OBJ_QUOTA_BYTES);
		if (nftnl_obj_is_set(nl, NFTNL_OBJ_QUOTA_FLAGS))
			flags = nftnl_obj_get_u32(nl, NFTNL_OBJ_QUOTA_FLAGS);
		nftnl_obj_set_u64(nl, NFTNL_OBJ_QUOTA_CONSUMED,
				  by < quota ? by : quota);
		nftnl_obj_set_u32(nl, NFTNL_OBJ_QUOTA_FLAGS, flags |
				  (by >= quota ? NFT_QUOTA_F_DEPLETED : 0));
	}
	nftnl_obj_nlmsg_build_payload(nlh, nl);
	if (live && type == NFT_OBJECT_QUOTA)	/* the model keeps its own */
		nftnl_obj_set_u32(nl, NFTNL_OBJ_QUOTA_FLAGS, flags);
	msg_end(d, nlh);
	return 0;
}

static int walk_objs(struct dctx *d, const struct fn_nft_table *t)
{
	int err = 0;

	for (uint32_t j = 0; j < t->nobjs && !err; j++)
		if (!d->otype || nftnl_obj_get_u32(t->objs[j].nl,
						   NFTNL_OBJ_TYPE) == d->otype)
			err = put_obj(d, &t->objs[j]);
	return err;
}

/* ---- walks ---------------------------------------------------------------- */

static int walk(struct dctx *d, uint16_t type)
{
	const struct fn_nft_ruleset *rs = &d->srv->rs;
	int err = 0;

	for (uint32_t i = 0; i < rs->ntables && !err; i++) {
		const struct fn_nft_table *t = rs->tables[i];

		if (!table_ok(d, t))
			continue;
		if (type == NFT_MSG_GETTABLE)
			err = put_table(d, t);
		if (type == NFT_MSG_GETOBJ || type == NFT_MSG_GETOBJ_RESET)
			err = walk_objs(d, t);
		for (uint32_t j = 0; type == NFT_MSG_GETCHAIN && !err &&
		     j < t->nchains; j++)
			if (!d->chain || !strcmp(d->chain, nftnl_chain_get_str(
					t->chains[j]->nl, NFTNL_CHAIN_NAME)))
				err = put_chain(d, t->chains[j]);
		for (uint32_t j = 0; type == NFT_MSG_GETSET && !err &&
		     j < t->nsets; j++)
			err = put_set(d, t->sets[j]);
		for (uint32_t j = 0; type == NFT_MSG_GETRULE && !err &&
		     j < t->nchains; j++) {
			const struct fn_nft_chain *c = t->chains[j];

			if (d->chain && strcmp(d->chain, nftnl_chain_get_str(
					c->nl, NFTNL_CHAIN_NAME)))
				continue;
			for (uint32_t k = 0; k < c->nrules && !err; k++)
				err = put_rule(d, c->rules[k]);
		}
	}
	return err;
}

static int put_done(struct dctx *d)
{
	char *buf = nl_out_room(d->out);
	struct nlmsghdr *nlh;
	int zero = 0;

	if (!buf)
		return -ENOMEM;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NLMSG_DONE;
	nlh->nlmsg_flags = NLM_F_MULTI;
	nlh->nlmsg_seq = d->seq;
	memcpy(mnl_nlmsg_put_extra_header(nlh, sizeof(zero)), &zero,
	       sizeof(zero));
	d->out->len += NLMSG_ALIGN(nlh->nlmsg_len);
	return 0;
}

/* The request's filters: table, and the chain (rules, chains) or set
 * (sets, elements) named.  Strings point into the request message. */
static int parse_filter(struct dctx *d, const struct nlmsghdr *nlh,
			uint16_t type)
{
	static const uint16_t names[][3] = {
		/* type              table attr        name attr */
		{ NFT_MSG_GETTABLE, NFTA_TABLE_NAME, 0 },
		{ NFT_MSG_GETCHAIN, NFTA_CHAIN_TABLE, NFTA_CHAIN_NAME },
		{ NFT_MSG_GETRULE, NFTA_RULE_TABLE, NFTA_RULE_CHAIN },
		{ NFT_MSG_GETSET, NFTA_SET_TABLE, NFTA_SET_NAME },
		{ NFT_MSG_GETSETELEM, NFTA_SET_ELEM_LIST_TABLE,
		  NFTA_SET_ELEM_LIST_SET },
		{ NFT_MSG_GETOBJ, NFTA_OBJ_TABLE, NFTA_OBJ_NAME },
		{ NFT_MSG_GETOBJ_RESET, NFTA_OBJ_TABLE, NFTA_OBJ_NAME },
	};
	const struct nlattr *a;

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (names[i][0] != type)
			continue;
		mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
			uint16_t at = mnl_attr_get_type(a);
			const char **dst = at == names[i][1] ? &d->table :
					   (names[i][2] && at == names[i][2]) ?
					   &d->chain : NULL;

			if (!dst && (type == NFT_MSG_GETOBJ ||
				     type == NFT_MSG_GETOBJ_RESET) &&
			    at == NFTA_OBJ_TYPE) {
				if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
					return -EINVAL;
				d->otype = ntohl(mnl_attr_get_u32(a));
			}
			if (!dst)
				continue;
			if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
				return -EINVAL;
			*dst = mnl_attr_get_str(a);
		}
	}
	return 0;
}

static int dump_elems(struct dctx *d)
{
	const struct fn_nft_table *t = NULL;
	const struct fn_nft_set *s = NULL;

	if (!d->table || !d->chain)
		return -EINVAL;
	for (uint32_t i = 0; i < d->srv->rs.ntables && !t; i++)
		if (table_ok(d, d->srv->rs.tables[i]))
			t = d->srv->rs.tables[i];
	if (t)
		s = nl_set_find(t, d->chain);
	return s ? put_elems(d, s) : -ENOENT;
}

/* ---- get element ---------------------------------------------------------- */

/*
 * `nft get element`: a GETSETELEM without NLM_F_DUMP names elements; the
 * kernel (nft_get_set_elem) answers each with one NEWSETELEM holding the
 * element it finds, or fails with ENOENT.  A hash set finds the same key
 * (and a catch-all request the catch-all element); an interval set, as
 * nft_rbtree_get in the order (key, ends before starts): the start with
 * that key, else the closest element below it if that is a start and no
 * end has the key; an end request, the end with that key, else the
 * closest element above it if that is an end.  nft 1.0.6 sends the key
 * alone and widens the start it gets back to the interval from its cache.
 */
struct elem_get {
	const void *key;
	uint32_t klen, flags;
	bool interval;
	struct nftnl_set_elem *hit, *near;
	bool end_at_key;
};

static uint32_t elem_flags(struct nftnl_set_elem *e)
{
	return nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS) ?
	       nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) : 0;
}

/* Order of the set's elements: key, then an end before a start. */
static int elem_cmp(struct nftnl_set_elem *a, struct nftnl_set_elem *b)
{
	uint32_t la = 0, lb = 0;
	const void *ka = nftnl_set_elem_get(a, NFTNL_SET_ELEM_KEY, &la);
	const void *kb = nftnl_set_elem_get(b, NFTNL_SET_ELEM_KEY, &lb);
	int d = memcmp(ka, kb, la < lb ? la : lb);

	if (d)
		return d;
	return !(elem_flags(a) & NFT_SET_ELEM_INTERVAL_END) -
	       !(elem_flags(b) & NFT_SET_ELEM_INTERVAL_END);
}

static int elem_match(struct nftnl_set_elem *e, void *data)
{
	struct elem_get *g = data;
	uint32_t f = elem_flags(e), len = 0;
	bool end = f & NFT_SET_ELEM_INTERVAL_END;
	bool want_end = g->flags & NFT_SET_ELEM_INTERVAL_END;
	const void *k;
	int d;

	if ((f ^ g->flags) & NFT_SET_ELEM_CATCHALL) {
		return 0;
	} else if (f & NFT_SET_ELEM_CATCHALL) {
		g->hit = e;
		return 0;
	}
	k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
	if (!k || len != g->klen)
		return 0;
	d = memcmp(k, g->key, len);
	if (d == 0 && end == want_end)
		g->hit = e;
	else if (!g->interval)
		return 0;
	else if (!want_end && d == 0)
		g->end_at_key = true;
	else if (!want_end && d < 0 && (!g->near || elem_cmp(e, g->near) > 0))
		g->near = e;
	else if (want_end && d > 0 && (!g->near || elem_cmp(e, g->near) < 0))
		g->near = e;
	return 0;
}

/* One NEWSETELEM with element e of set s. */
static int put_one_elem(struct dctx *d, const struct fn_nft_set *s,
			struct nftnl_set_elem *e)
{
	struct nlmsghdr *nlh = msg_begin(d, NFT_MSG_NEWSETELEM,
		nftnl_set_get_u32(s->nl, NFTNL_SET_FAMILY));
	struct nlattr *list, *one;

	if (!nlh)
		return -ENOMEM;
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE,
			  nftnl_set_get_str(s->nl, NFTNL_SET_TABLE));
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET,
			  nftnl_set_get_str(s->nl, NFTNL_SET_NAME));
	list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
	one = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
	nftnl_set_elem_nlmsg_build_payload(nlh, e);
	mnl_attr_nest_end(nlh, one);
	mnl_attr_nest_end(nlh, list);
	msg_end(d, nlh);
	return 0;
}

struct get_ctx {
	struct dctx *d;
	const struct fn_nft_set *s;
	int err;
};

static int get_elem(struct nftnl_set_elem *want, void *data)
{
	struct get_ctx *c = data;
	struct nftnl_set *set = c->s->nl;
	struct elem_get g = { .flags = elem_flags(want) };
	struct nftnl_set_elem *e;

	g.interval = nftnl_set_get_u32(set, NFTNL_SET_FLAGS) & NFT_SET_INTERVAL;
	g.key = nftnl_set_elem_get(want, NFTNL_SET_ELEM_KEY, &g.klen);
	if (!g.key && !(g.flags & NFT_SET_ELEM_CATCHALL)) {
		c->err = -EINVAL;
		return -1;
	}
	nftnl_set_elem_foreach(set, elem_match, &g);
	e = g.hit;
	if (!e && g.near && !g.end_at_key &&
	    !(elem_flags(g.near) & NFT_SET_ELEM_INTERVAL_END) ==
	    !(g.flags & NFT_SET_ELEM_INTERVAL_END))
		e = g.near;
	c->err = e ? put_one_elem(c->d, c->s, e) : -ENOENT;
	return c->err ? -1 : 0;
}

static int count_elem(struct nftnl_set_elem *e, void *data)
{
	(void)e;
	++*(unsigned *)data;
	return 0;
}

/* The elements of request d->req (parsed into want, nests normalized)
 * and the set they name (table d->table, set d->chain): 0, -EINVAL for
 * no elements, -ENOENT for no such set. */
static int req_elems(struct dctx *d, struct nftnl_set *want,
		     const struct fn_nft_set **s)
{
	const struct fn_nft_table *t = NULL;
	unsigned n = 0;
	int err;

	/* what libnftnl will read, checked as for NEWSETELEM (nl_validate.c;
	 * fuzz_nft_netlink found the unchecked copy read past its end) */
	if (nl_validate(d->req, NULL) < 0)
		return -EINVAL;
	err = nl_parse_elems(d->req, want);
	if (err == -ENOMEM)
		return err;
	if (err < 0 || nftnl_set_elem_foreach(want, count_elem, &n) < 0 ||
	    n == 0 || !d->table || !d->chain)
		return -EINVAL;
	for (uint32_t i = 0; i < d->srv->rs.ntables && !t; i++)
		if (table_ok(d, d->srv->rs.tables[i]))
			t = d->srv->rs.tables[i];
	*s = t ? nl_set_find(t, d->chain) : NULL;
	return *s ? 0 : -ENOENT;
}

static int get_elems(struct dctx *d)
{
	struct nftnl_set *want = nftnl_set_alloc();
	struct get_ctx c = { d, NULL, -ENOMEM };

	if (want)
		c.err = req_elems(d, want, &c.s);
	if (c.err == 0)
		nftnl_set_elem_foreach(want, get_elem, &c);
	if (want)
		nftnl_set_free(want);
	return c.err;
}

/* nf_tables_getobj: the object of that table, type and name. */
static int get_obj(struct dctx *d)
{
	const struct fn_nft_table *t = NULL;
	int i;

	if (!d->chain || !d->otype)
		return -EINVAL;
	for (uint32_t k = 0; k < d->srv->rs.ntables && !t; k++)
		if (table_ok(d, d->srv->rs.tables[k]))
			t = d->srv->rs.tables[k];
	i = t ? nl_obj_find(t, d->otype, d->chain) : -1;
	return i >= 0 ? put_obj(d, &t->objs[i]) : -ENOENT;
}

/* A GET without NLM_F_DUMP: the one object, or -ENOENT. */
static int get_one(struct dctx *d, uint16_t type)
{
	size_t before = d->out->len;
	int err;

	if (!d->table)
		return -EINVAL;
	if (type == NFT_MSG_GETOBJ || type == NFT_MSG_GETOBJ_RESET)
		return get_obj(d);
	if (type == NFT_MSG_GETSETELEM)	/* the kernel: no list, EINVAL */
		return d->chain ? get_elems(d) : -EINVAL;
	if (type == NFT_MSG_GETSET) {
		/* one set: walk, keeping the named one */
		const char *want = d->chain;

		if (!want)
			return -EINVAL;
		for (uint32_t i = 0; i < d->srv->rs.ntables; i++) {
			const struct fn_nft_table *t = d->srv->rs.tables[i];
			const struct fn_nft_set *s;

			if (table_ok(d, t) && (s = nl_set_find(t, want)))
				return put_set(d, s);
		}
		return -ENOENT;
	}
	err = walk(d, type);
	if (!err && d->out->len == before)
		err = -ENOENT;
	return err;
}

int nl_dump(struct nl_server *srv, const struct nlmsghdr *nlh,
	    struct nl_out *out)
{
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	uint16_t type = NFNL_MSG_TYPE(nlh->nlmsg_type);
	bool dump = (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
	struct dctx d = { srv, out, nlh->nlmsg_seq, g->nfgen_family,
			  dump ? NLM_F_MULTI : 0, NULL, NULL, nlh, 0,
			  type == NFT_MSG_GETOBJ_RESET };
	size_t mark = out->len;
	int err;

	err = parse_filter(&d, nlh, type);
	if (err < 0)
		goto out;
	/* no flowtables can exist */
	if (type == NFT_MSG_GETFLOWTABLE)
		err = dump ? 0 : -ENOENT;
	else if (!dump)
		err = get_one(&d, type);
	else if (type == NFT_MSG_GETSETELEM)
		err = dump_elems(&d);
	else
		err = walk(&d, type);
	if (!err && dump)
		err = put_done(&d);
out:
	if (err < 0)
		out->len = mark;	/* an error replaces a partial dump */
	if (out->oom)
		err = -ENOMEM;
	return err;
}

/* ---- echo ------------------------------------------------------------------ */

/*
 * NLM_F_ECHO: after a commit, the object a batch message created, as the
 * kernel's notification tells it back to the sender (nft --echo prints
 * it, e.g. a new rule's handle).  chain names the chain (rules, chains)
 * or the set; handle the rule.  0, or -ENOENT when it is gone again.
 */
struct echo_ctx {
	struct dctx *d;
	const struct fn_nft_set *s;
	int err;
};

static int echo_elem(struct nftnl_set_elem *e, void *data)
{
	struct echo_ctx *c = data;

	c->err = put_one_elem(c->d, c->s, e);
	return c->err ? -1 : 0;
}

/*
 * NLM_F_ECHO on a NEWSETELEM: its elements, one NEWSETELEM each (an
 * interval's end one of its own), as the kernel notifies each element
 * of the transaction; nft joins an interval's two again.  req is the
 * request (alive until its batch is done).
 */
int nl_echo_elems(struct nl_server *srv, struct nl_out *out, uint16_t flags,
		  uint32_t seq, uint32_t family, const struct nlmsghdr *req)
{
	struct dctx d = { srv, out, seq, family, flags, NULL, NULL, req };
	struct nftnl_set *want = nftnl_set_alloc();
	struct echo_ctx c = { &d, NULL, -ENOMEM };
	int err = parse_filter(&d, req, NFT_MSG_GETSETELEM);

	if (want && err == 0)
		c.err = req_elems(&d, want, &c.s);
	if (want && err == 0 && c.err == 0)
		nftnl_set_elem_foreach(want, echo_elem, &c);
	if (want)
		nftnl_set_free(want);
	return err ? err : c.err;
}

int nl_echo(struct nl_server *srv, struct nl_out *out, uint16_t type,
	    uint16_t flags, uint32_t seq, uint32_t family, const char *table,
	    const char *name, uint64_t handle)
{
	struct dctx d = { srv, out, seq, family, flags, table, name };
	const struct fn_nft_table *t = NULL;
	const struct fn_nft_chain *c;
	const struct fn_nft_set *s;
	int k;

	for (uint32_t i = 0; i < srv->rs.ntables && !t; i++)
		if (table_ok(&d, srv->rs.tables[i]))
			t = srv->rs.tables[i];
	if (!t)
		return -ENOENT;
	switch (type) {
	case NFT_MSG_NEWTABLE:
		return put_table(&d, t);
	case NFT_MSG_NEWCHAIN:
		c = nl_chain_find(t, name);
		return c ? put_chain(&d, c) : -ENOENT;
	case NFT_MSG_NEWSET:
		s = nl_set_find(t, name);
		return s ? put_set(&d, s) : -ENOENT;
	case NFT_MSG_NEWRULE:
		c = nl_chain_find(t, name);
		k = c ? nl_rule_find(c, handle) : -1;
		return k >= 0 ? put_rule(&d, c->rules[k]) : -ENOENT;
	}
	return -ENOENT;
}
