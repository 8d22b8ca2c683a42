/*
 * fuzz_vswitch.c - libFuzzer entry point for fragnet-vswitch's frame
 * classification and port security (src/vswitch, fragnet/vswitch.h):
 * the fuzz input is the frames of hostile stacks.
 *
 * A switch of three ports over real links (port 2 with smaller slots) is
 * made once; each input starts from an empty MAC table and a fixed
 * clock, and is a list of records:
 *
 *   op & 3 == 0, 1  FRAME: port u8, flags u8, len u16 (little endian,
 *                   mod slot size + 1), then len bytes (missing ones 0).
 *                   flags bit 0: Ethernet source := the port's MAC;
 *                   bit 1: IPv4 source, ARP sender MAC and IPv4 := the
 *                   port's; bit 2: destination := port (flags >> 4) % 3's
 *                   MAC.  (They let the fuzzer past the checks at once.)
 *                   The frame is judged by vsw_frame_check() directly,
 *                   then sent by that port's stack.
 *   op & 3 == 2     TURN: one turn of the switch, then every stack takes
 *                   what it got.
 *   op & 3 == 3     CLOCK: dt u8; the clock moves dt * 10 ms (aging is
 *                   1 s) and the table is aged.
 *
 * Never a crash, and what the contract promises:
 *   - a frame vsw_frame_check() passes has its header copied byte for
 *     byte, the port's MAC as source, and is IPv4 from the port's address
 *     or ARP from the port's MAC and address (or 0.0.0.0);
 *   - every frame a stack receives is such a frame of ANOTHER port;
 *   - every frame sent is received by the switch, and counted once.
 * Built with ASan and UBSan, like the library sources it compiles.
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true
 *   ninja -C build-fuzz tests/fuzz/fuzz_vswitch
 *   build-fuzz/tests/fuzz/fuzz_vswitch -max_total_time=60 /tmp/corpus \
 *       tests/fuzz/corpus/vswitch
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fragnet/stream.h"
#include "fragnet/vswitch.h"
#include "vsw.h"

#include "fuzz_input.h"

#define NPORTS	3
#define NSLOTS	16u
#define SLOT	256u
#define T0	1000000000ll

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vsw sw;
static struct fn_link stack[NPORTS];	/* side B of each port */
static struct vsw_id ids[NPORTS];
static uint64_t sent[NPORTS];		/* frames the stacks submitted */
static bool ready;

static void port_init(unsigned i)
{
	int fd = fn_link_create("fuzz-vsw", NSLOTS, i == 2 ? 128 : SLOT);
	int bell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	if (fd < 0 || bell < 0)
		abort();
	memcpy(ids[i].mac, (uint8_t[6]){ 0x02, 0, 0, 0, 0, (uint8_t)(i + 1) }, 6);
	ids[i].ipv4 = htonl(0x0a000001u + i);
	if (fn_link_attach(&stack[i], fd, FN_LINK_B, FN_POLL_EVENT) < 0 ||
	    vsw_port_attach(&sw, fd, &ids[i], bell, -1, FN_POLL_EVENT) < 0)
		abort();
	close(fd);	/* the bell stays open for the process's life */
}

static void setup(void)
{
	vsw_init(&sw, 1000, 1);
	for (unsigned i = 0; i < NPORTS; i++)
		port_init(i);
	ready = true;
}

/* --- invariants ---------------------------------------------------------- */

static uint16_t type_of(const uint8_t *f)
{
	return (uint16_t)(f[12] << 8 | f[13]);
}

/* Frame f (len bytes) is one that port id may send. */
static void check_allowed(const struct vsw_id *id, const uint8_t *f,
			  uint32_t len)
{
	uint32_t a;

	if (len < 14 || memcmp(f + 6, id->mac, 6) != 0)
		abort();
	if (type_of(f) == 0x0800) {
		memcpy(&a, f + 26, 4);
		if (len < 34 || f[14] >> 4 != 4 || a != id->ipv4)
			abort();
	} else if (type_of(f) == 0x0806) {
		memcpy(&a, f + 28, 4);
		if (len < 42 || memcmp(f + 22, id->mac, 6) != 0 ||
		    (a != id->ipv4 && a != 0))
			abort();
	} else {
		abort();
	}
}

/* The direct check: a pass is an allowed frame, copied faithfully; a
 * drop names a cause the sender is blamed for. */
