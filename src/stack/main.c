/*
 * main.c - fragnet-stack: one pipeline's TCP/IP stack (lwIP, NO_SYS=1).
 *
 * Spawned by the supervisor (names.h contract):
 *   FRAGNET_CONFIG      the topology: our pipeline's uplink address and
 *                       MAC (per [stack] addressing), [stack] gateway,
 *                       profile, max_tcp; [link] geometry
 *   FRAGNET_LINK_FD     the packet link to the driver, our uplink "fn0";
 *                       we are side B
 *   FRAGNET_STACK_NETS_FD  our attachments to internal networks
 *                       (fragnet/vswitch.h): one netif each, on its link
 *                       to a vswitch port.  At least one of the two.
 *   FRAGNET_CONTROL_FD  listening control socket (control.c)
 *   FRAGNET_SOCKCHAN_FD the app's socket channel, side B (sock_serv.c)
 *   FRAGNET_STACK_BELL_FD, FRAGNET_APP_BELL_FD, FRAGNET_DRIVER_BELL_FD
 *                       doorbells (names.h): ours, the app's, the driver's
 *   FRAGNET_STATS_FD    stats page: "stack.*", "link.tx.*", "link.rx.*"
 *                       (the uplink's), and per netif "if.<name>.*" (a
 *                       network's: with "if.<name>.link.{tx,rx}.*")
 *   FRAGNET_POLL        busy | adaptive | event (stream.h, POLL MODES)
 *   FRAGNET_PIPELINE, FRAGNET_LOG_LEVEL
 *
 * Call sequence: config -> lwip_init -> stats page -> links attach (the
 * uplink, the networks') -> a netif each (linkif.c) -> loop until SIGTERM
 * -> detach, exit 0.
 *
 * THE LOOP, one turn:
 *   1. receive one burst from each link into lwIP (ARP, ICMP, ... run
 *      here), then serve the socket channel (ss_poll: acks, requests,
 *      events);
 *   2. sys_check_timeouts(): lwIP's timers (ARP aging, reassembly, TCP);
 *   3. submit what lwIP sent during 1 and 2, one burst per link;
 *   4. every CONTROL_PERIOD_MS, and when poll() says so, serve the
 *      control socket (control.c: nf_tables netlink, bounded per turn);
 *   5. nothing to do: with the stack bell and a channel or a network,
 *      arm every link's and the channel's rings and block in poll() on
 *      the bell and the control socket (the driver, the switch and the app
 *      ring the bell); otherwise wait on the uplink's rx stream per the
 *      poll mode (busy spins, adaptive spins then sleeps, event sleeps),
 *      at most CHAN_WAIT_MAX_NS while a channel is served.  Either way
 *      until lwIP's next timer is due, at most WAIT_MAX_MS, so that an
 *      idle stack sleeps and still notices SIGTERM and control clients.
 *
 * POOLS: lwIP is built with MEM_LIBC_MALLOC and MEMP_MEM_MALLOC, so its
 * pools are malloc()ed per element and no MEMP_NUM_* limit is enforced:
 * limits from the config are the stack's to keep.  [stack] max_tcp is
 * enforced by the socket channel, which creates every TCP PCB: it counts
 * the app's open connections (sock_serv.c MAX_TCP: from tcp_new for a
 * connect or the accept callback, until either side closes, a reset or an
 * abort) and refuses past max_tcp (accept: tcp_abort + ERR_ABRT, a RST to
 * the peer; connect: ENOBUFS); the PCBs of closed connections are bounded
 * by socket ids (max_tcp + SOCK_SPARE_IDS).  Frames in flight are bounded by
 * the link (one pbuf per slot in a burst), reassembly by IP_REASS_MAX_PBUFS
 * and out-of-order TCP data per PCB by TCP_OOSEQ_MAX_{BYTES,PBUFS}.
 */
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lwip/init.h"
#include "lwip/ip4_addr.h"
#include "lwip/sys.h"
#include "lwip/timeouts.h"

