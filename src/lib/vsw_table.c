/*
 * vsw_table.c - the vswitch port table (see fragnet/vswitch.h), and the
 * names of the switch's counters.
 *
 * Supervisor: fn_vsw_table_create() -> a sealed memfd, handed to the
 *             switch at FN_FD_VSW_TABLE.
 * Switch:     fn_vsw_table_read(fd) -> a private, checked copy.
 * And the same for a stack's attachment table (fn_vsw_attach_create, at
 * FN_FD_STACK_NETS; fn_vsw_attach_read in the stack).
 *
 * The table is a frozen memfd (fragnet/memfd.h): written once with
 * write(2), sealed against writing, never mapped.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fragnet/memfd.h"
#include "fragnet/vswitch.h"

const char *const fn_vsw_port_ctr_names[FN_VSW_P_COUNT] = {
	[FN_VSW_P_RX_PKTS] = "rx_pkts",
	[FN_VSW_P_RX_BYTES] = "rx_bytes",
	[FN_VSW_P_TX_PKTS] = "tx_pkts",
	[FN_VSW_P_TX_BYTES] = "tx_bytes",
	[FN_VSW_P_FLOODED] = "flooded",
	[FN_VSW_P_DROP_RUNT] = "drop_runt",
	[FN_VSW_P_DROP_SRC_MAC] = "drop_src_mac",
	[FN_VSW_P_DROP_SRC_IP] = "drop_src_ip",
	[FN_VSW_P_DROP_ARP_SPOOF] = "drop_arp_spoof",
	[FN_VSW_P_DROP_MALFORMED] = "drop_malformed",
	[FN_VSW_P_DROP_VLAN] = "drop_vlan",
	[FN_VSW_P_DROP_ETHERTYPE] = "drop_ethertype",
	[FN_VSW_P_DROP_LOCAL] = "drop_local",
	[FN_VSW_P_DROP_NO_SLOT] = "drop_no_slot",
	[FN_VSW_P_DROP_TOO_BIG] = "drop_too_big",
	[FN_VSW_P_DROP_LINK_DOWN] = "drop_link_down",
	[FN_VSW_P_LINK_RESETS] = "link_resets",
	[FN_VSW_P_LINK_BROKEN] = "link_broken",
};

const char *const fn_vsw_ctr_names[FN_VSW_COUNT] = {
	[FN_VSW_TURNS] = "turns",
	[FN_VSW_SLEEPS] = "sleeps",
	[FN_VSW_BELLS] = "bells",
	[FN_VSW_FDB_LEARNED] = "fdb_learned",
	[FN_VSW_FDB_MOVED] = "fdb_moved",
	[FN_VSW_FDB_EVICTED] = "fdb_evicted",
	[FN_VSW_FDB_AGED] = "fdb_aged",
	[FN_VSW_FDB_FLUSHED] = "fdb_flushed",
};

/* A name field: terminated inside its array, printable, no blanks. */
static bool name_ok(const char *s, bool may_be_empty)
{
	size_t n = strnlen(s, FN_NAME_MAX);

	if (n == FN_NAME_MAX || (n == 0 && !may_be_empty))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isgraph((unsigned char)s[i]))
			return false;
	for (size_t i = n; i < FN_NAME_MAX; i++)
		if (s[i])
			return false;	/* no hidden bytes after the end */
	return true;
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* Each fd of every port >= 3, not self, and used once in the table. */
static const char *fds_check(const struct fn_vsw_table *t, int self_fd)
{
	int fds[3 * FN_VSW_MAX_PORTS];
	unsigned n = 0;

	for (unsigned i = 0; i < t->nports; i++) {
		const struct fn_vsw_port_ent *p = &t->port[i];
		bool host = p->flags & FN_VSW_PORT_HOST;

		if (host && (p->bell_fd != -1 || p->peer_bell_fd != -1))
			return "a host port has bells";
		if (p->link_fd < 3 || (!host && p->bell_fd < 3))
			return "a port's link or bell fd is missing or < 3";
		if (p->peer_bell_fd < 3 && p->peer_bell_fd != -1)
			return "a port's peer bell fd is < 3 and not -1";
		fds[n++] = p->link_fd;
		if (!host)
			fds[n++] = p->bell_fd;
		if (p->peer_bell_fd >= 0)
			fds[n++] = p->peer_bell_fd;
	}
	for (unsigned i = 0; i < n; i++) {
		if (fds[i] == self_fd)
			return "a port fd is the table's own fd";
		for (unsigned j = i + 1; j < n; j++)
			if (fds[i] == fds[j])
				return "an fd is named twice";
	}
	return NULL;
}

