#!/bin/bash
# The ruleset a stack committed judges its packets: the kernel pings and
# connects to a stack through the tap NIC while `fragnet nft` changes the
# stack's rules.
#
#   root namespace (kernel stack)        fragnet topology fnt-nftf-PID
#
#   [fnt-nf<pid>] 10.241.N.1/24 ══ tap ══ nic ── driver/0 ══link0══ stack/0
#                                                            10.241.N.2/24
#
#   1. no ruleset: every ping answered
#   2. input: icmp echo-request counter drop -> no ping answered; the
#      rule's counter and the stack's filter_drop_rx count them
#   3. ... reject with icmp type host-prohibited -> the kernel's ping
#      reports the stack's ICMP error
#   4. tcp dport 9 drop: a connect times out; reject with tcp reset: it is
#      refused at once, by the stack's reset (filter_rejects counts it)
#   5. output: icmp type echo-reply drop -> no ping answered (the hook on
#      frames lwIP sends)
#   6. fragments (pings of 3000 bytes, 3 fragments each way): prerouting
#      counts each fragment, input the datagram reassembled (as
#      ip_local_deliver); once the ruleset uses conntrack, prerouting
#      counts it whole too (nf_defrag_ipv4 at -400); the replies come back,
#      counted whole on output and postrouting (before ip_fragment), and a
#      drop on output lets none of their fragments out
#   7. flush ruleset: every ping answered again
set -euo pipefail
. "$(dirname "$0")/lib.sh"

: "${FN_STACK:?}"
command -v /usr/sbin/nft >/dev/null || fn_skip "no nft"

nic_init nftf "fnt-nf$$"
fn_net 10.241
fn_bin STACK "$FN_STACK"
tap_topology stack.gateway="$KERNEL_IP"

# ping_n COUNT: how many of COUNT echoes (0.1 s apart) were answered.
ping_n() {
	timeout 30 ping -n -c "$1" -i 0.1 -W 1 -I "$TAP" "$STACK_IP" 2>&1 | tee -a "$T/ping.log" |
		awk '/packets transmitted/ { print $4 }'
}

command -v ping >/dev/null || fn_skip "no ping (iputils-ping)"
fn up "$CONF" -d >/dev/null || fn_fail "fragnet up"
wait_running 20

# 1.
first() { [[ $(ping_n 1) == 1 ]]; }
wait_for 20 first || { cat "$T/ping.log" >&2; fail_stats "the stack does not answer pings"; }
[[ $(ping_n 5) == 5 ]] || fail_stats "pings without a ruleset"
fn_log "1. no ruleset: pings answered"

# 2.
nft0 add table ip f
nft0 add chain ip f in '{ type filter hook input priority 0; policy accept; }'
nft0 add rule ip f in icmp type echo-request counter drop
d0=$(counter stack/0 stack.filter_drop_rx)
[[ $(ping_n 5) == 0 ]] || fail_stats "pings answered through a drop rule"
grep -q "counter packets 5 " <<< "$(nft0 list chain ip f in)" ||
	fn_fail "rule counter: $(nft0 list chain ip f in)"
(( $(counter stack/0 stack.filter_drop_rx) >= d0 + 5 )) || fail_stats "filter_drop_rx"
fn_log "2. drop on input: no ping answered, counted by the rule"

# 3.
nft0 flush chain ip f in
nft0 add rule ip f in icmp type echo-request reject with icmp type host-prohibited
out=$(timeout 10 ping -n -c 1 -W 2 -I "$TAP" "$STACK_IP" 2>&1 || true)
grep -qi "prohibited" <<< "$out" || fn_fail "no ICMP error seen by ping: $out"
fn_log "3. reject: $(grep -i prohibited <<< "$out" | head -1)"

# 4.
nft0 flush chain ip f in
nft0 add rule ip f in tcp dport 9 drop
[[ $(connect9) == timeout ]] || fn_fail "connect through a drop rule did not time out"
nft0 flush chain ip f in
nft0 add rule ip f in tcp dport 9 reject with tcp reset
r0=$(counter stack/0 stack.filter_rejects)
[[ $(connect9) == refused ]] || fn_fail "reject with tcp reset: not refused"
(( $(counter stack/0 stack.filter_rejects) > r0 )) || fail_stats "filter_rejects did not count the reset"
fn_log "4. tcp: drop times out, reject with tcp reset refuses"

