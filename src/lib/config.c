/*
 * config.c - the topology file (see fragnet/config.h for the contract and
 * config/README.md for every key).
 *
 * Call sequence:
 *   fn_config_load()          read the whole file (so that messages can
 *   fn_config_load_string()   quote it), then load_text():
 *     set_defaults()          every static default
 *     ini_parse_stream()      inih, fed by our own reader:
 *       read_line()           counts lines, rejects over-long lines and NUL
 *                             bytes, and looks at each line the way inih
 *                             will (classify_line): [section] headers are
 *                             validated here because inih never calls the
 *                             handler for a section without keys, and
 *                             syntax errors are caught here so that they
 *                             carry the section they are in
 *       on_key()              one key = value, or one continuation line
 *     finish()                defaults that depend on other keys, the
 *                             [pipeline N] overrides, whole-file checks
 *
 * The first error wins and stops the parse; on any error *cfg is zeroed.
 * Called by the supervisor (fragnet up), the unit tests and the fuzzer.
 * Not thread-safe only in the sense that cfg and err belong to the caller;
 * there is no global state.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fragnet/config.h"
#include "fragnet/log.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MAX_FILE_SIZE	(1u << 20)	/* a topology is a few hundred bytes */
#define SHOWN_MAX	48		/* characters of a bad value quoted back */

/* Sections.  NIC..VSWITCH are in enum fn_role order (role = sec -
 * SEC_NIC). */
enum sec {
	SEC_NONE = -1,		/* before the first header */
	SEC_TOPOLOGY,
	SEC_RESTART,
	SEC_LINK,
	SEC_NIC,
	SEC_DRIVER,
	SEC_STACK,
	SEC_APP,
	SEC_VSWITCH,
	SEC_CLUSTER,		/* [cluster]: Redis Cluster of the apps */
	SEC_PIPELINE,		/* [pipeline N] */
	SEC_NETWORK,		/* [network NAME] */
	SEC_ROLE,		/* key table only: any of [nic]..[vswitch] */
};

_Static_assert(SEC_DRIVER - SEC_NIC == FN_ROLE_DRIVER &&
	       SEC_APP - SEC_NIC == FN_ROLE_APP &&
	       SEC_VSWITCH - SEC_NIC == FN_ROLE_VSWITCH,
	       "role sections out of order");
_Static_assert(sizeof(unsigned) == sizeof(uint32_t), "link fields");

/* Duplicate tracking has one slot per fixed section, per pipeline and per
 * network. */
#define NET_SLOT0	(SEC_PIPELINE + FN_MAX_PIPELINES)
#define NSLOTS		(NET_SLOT0 + FN_MAX_NETWORKS)

static const char *const sec_names[] = {
	"topology", "restart", "link", "nic", "driver", "stack", "app",
	"vswitch", "cluster",
};

/* Fields of struct fn_component_conf, for the [pipeline N] resolution;
 * F_NETS: a list of networks to attach to (into load_state, resolved in
 * finish()); F_PIPE: a field of struct fn_pipeline_conf itself. */
enum field {
	F_NONE, F_EXEC, F_ARGS, F_POLL, F_SCHED, F_SLICE, F_CPU, F_RULESET,
	F_NETS, F_PIPE
};

struct load_state;
struct key_def;
typedef int parse_fn(struct load_state *st, const struct key_def *k,
		     const char *v, void *dst);

struct key_def {
	int8_t sec;		/* enum sec */
	int8_t role;		/* [pipeline N] <role>_* keys; else -1 */
	int8_t field;		/* enum field, for role keys */
	const char *name;
	parse_fn *parse;
	size_t off;		/* into the struct key_dst() picks */
	const void *aux;	/* struct range for integers */
};

struct range {
	unsigned long long min, max;
};

/* A `networks` value as written: names (and addresses) are resolved once
 * every [network NAME] is known. */
struct net_ref {
	char name[FN_IFNAME_MAX];
	uint32_t addr;		/* network order; 0: derived */
};

struct net_list {
	unsigned n;
	struct net_ref ref[FN_STACK_MAX_NETS];
};

/* An args value is checked once all its continuation lines are in. */
struct pending_args {
	char *args;		/* NULL: nothing pending */
	unsigned line;
	int sec;
	unsigned pidx;
	const struct key_def *k;
};

static parse_fn parse_name, parse_path, parse_uint, parse_placement,
	parse_poll, parse_sched, parse_log_level, parse_slots, parse_slot_size,
	parse_pmd, parse_mac, parse_ifname, parse_ip4_prefix, parse_ip4,
	parse_pci, parse_profile, parse_user, parse_bool, parse_exec, parse_args,
	parse_cpu, parse_ruleset, parse_netns, parse_networks, parse_subnet,
	parse_age, parse_addressing, parse_metrics, parse_slice;

static const struct range r_pipelines = { 1, FN_MAX_PIPELINES };
static const struct range r_backoff = { 1, 600000 };
static const struct range r_backoff_max = { 1, 3600000 };
static const struct range r_loop_limit = { 1, 1000 };
static const struct range r_loop_window = { 1, 86400 };
static const struct range r_stop = { 1, 600000 };
static const struct range r_queues = { 1, FN_MAX_PIPELINES };
static const struct range r_mbufs = { 512, 1u << 24 };
/* lwIP counts its pools in u16_t. */
static const struct range r_max_tcp = { 1, 65535 };
static const struct range r_port = { 1, 65535 };
static const struct range r_replicas = { 0, FN_MAX_PIPELINES - 1 };
static const struct range r_masters = { 1, FN_MAX_PIPELINES };
static const struct range r_cluster_timeout = { 1, 3600000 };
static const struct range r_restart_delay = { 0, 3600000 };

#define CFG(f)		offsetof(struct fn_config, f)
#define COMP(f)		offsetof(struct fn_component_conf, f)
#define NET(f)		offsetof(struct fn_network_conf, f)
#define PIPE(f)		offsetof(struct fn_pipeline_conf, f)
#define KEY(s, n, p, o, a)	{ s, -1, F_NONE, n, p, o, a }
#define ROLE_KEY(f, n, p, o)	{ SEC_ROLE, -1, f, n, p, o, NULL }
#define PIPE_KEYS(r, n) \
	{ SEC_PIPELINE, r, F_EXEC, n "_exec", parse_exec, COMP(exec), NULL }, \
	{ SEC_PIPELINE, r, F_ARGS, n "_args", parse_args, COMP(args), NULL }, \
	{ SEC_PIPELINE, r, F_POLL, n "_poll", parse_poll, COMP(poll), NULL }, \
	{ SEC_PIPELINE, r, F_SCHED, n "_sched", parse_sched, COMP(sched), \
	  NULL }, \
	{ SEC_PIPELINE, r, F_SLICE, n "_slice_us", parse_slice, \
	  COMP(slice_us), NULL }, \
	{ SEC_PIPELINE, r, F_CPU, n "_cpu", parse_cpu, COMP(cpu), NULL }

static const struct key_def keys[] = {
	KEY(SEC_TOPOLOGY, "name", parse_name, CFG(name), NULL),
	KEY(SEC_TOPOLOGY, "run_dir", parse_path, CFG(run_dir), NULL),
	KEY(SEC_TOPOLOGY, "pipelines", parse_uint, CFG(npipelines),
	    &r_pipelines),
	KEY(SEC_TOPOLOGY, "placement", parse_placement, CFG(placement), NULL),
	KEY(SEC_TOPOLOGY, "poll", parse_poll, CFG(poll), NULL),
	KEY(SEC_TOPOLOGY, "log_level", parse_log_level, CFG(log_level), NULL),
	KEY(SEC_TOPOLOGY, "metrics", parse_metrics, CFG(metrics), NULL),
	KEY(SEC_RESTART, "backoff_ms", parse_uint, CFG(restart.backoff_ms),
	    &r_backoff),
	KEY(SEC_RESTART, "backoff_max_ms", parse_uint,
	    CFG(restart.backoff_max_ms), &r_backoff_max),
	KEY(SEC_RESTART, "crash_loop_limit", parse_uint,
	    CFG(restart.crash_loop_limit), &r_loop_limit),
	KEY(SEC_RESTART, "crash_loop_window_s", parse_uint,
	    CFG(restart.crash_loop_window_s), &r_loop_window),
	KEY(SEC_RESTART, "stop_timeout_ms", parse_uint,
	    CFG(restart.stop_timeout_ms), &r_stop),
	KEY(SEC_LINK, "slots", parse_slots, CFG(link.slots), NULL),
	KEY(SEC_LINK, "slot_size", parse_slot_size, CFG(link.slot_size), NULL),
	KEY(SEC_NIC, "pmd", parse_pmd, CFG(nic.pmd), NULL),
	KEY(SEC_NIC, "queues", parse_uint, CFG(nic.queues), &r_queues),
	KEY(SEC_NIC, "mac", parse_mac, CFG(nic.mac), NULL),
	KEY(SEC_NIC, "ifname", parse_ifname, CFG(nic.ifname), NULL),
	KEY(SEC_NIC, "address", parse_ip4_prefix, CFG(nic.address), NULL),
	KEY(SEC_NIC, "pci", parse_pci, CFG(nic.pci), NULL),
	KEY(SEC_NIC, "mbufs", parse_uint, CFG(nic.mbufs), &r_mbufs),
	KEY(SEC_STACK, "profile", parse_profile, CFG(stack.profile), NULL),
	KEY(SEC_STACK, "address", parse_ip4_prefix, CFG(stack.address), NULL),
	KEY(SEC_STACK, "gateway", parse_ip4, CFG(stack.gateway), NULL),
	KEY(SEC_STACK, "max_tcp", parse_uint, CFG(stack.max_tcp), &r_max_tcp),
	KEY(SEC_STACK, "ruleset", parse_ruleset, CFG(stack.ruleset), NULL),
	KEY(SEC_STACK, "addressing", parse_addressing, CFG(stack.addressing),
	    NULL),
	KEY(SEC_STACK, "confine", parse_bool, CFG(stack.confine), NULL),
	{ SEC_STACK, -1, F_NETS, "networks", parse_networks, 0, NULL },
	KEY(SEC_APP, "user", parse_user, CFG(app.user), NULL),
	KEY(SEC_APP, "preload", parse_bool, CFG(app.preload), NULL),
	KEY(SEC_APP, "netns", parse_netns, CFG(app.netns), NULL),
	ROLE_KEY(F_EXEC, "exec", parse_exec, COMP(exec)),
	ROLE_KEY(F_ARGS, "args", parse_args, COMP(args)),
	ROLE_KEY(F_POLL, "poll", parse_poll, COMP(poll)),
	ROLE_KEY(F_SCHED, "sched", parse_sched, COMP(sched)),
	ROLE_KEY(F_SLICE, "slice_us", parse_slice, COMP(slice_us)),
	ROLE_KEY(F_CPU, "cpu", parse_cpu, COMP(cpu)),
	{ SEC_PIPELINE, -1, F_CPU, "cpu", parse_cpu, 0, NULL },
	PIPE_KEYS(FN_ROLE_DRIVER, "driver"),
	PIPE_KEYS(FN_ROLE_STACK, "stack"),
	PIPE_KEYS(FN_ROLE_APP, "app"),
	{ SEC_PIPELINE, FN_ROLE_STACK, F_RULESET, "stack_ruleset",
	  parse_ruleset, 0, NULL },
	{ SEC_PIPELINE, -1, F_NETS, "networks", parse_networks, 0, NULL },
	{ SEC_PIPELINE, -1, F_PIPE, "stack_address", parse_ip4_prefix,
	  PIPE(stack_address), NULL },
	{ SEC_PIPELINE, -1, F_PIPE, "stack_mac", parse_mac, PIPE(stack_mac),
	  NULL },
	KEY(SEC_CLUSTER, "enabled", parse_bool, CFG(cluster.enabled), NULL),
	KEY(SEC_CLUSTER, "port", parse_uint, CFG(cluster.port), &r_port),
	KEY(SEC_CLUSTER, "replicas", parse_uint, CFG(cluster.replicas),
	    &r_replicas),
	KEY(SEC_CLUSTER, "masters", parse_uint, CFG(cluster.masters),
	    &r_masters),
	KEY(SEC_CLUSTER, "timeout_ms", parse_uint, CFG(cluster.timeout_ms),
	    &r_cluster_timeout),
	KEY(SEC_CLUSTER, "restart_delay_ms", parse_uint,
	    CFG(cluster.restart_delay_ms), &r_restart_delay),
	KEY(SEC_NETWORK, "subnet", parse_subnet, NET(subnet), NULL),
	KEY(SEC_NETWORK, "host", parse_bool, NET(host), NULL),
	KEY(SEC_NETWORK, "host_ifname", parse_ifname, NET(host_ifname), NULL),
	KEY(SEC_NETWORK, "host_address", parse_ip4, NET(host_address), NULL),
	KEY(SEC_NETWORK, "age_ms", parse_age, NET(age_ms), NULL),
	KEY(SEC_NETWORK, "cpu", parse_cpu, NET(vswitch.cpu), NULL),
	KEY(SEC_NETWORK, "poll", parse_poll, NET(vswitch.poll), NULL),
};

