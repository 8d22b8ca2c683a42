/*
 * pcapng.c - the pcapng blocks `fragnet capture` writes (pcapng.h).
 *
 * Each block is built in a buffer, its length known, then written whole:
 * a reader of a pipe (tcpdump -r -) never sees half a block from us
 * unless we die.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pcapng.h"

struct blk {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct blk *b, const void *d, size_t n)
{
	if (b->len + n <= b->cap)
		memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void put32(struct blk *b, uint32_t v)
{
	put(b, &v, 4);
}

static void pad4(struct blk *b)
{
	static const uint8_t zero[4];

	put(b, zero, (4 - b->len % 4) % 4);
}

/* An option: code, length, value padded to 4 bytes. */
static void opt(struct blk *b, uint16_t code, const void *v, uint16_t n)
{
	uint16_t h[2] = { code, n };

	put(b, h, 4);
	put(b, v, n);
	pad4(b);
}

static void opt_str(struct blk *b, uint16_t code, const char *s)
{
	size_t n = strlen(s);

	opt(b, code, s, (uint16_t)(n > 0xfff0 ? 0xfff0 : n));
}

/* Start a block of type t: its length is patched by finish(). */
static void start(struct blk *b, uint8_t *buf, size_t cap, uint32_t t)
{
	b->p = buf;
	b->cap = cap;
	b->len = 0;
	put32(b, t);
	put32(b, 0);
}

/* opt_endofopt, the trailing length, the leading length; then write. */
static int finish(struct blk *b, FILE *f, bool opts)
{
	uint32_t total;

	if (opts)
		put32(b, 0);	/* opt_endofopt: code 0, length 0 */
	total = (uint32_t)b->len + 4;
	put32(b, total);
	if (b->len > b->cap)
		return -EMSGSIZE;
	memcpy(b->p + 4, &total, 4);
	if (fwrite(b->p, 1, b->len, f) != b->len)
		return -EIO;
	return 0;
}

int pcapng_shb(FILE *f, const char *appl)
{
	uint8_t buf[256];
	struct blk b;
	uint16_t ver[2] = { 1, 0 };
	int64_t seclen = -1;

	start(&b, buf, sizeof(buf), PCAPNG_BT_SHB);
	put32(&b, PCAPNG_BOM);
	put(&b, ver, 4);
	put(&b, &seclen, 8);
	opt_str(&b, PCAPNG_OPT_SHB_USERAPPL, appl);
	return finish(&b, f, true);
}

int pcapng_idb(FILE *f, const char *name, uint32_t snaplen)
{
	uint8_t buf[256], tsresol = 9;
	uint16_t lt[2] = { PCAPNG_LINKTYPE_ETHERNET, 0 };
	struct blk b;

	start(&b, buf, sizeof(buf), PCAPNG_BT_IDB);
	put(&b, lt, 4);
	put32(&b, snaplen);
	opt_str(&b, PCAPNG_OPT_IF_NAME, name);
	opt(&b, PCAPNG_OPT_IF_TSRESOL, &tsresol, 1);
	return finish(&b, f, true);
}

int pcapng_epb(FILE *f, uint32_t ifid, uint64_t ts_ns, const void *data,
	       uint32_t caplen, uint32_t origlen, const char *comment)
{
	static uint8_t buf[PCAPNG_BLOCK_MAX];
	struct blk b;

	if (caplen > PCAPNG_BLOCK_MAX - 1024 || caplen > origlen)
		return -EINVAL;
	start(&b, buf, sizeof(buf), PCAPNG_BT_EPB);
	put32(&b, ifid);
	put32(&b, (uint32_t)(ts_ns >> 32));
	put32(&b, (uint32_t)ts_ns);
	put32(&b, caplen);
	put32(&b, origlen);
	put(&b, data, caplen);
	pad4(&b);
	if (comment)
		opt_str(&b, PCAPNG_OPT_COMMENT, comment);
	return finish(&b, f, comment != NULL);
}
