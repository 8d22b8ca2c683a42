/*
 * capture.c - `fragnet capture`: a stack's or a vswitch's frames to
 * pcapng.
 *
 *   fragnet capture [-T TOPOLOGY] PIPELINE|stack/PIPELINE|vswitch/NET
 *                   [--network NET] [--point P[,P...]] [-c COUNT]
 *                   [-w FILE|-] [--timeout S] [-s SNAPLEN] [--ring N]
 *
 * Gets stack PIPELINE's capture region, or network NET's switch's, from
 * the supervisor (ctl.h "capture", "capture-vsw"), claims it, switches
 * the chosen points on and copies each record, once checked
 * (fragnet/capture.h TRUST), into an Enhanced Packet Block (pcapng.c)
 * with a comment naming its point (for a filter drop the hook and the
 * rule's handle, for a switch's drop its cause and port).  A switch's
 * ports are one pcapng interface each.  Stops after COUNT packets, at the
 * timeout, on SIGINT or SIGTERM, or when its reader goes away; switches
 * capture off on the way out.  Prints a summary on stderr, as tcpdump
 * does.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fragnet/clock.h"
#include "fragnet/ctl.h"
#include "fragnet/vswitch.h"
#include "pcapng.h"
#include "sup.h"

#define CAP_IDLE_NS	2000000		/* sleep when the ring is empty */
#define CAP_LIVE_NS	1000000000	/* how often an idle capture checks
					 * that its topology still runs */

static volatile sig_atomic_t cap_stop_sig;

static const char *const point_names[FN_CAP_NPOINTS] = {
	[FN_CAP_RX] = "rx",
	[FN_CAP_TX] = "tx",
	[FN_CAP_FILTER_DROP] = "filter-drop",
	[FN_CAP_SWITCH_DROP] = "drop",
};

/* enum fn_nft_hook, as capture.h's record carries it */
static const char *const hook_names[] = {
	"ingress", "prerouting", "input", "output", "postrouting",
};

struct cap_opts {
	const char *topology, *file;
	const char *network;		/* a switch's; NULL: a stack's */
	unsigned pipeline;
	char label[40];			/* "stack 0", "vswitch/NET" */
	bool all;			/* -p all: the target's points */
	uint32_t points, window, snaplen;
	uint64_t count;
	double timeout;
};

struct cap_run {
	struct fn_cap cap;
	FILE *out;
	int32_t ifid[FN_CAP_IFS];	/* pcapng interface of ifindex - 1 */
	uint32_t nidb;
	uint64_t written, bad, lost;
	uint8_t *buf;
	char run_dir[PATH_MAX];
	bool topology_gone;
};

static void on_stop(int sig)
{
	cap_stop_sig = sig;
}

void capture_help(void)
{
	printf("\n  PIPELINE           the stack whose frames to capture "
	       "(or stack/PIPELINE)\n"
	       "  vswitch/NET        the switch of network NET: its ports' "
	       "frames, its drops\n"
	       "  -n, --network NET  the same as vswitch/NET\n"
	       "  -T, --topology T   the topology (name or config file); may "
	       "be omitted\n                     when exactly one runs\n"
	       "  -p, --point P      a stack's: rx, tx, filter-drop; a "
	       "switch's: rx, tx, drop;\n                     or all; a comma "
	       "list or repeated (default: all)\n"
	       "  -c, --count N      stop after N packets\n"
	       "  -w, --write FILE   write pcapng to FILE; - is standard output"
	       "\n                     (default: -, unless it is a terminal)\n"
	       "  -t, --timeout S    stop after S seconds\n"
	       "  -s, --snaplen N    bytes of each frame to keep (default: "
	       "all, up to %u)\n"
	       "  --ring N           let the stack or switch fill at most N "
	       "slots of its ring\n                     (1..%u; default all): "
	       "a small ring drops sooner\n\n"
	       "  One capture per stack or switch at a time.  Each packet "
	       "carries a comment:\n  its point; for a filter drop the hook "
	       "and \"rule handle N\" (0: the chain's\n  policy); for a "
	       "switch's drop \"drop CAUSE port K\" (src_mac, src_ip,\n"
	       "  arp_spoof, vlan, ethertype, malformed, runt, local, no_slot, "
	       "too_big,\n  link_down).  A switch's ports are one interface "
	       "each, named\n  vswitch/NET:portK:stack/P.  Neither a stack "
	       "nor a switch waits for the\n  capture: a full ring drops "
	       "copies and counts them (the summary on stderr).\n",
	       FN_CAP_SLOT_SIZE - (unsigned)sizeof(struct fn_cap_rec),
	       FN_CAP_SLOTS);
}

