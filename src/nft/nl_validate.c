/*
 * nl_validate.c - a batch message's attributes, checked before libnftnl
 * parses them.
 *
 * libnftnl is a client library: it trusts the kernel.  Its parsers end
 * the process on a wrong attribute type (trapped: nl_guard.c), strdup()
 * strings without checking their NUL, and some dereference attributes
 * they never checked were there (an expression without NFTA_EXPR_NAME:
 * strcmp(NULL), found by fuzz_nft_netlink).  So every attribute libnftnl
 * reads outside an expression's private data is checked here against the
 * kernel's policy (nf_tables_api.c: the nla_policy tables), with libmnl:
 * integers of their exact size, strings NUL-terminated and at most
 * NFT_NAME_MAXLEN, nests whole, every expression with a name, and no
 * attribute type beyond the last one known (libnftnl 1.2.4's element
 * parser writes tb[type] unchecked: a stack overflow, found by
 * fuzz_nft_netlink; the kernel would ignore such an attribute).
 *
 * An expression's own attributes are checked here too, for the
 * expressions the evaluator knows (the kernel's per-expression policies,
 * which are the types libnftnl's parsers check): a wrong one makes
 * libnftnl exit() mid-parse, which the guard turns into an error but
 * which leaks the half-built expression (fuzz_nft_netlink found it).
 * Any other expression is refused here with EOPNOTSUPP, before libnftnl
 * parses its data, as the compiler would refuse it at commit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "nl.h"

enum vt { V_NONE, V_U8, V_U16, V_U32, V_U64, V_STR, V_BIN, V_NEST, V_LIST_EXPR,
	  V_DATA, V_VALUE, V_HOOK, V_DEVS, V_COUNTERS, V_COMPAT, V_DESC, V_ELEMS,
	  V_EXPR, V_OBJDATA, V_NSTR };

struct vpolicy {
	uint16_t max;		/* highest attribute type known */
	const uint8_t *types;	/* [type] = enum vt; V_NONE: ignored */
};

#define NEST_DEPTH_MAX	8

/* The name of the first expression refused as unknown. */
static const char *unsupported;
/* An object message's data policy, by its NFTA_OBJ_TYPE (NULL: none). */
static const struct vpolicy *obj_data;

static int check(const struct nlattr *nest_or_null,
		 const struct nlmsghdr *nlh, const struct vpolicy *p,
		 unsigned depth);

