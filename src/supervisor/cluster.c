/*
 * cluster.c - `fragnet cluster create HOST:PORT... [--replicas R |
 * --masters M] [--timeout-ms T]`: make one Redis Cluster of redis-servers started with
 * --cluster-enabled yes, with hiredis.  `redis-cli --cluster create`
 * refuses fewer than three masters; two pipelines are a cluster too.
 * And `fragnet cluster failover MASTER NODE... [--timeout-ms T]`: have a
 * replica of a dead master take over (below, "Failover").
 *
 * Call sequence (every step bounded by the one deadline, T ms from the
 * start; progress and errors on stderr, each naming its node):
 *   nodes_reach()     connect to every node and PING it until it answers
 *                     (the supervisor runs us while the apps still start)
 *   node_inspect()    cluster_enabled, its id, what it knows (CLUSTER
 *                     NODES), its keys
 *   formed()          do the nodes already form one cluster with all the
 *                     slots?  Then nothing is changed (idempotent: the
 *                     supervisor's second `up`, apps restarted with their
 *                     nodes.conf).
 *   node_fresh()      else each node must be empty or a part of this very
 *                     plan (a run that was cut short is resumed)
 *   create()          CLUSTER SET-CONFIG-EPOCH, ADDSLOTSRANGE on the
 *                     masters, MEET from the first node, once all know
 *                     each other REPLICATE on the replicas
 *   wait_ok()         until every node reports cluster_state:ok, all
 *                     16384 slots assigned, every node known, and each
 *                     new replica's link to its master up
 *
 * Replies are checked for their type and parsed by cluster_plan.c, which
 * trusts none of them.  Exit 0 ok, 1 a node failed or time ran out, 2 usage.
 */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "sup.h"

#define CL_STEP_MS		1000	/* longest one command may take */
#define CL_POLL_MS		100	/* between two looks at the nodes */
#define CL_PROGRESS_MS		2000	/* between two "waiting" lines */

struct cl_node {
	const struct cl_addr *addr;
	redisContext *c;
	char id[CL_ID_LEN + 1];
	long long keys;
	int nlines;			/* of its CLUSTER NODES */
	struct cl_node_line *line;	/* CL_MAX_NODES of them */
	char why[160];			/* what it still lacks, for progress */
};

struct cl_run {
	struct cl_opts o;
	struct cl_plan plan;
	struct cl_node *node;
	uint64_t deadline_ns;
	uint64_t next_progress_ns;
};

static void cl_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void cl_say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("fragnet cluster: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int node_fail(const struct cl_node *n, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int node_fail(const struct cl_node *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "fragnet cluster: node %s:%u: ", n->addr->ip,
		n->addr->port);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return -1;
}

static uint64_t left_ms(const struct cl_run *r)
{
	uint64_t now = sup_now_ns();

	return now >= r->deadline_ns ? 0 : (r->deadline_ns - now) / 1000000;
}

static struct timeval step_tv(const struct cl_run *r)
{
	uint64_t ms = left_ms(r);

	if (ms > CL_STEP_MS)
		ms = CL_STEP_MS;
	if (ms == 0)
		ms = 1;
	return (struct timeval){ .tv_sec = (time_t)(ms / 1000),
				 .tv_usec = (suseconds_t)(ms % 1000) * 1000 };
}

static void node_close(struct cl_node *n)
{
	if (n->c)
		redisFree(n->c);
	n->c = NULL;
}

/* ---- commands ------------------------------------------------------------- */

/* Run a command on n (argv form); the reply, or NULL with n->why set and
 * the connection dropped (the next look reconnects). */
static redisReply *node_cmd(const struct cl_run *r, struct cl_node *n,
			    int argc, const char **argv)
{
	redisReply *rep;

	if (!n->c)
		return NULL;
	redisSetTimeout(n->c, step_tv(r));
	rep = redisCommandArgv(n->c, argc, argv, NULL);
	if (!rep) {
		snprintf(n->why, sizeof(n->why), "%s", n->c->errstr[0] ?
			 n->c->errstr : "no reply");
		node_close(n);
	}
	return rep;
}

