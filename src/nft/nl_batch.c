/*
 * nl_batch.c - the messages of an nf_tables batch, applied to a
 * transaction (nl_model.c), with the kernel's semantics where nft can see
 * them:
 *   NEWTABLE/NEWCHAIN/NEWSET: NLM_F_EXCL on an existing object -> EEXIST,
 *     without it the object is updated (table flags, chain policy);
 *   DELTABLE without name or handle: flush ruleset (of the family);
 *   DELRULE without handle: flush the chain (or the table);
 *   DELSETELEM without elements: flush the set;
 *   NEWRULE: NLM_F_APPEND after POSITION (or at the end), else before it
 *     (or at the start); NLM_F_REPLACE with HANDLE replaces, keeping it;
 *   ids: sets by NFTA_SET_ID (lookup, dynset, element lists), chains by
 *     NFTA_CHAIN_ID (jump/goto), rules by NFTA_RULE_ID (POSITION_ID);
 *     rules are stored with names, never ids (nft.h guarantees);
 *   handles: tables from a ruleset counter, everything else from its
 *     table's, as the kernel; "__set%d" becomes the table's next free
 *     number (the kernel takes the lowest free: the same until an
 *     anonymous set is deleted);
 *   an anonymous set is bound to the first rule that looks it up and goes
 *     with that rule;
 *   NEWOBJ/DELOBJ: counters, quotas and limits, unique by type and name in
 *     their table; an existing one is EEXIST with NLM_F_EXCL, EOPNOTSUPP
 *     with NLM_F_REPLACE, else kept as it is (nf_tables_updobj: only a
 *     quota's update changes it, refused here); a rule's objref names
 *     one (ENOENT if none) and it cannot be deleted while it does (EBUSY).
 * Every message is parsed by libnftnl (which checks attribute lengths and
 * types with libmnl); what it leaves unchecked (presence, string lengths,
 * key lengths, references) is checked here before the model changes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nfnetlink.h>

#include "nl.h"

#define NAME_MAX_LEN	(NFT_NAME_MAXLEN - 1)
#define KEY_MAX_LEN	64	/* NFT_REG32_COUNT * 4: the kernel's limit */
#define UDATA_MAX_LEN	256	/* NFT_USERDATA_MAXLEN: the kernel's limit */

struct bctx {
	struct nl_txn *tx;
	const struct nlmsghdr *nlh;
	uint32_t family;
	uint16_t flags;
	char *msg;
	size_t msglen;
};

__attribute__((format(printf, 3, 4)))
static int fail(struct bctx *b, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->msg, b->msglen, fmt, ap);
	va_end(ap);
	return err;
}

/* The offset from nlh of its top-level attribute `type`, or of the
 * idx-th attribute nested in it (idx >= 0); 0 if there is none. */
static uint32_t attr_off(const struct nlmsghdr *nlh, uint16_t type, int idx)
{
	const struct nlattr *a, *n;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) != type)
			continue;
		if (idx < 0)
			return (uint32_t)((const char *)a - (const char *)nlh);
		mnl_attr_for_each_nested(n, a)
			if (idx-- == 0)
				return (uint32_t)((const char *)n -
						  (const char *)nlh);
		return 0;
	}
	return 0;
}

/* The attribute that names the object: its name, else its handle. */
static uint16_t by_name(const struct bctx *b, uint16_t name, uint16_t handle)
{
	return attr_off(b->nlh, name, -1) ? name : handle;
}

/* fail(), naming the attribute to blame as the kernel's extack does
 * (NL_SET_BAD_ATTR): nft then points at that part of the command. */
__attribute__((format(printf, 5, 6)))
static int fail_at(struct bctx *b, uint16_t type, int idx, int err,
		   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->msg, b->msglen, fmt, ap);
	va_end(ap);
	b->tx->bad_off = attr_off(b->nlh, type, idx);
	return err;
}

/* The length of user data that is set (0 if not). */
static uint32_t udata_len(bool set, const void *data, uint32_t len)
{
	return set && data ? len : 0;
}

static bool name_ok(const char *s)
{
	return s && *s && strlen(s) <= NAME_MAX_LEN;
}

static struct fn_nft_table *table_get(struct bctx *b, const char *name)
{
	if (!name_ok(name))
		return NULL;
	return nl_table_find(&b->tx->rs, b->family, name);
}

/* ---- tables ----------------------------------------------------------------- */

/* A copy of t's libnftnl table that this transaction owns. */
static struct nftnl_table *table_own(struct bctx *b, struct fn_nft_table *t)
{
	struct nftnl_table *n;
	const char *name;

	if (nl_table_of(t)->fresh)
		return t->nl;
	n = nftnl_table_alloc();
	if (!n)
		return NULL;
	name = nftnl_table_get_str(t->nl, NFTNL_TABLE_NAME);
	nftnl_table_set_str(n, NFTNL_TABLE_NAME, name);
	for (uint16_t a = NFTNL_TABLE_FAMILY; a <= NFTNL_TABLE_OWNER; a++) {
		uint32_t len;
		const void *d;

		if (a == NFTNL_TABLE_USE || !nftnl_table_is_set(t->nl, a))
			continue;
		d = nftnl_table_get_data(t->nl, a, &len);
		nftnl_table_set_data(n, a, d, len);
	}
	nl_txn_born(b->tx, NL_K_TABLE, n);
	nl_txn_drop(b->tx, NL_K_TABLE, t->nl);
	t->nl = n;
	nl_table_of(t)->fresh = true;
	return n;
}

static int table_new(struct bctx *b)
{
	struct nftnl_table *nt = nftnl_table_alloc();
	struct fn_nft_table *t;
	uint32_t ulen = 0;
	int err = 0;

	if (!nt)
		return -ENOMEM;
	if (nl_parse(NL_P_TABLE, b->nlh, nt) < 0 ||
	    !name_ok(nftnl_table_get_str(nt, NFTNL_TABLE_NAME))) {
		err = fail(b, -EINVAL, "table: no valid name");
		goto out;
	}
	if (udata_len(nftnl_table_is_set(nt, NFTNL_TABLE_USERDATA),
		      nftnl_table_get_data(nt, NFTNL_TABLE_USERDATA, &ulen),
		      ulen) > UDATA_MAX_LEN) {
		err = fail(b, -ERANGE, "table: user data too long");
		goto out;
	}
	/* NFT_TABLE_F_OWNER (the table goes with its netlink socket) is
	 * not implemented: refused, never ignored */
	if (nftnl_table_is_set(nt, NFTNL_TABLE_FLAGS) &&
	    (nftnl_table_get_u32(nt, NFTNL_TABLE_FLAGS) &
	     ~(uint32_t)NFT_TABLE_F_DORMANT)) {
		err = fail(b, -EOPNOTSUPP, "table flags 0x%x (only dormant)",
			   nftnl_table_get_u32(nt, NFTNL_TABLE_FLAGS));
		goto out;
	}
	t = table_get(b, nftnl_table_get_str(nt, NFTNL_TABLE_NAME));
	b->tx->last_name = t ? nftnl_table_get_str(t->nl, NFTNL_TABLE_NAME)
			     : NULL;
	if (t && (b->flags & NLM_F_EXCL)) {
		err = fail_at(b, NFTA_TABLE_NAME, -1, -EEXIST, "table exists");
	} else if (t && (b->flags & NLM_F_REPLACE)) {
		err = -EOPNOTSUPP;
	} else if (t) {
		if (nftnl_table_is_set(nt, NFTNL_TABLE_FLAGS)) {
			struct nftnl_table *own = table_own(b, t);

			if (!own)
				err = -ENOMEM;
			else
				nftnl_table_set_u32(own, NFTNL_TABLE_FLAGS,
					nftnl_table_get_u32(nt, NFTNL_TABLE_FLAGS));
		}
	} else {
		nftnl_table_unset(nt, NFTNL_TABLE_USE);
		nftnl_table_unset(nt, NFTNL_TABLE_HANDLE);
		nftnl_table_set_u32(nt, NFTNL_TABLE_FAMILY, b->family);
		if (!nftnl_table_is_set(nt, NFTNL_TABLE_FLAGS))
			nftnl_table_set_u32(nt, NFTNL_TABLE_FLAGS, 0);
		err = nl_table_add(b->tx, nt);
		if (err == 0) {
			b->tx->last_name = nftnl_table_get_str(nt,
							       NFTNL_TABLE_NAME);
			return 0;
		}
	}
out:
	nftnl_table_free(nt);
	return err;
}

