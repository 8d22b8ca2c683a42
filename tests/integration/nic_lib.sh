# nic_lib.sh - helpers of the NIC integration tests (test_nic_*.sh), on top
# of lib.sh.  Sourced after lib.sh.
#
# Environment (set by meson, see meson.build), besides lib.sh's:
#   FRAGNET_NIC         the built fragnet-nic
#   FRAGNET_DRIVER      the built fragnet-driver
#   FN_TEST_REFLECTOR   the built fn-test-reflector
#   FN_UDP_LOAD         the built fn-udp-load
#
# nic_init copies them into the test's private bin dir (so that lib.sh's
# test_procs finds every process of this test by exact path) and installs
# a trap that, on any exit, stops the load generators, the supervisor and
# every component, then removes what DPDK and the tap may leave behind: the
# tap interface, the hugepage files and the EAL runtime dir of this
# topology's file prefix (a primary killed with -9 leaves its hugepage
# files, and nothing else would ever reclaim pages of a prefix that is
# never used again).

FN_HUGE_FREE_MIN=${FN_HUGE_FREE_MIN:-128}	# MiB a DPDK test needs free

# nic_init TESTNAME TAP: lib.sh's fn_init, then the NIC binaries and the
# checks that decide between running and skipping.
nic_init() {
	fn_init "$1"
	TAP=$2
	LOAD_PIDS=()
	: "${FRAGNET_NIC:?}" "${FRAGNET_DRIVER:?}" "${FN_TEST_REFLECTOR:?}" \
		"${FN_UDP_LOAD:?}"
	trap nic_teardown EXIT
	nic_require
	cp "$FRAGNET_NIC" "$T/bin/fragnet-nic"
	cp "$FRAGNET_DRIVER" "$T/bin/fragnet-driver"
	cp "$FN_TEST_REFLECTOR" "$T/bin/fn-test-reflector"
	cp "$FN_UDP_LOAD" "$T/bin/fn-udp-load"
	NIC="$T/bin/fragnet-nic"
	DRIVER="$T/bin/fragnet-driver"
	REFLECTOR="$T/bin/fn-test-reflector"
	LOAD="$T/bin/fn-udp-load"
}

# nic_pick_net A.B [LOW]: a third octet N (LOW, default 16, to 250) such
# that no interface address or route uses A.B.N.0/24 yet (another subnet
# with the same numbers would take the kernel's traffic); starts from the
# pid, so that parallel tests spread out.  FN_TEST_NET_MIN / _MAX narrow
# the range (workers sharing a machine each keep to their own).
nic_pick_net() {
	local n esc=${1//./\\.} lo=${2:-16} hi=${FN_TEST_NET_MAX:-250}
	(( lo >= ${FN_TEST_NET_MIN:-0} )) || lo=$FN_TEST_NET_MIN
	(( hi >= lo )) || return 1
	for n in $(seq $((lo + $$ % (hi + 1 - lo))) "$hi") $(seq "$lo" "$hi"); do
		ip -4 -o addr show | grep -q " $esc\.$n\." && continue
		[[ -z $(ip -4 route show "$1.$n.0/24") ]] || continue
		echo "$n"
		return 0
	done
	return 1
}

nic_skip() {
	echo "SKIP: $*" >&2
	exit 77
}

# What a DPDK test needs from the machine; skip (77) with the reason.
nic_require() {
	local free mib
	[[ -x $FRAGNET_NIC ]] || nic_skip "fragnet-nic is not built ($FRAGNET_NIC)"
	[[ -x $FRAGNET_DRIVER ]] || nic_skip "fragnet-driver is not built"
	[[ -c /dev/net/tun ]] || nic_skip "no /dev/net/tun (tap devices)"
	grep -qw hugetlbfs /proc/mounts || nic_skip "no hugetlbfs mounted (sudo scripts/setup)"
	free=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)
	mib=$((free * 2))
	((mib >= FN_HUGE_FREE_MIN)) ||
		nic_skip "only $mib MiB of 2 MiB hugepages free, need $FN_HUGE_FREE_MIN (sudo scripts/setup)"
	if ip link show "$TAP" >/dev/null 2>&1; then
		local t=$TAP
		TAP=	# not ours: the teardown must leave it alone
		fn_fail "interface $t exists already: another run of this test?"
	fi
}

nic_teardown() {
	local rc=$? pid
	set +e
	for pid in "${LOAD_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
	pid=$(cat "$RUN_DIR/supervisor.pid" 2>/dev/null)
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
	fi
	for pid in $(test_procs); do kill -KILL "$pid"; done
	for _ in $(seq 50); do
		[[ -z $(test_procs) ]] && break
		sleep 0.1
	done
	[[ -n $TAP ]] && ip link del "$TAP" 2>/dev/null
	rm -f /dev/hugepages/fragnet-"$NAME"map_* 2>/dev/null
	rm -rf /var/run/dpdk/fragnet-"$NAME" 2>/dev/null
	(exit "$rc")
	fn_teardown
}

# The supervisor's JSON stats into file $1.
stats_json() {
	fn stats --json "$NAME" > "$1"
}

# counter FILE LABEL NAME: one counter of one component from a stats file.
counter_of() {
	python3 - "$@" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
c = [c for c in d["components"] if c["label"] == sys.argv[2]]
print(c[0]["counters"].get(sys.argv[3], -1) if c else -1)
EOF
}

# counter LABEL NAME: the live value.
counter() {
	local f="$T/stats.now.json"
	stats_json "$f" && counter_of "$f" "$1" "$2"
}

# The tap's kernel side is up, with its address.
tap_up() {
	ip -4 addr show dev "$TAP" 2>/dev/null | grep -q "inet $1/" &&
		ip link show dev "$TAP" 2>/dev/null | grep -q "state UP\|,UP"
}

# icmp_ping IP COUNT: COUNT ICMP echo requests to IP, each answered within
# 2 s and checked (id, seq, data, checksum).  A raw socket from python, so
# that the tests need no iputils-ping.
icmp_ping() {
	timeout 30 python3 - "$1" "$2" <<'PY'
import os, select, socket, struct, sys, time
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
dst, count = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
ident = os.getpid() & 0xffff
for seq in range(1, count + 1):
    data = b"fragnet-ping-%d" % seq
    hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
    s.sendto(struct.pack("!BBHHH", 8, 0, csum(hdr + data), ident, seq) + data,
             (dst, 0))
    start = time.time()
    while True:
        left = start + 2 - time.time()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            sys.exit("ping %s: no reply to seq %d" % (dst, seq))
        pkt, addr = s.recvfrom(2048)
        icmp = pkt[(pkt[0] & 15) * 4:]
        if addr[0] == dst and icmp[0] == 0 and \
           struct.unpack("!HH", icmp[4:8]) == (ident, seq):
            if icmp[8:] != data or csum(icmp) != 0:
                sys.exit("ping %s: damaged reply to seq %d" % (dst, seq))
            print("# ping %s seq %d: %.3f ms" % (dst, seq,
                  (time.time() - start) * 1000), file=sys.stderr)
            break
PY
}

tap_gone() {
	! ip link show dev "$TAP" >/dev/null 2>&1
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
