/*
 * test_confine.c - fn_confine() and fn_confine_caps() (fragnet/confine.h),
 * each in a forked child, which reports through its exit status.
 *
 * FRAGNET_CONFINE parsing runs anywhere; the confinement itself needs root
 * (skipped otherwise).  The children end with _exit(): LeakSanitizer's
 * exit-time check would stop the world with calls the filter refuses.
 */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fragnet/confine.h"
#include "fragnet/names.h"

static void test_env(void **state)
{
	uid_t u = 0;
	gid_t g = 0;

	(void)state;
	unsetenv(FN_ENV_CONFINE);
	assert_int_equal(fn_confine_env(&u, &g), 0);
	setenv(FN_ENV_CONFINE, FN_CONFINE_OFF, 1);
	assert_int_equal(fn_confine_env(&u, &g), 0);
	setenv(FN_ENV_CONFINE, "995:994", 1);
	assert_int_equal(fn_confine_env(&u, &g), 1);
	assert_int_equal(u, 995);
	assert_int_equal(g, 994);
	for (const char *const *v = (const char *const[]){ "0:0", "995",
	     "995:", ":994", "995:994x", "-1:5", "a:b", "995:0", NULL }; *v; v++) {
		setenv(FN_ENV_CONFINE, *v, 1);
		assert_int_equal(fn_confine_env(&u, &g), -EINVAL);
	}
	unsetenv(FN_ENV_CONFINE);
}

/* Run fn in a child; its wait status. */
static int in_child(int (*fn)(void))
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

/* Confined as nobody: no file, the uid, then a forbidden call kills. */
static int child_confined(void)
{
	struct fn_confine_spec spec = { .who = "test", .uid = 65534,
		.gid = 65534, .as_margin = 64u << 20, .nofile = 32 };
	char why[256];

	if (fn_confine(&spec, why, sizeof(why)) < 0)
		return 10;
	if (open("/etc/passwd", O_RDONLY) >= 0 || errno != EACCES)
		return 11;
	if (getuid() != 65534 || getgid() != 65534)
		return 12;
	socket(AF_INET, SOCK_DGRAM, 0);
	return 13;			/* not reached: SIGSYS */
}

static void test_confine(void **state)
{
	int st;

	(void)state;
	if (geteuid() != 0)
		skip();
	st = in_child(child_confined);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 13);	/* ENOSYS */
#else
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
#endif
}

/* Capabilities gone and a deny-list: the listed call kills, others run. */
static int child_caps(void)
{
	static const struct fn_sc_rule deny[] = {
		{ SCMP_SYS(socket), FN_SC_KILL, 1, { { 0, ~0ull, AF_INET } } },
	};
	char why[256];
	int fd;

	if (fn_confine_caps(0, deny, 1, why, sizeof(why)) < 0)
		return 20;
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd < 0)
		return 21;
	close(fd);
	if (setuid(65534) == 0)		/* no CAP_SETUID left */
		return 22;
	socket(AF_INET, SOCK_DGRAM, 0);
	return 23;
}

static void test_caps(void **state)
{
	int st;

	(void)state;
	if (geteuid() != 0)
		skip();
	st = in_child(child_caps);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_confine),
		cmocka_unit_test(test_caps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