#define NKEYS		ARRAY_SIZE(keys)

struct load_state {
	struct fn_config *cfg;
	const char *file;		/* as the caller named it */
	char *err;
	bool failed;
	int dirlen;			/* of cfg->path; -1: no directory */
	/* the reader */
	const char *pos, *end;
	unsigned lineno;
	bool cont;			/* this line continues the last key */
	/* where we are; mirrors inih's own state */
	int sec;
	unsigned pidx;
	char sec_raw[50];		/* inih's own copy, for a self-check */
	bool have_prev;			/* inih's prev_name is set */
	const struct key_def *prev;
	struct pending_args pending;
	unsigned seen[NSLOTS][NKEYS];	/* line of each key, 0 = unset */
	unsigned pipe_line[FN_MAX_PIPELINES];	/* first [pipeline N] line */
	int pipe_cpu[FN_MAX_PIPELINES];	/* [pipeline N] cpu */
	unsigned net_line[FN_MAX_NETWORKS];	/* first [network NAME] line */
	struct net_list stack_nets;	/* [stack] networks */
	struct net_list pipe_nets[FN_MAX_PIPELINES];	/* [pipeline N] */
};

/* --- messages ------------------------------------------------------------ */

/* v, shortened and made printable, for quoting back in a message. */
static const char *shown(const char *v, char buf[SHOWN_MAX + 4])
{
	size_t i;

	for (i = 0; v[i] && i < SHOWN_MAX; i++)
		buf[i] = isprint((unsigned char)v[i]) ? v[i] : '?';
	strcpy(buf + i, v[i] ? "..." : "");
	return buf;
}

static void vfail_at(struct load_state *st, unsigned line, const char *sec,
		     const char *key, const char *fmt, va_list ap)
{
	int n;

	if (st->failed)
		return;
	st->failed = true;
	if (!sec)
		n = snprintf(st->err, FN_CONFIG_ERR_MAX, "%s:%u: ",
			     st->file, line);
	else if (!key)
		n = snprintf(st->err, FN_CONFIG_ERR_MAX, "%s:%u: [%s]: ",
			     st->file, line, sec);
	else
		n = snprintf(st->err, FN_CONFIG_ERR_MAX, "%s:%u: [%s] %s: ",
			     st->file, line, sec, key);
	if (n >= 0 && n < FN_CONFIG_ERR_MAX)
		vsnprintf(st->err + n, FN_CONFIG_ERR_MAX - n, fmt, ap);
}

/* Records the first error only: "FILE:LINE: [sec] key: message". */
__attribute__((format(printf, 5, 6)))
static int fail_at(struct load_state *st, unsigned line, const char *sec,
		   const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail_at(st, line, sec, key, fmt, ap);
	va_end(ap);
	return -1;
}

/* "pipeline 2", "network internal", "stack": idx is the pipeline's or
 * the network's index. */
static const char *sec_label(const struct load_state *st, int sec,
			     unsigned idx, char buf[32])
{
	if (sec == SEC_PIPELINE)
		snprintf(buf, 32, "pipeline %u", idx);
	else if (sec == SEC_NETWORK)
		snprintf(buf, 32, "network %s", st->cfg->network[idx].name);
	else
		snprintf(buf, 32, "%s", sec >= 0 ? sec_names[sec] : "");
	return buf;
}

/* An error in the value of key k on the current line. */
__attribute__((format(printf, 3, 4)))
static int key_fail(struct load_state *st, const struct key_def *k,
		    const char *fmt, ...)
{
	char label[32];
	va_list ap;

	va_start(ap, fmt);
	vfail_at(st, st->lineno, sec_label(st, st->sec, st->pidx, label),
		 k->name, fmt, ap);
	va_end(ap);
	return -1;
}

/* --- the key table ------------------------------------------------------- */

static bool key_in(const struct key_def *k, int sec)
{
	if (k->sec == SEC_ROLE)
		return sec >= SEC_NIC && sec <= SEC_VSWITCH;
	return k->sec == sec;
}

static const struct key_def *find_key(int sec, const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (key_in(&keys[i], sec) && strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static size_t field_key(int sec, int role, enum field f)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (keys[i].sec == sec && keys[i].role == role &&
		    keys[i].field == (int8_t)f)
			break;
	return i;	/* always found: the table has every pair we ask */
}

static unsigned slot_of(int sec, unsigned idx)
{
	if (sec == SEC_NETWORK)
		return NET_SLOT0 + idx;
	return sec == SEC_PIPELINE ? SEC_PIPELINE + idx : (unsigned)sec;
}

/* Was the role field f set in section sec (a role section or pipeline)? */
static bool field_seen(const struct load_state *st, int sec, unsigned pidx,
		       int role, enum field f)
{
	int ksec = sec == SEC_PIPELINE ? SEC_PIPELINE : SEC_ROLE;

	return st->seen[slot_of(sec, pidx)][field_key(ksec, role, f)] != 0;
}

static void *key_dst(struct load_state *st, const struct key_def *k)
{
	struct fn_config *cfg = st->cfg;

	if (k->sec == SEC_ROLE)
		return (char *)&cfg->role[st->sec - SEC_NIC] + k->off;
	if (k->field == F_NETS)
		return k->sec == SEC_STACK ? &st->stack_nets
					   : &st->pipe_nets[st->pidx];
	if (k->sec == SEC_NETWORK)
		return (char *)&cfg->network[st->pidx] + k->off;
	if (k->field == F_PIPE)
		return (char *)&cfg->pipeline[st->pidx] + k->off;
	if (k->sec == SEC_PIPELINE && k->role < 0)
		return &st->pipe_cpu[st->pidx];
	if (k->sec == SEC_PIPELINE && k->field == F_RULESET)
		return cfg->pipeline[st->pidx].stack_ruleset;
	if (k->sec == SEC_PIPELINE)
		return (char *)&cfg->pipeline[st->pidx].comp[k->role] + k->off;
	return (char *)cfg + k->off;
}

/* --- value parsers -------------------------------------------------------- */

/* Decimal digits only: strtoull alone would take a sign, spaces and 0x. */
static int to_ull(const char *v, unsigned long long *out)
{
	char *end;

	if (!isdigit((unsigned char)v[0]))
		return -EINVAL;
	errno = 0;
	*out = strtoull(v, &end, 10);
	if (*end)
		return -EINVAL;
	return errno == ERANGE ? -ERANGE : 0;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

static int in_range(struct load_state *st, const struct key_def *k,
		    const char *v, const struct range *r,
		    unsigned long long *out)
{
	char b[SHOWN_MAX + 4];
	int rc = to_ull(v, out);

	/* A negative or huge number is a number, just not one we take. */
	if (rc == -ERANGE || (v[0] == '-' && all_digits(v + 1)) ||
	    (rc == 0 && (*out < r->min || *out > r->max)))
		return key_fail(st, k, "%s is out of range (%llu..%llu)",
				shown(v, b), r->min, r->max);
	if (rc)
		return key_fail(st, k, "'%s' is not a number (%llu..%llu)",
				shown(v, b), r->min, r->max);
	return 0;
}

static int parse_uint(struct load_state *st, const struct key_def *k,
		      const char *v, void *dst)
{
	unsigned long long x;

	if (in_range(st, k, v, k->aux, &x))
		return -1;
	*(unsigned *)dst = (unsigned)x;
	return 0;
}

static int parse_slots(struct load_state *st, const struct key_def *k,
		       const char *v, void *dst)
{
	static const struct range r = { 1, FN_LINK_MAX_SLOTS };
	unsigned long long x;

	if (in_range(st, k, v, &r, &x))
		return -1;
	if (x & (x - 1))
		return key_fail(st, k, "%llu is not a power of two (1..%u)",
				x, FN_LINK_MAX_SLOTS);
	*(uint32_t *)dst = (uint32_t)x;
	return 0;
}

static int parse_slot_size(struct load_state *st, const struct key_def *k,
			   const char *v, void *dst)
{
	static const struct range r = { FN_LINK_MIN_SLOT, FN_LINK_MAX_SLOT };
	unsigned long long x;

	if (in_range(st, k, v, &r, &x))
		return -1;
	if (x % 64)
		return key_fail(st, k, "%llu is not a multiple of 64 (%u..%u)",
				x, FN_LINK_MIN_SLOT, FN_LINK_MAX_SLOT);
	*(uint32_t *)dst = (uint32_t)x;
	return 0;
}

static int parse_cpu(struct load_state *st, const struct key_def *k,
		     const char *v, void *dst)
{
	static const struct range r = { 0, CPU_SETSIZE - 1 };
	unsigned long long x;

	if (strcmp(v, "auto") == 0) {
		*(int *)dst = FN_CPU_AUTO;
		return 0;
	}
	if (in_range(st, k, v, &r, &x))
		return -1;
	*(int *)dst = (int)x;
	return 0;
}

/* Index of v in the NULL-terminated names, or an error listing them. */
static int choose(struct load_state *st, const struct key_def *k,
		  const char *v, const char *const *names, int *out)
{
	char list[128] = "", b[SHOWN_MAX + 4];
	size_t n = 0;

	for (int i = 0; names[i]; i++) {
		if (strcmp(v, names[i]) == 0) {
			*out = i;
			return 0;
		}
		n += snprintf(list + n, sizeof list - n, "%s%s",
			      i ? (names[i + 1] ? ", " : " or ") : "",
			      names[i]);
	}
	return key_fail(st, k, "'%s' is not %s", shown(v, b), list);
}

static int parse_placement(struct load_state *st, const struct key_def *k,
			   const char *v, void *dst)
{
	static const char *const names[] = { "compact", "spread", NULL };
	int i;

	if (choose(st, k, v, names, &i))
		return -1;
	*(enum fn_placement *)dst = (enum fn_placement)i;
	return 0;
}

static int parse_pmd(struct load_state *st, const struct key_def *k,
		     const char *v, void *dst)
{
	static const char *const names[] = { "tap", "pci", NULL };
	int i;

	if (choose(st, k, v, names, &i))
		return -1;
	*(enum fn_pmd *)dst = (enum fn_pmd)i;
	return 0;
}

static int parse_profile(struct load_state *st, const struct key_def *k,
			 const char *v, void *dst)
{
	static const char *const names[] = { "full", "udp", NULL };
	int i;

	if (choose(st, k, v, names, &i))
		return -1;
	snprintf(dst, sizeof(((struct fn_stack_conf *)0)->profile), "%s",
		 names[i]);
	return 0;
}

static int parse_addressing(struct load_state *st, const struct key_def *k,
			    const char *v, void *dst)
{
	static const char *const names[] = { "per-pipeline", "shared", NULL };
	int i;

	if (choose(st, k, v, names, &i))
		return -1;
	*(enum fn_addressing *)dst = (enum fn_addressing)i;
	return 0;
}

static int parse_netns(struct load_state *st, const struct key_def *k,
		       const char *v, void *dst)
{
	static const char *const names[] = { "own", "host", NULL };
	int i;

	if (choose(st, k, v, names, &i))
		return -1;
	*(enum fn_app_netns *)dst = (enum fn_app_netns)i;
	return 0;
}

static int parse_bool(struct load_state *st, const struct key_def *k,
		      const char *v, void *dst)
{
	static const char *const names[] = {
		"no", "yes", "false", "true", "off", "on", "0", "1", NULL
	};
	char b[SHOWN_MAX + 4];
	int i;

	for (i = 0; names[i]; i++)
		if (strcmp(v, names[i]) == 0)
			break;
	if (!names[i])
		return key_fail(st, k, "'%s' is not yes or no", shown(v, b));
	*(bool *)dst = i & 1;
	return 0;
}

static int parse_poll(struct load_state *st, const struct key_def *k,
		      const char *v, void *dst)
{
	char b[SHOWN_MAX + 4];

	if (fn_poll_parse(v, dst) != 0)
		return key_fail(st, k, "'%s' is not busy, adaptive or event",
				shown(v, b));
	return 0;
}

static int parse_sched(struct load_state *st, const struct key_def *k,
		       const char *v, void *dst)
{
	char b[SHOWN_MAX + 4];

	if (!strcmp(v, "normal"))
		*(enum fn_sched *)dst = FN_SCHED_NORMAL;
	else if (!strcmp(v, "batch"))
		*(enum fn_sched *)dst = FN_SCHED_BATCH;
	else
		return key_fail(st, k, "'%s' is not normal or batch",
				shown(v, b));
	return 0;
}

/* 0 (the kernel's own slice) or what sched_setattr(2) takes as a fair
 * task's slice: 100 us to 100 ms (the kernel clamps to that range). */
static int parse_slice(struct load_state *st, const struct key_def *k,
		       const char *v, void *dst)
{
	static const struct range r = { 0, FN_SLICE_MAX_US };
	unsigned long long x;

	if (in_range(st, k, v, &r, &x))
		return -1;
	if (x && x < FN_SLICE_MIN_US)
		return key_fail(st, k, "%llu is neither 0 (the kernel's own "
				"slice) nor in %u..%u", x, FN_SLICE_MIN_US,
				FN_SLICE_MAX_US);
	*(unsigned *)dst = (unsigned)x;
	return 0;
}

static int parse_log_level(struct load_state *st, const struct key_def *k,
			   const char *v, void *dst)
{
	char b[SHOWN_MAX + 4];

	if (fn_log_level_parse(v, dst) != 0)
		return key_fail(st, k, "'%s' is not error, warn, info or debug",
				shown(v, b));
	return 0;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= FN_NAME_MAX)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		      "0123456789_-") == n;
}