#include "fragnet/confine.h"
#include "fragnet/env.h"
#include "fragnet/config.h"
#include "fragnet/log.h"
#include "fragnet/names.h"
#include "fragnet/stats.h"
#include "fragnet/stream.h"
#include "fragnet/trace.h"
#include "fragnet/vswitch.h"

#include "sock_serv.h"
#include "stack.h"

#define PROG			FN_STACK_PROG
#define WAIT_MAX_MS		100
#define CONTROL_PERIOD_MS	10
#define CONTROL_POLL_MAX	8	/* control clients in the loop's poll */
#define EXIT_USAGE		2

const char *const stk_ctr_names[STK_CTR_COUNT] = {
	[STK_RX_FRAMES] = "rx_frames",
	[STK_TX_FRAMES] = "tx_frames",
	[STK_RX_BYTES] = "rx_bytes",
	[STK_TX_BYTES] = "tx_bytes",
	[STK_DROP_RUNT] = "drop_runt",
	[STK_DROP_TOO_BIG] = "drop_too_big",
	[STK_DROP_NO_PBUF] = "drop_no_pbuf",
	[STK_DROP_OTHER_MAC] = "drop_other_mac",
	[STK_DROP_NO_SLOT] = "drop_no_slot",
	[STK_DROP_LINK_DOWN] = "drop_link_down",
	[STK_DROP_TX_TOO_BIG] = "drop_tx_too_big",
	[STK_LINK_RESETS] = "link_resets",
	[STK_LINK_BROKEN] = "link_broken",
	[STK_ARP_REQUESTS_RX] = "arp_requests_rx",
	[STK_ARP_REPLIES_RX] = "arp_replies_rx",
	[STK_ARP_REQUESTS_TX] = "arp_requests_tx",
	[STK_ARP_REPLIES_TX] = "arp_replies_tx",
	[STK_ICMP_ECHO_RX] = "icmp_echo_rx",
	[STK_ICMP_ECHO_REPLIES_TX] = "icmp_echo_replies_tx",
	[STK_CONTROL_ACCEPTED] = "control_accepted",
	[STK_CONTROL_REFUSED] = "control_refused",
	[STK_CONTROL_ERRORS] = "control_errors",
	[STK_CONTROL_REQUESTS] = "control_requests",
	[STK_FILTER_DROP_RX] = "filter_drop_rx",
	[STK_FILTER_REASSEMBLED] = "filter_reassembled",
	[STK_FILTER_DROP_TX] = "filter_drop_tx",
	[STK_FILTER_REJECTS] = "filter_rejects",
	[STK_FILTER_JUDGED_RX] = "filter_judged_rx",
	[STK_FILTER_KEPT_RX] = "filter_kept_rx",
	[STK_FILTER_KEPT_TX] = "filter_kept_tx",
	[STK_LOOPS] = "loops",
};

const char *const stk_if_ctr_names[STK_IF_CTR_COUNT] = {
	[STK_IF_RX_FRAMES] = "rx_frames",
	[STK_IF_TX_FRAMES] = "tx_frames",
	[STK_IF_DROP_LINK_DOWN] = "drop_link_down",
	[STK_IF_LINK_RESETS] = "link_resets",
	[STK_IF_LINK_BROKEN] = "link_broken",
};

/* What the stack takes from the topology file. */
struct stk_conf {
	struct fn_stack_conf stack;
	uint8_t mac[6];
	char app_user[32];		/* [app] user, "" = root */
};

static volatile sig_atomic_t stopping;

/* The app's socket channel, if the supervisor gave us one. */
static struct sock_serv sserv;
static bool sserv_on;

#define SOCK_SPARE_IDS	1024	/* socket ids beyond max_tcp: UDP, listeners,
				 * connections their peers closed */
