/*
 * preflight.c - hugepage checks made before EAL init.
 *
 * EAL's own failure on a machine without hugepages is a screen of memseg
 * messages that never says what to do.  So before EAL runs, fragnet-nic
 * reads /proc/mounts and sysfs itself and, when something is missing, says
 * exactly which command fixes it.  Called once, from main, before
 * rte_eal_init(); uses no DPDK function (only its size constants).
 *
 * The estimate (nic_hugepage_bytes_needed) is deliberately generous: each
 * mbuf counted as buffer + struct rte_mbuf + headroom, plus 20%, plus a
 * fixed NIC_EAL_OVERHEAD.  Measured with Debian 12's DPDK 22.11, tap, two
 * queues (docs/nic.md, "Hugepages"): a primary holds 14 MiB with 4096
 * mbufs, 22 MiB with 8192 (the default), 78 MiB with 32768, 154 MiB with
 * 65536: about 2.33 KiB per mbuf plus some 5 MiB of EAL, ethdev, tap PMD
 * and ring memory; its drivers (secondaries) add no page.  16 MiB of
 * overhead keeps a margin for them and for the heap's rounding to pages.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_mbuf.h>

#include "fragnet/dpdk.h"
#include "fragnet/log.h"
#include "nic.h"

#define MIB			((uint64_t)1 << 20)
#define HP_2M			(2 * MIB)
#define HP_SYSFS		"/sys/kernel/mm/hugepages"
#define HP_2M_SYSFS		HP_SYSFS "/hugepages-2048kB"

/* EAL, ethdev, tap PMD and rings, beyond the mempool (see file comment). */
#define NIC_EAL_OVERHEAD	(16 * MIB)

/* Distinct page sizes of the hugetlbfs mounts, and their directories. */
#define MAX_MOUNTS		8

struct hp_mounts {
	unsigned n;
	char dir[MAX_MOUNTS][256];
	uint64_t pagesize[MAX_MOUNTS];
};

uint64_t nic_hugepage_bytes_needed(const struct fn_config *cfg)
{
	uint64_t per_mbuf = RTE_MBUF_DEFAULT_BUF_SIZE + sizeof(struct rte_mbuf) +
			    RTE_PKTMBUF_HEADROOM;

	return (uint64_t)cfg->nic.mbufs * per_mbuf * 6 / 5 + NIC_EAL_OVERHEAD;
}

static uint64_t read_u64(const char *path, bool *ok)
{
	char buf[64], *end;
	unsigned long long v;
	FILE *f = fopen(path, "re");

	*ok = false;
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return 0;
	}
	fclose(f);
	errno = 0;
	v = strtoull(buf, &end, 10);
	*ok = errno == 0 && end != buf;
	return v;
}

/* The default hugepage size (Hugepagesize in /proc/meminfo), or 2 MiB. */
static uint64_t default_pagesize(void)
{
	char line[128];
	unsigned long long kb;
	uint64_t size = HP_2M;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return size;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Hugepagesize: %llu kB", &kb) == 1)
			size = kb * 1024;
	fclose(f);
	return size;
}

/* "pagesize=2M" / "1G" / "2048k" of a hugetlbfs mount; 0 if unreadable. */
static uint64_t mount_pagesize(const struct mntent *me, uint64_t dflt)
{
	const char *opt = hasmntopt(me, "pagesize");
	unsigned long long v;
	char unit = 0;

	if (!opt)
		return dflt;
	if (sscanf(opt, "pagesize=%llu%c", &v, &unit) < 1)
		return 0;
	switch (unit) {
	case 'G': case 'g':
		return v << 30;
	case 'M': case 'm':
		return v << 20;
	case 'K': case 'k':
		return v << 10;
	default:
		return v;
	}
}

static void mounts_read(struct hp_mounts *m)
{
	uint64_t dflt = default_pagesize();
	struct mntent *me;
	FILE *f = setmntent("/proc/mounts", "re");

	m->n = 0;
	if (!f)
		return;
	while ((me = getmntent(f)) && m->n < MAX_MOUNTS) {
		if (strcmp(me->mnt_type, "hugetlbfs") != 0 ||
		    strlen(me->mnt_dir) >= sizeof(m->dir[0]))
			continue;
		snprintf(m->dir[m->n], sizeof(m->dir[0]), "%s", me->mnt_dir);
		m->pagesize[m->n++] = mount_pagesize(me, dflt);
	}
	endmntent(f);
}

