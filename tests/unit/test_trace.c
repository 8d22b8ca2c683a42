/*
 * test_trace.c - fn_trace_*: the ring file's layout, frame keys (the same
 * frame gives the same key, a changed field another), TCP fields, a flow
 * the same both ways, and hostile frames (short, not IPv4, lying lengths)
 * recorded without a read outside the frame or not at all.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "fragnet/trace.h"

static char dir[64];

/* An Ethernet + IPv4 + TCP frame with payload bytes of data. */
static size_t tcp_frame(uint8_t *f, uint32_t src, uint32_t dst, uint16_t sport,
			uint16_t dport, uint32_t seq, uint16_t payload)
{
	uint8_t *ip = f + 14, *tcp = ip + 20;
	size_t tot = 20 + 20 + payload;

	memset(f, 0, 14 + tot);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[5] = 7;			/* id */
	ip[9] = 6;
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	tcp[0] = (uint8_t)(sport >> 8);
	tcp[1] = (uint8_t)sport;
	tcp[2] = (uint8_t)(dport >> 8);
	tcp[3] = (uint8_t)dport;
	tcp[4] = (uint8_t)(seq >> 24);
	tcp[5] = (uint8_t)(seq >> 16);
	tcp[6] = (uint8_t)(seq >> 8);
	tcp[7] = (uint8_t)seq;
	tcp[12] = 5 << 4;
	tcp[13] = 0x18;
	return 14 + tot;
}

/* The records written so far (the file stays mapped by the writer). */
static const struct fn_trace_rec *records(uint64_t *count)
{
	static void *m;
	static size_t len;
	char path[128];
	struct stat st;
	int fd;

	if (m)
		munmap(m, len);
	snprintf(path, sizeof(path), "%s/test-3.trace", dir);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	len = (size_t)st.st_size;
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(m != MAP_FAILED);
	const struct fn_trace_hdr *h = m;
	assert_int_equal(h->magic, FN_TRACE_MAGIC);
	assert_int_equal(h->version, FN_TRACE_VERSION);
	assert_int_equal(h->rec_size, sizeof(struct fn_trace_rec));
	assert_int_equal(h->capacity, FN_TRACE_CAPACITY);
	*count = atomic_load(&((struct fn_trace_hdr *)m)->count);
	return (const struct fn_trace_rec *)(h + 1);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/fn-test-trace.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	return fn_trace_open(dir, "test", 3);
}

static int teardown(void **state)
{
	char path[128];

	(void)state;
	fn_trace_close();
	snprintf(path, sizeof(path), "%s/test-3.trace", dir);
	unlink(path);
	rmdir(dir);
	return 0;
}

static void test_keys_and_tcp(void **state)
{
	uint8_t a[128], b[128];
	const struct fn_trace_rec *r;
	uint64_t n;
	size_t la, lb;

	(void)state;
	assert_true(fn_trace_on);
	la = tcp_frame(a, 0x0100000a, 0x0200000a, 40000, 6379, 1000, 30);
	fn_trace_frame(FN_TP_DRV_RX, a, (uint32_t)la, 5);
	fn_trace_frame(FN_TP_STK_RX, a, (uint32_t)la, 9);
	lb = tcp_frame(b, 0x0100000a, 0x0200000a, 40000, 6379, 1001, 30);
	fn_trace_frame(FN_TP_DRV_RX, b, (uint32_t)lb, 11);
	/* the reply, the other way */
	lb = tcp_frame(b, 0x0200000a, 0x0100000a, 6379, 40000, 77, 4);
	fn_trace_frame(FN_TP_STK_TX, b, (uint32_t)lb, 12);
	r = records(&n);
	assert_int_equal(n, 4);
	assert_int_equal(r[0].t_ns, 5);
	assert_int_equal(r[0].point, FN_TP_DRV_RX);
	assert_int_equal(r[1].point, FN_TP_STK_RX);
	assert_int_equal(r[0].key, r[1].key);		/* same frame */
	assert_int_not_equal(r[0].key, r[2].key);	/* seq differs */
	assert_int_equal(r[0].payload, 30);
	assert_int_equal(r[0].seq_end, 1030);
	assert_int_not_equal(r[0].flow, 0);
	assert_int_equal(r[0].flow, r[3].flow);		/* both directions */
	assert_int_equal(r[3].seq_end, 81);
}

static void test_hostile_frames(void **state)
{
	uint8_t f[128];
	const struct fn_trace_rec *r;
	uint64_t n0, n;
	size_t len;

	(void)state;
	records(&n0);
	len = tcp_frame(f, 1, 2, 3, 4, 5, 10);
	fn_trace_frame(FN_TP_DRV_RX, f, 33, 1);		/* too short */
	f[12] = 0x86;					/* not IPv4 */
	fn_trace_frame(FN_TP_DRV_RX, f, (uint32_t)len, 1);
	f[12] = 0x08;
	f[16] = 0xff;					/* total length > frame */
	fn_trace_frame(FN_TP_DRV_RX, f, (uint32_t)len, 2);
	f[16] = 0;
	f[17] = 21;					/* tot < ihl + tcp */
	fn_trace_frame(FN_TP_DRV_RX, f, (uint32_t)len, 3);
	len = tcp_frame(f, 1, 2, 3, 4, 5, 10);
	f[14 + 20 + 12] = 0xf0;				/* doff past the end */
	fn_trace_frame(FN_TP_DRV_RX, f, (uint32_t)len, 4);
	r = records(&n);
	assert_int_equal(n, n0 + 3);	/* the last three, IPv4 */
	assert_int_equal(r[n0].flow, 0);	/* not taken as TCP */
	assert_int_equal(r[n0 + 1].flow, 0);
	assert_int_equal(r[n0 + 2].payload, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_and_tcp),
		cmocka_unit_test(test_hostile_frames),
	};

	return cmocka_run_group_tests_name("trace", tests, setup, teardown);
}
