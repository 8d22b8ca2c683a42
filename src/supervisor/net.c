/*
 * net.c - the supervisor's side of internal networks (fragnet/vswitch.h,
 * config/README.md "Internal networks").
 *
 * net_channels(), once, after the pipelines' channels (a port's peer bell
 * is its stack's bell), makes per [network NAME]:
 *   - per attached stack, in pipeline order, a port: a link memfd
 *     (FN_MEMFD_VSW_LINK_FMT) and the port's bell, an eventfd that the
 *     stack rings and the switch waits on;
 *   - with `host = yes`, one more port: a tap on the host, its MAC,
 *     address and prefix set, IPv6 off, up (host_tap());
 *   - the switch's port table, frozen (fn_vsw_table_create);
 * and per stack on some network its attachment table
 * (fn_vsw_attach_create).  Everything is kept, and handed out again, across
 * restarts; net_close() closes it all at stop, and a host tap vanishes
 * with its last fd.
 *
 * net_fds() lists the fds a vswitch or a stack gets at spawn, at the
 * numbers its table names (names.h).  net_side_died() is the RESET of
 * stream.h for a dead switch (every port's link) or stack (its ports'
 * links), and rings the survivors' bells, so that none sleeps through it.
 *
 * Called from supervisor.c (setup, stop), spawn.c and restart.c, on the
 * main loop's thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fragnet/log.h"
#include "fragnet/stream.h"
#include "fragnet/vswitch.h"
#include "sup.h"

_Static_assert(FN_NET_MAX_PORTS == FN_VSW_MAX_PORTS &&
	       FN_STACK_MAX_NETS == FN_VSW_ATTACH_MAX,
	       "config.h and vswitch.h disagree on sizes");

void net_init(struct sup *s)
{
	for (unsigned n = 0; n < FN_MAX_NETWORKS; n++)
		s->net[n] = (struct sup_net){ .table_fd = -1 };
	for (unsigned p = 0; p < FN_MAX_PIPELINES; p++)
		s->attach_fd[p] = -1;
}

/* Pipeline p's attachment to network n, or NULL. */
static const struct fn_attach_conf *attach_of(const struct fn_config *cfg,
					      unsigned p, unsigned n)
{
	const struct fn_pipeline_conf *pc = &cfg->pipeline[p];

	for (unsigned j = 0; j < pc->nnets; j++)
		if (pc->net[j].network == n)
			return &pc->net[j];
	return NULL;
}

/* Network n's port of pipeline p (it has one when attach_of() says so). */
static const struct sup_port *port_of(const struct sup *s, unsigned n,
				      unsigned p)
{
	const struct sup_net *net = &s->net[n];

	for (unsigned i = 0; i < net->nports; i++)
		if (net->port[i].pipeline == (int)p)
			return &net->port[i];
	return NULL;
}

/* ---- the host's tap ------------------------------------------------------ */

/* Write "1" to the tap's disable_ipv6: the switch would only drop and
 * count the kernel's IPv6 chatter.  A kernel without IPv6 has no file. */
static int tap_no_ipv6(const char *ifname)
{
	char path[96];
	int fd, err = 0;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
		 ifname);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (write(fd, "1", 1) != 1)
		err = -errno;
	close(fd);
	return err;
}

static int ifreq_do(int sk, unsigned long req, struct ifreq *ifr)
{
	return ioctl(sk, req, ifr) < 0 ? -errno : 0;
}

/* The tap's MAC, MTU, address and prefix, then up; *what says which step
 * failed. */
