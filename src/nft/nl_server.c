/*
 * nl_server.c - the nf_tables netlink server of one fragnet-stack: one
 * netlink datagram from the control socket in (fragnet/nlctl.h), the
 * replies the kernel would queue out.  Called by src/stack/control.c.
 *
 * Per datagram, as the kernel's netlink_rcv_skb and nfnetlink do:
 *   - messages one after the other; a header whose length does not fit
 *     ends the datagram silently; messages without NLM_F_REQUEST are
 *     skipped;
 *   - GETGEN -> NEWGEN (genid, our pid and name); GET* -> nl_dump.c;
 *     NEW and DEL outside a batch -> EOPNOTSUPP;
 *   - NFNL_MSG_BATCH_BEGIN takes the rest of the datagram as one batch:
 *     every message up to BATCH_END is applied to a transaction (a copy of
 *     the model); each one that fails, or that asked for NLM_F_ACK, gets an
 *     NLMSG_ERROR with its sequence number, and processing goes on so that
 *     nft learns every error at once; any error, or no BATCH_END, aborts:
 *     the old model and program stay.  Otherwise the commit: compile the
 *     new model (fn_nft_compile), swap the program pointer, bump genid.
 *     The stack loop is single-threaded, so the swap lands between two
 *     packet bursts: a packet sees the old program or the new, never both.
 *   - Error messages echo the request whole, or only its header with
 *     NLM_F_CAPPED when the client set NETLINK_CAP_ACK (acks of success
 *     are always capped, as the kernel's are).  Unlike the kernel we also
 *     cap an echo that would not fit nft's 4 KiB ack buffer.  With
 *     NETLINK_EXT_ACK the reason is added as NLMSGERR_ATTR_MSG.
 *   - A rule the evaluator refuses (EOPNOTSUPP...) is found by compiling
 *     each new rule of the batch alone in its table, and the error goes to
 *     that rule's message, as the kernel's NEWRULE would fail.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnftnl/rule.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include "fragnet/log.h"
#include "fragnet/nlctl.h"

#include "nl.h"

#define ECHO_MAX	4096	/* nft reads acks with a 4 KiB buffer */
#define GEN_PROC_NAME	"fragnet-stack"
#define GEN_CLIENT_NAME	"nft"	/* the only client of the shim */
#define CT_MAX		65536

struct req {
	struct nl_server *srv;
	struct nl_out *out;
	unsigned opts;
};

uint16_t nl_res_id(const struct nl_server *srv)
{
	return (uint16_t)(srv->rs.genid & 0xffff);
}

int nl_server_init(struct nl_server *srv)
{
	memset(srv, 0, sizeof(*srv));
	srv->rs.genid = 1;
	srv->prog_flags = fn_nft_prog_flags(NULL);
	srv->ct = fn_nft_ct_new(CT_MAX);
	if (!srv->ct)
		return -ENOMEM;
	return 0;
}

void nl_server_fini(struct nl_server *srv)
{
	fn_nft_prog_free(srv->prog);
	fn_nft_ct_free(srv->ct);
	nl_ruleset_free(&srv->rs);
	memset(srv, 0, sizeof(*srv));
}

/* ---- replies --------------------------------------------------------------- */

/* bad_off: NLMSGERR_ATTR_OFFS, the attribute of req to blame (0: none),
 * as the kernel's extack tells it; nft points at that part of its
 * command (else at the whole command). */
static void put_error_at(struct req *q, const struct nlmsghdr *req, int err,
			 const char *why, uint32_t bad_off)
{
	char *buf = nl_out_room(q->out);
	bool cap = err == 0 || (q->opts & FN_NLCTL_F_CAP_ACK) ||
		   req->nlmsg_len > ECHO_MAX;
	size_t echo = cap ? sizeof(*req) : req->nlmsg_len;
	struct nlmsghdr *nlh;
	struct nlmsgerr *e;

	if (!buf || echo > NL_MSG_ROOM - 1024)
		return;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = req->nlmsg_seq;
	nlh->nlmsg_flags = cap ? NLM_F_CAPPED : 0;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e) - sizeof(*req) + echo);
	e->error = err;
	memcpy(&e->msg, req, echo);
	if (cap)
		e->msg.nlmsg_len = sizeof(*req);
	if (err && why && *why && (q->opts & FN_NLCTL_F_EXT_ACK)) {
		nlh->nlmsg_flags |= NLM_F_ACK_TLVS;
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, why);
	}
	if (err && bad_off && bad_off < req->nlmsg_len &&
	    (q->opts & FN_NLCTL_F_EXT_ACK)) {
		nlh->nlmsg_flags |= NLM_F_ACK_TLVS;
		mnl_attr_put_u32(nlh, NLMSGERR_ATTR_OFFS, bad_off);
	}
	q->out->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

