/*
 * src/nft/eval/nfe.h - the evaluator's private structures: the compiled
 * program (nfe_prog), its sets, the packet info one evaluation works on,
 * and the connection table.  Only the eval/ sources include this; the contract
 * with the netlink server is ../nft.h.
 *
 * Call sequence: compile.c turns a ruleset model into an nfe_prog, using
 * cexpr.c for each expression and set.c for each set; eval.c runs a
 * hook's base chains over a packet (expr.c executes the operations); ct.c
 * keeps struct fn_nft_ct for `ct state`; index.c finds runs of rules
 * that compare one field with constants and hashes them (nfe_run).
 *
 * Registers are laid out as the kernel's struct nft_regs: 20 words of 32
 * bits, the verdict in words 0..3, NFT_REG_1..4 at words 4, 8, 12, 16 and
 * NFT_REG32_00..15 at words 4..19.  Compile checks every load and store
 * against that array (nft_validate_register_load/_store), so eval never
 * checks register bounds.
 */
#ifndef FRAGNET_NFT_NFE_H
#define FRAGNET_NFT_NFE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../nft.h"

#define NFE_REG32_NUM	20	/* NFT_REG32_NUM */
#define NFE_JUMP_STACK	16	/* NFT_JUMP_STACK_SIZE */
#define NFE_DATA_MAX	64	/* NFT_DATA_VALUE_MAXLEN */
#define NFE_IFNAMSIZ	16
#define NFE_CT_PRIO	(-200)	/* NF_IP_PRI_CONNTRACK */

/* Verdict codes as in linux/netfilter/nf_tables.h and netfilter.h. */
#define NFE_NF_DROP	0
#define NFE_NF_ACCEPT	1
#define NFE_CONTINUE	(-1)
#define NFE_BREAK	(-2)
#define NFE_JUMP	(-3)
#define NFE_GOTO	(-4)
#define NFE_RETURN	(-5)

/* ct state bits (NF_CT_STATE_BIT(ctinfo)). */
#define NFE_CT_INVALID		1u
#define NFE_CT_ESTABLISHED	2u
#define NFE_CT_RELATED		4u
#define NFE_CT_NEW		8u
#define NFE_CT_UNTRACKED	64u

struct nfe_regs {
	union {
		uint32_t data[NFE_REG32_NUM];
		struct {
			int32_t code;
			uint32_t chain;	/* for JUMP and GOTO */
		} verdict;
	};
};

enum nfe_op_type {
	OP_PAYLOAD, OP_CMP, OP_BITWISE, OP_SHIFT, OP_BYTEORDER, OP_RANGE,
	OP_META, OP_META_SET, OP_IMM_DATA, OP_IMM_VERDICT, OP_LOOKUP,
	OP_COUNTER, OP_LIMIT, OP_QUOTA, OP_LOG, OP_REJECT, OP_CT_STATE,
	OP_CMP_FAST,	/* cmp eq/neq of at most 4 bytes: masked word */
	OP_CT, OP_CT_SET_MARK,	/* ct keys but state (sub: key, size: dir);
				 * ct mark/label/zone/event set (sub: key) */
	OP_NOTRACK,
	OP_EXTHDR,	/* tcp option, sctp chunk (sub: op, size: type,
			 * arg: offset, arg2: flags) */
	OP_QUEUE,	/* no listener: drop, accept with bypass (arg) */
	OP_NUMGEN,	/* sub: type; arg: pool {counter, modulus, offset} */
	OP_HASH,	/* sub: type; arg: pool {seed, modulus, offset} */
	OP_LOG_GROUP,	/* log group: nflog without a listener, nothing */
	OP_NAT,		/* nat, masq, redir (sub: NFE_NAT_*, arg: the
			 * family it acts on, NFPROTO_INET: any, size:
			 * the FN_NFT_* hooks it may run on, as bits,
			 * len 1: a masquerade that may be the identity,
			 * sreg: the address register, dreg: the port
			 * register (0: none), arg2: NF_NAT_RANGE_*) */
	OP_OBJREF_MAP,	/* objref by an object map (arg: set, sreg, len):
			 * the element's object's state */
};

