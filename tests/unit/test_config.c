/*
 * test_config.c - the topology file parser (fragnet/config.h).
 *
 * Good files are checked field by field; bad ones come from one table, each
 * row with the message it must produce.  Every failing load must leave *cfg
 * all zero, and every teardown checks that no fd and no test_malloc()
 * block leaked.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "fragnet/config.h"
#include "fragnet/log.h"

struct fixture {
	struct fn_config *cfg;
	char err[FN_CONFIG_ERR_MAX];
	int nfds;
};

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int setup(void **state)
{
	struct fixture *f = test_calloc(1, sizeof *f);

	f->cfg = test_malloc(sizeof *f->cfg);
	f->nfds = count_fds();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(count_fds(), f->nfds);
	test_free(f->cfg);
	test_free(f);
	return 0;
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		if (c[i])
			return false;
	return true;
}

/* Load text as name into a cfg full of garbage, so that nothing can pass
 * by being zero already. */
static int load(struct fixture *f, const char *name, const char *text)
{
	memset(f->cfg, 0xa5, sizeof *f->cfg);
	memset(f->err, 'x', sizeof f->err);
	return fn_config_load_string(f->cfg, name, text, f->err);
}

static void expect_ok(struct fixture *f, const char *name, const char *text)
{
	int rc = load(f, name, text);

	if (rc != 0)
		fail_msg("load failed: %s", f->err);
	assert_string_equal(f->err, "");
}

static void expect_zeroed(struct fixture *f)
{
	assert_true(all_zero(f->cfg, sizeof *f->cfg));
}

static uint32_t ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

/* --- good files ----------------------------------------------------------- */

static void test_empty_file_gives_defaults(void **state)
{
	struct fixture *f = *state;
	struct fn_config *c = f->cfg;
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };

	expect_ok(f, "conf/minimal.conf", "");
	assert_string_equal(c->name, "minimal");
	assert_string_equal(c->run_dir, "/run/fragnet/minimal");
	assert_int_equal(c->npipelines, 1);
	assert_int_equal(c->placement, FN_PLACE_COMPACT);
	assert_int_equal(c->poll, FN_POLL_ADAPTIVE);
	assert_int_equal(c->log_level, FN_LOG_INFO);
	assert_int_equal(c->restart.backoff_ms, 100);
	assert_int_equal(c->restart.backoff_max_ms, 5000);
	assert_int_equal(c->restart.crash_loop_limit, 5);
	assert_int_equal(c->restart.crash_loop_window_s, 30);
	assert_int_equal(c->restart.stop_timeout_ms, 3000);
	assert_int_equal(c->link.slots, 1024);
	assert_int_equal(c->link.slot_size, 2048);
	assert_int_equal(c->nic.pmd, FN_PMD_TAP);
	assert_int_equal(c->nic.queues, 1);
	assert_memory_equal(c->nic.mac, mac, 6);
	assert_string_equal(c->nic.ifname, "fn-minimal");
	assert_int_equal(c->nic.address.addr, 0);
	assert_string_equal(c->nic.pci, "");
	assert_int_equal(c->nic.mbufs, 8192);
	assert_string_equal(c->stack.profile, "full");
	assert_int_equal(c->stack.address.addr, 0);
	assert_int_equal(c->stack.gateway, 0);
	assert_int_equal(c->stack.max_tcp, 10000);
	assert_string_equal(c->app.user, FN_APP_USER_DEFAULT);
	assert_true(c->app.preload);
	assert_int_equal(c->app.netns, FN_NETNS_OWN);
	for (int r = 0; r < FN_ROLE_COUNT; r++) {
		const struct fn_component_conf *comp = &c->pipeline[0].comp[r];

		assert_string_equal(c->role[r].exec, "");
		assert_string_equal(comp->exec, "");
		assert_string_equal(comp->args, "");
		assert_int_equal(comp->poll, FN_POLL_ADAPTIVE);
		assert_int_equal(comp->cpu, FN_CPU_AUTO);
	}
	/* Pipelines past npipelines are left zero. */
	assert_true(all_zero(&c->pipeline[1], sizeof c->pipeline[1]));
}

static const char full_text[] =
	"; every key\n"
	"# both comment styles\n"
	"[topology]\n"
	"name = kvs\n"
	"run_dir = /tmp/fragnet-kvs\n"
	"pipelines = 2\n"
	"placement = spread\n"
	"poll = busy\n"
	"log_level = debug\n"
	"\n"
	"[restart]\n"
	"backoff_ms = 50\n"
	"backoff_max_ms = 800\n"
	"crash_loop_limit = 3\n"
	"crash_loop_window_s = 10\n"
	"stop_timeout_ms = 1500\n"
	"[link]\n"
	"slots = 512\n"
	"slot_size = 9216\n"
	"[nic]\n"
	"exec = /opt/fragnet/fragnet-nic\n"
	"args = --log {run_dir}/nic.log\n"
	"pmd = pci\n"
	"pci = 0000:3B:00.1\n"
	"queues = 2\n"
	"mac = 02:AA:bb:cc:dd:0e\n"
	"mbufs = 16384\n"
	"cpu = 0\n"
	"poll = event\n"
	"[driver]\n"
	"exec = /opt/fragnet/fragnet-driver\n"
	"[stack]\n"
	"exec = /opt/fragnet/fragnet-stack\n"
	"profile = udp\n"
	"address = 192.168.7.2/24\n"
	"gateway = 192.168.7.1\n"
	"max_tcp = 100\n"
	"[app]\n"
	"exec = /usr/bin/redis-server\n"
	"args = --port 6379 --save \"\"\n"
	"user = fragnet\n"
	"preload = no\n"
	"netns = host\n"
	"poll = adaptive\n";

static void test_full_file(void **state)
{
	struct fixture *f = *state;
	struct fn_config *c = f->cfg;
	static const uint8_t mac[6] = { 2, 0xaa, 0xbb, 0xcc, 0xdd, 0x0e };

	expect_ok(f, "full.conf", full_text);
	assert_string_equal(c->name, "kvs");
	assert_string_equal(c->run_dir, "/tmp/fragnet-kvs");
	assert_int_equal(c->npipelines, 2);
	assert_int_equal(c->placement, FN_PLACE_SPREAD);
	assert_int_equal(c->poll, FN_POLL_BUSY);
	assert_int_equal(c->log_level, FN_LOG_DEBUG);
	assert_int_equal(c->restart.backoff_ms, 50);
	assert_int_equal(c->restart.backoff_max_ms, 800);
	assert_int_equal(c->restart.crash_loop_limit, 3);
	assert_int_equal(c->restart.crash_loop_window_s, 10);
	assert_int_equal(c->restart.stop_timeout_ms, 1500);
	assert_int_equal(c->link.slots, 512);
	assert_int_equal(c->link.slot_size, 9216);
	assert_int_equal(c->nic.pmd, FN_PMD_PCI);
	assert_string_equal(c->nic.pci, "0000:3b:00.1");
	assert_int_equal(c->nic.queues, 2);
	assert_memory_equal(c->nic.mac, mac, 6);
	assert_int_equal(c->nic.mbufs, 16384);
	assert_string_equal(c->role[FN_ROLE_NIC].exec,
			    "/opt/fragnet/fragnet-nic");
	assert_string_equal(c->role[FN_ROLE_NIC].args,
			    "--log {run_dir}/nic.log");
	assert_int_equal(c->role[FN_ROLE_NIC].cpu, 0);
	assert_int_equal(c->role[FN_ROLE_NIC].poll, FN_POLL_EVENT);
	assert_string_equal(c->stack.profile, "udp");
	assert_int_equal(c->stack.address.addr, ip("192.168.7.2"));
	assert_int_equal(c->stack.address.prefix, 24);
	assert_int_equal(c->stack.gateway, ip("192.168.7.1"));
	assert_int_equal(c->stack.max_tcp, 100);
	assert_string_equal(c->app.user, "fragnet");
	assert_false(c->app.preload);
	assert_int_equal(c->app.netns, FN_NETNS_HOST);
	for (unsigned p = 0; p < 2; p++) {
		const struct fn_component_conf *comp = c->pipeline[p].comp;

		assert_string_equal(comp[FN_ROLE_DRIVER].exec,
				    "/opt/fragnet/fragnet-driver");
		/* Roles without their own poll take [topology] poll. */
		assert_int_equal(comp[FN_ROLE_DRIVER].poll, FN_POLL_BUSY);
		assert_int_equal(comp[FN_ROLE_STACK].poll, FN_POLL_BUSY);
		assert_int_equal(comp[FN_ROLE_APP].poll, FN_POLL_ADAPTIVE);
		assert_string_equal(comp[FN_ROLE_APP].args,
				    "--port 6379 --save \"\"");
	}
}

