/*
 * tests/unit/nft_eval_util.c - see nft_eval_util.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/chain.h>
#include <libnftnl/object.h>
#include <libnftnl/table.h>

#include "nft_eval_util.h"
#include "nft_pkt_bytes.h"

#define PUSH(arr, n, cap, v) do {					\
	if ((n) == (cap)) {						\
		(cap) = (cap) ? (cap) * 2 : 8;				\
		(arr) = realloc((arr), (cap) * sizeof(*(arr)));		\
		assert_non_null(arr);					\
	}								\
	(arr)[(n)++] = (v);						\
} while (0)

struct fn_nft_ruleset *m_new(void)
{
	struct fn_nft_ruleset *rs = calloc(1, sizeof(*rs));

	assert_non_null(rs);
	rs->next_handle = 1;
	return rs;
}

void m_free(struct fn_nft_ruleset *rs)
{
	for (uint32_t i = 0; i < rs->ntables; i++) {
		struct fn_nft_table *t = rs->tables[i];

		for (uint32_t j = 0; j < t->nchains; j++) {
			struct fn_nft_chain *c = t->chains[j];

			for (uint32_t k = 0; k < c->nrules; k++)
				nftnl_rule_free(c->rules[k]);
			free(c->rules);
			nftnl_chain_free(c->nl);
			free(c);
		}
		for (uint32_t j = 0; j < t->nsets; j++) {
			nftnl_set_free(t->sets[j]->nl);
			free(t->sets[j]);
		}
		for (uint32_t j = 0; j < t->nobjs; j++)
			nftnl_obj_free(t->objs[j].nl);
		free(t->chains);
		free(t->sets);
		free(t->objs);
		nftnl_table_free(t->nl);
		free(t);
	}
	free(rs->tables);
	free(rs);
}

struct fn_nft_table *m_table(struct fn_nft_ruleset *rs, uint32_t family,
			     const char *name)
{
	struct fn_nft_table *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->nl = nftnl_table_alloc();
	nftnl_table_set_str(t->nl, NFTNL_TABLE_NAME, name);
	nftnl_table_set_u32(t->nl, NFTNL_TABLE_FAMILY, family);
	nftnl_table_set_u64(t->nl, NFTNL_TABLE_HANDLE, rs->next_handle++);
	PUSH(rs->tables, rs->ntables, rs->ctables, t);
	return t;
}

static const char *tname(struct fn_nft_table *t)
{
	return nftnl_table_get_str(t->nl, NFTNL_TABLE_NAME);
}

static uint32_t tfamily(struct fn_nft_table *t)
{
	return nftnl_table_get_u32(t->nl, NFTNL_TABLE_FAMILY);
}

static struct fn_nft_table *table_of(struct fn_nft_ruleset *rs,
				     struct fn_nft_chain *c)
{
	for (uint32_t i = 0; i < rs->ntables; i++)
		for (uint32_t j = 0; j < rs->tables[i]->nchains; j++)
			if (rs->tables[i]->chains[j] == c)
				return rs->tables[i];
	fail();
	return NULL;
}

struct fn_nft_chain *m_chain(struct fn_nft_ruleset *rs, struct fn_nft_table *t,
			     const char *name, int hook, int prio,
			     uint32_t policy)
{
	struct fn_nft_chain *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->nl = nftnl_chain_alloc();
	nftnl_chain_set_str(c->nl, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_str(c->nl, NFTNL_CHAIN_TABLE, tname(t));
	nftnl_chain_set_u32(c->nl, NFTNL_CHAIN_FAMILY, tfamily(t));
	nftnl_chain_set_u64(c->nl, NFTNL_CHAIN_HANDLE, rs->next_handle++);
	if (hook >= 0) {
		nftnl_chain_set_u32(c->nl, NFTNL_CHAIN_HOOKNUM, (uint32_t)hook);
		nftnl_chain_set_s32(c->nl, NFTNL_CHAIN_PRIO, prio);
		nftnl_chain_set_u32(c->nl, NFTNL_CHAIN_POLICY, policy);
		nftnl_chain_set_str(c->nl, NFTNL_CHAIN_TYPE, "filter");
		if (tfamily(t) == NFPROTO_NETDEV)
			nftnl_chain_set_str(c->nl, NFTNL_CHAIN_DEV, "eth0");
	}
	PUSH(t->chains, t->nchains, t->cchains, c);
	return c;
}

struct fn_nft_chain *m_nat_chain(struct fn_nft_ruleset *rs,
				 struct fn_nft_table *t, const char *name,
				 int hook, int prio)
{
	struct fn_nft_chain *c = m_chain(rs, t, name, hook, prio, NF_ACCEPT);

	nftnl_chain_set_str(c->nl, NFTNL_CHAIN_TYPE, "nat");
	return c;
}

struct nftnl_rule *m_rule(struct fn_nft_ruleset *rs, struct fn_nft_chain *c,
			  ...)
{
	struct fn_nft_table *t = table_of(rs, c);
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nftnl_expr *e;
	va_list ap;

	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, tname(t));
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN,
			   nftnl_chain_get_str(c->nl, NFTNL_CHAIN_NAME));
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, tfamily(t));
	nftnl_rule_set_u64(r, NFTNL_RULE_HANDLE, rs->next_handle++);
	va_start(ap, c);
	while ((e = va_arg(ap, struct nftnl_expr *)))
		nftnl_rule_add_expr(r, e);
	va_end(ap);
	PUSH(c->rules, c->nrules, c->crules, r);
	return r;
}

struct fn_nft_set *m_set(struct fn_nft_ruleset *rs, struct fn_nft_table *t,
			 const char *name, uint32_t flags, uint32_t klen,
			 uint32_t dtype, uint32_t dlen)
{
	struct fn_nft_set *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->nl = nftnl_set_alloc();
	nftnl_set_set_str(s->nl, NFTNL_SET_NAME, name);
	nftnl_set_set_str(s->nl, NFTNL_SET_TABLE, tname(t));
	nftnl_set_set_u32(s->nl, NFTNL_SET_FAMILY, tfamily(t));
	nftnl_set_set_u64(s->nl, NFTNL_SET_HANDLE, rs->next_handle++);
	nftnl_set_set_u32(s->nl, NFTNL_SET_FLAGS, flags);
	nftnl_set_set_u32(s->nl, NFTNL_SET_KEY_LEN, klen);
	if (flags & NFT_SET_MAP) {
		nftnl_set_set_u32(s->nl, NFTNL_SET_DATA_TYPE, dtype);
		nftnl_set_set_u32(s->nl, NFTNL_SET_DATA_LEN, dlen);
	}
	PUSH(t->sets, t->nsets, t->csets, s);
	return s;
}

void m_elem(struct fn_nft_set *s, const void *key, uint32_t klen,
	    uint32_t flags, const void *data, uint32_t dlen)
{
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();

	if (key)
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, klen);
	if (flags)
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, flags);
	if (data)
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, data, dlen);
	nftnl_set_elem_add(s->nl, e);
}

void m_elem_verdict(struct fn_nft_set *s, const void *key, uint32_t klen,
		    int verdict, const char *chain)
{
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();

	if (key)
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, klen);
	else
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS,
				       NFT_SET_ELEM_CATCHALL);
	nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, (uint32_t)verdict);
	if (chain)
		nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, chain);
	nftnl_set_elem_add(s->nl, e);
}

/* ---- expressions --------------------------------------------------------- */

