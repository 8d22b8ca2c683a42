/*
 * cluster_plan.c - the pure half of `fragnet cluster create` and
 * `fragnet cluster failover` (cluster.h): their arguments, the slot plan,
 * the parsers of the two replies they read (CLUSTER NODES, INFO) and what
 * a CLUSTER NODES reply says of one master.  No I/O; called by cluster.c,
 * the unit test tests/unit/test_cluster.c and the fuzz target
 * tests/fuzz/fuzz_cluster_nodes.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"

#define CL_NODES_FIELDS	8	/* before the slots */

static int to_uint(const char *s, unsigned long max, unsigned *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

int cl_parse_addr(const char *s, struct cl_addr *a)
{
	const char *colon = strrchr(s, ':');
	struct in_addr in;
	unsigned port;
	size_t n;

	if (!colon)
		return -EINVAL;
	n = (size_t)(colon - s);
	if (n == 0 || n >= sizeof(a->ip))
		return -EINVAL;
	memcpy(a->ip, s, n);
	a->ip[n] = '\0';
	if (inet_pton(AF_INET, a->ip, &in) != 1)
		return -EINVAL;
	if (to_uint(colon + 1, 65535, &port) || port == 0)
		return -EINVAL;
	a->port = (uint16_t)port;
	return 0;
}

static int parse_fail(char *err, size_t errlen, const char *fmt,
		      const char *arg)
{
	snprintf(err, errlen, fmt, arg);
	return -EINVAL;
}

static int add_node(struct cl_opts *o, const char *arg, char *err,
		    size_t errlen)
{
	struct cl_addr *a = &o->node[o->n];

	if (o->n == CL_MAX_NODES)
		return parse_fail(err, errlen, "more than %s nodes",
				  CL_MAX_NODES_STR);
	if (cl_parse_addr(arg, a) < 0)
		return parse_fail(err, errlen, "'%s' is not IPV4:PORT (CLUSTER "
				  "MEET takes addresses, not names)", arg);
	for (unsigned i = 0; i < o->n; i++)
		if (strcmp(o->node[i].ip, a->ip) == 0 &&
		    o->node[i].port == a->port)
			return parse_fail(err, errlen, "node %s is given twice",
					  arg);
	o->n++;
	return 0;
}

/* o at its defaults, getopt_long at the first argument and quiet (its
 * errors are ours: common_opt's). */
static void opts_start(struct cl_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->timeout_ms = CL_DEFAULT_TIMEOUT_MS;
	optind = 1;
	opterr = 0;
}

/* What both commands take: --timeout-ms, and no unknown option. */
static int common_opt(int opt, struct cl_opts *o, char **argv, char *err,
		      size_t errlen)
{
	if (opt == 't' && (to_uint(optarg, CL_MAX_TIMEOUT_MS, &o->timeout_ms) ||
			   o->timeout_ms == 0))
		return parse_fail(err, errlen, "--timeout-ms '%s': 1..3600000",
				  optarg);
	if (opt == '?')
		return parse_fail(err, errlen, "unknown option '%s'",
				  argv[optind - 1]);
	return 0;
}

/* The operands after the options, each a node. */
static int add_nodes(int argc, char **argv, struct cl_opts *o, char *err,
		     size_t errlen)
{
	for (int i = optind; i < argc; i++)
		if (add_node(o, argv[i], err, errlen) < 0)
			return -EINVAL;
	return 0;
}

int cl_parse_args(int argc, char **argv, struct cl_opts *o, char *err,
		  size_t errlen)
{
	static const struct option longopts[] = {
		{ "replicas", required_argument, NULL, 'r' },
		{ "masters", required_argument, NULL, 'm' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	opts_start(o);
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt == 'r' && to_uint(optarg, CL_MAX_NODES, &o->replicas))
			return parse_fail(err, errlen, "--replicas '%s': a "
					  "number of replicas per master",
					  optarg);
		if (opt == 'm' && (to_uint(optarg, CL_MAX_NODES, &o->masters) ||
				   o->masters == 0))
			return parse_fail(err, errlen, "--masters '%s': a "
					  "number of masters, at least 1",
					  optarg);
		if (common_opt(opt, o, argv, err, errlen) < 0)
			return -EINVAL;
	}
	if (add_nodes(argc, argv, o, err, errlen) < 0)
		return -EINVAL;
	if (o->n == 0)
		return parse_fail(err, errlen, "no nodes%s", "");
	if (o->masters && o->replicas)
		return parse_fail(err, errlen, "give --replicas or --masters, "
				  "not both%s", "");
	if (o->masters > o->n) {
		snprintf(err, errlen, "--masters %u: only %u nodes",
			 o->masters, o->n);
		return -EINVAL;
	}
	if (o->n < o->replicas + 1) {
		snprintf(err, errlen, "--replicas %u needs at least %u nodes",
			 o->replicas, o->replicas + 1);
		return -EINVAL;
	}
	if (!o->masters)
		o->masters = o->n / (o->replicas + 1);
	return 0;
}

int cl_parse_failover_args(int argc, char **argv, struct cl_opts *o,
			   char *err, size_t errlen)
{
	static const struct option longopts[] = {
		{ "timeout-ms", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	opts_start(o);
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (common_opt(opt, o, argv, err, errlen) < 0)
			return -EINVAL;
	}
	if (add_nodes(argc, argv, o, err, errlen) < 0)
		return -EINVAL;
	if (o->n < 2)
		return parse_fail(err, errlen, "give the master's HOST:PORT, "
				  "then at least one node to ask%s", "");
	return 0;
}

int cl_plan_make(struct cl_plan *p, unsigned n, unsigned m)
{
	if (n == 0 || n > CL_MAX_NODES || m == 0 || m > n)
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	p->n = n;
	p->masters = m;
	for (unsigned i = 0; i < m; i++) {
		p->role[i].master = true;
		p->role[i].lo = i * CL_SLOTS / m;
		p->role[i].hi = (i + 1) * CL_SLOTS / m - 1;
	}
	for (unsigned i = m; i < n; i++)
		p->role[i].of = (i - m) % m;
	return 0;
}

/* ---- replies ------------------------------------------------------------- */

/* The next space-separated field of [*pos, end): its start and length. */
static size_t next_field(const char **pos, const char *end, const char **f)
{
	const char *s = *pos, *e;

	while (s < end && *s == ' ')
		s++;
	for (e = s; e < end && *e != ' '; e++)
		;
	*f = s;
	*pos = e;
	return (size_t)(e - s);
}

static bool is_hex_id(const char *f, size_t n)
{
	if (n != CL_ID_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((f[i] >= '0' && f[i] <= '9') ||
		      (f[i] >= 'a' && f[i] <= 'f')))
			return false;
	return true;
}

static bool field_is(const char *f, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(f, word, n) == 0;
}

static unsigned flag_of(const char *f, size_t n)
{
	static const struct { const char *name; unsigned flag; } tab[] = {
		{ "myself", CL_F_MYSELF }, { "master", CL_F_MASTER },
		{ "slave", CL_F_SLAVE }, { "fail", CL_F_FAIL },
		{ "fail?", CL_F_FAIL }, { "handshake", CL_F_HANDSHAKE },
		{ "noaddr", CL_F_NOADDR }, { "nofailover", CL_F_NOFAILOVER },
		{ "noflags", 0 },
	};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (field_is(f, n, tab[i].name))
			return tab[i].flag;
	return ~0u;	/* unknown */
}

static int parse_flags(const char *f, size_t n, unsigned *flags)
{
	const char *end = f + n;

	*flags = 0;
	while (f < end) {
		const char *c = memchr(f, ',', (size_t)(end - f));
		size_t k = c ? (size_t)(c - f) : (size_t)(end - f);
		unsigned fl = flag_of(f, k);

		if (fl == ~0u)
			return -EBADMSG;
		*flags |= fl;
		f += k + (c ? 1 : 0);
	}
	return 0;
}

/* A decimal number of exactly n characters (at most 5), up to max. */
static int dec_num(const char *f, size_t n, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (n == 0 || n > 5)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		if (f[i] < '0' || f[i] > '9')
			return -EBADMSG;
		v = v * 10 + (unsigned)(f[i] - '0');
	}
	if (v > max)
		return -EBADMSG;
	*out = v;
	return 0;
}

static int slot_num(const char *f, size_t n, unsigned *out)
{
	return dec_num(f, n, CL_SLOTS - 1, out);
}

static int port_num(const char *f, size_t n, unsigned *out)
{
	return dec_num(f, n, 65535, out);
}

static bool ip_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F') || c == '.' || c == ':';
}

