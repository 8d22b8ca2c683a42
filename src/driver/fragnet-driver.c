/*
 * fragnet-driver - the DPDK secondary that serves one NIC queue for one
 * pipeline (docs/architecture.md "Processes"; contract: fragnet/dpdk.h).
 *
 * Spawned by the supervisor (names.h), with FRAGNET_PIPELINE = the queue.
 * Start-up, in this order, so that a bad environment fails before DPDK:
 *   1. environment and config (fn_config_load);
 *   2. stats page and counters; the link to the stack, as side A;
 *   3. wait for the nic's ready file (bounded), then rte_eal_init as a
 *      secondary with fn_eal_args();
 *   4. find the port, the mbuf pool, the broadcast and steer rings;
 *   5. the loop (drv_loop.c) until SIGTERM/SIGINT or the nic's death;
 *   6. rte_eal_cleanup(); exit 0 (DRV_EXIT_* otherwise, see drv.h).
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <seccomp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fragnet/confine.h"
#include "fragnet/env.h"
#include "fragnet/log.h"
#include "fragnet/names.h"
#include "fragnet/stats.h"
#include "fragnet/trace.h"
#include "drv.h"

volatile sig_atomic_t drv_stopping;

static const char usage[] =
"usage: fragnet-driver [--trace DIR] [--help]\n"
"\n"
"The DPDK secondary process that moves frames between one queue of the\n"
"nic's port and the link to one stack.  It is started by the supervisor\n"
"(`fragnet up`), not by hand; it reads everything from the environment:\n"
"\n"
"  FRAGNET_COMPONENT   driver\n"
"  FRAGNET_PIPELINE    pipeline index = the NIC queue served\n"
"  FRAGNET_CONFIG      the topology file\n"
"  FRAGNET_RUN_DIR     the run directory (the nic's ready file is there)\n"
"  FRAGNET_POLL        busy | adaptive | event (default: the config's)\n"
"  FRAGNET_CPU         the cpu we are pinned to, or - (first allowed cpu)\n"
"  FRAGNET_STACK_CPU   the cpu our stack is pinned to, or -: beside it,\n"
"                      adaptive does not spin while the stack is awake\n"
"  FRAGNET_LOG_LEVEL   error | warn | info | debug\n"
"  FRAGNET_STATS_FD    the stats page (optional)\n"
"  FRAGNET_LINK_FD     the link to the stack; we are side A\n"
"  FRAGNET_STACK_BELL_FD  the stack's doorbell (optional): rung when the\n"
"                      stack sleeps in its poll() and we submit or ack\n"
"  FRAGNET_DRIVER_BELL_FD our doorbell (optional): the stack rings it; with\n"
"                      it and the nic's fds an idle driver sleeps untimed\n"
"\n"
"--trace DIR: record every frame's rx, link and tx times in\n"
"DIR/driver-PIPELINE.trace (include/fragnet/trace.h; in a topology:\n"
"[driver] args = --trace DIR).  Off by default.\n"
"\n"
"Exit status: 0 on SIGTERM/SIGINT, 1 setup failed, 2 usage, 3 the nic\n"
"never got ready or died, 4 rte_eal_init failed.\n";

static void on_term(int sig)
{
	(void)sig;
	drv_stopping = 1;
}

/* A non-negative decimal from the environment. */
static int env_uint(const char *name, unsigned max, unsigned *out)
{
	const char *v = getenv(name);
	char *end;
	unsigned long x;

	if (!v || !*v)
		return -ENOENT;
	errno = 0;
	x = strtoul(v, &end, 10);
	if (*end || errno || x > max || *v == '-')
		return -EINVAL;
	*out = (unsigned)x;
	return 0;
}

static int setup_config(struct drv *d)
{
	const char *path = getenv(FN_ENV_CONFIG), *run_dir, *poll;
	char err[FN_CONFIG_ERR_MAX];
	unsigned own, stack;
	int ret;

	if (!path || !*path) {
		fn_err("%s is not set: fragnet-driver is started by the supervisor",
		       FN_ENV_CONFIG);
		return -EINVAL;
	}
	ret = fn_config_load(&d->cfg, path, err);
	if (ret < 0) {
		fn_err("%s", err);
		return ret;
	}
	/* The supervisor's word wins over the file's defaults. */
	run_dir = getenv(FN_ENV_RUN_DIR);
	if (run_dir && *run_dir)
		snprintf(d->cfg.run_dir, sizeof(d->cfg.run_dir), "%s", run_dir);
	if (!getenv(FN_ENV_LOG_LEVEL))
		fn_log_set_level(d->cfg.log_level);
	if (d->queue >= d->cfg.npipelines) {
		fn_err("pipeline %u, but the topology has %u", d->queue,
		       d->cfg.npipelines);
		return -ERANGE;
	}
	d->nqueues = d->cfg.nic.queues ? d->cfg.nic.queues : d->cfg.npipelines;
	if (d->queue >= d->nqueues || d->nqueues > FN_MAX_PIPELINES) {
		fn_err("queue %u, but the nic has %u queues", d->queue, d->nqueues);
		return -ERANGE;
	}
	drv_steer_init(&d->steer_tab, &d->cfg, d->queue, d->nqueues);
	d->poll = d->cfg.pipeline[d->queue].comp[FN_ROLE_DRIVER].poll;
	poll = getenv(FN_ENV_POLL);
	if (poll && fn_poll_parse(poll, &d->poll) < 0) {
		fn_err("%s=%s: not busy, adaptive or event", FN_ENV_POLL, poll);
		return -EINVAL;
	}
	d->cpu = fn_env_cpu();
	d->stack_apart = !(env_uint(FN_ENV_CPU, CPU_SETSIZE - 1, &own) == 0 &&
			   env_uint(FN_ENV_STACK_CPU, CPU_SETSIZE - 1,
				    &stack) == 0 && own == stack);
	return 0;
}

