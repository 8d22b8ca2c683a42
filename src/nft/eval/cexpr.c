/*
 * src/nft/eval/cexpr.c - one libnftnl expression into one nfe_op, with the
 * checks of the kernel's init and validate functions (net/netfilter/
 * nft_*.c): register numbers and lengths, data lengths, flags, hooks.
 * Any expression name or attribute not handled here is refused with
 * -EOPNOTSUPP and a message naming it: nothing is silently ignored.
 * Called by compile.c for each expression of each rule.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_log.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/table.h>
#include <libnftnl/set.h>

#include "nfe.h"

#define A(x)	(1u << (x))

/* Everything that is set must be in `allowed`; everything in `required`
 * must be set. */
static int attrs_check(struct nfe_cctx *c, const struct nftnl_expr *e,
		       const char *name, uint32_t allowed, uint32_t required)
{
	for (unsigned a = NFTNL_EXPR_BASE; a < 24; a++)
		if (nftnl_expr_is_set(e, (uint16_t)a) && !(allowed & A(a)))
			return nfe_fail(c, -EOPNOTSUPP,
					"expression '%s': attribute %u is not supported",
					name, a - NFTNL_EXPR_BASE);
	for (unsigned a = NFTNL_EXPR_BASE; a < 24; a++)
		if (!nftnl_expr_is_set(e, (uint16_t)a) && (required & A(a)))
			return nfe_fail(c, -EINVAL,
					"expression '%s': attribute %u missing",
					name, a - NFTNL_EXPR_BASE);
	return 0;
}

/* nft_parse_register(): NFT_REG_1..4 are 16 bytes, NFT_REG32_xx 4. */
static int reg_parse(struct nfe_cctx *c, uint32_t reg, uint32_t *idx)
{
	if (reg <= NFT_REG_4)
		*idx = reg * 4;
	else if (reg >= NFT_REG32_00 && reg <= NFT_REG32_15)
		*idx = reg - NFT_REG32_00 + 4;
	else
		return nfe_fail(c, -ERANGE, "register %u out of range", reg);
	return 0;
}

/* nft_validate_register_load() and _store() for values. */
static int reg_value(struct nfe_cctx *c, uint32_t reg, uint32_t len,
		     uint8_t *out)
{
	uint32_t idx = 0;
	int err = reg_parse(c, reg, &idx);

	if (err)
		return err;
	if (idx < 4)
		return nfe_fail(c, -EINVAL, "register %u holds the verdict",
				reg);
	if (len == 0)
		return nfe_fail(c, -EINVAL, "zero length");
	if ((uint64_t)idx * 4 + len > NFE_REG32_NUM * 4)
		return nfe_fail(c, -ERANGE,
				"%u bytes from register %u overrun the registers",
				len, reg);
	*out = (uint8_t)idx;
	return 0;
}

static int reg_attr(struct nfe_cctx *c, const struct nftnl_expr *e,
		    uint16_t attr, uint32_t len, uint8_t *out)
{
	return reg_value(c, nftnl_expr_get_u32(e, attr), len, out);
}

/* A value datum (struct nft_data: at most 16 bytes) into the pool. */
static int data_attr(struct nfe_cctx *c, const struct nftnl_expr *e,
		     uint16_t attr, uint32_t *len, uint32_t *idx)
{
	uint32_t l = 0;
	const void *d = nftnl_expr_get(e, attr, &l);

	if (!d || l == 0)
		return nfe_fail(c, -EINVAL, "empty data");
	if (l > 16)
		return nfe_fail(c, -EOVERFLOW, "data of %u bytes (max 16)", l);
	*len = l;
	return nfe_pool_add(c->p, d, l, idx);
}

static struct nfe_op *op_new(struct nfe_cctx *c, uint8_t type)
{
	struct fn_nft_prog *p = c->p;

	if (p->nops == p->cops) {
		uint32_t ncap = p->cops ? p->cops * 2 : 64;
		struct nfe_op *o = realloc(p->ops, (size_t)ncap * sizeof(*o));

		if (!o)
			return NULL;
		p->ops = o;
		p->cops = ncap;
	}
	struct nfe_op *op = &p->ops[p->nops++];
	memset(op, 0, sizeof(*op));
	op->type = type;
	return op;
}

static int state_new(struct nfe_cctx *c, uint8_t kind, uint32_t *idx)
{
	struct fn_nft_prog *p = c->p;

	if (p->nstates == p->cstates) {
		uint32_t ncap = p->cstates ? p->cstates * 2 : 16;
		struct nfe_state *s = realloc(p->states,
					      (size_t)ncap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		p->states = s;
		p->cstates = ncap;
	}
	*idx = p->nstates++;
	memset(&p->states[*idx], 0, sizeof(p->states[0]));
	p->states[*idx].chain = c->chain;
	p->states[*idx].handle = c->handle;
	p->states[*idx].expr = c->expr;
	p->states[*idx].kind = kind;
	return 0;
}

/* ---- expressions --------------------------------------------------------- */

static int c_payload(struct nfe_cctx *c, struct nftnl_expr *e)
{
	if (nftnl_expr_is_set(e, NFTNL_EXPR_PAYLOAD_SREG))
		return nfe_fail(c, -EOPNOTSUPP,
				"payload writes (e.g. ip ttl set) are not supported");
	int err = attrs_check(c, e, "payload",
			      A(NFTNL_EXPR_PAYLOAD_DREG) |
			      A(NFTNL_EXPR_PAYLOAD_BASE) |
			      A(NFTNL_EXPR_PAYLOAD_OFFSET) |
			      A(NFTNL_EXPR_PAYLOAD_LEN),
			      A(NFTNL_EXPR_PAYLOAD_DREG) |
			      A(NFTNL_EXPR_PAYLOAD_BASE) |
			      A(NFTNL_EXPR_PAYLOAD_OFFSET) |
			      A(NFTNL_EXPR_PAYLOAD_LEN));
	if (err)
		return err;
	uint32_t base = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_BASE);
	uint32_t off = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET);
	uint32_t len = nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_LEN);

	if (base > NFT_PAYLOAD_TRANSPORT_HEADER)
		return nfe_fail(c, -EOPNOTSUPP,
				"payload base %u is not supported", base);
	if (len > 255 || off > 65535)
		return nfe_fail(c, -ERANGE, "payload offset/length too large");
	struct nfe_op *op = op_new(c, OP_PAYLOAD);
	if (!op)
		return -ENOMEM;
	op->sub = (uint8_t)base;
	op->arg = off;
	op->len = (uint8_t)len;
	/* nft_payload_select_ops(): 1, 2 or 4 aligned bytes off the network
	 * or transport header take nft_payload_fast_eval(), which does not
	 * look at the fragment offset (a later fragment's bytes are read as
	 * if they were its header).  Marked so that eval does the same. */
	op->size = (len == 1 || len == 2 || len == 4) && off % len == 0 &&
		   base != NFT_PAYLOAD_LL_HEADER;
	return reg_attr(c, e, NFTNL_EXPR_PAYLOAD_DREG, len, &op->dreg);
}

static int c_cmp(struct nfe_cctx *c, struct nftnl_expr *e)
{
	uint32_t all = A(NFTNL_EXPR_CMP_SREG) | A(NFTNL_EXPR_CMP_OP) |
		       A(NFTNL_EXPR_CMP_DATA);
	int err = attrs_check(c, e, "cmp", all, all);
	uint32_t len, idx;

	if (!err)
		err = data_attr(c, e, NFTNL_EXPR_CMP_DATA, &len, &idx);
	if (err)
		return err;
	uint32_t cop = nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP);
	if (cop > NFT_CMP_GTE)
		return nfe_fail(c, -EINVAL, "cmp op %u", cop);
	struct nfe_op *op = op_new(c, OP_CMP);
	if (!op)
		return -ENOMEM;
	op->sub = (uint8_t)cop;
	op->len = (uint8_t)len;
	op->arg = idx;
	if (len <= 4 && (cop == NFT_CMP_EQ || cop == NFT_CMP_NEQ)) {
		/* as nft_cmp_fast: the register word under a byte mask */
		uint32_t mask = 0;

		memset(&mask, 0xff, len);
		op->type = OP_CMP_FAST;
		op->arg = c->p->pool[idx] & mask;
		op->arg2 = (int32_t)mask;
	}
	return reg_attr(c, e, NFTNL_EXPR_CMP_SREG, len, &op->sreg);
}

static int c_range(struct nfe_cctx *c, struct nftnl_expr *e)
{
	uint32_t all = A(NFTNL_EXPR_RANGE_SREG) | A(NFTNL_EXPR_RANGE_OP) |
		       A(NFTNL_EXPR_RANGE_FROM_DATA) |
		       A(NFTNL_EXPR_RANGE_TO_DATA);
	int err = attrs_check(c, e, "range", all, all);
	uint32_t l1, l2, i1, i2;

	if (!err)
		err = data_attr(c, e, NFTNL_EXPR_RANGE_FROM_DATA, &l1, &i1);
	if (!err)
		err = data_attr(c, e, NFTNL_EXPR_RANGE_TO_DATA, &l2, &i2);
	if (err)
		return err;
	if (l1 != l2)
		return nfe_fail(c, -EINVAL, "range bounds differ in length");
	uint32_t rop = nftnl_expr_get_u32(e, NFTNL_EXPR_RANGE_OP);
	if (rop > NFT_RANGE_NEQ)
		return nfe_fail(c, -EINVAL, "range op %u", rop);
	struct nfe_op *op = op_new(c, OP_RANGE);
	if (!op)
		return -ENOMEM;
	op->sub = (uint8_t)rop;
	op->len = (uint8_t)l1;
	op->arg = i1;
	op->arg2 = (int32_t)i2;
	return reg_attr(c, e, NFTNL_EXPR_RANGE_SREG, l1, &op->sreg);
}

