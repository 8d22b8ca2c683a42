/*
 * vsw_load.c - fn-bench-vswitch: how many frames a second one port gets
 * from another, and how much CPU the forwarder spends on them, through
 * fragnet-vswitch or through a Linux bridge.  bench/vswitch runs it; see
 * bench/README.md.
 *
 *   fragnet  Two links (1024 x 2048 B, config.h's default), their bells
 *            and a sealed port table; the real fragnet-vswitch binary is
 *            spawned with them as the supervisor will (vsw_spawn.h), and
 *            this process is side B, the stack, of both ports.
 *   kernel   AF_PACKET sockets on two veths in two network namespaces
 *            (bench/vswitch joins their peers by a bridge in a third):
 *            the sender's in --tx-netns, the receiver's in --rx-netns.
 *
 *      sender thread              forwarder                receiver thread
 *      port 0, 02:..:01  ──────►  fragnet-vswitch  ──────►  port 1, 02:..:02
 *      10.245.0.1                 or the bridge             10.245.0.2
 *
 * Both modes move the same frames: Ethernet from port 0's MAC to port 1's,
 * IPv4 from port 0's address to port 1's, UDP; --size bytes in all (no
 * FCS).  The payload is a sequence number, a pattern, and the sequence
 * number again in the last 8 bytes.  First the receiver sends one frame
 * from port 1 so that both switches have learnt its MAC: what is measured
 * is learnt unicast, not flooding.
 *
 *   sender    fragnet: alloc 32 slots, copy the frame in, submit; when the
 *             link is full it waits in --stack-poll mode.  kernel:
 *             sendmmsg() of 32 frames (PACKET_QDISC_BYPASS); a frame the
 *             kernel refused is sent again with the same number.
 *   receiver  fragnet: recv, check, ack, 32 at a time.  kernel: a
 *             TPACKET_V2 ring (PACKET_MMAP).  Every frame is checked: its
 *             length, the 42 bytes of headers, and both copies of its
 *             number, which must grow; a number skipped is lost, one that
 *             does not grow or a damaged frame is bad.
 *
 * After the first frame arrives and --warmup seconds more, two snapshots
 * --duration seconds apart give the rates and CPU figures below, printed
 * as one CSV row (--header prints the header):
 *
 *   fps          frames received / seconds
 *   fwd_cpu_s    the forwarder's CPU seconds: fragnet, the switch process
 *                (clock_getcpuclockid, ns); kernel with --fwd-pids, those
 *                threads'; kernel without, softirq_s - softirq_bg_s
 *   tx_cpu_s, rx_cpu_s   the sender's and receiver's threads
 *   softirq_s    softirq time of the whole machine (/proc/stat, tick
 *                sampled), and softirq_bg_s: the same over --bg seconds
 *                before the sender started, scaled to the interval
 *   busy_s       user + nice + system + irq + softirq of the whole machine
 *   drops        known drops: the switch's port 1 drop_no_slot,
 *                drop_too_big, drop_link_down; the ring's tp_drops
 *
 * fragnet always hands the switch a capture region (fragnet/capture.h),
 * as the supervisor does, so that capture off is measured as it runs.
 * With --capture a thread of ours (on --tx-cpu) is its client, as
 * `fragnet capture vswitch/NET -p all -w /dev/null` would be: it switches
 * every point on and copies each record out, sleeping 2 ms when the ring
 * is empty; its totals go to stderr.  A binary without capture points
 * (an older build, --vswitch) ignores the region.
 *
 * usage: fn-bench-vswitch fragnet|kernel [options]   (--help)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fragnet/capture.h"
#include "fragnet/clock.h"
#include "fragnet/idle.h"
#include "fragnet/names.h"
#include "fragnet/stats.h"
#include "fragnet/stream.h"
#include "fragnet/vswitch.h"
#include "vsw_spawn.h"

#define BURST		32	/* FN_VSW_BURST: the switch's, the sender's */
#define HDRS		42	/* Ethernet + IPv4 + UDP */
#define MIN_SIZE	(HDRS + 16)	/* headers, number, number */
#define MAX_SIZE	1514	/* a 1500-byte MTU's frame */
#define SLOT_SIZE	2048
#define WAIT_NS		100000000	/* a wait's bound: stop is seen */
#define FIRST_NS	5000000000ll	/* the first frame, at the latest */
#define HELLO_SEQ	UINT64_MAX
#define RING_BLOCK	(1u << 20)	/* the receiver's ring: 16 MiB, */
#define RING_BLOCKS	16u
#define RING_FRAMES	(RING_BLOCK / SLOT_SIZE * RING_BLOCKS)	/* 8192 */

/* The two ports.  bench/vswitch gives the veths the same MACs. */
static const uint8_t mac_of[2][6] = {
	{ 0x02, 0x00, 0x0a, 0xf5, 0x00, 0x01 },
	{ 0x02, 0x00, 0x0a, 0xf5, 0x00, 0x02 },
};
static const uint32_t ip_of[2] = { 0x0af50001u, 0x0af50002u };	/* host order */

