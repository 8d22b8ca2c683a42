/*
 * test_cluster.c - unit tests of the pure half of `fragnet cluster create`
 * and `fragnet cluster failover` (src/supervisor/cluster_plan.c,
 * cluster.h): their arguments, the slot plan, the parsers of CLUSTER NODES
 * and INFO replies, and what a CLUSTER NODES reply says of a dead master,
 * fed what Redis 7 writes and what a broken or hostile node might.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cluster.h"

#define ID_A "07c37dfeb235213a872192d90877d0cd55635b91"
#define ID_B "e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca"
#define ID_C "292f8b365bb7edb5e285caf0b7e6ddc7265d2f4f"
#define ID_D "6ec23923021cf3ffec47632106199cb7f496ce01"
#define ID_E "824fe116063bc5fcf9f4ffd895bc17aee7731ac3"

static int parse(struct cl_opts *o, char *err, ...)
{
	char *argv[16];
	int argc = 0;
	va_list ap;

	argv[argc++] = (char *)"create";
	va_start(ap, err);
	while ((argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	return cl_parse_args(argc, argv, o, err, 256);
}

static void test_args(void **state)
{
	struct cl_opts *o = calloc(1, sizeof(*o));
	char err[256];

	(void)state;
	assert_int_equal(parse(o, err, "10.0.0.2:6379", "--replicas", "1",
			       "10.0.0.3:6380", "--timeout-ms", "500",
			       (char *)NULL), 0);
	assert_int_equal(o->n, 2);
	assert_string_equal(o->node[0].ip, "10.0.0.2");
	assert_int_equal(o->node[0].port, 6379);
	assert_int_equal(o->node[1].port, 6380);
	assert_int_equal(o->replicas, 1);
	assert_int_equal(o->masters, 1);
	assert_int_equal(o->timeout_ms, 500);

	assert_int_equal(parse(o, err, "10.0.0.2:1", "10.0.0.2:2", "10.0.0.2:3",
			       "--masters", "2", (char *)NULL), 0);
	assert_int_equal(o->masters, 2);
	assert_int_equal(parse(o, err, "10.0.0.2:1", "--masters", "2",
			       (char *)NULL), -EINVAL);
	assert_non_null(strstr(err, "only 1 nodes"));
	assert_int_equal(parse(o, err, "10.0.0.2:1", "--masters", "0",
			       (char *)NULL), -EINVAL);
	assert_int_equal(parse(o, err, "10.0.0.2:1", "10.0.0.2:2", "--masters",
			       "1", "--replicas", "1", (char *)NULL), -EINVAL);
	assert_non_null(strstr(err, "not both"));

	assert_int_equal(parse(o, err, "10.0.0.2:6379", (char *)NULL), 0);
	assert_int_equal(o->replicas, 0);
	assert_int_equal(o->masters, 1);
	assert_int_equal(o->timeout_ms, CL_DEFAULT_TIMEOUT_MS);

	assert_int_equal(parse(o, err, (char *)NULL), -EINVAL);
	assert_non_null(strstr(err, "no nodes"));
	assert_int_equal(parse(o, err, "localhost:6379", (char *)NULL),
			 -EINVAL);
	assert_non_null(strstr(err, "'localhost:6379'"));
	assert_int_equal(parse(o, err, "10.0.0.2", (char *)NULL), -EINVAL);
	assert_int_equal(parse(o, err, "10.0.0.2:0", (char *)NULL), -EINVAL);
	assert_int_equal(parse(o, err, "10.0.0.2:65536", (char *)NULL),
			 -EINVAL);
	assert_int_equal(parse(o, err, "10.0.0.2:+1", (char *)NULL), -EINVAL);
	assert_int_equal(parse(o, err, "10.0.0.2:1", "10.0.0.2:1",
			       (char *)NULL), -EINVAL);
	assert_non_null(strstr(err, "twice"));
	assert_int_equal(parse(o, err, "10.0.0.2:1", "--replicas", "1",
			       (char *)NULL), -EINVAL);
	assert_non_null(strstr(err, "at least 2 nodes"));
	assert_int_equal(parse(o, err, "10.0.0.2:1", "--replicas", "x",
			       (char *)NULL), -EINVAL);
	assert_int_equal(parse(o, err, "10.0.0.2:1", "--timeout-ms", "0",
			       (char *)NULL), -EINVAL);
	assert_int_equal(parse(o, err, "10.0.0.2:1", "--bogus", (char *)NULL),
			 -EINVAL);
	assert_non_null(strstr(err, "--bogus"));
	free(o);
}

static void test_plan(void **state)
{
	struct cl_plan *p = calloc(1, sizeof(*p));
	unsigned next;

	(void)state;
	assert_int_equal(cl_plan_make(p, 2, 2), 0);
	assert_int_equal(p->masters, 2);
	assert_true(p->role[0].master && p->role[1].master);
	assert_int_equal(p->role[0].lo, 0);
	assert_int_equal(p->role[0].hi, 8191);
	assert_int_equal(p->role[1].lo, 8192);
	assert_int_equal(p->role[1].hi, 16383);

	assert_int_equal(cl_plan_make(p, 2, 1), 0);
	assert_int_equal(p->masters, 1);
	assert_int_equal(p->role[0].hi, CL_SLOTS - 1);
	assert_false(p->role[1].master);
	assert_int_equal(p->role[1].of, 0);

	/* 7 nodes, 3 masters: the 7th a second replica of master 0 */
	assert_int_equal(cl_plan_make(p, 7, 3), 0);
	assert_int_equal(p->masters, 3);
	for (unsigned i = 3; i < 7; i++)
		assert_int_equal(p->role[i].of, (i - 3) % 3);
	/* every slot exactly once, for any count of masters */
	for (unsigned m = 1; m <= CL_MAX_NODES; m++) {
		assert_int_equal(cl_plan_make(p, m, m), 0);
		next = 0;
		for (unsigned i = 0; i < m; i++) {
			assert_int_equal(p->role[i].lo, next);
			assert_true(p->role[i].hi >= p->role[i].lo);
			next = p->role[i].hi + 1;
		}
		assert_int_equal(next, CL_SLOTS);
	}
	/* 4 nodes, 3 masters: one replica, of master 0 */
	assert_int_equal(cl_plan_make(p, 4, 3), 0);
	assert_false(p->role[3].master);
	assert_int_equal(p->role[3].of, 0);
	assert_int_equal(cl_plan_make(p, 1, 2), -EINVAL);
	assert_int_equal(cl_plan_make(p, 1, 0), -EINVAL);
	assert_int_equal(cl_plan_make(p, 0, 0), -EINVAL);
	assert_int_equal(cl_plan_make(p, CL_MAX_NODES + 1, 1), -EINVAL);
	free(p);
}