static int setup_stats(struct drv *d)
{
	struct fn_stats_page *page = NULL;
	int fd = fn_env_fd(FN_ENV_STATS_FD);

	if (fd >= 0) {
		page = fn_stats_attach(fd);
		if (!page)
			fn_warn("cannot attach stats fd %d: %s", fd, strerror(errno));
		close(fd);	/* the mapping stays */
	}
	d->ctr = fn_stats_block(page, NULL, drv_ctr_names, D_COUNT);
	if (!d->ctr) {
		fn_err("stats page: no room for our counters");
		return -ENOSPC;
	}
	/* Failing these two only keeps the link's counters private. */
	fn_stream_bind_counters(&d->link.tx, fn_stats_block(page, "link.tx",
			fn_stream_ctr_names, FN_SC_COUNT));
	fn_stream_bind_counters(&d->link.rx, fn_stats_block(page, "link.rx",
			fn_stream_ctr_names, FN_SC_COUNT));
	return 0;
}

/*
 * The doorbells (ring.h, DOORBELLS; names.h).  The stack's: a stack that
 * waits in its own poll() (for its link, its app and its control socket)
 * sleeps on it, not on the link's futex, so our submits (tx) and acks (rx)
 * ring it.  Ours: the stack rings it when we sleep in our epoll
 * (drv_wait.c) and it submits.  Without either the link's futex serves,
 * as before.  Both fds stay open for our whole life.
 */
static void setup_bells(struct drv *d)
{
	int stack = fn_env_fd(FN_ENV_STACK_BELL_FD);
	int ours = fn_env_fd(FN_ENV_DRIVER_BELL_FD);

	d->wait.link_bell_fd = ours >= 0 ? ours : -1;
	if (stack >= 0)
		fn_link_set_bell(&d->link, stack);
	fn_debug("doorbells: the stack's fd %d, ours fd %d", stack, ours);
}

/*
 * The link, as side A.  Its poll mode matters only to fn_stream_wait(),
 * which we call to nap: the spinning of adaptive mode is done by our own
 * loop over all three sources (drv_loop.c), so the link is asked to sleep
 * at once; busy mode never naps.
 */
static int setup_link(struct drv *d)
{
	int fd = fn_env_fd(FN_ENV_LINK_FD), ret;

	if (fd < 0) {
		fn_err("%s is not set: no link to the stack", FN_ENV_LINK_FD);
		return -EBADF;
	}
	ret = fn_link_attach(&d->link, fd, FN_LINK_A,
			     d->poll == FN_POLL_BUSY ? FN_POLL_BUSY : FN_POLL_EVENT);
	if (ret < 0) {
		fn_err("cannot attach link fd %d: %s", fd, strerror(-ret));
		return ret;
	}
	close(fd);	/* the mapping stays */
	d->reset_epoch = d->link.epoch;
	setup_bells(d);
	return 0;
}

static int setup(struct drv *d)
{
	int ret;

	drv_wait_init(&d->wait);
	ret = setup_config(d);

	if (ret == 0)
		ret = setup_link(d);
	if (ret == 0)
		ret = setup_stats(d);
	return ret;
}

static void signals(void)
{
	struct sigaction sa = { .sa_handler = on_term };

	/* No SA_RESTART: a nap or the ready-file wait ends at once. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

/* Returns 0, or -EINVAL (usage printed); *trace: the --trace DIR or NULL. */
static int parse_args(int argc, char **argv, const char **trace)
{
	*trace = NULL;
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
			  strcmp(argv[1], "-h") == 0)) {
		fputs(usage, stdout);
		exit(DRV_EXIT_OK);
	}
	if (argc == 3 && strcmp(argv[1], "--trace") == 0 && argv[2][0]) {
		*trace = argv[2];
		return 0;
	}
	if (argc > 1) {
		fputs(usage, stderr);
		return -EINVAL;
	}
	return 0;
}

/*
 * After EAL init, the look-ups and the wake-up fds, before the loop
 * (docs/security.md): we become FN_DPDK_USER (FRAGNET_CONFINE), which
 * leaves no capability in any thread, NoNewPrivs, and a deny-list.  EAL
 * needed root to join (the nic's runtime dir and hugepage files); what it
 * still opens later (the nic's config file and socket, a hugepage file
 * the nic adds) the nic has opened to our group.  A DPDK secondary makes
 * too many kinds of calls for an allow-list, so this one only kills what
 * a driver never does: run or trace programs, reach other processes'
 * memory, make network sockets (its namespace is empty anyway), change
 * mounts, namespaces, modules, the clock or the machine.
 */
