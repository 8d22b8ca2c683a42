/*
 * nl_model.c - the ruleset model of the netlink server (nft.h, THE
 * RULESET MODEL) and the transaction a batch is applied to.
 *
 * A transaction copies the committed model's wrappers (tables, chains with
 * their rule arrays, sets), not the libnftnl objects: both models point at
 * the same objects until the batch changes one.  Rules are never changed
 * in place (replace = a new object); a table, chain or set that changes is
 * copied first.  Ownership of every libnftnl object is one of:
 *   - in the committed model only, or in both: the committed model's;
 *   - born in this transaction (tx->born): freed on abort;
 *   - dropped from the transaction but still in the committed model
 *     (tx->dead): freed on commit, after the new program is in place.
 * An object born and dropped in the same batch is freed at once.
 *
 * Called from the stack loop only.
 */
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
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>

#include "nl.h"

#define TOMB		((uintptr_t)1)
#define KIND_MASK	((uintptr_t)7)

/* ---- output buffer --------------------------------------------------------- */

char *nl_out_room(struct nl_out *out)
{
	if (out->oom)
		return NULL;
	if (out->cap - out->len < NL_MSG_ROOM) {
		size_t cap = out->cap ? out->cap : 4 * NL_MSG_ROOM;
		uint8_t *p;

		while (cap - out->len < NL_MSG_ROOM)
			cap *= 2;
		p = realloc(out->buf, cap);
		if (!p) {
			out->oom = true;
			return NULL;
		}
		out->buf = p;
		out->cap = cap;
	}
	memset(out->buf + out->len, 0, MNL_NLMSG_HDRLEN + 64);
	return (char *)out->buf + out->len;
}

void nl_out_free(struct nl_out *out)
{
	free(out->buf);
	memset(out, 0, sizeof(*out));
}

/* ---- pointer set ------------------------------------------------------------- */

static size_t ptr_hash(uintptr_t p)
{
	uint64_t x = (uint64_t)p * 0x9e3779b97f4a7c15ull;

	return (size_t)(x >> 17);
}

static int ps_grow(struct nl_ptrset *s)
{
	size_t cap = s->mask ? (s->mask + 1) * 2 : 64;
	uintptr_t *old = s->slot;
	size_t oldcap = s->mask ? s->mask + 1 : 0;

	s->slot = calloc(cap, sizeof(*s->slot));
	if (!s->slot) {
		s->slot = old;
		return -ENOMEM;
	}
	s->mask = cap - 1;
	s->used = 0;
	for (size_t i = 0; i < oldcap; i++) {
		if (old[i] > TOMB) {
			size_t j = ptr_hash(old[i] & ~KIND_MASK) & s->mask;

			while (s->slot[j])
				j = (j + 1) & s->mask;
			s->slot[j] = old[i];
			s->used++;
		}
	}
	free(old);
	return 0;
}

static int ps_add(struct nl_ptrset *s, uintptr_t v)
{
	size_t j;

	if ((s->used + 1) * 2 > s->mask + 1 && ps_grow(s) < 0)
		return -ENOMEM;
	j = ptr_hash(v & ~KIND_MASK) & s->mask;
	while (s->slot[j] > TOMB)
		j = (j + 1) & s->mask;
	s->slot[j] = v;
	s->used++;
	return 0;
}

/* Remove v if present; true if it was. */
static bool ps_del(struct nl_ptrset *s, uintptr_t v)
{
	if (!s->mask)
		return false;
	for (size_t j = ptr_hash(v & ~KIND_MASK) & s->mask; s->slot[j];
	     j = (j + 1) & s->mask) {
		if (s->slot[j] == v) {
			s->slot[j] = TOMB;
			return true;
		}
	}
	return false;
}

/* ---- object lifetime ---------------------------------------------------------- */

static void obj_free(uintptr_t v)
{
	void *p = (void *)(v & ~KIND_MASK);

	switch ((enum nl_kind)(v & KIND_MASK)) {
	case NL_K_TABLE: nftnl_table_free(p); break;
	case NL_K_CHAIN: nftnl_chain_free(p); break;
	case NL_K_RULE: nftnl_rule_free(p); break;
	case NL_K_SET: nftnl_set_free(p); break;
	case NL_K_OBJ: nftnl_obj_free(p); break;
	}
}

void nl_txn_born(struct nl_txn *tx, enum nl_kind k, void *obj)
{
	if (ps_add(&tx->born, (uintptr_t)obj | k) < 0) {
		/* Cannot track it: free it now is wrong (it is in the
		 * model); mark the batch failed so that abort frees the
		 * model's copy, and leak this one object rather than crash. */
		tx->oom = true;
	}
}

