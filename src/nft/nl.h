/*
 * src/nft/nl.h - the nf_tables netlink server inside fragnet-stack
 * (internal; the contract with the evaluator is nft.h).
 *
 *   nl_server.c  one netlink datagram in, replies out: dispatch, GETGEN,
 *                errors and acks as the kernel sends them, commit
 *   nl_batch.c   NEW/DEL of tables, chains, rules, sets, elements and
 *                objects (counter, quota, limit), applied
 *                to a transaction (a copy of the model)
 *   nl_model.c   the model's wrappers, lookups, the copy a batch works on,
 *                and who frees which libnftnl object on commit or abort
 *   nl_guard.c   libnftnl's parsers, kept from exit()ing on bad input
 *   nl_validate.c  attributes checked (kernel policies) before libnftnl
 *   nl_dump.c    GET and dumps (tables, chains, sets, elements, rules) with
 *                live counters
 *
 * Everything runs on the stack loop's thread.  The wrappers below extend
 * the contract's structs (nft.h) with what only the server needs; the
 * evaluator sees the leading public member only.
 */
#ifndef FRAGNET_SRC_NFT_NL_H
#define FRAGNET_SRC_NFT_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nft.h"

struct nlmsghdr;
struct nftnl_set_elem;

/* ---- model wrappers ------------------------------------------------------ */

struct nl_table {
	struct fn_nft_table pub;	/* first: the model holds &pub */
	uint64_t next_handle;		/* chains, rules, sets: per table */
	uint32_t anon_next;		/* next __set%d number to try */
	bool fresh;			/* pub.nl born in this transaction */
	struct nl_table *orig;		/* in a transaction: the committed
					 * table this one copies, or NULL */
};

struct nl_chain {
	struct fn_nft_chain pub;
	uint32_t id;			/* NFTA_CHAIN_ID in this batch, 0 none */
	bool fresh;
};

/* Element index: key bytes (+ interval end flag) -> present. */
struct nl_elem_index {
	struct nftnl_set_elem **slot;
	uint32_t mask, used;
};

struct nl_set {
	struct fn_nft_set pub;
	uint32_t id;			/* NFTA_SET_ID in this batch, 0 none */
	uint64_t bound_rule;		/* anonymous set: handle of its rule */
	struct nl_elem_index idx;	/* valid while fresh */
	bool fresh;
};

static inline struct nl_table *nl_table_of(struct fn_nft_table *t)
{
	return (struct nl_table *)t;
}
static inline struct nl_chain *nl_chain_of(struct fn_nft_chain *c)
{
	return (struct nl_chain *)c;
}
static inline struct nl_set *nl_set_of(struct fn_nft_set *s)
{
	return (struct nl_set *)s;
}

/* ---- output -------------------------------------------------------------- */

/* Replies, whole netlink messages back to back. */
struct nl_out {
	uint8_t *buf;
	size_t len, cap;
	bool oom;
};

#define NL_MSG_ROOM	(256u * 1024)	/* the largest reply we build */

/* Room for one message of up to NL_MSG_ROOM bytes at out->buf + out->len,
 * zeroed; NULL (and out->oom) on failure.  Commit with out->len +=. */
char *nl_out_room(struct nl_out *out);
void nl_out_free(struct nl_out *out);

/* ---- the transaction ----------------------------------------------------- */

/* Tags of the low pointer bits: libnftnl's objects come from malloc(),
 * aligned to 8 bytes at least. */
enum nl_kind { NL_K_TABLE, NL_K_CHAIN, NL_K_RULE, NL_K_SET, NL_K_OBJ };

struct nl_ptrset {			/* open addressing, tagged pointers */
	uintptr_t *slot;
	size_t mask, used;
};

struct nl_txn {
	struct fn_nft_ruleset rs;	/* the copy being changed */
	struct nl_ptrset born;		/* libnftnl objects new in this batch */
	uintptr_t *dead;		/* old objects dropped: free on commit */
	size_t ndead, cdead;
	uint64_t last_rule_handle;	/* of the last NEWRULE applied */
	const char *last_name;		/* of the last table/chain/set made:
					 * valid until the next message */
	uint32_t bad_off;		/* of the attribute the last message
					 * was refused for (from its nlmsghdr,
					 * NLMSGERR_ATTR_OFFS), 0: none */
	uint32_t *rule_ids;		/* NFTA_RULE_ID -> handle, pairs */
	size_t nrule_ids, crule_ids;
	bool oom;
};

