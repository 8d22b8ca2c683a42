/*
 * fidelity.h - the scenarios of fn-fidelity (tests/fidelity/README.md).
 *
 * A scenario is a function that makes socket calls and prints one line per
 * observable through the helpers below: the call as written, its return
 * value, the errno's name, the bytes read (length and hash), event masks in
 * the order they came, and a timing class.  Nothing that differs between
 * two correct runs is printed: fd numbers, addresses and ports are named
 * (APP, PEER, ANY; aport, pport, eph).  The same transcript is expected
 * from the kernel and from a fragnet stack under libfragnet-preload.so.
 *
 * The peer (peer.py) runs on the other side of the link and plays its part
 * from a script the scenario sends it over a control connection
 * (peer_start); see peer.py for the steps.
 */
#ifndef FIDELITY_H
#define FIDELITY_H

#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct fid_scenario {
	const char *name;
	void (*fn)(void);
	const char *help;
};

/* Each group file defines a NULL-terminated table. */
extern const struct fid_scenario fid_close[], fid_msg[], fid_events[],
	fid_conn[], fid_io[];

/* The run: the peer, this side, the ports of the current scenario. */
struct fid_run {
	struct in_addr peer, app;
	int aport;	/* this side's listening port for this scenario */
	int pport;	/* the peer's */
	int ctl;	/* control connection, -1 outside peer_start/end */
	const char *self;	/* argv[0], for the exec scenarios */
};
extern struct fid_run fx;

/* Print one transcript line (printf format). */
void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "what = r" or "what = -1 ENAME"; returns r with errno kept. */
long rep(const char *what, long r);
#define R(call) rep(#call, (long)(call))
const char *ename(int e);

/* Address helpers: struct sockaddr_in of the peer's pport / port p. */
struct sockaddr_in sa_peer(int port);
struct sockaddr_in sa_app(int port);	/* port on ANY */
#define SA(x) ((struct sockaddr *)&(x))
/* "APP:eph", "PEER:pport", ... */
const char *sa_name(const struct sockaddr_in *a);
void names(int fd);	/* getsockname and getpeername, printed */

/* Sockets. */
int tcp(void);				/* socket(AF_INET, SOCK_STREAM) */
int tcp_to_peer(void);			/* connected to the peer's pport */
int tcp_listen(int backlog);		/* on ANY:aport, SO_REUSEADDR */
void set_nonblock(int fd);

/* Data: a pattern (byte i of a stream is i % 251), its FNV-1a hash. */
void pattern(unsigned char *b, size_t n, size_t off);
uint32_t fnv(const unsigned char *b, size_t n);
/* send n pattern bytes (printed as one line "send(n) = r ..."). */
long snd(int fd, size_t n, int flags);
/* one recv of at most n bytes: prints "recv(n,flags) = r len:hash". */
long rcv(int fd, size_t n, int flags);
/* wait up to 3 s until fd is readable (not printed); 0 or -1. */
int readable(int fd);
/* wait up to 3 s until FIONREAD shows at least n bytes (not printed). */
int queued(int fd, int n);
/* recv until EOF or error (3 s bound): prints total, hash, how it ended */
void drain(int fd);

/* Timing: now in ms; "immediate" below lo ms, "timeout" above hi ms. */
long long ms_now(void);
const char *tclass(long long ms, long long lo, long long hi);

/* Masks as names: EPOLLIN|EPOLLOUT..., POLLIN|... */
const char *epmask(uint32_t m);
const char *pollmask(short m);

/* The peer: start it with a script (it answers once it reached its step
 * "ready"), tell it "go" (its step "wait"), wait for its step "tell";
 * peer_end collects the rest of its report.  Report lines are printed as
 * "peer: ..." where they are read. */
void peer_start(const char *script);
void peer_go(void);
void peer_wait(void);
void peer_end(void);

void msleep(int ms);

#endif
