/*
 * nft.c - the real nft against a stack: `fragnet nft` (the CLI) and the
 * supervisor's replay of a stack's ruleset after it (re)starts.
 *
 * Both run /usr/sbin/nft with LD_PRELOAD=libfragnet-netlink.so and
 * FRAGNET_NFT_CONTROL=RUN_DIR/stack<i>.ctl (fragnet/nlctl.h): nft then
 * speaks nf_tables netlink to that stack instead of the kernel.  Only
 * root can: the run directory is 0700 and the stack checks SO_PEERCRED.
 *
 *   fragnet nft [-T TOPOLOGY] PIPELINE|all NFT-ARGS...
 *     runs nft once per stack; after each successful run, saves the
 *     stack's ruleset (`nft list ruleset`) as RUN_DIR/stack<i>.ruleset,
 *     which the supervisor loads into the stack when it restarts.  nft's
 *     standard input is ours, so `-f -`, `-f /dev/stdin` and `-i` work as
 *     against the kernel; with all, input for -f - is read once and fed
 *     to every stack's run.
 *
 *   nft_replay(): when a stack starts, the supervisor forks nft -f on the
 *     saved ruleset, or on the topology's initial one ([stack] ruleset,
 *     [pipeline N] stack_ruleset).  nft waits for the stack to accept.
 *     Until it is loaded the stack has no ruleset (everything passes).
 *
 * nft runs in a network namespace of its own, empty but for lo: should the
 * shim ever fail to load (ld.so drops an unreadable LD_PRELOAD silently),
 * nft's netfilter socket reaches that throwaway namespace's nf_tables, never
 * the host's.  The shim reaches the stack over an AF_UNIX path, which no
 * network namespace hides.  Interface names nft resolves (`meta iif`) are
 * therefore looked up there, where only lo exists; the stack's own
 * interface is fn0 (docs/nft.md).
 */
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fragnet/log.h"
#include "fragnet/nlctl.h"

#include "sup.h"

#define NFT_BIN			"/usr/sbin/nft"

extern char **environ;

/* libfragnet-netlink.so: beside us in the build tree, else installed. */
static const char *shim_path(void)
{
	if (access(FN_NETLINK_SHIM_BUILD, R_OK) == 0)
		return FN_NETLINK_SHIM_BUILD;
	return FN_NETLINK_SHIM_INSTALL;
}

/* Our environment without LD_PRELOAD and the control path, then ours. */
static char **nft_env(const char *ctl_path, char *pre, char *ctl)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 3, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) &&
		    strncmp(environ[i], FN_ENV_NFT_CONTROL "=",
			    strlen(FN_ENV_NFT_CONTROL) + 1))
			env[k++] = environ[i];
	snprintf(pre, PATH_MAX + 16, "LD_PRELOAD=%s", shim_path());
	snprintf(ctl, PATH_MAX + 32, FN_ENV_NFT_CONTROL "=%s", ctl_path);
	env[k++] = pre;
	env[k++] = ctl;
	return env;
}

/*
 * Fork nft with args (argv[0] is set here) against the stack behind
 * ctl_path; its stdin is in_fd (-1: /dev/null), its stdout out_fd (-1:
 * ours).  The child drops every fd but 0-2 and unblocks signals (the
 * supervisor blocks them for its signalfd).  Returns the pid or -errno.
 */
static pid_t nft_spawn(const char *ctl_path, char **args, int in_fd,
		       int out_fd)
{
	static char pre[PATH_MAX + 16], ctl[PATH_MAX + 32];
	char **env = nft_env(ctl_path, pre, ctl);
	sigset_t none;
	pid_t pid;

	if (!env)
		return -ENOMEM;
	args[0] = (char *)"nft";
	pid = fork();
	if (pid == 0) {
		int in = in_fd >= 0 ? in_fd : open("/dev/null", O_RDONLY);

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (in >= 0 && in != STDIN_FILENO)
			dup2(in, STDIN_FILENO);
		if (out_fd >= 0)
			dup2(out_fd, STDOUT_FILENO);
		close_range(3, ~0u, 0);
		if (unshare(CLONE_NEWNET) < 0) {
			fprintf(stderr, "fragnet: cannot give nft a network "
				"namespace of its own (unshare: %s); not "
				"running it, so that it cannot reach the "
				"host's nf_tables\n", strerror(errno));
			_exit(126);
		}
		execve(NFT_BIN, args, env);
		fprintf(stderr, "fragnet: cannot run " NFT_BIN ": %s\n",
			strerror(errno));
		_exit(127);
	}
	free(env);
	return pid < 0 ? -errno : pid;
}

