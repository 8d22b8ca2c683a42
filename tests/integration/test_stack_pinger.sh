#!/bin/bash
# fragnet-stack over a test link, no DPDK: fn-test-pinger plays the driver
# and a segment of made-up hosts, and checks every frame the stack sends
# (its header comment has the scenario: junk, ARP, echo, learning from an
# ARP reply meant for another stack, resolving a new peer, then an echo
# every 10 ms).  One run per profile: test_stack_pinger.sh full|udp.
#
#                  supervisor (fragnet up -d)
#   pipeline 0:    pinger/0 ══link0══ stack/0   poll adaptive
#   pipeline 1:    pinger/1 ══link1══ stack/1   poll event
#   pipeline 2:    pinger/2 ══link2══ stack/2   poll busy
#   pipeline 3:    pinger/3 ══link3══ stack/3   the pinger forges a bad
#                                               descriptor after 30 echoes
#                  (all stacks 10.235.<n>.2/24, MAC 02:00:00:00:00:01)
#
#   0. the binary: --help, and a config of the other profile is refused
#   1. every pinger completes its scenario and keeps getting echo replies;
#      nothing bad, no timeout; the stacks counted the junk they dropped
#   2. a control connection is accepted (uid 0), and dropped after a
#      malformed frame
#   3. the event-mode stack sleeps between frames (low cpu)
#   4. kill -9 stack/0: restarted, pinger/0 sees the reset and passes its
#      scenario again against the fresh stack
#   5. the hostile pinger/3: stack/3 counts the bad descriptor, cuts the
#      link off and lives on; kill -9 pinger/3 -> the supervisor's reset
#      brings the link back and the new pinger/3 passes its scenario
#   6. fragnet down: every stack exits 0 on SIGTERM; nothing left behind
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PROFILE=${1:?usage: test_stack_pinger.sh full|udp}
: "${FN_STACK:?}" "${FN_TEST_PINGER:?}"
case $PROFILE in
full) OTHER=udp ;;
udp) OTHER=full ;;
*) echo "bad profile $PROFILE" >&2; exit 2 ;;
esac

fn_init "stk-$PROFILE"
fn_bin STACK "$FN_STACK"
fn_bin PINGER "$FN_TEST_PINGER" fn-test-pinger
fn_net 10.235		# nothing is routed, but be tidy

conf_write pipelines=4 poll=adaptive log_level=info \
	stack.addressing=shared \
	restart.backoff_ms=100 restart.backoff_max_ms=400 \
	link.slots=256 link.slot_size=2048 \
	driver.exec="$PINGER" driver.poll=event \
	stack.exec="$STACK" stack.profile="$PROFILE" \
	stack.address="$STACK_IP/24" stack.gateway="$KERNEL_IP" \
	"pipeline 1.stack_poll=event" "pipeline 2.stack_poll=busy" \
	"pipeline 3.driver_args=--forge-after 30"

# 0. The binary itself.
"$STACK" --help | grep -q "profile \"$PROFILE\"" || fn_fail "--help"
sed "s/^profile = $PROFILE/profile = $OTHER/" "$CONF" > "$T/other.conf"
rc=0
out=$(FRAGNET_CONFIG="$T/other.conf" "$STACK" 2>&1) || rc=$?
[[ $rc == 2 ]] || fn_fail "a $OTHER config: exit $rc, not 2"
grep -q "profile is \"$OTHER\".*built for profile \"$PROFILE\"" <<< "$out" ||
	fn_fail "no clear profile error: $out"

fn_up
all_in_state running || fn_fail "not all running after up -d"

at_least() {	# label name min
	[[ $(counter "$1" "$2") -ge $3 ]]
}

# 1. ARP, ICMP, learning and resolving, on every pipeline.
for i in 0 1 2; do
	wait_for 15 at_least "driver/$i" pinger.scenario_ok 1 ||
		fn_fail "pinger/$i: no scenario passed"
	wait_for 10 at_least "driver/$i" pinger.echo_ok 100 ||
		fn_fail "pinger/$i: fewer than 100 echo replies"
