/*
 * fragnet/stats.h - the per-component stats page.
 *
 * The supervisor creates one memfd of FN_STATS_PAGE_SIZE bytes per
 * component, writes its header, hands it to the component read-write and
 * maps it itself read-only.  The component registers named counters and
 * bumps them; `fragnet stats` reads them at any time.
 *
 * LAYOUT (capacity = (size - 64) / 64; the supervisor's size, not the page's):
 *     +------------------------------------------------------------+ 0
 *     | magic, version, size, capacity   (S: supervisor, const)    |
 *     | count        (W) counters published, release-stored        |
 *     | pipeline     (S)                                           |
 *     | component[32] (S)                                          |
 *     +------------------------------------------------------------+ 64
 *     | value[0..capacity-1]  (W) uint64, 8 B each                 |
 *     +------------------------------------------------------------+ 64 + 8 * capacity
 *     | name[0..capacity-1]   (W) char[FN_STATS_NAME_MAX] each     |
 *     +------------------------------------------------------------+
 *
 *   Values are contiguous, so a block of n counters registered together
 *   is a plain _Atomic uint64_t[n] (what fn_stats_block() returns and
 *   fn_stream_bind_counters() takes).
 *
 *   (W) is written by the component only.  A counter's name is written
 *   before count is release-stored past it (R1); the reader's acquire load
 *   of count (A1) pairs with it.  Values are single-writer: the component
 *   adds with a relaxed load and store (no locked instruction), the reader
 *   loads relaxed.
 *
 * TRUST: the reader takes its own size and capacity, never the page's;
 * clamps count; and copies each name with a terminator and only printable
 * characters.  A component can lie about its counters, nothing more.
 */
#ifndef FRAGNET_STATS_H
#define FRAGNET_STATS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define FN_STATS_MAGIC		0x54534e46u	/* "FNST" */
#define FN_STATS_VERSION	2u	/* 2: values apart from names */
#define FN_STATS_NAME_MAX	56

struct fn_stats_page {
	uint32_t magic;				/* S */
	uint32_t version;			/* S */
	uint32_t size;				/* S */
	uint32_t capacity;			/* S */
	_Atomic uint32_t count;			/* W */
	int32_t pipeline;			/* S */
	char component[32];			/* S */
	uint8_t pad[8];
	_Atomic uint64_t value[];		/* W, [capacity]; names follow */
};

/* Bytes per counter: its value and its name. */
#define FN_STATS_CTR_BYTES	(sizeof(uint64_t) + FN_STATS_NAME_MAX)

/* Supervisor: a sealed memfd of `size` bytes with the header written. */
int fn_stats_create(const char *component, int pipeline, uint32_t size);

/* Component: map fd read-write and check it. NULL with errno on error. */
struct fn_stats_page *fn_stats_attach(int fd);
/* Component: the page of FRAGNET_STATS_FD; NULL, with a warning if it was
 * given but unusable, when there is none (then counters stay private). */
struct fn_stats_page *fn_stats_attach_env(void);
/* Reader: map fd read-only (size known to the reader). */
const struct fn_stats_page *fn_stats_map_ro(int fd, uint32_t size);
void fn_stats_unmap(const struct fn_stats_page *p, uint32_t size);

/* Component: register n consecutive counters "prefix.names[i]" (prefix may
 * be NULL).  Returns the first, or NULL with errno = ENOSPC.  A NULL page
 * gives a private block, so code can count without a supervisor. */
_Atomic uint64_t *fn_stats_block(struct fn_stats_page *p, const char *prefix,
				 const char *const *names, unsigned n);
_Atomic uint64_t *fn_stats_counter(struct fn_stats_page *p, const char *name);

static inline void fn_ctr_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

static inline uint64_t fn_ctr_get(const _Atomic uint64_t *c)
{
	return atomic_load_explicit((_Atomic uint64_t *)c, memory_order_relaxed);
}

/* Reader: visit each published counter with a sanitised name. Returns the
 * number visited. */
typedef void (*fn_stats_visit_fn)(void *arg, const char *name, uint64_t value);
unsigned fn_stats_read(const struct fn_stats_page *p, uint32_t size,
		       fn_stats_visit_fn fn, void *arg);

#endif /* FRAGNET_STATS_H */