static int table_del(struct bctx *b)
{
	struct nftnl_table *nt = nftnl_table_alloc();
	struct fn_nft_ruleset *rs = &b->tx->rs;
	struct fn_nft_table *t = NULL;
	int err = 0;

	if (!nt)
		return -ENOMEM;
	if (nl_parse(NL_P_TABLE, b->nlh, nt) < 0) {
		err = -EINVAL;
	} else if (nftnl_table_is_set(nt, NFTNL_TABLE_NAME)) {
		t = table_get(b, nftnl_table_get_str(nt, NFTNL_TABLE_NAME));
	} else if (nftnl_table_is_set(nt, NFTNL_TABLE_HANDLE)) {
		t = nl_table_find_handle(rs, b->family,
			nftnl_table_get_u64(nt, NFTNL_TABLE_HANDLE));
	} else {
		/* flush ruleset: every table of the family (UNSPEC: all) */
		for (uint32_t i = rs->ntables; i-- > 0;)
			if (b->family == NFPROTO_UNSPEC ||
			    nftnl_table_get_u32(rs->tables[i]->nl,
						NFTNL_TABLE_FAMILY) == b->family)
				nl_table_del(b->tx, i);
		goto out;
	}
	if (!err && !t)
		err = fail_at(b, NFTA_TABLE_NAME, -1, -ENOENT, "no such table");
	for (uint32_t i = 0; t && i < rs->ntables; i++)
		if (rs->tables[i] == t)
			nl_table_del(b->tx, i);
out:
	nftnl_table_free(nt);
	return err;
}

/* ---- chains ----------------------------------------------------------------- */

/* A chain of type nat, as the kernel's nft_chain_nat (ip, inet): on
 * prerouting, input, output or postrouting only (no forward, ingress or
 * netdev), and after conntrack (nft_chain_parse_hook: a priority of at
 * most NF_IP_PRI_CONNTRACK, -200, is EOPNOTSUPP). */
static int chain_nat_check(struct bctx *b, uint32_t hook, bool ingress,
			   int32_t prio)
{
	if (b->family == NFPROTO_NETDEV)
		return fail(b, -ENOENT, "no chain type nat in family netdev");
	if (ingress || hook == NF_INET_FORWARD)
		return fail(b, -EOPNOTSUPP, "chain type nat: no such hook");
	if (prio <= -200)
		return fail(b, -EOPNOTSUPP,
			    "chain type nat: priority must be above -200");
	return 0;
}

static int chain_check_new(struct bctx *b, struct nftnl_chain *nc)
{
	bool base = nftnl_chain_is_set(nc, NFTNL_CHAIN_HOOKNUM);

	if (nftnl_chain_is_set(nc, NFTNL_CHAIN_FLAGS) &&
	    nftnl_chain_get_u32(nc, NFTNL_CHAIN_FLAGS) & ~NFT_CHAIN_BASE)
		return fail(b, -EOPNOTSUPP, "chain flags are not supported");
	if (!base && nftnl_chain_is_set(nc, NFTNL_CHAIN_POLICY))
		return fail(b, -EOPNOTSUPP, "policy on a non-base chain");
	if (!base)
		return 0;
	if (!nftnl_chain_is_set(nc, NFTNL_CHAIN_PRIO))
		return fail(b, -EINVAL, "base chain without priority");
	uint32_t hook = nftnl_chain_get_u32(nc, NFTNL_CHAIN_HOOKNUM);
	/* As the kernel: ip hooks 0..4; inet those and ingress (5, on a
	 * device); netdev ingress (egress does not exist in a stack). */
	bool ingress = (b->family == NFPROTO_NETDEV &&
			hook == NF_NETDEV_INGRESS) ||
		       (b->family == NFPROTO_INET && hook == NF_INET_INGRESS);
	if (!ingress && (b->family == NFPROTO_NETDEV ||
			 hook >= NF_INET_NUMHOOKS))
		return fail(b, -EOPNOTSUPP, "no such hook");
	if (ingress &&
	    !nftnl_chain_is_set(nc, NFTNL_CHAIN_DEV) &&
	    !nftnl_chain_is_set(nc, NFTNL_CHAIN_DEVICES))
		return fail(b, -EINVAL, "ingress base chain without device");
	if (nftnl_chain_is_set(nc, NFTNL_CHAIN_POLICY) &&
	    nftnl_chain_get_u32(nc, NFTNL_CHAIN_POLICY) > NF_ACCEPT)
		return fail(b, -EINVAL, "policy is neither accept nor drop");
	if (!nftnl_chain_is_set(nc, NFTNL_CHAIN_POLICY))
		nftnl_chain_set_u32(nc, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	if (!nftnl_chain_is_set(nc, NFTNL_CHAIN_TYPE))
		nftnl_chain_set_str(nc, NFTNL_CHAIN_TYPE, "filter");
	if (!strcmp(nftnl_chain_get_str(nc, NFTNL_CHAIN_TYPE), "nat")) {
		int err = chain_nat_check(b, hook, ingress,
					  nftnl_chain_get_s32(nc, NFTNL_CHAIN_PRIO));
		if (err)
			return err;
	} else if (strcmp(nftnl_chain_get_str(nc, NFTNL_CHAIN_TYPE), "filter")) {
		return fail(b, -EOPNOTSUPP, "only chains of type filter and nat");
	}
	nftnl_chain_set_u32(nc, NFTNL_CHAIN_FLAGS, NFT_CHAIN_BASE);
	return 0;
}

/* An existing chain: only a base chain's policy may change. */
/* The device of a netdev chain, "" if none (NFTA_HOOK_DEV or the first
 * of NFTA_HOOK_DEVS). */
static const char *chain_dev(struct nftnl_chain *c)
{
	const char *const *devs;

	if (nftnl_chain_is_set(c, NFTNL_CHAIN_DEV))
		return nftnl_chain_get_str(c, NFTNL_CHAIN_DEV);
	if (!nftnl_chain_is_set(c, NFTNL_CHAIN_DEVICES))
		return "";
	devs = nftnl_chain_get_array(c, NFTNL_CHAIN_DEVICES);
	return devs && devs[0] && !devs[1] ? devs[0] : "?";
}

/* Adding a chain that exists with a hook: the same hook, priority, type
 * and device, or the kernel's errors (nf_tables_updchain, 6.x): EEXIST
 * for a regular chain or another type, EOPNOTSUPP for another hook or
 * priority; another device (the kernel adds it to the chain's devices:
 * we take one) is EOPNOTSUPP too.  Never silently kept as it was. */
static int chain_hook_same(struct bctx *b, struct nftnl_chain *old,
			   struct nftnl_chain *nc)
{
	const char *ot, *nt;

	if (!nftnl_chain_is_set(nc, NFTNL_CHAIN_HOOKNUM))
		return 0;
	if (!nftnl_chain_is_set(old, NFTNL_CHAIN_HOOKNUM))
		return fail(b, -EEXIST, "a regular chain cannot get a hook");
	if (nftnl_chain_get_u32(nc, NFTNL_CHAIN_HOOKNUM) !=
	    nftnl_chain_get_u32(old, NFTNL_CHAIN_HOOKNUM) ||
	    (nftnl_chain_is_set(nc, NFTNL_CHAIN_PRIO) &&
	     nftnl_chain_get_s32(nc, NFTNL_CHAIN_PRIO) !=
	     nftnl_chain_get_s32(old, NFTNL_CHAIN_PRIO)))
		return fail(b, -EOPNOTSUPP,
			    "the chain's hook and priority cannot change");
	ot = nftnl_chain_is_set(old, NFTNL_CHAIN_TYPE) ?
	     nftnl_chain_get_str(old, NFTNL_CHAIN_TYPE) : "filter";
	nt = nftnl_chain_is_set(nc, NFTNL_CHAIN_TYPE) ?
	     nftnl_chain_get_str(nc, NFTNL_CHAIN_TYPE) : ot;
	if (strcmp(ot, nt))
		return fail(b, -EEXIST, "the chain's type cannot change");
	if ((nftnl_chain_is_set(nc, NFTNL_CHAIN_DEV) ||
	     nftnl_chain_is_set(nc, NFTNL_CHAIN_DEVICES)) &&
	    strcmp(chain_dev(old), chain_dev(nc)))
		return fail(b, -EOPNOTSUPP, "the chain's device cannot change");
	return 0;
}

static int chain_update(struct bctx *b, struct fn_nft_chain *c,
			struct nftnl_chain *nc)
{
	struct nftnl_chain *own;
	char *buf;
	struct nlmsghdr *nlh;

	int err;

	if (b->flags & NLM_F_EXCL)
		return fail_at(b, NFTA_CHAIN_NAME, -1, -EEXIST, "chain exists");
	err = chain_hook_same(b, c->nl, nc);
	if (err)
		return err;
	if (!nftnl_chain_is_set(nc, NFTNL_CHAIN_POLICY))
		return 0;
	if (!nftnl_chain_is_set(c->nl, NFTNL_CHAIN_HOOKNUM))
		return fail(b, -EOPNOTSUPP, "policy on a non-base chain");
	if (nftnl_chain_get_u32(nc, NFTNL_CHAIN_POLICY) > NF_ACCEPT)
		return fail(b, -EINVAL, "policy is neither accept nor drop");
	if (nl_chain_of(c)->fresh) {
		nftnl_chain_set_u32(c->nl, NFTNL_CHAIN_POLICY,
				    nftnl_chain_get_u32(nc, NFTNL_CHAIN_POLICY));
		return 0;
	}
	/* copy through the wire format: libnftnl has no chain clone */
	buf = malloc(NL_MSG_ROOM);
	own = nftnl_chain_alloc();
	if (!buf || !own) {
		free(buf);
		if (own)
			nftnl_chain_free(own);
		return -ENOMEM;
	}
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWCHAIN, b->family, 0, 0);
	nftnl_chain_nlmsg_build_payload(nlh, c->nl);
	if (nl_parse(NL_P_CHAIN, nlh, own) < 0) {
		free(buf);
		nftnl_chain_free(own);
		return -ENOMEM;
	}
	free(buf);
	nftnl_chain_set_u64(own, NFTNL_CHAIN_HANDLE,
			    nftnl_chain_get_u64(c->nl, NFTNL_CHAIN_HANDLE));
	nftnl_chain_set_u32(own, NFTNL_CHAIN_POLICY,
			    nftnl_chain_get_u32(nc, NFTNL_CHAIN_POLICY));
	nl_txn_born(b->tx, NL_K_CHAIN, own);
	nl_txn_drop(b->tx, NL_K_CHAIN, c->nl);
	c->nl = own;
	nl_chain_of(c)->fresh = true;
	return 0;
}