void nl_txn_drop(struct nl_txn *tx, enum nl_kind k, void *obj)
{
	uintptr_t v = (uintptr_t)obj | k;

	if (ps_del(&tx->born, v)) {
		obj_free(v);
		return;
	}
	if (tx->ndead == tx->cdead) {
		size_t c = tx->cdead ? tx->cdead * 2 : 64;
		uintptr_t *p = realloc(tx->dead, c * sizeof(*p));

		if (!p) {
			tx->oom = true;	/* the committed model keeps it */
			return;
		}
		tx->dead = p;
		tx->cdead = c;
	}
	tx->dead[tx->ndead++] = v;
}

/* ---- wrappers ------------------------------------------------------------------ */

static int grow(void **arr, uint32_t *cap, uint32_t need, size_t sz)
{
	uint32_t c = *cap ? *cap : 4;
	void *p;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	p = realloc(*arr, (size_t)c * sz);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

static void idx_free(struct nl_elem_index *x)
{
	free(x->slot);
	memset(x, 0, sizeof(*x));
}

static void chain_wrap_free(struct fn_nft_chain *c)
{
	free(c->rules);
	free(nl_chain_of(c));
}

static void set_wrap_free(struct fn_nft_set *s)
{
	idx_free(&nl_set_of(s)->idx);
	free(nl_set_of(s));
}

static void table_wrap_free(struct fn_nft_table *t)
{
	for (uint32_t i = 0; i < t->nchains; i++)
		chain_wrap_free(t->chains[i]);
	for (uint32_t i = 0; i < t->nsets; i++)
		set_wrap_free(t->sets[i]);
	free(t->chains);
	free(t->sets);
	free(t->objs);
	free(nl_table_of(t));
}

static void ruleset_wrap_free(struct fn_nft_ruleset *rs)
{
	for (uint32_t i = 0; i < rs->ntables; i++)
		table_wrap_free(rs->tables[i]);
	free(rs->tables);
	rs->tables = NULL;
	rs->ntables = rs->ctables = 0;
}

void nl_ruleset_free(struct fn_nft_ruleset *rs)
{
	for (uint32_t i = 0; i < rs->ntables; i++) {
		struct fn_nft_table *t = rs->tables[i];

		for (uint32_t j = 0; j < t->nchains; j++) {
			for (uint32_t k = 0; k < t->chains[j]->nrules; k++)
				nftnl_rule_free(t->chains[j]->rules[k]);
			nftnl_chain_free(t->chains[j]->nl);
		}
		for (uint32_t j = 0; j < t->nsets; j++)
			nftnl_set_free(t->sets[j]->nl);
		for (uint32_t j = 0; j < t->nobjs; j++)
			nftnl_obj_free(t->objs[j].nl);
		nftnl_table_free(t->nl);
	}
	ruleset_wrap_free(rs);
}

static struct fn_nft_chain *chain_wrap_copy(const struct fn_nft_chain *c)
{
	struct nl_chain *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->pub.nl = c->nl;
	if (c->nrules) {
		n->pub.rules = malloc(c->nrules * sizeof(*c->rules));
		if (!n->pub.rules) {
			free(n);
			return NULL;
		}
		memcpy(n->pub.rules, c->rules, c->nrules * sizeof(*c->rules));
	}
	n->pub.nrules = n->pub.crules = c->nrules;
	return &n->pub;
}

static struct fn_nft_set *set_wrap_copy(const struct fn_nft_set *s)
{
	struct nl_set *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->pub.nl = s->nl;
	n->bound_rule = nl_set_of((struct fn_nft_set *)s)->bound_rule;
	return &n->pub;
}

static struct fn_nft_table *table_wrap_copy(const struct fn_nft_table *t)
{
	struct nl_table *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->pub.nl = t->nl;
	n->next_handle = nl_table_of((struct fn_nft_table *)t)->next_handle;
	n->orig = nl_table_of((struct fn_nft_table *)t);
	n->anon_next = nl_table_of((struct fn_nft_table *)t)->anon_next;
	if (grow((void **)&n->pub.chains, &n->pub.cchains, t->nchains,
		 sizeof(void *)) < 0 ||
	    grow((void **)&n->pub.sets, &n->pub.csets, t->nsets,
		 sizeof(void *)) < 0 ||
	    grow((void **)&n->pub.objs, &n->pub.cobjs, t->nobjs,
		 sizeof(*t->objs)) < 0)
		goto err;
	if (t->nobjs)
		memcpy(n->pub.objs, t->objs, t->nobjs * sizeof(*t->objs));
	n->pub.nobjs = t->nobjs;
	for (; n->pub.nchains < t->nchains; n->pub.nchains++) {
		n->pub.chains[n->pub.nchains] =
			chain_wrap_copy(t->chains[n->pub.nchains]);
		if (!n->pub.chains[n->pub.nchains])
			goto err;
	}
	for (; n->pub.nsets < t->nsets; n->pub.nsets++) {
		n->pub.sets[n->pub.nsets] = set_wrap_copy(t->sets[n->pub.nsets]);
		if (!n->pub.sets[n->pub.nsets])
			goto err;
	}
	return &n->pub;
err:
	table_wrap_free(&n->pub);
	return NULL;
}

int nl_txn_begin(struct nl_txn *tx, const struct fn_nft_ruleset *rs)
{
	memset(tx, 0, sizeof(*tx));
	tx->rs.genid = rs->genid;
	tx->rs.next_handle = rs->next_handle;
	if (grow((void **)&tx->rs.tables, &tx->rs.ctables, rs->ntables,
		 sizeof(void *)) < 0)
		return -ENOMEM;
	for (; tx->rs.ntables < rs->ntables; tx->rs.ntables++) {
		tx->rs.tables[tx->rs.ntables] =
			table_wrap_copy(rs->tables[tx->rs.ntables]);
		if (!tx->rs.tables[tx->rs.ntables]) {
			ruleset_wrap_free(&tx->rs);
			return -ENOMEM;
		}
	}
	return 0;
}

static void txn_release(struct nl_txn *tx)
{
	free(tx->born.slot);
	free(tx->dead);
	free(tx->rule_ids);
}

void nl_txn_abort(struct nl_txn *tx, struct fn_nft_ruleset *committed)
{
	for (uint32_t i = 0; committed && i < tx->rs.ntables; i++) {
		struct nl_table *t = nl_table_of(tx->rs.tables[i]);

		if (t->orig && t->orig->next_handle < t->next_handle)
			t->orig->next_handle = t->next_handle;
	}
	if (committed && committed->next_handle < tx->rs.next_handle)
		committed->next_handle = tx->rs.next_handle;
	for (size_t i = 0; tx->born.mask && i <= tx->born.mask; i++)
		if (tx->born.slot[i] > TOMB)
			obj_free(tx->born.slot[i]);
	ruleset_wrap_free(&tx->rs);
	txn_release(tx);
	memset(tx, 0, sizeof(*tx));
}

void nl_txn_commit(struct nl_txn *tx, struct fn_nft_ruleset *committed)
{
	ruleset_wrap_free(committed);
	for (size_t i = 0; i < tx->ndead; i++)
		obj_free(tx->dead[i]);
	*committed = tx->rs;
	for (uint32_t i = 0; i < committed->ntables; i++) {
		struct fn_nft_table *t = committed->tables[i];

		nl_table_of(t)->fresh = false;
		nl_table_of(t)->orig = NULL;	/* the old model is gone */
		for (uint32_t j = 0; j < t->nchains; j++) {
			nl_chain_of(t->chains[j])->fresh = false;
			nl_chain_of(t->chains[j])->id = 0;
		}
		for (uint32_t j = 0; j < t->nsets; j++) {
			nl_set_of(t->sets[j])->fresh = false;
			nl_set_of(t->sets[j])->id = 0;
			idx_free(&nl_set_of(t->sets[j])->idx);
		}
	}
	txn_release(tx);
	memset(tx, 0, sizeof(*tx));
}

/* ---- lookups --------------------------------------------------------------------- */

struct fn_nft_table *nl_table_find(const struct fn_nft_ruleset *rs,
				   uint32_t family, const char *name)
{
	for (uint32_t i = 0; i < rs->ntables; i++) {
		struct nftnl_table *t = rs->tables[i]->nl;

		if (nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY) == family &&
		    !strcmp(nftnl_table_get_str(t, NFTNL_TABLE_NAME), name))
			return rs->tables[i];
	}
	return NULL;
}