static int wait_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return st;
}

/* ---- the supervisor's side -------------------------------------------------- */

/* Load the saved or initial ruleset into the stack of pipeline p. */
void nft_replay(struct sup *s, unsigned p)
{
	char ctl[PATH_MAX], saved[PATH_MAX], name[32];
	const char *file = s->cfg->pipeline[p].stack_ruleset;
	char *args[] = { NULL, (char *)"-f", NULL, NULL };
	pid_t pid;

	snprintf(name, sizeof(name), FN_CONTROL_SOCK_FMT, p);
	if (ctl_sock_path(s->cfg->run_dir, name, ctl, sizeof(ctl)) < 0)
		return;
	snprintf(name, sizeof(name), FN_RULESET_FMT, p);
	if (topo_path(saved, sizeof(saved), s->cfg->run_dir, name) == 0 &&
	    access(saved, R_OK) == 0)
		file = saved;
	if (!*file)
		return;
	args[2] = (char *)file;
	pid = nft_spawn(ctl, args, -1, -1);
	if (pid < 0) {
		fn_warn("stack/%u: cannot load %s: %s", p, file,
			strerror(-(int)pid));
		return;
	}
	s->nft_pid[p] = pid;
	fn_info("stack/%u: loading ruleset %s (nft pid %d)", p, file, (int)pid);
}

/* A child that is no component: one of our nft loaders?  true if so. */
bool nft_reaped(struct sup *s, pid_t pid, int status)
{
	for (unsigned p = 0; p < FN_MAX_PIPELINES; p++) {
		if (s->nft_pid[p] != pid || pid <= 0)
			continue;
		s->nft_pid[p] = 0;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			fn_info("stack/%u: ruleset loaded", p);
		else
			fn_warn("stack/%u: loading the ruleset failed (nft "
				"status %d): the stack runs without it", p,
				status);
		return true;
	}
	return false;
}

/* ---- fragnet nft ------------------------------------------------------------- */

/* Save the stack's ruleset as `nft list ruleset` prints it, atomically. */
static int nft_save(const char *run_dir, unsigned p, const char *ctl)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8], name[32];
	char *args[] = { NULL, (char *)"list", (char *)"ruleset", NULL };
	int fd, st;
	pid_t pid;

	snprintf(name, sizeof(name), FN_RULESET_FMT, p);
	if (topo_path(path, sizeof(path), run_dir, name) < 0)
		return -ENAMETOOLONG;
	snprintf(name, sizeof(name), FN_RULESET_TMP_FMT, p);
	if (topo_path(tmp, sizeof(tmp), run_dir, name) < 0)
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	pid = nft_spawn(ctl, args, -1, fd);
	close(fd);
	st = pid < 0 ? (int)pid : wait_status(pid);
	if (st != 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		return st < 0 ? st : -EIO;
	}
	return 0;
}

/* in_fd: nft's standard input, -1 for /dev/null. */
static int nft_one(const char *run_dir, unsigned p, char **args, int in_fd)
{
	char ctl[PATH_MAX], name[32];
	struct stat sb;
	int st, err;
	pid_t pid;

	snprintf(name, sizeof(name), FN_CONTROL_SOCK_FMT, p);
	if (ctl_sock_path(run_dir, name, ctl, sizeof(ctl)) < 0 ||
	    stat(ctl, &sb) < 0) {
		fprintf(stderr, "fragnet nft: pipeline %u has no stack\n", p);
		return EXIT_USAGE;
	}
	pid = nft_spawn(ctl, args, in_fd, -1);
	st = pid < 0 ? (int)pid : wait_status(pid);
	if (st < 0) {
		fprintf(stderr, "fragnet nft: %s\n", strerror(-st));
		return EXIT_RUNTIME;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return WIFEXITED(st) ? WEXITSTATUS(st) : EXIT_RUNTIME;
	err = nft_save(run_dir, p, ctl);
	if (err < 0)
		fprintf(stderr, "fragnet nft: pipeline %u: the ruleset was not "
			"saved for restarts: %s\n", p, strerror(-err));
	return EXIT_OK;
}

/*
 * Does nft read its standard input with these arguments (-f -, -f
 * /dev/stdin, -i)?  nft's own option parser decides; we only need to know
 * whether one input must feed several runs, so a loose match is enough:
 * an argument that names stdin, or an interactive flag.
 */
static bool nft_reads_stdin(char **args)
{
	static const char *const names[] = {
		"-", "/dev/stdin", "/proc/self/fd/0", "/dev/fd/0",
		"--file=-", "--file=/dev/stdin", "-i", "--interactive",
	};

	for (char **a = args + 1; *a; a++)
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strcmp(*a, names[i]) == 0)
				return true;
	return false;
}

