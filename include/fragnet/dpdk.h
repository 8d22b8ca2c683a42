/*
 * fragnet/dpdk.h - the contract between fragnet-nic (DPDK primary) and its
 * fragnet-driver processes (DPDK secondaries, one per queue).
 *
 * DPDK's multi-process model shares one hugepage memory between a primary
 * and its secondaries; objects in it are found by NAME.  This header names
 * them; both sides build their EAL arguments with fn_eal_args() so that
 * they always agree on the file prefix and never probe PCI unasked.
 *
 *   object                 created by   used by            name
 *   ---------------------  -----------  -----------------  -------------------
 *   EAL runtime directory  nic          drivers            --file-prefix
 *                                                          FN_DPDK_PREFIX_FMT
 *   the port               nic          driver q: rx/tx    tap: FN_DPDK_TAP_VDEV
 *                                       queue q only       pci: its address
 *   mbuf pool              nic          drivers            FN_DPDK_POOL
 *   broadcast ring of q    nic          drivers: any puts, FN_DPDK_BCAST_FMT
 *                                       driver q takes
 *   readiness              nic          drivers wait       FRAGNET_RUN_DIR "/"
 *                                                          FN_NIC_READY
 *
 * START: the nic removes FN_NIC_READY, initialises EAL, creates the pool and
 * the rings, configures and starts the port (and, for a tap, brings up its
 * kernel side), then creates FN_NIC_READY.  A driver waits for that file
 * (bounded), then runs rte_eal_init() as a secondary.  The supervisor starts
 * the nic first and restarts every driver after a nic restart: secondaries
 * cannot outlive their primary.
 *
 * SHARED MAC AND IP (DESIGN.md, "Shared MAC and IP"): every stack of a NIC
 * has the NIC's MAC and IP; RSS (pci) or the tap's flow hashing spreads
 * flows over queues.  An ARP reply to stack j may land on queue k.  So a
 * driver that receives a broadcast, multicast or ARP frame also hands it to
 * every other queue's broadcast ring (the same mbuf, reference counted);
 * each driver drains its ring into its link like its own rx.  A full ring
 * drops and counts.  Unicast IP frames are never copied.
 */
#ifndef FRAGNET_DPDK_H
#define FRAGNET_DPDK_H

#include <stddef.h>

#include "fragnet/config.h"

#define FN_DPDK_PREFIX_FMT	"fragnet-%s"	/* topology name */
#define FN_DPDK_TAP_VDEV	"net_tap_fn"	/* tap PMD device name */
#define FN_DPDK_POOL		"fn_mbufs"
#define FN_DPDK_BCAST_FMT	"fn_bcast_%u"	/* queue index */
#define FN_DPDK_BCAST_SIZE	1024		/* entries per broadcast ring */
#define FN_DPDK_MBUF_CACHE	256
#define FN_NIC_READY		"nic.ready"
#define FN_NIC_READY_WAIT_MS	30000		/* a driver's patience */

#define FN_EAL_MAX_ARGS		24

/*
 * Build EAL argv for the nic (primary = true) or a driver (false) of cfg,
 * pinned to cpu (FN_CPU_AUTO: any allowed cpu, chosen by the caller).
 * argv[0] is prog.  Always --file-prefix; --no-pci unless pmd = pci, then
 * -a <pci> instead; the tap vdev for the primary of a tap NIC.  Strings go
 * into buf.  Returns argc or -E2BIG.
 */
int fn_eal_args(const struct fn_config *cfg, const char *prog, bool primary,
		int cpu, char *buf, size_t bufsize, char *argv[FN_EAL_MAX_ARGS]);

/* Path of the nic's readiness file for cfg, into buf. */
int fn_nic_ready_path(const struct fn_config *cfg, char *buf, size_t size);

#endif /* FRAGNET_DPDK_H */
