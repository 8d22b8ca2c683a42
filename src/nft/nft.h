/*
 * src/nft/nft.h - fragnet's nf_tables, inside one fragnet-stack: the
 * contract between the netlink server (nl_*.c: talks to the real `nft`
 * through libfragnet-netlink.so and the stack's control socket, keeps the
 * ruleset) and the evaluator (eval*.c: judges packets).  Internal to the
 * stack: not an inter-process contract, so it lives here, not in
 * include/fragnet/.
 *
 * THE RULESET MODEL (built and owned by the netlink server)
 *   The ruleset is kept as libnftnl objects, exactly as nft sent them, so
 *   that dumps give back what was loaded (USERDATA byte for byte).  A batch
 *   is applied to a copy; fn_nft_compile() turns the copy into a program;
 *   only if both succeed does the commit swap the program pointer (between
 *   packet bursts) and bump genid.  A failing batch leaves the old model
 *   and program in force.
 *
 *   Guarantees the server gives the evaluator, for every object in a
 *   model passed to fn_nft_compile():
 *     - tables: NFTNL_TABLE_NAME, _FAMILY, _HANDLE set;
 *     - chains: NFTNL_CHAIN_NAME, _TABLE, _FAMILY, _HANDLE; a base chain
 *       also _HOOKNUM, _PRIO, _POLICY, _TYPE (and _DEV for netdev);
 *     - rules: NFTNL_RULE_TABLE, _CHAIN, _FAMILY, _HANDLE, in chain order;
 *     - sets: NFTNL_SET_NAME, _TABLE, _FAMILY, _HANDLE, _FLAGS, _KEY_LEN
 *       (and _DATA_TYPE/_DATA_LEN for maps), elements added to the nftnl
 *       set with nftnl_set_elem_add() (intervals as nft sends them: an
 *       element with NFTNL_SET_ELEM_FLAGS & NFT_SET_ELEM_INTERVAL_END
 *       closes a range);
 *     - objects: NFTNL_OBJ_NAME, _TABLE, _FAMILY, _HANDLE, _TYPE (counter,
 *       quota or limit), unique by (type, name) in their table;
 *     - an objref names an object of its table by NFTNL_EXPR_OBJREF_IMM_TYPE
 *       and _IMM_NAME, which exists;
 *     - in rules, lookups name their set by NFTNL_EXPR_LOOKUP_SET (batch
 *       set ids already resolved to names), jump/goto name their chain
 *       (NFTNL_EXPR_IMM_CHAIN); every referenced set and chain exists in
 *       the same table.
 *
 * THE PROGRAM (built and owned by the evaluator)
 *   fn_nft_compile() checks everything it will rely on (register numbers
 *   and lengths, payload offsets, chain depth and loops, set key lengths)
 *   and refuses an expression or attribute it does not implement with
 *   -EOPNOTSUPP and a message naming it: never ignored.  It carries the
 *   state of the previous program over: counters, quotas and limits of
 *   rules that are still there (same family, table, chain, rule handle and
 *   expression index), and of objects that are still there (same family,
 *   table, type, name and handle), so a commit does not reset them.  Connection
 *   tracking (ct state) lives in struct fn_nft_ct, which outlives programs.
 *
 *   fn_nft_eval() never allocates (except ct entries, bounded), never
 *   reads outside pkt's buffer, and is O(rules) per packet with O(1) or
 *   O(log n) set lookups; a run of rules that compare one field with
 *   constants costs one hash lookup plus the rules of the packet's value
 *   (the rule index, docs/nft-eval.md), with the same result.
 */
#ifndef FRAGNET_SRC_NFT_H
#define FRAGNET_SRC_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct nftnl_table;
struct nftnl_chain;
struct nftnl_rule;
struct nftnl_set;
struct nftnl_obj;

/* ---- model ------------------------------------------------------------ */

struct fn_nft_chain {
	struct nftnl_chain *nl;
	struct nftnl_rule **rules;	/* in order */
	uint32_t nrules, crules;
};

struct fn_nft_set {
	struct nftnl_set *nl;		/* elements inside */
};

/* A stateful object (counter, quota, limit): immutable in the model;
 * its state lives in the program (fn_nft_obj_state). */