#define CHAN_WAIT_MAX_NS	1000000	/* no bells: poll the channel each ms */

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " [--trace DIR | --help | --version]\n"
"\n"
"One pipeline's TCP/IP stack: lwIP 2.1.3, profile \"%s\" (%s),\n"
"on the packet link to its driver and on internal networks.  Run by the\n"
"supervisor (fragnet up), which passes everything in the environment:\n"
"\n"
"  " FN_ENV_CONFIG "         topology file ([stack] profile must be \"%s\")\n"
"  " FN_ENV_LINK_FD "        packet link fd to the driver, side B: the\n"
"                         uplink " STK_IFNAME "\n"
"  " FN_ENV_STACK_NETS_FD " attachment table: internal networks (one of\n"
"                         the two is required)\n"
"  " FN_ENV_CONTROL_FD "     listening control socket fd (optional)\n"
"  " FN_ENV_SOCKCHAN_FD "    the app's socket channel fd, side B (optional)\n"
"  " FN_ENV_STACK_BELL_FD "  this stack's doorbell (eventfd), rung by the\n"
"                         driver and the app; with a socket channel the\n"
"                         idle stack waits on it in poll() (optional)\n"
"  " FN_ENV_APP_BELL_FD "    the app's doorbell, rung by this stack (optional)\n"
"  " FN_ENV_STATS_FD "       stats page fd (optional: counters stay private)\n"
"  " FN_ENV_POLL "           busy | adaptive | event (default adaptive)\n"
"  " FN_ENV_PIPELINE ", " FN_ENV_LOG_LEVEL "\n"
"\n"
"--trace DIR: record every frame's link, filter, delivery and send times\n"
"in DIR/stack-PIPELINE.trace (include/fragnet/trace.h; in a topology:\n"
"[stack] args = --trace DIR).  Off by default.\n"
"\n"
"SIGTERM stops it (exit 0).  Exit 1: runtime error; 2: bad usage or config.\n",
		FN_STACK_PROFILE,
		LWIP_TCP ? "IPv4, ARP, ICMP, TCP, UDP" : "IPv4, ARP, ICMP, UDP",
		FN_STACK_PROFILE);
}

/* 0: run; 1: done, exit 0; -1: bad usage.  *trace: --trace DIR or NULL. */
static int parse_args(int argc, char **argv, const char **trace)
{
	*trace = NULL;
	if (argc == 1)
		return 0;
	if (argc == 3 && !strcmp(argv[1], "--trace") && argv[2][0]) {
		*trace = argv[2];
		return 0;
	}
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 1;
	}
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf(PROG " (fragnet) profile %s, lwIP %s\n", FN_STACK_PROFILE,
		       LWIP_VERSION_STRING);
		return 1;
	}
	usage(stderr);
	return -1;
}

/* The app's user and group, as the supervisor resolves them when it
 * spawns the app (its user's primary group): every socket of this stack
 * is the app's (meta skuid, skgid).  An unknown user leaves them unset. */
static void app_owner(const char *user)
{
	struct passwd *pw;

	if (!*user) {
		stk_filter_set_owner(0, 0);
		return;
	}
	pw = getpwnam(user);
	if (!pw) {
		fn_warn("[app] user '%s' unknown: meta skuid/skgid never match",
			user);
		return;
	}
	stk_filter_set_owner(pw->pw_uid, pw->pw_gid);
}

/* Read the topology; refuse one made for the other profile. */
static int config_read(struct stk_conf *out, int pipeline)
{
	const char *path = getenv(FN_ENV_CONFIG);
	char err[FN_CONFIG_ERR_MAX];
	struct fn_config *cfg;
	int r;

	if (!path || !*path) {
		fn_err("%s is not set: run me with `fragnet up` (see --help)",
		       FN_ENV_CONFIG);
		return -EINVAL;
	}
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return -ENOMEM;
	r = fn_config_load(cfg, path, err);
	if (r < 0) {
		fn_err("%s", err);
	} else if (strcmp(cfg->stack.profile, FN_STACK_PROFILE) != 0) {
		fn_err("%s: [stack] profile is \"%s\", but this is " PROG
		       ", built for profile \"%s\": set [stack] exec to "
		       "fragnet-stack%s%s", path, cfg->stack.profile,
		       FN_STACK_PROFILE,
		       strcmp(cfg->stack.profile, "full") ? "-" : "",
		       strcmp(cfg->stack.profile, "full") ? cfg->stack.profile : "");
		r = -EINVAL;
	} else {
		/* Our pipeline's uplink, per [stack] addressing. */
		out->stack = cfg->stack;
		fn_config_uplink(cfg, pipeline, &out->stack.address, out->mac);
		memcpy(out->app_user, cfg->app.user, sizeof(out->app_user));
	}
	free(cfg);
	return r;
}

