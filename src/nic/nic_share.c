/*
 * nic_share.c - open the DPDK files a driver still needs after it has
 * become FN_DPDK_USER to that user's group, and nothing else
 * (docs/security.md, "The drivers and the nic").
 *
 * A driver runs EAL as root, then drops to the user (fragnet-driver.c).
 * Afterwards EAL still, now and then, opens by path:
 *
 *   path                                  why                    given
 *   ------------------------------------  ---------------------  ---------
 *   /var/run/dpdk                         to reach the next two  g+x
 *   /var/run/dpdk/fragnet-<name>/         to reach the next two  0750
 *   .../config                            "is the nic alive?"    0640
 *                                         (its lock, drv_eal.c)
 *   .../mp_socket                         a reply to the nic     0770
 *                                         (memory sync, below)
 *   <hugetlbfs>/fragnet-<name>map_<N>     a page the nic adds    0660
 *                                         after the driver came
 *
 * all with group FN_DPDK_USER's, owner root.  A page added later: the
 * heap grows (a driver's EAL init, say, after kill -9s leaked what the
 * earlier ones had allocated), EAL tells our callback, then asks every
 * secondary to map the page by its path; the callback runs first
 * (malloc_heap.c, malloc_mp.c: the event, then the sync), so each new
 * file is the group's before a driver opens it.
 *
 * Call sequence (fragnet-nic.c): nic_share_open() after the port is up,
 * before the ready file (as root); nic_share_keep_group() just before the
 * nic drops its capabilities, so that the callback, with CAP_NET_ADMIN
 * only, may still give a file it owns to that group.  Without
 * FRAGNET_CONFINE (by hand) nothing is shared: drivers then stay root.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_memory.h>

#include "fragnet/confine.h"
#include "fragnet/log.h"
#include "nic.h"

#define SHARE_CALLBACK		"fragnet-share"

static gid_t share_gid;		/* 0: nothing shared */

/* path, not followed if a link, to root:gid with mode. */
static int share_path(const char *path, mode_t mode)
{
	if (fchownat(AT_FDCWD, path, 0, share_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fchmodat(AT_FDCWD, path, mode, 0) < 0) {
		fn_err("cannot give %s to group %u: %s", path,
		       (unsigned)share_gid, strerror(errno));
		return -errno;
	}
	return 0;
}

/* EAL's root of runtime dirs is the machine's: add only the search right,
 * for our group if it is root's, else for everyone (the directories in
 * it stay 0700). */
static int share_run_root(const char *dir)
{
	struct stat st;

	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fn_err("%s: not a directory", dir);
		return -ENOTDIR;
	}
	if (st.st_gid == 0 && chown(dir, (uid_t)-1, share_gid) == 0)
		st.st_gid = share_gid;
	if (chmod(dir, (st.st_mode & 07777) |
		  (st.st_gid == share_gid ? S_IXGRP : S_IXOTH)) < 0) {
		fn_err("cannot let group %u search %s: %s",
		       (unsigned)share_gid, dir, strerror(errno));
		return -errno;
	}
	return 0;
}

static int share_runtime_dir(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	int err;

	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	err = share_path(dir, 0750);
	snprintf(path, sizeof(path), "%s/config", dir);
	if (!err)
		err = share_path(path, 0640);
	snprintf(path, sizeof(path), "%s/mp_socket", dir);
	if (!err)
		err = share_path(path, 0770);
	if (!err)
		err = share_run_root(dirname(dir));
	return err;
}

/* A page file, by the fd EAL keeps: the group may map it. */
static int share_seg(const struct rte_memseg_list *msl,
		     const struct rte_memseg *ms, void *arg)
{
	int fd = rte_memseg_get_fd_thread_unsafe(ms), *failed = arg;

	(void)msl;
	if (fd < 0)
		return 0;	/* external memory, or none of ours */
	if (fchown(fd, (uid_t)-1, share_gid) < 0 ||
	    fchmod(fd, 0660) < 0)
		(*failed)++;
	return 0;
}

static int share_segs_locked(void)
{
	int failed = 0;

	rte_memseg_walk_thread_unsafe(share_seg, &failed);
	if (failed)
		fn_err("cannot give %d hugepage file(s) to group %u: a driver "
		       "cannot map them", failed, (unsigned)share_gid);
	return failed ? -EACCES : 0;
}

/* EAL calls it with its memory lock held, before it tells the drivers. */
static void share_on_event(enum rte_mem_event ev, const void *addr,
			   size_t len, void *arg)
{
	(void)addr;
	(void)len;
	(void)arg;
	if (ev == RTE_MEM_EVENT_ALLOC)
		share_segs_locked();
}

static int share_segs(void)
{
	int failed = 0;

	rte_memseg_walk(share_seg, &failed);
	if (failed) {
		fn_err("cannot give %d hugepage file(s) to group %u", failed,
		       (unsigned)share_gid);
		return -EACCES;
	}
	if (rte_mem_event_callback_register(SHARE_CALLBACK, share_on_event,
					    NULL) < 0) {
		fn_err("cannot watch the hugepage memory: %s",
		       rte_strerror(rte_errno));
		return -rte_errno;
	}
	return 0;
}

int nic_share_open(void)
{
	uid_t uid;
	gid_t gid;
	int r = fn_confine_env(&uid, &gid), err;

	if (r <= 0) {
		fn_warn("%s is %s: the DPDK files stay root's, and drivers "
			"must stay root", FN_ENV_CONFINE, r < 0 ? "malformed" :
			"unset");
		return 0;
	}
	share_gid = gid;
	err = share_runtime_dir();
	if (!err)
		err = share_segs();
	if (!err)
		fn_info("DPDK files opened to group %u (the drivers' user)",
			(unsigned)gid);
	return err;
}

int nic_share_keep_group(void)
{
	if (share_gid && setgroups(1, &share_gid) < 0) {
		fn_err("setgroups(%u): %s", (unsigned)share_gid,
		       strerror(errno));
		return -errno;
	}
	return 0;
}