struct fn_nft_table *nl_table_find_handle(const struct fn_nft_ruleset *rs,
					  uint32_t family, uint64_t handle)
{
	for (uint32_t i = 0; i < rs->ntables; i++) {
		struct nftnl_table *t = rs->tables[i]->nl;

		if (nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY) == family &&
		    nftnl_table_get_u64(t, NFTNL_TABLE_HANDLE) == handle)
			return rs->tables[i];
	}
	return NULL;
}

struct fn_nft_chain *nl_chain_find(const struct fn_nft_table *t,
				   const char *name)
{
	for (uint32_t i = 0; i < t->nchains; i++)
		if (!strcmp(nftnl_chain_get_str(t->chains[i]->nl,
						NFTNL_CHAIN_NAME), name))
			return t->chains[i];
	return NULL;
}

struct fn_nft_chain *nl_chain_find_handle(const struct fn_nft_table *t,
					  uint64_t handle)
{
	for (uint32_t i = 0; i < t->nchains; i++)
		if (nftnl_chain_get_u64(t->chains[i]->nl, NFTNL_CHAIN_HANDLE) ==
		    handle)
			return t->chains[i];
	return NULL;
}

struct fn_nft_chain *nl_chain_find_id(const struct fn_nft_table *t,
				      uint32_t id)
{
	for (uint32_t i = 0; id && i < t->nchains; i++)
		if (nl_chain_of(t->chains[i])->id == id)
			return t->chains[i];
	return NULL;
}

