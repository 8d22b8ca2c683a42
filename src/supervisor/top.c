/*
 * top.c - `fragnet top`: a live view of a running topology, refreshed
 * every second, like top(1) or dpdk-proc-info.
 *
 * It asks the supervisor for `stats --prometheus` (ctl.h "stats-prom")
 * twice, a delay apart, and shows per component what changed: CPU%
 * (fragnet_component_cpu_seconds_total), packets and bytes per second,
 * drops per second with the counter that dropped most, the stack's socket
 * channel requests per second, and restarts.  The exposition is the one
 * format, so `top` sees exactly what Prometheus would (docs/observe.md).
 *
 *   fragnet top [-b|--batch N] [-d|--delay S] [TOPOLOGY]
 *
 * Interactive: ncurses, q quits.  --batch N: N plain-text frames on
 * stdout, then exit (for scripts and tests).
 */
#include <curses.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fragnet/clock.h"
#include "fragnet/ctl.h"
#include "sup.h"

#define TOP_TIMEOUT_MS	5000
#define TOP_LABEL_MAX	32
#define TOP_FAMILY_MAX	128

/* One sample of the exposition. */
struct sample {
	char label[TOP_LABEL_MAX];	/* component="..." */
	char family[TOP_FAMILY_MAX];
	int pipeline;			/* -1: none */
	double value;
};

struct snap {
	struct sample *v;
	size_t n, cap;
	uint64_t at_ms;
};

/* What one component did between two snapshots. */
struct row {
	char label[TOP_LABEL_MAX];
	int pipeline;
	double cpu, pkts, bytes, drops, sockreq, restarts, up;
	char top_drop[TOP_FAMILY_MAX];
	double top_drop_rate;
};

enum kind { K_OTHER, K_PKTS, K_BYTES, K_DROP };

static int sample_cmp(const void *x, const void *y)
{
	const struct sample *a = x, *b = y;
	int d = strcmp(a->label, b->label);

	return d ? d : strcmp(a->family, b->family);
}

/* label="value" of a label set; false if absent or too long. */
static bool label_get(const char *labels, const char *key, char *out,
		      size_t len)
{
	char pat[32];
	const char *p, *e;

	snprintf(pat, sizeof(pat), "%s=\"", key);
	p = strstr(labels, pat);
	if (!p)
		return false;
	p += strlen(pat);
	e = strchr(p, '"');
	if (!e || (size_t)(e - p) >= len)
		return false;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
	return true;
}

/* One line "family{labels} value"; comments and the rest are skipped. */
static int snap_line(struct snap *s, const char *line)
{
	const char *brace = strchr(line, '{'), *close;
	char pipe[16];
	struct sample *v;

	if (line[0] == '#' || !brace || (size_t)(brace - line) >= TOP_FAMILY_MAX)
		return 0;
	close = strchr(brace, '}');
	if (!close)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 512;
		struct sample *nv = realloc(s->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = cap;
	}
	v = &s->v[s->n];
	memcpy(v->family, line, (size_t)(brace - line));
	v->family[brace - line] = '\0';
	if (!label_get(brace, "component", v->label, sizeof(v->label)))
		return 0;
	v->pipeline = label_get(brace, "pipeline", pipe, sizeof(pipe)) ?
		      atoi(pipe) : -1;
	v->value = strtod(close + 1, NULL);
	s->n++;
	return 0;
}

/* A snapshot of the exposition of run_dir. */
static int snap_take(const char *run_dir, struct snap *s)
{
	char *buf = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int err;

	if (!f)
		return -errno;
	err = ctl_request_to(run_dir, FN_CTL_STATS_PROM, TOP_TIMEOUT_MS, f);
	fclose(f);
	s->n = 0;
	s->at_ms = (uint64_t)fn_clock_ms();
	for (line = strtok_r(buf, "\n", &save); !err && line;
	     line = strtok_r(NULL, "\n", &save))
		err = snap_line(s, line);
	free(buf);
	if (!err)
		qsort(s->v, s->n, sizeof(*s->v), sample_cmp);
	return err;
}

/* true if s is "port<digits>_<tail>" */
static bool port_family(const char *s, const char *tail)
{
	if (strncmp(s, "port", 4) != 0)
		return false;
	s += 4;
	if (*s < '0' || *s > '9')
		return false;
	while (*s >= '0' && *s <= '9')
		s++;
	return *s == '_' && strcmp(s + 1, tail) == 0;
}

/* What a counter of a role's component counts: the family without
 * "fragnet_<role>_". */
static enum kind kind_of(const char *rest)
{
	static const char *const pkts[] = {
		"rx_pkts_total", "tx_pkts_total", "rx_frames_total",
		"tx_frames_total", "ipackets_total", "opackets_total",
	};
	static const char *const bytes[] = {
		"rx_bytes_total", "tx_bytes_total", "ibytes_total",
		"obytes_total",
	};
	static const char *const nic_drops[] = {
		"imissed_total", "ierrors_total", "oerrors_total",
		"rx_nombuf_total",
	};