struct opts {
	const char *mode;	/* "fragnet" | "kernel" */
	const char *config;	/* the CSV's name for it */
	uint32_t size;
	uint32_t window;	/* frames sent and not yet received, at most */
	double duration, warmup, bg;
	int tx_cpu, rx_cpu;
	/* fragnet */
	const char *vswitch;	/* the binary */
	enum fn_poll poll, stack_poll;
	uint32_t slots;
	int switch_cpu;
	bool capture;		/* a client of the capture region */
	/* kernel */
	const char *tx_netns, *tx_dev, *rx_netns, *rx_dev;
	pid_t fwd_pids[8];
	unsigned nfwd;
};

/* One snapshot of everything counted. */
struct snap {
	int64_t t_ns;
	uint64_t sent, received, lost, bad, drops;
	int64_t fwd_cpu_ns, tx_cpu_ns, rx_cpu_ns;
	uint64_t softirq, busy;		/* /proc/stat ticks */
};

struct load;

/* A forwarder under test: fragnet-vswitch or the kernel's bridge. */
struct backend {
	int (*open)(struct load *ld);
	/* Send n frames numbered seq..; returns how many went, or -errno. */
	int (*tx)(struct load *ld, uint64_t seq, unsigned n);
	/* Wait a little for frames, check them; returns how many, -errno. */
	int (*rx)(struct load *ld);
	/* The receiver's one frame, so that its MAC is learnt. */
	int (*hello)(struct load *ld, const uint8_t *frame);
	void (*sample)(struct load *ld, struct snap *s);	/* fwd cpu, drops */
	int (*close)(struct load *ld);	/* 0, or -1: the forwarder failed */
};

/* The switch is our child but not told to die with us (posix_spawn sets
 * no PR_SET_PDEATHSIG): a timeout or a signal takes it along. */
static volatile pid_t child_pid;

struct load {
	const struct opts *o;
	const struct backend *be;
	uint8_t tmpl[MAX_SIZE];		/* the frame, numbers aside */
	uint8_t hello[MAX_SIZE];
	_Atomic bool stop;
	_Atomic int failed;		/* -errno of a thread that gave up */
	/* the sender's, published per burst */
	_Atomic uint64_t sent;
	/* the receiver's, published per burst */
	_Atomic uint64_t received, lost, bad;
	uint64_t rx_next;		/* the receiver's: the number it expects */
	pthread_t tx_thr, rx_thr;
	/* fragnet */
	int link_fd[2], bell[2], table_fd, stats_fd;
	struct fn_link link[2];		/* side B of each port */
	const struct fn_stats_page *page;
	pid_t pid;
	clockid_t fwd_clock;
	int cap_fd;			/* the capture region */
	struct fn_cap cap;		/* --capture: our client's map */
	pthread_t cap_thr;
	bool cap_running;
	uint64_t cap_records;		/* the client thread's */
	/* kernel */
	int tx_sock, rx_sock;
	uint8_t *ring;
	unsigned ring_cur;
	struct fn_idle rx_idle;		/* the receiver's idle turns */
	uint64_t tp_drops;
	clockid_t fwd_clocks[8];
};

static void fail(struct load *ld, int err)
{
	int zero = 0;

	atomic_compare_exchange_strong(&ld->failed, &zero, err);
	atomic_store(&ld->stop, true);
}

static int64_t cpu_ns(clockid_t c)
{
	return fn_clock_read(c);
}

