/*
 * calls.c - the socket calls of libfragnet-preload.so.
 *
 * Each exported function first asks whether its fd is a stack socket
 * (pl_ours: one atomic load); if not, it calls libc at once.  A stack
 * socket's call takes the lock, pins the socket (so that a close by
 * another thread cannot free it under us), maps onto fn_sock_* (sock.h,
 * all non-blocking) and, for a blocking socket, waits on the app bell
 * (pl_wait_sock) until the call can complete, as the kernel would.
 *
 * A stack socket's fd is a placeholder eventfd: a real, unique kernel fd
 * number, which the kernel closes, dups and inherits like any other;
 * FD_CLOEXEC lives on it too.  O_NONBLOCK lives on the socket object, as
 * the kernel keeps it in the open file description shared by dups.
 *
 * Meson builds with _FILE_OFFSET_BITS=64, under which <fcntl.h> renames
 * fcntl to fcntl64: we define both names ourselves, so not here.
 */
#undef _FILE_OFFSET_BITS
#include <fcntl.h>
#include <limits.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fragnet/clock.h"
#include "preload.h"

#define MAX_PAYLOAD	(FN_SOCKCHAN_SLOT - sizeof(struct fn_sock_msg))
#define NOMINAL_BUF	65536	/* SO_RCVBUF/SO_SNDBUF until the app sets one */

/* ---- socket objects and the fd table ------------------------------------- */

static void sock_destroy(struct pl_sock *s)
{
	/* SO_LINGER {1, 0}: a reset at once, as the kernel does */
	if (!pl_inert && s->linger.l_onoff && !s->linger.l_linger)
		fn_sock_close_rst(&pl_chan, s->h);
	else if (!pl_inert)
		fn_sock_close(&pl_chan, s->h);
	pl_sock_free(s);
}

struct pl_sock *pl_sock_pin(int fd)
{
	struct pl_sock *s;

	if (pl_tab_kind(fd) != PL_SOCK)
		return NULL;
	s = pl_tab_ptr(fd);
	s->refs++;
	return s;
}

void pl_sock_unpin(struct pl_sock *s)
{
	if (pl_sock_put(s))
		sock_destroy(s);
}

/* Lock held: fd's table entry is gone (the kernel fd is closed or
 * replaced); drop what it named. */
static void fd_release(int fd)
{
	enum pl_kind kind = pl_tab_kind(fd);
	void *p = pl_tab_clear(fd);

	if (kind == PL_SOCK) {
		struct pl_sock *s = p;

		if (--s->nfds == 0)
			pl_ep_drop_sock(s);
		pl_sock_unpin(s);
	} else if (kind == PL_EP && pl_ep_put(p)) {
		struct pl_ep *ep = p;

		for (unsigned i = 0; i < ep->n; i++)
			pl_sock_unpin(ep->ent[i].s);
		pl_ep_free(ep);
	}
}

/* Lock held: newfd now names what oldfd names (after a real dup). */
static int fd_copy(int oldfd, int newfd)
{
	enum pl_kind kind = pl_tab_kind(oldfd);
	void *p = pl_tab_ptr(oldfd);

	fd_release(newfd);	/* a stale entry, if any */
	if (kind == PL_NONE)
		return 0;
	if (pl_tab_set(newfd, kind, p) < 0)
		return -EMFILE;
	if (kind == PL_SOCK) {
		((struct pl_sock *)p)->refs++;
		((struct pl_sock *)p)->nfds++;
	} else {
		((struct pl_ep *)p)->refs++;
	}
	return 0;
}

/* Lock held: a new fd for stack socket h (closed on failure). */
static int fd_new(int h, int type, int flags)
{
	struct pl_sock *s;
	int fd = real_eventfd(0, (flags & SOCK_CLOEXEC) ? EFD_CLOEXEC : 0);
	int err = -errno;

	if (fd < 0)
		goto err_close_h;
	err = -ENOMEM;
	s = pl_sock_new(h, type);
	if (!s)
		goto err_close_fd;
	s->nonblock = flags & SOCK_NONBLOCK;
	fd_release(fd);		/* stale: closed behind our back */
	err = pl_tab_set(fd, PL_SOCK, s);
	if (err < 0)
		goto err_free;
	return fd;

err_free:
	pl_sock_free(s);
err_close_fd:
	real_close(fd);
err_close_h:
	fn_sock_close(&pl_chan, h);
	return err;
}

/* The options a revived socket gets again: level, name, where kept. */
static int *opt_slot(struct pl_sock *s, unsigned i, int *level, int *name)
{
	static const int lv[] = { SOL_SOCKET, SOL_SOCKET, SOL_SOCKET,
				  SOL_SOCKET, IPPROTO_TCP };
	static const int nm[] = { SO_KEEPALIVE, SO_REUSEADDR, SO_RCVBUF,
				  SO_SNDBUF, TCP_NODELAY };
	int *where[] = { &s->keepalive, &s->reuseaddr, &s->rcvbuf,
			 &s->sndbuf, &s->nodelay };

	if (i >= sizeof(lv) / sizeof(lv[0]))
		return NULL;
	*level = lv[i];
	*name = nm[i];
	return where[i];
}

/* Lock held: a new stack socket for s with its options, address and
 * backlog; its handle, or -errno. */
static int remake(struct pl_sock *s)
{
	int h = fn_sock_socket(&pl_chan, s->type), r = 0, level, name, *v;

	if (h < 0)
		return h;
	for (unsigned i = 0; r == 0 && (v = opt_slot(s, i, &level, &name)); i++)
		if (s->opts_set & (1u << i))
			r = fn_sock_setsockopt(&pl_chan, h, level, name, v,
					       sizeof(*v));
	if (r == 0)
		r = fn_sock_bind(&pl_chan, h, &s->addr);
	if (r == 0 && s->listening)
		r = fn_sock_listen(&pl_chan, h, s->backlog);
	if (r < 0) {
		fn_sock_close(&pl_chan, h);
		return r;
	}
	return h;
}

/*
 * A stack restart resets the channel and every socket of the app with it.
 * Connections are lost, as on a host that rebooted its network; but a
 * server's listening socket (or bound, unconnected UDP socket) is made
 * again under the same fd, so that the program serves new clients after
 * the restart without knowing.  A failed attempt is retried at most every
 * 200 ms; meanwhile the socket shows nothing (no busy loop on ECONNRESET).
 */
