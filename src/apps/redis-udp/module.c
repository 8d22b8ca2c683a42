/* module.c - redis-udp.so: Redis commands over UDP, as a Redis module.
 *
 *   redis-server --port 0 --loadmodule redis-udp.so port 6380 \
 *                [bind 0.0.0.0] [maxreply 1472]
 *
 * At load the module binds one UDP socket and hands it to Redis' event loop
 * (RedisModule_EventLoopAdd). Each readable event reads at most
 * UDP_BATCH datagrams, so that a flood leaves Redis' TCP clients their
 * turns. Each datagram is parsed whole (kvu_req.c, the protocol in
 * kvu_req.h), every command runs through RedisModule_Call on the main
 * thread, exactly like a command from a TCP client but with no client of
 * its own (no MULTI, no blocking, no pub/sub: script mode, flag "S"), and
 * one datagram carries the replies back to the request's source.
 *
 * Commands of the module itself:
 *   UDP.TAG token   answers token (client matching, kvu_req.h rule 4)
 *   UDP.STATS       flat array: counter name, value, ... (also INFO udp)
 *
 * Writes over UDP are not propagated to replicas or the AOF (no "!" flag):
 * the module is the paper's benchmark server, not a replicated store.
 *
 * The same .so runs on the kernel's UDP and, under libfragnet-preload.so,
 * on a fragnet stack: it uses only socket, bind, recvfrom, sendto.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "redismodule.h"
#include "kvu_req.h"

#define UDP_BATCH 64		/* datagrams per readable event */

/* Counters: UDP.STATS and INFO udp, in this order. */
#define UDP_COUNTERS(X) \
	X(datagrams_rx) X(bytes_rx) X(datagrams_tx) X(bytes_tx) \
	X(commands) X(tags) X(drop_empty) X(drop_protocol) X(drop_truncated) \
	X(drop_too_many) X(drop_nomem) X(bad_commands) X(call_errors) \
	X(replies_too_large) X(send_errors) X(recv_errors)

static struct {
#define X(n) unsigned long long n;
	UDP_COUNTERS(X)
#undef X
} udp_ctr;

static struct {
	int fd;
	size_t max_reply;
	RedisModuleCtx *ctx;	/* detached: the context of every call */
	struct kvu_req req;
	char rx[KVU_DGRAM_MAX];
	char tx[KVU_DGRAM_MAX];
} udp = { .fd = -1 };

/* errno of a failed RedisModule_Call, as a short fixed error reply. */
static const char *call_error(int err)
{
	switch (err) {
	case ENOENT: return "-ERR unknown command\r\n";
	case EINVAL: return "-ERR wrong number of arguments\r\n";
	case ESPIPE: return "-ERR command not allowed over udp\r\n";
	case ENOSPC: return "-OOM command not allowed when used memory > 'maxmemory'\r\n";
	case EACCES: return "-NOPERM\r\n";
	default: return "-ERR command failed\r\n";
	}
}

/* Runs command i and places its reply. Main thread (event loop). */
static void run_cmd(struct kvu_reply *rep, const struct kvu_cmd *c)
{
	/* argc <= KVU_DGRAM_MAX / 3 (kvu_req.c); not on the stack. */
	static RedisModuleString *args[KVU_DGRAM_MAX / 3];
	RedisModuleCallReply *r;
	const char *proto;
	size_t len;
	int n = c->argc - 1;

	for (int i = 0; i < n; i++)
		args[i] = RedisModule_CreateString(udp.ctx, c->argv[i + 1],
						   c->argvlen[i + 1]);
	errno = 0;
	r = RedisModule_Call(udp.ctx, c->argv[0], "vSE", args, (size_t)n);
	for (int i = 0; i < n; i++)
		RedisModule_FreeString(udp.ctx, args[i]);
	if (r == NULL) {
		udp_ctr.call_errors++;
		proto = call_error(errno);
		kvu_reply_add(rep, proto, strlen(proto));
		return;
	}
	proto = RedisModule_CallReplyProto(r, &len);
	if (RedisModule_CallReplyType(r) == REDISMODULE_REPLY_ERROR)
		udp_ctr.call_errors++;
	kvu_reply_add(rep, proto, len);
	RedisModule_FreeCallReply(r);
}