static int chain_new(struct bctx *b)
{
	struct nftnl_chain *nc = nftnl_chain_alloc();
	struct fn_nft_table *t;
	struct fn_nft_chain *c;
	const char *name;
	uint32_t ulen = 0;
	int err;

	if (!nc)
		return -ENOMEM;
	if (nl_parse(NL_P_CHAIN, b->nlh, nc) < 0) {
		err = fail(b, -EINVAL, "chain: malformed");
		goto out;
	}
	t = table_get(b, nftnl_chain_get_str(nc, NFTNL_CHAIN_TABLE));
	name = nftnl_chain_get_str(nc, NFTNL_CHAIN_NAME);
	if (!t) {
		err = fail_at(b, NFTA_CHAIN_TABLE, -1, -ENOENT, "no such table");
		goto out;
	}
	if (nftnl_chain_is_set(nc, NFTNL_CHAIN_HANDLE)) {
		err = fail(b, -EOPNOTSUPP, "renaming a chain is not supported");
		goto out;
	}
	if (!name_ok(name)) {
		err = fail(b, -EINVAL, "chain: no valid name");
		goto out;
	}
	if (udata_len(nftnl_chain_is_set(nc, NFTNL_CHAIN_USERDATA),
		      nftnl_chain_get_data(nc, NFTNL_CHAIN_USERDATA, &ulen),
		      ulen) > UDATA_MAX_LEN) {
		err = fail(b, -ERANGE, "chain: user data too long");
		goto out;
	}
	c = nl_chain_find(t, name);
	if (c) {
		err = chain_update(b, c, nc);
		b->tx->last_name = nftnl_chain_get_str(c->nl, NFTNL_CHAIN_NAME);
		goto out;
	}
	err = chain_check_new(b, nc);
	if (err < 0)
		goto out;
	nftnl_chain_set_u32(nc, NFTNL_CHAIN_FAMILY, b->family);
	nftnl_chain_unset(nc, NFTNL_CHAIN_USE);
	nftnl_chain_unset(nc, NFTNL_CHAIN_BYTES);
	nftnl_chain_unset(nc, NFTNL_CHAIN_PACKETS);
	err = nl_chain_add(b->tx, t, nc,
			   nftnl_chain_is_set(nc, NFTNL_CHAIN_ID) ?
			   nftnl_chain_get_u32(nc, NFTNL_CHAIN_ID) : 0);
	nftnl_chain_unset(nc, NFTNL_CHAIN_ID);
	if (err == 0) {
		b->tx->last_name = nftnl_chain_get_str(nc, NFTNL_CHAIN_NAME);
		return 0;
	}
out:
	nftnl_chain_free(nc);
	return err;
}

static int chain_del(struct bctx *b)
{
	struct nftnl_chain *nc = nftnl_chain_alloc();
	struct fn_nft_table *t;
	struct fn_nft_chain *c = NULL;
	int err = 0;

	if (!nc)
		return -ENOMEM;
	if (nl_parse(NL_P_CHAIN, b->nlh, nc) < 0) {
		err = -EINVAL;
		goto out;
	}
	t = table_get(b, nftnl_chain_get_str(nc, NFTNL_CHAIN_TABLE));
	if (t && nftnl_chain_is_set(nc, NFTNL_CHAIN_NAME))
		c = nl_chain_find(t, nftnl_chain_get_str(nc, NFTNL_CHAIN_NAME));
	else if (t && nftnl_chain_is_set(nc, NFTNL_CHAIN_HANDLE))
		c = nl_chain_find_handle(t,
			nftnl_chain_get_u64(nc, NFTNL_CHAIN_HANDLE));
	if (!c) {
		err = t ? fail_at(b, by_name(b, NFTA_CHAIN_NAME, NFTA_CHAIN_HANDLE),
				    -1, -ENOENT, "no such chain")
			  : fail_at(b, NFTA_CHAIN_TABLE, -1, -ENOENT, "no such table");
		goto out;
	}
	if (nl_chain_referenced(t, nftnl_chain_get_str(c->nl,
						       NFTNL_CHAIN_NAME))) {
		err = fail_at(b, by_name(b, NFTA_CHAIN_NAME, NFTA_CHAIN_HANDLE), -1,
			      -EBUSY,
			      "chain is the target of a jump or goto");
		goto out;
	}
	for (uint32_t i = 0; i < t->nchains; i++)
		if (t->chains[i] == c)
			nl_chain_del(b->tx, t, i);
out:
	nftnl_chain_free(nc);
	return err;
}

/* ---- rules ------------------------------------------------------------------- */

/*
 * Set a string attribute of an expression to name, unless it is that
 * already.  libnftnl 1.2.4's setters for these attributes do not free the
 * string they replace (checked with ASan); meson defines
 * FN_NFTNL_SET_STR_LEAKS for that version only, and we free it.
 */
static void expr_set_name(struct nftnl_expr *e, uint16_t attr,
			  const char *name)
{
	const char *old = nftnl_expr_is_set(e, attr) ?
			  nftnl_expr_get_str(e, attr) : NULL;

	if (old && !strcmp(old, name))
		return;
	nftnl_expr_set_str(e, attr, name);
#ifdef FN_NFTNL_SET_STR_LEAKS
	free((char *)old);
#endif
}

struct resolve {
	struct bctx *b;
	struct fn_nft_table *t;
	struct fn_nft_set *bind[8];	/* anonymous sets to bind */
	unsigned nbind;
	unsigned idx;			/* of the expression being resolved */
	int err;
};

static int resolve_set(struct resolve *r, struct nftnl_expr *e,
		       uint16_t name_attr, uint16_t id_attr)
{
	struct fn_nft_set *s = NULL;

	if (nftnl_expr_is_set(e, id_attr))
		s = nl_set_find_id(r->t, nftnl_expr_get_u32(e, id_attr));
	if (!s && nftnl_expr_is_set(e, name_attr) &&
	    name_ok(nftnl_expr_get_str(e, name_attr)))
		s = nl_set_find(r->t, nftnl_expr_get_str(e, name_attr));
	if (!s)
		return fail_at(r->b, NFTA_RULE_EXPRESSIONS, (int)r->idx, -ENOENT,
			       "rule: no such set");
	expr_set_name(e, name_attr, nftnl_set_get_str(s->nl, NFTNL_SET_NAME));
	if ((nftnl_set_get_u32(s->nl, NFTNL_SET_FLAGS) & NFT_SET_ANONYMOUS) &&
	    !nl_set_of(s)->bound_rule) {
		if (r->nbind == sizeof(r->bind) / sizeof(r->bind[0]))
			return fail(r->b, -EOPNOTSUPP,
				    "rule: too many anonymous sets");
		r->bind[r->nbind++] = s;
	}
	return 0;
}