int pl_sock_revive(struct pl_sock *s)
{
	int64_t now;
	int h;

	if (!s->bound || !(s->listening || (s->type == SOCK_DGRAM &&
					    !s->dgram_connected)) ||
	    fn_sock_is_reset(&pl_chan, s->h) <= 0)
		return 0;
	now = fn_clock_ms();
	if (now < s->revive_at)
		return -1;
	h = remake(s);
	if (h < 0) {
		s->revive_at = now + 200;
		return -1;
	}
	fn_sock_close(&pl_chan, s->h);	/* local only: the stack forgot it */
	s->h = h;
	s->edge++;
	return 1;
}

/* Lock and pin the stack socket of fd, or NULL (*err set, unlocked). */
static struct pl_sock *begin(int fd, long *err)
{
	struct pl_sock *s;

	pl_lock();
	s = pl_inert ? NULL : pl_sock_pin(fd);
	if (!s) {
		pl_unlock();
		*err = -EBADF;
	}
	return s;
}

static long end(struct pl_sock *s, long r)
{
	pl_sock_unpin(s);
	pl_unlock();
	return pl_ret(r);
}

static bool is_sock(int fd)
{
	return pl_ours(fd) && pl_tab_kind(fd) == PL_SOCK;
}

/* ---- addresses ----------------------------------------------------------- */

static int addr_in(const struct sockaddr *a, socklen_t len,
		   struct sockaddr_in *sin)
{
	if (!a)
		return -EFAULT;
	if (len < sizeof(sa_family_t))
		return -EINVAL;
	if (a->sa_family != AF_INET)
		return -EAFNOSUPPORT;
	if (len < sizeof(*sin))
		return -EINVAL;
	memcpy(sin, a, sizeof(*sin));
	return 0;
}

/* As the kernel: copy at most *len bytes, set *len to the full size. */
static void addr_out(const struct sockaddr_in *sin, struct sockaddr *a,
		     socklen_t *len)
{
	if (!a || !len)
		return;
	memcpy(a, sin, *len < sizeof(*sin) ? *len : sizeof(*sin));
	*len = sizeof(*sin);
}

/* ---- socket, bind, listen, accept, connect ------------------------------- */

PL_EXPORT int socket(int domain, int type, int proto)
{
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC), h, r;

	if (!pl_active() || (domain != AF_INET && domain != AF_INET6))
		return real_socket(domain, type, proto);
	if (domain == AF_INET6)
		return (int)pl_ret(-EAFNOSUPPORT);	/* lwIP here is IPv4 */
	if (!((base == SOCK_STREAM && (!proto || proto == IPPROTO_TCP)) ||
	      (base == SOCK_DGRAM && (!proto || proto == IPPROTO_UDP))))
		return (int)pl_ret(-EPROTONOSUPPORT);
	pl_lock();
	r = pl_inert ? -EACCES : pl_attach();
	if (r == 0) {
		h = fn_sock_socket(&pl_chan, base);
		r = h < 0 ? h : fd_new(h, base, type);
	}
	pl_unlock();
	return (int)pl_ret(r);
}

PL_EXPORT int bind(int fd, const struct sockaddr *a, socklen_t len)
{
	struct sockaddr_in sin;
	struct pl_sock *s;
	long r;

	if (!is_sock(fd))
		return real_bind(fd, a, len);
	r = addr_in(a, len, &sin);
	if (r < 0)
		return (int)pl_ret(r);
	s = begin(fd, &r);
	if (!s)
		return (int)pl_ret(r);
	r = fn_sock_bind(&pl_chan, s->h, &sin);
	if (r == 0) {
		s->bound = true;
		s->addr = sin;
	}
	return (int)end(s, r);
}

PL_EXPORT int listen(int fd, int backlog)
{
	struct pl_sock *s;
	long r;

	if (!is_sock(fd))
		return real_listen(fd, backlog);
	s = begin(fd, &r);
	if (!s)
		return (int)pl_ret(r);
	/* Linux queues backlog + 1 connections (sk_acceptq_is_full), and a
	 * negative backlog means the most; lwIP queues backlog */
	backlog = backlog < 0 || backlog >= 255 ? 255 : backlog + 1;
	r = fn_sock_listen(&pl_chan, s->h, backlog);
	if (r == 0) {
		s->listening = true;
		s->backlog = backlog;
	}
	return (int)end(s, r);
}

static int timeo(int ms)
{
	return ms > 0 ? ms : -1;
}

PL_EXPORT int accept4(int fd, struct sockaddr *a, socklen_t *len, int flags)
{
	struct sockaddr_in peer;
	struct pl_sock *s;
	long r;

	if (!is_sock(fd))
		return real_accept4(fd, a, len, flags);
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return (int)pl_ret(-EINVAL);
	s = begin(fd, &r);
	if (!s)
		return (int)pl_ret(r);
	for (;;) {
		r = fn_sock_accept(&pl_chan, s->h, &peer);
		if (r == -ECONNRESET) {
			int v = pl_sock_revive(s);

			if (v > 0)
				continue;
			r = v < 0 ? -EAGAIN : r;
		}
		if (r != -EAGAIN || s->nonblock)
			break;
		r = pl_wait_sock(s, POLLIN, timeo(s->rcvtimeo_ms));
		if (r <= 0) {
			r = r ? r : -EAGAIN;
			break;
		}
	}
	if (r >= 0) {
		s->edge++;
		r = fd_new((int)r, SOCK_STREAM, flags);
		if (r >= 0)
			addr_out(&peer, a, len);
	}
	return (int)end(s, r);
}

PL_EXPORT int accept(int fd, struct sockaddr *a, socklen_t *len)
{
	return accept4(fd, a, len, 0);
}

PL_EXPORT int connect(int fd, const struct sockaddr *a, socklen_t len)
{
	struct sockaddr_in sin;
	struct pl_sock *s;
	long r;

	if (!is_sock(fd))
		return real_connect(fd, a, len);
	r = addr_in(a, len, &sin);
	if (r < 0)
		return (int)pl_ret(r);
	s = begin(fd, &r);
	if (!s)
		return (int)pl_ret(r);
	r = fn_sock_connect(&pl_chan, s->h, &sin);
	if (r == 0 && s->type == SOCK_DGRAM)
		s->dgram_connected = true;
	/* Linux: the first connect after a non-blocking one completed
	 * answers 0 (the socket's state moves to SS_CONNECTED then) */
	if (r == -EISCONN && s->connect_nb)
		r = 0;
	if (r != -EALREADY)
		s->connect_nb = r == -EINPROGRESS && s->nonblock;
	if (r == -EINPROGRESS && !s->nonblock) {
		r = pl_wait_sock(s, POLLOUT, timeo(s->sndtimeo_ms));
		if (r > 0)
			r = fn_sock_error(&pl_chan, s->h);
		else if (r == 0)
			r = -EINPROGRESS;	/* SO_SNDTIMEO expired */
	}
	return (int)end(s, r);
}

