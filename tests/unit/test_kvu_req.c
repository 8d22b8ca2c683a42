/*
 * test_kvu_req.c - unit tests of the redis-udp request parser and reply
 * placement (src/apps/redis-udp/kvu_req.h): commands from
 * redisFormatCommand, several per datagram, bad commands, every cut of a
 * request, hostile lengths and nesting, the max_cmds limit, and the reply
 * size rule. Leaks show under the sanitizer build (scripts/test).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "kvu_req.h"

static struct kvu_req req;

static int setup(void **state)
{
	(void)state;
	return kvu_req_init(&req, kvu_max_cmds(KVU_REPLY_DEFAULT));
}

static int teardown(void **state)
{
	(void)state;
	kvu_req_fini(&req);
	return 0;
}

static enum kvu_verdict parse_str(const char *s, size_t len)
{
	return kvu_req_parse(&req, s, len);
}

static void test_formatted(void **state)
{
	char *cmd, buf[512];
	int n = redisFormatCommand(&cmd, "SET %s %b", "key", "v\0l", (size_t)3);
	int m;

	(void)state;
	assert_true(n > 0);
	memcpy(buf, cmd, (size_t)n);
	redisFreeCommand(cmd);
	m = redisFormatCommand(&cmd, "GET key");
	memcpy(buf + n, cmd, (size_t)m);
	redisFreeCommand(cmd);
	assert_int_equal(parse_str(buf, (size_t)(n + m)), KVU_OK);
	assert_int_equal(req.ncmd, 2);
	assert_int_equal(req.cmd[0].argc, 3);
	assert_string_equal(req.cmd[0].argv[0], "SET");
	assert_int_equal(req.cmd[0].argvlen[2], 3);
	assert_memory_equal(req.cmd[0].argv[2], "v\0l", 3);
	assert_int_equal(req.cmd[1].argc, 2);
	assert_string_equal(req.cmd[1].argv[1], "key");
	assert_false(kvu_req_is_tag(&req, 0));
}

static void test_tag_and_bad(void **state)
{
	static const char s[] =
		"*2\r\n$7\r\nudp.tag\r\n$3\r\nabc\r\n"	/* tag */
		"+OK\r\n"				/* not an array */
		"*0\r\n"				/* empty */
		"*2\r\n$3\r\nGET\r\n:1\r\n"		/* integer arg */
		"*1\r\n*1\r\n$1\r\nx\r\n"		/* nested */
		"*1\r\n$3\r\nG\0T\r\n"			/* NUL in the name */
		"*1\r\n$4\r\nPING\r\n";

	(void)state;
	assert_int_equal(parse_str(s, sizeof(s) - 1), KVU_OK);
	assert_int_equal(req.ncmd, 7);
	assert_true(kvu_req_is_tag(&req, 0));
	for (int i = 1; i < 6; i++)
		assert_int_equal(req.cmd[i].argc, 0);
	assert_int_equal(req.cmd[6].argc, 1);
}

static void test_every_cut(void **state)
{
	static const char s[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n";

	(void)state;
	/* Cut inside the array's elements: truncated; right after its
	 * header, "*3" cannot fit 3 elements in so few bytes: protocol. */
	for (size_t i = 1; i < sizeof(s) - 1; i++) {
		enum kvu_verdict v = parse_str(s, i);

		assert_true(v == KVU_TRUNCATED || (v == KVU_PROTOCOL && i < 9));
	}
	assert_int_equal(parse_str(s, sizeof(s) - 1), KVU_OK);
	/* The parser is usable after each failure. */
	assert_int_equal(req.ncmd, 1);
}

static void test_hostile(void **state)
{
	static const char *bad[] = {
		"PING\r\n", "*2147483647\r\n", "*99999999999999999999\r\n",
		"*1\r\n$99999999999999999999\r\nx\r\n", "*1\r\n$-7\r\n",
		"*-5\r\n", "*1x\r\n", "*1\r\n$4\r\nPINGxx",
		"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n$1\r\nx\r\n",
		"*100\r\n$1\r\nx\r\n",	/* more elements than bytes */
		"\xff\xfe garbage",
	};

	(void)state;
	assert_int_equal(parse_str("", 0), KVU_EMPTY);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum kvu_verdict v = parse_str(bad[i], strlen(bad[i]));

		assert_true(v == KVU_PROTOCOL || v == KVU_TRUNCATED);
	}
	/* A nil array is a RESP value, but no command. */
	assert_int_equal(parse_str("*-1\r\n", 5), KVU_OK);
	assert_int_equal(req.cmd[0].argc, 0);
}

static void test_too_many(void **state)
{
	static const char ping[] = "*1\r\n$4\r\nPING\r\n";
	size_t max = req.max_cmds, l = sizeof(ping) - 1;
	char *buf = malloc((max + 1) * l);

	(void)state;
	assert_int_equal(max, KVU_REPLY_DEFAULT / 26);
	for (size_t i = 0; i <= max; i++)
		memcpy(buf + i * l, ping, l);
	assert_int_equal(parse_str(buf, max * l), KVU_OK);
	assert_int_equal(req.ncmd, max);
	assert_int_equal(parse_str(buf, (max + 1) * l), KVU_TOO_MANY);
	free(buf);
}

static void test_reply_rule(void **state)
{
	char buf[100], big[100];
	struct kvu_reply rep;

	(void)state;
	memset(big, 'x', sizeof(big));
	/* 3 replies in 100 bytes: the first may take at most 100 - 2 * 26. */
	kvu_reply_start(&rep, buf, sizeof(buf), 3);
	kvu_reply_add(&rep, big, 49);	/* 49 + 2 * 26 > 100 */
	assert_int_equal(rep.too_large, 1);
	kvu_reply_start(&rep, buf, sizeof(buf), 3);
	kvu_reply_add(&rep, big, 48);
	kvu_reply_add(&rep, big, 30);	/* 48 + 30 + 26 > 100 */
	kvu_reply_add(&rep, "+OK\r\n", 5);
	assert_int_equal(rep.too_large, 1);
	assert_int_equal(rep.len, 48 + 26 + 5);
	assert_memory_equal(buf + 48, KVU_ERR_TOO_LARGE, 26);
	/* The tag as a bulk string. */
	kvu_reply_start(&rep, buf, sizeof(buf), 2);
	kvu_reply_add_bulk(&rep, "t1", 2);
	kvu_reply_add(&rep, big, 93);	/* 8 + 93 > 100 */
	assert_int_equal(rep.len, 8 + 26);
	assert_memory_equal(buf, "$2\r\nt1\r\n", 8);
	/* Never past the end, whatever the caller does. */
	kvu_reply_start(&rep, buf, 30, 5);
	for (int i = 0; i < 5; i++)
		kvu_reply_add(&rep, big, 10);
	assert_true(rep.len <= 30);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_formatted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tag_and_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_rule, setup, teardown),
	};

	return cmocka_run_group_tests_name("kvu_req", tests, NULL, NULL);
}
