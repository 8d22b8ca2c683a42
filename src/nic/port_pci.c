/*
 * port_pci.c - backend pmd = pci: one PCI port (-a ADDRESS, nothing else
 * is probed), RSS over IPv4/TCP/UDP onto N queues.
 *
 * The reference device is the paper's Intel X540 (ixgbe PMD).  What the
 * code relies on, and the ixgbe specifics (82599/X540 datasheets, DPDK
 * drivers/net/ixgbe):
 *   - RSS hashes with Toeplitz over IPv4 addresses, plus TCP/UDP ports when
 *     those types are enabled.  dev_info.flow_type_rss_offloads is
 *     IXGBE_RSS_OFFLOAD_ALL (IPv4, IPv4-TCP, IPv4-UDP and the IPv6 kinds);
 *     rte_eth_dev_configure() refuses any bit outside it, so we ask for
 *     IP|TCP|UDP masked by it.  Fragments hash by addresses only, so all
 *     fragments of one datagram reach the same queue.
 *   - The key: we pass none (rss_key = NULL) and ixgbe programs its 40-byte
 *     default, the well-known Microsoft verification key 6d5a56da...; it is
 *     not symmetric, so the two directions of a flow may hash to different
 *     queues (irrelevant here: the wire side always sends to us, and our
 *     stacks' own outgoing flows come back on whatever queue the hash
 *     picks, which is why ARP and broadcasts are fanned out, dpdk.h).
 *   - RETA: 128 entries on 82599/X540 (512 on X550), each a queue index;
 *     RSS reaches at most 16 queues (4-bit entries) although max_rx_queues
 *     says 128, so more than 16 pipelines are refused.  ixgbe fills the
 *     RETA round-robin at dev_start unless the application has updated it;
 *     we write it after start (i % queues, spread evenly) and read it back
 *     for the log, so the log says what the hardware has.
 *   - Per-queue counters: 16 of them, and every queue maps to counter 0
 *     until rte_eth_dev_set_{rx,tx}_queue_stats_mapping() says otherwise.
 *   - Descriptors: 32..4096 in multiples of 8, so 1024 fits as is.
 *   - MAC: the port takes [nic] mac (RAR[0]), the MAC every stack uses
 *     with shared addressing.  With per-pipeline addressing each
 *     pipeline's MAC is added (RAR[1..]) and an rte_flow rule per
 *     pipeline asked for (port_steer.c); ixgbe's rte_flow takes a dst MAC
 *     rule only in its flow director's MAC-VLAN mode, so expect the
 *     fallback there: RSS, and the drivers steer in software.
 *     Promiscuous off; broadcast is accepted by default (FCTRL.BAM), and
 *     multicast is not needed (no IPv4 multicast in the stacks), so
 *     allmulticast stays off: each multicast frame would be copied to
 *     every queue by the fan-out.
 *   - Link: 10GBASE-T autonegotiation takes seconds; we wait up to
 *     NIC_LINK_WAIT_MS and go on with a warning (the stats page shows the
 *     link state).
 * This path cannot run on a machine without the NIC; it builds and is
 * reviewed (docs/nic.md, "Running on an X540").
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_ethdev.h>

#include "fragnet/log.h"
#include "nic.h"

#define PCI_SYSFS		"/sys/bus/pci/devices"
#define IXGBE_RSS_MAX_QUEUES	16
#define NIC_RETA_MAX		RTE_ETH_RSS_RETA_SIZE_512
#define LINK_POLL_MS		100

/* Drivers DPDK can use the device through: user-space I/O, or bifurcated
 * PMDs that sit on the kernel driver. */
static const char *const dpdk_drivers[] = {
	"vfio-pci", "uio_pci_generic", "igb_uio", "mlx5_core", "mlx4_core",
};

static int sysfs_read(const char *pci, const char *file, char *buf,
		      size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), PCI_SYSFS "/%s/%s", pci, file);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* The kernel driver bound to the device ("" for none). */