# 5.
nft0 flush chain ip f in
nft0 add chain ip f out '{ type filter hook output priority 0; policy accept; }'
nft0 add rule ip f out icmp type echo-reply counter drop
[[ $(ping_n 3) == 0 ]] || fail_stats "pings answered through an output drop"
(( $(counter stack/0 stack.filter_drop_tx) >= 3 )) || fail_stats "filter_drop_tx"
fn_log "5. drop on output"

# 6.
# big_ping COUNT: how many of COUNT 3000-byte echoes were answered.
big_ping() {
	timeout 30 ping -n -c "$1" -i 0.2 -W 2 -s 3000 -I "$TAP" "$STACK_IP" 2>&1 |
		tee -a "$T/ping.log" |
		awk '/packets transmitted/ { print $4 }'
}
# pkts CHAIN: the packets of the first counter in chain ip f CHAIN.
pkts() {
	nft0 list chain ip f "$1" |
		awk '/counter packets/ { for (i = 1; i < NF; i++)
			if ($i == "packets") { print $(i + 1); exit } }'
}
frag_rules() {	# [extra rule for chain pre] [extra rule for chain out]
	nft0 flush ruleset
	cat > "$T/frag.nft" <<-NFT
	table ip f {
		chain pre {
			type filter hook prerouting priority 0; policy accept;
			ip protocol icmp counter
			${1:-}
		}
		chain in {
			type filter hook input priority 0; policy accept;
			ip protocol icmp counter
		}
		chain out {
			type filter hook output priority 0; policy accept;
			ip protocol icmp counter
			${2:-}
		}
		chain post {
			type filter hook postrouting priority 0; policy accept;
			ip protocol icmp counter
		}
	}
	NFT
	nft0 -f "$T/frag.nft"
}
frag_rules ""
r0=$(counter stack/0 stack.filter_reassembled)
[[ $(big_ping 2) == 2 ]] || fail_stats "3000-byte pings through the filter"
[[ $(pkts pre) == 6 && $(pkts in) == 2 ]] ||
	fn_fail "fragments: prerouting $(pkts pre) (want 6), input $(pkts in) (want 2)"
grep -q "counter packets 2 bytes 6056" <<< "$(nft0 list chain ip f in)" ||
	fn_fail "input did not see whole datagrams: $(nft0 list chain ip f in)"
(( $(counter stack/0 stack.filter_reassembled) == r0 + 2 )) || fail_stats "filter_reassembled"
for c in out post; do	# the replies, judged whole before lwIP cuts them
	grep -q "counter packets 2 bytes 6056" <<< "$(nft0 list chain ip f $c)" ||
		fn_fail "$c did not see whole datagrams: $(nft0 list chain ip f $c)"
done
# a drop on output drops every fragment: none reaches the tap
frag_rules "" "icmp type echo-reply drop"
tap_rx() { cat "/sys/class/net/$TAP/statistics/rx_packets"; }
x0=$(tap_rx)
[[ $(big_ping 2) == 0 ]] || fail_stats "3000-byte pings answered through an output drop"
x1=$(tap_rx)
(( x1 - x0 <= 1 )) ||	# an ARP refresh at most
	fn_fail "output drop let $((x1 - x0)) frames out (fragments of dropped replies)"
[[ $(pkts out) == 2 && $(pkts post) == 0 ]] ||
	fn_fail "output drop: out $(pkts out) (want 2), post $(pkts post) (want 0)"
frag_rules "ct state new,established counter"
[[ $(big_ping 2) == 2 ]] || fail_stats "3000-byte pings through a ct ruleset"
[[ $(pkts pre) == 2 && $(pkts in) == 2 ]] ||
	fn_fail "fragments with ct: prerouting $(pkts pre), input $(pkts in) (want 2, 2)"
fn_log "6. fragments: prerouting sees each (whole with ct), input whole; output and postrouting see the replies whole, and a drop there drops every fragment"

# 7.
nft0 flush ruleset
[[ $(ping_n 5) == 5 ]] || fail_stats "pings after flush ruleset"
fn_log "7. flush ruleset: pings answered again"

sup=$(cat "$RUN_DIR/supervisor.pid")
fn down "$NAME" >/dev/null
echo "PASS: the ruleset judges the stack's packets"
