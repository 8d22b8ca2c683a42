/*
 * topo.c - run directories: FN_RUN_ROOT/<name>, one per running topology.
 *
 * The supervisor owns its run directory: it makes it (mkdir is the lock
 * against a second `up`), writes its pid file last, and removes it on
 * stop.  A directory whose pid file names no live process is stale (the
 * supervisor was SIGKILLed) and is cleaned by the next `up` or `down`.
 *
 * The CLI side, topo_resolve(), turns a TOPOLOGY argument (a name, a config
 * path, or nothing) into a run directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fragnet/dpdk.h"
#include "sup.h"

int topo_path(char *buf, size_t len, const char *run_dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", run_dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The pid in run_dir's pid file, or a negative errno (-ENOENT: none). */
static pid_t pid_file_read(const char *run_dir)
{
	char path[PATH_MAX], buf[32], *end;
	ssize_t n;
	long pid;
	int fd;

	if (topo_path(path, sizeof(path), run_dir, FN_SUPERVISOR_PID) < 0)
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EBADMSG;
	buf[n] = '\0';
	errno = 0;
	pid = strtol(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n') || pid <= 1 ||
	    pid > INT32_MAX)
		return -EBADMSG;
	return (pid_t)pid;
}

/* A zombie counts as dead: a SIGKILLed daemon waits for init to reap it,
 * and a foreground supervisor for its shell. */
static bool pid_is_zombie(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');		/* comm may hold spaces and ')' */
	return p && p[1] == ' ' && p[2] == 'Z';
}

bool topo_pid_alive(pid_t pid)
{
	if (kill(pid, 0) < 0 && errno != EPERM)
		return false;
	return !pid_is_zombie(pid);
}

/* A supervisor is live when its pid file names a process that is alive.
 * Returns its pid, or 0 when there is none (no directory, no or bad pid
 * file, dead process). */
pid_t topo_live_pid(const char *run_dir)
{
	pid_t pid = pid_file_read(run_dir);

	return pid > 0 && topo_pid_alive(pid) ? pid : 0;
}

/* The nic's ready file (dpdk.h) holds the nic's pid.  It is stale, and
 * ours to remove, unless that nic still lives (one run by hand, say). */
static bool nic_ready_stale(int dfd)
{
	char buf[32], *end;
	ssize_t n;
	long pid;
	int fd = openat(dfd, FN_NIC_READY, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return true;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	pid = strtol(buf, &end, 10);
	return end == buf || pid <= 1 || pid > INT32_MAX ||
	       !topo_pid_alive((pid_t)pid);
}

/* Names the supervisor creates in a run directory: only these are ever
 * removed, so that a config with run_dir = /tmp cannot empty /tmp.  The
 * nic's ready file counts once its nic is dead (a nic killed with -9). */
static bool topo_is_ours(int dfd, const char *name)
{
	unsigned pipeline;
	int end = -1;

	if (strcmp(name, FN_SUPERVISOR_SOCK) == 0 ||
	    strcmp(name, FN_SUPERVISOR_PID) == 0)
		return true;
	if (strcmp(name, FN_NIC_READY) == 0)
		return nic_ready_stale(dfd);
	sscanf(name, FN_CONTROL_SOCK_FMT "%n", &pipeline, &end);
	if (end > 0 && (size_t)end == strlen(name))
		return true;
	end = -1;
	sscanf(name, FN_RULESET_FMT "%n", &pipeline, &end);
	if (end > 0 && (size_t)end == strlen(name))
		return true;
	end = -1;
	sscanf(name, FN_RULESET_TMP_FMT "%n", &pipeline, &end);
	return end > 0 && (size_t)end == strlen(name);
}

/* Remove run_dir and our files in it (sockets, pid file).  Anything else
 * in it is left alone and the directory stays: -ENOTEMPTY. */
int topo_clean(const char *run_dir)
{
	struct dirent *de;
	DIR *d = opendir(run_dir);
	int err = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (!topo_is_ours(dirfd(d), de->d_name))
			err = -ENOTEMPTY;
		else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
			err = -errno;
	}
	closedir(d);
	if (err)
		return err;
	return rmdir(run_dir) < 0 && errno != ENOENT ? -errno : 0;
}