static void test_pipeline_overrides(void **state)
{
	struct fixture *f = *state;
	const struct fn_pipeline_conf *p;

	expect_ok(f, "ovr.conf",
		  "[topology]\npipelines = 3\n"
		  "[driver]\nexec = /bin/drv\ncpu = 5\npoll = busy\n"
		  "[stack]\nexec = /bin/stk\naddress = 10.0.0.2/24\n"
		  "[app]\nexec = /bin/app\nargs = --port 6379\n"
		  "[pipeline 1]\n"
		  "cpu = 1\n"
		  "stack_cpu = 2\n"
		  "app_args = --port 6380\n"
		  "driver_poll = event\n"
		  "[pipeline 2]\n"
		  "app_exec = none\n"
		  "driver_exec = /bin/other\n"
		  "driver_cpu = auto\n");
	p = f->cfg->pipeline;
	/* Pipeline 0: section defaults only. */
	assert_string_equal(p[0].comp[FN_ROLE_DRIVER].exec, "/bin/drv");
	assert_int_equal(p[0].comp[FN_ROLE_DRIVER].cpu, 5);
	assert_int_equal(p[0].comp[FN_ROLE_STACK].cpu, FN_CPU_AUTO);
	assert_string_equal(p[0].comp[FN_ROLE_APP].args, "--port 6379");
	/* Pipeline 1: cpu for all roles, stack_cpu wins over it. */
	assert_int_equal(p[1].comp[FN_ROLE_DRIVER].cpu, 1);
	assert_int_equal(p[1].comp[FN_ROLE_STACK].cpu, 2);
	assert_int_equal(p[1].comp[FN_ROLE_APP].cpu, 1);
	assert_string_equal(p[1].comp[FN_ROLE_APP].args, "--port 6380");
	assert_string_equal(p[1].comp[FN_ROLE_APP].exec, "/bin/app");
	assert_int_equal(p[1].comp[FN_ROLE_DRIVER].poll, FN_POLL_EVENT);
	assert_int_equal(p[1].comp[FN_ROLE_STACK].poll, FN_POLL_ADAPTIVE);
	/* Pipeline 2: an app not run, another driver, un-pinned. */
	assert_string_equal(p[2].comp[FN_ROLE_APP].exec, "");
	assert_string_equal(p[2].comp[FN_ROLE_DRIVER].exec, "/bin/other");
	assert_int_equal(p[2].comp[FN_ROLE_DRIVER].cpu, FN_CPU_AUTO);
	assert_int_equal(p[2].comp[FN_ROLE_DRIVER].poll, FN_POLL_BUSY);
	/* The section defaults themselves are untouched. */
	assert_int_equal(f->cfg->role[FN_ROLE_DRIVER].cpu, 5);
}

/* sched: the packet path's roles default to batch, apps and the nic to
 * normal; a section and a [pipeline N] <role>_sched override it. */
static void test_sched(void **state)
{
	struct fixture *f = *state;
	const struct fn_pipeline_conf *p;

	expect_ok(f, "sched.conf", "[topology]\npipelines = 3\n");
	assert_int_equal(f->cfg->role[FN_ROLE_NIC].sched, FN_SCHED_NORMAL);
	assert_int_equal(f->cfg->role[FN_ROLE_VSWITCH].sched, FN_SCHED_BATCH);
	p = f->cfg->pipeline;
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(p[i].comp[FN_ROLE_DRIVER].sched,
				 FN_SCHED_BATCH);
		assert_int_equal(p[i].comp[FN_ROLE_STACK].sched,
				 FN_SCHED_BATCH);
		assert_int_equal(p[i].comp[FN_ROLE_APP].sched,
				 FN_SCHED_NORMAL);
	}
	expect_ok(f, "sched.conf",
		  "[topology]\npipelines = 3\n"
		  "[app]\nsched = batch\n"
		  "[driver]\nsched = normal\n"
		  "[pipeline 1]\nstack_sched = normal\ndriver_sched = batch\n");
	p = f->cfg->pipeline;
	assert_int_equal(p[0].comp[FN_ROLE_APP].sched, FN_SCHED_BATCH);
	assert_int_equal(p[0].comp[FN_ROLE_DRIVER].sched, FN_SCHED_NORMAL);
	assert_int_equal(p[0].comp[FN_ROLE_STACK].sched, FN_SCHED_BATCH);
	assert_int_equal(p[1].comp[FN_ROLE_STACK].sched, FN_SCHED_NORMAL);
	assert_int_equal(p[1].comp[FN_ROLE_DRIVER].sched, FN_SCHED_BATCH);
	assert_int_equal(p[1].comp[FN_ROLE_APP].sched, FN_SCHED_BATCH);
	assert_int_equal(p[2].comp[FN_ROLE_DRIVER].sched, FN_SCHED_NORMAL);
}

/* slice_us: 0 (the kernel's own) unless set; a section and a [pipeline N]
 * <role>_slice_us set it, the vswitch from [vswitch]. */
static void test_slice(void **state)
{
	struct fixture *f = *state;
	const struct fn_pipeline_conf *p;

	expect_ok(f, "slice.conf", "[topology]\npipelines = 2\n");
	for (int r = 0; r < FN_ROLE_COUNT; r++)
		assert_int_equal(f->cfg->role[r].slice_us, 0);
	for (unsigned i = 0; i < 2; i++)
		for (int r = 0; r < FN_ROLE_COUNT; r++)
			assert_int_equal(f->cfg->pipeline[i].comp[r].slice_us, 0);
	expect_ok(f, "slice.conf",
		  "[topology]\npipelines = 2\n"
		  "[stack]\nslice_us = 100\n"
		  "[vswitch]\nslice_us = 100000\n"
		  "[pipeline 1]\nstack_slice_us = 0\napp_slice_us = 3000\n");
	p = f->cfg->pipeline;
	assert_int_equal(f->cfg->role[FN_ROLE_VSWITCH].slice_us, 100000);
	assert_int_equal(p[0].comp[FN_ROLE_STACK].slice_us, 100);
	assert_int_equal(p[0].comp[FN_ROLE_APP].slice_us, 0);
	assert_int_equal(p[0].comp[FN_ROLE_DRIVER].slice_us, 0);
	assert_int_equal(p[1].comp[FN_ROLE_STACK].slice_us, 0);
	assert_int_equal(p[1].comp[FN_ROLE_APP].slice_us, 3000);
	assert_int_equal(p[1].comp[FN_ROLE_VSWITCH].slice_us, 100000);
}

static void test_pipelines_may_come_later(void **state)
{
	struct fixture *f = *state;

	expect_ok(f, "late.conf", "[pipeline 3]\ncpu = 3\n"
		  "[topology]\npipelines = 4\n");
	assert_int_equal(f->cfg->pipeline[3].comp[FN_ROLE_APP].cpu, 3);
	assert_int_equal(f->cfg->nic.queues, 4);
}

static void test_relative_exec(void **state)
{
	struct fixture *f = *state;
	const struct fn_config *c = f->cfg;

	expect_ok(f, "/etc/fragnet/topo.conf",
		  "[driver]\nexec = ../bin/fragnet-driver\n"
		  "[stack]\nexec = fragnet-stack\naddress = 10.0.0.2/8\n"
		  "[app]\nexec = /usr/bin/true\n"
		  "[nic]\nexec = none\n"
		  "[topology]\nrun_dir = run\n");
	assert_string_equal(c->path, "/etc/fragnet/topo.conf");
	assert_string_equal(c->role[FN_ROLE_DRIVER].exec,
			    "/etc/fragnet/../bin/fragnet-driver");
	assert_string_equal(c->role[FN_ROLE_STACK].exec,
			    "/etc/fragnet/fragnet-stack");
	assert_string_equal(c->role[FN_ROLE_APP].exec, "/usr/bin/true");
	assert_string_equal(c->role[FN_ROLE_NIC].exec, "");
	assert_string_equal(c->run_dir, "/etc/fragnet/run");
	assert_string_equal(c->pipeline[0].comp[FN_ROLE_DRIVER].exec,
			    "/etc/fragnet/../bin/fragnet-driver");
}

static void test_relative_name_uses_cwd(void **state)
{
	struct fixture *f = *state;
	char cwd[PATH_MAX], want[PATH_MAX + 32];

	assert_non_null(getcwd(cwd, sizeof cwd));
	expect_ok(f, "sub/t.conf", "[driver]\nexec = d\n");
	snprintf(want, sizeof want, "%s/sub/t.conf", cwd);
	assert_string_equal(f->cfg->path, want);
	snprintf(want, sizeof want, "%s/sub/d", cwd);
	assert_string_equal(f->cfg->role[FN_ROLE_DRIVER].exec, want);
}

static void test_derived_defaults(void **state)
{
	struct fixture *f = *state;

	expect_ok(f, "a-very-long-topology-name.conf",
		  "[topology]\npipelines = 3\npoll = event\n"
		  "[stack]\npoll = busy\n");
	assert_string_equal(f->cfg->name, "a-very-long-topology-name");
	/* "fn-" + name, cut to IFNAMSIZ - 1. */
	assert_string_equal(f->cfg->nic.ifname, "fn-a-very-long-");
	assert_int_equal(f->cfg->nic.queues, 3);
	assert_int_equal(f->cfg->role[FN_ROLE_DRIVER].poll, FN_POLL_EVENT);
	assert_int_equal(f->cfg->role[FN_ROLE_STACK].poll, FN_POLL_BUSY);
	assert_int_equal(f->cfg->pipeline[2].comp[FN_ROLE_STACK].poll,
			 FN_POLL_BUSY);
	/* A file name without .conf is the name as it is. */
	expect_ok(f, "/x/plain", "");
	assert_string_equal(f->cfg->name, "plain");
}

static void test_syntax_variants(void **state)
{
	struct fixture *f = *state;

	/* BOM, CRLF, inline ; comments, "key: value", indented first key,
	 * a comment after a header, spaces inside the brackets. */
	expect_ok(f, "syn.conf",
		  "\xEF\xBB\xBF[topology] ; top\r\n"
		  "  name = syn ; the name\r\n"
		  "pipelines: 2\r\n"
		  "[ link ]   # link\n"
		  "slots=64\n"
		  "[pipeline   1]\n"
		  "cpu = 3\n");
	assert_string_equal(f->cfg->name, "syn");
	assert_int_equal(f->cfg->npipelines, 2);
	assert_int_equal(f->cfg->link.slots, 64);
	assert_int_equal(f->cfg->pipeline[1].comp[FN_ROLE_DRIVER].cpu, 3);
}

static void test_args_continuation(void **state)
{
	struct fixture *f = *state;

	expect_ok(f, "cont.conf",
		  "[app]\n"
		  "exec = /bin/app\n"
		  "args = --one 1 \"a quote that\n"
		  "; a comment line does not end it\n"
		  "    spans lines\" ; inline comment\n"
		  "\t--two {pipeline}\n"
		  "preload = no\n");
	assert_string_equal(f->cfg->role[FN_ROLE_APP].args,
			    "--one 1 \"a quote that spans lines\" "
			    "--two {pipeline}");
}