static void serve_dgram(size_t len, const struct sockaddr_in *src)
{
	struct kvu_req *req = &udp.req;
	struct kvu_reply rep;
	ssize_t sent;

	switch (kvu_req_parse(req, udp.rx, len)) {
	case KVU_OK: break;
	case KVU_EMPTY: udp_ctr.drop_empty++; return;
	case KVU_PROTOCOL: udp_ctr.drop_protocol++; return;
	case KVU_TRUNCATED: udp_ctr.drop_truncated++; return;
	case KVU_TOO_MANY: udp_ctr.drop_too_many++; return;
	case KVU_NOMEM: udp_ctr.drop_nomem++; return;
	}
	kvu_reply_start(&rep, udp.tx, udp.max_reply, req->ncmd);
	for (size_t i = 0; i < req->ncmd; i++) {
		const struct kvu_cmd *c = &req->cmd[i];

		if (c->argc == 0) {
			udp_ctr.bad_commands++;
			kvu_reply_add(&rep, KVU_ERR_BADCMD,
				      sizeof(KVU_ERR_BADCMD) - 1);
		} else if (kvu_req_is_tag(req, i)) {
			udp_ctr.tags++;
			kvu_reply_add_bulk(&rep, c->argv[1], c->argvlen[1]);
		} else {
			udp_ctr.commands++;
			run_cmd(&rep, c);
		}
	}
	udp_ctr.replies_too_large += rep.too_large;
	sent = sendto(udp.fd, rep.buf, rep.len, MSG_DONTWAIT,
		      (const struct sockaddr *)src, sizeof(*src));
	if (sent < 0) {
		udp_ctr.send_errors++;
		return;
	}
	udp_ctr.datagrams_tx++;
	udp_ctr.bytes_tx += (unsigned long long)sent;
}

static void on_readable(int fd, void *user_data, int mask)
{
	(void)user_data;
	(void)mask;
	for (int i = 0; i < UDP_BATCH; i++) {
		struct sockaddr_in src;
		socklen_t slen = sizeof(src);
		ssize_t n = recvfrom(fd, udp.rx, sizeof(udp.rx), MSG_DONTWAIT,
				     (struct sockaddr *)&src, &slen);

		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				udp_ctr.recv_errors++;
			return;
		}
		udp_ctr.datagrams_rx++;
		udp_ctr.bytes_rx += (unsigned long long)n;
		if (slen != sizeof(src) || src.sin_family != AF_INET) {
			udp_ctr.recv_errors++;
			continue;
		}
		serve_dgram((size_t)n, &src);
	}
}

static int cmd_tag(RedisModuleCtx *ctx, RedisModuleString **argv, int argc)
{
	if (argc != 2)
		return RedisModule_WrongArity(ctx);
	return RedisModule_ReplyWithString(ctx, argv[1]);
}

static int cmd_stats(RedisModuleCtx *ctx, RedisModuleString **argv,
		     int argc)
{
	(void)argv;
	if (argc != 1)
		return RedisModule_WrongArity(ctx);
	RedisModule_ReplyWithArray(ctx, REDISMODULE_POSTPONED_LEN);
	long n = 0;
#define X(c) RedisModule_ReplyWithSimpleString(ctx, #c); \
	RedisModule_ReplyWithLongLong(ctx, (long long)udp_ctr.c); n += 2;
	UDP_COUNTERS(X)
#undef X
	RedisModule_ReplySetArrayLength(ctx, n);
	return REDISMODULE_OK;
}

static void info_udp(RedisModuleInfoCtx *ctx, int for_crash_report)
{
	(void)for_crash_report;
	RedisModule_InfoAddSection(ctx, "");
#define X(c) RedisModule_InfoAddFieldULongLong(ctx, #c, udp_ctr.c);
	UDP_COUNTERS(X)
#undef X
}