static const uint8_t table_t[] = {
	[NFTA_TABLE_NAME] = V_STR, [NFTA_TABLE_FLAGS] = V_U32,
	[NFTA_TABLE_USE] = V_U32, [NFTA_TABLE_HANDLE] = V_U64,
	[NFTA_TABLE_USERDATA] = V_BIN, [NFTA_TABLE_OWNER] = V_U32,
};
static const uint8_t chain_t[] = {
	[NFTA_CHAIN_TABLE] = V_STR, [NFTA_CHAIN_HANDLE] = V_U64,
	[NFTA_CHAIN_NAME] = V_STR, [NFTA_CHAIN_HOOK] = V_HOOK,
	[NFTA_CHAIN_POLICY] = V_U32, [NFTA_CHAIN_USE] = V_U32,
	[NFTA_CHAIN_TYPE] = V_STR, [NFTA_CHAIN_COUNTERS] = V_COUNTERS,
	[NFTA_CHAIN_FLAGS] = V_U32, [NFTA_CHAIN_ID] = V_U32,
	[NFTA_CHAIN_USERDATA] = V_BIN,
};
static const uint8_t hook_t[] = {
	[NFTA_HOOK_HOOKNUM] = V_U32, [NFTA_HOOK_PRIORITY] = V_U32,
	[NFTA_HOOK_DEV] = V_STR, [NFTA_HOOK_DEVS] = V_DEVS,
};
static const uint8_t counters_t[] = {
	[NFTA_COUNTER_BYTES] = V_U64, [NFTA_COUNTER_PACKETS] = V_U64,
};
static const uint8_t rule_t[] = {
	[NFTA_RULE_TABLE] = V_STR, [NFTA_RULE_CHAIN] = V_STR,
	[NFTA_RULE_HANDLE] = V_U64, [NFTA_RULE_EXPRESSIONS] = V_LIST_EXPR,
	[NFTA_RULE_COMPAT] = V_COMPAT, [NFTA_RULE_POSITION] = V_U64,
	[NFTA_RULE_USERDATA] = V_BIN, [NFTA_RULE_ID] = V_U32,
	[NFTA_RULE_POSITION_ID] = V_U32, [NFTA_RULE_CHAIN_ID] = V_U32,
};
static const uint8_t compat_t[] = {
	[NFTA_RULE_COMPAT_PROTO] = V_U32, [NFTA_RULE_COMPAT_FLAGS] = V_U32,
};
static const uint8_t expr_t[] = {
	[NFTA_EXPR_NAME] = V_STR, [NFTA_EXPR_DATA] = V_NEST,
};
static const uint8_t set_t[] = {
	[NFTA_SET_TABLE] = V_STR, [NFTA_SET_NAME] = V_STR,
	[NFTA_SET_FLAGS] = V_U32, [NFTA_SET_KEY_TYPE] = V_U32,
	[NFTA_SET_KEY_LEN] = V_U32, [NFTA_SET_DATA_TYPE] = V_U32,
	[NFTA_SET_DATA_LEN] = V_U32, [NFTA_SET_POLICY] = V_U32,
	[NFTA_SET_DESC] = V_DESC, [NFTA_SET_ID] = V_U32,
	[NFTA_SET_TIMEOUT] = V_U64, [NFTA_SET_GC_INTERVAL] = V_U32,
	[NFTA_SET_USERDATA] = V_BIN, [NFTA_SET_OBJ_TYPE] = V_U32,
	[NFTA_SET_HANDLE] = V_U64, [NFTA_SET_EXPR] = V_EXPR,
	[NFTA_SET_EXPRESSIONS] = V_LIST_EXPR,
};
static const uint8_t desc_t[] = {
	[NFTA_SET_DESC_SIZE] = V_U32, [NFTA_SET_DESC_CONCAT] = V_NEST,
};
static const uint8_t elems_t[] = {
	[NFTA_SET_ELEM_LIST_TABLE] = V_STR, [NFTA_SET_ELEM_LIST_SET] = V_STR,
	[NFTA_SET_ELEM_LIST_ELEMENTS] = V_ELEMS,
	[NFTA_SET_ELEM_LIST_SET_ID] = V_U32,
};
static const uint8_t elem_t[] = {
	[NFTA_SET_ELEM_KEY] = V_VALUE, [NFTA_SET_ELEM_DATA] = V_DATA,
	[NFTA_SET_ELEM_FLAGS] = V_U32, [NFTA_SET_ELEM_TIMEOUT] = V_U64,
	[NFTA_SET_ELEM_EXPIRATION] = V_U64, [NFTA_SET_ELEM_USERDATA] = V_BIN,
	[NFTA_SET_ELEM_EXPR] = V_EXPR, [NFTA_SET_ELEM_OBJREF] = V_STR,
	[NFTA_SET_ELEM_KEY_END] = V_VALUE,
	[NFTA_SET_ELEM_EXPRESSIONS] = V_LIST_EXPR,
};
static const uint8_t data_t[] = {
	[NFTA_DATA_VALUE] = V_BIN, [NFTA_DATA_VERDICT] = V_NEST,
};
static const uint8_t verdict_t[] = {
	[NFTA_VERDICT_CODE] = V_U32, [NFTA_VERDICT_CHAIN] = V_STR,
	[NFTA_VERDICT_CHAIN_ID] = V_U32,
};

static const uint8_t obj_t[] = {
	[NFTA_OBJ_TABLE] = V_STR, [NFTA_OBJ_NAME] = V_STR,
	[NFTA_OBJ_TYPE] = V_U32, [NFTA_OBJ_DATA] = V_OBJDATA,
	[NFTA_OBJ_USE] = V_U32, [NFTA_OBJ_HANDLE] = V_U64,
	[NFTA_OBJ_PAD] = V_NONE, [NFTA_OBJ_USERDATA] = V_BIN,
};

#define POLICY(a)	{ sizeof(a) - 1, a }
static const struct vpolicy p_table = POLICY(table_t);
static const struct vpolicy p_chain = POLICY(chain_t);
static const struct vpolicy p_hook = POLICY(hook_t);
static const struct vpolicy p_counters = POLICY(counters_t);
static const struct vpolicy p_rule = POLICY(rule_t);
static const struct vpolicy p_compat = POLICY(compat_t);
static const struct vpolicy p_expr = POLICY(expr_t);
static const struct vpolicy p_set = POLICY(set_t);
static const struct vpolicy p_desc = POLICY(desc_t);
static const struct vpolicy p_elems = POLICY(elems_t);
static const struct vpolicy p_elem = POLICY(elem_t);
static const struct vpolicy p_data = POLICY(data_t);
static const struct vpolicy p_verdict = POLICY(verdict_t);
static const struct vpolicy p_obj = POLICY(obj_t);

