/*
 * test_report.c - unit tests of the `status` and `stats --json` formats
 * (fragnet/report.h), as src/supervisor/report.c writes them.
 *
 * A fake supervisor of three components (a running nic with a stats page,
 * a failed vswitch of network "internal" and a failed stack on it, without
 * pages) is reported, and the text is compared byte for byte with what
 * report.h promises the scripts that parse it.  The few
 * supervisor functions report.c calls are stubbed here.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fragnet/report.h"
#include "fragnet/stats.h"
#include "sup.h"

#define NS_PER_S	1000000000ull
#define NOW_NS		(5000 * NS_PER_S)

/* ---- stubs of the supervisor ------------------------------------------- */

uint64_t sup_now_ns(void)
{
	return NOW_NS;
}

const char *comp_state_name(const struct comp *c, uint64_t now)
{
	(void)now;
	return c->pid > 0 ? "running" : "failed";
}

int place_read_back(pid_t pid, char *buf, size_t len)
{
	(void)pid;
	snprintf(buf, len, "0-3");
	return 0;
}

/* ---- the fake topology ------------------------------------------------- */

struct fixture {
	struct fn_config cfg;
	struct comp comp[3];
	struct sup sup;
	int stats_fd;
	struct fn_stats_page *rw;	/* the nic's side of its page */
	struct sbuf out;
};

static void fixture_stats(struct fixture *f)
{
	_Atomic uint64_t *a, *b;

	f->stats_fd = fn_stats_create("nic", -1, FN_STATS_PAGE_SIZE);
	assert_true(f->stats_fd >= 0);
	f->rw = fn_stats_attach(f->stats_fd);
	assert_non_null(f->rw);
	a = fn_stats_counter(f->rw, "rx_frames");
	b = fn_stats_counter(f->rw, "bad\"name");	/* read back masked */
	assert_true(a && b);
	fn_ctr_add(a, 42);
	fn_ctr_add(b, UINT64_MAX);
	f->comp[0].stats = fn_stats_map_ro(f->stats_fd, FN_STATS_PAGE_SIZE);
	assert_non_null(f->comp[0].stats);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->cfg.name, sizeof(f->cfg.name), "t\"x\t");
	snprintf(f->cfg.path, sizeof(f->cfg.path), "/etc/t.conf");
	f->cfg.nnetworks = 2;
	snprintf(f->cfg.network[0].name, FN_IFNAME_MAX, "internal");
	snprintf(f->cfg.network[1].name, FN_IFNAME_MAX, "b");
	f->cfg.pipeline[0].nnets = 2;
	f->cfg.pipeline[0].net[0].network = 1;
	f->cfg.pipeline[0].net[1].network = 0;
	f->cfg.pipeline[0].stack_address.addr = htonl(0x0a4e0003);
	f->cfg.pipeline[0].stack_address.prefix = 24;
	memcpy(f->cfg.pipeline[0].stack_mac,
	       (const uint8_t[6]){ 2, 0, 10, 78, 0, 3 }, 6);
	f->comp[0] = (struct comp){ .role = FN_ROLE_NIC, .pipeline = -1,
		.network = -1, .label = "nic", .pid = 100,
		.started_ns = NOW_NS - 5 * NS_PER_S, .restarts = 2, .exits = 3 };
	f->comp[1] = (struct comp){ .role = FN_ROLE_VSWITCH, .pipeline = -1,
		.network = 0, .label = "vswitch/internal" };
	f->comp[2] = (struct comp){ .role = FN_ROLE_STACK, .pipeline = 0,
		.network = -1, .label = "stack/0", .restarts = 7, .exits = 8 };
	f->sup = (struct sup){ .cfg = &f->cfg, .comp = f->comp, .ncomp = 3,
		.started_ns = NOW_NS - 3700 * NS_PER_S, .restarts = 9,
		.exits = 11 };
	fixture_stats(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sb_free(&f->out);
	fn_stats_unmap(f->comp[0].stats, FN_STATS_PAGE_SIZE);
	fn_stats_unmap(f->rw, FN_STATS_PAGE_SIZE);
	close(f->stats_fd);
	free(f);
	return 0;
}

/* The reply as a string (report.c does not terminate it). */
static const char *out_str(struct fixture *f)
{
	assert_false(f->out.oom);
	sb_printf(&f->out, "%s", "");
	return f->out.p;
}