static int parse_name(struct load_state *st, const struct key_def *k,
		      const char *v, void *dst)
{
	char b[SHOWN_MAX + 4];

	if (!valid_name(v))
		return key_fail(st, k, "'%s' is not a valid name: use 1..%d of "
				"A-Z a-z 0-9 _ -", shown(v, b), FN_NAME_MAX - 1);
	strcpy(dst, v);
	return 0;
}

static int parse_ifname(struct load_state *st, const struct key_def *k,
			const char *v, void *dst)
{
	char b[SHOWN_MAX + 4];
	size_t n = strlen(v);
	bool ok = n > 0 && n < 16 && strcmp(v, ".") && strcmp(v, "..");

	/* The kernel's dev_valid_name() rules. */
	for (size_t i = 0; ok && i < n; i++)
		ok = isgraph((unsigned char)v[i]) && v[i] != '/' && v[i] != ':';
	if (!ok)
		return key_fail(st, k, "'%s' is not an interface name: 1..15 "
				"characters, no '/', ':' or whitespace",
				shown(v, b));
	strcpy(dst, v);
	return 0;
}

static int parse_user(struct load_state *st, const struct key_def *k,
		      const char *v, void *dst)
{
	char b[SHOWN_MAX + 4];
	size_t n = strlen(v);

	/* Whether the user exists is the supervisor's check, at spawn.
	 * Root only when named: an app left as root could reach its stack's
	 * control socket by path (docs/security.md). */
	if (n == 0)
		return key_fail(st, k, "empty: name a user (default %s), or "
				"root to run the app as root knowingly",
				FN_APP_USER_DEFAULT);
	if (n >= sizeof(((struct fn_app_conf *)0)->user) || v[0] == '-' ||
	    strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		   "0123456789._-") != n)
		return key_fail(st, k, "'%s' is not a user name: up to 31 of "
				"A-Z a-z 0-9 . _ -, not starting with '-'",
				shown(v, b));
	strcpy(dst, v);
	return 0;
}

static int hexval(char c)
{
	return isdigit((unsigned char)c) ? c - '0'
					  : tolower((unsigned char)c) - 'a' + 10;
}

static int parse_mac(struct load_state *st, const struct key_def *k,
		     const char *v, void *dst)
{
	uint8_t *mac = dst;
	char b[SHOWN_MAX + 4];

	for (int i = 0; i < 6; i++) {
		const char *p = v + 3 * i;

		if (strlen(v) != 17 || !isxdigit((unsigned char)p[0]) ||
		    !isxdigit((unsigned char)p[1]) || (i < 5 && p[2] != ':'))
			return key_fail(st, k, "'%s' is not a MAC address: six "
					"hex pairs separated by ':', e.g. "
					"02:00:00:00:00:01", shown(v, b));
		mac[i] = (uint8_t)(hexval(p[0]) << 4 | hexval(p[1]));
	}
	if (mac[0] & 1)
		return key_fail(st, k, "%s is a multicast address; a port needs "
				"a unicast one (first byte even, e.g. "
				"02:00:00:00:00:01)", v);
	if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return key_fail(st, k, "00:00:00:00:00:00 is not a usable "
				"address; e.g. 02:00:00:00:00:01");
	return 0;
}

/* s[0..n) as an IPv4 address in network order; inet_pton takes no length. */
static int ip4_addr(const char *s, size_t n, uint32_t *out)
{
	char buf[INET_ADDRSTRLEN];
	struct in_addr a;

	if (n >= sizeof buf)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -1;
	*out = a.s_addr;
	return 0;
}

/* 0.0.0.0 means "unset" in struct fn_ip4, so it cannot be an address. */
static bool ip4_unicast(uint32_t a)
{
	uint32_t h = ntohl(a);

	return h != 0 && (h >> 28) < 14 && h != 0xffffffffu;
}

static int check_unicast(struct load_state *st, const struct key_def *k,
			 const char *v, uint32_t a)
{
	char b[SHOWN_MAX + 4];

	if (!ip4_unicast(a))
		return key_fail(st, k, "%s is not a unicast address",
				shown(v, b));
	return 0;
}

static int parse_ip4(struct load_state *st, const struct key_def *k,
		     const char *v, void *dst)
{
	char b[SHOWN_MAX + 4];

	if (strchr(v, '/'))
		return key_fail(st, k, "'%s': write the address without a "
				"/prefix, e.g. 10.77.0.1", shown(v, b));
	if (ip4_addr(v, strlen(v), dst))
		return key_fail(st, k, "'%s' is not an IPv4 address, e.g. "
				"10.77.0.1", shown(v, b));
	return check_unicast(st, k, v, *(uint32_t *)dst);
}

static int parse_ip4_prefix(struct load_state *st, const struct key_def *k,
			    const char *v, void *dst)
{
	static const struct range r = { 0, 32 };
	struct fn_ip4 *ip = dst;
	const char *slash = strchr(v, '/');
	unsigned long long prefix;
	char b[SHOWN_MAX + 4];

	if (!slash || ip4_addr(v, (size_t)(slash - v), &ip->addr))
		return key_fail(st, k, "'%s' is not an IPv4 address with a "
				"prefix length, e.g. 10.77.0.2/24",
				shown(v, b));
	if (in_range(st, k, slash + 1, &r, &prefix))
		return -1;
	ip->prefix = (uint8_t)prefix;
	return check_unicast(st, k, v, ip->addr);
}

/* The port after ADDRESS: 1..65535, decimal digits only. */
static int metrics_port(struct load_state *st, const struct key_def *k,
			const char *v, struct fn_metrics_conf *m)
{
	static const struct range r = { 1, 65535 };
	unsigned long long port;

	if (in_range(st, k, v, &r, &port))
		return -1;
	m->port = (uint16_t)port;
	return 0;
}

/*
 * [topology] metrics = 127.0.0.1:PORT or [::1]:PORT.  Loopback only: the
 * endpoint answers anyone who can connect, with no authentication, so
 * any other address is refused here rather than trusted to a firewall.
 */
static int parse_metrics(struct load_state *st, const struct key_def *k,
			 const char *v, void *dst)
{
	struct fn_metrics_conf *m = dst;
	const char *colon = strrchr(v, ':');
	char b[SHOWN_MAX + 4], a6[INET6_ADDRSTRLEN];
	struct in6_addr in6;
	uint32_t a4;
	size_t n;

	memset(m, 0, sizeof(*m));
	if (strlen(v) >= sizeof(m->text))
		goto bad;
	if (v[0] == '[') {
		const char *end = strchr(v, ']');

		n = end ? (size_t)(end - v - 1) : 0;
		if (!end || end[1] != ':' || n == 0 || n >= sizeof(a6))
			goto bad;
		memcpy(a6, v + 1, n);
		a6[n] = '\0';
		if (inet_pton(AF_INET6, a6, &in6) != 1)
			goto bad;
		if (!IN6_IS_ADDR_LOOPBACK(&in6))
			goto not_loopback;
		memcpy(m->addr, &in6, sizeof(in6));
		m->family = 6;
		colon = end + 1;
	} else {
		if (!colon || ip4_addr(v, (size_t)(colon - v), &a4))
			goto bad;
		if ((ntohl(a4) >> 24) != 127)
			goto not_loopback;
		memcpy(m->addr, &a4, 4);
		m->family = 4;
	}
	if (metrics_port(st, k, colon + 1, m))
		return -1;
	snprintf(m->text, sizeof(m->text), "%s", v);
	return 0;
bad:
	return key_fail(st, k, "'%s' is not ADDRESS:PORT, e.g. 127.0.0.1:9464 "
			"or [::1]:9464", shown(v, b));
not_loopback:
	return key_fail(st, k, "'%s' is not a loopback address: the endpoint "
			"answers whoever connects; use 127.0.0.1:PORT (any "
			"127.x.y.z) or [::1]:PORT", shown(v, b));
}

static int parse_pci(struct load_state *st, const struct key_def *k,
		     const char *v, void *dst)
{
	static const char shape[] = "xxxx:xx:xx.d";
	char b[SHOWN_MAX + 4], *out = dst;
	bool ok = strlen(v) == sizeof shape - 1;

	for (size_t i = 0; ok && i < sizeof shape - 1; i++) {
		if (shape[i] == 'x')
			ok = isxdigit((unsigned char)v[i]);
		else if (shape[i] == 'd')
			ok = v[i] >= '0' && v[i] <= '7';
		else
			ok = v[i] == shape[i];
	}
	/* A PCI device number is 5 bits. */
	if (ok && hexval(v[8]) * 16 + hexval(v[9]) > 0x1f)
		ok = false;
	if (!ok)
		return key_fail(st, k, "'%s' is not a PCI address DDDD:BB:DD.F "
				"(device 00..1f, function 0..7), e.g. "
				"0000:01:00.0 as lspci -D prints it",
				shown(v, b));
	for (size_t i = 0; v[i]; i++)
		out[i] = (char)tolower((unsigned char)v[i]);
	return 0;
}

