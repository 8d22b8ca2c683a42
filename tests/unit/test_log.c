/*
 * test_log.c - unit tests of fragnet/log.h: level names, filtering, and
 * the line format on stderr (captured through a memfd put on fd 2).
 */
#include <errno.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "fragnet/log.h"
#include "fragnet/names.h"

static int saved_stderr = -1;
static int capture_fd = -1;

static int capture_start(void **state)
{
	(void)state;
	capture_fd = memfd_create("log-capture", MFD_CLOEXEC);
	assert_true(capture_fd >= 0);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(saved_stderr >= 0);
	assert_int_equal(dup2(capture_fd, STDERR_FILENO), STDERR_FILENO);
	return 0;
}

/* Hand what was captured (log lines, and cmocka's own failure messages)
 * on to the real stderr, so that a failing run shows it. */
static int capture_stop(void **state)
{
	char buf[4096];
	ssize_t n;
	off_t off = 0;

	(void)state;
	dup2(saved_stderr, STDERR_FILENO);
	while ((n = pread(capture_fd, buf, sizeof(buf), off)) > 0) {
		if (write(STDERR_FILENO, buf, (size_t)n) != n)
			break;
		off += n;
	}
	close(saved_stderr);
	close(capture_fd);
	return 0;
}

/* Everything written to stderr since the start of the test. */
static char *captured(void)
{
	off_t n = lseek(capture_fd, 0, SEEK_CUR);
	char *buf = calloc(1, (size_t)n + 1);

	assert_non_null(buf);
	assert_int_equal(pread(capture_fd, buf, (size_t)n, 0), n);
	return buf;
}

static void test_levels(void **state)
{
	int l = -5;

	(void)state;
	assert_int_equal(fn_log_level_parse("error", &l), 0);
	assert_int_equal(l, FN_LOG_ERROR);
	assert_int_equal(fn_log_level_parse("WARN", &l), 0);
	assert_int_equal(l, FN_LOG_WARN);
	assert_int_equal(fn_log_level_parse("debug", &l), 0);
	assert_int_equal(l, FN_LOG_DEBUG);
	assert_int_equal(fn_log_level_parse("verbose", &l), -EINVAL);
	assert_int_equal(fn_log_level_parse(NULL, &l), -EINVAL);
	assert_string_equal(fn_log_level_name(FN_LOG_INFO), "info");
	assert_string_equal(fn_log_level_name(42), "?");
	assert_string_equal(fn_log_level_name(-1), "?");
	fn_log_set_level(FN_LOG_WARN);
	assert_int_equal(fn_log_level(), FN_LOG_WARN);
	fn_log_set_level(99);		/* ignored */
	assert_int_equal(fn_log_level(), FN_LOG_WARN);
}

static void test_env_level(void **state)
{
	(void)state;
	setenv(FN_ENV_LOG_LEVEL, "debug", 1);
	fn_log_init("stack", 1, FN_LOG_DEFAULT);
	assert_int_equal(fn_log_level(), FN_LOG_DEBUG);
	setenv(FN_ENV_LOG_LEVEL, "nonsense", 1);
	fn_log_init("stack", 1, FN_LOG_DEFAULT);
	assert_int_equal(fn_log_level(), FN_LOG_INFO);
	fn_log_init("stack", 1, FN_LOG_ERROR);	/* explicit beats env */
	assert_int_equal(fn_log_level(), FN_LOG_ERROR);
	unsetenv(FN_ENV_LOG_LEVEL);
}

static void test_format(void **state)
{
	regex_t re;

	(void)state;
	fn_log_init("driver", 3, FN_LOG_INFO);
	errno = EAGAIN;
	fn_warn("hello %d", 42);
	assert_int_equal(errno, EAGAIN);	/* logging keeps errno */
	fn_debug("filtered out");
	fn_log_init(NULL, -1, FN_LOG_INFO);
	fn_err("no pipeline");

	char *out = captured();
	assert_int_equal(regcomp(&re,
		"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
		"fragnet-driver/3\\[[0-9]+\\] warn: hello 42\n"
		"[0-9]{4}-[^ ]+Z fragnet-fragnet/-\\[[0-9]+\\] error: no pipeline\n$",
		REG_EXTENDED), 0);
	if (regexec(&re, out, 0, NULL, 0) != 0)
		fail_msg("unexpected log output: '%s'", out);
	regfree(&re);
	free(out);
}

/* A message longer than the line buffer is cut, and still one line. */
static void test_long_line(void **state)
{
	char big[3000];

	(void)state;
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	fn_log_init("x", 0, FN_LOG_INFO);
	fn_info("%s", big);
	fn_info("after");
	char *out = captured();
	char *nl = strchr(out, '\n');
	assert_non_null(nl);
	assert_true(nl - out < 1024);
	assert_non_null(strstr(nl + 1, "info: after\n"));
	free(out);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, capture_start, capture_stop)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_env_level),
		T(test_format),
		T(test_long_line),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
