/*
 * echo_app.h - what fn-test-tcp-echo and fn-test-udp-echo share, the
 * frame of a native echo app around its own serve function:
 *
 *   echo_start()     one argument, the PORT; the log named after the
 *                    component and its pipeline (FRAGNET_PIPELINE);
 *                    SIGTERM and SIGINT set echo_stopping
 *   echo_counters()  its counter block on the stats page
 *   echo_socket()    the socket channel, and a socket bound to
 *                    0.0.0.0:PORT (listening, for SOCK_STREAM)
 *   echo_run()       serve, then wait in fn_sock_poll() (the app
 *                    doorbell), until SIGTERM (0) or the channel's death
 *                    (3: the supervisor restarts the app)
 *
 * Header-only (static functions), included by each app's one .c file.
 */
#ifndef FN_TEST_ECHO_APP_H
#define FN_TEST_ECHO_APP_H

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fragnet/env.h"
#include "fragnet/log.h"
#include "fragnet/names.h"
#include "fragnet/sock.h"
#include "fragnet/stats.h"

#define ECHO_POLL_MS	100	/* the longest wait in fn_sock_poll() */

static volatile sig_atomic_t echo_stopping;

static void echo_on_term(int sig)
{
	(void)sig;
	echo_stopping = 1;
}

/* The channel is dead (its stack died): err from a fn_sock_* call. */
static bool echo_chan_dead(long err)
{
	return err == -EPIPE || err == -ECONNRESET;
}

/* 0 and *port, or the exit status (2) after a message on stderr. */
static int echo_start(int argc, char **argv, const char *log_name,
		      uint16_t *port)
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
	signal(SIGTERM, echo_on_term);
	signal(SIGINT, echo_on_term);
	return 0;
}

/* The counter block "prefix.*" of names[n] on the stats page, or NULL
 * after a message. */
static _Atomic uint64_t *echo_counters(const char *prefix,
				       const char *const *names, unsigned n)
{
	_Atomic uint64_t *ctr = fn_stats_block(fn_stats_attach_env(), prefix,
					       names, n);

	if (!ctr)
		fn_err("cannot register counters");
	return ctr;
}

/* Open the channel, and a socket of type (SOCK_DGRAM, or SOCK_STREAM
 * listening with backlog) bound to 0.0.0.0:port: the socket, or a
 * negative errno after a message. */
static int echo_socket(struct fn_sock_chan *chan, int type, uint16_t port,
		       int backlog)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_ANY) };
	const char *proto = type == SOCK_STREAM ? "TCP" : "UDP";
	int err = fn_sock_open(chan);
	int s;

	if (err < 0) {
		fn_err("cannot open the socket channel: %s", strerror(-err));
		return err;
	}
	s = fn_sock_socket(chan, type);
	if (s < 0) {
		fn_err("socket: %s", strerror(-s));
		return s;
	}
	err = fn_sock_bind(chan, s, &a);
	if (err == 0 && type == SOCK_STREAM)
		err = fn_sock_listen(chan, s, backlog);
	if (err < 0) {
		fn_err("%s 0.0.0.0:%u: %s",
		       type == SOCK_STREAM ? "listen on" : "bind", port,
		       strerror(-err));
		return err;
	}
	fn_info("echoing %s on port %u", proto, port);
	return s;
}

/* serve(arg) does what there is to do now without waiting: 0, or an
 * error that ends the app (the channel's death).  The exit status. */
static int echo_run(struct fn_sock_chan *chan, int (*serve)(void *arg),
		    void *arg)
{
	while (!echo_stopping) {
		int err = serve(arg);

		if (err == 0)
			err = fn_sock_poll(chan, ECHO_POLL_MS);
		if (err == -EINTR)
			continue;
		if (err < 0) {
			fn_warn("socket channel lost: %s", strerror(-err));
			return 3;
		}
	}
	return 0;
}

#endif