static void pci_driver(const char *pci, char *buf, size_t len)
{
	char path[PATH_MAX], link[PATH_MAX];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), PCI_SYSFS "/%s/driver", pci);
	n = readlink(path, link, sizeof(link) - 1);
	buf[0] = '\0';
	if (n <= 0)
		return;
	link[n] = '\0';
	base = strrchr(link, '/');
	base = base ? base + 1 : link;
	if (strlen(base) < len)
		memcpy(buf, base, strlen(base) + 1);
}

static bool dpdk_capable(const char *drv)
{
	for (size_t i = 0; i < sizeof(dpdk_drivers) / sizeof(*dpdk_drivers); i++)
		if (strcmp(drv, dpdk_drivers[i]) == 0)
			return true;
	return false;
}

static int pci_preflight(const struct fn_config *cfg)
{
	const char *pci = cfg->nic.pci;
	char path[PATH_MAX], vendor[16] = "?", device[16] = "?", drv[64];
	struct stat st;

	snprintf(path, sizeof(path), PCI_SYSFS "/%s", pci);
	if (stat(path, &st) < 0) {
		fn_err("no PCI device %s (%s); fix: set [nic] pci to the port's "
		       "address as `lspci -D` or `dpdk-devbind.py --status` "
		       "shows it", pci, strerror(errno));
		return -ENODEV;
	}
	sysfs_read(pci, "vendor", vendor, sizeof(vendor));
	sysfs_read(pci, "device", device, sizeof(device));
	pci_driver(pci, drv, sizeof(drv));
	fn_info("PCI %s: vendor %s device %s, driver %s", pci, vendor, device,
		drv[0] ? drv : "none");
	if (!drv[0]) {
		fn_err("PCI %s is bound to no driver; fix: modprobe vfio-pci; "
		       "dpdk-devbind.py -b vfio-pci %s", pci, pci);
		return -ENODEV;
	}
	if (!dpdk_capable(drv)) {
		fn_err("PCI %s is bound to the kernel driver %s, DPDK cannot "
		       "use it; fix: ip link set <its interface> down; modprobe "
		       "vfio-pci; dpdk-devbind.py -b vfio-pci %s", pci, drv, pci);
		return -EBUSY;
	}
	if (strcmp(drv, "vfio-pci") == 0 && access("/dev/vfio/vfio", F_OK) < 0) {
		fn_err("PCI %s uses vfio-pci but /dev/vfio/vfio is missing; fix: "
		       "modprobe vfio-pci", pci);
		return -ENODEV;
	}
	return 0;
}

static int pci_find(struct nic *n)
{
	const char *pci = n->cfg->nic.pci;
	int err = rte_eth_dev_get_port_by_name(pci, &n->port);

	if (err < 0)
		fn_err("PCI %s was not probed by any DPDK PMD (no PMD for this "
		       "device, or vfio-pci could not take it: IOMMU off? see "
		       "EAL's messages above); fix: dpdk-devbind.py --status, "
		       "and docs/nic.md", pci);
	return err < 0 ? -ENODEV : 0;
}

static bool is_ixgbe(const struct nic *n)
{
	return strcmp(n->info.driver_name, "net_ixgbe") == 0;
}

