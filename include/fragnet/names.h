/*
 * fragnet/names.h - every name that crosses a process boundary.
 *
 * The supervisor spawns each component with a fixed environment and a fixed
 * set of file descriptors (its capabilities).  This header is the one place
 * that names them; nothing else in the tree spells these strings or numbers.
 *
 * Spawn contract (supervisor -> component):
 *
 *   fd                        env var giving it         who gets it
 *   ------------------------  ------------------------  --------------------
 *   FN_FD_STATS        (3)    FRAGNET_STATS_FD          every component
 *   FN_FD_LINK         (4)    FRAGNET_LINK_FD           driver, stack
 *   FN_FD_CONTROL      (5)    FRAGNET_CONTROL_FD        stack (listening)
 *   FN_FD_SOCKCHAN     (6)    FRAGNET_SOCKCHAN_FD       stack (side B), app (A)
 *   FN_FD_STACK_BELL   (7)    FRAGNET_STACK_BELL_FD     stack waits on it;
 *                                                       driver, app ring it
 *   FN_FD_APP_BELL     (8)    FRAGNET_APP_BELL_FD       app waits on it;
 *                                                       stack rings it
 *   FN_FD_DRIVER_BELL  (9)    FRAGNET_DRIVER_BELL_FD    driver waits on it;
 *                                                       stack rings it
 *   FN_FD_CAPTURE      (11)   FRAGNET_CAPTURE_FD        stack, vswitch: its
 *                                                       capture region
 *                                                       (capture.h)
 *
 *   The bells are eventfds (ring.h, DOORBELLS): a stack waits for its link,
 *   its app and its control socket in one poll(); an app in its own; a
 *   driver for its link, its NIC queue and its broadcast ring in its own
 *   epoll (docs/driver.md, "Poll modes").  Whoever is given a bell to ring
 *   must ring it: a driver with FN_FD_DRIVER_BELL sleeps without a timeout.
 *
 *   A vswitch (fragnet/vswitch.h) gets the stats page, its sealed port
 *   table at FN_FD_VSW_TABLE (9, FRAGNET_VSW_TABLE_FD; a driver's 9 is its
 *   bell: the numbers are per role), its capture region at FN_FD_CAPTURE
 *   (11, as a stack's; mapped before it confines itself), and three fds
 *   per port i from
 *   FN_FD_VSW_PORT_BASE (16): link, its own bell, the stack's bell (a host
 *   port: its tap at the link's number, no bells).  They stay below the
 *   supervisor's parking range (64 and up).
 *
 *   A stack gets its capture region (capture.h) at FN_FD_CAPTURE (11,
 *   FRAGNET_CAPTURE_FD): mapped read-write, before it confines itself.
 *
 *   A stack on internal networks gets its attachment table (vswitch.h)
 *   at FN_FD_STACK_NETS (10, FRAGNET_STACK_NETS_FD) and two fds per
 *   attachment j from FN_FD_STACK_NET_BASE (16): its port's link (side B)
 *   and its port's bell.
 *
 *   FRAGNET_COMPONENT   role name: "nic", "driver", "stack", "app",
 *                       "vswitch"
 *   FRAGNET_PIPELINE    pipeline index, decimal ("-" for the nic); a
 *                       vswitch's is its network's index
 *   FRAGNET_CONFIG      absolute path of the topology file (not for apps)
 *   FRAGNET_RUN_DIR     the topology's run directory (not for apps)
 *   FRAGNET_POLL        "busy" | "adaptive" | "event"
 *   FRAGNET_CPU         the cpu the component was pinned to, or "-"
 *   FRAGNET_LOG_LEVEL   "error" | "warn" | "info" | "debug"
 *   FRAGNET_CONFINE     stack and vswitch: "UID:GID", the service
 *                       user to become when it confines itself, or "off"
 *                       ([stack] confine = no); fragnet/confine.h.
 *                       driver: "UID:GID" of FN_DPDK_USER, to become
 *                       once EAL has joined; nic: the same, whose group
 *                       it gives the DPDK files drivers open later
 *
 *   `fragnet metrics-serve` ([topology] metrics; not a component: no
 *   stats page, no pipeline) gets the listening TCP socket at
 *   FN_FD_METRICS_LISTEN (3, FRAGNET_METRICS_LISTEN_FD) and its end of
 *   the metrics channel (ctl.h, THE METRICS CHANNEL) at FN_FD_METRICS_CHAN
 *   (4, FRAGNET_METRICS_CHAN_FD); FRAGNET_COMPONENT "metrics",
 *   FRAGNET_LOG_LEVEL, and FRAGNET_CONFINE the uid and gid of
 *   FN_CONFINE_USER (confine.h), which it must become.
 *
 * Every other fd is closed before exec.  A component reads the fd numbers
 * from the environment (fn_env_fd(), fragnet/env.h), so that an app whose
 * own code wants low fds can be given high ones later without changing
 * this contract.
 *
 * Other environment variables (not set by the supervisor for a component):
 *
 *   variable                     set by             read by
 *   ---------------------------  -----------------  ------------------------
 *   FRAGNET_NFT_CONTROL          `fragnet nft`      libfragnet-netlink.so in
 *                                                   nft: the stack's control
 *                                                   socket (nlctl.h)
 *   FRAGNET_NETLINK_RECORD       a developer        libfragnet-netlink.so:
 *                                                   keep each datagram nft
 *                                                   sends in this directory
 *   FRAGNET_PRELOAD_PASSTHROUGH  a user or a test   libfragnet-preload.so:
 *                                                   non-empty and not "0":
 *                                                   use the kernel's stack
 *
 * Paths outside the run directory: FN_LOG_DIR (the supervisor's and its
 * components' log with `up -d`).  DPDK's objects (EAL file prefix and
 * runtime directory, pool, rings, the nic's ready file) are named in
 * dpdk.h, the contract they belong to.
 */
