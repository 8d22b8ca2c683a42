/*
 * src/nft/eval/set.c - sets and maps: a libnftnl set with its elements
 * into a lookup structure, and the lookup itself.
 *
 *   hash sets: open addressing over a power-of-two slot array (at most
 *     half full), O(1);
 *   interval sets: the bounds sorted by key (memcmp order, the register
 *     bytes as the kernel's rbtree compares them), a key matches when the
 *     greatest bound <= key opens a range; O(log n).  Bounds are what nft
 *     sends: a start element, then an element flagged
 *     NFT_SET_ELEM_INTERVAL_END one past the range; or (newer nft) one
 *     element with NFTNL_SET_ELEM_KEY_END, the inclusive end;
 *   a catch-all element (NFT_SET_ELEM_CATCHALL, `*` in a map) answers
 *     when the key is not found, as nft_set_catchall_lookup().
 * Element updates arrive as a new model, so a set is rebuilt on each
 * compile and never changes under the packet path.  An object map
 * (NFT_SET_OBJECT) is a map whose data is the state index of the object
 * each element names (the table's objects are compiled first).  Timeouts,
 * per-element expressions and concatenated ranges are refused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter/nf_tables.h>
#include <libnftnl/set.h>

#include "nfe.h"

static uint32_t key_hash(const uint8_t *k, uint32_t len)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (uint32_t i = 0; i < len; i++)
		h = (h ^ k[i]) * 16777619u;
	return h ^ (h >> 15);
}

struct build {
	struct nfe_cctx *c;
	struct nfe_set *s;
	uint32_t cap;
	int err;
};

static int grow(struct build *b)
{
	struct nfe_set *s = b->s;
	uint32_t ncap = b->cap ? b->cap * 2 : 64;

	if (s->n < b->cap)
		return 0;
	uint8_t *k = realloc(s->keys, (size_t)ncap * s->klen);
	if (!k)
		return -ENOMEM;
	s->keys = k;
	if (s->map && !s->vmap) {
		uint8_t *d = realloc(s->data, (size_t)ncap * s->dlen);
		if (!d)
			return -ENOMEM;
		s->data = d;
	}
	if (s->vmap) {
		struct nfe_verdict *v = realloc(s->verdicts,
						(size_t)ncap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->verdicts = v;
	}
	bool *e = realloc(s->is_end, (size_t)ncap * sizeof(*e));
	if (!e)
		return -ENOMEM;
	s->is_end = e;
	b->cap = ncap;
	return 0;
}

static int fail(struct build *b, int err, const char *what)
{
	return nfe_fail(b->c, err, "set %s: %s", b->s->name, what);
}

/* An object map's element: the state of the object it names, of the
 * map's type, in the set's table (nft_set_elem_init: ENOENT if none). */
static int elem_obj(struct build *b, struct nftnl_set_elem *e, uint8_t *data)
{
	const struct fn_nft_prog *p = b->c->p;
	const char *name;

	if (!nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_OBJREF))
		return fail(b, -EINVAL, "element without object");
	name = nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_OBJREF);
	for (uint32_t i = b->c->table_obj0; i < p->nobjs; i++)
		if (p->objs[i].type == b->s->objtype &&
		    !strcmp(p->objs[i].name, name)) {
			memcpy(data, &p->objs[i].state, sizeof(uint32_t));
			return 0;
		}
	return fail(b, -ENOENT, "element names no such object");
}

/* The element's data into *data / *vd (maps), checked. */
static int elem_data(struct build *b, struct nftnl_set_elem *e,
		     uint8_t *data, struct nfe_verdict *vd)
{
	struct nfe_set *s = b->s;
	uint32_t len = 0;

	if (s->objtype)
		return elem_obj(b, e, data);
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_OBJREF))
		return fail(b, -EINVAL, "object in a set that is no object map");

	if (!s->map)
		return (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_DATA) ||
			nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_VERDICT)) ?
		       fail(b, -EINVAL, "data in a set that is not a map") : 0;
	if (s->vmap) {
		const char *chain = NULL;

		if (!nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_VERDICT))
			return fail(b, -EINVAL, "element without verdict");
		if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_CHAIN))
			chain = nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN);
		return nfe_verdict_check(b->c, nftnl_set_elem_get_u32(e,
					NFTNL_SET_ELEM_VERDICT), chain, vd);
	}
	const void *d = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &len);
	if (!d || len != s->dlen)
		return fail(b, -EINVAL, "element data length");
	memcpy(data, d, len);
	return 0;
}

