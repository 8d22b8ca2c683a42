/*
 * fragnet-nic - the DPDK primary of a topology: it owns the port, creates
 * the shared objects of fragnet/dpdk.h, and does no packet I/O.
 *
 *   fragnet-nic [CONFIG]        (CONFIG defaults to $FRAGNET_CONFIG)
 *
 * Spawned by the supervisor under the names.h contract (FRAGNET_CONFIG,
 * FRAGNET_RUN_DIR, FRAGNET_STATS_FD, FRAGNET_CPU, FRAGNET_LOG_LEVEL), or
 * run by hand with a config path.  In order:
 *   1. config (exit 2 on error); pre-flight: hugepages and the device,
 *      each failure with the command that fixes it (exit 1);
 *   2. SIGTERM/SIGINT/SIGHUP blocked (EAL's threads inherit the mask, so
 *      only sigtimedwait() in the main thread ever takes them);
 *   3. the ready file removed; EAL init with fn_eal_args(), logged;
 *   4. the port probed, then pool FN_DPDK_POOL, the broadcast rings
 *      FN_DPDK_BCAST_FMT and the steer rings FN_DPDK_STEER_FMT on the
 *      port's NUMA socket;
 *   5. the port configured and started (port.c and its backend), the
 *      drivers' wake-up fds offered (nic_wake.c), the DPDK files they
 *      open after their uid drop given to their group (nic_share.c);
 *   6. the ready file created: drivers may attach from now on;
 *   7. idle: every NIC_TICK_MS the stats page is refreshed, until a signal;
 *   8. teardown in reverse: ready file, port, rings, pool, EAL.
 * Any failure after EAL init unwinds what was done and exits 1.
 */
#include <arpa/inet.h>
#include <linux/capability.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_memory.h>
#include <rte_ring.h>

#include "fragnet/confine.h"
#include "fragnet/env.h"
#include "fragnet/dpdk.h"
#include "fragnet/log.h"
#include "fragnet/names.h"
#include "nic.h"

static volatile sig_atomic_t stop_flag;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: fragnet-nic [CONFIG]\n"
		"\n"
		"The DPDK primary of a fragnet topology: probes the NIC of CONFIG\n"
		"([nic] pmd = tap | pci), creates the mbuf pool and the broadcast\n"
		"rings its fragnet-driver processes attach to, starts the port,\n"
		"then idles until SIGTERM or SIGINT.  It does no packet I/O.\n"
		"\n"
		"CONFIG defaults to $" FN_ENV_CONFIG ".  Normally started by\n"
		"`fragnet up`; runs by hand as root too.  See docs/nic.md.\n"
		"\n"
		"Exit status: 0 stopped by a signal, 1 runtime or environment\n"
		"error (hugepages, device, EAL), 2 usage or config error.\n");
}

/* CONFIG from argv or the environment; NULL after a usage message. */
static const char *parse_args(int argc, char **argv, int *exit_code)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path;
	int opt;

	*exit_code = NIC_EXIT_USAGE;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			*exit_code = NIC_EXIT_OK;
			return NULL;
		}
		usage(stderr);
		return NULL;
	}
	if (argc - optind > 1) {
		usage(stderr);
		return NULL;
	}
	path = optind < argc ? argv[optind] : getenv(FN_ENV_CONFIG);
	if (!path || !*path)
		usage(stderr);
	return path && *path ? path : NULL;
}

static int config_load(struct fn_config *cfg, const char *path)
{
	char err[FN_CONFIG_ERR_MAX];
	int level;

	if (fn_config_load(cfg, path, err) < 0) {
		fn_err("%s", err);
		return -EINVAL;
	}
	/* The supervisor's level wins; by hand, the config's. */
	if (fn_log_level_parse(getenv(FN_ENV_LOG_LEVEL), &level) < 0)
		fn_log_set_level(cfg->log_level);
	return 0;
}

