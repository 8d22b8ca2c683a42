/*
 * report.c - the text the supervisor sends for `status`, `stats` and
 * `stats-json`.  Called from the main loop; reads the component table and
 * the read-only stats pages (fn_stats_read sanitises what components
 * wrote; JSON strings are escaped here anyway).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static void status_row(const struct comp *c, uint64_t now, struct sbuf *b)
{
	char pl[16], pid[16] = "-", cpu[64] = "-", up[32] = "-";

	pipeline_str(c, pl, sizeof(pl));
	if (c->pid > 0) {
		snprintf(pid, sizeof(pid), "%d", (int)c->pid);
		place_read_back(c->pid, cpu, sizeof(cpu));
		fmt_uptime(now - c->started_ns, up, sizeof(up));
	}
	sb_printf(b, "%-10s %-8s %-8s %-8s %-9s %-8u %s\n",
		  fn_role_name(c->role), pl, pid, cpu,
		  comp_state_name(c, now), c->restarts, up);
}

void report_status(const struct sup *s, struct sbuf *b)
{
	uint64_t now = sup_now_ns();
	char up[32];

	fmt_uptime(now - s->started_ns, up, sizeof(up));
	sb_printf(b, "topology %s: supervisor pid %d, up %s, config %s\n\n",
		  s->cfg->name, (int)getpid(), up, s->cfg->path);
	sb_printf(b, "%-10s %-8s %-8s %-8s %-9s %-8s %s\n", "COMPONENT",
		  "PIPELINE", "PID", "CPU", "STATE", "RESTARTS", "UPTIME");
	for (unsigned i = 0; i < s->ncomp; i++)
		status_row(&s->comp[i], now, b);
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

struct json_visit {
	struct sbuf *b;
	bool first;
};

static void visit_json(void *arg, const char *name, uint64_t value)
{
	struct json_visit *v = arg;

	sb_printf(v->b, v->first ? "" : ",");
	v->first = false;
	sb_json_str(v->b, name);
	sb_printf(v->b, ":%llu", (unsigned long long)value);
}

static void json_comp(const struct comp *c, uint64_t now, struct sbuf *b)
{
	struct json_visit v = { .b = b, .first = true };

	sb_printf(b, "{\"component\":");
	sb_json_str(b, fn_role_name(c->role));
	if (c->pipeline < 0)
		sb_printf(b, ",\"pipeline\":null");
	else
		sb_printf(b, ",\"pipeline\":%d", c->pipeline);
	sb_printf(b, ",\"label\":");
	sb_json_str(b, c->label);
	sb_printf(b, ",\"pid\":%d,\"state\":", (int)c->pid);
	sb_json_str(b, comp_state_name(c, now));
	sb_printf(b, ",\"restarts\":%u,\"exits\":%u,\"counters\":{",
		  c->restarts, c->exits);
	if (c->stats)
		fn_stats_read(c->stats, FN_STATS_PAGE_SIZE, visit_json, &v);
	sb_printf(b, "}}");
}

void report_stats_json(const struct sup *s, struct sbuf *b)
{
	uint64_t now = sup_now_ns();

	sb_printf(b, "{\"topology\":");
	sb_json_str(b, s->cfg->name);
	sb_printf(b, ",\"supervisor\":{\"pid\":%d,\"restarts\":%u,\"exits\":%u,"
		  "\"uptime_s\":%llu},\"components\":[", (int)getpid(),
		  s->restarts, s->exits,
		  (unsigned long long)((now - s->started_ns) / NS_PER_S));
	for (unsigned i = 0; i < s->ncomp; i++) {
		sb_printf(b, i ? ",\n" : "\n");
		json_comp(&s->comp[i], now, b);
	}
	sb_printf(b, "\n]}\n");
}
