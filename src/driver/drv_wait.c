/*
 * drv_wait.c - where an idle driver sleeps: one epoll on every source of
 * its work, so that it costs nothing while idle and wakes for the next
 * frame (docs/driver.md, "Poll modes").
 *
 *   source                    fd in the epoll           made ready by
 *   ------------------------  ------------------------  -------------------
 *   NIC rx queue q            the queue's rx fd (nic)   the NIC (a tap: the
 *                                                       kernel queueing a
 *                                                       frame on the tun fd)
 *   our broadcast ring        queue bell q (nic)        the driver that put
 *                                                       frames on it
 *   the link from the stack   our doorbell (supervisor) the stack's submit,
 *                                                       when we are armed
 *   the nic's death           the nic's pidfd           the kernel
 *
 * The nic's fds come over EAL's multi-process channel (fragnet/dpdk.h,
 * WAKE-UPS); the doorbell from the supervisor (names.h).  With all of them
 * the sleep has no timeout.  Without an rx fd (a PMD without rx
 * interrupts) it has the old nap's timeout, so that the queue is polled;
 * without a doorbell, the driver naps on the link's futex as before.
 *
 * Call sequence: drv_wait_init() before anything can fail; drv_wait_open()
 * after drv_lookup(); drv_wait_sleep() from the loop after an idle turn;
 * drv_wait_ring(j) after frames went on queue j's broadcast ring;
 * drv_wait_close() at exit.
 *
 * NO LOST WAKE-UP: the link is armed (ring.h DOORBELLS: sleeping set,
 * fence, re-check) before epoll_wait, and disarmed after; the rx fd is
 * level-triggered (readable while the queue holds a frame); a bell is an
 * eventfd, written after the enqueue it announces and read only after we
 * woke.  So work that arrives after our last look always leaves an fd
 * ready.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "fragnet/dpdk.h"
#include "fragnet/log.h"
#include "drv.h"

enum { W_RX, W_BCAST, W_LINK, W_NIC };	/* epoll_event.data.u32 */

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void drv_wait_init(struct drv_wait *w)
{
	w->epfd = w->rx_fd = w->bell_fd = w->nic_fd = w->link_bell_fd = -1;
	for (unsigned q = 0; q < FN_MAX_PIPELINES; q++)
		w->peer_bell[q] = -1;
	w->forever = false;
}

/* Hand the reply's fds out in bit order; close what we did not ask for.
 * Returns 0 or -EPROTO (everything closed). */
static int wake_take(const struct rte_mp_msg *m, uint32_t want, int *out[3])
{
	static const uint32_t bits[3] = { FN_WAKE_BELL, FN_WAKE_NIC, FN_WAKE_RX };
	struct fn_dpdk_wake r;
	int i = 0;

	if (m->len_param != (int)sizeof(r))
		goto err_close;
	memcpy(&r, m->param, sizeof(r));
	if (r.version != FN_DPDK_WAKE_VERSION ||
	    __builtin_popcount(r.have) != m->num_fds)
		goto err_close;
	if (r.err)
		return -r.err;	/* no fds come with an error */
	for (int b = 0; b < 3; b++) {
		if (!(r.have & bits[b]))
			continue;
		if (want & bits[b])
			*out[b] = m->fds[i++];
		else
			close(m->fds[i++]);
	}
	return 0;

err_close:
	for (int k = 0; k < m->num_fds; k++)
		close(m->fds[k]);
	return -EPROTO;
}

/* Ask the nic for the wake-up fds of queue q (dpdk.h, WAKE-UPS). */
static int wake_ask(unsigned q, uint32_t want, int *bell, int *nic, int *rx)
{
	struct fn_dpdk_wake w = { .version = FN_DPDK_WAKE_VERSION, .queue = q,
				  .want = want };
	struct timespec ts = { FN_DPDK_WAKE_TIMEOUT_MS / 1000,
			       (FN_DPDK_WAKE_TIMEOUT_MS % 1000) * 1000000l };
	struct rte_mp_reply rep = { 0 };
	struct rte_mp_msg req;
	int *out[3] = { bell, nic, rx }, err;

	memset(&req, 0, sizeof(req));
	snprintf(req.name, sizeof(req.name), "%s", FN_DPDK_MP_WAKE);
	memcpy(req.param, &w, sizeof(w));
	req.len_param = sizeof(w);
	if (rte_mp_request_sync(&req, &rep, &ts) < 0 || rep.nb_received != 1) {
		err = rte_errno ? -rte_errno : -ETIMEDOUT;
		free(rep.msgs);
		return err;
	}
	err = wake_take(&rep.msgs[0], want, out);
	free(rep.msgs);
	return err;
}

static int epoll_add(struct drv_wait *w, int fd, uint32_t what)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = what };

	if (fd < 0)
		return 0;
	return epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* Our queue's fds and every other queue's bell, from the nic. */
static int wake_fetch(struct drv *d)
{
	struct drv_wait *w = &d->wait;
	int err, none = -1;

	err = wake_ask(d->queue, FN_WAKE_BELL | FN_WAKE_NIC | FN_WAKE_RX,
		       &w->bell_fd, &w->nic_fd, &w->rx_fd);
	for (unsigned q = 0; q < d->nqueues && err == 0; q++)
		if (q != d->queue)
			err = wake_ask(q, FN_WAKE_BELL, &w->peer_bell[q], &none,
				       &none);
	return err;
}