/* ---- receiving ----------------------------------------------------------- */

/*
 * Lock held: up to len bytes of s into buf, as recvfrom(2) with flags
 * MSG_DONTWAIT, MSG_WAITALL and MSG_PEEK; *full gets a datagram's full
 * size.  MSG_OOB is not served (-EOPNOTSUPP).
 */
static long sock_recv(struct pl_sock *s, void *buf, size_t len, int flags,
		      struct sockaddr_in *from, size_t *full)
{
	bool nb = s->nonblock || (flags & MSG_DONTWAIT);
	size_t got = 0;
	long r;

	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (flags & MSG_PEEK)
		flags &= ~MSG_WAITALL;	/* what is there (see docs/preload.md) */
	for (;;) {
		if (full) {
			fn_sock_process(&pl_chan);
			r = fn_sock_nread(&pl_chan, s->h);
			*full = r > 0 ? (size_t)r : 0;
		}
		if (flags & MSG_PEEK)
			r = fn_sock_peek(&pl_chan, s->h, (uint8_t *)buf + got,
					 len - got, from);
		else
			r = fn_sock_recvfrom(&pl_chan, s->h,
					     (uint8_t *)buf + got, len - got,
					     from);
		if (r == -ECONNRESET && s->type == SOCK_DGRAM &&
		    pl_sock_revive(s) > 0)
			continue;
		if (r > 0) {
			got += (size_t)r;
			if (!(flags & MSG_PEEK))
				s->edge++;
			if (s->type == SOCK_DGRAM || got == len ||
			    !(flags & MSG_WAITALL))
				return (long)got;
			continue;
		}
		if (r == 0 || r != -EAGAIN || nb)
			return got ? (long)got : r;
		r = pl_wait_sock(s, POLLIN, timeo(s->rcvtimeo_ms));
		if (r <= 0)
			return got ? (long)got : r ? r : -EAGAIN;
	}
}

static ssize_t recv_common(int fd, void *buf, size_t len, int flags,
			   struct sockaddr *a, socklen_t *alen)
{
	struct sockaddr_in from;
	struct pl_sock *s;
	size_t full = 0;
	bool trunc;
	long r;

	s = begin(fd, &r);
	if (!s)
		return pl_ret(r);
	memset(&from, 0, sizeof(from));
	/* MSG_TRUNC on a datagram socket: the datagram's real length */
	trunc = (flags & MSG_TRUNC) && s->type == SOCK_DGRAM;
	r = sock_recv(s, buf, len, flags, a ? &from : NULL,
		      trunc ? &full : NULL);
	if (r >= 0 && a)
		addr_out(&from, a, alen);
	return end(s, r >= 0 && trunc ? (long)full : r);
}

PL_EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags,
			   struct sockaddr *a, socklen_t *alen)
{
	if (!is_sock(fd))
		return real_recvfrom(fd, buf, len, flags, a, alen);
	return recv_common(fd, buf, len, flags, a, alen);
}

PL_EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	if (!is_sock(fd))
		return real_recvfrom(fd, buf, len, flags, NULL, NULL);
	return recv_common(fd, buf, len, flags, NULL, NULL);
}

PL_EXPORT ssize_t read(int fd, void *buf, size_t len)
{
	if (!is_sock(fd))
		return real_read(fd, buf, len);
	return recv_common(fd, buf, len, 0, NULL, NULL);
}

/*
 * Scatter: a stream fills the iovecs in order (the first may wait, the
 * rest take only what is there); a datagram is read whole into a bounce
 * buffer (a slot's payload at most), then scattered.
 */
static long recv_iov(struct pl_sock *s, const struct iovec *iov, int n,
		     int flags, struct sockaddr_in *from, int *mflags)
{
	long got = 0, r = 0;

	if (n < 0 || n > IOV_MAX)
		return -EINVAL;
	if (s->type == SOCK_DGRAM) {
		static __thread uint8_t bounce[MAX_PAYLOAD];
		size_t full = 0;

		r = sock_recv(s, bounce, sizeof(bounce), flags, from, &full);
		for (int i = 0; r > 0 && i < n && got < r; i++) {
			size_t k = (size_t)(r - got) < iov[i].iov_len ?
				   (size_t)(r - got) : iov[i].iov_len;

			memcpy(iov[i].iov_base, bounce + got, k);
			got += (long)k;
		}
		if (mflags && r >= 0 && full > (size_t)got)
			*mflags |= MSG_TRUNC;
		if (r >= 0 && (flags & MSG_TRUNC))
			return (long)full;	/* the real length, as Linux */
		return r < 0 ? r : got;
	}
	for (int i = 0; i < n; i++) {
		if (!iov[i].iov_len)
			continue;
		/* the rest takes only what is there, unless MSG_WAITALL */
		r = sock_recv(s, iov[i].iov_base, iov[i].iov_len,
			      got && !(flags & MSG_WAITALL) ?
			      flags | MSG_DONTWAIT : flags, from, NULL);
		if (r <= 0)
			break;
		got += r;
		if ((size_t)r < iov[i].iov_len)
			break;
	}
	return got ? got : r;
}

PL_EXPORT ssize_t readv(int fd, const struct iovec *iov, int n)
{
	struct pl_sock *s;
	long r;

	if (!is_sock(fd))
		return real_readv(fd, iov, n);
	s = begin(fd, &r);
	if (!s)
		return pl_ret(r);
	return end(s, recv_iov(s, iov, n, 0, NULL, NULL));
}

PL_EXPORT ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
	struct sockaddr_in from;
	struct pl_sock *s;
	long r;

	if (!is_sock(fd))
		return real_recvmsg(fd, m, flags);
	s = begin(fd, &r);
	if (!s)
		return pl_ret(r);
	if (m->msg_iovlen > IOV_MAX)
		return end(s, -EMSGSIZE);	/* readv/writev: EINVAL */
	memset(&from, 0, sizeof(from));
	m->msg_flags = 0;
	r = recv_iov(s, m->msg_iov, (int)m->msg_iovlen, flags, &from,
		     &m->msg_flags);
	if (r >= 0) {
		if (m->msg_name)
			addr_out(&from, m->msg_name, &m->msg_namelen);
		m->msg_controllen = 0;
	}
	return end(s, r);
}

/* ---- sending ------------------------------------------------------------- */

/* The next piece of iov from byte off: a pointer into the caller's buffer
 * when one iovec holds it, else gathered into tmp (max bytes). */
