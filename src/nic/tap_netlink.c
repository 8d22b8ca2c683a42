/*
 * tap_netlink.c - the kernel side of the tap, set over rtnetlink (libmnl).
 *
 * The tap PMD creates the kernel interface when EAL probes the vdev (it
 * keeps a tun fd open from then on) and sets nothing on its kernel side
 * but the MAC, which it makes the DPDK side's too.  Over rtnetlink, then:
 *   1. RTM_NEWLINK: no IPv6 link-local address (addr_gen_mode none), so the
 *      kernel sends no router or neighbour solicitations into the stacks;
 *      optional, a kernel without IPv6 only earns a debug line;
 *   2. RTM_NEWLINK: the kernel side's own MAC (IFLA_ADDRESS), so that the
 *      two ends of the wire differ (port_tap.c picks it);
 *   3. RTM_NEWADDR: the configured IPv4 address and prefix (replacing an
 *      equal one), with its broadcast address;
 *   4. RTM_NEWLINK: IFF_UP.
 * Every request asks for an ACK and every error is reported with the
 * kernel's extended-ack text when it gives one.  port_tap.c calls
 * tapnl_configure() (1, 3, 4) after the queues are set up and before
 * rte_eth_dev_start() (which sets IFF_UP as well; doing it first means the
 * address is in place before the first frame can flow), and
 * tapnl_set_mac() (2) after it, see there.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "fragnet/log.h"
#include "nic.h"

struct tapnl {
	struct mnl_socket *nl;
	unsigned portid;
	uint32_t seq;
	const char *ifname;
	unsigned ifindex;
	char ext_msg[256];		/* kernel's extended ack text */
};

static int ext_ack_attr(const struct nlattr *a, void *data)
{
	struct tapnl *t = data;

	if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
		snprintf(t->ext_msg, sizeof(t->ext_msg), "%s",
			 mnl_attr_get_str(a));
	return MNL_CB_OK;
}

/* The answer to our request seq: 0 for an ACK, a negative errno for an
 * error (with the extended ack text, if any, in t->ext_msg). */
static int nl_answer(struct tapnl *t, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e;

	if (nlh->nlmsg_type != NLMSG_ERROR)
		return -EBADMSG;
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
		return -EBADMSG;
	e = mnl_nlmsg_get_payload(nlh);
	if (e->error && (nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		mnl_attr_parse(nlh, sizeof(*e), ext_ack_attr, t);
	return e->error > 0 ? -e->error : e->error;
}

/* Send nlh (NLM_F_ACK set here) and wait for its ACK or error. */
static int nl_talk(struct tapnl *t, struct nlmsghdr *nlh)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t seq = ++t->seq;
	ssize_t n;
	int len;

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	t->ext_msg[0] = '\0';
	if (mnl_socket_sendto(t->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(t->nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		len = (int)n;
		for (struct nlmsghdr *m = (struct nlmsghdr *)buf;
		     mnl_nlmsg_ok(m, len); m = mnl_nlmsg_next(m, &len)) {
			/* The kernel's ACK carries our port id. */
			if (m->nlmsg_seq != seq ||
			    !mnl_nlmsg_portid_ok(m, t->portid))
				continue;
			return nl_answer(t, m);
		}
	}
}

static void nl_fail(const struct tapnl *t, const char *what, int err)
{
	fn_err("rtnetlink: %s on %s: %s%s%s", what, t->ifname, strerror(-err),
	       t->ext_msg[0] ? ": " : "", t->ext_msg);
}

static struct nlmsghdr *nl_new(char *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	return nlh;
}

/* 1. No IPv6 link-local address: keeps ND/RS chatter out of the stacks. */
static void nl_no_ipv6_ll(struct tapnl *t)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_new(buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	struct nlattr *spec, *inet6;
	int err;

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)t->ifindex;
	spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	inet6 = mnl_attr_nest_start(nlh, AF_INET6);
	mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
	mnl_attr_nest_end(nlh, inet6);
	mnl_attr_nest_end(nlh, spec);
	err = nl_talk(t, nlh);
	if (err < 0)
		fn_debug("rtnetlink: IPv6 addr_gen_mode none on %s: %s "
			 "(harmless)", t->ifname, strerror(-err));
}

/* 2. The kernel side's MAC. */
static int nl_mac(struct tapnl *t, const uint8_t mac[6])
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_new(buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	int err;

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)t->ifindex;
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	err = nl_talk(t, nlh);
	if (err < 0)
		nl_fail(t, "RTM_NEWLINK IFLA_ADDRESS", err);
	return err;
}

/* 3. The IPv4 address, as `ip addr replace A/P brd + dev IF` would. */
static int nl_addr(struct tapnl *t, uint32_t addr, uint8_t prefix)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], what[64], a[INET_ADDRSTRLEN];
	struct nlmsghdr *nlh = nl_new(buf, RTM_NEWADDR,
				      NLM_F_CREATE | NLM_F_REPLACE);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	int err;

	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = prefix;
	ifa->ifa_flags = IFA_F_PERMANENT;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = t->ifindex;
	mnl_attr_put_u32(nlh, IFA_LOCAL, addr);
	mnl_attr_put_u32(nlh, IFA_ADDRESS, addr);
	if (prefix <= 30) {
		uint32_t host = prefix ? 0xffffffffu >> prefix : 0xffffffffu;

		mnl_attr_put_u32(nlh, IFA_BROADCAST, addr | htonl(host));
	}
	err = nl_talk(t, nlh);
	if (err < 0) {
		inet_ntop(AF_INET, &addr, a, sizeof(a));
		snprintf(what, sizeof(what), "RTM_NEWADDR %s/%u", a, prefix);
		nl_fail(t, what, err);
	}
	return err;
}