struct fn_nft_obj {
	struct nftnl_obj *nl;
};

struct fn_nft_table {
	struct nftnl_table *nl;
	struct fn_nft_chain **chains;
	uint32_t nchains, cchains;
	struct fn_nft_set **sets;
	uint32_t nsets, csets;
	struct fn_nft_obj *objs;	/* by value, in creation order */
	uint32_t nobjs, cobjs;
};

struct fn_nft_ruleset {
	struct fn_nft_table **tables;
	uint32_t ntables, ctables;
	uint32_t genid;			/* changes on commit only */
	uint64_t next_handle;		/* as the kernel: per ruleset, from 1 */
};

/* ---- packets and verdicts ------------------------------------------------ */

/* The stack's hooks: ingress (netdev family, the Ethernet frame),
 * prerouting and input before lwIP, output and postrouting after it. */
enum fn_nft_hook {
	FN_NFT_INGRESS,
	FN_NFT_PREROUTING,
	FN_NFT_INPUT,
	FN_NFT_OUTPUT,
	FN_NFT_POSTROUTING,
	FN_NFT_NHOOKS
};

struct fn_nft_pkt {
	const uint8_t *l2;	/* Ethernet header, or NULL */
	uint32_t l2_len;	/* bytes from l2 (the whole frame) */
	const uint8_t *nh;	/* IPv4 header, or NULL (ARP, ...) */
	uint32_t nh_len;	/* bytes from nh (up to the frame's end) */
	uint16_t ethertype;	/* host order */
	uint32_t iif, oif;	/* ifindex, 0 = none */
	const char *iifname, *oifname;	/* NULL = none */
	uint32_t mark;		/* in/out: meta mark set */
	uint32_t priority;	/* in/out: meta priority set (skb->priority;
				 * the stack has no qdisc: nothing reads it
				 * but the rules) */
	uint8_t pkttype;	/* PACKET_HOST, _BROADCAST, _MULTICAST */
	uint64_t now_ns;	/* CLOCK_MONOTONIC, for limit and ct */
	uint64_t wall_ns;	/* CLOCK_REALTIME for meta time, day, hour;
				 * 0: the evaluator reads the clock itself */
	uint32_t oif_addr;	/* network order: the IPv4 address of the
				 * netif the packet leaves by (output,
				 * postrouting), 0 = unknown: masquerade */
	uint32_t iif_addr;	/* network order: the IPv4 address of the
				 * netif the packet came in on (prerouting,
				 * input), 0 = none: redirect's address */
	const uint32_t *local;	/* network order: the stack's own IPv4
				 * addresses (nlocal of them), where a
				 * dnat may send a packet; filled when
				 * fn_nft_prog_uses_nat() */
	uint32_t nlocal;
	uint8_t *nh_w;		/* the bytes at nh, writable: NAT rewrites
				 * them in place (docs/nft-eval.md, NAT);
				 * NULL: a packet that needs a rewrite is
				 * dropped */
	bool sk;		/* of a full socket of the app (the kernel's
				 * skb->sk with a file): meta skuid, skgid */
	uint32_t sk_uid, sk_gid;	/* then its user and group */
	/* The evaluator's, kept across one packet's hooks (prerouting
	 * then input; output then postrouting) as the kernel keeps the
	 * conntrack reference in the skb: zero before a packet's first
	 * hook, never touched by the stack afterwards.  A packet's hooks
	 * run back to back on its path (the unconfirmed conntrack entry
	 * of a new flow is confirmed by its input/postrouting, dropped by
	 * the next packet's prerouting/output).  See docs/nft-eval.md. */
	uint8_t ct_state;	/* NF_CT_STATE_*_BIT; 0 = not tracked yet */
	uint8_t ct_dir;		/* its direction: 0 original, 1 reply */
	uint32_t ct_entry;	/* its flow's entry + 1, 0 = none */
	uint32_t ct_id;		/* that entry's id (a stale one: none) */
	/* Also the evaluator's: prerouting (output) found the IPv4 header
	 * as ip_rcv() takes it, so input (postrouting), the next hook of
	 * the same packet, need not check it again; each of those two
	 * clears it.  Set only at those hooks, so a caller that judges a
	 * packet at input alone gets the whole check. */
	uint8_t nh_ok;
	/* Out, set at prerouting only and never cleared by the evaluator
	 * (the caller zeroes it with the packet): sums that were checked
	 * and found right, FN_NFT_SUM_*, so that the stack need not check
	 * them again on the same bytes. */
	uint8_t sums;
	/* Out, set by the evaluator when NAT rewrote nh_w's bytes (the
	 * destination of a flow's packet, or the source of its reply:
	 * addresses, ports, IPv4 and TCP/UDP sums), never cleared by it:
	 * the caller copies what it judged into what it sends on. */
	uint8_t natted;
};

