# sock_lib.sh - helpers of the socket tests (test_sock_*.sh), on top of
# lib.sh and nic_lib.sh.  Sourced after both.
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