static int resolve_chain(struct resolve *r, struct nftnl_expr *e)
{
	struct fn_nft_chain *c = NULL;

	if (nftnl_expr_is_set(e, NFTNL_EXPR_IMM_CHAIN_ID))
		c = nl_chain_find_id(r->t,
			nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_CHAIN_ID));
	if (!c && nftnl_expr_is_set(e, NFTNL_EXPR_IMM_CHAIN) &&
	    name_ok(nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN)))
		c = nl_chain_find(r->t, nftnl_expr_get_str(e,
							  NFTNL_EXPR_IMM_CHAIN));
	if (!c && (nftnl_expr_is_set(e, NFTNL_EXPR_IMM_CHAIN) ||
		   nftnl_expr_is_set(e, NFTNL_EXPR_IMM_CHAIN_ID)))
		return fail_at(r->b, NFTA_RULE_EXPRESSIONS, (int)r->idx, -ENOENT,
			       "rule: jump to no such chain");
	/* the kernel's nft_verdict_init */
	if (c && nftnl_chain_is_set(c->nl, NFTNL_CHAIN_HOOKNUM))
		return fail_at(r->b, NFTA_RULE_EXPRESSIONS, (int)r->idx,
			       -EOPNOTSUPP, "rule: jump or goto to a base chain");
	if (c) {
		expr_set_name(e, NFTNL_EXPR_IMM_CHAIN,
			      nftnl_chain_get_str(c->nl, NFTNL_CHAIN_NAME));
	}
	return 0;
}

/* The name in attribute a (nl_validate: 1..NFT_NAME_MAXLEN - 1 bytes
 * before a NUL, if any) into e's attr. */
static void objref_name(struct nftnl_expr *e, uint16_t attr,
			const struct nlattr *a)
{
	char name[NFT_NAME_MAXLEN];
	size_t len = strnlen(mnl_attr_get_payload(a),
			     mnl_attr_get_payload_len(a));

	memcpy(name, mnl_attr_get_payload(a), len);
	name[len] = '\0';
	expr_set_name(e, attr, name);
}

/* libnftnl 1.2.4 sends an objref's object and set names without their
 * NUL (mnl_attr_put_str; the kernel's NLA_STRING allows it) and its
 * parser strdup()s them, running on into the padding or the next
 * attribute (bounded by the NUL after the datagram, nl_validate.c):
 * each is taken again by its attribute's length, as the kernel does. */
static void objref_names(struct bctx *b, struct nftnl_rule *nr)
{
	const struct nlattr *top, *list = NULL, *x, *d, *a;
	struct nftnl_expr_iter *it;
	struct nftnl_expr *e;

	mnl_attr_for_each(top, b->nlh, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(top) == NFTA_RULE_EXPRESSIONS)
			list = top;
	if (!list || !(it = nftnl_expr_iter_create(nr)))
		return;
	mnl_attr_for_each_nested(x, list) {
		if (!(e = nftnl_expr_iter_next(it)))
			break;
		if (strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "objref"))
			continue;
		mnl_attr_for_each_nested(d, x) {
			if (mnl_attr_get_type(d) != NFTA_EXPR_DATA)
				continue;
			mnl_attr_for_each_nested(a, d) {
				if (mnl_attr_get_type(a) == NFTA_OBJREF_IMM_NAME)
					objref_name(e, NFTNL_EXPR_OBJREF_IMM_NAME, a);
				else if (mnl_attr_get_type(a) == NFTA_OBJREF_SET_NAME)
					objref_name(e, NFTNL_EXPR_OBJREF_SET_NAME, a);
			}
		}
	}
	nftnl_expr_iter_destroy(it);
}

/* nft_objref_select_ops and nft_objref_init: an object of the table, or
 * (nft_objref_map_init) an object map of it. */
static int resolve_obj(struct resolve *r, struct nftnl_expr *e)
{
	if (nftnl_expr_is_set(e, NFTNL_EXPR_OBJREF_SET_SREG) &&
	    (nftnl_expr_is_set(e, NFTNL_EXPR_OBJREF_SET_NAME) ||
	     nftnl_expr_is_set(e, NFTNL_EXPR_OBJREF_SET_ID)))
		return resolve_set(r, e, NFTNL_EXPR_OBJREF_SET_NAME,
				   NFTNL_EXPR_OBJREF_SET_ID);
	if (!nftnl_expr_is_set(e, NFTNL_EXPR_OBJREF_IMM_NAME) ||
	    !nftnl_expr_is_set(e, NFTNL_EXPR_OBJREF_IMM_TYPE))
		return fail(r->b, -EOPNOTSUPP, "rule: objref without object");
	/* ct helper, ct timeout, ct expectation, synproxy...: no such
	 * object can exist here (NEWOBJ refuses them) */
	switch (nftnl_expr_get_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE)) {
	case NFT_OBJECT_COUNTER: case NFT_OBJECT_QUOTA: case NFT_OBJECT_LIMIT:
		break;
	default:
		return fail(r->b, -EOPNOTSUPP,
			    "rule: objects of type %u are not supported",
			    nftnl_expr_get_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE));
	}
	if (!name_ok(nftnl_expr_get_str(e, NFTNL_EXPR_OBJREF_IMM_NAME)) ||
	    nl_obj_find(r->t, nftnl_expr_get_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE),
			nftnl_expr_get_str(e, NFTNL_EXPR_OBJREF_IMM_NAME)) < 0)
		return fail_at(r->b, NFTA_RULE_EXPRESSIONS, (int)r->idx, -ENOENT,
			       "rule: no such object");
	return 0;
}

static int resolve_expr(struct nftnl_expr *e, void *data)
{
	struct resolve *r = data;
	const char *n = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

	if (!strcmp(n, "lookup"))
		r->err = resolve_set(r, e, NFTNL_EXPR_LOOKUP_SET,
				     NFTNL_EXPR_LOOKUP_SET_ID);
	else if (!strcmp(n, "dynset"))
		r->err = resolve_set(r, e, NFTNL_EXPR_DYNSET_SET_NAME,
				     NFTNL_EXPR_DYNSET_SET_ID);
	else if (!strcmp(n, "objref"))
		r->err = resolve_obj(r, e);
	else if (!strcmp(n, "immediate"))
		r->err = resolve_chain(r, e);
	if (r->err)
		return -1;
	r->idx++;
	return 0;
}

static int rule_id_put(struct nl_txn *tx, uint32_t id, uint64_t handle)
{
	if (tx->nrule_ids + 3 > tx->crule_ids) {
		size_t c = tx->crule_ids ? tx->crule_ids * 2 : 96;
		uint32_t *p = realloc(tx->rule_ids, c * sizeof(*p));

		if (!p)
			return -ENOMEM;
		tx->rule_ids = p;
		tx->crule_ids = c;
	}
	tx->rule_ids[tx->nrule_ids++] = id;
	tx->rule_ids[tx->nrule_ids++] = (uint32_t)(handle >> 32);
	tx->rule_ids[tx->nrule_ids++] = (uint32_t)handle;
	return 0;
}

static uint64_t rule_id_get(const struct nl_txn *tx, uint32_t id)
{
	for (size_t i = tx->nrule_ids; i >= 3; i -= 3)
		if (tx->rule_ids[i - 3] == id)
			return (uint64_t)tx->rule_ids[i - 2] << 32 |
			       tx->rule_ids[i - 1];
	return 0;
}

/* Where a new rule goes: -ENOENT if its position does not exist. */
static int rule_pos(struct bctx *b, struct fn_nft_chain *c,
		    struct nftnl_rule *nr)
{
	bool append = b->flags & NLM_F_APPEND;
	uint64_t at = 0;
	int i;

	if (nftnl_rule_is_set(nr, NFTNL_RULE_POSITION))
		at = nftnl_rule_get_u64(nr, NFTNL_RULE_POSITION);
	else if (nftnl_rule_is_set(nr, NFTNL_RULE_POSITION_ID))
		at = rule_id_get(b->tx, nftnl_rule_get_u32(nr,
						NFTNL_RULE_POSITION_ID));
	else
		return append ? (int)c->nrules : 0;
	i = at ? nl_rule_find(c, at) : -1;
	if (i < 0)
		return fail_at(b, NFTA_RULE_POSITION, -1, -ENOENT,
			       "rule: no rule at that position");
	return append ? i + 1 : i;
}

/* Where rule nr goes (*pos) and its handle (*h): the rule it replaces,
 * or a position and a new handle.  As the kernel's nf_tables_newrule,
 * the handle is taken after the position is found and before the
 * expressions are: a rule refused for an expression, or in a batch that
 * is aborted, still used up a handle (the kernel never gives one back). */
static int rule_slot(struct bctx *b, struct fn_nft_table *t,
		     struct fn_nft_chain *c, struct nftnl_rule *nr, int *pos,
		     uint64_t *h)
{
	if (nftnl_rule_is_set(nr, NFTNL_RULE_HANDLE)) {
		*h = nftnl_rule_get_u64(nr, NFTNL_RULE_HANDLE);
		*pos = nl_rule_find(c, *h);
		if (!(b->flags & NLM_F_REPLACE))
			return fail(b, -EOPNOTSUPP, "rule: handle without replace");
		if (*pos < 0)
			return fail_at(b, NFTA_RULE_HANDLE, -1, -ENOENT,
				       "rule: no such handle");
		return 0;
	}
	*pos = rule_pos(b, c, nr);
	if (*pos < 0)
		return *pos;
	*h = ++nl_table_of(t)->next_handle;
	return 0;
}

