/*
 * test_stats.c - unit tests of the stats page (fragnet/stats.h).
 *
 * The supervisor's side (create, map_ro, read) and the component's side
 * (attach, block, counter) run in this process on one memfd.  A hostile
 * component is played by writing garbage into its read-write mapping; the
 * reader must stay within its own idea of the page and print only
 * sanitised names.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "fragnet/names.h"
#include "fragnet/stats.h"

#define PAGE FN_STATS_PAGE_SIZE
#define SEEN_MAX 2048

struct seen {
	unsigned n;
	char name[SEEN_MAX][FN_STATS_NAME_MAX];
	uint64_t value[SEEN_MAX];
};

static void visit(void *arg, const char *name, uint64_t value)
{
	struct seen *s = arg;

	assert_true(s->n < SEEN_MAX);
	assert_true(strlen(name) < FN_STATS_NAME_MAX);
	snprintf(s->name[s->n], FN_STATS_NAME_MAX, "%s", name);
	s->value[s->n++] = value;
}

static uint32_t capacity(uint32_t size)
{
	return (size - sizeof(struct fn_stats_page)) / FN_STATS_CTR_BYTES;
}

/* Where a component writes name i (names follow the cap values). */
static char *name_at(struct fn_stats_page *p, uint32_t cap, uint32_t i)
{
	return (char *)&p->value[cap] + (size_t)i * FN_STATS_NAME_MAX;
}

static void test_layout(void **state)
{
	(void)state;
	assert_int_equal(FN_STATS_CTR_BYTES, 64);
	assert_int_equal(sizeof(struct fn_stats_page), 64);
	assert_int_equal(offsetof(struct fn_stats_page, value), 64);
}

static void test_create_attach_read(void **state)
{
	static const char *const names[] = { "pkts", "bytes", "drops" };
	struct seen *s = calloc(1, sizeof(*s));

	(void)state;
	int fd = fn_stats_create("stack", 2, PAGE);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GET_SEALS) & F_SEAL_SHRINK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	struct fn_stats_page *w = fn_stats_attach(fd);
	assert_non_null(w);
	assert_int_equal(w->magic, FN_STATS_MAGIC);
	assert_int_equal(w->version, FN_STATS_VERSION);
	assert_int_equal(w->size, PAGE);
	assert_int_equal(w->capacity, capacity(PAGE));
	assert_int_equal(w->pipeline, 2);
	assert_string_equal(w->component, "stack");
	assert_int_equal(atomic_load(&w->count), 0);

	const struct fn_stats_page *r = fn_stats_map_ro(fd, PAGE);
	assert_non_null(r);
	assert_int_equal(fn_stats_read(r, PAGE, visit, s), 0);

	_Atomic uint64_t *rx = fn_stats_block(w, "rx", names, 3);
	assert_non_null(rx);
	_Atomic uint64_t *tx = fn_stats_block(w, NULL, names, 2);
	/* A block is a plain array, and blocks follow each other. */
	assert_int_equal(tx - rx, 3);
	_Atomic uint64_t *up = fn_stats_counter(w, "uptime");
	assert_non_null(up);
	fn_ctr_add(&rx[0], 5);
	fn_ctr_add(&rx[0], 6);
	fn_ctr_add(&tx[1], 1ull << 40);
	fn_ctr_add(up, 7);
	assert_int_equal(fn_ctr_get(&rx[0]), 11);

	assert_int_equal(fn_stats_read(r, PAGE, visit, s), 6);
	const char *want[] = { "rx.pkts", "rx.bytes", "rx.drops", "pkts",
			       "bytes", "uptime" };
	const uint64_t val[] = { 11, 0, 0, 0, 1ull << 40, 7 };
	for (int i = 0; i < 6; i++) {
		assert_string_equal(s->name[i], want[i]);
		assert_int_equal(s->value[i], val[i]);
	}

	/* A restarted component starts afresh. */
	fn_stats_unmap(w, PAGE);
	w = fn_stats_attach(fd);
	assert_non_null(w);
	s->n = 0;
	assert_int_equal(fn_stats_read(r, PAGE, visit, s), 0);
	assert_non_null(fn_stats_counter(w, "again"));
	assert_int_equal(fn_stats_read(r, PAGE, visit, s), 1);
	assert_string_equal(s->name[0], "again");
	assert_int_equal(s->value[0], 0);

	fn_stats_unmap(w, PAGE);
	fn_stats_unmap(r, PAGE);
	fn_stats_unmap(NULL, PAGE);
	close(fd);
	free(s);
}

/* A block is an array of counters: block[i] is counter i, and writing it
 * leaves every name alone.  (With names and values interleaved, block[1]
 * landed in the next counter's name.) */
