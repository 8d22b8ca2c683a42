# sock_lib.sh - the socket tests (test_sock_*.sh): native apps behind
# fragnet-stack, a driver and the tap NIC (sourced by lib.sh; builds on it
# and nic_lib.sh).
#
# The kernel side of the tap lives in a network namespace of the test's own
# (sock_netns, after `fragnet up` configured the tap): the kernel clients
# run there (kx CMD...), so that the host's own firewall or addresses
# cannot touch the test, and the namespace goes in the teardown.
#
# Socket tests live in 10.238.0.0/16: sock_init picks a free 10.238.N.0/24
# (lib.sh fn_net: NET = N, STACK_IP .2, KERNEL_IP .1, MAC 02:00:0a:ee:N:02).

# sock_init TESTNAME TAP APP: nic_init, a free subnet, and private copies
# of the stack ($STACK) and of the app APP ($APP).
sock_init() {
	nic_init "$1" "$2"
	: "${FN_STACK:?}"
	fn_net 10.238
	fn_bin STACK "$FN_STACK"
	fn_bin APP "$3"
}

# sock_topology [KEY=VALUE...]: the tap topology (tap_topology) of the
# socket tests: stacks of profile $PROFILE (default full) with the kernel
# side as gateway, $APP $PORT as the apps, without the preload.
sock_topology() {
	tap_topology stack.profile="${PROFILE:-full}" stack.gateway="$KERNEL_IP" \
		app.exec="$APP" app.args="$PORT" app.preload=no "$@"
}

# rss_kb PID: resident set size of a process, in KiB.
rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# sock_netns: move the tap (up, with $KERNEL_IP: wait for tap_up first)
# into namespace $NS, the kernel side from now on (kx).  DPDK's tap PMD
# keeps its queue fds: frames flow on.
sock_netns() {
	NS="fnt-sock-$$"
	fn_netns "$NS" || fn_fail "cannot create namespace $NS"
	KX=(ip netns exec "$NS")
	ip link set dev "$TAP" netns "$NS" &&
		ip -n "$NS" link set lo up &&
		ip -n "$NS" addr add "$KERNEL_IP/24" dev "$TAP" &&
		ip -n "$NS" link set "$TAP" up ||
		fn_fail "cannot move $TAP into $NS"
}

# stack_ping: the stacks answer ping from the kernel side.  The first
# reply may take a few tries (ARP settles after the move), then 3 in a
# row must come.
stack_ping() {
	wait_for 15 icmp_ping "$STACK_IP" 1 2>/dev/null && icmp_ping "$STACK_IP" 3
}

# app_serving P: pipeline P's echo app, the process that runs now, has its
# socket: it logs "echoing TCP|UDP on port N" once it listens or is bound
# (echo_app.h).  A stack answers ping before that.
app_serving() {
	local pid
	pid=$(status_field app "$1" 3)
	[[ $pid =~ ^[0-9]+$ ]] && grep -q "\[$pid\] info: echoing " "$LOG"
}

# apps_serving: app_serving for every pipeline's app.
apps_serving() {
	local p
	for p in $(status_rows | awk '$1 == "app" { print $2 }'); do
		app_serving "$p" || return 1
	done
}

# sock_up: fragnet up, the tap into its namespace (sock_netns), every
# component running, the stacks answering ping and the apps serving.
sock_up() {
	fn_up
	wait_tap_up
	sock_netns
	wait_running
	stack_ping || fail_stats "the stacks do not answer ping"
	wait_for 15 apps_serving || fail_stats "the apps do not serve"
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

# sock_freed LABEL ABORTED: the stack reset the channel of its dead app
# and aborted at least ABORTED of its sockets.
sock_freed() {
	[[ $(counter "$1" sock.resets) -ge 1 &&
	   $(counter "$1" sock.aborted) -ge $2 ]]
}

# tcp_load OUT SECONDS ARGS...: sock_tcp_load.py from the kernel side to
# $STACK_IP:$PORT, bounded by SECONDS; its JSON report in OUT.
tcp_load() {
	local out=$1 secs=$2 rc=0
	shift 2
	kx timeout "$secs" python3 "$FN_HERE/sock_tcp_load.py" \
		--dst "$STACK_IP" --port "$PORT" --bind "$KERNEL_IP" "$@" \
		> "$out" || rc=$?
	if [[ $rc == 0 ]]; then
		fn_log "tcp load: $(cut -c1-400 "$out")"
	else
		fn_log "tcp load (exit $rc): $(cat "$out")"
	fi
	return "$rc"
}
