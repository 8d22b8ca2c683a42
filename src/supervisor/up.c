/*
 * up.c - `fragnet up CONFIG [-d|--daemon] [--log-level L]`.
 *
 * Every check that needs no side effect runs first, in the foreground, so
 * that its error reaches the terminal with the right exit code: the config
 * (exit 2), the app's user and the cpu placement (exit 2), a live
 * supervisor of the same topology (exit 1).  Only then does anything get
 * created, by sup_run().
 *
 * With --daemon the process forks; the child detaches (setsid, stdin from
 * /dev/null, stdout and stderr to FN_LOG_DIR/NAME.log, where the
 * components' stderr goes too) and runs the supervisor; the parent waits on
 * a pipe until the child reports "ok" (every component spawned and alive
 * after SUP_SETTLE_MS, and with [cluster] the cluster created) or an error,
 * and exits 0 or 1 accordingly.  A failed cluster creation is an error of
 * its own: the topology runs, and `up -d` says so and exits 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fragnet/log.h"
#include "sup.h"

struct up_opts {
	const char *config;
	bool daemon;
	int log_level;		/* FN_LOG_DEFAULT: the config's */
};

static int up_parse(int argc, char **argv, struct up_opts *o)
{
	static const struct option longopts[] = {
		{ "daemon", no_argument, NULL, 'd' },
		{ "log-level", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	o->log_level = FN_LOG_DEFAULT;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "d", longopts, NULL)) != -1) {
		if (opt == 'd') {
			o->daemon = true;
		} else if (opt == 'l' &&
			   fn_log_level_parse(optarg, &o->log_level) == 0) {
			continue;
		} else {
			if (opt == 'l')
				fprintf(stderr, "fragnet up: bad log level '%s'\n",
					optarg);
			cmd_usage("up");
			return -EINVAL;
		}
	}
	if (optind != argc - 1) {
		cmd_usage("up");
		return -EINVAL;
	}
	o->config = argv[optind];
	return 0;
}

static int log_open(const char *name, char *path, size_t len)
{
	int fd;

	if (mkdir(FN_LOG_DIR, 0750) < 0 && errno != EEXIST)
		return -errno;
	if (topo_path(path, len, FN_LOG_DIR, name) < 0 ||
	    strlen(path) + strlen(FN_LOG_SUFFIX) >= len)
		return -ENAMETOOLONG;
	strcat(path, FN_LOG_SUFFIX);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	return fd < 0 ? -errno : fd;
}

/* In the daemon: detach from the terminal and log to logfd. */
static int daemon_detach(int logfd)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (null < 0 || setsid() < 0)
		return -errno;
	if (dup2(null, STDIN_FILENO) < 0 || dup2(logfd, STDOUT_FILENO) < 0 ||
	    dup2(logfd, STDERR_FILENO) < 0)
		return -errno;
	close(null);
	close(logfd);
	return 0;
}

/* In the parent: the daemon's verdict, "ok\n" or an error message. */
static int daemon_wait(int rfd, const struct sup *s, pid_t pid,
		       const char *logpath)
{
	char msg[PATH_MAX + 256];
	size_t len = 0;
	ssize_t n;

	while (len < sizeof(msg) - 1 &&
	       ((n = read(rfd, msg + len, sizeof(msg) - 1 - len)) > 0 ||
		(n < 0 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	msg[len] = '\0';
	if (strcmp(msg, "ok\n") == 0) {
		printf("fragnet: topology %s is up (supervisor pid %d, "
		       "%u components); log: %s\n", s->cfg->name, (int)pid,
		       s->ncomp, logpath);
		return EXIT_OK;
	}
	if (strncmp(msg, SUP_NOTIFY_CLUSTER_FAILED,
		    strlen(SUP_NOTIFY_CLUSTER_FAILED)) == 0) {
		fprintf(stderr, "fragnet: topology %s is up (supervisor pid "
			"%d), but its Redis Cluster was not created: %s"
			"fragnet: see %s\n", s->cfg->name, (int)pid,
			msg + strlen(SUP_NOTIFY_CLUSTER_FAILED), logpath);
		return EXIT_RUNTIME;
	}
	fprintf(stderr, "fragnet: topology %s did not start: %s\n"
		"fragnet: see %s\n", s->cfg->name,
		len ? msg : "the supervisor exited", logpath);
	return EXIT_RUNTIME;
}

static int up_daemon(struct sup *s)
{
	char logpath[PATH_MAX];
	int logfd, pfd[2], ret;
	pid_t pid;

	logfd = log_open(s->cfg->name, logpath, sizeof(logpath));
	if (logfd < 0) {
		fprintf(stderr, "fragnet: cannot open the log in " FN_LOG_DIR
			": %s\n", strerror(-logfd));
		return EXIT_RUNTIME;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0)
		goto err_close_log;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		goto err_close_pipe;
	if (pid == 0) {
		close(pfd[0]);
		if (daemon_detach(logfd) < 0)
			_exit(EXIT_RUNTIME);
		ret = sup_run(s, pfd[1]);
		sup_fini(s);
		exit(ret);
	}
	close(pfd[1]);
	close(logfd);
	ret = daemon_wait(pfd[0], s, pid, logpath);
	close(pfd[0]);
	return ret;

err_close_pipe:
	close(pfd[0]);
	close(pfd[1]);
err_close_log:
	fprintf(stderr, "fragnet: cannot start the daemon: %s\n",
		strerror(errno));
	close(logfd);
	return EXIT_RUNTIME;
}

/* Config, user, placement, liveness: all before anything is created. */
static int up_check(struct sup *s, const struct fn_config *cfg, int level)
{
	pid_t pid;
	int err = sup_prepare(s, cfg, level);

	if (err < 0) {
		fprintf(stderr, "fragnet: %s\n", s->error);
		return err == -ENOMEM ? EXIT_RUNTIME : EXIT_USAGE;
	}
	pid = topo_live_pid(cfg->run_dir);
	if (pid > 0) {
		fprintf(stderr, "fragnet: topology %s is already running "
			"(supervisor pid %d); 'fragnet down %s' first\n",
			cfg->name, (int)pid, cfg->name);
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

int cmd_up(int argc, char **argv)
{
	char err[FN_CONFIG_ERR_MAX];
	struct up_opts o = { 0 };
	struct fn_config *cfg = NULL;
	struct sup *s = NULL;
	int ret = EXIT_RUNTIME;

	if (up_parse(argc, argv, &o) < 0)
		return EXIT_USAGE;
	cfg = calloc(1, sizeof(*cfg));
	s = calloc(1, sizeof(*s));
	if (!cfg || !s) {
		fprintf(stderr, "fragnet: out of memory\n");
		goto out;
	}
	if (fn_config_load(cfg, o.config, err) < 0) {
		fprintf(stderr, "fragnet: %s\n", err);
		ret = EXIT_USAGE;
		goto out;
	}
	if (o.log_level == FN_LOG_DEFAULT)
		o.log_level = cfg->log_level;
	fn_log_init("supervisor", -1, o.log_level);
	ret = up_check(s, cfg, o.log_level);
	if (ret != EXIT_OK)
		goto out_fini;
	ret = o.daemon ? up_daemon(s) : sup_run(s, -1);
out_fini:
	sup_fini(s);
out:
	free(s);
	free(cfg);
	return ret;
}