/* A command whose reply must be a bulk or status string: its text. */
static redisReply *node_text(const struct cl_run *r, struct cl_node *n,
			     int argc, const char **argv)
{
	redisReply *rep = node_cmd(r, n, argc, argv);

	if (rep && rep->type != REDIS_REPLY_STRING &&
	    rep->type != REDIS_REPLY_STATUS) {
		snprintf(n->why, sizeof(n->why), "%s: %.120s", argv[0],
			 rep->type == REDIS_REPLY_ERROR ? rep->str :
			 "unexpected reply type");
		freeReplyObject(rep);
		return NULL;
	}
	return rep;
}

/* A command that must answer +OK (or the status `ok` names). */
static int node_ok(const struct cl_run *r, struct cl_node *n, int argc,
		   const char **argv)
{
	redisReply *rep = node_text(r, n, argc, argv);
	int ret = 0;

	if (!rep)
		return node_fail(n, "%s %s: %s", argv[0], argc > 1 ? argv[1] :
				 "", n->why);
	if (rep->type != REDIS_REPLY_STATUS || strcmp(rep->str, "OK") != 0)
		ret = node_fail(n, "%s %s: unexpected reply '%.80s'", argv[0],
				argc > 1 ? argv[1] : "", rep->str);
	freeReplyObject(rep);
	return ret;
}

static int node_info(const struct cl_run *r, struct cl_node *n,
		     const char *cmd, const char *section, const char *field,
		     char *buf, size_t len)
{
	const char *argv[] = { cmd, section };
	redisReply *rep = node_text(r, n, 2, argv);
	int ret;

	if (!rep)
		return -EIO;
	ret = cl_info_field(rep->str, rep->len, field, buf, len);
	if (ret < 0)
		snprintf(n->why, sizeof(n->why), "%s %s has no %s", cmd,
			 section, field);
	freeReplyObject(rep);
	return ret;
}

/* ---- reaching the nodes ---------------------------------------------------- */

static bool node_connect(const struct cl_run *r, struct cl_node *n)
{
	const char *ping[] = { "PING" };
	redisReply *rep;
	bool up;

	if (!n->c) {
		n->c = redisConnectWithTimeout(n->addr->ip, n->addr->port,
					       step_tv(r));
		if (!n->c || n->c->err) {
			snprintf(n->why, sizeof(n->why), "%s", n->c ?
				 n->c->errstr : "out of memory");
			node_close(n);
			return false;
		}
	}
	rep = node_cmd(r, n, 1, ping);
	if (!rep)
		return false;
	up = rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "PONG") == 0;
	if (!up)
		snprintf(n->why, sizeof(n->why), "PING: %.120s",
			 rep->type == REDIS_REPLY_ERROR ||
			 rep->type == REDIS_REPLY_STATUS ? rep->str :
			 "unexpected reply");
	freeReplyObject(rep);
	return up;
}

static void progress(struct cl_run *r, const char *what)
{
	uint64_t now = sup_now_ns();

	if (now < r->next_progress_ns)
		return;
	r->next_progress_ns = now + CL_PROGRESS_MS * 1000000ull;
	for (unsigned i = 0; i < r->o.n; i++)
		if (r->node[i].why[0])
			cl_say("%s: node %s:%u: %s", what, r->node[i].addr->ip,
			       r->node[i].addr->port, r->node[i].why);
}

static void nap(void)
{
	struct timespec ts = { 0, CL_POLL_MS * 1000000L };

	nanosleep(&ts, NULL);
}

/* Every node connected and answering PING, or -1 at the deadline. */
static int nodes_reach(struct cl_run *r)
{
	for (;;) {
		unsigned up = 0;

		for (unsigned i = 0; i < r->o.n; i++) {
			r->node[i].why[0] = '\0';
			up += node_connect(r, &r->node[i]);
		}
		if (up == r->o.n)
			return 0;
		if (left_ms(r) == 0)
			break;
		progress(r, "waiting to reach");
		nap();
	}
	for (unsigned i = 0; i < r->o.n; i++)
		if (r->node[i].why[0])
			node_fail(&r->node[i], "unreachable: %s",
				  r->node[i].why);
	return -1;
}

/* ---- what each node is ----------------------------------------------------- */

static int node_nodes(const struct cl_run *r, struct cl_node *n)
{
	const char *argv[] = { "CLUSTER", "NODES" };
	redisReply *rep = node_text(r, n, 2, argv);

	if (!rep)
		return -EIO;
	n->nlines = cl_nodes_parse(rep->str, rep->len, n->line, CL_MAX_NODES);
	if (n->nlines < 0)
		snprintf(n->why, sizeof(n->why), "CLUSTER NODES: a reply "
			 "that is not Redis's");
	freeReplyObject(rep);
	return n->nlines < 0 ? -EBADMSG : 0;
}

