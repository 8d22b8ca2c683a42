/*
 * real.c - the libc functions that libfragnet-preload.so wraps, found with
 * dlsym(RTLD_NEXT) on first use.
 *
 * Calls can come before our constructor (another library's), and from
 * dlsym itself (it may allocate, and an allocator may read a file): while
 * a thread is inside dlsym (in_dlsym), or if dlsym finds nothing, each
 * function falls back to its raw system call, which is what libc would do
 * apart from cancellation points.  The pointer is published with a relaxed
 * atomic: every thread that resolves it finds the same function.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload.h"

static PL_TLS int in_dlsym;

static void *resolve(_Atomic(void *) *slot, const char *name)
{
	void *p = atomic_load_explicit(slot, memory_order_relaxed);

	if (p || in_dlsym)
		return p;
	in_dlsym++;
	p = dlsym(RTLD_NEXT, name);
	in_dlsym--;
	atomic_store_explicit(slot, p, memory_order_relaxed);
	return p;
}

/* REAL(ret, name, (params), (args), fallback expression) */
#define REAL(ret, name, params, args, fallback)				\
	ret real_##name params						\
	{								\
		static _Atomic(void *) slot;				\
		ret (*fn) params = (ret (*) params)resolve(&slot, #name); \
									\
		if (fn)							\
			return fn args;					\
		return (ret)(fallback);					\
	}

#define NOSYS	(errno = ENOSYS, -1)

REAL(int, socket, (int d, int t, int p), (d, t, p), syscall(SYS_socket, d, t, p))
REAL(int, bind, (int fd, const struct sockaddr *a, socklen_t l), (fd, a, l),
     syscall(SYS_bind, fd, a, l))
REAL(int, listen, (int fd, int b), (fd, b), syscall(SYS_listen, fd, b))
REAL(int, accept4, (int fd, struct sockaddr *a, socklen_t *l, int f),
     (fd, a, l, f), syscall(SYS_accept4, fd, a, l, f))
REAL(int, connect, (int fd, const struct sockaddr *a, socklen_t l), (fd, a, l),
     syscall(SYS_connect, fd, a, l))
REAL(int, close, (int fd), (fd), syscall(SYS_close, fd))
REAL(ssize_t, read, (int fd, void *b, size_t n), (fd, b, n),
     syscall(SYS_read, fd, b, n))
REAL(ssize_t, write, (int fd, const void *b, size_t n), (fd, b, n),
     syscall(SYS_write, fd, b, n))
REAL(ssize_t, readv, (int fd, const struct iovec *v, int n), (fd, v, n),
     syscall(SYS_readv, fd, v, n))
REAL(ssize_t, writev, (int fd, const struct iovec *v, int n), (fd, v, n),
     syscall(SYS_writev, fd, v, n))
REAL(ssize_t, recvfrom, (int fd, void *b, size_t n, int f, struct sockaddr *a,
			 socklen_t *l), (fd, b, n, f, a, l),
     syscall(SYS_recvfrom, fd, b, n, f, a, l))
REAL(ssize_t, sendto, (int fd, const void *b, size_t n, int f,
		       const struct sockaddr *a, socklen_t l), (fd, b, n, f, a, l),
     syscall(SYS_sendto, fd, b, n, f, a, l))
REAL(ssize_t, recvmsg, (int fd, struct msghdr *m, int f), (fd, m, f),
     syscall(SYS_recvmsg, fd, m, f))
REAL(ssize_t, sendmsg, (int fd, const struct msghdr *m, int f), (fd, m, f),
     syscall(SYS_sendmsg, fd, m, f))
REAL(ssize_t, sendfile, (int o, int i, off_t *p, size_t n), (o, i, p, n),
     syscall(SYS_sendfile, o, i, p, n))
REAL(int, shutdown, (int fd, int h), (fd, h), syscall(SYS_shutdown, fd, h))
REAL(int, getsockname, (int fd, struct sockaddr *a, socklen_t *l), (fd, a, l),
     syscall(SYS_getsockname, fd, a, l))
REAL(int, getpeername, (int fd, struct sockaddr *a, socklen_t *l), (fd, a, l),
     syscall(SYS_getpeername, fd, a, l))
REAL(int, getsockopt, (int fd, int lv, int nm, void *v, socklen_t *l),
     (fd, lv, nm, v, l), syscall(SYS_getsockopt, fd, lv, nm, v, l))
REAL(int, setsockopt, (int fd, int lv, int nm, const void *v, socklen_t l),
     (fd, lv, nm, v, l), syscall(SYS_setsockopt, fd, lv, nm, v, l))
REAL(int, fcntl, (int fd, int cmd, unsigned long a), (fd, cmd, a),
     syscall(SYS_fcntl, fd, cmd, a))
REAL(int, ioctl, (int fd, unsigned long r, unsigned long a), (fd, r, a),
     syscall(SYS_ioctl, fd, r, a))
REAL(int, dup, (int fd), (fd), syscall(SYS_dup, fd))
REAL(int, dup2, (int o, int n), (o, n),
     o == n ? syscall(SYS_fcntl, o, F_GETFD, 0) < 0 ? -1 : n
	    : syscall(SYS_dup3, o, n, 0))
REAL(int, dup3, (int o, int n, int f), (o, n, f), syscall(SYS_dup3, o, n, f))
REAL(int, epoll_create1, (int f), (f), syscall(SYS_epoll_create1, f))
REAL(int, epoll_ctl, (int ep, int op, int fd, struct epoll_event *e),
     (ep, op, fd, e), syscall(SYS_epoll_ctl, ep, op, fd, e))
REAL(int, epoll_pwait, (int ep, struct epoll_event *e, int n, int t,
			const sigset_t *m), (ep, e, n, t, m),
     syscall(SYS_epoll_pwait, ep, e, n, t, m, _NSIG / 8))
REAL(int, epoll_pwait2, (int ep, struct epoll_event *e, int n,
			 const struct timespec *t, const sigset_t *m),
     (ep, e, n, t, m), NOSYS)
REAL(int, ppoll, (struct pollfd *p, nfds_t n, const struct timespec *t,
		  const sigset_t *m), (p, n, t, m),
     syscall(SYS_ppoll, p, n, t, m, _NSIG / 8))
REAL(int, select, (int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *t),
     (n, r, w, e, t), NOSYS)
REAL(int, pselect, (int n, fd_set *r, fd_set *w, fd_set *e,
		    const struct timespec *t, const sigset_t *m),
     (n, r, w, e, t, m), NOSYS)
REAL(int, eventfd, (unsigned v, int f), (v, f), syscall(SYS_eventfd2, v, f))
REAL(int, close_range, (unsigned f, unsigned l, int fl), (f, l, fl),
     syscall(SYS_close_range, f, l, fl))
REAL(int, execve, (const char *p, char *const *a, char *const *e), (p, a, e),
     syscall(SYS_execve, p, a, e))
REAL(int, execv, (const char *p, char *const *a), (p, a), NOSYS)
REAL(int, execvp, (const char *f, char *const *a), (f, a), NOSYS)
REAL(int, execvpe, (const char *f, char *const *a, char *const *e), (f, a, e),
     NOSYS)
REAL(int, fexecve, (int fd, char *const *a, char *const *e), (fd, a, e), NOSYS)
REAL(int, execveat, (int d, const char *p, char *const *a, char *const *e,
		     int f), (d, p, a, e, f),
     syscall(SYS_execveat, d, p, a, e, f))