static void test_repeated_section_header(void **state)
{
	struct fixture *f = *state;

	expect_ok(f, "rep.conf", "[link]\nslots = 8\n[app]\n[link]\n"
		  "slot_size = 128\n");
	assert_int_equal(f->cfg->link.slots, 8);
	assert_int_equal(f->cfg->link.slot_size, 128);
}

/* --- bad files ------------------------------------------------------------- */

struct bad {
	const char *file;	/* NULL: "bad.conf" */
	const char *text;
	const char *msg;	/* must appear in err */
};

#define A10	"a a a a a a a a a a "
/* Two pipelines with an uplink each; [stack] comes last, on line 8. */
#define UPLINK2	"[topology]\npipelines = 2\n[nic]\nexec = n\n[driver]\n" \
		"exec = d\n[stack]\nexec = s\n"
/* Two pipelines of apps with an uplink each, [cluster] enabled on line 2;
 * the last line a [cluster] header for more keys. */
#define CLUSTER2	"[cluster]\nenabled = yes\n" UPLINK2 \
			"address = 10.7.0.2/24\n[app]\nexec = a\n[cluster]\n"
static const struct bad bad_rows[] = {
	{ NULL, "[foo]\n", "bad.conf:1: [foo]: unknown section; sections "
	  "are topology, restart, link, nic, driver, stack, app, vswitch, "
	  "cluster, pipeline N and network NAME" },
	{ NULL, "[foo]\nx = 1\n", "bad.conf:1: [foo]: unknown section" },
	{ NULL, "[link]\nslotz = 4\n", "bad.conf:2: [link] slotz: unknown "
	  "key; [link] takes slots, slot_size" },
	{ NULL, "[pipeline 0]\nnic_exec = x\n", "bad.conf:2: [pipeline 0] "
	  "nic_exec: one nic serves all pipelines; set it in [nic]" },
	{ NULL, "[pipeline 0]\nstack_profile = udp\n", "[pipeline 0] "
	  "stack_profile: unknown key; [pipeline N] takes cpu, driver_exec" },
	{ NULL, "[link]\nslots = 4\nslots = 8\n", "bad.conf:3: [link] slots: "
	  "duplicate key (first set on line 2)" },
	{ NULL, "[link]\nslots = 4\n[app]\n[link]\nslots = 8\n",
	  "bad.conf:5: [link] slots: duplicate key (first set on line 2)" },
	{ NULL, "[pipeline 1]\ncpu=1\n[pipeline 01]\ncpu=2\n", "bad.conf:4: "
	  "[pipeline 1] cpu: duplicate key" },
	{ NULL, "[topology]\npipelines = two\n", "bad.conf:2: [topology] "
	  "pipelines: 'two' is not a number (1..64)" },
	{ NULL, "[topology]\npipelines = 2x\n", "'2x' is not a number" },
	{ NULL, "[topology]\npipelines = 0x2\n", "'0x2' is not a number" },
	{ NULL, "[topology]\npipelines = +2\n", "'+2' is not a number" },
	{ NULL, "[topology]\npipelines =\n", "'' is not a number (1..64)" },
	{ NULL, "[topology]\npipelines = 0\n", "[topology] pipelines: 0 is "
	  "out of range (1..64)" },
	{ NULL, "[topology]\npipelines = 65\n", "65 is out of range (1..64)" },
	{ NULL, "[restart]\nbackoff_ms = 99999999999999999999999\n",
	  "bad.conf:2: [restart] backoff_ms: 99999999999999999999999 is out "
	  "of range (1..600000)" },
	{ NULL, "[nic]\nmbufs = -5\n", "bad.conf:2: [nic] mbufs: -5 is out "
	  "of range (512..16777216)" },
	{ NULL, "[topology]\nplacement = tight\n", "bad.conf:2: [topology] "
	  "placement: 'tight' is not compact or spread" },
	/* [topology] metrics: loopback only, ADDRESS:PORT */
	{ NULL, "[topology]\nmetrics = 0.0.0.0:9464\n", "bad.conf:2: "
	  "[topology] metrics: '0.0.0.0:9464' is not a loopback address" },
	{ NULL, "[topology]\nmetrics = 10.0.0.1:9464\n", "bad.conf:2: "
	  "[topology] metrics: '10.0.0.1:9464' is not a loopback address" },
	{ NULL, "[topology]\nmetrics = [::]:9464\n", "bad.conf:2: "
	  "[topology] metrics: '[::]:9464' is not a loopback address" },
	{ NULL, "[topology]\nmetrics = [::ffff:127.0.0.1]:9464\n",
	  "is not a loopback address" },
	{ NULL, "[topology]\nmetrics = localhost:9464\n", "bad.conf:2: "
	  "[topology] metrics: 'localhost:9464' is not ADDRESS:PORT" },
	{ NULL, "[topology]\nmetrics = 127.0.0.1\n", "is not ADDRESS:PORT" },
	{ NULL, "[topology]\nmetrics = ::1:9464\n", "is not ADDRESS:PORT" },
	{ NULL, "[topology]\nmetrics = [::1]9464\n", "is not ADDRESS:PORT" },
	{ NULL, "[topology]\nmetrics = 127.0.0.1:0\n", "bad.conf:2: "
	  "[topology] metrics: 0 is out of range (1..65535)" },
	{ NULL, "[topology]\nmetrics = 127.0.0.1:65536\n",
	  "65536 is out of range (1..65535)" },
	{ NULL, "[topology]\nmetrics = 127.0.0.1:http\n",
	  "'http' is not a number (1..65535)" },
	{ NULL, "[topology]\nmetrics = 127.0.0.1:\n",
	  "'' is not a number (1..65535)" },
	{ NULL, "[driver]\npoll = spin\n", "bad.conf:2: [driver] poll: "
	  "'spin' is not busy, adaptive or event" },
	{ NULL, "[stack]\nsched = fifo\n", "bad.conf:2: [stack] sched: "
	  "'fifo' is not normal or batch" },
	{ NULL, "[pipeline 0]\napp_sched = idle\n", "bad.conf:2: [pipeline 0] "
	  "app_sched: 'idle' is not normal or batch" },
	{ NULL, "[stack]\nslice_us = 99\n", "bad.conf:2: [stack] slice_us: "
	  "99 is neither 0 (the kernel's own slice) nor in 100..100000" },
	{ NULL, "[pipeline 1]\nstack_slice_us = 100001\n", "bad.conf:2: "
	  "[pipeline 1] stack_slice_us: 100001 is " },
	{ NULL, "[app]\nslice_us = -5\n", "bad.conf:2: [app] slice_us: " },
	{ NULL, "[topology]\nlog_level = loud\n", "'loud' is not error, warn, "
	  "info or debug" },
	{ NULL, "[nic]\npmd = ixgbe\n", "[nic] pmd: 'ixgbe' is not tap or pci" },
	{ NULL, "[stack]\nprofile = tcp\n", "'tcp' is not full or udp" },
	{ NULL, "[app]\npreload = maybe\n", "[app] preload: 'maybe' is not yes "
	  "or no" },
	{ NULL, "[app]\nnetns = none\n", "[app] netns: 'none' is not own or "
	  "host" },
	{ NULL, "[nic]\nmac = 02:00:00:00:00\n", "bad.conf:2: [nic] mac: "
	  "'02:00:00:00:00' is not a MAC address: six hex pairs" },
	{ NULL, "[nic]\nmac = 02-00-00-00-00-01\n", "is not a MAC address" },
	{ NULL, "[nic]\nmac = 02:00:00:00:00:0g\n", "is not a MAC address" },
	{ NULL, "[nic]\nmac = 01:00:5e:00:00:01\n", "[nic] mac: "
	  "01:00:5e:00:00:01 is a multicast address" },
	{ NULL, "[nic]\nmac = 00:00:00:00:00:00\n", "is not a usable address" },
	{ NULL, "[stack]\naddress = 10.0.0.300/24\n", "bad.conf:2: [stack] "
	  "address: '10.0.0.300/24' is not an IPv4 address with a prefix "
	  "length, e.g. 10.77.0.2/24" },
	{ NULL, "[stack]\naddress = 10.0.0.2\n", "'10.0.0.2' is not an IPv4 "
	  "address with a prefix length" },
	{ NULL, "[stack]\naddress = 10.0.0.2/33\n", "[stack] address: 33 is "
	  "out of range (0..32)" },
	{ NULL, "[stack]\naddress = 10.0.0.2/x\n", "'x' is not a number "
	  "(0..32)" },
	{ NULL, "[nic]\naddress = 224.0.0.1/4\n", "[nic] address: "
	  "224.0.0.1/4 is not a unicast address" },
	{ NULL, "[stack]\ngateway = 10.0.0.1/24\n", "[stack] gateway: "
	  "'10.0.0.1/24': write the address without a /prefix" },
	{ NULL, "[stack]\ngateway = 255.255.255.255\n", "is not a unicast "
	  "address" },
	{ NULL, "[stack]\ngateway = gw\n", "'gw' is not an IPv4 address" },
	{ NULL, "[nic]\npmd = pci\npci = 01:00.0\n", "bad.conf:3: [nic] pci: "
	  "'01:00.0' is not a PCI address DDDD:BB:DD.F" },
	{ NULL, "[nic]\npmd = pci\npci = 0000:01:20.0\n", "is not a PCI "
	  "address" },
	{ NULL, "[nic]\npmd = pci\npci = 0000:01:00.8\n", "is not a PCI "
	  "address" },
	{ NULL, "[topology]\npipelines = 2\n[pipeline 2]\ncpu = 1\n",
	  "bad.conf:3: [pipeline 2]: index 2 is out of range; [topology] "
	  "pipelines = 2 allows 0..1" },
	{ NULL, "[pipeline 1]\n[topology]\npipelines = 1\n", "bad.conf:1: "
	  "[pipeline 1]: index 1 is out of range" },
	{ NULL, "[pipeline x]\n", "bad.conf:1: [pipeline x]: 'x' is not a "
	  "pipeline index (0..63)" },
	{ NULL, "[pipeline -1]\n", "'-1' is not a pipeline index" },
	{ NULL, "[pipeline]\n", "bad.conf:1: [pipeline]: missing index" },
	{ NULL, "[pipeline 64]\n", "bad.conf:1: [pipeline 64]: index 64 is "
	  "out of range (0..63)" },
	{ NULL, "[pipeline 1 2]\n", "'1 2' is not a pipeline index" },
	{ NULL, "[link]\nslots = 1000\n", "bad.conf:2: [link] slots: 1000 is "
	  "not a power of two (1..65536)" },
	{ NULL, "[link]\nslots = 131072\n", "131072 is out of range "
	  "(1..65536)" },
	{ NULL, "[link]\nslot_size = 100\n", "bad.conf:2: [link] slot_size: "
	  "100 is not a multiple of 64 (64..65536)" },
	{ NULL, "[link]\nslot_size = 32\n", "32 is out of range (64..65536)" },
	{ NULL, "[app]\nargs = --x \"abc\n", "bad.conf:2: [app] args: "
	  "unterminated \" quote" },
	{ NULL, "[app]\nargs = --x 'abc\n", "unterminated ' quote" },
	{ NULL, "[app]\nargs = abc\\\n", "[app] args: ends in a lone "
	  "backslash" },
	{ NULL, "[pipeline 0]\napp_args = " A10 A10 A10 "a a a\n",
	  "bad.conf:2: [pipeline 0] app_args: more than 32 arguments" },
	{ NULL, "[app]\nargs = 'a\n[link]\nslots = 3\n", "bad.conf:2: [app] "
	  "args: unterminated ' quote" },
	{ NULL, "[app]\nargs = 'a\n", "bad.conf:2: [app] args: unterminated" },
	{ NULL, "[topology]\nname = my topo\n", "bad.conf:2: [topology] name: "
	  "'my topo' is not a valid name: use 1..31 of A-Z a-z 0-9 _ -" },
	{ NULL, "[topology]\nname = abcdefghijabcdefghijabcdefghij12\n",
	  "is not a valid name" },
	{ NULL, "[topology]\nname = kvs # main\n", "'kvs # main' is not a "
	  "valid name" },
	{ NULL, "[topology]\nname = kvs;main\n", "'kvs;main' is not a valid "
	  "name" },
	{ "my.topo.conf", "", "my.topo.conf:0: [topology] name: the file name "
	  "gives 'my.topo', which is not a valid name" },
	{ NULL, "[nic]\nifname = abcdefghijklmnop\n", "[nic] ifname: "
	  "'abcdefghijklmnop' is not an interface name" },
	{ NULL, "[nic]\nifname = a/b\n", "is not an interface name" },
	{ NULL, "[nic]\nifname = ..\n", "is not an interface name" },
	{ NULL, "[app]\nuser = a b\n", "[app] user: 'a b' is not a user name" },
	{ NULL, "[app]\nuser = -rf\n", "is not a user name" },
	{ NULL, "[app]\nuser =\n", "empty: name a user" },
	{ NULL, "[driver]\ncpu = 1024\n", "[driver] cpu: 1024 is out of range "
	  "(0..1023)" },
	{ NULL, "[driver]\ncpu = any\n", "'any' is not a number (0..1023)" },
	{ NULL, "[driver]\nexec = /bin/drv --fast\n", "[driver] exec: "
	  "'/bin/drv --fast' contains whitespace; put arguments in args" },
	{ NULL, "[topology]\nrun_dir =\n", "[topology] run_dir: needs a "
	  "directory path" },
	{ NULL, "slots = 4\n", "bad.conf:1: [] slots: key before the first "
	  "[section] header" },
	{ NULL, "[link]\nslots\n", "bad.conf:2: [link]: 'slots' is neither "
	  "'key = value', a [section] header nor a comment" },
	{ NULL, "garbage\n", "bad.conf:1: 'garbage' is neither" },
	{ NULL, "[link]\n= 5\n", "bad.conf:2: [link]: missing key name "
	  "before '='" },
	{ NULL, "[link\nslots = 4\n", "bad.conf:1: section header without a "
	  "closing ']'" },
	{ NULL, "[link ; x]\n", "bad.conf:1: section header without a "
	  "closing ']'" },
	{ NULL, "[link] slots = 4\n", "bad.conf:1: text after the section "
	  "header" },
	{ NULL, "[link]\nslots = 4\n  8\n", "bad.conf:3: [link] slots: this "
	  "indented line would continue the value; only args may span lines" },
	{ NULL, "[link]\nslots = 4\n  [app]\n", "bad.conf:3: [link] slots: "
	  "this indented line" },
	{ NULL, "[app]\nargs = " A10 A10 A10 A10 A10 A10 A10 A10 A10 A10 "\n",
	  "bad.conf:2: line is longer than 198 characters; continue args on "
	  "indented lines" },
	{ NULL, "[topology]\npipelines = 2\n[nic]\nexec = /bin/nic\n"
	  "queues = 1\n", "bad.conf:0: [nic] queues: 1, but pipelines = 2; "
	  "driver i serves queue i" },
	{ NULL, "[nic]\npmd = pci\n", "bad.conf:0: [nic] pci: required with "
	  "pmd = pci" },
	{ NULL, "[nic]\npci = 0000:01:00.0\n", "bad.conf:0: [nic] pci: only "
	  "used with pmd = pci" },
	{ NULL, "[nic]\npmd = pci\npci = 0000:01:00.0\nifname = x\n",
	  "bad.conf:0: [nic] ifname: names the kernel side of a tap" },
	{ NULL, "[nic]\npmd = pci\npci = 0000:01:00.0\naddress = 10.0.0.1/24\n",
	  "bad.conf:0: [nic] address: is the kernel side of a tap" },
	{ NULL, "[stack]\nexec = /bin/stk\n", "bad.conf:0: [stack] address: "
	  "required: pipeline 0 runs a stack" },
	{ NULL, "[topology]\npipelines = 2\n[pipeline 1]\nstack_exec = s\n",
	  "bad.conf:0: [stack] address: required: pipeline 1 runs a stack" },
	{ NULL, "[stack]\ngateway = 10.0.0.1\n", "bad.conf:0: [stack] gateway: "
	  "needs [stack] address" },
	{ NULL, "[stack]\naddress = 10.0.0.2/24\ngateway = 10.0.1.1\n",
	  "bad.conf:0: [stack] gateway: not in the subnet of [stack] address "
	  "(/24)" },
	{ NULL, "[stack]\naddress = 10.0.0.2/24\n[nic]\naddress = 10.0.0.2/24\n",
	  "bad.conf:0: [nic] address: same as [stack] address" },
	{ NULL, "[restart]\nbackoff_max_ms = 50\n", "bad.conf:0: [restart] "
	  "backoff_max_ms: 50 is below backoff_ms = 100" },
	{ NULL, "[app]\nexec = /bin/app\n", "bad.conf:0: [app] exec: pipeline "
	  "0 runs an app with preload = yes but no stack" },
	{ NULL, "[topology]\npipelines = 2\n[pipeline 1]\napp_exec = a\n",
	  "bad.conf:0: [pipeline 1] app_exec: pipeline 1 runs an app" },
	/* internal networks */
	{ NULL, "[network]\n", "bad.conf:1: [network]: missing name" },
	{ NULL, "[network fn0]\n", "bad.conf:1: [network fn0]: 'fn0' is not "
	  "a network name (1..15 of A-Z a-z 0-9 _ -, not fn0 or lo" },
	{ NULL, "[network abcdefghijklmnop]\n", "is not a network name" },
	{ NULL, "[network a.b]\n", "'a.b' is not a network name" },
	{ NULL, "[network n]\nsubnet = 10.9.0.1/24\n", "bad.conf:2: [network "
	  "n] subnet: '10.9.0.1/24' has host bits set" },
	{ NULL, "[network n]\nsubnet = 10.9.0.0/31\n", "bad.conf:2: [network "
	  "n] subnet: /31 leaves no room" },
	{ NULL, "[network n]\nage_ms = 50\n", "[network n] age_ms: 50 is out "
	  "of range (100..86400000)" },
	{ NULL, "[network n]\nmtu = 9000\n", "bad.conf:2: [network n] mtu: "
	  "unknown key; [network NAME] takes subnet, host, host_ifname" },
	{ NULL, "[network n]\nsubnet = 10.9.0.0/24\nsubnet = 10.8.0.0/24\n",
	  "bad.conf:3: [network n] subnet: duplicate key" },
	{ NULL, "[stack]\nnetworks = a b@10.0.0.300\n", "bad.conf:2: [stack] "
	  "networks: 'b@10.0.0.300' is not NAME@ADDRESS" },
	{ NULL, "[stack]\nnetworks = a, a\n", "[stack] networks: network a "
	  "is named twice" },
	{ NULL, "[stack]\nnetworks = a/b\n", "'a/b' is not a network name" },
	{ NULL, "[stack]\nnetworks = a b c d e f g h i\n", "more than 8 "
	  "networks" },
	{ NULL, "[vswitch]\nexec = v\n[stack]\nexec = s\nnetworks = n\n",
	  "bad.conf:5: [stack] networks: n: no [network n] section" },
	{ NULL, "[vswitch]\nexec = v\n[network n]\nhost = yes\n",
	  "bad.conf:3: [network n]: subnet is required" },
	{ NULL, "[vswitch]\nexec = v\n[network n]\nsubnet = 10.9.0.0/24\n",
	  "bad.conf:3: [network n]: no stack attaches to it" },
	{ NULL, "[network n]\nsubnet = 10.9.0.0/24\n[stack]\nexec = s\n"
	  "networks = n\n", "bad.conf:0: [vswitch] exec: required: [network "
	  "n] needs its switch" },
	{ NULL, "[vswitch]\nexec = v\n[network n]\nsubnet = 10.9.0.0/24\n"
	  "host_address = 10.9.0.9\n[stack]\nexec = s\nnetworks = n\n",
	  "bad.conf:5: [network n] host_address: only with host = yes" },
	{ NULL, "[vswitch]\nexec = v\n[network n]\nsubnet = 10.9.0.0/24\n"
	  "host = yes\nhost_address = 10.9.1.9\n[stack]\nexec = s\n"
	  "networks = n\n", "bad.conf:6: [network n] host_address: 10.9.1.9 "
	  "is not a host of subnet 10.9.0.0/24" },
	{ NULL, "[vswitch]\nexec = v\n[network n]\nsubnet = 10.9.0.0/24\n"
	  "[network m]\nsubnet = 10.9.0.128/25\n[stack]\nexec = s\n"
	  "networks = n m\n", "bad.conf:6: [network m] subnet: overlaps the "
	  "subnet of [network n]" },
	{ NULL, "[vswitch]\nexec = v\n[network n]\nsubnet = 10.0.0.0/16\n"
	  "[stack]\nexec = s\naddress = 10.0.3.2/24\nnetworks = n\n",
	  "bad.conf:4: [network n] subnet: overlaps the subnet of [stack] "
	  "address" },
	{ NULL, "[topology]\npipelines = 9\n[vswitch]\nexec = v\n"
	  "[network n]\nsubnet = 10.9.0.0/29\n[stack]\nexec = s\n"
	  "networks = n\n", "bad.conf:9: [stack] networks: pipeline 6 on n: "
	  "10.9.0.7 is not a host of subnet 10.9.0.0/29 (pipeline + 1; give "
	  "one as NAME@ADDRESS)" },
	{ NULL, "[topology]\npipelines = 2\n[vswitch]\nexec = v\n"
	  "[network n]\nsubnet = 10.9.0.0/24\n[stack]\nexec = s\n"
	  "networks = n@10.9.0.5\n", "bad.conf:5: [network n]: pipeline 1's "
	  "address 10.9.0.5 is taken" },
	{ NULL, "[topology]\npipelines = 2\n[vswitch]\nexec = v\n"
	  "[network n]\nsubnet = 10.9.0.0/24\n[stack]\nexec = s\n"
	  "networks = n\n[pipeline 1]\nstack_exec = none\nnetworks = n\n",
	  "bad.conf:12: [pipeline 1] networks: pipeline 1 runs no stack" },
	{ NULL, "[topology]\npipelines = 17\n[vswitch]\nexec = v\n"
	  "[network n]\nsubnet = 10.9.0.0/24\n[stack]\nexec = s\n"
	  "networks = n\n", "bad.conf:5: [network n]: more than 16 ports" },
	{ NULL, "[topology]\npipelines = 2\n[nic]\nexec = n\n[pipeline 1]\n"
	  "driver_exec = d\n", "bad.conf:0: [pipeline 0] driver_exec: pipeline "
	  "0 runs no driver but pipeline 1 does; driver i serves queue i" },
	{ NULL, "[topology]\npipelines = 3\n[nic]\nexec = n\nqueues = 3\n"
	  "[pipeline 0]\ndriver_exec = d\n", "bad.conf:0: [nic] queues: 3, but "
	  "pipelines 0..0 run a driver; driver i serves queue i" },
	/* [stack] addressing, [pipeline N] stack_address and stack_mac */
	{ NULL, "[stack]\naddressing = each\n", "bad.conf:2: [stack] "
	  "addressing: 'each' is not per-pipeline or shared" },
	{ NULL, UPLINK2 "address = 10.7.0.254/24\n", "bad.conf:9: [stack] "
	  "address: pipeline 1: 10.7.0.255 is not a host of 10.7.0.0/24 "
	  "([stack] address + pipeline index; set [pipeline N] "
	  "stack_address)" },
	{ NULL, UPLINK2 "address = 10.7.0.2/24\n[nic]\naddress = 10.7.0.3/24\n",
	  "bad.conf:9: [stack] address: pipeline 1: 10.7.0.3 is [nic] address, "
	  "the tap's kernel side" },
	{ NULL, UPLINK2 "address = 10.7.0.2/24\ngateway = 10.7.0.3\n",
	  "bad.conf:9: [stack] address: pipeline 1: 10.7.0.3/24 does not reach "
	  "[stack] gateway 10.7.0.3 on the link" },
	{ NULL, UPLINK2 "address = 10.7.0.2/24\n[pipeline 1]\n"
	  "stack_address = 10.7.0.2/24\n", "bad.conf:11: [pipeline 1] "
	  "stack_address: pipeline 1: 10.7.0.2 is pipeline 0's address" },
	{ NULL, UPLINK2 "address = 10.7.0.2/24\n[pipeline 1]\n"
	  "stack_address = 10.7.1.0/24\n", "bad.conf:11: [pipeline 1] "
	  "stack_address: pipeline 1: 10.7.1.0 is not a host of 10.7.1.0/24" },
	{ NULL, UPLINK2 "address = 10.7.0.2/24\ngateway = 10.7.0.1\n"
	  "[pipeline 1]\nstack_address = 10.8.0.2/24\n", "bad.conf:12: "
	  "[pipeline 1] stack_address: pipeline 1: 10.8.0.2/24 does not reach "
	  "[stack] gateway 10.7.0.1" },
	{ NULL, UPLINK2 "address = 10.7.0.2/24\n[pipeline 1]\n"
	  "stack_mac = 02:00:0a:07:00:02\n", "bad.conf:11: [pipeline 1] "
	  "stack_mac: pipeline 1: its MAC is pipeline 0's" },
	{ NULL, UPLINK2 "address = 10.7.0.2/24\naddressing = shared\n"
	  "[pipeline 1]\nstack_address = 10.7.0.9/24\n", "bad.conf:12: "
	  "[pipeline 1] stack_address: only with [stack] addressing = "
	  "per-pipeline" },
	{ NULL, UPLINK2 "address = 10.7.0.2/24\n[pipeline 1]\n"
	  "driver_exec = none\nstack_mac = 02:00:00:00:00:09\n", "bad.conf:12: "
	  "[pipeline 1] stack_mac: pipeline 1 has no uplink" },
	{ NULL, "[cluster]\nenabled = maybe\n", "bad.conf:2: [cluster] "
	  "enabled: 'maybe' is not yes or no" },
	{ NULL, "[cluster]\nport = 0\n", "bad.conf:2: [cluster] port: " },
	{ NULL, "[cluster]\nport = 65536\n", "bad.conf:2: [cluster] port: " },
	{ NULL, "[cluster]\nreplicas = 64\n", "bad.conf:2: [cluster] "
	  "replicas: " },
	{ NULL, "[cluster]\ntimeout_ms = 0\n", "bad.conf:2: [cluster] "
	  "timeout_ms: " },
	{ NULL, "[cluster]\nnodes = 3\n", "bad.conf:2: [cluster] nodes: "
	  "unknown key; [cluster] takes enabled, port, replicas, masters, "
	  "timeout_ms, restart_delay_ms" },
	{ NULL, CLUSTER2 "masters = 3\n", "bad.conf:15: [cluster] masters: "
	  "3 masters need at least 3 pipelines, not 2" },
	{ NULL, CLUSTER2 "masters = 1\nreplicas = 1\n", "bad.conf:15: "
	  "[cluster] masters: give replicas or masters, not both" },
	{ NULL, "[cluster]\nmasters = 0\n", "bad.conf:2: [cluster] "
	  "masters: " },
	{ NULL, CLUSTER2 "[stack]\naddressing = shared\n", "bad.conf:2: "
	  "[cluster] enabled: a cluster needs an address per node" },
	{ NULL, CLUSTER2 "replicas = 2\n", "bad.conf:15: [cluster] replicas: "
	  "2 replicas per master need at least 3 pipelines, not 2" },
	{ NULL, CLUSTER2 "[pipeline 1]\napp_exec = none\n", "bad.conf:2: "
	  "[cluster] enabled: pipeline 1 has no app" },
	{ NULL, CLUSTER2 "[pipeline 1]\ndriver_exec = none\n", "bad.conf:2: "
	  "[cluster] enabled: pipeline 1 has no uplink" },
	{ NULL, "[network a]\n[network b]\n[network c]\n[network d]\n"
	  "[network e]\n[network f]\n[network g]\n[network h]\n[network i]\n"
	  "[network j]\n[network k]\n[network l]\n[network m]\n[network n]\n"
	  "[network o]\n[network p]\n[network q]\n", "bad.conf:17: [network "
	  "q]: more than 16 networks" },
};

