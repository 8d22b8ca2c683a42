/*
 * test_capture.c - unit tests of the capture region (fragnet/capture.h)
 * and the pcapng writer (src/supervisor/pcapng.c).
 *
 * Both ends of a region run in this process on one memfd, each with its
 * own mapping.  A hostile producer is played by writing garbage records
 * and an impossible head into the consumer's view; a hostile consumer by
 * an impossible tail, window and snaplen: neither end may read or write
 * outside its slots, and the producer never blocks.  The pcapng blocks
 * are parsed back field by field.
 */
#include <errno.h>
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

#include "fragnet/capture.h"
#include "fragnet/memfd.h"
#include "pcapng.h"

#define NSLOTS	8
#define SLOT	256

struct ends {
	int fd;
	struct fn_cap p, c;	/* producer, consumer */
	uint8_t buf[SLOT];
};

static int setup(void **state)
{
	struct ends *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	e->fd = fn_cap_create("fragnet-cap3", NSLOTS, SLOT);
	assert_true(e->fd >= 0);
	assert_int_equal(fn_cap_attach(&e->p, e->fd, true, NULL), 0);
	assert_int_equal(fn_cap_attach(&e->c, e->fd, false, NULL), 0);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct ends *e = *state;

	fn_cap_detach(&e->p);
	fn_cap_detach(&e->c);
	assert_null(e->p.hdr);
	close(e->fd);
	free(e);
	return 0;
}

static bool always_alive(int32_t pid)
{
	(void)pid;
	return true;
}

static bool never_alive(int32_t pid)
{
	(void)pid;
	return false;
}

static void put_n(struct ends *e, unsigned point, unsigned n)
{
	uint8_t f[100];

	for (unsigned i = 0; i < n; i++) {
		memset(f, (int)i, sizeof(f));
		fn_cap_put(&e->p, point, 1, f, sizeof(f));
	}
}

static void test_off_by_default(void **state)
{
	struct ends *e = *state;

	for (unsigned i = 0; i < FN_CAP_NPOINTS; i++)
		assert_false(fn_cap_on(&e->p, i));
	assert_false(fn_cap_on(&(struct fn_cap){ 0 }, FN_CAP_RX));
}

/* A pattern in, the same pattern out, in order; then full, and dropped. */
static void test_roundtrip(void **state)
{
	struct ends *e = *state;
	struct fn_cap_rec r;
	uint64_t lost = 0;
	int32_t other;

	assert_int_equal(fn_cap_claim(&e->c, 100, &other, always_alive), 0);
	fn_cap_start(&e->c, 100, 1u << FN_CAP_TX, 0, 0);
	assert_true(fn_cap_on(&e->p, FN_CAP_TX));
	assert_false(fn_cap_on(&e->p, FN_CAP_RX));
	fn_cap_set_ifname(&e->p, 0, "fn0");
	put_n(e, FN_CAP_TX, NSLOTS + 3);
	assert_int_equal(fn_cap_dropped(&e->c), 3);
	for (unsigned i = 0; i < NSLOTS; i++) {
		assert_int_equal(fn_cap_next(&e->c, &r, e->buf, &lost), 1);
		assert_int_equal(r.point, FN_CAP_TX);
		assert_int_equal(r.caplen, 100);
		assert_int_equal(r.origlen, 100);
		assert_true(r.ts_ns > 0);
		for (unsigned k = 0; k < 100; k++)
			assert_int_equal(e->buf[k], i);
	}
	assert_int_equal(fn_cap_next(&e->c, &r, e->buf, &lost), 0);
	assert_int_equal(lost, 0);
	assert_true(fn_cap_ifname(&e->c, 1, (char *)e->buf, 16));
	assert_string_equal((char *)e->buf, "fn0");
	assert_true(fn_cap_stop(&e->c, 100));
	assert_false(fn_cap_on(&e->p, FN_CAP_TX));
	assert_int_equal(fn_cap_owner(&e->c), 0);
}