/* Each expression's data (NFTA_EXPR_DATA), for every expression the
 * evaluator compiles (eval/cexpr.c); padding attributes are V_NONE. */
static const uint8_t payload_t[] = {
	[NFTA_PAYLOAD_DREG] = V_U32, [NFTA_PAYLOAD_BASE] = V_U32,
	[NFTA_PAYLOAD_OFFSET] = V_U32, [NFTA_PAYLOAD_LEN] = V_U32,
	[NFTA_PAYLOAD_SREG] = V_U32, [NFTA_PAYLOAD_CSUM_TYPE] = V_U32,
	[NFTA_PAYLOAD_CSUM_OFFSET] = V_U32, [NFTA_PAYLOAD_CSUM_FLAGS] = V_U32,
};
static const uint8_t cmp_t[] = {
	[NFTA_CMP_SREG] = V_U32, [NFTA_CMP_OP] = V_U32,
	[NFTA_CMP_DATA] = V_VALUE,
};
static const uint8_t bitwise_t[] = {
	[NFTA_BITWISE_SREG] = V_U32, [NFTA_BITWISE_DREG] = V_U32,
	[NFTA_BITWISE_LEN] = V_U32, [NFTA_BITWISE_MASK] = V_VALUE,
	[NFTA_BITWISE_XOR] = V_VALUE, [NFTA_BITWISE_OP] = V_U32,
	[NFTA_BITWISE_DATA] = V_VALUE,
};
static const uint8_t byteorder_t[] = {
	[NFTA_BYTEORDER_SREG] = V_U32, [NFTA_BYTEORDER_DREG] = V_U32,
	[NFTA_BYTEORDER_OP] = V_U32, [NFTA_BYTEORDER_LEN] = V_U32,
	[NFTA_BYTEORDER_SIZE] = V_U32,
};
static const uint8_t range_t[] = {
	[NFTA_RANGE_SREG] = V_U32, [NFTA_RANGE_OP] = V_U32,
	[NFTA_RANGE_FROM_DATA] = V_VALUE, [NFTA_RANGE_TO_DATA] = V_VALUE,
};
static const uint8_t meta_t[] = {
	[NFTA_META_DREG] = V_U32, [NFTA_META_KEY] = V_U32,
	[NFTA_META_SREG] = V_U32,
};
static const uint8_t imm_t[] = {
	[NFTA_IMMEDIATE_DREG] = V_U32, [NFTA_IMMEDIATE_DATA] = V_DATA,
};
static const uint8_t lookup_t[] = {
	[NFTA_LOOKUP_SET] = V_STR, [NFTA_LOOKUP_SREG] = V_U32,
	[NFTA_LOOKUP_DREG] = V_U32, [NFTA_LOOKUP_SET_ID] = V_U32,
	[NFTA_LOOKUP_FLAGS] = V_U32,
};
static const uint8_t counter_t[] = {
	[NFTA_COUNTER_BYTES] = V_U64, [NFTA_COUNTER_PACKETS] = V_U64,
	[NFTA_COUNTER_PAD] = V_NONE,
};
static const uint8_t limit_t[] = {
	[NFTA_LIMIT_RATE] = V_U64, [NFTA_LIMIT_UNIT] = V_U64,
	[NFTA_LIMIT_BURST] = V_U32, [NFTA_LIMIT_TYPE] = V_U32,
	[NFTA_LIMIT_FLAGS] = V_U32, [NFTA_LIMIT_PAD] = V_NONE,
};
static const uint8_t quota_t[] = {
	[NFTA_QUOTA_BYTES] = V_U64, [NFTA_QUOTA_FLAGS] = V_U32,
	[NFTA_QUOTA_PAD] = V_NONE, [NFTA_QUOTA_CONSUMED] = V_U64,
};
static const uint8_t log_t[] = {
	[NFTA_LOG_GROUP] = V_U16, [NFTA_LOG_PREFIX] = V_STR,
	[NFTA_LOG_SNAPLEN] = V_U32, [NFTA_LOG_QTHRESHOLD] = V_U16,
	[NFTA_LOG_LEVEL] = V_U32, [NFTA_LOG_FLAGS] = V_U32,
};
static const uint8_t reject_t[] = {
	[NFTA_REJECT_TYPE] = V_U32, [NFTA_REJECT_ICMP_CODE] = V_U8,
};
static const uint8_t ct_t[] = {
	[NFTA_CT_DREG] = V_U32, [NFTA_CT_KEY] = V_U32,
	[NFTA_CT_DIRECTION] = V_U8, [NFTA_CT_SREG] = V_U32,
};
static const uint8_t exthdr_t[] = {
	[NFTA_EXTHDR_DREG] = V_U32, [NFTA_EXTHDR_TYPE] = V_U8,
	[NFTA_EXTHDR_OFFSET] = V_U32, [NFTA_EXTHDR_LEN] = V_U32,
	[NFTA_EXTHDR_FLAGS] = V_U32, [NFTA_EXTHDR_OP] = V_U32,
	[NFTA_EXTHDR_SREG] = V_U32,
};
static const uint8_t nat_t[] = {
	[NFTA_NAT_TYPE] = V_U32, [NFTA_NAT_FAMILY] = V_U32,
	[NFTA_NAT_REG_ADDR_MIN] = V_U32, [NFTA_NAT_REG_ADDR_MAX] = V_U32,
	[NFTA_NAT_REG_PROTO_MIN] = V_U32, [NFTA_NAT_REG_PROTO_MAX] = V_U32,
	[NFTA_NAT_FLAGS] = V_U32,
};
static const uint8_t masq_t[] = {
	[NFTA_MASQ_FLAGS] = V_U32, [NFTA_MASQ_REG_PROTO_MIN] = V_U32,
	[NFTA_MASQ_REG_PROTO_MAX] = V_U32,
};
static const uint8_t redir_t[] = {
	[NFTA_REDIR_REG_PROTO_MIN] = V_U32, [NFTA_REDIR_REG_PROTO_MAX] = V_U32,
	[NFTA_REDIR_FLAGS] = V_U32,
};
static const uint8_t objref_t[] = {
	/* libnftnl 1.2.4 puts these two without their NUL (the kernel's
	 * NLA_STRING allows it): nl_batch.c takes them by their length */
	[NFTA_OBJREF_IMM_TYPE] = V_U32, [NFTA_OBJREF_IMM_NAME] = V_NSTR,
	[NFTA_OBJREF_SET_SREG] = V_U32, [NFTA_OBJREF_SET_NAME] = V_NSTR,
	[NFTA_OBJREF_SET_ID] = V_U32,
};
static const uint8_t notrack_t[] = { [0] = V_NONE };
static const uint8_t queue_t[] = {
	[NFTA_QUEUE_NUM] = V_U16, [NFTA_QUEUE_TOTAL] = V_U16,
	[NFTA_QUEUE_FLAGS] = V_U16, [NFTA_QUEUE_SREG_QNUM] = V_U32,
};
static const uint8_t numgen_t[] = {
	[NFTA_NG_DREG] = V_U32, [NFTA_NG_MODULUS] = V_U32,
	[NFTA_NG_TYPE] = V_U32, [NFTA_NG_OFFSET] = V_U32,
};
static const uint8_t hash_t[] = {
	[NFTA_HASH_SREG] = V_U32, [NFTA_HASH_DREG] = V_U32,
	[NFTA_HASH_LEN] = V_U32, [NFTA_HASH_MODULUS] = V_U32,
	[NFTA_HASH_SEED] = V_U32, [NFTA_HASH_OFFSET] = V_U32,
	[NFTA_HASH_TYPE] = V_U32,
};
static const struct {
	const char *name;
	struct vpolicy p;
} expr_data[] = {
	{ "payload", POLICY(payload_t) }, { "cmp", POLICY(cmp_t) },
	{ "bitwise", POLICY(bitwise_t) }, { "byteorder", POLICY(byteorder_t) },
	{ "range", POLICY(range_t) }, { "meta", POLICY(meta_t) },
	{ "immediate", POLICY(imm_t) }, { "lookup", POLICY(lookup_t) },
	{ "counter", POLICY(counter_t) }, { "limit", POLICY(limit_t) },
	{ "quota", POLICY(quota_t) }, { "log", POLICY(log_t) },
	{ "reject", POLICY(reject_t) }, { "ct", POLICY(ct_t) },
	{ "exthdr", POLICY(exthdr_t) }, { "nat", POLICY(nat_t) },
	{ "masq", POLICY(masq_t) }, { "redir", POLICY(redir_t) },
	{ "queue", POLICY(queue_t) }, { "numgen", POLICY(numgen_t) },
	{ "hash", POLICY(hash_t) }, { "notrack", POLICY(notrack_t) },
	{ "objref", POLICY(objref_t) },
};