#ifndef FRAGNET_NAMES_H
#define FRAGNET_NAMES_H

#define FN_ENV_COMPONENT	"FRAGNET_COMPONENT"
#define FN_ENV_PIPELINE		"FRAGNET_PIPELINE"
#define FN_ENV_CONFIG		"FRAGNET_CONFIG"
#define FN_ENV_RUN_DIR		"FRAGNET_RUN_DIR"
#define FN_ENV_POLL		"FRAGNET_POLL"
#define FN_ENV_CPU		"FRAGNET_CPU"
/* A driver's: the cpu its stack is pinned to, or "-" (its idle policy
 * differs beside the stack and apart from it, docs/driver.md). */
#define FN_ENV_STACK_CPU	"FRAGNET_STACK_CPU"
#define FN_ENV_LOG_LEVEL	"FRAGNET_LOG_LEVEL"
#define FN_ENV_STATS_FD		"FRAGNET_STATS_FD"
#define FN_ENV_LINK_FD		"FRAGNET_LINK_FD"
#define FN_ENV_CONTROL_FD	"FRAGNET_CONTROL_FD"
#define FN_ENV_SOCKCHAN_FD	"FRAGNET_SOCKCHAN_FD"
#define FN_ENV_STACK_BELL_FD	"FRAGNET_STACK_BELL_FD"
#define FN_ENV_APP_BELL_FD	"FRAGNET_APP_BELL_FD"
#define FN_ENV_DRIVER_BELL_FD	"FRAGNET_DRIVER_BELL_FD"
#define FN_ENV_CAPTURE_FD	"FRAGNET_CAPTURE_FD"
/* "UID:GID" to become, or "off" (fragnet/confine.h). */
#define FN_ENV_CONFINE		"FRAGNET_CONFINE"

#define FN_ENV_NFT_CONTROL	"FRAGNET_NFT_CONTROL"
#define FN_ENV_NETLINK_RECORD	"FRAGNET_NETLINK_RECORD"
#define FN_ENV_PRELOAD_PASSTHROUGH "FRAGNET_PRELOAD_PASSTHROUGH"

#define FN_FD_STATS		3
#define FN_FD_LINK		4
#define FN_FD_CONTROL		5
#define FN_FD_SOCKCHAN		6
#define FN_FD_STACK_BELL	7
#define FN_FD_APP_BELL		8
#define FN_FD_DRIVER_BELL	9
#define FN_FD_CAPTURE		11	/* a stack's or a vswitch's capture
					 * region */