static int node_inspect(const struct cl_run *r, struct cl_node *n)
{
	const char *myid[] = { "CLUSTER", "MYID" }, *dbsize[] = { "DBSIZE" };
	char v[16];
	redisReply *rep;

	if (node_info(r, n, "INFO", "cluster", "cluster_enabled", v,
		      sizeof(v)) < 0)
		return node_fail(n, "%s", n->why);
	if (strcmp(v, "1") != 0)
		return node_fail(n, "cluster support is off: start it with "
				 "--cluster-enabled yes");
	rep = node_text(r, n, 2, myid);
	if (!rep)
		return node_fail(n, "%s", n->why);
	if (rep->len == CL_ID_LEN &&
	    strspn(rep->str, "0123456789abcdef") == CL_ID_LEN)
		memcpy(n->id, rep->str, CL_ID_LEN);
	freeReplyObject(rep);
	if (!n->id[0])
		return node_fail(n, "CLUSTER MYID: not a node id");
	rep = node_cmd(r, n, 1, dbsize);
	if (!rep || rep->type != REDIS_REPLY_INTEGER) {
		if (rep)
			freeReplyObject(rep);
		return node_fail(n, "DBSIZE: no number");
	}
	n->keys = rep->integer;
	freeReplyObject(rep);
	return node_nodes(r, n) < 0 ? node_fail(n, "%s", n->why) : 0;
}

/* The index of the node with this id among ours, or -1. */
static int node_index(const struct cl_run *r, const char *id)
{
	for (unsigned i = 0; i < r->o.n; i++)
		if (strcmp(r->node[i].id, id) == 0)
			return (int)i;
	return -1;
}

/* n's own line in its CLUSTER NODES. */
static const struct cl_node_line *self_line(const struct cl_node *n)
{
	for (int i = 0; i < n->nlines; i++)
		if (n->line[i].flags & CL_F_MYSELF)
			return &n->line[i];
	return NULL;
}

/* Does n know exactly our nodes, none in handshake, and all the slots? */
static bool node_formed(const struct cl_run *r, const struct cl_node *n)
{
	unsigned slots = 0;

	if (n->nlines != (int)r->o.n)
		return false;
	for (int i = 0; i < n->nlines; i++) {
		const struct cl_node_line *l = &n->line[i];

		if (node_index(r, l->id) < 0 ||
		    (l->flags & (CL_F_HANDSHAKE | CL_F_NOADDR)))
			return false;
		slots += l->nslots;
	}
	return slots == CL_SLOTS;
}

static bool formed(const struct cl_run *r)
{
	for (unsigned i = 0; i < r->o.n; i++)
		if (!node_formed(r, &r->node[i]))
			return false;
	return true;
}

/* Empty, or already a part of this plan: knows only our nodes, holds no
 * keys, and serves no slots or exactly its planned ones. */
static int node_fresh(const struct cl_run *r, const struct cl_node *n,
		      unsigned i)
{
	const struct cl_role *role = &r->plan.role[i];
	const struct cl_node_line *self = self_line(n);
	const char *fix = "CLUSTER RESET HARD it, or stop it and delete its "
			  "cluster config file (nodes.conf)";

	if (n->keys != 0)
		return node_fail(n, "not empty: it holds %lld keys; %s",
				 n->keys, fix);
	if (!self)
		return node_fail(n, "CLUSTER NODES has no 'myself' line");
	for (int k = 0; k < n->nlines; k++)
		if (node_index(r, n->line[k].id) < 0 &&
		    !(n->line[k].flags & CL_F_HANDSHAKE))
			return node_fail(n, "it knows node %s, which is not "
					 "in the list; %s", n->line[k].id,
					 fix);
	if (self->nslots && (!role->master || self->lo != role->lo ||
			     self->hi != role->hi ||
			     self->nslots != role->hi - role->lo + 1))
		return node_fail(n, "it serves %u slots (%u..%u) of another "
				 "plan; %s", self->nslots, self->lo, self->hi,
				 fix);
	return 0;
}

/* ---- creating it ------------------------------------------------------------ */

static bool knows(const struct cl_node *n, const char *id)
{
	for (int k = 0; k < n->nlines; k++)
		if (strcmp(n->line[k].id, id) == 0 &&
		    !(n->line[k].flags & CL_F_HANDSHAKE))
			return true;
	return false;
}