static int c_bitwise_bool(struct nfe_cctx *c, struct nftnl_expr *e,
			  struct nfe_op *op)
{
	uint32_t lm, lx, im, ix;
	int err;

	if (!nftnl_expr_is_set(e, NFTNL_EXPR_BITWISE_MASK) ||
	    !nftnl_expr_is_set(e, NFTNL_EXPR_BITWISE_XOR) ||
	    nftnl_expr_is_set(e, NFTNL_EXPR_BITWISE_DATA))
		return nfe_fail(c, -EINVAL, "bitwise: mask and xor needed");
	err = data_attr(c, e, NFTNL_EXPR_BITWISE_MASK, &lm, &im);
	if (!err)
		err = data_attr(c, e, NFTNL_EXPR_BITWISE_XOR, &lx, &ix);
	if (err)
		return err;
	if (lm != op->len || lx != op->len)
		return nfe_fail(c, -EINVAL, "bitwise: mask/xor length");
	op->type = OP_BITWISE;
	op->arg = im;
	op->arg2 = (int32_t)ix;
	return 0;
}

static int c_bitwise_shift(struct nfe_cctx *c, struct nftnl_expr *e,
			   struct nfe_op *op, uint32_t bop)
{
	uint32_t l = 0;
	const uint32_t *d = nftnl_expr_get(e, NFTNL_EXPR_BITWISE_DATA, &l);

	if (!d || l != 4 || nftnl_expr_is_set(e, NFTNL_EXPR_BITWISE_MASK) ||
	    nftnl_expr_is_set(e, NFTNL_EXPR_BITWISE_XOR))
		return nfe_fail(c, -EINVAL, "bitwise shift: data needed");
	if (*d >= 32)
		return nfe_fail(c, -EINVAL, "bitwise shift by %u", *d);
	op->type = OP_SHIFT;
	op->sub = bop == NFT_BITWISE_LSHIFT;
	op->arg = *d;
	return 0;
}

static int c_bitwise(struct nfe_cctx *c, struct nftnl_expr *e)
{
	int err = attrs_check(c, e, "bitwise",
			      A(NFTNL_EXPR_BITWISE_SREG) |
			      A(NFTNL_EXPR_BITWISE_DREG) |
			      A(NFTNL_EXPR_BITWISE_LEN) |
			      A(NFTNL_EXPR_BITWISE_MASK) |
			      A(NFTNL_EXPR_BITWISE_XOR) |
			      A(NFTNL_EXPR_BITWISE_OP) |
			      A(NFTNL_EXPR_BITWISE_DATA),
			      A(NFTNL_EXPR_BITWISE_SREG) |
			      A(NFTNL_EXPR_BITWISE_DREG) |
			      A(NFTNL_EXPR_BITWISE_LEN));
	if (err)
		return err;
	uint32_t len = nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_LEN);
	uint32_t bop = NFT_BITWISE_BOOL;

	if (nftnl_expr_is_set(e, NFTNL_EXPR_BITWISE_OP))
		bop = nftnl_expr_get_u32(e, NFTNL_EXPR_BITWISE_OP);
	if (len > 255)
		return nfe_fail(c, -ERANGE, "bitwise length %u", len);
	struct nfe_op *op = op_new(c, OP_BITWISE);
	if (!op)
		return -ENOMEM;
	op->len = (uint8_t)len;
	err = reg_attr(c, e, NFTNL_EXPR_BITWISE_SREG, len, &op->sreg);
	if (!err)
		err = reg_attr(c, e, NFTNL_EXPR_BITWISE_DREG, len, &op->dreg);
	if (err)
		return err;
	if (bop == NFT_BITWISE_BOOL)
		return c_bitwise_bool(c, e, op);
	if (bop == NFT_BITWISE_LSHIFT || bop == NFT_BITWISE_RSHIFT)
		return c_bitwise_shift(c, e, op, bop);
	return nfe_fail(c, -EOPNOTSUPP, "bitwise op %u is not supported", bop);
}

static int c_byteorder(struct nfe_cctx *c, struct nftnl_expr *e)
{
	uint32_t all = A(NFTNL_EXPR_BYTEORDER_SREG) |
		       A(NFTNL_EXPR_BYTEORDER_DREG) |
		       A(NFTNL_EXPR_BYTEORDER_OP) |
		       A(NFTNL_EXPR_BYTEORDER_LEN) |
		       A(NFTNL_EXPR_BYTEORDER_SIZE);
	int err = attrs_check(c, e, "byteorder", all, all);

	if (err)
		return err;
	uint32_t bop = nftnl_expr_get_u32(e, NFTNL_EXPR_BYTEORDER_OP);
	uint32_t len = nftnl_expr_get_u32(e, NFTNL_EXPR_BYTEORDER_LEN);
	uint32_t size = nftnl_expr_get_u32(e, NFTNL_EXPR_BYTEORDER_SIZE);

	if (bop > NFT_BYTEORDER_HTON)
		return nfe_fail(c, -EINVAL, "byteorder op %u", bop);
	if (size != 2 && size != 4 && size != 8)
		return nfe_fail(c, -EINVAL, "byteorder size %u", size);
	if (len > 255)
		return nfe_fail(c, -ERANGE, "byteorder length %u", len);
	struct nfe_op *op = op_new(c, OP_BYTEORDER);
	if (!op)
		return -ENOMEM;
	op->sub = (uint8_t)bop;
	op->size = (uint8_t)size;
	op->len = (uint8_t)len;
	err = reg_attr(c, e, NFTNL_EXPR_BYTEORDER_SREG, len, &op->sreg);
	if (!err)
		err = reg_attr(c, e, NFTNL_EXPR_BYTEORDER_DREG, len, &op->dreg);
	return err;
}

/* Key names as nft prints them, for refusals. */
static const char *const meta_names[] = {
	"length", "protocol", "priority", "mark", "iif", "oif", "iifname",
	"oifname", "iiftype", "oiftype", "skuid", "skgid", "nftrace",
	"rtclassid", "secmark", "nfproto", "l4proto", "ibrname", "obrname",
	"pkttype", "cpu", "iifgroup", "oifgroup", "cgroup", "random",
	"ipsec", "iifkind", "oifkind", "ibrpvid", "ibrvproto", "time", "day",
	"hour", "sdif", "sdifname", "broute",
};
static const char *const ct_names[] = {
	"state", "direction", "status", "mark", "secmark", "expiration",
	"helper", "l3proto", "saddr", "daddr", "protocol", "proto-src",
	"proto-dst", "label", "packets", "bytes", "avgpkt", "zone", "event",
	"ip saddr", "ip daddr", "ip6 saddr", "ip6 daddr", "id",
};

static const char *key_name(const char *const *names, size_t n, uint32_t k)
{
	return k < n ? names[k] : "?";
}

#define META_NAME(k) key_name(meta_names, sizeof(meta_names) / \
			      sizeof(meta_names[0]), (k))
#define CT_NAME(k) key_name(ct_names, sizeof(ct_names) / sizeof(ct_names[0]), \
			    (k))

/* The kernel's nft_meta_get_init() lengths, for the keys the evaluator
 * has (eval: expr.c do_meta).  The others are refused by name: secmark,
 * rtclassid, ipsec/secpath, bridge names, kinds... the
 * stack has no such thing to match on. */
static int meta_len(uint32_t key)
{
	switch (key) {
	case NFT_META_LEN:
	case NFT_META_MARK:
	case NFT_META_IIF:
	case NFT_META_OIF:
	case NFT_META_PRIORITY:
	case NFT_META_CPU:
	case NFT_META_IIFGROUP:
	case NFT_META_OIFGROUP:
	case NFT_META_PRANDOM:
	case NFT_META_TIME_HOUR:
	case NFT_META_SKUID:
	case NFT_META_SKGID:
	case NFT_META_CGROUP:
	case NFT_META_SDIF:
		return 4;
	case NFT_META_TIME_NS:
		return 8;
	case NFT_META_PROTOCOL:
	case NFT_META_IIFTYPE:
	case NFT_META_OIFTYPE:
		return 2;
	case NFT_META_NFPROTO:
	case NFT_META_L4PROTO:
	case NFT_META_PKTTYPE:
	case NFT_META_TIME_DAY:
		return 1;
	case NFT_META_SDIFNAME:
	case NFT_META_IIFNAME:
	case NFT_META_OIFNAME:
		return NFE_IFNAMSIZ;
	default:
		return -1;
	}
}