static const void *iov_piece(const struct iovec *iov, int n, size_t off,
			     uint8_t *tmp, size_t max, size_t *len)
{
	int i = 0;
	size_t k = 0;

	while (i < n && off >= iov[i].iov_len)
		off -= iov[i++].iov_len;
	if (i == n) {
		*len = 0;
		return tmp;
	}
	if (iov[i].iov_len - off >= max || i == n - 1) {
		*len = iov[i].iov_len - off;
		return (const uint8_t *)iov[i].iov_base + off;
	}
	for (; i < n && k < max; i++, off = 0) {
		size_t c = iov[i].iov_len - off;

		c = c < max - k ? c : max - k;
		memcpy(tmp + k, (const uint8_t *)iov[i].iov_base + off, c);
		k += c;
	}
	*len = k;
	return tmp;
}

/*
 * Lock held: send the iovecs on s, as sendmsg(2): a datagram whole or not
 * at all; a stream as far as the stack's credit allows (a blocking socket
 * waits for more until everything is taken).
 */
static long sock_send(struct pl_sock *s, const struct iovec *iov, int n,
		      int flags, const struct sockaddr_in *to)
{
	static __thread uint8_t tmp[MAX_PAYLOAD];
	bool nb = s->nonblock || (flags & MSG_DONTWAIT);
	size_t total = 0, sent = 0, len;
	const void *p;
	long r = 0;

	if (n < 0 || n > IOV_MAX)
		return -EINVAL;
	for (int i = 0; i < n; i++)
		total += iov[i].iov_len;
	if (s->type == SOCK_DGRAM) {
		if (total > MAX_PAYLOAD)
			return -EMSGSIZE;
		p = iov_piece(iov, n, 0, tmp, MAX_PAYLOAD, &len);
		if (len < total) {	/* several iovecs: gather all */
			p = tmp;
			len = 0;
			for (int i = 0; i < n; i++) {
				memcpy(tmp + len, iov[i].iov_base,
				       iov[i].iov_len);
				len += iov[i].iov_len;
			}
		}
		return fn_sock_sendto(&pl_chan, s->h, p, len, to);
	}
	while (sent < total) {
		p = iov_piece(iov, n, sent, tmp, MAX_PAYLOAD, &len);
		r = fn_sock_send(&pl_chan, s->h, p, len);
		if (r > 0) {
			sent += (size_t)r;
			continue;
		}
		if (r != -EAGAIN || nb)
			break;
		r = pl_wait_sock(s, POLLOUT, timeo(s->sndtimeo_ms));
		if (r <= 0) {
			r = r ? r : -EAGAIN;
			break;
		}
	}
	if (sent)
		s->edge++;
	return sent ? (long)sent : total ? r : fn_sock_send(&pl_chan, s->h,
							     tmp, 0);
}

static ssize_t send_common(int fd, const struct iovec *iov, int n, int flags,
			   const struct sockaddr *a, socklen_t alen)
{
	struct sockaddr_in to;
	struct pl_sock *s;
	long r;

	if (a && a->sa_family == AF_UNSPEC)
		a = NULL;
	if (a) {
		r = addr_in(a, alen, &to);
		if (r < 0)
			return pl_ret(r);
	}
	s = begin(fd, &r);
	if (!s)
		return pl_ret(r);
	/* a connected stream ignores the address, as Linux does */
	r = sock_send(s, iov, n, flags, a && s->type == SOCK_DGRAM ? &to : NULL);
	pl_sock_unpin(s);
	pl_unlock();
	if (r == -EPIPE && !(flags & MSG_NOSIGNAL))
		pthread_kill(pthread_self(), SIGPIPE);
	return pl_ret(r);
}

PL_EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags,
			 const struct sockaddr *a, socklen_t alen)
{
	struct iovec v = { (void *)buf, len };

	if (!is_sock(fd))
		return real_sendto(fd, buf, len, flags, a, alen);
	return send_common(fd, &v, 1, flags, a, alen);
}

PL_EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	struct iovec v = { (void *)buf, len };

	if (!is_sock(fd))
		return real_sendto(fd, buf, len, flags, NULL, 0);
	return send_common(fd, &v, 1, flags, NULL, 0);
}

PL_EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
	struct iovec v = { (void *)buf, len };

	if (!is_sock(fd))
		return real_write(fd, buf, len);
	return send_common(fd, &v, 1, 0, NULL, 0);
}

PL_EXPORT ssize_t writev(int fd, const struct iovec *iov, int n)
{
	if (!is_sock(fd))
		return real_writev(fd, iov, n);
	return send_common(fd, iov, n, 0, NULL, 0);
}

PL_EXPORT ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
	if (!is_sock(fd))
		return real_sendmsg(fd, m, flags);
	if (m->msg_iovlen > IOV_MAX)
		return pl_ret(-EMSGSIZE);	/* readv/writev: EINVAL */
	return send_common(fd, m->msg_iov, (int)m->msg_iovlen, flags,
			   m->msg_name, m->msg_namelen);
}

/* ---- sendfile, splice ---------------------------------------------------- */

/*
 * A stack socket is no kernel file, so these copy through a buffer, up to
 * SPLICE_CHUNK bytes a call or a piece, and nothing taken from a file or a
 * pipe is lost:
 *   sendfile  file -> socket: pread (or read at the file position) no
 *             more than the socket takes now (its credit; a blocking one
 *             waits for it as write would), so the position, or *off,
 *             moves by what was sent;
 *   splice    pipe -> socket: no more is read from the pipe than the
 *             socket takes now (its credit), so the rest stays in the
 *             pipe, as the kernel leaves it;
 *             socket -> pipe: the socket's data is peeked, written to the
 *             pipe without blocking, and only what the pipe took is
 *             taken from the socket.
 * Waiting is the kernel's: on the socket per its O_NONBLOCK (bounded by
 * SO_SNDTIMEO / SO_RCVTIMEO), on the pipe unless SPLICE_F_NONBLOCK or the
 * pipe's O_NONBLOCK, and never on a pipe with the lock held (a thread
 * that would fill or drain it may need the lock).  The checks of in and
 * out are do_sendfile's and do_splice's, in their order.
 */
#define SPLICE_CHUNK	65536
#define RW_MAX		0x7ffff000ul	/* MAX_RW_COUNT: one call's most */
#define SPLICE_FLAGS	(SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | \
			 SPLICE_F_GIFT)

static __thread uint8_t splice_buf[SPLICE_CHUNK];

/* Lock held, s pinned: let go; done if any, else r (EPIPE raises
 * SIGPIPE, as tcp_sendpage's sk_stream_error does). */
