# vsw_lib.sh - internal networks (test_vsw_*.sh): stacks joined by a
# fragnet-vswitch (docs/vswitch.md), with no NIC unless a test adds one
# (sourced by lib.sh; builds on it).
#
# Environment (set by meson, see meson.build), besides lib.sh's:
#   FRAGNET_VSWITCH       the built fragnet-vswitch
#   FN_STACK              the built fragnet-stack (full profile)
#   FN_TEST_TCP_ECHO      the built fn-test-tcp-echo (a native echo server)
#   FN_TEST_HOSTILE_PORT  the built fn-test-hostile-port
#   FN_PRELOAD            the built libfragnet-preload.so: the client apps
#                         are python3 under it
#
# The network, called vn, is a free 10.236.N.0/24 (lib.sh fn_pick_net):
# pipeline P's stack is at vsw_ip P (.P+1, config/README.md), the host
# port, when a test gives the network one (vsw_host), at HOST_IP (.254)
# on the tap HOST_IF.  Without the host port no kernel device has an
# address there and the kernel sends nothing there; with it, every packet
# the kernel sends goes out only once vsw_host_ok says the tap is up and
# holds the route (vsw_ping).

VSW_NET=vn			# the network's name: the stacks' netif's
VSW_LABEL=vswitch/$VSW_NET	# the switch's component label
VSW_PORT=7000			# the echo server's TCP port

# vsw_init TESTNAME: fn_init, then vsw_setup.
vsw_init() {
	fn_init "$1"
	vsw_setup
}

# vsw_setup: after fn_init (or nic_init): the subnet, private copies of the
# switch (VSW), the stack (STACK), the echo server (TCP_ECHO) and the
# hostile port (HOSTILE).
vsw_setup() {
	local n
	: "${FRAGNET_VSWITCH:?}" "${FN_STACK:?}" "${FN_TEST_TCP_ECHO:?}" \
		"${FN_TEST_HOSTILE_PORT:?}" "${FN_PRELOAD:?}"
	[[ -f $FN_PRELOAD ]] ||
		fn_skip "libfragnet-preload.so is not built ($FN_PRELOAD)"
	n=$(fn_pick_net 10.236) || fn_skip "no free 10.236.N.0/24 subnet"
	VSW_SUBNET=10.236.$n
	HOST_IP=$VSW_SUBNET.254
	HOST_IF=fnh$$
	fn_bin VSW "$FRAGNET_VSWITCH"
	fn_bin STACK "$FN_STACK"
	fn_bin TCP_ECHO "$FN_TEST_TCP_ECHO"
	fn_bin HOSTILE "$FN_TEST_HOSTILE_PORT"
}

# vsw_ip P: the address of pipeline P's stack on the network.
vsw_ip() { echo "$VSW_SUBNET.$(($1 + 1))"; }

# vsw_topology [KEY=VALUE...]: the network topology (lib.sh conf_write):
# 2 pipelines, no NIC and no driver, a stack each on network vn, the echo
# server $TCP_ECHO $VSW_PORT as every app (under the preload), quick
# restarts.  KEY=VALUEs add and override ("pipeline 1.app_exec=...").
# The apps run as root (app.user=root): vsw_load's clients write their
# reports into T.
vsw_topology() {
	conf_write pipelines=2 poll=adaptive restart.backoff_ms=100 app.user=root \
		restart.backoff_max_ms=1000 vswitch.exec="$VSW" \
		"network $VSW_NET.subnet=$VSW_SUBNET.0/24" stack.exec="$STACK" \
		stack.networks="$VSW_NET" app.exec="$TCP_ECHO" \
		app.args="$VSW_PORT" "$@"
}

# vsw_host: the KEY=VALUEs that give the network its host port, the tap
# HOST_IF at HOST_IP (for vsw_topology); the tap goes at teardown too.
vsw_host() {
	fn_defer ip link del "$HOST_IF"
	echo "network $VSW_NET.host=yes"
	echo "network $VSW_NET.host_ifname=$HOST_IF"
}

# The host port's tap is up, has HOST_IP, and the kernel routes the
# network's subnet to it, and nowhere else.
vsw_host_ok() {
	ip -4 addr show dev "$HOST_IF" 2>/dev/null | grep -q "inet $HOST_IP/24" &&
		ip link show dev "$HOST_IF" 2>/dev/null | grep -q ",UP" &&
		[[ $(ip -4 route get "$VSW_SUBNET.1" 2>/dev/null) == *"dev $HOST_IF "* ]]
}

# vsw_ping DST COUNT: ICMP echoes from the host port (nic_lib.sh
# icmp_ping), only while vsw_host_ok.
vsw_ping() {
	vsw_host_ok || fn_fail "the host port $HOST_IF is not up: no packet sent"
	icmp_ping "$1" "$2" --dev "$HOST_IF"
}

# vsw_load P OUT ARGS...: the KEY=VALUEs that make pipeline P's app the
# checking TCP client sock_tcp_load.py (python3 under the preload) against
# pipeline 0's echo server, once (a script, OUT.sh); its JSON report goes
# to OUT, its stderr to OUT.err, then it sleeps (an app that exits is
# restarted, and would load again).  Prints one KEY=VALUE a line: mapfile
# -t them.  A test adds OUT.err to FN_SHOW_ON_FAIL.
vsw_load() {
	local p=$1 out=$2
	shift 2
	printf '#!/bin/sh\npython3 %s --dst %s --port %s --retry-refused %s > %s 2> %s\nexec sleep 3600\n' \
		"$FN_HERE/sock_tcp_load.py" "$(vsw_ip 0)" "$VSW_PORT" "$*" \
		"$out" "$out.err" > "$out.sh"
	echo "pipeline $p.app_exec=/bin/sh"
	echo "pipeline $p.app_args=$out.sh"
}

# vsw_load_done OUT: the client of vsw_load has written its report.
vsw_load_done() { [[ -s $1 ]]; }

# vsw_load_check OUT BYTES: its report says every connection carried
# BYTES bytes each way, checked byte for byte, ending in a clean EOF.
vsw_load_check() {
	fn_log "load: $(cut -c1-400 "$1")"
	python3 - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
want = r["conns"] * int(sys.argv[2])
if r["failed"] or r["failures"] or r["cut"]:
    sys.exit("failed %s, cut %s: %s" % (r["failed"], r["cut"], r["failures"]))
if r["bytes_sent"] != want or r["bytes_received"] != want:
    sys.exit("sent %d, received %d, want %d each way" %
             (r["bytes_sent"], r["bytes_received"], want))
if r["eof_ok"] != r["conns"]:
    sys.exit("eof_ok %d of %d" % (r["eof_ok"], r["conns"]))
PY
}