static int c_meta(struct nfe_cctx *c, struct nftnl_expr *e)
{
	int err = attrs_check(c, e, "meta",
			      A(NFTNL_EXPR_META_KEY) | A(NFTNL_EXPR_META_DREG) |
			      A(NFTNL_EXPR_META_SREG),
			      A(NFTNL_EXPR_META_KEY));
	if (err)
		return err;
	uint32_t key = nftnl_expr_get_u32(e, NFTNL_EXPR_META_KEY);
	bool get = nftnl_expr_is_set(e, NFTNL_EXPR_META_DREG);
	bool set = nftnl_expr_is_set(e, NFTNL_EXPR_META_SREG);

	if (get == set)
		return nfe_fail(c, -EINVAL, "meta needs one of dreg and sreg");
	if (set) {
		if (key != NFT_META_MARK && key != NFT_META_PRIORITY)
			return nfe_fail(c, -EOPNOTSUPP,
					"meta %s set is not supported (only mark and priority)",
					META_NAME(key));
		struct nfe_op *op = op_new(c, OP_META_SET);
		if (!op)
			return -ENOMEM;
		op->sub = (uint8_t)key;
		return reg_attr(c, e, NFTNL_EXPR_META_SREG, 4, &op->sreg);
	}
	int len = meta_len(key);
	if (len < 0)
		return nfe_fail(c, -EOPNOTSUPP,
				"meta %s is not supported", META_NAME(key));
	/* nft_meta_get_validate_sdif(): input and forward */
	const struct nfe_chain *ch = &c->p->chains[c->chain];
	if ((key == NFT_META_SDIF || key == NFT_META_SDIFNAME) && ch->base &&
	    !ch->forward && ch->hook != FN_NFT_INPUT)
		return nfe_fail(c, -EOPNOTSUPP,
				"meta %s is only allowed on input",
				META_NAME(key));
	struct nfe_op *op = op_new(c, OP_META);
	if (!op)
		return -ENOMEM;
	op->sub = (uint8_t)key;
	op->len = (uint8_t)len;
	if (key == NFT_META_SKUID || key == NFT_META_SKGID ||
	    key == NFT_META_CGROUP)
		c->p->uses_sk = true;
	return reg_attr(c, e, NFTNL_EXPR_META_DREG, (uint32_t)len, &op->dreg);
}

static int c_immediate(struct nfe_cctx *c, struct nftnl_expr *e)
{
	int err = attrs_check(c, e, "immediate",
			      A(NFTNL_EXPR_IMM_DREG) | A(NFTNL_EXPR_IMM_DATA) |
			      A(NFTNL_EXPR_IMM_VERDICT) |
			      A(NFTNL_EXPR_IMM_CHAIN) |
			      A(NFTNL_EXPR_IMM_CHAIN_ID),
			      A(NFTNL_EXPR_IMM_DREG));
	if (err)
		return err;
	uint32_t dreg = nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_DREG);

	if (dreg == NFT_REG_VERDICT) {
		struct nfe_verdict v;
		const char *chain = NULL;

		if (!nftnl_expr_is_set(e, NFTNL_EXPR_IMM_VERDICT) ||
		    nftnl_expr_is_set(e, NFTNL_EXPR_IMM_DATA))
			return nfe_fail(c, -EINVAL,
					"immediate: verdict needed");
		if (nftnl_expr_is_set(e, NFTNL_EXPR_IMM_CHAIN))
			chain = nftnl_expr_get_str(e, NFTNL_EXPR_IMM_CHAIN);
		err = nfe_verdict_check(c, nftnl_expr_get_u32(e,
					NFTNL_EXPR_IMM_VERDICT), chain, &v);
		if (err)
			return err;
		struct nfe_op *op = op_new(c, OP_IMM_VERDICT);
		if (!op)
			return -ENOMEM;
		op->arg2 = v.code;
		op->arg = v.chain;
		return 0;
	}
	uint32_t len, idx;
	if (!nftnl_expr_is_set(e, NFTNL_EXPR_IMM_DATA) ||
	    nftnl_expr_is_set(e, NFTNL_EXPR_IMM_VERDICT))
		return nfe_fail(c, -EINVAL, "immediate: data needed");
	err = data_attr(c, e, NFTNL_EXPR_IMM_DATA, &len, &idx);
	if (err)
		return err;
	struct nfe_op *op = op_new(c, OP_IMM_DATA);
	if (!op)
		return -ENOMEM;
	op->len = (uint8_t)len;
	op->arg = idx;
	return reg_value(c, dreg, len, &op->dreg);
}

static int find_set(struct nfe_cctx *c, const char *name, uint32_t *idx)
{
	for (uint32_t i = c->table_set0; i < c->p->nsets; i++)
		if (!strcmp(c->p->sets[i].name, name)) {
			*idx = i;
			return 0;
		}
	return nfe_fail(c, -ENOENT, "set '%s' not found", name);
}

static int lookup_dreg(struct nfe_cctx *c, struct nftnl_expr *e,
		       const struct nfe_set *s, struct nfe_op *op)
{
	uint32_t dreg = nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_DREG);

	if (op->sub || !s->map)
		return nfe_fail(c, -EINVAL, "lookup: data from a set that is not a map");
	op->size = 1;
	if (s->vmap) {
		if (dreg != NFT_REG_VERDICT)
			return nfe_fail(c, -EINVAL,
					"verdict map into register %u", dreg);
		op->dreg = 0;
		return 0;
	}
	return reg_value(c, dreg, s->dlen, &op->dreg);
}

static int c_lookup(struct nfe_cctx *c, struct nftnl_expr *e)
{
	int err = attrs_check(c, e, "lookup",
			      A(NFTNL_EXPR_LOOKUP_SREG) |
			      A(NFTNL_EXPR_LOOKUP_DREG) |
			      A(NFTNL_EXPR_LOOKUP_SET) |
			      A(NFTNL_EXPR_LOOKUP_SET_ID) |
			      A(NFTNL_EXPR_LOOKUP_FLAGS),
			      A(NFTNL_EXPR_LOOKUP_SREG) |
			      A(NFTNL_EXPR_LOOKUP_SET));
	uint32_t si = 0, flags = 0;

	if (!err)
		err = find_set(c, nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET),
			       &si);
	if (err)
		return err;
	const struct nfe_set *s = &c->p->sets[si];
	if (nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_FLAGS))
		flags = nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_FLAGS);
	if (flags & ~(uint32_t)NFT_LOOKUP_F_INV)
		return nfe_fail(c, -EINVAL, "lookup flags 0x%x", flags);
	if ((flags & NFT_LOOKUP_F_INV) && s->map)
		return nfe_fail(c, -EINVAL, "inverted lookup in a map");
	struct nfe_op *op = op_new(c, OP_LOOKUP);
	if (!op)
		return -ENOMEM;
	op->arg = si;
	op->sub = !!(flags & NFT_LOOKUP_F_INV);
	op->len = (uint8_t)s->klen;
	err = reg_attr(c, e, NFTNL_EXPR_LOOKUP_SREG, s->klen, &op->sreg);
	if (err)
		return err;
	if (nftnl_expr_is_set(e, NFTNL_EXPR_LOOKUP_DREG))
		return lookup_dreg(c, e, s, op);
	if (s->map && (s->flags & NFT_SET_ANONYMOUS))
		return nfe_fail(c, -EINVAL,
				"anonymous map without destination");
	return 0;
}

static int c_counter(struct nfe_cctx *c, struct nftnl_expr *e)
{
	int err = attrs_check(c, e, "counter", A(NFTNL_EXPR_CTR_PACKETS) |
			      A(NFTNL_EXPR_CTR_BYTES), 0);
	uint32_t si;

	if (!err)
		err = state_new(c, ST_COUNTER, &si);
	if (err)
		return err;
	struct nfe_state *s = &c->p->states[si];
	if (nftnl_expr_is_set(e, NFTNL_EXPR_CTR_PACKETS))
		s->a = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
	if (nftnl_expr_is_set(e, NFTNL_EXPR_CTR_BYTES))
		s->b = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
	struct nfe_op *op = op_new(c, OP_COUNTER);
	if (!op)
		return -ENOMEM;
	op->arg = si;
	return 0;
}

/* nft_limit_init(): the token bucket in nanoseconds. */
static int limit_params(struct nfe_cctx *c, struct nfe_state *s, uint64_t rate,
			uint64_t unit, uint32_t burst)
{
	uint64_t rwb, tmp;

	if (rate == 0)
		return nfe_fail(c, -EINVAL, "limit rate 0");
	if (__builtin_mul_overflow(unit, 1000000000ull, &s->nsecs))
		return nfe_fail(c, -EOVERFLOW, "limit unit");
	if (!s->bytes_mode && burst == 0)
		burst = 5;	/* NFT_LIMIT_PKT_BURST_DEFAULT */
	if (__builtin_add_overflow(rate, (uint64_t)burst, &rwb))
		return nfe_fail(c, -EOVERFLOW, "limit rate + burst");
	if (!s->bytes_mode) {
		s->cost = s->nsecs / rate;
		if (__builtin_mul_overflow(s->cost, (uint64_t)burst,
					   &s->tokens_max))
			return nfe_fail(c, -EOVERFLOW, "limit burst");
	} else {
		if (__builtin_mul_overflow(s->nsecs, rwb, &tmp))
			return nfe_fail(c, -EOVERFLOW, "limit burst");
		s->tokens_max = tmp / rate;
	}
	s->rate = rate;
	s->a = s->tokens_max;
	s->b = 0;
	return 0;
}