static int usage(void)
{
	cmd_usage("capture");
	return EXIT_USAGE;
}

static int parse_points(const char *arg, uint32_t *mask, bool *all)
{
	char buf[64], *save = NULL, *t;

	snprintf(buf, sizeof(buf), "%s", arg);
	for (t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		unsigned i;

		if (strcmp(t, "all") == 0) {
			*all = true;
			continue;
		}
		for (i = 0; i < FN_CAP_NPOINTS; i++)
			if (strcmp(t, point_names[i]) == 0)
				break;
		if (i == FN_CAP_NPOINTS) {
			fprintf(stderr, "fragnet capture: unknown point '%s' "
				"(rx, tx, filter-drop, drop, all)\n", t);
			return -1;
		}
		*mask |= 1u << i;
	}
	return 0;
}

static int parse_uint(const char *s, unsigned long long max,
		      unsigned long long *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end || end == s || *v > max ? -1 : 0;
}

static int parse_opt(struct cap_opts *o, int opt)
{
	unsigned long long v;
	char *end;

	switch (opt) {
	case 'T':
		o->topology = optarg;
		return 0;
	case 'p':
		return parse_points(optarg, &o->points, &o->all);
	case 'n':
		o->network = optarg;
		return 0;
	case 'c':
		if (parse_uint(optarg, UINT64_MAX, &v) < 0 || v == 0)
			break;
		o->count = v;
		return 0;
	case 'w':
		o->file = optarg;
		return 0;
	case 't':
		o->timeout = strtod(optarg, &end);
		if (*end || end == optarg || !(o->timeout > 0))
			break;
		return 0;
	case 's':
		if (parse_uint(optarg, 65535, &v) < 0)
			break;
		o->snaplen = (uint32_t)v;
		return 0;
	case 'r':
		if (parse_uint(optarg, FN_CAP_SLOTS, &v) < 0 || v == 0)
			break;
		o->window = (uint32_t)v;
		return 0;
	default:
		return -1;
	}
	fprintf(stderr, "fragnet capture: bad value '%s'\n", optarg);
	return -1;
}

/* PIPELINE, stack/PIPELINE or vswitch/NET (arg), or --network NET. */
static int parse_target(struct cap_opts *o, const char *arg)
{
	static const char vsw[] = FN_VSW_COMPONENT "/", stk[] = "stack/";
	unsigned long long v;

	if (arg && strncmp(arg, vsw, sizeof(vsw) - 1) == 0)
		o->network = arg + sizeof(vsw) - 1;
	if (o->network) {
		if (!*o->network || strlen(o->network) >= FN_CTL_ARG_MAX) {
			fprintf(stderr, "fragnet capture: '%s' is not a "
				"network's name\n", o->network);
			return -1;
		}
		snprintf(o->label, sizeof(o->label), FN_VSW_COMPONENT "/%s",
			 o->network);
		return 0;
	}
	if (strncmp(arg, stk, sizeof(stk) - 1) == 0)
		arg += sizeof(stk) - 1;
	if (parse_uint(arg, FN_MAX_PIPELINES - 1, &v) < 0) {
		fprintf(stderr, "fragnet capture: '%s' is not a pipeline "
			"number or vswitch/NETWORK\n", arg);
		return -1;
	}
	o->pipeline = (unsigned)v;
	snprintf(o->label, sizeof(o->label), "stack %u", o->pipeline);
	return 0;
}

/* -p: the target's own points; all (or none given) is every one. */
static int check_points(struct cap_opts *o)
{
	uint32_t have = o->network ? FN_CAP_VSW_POINTS : FN_CAP_STACK_POINTS;

	for (unsigned i = 0; i < FN_CAP_NPOINTS; i++)
		if (o->points >> i & 1u && !(have >> i & 1u)) {
			fprintf(stderr, "fragnet capture: %s has no point "
				"'%s'\n", o->network ? "a vswitch" : "a stack",
				point_names[i]);
			return -1;
		}
	if (o->all || !o->points)
		o->points = have;
	return 0;
}

