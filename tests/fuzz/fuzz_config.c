/*
 * fuzz_config.c - libFuzzer entry point for the topology parser.
 *
 * Feeds any bytes to fn_config_load_string() and checks what the contract
 * in fragnet/config.h promises: an error is one "fuzz.conf:..." message
 * with *cfg all zero; a success has every field in range and args that
 * fn_config_split_args() accepts for every pipeline (the parser checks
 * them at load, so that the supervisor never meets a quoting error at
 * spawn).  An "internal error" message means our reader and inih disagreed
 * about a line, and aborts.
 *
 *   CC=clang meson setup build-fuzz -Dfuzz=true
 *   ninja -C build-fuzz tests/fuzz/fuzz_config
 *   build-fuzz/tests/fuzz/fuzz_config -dict=tests/fuzz/config.dict \
 *       /tmp/corpus tests/fuzz/corpus/config
 * (libFuzzer writes new inputs into the first directory.)
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fragnet/config.h"

/* "fuzz.conf:LINE: ", and not our own "internal error" (user text, such
 * as an unknown key, can say "internal" anywhere after that). */
static void check_error(const char *err)
{
	const char *p = err + 10;

	if (strncmp(err, "fuzz.conf:", 10) != 0)
		abort();
	while (*p >= '0' && *p <= '9')
		p++;
	if (p == err + 10 || strncmp(p, ": internal error", 16) == 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fn_config cfg;

static void check_zero(void)
{
	static const struct fn_config zero;

	if (memcmp(&cfg, &zero, sizeof cfg) != 0)
		abort();
}

static void check_args(const struct fn_component_conf *c, unsigned p)
{
	static char buf[64 * 1024];
	char *argv[FN_MAX_ARGS + 1];

	if (memchr(c->exec, '\0', sizeof c->exec) == NULL ||
	    memchr(c->args, '\0', sizeof c->args) == NULL)
		abort();
	if (fn_config_split_args(c->args, p, cfg.run_dir, "255.255.255.255",
				 buf, sizeof buf, argv, FN_MAX_ARGS + 1) < 0)
		abort();
	if (c->cpu < FN_CPU_AUTO || c->cpu >= 1024)
		abort();
}

/* Uplinks: one address and MAC each where a pipeline has an uplink; with
 * per-pipeline addressing no two alike. */
static void check_uplinks(void)
{
	bool per = cfg.stack.addressing == FN_ADDRESSING_PER_PIPELINE;

	for (unsigned p = 0; p < cfg.npipelines; p++) {
		const struct fn_pipeline_conf *a = &cfg.pipeline[p];

		if (fn_config_has_uplink(&cfg, p) != (a->stack_address.addr != 0))
			abort();
		for (unsigned q = 0; per && a->stack_address.addr && q < p; q++)
			if (cfg.pipeline[q].stack_address.addr ==
			    a->stack_address.addr ||
			    memcmp(cfg.pipeline[q].stack_mac, a->stack_mac, 6) == 0)
				abort();
	}
}

/* Networks: terminated names, every attachment on a network that exists,
 * inside its subnet. */
static void check_networks(void)
{
	if (cfg.nnetworks > FN_MAX_NETWORKS)
		abort();
	for (unsigned i = 0; i < cfg.nnetworks; i++)
		if (!cfg.network[i].name[0] ||
		    cfg.network[i].name[FN_IFNAME_MAX - 1] ||
		    cfg.network[i].host_ifname[FN_IFNAME_MAX - 1])
			abort();
	for (unsigned p = 0; p < cfg.npipelines; p++) {
		const struct fn_pipeline_conf *pc = &cfg.pipeline[p];

		if (pc->nnets > FN_STACK_MAX_NETS)
			abort();
		for (unsigned k = 0; k < pc->nnets; k++) {
			const struct fn_network_conf *n;

			if (pc->net[k].network >= cfg.nnetworks)
				abort();
			n = &cfg.network[pc->net[k].network];
			if (((pc->net[k].address ^ n->subnet.addr) &
			     htonl(~0u << (32 - n->subnet.prefix))) != 0)
				abort();
		}
	}
}

static void check_ok(void)
{
	if (cfg.npipelines < 1 || cfg.npipelines > FN_MAX_PIPELINES)
		abort();
	if (!cfg.name[0] || strlen(cfg.name) >= FN_NAME_MAX)
		abort();
	if (cfg.link.slots == 0 || (cfg.link.slots & (cfg.link.slots - 1)) ||
	    cfg.link.slot_size % 64 || cfg.link.slot_size == 0)
		abort();
	if (cfg.nic.ifname[sizeof cfg.nic.ifname - 1] ||
	    cfg.nic.pci[sizeof cfg.nic.pci - 1] ||
	    cfg.app.user[sizeof cfg.app.user - 1])
		abort();
	for (unsigned p = 0; p < cfg.npipelines; p++)
		for (int r = 0; r < FN_ROLE_COUNT; r++)
			check_args(&cfg.pipeline[p].comp[r], p);
	check_networks();
	check_uplinks();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[FN_CONFIG_ERR_MAX];
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (fn_config_load_string(&cfg, "fuzz.conf", text, err) == 0) {
		check_ok();
	} else {
		check_error(err);
		check_zero();
	}
	free(text);
	return 0;
}