/* A netif's counters: "if.<name>.*", and its link's, "link.{tx,rx}.*"
 * for the uplink (as before there were networks), else
 * "if.<name>.link.{tx,rx}.*".  A full page keeps them private. */
static void if_counters(struct stk_if *ifc, struct fn_stats_page *page)
{
	char pfx[3][FN_STATS_NAME_MAX];
	_Atomic uint64_t *c;
	bool up = ifc == ifc->stack->uplink;

	/* ifc->name has at most 15 characters: every prefix fits. */
	snprintf(pfx[0], sizeof(pfx[0]), "if.%.15s", ifc->name);
	snprintf(pfx[1], sizeof(pfx[1]), up ? "link.tx" : "if.%.15s.link.tx",
		 ifc->name);
	snprintf(pfx[2], sizeof(pfx[2]), up ? "link.rx" : "if.%.15s.link.rx",
		 ifc->name);
	c = page ? fn_stats_block(page, pfx[0], stk_if_ctr_names,
				  STK_IF_CTR_COUNT) : NULL;
	ifc->ctr = c ? c : ifc->own_ctr;
	fn_stream_bind_counters(&ifc->link.tx, page ? fn_stats_block(page,
				pfx[1], fn_stream_ctr_names, FN_SC_COUNT) :
				NULL);
	fn_stream_bind_counters(&ifc->link.rx, page ? fn_stats_block(page,
				pfx[2], fn_stream_ctr_names, FN_SC_COUNT) :
				NULL);
}

/* Our block and every netif's counters on the stats page (or private). */
static int counters_init(struct stack *s, struct fn_stats_page *page)
{
	s->ctr = fn_stats_block(page, "stack", stk_ctr_names, STK_CTR_COUNT);
	if (!s->ctr)
		return -ENOSPC;
	for (unsigned i = 0; i < s->nifs; i++)
		if_counters(&s->ifs[i], page);
	return 0;
}

static struct fn_stats_page *stats_page_attach(void)
{
	int fd = fn_env_fd(FN_ENV_STATS_FD);
	struct fn_stats_page *page;

	if (fd < 0) {
		fn_warn("no stats page (%s): counters stay private",
			FN_ENV_STATS_FD);
		return NULL;
	}
	page = fn_stats_attach(fd);
	if (!page)
		fn_warn("cannot attach stats fd %d: %s", fd, strerror(errno));
	close(fd);
	return page;
}

/* ---- the loop ------------------------------------------------------------ */

static void nap_ns(int64_t ns)
{
	struct timespec ts = { ns / 1000000000, ns % 1000000000 };

	nanosleep(&ts, NULL);	/* SIGTERM cuts it short */
}

/* Until lwIP's next timer, at most WAIT_MAX_MS. */
static int64_t wait_budget_ns(void)
{
	u32_t ms = sys_timeouts_sleeptime();

	return (int64_t)(ms < WAIT_MAX_MS ? ms : WAIT_MAX_MS) * 1000000;
}

/* Step 1: one burst from each link.  Frames handed to lwIP. */
static int links_rx(struct stack *s)
{
	int n = 0;

	for (unsigned i = 0; i < s->nifs; i++) {
		int r = stk_link_rx(&s->ifs[i]);

		if (r < 0)
			stk_link_error(&s->ifs[i], r);
		else
			n += r;
	}
	return n;
}

/* Step 3: what lwIP sent, one burst per link. */
static void links_flush(struct stack *s)
{
	for (unsigned i = 0; i < s->nifs; i++) {
		int r = stk_link_flush(&s->ifs[i]);

		if (r < 0)
			stk_link_error(&s->ifs[i], r);
	}
}

/* Arm every live link's receive ring (ring.h DOORBELLS).  True when all
 * are armed, false when one has frames, or a reset to follow, already. */