#define FN_NFT_SUM_IP	1	/* the IPv4 header's (ip_rcv) */
#define FN_NFT_SUM_TCP	2	/* the TCP segment's (conntrack's check) */

enum fn_nft_verdict {
	FN_NFT_ACCEPT = 1,	/* NF_ACCEPT */
	FN_NFT_DROP = 0,	/* NF_DROP */
};

enum fn_nft_reject {
	FN_NFT_REJECT_NONE,
	FN_NFT_REJECT_ICMP,	/* code in reject_code (ICMP unreachable) */
	FN_NFT_REJECT_TCP_RST,
};

struct fn_nft_result {
	enum fn_nft_verdict verdict;
	enum fn_nft_reject reject;	/* verdict is DROP then */
	uint8_t reject_code;
	uint64_t rule;		/* DROP: the handle of the rule that gave
				 * it; 0 for a chain's policy or a packet
				 * the hook's own checks drop */
	enum fn_nft_hook hook;	/* fn_nft_eval_in/out: the last hook that
				 * ran (the one that dropped); fn_nft_eval:
				 * its hook */
	bool kept;		/* fn_nft_eval_in/out: ACCEPT, the flow's
				 * kept verdict (fn_nft_ct_adopt): no chain
				 * ran */
};

struct fn_nft_prog;
struct fn_nft_ct;

/* Program for rs; old (may be NULL) gives counters/quotas/limits to carry.
 * NULL on error: *err_out = -EOPNOTSUPP / -EINVAL / -ENOMEM / -ELOOP /
 * -EMLINK (jumps deeper than the kernel's 16 levels) / -ERANGE and
 * msg (if not NULL) says what, e.g. "rule 7 in chain input: expression
 * 'osf' is not supported". */
struct fn_nft_prog *fn_nft_compile(const struct fn_nft_ruleset *rs,
				   const struct fn_nft_prog *old,
				   int *err_out, char *msg, size_t msglen);
void fn_nft_prog_free(struct fn_nft_prog *p);

/* Judge one packet at hook; prog NULL = no ruleset = accept. */
void fn_nft_eval(struct fn_nft_prog *p, struct fn_nft_ct *ct,
		 enum fn_nft_hook hook, struct fn_nft_pkt *pkt,
		 struct fn_nft_result *res);

/* One packet's IP hooks in one call, as fn_nft_eval at each in turn
 * until one does not accept, its packet info set up once:
 *   fn_nft_eval_in   a received frame for this host: ingress (when a
 *                    chain is there), then, for IPv4, prerouting and
 *                    input.  The caller decides "for this host" before
 *                    prerouting, which is right when no nat chain can
 *                    move the destination (!FN_NFT_PROG_NAT) and the
 *                    packet is no fragment (reassembly comes between
 *                    the hooks); else it calls fn_nft_eval per hook.
 *   fn_nft_eval_out  a packet this host sends: output, postrouting.
 * res->hook says which hook gave the verdict.  pkt as for fn_nft_eval,
 * zeroed but for what the caller fills. */
void fn_nft_eval_in(struct fn_nft_prog *p, struct fn_nft_ct *ct,
		    struct fn_nft_pkt *pkt, struct fn_nft_result *res);
void fn_nft_eval_out(struct fn_nft_prog *p, struct fn_nft_ct *ct,
		     struct fn_nft_pkt *pkt, struct fn_nft_result *res);

/* What a caller asks of a program before each packet, in one call:
 * FN_NFT_PROG_* bits, each the accessor of that name below (IDLE for
 * NULL too). */