/* The objects the evaluator keeps (NFT_OBJECT_*): their data is the
 * expression's of the same name (the kernel shares the policy). */
static const struct {
	uint32_t type;
	const char *name;
	struct vpolicy p;
} obj_types[] = {
	{ NFT_OBJECT_COUNTER, "counter", POLICY(counter_t) },
	{ NFT_OBJECT_QUOTA, "quota", POLICY(quota_t) },
	{ NFT_OBJECT_LIMIT, "limit", POLICY(limit_t) },
};

static const char *const obj_names[] = {
	[NFT_OBJECT_CT_HELPER] = "ct helper", [NFT_OBJECT_CONNLIMIT] = "connlimit",
	[NFT_OBJECT_TUNNEL] = "tunnel", [NFT_OBJECT_CT_TIMEOUT] = "ct timeout",
	[NFT_OBJECT_SECMARK] = "secmark",
	[NFT_OBJECT_CT_EXPECT] = "ct expectation",
	[NFT_OBJECT_SYNPROXY] = "synproxy",
};

#define DATA_VALUE_MAX	64	/* libnftnl's union nftnl_data_reg */

static bool str_ok(const struct nlattr *a)
{
	uint16_t len = mnl_attr_get_payload_len(a);
	const char *s = mnl_attr_get_payload(a);

	return len > 0 && len <= NFT_NAME_MAXLEN && s[len - 1] == '\0';
}