static int add_bound(struct build *b, const uint8_t *key, bool is_end,
		     const uint8_t *data, const struct nfe_verdict *vd)
{
	struct nfe_set *s = b->s;

	if (grow(b))
		return -ENOMEM;
	memcpy(&s->keys[(size_t)s->n * s->klen], key, s->klen);
	s->is_end[s->n] = is_end;
	if (s->map && !s->vmap)
		memcpy(&s->data[(size_t)s->n * s->dlen], data, s->dlen);
	if (s->vmap)
		s->verdicts[s->n] = vd ? *vd : (struct nfe_verdict){ 0, 0 };
	s->n++;
	return 0;
}

/* Inclusive end into the exclusive bound after it; false on wrap. */
static bool key_next(uint8_t *k, uint32_t len)
{
	for (uint32_t i = len; i-- > 0;)
		if (++k[i])
			return true;
	return false;
}

static int elem_key_end(struct build *b, struct nftnl_set_elem *e)
{
	uint32_t len = 0;
	const uint8_t *ke = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY_END, &len);
	uint8_t next[NFE_DATA_MAX];

	if (!b->s->interval || (b->s->flags & NFT_SET_CONCAT))
		return fail(b, -EOPNOTSUPP,
			    "ranges of concatenations are not supported");
	if (!ke || len != b->s->klen)
		return fail(b, -EINVAL, "element key end length");
	memcpy(next, ke, len);
	if (!key_next(next, len))
		return 0;
	return add_bound(b, next, true, NULL, NULL);
}

static const uint16_t elem_allowed[] = {
	NFTNL_SET_ELEM_FLAGS, NFTNL_SET_ELEM_KEY, NFTNL_SET_ELEM_VERDICT,
	NFTNL_SET_ELEM_CHAIN, NFTNL_SET_ELEM_DATA, NFTNL_SET_ELEM_USERDATA,
	NFTNL_SET_ELEM_KEY_END, NFTNL_SET_ELEM_OBJREF,
};

static int elem_attrs(struct build *b, struct nftnl_set_elem *e)
{
	for (uint16_t a = 0; a <= NFTNL_SET_ELEM_MAX; a++) {
		bool ok = false;

		for (size_t i = 0; i < sizeof(elem_allowed) / 2; i++)
			ok |= elem_allowed[i] == a;
		if (!ok && nftnl_set_elem_is_set(e, a))
			return nfe_fail(b->c, -EOPNOTSUPP,
					"set %s: element attribute %u (timeouts, expressions, objects) is not supported",
					b->s->name, a);
	}
	return 0;
}

static int elem_cb(struct nftnl_set_elem *e, void *arg)
{
	struct build *b = arg;
	struct nfe_set *s = b->s;
	uint32_t flags = 0, len = 0;
	uint8_t data[NFE_DATA_MAX] = { 0 };
	struct nfe_verdict vd = { 0, 0 };
	int err = elem_attrs(b, e);

	if (err)
		goto out;
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS))
		flags = nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS);
	if (flags & ~(uint32_t)(NFT_SET_ELEM_INTERVAL_END |
				NFT_SET_ELEM_CATCHALL)) {
		err = fail(b, -EOPNOTSUPP, "element flags");
		goto out;
	}
	bool end = flags & NFT_SET_ELEM_INTERVAL_END;
	if (end && !s->interval) {
		err = fail(b, -EINVAL, "interval end in a set without intervals");
		goto out;
	}
	if (!end)
		err = elem_data(b, e, data, &vd);
	if (err)
		goto out;
	if (flags & NFT_SET_ELEM_CATCHALL) {
		s->catchall = true;
		memcpy(s->ca_data, data, sizeof(s->ca_data));
		s->ca_verdict = vd;
		goto out;
	}
	const void *key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
	if (!key || len != s->klen) {
		err = fail(b, -EINVAL, "element key length");
		goto out;
	}
	err = add_bound(b, key, end, data, &vd);
	if (!err && nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_KEY_END))
		err = elem_key_end(b, e);
out:
	b->err = err;
	return err ? -1 : 0;
}

/* ---- hash ---------------------------------------------------------------- */