static void test_block_is_array(void **state)
{
	enum { N = 12 };
	static const char *const names[N] = { "c0", "c1", "c2", "c3", "c4",
		"c5", "c6", "c7", "c8", "c9", "c10", "c11" };
	struct seen *s = calloc(1, sizeof(*s));

	(void)state;
	int fd = fn_stats_create("arr", 0, PAGE);
	assert_true(fd >= 0);
	struct fn_stats_page *w = fn_stats_attach(fd);
	assert_non_null(w);
	_Atomic uint64_t *head = fn_stats_counter(w, "head");
	_Atomic uint64_t *b = fn_stats_block(w, "blk", names, N);
	_Atomic uint64_t *tail = fn_stats_counter(w, "tail");
	assert_true(head && b && tail);
	fn_ctr_add(head, UINT64_MAX);
	for (int i = 0; i < N; i++)
		fn_ctr_add(&b[i], 0x0101010101010101ull * (uint64_t)(i + 1));
	fn_ctr_add(tail, 42);
	assert_int_equal(fn_stats_read(w, PAGE, visit, s), N + 2);
	assert_string_equal(s->name[0], "head");
	assert_int_equal(s->value[0], UINT64_MAX);
	for (int i = 0; i < N; i++) {
		char want[32];
		snprintf(want, sizeof(want), "blk.%s", names[i]);
		assert_string_equal(s->name[1 + i], want);
		assert_int_equal(s->value[1 + i],
				 0x0101010101010101ull * (uint64_t)(i + 1));
	}
	assert_string_equal(s->name[N + 1], "tail");
	assert_int_equal(s->value[N + 1], 42);
	fn_stats_unmap(w, PAGE);
	close(fd);
	free(s);
}

static void test_long_names(void **state)
{
	char longname[200];
	struct seen *s = calloc(1, sizeof(*s));
	const char *const n1[] = { longname };

	(void)state;
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	int fd = fn_stats_create("a-component-name-longer-than-32-bytes", -1,
				 PAGE);
	assert_true(fd >= 0);
	struct fn_stats_page *w = fn_stats_attach(fd);
	assert_non_null(w);
	assert_int_equal(strlen(w->component), 31);
	assert_int_equal(w->pipeline, -1);
	assert_non_null(fn_stats_block(w, "prefix", n1, 1));
	assert_non_null(fn_stats_counter(w, longname));
	assert_int_equal(fn_stats_read(w, PAGE, visit, s), 2);
	assert_int_equal(strlen(s->name[0]), FN_STATS_NAME_MAX - 1);
	assert_memory_equal(s->name[0], "prefix.xxx", 10);
	assert_int_equal(strlen(s->name[1]), FN_STATS_NAME_MAX - 1);
	fn_stats_unmap(w, PAGE);
	close(fd);
	free(s);
}

static void test_enospc(void **state)
{
	static const char *const names[] = { "a", "b", "c", "d" };
	uint32_t size = sizeof(struct fn_stats_page) + 3 * FN_STATS_CTR_BYTES;

	(void)state;
	int fd = fn_stats_create("small", 0, size);
	assert_true(fd >= 0);
	struct fn_stats_page *w = fn_stats_attach(fd);
	assert_non_null(w);
	assert_int_equal(w->capacity, 3);
	errno = 0;
	assert_null(fn_stats_block(w, "x", names, 4));
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(atomic_load(&w->count), 0);
	assert_non_null(fn_stats_block(w, "x", names, 2));
	errno = 0;
	assert_null(fn_stats_block(w, "y", names, 2));
	assert_int_equal(errno, ENOSPC);
	assert_non_null(fn_stats_counter(w, "last"));
	errno = 0;
	assert_null(fn_stats_counter(w, "one-too-many"));
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(atomic_load(&w->count), 3);
	fn_stats_unmap(w, size);
	close(fd);
}

static void test_create_rejects(void **state)
{
	(void)state;
	assert_int_equal(fn_stats_create("x", 0, 0), -EINVAL);
	assert_int_equal(fn_stats_create("x", 0, sizeof(struct fn_stats_page)),
			 -EINVAL);
	assert_int_equal(fn_stats_create("x", 0,
			 sizeof(struct fn_stats_page) + 63), -EINVAL);
	int fd = fn_stats_create("x", 0, sizeof(struct fn_stats_page) + 64);
	assert_true(fd >= 0);
	close(fd);
}

/* Without a page, counters are private and still work. */
static void test_private_block(void **state)
{
	static const char *const names[] = { "a", "b" };

	(void)state;
	_Atomic uint64_t *c = fn_stats_block(NULL, "p", names, 2);
	assert_non_null(c);
	assert_int_equal(fn_ctr_get(&c[0]), 0);
	assert_int_equal(fn_ctr_get(&c[1]), 0);
	fn_ctr_add(&c[1], 3);
	assert_int_equal(fn_ctr_get(&c[1]), 3);
	free(c);	/* no fn_stats API frees it: it is plain calloc() */
	c = fn_stats_counter(NULL, "solo");
	assert_non_null(c);
	free(c);
}