/* NLA_STRING: at most NFT_NAME_MAXLEN - 1 bytes before a NUL, if any. */
static bool nstr_ok(const struct nlattr *a)
{
	uint16_t len = mnl_attr_get_payload_len(a);

	return len > 0 && strnlen(mnl_attr_get_payload(a), len) > 0 &&
	       strnlen(mnl_attr_get_payload(a), len) < NFT_NAME_MAXLEN;
}

/* Every member of a list nest: a nest checked against p. */
static int check_list(const struct nlattr *a, const struct vpolicy *p,
		      unsigned depth)
{
	const struct nlattr *e;

	mnl_attr_for_each_nested(e, a) {
		if (mnl_attr_validate(e, MNL_TYPE_NESTED) < 0 ||
		    check(e, NULL, p, depth + 1) < 0)
			return -EINVAL;
	}
	return 0;
}

/* An expression: a name the evaluator knows (else EOPNOTSUPP), and its
 * data checked against that expression's policy. */
static int check_expr(const struct nlattr *a, unsigned depth)
{
	const struct nlattr *e, *name = NULL, *data = NULL;

	if (check(a, NULL, &p_expr, depth + 1) < 0)
		return -EINVAL;
	mnl_attr_for_each_nested(e, a) {
		if (mnl_attr_get_type(e) == NFTA_EXPR_NAME)
			name = e;
		else if (mnl_attr_get_type(e) == NFTA_EXPR_DATA)
			data = e;
	}
	if (!name)
		return -EINVAL;
	for (unsigned i = 0; i < sizeof(expr_data) / sizeof(expr_data[0]); i++)
		if (!strcmp(mnl_attr_get_str(name), expr_data[i].name))
			return data ? check(data, NULL, &expr_data[i].p,
					    depth + 1) : 0;
	unsupported = mnl_attr_get_str(name);
	return -EOPNOTSUPP;
}

