/*
 * trace.c - per-hop frame timestamps (include/fragnet/trace.h).
 *
 * The frame is parsed only as far as the key needs; every read is checked
 * against len (the frame may come from any peer).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "fragnet/trace.h"

bool fn_trace_on;

static struct fn_trace_hdr *hdr;
static struct fn_trace_rec *recs;
static size_t map_len;

int fn_trace_open(const char *dir, const char *role, int pipeline)
{
	char path[PATH_MAX];
	size_t len = sizeof(*hdr) + (size_t)FN_TRACE_CAPACITY * sizeof(*recs);
	void *m;
	int fd, n;

	n = snprintf(path, sizeof(path), "%s/%s-%d.trace", dir, role, pipeline);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)len) < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	n = -errno;
	close(fd);
	if (m == MAP_FAILED)
		return n;
	hdr = m;
	recs = (struct fn_trace_rec *)(hdr + 1);
	map_len = len;
	hdr->magic = FN_TRACE_MAGIC;
	hdr->version = FN_TRACE_VERSION;
	hdr->rec_size = sizeof(*recs);
	hdr->capacity = FN_TRACE_CAPACITY;
	atomic_store_explicit(&hdr->count, 0, memory_order_relaxed);
	fn_trace_on = true;
	return 0;
}

void fn_trace_close(void)
{
	if (!hdr)
		return;
	fn_trace_on = false;
	munmap(hdr, map_len);
	hdr = NULL;
	recs = NULL;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t fnv(uint32_t h, const uint8_t *p, size_t n)
{
	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

/* The flow of a TCP segment: the same hash for both directions. */
static uint32_t flow_of(const uint8_t *ip, const uint8_t *tcp)
{
	uint8_t a[6], b[6];

	memcpy(a, ip + 12, 4);
	memcpy(a + 4, tcp, 2);
	memcpy(b, ip + 16, 4);
	memcpy(b + 4, tcp + 2, 2);
	if (memcmp(a, b, 6) > 0)
		return fnv(fnv(2166136261u, b, 6), a, 6);
	return fnv(fnv(2166136261u, a, 6), b, 6);
}

void fn_trace_frame(unsigned point, const void *frame, uint32_t len, int64_t t)
{
	const uint8_t *f = frame, *ip = f + 14, *tcp;
	struct fn_trace_rec r = { .t_ns = t, .point = (uint16_t)point };
	uint32_t ihl, tot;
	uint64_t i;

	if (!hdr || len < 14 + 20 || f[12] != 0x08 || f[13] != 0x00)
		return;
	ihl = (ip[0] & 0x0f) * 4u;
	tot = (uint32_t)ip[2] << 8 | ip[3];
	r.key = fnv(fnv(2166136261u, ip + 2, 4), ip + 9, 11);	/* len id, proto .. daddr */
	if (ip[9] == 6 && ihl >= 20 && tot <= len - 14 && tot >= ihl + 20) {
		tcp = ip + ihl;
		r.key = fnv(r.key, tcp, 14);	/* ports, seq, ack, offset, flags */
		r.flow = flow_of(ip, tcp);
		if (tot - ihl >= ((tcp[12] >> 4) * 4u))
			r.payload = (uint16_t)(tot - ihl - (tcp[12] >> 4) * 4u);
		r.seq_end = rd32(tcp + 4) + r.payload;
		r.ack = rd32(tcp + 8);
	}
	if (!r.key)
		r.key = 1;
	i = atomic_load_explicit(&hdr->count, memory_order_relaxed);
	recs[i % FN_TRACE_CAPACITY] = r;
	atomic_store_explicit(&hdr->count, i + 1, memory_order_relaxed);
}
