/*
 * init.c - start-up, modes, the channel and the lock of
 * libfragnet-preload.so.
 *
 * pl_init() runs from our constructor, or from the first wrapped call if
 * that comes earlier (another library's constructor).  It picks the mode:
 *   FRAGNET_PRELOAD_PASSTHROUGH=1  every call goes to libc (kernel stack);
 *   otherwise FRAGNET_SOCKCHAN_FD must name an open fd (names.h): if not,
 *   the program stops at once with a message that says what is missing
 *   and what to do, rather than run on the wrong network.
 * The channel is attached lazily, at the first AF_INET socket(): a shell
 * that merely execs the real server never touches it.  Attaching takes a
 * POSIX record lock on the channel's memfd (per process, kept across
 * exec), so that a second process that inherited the fds (fork + exec of
 * another preloaded program) is refused with a message naming the owner
 * instead of corrupting the rings.  Once the owner is gone the lock is
 * free, and the next process takes the channel over (fn_sock_attach:
 * fn_link_take), whatever the one before left in it.
 *
 * fork (Redis BGSAVE): the child shares the channel's memory (MAP_SHARED)
 * with its parent and must never touch the rings.  The atfork child
 * handler marks the process inert if the parent had attached: closes of stack sockets close only the
 * placeholder fd, every other call on them answers EBADF, and socket()
 * answers EACCES.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fragnet/env.h"
#include "fragnet/names.h"
#include "preload.h"

enum pl_mode pl_mode_v = PL_UNINIT;
bool pl_inert;
PL_TLS int pl_inside;
struct fn_sock_chan pl_chan;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int chan_fd = -1, app_bell = -1, stack_bell = -1;
static int attached;		/* 0: not yet; 1: yes; -errno: failed */
pid_t pl_owner;			/* the process that attached */
int pl_sleepers;

/* Write a message to stderr with the real write (no stdio: may run
 * before libc is fully set up, or in a forked child). */
static void say(const char *a, const char *b, const char *c)
{
	const char *parts[] = { "libfragnet-preload.so: ", a, b, c, "\n" };

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (parts[i] && real_write(2, parts[i], strlen(parts[i])) < 0)
			return;
}

static void __attribute__((noreturn)) no_channel(const char *why)
{
	say(FN_ENV_SOCKCHAN_FD, why,
	    ": this program runs with LD_PRELOAD=libfragnet-preload.so but "
	    "without a socket channel. Run it as the [app] of a fragnet "
	    "pipeline (fragnet up CONFIG), or set "
	    FN_ENV_PRELOAD_PASSTHROUGH "=1 to use the kernel's network stack.");
	_exit(1);
}

static void at_prepare(void)
{
	pthread_mutex_lock(&lock);
}

static void at_parent(void)
{
	pthread_mutex_unlock(&lock);
}

/* A child of a process that never attached (e.g. `daemonize yes`: the
 * parent exits) may still take the channel; the owner lock decides. */
static void at_child(void)
{
	pthread_mutex_init(&lock, NULL);
	pl_sleepers = 0;	/* they were the parent's threads */
	pl_wait_forked();
	pl_inert = attached != 0;
}

static int env_fd_or(const char *name)
{
	int fd = fn_env_fd(name);

	return fd < 0 ? -1 : fd;
}

static void init_once(void)
{
	const char *pt = getenv(FN_ENV_PRELOAD_PASSTHROUGH);
	int r;

	if (pt && strcmp(pt, "0") != 0 && pt[0]) {
		pl_mode_v = PL_PASSTHROUGH;
		return;
	}
	r = fn_env_fd(FN_ENV_SOCKCHAN_FD);
	if (r == -ENOENT)
		no_channel(" is not set");
	if (r < 0)
		no_channel(" is not a file descriptor number");
	if (real_fcntl(r, F_GETFD, 0) < 0)
		no_channel(" names a file descriptor that is not open");
	chan_fd = r;
	app_bell = env_fd_or(FN_ENV_APP_BELL_FD);
	stack_bell = env_fd_or(FN_ENV_STACK_BELL_FD);
	pthread_atfork(at_prepare, at_parent, at_child);
	pl_mode_v = PL_ACTIVE;
}

void pl_init(void)
{
	pthread_once(&once, init_once);
}

__attribute__((constructor)) static void pl_constructor(void)
{
	pl_init();
}

void pl_lock(void)
{
	pthread_mutex_lock(&lock);
	pl_inside++;
}

bool pl_trylock(void)
{
	if (pthread_mutex_trylock(&lock) != 0)
		return false;
	pl_inside++;
	return true;
}

void pl_unlock_quiet(void)
{
	pl_inside--;
	pthread_mutex_unlock(&lock);
}

/*
 * Another thread may sleep on the bell (pl_sleepers) while this one used
 * the channel: our calls may have taken its events, drained the bell or
 * cleared the ring's sleeping flag (arm/disarm is one flag per ring), so
 * the stack would not wake it.  Ring the bell ourselves: it looks again.
 */
void pl_unlock(void)
{
	uint64_t one = 1;
	int bell = pl_sleepers > 0 ? pl_bell() : -1;

	pl_unlock_quiet();
	if (bell >= 0 && real_write(bell, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is full, the sleeper wakes anyway */
	}
}

/* Take the channel's owner lock: 0, or -EACCES with a message. */
static int own_channel(void)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			    .l_start = 0, .l_len = 1 };
	char pid[24] = "?";

	if (real_fcntl(chan_fd, F_SETLK, (unsigned long)&fl) == 0)
		return 0;
	if (real_fcntl(chan_fd, F_GETLK, (unsigned long)&fl) == 0 &&
	    fl.l_type != F_UNLCK)
		snprintf(pid, sizeof(pid), "%ld", (long)fl.l_pid);
	say("the socket channel is already in use by process ", pid,
	    " (a preloaded program that started this one); "
	    "a channel serves one process at a time: AF_INET sockets "
	    "refused");
	return -EACCES;
}

int pl_attach(void)
{
	int r;

	if (attached)
		return attached < 0 ? attached : 0;
	if (pl_inert)
		return -EACCES;
	r = own_channel();
	if (r == 0) {
		r = fn_sock_attach(&pl_chan, chan_fd, app_bell, stack_bell);
		pl_owner = getpid();
		if (r < 0)
			say("cannot attach the socket channel (",
			    FN_ENV_SOCKCHAN_FD, "): bad or foreign memory");
	}
	attached = r < 0 ? r : 1;
	return r;
}

bool pl_attached(void)
{
	return attached > 0;
}

int pl_bell(void)
{
	return attached > 0 ? pl_chan.app_bell_fd : -1;
}

bool pl_private_fd(int fd)
{
	return fd >= 0 && (fd == chan_fd || fd == app_bell || fd == stack_bell);
}