static int parse_args(int argc, char **argv, struct cap_opts *o)
{
	static const struct option longopts[] = {
		{ "topology", required_argument, NULL, 'T' },
		{ "point", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'c' },
		{ "write", required_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 't' },
		{ "snaplen", required_argument, NULL, 's' },
		{ "ring", required_argument, NULL, 'r' },
		{ "network", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((opt = getopt_long(argc, argv, "T:p:c:w:t:s:n:", longopts,
				  NULL)) != -1)
		if (parse_opt(o, opt) < 0)
			return usage();
	if (argc - optind != (o->network ? 0 : 1))
		return usage();
	if (parse_target(o, o->network ? NULL : argv[optind]) < 0 ||
	    check_points(o) < 0)
		return EXIT_USAGE;
	if (!o->file && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "fragnet capture: will not write pcapng to a "
			"terminal; give -w FILE, or -w - and a pipe\n");
		return EXIT_USAGE;
	}
	if (!o->file)
		o->file = "-";
	return EXIT_OK;
}

/* ---- records to blocks --------------------------------------------------- */

/* A switch's drop cause: its counter's name without "drop_". */
static const char *cause_name(uint16_t cause)
{
	static const char pfx[] = "drop_";
	const char *n = cause < FN_VSW_P_COUNT ? fn_vsw_port_ctr_names[cause] :
			NULL;

	if (!n || strncmp(n, pfx, sizeof(pfx) - 1) != 0)
		return "?";	/* not a drop counter: a switch's lie */
	return n + sizeof(pfx) - 1;
}

static void comment_of(const struct fn_cap_rec *r, char *buf, size_t len)
{
	if (r->point == FN_CAP_SWITCH_DROP)
		snprintf(buf, len, "drop %s port %u", cause_name(r->hook),
			 r->ifindex - 1);
	else if (r->point != FN_CAP_FILTER_DROP)
		snprintf(buf, len, "%s", point_names[r->point]);
	else if (r->rule)
		snprintf(buf, len, "filter-drop hook %s rule handle %llu",
			 r->hook < 5 ? hook_names[r->hook] : "?",
			 (unsigned long long)r->rule);
	else
		snprintf(buf, len, "filter-drop hook %s policy",
			 r->hook < 5 ? hook_names[r->hook] : "?");
}

/* The pcapng interface of the record's netif: its IDB written first. */
static int iface_of(struct cap_run *c, const struct cap_opts *o,
		    uint32_t ifindex)
{
	char name[FN_CAP_IFNAME], full[80];
	int err;

	if (c->ifid[ifindex - 1] >= 0)
		return c->ifid[ifindex - 1];
	if (!fn_cap_ifname(&c->cap, ifindex, name, sizeof(name)))
		snprintf(name, sizeof(name), "if%u", ifindex);
	if (o->network)
		snprintf(full, sizeof(full), FN_VSW_COMPONENT "/%s:port%u:%s",
			 o->network, ifindex - 1, name);
	else
		snprintf(full, sizeof(full), "stack%u:%s", o->pipeline, name);
	err = pcapng_idb(c->out, full, c->cap.payload);
	if (err < 0)
		return err;
	c->ifid[ifindex - 1] = (int32_t)c->nidb++;
	return c->ifid[ifindex - 1];
}

static int write_rec(struct cap_run *c, const struct cap_opts *o,
		     const struct fn_cap_rec *r)
{
	char comment[96];
	int id = iface_of(c, o, r->ifindex);

	if (id < 0)
		return id;
	comment_of(r, comment, sizeof(comment));
	return pcapng_epb(c->out, (uint32_t)id, r->ts_ns, c->buf, r->caplen,
			  r->origlen, comment);
}

/* ---- the loop ------------------------------------------------------------- */

static void nap(void)
{
	struct timespec ts = { 0, CAP_IDLE_NS };

	nanosleep(&ts, NULL);
}

/* Records to c->out until a stop condition.  0 or a write error. */
static int cap_loop(struct cap_run *c, const struct cap_opts *o)
{
	int64_t end = o->timeout > 0 ?
		fn_clock_ns() + (int64_t)(o->timeout * 1e9) : INT64_MAX;
	int64_t live = fn_clock_ns() + CAP_LIVE_NS;
	struct fn_cap_rec r;
	int err;

	while (!cap_stop_sig && (!o->count || c->written < o->count)) {
		int n = fn_cap_next(&c->cap, &r, c->buf, &c->lost);

		if (n == -EBADMSG || (n == 1 && !(o->points >> r.point & 1u))) {
			c->bad++;	/* a point we did not switch on */
			continue;
		}
		if (n == 0) {
			if (fflush(c->out) != 0)
				return -EIO;
			if (fn_clock_ns() >= end)
				break;
			if (fn_clock_ns() >= live) {
				live = fn_clock_ns() + CAP_LIVE_NS;
				c->topology_gone = topo_live_pid(c->run_dir) <= 0;
				if (c->topology_gone)
					break;
			}
			nap();
			continue;
		}
		err = write_rec(c, o, &r);
		if (err < 0)
			return err;
		c->written++;
	}
	return fflush(c->out) != 0 ? -EIO : 0;
}

static bool pid_alive(int32_t pid)
{
	return topo_pid_alive((pid_t)pid);
}

static int cap_open(struct cap_run *c, const struct cap_opts *o)
{
	char name[FN_NAME_MAX], cmd[FN_CTL_REQ_MAX];
	const char *why = NULL;
	int fd, ret = topo_resolve(o->topology, c->run_dir, name);

	if (ret != EXIT_OK)
		return ret;
	if (o->network)
		snprintf(cmd, sizeof(cmd), FN_CTL_CAPTURE_VSW " %s",
			 o->network);
	else
		snprintf(cmd, sizeof(cmd), FN_CTL_CAPTURE " %u", o->pipeline);
	fd = ctl_request_fd(c->run_dir, cmd, 5000);
	if (fd == -EREMOTEIO)
		return EXIT_RUNTIME;
	if (fd < 0) {
		fprintf(stderr, "fragnet capture: topology %s: %s\n", name,
			strerror(-fd));
		return EXIT_RUNTIME;
	}
	ret = fn_cap_attach(&c->cap, fd, false, &why);
	close(fd);
	if (ret < 0) {
		fprintf(stderr, "fragnet capture: the supervisor's region: "
			"%s\n", why ? why : strerror(-ret));
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

static int cap_claim(struct cap_run *c, const char *label)
{
	int32_t other = 0;

	if (fn_cap_claim(&c->cap, (int32_t)getpid(), &other, pid_alive) == 0)
		return EXIT_OK;
	fprintf(stderr, "fragnet capture: %s is being captured already, by "
		"pid %d; one capture per stack or switch at a time\n", label,
		(int)other);
	return EXIT_RUNTIME;
}

static void signals_catch(void)
{
	struct sigaction sa = { .sa_handler = on_stop };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);	/* a gone reader: EPIPE from fwrite */
}

static FILE *out_open(const char *file)
{
	FILE *f = strcmp(file, "-") == 0 ? stdout : fopen(file, "we");

	if (!f)
		fprintf(stderr, "fragnet capture: %s: %s\n", file,
			strerror(errno));
	return f;
}

static int cap_run(struct cap_run *c, const struct cap_opts *o)
{
	int err;

	errno = 0;
	fn_cap_start(&c->cap, (int32_t)getpid(), o->points, o->window,
		     o->snaplen);
	fprintf(stderr, "fragnet capture: listening on %s (", o->label);
	for (unsigned i = 0, n = 0; i < FN_CAP_NPOINTS; i++)
		if (o->points >> i & 1u)
			fprintf(stderr, "%s%s", n++ ? " " : "", point_names[i]);
	fprintf(stderr, "), %u slots\n", o->window ? o->window :
		c->cap.nslots);
	err = pcapng_shb(c->out, "fragnet capture");
	if (err == 0)
		err = cap_loop(c, o);
	fn_cap_stop(&c->cap, (int32_t)getpid());
	if (err < 0 && errno != EPIPE)
		fprintf(stderr, "fragnet capture: %s: %s\n", o->file,
			strerror(errno ? errno : -err));
	fprintf(stderr, "%llu packets captured\n%llu packets dropped by "
		"the %s's full capture ring\n", (unsigned long long)c->written,
		(unsigned long long)fn_cap_dropped(&c->cap),
		o->network ? "switch" : "stack");
	if (c->topology_gone)
		fprintf(stderr, "fragnet capture: the topology stopped\n");
	if (c->bad || c->lost)
		fprintf(stderr, "%llu malformed records skipped, %llu lost to "
			"an impossible head\n", (unsigned long long)c->bad,
			(unsigned long long)c->lost);
	return err < 0 && errno != EPIPE ? EXIT_RUNTIME : EXIT_OK;
}

int cmd_capture(int argc, char **argv)
{
	struct cap_opts o;
	struct cap_run c;
	int ret = parse_args(argc, argv, &o);

	if (ret != EXIT_OK)
		return ret;
	memset(&c, 0, sizeof(c));
	for (unsigned i = 0; i < FN_CAP_IFS; i++)
		c.ifid[i] = -1;
	ret = cap_open(&c, &o);
	if (ret != EXIT_OK)
		return ret;
	c.buf = malloc(c.cap.payload);
	c.out = c.buf ? out_open(o.file) : NULL;
	if (!c.out) {
		ret = EXIT_RUNTIME;
		goto err_detach;
	}
	signals_catch();
	ret = cap_claim(&c, o.label);
	if (ret == EXIT_OK)
		ret = cap_run(&c, &o);
	if (c.out != stdout)
		fclose(c.out);
err_detach:
	free(c.buf);
	fn_cap_detach(&c.cap);
	return ret;
}