static int check_list_expr(const struct nlattr *a, unsigned depth)
{
	const struct nlattr *e;

	mnl_attr_for_each_nested(e, a) {
		int r;

		if (mnl_attr_validate(e, MNL_TYPE_NESTED) < 0)
			return -EINVAL;
		r = check_expr(e, depth + 1);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A verdict: its code, and a chain name for jump and goto. */
static int check_verdict(const struct nlattr *v, unsigned depth)
{
	const struct nlattr *e;
	bool code = false, chain = false, jump = false;

	if (check(v, NULL, &p_verdict, depth) < 0)
		return -EINVAL;
	mnl_attr_for_each_nested(e, v) {
		if (mnl_attr_get_type(e) == NFTA_VERDICT_CODE) {
			int32_t c = (int32_t)ntohl(mnl_attr_get_u32(e));

			code = true;
			jump = c == NFT_JUMP || c == NFT_GOTO;
		} else if (mnl_attr_get_type(e) == NFTA_VERDICT_CHAIN) {
			chain = true;
		}
	}
	return code && (!jump || chain) ? 0 : -EINVAL;
}

/* Data: a value, or (verdict_ok) a verdict.  Only where the kernel takes
 * a verdict: libnftnl parses a verdict's chain name into the union that
 * also holds a value, and a key, cmp or range never frees it (a leak,
 * found by fuzz_nft_netlink: a jump inside an element's key). */
static int check_data(const struct nlattr *a, bool verdict_ok, unsigned depth)
{
	const struct nlattr *e;
	unsigned n = 0;

	if (check(a, NULL, &p_data, depth + 1) < 0)
		return -EINVAL;
	mnl_attr_for_each_nested(e, a) {
		if (mnl_attr_get_type(e) == NFTA_DATA_VERDICT &&
		    (!verdict_ok || check_verdict(e, depth + 2) < 0))
			return -EINVAL;
		if (mnl_attr_get_type(e) == NFTA_DATA_VALUE &&
		    mnl_attr_get_payload_len(e) > DATA_VALUE_MAX)
			return -EINVAL;
		n++;
	}
	return n <= 1 ? 0 : -EINVAL;	/* a value or a verdict, not both */
}

static int check_one(const struct nlattr *a, enum vt t, unsigned depth)
{
	if (t != V_U8 && t != V_U16 && t != V_U32 && t != V_U64 &&
	    t != V_STR && t != V_NSTR && t != V_BIN &&
	    mnl_attr_validate(a, MNL_TYPE_NESTED) < 0)
		return -EINVAL;
	switch (t) {
	case V_NONE: return 0;
	case V_U8: return mnl_attr_validate(a, MNL_TYPE_U8);
	case V_U16: return mnl_attr_validate(a, MNL_TYPE_U16);
	case V_U32: return mnl_attr_validate(a, MNL_TYPE_U32);
	case V_U64: return mnl_attr_validate(a, MNL_TYPE_U64);
	case V_STR: return str_ok(a) ? 0 : -EINVAL;
	case V_NSTR: return nstr_ok(a) ? 0 : -EINVAL;
	case V_BIN: return 0;
	case V_NEST: return 0;
	case V_LIST_EXPR: return check_list_expr(a, depth);
	case V_EXPR: return check_expr(a, depth);
	case V_DATA: return check_data(a, true, depth);
	case V_VALUE: return check_data(a, false, depth);
	case V_HOOK: return check(a, NULL, &p_hook, depth + 1);
	case V_DEVS: return check(a, NULL, &(struct vpolicy){ 0xffff, NULL },
				  depth + 1);
	case V_COUNTERS: return check(a, NULL, &p_counters, depth + 1);
	case V_COMPAT: return check(a, NULL, &p_compat, depth + 1);
	case V_DESC: return check(a, NULL, &p_desc, depth + 1);
	case V_ELEMS: return check_list(a, &p_elem, depth);
	case V_OBJDATA: return obj_data ? check(a, NULL, obj_data, depth + 1)
					: -EINVAL;
	}
	return -EINVAL;
}

/* The attributes fill the nest: mnl_attr_for_each_nested() just stops
 * at a bad one, and so would libnftnl, having seen only the first few
 * (a jump verdict whose chain name was cut off: a wild strdup). */
static bool nest_tiles(const struct nlattr *nest)
{
	const struct nlattr *a;
	const char *end = (const char *)mnl_attr_get_payload(nest);

	mnl_attr_for_each_nested(a, nest)
		end = (const char *)mnl_attr_next(a);
	return end >= (const char *)mnl_attr_get_payload(nest) +
		      mnl_attr_get_payload_len(nest);
}

/* The attributes of nest (or of nlh after its nfgenmsg) against p.  A
 * policy without types (DEVS) wants NUL-terminated strings throughout. */
static int check(const struct nlattr *nest, const struct nlmsghdr *nlh,
		 const struct vpolicy *p, unsigned depth)
{
	const struct nlattr *a;

	if (depth > NEST_DEPTH_MAX)
		return -EINVAL;
	if (nlh) {
		mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
			uint16_t t = mnl_attr_get_type(a);

			int r = t > p->max ? -EINVAL :
				check_one(a, p->types[t], depth);

			if (r < 0)
				return r == -EOPNOTSUPP ? r : -EINVAL;
		}
		return 0;
	}
	if (!nest_tiles(nest))
		return -EINVAL;
	mnl_attr_for_each_nested(a, nest) {
		uint16_t t = mnl_attr_get_type(a);

		if (!p->types) {
			if (!str_ok(a))
				return -EINVAL;
		} else {
			int r = t > p->max ? -EINVAL :
				check_one(a, p->types[t], depth);

			if (r < 0)
				return r == -EOPNOTSUPP ? r : -EINVAL;
		}
	}
	return 0;
}

/* The attributes fill the payload: none is cut off, as the kernel's
 * nla_parse wants (mnl_attr_for_each just stops at a bad one), and none
 * runs past nlmsg_len into the alignment padding, which libmnl allows
 * (it bounds the walk by the aligned length; fuzz_nft_netlink: a set
 * name read past a message copied without its padding). */
static bool attrs_tile(const struct nlmsghdr *nlh)
{
	const struct nlattr *a;
	const char *end = (const char *)mnl_nlmsg_get_payload(nlh) +
			  sizeof(struct nfgenmsg);

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		end = (const char *)a + a->nla_len;
		if (end > (const char *)nlh + nlh->nlmsg_len)
			return false;
		end = (const char *)mnl_attr_next(a);
	}
	return end >= (const char *)nlh + nlh->nlmsg_len;
}