/* 4. IFF_UP. */
static int nl_up(struct tapnl *t)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_new(buf, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	int err;

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)t->ifindex;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	err = nl_talk(t, nlh);
	if (err < 0)
		nl_fail(t, "RTM_NEWLINK IFF_UP", err);
	return err;
}

static int nl_open(struct tapnl *t)
{
	int one = 1;

	t->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!t->nl)
		return -errno;
	/* Errors carry the kernel's text, not our whole request. */
	mnl_socket_setsockopt(t->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(t->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_bind(t->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = -errno;

		mnl_socket_close(t->nl);
		return err;
	}
	t->portid = mnl_socket_get_portid(t->nl);
	t->seq = (uint32_t)time(NULL);
	return 0;
}

static int nl_session(struct tapnl *t, const char *ifname)
{
	int err;

	t->ifname = ifname;
	t->ifindex = if_nametoindex(ifname);
	if (t->ifindex == 0) {
		fn_err("tap interface %s not found after the tap PMD probed it: "
		       "%s", ifname, strerror(errno));
		return -ENODEV;
	}
	err = nl_open(t);
	if (err < 0)
		fn_err("rtnetlink: cannot open a NETLINK_ROUTE socket: %s",
		       strerror(-err));
	return err;
}

/*
 * Steps 1, 3 and 4: the kernel side of tap ifname gets its address (addr
 * in network byte order; 0: none) and goes up.  Before rte_eth_dev_start.
 * 0, or a negative errno after an error message.
 */
int tapnl_configure(const char *ifname, uint32_t addr, uint8_t prefix)
{
	struct tapnl t = { 0 };
	int err = nl_session(&t, ifname);

	if (err < 0)
		return err;
	nl_no_ipv6_ll(&t);
	if (addr)
		err = nl_addr(&t, addr, prefix);
	if (!err)
		err = nl_up(&t);
	mnl_socket_close(t.nl);
	return err;
}

/*
 * Step 2: the kernel side's own MAC.  After rte_eth_dev_start(): the tap
 * PMD's start restores the port's MAC onto the kernel interface (its
 * mac_addr_set writes the tap netdev), so a change made earlier is undone.
 */
int tapnl_set_mac(const char *ifname, const uint8_t mac[6])
{
	struct tapnl t = { 0 };
	int err = nl_session(&t, ifname);

	if (err < 0)
		return err;
	err = nl_mac(&t, mac);
	mnl_socket_close(t.nl);
	return err;
}
