/*
 * memfd.c - sealed memfds for shared regions (fragnet/memfd.h).
 *
 * Called by the supervisor through fn_link_create() and fn_stats_create().
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fragnet/memfd.h"

#define MEMFD_SEALS	(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

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
