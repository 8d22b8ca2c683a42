# sock_lib.sh - helpers of the socket tests (test_sock_*.sh), on top of
# lib.sh and nic_lib.sh.  Sourced after both.
#
# The kernel side of the tap lives in a network namespace of the test's own
# (sock_netns, after `fragnet up` configured the tap): the kernel clients
# run there (kx CMD...), so that the host's own firewall or addresses
# cannot touch the test, and the namespace goes in the teardown.
#
# Socket tests live in 10.238.0.0/16: sock_net picks a 10.238.N.0/24 that
# no interface or route uses yet and sets N, STACK_IP (.2, the stacks),
# KERNEL_IP (.1, the tap's kernel side) and MAC (02:00:0a:ee:N:02).

sock_net() {
	local n
	for n in $(seq $((16 + $$ % 200)) 250) $(seq 16 250); do
		ip -4 -o addr show | grep -q " 10\.238\.$n\." && continue
		[[ -z $(ip -4 route show 10.238.$n.0/24) ]] || continue
		N=$n
		STACK_IP=10.238.$N.2
		KERNEL_IP=10.238.$N.1
		MAC=02:00:0a:ee:$(printf %02x "$N"):02
		return 0
	done
	nic_skip "no free 10.238.N.0/24 subnet"
}

# fail_stats MSG: print every non-zero counter, then fail.
fail_stats() {
	fn stats "$NAME" 2>/dev/null | awk 'NF < 2 || $NF != "0"' >&2
	fn_fail "$*"
}

# rss_kb PID: resident set size of a process, in KiB.
rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# sock_netns: move the tap (up, with $KERNEL_IP: wait for tap_up first)
# into namespace $NS.  DPDK's tap PMD keeps its queue fds: frames flow on.
sock_netns() {
	NS="fnt-sock-$$"
	KX=(ip netns exec "$NS")
	ip netns add "$NS" || fn_fail "cannot create namespace $NS"
	trap sock_teardown EXIT
	ip link set dev "$TAP" netns "$NS" &&
		ip -n "$NS" link set lo up &&
		ip -n "$NS" addr add "$KERNEL_IP/24" dev "$TAP" &&
		ip -n "$NS" link set "$TAP" up ||
		fn_fail "cannot move $TAP into $NS"
}

# kx CMD...: run CMD on the kernel side, in $NS.  In the background use
# "${KX[@]}" CMD... & instead, so that $! is CMD's own pid (ip netns exec
# execs it), not a subshell's.
kx() { ip netns exec "$NS" "$@"; }

sock_teardown() {
	local rc=$?
	set +e
	[[ -n ${NS:-} ]] && ip netns del "$NS" 2>/dev/null
	(exit "$rc")
	nic_teardown
}

# The tap is gone from the namespace (fragnet down removed it).
sock_tap_gone() {
	! kx ip link show dev "$TAP" >/dev/null 2>&1
}

# Connections from the kernel side established to $STACK_IP:$1.
established() {
	kx ss -Htn state established "dst $STACK_IP:$1" 2>/dev/null | wc -l
}

# stack_ping: the stacks answer ping from the kernel side.  The first
# reply may take a few tries (ARP settles after the move), then 3 in a
# row must come (nic_lib.sh icmp_ping, run in $NS).
stack_ping() {
	local f
	f="$(declare -f icmp_ping); icmp_ping $STACK_IP"
	wait_for 15 kx bash -c "$f 1" 2>/dev/null && kx bash -c "$f 3"
}

# sock_conf_path: the [nic], [driver] and [stack] sections every socket
# test shares (profile $PROFILE, default full), for fn_conf's body.
sock_conf_path() {
	cat <<EOC
[nic]
exec = $NIC
ifname = $TAP
mac = $MAC
address = $KERNEL_IP/24
[driver]
exec = $DRIVER
[stack]
exec = $STACK
profile = ${PROFILE:-full}
address = $STACK_IP/24
gateway = $KERNEL_IP
EOC
}

# sock_down: fragnet down; the tap, every process and memfd are gone.
sock_down() {
	local sup
	sup=$(cat "$RUN_DIR/supervisor.pid")
	fn down "$NAME" >&2 || fn_fail "down failed"
	wait_for 10 sock_tap_gone || fn_fail "tap $TAP still there after down"
	assert_all_gone "$sup"
}

# sock_clean LABEL...: no violation or cut-off on these stacks' channels.
sock_clean() {
	local l c
	for l in "$@"; do
		for c in violations cutoffs; do
			[[ $(counter "$l" "sock.$c") == 0 ]] ||
				fail_stats "$l: sock.$c = $(counter "$l" "sock.$c")"
		done
	done
}

# sock_init TESTNAME TAP: nic_init, a free subnet (sock_net), and private
# copies of the stack ($STACK) and of fn-test-tcp-echo ($APP, if built).
sock_init() {
	nic_init "$1" "$2"
	sock_net
	STACK="$T/bin/$(basename "$FN_STACK")"
	cp "$FN_STACK" "$STACK"
	APP="$T/bin/fn-test-tcp-echo"
	[[ -z ${FN_TEST_TCP_ECHO:-} ]] || cp "$FN_TEST_TCP_ECHO" "$APP"
}
