/*
 * stats.c - per-component stats pages (see fragnet/stats.h).
 *
 * Supervisor: fn_stats_create() -> fd, fn_stats_map_ro(), fn_stats_read().
 * Component:  fn_stats_attach(fd), fn_stats_block()/fn_stats_counter(),
 *             then fn_ctr_add() in the hot path.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fragnet/env.h"
#include "fragnet/log.h"
#include "fragnet/memfd.h"
#include "fragnet/names.h"
#include "fragnet/stats.h"

static uint32_t stats_capacity(uint32_t size)
{
	if (size < sizeof(struct fn_stats_page))
		return 0;
	return (size - sizeof(struct fn_stats_page)) / FN_STATS_CTR_BYTES;
}

/* Name i of a page with cap counters: the names follow value[cap]. */
static char *stats_name_at(const struct fn_stats_page *p, uint32_t cap,
			   uint32_t i)
{
	return (char *)&p->value[cap] + (size_t)i * FN_STATS_NAME_MAX;
}

/* The component may write counters, never resize the page (memfd.h). */
int fn_stats_create(const char *component, int pipeline, uint32_t size)
{
	char name[64];
	void *head;
	struct fn_stats_page *p;
	int fd;

	if (stats_capacity(size) == 0)
		return -EINVAL;
	/* The NIC (pipeline -1) is nic0, as its args see pipeline 0. */
	snprintf(name, sizeof(name), FN_MEMFD_STATS_FMT, component,
		 pipeline < 0 ? 0u : (unsigned)pipeline);
	fd = fn_memfd_create(name, size, size, &head);
	if (fd < 0)
		return fd;
	p = head;
	p->magic = FN_STATS_MAGIC;
	p->version = FN_STATS_VERSION;
	p->size = size;
	p->capacity = stats_capacity(size);
	p->pipeline = pipeline;
	snprintf(p->component, sizeof(p->component), "%s", component);
	munmap(p, size);
	return fd;
}

struct fn_stats_page *fn_stats_attach(int fd)
{
	struct stat st;
	struct fn_stats_page *p;

	if (fstat(fd, &st) < 0)
		return NULL;
	if (st.st_size < (off_t)sizeof(*p) || st.st_size > (1 << 24)) {
		errno = EBADMSG;
		return NULL;
	}
	p = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (p->magic != FN_STATS_MAGIC || p->version != FN_STATS_VERSION ||
	    p->size != st.st_size || p->capacity != stats_capacity(p->size)) {
		munmap(p, st.st_size);
		errno = EBADMSG;
		return NULL;
	}
	/* A restarted component starts its counters afresh. */
	atomic_store_explicit(&p->count, 0, memory_order_release);
	return p;
}

struct fn_stats_page *fn_stats_attach_env(void)
{
	int fd = fn_env_fd(FN_ENV_STATS_FD);
	struct fn_stats_page *page = NULL;

	if (fd >= 0 && !(page = fn_stats_attach(fd)))
		fn_warn("cannot attach stats fd %d: %s", fd, strerror(errno));
	return page;
}

const struct fn_stats_page *fn_stats_map_ro(int fd, uint32_t size)
{
	struct stat st;
	void *p;

	if (fstat(fd, &st) < 0)
		return NULL;
	if (st.st_size != size || stats_capacity(size) == 0) {
		errno = EBADMSG;
		return NULL;
	}
	p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

void fn_stats_unmap(const struct fn_stats_page *p, uint32_t size)
{
	if (p)
		munmap((void *)p, size);
}

static void stats_name(char *dst, const char *prefix, const char *name)
{
	if (prefix && *prefix)
		snprintf(dst, FN_STATS_NAME_MAX, "%s.%s", prefix, name);
	else
		snprintf(dst, FN_STATS_NAME_MAX, "%s", name);
}

_Atomic uint64_t *fn_stats_block(struct fn_stats_page *p, const char *prefix,
				 const char *const *names, unsigned n)
{
	uint32_t count, cap;

	if (!p) {
		_Atomic uint64_t *priv = calloc(n ? n : 1, sizeof(*priv));
		if (!priv)
			errno = ENOMEM;
		return priv;
	}
	/* Only we write count; relaxed is enough to read our own store. */
	count = atomic_load_explicit(&p->count, memory_order_relaxed);
	cap = p->capacity;
	if (count > cap || n > cap - count) {
		errno = ENOSPC;
		return NULL;
	}
	for (unsigned i = 0; i < n; i++) {
		stats_name(stats_name_at(p, cap, count + i), prefix,
			   names[i]);
		atomic_store_explicit(&p->value[count + i], 0,
				      memory_order_relaxed);
	}
	/* R1: names before count; pairs with A1 in fn_stats_read(). */
	atomic_store_explicit(&p->count, count + n, memory_order_release);
	return &p->value[count];
}

_Atomic uint64_t *fn_stats_counter(struct fn_stats_page *p, const char *name)
{
	return fn_stats_block(p, NULL, &name, 1);
}

/* Copy a name the component wrote: terminated, printable only. */
static void stats_sanitise(char *dst, const char *src)
{
	size_t i;

	for (i = 0; i < FN_STATS_NAME_MAX - 1; i++) {
		char c = src[i];
		if (c == '\0')
			break;
		dst[i] = isprint((unsigned char)c) && c != '"' && c != '\\' ? c : '?';
	}
	dst[i] = '\0';
}

unsigned fn_stats_read(const struct fn_stats_page *p, uint32_t size,
		       fn_stats_visit_fn fn, void *arg)
{
	char name[FN_STATS_NAME_MAX];
	uint32_t cap = stats_capacity(size);

	/* A1: pairs with R1 in fn_stats_block(). */
	uint32_t count = atomic_load_explicit((_Atomic uint32_t *)&p->count,
					      memory_order_acquire);
	if (count > cap)
		count = cap;
	for (uint32_t i = 0; i < count; i++) {
		stats_sanitise(name, stats_name_at(p, cap, i));
		fn(arg, name, fn_ctr_get(&p->value[i]));
	}
	return count;
}