static void pin_self(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* ---- frames ------------------------------------------------------------- */

static uint16_t ip_csum(const uint8_t *h, unsigned n)
{
	uint32_t s = 0;

	for (unsigned i = 0; i < n; i += 2)
		s += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* A frame of size bytes from port `from` to the other port. */
static void frame_build(uint8_t *b, uint32_t size, unsigned from)
{
	uint8_t *ip = b + 14, *udp = b + 34;
	uint32_t src = htonl(ip_of[from]), dst = htonl(ip_of[!from]);
	uint16_t iplen = htons((uint16_t)(size - 14));
	uint16_t udplen = htons((uint16_t)(size - 34)), port = htons(9);

	memcpy(b, mac_of[!from], 6);
	memcpy(b + 6, mac_of[from], 6);
	b[12] = 0x08;
	b[13] = 0x00;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	memcpy(ip + 2, &iplen, 2);
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	uint16_t c = htons(ip_csum(ip, 20));
	memcpy(ip + 10, &c, 2);
	memcpy(udp, &port, 2);
	memcpy(udp + 2, &port, 2);
	memcpy(udp + 4, &udplen, 2);
	memset(udp + 6, 0, 2);		/* no UDP checksum (IPv4 allows it) */
	for (uint32_t i = HDRS; i < size; i++)
		b[i] = (uint8_t)(i * 7);
}

static void frame_number(uint8_t *b, uint32_t size, uint64_t seq)
{
	memcpy(b + HDRS, &seq, 8);
	memcpy(b + size - 8, &seq, 8);
}

/* The receiver's check of one frame; counts in *ok, *lost, *bad. */
static void frame_check(struct load *ld, const uint8_t *p, uint32_t len,
			uint64_t *ok, uint64_t *lost, uint64_t *bad)
{
	uint64_t seq, tail;

	if (len != ld->o->size || memcmp(p, ld->tmpl, HDRS) != 0) {
		(*bad)++;
		return;
	}
	memcpy(&seq, p + HDRS, 8);
	memcpy(&tail, p + len - 8, 8);
	if (seq != tail || seq < ld->rx_next) {
		(*bad)++;
		return;
	}
	*lost += seq - ld->rx_next;
	ld->rx_next = seq + 1;
	(*ok)++;
}

static void rx_publish(struct load *ld, uint64_t ok, uint64_t lost,
		       uint64_t bad)
{
	atomic_fetch_add_explicit(&ld->received, ok, memory_order_relaxed);
	if (lost)
		atomic_fetch_add_explicit(&ld->lost, lost, memory_order_relaxed);
	if (bad)
		atomic_fetch_add_explicit(&ld->bad, bad, memory_order_relaxed);
}

/* ---- fragnet: side B of two ports of the real switch -------------------- */

static int fn_open_links(struct load *ld)
{
	for (int i = 0; i < 2; i++) {
		ld->link_fd[i] = fn_link_create("vsw-bench", ld->o->slots,
						SLOT_SIZE);
		ld->bell[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (ld->link_fd[i] < 0 || ld->bell[i] < 0)
			return ld->link_fd[i] < 0 ? ld->link_fd[i] : -errno;
		int err = fn_link_attach(&ld->link[i], ld->link_fd[i],
					 FN_LINK_B, ld->o->stack_poll);
		if (err < 0)
			return err;
		/* A stack on a switch rings the port's bell (vswitch.h). */
		fn_stream_set_bell(&ld->link[i].tx, ld->bell[i]);
		fn_stream_set_bell(&ld->link[i].rx, ld->bell[i]);
	}
	return 0;
}

/* --capture: the client's loop, until ld->stop (capture.h PROTOCOL 4). */
static void *cap_main(void *arg)
{
	static uint8_t buf[FN_CAP_SLOT_SIZE];
	struct load *ld = arg;
	struct timespec nap = { 0, 2000000 };
	struct fn_cap_rec r;
	uint64_t lost = 0;

	pin_self(ld->o->tx_cpu);
	while (!atomic_load(&ld->stop)) {
		int n = fn_cap_next(&ld->cap, &r, buf, &lost);

		if (n == 0)
			nanosleep(&nap, NULL);
		else if (n == 1)
			ld->cap_records++;
	}
	return NULL;
}

static bool pid_alive(int32_t pid)
{
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* The region, handed to the switch; with --capture our client of it. */
static int cap_open(struct load *ld)
{
	int32_t other = 0;
	int err;

	ld->cap_fd = fn_cap_create("vsw-bench-cap", FN_CAP_SLOTS,
				   FN_CAP_SLOT_SIZE);
	if (ld->cap_fd < 0 || !ld->o->capture)
		return ld->cap_fd < 0 ? ld->cap_fd : 0;
	err = fn_cap_attach(&ld->cap, ld->cap_fd, false, NULL);
	if (err < 0)
		return err;
	if (fn_cap_claim(&ld->cap, (int32_t)getpid(), &other, pid_alive) < 0)
		return -EBUSY;	/* our own new region: nobody else has it */
	fn_cap_start(&ld->cap, (int32_t)getpid(), FN_CAP_VSW_POINTS, 0, 0);
	if (pthread_create(&ld->cap_thr, NULL, cap_main, ld))
		return -EAGAIN;
	ld->cap_running = true;
	return 0;
}

static void cap_close(struct load *ld)
{
	if (ld->cap_running) {
		atomic_store(&ld->stop, true);
		pthread_join(ld->cap_thr, NULL);
		fprintf(stderr, "fn-bench-vswitch: %s: capture: %llu records, "
			"%llu dropped by the full ring\n", ld->o->config,
			(unsigned long long)ld->cap_records,
			(unsigned long long)fn_cap_dropped(&ld->cap));
	}
	if (ld->cap.hdr)
		fn_cap_detach(&ld->cap);
	if (ld->cap_fd >= 0)
		close(ld->cap_fd);
	ld->cap_fd = -1;
}

static int fn_open(struct load *ld)
{
	struct fn_vsw_port_ent e[2];
	struct vsw_spawn_port ports[2];
	int err = fn_open_links(ld);

	if (err == 0)
		err = cap_open(ld);
	if (err < 0)
		return err;
	for (int i = 0; i < 2; i++) {
		/* No peer bell: our side B waits on the futex. */
		vsw_spawn_ent(&e[i], (unsigned)i, mac_of[i], htonl(ip_of[i]),
			      false);
		ports[i] = (struct vsw_spawn_port){ ld->link_fd[i], ld->bell[i],
						     -1 };
	}
	ld->table_fd = fn_vsw_table_create("bench", 0, e, 2, NULL);
	ld->stats_fd = fn_stats_create(FN_VSW_COMPONENT, 0, FN_STATS_PAGE_SIZE);
	if (ld->table_fd < 0 || ld->stats_fd < 0)
		return ld->table_fd < 0 ? ld->table_fd : ld->stats_fd;
	ld->page = fn_stats_map_ro(ld->stats_fd, FN_STATS_PAGE_SIZE);
	if (!ld->page)
		return -errno;
	ld->pid = vsw_spawn(ld->o->vswitch, ld->table_fd, ld->stats_fd,
			    ld->cap_fd, ports, 2, ld->o->poll,
			    ld->o->switch_cpu);
	if (ld->pid < 0)
		return ld->pid;
	child_pid = ld->pid;
	if (clock_getcpuclockid(ld->pid, &ld->fwd_clock) != 0)
		return -ESRCH;
	return 0;
}

static int fn_tx(struct load *ld, uint64_t seq, unsigned n)
{
	struct fn_endpoint *e = &ld->link[0].tx;
	struct fn_pkt p[BURST];
	int k = fn_stream_alloc_burst(e, p, n);

	if (k == 0)
		return fn_stream_wait(e, WAIT_NS) < 0 ? -EPIPE : 0;
	for (int i = 0; i < k; i++) {
		memcpy(p[i].data, ld->tmpl, ld->o->size);
		frame_number(p[i].data, ld->o->size, seq + (uint64_t)i);
		p[i].len = ld->o->size;
	}
	return k < 0 ? k : fn_stream_submit_burst(e, p, (unsigned)k);
}

static int fn_rx(struct load *ld)
{
	struct fn_endpoint *e = &ld->link[1].rx;
	struct fn_pkt p[BURST];
	uint64_t ok = 0, lost = 0, bad = 0;
	int k = fn_stream_recv_burst(e, p, BURST);

	if (k == 0)
		return fn_stream_wait(e, WAIT_NS) < 0 ? -EPIPE : 0;
	if (k < 0)
		return k;
	for (int i = 0; i < k; i++)
		frame_check(ld, p[i].data, p[i].len, &ok, &lost, &bad);
	rx_publish(ld, ok, lost, bad);
	return fn_stream_ack_burst(e, p, (unsigned)k);
}

static int fn_hello(struct load *ld, const uint8_t *frame)
{
	struct fn_endpoint *e = &ld->link[1].tx;
	struct fn_pkt p;
	int64_t end = fn_clock_ns() + FIRST_NS;
	int k;

	/* 0 until the switch has joined the link (stream.h RESET). */
	while ((k = fn_stream_alloc_burst(e, &p, 1)) == 0 &&
	       fn_clock_ns() < end)
		fn_stream_wait(e, 10000000);
	if (k != 1)
		return k < 0 ? k : -ETIMEDOUT;
	memcpy(p.data, frame, ld->o->size);
	p.len = ld->o->size;
	return fn_stream_submit_burst(e, &p, 1) == 1 ? 0 : -EPIPE;
}

/* Counters of the switch's stats page that the bench reads. */
struct page_ctrs {
	uint64_t drops;		/* copies to port 1 dropped */
	uint64_t refused;	/* port 0's frames refused: must stay 0 */
};

static void page_visit(void *arg, const char *name, uint64_t v)
{
	struct page_ctrs *c = arg;
	static const char *const to_port1[] = {
		"port1.drop_no_slot", "port1.drop_too_big", "port1.drop_link_down",
	};

	for (unsigned i = 0; i < 3; i++)
		if (!strcmp(name, to_port1[i]))
			c->drops += v;
	if (!strncmp(name, "port0.drop_", 11) &&
	    strcmp(name, "port0.drop_no_slot") &&
	    strcmp(name, "port0.drop_too_big") &&
	    strcmp(name, "port0.drop_link_down"))
		c->refused += v;
}

static void fn_sample(struct load *ld, struct snap *s)
{
	struct page_ctrs c = { 0, 0 };

	s->fwd_cpu_ns = cpu_ns(ld->fwd_clock);
	fn_stats_read(ld->page, FN_STATS_PAGE_SIZE, page_visit, &c);
	s->drops = c.drops;
	s->bad += c.refused;	/* port security refused our own frames */
}

static int fn_close(struct load *ld)
{
	int st = -1, ok = 1;

	cap_close(ld);
	if (ld->pid > 0) {
		kill(ld->pid, SIGTERM);
		ok = waitpid(ld->pid, &st, 0) == ld->pid && WIFEXITED(st) &&
		     WEXITSTATUS(st) == 0;
		if (!ok)
			fprintf(stderr, "fn-bench-vswitch: %s did not exit 0 "
				"(status %#x)\n", FN_VSW_PROG, st);
	}
	for (int i = 0; i < 2; i++) {
		if (ld->link[i].base)
			fn_link_detach(&ld->link[i]);
		if (ld->link_fd[i] >= 0)
			close(ld->link_fd[i]);
		if (ld->bell[i] >= 0)
			close(ld->bell[i]);
	}
	if (ld->page)
		fn_stats_unmap(ld->page, FN_STATS_PAGE_SIZE);
	if (ld->stats_fd >= 0)
		close(ld->stats_fd);
	if (ld->table_fd >= 0)
		close(ld->table_fd);
	return ok ? 0 : -1;
}

static const struct backend fragnet_backend = {
	fn_open, fn_tx, fn_rx, fn_hello, fn_sample, fn_close,
};

/* ---- kernel: AF_PACKET on two veths, a bridge between them -------------- */

/* Run fn(ld, dev) inside network namespace ns, then come back. */
static int in_netns(const char *ns, int (*fn)(struct load *, const char *),
		    struct load *ld, const char *dev)
{
	char path[256];
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), fd, r;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (self < 0 || fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		r = -errno;
		fprintf(stderr, "fn-bench-vswitch: netns %s: %s\n", ns,
			strerror(errno));
	} else {
		r = fn(ld, dev);
		if (setns(self, CLONE_NEWNET) < 0)
			r = -errno;
	}
	if (fd >= 0)
		close(fd);
	if (self >= 0)
		close(self);
	return r;
}

static int packet_socket(const char *dev, uint16_t proto)
{
	struct sockaddr_ll a = { .sll_family = AF_PACKET,
				 .sll_protocol = htons(proto) };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(proto));

	if (fd < 0)
		return -errno;
	a.sll_ifindex = (int)if_nametoindex(dev);
	if (!a.sll_ifindex) {
		fprintf(stderr, "fn-bench-vswitch: no device %s\n", dev);
		close(fd);
		return -ENODEV;
	}
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* The sender: protocol 0, so that it receives nothing; straight to the
 * device, as the switch's sender has no qdisc either. */
static int tx_sock_open(struct load *ld, const char *dev)
{
	int one = 1;

	ld->tx_sock = packet_socket(dev, 0);
	if (ld->tx_sock < 0)
		return ld->tx_sock;
	if (setsockopt(ld->tx_sock, SOL_PACKET, PACKET_QDISC_BYPASS, &one,
		       sizeof(one)) < 0)
		return -errno;
	return 0;
}

/* The receiver: IPv4 frames of dev into a TPACKET_V2 ring: one slot a
 * frame, each handed over as it is written, as a link's slots are (a
 * TPACKET_V3 block is handed over when full or when a timer of some
 * jiffies fires, which would hold the sender's window). */
static int rx_sock_open(struct load *ld, const char *dev)
{
	int v = TPACKET_V2, fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	struct tpacket_req req = {
		.tp_block_size = RING_BLOCK, .tp_block_nr = RING_BLOCKS,
		.tp_frame_size = SLOT_SIZE, .tp_frame_nr = RING_FRAMES,
	};
	struct sockaddr_ll a = { .sll_family = AF_PACKET,
				 .sll_protocol = htons(ETH_P_IP) };

	if ((ld->rx_sock = fd) < 0)
		return -errno;
	if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) < 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0)
		return -errno;
	ld->ring = mmap(NULL, (size_t)RING_BLOCK * RING_BLOCKS,
			PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ld->ring == MAP_FAILED) {
		ld->ring = NULL;
		return -errno;
	}
	a.sll_ifindex = (int)if_nametoindex(dev);
	if (!a.sll_ifindex)
		return -ENODEV;
	return bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ? -errno : 0;
}

static int k_open(struct load *ld)
{
	const struct opts *o = ld->o;
	int err;

	if (!o->tx_netns || !o->tx_dev || !o->rx_netns || !o->rx_dev) {
		fprintf(stderr, "fn-bench-vswitch: kernel needs --tx-netns, "
			"--tx-dev, --rx-netns and --rx-dev\n");
		return -EINVAL;
	}
	err = in_netns(o->tx_netns, tx_sock_open, ld, o->tx_dev);
	if (err == 0)
		err = in_netns(o->rx_netns, rx_sock_open, ld, o->rx_dev);
	for (unsigned i = 0; err == 0 && i < o->nfwd; i++)
		if (clock_getcpuclockid(o->fwd_pids[i], &ld->fwd_clocks[i]))
			err = -ESRCH;
	return err;
}

static int k_tx(struct load *ld, uint64_t seq, unsigned n)
{
	static __thread uint8_t buf[BURST][MAX_SIZE];
	struct mmsghdr m[BURST];
	struct iovec iov[BURST];
	static __thread bool filled;
	int r;

	if (!filled) {
		for (unsigned i = 0; i < BURST; i++)
			memcpy(buf[i], ld->tmpl, ld->o->size);
		filled = true;
	}
	memset(m, 0, sizeof(m));
	for (unsigned i = 0; i < n; i++) {
		/* The kernel copies the whole frame (as fn_tx does). */
		frame_number(buf[i], ld->o->size, seq + i);
		iov[i] = (struct iovec){ buf[i], ld->o->size };
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	r = sendmmsg(ld->tx_sock, m, n, 0);
	if (r < 0 && (errno == ENOBUFS || errno == EAGAIN || errno == EINTR))
		return 0;	/* refused: the same numbers again */
	return r < 0 ? -errno : r;
}

static struct tpacket2_hdr *ring_slot(struct load *ld, unsigned i)
{
	return (void *)(ld->ring + (size_t)i * SLOT_SIZE);
}

/* Every frame the kernel has handed us, at most a burst, each slot
 * handed back once checked. */
static int k_rx(struct load *ld)
{
	struct pollfd pfd = { .fd = ld->rx_sock, .events = POLLIN };
	uint64_t ok = 0, lost = 0, bad = 0;
	int n = 0;

	for (; n < BURST; n++) {
		struct tpacket2_hdr *h = ring_slot(ld, ld->ring_cur);
		if (!(__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) &
		      TP_STATUS_USER))
			break;
		frame_check(ld, (const uint8_t *)h + h->tp_mac, h->tp_snaplen,
			    &ok, &lost, &bad);
		__atomic_store_n(&h->tp_status, TP_STATUS_KERNEL,
				 __ATOMIC_RELEASE);
		ld->ring_cur = (ld->ring_cur + 1) % RING_FRAMES;
	}
	if (n) {
		rx_publish(ld, ok, lost, bad);
		fn_idle_reset(&ld->rx_idle);
		return n;
	}
	/* Wait as the fragnet receiver's fn_stream_wait() does, per
	 * --stack-poll: a receiver asleep in poll() costs the kernel a
	 * wake-up per frame, one that spins costs it none. */
	if (fn_idle_spin(&ld->rx_idle, ld->o->stack_poll, fn_clock_ns(),
			 FN_ADAPTIVE_SPIN_NS))
		return 0;
	return poll(&pfd, 1, WAIT_NS / 1000000) < 0 && errno != EINTR ?
	       -errno : 0;
}

static int k_hello(struct load *ld, const uint8_t *frame)
{
	return send(ld->rx_sock, frame, ld->o->size, 0) < 0 ? -errno : 0;
}

static void k_sample(struct load *ld, struct snap *s)
{
	struct tpacket_stats st;
	socklen_t len = sizeof(st);

	s->fwd_cpu_ns = 0;
	for (unsigned i = 0; i < ld->o->nfwd; i++)
		s->fwd_cpu_ns += cpu_ns(ld->fwd_clocks[i]);
	/* PACKET_STATISTICS resets as it reads: keep the sum. */
	if (getsockopt(ld->rx_sock, SOL_PACKET, PACKET_STATISTICS, &st,
		       &len) == 0)
		ld->tp_drops += st.tp_drops;
	s->drops = ld->tp_drops;
}

static int k_close(struct load *ld)
{
	if (ld->ring)
		munmap(ld->ring, (size_t)RING_BLOCK * RING_BLOCKS);
	if (ld->rx_sock >= 0)
		close(ld->rx_sock);
	if (ld->tx_sock >= 0)
		close(ld->tx_sock);
	return 0;
}

static const struct backend kernel_backend = {
	k_open, k_tx, k_rx, k_hello, k_sample, k_close,
};

/* ---- the two threads ---------------------------------------------------- */

static void *tx_main(void *arg)
{
	struct load *ld = arg;
	uint64_t seq = 0;

	pin_self(ld->o->tx_cpu);
	while (!atomic_load_explicit(&ld->stop, memory_order_relaxed)) {
		/* At most --window frames on their way: the rate is what
		 * arrives, not what the receiver had to lose. */
		uint64_t got = atomic_load_explicit(&ld->received,
						    memory_order_relaxed) +
			       atomic_load_explicit(&ld->lost,
						    memory_order_relaxed);
		if (seq - got + BURST > ld->o->window) {
			sched_yield();
			continue;
		}
		int k = ld->be->tx(ld, seq, BURST);
		if (k < 0) {
			fail(ld, k);
			break;
		}
		seq += (uint64_t)k;
		atomic_store_explicit(&ld->sent, seq, memory_order_relaxed);
	}
	return NULL;
}

static void *rx_main(void *arg)
{
	struct load *ld = arg;
	int err;

	pin_self(ld->o->rx_cpu);
	frame_build(ld->hello, ld->o->size, 1);
	frame_number(ld->hello, ld->o->size, HELLO_SEQ);
	err = ld->be->hello(ld, ld->hello);
	if (err < 0)
		fail(ld, err);
	while (!atomic_load_explicit(&ld->stop, memory_order_relaxed)) {
		int k = ld->be->rx(ld);
		if (k < 0) {
			fail(ld, k);
			break;
		}
	}
	return NULL;
}

/* ---- measuring ---------------------------------------------------------- */

/* softirq and busy ticks of the whole machine (/proc/stat, line "cpu"). */
static void proc_stat(uint64_t *softirq, uint64_t *busy)
{
	unsigned long long v[7] = { 0 };
	FILE *f = fopen("/proc/stat", "re");

	if (f) {
		if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu", &v[0],
			   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]) != 7)
			memset(v, 0, sizeof(v));
		fclose(f);
	}
	/* user nice system idle iowait irq softirq */
	*softirq = v[6];
	*busy = v[0] + v[1] + v[2] + v[5] + v[6];
}

