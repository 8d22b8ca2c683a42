/*
 * wait.c - waiting in libfragnet-preload.so: blocking socket calls, epoll,
 * poll and select over a mix of stack sockets and kernel fds.
 *
 * One pattern everywhere (sock.h WAITING): with the lock held, process the
 * channel's events and compute the stack sockets' readiness; if something
 * is ready, look at the kernel fds without blocking and return both.  Else
 * arm the app bell (fn_sock_arm; 0 means events are already there: loop),
 * drop the lock, and block in the kernel on the kernel fds plus the bell
 * (ppoll: it takes the caller's signal mask, so epoll_pwait, ppoll and
 * pselect keep their atomicity); on waking, retake the lock, disarm, drain
 * the bell and loop.  An epoll instance's kernel fds are waited on through
 * the epoll fd itself (an epoll fd is pollable), so the app's own epoll set
 * is never changed.
 *
 * Several threads share one bell and one sleeping flag per ring.  A thread
 * that used the channel while another slept rings the bell when it lets
 * go of the lock (pl_unlock), since it may have taken the sleeper's events
 * or cleared the flag.  One write to the bell wakes only the sleeper that
 * reads it first (the others' poll finds it drained again), so each
 * sleeping thread also waits on an eventfd of its own, listed while it
 * sleeps (wakers[]), and the thread that drained the bell writes to every
 * other listed one: each looks at its sockets again.  A multi-threaded
 * server (memcached: an accepting thread, worker threads, each in its own
 * epoll_wait) needs it, or a worker's data waits until it looks again.
 * A thread without an eventfd of its own (none could be made, or more
 * than MAX_WAKERS sleep) wakes at least every SLICE_MS instead.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fragnet/clock.h"
#include "preload.h"

#define SLICE_MS	50
#define MAX_WAKERS	64
#define SMALL_POLL	64

/* Deadline for timeout_ms (< 0: none). */
static int64_t deadline(int64_t timeout_ms)
{
	return timeout_ms < 0 ? -1 : fn_clock_ms() + timeout_ms;
}

/* ms left before until (-1: forever). */
static int64_t left_ms(int64_t until)
{
	int64_t l;

	if (until < 0)
		return -1;
	l = until - fn_clock_ms();
	return l > 0 ? l : 0;
}

uint64_t pl_ready_now(void)
{
	return 2 * pl_chan.ev_seq + 1;
}

/* since (may be NULL): 2 x fn_sock_ready_seq, even, so that an event
 * handled after a report (at pl_ready_now(), odd) sorts after it. */
uint32_t pl_sock_ready(struct pl_sock *s, void *ctx, uint64_t *since)
{
	unsigned ev;

	(void)ctx;
	if (since)
		*since = 2 * fn_sock_ready_seq(&pl_chan, s->h);
	if (pl_sock_revive(s) < 0)
		return 0;	/* a listener being made again: nothing yet */
	ev = fn_sock_events(&pl_chan, s->h);
	if (!(ev & POLLIN) || s->listening) {	/* (idle sockets: cheap) */
		s->seen_nread = 0;
	} else {
		int64_t n = fn_sock_nread(&pl_chan, s->h);

		if (n > s->seen_nread)	/* more data: a new edge, as epoll's */
			s->edge++;
		s->seen_nread = n;
		if (fn_sock_rd_closed(&pl_chan, s->h) > 0)
			ev |= POLLRDHUP;
	}
	return ev & (POLLIN | POLLOUT | POLLERR | POLLHUP | POLLRDHUP | POLLNVAL);
}

/* The sleeping threads' own eventfds (lock-guarded), and this thread's. */
static int wakers[MAX_WAKERS];
static unsigned nwakers;
static __thread int my_waker = -1;
static pthread_key_t waker_key;
static pthread_once_t waker_once = PTHREAD_ONCE_INIT;

static void waker_close(void *p)
{
	real_close((int)(intptr_t)p - 1);
}

static void waker_key_make(void)
{
	if (pthread_key_create(&waker_key, waker_close) != 0)
		waker_key = (pthread_key_t)-1;
}

/* This thread has no eventfd (any more): nothing to close at its exit. */
static void waker_forget(void)
{
	if (my_waker >= 0 && waker_key != (pthread_key_t)-1)
		pthread_setspecific(waker_key, NULL);
	my_waker = -1;
}

/* This thread's eventfd (made at its first sleep, closed when it exits),
 * or -1. */
