/*
 * shim.c - libfragnet-netlink.so: the real `nft` talks nf_tables netlink
 * to one fragnet stack instead of the kernel (fragnet/nlctl.h).
 *
 * Preloaded by `fragnet nft`, which puts the stack's control socket path
 * in FRAGNET_NFT_CONTROL (names.h).  socket(AF_NETLINK, *,
 * NETLINK_NETFILTER) gives nft one end (A) of a local AF_UNIX datagram
 * socketpair; the shim keeps the other end (B) and a SEQPACKET connection
 * to the stack.  Every other socket (NETLINK_ROUTE for interface names,
 * ...) is the kernel's, untouched.
 *
 * WHY A SOCKETPAIR: nft waits for netlink replies with select() (a zero
 * timeout after a batch), fcntl()s the socket non-blocking and reads until
 * EAGAIN.  A real fd that is readable exactly when replies are queued makes
 * all of that work unchanged; only the calls whose answers are netlink's
 * own are intercepted:
 *   sendto/sendmsg/send/write  forward the datagram to the stack, wait for
 *                 its DONE, queue the replies, then fill B: the replies are
 *                 readable on A when the call returns, as with the kernel;
 *   recvmsg/recvfrom/recv/read  top B up from the queue first and after,
 *                 so A stays readable while replies remain; the source
 *                 address is a struct sockaddr_nl (namelen 12) from pid 0;
 *   bind/getsockname  a netlink address with our port id;
 *   setsockopt/getsockopt(SOL_NETLINK)  remembered (CAP_ACK and EXT_ACK
 *                 go to the stack: they shape error messages); SOL_SOCKET
 *                 options apply to A itself;
 *   close         drops the stack connection and B.
 * Each reply netlink message is its own datagram on A, so that a reader
 * with a 4 KiB buffer (nft's batch acks) is never truncated by a neighbour.
 *
 * Not thread safe: nft uses its netlink socket from one thread.  dup() of
 * the fd is not followed (nft does not).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fragnet/names.h"
#include "fragnet/nlctl.h"

#define EXPORT		__attribute__((visibility("default")))
#define SHIM_MAX_FD	4096
#define SHIM_WAIT_MS	120000	/* a multi-MB batch compiles in the stack */
#define SHIM_PAIR_BUF	(8 << 20)

struct nlq {			/* reply messages not yet in B */
	uint8_t *buf;
	size_t len, off, cap;
};

struct nlsock {
	int ctl;		/* connection to the stack */
	int b;			/* our end of the pair; nft holds A */
	uint32_t portid;
	bool cap_ack, ext_ack;
	struct nlq q;
};

static struct nlsock *socks[SHIM_MAX_FD];
static uint32_t next_portid;