static int rule_place(struct bctx *b, struct fn_nft_table *t,
		      struct fn_nft_chain *c, struct nftnl_rule *nr,
		      struct resolve *r, int pos, uint64_t h)
{
	int err;

	if (nftnl_rule_is_set(nr, NFTNL_RULE_HANDLE))
		nl_rule_del(b->tx, t, c, (uint32_t)pos);	/* replaced */
	if (nftnl_rule_is_set(nr, NFTNL_RULE_ID)) {
		err = rule_id_put(b->tx, nftnl_rule_get_u32(nr, NFTNL_RULE_ID), h);
		if (err < 0)
			return err;
	}
	nftnl_rule_set_u64(nr, NFTNL_RULE_HANDLE, h);
	nftnl_rule_set_u32(nr, NFTNL_RULE_FAMILY, b->family);
	b->tx->last_rule_handle = h;
	nftnl_rule_unset(nr, NFTNL_RULE_POSITION);
	nftnl_rule_unset(nr, NFTNL_RULE_POSITION_ID);
	nftnl_rule_unset(nr, NFTNL_RULE_ID);
	for (unsigned i = 0; i < r->nbind; i++)
		nl_set_of(r->bind[i])->bound_rule = h;
	return nl_rule_insert(b->tx, c, (uint32_t)pos, nr);
}

/* A ct expression whose direction the kernel takes and forgets
 * (nft_ct_get_init parses it for every key that does not refuse one,
 * nft_ct_get_dump lists it only for addresses, ports, counters and the
 * zone): l3proto, protocol, labels, id.  -EINVAL for a direction that is
 * neither original nor reply. */
static int ct_dir_dropped(struct nftnl_expr *e)
{
	if (strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "ct") ||
	    !nftnl_expr_is_set(e, NFTNL_EXPR_CT_DIR) ||
	    !nftnl_expr_is_set(e, NFTNL_EXPR_CT_DREG) ||
	    !nftnl_expr_is_set(e, NFTNL_EXPR_CT_KEY))
		return 0;
	switch (nftnl_expr_get_u32(e, NFTNL_EXPR_CT_KEY)) {
	case NFT_CT_L3PROTOCOL:
	case NFT_CT_PROTOCOL:
	case NFT_CT_LABELS:
	case NFT_CT_ID:
		return nftnl_expr_get_u8(e, NFTNL_EXPR_CT_DIR) > 1 ? -EINVAL : 1;
	default:
		return 0;
	}
}

/* Drop those directions, so that the rule lists as the kernel's.
 * libnftnl cannot unset an expression's attribute: the rule's
 * expressions are taken off and put back in order, each such one
 * replaced by a copy without its direction. */
static int rule_ct_dirs(struct bctx *b, struct nftnl_rule *nr)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(nr);
	struct nftnl_expr *e, **all = NULL;
	size_t n = 0, cap = 0;
	bool any = false;
	int err = 0;

	if (!it)
		return -ENOMEM;
	while ((e = nftnl_expr_iter_next(it))) {
		int d = ct_dir_dropped(e);

		if (d < 0) {
			err = fail_at(b, NFTA_RULE_EXPRESSIONS, (int)n, d,
				      "ct: direction out of range");
			break;
		}
		any |= d > 0;
		if (n == cap) {
			struct nftnl_expr **m = realloc(all, (cap = cap ? cap * 2 : 16) *
							sizeof(*m));
			if (!m) {
				err = -ENOMEM;
				break;
			}
			all = m;
		}
		all[n++] = e;
	}
	nftnl_expr_iter_destroy(it);
	for (size_t i = 0; !err && any && i < n; i++) {
		struct nftnl_expr *x = all[i];

		if (ct_dir_dropped(x) > 0) {
			struct nftnl_expr *y = nftnl_expr_alloc("ct");

			if (!y) {
				err = -ENOMEM;	/* the rule keeps the rest */
				break;
			}
			nftnl_expr_set_u32(y, NFTNL_EXPR_CT_KEY,
					   nftnl_expr_get_u32(x, NFTNL_EXPR_CT_KEY));
			nftnl_expr_set_u32(y, NFTNL_EXPR_CT_DREG,
					   nftnl_expr_get_u32(x, NFTNL_EXPR_CT_DREG));
			nftnl_rule_del_expr(x);
			nftnl_expr_free(x);
			x = y;
		} else {
			nftnl_rule_del_expr(x);
		}
		nftnl_rule_add_expr(nr, x);
	}
	free(all);
	return err;
}

/* nat, masq and redir as the kernel keeps and lists them (nft_nat_init,
 * nft_masq_init, nft_redir_init and their dumps): a missing maximum
 * register is the minimum's; nat adds NF_NAT_RANGE_MAP_IPS with an
 * address and NF_NAT_RANGE_PROTO_SPECIFIED with a port to its flags, and
 * lists its flags when they are not 0.  Only attributes are added: the
 * expression is changed in place.  Always 0 (nftnl_expr_foreach). */
static void nat_max(struct nftnl_expr *e, uint16_t min, uint16_t max)
{
	if (nftnl_expr_is_set(e, min) && !nftnl_expr_is_set(e, max))
		nftnl_expr_set_u32(e, max, nftnl_expr_get_u32(e, min));
}

static int rule_nat_expr(struct nftnl_expr *e, void *data)
{
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	uint32_t flags = 0;

	(void)data;
	if (!strcmp(name, "masq")) {
		nat_max(e, NFTNL_EXPR_MASQ_REG_PROTO_MIN,
			NFTNL_EXPR_MASQ_REG_PROTO_MAX);
	} else if (!strcmp(name, "redir")) {
		nat_max(e, NFTNL_EXPR_REDIR_REG_PROTO_MIN,
			NFTNL_EXPR_REDIR_REG_PROTO_MAX);
	} else if (!strcmp(name, "nat")) {
		nat_max(e, NFTNL_EXPR_NAT_REG_ADDR_MIN,
			NFTNL_EXPR_NAT_REG_ADDR_MAX);
		nat_max(e, NFTNL_EXPR_NAT_REG_PROTO_MIN,
			NFTNL_EXPR_NAT_REG_PROTO_MAX);
		if (nftnl_expr_is_set(e, NFTNL_EXPR_NAT_FLAGS))
			flags = nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_FLAGS);
		if (nftnl_expr_is_set(e, NFTNL_EXPR_NAT_REG_ADDR_MIN))
			flags |= NF_NAT_RANGE_MAP_IPS;
		if (nftnl_expr_is_set(e, NFTNL_EXPR_NAT_REG_PROTO_MIN))
			flags |= NF_NAT_RANGE_PROTO_SPECIFIED;
		if (flags)
			nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS, flags);
	}
	return 0;
}

static int rule_new(struct bctx *b)
{
	struct nftnl_rule *nr = nftnl_rule_alloc();
	struct resolve r = { .b = b };
	struct fn_nft_chain *c = NULL;
	uint32_t ulen = 0;
	uint64_t h = 0;
	int err, pos = 0;

	if (!nr)
		return -ENOMEM;
	if (nl_parse(NL_P_RULE, b->nlh, nr) < 0) {
		err = fail(b, -EOPNOTSUPP, "rule: malformed or unknown expression");
		goto out;
	}
	if (udata_len(nftnl_rule_is_set(nr, NFTNL_RULE_USERDATA),
		      nftnl_rule_get_data(nr, NFTNL_RULE_USERDATA, &ulen),
		      ulen) > UDATA_MAX_LEN) {
		err = fail(b, -ERANGE, "rule: user data too long");
		goto out;
	}
	r.t = table_get(b, nftnl_rule_get_str(nr, NFTNL_RULE_TABLE));
	if (r.t && name_ok(nftnl_rule_get_str(nr, NFTNL_RULE_CHAIN)))
		c = nl_chain_find(r.t, nftnl_rule_get_str(nr, NFTNL_RULE_CHAIN));
	if (!c) {
		err = r.t ? fail_at(b, NFTA_RULE_CHAIN, -1, -ENOENT, "no such chain")
			    : fail_at(b, NFTA_RULE_TABLE, -1, -ENOENT, "no such table");
		goto out;
	}
	err = rule_slot(b, r.t, c, nr, &pos, &h);
	if (err == 0)
		err = rule_ct_dirs(b, nr);
	if (err == 0) {
		nftnl_expr_foreach(nr, rule_nat_expr, NULL);
		objref_names(b, nr);
	}
	if (err == 0) {
		nftnl_expr_foreach(nr, resolve_expr, &r);
		err = r.err;
	}
	if (err == 0)
		err = rule_place(b, r.t, c, nr, &r, pos, h);
	if (err == 0)
		return 0;
out:
	nftnl_rule_free(nr);
	return err;
}

