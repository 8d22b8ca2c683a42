/*
 * fuzz_kvu_req.c - libFuzzer entry point for the redis-udp module's
 * request parser (src/apps/redis-udp/kvu_req.c, over hiredis' reader).
 *
 * Each input is one datagram. Checks what kvu_req.h promises: a verdict
 * other than KVU_OK leaves no command; with KVU_OK there are 1..max_cmds
 * commands, each either bad (argc 0) or argc NUL-terminated arguments of
 * the lengths given, and the reply rule never writes past its buffer
 * (ASan) nor beyond the cap, whatever the replies' sizes.
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true
 *   ninja -C build-fuzz tests/fuzz/fuzz_kvu_req
 *   build-fuzz/tests/fuzz/fuzz_kvu_req -dict=tests/fuzz/kvu_req.dict \
 *       /tmp/corpus tests/fuzz/corpus/kvu_req
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kvu_req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct kvu_req req;
static int ready;

/* The replies' sizes come from the input too: the argument lengths. */
static void check_replies(void)
{
	static char buf[KVU_REPLY_DEFAULT];
	static char big[KVU_DGRAM_MAX];
	struct kvu_reply rep;

	kvu_reply_start(&rep, buf, sizeof(buf), req.ncmd);
	for (size_t i = 0; i < req.ncmd; i++) {
		const struct kvu_cmd *c = &req.cmd[i];

		if (kvu_req_is_tag(&req, i))
			kvu_reply_add_bulk(&rep, c->argv[1], c->argvlen[1]);
		else if (c->argc > 0)
			kvu_reply_add(&rep, big, c->argvlen[c->argc - 1] * 8 %
				      sizeof(big));
		else
			kvu_reply_add(&rep, KVU_ERR_BADCMD,
				      sizeof(KVU_ERR_BADCMD) - 1);
	}
	if (rep.len > sizeof(buf) || rep.left != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum kvu_verdict v;

	if (!ready) {
		if (kvu_req_init(&req, kvu_max_cmds(KVU_REPLY_DEFAULT)) < 0)
			abort();
		ready = 1;
	}
	if (size > KVU_DGRAM_MAX)
		return 0;
	v = kvu_req_parse(&req, (const char *)data, size);
	if (v != KVU_OK) {
		if (req.ncmd != 0)
			abort();
		return 0;
	}
	if (req.ncmd == 0 || req.ncmd > req.max_cmds)
		abort();
	for (size_t i = 0; i < req.ncmd; i++) {
		const struct kvu_cmd *c = &req.cmd[i];

		for (int a = 0; a < c->argc; a++)
			if (c->argv[a][c->argvlen[a]] != '\0')
				abort();
		if (c->argc > 0 && strlen(c->argv[0]) != c->argvlen[0])
			abort();
	}
	check_replies();
	return 0;
}