static int signals_block(struct nic *n)
{
	sigemptyset(&n->sigs);
	sigaddset(&n->sigs, SIGTERM);
	sigaddset(&n->sigs, SIGINT);
	sigaddset(&n->sigs, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &n->sigs, NULL) < 0) {
		fn_err("sigprocmask: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* By hand the run directory may not exist yet (the supervisor makes it).
 * Returns true when we made it, to remove it again at exit. */
static bool run_dir_ensure(const struct fn_config *cfg)
{
	if (mkdir(FN_RUN_ROOT, 0755) < 0 && errno != EEXIST)
		fn_warn("cannot create " FN_RUN_ROOT ": %s", strerror(errno));
	if (mkdir(cfg->run_dir, 0700) == 0)
		return true;
	if (errno != EEXIST)
		fn_warn("cannot create %s: %s", cfg->run_dir, strerror(errno));
	return false;
}

static int ready_remove(const char *path)
{
	if (unlink(path) < 0 && errno != ENOENT) {
		fn_err("cannot remove %s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

static int ready_create(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0) {
		fn_err("cannot create %s: %s", path, strerror(errno));
		return -errno;
	}
	dprintf(fd, "%d\n", (int)getpid());
	close(fd);
	return 0;
}

static int eal_init(struct nic *n)
{
	char buf[2048], line[1024], *argv[FN_EAL_MAX_ARGS];
	int argc = fn_eal_args(n->cfg, "fragnet-nic", true, FN_LCORE_NIC,
			       fn_env_cpu(), buf, sizeof(buf), argv);
	size_t l = 0;

	if (argc < 0) {
		fn_err("EAL arguments do not fit: %s", strerror(-argc));
		return argc;
	}
	line[0] = '\0';
	for (int i = 0; i < argc && l < sizeof(line); i++)
		l += (size_t)snprintf(line + l, sizeof(line) - l, "%s%s",
				      i ? " " : "", argv[i]);
	fn_info("EAL: %s", line);
	if (rte_eal_init(argc, argv) < 0) {
		int e = rte_errno ? rte_errno : EIO;	/* not always set */

		fn_err("EAL init failed: %s; see EAL's messages above",
		       rte_strerror(e));
		return -e;
	}
	return 0;
}

/* The pool and one broadcast ring per queue, on the port's socket. */
/* Ring fmt of queue q: any driver enqueues (MP), driver q alone dequeues
 * (SC).  NULL with rte_errno set, and logged. */
static struct rte_ring *ring_make(struct nic *n, const char *fmt, unsigned q,
				  unsigned size)
{
	char name[RTE_RING_NAMESIZE];
	struct rte_ring *r;

	snprintf(name, sizeof(name), fmt, q);
	r = rte_ring_create(name, size, n->socket, RING_F_SC_DEQ);
	if (!r)
		fn_err("cannot create ring %s: %s", name,
		       rte_strerror(rte_errno));
	return r;
}

static int shared_create(struct nic *n)
{

	n->pool = rte_pktmbuf_pool_create(FN_DPDK_POOL, n->cfg->nic.mbufs,
					  FN_DPDK_MBUF_CACHE, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE, n->socket);
	if (!n->pool) {
		fn_err("cannot create mbuf pool " FN_DPDK_POOL " (%u mbufs of "
		       "%u bytes) on socket %d: %s; fix: more 2 MiB hugepages, "
		       "or lower [nic] mbufs", n->cfg->nic.mbufs,
		       RTE_MBUF_DEFAULT_BUF_SIZE, n->socket,
		       rte_strerror(rte_errno));
		return -rte_errno;
	}
	for (unsigned q = 0; q < n->queues; q++) {
		n->bcast[q] = ring_make(n, FN_DPDK_BCAST_FMT, q,
					FN_DPDK_BCAST_SIZE);
		n->steer[q] = ring_make(n, FN_DPDK_STEER_FMT, q,
					FN_DPDK_STEER_SIZE);
		if (!n->bcast[q] || !n->steer[q])
			return -rte_errno;
	}
	return 0;
}

static void shared_free(struct nic *n)
{
	for (unsigned q = 0; q < FN_MAX_PIPELINES; q++) {
		rte_ring_free(n->bcast[q]);
		rte_ring_free(n->steer[q]);
		n->bcast[q] = n->steer[q] = NULL;
	}
	rte_mempool_free(n->pool);
	n->pool = NULL;
}

static int memseg_sum(const struct rte_memseg_list *msl,
		      const struct rte_memseg *ms, void *arg)
{
	(void)msl;
	*(uint64_t *)arg += ms->len;
	return 0;
}

/* Hugepage memory this primary holds, against the pre-flight estimate. */
static void hugepages_log(const struct nic *n)
{
	uint64_t used = 0;

	rte_memseg_walk(memseg_sum, &used);
	fn_info("hugepages: %" PRIu64 " MiB in use (%" PRIu64 " x 2 MiB), "
		"pre-flight estimate %" PRIu64 " MiB for %u mbufs",
		used >> 20, used >> 21, nic_hugepage_bytes_needed(n->cfg) >> 20,
		n->cfg->nic.mbufs);
}

static void ready_log(const struct nic *n)
{
	const struct fn_nic_conf *nc = &n->cfg->nic;
	char mac[18], addr[INET_ADDRSTRLEN] = "-";
	struct rte_ether_addr ea;

	memcpy(ea.addr_bytes, nc->mac, sizeof(ea.addr_bytes));
	nic_mac_str(&ea, mac);
	if (nc->pmd == FN_PMD_PCI) {
		fn_info("nic ready: port %u, %u queues, mac %s, pci %s", n->port,
			n->queues, mac, nc->pci);
		return;
	}
	if (nc->address.addr)
		inet_ntop(AF_INET, &nc->address.addr, addr, sizeof(addr));
	fn_info("nic ready: port %u, %u queues, mac %s, tap %s %s/%u", n->port,
		n->queues, mac, nc->ifname, addr, nc->address.prefix);
}

/*
 * The tap PMD arms each queue fd it opens to signal its owner (F_SETSIG, a
 * real-time signal, O_ASYNC) on every frame the kernel queues, and installs
 * a handler that only counts.  The owner is this process, which never
 * reads a queue: the drivers do.  Left alone, every frame of the pipeline
 * interrupts the nic (measured: a third of a cpu, and half the throughput
 * on 2 cpus).  So after the start, ignore every signal the PMD took: an
 * ignored signal is dropped when it is generated.
 */
static void nic_quiet_queue_signals(const struct nic *n)
{
	struct sigaction old, ign = { .sa_handler = SIG_IGN };
	int sigs[2 + SIGRTMAX - SIGRTMIN], nsig = 0, quieted = 0;

	if (n->cfg->nic.pmd != FN_PMD_TAP)
		return;
	sigs[nsig++] = SIGIO;
	for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
		sigs[nsig++] = s;
	for (int i = 0; i < nsig; i++) {
		if (sigaction(sigs[i], NULL, &old) < 0 ||
		    (!(old.sa_flags & SA_SIGINFO) &&
		     (old.sa_handler == SIG_DFL || old.sa_handler == SIG_IGN)))
			continue;
		if (sigaction(sigs[i], &ign, NULL) == 0) {
			fn_debug("ignoring signal %d, armed by the tap PMD on its "
				 "queue fds", sigs[i]);
			quieted++;
		}
	}
	fn_info("tap queue signals ignored: %d (the drivers poll the queues)",
		quieted);
}

/* Steps 4-6 of the file comment. */
static int nic_up(struct nic *n, const char *ready)
{
	int err = nic_port_probe(n);

	if (!err)
		err = shared_create(n);
	if (!err)
		err = nic_port_start(n);
	if (!err)
		nic_quiet_queue_signals(n);
	if (!err)
		err = nic_wake_open(n);
	if (!err)
		err = nic_share_open();
	if (!err && *n->stop)
		err = -EINTR;
	if (!err)
		err = ready_create(ready);
	if (!err) {
		hugepages_log(n);
		ready_log(n);
	}
	return err;
}

/*
 * Once the port is up (docs/security.md): of its capabilities the nic
 * keeps only CAP_NET_ADMIN, which the tap PMD needs to take its interface
 * down and away at stop, and the drivers' group (nic_share.c); it stays
 * uid 0, which owns the hugepage directory it adds pages to when the
 * memory grows, the runtime dir it cleans, and the drivers' sockets it
 * replies to.  NoNewPrivs as well.  Capabilities are per thread: EAL's
 * threads keep what they were started with.
 */
static int nic_drop_caps(void)
{
	unsigned long long keep = 1ull << CAP_NET_ADMIN;
	char why[256];

	/* With physical addresses (a PCI port whose kernel driver wants
	 * them; a tap is always IOVA as VA, fn_eal_args) a page added later
	 * needs its address from /proc/self/pagemap: CAP_SYS_ADMIN. */
	if (rte_eal_iova_mode() == RTE_IOVA_PA) {
		keep |= 1ull << CAP_SYS_ADMIN;
		fn_warn("IOVA as physical addresses: keeping CAP_SYS_ADMIN too, "
			"to add hugepages later");
	}
	if (nic_share_keep_group() < 0)
		return -1;
	if (fn_confine_caps(keep, 0, 0, NULL, 0, why, sizeof(why)) < 0) {
		fn_err("cannot drop my capabilities: %s", why);
		return -1;
	}
	return 0;
}

static void nic_idle(struct nic *n)
{
	do {
		if (n->stats)
			nic_stats_update(n->stats);
	} while (!nic_wait_signal(n, NIC_TICK_MS));
}

static void nic_down(struct nic *n, const char *ready)
{
	ready_remove(ready);
	nic_stats_close(n->stats);
	n->stats = NULL;
	nic_wake_close();
	nic_port_close(n);
	shared_free(n);
	rte_eal_cleanup();
}

/* Before EAL: checks and the stats page.  An exit code, or -1 to go on. */
static int nic_prepare(struct nic *n, struct fn_config *cfg, int argc,
		       char **argv, struct fn_stats_page **page)
{
	const char *path;
	int code, fd;

	path = parse_args(argc, argv, &code);
	if (!path)
		return code;
	if (config_load(cfg, path) < 0)
		return NIC_EXIT_USAGE;
	n->cfg = cfg;
	n->queues = (uint16_t)cfg->nic.queues;
	n->be = nic_backend_get(cfg->nic.pmd);
	n->stop = &stop_flag;
	fd = fn_env_fd(FN_ENV_STATS_FD);
	if (fd == -EINVAL)
		fn_warn(FN_ENV_STATS_FD " is not a descriptor number: no stats");
	if (fd >= 0 && !(*page = fn_stats_attach(fd)))
		fn_warn("cannot attach the stats page (fd %d): %s", fd,
			strerror(errno));
	if (nic_preflight_alone(cfg) < 0 || nic_preflight_hugepages(cfg) < 0 ||
	    n->be->preflight(cfg) < 0)
		return NIC_EXIT_RUNTIME;
	return signals_block(n) < 0 ? NIC_EXIT_RUNTIME : -1;
}

int main(int argc, char **argv)
{
	static struct fn_config cfg;
	static struct nic n;
	struct fn_stats_page *page = NULL;
	char ready[PATH_MAX];
	bool made_run_dir;
	int code;

	fn_log_init("nic", -1, FN_LOG_DEFAULT);
	code = nic_prepare(&n, &cfg, argc, argv, &page);
	if (code >= 0)
		return code;
	if (fn_nic_ready_path(&cfg, ready, sizeof(ready)) < 0) {
		fn_err("run_dir too long: %s", cfg.run_dir);
		return NIC_EXIT_USAGE;
	}
	made_run_dir = run_dir_ensure(&cfg);
	if (ready_remove(ready) < 0 || eal_init(&n) < 0) {
		code = NIC_EXIT_RUNTIME;
		goto out;
	}
	code = NIC_EXIT_OK;
	if (nic_up(&n, ready) < 0) {
		code = *n.stop ? NIC_EXIT_OK : NIC_EXIT_RUNTIME;
	} else {
		n.stats = nic_stats_open(&n, page);
		if (nic_drop_caps() < 0)
			code = NIC_EXIT_RUNTIME;
		else
			nic_idle(&n);
	}
	nic_down(&n, ready);
	fn_info("nic stopped");
out:
	if (made_run_dir)
		rmdir(cfg.run_dir);	/* only if empty: fine to fail */
	return code;
}