/* The address field: "IP:PORT@CPORT" with an optional ",HOSTNAME" (Redis
 * 7; "IP:PORT" before 4.0).  The IP (IPv4 or IPv6, written without
 * brackets, so up to the last ':') may be empty: ":0@0" of a node
 * without an address.  The hostname is not ours to check. */
static int parse_addr(const char *f, size_t n, struct cl_node_line *l)
{
	const char *comma = memchr(f, ',', n), *at, *colon = NULL;
	unsigned cport;
	size_t iplen;

	if (comma)
		n = (size_t)(comma - f);
	at = memchr(f, '@', n);
	if (at && port_num(at + 1, n - (size_t)(at + 1 - f), &cport))
		return -EBADMSG;
	if (at)
		n = (size_t)(at - f);
	for (size_t i = 0; i < n; i++)
		if (f[i] == ':')
			colon = f + i;
	if (!colon || port_num(colon + 1, n - (size_t)(colon + 1 - f),
			       &l->port))
		return -EBADMSG;
	iplen = (size_t)(colon - f);
	if (iplen >= sizeof(l->ip))
		return -EBADMSG;
	for (size_t i = 0; i < iplen; i++)
		if (!ip_char(f[i]))
			return -EBADMSG;
	memcpy(l->ip, f, iplen);
	l->ip[iplen] = '\0';
	return 0;
}

