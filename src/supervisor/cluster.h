/*
 * cluster.h - `fragnet cluster create` and `fragnet cluster failover`:
 * the pure parts (cluster_plan.c), apart from the hiredis client
 * (cluster.c) so that the unit tests can link them alone.
 *
 *   cl_parse_args()    argv -> struct cl_opts (nodes, --replicas or
 *                      --masters, --timeout-ms)
 *   cl_parse_failover_args()  the same for `failover`: the node to take
 *                      over from, the nodes to ask, --timeout-ms
 *   cl_plan_make()     which node is a master of which slots, which a
 *                      replica of which master
 *   cl_nodes_parse()   one node's CLUSTER NODES reply, checked line by line
 *   cl_master_view()   in such a reply, the node at an address and the
 *                      replicas that may take over from it
 *   cl_info_field()    one field of an INFO or CLUSTER INFO reply
 *
 * Every reply comes from a node that may be broken or hostile: the parsers
 * take a length, never read past it, accept only what Redis writes, and
 * return -EBADMSG for anything else.
 */
#ifndef FRAGNET_CLUSTER_H
#define FRAGNET_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CL_SLOTS		16384	/* Redis Cluster's hash slots */
#define CL_MAX_NODES		256
#define CL_MAX_NODES_STR	"256"
#define CL_ID_LEN		40	/* a node id: 40 hex digits */
#define CL_DEFAULT_TIMEOUT_MS	30000
#define CL_MAX_TIMEOUT_MS	3600000
#define CL_IP_MAX		46	/* as INET6_ADDRSTRLEN */

/* `fragnet cluster failover`: the node was no master serving slots (a
 * replica, say, after an earlier failover), so there was nothing to take
 * over.  The other exit codes are sup.h's. */
#define CL_EXIT_NOT_MASTER	3

struct cl_addr {
	char ip[16];		/* dotted IPv4, as CLUSTER MEET takes it */
	uint16_t port;
};

struct cl_opts {
	unsigned n;
	struct cl_addr node[CL_MAX_NODES];
	unsigned replicas;	/* per master (--replicas) */
	unsigned masters;	/* resolved: --masters, else n / (replicas + 1) */
	unsigned timeout_ms;	/* the whole command */
};

/* Node i's part in the cluster: a master of [lo, hi], or a replica. */
struct cl_role {
	bool master;
	unsigned lo, hi;	/* masters: their slot range */
	unsigned of;		/* replicas: the index of their master */
};

struct cl_plan {
	unsigned n, masters;
	struct cl_role role[CL_MAX_NODES];
};

/* Flags of a CLUSTER NODES line that we act on. */
enum {
	CL_F_MYSELF	= 1 << 0,
	CL_F_MASTER	= 1 << 1,
	CL_F_SLAVE	= 1 << 2,
	CL_F_FAIL	= 1 << 3,	/* fail or fail? */
	CL_F_HANDSHAKE	= 1 << 4,
	CL_F_NOADDR	= 1 << 5,
	CL_F_NOFAILOVER	= 1 << 6,
};

struct cl_node_line {
	char id[CL_ID_LEN + 1];
	char ip[CL_IP_MAX];		/* "" for ":0" (noaddr, handshake) */
	unsigned port;			/* its client port */
	char master[CL_ID_LEN + 1];	/* "" for "-" */
	unsigned flags;
	unsigned nslots;		/* slots it serves */
	unsigned lo, hi;		/* lowest and highest of them */
};

/* argv after "create".  0, or -EINVAL with a message in err. */
int cl_parse_args(int argc, char **argv, struct cl_opts *o,
		  char *err, size_t errlen);

/* Parse "A.B.C.D:PORT".  0 or -EINVAL. */
int cl_parse_addr(const char *s, struct cl_addr *a);

/* The first `masters` nodes are masters with the slots split in order as
 * evenly as it goes; node masters + k replicates master k % masters.  0,
 * or -EINVAL unless 1 <= masters <= n. */
int cl_plan_make(struct cl_plan *p, unsigned n, unsigned masters);

/* Lines of a CLUSTER NODES reply into out (at most max).  The count, or
 * -EBADMSG (a line that is not one Redis writes, more than max lines). */
int cl_nodes_parse(const char *text, size_t len, struct cl_node_line *out,
		   unsigned max);

/* What one CLUSTER NODES reply says of the node at an address. */
struct cl_master_view {
	int self;			/* its line; -1: no node there */
	unsigned nreplicas;		/* with self a master serving slots */
	unsigned replica[CL_MAX_NODES];	/* lines of its replicas that may
					 * take over: not failed, not in
					 * handshake, with an address, not
					 * nofailover */
};

/* argv after "failover": node[0] the master to take over from, the rest
 * the nodes to ask (at least one).  0, or -EINVAL with a message in err. */
int cl_parse_failover_args(int argc, char **argv, struct cl_opts *o,
			   char *err, size_t errlen);

/* Of the n lines l, the node at a (in handshake or without an address:
 * not) and, if it is a master serving slots, its replicas that may take
 * over.  Where two lines share the address (a node that came back under
 * a new id), the one serving slots.  0 (v->self >= 0), -ENOENT (no node
 * there), or -EBADMSG (two masters serving slots at one address). */
int cl_master_view(const struct cl_node_line *l, unsigned n,
		   const struct cl_addr *a, struct cl_master_view *v);

/* The value of "name:value" in an INFO reply, into buf (NUL-terminated).
 * 0, -ENOENT (absent) or -EBADMSG (too long for buf). */
int cl_info_field(const char *text, size_t len, const char *name,
		  char *buf, size_t buflen);

#endif /* FRAGNET_CLUSTER_H */