static struct nftnl_expr *ex(const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	assert_non_null(e);
	return e;
}

struct nftnl_expr *e_named(const char *name)
{
	return ex(name);
}

struct nftnl_expr *e_numgen(uint32_t type, uint32_t mod, uint32_t off)
{
	struct nftnl_expr *e = ex("numgen");

	nftnl_expr_set_u32(e, NFTNL_EXPR_NG_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NG_TYPE, type);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NG_MODULUS, mod);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NG_OFFSET, off);
	return e;
}

struct nftnl_expr *e_payload(uint32_t base, uint32_t off, uint32_t len,
			     uint32_t dreg)
{
	struct nftnl_expr *e = ex("payload");

	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	return e;
}

struct nftnl_expr *e_cmp(uint32_t sreg, uint32_t op, const void *d,
			 uint32_t len)
{
	struct nftnl_expr *e = ex("cmp");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, sreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, d, len);
	return e;
}

struct nftnl_expr *e_cmp8(uint32_t sreg, uint32_t op, uint8_t v)
{
	return e_cmp(sreg, op, &v, 1);
}

struct nftnl_expr *e_cmp16(uint32_t sreg, uint32_t op, uint16_t host)
{
	uint16_t be = htons(host);

	return e_cmp(sreg, op, &be, 2);
}

