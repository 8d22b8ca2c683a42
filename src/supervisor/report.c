/*
 * report.c - the text the supervisor sends for `status`, `stats` and
 * `stats-json` (the formats scripts parse are in fragnet/report.h).
 * Called from the main loop (supervisor.c, ctl_dispatch); reads the
 * component table and the read-only stats pages (fn_stats_read sanitises
 * what components wrote; JSON strings are escaped here anyway).
 *
 * Each format has one producer, so that it cannot drift from its
 * description: status_cols[] gives the status header and every row's
 * layout, and each JSON object is written by one function (json_*).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fragnet/report.h"
#include "sup.h"

#define NS_PER_S	1000000000ull

/* ---- a growing string buffer; on ENOMEM it sets oom and stops --------- */

static bool sb_grow(struct sbuf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 1024;
	char *p;

	if (b->oom)
		return false;
	while (cap < b->len + need + 1)
		cap *= 2;
	if (cap == b->cap)
		return true;
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !sb_grow(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void sb_free(struct sbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static void sb_json_str(struct sbuf *b, const char *s)
{
	sb_printf(b, "\"");
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			sb_printf(b, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			sb_printf(b, "\\u%04x", ch);
		else
			sb_printf(b, "%c", ch);
	}
	sb_printf(b, "\"");
}

/* ---- status ------------------------------------------------------------ */

static void fmt_uptime(uint64_t ns, char *buf, size_t len)
{
	uint64_t s = ns / NS_PER_S;

	if (s < 60)
		snprintf(buf, len, "%us", (unsigned)s);
	else if (s < 3600)
		snprintf(buf, len, "%um%02us", (unsigned)(s / 60),
			 (unsigned)(s % 60));
	else if (s < 86400)
		snprintf(buf, len, "%uh%02um", (unsigned)(s / 3600),
			 (unsigned)(s / 60 % 60));
	else
		snprintf(buf, len, "%ud%02uh", (unsigned)(s / 86400),
			 (unsigned)(s / 3600 % 24));
}

static void pipeline_str(const struct comp *c, char *buf, size_t len)
{
	if (c->pipeline < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%d", c->pipeline);
}

/* The status columns (fragnet/report.h).  The last one is not padded:
 * no line ends in blanks. */
static const struct status_col {
	const char *name;
	int width;
} status_cols[FN_STATUS_NCOL] = {
	[FN_STATUS_COMPONENT]	= { "COMPONENT", 10 },
	[FN_STATUS_PIPELINE]	= { "PIPELINE", 8 },
	[FN_STATUS_PID]		= { "PID", 8 },
	[FN_STATUS_CPU]		= { "CPU", 8 },
	[FN_STATUS_STATE]	= { "STATE", 9 },
	[FN_STATUS_RESTARTS]	= { "RESTARTS", 8 },
	[FN_STATUS_UPTIME]	= { "UPTIME", 7 },
	[FN_STATUS_NETWORKS]	= { "NETWORKS", 10 },
	[FN_STATUS_ADDRESS]	= { "ADDRESS", 18 },
	[FN_STATUS_MAC]		= { "MAC", 0 },
};

/* One line of the table, header or row: cell[i] is column i. */
static void status_line(struct sbuf *b, const char *const cell[FN_STATUS_NCOL])
{
	for (unsigned i = 0; i + 1 < FN_STATUS_NCOL; i++)
		sb_printf(b, "%-*s ", status_cols[i].width, cell[i]);
	sb_printf(b, "%s\n", cell[FN_STATUS_NCOL - 1]);
}

static void status_header(struct sbuf *b)
{
	const char *cell[FN_STATUS_NCOL];

	for (unsigned i = 0; i < FN_STATUS_NCOL; i++)
		cell[i] = status_cols[i].name;
	status_line(b, cell);
}

/* The internal networks c is on (report.h, status $8): a vswitch's own,
 * a stack's in the order of its netifs.  Their names, at most
 * FN_STACK_MAX_NETS; returns how many. */
static unsigned comp_networks(const struct sup *s, const struct comp *c,
			      const char *name[FN_STACK_MAX_NETS])
{
	const struct fn_config *cfg = s->cfg;
	const struct fn_pipeline_conf *pc;
	unsigned n = 0;

	if (c->role == FN_ROLE_VSWITCH) {
		name[n++] = cfg->network[c->network].name;
	} else if (c->role == FN_ROLE_STACK) {
		pc = &cfg->pipeline[c->pipeline];
		for (; n < pc->nnets; n++)
			name[n] = cfg->network[pc->net[n].network].name;
	}
	return n;
}

static void networks_str(const struct sup *s, const struct comp *c,
			 char *buf, size_t len)
{
	const char *name[FN_STACK_MAX_NETS];
	unsigned n = comp_networks(s, c, name);
	size_t used = 0;

	snprintf(buf, len, "-");
	for (unsigned i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
					 i ? "," : "", name[i]);
}

#define UPLINK_STR	32	/* "255.255.255.255/32", a MAC */

/* A stack's uplink (report.h, status $9 and $10): its address "A/P" and
 * MAC into addr and mac; false (both "-") for anything else. */
static bool uplink_str(const struct sup *s, const struct comp *c,
		       char addr[UPLINK_STR], char mac[UPLINK_STR])
{
	const struct fn_pipeline_conf *pc;
	char ip[INET_ADDRSTRLEN];
	const uint8_t *m;

	strcpy(addr, "-");
	strcpy(mac, "-");
	if (c->role != FN_ROLE_STACK || c->pipeline < 0)
		return false;
	pc = &s->cfg->pipeline[c->pipeline];
	if (!pc->stack_address.addr)
		return false;
	inet_ntop(AF_INET, &pc->stack_address.addr, ip, sizeof(ip));
	snprintf(addr, UPLINK_STR, "%s/%u", ip,
		 pc->stack_address.prefix);
	m = pc->stack_mac;
	snprintf(mac, UPLINK_STR, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
		 m[3], m[4], m[5]);
	return true;
}

static void status_row(const struct sup *s, const struct comp *c,
		       uint64_t now, struct sbuf *b)
{
	char pl[16], pid[16] = "-", cpu[64] = "-", up[32] = "-", rs[16];
	char nets[FN_STACK_MAX_NETS * FN_IFNAME_MAX];
	char addr[UPLINK_STR], mac[UPLINK_STR];
	const char *cell[FN_STATUS_NCOL] = {
		[FN_STATUS_COMPONENT] = fn_role_name(c->role),
		[FN_STATUS_PIPELINE] = pl,
		[FN_STATUS_PID] = pid,
		[FN_STATUS_CPU] = cpu,
		[FN_STATUS_STATE] = comp_state_name(c, now),
		[FN_STATUS_RESTARTS] = rs,
		[FN_STATUS_UPTIME] = up,
		[FN_STATUS_NETWORKS] = nets,
		[FN_STATUS_ADDRESS] = addr,
		[FN_STATUS_MAC] = mac,
	};

	uplink_str(s, c, addr, mac);
	pipeline_str(c, pl, sizeof(pl));
	networks_str(s, c, nets, sizeof(nets));
	snprintf(rs, sizeof(rs), "%u", c->restarts);
	if (c->pid > 0) {
		snprintf(pid, sizeof(pid), "%d", (int)c->pid);
		place_read_back(c->pid, cpu, sizeof(cpu));
		fmt_uptime(now - c->started_ns, up, sizeof(up));
	}
	status_line(b, cell);
}

/* [cluster]'s state (postup.c), "" without a cluster. */
static const char *cluster_state(const struct sup *s)
{
	static const char *const names[] = {
		[SUP_CLUSTER_OFF] = "waiting", [SUP_CLUSTER_CREATING] = "creating",
		[SUP_CLUSTER_OK] = "ok", [SUP_CLUSTER_FAILED] = "failed",
	};

	if (!s->cfg->cluster.enabled || s->cluster_state > SUP_CLUSTER_FAILED)
		return "";
	return names[s->cluster_state];
}

/* [topology] metrics' server (metrics.c): running, backoff, failed or
 * stopped. */
static const char *metrics_state(const struct sup *s)
{
	const struct sup_metrics *m = &s->metrics;

	if (m->pid > 0)
		return "running";
	if (m->failed)
		return "failed";
	return m->restart_ns ? "backoff" : "stopped";
}

void report_status(const struct sup *s, struct sbuf *b)
{
	uint64_t now = sup_now_ns();
	char up[32];

	fmt_uptime(now - s->started_ns, up, sizeof(up));
	sb_printf(b, "topology %s: supervisor pid %d, up %s, config %s",
		  s->cfg->name, (int)getpid(), up, s->cfg->path);
	if (*cluster_state(s) && s->cluster_state == SUP_CLUSTER_FAILED)
		sb_printf(b, ", cluster failed (%s)", s->cluster_msg);
	else if (*cluster_state(s))
		sb_printf(b, ", cluster %s", cluster_state(s));
	if (*cluster_state(s) && s->failover_msg[0])
		sb_printf(b, " (last: %s)", s->failover_msg);
	if (s->cfg->metrics.family)
		sb_printf(b, ", metrics http://%s/metrics (%s)",
			  s->cfg->metrics.text, metrics_state(s));
	sb_printf(b, "\n\n");
	status_header(b);
	for (unsigned i = 0; i < s->ncomp; i++)
		status_row(s, &s->comp[i], now, b);
}

/* ---- stats, text ------------------------------------------------------- */

static void visit_text(void *arg, const char *name, uint64_t value)
{
	sb_printf(arg, "  %-40s %20llu\n", name, (unsigned long long)value);
}

void report_stats(const struct sup *s, struct sbuf *b)
{
	uint64_t now = sup_now_ns();

	sb_printf(b, "supervisor (topology %s, pid %d)\n", s->cfg->name,
		  (int)getpid());
	sb_printf(b, "  %-40s %20u\n  %-40s %20u\n", "restarts", s->restarts,
		  "exits", s->exits);
	for (unsigned i = 0; i < s->ncomp; i++) {
		const struct comp *c = &s->comp[i];

		sb_printf(b, "%s (pid %d, %s)\n", c->label, (int)c->pid,
			  comp_state_name(c, now));
		sb_printf(b, "  %-40s %20u\n  %-40s %20u\n", "supervisor.restarts",
			  c->restarts, "supervisor.exits", c->exits);
		if (c->stats)
			fn_stats_read(c->stats, FN_STATS_PAGE_SIZE, visit_text, b);
	}
}

/* ---- stats, JSON --------------------------------------------------------- */

/* One JSON object being written: members are added in order, with no
 * white space (report.h gives the keys and their order). */
struct json_obj {
	struct sbuf *b;
	bool empty;
};

static struct json_obj json_open(struct sbuf *b)
{
	sb_printf(b, "{");
	return (struct json_obj){ .b = b, .empty = true };
}

static void json_close(struct json_obj *o)
{
	sb_printf(o->b, "}");
}

/* Start member key; the caller writes its value next. */
static void json_key(struct json_obj *o, const char *key)
{
	sb_printf(o->b, o->empty ? "" : ",");
	o->empty = false;
	sb_json_str(o->b, key);
	sb_printf(o->b, ":");
}

static void json_str(struct json_obj *o, const char *key, const char *v)
{
	json_key(o, key);
	sb_json_str(o->b, v);
}

static void json_int(struct json_obj *o, const char *key, long long v)
{
	json_key(o, key);
	sb_printf(o->b, "%lld", v);
}

static void json_uint(struct json_obj *o, const char *key, uint64_t v)
{
	json_key(o, key);
	sb_printf(o->b, "%llu", (unsigned long long)v);
}

/* fn_stats_visit_fn: one counter into the "counters" object. */
static void visit_json(void *arg, const char *name, uint64_t value)
{
	json_uint(arg, name, value);
}

static void json_counters(const struct comp *c, struct sbuf *b)
{
	struct json_obj o = json_open(b);

	if (c->stats)
		fn_stats_read(c->stats, FN_STATS_PAGE_SIZE, visit_json, &o);
	json_close(&o);
}

static void json_networks(const struct sup *s, const struct comp *c,
			  struct sbuf *b)
{
	const char *name[FN_STACK_MAX_NETS];
	unsigned n = comp_networks(s, c, name);

	sb_printf(b, "[");
	for (unsigned i = 0; i < n; i++) {
		sb_printf(b, i ? "," : "");
		sb_json_str(b, name[i]);
	}
	sb_printf(b, "]");
}

/* "address" and "mac" (report.h): a stack's uplink, else null. */
static void json_uplink(const struct sup *s, const struct comp *c,
			struct json_obj *o)
{
	char addr[UPLINK_STR], mac[UPLINK_STR];

	if (uplink_str(s, c, addr, mac)) {
		json_str(o, "address", addr);
		json_str(o, "mac", mac);
		return;
	}
	json_key(o, "address");
	sb_printf(o->b, "null");
	json_key(o, "mac");
	sb_printf(o->b, "null");
}

static void json_comp(const struct sup *s, const struct comp *c, uint64_t now,
		      struct sbuf *b)
{
	struct json_obj o = json_open(b);

	json_str(&o, "component", fn_role_name(c->role));
	json_key(&o, "pipeline");
	if (c->pipeline < 0)
		sb_printf(b, "null");
	else
		sb_printf(b, "%d", c->pipeline);
	json_key(&o, "networks");
	json_networks(s, c, b);
	json_uplink(s, c, &o);
	json_str(&o, "label", c->label);
	json_int(&o, "pid", c->pid);
	json_str(&o, "state", comp_state_name(c, now));
	json_uint(&o, "restarts", c->restarts);
	json_uint(&o, "exits", c->exits);
	json_key(&o, "counters");
	json_counters(c, b);
	json_close(&o);
}

static void json_supervisor(const struct sup *s, uint64_t now, struct sbuf *b)
{
	struct json_obj o = json_open(b);

	json_int(&o, "pid", getpid());
	json_uint(&o, "restarts", s->restarts);
	json_uint(&o, "exits", s->exits);
	json_uint(&o, "uptime_s", (now - s->started_ns) / NS_PER_S);
	if (*cluster_state(s))
		json_str(&o, "cluster", cluster_state(s));
	if (s->cfg->metrics.family) {
		struct json_obj m;

		json_key(&o, "metrics");
		m = json_open(b);
		json_str(&m, "address", s->cfg->metrics.text);
		json_str(&m, "state", metrics_state(s));
		json_int(&m, "pid", s->metrics.pid);
		json_uint(&m, "restarts", s->metrics.restarts);
		json_close(&m);
	}
	json_close(&o);
}

/* The document: one component object per line. */
void report_stats_json(const struct sup *s, struct sbuf *b)
{
	uint64_t now = sup_now_ns();
	struct json_obj o = json_open(b);

	json_str(&o, "topology", s->cfg->name);
	json_key(&o, "supervisor");
	json_supervisor(s, now, b);
	json_key(&o, "components");
	sb_printf(b, "[");
	for (unsigned i = 0; i < s->ncomp; i++) {
		sb_printf(b, i ? ",\n" : "\n");
		json_comp(s, &s->comp[i], now, b);
	}
	sb_printf(b, "\n]");
	json_close(&o);
	sb_printf(b, "\n");
}

/* ---- stats-prom: the Prometheus text exposition format 0.0.4 ----------- */

/*
 * Every counter of every component becomes one sample of the family
 * fragnet_<role>_<counter>, its name with every character outside
 * [a-zA-Z0-9_] made '_' and a leading "<role>." dropped
 * ("if.fn0.rx_frames" of a stack: fragnet_stack_if_fn0_rx_frames_total;
 * "stack.loops": fragnet_stack_loops_total), labelled topology, component
 * (the label, "stack/1"), pipeline (when it has one) and network (a
 * vswitch's).  Counters end in _total; the few gauges of the stats pages
 * are listed in prom_gauges.  The exposition format wants the samples of
 * one family together under one TYPE line, so the samples are gathered,
 * sorted by family and written in one pass.  Plus per component
 * fragnet_component_up and fragnet_component_restarts_total.
 */
#define PROM_NAME_MAX	(16 + FN_STATS_NAME_MAX + 8)

struct prom_sample {
	char family[PROM_NAME_MAX];
	char name[FN_STATS_NAME_MAX];	/* the counter's own name, for HELP */
	bool gauge;
	bool milli;			/* value is in thousandths */
	unsigned comp;			/* index in s->comp, for the labels */
	uint64_t value;
};

struct prom_acc {
	const struct sup *s;
	unsigned comp;
	struct prom_sample *v;
	size_t n, cap;
	bool oom;
};

/* Counters that go up and down (fragnet-nic's port and queue gauges, a
 * stack's open connections). */
static const char *const prom_gauges[] = {
	"mbufs_in_use", "link_up", "link_speed_mbps", "bcast_pending",
	"tcp_open",
};

static bool prom_is_gauge(const char *name)
{
	const char *last = strrchr(name, '.');

	last = last ? last + 1 : name;
	for (size_t i = 0; i < sizeof(prom_gauges) / sizeof(prom_gauges[0]); i++)
		if (strcmp(last, prom_gauges[i]) == 0)
			return true;
	return false;
}

static void prom_family(char *out, const char *role, const char *name,
			bool gauge)
{
	size_t rl = strlen(role), n;

	/* the stack's own block is "stack.*": no fragnet_stack_stack_ */
	if (strncmp(name, role, rl) == 0 && name[rl] == '.')
		name += rl + 1;
	n = (size_t)snprintf(out, PROM_NAME_MAX - 8, "fragnet_%s_%s", role,
			     name);

	if (n > PROM_NAME_MAX - 9)
		n = PROM_NAME_MAX - 9;
	for (size_t i = 0; i < n; i++) {
		char ch = out[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_'))
			out[i] = '_';
	}
	snprintf(out + n, 8, "%s", gauge ? "" : "_total");
}

/* One sample; milli: value is in thousandths of the family's unit (a
 * CPU time in ms for a _seconds family), written as a decimal. */
static void prom_push(struct prom_acc *a, const char *family,
		      const char *name, bool gauge, bool milli, uint64_t value)
{
	struct prom_sample *v;

	if (a->oom)
		return;
	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 256;

		v = realloc(a->v, cap * sizeof(*v));
		if (!v) {
			a->oom = true;
			return;
		}
		a->v = v;
		a->cap = cap;
	}
	v = &a->v[a->n++];
	snprintf(v->family, sizeof(v->family), "%s", family);
	snprintf(v->name, sizeof(v->name), "%s", name ? name : "");
	v->gauge = gauge;
	v->milli = milli;
	v->comp = a->comp;
	v->value = value;
}

static void visit_prom(void *arg, const char *name, uint64_t value)
{
	struct prom_acc *a = arg;
	char family[PROM_NAME_MAX];
	bool gauge = prom_is_gauge(name);

	prom_family(family, fn_role_name(a->s->comp[a->comp].role), name, gauge);
	prom_push(a, family, name, gauge, false, value);
}

static int prom_cmp(const void *x, const void *y)
{
	const struct prom_sample *a = x, *b = y;
	int d = strcmp(a->family, b->family);

	if (d)
		return d;
	return a->comp < b->comp ? -1 : a->comp > b->comp;
}

/* Label values are ours (names the config checked), escaped anyway. */
static void prom_label(struct sbuf *b, const char *key, const char *v,
		       bool first)
{
	sb_printf(b, "%s%s=\"", first ? "" : ",", key);
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			sb_printf(b, "\\%c", *v);
		else if (*v == '\n')
			sb_printf(b, "\\n");
		else
			sb_printf(b, "%c", *v);
	}
	sb_printf(b, "\"");
}

static void prom_labels(const struct sup *s, const struct comp *c,
			struct sbuf *b)
{
	char pipe[16];

	sb_printf(b, "{");
	prom_label(b, "topology", s->cfg->name, true);
	prom_label(b, "component", c->label, false);
	if (c->pipeline >= 0) {
		snprintf(pipe, sizeof(pipe), "%d", c->pipeline);
		prom_label(b, "pipeline", pipe, false);
	}
	if (c->role == FN_ROLE_VSWITCH)
		prom_label(b, "network", s->cfg->network[c->network].name,
			   false);
	sb_printf(b, "}");
}

/* The HELP and TYPE lines of v's family. */
static void prom_head(const struct sup *s, const struct prom_sample *v,
		      struct sbuf *b)
{
	const char *role = fn_role_name(s->comp[v->comp].role);

	if (strcmp(v->family, "fragnet_component_up") == 0)
		sb_printf(b, "# HELP %s 1 if the component is running, else 0"
			  " (starting, restarting, stopped).\n", v->family);
	else if (strcmp(v->family, "fragnet_component_restarts_total") == 0)
		sb_printf(b, "# HELP %s Restarts of the component by the "
			  "supervisor.\n", v->family);
	else if (strcmp(v->family, "fragnet_component_cpu_seconds_total") == 0)
		sb_printf(b, "# HELP %s CPU time (user + system) of the running "
			  "process since its last start.\n", v->family);
	else
		sb_printf(b, "# HELP %s The %s counter %s of its stats page "
			  "(docs/observe.md).\n", v->family, role, v->name);
	sb_printf(b, "# TYPE %s %s\n", v->family,
		  v->gauge ? "gauge" : "counter");
}

/* CPU time of a running process in ms (utime + stime of /proc/PID/stat:
 * fields 14 and 15, after the command name in parentheses), or -1. */
static int64_t proc_cpu_ms(pid_t pid)
{
	char path[64], buf[512], *p;
	unsigned long long ut, st;
	long hz = sysconf(_SC_CLK_TCK);
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || hz <= 0)
		return -1;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime stime */
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			 "%llu %llu", &ut, &st) != 2)
		return -1;
	return (int64_t)((ut + st) * 1000 / (unsigned long long)hz);
}

