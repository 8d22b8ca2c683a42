/*
 * vsw_spawn.c - start fragnet-vswitch as the supervisor will (see
 * vsw_spawn.h): for its unit test and its benchmark, not for the
 * supervisor, which has its own spawn.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fragnet/names.h"
#include "vsw_spawn.h"

#define PARK_MIN	100	/* above every fd of the spawn contract */
#define MAX_FDS		(3 + 3 * FN_VSW_MAX_PORTS)

void vsw_spawn_ent(struct fn_vsw_port_ent *e, unsigned i, const uint8_t mac[6],
		   uint32_t ipv4, bool peer_bell)
{
	memset(e, 0, sizeof(*e));
	e->link_fd = (int32_t)FN_FD_VSW_LINK(i);
	e->bell_fd = (int32_t)FN_FD_VSW_BELL(i);
	e->peer_bell_fd = peer_bell ? (int32_t)FN_FD_VSW_PEER_BELL(i) : -1;
	e->ipv4 = ipv4;
	memcpy(e->mac, mac, sizeof(e->mac));
	snprintf(e->name, sizeof(e->name), "stack%u", i);
}

/* The fd pairs to move: src parked at >= PARK_MIN (close-on-exec), so
 * that no dup2() target overwrites a source still to be moved (spawn.c
 * does the same).  Returns how many, or -errno with nothing left open. */
static int park_all(int table_fd, int stats_fd, int capture_fd,
		    const struct vsw_spawn_port *ports, unsigned n,
		    int *src, int *dst)
{
	int k = 0;

	src[k] = capture_fd;
	dst[k++] = FN_FD_CAPTURE;

	src[k] = table_fd;
	dst[k++] = FN_FD_VSW_TABLE;
	src[k] = stats_fd;
	dst[k++] = FN_FD_STATS;
	for (unsigned i = 0; i < n; i++) {
		const int fds[3] = { ports[i].link_fd, ports[i].bell_fd,
				     ports[i].peer_bell_fd };
		for (int j = 0; j < 3; j++) {
			src[k] = fds[j];
			dst[k++] = FN_FD_VSW_LINK(i) + j;
		}
	}
	for (int i = 0; i < k; i++) {
		if (src[i] < 0)
			continue;
		src[i] = fcntl(src[i], F_DUPFD_CLOEXEC, PARK_MIN);
		if (src[i] < 0) {
			int err = -errno;
			while (i-- > 0)
				if (src[i] >= 0)
					close(src[i]);
			return err;
		}
	}
	return k;
}

/* posix_spawn with the calling thread pinned to cpu, so that the child
 * starts pinned (it inherits the mask), then the thread's mask back. */
static int spawn_on(pid_t *pid, const char *path,
		    const posix_spawn_file_actions_t *fa, char **argv,
		    char **envp, int cpu)
{
	cpu_set_t saved, one;
	int err;

	if (cpu >= 0) {
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		if (sched_getaffinity(0, sizeof(saved), &saved) < 0 ||
		    sched_setaffinity(0, sizeof(one), &one) < 0)
			return -errno;
	}
	err = posix_spawn(pid, path, fa, NULL, argv, envp);
	if (cpu >= 0)
		sched_setaffinity(0, sizeof(saved), &saved);
	return -err;
}

pid_t vsw_spawn(const char *path, int table_fd, int stats_fd, int capture_fd,
		const struct vsw_spawn_port *ports, unsigned n,
		enum fn_poll poll, int cpu)
{
	char poll_env[48], cpu_env[32], cap_env[48];
	char *argv[] = { FN_VSW_PROG, NULL };
	char *envp[] = { FN_ENV_VSW_TABLE_FD "=9", FN_ENV_LOG_LEVEL "=error",
			 poll_env, cpu_env, NULL, NULL, NULL };
	unsigned ne = 4;
	int src[MAX_FDS], dst[MAX_FDS], k, err;
	posix_spawn_file_actions_t fa;
	pid_t pid = -1;

	if (n > FN_VSW_MAX_PORTS)
		return -EINVAL;
	snprintf(poll_env, sizeof(poll_env), "%s=%s", FN_ENV_POLL,
		 fn_poll_name(poll));
	if (cpu >= 0)
		snprintf(cpu_env, sizeof(cpu_env), "%s=%d", FN_ENV_CPU, cpu);
	else
		snprintf(cpu_env, sizeof(cpu_env), "%s=-", FN_ENV_CPU);
	snprintf(cap_env, sizeof(cap_env), "%s=%d", FN_ENV_CAPTURE_FD,
		 FN_FD_CAPTURE);
	if (stats_fd >= 0)
		envp[ne++] = FN_ENV_STATS_FD "=3";
	if (capture_fd >= 0)
		envp[ne++] = cap_env;
	k = park_all(table_fd, stats_fd, capture_fd, ports, n, src, dst);
	if (k < 0)
		return k;
	posix_spawn_file_actions_init(&fa);
	for (int i = 0; i < k; i++)
		if (src[i] >= 0)
			posix_spawn_file_actions_adddup2(&fa, src[i], dst[i]);
	err = spawn_on(&pid, path, &fa, argv, envp, cpu);
	posix_spawn_file_actions_destroy(&fa);
	for (int i = 0; i < k; i++)
		if (src[i] >= 0)
			close(src[i]);
	return err < 0 ? err : pid;
}
