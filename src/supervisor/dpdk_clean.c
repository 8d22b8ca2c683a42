/*
 * dpdk_clean.c - remove what a DPDK primary of a topology left behind.
 *
 * fragnet-nic is EAL's primary with --file-prefix=fragnet-<name>
 * (fragnet/dpdk.h).  EAL keeps its hugepage memory in files
 * <hugetlbfs mount>/fragnet-<name>map_<N> and its runtime state in
 * /var/run/dpdk/fragnet-<name>/.  A primary killed with -9 leaves both (the
 * files still hold their hugepages), and even a clean exit leaves the
 * runtime directory and a page or so.  The next primary of the same prefix
 * would clean them; sup_dpdk_clean() does it when the topology stops, so
 * `fragnet down` leaves nothing behind.
 *
 * Called from sup_run() after every component is reaped, for a topology
 * that runs a nic.  It removes only:
 *   - regular files named exactly fragnet-<name>map_<digits> directly in a
 *     hugetlbfs mount (checked with fstatfs), and only if no process holds
 *     a lock on them (EAL keeps a shared lock on each page file it maps);
 *   - the directory /var/run/dpdk/fragnet-<name> and what is in it, unless
 *     its config file is locked (EAL's primary holds a write lock on it).
 * /var/run is the system's own (a link to /run on Debian); below
 * /var/run/dpdk and in the mount directories no symbolic link is ever
 * followed: every open is O_NOFOLLOW, every stat AT_SYMLINK_NOFOLLOW, and
 * unlinkat removes a link, never its target.  Failures are warnings: the
 * topology is stopped either way.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "fragnet/dpdk.h"
#include "fragnet/log.h"
#include "sup.h"

#define RM_MAX_DEPTH		4	/* EAL makes no subdirectories */

/* prefix "map_" digits, and nothing else. */
static bool is_page_file(const char *fname, const char *prefix)
{
	size_t plen = strlen(prefix);
	const char *p;

	if (strncmp(fname, prefix, plen) != 0 ||
	    strncmp(fname + plen, "map_", 4) != 0)
		return false;
	p = fname + plen + 4;
	if (!*p)
		return false;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

/* Unlink dir/fname if it is a regular file nobody holds a lock on. */
static int unlink_unlocked(int dfd, const char *fname)
{
	struct stat st;
	int fd, err = 0;

	if (fstatat(dfd, fname, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode))
		return 0;
	fd = openat(dfd, fname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
	else if (unlinkat(dfd, fname, 0) < 0)
		err = -errno;
	close(fd);
	return err < 0 ? err : 1;
}

/* Page files of prefix in one hugetlbfs mount.  Returns files removed. */
static unsigned clean_mount(const char *dir, const char *prefix)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct statfs sfs;
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	if (dfd < 0)
		return 0;
	if (fstatfs(dfd, &sfs) < 0 || sfs.f_type != HUGETLBFS_MAGIC ||
	    !(d = fdopendir(dfd))) {
		close(dfd);
		return 0;
	}
	while ((de = readdir(d))) {
		int r;

		if (!is_page_file(de->d_name, prefix))
			continue;
		r = unlink_unlocked(dirfd(d), de->d_name);
		if (r > 0)
			n++;
		else if (r < 0)
			fn_warn("DPDK leftovers: %s/%s: %s", dir, de->d_name,
				r == -EBUSY ? "in use, kept" : strerror(-r));
	}
	closedir(d);
	return n;
}

static unsigned clean_hugepages(const char *prefix)
{
	FILE *f = setmntent("/proc/mounts", "re");
	struct mntent *me;
	unsigned n = 0;

	if (!f)
		return 0;
	while ((me = getmntent(f)))
		if (strcmp(me->mnt_type, "hugetlbfs") == 0)
			n += clean_mount(me->mnt_dir, prefix);
	endmntent(f);
	return n;
}

/* Empty the directory dfd (consumed), depth levels deep at most. */
static int rm_tree(int dfd, unsigned depth)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	struct stat st;
	int err = 0;

	if (!d) {
		close(dfd);
		return -errno;
	}
	while ((de = readdir(d))) {
		const char *nm = de->d_name;
		int sub;

		if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0 ||
		    fstatat(dirfd(d), nm, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!S_ISDIR(st.st_mode)) {
			if (unlinkat(dirfd(d), nm, 0) < 0)
				err = -errno;
			continue;
		}
		sub = depth < RM_MAX_DEPTH ?
		      openat(dirfd(d), nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			     O_CLOEXEC) : -1;
		if (sub < 0 || rm_tree(sub, depth + 1) < 0 ||
		    unlinkat(dirfd(d), nm, AT_REMOVEDIR) < 0)
			err = -ENOTEMPTY;
	}
	closedir(d);
	return err;
}

/* Is the EAL config file of the runtime directory locked by a process? */
static bool runtime_in_use(int dfd)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd = openat(dfd, FN_DPDK_CONFIG, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	bool busy;

	if (fd < 0)
		return false;
	busy = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
	close(fd);
	return busy;
}

static bool clean_runtime(const char *prefix)
{
	int base = open(FN_DPDK_RUN_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int dfd, err;

	if (base < 0)
		return false;
	dfd = openat(base, prefix, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		     O_CLOEXEC);
	if (dfd < 0) {
		if (errno != ENOENT)
			fn_warn("DPDK leftovers: " FN_DPDK_RUN_ROOT "/%s: %s; not "
				"touching it", prefix, strerror(errno));
		close(base);
		return false;
	}
	if (runtime_in_use(dfd)) {
		fn_warn("DPDK leftovers: " FN_DPDK_RUN_ROOT "/%s is in use by a "
			"live DPDK process; kept", prefix);
		close(dfd);
		close(base);
		return false;
	}
	err = rm_tree(dfd, 1);
	if (!err && unlinkat(base, prefix, AT_REMOVEDIR) < 0)
		err = -errno;
	if (err < 0)
		fn_warn("DPDK leftovers: cannot remove " FN_DPDK_RUN_ROOT "/%s: %s",
			prefix, strerror(-err));
	close(base);
	return err == 0;
}

/* Remove the DPDK state of topology name (file comment).  Call only when
 * none of the topology's DPDK processes can still be alive. */
void sup_dpdk_clean(const char *name)
{
	char prefix[FN_NAME_MAX + 16];
	unsigned files;
	bool dir;

	snprintf(prefix, sizeof(prefix), FN_DPDK_PREFIX_FMT, name);
	files = clean_hugepages(prefix);
	dir = clean_runtime(prefix);
	if (files || dir)
		fn_info("DPDK leftovers of %s removed: %u hugepage files%s%s",
			prefix, files, dir ? ", " FN_DPDK_RUN_ROOT "/" : "",
			dir ? prefix : "");
}