static void put_error(struct req *q, const struct nlmsghdr *req, int err,
		      const char *why)
{
	put_error_at(q, req, err, why, 0);
}

/* The client's command name, as the kernel reports current->comm. */
static void client_comm(uint32_t pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(buf, len, "%s", GEN_PROC_NAME);
	if (!pid)
		return;
	snprintf(path, sizeof(path), "/proc/%u/comm", (unsigned)pid);
	f = fopen(path, "re");
	if (!f) {
		/* A confined stack sees no /proc (docs/security.md): its
		 * clients are nft processes, through libfragnet-netlink.so. */
		snprintf(buf, len, "%s", GEN_CLIENT_NAME);
		return;
	}
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

/* NEWGEN: the generation, and who asked (GETGEN) or committed (echo),
 * as the kernel tells it. */
static void put_newgen(struct req *q, uint32_t seq)
{
	char *buf = nl_out_room(q->out), comm[32];
	struct nlmsghdr *nlh;
	struct nfgenmsg *g;

	if (!buf)
		return;
	client_comm(q->srv->pid, comm, sizeof(comm));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWGEN;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = AF_UNSPEC;
	g->version = NFNETLINK_V0;
	g->res_id = htons(nl_res_id(q->srv));
	mnl_attr_put_u32(nlh, NFTA_GEN_ID, htonl(q->srv->rs.genid));
	mnl_attr_put_u32(nlh, NFTA_GEN_PROC_PID,
			 htonl(q->srv->pid ? q->srv->pid : (uint32_t)getpid()));
	mnl_attr_put_strz(nlh, NFTA_GEN_PROC_NAME, comm);
	q->out->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

/* ---- one message outside a batch ------------------------------------------------ */

static void handle_one(struct req *q, const struct nlmsghdr *nlh)
{
	uint16_t type = NFNL_MSG_TYPE(nlh->nlmsg_type);
	bool dump = (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
	int err;

	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(struct nfgenmsg) ||
	    NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES) {
		put_error(q, nlh, -EINVAL, "not an nf_tables request");
		return;
	}
	switch (type) {
	case NFT_MSG_GETGEN:
		put_newgen(q, nlh->nlmsg_seq);
		err = 0;
		break;
	case NFT_MSG_GETTABLE: case NFT_MSG_GETCHAIN: case NFT_MSG_GETRULE:
	case NFT_MSG_GETSET: case NFT_MSG_GETSETELEM: case NFT_MSG_GETOBJ:
	case NFT_MSG_GETOBJ_RESET: case NFT_MSG_GETFLOWTABLE:
		err = nl_dump(q->srv, nlh, q->out);
		if (dump && err == 0)
			return;		/* NLMSG_DONE ends it, no ack */
		break;
	default:
		err = -EOPNOTSUPP;
	}
	if (err || (nlh->nlmsg_flags & NLM_F_ACK))
		put_error(q, nlh, err, NULL);
}

/* ---- batches ---------------------------------------------------------------------- */

/* A NEWRULE (chain: its chain), or a NEWCHAIN or NEWSET (chain: the
 * chain's or the set's name). */
struct newrule {
	const struct nlmsghdr *nlh;
	uint64_t handle;
	char *table, *chain;
	uint32_t family;
};

/* An object a message with NLM_F_ECHO made, told back after the commit. */
struct echo {
	uint16_t type, flags;
	uint32_t seq, family;
	char *table, *name;		/* name: the chain of a rule */
	uint64_t handle;
	const struct nlmsghdr *req;	/* elements: the request's */
};

struct batch {
	struct req *q;
	struct nl_txn tx;
	struct newrule *rules;		/* NEWRULEs applied, for culprits */
	size_t nrules, crules;
	struct newrule *sets;		/* NEWSETs that made a set, ditto */
	size_t nsets, csets;
	struct newrule *chains;		/* NEWCHAINs (made or updated) */
	size_t nchains, cchains;
	struct echo *echo;
	size_t necho, cecho;
	unsigned changes;
	bool failed;
};

/* The table every object message names in attribute 1 (NFTA_TABLE_NAME,
 * NFTA_CHAIN_TABLE, NFTA_RULE_TABLE, NFTA_SET_TABLE; nl_validate made
 * it a NUL-terminated string). */
static const char *msg_table(const struct nlmsghdr *nlh)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == 1)
			return mnl_attr_get_str(a);
	return NULL;
}

