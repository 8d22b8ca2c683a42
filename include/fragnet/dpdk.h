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
 *   EAL runtime directory  nic          drivers; the       FN_DPDK_RUN_ROOT "/"
 *                                       supervisor         FN_DPDK_PREFIX_FMT
 *                                       removes it         (--file-prefix)
 *   its config file        nic, write-  drivers, nic,      FN_DPDK_CONFIG,
 *                          locked while supervisor: is     in it
 *                          it lives     the primary alive?
 *   the port               nic          driver q: rx/tx    tap: FN_DPDK_TAP_VDEV
 *                                       queue q only       pci: its address
 *   mbuf pool              nic          drivers            FN_DPDK_POOL
 *   broadcast ring of q    nic          drivers: any puts, FN_DPDK_BCAST_FMT
 *                                       driver q takes
 *   steer ring of q        nic          drivers: any puts, FN_DPDK_STEER_FMT
 *                                       driver q takes
 *   readiness              nic          drivers wait       FRAGNET_RUN_DIR "/"
 *                                                          FN_NIC_READY
 *   wake-up fds of q       nic          drivers (WAKE-UPS) FN_DPDK_MP_WAKE
 *                                                          (an EAL mp action)
 *
 * START: the nic removes FN_NIC_READY, initialises EAL, creates the pool and
 * the rings, configures and starts the port (and, for a tap, brings up its
 * kernel side), gives the runtime directory, its config file and socket
 * and every hugepage file (and each one it adds later) to the group of
 * FN_DPDK_USER (confine.h; src/nic/nic_share.c), then creates
 * FN_NIC_READY.  A driver waits for that file
 * (bounded), then runs rte_eal_init() as a secondary, as root, and once it
 * has its fds becomes FN_DPDK_USER: what EAL opens after that must be the
 * group's.  The supervisor starts
 * the nic first and restarts every driver after a nic restart: secondaries
 * cannot outlive their primary.
 *
 * ADDRESSING (docs/architecture.md, "Addressing"; config.h enum
 * fn_addressing).  shared: every stack of a NIC has the NIC's MAC and IP;
 * RSS (pci) or the tap's flow hashing spreads flows over queues.  An ARP
 * reply to stack j may land on queue k.  So a driver that receives a
 * broadcast, multicast or ARP frame also hands it to every other queue's
 * broadcast ring (the same mbuf, reference counted); each driver drains its
 * ring into its link like its own rx.  A full ring drops and counts.
 * Unicast IP frames are never copied.
 *
 * per-pipeline: stack j has a MAC of its own (fn_pipeline_conf.stack_mac),
 * and every driver knows them all (queue j -> MAC j, from the config).
 *   1. A unicast frame from NIC queue q for MAC j (j != q) is put on steer
 *      ring j, not on q's link (the pointer, no copy: the mbuf is j's once
 *      the ring took it); driver j drains its steer ring into its link.
 *      This is how a frame the NIC (RSS, the tun hash, a PMD without
 *      rte_flow) put on the wrong queue reaches its stack.
 *   2. A unicast frame stack q sends to MAC j goes on steer ring j instead
 *      of the NIC (the hairpin); a broadcast or multicast one goes on every
 *      other broadcast ring (a reference each) and to the NIC.
 *   3. Only group frames are fanned out from the NIC (step 1 routes unicast
 *      ARP by its MAC).
 * A full ring drops and counts (drop_steer_full, drop_hairpin_full).  The
 * taker tells the kinds apart by the mbuf's port: RTE_MBUF_PORT_INVALID on
 * one a driver allocated for its stack's frame (hairpin_in), the port on
 * one the NIC received (steered_in, bcast_in).  A driver that puts frames
 * on ring j (either kind) rings bell j afterwards: one bell per queue wakes
 * for both rings.
 *
 * WAKE-UPS (docs/driver.md, "Poll modes"): an idle driver sleeps in one
 * epoll on every source of its work, with no timer.  Three of its fds are
 * the nic's to give; a driver is a DPDK secondary, and an fd travels only
 * with a message, so they come over EAL's multi-process channel:
 *
 *   fd                  made by the nic                driver q
 *   ------------------  -----------------------------  --------------------
 *   bell of queue j     an eventfd per queue, at start  j = q: waits on it;
 *                                                       j != q: writes it
 *                                                       after putting frames
 *                                                       on fn_bcast_j or
 *                                                       fn_steer_j
 *   rx fd of queue j    the PMD's rx interrupt fd       j = q: waits on it,
 *                       (rte_eth_dev_rx_intr_ctl_q_     never reads it (tap:
 *                       get_fd; intr_conf.rxq = 1)      the queue's tun fd,
 *                                                       readable while the
 *                                                       queue holds frames)
 *   the nic             pidfd_open(the nic)             waits on it: readable
 *                                                       once the nic is dead
 *
 * The driver sends FN_DPDK_MP_WAKE with a struct fn_dpdk_wake as param:
 * version, queue j, want = the FN_WAKE_* it asks for.  The nic replies with
 * the same struct, err = 0 or a positive errno, have = the FN_WAKE_* it
 * sends, and one fd per bit of have in bit order.  An rx fd is missing where
 * the PMD has no rx interrupts: that driver naps on its queue as before.
 * The fds stay open in the nic until it exits; a driver closes its copies.
 */