static void test_window_snaplen(void **state)
{
	struct ends *e = *state;
	struct fn_cap_rec r;
	uint64_t lost = 0;

	fn_cap_start(&e->c, 100, FN_CAP_ALL, 2, 10);
	put_n(e, FN_CAP_RX, 5);
	assert_int_equal(fn_cap_dropped(&e->c), 3);
	assert_int_equal(fn_cap_next(&e->c, &r, e->buf, &lost), 1);
	assert_int_equal(r.caplen, 10);
	assert_int_equal(r.origlen, 100);
}

/* Only one live owner; a dead one is taken over. */
static void test_claim(void **state)
{
	struct ends *e = *state;
	int32_t other = 0;

	assert_int_equal(fn_cap_claim(&e->c, 100, &other, always_alive), 0);
	assert_int_equal(fn_cap_claim(&e->c, 100, &other, always_alive), 0);
	assert_int_equal(fn_cap_claim(&e->c, 200, &other, always_alive),
			 -EBUSY);
	assert_int_equal(other, 100);
	assert_int_equal(fn_cap_claim(&e->c, 200, &other, never_alive), 0);
	assert_int_equal(fn_cap_owner(&e->c), 200);
	/* the supervisor clearing dead 100 late cannot stop 200's capture */
	fn_cap_start(&e->c, 200, FN_CAP_ALL, 0, 0);
	assert_false(fn_cap_stop(&e->c, 100));
	assert_int_equal(fn_cap_owner(&e->c), 200);
	assert_true(fn_cap_on(&e->p, FN_CAP_RX));
	assert_true(fn_cap_stop(&e->c, 200));
	assert_int_equal(fn_cap_owner(&e->c), 0);
	assert_false(fn_cap_on(&e->p, FN_CAP_RX));
}

/* A hostile producer: every bad field refused, an impossible head
 * skipped, the consumer stays in its slots. */
static void test_hostile_records(void **state)
{
	struct ends *e = *state;
	struct fn_cap_rec r, *s = (struct fn_cap_rec *)e->c.data;
	uint64_t lost = 0;
	const struct fn_cap_rec bad[] = {
		{ .point = FN_CAP_NPOINTS, .ifindex = 1 },
		{ .point = 0, .ifindex = 0 },
		{ .point = 0, .ifindex = FN_CAP_IFS + 1 },
		{ .point = 0, .ifindex = 1, .caplen = SLOT, .origlen = SLOT },
		{ .point = 0, .ifindex = 1, .caplen = 20, .origlen = 10 },
		{ .point = 0, .ifindex = 1, .caplen = UINT32_MAX,
		  .origlen = UINT32_MAX },
	};

	fn_cap_start(&e->c, 100, FN_CAP_ALL, 0, 0);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t h = atomic_load(&e->c.hdr->head);

		memcpy((uint8_t *)s + (h % NSLOTS) * SLOT, &bad[i],
		       sizeof(bad[i]));
		atomic_store(&e->c.hdr->head, h + 1);
		assert_int_equal(fn_cap_next(&e->c, &r, e->buf, &lost),
				 -EBADMSG);
	}
	/* the largest legal record passes */
	uint32_t h = atomic_load(&e->c.hdr->head);
	struct fn_cap_rec ok = { .point = 2, .ifindex = FN_CAP_IFS,
				 .caplen = e->c.payload,
				 .origlen = 70000, .rule = 9 };
	memcpy((uint8_t *)s + (h % NSLOTS) * SLOT, &ok, sizeof(ok));
	atomic_store(&e->c.hdr->head, h + 1);
	assert_int_equal(fn_cap_next(&e->c, &r, e->buf, &lost), 1);
	assert_int_equal(r.rule, 9);
	/* a head far ahead: skipped, counted, nothing read */
	atomic_store(&e->c.hdr->head, h + 1 + 1000);
	assert_int_equal(fn_cap_next(&e->c, &r, e->buf, &lost), 0);
	assert_int_equal(lost, 1000);
	assert_int_equal(atomic_load(&e->c.hdr->tail), h + 1001);
	/* names: terminated and printable */
	memset(e->c.hdr->ifname[2], '\n', FN_CAP_IFNAME);
	char name[FN_CAP_IFNAME];
	assert_true(fn_cap_ifname(&e->c, 3, name, sizeof(name)));
	assert_int_equal(strlen(name), FN_CAP_IFNAME - 1);
	assert_int_equal(strspn(name, "_"), FN_CAP_IFNAME - 1);
	assert_false(fn_cap_ifname(&e->c, 0, name, sizeof(name)));
	assert_false(fn_cap_ifname(&e->c, FN_CAP_IFS + 1, name, sizeof(name)));
}