/* Relative to the config file, not to the cwd of whoever runs fragnet. */
static int resolve_path(struct load_state *st, const struct key_def *k,
			const char *v, char out[PATH_MAX])
{
	int n;

	if (v[0] == '/' || st->dirlen < 0)
		n = snprintf(out, PATH_MAX, "%s", v);
	else
		n = snprintf(out, PATH_MAX, "%.*s/%s", st->dirlen,
			     st->cfg->path, v);
	if (n < 0 || n >= PATH_MAX)
		return key_fail(st, k, "path is longer than %d characters",
				PATH_MAX - 1);
	return 0;
}

static int parse_path(struct load_state *st, const struct key_def *k,
		      const char *v, void *dst)
{
	if (!*v)
		return key_fail(st, k, "needs a directory path");
	return resolve_path(st, k, v, dst);
}

static int parse_exec(struct load_state *st, const struct key_def *k,
		      const char *v, void *dst)
{
	char b[SHOWN_MAX + 4];

	if (!*v || strcmp(v, "none") == 0) {
		*(char *)dst = '\0';
		return 0;
	}
	/* Almost always "exec = prog --flag": arguments belong in args. */
	for (const char *p = v; *p; p++)
		if (isspace((unsigned char)*p))
			return key_fail(st, k, "'%s' contains whitespace; put "
					"arguments in args", shown(v, b));
	return resolve_path(st, k, v, dst);
}

/* An nft ruleset file for `nft -f`: readable now; empty or none: no
 * ruleset. */
static int parse_ruleset(struct load_state *st, const struct key_def *k,
			 const char *v, void *dst)
{
	int err;

	if (!*v || strcmp(v, "none") == 0) {
		*(char *)dst = '\0';
		return 0;
	}
	err = resolve_path(st, k, v, dst);
	if (err == 0 && access(dst, R_OK) < 0)
		return key_fail(st, k, "cannot read %s: %s", (char *)dst,
				strerror(errno));
	return err;
}

static int parse_args(struct load_state *st, const struct key_def *k,
		      const char *v, void *dst)
{
	if (strlen(v) >= FN_ARGS_MAX)
		return key_fail(st, k, "longer than %d characters",
				FN_ARGS_MAX - 1);
	strcpy(dst, v);
	st->pending = (struct pending_args){
		.args = dst, .line = st->lineno, .sec = st->sec,
		.pidx = st->pidx, .k = k,
	};
	return 0;
}

/* --- internal networks: values ------------------------------------------ */

/* A network's name is the name of its netif in every stack (nft's iifname):
 * an interface name of our name charset, and not the uplink's or lo. */
static bool valid_net_name(const char *s)
{
	return strlen(s) < FN_IFNAME_MAX && valid_name(s) &&
	       strcmp(s, FN_UPLINK_IFNAME) != 0 && strcmp(s, "lo") != 0;
}

#define NET_NAME_RULE	"1..15 of A-Z a-z 0-9 _ -, not " FN_UPLINK_IFNAME \
			" or lo: it names the stack's interface"

static uint32_t prefix_mask(uint8_t prefix)
{
	return prefix ? htonl(~0u << (32 - prefix)) : 0;
}

/* subnet = 10.90.0.0/24: the network address itself, with room for hosts. */
static int parse_subnet(struct load_state *st, const struct key_def *k,
			const char *v, void *dst)
{
	struct fn_ip4 *ip = dst;
	char b[SHOWN_MAX + 4];

	if (parse_ip4_prefix(st, k, v, dst))
		return -1;
	if (ip->prefix < 1 || ip->prefix > 30)
		return key_fail(st, k, "/%u leaves no room; a network is /1.."
				"/30", ip->prefix);
	if (ip->addr & ~prefix_mask(ip->prefix))
		return key_fail(st, k, "'%s' has host bits set; write the "
				"network address", shown(v, b));
	return 0;
}

static int parse_age(struct load_state *st, const struct key_def *k,
		     const char *v, void *dst)
{
	static const struct range r = { 100, 86400000 };
	unsigned long long x;

	if (in_range(st, k, v, &r, &x))
		return -1;
	*(unsigned *)dst = (unsigned)x;
	return 0;
}

/* One item of a networks list: NAME or NAME@ADDRESS. */
static int net_item(struct load_state *st, const struct key_def *k,
		    const char *item, struct net_list *l)
{
	const char *at = strchr(item, '@');
	size_t n = at ? (size_t)(at - item) : strlen(item);
	struct net_ref *r = &l->ref[l->n];
	char b[SHOWN_MAX + 4];

	if (l->n == FN_STACK_MAX_NETS)
		return key_fail(st, k, "more than %d networks",
				FN_STACK_MAX_NETS);
	snprintf(r->name, sizeof r->name, "%.*s", (int)(n < FN_IFNAME_MAX ?
		 n : FN_IFNAME_MAX - 1), item);
	if (n >= FN_IFNAME_MAX || !valid_net_name(r->name))
		return key_fail(st, k, "'%s' is not a network name (%s)",
				shown(item, b), NET_NAME_RULE);
	for (unsigned i = 0; i < l->n; i++)
		if (strcmp(l->ref[i].name, r->name) == 0)
			return key_fail(st, k, "network %s is named twice",
					r->name);
	r->addr = 0;
	if (at && (ip4_addr(at + 1, strlen(at + 1), &r->addr) ||
		   !ip4_unicast(r->addr)))
		return key_fail(st, k, "'%s' is not NAME@ADDRESS with a "
				"unicast IPv4 address, e.g. internal@10.90.0.7",
				shown(item, b));
	l->n++;
	return 0;
}

/* networks = NAME[@ADDRESS], ... (commas or blanks); empty or none: no
 * network. */
static int parse_networks(struct load_state *st, const struct key_def *k,
			  const char *v, void *dst)
{
	struct net_list *l = dst;
	char buf[INI_MAX_LINE], *save = NULL, *item;

	l->n = 0;
	if (!*v || strcmp(v, "none") == 0)
		return 0;
	snprintf(buf, sizeof buf, "%s", v);
	for (item = strtok_r(buf, ", \t", &save); item;
	     item = strtok_r(NULL, ", \t", &save))
		if (net_item(st, k, item, l))
			return -1;
	return 0;
}

/* --- args splitting -------------------------------------------------------- */

struct split {
	const char *s;		/* input cursor */
	char *out, *end;	/* output cursor and end of buf */
	unsigned pipeline;
	const char *run_dir;
	const char *address;
	const char *why;	/* what made it -EINVAL */
};

static int put(struct split *sp, const char *s, size_t n)
{
	if (n > (size_t)(sp->end - sp->out))
		return -E2BIG;
	memcpy(sp->out, s, n);
	sp->out += n;
	return 0;
}

/* At a '{': a placeholder, or a literal brace. */
static int put_placeholder(struct split *sp)
{
	char num[16];

	if (strncmp(sp->s, "{pipeline}", 10) == 0) {
		sp->s += 10;
		snprintf(num, sizeof num, "%u", sp->pipeline);
		return put(sp, num, strlen(num));
	}
	if (strncmp(sp->s, "{run_dir}", 9) == 0) {
		sp->s += 9;
		return put(sp, sp->run_dir, strlen(sp->run_dir));
	}
	if (strncmp(sp->s, "{address}", 9) == 0) {
		sp->s += 9;
		return put(sp, sp->address, strlen(sp->address));
	}
	return put(sp, sp->s++, 1);
}

/*
 * One word, from its first character to the next unquoted space.
 * Placeholders expand inside quotes too; what they expand to is never split
 * or unquoted again.  A backslash (outside '...') takes the next character
 * literally, so \{pipeline} stays as written.
 */
static int split_word(struct split *sp)
{
	char quote = 0;
	int rc = 0;

	while (*sp->s && !rc) {
		char c = *sp->s;

		if (!quote && isspace((unsigned char)c))
			break;
		if (c == quote || (!quote && (c == '\'' || c == '"'))) {
			quote = c == quote ? 0 : c;
			sp->s++;
		} else if (c == '\\' && quote != '\'') {
			if (!sp->s[1]) {
				sp->why = "ends in a lone backslash";
				return -EINVAL;
			}
			rc = put(sp, sp->s + 1, 1);
			sp->s += 2;
		} else if (c == '{') {
			rc = put_placeholder(sp);
		} else {
			rc = put(sp, sp->s++, 1);
		}
	}
	if (!rc && quote) {
		sp->why = quote == '"' ? "unterminated \" quote"
				       : "unterminated ' quote";
		return -EINVAL;
	}
	return rc ? rc : put(sp, "", 1);
}

static int split_args(struct split *sp, char *argv[], unsigned max_argv)
{
	unsigned argc = 0;
	int rc;

	for (;;) {
		while (isspace((unsigned char)*sp->s))
			sp->s++;
		if (!*sp->s)
			break;
		if (argc + 1 >= max_argv)
			return -E2BIG;	/* argv[argc] must stay for the NULL */
		argv[argc++] = sp->out;
		rc = split_word(sp);
		if (rc)
			return rc;
	}
	if (max_argv == 0)
		return -E2BIG;
	argv[argc] = NULL;
	return (int)argc;
}

int fn_config_split_args(const char *args, unsigned pipeline,
			 const char *run_dir, const char *address, char *buf,
			 size_t bufsize, char *argv[], unsigned max_argv)
{
	struct split sp = {
		.s = args ? args : "", .out = buf, .end = buf + bufsize,
		.pipeline = pipeline, .run_dir = run_dir ? run_dir : "",
		.address = address ? address : "",
	};

	return split_args(&sp, argv, max_argv);
}

/*
 * Quoting and the argument count do not depend on what the placeholders
 * expand to, so args are checked here, where the error has a line number.
 * Expanded with an empty run_dir and address, args never grow past their
 * own length.
 */
static int check_args(struct load_state *st)
{
	struct pending_args p = st->pending;
	char buf[2 * FN_ARGS_MAX], label[32], *argv[FN_MAX_ARGS + 1];
	struct split sp = {
		.s = p.args, .out = buf, .end = buf + sizeof buf,
		.pipeline = FN_MAX_PIPELINES - 1, .run_dir = "", .address = "",
	};
	int rc;

	if (!p.args)
		return 0;
	st->pending.args = NULL;
	rc = split_args(&sp, argv, FN_MAX_ARGS + 1);
	if (rc >= 0)
		return 0;
	sec_label(st, p.sec, p.pidx, label);
	if (rc == -E2BIG)
		return fail_at(st, p.line, label, p.k->name, "more than %d "
			       "arguments", FN_MAX_ARGS);
	return fail_at(st, p.line, label, p.k->name, "%s; quote with '...' or "
		       "\"...\", escape with \\", sp.why);
}

/* --- lines and sections ---------------------------------------------------- */

/* inih's ini_find_chars_or_comment(): the first of chars, or an inline
 * comment (';' after whitespace), or the end of s. */
static const char *find_stop(const char *s, const char *chars)
{
	bool was_space = false;

	for (; *s; s++) {
		if ((chars && strchr(chars, *s)) || (was_space && *s == ';'))
			break;
		was_space = isspace((unsigned char)*s);
	}
	return s;
}

static int unknown_section(struct load_state *st, const char *text)
{
	char b[SHOWN_MAX + 4];

	return fail_at(st, st->lineno, shown(text, b), NULL, "unknown section; "
		       "sections are topology, restart, link, nic, driver, "
		       "stack, app, vswitch, cluster, pipeline N and network "
		       "NAME");
}