static int pci_conf(struct nic *n, struct rte_eth_conf *conf)
{
	uint64_t want = RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP;
	uint64_t hf = want & n->info.flow_type_rss_offloads;

	conf->txmode.mq_mode = RTE_ETH_MQ_TX_NONE;
	conf->rxmode.mq_mode = RTE_ETH_MQ_RX_NONE;
	if (n->queues == 1)
		return 0;		/* one queue: nothing to spread */
	if (!hf) {
		fn_err("%s (driver %s) hashes none of IPv4/TCP/UDP (RSS "
		       "offloads 0x%" PRIx64 "); fix: pipelines = 1, or another "
		       "NIC", n->cfg->nic.pci, n->info.driver_name,
		       n->info.flow_type_rss_offloads);
		return -ENOTSUP;
	}
	if (is_ixgbe(n) && n->queues > IXGBE_RSS_MAX_QUEUES) {
		fn_err("ixgbe RSS spreads over at most %u queues, the topology "
		       "wants %u; fix: pipelines <= %u", IXGBE_RSS_MAX_QUEUES,
		       n->queues, IXGBE_RSS_MAX_QUEUES);
		return -EINVAL;
	}
	conf->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
	conf->rx_adv_conf.rss_conf.rss_key = NULL;	/* the PMD's default */
	conf->rx_adv_conf.rss_conf.rss_hf = hf;
	return 0;
}

/* Per-queue counters in rte_eth_stats, for the first 16 queues. */
static void pci_stats_mapping(const struct nic *n)
{
	for (uint16_t q = 0; q < n->queues && q < RTE_ETHDEV_QUEUE_STAT_CNTRS;
	     q++) {
		int a = rte_eth_dev_set_rx_queue_stats_mapping(n->port, q,
							       (uint8_t)q);
		int b = rte_eth_dev_set_tx_queue_stats_mapping(n->port, q,
							       (uint8_t)q);
		if ((a < 0 && a != -ENOTSUP) || (b < 0 && b != -ENOTSUP))
			fn_warn("port %u: queue %u stats mapping: %s", n->port,
				q, nic_strerror(a < 0 ? a : b));
	}
}

static int pci_prestart(struct nic *n)
{
	struct rte_ether_addr hw, mac;
	char h[18] = "?", m[18];
	int err;

	memcpy(mac.addr_bytes, n->cfg->nic.mac, RTE_ETHER_ADDR_LEN);
	nic_mac_str(&mac, m);
	if (rte_eth_macaddr_get(n->port, &hw) == 0)
		nic_mac_str(&hw, h);
	err = rte_eth_dev_default_mac_addr_set(n->port, &mac);
	if (err < 0) {
		fn_err("port %u: cannot set MAC %s ([nic] mac): %s", n->port, m,
		       nic_strerror(err));
		return err;
	}
	fn_info("port %u: MAC %s from [nic] mac (burned-in %s)", n->port, m, h);
	err = rte_eth_promiscuous_disable(n->port);
	if (err < 0 && err != -ENOTSUP)
		fn_warn("port %u: promiscuous off: %s", n->port,
			nic_strerror(err));
	pci_stats_mapping(n);
	return 0;
}

/* "0 1 0 1 ..." of the RETA as read back, and how many entries each
 * queue got. */
static void reta_log(const struct nic *n,
		     const struct rte_eth_rss_reta_entry64 *reta, unsigned size)
{
	char list[600], hist[300];
	unsigned per_q[FN_MAX_PIPELINES] = { 0 };
	size_t l = 0, h = 0;

	for (unsigned i = 0; i < size; i++) {
		uint16_t q = reta[i / RTE_ETH_RETA_GROUP_SIZE]
				 .reta[i % RTE_ETH_RETA_GROUP_SIZE];

		if (q < FN_MAX_PIPELINES)
			per_q[q]++;
		if (i < 128 && l < sizeof(list))
			l += (size_t)snprintf(list + l, sizeof(list) - l, "%s%u",
					      i ? " " : "", q);
	}
	for (unsigned q = 0; q < n->queues && h < sizeof(hist); q++)
		h += (size_t)snprintf(hist + h, sizeof(hist) - h, "%sq%u:%u",
				      q ? " " : "", q, per_q[q]);
	fn_info("port %u: RETA %u entries (%s): %s%s", n->port, size, hist,
		list, size > 128 ? " ..." : "");
}

