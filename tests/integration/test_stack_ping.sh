#!/bin/bash
# fragnet-stack behind the real NIC path: the kernel pings the stacks
# through a 2-queue tap, two drivers and two stacks that share one MAC and
# one IP (addressing = shared; docs/architecture.md, "Addressing").  One
# run per profile: test_stack_ping.sh full|udp.
#
#   root namespace (kernel stack)        fragnet topology fnt-stkping-PID
#
#                                         nic (net_tap, 2 queues,
#   [fnt-p<pid>] 10.235.N.1/24 ══ tap ═══+     mac 02:00:0a:eb:N:02)
#     + 10.235.N.11 .. .14               +- queue 0 - driver/0 ══link0══ stack/0
#        |  (flows hashed over queues)   +- queue 1 - driver/1 ══link1══ stack/1
#   ping 10.235.N.2                                      both 10.235.N.2/24
#
#   1. ping -c 20 -i 0.05 -I <tap> 10.235.N.2: every echo answered (by
#      either stack); the kernel resolved the stacks' address to the nic's
#      MAC; both stacks saw the kernel's ARP request (drivers fan ARP out)
#   2. the stacks resolve the kernel: the stack address is made a permanent
#      neighbour, so the kernel never asks, and pings come from four new
#      kernel addresses.  The stack that gets an echo must ask who-has;
#      the kernel's unicast reply lands on whatever queue the tap hashes it
#      to, and its driver fans it out to every stack.  Every echo must be
#      answered: when the reply lands on the other queue, the asking stack
#      gets it only through the fan-out, and the other stack learns the
#      peer from a reply it never asked for (lwIP: target IP is ours).
#   3. nothing dropped by the stacks
#   4. kill -9 driver/0 and stack/1: restarted; stack/0 follows the link
#      reset, the fresh stack/1 resolves the kernel again; steps 1 and 2's
#      pings all answered again
#   5. fragnet down: the stacks exit 0; no process, tap, hugepage file or
#      EAL directory is left (lib.sh topology_down, teardown)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PROFILE=${1:?usage: test_stack_ping.sh full|udp}
: "${FN_STACK:?}"
[[ $PROFILE == full || $PROFILE == udp ]] || { echo "bad profile $PROFILE" >&2; exit 2; }

nic_init "stkping-$PROFILE" "fnt-p$$"
# A free 10.235.N.0/24: a second subnet of the same numbers elsewhere would
# take the kernel's traffic (pings bound to a source address follow the
# routing table, not our tap).
fn_net 10.235
fn_bin STACK "$FN_STACK"
tap_topology pipelines=2 stack.addressing=shared \
	restart.backoff_ms=100 restart.backoff_max_ms=1000 \
	stack.profile="$PROFILE" stack.gateway="$KERNEL_IP"

# ping_all SRC COUNT: COUNT echoes 50 ms apart from SRC (the tap, or one of
# its addresses) to the stacks; every one answered.  iputils ping -I TAP
# when it is installed; else, and always from an address (iputils cannot
# bind both), the same from a raw socket bound to the address and the tap.
ping_all() {
	local src=$1 count=$2 out from=()
	if [[ $src == "$TAP" ]] && command -v ping >/dev/null; then
		out=$(timeout 30 ping -n -c "$count" -i 0.05 -W 2 -I "$src" \
			"$STACK_IP" 2>&1) || { fn_log "$out"; return 1; }
		fn_log "$(tail -2 <<< "$out" | tr '\n' ' ')"
		grep -q "$count packets transmitted, $count received" <<< "$out"
		return
	fi
	[[ $src == "$TAP" ]] || from=(--src "$src")
	icmp_ping "$STACK_IP" "$count" --every 0.05 --dev "$TAP" "${from[@]}"
}

# sum NAME: a counter summed over both stacks.
sum_stacks() {
	echo $(( $(counter stack/0 "$1") + $(counter stack/1 "$1") ))
}

fn_up
wait_tap_up
wait_running

# 1. The kernel resolves the stacks and every echo is answered.
ping_all "$TAP" 20 || fail_stats "ping -I $TAP $STACK_IP lost replies"
ip neigh show "$STACK_IP" dev "$TAP" | grep -qi "$MAC" ||
	fn_fail "ARP did not resolve $STACK_IP to $MAC: $(ip neigh show dev "$TAP")"
for q in 0 1; do
	[[ $(counter stack/$q stack.arp_requests_rx) -ge 1 ]] ||
		fn_fail "stack/$q never saw the kernel's ARP request (fan-out)"
done
[[ $(sum_stacks stack.icmp_echo_replies_tx) -ge 20 ]] ||
	fn_fail "the stacks counted fewer than 20 echo replies"

# 2. The stacks resolve new kernel addresses; ARP replies cross queues.
ip neigh replace "$STACK_IP" lladdr "$MAC" dev "$TAP" nud permanent
asked=$(sum_stacks stack.arp_requests_tx)
for h in 11 12 13 14; do
	ip addr add "10.235.$NET.$h/24" dev "$TAP"
done
for h in 11 12 13 14; do
	ping_all "10.235.$NET.$h" 5 ||
		fail_stats "ping from 10.235.$NET.$h: a stack did not resolve its peer"
done
[[ $(sum_stacks stack.arp_requests_tx) -ge $((asked + 4)) ]] ||
	fail_stats "the stacks did not ask who-has for the new kernel addresses (before: $asked)"
for q in 0 1; do
	fn_log "stack/$q: echo replies $(counter stack/$q stack.icmp_echo_replies_tx)," \
		"arp requests tx $(counter stack/$q stack.arp_requests_tx)," \
		"arp replies rx $(counter stack/$q stack.arp_replies_rx)," \
		"driver bcast_in $(counter driver/$q bcast_in)"
done

# 3. Nothing dropped inside the stacks, links intact.
for q in 0 1; do
	for c in drop_runt drop_too_big drop_no_pbuf drop_no_slot link_broken; do
		[[ $(counter stack/$q "stack.$c") == 0 ]] ||
			fn_fail "stack/$q: stack.$c = $(counter stack/$q "stack.$c")"
	done
done

# 4. kill -9 driver/0 and stack/1: both are restarted; stack/0 follows its
# link's reset, the fresh stack/1 (empty ARP cache, the kernel's neighbour
# entry is permanent) resolves the kernel again; every echo is answered.
drv=$(status_field driver 0 3)
stk=$(status_field stack 1 3)
kill -KILL "$drv" "$stk"
wait_for 20 restarted driver 0 "$drv" stack 1 "$stk" || fn_fail "driver/0 and stack/1 were not restarted"
wait_for 20 all_in_state running || fn_fail "not all running after the restarts"
stack0_reset() { [[ $(counter stack/0 stack.link_resets) -ge 1 ]]; }
wait_for 10 stack0_reset || fn_fail "stack/0 did not follow its link's reset"
one_ping() { ping_all "$TAP" 1 2>/dev/null; }
wait_for 20 one_ping || fn_fail "no echo answered after the restarts"
ping_all "$TAP" 20 || fail_stats "echoes lost after the restarts"
for h in 11 12 13 14; do
	ping_all "10.235.$NET.$h" 5 || fail_stats "ping from 10.235.$NET.$h after the restarts"
done
# 5.
topology_down
for q in 0 1; do
	grep -q "stack/$q pid [0-9]* exited with exit status 0" "$LOG" ||
		fn_fail "stack/$q did not exit 0 on SIGTERM"
done
echo "ok: stack $PROFILE ping through the tap NIC"