/* nft_limit_init() and the type's select_ops: a limit's state. */
static int limit_state(struct nfe_cctx *c, uint32_t type, uint32_t flags,
		       uint64_t rate, uint64_t unit, uint32_t burst,
		       uint32_t *si)
{
	struct nfe_state *s;
	int err;

	if (type != NFT_LIMIT_PKTS && type != NFT_LIMIT_PKT_BYTES)
		return nfe_fail(c, -EOPNOTSUPP, "limit type %u", type);
	if (flags & ~(uint32_t)NFT_LIMIT_F_INV)
		return nfe_fail(c, -EOPNOTSUPP, "limit flags 0x%x", flags);
	err = state_new(c, ST_LIMIT, si);
	if (err)
		return err;
	s = &c->p->states[*si];
	s->bytes_mode = type == NFT_LIMIT_PKT_BYTES;
	s->invert = !!(flags & NFT_LIMIT_F_INV);
	err = limit_params(c, s, rate, unit, burst);
	if (err)
		return err;
	c->p->uses_limit = true;
	return 0;
}

static int c_limit(struct nfe_cctx *c, struct nftnl_expr *e)
{
	int err = attrs_check(c, e, "limit",
			      A(NFTNL_EXPR_LIMIT_RATE) | A(NFTNL_EXPR_LIMIT_UNIT) |
			      A(NFTNL_EXPR_LIMIT_BURST) |
			      A(NFTNL_EXPR_LIMIT_TYPE) |
			      A(NFTNL_EXPR_LIMIT_FLAGS),
			      A(NFTNL_EXPR_LIMIT_RATE) | A(NFTNL_EXPR_LIMIT_UNIT));
	uint32_t type = NFT_LIMIT_PKTS, flags = 0, burst = 0, si;

	if (err)
		return err;
	if (nftnl_expr_is_set(e, NFTNL_EXPR_LIMIT_TYPE))
		type = nftnl_expr_get_u32(e, NFTNL_EXPR_LIMIT_TYPE);
	if (nftnl_expr_is_set(e, NFTNL_EXPR_LIMIT_FLAGS))
		flags = nftnl_expr_get_u32(e, NFTNL_EXPR_LIMIT_FLAGS);
	if (nftnl_expr_is_set(e, NFTNL_EXPR_LIMIT_BURST))
		burst = nftnl_expr_get_u32(e, NFTNL_EXPR_LIMIT_BURST);
	err = limit_state(c, type, flags,
			  nftnl_expr_get_u64(e, NFTNL_EXPR_LIMIT_RATE),
			  nftnl_expr_get_u64(e, NFTNL_EXPR_LIMIT_UNIT), burst, &si);
	if (err)
		return err;
	struct nfe_op *op = op_new(c, OP_LIMIT);
	if (!op)
		return -ENOMEM;
	op->arg = si;
	return 0;
}

/* nft_quota_do_init(): a quota's state. */
static int quota_state(struct nfe_cctx *c, uint64_t quota, uint64_t consumed,
		       uint32_t flags, uint32_t *si)
{
	int err;

	if (quota > INT64_MAX)
		return nfe_fail(c, -EOVERFLOW, "quota too large");
	if (consumed > quota)
		return nfe_fail(c, -EINVAL, "quota consumed > quota");
	if (flags & ~(uint32_t)NFT_QUOTA_F_INV)
		return nfe_fail(c, -EINVAL, "quota flags 0x%x", flags);
	err = state_new(c, ST_QUOTA, si);
	if (err)
		return err;
	c->p->states[*si].a = consumed;
	c->p->states[*si].b = quota;
	c->p->states[*si].invert = !!(flags & NFT_QUOTA_F_INV);
	return 0;
}

static int c_quota(struct nfe_cctx *c, struct nftnl_expr *e)
{
	int err = attrs_check(c, e, "quota",
			      A(NFTNL_EXPR_QUOTA_BYTES) |
			      A(NFTNL_EXPR_QUOTA_FLAGS) |
			      A(NFTNL_EXPR_QUOTA_CONSUMED),
			      A(NFTNL_EXPR_QUOTA_BYTES));
	uint64_t consumed = 0;
	uint32_t flags = 0, si;

	if (err)
		return err;
	if (nftnl_expr_is_set(e, NFTNL_EXPR_QUOTA_CONSUMED))
		consumed = nftnl_expr_get_u64(e, NFTNL_EXPR_QUOTA_CONSUMED);
	if (nftnl_expr_is_set(e, NFTNL_EXPR_QUOTA_FLAGS))
		flags = nftnl_expr_get_u32(e, NFTNL_EXPR_QUOTA_FLAGS);
	err = quota_state(c, nftnl_expr_get_u64(e, NFTNL_EXPR_QUOTA_BYTES),
			  consumed, flags, &si);
	if (err)
		return err;
	struct nfe_op *op = op_new(c, OP_QUOTA);
	if (!op)
		return -ENOMEM;
	op->arg = si;
	return 0;
}

/* ---- objects ------------------------------------------------------------- */

static uint64_t obj_u64(struct nftnl_obj *o, uint16_t attr, uint64_t dflt)
{
	return nftnl_obj_is_set(o, attr) ? nftnl_obj_get_u64(o, attr) : dflt;
}

static uint32_t obj_u32(struct nftnl_obj *o, uint16_t attr, uint32_t dflt)
{
	return nftnl_obj_is_set(o, attr) ? nftnl_obj_get_u32(o, attr) : dflt;
}

/* The state of object o of type `type` (nft_counter_obj_init,
 * nft_quota_obj_init, nft_limit_obj_init). */
static int obj_state(struct nfe_cctx *c, struct nftnl_obj *o, uint32_t type,
		     uint32_t *si)
{
	int err;

	switch (type) {
	case NFT_OBJECT_COUNTER:
		err = state_new(c, ST_COUNTER, si);
		if (!err) {
			c->p->states[*si].a = obj_u64(o, NFTNL_OBJ_CTR_PKTS, 0);
			c->p->states[*si].b = obj_u64(o, NFTNL_OBJ_CTR_BYTES, 0);
		}
		return err;
	case NFT_OBJECT_QUOTA:
		if (!nftnl_obj_is_set(o, NFTNL_OBJ_QUOTA_BYTES))
			return nfe_fail(c, -EINVAL, "quota without bytes");
		return quota_state(c, nftnl_obj_get_u64(o, NFTNL_OBJ_QUOTA_BYTES),
				   obj_u64(o, NFTNL_OBJ_QUOTA_CONSUMED, 0),
				   obj_u32(o, NFTNL_OBJ_QUOTA_FLAGS, 0), si);
	case NFT_OBJECT_LIMIT:
		if (!nftnl_obj_is_set(o, NFTNL_OBJ_LIMIT_RATE) ||
		    !nftnl_obj_is_set(o, NFTNL_OBJ_LIMIT_UNIT))
			return nfe_fail(c, -EINVAL, "limit without rate or unit");
		return limit_state(c, obj_u32(o, NFTNL_OBJ_LIMIT_TYPE,
					      NFT_LIMIT_PKTS),
				   obj_u32(o, NFTNL_OBJ_LIMIT_FLAGS, 0),
				   nftnl_obj_get_u64(o, NFTNL_OBJ_LIMIT_RATE),
				   nftnl_obj_get_u64(o, NFTNL_OBJ_LIMIT_UNIT),
				   obj_u32(o, NFTNL_OBJ_LIMIT_BURST, 0), si);
	}
	return nfe_fail(c, -EOPNOTSUPP, "objects of type %u are not supported",
			type);
}