/* Distinct config epochs from the start spare the nodes the collision
 * resolution that would otherwise order them (as redis-cli does). */
static void set_epoch(const struct cl_run *r, struct cl_node *n, unsigned i)
{
	const char *argv[] = { "CLUSTER", "SET-CONFIG-EPOCH", NULL };
	char e[16];
	redisReply *rep;

	if (n->nlines != 1)
		return;		/* it knows others: too late, and harmless */
	snprintf(e, sizeof(e), "%u", i + 1);
	argv[2] = e;
	rep = node_cmd(r, n, 3, argv);
	if (rep)
		freeReplyObject(rep);	/* an error: its epoch is set */
}

static int add_slots(const struct cl_run *r, struct cl_node *n, unsigned i)
{
	const struct cl_role *role = &r->plan.role[i];
	const struct cl_node_line *self = self_line(n);
	const char *argv[] = { "CLUSTER", "ADDSLOTSRANGE", NULL, NULL };
	char lo[8], hi[8];

	if (!role->master || (self && self->nslots))
		return 0;
	snprintf(lo, sizeof(lo), "%u", role->lo);
	snprintf(hi, sizeof(hi), "%u", role->hi);
	argv[2] = lo;
	argv[3] = hi;
	cl_say("node %s:%u: master of slots %s-%s", n->addr->ip,
	       n->addr->port, lo, hi);
	return node_ok(r, n, 4, argv);
}

static int meet_all(const struct cl_run *r)
{
	struct cl_node *first = &r->node[0];
	const char *argv[] = { "CLUSTER", "MEET", NULL, NULL };
	char port[8];

	for (unsigned i = 1; i < r->o.n; i++) {
		if (knows(first, r->node[i].id))
			continue;
		snprintf(port, sizeof(port), "%u", r->node[i].addr->port);
		argv[2] = r->node[i].addr->ip;
		argv[3] = port;
		if (node_ok(r, first, 4, argv) < 0)
			return -1;
	}
	return 0;
}

/* Look at every node again; true when pred holds for all. */
static bool all_nodes(struct cl_run *r,
		      bool (*pred)(struct cl_run *, struct cl_node *, unsigned))
{
	unsigned good = 0;

	for (unsigned i = 0; i < r->o.n; i++) {
		struct cl_node *n = &r->node[i];

		n->why[0] = '\0';
		if (!node_connect(r, n))
			continue;
		good += pred(r, n, i);
	}
	return good == r->o.n;
}

/* Wait until pred holds on every node; -1 at the deadline. */
static int wait_for(struct cl_run *r, const char *what,
		    bool (*pred)(struct cl_run *, struct cl_node *, unsigned))
{
	r->next_progress_ns = sup_now_ns() + CL_PROGRESS_MS * 1000000ull;
	while (!all_nodes(r, pred)) {
		if (left_ms(r) == 0) {
			r->next_progress_ns = 0;
			progress(r, "timed out waiting for");
			cl_say("timed out after %u ms %s", r->o.timeout_ms,
			       what);
			return -1;
		}
		progress(r, what);
		nap();
	}
	return 0;
}

static bool knows_all(struct cl_run *r, struct cl_node *n, unsigned i)
{
	(void)i;
	if (node_nodes(r, n) < 0)
		return false;
	for (unsigned k = 0; k < r->o.n; k++) {
		if (!knows(n, r->node[k].id)) {
			snprintf(n->why, sizeof(n->why), "does not know "
				 "%s:%u yet", r->node[k].addr->ip,
				 r->node[k].addr->port);
			return false;
		}
	}
	return true;
}

static int replicate_all(const struct cl_run *r)
{
	const char *argv[] = { "CLUSTER", "REPLICATE", NULL };

	for (unsigned i = 0; i < r->o.n; i++) {
		struct cl_node *n = &r->node[i];
		const struct cl_node *m = &r->node[r->plan.role[i].of];
		const struct cl_node_line *self = self_line(n);

		if (r->plan.role[i].master ||
		    (self && strcmp(self->master, m->id) == 0))
			continue;
		cl_say("node %s:%u: replica of %s:%u", n->addr->ip,
		       n->addr->port, m->addr->ip, m->addr->port);
		argv[2] = m->id;
		if (node_ok(r, n, 3, argv) < 0)
			return -1;
	}
	return 0;
}