static int waker_fd(void)
{
	pthread_once(&waker_once, waker_key_make);
	if (my_waker < 0 && waker_key != (pthread_key_t)-1) {
		my_waker = real_eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (my_waker >= 0)
			pthread_setspecific(waker_key,
					    (void *)(intptr_t)(my_waker + 1));
	}
	return my_waker;
}

/* In a fork child: the listed eventfds are the parent's threads', and
 * this thread's own is shared with its parent's copy (one eventfd object):
 * forget them all, so that neither process takes the other's wake-ups. */
void pl_wait_forked(void)
{
	nwakers = 0;
	if (my_waker >= 0)
		real_close(my_waker);
	waker_forget();
}

/* Lock held: list fd (>= 0) as a sleeper's; false if the list is full. */
static bool waker_add(int fd)
{
	if (fd < 0 || nwakers == MAX_WAKERS)
		return false;
	wakers[nwakers++] = fd;
	return true;
}

static void waker_del(int fd)
{
	for (unsigned i = 0; i < nwakers; i++)
		if (wakers[i] == fd) {
			wakers[i] = wakers[--nwakers];
			return;
		}
}

/* Lock held: every other sleeper looks again. */
static void waker_all(void)
{
	uint64_t one = 1;

	for (unsigned i = 0; i < nwakers; i++)
		if (real_write(wakers[i], &one, sizeof(one)) < 0) {
			/* EAGAIN: the counter is full, it wakes anyway */
		}
}

/*
 * Lock held (dropped while asleep): block on fds[0..n) plus the app bell,
 * up to timeout_ms (-1: forever), with mask as the signal mask.  fds[n]
 * and fds[n + 1] must exist: they become the bell and this thread's own
 * eventfd.  The kernel's answer (>= 0, counting the bell but not the
 * thread's eventfd), or -errno (-EINTR).  Returns 0 at once if events
 * wait.
 */
static int sleep_bell(struct pollfd *fds, nfds_t n, int64_t timeout_ms,
		      const sigset_t *mask)
{
	int arm = fn_sock_arm(&pl_chan), r, err, me = waker_fd();
	struct timespec ts, *tsp = NULL;
	bool listed;
	uint64_t v;

	if (arm == 0)
		return 0;
	listed = waker_add(me);
	if (!listed && pl_sleepers > 0 &&
	    (timeout_ms < 0 || timeout_ms > SLICE_MS))
		timeout_ms = SLICE_MS;
	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (timeout_ms % 1000) * 1000000;
		tsp = &ts;
	}
	fds[n].fd = arm > 0 ? pl_bell() : -1;
	fds[n].events = POLLIN;
	fds[n].revents = 0;
	fds[n + 1] = (struct pollfd){ .fd = listed ? me : -1, .events = POLLIN };
	pl_sleepers++;
	pl_unlock_quiet();
	r = real_ppoll(fds, n + 2, tsp, mask);
	err = errno;
	pl_lock();
	pl_sleepers--;
	if (listed)
		waker_del(me);
	if (arm > 0)
		fn_sock_disarm(&pl_chan);
	if (fds[n + 1].revents) {
		if (fds[n + 1].revents & POLLNVAL)
			waker_forget();	/* closed under us: a new one next */
		else
			(void)!real_read(me, &v, sizeof(v));	/* non-blocking */
		r--;
	}
	if (fds[n].revents & POLLIN &&
	    real_read(fds[n].fd, &v, sizeof(v)) == sizeof(v))
		waker_all();	/* we took the bell: the others look too */
	return r < 0 ? -err : r;
}

int pl_wait_sock(struct pl_sock *s, unsigned events, int timeout_ms)
{
	int64_t until = deadline(timeout_ms);
	struct pollfd bell[2];
	unsigned ev;
	int r;

	for (;;) {
		r = fn_sock_process(&pl_chan);
		if (r < 0 && r != -ECONNRESET)
			return r;
		ev = pl_sock_ready(s, NULL, NULL) &
		     (events | POLLERR | POLLHUP | POLLNVAL);
		if (ev)
			return (int)ev;
		if (left_ms(until) == 0)
			return 0;
		/* a listener being made again: look again soon */
		r = sleep_bell(bell, 0, pl_sock_revive(s) < 0 &&
			       (until < 0 || left_ms(until) > 200) ? 200 :
			       left_ms(until), NULL);
		if (r < 0)
			return r;
	}
}

/* ---- poll ---------------------------------------------------------------- */