struct nftnl_expr *e_cmp32(uint32_t sreg, uint32_t op, uint32_t raw)
{
	return e_cmp(sreg, op, &raw, 4);
}

struct nftnl_expr *e_range(uint32_t sreg, uint32_t op, const void *from,
			   const void *to, uint32_t len)
{
	struct nftnl_expr *e = ex("range");

	nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_SREG, sreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_RANGE_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_RANGE_FROM_DATA, from, len);
	nftnl_expr_set(e, NFTNL_EXPR_RANGE_TO_DATA, to, len);
	return e;
}

struct nftnl_expr *e_bitwise(uint32_t sreg, uint32_t dreg, uint32_t len,
			     const void *mask, const void *xor)
{
	struct nftnl_expr *e = ex("bitwise");

	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, sreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, dreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, xor, len);
	return e;
}

struct nftnl_expr *e_shift(uint32_t sreg, uint32_t dreg, uint32_t len,
			   uint32_t op, uint32_t shift)
{
	struct nftnl_expr *e = ex("bitwise");

	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, sreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, dreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_DATA, &shift, 4);
	return e;
}

struct nftnl_expr *e_byteorder(uint32_t sreg, uint32_t dreg, uint32_t op,
			       uint32_t len, uint32_t size)
{
	struct nftnl_expr *e = ex("byteorder");

	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SREG, sreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_DREG, dreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_OP, op);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SIZE, size);
	return e;
}

struct nftnl_expr *e_meta(uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = ex("meta");

	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	return e;
}

struct nftnl_expr *e_meta_set(uint32_t key, uint32_t sreg)
{
	struct nftnl_expr *e = ex("meta");

	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, sreg);
	return e;
}

struct nftnl_expr *e_imm(uint32_t dreg, const void *d, uint32_t len)
{
	struct nftnl_expr *e = ex("immediate");

	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, dreg);
	nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, d, len);
	return e;
}

struct nftnl_expr *e_verdict(int v, const char *chain)
{
	struct nftnl_expr *e = ex("immediate");

	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)v);
	if (chain)
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
	return e;
}

struct nftnl_expr *e_lookup(const char *set, uint32_t sreg, int dreg,
			    uint32_t flags)
{
	struct nftnl_expr *e = ex("lookup");

	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, sreg);
	if (dreg >= 0)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, (uint32_t)dreg);
	if (flags)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, flags);
	return e;
}

struct nftnl_expr *e_counter(void)
{
	return ex("counter");
}

struct nftnl_expr *e_limit(uint64_t rate, uint64_t unit, uint32_t burst,
			   uint32_t type, uint32_t flags)
{
	struct nftnl_expr *e = ex("limit");

	nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_RATE, rate);
	nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_UNIT, unit);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_BURST, burst);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_TYPE, type);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_FLAGS, flags);
	return e;
}

struct nftnl_obj *m_obj(struct fn_nft_ruleset *rs, struct fn_nft_table *t,
			uint32_t type, const char *name)
{
	struct nftnl_obj *o = nftnl_obj_alloc();

	assert_non_null(o);
	nftnl_obj_set_str(o, NFTNL_OBJ_TABLE,
			  nftnl_table_get_str(t->nl, NFTNL_TABLE_NAME));
	nftnl_obj_set_str(o, NFTNL_OBJ_NAME, name);
	nftnl_obj_set_u32(o, NFTNL_OBJ_TYPE, type);
	nftnl_obj_set_u32(o, NFTNL_OBJ_FAMILY,
			  nftnl_table_get_u32(t->nl, NFTNL_TABLE_FAMILY));
	nftnl_obj_set_u64(o, NFTNL_OBJ_HANDLE, ++rs->next_handle);
	PUSH(t->objs, t->nobjs, t->cobjs, ((struct fn_nft_obj){ o }));
	return o;
}