static int create(struct cl_run *r)
{
	for (unsigned i = 0; i < r->o.n; i++)
		if (node_fresh(r, &r->node[i], i) < 0)
			return -1;
	cl_say("creating a cluster of %u nodes: %u masters, %u replicas",
	       r->o.n, r->plan.masters, r->o.n - r->plan.masters);
	for (unsigned i = 0; i < r->o.n; i++)
		set_epoch(r, &r->node[i], i);
	for (unsigned i = 0; i < r->o.n; i++)
		if (add_slots(r, &r->node[i], i) < 0)
			return -1;
	if (meet_all(r) < 0 ||
	    wait_for(r, "the nodes to meet", knows_all) < 0)
		return -1;
	return replicate_all(r);
}

/* ---- waiting for ok ----------------------------------------------------------- */

static bool info_is(const struct cl_run *r, struct cl_node *n,
		    const char *section, const char *field, const char *want)
{
	char v[32];
	const char *cmd = strcmp(section, "cluster-info") == 0 ? "CLUSTER" :
			  "INFO";
	const char *sec = strcmp(section, "cluster-info") == 0 ? "INFO" :
			  section;

	if (node_info(r, n, cmd, sec, field, v, sizeof(v)) < 0)
		return false;
	if (strcmp(v, want) == 0)
		return true;
	snprintf(n->why, sizeof(n->why), "%s:%s", field, v);
	return false;
}

static bool cluster_ok(struct cl_run *r, struct cl_node *n, unsigned i)
{
	char nodes[16];

	(void)i;
	snprintf(nodes, sizeof(nodes), "%u", r->o.n);
	return info_is(r, n, "cluster-info", "cluster_state", "ok") &&
	       info_is(r, n, "cluster-info", "cluster_slots_assigned",
		       "16384") &&
	       info_is(r, n, "cluster-info", "cluster_known_nodes", nodes);
}

/* ... and a new replica has its master's data. */
static bool created_ok(struct cl_run *r, struct cl_node *n, unsigned i)
{
	if (!cluster_ok(r, n, i))
		return false;
	return r->plan.role[i].master ||
	       (info_is(r, n, "replication", "role", "slave") &&
		info_is(r, n, "replication", "master_link_status", "up"));
}

/* r->node for r->o's nodes, each with room for a CLUSTER NODES reply.
 * EXIT_OK, or EXIT_RUNTIME (out of memory); run_free() either way. */
static int run_alloc(struct cl_run *r)
{
	r->node = calloc(r->o.n, sizeof(*r->node));
	if (!r->node)
		goto err_oom;
	for (unsigned i = 0; i < r->o.n; i++) {
		r->node[i].addr = &r->o.node[i];
		r->node[i].line = calloc(CL_MAX_NODES,
					 sizeof(*r->node[i].line));
		if (!r->node[i].line)
			goto err_oom;
	}
	return EXIT_OK;
err_oom:
	fprintf(stderr, "fragnet cluster: out of memory\n");
	return EXIT_RUNTIME;
}

static void run_free(struct cl_run *r)
{
	for (unsigned i = 0; r->node && i < r->o.n; i++) {
		node_close(&r->node[i]);
		free(r->node[i].line);
	}
	free(r->node);
}

/* ---- failover ------------------------------------------------------------------ */

/*
 * `fragnet cluster failover MASTER NODE...`: the supervisor runs it when an
 * app of a cluster with replicas dies (failover.c), so that a replica
 * takes over at once instead of after Redis's failure detection (node
 * timeout to PFAIL, the masters' FAIL agreement, then the replica's
 * election delay of 500 ms + up to 500 ms + its rank in seconds).
 *
 *   fo_ask_one()   every NODE that answers: its CLUSTER NODES, what it
 *                  says of the node at MASTER's address (cl_master_view;
 *                  ids change when a node comes back without its nodes
 *                  file, addresses do not)
 *   fo_pick()      of the replicas they name that are among the NODEs and
 *                  say so themselves (their own "myself,slave" line with
 *                  that master), the one with the largest replication
 *                  offset: the one with the most of the master's writes
 *   fo_force()     CLUSTER FAILOVER FORCE to it, then poll INFO
 *                  replication until it says role:master
 *
 * FORCE, not TAKEOVER: FORCE skips only the handshake with the master
 * (which is dead) and still runs an election, in which the other masters
 * vote (their FORCEACK vote does not need the master flagged FAIL), so a
 * replica cut off from the majority cannot grab the slots.  TAKEOVER
 * would bump the epoch with no vote at all, and could race an election
 * Redis started itself.  A manual failover lapses after 5 s
 * (CLUSTER_MF_TIMEOUT in Redis's cluster.c), so FORCE is sent again every
 * CL_MF_RETRY_MS while time remains; if none wins, Redis's own failure
 * detection still may.  Exit 0 taken over, CL_EXIT_NOT_MASTER nothing to
 * take over, 1 failed, 2 usage.
 */

