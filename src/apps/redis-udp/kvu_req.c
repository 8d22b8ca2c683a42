/* kvu_req.c - parse a request datagram with hiredis, place replies.
 *
 * The protocol and its rules are in kvu_req.h. RESP is parsed by hiredis'
 * redisReader, never by hand: this file gives the reader its own object
 * functions (a small tree of kvu_obj) so that it can bound what a hostile
 * datagram makes it allocate: an array may not announce more elements
 * than the datagram has bytes for (each element takes at least 3 bytes),
 * and hiredis itself refuses nesting deeper than 7 and lengths out of
 * range. Then each top-level value is checked to be a command (rule 3).
 *
 * Called from module.c for every datagram, on Redis' main thread; from the
 * unit test and the fuzz target. Not thread-safe per kvu_req.
 */
#include "kvu_req.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <hiredis/hiredis.h>

struct kvu_obj {
	int type;		/* REDIS_REPLY_* */
	size_t n;		/* array: elements */
	struct kvu_obj **elem;
	size_t len;		/* string: bytes, str[len] == 0 */
	char str[];
};

/* Hangs a new object under its parent array (hiredis passes the slot). */
static void *obj_new(const redisReadTask *t, int type, size_t extra)
{
	struct kvu_obj *o = calloc(1, sizeof(*o) + extra);

	if (o == NULL)
		return NULL;
	o->type = type;
	if (t->parent != NULL) {
		struct kvu_obj *p = t->parent->obj;

		/* hiredis keeps idx below the count createArray was given. */
		if (p == NULL || t->idx < 0 || (size_t)t->idx >= p->n) {
			free(o);
			return NULL;
		}
		p->elem[t->idx] = o;
	}
	return o;
}

static void obj_free(void *ptr)
{
	struct kvu_obj *o = ptr;

	if (o == NULL)
		return;
	for (size_t i = 0; i < o->n; i++)
		obj_free(o->elem[i]);
	free(o->elem);
	free(o);
}

static void *obj_string(const redisReadTask *t, char *s, size_t len)
{
	struct kvu_obj *o;

	if (len > KVU_DGRAM_MAX)
		return NULL;
	/* hiredis skips a bulk string's two closing bytes unread; they are
	 * in its buffer (it calls us only when all len + 2 are), and must be
	 * CRLF: "$4\r\nPINGxx" is not a command. */
	if (t->type == REDIS_REPLY_STRING && (s[len] != '\r' || s[len + 1] != '\n'))
		return NULL;
	o = obj_new(t, t->type, len + 1);
	if (o == NULL)
		return NULL;
	memcpy(o->str, s, len);
	o->str[len] = '\0';
	o->len = len;
	return o;
}

/* Rule 2: at most one element per 3 bytes of the datagram ("+\r\n"). */
static void *obj_array(const redisReadTask *t, int elements)
{
	const struct kvu_req *req = t->privdata;
	struct kvu_obj *o;

	if (elements < 0 || req == NULL ||
	    (size_t)elements > req->dgram_len / 3)
		return NULL;
	o = obj_new(t, REDIS_REPLY_ARRAY, 0);
	if (o == NULL || elements == 0)
		return o;
	o->elem = calloc((size_t)elements, sizeof(*o->elem));
	if (o->elem == NULL) {
		/* Unhook it: the parent's free must not see a half object. */
		if (t->parent != NULL && t->parent->obj != NULL)
			((struct kvu_obj *)t->parent->obj)->elem[t->idx] = NULL;
		free(o);
		return NULL;
	}
	o->n = (size_t)elements;
	return o;
}

static void *obj_integer(const redisReadTask *t, long long v)
{
	(void)v;
	return obj_new(t, REDIS_REPLY_INTEGER, 0);
}

static void *obj_nil(const redisReadTask *t)
{
	return obj_new(t, REDIS_REPLY_NIL, 0);
}

static redisReplyObjectFunctions kvu_fns = {
	.createString = obj_string,
	.createArray = obj_array,
	.createInteger = obj_integer,
	.createNil = obj_nil,
	.freeObject = obj_free,
};

static int reader_remake(struct kvu_req *req)
{
	redisReader *r;

	if (req->reader != NULL)
		redisReaderFree(req->reader);
	r = redisReaderCreateWithFunctions(&kvu_fns);
	req->reader = r;
	if (r == NULL)
		return -ENOMEM;
	r->privdata = req;
	/* A datagram is read at once: keep no spare buffer between them. */
	r->maxbuf = 0;
	return 0;
}