/* Lock held: the stack sockets' revents into out[] (kernel fds: 0); the
 * number of stack entries with revents. */
static int poll_stack(const struct pollfd *fds, nfds_t n, short *out)
{
	int ready = 0;

	for (nfds_t i = 0; i < n; i++) {
		out[i] = 0;
		if (fds[i].fd < 0 || pl_tab_kind(fds[i].fd) != PL_SOCK)
			continue;
		if (pl_inert)
			out[i] = POLLNVAL;
		else
			out[i] = (short)(pl_sock_ready(pl_tab_ptr(fds[i].fd), NULL, NULL) &
				 ((unsigned)fds[i].events | POLLERR | POLLHUP | POLLNVAL));
		ready += out[i] != 0;
	}
	return ready;
}

/* kf = fds with the stack sockets masked out (fd -1: the kernel skips). */
static void poll_kernel_set(const struct pollfd *fds, nfds_t n,
			    struct pollfd *kf)
{
	for (nfds_t i = 0; i < n; i++) {
		kf[i] = fds[i];
		kf[i].revents = 0;
		if (fds[i].fd >= 0 && pl_tab_kind(fds[i].fd) == PL_SOCK)
			kf[i].fd = -1;
	}
}

static int poll_merge(struct pollfd *fds, nfds_t n, const struct pollfd *kf,
		      const short *st)
{
	int count = 0;

	for (nfds_t i = 0; i < n; i++) {
		fds[i].revents = kf[i].fd >= 0 ? kf[i].revents : st[i];
		count += fds[i].revents != 0;
	}
	return count;
}

static int poll_loop(struct pollfd *fds, nfds_t n, int64_t timeout_ms,
		     const sigset_t *mask, struct pollfd *kf, short *st)
{
	static const struct timespec zero;
	int64_t until = deadline(timeout_ms);
	int r, ready;

	for (;;) {
		if (!pl_inert)
			fn_sock_process(&pl_chan);
		ready = poll_stack(fds, n, st);
		poll_kernel_set(fds, n, kf);
		if (ready || left_ms(until) == 0) {
			/* (in a forked child every stack socket is POLLNVAL:
			 * ready, so it never sleeps on the bell here) */
			r = real_ppoll(kf, n, &zero, NULL);
		} else {
			r = sleep_bell(kf, n, left_ms(until), mask);
			if (r > 0 && kf[n].revents)
				r--;	/* the bell: look at the stack again */
			if (r > 0) {
				fn_sock_process(&pl_chan);
				poll_stack(fds, n, st);
			}
			if (r == 0)
				continue;
		}
		return r < 0 ? r : poll_merge(fds, n, kf, st);
	}
}

/* fds hold at least one stack socket: poll them all.  >= 0 or -errno. */
static int poll_core(struct pollfd *fds, nfds_t n, int64_t timeout_ms,
		     const sigset_t *mask)
{
	struct pollfd small_kf[SMALL_POLL + 2], *kf = small_kf;
	short small_st[SMALL_POLL], *st = small_st;
	int r;

	if (n > SMALL_POLL) {
		kf = malloc((n + 2) * sizeof(*kf));
		st = malloc(n * sizeof(*st));
		if (!kf || !st) {
			free(kf);
			free(st);
			return -ENOMEM;
		}
	}
	pl_lock();
	r = poll_loop(fds, n, timeout_ms, mask, kf, st);
	pl_unlock();
	if (kf != small_kf) {
		free(kf);
		free(st);
	}
	return r;
}

static bool any_sock(const struct pollfd *fds, nfds_t n)
{
	if (!pl_active())
		return false;
	for (nfds_t i = 0; i < n; i++)
		if (fds[i].fd >= 0 && pl_tab_kind(fds[i].fd) == PL_SOCK)
			return true;
	return false;
}

static int64_t ts_ms(const struct timespec *t)
{
	if (!t)
		return -1;
	return (int64_t)t->tv_sec * 1000 + (t->tv_nsec + 999999) / 1000000;
}

/* <sys/poll.h> declares poll's fds write-only, which it is not (events
 * are read): GCC then warns that we read them. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

PL_EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	struct timespec ts = { timeout / 1000, (timeout % 1000) * 1000000 };

	if (!any_sock(fds, n))
		return real_ppoll(fds, n, timeout < 0 ? NULL : &ts, NULL);
	return (int)pl_ret(poll_core(fds, n, timeout < 0 ? -1 : timeout, NULL));
}

PL_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *t,
		    const sigset_t *mask)
{
	if (!any_sock(fds, n))
		return real_ppoll(fds, n, t, mask);
	return (int)pl_ret(poll_core(fds, n, ts_ms(t), mask));
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/* _FORTIFY_SOURCE's poll. */
PL_EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout,
			 size_t fdslen);