static int tap_configure(const struct fn_network_conf *n, unsigned mtu,
			 const char **what)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	int sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err;

	if (sk < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", n->host_ifname);
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, n->host_mac, 6);
	err = ifreq_do(sk, SIOCSIFHWADDR, &ifr);
	*what = "its MAC";
	if (!err) {
		ifr.ifr_mtu = (int)mtu;
		err = ifreq_do(sk, SIOCSIFMTU, &ifr);
		*what = "its MTU";
	}
	if (!err) {
		err = tap_no_ipv6(n->host_ifname);
		*what = "IPv6 off";
	}
	if (!err) {
		memset(&ifr.ifr_addr, 0, sizeof(ifr.ifr_addr));
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = n->host_address;
		err = ifreq_do(sk, SIOCSIFADDR, &ifr);
		*what = "its address";
	}
	if (!err) {
		sin->sin_addr.s_addr = htonl(~0u << (32 - n->subnet.prefix));
		err = ifreq_do(sk, SIOCSIFNETMASK, &ifr);
		*what = "its prefix";
	}
	if (!err && !(err = ifreq_do(sk, SIOCGIFFLAGS, &ifr))) {
		ifr.ifr_flags |= IFF_UP;
		err = ifreq_do(sk, SIOCSIFFLAGS, &ifr);
		*what = "up";
	}
	close(sk);
	return err;
}

/* The host port of network n: a tap of its own (IFF_TUN_EXCL: an
 * interface of that name that exists already is an error, never taken
 * over), without packet information, as the switch reads it. */
static int host_tap(struct sup *s, unsigned n)
{
	const struct fn_network_conf *nc = &s->cfg->network[n];
	unsigned mtu = s->cfg->link.slot_size - 14;
	const char *what = "/dev/net/tun";
	struct ifreq ifr = { 0 };
	int fd, err;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		err = -errno;
		goto err_fail;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", nc->host_ifname);
	/* ifr_flags is a short; IFF_TUN_EXCL (0x8000) is its sign bit. */
	ifr.ifr_flags = (short)(IFF_TAP | IFF_NO_PI | IFF_TUN_EXCL);
	what = "TUNSETIFF";
	err = ifreq_do(fd, TUNSETIFF, &ifr);
	if (!err)
		err = tap_configure(nc, mtu < 1500 ? mtu : 1500, &what);
	if (!err)
		return fd;
	close(fd);
err_fail:
	sup_fail(s, "[network %s]: cannot make the host tap %s: %s: %s",
		 nc->name, nc->host_ifname, what, strerror(-err));
	return err;
}

/* ---- links, bells, tables ------------------------------------------------- */

/* Port i of network n, for pipeline p: its link and its bell. */
static int stack_port(struct sup *s, unsigned n, unsigned i, unsigned p)
{
	struct sup_port *pt = &s->net[n].port[i];
	const char *net = s->cfg->network[n].name;
	char name[64];

	*pt = (struct sup_port){ .pipeline = (int)p, .link_fd = -1,
				 .bell_fd = -1 };
	snprintf(name, sizeof(name), FN_MEMFD_VSW_LINK_FMT, net, i);
	pt->link_fd = fn_link_create(name, s->cfg->link.slots,
				     s->cfg->link.slot_size);
	if (pt->link_fd < 0) {
		sup_fail(s, "[network %s]: cannot create the link of port %u: "
			 "%s", net, i, strerror(-pt->link_fd));
		return pt->link_fd;
	}
	pt->bell_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (pt->bell_fd < 0) {
		sup_fail(s, "[network %s]: cannot create the bell of port %u: "
			 "%s", net, i, strerror(errno));
		return -errno;
	}
	return 0;
}

/* The table entry of port i of network n. */
static void port_ent(const struct sup *s, unsigned n, unsigned i,
		     struct fn_vsw_port_ent *e)
{
	const struct fn_network_conf *nc = &s->cfg->network[n];
	const struct sup_port *pt = &s->net[n].port[i];
	const struct fn_attach_conf *a;

	memset(e, 0, sizeof(*e));
	e->link_fd = FN_FD_VSW_LINK(i);
	if (pt->pipeline < 0) {
		e->flags = FN_VSW_PORT_HOST;
		e->bell_fd = e->peer_bell_fd = -1;
		e->ipv4 = nc->host_address;
		memcpy(e->mac, nc->host_mac, 6);
		snprintf(e->name, sizeof(e->name), "host:%s", nc->host_ifname);
		return;
	}
	a = attach_of(s->cfg, (unsigned)pt->pipeline, n);
	e->bell_fd = FN_FD_VSW_BELL(i);
	e->peer_bell_fd = s->stack_bell_fd[pt->pipeline] >= 0 ?
			  (int32_t)FN_FD_VSW_PEER_BELL(i) : -1;
	e->ipv4 = a->address;
	memcpy(e->mac, a->mac, 6);
	snprintf(e->name, sizeof(e->name), "stack/%d", pt->pipeline);
}