int kvu_req_init(struct kvu_req *req, size_t max_cmds)
{
	memset(req, 0, sizeof(*req));
	if (max_cmds == 0)
		return -EINVAL;
	req->max_cmds = max_cmds;
	req->cmd = calloc(max_cmds, sizeof(*req->cmd));
	if (req->cmd == NULL)
		return -ENOMEM;
	if (reader_remake(req) < 0) {
		free(req->cmd);
		return -ENOMEM;
	}
	return 0;
}

static void req_clear(struct kvu_req *req)
{
	for (size_t i = 0; i < req->ncmd; i++) {
		struct kvu_cmd *c = &req->cmd[i];

		/* argv's strings are in the tree, which argv[argc] holds
		 * (cmd_from()); req_free_trees() frees it first. */
		free(c->argv);
		free(c->argvlen);
		c->argv = NULL;
		c->argvlen = NULL;
		c->argc = 0;
	}
	req->ncmd = 0;
}

/* Rule 3: an array of 1..n bulk strings, the name without NUL. Takes the
 * tree; on success the command's argv points into it, and argv's block
 * keeps the tree's root in the slot after the last argument. */
static int cmd_from(struct kvu_cmd *c, struct kvu_obj *o)
{
	c->argc = 0;
	c->argv = NULL;
	c->argvlen = NULL;
	if (o->type != REDIS_REPLY_ARRAY || o->n == 0 || o->n > INT32_MAX)
		goto bad;
	for (size_t i = 0; i < o->n; i++)
		if (o->elem[i] == NULL || o->elem[i]->type != REDIS_REPLY_STRING)
			goto bad;
	if (strlen(o->elem[0]->str) != o->elem[0]->len)
		goto bad;
	c->argv = calloc(o->n + 1, sizeof(*c->argv));
	c->argvlen = calloc(o->n, sizeof(*c->argvlen));
	if (c->argv == NULL || c->argvlen == NULL)
		goto nomem;
	for (size_t i = 0; i < o->n; i++) {
		c->argv[i] = o->elem[i]->str;
		c->argvlen[i] = o->elem[i]->len;
	}
	c->argv[o->n] = (char *)o;	/* the owner, freed in req_clear() */
	c->argc = (int)o->n;
	return 0;
nomem:
	free(c->argv);
	free(c->argvlen);
	c->argv = NULL;
	c->argvlen = NULL;
	obj_free(o);
	return -ENOMEM;
bad:
	/* A bad command keeps its tree in a one-slot argv. */
	c->argv = calloc(1, sizeof(*c->argv));
	if (c->argv == NULL) {
		obj_free(o);
		return -ENOMEM;
	}
	c->argv[0] = (char *)o;
	return 0;
}

/* The tree of command i, whatever its shape. */
static struct kvu_obj *cmd_tree(const struct kvu_cmd *c)
{
	if (c->argv == NULL)
		return NULL;
	return (struct kvu_obj *)c->argv[c->argc];
}

static void req_free_trees(struct kvu_req *req)
{
	for (size_t i = 0; i < req->ncmd; i++)
		obj_free(cmd_tree(&req->cmd[i]));
	req_clear(req);
}

void kvu_req_fini(struct kvu_req *req)
{
	if (req->cmd != NULL)
		req_free_trees(req);
	if (req->reader != NULL)
		redisReaderFree(req->reader);
	free(req->cmd);
	memset(req, 0, sizeof(*req));
}

static enum kvu_verdict parse_fail(struct kvu_req *req, enum kvu_verdict v)
{
	req_free_trees(req);
	if (reader_remake(req) < 0)
		return KVU_NOMEM;
	return v;
}