/* Room for one more culprit in *v. */
static struct newrule *culprit_slot(struct newrule **v, size_t n, size_t *cap)
{
	struct newrule *p;

	if (n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;

		p = realloc(*v, c * sizeof(*p));
		if (!p)
			return NULL;	/* only error attribution suffers */
		*v = p;
		*cap = c;
	}
	return &(*v)[n];
}

/* Fill culprit p; true if it is complete (else it is dropped). */
static bool culprit_set(struct newrule *p, const struct nlmsghdr *nlh,
			uint64_t handle, const char *table, const char *name)
{
	p->nlh = nlh;
	p->handle = handle;
	p->family = ((const struct nfgenmsg *)mnl_nlmsg_get_payload(nlh))->nfgen_family;
	p->table = table ? strdup(table) : NULL;
	p->chain = name ? strdup(name) : NULL;
	if (p->table && p->chain)
		return true;
	free(p->table);
	free(p->chain);
	return false;
}

/* A NEWRULE applied: where it went, to blame it if the commit fails. */
static void note_rule(struct batch *b, const struct nlmsghdr *nlh)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct newrule *p;

	if (!r)
		return;
	if (nl_parse(NL_P_RULE, nlh, r) < 0)
		goto out;
	p = culprit_slot(&b->rules, b->nrules, &b->crules);
	if (p && culprit_set(p, nlh, b->tx.last_rule_handle,
			     nftnl_rule_get_str(r, NFTNL_RULE_TABLE),
			     nftnl_rule_get_str(r, NFTNL_RULE_CHAIN)))
		b->nrules++;
out:
	nftnl_rule_free(r);
}

/* A NEWSET that made a set, or a NEWCHAIN that made or updated a chain
 * (tx.last_name: its name, `__set%d` resolved), to blame it if the
 * commit fails. */
static void note_named(struct batch *b, const struct nlmsghdr *nlh,
		       struct newrule **v, size_t *n, size_t *cap)
{
	struct newrule *p;

	if (!b->tx.last_name)
		return;		/* it existed already */
	p = culprit_slot(v, *n, cap);
	if (p && culprit_set(p, nlh, 0, msg_table(nlh), b->tx.last_name))
		(*n)++;
}

static void culprits_free(struct newrule *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].table);
		free(v[i].chain);
	}
	free(v);
}

static void batch_free(struct batch *b)
{
	culprits_free(b->rules, b->nrules);
	culprits_free(b->sets, b->nsets);
	culprits_free(b->chains, b->nchains);
	for (size_t i = 0; i < b->necho; i++) {
		free(b->echo[i].table);
		free(b->echo[i].name);
	}
	free(b->echo);
}