/* Written last in startup, so a pid file means a complete run directory. */
int topo_write_pid(const char *run_dir)
{
	char path[PATH_MAX];
	int fd, err = 0;

	if (topo_path(path, sizeof(path), run_dir, FN_SUPERVISOR_PID) < 0)
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (dprintf(fd, "%d\n", (int)getpid()) < 0)
		err = -EIO;
	if (close(fd) < 0 && !err)
		err = -errno;
	return err;
}

/* ---- CLI side ---------------------------------------------------------- */

static bool looks_like_path(const char *arg)
{
	size_t n = strlen(arg);
	struct stat st;

	if (strchr(arg, '/') || (n > 5 && strcmp(arg + n - 5, ".conf") == 0))
		return true;
	return stat(arg, &st) == 0 && S_ISREG(st.st_mode);
}

static int resolve_config(const char *path, char run_dir[PATH_MAX],
			  char name[FN_NAME_MAX])
{
	char err[FN_CONFIG_ERR_MAX];
	struct fn_config *cfg = calloc(1, sizeof(*cfg));

	if (!cfg) {
		fprintf(stderr, "fragnet: out of memory\n");
		return EXIT_RUNTIME;
	}
	if (fn_config_load(cfg, path, err) < 0) {
		fprintf(stderr, "fragnet: %s\n", err);
		free(cfg);
		return EXIT_USAGE;
	}
	snprintf(run_dir, PATH_MAX, "%s", cfg->run_dir);
	snprintf(name, FN_NAME_MAX, "%s", cfg->name);
	free(cfg);
	return EXIT_OK;
}

static int resolve_name(const char *arg, char run_dir[PATH_MAX],
			char name[FN_NAME_MAX])
{
	if (!*arg || strlen(arg) >= FN_NAME_MAX || strcmp(arg, ".") == 0 ||
	    strcmp(arg, "..") == 0) {
		fprintf(stderr, "fragnet: bad topology name '%s'\n", arg);
		return EXIT_USAGE;
	}
	snprintf(name, FN_NAME_MAX, "%s", arg);
	snprintf(run_dir, PATH_MAX, FN_RUN_ROOT "/%s", arg);
	return EXIT_OK;
}

/* Names of the live topologies under FN_RUN_ROOT, space separated. */
static unsigned list_live(char *names, size_t len, char first[FN_NAME_MAX])
{
	char dir[PATH_MAX];
	struct dirent *de;
	unsigned n = 0;
	size_t used = 0;
	DIR *d = opendir(FN_RUN_ROOT);

	names[0] = '\0';
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= FN_NAME_MAX)
			continue;
		if (topo_path(dir, sizeof(dir), FN_RUN_ROOT, de->d_name) < 0 ||
		    topo_live_pid(dir) <= 0)
			continue;
		if (n++ == 0)
			snprintf(first, FN_NAME_MAX, "%s", de->d_name);
		int w = snprintf(names + used, len - used, "%s%s",
				 used ? ", " : "", de->d_name);
		if (w > 0 && (size_t)w < len - used)
			used += (size_t)w;
	}
	closedir(d);
	return n;
}

static int resolve_default(char run_dir[PATH_MAX], char name[FN_NAME_MAX])
{
	char names[1024], first[FN_NAME_MAX];
	unsigned n = list_live(names, sizeof(names), first);

	if (n == 0) {
		fprintf(stderr, "fragnet: no topology is running under "
			FN_RUN_ROOT "\n");
		return EXIT_RUNTIME;
	}
	if (n > 1) {
		fprintf(stderr, "fragnet: %u topologies are running (%s); "
			"name one\n", n, names);
		return EXIT_USAGE;
	}
	return resolve_name(first, run_dir, name);
}

/*
 * TOPOLOGY argument -> run directory and name.  arg may be NULL (the one
 * live topology), a config path (its name and run_dir settings), or a
 * name.  Prints its own errors; returns an exit code.
 */
int topo_resolve(const char *arg, char run_dir[PATH_MAX],
		 char name[FN_NAME_MAX])
{
	if (!arg)
		return resolve_default(run_dir, name);
	if (looks_like_path(arg))
		return resolve_config(arg, run_dir, name);
	return resolve_name(arg, run_dir, name);
}
