/*
 * fragnet/config.h - the topology file, parsed with inih into one struct.
 *
 * A topology is a NIC with N queues and N pipelines {driver i, stack i,
 * app i}.  Example, condensed (a real file has one key = value per line;
 * every key, with its default, is in config/README.md):
 *
 *     [topology]
 *     name      = kvs                 ; run dir /run/fragnet/kvs, DPDK prefix
 *     run_dir   = /run/fragnet/kvs    ; default FN_RUN_ROOT/name
 *     pipelines = 2
 *     placement = compact             ; compact | spread
 *     poll      = adaptive            ; busy | adaptive | event
 *     log_level = info
 *     metrics   = 127.0.0.1:9464      ; or [::1]:9464; default: none
 *
 *     [restart]
 *     backoff_ms = 100  backoff_max_ms = 5000
 *     crash_loop_limit = 5  crash_loop_window_s = 30  stop_timeout_ms = 3000
 *
 *     [link]    slots = 1024  slot_size = 2048
 *     [nic]     pmd = tap  ifname = fn0  mac = 02:00:00:00:00:01
 *               address = 10.77.0.1/24  mbufs = 8192  ; pci = 0000:01:00.0
 *     [driver]  exec = ...  poll = ...
 *     [stack]   exec = ...  profile = full  address = 10.77.0.2/24
 *               gateway = 10.77.0.1  max_tcp = 10000  ruleset = rules.nft
 *               addressing = per-pipeline   ; | shared
 *               confine = yes
 *     [app]     exec = /usr/bin/redis-server  args = --port 6379 --save ""
 *               user = fragnet  preload = yes  netns = own
 *     [vswitch] exec = ...  poll = ...
 *     [cluster] enabled = yes  port = 6379  replicas = 0  timeout_ms = 30000
 *               masters = 3               ; instead of replicas
 *               restart_delay_ms = 0      ; 30000 when replicas > 0
 *     [network internal]                  ; an internal network (vswitch.h)
 *     subnet = 10.90.0.0/24  host = no  age_ms = 300000  cpu = auto
 *     [pipeline 1]
 *     cpu = 1   app_args = --port 6380   driver_cpu = 0  stack_cpu = 1
 *     networks = internal                 ; its stack on 10.90.0.2
 *     stack_address = 10.77.0.9/24        ; else [stack] address + 1
 *     stack_mac = 02:00:00:00:00:09       ; else 02:00:0a:4d:00:09
 *
 * Every role section ([nic], [driver], [stack], [app], [vswitch]) takes
 * exec, args, poll, sched (normal | batch), slice_us and cpu; exec = none (or an
 * empty value) means the role is not run.  One vswitch runs per [network NAME]; its cpu and poll come
 * from [vswitch], then from the network's own cpu and poll.
 * A [pipeline N] section overrides, for pipeline N only, `cpu` (all of its
 * components) and `<role>_exec`, `<role>_args`, `<role>_poll`,
 * `<role>_sched`, `<role>_slice_us`, `<role>_cpu`.
 * In args, {pipeline} expands to the pipeline index, {run_dir} to the
 * run directory and {address} to the pipeline's uplink address.  Relative
 * exec paths are resolved against the directory of the config file.
 *
 * ERRORS: fn_config_load() stops at the first bad input and leaves one
 * message in err, always "FILE:LINE: [section] key: what is wrong" (LINE 0
 * for a check that spans the file, e.g. a missing required key), and
 * returns -EINVAL.  A problem with a whole section drops the key
 * ("FILE:LINE: [section]: ..."), one with a line that is no key at all
 * drops both ("FILE:LINE: ...").  A file that cannot be read gives
 * "FILE: cannot open: <strerror>" (or "cannot read") and -errno.  Nothing
 * is half-loaded: on error *cfg is zeroed.
 */
#ifndef FRAGNET_CONFIG_H
#define FRAGNET_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fragnet/names.h"
#include "fragnet/stream.h"

#define FN_MAX_PIPELINES	64
#define FN_MAX_ARGS		32
#define FN_ARGS_MAX		1024
#define FN_CPU_AUTO		(-1)
#define FN_CONFIG_ERR_MAX	512
#define FN_MAX_NETWORKS		16	/* [network NAME] sections */
#define FN_NET_MAX_PORTS	16	/* = FN_VSW_MAX_PORTS (vswitch.h) */
#define FN_STACK_MAX_NETS	8	/* networks one stack attaches to */
#define FN_IFNAME_MAX		16	/* a network's name is an nft ifname */
#define FN_UPLINK_IFNAME	"fn0"	/* a stack's netif on its driver's link */

enum fn_role {
	FN_ROLE_NIC,
	FN_ROLE_DRIVER,
	FN_ROLE_STACK,
	FN_ROLE_APP,
	FN_ROLE_VSWITCH,	/* one per [network NAME], not per pipeline */
	FN_ROLE_COUNT
};

enum fn_placement {
	FN_PLACE_COMPACT,	/* a whole pipeline on one cpu (the paper) */
	FN_PLACE_SPREAD,	/* components round-robin over the cpus */
};