static bool links_arm(struct stack *s)
{
	for (unsigned i = 0; i < s->nifs; i++) {
		struct stk_if *ifc = &s->ifs[i];
		int r = ifc->broken ? 1 : fn_stream_arm(&ifc->link.rx);

		if (r < 0)
			stk_link_error(ifc, r);
		if (r != 1)
			return false;
	}
	return true;
}

static void links_disarm(struct stack *s)
{
	for (unsigned i = 0; i < s->nifs; i++)
		if (!s->ifs[i].broken)
			fn_stream_disarm(&s->ifs[i].link.rx);
}

/* A cut-off link looks for the reset that brings it back.  True while a
 * link is still cut off. */
static bool links_follow(struct stack *s)
{
	bool cut = false;

	for (unsigned i = 0; i < s->nifs; i++) {
		struct stk_if *ifc = &s->ifs[i];

		if (!ifc->broken)
			continue;
		fn_link_peer_ready(&ifc->link);	/* follows a new epoch */
		if (ifc->link.epoch != ifc->reset_epoch)
			stk_link_error(ifc, -ECONNRESET);
		cut |= ifc->broken;
	}
	return cut;
}

/* Block on the stack's doorbell (names.h) and the control socket: the
 * driver and the switch ring the bell for frames, the app for requests
 * and acks.  Arm every ring first (ring.h DOORBELLS); one that has work
 * already means: do not block. */