static void check_direct(unsigned port, const uint8_t *f, uint32_t len)
{
	struct vsw_frame fr;
	enum fn_vsw_port_ctr why;

	if (!vsw_frame_check(&ids[port], f, len, &fr, &why)) {
		if (why < FN_VSW_P_DROP_RUNT || why > FN_VSW_P_DROP_ETHERTYPE)
			abort();
		return;
	}
	if (fr.len != len || fr.hdr_len > len ||
	    memcmp(fr.hdr, f, fr.hdr_len) != 0)
		abort();
	check_allowed(&ids[port], fr.hdr, len);
}

/* --- operations ----------------------------------------------------------- */

static void patch(uint8_t *f, uint32_t len, unsigned port, unsigned flags)
{
	const struct vsw_id *id = &ids[port];

	if ((flags & 1) && len >= 12)
		memcpy(f + 6, id->mac, 6);
	if ((flags & 2) && len >= 30 && type_of(f) == 0x0800)
		memcpy(f + 26, &id->ipv4, 4);
	if ((flags & 2) && len >= 32 && type_of(f) == 0x0806) {
		memcpy(f + 22, id->mac, 6);
		memcpy(f + 28, &id->ipv4, 4);
	}
	if ((flags & 4) && len >= 6)
		memcpy(f, ids[(flags >> 4) % NPORTS].mac, 6);
}

static void op_frame(struct input *in)
{
	unsigned port = take(in, 1) % NPORTS, flags = take(in, 1);
	uint32_t slot = stack[port].tx.slot_size;
	uint32_t len = take(in, 2) % (slot + 1);
	uint8_t f[SLOT];
	struct fn_pkt p;

	memset(f, 0, sizeof(f));
	for (uint32_t i = 0; i < len; i++)
		f[i] = (uint8_t)take(in, 1);
	patch(f, len, port, flags);
	check_direct(port, f, len);
	if (fn_stream_alloc_burst(&stack[port].tx, &p, 1) != 1)
		return;		/* the switch has not taken the last ones */
	memcpy(p.data, f, len);
	p.len = len;
	if (fn_stream_submit_burst(&stack[port].tx, &p, 1) != 1)
		abort();
	sent[port]++;
}

/* A received frame is an allowed frame of another port. */
static void check_received(unsigned me, const struct fn_pkt *p)
{
	for (unsigned k = 0; k < NPORTS; k++)
		if (p->len >= 12 && memcmp(p->data + 6, ids[k].mac, 6) == 0) {
			if (k == me)
				abort();	/* sent back to its sender */
			check_allowed(&ids[k], p->data, p->len);
			return;
		}
	abort();	/* from nobody's MAC */
}

static void drain(unsigned me)
{
	struct fn_pkt p[NSLOTS];
	int n;

	while ((n = fn_stream_recv_burst(&stack[me].rx, p, NSLOTS)) > 0) {
		for (int i = 0; i < n; i++)
			check_received(me, &p[i]);
		if (fn_stream_ack_burst(&stack[me].rx, p, (unsigned)n) != n)
			abort();
	}
	if (n < 0)
		abort();
}

static unsigned op_turn(void)
{
	unsigned n = vsw_fwd_turn(&sw);

	for (unsigned i = 0; i < NPORTS; i++)
		drain(i);
	for (unsigned i = 0; i < NPORTS; i++)
		if (fn_ctr_get(&sw.port[i].ctr[FN_VSW_P_RX_PKTS]) > sent[i])
			abort();
	return n;
}

static void op_clock(struct input *in)
{
	sw.now_ns += (int64_t)take(in, 1) * 10000000;
	vsw_fdb_age(&sw.fdb, sw.now_ns);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };

	if (!ready)
		setup();
	vsw_fdb_init(&sw.fdb, 1000000000, 1);
	sw.now_ns = T0;
	sw.rr = 0;
	while (in.left) {
		unsigned op = take(&in, 1) & 3;
		if (op <= 1)
			op_frame(&in);
		else if (op == 2)
			op_turn();
		else
			op_clock(&in);
	}
	/* Leave nothing in flight for the next input: all sent, all seen. */
	while (op_turn())
		;
	for (unsigned i = 0; i < NPORTS; i++)
		if (fn_ctr_get(&sw.port[i].ctr[FN_VSW_P_RX_PKTS]) != sent[i])
			abort();
	return 0;
}