/* OP_NAT's sub. */
enum { NFE_NAT_SNAT, NFE_NAT_DNAT, NFE_NAT_MASQ, NFE_NAT_REDIR };

/* One operation; data (compare values, masks) lives in prog->pool. */
struct nfe_op {
	uint8_t type;
	uint8_t sreg, dreg;	/* 32-bit word index in nfe_regs.data */
	uint8_t len;		/* bytes */
	uint8_t sub;		/* cmp/range op, meta key, payload base,
				 * byteorder op, shift direction, reject type */
	uint8_t size;		/* byteorder size, reject code, flags */
	uint8_t then_cmp;	/* a load whose next op is OP_CMP_FAST of
				 * its register: run together (eval) */
	uint8_t vary;		/* 1: what it reads may differ between the
				 * packets of one flow and direction, or it
				 * acts (counts, logs, sets): a verdict that
				 * ran it is not kept (nfe_op_vary) */
	uint32_t arg;		/* payload offset, shift, set index, state
				 * index, verdict chain, pool index, log */
	int32_t arg2;		/* verdict code, pool index of 2nd datum */
};

struct nfe_rule {
	uint32_t first_op, nops;
	uint32_t run;			/* its nfe_run + 1, 0 = none */
	uint64_t handle;
};

/* The rule index (index.c): rules [end - n, end) of a chain all compare
 * the value of `load` (its first kwords words, the last masked) with a
 * constant; the rules of key i, in chain order, are cand[first[i] ..
 * first[i + 1]).  A packet whose value is no key runs none of them. */
#define NFE_INDEX_MIN	4		/* rules in a run, at least */

struct nfe_run {
	struct nfe_op load;		/* dreg 4: scratch registers */
	uint8_t kwords;
	uint32_t lastmask;
	uint32_t end;			/* chain position past the run */
	uint32_t mask;			/* slots - 1 */
	uint32_t *slots;		/* key index + 1, 0 = empty */
	uint32_t *keys;			/* nkeys * kwords */
	uint32_t nkeys;
	uint32_t *first;		/* nkeys + 1 */
	uint32_t *cand;			/* chain positions */
};

struct nfe_chain {
	char *table, *name;		/* owned copies */
	uint8_t family;			/* NFPROTO_* */
	bool base;
	uint8_t hook;			/* enum fn_nft_hook (base chains) */
	uint8_t policy;			/* NF_ACCEPT / NF_DROP */
	bool forward;			/* on the forward hook: never runs */
	bool dormant;			/* of a dormant table: never runs */
	bool nat;			/* type nat: first packets of flows */
	int32_t prio;
	int32_t hook_prio;		/* where it runs on its hook: prio, or
					 * the NAT hook's for a nat chain */
	char dev[NFE_IFNAMSIZ];		/* netdev: the device, "" = none */
	uint32_t first_rule, nrules;
	uint32_t order;			/* position in the model */
};

/* Stateful expressions: carried over commits by key. */
enum nfe_state_kind { ST_COUNTER, ST_LIMIT, ST_QUOTA };

struct nfe_state {
	uint32_t chain;			/* its chain (gives family, names) */
	uint64_t handle;
	uint32_t expr;			/* index in the rule */
	uint8_t kind;
	uint8_t invert;
	uint64_t a, b;			/* counter: packets, bytes;
					 * limit: tokens, last (0 = unset);
					 * quota: consumed, quota */
	uint64_t rate, nsecs, tokens_max, cost;	/* limit */
	bool bytes_mode;			/* limit: bytes */
	uint32_t obj;			/* an object's: its nfe_obj + 1, and
					 * chain, handle, expr unused; 0: a
					 * rule's expression's */
};

/* A named stateful object (counter, quota, limit) and its state. */
struct nfe_obj {
	char *table, *name;		/* owned copies */
	uint8_t family;
	uint32_t type;			/* NFT_OBJECT_* */
	uint64_t handle;
	uint32_t state;
};

