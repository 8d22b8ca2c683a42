/*
 * port.c - the port of fragnet-nic: probe, configure, start, close.
 *
 * Call sequence (from fragnet-nic.c):
 *   nic_backend_get(pmd)   the backend, chosen here and nowhere else
 *   be->preflight()        before EAL init (preflight.c runs alongside)
 *   nic_port_probe()       after EAL init: port id, device info, queue
 *                          limits -> n->socket for the pool and rings
 *   nic_port_start()       configure N rx + N tx queues, descriptors, the
 *                          backend's hooks, rte_eth_dev_start(), one log
 *                          line that says exactly what was configured
 *   nic_port_close()       stop and close (what was done is undone)
 *
 * Queue q of the port belongs to fragnet-driver q; the nic itself never
 * calls rx or tx burst.  Offloads stay off: a driver copies each frame
 * into its link's slot, where ol_flags and hashes would be lost anyway,
 * and lwIP checks and computes its own checksums.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>

#include "fragnet/dpdk.h"
#include "fragnet/log.h"
#include "nic.h"

const struct nic_backend *nic_backend_get(enum fn_pmd pmd)
{
	return pmd == FN_PMD_PCI ? &nic_backend_pci : &nic_backend_tap;
}

void nic_mac_str(const struct rte_ether_addr *mac, char out[18])
{
	rte_ether_format_addr(out, 18, mac);
}

/* "up 10000 Mbps full-duplex" (rte_eth_link_to_str is experimental in
 * 22.11, and -Werror keeps experimental APIs out). */
void nic_link_str(const struct rte_eth_link *l, char *buf, size_t len)
{
	if (l->link_status != RTE_ETH_LINK_UP) {
		snprintf(buf, len, "down");
		return;
	}
	if (l->link_speed == RTE_ETH_SPEED_NUM_UNKNOWN)
		snprintf(buf, len, "up, speed unknown, %s-duplex",
			 l->link_duplex ? "full" : "half");
	else
		snprintf(buf, len, "up %u Mbps %s-duplex", l->link_speed,
			 l->link_duplex ? "full" : "half");
}

const char *nic_strerror(int err)
{
	return rte_strerror(err < 0 ? -err : err);
}

/*
 * Wait up to ms for SIGTERM/SIGINT (blocked in every thread since before
 * EAL init).  Returns true, and sets *n->stop, when one arrived.
 */
bool nic_wait_signal(struct nic *n, unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	siginfo_t si;
	int sig = sigtimedwait(&n->sigs, &si, &ts);

	if (sig > 0) {
		fn_info("%s: stopping", strsignal(sig));
		*n->stop = 1;
	}
	return *n->stop != 0;
}

/* The device must give a queue per pipeline in both directions. */
static int port_check_queues(const struct nic *n)
{
	const struct rte_eth_dev_info *di = &n->info;

	if (n->cfg->nic.pmd == FN_PMD_TAP && n->queues > FN_TAP_MAX_QUEUES) {
		fn_err("a tap NIC serves at most %u queues to driver processes "
		       "(its queue fds travel in one DPDK multi-process message "
		       "of at most 8 fds); the topology wants %u; fix: "
		       "pipelines <= %u, or pmd = pci", FN_TAP_MAX_QUEUES,
		       n->queues, FN_TAP_MAX_QUEUES);
		return -EINVAL;
	}
	if (n->queues <= di->max_rx_queues && n->queues <= di->max_tx_queues)
		return 0;
	fn_err("%s (port %u, driver %s) gives at most %u rx and %u tx queues; "
	       "the topology wants %u (one per pipeline); fix: pipelines <= %u",
	       rte_dev_name(di->device), n->port, di->driver_name,
	       di->max_rx_queues, di->max_tx_queues, n->queues,
	       RTE_MIN(di->max_rx_queues, di->max_tx_queues));
	return -EINVAL;
}

/* After EAL init: find the port and what it can do. */
int nic_port_probe(struct nic *n)
{
	int err = n->be->find(n);

	if (err < 0)
		return err;
	n->port_found = true;
	err = rte_eth_dev_info_get(n->port, &n->info);
	if (err < 0) {
		fn_err("port %u: cannot get device info: %s", n->port,
		       nic_strerror(err));
		return err;
	}
	err = rte_eth_dev_socket_id(n->port);
	n->socket = err < 0 ? (int)rte_socket_id() : err;
	fn_info("port %u: %s, driver %s, socket %d, max %u rx / %u tx queues, "
		"reta size %u", n->port, rte_dev_name(n->info.device),
		n->info.driver_name, n->socket, n->info.max_rx_queues,
		n->info.max_tx_queues, n->info.reta_size);
	return port_check_queues(n);
}

/*
 * Every rx descriptor holds an mbuf from the start (the tap PMD fills its
 * iovecs at queue setup, ixgbe its ring at start), and each lcore cache
 * can hold FN_DPDK_MBUF_CACHE * 1.5.  Fewer mbufs than that fails queue
 * setup, or starves rx at once.
 */