/* ---- the server ---------------------------------------------------------- */

struct nl_job;

struct nl_server {
	struct fn_nft_ruleset rs;	/* committed model */
	struct nl_job *batch_owner;	/* the job with an open batch */
	struct fn_nft_prog *prog;	/* committed program: packets use it */
	unsigned prog_flags;		/* fn_nft_prog_flags(prog), swapped
					 * with it: read before every packet */
	struct fn_nft_ct *ct;
	uint32_t pid;			/* the client's (SO_PEERCRED), for
					 * NEWGEN; 0: unknown */
	uint64_t commits, aborts;
};

/* nl_server.c */
int nl_server_init(struct nl_server *srv);
void nl_server_fini(struct nl_server *srv);
/* Handle one netlink datagram of len bytes; append the replies to out.
 * data[len] must be readable and 0 (see nl_validate).
 * opts: FN_NLCTL_F_CAP_ACK | FN_NLCTL_F_EXT_ACK (fragnet/nlctl.h). */
void nl_server_handle(struct nl_server *srv, const uint8_t *data, size_t len,
		      unsigned opts, struct nl_out *out);
uint16_t nl_res_id(const struct nl_server *srv);
/* The same, resumable: at most `budget` messages per nl_job_step(), which
 * returns true when the datagram is done (then nl_job_free).  data stays
 * the caller's and must live until then. */
struct nl_job *nl_job_start(struct nl_server *srv, const uint8_t *data,
			    size_t len, unsigned opts, struct nl_out *out);
bool nl_job_step(struct nl_job *j, unsigned budget);
void nl_job_free(struct nl_job *j);

/* nl_model.c */
int nl_txn_begin(struct nl_txn *tx, const struct fn_nft_ruleset *rs);
/* Abort: the committed model stays, but for its handle counters
 * (committed: the model tx began from, or NULL): the handles the batch
 * took stay taken, as in the kernel, which never gives one back. */
void nl_txn_abort(struct nl_txn *tx, struct fn_nft_ruleset *committed);
/* The committed model becomes tx's; old's wrappers and dead objects go. */
void nl_txn_commit(struct nl_txn *tx, struct fn_nft_ruleset *committed);
void nl_ruleset_free(struct fn_nft_ruleset *rs);	/* wrappers + objects */
void nl_txn_born(struct nl_txn *tx, enum nl_kind k, void *obj);
void nl_txn_drop(struct nl_txn *tx, enum nl_kind k, void *obj);

struct fn_nft_table *nl_table_find(const struct fn_nft_ruleset *rs,
				   uint32_t family, const char *name);
struct fn_nft_table *nl_table_find_handle(const struct fn_nft_ruleset *rs,
					  uint32_t family, uint64_t handle);
struct fn_nft_chain *nl_chain_find(const struct fn_nft_table *t,
				   const char *name);
struct fn_nft_chain *nl_chain_find_handle(const struct fn_nft_table *t,
					  uint64_t handle);
struct fn_nft_chain *nl_chain_find_id(const struct fn_nft_table *t,
				      uint32_t id);
struct fn_nft_set *nl_set_find(const struct fn_nft_table *t, const char *name);
struct fn_nft_set *nl_set_find_handle(const struct fn_nft_table *t,
				      uint64_t handle);
struct fn_nft_set *nl_set_find_id(const struct fn_nft_table *t, uint32_t id);
int nl_rule_find(const struct fn_nft_chain *c, uint64_t handle);
/* The object of that type and name (handle), or -1. */
int nl_obj_find(const struct fn_nft_table *t, uint32_t type, const char *name);
int nl_obj_find_handle(const struct fn_nft_table *t, uint64_t handle);

int nl_table_add(struct nl_txn *tx, struct nftnl_table *nl);
void nl_table_del(struct nl_txn *tx, uint32_t i);
int nl_chain_add(struct nl_txn *tx, struct fn_nft_table *t,
		 struct nftnl_chain *nl, uint32_t id);