/* Module arguments: port N (required), bind ADDR, maxreply N. */
static int parse_args(RedisModuleCtx *ctx, RedisModuleString **argv,
		      int argc, struct sockaddr_in *sa)
{
	long long v;

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	udp.max_reply = KVU_REPLY_DEFAULT;
	for (int i = 0; i + 1 < argc; i += 2) {
		const char *key = RedisModule_StringPtrLen(argv[i], NULL);
		const char *val = RedisModule_StringPtrLen(argv[i + 1], NULL);

		if (strcasecmp(key, "port") == 0 &&
		    RedisModule_StringToLongLong(argv[i + 1], &v) ==
		    REDISMODULE_OK && v > 0 && v < 65536) {
			sa->sin_port = htons((uint16_t)v);
		} else if (strcasecmp(key, "bind") == 0 &&
			   inet_pton(AF_INET, val, &sa->sin_addr) == 1) {
		} else if (strcasecmp(key, "maxreply") == 0 &&
			   RedisModule_StringToLongLong(argv[i + 1], &v) ==
			   REDISMODULE_OK && v >= 64 && v <= 65507) {
			udp.max_reply = (size_t)v;
		} else {
			RedisModule_Log(ctx, "warning",
				"redis-udp: bad argument '%s %s' (port N, bind A.B.C.D, maxreply 64..65507)",
				key, val);
			return -1;
		}
	}
	if (argc % 2 != 0 || sa->sin_port == 0) {
		RedisModule_Log(ctx, "warning",
			"redis-udp: usage: --loadmodule redis-udp.so port N [bind A.B.C.D] [maxreply N]");
		return -1;
	}
	return 0;
}

static int udp_open(RedisModuleCtx *ctx, const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		RedisModule_Log(ctx, "warning", "redis-udp: udp port %u: %s",
				ntohs(sa->sin_port), strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The symbols the module exports (the build hides the rest). */
__attribute__((visibility("default")))
int RedisModule_OnLoad(RedisModuleCtx *ctx, RedisModuleString **argv,
		       int argc);
__attribute__((visibility("default")))
int RedisModule_OnUnload(RedisModuleCtx *ctx);
int RedisModule_OnLoad(RedisModuleCtx *ctx, RedisModuleString **argv,
		       int argc)
{
	struct sockaddr_in sa;

	if (RedisModule_Init(ctx, "udp", 1, REDISMODULE_APIVER_1) ==
	    REDISMODULE_ERR)
		return REDISMODULE_ERR;
	if (parse_args(ctx, argv, argc, &sa) < 0)
		return REDISMODULE_ERR;
	if (RedisModule_CreateCommand(ctx, "udp.tag", cmd_tag,
				      "fast allow-loading allow-stale", 0, 0, 0) ==
	    REDISMODULE_ERR ||
	    RedisModule_CreateCommand(ctx, "udp.stats", cmd_stats,
				      "fast allow-loading allow-stale", 0, 0, 0) ==
	    REDISMODULE_ERR ||
	    RedisModule_RegisterInfoFunc(ctx, info_udp) == REDISMODULE_ERR)
		return REDISMODULE_ERR;
	if (kvu_req_init(&udp.req, kvu_max_cmds(udp.max_reply)) < 0)
		return REDISMODULE_ERR;
	udp.fd = udp_open(ctx, &sa);
	if (udp.fd < 0)
		goto err_req;
	udp.ctx = RedisModule_GetDetachedThreadSafeContext(ctx);
	if (RedisModule_EventLoopAdd(udp.fd, REDISMODULE_EVENTLOOP_READABLE,
				     on_readable, NULL) == REDISMODULE_ERR) {
		RedisModule_Log(ctx, "warning",
				"redis-udp: EventLoopAdd: %s", strerror(errno));
		goto err_ctx;
	}
	RedisModule_Log(ctx, "notice",
			"redis-udp: udp %s:%u, replies up to %zu bytes, %zu commands a datagram",
			inet_ntoa(sa.sin_addr), ntohs(sa.sin_port),
			udp.max_reply, udp.req.max_cmds);
	return REDISMODULE_OK;
err_ctx:
	RedisModule_FreeThreadSafeContext(udp.ctx);
	close(udp.fd);
	udp.fd = -1;
err_req:
	kvu_req_fini(&udp.req);
	return REDISMODULE_ERR;
}

/* MODULE UNLOAD: the event loop must forget the fd before the code of
 * its callback goes away. */
int RedisModule_OnUnload(RedisModuleCtx *ctx)
{
	(void)ctx;
	if (udp.fd >= 0) {
		RedisModule_EventLoopDel(udp.fd, REDISMODULE_EVENTLOOP_READABLE);
		close(udp.fd);
		udp.fd = -1;
		RedisModule_FreeThreadSafeContext(udp.ctx);
		kvu_req_fini(&udp.req);
	}
	return REDISMODULE_OK;
}