static void test_bad_inputs(void **state)
{
	struct fixture *f = *state;
	int failures = 0;

	for (size_t i = 0; i < sizeof bad_rows / sizeof bad_rows[0]; i++) {
		const struct bad *b = &bad_rows[i];
		int rc = load(f, b->file ? b->file : "bad.conf", b->text);

		if (rc == -EINVAL && strstr(f->err, b->msg) &&
		    all_zero(f->cfg, sizeof *f->cfg))
			continue;
		print_error("row %zu: rc %d, zeroed %d\n  text: %s\n  want: %s\n"
			    "  got:  %s\n", i, rc,
			    all_zero(f->cfg, sizeof *f->cfg), b->text, b->msg,
			    f->err);
		failures++;
	}
	assert_int_equal(failures, 0);
}

static void test_long_args_over_lines(void **state)
{
	struct fixture *f = *state;
	char text[4096] = "[app]\nargs = x\n";

	for (int i = 0; i < 9; i++)
		strcat(text, "  " A10 A10 A10 A10 A10 A10 A10 A10 A10 "\n");
	assert_int_equal(load(f, "bad.conf", text), -EINVAL);
	assert_non_null(strstr(f->err, "bad.conf:8: [app] args: longer than "
			       "1023 characters"));
	expect_zeroed(f);
}