enum fn_pmd {
	FN_PMD_TAP,
	FN_PMD_PCI,
};

struct fn_ip4 {
	uint32_t addr;		/* network byte order; 0 = unset */
	uint8_t prefix;		/* 0..32 */
};

/*
 * The kernel's policy for a component's threads (sched(7)).  batch: a
 * wake-up does not preempt the task that woke it, so a bell rung in the
 * middle of a burst lets the ringer finish the burst first
 * (docs/driver.md, "Wake-up preemption").
 */
enum fn_sched {
	FN_SCHED_NORMAL,	/* SCHED_OTHER */
	FN_SCHED_BATCH,		/* SCHED_BATCH */
};

/*
 * slice_us: the slice the kernel's fair scheduler (EEVDF, Linux 6.12 and
 * later) gives the component, set with sched_setattr(2)'s sched_runtime
 * before exec.  A task with a shorter slice has an earlier deadline: it
 * is picked sooner when it wakes, and holds the cpu for less at a time.
 * 0 keeps the kernel's own (docs/driver.md, "Slices").
 */
#define FN_SLICE_MIN_US		100
#define FN_SLICE_MAX_US		100000

/* How one role is run; per-pipeline copies are fully resolved. */
struct fn_component_conf {
	char exec[PATH_MAX];	/* absolute path; "" = not run */
	char args[FN_ARGS_MAX];	/* extra argv, shell-like quoting */
	enum fn_poll poll;
	enum fn_sched sched;
	unsigned slice_us;	/* the kernel's fair slice for it; 0 = its own */
	int cpu;		/* explicit cpu, or FN_CPU_AUTO */
};

struct fn_restart_conf {
	unsigned backoff_ms;		/* first delay before a restart */
	unsigned backoff_max_ms;	/* the delay doubles up to this */
	unsigned crash_loop_limit;	/* restarts allowed within the window */
	unsigned crash_loop_window_s;
	unsigned stop_timeout_ms;	/* SIGTERM, then SIGKILL after this */
};

struct fn_nic_conf {
	enum fn_pmd pmd;
	unsigned queues;		/* default: pipelines */
	uint8_t mac[6];
	char ifname[16];		/* kernel side of the tap */
	struct fn_ip4 address;		/* kernel side of the tap */
	char pci[32];			/* pmd = pci: DDDD:BB:DD.F */
	unsigned mbufs;
};

/* How the stacks of one NIC are addressed on the uplink (config/README.md,
 * [stack] addressing; docs/architecture.md, "Addressing"). */
enum fn_addressing {
	FN_ADDRESSING_PER_PIPELINE,	/* each its own address and MAC: the
					 * drivers steer by destination MAC */
	FN_ADDRESSING_SHARED,		/* one address and MAC, RSS spreads */
};

struct fn_stack_conf {
	char profile[16];		/* "full" | "udp" */
	enum fn_addressing addressing;
	struct fn_ip4 address;		/* per-pipeline: pipeline 0's; pipeline
					 * i's is this + i unless overridden */
	uint32_t gateway;		/* network byte order; 0 = none */
	unsigned max_tcp;		/* concurrent TCP connections */
	char ruleset[PATH_MAX];		/* initial nft ruleset; "" = none */
	bool confine;			/* fragnet/confine.h; no: measuring */
};

enum fn_app_netns {
	FN_NETNS_OWN,			/* a network namespace with only lo */
	FN_NETNS_HOST,			/* the supervisor's */
};

/* [app] user unless the topology names one (scripts/setup makes it). */
#define FN_APP_USER_DEFAULT	"fragnet-app"

struct fn_app_conf {
	char user[32];			/* run as this user ("root": as root) */
	bool preload;			/* LD_PRELOAD libfragnet-preload.so */
	enum fn_app_netns netns;	/* where the kernel's network is */
};

/* [cluster]: the supervisor makes one Redis Cluster of the pipelines'
 * apps once they are up (`fragnet cluster create`, config/README.md). */
#define FN_CLUSTER_RESTART_DELAY_MS	30000	/* default with replicas */

struct fn_cluster_conf {
	bool enabled;
	unsigned port;			/* every node's, at its pipeline's
					 * uplink address */
	unsigned replicas;		/* per master */
	unsigned masters;		/* resolved: [cluster] masters, else
					 * pipelines / (replicas + 1) */
	unsigned timeout_ms;		/* of the whole creation */
	unsigned restart_delay_ms;	/* an app restarts no sooner */
};

/* One internal network: a vswitch joining the stacks attached to it. */
struct fn_network_conf {
	char name[FN_IFNAME_MAX];	/* also the netif's name in its stacks */
	struct fn_ip4 subnet;		/* the network address and prefix */
	bool host;			/* a tap on the host as one more port */
	char host_ifname[FN_IFNAME_MAX];	/* default "fnh-" + name */
	uint32_t host_address;		/* network order; default: last host */
	uint8_t host_mac[6];		/* derived from host_address */
	unsigned age_ms;		/* MAC aging of its switch */
	struct fn_component_conf vswitch;	/* resolved: [vswitch], then
						 * the section's cpu, poll */
};