struct nfe_verdict {
	int32_t code;
	uint32_t chain;
};

struct nfe_set {
	char *table, *name;
	uint8_t family;
	uint32_t flags;
	uint32_t klen, dlen;
	bool map, vmap, interval;
	uint32_t objtype;		/* object map: NFT_OBJECT_*, its data
					 * the objects' state indices (u32) */
	uint32_t n;			/* elements (hash) or bounds */
	uint8_t *keys;			/* n * klen */
	uint8_t *data;			/* n * dlen (value maps) */
	struct nfe_verdict *verdicts;	/* n (verdict maps) */
	bool *is_end;			/* interval: bound closes a range */
	uint32_t *slots;		/* hash: element + 1, 0 = empty */
	uint32_t mask;			/* hash: slots - 1 */
	bool catchall;
	uint8_t ca_data[NFE_DATA_MAX];
	struct nfe_verdict ca_verdict;
};

/* What every packet reads comes first: the first cache line (the struct
 * is 64-byte aligned) holds the arrays a rule walk reads and the hooks'
 * chain counts and flags, the second the hooks' chains and the tables
 * some rules read. */
struct fn_nft_prog {
	struct nfe_chain *chains;
	struct nfe_rule *rules;
	struct nfe_op *ops;
	struct nfe_run *runs;
	uint32_t *pool;			/* data, in 32-bit words */
	uint32_t nhook[FN_NFT_NHOOKS];
	bool uses_ct;
	bool uses_acct;			/* ct packets, bytes, avgpkt */
	bool nat_chains;		/* a nat chain on a hook: bindings
					 * are applied (nf_nat's hooks) */
	bool no_index;			/* fn_nft_prog_index(p, false) */
	uint32_t *hooks[FN_NFT_NHOOKS];	/* chain indices by priority */
	uint16_t vgen;			/* fn_nft_ct_adopt()'s tag, 0: none */
	bool vc_ok[2];			/* receive, send path: a flow's
					 * verdict may be kept (eval.c) */
	struct nfe_set *sets;
	struct nfe_state *states;
	struct nfe_obj *objs;
	uint32_t nops, cops;
	uint32_t nrules, crules;
	uint32_t nchains, cchains;
	uint32_t nstates, cstates;
	uint32_t nobjs, cobjs;
	uint32_t nsets, csets;
	uint32_t nruns, cruns;
	uint32_t npool, cpool;
	char **logs;			/* log prefixes */
	uint32_t nlogs, clogs;
	bool idle;			/* no base chain on any hook:
					 * fn_nft_prog_idle */
	bool uses_limit;		/* fn_nft_prog_fine_clock */
	bool uses_sk;			/* fn_nft_prog_uses_sk */
	bool has_nat;			/* a nat, masq or redir statement */
	uint32_t rnd;			/* meta random: xorshift32 state */
	/* log rate limit: 10 lines/s, burst 20 */
	uint64_t log_tokens, log_last;
	uint64_t log_suppressed;
	/* states sorted by key for carry-over and fn_nft_expr_state */
	uint32_t *state_order;
} __attribute__((aligned(64)));

_Static_assert(offsetof(struct fn_nft_prog, no_index) < 64,
	       "a packet's fields in the first cache line");

/* The packet as the kernel's nft_pktinfo sees it at one hook. */
struct nfe_pkt {
	struct fn_nft_pkt *p;
	enum fn_nft_hook hook;
	uint8_t pf;			/* NFPROTO_* of the running chain */
	const uint8_t *ll;		/* mac header or NULL */
	uint32_t ll_len;		/* readable from ll */
	const uint8_t *net;		/* network header (skb->data) */
	uint32_t len;			/* skb->len from net */
	bool l4;			/* NFT_PKTINFO_L4PROTO */
	uint8_t tprot;
	uint16_t fragoff;
	uint32_t thoff;			/* from net */
	struct fn_nft_result *res;
	struct fn_nft_ct *ct;		/* for ct keys; may be NULL */
	bool tracked;			/* conntrack ran before the chains */
	uint8_t vary;			/* an op with nfe_op.vary ran */
};

