/*
 * drv_eal.c - the driver's side of the nic <-> driver contract
 * (fragnet/dpdk.h): wait for the nic, join its EAL as a secondary, find
 * the port, the mbuf pool and the broadcast rings by name.
 *
 * Call sequence (main): drv_wait_nic() -> drv_eal_init() -> drv_lookup()
 * -> ... drv_nic_alive() now and then from the loop ... -> drv_eal_fini().
 *
 * A secondary cannot outlive its primary: it shares the primary's hugepage
 * memory and the port's state.  So every failure here is fatal with an
 * exit code of its own (drv.h), and the supervisor restarts us once the
 * nic is back.  Nothing here stops, closes or reconfigures the port: it is
 * the nic's.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "fragnet/clock.h"
#include "fragnet/dpdk.h"
#include "fragnet/log.h"
#include "drv.h"

#define READY_POLL_MS	10
#define EAL_ARGS_BUF	2048

/*
 * Where the primary keeps its EAL config file, whose lock tells whether it
 * is alive.  EAL's own rule (eal_create_runtime_dir): /var/run/dpdk for
 * root, else $XDG_RUNTIME_DIR/dpdk or /tmp/dpdk; then the file prefix.
 */
static int eal_config_path(const struct drv *d, char *buf, size_t size)
{
	const char *dir = getenv("XDG_RUNTIME_DIR");
	char root[PATH_MAX], prefix[FN_NAME_MAX + 16];
	int n;

	if (getuid() == 0)
		snprintf(root, sizeof(root), "%s", FN_DPDK_RUN_ROOT);
	else
		snprintf(root, sizeof(root), "%s/dpdk",
			 dir && *dir ? dir : "/tmp");
	snprintf(prefix, sizeof(prefix), FN_DPDK_PREFIX_FMT, d->cfg.name);
	n = snprintf(buf, size, "%s/%s/" FN_DPDK_CONFIG, root, prefix);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static void nap_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);	/* SIGTERM cuts it short */
}

/*
 * Wait until the nic has created its ready file AND its EAL is alive.  The
 * second check catches a ready file left behind by a nic that died: the
 * supervisor restarts that nic, which removes the file first (dpdk.h START).
 * Bounded by FN_NIC_READY_WAIT_MS.
 */
int drv_wait_nic(struct drv *d)
{
	char ready[PATH_MAX], config[PATH_MAX];
	int64_t deadline = fn_clock_ms() + FN_NIC_READY_WAIT_MS;
	bool told = false;
	struct stat st;

	if (fn_nic_ready_path(&d->cfg, ready, sizeof(ready)) < 0 ||
	    eal_config_path(d, config, sizeof(config)) < 0) {
		fn_err("run directory path too long");
		return -ENAMETOOLONG;
	}
	while (!drv_stopping) {
		bool file = stat(ready, &st) == 0;

		if (file && rte_eal_primary_proc_alive(config))
			return 0;
		if (fn_clock_ms() >= deadline) {
			fn_err("the nic is not ready after %u ms: %s; is fragnet-nic "
			       "running for topology '%s'? (see its log)",
			       FN_NIC_READY_WAIT_MS, file ?
			       "its ready file exists but its EAL is not alive" :
			       "no ready file", d->cfg.name);
			fn_err("  ready file: %s, EAL config: %s", ready, config);
			return -ETIMEDOUT;
		}
		if (!told) {
			fn_info("waiting for the nic (%s)", ready);
			told = true;
		}
		nap_ms(READY_POLL_MS);
	}
	return -EINTR;
}

