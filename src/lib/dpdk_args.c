/*
 * dpdk_args.c - EAL argument lists of fragnet-nic and fragnet-driver
 * (fragnet/dpdk.h).  Pure string work, so libfragnet needs no DPDK.
 *
 * The one place that decides what EAL may touch: --no-pci unless the
 * topology names a PCI device, which is then the only one allowed (-a).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fragnet/dpdk.h"
#include "fragnet/log.h"

struct argbuf {
	char *buf;
	size_t size, used;
	char **argv;
	int argc;
	bool overflow;
};

static void arg_add(struct argbuf *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void arg_add(struct argbuf *a, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (a->overflow || a->argc >= FN_EAL_MAX_ARGS - 1) {
		a->overflow = true;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(a->buf + a->used, a->size - a->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= a->size - a->used) {
		a->overflow = true;
		return;
	}
	a->argv[a->argc++] = a->buf + a->used;
	a->used += (size_t)n + 1;
}

/* DPDK's numeric log levels: 4 error, 5 warning, 7 info, 8 debug.  EAL is
 * chatty at info, so fragnet's info keeps it at warning. */
static int eal_log_level(int level)
{
	switch (level) {
	case FN_LOG_ERROR:
		return 4;
	case FN_LOG_DEBUG:
		return 7;
	default:
		return 5;
	}
}

static void mac_str(const uint8_t mac[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x",
		 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

int fn_eal_args(const struct fn_config *cfg, const char *prog, bool primary,
		unsigned lcore, int cpu, char *buf, size_t bufsize,
		char *argv[FN_EAL_MAX_ARGS])
{
	struct argbuf a = { buf, bufsize, 0, argv, 0, false };
	char mac[18];

	if (cpu < 0)
		return -EINVAL;
	arg_add(&a, "%s", prog);
	/* Unique lcore ids: see LCORE IDS in fragnet/dpdk.h. */
	arg_add(&a, "--lcores=%u@%d", lcore, cpu);
	arg_add(&a, "--file-prefix=" FN_DPDK_PREFIX_FMT, cfg->name);
	arg_add(&a, "--proc-type=%s", primary ? "primary" : "secondary");
	arg_add(&a, "--log-level=%d", eal_log_level(cfg->log_level));
	/* No telemetry socket: nothing of ours to leave in /var/run/dpdk. */
	arg_add(&a, "--no-telemetry");
	if (cfg->nic.pmd == FN_PMD_PCI) {
		arg_add(&a, "-a");
		arg_add(&a, "%s", cfg->nic.pci);
	} else {
		arg_add(&a, "--no-pci");
		/* Addresses the device sees are virtual ones: no process
		 * reads /proc/self/pagemap, whose page numbers only
		 * CAP_SYS_ADMIN sees.  So the nic, which has dropped it,
		 * can still add a page, and a driver, a user by then, can
		 * still map it (docs/security.md). */
		arg_add(&a, "--iova-mode=va");
		if (primary) {
			mac_str(cfg->nic.mac, mac);
			arg_add(&a, "--vdev=" FN_DPDK_TAP_VDEV ",iface=%s,mac=%s",
				cfg->nic.ifname, mac);
		}
	}
	if (a.overflow)
		return -E2BIG;
	argv[a.argc] = NULL;
	return a.argc;
}

int fn_nic_ready_path(const struct fn_config *cfg, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s", cfg->run_dir, FN_NIC_READY);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}