int nfe_compile_obj(struct nfe_cctx *c, struct nftnl_obj *o)
{
	struct fn_nft_prog *p = c->p;
	const char *name = nftnl_obj_is_set(o, NFTNL_OBJ_NAME) ?
			   nftnl_obj_get_str(o, NFTNL_OBJ_NAME) : NULL;
	uint32_t type = obj_u32(o, NFTNL_OBJ_TYPE, 0), si;
	struct nfe_obj *ob;
	int err;

	if (!name)
		return nfe_fail(c, -EINVAL, "an object without name");
	if (p->nobjs == p->cobjs) {
		uint32_t ncap = p->cobjs ? p->cobjs * 2 : 8;
		struct nfe_obj *n = realloc(p->objs, (size_t)ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		p->objs = n;
		p->cobjs = ncap;
	}
	err = obj_state(c, o, type, &si);
	if (err)
		return err;
	ob = &p->objs[p->nobjs];
	memset(ob, 0, sizeof(*ob));
	ob->table = strdup(nftnl_table_get_str(c->table->nl, NFTNL_TABLE_NAME));
	ob->name = strdup(name);
	if (!ob->table || !ob->name) {
		free(ob->table);
		free(ob->name);
		return -ENOMEM;
	}
	ob->family = (uint8_t)nftnl_table_get_u32(c->table->nl,
						  NFTNL_TABLE_FAMILY);
	ob->type = type;
	ob->handle = obj_u64(o, NFTNL_OBJ_HANDLE, 0);
	ob->state = si;
	p->states[si].obj = ++p->nobjs;
	return 0;
}

/* nft_objref_map_init: a key in registers, an object map of the table. */
static int c_objref_map(struct nfe_cctx *c, struct nftnl_expr *e)
{
	int err = attrs_check(c, e, "objref",
			      A(NFTNL_EXPR_OBJREF_SET_SREG) |
			      A(NFTNL_EXPR_OBJREF_SET_NAME) |
			      A(NFTNL_EXPR_OBJREF_SET_ID),
			      A(NFTNL_EXPR_OBJREF_SET_SREG) |
			      A(NFTNL_EXPR_OBJREF_SET_NAME));
	const struct nfe_set *s;
	struct nfe_op *op;
	uint32_t si = 0;

	if (!err)
		err = find_set(c, nftnl_expr_get_str(e,
				NFTNL_EXPR_OBJREF_SET_NAME), &si);
	if (err)
		return err;
	s = &c->p->sets[si];
	if (!s->objtype)
		return nfe_fail(c, -EINVAL, "objref: set %s is no object map",
				s->name);
	op = op_new(c, OP_OBJREF_MAP);
	if (!op)
		return -ENOMEM;
	op->arg = si;
	op->len = (uint8_t)s->klen;
	return reg_attr(c, e, NFTNL_EXPR_OBJREF_SET_SREG, s->klen, &op->sreg);
}

/* nft_objref_eval(): the object's own eval, on its state. */
static int c_objref(struct nfe_cctx *c, struct nftnl_expr *e)
{
	struct fn_nft_prog *p = c->p;
	const char *name;
	uint32_t type;
	int err;

	if (nftnl_expr_is_set(e, NFTNL_EXPR_OBJREF_SET_SREG))
		return c_objref_map(c, e);
	err = attrs_check(c, e, "objref",
			  A(NFTNL_EXPR_OBJREF_IMM_TYPE) |
			  A(NFTNL_EXPR_OBJREF_IMM_NAME),
			  A(NFTNL_EXPR_OBJREF_IMM_TYPE) |
			  A(NFTNL_EXPR_OBJREF_IMM_NAME));
	if (err)
		return err;
	type = nftnl_expr_get_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE);
	name = nftnl_expr_get_str(e, NFTNL_EXPR_OBJREF_IMM_NAME);
	for (uint32_t i = c->table_obj0; i < p->nobjs; i++) {
		struct nfe_op *op;

		if (p->objs[i].type != type || strcmp(p->objs[i].name, name))
			continue;
		op = op_new(c, type == NFT_OBJECT_COUNTER ? OP_COUNTER :
			       type == NFT_OBJECT_QUOTA ? OP_QUOTA : OP_LIMIT);
		if (!op)
			return -ENOMEM;
		op->arg = p->objs[i].state;
		return 0;
	}
	return nfe_fail(c, -ENOENT, "no object '%s' of type %u", name, type);
}

static int c_log(struct nfe_cctx *c, struct nftnl_expr *e)
{
	int err = attrs_check(c, e, "log",
			      A(NFTNL_EXPR_LOG_PREFIX) | A(NFTNL_EXPR_LOG_LEVEL) |
			      A(NFTNL_EXPR_LOG_FLAGS) | A(NFTNL_EXPR_LOG_GROUP) |
			      A(NFTNL_EXPR_LOG_SNAPLEN) |
			      A(NFTNL_EXPR_LOG_QTHRESHOLD), 0);
	bool group = nftnl_expr_is_set(e, NFTNL_EXPR_LOG_GROUP);
	const char *prefix = "";
	uint32_t level = 4, flags = 0;	/* LOGLEVEL_WARNING */
	struct fn_nft_prog *p = c->p;

	if (err)
		return err;
	if (nftnl_expr_is_set(e, NFTNL_EXPR_LOG_PREFIX))
		prefix = nftnl_expr_get_str(e, NFTNL_EXPR_LOG_PREFIX);
	if (nftnl_expr_is_set(e, NFTNL_EXPR_LOG_LEVEL))
		level = nftnl_expr_get_u32(e, NFTNL_EXPR_LOG_LEVEL);
	if (nftnl_expr_is_set(e, NFTNL_EXPR_LOG_FLAGS))
		flags = nftnl_expr_get_u32(e, NFTNL_EXPR_LOG_FLAGS);
	if (level > 8)
		return nfe_fail(c, -ERANGE, "log level %u", level);
	/* nft_log_init: a group is nflog (ULOG), without level or flags;
	 * snaplen and queue-threshold only with a group */
	if (group && (nftnl_expr_is_set(e, NFTNL_EXPR_LOG_LEVEL) ||
		      nftnl_expr_is_set(e, NFTNL_EXPR_LOG_FLAGS)))
		return nfe_fail(c, -EINVAL, "log group with a level or flags");
	if (flags & ~(uint32_t)NF_LOG_MASK)
		return nfe_fail(c, -EINVAL, "log flags 0x%x", flags);
	if (group) {
		/* No nflog listener in a stack: the kernel's nfnetlink_log
		 * sends to nobody, so nothing is logged (docs/nft-eval.md). */
		return op_new(c, OP_LOG_GROUP) ? 0 : -ENOMEM;
	}
	if (p->nlogs == p->clogs) {
		uint32_t ncap = p->clogs ? p->clogs * 2 : 8;
		char **l = realloc(p->logs, ncap * sizeof(*l));

		if (!l)
			return -ENOMEM;
		p->logs = l;
		p->clogs = ncap;
	}
	p->logs[p->nlogs] = strndup(prefix, 127);
	if (!p->logs[p->nlogs])
		return -ENOMEM;
	struct nfe_op *op = op_new(c, OP_LOG);
	if (!op)
		return -ENOMEM;
	op->arg = p->nlogs++;
	op->size = (uint8_t)level;
	return 0;
}

/* nft_reject_validate(): not on postrouting. */
static int c_reject(struct nfe_cctx *c, struct nftnl_expr *e)
{
	int err = attrs_check(c, e, "reject", A(NFTNL_EXPR_REJECT_TYPE) |
			      A(NFTNL_EXPR_REJECT_CODE),
			      A(NFTNL_EXPR_REJECT_TYPE));
	const struct nfe_chain *ch = &c->p->chains[c->chain];
	uint32_t type, code = 0;

	if (err)
		return err;
	type = nftnl_expr_get_u32(e, NFTNL_EXPR_REJECT_TYPE);
	if (nftnl_expr_is_set(e, NFTNL_EXPR_REJECT_CODE))
		code = nftnl_expr_get_u8(e, NFTNL_EXPR_REJECT_CODE);
	if (type == NFT_REJECT_ICMP_UNREACH || type == NFT_REJECT_ICMPX_UNREACH) {
		if (!nftnl_expr_is_set(e, NFTNL_EXPR_REJECT_CODE))
			return nfe_fail(c, -EINVAL, "reject without code");
		if (type == NFT_REJECT_ICMPX_UNREACH &&
		    code > NFT_REJECT_ICMPX_ADMIN_PROHIBITED)
			return nfe_fail(c, -EINVAL, "reject icmpx code %u", code);
	} else if (type != NFT_REJECT_TCP_RST) {
		return nfe_fail(c, -EINVAL, "reject type %u", type);
	}
	if (ch->base && !ch->forward && ch->hook == FN_NFT_POSTROUTING)
		return nfe_fail(c, -EOPNOTSUPP,
				"reject is not allowed in postrouting");
	struct nfe_op *op = op_new(c, OP_REJECT);
	if (!op)
		return -ENOMEM;
	op->sub = (uint8_t)type;
	op->size = (uint8_t)code;
	op->arg = ch->family;
	return 0;
}

/* nft_ct_get_init(): the register length of a key, whether it wants a
 * direction (1), takes one (0) or refuses one (-1); len < 0: a key the
 * evaluator does not have. */
static int ct_key_len(uint32_t key, uint8_t family, int *dir)
{
	*dir = -1;
	switch (key) {
	case NFT_CT_STATE:
	case NFT_CT_STATUS:
	case NFT_CT_MARK:
	case NFT_CT_EXPIRATION:
		return 4;
	case NFT_CT_DIRECTION:
		return 1;
	case NFT_CT_HELPER:
		return 16;	/* NF_CT_HELPER_NAME_LEN */
	case NFT_CT_LABELS:
		*dir = 0;	/* the kernel ignores it */
		return 16;	/* NF_CT_LABELS_MAX_SIZE */
	case NFT_CT_L3PROTOCOL:
	case NFT_CT_PROTOCOL:
		*dir = 0;
		return 1;
	case NFT_CT_SRC:
	case NFT_CT_DST:
		*dir = 1;
		return family == NFPROTO_IPV4 ? 4 : 16;
	case NFT_CT_SRC_IP:
	case NFT_CT_DST_IP:
		*dir = 1;
		return 4;
	case NFT_CT_SRC_IP6:
	case NFT_CT_DST_IP6:
		*dir = 1;
		return 16;
	case NFT_CT_PROTO_SRC:
	case NFT_CT_PROTO_DST:
		*dir = 1;
		return 2;
	case NFT_CT_PKTS:
	case NFT_CT_BYTES:
	case NFT_CT_AVGPKT:
		*dir = 0;
		return 8;
	case NFT_CT_ZONE:
		*dir = 0;
		return 2;
	case NFT_CT_ID:
		*dir = 0;
		return 4;
	default:		/* secmark, event (set only), ... */
		return -1;
	}
}

/* nft_ct_set_init(): only the mark (zone, label, event, helper and
 * secmark have nothing to act on in the stack: refused). */