struct fn_nft_set *nl_set_find(const struct fn_nft_table *t, const char *name)
{
	for (uint32_t i = 0; i < t->nsets; i++)
		if (!strcmp(nftnl_set_get_str(t->sets[i]->nl, NFTNL_SET_NAME),
			    name))
			return t->sets[i];
	return NULL;
}

struct fn_nft_set *nl_set_find_handle(const struct fn_nft_table *t,
				      uint64_t handle)
{
	for (uint32_t i = 0; i < t->nsets; i++)
		if (nftnl_set_get_u64(t->sets[i]->nl, NFTNL_SET_HANDLE) == handle)
			return t->sets[i];
	return NULL;
}

struct fn_nft_set *nl_set_find_id(const struct fn_nft_table *t, uint32_t id)
{
	for (uint32_t i = 0; id && i < t->nsets; i++)
		if (nl_set_of(t->sets[i])->id == id)
			return t->sets[i];
	return NULL;
}

int nl_rule_find(const struct fn_nft_chain *c, uint64_t handle)
{
	for (uint32_t i = 0; i < c->nrules; i++)
		if (nftnl_rule_get_u64(c->rules[i], NFTNL_RULE_HANDLE) == handle)
			return (int)i;
	return -1;
}

int nl_obj_find(const struct fn_nft_table *t, uint32_t type, const char *name)
{
	for (uint32_t i = 0; i < t->nobjs; i++)
		if (nftnl_obj_get_u32(t->objs[i].nl, NFTNL_OBJ_TYPE) == type &&
		    !strcmp(nftnl_obj_get_str(t->objs[i].nl, NFTNL_OBJ_NAME),
			    name))
			return (int)i;
	return -1;
}

int nl_obj_find_handle(const struct fn_nft_table *t, uint64_t handle)
{
	for (uint32_t i = 0; i < t->nobjs; i++)
		if (nftnl_obj_get_u64(t->objs[i].nl, NFTNL_OBJ_HANDLE) == handle)
			return (int)i;
	return -1;
}

/* ---- adding and deleting ----------------------------------------------------------- */

int nl_table_add(struct nl_txn *tx, struct nftnl_table *nl)
{
	struct nl_table *t;

	if (grow((void **)&tx->rs.tables, &tx->rs.ctables, tx->rs.ntables + 1,
		 sizeof(void *)) < 0 || !(t = calloc(1, sizeof(*t))))
		return -ENOMEM;
	nftnl_table_set_u64(nl, NFTNL_TABLE_HANDLE, ++tx->rs.next_handle);
	t->pub.nl = nl;
	t->fresh = true;
	tx->rs.tables[tx->rs.ntables++] = &t->pub;
	nl_txn_born(tx, NL_K_TABLE, nl);
	return 0;
}

void nl_table_del(struct nl_txn *tx, uint32_t i)
{
	struct fn_nft_table *t = tx->rs.tables[i];

	for (uint32_t j = 0; j < t->nchains; j++) {
		for (uint32_t k = 0; k < t->chains[j]->nrules; k++)
			nl_txn_drop(tx, NL_K_RULE, t->chains[j]->rules[k]);
		nl_txn_drop(tx, NL_K_CHAIN, t->chains[j]->nl);
	}
	for (uint32_t j = 0; j < t->nsets; j++)
		nl_txn_drop(tx, NL_K_SET, t->sets[j]->nl);
	for (uint32_t j = 0; j < t->nobjs; j++)
		nl_txn_drop(tx, NL_K_OBJ, t->objs[j].nl);
	nl_txn_drop(tx, NL_K_TABLE, t->nl);
	table_wrap_free(t);
	memmove(&tx->rs.tables[i], &tx->rs.tables[i + 1],
		(tx->rs.ntables - i - 1) * sizeof(void *));
	tx->rs.ntables--;
}

