/*
 * fuzz_sockserv.c - libFuzzer entry point for the stack's socket service
 * (src/stack/sock_serv.c): the fuzz input is a hostile app.
 *
 * Each input gets a fresh socket channel (a link memfd) served by
 * ss_open(), over lwIP ("full" profile) with one loopback netif at
 * 10.0.0.1, so that the requests the input makes can listen, connect to
 * themselves, send and receive for real.  The input is a list of records;
 * the first byte of each picks an action:
 *
 *   0  REQUEST: the next 64 bytes are a struct fn_sock_msg (any op, sock,
 *      len, family, args), then 2 bytes (LE) of slot length (HDR + that,
 *      clipped to the slot) whose payload comes from the input: into one
 *      request slot, submitted as it is;
 *   1  TURNS: 1..8 service turns (ss_poll, the loopback wire, lwIP timers);
 *   2  CONSUME: receive every event and ack it (an app that reads);
 *   3  HOLD: receive events and keep them (an app that stops reading; the
 *      held slots are acked at the next CONSUME or at the end).
 *
 * Never a crash or a read outside a buffer (ASan, UBSan), and every event
 * the service posts has a valid op and a length within its slot.
 * At the end the service closes (aborting every socket) and every lwIP
 * pcb left behind is freed, so that inputs do not leak into each other.
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true
 *   ninja -C build-fuzz tests/fuzz/fuzz_sockserv
 *   build-fuzz/tests/fuzz/fuzz_sockserv -max_total_time=60 /tmp/corpus \
 *       tests/fuzz/corpus/sockserv
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fragnet/sockchan.h"
#include "fragnet/stream.h"

#include "lwip/init.h"
#include "lwip/ip.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "lwip/udp.h"

#include "lwip_wire.h"
#include "sock_serv.h"

#define NSLOTS		128u	/* > 2 * SLOT_RESERVE, as ss_open wants */
#define SLOT		1024u
#define HDR		((uint32_t)sizeof(struct fn_sock_msg))
#define LO_QLEN		256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
void stk_port_init(void);

static struct lo_wire wire;
static struct pbuf *loq[LO_QLEN];
static struct fn_pkt held[NSLOTS];
static unsigned nheld;

static void once(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	stk_port_init();
	lwip_init();
	lo_wire_up(&wire, loq, LO_QLEN);
}

/* Whatever the service left in lwIP (closed pcbs lingering in FIN_WAIT or
 * TIME_WAIT, the wire's frames) goes, so that inputs stay independent. */
static void lwip_purge(void)
{
	while (tcp_active_pcbs)
		tcp_abort(tcp_active_pcbs);
	while (tcp_tw_pcbs)
		tcp_abort(tcp_tw_pcbs);
	while (tcp_listen_pcbs.listen_pcbs)
		tcp_close((struct tcp_pcb *)tcp_listen_pcbs.listen_pcbs);
	while (udp_pcbs)
		udp_remove(udp_pcbs);
	lo_wire_purge(&wire);
}

static void ack_held(struct fn_link *app)
{
	if (nheld)
		fn_stream_ack_burst(&app->rx, held, nheld);
	nheld = 0;
}

/* Receive events; keep them (hold) or ack them.  Checks each. */
static void events(struct fn_link *app, int hold)
{
	struct fn_pkt p[16];
	int n;

	while ((n = fn_stream_recv_burst(&app->rx, p, 16)) > 0) {
		for (int i = 0; i < n; i++) {
			struct fn_sock_msg m;

			if (p[i].len < HDR)
				abort();
			memcpy(&m, p[i].data, HDR);
			if (m.op < FN_SEV_DONE || m.op >= FN_SEV_MAX ||
			    m.len > p[i].len - HDR)
				abort();
			if (hold && nheld < NSLOTS)
				held[nheld++] = p[i];
			else
				fn_stream_ack_burst(&app->rx, &p[i], 1);
		}
	}
}

static size_t do_request(struct fn_link *app, const uint8_t *d, size_t left)
{
	uint8_t hdr[HDR] = { 0 };
	size_t used = left < HDR ? left : HDR, pay;
	uint32_t len = HDR;
	struct fn_pkt p;

	memcpy(hdr, d, used);
	if (left >= used + 2) {
		len = HDR + (uint32_t)(d[used] | d[used + 1] << 8);
		used += 2;
	}
	if (len > SLOT)
		len = SLOT;
	pay = left - used < len - HDR ? left - used : len - HDR;
	if (fn_stream_alloc_burst(&app->tx, &p, 1) != 1)
		return used + pay;
	memset(p.data, 0, len);
	memcpy(p.data, hdr, HDR);
	memcpy(p.data + HDR, d + used, pay);
	p.len = len;
	fn_stream_submit_burst(&app->tx, &p, 1);
	return used + pay;
}

static void turns(struct sock_serv *ss, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		ss_poll(ss);
		lo_wire_drain(&wire, 64, NULL);
		sys_check_timeouts();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sock_serv ss;
	struct fn_link app;
	int fd;

	once();
	fd = fn_link_create("fuzz-sockserv", NSLOTS, SLOT);
	if (fd < 0)
		abort();
	if (ss_open(&ss, fd, -1, -1, 64, 128) < 0 ||
	    fn_link_attach(&app, fd, FN_LINK_A, FN_POLL_EVENT) < 0)
		abort();
	nheld = 0;
	while (size > 0) {
		uint8_t op = data[0];
		size_t used = 1;

		switch (op % 4) {
		case 0:
			used += do_request(&app, data + 1, size - 1);
			break;
		case 1:
			turns(&ss, 1 + (op >> 2) % 8);
			break;
		case 2:
			ack_held(&app);
			events(&app, 0);
			break;
		default:
			events(&app, 1);
			break;
		}
		data += used;
		size -= used;
	}
	turns(&ss, 2);
	ack_held(&app);
	events(&app, 0);
	ss_close(&ss);
	lwip_purge();
	fn_link_detach(&app);
	close(fd);
	return 0;
}