static void sample(struct load *ld, struct snap *s)
{
	clockid_t c;

	memset(s, 0, sizeof(*s));
	s->t_ns = fn_clock_ns();
	s->sent = atomic_load(&ld->sent);
	s->received = atomic_load(&ld->received);
	s->lost = atomic_load(&ld->lost);
	s->bad = atomic_load(&ld->bad);
	if (pthread_getcpuclockid(ld->tx_thr, &c) == 0)
		s->tx_cpu_ns = cpu_ns(c);
	if (pthread_getcpuclockid(ld->rx_thr, &c) == 0)
		s->rx_cpu_ns = cpu_ns(c);
	proc_stat(&s->softirq, &s->busy);
	ld->be->sample(ld, s);
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Until the first frame is through (learning, joining), then warm up. */
static int wait_first(struct load *ld)
{
	int64_t end = fn_clock_ns() + FIRST_NS;

	while (atomic_load(&ld->received) == 0 && !atomic_load(&ld->failed)) {
		if (fn_clock_ns() > end) {
			fprintf(stderr, "fn-bench-vswitch: no frame arrived in "
				"%lld s\n", FIRST_NS / 1000000000ll);
			return -ETIMEDOUT;
		}
		sleep_s(0.001);
	}
	sleep_s(ld->o->warmup);
	return atomic_load(&ld->failed);
}

static void print_row(const struct opts *o, const struct snap *a,
		      const struct snap *b, double bg_rate)
{
	double secs = (double)(b->t_ns - a->t_ns) / 1e9;
	double tick = 1.0 / (double)sysconf(_SC_CLK_TCK);
	double softirq = (double)(b->softirq - a->softirq) * tick;
	double bg = bg_rate * secs, fwd = (double)(b->fwd_cpu_ns - a->fwd_cpu_ns) / 1e9;
	uint64_t rx = b->received - a->received;

	if (!strcmp(o->mode, "kernel") && o->nfwd == 0)
		fwd = softirq > bg ? softirq - bg : 0;
	printf("%s,%" PRIu32 ",%.3f,%" PRIu64 ",%" PRIu64 ",%.0f,%" PRIu64
	       ",%" PRIu64 ",%" PRIu64 ",%.4f,%.4f,%.4f,%.4f,%.4f,%.4f\n",
	       o->config, o->size, secs, b->sent - a->sent, rx, rx / secs,
	       b->lost - a->lost, b->bad - a->bad, b->drops - a->drops, fwd,
	       (double)(b->tx_cpu_ns - a->tx_cpu_ns) / 1e9,
	       (double)(b->rx_cpu_ns - a->rx_cpu_ns) / 1e9, softirq, bg,
	       (double)(b->busy - a->busy) * tick);
}

static const char csv_header[] =
	"config,size,seconds,sent,received,fps,lost,bad,drops,fwd_cpu_s,"
	"tx_cpu_s,rx_cpu_s,softirq_s,softirq_bg_s,busy_s\n";

/* softirq seconds per second over s seconds of the machine as it is. */
static double softirq_rate(double s)
{
	uint64_t a, b, busy;

	if (s <= 0)
		return 0;
	proc_stat(&a, &busy);
	sleep_s(s);
	proc_stat(&b, &busy);
	return (double)(b - a) / (double)sysconf(_SC_CLK_TCK) / s;
}

static int measure(struct load *ld)
{
	struct snap a, b;
	double bg;
	int err = ld->be->open(ld);

	if (err < 0) {
		fprintf(stderr, "fn-bench-vswitch: %s: %s\n", ld->o->mode,
			strerror(-err));
		return err;
	}
	bg = softirq_rate(ld->o->bg);
	frame_build(ld->tmpl, ld->o->size, 0);
	if (pthread_create(&ld->rx_thr, NULL, rx_main, ld) ||
	    pthread_create(&ld->tx_thr, NULL, tx_main, ld)) {
		fprintf(stderr, "fn-bench-vswitch: pthread_create failed\n");
		exit(1);
	}
	err = wait_first(ld);
	if (err == 0) {
		sample(ld, &a);
		sleep_s(ld->o->duration);
		sample(ld, &b);
		err = atomic_load(&ld->failed);
	}
	atomic_store(&ld->stop, true);
	pthread_join(ld->tx_thr, NULL);
	pthread_join(ld->rx_thr, NULL);
	if (err < 0)
		fprintf(stderr, "fn-bench-vswitch: %s: %s\n", ld->o->config,
			strerror(-err));
	else
		print_row(ld->o, &a, &b, bg);
	return err;
}

/* ---- options ------------------------------------------------------------ */


static void on_fatal(int sig)
{
	static const char m[] = "fn-bench-vswitch: stopped by a signal\n";

	if (child_pid > 0)
		kill(child_pid, SIGKILL);
	if (write(STDERR_FILENO, m, sizeof(m) - 1) < 0)
		_exit(128 + sig);
	_exit(128 + sig);
}

static void signals(void)
{
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_fatal);
	signal(SIGTERM, on_fatal);
	signal(SIGINT, on_fatal);
	signal(SIGHUP, on_fatal);
}