static int hash_build(struct nfe_set *s)
{
	uint32_t slots = 16;

	while (slots < 2 * s->n)
		slots *= 2;
	s->slots = calloc(slots, sizeof(*s->slots));
	if (!s->slots)
		return -ENOMEM;
	s->mask = slots - 1;
	for (uint32_t i = 0; i < s->n; i++) {
		const uint8_t *k = &s->keys[(size_t)i * s->klen];
		uint32_t h = key_hash(k, s->klen) & s->mask;

		while (s->slots[h]) {
			if (!memcmp(&s->keys[(size_t)(s->slots[h] - 1) * s->klen],
				    k, s->klen))
				break;	/* duplicate: the first stays */
			h = (h + 1) & s->mask;
		}
		if (!s->slots[h])
			s->slots[h] = i + 1;
	}
	return 0;
}

/* ---- interval ------------------------------------------------------------ */

static const struct nfe_set *sort_set;

static int bound_cmp(const void *a, const void *b)
{
	uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
	const struct nfe_set *s = sort_set;
	int d = memcmp(&s->keys[(size_t)i * s->klen],
		       &s->keys[(size_t)j * s->klen], s->klen);

	if (d)
		return d;
	if (s->is_end[i] != s->is_end[j])	/* ends first: starts win */
		return s->is_end[i] ? -1 : 1;
	return i < j ? -1 : i > j;
}

/* Sort the bounds: permute every array by a sorted index. */
static int interval_build(struct nfe_set *s)
{
	uint32_t *ix = malloc(((size_t)s->n + 1) * sizeof(*ix));
	uint8_t *k = malloc((size_t)s->n * s->klen + 1);
	uint8_t *d = s->data ? malloc((size_t)s->n * s->dlen + 1) : NULL;
	struct nfe_verdict *v = s->verdicts ?
			       malloc((size_t)s->n * sizeof(*v) + 1) : NULL;
	bool *e = malloc((size_t)s->n + 1);
	int err = -ENOMEM;

	if (!ix || !k || !e || (s->data && !d) || (s->verdicts && !v))
		goto out;
	for (uint32_t i = 0; i < s->n; i++)
		ix[i] = i;
	sort_set = s;
	qsort(ix, s->n, sizeof(*ix), bound_cmp);
	sort_set = NULL;
	for (uint32_t i = 0; i < s->n; i++) {
		memcpy(&k[(size_t)i * s->klen],
		       &s->keys[(size_t)ix[i] * s->klen], s->klen);
		if (d)
			memcpy(&d[(size_t)i * s->dlen],
			       &s->data[(size_t)ix[i] * s->dlen], s->dlen);
		if (v)
			v[i] = s->verdicts[ix[i]];
		e[i] = s->is_end[ix[i]];
	}
#define SWAP(a, b) do { void *t_ = (a); (a) = (b); (b) = t_; } while (0)
	SWAP(s->keys, k);
	SWAP(s->data, d);
	SWAP(s->verdicts, v);
	SWAP(s->is_end, e);
#undef SWAP
	err = 0;
out:
	free(ix);
	free(k);
	free(d);
	free(v);
	free(e);
	return err;
}

/* ---- entry points -------------------------------------------------------- */

/* nf_tables_newset on NFT_SET_OBJECT: an object type, not a map too. */
static int obj_map_attrs(struct nfe_cctx *c, struct nftnl_set *nl,
			 struct nfe_set *s)
{
	uint32_t t = nftnl_set_is_set(nl, NFTNL_SET_OBJ_TYPE) ?
		     nftnl_set_get_u32(nl, NFTNL_SET_OBJ_TYPE) : 0;

	if (!(s->flags & NFT_SET_OBJECT) || t == 0)
		return nfe_fail(c, -EINVAL, "set %s: object type without "
				"the object flag, or none", s->name);
	if (s->map)
		return nfe_fail(c, -EOPNOTSUPP, "set %s: a map and an object "
				"map", s->name);
	if (t != NFT_OBJECT_COUNTER && t != NFT_OBJECT_QUOTA &&
	    t != NFT_OBJECT_LIMIT)
		return nfe_fail(c, -EOPNOTSUPP, "set %s: maps of objects of "
				"type %u are not supported", s->name, t);
	s->objtype = t;
	s->map = true;
	s->dlen = sizeof(uint32_t);
	return 0;
}