struct nftnl_expr *e_objref(uint32_t type, const char *name)
{
	struct nftnl_expr *e = ex("objref");

	nftnl_expr_set_u32(e, NFTNL_EXPR_OBJREF_IMM_TYPE, type);
	nftnl_expr_set_str(e, NFTNL_EXPR_OBJREF_IMM_NAME, name);
	return e;
}

struct nftnl_expr *e_quota(uint64_t bytes, uint32_t flags)
{
	struct nftnl_expr *e = ex("quota");

	nftnl_expr_set_u64(e, NFTNL_EXPR_QUOTA_BYTES, bytes);
	nftnl_expr_set_u32(e, NFTNL_EXPR_QUOTA_FLAGS, flags);
	return e;
}

struct nftnl_expr *e_log(const char *prefix)
{
	struct nftnl_expr *e = ex("log");

	if (prefix)
		nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, prefix);
	return e;
}

struct nftnl_expr *e_reject(uint32_t type, int code)
{
	struct nftnl_expr *e = ex("reject");

	nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, type);
	if (code >= 0)
		nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, (uint8_t)code);
	return e;
}

struct nftnl_expr *e_ct_state(uint32_t dreg)
{
	struct nftnl_expr *e = ex("ct");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, dreg);
	return e;
}

struct nftnl_expr *e_ct(uint32_t key, uint32_t dreg, int dir)
{
	struct nftnl_expr *e = ex("ct");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, dreg);
	if (dir >= 0)
		nftnl_expr_set_u8(e, NFTNL_EXPR_CT_DIR, (uint8_t)dir);
	return e;
}

struct nftnl_expr *e_ct_set(uint32_t key, uint32_t sreg)
{
	struct nftnl_expr *e = ex("ct");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_SREG, sreg);
	return e;
}

struct nftnl_expr *e_exthdr(uint32_t op, uint8_t type, uint32_t off,
			    uint32_t len, uint32_t flags, uint32_t dreg)
{
	struct nftnl_expr *e = ex("exthdr");

	nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_OP, op);
	nftnl_expr_set_u8(e, NFTNL_EXPR_EXTHDR_TYPE, type);
	nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_LEN, len);
	if (flags)
		nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_FLAGS, flags);
	nftnl_expr_set_u32(e, NFTNL_EXPR_EXTHDR_DREG, dreg);
	return e;
}

/* ---- packets ------------------------------------------------------------- */

void t_fix_ip_sum(struct t_pkt *t)
{
	uint8_t *ip = t->buf + 14;

	wr16(ip + 10, 0);
	wr16(ip + 10, csum(ip, (ip[0] & 15) * 4u, 0));
}

static uint8_t *ip_start(struct t_pkt *t, uint32_t src, uint32_t dst,
			 uint8_t proto, uint32_t l4len)
{
	uint8_t *eth = t->buf, *ip = t->buf + 14;
	uint32_t tot = 20 + l4len;

	memset(t, 0, sizeof(*t));
	memset(eth, 0x02, 12);
	wr16(eth + 12, 0x0800);
	ip[0] = 0x45;
	wr16(ip + 2, (uint16_t)tot);
	wr16(ip + 4, 0x1234);
	ip[8] = 64;
	ip[9] = proto;
	wr32(ip + 12, src);
	wr32(ip + 16, dst);
	t_fix_ip_sum(t);
	t->p.l2 = eth;
	t->p.l2_len = 14 + tot;
	t->p.nh = ip;
	t->p.nh_len = tot;
	t->p.ethertype = 0x0800;
	t->p.iif = t->p.oif = 2;
	t->p.iifname = t->p.oifname = "eth0";
	t->p.now_ns = 1000000000ull;
	return ip + 20;
}