/* `ct zone set` and `notrack` act on a packet conntrack has not seen
 * (nft_ct_set_zone_eval, nft_notrack_eval: "already tracked" returns):
 * before conntrack (prerouting or output at priority -200 or less, or a
 * regular chain, which such a chain may reach) zones would need a
 * connection table per zone: refused there. */
static int after_ct(struct nfe_cctx *c, const char *what)
{
	const struct nfe_chain *ch = &c->p->chains[c->chain];

	if (ch->base && (ch->hook == FN_NFT_INPUT ||
			 ch->hook == FN_NFT_POSTROUTING || ch->forward ||
			 ((ch->hook == FN_NFT_PREROUTING ||
			   ch->hook == FN_NFT_OUTPUT) && ch->prio > NFE_CT_PRIO)))
		return 0;
	return nfe_fail(c, -EOPNOTSUPP,
			"%s before conntrack is not supported (no zones)", what);
}

/* nft_ct_set_init(): mark, labels (ORed into the flow's), zone (only
 * after conntrack, above), event mask (only ctnetlink reads it, and a
 * stack has none: nothing); helper and secmark are refused. */
static int c_ct_set(struct nfe_cctx *c, struct nftnl_expr *e, uint32_t key)
{
	uint32_t len = key == NFT_CT_LABELS ? 16 : key == NFT_CT_ZONE ? 2 : 4;

	if (key != NFT_CT_MARK && key != NFT_CT_LABELS &&
	    key != NFT_CT_ZONE && key != NFT_CT_EVENTMASK)
		return nfe_fail(c, -EOPNOTSUPP,
				"ct %s set is not supported (mark, label, zone, event)",
				CT_NAME(key));
	if ((key != NFT_CT_ZONE && nftnl_expr_is_set(e, NFTNL_EXPR_CT_DIR)) ||
	    nftnl_expr_is_set(e, NFTNL_EXPR_CT_DREG))
		return nfe_fail(c, -EINVAL, "ct %s set with a direction",
				CT_NAME(key));
	if (nftnl_expr_is_set(e, NFTNL_EXPR_CT_DIR) &&
	    nftnl_expr_get_u8(e, NFTNL_EXPR_CT_DIR) > 1)
		return nfe_fail(c, -EINVAL, "ct direction out of range");
	if (key == NFT_CT_ZONE) {
		int err = after_ct(c, "ct zone set");

		if (err)
			return err;
	}
	struct nfe_op *op = op_new(c, OP_CT_SET_MARK);
	if (!op)
		return -ENOMEM;
	op->sub = (uint8_t)key;
	op->len = (uint8_t)len;
	c->p->uses_ct = true;
	return reg_attr(c, e, NFTNL_EXPR_CT_SREG, len, &op->sreg);
}

/* nft_notrack_eval(): a packet without a flow becomes untracked; before
 * conntrack, every packet (tracking then leaves it alone: eval.c). */
static int c_notrack(struct nfe_cctx *c, struct nftnl_expr *e)
{
	int err = attrs_check(c, e, "notrack", 0, 0);

	if (err)
		return err;
	c->p->uses_ct = true;
	return op_new(c, OP_NOTRACK) ? 0 : -ENOMEM;
}

static int c_ct(struct nfe_cctx *c, struct nftnl_expr *e)
{
	int err = attrs_check(c, e, "ct", A(NFTNL_EXPR_CT_DREG) |
			      A(NFTNL_EXPR_CT_KEY) | A(NFTNL_EXPR_CT_DIR) |
			      A(NFTNL_EXPR_CT_SREG), A(NFTNL_EXPR_CT_KEY));
	uint32_t key;
	uint8_t dir = 2;
	int want;

	if (err)
		return err;
	key = nftnl_expr_get_u32(e, NFTNL_EXPR_CT_KEY);
	if (nftnl_expr_is_set(e, NFTNL_EXPR_CT_SREG))
		return c_ct_set(c, e, key);
	int len = ct_key_len(key, c->p->chains[c->chain].family, &want);
	if (len < 0)
		return nfe_fail(c, -EOPNOTSUPP,
				"ct %s is not supported", CT_NAME(key));
	if (nftnl_expr_is_set(e, NFTNL_EXPR_CT_DIR)) {
		if (want < 0)
			return nfe_fail(c, -EINVAL, "ct %s with a direction",
					CT_NAME(key));
		dir = nftnl_expr_get_u8(e, NFTNL_EXPR_CT_DIR);
		if (dir > 1)
			return nfe_fail(c, -EINVAL, "ct direction %u", dir);
	} else if (want > 0) {
		return nfe_fail(c, -EINVAL, "ct %s without a direction",
				CT_NAME(key));
	}
	if (!nftnl_expr_is_set(e, NFTNL_EXPR_CT_DREG))
		return nfe_fail(c, -EINVAL, "ct without dreg");
	struct nfe_op *op = op_new(c, key == NFT_CT_STATE ? OP_CT_STATE :
					OP_CT);
	if (!op)
		return -ENOMEM;
	c->p->uses_ct = true;
	if (key == NFT_CT_PKTS || key == NFT_CT_BYTES || key == NFT_CT_AVGPKT)
		c->p->uses_acct = true;	/* nft_ct_get_init: nf_ct_set_acct */
	op->sub = (uint8_t)key;
	op->size = dir;
	op->len = (uint8_t)len;
	return reg_attr(c, e, NFTNL_EXPR_CT_DREG, (uint32_t)len, &op->dreg);
}

/* nft_exthdr_init() and _select_ops(): loads of TCP options and SCTP
 * chunks.  IPv6 extension headers and IPv4 and DCCP options are refused,
 * and so are writes (tcp option ... set) and resets (strip). */
static int c_exthdr(struct nfe_cctx *c, struct nftnl_expr *e)
{
	int err = attrs_check(c, e, "exthdr",
			      A(NFTNL_EXPR_EXTHDR_DREG) |
			      A(NFTNL_EXPR_EXTHDR_TYPE) |
			      A(NFTNL_EXPR_EXTHDR_OFFSET) |
			      A(NFTNL_EXPR_EXTHDR_LEN) |
			      A(NFTNL_EXPR_EXTHDR_FLAGS) |
			      A(NFTNL_EXPR_EXTHDR_OP) |
			      A(NFTNL_EXPR_EXTHDR_SREG),
			      A(NFTNL_EXPR_EXTHDR_TYPE));
	uint32_t op = NFT_EXTHDR_OP_IPV6, flags = 0, off, len;

	if (err)
		return err;
	if (nftnl_expr_is_set(e, NFTNL_EXPR_EXTHDR_OP))
		op = nftnl_expr_get_u32(e, NFTNL_EXPR_EXTHDR_OP);
	if (nftnl_expr_is_set(e, NFTNL_EXPR_EXTHDR_FLAGS))
		flags = nftnl_expr_get_u32(e, NFTNL_EXPR_EXTHDR_FLAGS);
	if (nftnl_expr_is_set(e, NFTNL_EXPR_EXTHDR_SREG))
		return nfe_fail(c, -EOPNOTSUPP,
				"exthdr writes (e.g. tcp option maxseg size set) are not supported");
	if (!nftnl_expr_is_set(e, NFTNL_EXPR_EXTHDR_DREG))
		return nfe_fail(c, -EOPNOTSUPP,
				"exthdr reset (reset tcp option) is not supported");
	if (!nftnl_expr_is_set(e, NFTNL_EXPR_EXTHDR_OFFSET) ||
	    !nftnl_expr_is_set(e, NFTNL_EXPR_EXTHDR_LEN))
		return nfe_fail(c, -EINVAL, "exthdr without offset or length");
	if (op != NFT_EXTHDR_OP_TCPOPT && op != NFT_EXTHDR_OP_SCTP)
		return nfe_fail(c, -EOPNOTSUPP,
				"exthdr op %u is not supported (only tcp option and sctp chunk)",
				op);
	off = nftnl_expr_get_u32(e, NFTNL_EXPR_EXTHDR_OFFSET);
	len = nftnl_expr_get_u32(e, NFTNL_EXPR_EXTHDR_LEN);
	if (off > 255 || len > 255)
		return nfe_fail(c, -ERANGE, "exthdr offset %u, length %u",
				off, len);
	if (flags & ~(uint32_t)NFT_EXTHDR_F_PRESENT)
		return nfe_fail(c, -EINVAL, "exthdr flags 0x%x", flags);
	struct nfe_op *o = op_new(c, OP_EXTHDR);
	if (!o)
		return -ENOMEM;
	o->sub = (uint8_t)op;
	o->size = nftnl_expr_get_u8(e, NFTNL_EXPR_EXTHDR_TYPE);
	o->len = (uint8_t)len;
	o->arg = off;
	o->arg2 = (int32_t)flags;
	return reg_attr(c, e, NFTNL_EXPR_EXTHDR_DREG, len, &o->dreg);
}

/* ---- queue, numgen, hash ------------------------------------------------- */

/* nft_queue_init / nft_queue_sreg_init / nft_queue_validate.  A stack has
 * no nfnetlink_queue listener, so the packet goes as the kernel's does
 * when no program listens on the queue (nf_queue: -ESRCH): dropped, or,
 * with `bypass`, on to the next chain (accepted by this one).  The queue
 * number (num, total, fanout, a register) chooses nothing then. */