static int switch_table(struct sup *s, unsigned n)
{
	const struct fn_network_conf *nc = &s->cfg->network[n];
	struct fn_vsw_port_ent e[FN_VSW_MAX_PORTS];
	const char *why = NULL;
	int fd;

	for (unsigned i = 0; i < s->net[n].nports; i++)
		port_ent(s, n, i, &e[i]);
	fd = fn_vsw_table_create(nc->name, nc->age_ms, e, s->net[n].nports,
				 &why);
	if (fd < 0)
		sup_fail(s, "[network %s]: cannot create the port table: %s",
			 nc->name, why ? why : strerror(-fd));
	s->net[n].table_fd = fd;
	return fd < 0 ? fd : 0;
}

/* Network n's ports, in pipeline order, the host's last, and its table. */
static int net_make(struct sup *s, unsigned n)
{
	struct sup_net *net = &s->net[n];
	int err;

	for (unsigned p = 0; p < s->cfg->npipelines; p++) {
		if (!attach_of(s->cfg, p, n))
			continue;
		err = stack_port(s, n, net->nports++, p);
		if (err < 0)
			return err;
	}
	if (s->cfg->network[n].host) {
		struct sup_port *pt = &net->port[net->nports++];

		*pt = (struct sup_port){ .pipeline = -1, .bell_fd = -1 };
		pt->link_fd = host_tap(s, n);
		if (pt->link_fd < 0)
			return pt->link_fd;
	}
	return switch_table(s, n);
}

/* Stack p's attachment table (vswitch.h, THE STACKS' SIDE). */
static int stack_table(struct sup *s, unsigned p)
{
	const struct fn_pipeline_conf *pc = &s->cfg->pipeline[p];
	struct fn_vsw_attach_ent e[FN_VSW_ATTACH_MAX];
	const char *why = NULL;

	memset(e, 0, sizeof(e));
	for (unsigned j = 0; j < pc->nnets; j++) {
		const struct fn_network_conf *nc =
			&s->cfg->network[pc->net[j].network];

		e[j].link_fd = FN_FD_STACK_NET_LINK(j);
		e[j].bell_fd = FN_FD_STACK_NET_BELL(j);
		e[j].ipv4 = pc->net[j].address;
		e[j].prefix = nc->subnet.prefix;
		e[j].ifindex = (uint16_t)(2 + pc->net[j].network);
		memcpy(e[j].mac, pc->net[j].mac, 6);
		snprintf(e[j].name, sizeof(e[j].name), "%s", nc->name);
	}
	s->attach_fd[p] = fn_vsw_attach_create(p, e, pc->nnets, &why);
	if (s->attach_fd[p] < 0)
		sup_fail(s, "stack/%u: cannot create its attachment table: %s",
			 p, why ? why : strerror(-s->attach_fd[p]));
	return s->attach_fd[p] < 0 ? s->attach_fd[p] : 0;
}

int net_channels(struct sup *s)
{
	int err;

	for (unsigned n = 0; n < s->cfg->nnetworks; n++) {
		err = net_make(s, n);
		if (err < 0)
			return err;
	}
	for (unsigned p = 0; p < s->cfg->npipelines; p++) {
		if (!s->cfg->pipeline[p].nnets)
			continue;
		err = stack_table(s, p);
		if (err < 0)
			return err;
	}
	return 0;
}

/* ---- spawn, restarts, stop ------------------------------------------------ */

/* Append fd (if any) to fds, within max. */
static void fd_add(struct sup_fd *fds, unsigned *k, unsigned max, int src,
		   int dst, const char *env)
{
	if (src >= 0 && *k < max)
		fds[(*k)++] = (struct sup_fd){ src, dst, env };
}

/* A vswitch: its table, and every port's link (or tap), bell and stack's
 * bell, at the numbers the table gives them (port_ent()). */