/* "pipeline N": index N, at most FN_MAX_PIPELINES - 1 (pipelines is
 * checked once the whole file is in). */
static int pipeline_section(struct load_state *st, const char *text,
			    const char *idx)
{
	unsigned long long x;
	char b[SHOWN_MAX + 4], bi[SHOWN_MAX + 4];
	int rc;

	if (!*idx)
		return fail_at(st, st->lineno, "pipeline", NULL, "missing "
			       "index; write [pipeline N], N in 0..%d",
			       FN_MAX_PIPELINES - 1);
	rc = to_ull(idx, &x);
	if (rc == -EINVAL)
		return fail_at(st, st->lineno, shown(text, b), NULL, "'%s' is "
			       "not a pipeline index (0..%d)", shown(idx, bi),
			       FN_MAX_PIPELINES - 1);
	if (rc || x >= FN_MAX_PIPELINES)
		return fail_at(st, st->lineno, shown(text, b), NULL,
			       "index %s is out of range (0..%d)",
			       shown(idx, bi), FN_MAX_PIPELINES - 1);
	st->sec = SEC_PIPELINE;
	st->pidx = (unsigned)x;
	if (!st->pipe_line[x])
		st->pipe_line[x] = st->lineno;
	return 0;
}

/* "network NAME": the network's index, a new one at its first section. */
static int network_section(struct load_state *st, const char *text,
			   const char *name)
{
	struct fn_config *cfg = st->cfg;
	char b[SHOWN_MAX + 4], bn[SHOWN_MAX + 4];
	unsigned i;

	if (!*name)
		return fail_at(st, st->lineno, "network", NULL, "missing "
			       "name; write [network NAME]");
	if (!valid_net_name(name))
		return fail_at(st, st->lineno, shown(text, b), NULL, "'%s' is "
			       "not a network name (%s)", shown(name, bn),
			       NET_NAME_RULE);
	for (i = 0; i < cfg->nnetworks; i++)
		if (strcmp(cfg->network[i].name, name) == 0)
			break;
	if (i == FN_MAX_NETWORKS)
		return fail_at(st, st->lineno, shown(text, b), NULL, "more "
			       "than %d networks", FN_MAX_NETWORKS);
	if (i == cfg->nnetworks) {
		strcpy(cfg->network[i].name, name);
		st->net_line[i] = st->lineno;
		cfg->nnetworks++;
	}
	st->sec = SEC_NETWORK;
	st->pidx = i;
	return 0;
}

/* "pipeline N" or "network NAME": the word, then blanks, then the rest.
 * *rest is NULL when text is not word [...]. */
static bool indexed_section(char *text, const char *word, char **rest)
{
	size_t n = strlen(word);

	*rest = NULL;
	if (strncmp(text, word, n) != 0 ||
	    (text[n] && !isspace((unsigned char)text[n])))
		return false;
	*rest = text + n;
	while (isspace((unsigned char)**rest))
		(*rest)++;
	return true;
}

/* The text between '[' and ']', trimmed. */
static int set_section(struct load_state *st, char *text)
{
	char *end = text + strlen(text), *rest;

	while (end > text && isspace((unsigned char)end[-1]))
		*--end = '\0';
	while (isspace((unsigned char)*text))
		text++;
	for (int i = 0; i < SEC_PIPELINE; i++) {
		if (strcmp(text, sec_names[i]) == 0) {
			st->sec = i;
			return 0;
		}
	}
	if (indexed_section(text, "pipeline", &rest))
		return pipeline_section(st, text, rest);
	if (indexed_section(text, "network", &rest))
		return network_section(st, text, rest);
	return unknown_section(st, text);
}

/* s is just past the '['. */
static void header_line(struct load_state *st, const char *s)
{
	const char *close = find_stop(s, "]"), *rest;
	char text[INI_MAX_LINE];

	if (*close != ']') {
		fail_at(st, st->lineno, NULL, NULL, "section header without "
			"a closing ']'");
		return;
	}
	rest = close + 1;
	while (isspace((unsigned char)*rest))
		rest++;
	/* inih ignores anything after the ']'; we only allow a comment. */
	if (*rest && *rest != ';' && *rest != '#') {
		fail_at(st, st->lineno, NULL, NULL, "text after the section "
			"header; only a ; or # comment may follow ']'");
		return;
	}
	snprintf(text, sizeof text, "%.*s", (int)(close - s), s);
	snprintf(st->sec_raw, sizeof st->sec_raw, "%.49s", text);
	if (set_section(st, text) == 0)
		st->have_prev = false;	/* as inih forgets prev_name */
}

static void key_line(struct load_state *st, const char *s)
{
	const char *eq = find_stop(s, "=:");
	char label[32], b[SHOWN_MAX + 4], text[INI_MAX_LINE];
	size_t n = strlen(s);

	if (*eq == '=' || *eq == ':')
		return;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	snprintf(text, sizeof text, "%.*s", (int)n, s);
	s = text;
	if (st->sec == SEC_NONE)
		fail_at(st, st->lineno, NULL, NULL, "'%s' is neither "
			"'key = value', a [section] header nor a comment",
			shown(s, b));
	else
		fail_at(st, st->lineno, sec_label(st, st->sec, st->pidx, label),
			NULL, "'%s' is neither 'key = value', a [section] "
			"header nor a comment", shown(s, b));
}

/*
 * Look at a line the way ini_parse_stream() will: blank and ; # comment
 * lines, then (inih's INI_ALLOW_MULTILINE) an indented line after a key
 * continues that key, then [section], then key = value.
 */
static void classify_line(struct load_state *st, char *line)
{
	const char *s = line;

	if (st->lineno == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3;		/* a UTF-8 BOM, which inih skips */
	while (isspace((unsigned char)*s))
		s++;
	st->cont = false;
	if (!*s || *s == ';' || *s == '#')
		return;
	if (st->have_prev && s > line) {
		st->cont = true;
		return;
	}
	if (check_args(st))
		return;
	if (*s == '[')
		header_line(st, s + 1);
	else
		key_line(st, s);
}

/* inih's line reader, over st->pos..end.  Each call is one line, so
 * st->lineno is inih's line number too. */
static char *read_line(char *str, int num, void *stream)
{
	struct load_state *st = stream;
	const char *nl;
	size_t len, body, max;

	if (st->failed || st->pos >= st->end)
		return NULL;
	nl = memchr(st->pos, '\n', (size_t)(st->end - st->pos));
	len = nl ? (size_t)(nl - st->pos) + 1 : (size_t)(st->end - st->pos);
	body = len - (nl != NULL);
	st->lineno++;
	if (memchr(st->pos, '\0', len)) {
		fail_at(st, st->lineno, NULL, NULL, "line contains a NUL byte");
		return NULL;
	}
	/* inih would split a longer line in two.  Our own buffers are
	 * INI_MAX_LINE too, whatever the library was built with. */
	max = (size_t)(num < INI_MAX_LINE ? num : INI_MAX_LINE);
	if (max < 2 || body > max - 2) {
		fail_at(st, st->lineno, NULL, NULL, "line is longer than %zu "
			"characters; continue args on indented lines",
			max < 2 ? 0 : max - 2);
		return NULL;
	}
	memcpy(str, st->pos, len);
	str[len] = '\0';
	st->pos += len;
	classify_line(st, str);
	return st->failed ? NULL : str;
}

/* --- keys ------------------------------------------------------------------ */

static int unknown_key(struct load_state *st, const char *name)
{
	char list[400] = "", label[32], b[SHOWN_MAX + 4];
	size_t n = 0;

	sec_label(st, st->sec, st->pidx, label);
	if (st->sec == SEC_PIPELINE && strncmp(name, "nic_", 4) == 0)
		return fail_at(st, st->lineno, label, shown(name, b), "one nic "
			       "serves all pipelines; set it in [nic]");
	for (size_t i = 0; i < NKEYS && n < sizeof list; i++)
		if (key_in(&keys[i], st->sec))
			n += snprintf(list + n, sizeof list - n, "%s%s",
				      n ? ", " : "", keys[i].name);
	return fail_at(st, st->lineno, label, shown(name, b), "unknown key; "
		       "[%s] takes %s", st->sec == SEC_PIPELINE ? "pipeline N"
		       : st->sec == SEC_NETWORK ? "network NAME" : label, list);
}

static int set_key(struct load_state *st, const char *name, const char *value)
{
	const struct key_def *k;
	unsigned *seen;
	char b[SHOWN_MAX + 4], label[32];

	if (st->sec == SEC_NONE)
		return fail_at(st, st->lineno, "", shown(name, b), "key before "
			       "the first [section] header");
	if (!*name)
		return fail_at(st, st->lineno, sec_label(st, st->sec, st->pidx,
			       label), NULL, "missing key name before '='");
	k = find_key(st->sec, name);
	if (!k)
		return unknown_key(st, name);
	st->prev = k;
	seen = &st->seen[slot_of(st->sec, st->pidx)][k - keys];
	if (*seen)
		return key_fail(st, k, "duplicate key (first set on line %u)",
				*seen);
	*seen = st->lineno;
	return k->parse(st, k, value, key_dst(st, k));
}

/* An indented line after a key: Python configparser style, as inih does. */
static int continue_key(struct load_state *st, const char *name,
			const char *value)
{
	const struct key_def *k = st->prev;
	char line[INI_MAX_LINE], *end;
	size_t n;

	if (!k || strcmp(name, k->name) != 0 ||
	    (k->field == F_ARGS && !st->pending.args))
		return fail_at(st, st->lineno, NULL, NULL, "internal error: "
			       "continuation of an unexpected key");
	if (k->field != F_ARGS)
		return key_fail(st, k, "this indented line would continue the "
				"value; only args may span lines, so remove "
				"the indentation");
	/* inih 55 keeps inline comments on continuation lines; later ones
	 * strip them.  Strip them either way. */
	snprintf(line, sizeof line, "%s", value);
	end = (char *)find_stop(line, NULL);
	while (end > line && isspace((unsigned char)end[-1]))
		end--;
	*end = '\0';
	n = strlen(st->pending.args);
	if (n + 1 + strlen(line) >= FN_ARGS_MAX)
		return key_fail(st, k, "longer than %d characters",
				FN_ARGS_MAX - 1);
	st->pending.args[n] = ' ';
	strcpy(st->pending.args + n + 1, line);
	return 0;
}

static int on_key(void *user, const char *section, const char *name,
		  const char *value)
{
	struct load_state *st = user;

	/* We go by st->sec (inih truncates section names to 49 characters),
	 * but inih must agree with read_line() on where sections begin. */
	if (st->failed)
		return 0;
	if (strcmp(section, st->sec_raw) != 0)
		return fail_at(st, st->lineno, NULL, NULL, "internal error: "
			       "inih sees another section here") == 0;
	if (st->cont)
		return continue_key(st, name, value) == 0;
	st->have_prev = true;
	return set_key(st, name, value) == 0;
}

/* --- defaults and whole-file checks ----------------------------------------- */

static void set_defaults(struct fn_config *cfg)
{
	static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };

	cfg->npipelines = 1;
	cfg->placement = FN_PLACE_COMPACT;
	cfg->poll = FN_POLL_ADAPTIVE;
	cfg->log_level = FN_LOG_INFO;
	cfg->restart = (struct fn_restart_conf){
		.backoff_ms = 100, .backoff_max_ms = 5000,
		.crash_loop_limit = 5, .crash_loop_window_s = 30,
		.stop_timeout_ms = 3000,
	};
	cfg->link.slots = 1024;
	cfg->link.slot_size = 2048;
	cfg->nic.pmd = FN_PMD_TAP;
	memcpy(cfg->nic.mac, mac, sizeof mac);
	cfg->nic.mbufs = 8192;
	strcpy(cfg->stack.profile, "full");
	cfg->stack.max_tcp = 10000;
	cfg->stack.confine = true;
	cfg->app.preload = true;
	snprintf(cfg->app.user, sizeof(cfg->app.user), "%s",
		 FN_APP_USER_DEFAULT);
	cfg->app.netns = FN_NETNS_OWN;
	cfg->cluster.port = 6379;
	cfg->cluster.timeout_ms = 30000;
	for (int r = 0; r < FN_ROLE_COUNT; r++)
		cfg->role[r].cpu = FN_CPU_AUTO;
	/* the packet path's components: docs/driver.md, "Wake-up
	 * preemption" */
	cfg->role[FN_ROLE_DRIVER].sched = FN_SCHED_BATCH;
	cfg->role[FN_ROLE_STACK].sched = FN_SCHED_BATCH;
	cfg->role[FN_ROLE_VSWITCH].sched = FN_SCHED_BATCH;
}

