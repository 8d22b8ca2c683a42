/*
 * cli.c - `fragnet down|status|stats`: clients of a running supervisor's
 * control socket (protocol in fragnet/ctl.h).
 *
 * `down` returns only when the topology is gone: the supervisor closes the
 * connection after it has stopped every component and removed its run
 * directory, and then we wait (bounded) for its pid to vanish.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fragnet/clock.h"
#include "fragnet/ctl.h"
#include "sup.h"

#define CLI_TIMEOUT_MS		5000
#define CLI_DOWN_TIMEOUT_MS	30000
#define CLI_POLL_MS		50

struct cli_target {
	char run_dir[PATH_MAX];
	char name[FN_NAME_MAX];
	pid_t pid;
};

/* An output format that replaces the text: --opt sends word instead. */
struct cli_format {
	const char *opt;
	const char *word;
};

/* [--FORMAT] [TOPOLOGY], FORMAT one of fmt[0..nfmt-1]: *word becomes its
 * command word (unchanged without one). */
static int cli_parse(int argc, char **argv, const char *cmd,
		     const struct cli_format *fmt, unsigned nfmt,
		     const char **word, const char **topology)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, idx = -1;
	unsigned i;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", longopts, &idx)) != -1) {
		for (i = 0; opt != '?' && i < nfmt; i++)
			if (strcmp(fmt[i].opt, longopts[idx].name) == 0)
				break;
		if (opt == '?' || i == nfmt) {
			if (opt != '?')
				fprintf(stderr, "fragnet %s: no --%s here\n",
					cmd, longopts[idx].name);
			cmd_usage(cmd);
			return -EINVAL;
		}
		*word = fmt[i].word;
	}
	if (argc - optind > 1) {
		cmd_usage(cmd);
		return -EINVAL;
	}
	*topology = optind < argc ? argv[optind] : NULL;
	return 0;
}

/* Resolve and check that a supervisor runs.  Returns an exit code. */
static int cli_target(const char *arg, struct cli_target *t)
{
	int ret = topo_resolve(arg, t->run_dir, t->name);

	if (ret != EXIT_OK)
		return ret;
	t->pid = topo_live_pid(t->run_dir);
	if (t->pid <= 0) {
		fprintf(stderr, "fragnet: topology %s is not running\n", t->name);
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

static int cli_error(const struct cli_target *t, int err, int timeout_ms)
{
	if (err == -EREMOTEIO)	/* the supervisor's refusal is printed */
		return EXIT_RUNTIME;
	if (err == -ETIMEDOUT)
		fprintf(stderr, "fragnet: no answer from the supervisor of %s "
			"(pid %d) in %d s\n", t->name, (int)t->pid,
			timeout_ms / 1000);
	else
		fprintf(stderr, "fragnet: cannot reach the supervisor of %s "
			"(pid %d): %s\n", t->name, (int)t->pid, strerror(-err));
	return EXIT_RUNTIME;
}

/* A request whose answer is printed: cmd is the subcommand (for usage),
 * word its command word (fragnet/ctl.h), fmt the formats it also has. */
static int cli_simple(int argc, char **argv, const char *cmd,
		      const char *word, const struct cli_format *fmt,
		      unsigned nfmt)
{
	struct cli_target t;
	const char *arg;
	int ret, err;

	if (cli_parse(argc, argv, cmd, fmt, nfmt, &word, &arg) < 0)
		return EXIT_USAGE;
	ret = cli_target(arg, &t);
	if (ret != EXIT_OK)
		return ret;
	err = ctl_request(t.run_dir, word, CLI_TIMEOUT_MS);
	return err < 0 ? cli_error(&t, err, CLI_TIMEOUT_MS) : EXIT_OK;
}

int cmd_status(int argc, char **argv)
{
	return cli_simple(argc, argv, "status", FN_CTL_STATUS, NULL, 0);
}

int cmd_stats(int argc, char **argv)
{
	static const struct cli_format fmt[] = {
		{ "json", FN_CTL_STATS_JSON },
		{ "prometheus", FN_CTL_STATS_PROM },
	};

	return cli_simple(argc, argv, "stats", FN_CTL_STATS, fmt, 2);
}

/* ---- down ---------------------------------------------------------------- */

static bool wait_gone(pid_t pid, int64_t deadline)
{
	while (topo_pid_alive(pid)) {
		if (fn_clock_ms() >= deadline)
			return false;
		usleep(CLI_POLL_MS * 1000);
	}
	return true;
}

/* A run dir whose supervisor died (SIGKILL): remove it, nothing else to
 * stop (components died with it: PR_SET_PDEATHSIG). */
static int down_stale(const struct cli_target *t)
{
	struct stat st;
	int err;

	if (stat(t->run_dir, &st) < 0) {
		fprintf(stderr, "fragnet: topology %s is not running\n", t->name);
		return EXIT_RUNTIME;
	}
	err = topo_clean(t->run_dir);
	if (err < 0) {
		fprintf(stderr, "fragnet: cannot remove stale %s: %s\n",
			t->run_dir, strerror(-err));
		return EXIT_RUNTIME;
	}
	printf("fragnet: topology %s was not running; removed its stale run "
	       "directory %s\n", t->name, t->run_dir);
	sup_dpdk_clean(t->name);	/* its nic died with -9 too */
	return EXIT_OK;
}

int cmd_down(int argc, char **argv)
{
	int64_t deadline = fn_clock_ms() + CLI_DOWN_TIMEOUT_MS;
	struct cli_target t;
	const char *arg, *word = FN_CTL_DOWN;
	int ret, err;

	if (cli_parse(argc, argv, "down", NULL, 0, &word, &arg) < 0)
		return EXIT_USAGE;
	ret = topo_resolve(arg, t.run_dir, t.name);
	if (ret != EXIT_OK)
		return ret;
	t.pid = topo_live_pid(t.run_dir);
	if (t.pid <= 0)
		return down_stale(&t);
	err = ctl_request(t.run_dir, FN_CTL_DOWN, CLI_DOWN_TIMEOUT_MS);
	if (err < 0)
		return cli_error(&t, err, CLI_DOWN_TIMEOUT_MS);
	if (!wait_gone(t.pid, deadline)) {
		fprintf(stderr, "fragnet: the supervisor of %s (pid %d) is still "
			"there after %d s\n", t.name, (int)t.pid,
			CLI_DOWN_TIMEOUT_MS / 1000);
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}