done
stats_json "$T/snap.json"
snap=$(stats_flat "$T/snap.json")
get() {	# label name, from snap
	awk -v l="$1" -v n="$2" 'BEGIN { v = -1 } $1 == l && $2 == n { v = $3 }
		END { print v }' <<< "$snap"
}
for i in 0 1 2; do
	d="driver/$i" s="stack/$i"
	for c in bad timeouts learn_failed resets broken; do
		[[ $(get "$d" "pinger.$c") == 0 ]] ||
			fn_fail "$d: pinger.$c = $(get "$d" "pinger.$c")"
	done
	[[ $(get "$d" pinger.learn_ok) -ge 1 && $(get "$d" pinger.resolve_ok) -ge 1 ]] ||
		fn_fail "$d: learn/resolve not passed"
	# The junk: a 10-byte and a header-only frame, one too big, one for
	# another MAC; all dropped before lwIP and counted.
	[[ $(get "$s" stack.drop_runt) -ge 2 ]] || fn_fail "$s: drop_runt"
	[[ $(get "$s" stack.drop_too_big) -ge 1 ]] || fn_fail "$s: drop_too_big"
	[[ $(get "$s" stack.drop_other_mac) -ge 1 ]] || fn_fail "$s: drop_other_mac"
	[[ $(get "$s" stack.arp_replies_tx) -ge 1 ]] || fn_fail "$s: arp_replies_tx"
	[[ $(get "$s" stack.arp_requests_tx) -ge 1 ]] || fn_fail "$s: arp_requests_tx"
	[[ $(get "$s" stack.icmp_echo_replies_tx) -ge 100 ]] ||
		fn_fail "$s: icmp_echo_replies_tx"
	[[ $(get "$s" stack.link_resets) == 0 && $(get "$s" stack.link_broken) == 0 ]] ||
		fn_fail "$s: link resets or cut off"
	[[ $(get "$s" link.rx.bad_off) == 0 && $(get "$s" link.rx.bad_len) == 0 ]] ||
		fn_fail "$s: link descriptor errors"
	# Everything received is delivered or dropped by cause (a burst may
	# be in flight between the two counts).
	sum=$(( $(get "$s" stack.rx_frames) + $(get "$s" stack.drop_runt) +
		$(get "$s" stack.drop_too_big) + $(get "$s" stack.drop_no_pbuf) +
		$(get "$s" stack.drop_other_mac) ))
	pk=$(get "$s" link.rx.pkts)
	(( pk >= sum && pk - sum <= 32 )) ||
		fn_fail "$s: link.rx.pkts $pk, delivered + dropped $sum"
	tx=$(get "$s" stack.tx_frames)
	pk=$(get "$s" link.tx.pkts)
	(( pk >= tx && pk - tx <= 32 )) ||
		fn_fail "$s: link.tx.pkts $pk, stack.tx_frames $tx"
done

# 2. The control socket: root is accepted and stays connected
# (fragnet/nlctl.h); a message that is no nlctl frame drops the client.
python3 - "$RUN_DIR/stack0.ctl" <<'EOF' || fn_fail "control socket"
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(5)
s.connect(sys.argv[1])
s.send(b"xyz")
assert s.recv(64) == b"", "expected EOF after a malformed frame"
EOF
wait_for 5 at_least stack/0 stack.control_accepted 1 ||
	fn_fail "stack/0 did not count the control connection"

# 3. The event-mode stack sleeps: 100 echoes/s cost it a few % of a cpu.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
pid=$(status_field stack 1 3)
t0=$(cpu_ticks "$pid")
sleep 2
t1=$(cpu_ticks "$pid")
hz=$(getconf CLK_TCK)
(( (t1 - t0) * 100 < 2 * hz * 30 )) ||
	fn_fail "stack/1 (poll event) used $((t1 - t0)) ticks in 2 s"
fn_log "stack/1 (event): $((t1 - t0)) ticks of cpu in 2 s at $hz Hz"

# 4. A stack restarted under the pinger: the link is reset, the fresh
# stack (empty ARP cache) passes the whole scenario again.
old=$(status_field stack 0 3)
kill -KILL "$old"
wait_for 10 restarted stack 0 "$old" || fn_fail "stack/0 was not restarted"
wait_for 10 at_least driver/0 pinger.resets 1 || fn_fail "pinger/0 saw no reset"
wait_for 15 at_least driver/0 pinger.scenario_ok 2 ||
	fn_fail "pinger/0: no scenario passed against the restarted stack"
before=$(counter driver/0 pinger.echo_ok)
wait_for 10 at_least driver/0 pinger.echo_ok $((before + 50)) ||
	fn_fail "echo replies stopped after the restart"
[[ $(counter driver/0 pinger.bad) == 0 ]] || fn_fail "bad frames after the restart"

# 5. A hostile driver: the stack cuts it off, survives, and takes the
# link back after the supervisor's reset.
wait_for 15 at_least driver/3 pinger.forged 1 || fn_fail "pinger/3 did not forge"
wait_for 5 at_least stack/3 stack.link_broken 1 ||
	fn_fail "stack/3 did not cut off the forging pinger"
[[ $(counter stack/3 link.rx.bad_off) -ge 1 ]] || fn_fail "stack/3: no bad_off counted"
[[ $(status_field stack 3 6) == 0 ]] || fn_fail "stack/3 died of a bad descriptor"
old=$(status_field driver 3 3)
kill -KILL "$old"
wait_for 10 restarted driver 3 "$old" || fn_fail "pinger/3 was not restarted"
wait_for 15 at_least driver/3 pinger.scenario_ok 1 ||
	fn_fail "stack/3 did not take the link back after the reset"
[[ $(counter stack/3 stack.link_resets) -ge 1 ]] || fn_fail "stack/3: no link reset counted"

# 6. SIGTERM: each stack exits 0; then nothing is left.
topology_down
for i in 0 1 2 3; do
	grep -q "stack/$i pid [0-9]* exited with exit status 0" "$LOG" ||
		fn_fail "stack/$i did not exit 0 on SIGTERM"
done
echo "ok: stack $PROFILE over the pinger link"
