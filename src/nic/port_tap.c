/*
 * port_tap.c - backend pmd = tap: DPDK's net_tap vdev, N queues.
 *
 * fn_eal_args() puts --vdev=net_tap_fn,iface=IFNAME,mac=MAC on the
 * primary's EAL command line, so the port exists once EAL is up: the tap
 * PMD has opened /dev/net/tun with IFF_MULTI_QUEUE and created the kernel
 * interface IFNAME.  The DPDK side's MAC, which the stacks share, is MAC;
 * the 22.11 PMD gives the kernel side that same MAC (and writes it there
 * again at every dev_start), so once the port runs we give the kernel side
 * its own (tap_kernel_mac()): a wire whose two ends have one address
 * works, but confuses every capture and any peer that checks source
 * addresses.  The PMD never filters on either MAC.
 * Each queue pair is one more tun fd; a secondary
 * (fragnet-driver) gets the fds of all queues from the primary over EAL's
 * multi-process channel when it probes the vdev, which is why this process
 * must stay alive while the drivers run.
 *
 * No RSS (mq_mode NONE), on purpose.  The 22.11 tap PMD has no RSS of its
 * own: dev_info says flow_type_rss_offloads = ~TAP_RSS_HF_MASK, but
 * rss_hf in rte_eth_conf changes nothing; spreading by hash is only
 * available through an rte_flow RSS action, which loads an eBPF classifier
 * into the kernel with TC (cls_bpf plus a multiq qdisc), needs a kernel
 * built for it and is an optional part of the PMD.  None of that is
 * needed: the kernel's tun driver already spreads a multiqueue tap's
 * traffic over its queues (tun_select_queue: a flow hash over the packet,
 * and a flow table that sends a flow back to the queue that last wrote
 * it).  That is the tap's "RSS", and it is what the paper's NIC does: each
 * flow sticks to one queue.  ARP frames have no IP addresses or ports for
 * that hash, so they all hash alike and all land on one queue: the one
 * that last wrote an ARP frame (or a fixed one), not necessarily the
 * queue whose stack asked.  Hence the broadcast fan-out of dpdk.h.
 *
 * The tap PMD does no MAC filtering at all: every frame the kernel sends
 * into the tap reaches a queue.  Promiscuous stays off and allmulticast on
 * to say what we want (broadcast and ARP delivered) even so; on a tap both
 * only set the kernel interface's flags.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <rte_ethdev.h>

#include "fragnet/dpdk.h"
#include "fragnet/log.h"
#include "nic.h"

#define TUN_PATH	"/dev/net/tun"

static int tap_preflight(const struct fn_config *cfg)
{
	if (access(TUN_PATH, R_OK | W_OK) < 0) {
		fn_err("%s: %s; the tap NIC needs the tun driver; fix: modprobe "
		       "tun (and run as root)", TUN_PATH, strerror(errno));
		return -ENODEV;
	}
	/* The PMD would attach to an existing tap of that name, or fail
	 * with a bare TUNSETIFF error: refuse with the reason instead. */
	if (if_nametoindex(cfg->nic.ifname) != 0) {
		fn_err("interface %s already exists (another topology's tap, or "
		       "not a tap at all); fix: ip link del %s, or set [nic] "
		       "ifname to a free name", cfg->nic.ifname,
		       cfg->nic.ifname);
		return -EEXIST;
	}
	return 0;
}

static int tap_find(struct nic *n)
{
	int err = rte_eth_dev_get_port_by_name(FN_DPDK_TAP_VDEV, &n->port);

	if (err < 0)
		fn_err("no port %s after EAL init: the tap PMD did not probe "
		       "(librte_net_tap missing from the DPDK plugin directory, "
		       "or the vdev arguments were refused; see EAL's messages "
		       "above)", FN_DPDK_TAP_VDEV);
	return err < 0 ? -ENODEV : 0;
}

/*
 * Rx "interrupts": with intr_conf.rxq the PMD puts each rx queue's tun fd
 * in its interrupt vector at start (tap_rx_intr_vec_install in 22.11), so
 * rte_eth_dev_rx_intr_ctl_q_get_fd() gives it to us, and nic_wake.c lends
 * it to the queue's driver to sleep on (dpdk.h, WAKE-UPS).  Nothing else
 * changes: the PMD has no rx_queue_intr_enable, and a tun fd is readable
 * whenever its queue holds a frame.
 */
static int tap_conf(struct nic *n, struct rte_eth_conf *conf)
{
	(void)n;
	conf->rxmode.mq_mode = RTE_ETH_MQ_RX_NONE;
	conf->txmode.mq_mode = RTE_ETH_MQ_TX_NONE;
	conf->intr_conf.rxq = 1;
	return 0;
}

/*
 * The kernel side's MAC: [nic] mac with bit 2 of the first byte flipped,
 * kept locally administered and unicast.  Derived, not random, so that it
 * survives a nic restart and the stacks' ARP caches stay right.
 * 02:00:00:00:00:01 gives 06:00:00:00:00:01.
 */
static void tap_kernel_mac(const uint8_t mac[6], uint8_t out[6])
{
	memcpy(out, mac, 6);
	out[0] = (uint8_t)(((mac[0] ^ 0x04) | 0x02) & ~0x01);
}

static int tap_prestart(struct nic *n)
{
	const struct fn_nic_conf *nc = &n->cfg->nic;
	int err = rte_eth_promiscuous_disable(n->port);

	if (err < 0)
		fn_warn("port %u: promiscuous off: %s", n->port,
			nic_strerror(err));
	err = rte_eth_allmulticast_enable(n->port);
	if (err < 0)
		fn_warn("port %u: allmulticast on: %s", n->port,
			nic_strerror(err));
	return tapnl_configure(nc->ifname, nc->address.addr,
			       nc->address.prefix);
}

static int tap_started(struct nic *n)
{
	struct rte_eth_link link;
	char buf[64] = "unknown", m[18];
	struct rte_ether_addr kmac;
	int err;

	tap_kernel_mac(n->cfg->nic.mac, kmac.addr_bytes);
	err = tapnl_set_mac(n->cfg->nic.ifname, kmac.addr_bytes);
	if (err < 0)
		return err;
	nic_mac_str(&kmac, m);
	fn_info("port %u: kernel side %s has MAC %s", n->port,
		n->cfg->nic.ifname, m);
	if (rte_eth_link_get_nowait(n->port, &link) == 0)
		nic_link_str(&link, buf, sizeof(buf));
	fn_info("port %u: tap %s, link %s (queues spread by the kernel's tun flow "
		"hash, no DPDK RSS)", n->port, n->cfg->nic.ifname, buf);
	if (n->cfg->stack.addressing == FN_ADDRESSING_PER_PIPELINE &&
	    n->queues > 1)
		fn_info("port %u: per-pipeline addressing: no rte_flow on the "
			"tap, the drivers steer each frame to its pipeline's MAC",
			n->port);
	return 0;
}

const struct nic_backend nic_backend_tap = {
	.name = "tap",
	.preflight = tap_preflight,
	.find = tap_find,
	.conf = tap_conf,
	.prestart = tap_prestart,
	.started = tap_started,
};