#ifndef FRAGNET_DPDK_H
#define FRAGNET_DPDK_H

#include <stddef.h>
#include <stdint.h>

#include "fragnet/config.h"

#define FN_DPDK_PREFIX_FMT	"fragnet-%s"	/* topology name */
/* EAL's runtime directories when it runs as root (eal_create_runtime_dir:
 * else $XDG_RUNTIME_DIR/dpdk or /tmp/dpdk), and its config file in one. */
#define FN_DPDK_RUN_ROOT	"/var/run/dpdk"
#define FN_DPDK_CONFIG		"config"
#define FN_DPDK_TAP_VDEV	"net_tap_fn"	/* tap PMD device name */
#define FN_DPDK_POOL		"fn_mbufs"
#define FN_DPDK_BCAST_FMT	"fn_bcast_%u"	/* queue index */
#define FN_DPDK_BCAST_SIZE	1024		/* entries per broadcast ring */
#define FN_DPDK_STEER_FMT	"fn_steer_%u"	/* queue index */
#define FN_DPDK_STEER_SIZE	1024		/* entries per steer ring */
#define FN_DPDK_MBUF_CACHE	256
#define FN_NIC_READY		"nic.ready"
#define FN_NIC_READY_WAIT_MS	30000		/* a driver's patience */

#define FN_EAL_MAX_ARGS		24

#define FN_DPDK_MP_WAKE		"fn_wake"	/* rte_mp action of the nic */
#define FN_DPDK_WAKE_VERSION	1u
#define FN_DPDK_WAKE_TIMEOUT_MS	5000		/* a driver's patience */

enum {
	FN_WAKE_BELL = 1u << 0,	/* the queue's bell */
	FN_WAKE_NIC = 1u << 1,	/* a pidfd of the nic */
	FN_WAKE_RX = 1u << 2,	/* the queue's rx interrupt fd */
};

/* The param of FN_DPDK_MP_WAKE, request and reply (both sides are built
 * from this header, and the version is checked). */
struct fn_dpdk_wake {
	uint32_t version;	/* FN_DPDK_WAKE_VERSION */
	uint32_t queue;		/* j */
	uint32_t want;		/* request: FN_WAKE_* */
	uint32_t have;		/* reply: FN_WAKE_*, one fd each, bit order */
	int32_t err;		/* reply: 0, or a positive errno */
};

/*
 * The tap PMD hands a secondary its rx and tx queue fds in one multi-process
 * message of at most RTE_MP_MAX_FD_NUM (8) fds: 4 queues at most.
 */
#define FN_TAP_MAX_QUEUES	4

/*
 * LCORE IDS: every process of a topology maps the same mempool, whose
 * per-lcore caches live in shared memory, indexed by lcore id and used
 * without locks.  Two processes with one lcore id would corrupt a cache
 * (e.g. two drivers on one cpu), so ids are unique per topology: the nic
 * is lcore 0, driver q is lcore q + 1, each mapped onto the cpu it runs on
 * (--lcores=ID@CPU).
 */
#define FN_LCORE_NIC		0u
#define FN_LCORE_DRIVER(q)	(1u + (q))

/*
 * Build EAL argv for the nic (primary = true) or a driver (false) of cfg,
 * as lcore id `lcore` pinned to cpu (>= 0; the caller picks one of its
 * allowed cpus).  argv[0] is prog.  Always --file-prefix; --no-pci unless
 * pmd = pci, then -a <pci> instead; the tap vdev for the primary of a tap
 * NIC.  Strings go into buf.  Returns argc, -EINVAL for a negative cpu or
 * -E2BIG.
 */
int fn_eal_args(const struct fn_config *cfg, const char *prog, bool primary,
		unsigned lcore, int cpu, char *buf, size_t bufsize,
		char *argv[FN_EAL_MAX_ARGS]);

/* Path of the nic's readiness file for cfg, into buf. */
int fn_nic_ready_path(const struct fn_config *cfg, char *buf, size_t size);

#endif /* FRAGNET_DPDK_H */