static int rule_del_in(struct bctx *b, struct fn_nft_table *t,
		       struct fn_nft_chain *c, struct nftnl_rule *nr)
{
	uint64_t h = 0;

	if (nftnl_rule_is_set(nr, NFTNL_RULE_HANDLE))
		h = nftnl_rule_get_u64(nr, NFTNL_RULE_HANDLE);
	else if (nftnl_rule_is_set(nr, NFTNL_RULE_ID))
		h = rule_id_get(b->tx, nftnl_rule_get_u32(nr, NFTNL_RULE_ID));
	else {			/* flush the chain, or every chain */
		for (uint32_t i = 0; i < t->nchains; i++)
			while ((!c || t->chains[i] == c) && t->chains[i]->nrules)
				nl_rule_del(b->tx, t, t->chains[i],
					    t->chains[i]->nrules - 1);
		return 0;
	}
	for (uint32_t i = 0; h && i < t->nchains; i++) {
		int pos = (!c || t->chains[i] == c) ?
			  nl_rule_find(t->chains[i], h) : -1;

		if (pos >= 0) {
			nl_rule_del(b->tx, t, t->chains[i], (uint32_t)pos);
			return 0;
		}
	}
	return fail_at(b, NFTA_RULE_HANDLE, -1, -ENOENT, "no such rule");
}

static int rule_del(struct bctx *b)
{
	struct nftnl_rule *nr = nftnl_rule_alloc();
	struct fn_nft_table *t;
	struct fn_nft_chain *c = NULL;
	int err;

	if (!nr)
		return -ENOMEM;
	if (nl_parse(NL_P_RULE, b->nlh, nr) < 0) {
		err = -EINVAL;
		goto out;
	}
	t = table_get(b, nftnl_rule_get_str(nr, NFTNL_RULE_TABLE));
	if (t && nftnl_rule_is_set(nr, NFTNL_RULE_CHAIN)) {
		c = nl_chain_find(t, nftnl_rule_get_str(nr, NFTNL_RULE_CHAIN));
		if (!c) {
			err = fail_at(b, NFTA_RULE_CHAIN, -1, -ENOENT, "no such chain");
			goto out;
		}
	}
	err = t ? rule_del_in(b, t, c, nr) : fail_at(b, NFTA_RULE_TABLE, -1, -ENOENT,
						  "no such table");
out:
	nftnl_rule_free(nr);
	return err;
}

/* ---- sets ------------------------------------------------------------------- */

/* "__set%d" -> the table's next free name. */
static int set_name_alloc(struct bctx *b, struct fn_nft_table *t,
			  struct nftnl_set *ns)
{
	const char *fmt = nftnl_set_get_str(ns, NFTNL_SET_NAME);
	const char *pc = strchr(fmt, '%');
	char name[NFT_NAME_MAXLEN + 16];
	char prefix[NFT_NAME_MAXLEN];

	if (!pc)
		return 0;
	if (strcmp(pc, "%d") || (size_t)(pc - fmt) >= sizeof(prefix) - 12)
		return fail(b, -EINVAL, "set: bad name template");
	memcpy(prefix, fmt, (size_t)(pc - fmt));
	prefix[pc - fmt] = '\0';
	for (uint32_t tries = 0; tries < (1u << 20); tries++) {
		snprintf(name, sizeof(name), "%s%u", prefix,
			 nl_table_of(t)->anon_next++);
		if (!nl_set_find(t, name)) {
			nftnl_set_set_str(ns, NFTNL_SET_NAME, name);
			return 0;
		}
	}
	return fail(b, -ENFILE, "set: no free name");
}

static int set_check_new(struct bctx *b, struct nftnl_set *ns)
{
	uint32_t klen = nftnl_set_is_set(ns, NFTNL_SET_KEY_LEN) ?
			nftnl_set_get_u32(ns, NFTNL_SET_KEY_LEN) : 0;
	uint32_t flags = nftnl_set_is_set(ns, NFTNL_SET_FLAGS) ?
			 nftnl_set_get_u32(ns, NFTNL_SET_FLAGS) : 0;

	uint32_t ulen = 0;

	if (klen == 0 || klen > KEY_MAX_LEN)
		return fail(b, -EINVAL, "set: key length %u", klen);
	if (udata_len(nftnl_set_is_set(ns, NFTNL_SET_USERDATA),
		      nftnl_set_get_data(ns, NFTNL_SET_USERDATA, &ulen),
		      ulen) > UDATA_MAX_LEN)
		return fail(b, -ERANGE, "set: user data too long");
	/* object maps: of the objects NEWOBJ takes (the rest, set.c) */
	if ((flags & NFT_SET_OBJECT) && !nftnl_set_is_set(ns, NFTNL_SET_OBJ_TYPE))
		return fail(b, -EINVAL, "object map without object type");
	if ((flags & NFT_SET_OBJECT) &&
	    nftnl_set_get_u32(ns, NFTNL_SET_OBJ_TYPE) != NFT_OBJECT_COUNTER &&
	    nftnl_set_get_u32(ns, NFTNL_SET_OBJ_TYPE) != NFT_OBJECT_QUOTA &&
	    nftnl_set_get_u32(ns, NFTNL_SET_OBJ_TYPE) != NFT_OBJECT_LIMIT)
		return fail(b, -EOPNOTSUPP, "set: maps of objects of type %u "
			    "are not supported",
			    nftnl_set_get_u32(ns, NFTNL_SET_OBJ_TYPE));
	if ((flags & NFT_SET_MAP) && !nftnl_set_is_set(ns, NFTNL_SET_DATA_TYPE))
		return fail(b, -EINVAL, "map without data type");
	if (nftnl_set_is_set(ns, NFTNL_SET_DATA_LEN) &&
	    nftnl_set_get_u32(ns, NFTNL_SET_DATA_LEN) > KEY_MAX_LEN)
		return fail(b, -EINVAL, "map: data length");
	nftnl_set_set_u32(ns, NFTNL_SET_FLAGS, flags);
	return 0;
}

static int set_new(struct bctx *b)
{
	struct nftnl_set *ns = nftnl_set_alloc();
	struct fn_nft_table *t;
	uint32_t id;
	int err;

	if (!ns)
		return -ENOMEM;
	if (nl_parse(NL_P_SET, b->nlh, ns) < 0 ||
	    !name_ok(nftnl_set_get_str(ns, NFTNL_SET_NAME))) {
		err = fail(b, -EINVAL, "set: malformed or no name");
		goto out;
	}
	t = table_get(b, nftnl_set_get_str(ns, NFTNL_SET_TABLE));
	if (!t) {
		err = fail_at(b, NFTA_SET_TABLE, -1, -ENOENT, "no such table");
		goto out;
	}
	err = set_name_alloc(b, t, ns);
	if (err < 0)
		goto out;
	if (nl_set_find(t, nftnl_set_get_str(ns, NFTNL_SET_NAME))) {
		err = (b->flags & NLM_F_EXCL) ? fail_at(b, NFTA_SET_NAME, -1, -EEXIST, "set exists")
					      : 0;
		goto out;
	}
	err = set_check_new(b, ns);
	if (err < 0)
		goto out;
	id = nftnl_set_is_set(ns, NFTNL_SET_ID) ?
	     nftnl_set_get_u32(ns, NFTNL_SET_ID) : 0;
	nftnl_set_unset(ns, NFTNL_SET_ID);
	nftnl_set_set_u32(ns, NFTNL_SET_FAMILY, b->family);
	err = nl_set_add(b->tx, t, ns, id);
	if (err == 0) {
		b->tx->last_name = nftnl_set_get_str(ns, NFTNL_SET_NAME);
		return 0;
	}
out:
	nftnl_set_free(ns);
	return err;
}