#define CL_FO_POLL_MS		5	/* between two looks at the role */
#define CL_MF_RETRY_MS		5000	/* Redis's CLUSTER_MF_TIMEOUT */

struct cl_fo {
	char master[CL_ID_LEN + 1];	/* the dead master's id */
	bool not_master;		/* a node knows it, but as no master */
	bool cand[CL_MAX_NODES];	/* node i is named as its replica */
	struct cl_master_view v;
};

static bool addr_eq(const struct cl_addr *a, const struct cl_node_line *l)
{
	return a->port == l->port && strcmp(a->ip, l->ip) == 0;
}

/* What node i says of the master, into fo: its id (the first answer's),
 * which NODEs it names as replicas that may take over. */
static void fo_ask_one(struct cl_run *r, struct cl_fo *fo, unsigned i)
{
	struct cl_node *n = &r->node[i];
	const struct cl_node_line *m;

	n->why[0] = '\0';
	if (!node_connect(r, n) || node_nodes(r, n) < 0) {
		cl_say("node %s:%u: %s", n->addr->ip, n->addr->port, n->why);
		n->nlines = 0;
		return;
	}
	if (cl_master_view(n->line, (unsigned)n->nlines, &r->o.node[0],
			   &fo->v) == -EBADMSG) {
		cl_say("node %s:%u: two masters at %s:%u?", n->addr->ip,
		       n->addr->port, r->o.node[0].ip, r->o.node[0].port);
		return;
	}
	if (fo->v.self < 0)
		return;
	m = &n->line[fo->v.self];
	if (!(m->flags & CL_F_MASTER) || !m->nslots) {
		fo->not_master = true;
		return;
	}
	if (!fo->master[0])
		memcpy(fo->master, m->id, sizeof(fo->master));
	else if (strcmp(fo->master, m->id) != 0)
		return;		/* the first answer's master is the one */
	for (unsigned k = 0; k < fo->v.nreplicas; k++)
		for (unsigned j = 1; j < r->o.n; j++)
			if (addr_eq(&r->o.node[j], &n->line[fo->v.replica[k]]))
				fo->cand[j] = true;
}

/* Node i's replication offset if it says it replicates the master, or
 * -1. */
static long long fo_offset(struct cl_run *r, const struct cl_fo *fo,
			   unsigned i)
{
	struct cl_node *n = &r->node[i];
	const struct cl_node_line *self = self_line(n);
	char v[24], *end;
	long long off;

	if (!self || !(self->flags & CL_F_SLAVE) ||
	    strcmp(self->master, fo->master) != 0) {
		cl_say("node %s:%u: named as a replica, but does not say so",
		       n->addr->ip, n->addr->port);
		return -1;
	}
	if (node_info(r, n, "INFO", "replication", "slave_repl_offset", v,
		      sizeof(v)) < 0)
		return 0;	/* never synced: the last choice */
	errno = 0;
	off = strtoll(v, &end, 10);
	return errno || *end || off < 0 ? 0 : off;
}

/* The replica to ask, or -1. */
static int fo_pick(struct cl_run *r, const struct cl_fo *fo)
{
	long long best_off = -1;
	int best = -1;

	for (unsigned i = 1; i < r->o.n; i++) {
		long long off;

		if (!fo->cand[i])
			continue;
		off = fo_offset(r, fo, i);
		if (off > best_off) {
			best_off = off;
			best = (int)i;
		}
	}
	return best;
}