PL_EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout,
			 size_t fdslen)
{
	if (fdslen / sizeof(*fds) < n)
		abort();
	return poll(fds, n, timeout);
}

/* ---- select -------------------------------------------------------------- */

static bool select_has_sock(int nfds, fd_set *r, fd_set *w, fd_set *e)
{
	if (!pl_active())
		return false;
	for (int fd = 0; fd < nfds && fd < FD_SETSIZE; fd++)
		if (((r && FD_ISSET(fd, r)) || (w && FD_ISSET(fd, w)) ||
		     (e && FD_ISSET(fd, e))) && pl_tab_kind(fd) == PL_SOCK)
			return true;
	return false;
}

/* select as poll: the sets become pollfds and back. */
static int select_core(int nfds, fd_set *r, fd_set *w, fd_set *e,
		       int64_t timeout_ms, const sigset_t *mask)
{
	struct pollfd pf[FD_SETSIZE];
	nfds_t n = 0;
	int ret, count = 0;

	if (nfds < 0 || nfds > FD_SETSIZE)
		return -EINVAL;
	for (int fd = 0; fd < nfds; fd++) {
		short ev = (short)((r && FD_ISSET(fd, r) ? POLLIN : 0) |
				   (w && FD_ISSET(fd, w) ? POLLOUT : 0) |
				   (e && FD_ISSET(fd, e) ? POLLPRI : 0));

		if (ev)
			pf[n++] = (struct pollfd){ .fd = fd, .events = ev };
	}
	ret = poll_core(pf, n, timeout_ms, mask);
	if (ret < 0)
		return ret;
	for (nfds_t i = 0; i < n; i++)
		if (pf[i].revents & POLLNVAL)
			return -EBADF;
	for (nfds_t i = 0; i < n; i++) {
		int fd = pf[i].fd;
		short re = pf[i].revents;

		if (r && FD_ISSET(fd, r) && !(re & (POLLIN | POLLHUP | POLLERR)))
			FD_CLR(fd, r);
		if (w && FD_ISSET(fd, w) && !(re & (POLLOUT | POLLERR)))
			FD_CLR(fd, w);
		if (e && FD_ISSET(fd, e) && !(re & POLLPRI))
			FD_CLR(fd, e);
		count += (r && FD_ISSET(fd, r)) + (w && FD_ISSET(fd, w)) +
			 (e && FD_ISSET(fd, e));
	}
	return count;
}

PL_EXPORT int select(int nfds, fd_set *r, fd_set *w, fd_set *e,
		     struct timeval *tv)
{
	int64_t ms, until;
	int ret;

	if (!select_has_sock(nfds, r, w, e))
		return real_select(nfds, r, w, e, tv);
	ms = tv ? (int64_t)tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000 : -1;
	until = deadline(ms);
	ret = select_core(nfds, r, w, e, ms, NULL);
	if (tv) {	/* Linux reports the time not slept */
		ms = left_ms(until);
		tv->tv_sec = ms / 1000;
		tv->tv_usec = (ms % 1000) * 1000;
	}
	return (int)pl_ret(ret);
}

PL_EXPORT int pselect(int nfds, fd_set *r, fd_set *w, fd_set *e,
		      const struct timespec *t, const sigset_t *mask)
{
	if (!select_has_sock(nfds, r, w, e))
		return real_pselect(nfds, r, w, e, t, mask);
	return (int)pl_ret(select_core(nfds, r, w, e, ts_ms(t), mask));
}

/* ---- epoll --------------------------------------------------------------- */

PL_EXPORT int epoll_create1(int flags)
{
	return real_epoll_create1(flags);	/* its record comes lazily */
}

PL_EXPORT int epoll_create(int size)
{
	if (size <= 0)
		return (int)pl_ret(-EINVAL);
	return real_epoll_create1(0);
}

