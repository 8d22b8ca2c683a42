/*
 * fragnet-vswitch - the learning L2 switch of one internal network
 * (contract: fragnet/vswitch.h; internals: vsw.h).
 *
 * Spawned by the supervisor.  Start-up, in this order:
 *   1. environment: log level, poll mode, the port table (read, checked,
 *      closed);
 *   2. every port: its link as side A (whatever epoch it is in), its
 *      bells; the link fds are closed once mapped; a host port's tap is
 *      checked and kept;
 *   3. the stats page: "vsw.*", "port<i>.*", "port<i>.link.{tx,rx}.*";
 *   4. the capture region (FRAGNET_CAPTURE_FD, capture.h), if any:
 *      mapped, its interfaces named after the ports;
 *   5. confinement (fragnet/confine.h), then the loop (vsw_loop.c) until
 *      SIGTERM/SIGINT;
 *   6. detach, exit 0.
 */
#include <errno.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <unistd.h>

#include "fragnet/confine.h"
#include "fragnet/env.h"
#include "fragnet/log.h"
#include "fragnet/names.h"
#include "vsw.h"

enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,		/* setup: table, links, bells */
	EXIT_USAGE = 2,
};

static volatile sig_atomic_t stopping;

static const char usage[] =
"usage: " FN_VSW_PROG " [--help]\n"
"\n"
"The learning L2 switch of one internal network: every port a packet\n"
"link to one stack, port security on every frame (include/fragnet/\n"
"vswitch.h).  It is started by the supervisor (`fragnet up`), not by\n"
"hand; it reads everything from the environment:\n"
"\n"
"  " FN_ENV_VSW_TABLE_FD "  the sealed port table (links, bells, MAC\n"
"                        and IPv4 address of every port)\n"
"  " FN_ENV_PIPELINE "      the network's index, for the log\n"
"  " FN_ENV_POLL "          busy | adaptive | event (default adaptive)\n"
"  " FN_ENV_CPU "           the cpu we are pinned to, for the log\n"
"  " FN_ENV_LOG_LEVEL "     error | warn | info | debug\n"
"  " FN_ENV_STATS_FD "      the stats page (optional)\n"
"\n"
"Exit status: 0 on SIGTERM/SIGINT, 1 setup failed, 2 usage.\n";

static void on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static void signals(void)
{
	struct sigaction sa = { .sa_handler = on_term };

	/* No SA_RESTART: epoll_wait returns, the loop sees stopping. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int table_load(struct fn_vsw_table *t)
{
	int fd = fn_env_fd(FN_ENV_VSW_TABLE_FD), err;
	const char *why = NULL;

	if (fd < 0) {
		fn_err("%s is %s: " FN_VSW_PROG " is started by the supervisor",
		       FN_ENV_VSW_TABLE_FD, fd == -ENOENT ? "not set" : "malformed");
		return -EINVAL;
	}
	err = fn_vsw_table_read(fd, t, &why);
	close(fd);
	if (err < 0)
		fn_err("port table (fd %d): %s", fd, why ? why : strerror(-err));
	return err;
}

/* A host port's fd must be what the supervisor promised: a tap without
 * packet information (one bare frame per read and write). */
static int host_attach(struct vsw *sw, int fd, const struct vsw_id *id)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		return -errno;
	if ((ifr.ifr_flags & (IFF_TAP | IFF_TUN | IFF_NO_PI)) !=
	    (IFF_TAP | IFF_NO_PI))
		return -EPROTOTYPE;
	fn_debug("host port: tap %.*s", IFNAMSIZ, ifr.ifr_name);
	return vsw_port_attach_host(sw, fd, id);
}

static int port_attach(struct vsw *sw, const struct fn_vsw_port_ent *e,
		       enum fn_poll poll)
{
	struct vsw_id id = { .ipv4 = e->ipv4 };
	int err;

	memcpy(id.mac, e->mac, sizeof(id.mac));
	if (e->flags & FN_VSW_PORT_HOST)
		return host_attach(sw, e->link_fd, &id);	/* kept open */
	err = vsw_port_attach(sw, e->link_fd, &id, e->bell_fd,
			      e->peer_bell_fd, poll);
	close(e->link_fd);	/* the mapping stays */
	return err;
}

static int ports_attach(struct vsw *sw, const struct fn_vsw_table *t,
			enum fn_poll poll)
{
	for (unsigned i = 0; i < t->nports; i++) {
		const struct fn_vsw_port_ent *e = &t->port[i];
		int err = port_attach(sw, e, poll);

		if (err < 0) {
			fn_err("port %u (%s): link fd %d, bell %d: %s", i,
			       e->name, e->link_fd, e->bell_fd, strerror(-err));
			return err;
		}
		if (vsw_port_is_host(&sw->port[i]))
			fn_debug("port %u: %s, the host's tap", i, e->name);
		else
			fn_debug("port %u: %s, link %u x %u B", i, e->name,
				 sw->port[i].link.hdr.nslots,
				 sw->port[i].link.hdr.slot_size);
	}
	return 0;
}