static int fo_send_force(const struct cl_run *r, struct cl_node *n)
{
	const char *argv[] = { "CLUSTER", "FAILOVER", "FORCE" };
	redisReply *rep = node_cmd(r, n, 3, argv);
	int ret = 0;

	if (!rep)
		return node_fail(n, "CLUSTER FAILOVER FORCE: %s", n->why);
	/* "You should send CLUSTER FAILOVER to a replica": it is a master
	 * already (Redis's own election won); the role says so next. */
	if (rep->type == REDIS_REPLY_ERROR &&
	    strstr(rep->str, "to a replica") == NULL)
		ret = node_fail(n, "CLUSTER FAILOVER FORCE: %.120s", rep->str);
	else if (rep->type != REDIS_REPLY_STATUS &&
		 rep->type != REDIS_REPLY_ERROR)
		ret = node_fail(n, "CLUSTER FAILOVER FORCE: unexpected reply");
	freeReplyObject(rep);
	return ret;
}

static void nap_ms(unsigned ms)
{
	struct timespec ts = { 0, (long)ms * 1000000L };

	nanosleep(&ts, NULL);
}

/* FORCE, then wait for role:master, FORCE again when a manual failover
 * has lapsed.  0 or -1. */
static int fo_force(struct cl_run *r, struct cl_node *n)
{
	uint64_t sent = 0;

	for (;;) {
		uint64_t now = sup_now_ns();

		if (!n->c)
			node_connect(r, n);	/* dropped on an error */
		if (n->c && (!sent ||
			     now - sent >= CL_MF_RETRY_MS * 1000000ull)) {
			if (fo_send_force(r, n) < 0)
				return -1;
			sent = now;
		}
		if (n->c && info_is(r, n, "replication", "role", "master"))
			return 0;
		if (left_ms(r) == 0)
			return node_fail(n, "not master after %u ms%s%s",
					 r->o.timeout_ms, n->why[0] ? ": " : "",
					 n->why);
		nap_ms(CL_FO_POLL_MS);
	}
}

static int cluster_failover(struct cl_run *r, struct cl_fo *fo)
{
	const struct cl_addr *dead = &r->o.node[0];
	uint64_t t0 = sup_now_ns();
	int best;

	for (unsigned i = 1; i < r->o.n; i++)
		fo_ask_one(r, fo, i);
	if (!fo->master[0] && fo->not_master) {
		cl_say("%s:%u is no master serving slots: nothing to take "
		       "over", dead->ip, dead->port);
		return CL_EXIT_NOT_MASTER;
	}
	if (!fo->master[0]) {
		cl_say("no node answered with a master at %s:%u", dead->ip,
		       dead->port);
		return EXIT_RUNTIME;
	}
	best = fo_pick(r, fo);
	if (best < 0) {
		cl_say("master %s:%u has no replica among the nodes that may "
		       "take over", dead->ip, dead->port);
		return EXIT_RUNTIME;
	}
	cl_say("asking %s:%u (replica of %s:%u) to take over, %llu ms after "
	       "the start", r->o.node[best].ip, r->o.node[best].port, dead->ip,
	       dead->port, (unsigned long long)((sup_now_ns() - t0) / 1000000));
	if (fo_force(r, &r->node[best]) < 0)
		return EXIT_RUNTIME;
	cl_say("asked %s:%u (replica of %s:%u) to take over: ok in %llu ms",
	       r->o.node[best].ip, r->o.node[best].port, dead->ip, dead->port,
	       (unsigned long long)((sup_now_ns() - t0) / 1000000));
	return EXIT_OK;
}

static int cmd_cluster_failover(int argc, char **argv)
{
	struct cl_run *r = calloc(1, sizeof(*r));
	struct cl_fo *fo = calloc(1, sizeof(*fo));
	char err[256];
	int ret = EXIT_RUNTIME;

	if (!r || !fo)
		goto out;
	if (cl_parse_failover_args(argc, argv, &r->o, err, sizeof(err)) < 0) {
		fprintf(stderr, "fragnet cluster failover: %s\n", err);
		cmd_usage("cluster");
		ret = EXIT_USAGE;
		goto out;
	}
	ret = run_alloc(r);
	if (ret == EXIT_OK) {
		r->deadline_ns = sup_now_ns() + r->o.timeout_ms * 1000000ull;
		ret = cluster_failover(r, fo);
	}
	run_free(r);
out:
	if (!r || !fo)
		fprintf(stderr, "fragnet cluster: out of memory\n");
	free(fo);
	free(r);
	return ret;
}

/* ---- the command ------------------------------------------------------------- */