static int c_queue(struct nfe_cctx *c, struct nftnl_expr *e)
{
	int err = attrs_check(c, e, "queue", A(NFTNL_EXPR_QUEUE_NUM) |
			      A(NFTNL_EXPR_QUEUE_TOTAL) |
			      A(NFTNL_EXPR_QUEUE_FLAGS) |
			      A(NFTNL_EXPR_QUEUE_SREG_QNUM), 0);
	const struct nfe_chain *ch = &c->p->chains[c->chain];
	uint32_t num = 0, total = 1, flags = 0;
	uint8_t sreg;

	if (err)
		return err;
	if (nftnl_expr_is_set(e, NFTNL_EXPR_QUEUE_NUM))
		num = nftnl_expr_get_u16(e, NFTNL_EXPR_QUEUE_NUM);
	if (nftnl_expr_is_set(e, NFTNL_EXPR_QUEUE_TOTAL))
		total = nftnl_expr_get_u16(e, NFTNL_EXPR_QUEUE_TOTAL);
	if (nftnl_expr_is_set(e, NFTNL_EXPR_QUEUE_FLAGS))
		flags = nftnl_expr_get_u16(e, NFTNL_EXPR_QUEUE_FLAGS);
	if (flags & ~(uint32_t)NFT_QUEUE_FLAG_MASK)
		return nfe_fail(c, -EINVAL, "queue flags 0x%x", flags);
	if (nftnl_expr_is_set(e, NFTNL_EXPR_QUEUE_SREG_QNUM)) {
		if (nftnl_expr_is_set(e, NFTNL_EXPR_QUEUE_NUM))
			return nfe_fail(c, -EINVAL, "queue: num and a register");
		if (flags & NFT_QUEUE_FLAG_CPU_FANOUT)
			return nfe_fail(c, -EOPNOTSUPP, "queue: fanout with a register");
		err = reg_attr(c, e, NFTNL_EXPR_QUEUE_SREG_QNUM, 4, &sreg);
		if (err)
			return err;
	} else if (total == 0 || num + total > 65536) {
		return nfe_fail(c, -ERANGE, "queue %u-%u", num, num + total - 1);
	}
	if (ch->base && ch->hook == FN_NFT_INGRESS)
		return nfe_fail(c, -EOPNOTSUPP, "queue is not allowed on ingress");
	struct nfe_op *op = op_new(c, OP_QUEUE);
	if (!op)
		return -ENOMEM;
	op->arg = flags & NFT_QUEUE_FLAG_BYPASS;
	return 0;
}

/* The modulus and offset of numgen and hash (their inits): ERANGE for a
 * modulus of 0, EOVERFLOW when offset + modulus - 1 wraps. */
static int mod_offset(struct nfe_cctx *c, uint32_t mod, uint32_t off)
{
	if (mod == 0)
		return nfe_fail(c, -ERANGE, "modulus 0");
	if (off + mod - 1 < off)
		return nfe_fail(c, -EOVERFLOW, "offset %u + modulus %u", off, mod);
	return 0;
}

/* One op with {state, modulus, offset} in the pool (arg). */
static struct nfe_op *gen_op(struct nfe_cctx *c, uint8_t type, uint32_t state,
			     uint32_t mod, uint32_t off)
{
	uint32_t w[3] = { state, mod, off }, idx;
	struct nfe_op *op;

	if (nfe_pool_add(c->p, w, sizeof(w), &idx))
		return NULL;
	op = op_new(c, type);
	if (op)
		op->arg = idx;
	return op;
}

/* nft_ng_init: `numgen inc` counts from 0 per rule (the pool word; a
 * commit starts it again, the kernel's goes on for a rule it keeps),
 * `numgen random` draws from the program's xorshift. */
static int c_numgen(struct nfe_cctx *c, struct nftnl_expr *e)
{
	int err = attrs_check(c, e, "numgen", A(NFTNL_EXPR_NG_DREG) |
			      A(NFTNL_EXPR_NG_MODULUS) | A(NFTNL_EXPR_NG_TYPE) |
			      A(NFTNL_EXPR_NG_OFFSET),
			      A(NFTNL_EXPR_NG_DREG) | A(NFTNL_EXPR_NG_MODULUS) |
			      A(NFTNL_EXPR_NG_TYPE));
	uint32_t type, mod, off = 0;
	struct nfe_op *op;

	if (err)
		return err;
	type = nftnl_expr_get_u32(e, NFTNL_EXPR_NG_TYPE);
	mod = nftnl_expr_get_u32(e, NFTNL_EXPR_NG_MODULUS);
	if (nftnl_expr_is_set(e, NFTNL_EXPR_NG_OFFSET))
		off = nftnl_expr_get_u32(e, NFTNL_EXPR_NG_OFFSET);
	if (type != NFT_NG_INCREMENTAL && type != NFT_NG_RANDOM)
		return nfe_fail(c, -EOPNOTSUPP, "numgen type %u", type);
	err = mod_offset(c, mod, off);
	if (err)
		return err;
	op = gen_op(c, OP_NUMGEN, mod - 1, mod, off);	/* first: 0 */
	if (!op)
		return -ENOMEM;
	op->sub = (uint8_t)type;
	return reg_attr(c, e, NFTNL_EXPR_NG_DREG, 4, &op->dreg);
}

/* nft_jhash_init, nft_symhash_init.  jhash without a seed gets a random
 * one, as the kernel's (autogen_seed); symhash hashes the flow with a
 * random seed of the program, as the kernel's __skb_get_hash_symmetric
 * does with its boot-time hashrnd (docs/nft-eval.md). */
static int c_hash(struct nfe_cctx *c, struct nftnl_expr *e)
{
	int err = attrs_check(c, e, "hash", A(NFTNL_EXPR_HASH_SREG) |
			      A(NFTNL_EXPR_HASH_DREG) | A(NFTNL_EXPR_HASH_LEN) |
			      A(NFTNL_EXPR_HASH_MODULUS) | A(NFTNL_EXPR_HASH_SEED) |
			      A(NFTNL_EXPR_HASH_OFFSET) | A(NFTNL_EXPR_HASH_TYPE),
			      A(NFTNL_EXPR_HASH_DREG) | A(NFTNL_EXPR_HASH_MODULUS) |
			      A(NFTNL_EXPR_HASH_TYPE));
	uint32_t type, mod, off = 0, seed, len = 0;
	struct nfe_op *op;
	uint8_t sreg = 0;

	if (err)
		return err;
	type = nftnl_expr_get_u32(e, NFTNL_EXPR_HASH_TYPE);
	mod = nftnl_expr_get_u32(e, NFTNL_EXPR_HASH_MODULUS);
	if (nftnl_expr_is_set(e, NFTNL_EXPR_HASH_OFFSET))
		off = nftnl_expr_get_u32(e, NFTNL_EXPR_HASH_OFFSET);
	if (type != NFT_HASH_JENKINS && type != NFT_HASH_SYM)
		return nfe_fail(c, -EOPNOTSUPP, "hash type %u", type);
	if (type == NFT_HASH_JENKINS) {
		if (!nftnl_expr_is_set(e, NFTNL_EXPR_HASH_SREG) ||
		    !nftnl_expr_is_set(e, NFTNL_EXPR_HASH_LEN))
			return nfe_fail(c, -EINVAL, "jhash without sreg or len");
		len = nftnl_expr_get_u32(e, NFTNL_EXPR_HASH_LEN);
		if (len == 0 || len > 255)
			return nfe_fail(c, -ERANGE, "jhash of %u bytes", len);
		err = reg_attr(c, e, NFTNL_EXPR_HASH_SREG, len, &sreg);
		if (err)
			return err;
	}
	err = mod_offset(c, mod, off);
	if (err)
		return err;
	if (type == NFT_HASH_JENKINS && nftnl_expr_is_set(e, NFTNL_EXPR_HASH_SEED))
		seed = nftnl_expr_get_u32(e, NFTNL_EXPR_HASH_SEED);
	else if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (uint32_t)(uintptr_t)&seed ^ mod;
	op = gen_op(c, OP_HASH, seed, mod, off);
	if (!op)
		return -ENOMEM;
	op->sub = (uint8_t)type;
	op->sreg = sreg;
	op->len = (uint8_t)len;
	return reg_attr(c, e, NFTNL_EXPR_HASH_DREG, 4, &op->dreg);
}

/* ---- nat, masq, redir ---------------------------------------------------
 *
 * Taken and listed as the kernel's, with its checks (nft_nat_init,
 * nft_masq_init, nft_redir_init and their validate functions).  dnat
 * and redirect to the stack itself bind the flow and rewrite it (nat.c);
 * any other packet that reaches one of them, in a family it applies to,
 * is dropped, where the kernel would have transformed it (docs/nft.md,
 * "NAT").  Never passed on unchanged.  The address and port registers
 * (the first of a range) and the flags go into the op for nat.c. */

/* nft_chain_validate_dependency(NFT_CHAIN_T_NAT) and
 * nft_chain_validate_hooks(): in a base chain, one of type nat on one of
 * `hooks` (FN_NFT_* bits); a regular chain is not checked. */
static int nat_chain_ok(struct nfe_cctx *c, const char *what, unsigned hooks)
{
	const struct nfe_chain *ch = &c->p->chains[c->chain];

	if (!ch->base)
		return 0;
	if (!ch->nat)
		return nfe_fail(c, -EOPNOTSUPP,
				"%s is only allowed in chains of type nat", what);
	if (!(hooks & (1u << ch->hook)))
		return nfe_fail(c, -EOPNOTSUPP,
				"%s is not allowed on this hook", what);
	return 0;
}