/* Remember what an NLM_F_ECHO message made (only memory can fail). */
static void note_echo(struct batch *b, const struct nlmsghdr *nlh)
{
	uint16_t type = NFNL_MSG_TYPE(nlh->nlmsg_type);
	const char *table = msg_table(nlh), *name = b->tx.last_name;
	struct echo *e;

	if (type == NFT_MSG_NEWRULE && b->nrules)
		name = b->rules[b->nrules - 1].chain;
	if (!table || (type != NFT_MSG_NEWTABLE && type != NFT_MSG_NEWCHAIN &&
		       type != NFT_MSG_NEWRULE && type != NFT_MSG_NEWSET &&
		       type != NFT_MSG_NEWSETELEM))
		return;
	if (b->necho == b->cecho) {
		size_t c = b->cecho ? b->cecho * 2 : 16;

		e = realloc(b->echo, c * sizeof(*e));
		if (!e)
			return;
		b->echo = e;
		b->cecho = c;
	}
	e = &b->echo[b->necho];
	*e = (struct echo){ type, nlh->nlmsg_flags &
			    (NLM_F_ECHO | NLM_F_CREATE | NLM_F_EXCL |
			     NLM_F_APPEND | NLM_F_REPLACE), nlh->nlmsg_seq,
			    ((const struct nfgenmsg *)mnl_nlmsg_get_payload(
				    nlh))->nfgen_family,
			    strdup(table), name ? strdup(name) : NULL,
			    b->tx.last_rule_handle, nlh };
	if (e->table)
		b->necho++;
	else
		free(e->name);
}

/* After the commit: the echoes, in message order, then the new
 * generation (nft prints "# new generation N by process P (nft)"). */
static void put_echoes(struct batch *b)
{
	for (size_t i = 0; i < b->necho; i++) {
		struct echo *e = &b->echo[i];

		if (e->type == NFT_MSG_NEWSETELEM)
			nl_echo_elems(b->q->srv, b->q->out, e->flags, e->seq,
				      e->family, e->req);
		else
			nl_echo(b->q->srv, b->q->out, e->type, e->flags,
				e->seq, e->family, e->table, e->name,
				e->handle);
	}
	if (b->necho)
		put_newgen(b->q, 0);
}

/* What try_table compiles of a table: one chain without rules and sets,
 * one set with every good chain (no rules), or one rule with every good
 * chain and set; "good": not in bad_c / bad_s. */
struct try_what {
	struct fn_nft_chain *chain;
	struct fn_nft_set *set;
	struct fn_nft_chain *rule_chain;
	struct nftnl_rule *rule;
	struct fn_nft_chain **bad_c;
	struct fn_nft_set **bad_s;
	size_t nbad_c, nbad_s;
};