/* Lock held: the record of epoll fd epfd, made if need be (ADD only). */
static long ep_record(int epfd, int fd, int op, struct pl_ep **out)
{
	enum pl_kind k = pl_tab_kind(epfd);
	int r;

	if (epfd == fd)
		return -EINVAL;
	if (k == PL_EP) {
		*out = pl_tab_ptr(epfd);
		return 0;
	}
	if (k == PL_SOCK)
		return -EINVAL;
	/* is it an epoll fd at all?  The kernel answers for fd's placeholder */
	r = real_epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
	if (r < 0 && errno != ENOENT)
		return -errno;
	if (op != EPOLL_CTL_ADD)
		return -ENOENT;
	*out = pl_ep_new();
	if (!*out)
		return -ENOMEM;
	r = pl_tab_set(epfd, PL_EP, *out);
	if (r < 0) {
		pl_ep_put(*out);
		pl_ep_free(*out);
	}
	return r;
}

PL_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct pl_ep *ep = NULL;
	long r;

	if (!pl_ours(fd) || pl_tab_kind(fd) != PL_SOCK)
		return real_epoll_ctl(epfd, op, fd, ev);
	pl_lock();
	r = pl_inert ? -EBADF : ep_record(epfd, fd, op, &ep);
	if (r == 0) {
		r = pl_ep_ctl(ep, op, fd, pl_tab_ptr(fd), ev);
		if (r == 1)	/* DEL dropped the last reference: unlikely */
			r = 0;
	}
	pl_unlock();
	return (int)pl_ret(r);
}

/* Lock held: one look at both sides without blocking; events found. */
static int ep_look(int epfd, struct pl_ep *ep, struct epoll_event *ev, int max)
{
	int kcap, nk, ns, more;

	fn_sock_process(&pl_chan);
	kcap = ep->n == 0 ? max : max > 1 ? max - max / 2 :
	       ep->kernel_first ? 1 : 0;
	ep->kernel_first = !ep->kernel_first;
	nk = kcap ? real_epoll_pwait(epfd, ev, kcap, 0, NULL) : 0;
	if (nk < 0)
		return -errno;
	ns = pl_ep_collect(ep, pl_sock_ready, NULL, pl_ready_now(), ev + nk,
			   max - nk);
	if (ns == 0 && nk == kcap && kcap < max) {
		more = real_epoll_pwait(epfd, ev + nk, max - nk, 0, NULL);
		nk += more > 0 ? more : 0;
	}
	return nk + ns;
}

static int ep_wait(int epfd, struct epoll_event *ev, int max,
		   int64_t timeout_ms, const sigset_t *mask)
{
	int64_t until = deadline(timeout_ms);
	struct pollfd pf[3];
	struct pl_ep *ep;
	int r;

	if (max <= 0)
		return -EINVAL;
	pl_lock();
	ep = pl_tab_ptr(epfd);
	ep->refs++;
	for (;;) {
		r = pl_inert ? -EBADF : ep_look(epfd, ep, ev, max);
		if (r != 0 || left_ms(until) == 0)
			break;
		pf[0] = (struct pollfd){ .fd = epfd, .events = POLLIN };
		r = sleep_bell(pf, 1, left_ms(until), mask);
		if (r < 0)
			break;
	}
	if (pl_ep_put(ep)) {	/* closed by another thread meanwhile */
		for (unsigned i = 0; i < ep->n; i++)
			pl_sock_unpin(ep->ent[i].s);
		pl_ep_free(ep);
	}
	pl_unlock();
	return r;
}

static bool is_ep(int epfd)
{
	return pl_ours(epfd) && pl_tab_kind(epfd) == PL_EP;
}

PL_EXPORT int epoll_wait(int epfd, struct epoll_event *ev, int max, int tmo)
{
	if (!is_ep(epfd))
		return real_epoll_pwait(epfd, ev, max, tmo, NULL);
	return (int)pl_ret(ep_wait(epfd, ev, max, tmo < 0 ? -1 : tmo, NULL));
}

PL_EXPORT int epoll_pwait(int epfd, struct epoll_event *ev, int max, int tmo,
			  const sigset_t *mask)
{
	if (!is_ep(epfd))
		return real_epoll_pwait(epfd, ev, max, tmo, mask);
	return (int)pl_ret(ep_wait(epfd, ev, max, tmo < 0 ? -1 : tmo, mask));
}

PL_EXPORT int epoll_pwait2(int epfd, struct epoll_event *ev, int max,
			   const struct timespec *t, const sigset_t *mask)
{
	if (!is_ep(epfd))
		return real_epoll_pwait2(epfd, ev, max, t, mask);
	return (int)pl_ret(ep_wait(epfd, ev, max, ts_ms(t), mask));
}
