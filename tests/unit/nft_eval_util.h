/*
 * tests/unit/nft_eval_util.h - building ruleset models (src/nft/nft.h)
 * from libnftnl objects, as the netlink server keeps them, and crafting
 * IPv4 packets, for the evaluator's unit tests.
 */
#ifndef FRAGNET_TEST_NFT_EVAL_UTIL_H
#define FRAGNET_TEST_NFT_EVAL_UTIL_H

#include <stdint.h>

#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>

#include "nft.h"

/* model */
struct fn_nft_ruleset *m_new(void);
void m_free(struct fn_nft_ruleset *rs);
struct fn_nft_table *m_table(struct fn_nft_ruleset *rs, uint32_t family,
			     const char *name);
/* hook < 0: not a base chain. */
struct fn_nft_chain *m_chain(struct fn_nft_ruleset *rs, struct fn_nft_table *t,
			     const char *name, int hook, int prio,
			     uint32_t policy);
/* A base chain of type nat, policy accept. */
struct fn_nft_chain *m_nat_chain(struct fn_nft_ruleset *rs,
				 struct fn_nft_table *t, const char *name,
				 int hook, int prio);
/* A rule with the expressions given (NULL-terminated); returns it. */
struct nftnl_rule *m_rule(struct fn_nft_ruleset *rs, struct fn_nft_chain *c,
			  ...);
struct fn_nft_set *m_set(struct fn_nft_ruleset *rs, struct fn_nft_table *t,
			 const char *name, uint32_t flags, uint32_t klen,
			 uint32_t dtype, uint32_t dlen);
void m_elem(struct fn_nft_set *s, const void *key, uint32_t klen,
	    uint32_t flags, const void *data, uint32_t dlen);
void m_elem_verdict(struct fn_nft_set *s, const void *key, uint32_t klen,
		    int verdict, const char *chain);

/* expressions */
struct nftnl_expr *e_payload(uint32_t base, uint32_t off, uint32_t len,
			     uint32_t dreg);
struct nftnl_expr *e_cmp(uint32_t sreg, uint32_t op, const void *d,
			 uint32_t len);
struct nftnl_expr *e_cmp8(uint32_t sreg, uint32_t op, uint8_t v);
struct nftnl_expr *e_cmp16(uint32_t sreg, uint32_t op, uint16_t host);
struct nftnl_expr *e_cmp32(uint32_t sreg, uint32_t op, uint32_t raw);
struct nftnl_expr *e_range(uint32_t sreg, uint32_t op, const void *from,
			   const void *to, uint32_t len);
struct nftnl_expr *e_bitwise(uint32_t sreg, uint32_t dreg, uint32_t len,
			     const void *mask, const void *xor);
struct nftnl_expr *e_shift(uint32_t sreg, uint32_t dreg, uint32_t len,
			   uint32_t op, uint32_t shift);
struct nftnl_expr *e_byteorder(uint32_t sreg, uint32_t dreg, uint32_t op,
			       uint32_t len, uint32_t size);
struct nftnl_expr *e_meta(uint32_t key, uint32_t dreg);
struct nftnl_expr *e_meta_set(uint32_t key, uint32_t sreg);
/* An object of t: type NFT_OBJECT_*, its handle from the ruleset's
 * counter; set its attributes with nftnl_obj_set_*() before compiling. */
struct nftnl_obj *m_obj(struct fn_nft_ruleset *rs, struct fn_nft_table *t,
			uint32_t type, const char *name);
struct nftnl_expr *e_objref(uint32_t type, const char *name);
struct nftnl_expr *e_imm(uint32_t dreg, const void *d, uint32_t len);
struct nftnl_expr *e_verdict(int v, const char *chain);
struct nftnl_expr *e_lookup(const char *set, uint32_t sreg, int dreg,
			    uint32_t flags);
struct nftnl_expr *e_counter(void);
struct nftnl_expr *e_limit(uint64_t rate, uint64_t unit, uint32_t burst,
			   uint32_t type, uint32_t flags);
struct nftnl_expr *e_quota(uint64_t bytes, uint32_t flags);
struct nftnl_expr *e_log(const char *prefix);
struct nftnl_expr *e_reject(uint32_t type, int code);
struct nftnl_expr *e_ct_state(uint32_t dreg);
/* ct KEY into dreg, with a direction (0, 1) or none (-1). */
struct nftnl_expr *e_ct(uint32_t key, uint32_t dreg, int dir);
struct nftnl_expr *e_ct_set(uint32_t key, uint32_t sreg);
/* exthdr load (op NFT_EXTHDR_OP_*) of len bytes at off of option type. */
struct nftnl_expr *e_exthdr(uint32_t op, uint8_t type, uint32_t off,
			    uint32_t len, uint32_t flags, uint32_t dreg);
struct nftnl_expr *e_named(const char *name);
/* numgen TYPE mod MOD offset OFF into NFT_REG_1. */
struct nftnl_expr *e_numgen(uint32_t type, uint32_t mod, uint32_t off);

/* Match helpers: "ip protocol P", "th dport D", "ip saddr A". */
#define M_PROTO(p)  e_payload(NFT_PAYLOAD_NETWORK_HEADER, 9, 1, NFT_REG_1), \
		    e_cmp8(NFT_REG_1, NFT_CMP_EQ, (p))
#define M_DPORT(d)  e_payload(NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1), \
		    e_cmp16(NFT_REG_1, NFT_CMP_EQ, (d))
#define M_SADDR(a)  e_payload(NFT_PAYLOAD_NETWORK_HEADER, 12, 4, NFT_REG_1), \
		    e_cmp32(NFT_REG_1, NFT_CMP_EQ, htonl(a))

/* packets: an Ethernet frame with IPv4 inside; sums correct. */
struct t_pkt {
	uint8_t buf[2048];
	struct fn_nft_pkt p;
};

#define IP4(a, b, c, d)	((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_ACK 0x10

void t_tcp(struct t_pkt *t, uint32_t src, uint32_t dst, uint16_t sport,
	   uint16_t dport, uint8_t flags, uint32_t payload);
void t_udp(struct t_pkt *t, uint32_t src, uint32_t dst, uint16_t sport,
	   uint16_t dport, uint32_t payload);
void t_icmp(struct t_pkt *t, uint32_t src, uint32_t dst, uint8_t type,
	    uint8_t code, uint16_t id);
/* ICMP error quoting the first 28 bytes of the IP packet in q. */
void t_icmp_err(struct t_pkt *t, uint32_t src, uint32_t dst, uint8_t type,
		uint8_t code, const struct t_pkt *q);
/* Set fragment offset (8-byte units) and MF; fixes the sum. */
void t_frag(struct t_pkt *t, uint16_t off, int more);
void t_fix_ip_sum(struct t_pkt *t);

/* Compile, failing the test on error. */
struct fn_nft_prog *t_compile(const struct fn_nft_ruleset *rs,
			      const struct fn_nft_prog *old);
/* Compile expecting failure: returns the error, msg filled. */
int t_compile_err(const struct fn_nft_ruleset *rs, char *msg, size_t len);
/* Verdict at hook (result in *res if not NULL). */
int t_eval(struct fn_nft_prog *p, struct fn_nft_ct *ct, enum fn_nft_hook h,
	   struct t_pkt *t, struct fn_nft_result *res);
/* Counter values of rule r's expression i. */
uint64_t t_packets(struct fn_nft_prog *p, struct nftnl_rule *r, unsigned i);
uint64_t t_bytes(struct fn_nft_prog *p, struct nftnl_rule *r, unsigned i);

#endif