/* A hostile consumer: a tail ahead of head or far behind, a window and
 * snaplen out of range: the producer drops or clamps, never overruns. */
static void test_hostile_consumer(void **state)
{
	struct ends *e = *state;
	uint32_t room;

	fn_cap_start(&e->c, 100, FN_CAP_ALL, 0, 0);
	atomic_store(&e->c.hdr->tail, e->p.idx + 5);	/* ahead */
	assert_null(fn_cap_reserve(&e->p, &room));
	atomic_store(&e->c.hdr->tail, e->p.idx - NSLOTS - 5);	/* behind */
	assert_null(fn_cap_reserve(&e->p, &room));
	assert_int_equal(fn_cap_dropped(&e->c), 2);
	atomic_store(&e->c.hdr->tail, e->p.idx);
	atomic_store(&e->c.hdr->window, 1000000);
	atomic_store(&e->c.hdr->snaplen, 1000000);
	put_n(e, FN_CAP_RX, NSLOTS + 1);
	assert_int_equal(fn_cap_dropped(&e->c), 3);
	assert_non_null(e->p.hdr);
	atomic_store(&e->c.hdr->tail, e->p.idx);
	assert_non_null(fn_cap_reserve(&e->p, &room));
	assert_int_equal(room, SLOT - sizeof(struct fn_cap_rec));
}

static void test_attach_rejects(void **state)
{
	struct fn_cap c;
	const char *why;
	void *head;
	int fd;

	(void)state;
	assert_int_equal(fn_cap_create("fragnet-cap0", 3, SLOT), -EINVAL);
	assert_int_equal(fn_cap_create("fragnet-cap0", NSLOTS, 16), -EINVAL);
	/* a memfd the size of a region, but not one */
	fd = fn_memfd_create("x", 4096 + NSLOTS * SLOT, 64, &head);
	assert_true(fd >= 0);
	munmap(head, 64);
	assert_int_equal(fn_cap_attach(&c, fd, false, &why), -EBADMSG);
	assert_non_null(why);
	assert_null(c.hdr);
	close(fd);
	/* a region whose header lies about its geometry */
	fd = fn_cap_create("fragnet-cap0", NSLOTS, SLOT);
	struct fn_cap_hdr *h = mmap(NULL, sizeof(*h), PROT_READ | PROT_WRITE,
				    MAP_SHARED, fd, 0);
	assert_true(h != MAP_FAILED);
	h->nslots = NSLOTS * 2;
	assert_int_equal(fn_cap_attach(&c, fd, true, &why), -EBADMSG);
	h->nslots = NSLOTS;
	assert_int_equal(fn_cap_attach(&c, fd, true, &why), 0);
	fn_cap_detach(&c);
	munmap(h, sizeof(*h));
	close(fd);
}

/* ---- pcapng ------------------------------------------------------------ */

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* The block at *off: its type, body (after type and length) and body
 * length; both lengths checked.  Moves *off past it. */