/* A stack's attachment to a network: one netif of the stack, one port of
 * the network's switch. */
struct fn_attach_conf {
	unsigned network;		/* index into fn_config.network */
	uint32_t address;		/* network order */
	uint8_t mac[6];			/* 02:00 and the address's 4 bytes */
};

struct fn_pipeline_conf {
	struct fn_component_conf comp[FN_ROLE_COUNT];	/* NIC, VSWITCH unused */
	char stack_ruleset[PATH_MAX];	/* resolved: [pipeline N] stack_ruleset,
					 * else [stack] ruleset; "" = none */
	/* Its stack's uplink, resolved for a pipeline with an uplink (else
	 * zero).  shared: [stack] address, [nic] mac.  per-pipeline:
	 * [pipeline N] stack_address, else [stack] address + N; [pipeline N]
	 * stack_mac, else 02:00 and the address's four bytes. */
	struct fn_ip4 stack_address;
	uint8_t stack_mac[6];
	unsigned nnets;			/* attachments of its stack */
	struct fn_attach_conf net[FN_STACK_MAX_NETS];	/* in the order given */
};

/* [topology] metrics: the HTTP endpoint that serves `fragnet stats
 * --prometheus` (`fragnet metrics-serve`, docs/observe.md).  Loopback
 * only: the file is refused with any other address. */
struct fn_metrics_conf {
	uint8_t family;			/* 4 or 6; 0: no endpoint */
	uint8_t addr[16];		/* network order; 4 bytes for 4 */
	uint16_t port;			/* 1..65535 */
	char text[56];			/* "127.0.0.1:9464", "[::1]:9464" */
};

struct fn_config {
	char path[PATH_MAX];		/* absolute path of the file */
	char name[FN_NAME_MAX];		/* default: file name without .conf */
	char run_dir[PATH_MAX];		/* default: FN_RUN_ROOT/name */
	unsigned npipelines;		/* 1..FN_MAX_PIPELINES */
	enum fn_placement placement;
	enum fn_poll poll;		/* default for every role */
	int log_level;			/* enum fn_log_level */
	struct fn_restart_conf restart;
	struct { uint32_t slots, slot_size; } link;
	struct fn_nic_conf nic;
	struct fn_stack_conf stack;
	struct fn_app_conf app;
	struct fn_cluster_conf cluster;
	struct fn_metrics_conf metrics;
	struct fn_component_conf role[FN_ROLE_COUNT];	/* section defaults */
	struct fn_pipeline_conf pipeline[FN_MAX_PIPELINES];
	unsigned nnetworks;		/* in the order of their first section */
	struct fn_network_conf network[FN_MAX_NETWORKS];
};

/* Parse path into cfg.  0, or -EINVAL/-errno with the message in err. */
int fn_config_load(struct fn_config *cfg, const char *path,
		   char err[FN_CONFIG_ERR_MAX]);

/* Parse from memory (fuzzing, tests); name is used in messages. */
int fn_config_load_string(struct fn_config *cfg, const char *name,
			  const char *text, char err[FN_CONFIG_ERR_MAX]);

/*
 * Split args (shell-like: spaces separate, '...' and "..." quote, \ escapes
 * outside single quotes) into argv, after expanding {pipeline}, {run_dir}
 * and {address} (dotted quad, no prefix; "" when NULL).  Writes the strings
 * into buf.  Returns argc, or -E2BIG / -EINVAL (unterminated quote).
 *
 * Placeholders expand inside quotes too, and what they expand to is one
 * piece of its word (a run_dir with a space stays one argument); \{ keeps
 * a brace literal.  argv[argc] is set to NULL, so max_argv counts that
 * NULL: FN_MAX_ARGS + 1 entries hold the most args a topology may have
 * (fn_config_load() rejects more than FN_MAX_ARGS, and bad quoting, with
 * the line number).  -E2BIG if argv or buf is too small.
 */
int fn_config_split_args(const char *args, unsigned pipeline,
			 const char *run_dir, const char *address, char *buf,
			 size_t bufsize, char *argv[], unsigned max_argv);

const char *fn_role_name(enum fn_role r);

/*
 * The uplink address and MAC that pipeline p's stack takes: its resolved
 * fn_pipeline_conf.stack_address and stack_mac, or [stack] address and
 * [nic] mac for a p outside the topology's pipelines (< 0: not spawned as
 * a pipeline) or one without an uplink.  For the stack and the test
 * components that stand in for it.
 */
void fn_config_uplink(const struct fn_config *cfg, int p, struct fn_ip4 *addr,
		      uint8_t mac[6]);

/* Does pipeline p of cfg have an uplink: a driver and a stack, joined by
 * a link?  (A stack may instead, or also, sit on internal networks.) */
bool fn_config_has_uplink(const struct fn_config *cfg, unsigned p);

#endif /* FRAGNET_CONFIG_H */
