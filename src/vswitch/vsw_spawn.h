/*
 * vsw_spawn.h - start the fragnet-vswitch binary the way the supervisor
 * will (fragnet/vswitch.h, PROTOCOL step 2), for the programs that stand
 * where the supervisor and the stacks will be: the unit test of the
 * binary (tests/unit/test_vswitch.c) and the forwarding benchmark
 * (bench/vsw_load.c).  The supervisor has its own spawn.c.
 *
 * Call sequence: fill one struct fn_vsw_port_ent per port with
 * vsw_spawn_ent() (the conventional fd numbers of names.h), make the
 * table with fn_vsw_table_create(), then vsw_spawn() with the same
 * ports' real fds; wait for the pid as for any child.
 */
#ifndef FRAGNET_VSW_SPAWN_H
#define FRAGNET_VSW_SPAWN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "fragnet/stream.h"
#include "fragnet/vswitch.h"

/* The fds of one port, in the spawning process. */
struct vsw_spawn_port {
	int link_fd;		/* the link memfd (the switch is side A) */
	int bell_fd;		/* eventfd: the stack rings, the switch waits */
	int peer_bell_fd;	/* eventfd the switch rings, or -1: futex only */
};

/* Table entry i: fds at FN_FD_VSW_LINK(i), FN_FD_VSW_BELL(i) and, if
 * peer_bell, FN_FD_VSW_PEER_BELL(i) (else -1); MAC, address (network
 * order) and name "stack<i>". */
void vsw_spawn_ent(struct fn_vsw_port_ent *e, unsigned i, const uint8_t mac[6],
		   uint32_t ipv4, bool peer_bell);

/*
 * posix_spawn the binary at path with the table at FN_FD_VSW_TABLE, the
 * stats page at FN_FD_STATS (stats_fd -1: none), the capture region at
 * FN_FD_CAPTURE (capture_fd -1: none; capture.h), port i's fds at
 * FN_FD_VSW_LINK(i) and the two after it, and the environment of the
 * spawn contract (poll mode, log level "error", FRAGNET_CPU).  With
 * cpu >= 0 the child is pinned to it (right after the spawn, so its
 * first microseconds may run elsewhere).  The caller's fds stay open and
 * its own.  Returns the pid, or -errno.
 */
pid_t vsw_spawn(const char *path, int table_fd, int stats_fd, int capture_fd,
		const struct vsw_spawn_port *ports, unsigned n,
		enum fn_poll poll, int cpu);

#endif /* FRAGNET_VSW_SPAWN_H */
