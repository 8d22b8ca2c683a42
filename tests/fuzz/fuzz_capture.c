/*
 * fuzz_capture.c - the capture client's end of a capture region
 * (fragnet/capture.h) with the fuzz input as a hostile stack, and the
 * stack's end with it as a hostile client.
 *
 * The input is a list of operations, each an opcode byte and its operands
 * (fuzz_input.h):
 *   0  rec    write a record (point, hook, ifindex, caplen, origlen, rule:
 *             any values) into the slot at the consumer's index and
 *             publish head + 1, as a stack would (or a lying one)
 *   1  head   store any head
 *   2  next   the consumer reads a record; a valid one goes to pcapng
 *   3  ifname write 16 bytes of an interface name
 *   4  tail   store any tail, window and snaplen (a hostile client)
 *   5  put    the producer copies a frame (reserve, commit)
 * The consumer must never read outside its slots nor hand the writer a
 * record that breaks the contract; the producer never write outside its.
 *
 *   build-fuzz/tests/fuzz/fuzz_capture [corpus dir]   (libFuzzer flags apply)
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fragnet/capture.h"
#include "fuzz_input.h"
#include "pcapng.h"

#define NSLOTS	8
#define SLOT	256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void op_rec(struct fn_cap *c, struct input *in)
{
	struct fn_cap_rec r = {
		.point = (uint16_t)take(in, 2),
		.hook = (uint16_t)take(in, 2),
		.ifindex = take(in, 4),
		.caplen = take(in, 4),
		.origlen = take(in, 4),
		.rule = take(in, 4),
	};
	uint32_t h = atomic_load(&c->hdr->head);

	memcpy(c->data + (size_t)(h & (NSLOTS - 1)) * SLOT, &r, sizeof(r));
	atomic_store(&c->hdr->head, h + 1);
}

static void op_next(struct fn_cap *c, FILE *out)
{
	static uint8_t buf[SLOT];
	struct fn_cap_rec r;
	uint64_t lost = 0;
	char name[FN_CAP_IFNAME];

	if (fn_cap_next(c, &r, buf, &lost) != 1)
		return;
	/* what capture.c relies on */
	if (r.point >= FN_CAP_NPOINTS || r.caplen > c->payload ||
	    r.caplen > r.origlen || r.ifindex < 1 || r.ifindex > FN_CAP_IFS)
		abort();
	fn_cap_ifname(c, r.ifindex, name, sizeof(name));
	pcapng_epb(out, 0, r.ts_ns, buf, r.caplen, r.origlen, name);
}

static void op_put(struct fn_cap *p, struct input *in)
{
	static uint8_t frame[4096];
	uint32_t len = take(in, 2) % sizeof(frame);

	fn_cap_put(p, FN_CAP_RX, 1, frame, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct fn_cap p, c;
	FILE *out = fopen("/dev/null", "w");
	int fd = fn_cap_create("fragnet-cap0", NSLOTS, SLOT);

	if (fd < 0 || !out || fn_cap_attach(&p, fd, true, NULL) < 0 ||
	    fn_cap_attach(&c, fd, false, NULL) < 0)
		abort();
	fn_cap_start(&c, 1, FN_CAP_ALL, 0, 0);
	while (in.left) {
		switch (take(&in, 1) % 6) {
		case 0: op_rec(&c, &in); break;
		case 1: atomic_store(&c.hdr->head, take(&in, 4)); break;
		case 2: op_next(&c, out); break;
		case 3:
			for (unsigned i = 0; i < FN_CAP_IFNAME; i++)
				c.hdr->ifname[take(&in, 1) % FN_CAP_IFS][i] =
					(char)take(&in, 1);
			break;
		case 4:
			atomic_store(&c.hdr->tail, take(&in, 4));
			atomic_store(&c.hdr->window, take(&in, 4));
			atomic_store(&c.hdr->snaplen, take(&in, 4));
			break;
		case 5: op_put(&p, &in); break;
		}
	}
	fn_cap_detach(&p);
	fn_cap_detach(&c);
	fclose(out);
	close(fd);
	return 0;
}