/* memcmp for the short keys of registers: libc's is slow for 1..16
 * bytes and the order is the same (unsigned bytes). */
static inline int nfe_memcmp(const void *a, const void *b, uint32_t len)
{
	const uint8_t *x = a, *y = b;

	for (uint32_t i = 0; i < len; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

/* The Internet checksum's sum (RFC 1071) of len bytes at p, folded to
 * 16 bits, as the big-endian 16-bit words add up.  Eight bytes at a time
 * in host order, the order fixed once at the end (RFC 1071 2(B): the sum
 * does not depend on byte order); an odd last byte is a word's high
 * byte. */
static inline uint32_t nfe_csum(const uint8_t *p, uint32_t len)
{
	uint64_t s = 0, carry = 0;
	uint16_t h;

	for (; len >= 8; p += 8, len -= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		s += w;
		carry += s < w;
	}
	s = (s & 0xffffffffu) + (s >> 32) + carry;
	if (len >= 4) {
		uint32_t w;

		memcpy(&w, p, 4);
		s += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		memcpy(&h, p, 2);
		s += h;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint8_t last[2] = { p[0], 0 };

		memcpy(&h, last, 2);
		s += h;
	}
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	s = __builtin_bswap16((uint16_t)s);
#endif
	return (uint32_t)s;
}

/* The byte mask of the last word of a len-byte key (memory order). */
static inline uint32_t nfe_key_mask(uint32_t len)
{
	uint32_t m = 0;

	for (uint32_t i = 0; i < (len - 1) % 4 + 1; i++)
		((uint8_t *)&m)[i] = 0xff;
	return m;
}

/* Hash of an index key: murmur3's finaliser per word (the varying byte
 * of an address is often the word's top one). */
static inline uint32_t nfe_key_hash(const uint32_t *w, uint32_t n)
{
	uint32_t h = 0;

	for (uint32_t i = 0; i < n; i++) {
		h ^= w[i];
		h ^= h >> 16;
		h *= 0x85ebca6bu;
		h ^= h >> 13;
		h *= 0xc2b2ae35u;
		h ^= h >> 16;
	}
	return h;
}

/* compile helpers shared by compile.c and cexpr.c */
struct nfe_cctx {
	const struct fn_nft_ruleset *rs;
	struct fn_nft_prog *p;
	const struct fn_nft_table *table;
	uint32_t table_chain0;		/* first nfe_chain of this table */
	uint32_t table_set0;
	uint32_t table_obj0;		/* first nfe_obj of this table */
	uint32_t chain;			/* nfe_chain being compiled */
	uint64_t handle;
	uint32_t expr;
	char *msg;
	size_t msglen;
};

int nfe_fail(struct nfe_cctx *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int nfe_pool_add(struct fn_nft_prog *p, const void *data, uint32_t len,
		 uint32_t *idx);
int nfe_find_chain(struct nfe_cctx *c, const char *name, uint32_t *idx);
int nfe_verdict_check(struct nfe_cctx *c, uint32_t code, const char *chain,
		      struct nfe_verdict *v);

/* cexpr.c */
struct nftnl_expr;
int nfe_compile_expr(struct nfe_cctx *c, struct nftnl_expr *e);
/* An object of c->table: its state and nfe_obj (checked as the kernel's
 * nft_obj_init checks it). */
struct nftnl_obj;
int nfe_compile_obj(struct nfe_cctx *c, struct nftnl_obj *o);

/* set.c */
int nfe_set_build(struct nfe_cctx *c, struct fn_nft_set *s,
		  struct nfe_set *out);
void nfe_set_fini(struct nfe_set *s);
/* Lookup key; true if found, *vd / *data the element's data (maps). */
bool nfe_set_lookup(const struct nfe_set *s, const uint8_t *key,
		    const uint8_t **data, const struct nfe_verdict **vd);

/* index.c: the runs of the chains from chain0 on (one table). */
int nfe_index_table(struct fn_nft_prog *p, uint32_t chain0);
void nfe_index_fini(struct fn_nft_prog *p);

/* expr.c: the kernel's jhash() (for the unit tests). */
uint32_t nfe_jhash(const void *k, uint32_t len, uint32_t seed);
/* expr.c: the verdict (NF_ACCEPT/NF_DROP) of base chain `base`. */
int nfe_run_chain(struct fn_nft_prog *p, uint32_t base, struct nfe_pkt *pk);

/* ct.c */
uint8_t nfe_ct_track(struct fn_nft_ct *ct, struct nfe_pkt *pk);
bool nfe_ct_get(struct fn_nft_ct *ct, const struct fn_nft_pkt *p,
		uint8_t key, uint8_t dir, uint32_t *dst, uint64_t now);
/* ct label set (ORed, nf_connlabels_replace) and ct zone set (a packet
 * without a flow gets the kernel's template: NEW) */
void nfe_ct_set_labels(struct fn_nft_ct *ct, const struct fn_nft_pkt *p,
		       const uint32_t labels[4]);
void nfe_ct_set_mark(struct fn_nft_ct *ct, const struct fn_nft_pkt *p,
		     uint32_t mark);
/* false: the entry clashed with another flow's (NAT), the packet is
 * dropped */
bool nfe_ct_confirm(struct fn_nft_ct *ct, bool out_path, bool accepted);
/* nf_ct_set_acct(): flows made from now on are counted. */
void nfe_ct_acct_on(struct fn_nft_ct *ct);
/* A flow's kept verdict (docs/nft-eval.md, "A flow's verdict, kept"):
 * the packet p, just tracked ESTABLISHED on path (0 receive, 1 send), is
 * of a TCP or UDP flow whose packets in its direction prog, adopted by
 * ct, accepted on that path without running an op with nfe_op.vary.
 * nfe_ct_vc_set records that of the packet just accepted so; both are
 * false or nothing for any other packet, program or ct. */
bool nfe_ct_vc_hit(const struct fn_nft_ct *ct, const struct fn_nft_prog *prog,
		   const struct fn_nft_pkt *p, unsigned path);
void nfe_ct_vc_set(struct fn_nft_ct *ct, const struct fn_nft_prog *prog,
		   const struct fn_nft_pkt *p, unsigned path);
/* compile.c: nfe_op.vary of op. */
uint8_t nfe_op_vary(const struct nfe_op *op);
bool nfe_ct_unconfirmed(const struct fn_nft_ct *ct, const struct fn_nft_pkt *p,
			bool out_path);
/* NAT (ct.c keeps the bindings, nat.c rewrites packets).  Bind the
 * packet's unconfirmed TCP/UDP flow to the destination addr:port (host
 * order): false when it cannot be (no such entry, already bound, the
 * reply tuple another flow's). */
bool nfe_ct_dnat(struct fn_nft_ct *ct, const struct fn_nft_pkt *p,
		 uint32_t addr, uint16_t port, uint64_t now);
/* The packet's flow has a destination binding (nf_nat_initialized). */
bool nfe_ct_bound(struct fn_nft_ct *ct, const struct fn_nft_pkt *p);
/* What the NAT point of hook does to the packet: 0 nothing, 1 rewrite
 * the destination (*dst) or the source to addr:port (host order), -1
 * drop (an ICMP error about a bound flow: not translated). */
int nfe_ct_nat_target(struct fn_nft_ct *ct, const struct fn_nft_pkt *p,
		      enum fn_nft_hook hook, bool *dst, uint32_t *addr,
		      uint16_t *port);

/* nat.c: OP_NAT's verdict (NFE_NF_ACCEPT, NFE_NF_DROP); the NAT point
 * of a hook (nf_nat_packet): false = drop. */
int32_t nfe_nat_eval(const struct nfe_op *op, const struct nfe_regs *r,
		     struct nfe_pkt *pk);
bool nfe_nat_packet(struct fn_nft_ct *ct, struct nfe_pkt *pk);

#endif /* FRAGNET_NFT_NFE_H */