static unsigned switch_fds(const struct sup *s, unsigned n,
			   struct sup_fd *fds, unsigned max)
{
	const struct sup_net *net = &s->net[n];
	unsigned k = 0;

	fd_add(fds, &k, max, net->table_fd, FN_FD_VSW_TABLE,
	       FN_ENV_VSW_TABLE_FD);
	for (unsigned i = 0; i < net->nports; i++) {
		const struct sup_port *pt = &net->port[i];

		fd_add(fds, &k, max, pt->link_fd, FN_FD_VSW_LINK(i), NULL);
		fd_add(fds, &k, max, pt->bell_fd, FN_FD_VSW_BELL(i), NULL);
		if (pt->pipeline >= 0)
			fd_add(fds, &k, max, s->stack_bell_fd[pt->pipeline],
			       FN_FD_VSW_PEER_BELL(i), NULL);
	}
	return k;
}

/* A stack: its attachment table, and its ports' links and bells. */
static unsigned stack_fds(const struct sup *s, unsigned p,
			  struct sup_fd *fds, unsigned max)
{
	const struct fn_pipeline_conf *pc = &s->cfg->pipeline[p];
	unsigned k = 0;

	fd_add(fds, &k, max, s->attach_fd[p], FN_FD_STACK_NETS,
	       FN_ENV_STACK_NETS_FD);
	for (unsigned j = 0; s->attach_fd[p] >= 0 && j < pc->nnets; j++) {
		const struct sup_port *pt = port_of(s, pc->net[j].network, p);

		fd_add(fds, &k, max, pt->link_fd, FN_FD_STACK_NET_LINK(j),
		       NULL);
		fd_add(fds, &k, max, pt->bell_fd, FN_FD_STACK_NET_BELL(j),
		       NULL);
	}
	return k;
}

unsigned net_fds(const struct sup *s, const struct comp *c,
		 struct sup_fd *fds, unsigned max)
{
	if (c->role == FN_ROLE_VSWITCH)
		return switch_fds(s, (unsigned)c->network, fds, max);
	if (c->role == FN_ROLE_STACK)
		return stack_fds(s, (unsigned)c->pipeline, fds, max);
	return 0;
}

static void port_reset(const struct comp *c, const struct sup_port *pt,
		       int bell)
{
	int err = fn_link_reset(pt->link_fd);

	if (err < 0)
		fn_warn("%s: cannot reset a vswitch link: %s", c->label,
			strerror(-err));
	sup_bell_ring(bell);
}

/* c died: every link it held to or from a switch starts a new epoch, and
 * whoever sits on the other side is rung, to hear of it at once. */
void net_side_died(const struct sup *s, const struct comp *c)
{
	if (c->role == FN_ROLE_VSWITCH) {
		const struct sup_net *net = &s->net[c->network];

		for (unsigned i = 0; i < net->nports; i++)
			if (net->port[i].pipeline >= 0)	/* not the tap */
				port_reset(c, &net->port[i], s->stack_bell_fd[
					   net->port[i].pipeline]);
	} else if (c->role == FN_ROLE_STACK && s->attach_fd[c->pipeline] >= 0) {
		const struct fn_pipeline_conf *pc = &s->cfg->pipeline[c->pipeline];

		for (unsigned j = 0; j < pc->nnets; j++) {
			const struct sup_port *pt =
				port_of(s, pc->net[j].network,
					(unsigned)c->pipeline);

			port_reset(c, pt, pt->bell_fd);
		}
	}
}

static void fd_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void net_close(struct sup *s)
{
	for (unsigned n = 0; n < FN_MAX_NETWORKS; n++) {
		struct sup_net *net = &s->net[n];

		for (unsigned i = 0; i < net->nports; i++) {
			fd_close(&net->port[i].link_fd);
			fd_close(&net->port[i].bell_fd);
		}
		net->nports = 0;
		fd_close(&net->table_fd);
	}
	for (unsigned p = 0; p < FN_MAX_PIPELINES; p++)
		fd_close(&s->attach_fd[p]);
}