/* One port's own fields: identity and reserved bytes. */
static const char *port_check(const struct fn_vsw_port_ent *p)
{
	static const uint8_t zero_mac[6];

	if ((p->mac[0] & 1) || memcmp(p->mac, zero_mac, 6) == 0)
		return "a port's MAC is zero or a group address";
	if (p->ipv4 == 0)
		return "a port has no IPv4 address";
	if (p->flags & ~FN_VSW_PORT_HOST)
		return "a port's reserved flags are set";
	if (!name_ok(p->name, true))
		return "a port's name is not terminated or not printable";
	return NULL;
}

/* No MAC and no IPv4 address on two ports. */
static const char *ids_check(const struct fn_vsw_table *t)
{
	for (unsigned i = 0; i < t->nports; i++)
		for (unsigned j = i + 1; j < t->nports; j++) {
			if (memcmp(t->port[i].mac, t->port[j].mac, 6) == 0)
				return "two ports have one MAC";
			if (t->port[i].ipv4 == t->port[j].ipv4)
				return "two ports have one IPv4 address";
		}
	return NULL;
}

static const char *table_check(const struct fn_vsw_table *t, int self_fd)
{
	const char *why = NULL;

	if (t->magic != FN_VSW_TABLE_MAGIC || t->version != FN_VSW_TABLE_VERSION)
		return "bad magic or version";
	if (t->size != sizeof(*t))
		return "size field is not the table's size";
	if (t->nports == 0 || t->nports > FN_VSW_MAX_PORTS)
		return "nports out of range";
	if (t->flags)
		return "reserved flags are set";
	if (!name_ok(t->network, false))
		return "network name is empty, not terminated or not printable";
	for (unsigned i = 0; i < t->nports && !why; i++)
		why = port_check(&t->port[i]);
	if (!why && !all_zero(&t->port[t->nports],
			      (FN_VSW_MAX_PORTS - t->nports) * sizeof(t->port[0])))
		why = "unused port entries are not zero";
	if (!why)
		why = ids_check(t);
	if (!why)
		why = fds_check(t, self_fd);
	return why;
}

int fn_vsw_table_check(const struct fn_vsw_table *t, int self_fd,
		       const char **why)
{
	const char *w = table_check(t, self_fd);

	if (why)
		*why = w;
	return w ? -EBADMSG : 0;
}

int fn_vsw_table_create(const char *network, uint32_t age_ms,
			const struct fn_vsw_port_ent *ports, unsigned n,
			const char **why)
{
	struct fn_vsw_table t;
	char name[64];

	if (!network || strlen(network) >= sizeof(t.network) ||
	    n > FN_VSW_MAX_PORTS) {
		if (why)
			*why = "no or too long a network name, or too many ports";
		return -EINVAL;
	}
	memset(&t, 0, sizeof(t));
	t.magic = FN_VSW_TABLE_MAGIC;
	t.version = FN_VSW_TABLE_VERSION;
	t.size = sizeof(t);
	t.nports = n;
	t.age_ms = age_ms;
	memcpy(t.network, network, strlen(network));
	memcpy(t.port, ports, n * sizeof(*ports));
	if (fn_vsw_table_check(&t, -1, why) < 0)
		return -EINVAL;
	snprintf(name, sizeof(name), FN_MEMFD_VSW_TABLE_FMT, t.network);
	return fn_memfd_freeze(name, &t, sizeof(t));
}

int fn_vsw_table_read(int fd, struct fn_vsw_table *t, const char **why)
{
	int err = fn_memfd_thaw(fd, t, sizeof(*t), why);

	return err < 0 ? err : fn_vsw_table_check(t, fd, why);
}

