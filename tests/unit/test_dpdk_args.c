/*
 * test_dpdk_args.c - EAL argument lists (fragnet/dpdk.h).
 *
 * The safety rule of the house: DPDK never probes PCI unless the topology
 * names a device, and then only that one.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fragnet/dpdk.h"

static const char tap_conf[] =
	"[topology]\nname = kvs\npipelines = 2\n"
	"[nic]\npmd = tap\nifname = fn-kvs\nmac = 02:00:00:00:00:07\n";
static const char pci_conf[] =
	"[topology]\nname = lab\npipelines = 4\n"
	"[nic]\npmd = pci\npci = 0000:03:00.1\n";

static int argv_has(char **argv, int argc, const char *s)
{
	int n = 0;

	for (int i = 0; i < argc; i++)
		n += strcmp(argv[i], s) == 0;
	return n;
}

static int argv_prefixed(char **argv, int argc, const char *p)
{
	int n = 0;

	for (int i = 0; i < argc; i++)
		n += strncmp(argv[i], p, strlen(p)) == 0;
	return n;
}

static void load(struct fn_config *cfg, const char *text)
{
	char err[FN_CONFIG_ERR_MAX];

	assert_int_equal(fn_config_load_string(cfg, "t.conf", text, err), 0);
}

static void test_tap_primary(void **state)
{
	static struct fn_config cfg;
	char buf[1024], *argv[FN_EAL_MAX_ARGS];
	(void)state;

	load(&cfg, tap_conf);
	int argc = fn_eal_args(&cfg, "fragnet-nic", true, FN_LCORE_NIC, 1, buf,
				   sizeof(buf), argv);
	assert_true(argc > 0);
	assert_null(argv[argc]);
	assert_string_equal(argv[0], "fragnet-nic");
	assert_int_equal(argv_has(argv, argc, "--no-pci"), 1);
	assert_int_equal(argv_has(argv, argc, "-a"), 0);
	assert_int_equal(argv_has(argv, argc, "--file-prefix=fragnet-kvs"), 1);
	assert_int_equal(argv_has(argv, argc, "--proc-type=primary"), 1);
	assert_int_equal(argv_has(argv, argc, "--iova-mode=va"), 1);
	assert_int_equal(argv_has(argv, argc,
		"--vdev=net_tap_fn,iface=fn-kvs,mac=02:00:00:00:00:07"), 1);
	assert_int_equal(argv_has(argv, argc, "--lcores=0@1"), 1);
}

static void test_tap_secondary(void **state)
{
	static struct fn_config cfg;
	char buf[1024], *argv[FN_EAL_MAX_ARGS];
	(void)state;

	load(&cfg, tap_conf);
	int argc = fn_eal_args(&cfg, "fragnet-driver", false,
			       FN_LCORE_DRIVER(1), 0, buf, sizeof(buf), argv);
	assert_true(argc > 0);
	assert_int_equal(argv_has(argv, argc, "--no-pci"), 1);
	assert_int_equal(argv_has(argv, argc, "--proc-type=secondary"), 1);
	assert_int_equal(argv_has(argv, argc, "--iova-mode=va"), 1);
	/* A secondary attaches to the primary's vdev; it never creates one. */
	assert_int_equal(argv_prefixed(argv, argc, "--vdev"), 0);
	/* Two drivers on cpu 0 still get lcore ids of their own. */
	assert_int_equal(argv_has(argv, argc, "--lcores=2@0"), 1);
	assert_int_equal(fn_eal_args(&cfg, "x", false, 1, -1, buf, sizeof(buf),
				     argv), -EINVAL);
}

static void test_pci_allowlist(void **state)
{
	static struct fn_config cfg;
	char buf[1024], *argv[FN_EAL_MAX_ARGS];
	(void)state;

	load(&cfg, pci_conf);
	for (int primary = 0; primary < 2; primary++) {
		int argc = fn_eal_args(&cfg, "x", primary, 0, 0, buf,
				       sizeof(buf), argv);
		assert_true(argc > 0);
		assert_int_equal(argv_has(argv, argc, "--no-pci"), 0);
		assert_int_equal(argv_has(argv, argc, "-a"), 1);
		/* The PCI device's kernel driver decides. */
		assert_int_equal(argv_has(argv, argc, "--iova-mode=va"), 0);
		assert_int_equal(argv_has(argv, argc, "0000:03:00.1"), 1);
		assert_int_equal(argv_prefixed(argv, argc, "--vdev"), 0);
		assert_int_equal(argv_has(argv, argc, "--file-prefix=fragnet-lab"), 1);
	}
}

static void test_small_buffer(void **state)
{
	static struct fn_config cfg;
	char buf[40], *argv[FN_EAL_MAX_ARGS];
	(void)state;

	load(&cfg, tap_conf);
	assert_int_equal(fn_eal_args(&cfg, "fragnet-nic", true, 0, 0, buf,
				     sizeof(buf), argv), -E2BIG);
}

static void test_ready_path(void **state)
{
	static struct fn_config cfg;
	char p[PATH_MAX], small[8];
	(void)state;

	load(&cfg, tap_conf);
	assert_int_equal(fn_nic_ready_path(&cfg, p, sizeof(p)), 0);
	assert_string_equal(p, "/run/fragnet/kvs/nic.ready");
	assert_int_equal(fn_nic_ready_path(&cfg, small, sizeof(small)),
			 -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tap_primary),
		cmocka_unit_test(test_tap_secondary),
		cmocka_unit_test(test_pci_allowlist),
		cmocka_unit_test(test_small_buffer),
		cmocka_unit_test(test_ready_path),
	};

	return cmocka_run_group_tests_name("dpdk_args", tests, NULL, NULL);
}
