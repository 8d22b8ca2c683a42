/*
 * preload.h - internals of libfragnet-preload.so, shared by its files.
 *
 *   real.c   the libc functions we wrap, resolved with dlsym(RTLD_NEXT)
 *   table.c  fd table, socket objects, epoll bookkeeping (pure: no I/O,
 *            unit-tested by tests/unit/test_preload_table.c)
 *   init.c   constructor, modes, the channel (lazy attach), lock, fork
 *   calls.c  socket, bind, ..., read/write, fcntl, ioctl, close, dup
 *   wait.c   epoll_*, poll, ppoll, select, pselect, and blocking waits
 *   exec.c   the exec family: hand the channel over to the new image
 *
 * Locking: one mutex (pl_lock) guards the channel and the tables; the
 * fd-kind bytes are atomics so that a call on a kernel fd decides "not
 * ours" without the lock.  While a thread is inside the library
 * (pl_inside), the wrappers pass every call straight to libc: sock.c and
 * stream.c call poll/read/write/fcntl themselves.
 */
#ifndef FRAGNET_PRELOAD_H
#define FRAGNET_PRELOAD_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "fragnet/sock.h"

#define PL_EXPORT	__attribute__((visibility("default")))
/* Thread-locals read on every call: initial-exec, no __tls_get_addr (a
 * preloaded library is loaded at start-up, so static TLS is there). */
#define PL_TLS		__thread __attribute__((tls_model("initial-exec")))
#define PL_MAX_FD	65536	/* stack sockets live below this fd number */

/* ---- table.c ------------------------------------------------------------- */

enum pl_kind { PL_NONE = 0, PL_SOCK, PL_EP };

/* A stack socket: what the kernel keeps in an open file description.
 * Shared by every fd that names it (dup); freed when the last is closed
 * and no call is still using it (refs counts both). */
struct pl_sock {
	int h;			/* fn_sock handle */
	int refs;		/* fds + epoll entries + calls in progress */
	int nfds;		/* fds naming it: at 0 it leaves every epoll */
	int type;		/* SOCK_STREAM or SOCK_DGRAM */
	bool nonblock;		/* O_NONBLOCK, a file status flag */
	bool listening;
	bool connect_nb;	/* a non-blocking connect answered EINPROGRESS */
	uint32_t edge;		/* bumped when the app consumes or more data
				 * arrives: re-arms ET */
	int64_t seen_nread;	/* bytes queued when last looked at */
	/* options kept here: see docs/preload.md "Socket options" */
	int keepalive, nodelay, reuseaddr, rcvbuf, sndbuf;
	int keepidle, keepintvl, keepcnt;
	int cork;		/* TCP_CORK: kept, not applied */
	int rcvtimeo_ms, sndtimeo_ms;	/* 0: none */
	struct linger linger;
	/* to make it again after its stack restarted (pl_sock_revive) */
	bool bound, dgram_connected;
	struct sockaddr_in addr;	/* bound to */
	int backlog;
	unsigned opts_set;		/* carried options set, by bit */
	int64_t revive_at;		/* ms: no new attempt before */
};

/* One stack socket registered in an epoll instance. */
struct pl_epent {
	int fd;			/* the fd number it was added under */
	struct pl_sock *s;
	uint32_t events;	/* EPOLLIN | ... | EPOLLET | EPOLLONESHOT */
	epoll_data_t data;
	uint32_t last;		/* ET: bits reported and still set */
	uint32_t edge;		/* ET: s->edge when last reported */
	uint64_t reported;	/* the clock's time when last reported */
	bool disabled;		/* ONESHOT fired; until EPOLL_CTL_MOD */
};

/* The stack sockets of one epoll instance (kernel fds are in the real
 * epoll set).  Created when the first stack socket is added. */
struct pl_ep {
	int refs;		/* fds naming this epoll + waits in progress */
	struct pl_epent *ent;
	unsigned n, cap;
	unsigned rr;		/* round-robin start for collect */
	bool kernel_first;	/* alternates: no side starves */
	struct pl_ep *next;	/* every instance, for pl_ep_drop_sock */
};

/* Readiness of a socket as epoll bits (EPOLLIN, OUT, ERR, HUP, RDHUP),
 * and in *since the clock's time at which it last became readable. */
typedef uint32_t pl_ready_fn(struct pl_sock *s, void *ctx, uint64_t *since);

enum pl_kind pl_tab_kind(int fd);
void *pl_tab_ptr(int fd);
int pl_tab_set(int fd, enum pl_kind kind, void *p);
void *pl_tab_clear(int fd);

struct pl_sock *pl_sock_new(int h, int type);
/* Drop one reference: true when it was the last (the caller closes s->h
 * and frees s with pl_sock_free after pl_ep_drop_sock). */
bool pl_sock_put(struct pl_sock *s);
void pl_sock_free(struct pl_sock *s);

struct pl_ep *pl_ep_new(void);
bool pl_ep_put(struct pl_ep *ep);	/* true: the last reference */
void pl_ep_free(struct pl_ep *ep);
int pl_ep_ctl(struct pl_ep *ep, int op, int fd, struct pl_sock *s,
	      const struct epoll_event *ev);
void pl_ep_drop_sock(struct pl_sock *s);
int pl_ep_collect(struct pl_ep *ep, pl_ready_fn *ready, void *ctx,
		  uint64_t now, struct epoll_event *out, int max);