/* `fragnet metrics-serve`: the HTTP side of [topology] metrics. */
#define FN_METRICS_COMPONENT	"metrics"
#define FN_METRICS_SUBCOMMAND	"metrics-serve"
#define FN_ENV_METRICS_LISTEN_FD "FRAGNET_METRICS_LISTEN_FD"
#define FN_ENV_METRICS_CHAN_FD	"FRAGNET_METRICS_CHAN_FD"
#define FN_FD_METRICS_LISTEN	3
#define FN_FD_METRICS_CHAN	4

/* The vswitch: one process per internal network (fragnet/vswitch.h). */
#define FN_VSW_COMPONENT	"vswitch"
#define FN_VSW_PROG		"fragnet-vswitch"
#define FN_ENV_VSW_TABLE_FD	"FRAGNET_VSW_TABLE_FD"
#define FN_FD_VSW_TABLE		9
#define FN_FD_VSW_PORT_BASE	16
#define FN_FD_VSW_LINK(i)	(FN_FD_VSW_PORT_BASE + 3 * (i))
#define FN_FD_VSW_BELL(i)	(FN_FD_VSW_PORT_BASE + 3 * (i) + 1)
#define FN_FD_VSW_PEER_BELL(i)	(FN_FD_VSW_PORT_BASE + 3 * (i) + 2)

/* A stack's attachments to internal networks (fragnet/vswitch.h), above
 * every fd number another role uses. */
#define FN_ENV_STACK_NETS_FD	"FRAGNET_STACK_NETS_FD"
#define FN_FD_STACK_NETS	10
#define FN_FD_STACK_NET_BASE	16
#define FN_FD_STACK_NET_LINK(j)	(FN_FD_STACK_NET_BASE + 2 * (j))
#define FN_FD_STACK_NET_BELL(j)	(FN_FD_STACK_NET_BASE + 2 * (j) + 1)

/* Run directory: FN_RUN_ROOT "/" <topology name>, mode 0700, root only. */
#define FN_RUN_ROOT		"/run/fragnet"
#define FN_SUPERVISOR_SOCK	"supervisor.sock"	/* SOCK_SEQPACKET, 0600 */
#define FN_SUPERVISOR_PID	"supervisor.pid"
#define FN_CONTROL_SOCK_FMT	"stack%u.ctl"		/* per pipeline, 0600 */
/* The stack's last committed nft ruleset (`fragnet nft` writes it, the
 * supervisor loads it when the stack restarts), 0600; and its temp. */
#define FN_RULESET_FMT		"stack%u.ruleset"
#define FN_RULESET_TMP_FMT	"stack%u.ruleset.tmp"

/* With `up -d` the supervisor and its components log to FN_LOG_DIR "/"
 * <topology name> FN_LOG_SUFFIX (directory 0750, file 0640). */
#define FN_LOG_DIR		"/var/log/fragnet"
#define FN_LOG_SUFFIX		".log"

/* Sizes of the shared objects the supervisor creates. */
#define FN_STATS_PAGE_SIZE	(64u * 1024)
/* A stack's or a vswitch's capture region (capture.h): slots of a record
 * and up to 2016 bytes of a frame (a full-size frame with a VLAN tag
 * fits). */
#define FN_CAP_SLOTS		1024u
#define FN_CAP_SLOT_SIZE	2048u

/* memfd names, as shown in /proc/PID/fd and /proc/PID/maps. */
#define FN_MEMFD_LINK_FMT	"fragnet-link%u"
#define FN_MEMFD_SOCKCHAN_FMT	"fragnet-sockchan%u"
#define FN_MEMFD_STATS_FMT	"fragnet-stats-%s%u"
#define FN_MEMFD_CAPTURE_FMT	"fragnet-cap%u"		/* pipeline */
#define FN_MEMFD_CAPTURE_VSW_FMT "fragnet-cap-vsw-%s"	/* network name */
#define FN_MEMFD_VSW_TABLE_FMT	"fragnet-vsw-%s"	/* network name */
#define FN_MEMFD_VSW_LINK_FMT	"fragnet-vsw-%s.%u"	/* network, port */
#define FN_MEMFD_VSW_ATTACH_FMT	"fragnet-nets%u"	/* pipeline */
#define FN_MEMFD_METRICS	"fragnet-metrics"	/* one exposition */

#define FN_NAME_MAX		32	/* topology and component names */

#endif /* FRAGNET_NAMES_H */