/*
 * `fragnet nft all -f -`: every stack must get the same input, but
 * standard input can be read only once.  Copy it into a memfd; each run
 * reads it from the start.  Returns the fd or -errno.
 */
static int nft_spool_stdin(void)
{
	char buf[65536];
	ssize_t n;
	int fd = memfd_create("fragnet-nft-stdin", MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((n = read(STDIN_FILENO, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || write(fd, buf, (size_t)n) != n) {
			int err = n < 0 ? -errno : -EIO;

			close(fd);
			return err;
		}
	}
	return fd;
}

static int nft_all(const char *run_dir, char **args)
{
	int ret, worst = EXIT_OK, in = -1;

	if (nft_reads_stdin(args)) {
		if (isatty(STDIN_FILENO)) {
			fprintf(stderr, "fragnet nft: all with input from a "
				"terminal (-i, -f -) would ask once per "
				"stack; name one pipeline, or pipe the "
				"input in\n");
			return EXIT_USAGE;
		}
		in = nft_spool_stdin();
		if (in < 0) {
			fprintf(stderr, "fragnet nft: cannot read standard "
				"input: %s\n", strerror(-in));
			return EXIT_RUNTIME;
		}
	}
	for (unsigned i = 0; i < FN_MAX_PIPELINES; i++) {
		char ctl[PATH_MAX], n[32];
		struct stat sb;

		snprintf(n, sizeof(n), FN_CONTROL_SOCK_FMT, i);
		if (ctl_sock_path(run_dir, n, ctl, sizeof(ctl)) < 0 ||
		    stat(ctl, &sb) < 0)
			continue;
		if (in >= 0)
			lseek(in, 0, SEEK_SET);
		ret = nft_one(run_dir, i, args, in);
		if (ret != EXIT_OK)
			worst = ret;
	}
	if (in >= 0)
		close(in);
	return worst;
}

static int nft_usage(void)
{
	cmd_usage("nft");
	return EXIT_USAGE;
}

void nft_help(void)
{
	printf("\n  Runs " NFT_BIN " against the nf_tables of one stack (or of "
	       "every stack:\n  all), as it would run against the kernel: "
	       "e.g. fragnet nft 0 list ruleset,\n  fragnet nft all -f "
	       "rules.nft, fragnet nft 0 -f - < rules.nft.  Standard\n"
	       "  input is nft's (-f -, -f /dev/stdin, -i); with all, piped "
	       "input is read\n  once and given to every stack.  Root only.  "
	       "After each successful run the\n  stack's ruleset is saved in "
	       "the run directory and loaded again when the\n  stack "
	       "restarts.\n\n"
	       "  -T, --topology T   the topology (name or config file); "
	       "may be omitted\n                     when exactly one runs\n");
}

int cmd_nft(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "topology", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	char run_dir[PATH_MAX], name[FN_NAME_MAX], *end;
	const char *topo = NULL;
	int opt, ret;
	unsigned long p = 0;
	bool all;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "+T:", longopts, NULL)) != -1) {
		if (opt != 'T')
			return nft_usage();
		topo = optarg;
	}
	if (argc - optind < 2)
		return nft_usage();
	all = strcmp(argv[optind], "all") == 0;
	if (!all) {
		errno = 0;
		p = strtoul(argv[optind], &end, 10);
		if (errno || *end || end == argv[optind] ||
		    p >= FN_MAX_PIPELINES) {
			fprintf(stderr, "fragnet nft: '%s' is neither a "
				"pipeline number nor all\n", argv[optind]);
			return EXIT_USAGE;
		}
	}
	if (geteuid() != 0) {
		fprintf(stderr, "fragnet nft: only root may read or change a "
			"stack's rules\n");
		return EXIT_RUNTIME;
	}
	ret = topo_resolve(topo, run_dir, name);
	if (ret != EXIT_OK)
		return ret;
	if (topo_live_pid(run_dir) <= 0) {
		fprintf(stderr, "fragnet: topology %s is not running\n", name);
		return EXIT_RUNTIME;
	}
	/* argv[optind] becomes nft's argv[0] */
	if (!all)
		return nft_one(run_dir, (unsigned)p, &argv[optind], STDIN_FILENO);
	return nft_all(run_dir, &argv[optind]);
}
