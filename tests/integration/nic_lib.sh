# nic_lib.sh - the tap NIC (sourced by lib.sh, on which it builds): the
# real fragnet-nic and fragnet-driver on a tap, fn-test-reflector as the
# stacks of the NIC tests, fn-udp-load as the wire's clients.
#
# Environment (set by meson, see meson.build), besides lib.sh's:
#   FRAGNET_NIC         the built fragnet-nic
#   FRAGNET_DRIVER      the built fragnet-driver
#   FN_TEST_REFLECTOR   the built fn-test-reflector
#   FN_UDP_LOAD         the built fn-udp-load
#
# nic_init copies them into the test's private bin dir (so that lib.sh's
# test_procs finds every process of this test by exact path) and defers,
# for the teardown, the removal of what DPDK and the tap may leave behind:
# the tap interface, the hugepage files and the EAL runtime dir of this
# topology's file prefix (a primary killed with -9 leaves its hugepage
# files, and nothing else would ever reclaim pages of a prefix that is
# never used again).

FN_HUGE_FREE_MIN=${FN_HUGE_FREE_MIN:-128}	# MiB a DPDK test needs free

# nic_init TESTNAME TAP: lib.sh's fn_init, then the checks that decide
# between running and skipping, and the NIC binaries (NIC, DRIVER,
# REFLECTOR, LOAD).
nic_init() {
	fn_init "$1"
	TAP=$2
	: "${FRAGNET_NIC:?}" "${FRAGNET_DRIVER:?}" "${FN_TEST_REFLECTOR:?}" \
		"${FN_UDP_LOAD:?}"
	nic_require
	fn_defer nic_cleanup
	fn_bin NIC "$FRAGNET_NIC" fragnet-nic
	fn_bin DRIVER "$FRAGNET_DRIVER" fragnet-driver
	fn_bin REFLECTOR "$FN_TEST_REFLECTOR" fn-test-reflector
	fn_bin LOAD "$FN_UDP_LOAD" fn-udp-load
}

# What a DPDK test needs from the machine; skip (77) with the reason.
nic_require() {
	local free mib
	[[ -x $FRAGNET_NIC ]] || fn_skip "fragnet-nic is not built ($FRAGNET_NIC)"
	[[ -x $FRAGNET_DRIVER ]] || fn_skip "fragnet-driver is not built"
	[[ -c /dev/net/tun ]] || fn_skip "no /dev/net/tun (tap devices)"
	grep -qw hugetlbfs /proc/mounts || fn_skip "no hugetlbfs mounted (sudo scripts/setup)"
	free=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)
	mib=$((free * 2))
	((mib >= FN_HUGE_FREE_MIN)) ||
		fn_skip "only $mib MiB of 2 MiB hugepages free, need $FN_HUGE_FREE_MIN (sudo scripts/setup)"
	if ip link show "$TAP" >/dev/null 2>&1; then
		local t=$TAP
		TAP=	# not ours: nothing may remove it
		fn_fail "interface $t exists already: another run of this test?"
	fi
}

# Deferred by nic_init: the tap, hugepage files and EAL runtime dir.
nic_cleanup() {
	ip link del "$TAP"
	rm -f /dev/hugepages/fragnet-"$NAME"map_*
	rm -rf /var/run/dpdk/fragnet-"$NAME"
}

# tap_topology [KEY=VALUE...]: the tap topology (lib.sh conf_write): [nic]
# $NIC on $TAP with $MAC, its kernel side $KERNEL_IP/24; [driver] $DRIVER;
# [stack] $STACK at $STACK_IP/24; 1 pipeline, adaptive polling.
# KEY=VALUEs add and override ("stack.exec=$REFLECTOR", "nic.mbufs=8192",
# "restart.backoff_ms=100", "poll=" for the default).
tap_topology() {
	conf_write pipelines=1 poll=adaptive nic.exec="$NIC" \
		nic.ifname="$TAP" nic.mac="$MAC" nic.address="$KERNEL_IP/24" \
		driver.exec="$DRIVER" stack.exec="${STACK:-}" \
		stack.address="$STACK_IP/24" "$@"
}

# The tap's kernel side is up, with its address.
tap_up() {
	ip -4 addr show dev "$TAP" 2>/dev/null | grep -q "inet $1/" &&
		ip link show dev "$TAP" 2>/dev/null | grep -q "state UP\|,UP"
}

# wait_tap_up [SECONDS]: ... within SECONDS (30) of fragnet up.
wait_tap_up() {
	wait_for "${1:-30}" tap_up "$KERNEL_IP" ||
		fn_fail "tap $TAP did not come up with $KERNEL_IP"
}

# The tap is gone (from the kernel side, see kx).
tap_gone() {
	! kx ip link show dev "$TAP" >/dev/null 2>&1
}

# icmp_ping DST COUNT [--every S] [--src ADDR] [--dev IFNAME]: ICMP echoes
# from the kernel side, every reply checked (icmp_ping.py), bounded.
icmp_ping() {
	kx timeout 30 python3 "$FN_HERE/icmp_ping.py" "$@"
}

# connect9: one TCP connection attempt from the kernel side to
# $STACK_IP:9, 2 s at most; prints refused, timeout or connected.
connect9() {
	kx timeout 10 python3 - "$STACK_IP" <<'PY'
import socket, sys
s = socket.socket()
s.settimeout(2)
try:
    s.connect((sys.argv[1], 9))
    print("connected")
except ConnectionRefusedError:
    print("refused")
except (socket.timeout, TimeoutError):
    print("timeout")
PY
}

# A field of the fn-udp-load progress (or final) JSON file $1.
load_field() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
		"$1" "$2" 2>/dev/null || echo -1
}

# kernel_drops: "name value" lines of the kernel's counters that can
# account for a lost datagram: the UDP MIB of this namespace and the
# tap's own drop and error counts.
kernel_drops() {
	local s
	awk '$1 == "Udp:" {
		if (!h) { for (i = 2; i <= NF; i++) col[$i] = i; h = 1; next }
		print "udp_in_errors", $col["InErrors"]
		print "udp_rcvbuf_errors", $col["RcvbufErrors"]
	}' /proc/net/snmp
	for s in rx_dropped tx_dropped rx_errors tx_errors; do
		echo "tap_$s $(cat "/sys/class/net/$TAP/statistics/$s" 2>/dev/null || echo 0)"
	done
}