int nl_chain_add(struct nl_txn *tx, struct fn_nft_table *t,
		 struct nftnl_chain *nl, uint32_t id)
{
	struct nl_chain *c;

	if (grow((void **)&t->chains, &t->cchains, t->nchains + 1,
		 sizeof(void *)) < 0 || !(c = calloc(1, sizeof(*c))))
		return -ENOMEM;
	nftnl_chain_set_u64(nl, NFTNL_CHAIN_HANDLE,
			    ++nl_table_of(t)->next_handle);
	c->pub.nl = nl;
	c->id = id;
	c->fresh = true;
	t->chains[t->nchains++] = &c->pub;
	nl_txn_born(tx, NL_K_CHAIN, nl);
	return 0;
}

void nl_chain_del(struct nl_txn *tx, struct fn_nft_table *t, uint32_t i)
{
	struct fn_nft_chain *c = t->chains[i];

	while (c->nrules)
		nl_rule_del(tx, t, c, c->nrules - 1);
	nl_txn_drop(tx, NL_K_CHAIN, c->nl);
	chain_wrap_free(c);
	memmove(&t->chains[i], &t->chains[i + 1],
		(t->nchains - i - 1) * sizeof(void *));
	t->nchains--;
}

int nl_rule_insert(struct nl_txn *tx, struct fn_nft_chain *c, uint32_t pos,
		   struct nftnl_rule *r)
{
	if (grow((void **)&c->rules, &c->crules, c->nrules + 1,
		 sizeof(void *)) < 0)
		return -ENOMEM;
	memmove(&c->rules[pos + 1], &c->rules[pos],
		(c->nrules - pos) * sizeof(void *));
	c->rules[pos] = r;
	c->nrules++;
	nl_txn_born(tx, NL_K_RULE, r);
	return 0;
}

/* A rule goes, and with it the anonymous sets bound to it. */
void nl_rule_del(struct nl_txn *tx, struct fn_nft_table *t,
		 struct fn_nft_chain *c, uint32_t i)
{
	uint64_t h = nftnl_rule_get_u64(c->rules[i], NFTNL_RULE_HANDLE);

	nl_txn_drop(tx, NL_K_RULE, c->rules[i]);
	memmove(&c->rules[i], &c->rules[i + 1],
		(c->nrules - i - 1) * sizeof(void *));
	c->nrules--;
	for (uint32_t j = t->nsets; j-- > 0;)
		if (nl_set_of(t->sets[j])->bound_rule == h)
			nl_set_del(tx, t, j);
}

int nl_set_add(struct nl_txn *tx, struct fn_nft_table *t,
	       struct nftnl_set *nl, uint32_t id)
{
	struct nl_set *s;

	if (grow((void **)&t->sets, &t->csets, t->nsets + 1,
		 sizeof(void *)) < 0 || !(s = calloc(1, sizeof(*s))))
		return -ENOMEM;
	nftnl_set_set_u64(nl, NFTNL_SET_HANDLE, ++nl_table_of(t)->next_handle);
	s->pub.nl = nl;
	s->id = id;
	s->fresh = true;
	t->sets[t->nsets++] = &s->pub;
	nl_txn_born(tx, NL_K_SET, nl);
	return 0;
}

void nl_set_del(struct nl_txn *tx, struct fn_nft_table *t, uint32_t i)
{
	nl_txn_drop(tx, NL_K_SET, t->sets[i]->nl);
	set_wrap_free(t->sets[i]);
	memmove(&t->sets[i], &t->sets[i + 1],
		(t->nsets - i - 1) * sizeof(void *));
	t->nsets--;
}

int nl_obj_add(struct nl_txn *tx, struct fn_nft_table *t, struct nftnl_obj *nl)
{
	if (grow((void **)&t->objs, &t->cobjs, t->nobjs + 1,
		 sizeof(*t->objs)) < 0)
		return -ENOMEM;
	/* the kernel's nf_tables_newobj: nf_tables_alloc_handle(table) */
	nftnl_obj_set_u64(nl, NFTNL_OBJ_HANDLE, ++nl_table_of(t)->next_handle);
	t->objs[t->nobjs++].nl = nl;
	nl_txn_born(tx, NL_K_OBJ, nl);
	return 0;
}

void nl_obj_del(struct nl_txn *tx, struct fn_nft_table *t, uint32_t i)
{
	nl_txn_drop(tx, NL_K_OBJ, t->objs[i].nl);
	memmove(&t->objs[i], &t->objs[i + 1],
		(t->nobjs - i - 1) * sizeof(*t->objs));
	t->nobjs--;
}