/* One slot field: "N", "N-M", or a "[...]" migration note (ignored). */
static int parse_slot(const char *f, size_t n, struct cl_node_line *l)
{
	const char *dash;
	unsigned lo, hi;

	if (f[0] == '[')
		return f[n - 1] == ']' ? 0 : -EBADMSG;
	dash = memchr(f, '-', n);
	if (slot_num(f, dash ? (size_t)(dash - f) : n, &lo))
		return -EBADMSG;
	hi = lo;
	if (dash && slot_num(dash + 1, n - (size_t)(dash + 1 - f), &hi))
		return -EBADMSG;
	if (hi < lo || l->nslots + (hi - lo + 1) > CL_SLOTS)
		return -EBADMSG;
	if (l->nslots == 0 || lo < l->lo)
		l->lo = lo;
	if (l->nslots == 0 || hi > l->hi)
		l->hi = hi;
	l->nslots += hi - lo + 1;
	return 0;
}

static int parse_line(const char *s, const char *end, struct cl_node_line *l)
{
	const char *f[CL_NODES_FIELDS];
	size_t n[CL_NODES_FIELDS], k;
	const char *pos = s, *sf;

	memset(l, 0, sizeof(*l));
	for (int i = 0; i < CL_NODES_FIELDS; i++) {
		n[i] = next_field(&pos, end, &f[i]);
		if (n[i] == 0)
			return -EBADMSG;
	}
	if (!is_hex_id(f[0], n[0]) || parse_addr(f[1], n[1], l) ||
	    parse_flags(f[2], n[2], &l->flags))
		return -EBADMSG;
	memcpy(l->id, f[0], CL_ID_LEN);
	if (is_hex_id(f[3], n[3]))
		memcpy(l->master, f[3], CL_ID_LEN);
	else if (!field_is(f[3], n[3], "-"))
		return -EBADMSG;
	while ((k = next_field(&pos, end, &sf)) > 0)
		if (parse_slot(sf, k, l))
			return -EBADMSG;
	return 0;
}

int cl_nodes_parse(const char *text, size_t len, struct cl_node_line *out,
		   unsigned max)
{
	const char *s = text, *end = text + len;
	unsigned count = 0;

	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;

		if (e > s && e[-1] == '\r')
			e--;
		if (e > s) {
			if (count == max || memchr(s, '\0', (size_t)(e - s)))
				return -EBADMSG;
			if (parse_line(s, e, &out[count]))
				return -EBADMSG;
			count++;
		}
		s = nl ? nl + 1 : end;
	}
	return (int)count;
}

static bool serves_slots(const struct cl_node_line *l)
{
	return (l->flags & CL_F_MASTER) && l->nslots > 0;
}

/* May line r take over from master m? */
static bool may_take_over(const struct cl_node_line *r,
			  const struct cl_node_line *m)
{
	return r != m && (r->flags & CL_F_SLAVE) &&
	       strcmp(r->master, m->id) == 0 &&
	       !(r->flags & (CL_F_FAIL | CL_F_HANDSHAKE | CL_F_NOADDR |
			     CL_F_NOFAILOVER));
}

int cl_master_view(const struct cl_node_line *l, unsigned n,
		   const struct cl_addr *a, struct cl_master_view *v)
{
	v->self = -1;
	v->nreplicas = 0;
	for (unsigned i = 0; i < n && i < CL_MAX_NODES; i++) {
		if ((l[i].flags & (CL_F_HANDSHAKE | CL_F_NOADDR)) ||
		    l[i].port != a->port || strcmp(l[i].ip, a->ip) != 0)
			continue;
		if (v->self >= 0 && serves_slots(&l[v->self]) &&
		    serves_slots(&l[i]))
			return -EBADMSG;
		if (v->self < 0 || serves_slots(&l[i]))
			v->self = (int)i;
	}
	if (v->self < 0)
		return -ENOENT;
	if (!serves_slots(&l[v->self]))
		return 0;
	for (unsigned i = 0; i < n && i < CL_MAX_NODES; i++)
		if (may_take_over(&l[i], &l[v->self]))
			v->replica[v->nreplicas++] = i;
	return 0;
}

int cl_info_field(const char *text, size_t len, const char *name, char *buf,
		  size_t buflen)
{
	const char *s = text, *end = text + len;
	size_t nlen = strlen(name);

	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *e = nl ? nl : end;

		if (e > s && e[-1] == '\r')
			e--;
		if ((size_t)(e - s) > nlen && memcmp(s, name, nlen) == 0 &&
		    s[nlen] == ':') {
			size_t vlen = (size_t)(e - s) - nlen - 1;

			if (vlen >= buflen || memchr(s, '\0', (size_t)(e - s)))
				return -EBADMSG;
			memcpy(buf, s + nlen + 1, vlen);
			buf[vlen] = '\0';
			return 0;
		}
		s = nl ? nl + 1 : end;
	}
	return -ENOENT;
}