#define REAL(ret, name, ...)						\
	static ret (*real_##name)(__VA_ARGS__);				\
	static void load_##name(void)					\
	{								\
		if (!real_##name)					\
			real_##name = dlsym(RTLD_NEXT, #name);		\
	}

REAL(int, socket, int, int, int)
REAL(int, close, int)
REAL(int, bind, int, const struct sockaddr *, socklen_t)
REAL(int, getsockname, int, struct sockaddr *, socklen_t *)
REAL(int, setsockopt, int, int, int, const void *, socklen_t)
REAL(int, getsockopt, int, int, int, void *, socklen_t *)
REAL(ssize_t, sendmsg, int, const struct msghdr *, int)
REAL(ssize_t, recvmsg, int, struct msghdr *, int)
REAL(ssize_t, write, int, const void *, size_t)
REAL(ssize_t, read, int, void *, size_t)

static void shim_say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("libfragnet-netlink: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static struct nlsock *lookup(int fd)
{
	return fd >= 0 && fd < SHIM_MAX_FD ? socks[fd] : NULL;
}

/* ---- the stack connection ------------------------------------------------- */

static int ctl_connect(void)
{
	const char *path = getenv(FN_ENV_NFT_CONTROL);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (!path || !*path) {
		shim_say("%s is not set: run nft through `fragnet nft`",
			 FN_ENV_NFT_CONTROL);
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	load_socket();
	fd = real_socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = errno;

		shim_say("cannot connect to %s: %s", path, strerror(e));
		load_close();
		real_close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int send_all(int fd, const void *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p = (const uint8_t *)p + n;
		len -= (size_t)n;
	}
	return 0;
}

/* One datagram to the stack, in chunks (nlctl.h step 1). */
static int ctl_send(struct nlsock *s, const uint8_t *data, size_t len)
{
	static uint8_t msg[sizeof(struct fn_nlctl_hdr) + FN_NLCTL_CHUNK];
	struct fn_nlctl_hdr h = { .type = FN_NLCTL_NETLINK };
	size_t off = 0;

	if (len > FN_NLCTL_REQ_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	do {
		size_t n = len - off < FN_NLCTL_CHUNK ? len - off : FN_NLCTL_CHUNK;

		h.flags = (uint16_t)((off + n < len ? FN_NLCTL_F_MORE : 0) |
				     (s->cap_ack ? FN_NLCTL_F_CAP_ACK : 0) |
				     (s->ext_ack ? FN_NLCTL_F_EXT_ACK : 0));
		h.len = (uint32_t)n;
		memcpy(msg, &h, sizeof(h));
		memcpy(msg + sizeof(h), data + off, n);
		if (send_all(s->ctl, msg, sizeof(h) + n) < 0)
			return -1;
		off += n;
	} while (off < len);
	return 0;
}

static int q_reserve(struct nlq *q, size_t more)
{
	size_t cap = q->cap ? q->cap : 65536;
	uint8_t *p;

	if (q->off > 0 && q->off == q->len)
		q->off = q->len = 0;
	while (cap < q->len + more)
		cap *= 2;
	if (cap == q->cap)
		return 0;
	p = realloc(q->buf, cap);
	if (!p)
		return -1;
	q->buf = p;
	q->cap = cap;
	return 0;
}

/* Wait for the stack's replies up to DONE, queue them.  0 or -1. */
static int ctl_wait(struct nlsock *s)
{
	static uint8_t msg[sizeof(struct fn_nlctl_hdr) + FN_NLCTL_REPLY_MAX];
	struct fn_nlctl_hdr h;

	for (;;) {
		struct pollfd pfd = { .fd = s->ctl, .events = POLLIN };
		int r = poll(&pfd, 1, SHIM_WAIT_MS);
		ssize_t n;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			shim_say("no answer from the stack in %d s",
				 SHIM_WAIT_MS / 1000);
			errno = r == 0 ? ETIMEDOUT : errno;
			return -1;
		}
		n = recv(s->ctl, msg, sizeof(msg), MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (size_t)n < sizeof(h) || (size_t)n > sizeof(msg)) {
			shim_say("the stack closed the connection");
			errno = ECONNRESET;
			return -1;
		}
		memcpy(&h, msg, sizeof(h));
		if (h.len != (size_t)n - sizeof(h)) {
			errno = EPROTO;
			return -1;
		}
		if (h.type == FN_NLCTL_DONE)
			return 0;
		if (h.type != FN_NLCTL_REPLY)
			continue;
		if (q_reserve(&s->q, h.len) < 0)
			return -1;
		memcpy(s->q.buf + s->q.len, msg + sizeof(h), h.len);
		s->q.len += h.len;
	}
}

/* Move queued netlink messages into B, one datagram each, until B is
 * full.  Our port id goes into nlmsg_pid, as the kernel's replies carry. */
static void q_pump(struct nlsock *s)
{
	struct nlq *q = &s->q;

	while (q->len - q->off >= sizeof(struct nlmsghdr)) {
		struct nlmsghdr *nlh = (struct nlmsghdr *)(q->buf + q->off);
		size_t l = nlh->nlmsg_len, step = NLMSG_ALIGN(l);

		if (l < sizeof(*nlh) || l > q->len - q->off) {
			q->off = q->len;	/* the stack sent garbage */
			break;
		}
		nlh->nlmsg_pid = s->portid;
		if (send(s->b, nlh, l, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			break;		/* full: the next recv tops up */
		q->off += step < q->len - q->off ? step : q->len - q->off;
	}
}

/* FRAGNET_NETLINK_RECORD=DIR: keep each datagram nft sends as DIR/PID-NNNN
 * (seeds for tests/fuzz/fuzz_nft_netlink). */
static void record(const uint8_t *buf, size_t len)
{
	static unsigned seq;
	const char *dir = getenv(FN_ENV_NETLINK_RECORD);
	char path[4096];
	FILE *f;

	if (!dir || !*dir)
		return;
	snprintf(path, sizeof(path), "%s/%d-%04u", dir, (int)getpid(), seq++);
	f = fopen(path, "we");
	if (!f)
		return;
	fwrite(buf, 1, len, f);
	fclose(f);
}

static ssize_t nl_send(struct nlsock *s, const struct iovec *iov, size_t n)
{
	size_t len = 0, off = 0;
	uint8_t *buf;
	int r;

	for (size_t i = 0; i < n; i++)
		len += iov[i].iov_len;
	buf = malloc(len ? len : 1);
	if (!buf)
		return -1;
	for (size_t i = 0; i < n; i++) {
		memcpy(buf + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	record(buf, len);
	r = ctl_send(s, buf, len);
	free(buf);
	if (r < 0 || ctl_wait(s) < 0)
		return -1;
	q_pump(s);
	return (ssize_t)len;
}

/* ---- the intercepted calls ------------------------------------------------ */

static struct nlsock *nlsock_new(int *pair, int ctl)
{
	struct nlsock *s = calloc(1, sizeof(*s));
	int sz = SHIM_PAIR_BUF;

	if (!s)
		return NULL;
	s->ctl = ctl;
	s->b = pair[1];
	s->portid = next_portid++ ? (uint32_t)-4096 - next_portid
				  : (uint32_t)getpid();
	load_setsockopt();
	/* Room for a big dump's replies; plain SO_SNDBUF if not root. */
	if (real_setsockopt(s->b, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)))
		real_setsockopt(s->b, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	real_setsockopt(pair[0], SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
	return s;
}

EXPORT int socket(int domain, int type, int protocol)
{
	int pair[2], ctl;
	struct nlsock *s;

	load_socket();
	if (domain != AF_NETLINK || protocol != NETLINK_NETFILTER)
		return real_socket(domain, type, protocol);
	ctl = ctl_connect();
	if (ctl < 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_DGRAM | (type & (SOCK_CLOEXEC | SOCK_NONBLOCK)),
		       0, pair) < 0)
		goto err_ctl;
	if (pair[0] >= SHIM_MAX_FD || !(s = nlsock_new(pair, ctl))) {
		load_close();
		real_close(pair[0]);
		real_close(pair[1]);
		errno = EMFILE;
		goto err_ctl;
	}
	fcntl(s->b, F_SETFD, FD_CLOEXEC);
	socks[pair[0]] = s;
	return pair[0];

err_ctl:
	load_close();
	real_close(ctl);
	return -1;
}

EXPORT int close(int fd)
{
	struct nlsock *s = lookup(fd);

	load_close();
	if (s) {
		socks[fd] = NULL;
		real_close(s->ctl);
		real_close(s->b);
		free(s->q.buf);
		free(s);
	}
	return real_close(fd);
}

EXPORT int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct nlsock *s = lookup(fd);

	load_bind();
	if (!s)
		return real_bind(fd, sa, len);
	if (len < sizeof(struct sockaddr_nl) || sa->sa_family != AF_NETLINK) {
		errno = EINVAL;
		return -1;
	}
	if (((const struct sockaddr_nl *)sa)->nl_pid)
		s->portid = ((const struct sockaddr_nl *)sa)->nl_pid;
	return 0;
}

EXPORT int getsockname(int fd, struct sockaddr *sa, socklen_t *len)
{
	struct nlsock *s = lookup(fd);
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };

	load_getsockname();
	if (!s)
		return real_getsockname(fd, sa, len);
	nl.nl_pid = s->portid;
	memcpy(sa, &nl, *len < sizeof(nl) ? *len : sizeof(nl));
	*len = sizeof(nl);
	return 0;
}

EXPORT int setsockopt(int fd, int level, int name, const void *v,
		      socklen_t len)
{
	struct nlsock *s = lookup(fd);
	int on;

	load_setsockopt();
	if (!s || level != SOL_NETLINK)
		return real_setsockopt(fd, level, name, v, len);
	if (len < sizeof(int)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(&on, v, sizeof(on));
	if (name == NETLINK_CAP_ACK)
		s->cap_ack = on != 0;
	else if (name == NETLINK_EXT_ACK)
		s->ext_ack = on != 0;
	return 0;	/* groups, PKTINFO, ...: nothing to do for nft */
}

EXPORT int getsockopt(int fd, int level, int name, void *v, socklen_t *len)
{
	struct nlsock *s = lookup(fd);
	int on = 0;

	load_getsockopt();
	if (!s || level != SOL_NETLINK)
		return real_getsockopt(fd, level, name, v, len);
	if (*len < sizeof(int)) {
		errno = EINVAL;
		return -1;
	}
	if (name == NETLINK_CAP_ACK)
		on = s->cap_ack;
	else if (name == NETLINK_EXT_ACK)
		on = s->ext_ack;
	memcpy(v, &on, sizeof(on));
	*len = sizeof(on);
	return 0;
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct nlsock *s = lookup(fd);

	load_sendmsg();
	if (!s)
		return real_sendmsg(fd, msg, flags);
	return nl_send(s, msg->msg_iov, msg->msg_iovlen);
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags,
		      const struct sockaddr *sa, socklen_t salen)
{
	struct iovec iov = { (void *)buf, len };
	struct msghdr m = { .msg_name = (void *)sa, .msg_namelen = salen,
			    .msg_iov = &iov, .msg_iovlen = 1 };

	return sendmsg(fd, &m, flags);
}

EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	return sendto(fd, buf, len, flags, NULL, 0);
}

EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
	struct iovec iov = { (void *)buf, len };
	struct nlsock *s = lookup(fd);
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (!s) {
		load_write();
		return real_write(fd, buf, len);
	}
	return sendmsg(fd, &m, 0);
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct nlsock *s = lookup(fd);
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
	socklen_t room;
	ssize_t n;

	load_recvmsg();
	if (!s)
		return real_recvmsg(fd, msg, flags);
	room = msg->msg_namelen;	/* the kernel overwrites it */
	q_pump(s);
	n = real_recvmsg(fd, msg, flags);
	if (n >= 0 && msg->msg_name) {
		memcpy(msg->msg_name, &nl, room < sizeof(nl) ? room : sizeof(nl));
		msg->msg_namelen = sizeof(nl);
	}
	if (n >= 0)
		q_pump(s);	/* A stays readable while replies remain */
	return n;
}

EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags,
			struct sockaddr *sa, socklen_t *salen)
{
	struct iovec iov = { buf, len };
	struct msghdr m = { .msg_name = sa, .msg_namelen = salen ? *salen : 0,
			    .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n = recvmsg(fd, &m, flags);

	if (n >= 0 && salen)
		*salen = m.msg_namelen;
	return n;
}

EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	return recvfrom(fd, buf, len, flags, NULL, NULL);
}

EXPORT ssize_t read(int fd, void *buf, size_t len)
{
	if (!lookup(fd)) {
		load_read();
		return real_read(fd, buf, len);
	}
	return recv(fd, buf, len, 0);
}