static ssize_t sock_done(struct pl_sock *s, long done, long r)
{
	pl_sock_unpin(s);
	pl_unlock();
	if (done > 0)
		return done;
	if (r == -EPIPE)
		pthread_kill(pthread_self(), SIGPIPE);
	return pl_ret(r);
}

/* sendfile's in_fd as do_sendfile and splice_direct_to_actor check it:
 * open for reading (EBADF), able to pread when off is given (ESPIPE), a
 * regular file or a block device (EINVAL: a pipe, a socket, ours too).
 * Linux 6.1's rule; later kernels also take a character device that has
 * splice_read (/dev/zero, not /dev/null), which no program sends. */
static long sendfile_in_check(int in, bool off)
{
	struct stat st;
	int fl;

	if (is_sock(in))
		return off ? -ESPIPE : -EINVAL;
	fl = real_fcntl(in, F_GETFL, 0);
	if (fl < 0)
		return -errno;
	if ((fl & O_PATH) || (fl & O_ACCMODE) == O_WRONLY)
		return -EBADF;
	if (fstat(in, &st) < 0)
		return -errno;
	if (off && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		return -ESPIPE;
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return -EINVAL;
	return 0;
}

/* Lock held: the bytes s takes now (> 0), after waiting for credit as a
 * send would; or -errno (-EAGAIN: non-blocking and none). */
static long credit_wait(struct pl_sock *s)
{
	long r;

	for (;;) {
		/* 0 bytes: events processed, a pending error reported */
		r = fn_sock_send(&pl_chan, s->h, splice_buf, 0);
		if (r < 0 && r != -EAGAIN)
			return r;
		r = fn_sock_credit(&pl_chan, s->h);
		if (r != 0)
			return r;
		if (s->nonblock)
			return -EAGAIN;
		r = pl_wait_sock(s, POLLOUT, timeo(s->sndtimeo_ms));
		if (r <= 0)
			return r ? r : -EAGAIN;
	}
}

/* Lock held: one piece of at most n bytes of file in (at *off if off,
 * else at its position) to s, which takes n now (credit_wait); what it
 * did not take (it failed) goes back. */
static long file_to_sock(struct pl_sock *s, int in, int64_t *off, size_t n)
{
	struct iovec v = { splice_buf, 0 };
	long r, k;

	n = n < SPLICE_CHUNK ? n : SPLICE_CHUNK;
	r = off ? pread(in, splice_buf, n, (off_t)*off) :
		  real_read(in, splice_buf, n);
	if (r <= 0)
		return r < 0 ? -errno : 0;
	v.iov_len = (size_t)r;
	k = sock_send(s, &v, 1, MSG_DONTWAIT, NULL);
	if (!off && k < r)	/* give back what was not taken */
		lseek(in, (off_t)((k < 0 ? 0 : k) - r), SEEK_CUR);
	if (off && k > 0)
		*off += k;
	return k;
}

static ssize_t sock_sendfile(int out, int in, int64_t *off, size_t n)
{
	struct pl_sock *s;
	long r = sendfile_in_check(in, off != NULL), done = 0;

	if (r < 0)
		return pl_ret(r);
	s = begin(out, &r);
	if (!s)
		return pl_ret(r);
	if (s->type != SOCK_STREAM)
		return end(s, -EINVAL);
	n = n < RW_MAX ? n : RW_MAX;
	r = 0;		/* n == 0: nothing to do */
	while ((size_t)done < n) {
		size_t want = n - (size_t)done;

		/* no credit: EAGAIN, or a signal or SO_SNDTIMEO while
		 * waiting, ends the call with what was sent, as the kernel's */
		r = credit_wait(s);
		if (r <= 0)
			break;
		want = want < SPLICE_CHUNK ? want : SPLICE_CHUNK;
		want = want < (size_t)r ? want : (size_t)r;
		r = file_to_sock(s, in, off, want);
		if (r > 0)
			done += r;
		if (r <= 0 || (size_t)r < want)	/* the end of the file */
			break;
	}
	return sock_done(s, done, r);
}

/* Not from <sys/sendfile.h>: with _FILE_OFFSET_BITS=64 it renames
 * sendfile to sendfile64, and both names are libc's (off_t is 64 bits on
 * every LP64 target). */
ssize_t sendfile64(int out, int in, int64_t *off, size_t n);
ssize_t sendfile(int out, int in, int64_t *off, size_t n);

PL_EXPORT ssize_t sendfile64(int out, int in, int64_t *off, size_t n)
{
	/* from a stack socket into a kernel file: a socket's answer, not
	 * whatever the kernel makes of the placeholder eventfd */
	if (!is_sock(out) && is_sock(in))
		return pl_ret(off ? -ESPIPE : -EINVAL);
	if (!is_sock(out))
		return real_sendfile64(out, in, off, n);
	return sock_sendfile(out, in, off, n);
}

PL_EXPORT ssize_t sendfile(int out, int in, int64_t *off, size_t n)
{
	return sendfile64(out, in, off, n);
}

/* Without the lock: wait until pipe end fd is ready for events (POLLIN or
 * POLLOUT), or only look if nb.  1 ready; 0 the end of a pipe without
 * writers, empty; -EPIPE one without readers (SIGPIPE raised, as
 * wait_for_space does); -EAGAIN, -EINTR. */
static long pipe_wait(int fd, short events, bool nb)
{
	static const struct timespec zero;
	struct pollfd p = { .fd = fd, .events = events };
	int r = real_ppoll(&p, 1, nb ? &zero : NULL, NULL);

	if (r < 0)
		return -errno;
	if (events == POLLOUT && (p.revents & POLLERR)) {
		pthread_kill(pthread_self(), SIGPIPE);
		return -EPIPE;
	}
	if (p.revents & events)
		return 1;
	if (p.revents & POLLNVAL)
		return -EBADF;
	return p.revents & POLLHUP ? 0 : -EAGAIN;
}

/* Lock held: up to n bytes, which s takes now, from pipe in to s; 0 if
 * the pipe is empty again (another reader was first).  Within the credit
 * the stack takes every byte; only a connection that fails meanwhile
 * loses what was read (as its peer does). */
static long pipe_piece(struct pl_sock *s, int in, size_t n)
{
	struct iovec v = { splice_buf, 0 };
	int queued = 0;
	long r;

	if (real_ioctl(in, FIONREAD, (unsigned long)&queued) < 0)
		return -errno;
	n = n < (size_t)queued ? n : (size_t)queued;
	n = n < SPLICE_CHUNK ? n : SPLICE_CHUNK;
	if (n == 0)
		return 0;
	r = real_read(in, splice_buf, n);	/* queued: no wait */
	if (r <= 0)
		return r < 0 ? -errno : 0;
	v.iov_len = (size_t)r;
	return sock_send(s, &v, 1, MSG_DONTWAIT, NULL);
}

/* Lock held: from pipe in to s, piece by piece, each no more than s
 * takes then, until n bytes, the pipe is empty, or s takes no more (not
 * blocking, a signal, SO_SNDTIMEO): as splice_from_pipe, which returns
 * once the pipe is empty after it moved some.  Bytes moved, 0 if the
 * pipe was empty from the start, or -errno. */
static long pipe_pieces(struct pl_sock *s, int in, size_t n, long *err)
{
	long r, done = 0;
	int queued;

	for (;;) {
		queued = 0;	/* empty: done, before any wait for credit */
		r = real_ioctl(in, FIONREAD, (unsigned long)&queued) < 0 ?
		    -errno : queued > 0;
		if (r > 0)
			r = credit_wait(s);
		if (r > 0)
			r = pipe_piece(s, in, n - (size_t)done < (size_t)r ?
					      n - (size_t)done : (size_t)r);
		if (r > 0)
			done += r;
		if (r <= 0 || (size_t)done >= n)
			break;
	}
	*err = r;
	return done;
}

/* splice(2) from pipe in to stack socket out. */
static ssize_t pipe_to_sock(int in, int out, size_t n, unsigned flags)
{
	bool nb = (flags & SPLICE_F_NONBLOCK) ||
		  (real_fcntl(in, F_GETFL, 0) & O_NONBLOCK);
	struct pl_sock *s;
	long r, done;

	n = n < RW_MAX ? n : RW_MAX;
	for (;;) {
		r = pipe_wait(in, POLLIN, nb);
		if (r <= 0)
			return pl_ret(r);
		s = begin(out, &r);
		if (!s)
			return pl_ret(r);
		if (s->type != SOCK_STREAM)
			return end(s, -EINVAL);
		done = pipe_pieces(s, in, n, &r);
		if (done || r != 0)
			return sock_done(s, done, r);
		pl_sock_unpin(s);
		pl_unlock();	/* the pipe emptied meanwhile: wait again */
	}
}

/* Write what fits into pipe fd now, without blocking: bytes written,
 * -EAGAIN if full, or -errno (EPIPE: write raised SIGPIPE).  In pieces
 * of PIPE_BUF, each while poll sees room: a piece that small then fits
 * whole (pipe(7)), so a blocking pipe does not block either (unless
 * another thread fills it between the two).  RWF_NOWAIT would do it in
 * one call, but pipes have it only since Linux 6.4. */
static long pipe_put(int fd, const uint8_t *buf, size_t n)
{
	static const struct timespec zero;
	size_t done = 0;

	while (done < n) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		size_t k = n - done < PIPE_BUF ? n - done : PIPE_BUF;
		ssize_t w;

		if (real_ppoll(&p, 1, &zero, NULL) <= 0 ||
		    (p.revents & (POLLOUT | POLLERR)) != POLLOUT)
			break;
		w = real_write(fd, buf + done, k);
		if (w <= 0) {
			if (!done)
				return w < 0 ? -errno : -EAGAIN;
			break;
		}
		done += (size_t)w;
	}
	return done ? (long)done : -EAGAIN;
}