/* ---- set elements ------------------------------------------------------------------- */

static const void *elem_key(struct nftnl_set_elem *e, uint16_t attr,
			    uint32_t *len)
{
	*len = 0;
	if (!nftnl_set_elem_is_set(e, attr))
		return NULL;
	return nftnl_set_elem_get(e, attr, len);
}

static bool elem_end(struct nftnl_set_elem *e)
{
	return nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS) &&
	       (nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) &
		NFT_SET_ELEM_INTERVAL_END);
}

static uint32_t elem_hash(struct nftnl_set_elem *e)
{
	uint32_t h = elem_end(e) ? 0x9747b28c : 0x811c9dc5, len;
	const uint8_t *k = elem_key(e, NFTNL_SET_ELEM_KEY, &len);

	for (uint32_t i = 0; i < len; i++)
		h = (h ^ k[i]) * 0x01000193;
	k = elem_key(e, NFTNL_SET_ELEM_KEY_END, &len);
	for (uint32_t i = 0; i < len; i++)
		h = (h ^ k[i]) * 0x01000193;
	return h;
}

static bool elem_same(struct nftnl_set_elem *a, struct nftnl_set_elem *b)
{
	static const uint16_t attrs[] = { NFTNL_SET_ELEM_KEY,
					  NFTNL_SET_ELEM_KEY_END };

	if (elem_end(a) != elem_end(b))
		return false;
	for (unsigned i = 0; i < 2; i++) {
		uint32_t la, lb;
		const void *ka = elem_key(a, attrs[i], &la);
		const void *kb = elem_key(b, attrs[i], &lb);

		if (la != lb || (la && memcmp(ka, kb, la)))
			return false;
	}
	return true;
}

int nl_elem_index_put(struct nl_elem_index *x, struct nftnl_set_elem *e)
{
	uint32_t j;

	if ((x->used + 1) * 2 > x->mask + 1) {
		uint32_t cap = x->mask ? (x->mask + 1) * 2 : 64;
		struct nftnl_set_elem **old = x->slot;
		uint32_t oldcap = x->mask ? x->mask + 1 : 0;

		if (cap == 0 || !(x->slot = calloc(cap, sizeof(*x->slot)))) {
			x->slot = old;
			return -ENOMEM;
		}
		x->mask = cap - 1;
		x->used = 0;
		for (uint32_t i = 0; i < oldcap; i++)
			if (old[i])
				nl_elem_index_put(x, old[i]);
		free(old);
	}
	for (j = elem_hash(e) & x->mask; x->slot[j]; j = (j + 1) & x->mask)
		;
	x->slot[j] = e;
	x->used++;
	return 0;
}

struct nftnl_set_elem *nl_elem_lookup(struct nl_set *s,
				      struct nftnl_set_elem *e)
{
	struct nl_elem_index *x = &s->idx;

	if (!x->mask)
		return NULL;
	for (uint32_t j = elem_hash(e) & x->mask; x->slot[j];
	     j = (j + 1) & x->mask)
		if (elem_same(x->slot[j], e))
			return x->slot[j];
	return NULL;
}

/* libnftnl 1.2.4 declares nftnl_set_elem_clone() but does not export it:
 * copy attribute by attribute.  Elements with expressions are refused
 * at the door (nl_batch.c), so there are none to copy. */
struct nftnl_set_elem *nl_elem_copy(struct nftnl_set_elem *e)
{
	static const uint16_t attrs[] = {
		NFTNL_SET_ELEM_FLAGS, NFTNL_SET_ELEM_KEY, NFTNL_SET_ELEM_VERDICT,
		NFTNL_SET_ELEM_CHAIN, NFTNL_SET_ELEM_DATA, NFTNL_SET_ELEM_TIMEOUT,
		NFTNL_SET_ELEM_EXPIRATION, NFTNL_SET_ELEM_USERDATA,
		NFTNL_SET_ELEM_KEY_END, NFTNL_SET_ELEM_OBJREF,
	};
	struct nftnl_set_elem *n = nftnl_set_elem_alloc();

	for (unsigned i = 0; n && i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		uint32_t len;
		const void *d;

		if (!nftnl_set_elem_is_set(e, attrs[i]))
			continue;
		d = nftnl_set_elem_get(e, attrs[i], &len);
		if (attrs[i] == NFTNL_SET_ELEM_CHAIN ||
		    attrs[i] == NFTNL_SET_ELEM_OBJREF)
			len = (uint32_t)strlen(d) + 1;
		if (nftnl_set_elem_set(n, attrs[i], d, len) < 0) {
			nftnl_set_elem_free(n);
			return NULL;
		}
	}
	return n;
}

