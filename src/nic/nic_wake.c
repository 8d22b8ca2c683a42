/*
 * nic_wake.c - the fds a driver sleeps on (fragnet/dpdk.h, WAKE-UPS),
 * handed out over EAL's multi-process channel.
 *
 * Call sequence (fragnet-nic.c): nic_wake_open() once the port runs and
 * before the ready file, so that a driver finds the action registered;
 * nic_wake_close() after the ready file is gone.
 *
 * The action runs in EAL's multi-process thread.  It reads only what
 * nic_wake_open() wrote before registering it, and nic_wake_close()
 * unregisters it before it closes anything.
 *
 * OWNERSHIP: the bells and the pidfd are ours, closed at exit.  The rx
 * fds are the PMD's (for a tap, the queue's tun fd): we only lend them,
 * and a driver gets its own copy with the reply (SCM_RIGHTS).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

#include "fragnet/dpdk.h"
#include "fragnet/log.h"
#include "nic.h"

/* The action gets no context pointer: one nic per process. */
static struct {
	unsigned queues;
	int bell[FN_MAX_PIPELINES];
	int rx[FN_MAX_PIPELINES];	/* the PMD's: never closed here */
	int self;			/* pidfd of this process, or -1 */
	bool opened;			/* the fds above are valid or -1 */
	bool registered;
} wk;

/* Put fd in the reply if it was asked for and exists. */
static void give(struct rte_mp_msg *m, struct fn_dpdk_wake *r, uint32_t want,
		 uint32_t bit, int fd)
{
	if (!(want & bit) || fd < 0)
		return;
	m->fds[m->num_fds++] = fd;
	r->have |= bit;
}

static int wake_reply(const struct rte_mp_msg *req, const void *peer)
{
	struct fn_dpdk_wake q = { 0 }, r = { .version = FN_DPDK_WAKE_VERSION };
	struct rte_mp_msg msg;

	memset(&msg, 0, sizeof(msg));
	snprintf(msg.name, sizeof(msg.name), "%s", FN_DPDK_MP_WAKE);
	if (req->len_param == (int)sizeof(q))
		memcpy(&q, req->param, sizeof(q));
	r.queue = q.queue;
	if (q.version != FN_DPDK_WAKE_VERSION)
		r.err = EPROTO;
	else if (q.queue >= wk.queues)
		r.err = ERANGE;
	if (r.err == 0) {
		give(&msg, &r, q.want, FN_WAKE_BELL, wk.bell[q.queue]);
		give(&msg, &r, q.want, FN_WAKE_NIC, wk.self);
		give(&msg, &r, q.want, FN_WAKE_RX, wk.rx[q.queue]);
	}
	memcpy(msg.param, &r, sizeof(r));
	msg.len_param = sizeof(r);
	if (rte_mp_reply(&msg, peer) < 0) {
		fn_warn("wake-up fds of queue %u: cannot reply: %s", q.queue,
			rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

/* The PMD's rx interrupt fd of queue q, where it has one. */
static int rx_fd(const struct nic *n, uint16_t q)
{
	if (!n->conf.intr_conf.rxq)
		return -1;
	return rte_eth_dev_rx_intr_ctl_q_get_fd(n->port, q);
}

int nic_wake_open(struct nic *n)
{
	unsigned nrx = 0;

	wk.queues = n->queues;
	for (unsigned q = 0; q < FN_MAX_PIPELINES; q++)
		wk.bell[q] = wk.rx[q] = -1;
	wk.self = -1;
	wk.opened = true;
	for (uint16_t q = 0; q < n->queues; q++) {
		wk.bell[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (wk.bell[q] < 0) {
			fn_err("eventfd for the bell of queue %u: %s", q,
			       strerror(errno));
			return -errno;
		}
		wk.rx[q] = rx_fd(n, q);
		nrx += wk.rx[q] >= 0;
	}
	wk.self = pidfd_open(getpid(), 0);
	if (wk.self < 0)
		fn_warn("pidfd_open: %s: the drivers check on us with a timer",
			strerror(errno));
	if (rte_mp_action_register(FN_DPDK_MP_WAKE, wake_reply) < 0) {
		fn_err("cannot register the multi-process action %s: %s",
		       FN_DPDK_MP_WAKE, rte_strerror(rte_errno));
		return -rte_errno;
	}
	wk.registered = true;
	fn_info("driver wake-ups: rx interrupt fds for %u of %u queues%s, "
		"a bell per queue, %s", nrx, n->queues,
		nrx == n->queues ? "" : " (the others nap on their queue)",
		wk.self >= 0 ? "our pidfd" : "no pidfd");
	return 0;
}

void nic_wake_close(void)
{
	if (!wk.opened)
		return;
	if (wk.registered)
		rte_mp_action_unregister(FN_DPDK_MP_WAKE);
	wk.registered = false;
	for (unsigned q = 0; q < FN_MAX_PIPELINES; q++) {
		if (wk.bell[q] >= 0)
			close(wk.bell[q]);
		wk.bell[q] = wk.rx[q] = -1;
	}
	if (wk.self >= 0)
		close(wk.self);
	wk.self = -1;
	wk.queues = 0;
	wk.opened = false;
}
