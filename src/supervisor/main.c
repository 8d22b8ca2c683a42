/*
 * main.c - the `fragnet` command: a table of subcommands, as in
 * wireguard-tools' wg.c.
 *
 *   fragnet up CONFIG [-d|--daemon] [--log-level L]
 *   fragnet down [TOPOLOGY]
 *   fragnet status [TOPOLOGY]
 *   fragnet stats [--json|--prometheus] [TOPOLOGY]
 *   fragnet top [-b|--batch N] [-d|--delay S] [TOPOLOGY]
 *   fragnet nft [-T TOPOLOGY] PIPELINE|all NFT-ARGS...
 *   fragnet cluster create HOST:PORT... [--replicas R|--masters M]
 *                          [--timeout-ms T]
 *   fragnet cluster failover MASTER NODE... [--timeout-ms T]
 *   fragnet capture [-T TOPOLOGY] PIPELINE|vswitch/NET [--point P] [-c N]
 *                   [-w FILE|-] [--timeout S]
 *   fragnet metrics-serve   (started by the supervisor for [topology]
 *                            metrics, with its fds: metrics_serve.c)
 *
 * Every subcommand takes -h/--help.  Every subcommand but help and cluster
 * needs root: the run directories and control sockets are root-only (cluster
 * only talks to redis-servers).  Exit codes: 0 ok,
 * 1 runtime error, 2 usage or config error.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sup.h"

static int cmd_help(int argc, char **argv);

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *args;
	const char *help;
} commands[] = {
	{ "up", cmd_up, "CONFIG [-d|--daemon] [--log-level L]",
	  "start a topology and supervise it" },
	{ "down", cmd_down, "[TOPOLOGY]",
	  "stop a topology and wait until it is gone" },
	{ "status", cmd_status, "[TOPOLOGY]",
	  "show the components of a topology" },
	{ "stats", cmd_stats, "[--json|--prometheus] [TOPOLOGY]",
	  "show the counters of every component" },
	{ "top", cmd_top, "[-b|--batch N] [-d|--delay S] [TOPOLOGY]",
	  "a live view of every component's rates, CPU and drops" },
	{ "nft", cmd_nft, "[-T TOPOLOGY] PIPELINE|all NFT-ARGS...",
	  "run nft against the filter of a stack (root only)" },
	{ "cluster", cmd_cluster,
	  "create HOST:PORT... [--replicas R|--masters M] [--timeout-ms T]"
	  " | failover MASTER NODE... [--timeout-ms T]",
	  "make one Redis Cluster of the given nodes; have a replica of a "
	  "dead master take over" },
	{ "capture", cmd_capture,
	  "[-T TOPOLOGY] PIPELINE|vswitch/NET [-p POINTS] [-c N] "
	  "[-w FILE|-]",
	  "copy a stack's or a vswitch's frames to pcapng (tcpdump -r, "
	  "Wireshark)" },
	{ FN_METRICS_SUBCOMMAND, cmd_metrics_serve, "",
	  "serve [topology] metrics over HTTP (started by up, not by hand)" },
	{ "help", cmd_help, "", "show this help" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *command_find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void usage_all(FILE *f)
{
	fprintf(f, "Usage: fragnet COMMAND [ARGS]\n\nCommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-13s %-38s %s\n", commands[i].name,
			commands[i].args, commands[i].help);
	fprintf(f, "\nTOPOLOGY is a topology name or its config file; it may be "
		"omitted when exactly\none topology runs under " FN_RUN_ROOT
		".  Run 'fragnet COMMAND --help' for details.\n");
}

/* Usage line of one subcommand, on stderr (the subcommands call it for
 * usage errors; --help prints it on stdout via cmd_help_one). */
void cmd_usage(const char *name)
{
	const struct command *c = command_find(name);

	if (c)
		fprintf(stderr, "Usage: fragnet %s %s\n", c->name, c->args);
}

static int cmd_help_one(const struct command *c)
{
	printf("Usage: fragnet %s %s\n  %s\n", c->name, c->args, c->help);
	if (strcmp(c->name, "up") == 0)
		printf("\n  -d, --daemon       detach once every component has "
		       "started;\n                     log to " FN_LOG_DIR
		       "/NAME.log\n  --log-level LEVEL  error, warn, info or "
		       "debug (default: the config's)\n");
	else if (strcmp(c->name, "nft") == 0)
		nft_help();
	else if (strcmp(c->name, "capture") == 0)
		capture_help();
	else if (strcmp(c->name, "top") == 0)
		printf("\n  -b, --batch N      print N frames as text, then exit "
		       "(default: a terminal view; q quits)\n  -d, --delay S      "
		       "seconds between frames, 0.1..3600 (default 1)\n");
	else if (strcmp(c->name, "cluster") == 0)
		cluster_help();
	else if (strcmp(c->name, FN_METRICS_SUBCOMMAND) == 0)
		metrics_serve_help();
	else if (strcmp(c->name, "stats") == 0)
		printf("\n  --json             one JSON document, one object "
		       "per component\n  --prometheus       Prometheus' text "
		       "exposition format (docs/observe.md)\n");
	return EXIT_OK;
}

static int cmd_help(int argc, char **argv)
{
	const struct command *c = argc > 1 ? command_find(argv[1]) : NULL;

	if (c)
		return cmd_help_one(c);
	usage_all(stdout);
	return EXIT_OK;
}

static bool is_help(const char *arg)
{
	return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (is_help(argv[i]))
			return true;
	}
	return false;
}

int main(int argc, char **argv)
{
	const struct command *c;

	if (argc < 2) {
		usage_all(stderr);
		return EXIT_USAGE;
	}
	if (is_help(argv[1]))
		return cmd_help(1, argv);
	c = command_find(argv[1]);
	if (!c) {
		fprintf(stderr, "fragnet: unknown command '%s'\n\n", argv[1]);
		usage_all(stderr);
		return EXIT_USAGE;
	}
	/* nft's own arguments are nft's: only `fragnet nft --help` is ours */
	if (c->fn == cmd_nft ? argc > 2 && is_help(argv[2])
			     : wants_help(argc - 1, argv + 1))
		return cmd_help_one(c);
	if (c->fn != cmd_help && c->fn != cmd_cluster && geteuid() != 0) {
		fprintf(stderr, "fragnet %s: must be run as root\n", c->name);
		return EXIT_RUNTIME;
	}
	return c->fn(argc - 1, argv + 1);
}