static int set_del(struct bctx *b)
{
	struct nftnl_set *ns = nftnl_set_alloc();
	struct fn_nft_table *t;
	struct fn_nft_set *s = NULL;
	int err = 0;

	if (!ns)
		return -ENOMEM;
	if (nl_parse(NL_P_SET, b->nlh, ns) < 0) {
		err = -EINVAL;
		goto out;
	}
	t = table_get(b, nftnl_set_get_str(ns, NFTNL_SET_TABLE));
	if (t && nftnl_set_is_set(ns, NFTNL_SET_NAME))
		s = nl_set_find(t, nftnl_set_get_str(ns, NFTNL_SET_NAME));
	else if (t && nftnl_set_is_set(ns, NFTNL_SET_HANDLE))
		s = nl_set_find_handle(t, nftnl_set_get_u64(ns,
							    NFTNL_SET_HANDLE));
	if (!s) {
		err = t ? fail_at(b, by_name(b, NFTA_SET_NAME, NFTA_SET_HANDLE),
				    -1, -ENOENT, "no such set")
			  : fail_at(b, NFTA_SET_TABLE, -1, -ENOENT, "no such table");
		goto out;
	}
	if (nl_set_of(s)->bound_rule ||
	    nl_set_referenced(t, nftnl_set_get_str(s->nl, NFTNL_SET_NAME))) {
		err = fail_at(b, by_name(b, NFTA_SET_NAME, NFTA_SET_HANDLE), -1,
			      -EBUSY, "set is in use by a rule");
		goto out;
	}
	for (uint32_t i = 0; i < t->nsets; i++)
		if (t->sets[i] == s)
			nl_set_del(b->tx, t, i);
out:
	nftnl_set_free(ns);
	return err;
}

/* ---- set elements -------------------------------------------------------------- */

struct elem_ctx {
	struct bctx *b;
	struct fn_nft_table *t;
	struct nl_set *s;
	struct nl_set gone;	/* DELSETELEM: the elements to remove */
	unsigned idx;		/* of the element being applied */
	int err;
};

/* An object map's element names an object of the map's type in its
 * table (nft_set_elem_init: NFTA_SET_ELEM_OBJREF, ENOENT for none). */
static int elem_obj_check(struct elem_ctx *x, struct nftnl_set_elem *e,
			  bool end)
{
	uint32_t type = nftnl_set_get_u32(x->s->pub.nl, NFTNL_SET_OBJ_TYPE);

	if (!nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_OBJREF))
		return end ? 0 : fail(x->b, -EINVAL, "element without object");
	if (!name_ok(nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_OBJREF)) ||
	    nl_obj_find(x->t, type,
			nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_OBJREF)) < 0)
		return fail_at(x->b, NFTA_SET_ELEM_LIST_ELEMENTS, (int)x->idx,
			       -ENOENT, "element: no such object");
	return 0;
}

static int elem_check(struct elem_ctx *x, struct nftnl_set_elem *e)
{
	struct nftnl_set *set = x->s->pub.nl;
	uint32_t klen = nftnl_set_get_u32(set, NFTNL_SET_KEY_LEN), len = 0;
	bool map = nftnl_set_get_u32(set, NFTNL_SET_FLAGS) & NFT_SET_MAP;
	bool end = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS) &&
		   (nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) &
		    NFT_SET_ELEM_INTERVAL_END);

	/* A catch-all (`*` in a map) has no key, by design. */
	bool catchall = nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS) &&
			(nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) &
			 NFT_SET_ELEM_CATCHALL);

	if (catchall && (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_KEY) ||
			 nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_KEY_END)))
		return fail(x->b, -EINVAL, "catch-all element with a key");
	if (!catchall && !nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_KEY))
		return fail(x->b, -EINVAL, "element without key");
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_USERDATA)) {
		nftnl_set_elem_get(e, NFTNL_SET_ELEM_USERDATA, &len);
		if (len > UDATA_MAX_LEN)
			return fail(x->b, -ERANGE, "element: user data too long");
	}
	if (!catchall)
		nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &len);
	if (!catchall && len != klen)
		return fail(x->b, -EINVAL, "element key of %u bytes in a set "
			    "of %u", len, klen);
	if (nftnl_set_get_u32(set, NFTNL_SET_FLAGS) & NFT_SET_OBJECT) {
		int err = elem_obj_check(x, e, end);

		if (err)
			return err;
	} else if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_OBJREF)) {
		return fail(x->b, -EINVAL, "object in a set that is no object map");
	}
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPR) ||
	    nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPRESSIONS))
		return fail(x->b, -EOPNOTSUPP, "expressions on elements");
	if (map && !end && !nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_DATA) &&
	    !nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_VERDICT))
		return fail(x->b, -EINVAL, "map element without data");
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_CHAIN)) {
		struct fn_nft_chain *c = nl_chain_find(x->t,
			nftnl_set_elem_get_str(e, NFTNL_SET_ELEM_CHAIN));

		if (!c)
			return fail_at(x->b, NFTA_SET_ELEM_LIST_ELEMENTS,
				       (int)x->idx, -ENOENT,
				       "element: jump to no such chain");
		if (nftnl_chain_is_set(c->nl, NFTNL_CHAIN_HOOKNUM))
			return fail_at(x->b, NFTA_SET_ELEM_LIST_ELEMENTS,
				       (int)x->idx, -EOPNOTSUPP,
				       "element: jump or goto to a base chain");
	}
	return 0;
}

static int elem_add_one(struct nftnl_set_elem *e, void *data)
{
	struct elem_ctx *x = data;
	struct nftnl_set_elem *c;

	x->err = elem_check(x, e);
	if (x->err)
		return -1;
	if (nl_elem_lookup(x->s, e)) {
		if (x->b->flags & NLM_F_EXCL)
			x->err = fail_at(x->b, NFTA_SET_ELEM_LIST_ELEMENTS,
					 (int)x->idx, -EEXIST, "element exists");
		x->idx++;
		return x->err ? -1 : 0;
	}
	c = nl_elem_copy(e);
	if (!c || nl_elem_add(x->s, c) < 0) {
		if (c)
			nftnl_set_elem_free(c);
		x->err = -ENOMEM;
		return -1;
	}
	x->idx++;
	return 0;
}

static int elem_del_one(struct nftnl_set_elem *e, void *data)
{
	struct elem_ctx *x = data;

	if (!nl_elem_lookup(x->s, e)) {
		x->err = fail_at(x->b, NFTA_SET_ELEM_LIST_ELEMENTS,
				 (int)x->idx, -ENOENT, "no such element");
		return -1;
	}
	if (!nl_elem_lookup(&x->gone, e) &&
	    nl_elem_index_put(&x->gone.idx, e) < 0) {
		x->err = -ENOMEM;
		return -1;
	}
	x->idx++;
	return 0;
}

static int elem_any(struct nftnl_set_elem *e, void *data)
{
	(void)e;
	(void)data;
	return -1;	/* stop: there is one */
}

static bool elem_gone(struct nftnl_set_elem *e, void *arg)
{
	return nl_elem_lookup(arg, e) != NULL;
}

static int setelem(struct bctx *b, bool add)
{
	struct nftnl_set *tmp = nftnl_set_alloc();
	struct elem_ctx x = { .b = b };
	struct fn_nft_set *s = NULL;
	bool any;
	int err;

	if (!tmp)
		return -ENOMEM;
	err = nl_parse_elems(b->nlh, tmp);
	if (err == -EINVAL)
		err = fail(b, err, "elements: malformed");
	if (err < 0)
		goto out;
	x.t = table_get(b, nftnl_set_get_str(tmp, NFTNL_SET_TABLE));
	if (x.t && nftnl_set_is_set(tmp, NFTNL_SET_ID))
		s = nl_set_find_id(x.t, nftnl_set_get_u32(tmp, NFTNL_SET_ID));
	if (x.t && !s && nftnl_set_is_set(tmp, NFTNL_SET_NAME))
		s = nl_set_find(x.t, nftnl_set_get_str(tmp, NFTNL_SET_NAME));
	if (!s) {
		err = x.t ? fail_at(b, NFTA_SET_ELEM_LIST_SET, -1, -ENOENT, "no such set")
			    : fail_at(b, NFTA_SET_ELEM_LIST_TABLE, -1, -ENOENT,
				      "no such table");
		goto out;
	}
	x.s = nl_set_of(s);
	any = nftnl_set_elem_foreach(tmp, elem_any, NULL) != 0;
	if (!add && !any) {		/* flush set */
		err = nl_set_filter(b->tx, s, NULL, NULL);
		goto out;
	}
	err = nl_set_own(b->tx, s);
	if (err < 0)
		goto out;
	nftnl_set_elem_foreach(tmp, add ? elem_add_one : elem_del_one, &x);
	err = x.err;
	if (!err && !add)
		err = nl_set_filter(b->tx, s, elem_gone, &x.gone);
out:
	free(x.gone.idx.slot);
	nftnl_set_free(tmp);
	return err;
}

/* ---- objects ------------------------------------------------------------------- */

/* The evaluator's word on the object alone (a limit's rate and burst
 * overflow...), at its message, as the kernel's nft_obj_init refuses it. */
static int obj_check(struct bctx *b, struct fn_nft_table *t,
		     struct nftnl_obj *no)
{
	struct fn_nft_obj o = { no };
	struct fn_nft_table tt = { .nl = t->nl, .objs = &o, .nobjs = 1,
				   .cobjs = 1 };
	struct fn_nft_table *tp = &tt;
	struct fn_nft_ruleset rs = { .tables = &tp, .ntables = 1,
				     .ctables = 1 };
	struct fn_nft_prog *p;
	int err = 0;