/* ---- the attachment table (vswitch.h, THE STACKS' SIDE) ------------------ */

/* The name of a netif: what the config takes as a network's name. */
static bool ifname_ok(const char *s)
{
	size_t n = strnlen(s, FN_NAME_MAX);

	if (!name_ok(s, false) || n >= 16)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

static const char *attach_ent_check(const struct fn_vsw_attach_ent *e)
{
	static const uint8_t zero_mac[6];

	if (e->link_fd < 3 || e->bell_fd < 3)
		return "an attachment's link or bell fd is missing or < 3";
	if ((e->mac[0] & 1) || memcmp(e->mac, zero_mac, 6) == 0)
		return "an attachment's MAC is zero or a group address";
	if (e->ipv4 == 0 || e->prefix < 1 || e->prefix > 30)
		return "an attachment's address or prefix is not one";
	if (e->reserved || e->flags || e->ifindex < 2)
		return "an attachment's reserved fields are set, or its ifindex "
		       "is < 2";
	if (!ifname_ok(e->name))
		return "an attachment's name is not an interface name";
	return NULL;
}

/* Distinct fds, names and ifindexes across the attachments. */
static const char *attach_distinct(const struct fn_vsw_attach *t, int self_fd)
{
	for (unsigned i = 0; i < t->nnets; i++) {
		const struct fn_vsw_attach_ent *a = &t->net[i];

		if (a->link_fd == self_fd || a->bell_fd == self_fd ||
		    a->link_fd == a->bell_fd)
			return "an attachment's fd is the table's or named twice";
		for (unsigned j = i + 1; j < t->nnets; j++) {
			const struct fn_vsw_attach_ent *b = &t->net[j];

			if (a->link_fd == b->link_fd ||
			    a->link_fd == b->bell_fd ||
			    a->bell_fd == b->link_fd ||
			    a->bell_fd == b->bell_fd)
				return "an fd is named twice";
			if (!strcmp(a->name, b->name) || a->ifindex == b->ifindex)
				return "two attachments have one name or ifindex";
		}
	}
	return NULL;
}

static const char *attach_check(const struct fn_vsw_attach *t, int self_fd)
{
	const char *why = NULL;

	if (t->magic != FN_VSW_ATTACH_MAGIC ||
	    t->version != FN_VSW_ATTACH_VERSION)
		return "bad magic or version";
	if (t->size != sizeof(*t))
		return "size field is not the table's size";
	if (t->nnets == 0 || t->nnets > FN_VSW_ATTACH_MAX)
		return "nnets out of range";
	for (unsigned i = 0; i < t->nnets && !why; i++)
		why = attach_ent_check(&t->net[i]);
	if (!why && !all_zero(&t->net[t->nnets], (FN_VSW_ATTACH_MAX -
			      t->nnets) * sizeof(t->net[0])))
		why = "unused attachment entries are not zero";
	return why ? why : attach_distinct(t, self_fd);
}

int fn_vsw_attach_create(unsigned pipeline, const struct fn_vsw_attach_ent *nets,
			 unsigned n, const char **why)
{
	struct fn_vsw_attach t;
	const char *w;
	char name[64];

	if (n > FN_VSW_ATTACH_MAX) {
		if (why)
			*why = "too many attachments";
		return -EINVAL;
	}
	t = (struct fn_vsw_attach){ .magic = FN_VSW_ATTACH_MAGIC,
		.version = FN_VSW_ATTACH_VERSION, .size = sizeof(t), .nnets = n };
	memcpy(t.net, nets, n * sizeof(*nets));
	w = attach_check(&t, -1);
	if (why)
		*why = w;
	if (w)
		return -EINVAL;
	snprintf(name, sizeof(name), FN_MEMFD_VSW_ATTACH_FMT, pipeline);
	return fn_memfd_freeze(name, &t, sizeof(t));
}

int fn_vsw_attach_read(int fd, struct fn_vsw_attach *t, const char **why)
{
	int err = fn_memfd_thaw(fd, t, sizeof(*t), why);
	const char *w;

	if (err < 0)
		return err;
	w = attach_check(t, fd);
	if (why)
		*why = w;
	return w ? -EBADMSG : 0;
}