static void l4_sum(struct t_pkt *t, uint32_t l4len, uint32_t off)
{
	uint8_t *ip = t->buf + 14, *l4 = ip + 20;
	uint32_t sum = 0;

	for (int i = 12; i < 20; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	sum += ip[9] + l4len;
	wr16(l4 + off, csum(l4, l4len, sum));
}

void t_tcp(struct t_pkt *t, uint32_t src, uint32_t dst, uint16_t sport,
	   uint16_t dport, uint8_t flags, uint32_t payload)
{
	uint8_t *l4 = ip_start(t, src, dst, 6, 20 + payload);

	wr16(l4, sport);
	wr16(l4 + 2, dport);
	wr32(l4 + 4, 1000);
	l4[12] = 5 << 4;
	l4[13] = flags;
	wr16(l4 + 14, 65535);
	l4_sum(t, 20 + payload, 16);
}

void t_udp(struct t_pkt *t, uint32_t src, uint32_t dst, uint16_t sport,
	   uint16_t dport, uint32_t payload)
{
	uint8_t *l4 = ip_start(t, src, dst, 17, 8 + payload);

	wr16(l4, sport);
	wr16(l4 + 2, dport);
	wr16(l4 + 4, (uint16_t)(8 + payload));
	l4_sum(t, 8 + payload, 6);
}

void t_icmp(struct t_pkt *t, uint32_t src, uint32_t dst, uint8_t type,
	    uint8_t code, uint16_t id)
{
	uint8_t *l4 = ip_start(t, src, dst, 1, 16);

	l4[0] = type;
	l4[1] = code;
	wr16(l4 + 4, id);
	wr16(l4 + 6, 1);
	wr16(l4 + 2, csum(l4, 16, 0));
}

void t_icmp_err(struct t_pkt *t, uint32_t src, uint32_t dst, uint8_t type,
		uint8_t code, const struct t_pkt *q)
{
	uint8_t quoted[28];
	uint8_t *l4;

	memcpy(quoted, q->buf + 14, 28);
	l4 = ip_start(t, src, dst, 1, 8 + 28);
	l4[0] = type;
	l4[1] = code;
	memcpy(l4 + 8, quoted, 28);
	wr16(l4 + 2, csum(l4, 36, 0));
}

void t_frag(struct t_pkt *t, uint16_t off, int more)
{
	uint8_t *ip = t->buf + 14;

	wr16(ip + 6, (uint16_t)(off | (more ? 0x2000 : 0)));
	t_fix_ip_sum(t);
}

/* ---- running ------------------------------------------------------------- */

struct fn_nft_prog *t_compile(const struct fn_nft_ruleset *rs,
			      const struct fn_nft_prog *old)
{
	char msg[256];
	int err = 0;
	struct fn_nft_prog *p = fn_nft_compile(rs, old, &err, msg, sizeof(msg));

	if (!p)
		fail_msg("compile failed: %d %s", err, msg);
	return p;
}

int t_compile_err(const struct fn_nft_ruleset *rs, char *msg, size_t len)
{
	int err = 0;
	struct fn_nft_prog *p = fn_nft_compile(rs, NULL, &err, msg, len);

	if (p) {
		fn_nft_prog_free(p);
		fail_msg("compile succeeded, expected an error");
	}
	assert_true(err < 0);
	assert_true(msg[0] != 0);
	return err;
}

int t_eval(struct fn_nft_prog *p, struct fn_nft_ct *ct, enum fn_nft_hook h,
	   struct t_pkt *t, struct fn_nft_result *res)
{
	struct fn_nft_result r;

	fn_nft_eval(p, ct, h, &t->p, res ? res : &r);
	return (res ? res : &r)->verdict;
}

uint64_t t_packets(struct fn_nft_prog *p, struct nftnl_rule *r, unsigned i)
{
	uint64_t pk = 0, by = 0;

	assert_int_equal(fn_nft_expr_state(p, r, i, &pk, &by), 0);
	return pk;
}

uint64_t t_bytes(struct fn_nft_prog *p, struct nftnl_rule *r, unsigned i)
{
	uint64_t pk = 0, by = 0;

	assert_int_equal(fn_nft_expr_state(p, r, i, &pk, &by), 0);
	return by;
}