static bool seen(const struct load_state *st, int sec, const char *name)
{
	return st->seen[sec][find_key(sec, name) - keys] != 0;
}

/* Default name: the file name the caller gave, without ".conf". */
static int default_name(struct load_state *st)
{
	const char *base = strrchr(st->file, '/');
	char name[PATH_MAX], b[SHOWN_MAX + 4];
	size_t n;

	base = base ? base + 1 : st->file;
	n = strlen(base);
	if (n > 5 && strcmp(base + n - 5, ".conf") == 0)
		n -= 5;
	snprintf(name, sizeof name, "%.*s", (int)n, base);
	if (!valid_name(name))
		return fail_at(st, 0, "topology", "name", "the file name gives "
			       "'%s', which is not a valid name (1..%d of A-Z "
			       "a-z 0-9 _ -); set name in [topology]",
			       shown(name, b), FN_NAME_MAX - 1);
	strcpy(st->cfg->name, name);
	return 0;
}

/* The queues that the pipelines' drivers serve, each its own: 1 + the
 * highest pipeline that runs one; 0 when none does. */
static unsigned driver_pipelines(const struct load_state *st)
{
	const struct fn_config *cfg = st->cfg;
	unsigned n = 0;

	for (unsigned p = 0; p < cfg->npipelines; p++)
		if (cfg->pipeline[p].comp[FN_ROLE_DRIVER].exec[0])
			n = p + 1;
	return n;
}

static int derived_defaults(struct load_state *st)
{
	struct fn_config *cfg = st->cfg;

	if (!seen(st, SEC_TOPOLOGY, "name") && default_name(st))
		return -1;
	if (!seen(st, SEC_TOPOLOGY, "run_dir"))
		snprintf(cfg->run_dir, sizeof cfg->run_dir, "%s/%s",
			 FN_RUN_ROOT, cfg->name);
	if (!seen(st, SEC_NIC, "ifname"))
		snprintf(cfg->nic.ifname, sizeof cfg->nic.ifname, "fn-%.12s",
			 cfg->name);
	for (int r = 0; r < FN_ROLE_COUNT; r++)
		if (!field_seen(st, SEC_NIC + r, 0, -1, F_POLL))
			cfg->role[r].poll = cfg->poll;
	return 0;
}

static int check_pipeline_sections(struct load_state *st)
{
	unsigned n = st->cfg->npipelines;
	char label[32];

	for (unsigned p = n; p < FN_MAX_PIPELINES; p++)
		if (st->pipe_line[p])
			return fail_at(st, st->pipe_line[p],
				       sec_label(st, SEC_PIPELINE, p, label),
				       NULL,
				       "index %u is out of range; [topology] "
				       "pipelines = %u allows %s%u", p, n,
				       n > 1 ? "0.." : "only ", n - 1);
	return 0;
}

/* Section default, then [pipeline N] cpu, then [pipeline N] <role>_*. */
static void resolve_comp(struct load_state *st, unsigned p, int r)
{
	struct fn_component_conf *c = &st->cfg->pipeline[p].comp[r];
	const struct fn_component_conf *def = &st->cfg->role[r];
	unsigned slot = slot_of(SEC_PIPELINE, p);

	if (r == FN_ROLE_NIC || r == FN_ROLE_VSWITCH) {
		*c = *def;	/* not a pipeline's: nothing to resolve */
		return;
	}
	if (!field_seen(st, SEC_PIPELINE, p, r, F_EXEC))
		memcpy(c->exec, def->exec, sizeof c->exec);
	if (!field_seen(st, SEC_PIPELINE, p, r, F_ARGS))
		memcpy(c->args, def->args, sizeof c->args);
	if (!field_seen(st, SEC_PIPELINE, p, r, F_POLL))
		c->poll = def->poll;
	if (!field_seen(st, SEC_PIPELINE, p, r, F_SCHED))
		c->sched = def->sched;
	if (!field_seen(st, SEC_PIPELINE, p, r, F_SLICE))
		c->slice_us = def->slice_us;
	if (field_seen(st, SEC_PIPELINE, p, r, F_CPU))
		return;
	if (st->seen[slot][field_key(SEC_PIPELINE, -1, F_CPU)])
		c->cpu = st->pipe_cpu[p];
	else
		c->cpu = def->cpu;
}

static int check_restart(struct load_state *st)
{
	const struct fn_restart_conf *r = &st->cfg->restart;

	if (r->backoff_max_ms < r->backoff_ms)
		return fail_at(st, 0, "restart", "backoff_max_ms", "%u is below "
			       "backoff_ms = %u; the delay starts at backoff_ms "
			       "and doubles up to backoff_max_ms",
			       r->backoff_max_ms, r->backoff_ms);
	return 0;
}

/* Driver i serves queue i: the pipelines with a driver come first, one
 * per queue (the others sit on internal networks only). */
static int check_queues(struct load_state *st)
{
	const struct fn_config *cfg = st->cfg;
	unsigned k = driver_pipelines(st);
	char label[32];

	if (k == 0)
		k = cfg->npipelines;	/* no driver at all: as many queues */
	for (unsigned p = 0; p < k && driver_pipelines(st); p++)
		if (!cfg->pipeline[p].comp[FN_ROLE_DRIVER].exec[0])
			return fail_at(st, 0, sec_label(st, SEC_PIPELINE, p,
				       label), "driver_exec", "pipeline %u runs "
				       "no driver but pipeline %u does; driver i "
				       "serves queue i, so the pipelines with a "
				       "driver come first", p, k - 1);
	if (cfg->nic.queues == k)
		return 0;
	if (k == cfg->npipelines)
		return fail_at(st, 0, "nic", "queues", "%u, but pipelines = %u; "
			       "driver i serves queue i, so they must match "
			       "(leave queues out)", cfg->nic.queues,
			       cfg->npipelines);
	return fail_at(st, 0, "nic", "queues", "%u, but pipelines 0..%u run "
		       "a driver; driver i serves queue i, so they must match "
		       "(leave queues out)", cfg->nic.queues, k - 1);
}

static int check_nic(struct load_state *st)
{
	const struct fn_config *cfg = st->cfg;
	bool pci = cfg->nic.pmd == FN_PMD_PCI;

	if (cfg->role[FN_ROLE_NIC].exec[0] && check_queues(st))
		return -1;
	if (pci && !seen(st, SEC_NIC, "pci"))
		return fail_at(st, 0, "nic", "pci", "required with pmd = pci, "
			       "e.g. pci = 0000:01:00.0");
	if (!pci && seen(st, SEC_NIC, "pci"))
		return fail_at(st, 0, "nic", "pci", "only used with pmd = pci; "
			       "remove it or set pmd = pci");
	if (pci && seen(st, SEC_NIC, "ifname"))
		return fail_at(st, 0, "nic", "ifname", "names the kernel side "
			       "of a tap; remove it with pmd = pci");
	if (pci && seen(st, SEC_NIC, "address"))
		return fail_at(st, 0, "nic", "address", "is the kernel side of "
			       "a tap; remove it with pmd = pci");
	return 0;
}

/* A stack needs [stack] address for its uplink, unless it has none and
 * sits on internal networks only. */
static bool needs_address(const struct load_state *st, unsigned *p)
{
	const struct fn_config *cfg = st->cfg;

	for (*p = 0; *p < cfg->npipelines; (*p)++)
		if (cfg->pipeline[*p].comp[FN_ROLE_STACK].exec[0] &&
		    (fn_config_has_uplink(cfg, *p) ||
		     cfg->pipeline[*p].nnets == 0))
			return true;
	return false;
}

static int check_stack(struct load_state *st)
{
	const struct fn_stack_conf *s = &st->cfg->stack;
	const struct fn_ip4 *nic = &st->cfg->nic.address;
	uint32_t mask = s->address.prefix ?
		htonl(~0u << (32 - s->address.prefix)) : 0;
	unsigned p;

	if (!s->address.addr && needs_address(st, &p))
		return fail_at(st, 0, "stack", "address", "required: pipeline "
			       "%u runs a stack (e.g. address = 10.77.0.2/24)",
			       p);
	if (s->gateway && !s->address.addr)
		return fail_at(st, 0, "stack", "gateway", "needs [stack] "
			       "address");
	if (s->gateway && ((s->gateway ^ s->address.addr) & mask))
		return fail_at(st, 0, "stack", "gateway", "not in the subnet "
			       "of [stack] address (/%u); the gateway must be "
			       "on the link", s->address.prefix);
	if (nic->addr && nic->addr == s->address.addr)
		return fail_at(st, 0, "nic", "address", "same as [stack] "
			       "address; the tap's kernel side needs its own");
	return 0;
}

/* An app with preload has its sockets served by its pipeline's stack. */
static int check_apps(struct load_state *st)
{
	const struct fn_config *cfg = st->cfg;
	char label[32];

	if (!cfg->app.preload)
		return 0;
	for (unsigned p = 0; p < cfg->npipelines; p++) {
		const struct fn_component_conf *c = cfg->pipeline[p].comp;
		bool own = field_seen(st, SEC_PIPELINE, p, FN_ROLE_APP, F_EXEC);

		if (!c[FN_ROLE_APP].exec[0] || c[FN_ROLE_STACK].exec[0])
			continue;
		return fail_at(st, 0, own ? sec_label(st, SEC_PIPELINE, p, label)
			       : "app", own ? "app_exec" : "exec", "pipeline %u "
			       "runs an app with preload = yes but no stack to "
			       "serve its sockets; run a stack or set preload "
			       "= no", p);
	}
	return 0;
}

/* --- internal networks: resolution ---------------------------------------- */

/* Where key name of [pipeline i] or [network i] (sec) was set, or 0. */
static unsigned idx_seen(const struct load_state *st, int sec, unsigned i,
			 const char *name)
{
	return st->seen[slot_of(sec, i)][find_key(sec, name) - keys];
}

static unsigned net_seen(const struct load_state *st, unsigned i,
			 const char *name)
{
	return idx_seen(st, SEC_NETWORK, i, name);
}

/* An error about key of [network i]: on its line, else on the header's. */
__attribute__((format(printf, 4, 5)))
static int net_fail(struct load_state *st, unsigned i, const char *key,
		    const char *fmt, ...)
{
	unsigned line = key ? net_seen(st, i, key) : 0;
	char label[32];
	va_list ap;

	va_start(ap, fmt);
	vfail_at(st, line ? line : st->net_line[i],
		 sec_label(st, SEC_NETWORK, i, label), key, fmt, ap);
	va_end(ap);
	return -1;
}

/* 02:00 and the address's four bytes: unique on a network, whose
 * addresses are, and on the stack, whose networks do not overlap. */
static void net_mac(uint32_t addr, uint8_t mac[6])
{
	mac[0] = 0x02;
	mac[1] = 0;
	memcpy(mac + 2, &addr, 4);
}

