/*
 * fuzz_cluster_nodes.c - libFuzzer entry point for the CLUSTER NODES
 * parser of `fragnet cluster create|failover` (cl_nodes_parse() and
 * cl_master_view() in src/supervisor/cluster_plan.c): the input is what a
 * broken or hostile node answered.  Its first byte picks the address
 * looked up as the dead master (10.0.0.<byte % 8>:6379), the rest is the
 * reply.
 *
 * Checks what cluster.c relies on: no read outside the input (ASan, the
 * input is copied to a buffer of its exact size, not NUL-terminated);
 * every parsed line has a 40-hex-digit id, a NUL-terminated ip, a port
 * and slots in range; a view's line has the address looked up, and each
 * of its replicas names it as master, is a replica, and is not itself.
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true
 *   ninja -C build-fuzz tests/fuzz/fuzz_cluster_nodes
 *   build-fuzz/tests/fuzz/fuzz_cluster_nodes /tmp/corpus \
 *       tests/fuzz/corpus/cluster_nodes
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"

#define MAX_LINES	16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(const struct cl_node_line *l)
{
	if (strlen(l->id) != CL_ID_LEN ||
	    strspn(l->id, "0123456789abcdef") != CL_ID_LEN)
		abort();
	if (memchr(l->ip, '\0', sizeof(l->ip)) == NULL || l->port > 65535)
		abort();
	if (l->master[0] && strlen(l->master) != CL_ID_LEN)
		abort();
	if (l->nslots > CL_SLOTS || (l->nslots &&
				     (l->lo > l->hi || l->hi >= CL_SLOTS)))
		abort();
}

static void check_view(const struct cl_node_line *l, unsigned n,
		       const struct cl_addr *a)
{
	static struct cl_master_view v;
	const struct cl_node_line *m;
	int ret = cl_master_view(l, n, a, &v);

	if (ret == -ENOENT || ret == -EBADMSG)
		return;
	if (ret != 0 || v.self < 0 || (unsigned)v.self >= n)
		abort();
	m = &l[v.self];
	if (strcmp(m->ip, a->ip) != 0 || m->port != a->port)
		abort();
	if (v.nreplicas && (!(m->flags & CL_F_MASTER) || !m->nslots))
		abort();
	for (unsigned k = 0; k < v.nreplicas; k++) {
		const struct cl_node_line *r = &l[v.replica[k]];

		if (v.replica[k] >= n || r == m || !(r->flags & CL_F_SLAVE) ||
		    strcmp(r->master, m->id) != 0 ||
		    (r->flags & (CL_F_FAIL | CL_F_NOFAILOVER)))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cl_node_line l[MAX_LINES];
	struct cl_addr a = { .port = 6379 };
	char *text;
	int n;

	if (size == 0)
		return 0;
	snprintf(a.ip, sizeof(a.ip), "10.0.0.%u", data[0] % 8u);
	text = malloc(size - 1 ? size - 1 : 1);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	n = cl_nodes_parse(text, size - 1, l, MAX_LINES);
	if ((n < 0 && n != -EBADMSG) || n > MAX_LINES)
		abort();
	for (int i = 0; i < n; i++)
		check_line(&l[i]);
	if (n > 0)
		check_view(l, (unsigned)n, &a);
	free(text);
	return 0;
}