void nl_chain_del(struct nl_txn *tx, struct fn_nft_table *t, uint32_t i);
int nl_rule_insert(struct nl_txn *tx, struct fn_nft_chain *c, uint32_t pos,
		   struct nftnl_rule *r);
void nl_rule_del(struct nl_txn *tx, struct fn_nft_table *t,
		 struct fn_nft_chain *c, uint32_t i);
int nl_set_add(struct nl_txn *tx, struct fn_nft_table *t,
	       struct nftnl_set *nl, uint32_t id);
void nl_set_del(struct nl_txn *tx, struct fn_nft_table *t, uint32_t i);
/* obj becomes the table's, with the table's next handle. */
int nl_obj_add(struct nl_txn *tx, struct fn_nft_table *t, struct nftnl_obj *nl);
void nl_obj_del(struct nl_txn *tx, struct fn_nft_table *t, uint32_t i);
/* Make s's libnftnl set this transaction's own (a copy), index built. */
int nl_set_own(struct nl_txn *tx, struct fn_nft_set *s);
struct nftnl_set_elem *nl_elem_lookup(struct nl_set *s,
				      struct nftnl_set_elem *e);
int nl_elem_add(struct nl_set *s, struct nftnl_set_elem *e);
struct nftnl_set_elem *nl_elem_copy(struct nftnl_set_elem *e);
/* Index e only (it stays its owner's). */
int nl_elem_index_put(struct nl_elem_index *x, struct nftnl_set_elem *e);
/* Rebuild s without the elements `drop` says so of (NULL: all). */
int nl_set_filter(struct nl_txn *tx, struct fn_nft_set *s,
		  bool (*drop)(struct nftnl_set_elem *e, void *arg), void *arg);
void nl_elems_normalize(struct nlmsghdr *nlh);
/* A NEWSETELEM-shaped message (checked by nl_validate) parsed into s,
 * from a normalized copy: 0, -EINVAL or -ENOMEM. */
int nl_parse_elems(const struct nlmsghdr *nlh, struct nftnl_set *s);
bool nl_set_referenced(const struct fn_nft_table *t, const char *name);
bool nl_chain_referenced(const struct fn_nft_table *t, const char *name);
/* An objref of a rule names it (the kernel's obj->use). */
bool nl_obj_referenced(const struct fn_nft_table *t, uint32_t type,
		       const char *name);

/* nl_guard.c: libnftnl's parsers on client bytes, their exit() trapped */
enum nl_parse { NL_P_TABLE, NL_P_CHAIN, NL_P_RULE, NL_P_SET, NL_P_ELEMS,
		NL_P_OBJ };
int nl_parse(enum nl_parse what, const struct nlmsghdr *nlh, void *obj);
int nl_guarded(int (*fn)(void *arg), void *arg);
unsigned long nl_guard_trapped(void);

/* nl_validate.c: 0 if libnftnl may parse this batch message (or
 * GETSETELEM request); -EINVAL, or -EOPNOTSUPP (and the name in *unsup).
 * The datagram it is in must be followed by a NUL byte (strings inside
 * expressions are left to libnftnl, which strdup()s them). */
int nl_validate(const struct nlmsghdr *nlh, const char **unsup);

/* nl_batch.c: one message of a batch, applied to tx.  0 or -errno; msg
 * gets a reason for the extended ack when there is one. */
int nl_batch_msg(struct nl_txn *tx, const struct nlmsghdr *nlh,
		 char *msg, size_t msglen);

/* nl_dump.c: a GET* request (dump or single); 0 or -errno. */
int nl_dump(struct nl_server *srv, const struct nlmsghdr *nlh,
	    struct nl_out *out);
int nl_echo(struct nl_server *srv, struct nl_out *out, uint16_t type,
	    uint16_t flags, uint32_t seq, uint32_t family, const char *table,
	    const char *name, uint64_t handle);
int nl_echo_elems(struct nl_server *srv, struct nl_out *out, uint16_t flags,
		  uint32_t seq, uint32_t family, const struct nlmsghdr *req);

#endif /* FRAGNET_SRC_NFT_NL_H */