/* nft_parse_register_load() of an optional min/max pair of len bytes;
 * *reg the min's word (0: none). */
static int nat_regs(struct nfe_cctx *c, const struct nftnl_expr *e,
		    uint16_t min, uint16_t max, uint32_t len, uint8_t *reg)
{
	uint8_t idx;
	int err = 0;

	*reg = 0;
	if (nftnl_expr_is_set(e, min))
		err = reg_attr(c, e, min, len, reg);
	if (!err && nftnl_expr_is_set(e, max))
		err = reg_attr(c, e, max, len, &idx);
	return err;
}

static int nat_flags(struct nfe_cctx *c, const struct nftnl_expr *e,
		     uint16_t attr, int err)
{
	if (nftnl_expr_is_set(e, attr) &&
	    nftnl_expr_get_u32(e, attr) & ~(uint32_t)NF_NAT_RANGE_MASK)
		return nfe_fail(c, err, "nat flags 0x%x",
				nftnl_expr_get_u32(e, attr));
	return 0;
}

#define HOOK(h)	(1u << (h))

/* The op; areg, preg: the address and port registers (0: none). */
static int nat_op(struct nfe_cctx *c, uint8_t kind, uint8_t family,
		  unsigned hooks, uint8_t areg, uint8_t preg, uint32_t flags)
{
	struct nfe_op *op = op_new(c, OP_NAT);

	if (!op)
		return -ENOMEM;
	op->sub = kind;
	op->arg = family;
	op->size = (uint8_t)hooks;
	op->sreg = areg;
	op->dreg = preg;
	op->arg2 = (int32_t)flags;
	c->p->uses_ct = true;
	c->p->has_nat = true;	/* compile.c checks the chains reaching it */
	return 0;
}

static int c_nat(struct nfe_cctx *c, struct nftnl_expr *e)
{
	int err = attrs_check(c, e, "nat", A(NFTNL_EXPR_NAT_TYPE) |
			      A(NFTNL_EXPR_NAT_FAMILY) |
			      A(NFTNL_EXPR_NAT_REG_ADDR_MIN) |
			      A(NFTNL_EXPR_NAT_REG_ADDR_MAX) |
			      A(NFTNL_EXPR_NAT_REG_PROTO_MIN) |
			      A(NFTNL_EXPR_NAT_REG_PROTO_MAX) |
			      A(NFTNL_EXPR_NAT_FLAGS),
			      A(NFTNL_EXPR_NAT_TYPE) | A(NFTNL_EXPR_NAT_FAMILY));
	uint8_t tfam = c->p->chains[c->chain].family, areg = 0, preg = 0;
	uint32_t type, family, alen = 0;

	if (err)
		return err;
	type = nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_TYPE);
	family = nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_FAMILY);
	if (type != NFT_NAT_SNAT && type != NFT_NAT_DNAT)
		return nfe_fail(c, -EOPNOTSUPP, "nat type %u", type);
	if (tfam != NFPROTO_INET && family != tfam)
		return nfe_fail(c, -EOPNOTSUPP,
				"nat family %u in a table of family %u",
				family, tfam);
	if (family == NFPROTO_IPV4)
		alen = 4;
	else if (family == NFPROTO_IPV6)
		alen = 16;
	else if (nftnl_expr_is_set(e, NFTNL_EXPR_NAT_REG_ADDR_MIN))
		return nfe_fail(c, -EAFNOSUPPORT, "nat family %u", family);
	if (!alen && nftnl_expr_is_set(e, NFTNL_EXPR_NAT_REG_ADDR_MAX))
		return nfe_fail(c, -EINVAL, "nat: addr_max without addr_min");
	err = nat_regs(c, e, NFTNL_EXPR_NAT_REG_ADDR_MIN,
		       NFTNL_EXPR_NAT_REG_ADDR_MAX, alen, &areg);
	if (!err)
		err = nat_regs(c, e, NFTNL_EXPR_NAT_REG_PROTO_MIN,
			       NFTNL_EXPR_NAT_REG_PROTO_MAX, 2, &preg);
	if (!err)
		err = nat_flags(c, e, NFTNL_EXPR_NAT_FLAGS, -EOPNOTSUPP);
	unsigned hooks = type == NFT_NAT_SNAT ?
			 HOOK(FN_NFT_POSTROUTING) | HOOK(FN_NFT_INPUT) :
			 HOOK(FN_NFT_PREROUTING) | HOOK(FN_NFT_OUTPUT);
	if (!err)
		err = nat_chain_ok(c, type == NFT_NAT_SNAT ? "snat" : "dnat",
				   hooks);
	if (err)
		return err;
	return nat_op(c, type == NFT_NAT_SNAT ? NFE_NAT_SNAT : NFE_NAT_DNAT,
		      (uint8_t)family, hooks, alen == 4 ? areg : 0, preg,
		      nftnl_expr_is_set(e, NFTNL_EXPR_NAT_FLAGS) ?
		      nftnl_expr_get_u32(e, NFTNL_EXPR_NAT_FLAGS) : 0);
}

/* masq and redir: flags and an optional port range (nft_masq_init,
 * nft_redir_init); they act on the family of their table (the inet ones
 * on IPv4 and IPv6 alike). */
static int nat_ports(struct nfe_cctx *c, struct nftnl_expr *e,
		     const char *name, const char *what, uint16_t flags,
		     uint16_t min, uint16_t max, uint8_t kind, unsigned hooks)
{
	/* masquerade keeps a packet's source when it already is the
	 * outgoing netif's address, unless ports are to be mapped or
	 * randomized (get_unique_tuple): OP_NAT's len says it may */
	bool keep = !nftnl_expr_is_set(e, min) &&
		    !(nftnl_expr_is_set(e, flags) &&
		      nftnl_expr_get_u32(e, flags) &
		      (NF_NAT_RANGE_PROTO_RANDOM | NF_NAT_RANGE_PROTO_RANDOM_FULLY |
		       NF_NAT_RANGE_PROTO_OFFSET));
	int err = attrs_check(c, e, name, A(flags) | A(min) | A(max), 0);
	uint8_t preg = 0;

	if (!err && !nftnl_expr_is_set(e, min) && nftnl_expr_is_set(e, max))
		err = nfe_fail(c, -EINVAL, "%s: proto_max without proto_min",
			       name);
	if (!err)
		err = nat_flags(c, e, flags, -EINVAL);
	if (!err)
		err = nat_regs(c, e, min, max, 2, &preg);
	if (!err)
		err = nat_chain_ok(c, what, hooks);
	if (!err)
		err = nat_op(c, kind, NFPROTO_INET, hooks, 0, preg,
			     nftnl_expr_is_set(e, flags) ?
			     nftnl_expr_get_u32(e, flags) : 0);
	if (!err && kind == NFE_NAT_MASQ && keep)
		c->p->ops[c->p->nops - 1].len = 1;
	return err;
}

static int c_masq(struct nfe_cctx *c, struct nftnl_expr *e)
{
	return nat_ports(c, e, "masq", "masquerade", NFTNL_EXPR_MASQ_FLAGS,
			 NFTNL_EXPR_MASQ_REG_PROTO_MIN,
			 NFTNL_EXPR_MASQ_REG_PROTO_MAX, NFE_NAT_MASQ,
			 HOOK(FN_NFT_POSTROUTING));
}

static int c_redir(struct nfe_cctx *c, struct nftnl_expr *e)
{
	return nat_ports(c, e, "redir", "redirect", NFTNL_EXPR_REDIR_FLAGS,
			 NFTNL_EXPR_REDIR_REG_PROTO_MIN,
			 NFTNL_EXPR_REDIR_REG_PROTO_MAX, NFE_NAT_REDIR,
			 HOOK(FN_NFT_PREROUTING) | HOOK(FN_NFT_OUTPUT));
}

static const struct {
	const char *name;
	int (*fn)(struct nfe_cctx *c, struct nftnl_expr *e);
} exprs[] = {
	{ "payload", c_payload },
	{ "cmp", c_cmp },
	{ "bitwise", c_bitwise },
	{ "byteorder", c_byteorder },
	{ "range", c_range },
	{ "meta", c_meta },
	{ "immediate", c_immediate },
	{ "lookup", c_lookup },
	{ "counter", c_counter },
	{ "limit", c_limit },
	{ "quota", c_quota },
	{ "log", c_log },
	{ "reject", c_reject },
	{ "ct", c_ct },
	{ "exthdr", c_exthdr },
	{ "nat", c_nat },
	{ "masq", c_masq },
	{ "redir", c_redir },
	{ "queue", c_queue },
	{ "numgen", c_numgen },
	{ "hash", c_hash },
	{ "notrack", c_notrack },
	{ "objref", c_objref },
};

int nfe_compile_expr(struct nfe_cctx *c, struct nftnl_expr *e)
{
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

	for (size_t i = 0; name && i < sizeof(exprs) / sizeof(exprs[0]); i++)
		if (!strcmp(name, exprs[i].name))
			return exprs[i].fn(c, e);
	return nfe_fail(c, -EOPNOTSUPP, "expression '%s' is not supported",
			name ? name : "?");
}