static void log_args(int argc, char **argv)
{
	char line[EAL_ARGS_BUF];
	size_t used = 0;

	line[0] = '\0';
	for (int i = 0; i < argc && used < sizeof(line); i++) {
		int n = snprintf(line + used, sizeof(line) - used, "%s%s",
				 i ? " " : "", argv[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	fn_info("EAL: %s", line);
}

/* What a failed secondary rte_eal_init() most likely means, from rte_errno
 * as EAL 22.11 sets it (eal_init() in lib/eal/linux/eal.c). */
static const char *eal_hint(int err)
{
	switch (err) {
	case ENOMEM:
		return "could not map the nic's hugepage memory at the primary's "
		       "addresses (an address-space collision of this process; "
		       "it is random, a restart usually works: the supervisor "
		       "restarts us)";
	case EACCES:
		return "cannot read the primary's hugepage information (is the "
		       "nic running, and are we root?)";
	case EALREADY:
		return "EAL was already initialised in this process";
	case ENODEV:
	case ENOTSUP:
		return "cannot attach to the nic's devices (the port or the "
		       "memory heap); is the nic healthy?";
	default:
		return "cannot attach to the nic's EAL (is the nic running? "
		       "'Cannot init config' or 'Cannot mmap memory for "
		       "rte_config' above is an address-space collision: the "
		       "supervisor restarts us)";
	}
}

int drv_eal_init(struct drv *d, const char *prog)
{
	static char buf[EAL_ARGS_BUF];
	char *argv[FN_EAL_MAX_ARGS];
	int argc, ret;

	argc = fn_eal_args(&d->cfg, prog, false, FN_LCORE_DRIVER(d->queue),
			   d->cpu, buf, sizeof(buf), argv);
	if (argc < 0) {
		fn_err("EAL arguments: %s", strerror(-argc));
		return argc;
	}
	log_args(argc, argv);
	rte_errno = 0;
	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		int err = rte_errno;

		fn_err("rte_eal_init as a secondary failed (%s): %s",
		       err ? strerror(err) : "no reason given", eal_hint(err));
		return -(err ? err : EIO);
	}
	if (rte_eal_process_type() != RTE_PROC_SECONDARY) {
		fn_err("EAL did not start as a secondary process");
		rte_eal_cleanup();
		return -EPROTO;
	}
	return 0;
}

/* The port named by the topology: the tap vdev, or the PCI device. */
static int lookup_port(struct drv *d)
{
	const char *name = d->cfg.nic.pmd == FN_PMD_TAP ? FN_DPDK_TAP_VDEV :
							  d->cfg.nic.pci;
	struct rte_eth_dev_info info;
	int ret;

	ret = rte_eth_dev_get_port_by_name(name, &d->port);
	if (ret < 0) {
		fn_err("no DPDK port '%s' (%s): did the nic probe it? (%u ports "
		       "visible)", name, strerror(-ret), rte_eth_dev_count_avail());
		return -ENODEV;
	}
	ret = rte_eth_dev_info_get(d->port, &info);
	if (ret < 0) {
		fn_err("port %s: cannot read its info: %s", name, strerror(-ret));
		return ret;
	}
	if (d->queue >= info.nb_rx_queues || d->queue >= info.nb_tx_queues) {
		fn_err("port %s has %u rx / %u tx queues configured; this driver "
		       "serves queue %u ([nic] queues must equal pipelines)",
		       name, info.nb_rx_queues, info.nb_tx_queues, d->queue);
		return -ERANGE;
	}
	fn_info("port %s = %u, driver %s, %u rx / %u tx queues, serving queue %u",
		name, d->port, info.driver_name, info.nb_rx_queues,
		info.nb_tx_queues, d->queue);
	return 0;
}

static int lookup_pool(struct drv *d)
{
	uint32_t room;

	d->pool = rte_mempool_lookup(FN_DPDK_POOL);
	if (!d->pool) {
		fn_err("no mempool '%s': the nic creates it before its ready file",
		       FN_DPDK_POOL);
		return -ENOENT;
	}
	room = rte_pktmbuf_data_room_size(d->pool);
	if (room <= RTE_PKTMBUF_HEADROOM + RTE_ETHER_HDR_LEN) {
		fn_err("mempool '%s': data room %u is too small", FN_DPDK_POOL, room);
		return -EINVAL;
	}
	d->tx_room = room - RTE_PKTMBUF_HEADROOM;
	fn_info("mempool %s: %u mbufs, %u bytes of frame each", FN_DPDK_POOL,
		d->pool->size, d->tx_room);
	return 0;
}

/* Ring fmt of queue q (what names it in a message), or NULL, logged. */
static struct rte_ring *lookup_ring(const struct drv *d, const char *fmt,
				    const char *what, unsigned q)
{
	char name[RTE_RING_NAMESIZE];
	struct rte_ring *r;

	snprintf(name, sizeof(name), fmt, q);
	r = rte_ring_lookup(name);
	if (!r)
		fn_err("no %s ring '%s' (queue %u of %u): the nic creates one "
		       "per queue", what, name, q, d->nqueues);
	return r;
}

/* Every queue's rings: ours to drain, the others to fill. */
static int lookup_rings(struct drv *d)
{
	for (unsigned q = 0; q < d->nqueues; q++) {
		d->bcast[q] = lookup_ring(d, FN_DPDK_BCAST_FMT, "broadcast", q);
		d->steer[q] = lookup_ring(d, FN_DPDK_STEER_FMT, "steer", q);
		if (!d->bcast[q] || !d->steer[q])
			return -ENOENT;
	}
	return 0;
}

int drv_lookup(struct drv *d)
{
	int ret = lookup_port(d);

	if (ret == 0)
		ret = lookup_pool(d);
	if (ret == 0)
		ret = lookup_rings(d);
	return ret;
}

/* The primary holds a lock on its config file while it lives. */
bool drv_nic_alive(void)
{
	return rte_eal_primary_proc_alive(NULL) != 0;
}

void drv_eal_fini(struct drv *d)
{
	/* Mbufs parked on our ring are references we hold: give them back. */
	if (d->pool)
		drv_bcast_drain(d);
	rte_eal_cleanup();
}