#define DENY(name)	{ SCMP_SYS(name), FN_SC_KILL, 0, { { 0, 0, 0 } } }
#define DENY_SOCKET(af)	{ SCMP_SYS(socket), FN_SC_KILL, 1, \
			  { { 0, ~0ull, (af) } } }

static const struct fn_sc_rule drv_deny[] = {
	DENY(execve), DENY(execveat), DENY(fork), DENY(vfork), DENY(ptrace),
	DENY(process_vm_readv), DENY(process_vm_writev), DENY(kill),
	DENY(tkill), DENY(kexec_load), DENY(kexec_file_load),
	DENY(init_module), DENY(finit_module), DENY(delete_module),
	DENY(mount), DENY(umount2), DENY(pivot_root), DENY(chroot),
	DENY(unshare), DENY(setns), DENY(bpf), DENY(perf_event_open),
	DENY(keyctl), DENY(add_key), DENY(request_key), DENY(userfaultfd),
	DENY(open_by_handle_at), DENY(iopl), DENY(ioperm), DENY(swapon),
	DENY(swapoff), DENY(reboot), DENY(settimeofday), DENY(clock_settime),
	DENY_SOCKET(AF_INET), DENY_SOCKET(AF_INET6), DENY_SOCKET(AF_PACKET),
	DENY_SOCKET(AF_NETLINK),
};

static int confine(void)
{
	uid_t uid = 0;
	gid_t gid = 0;
	char why[256];
	int r = fn_confine_env(&uid, &gid);

	if (r < 0) {
		fn_err("%s is malformed: want UID:GID", FN_ENV_CONFINE);
		return -1;
	}
	if (r == 0)
		fn_warn("%s is unset: staying uid 0 (not started by fragnet "
			"up)", FN_ENV_CONFINE);
	if (fn_confine_caps(0, uid, gid, drv_deny,
			    sizeof(drv_deny) / sizeof(drv_deny[0]), why,
			    sizeof(why)) < 0) {
		fn_err("cannot drop my privileges: %s", why);
		return -1;
	}
	fn_info("dropped: uid %u, no capability, NoNewPrivs, seccomp "
		"deny-list", (unsigned)getuid());
	return 0;
}

/* Join the nic's DPDK, serve the queue, leave.  Returns the exit status. */
static int serve(struct drv *d)
{
	int ret = DRV_EXIT_OK;

	if (drv_wait_nic(d) < 0)
		return drv_stopping ? DRV_EXIT_OK : DRV_EXIT_NIC;
	if (drv_eal_init(d, "fragnet-driver") < 0)
		return DRV_EXIT_EAL;
	if (drv_lookup(d) < 0 || drv_wait_open(d) < 0 || confine() < 0)
		ret = DRV_EXIT_FAIL;
	if (ret == DRV_EXIT_OK) {
		fn_info("running: queue %u of %u, poll %s, cpu %d, link %u x %u B, "
			"%s", d->queue, d->nqueues, fn_poll_name(d->poll),
			d->cpu, d->link.hdr.nslots, d->link.hdr.slot_size,
			d->steer_tab.n ? "steering by MAC to the pipelines" :
			"no steering (shared address or one queue)");
		ret = drv_run(d) == 0 ? DRV_EXIT_OK : DRV_EXIT_NIC;
		fn_info("stopping: rx %llu tx %llu",
			(unsigned long long)fn_ctr_get(&d->ctr[D_RX_PKTS]),
			(unsigned long long)fn_ctr_get(&d->ctr[D_TX_PKTS]));
	}
	drv_wait_close(d);
	drv_eal_fini(d);
	return ret;
}

int main(int argc, char **argv)
{
	static struct drv d;
	const char *trace;
	unsigned pl;
	int ret;

	if (parse_args(argc, argv, &trace) < 0)
		return DRV_EXIT_USAGE;
	if (env_uint(FN_ENV_PIPELINE, FN_MAX_PIPELINES - 1, &pl) < 0) {
		fn_log_init("driver", -1, FN_LOG_DEFAULT);
		fn_err("%s must be the pipeline index (0..%u)", FN_ENV_PIPELINE,
		       FN_MAX_PIPELINES - 1);
		return DRV_EXIT_USAGE;
	}
	d.queue = pl;
	fn_log_init("driver", (int)pl, FN_LOG_DEFAULT);
	signals();
	if (setup(&d) < 0)
		return DRV_EXIT_FAIL;
	if (trace && (ret = fn_trace_open(trace, "driver", (int)pl)) < 0) {
		fn_err("--trace %s: %s", trace, strerror(-ret));
		return DRV_EXIT_FAIL;
	}
	ret = serve(&d);
	fn_trace_close();
	fn_link_detach(&d.link);
	return ret;
}