/* Two addresses of one server would make a cluster of fewer nodes. */
static int ids_distinct(const struct cl_run *r)
{
	for (unsigned i = 0; i < r->o.n; i++)
		for (unsigned k = 0; k < i; k++)
			if (strcmp(r->node[i].id, r->node[k].id) == 0)
				return node_fail(&r->node[i], "has the same "
						 "id as %s:%u: is it the same "
						 "server?", r->node[k].addr->ip,
						 r->node[k].addr->port);
	return 0;
}

static int cluster_create(struct cl_run *r)
{
	bool exists;

	if (nodes_reach(r) < 0)
		return EXIT_RUNTIME;
	for (unsigned i = 0; i < r->o.n; i++)
		if (node_inspect(r, &r->node[i]) < 0)
			return EXIT_RUNTIME;
	if (ids_distinct(r) < 0)
		return EXIT_RUNTIME;
	exists = formed(r);
	if (exists)
		cl_say("the %u nodes already form a cluster; not changing it",
		       r->o.n);
	else if (create(r) < 0)
		return EXIT_RUNTIME;
	if (wait_for(r, "cluster_state:ok on every node",
		     exists ? cluster_ok : created_ok) < 0)
		return EXIT_RUNTIME;
	printf("cluster ok: %u nodes, %u masters, %u slots%s\n", r->o.n,
	       r->plan.masters, CL_SLOTS, exists ? " (it existed)" : "");
	return EXIT_OK;
}

static int cmd_cluster_create(int argc, char **argv)
{
	struct cl_run *r = calloc(1, sizeof(*r));
	char err[256];
	int ret = EXIT_RUNTIME;

	if (!r)
		goto out;
	if (cl_parse_args(argc, argv, &r->o, err, sizeof(err)) < 0) {
		fprintf(stderr, "fragnet cluster create: %s\n", err);
		cmd_usage("cluster");
		ret = EXIT_USAGE;
		goto out;
	}
	cl_plan_make(&r->plan, r->o.n, r->o.masters);
	ret = run_alloc(r);
	if (ret == EXIT_OK) {
		r->deadline_ns = sup_now_ns() + r->o.timeout_ms * 1000000ull;
		ret = cluster_create(r);
	}
	run_free(r);
out:
	if (!r)
		fprintf(stderr, "fragnet cluster: out of memory\n");
	free(r);
	return ret;
}

/* `fragnet cluster create|failover ...`, a table as main.c's. */
int cmd_cluster(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} sub[] = {
		{ "create", cmd_cluster_create },
		{ "failover", cmd_cluster_failover },
	};

	for (size_t i = 0; argc >= 2 && i < sizeof(sub) / sizeof(sub[0]); i++)
		if (strcmp(argv[1], sub[i].name) == 0)
			return sub[i].fn(argc - 1, argv + 1);
	cmd_usage("cluster");
	return EXIT_USAGE;
}

void cluster_help(void)
{
	printf("\n  create: makes one Redis Cluster of redis-servers started "
	       "with\n  --cluster-enabled yes: checks that each is reachable, "
	       "cluster-enabled\n  and empty, splits the 16384 slots over "
	       "the masters (the first N / (R + 1)\n  nodes), makes the rest "
	       "replicas, and waits until every node reports\n  "
	       "cluster_state:ok.  Nodes that already form this cluster "
	       "are left as they\n  are.\n\n"
	       "  HOST:PORT          an IPv4 address and port of a node\n"
	       "  --replicas R       replicas per master (default 0)\n"
	       "  --masters M        M masters, the other nodes replicas "
	       "(instead of --replicas;\n                     Redis fails "
	       "a master over only with a majority of masters)\n"
	       "  --timeout-ms T     give up after T ms (default %d)\n",
	       CL_DEFAULT_TIMEOUT_MS);
	printf("\n  failover: MASTER (HOST:PORT) is dead.  Asks the NODEs "
	       "(HOST:PORT) what it\n  was; if a master serving slots, "
	       "sends CLUSTER FAILOVER FORCE to the one of\n  its replicas "
	       "among the NODEs with the largest replication offset (an\n"
	       "  election the other masters vote in, without waiting for the "
	       "node timeout)\n  and waits until it reports role:master, "
	       "sending FORCE again every 5 s.\n  Exit 0 taken over, %d "
	       "MASTER was no master (nothing to do), 1 failed\n  (each "
	       "error names its node), 2 usage.  The supervisor runs it when "
	       "an app of\n  a [cluster] with replicas dies.\n",
	       CL_EXIT_NOT_MASTER);
}