/* --- files ------------------------------------------------------------------ */

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static void test_load_file(void **state)
{
	struct fixture *f = *state;
	char dir[] = "/tmp/fn-test-config-XXXXXX", real[PATH_MAX];
	char path[PATH_MAX + 32], want[PATH_MAX + 32];
	static const char text[] = "[driver]\nexec = bin/drv\n";

	assert_non_null(mkdtemp(dir));
	assert_non_null(realpath(dir, real));
	snprintf(path, sizeof path, "%s/topo.conf", dir);
	write_file(path, text, sizeof text - 1);
	memset(f->cfg, 0xa5, sizeof *f->cfg);
	assert_int_equal(fn_config_load(f->cfg, path, f->err), 0);
	snprintf(want, sizeof want, "%s/topo.conf", real);
	assert_string_equal(f->cfg->path, want);
	assert_string_equal(f->cfg->name, "topo");
	snprintf(want, sizeof want, "%s/bin/drv", real);
	assert_string_equal(f->cfg->pipeline[0].comp[FN_ROLE_DRIVER].exec,
			    want);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void test_load_file_errors(void **state)
{
	struct fixture *f = *state;
	char dir[] = "/tmp/fn-test-config-XXXXXX", path[PATH_MAX + 32];
	static const char nul[] = "[link]\nslots = 4\x00\n";
	char want[PATH_MAX + 64];

	assert_non_null(mkdtemp(dir));
	/* Missing file: the path as given, and -errno. */
	memset(f->cfg, 0xa5, sizeof *f->cfg);
	assert_int_equal(fn_config_load(f->cfg, "no/such.conf", f->err),
			 -ENOENT);
	assert_string_equal(f->err, "no/such.conf: cannot open: "
			    "No such file or directory");
	expect_zeroed(f);
	/* A directory opens but does not read. */
	memset(f->cfg, 0xa5, sizeof *f->cfg);
	assert_int_equal(fn_config_load(f->cfg, dir, f->err), -EISDIR);
	assert_non_null(strstr(f->err, ": cannot read: Is a directory"));
	expect_zeroed(f);
	/* A NUL byte, and the message names the file as given. */
	snprintf(path, sizeof path, "%s/nul.conf", dir);
	write_file(path, nul, sizeof nul - 1);
	memset(f->cfg, 0xa5, sizeof *f->cfg);
	assert_int_equal(fn_config_load(f->cfg, path, f->err), -EINVAL);
	snprintf(want, sizeof want, "%s:2: line contains a NUL byte", path);
	assert_string_equal(f->err, want);
	expect_zeroed(f);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* --- fn_config_split_args ----------------------------------------------------- */

static int split(const char *args, char *argv[], unsigned max)
{
	static char buf[4096];

	return fn_config_split_args(args, 7, "/run/fragnet/kvs", "10.77.0.9",
				    buf, sizeof buf, argv, max);
}

static void test_split_basic(void **state)
{
	char *argv[8];

	(void)state;
	assert_int_equal(split("", argv, 8), 0);
	assert_null(argv[0]);
	assert_int_equal(split("  \t ", argv, 8), 0);
	assert_int_equal(split(" --port  6379 ", argv, 8), 2);
	assert_string_equal(argv[0], "--port");
	assert_string_equal(argv[1], "6379");
	assert_null(argv[2]);
}

static void test_split_quotes(void **state)
{
	char *argv[8];

	(void)state;
	assert_int_equal(split("--save \"\" 'a b' \"c 'd'\" e\"f g\"h", argv, 8),
			 5);
	assert_string_equal(argv[0], "--save");
	assert_string_equal(argv[1], "");
	assert_string_equal(argv[2], "a b");
	assert_string_equal(argv[3], "c 'd'");
	assert_string_equal(argv[4], "ef gh");
	assert_int_equal(split("a\\ b \"x\\\"y\" 'p\\q' \\\\", argv, 8), 4);
	assert_string_equal(argv[0], "a b");
	assert_string_equal(argv[1], "x\"y");
	assert_string_equal(argv[2], "p\\q");
	assert_string_equal(argv[3], "\\");
}

static void test_split_placeholders(void **state)
{
	char *argv[10];

	(void)state;
	assert_int_equal(split("--port 638{pipeline} --dir {run_dir}/p{pipeline} "
			       "'{run_dir}' \\{pipeline} {other} {pipe",
			       argv, 10), 8);
	assert_string_equal(argv[1], "6387");
	assert_string_equal(argv[3], "/run/fragnet/kvs/p7");
	assert_string_equal(argv[4], "/run/fragnet/kvs");
	assert_string_equal(argv[5], "{pipeline}");
	assert_string_equal(argv[6], "{other}");
	assert_string_equal(argv[7], "{pipe");
	assert_null(argv[8]);
	assert_int_equal(split("--bind {address} '{address}:1'", argv, 10), 3);
	assert_string_equal(argv[1], "10.77.0.9");
	assert_string_equal(argv[2], "10.77.0.9:1");
	/* An expanded value is one word even with a space in it. */
	{
		char buf[64];

		assert_int_equal(fn_config_split_args("{run_dir}", 0, "a b",
						      NULL, buf, sizeof buf,
						      argv, 8), 1);
		assert_string_equal(argv[0], "a b");
	}
}

static void test_split_errors(void **state)
{
	char *argv[FN_MAX_ARGS + 1], buf[8];
	char many[256] = "";

	(void)state;
	assert_int_equal(split("a 'b", argv, 8), -EINVAL);
	assert_int_equal(split("a \"b", argv, 8), -EINVAL);
	assert_int_equal(split("a\\", argv, 8), -EINVAL);
	/* max_argv counts the terminating NULL. */
	assert_int_equal(split("a b c", argv, 4), 3);
	assert_int_equal(split("a b c", argv, 3), -E2BIG);
	assert_int_equal(split("", argv, 0), -E2BIG);
	for (int i = 0; i < FN_MAX_ARGS; i++)
		strcat(many, "x ");
	assert_int_equal(split(many, argv, FN_MAX_ARGS + 1), FN_MAX_ARGS);
	strcat(many, "y");
	assert_int_equal(split(many, argv, FN_MAX_ARGS + 1), -E2BIG);
	/* The buffer holds "abc\0def\0": 8 bytes, and not one more. */
	assert_int_equal(fn_config_split_args("abc def", 0, "", NULL, buf, 8,
					      argv, 4), 2);
	assert_int_equal(fn_config_split_args("abc defg", 0, "", NULL, buf, 8,
					      argv, 4), -E2BIG);
	assert_int_equal(fn_config_split_args("{run_dir}", 0, "/long/dir", NULL,
					      buf, 8, argv, 4), -E2BIG);
	assert_int_equal(fn_config_split_args("{address}", 0, "", "10.7.0.2",
					      buf, 8, argv, 4), -E2BIG);
}

static void test_role_names(void **state)
{
	(void)state;
	assert_string_equal(fn_role_name(FN_ROLE_NIC), "nic");
	assert_string_equal(fn_role_name(FN_ROLE_DRIVER), "driver");
	assert_string_equal(fn_role_name(FN_ROLE_STACK), "stack");
	assert_string_equal(fn_role_name(FN_ROLE_APP), "app");
	assert_string_equal(fn_role_name(FN_ROLE_COUNT), "?");
}

/*
 * The shipped test topology must load.  FN_SOURCE_ROOT comes from meson,
 * so the test finds it from any working directory.
 */
static void test_shipped_config(void **state)
{
	struct fixture *f = *state;
	const char *path = FN_SOURCE_ROOT "/config/test-echo.conf";

	if (fn_config_load(f->cfg, path, f->err) != 0)
		fail_msg("%s", f->err);
	assert_string_equal(f->cfg->name, "test-echo");
	assert_int_equal(f->cfg->npipelines, 2);
	for (unsigned p = 0; p < 2; p++) {
		assert_string_not_equal(
			f->cfg->pipeline[p].comp[FN_ROLE_DRIVER].exec, "");
		assert_string_not_equal(
			f->cfg->pipeline[p].comp[FN_ROLE_STACK].exec, "");
		assert_string_equal(
			f->cfg->pipeline[p].comp[FN_ROLE_APP].exec, "");
	}
	assert_string_equal(f->cfg->role[FN_ROLE_NIC].exec, "");
}

/* config/ping.conf, the NIC path with stacks, must load too. */
static void test_shipped_ping_config(void **state)
{
	struct fixture *f = *state;
	const char *path = FN_SOURCE_ROOT "/config/ping.conf";

	if (fn_config_load(f->cfg, path, f->err) != 0)
		fail_msg("%s", f->err);
	assert_string_equal(f->cfg->name, "ping");
	assert_int_equal(f->cfg->nic.pmd, FN_PMD_TAP);
	assert_int_equal(f->cfg->nic.queues, 2);
	assert_string_not_equal(f->cfg->role[FN_ROLE_NIC].exec, "");
}

/*
 * config/kvs.conf, the main job: two pipelines, each a preloaded stock
 * redis-server as fragnet-app, persistence off, an empty --save argument
 * surviving the quoting.
 */
static void test_shipped_kvs_config(void **state)
{
	struct fixture *f = *state;
	const char *path = FN_SOURCE_ROOT "/config/kvs.conf";
	const struct fn_component_conf *app;
	char buf[FN_ARGS_MAX * 2], *argv[FN_MAX_ARGS + 1];
	int argc, i;

	if (fn_config_load(f->cfg, path, f->err) != 0)
		fail_msg("%s", f->err);
	assert_string_equal(f->cfg->name, "kvs");
	assert_int_equal(f->cfg->npipelines, 2);
	assert_int_equal(f->cfg->nic.queues, 2);
	assert_string_equal(f->cfg->app.user, "fragnet-app");
	assert_true(f->cfg->app.preload);
	app = &f->cfg->pipeline[1].comp[FN_ROLE_APP];
	assert_string_equal(app->exec, "/usr/bin/redis-server");
	/* Each redis-server binds its own pipeline's address. */
	assert_int_equal(f->cfg->stack.addressing, FN_ADDRESSING_PER_PIPELINE);
	assert_int_equal(f->cfg->pipeline[0].stack_address.addr,
			 ip("10.78.0.2"));
	assert_int_equal(f->cfg->pipeline[1].stack_address.addr,
			 ip("10.78.0.3"));
	argc = fn_config_split_args(app->args, 1, "/run/fragnet/kvs",
				    "10.78.0.3", buf, sizeof buf, argv,
				    FN_MAX_ARGS + 1);
	assert_true(argc > 0);
	for (i = 0; i < argc - 1; i++)
		if (strcmp(argv[i], "--bind") == 0)
			break;
	assert_true(i < argc - 1);
	assert_string_equal(argv[i + 1], "10.78.0.3");
	for (i = 0; i < argc - 1; i++)
		if (strcmp(argv[i], "--save") == 0)
			break;
	assert_true(i < argc - 1);
	assert_string_equal(argv[i + 1], "");
	for (i = 0; i < argc - 1; i++)
		if (strcmp(argv[i], "--dbfilename") == 0)
			break;
	assert_true(i < argc - 1);
	assert_string_equal(argv[i + 1], "kvs-1.rdb");
}

/*
 * config/internal.conf, the internal network example: one NIC queue for
 * pipeline 0, the three stacks on "internal" at .1, .2, .3, the replica's
 * ruleset and its --replicaof the primary's internal address.
 */
static void test_shipped_internal_config(void **state)
{
	struct fixture *f = *state;
	const char *path = FN_SOURCE_ROOT "/config/internal.conf";
	const struct fn_config *c = f->cfg;
	char buf[FN_ARGS_MAX * 2], *argv[FN_MAX_ARGS + 1];
	int argc;

	if (fn_config_load(f->cfg, path, f->err) != 0)
		fail_msg("%s", f->err);
	assert_int_equal(c->npipelines, 3);
	assert_int_equal(c->nic.queues, 1);
	assert_int_equal(c->nnetworks, 1);
	assert_string_equal(c->network[0].name, "internal");
	assert_string_not_equal(c->network[0].vswitch.exec, "");
	for (unsigned p = 0; p < 3; p++) {
		assert_int_equal(c->pipeline[p].nnets, 1);
		assert_int_equal(c->pipeline[p].net[0].address,
				 htonl(0x0a5a0001u + p));
		assert_true(fn_config_has_uplink(c, p) == (p == 0));
	}
	assert_non_null(strstr(c->pipeline[1].stack_ruleset,
			       "/config/internal-replica.nft"));
	assert_string_equal(c->pipeline[0].stack_ruleset, "");
	argc = fn_config_split_args(c->pipeline[1].comp[FN_ROLE_APP].args, 1,
				    c->run_dir, NULL, buf, sizeof buf, argv,
				    FN_MAX_ARGS + 1);
	assert_true(argc >= 3);
	assert_string_equal(argv[argc - 3], "--replicaof");
	assert_string_equal(argv[argc - 2], "10.90.0.1");
}

/* [stack] ruleset for every stack, [pipeline N] stack_ruleset for one;
 * relative to the file; it must be readable; none clears it. */
static void test_stack_ruleset(void **state)
{
	struct fixture *f = *state;
	const struct fn_config *c = f->cfg;
	char text[512];

	/* /dev/null is readable; /etc is the config's directory */
	snprintf(text, sizeof text,
		 "[topology]\npipelines = 3\n"
		 "[stack]\nexec = s\naddress = 10.0.0.2/8\n"
		 "ruleset = ../dev/null\n"
		 "[pipeline 1]\nstack_ruleset = /dev/zero\n"
		 "[pipeline 2]\nstack_ruleset = none\n");
	expect_ok(f, "/etc/topo.conf", text);
	assert_string_equal(c->stack.ruleset, "/etc/../dev/null");
	assert_string_equal(c->pipeline[0].stack_ruleset, "/etc/../dev/null");
	assert_string_equal(c->pipeline[1].stack_ruleset, "/dev/zero");
	assert_string_equal(c->pipeline[2].stack_ruleset, "");

	assert_int_equal(load(f, "/etc/topo.conf",
			      "[stack]\nruleset = /nonexistent/rules.nft\n"),
			 -EINVAL);
	assert_non_null(strstr(f->err, "/etc/topo.conf:2: [stack] ruleset: "
				       "cannot read /nonexistent/rules.nft"));
	expect_zeroed(f);
}

/*
 * Internal networks: a network's defaults and overrides, attachments by
 * [stack] and [pipeline N] networks, derived and given addresses, MACs,
 * the host port, and an internal-only stack needing no [stack] address.
 */
static void test_networks(void **state)
{
	struct fixture *f = *state;
	const struct fn_config *c = f->cfg;
	const struct fn_network_conf *n;
	const struct fn_pipeline_conf *p;
	static const uint8_t mac1[6] = { 2, 0, 10, 90, 0, 1 };
	static const uint8_t hmac[6] = { 2, 0, 10, 90, 0, 254 };

	expect_ok(f, "net.conf",
		  "[topology]\npipelines = 4\n"
		  "[vswitch]\nexec = /bin/vsw\ncpu = 3\npoll = busy\n"
		  "[network internal]\nsubnet = 10.90.0.0/24\nhost = yes\n"
		  "[network back-2]\nsubnet = 10.91.0.0/16\nage_ms = 2000\n"
		  "cpu = 1\nhost = no\n"
		  "[driver]\nexec = /bin/drv\n"
		  "[stack]\nexec = /bin/stk\naddress = 10.78.0.2/24\n"
		  "networks = internal\n"
		  "[pipeline 1]\ndriver_exec = none\n"
		  "networks = internal, back-2@10.91.7.7\n"
		  "[pipeline 2]\nnetworks = none\n"
		  "[pipeline 3]\nstack_exec = none\n");
	assert_int_equal(c->nnetworks, 2);
	n = &c->network[0];
	assert_string_equal(n->name, "internal");
	assert_int_equal(n->subnet.addr, ip("10.90.0.0"));
	assert_int_equal(n->subnet.prefix, 24);
	assert_true(n->host);
	assert_string_equal(n->host_ifname, "fnh-internal");
	assert_int_equal(n->host_address, ip("10.90.0.254"));
	assert_memory_equal(n->host_mac, hmac, 6);
	assert_int_equal(n->age_ms, 300000);
	assert_string_equal(n->vswitch.exec, "/bin/vsw");
	assert_int_equal(n->vswitch.cpu, 3);
	assert_int_equal(n->vswitch.poll, FN_POLL_BUSY);
	n = &c->network[1];
	assert_string_equal(n->name, "back-2");
	assert_false(n->host);
	assert_string_equal(n->host_ifname, "");
	assert_int_equal(n->age_ms, 2000);
	assert_int_equal(n->vswitch.cpu, 1);
	p = c->pipeline;
	assert_int_equal(p[0].nnets, 1);
	assert_int_equal(p[0].net[0].network, 0);
	assert_int_equal(p[0].net[0].address, ip("10.90.0.1"));
	assert_memory_equal(p[0].net[0].mac, mac1, 6);
	assert_true(fn_config_has_uplink(c, 0));
	assert_int_equal(p[1].nnets, 2);
	assert_int_equal(p[1].net[0].address, ip("10.90.0.2"));
	assert_int_equal(p[1].net[1].network, 1);
	assert_int_equal(p[1].net[1].address, ip("10.91.7.7"));
	assert_false(fn_config_has_uplink(c, 1));
	assert_int_equal(p[2].nnets, 0);
	assert_int_equal(p[3].nnets, 0);	/* no stack: [stack]'s list */

	/* A NIC serves the pipelines with a driver, which come first. */
	expect_ok(f, "net.conf",
		  "[topology]\npipelines = 3\n[nic]\nexec = /bin/nic\n"
		  "[vswitch]\nexec = v\n[network n]\nsubnet = 10.9.0.0/24\n"
		  "[stack]\nexec = s\naddress = 10.8.0.2/24\nnetworks = n\n"
		  "[pipeline 0]\ndriver_exec = /bin/drv\n");
	assert_int_equal(c->nic.queues, 1);

	/* A stack on internal networks only needs no [stack] address. */
	expect_ok(f, "net.conf",
		  "[vswitch]\nexec = v\n[network n]\nsubnet = 10.9.0.0/24\n"
		  "[stack]\nexec = s\nnetworks = n\n");
	assert_int_equal(c->stack.address.addr, 0);
	assert_int_equal(c->pipeline[0].net[0].address, ip("10.9.0.1"));
	assert_int_equal(load(f, "net.conf", "[driver]\nexec = d\n"
			      "[vswitch]\nexec = v\n[network n]\n"
			      "subnet = 10.9.0.0/24\n[stack]\nexec = s\n"
			      "networks = n\n"), -EINVAL);
	assert_non_null(strstr(f->err, "[stack] address: required: pipeline 0"));
	expect_zeroed(f);
}

/* per-pipeline (the default): [stack] address + i, 02:00 and the address;
 * [pipeline N] overrides; shared: one address and [nic] mac for all;
 * a pipeline without an uplink has none. */
static void test_addressing(void **state)
{
	struct fixture *f = *state;
	const struct fn_config *c = f->cfg;
	static const uint8_t mac0[6] = { 2, 0, 10, 7, 0, 2 };
	static const uint8_t mac1[6] = { 2, 0, 10, 7, 0, 3 };
	static const uint8_t mac2[6] = { 2, 0, 0, 0, 0, 9 };
	static const uint8_t nic[6] = { 2, 0, 0, 0, 0, 1 };

	expect_ok(f, "a.conf", UPLINK2 "address = 10.7.0.2/24\n");
	assert_int_equal(c->stack.addressing, FN_ADDRESSING_PER_PIPELINE);
	assert_int_equal(c->pipeline[0].stack_address.addr, ip("10.7.0.2"));
	assert_int_equal(c->pipeline[1].stack_address.addr, ip("10.7.0.3"));
	assert_int_equal(c->pipeline[1].stack_address.prefix, 24);
	assert_memory_equal(c->pipeline[0].stack_mac, mac0, 6);
	assert_memory_equal(c->pipeline[1].stack_mac, mac1, 6);

	expect_ok(f, "a.conf", UPLINK2 "address = 10.7.0.2/24\n[pipeline 1]\n"
		  "stack_address = 10.8.0.7/16\nstack_mac = 02:00:00:00:00:09\n");
	assert_int_equal(c->pipeline[1].stack_address.addr, ip("10.8.0.7"));
	assert_int_equal(c->pipeline[1].stack_address.prefix, 16);
	assert_memory_equal(c->pipeline[1].stack_mac, mac2, 6);

	expect_ok(f, "a.conf", UPLINK2 "address = 10.7.0.2/24\n"
		  "addressing = shared\n");
	assert_int_equal(c->stack.addressing, FN_ADDRESSING_SHARED);
	for (unsigned p = 0; p < 2; p++) {
		assert_int_equal(c->pipeline[p].stack_address.addr,
				 ip("10.7.0.2"));
		assert_memory_equal(c->pipeline[p].stack_mac, nic, 6);
	}

	/* /32: one host, no network or broadcast address to avoid. */
	expect_ok(f, "a.conf", "[nic]\nexec = n\n[driver]\nexec = d\n"
		  "[stack]\nexec = s\naddress = 10.7.0.2/32\n");
	assert_int_equal(c->pipeline[0].stack_address.addr, ip("10.7.0.2"));

	expect_ok(f, "a.conf", UPLINK2 "address = 10.7.0.2/24\n[pipeline 1]\n"
		  "driver_exec = none\n");
	assert_int_equal(c->pipeline[1].stack_address.addr, 0);
	assert_true(all_zero(c->pipeline[1].stack_mac, 6));
}

/* [cluster]: defaults, every key, the restart delay that replicas imply. */
static void test_cluster(void **state)
{
	struct fixture *f = *state;
	const struct fn_cluster_conf *c = &f->cfg->cluster;

	expect_ok(f, "c.conf", "");
	assert_false(c->enabled);
	assert_int_equal(c->port, 6379);
	assert_int_equal(c->replicas, 0);
	assert_int_equal(c->timeout_ms, 30000);
	assert_int_equal(c->restart_delay_ms, 0);

	expect_ok(f, "c.conf", CLUSTER2 "port = 7000\ntimeout_ms = 5000\n");
	assert_true(c->enabled);
	assert_int_equal(c->port, 7000);
	assert_int_equal(c->timeout_ms, 5000);
	assert_int_equal(c->masters, 2);
	assert_int_equal(c->restart_delay_ms, 0);

	expect_ok(f, "c.conf", CLUSTER2 "replicas = 1\n");
	assert_int_equal(c->replicas, 1);
	assert_int_equal(c->masters, 1);
	assert_int_equal(c->restart_delay_ms, FN_CLUSTER_RESTART_DELAY_MS);

	expect_ok(f, "c.conf", CLUSTER2 "masters = 1\n");
	assert_int_equal(c->masters, 1);
	assert_int_equal(c->restart_delay_ms, FN_CLUSTER_RESTART_DELAY_MS);
	expect_ok(f, "c.conf", CLUSTER2 "masters = 2\n");
	assert_int_equal(c->masters, 2);
	assert_int_equal(c->restart_delay_ms, 0);

	expect_ok(f, "c.conf", CLUSTER2 "replicas = 1\nrestart_delay_ms = 0\n");
	assert_int_equal(c->restart_delay_ms, 0);

	/* not enabled: nothing is checked against the pipelines */
	expect_ok(f, "c.conf", "[cluster]\nenabled = no\nreplicas = 5\n");
	assert_false(c->enabled);
}

/*
 * config/kvs-cluster.conf: two pipelines at addresses of their own, each a
 * redis-server in cluster mode announcing its pipeline's address, and the
 * supervisor told to make the cluster.
 */
static void test_shipped_kvs_cluster_config(void **state)
{
	struct fixture *f = *state;
	const char *path = FN_SOURCE_ROOT "/config/kvs-cluster.conf";
	const struct fn_config *c = f->cfg;
	char buf[FN_ARGS_MAX * 2], *argv[FN_MAX_ARGS + 1];
	int argc, i;
	bool announce = false, enabled = false, conf = false;

	if (fn_config_load(f->cfg, path, f->err) != 0)
		fail_msg("%s", f->err);
	assert_int_equal(c->npipelines, 2);
	assert_true(c->cluster.enabled);
	assert_int_equal(c->cluster.port, 6379);
	assert_int_equal(c->stack.addressing, FN_ADDRESSING_PER_PIPELINE);
	assert_int_equal(c->pipeline[0].stack_address.addr, ip("10.80.0.2"));
	assert_int_equal(c->pipeline[1].stack_address.addr, ip("10.80.0.3"));
	argc = fn_config_split_args(c->pipeline[1].comp[FN_ROLE_APP].args, 1,
				    c->run_dir, "10.80.0.3", buf, sizeof buf,
				    argv, FN_MAX_ARGS + 1);
	assert_true(argc > 0);
	for (i = 0; i < argc - 1; i++) {
		if (strcmp(argv[i], "--cluster-announce-ip") == 0)
			announce = strcmp(argv[i + 1], "10.80.0.3") == 0;
		if (strcmp(argv[i], "--cluster-enabled") == 0)
			enabled = strcmp(argv[i + 1], "yes") == 0;
		if (strcmp(argv[i], "--cluster-config-file") == 0)
			conf = strcmp(argv[i + 1], "nodes-1.conf") == 0;
	}
	assert_true(announce && enabled && conf);
}

/* What a stack takes: its pipeline's uplink, else [stack] address and
 * [nic] mac. */
static void test_config_uplink(void **state)
{
	struct fixture *f = *state;
	static const uint8_t mac1[6] = { 2, 0, 10, 7, 0, 3 };
	static const uint8_t nic[6] = { 2, 0, 0, 0, 0, 1 };
	struct fn_ip4 a;
	uint8_t mac[6];

	expect_ok(f, "a.conf", UPLINK2 "address = 10.7.0.2/24\n");
	fn_config_uplink(f->cfg, 1, &a, mac);
	assert_int_equal(a.addr, ip("10.7.0.3"));
	assert_int_equal(a.prefix, 24);
	assert_memory_equal(mac, mac1, 6);
	for (int p = -1; p <= 2; p += 3) {	/* -1 and 2: no such pipeline */
		fn_config_uplink(f->cfg, p, &a, mac);
		assert_int_equal(a.addr, ip("10.7.0.2"));
		assert_memory_equal(mac, nic, 6);
	}
}

/* [topology] metrics: none by default; an IPv4 loopback address (any of
 * 127/8) or [::1], with a port. */
static void test_metrics(void **state)
{
	static const uint8_t v6[16] = { [15] = 1 };
	struct fixture *f = *state;
	const struct fn_metrics_conf *m = &f->cfg->metrics;
	uint32_t a;

	expect_ok(f, "m.conf", "");
	assert_int_equal(m->family, 0);
	expect_ok(f, "m.conf", "[topology]\nmetrics = 127.0.0.1:9464\n");
	assert_int_equal(m->family, 4);
	memcpy(&a, m->addr, 4);
	assert_int_equal(a, ip("127.0.0.1"));
	assert_int_equal(m->port, 9464);
	assert_string_equal(m->text, "127.0.0.1:9464");
	expect_ok(f, "m.conf", "[topology]\nmetrics = 127.1.2.3:1\n");
	memcpy(&a, m->addr, 4);
	assert_int_equal(a, ip("127.1.2.3"));
	assert_int_equal(m->port, 1);
	expect_ok(f, "m.conf", "[topology]\nmetrics = [::1]:65535\n");
	assert_int_equal(m->family, 6);
	assert_memory_equal(m->addr, v6, 16);
	assert_int_equal(m->port, 65535);
	assert_string_equal(m->text, "[::1]:65535");
}

#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_empty_file_gives_defaults),
		T(test_full_file),
		T(test_pipeline_overrides),
		T(test_sched),
		T(test_slice),
		T(test_pipelines_may_come_later),
		T(test_relative_exec),
		T(test_relative_name_uses_cwd),
		T(test_derived_defaults),
		T(test_syntax_variants),
		T(test_args_continuation),
		T(test_repeated_section_header),
		T(test_bad_inputs),
		T(test_long_args_over_lines),
		T(test_load_file),
		T(test_load_file_errors),
		T(test_split_basic),
		T(test_split_quotes),
		T(test_split_placeholders),
		T(test_split_errors),
		T(test_role_names),
		T(test_shipped_config),
		T(test_shipped_ping_config),
		T(test_shipped_kvs_config),
		T(test_stack_ruleset),
		T(test_networks),
		T(test_shipped_internal_config),
		T(test_addressing),
		T(test_cluster),
		T(test_shipped_kvs_cluster_config),
		T(test_config_uplink),
		T(test_metrics),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
