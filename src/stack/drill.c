/*
 * drill.c - TEST ONLY: a stack that acts as if compromised.
 *
 * Built into fragnet-stack-drill only (src/stack/meson.build: never
 * installed, never the normal binary), for tests/integration/
 * test_compromise.sh.  Run with `--drill FILE`:
 *
 *   stk_drill_prepare(FILE)  before confinement, as root: opens FILE for
 *                            appending (its length is how many attempts
 *                            earlier lives of this stack began) and picks
 *                            a sibling: another stack of the same
 *                            supervisor, or else the supervisor;
 *   stk_drill_run()          after confinement and a second's wait (so
 *                            that `fragnet up` has settled): each attempt
 *                            not yet begun,
 *                            in order, first recorded in FILE, then tried
 *                            and its result logged ("drill: NAME: failed:
 *                            ERR" or "drill: NAME: SUCCEEDED").  An attempt
 *                            the filter answers with SIGSYS ends this life;
 *                            the supervisor restarts the stack and the next
 *                            life goes on with the next attempt.  When all
 *                            are done: "drill: done", and the stack serves
 *                            as usual.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fragnet/log.h"

#include "stack.h"

static int rec_fd = -1;
static long done_before;
static pid_t sibling;
static char sibling_fd[64];

/* pid's parent, from /proc/PID/stat ("pid (comm) state ppid ..."). */
static long parent_of(long pid, char *comm, size_t len)
{
	char path[64], line[512], *rp;
	FILE *f;
	long ppid = -1;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fgets(line, sizeof(line), f) && (rp = strrchr(line, ')'))) {
		char *lp = strchr(line, '(');

		if (lp && rp > lp)
			snprintf(comm, len, "%.*s", (int)(rp - lp - 1), lp + 1);
		if (sscanf(rp + 1, " %*c %ld", &ppid) != 1)
			ppid = -1;
	}
	fclose(f);
	return ppid;
}

/* Another stack of our own supervisor, for ptrace, kill and its memfd. */
static pid_t find_sibling(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = 0, me = getpid(), sup = getppid();

	while (d && !found && (e = readdir(d))) {
		char comm[32] = "";
		long pid = atol(e->d_name);

		if (pid > 0 && pid != me && parent_of(pid, comm, sizeof(comm))
		    == sup && strncmp(comm, "fragnet-stack", 13) == 0)
			found = (pid_t)pid;
	}
	if (d)
		closedir(d);
	return found ? found : getppid();
}

int stk_drill_prepare(const char *file)
{
	struct stat sb;

	rec_fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (rec_fd < 0 || fstat(rec_fd, &sb) < 0) {
		fn_err("drill: %s: %s", file, strerror(errno));
		return -errno;
	}
	done_before = (long)sb.st_size;
	sibling = find_sibling();
	/* fd 6: its socket channel, a memfd (names.h). */
	snprintf(sibling_fd, sizeof(sibling_fd), "/proc/%d/fd/6", (int)sibling);
	fn_info("drill: %ld attempt(s) begun before; sibling pid %d",
		done_before, (int)sibling);
	return 0;
}

static int try_open_shadow(void)
{
	return open("/etc/shadow", O_RDONLY);
}

static int try_open_any(void)
{
	return open("/", O_RDONLY | O_DIRECTORY);
}

static int try_memfd(void)
{
	int fd = open(sibling_fd, O_RDWR);

	if (fd >= 0 && write(fd, "owned", 5) < 0)
		return -1;
	return fd;
}

static int try_socket(void)
{
	return socket(AF_INET, SOCK_STREAM, 0);
}

static int try_ptrace(void)
{
	return (int)ptrace(PTRACE_ATTACH, sibling, NULL, NULL);
}

static int try_kill(void)
{
	return kill(sibling, SIGKILL);
}

static int try_exec(void)
{
	char *const argv[] = { "sh", "-c", "id", NULL };

	return execve("/bin/sh", argv, NULL);
}

static int try_mmap_exec(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? -1 : 0;
}

static const struct { const char *name; int (*fn)(void); } attempts[] = {
	{ "open /etc/shadow", try_open_shadow },
	{ "open /", try_open_any },
	{ "write a sibling's memfd", try_memfd },
	{ "socket(AF_INET)", try_socket },
	{ "ptrace(PTRACE_ATTACH) a sibling", try_ptrace },
	{ "kill a sibling", try_kill },
	{ "execve /bin/sh", try_exec },
	{ "mmap PROT_EXEC", try_mmap_exec },
};

void stk_drill_run(void)
{
	long n = (long)(sizeof(attempts) / sizeof(attempts[0]));
	struct timespec settle = { .tv_sec = 1 };

	/* Let `fragnet up` settle first (SUP_SETTLE_MS): a death during it
	 * would fail the start instead of being restarted. */
	if (done_before < n)
		nanosleep(&settle, NULL);

	for (long i = done_before; i < n; i++) {
		ssize_t w = write(rec_fd, "x", 1);

		(void)w;
		fn_info("drill: %s: trying", attempts[i].name);
		errno = 0;
		if (attempts[i].fn() < 0)
			fn_info("drill: %s: failed: %s", attempts[i].name,
				strerror(errno));
		else
			fn_err("drill: %s: SUCCEEDED", attempts[i].name);
	}
	fn_info("drill: done");
}