/* Run report on the fixture; its text must be exactly the printf of fmt. */
static void __attribute__((format(printf, 3, 4)))
assert_report(struct fixture *f,
	      void (*report)(const struct sup *, struct sbuf *),
	      const char *fmt, ...)
{
	char want[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	report(&f->sup, &f->out);
	assert_string_equal(out_str(f), want);
}

/* ---- status -------------------------------------------------------------- */

static void test_status_bytes(void **state)
{
	assert_report(*state, report_status,
		      "topology t\"x\t: supervisor pid %d, up 1h01m, "
		      "config /etc/t.conf\n"
		      "\n"
		      "COMPONENT  PIPELINE PID      CPU      STATE     RESTARTS UPTIME  NETWORKS   ADDRESS            MAC\n"
		      "nic        -        100      0-3      running   2        5s      -          -                  -\n"
		      "vswitch    -        -        -        failed    0        -       internal   -                  -\n"
		      "stack      0        -        -        failed    7        -       b,internal 10.78.0.3/24       02:00:0a:4e:00:03\n",
		      (int)getpid());
}

/* Split line at blanks as awk does; returns the number of fields. */
static unsigned awk_fields(char *line, char *field[FN_STATUS_NCOL + 1])
{
	char *save = NULL, *w;
	unsigned n = 0;

	for (w = strtok_r(line, " ", &save); w && n <= FN_STATUS_NCOL;
	     w = strtok_r(NULL, " ", &save))
		field[n++] = w;
	return n;
}

/* What lib.sh's awk sees: line 3 and every later line have FN_STATUS_NCOL
 * fields, column $N in the place report.h gives it. */
static void test_status_fields(void **state)
{
	struct fixture *f = *state;
	char *text, *rest, *line, *field[FN_STATUS_NCOL + 1];
	unsigned nr = 0;

	report_status(&f->sup, &f->out);
	rest = text = strdup(out_str(f));
	assert_non_null(text);
	while ((line = strsep(&rest, "\n")) && rest) {
		if (++nr < 3)
			continue;
		assert_int_equal(awk_fields(line, field), FN_STATUS_NCOL);
		assert_string_equal(field[FN_STATUS_PID],
				    nr == 3 ? "PID" : nr == 4 ? "100" : "-");
		assert_string_equal(field[FN_STATUS_STATE],
				    nr == 3 ? "STATE" :
				    nr == 4 ? "running" : "failed");
		assert_string_equal(field[FN_STATUS_NETWORKS],
				    nr == 3 ? "NETWORKS" : nr == 4 ? "-" :
				    nr == 5 ? "internal" : "b,internal");
		assert_string_equal(field[FN_STATUS_ADDRESS],
				    nr == 3 ? "ADDRESS" : nr == 6 ?
				    "10.78.0.3/24" : "-");
		assert_string_equal(field[FN_STATUS_MAC],
				    nr == 3 ? "MAC" : nr == 6 ?
				    "02:00:0a:4e:00:03" : "-");
	}
	assert_int_equal(nr, 6);
	free(text);
}

/* ---- stats --json -------------------------------------------------------- */

/* The document up to the components, given the supervisor's pid. */
#define JSON_HEAD \
	"{\"topology\":\"t\\\"x\\u0009\",\"supervisor\":{\"pid\":%d," \
	"\"restarts\":9,\"exits\":11,\"uptime_s\":3700},\"components\":["

static void test_json_bytes(void **state)
{
	assert_report(*state, report_stats_json, JSON_HEAD "\n"
		"{\"component\":\"nic\",\"pipeline\":null,\"networks\":[],"
		"\"address\":null,\"mac\":null,"
		"\"label\":\"nic\",\"pid\":100,\"state\":\"running\","
		"\"restarts\":2,\"exits\":3,"
		"\"counters\":{\"rx_frames\":42,"
		"\"bad?name\":18446744073709551615}},\n"
		"{\"component\":\"vswitch\",\"pipeline\":null,"
		"\"networks\":[\"internal\"],\"address\":null,\"mac\":null,"
		"\"label\":\"vswitch/internal\",\"pid\":0,"
		"\"state\":\"failed\",\"restarts\":0,\"exits\":0,"
		"\"counters\":{}},\n"
		"{\"component\":\"stack\",\"pipeline\":0,"
		"\"networks\":[\"b\",\"internal\"],"
		"\"address\":\"10.78.0.3/24\",\"mac\":\"02:00:0a:4e:00:03\","
		"\"label\":\"stack/0\",\"pid\":0,\"state\":\"failed\","
		"\"restarts\":7,\"exits\":8,"
		"\"counters\":{}}\n"
		"]}\n", (int)getpid());
}

static void test_json_no_components(void **state)
{
	struct fixture *f = *state;

	f->sup.ncomp = 0;
	assert_report(f, report_stats_json, JSON_HEAD "\n]}\n",
		      (int)getpid());
}

/* [topology] metrics: its server in status line 1 and under
 * "supervisor" in the JSON (report.h). */
static void test_metrics(void **state)
{
	struct fixture *f = *state;
	char want[256];

	f->cfg.metrics.family = 4;
	snprintf(f->cfg.metrics.text, sizeof(f->cfg.metrics.text),
		 "127.0.0.1:9464");
	f->sup.metrics.pid = 321;
	f->sup.metrics.restarts = 2;
	f->sup.ncomp = 0;
	assert_report(f, report_stats_json,
		"{\"topology\":\"t\\\"x\\u0009\",\"supervisor\":{\"pid\":%d,"
		"\"restarts\":9,\"exits\":11,\"uptime_s\":3700,"
		"\"metrics\":{\"address\":\"127.0.0.1:9464\","
		"\"state\":\"running\",\"pid\":321,\"restarts\":2}},"
		"\"components\":[\n]}\n", (int)getpid());
	sb_free(&f->out);
	f->sup.metrics.pid = 0;
	f->sup.metrics.restart_ns = 1;
	report_status(&f->sup, &f->out);
	snprintf(want, sizeof(want), "config /etc/t.conf, metrics "
		 "http://127.0.0.1:9464/metrics (backoff)\n\n");
	assert_non_null(strstr(out_str(f), want));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_status_bytes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_status_fields, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_json_bytes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_json_no_components, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