static bool in_list(void *const *v, size_t n, const void *x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/* Compile w's part of table t alone: 0 if the evaluator takes it. */
static int try_table(struct fn_nft_table *t, struct try_what *w, int *err,
		     char *msg, size_t len)
{
	struct fn_nft_chain **chains = calloc(t->nchains ? t->nchains : 1,
					      sizeof(*chains));
	struct fn_nft_chain *copy = calloc(t->nchains ? t->nchains : 1,
					   sizeof(*copy));
	struct fn_nft_set **sets = calloc(t->nsets ? t->nsets : 1,
					  sizeof(*sets));
	struct fn_nft_table tt = *t, *tp = &tt;
	struct fn_nft_ruleset rs = { .tables = &tp, .ntables = 1, .ctables = 1 };
	struct fn_nft_prog *p;
	int ret = 0;

	if (!chains || !copy || !sets)
		goto out;	/* only error attribution suffers */
	tt.nchains = 0;
	for (uint32_t i = 0; i < t->nchains; i++) {
		struct fn_nft_chain *c = t->chains[i];
		bool mine = w->rule && c == w->rule_chain;

		if (w->chain ? c != w->chain
			     : in_list((void *const *)w->bad_c, w->nbad_c, c))
			continue;
		copy[tt.nchains] = *c;
		copy[tt.nchains].nrules = mine ? 1 : 0;
		copy[tt.nchains].rules = mine ? &w->rule : NULL;
		chains[tt.nchains] = &copy[tt.nchains];
		tt.nchains++;
	}
	tt.chains = chains;
	tt.nsets = 0;
	for (uint32_t i = 0; i < t->nsets && !w->chain; i++)
		if (w->set ? t->sets[i] == w->set
			   : !in_list((void *const *)w->bad_s, w->nbad_s,
				      t->sets[i]))
			sets[tt.nsets++] = t->sets[i];
	tt.sets = sets;
	p = fn_nft_compile(&rs, NULL, err, msg, len);
	ret = p ? 0 : -1;
	fn_nft_prog_free(p);
out:
	free(chains);
	free(copy);
	free(sets);
	return ret;
}

/* Blame each culprit of list v (chains or sets) that fails try_table
 * alone; the refused ones go to bad[].  The number blamed. */
static size_t blame_named(struct batch *b, struct newrule *v, size_t n,
			  bool sets, struct try_what *w, void **bad,
			  size_t *nbad, char *msg, size_t len)
{
	size_t blamed = 0;

	for (size_t i = 0; i < n; i++) {
		struct fn_nft_table *t = nl_table_find(&b->tx.rs, v[i].family,
						       v[i].table);
		void *o = !t ? NULL : sets ? (void *)nl_set_find(t, v[i].chain)
					  : (void *)nl_chain_find(t, v[i].chain);
		int err = 0;

		if (!o)
			continue;
		w->chain = sets ? NULL : o;
		w->set = sets ? o : NULL;
		if (try_table(t, w, &err, msg, len) == 0)
			continue;
		put_error(b->q, v[i].nlh, err ? err : -EOPNOTSUPP, msg);
		bad[(*nbad)++] = o;
		blamed++;
	}
	w->chain = NULL;
	w->set = NULL;
	return blamed;
}

/* Which new chains, sets and rules did the evaluator refuse?  Report each
 * on its message, as the kernel reports every message it refuses: each
 * chain alone in its table (no rules, no sets), then each set (no
 * rules, without the refused chains), then each rule alone, without the
 * refused chains and sets: a rule of a refused chain, or one that jumps
 * to it or looks a refused set up, is refused too, as the kernel refuses
 * it with ENOENT.  False if none is to blame (a jump loop, say). */
static bool blame(struct batch *b, char *msg, size_t len)
{
	struct try_what w = { 0 };
	size_t blamed;

	w.bad_c = calloc(b->nchains + 1, sizeof(*w.bad_c));
	w.bad_s = calloc(b->nsets + 1, sizeof(*w.bad_s));
	if (!w.bad_c || !w.bad_s) {
		free(w.bad_c);
		free(w.bad_s);
		return false;
	}
	blamed = blame_named(b, b->chains, b->nchains, false, &w,
			     (void **)w.bad_c, &w.nbad_c, msg, len);
	blamed += blame_named(b, b->sets, b->nsets, true, &w,
			      (void **)w.bad_s, &w.nbad_s, msg, len);
	for (size_t n = 0; n < b->nrules; n++) {
		struct newrule *r = &b->rules[n];
		struct fn_nft_table *t = nl_table_find(&b->tx.rs, r->family,
						       r->table);
		struct fn_nft_chain *c = t ? nl_chain_find(t, r->chain) : NULL;
		int k = c ? nl_rule_find(c, r->handle) : -1, err = -ENOENT;

		if (k < 0)
			continue;
		w.rule_chain = c;
		w.rule = c->rules[k];
		if (!in_list((void *const *)w.bad_c, w.nbad_c, c)) {
			err = 0;
			if (try_table(t, &w, &err, msg, len) == 0)
				continue;
		} else {
			snprintf(msg, len, "chain %s refused", r->chain);
		}
		put_error(b->q, r->nlh, err ? err : -EOPNOTSUPP, msg);
		blamed++;
	}
	free(w.bad_c);
	free(w.bad_s);
	return blamed > 0;
}

/* The batch applied cleanly: compile, swap, bump.  Error on begin
 * (as the kernel reports a failed commit) unless a rule is to blame. */
static void batch_commit(struct batch *b, const struct nlmsghdr *begin)
{
	struct nl_server *srv = b->q->srv;
	struct fn_nft_prog *prog, *old = srv->prog;
	char msg[256] = "";
	int err = 0;

	if (b->changes == 0) {
		nl_txn_abort(&b->tx, &srv->rs);	/* nothing changed: genid stays */
		return;
	}
	prog = fn_nft_compile(&b->tx.rs, srv->prog, &err, msg, sizeof(msg));
	if (!prog) {
		fn_warn("nft: commit refused: %s (%s)", msg, strerror(-err));
		if (!blame(b, msg, sizeof(msg)))
			put_error(b->q, begin, err ? err : -EINVAL, msg);
		nl_txn_abort(&b->tx, &srv->rs);
		srv->aborts++;
		return;
	}
	srv->prog = prog;		/* THE swap: next burst sees it */
	srv->prog_flags = fn_nft_prog_flags(prog);
	fn_nft_ct_adopt(srv->ct, prog);
	fn_nft_prog_free(old);
	b->tx.rs.genid = srv->rs.genid + 1;
	nl_txn_commit(&b->tx, &srv->rs);
	srv->commits++;
	put_echoes(b);
}

/* Apply one message; remember the NEWRULEs. */
static void batch_apply(struct batch *b, const struct nlmsghdr *nlh)
{
	char msg[256];
	int err;

	err = nl_batch_msg(&b->tx, nlh, msg, sizeof(msg));
	if (err == 0 && b->tx.oom)
		err = -ENOMEM;
	if (err == 0)
		b->changes++;
	if (err == 0 && NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWRULE)
		note_rule(b, nlh);
	if (err == 0 && NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWSET)
		note_named(b, nlh, &b->sets, &b->nsets, &b->csets);
	if (err == 0 && NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWCHAIN)
		note_named(b, nlh, &b->chains, &b->nchains, &b->cchains);
	if (err == 0 && (nlh->nlmsg_flags & NLM_F_ECHO))
		note_echo(b, nlh);
	if (err || (nlh->nlmsg_flags & NLM_F_ACK))
		put_error_at(b->q, nlh, err, msg, err ? b->tx.bad_off : 0);
	if (err) {
		fn_debug("nft: batch message %u (seq %u) refused: %s%s%s",
			 NFNL_MSG_TYPE(nlh->nlmsg_type), nlh->nlmsg_seq,
			 strerror(-err), *msg ? ": " : "", msg);
		b->failed = true;
	}
}

/* NFNL_BATCH_GENID in BEGIN: the generation the client's cache is of;
 * the kernel refuses the batch with ERESTART when it is not the current
 * one (nft then refreshes its cache and retries).  nft 1.0.6 does not
 * send it. */
static bool genid_stale(const struct nl_server *srv, const struct nlmsghdr *b)
{
	const struct nlattr *a;

	mnl_attr_for_each(a, b, sizeof(struct nfgenmsg))
		if (mnl_attr_get_type(a) == NFNL_BATCH_GENID &&
		    mnl_attr_validate(a, MNL_TYPE_U32) == 0 &&
		    ntohl(mnl_attr_get_u32(a)) != srv->rs.genid)
			return true;
	return false;
}

/*
 * A datagram being handled, resumable: nl_job_step() does at most
 * `budget` messages, so that the stack loop can interleave packet bursts
 * with a multi-MB batch.  A batch (BEGIN to END or the datagram's end)
 * keeps its transaction in the job; only one batch at a time may be open
 * in a server (srv->batch_owner), as the kernel's commit mutex allows: a
 * second one waits at its BEGIN.  The commit (compile, swap) is one step.
 */
struct nl_job {
	struct req q;
	const uint8_t *data;
	size_t len, off;		/* the next message outside a batch */
	bool in_batch, done;
	struct batch b;
	const struct nlmsghdr *begin, *cur;	/* in a batch */
	size_t left;			/* bytes from cur to the end */
	bool batch_end;
};

static void batch_finish(struct nl_job *j)
{
	struct nl_server *srv = j->q.srv;

	if (j->batch_end && !j->b.failed) {
		batch_commit(&j->b, j->begin);
	} else {
		nl_txn_abort(&j->b.tx, &srv->rs);
		srv->aborts++;
	}
	batch_free(&j->b);
	srv->batch_owner = NULL;
	j->in_batch = false;
	j->done = true;		/* a batch takes the rest of the datagram */
}

/* BEGIN: checks, the transaction.  false when refused (the job ends). */
static bool batch_open(struct nl_job *j, const struct nlmsghdr *begin,
		       size_t left)
{
	struct req *q = &j->q;

	memset(&j->b, 0, sizeof(j->b));
	j->b.q = q;
	if (begin->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(struct nfgenmsg)) {
		put_error(q, begin, -EINVAL, NULL);
		return false;
	}
	if (genid_stale(q->srv, begin)) {
		put_error(q, begin, -ERESTART, "the ruleset changed");
		return false;
	}
	if (nl_txn_begin(&j->b.tx, &q->srv->rs) < 0) {
		put_error(q, begin, -ENOMEM, NULL);
		return false;
	}
	q->srv->batch_owner = j;
	j->in_batch = true;
	j->batch_end = false;
	j->begin = begin;
	j->left = left - (NLMSG_ALIGN(begin->nlmsg_len) < left ?
			  NLMSG_ALIGN(begin->nlmsg_len) : left);
	j->cur = (const struct nlmsghdr *)((const uint8_t *)begin +
					   NLMSG_ALIGN(begin->nlmsg_len));
	return true;
}

/* One message of the open batch; the batch closes at END, at a
 * malformed message or at the datagram's end. */
static void batch_step(struct nl_job *j)
{
	const struct nlmsghdr *nlh = j->cur;
	struct batch *b = &j->b;

	if (j->left < sizeof(*nlh)) {
		batch_finish(j);
		return;
	}
	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(struct nfgenmsg) ||
	    nlh->nlmsg_len > j->left || nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN) {
		put_error(&j->q, j->begin, -EINVAL, "malformed batch");
		b->failed = true;
		batch_finish(j);
		return;
	}
	if (nlh->nlmsg_type == NFNL_MSG_BATCH_END) {
		j->batch_end = true;
		batch_finish(j);
		return;
	}
	if (!(nlh->nlmsg_flags & NLM_F_REQUEST)) {
		put_error(&j->q, nlh, -EINVAL, NULL);
		b->failed = true;
	} else if (nlh->nlmsg_type >= NLMSG_MIN_TYPE) {
		batch_apply(b, nlh);
	}
	j->left -= NLMSG_ALIGN(nlh->nlmsg_len) < j->left ?
		   NLMSG_ALIGN(nlh->nlmsg_len) : j->left;
	j->cur = (const struct nlmsghdr *)((const uint8_t *)nlh +
					   NLMSG_ALIGN(nlh->nlmsg_len));
}