/* Does a process hold a lock on dir/name?  EAL keeps a shared flock on
 * every page file it has mapped. */
static bool file_locked(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	bool locked;

	if (fd < 0)
		return false;
	locked = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);		/* drops our lock, if we got it */
	return locked;
}

/* Pages that unlocked files of our prefix still hold (a primary killed
 * with -9): EAL deletes them at init, so they count as free. */
static uint64_t stale_bytes(const char *dir, const char *name)
{
	char prefix[FN_NAME_MAX + 32];
	struct dirent *de;
	struct stat st;
	uint64_t bytes = 0;
	size_t plen;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	snprintf(prefix, sizeof(prefix), FN_DPDK_PREFIX_FMT "map_", name);
	plen = strlen(prefix);
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, prefix, plen) != 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && !file_locked(dirfd(d), de->d_name))
			bytes += (uint64_t)st.st_blocks * 512;
	}
	closedir(d);
	return bytes;
}

/* Free bytes of hugepages of one size, from sysfs. */
static uint64_t free_bytes(uint64_t pagesize)
{
	char path[128];
	bool ok;
	uint64_t n;

	snprintf(path, sizeof(path), HP_SYSFS "/hugepages-%" PRIu64 "kB/"
		 "free_hugepages", pagesize / 1024);
	n = read_u64(path, &ok);
	return ok ? n * pagesize : 0;
}

static bool seen_size(const struct hp_mounts *m, unsigned upto, uint64_t size)
{
	for (unsigned i = 0; i < upto; i++)
		if (m->pagesize[i] == size)
			return true;
	return false;
}

/*
 * Is a primary of this topology running already?  EAL's primary holds a
 * write lock on its runtime directory's config file for its lifetime.
 * Checked before anything is touched: a second fragnet-nic must not even
 * remove the live one's ready file.  0, or -EBUSY after a message.
 */
int nic_preflight_alone(const struct fn_config *cfg)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), FN_DPDK_RUN_ROOT "/" FN_DPDK_PREFIX_FMT
		 "/" FN_DPDK_CONFIG, cfg->name);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fcntl(fd, F_GETLK, &fl) < 0 || fl.l_type == F_UNLCK) {
		close(fd);
		return 0;
	}
	close(fd);
	fn_err("a DPDK primary of topology %s is already running (pid %d locks "
	       "%s); fix: fragnet down %s, or stop that process", cfg->name,
	       (int)fl.l_pid, path, cfg->name);
	return -EBUSY;
}

/*
 * Is there a hugetlbfs, and are enough pages free for this config?  0, or
 * -ENOENT / -ENOMEM after an error message that names the fix.
 */
int nic_preflight_hugepages(const struct fn_config *cfg)
{
	uint64_t need = nic_hugepage_bytes_needed(cfg), have = 0, stale = 0;
	uint64_t need_pages, have_pages, total;
	struct hp_mounts m;
	bool ok;

	mounts_read(&m);
	if (m.n == 0) {
		fn_err("no hugetlbfs mounted; fix: sudo "
		       "scripts/setup (or mount -t hugetlbfs nodev /dev/hugepages)");
		return -ENOENT;
	}
	for (unsigned i = 0; i < m.n; i++) {
		if (m.pagesize[i] && !seen_size(&m, i, m.pagesize[i]))
			have += free_bytes(m.pagesize[i]);
		stale += stale_bytes(m.dir[i], cfg->name);
	}
	if (stale)
		fn_info("hugepages: %" PRIu64 " MiB held by files of a previous "
			FN_DPDK_PREFIX_FMT " primary; EAL reclaims them",
			stale / MIB, cfg->name);
	need_pages = (need + HP_2M - 1) / HP_2M;
	have_pages = (have + stale) / HP_2M;
	fn_debug("hugepages: need %" PRIu64 " MiB (%u mbufs), %" PRIu64
		 " MiB free", need / MIB, cfg->nic.mbufs, (have + stale) / MIB);
	if (have + stale >= need)
		return 0;
	total = read_u64(HP_2M_SYSFS "/nr_hugepages", &ok);
	total = (ok ? total : 0) + need_pages - have_pages;
	fn_err("need %" PRIu64 " free 2 MiB hugepages for %u mbufs, "
	       "%" PRIu64 " free; fix: echo %" PRIu64 " > " HP_2M_SYSFS
	       "/nr_hugepages (scripts/setup reserves 512), or lower [nic] mbufs",
	       need_pages, cfg->nic.mbufs, have_pages, total);
	return -ENOMEM;
}
