/*
 * sup.h - internal interfaces of the fragnet CLI and supervisor.
 *
 * Modules (one binary, `fragnet`):
 *   main.c        the subcommand table and argument dispatch
 *   up.c          `fragnet up`: checks, daemonizing, then sup_run()
 *   supervisor.c  the supervisor: channels, main loop, control, stop
 *   restart.c     one component's life: start, exit, backoff, crash loop
 *   spawn.c       fork + exec of one component under the spawn contract
 *   place.c       cpu placement (compact, spread, explicit)
 *   report.c      status / stats / stats-json text (fragnet/report.h)
 *   ctl.c         the control socket, server and client side (fragnet/ctl.h)
 *   topo.c        run directories: find, check liveness, clean, pid file
 *   dpdk_clean.c  DPDK leftovers (hugepage files, EAL runtime dir) at stop
 *   cli.c         `fragnet down|status|stats`: clients of the control socket
 *   top.c         `fragnet top`: rates from two `stats --prometheus` snapshots
 *   nft.c         `fragnet nft`, and loading a stack's ruleset when it starts
 *   cap_sup.c     capture regions of stacks and vswitches: made, handed
 *                 out, a dead client's capture switched off
 *                 (fragnet/capture.h)
 *   capture.c     `fragnet capture`: records to pcapng (pcapng.c)
 *   net.c         internal networks: their links, bells, host taps and
 *                 tables, the fds of a vswitch and of a stack on them
 *   cluster.c     `fragnet cluster create` (hiredis), with the pure parts
 *                 in cluster_plan.c (cluster.h)
 *   postup.c      the supervisor's [cluster] step: runs `fragnet cluster
 *                 create` once every app is up
 *   failover.c    [cluster] with replicas: when an app dies, runs
 *                 `fragnet cluster failover` and holds the app's restart
 *                 for its outcome
 *   metrics.c     [topology] metrics: the listening socket, the
 *                 `fragnet metrics-serve` child and its channel (ctl.h)
 *   metrics_serve.c  `fragnet metrics-serve`: the confined HTTP server,
 *                 with the request parser in metrics_http.c
 *
 * Everything here is private to the binary; nothing is exported.
 */
#ifndef FRAGNET_SUP_H
#define FRAGNET_SUP_H

#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fragnet/capture.h"
#include "fragnet/config.h"
#include "fragnet/names.h"
#include "fragnet/stats.h"

/* Exit codes of every subcommand. */
enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* A component that lives this long after a (re)start counts as started:
 * `up -d` waits this long before it reports success. */
#define SUP_SETTLE_MS		200

/* `up -d`: what the supervisor writes to the waiting parent when the
 * topology is up but [cluster] creation failed (then the reason). */
#define SUP_NOTIFY_CLUSTER_FAILED	"cluster-failed: "

enum sup_cluster_state {
	SUP_CLUSTER_OFF,	/* [cluster] enabled = no, or not yet up */
	SUP_CLUSTER_CREATING,	/* fragnet cluster create runs */
	SUP_CLUSTER_OK,
	SUP_CLUSTER_FAILED,
};

/* Control clients whose request is still awaited; more are refused. */
#define SUP_MAX_CONN		16

enum comp_state {
	CS_STOPPED,	/* not running and not going to run */
	CS_RUNNING,	/* shown as "starting" during its first SUP_SETTLE_MS */
	CS_BACKOFF,	/* exited; restarts at next_ns */
	CS_STOPPING,	/* SIGTERM sent because its parent died; SIGKILL at next_ns */
	CS_WAITING,	/* exited; restarts right after its parent does */
	CS_FAILED,	/* crash loop or exec failure: given up */
};

struct comp {
	enum fn_role role;
	int pipeline;			/* -1 for the nic and a vswitch */
	int network;			/* a vswitch's network index; else -1 */
	char label[24];			/* "stack/1", "nic", "vswitch/internal" */
	const struct fn_component_conf *conf;
	struct comp *parent;		/* restarts drag us along; NULL: none */
	int cpu;			/* pinned cpu, or FN_CPU_AUTO: unpinned */

	/* argv and its strings, split once at startup */
	char *argv[FN_MAX_ARGS + 2];
	char argbuf[FN_ARGS_MAX + 2 * PATH_MAX];