static void stats_bind(struct vsw *sw)
{
	struct fn_stats_page *page = fn_stats_attach_env();
	int fd = fn_env_fd(FN_ENV_STATS_FD);

	if (fd >= 0)
		close(fd);	/* the mapping stays */
	vsw_bind_counters(sw, page);
}

/* Port i's interface name in the capture: what is attached ("stack/1"),
 * or for the host port, when "host:IFNAME" does not fit, the tap's name. */
static const char *cap_name(const struct fn_vsw_port_ent *e)
{
	static const char host[] = "host:";

	if (strlen(e->name) >= FN_CAP_IFNAME &&
	    strncmp(e->name, host, sizeof(host) - 1) == 0)
		return e->name + sizeof(host) - 1;
	return e->name;
}

/* No region (started by a test or an older supervisor): capture stays
 * off.  A bad one is logged and ignored: capture is not worth a switch. */
static void cap_open(struct vsw *sw, const struct fn_vsw_table *t)
{
	const char *names[FN_VSW_MAX_PORTS], *why = NULL;
	int fd = fn_env_fd(FN_ENV_CAPTURE_FD), err;

	if (fd == -ENOENT)
		return;
	if (fd < 0) {
		fn_warn("%s is malformed: no capture", FN_ENV_CAPTURE_FD);
		return;
	}
	for (unsigned i = 0; i < t->nports; i++)
		names[i] = cap_name(&t->port[i]);
	err = vsw_cap_attach(sw, fd, names, &why);
	close(fd);	/* the mapping stays */
	if (err < 0)
		fn_warn("capture region: %s: no capture",
			why ? why : strerror(-err));
}

static uint64_t seed(void)
{
	uint64_t s = 0;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != sizeof(s))
		s = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull;
	return s;
}

static int setup(struct vsw *sw, struct fn_vsw_table *t, enum fn_poll poll)
{
	int err = table_load(t);

	if (err < 0)
		return err;
	vsw_init(sw, t->age_ms, seed());
	err = ports_attach(sw, t, poll);
	if (err < 0) {
		vsw_fini(sw);
		return err;
	}
	stats_bind(sw);
	cap_open(sw, t);
	return 0;
}

static void log_end(const struct vsw *sw)
{
	uint64_t rx = 0, tx = 0;

	for (unsigned i = 0; i < sw->nports; i++) {
		rx += fn_ctr_get(&sw->port[i].ctr[FN_VSW_P_RX_PKTS]);
		tx += fn_ctr_get(&sw->port[i].ctr[FN_VSW_P_TX_PKTS]);
	}
	fn_info("stopping: rx %llu frames, tx %llu copies",
		(unsigned long long)rx, (unsigned long long)tx);
}

/*
 * After setup, before the first frame (fragnet/confine.h): besides the
 * base list, the epoll set made on the first sleep (vsw_loop.c).  A host
 * port's tap is read and written through the fd the supervisor opened;
 * the empty network namespace does not change that.
 */
#define RULE(name)	{ SCMP_SYS(name), FN_SC_ALLOW, 0, { { 0, 0, 0 } } }

static int confine(void)
{
	static const struct fn_sc_rule rules[] = {
		RULE(epoll_create1), RULE(epoll_ctl), RULE(epoll_wait),
		RULE(epoll_pwait),
	};
	struct fn_confine_spec spec = {
		.who = "vswitch",
		.as_margin = 64u << 20,	/* its buffers are static */
		.nofile = FN_FD_VSW_PORT_BASE + 3 * FN_VSW_MAX_PORTS + 16,
		.rules = rules,
		.nrules = sizeof(rules) / sizeof(rules[0]),
	};

	return fn_confine_self(&spec);
}

int main(int argc, char **argv)
{
	static struct vsw sw;
	static struct fn_vsw_table t;
	const char *pl = getenv(FN_ENV_PIPELINE);
	enum fn_poll poll;

	fn_log_init(FN_VSW_COMPONENT, pl && *pl != '-' ? atoi(pl) : -1,
		    FN_LOG_DEFAULT);
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	if (argc > 1) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	signals();
	poll = fn_env_poll(FN_POLL_ADAPTIVE);
	if (setup(&sw, &t, poll) < 0)
		return EXIT_FAIL;
	if (confine() < 0)
		return FN_CONFINE_EXIT;
	fn_info("running: network %s, %u ports, poll %s, cpu %d, aging %u ms",
		t.network, sw.nports, fn_poll_name(poll), fn_env_cpu(),
		t.age_ms ? t.age_ms : FN_VSW_AGE_DEFAULT_MS);
	vsw_run(&sw, poll, &stopping);
	log_end(&sw);
	vsw_fini(&sw);
	return EXIT_OK;
}