static int nodes(const char *text, struct cl_node_line *l, unsigned max)
{
	return cl_nodes_parse(text, strlen(text), l, max);
}

static void test_nodes(void **state)
{
	struct cl_node_line l[4];
	const char *ok =
		ID_A " 10.0.0.2:6379@16379 myself,master - 0 0 1 connected "
		"0-8191 [93-<-" ID_B "]\n"
		ID_B " 10.0.0.3:6379@16379,host3 slave " ID_A
		" 0 1426238317239 2 connected\r\n";

	(void)state;
	assert_int_equal(nodes(ok, l, 4), 2);
	assert_string_equal(l[0].id, ID_A);
	assert_int_equal(l[0].flags, CL_F_MYSELF | CL_F_MASTER);
	assert_string_equal(l[0].master, "");
	assert_string_equal(l[0].ip, "10.0.0.2");
	assert_int_equal(l[0].port, 6379);
	assert_string_equal(l[1].ip, "10.0.0.3");	/* ",host3" cut off */
	assert_int_equal(l[0].nslots, 8192);
	assert_int_equal(l[0].lo, 0);
	assert_int_equal(l[0].hi, 8191);
	assert_int_equal(l[1].flags, CL_F_SLAVE);
	assert_string_equal(l[1].master, ID_A);
	assert_int_equal(l[1].nslots, 0);
	assert_int_equal(nodes(ok, l, 1), -EBADMSG);	/* more than max */
	assert_int_equal(nodes("", l, 4), 0);

	assert_int_equal(nodes(ID_A " :0@0 handshake,noaddr - 0 0 0 "
			       "disconnected 5 7-9\n", l, 4), 1);
	assert_int_equal(l[0].flags, CL_F_HANDSHAKE | CL_F_NOADDR);
	assert_string_equal(l[0].ip, "");
	assert_int_equal(l[0].port, 0);
	assert_int_equal(l[0].nslots, 4);
	assert_int_equal(l[0].lo, 5);
	assert_int_equal(l[0].hi, 9);
	/* IPv6 without brackets, no cluster bus port (before 4.0) */
	assert_int_equal(nodes(ID_A " fe80::1:7000 master,nofailover - 0 0 0 "
			       "connected\n", l, 4), 1);
	assert_string_equal(l[0].ip, "fe80::1");
	assert_int_equal(l[0].port, 7000);
	assert_int_equal(l[0].flags, CL_F_MASTER | CL_F_NOFAILOVER);

	/* what a hostile node might send instead */
	static const char *const bad[] = {
		"xyz 10.0.0.2:6379@16379 master - 0 0 1 connected\n",
		ID_A " a master\n",
		ID_A " a mister - 0 0 1 connected\n",
		ID_A " a master nope 0 0 1 connected\n",
		ID_A " a master - 0 0 1 connected 16384\n",
		ID_A " a master - 0 0 1 connected 9-3\n",
		ID_A " a master - 0 0 1 connected 0-16383 0\n",
		ID_A " a master - 0 0 1 connected -5\n",
		ID_A " a master - 0 0 1 connected 5-\n",
		ID_A " a master - 0 0 1 connected [5\n",
		ID_A " a master - 0 0 1 connected 123456\n",
		/* the address field */
		ID_A " 10.0.0.2 master - 0 0 1 connected\n",
		ID_A " 10.0.0.2:@16379 master - 0 0 1 connected\n",
		ID_A " 10.0.0.2:65536@1 master - 0 0 1 connected\n",
		ID_A " 10.0.0.2:6379@ master - 0 0 1 connected\n",
		ID_A " 10.0.0.2:6379@99999 master - 0 0 1 connected\n",
		ID_A " 10.0.0.2:6x79@16379 master - 0 0 1 connected\n",
		ID_A " 10.0.0.2:-1@16379 master - 0 0 1 connected\n",
		ID_A " host.example:6379@16379 master - 0 0 1 connected\n",
		ID_A " 10.0.0.2/24:6379@1 master - 0 0 1 connected\n",
		ID_A " 1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:6379@1 "
		"master - 0 0 1 connected\n",
		ID_A " @16379:6379 master - 0 0 1 connected\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(nodes(bad[i], l, 4), -EBADMSG);
	/* a NUL inside a line */
	char nul[] = ID_A " a master - 0 0 1 connected 1\n";
	nul[50] = '\0';
	assert_int_equal(cl_nodes_parse(nul, sizeof(nul) - 1, l, 4), -EBADMSG);
}

/* A cluster of three masters, A (dead, at 10.0.0.2), C and D, and A's
 * replicas B (good), E (failed) and a nofailover one; the address of A is
 * looked up as the supervisor would. */
static const char view_ok[] =
	ID_A " 10.0.0.2:6379@16379 master,fail? - 1 0 1 disconnected 0-5460\n"
	ID_B " 10.0.0.5:6379@16379 myself,slave " ID_A " 0 0 1 connected\n"
	ID_C " 10.0.0.3:6379@16379 master - 0 0 2 connected 5461-10922\n"
	ID_D " 10.0.0.4:6379@16379 master - 0 0 3 connected 10923-16383\n"
	ID_E " 10.0.0.6:6379@16379 slave,fail " ID_A " 0 0 1 connected\n"
	"0000000000000000000000000000000000000001 10.0.0.7:6379@16379 "
	"slave,nofailover " ID_A " 0 0 1 connected\n"
	"0000000000000000000000000000000000000002 10.0.0.8:6379@16379 "
	"slave " ID_C " 0 0 2 connected\n";

static int view(const char *text, const char *addr,
		struct cl_master_view *v)
{
	struct cl_node_line l[8];
	struct cl_addr a;
	int n = cl_nodes_parse(text, strlen(text), l, 8);

	assert_true(n >= 0);
	assert_int_equal(cl_parse_addr(addr, &a), 0);
	return cl_master_view(l, (unsigned)n, &a, v);
}

static void test_master_view(void **state)
{
	struct cl_master_view *v = calloc(1, sizeof(*v));

	(void)state;
	assert_int_equal(view(view_ok, "10.0.0.2:6379", v), 0);
	assert_int_equal(v->self, 0);
	assert_int_equal(v->nreplicas, 1);	/* B; not E, not nofailover */
	assert_int_equal(v->replica[0], 1);

	assert_int_equal(view(view_ok, "10.0.0.3:6379", v), 0);
	assert_int_equal(v->self, 2);
	assert_int_equal(v->nreplicas, 1);
	assert_int_equal(v->replica[0], 6);
	/* a replica: its line, no replicas (the caller sees it is none) */
	assert_int_equal(view(view_ok, "10.0.0.5:6379", v), 0);
	assert_int_equal(v->self, 1);
	assert_int_equal(v->nreplicas, 0);
	/* nobody there, or there on another port */
	assert_int_equal(view(view_ok, "10.0.0.9:6379", v), -ENOENT);
	assert_int_equal(view(view_ok, "10.0.0.2:6380", v), -ENOENT);
	assert_int_equal(v->self, -1);

	/* A came back under a new id: the line serving slots is A's */
	assert_int_equal(view(ID_C " 10.0.0.2:6379@16379 slave,fail " ID_D
			      " 0 0 1 connected\n"
			      ID_A " 10.0.0.2:6379@16379 master - 0 0 1 "
			      "connected 0-99\n"
			      ID_B " 10.0.0.5:6379@16379 slave " ID_A " 0 0 1 "
			      "connected\n", "10.0.0.2:6379", v), 0);
	assert_int_equal(v->self, 1);
	assert_int_equal(v->nreplicas, 1);
	assert_int_equal(v->replica[0], 2);
	/* in handshake or without an address: not a node at that address */
	assert_int_equal(view(ID_A " 10.0.0.2:6379@16379 handshake - 0 0 0 "
			      "connected\n", "10.0.0.2:6379", v), -ENOENT);
	/* hostile: two masters with slots at one address */
	assert_int_equal(view(ID_A " 10.0.0.2:6379@16379 master - 0 0 1 "
			      "connected 0-99\n"
			      ID_C " 10.0.0.2:6379@16379 master - 0 0 2 "
			      "connected 100\n", "10.0.0.2:6379", v),
			 -EBADMSG);
	/* hostile: a master that claims to be its own replica, a replica
	 * of a master without slots */
	assert_int_equal(view(ID_A " 10.0.0.2:6379@16379 master,slave " ID_A
			      " 0 0 1 connected 0-99\n", "10.0.0.2:6379", v), 0);
	assert_int_equal(v->nreplicas, 0);
	assert_int_equal(view(ID_A " 10.0.0.2:6379@16379 master - 0 0 1 "
			      "connected\n"
			      ID_B " 10.0.0.5:6379@16379 slave " ID_A " 0 0 1 "
			      "connected\n", "10.0.0.2:6379", v), 0);
	assert_int_equal(v->nreplicas, 0);
	free(v);
}

static void test_failover_args(void **state)
{
	struct cl_opts *o = calloc(1, sizeof(*o));
	char err[256];
	char *ok[] = { "failover", "--timeout-ms", "900", "10.0.0.2:6379",
		       "10.0.0.3:6379", "10.0.0.4:6379", NULL };
	char *one[] = { "failover", "10.0.0.2:6379", NULL };
	char *repl[] = { "failover", "--replicas", "1", "10.0.0.2:6379",
			 "10.0.0.3:6379", NULL };
	char *twice[] = { "failover", "10.0.0.2:6379", "10.0.0.2:6379", NULL };

	(void)state;
	assert_int_equal(cl_parse_failover_args(6, ok, o, err, sizeof(err)), 0);
	assert_int_equal(o->n, 3);
	assert_string_equal(o->node[0].ip, "10.0.0.2");
	assert_int_equal(o->timeout_ms, 900);
	assert_int_equal(cl_parse_failover_args(2, one, o, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "at least one node"));
	assert_int_equal(cl_parse_failover_args(5, repl, o, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "--replicas"));
	assert_int_equal(cl_parse_failover_args(3, twice, o, err,
						sizeof(err)), -EINVAL);
	free(o);
}

static void test_info(void **state)
{
	const char *info = "# Cluster\r\ncluster_state:ok\r\n"
			   "cluster_slots_assigned:16384\r\ncluster_s:x\r\n";
	char v[8];

	(void)state;
	assert_int_equal(cl_info_field(info, strlen(info), "cluster_state", v,
				       sizeof(v)), 0);
	assert_string_equal(v, "ok");
	assert_int_equal(cl_info_field(info, strlen(info),
				       "cluster_slots_assigned", v, sizeof(v)),
			 0);
	assert_string_equal(v, "16384");
	assert_int_equal(cl_info_field(info, strlen(info), "cluster", v,
				       sizeof(v)), -ENOENT);
	assert_int_equal(cl_info_field(info, strlen(info),
				       "cluster_slots_assigned", v, 3),
			 -EBADMSG);
	/* a field cut off by the length is not read past it */
	assert_int_equal(cl_info_field(info, 12, "cluster_state", v,
				       sizeof(v)), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_nodes),
		cmocka_unit_test(test_master_view),
		cmocka_unit_test(test_failover_args),
		cmocka_unit_test(test_info),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