int drv_wait_open(struct drv *d)
{
	struct drv_wait *w = &d->wait;
	int err = wake_fetch(d);

	if (err < 0)
		fn_warn("no wake-up fds from the nic (%s): napping on the queue",
			strerror(-err));
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0) {
		fn_err("epoll_create1: %s", strerror(errno));
		return -errno;
	}
	err = epoll_add(w, w->rx_fd, W_RX);
	if (!err)
		err = epoll_add(w, w->bell_fd, W_BCAST);
	if (!err)
		err = epoll_add(w, w->link_bell_fd, W_LINK);
	if (!err)
		err = epoll_add(w, w->nic_fd, W_NIC);
	if (err < 0) {
		fn_err("epoll_ctl: %s", strerror(-err));
		return err;
	}
	w->forever = w->rx_fd >= 0 && w->bell_fd >= 0 && w->link_bell_fd >= 0;
	fn_info("sleeping on: NIC queue %s, broadcast bell %s, stack bell %s, "
		"nic pidfd %s: %s", w->rx_fd >= 0 ? "yes" : "no",
		w->bell_fd >= 0 ? "yes" : "no",
		w->link_bell_fd >= 0 ? "yes" : "no",
		w->nic_fd >= 0 ? "yes" : "no",
		w->forever ? "no timer" : "naps");
	return 0;
}

void drv_wait_close(struct drv *d)
{
	struct drv_wait *w = &d->wait;

	close_fd(&w->epfd);
	close_fd(&w->rx_fd);
	close_fd(&w->bell_fd);
	close_fd(&w->nic_fd);
	for (unsigned q = 0; q < FN_MAX_PIPELINES; q++)
		close_fd(&w->peer_bell[q]);
	/* link_bell_fd is the supervisor's gift for our whole life. */
}

void drv_wait_ring(struct drv *d, unsigned q)
{
	uint64_t one = 1;

	if (d->wait.peer_bell[q] >= 0 &&
	    write(d->wait.peer_bell[q], &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is full, that driver wakes anyway. */
	}
}

static void bell_drain(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		fn_debug("bell fd %d: %s", fd, strerror(errno));
}

/* What woke us: count it, empty the bells.  -ENODEV if the nic died. */
static int woken(struct drv *d, const struct epoll_event *ev, int n)
{
	int ret = 0;

	if (n == 0)
		drv_count(d, D_WAKE_TIMER, 1);
	d->wait.rx_quiet = n > 0;
	for (int i = 0; i < n; i++) {
		switch (ev[i].data.u32) {
		case W_RX:
			drv_count(d, D_WAKE_NIC, 1);
			d->wait.rx_quiet = false;
			break;
		case W_BCAST:
			drv_count(d, D_WAKE_BCAST, 1);
			bell_drain(d->wait.bell_fd);
			break;
		case W_LINK:
			drv_count(d, D_WAKE_LINK, 1);
			bell_drain(d->wait.link_bell_fd);
			break;
		case W_NIC:
			ret = -ENODEV;
			break;
		}
	}
	return ret;
}

/* Arm the link (ring.h DOORBELLS).  1: armed, sleep; 0: work is there (or
 * a reset was just taken), do not sleep; -EPIPE: the stack is cut off,
 * sleep without it (the supervisor's reset rings our bell). */
static int link_arm(struct drv *d)
{
	int r = fn_stream_arm(&d->link.rx);

	if (r >= 0)
		return r;
	drv_link_error(d, r);
	return r == -EPIPE ? r : 0;
}

int drv_wait_sleep(struct drv *d, int64_t timeout_ns)
{
	struct drv_wait *w = &d->wait;
	struct epoll_event ev[4];
	struct timespec ts = { timeout_ns / 1000000000ll,
			       (long)(timeout_ns % 1000000000ll) };
	int armed, n, ret;

	w->rx_quiet = false;
	if (w->epfd < 0 || w->link_bell_fd < 0) {
		/* No doorbell: the stack can wake us only on the futex. */
		drv_count(d, D_IDLE_NAPS, 1);
		n = fn_stream_wait(&d->link.rx, timeout_ns);
		if (n < 0)
			drv_link_error(d, n);
		if (n == -EPIPE)	/* returns at once: nap anyway */
			nanosleep(&ts, NULL);
		return 0;
	}
	armed = link_arm(d);
	if (armed == 0)
		return 0;
	drv_count(d, D_IDLE_NAPS, 1);
	n = epoll_pwait2(w->epfd, ev, 4, timeout_ns < 0 ? NULL : &ts, NULL);
	ret = n < 0 ? 0 : woken(d, ev, n);	/* EINTR: SIGTERM, look */
	if (armed > 0)
		fn_stream_disarm(&d->link.rx);
	return ret;
}

bool drv_wait_forever(const struct drv *d)
{
	return d->wait.forever;
}

bool drv_wait_rx_wakes(const struct drv *d)
{
	return d->wait.rx_fd >= 0 && d->wait.epfd >= 0 &&
	       d->wait.link_bell_fd >= 0;
}