static void bell_wait(struct stack *s, int ctl_fd, int64_t budget_ns)
{
	struct pollfd pfd[2 + CONTROL_POLL_MAX] = {
		{ .fd = s->bell_fd, .events = POLLIN },
		{ .fd = ctl_fd, .events = POLLIN },	/* -1: ignored */
	};
	bool armed = links_arm(s);
	int a = sserv_on ? ss_arm(&sserv) : 1;
	int n = 2 + stk_control_pollfds(&pfd[2], CONTROL_POLL_MAX);
	bool ctl = false;
	uint64_t v;

	if (armed && a == 1 &&
	    poll(pfd, (nfds_t)n, (int)(budget_ns / 1000000)) > 0) {
		if ((pfd[0].revents & POLLIN) &&
		    read(pfd[0].fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			fn_warn("stack bell: %s", strerror(errno));
		for (int i = 1; i < n; i++)
			ctl |= pfd[i].revents != 0;
		if (ctl)
			stk_control_poll(s, ctl_fd);
	}
	links_disarm(s);
	if (sserv_on)
		ss_disarm(&sserv);
}

/* Does the stack wait on its bell?  With a channel or a network: the app
 * and the switch ring it.  A stack with only a driver (a test component,
 * say, that rings nothing) waits on its uplink's futex. */
static bool bell_waits(const struct stack *s)
{
	return s->bell_fd >= 0 && (sserv_on || s->nifs > (s->uplink ? 1u : 0u));
}

/* Nothing came in: wait for a frame or the next timer.  A cut-off link
 * is looked at every CHAN_WAIT_MAX_NS for the reset that brings it back. */
static void loop_idle(struct stack *s, int ctl_fd)
{
	int64_t budget = wait_budget_ns();
	bool cut = links_follow(s);
	int r = 0;

	if (cut && budget > CHAN_WAIT_MAX_NS)
		budget = CHAN_WAIT_MAX_NS;
	if (bell_waits(s) && s->ifs[0].link.rx.poll == FN_POLL_BUSY) {
		sched_yield();	/* busy: spin on every ring, never block */
	} else if (bell_waits(s)) {
		bell_wait(s, ctl_fd, budget);
	} else if (!s->uplink || s->uplink->broken) {
		nap_ns(sserv_on && budget > CHAN_WAIT_MAX_NS ? CHAN_WAIT_MAX_NS
							     : budget);
	} else {
		/* no bells (older topologies, tests): the futex of the link,
		 * polling the channel, if any, every CHAN_WAIT_MAX_NS */
		if (sserv_on && budget > CHAN_WAIT_MAX_NS)
			budget = CHAN_WAIT_MAX_NS;
		r = fn_stream_wait(&s->uplink->link.rx, budget);
	}
	if (r < 0)
		stk_link_error(s->uplink, r);
}

static void loop_run(struct stack *s, int ctl_fd)
{
	u32_t next_ctl = sys_now();

	while (!stopping) {
		int n;

		stk_filter_turn();
		n = links_rx(s);

		stk_count(s, STK_LOOPS, 1);
		if (sserv_on)
			n += ss_poll(&sserv);
		sys_check_timeouts();
		links_flush(s);
		if ((int32_t)(sys_now() - next_ctl) >= 0 ||
		    stk_control_busy()) {
			stk_control_poll(s, ctl_fd);
			next_ctl = sys_now() + CONTROL_PERIOD_MS;
		}
		if (stk_control_busy())
			n = n > 0 ? n : 1;	/* more of a batch: no sleep */
		if (n == 0 && !stopping)
			loop_idle(s, ctl_fd);
	}
}

/* ---- setup --------------------------------------------------------------- */

/* The next netif's link, side B: fd is not kept (its mapping is). */
static int if_attach(struct stack *s, int fd, const char *name,
		     unsigned index, enum fn_poll poll)
{
	struct stk_if *ifc = &s->ifs[s->nifs];
	int err = fn_link_attach(&ifc->link, fd, FN_LINK_B, poll);

	close(fd);
	if (err < 0) {
		fn_err("%s: cannot attach its link (fd %d): %s", name, fd,
		       strerror(-err));
		return err;
	}
	ifc->stack = s;
	snprintf(ifc->name, sizeof(ifc->name), "%s", name);
	ifc->index = index;
	ifc->ctr = ifc->own_ctr;
	ifc->reset_epoch = ifc->link.epoch;
	s->nifs++;
	return 0;
}

/* The uplink, on the link to the driver, if there is one.  With the
 * driver's doorbell (names.h) our submits ring it while the driver sleeps
 * in its epoll (it has no timer then: docs/driver.md, "Poll modes"). */
static int link_open(struct stack *s, const struct stk_conf *c,
		     enum fn_poll poll)
{
	int fd = fn_env_fd(FN_ENV_LINK_FD), err;
	int bell = fn_env_fd(FN_ENV_DRIVER_BELL_FD);

	if (fd == -ENOENT)
		return 0;	/* no driver: internal networks only */
	if (fd < 0) {
		fn_err("%s is malformed", FN_ENV_LINK_FD);
		return -EINVAL;
	}
	if (!c->stack.address.addr) {
		fn_err("[stack] address is not set: the uplink needs it");
		close(fd);
		return -EINVAL;
	}
	err = if_attach(s, fd, STK_IFNAME, STK_IFINDEX, poll);
	if (err < 0)
		return err;
	s->uplink = &s->ifs[0];
	memcpy(s->uplink->mac, c->mac, sizeof(c->mac));
	if (bell >= 0)
		fn_link_set_bell(&s->uplink->link, bell);
	return 0;
}

/* Our attachments to internal networks (vswitch.h, THE STACKS' SIDE): a
 * netif each, whose link rings its port's bell. */
static int nets_open(struct stack *s, enum fn_poll poll,
		     struct fn_vsw_attach *t)
{
	int fd = fn_env_fd(FN_ENV_STACK_NETS_FD), err;
	const char *why = NULL;

	t->nnets = 0;
	if (fd == -ENOENT)
		return 0;
	if (fd < 0) {
		fn_err("%s is malformed", FN_ENV_STACK_NETS_FD);
		return -EINVAL;
	}
	err = fn_vsw_attach_read(fd, t, &why);
	close(fd);
	if (err < 0) {
		fn_err("attachment table: %s", why ? why : strerror(-err));
		return -EINVAL;
	}
	for (unsigned j = 0; j < t->nnets; j++) {
		const struct fn_vsw_attach_ent *e = &t->net[j];
		struct stk_if *ifc = &s->ifs[s->nifs];

		err = if_attach(s, e->link_fd, e->name, e->ifindex, poll);
		if (err < 0)
			return err;
		memcpy(ifc->mac, e->mac, sizeof(ifc->mac));
		fn_link_set_bell(&ifc->link, e->bell_fd);
	}
	return 0;
}

/* A netif each, with its addresses; the uplink is the default route, else
 * the first network. */
static int ifs_add(struct stack *s, const struct stk_conf *c,
		   const struct fn_vsw_attach *t)
{
	unsigned first = s->uplink ? 1 : 0;
	int err = 0;

	if (s->uplink)
		err = stk_if_add(s->uplink, c->stack.address.addr,
				 c->stack.address.prefix, c->stack.gateway);
	for (unsigned j = 0; !err && j < t->nnets; j++)
		err = stk_if_add(&s->ifs[first + j], t->net[j].ipv4,
				 t->net[j].prefix, 0);
	if (err < 0) {
		fn_err("link slots of %u bytes cannot carry a %u-byte IPv4 MTU",
		       s->ifs[0].link.tx.slot_size, STK_MTU_MIN);
		return err;
	}
	netif_set_default(&s->ifs[0].netif);
	return 0;
}

static void links_detach(struct stack *s)
{
	for (unsigned i = 0; i < s->nifs; i++)
		fn_link_detach(&s->ifs[i].link);
	s->nifs = 0;
}

static int control_open(void)
{
	int fd = fn_env_fd(FN_ENV_CONTROL_FD), err;

	if (fd == -ENOENT)
		return -1;	/* none given: nothing to serve */
	if (fd < 0) {
		fn_err("%s is malformed", FN_ENV_CONTROL_FD);
		return -EINVAL;
	}
	err = stk_control_init(fd);
	if (err < 0) {
		fn_err("control socket fd %d: %s", fd, strerror(-err));
		close(fd);
		return err;
	}
	return fd;
}

/* The socket channel and the bells, if given (names.h).  0 or -errno. */
static int sockchan_open(struct stack *s, const struct stk_conf *c,
			 struct fn_stats_page *page)
{
	int fd = fn_env_fd(FN_ENV_SOCKCHAN_FD), err;
	int app = fn_env_fd(FN_ENV_APP_BELL_FD);
	uint32_t max_tcp = LWIP_TCP ? c->stack.max_tcp : 0;

	if (fd == -ENOENT)
		return 0;	/* no app: nothing to serve */
	if (fd < 0) {
		fn_err("%s is malformed", FN_ENV_SOCKCHAN_FD);
		return -EINVAL;
	}
	err = ss_open(&sserv, fd, app < 0 ? -1 : app, s->bell_fd,
		      max_tcp, max_tcp + SOCK_SPARE_IDS);
	close(fd);
	if (err < 0) {
		fn_err("cannot attach the socket channel (fd %d): %s", fd,
		       strerror(-err));
		return err;
	}
	ss_bind_counters(&sserv, fn_stats_block(page, "sock", ss_ctr_names,
						SS_CTR_COUNT));
	sserv_on = true;
	return 0;
}

static void log_if(const struct stk_if *ifc)
{
	const struct netif *n = &ifc->netif;
	char ip[16], mask[16], gw[16];
	const uint8_t *m = ifc->mac;

	ip4addr_ntoa_r(netif_ip4_addr(n), ip, sizeof(ip));
	ip4addr_ntoa_r(netif_ip4_netmask(n), mask, sizeof(mask));
	ip4addr_ntoa_r(netif_ip4_gw(n), gw, sizeof(gw));
	fn_info("netif %s (ifindex %u): %s mask %s gw %s, mac "
		"%02x:%02x:%02x:%02x:%02x:%02x, mtu %u", ifc->name, ifc->index,
		ip, mask, ip4_addr_isany_val(*netif_ip4_gw(n)) ? "none" : gw,
		m[0], m[1], m[2], m[3], m[4], m[5], n->mtu);
}

static void log_start(const struct stack *s, const struct stk_conf *c,
		      enum fn_poll poll)
{
	for (unsigned i = 0; i < s->nifs; i++)
		log_if(&s->ifs[i]);
	fn_info("running: profile %s, %u netif%s, poll %s, max_tcp %u",
		FN_STACK_PROFILE, s->nifs, s->nifs == 1 ? "" : "s",
		fn_poll_name(poll), LWIP_TCP ? c->stack.max_tcp : 0);
}

/* The links: the uplink, the networks'; at least one. */
static int links_open(struct stack *s, const struct stk_conf *c,
		      enum fn_poll poll, struct fn_vsw_attach *t)
{
	int err = link_open(s, c, poll);

	if (!err)
		err = nets_open(s, poll, t);
	if (!err && s->nifs == 0) {
		fn_err("no link: a stack needs %s (its driver) or %s (internal "
		       "networks)", FN_ENV_LINK_FD, FN_ENV_STACK_NETS_FD);
		err = -EINVAL;
	}
	return err;
}

static int stack_setup(struct stack *s, struct stk_conf *c, int *ctl_fd)
{
	enum fn_poll poll = fn_env_poll(FN_POLL_ADAPTIVE);
	static struct fn_vsw_attach t;
	struct fn_stats_page *page;
	int bell = fn_env_fd(FN_ENV_STACK_BELL_FD);
	int err;

	s->bell_fd = bell < 0 ? -1 : bell;
	err = links_open(s, c, poll, &t);
	if (err < 0)
		goto err_detach;
	page = stats_page_attach();
	err = counters_init(s, page);
	if (err < 0) {
		fn_err("stats page full: %s", strerror(-err));
		goto err_detach;
	}
	err = sockchan_open(s, c, page);
	if (err < 0)
		goto err_detach;
	err = ifs_add(s, c, &t);
	if (err < 0)
		goto err_detach;
	stk_cap_open(s);	/* maps its region: before any confinement */
	*ctl_fd = control_open();
	if (*ctl_fd < -1) {
		err = *ctl_fd;
		goto err_detach;
	}
	log_start(s, c, poll);
	return 0;

err_detach:
	links_detach(s);
	return err;
}

static void signals_init(void)
{
	struct sigaction sa = { .sa_handler = on_term };

	/* No SA_RESTART: a futex wait or nap returns, the loop sees stopping. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
	static struct stack s;
	const char *pl = getenv(FN_ENV_PIPELINE), *trace;
	int r, ctl_fd = -1, pipeline = pl && *pl != '-' ? atoi(pl) : -1;
	struct stk_conf conf;

	fn_log_init("stack", pipeline, FN_LOG_DEFAULT);
#ifdef FN_STACK_DRILL
	if (argc >= 3 && !strcmp(argv[1], "--drill")) {
		if (stk_drill_prepare(argv[2]) < 0)
			return 1;
		argv[2] = argv[0];
		argc -= 2;
		argv += 2;
	}
#endif
	r = parse_args(argc, argv, &trace);
	if (r != 0)
		return r > 0 ? 0 : EXIT_USAGE;
	if (trace && (r = fn_trace_open(trace, "stack", pipeline)) < 0) {
		fn_err("--trace %s: %s", trace, strerror(-r));
		return 1;
	}
	signals_init();
	if (config_read(&conf, pipeline) < 0)
		return EXIT_USAGE;
	app_owner(conf.app_user);
	stk_port_init();
	lwip_init();
	r = stack_setup(&s, &conf, &ctl_fd);
	if (r < 0)
		return r == -EINVAL ? EXIT_USAGE : 1;
	/* every socket id may hold a TCP PCB (sock_serv.c MAX_TCP) */
	if (stk_confine(LWIP_TCP ? conf.stack.max_tcp + SOCK_SPARE_IDS : 0) < 0)
		return FN_CONFINE_EXIT;
#ifdef FN_STACK_DRILL
	stk_drill_run();
#endif
	loop_run(&s, ctl_fd);
	fn_info("stopping: rx %llu frames, tx %llu frames, %llu link resets",
		(unsigned long long)fn_ctr_get(&s.ctr[STK_RX_FRAMES]),
		(unsigned long long)fn_ctr_get(&s.ctr[STK_TX_FRAMES]),
		(unsigned long long)fn_ctr_get(&s.ctr[STK_LINK_RESETS]));
	if (ctl_fd >= 0) {
		stk_control_fini();
		close(ctl_fd);
	}
	if (sserv_on)
		ss_close(&sserv);
	links_detach(&s);
	fn_trace_close();
	return 0;
}