/* A memfd holding `hdr`, of `size` bytes. */
static int page_fd(const struct fn_stats_page *hdr, size_t size)
{
	int fd = memfd_create("fake-stats", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	if (hdr)
		assert_int_equal(pwrite(fd, hdr, sizeof(*hdr), 0),
				 (ssize_t)sizeof(*hdr));
	return fd;
}

static void assert_attach_fails(const struct fn_stats_page *hdr, size_t size)
{
	int fd = page_fd(hdr, size);

	errno = 0;
	assert_null(fn_stats_attach(fd));
	assert_int_equal(errno, EBADMSG);
	close(fd);
}

static void test_attach_rejects(void **state)
{
	struct fn_stats_page good = {
		.magic = FN_STATS_MAGIC,
		.version = FN_STATS_VERSION,
		.size = 4096,
		.capacity = capacity(4096),
	}, h;

	(void)state;
	int fd = page_fd(&good, 4096);
	struct fn_stats_page *w = fn_stats_attach(fd);
	assert_non_null(w);
	fn_stats_unmap(w, 4096);
	close(fd);

	h = good;
	h.magic = 0x12345678;
	assert_attach_fails(&h, 4096);
	h = good;
	h.version = FN_STATS_VERSION + 1;
	assert_attach_fails(&h, 4096);
	h = good;
	h.size = 8192;		/* lies about its size */
	assert_attach_fails(&h, 4096);
	h = good;
	h.capacity = capacity(4096) + 1;
	assert_attach_fails(&h, 4096);
	assert_attach_fails(&good, 8192);
	assert_attach_fails(NULL, 10);
	assert_attach_fails(NULL, 0);
	h = good;
	h.size = 32u << 20;
	h.capacity = capacity(h.size);
	assert_attach_fails(&h, h.size);	/* absurdly big */

	errno = 0;
	assert_null(fn_stats_attach(-1));
	assert_int_equal(errno, EBADF);
}

static void test_map_ro_rejects(void **state)
{
	(void)state;
	int fd = fn_stats_create("x", 0, PAGE);
	assert_true(fd >= 0);
	errno = 0;
	assert_null(fn_stats_map_ro(fd, PAGE / 2));
	assert_int_equal(errno, EBADMSG);
	errno = 0;
	assert_null(fn_stats_map_ro(fd, 0));
	assert_int_equal(errno, EBADMSG);
	errno = 0;
	assert_null(fn_stats_map_ro(-1, PAGE));
	assert_int_equal(errno, EBADF);
	close(fd);
}

/* The component writes whatever it likes into its page. */
static void test_hostile_page(void **state)
{
	struct seen *s = calloc(1, sizeof(*s));
	uint32_t cap = capacity(PAGE);

	(void)state;
	int fd = fn_stats_create("evil", 0, PAGE);
	assert_true(fd >= 0);
	struct fn_stats_page *w = fn_stats_attach(fd);
	assert_non_null(w);
	const struct fn_stats_page *r = fn_stats_map_ro(fd, PAGE);
	assert_non_null(r);

	/* Every name: no terminator, control bytes, quotes, high bytes. */
	for (uint32_t i = 0; i < cap; i++) {
		for (int j = 0; j < FN_STATS_NAME_MAX; j++)
			name_at(w, cap, i)[j] = (char)(i * 37 + j * 11 + 1);
		atomic_store(&w->value[i], i);
	}
	memcpy(name_at(w, cap, 0), "\"a\\b\n\x1b[31m\xff", 11);
	/* Header lies: count far past capacity, capacity and size too. */
	atomic_store(&w->count, UINT32_MAX);
	w->capacity = UINT32_MAX;
	w->size = UINT32_MAX;

	assert_int_equal(fn_stats_read(r, PAGE, visit, s), cap);
	for (uint32_t i = 0; i < cap; i++) {
		size_t n = strlen(s->name[i]);
		assert_true(n <= FN_STATS_NAME_MAX - 1);
		for (size_t j = 0; j < n; j++) {
			unsigned char c = (unsigned char)s->name[i][j];
			assert_true(isprint(c));
			assert_true(c != '"' && c != '\\');
		}
		assert_int_equal(s->value[i], i);
	}
	assert_memory_equal(s->name[0], "?a?b??[31m?", 11);

	/* A reader that was told a smaller page reads only that much. */
	s->n = 0;
	assert_int_equal(fn_stats_read(r, 4096, visit, s), capacity(4096));
	s->n = 0;
	assert_int_equal(fn_stats_read(r, 10, visit, s), 0);

	/* fn_stats_block() on a page whose count was pushed past capacity
	 * refuses rather than writing outside. */
	w->capacity = cap;
	atomic_store(&w->count, cap + 5);
	errno = 0;
	assert_null(fn_stats_counter(w, "x"));
	assert_int_equal(errno, ENOSPC);

	fn_stats_unmap(w, PAGE);
	fn_stats_unmap(r, PAGE);
	close(fd);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_create_attach_read),
		cmocka_unit_test(test_block_is_array),
		cmocka_unit_test(test_long_names),
		cmocka_unit_test(test_enospc),
		cmocka_unit_test(test_create_rejects),
		cmocka_unit_test(test_private_block),
		cmocka_unit_test(test_attach_rejects),
		cmocka_unit_test(test_map_ro_rejects),
		cmocka_unit_test(test_hostile_page),
	};

	return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