/* Is addr a host of network n: inside it, neither its network nor its
 * broadcast address? */
static bool net_host_ok(const struct fn_network_conf *n, uint32_t addr)
{
	uint32_t m = prefix_mask(n->subnet.prefix);

	return (addr & m) == n->subnet.addr && (addr & ~m) != 0 &&
	       (addr | m) != 0xffffffffu;
}

static bool nets_overlap(const struct fn_ip4 *a, const struct fn_ip4 *b)
{
	uint8_t p = a->prefix < b->prefix ? a->prefix : b->prefix;

	return ((a->addr ^ b->addr) & prefix_mask(p)) == 0;
}

static const char *ip_str(uint32_t a, char buf[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

/* The host port's defaults and checks: its tap's name, its address (the
 * subnet's last host), its MAC. */
static int net_host(struct load_state *st, unsigned i)
{
	struct fn_network_conf *n = &st->cfg->network[i];
	uint32_t last = n->subnet.addr | ~prefix_mask(n->subnet.prefix);
	char ip[INET_ADDRSTRLEN], sub[INET_ADDRSTRLEN];

	if (!n->host) {
		if (net_seen(st, i, "host_ifname"))
			return net_fail(st, i, "host_ifname", "only with host = "
					"yes");
		if (net_seen(st, i, "host_address"))
			return net_fail(st, i, "host_address", "only with host "
					"= yes");
		return 0;
	}
	if (!net_seen(st, i, "host_ifname")) {
		memcpy(n->host_ifname, "fnh-", 4);
		memcpy(n->host_ifname + 4, n->name, strnlen(n->name, 11));
	}
	if (!net_seen(st, i, "host_address"))
		n->host_address = htonl(ntohl(last) - 1);
	if (!net_host_ok(n, n->host_address))
		return net_fail(st, i, "host_address", "%s is not a host of "
				"subnet %s/%u", ip_str(n->host_address, ip),
				ip_str(n->subnet.addr, sub), n->subnet.prefix);
	net_mac(n->host_address, n->host_mac);
	return 0;
}

/* [network i] alone: subnet, aging, the switch's component, the host. */
static int net_resolve(struct load_state *st, unsigned i)
{
	struct fn_network_conf *n = &st->cfg->network[i];
	enum fn_poll poll = n->vswitch.poll;
	int cpu = n->vswitch.cpu;

	if (!net_seen(st, i, "subnet"))
		return net_fail(st, i, NULL, "subnet is required, e.g. subnet "
				"= 10.90.0.0/24");
	if (!net_seen(st, i, "age_ms"))
		n->age_ms = 300000;	/* FN_VSW_AGE_DEFAULT_MS, 802.1D */
	n->vswitch = st->cfg->role[FN_ROLE_VSWITCH];
	if (net_seen(st, i, "poll"))
		n->vswitch.poll = poll;
	if (net_seen(st, i, "cpu"))
		n->vswitch.cpu = cpu;
	for (unsigned j = 0; j < i; j++)
		if (nets_overlap(&n->subnet, &st->cfg->network[j].subnet))
			return net_fail(st, i, "subnet", "overlaps the subnet "
					"of [network %s]",
					st->cfg->network[j].name);
	if (st->cfg->stack.address.addr &&
	    nets_overlap(&n->subnet, &st->cfg->stack.address))
		return net_fail(st, i, "subnet", "overlaps the subnet of "
				"[stack] address, the stacks' uplink");
	return net_host(st, i);
}

static int net_find(const struct fn_config *cfg, const char *name)
{
	for (unsigned i = 0; i < cfg->nnetworks; i++)
		if (strcmp(cfg->network[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Pipeline p's networks list: its own, else [stack]'s.  *line is where it
 * was set (0: nowhere), label and key name that place. */
static const struct net_list *pipe_list(struct load_state *st, unsigned p,
					unsigned *line, char label[32])
{
	size_t k = field_key(SEC_PIPELINE, -1, F_NETS);

	*line = st->seen[slot_of(SEC_PIPELINE, p)][k];
	if (*line) {
		sec_label(st, SEC_PIPELINE, p, label);
		return &st->pipe_nets[p];
	}
	*line = st->seen[SEC_STACK][field_key(SEC_STACK, -1, F_NETS)];
	strcpy(label, "stack");
	return &st->stack_nets;
}

/* One item of pipeline p's list: a network that exists, an address on it
 * (given, or subnet + p + 1). */
static int attach_one(struct load_state *st, unsigned p,
		      const struct net_ref *r, unsigned line,
		      const char *label)
{
	struct fn_pipeline_conf *pc = &st->cfg->pipeline[p];
	struct fn_attach_conf *a = &pc->net[pc->nnets];
	int i = net_find(st->cfg, r->name);
	const struct fn_network_conf *n = &st->cfg->network[i < 0 ? 0 : i];
	char ip[INET_ADDRSTRLEN], sub[INET_ADDRSTRLEN];

	if (i < 0)
		return fail_at(st, line, label, "networks", "%s: no [network "
			       "%s] section", r->name, r->name);
	a->network = (unsigned)i;
	a->address = r->addr ? r->addr :
		     htonl(ntohl(n->subnet.addr) + p + 1);
	if (!net_host_ok(n, a->address))
		return fail_at(st, line, label, "networks", "pipeline %u on "
			       "%s: %s is not a host of subnet %s/%u%s", p,
			       n->name, ip_str(a->address, ip),
			       ip_str(n->subnet.addr, sub), n->subnet.prefix,
			       r->addr ? "" : " (pipeline + 1; give one as "
			       "NAME@ADDRESS)");
	net_mac(a->address, a->mac);
	pc->nnets++;
	return 0;
}

/* Pipeline p's attachments, from its list; only a stack attaches. */
static int attach_pipeline(struct load_state *st, unsigned p)
{
	char label[32];
	unsigned line;
	const struct net_list *l = pipe_list(st, p, &line, label);

	if (!st->cfg->pipeline[p].comp[FN_ROLE_STACK].exec[0]) {
		if (l->n && l != &st->stack_nets)
			return fail_at(st, line, label, "networks", "pipeline "
				       "%u runs no stack to attach", p);
		return 0;
	}
	for (unsigned k = 0; k < l->n; k++)
		if (attach_one(st, p, &l->ref[k], line, label))
			return -1;
	return 0;
}

/* Network i's ports: at least one stack, at most FN_NET_MAX_PORTS with
 * the host, and no address twice. */
static int net_ports(struct load_state *st, unsigned i)
{
	const struct fn_config *cfg = st->cfg;
	uint32_t addr[FN_NET_MAX_PORTS];
	unsigned n = 0;
	char ip[INET_ADDRSTRLEN];

	if (cfg->network[i].host)
		addr[n++] = cfg->network[i].host_address;
	for (unsigned p = 0; p < cfg->npipelines; p++)
		for (unsigned k = 0; k < cfg->pipeline[p].nnets; k++) {
			const struct fn_attach_conf *a = &cfg->pipeline[p].net[k];

			if (a->network != i)
				continue;
			if (n == FN_NET_MAX_PORTS)
				return net_fail(st, i, NULL, "more than %d "
						"ports (stacks and host)",
						FN_NET_MAX_PORTS);
			for (unsigned j = 0; j < n; j++)
				if (addr[j] == a->address)
					return net_fail(st, i, NULL, "pipeline "
							"%u's address %s is "
							"taken", p, ip_str(
							a->address, ip));
			addr[n++] = a->address;
		}
	if (n == (cfg->network[i].host ? 1u : 0u))
		return net_fail(st, i, NULL, "no stack attaches to it; name it "
				"in [stack] or [pipeline N] networks");
	return 0;
}

static int resolve_networks(struct load_state *st)
{
	struct fn_config *cfg = st->cfg;

	for (unsigned i = 0; i < cfg->nnetworks; i++)
		if (net_resolve(st, i))
			return -1;
	for (unsigned p = 0; p < cfg->npipelines; p++)
		if (attach_pipeline(st, p))
			return -1;
	for (unsigned i = 0; i < cfg->nnetworks; i++)
		if (net_ports(st, i))
			return -1;
	if (cfg->nnetworks && !cfg->role[FN_ROLE_VSWITCH].exec[0])
		return fail_at(st, 0, "vswitch", "exec", "required: [network "
			       "%s] needs its switch (e.g. exec = "
			       "fragnet-vswitch)", cfg->network[0].name);
	return 0;
}

/* --- uplink addressing ------------------------------------------------------ */

static unsigned pipe_seen(const struct load_state *st, unsigned p,
			  const char *name)
{
	return idx_seen(st, SEC_PIPELINE, p, name);
}

/* An error about pipeline p's uplink: on its [pipeline N] key's line when
 * it set key, else on [stack] address's, from which it was derived. */
__attribute__((format(printf, 4, 5)))
static int uplink_fail(struct load_state *st, unsigned p, const char *key,
		       const char *fmt, ...)
{
	unsigned line = pipe_seen(st, p, key);
	char label[32];
	va_list ap;

	va_start(ap, fmt);
	if (line)
		vfail_at(st, line, sec_label(st, SEC_PIPELINE, p, label), key,
			 fmt, ap);
	else
		vfail_at(st, st->seen[SEC_STACK][find_key(SEC_STACK,
			 "address") - keys], "stack", "address", fmt, ap);
	va_end(ap);
	return -1;
}

/* In the subnet of net, and (for /30 and shorter) neither its network nor
 * its broadcast address. */
static bool uplink_host_ok(const struct fn_ip4 *net, uint32_t a)
{
	uint32_t m = prefix_mask(net->prefix);

	if ((a ^ net->addr) & m)
		return false;
	return net->prefix > 30 || ((a & ~m) && (a | m) != 0xffffffffu);
}

/* Pipeline p's address, given or [stack] address + p, and its checks:
 * a host of its subnet, the gateway on it, not the tap's, no overlap with
 * a network, and no earlier pipeline's (q < p). */
static int uplink_address(struct load_state *st, unsigned p)
{
	const struct fn_config *cfg = st->cfg;
	struct fn_ip4 *a = &st->cfg->pipeline[p].stack_address;
	bool own = pipe_seen(st, p, "stack_address") != 0;
	const char *how = own ? "" : " ([stack] address + pipeline index; set "
				     "[pipeline N] stack_address)";
	char ip[INET_ADDRSTRLEN], sub[INET_ADDRSTRLEN];

	if (!own)
		*a = (struct fn_ip4){ htonl(ntohl(cfg->stack.address.addr) + p),
				      cfg->stack.address.prefix };
	if (!uplink_host_ok(own ? a : &cfg->stack.address, a->addr) ||
	    !ip4_unicast(a->addr))
		return uplink_fail(st, p, "stack_address", "pipeline %u: %s is "
				   "not a host of %s/%u%s", p, ip_str(a->addr, ip),
				   ip_str(a->addr & prefix_mask(a->prefix), sub),
				   a->prefix, how);
	if (cfg->stack.gateway && (!uplink_host_ok(a, cfg->stack.gateway) ||
				   cfg->stack.gateway == a->addr))
		return uplink_fail(st, p, "stack_address", "pipeline %u: %s/%u "
				   "does not reach [stack] gateway %s on the "
				   "link", p, ip_str(a->addr, ip), a->prefix,
				   ip_str(cfg->stack.gateway, sub));
	if (a->addr == cfg->nic.address.addr)
		return uplink_fail(st, p, "stack_address", "pipeline %u: %s is "
				   "[nic] address, the tap's kernel side%s", p,
				   ip_str(a->addr, ip), how);
	for (unsigned i = 0; own && i < cfg->nnetworks; i++)
		if (nets_overlap(a, &cfg->network[i].subnet))
			return uplink_fail(st, p, "stack_address", "overlaps "
					   "the subnet of [network %s]",
					   cfg->network[i].name);
	for (unsigned q = 0; q < p; q++)
		if (cfg->pipeline[q].stack_address.addr == a->addr)
			return uplink_fail(st, p, "stack_address", "pipeline "
					   "%u: %s is pipeline %u's address", p,
					   ip_str(a->addr, ip), q);
	return 0;
}

/* Pipeline p's MAC, given or 02:00 and its address; unique.  It may be
 * [nic] mac: the port answers to both (a tap's kernel side has a MAC
 * derived from it, never of the form 02:00:...). */
static int uplink_mac(struct load_state *st, unsigned p)
{
	const struct fn_config *cfg = st->cfg;
	uint8_t *mac = st->cfg->pipeline[p].stack_mac;

	if (!pipe_seen(st, p, "stack_mac"))
		net_mac(cfg->pipeline[p].stack_address.addr, mac);
	for (unsigned q = 0; q < p; q++)
		if (memcmp(cfg->pipeline[q].stack_mac, mac, 6) == 0)
			return uplink_fail(st, p, "stack_mac", "pipeline %u: "
					   "its MAC is pipeline %u's", p, q);
	return 0;
}

/* Pipeline p's uplink address and MAC (fn_pipeline_conf.stack_address). */
static int resolve_uplink(struct load_state *st, unsigned p)
{
	struct fn_config *cfg = st->cfg;
	struct fn_pipeline_conf *pc = &cfg->pipeline[p];
	bool shared = cfg->stack.addressing == FN_ADDRESSING_SHARED;
	const char *key = pipe_seen(st, p, "stack_address") ? "stack_address"
			  : pipe_seen(st, p, "stack_mac") ? "stack_mac" : NULL;
	char label[32];

	if (key && (shared || !fn_config_has_uplink(cfg, p)))
		return fail_at(st, pipe_seen(st, p, key), sec_label(st,
			       SEC_PIPELINE, p, label), key, shared ? "only "
			       "with [stack] addressing = per-pipeline" :
			       "pipeline %u has no uplink (a driver and a "
			       "stack)", p);
	if (!fn_config_has_uplink(cfg, p)) {
		memset(&pc->stack_address, 0, sizeof(pc->stack_address));
		memset(pc->stack_mac, 0, sizeof(pc->stack_mac));
		return 0;
	}
	if (shared) {
		pc->stack_address = cfg->stack.address;
		memcpy(pc->stack_mac, cfg->nic.mac, 6);
		return 0;
	}
	return uplink_address(st, p) || uplink_mac(st, p) ? -1 : 0;
}

static int resolve_uplinks(struct load_state *st)
{
	for (unsigned p = 0; p < st->cfg->npipelines; p++)
		if (resolve_uplink(st, p))
			return -1;
	return 0;
}

/* --- [cluster] ---------------------------------------------------------------- */

/* Every pipeline an app at an address of its own, enough for the
 * replicas.  A killed master must stay down until its replica has taken
 * over (without persistence it would come back empty and wipe the
 * replica), hence the restart delay's default with replicas. */
/* masters or replicas, each within pipelines; masters resolved. */
static int cluster_roles(struct load_state *st)
{
	struct fn_config *cfg = st->cfg;

	if (seen(st, SEC_CLUSTER, "masters") && seen(st, SEC_CLUSTER, "replicas"))
		return fail_at(st, idx_seen(st, SEC_CLUSTER, 0, "masters"),
			       "cluster", "masters", "give replicas or masters, "
			       "not both");
	if (cfg->cluster.masters > cfg->npipelines)
		return fail_at(st, idx_seen(st, SEC_CLUSTER, 0, "masters"),
			       "cluster", "masters", "%u masters need at least "
			       "%u pipelines, not %u", cfg->cluster.masters,
			       cfg->cluster.masters, cfg->npipelines);
	if (cfg->cluster.replicas + 1 > cfg->npipelines)
		return fail_at(st, idx_seen(st, SEC_CLUSTER, 0, "replicas"),
			       "cluster", "replicas",
			       "%u replicas per master need at least %u "
			       "pipelines, not %u", cfg->cluster.replicas,
			       cfg->cluster.replicas + 1, cfg->npipelines);
	if (!cfg->cluster.masters)
		cfg->cluster.masters = cfg->npipelines /
				       (cfg->cluster.replicas + 1);
	if (!seen(st, SEC_CLUSTER, "restart_delay_ms") &&
	    cfg->cluster.masters < cfg->npipelines)
		cfg->cluster.restart_delay_ms = FN_CLUSTER_RESTART_DELAY_MS;
	return 0;
}

static int check_cluster(struct load_state *st)
{
	struct fn_config *cfg = st->cfg;
	unsigned line = idx_seen(st, SEC_CLUSTER, 0, "enabled");

	if (!cfg->cluster.enabled)
		return 0;
	if (cfg->stack.addressing != FN_ADDRESSING_PER_PIPELINE)
		return fail_at(st, line, "cluster", "enabled", "a cluster "
			       "needs an address per node: [stack] addressing "
			       "= per-pipeline");
	if (cluster_roles(st))
		return -1;
	for (unsigned p = 0; p < cfg->npipelines; p++) {
		const struct fn_component_conf *c = cfg->pipeline[p].comp;

		if (!c[FN_ROLE_APP].exec[0] || !fn_config_has_uplink(cfg, p))
			return fail_at(st, line, "cluster", "enabled",
				       "pipeline %u has no %s; every pipeline "
				       "of a cluster runs an app on a stack "
				       "with an uplink", p,
				       c[FN_ROLE_APP].exec[0] ? "uplink" :
				       "app");
	}
	return 0;
}

static int finish(struct load_state *st)
{
	if (check_args(st) || check_pipeline_sections(st) ||
	    derived_defaults(st))
		return -1;
	for (unsigned p = 0; p < st->cfg->npipelines; p++) {
		for (int r = 0; r < FN_ROLE_COUNT; r++)
			resolve_comp(st, p, r);
		if (!field_seen(st, SEC_PIPELINE, p, FN_ROLE_STACK, F_RULESET))
			memcpy(st->cfg->pipeline[p].stack_ruleset,
			       st->cfg->stack.ruleset, PATH_MAX);
	}
	if (!seen(st, SEC_NIC, "queues"))
		st->cfg->nic.queues = driver_pipelines(st) ?
				      driver_pipelines(st) : st->cfg->npipelines;
	if (check_restart(st) || check_nic(st) || resolve_networks(st) ||
	    check_stack(st) || resolve_uplinks(st) || check_apps(st) ||
	    check_cluster(st))
		return -1;
	return 0;
}

/* --- entry points ------------------------------------------------------------ */

/* cfg->path: abspath if given, else file made absolute against the cwd. */
static int set_path(struct load_state *st, const char *abspath)
{
	struct fn_config *cfg = st->cfg;
	char cwd[PATH_MAX];
	int n;

	if (abspath)
		n = snprintf(cfg->path, sizeof cfg->path, "%s", abspath);
	else if (st->file[0] == '/' || !getcwd(cwd, sizeof cwd))
		n = snprintf(cfg->path, sizeof cfg->path, "%s", st->file);
	else
		n = snprintf(cfg->path, sizeof cfg->path, "%s/%s", cwd,
			     st->file);
	if (n < 0 || (size_t)n >= sizeof cfg->path)
		return fail_at(st, 0, NULL, NULL, "path is longer than %d "
			       "characters", PATH_MAX - 1);
	/* No '/' at all only if getcwd() failed: stay relative to the cwd. */
	st->dirlen = strrchr(cfg->path, '/') ?
		     (int)(strrchr(cfg->path, '/') - cfg->path) : -1;
	return 0;
}

static int load_text(struct fn_config *cfg, const char *file,
		     const char *abspath, const char *text, size_t len,
		     char *err)
{
	struct load_state st = {
		.cfg = cfg, .file = file, .err = err,
		.pos = text, .end = text + len, .sec = SEC_NONE,
	};
	int r;

	memset(cfg, 0, sizeof *cfg);
	err[0] = '\0';
	if (set_path(&st, abspath) == 0) {
		set_defaults(cfg);
		r = ini_parse_stream(read_line, &st, on_key, &st);
		/* read_line() catches every syntax error inih would. */
		if (r != 0 && !st.failed)
			fail_at(&st, r > 0 ? (unsigned)r : 0, NULL, NULL,
				"internal error: inih rejected this line (%d)",
				r);
		if (!st.failed)
			finish(&st);
	}
	if (!st.failed)
		return 0;
	memset(cfg, 0, sizeof *cfg);
	return -EINVAL;
}

int fn_config_load_string(struct fn_config *cfg, const char *name,
			  const char *text, char err[FN_CONFIG_ERR_MAX])
{
	return load_text(cfg, name, NULL, text, strlen(text), err);
}

/* The whole file, NUL-terminated, in *text (caller frees). */
static int read_file(const char *path, char **text, size_t *len, char *err)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	int rc = 0;

	if (!f) {
		rc = -errno;
		snprintf(err, FN_CONFIG_ERR_MAX, "%s: cannot open: %s", path,
			 strerror(-rc));
		return rc;
	}
	buf = malloc(MAX_FILE_SIZE + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto err_close;
	}
	*len = fread(buf, 1, MAX_FILE_SIZE + 1, f);
	if (ferror(f))
		rc = errno ? -errno : -EIO;
	else if (*len > MAX_FILE_SIZE)
		rc = -EFBIG;
	if (rc) {
		free(buf);
		goto err_close;
	}
	buf[*len] = '\0';
	*text = buf;
	fclose(f);
	return 0;

err_close:
	snprintf(err, FN_CONFIG_ERR_MAX, "%s: cannot read: %s", path,
		 rc == -EFBIG ? "larger than 1 MiB; not a topology file?"
			      : strerror(-rc));
	fclose(f);
	return rc;
}

int fn_config_load(struct fn_config *cfg, const char *path,
		   char err[FN_CONFIG_ERR_MAX])
{
	char abspath[PATH_MAX], *text = NULL;
	size_t len = 0;
	int rc;

	memset(cfg, 0, sizeof *cfg);
	rc = read_file(path, &text, &len, err);
	if (rc)
		return rc;
	/* Relative execs follow the file itself, wherever symlinks put it. */
	if (!realpath(path, abspath)) {
		rc = -errno;
		snprintf(err, FN_CONFIG_ERR_MAX, "%s: cannot open: %s", path,
			 strerror(-rc));
		free(text);
		return rc;
	}
	rc = load_text(cfg, path, abspath, text, len, err);
	free(text);
	return rc;
}

const char *fn_role_name(enum fn_role r)
{
	static const char *const names[] = {
		[FN_ROLE_NIC] = "nic", [FN_ROLE_DRIVER] = "driver",
		[FN_ROLE_STACK] = "stack", [FN_ROLE_APP] = "app",
		[FN_ROLE_VSWITCH] = "vswitch",
	};

	return (unsigned)r < FN_ROLE_COUNT ? names[r] : "?";
}

void fn_config_uplink(const struct fn_config *cfg, int p, struct fn_ip4 *addr,
		      uint8_t mac[6])
{
	const struct fn_pipeline_conf *pc = p >= 0 &&
		(unsigned)p < cfg->npipelines ? &cfg->pipeline[p] : NULL;

	if (pc && pc->stack_address.addr) {
		*addr = pc->stack_address;
		memcpy(mac, pc->stack_mac, 6);
	} else {
		*addr = cfg->stack.address;
		memcpy(mac, cfg->nic.mac, 6);
	}
}

bool fn_config_has_uplink(const struct fn_config *cfg, unsigned p)
{
	const struct fn_component_conf *c = cfg->pipeline[p].comp;

	return c[FN_ROLE_DRIVER].exec[0] && c[FN_ROLE_STACK].exec[0];
}