static uint32_t block(const uint8_t *b, size_t len, size_t *off,
		      const uint8_t **body, uint32_t *blen)
{
	uint32_t t = rd32(b + *off), n = rd32(b + *off + 4);

	assert_true(*off + n <= len);
	assert_int_equal(n % 4, 0);
	assert_int_equal(rd32(b + *off + n - 4), n);
	*body = b + *off + 8;
	*blen = n - 12;
	*off += n;
	return t;
}

/* Option code in the options at o (n bytes), or NULL; its length. */
static const uint8_t *option(const uint8_t *o, uint32_t n, uint16_t code,
			     uint16_t *len)
{
	for (uint32_t i = 0; i + 4 <= n;) {
		uint16_t c, l;

		memcpy(&c, o + i, 2);
		memcpy(&l, o + i + 2, 2);
		if (c == 0)
			return NULL;
		if (c == code) {
			*len = l;
			return o + i + 4;
		}
		i += 4 + (l + 3u) / 4 * 4;
	}
	return NULL;
}

static void test_pcapng_blocks(void **state)
{
	uint8_t frame[61], *buf = NULL;
	size_t len = 0, off = 0;
	FILE *f = open_memstream((char **)&buf, &len);
	const uint8_t *b, *v;
	uint32_t n;
	uint16_t ol;

	(void)state;
	for (unsigned i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)i;
	assert_int_equal(pcapng_shb(f, "fragnet capture"), 0);
	assert_int_equal(pcapng_idb(f, "stack0:fn0", 2016), 0);
	assert_int_equal(pcapng_epb(f, 0, 1234567890123456789ull, frame,
				    sizeof(frame), 1500,
				    "filter-drop hook input rule handle 4"), 0);
	assert_int_equal(pcapng_epb(f, 0, 5, frame, 60, 60, NULL), 0);
	assert_int_equal(pcapng_epb(f, 0, 5, frame, 61, 60, NULL), -EINVAL);
	fclose(f);

	assert_int_equal(block(buf, len, &off, &b, &n), PCAPNG_BT_SHB);
	assert_int_equal(rd32(b), PCAPNG_BOM);
	v = option(b + 16, n - 16, PCAPNG_OPT_SHB_USERAPPL, &ol);
	assert_non_null(v);
	assert_memory_equal(v, "fragnet capture", ol);

	assert_int_equal(block(buf, len, &off, &b, &n), PCAPNG_BT_IDB);
	assert_int_equal(b[0] | b[1] << 8, PCAPNG_LINKTYPE_ETHERNET);
	assert_int_equal(rd32(b + 4), 2016);
	v = option(b + 8, n - 8, PCAPNG_OPT_IF_NAME, &ol);
	assert_int_equal(ol, strlen("stack0:fn0"));
	v = option(b + 8, n - 8, PCAPNG_OPT_IF_TSRESOL, &ol);
	assert_int_equal(ol, 1);
	assert_int_equal(v[0], 9);

	assert_int_equal(block(buf, len, &off, &b, &n), PCAPNG_BT_EPB);
	assert_int_equal(rd32(b), 0);
	assert_int_equal(((uint64_t)rd32(b + 4) << 32 | rd32(b + 8)),
			 1234567890123456789ull);
	assert_int_equal(rd32(b + 12), 61);
	assert_int_equal(rd32(b + 16), 1500);
	assert_memory_equal(b + 20, frame, 61);
	v = option(b + 20 + 64, n - 20 - 64, PCAPNG_OPT_COMMENT, &ol);
	assert_non_null(v);
	assert_memory_equal(v, "filter-drop hook input rule handle 4", ol);

	assert_int_equal(block(buf, len, &off, &b, &n), PCAPNG_BT_EPB);
	assert_int_equal(n, 20 + 60);	/* no options at all */
	assert_int_equal(off, len);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_off_by_default, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_roundtrip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_window_snaplen, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_claim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_records, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_hostile_consumer, setup,
						teardown),
		cmocka_unit_test(test_attach_rejects),
		cmocka_unit_test(test_pcapng_blocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