/* An object message's type: a known one picks obj_data; another is
 * EOPNOTSUPP (its name to `unsupported`), none is 0 (obj_data NULL: a
 * dump's filter, or a message the server refuses for it). */
static int obj_type(const struct nlmsghdr *nlh)
{
	const struct nlattr *a;
	uint32_t type;

	obj_data = NULL;
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) != NFTA_OBJ_TYPE)
			continue;
		if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
			return -EINVAL;
		type = ntohl(mnl_attr_get_u32(a));
		for (unsigned i = 0; i < sizeof(obj_types) / sizeof(obj_types[0]);
		     i++)
			if (obj_types[i].type == type) {
				obj_data = &obj_types[i].p;
				return 0;
			}
		unsupported = type < sizeof(obj_names) / sizeof(obj_names[0]) &&
			      obj_names[type] ? obj_names[type] : "unknown";
		return -EOPNOTSUPP;
	}
	return 0;
}

/* Does every attribute fit, and does what libnftnl reads look right?
 * nlh's length has been checked against the datagram.  0, -EINVAL, or
 * -EOPNOTSUPP for an expression the evaluator does not know, whose name
 * (in nlh) goes to *unsup if unsup is not NULL. */
int nl_validate(const struct nlmsghdr *nlh, const char **unsup)
{
	const struct vpolicy *p;
	int r;

	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(struct nfgenmsg))
		return -EINVAL;
	switch (NFNL_MSG_TYPE(nlh->nlmsg_type)) {
	case NFT_MSG_NEWTABLE: case NFT_MSG_DELTABLE: p = &p_table; break;
	case NFT_MSG_NEWCHAIN: case NFT_MSG_DELCHAIN: p = &p_chain; break;
	case NFT_MSG_NEWRULE: case NFT_MSG_DELRULE: p = &p_rule; break;
	case NFT_MSG_NEWSET: case NFT_MSG_DELSET: p = &p_set; break;
	case NFT_MSG_NEWSETELEM: case NFT_MSG_DELSETELEM:
	case NFT_MSG_GETSETELEM: p = &p_elems; break;
	case NFT_MSG_NEWOBJ: case NFT_MSG_DELOBJ: case NFT_MSG_GETOBJ:
	case NFT_MSG_GETOBJ_RESET: p = &p_obj; break;
	default: return 0;	/* refused by type later */
	}
	if (!attrs_tile(nlh))
		return -EINVAL;
	unsupported = NULL;
	r = p == &p_obj ? obj_type(nlh) : 0;
	if (r == 0)
		r = check(NULL, nlh, p, 0);
	if (unsup)
		*unsup = r == -EOPNOTSUPP ? unsupported : NULL;
	return r;
}