	/* capabilities: borrowed (link, control) or owned (stats) */
	int link_fd;			/* -1: none */
	int control_fd;			/* -1: none */
	int sockchan_fd;		/* -1: none (stack side B, app side A) */
	int stack_bell_fd;		/* -1: none */
	int app_bell_fd;		/* -1: none */
	int driver_bell_fd;		/* -1: none */
	int capture_fd;			/* -1: none (a stack's or a vswitch's,
					 * capture.h) */
	int stats_fd;
	const struct fn_stats_page *stats;	/* read-only map of stats_fd */

	/* lifecycle */
	enum comp_state state;
	pid_t pid;			/* 0: not running */
	uint64_t started_ns;
	uint64_t next_ns;		/* BACKOFF: restart; STOPPING: SIGKILL */
	unsigned backoff_ms;		/* delay of the next restart */
	unsigned restarts;
	unsigned exits;
	uint64_t exited_ns;		/* its last exit */
	unsigned held_backoff_ms;	/* a restart held by failover.c: the
					 * backoff it would have had */
	uint64_t *history;		/* times of own-fault restarts, a ring */
	unsigned nhistory;		/* entries written, free-running */
	char last_exit[48];		/* "exit status 1", "killed by signal KILL" */
};

/* A takeover of a dead app's slots by a replica (failover.c), one per
 * pipeline. */
struct sup_failover {
	pid_t pid;			/* fragnet cluster failover; 0: none */
	uint64_t died_ns;		/* the app died then */
	uint64_t deadline_ns;		/* SIGKILL the child then */
};

/* One fd a child gets (spawn.c): src in the supervisor, dst in the child,
 * env names it (NULL: a table names it instead). */
struct sup_fd {
	int src, dst;
	const char *env;
};

/* One port of a network's switch (net.c): a stack's attachment, or the
 * host's tap. */
struct sup_port {
	int pipeline;			/* -1: the host port */
	int link_fd;			/* its link; the host port: its tap */
	int bell_fd;			/* its bell (the switch waits); -1 */
};

/* An internal network's objects, made once and kept across restarts. */
struct sup_net {
	unsigned nports;
	struct sup_port port[FN_NET_MAX_PORTS];
	int table_fd;			/* the switch's port table; -1 */
	int capture_fd;			/* its capture region; -1 (cap_sup.c) */
	struct fn_cap cap;		/* its map (cap_sup.c) */
};

/* The app's user, resolved at startup so that the child does no NSS look-up. */
struct sup_user {
	bool set;
	char name[32];
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	int ngroups;
	char home[PATH_MAX];
};

/* [topology] metrics (metrics.c): made at start, kept across restarts of
 * the child; listen_fd < 0 without an endpoint. */
struct sup_metrics {
	int listen_fd;			/* the loopback TCP socket; -1 */
	int chan_fd;			/* our end of the child's channel; -1 */
	pid_t pid;			/* fragnet metrics-serve; 0: none */
	bool failed;			/* given up (crash loop, exec) */
	uint64_t started_ns;
	uint64_t restart_ns;		/* restart it then; 0: not due */
	unsigned backoff_ms;
	unsigned restarts;
	uint64_t window_ns;		/* the crash loop window began */
	unsigned in_window;		/* restarts since then */
	int cache_fd;			/* the last exposition's memfd; -1 */
	uint64_t cache_ns;		/* when it was made */
};

struct sup {
	const struct fn_config *cfg;
	int log_level;
	cpu_set_t allowed;		/* our own affinity at startup */

	struct comp *comp;		/* in spawn order */
	unsigned ncomp;
	struct sup_user user;
	struct sup_user confined;	/* FN_CONFINE_USER; unset: confine = no */
	struct sup_user dpdk;		/* FN_DPDK_USER; unset: no nic */

