/*
 * test_drv_steer.c - the drivers' steering decision (src/driver/
 * drv_steer.h): per-pipeline addressing steers a sibling's unicast MAC to
 * its queue, keeps our own and unknown MACs, sends group addresses to all;
 * shared addressing and a single queue steer nothing.  Tables come from
 * real configs (fn_config_load_string), so that the MACs are the ones the
 * stacks get.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drv_steer.h"

#define CONF(pipes, extra) \
	"[topology]\npipelines = " pipes "\n[nic]\nexec = n\n[driver]\n" \
	"exec = d\n[stack]\nexec = s\naddress = 10.78.0.2/24\n" extra

static struct fn_config *load(const char *text)
{
	struct fn_config *cfg = test_malloc(sizeof(*cfg));
	char err[FN_CONFIG_ERR_MAX];

	if (fn_config_load_string(cfg, "t.conf", text, err) != 0)
		fail_msg("%s", err);
	return cfg;
}

static const uint8_t mac0[6] = { 2, 0, 10, 78, 0, 2 };
static const uint8_t mac1[6] = { 2, 0, 10, 78, 0, 3 };
static const uint8_t mac3[6] = { 2, 0, 10, 78, 0, 5 };
static const uint8_t other[6] = { 2, 0, 10, 78, 0, 9 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0, 0, 1 };

static void test_per_pipeline(void **state)
{
	struct fn_config *cfg = load(CONF("4", ""));
	struct drv_steer t;

	(void)state;
	drv_steer_init(&t, cfg, 1, 4);
	assert_int_equal(t.n, 4);
	assert_int_equal(drv_steer_pick(&t, mac0), 0);
	assert_int_equal(drv_steer_pick(&t, mac1), DRV_STEER_LOCAL);
	assert_int_equal(drv_steer_pick(&t, mac3), 3);
	assert_int_equal(drv_steer_pick(&t, other), DRV_STEER_LOCAL);
	assert_int_equal(drv_steer_pick(&t, bcast), DRV_STEER_ALL);
	assert_int_equal(drv_steer_pick(&t, mcast), DRV_STEER_ALL);
	drv_steer_init(&t, cfg, 0, 4);
	assert_int_equal(drv_steer_pick(&t, mac1), 1);
	assert_int_equal(drv_steer_pick(&t, mac0), DRV_STEER_LOCAL);
	test_free(cfg);
}

/* [pipeline N] stack_mac is what the table holds. */
static void test_override(void **state)
{
	struct fn_config *cfg = load(CONF("2", "[pipeline 1]\n"
					  "stack_mac = 02:00:00:00:00:77\n"));
	static const uint8_t own[6] = { 2, 0, 0, 0, 0, 0x77 };
	struct drv_steer t;

	(void)state;
	drv_steer_init(&t, cfg, 0, 2);
	assert_int_equal(drv_steer_pick(&t, own), 1);
	assert_int_equal(drv_steer_pick(&t, mac1), DRV_STEER_LOCAL);
	test_free(cfg);
}

static void test_no_steering(void **state)
{
	struct fn_config *cfg = load(CONF("2", "addressing = shared\n"));
	struct fn_config *one = load(CONF("1", ""));
	static const uint8_t nic[6] = { 2, 0, 0, 0, 0, 1 };
	struct drv_steer t;

	(void)state;
	drv_steer_init(&t, cfg, 0, 2);
	assert_int_equal(t.n, 0);
	assert_int_equal(drv_steer_pick(&t, nic), DRV_STEER_LOCAL);
	assert_int_equal(drv_steer_pick(&t, mac1), DRV_STEER_LOCAL);
	assert_int_equal(drv_steer_pick(&t, bcast), DRV_STEER_ALL);
	drv_steer_init(&t, one, 0, 1);
	assert_int_equal(t.n, 0);
	assert_int_equal(drv_steer_pick(&t, mac0), DRV_STEER_LOCAL);
	/* A queue outside the table (a caller's bug) steers nothing. */
	drv_steer_init(&t, cfg, 5, 2);
	assert_int_equal(t.n, 0);
	test_free(cfg);
	test_free(one);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_per_pipeline),
		cmocka_unit_test(test_override),
		cmocka_unit_test(test_no_steering),
	};

	return cmocka_run_group_tests_name("drv_steer", tests, NULL, NULL);
}
