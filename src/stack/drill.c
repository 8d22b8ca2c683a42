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
 *                            a sibling: another fragnet-stack, or else the
 *                            parent;
 *   stk_drill_run()          after confinement: each attempt not yet begun,
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
#include <unistd.h>

#include "fragnet/log.h"

#include "stack.h"

static int rec_fd = -1;
static long done_before;
static pid_t sibling;
static char sibling_fd[64];

/* Another fragnet-stack (not us), for ptrace, kill and its memfd. */
static pid_t find_sibling(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = 0, me = getpid();

	while (d && !found && (e = readdir(d))) {
		char path[300], comm[32] = "";
		long pid = atol(e->d_name);
		FILE *f;

		if (pid <= 0 || pid == me)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) &&
		    strncmp(comm, "fragnet-stack", 13) == 0)
			found = (pid_t)pid;
		fclose(f);
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
	/* fd 4 is a stack's link, 6 its socket channel (names.h). */
	snprintf(sibling_fd, sizeof(sibling_fd), "/proc/%d/fd/4", (int)sibling);
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