/* splice(2) from stack socket in to pipe out. */
static ssize_t sock_to_pipe(int in, int out, size_t n, unsigned flags)
{
	bool nb = (flags & SPLICE_F_NONBLOCK) ||
		  (real_fcntl(out, F_GETFL, 0) & O_NONBLOCK);
	struct pl_sock *s;
	long r, w;

	n = n < SPLICE_CHUNK ? n : SPLICE_CHUNK;
	for (;;) {
		r = pipe_wait(out, POLLOUT, nb);
		if (r <= 0)
			return pl_ret(r ? r : -EPIPE);
		s = begin(in, &r);
		if (!s)
			return pl_ret(r);
		r = sock_recv(s, splice_buf, n, MSG_PEEK, NULL, NULL);
		if (r <= 0)
			return end(s, r);
		w = pipe_put(out, splice_buf, (size_t)r);
		if (w > 0)	/* take what the pipe took */
			sock_recv(s, splice_buf, (size_t)w, MSG_DONTWAIT, NULL,
				  NULL);
		if (w != -EAGAIN)
			return end(s, w);
		pl_sock_unpin(s);
		pl_unlock();	/* the pipe filled meanwhile: wait again */
	}
}

PL_EXPORT ssize_t splice(int in, loff_t *off_in, int out, loff_t *off_out,
			 size_t n, unsigned int flags)
{
	bool to_sock = is_sock(out), piped;
	int other = to_sock ? in : out, fl;

	if (!to_sock && !is_sock(in))
		return real_splice(in, off_in, out, off_out, n, flags);
	if (!n)
		return 0;	/* before any check, as the kernel's */
	if (flags & ~SPLICE_FLAGS)
		return pl_ret(-EINVAL);
	/* __do_splice and do_splice, in their order: the other end is
	 * open (EBADF); a pipe with an offset (ESPIPE); each end open for
	 * its direction (EBADF); a socket cannot pread/pwrite (EINVAL);
	 * no pipe at all, two sockets too (EINVAL) */
	fl = real_fcntl(other, F_GETFL, 0);
	if (fl < 0 || (fl & O_PATH))
		return pl_ret(-EBADF);
	piped = real_fcntl(other, F_GETPIPE_SZ, 0) >= 0;
	if (piped && (to_sock ? off_in : off_out))
		return pl_ret(-ESPIPE);
	if ((fl & O_ACCMODE) != O_RDWR &&
	    (fl & O_ACCMODE) != (to_sock ? O_RDONLY : O_WRONLY))
		return pl_ret(-EBADF);
	if (!piped || (to_sock ? off_out : off_in))
		return pl_ret(-EINVAL);
	return to_sock ? pipe_to_sock(in, out, n, flags) :
			 sock_to_pipe(in, out, n, flags);
}

/* ---- shutdown, names ----------------------------------------------------- */

PL_EXPORT int shutdown(int fd, int how)
{
	struct pl_sock *s;
	long r;

	if (!is_sock(fd))
		return real_shutdown(fd, how);
	s = begin(fd, &r);
	if (!s)
		return (int)pl_ret(r);
	return (int)end(s, fn_sock_shutdown(&pl_chan, s->h, how));
}

