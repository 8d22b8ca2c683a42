/*
 * memfd.c - sealed memfds for shared regions (fragnet/memfd.h).
 *
 * Called by the supervisor through fn_link_create() and fn_stats_create(),
 * and for the frozen tables through fn_vsw_table_create() and
 * fn_vsw_attach_create() (src/lib/vsw_table.c), whose readers thaw them.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fragnet/memfd.h"

#define MEMFD_SEALS	(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)
#define FROZEN_SEALS	(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

int fn_memfd_create(const char *name, uint64_t size, size_t head_len,
		    void **head)
{
	int fd, err;

	if (head_len == 0 || head_len > size || size > (uint64_t)INT64_MAX)
		return -EINVAL;
	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	/* Sealed before the header is written: nothing to undo after it. */
	if (ftruncate(fd, (off_t)size) < 0 ||
	    fcntl(fd, F_ADD_SEALS, MEMFD_SEALS) < 0)
		goto err_close;
	*head = mmap(NULL, head_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (*head == MAP_FAILED)
		goto err_close;
	return fd;

err_close:
	err = -errno;
	close(fd);
	return err;
}

/* A memfd takes a write of a few hundred bytes whole; less is an error. */
int fn_memfd_freeze(const char *name, const void *data, size_t len)
{
	int fd, err = 0;
	ssize_t k;

	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	k = write(fd, data, len);
	if (k != (ssize_t)len)
		err = k < 0 ? -errno : -EIO;
	else if (fcntl(fd, F_ADD_SEALS, FROZEN_SEALS | F_SEAL_SEAL) < 0)
		err = -errno;
	if (err < 0) {
		close(fd);
		return err;
	}
	return fd;
}

static int thaw_fail(const char **why, const char *what)
{
	if (why)
		*why = what;
	return -EBADMSG;
}

int fn_memfd_thaw(int fd, void *buf, size_t len, const char **why)
{
	struct stat st;
	int seals;
	ssize_t k;

	if (why)
		*why = NULL;
	if (fstat(fd, &st) < 0)
		return -errno;
	/* Sealed against writes: what we check later stays what we read. */
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || (seals & FROZEN_SEALS) != FROZEN_SEALS)
		return thaw_fail(why, "not a memfd sealed against write, grow "
				 "and shrink");
	if (st.st_size != (off_t)len)
		return thaw_fail(why, "the memfd is not the size of a table");
	k = pread(fd, buf, len, 0);
	if (k < 0)
		return -errno;
	if (k != (ssize_t)len)
		return thaw_fail(why, "short read");
	return 0;
}