static int port_check_mbufs(const struct nic *n)
{
	unsigned need = (unsigned)n->queues * n->nb_rxd +
			(n->queues + 1u) * FN_DPDK_MBUF_CACHE * 3 / 2;

	if (n->cfg->nic.mbufs >= need)
		return 0;
	fn_err("[nic] mbufs = %u is too few: %u queues x %u rx descriptors plus "
	       "the per-cpu caches need %u; fix: mbufs = %u or more",
	       n->cfg->nic.mbufs, n->queues, n->nb_rxd, need, need * 2);
	return -ENOBUFS;
}

static int port_configure(struct nic *n)
{
	int err;

	memset(&n->conf, 0, sizeof(n->conf));
	err = n->be->conf(n, &n->conf);
	if (err < 0)
		return err;
	err = rte_eth_dev_configure(n->port, n->queues, n->queues, &n->conf);
	if (err < 0) {
		fn_err("port %u: rte_eth_dev_configure(%u rx, %u tx queues, "
		       "mq_mode %d, rss_hf 0x%" PRIx64 "): %s", n->port,
		       n->queues, n->queues, n->conf.rxmode.mq_mode,
		       n->conf.rx_adv_conf.rss_conf.rss_hf, nic_strerror(err));
		return err;
	}
	n->port_configured = true;
	n->nb_rxd = NIC_RX_DESC;
	n->nb_txd = NIC_TX_DESC;
	err = rte_eth_dev_adjust_nb_rx_tx_desc(n->port, &n->nb_rxd, &n->nb_txd);
	if (err < 0) {
		fn_err("port %u: cannot fit %u/%u descriptors to the device: %s",
		       n->port, NIC_RX_DESC, NIC_TX_DESC, nic_strerror(err));
		return err;
	}
	return port_check_mbufs(n);
}

static int port_queues(struct nic *n)
{
	int err;

	for (uint16_t q = 0; q < n->queues; q++) {
		err = rte_eth_rx_queue_setup(n->port, q, n->nb_rxd,
					     (unsigned)n->socket, NULL, n->pool);
		if (err < 0) {
			fn_err("port %u: rx queue %u (%u descriptors): %s",
			       n->port, q, n->nb_rxd, nic_strerror(err));
			return err;
		}
		err = rte_eth_tx_queue_setup(n->port, q, n->nb_txd,
					     (unsigned)n->socket, NULL);
		if (err < 0) {
			fn_err("port %u: tx queue %u (%u descriptors): %s",
			       n->port, q, n->nb_txd, nic_strerror(err));
			return err;
		}
	}
	return 0;
}

static void port_log(const struct nic *n)
{
	struct rte_ether_addr mac;
	char m[18] = "?";
	uint16_t mtu = 0;

	if (rte_eth_macaddr_get(n->port, &mac) == 0)
		nic_mac_str(&mac, m);
	rte_eth_dev_get_mtu(n->port, &mtu);
	fn_info("port %u configured: %u rx queues x %u descriptors, %u tx "
		"queues x %u descriptors, mq_mode %s, rss_hf 0x%" PRIx64
		", offloads rx 0x%" PRIx64 " tx 0x%" PRIx64 ", mac %s, mtu %u, "
		"promiscuous %s, allmulticast %s", n->port, n->queues, n->nb_rxd,
		n->queues, n->nb_txd,
		n->conf.rxmode.mq_mode == RTE_ETH_MQ_RX_RSS ? "rss" : "none",
		n->conf.rx_adv_conf.rss_conf.rss_hf, n->conf.rxmode.offloads,
		n->conf.txmode.offloads, m, mtu,
		rte_eth_promiscuous_get(n->port) == 1 ? "on" : "off",
		rte_eth_allmulticast_get(n->port) == 1 ? "on" : "off");
}

/* Configure, set up the queues, start.  The pool must exist. */
int nic_port_start(struct nic *n)
{
	int err = port_configure(n);

	if (!err)
		err = port_queues(n);
	if (!err)
		err = n->be->prestart(n);
	if (err < 0)
		return err;
	err = rte_eth_dev_start(n->port);
	if (err < 0) {
		fn_err("port %u: rte_eth_dev_start: %s", n->port,
		       nic_strerror(err));
		return err;
	}
	n->port_started = true;
	port_log(n);
	return n->be->started(n);
}

void nic_port_close(struct nic *n)
{
	int err;

	nic_steer_remove(n);
	if (n->port_started) {
		err = rte_eth_dev_stop(n->port);
		if (err < 0)
			fn_warn("port %u: rte_eth_dev_stop: %s", n->port,
				nic_strerror(err));
		n->port_started = false;
	}
	if (n->port_found) {
		/* Also right for a port that was only probed: closing a
		 * tap removes its kernel interface. */
		err = rte_eth_dev_close(n->port);
		if (err < 0)
			fn_warn("port %u: rte_eth_dev_close: %s", n->port,
				nic_strerror(err));
		n->port_found = n->port_configured = false;
	}
}