static int name_common(int fd, struct sockaddr *a, socklen_t *len, bool peer)
{
	struct sockaddr_in sin;
	struct pl_sock *s;
	long r;

	if (!a || !len)
		return (int)pl_ret(-EFAULT);
	s = begin(fd, &r);
	if (!s)
		return (int)pl_ret(r);
	r = peer ? fn_sock_getpeername(&pl_chan, s->h, &sin) :
		   fn_sock_getsockname(&pl_chan, s->h, &sin);
	if (r == 0)
		addr_out(&sin, a, len);
	return (int)end(s, r);
}

PL_EXPORT int getsockname(int fd, struct sockaddr *a, socklen_t *len)
{
	if (!is_sock(fd))
		return real_getsockname(fd, a, len);
	return name_common(fd, a, len, false);
}

PL_EXPORT int getpeername(int fd, struct sockaddr *a, socklen_t *len)
{
	if (!is_sock(fd))
		return real_getpeername(fd, a, len);
	return name_common(fd, a, len, true);
}

/* ---- socket options ------------------------------------------------------ */

/* Where option level/name lives in s, or NULL; *carried: the stack
 * applies it too (sockchan.h SETOPT), else it is kept here only. */
static int *opt_int(struct pl_sock *s, int level, int name, bool *carried)
{
	*carried = true;
	if (level == IPPROTO_TCP && s->type != SOCK_STREAM)
		return NULL;	/* ENOPROTOOPT: ip_setsockopt's answer */
	if (level == SOL_SOCKET && name == SO_KEEPALIVE)
		return &s->keepalive;
	if (level == SOL_SOCKET && name == SO_REUSEADDR)
		return &s->reuseaddr;
	if (level == SOL_SOCKET && name == SO_RCVBUF)
		return &s->rcvbuf;
	if (level == SOL_SOCKET && name == SO_SNDBUF)
		return &s->sndbuf;
	if (level == IPPROTO_TCP && name == TCP_NODELAY)
		return &s->nodelay;
	*carried = false;
	if (level == IPPROTO_TCP && name == TCP_KEEPIDLE)
		return &s->keepidle;
	if (level == IPPROTO_TCP && name == TCP_KEEPINTVL)
		return &s->keepintvl;
	if (level == IPPROTO_TCP && name == TCP_KEEPCNT)
		return &s->keepcnt;
	if (level == IPPROTO_TCP && name == TCP_CORK)
		return &s->cork;
	return NULL;
}

static int tv_ms(const struct timeval *tv)
{
	long long ms = (long long)tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000;

	return tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000 ?
	       -1 : ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

static long sock_setopt(struct pl_sock *s, int level, int name, const void *v,
			socklen_t len)
{
	bool carried;
	int *p = opt_int(s, level, name, &carried), ms, lv, nm;
	long r;

	if (!v)
		return -EFAULT;
	if (p) {
		if (len < sizeof(int))
			return -EINVAL;
		r = carried ? fn_sock_setsockopt(&pl_chan, s->h, level, name,
						 v, sizeof(int)) : 0;
		if (r == 0)
			memcpy(p, v, sizeof(int));
		for (unsigned i = 0; r == 0 && opt_slot(s, i, &lv, &nm); i++)
			if (opt_slot(s, i, &lv, &nm) == p)
				s->opts_set |= 1u << i;	/* for a revival */
		return r;
	}
	if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
		if (len < sizeof(struct timeval))
			return -EINVAL;
		ms = tv_ms(v);
		if (ms < 0)
			return -EDOM;
		*(name == SO_RCVTIMEO ? &s->rcvtimeo_ms : &s->sndtimeo_ms) = ms;
		return 0;
	}
	if (level == SOL_SOCKET && name == SO_LINGER) {
		if (len < sizeof(struct linger))
			return -EINVAL;
		memcpy(&s->linger, v, sizeof(s->linger));
		return 0;
	}
	if (level == SOL_SOCKET && name == SO_REUSEPORT)
		return len < sizeof(int) ? -EINVAL : 0;
	return -ENOPROTOOPT;
}

PL_EXPORT int setsockopt(int fd, int level, int name, const void *v,
			 socklen_t len)
{
	struct pl_sock *s;
	long r;

	if (!is_sock(fd))
		return real_setsockopt(fd, level, name, v, len);
	s = begin(fd, &r);
	if (!s)
		return (int)pl_ret(r);
	return (int)end(s, sock_setopt(s, level, name, v, len));
}

/* SO_RCVBUF/SO_SNDBUF as Linux reports a value set (sock_setsockopt):
 * doubled for its bookkeeping, within net.core.[rw]mem_max (default
 * 212992) and SOCK_MIN_RCVBUF / SOCK_MIN_SNDBUF. */
static int buf_reported(int v, int name)
{
	int min = name == SO_RCVBUF ? 2304 : 4608;

	v = v < 0 ? 0 : v > 212992 ? 212992 : v;
	return 2 * v < min ? min : 2 * v;
}

/* The value of an int option kept or answered here; false if none. */
static bool getopt_int(struct pl_sock *s, int level, int name, int *out)
{
	bool carried;
	int *p = opt_int(s, level, name, &carried);
	static const int lwip_defaults[] = { 7200, 75, 9 };	/* lwIP tcp.h */

	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_ERROR:
			fn_sock_process(&pl_chan);
			*out = -fn_sock_error(&pl_chan, s->h);
			return true;
		case SO_TYPE: *out = s->type; return true;
		case SO_DOMAIN: *out = AF_INET; return true;
		case SO_PROTOCOL:
			*out = s->type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
			return true;
		case SO_ACCEPTCONN: *out = s->listening; return true;
		case SO_REUSEPORT: *out = 0; return true;
		case SO_RCVBUF:
		case SO_SNDBUF:
			*out = *p ? buf_reported(*p, name) : NOMINAL_BUF;
			return true;
		}
	}
	if (!p)
		return false;
	*out = *p;
	/* flags read back as Linux's: 0 or 1, whatever was set */
	if (p == &s->keepalive || p == &s->reuseaddr || p == &s->nodelay ||
	    p == &s->cork)
		*out = *p != 0;
	if (p == &s->keepidle || p == &s->keepintvl || p == &s->keepcnt)
		if (!*p)
			*out = lwip_defaults[p - &s->keepidle];
	return true;
}