/* One message outside a batch (or the opening of one).  false: the
 * job must wait (another batch is open). */
static bool outer_step(struct nl_job *j)
{
	const struct nlmsghdr *nlh = (const void *)(j->data + j->off);

	if (j->len - j->off < sizeof(*nlh) || nlh->nlmsg_len < sizeof(*nlh) ||
	    nlh->nlmsg_len > j->len - j->off) {
		j->done = true;		/* what the kernel ignores too */
		return true;
	}
	if (nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN &&
	    (nlh->nlmsg_flags & NLM_F_REQUEST)) {
		if (j->q.srv->batch_owner)
			return false;
		if (!batch_open(j, nlh, j->len - j->off))
			j->done = true;
		return true;
	}
	if ((nlh->nlmsg_flags & NLM_F_REQUEST) && nlh->nlmsg_type >= NLMSG_MIN_TYPE)
		handle_one(&j->q, nlh);
	j->off += NLMSG_ALIGN(nlh->nlmsg_len);
	if (j->off >= j->len)
		j->done = true;
	return true;
}

struct nl_job *nl_job_start(struct nl_server *srv, const uint8_t *data,
			    size_t len, unsigned opts, struct nl_out *out)
{
	struct nl_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->q = (struct req){ srv, out, opts };
	j->data = data;
	j->len = len;
	j->done = len < sizeof(struct nlmsghdr);
	return j;
}

bool nl_job_step(struct nl_job *j, unsigned budget)
{
	while (!j->done && budget-- > 0) {
		if (j->in_batch)
			batch_step(j);
		else if (!outer_step(j))
			break;		/* waits for the other batch */
	}
	return j->done;
}

/* Drop a job; an open batch is aborted (its client went away). */
void nl_job_free(struct nl_job *j)
{
	if (!j)
		return;
	if (j->in_batch) {
		j->batch_end = false;
		batch_finish(j);
	}
	free(j);
}

void nl_server_handle(struct nl_server *srv, const uint8_t *data, size_t len,
		      unsigned opts, struct nl_out *out)
{
	struct nl_job *j = nl_job_start(srv, data, len, opts, out);

	if (!j) {
		out->oom = true;
		return;
	}
	/* unbounded budget: false means another job's batch is open (a
	 * caller mixing both interfaces); this datagram is then dropped */
	nl_job_step(j, ~0u);
	nl_job_free(j);
}