/* e becomes the set's (it must be a set this transaction owns). */
int nl_elem_add(struct nl_set *s, struct nftnl_set_elem *e)
{
	if (nl_elem_index_put(&s->idx, e) < 0)
		return -ENOMEM;
	nftnl_set_elem_add(s->pub.nl, e);
	return 0;
}

/* A new nftnl_set with old's attributes and no elements. */
static struct nftnl_set *set_copy_attrs(struct nftnl_set *old)
{
	char *buf = malloc(NL_MSG_ROOM);
	struct nftnl_set *n = nftnl_set_alloc();
	struct nlmsghdr *nlh;

	if (!buf || !n)
		goto err;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWSET,
				    nftnl_set_get_u32(old, NFTNL_SET_FAMILY),
				    0, 0);
	nftnl_set_nlmsg_build_payload(nlh, old);
	if (nl_parse(NL_P_SET, nlh, n) < 0)
		goto err;
	nftnl_set_set_u64(n, NFTNL_SET_HANDLE,
			  nftnl_set_get_u64(old, NFTNL_SET_HANDLE));
	free(buf);
	return n;
err:
	free(buf);
	if (n)
		nftnl_set_free(n);
	return NULL;
}

struct filter_ctx {
	struct nl_set *dst;
	bool (*drop)(struct nftnl_set_elem *e, void *arg);
	void *arg;
	int err;
};

static int filter_one(struct nftnl_set_elem *e, void *data)
{
	struct filter_ctx *f = data;
	struct nftnl_set_elem *c;

	if (f->drop && f->drop(e, f->arg))
		return 0;
	c = nl_elem_copy(e);
	if (!c || nl_elem_add(f->dst, c) < 0) {
		if (c)
			nftnl_set_elem_free(c);
		f->err = -ENOMEM;
		return -1;
	}
	return 0;
}

/* Replace s's libnftnl set by a copy holding the elements that pass. */
static int set_rebuild(struct nl_txn *tx, struct fn_nft_set *s,
		       bool (*drop)(struct nftnl_set_elem *e, void *arg),
		       void *arg)
{
	struct nl_set *ns = nl_set_of(s);
	struct nftnl_set *old = s->nl, *n = set_copy_attrs(old);
	struct filter_ctx f = { ns, drop, arg, 0 };

	if (!n)
		return -ENOMEM;
	idx_free(&ns->idx);
	s->nl = n;
	if (nftnl_set_elem_foreach(old, filter_one, &f) < 0 || f.err) {
		s->nl = old;
		idx_free(&ns->idx);
		nftnl_set_free(n);
		ns->fresh = false;	/* the index is gone: rebuild next time */
		return -ENOMEM;
	}
	nl_txn_born(tx, NL_K_SET, n);
	nl_txn_drop(tx, NL_K_SET, old);
	ns->fresh = true;
	return 0;
}

int nl_set_own(struct nl_txn *tx, struct fn_nft_set *s)
{
	if (nl_set_of(s)->fresh && nl_set_of(s)->idx.mask)
		return 0;
	return set_rebuild(tx, s, NULL, NULL);
}

int nl_set_filter(struct nl_txn *tx, struct fn_nft_set *s,
		  bool (*drop)(struct nftnl_set_elem *e, void *arg), void *arg)
{
	if (!drop) {
		struct nftnl_set *n = set_copy_attrs(s->nl);

		if (!n)
			return -ENOMEM;
		nl_txn_born(tx, NL_K_SET, n);
		nl_txn_drop(tx, NL_K_SET, s->nl);
		s->nl = n;
		idx_free(&nl_set_of(s)->idx);
		nl_set_of(s)->fresh = true;
		return 0;
	}
	return set_rebuild(tx, s, drop, arg);
}

/* ---- element lists on the wire --------------------------------------------------- */

/* nft numbers the nests of an element list 1, 2, 3... (libnftnl's
 * builder does), the kernel ignores the type, and libnftnl's parser
 * wants NFTA_LIST_ELEM for every one.  Make them all NFTA_LIST_ELEM, in
 * place; nlh's length has been checked against its buffer. */
void nl_elems_normalize(struct nlmsghdr *nlh)
{
	struct nlattr *a, *e;

	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(struct nfgenmsg))
		return;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) != NFTA_SET_ELEM_LIST_ELEMENTS ||
		    mnl_attr_get_payload_len(a) == 0)
			continue;
		mnl_attr_for_each_nested(e, a)
			e->nla_type = (uint16_t)((e->nla_type & NLA_F_NESTED) |
						 NFTA_LIST_ELEM);
	}
}

