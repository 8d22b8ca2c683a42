/*
 * exec.c - exec in a preloaded program (docs/preload.md "exec").
 *
 * A new program image takes the channel afresh (fn_link_take: a new
 * epoch, which voids whatever the old image left in the rings), so before
 * the exec: close every stack socket in order (a new image could not use
 * them anyway; if the exec fails they answer EBADF), then wait until the
 * stack has taken every request, so that its FINs go out rather than the
 * RSTs of the new image's take; all of it within EXEC_DRAIN_MS.  The lock
 * is held across the exec, so that no other thread touches the channel in
 * between.
 *
 * glibc's exec functions call execve internally, not through our symbol:
 * each of them is wrapped.  A forked child (inert), a vfork child (another
 * pid in our memory) and a process that never attached have nothing to
 * hand over.
 *
 * exit() does the same before the process goes: the kernel closes a dying
 * process's sockets in order (FIN after the bytes it took), and so do we,
 * so that peers see an orderly close.  stdio is flushed first (our
 * destructor runs before libc flushes, and a FILE may sit on a stack
 * socket); the destructors of libraries that run after ours find the
 * sockets closed.  The next process that takes the channel starts a new
 * epoch anyway, which aborts what a process killed, or one that ended
 * through _exit(), left open.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "fragnet/clock.h"
#include "preload.h"

#define EXEC_DRAIN_MS	2000	/* the closes and the drain together */

/* This process holds the channel: not a fork child (inert), not a vfork
 * child (another pid in our memory), attached. */
static bool holds_channel(void)
{
	return !pl_inert && pl_attached() && getpid() == pl_owner;
}

/* Lock held. */
static void exec_prepare(void)
{
	struct timespec ms = { 0, 1000000 };
	int64_t until = fn_clock_ms() + EXEC_DRAIN_MS;
	int r;

	if (!holds_channel())
		return;
	/* A stack that has not joined our epoch (dead, restarting) takes
	 * nothing now; its restart, or the next take, ends what is open. */
	if (!fn_link_peer_ready(&pl_chan.link))
		return;
	fn_sock_set_deadline(&pl_chan, until);
	for (int fd = 0; fd < PL_MAX_FD; fd++) {
		struct pl_sock *s;

		if (pl_tab_kind(fd) != PL_SOCK)
			continue;
		s = pl_tab_ptr(fd);
		if (s->h > 0)
			fn_sock_close(&pl_chan, s->h);
		s->h = 0;	/* gone: every call answers EBADF */
	}
	for (;;) {
		fn_sock_process(&pl_chan);
		r = fn_stream_reclaim(&pl_chan.link.tx);
		if (r < 0 || (uint32_t)r >= pl_chan.link.tx.nslots ||
		    fn_clock_ms() >= until)
			break;
		real_ppoll(NULL, 0, &ms, NULL);
	}
	fn_sock_set_deadline(&pl_chan, 0);
}

/* exit(): as before an exec.  The lock may be held by a thread that
 * called exit() inside a call of ours (a signal handler), or by one that
 * never lets go: then wait at most EXIT_LOCK_MS and leave the sockets to
 * the next holder's take. */
#define EXIT_LOCK_MS	200

static void __attribute__((destructor)) exit_close(void)
{
	struct timespec ms = { 0, 1000000 };

	if (!pl_active() || !holds_channel())
		return;
	fflush(NULL);
	for (int i = 0; i < EXIT_LOCK_MS; i++) {
		if (pl_trylock()) {
			exec_prepare();
			pl_unlock();
			return;
		}
		real_ppoll(NULL, 0, &ms, NULL);
	}
}

static bool exec_begin(void)
{
	if (!pl_active())
		return false;
	pl_lock();
	exec_prepare();
	return true;
}

static int exec_end(bool held, int r)
{
	int err = errno;

	if (held)
		pl_unlock();
	errno = err;
	return r;
}

PL_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	bool held = exec_begin();

	return exec_end(held, real_execve(path, argv, envp));
}

PL_EXPORT int execv(const char *path, char *const argv[])
{
	bool held = exec_begin();

	return exec_end(held, real_execv(path, argv));
}

PL_EXPORT int execvp(const char *file, char *const argv[])
{
	bool held = exec_begin();

	return exec_end(held, real_execvp(file, argv));
}

PL_EXPORT int execvpe(const char *file, char *const argv[],
		      char *const envp[])
{
	bool held = exec_begin();

	return exec_end(held, real_execvpe(file, argv, envp));
}

PL_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	bool held = exec_begin();

	return exec_end(held, real_fexecve(fd, argv, envp));
}

PL_EXPORT int execveat(int dirfd, const char *path, char *const argv[],
		       char *const envp[], int flags)
{
	bool held = exec_begin();

	return exec_end(held, real_execveat(dirfd, path, argv, envp, flags));
}

/* execl, execlp, execle: the argument list as an argv (and envp). */
#define LIST_TO_ARGV(arg, argv, envp, want_env)				\
	size_t n_ = 1;							\
	va_list ap_, aq_;						\
	va_start(ap_, arg);						\
	va_copy(aq_, ap_);						\
	while (va_arg(aq_, char *))					\
		n_++;							\
	va_end(aq_);							\
	char *argv[n_ + 1];						\
	argv[0] = (char *)(arg);					\
	for (size_t i_ = 1; i_ <= n_; i_++)				\
		argv[i_] = va_arg(ap_, char *);				\
	char *const *envp = (want_env) ? va_arg(ap_, char *const *) : NULL; \
	va_end(ap_)

PL_EXPORT int execl(const char *path, const char *arg, ...)
{
	LIST_TO_ARGV(arg, argv, envp, false);
	bool held = exec_begin();

	(void)envp;
	return exec_end(held, real_execv(path, argv));
}

PL_EXPORT int execlp(const char *file, const char *arg, ...)
{
	LIST_TO_ARGV(arg, argv, envp, false);
	bool held = exec_begin();

	(void)envp;
	return exec_end(held, real_execvp(file, argv));
}

PL_EXPORT int execle(const char *path, const char *arg, ...)
{
	LIST_TO_ARGV(arg, argv, envp, true);
	bool held = exec_begin();

	return exec_end(held, real_execve(path, argv, envp));
}