static const char usage_text[] =
"usage: fn-bench-vswitch fragnet|kernel [options]\n"
"       fn-bench-vswitch --header\n"
"  --size N          frame bytes, no FCS (58..1514; default 64)\n"
"  --duration S      measured seconds (default 5)\n"
"  --warmup S        after the first frame, not measured (default 0.5)\n"
"  --window N        frames sent and not yet received, at most (512)\n"
"  --bg S            softirq background, measured first (default 0)\n"
"  --tx-cpu C, --rx-cpu C   pin the sender, the receiver (-1: no)\n"
"  --config NAME     the CSV's name for this run (default: the mode)\n"
"fragnet:\n"
"  --vswitch PATH    the fragnet-vswitch binary (default: this build's)\n"
"  --poll MODE       the switch's busy|adaptive|event (default adaptive)\n"
"  --stack-poll MODE our side B's waits (default adaptive)\n"
"  --switch-cpu C    pin the switch (-1: no; default 1)\n"
"  --slots N         slots per link direction (default 1024)\n"
"  --capture         be the client of the switch's capture region, every\n"
"                    point on (default: the region is there, capture off)\n"
"kernel:\n"
"  --tx-netns NS --tx-dev DEV    the sender's veth (MAC 02:00:0a:f5:00:01)\n"
"  --rx-netns NS --rx-dev DEV    the receiver's (MAC 02:00:0a:f5:00:02)\n"
"  --fwd-pids P,...  threads whose CPU is the forwarder's (default: the\n"
"                    machine's softirq time less its background)\n"
"Prints one CSV row (see --header); exit 0, 1 on a failure.\n";

