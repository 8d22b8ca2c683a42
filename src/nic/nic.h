/*
 * nic.h - internal interfaces of fragnet-nic, the DPDK primary.
 *
 * Modules (one binary, `fragnet-nic`):
 *   fragnet-nic.c   main: environment, config, EAL, the idle loop, teardown
 *   preflight.c     checks before EAL: a live primary, hugepages
 *   port.c          the port: configure, queues, start; backend dispatch
 *   port_tap.c      backend pmd = tap (net_tap vdev, kernel side via netlink)
 *   port_pci.c      backend pmd = pci (ixgbe or any PCI PMD, RSS)
 *   tap_netlink.c   rtnetlink with libmnl: address and link state of a tap
 *   nic_stats.c     the stats page, refreshed every NIC_TICK_MS
 *   nic_wake.c      the drivers' wake-up fds, over EAL's mp channel
 *
 * Everything here is private to the binary.  The objects shared with the
 * drivers are named in fragnet/dpdk.h and nowhere else.
 */
#ifndef FRAGNET_NIC_H
#define FRAGNET_NIC_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_ethdev.h>

#include "fragnet/config.h"
#include "fragnet/stats.h"

#define NIC_TICK_MS		500	/* stats refresh and signal wait */
#define NIC_RX_DESC		1024	/* wanted; the device may adjust */
#define NIC_TX_DESC		1024
#define NIC_LINK_WAIT_MS	10000	/* pmd = pci: patience for link up */

/* Exit codes: 0 clean stop, 1 runtime or environment error, 2 usage or
 * config error (the supervisor's convention). */
enum { NIC_EXIT_OK = 0, NIC_EXIT_RUNTIME = 1, NIC_EXIT_USAGE = 2 };

struct nic;

/*
 * A NIC backend (pmd = tap | pci), chosen once by nic_backend_get().  Every
 * hook returns 0 or a negative errno after logging a message that names
 * the fix.  Called in this order:
 *   preflight  before EAL init, without DPDK: does the device exist?
 *   find       after EAL init: the port id of the device
 *   conf       fill the rte_eth_conf for rte_eth_dev_configure()
 *   prestart   queues are set up, the port is not started yet
 *   started    the port runs: whatever needs a running device
 */
struct nic_backend {
	const char *name;
	int (*preflight)(const struct fn_config *cfg);
	int (*find)(struct nic *n);
	int (*conf)(struct nic *n, struct rte_eth_conf *conf);
	int (*prestart)(struct nic *n);
	int (*started)(struct nic *n);
};

struct nic_stats;

struct nic {
	const struct fn_config *cfg;
	const struct nic_backend *be;
	volatile sig_atomic_t *stop;	/* set when SIGTERM/SIGINT was seen */
	sigset_t sigs;			/* the blocked signals we wait for */

	uint16_t port;
	bool port_found, port_configured, port_started;
	uint16_t queues;
	uint16_t nb_rxd, nb_txd;
	int socket;			/* NUMA socket of the port */
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;	/* what we asked for */

	struct rte_mempool *pool;
	struct rte_ring *bcast[FN_MAX_PIPELINES];
	struct rte_ring *steer[FN_MAX_PIPELINES];
	struct rte_flow *flow[FN_MAX_PIPELINES];	/* port_steer.c */

	struct nic_stats *stats;
};

/* port.c */
const struct nic_backend *nic_backend_get(enum fn_pmd pmd);
int nic_port_probe(struct nic *n);
int nic_port_start(struct nic *n);
void nic_port_close(struct nic *n);
bool nic_wait_signal(struct nic *n, unsigned ms);

/* port_tap.c, port_pci.c */
extern const struct nic_backend nic_backend_tap;
extern const struct nic_backend nic_backend_pci;

/* port_steer.c: per-pipeline MACs and rte_flow rules (pci only) */
void nic_steer_install(struct nic *n);
void nic_steer_remove(struct nic *n);

/* preflight.c */
uint64_t nic_hugepage_bytes_needed(const struct fn_config *cfg);
int nic_preflight_hugepages(const struct fn_config *cfg);
int nic_preflight_alone(const struct fn_config *cfg);

/* tap_netlink.c */
int tapnl_configure(const char *ifname, uint32_t addr, uint8_t prefix);
int tapnl_set_mac(const char *ifname, const uint8_t mac[6]);

/* nic_wake.c */
/* nic_share.c: the drivers' group may open the DPDK files they need. */
int nic_share_open(void);
int nic_share_keep_group(void);

int nic_wake_open(struct nic *n);
void nic_wake_close(void);

/* nic_stats.c */
struct nic_stats *nic_stats_open(struct nic *n, struct fn_stats_page *page);
void nic_stats_update(struct nic_stats *st);
void nic_stats_close(struct nic_stats *st);

/* helpers shared by the modules (port.c) */
void nic_mac_str(const struct rte_ether_addr *mac, char out[18]);
void nic_link_str(const struct rte_eth_link *l, char *buf, size_t len);
const char *nic_strerror(int err);

#endif /* FRAGNET_NIC_H */