	int link_fd[FN_MAX_PIPELINES];	/* -1: pipeline has no link */
	int control_fd[FN_MAX_PIPELINES];	/* -1: pipeline has no stack */
	int sockchan_fd[FN_MAX_PIPELINES];	/* -1: no stack and app pair */
	int stack_bell_fd[FN_MAX_PIPELINES];	/* -1: pipeline has no stack */
	int app_bell_fd[FN_MAX_PIPELINES];	/* -1: no stack and app pair */
	int driver_bell_fd[FN_MAX_PIPELINES];	/* -1: no driver and stack pair */
	pid_t nft_pid[FN_MAX_PIPELINES];	/* nft loading a ruleset, 0: none */
	struct sup_net net[FN_MAX_NETWORKS];
	int attach_fd[FN_MAX_PIPELINES];	/* a stack's attachment table */
	int capture_fd[FN_MAX_PIPELINES];	/* -1: pipeline has no stack */
	struct fn_cap cap[FN_MAX_PIPELINES];	/* its map (cap_sup.c) */
	uint64_t cap_check_ns;		/* next look at the owners; 0: none */

	int epfd, sigfd, timerfd, listen_fd;
	int down_fd;			/* client of `down`, told when all is gone */
	int notify_fd;			/* `up -d`: pipe to the waiting parent */
	int conn[SUP_MAX_CONN];		/* accepted, request not yet read */
	bool run_dir_made;
	bool stop;			/* leave the main loop */
	bool ready;			/* settled after the initial start */
	uint64_t ready_ns;
	int exit_code;
	char error[PATH_MAX + 256];	/* why startup failed, for `up -d` */

	uint64_t started_ns;
	unsigned restarts, exits;	/* totals, for `fragnet stats` */

	/* [cluster] (postup.c) */
	enum sup_cluster_state cluster_state;
	pid_t cluster_pid;		/* fragnet cluster create; 0: none */
	uint64_t cluster_deadline_ns;	/* SIGKILL it then */
	uint64_t cluster_poll_ns;	/* look for the tap then; 0: not */
	char cluster_msg[64];		/* why it failed */
	struct sup_failover failover[FN_MAX_PIPELINES];	/* failover.c */
	char failover_msg[64];		/* the last takeover, for status */

	struct sup_user metrics_user;	/* FN_CONFINE_USER; unset: no endpoint */
	struct sup_metrics metrics;	/* metrics.c */
};

/* supervisor.c */
int sup_prepare(struct sup *s, const struct fn_config *cfg, int log_level);
int sup_run(struct sup *s, int notify_fd);
void sup_fini(struct sup *s);
uint64_t sup_now_ns(void);
const char *comp_state_name(const struct comp *c, uint64_t now);
void sup_fail(struct sup *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

int sup_watch_metrics(struct sup *s, int fd);

/* restart.c */
int comp_start(struct sup *s, struct comp *c, uint64_t now);
void comp_exited(struct sup *s, struct comp *c, int status, uint64_t now);
void comp_tick(struct sup *s, struct comp *c, uint64_t now);
uint64_t comp_deadline(const struct comp *c);
void comp_signal(const struct comp *c, int sig);
void comp_release(struct sup *s, struct comp *c, bool took_over,
		  uint64_t now);
void exit_describe(int status, char *buf, size_t len);
void sup_bell_ring(int fd);

/* net.c */
void net_init(struct sup *s);
int net_channels(struct sup *s);
unsigned net_fds(const struct sup *s, const struct comp *c,
		 struct sup_fd *fds, unsigned max);
void net_side_died(const struct sup *s, const struct comp *c);
void net_close(struct sup *s);

/* cap_sup.c */
void cap_init(struct sup *s);
int cap_channels(struct sup *s);
uint64_t cap_deadline(struct sup *s);
void cap_tick(struct sup *s, uint64_t now);
void cap_serve(struct sup *s, int fd, const char *arg);
void cap_serve_vsw(struct sup *s, int fd, const char *arg);
void cap_close(struct sup *s);

/* spawn.c */
int spawn_comp(struct sup *s, struct comp *c, char *err, size_t errlen);
int spawn_resolve_user(struct sup_user *u, const char *name,
		       char *err, size_t errlen);
void spawn_user_fini(struct sup_user *u);
int spawn_resolve_confined(struct sup *s);
int spawn_resolve_metrics(struct sup *s);
int spawn_helper(struct sup *s, const char *label, char *const argv[],
		 const struct sup_fd *fds, unsigned nfds,
		 const char *const env[], pid_t *pid, char *err, size_t errlen);

/* place.c */
int place_all(struct sup *s, char *err, size_t errlen);
int place_format_set(const cpu_set_t *set, char *buf, size_t len);
int place_read_back(pid_t pid, char *buf, size_t len);

/* report.c */
struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};
void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sb_free(struct sbuf *b);
void report_status(const struct sup *s, struct sbuf *b);
void report_stats(const struct sup *s, struct sbuf *b);
void report_stats_json(const struct sup *s, struct sbuf *b);
void report_stats_prom(const struct sup *s, struct sbuf *b);