static int pci_reta(struct nic *n)
{
	struct rte_eth_rss_reta_entry64 reta[NIC_RETA_MAX / RTE_ETH_RETA_GROUP_SIZE];
	unsigned size = n->info.reta_size;
	int err;

	if (size == 0 || size > NIC_RETA_MAX) {
		fn_warn("port %u: RETA size %u not usable here; the PMD's own "
			"spreading applies", n->port, size);
		return 0;
	}
	memset(reta, 0, sizeof(reta));
	for (unsigned i = 0; i < size; i++) {
		reta[i / RTE_ETH_RETA_GROUP_SIZE].mask |=
			1ull << (i % RTE_ETH_RETA_GROUP_SIZE);
		reta[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE] =
			(uint16_t)(i % n->queues);
	}
	err = rte_eth_dev_rss_reta_update(n->port, reta, (uint16_t)size);
	if (err < 0) {
		fn_err("port %u: RETA update (%u entries over %u queues): %s",
		       n->port, size, n->queues, nic_strerror(err));
		return err;
	}
	for (unsigned g = 0; g < size / RTE_ETH_RETA_GROUP_SIZE; g++)
		memset(reta[g].reta, 0xff, sizeof(reta[g].reta));
	err = rte_eth_dev_rss_reta_query(n->port, reta, (uint16_t)size);
	if (err < 0)
		fn_warn("port %u: RETA read back: %s", n->port,
			nic_strerror(err));
	else
		reta_log(n, reta, size);
	return 0;
}

static void rss_log(const struct nic *n)
{
	uint8_t key[64] = { 0 };
	char hex[2 * sizeof(key) + 1] = "";
	struct rte_eth_rss_conf rc = { .rss_key = key,
				       .rss_key_len = sizeof(key) };
	int err = rte_eth_dev_rss_hash_conf_get(n->port, &rc);
	unsigned len;

	if (err < 0) {
		fn_warn("port %u: cannot read the RSS configuration back: %s",
			n->port, nic_strerror(err));
		return;
	}
	/* Not every PMD sets rss_key_len on the way out (ixgbe does not):
	 * the device's key size is what it copied. */
	len = n->info.hash_key_size ? n->info.hash_key_size : rc.rss_key_len;
	for (unsigned i = 0; i < len && i < sizeof(key); i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	fn_info("port %u: RSS rss_hf 0x%" PRIx64 " (asked 0x%" PRIx64 "), "
		"key %u bytes %s", n->port, rc.rss_hf,
		n->conf.rx_adv_conf.rss_conf.rss_hf, len, hex);
}

/* Bounded wait for link up; SIGTERM/SIGINT cut it short. */
static void pci_link_wait(struct nic *n)
{
	struct rte_eth_link link = { 0 };
	char buf[64];
	unsigned waited = 0;

	while (rte_eth_link_get_nowait(n->port, &link) == 0 &&
	       link.link_status != RTE_ETH_LINK_UP &&
	       waited < NIC_LINK_WAIT_MS) {
		if (nic_wait_signal(n, LINK_POLL_MS))
			return;
		waited += LINK_POLL_MS;
	}
	nic_link_str(&link, buf, sizeof(buf));
	if (link.link_status == RTE_ETH_LINK_UP)
		fn_info("port %u: link %s (after %u ms)", n->port, buf, waited);
	else
		fn_warn("port %u: link still down after %u ms (cable? peer?); "
			"going on, the stats page shows the link state",
			n->port, waited);
}

static int pci_started(struct nic *n)
{
	if (n->conf.rxmode.mq_mode == RTE_ETH_MQ_RX_RSS) {
		int err = pci_reta(n);

		if (err < 0)
			return err;
		rss_log(n);
	}
	nic_steer_install(n);
	pci_link_wait(n);
	return 0;
}

const struct nic_backend nic_backend_pci = {
	.name = "pci",
	.preflight = pci_preflight,
	.find = pci_find,
	.conf = pci_conf,
	.prestart = pci_prestart,
	.started = pci_started,
};