void pl_ep_reset_all(void);	/* for tests */

/* ---- init.c -------------------------------------------------------------- */

enum pl_mode { PL_UNINIT, PL_ACTIVE, PL_PASSTHROUGH };

extern enum pl_mode pl_mode_v;
extern bool pl_inert;			/* a forked child: local closes only */
extern PL_TLS int pl_inside;
extern struct fn_sock_chan pl_chan;

void pl_init(void);
static inline bool pl_active(void)
{
	if (pl_mode_v == PL_UNINIT)
		pl_init();
	return pl_mode_v == PL_ACTIVE && !pl_inside;
}
/* Is fd one of ours (stack socket or an epoll with stack sockets)? */
static inline bool pl_ours(int fd)
{
	return pl_active() && fd >= 0 && fd < PL_MAX_FD &&
	       pl_tab_kind(fd) != PL_NONE;
}
void pl_lock(void);
bool pl_trylock(void);		/* pl_lock, or false if it is held */
void pl_unlock(void);		/* wakes the other sleepers, if any */
void pl_unlock_quiet(void);	/* for the sleeper itself */
extern int pl_sleepers;		/* threads asleep on the bell; lock-guarded */
void pl_wait_forked(void);	/* fork child: forget the parent's sleepers */
int pl_attach(void);		/* lock held; 0 or -errno */
int pl_bell(void);		/* the app bell fd, -1 if none */
bool pl_attached(void);
/* The process that attached (getpid()): a vfork child shares our memory
 * but runs no atfork handler, and must not close our sockets. */
extern pid_t pl_owner;
bool pl_private_fd(int fd);	/* the channel's own fds */
static inline long pl_ret(long r)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

/* ---- wait.c -------------------------------------------------------------- */

uint32_t pl_sock_ready(struct pl_sock *s, void *ctx, uint64_t *since);
/* The readiness clock of pl_sock_ready and pl_ep_collect: odd, and above
 * every "since" of the events handled so far. */
uint64_t pl_ready_now(void);
/* Lock held (released while asleep): wait until s has one of events
 * (POLLIN/POLLOUT; errors always count), timeout_ms (-1 forever).
 * The bits, 0 on timeout, -EINTR, -errno. */
int pl_wait_sock(struct pl_sock *s, unsigned events, int timeout_ms);

/* ---- calls.c ------------------------------------------------------------- */

/* Lock held: the socket of fd, pinned (pl_sock_unpin when done), or NULL. */
struct pl_sock *pl_sock_pin(int fd);
void pl_sock_unpin(struct pl_sock *s);
/* Lock held: 0 s is fine (or not to be revived), 1 s was made again at
 * the restarted stack, -1 it should be but could not yet (hide it). */
int pl_sock_revive(struct pl_sock *s);

/* ---- real.c -------------------------------------------------------------- */

int real_socket(int, int, int);
int real_bind(int, const struct sockaddr *, socklen_t);
int real_listen(int, int);
int real_accept4(int, struct sockaddr *, socklen_t *, int);
int real_connect(int, const struct sockaddr *, socklen_t);
int real_close(int);
int real_close_range(unsigned, unsigned, int);
ssize_t real_read(int, void *, size_t);
ssize_t real_write(int, const void *, size_t);
ssize_t real_readv(int, const struct iovec *, int);
ssize_t real_writev(int, const struct iovec *, int);
ssize_t real_sendfile64(int, int, int64_t *, size_t);
ssize_t real_splice(int, loff_t *, int, loff_t *, size_t, unsigned);
ssize_t real_recvfrom(int, void *, size_t, int, struct sockaddr *,
		      socklen_t *);
ssize_t real_sendto(int, const void *, size_t, int, const struct sockaddr *,
		    socklen_t);
ssize_t real_recvmsg(int, struct msghdr *, int);
ssize_t real_sendmsg(int, const struct msghdr *, int);
int real_shutdown(int, int);
int real_getsockname(int, struct sockaddr *, socklen_t *);
int real_getpeername(int, struct sockaddr *, socklen_t *);
int real_getsockopt(int, int, int, void *, socklen_t *);
int real_setsockopt(int, int, int, const void *, socklen_t);
int real_fcntl(int, int, unsigned long);
int real_ioctl(int, unsigned long, unsigned long);
int real_dup(int);
int real_dup2(int, int);
int real_dup3(int, int, int);
int real_epoll_create1(int);
int real_epoll_ctl(int, int, int, struct epoll_event *);
int real_epoll_pwait(int, struct epoll_event *, int, int, const sigset_t *);
int real_epoll_pwait2(int, struct epoll_event *, int, const struct timespec *,
		      const sigset_t *);
int real_ppoll(struct pollfd *, nfds_t, const struct timespec *,
	       const sigset_t *);
int real_select(int, fd_set *, fd_set *, fd_set *, struct timeval *);
int real_pselect(int, fd_set *, fd_set *, fd_set *, const struct timespec *,
		 const sigset_t *);
int real_eventfd(unsigned, int);
int real_execve(const char *, char *const *, char *const *);
int real_execv(const char *, char *const *);
int real_execvp(const char *, char *const *);
int real_execvpe(const char *, char *const *, char *const *);
int real_fexecve(int, char *const *, char *const *);
int real_execveat(int, const char *, char *const *, char *const *, int);

#endif /* FRAGNET_PRELOAD_H */