static long sock_getopt(struct pl_sock *s, int level, int name, void *v,
		   socklen_t *len)
{
	struct timeval tv;
	int i;

	if (!v || !len)
		return -EFAULT;
	if (level == IPPROTO_TCP && s->type != SOCK_STREAM)
		return -EOPNOTSUPP;	/* do_ip_getsockopt (set: ENOPROTOOPT) */
	if (getopt_int(s, level, name, &i)) {
		*len = *len < sizeof(i) ? *len : sizeof(i);
		memcpy(v, &i, *len);
		return 0;
	}
	if (level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO)) {
		i = name == SO_RCVTIMEO ? s->rcvtimeo_ms : s->sndtimeo_ms;
		tv.tv_sec = i / 1000;
		tv.tv_usec = (i % 1000) * 1000;
		*len = *len < sizeof(tv) ? *len : sizeof(tv);
		memcpy(v, &tv, *len);
		return 0;
	}
	if (level == SOL_SOCKET && name == SO_LINGER) {
		*len = *len < sizeof(s->linger) ? *len : sizeof(s->linger);
		memcpy(v, &s->linger, *len);
		return 0;
	}
	return -ENOPROTOOPT;
}

PL_EXPORT int getsockopt(int fd, int level, int name, void *v, socklen_t *len)
{
	struct pl_sock *s;
	long r;

	if (!is_sock(fd))
		return real_getsockopt(fd, level, name, v, len);
	s = begin(fd, &r);
	if (!s)
		return (int)pl_ret(r);
	return (int)end(s, sock_getopt(s, level, name, v, len));
}

/* ---- fcntl, ioctl -------------------------------------------------------- */

static int dup_common(int oldfd, int r)
{
	if (r >= 0 && fd_copy(oldfd, r) < 0) {
		real_close(r);
		r = (int)pl_ret(-EMFILE);
	}
	pl_unlock();
	return r;
}

static int fcntl_common(int fd, int cmd, unsigned long arg)
{
	struct pl_sock *s;
	int r;

	if (!pl_ours(fd))
		return real_fcntl(fd, cmd, arg);
	pl_lock();
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		return dup_common(fd, real_fcntl(fd, cmd, arg));
	s = pl_tab_kind(fd) == PL_SOCK ? pl_tab_ptr(fd) : NULL;
	if (s && cmd == F_GETFL) {
		r = real_fcntl(fd, cmd, arg);
		if (r >= 0)
			r = (r & ~O_NONBLOCK) | (s->nonblock ? O_NONBLOCK : 0);
	} else if (s && cmd == F_SETFL) {
		s->nonblock = arg & O_NONBLOCK;
		r = 0;
	} else {
		r = real_fcntl(fd, cmd, arg);	/* FD_CLOEXEC & co: the fd's */
	}
	pl_unlock();
	return r;
}

PL_EXPORT int fcntl(int fd, int cmd, ...)
{
	unsigned long arg;
	va_list ap;

	va_start(ap, cmd);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	return fcntl_common(fd, cmd, arg);
}

PL_EXPORT int fcntl64(int fd, int cmd, ...)
{
	unsigned long arg;
	va_list ap;

	va_start(ap, cmd);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	return fcntl_common(fd, cmd, arg);
}

PL_EXPORT int ioctl(int fd, unsigned long req, ...)
{
	unsigned long arg;
	struct pl_sock *s;
	va_list ap;
	long r;

	va_start(ap, req);
	arg = va_arg(ap, unsigned long);
	va_end(ap);
	if (!is_sock(fd) || (req != FIONBIO && req != FIONREAD))
		return real_ioctl(fd, req, arg);
	if (!arg)
		return (int)pl_ret(-EFAULT);
	s = begin(fd, &r);
	if (!s)
		return (int)pl_ret(r);
	if (req == FIONBIO) {
		s->nonblock = *(int *)arg != 0;
		return (int)end(s, 0);
	}
	fn_sock_process(&pl_chan);
	r = fn_sock_nread(&pl_chan, s->h);
	if (r >= 0)
		*(int *)arg = r > 0x7fffffff ? 0x7fffffff : (int)r;
	return (int)end(s, r < 0 ? r : 0);
}

/* ---- close, dup ---------------------------------------------------------- */

PL_EXPORT int close(int fd)
{
	int r;

	if (pl_active() && pl_private_fd(fd))
		return 0;	/* the channel's fds: see docs/preload.md */
	if (!pl_ours(fd))
		return real_close(fd);
	pl_lock();
	r = real_close(fd);
	fd_release(fd);
	pl_unlock();
	return r;
}

/* Close [lo, hi] with the kernel, but not the channel's fds. */
static int close_span(unsigned lo, unsigned hi)
{
	for (unsigned fd = lo; fd <= hi; fd++) {
		if (pl_private_fd((int)fd)) {
			if (fd > lo && real_close_range(lo, fd - 1, 0) < 0)
				return -1;
			lo = fd + 1;
		}
		if (fd == hi || fd >= PL_MAX_FD)
			break;
	}
	return lo <= hi ? real_close_range(lo, hi, 0) : 0;
}

/* closefrom(3) and daemons' close-everything loops come here: the table
 * must forget what the kernel closes, and the channel must stay. */
PL_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	int r;

	if (!pl_active() || flags || first > last)
		return real_close_range(first, last, flags);
	pl_lock();
	r = close_span(first, last);
	for (unsigned fd = first; r == 0 && fd <= last && fd < PL_MAX_FD; fd++)
		if (pl_tab_kind((int)fd) != PL_NONE)
			fd_release((int)fd);
	pl_unlock();
	return r;
}

PL_EXPORT void closefrom(int low)
{
	close_range(low < 0 ? 0 : (unsigned)low, ~0u, 0);
}

PL_EXPORT int dup(int fd)
{
	if (!pl_ours(fd))
		return real_dup(fd);
	pl_lock();
	return dup_common(fd, real_dup(fd));
}

PL_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	int r;

	if (pl_active() && pl_private_fd(newfd))
		return (int)pl_ret(-EBUSY);
	if (!pl_ours(oldfd) && !pl_ours(newfd))
		return real_dup3(oldfd, newfd, flags);
	pl_lock();
	r = real_dup3(oldfd, newfd, flags);
	if (r >= 0)
		fd_release(newfd);
	return dup_common(oldfd, r);
}

PL_EXPORT int dup2(int oldfd, int newfd)
{
	int r;

	if (pl_active() && pl_private_fd(newfd) && oldfd != newfd)
		return (int)pl_ret(-EBUSY);
	if (!pl_ours(oldfd) && !pl_ours(newfd))
		return real_dup2(oldfd, newfd);
	if (oldfd == newfd)
		return real_dup2(oldfd, newfd);
	pl_lock();
	r = real_dup2(oldfd, newfd);
	if (r >= 0)
		fd_release(newfd);
	return dup_common(oldfd, r);
}