int nl_parse_elems(const struct nlmsghdr *nlh, struct nftnl_set *s)
{
	/* with the NUL every datagram has after it (see nl_validate) */
	struct nlmsghdr *copy = malloc(nlh->nlmsg_len + 1);
	int err;

	if (!copy)
		return -ENOMEM;
	memcpy(copy, nlh, nlh->nlmsg_len);
	((char *)copy)[nlh->nlmsg_len] = '\0';
	nl_elems_normalize(copy);
	err = nl_parse(NL_P_ELEMS, copy, s);
	free(copy);
	return err < 0 ? -EINVAL : 0;
}

/* ---- references ------------------------------------------------------------------------ */

struct ref_ctx {
	const char *name;
	bool set;		/* looking for a set, else a chain */
	bool found;
};

static bool str_is(struct nftnl_expr *e, uint16_t attr, const char *s)
{
	return nftnl_expr_is_set(e, attr) &&
	       !strcmp(nftnl_expr_get_str(e, attr), s);
}

static int ref_expr(struct nftnl_expr *e, void *data)
{
	struct ref_ctx *r = data;
	const char *n = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

	if (r->set && !strcmp(n, "lookup"))
		r->found |= str_is(e, NFTNL_EXPR_LOOKUP_SET, r->name);
	else if (r->set && !strcmp(n, "dynset"))
		r->found |= str_is(e, NFTNL_EXPR_DYNSET_SET_NAME, r->name);
	else if (r->set && !strcmp(n, "objref"))
		r->found |= str_is(e, NFTNL_EXPR_OBJREF_SET_NAME, r->name);
	else if (!r->set && !strcmp(n, "immediate"))
		r->found |= str_is(e, NFTNL_EXPR_IMM_CHAIN, r->name);
	return r->found ? -1 : 0;
}

static int ref_elem(struct nftnl_set_elem *e, void *data)
{
	struct ref_ctx *r = data;

	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_CHAIN) &&
	    !strcmp(nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN), r->name))
		r->found = true;
	return r->found ? -1 : 0;
}

static bool referenced(const struct fn_nft_table *t, const char *name,
		       bool set)
{
	struct ref_ctx r = { name, set, false };

	for (uint32_t i = 0; i < t->nchains && !r.found; i++)
		for (uint32_t j = 0; j < t->chains[i]->nrules && !r.found; j++)
			nftnl_expr_foreach(t->chains[i]->rules[j], ref_expr, &r);
	for (uint32_t i = 0; !set && i < t->nsets && !r.found; i++)
		nftnl_set_elem_foreach(t->sets[i]->nl, ref_elem, &r);
	return r.found;
}

struct objref_ctx {
	uint32_t type;
	const char *name;
	bool found;
};

static int objref_expr(struct nftnl_expr *e, void *data)
{
	struct objref_ctx *r = data;

	if (!strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "objref") &&
	    nftnl_expr_is_set(e, NFTNL_EXPR_OBJREF_IMM_TYPE) &&
	    nftnl_expr_get_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE) == r->type)
		r->found |= str_is(e, NFTNL_EXPR_OBJREF_IMM_NAME, r->name);
	return r->found ? -1 : 0;
}

static int objref_elem(struct nftnl_set_elem *e, void *data)
{
	struct objref_ctx *r = data;

	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_OBJREF) &&
	    !strcmp(nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_OBJREF), r->name))
		r->found = true;
	return r->found ? -1 : 0;
}

bool nl_obj_referenced(const struct fn_nft_table *t, uint32_t type,
		       const char *name)
{
	struct objref_ctx r = { type, name, false };

	for (uint32_t i = 0; i < t->nchains && !r.found; i++)
		for (uint32_t j = 0; j < t->chains[i]->nrules && !r.found; j++)
			nftnl_expr_foreach(t->chains[i]->rules[j], objref_expr,
					   &r);
	for (uint32_t i = 0; i < t->nsets && !r.found; i++) {
		struct nftnl_set *s = t->sets[i]->nl;

		if ((nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_OBJECT) &&
		    nftnl_set_is_set(s, NFTNL_SET_OBJ_TYPE) &&
		    nftnl_set_get_u32(s, NFTNL_SET_OBJ_TYPE) == type)
			nftnl_set_elem_foreach(s, objref_elem, &r);
	}
	return r.found;
}

bool nl_set_referenced(const struct fn_nft_table *t, const char *name)
{
	return referenced(t, name, true);
}

bool nl_chain_referenced(const struct fn_nft_table *t, const char *name)
{
	return referenced(t, name, false);
}