enum kvu_verdict kvu_req_parse(struct kvu_req *req, const char *buf,
			       size_t len)
{
	redisReader *r;

	req_free_trees(req);
	if (len == 0)
		return KVU_EMPTY;
	if (len > KVU_DGRAM_MAX)
		return KVU_PROTOCOL;
	if (req->reader == NULL && reader_remake(req) < 0)
		return KVU_NOMEM;
	r = req->reader;
	req->dgram_len = len;
	if (redisReaderFeed(r, buf, len) != REDIS_OK)
		return parse_fail(req, KVU_NOMEM);
	for (;;) {
		void *o = NULL;

		if (redisReaderGetReply(r, &o) != REDIS_OK)
			/* Our bound on arrays shows as "out of memory". */
			return parse_fail(req, KVU_PROTOCOL);
		if (o == NULL)
			break;
		if (req->ncmd == req->max_cmds) {
			obj_free(o);
			return parse_fail(req, KVU_TOO_MANY);
		}
		if (cmd_from(&req->cmd[req->ncmd], o) < 0)
			return parse_fail(req, KVU_NOMEM);
		req->ncmd++;
	}
	if (kvu_reader_partial(r))
		return parse_fail(req, KVU_TRUNCATED);
	return KVU_OK;
}

/* hiredis 0.14's reader between values: ridx -1, or 0 with no type byte
 * read yet (redisReaderGetReply() starts a value before it knows whether
 * bytes follow). Anything else is a value begun: its type byte, an
 * unfinished length line, or elements still missing. */
int kvu_reader_partial(const void *reader)
{
	const redisReader *r = reader;

	return r->pos < r->len || r->ridx > 0 ||
	       (r->ridx == 0 && r->rstack[0].type >= 0);
}

const char *kvu_verdict_name(enum kvu_verdict v)
{
	switch (v) {
	case KVU_OK: return "ok";
	case KVU_EMPTY: return "empty";
	case KVU_PROTOCOL: return "protocol";
	case KVU_TRUNCATED: return "truncated";
	case KVU_TOO_MANY: return "too_many";
	case KVU_NOMEM: return "nomem";
	}
	return "?";
}

int kvu_req_is_tag(const struct kvu_req *req, size_t i)
{
	const struct kvu_cmd *c = &req->cmd[i];

	return i == 0 && c->argc == 2 &&
	       c->argvlen[0] == sizeof(KVU_TAG_CMD) - 1 &&
	       strcasecmp(c->argv[0], KVU_TAG_CMD) == 0;
}

size_t kvu_max_cmds(size_t max_reply)
{
	return max_reply / (sizeof(KVU_ERR_TOO_LARGE) - 1);
}

void kvu_reply_start(struct kvu_reply *rep, char *buf, size_t cap,
		     size_t nreplies)
{
	rep->buf = buf;
	rep->cap = cap;
	rep->len = 0;
	rep->left = nreplies;
	rep->too_large = 0;
}

/* Room for a reply of len bytes, keeping one error's room per later one. */
static int reply_fits(const struct kvu_reply *rep, size_t len)
{
	size_t errlen = sizeof(KVU_ERR_TOO_LARGE) - 1;
	size_t later = rep->left > 0 ? rep->left - 1 : 0;
	size_t room = rep->cap - rep->len;

	return len <= room && later * errlen <= room - len;
}

static void reply_too_large(struct kvu_reply *rep)
{
	size_t errlen = sizeof(KVU_ERR_TOO_LARGE) - 1;

	rep->too_large++;
	/* Never happens while nreplies <= kvu_max_cmds(cap); never overflow. */
	if (rep->cap - rep->len < errlen)
		return;
	memcpy(rep->buf + rep->len, KVU_ERR_TOO_LARGE, errlen);
	rep->len += errlen;
}

void kvu_reply_add(struct kvu_reply *rep, const char *proto, size_t len)
{
	if (reply_fits(rep, len)) {
		memcpy(rep->buf + rep->len, proto, len);
		rep->len += len;
	} else {
		reply_too_large(rep);
	}
	if (rep->left > 0)
		rep->left--;
}

void kvu_reply_add_bulk(struct kvu_reply *rep, const char *s, size_t len)
{
	char head[32];
	int hl = snprintf(head, sizeof(head), "$%zu\r\n", len);

	if (hl > 0 && len <= KVU_DGRAM_MAX &&
	    reply_fits(rep, (size_t)hl + len + 2)) {
		memcpy(rep->buf + rep->len, head, (size_t)hl);
		memcpy(rep->buf + rep->len + hl, s, len);
		memcpy(rep->buf + rep->len + hl + len, "\r\n", 2);
		rep->len += (size_t)hl + len + 2;
	} else {
		reply_too_large(rep);
	}
	if (rep->left > 0)
		rep->left--;
}