static int parse_pids(const char *s, struct opts *o)
{
	char *end;

	for (o->nfwd = 0; *s && o->nfwd < 8; s = end + (*end == ',')) {
		long v = strtol(s, &end, 10);
		if (end == s || v <= 0 || (*end && *end != ','))
			return -1;
		o->fwd_pids[o->nfwd++] = (pid_t)v;
	}
	return *s ? -1 : 0;
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "size", 1, 0, 's' }, { "duration", 1, 0, 'd' },
		{ "warmup", 1, 0, 'w' }, { "bg", 1, 0, 'b' },
		{ "tx-cpu", 1, 0, 't' }, { "rx-cpu", 1, 0, 'r' },
		{ "config", 1, 0, 'c' }, { "vswitch", 1, 0, 'v' },
		{ "poll", 1, 0, 'p' }, { "stack-poll", 1, 0, 'P' },
		{ "switch-cpu", 1, 0, 'S' }, { "slots", 1, 0, 'n' },
		{ "tx-netns", 1, 0, 'A' }, { "tx-dev", 1, 0, 'a' },
		{ "rx-netns", 1, 0, 'B' }, { "rx-dev", 1, 0, 'e' },
		{ "fwd-pids", 1, 0, 'f' }, { "header", 0, 0, 'H' },
		{ "window", 1, 0, 'W' }, { "help", 0, 0, 'h' },
		{ "capture", 0, 0, 'C' },
		{ 0, 0, 0, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': o->size = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'W': o->window = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'd': o->duration = atof(optarg); break;
		case 'w': o->warmup = atof(optarg); break;
		case 'b': o->bg = atof(optarg); break;
		case 't': o->tx_cpu = atoi(optarg); break;
		case 'r': o->rx_cpu = atoi(optarg); break;
		case 'c': o->config = optarg; break;
		case 'v': o->vswitch = optarg; break;
		case 'p': if (fn_poll_parse(optarg, &o->poll) < 0) return -1; break;
		case 'P': if (fn_poll_parse(optarg, &o->stack_poll) < 0) return -1; break;
		case 'S': o->switch_cpu = atoi(optarg); break;
		case 'C': o->capture = true; break;
		case 'n': o->slots = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'A': o->tx_netns = optarg; break;
		case 'a': o->tx_dev = optarg; break;
		case 'B': o->rx_netns = optarg; break;
		case 'e': o->rx_dev = optarg; break;
		case 'f': if (parse_pids(optarg, o) < 0) return -1; break;
		case 'H': fputs(csv_header, stdout); exit(0);
		case 'h': fputs(usage_text, stdout); exit(0);
		default: return -1;
		}
	}
	if (optind + 1 != argc)
		return -1;
	o->mode = argv[optind];
	if (!o->config)
		o->config = o->mode;
	return o->size >= MIN_SIZE && o->size <= MAX_SIZE &&
	       o->window >= BURST && o->duration > 0 && o->warmup >= 0 &&
	       o->bg >= 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	static struct opts o = {
		.size = 64, .window = 512, .duration = 5, .warmup = 0.5, .tx_cpu = -1,
		.rx_cpu = -1, .vswitch = FN_VSWITCH_BIN, .poll = FN_POLL_ADAPTIVE,
		.stack_poll = FN_POLL_ADAPTIVE, .slots = 1024, .switch_cpu = 1,
	};
	static struct load ld = {
		.link_fd = { -1, -1 }, .bell = { -1, -1 }, .table_fd = -1,
		.stats_fd = -1, .tx_sock = -1, .rx_sock = -1, .cap_fd = -1,
	};
	int err, closed;

	if (parse(argc, argv, &o) < 0) {
		fputs(usage_text, stderr);
		return 2;
	}
	if (!strcmp(o.mode, "fragnet"))
		ld.be = &fragnet_backend;
	else if (!strcmp(o.mode, "kernel"))
		ld.be = &kernel_backend;
	else {
		fputs(usage_text, stderr);
		return 2;
	}
	ld.o = &o;
	signals();
	alarm((unsigned)(o.duration + o.warmup + o.bg) + 60);	/* bounded */
	setvbuf(stdout, NULL, _IOLBF, 0);
	err = measure(&ld);
	closed = ld.be->close(&ld);
	return err < 0 || closed < 0;
}
