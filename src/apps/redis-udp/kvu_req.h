/* kvu_req.h - one request datagram of the Redis-over-UDP protocol, parsed.
 *
 * THE PROTOCOL (docs/kvs-udp.md; server: module.c, client: fragnet-kvload)
 *
 *   request datagram  = RESP value, RESP value, ...     (1..max_cmds of them)
 *   reply datagram    = one RESP reply per value, in the same order
 *
 * 1. A client sends a datagram holding one or more RESP values back to
 *    back, each normally a command: an array of bulk strings, exactly what
 *    redisFormatCommand() produces. Inline commands ("PING\r\n") are not
 *    RESP values and make the datagram malformed.
 * 2. The server parses the whole datagram with hiredis' redisReader before
 *    anything runs. A datagram that is not a whole number of RESP values
 *    (protocol error, truncated value, nesting deeper than hiredis allows,
 *    an array longer than the datagram could hold) or that holds more than
 *    max_cmds values is MALFORMED: it is dropped and counted, nothing runs,
 *    nothing is sent back (a reply would let a forged source address
 *    reflect traffic at a third party; the client times out).
 * 3. A value that is valid RESP but not an array of 1..N bulk strings
 *    (a status, an integer, an empty array, a nested array, a command name
 *    with a NUL in it) is a BAD COMMAND: its reply is KVU_ERR_BADCMD, and
 *    the other values of the datagram run.
 * 4. CLIENT MATCHING. The reply goes to the request's source address and
 *    port and holds exactly one reply per value, in order. UDP may lose,
 *    duplicate or reorder datagrams, so a client with more than one
 *    datagram in flight from one port puts `UDP.TAG <token>` first: the
 *    server answers it itself with the token as a bulk string (nothing runs
 *    in Redis), and the client matches the reply by that first element.
 * 5. SIZE. A reply datagram never exceeds max_reply bytes. Replies are
 *    placed in order; a reply that would leave too little room for one
 *    KVU_ERR_TOO_LARGE per value still to come is replaced by
 *    KVU_ERR_TOO_LARGE (the command did run). Nothing is ever truncated.
 *    max_cmds = max_reply / strlen(KVU_ERR_TOO_LARGE), so the rule always
 *    has room.
 *
 * Ownership: a kvu_req owns its reader and every command's strings; they
 * live until the next kvu_req_parse() or kvu_req_fini(). Callers: module.c
 * (the server), tests/unit/test_kvu_req.c, tests/fuzz/fuzz_kvu_req.c.
 */
#ifndef FN_KVU_REQ_H
#define FN_KVU_REQ_H

#include <stddef.h>

#define KVU_DGRAM_MAX 65535	/* the largest datagram read */
#define KVU_REPLY_DEFAULT 1472	/* one Ethernet frame of UDP payload */
#define KVU_ERR_TOO_LARGE "-ERR udp reply too large\r\n"
#define KVU_ERR_BADCMD "-ERR udp command must be an array of bulk strings\r\n"
#define KVU_TAG_CMD "UDP.TAG"

/* What kvu_req_parse() found wrong with a whole datagram. */
enum kvu_verdict {
	KVU_OK = 0,
	KVU_EMPTY,		/* zero bytes */
	KVU_PROTOCOL,		/* hiredis: protocol error or limit */
	KVU_TRUNCATED,		/* the last value is incomplete */
	KVU_TOO_MANY,		/* more than max_cmds values */
	KVU_NOMEM,
};

struct kvu_cmd {
	int argc;		/* 0: a bad command (rule 3) */
	char **argv;		/* argv[i] NUL-terminated copy, argvlen[i] bytes */
	size_t *argvlen;
};

struct kvu_req {
	size_t max_cmds;
	size_t ncmd;
	struct kvu_cmd *cmd;	/* max_cmds entries */
	void *reader;		/* redisReader, remade after an error */
	size_t dgram_len;	/* bounds array lengths (rule 2) */
};

/* 0, or -ENOMEM. max_cmds >= 1. */
int kvu_req_init(struct kvu_req *req, size_t max_cmds);
void kvu_req_fini(struct kvu_req *req);
/* Parses one datagram (len <= KVU_DGRAM_MAX); frees the previous one. */
enum kvu_verdict kvu_req_parse(struct kvu_req *req, const char *buf,
			       size_t len);
const char *kvu_verdict_name(enum kvu_verdict v);
/* Has this redisReader (no error) begun a value it has not finished? Also
 * used by fragnet-kvload on reply datagrams. */
int kvu_reader_partial(const void *reader);

/* Rule 4: is command i `UDP.TAG <token>` in the first place? */
int kvu_req_is_tag(const struct kvu_req *req, size_t i);

/* Rule 5: a reply datagram under construction. */
struct kvu_reply {
	char *buf;
	size_t cap, len;
	size_t left;		/* replies still to place, this one included */
	size_t too_large;	/* replaced by KVU_ERR_TOO_LARGE */
};

void kvu_reply_start(struct kvu_reply *rep, char *buf, size_t cap,
		     size_t nreplies);
/* Places the next reply, or KVU_ERR_TOO_LARGE if it does not fit. */
void kvu_reply_add(struct kvu_reply *rep, const char *proto, size_t len);
/* A bulk string reply (the tag). */
void kvu_reply_add_bulk(struct kvu_reply *rep, const char *s, size_t len);
size_t kvu_max_cmds(size_t max_reply);

#endif
