/*
 * fragnet/memfd.h - the sealed memfd behind every region the supervisor
 * shares (the links and socket channels of fragnet/stream.h, the stats
 * pages of fragnet/stats.h).
 *
 * The creator (the supervisor) gets an fd of a fixed size, sealed with
 * F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL before anyone else sees it:
 * no process that maps it can resize it under another's mapping (a shrink
 * would make the other side's next access SIGBUS), and nobody can lift the
 * seals.  Writes through a shared mapping stay allowed.  The new memory is
 * zero; the creator writes the header through *head, unmaps it, and hands
 * the fd out.
 *
 * A FROZEN memfd (the vswitch's port table and a stack's attachment table,
 * fragnet/vswitch.h) is written once with write(2) and then sealed against
 * writing as well, and against further seals: what its reader checks stays
 * what it reads, and nobody, the creator included, changes it afterwards.
 * It is never mapped: F_SEAL_WRITE refuses a memfd with a writable shared
 * mapping, and nobody needs one.
 */
#ifndef FRAGNET_MEMFD_H
#define FRAGNET_MEMFD_H

#include <stddef.h>
#include <stdint.h>

/* A sealed, close-on-exec memfd of size bytes named name (as /proc/PID/fd
 * shows it, names.h FN_MEMFD_*), its first head_len bytes mapped
 * read-write at *head; the caller munmap()s them.  The fd, or -errno with
 * nothing left open or mapped. */
int fn_memfd_create(const char *name, uint64_t size, size_t head_len,
		    void **head);

/* A frozen memfd named name holding exactly data[0..len): the fd
 * (close-on-exec), or -errno. */
int fn_memfd_freeze(const char *name, const void *data, size_t len);

/* Read frozen memfd fd, which must be exactly len bytes, into buf.  0, or
 * -EBADMSG (not sealed so, or another size; *why says which, if why is not
 * NULL), or another -errno.  The fd is not closed. */
int fn_memfd_thaw(int fd, void *buf, size_t len, const char **why);

#endif /* FRAGNET_MEMFD_H */