enum {
	FN_NFT_PROG_IDLE = 1,		/* fn_nft_prog_idle */
	FN_NFT_PROG_CT = 2,		/* fn_nft_prog_uses_ct */
	FN_NFT_PROG_NAT = 4,		/* fn_nft_prog_uses_nat */
	FN_NFT_PROG_SK = 8,		/* fn_nft_prog_uses_sk */
	FN_NFT_PROG_FINE_CLOCK = 16,	/* fn_nft_prog_fine_clock */
};
unsigned fn_nft_prog_flags(const struct fn_nft_prog *p);

/* The rule index (docs/nft-eval.md) on (after compile) or off: the
 * verdicts and counters are the same either way; for the tests and
 * benchmarks that compare the two. */
void fn_nft_prog_index(struct fn_nft_prog *p, bool on);

/* True when p has no base chain on any hook (an empty ruleset, after
 * `flush ruleset`; tables, sets or objects without chains): every packet
 * is accepted untouched and no flow is tracked, as by no program at all,
 * so a caller may skip the hooks altogether.  True for NULL. */
bool fn_nft_prog_idle(const struct fn_nft_prog *p);

/* True when the program uses conntrack (a `ct` expression): the kernel
 * then loads nf_defrag_ipv4 in the namespace, which reassembles IPv4 at
 * prerouting priority -400, before every chain of the stack's. */
bool fn_nft_prog_uses_ct(const struct fn_nft_prog *p);

/* True when p has a base chain of type nat: then fn_nft_pkt.local and
 * nh_w are wanted (dnat and redirect to the stack itself rewrite the
 * packets of the flows they bind, docs/nft-eval.md). */
bool fn_nft_prog_uses_nat(const struct fn_nft_prog *p);

/* True when p matches on the packet's socket (meta skuid, skgid): the
 * caller fills fn_nft_pkt.sk, sk_uid and sk_gid only then. */
bool fn_nft_prog_uses_sk(const struct fn_nft_prog *p);

/* True when p needs fn_nft_pkt.now_ns to the nanosecond: it has a
 * `limit` (token buckets in ns, as the kernel's ktime_get_ns()).  Else a
 * clock of a few milliseconds' steps (CLOCK_MONOTONIC_COARSE) judges the
 * same: conntrack's timeouts count jiffies in the kernel too, and the
 * log's rate limit refills per 100 ms. */
bool fn_nft_prog_fine_clock(const struct fn_nft_prog *p);

/* Live state of a rule's stateful expression (counter, quota) for a dump:
 * 0 and the values, or -ENOENT. */
int fn_nft_expr_state(const struct fn_nft_prog *p,
		      const struct nftnl_rule *r, unsigned expr_index,
		      uint64_t *packets, uint64_t *bytes);

/* Live state of a named object of type NFT_OBJECT_COUNTER (packets,
 * bytes) or NFT_OBJECT_QUOTA (0, bytes consumed: uncapped) for a dump;
 * reset: zero it once read (GETOBJ_RESET).  0, or -ENOENT (not in p, or
 * a limit, which lists no state). */
int fn_nft_obj_state(struct fn_nft_prog *p, uint32_t family,
		     const char *table, uint32_t type, const char *name,
		     uint64_t handle, bool reset, uint64_t *packets,
		     uint64_t *bytes);

/* Connection tracking for `ct state`, bounded: max entries, the least
 * recently used (about: CLOCK) out. */
struct fn_nft_ct *fn_nft_ct_new(uint32_t max_entries);
void fn_nft_ct_free(struct fn_nft_ct *ct);
/* p (NULL: none) judges the packets tracked in ct from now on: the
 * stack calls it as it swaps programs.  ct then keeps, per flow and
 * direction, that p accepted its ESTABLISHED packets on a path without
 * reading anything but their addresses, protocol, ports and ct state,
 * and without acting (no counter, log, limit...); the next such packet
 * is accepted without running the chains (docs/nft-eval.md, "A flow's
 * verdict, kept").  What the programs before p kept is forgotten.  A
 * program that ct has not adopted is judged rule by rule, always. */
void fn_nft_ct_adopt(struct fn_nft_ct *ct, struct fn_nft_prog *p);

#endif /* FRAGNET_SRC_NFT_H */
