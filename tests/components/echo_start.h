/*
 * echo_start.h - the start-up that fn-test-tcp-echo and fn-test-udp-echo
 * share: one argument, the PORT; the log named after the component and
 * its pipeline (FRAGNET_PIPELINE); SIGTERM and SIGINT to on_term.
 */
#ifndef FN_TEST_ECHO_START_H
#define FN_TEST_ECHO_START_H

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fragnet/log.h"
#include "fragnet/names.h"

/* 0 and *port, or the exit status (2) after a message on stderr. */
static int echo_start(int argc, char **argv, const char *log_name,
		      void (*on_term)(int), uint16_t *port)
{
	const char *pl = getenv(FN_ENV_PIPELINE);
	unsigned long p;
	char *end;

	if (argc != 2) {
		fprintf(stderr, "usage: %s PORT\n", argv[0]);
		return 2;
	}
	errno = 0;
	p = strtoul(argv[1], &end, 10);
	if (errno || *end || p == 0 || p > 65535) {
		fprintf(stderr, "%s: bad port '%s'\n", argv[0], argv[1]);
		return 2;
	}
	*port = (uint16_t)p;
	fn_log_init(log_name, pl && *pl != '-' ? atoi(pl) : -1,
		    FN_LOG_DEFAULT);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	return 0;
}

#endif
