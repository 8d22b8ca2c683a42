/*
 * port_steer.c - per-pipeline addressing on a port that can steer (the
 * PCI backend): each pipeline's MAC on the port, and if the PMD takes
 * them, one rte_flow rule per pipeline that puts the frames for its MAC on
 * its queue (docs/nic.md, "Steering").  Called by port_pci.c once the
 * port is started (nic_steer_install) and by port.c before the port stops
 * (nic_steer_remove; nothing to do when no rule was made).  The tap
 * backend does not call it: the tap PMD has no rte_flow on this kernel
 * (port_tap.c), and the drivers steer in software.
 *
 *   1. rte_eth_dev_mac_addr_add(pipeline j's MAC) for every queue j, so
 *      that the port accepts unicast frames for each stack.  One the PMD
 *      refuses makes the port promiscuous instead: those frames must
 *      arrive, and the drivers sort them.
 *   2. Per queue j: ETH dst = MAC j (full mask) -> QUEUE j, ingress.
 *      Every rule is validated before any is created; a refusal (ixgbe
 *      takes a MAC rule only in its flow director's MAC-VLAN mode, many
 *      PMDs take none) destroys what was created and leaves RSS, as for
 *      shared addressing, with the drivers' software steering behind it
 *      (drv_path.c, dpdk.h STEERING).  Either way the log says which.
 *
 * The drivers steer by MAC in both cases: with the rules in place they
 * just find nothing to steer (steered_out stays near 0).  Broadcast and
 * multicast match no rule and are spread by RSS and fanned out as before.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_flow.h>

#include "fragnet/log.h"
#include "nic.h"

static bool steering_wanted(const struct nic *n)
{
	return n->cfg->stack.addressing == FN_ADDRESSING_PER_PIPELINE &&
	       n->queues > 1;
}

static void pipe_mac(const struct nic *n, unsigned q,
		     struct rte_ether_addr *mac, char str[18])
{
	memcpy(mac->addr_bytes, n->cfg->pipeline[q].stack_mac,
	       RTE_ETHER_ADDR_LEN);
	nic_mac_str(mac, str);
}

/* Step 1.  Returns how many MACs the port refused. */
static unsigned macs_add(struct nic *n)
{
	struct rte_ether_addr mac;
	unsigned refused = 0;
	char m[18];
	int err;

	for (unsigned q = 0; q < n->queues; q++) {
		pipe_mac(n, q, &mac, m);
		err = rte_eth_dev_mac_addr_add(n->port, &mac, 0);
		if (err == 0 || err == -EEXIST) {
			fn_info("port %u: MAC %s (pipeline %u) added", n->port,
				m, q);
			continue;
		}
		fn_warn("port %u: MAC %s (pipeline %u) refused: %s", n->port, m,
			q, nic_strerror(err));
		refused++;
	}
	if (refused) {
		err = rte_eth_promiscuous_enable(n->port);
		fn_warn("port %u: %u pipeline MAC(s) refused: promiscuous %s, "
			"the drivers steer by MAC", n->port, refused,
			err < 0 ? "refused too; frames for them are lost" :
			"on");
	}
	return refused;
}

/* One rule's pieces: ETH dst = mac (exact) -> QUEUE q. */
struct rule {
	struct rte_flow_attr attr;
	struct rte_flow_item_eth spec, mask;
	struct rte_flow_item pattern[2];
	struct rte_flow_action_queue queue;
	struct rte_flow_action actions[2];
};

static void rule_make(struct rule *r, const struct rte_ether_addr *mac,
		      unsigned q)
{
	memset(r, 0, sizeof(*r));
	r->attr.ingress = 1;
	r->spec.hdr.dst_addr = *mac;
	memset(&r->mask.hdr.dst_addr, 0xff, sizeof(r->mask.hdr.dst_addr));
	r->pattern[0] = (struct rte_flow_item){
		.type = RTE_FLOW_ITEM_TYPE_ETH, .spec = &r->spec,
		.mask = &r->mask,
	};
	r->pattern[1].type = RTE_FLOW_ITEM_TYPE_END;
	r->queue.index = (uint16_t)q;
	r->actions[0] = (struct rte_flow_action){
		.type = RTE_FLOW_ACTION_TYPE_QUEUE, .conf = &r->queue,
	};
	r->actions[1].type = RTE_FLOW_ACTION_TYPE_END;
}

static void flows_destroy(struct nic *n)
{
	struct rte_flow_error e;

	for (unsigned q = 0; q < FN_MAX_PIPELINES; q++) {
		if (n->flow[q] && rte_flow_destroy(n->port, n->flow[q], &e) < 0)
			fn_warn("port %u: rte_flow_destroy (pipeline %u): %s",
				n->port, q, e.message ? e.message : "?");
		n->flow[q] = NULL;
	}
}

static void fallback(struct nic *n, unsigned q, const char *what,
		     const struct rte_flow_error *e, int err)
{
	fn_info("port %u: the PMD %s the rte_flow rule of pipeline %u (%s, "
		"%s): no flow rules, RSS spreads and the drivers steer by MAC",
		n->port, what, q, e->message ? e->message : "no message",
		nic_strerror(err));
	flows_destroy(n);
}

/* Step 2.  true when every queue has its rule. */
static bool flows_install(struct nic *n)
{
	struct rte_flow_error e;
	struct rte_ether_addr mac;
	struct rule r;
	char m[18];
	int err;

	for (unsigned q = 0; q < n->queues; q++) {
		pipe_mac(n, q, &mac, m);
		rule_make(&r, &mac, q);
		memset(&e, 0, sizeof(e));
		err = rte_flow_validate(n->port, &r.attr, r.pattern, r.actions,
					&e);
		if (err < 0) {
			fallback(n, q, "refuses", &e, err);
			return false;
		}
	}
	for (unsigned q = 0; q < n->queues; q++) {
		pipe_mac(n, q, &mac, m);
		rule_make(&r, &mac, q);
		memset(&e, 0, sizeof(e));
		n->flow[q] = rte_flow_create(n->port, &r.attr, r.pattern,
					     r.actions, &e);
		if (!n->flow[q]) {
			fallback(n, q, "validated but did not create", &e,
				 -rte_errno);
			return false;
		}
		fn_info("port %u: rte_flow rule: eth dst %s -> queue %u "
			"(pipeline %u)", n->port, m, q, q);
	}
	return true;
}

void nic_steer_install(struct nic *n)
{
	if (!steering_wanted(n))
		return;
	macs_add(n);
	if (flows_install(n))
		fn_info("port %u: %u rte_flow rules steer each pipeline's MAC "
			"to its queue", n->port, n->queues);
}

void nic_steer_remove(struct nic *n)
{
	flows_destroy(n);
}