static int set_attrs(struct nfe_cctx *c, struct nftnl_set *nl,
		     struct nfe_set *s)
{
	const uint32_t bad = NFT_SET_TIMEOUT | NFT_SET_EVAL | NFT_SET_EXPR;

	s->flags = nftnl_set_get_u32(nl, NFTNL_SET_FLAGS);
	s->klen = nftnl_set_get_u32(nl, NFTNL_SET_KEY_LEN);
	if (s->flags & bad || nftnl_set_is_set(nl, NFTNL_SET_TIMEOUT) ||
	    nftnl_set_is_set(nl, NFTNL_SET_EXPR) ||
	    nftnl_set_is_set(nl, NFTNL_SET_EXPRESSIONS))
		return nfe_fail(c, -EOPNOTSUPP,
				"set %s: flags 0x%x (timeout, dynamic, expressions) are not supported",
				s->name, s->flags);
	if (s->klen == 0 || s->klen > NFE_DATA_MAX)
		return nfe_fail(c, -EINVAL, "set %s: key length %u", s->name,
				s->klen);
	s->interval = s->flags & NFT_SET_INTERVAL;
	s->map = s->flags & NFT_SET_MAP;
	if ((s->flags & NFT_SET_OBJECT) || nftnl_set_is_set(nl, NFTNL_SET_OBJ_TYPE))
		return obj_map_attrs(c, nl, s);
	if (!s->map)
		return 0;
	if (nftnl_set_get_u32(nl, NFTNL_SET_DATA_TYPE) == NFT_DATA_VERDICT) {
		s->vmap = true;
		s->dlen = sizeof(struct nfe_verdict);
		return 0;
	}
	s->dlen = nftnl_set_get_u32(nl, NFTNL_SET_DATA_LEN);
	if (s->dlen == 0 || s->dlen > NFE_DATA_MAX)
		return nfe_fail(c, -EINVAL, "set %s: data length %u", s->name,
				s->dlen);
	return 0;
}

int nfe_set_build(struct nfe_cctx *c, struct fn_nft_set *fs,
		  struct nfe_set *s)
{
	struct nftnl_set *nl = fs->nl;
	struct build b = { .c = c, .s = s };
	int err;

	const char *table = nftnl_set_get_str(nl, NFTNL_SET_TABLE);
	const char *name = nftnl_set_get_str(nl, NFTNL_SET_NAME);

	s->table = strdup(table ? table : "");
	s->name = strdup(name ? name : "");
	if (!s->table || !s->name)
		return -ENOMEM;
	if (!table || !name)
		return nfe_fail(c, -EINVAL, "a set without table or name");
	err = set_attrs(c, nl, s);
	if (err)
		return err;
	if (nftnl_set_elem_foreach(nl, elem_cb, &b) < 0 || b.err)
		return b.err ? b.err : -ENOMEM;
	return s->interval ? interval_build(s) : hash_build(s);
}

void nfe_set_fini(struct nfe_set *s)
{
	free(s->table);
	free(s->name);
	free(s->keys);
	free(s->data);
	free(s->verdicts);
	free(s->is_end);
	free(s->slots);
}

static bool hash_find(const struct nfe_set *s, const uint8_t *key,
		      uint32_t *idx)
{
	uint32_t h = key_hash(key, s->klen) & s->mask;

	while (s->slots[h]) {
		uint32_t i = s->slots[h] - 1;

		if (!nfe_memcmp(&s->keys[(size_t)i * s->klen], key, s->klen)) {
			*idx = i;
			return true;
		}
		h = (h + 1) & s->mask;
	}
	return false;
}

static bool interval_find(const struct nfe_set *s, const uint8_t *key,
			  uint32_t *idx)
{
	uint32_t lo = 0, hi = s->n;	/* first bound > key */

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (nfe_memcmp(&s->keys[(size_t)mid * s->klen], key,
			       s->klen) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || s->is_end[lo - 1])
		return false;
	*idx = lo - 1;
	return true;
}

bool nfe_set_lookup(const struct nfe_set *s, const uint8_t *key,
		    const uint8_t **data, const struct nfe_verdict **vd)
{
	uint32_t i;
	bool found = s->interval ? interval_find(s, key, &i) :
				   hash_find(s, key, &i);

	if (!found)
		return false;
	if (s->data)
		*data = &s->data[(size_t)i * s->dlen];
	if (s->verdicts)
		*vd = &s->verdicts[i];
	return true;
}