/* ctl.c */
int ctl_listen(const char *path, int flags);
int ctl_accept(int lfd);
int ctl_read_request(int fd, char *cmd, size_t len);
int ctl_reply(int fd, const char *buf, size_t len);
int ctl_sock_path(const char *run_dir, const char *name, char *buf,
		  size_t len);
int ctl_request(const char *run_dir, const char *cmd, int timeout_ms);
int ctl_request_to(const char *run_dir, const char *cmd, int timeout_ms,
		   FILE *out);
int ctl_request_fd(const char *run_dir, const char *cmd, int timeout_ms);
int ctl_send_fd(int fd, const char *msg, int pass_fd);
int ctl_recv_fd(int s, int timeout_ms);

/* nft.c */
void nft_replay(struct sup *s, unsigned pipeline);
bool nft_reaped(struct sup *s, pid_t pid, int status);
void nft_help(void);

/* postup.c */
void postup_start(struct sup *s);
bool postup_reaped(struct sup *s, pid_t pid, int status);
uint64_t postup_deadline(const struct sup *s);
void postup_tick(struct sup *s, uint64_t now);
void postup_stop(struct sup *s);
const char *postup_state_name(const struct sup *s);
#define POSTUP_NODE_LEN		24	/* "255.255.255.255:65535" */
void postup_node(const struct sup *s, unsigned p, char *buf, size_t len);
pid_t postup_spawn_self(char *const argv[]);

/* failover.c */
void failover_start(struct sup *s, const struct comp *c, uint64_t now);
bool failover_holds(const struct sup *s, const struct comp *c);
bool failover_reaped(struct sup *s, pid_t pid, int status);
uint64_t failover_deadline(const struct sup *s);
void failover_tick(struct sup *s, uint64_t now);
void failover_stop(struct sup *s);

/* metrics.c */
void metrics_init(struct sup *s);
int metrics_open(struct sup *s);
int metrics_start(struct sup *s, uint64_t now);
void metrics_on_chan(struct sup *s);
bool metrics_reaped(struct sup *s, pid_t pid, int status);
uint64_t metrics_deadline(const struct sup *s);
void metrics_tick(struct sup *s, uint64_t now);
void metrics_stop(struct sup *s);
void metrics_close(struct sup *s);

/* metrics_http.c: the HTTP of `fragnet metrics-serve`, no I/O */
#define METRICS_REQ_MAX		4096	/* request line and headers */
enum metrics_head {
	METRICS_HEAD_MORE,		/* incomplete: read on */
	METRICS_HEAD_DONE,		/* the request line and headers are in */
	METRICS_HEAD_BAD,		/* the request line is bad already */
};
enum metrics_head metrics_http_head(const char *buf, size_t len);
int metrics_http_route(const char *buf, size_t len);
int metrics_http_status_head(char *out, size_t cap, int status,
			     size_t body_len, bool exposition);
const char *metrics_http_body(int status);

/* metrics_serve.c */
int cmd_metrics_serve(int argc, char **argv);
void metrics_serve_help(void);

/* dpdk_clean.c */
void sup_dpdk_clean(const char *name);

/* topo.c */
pid_t topo_live_pid(const char *run_dir);
bool topo_pid_alive(pid_t pid);
int topo_clean(const char *run_dir);
int topo_write_pid(const char *run_dir);
int topo_resolve(const char *arg, char run_dir[PATH_MAX],
		 char name[FN_NAME_MAX]);
int topo_path(char *buf, size_t len, const char *run_dir, const char *name);

/* up.c, cli.c: subcommands, each returns an exit code */
int cmd_up(int argc, char **argv);
int cmd_down(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_nft(int argc, char **argv);
int cmd_cluster(int argc, char **argv);
void cluster_help(void);
int cmd_capture(int argc, char **argv);
void capture_help(void);
void cmd_usage(const char *name);

#endif /* FRAGNET_SUP_H */