	for (size_t i = 0; i < sizeof(pkts) / sizeof(pkts[0]); i++)
		if (strcmp(rest, pkts[i]) == 0 || port_family(rest, pkts[i]))
			return K_PKTS;
	for (size_t i = 0; i < sizeof(bytes) / sizeof(bytes[0]); i++)
		if (strcmp(rest, bytes[i]) == 0 || port_family(rest, bytes[i]))
			return K_BYTES;
	for (size_t i = 0; i < sizeof(nic_drops) / sizeof(nic_drops[0]); i++)
		if (strcmp(rest, nic_drops[i]) == 0)
			return K_DROP;
	return strstr(rest, "drop") ? K_DROP : K_OTHER;
}

static struct row *row_of(struct row **rows, size_t *n, const struct sample *v)
{
	struct row *r;

	if (*n && strcmp((*rows)[*n - 1].label, v->label) == 0)
		return &(*rows)[*n - 1];
	r = realloc(*rows, (*n + 1) * sizeof(*r));
	if (!r)
		return NULL;
	*rows = r;
	r = &r[(*n)++];
	memset(r, 0, sizeof(*r));
	snprintf(r->label, sizeof(r->label), "%s", v->label);
	r->pipeline = v->pipeline;
	return r;
}

/* One sample's rate (per second) into its row. */
static void row_add(struct row *r, const struct sample *v, double rate)
{
	const char *rest = v->family;
	size_t rl = strcspn(r->label, "/");

	if (strcmp(v->family, "fragnet_component_cpu_seconds_total") == 0) {
		r->cpu = rate * 100.0;
		return;
	}
	if (strcmp(v->family, "fragnet_component_restarts_total") == 0) {
		r->restarts = v->value;
		return;
	}
	if (strcmp(v->family, "fragnet_component_up") == 0) {
		r->up = v->value;
		return;
	}
	/* fragnet_<role>_<rest>, role the label up to '/' */
	if (strncmp(rest, "fragnet_", 8) == 0 &&
	    strncmp(rest + 8, r->label, rl) == 0 && rest[8 + rl] == '_')
		rest += 9 + rl;
	if (strcmp(rest, "sock_requests_total") == 0)
		r->sockreq = rate;
	switch (kind_of(rest)) {
	case K_PKTS:	r->pkts += rate; break;
	case K_BYTES:	r->bytes += rate; break;
	case K_DROP:
		r->drops += rate;
		if (rate > r->top_drop_rate) {
			r->top_drop_rate = rate;
			snprintf(r->top_drop, sizeof(r->top_drop), "%s", rest);
		}
		break;
	default:	break;
	}
}

/* The rows of what changed from a to b (both sorted). */
static size_t rows_diff(const struct snap *a, const struct snap *b,
			struct row **rows)
{
	double secs = (double)(b->at_ms - a->at_ms) / 1000.0;
	size_t n = 0, i = 0;

	if (secs <= 0)
		secs = 1e-3;
	for (size_t j = 0; j < b->n; j++) {
		const struct sample *v = &b->v[j];
		struct row *r = row_of(rows, &n, v);
		double rate = 0;
		int d = 1;

		if (!r)
			break;
		while (i < a->n && (d = sample_cmp(&a->v[i], v)) < 0)
			i++;
		if (i < a->n && d == 0 && v->value >= a->v[i].value)
			rate = (v->value - a->v[i].value) / secs;
		row_add(r, v, rate);
	}
	return n;
}

/* A rate as people read it: 999, 12.3k, 4.56M. */
static void human(char *buf, size_t len, double v)
{
	if (v < 1000)
		snprintf(buf, len, "%.0f", v);
	else if (v < 1e6)
		snprintf(buf, len, "%.1fk", v / 1e3);
	else if (v < 1e9)
		snprintf(buf, len, "%.2fM", v / 1e6);
	else
		snprintf(buf, len, "%.2fG", v / 1e9);
}

static void row_text(const struct row *r, char *buf, size_t len)
{
	char p[16], b[16], d[16], q[16], pipe[16];

	human(p, sizeof(p), r->pkts);
	human(b, sizeof(b), r->bytes);
	human(d, sizeof(d), r->drops);
	if (r->sockreq > 0)
		human(q, sizeof(q), r->sockreq);
	else
		snprintf(q, sizeof(q), "-");
	if (r->pipeline >= 0)
		snprintf(pipe, sizeof(pipe), "%d", r->pipeline);
	else
		snprintf(pipe, sizeof(pipe), "-");
	/* a line longer than len is cut: the screen cuts it anyway */
	if (snprintf(buf, len, "%-18s %4s %3s %6.1f %9s %9s %9s %9s %8.0f  %.60s",
		     r->label, pipe, r->up > 0 ? "up" : "-", r->cpu, p, b, q,
		     d, r->restarts, r->drops > 0 ? r->top_drop : "") < 0)
		buf[0] = '\0';
}

static const char top_header[] =
	"COMPONENT          PIPE  UP   CPU%     PKT/s   BYTES/s SOCKR"
	"EQ/s    DROP/s RESTARTS  TOP DROP";