void report_stats_prom(const struct sup *s, struct sbuf *b)
{
	uint64_t now = sup_now_ns();
	struct prom_acc a = { .s = s };

	for (a.comp = 0; a.comp < s->ncomp; a.comp++) {
		const struct comp *c = &s->comp[a.comp];
		int64_t cpu_ms = c->pid > 0 ? proc_cpu_ms(c->pid) : -1;

		prom_push(&a, "fragnet_component_up", NULL, true, false,
			  strcmp(comp_state_name(c, now), "running") == 0);
		prom_push(&a, "fragnet_component_restarts_total", NULL, false,
			  false, c->restarts);
		if (cpu_ms >= 0)
			prom_push(&a, "fragnet_component_cpu_seconds_total",
				  NULL, false, true, (uint64_t)cpu_ms);
		if (c->stats)
			fn_stats_read(c->stats, FN_STATS_PAGE_SIZE, visit_prom, &a);
	}
	if (a.oom) {
		b->oom = true;
		free(a.v);
		return;
	}
	qsort(a.v, a.n, sizeof(*a.v), prom_cmp);
	for (size_t i = 0; i < a.n; i++) {
		const struct prom_sample *v = &a.v[i];

		if (i == 0 || strcmp(v->family, a.v[i - 1].family) != 0)
			prom_head(s, v, b);
		sb_printf(b, "%s", v->family);
		prom_labels(s, &s->comp[v->comp], b);
		if (v->milli)
			sb_printf(b, " %llu.%03llu\n",
				  (unsigned long long)(v->value / 1000),
				  (unsigned long long)(v->value % 1000));
		else
			sb_printf(b, " %llu\n", (unsigned long long)v->value);
	}
	free(a.v);
}
