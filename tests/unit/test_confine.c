/*
 * test_confine.c - fn_confine() and fn_confine_caps() (fragnet/confine.h),
 * each in a forked child, which reports through its exit status; for
 * fn_confine_caps() also in a second thread of the child.
 *
 * FRAGNET_CONFINE parsing runs anywhere; the confinement itself needs root
 * (skipped otherwise).  The children end with _exit(): LeakSanitizer's
 * exit-time check would stop the world with calls the filter refuses.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
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

/* Confined as nobody: no file; it waits on a pipe while the parent reads
 * its uid (getuid is not on the list); then a forbidden call kills. */
static int go[2], ready[2];

static int child_confined(void)
{
	struct fn_confine_spec spec = { .who = "test", .uid = 65534,
		.gid = 65534, .as_margin = 64u << 20, .nofile = 32 };
	char why[256], c = 0;

	if (fn_confine(&spec, why, sizeof(why)) < 0)
		return 10;
	if (open("/etc/passwd", O_RDONLY) >= 0 || errno != EACCES)
		return 11;
	if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
		return 12;
	socket(AF_INET, SOCK_DGRAM, 0);
	return 13;			/* killed before: SIGSYS */
}

/* The Uid: line of /proc/PID/status: "Uid:\tR\tE\tS\tF". */
static void assert_uid(pid_t pid, const char *want)
{
	char path[64], line[128];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "Uid:", 4) == 0) {
			assert_string_equal(line, want);
			found = true;
		}
	fclose(f);
	assert_true(found);
}

static void test_confine(void **state)
{
	int st;
	pid_t pid;
	char c = 0;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_confined());
	assert_int_equal(read(ready[0], &c, 1), 1);
	assert_uid(pid, "Uid:\t65534\t65534\t65534\t65534\n");
	assert_int_equal(write(go[1], &c, 1), 1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	for (int i = 0; i < 2; i++) {
		close(go[i]);
		close(ready[i]);
	}
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 13);	/* ENOSYS: not killed */
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

	if (fn_confine_caps(0, 0, 0, deny, 1, why, sizeof(why)) < 0)
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

/*
 * A DPDK process has threads of its own: what fn_confine_caps() does must
 * hold in every one.  A second thread waits on a pipe; the caller drops;
 * the second thread's status is read from /proc.
 */
static int idle_pipe[2];
static pid_t idle_tid;

static void *idle_thread(void *arg)
{
	char c;

	(void)arg;
	__atomic_store_n(&idle_tid, (pid_t)syscall(SYS_gettid),
			 __ATOMIC_RELEASE);
	while (read(idle_pipe[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/* Does line "KEY:\tVALUE" appear in the status of thread tid? */
static bool task_has(pid_t tid, const char *line)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, line) != NULL;
}

static pthread_t idle_start(void)
{
	pthread_t t;

	if (pipe(idle_pipe) < 0 || pthread_create(&t, NULL, idle_thread, NULL))
		_exit(30);
	while (!__atomic_load_n(&idle_tid, __ATOMIC_ACQUIRE))
		sched_yield();
	return t;
}

/* The driver's case: a user, no capability, the filter in both threads. */
static int child_threads_user(void)
{
	static const struct fn_sc_rule deny[] = {
		{ SCMP_SYS(ptrace), FN_SC_KILL, 0, { { 0, 0, 0 } } },
	};
	pthread_t t = idle_start();
	char why[256];

	if (fn_confine_caps(0, 65534, 65534, deny, 1, why, sizeof(why)) < 0)
		return 31;
	if (!task_has(idle_tid, "Uid:\t65534\t65534\t65534\t65534\n"))
		return 32;
	if (!task_has(idle_tid, "CapEff:\t0000000000000000\n") ||
	    !task_has(idle_tid, "CapPrm:\t0000000000000000\n") ||
	    !task_has(idle_tid, "CapBnd:\t0000000000000000\n"))
		return 33;
	if (!task_has(idle_tid, "NoNewPrivs:\t1\n") ||
	    !task_has(idle_tid, "Seccomp:\t2\n"))
		return 34;
	if (fn_confine_caps(1ull << CAP_NET_ADMIN, 1, 1, NULL, 0, why,
			    sizeof(why)) != -EINVAL)
		return 35;	/* a capability is never kept as a user */
	if (write(idle_pipe[1], "x", 1) != 1 || pthread_join(t, NULL))
		return 36;
	return 0;
}

/* The nic's case: uid 0, one capability kept, in both threads. */
static int child_threads_root(void)
{
	pthread_t t = idle_start();
	char why[256];

	if (fn_confine_caps(1ull << CAP_NET_ADMIN, 0, 0, NULL, 0, why,
			    sizeof(why)) < 0)
		return 41;
	if (!task_has(idle_tid, "CapEff:\t0000000000001000\n") ||
	    !task_has(idle_tid, "CapPrm:\t0000000000001000\n") ||
	    !task_has(idle_tid, "CapBnd:\t0000000000001000\n"))
		return 42;
	if (!task_has(idle_tid, "NoNewPrivs:\t1\n"))
		return 43;
	/* The thread's read went on after the handler (SA_RESTART). */
	if (write(idle_pipe[1], "x", 1) != 1 || pthread_join(t, NULL))
		return 44;
	return 0;
}

static void test_threads(void **state)
{
	int st;

	(void)state;
	if (geteuid() != 0)
		skip();
	st = in_child(child_threads_user);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	st = in_child(child_threads_root);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_confine),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