static void frame_text(const char *name, const struct row *rows, size_t n)
{
	char line[256], when[32];
	time_t t = time(NULL);
	struct tm tm;

	strftime(when, sizeof(when), "%H:%M:%S", localtime_r(&t, &tm));
	printf("fragnet top: topology %s at %s\n%s\n", name, when, top_header);
	for (size_t i = 0; i < n; i++) {
		row_text(&rows[i], line, sizeof(line));
		printf("%s\n", line);
	}
	printf("\n");
	fflush(stdout);
}

static void frame_curses(const char *name, const struct row *rows, size_t n,
			 int delay_ms)
{
	char line[256];

	erase();
	mvprintw(0, 0, "fragnet top: topology %s, every %.1f s; q quits", name,
		 delay_ms / 1000.0);
	attron(A_REVERSE);
	mvprintw(2, 0, "%-*s", COLS > 0 ? COLS : 80, top_header);
	attroff(A_REVERSE);
	for (size_t i = 0; i < n && (int)i + 3 < LINES; i++) {
		row_text(&rows[i], line, sizeof(line));
		mvprintw((int)i + 3, 0, "%.*s", COLS > 0 ? COLS : 80, line);
	}
	refresh();
}

static void top_usage(void)
{
	cmd_usage("top");
}

struct top_opts {
	int batch;		/* frames to print; 0: interactive */
	int delay_ms;
	const char *topology;
};

static int top_parse(int argc, char **argv, struct top_opts *o)
{
	static const struct option longopts[] = {
		{ "batch", required_argument, NULL, 'b' },
		{ "delay", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int opt;

	*o = (struct top_opts){ .delay_ms = 1000 };
	optind = 1;
	while ((opt = getopt_long(argc, argv, "b:d:", longopts, NULL)) != -1) {
		if (opt == 'b') {
			long v = strtol(optarg, &end, 10);

			if (*end || v < 1 || v > 1000000) {
				fprintf(stderr, "fragnet top: --batch %s: a count "
					"of 1..1000000 frames\n", optarg);
				return -EINVAL;
			}
			o->batch = (int)v;
		} else if (opt == 'd') {
			double v = strtod(optarg, &end);

			if (*end || !(v >= 0.1 && v <= 3600)) {
				fprintf(stderr, "fragnet top: --delay %s: seconds, "
					"0.1..3600\n", optarg);
				return -EINVAL;
			}
			o->delay_ms = (int)(v * 1000);
		} else {
			top_usage();
			return -EINVAL;
		}
	}
	if (argc - optind > 1) {
		top_usage();
		return -EINVAL;
	}
	o->topology = optind < argc ? argv[optind] : NULL;
	return 0;
}

/* Wait delay_ms; interactive: true when q was pressed. */
static bool top_wait(bool curses, int delay_ms)
{
	int64_t until = fn_clock_ms() + delay_ms;

	if (!curses) {
		usleep((useconds_t)delay_ms * 1000);
		return false;
	}
	while (fn_clock_ms() < until) {
		int64_t left = until - fn_clock_ms();
		int ch;

		timeout(left > 100 ? 100 : (int)left);
		ch = getch();
		if (ch == 'q' || ch == 'Q')
			return true;
	}
	return false;
}

int cmd_top(int argc, char **argv)
{
	struct snap a = { 0 }, b = { 0 }, t;
	char run_dir[PATH_MAX], name[FN_NAME_MAX];
	struct top_opts o;
	struct row *rows = NULL;
	int ret, err, frames = 0;
	bool curses;

	if (top_parse(argc, argv, &o) < 0)
		return EXIT_USAGE;
	ret = topo_resolve(o.topology, run_dir, name);
	if (ret != EXIT_OK)
		return ret;
	if (topo_live_pid(run_dir) <= 0) {
		fprintf(stderr, "fragnet: topology %s is not running\n", name);
		return EXIT_RUNTIME;
	}
	curses = o.batch == 0;
	if (curses && !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "fragnet top: standard output is not a "
			"terminal: use --batch N\n");
		return EXIT_USAGE;
	}
	err = snap_take(run_dir, &a);
	if (curses && !err) {
		initscr();
		cbreak();
		noecho();
		curs_set(0);
	}
	while (!err) {
		if (top_wait(curses, o.delay_ms))
			break;
		err = snap_take(run_dir, &b);
		if (err)
			break;
		size_t n = rows_diff(&a, &b, &rows);

		if (curses)
			frame_curses(name, rows, n, o.delay_ms);
		else
			frame_text(name, rows, n);
		free(rows);
		rows = NULL;
		t = a;
		a = b;
		b = t;
		if (!curses && ++frames >= o.batch)
			break;
	}
	if (curses)
		endwin();
	free(a.v);
	free(b.v);
	if (err) {
		fprintf(stderr, "fragnet top: topology %s: %s\n", name,
			err == -EREMOTEIO ? "the supervisor refused (an older "
			"fragnet?)" : strerror(-err));
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}