	p = fn_nft_compile(&rs, NULL, &err, b->msg, b->msglen);
	if (!p)
		return err ? err : -EINVAL;
	fn_nft_prog_free(p);
	return 0;
}

/* What the kernel keeps of a limit, and so lists (nft_limit_init,
 * nft_limit_dump): every attribute, a packet limit's burst 0 as 5
 * (NFT_LIMIT_PKT_BURST_DEFAULT). */
static void obj_defaults(struct nftnl_obj *no)
{
	uint32_t type;

	if (nftnl_obj_get_u32(no, NFTNL_OBJ_TYPE) != NFT_OBJECT_LIMIT)
		return;
	if (!nftnl_obj_is_set(no, NFTNL_OBJ_LIMIT_TYPE))
		nftnl_obj_set_u32(no, NFTNL_OBJ_LIMIT_TYPE, NFT_LIMIT_PKTS);
	if (!nftnl_obj_is_set(no, NFTNL_OBJ_LIMIT_FLAGS))
		nftnl_obj_set_u32(no, NFTNL_OBJ_LIMIT_FLAGS, 0);
	if (!nftnl_obj_is_set(no, NFTNL_OBJ_LIMIT_BURST))
		nftnl_obj_set_u32(no, NFTNL_OBJ_LIMIT_BURST, 0);
	type = nftnl_obj_get_u32(no, NFTNL_OBJ_LIMIT_TYPE);
	if (type == NFT_LIMIT_PKTS &&
	    nftnl_obj_get_u32(no, NFTNL_OBJ_LIMIT_BURST) == 0)
		nftnl_obj_set_u32(no, NFTNL_OBJ_LIMIT_BURST, 5);
}

/* The kernel's nf_tables_newobj: type, name and data are required. */
static int obj_new(struct bctx *b)
{
	struct nftnl_obj *no = nftnl_obj_alloc();
	struct fn_nft_table *t;
	uint32_t ulen = 0;
	int err = 0;

	if (!no)
		return -ENOMEM;
	if (nl_parse(NL_P_OBJ, b->nlh, no) < 0 ||
	    !nftnl_obj_is_set(no, NFTNL_OBJ_TYPE) ||
	    !name_ok(nftnl_obj_get_str(no, NFTNL_OBJ_NAME)) ||
	    !attr_off(b->nlh, NFTA_OBJ_DATA, -1)) {
		err = fail(b, -EINVAL, "object: malformed, or no type, name "
			   "or data");
		goto out;
	}
	if (udata_len(nftnl_obj_is_set(no, NFTNL_OBJ_USERDATA),
		      nftnl_obj_get_data(no, NFTNL_OBJ_USERDATA, &ulen),
		      ulen) > UDATA_MAX_LEN) {
		err = fail(b, -ERANGE, "object: user data too long");
		goto out;
	}
	t = table_get(b, nftnl_obj_get_str(no, NFTNL_OBJ_TABLE));
	if (!t) {
		err = fail_at(b, NFTA_OBJ_TABLE, -1, -ENOENT, "no such table");
		goto out;
	}
	if (nl_obj_find(t, nftnl_obj_get_u32(no, NFTNL_OBJ_TYPE),
			nftnl_obj_get_str(no, NFTNL_OBJ_NAME)) >= 0) {
		if (b->flags & NLM_F_EXCL)
			err = fail_at(b, NFTA_OBJ_NAME, -1, -EEXIST,
				      "object exists");
		else if ((b->flags & NLM_F_REPLACE) ||
			 nftnl_obj_get_u32(no, NFTNL_OBJ_TYPE) ==
			 NFT_OBJECT_QUOTA)
			err = fail(b, -EOPNOTSUPP, "object: no update");
		goto out;
	}
	/* libnftnl 1.2.4 exports no nftnl_obj_unset(): a client's USE and
	 * HANDLE are not listed back (no USE in libnftnl's builder; the
	 * handle is the table's next, nl_obj_add) */
	nftnl_obj_set_u32(no, NFTNL_OBJ_FAMILY, b->family);
	err = obj_check(b, t, no);
	if (err == 0) {
		obj_defaults(no);
		err = nl_obj_add(b->tx, t, no);
	}
	if (err == 0)
		return 0;
out:
	nftnl_obj_free(no);
	return err;
}

/* nf_tables_delobj: a type, and a name or a handle. */
static int obj_del(struct bctx *b)
{
	struct nftnl_obj *no = nftnl_obj_alloc();
	struct fn_nft_table *t;
	uint16_t by = by_name(b, NFTA_OBJ_NAME, NFTA_OBJ_HANDLE);
	int err = 0, i = -1;

	if (!no)
		return -ENOMEM;
	if (nl_parse(NL_P_OBJ, b->nlh, no) < 0 ||
	    !nftnl_obj_is_set(no, NFTNL_OBJ_TYPE) ||
	    (!nftnl_obj_is_set(no, NFTNL_OBJ_NAME) &&
	     !nftnl_obj_is_set(no, NFTNL_OBJ_HANDLE))) {
		err = fail(b, -EINVAL, "object: no type, or no name or handle");
		goto out;
	}
	t = table_get(b, nftnl_obj_get_str(no, NFTNL_OBJ_TABLE));
	if (t && nftnl_obj_is_set(no, NFTNL_OBJ_NAME))
		i = nl_obj_find(t, nftnl_obj_get_u32(no, NFTNL_OBJ_TYPE),
				nftnl_obj_get_str(no, NFTNL_OBJ_NAME));
	else if (t)
		i = nl_obj_find_handle(t, nftnl_obj_get_u64(no, NFTNL_OBJ_HANDLE));
	if (i >= 0 && nftnl_obj_get_u32(t->objs[i].nl, NFTNL_OBJ_TYPE) !=
		      nftnl_obj_get_u32(no, NFTNL_OBJ_TYPE))
		i = -1;
	if (i < 0) {
		err = t ? fail_at(b, by, -1, -ENOENT, "no such object")
			: fail_at(b, NFTA_OBJ_TABLE, -1, -ENOENT, "no such table");
		goto out;
	}
	if (nl_obj_referenced(t, nftnl_obj_get_u32(t->objs[i].nl, NFTNL_OBJ_TYPE),
			      nftnl_obj_get_str(t->objs[i].nl, NFTNL_OBJ_NAME))) {
		err = fail_at(b, by, -1, -EBUSY, "object is in use by a rule");
		goto out;
	}
	nl_obj_del(b->tx, t, (uint32_t)i);
out:
	nftnl_obj_free(no);
	return err;
}

/* ---- dispatch ------------------------------------------------------------------ */

int nl_batch_msg(struct nl_txn *tx, const struct nlmsghdr *nlh,
		 char *msg, size_t msglen)
{
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	struct bctx b = { tx, nlh, g->nfgen_family, nlh->nlmsg_flags, msg,
			  msglen };
	const char *unsup = NULL;
	int r;

	msg[0] = '\0';
	tx->last_name = NULL;
	tx->bad_off = 0;
	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
		return fail(&b, -EINVAL, "not an nf_tables message");
	r = nl_validate(nlh, &unsup);
	if (r == -EOPNOTSUPP && (NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWOBJ ||
				 NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_DELOBJ))
		return fail(&b, r, "objects of type '%s' are not supported",
			    unsup ? unsup : "?");
	if (r == -EOPNOTSUPP)
		return fail(&b, r, "expression '%s' is not supported",
			    unsup ? unsup : "?");
	if (r < 0)
		return fail(&b, -EINVAL, "malformed attributes");
	switch (NFNL_MSG_TYPE(nlh->nlmsg_type)) {
	case NFT_MSG_NEWTABLE: return table_new(&b);
	case NFT_MSG_DELTABLE: return table_del(&b);
	case NFT_MSG_NEWCHAIN: return chain_new(&b);
	case NFT_MSG_DELCHAIN: return chain_del(&b);
	case NFT_MSG_NEWRULE: return rule_new(&b);
	case NFT_MSG_DELRULE: return rule_del(&b);
	case NFT_MSG_NEWSET: return set_new(&b);
	case NFT_MSG_DELSET: return set_del(&b);
	case NFT_MSG_NEWSETELEM: return setelem(&b, true);
	case NFT_MSG_DELSETELEM: return setelem(&b, false);
	case NFT_MSG_NEWOBJ: return obj_new(&b);
	case NFT_MSG_DELOBJ: return obj_del(&b);
	default:
		return fail(&b, -EOPNOTSUPP, "message type %u is not supported",
			    NFNL_MSG_TYPE(nlh->nlmsg_type));
	}
}
